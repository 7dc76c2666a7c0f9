"""Poison work (ADR 23): the outbox marks that a task must act on — a commune-year's titles evaluation
(``EvaluationState``), a class's completions (``PendingWork``), a commune-year's plan indicators
(``TargetState``) — count their failed attempts.

A task whose work fails for good (an error that is not transient, or a transient one that outlived its retries)
records the failure on its mark: one more attempt, the error, and the earliest time the sweep may send it again,
``WORK_RETRY_BASE × 2^(attempts − 1)`` later. After ``WORK_MAX_ATTEMPTS`` the mark is **parked**: the sweeps leave
it alone (so it neither loops nor holds back other communes' work), ``/healthz`` says ``degraded``, and it is
listed on the stuck-work page until someone retries it (button or ``flask --app lms work retry``). Success clears
all of it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Optional

from flask import current_app
from sqlalchemy import Text, false, func, or_, select, true, update
from sqlalchemy.orm import Mapped, mapped_column

from lms.extensions import db, utcnow

MAX_BACKOFF = timedelta(days=1)


class Attempts:
    """Columns of a mark that a task may fail on (mixed into the mark's model)."""

    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    next_try_at: Mapped[Optional[datetime]]  # the sweep does not send the mark again before this
    parked_at: Mapped[Optional[datetime]] = mapped_column(index=True)  # gave up: waits for a person

    @classmethod
    def due(cls, now: datetime) -> Any:
        """The condition a sweep adds: not parked, and its backoff has passed."""
        return (cls.parked_at.is_(None)) & ((cls.next_try_at.is_(None)) | (cls.next_try_at <= now))


CLEARED: dict[str, Any] = {"attempts": 0, "last_error": "", "next_try_at": None, "parked_at": None}


def backoff(attempts: int) -> timedelta:
    base: timedelta = current_app.config["WORK_RETRY_BASE"]
    return min(base * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def record_failure(model: type[Attempts], where: Any, exc: BaseException) -> int | None:
    """Count a failed attempt on the mark(s) matching ``where``, in the caller's transaction; park at the limit.
    Returns the attempts now counted (None: no such mark, e.g. it was cleared meanwhile)."""
    attempts = db.session.scalar(select(func.max(model.attempts)).where(where))
    if attempts is None:
        return None
    attempts += 1
    now = utcnow()
    parked = attempts >= current_app.config["WORK_MAX_ATTEMPTS"]
    db.session.execute(
        update(model)
        .where(where)
        .values(
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_try_at=None if parked else now + backoff(attempts),
            parked_at=now if parked else None,
        )
    )
    return attempts


def parked_count() -> int:
    """Marks parked as failed, all kinds together (for ``/healthz``)."""
    from courses.models import PendingWork
    from lms.targets.models import TargetState
    from lms.titles.models import EvaluationState

    return sum(
        db.session.scalar(select(func.count()).select_from(model).where(model.parked_at.is_not(None))) or 0
        for model in (EvaluationState, PendingWork, TargetState)
    )


# --- the stuck-work page and command ------------------------------------------------------------------------------

TITLES, COMPLETIONS, TARGETS = "titles", "completions", "targets"


def parked(paths: list[str] | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Every parked mark under the units ``paths`` (None: everywhere), oldest first: what it is, where, how often
    it failed and the last error."""
    from courses.models import CourseClass, PendingWork
    from courses.services import COMPLETION_WORK
    from lms.registry.models import AdminUnit, subtree
    from lms.titles.models import EvaluationState

    within = true() if paths is None else or_(false(), *(subtree(AdminUnit.path, path) for path in paths))
    items: list[dict[str, Any]] = []
    es = EvaluationState
    for state, name in db.session.execute(
        select(es, AdminUnit.name)
        .join(AdminUnit, AdminUnit.id == es.commune_id)
        .where(es.parked_at.is_not(None), within)
        .order_by(es.parked_at)
        .limit(limit)
    ).tuples():
        items.append(_item(TITLES, f"{TITLES}:{state.commune_id}:{state.year}", f"{name} ({state.year})", state))
    from lms.targets.models import TargetState

    for target, name in db.session.execute(
        select(TargetState, AdminUnit.name)
        .join(AdminUnit, AdminUnit.id == TargetState.commune_id)
        .where(TargetState.parked_at.is_not(None), within)
        .order_by(TargetState.parked_at)
        .limit(limit)
    ).tuples():
        items.append(_item(TARGETS, f"{TARGETS}:{target.commune_id}:{target.year}", f"{name} ({target.year})", target))
    for pending, name in db.session.execute(
        select(PendingWork, CourseClass.name)
        .outerjoin(CourseClass, CourseClass.id == PendingWork.subject_id)
        .outerjoin(AdminUnit, AdminUnit.id == CourseClass.commune_id)
        .where(PendingWork.kind == COMPLETION_WORK, PendingWork.parked_at.is_not(None), within)
        .order_by(PendingWork.parked_at)
        .limit(limit)
    ).tuples():
        label = name or f"#{pending.subject_id}"
        items.append(_item(COMPLETIONS, f"{COMPLETIONS}:{pending.subject_id}", label, pending))
    return items


def _item(kind: str, key: str, label: str, mark: Attempts) -> dict[str, Any]:
    return {
        "kind": kind,
        "key": key,
        "label": label,
        "attempts": mark.attempts,
        "last_error": mark.last_error,
        "parked_at": mark.parked_at,
    }


def retry(keys: list[str] | None = None, paths: list[str] | None = None) -> int:
    """Un-park the given marks (``titles:<commune>:<year>``, ``completions:<class>``; None: every parked one) under
    the units ``paths`` (None: everywhere) and send their tasks after the caller commits. Returns how many marks
    were un-parked."""
    from courses.models import PendingWork
    from courses.services import COMPLETION_WORK
    from lms.celery import enqueue_after_commit
    from lms.titles.models import EvaluationState

    wanted = [item for item in parked(paths, limit=100_000) if keys is None or item["key"] in keys]
    now = utcnow()
    for item in wanted:
        parts = item["key"].split(":")
        if item["kind"] == TITLES:
            commune_id, year = int(parts[1]), int(parts[2])
            key = (EvaluationState.commune_id == commune_id) & (EvaluationState.year == year)
            db.session.execute(
                update(EvaluationState)
                .where(key)
                .values(marked_at=func.coalesce(EvaluationState.marked_at, now), sent_at=now, **CLEARED)
            )
            enqueue_after_commit("titles.evaluate_commune", commune_id=commune_id, year=year)
        elif item["kind"] == TARGETS:
            from lms.targets.models import TargetState

            commune_id, year = int(parts[1]), int(parts[2])
            db.session.execute(
                update(TargetState)
                .where(TargetState.commune_id == commune_id, TargetState.year == year)
                .values(**CLEARED)
            )
            enqueue_after_commit("targets.recompute_commune", commune_id=commune_id, year=year)
        else:
            class_id = int(parts[1])
            db.session.execute(
                update(PendingWork)
                .where(PendingWork.kind == COMPLETION_WORK, PendingWork.subject_id == class_id)
                .values(sent_at=now, **CLEARED)
            )
            enqueue_after_commit("courses.recompute_completions", class_id=class_id)
    return len(wanted)
