"""Every change to a commune's registry is announced, in the transaction that makes it (ADR 41).

What is derived from the registry — the titles' eligibility above all — must know when to derive it again. Each
writer could be asked to say so, but one would forget; so the session itself notices:

* **ORM writes** (the edit pages, the API, the services): the persons, households, clans, organisations,
  memberships and units a flush writes — new, changed or deleted — are collected with the place they were stored in
  (read before the flush) *and* the place they are in now (after it): a person who moved names both villages. A
  person or household is also counted by the organisations and clans it belongs to, which may be in other
  communes: those communes change too;
* **bulk statements** (``session.execute(update(Person)…)``) cannot be read that way: a writer that knows what it
  touched says so with :func:`announce` (the spreadsheet import names the villages, persons and households it
  writes). One that does not is caught all the same: every commune is taken as changed (and logged), which costs
  work, never a stale result;
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

from sqlalchemy import BigInteger, DateTime, Integer, any_, case, event, inspect, literal, select
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
    clan_household,
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
    # Persons and households whose change other communes read: an organisation counts its members wherever they
    # live, a clan its households wherever they are.
    persons: set[int] = field(default_factory=set)
    households: set[int] = field(default_factory=set)
    everything: bool = False  # a bulk statement nobody announced
    announced_bulk: bool = False  # ... unless the writer named what its bulk statements touched


def _pending(session: Session) -> _Pending:
    pending: _Pending = session.info.setdefault(_KEY, _Pending())
    return pending


def announce(
    *,
    units: Iterable[int] = (),
    communes: Iterable[int] = (),
    persons: Iterable[int] = (),
    households: Iterable[int] = (),
    bulk: bool = False,
) -> None:
    """Say that the registry of these ``units`` (villages or communes) and ``communes`` changes in the current
    transaction, and these ``persons`` and ``households`` (whose organisations and clans elsewhere read them).
    ``bulk``: that is everything the transaction's bulk statements on the registry touch (so those statements do
    not count as changing every commune)."""
    pending = _pending(db.session())
    pending.units.update(units)
    pending.communes.update(communes)
    pending.persons.update(persons)
    pending.households.update(households)
    pending.announced_bulk = pending.announced_bulk or bulk


#: Where each kind of row is: the column that places it (a unit, a commune, an organisation).
_PLACE: dict[type, str] = {
    Person: "unit_id",
    Household: "village_id",
    Clan: "commune_id",
    Organisation: "commune_id",
    OrganisationMember: "organisation_id",
    AdminUnit: "parent_id",
}


def _changed(obj: Any, session: Session) -> bool:
    if obj in session.new:
        return True
    return any(attr.key not in COSMETIC and attr.history.has_changes() for attr in inspect(obj).attrs)


def _place(pending: _Pending, model: type, obj_id: Any, place: Any, level: Any = None) -> None:
    """Note where a row of ``model`` is (``place``, the value of its ``_PLACE`` column)."""
    if model is AdminUnit:
        if level == UnitLevel.COMMUNE:
            pending.communes.add(obj_id)
        elif level == UnitLevel.VILLAGE and place is not None:
            pending.communes.add(place)
    elif place is None:
        return
    elif model is Person or model is Household:
        pending.units.add(place)
    elif model is OrganisationMember:
        pending.organisations.add(place)
    else:
        pending.communes.add(place)


def _note(pending: _Pending, obj: Any) -> None:
    """Note a row as it is now (its attributes are loaded if they expired)."""
    model = type(obj)
    _place(pending, model, obj.id, getattr(obj, _PLACE[model]), getattr(obj, "level", None))
    if model is Person:
        pending.persons.add(obj.id)
        if obj.household_id is not None:
            pending.households.add(obj.household_id)
    elif model is Household:
        pending.households.add(obj.id)


@event.listens_for(Session, "before_flush")
def _collect_before(session: Session, _context: Any, _instances: Any) -> None:
    """Where the rows about to be deleted or changed are *stored*, read before the flush writes them: an attribute
    set on an object whose values expired at a commit keeps no old value, so a move would name only its
    destination. One statement per kind of row changed."""
    pending: _Pending | None = None
    stored: dict[type, set[int]] = {}
    deleted: dict[type, set[int]] = {}
    for obj in chain(session.deleted, session.dirty):
        model = type(obj)
        if model not in _PLACE or not inspect(obj).has_identity:
            continue
        if obj in session.deleted or _changed(obj, session):
            stored.setdefault(model, set()).add(inspect(obj).identity[0])
        if obj in session.deleted:
            deleted.setdefault(model, set()).add(inspect(obj).identity[0])
    for model, ids in stored.items():
        pending = pending or _pending(session)
        table = model.__table__  # type: ignore[attr-defined]
        columns = [table.c.id, table.c[_PLACE[model]]]
        if model is AdminUnit:
            columns.append(table.c.level)
        if model is Person:
            columns.append(table.c.household_id)
        for row in session.execute(select(*columns).where(table.c.id.in_(sorted(ids)))):
            _place(pending, model, row[0], row[1], row[2] if model is AdminUnit else None)
            if model is Person:
                pending.persons.add(row[0])
                if row[2] is not None:
                    pending.households.add(row[2])
            elif model is Household:
                pending.households.add(row[0])
    if deleted.get(Person) or deleted.get(Household):  # their links go with them: who reads them, read now
        assert pending is not None
        pending.communes.update(_readers_elsewhere(session, deleted.get(Person, ()), deleted.get(Household, ())))


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context: Any) -> None:
    """Rows written: where they are now."""
    for obj in chain(session.new, session.dirty):
        if type(obj) in _PLACE and _changed(obj, session):
            _note(_pending(session), obj)


def _among(session: Session, column: Any, ids: list[int]) -> Any:
    """``column IN (ids)``; on PostgreSQL ``column = ANY(:array)``, one parameter however many ids (an import names
    tens of thousands of persons: an ``IN`` list of that length costs seconds to build and send)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(ids, postgresql.ARRAY(Integer)))
    return column.in_(ids)


def _readers_elsewhere(session: Session, persons: Iterable[int], households: Iterable[int]) -> set[int]:
    """The communes whose organisations count these persons, or whose clans count these households (or the
    persons' households). At most two statements."""
    persons, households = sorted(set(persons)), set(households)
    found: set[int] = set()
    if persons:
        found.update(
            session.scalars(
                select(Organisation.commune_id)
                .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
                .where(_among(session, OrganisationMember.person_id, persons))
                .distinct()
            )
        )
        households.update(
            h
            for h in session.scalars(select(Person.household_id).where(_among(session, Person.id, persons)))
            if h is not None
        )
    if households:
        found.update(
            session.scalars(
                select(Clan.commune_id)
                .join(clan_household, clan_household.c.clan_id == Clan.id)
                .where(_among(session, clan_household.c.household_id, sorted(households)))
                .distinct()
            )
        )
    return found


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
    communes.update(_readers_elsewhere(session, pending.persons, pending.households))
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
