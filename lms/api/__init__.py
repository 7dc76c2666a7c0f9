"""The JSON API under ``/api/v1``: one blueprint; each feature adds its routes in its own ``api.py``.

Requests authenticate with a bearer token (devices, integrations) or the session cookie (the app's own pages).
Unsafe requests that ride on the session cookie must carry the CSRF token; token requests need none.
"""

from flask import Blueprint, g

from lms.extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1", template_folder="templates")
csrf.exempt(bp)


@bp.before_request
def _csrf_for_cookie_sessions() -> None:
    from flask import request
    from flask_login import current_user

    # Reading current_user runs the loaders, which set g.api_token for token requests. Anonymous requests are
    # left to the views, which answer 401: there is no session for a forged request to ride on.
    if (
        current_user.is_authenticated
        and request.method not in ("GET", "HEAD", "OPTIONS")
        and getattr(g, "api_token", None) is None
    ):
        csrf.protect()


from lms.api import docs, models  # noqa: E402,F401 - registers /openapi.json, /docs and the model
