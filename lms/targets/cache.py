"""Cached dashboards (ADR 27): the leaders' page and the values API answer, stored in the configured cache under a
key that names everything the output depends on, including the *generations* of the figures it shows.

A generation is a random token per unit (a commune's own figures), one for everything the roll-up writes
(districts, provinces, the country) and one for the plans. Writing figures replaces the tokens after the commit,
so every key built from the old ones is never asked for again and simply expires: nothing is deleted key by key,
and a request that read the old data before the commit stores its page under a key nobody builds any more.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from lms.extensions import cache, db

ROLLUP = "rollup"  # districts, provinces and the country: every roll-up rewrites them all
COMMUNES = "communes"  # any commune's figures (the API's lists of communes)
PLANS = "plans"  # plans, indicators and targets

_PENDING_KEY = "lms.targets.cache.pending"


def _gen_key(name: str | int) -> str:
    return f"targets:gen:{name}"


def generations(names: Iterable[str | int]) -> tuple[str, ...]:
    """The current tokens of ``names``. A token the cache does not hold (never set, evicted, cache flushed) is
    replaced by a new one: a lost generation must never bring back a page stored under an older one."""
    names = list(names)
    keys = [_gen_key(n) for n in names]
    values = list(cache.get_many(*keys))
    for index, value in enumerate(values):
        if value is None:
            token = secrets.token_hex(8)
            cache.add(keys[index], token, timeout=0)  # another process may have set it first: read it back
            values[index] = cache.get(keys[index]) or token
    return tuple(values)


def lookup(names: Iterable[str | int], key: str, *, create: bool = True) -> tuple[dict[str | int, str | None], Any]:
    """The current tokens of ``names`` and the entry stored under ``key``, in one round trip to the cache. Entries
    keep the tokens they were built under: the caller serves one only if they are still the current ones.

    A missing token is made as in :func:`generations`; with ``create=False`` it stays None (no entry can match it)
    until :func:`current` makes it — for names that come from the request (a unit id in the URL), so that only a
    unit the caller may see and that exists gets a generation, never one per id anybody types."""
    names = list(names)
    *values, entry = cache.get_many(*(_gen_key(n) for n in names), key)
    tokens: dict[str | int, str | None] = dict(zip(names, values, strict=True))
    if create:
        current(tokens, names)
    return tokens, entry


def current(tokens: dict[str | int, str | None], names: Iterable[str | int]) -> tuple[str, ...]:
    """The tokens of ``names`` from a :func:`lookup`, the missing ones made now (and written into ``tokens``)."""
    names = list(names)
    missing = [n for n in names if tokens.get(n) is None]
    if missing:
        tokens.update(zip(missing, generations(missing), strict=True))
    return tuple(str(tokens[n]) for n in names)


def bump(names: Iterable[str | int]) -> None:
    """New tokens for ``names`` now (callers inside a transaction use :func:`bump_after_commit`)."""
    cache.set_many({_gen_key(n): secrets.token_hex(8) for n in set(names)}, timeout=0)


def bump_after_commit(names: Iterable[str | int]) -> None:
    """New tokens for ``names`` once the session's transaction commits (dropped on rollback): a request that reads
    the new tokens then reads the committed figures."""
    session = db.session()
    if not session.in_transaction():
        session.begin()
    session.info.setdefault(_PENDING_KEY, set()).update(names)


@event.listens_for(Session, "after_commit")
def _bump_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_PENDING_KEY, None)
    if pending:
        bump(pending)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING_KEY, None)


def key(kind: str, *parts: Any) -> str:
    """A fixed-length cache key of ``parts`` (reprs of tuples, strings and numbers)."""
    return f"targets:{kind}:" + hashlib.sha256(repr(parts).encode()).hexdigest()


def etag_matches(etag: str, if_none_match: Any) -> bool:
    """Does the request's If-None-Match (werkzeug's ETags) name ``etag``?"""
    return bool(if_none_match) and etag in if_none_match
