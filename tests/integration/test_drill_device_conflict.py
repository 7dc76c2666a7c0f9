"""Drill: two phones mark the same session's learners at the same moment and disagree, each retrying its upload.

Phone A and phone B each upload every learner of every session, at the same instant (one thread each), then retry:
once with the same ``Idempotency-Key`` (the answer was lost) and once with a new key but the same mark ids (the key
had expired). A third of the learners they agree on; for the others one phone's mark is later and must win
whichever upload reaches the database first. Nothing may be lost or stored twice, each disagreement must be kept
in the audit once with both values (``attendance.conflict`` when the losing mark arrives second,
``attendance.overwrite`` when it was stored first) and listed on the session page, and the worker must complete
the class from the winning marks only, once.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from courses.models import Attendance, Certificate, LearningRecord
from courses.services import ATTENDANCE_CONFLICT, ATTENDANCE_OVERWRITE
from lms.auth.models import User
from lms.core.models import AuditEvent
from lms.extensions import db
from tests.conftest import login
from tests.integration.conftest import wait_for
from tests.integration.drills import drill_app, report, workers
from tests.integration.test_completion_worker import _cleanup, _pending, _request, _setup

LEARNERS, SESSIONS = 12, 3


def _plan(index: int) -> tuple[tuple[str, int], tuple[str, int], str]:
    """Phone A's and phone B's (status, minute into the session) for the learner at ``index``, and the winner."""
    if index % 3 == 0:
        return ("present", 5), ("present", 6), "present"  # they agree: no conflict
    if index % 3 == 1:
        return ("present", 5), ("absent", 9), "absent"  # B's is later
    return ("late", 12), ("absent", 7), "late"  # A's is later


def _upload(made: dict[str, Any], session_index: int, phone: int) -> dict[str, Any]:
    start = made["starts"][session_index] - timedelta(hours=7)  # local → UTC
    marks = []
    for index, person_id in enumerate(made["person_ids"]):
        status, minute = _plan(index)[phone]
        at = start + timedelta(minutes=minute)
        marks.append(
            {
                "client_mark_id": f"{'AB'[phone]}-{session_index}-{person_id}",
                "person_id": person_id,
                "status": status,
                "recorded_at": at.isoformat() + "Z",
            }
        )
    return {"device": f"phone-{'AB'[phone]}", "marks": marks}


def test_two_phones_disagreeing_at_once_lose_nothing_audit_each_conflict_once_and_complete_once(
    app, database_url, drill_broker, tmp_path
):
    drill = drill_app(app, database_url, drill_broker)
    with drill.app_context():
        made = _setup(learners=LEARNERS, sessions=SESSIONS)
        class_id, session_ids = made["class_id"], made["session_ids"]
        disagreeing = sum(1 for i in range(LEARNERS) if i % 3)
        try:
            with workers(drill, database_url, drill_broker, tmp_path):
                answers: list[Any] = []
                lock = threading.Lock()

                def phone(index: int, headers: dict[str, str]) -> None:
                    client = drill.test_client()
                    for session_index, session_id in enumerate(session_ids):
                        url = f"/api/v1/sessions/{session_id}/attendance"
                        body, key = _upload(made, session_index, index), str(uuid.uuid4())
                        barrier.wait()  # both phones upload this session at the same moment
                        for retry_key in (key, key, str(uuid.uuid4())):  # sent, answer lost, key expired
                            try:
                                code = _request(
                                    client, "POST", url, json=body, headers={**headers, "Idempotency-Key": retry_key}
                                ).status_code
                            except Exception as exc:  # noqa: BLE001 - the testing app propagates the view's error
                                code = repr(exc)[:300]
                            with lock:
                                answers.append(code)

                barrier = threading.Barrier(2)
                db.session.rollback()  # nothing of the test's session may hold the database while they run
                sent = time.monotonic()
                threads = [
                    threading.Thread(target=phone, args=(0, made["headers"])),
                    threading.Thread(target=phone, args=(1, made["second_headers"])),
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(120)
                assert answers == [200] * (2 * 3 * SESSIONS), answers

                db.session.rollback()
                stored = db.session.execute(
                    select(Attendance.session_id, Attendance.person_id, Attendance.status).where(
                        Attendance.session_id.in_(session_ids)
                    )
                ).all()
                expected = {
                    (session_id, person_id): _plan(index)[2]
                    for session_id in session_ids
                    for index, person_id in enumerate(made["person_ids"])
                }
                assert len(stored) == len(expected)  # one row per learner and session: nothing lost or doubled
                assert {(s, p): status for s, p, status in stored} == expected  # the later mark won, every time

                events = db.session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.object_type == "class_session",
                        AuditEvent.object_id.in_([str(s) for s in session_ids]),
                        AuditEvent.action.in_([ATTENDANCE_CONFLICT, ATTENDANCE_OVERWRITE]),
                    )
                ).all()
                # Exactly one event per disagreement, whichever phone came first, and none for the retries.
                assert len(events) == disagreeing * SESSIONS, [(e.action, e.details) for e in events]
                for event in events:
                    values = {event.details.get(k) for k in ("kept_status", "lost_status", "old_status", "new_status")}
                    devices = {event.details.get(k) for k in ("kept_device", "lost_device", "old_device", "new_device")}
                    assert len(values - {None}) == 2
                    assert devices - {None} == {"phone-A", "phone-B"}

                manager = db.session.get(User, made["user_id"])
                web = drill.test_client()
                login(web, manager)
                shown = []
                for session_id in session_ids:
                    page = _request(web, "GET", f"/courses/sessions/{session_id}").get_data(as_text=True)
                    section = re.search(r'id="mark-conflicts".*?</ul>', page, re.S)
                    assert section, f"session {session_id}: no conflicts listed"
                    shown.append(section.group(0).count("<li>"))
                    assert "phone-A" in section.group(0)
                    assert "phone-B" in section.group(0)
                assert shown == [disagreeing] * SESSIONS

                attended = {
                    person_id for index, person_id in enumerate(made["person_ids"]) if _plan(index)[2] != "absent"
                }

                def completed() -> bool:
                    records = db.session.scalar(select(func.count()).where(LearningRecord.class_id == class_id))
                    return records == len(attended) and _pending(class_id) == 0

                wait_for(completed, seconds=60, what="the worker to complete the class from the winning marks")
                done_in = time.monotonic() - sent
                completed_by = db.session.scalars(
                    select(LearningRecord.person_id).where(LearningRecord.class_id == class_id)
                ).all()
                certificates = db.session.scalar(select(func.count()).where(Certificate.class_id == class_id))
                assert sorted(completed_by) == sorted(attended)  # once each, and only the learners who attended
                assert certificates == len(attended)
                report(
                    "device-conflict",
                    requests=len(answers),
                    marks_sent=2 * 3 * LEARNERS * SESSIONS,
                    stored=len(stored),
                    lost=len(expected) - len(stored),
                    conflicts=disagreeing * SESSIONS,
                    conflicts_audited=len(events),
                    conflicts_shown=sum(shown),
                    completed=len(completed_by),
                    duplicated=len(completed_by) - len(set(completed_by)),
                    complete_seconds=round(done_in, 1),
                )
        finally:
            _cleanup(made)
