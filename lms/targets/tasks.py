"""Celery tasks of the targets pipeline: recompute one commune-year, roll a year up, and the sweep that finds the
communes whose titles changed since their values were computed (so values follow changes within a minute).

All are idempotent (they replace values from the current data) and acknowledged late: a worker lost mid-task
means the task runs again, which is safe.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta

from celery import shared_task
from sqlalchemy.exc import IntegrityError

from lms import work
from lms.celery import RETRY_POLICY, TRANSIENT, enqueue_after_commit
from lms.core.clock import VN_OFFSET
from lms.core.models import Heartbeat
from lms.extensions import db, utcnow
from lms.targets import compute

log = logging.getLogger(__name__)
CHUNK = 200  # communes per recomputation: each is a fixed number of statements, whatever its size
SWEEP_BATCH = 50  # communes per task sent by the sweep: several workers share a burst of changes
# The sweep sends a commune-year at most this often (as the titles sweep does): a recomputation merely waiting in a
# long queue is not sent again every 30 s. Its success clears the stamp; a failure replaces it with its backoff.
RESEND_AGE = timedelta(minutes=1)
# The targets sweep's mark: class sessions begun up to this time (UTC) have made their commune-years stale.
SESSIONS_SEEN = "targets.sessions_seen"
RETRIED = (*TRANSIENT, IntegrityError)
RETRY = {
    **RETRY_POLICY,
    # TRANSIENT: a lock timeout or a lost connection (ADR 23); IntegrityError: a concurrent run replaced the
    # same rows first (the retry recomputes from the data then committed).
    "autoretry_for": RETRIED,
}


@shared_task(name="targets.recompute_commune", **RETRY)
def recompute_commune(self, *, commune_id: int, year: int) -> None:
    """Recount one commune's indicators for ``year`` (and what its lineage partners' values read), then queue the
    year's roll-up after the commit. A failure that is not retried counts an attempt on the commune-year (backoff,
    then parked: ADR 23)."""
    try:
        compute.recompute([commune_id], year)
        enqueue_after_commit(rollup, year=year)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        if isinstance(exc, RETRIED) and self.request.retries < self.max_retries:
            raise
        _count_attempt(commune_id, year, exc)
        raise


@shared_task(name="targets.recompute_communes", **RETRY)
def recompute_communes(self, *, commune_ids: list[int], year: int) -> None:
    """Recount several communes of one year at once: the statements are the same whatever their number, so the
    sweep sends the communes that changed together. If the batch fails for good, each commune is sent on its own,
    so that one bad commune holds back none of the others and is the only one to count attempts."""
    try:
        compute.recompute(commune_ids, year)
        enqueue_after_commit(rollup, year=year)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        if isinstance(exc, RETRIED) and self.request.retries < self.max_retries:
            raise
        if len(commune_ids) == 1:
            _count_attempt(commune_ids[0], year, exc)
            raise
        log.warning("targets: a batch of %s communes failed (%s); sending them one by one", len(commune_ids), exc)
        for commune_id in commune_ids:
            recompute_commune.apply_async(kwargs={"commune_id": commune_id, "year": year})


def _stamp_sent(pairs: list[tuple[int, int]]) -> None:
    """Hold the sweep off these commune-years for ``RESEND_AGE`` (their ``next_try_at``; one upsert for all)."""
    from sqlalchemy.dialects import postgresql, sqlite

    from lms.targets.models import TargetState

    if not pairs:
        return
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    until = utcnow() + RESEND_AGE
    insert = dialect.insert(TargetState).values([{"commune_id": c, "year": y, "next_try_at": until} for c, y in pairs])
    db.session.execute(
        insert.on_conflict_do_update(
            index_elements=[TargetState.commune_id, TargetState.year], set_={"next_try_at": insert.excluded.next_try_at}
        )
    )


def _count_attempt(commune_id: int, year: int, exc: BaseException) -> None:
    from sqlalchemy.dialects import postgresql, sqlite

    from lms.targets.models import TargetState

    try:
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        db.session.execute(
            dialect.insert(TargetState).values(commune_id=commune_id, year=year).on_conflict_do_nothing()
        )
        key = (TargetState.commune_id == commune_id) & (TargetState.year == year)
        attempts = work.record_failure(TargetState, key, exc)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("targets: commune %s, %s: the failed attempt could not be recorded", commune_id, year)
        return
    log.error("targets: commune %s, %s: attempt %s failed: %s: %s", commune_id, year, attempts, type(exc).__name__, exc)


@shared_task(name="targets.recompute_unit", **RETRY)
def recompute_unit(self, *, unit_id: int, year: int) -> None:
    """Recount every commune under a unit (a province: a few hundred statements in all), committing per chunk, then
    roll up. Asked for by an administrator after loading a plan, or through the API."""
    from lms.registry.models import AdminUnit

    unit = db.session.get(AdminUnit, unit_id)
    if unit is None:
        return
    communes = compute.communes_under(unit)
    for start in range(0, len(communes), CHUNK):
        compute.recompute(communes[start : start + CHUNK], year)
        db.session.commit()
    compute.rollup_if_needed(year)
    db.session.commit()


@shared_task(name="targets.rollup", **RETRY)
def rollup(self, *, year: int) -> None:
    """Sum communes into districts, provinces and the country for ``year`` — unless no commune changed since the
    last roll-up (many communes queue one each; the first does the work)."""
    compute.rollup_if_needed(year)
    db.session.commit()


@shared_task(name="targets.sweep", **RETRY)
def sweep(self, *, limit: int = 500) -> int:
    """Beat-driven: queue recomputations (in batches per year) for every commune-year whose titles changed after its
    values were computed (and one a month for this year's communes, so each month has its row). A commune-year is
    sent at most once per ``RESEND_AGE``, however long its recomputation waits in the queue.

    Also the commune-years whose class sessions began since the last sweep (ADR 7: an officer organises CLC activities
    only once a session has begun, a moment no write marks). The heartbeat ``SESSIONS_SEEN`` keeps when that was; it
    moves only when the sweep took every stale pair (fewer than ``limit``), so a burst spills into the next sweep
    instead of being lost."""
    now = utcnow()
    seen = db.session.get(Heartbeat, SESSIONS_SEEN)
    since = (seen.beat_at + VN_OFFSET) if seen else datetime.combine(date((now + VN_OFFSET).year, 1, 1), time.min)
    pairs = compute.stale_pairs(limit, sessions_begun=(since, now + VN_OFFSET))
    if len(pairs) < limit:
        if seen is None:
            db.session.add(Heartbeat(name=SESSIONS_SEEN, beat_at=now, detail="class sessions begun up to this time"))
        else:
            seen.beat_at = now
    _stamp_sent(pairs)
    by_year: dict[int, list[int]] = {}
    for commune_id, year in pairs:
        by_year.setdefault(year, []).append(commune_id)
    for year, communes in sorted(by_year.items()):
        for start in range(0, len(communes), SWEEP_BATCH):
            enqueue_after_commit(recompute_communes, commune_ids=communes[start : start + SWEEP_BATCH], year=year)
    db.session.commit()
    return len(pairs)
