"""How a request becomes a user: the session cookie (pages) or a bearer token (devices, integrations)."""

from __future__ import annotations

from flask import Flask, g, redirect, request, url_for
from flask_babel import lazy_gettext as _l

from lms.auth.models import ApiToken, User
from lms.extensions import db, login_manager, utcnow


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.active else None

    @login_manager.request_loader
    def load_user_from_token(req) -> User | None:
        header = req.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            return None
        token = db.session.scalar(
            db.select(ApiToken).where(
                ApiToken.token_hash == ApiToken.hash(header[7:].strip()), ApiToken.revoked_at.is_(None)
            )
        )
        if token is None or not token.user.active:
            return None
        token.last_used_at = utcnow()
        g.api_token = token
        return token.user

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_json():
            from lms.api.errors import problem

            return problem(
                401, "Authentication required", "Send a session cookie or an 'Authorization: Bearer <token>' header."
            )
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
