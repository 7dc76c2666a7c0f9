"""The cache generations of the user snapshots and scopes (ADR 27, ADR 42): a token per user and one for everyone,
replaced when what they were built from changes. Read by ``lms.auth.usercache`` (the snapshots) and
``lms.auth.permissions`` (the cached scopes), which therefore do not import each other."""

from __future__ import annotations

import secrets
from typing import Any

from lms.extensions import cache

EVERYONE = "all"


def gen_key(name: int | str) -> str:
    return f"auth:gen:{name}"


EVERYONE_KEY = gen_key(EVERYONE)


def token(name: int | str, value: Any) -> str:
    """The generation token read for ``name``, a missing one replaced by a new one (never by a default: a lost
    generation must not bring back an old snapshot)."""
    if value is None:
        cache.add(gen_key(name), secrets.token_hex(8), timeout=0)  # another process may have set it first
        value = cache.get(gen_key(name)) or secrets.token_hex(8)
    return str(value)
