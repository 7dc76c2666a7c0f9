from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from sqlalchemy import select, update

from lms.celery import RETRY_POLICY
from lms.extensions import db, utcnow
from lms.registry.importer import RUN_TIMEOUT
from lms.registry.models import ImportJob, ImportStatus


@shared_task(
    name="lms.registry.run_import",
    **{**RETRY_POLICY, "max_retries": 3},  # a whole file each time: fewer attempts than the small tasks
)
def run_import(self, *, job_id: int) -> None:
    """Validate and apply one uploaded spreadsheet (all or nothing). Safe to run twice: a finished job is left
    alone, and re-applying a file upserts on natural keys."""
    from lms.registry.importer import execute_job

    execute_job(job_id, final_attempt=self.request.retries >= self.max_retries)


@shared_task(name="lms.registry.sweep_imports", ignore_result=True)
def sweep_imports() -> None:
    """Re-send jobs whose message was lost (pending for over a minute); fail jobs whose worker died mid-run.

    A job running for longer than RUN_TIMEOUT is not started again: if the file itself killed the worker (memory),
    running it again would kill the next one too.
    """
    now = utcnow()
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.status == ImportStatus.RUNNING, ImportJob.started_at < now - RUN_TIMEOUT)
        .values(
            status=ImportStatus.FAILED.value,
            finished_at=now,
            content=b"",
            message="the worker stopped while importing this file; upload it again, or split it",
        )
    )
    db.session.commit()
    lost = db.session.scalars(
        select(ImportJob.id).where(
            ImportJob.status == ImportStatus.PENDING, ImportJob.created_at < now - timedelta(minutes=1)
        )
    ).all()
    for job_id in lost:
        run_import.apply_async(kwargs={"job_id": job_id})
