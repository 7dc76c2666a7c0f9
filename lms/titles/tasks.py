"""Celery tasks of the titles pipeline. (Scaffold: the orchestration — province chords, progress, sweep,
reconciliation — is being built on branch wt-runs.)"""

from __future__ import annotations

from celery import shared_task
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from lms.extensions import db, utcnow
from lms.titles import engine
from lms.titles.models import EvaluationState


@shared_task(name="titles.evaluate_commune", bind=True, acks_late=True, max_retries=5,
             autoretry_for=(OperationalError,), retry_backoff=True, ignore_result=True)
def evaluate_commune(self, *, commune_id: int, year: int) -> None:
    """Evaluate every title of one commune and year. The state row is locked (PostgreSQL) so two runs of one
    commune-year take turns; the mark is cleared unless it was set again while the evaluation ran."""
    started = utcnow()
    db.session.execute(select(EvaluationState.commune_id).where(
        EvaluationState.commune_id == commune_id, EvaluationState.year == year).with_for_update())
    summary = engine.evaluate_commune(commune_id, year)
    db.session.execute(update(EvaluationState).where(
        EvaluationState.commune_id == commune_id, EvaluationState.year == year,
        EvaluationState.marked_at <= started).values(marked_at=None))
    db.session.execute(update(EvaluationState).where(
        EvaluationState.commune_id == commune_id, EvaluationState.year == year).values(
        evaluated_at=utcnow(), summary=summary))
    db.session.commit()
