"""Every change to a commune's registry is announced, in the transaction that makes it (ADR 41).

What is derived from the registry — the titles' eligibility above all — must know when to derive it again. Each
writer could be asked to say so, but one would forget; so the session itself notices:

* **ORM writes** (the edit pages, the API, the services): after each flush, the persons, households, clans,
  organisations, memberships and units written — new, changed or deleted — are collected with the units they were
  in *and* are in now (a person who moved names both villages);
* **bulk statements** (``session.execute(update(Person)…)``) cannot be read that way: a writer that knows what it
  touched says so with :func:`announce` (the spreadsheet import names the communes of its file). One that does not
  is caught all the same: every commune is taken as changed (and logged), which costs work, never a stale result;
* **just before the commit**, the collected units are resolved to their communes (one statement), each commune's
  ``registry_version`` is bumped (one upsert) and :data:`lms.core.signals.registry_changed` is sent so the layers
  above react in the same transaction. A rolled-back transaction announces nothing.

Columns nothing derives anything from — names and their keys, phone numbers, ID numbers, addresses, timestamps —
are not changes. Statements sent on a connection behind the session's back are not seen: the nightly reconciliation
is what finds those (ADR 9).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from sqlalchemy import BigInteger, DateTime, case, event, inspect, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from lms.core.signals import registry_changed
from lms.extensions import db, utcnow
from lms.registry.models import (
    AdminUnit,
    Clan,
    Household,
    Organisation,
    OrganisationMember,
    Person,
    RegistryVersion,
    UnitLevel,
)

log = logging.getLogger(__name__)

#: Columns whose change is no change of what anything derives from a commune's registry.
COSMETIC = frozenset(
    {
        "full_name",
        "name",
        "name_folded",
        "sort_key",
        "phone",
        "id_number_hash",
        "id_number_encrypted",
        "id_number_hint",
        "address",
        "created_at",
        "updated_at",
    }
)
#: The tables whose rows belong to a commune's registry (``clan_household`` too: a clan's households).
TABLES = frozenset(
    {"admin_unit", "person", "household", "clan", "clan_household", "organisation", "organisation_member"}
)
_KEY = "lms.registry.changes"


@dataclass
class _Pending:
    units: set[int] = field(default_factory=set)  # villages or communes
    organisations: set[int] = field(default_factory=set)
    communes: set[int] = field(default_factory=set)
    everything: bool = False  # a bulk statement nobody announced
    announced_bulk: bool = False  # ... unless the writer named what its bulk statements touched


def _pending(session: Session) -> _Pending:
    pending: _Pending = session.info.setdefault(_KEY, _Pending())
    return pending


def announce(*, units: Iterable[int] = (), communes: Iterable[int] = (), bulk: bool = True) -> None:
    """Say that the registry of these ``units`` (villages or communes) and ``communes`` changes in the current
    transaction. ``bulk``: they are everything the transaction's bulk statements on the registry touch (so those
    statements do not count as changing every commune)."""
    pending = _pending(db.session())
    pending.units.update(units)
    pending.communes.update(communes)
    pending.announced_bulk = pending.announced_bulk or bulk


def _values(obj: Any, attribute: str) -> list[Any]:
    """The attribute's value now (loaded if it expired) and, if the flush changed it, before."""
    history = inspect(obj).attrs[attribute].load_history()
    return [v for v in chain(history.added, history.unchanged, history.deleted) if v is not None]


def _changed(obj: Any, session: Session) -> bool:
    state = inspect(obj)
    if obj in session.new:
        return True
    return any(attr.key not in COSMETIC and attr.history.has_changes() for attr in state.attrs)


_MODELS = (Person, Household, Clan, Organisation, OrganisationMember, AdminUnit)


@event.listens_for(Session, "before_flush")
def _collect_deleted(session: Session, _context: Any, _instances: Any) -> None:
    """Rows about to be deleted, read while they still exist (their attributes may have expired at a commit)."""
    for obj in session.deleted:
        if isinstance(obj, _MODELS):
            _note(_pending(session), obj)


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    """Rows written: their units as they are now and, if changed, as they were."""
    for obj in chain(session.new, session.dirty):
        if isinstance(obj, _MODELS) and _changed(obj, session):
            _note(_pending(session), obj)


def _note(pending: _Pending, obj: Any) -> None:
    if isinstance(obj, Person):
        pending.units.update(_values(obj, "unit_id"))
    elif isinstance(obj, Household):
        pending.units.update(_values(obj, "village_id"))
    elif isinstance(obj, (Clan, Organisation)):
        pending.communes.update(_values(obj, "commune_id"))
    elif isinstance(obj, OrganisationMember):
        pending.organisations.update(_values(obj, "organisation_id"))
    elif obj.level == UnitLevel.COMMUNE:
        pending.communes.add(obj.id)
    elif obj.level == UnitLevel.VILLAGE:
        pending.communes.update(_values(obj, "parent_id"))


@event.listens_for(Session, "do_orm_execute")
def _collect_bulk(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in TABLES:
        _pending(state.session).everything = True


@event.listens_for(Session, "before_commit")
def _announce(session: Session) -> None:
    if session.in_nested_transaction():
        return
    if session.new or session.dirty or session.deleted:
        session.flush()  # the commit flushes after this hook: what is still pending must be collected first
    pending: _Pending | None = session.info.pop(_KEY, None)
    if pending is None:
        return
    communes = set(pending.communes)
    if pending.units:
        home = case((AdminUnit.level == UnitLevel.COMMUNE, AdminUnit.id), else_=AdminUnit.parent_id)
        communes.update(
            session.scalars(
                select(home).where(
                    AdminUnit.id.in_(sorted(pending.units)),
                    AdminUnit.level.in_([UnitLevel.COMMUNE.value, UnitLevel.VILLAGE.value]),
                )
            )
        )
    if pending.organisations:
        communes.update(
            session.scalars(select(Organisation.commune_id).where(Organisation.id.in_(sorted(pending.organisations))))
        )
    communes.discard(None)  # type: ignore[arg-type]
    if pending.everything and not pending.announced_bulk:
        log.info("registry: a bulk statement changed the registry without naming its communes: all of them change")
        _bump(session, None)
    if communes:
        _bump(session, communes)
        registry_changed.send(session, communes=communes)
    session.info.pop(_KEY, None)  # the receivers' own writes are not the registry's


def _bump(session: Session, communes: set[int] | None) -> None:
    """``registry_version = registry_version + 1`` for these communes (None: every commune), one statement; rows are
    taken in the order of their ids, so two writers never wait on each other crosswise."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    if communes is None:
        rows: Any = (
            select(AdminUnit.id, literal(1, BigInteger), literal(now, DateTime))
            .where(AdminUnit.level == UnitLevel.COMMUNE.value)
            .order_by(AdminUnit.id)
        )
        stmt = dialect.insert(RegistryVersion).from_select(["commune_id", "version", "changed_at"], rows)
    else:
        stmt = dialect.insert(RegistryVersion).values(
            [{"commune_id": commune_id, "version": 1, "changed_at": now} for commune_id in sorted(communes)]
        )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["commune_id"],
            set_={"version": RegistryVersion.version + 1, "changed_at": stmt.excluded.changed_at},
        )
    )


@event.listens_for(Session, "after_soft_rollback")
def _drop(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_KEY, None)


def version(commune_id: int) -> int:
    """The commune's registry version now (0 if it never changed)."""
    found = db.session.scalar(select(RegistryVersion.version).where(RegistryVersion.commune_id == commune_id))
    return int(found or 0)
