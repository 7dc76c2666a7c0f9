"""A spreadsheet import run by a real Celery worker stores its messages in its owner's language (ADR 22).

The worker has no request, so nothing there chooses a language: before, the job's summary came out in English
while every page around it is Vietnamese. Commits for real (the worker is another process) and deletes what it made.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, or_

from lms.auth.models import RoleAssignment, User
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry.importer import create_job
from lms.registry.models import ImportJob
from tests.conftest import make_user, unit_by_code
from tests.integration.conftest import wait_for

BAD_FILE = b"village_code,full_name\nNOWHERE,An\n"  # no household_code column: refused, nothing written


def test_the_worker_writes_the_summary_in_the_owners_language(live_app, worker):
    from lms.auth.models import Role

    tag = uuid.uuid4().hex[:6]
    with live_app.app_context():
        commune = unit_by_code("23293")
        owners = {
            None: make_user(Role.COMMUNE_LEADER, commune, f"import-worker-vi-{tag}@example.vn"),
            "en": make_user(Role.COMMUNE_LEADER, commune, f"import-worker-en-{tag}@example.vn"),
        }
        owners["en"].locale = "en"
        user_ids = [u.id for u in owners.values()]
        jobs = {
            language: create_job(kind="households", filename="h.csv", content=BAD_FILE, unit=commune, user=user).id
            for language, user in owners.items()
        }
        db.session.commit()  # sends the tasks to the broker, for the worker process
        try:
            wait_for(
                lambda: all(db.session.get_one(ImportJob, i).status == "failed" for i in jobs.values()),
                what="the imports",
            )
            vietnamese, english = (db.session.get_one(ImportJob, jobs[key]) for key in (None, "en"))
            assert vietnamese.message == "1 lỗi ở 1 dòng; chưa nhập gì"
            assert english.message == "1 error in 1 row; nothing was imported"
            assert vietnamese.errors[0]["message_vi"].startswith("dòng đầu tiên thiếu cột")
        finally:
            db.session.rollback()
            ids = [str(i) for i in jobs.values()]
            db.session.execute(
                delete(AuditEvent).where(
                    or_(
                        (AuditEvent.object_type == "import_job") & AuditEvent.object_id.in_(ids),
                        AuditEvent.user_id.in_(user_ids),
                    )
                )
            )
            db.session.execute(delete(ImportJob).where(ImportJob.id.in_(jobs.values())))
            db.session.execute(delete(RoleAssignment).where(RoleAssignment.user_id.in_(user_ids)))
            db.session.execute(delete(User).where(User.id.in_(user_ids)))
            db.session.commit()
