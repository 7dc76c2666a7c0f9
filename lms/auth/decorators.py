"""Permission decorators that read like policy. JSON callers get problem+json, browsers a login redirect or 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user

from lms.auth.permissions import Permission, has_permission_anywhere
from lms.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])


def permission_required(permission: Permission) -> Callable[[F], F]:
    """The user must hold ``permission`` somewhere; the view then scopes every query to where they hold it."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not has_permission_anywhere(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
