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
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from lms.celery import enqueue_after_commit
from lms.core.signals import learning_records_changed, registry_changed
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit, Organisation, OrganisationMember, Person, UnitLevel
from lms.titles.models import EvaluationState


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
    local = today or datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
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
