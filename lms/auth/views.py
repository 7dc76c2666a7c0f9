from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Response, abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import RequestLimit
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from lms.auth import bp, remember
from lms.auth.forms import LoginForm, LogoutForm, PasswordForm
from lms.auth.models import ApiToken
from lms.auth.services import AccountError, authenticate, change_password, end_sessions, normalise_email
from lms.core.forms import LmsForm
from lms.core.services import audit
from lms.extensions import db, limiter, utcnow


def _login_limit() -> str:
    from flask import current_app

    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_account_limit() -> str:
    from flask import current_app

    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _login_account_key() -> str:
    """The account a log-in tries, known or not (no enumeration); hashed, so the store holds no e-mail."""
    email = normalise_email(request.form.get("email", ""))
    return "login-account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


def _failed_login(response: Response) -> bool:
    return response.status_code != 302


def _too_many_logins(limit: RequestLimit) -> Response:
    """The log-in form again, with one message whichever limit was met and whether or not the account exists."""
    flash(
        _(
            "Too many failed log-ins. Wait a few minutes, then try again; "
            "if you have forgotten your password, ask your administrator."
        ),
        "danger",
    )
    return make_response(render_template("auth/login.html", form=LoginForm()), 429)


def _safe_next(target: str | None) -> str:
    """Only same-site relative targets: no open redirect through ``?next=``."""
    if not target:
        return url_for("core.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("core.home")
    return target


def _renew_session() -> None:
    """A new session at login: nothing from before it (the anonymous CSRF secret above all) survives, only the
    chosen language. Flask's session lives in the signed cookie, so a cleared one is a new one."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], on_breach=_too_many_logins)
@limiter.limit(
    _login_account_limit,
    key_func=_login_account_key,
    methods=["POST"],
    deduct_when=_failed_login,
    on_breach=_too_many_logins,
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            # One message whatever was wrong: no user enumeration.
            flash(_("Wrong e-mail or password."), "danger")
        else:
            _renew_session()
            login_user(user)
            if form.remember.data:
                remember.issue(user)
            audit("user.login", user, user=user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    form = LogoutForm()
    if not form.validate_on_submit():
        abort(400)
    # The cookie a thief may have copied must die with this log-out, not only the browser's copy (ADR 24).
    end_sessions(current_user._get_current_object(), reason="logout")
    db.session.commit()
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])
def password():
    """Change one's password; every other session and remember-me cookie of the account ends (ADR 24), this
    browser goes on with a new session."""
    from flask import current_app

    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not user.check_password(form.current.data or ""):
            form.current.errors.append(_("This is not your current password."))
        elif user.must_change_password and form.new.data == form.current.data:
            # The temporary password was seen by the administrator who made it (ADR 52): it cannot become one's own.
            form.new.errors.append(_("Choose a password of your own, not the temporary one you were given."))
        else:
            try:
                change_password(user, form.new.data or "")
            except AccountError:
                form.new.errors.append(_("The new password is too short."))
            else:
                remembered = current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies
                _renew_session()
                login_user(user)
                if remembered:
                    remember.issue(user)  # the old series ended with the password
                db.session.commit()
                flash(_("Password changed. Every other session of your account has ended."), "success")
                return redirect(url_for("core.home"))
    return render_template("auth/password.html", form=form)


@bp.post("/locale/<code>")
def set_locale(code: str):
    from flask import current_app

    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    form = LmsForm()
    if not form.validate_on_submit():
        abort(400)
    session["locale"] = code
    if current_user.is_authenticated and current_user.locale != code:
        current_user.locale = code  # the choice follows the user to their next login and other devices
        db.session.commit()
    return redirect(_safe_next(request.form.get("next")))


class TokenForm(LmsForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    form = TokenForm()
    new_secret = None
    if form.validate_on_submit():
        token, new_secret = ApiToken.issue(current_user, form.name.data or "")
        db.session.flush()
        audit("token.issue", token, name=token.name)
        db.session.commit()
        form.name.data = ""  # the field kept the name: a second tap made a second token of the same name
    rows = db.session.scalars(
        db.select(ApiToken).where(ApiToken.user_id == current_user.id).order_by(ApiToken.created_at.desc())
    ).all()
    return render_template("auth/tokens.html", form=form, tokens=rows, new_secret=new_secret, revoke_form=LmsForm())


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    form = LmsForm()
    if not form.validate_on_submit():
        abort(400)
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    token.revoked_at = token.revoked_at or utcnow()
    audit("token.revoke", token)
    db.session.commit()
    flash(_("Token revoked."), "info")
    return redirect(url_for("auth.tokens"))


# What a user with a temporary password may open before choosing their own (ADR 52).
_WHILE_TEMPORARY = frozenset({"auth.password", "auth.logout", "auth.set_locale", "static", "core.healthz"})


@bp.before_app_request
def _choose_a_password_first():
    """An account created or reset by an administrator carries a temporary password that someone else has seen:
    its pages lead to the password change until the user has chosen their own. The API answers a session cookie's
    request 403 meanwhile; a bearer token is left alone (a token is made by the user, after logging in)."""
    if request.path.startswith("/api/"):
        # A bearer token is made by its user after logging in; the session cookie of a temporary password is not
        # let through the API either — else the temporary password works there without ever being changed.
        if request.headers.get("Authorization", "").startswith("Bearer "):
            return None
        if current_user.is_authenticated and current_user.must_change_password:
            from lms.api.errors import problem

            return problem(403, "Forbidden", _("Choose your own password first: the one you were given is temporary."))
        return None
    if request.endpoint in _WHILE_TEMPORARY or request.endpoint is None:
        return None
    if request.endpoint.endswith(".static"):
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        flash(_("Choose your own password first: the one you were given is temporary."), "warning")
        return redirect(url_for("auth.password"))
    return None
