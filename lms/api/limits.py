"""Rate limits shared by the API and the pages.

``verify_limit``: every public verification of a certificate, a recognition or a credential by its code (pages,
API, credential downloads) draws on one budget per client address, so that guessing codes is slow whichever door
is used. Declared once, here.
"""

from __future__ import annotations

from flask import Flask, current_app, request

from lms.extensions import limiter

VERIFY_RATE = "30 per minute"

verify_limit = limiter.shared_limit(VERIFY_RATE, scope="certificate-verify")


def check_only_where_limited(app: Flask) -> None:
    """Run Flask-Limiter's per-request check only for endpoints it may limit there (ADR 28, eighth pass).

    The check Flask-Limiter runs before every request applies the application's, the default, the blueprints' and
    the meta limits, and the in-memory fallback's when the storage is down; a view's own limit (``@limiter.limit``,
    :data:`verify_limit`) is checked by its decorator, not there. This app declares none of the former, so for most
    endpoints the check resolves nothing, at ~0.1 ms of Python per request (an attendance batch's). Each endpoint is
    asked once, by Flask-Limiter's own resolution, whether the check could apply a limit to it; only those that
    could are checked. Application, default or meta limits or a fallback set in the configuration turn this off.
    """
    config = app.config
    if any(
        config.get(name) for name in ("RATELIMIT_APPLICATION", "RATELIMIT_META", "RATELIMIT_IN_MEMORY_FALLBACK")
    ) or config.get("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"):
        return
    hooks = app.before_request_funcs.setdefault(None, [])
    check = limiter._check_request_limit
    if check not in hooks:
        return
    limited: dict[str | None, bool] = {}

    def check_where_limited() -> None:
        endpoint = request.endpoint
        may_limit = limited.get(endpoint)
        if may_limit is None:
            defaults, decorated = limiter.limit_manager.resolve_limits(
                current_app._get_current_object(),  # type: ignore[attr-defined]
                endpoint,
                request.blueprint,
                in_middleware=True,
            )
            may_limit = limited[endpoint] = bool(defaults or decorated)
        if may_limit:
            check()

    hooks[hooks.index(check)] = check_where_limited
