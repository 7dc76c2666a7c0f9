"""Security headers on every response of the app: pages, the API, downloads, errors and static files.

The Content-Security-Policy allows scripts and styles from our own origin only, with no ``'unsafe-inline'``: an
injected ``<script>``, ``onclick=`` or ``style=`` does nothing. Pages keep their JavaScript in static files; a
template that must carry an inline block marks it with the request's nonce::

    <script nonce="{{ csp_nonce() }}">…</script>
    <style nonce="{{ csp_nonce() }}">…</style>

``csp_nonce()`` makes one random value per request, and only a response that asked for it names it in its
policy. ``tests/test_csp.py`` refuses a template with an un-nonced inline script or style, an inline event handler
or a ``style=`` attribute. The policy also stops framing (clickjacking), MIME sniffing and leaking page addresses,
which hold record ids, to other sites.
"""

from __future__ import annotations

import secrets

from flask import Response, current_app, g

from lms.core import bp

# ``img-src data:``: Bootstrap draws its checkbox ticks and the menu icon as SVG data URIs in its stylesheet.
CSP = (
    "default-src 'self'; script-src 'self'{nonce}; style-src 'self'{nonce}; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'"
)


@bp.app_template_global()
def csp_nonce() -> str:
    """The nonce of this request's policy, made on first use, for ``<script nonce>`` and ``<style nonce>``."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = secrets.token_urlsafe(18)
    return nonce


def policy() -> str:
    nonce = g.get("csp_nonce")
    return CSP.replace("{nonce}", f" 'nonce-{nonce}'" if nonce else "")


@bp.after_app_request
def security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    existing = headers.get("Content-Security-Policy")
    if existing is None:
        headers["Content-Security-Policy"] = policy()
    elif "frame-ancestors" not in existing:
        # A response with its own policy (evidence files: "sandbox") keeps it and is not framable either.
        headers["Content-Security-Policy"] = f"{existing}; frame-ancestors 'none'"
    max_age = current_app.config.get("HSTS_MAX_AGE")
    if max_age:
        headers.setdefault("Strict-Transport-Security", f"max-age={int(max_age)}; includeSubDomains")
    return response
