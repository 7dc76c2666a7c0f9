"""An upload waits for its import job with ID numbers in clear: a job that never ran loses its file after
IMPORT_PENDING_MAX_AGE (the beat's import sweep)."""

from __future__ import annotations

from flask import current_app

from lms.extensions import db, utcnow
from lms.registry.models import ImportJob
from lms.registry.tasks import sweep_imports
from tests.conftest import unit_by_code

UPLOAD = "village_code,household_code,full_name,id_number\nX-1,H1,Y Hiên,062080000001\n".encode()


def _pending(age) -> ImportJob:
    job = ImportJob(
        kind="households",
        filename="h.csv",
        content=UPLOAD,
        unit_id=unit_by_code("23293").id,
        status="pending",
        created_at=utcnow() - age,
    )
    db.session.add(job)
    return job


def test_a_job_that_never_ran_loses_its_file(app_ctx):
    limit = current_app.config["IMPORT_PENDING_MAX_AGE"]
    stale = _pending(limit + limit / 10)
    fresh = _pending(limit * 0)
    db.session.commit()
    sweep_imports.delay()
    db.session.expire_all()
    stale, fresh = db.session.get_one(ImportJob, stale.id), db.session.get_one(ImportJob, fresh.id)
    assert (stale.status, stale.content) == ("failed", b"")
    assert "hãy tải tệp lên lại" in stale.message
    assert (fresh.status, fresh.content) == ("pending", UPLOAD)
