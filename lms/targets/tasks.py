"""Celery tasks of the targets pipeline: recompute one commune-year, roll a year up, and the sweep that finds the
communes whose titles changed since their values were computed (so values follow changes within a minute).

All are idempotent (they replace values from the current data) and acknowledged late: a worker lost mid-task
means the task runs again, which is safe.
"""

from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import IntegrityError

from lms.celery import RETRY_POLICY, TRANSIENT, enqueue_after_commit
from lms.extensions import db
from lms.targets import compute

CHUNK = 200  # communes per recomputation: each is a fixed number of statements, whatever its size
SWEEP_BATCH = 50  # communes per task sent by the sweep: several workers share a burst of changes
RETRY = {
    **RETRY_POLICY,
    # TRANSIENT: a lock timeout or a lost connection (ADR 23); IntegrityError: a concurrent run replaced the
    # same rows first (the retry recomputes from the data then committed).
    "autoretry_for": (*TRANSIENT, IntegrityError),
}


@shared_task(name="targets.recompute_commune", **RETRY)
def recompute_commune(self, *, commune_id: int, year: int) -> None:
    """Recount one commune's indicators for ``year`` (and what its lineage partners' values read), then queue the
    year's roll-up after the commit."""
    compute.recompute([commune_id], year)
    enqueue_after_commit(rollup, year=year)
    db.session.commit()


@shared_task(name="targets.recompute_communes", **RETRY)
def recompute_communes(self, *, commune_ids: list[int], year: int) -> None:
    """Recount several communes of one year at once: the statements are the same whatever their number, so the
    sweep sends the communes that changed together."""
    compute.recompute(commune_ids, year)
    enqueue_after_commit(rollup, year=year)
    db.session.commit()


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
    values were computed (and one a month for this year's communes, so each month has its row)."""
    pairs = compute.stale_pairs(limit)
    by_year: dict[int, list[int]] = {}
    for commune_id, year in pairs:
        by_year.setdefault(year, []).append(commune_id)
    for year, communes in sorted(by_year.items()):
        for start in range(0, len(communes), SWEEP_BATCH):
            enqueue_after_commit(recompute_communes, commune_ids=communes[start : start + SWEEP_BATCH], year=year)
    db.session.commit()
    return len(pairs)
