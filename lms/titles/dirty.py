"""The titles outbox: which (commune, year) must be evaluated again.

Anything that changes an input of evaluation — a learning record (through the ``learning_records_changed`` signal),
an assessment, a registration, a recognition — calls :func:`mark_dirty` in its own transaction. The mark commits with
the change; the evaluation task is queued after the commit, and the periodic sweep finds marks whose message was
lost. Marking an already marked commune-year refreshes its time, so a run that started before this change does not
clear it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain
from typing import Any

from sqlalchemy import case, event, inspect, or_, select, tuple_, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction, aliased

from courses.models import LearningRecord
from lms.celery import enqueue_after_commit
from lms.core.clock import local_today
from lms.core.signals import learning_records_changed, registry_changed
from lms.extensions import db, utcnow
from lms.registry.models import (
    AdminUnit,
    Clan,
    Household,
    Organisation,
    OrganisationMember,
    Person,
    UnitLevel,
    clan_household,
)
from lms.titles.models import Assessment, EvaluationState, Recognition


def mark_dirty(pairs: Iterable[tuple[int, int]]) -> None:
    """Mark each ``(commune_id, year)`` for evaluation, in the caller's transaction, and queue the tasks."""
    wanted = sorted(set(pairs))
    if not wanted:
        return
    now = utcnow()
    rows = [
        {"commune_id": commune_id, "year": year, "marked_at": now, "sent_at": now, "summary": {}}
        for commune_id, year in wanted
    ]
    # One statement whatever is already there; PostgreSQL and SQLite spell the upsert the same way.
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(EvaluationState).values(rows)
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["commune_id", "year"],
            # The whole commune-year: an incremental evaluation no longer suffices (ADR 29).
            set_={"marked_at": stmt.excluded.marked_at, "sent_at": stmt.excluded.sent_at, "partial": False},
        )
    )
    for commune_id, year in wanted:
        enqueue_after_commit("titles.evaluate_commune", commune_id=commune_id, year=year)


def home_pairs(persons: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """The ``(commune_id, year)`` pairs whose evaluation reads these persons' learning: the commune they live in
    (the engine evaluates people where they live, whatever the place they learned) and the communes of the
    organisations they belong to (a unit's share of Learning Citizens). Two statements, whatever the number."""
    persons = set(persons)
    if not persons:
        return set()
    ids = sorted({person_id for person_id, _ in persons})
    unit = aliased(AdminUnit)
    home = case((unit.level == UnitLevel.COMMUNE, unit.id), else_=unit.parent_id)
    communes: dict[int, set[int]] = defaultdict(set)
    for person_id, commune_id in db.session.execute(
        select(Person.id, home).join(unit, unit.id == Person.unit_id).where(Person.id.in_(ids))
    ).tuples():
        if commune_id is not None:
            communes[person_id].add(commune_id)
    for person_id, commune_id in db.session.execute(
        select(OrganisationMember.person_id, Organisation.commune_id)
        .join(Organisation, Organisation.id == OrganisationMember.organisation_id)
        .where(OrganisationMember.person_id.in_(ids))
    ).tuples():
        communes[person_id].add(commune_id)
    return {(commune_id, year) for person_id, year in persons for commune_id in communes[person_id]}


def household_pairs(households: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """The ``(commune_id, year)`` pairs whose evaluation counts these households' Learning Family recognitions (ADR
    51, Decision 448): the commune of the household's village (its village's share) and the communes of the clans it
    belongs to — a clan is filed under one commune and may count households of others. One statement."""
    households = set(households)
    if not households:
        return set()
    ids = sorted({household_id for household_id, _ in households})
    village = aliased(AdminUnit)
    communes: dict[int, set[int]] = defaultdict(set)
    for household_id, commune_id in db.session.execute(
        union(
            select(Household.id, village.parent_id)
            .join(village, village.id == Household.village_id)
            .where(Household.id.in_(ids)),
            select(clan_household.c.household_id, Clan.commune_id)
            .join(Clan, Clan.id == clan_household.c.clan_id)
            .where(clan_household.c.household_id.in_(ids)),
        )
    ).tuples():
        if commune_id is not None:
            communes[household_id].add(commune_id)
    return {(commune_id, year) for household_id, year in households for commune_id in communes[household_id]}


@learning_records_changed.connect
def _on_learning_records_changed(
    sender: Any, *, pairs: Iterable[tuple[int, int]], persons: Iterable[tuple[int, int]] = (), **_: Any
) -> None:
    from lms.titles import incremental

    persons = set(persons)
    if persons:  # whose records changed is known: their metrics and an incremental evaluation (ADR 29)
        incremental.records_changed(set(pairs) | home_pairs(persons), persons)
    else:
        mark_dirty(set(pairs))


def current_years(today: date | None = None) -> list[int]:
    """The years whose titles are still being earned: this one, and the previous one until the end of March (late
    records and assessments for last year arrive in the first quarter). The nightly reconciliation checks the same."""
    local = today or local_today()
    return [local.year, local.year - 1] if local.month <= 3 else [local.year]


@registry_changed.connect
def _on_registry_changed(sender: Any, *, communes: Iterable[int], **_: Any) -> None:
    """A person moved, a birth date or an occupation was corrected, a household joined a clan…: the communes'
    current years are evaluated again in full (a move changes the groups whose shares are counted, which an
    incremental evaluation cannot follow). Only commune-years already evaluated or marked; a run evaluates the
    others, and any older year, because their registry version no longer matches (ADR 41)."""
    communes = sorted(set(communes))
    if not communes:
        return
    pairs = db.session.execute(
        select(EvaluationState.commune_id, EvaluationState.year).where(
            EvaluationState.commune_id.in_(communes), EvaluationState.year.in_(current_years())
        )
    ).tuples()
    mark_dirty(pairs)


def due_for_resend(marked_before: datetime, sent_before: datetime, limit: int = 10_000) -> list[tuple[int, int]]:
    """The ``(commune_id, year)`` still marked since before ``marked_before`` whose task was last sent before
    ``sent_before``, oldest first — their task was lost (a message dropped, a worker killed) — stamped as sent now.
    A mark whose task is merely waiting in a long queue is not sent again until ``sent_before`` passes it."""
    rows = [
        (commune_id, year)
        for commune_id, year in db.session.execute(
            select(EvaluationState.commune_id, EvaluationState.year)
            .where(
                EvaluationState.marked_at < marked_before,
                or_(EvaluationState.sent_at.is_(None), EvaluationState.sent_at < sent_before),
                EvaluationState.due(utcnow()),  # a failing mark waits out its backoff; a parked one for a person
            )
            .order_by(EvaluationState.marked_at)
            .limit(limit)
        )
    ]
    if rows:
        key = tuple_(EvaluationState.commune_id, EvaluationState.year)
        db.session.execute(update(EvaluationState).where(key.in_(rows)).values(sent_at=utcnow()))
    return rows


# --- inputs written on the session without their service ---------------------------------------------------------
# The services that write learning records, assessments and recognitions mark what they change. A script, a shell
# or a fixture may add such rows to the session directly: nothing is marked then, and a run would leave the commune
# as it was (ADR 41). Such writes are still seen here, after each flush, and the commune-years they concern lose
# their ``inputs_key`` before the commit, so that the next run evaluates them. (No task is sent: nothing announced
# them. Bulk statements are the services' own, which mark.)

_UNANNOUNCED = "lms.titles.unannounced"


@dataclass
class _Unannounced:
    pairs: set[tuple[int, int]] = field(default_factory=set)  # (commune, year)
    persons: set[tuple[int, int]] = field(default_factory=set)  # (person, year): their home communes too
    since: set[tuple[int, int]] = field(default_factory=set)  # (commune, first year): a recognition holds on


#: The columns that say which commune-years a row concerns, per model.
_WHERE: dict[type, tuple[str, ...]] = {
    LearningRecord: ("commune_id", "year", "person_id"),
    Assessment: ("commune_id", "year"),
    Recognition: ("commune_id", "year"),
}
#: A recognition's columns that the engine reads (frozen years, upgrade waits — from the decision's date —, members
#: recognised); the rest — decision numbers, who proposed — change no result.
_RECOGNITION_READ = frozenset(
    {"subject_type", "subject_id", "title", "year", "level", "commune_id", "status", "valid_until", "decision_date"}
)


def _concerns(obj: Any, session: Session) -> bool:
    if obj in session.new or obj in session.deleted:
        return True
    changed = {attr.key for attr in inspect(obj).attrs if attr.history.has_changes()}
    return bool(changed & _RECOGNITION_READ) if isinstance(obj, Recognition) else bool(changed)


def _note_unannounced(found: _Unannounced, model: type, values: tuple[Any, ...]) -> None:
    if None in values:
        return
    if model is LearningRecord:
        found.pairs.add((values[0], values[1]))
        found.persons.add((values[2], values[1]))
    elif model is Recognition:
        found.since.add((values[0], values[1]))
    else:
        found.pairs.add((values[0], values[1]))


@event.listens_for(Session, "before_flush")
def _collect_stored(session: Session, _context: Any, _instances: Any) -> None:
    """The commune-years of rows about to be changed or deleted, as stored (an attribute set on an expired object
    keeps no old value). One statement per model."""
    ids: dict[type, set[int]] = {}
    for obj in chain(session.dirty, session.deleted):
        model = type(obj)
        if model in _WHERE and inspect(obj).has_identity and _concerns(obj, session):
            ids.setdefault(model, set()).add(inspect(obj).identity[0])
    for model, found_ids in ids.items():
        found = session.info.setdefault(_UNANNOUNCED, _Unannounced())
        table = model.__table__  # type: ignore[attr-defined]
        columns = [table.c[name] for name in _WHERE[model]]
        for row in session.execute(select(*columns).where(table.c.id.in_(sorted(found_ids)))):
            _note_unannounced(found, model, tuple(row))


@event.listens_for(Session, "after_flush")
def _collect_unannounced(session: Session, _context: Any) -> None:
    """The commune-years of rows written, as they are now."""
    for obj in chain(session.new, session.dirty):
        model = type(obj)
        if model in _WHERE and _concerns(obj, session):
            found = session.info.setdefault(_UNANNOUNCED, _Unannounced())
            _note_unannounced(found, model, tuple(getattr(obj, name) for name in _WHERE[model]))


@event.listens_for(Session, "before_commit")
def _forget_unannounced(session: Session) -> None:
    if session.in_nested_transaction():
        return
    if session.new or session.dirty or session.deleted:
        session.flush()
    found: _Unannounced | None = session.info.pop(_UNANNOUNCED, None)
    if found is None:
        return
    pairs = found.pairs | home_pairs(found.persons)
    key = tuple_(EvaluationState.commune_id, EvaluationState.year)
    conditions: list[Any] = [key.in_(sorted(pairs))] if pairs else []
    conditions += [(EvaluationState.commune_id == c) & (EvaluationState.year >= y) for c, y in sorted(found.since)]
    if conditions:
        session.execute(
            update(EvaluationState)
            .where(or_(*conditions), EvaluationState.inputs_key.is_not(None))
            .values(inputs_key=None)
            .execution_options(synchronize_session=False)
        )


@event.listens_for(Session, "after_soft_rollback")
def _drop_unannounced(session: Session, previous_transaction: SessionTransaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(_UNANNOUNCED, None)
