"""Incremental titles (ADR 29): what the writers of evaluation inputs keep, and which subjects a mark names.

* :func:`refresh_person_metrics` — in the transaction that writes learning records: the persons' yearly metrics in
  ``title_person_metric``, recomputed from their records in one read and written only where a value changed
  (``INSERT … ON CONFLICT DO UPDATE … WHERE value IS DISTINCT FROM excluded.value``, the same text on PostgreSQL
  and SQLite), plus one delete of the rows of persons left without records in the year;
* :func:`mark_subjects` — the outbox of a change that concerns named subjects (a person's learning, an assessment of
  one subject): the commune-year's mark on ``evaluation_state`` (``partial`` unless a whole-commune mark is pending)
  and one ``evaluation_dirty_subject`` row per subject, in the writer's transaction; the task is queued after the
  commit exactly as for :func:`lms.titles.dirty.mark_dirty`;
* :func:`pending` / :func:`clear` — read and delete a commune-year's dirty subjects, under its lock
  (``runs.evaluate_locked``).

The number of statements of each is constant: it depends on neither the number of subjects nor the commune's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, delete, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from lms.celery import enqueue_after_commit
from lms.extensions import db, utcnow
from lms.titles import engine
from lms.titles.models import EvaluationDirtySubject, EvaluationState, PersonMetric, SubjectType

#: More dirty subjects than this in one commune-year: the full evaluation is cheaper than the scoped one (and the
#: ``IN`` lists stay far below SQLite's limit of bound values).
MAX_INCREMENTAL_SUBJECTS = 2_000
_ROWS = 5_000  # rows of one multi-row INSERT: 20,000 bound values, below SQLite's limit of 32,766


def _insert(model: type) -> Any:
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model)


def refresh_person_metrics(persons: Iterable[tuple[int, int]]) -> None:
    """Recompute the yearly metrics of these ``(person_id, year)`` from their learning records, in the caller's
    transaction. Four statements at most (read, upsert, delete; and, when some person was left without records in
    the year, the update that takes their values away), whatever the number of persons."""
    pairs = sorted(set(persons))
    if not pairs:
        return
    metrics = engine.active_metrics()
    if not metrics:
        return
    keys = [engine.metric_key(m) for m in metrics]
    lr = engine.LR
    rows: list[dict[str, Any]] = []
    learned: set[tuple[int, int]] = set()  # the pairs that still have records
    for start in range(0, len(pairs), engine._IN_LIST // 2):
        chunk = pairs[start : start + engine._IN_LIST // 2]
        for person_id, year, *values in db.session.execute(
            select(lr.c.person_id, lr.c.year, *[engine._metric_column(m) for m in metrics])
            .where(tuple_(lr.c.person_id, lr.c.year).in_(chunk))
            .group_by(lr.c.person_id, lr.c.year)
        ).tuples():
            learned.add((person_id, year))
            rows.extend(
                {"person_id": person_id, "year": year, "metric": key, "value": Decimal(str(value or 0))}
                for key, value in zip(keys, values, strict=True)
            )
    table = PersonMetric.__table__
    for start in range(0, len(rows), _ROWS):  # one statement below 5,000 values (4 bound values each)
        stmt = _insert(PersonMetric).values(rows[start : start + _ROWS])
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["person_id", "year", "metric"],
                set_={"value": stmt.excluded.value},
                where=table.c.value.is_distinct_from(stmt.excluded.value),
            )
        )
    # A person with records has a row per active metric (zeros too), so what may be left over is the rows of a
    # person whose records all went, and of metrics no active set uses any more. A row whose value the share counts
    # of the person's commune still hold (``counted``) keeps it, without a value, until that commune's evaluation
    # has taken it away (ADR 29).
    has_records = select(lr.c.id).where(lr.c.person_id == table.c.person_id, lr.c.year == table.c.year).exists()
    for start in range(0, len(pairs), engine._IN_LIST // 2):
        theirs = tuple_(table.c.person_id, table.c.year).in_(pairs[start : start + engine._IN_LIST // 2])
        db.session.execute(
            delete(PersonMetric).where(
                theirs, or_(table.c.metric.not_in(keys), and_(~has_records, table.c.counted.is_(None)))
            )
        )
    gone = [pair for pair in pairs if pair not in learned]  # left without records: values taken away
    for start in range(0, len(gone), engine._IN_LIST // 2):
        db.session.execute(
            update(PersonMetric)
            .where(
                tuple_(table.c.person_id, table.c.year).in_(gone[start : start + engine._IN_LIST // 2]),
                table.c.value.is_not(None),
            )
            .values(value=None)
            .execution_options(synchronize_session=False)
        )


def mark_subjects(marks: dict[tuple[int, int], set[tuple[str, int]]]) -> None:
    """Mark each ``(commune_id, year)`` for an evaluation of the named ``(subject_type, subject_id)`` — in the
    caller's transaction — and queue its task after the commit. The commune-year's mark stays partial only while no
    whole-commune mark is pending. Two statements whatever the number of marks."""
    marks = {pair: subjects for pair, subjects in marks.items() if subjects}
    if not marks:
        return
    now = utcnow()
    state = EvaluationState.__table__
    stmt = _insert(EvaluationState).values(
        [
            {"commune_id": c, "year": y, "marked_at": now, "sent_at": now, "summary": {}, "partial": True}
            for c, y in sorted(marks)
        ]
    )
    # The state row first: the same lock order as the evaluation (state row, then dirty subjects).
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["commune_id", "year"],
            set_={
                "marked_at": stmt.excluded.marked_at,
                "sent_at": stmt.excluded.sent_at,
                "partial": case((state.c.marked_at.is_(None), True), else_=state.c.partial),
            },
        )
    )
    rows = [
        {"commune_id": c, "year": y, "subject_type": subject_type, "subject_id": subject_id}
        for (c, y), subjects in sorted(marks.items())
        for subject_type, subject_id in sorted(subjects)
    ]
    for start in range(0, len(rows), 5_000):  # 4 bound values a row: well below SQLite's limit
        db.session.execute(_insert(EvaluationDirtySubject).values(rows[start : start + 5_000]).on_conflict_do_nothing())
    for commune_id, year in sorted(marks):
        enqueue_after_commit("titles.evaluate_commune", commune_id=commune_id, year=year)


def records_changed(pairs: set[tuple[int, int]], persons: set[tuple[int, int]]) -> None:
    """Learning records of ``persons`` (``(person_id, year)``) were written in this transaction, where ``pairs``
    (``(commune_id, year)``) are the communes whose evaluation reads them (where they live, their organisations'
    communes, and where they learned — ``dirty.home_pairs`` adds the first two): their metrics are refreshed and
    those communes are marked for these persons only."""
    by_year: dict[int, set[tuple[str, int]]] = defaultdict(set)
    for person_id, year in persons:
        by_year[year].add((SubjectType.PERSON.value, person_id))
    marks = {(c, y): by_year[y] for c, y in pairs if by_year.get(y)}
    # The marks first: the evaluation's lock order (the commune-year's state row, then the metrics it writes), so
    # a writer waits for a running evaluation before touching the metrics it reads and sets ``counted`` of.
    mark_subjects(marks)
    refresh_person_metrics(persons)


def pending(commune_id: int, year: int) -> dict[str, set[int]] | None:
    """The dirty subjects of a commune-year by type; None when there are too many for an incremental evaluation."""
    found: dict[str, set[int]] = defaultdict(set)
    rows = db.session.execute(
        select(EvaluationDirtySubject.subject_type, EvaluationDirtySubject.subject_id)
        .where(EvaluationDirtySubject.commune_id == commune_id, EvaluationDirtySubject.year == year)
        .limit(MAX_INCREMENTAL_SUBJECTS + 1)
    ).tuples()
    count = 0
    for subject_type, subject_id in rows:
        found[subject_type].add(subject_id)
        count += 1
    return None if count > MAX_INCREMENTAL_SUBJECTS else dict(found)


def clear(commune_id: int, year: int) -> None:
    """Forget the commune-year's dirty subjects: the evaluation holding its lock has seen them all."""
    db.session.execute(
        delete(EvaluationDirtySubject).where(
            EvaluationDirtySubject.commune_id == commune_id, EvaluationDirtySubject.year == year
        )
    )
