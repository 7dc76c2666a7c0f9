"""The signed-in user from the cache, not the database, on every request (issue 15 item 2, ADR 27).

A page the cache answers needs no statement but the log-in's own: the user and their roles (two statements), and
the user's scopes. So a snapshot of the user — the columns but the password hash, the role assignments with their
units, and the resolved scopes (``lms.auth.permissions``) — is kept in the configured cache under the user's id,
together with the two *auth generations* it was read under: one per user and one for every user. The request's
user is rebuilt from it as a persistent object of the request's session (added, or ``Session.merge(load=False)``
when the session already holds one of its objects: no statement), so a view that changes the user writes it as before.

Invalidation, as for the dashboards: a flush that inserts, changes or deletes a ``User`` or a ``RoleAssignment``
replaces that user's generation once its transaction commits (a bulk ``UPDATE``/``DELETE``/``INSERT`` through the
ORM on either table, every user's), so a deactivation, a withdrawn role, a log-out or a password change (the
session version) is seen by the **next request**, on every process. A change of the map — an ``AdminUnit`` inserted,
changed or deleted (a unit renamed, moved, ended in the 2025 merge) or a ``UnitLineage`` link, one by one or in
bulk — replaces the generation of every user, once: the snapshots hold their units' columns and the scopes resolved
through the lineage, and so do the scopes kept on their own (``lms.auth.permissions._scopes``, read under the same
generation). The generations are read before the database
is, so a request that read the old rows just before the commit stores them under the old generation, which nobody
asks for any more. A write that bypasses the ORM (SQL typed by hand) is seen after ``USER_CACHE_SECONDS`` at most
(the snapshot's lifetime; 0 turns the snapshot off).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from itertools import chain
from typing import Any

from flask import current_app, g, has_app_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    configure_mappers,
    make_transient_to_detached,
)
from sqlalchemy.orm.attributes import set_committed_value

from lms.auth.generations import EVERYONE, gen_key, token
from lms.auth.models import ApiToken, RoleAssignment, User
from lms.extensions import cache, db
from lms.registry.models import AdminUnit, UnitLineage

_PENDING_KEY = "lms.auth.usercache.pending"
# Never in the cache: the password hash (loaded from the database if a view asks for it).
_LEFT_OUT = {"password_hash"}


def _user_key(user_id: int) -> str:
    return f"auth:user:{user_id}"


def _token_name(token_hash: str) -> str:
    """The generation of one bearer token: replaced when the token is revoked or deleted."""
    return f"token:{token_hash}"


def _token_key(token_hash: str) -> str:
    return f"auth:token:{token_hash}"


def _columns(cls: type, obj: Any) -> dict[str, Any]:
    mapper: Any = inspect(cls)
    keys: list[str] = [attr.key for attr in mapper.column_attrs]
    return {key: getattr(obj, key) for key in keys if key not in _LEFT_OUT}


def detached(cls: type, values: dict[str, Any]) -> Any:
    """An instance as if loaded by a query and then detached: the given columns loaded, the others expired."""
    obj: Any = inspect(cls).class_manager.new_instance()
    for name, value in values.items():
        set_committed_value(obj, name, value)
    make_transient_to_detached(obj)
    return obj


def _snapshot(user: User, scopes: dict[str, list[str]] | None) -> dict[str, Any]:
    return {
        "user": _columns(User, user),
        "roles": [(_columns(RoleAssignment, a), _columns(AdminUnit, a.unit)) for a in user.roles],
        "scopes": scopes,
    }


def _rebuild(snapshot: dict[str, Any]) -> User:
    # A new process may serve a cached user before its first query has configured the mappers (a no-op after).
    configure_mappers()
    user = detached(User, snapshot["user"])
    roles = []
    units: dict[int, AdminUnit] = {}
    for role_values, unit_values in snapshot["roles"]:
        unit = units.get(unit_values["id"]) or units.setdefault(unit_values["id"], detached(AdminUnit, unit_values))
        assignment = detached(RoleAssignment, role_values)
        set_committed_value(assignment, "unit", unit)
        set_committed_value(assignment, "user", user)
        roles.append(assignment)
    set_committed_value(user, "roles", roles)
    return _attach(user, [user, *roles, *units.values()])


def _attach(obj: Any, graph: list[Any]) -> Any:
    """``obj``, rebuilt from the cache with the objects of ``graph`` it reaches, as persistent objects of the
    request's session: added as they are when none of them is in the session yet (the usual case: the log-in is the
    request's first use of it), else merged (``load=False``: no statement), so that an object the session already
    holds stays the one it holds. Adding spares the merge's copy of every object (ADR 28, eighth pass)."""
    identity_map = db.session.identity_map
    if any(inspect(member).key in identity_map for member in graph):
        return db.session.merge(obj, load=False)
    db.session.add(obj)
    return obj


# What every user's snapshot and scopes are read from: a change of one of these replaces every user's generation.
_MAP = (AdminUnit, UnitLineage)


def _generations(user_id: int, values: list[Any]) -> tuple[str, str]:
    return token(EVERYONE, values[0]), token(user_id, values[1])


_UNREAD: Any = object()


def load(user_id: int, everyone: Any = _UNREAD) -> User | None:
    """The user with this id, from the cache when the snapshot is current, else from the database (then stored).
    On a hit the user's scopes are the request's too (``flask.g``): no lineage is read either. ``everyone``: every
    user's generation as the caller has just read it (a bearer token's look-up), not read a second time — still
    read before the database is."""
    seconds = current_app.config.get("USER_CACHE_SECONDS", 0)
    if not seconds:
        return db.session.get(User, user_id)
    if everyone is _UNREAD or everyone is None:
        everyone, own, entry = cache.get_many(gen_key(EVERYONE), gen_key(user_id), _user_key(user_id))
    else:
        own, entry = cache.get_many(gen_key(user_id), _user_key(user_id))
    generations = _generations(user_id, [everyone, own])
    if entry is not None and entry[0] == generations:
        snapshot = entry[1]
        cached = _rebuild(snapshot)
        if snapshot["scopes"] is not None:
            g._scopes = (cached.id, snapshot["scopes"])
        return cached
    user = db.session.get(User, user_id)
    if user is None:
        return None
    from lms.auth.permissions import resolved_scopes

    scope_seconds = current_app.config.get("SCOPE_CACHE_SECONDS", 0)
    scopes = resolved_scopes(user) if scope_seconds else None
    timeout = min(seconds, scope_seconds) if scope_seconds else seconds
    cache.set(_user_key(user_id), (generations, _snapshot(user, scopes)), timeout=timeout)
    return user


def load_token(token_hash: str, read: Callable[[], ApiToken | None]) -> tuple[ApiToken | None, User | None]:
    """The bearer token with this hash and its user: from the cache while the token's snapshot is current (no
    statement at all on a hit), else ``read()`` (the database), then stored.

    The token's snapshot is kept under its own generation and everyone's, read before the database is: a
    revocation (or a deletion) through the ORM replaces the token's generation when it commits, so a revoked token
    is refused at the next request, as a deactivated user is (their snapshot is :func:`load`'s, under their own
    generation). A token is cached only once found: an unknown one costs a statement every time.
    """
    seconds = current_app.config.get("USER_CACHE_SECONDS", 0)
    name = _token_name(token_hash)
    everyone, own, entry = cache.get_many(gen_key(EVERYONE), gen_key(name), _token_key(token_hash))
    if everyone is not None and own is not None and entry is not None and entry[0] == (str(everyone), str(own)):
        cached = detached(ApiToken, entry[1])
        found = _attach(cached, [cached])
    else:
        found = read()
        if found is None:
            # No generation for a token that does not exist: random bearer strings must not fill the cache with
            # keys that never expire (as a unit id typed in a URL makes none, ADR 27).
            return None, None
        if own is None:
            # The token's first generation, made now that the token is known — only if nobody made one meanwhile:
            # a revocation committed since the read above has set it, and then nothing is stored.
            made = secrets.token_hex(8)
            own = made if cache.add(gen_key(name), made, timeout=0) else None
        if everyone is None:
            token(EVERYONE, None)  # everyone's, made for the next request; this one stores nothing
        elif own is not None:
            cache.set(_token_key(token_hash), ((str(everyone), str(own)), _columns(ApiToken, found)), timeout=seconds)
    return found, load(found.user_id, everyone)


def token_used(found: ApiToken) -> None:
    """Keep the token's snapshot's ``last_used_at`` with the one the request writes, so the next requests within
    the minute do not write it again (a rolled-back request leaves the cache a little ahead: a minute at most)."""
    entry = cache.get(_token_key(found.token_hash))
    if entry is not None:
        cache.set(
            _token_key(found.token_hash),
            (entry[0], {**entry[1], "last_used_at": found.last_used_at}),
            timeout=current_app.config.get("USER_CACHE_SECONDS", 0),
        )


def bump(names: set[int | str]) -> None:
    """New tokens for these users (``EVERYONE``: all) now; callers in a transaction let the commit do it."""
    cache.set_many({gen_key(name): secrets.token_hex(8) for name in names}, timeout=0)


def _pending(session: Session) -> set[int | str]:
    pending: set[int | str] = session.info.setdefault(_PENDING_KEY, set())
    return pending


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    for obj in chain(session.new, session.dirty, session.deleted):
        if isinstance(obj, User):
            _pending(session).add(obj.id if obj.id is not None else EVERYONE)
        elif isinstance(obj, RoleAssignment):
            user_id = obj.user_id if obj.user_id is not None else (obj.user.id if obj.user is not None else None)
            _pending(session).add(user_id if user_id is not None else EVERYONE)
        elif isinstance(obj, ApiToken) and (
            obj in session.deleted or inspect(obj).attrs.revoked_at.history.has_changes()
        ):
            _pending(session).add(_token_name(obj.token_hash))
        elif isinstance(obj, _MAP) and (
            obj not in session.dirty or session.is_modified(obj, include_collections=False)
        ):
            _pending(session).add(EVERYONE)  # one bump for all: whose scope a unit is in is not worth reading


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    if any(mapper.class_ in (User, RoleAssignment, ApiToken, *_MAP) for mapper in state.all_mappers):
        _pending(state.session).add(EVERYONE)


@event.listens_for(Session, "after_commit")
def _bump_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_PENDING_KEY, None)
    if pending and has_app_context():
        bump(pending)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_PENDING_KEY, None)
