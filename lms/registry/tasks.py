from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from sqlalchemy import select

from lms.extensions import db, utcnow
from lms.registry.importer import RUN_TIMEOUT
from lms.registry.models import ImportJob, ImportStatus


@shared_task(name="lms.registry.run_import", bind=True, acks_late=True, max_retries=3,
             autoretry_for=(ConnectionError,), retry_backoff=True, ignore_result=True)
def run_import(self, *, job_id: int) -> None:
    """Validate and apply one uploaded spreadsheet (all or nothing). Safe to run twice: a finished job is left
    alone, and re-applying a file upserts on natural keys."""
    from lms.registry.importer import execute_job

    execute_job(job_id)


@shared_task(name="lms.registry.sweep_imports", ignore_result=True)
def sweep_imports() -> None:
    """Re-send jobs whose message was lost (pending for over a minute) or whose worker died mid-run."""
    now = utcnow()
    stale = db.session.scalars(
        select(ImportJob.id).where(
            ((ImportJob.status == ImportStatus.PENDING) & (ImportJob.created_at < now - timedelta(minutes=1)))
            | ((ImportJob.status == ImportStatus.RUNNING) & (ImportJob.started_at < now - RUN_TIMEOUT))
        )
    ).all()
    for job_id in stale:
        run_import.apply_async(kwargs={"job_id": job_id})
