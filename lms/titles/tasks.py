"""Celery tasks of the titles pipeline (ADR 9).

* ``titles.evaluate_commune`` — one commune-year, because something marked it (the outbox in ``dirty.py``);
* ``titles.launch_run`` → ``chord(group(titles.evaluate_commune_in_run …), titles.finish_run)`` — a whole scope;
* ``titles.sweep`` — every 15 s: re-sends marks older than 20 s, closes or resumes runs whose messages were lost,
  re-sends or fails decision prints whose message was lost;
* ``titles.reconcile`` — nightly: re-evaluates every commune-year of the year and reports drift.

All take ids and plain values, are idempotent and acknowledged late; the work itself is in ``runs.py``.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import chord, current_app, group, shared_task
from celery.backends.base import DisabledBackend
from flask import current_app as flask_app
from sqlalchemy import update

from config import TITLES_SWEEP_SECONDS
from lms import work
from lms.celery import RETRY_POLICY, TRANSIENT, retry_countdown
from lms.extensions import db, utcnow
from lms.titles import dirty, printing, runs
from lms.titles.models import EvaluationRun, EvaluationState

log = logging.getLogger(__name__)
SWEEP_AGE = timedelta(seconds=20)  # a mark older than this lost its message (the task runs within a second)
RESEND_AGE = timedelta(minutes=1)  # a mark's task is sent again at most this often (it may just be queued)


@shared_task(
    name="titles.evaluate_commune",
    **RETRY_POLICY,
)
def evaluate_commune(self, *, commune_id: int, year: int) -> None:
    """Evaluate one commune and year because it was marked. Waits for the commune-year's lock; skips if the mark
    was cleared meanwhile by an evaluation that saw every marked change. A failure that is not retried here counts
    an attempt on the mark (backoff, then parked: ADR 23)."""
    try:
        runs.evaluate_locked(commune_id, year, force=False)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        if isinstance(exc, TRANSIENT) and self.request.retries < self.max_retries:
            raise  # autoretry_for: the declared backoff
        _count_attempt(commune_id, year, exc)
        raise


def _count_attempt(commune_id: int, year: int, exc: BaseException) -> None:
    key = (EvaluationState.commune_id == commune_id) & (EvaluationState.year == year)
    try:
        attempts = work.record_failure(EvaluationState, key, exc)
        # From now on the backoff decides when the sweep sends it again, not the re-send throttle.
        db.session.execute(update(EvaluationState).where(key).values(sent_at=None))
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("titles: commune %s, %s: the failed attempt could not be recorded", commune_id, year)
        return
    log.error("titles: commune %s, %s: attempt %s failed: %s: %s", commune_id, year, attempts, type(exc).__name__, exc)


@shared_task(
    name="titles.mark_communes",
    **RETRY_POLICY,
)
def mark_communes(self, *, pairs: list[list[int]]) -> None:
    """Mark commune-years for evaluation (their evaluation reads results another commune's evaluation changed)."""
    dirty.mark_dirty((commune_id, year) for commune_id, year in pairs)
    db.session.commit()


@shared_task(
    name="titles.launch_run",
    **RETRY_POLICY,
)
def launch_run(self, *, run_id: int) -> None:
    """Count the run's communes and send one task each, followed by the roll-up. A second delivery finds the run
    no longer queued and sends nothing."""
    launched = runs.launch(run_id)
    db.session.commit()
    if launched is None:
        return
    _, communes = launched
    if not communes:
        runs.close_if_complete(run_id)
        db.session.commit()
        return
    send_communes(run_id, communes)


def send_communes(run_id: int, communes: list[int]) -> None:
    """A chord when the app has a result backend (the chord counts the results there); otherwise a plain group, in
    which the commune task that finishes last closes the run. Both end in ``runs.close_if_complete``."""
    header = [evaluate_commune_in_run.si(run_id=run_id, commune_id=commune_id) for commune_id in communes]
    if isinstance(current_app.backend, DisabledBackend):
        group(header).apply_async()
    else:
        chord(header)(finish_run.si(run_id=run_id))


@shared_task(name="titles.evaluate_commune_in_run", **{**RETRY_POLICY, "ignore_result": False})  # a chord counts
def evaluate_commune_in_run(self, *, run_id: int, commune_id: int) -> bool:
    """Evaluate one commune of a run and count it, once. A transient error (the database or the broker away) is
    retried with the declared backoff (ADR 23); one that outlives the retries, or any other, is counted as a failed
    commune with its message, so the run still closes and says what failed. Returns whether this delivery counted
    the commune."""
    try:
        # Inside the try: with the database away, even reading the run must end in a retry, not a lost commune.
        run = db.session.get(EvaluationRun, run_id)
        if run is None or runs.already_recorded(run_id, commune_id):
            db.session.rollback()
            return False
        outcome = runs.evaluate_locked(commune_id, run.year, force=True, verify=run.kind == runs.RECONCILE)
        counted = runs.record(run_id, commune_id, outcome)
        db.session.commit()
        runs.analyze_after(outcome)  # a first evaluation wrote many rows: fresh statistics for the next communes
    except TRANSIENT as exc:
        db.session.rollback()
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc
        counted = _count_failure(run_id, commune_id, exc)
    except Exception as exc:  # noqa: BLE001 - any error of one commune must not stop the run; logged in full
        db.session.rollback()
        counted = _count_failure(run_id, commune_id, exc)
    try:
        runs.close_if_complete(run_id)
        db.session.commit()
    except TRANSIENT:
        db.session.rollback()  # the commune is counted; the sweep closes a complete run (runs.close_stale)
        log.warning("titles: run %s not closed now (database away); the sweep will close it", run_id)
    return counted


def _count_failure(run_id: int, commune_id: int, exc: BaseException) -> bool:
    """Count the commune as failed with its error. Never raises: if even that cannot be written (the database is
    still away), the commune stays uncounted and the sweep's stall rule sends it again."""
    log.error("titles: run %s, commune %s failed", run_id, commune_id, exc_info=exc)
    try:
        counted = runs.record(run_id, commune_id, None, error=f"{type(exc).__name__}: {exc}")
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception(
            "titles: run %s, commune %s: the failure could not be recorded; left to the stall rule", run_id, commune_id
        )
        return False
    return counted


@shared_task(
    name="titles.finish_run",
    **RETRY_POLICY,
)
def finish_run(self, *, run_id: int) -> None:
    """The chord's roll-up: close the run with its summary (a no-op if a commune task already did)."""
    runs.close_if_complete(run_id)
    db.session.commit()


@shared_task(name="titles.sweep", ignore_result=True)
def sweep() -> int:
    """Re-send marked commune-years whose task did not run within ``SWEEP_AGE`` (each at most once per
    ``RESEND_AGE``); close runs whose roll-up was lost; launch runs whose launch was lost (the broker was down
    when they were started); re-send the missing communes of runs that made no progress for the setting
    ``TITLES_STALL_AGE`` (a killed worker's commune); re-send or fail decision prints whose message was lost, and
    delete long-replaced ones (``printing.sweep``, ADR 47). Returns marks re-sent."""
    now = utcnow()
    marked = dirty.due_for_resend(now - SWEEP_AGE, now - RESEND_AGE)
    closed = runs.close_stale()
    stalled = runs.stalled(utcnow() - flask_app.config["TITLES_STALL_AGE"])
    unlaunched = runs.queued_before(now - SWEEP_AGE)
    prints = printing.sweep(period=timedelta(seconds=TITLES_SWEEP_SECONDS))
    db.session.commit()
    for print_id in prints:
        print_decision.apply_async(kwargs={"print_id": print_id})
    for run_id in unlaunched:
        launch_run.apply_async(kwargs={"run_id": run_id})
    for commune_id, year in marked:
        evaluate_commune.apply_async(kwargs={"commune_id": commune_id, "year": year})
    for run_id, communes in stalled:
        log.warning("titles: run %s stalled, re-sending %s communes", run_id, len(communes))
        group(evaluate_commune_in_run.si(run_id=run_id, commune_id=c) for c in communes).apply_async()
    if marked or closed:
        log.info("titles: sweep re-sent %s marks, closed %s runs", len(marked), closed)
    return len(marked)


@shared_task(
    name="titles.reconcile",
    **RETRY_POLICY,
)
def reconcile(self, *, year: int | None = None) -> list[int]:
    """Nightly: a reconciliation run per year (the current one; the previous one too until the end of March)."""
    started = runs.start_reconciliation(year)
    db.session.commit()
    return [run.id for run in started]


@shared_task(
    name="titles.print_decision",
    **{**RETRY_POLICY, "max_retries": 3},  # a whole decision each time: fewer attempts than the small tasks
)
def print_decision(self, *, print_id: int) -> None:
    """Draw a decision's list and certificates into its print (ADR 47). Safe to run twice: a print already running
    or finished is left alone."""
    printing.execute(print_id, final_attempt=self.request.retries >= self.max_retries)
