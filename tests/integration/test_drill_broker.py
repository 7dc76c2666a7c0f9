"""Drill: the broker is down while phones submit attendance and managers save the attendance page.

Every request commits its marks, then fails to publish the completion task. The client must still hear its
normal answer (the work is in the outbox), and once the broker is back the completion sweep does the work with
nobody touching anything. Before the fix, the publish error reached the idempotency wrapper, which rolled back
an already committed session, and the phone saw a bare 500.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from courses.models import Attendance, Certificate, LearningRecord
from lms.auth.models import User
from lms.extensions import db
from tests.conftest import CSRF_RE, login
from tests.integration.conftest import wait_for
from tests.integration.drills import drill_app, report, workers
from tests.integration.test_completion_worker import _cleanup, _pending, _request, _setup

LEARNERS, SESSIONS, BULK, PAGE_SAVES = 10, 5, 100, 20
SWEEP_SECONDS = 5  # the completion sweep's period and age in this drill (60 s by default)


def _bulk(made: dict[str, Any], session_index: int, minute: int, status: str) -> dict[str, Any]:
    at = made["starts"][session_index] - timedelta(hours=7) + timedelta(minutes=minute)  # local → UTC
    return {
        "device": "phone-drill",
        "marks": [
            {"client_mark_id": str(uuid.uuid4()), "person_id": p, "status": status, "recorded_at": at.isoformat() + "Z"}
            for p in made["person_ids"]
        ],
    }


def test_broker_down_requests_succeed_and_the_sweep_does_the_work_when_it_returns(
    app, live_app, database_url, own_redis, tmp_path
):
    drill = drill_app(app, database_url, own_redis.url)
    with drill.app_context():
        made = _setup(learners=LEARNERS, sessions=SESSIONS)
        class_id = made["class_id"]
        try:
            with workers(
                drill, database_url, own_redis.url, tmp_path, LMS_COMPLETIONS_SWEEP_SECONDS=str(SWEEP_SECONDS)
            ):
                web = drill.test_client()
                manager = db.session.get(User, made["user_id"])
                login(web, manager)
                own_redis.stop()

                answers = []
                for n in range(BULK):
                    session_index = n % SESSIONS
                    body = _bulk(made, session_index, minute=1 + n // SESSIONS, status=("absent", "late")[n % 2])
                    response = _request(
                        drill.test_client(),
                        "POST",
                        f"/api/v1/sessions/{made['session_ids'][session_index]}/attendance",
                        json=body,
                        headers={**made["headers"], "Idempotency-Key": str(uuid.uuid4())},
                    )
                    answers.append(response.status_code)
                # The page saves come after, so their marks (recorded now) win: absent, present, absent, present.
                for n in range(PAGE_SAVES):
                    session_id = made["session_ids"][n % SESSIONS]
                    url = f"/courses/sessions/{session_id}/attendance"
                    everyone = ("absent", "present")[(n // SESSIONS) % 2]
                    # In a context of its own, as the POST: the test's app context still holds (in ``g``) the
                    # token of the session before the log-in, which renewed the session.
                    page = _request(web, "GET", url).get_data(as_text=True)
                    match = CSRF_RE.search(page)
                    assert match, f"no CSRF token on {url}"
                    token = match.group(1) or match.group(2)
                    answers.append(
                        _request(web, "POST", url, data={"csrf_token": token, "everyone": everyone}).status_code
                    )

                failed = [a for a in answers if a >= 400]
                assert not failed, f"{len(failed)} of {len(answers)} requests failed: {sorted(set(failed))}"
                db.session.rollback()
                stored = db.session.execute(
                    select(Attendance.status, func.count())
                    .where(Attendance.session_id.in_(made["session_ids"]))
                    .group_by(Attendance.status)
                ).all()
                assert dict(stored) == {"present": LEARNERS * SESSIONS}  # every mark kept, each once
                assert _pending(class_id) == 1  # the completion is in the outbox, not done: the broker was down
                assert db.session.scalar(select(func.count()).where(LearningRecord.class_id == class_id)) == 0

                returned = time.monotonic()
                own_redis.start()

                def completed() -> bool:
                    records = db.session.scalar(select(func.count()).where(LearningRecord.class_id == class_id))
                    return records == LEARNERS and _pending(class_id) == 0

                wait_for(completed, seconds=60, what="the sweep to complete the class after the broker returned")
                recovered = time.monotonic() - returned
                records = db.session.scalar(select(func.count()).where(LearningRecord.class_id == class_id))
                certificates = db.session.scalar(select(func.count()).where(Certificate.class_id == class_id))
                assert certificates == LEARNERS
                report(
                    "broker-down",
                    requests=len(answers),
                    answered_2xx_3xx=len(answers) - len(failed),
                    marks_lost=LEARNERS * SESSIONS - sum(n for _, n in stored),
                    duplicated=records - LEARNERS,
                    stuck=_pending(class_id),
                    recover_seconds=round(recovered, 1),
                    sweep_seconds=SWEEP_SECONDS,
                )
        finally:
            _cleanup(made)
