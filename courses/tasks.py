from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from celery import shared_task
from sqlalchemy import select, update

from courses import services
from courses.models import CourseClass, PendingWork
from lms import work
from lms.celery import RETRY_POLICY, TRANSIENT, enqueue_after_commit
from lms.core.clock import VN_OFFSET
from lms.core.models import Heartbeat
from lms.extensions import db, utcnow

log = logging.getLogger(__name__)

# When the completion sweep last looked for classes whose last session began (UTC).
LAST_SESSIONS_SEEN = "courses.last_sessions_seen"


@shared_task(
    name="courses.recompute_completions",
    **RETRY_POLICY,
)
def recompute_completions(self, *, class_id: int) -> None:
    """Recompute one class's completions, learning records and certificates. Idempotent; safe on many workers:
    the class row is locked (PostgreSQL) so two runs for one class take turns, and the second finds nothing to
    write. A failure that is not retried here counts an attempt on the class's mark (backoff, then parked: ADR 23).

    A change committed while it ran leaves the class marked, and may have sent no message of its own (this run's
    was sent recently: ``services.mark_dirty``): the run then sends itself again, after its commit (ADR 28)."""
    try:
        db.session.execute(select(CourseClass.id).where(CourseClass.id == class_id).with_for_update())
        marked_at = services.pending_marked_at(class_id)  # read before recomputing: what this run answers for
        services.recompute_class(class_id)
        if services.clear_pending(class_id, marked_at):
            enqueue_after_commit("courses.recompute_completions", class_id=class_id)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        if isinstance(exc, TRANSIENT) and self.request.retries < self.max_retries:
            raise  # autoretry_for: the declared backoff
        try:
            work.record_failure(PendingWork, services.pending_key(class_id), exc)
            # No message is on its way any more: the next change sends one at once (it may be the fix), and the
            # sweep waits for the backoff only (ADR 23), not for the re-send interval too.
            db.session.execute(update(PendingWork).where(services.pending_key(class_id)).values(sent_at=None))
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("courses: class %s: the failed attempt could not be recorded", class_id)
        raise


@shared_task(name="courses.sweep_completions", ignore_result=True)
def sweep_completions() -> None:
    """Re-send the classes still marked whose task was last sent ``COMPLETIONS_SWEEP_AGE`` ago or more: the message
    was lost (the broker was down when the request committed), the worker died, or the task failed (then after
    its backoff, ADR 23).

    First it marks the classes whose last session began since its previous pass: a class completes then, and
    nothing else may mark it (no roll call for the last session, or one taken before its start time)."""
    now = utcnow()
    seen = db.session.get(Heartbeat, LAST_SESSIONS_SEEN)
    local = now + VN_OFFSET
    since = seen.beat_at + VN_OFFSET if seen else datetime.combine(date(local.year, 1, 1), time.min)
    services.mark_ended_classes(since, local, now=now)
    if seen is None:
        db.session.add(
            Heartbeat(name=LAST_SESSIONS_SEEN, beat_at=now, detail="last class sessions begun up to this time")
        )
    else:
        seen.beat_at = now
    class_ids = services.take_pending(services.resend_before(now))
    db.session.commit()
    for class_id in class_ids:
        recompute_completions.apply_async(kwargs={"class_id": class_id})


@shared_task(name="courses.recompute_all_completions", ignore_result=True)
def recompute_all_completions(*, commune_id: int | None = None) -> int:
    """Queue a recomputation of every class (of one commune, or everywhere): after a rule change."""
    stmt = select(CourseClass.id)
    if commune_id is not None:
        stmt = stmt.where(CourseClass.commune_id == commune_id)
    class_ids = db.session.scalars(stmt).all()
    for class_id in class_ids:
        recompute_completions.apply_async(kwargs={"class_id": class_id})
    return len(class_ids)


@shared_task(name="courses.purge_idempotency_keys", ignore_result=True)
def purge_idempotency_keys() -> int:
    """Forget stored answers to ``Idempotency-Key`` requests after a week: devices retry within hours."""
    from lms.api import idempotency

    purged = idempotency.purge(utcnow() - timedelta(days=7))
    db.session.commit()
    return purged
