"""Rate limits shared by the API and the pages.

``verify_limit``: every public verification of a certificate, a recognition or a credential by its code (pages,
API, credential downloads) draws on one budget per client address, so that guessing codes is slow whichever door
is used. Declared once, here.
"""

from __future__ import annotations

from lms.extensions import limiter

VERIFY_RATE = "30 per minute"

verify_limit = limiter.shared_limit(VERIFY_RATE, scope="certificate-verify")
