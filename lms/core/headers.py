"""Security headers on every response of the app: pages, the API, downloads, errors and static files.

Not yet here: a Content-Security-Policy with ``script-src``/``style-src``. The templates still carry inline
scripts and styles, which such a policy would block; it comes with the change that moves them into files
(docs/security.md). What is here already stops framing (clickjacking), MIME sniffing and leaking page addresses,
which hold record ids, to other sites.
"""

from __future__ import annotations

from flask import Response, current_app

from lms.core import bp

# Directives that no page of ours needs and that do not touch inline scripts or styles.
CSP = "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"


@bp.after_app_request
def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    policy = headers.get("Content-Security-Policy")
    if policy is None:
        headers["Content-Security-Policy"] = CSP
    elif "frame-ancestors" not in policy:
        # A response with its own policy (evidence files: "sandbox") keeps it and is not framable either.
        headers["Content-Security-Policy"] = f"{policy}; frame-ancestors 'none'"
    max_age = current_app.config.get("HSTS_MAX_AGE")
    if max_age:
        headers.setdefault("Strict-Transport-Security", f"max-age={int(max_age)}; includeSubDomains")
    return response
