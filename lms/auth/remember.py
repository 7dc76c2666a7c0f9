"""Remember-me with rotation (ADR 30): a browser that ticked "keep me logged in" holds ``<series>.<secret>``; the
server keeps the secret's hash. When the session has ended (12 hours, or the browser closed), the cookie logs the
browser in once, and the answer carries a new secret; the old one is refused from then on.

A secret used after it was replaced means two browsers held the same cookie: a thief's copy. Whichever came
second, the account's sessions and remember-me cookies all end (``end_sessions``, audited), so a thief who came
first loses the session he got. The one exception is a few seconds of grace for the replaced secret, because a
page and the requests it starts at once all carry the cookie the browser had.

Flask-Login's own remember cookie is not used (``login_user(remember=False)`` everywhere); it shares the cookie's
name, so ``logout_user()`` still clears this one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

from flask import Flask, Response, current_app, g, request, session
from flask_login import login_user

from lms.auth.models import RememberToken, User
from lms.extensions import db, utcnow

# How long the secret a rotation replaced is still taken (parallel requests of one page load).
REUSE_GRACE = timedelta(seconds=30)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _lifetime() -> timedelta:
    return current_app.config["REMEMBER_COOKIE_DURATION"]


def _send(series: str, secret: str, logged_in_at: datetime) -> None:
    g.remember_cookie = (f"{series}.{secret}", logged_in_at + _lifetime())


def issue(user: User) -> RememberToken:
    """Remember this browser for ``user``, who has just typed the password; the cookie goes with the answer."""
    now = utcnow()
    # The user's series that have run out go now: no sweep needed, a user has a handful at most.
    db.session.execute(
        db.delete(RememberToken).where(RememberToken.user_id == user.id, RememberToken.logged_in_at < now - _lifetime())
    )
    series, secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    token = RememberToken(user_id=user.id, series=series, token_hash=_hash(secret), logged_in_at=now, used_at=now)
    db.session.add(token)
    _send(series, secret, now)
    return token


def use(cookie: str) -> RememberToken | None:
    """The series a remember-me cookie logs in with, its secret rotated; None (and the cookie cleared) if it is
    unknown, expired, or a replaced secret used again (then every session of the account ends)."""
    from lms.auth.services import end_sessions

    series, _, secret = cookie.partition(".")
    token = db.session.scalar(db.select(RememberToken).where(RememberToken.series == series)) if secret else None
    now = utcnow()
    if token is None or token.logged_in_at < now - _lifetime() or not token.user.active:
        g.remember_cookie = None
        return None
    presented = _hash(secret)
    if hmac.compare_digest(presented, token.token_hash):
        fresh = secrets.token_urlsafe(32)
        token.previous_hash, token.token_hash, token.used_at = token.token_hash, _hash(fresh), now
        _send(series, fresh, token.logged_in_at)
        return token
    if (
        token.previous_hash
        and hmac.compare_digest(presented, token.previous_hash)
        and token.used_at > now - REUSE_GRACE
    ):
        return token  # a request of the same page load: the browser has the new secret already
    end_sessions(token.user, reason="remember_reuse")
    g.remember_cookie = None
    return None


def init_remember(app: Flask) -> None:
    @app.before_request
    def log_in_remembered_browser() -> None:
        """No session user, a remember-me cookie: log in from it (once; the new session carries on)."""
        name = app.config["REMEMBER_COOKIE_NAME"]
        cookie = request.cookies.get(name)
        if (
            not cookie
            or "_user_id" in session
            or "_login_user" in g  # a bearer token decided
            or request.headers.get("Authorization", "").startswith("Bearer ")
            or (request.endpoint or "").endswith("static")
        ):
            return
        token = use(cookie)
        if token is None:
            db.session.commit()  # a reuse ends the account's sessions even though this request fails
            return
        user = token.user
        # The session names the log-in with the password, so it ends with the series, not 14 days from now.
        user.login_stamp = int(token.logged_in_at.replace(tzinfo=UTC).timestamp())  # type: ignore[attr-defined]
        locale = session.get("locale")
        session.clear()  # a new session, as at a log-in with the password
        if locale:
            session["locale"] = locale
        login_user(user, fresh=False)
        db.session.commit()

    @app.after_request
    def send_remember_cookie(response: Response) -> Response:
        if "remember_cookie" not in g:
            return response
        name = app.config["REMEMBER_COOKIE_NAME"]
        if g.remember_cookie is None:
            response.delete_cookie(name, path="/")
            return response
        value, expires = g.remember_cookie
        response.set_cookie(
            name,
            value,
            max_age=max(0, round((expires - utcnow()).total_seconds())),
            path="/",
            secure=app.config.get("REMEMBER_COOKIE_SECURE", False),
            httponly=True,
            samesite=app.config.get("REMEMBER_COOKIE_SAMESITE", "Lax"),
        )
        return response
