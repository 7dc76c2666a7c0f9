"""How a request becomes a user: the session cookie (pages) or a bearer token (devices, integrations)."""

from __future__ import annotations

import functools
import time
from datetime import timedelta

from flask import Flask, current_app, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import joinedload

from lms.auth import usercache
from lms.auth.models import ApiToken, User
from lms.auth.remember import init_remember
from lms.extensions import db, login_manager, utcnow


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


# How fresh "last used" is kept: a device posting every few seconds would otherwise write its token's row on every
# request (an UPDATE, a dead tuple and a lock) to record a time nobody reads to the second (ADR 28).
LAST_USED_RESOLUTION = timedelta(minutes=1)


@functools.cache
def _token_query() -> Select:
    """The token, its user and the user's roles (which the permission checks read next) in one statement; built
    once, which also spares computing its cache key on every request."""
    return (
        select(ApiToken)
        .options(joinedload(ApiToken.user).joinedload(User.roles))
        .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
    )


def _user_for_token(secret: str) -> User | None:
    """The token's user, or None for an unknown or revoked token or an inactive user.

    With the user cache on (ADR 27), a token used in the last ``USER_CACHE_SECONDS`` costs no statement: the token,
    its user, their roles and scopes all come from snapshots that a revocation, a deactivation or a withdrawn role
    replaces at its commit (ADR 28, seventh pass). ``last_used_at`` is written with the request's commit, at most
    once a minute.
    """
    token_hash = ApiToken.hash(secret)

    def read() -> ApiToken | None:
        return db.session.execute(_token_query(), {"token_hash": token_hash}).unique().scalar_one_or_none()

    if current_app.config.get("USER_CACHE_SECONDS"):
        token, user = usercache.load_token(token_hash, read)
    else:
        token = read()
        user = token.user if token is not None else None
    if token is None or user is None or not user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION:
        token.last_used_at = now
        if current_app.config.get("USER_CACHE_SECONDS"):
            usercache.token_used(token)
    g.api_token = token
    return user


def user_for_session_id(session_id: str, *, max_age: float) -> User | None:
    """The user a session (or remember-me) cookie names, if that session was not ended since (ADR 24)."""
    try:
        user_id, version, stamp = (int(part) for part in session_id.split(":"))
    except ValueError:
        return None  # malformed, or a cookie from before session versions: log in again
    if not 0 <= time.time() - stamp <= max_age:
        return None
    user = usercache.load(user_id)  # the cache's snapshot while it is current (ADR 27)
    if user is None or not user.active or user.session_version != version:
        return None
    user.login_stamp = stamp  # type: ignore[attr-defined] # so get_id() names this same login
    return user


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        return user_for_session_id(session_id, max_age=app.config["REMEMBER_COOKIE_DURATION"].total_seconds())

    @app.before_request
    def authenticate_bearer_token() -> None:
        """A request that carries ``Authorization: Bearer`` is the token's user, or nobody: never the cookie's.

        Flask-Login tries the session first, and its "strong" session protection refuses a session whose cookie
        was issued to no user (``GET /login`` sets one, for the CSRF secret), so a valid token with such a cookie
        was answered 401; and a valid session cookie would have authenticated a request with a bad token. The user
        is decided here instead, before Flask-Login looks at the session: ``g._login_user`` is where Flask-Login
        keeps the request's user, and it runs no loader once that is set.
        """
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return
        g._login_user = _user_for_token(header[7:].strip()) or login_manager.anonymous_user()

    # After the bearer token: a request that carries one is never logged in by a remember-me cookie.
    init_remember(app)

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_json():
            from lms.api.errors import problem

            return problem(
                401, "Authentication required", "Send a session cookie or an 'Authorization: Bearer <token>' header."
            )
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
