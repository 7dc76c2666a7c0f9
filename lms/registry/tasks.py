from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, cast, func, null, or_, select, update

from lms.celery import RETRY_POLICY
from lms.extensions import db, utcnow
from lms.registry.importer import PREVIEW_TIMEOUT, RUN_TIMEOUT, in_owners_language
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
    """Re-send jobs whose message was lost (pending for over a minute); fail jobs whose worker died mid-run, and
    jobs that never ran within IMPORT_PENDING_MAX_AGE (their file is deleted), and previews left unconfirmed (their
    file is dropped).

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
            message=in_owners_language(
                _l("the worker stopped while importing this file; upload it again, or split it")
            ),
        )
    )
    # A job that never ran (no worker, or its messages kept being lost) would keep its upload, with ID numbers in
    # clear, for ever: after IMPORT_PENDING_MAX_AGE the file is deleted and the job failed.
    db.session.execute(
        update(ImportJob)
        .where(
            ImportJob.status == ImportStatus.PENDING,
            ImportJob.created_at < now - current_app.config["IMPORT_PENDING_MAX_AGE"],
        )
        .values(
            status=ImportStatus.FAILED.value,
            finished_at=now,
            content=b"",
            message=in_owners_language(
                _l("this file waited too long for a worker and was deleted unread; upload it again")
            ),
        )
    )
    # A preview nobody confirmed keeps the file, with ID numbers in clear, only for PREVIEW_TIMEOUT.
    db.session.execute(
        update(ImportJob)
        .where(ImportJob.status == ImportStatus.PREVIEWED, ImportJob.finished_at < now - PREVIEW_TIMEOUT)
        .values(
            status=ImportStatus.FAILED.value,
            content=b"",
            message=in_owners_language(
                _l("the preview was not confirmed in time; nothing was imported: upload the file again")
            ),
        )
    )
    # What finished jobs showed names people (the preview's rows, the refused cells): cleared once it is old (the
    # file itself went when the job finished). Only rows still holding some, so the sweep rewrites nothing twice.
    db.session.execute(
        update(ImportJob)
        .where(
            ImportJob.finished_at < now - current_app.config["IMPORT_DETAILS_KEPT"],
            ImportJob.status != ImportStatus.PREVIEWED,
            or_(ImportJob.preview.is_not(None), func.coalesce(cast(ImportJob.errors, Text), "[]") != "[]"),
        )
        .values(preview=null(), errors=[])
    )
    db.session.commit()
    lost = db.session.scalars(
        select(ImportJob.id).where(
            ImportJob.status == ImportStatus.PENDING, ImportJob.created_at < now - timedelta(minutes=1)
        )
    ).all()
    for job_id in lost:
        run_import.apply_async(kwargs={"job_id": job_id})
