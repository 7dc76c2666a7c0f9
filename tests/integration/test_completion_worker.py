"""Attendance in through the live app's API, completion out of a real Celery worker.

These tests commit for real (the worker is another process), on a commune no other test uses, and delete what
they made, in foreign-key order, whatever the outcome.
"""

from __future__ import annotations

import contextvars
import threading
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select

from courses import services
from courses.models import (
    Attendance,
    Certificate,
    ClassSession,
    Course,
    CourseClass,
    Enrolment,
    LearningRecord,
    PendingWork,
    Room,
    class_instructor,
)
from lms.api.models import IdempotentRequest
from lms.auth.models import ApiToken, Role, RoleAssignment, User
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry.models import AdminUnit, Clc, Household, Person
from lms.titles.models import Eligibility, EvaluationState
from tests.conftest import unit_by_code
from tests.courses.conftest import Centre, make_centre
from tests.integration.conftest import wait_for

COMMUNE = "23317"  # Ngọk Bay: used by no other test


def _setup(learners: int, sessions: int) -> dict[str, Any]:
    """A finished class (all its sessions in the past) with enrolled learners, and a manager's API token."""
    from tests.conftest import make_user

    tag = uuid.uuid4().hex[:6]
    centre = make_centre(COMMUNE, learners=learners, label=f"W{tag}")
    first = date.today() - timedelta(days=40)
    course_class = services.create_class(
        course=centre.course,
        clc=centre.clc,
        name=f"Lớp {tag}",
        capacity=learners,
        starts_on=first,
        ends_on=first + timedelta(days=20),
        room=centre.room,
    )
    services.enrol(course_class, [p.id for p in centre.learners])
    slots = [
        (
            datetime.combine(first + timedelta(days=2 * i), datetime.min.time()) + timedelta(hours=19),
            datetime.combine(first + timedelta(days=2 * i), datetime.min.time()) + timedelta(hours=21),
        )
        for i in range(sessions)
    ]
    scheduled = services.schedule(course_class, slots)
    user = make_user(Role.CENTRE_MANAGER, unit_by_code(COMMUNE), f"worker-{tag}@example.vn")
    _, secret = ApiToken.issue(user, "phone")
    _, second_secret = ApiToken.issue(user, "tablet")
    db.session.commit()
    return {
        "centre": centre,
        "class_id": course_class.id,
        "session_ids": [s.id for s in scheduled],
        "starts": [s.starts_at for s in scheduled],
        "person_ids": [p.id for p in centre.learners],
        "user_id": user.id,
        "headers": {"Authorization": f"Bearer {secret}"},
        "second_headers": {"Authorization": f"Bearer {second_secret}"},
    }


def _cleanup(made: dict[str, Any]) -> None:
    """Delete everything ``_setup`` and the requests made, children first."""
    centre: Centre = made["centre"]
    class_id, session_ids, user_id = made["class_id"], made["session_ids"], made["user_id"]
    person_ids = made["person_ids"]
    db.session.rollback()
    objects = [
        ("course", centre.course.id),
        ("course_class", class_id),
        ("user", user_id),
        *(("class_session", s) for s in session_ids),
    ]
    statements = [
        # The completion marked the commune for evaluation; a worker may have evaluated it (no other test uses it).
        delete(Eligibility).where(Eligibility.commune_id == centre.commune.id),
        delete(EvaluationState).where(EvaluationState.commune_id == centre.commune.id),
        delete(Certificate).where(Certificate.class_id == class_id),
        delete(LearningRecord).where(LearningRecord.class_id == class_id),
        delete(Attendance).where(Attendance.session_id.in_(session_ids)),
        delete(PendingWork).where(PendingWork.subject_id == class_id, PendingWork.kind == services.COMPLETION_WORK),
        delete(IdempotentRequest).where(IdempotentRequest.user_id == user_id),
        delete(AuditEvent).where(
            or_(
                AuditEvent.user_id == user_id,
                *(
                    (AuditEvent.object_type == kind) & (AuditEvent.object_id == str(object_id))
                    for kind, object_id in objects
                ),
            )
        ),
        delete(ClassSession).where(ClassSession.class_id == class_id),
        delete(Enrolment).where(Enrolment.class_id == class_id),
        delete(class_instructor).where(class_instructor.c.class_id == class_id),
        delete(CourseClass).where(CourseClass.id == class_id),
        delete(Course).where(Course.id == centre.course.id),
        delete(Room).where(Room.clc_id == centre.clc.id),
        delete(Clc).where(Clc.id == centre.clc.id),
        delete(Person).where(Person.id.in_(person_ids)),
        delete(Household).where(Household.id == centre.household.id),
        delete(AdminUnit).where(AdminUnit.id == centre.village.id),
        delete(ApiToken).where(ApiToken.user_id == user_id),
        delete(RoleAssignment).where(RoleAssignment.user_id == user_id),
        delete(User).where(User.id == user_id),
    ]
    for statement in statements:
        db.session.execute(statement)
    db.session.commit()


def _request(client: Any, method: str, url: str, **kwargs: Any) -> Any:
    """A request in its own context, as in production (not the test's app context and session). Whatever the
    test's session has open is ended first: on SQLite an open transaction would hold the request back."""
    if threading.current_thread() is threading.main_thread():
        db.session.rollback()
    return contextvars.Context().run(client.open, url, method=method, **kwargs)


def _pending(class_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(PendingWork).where(PendingWork.subject_id == class_id))


def _marks(made: dict[str, Any], statuses: list[str], session_index: int = 0) -> dict[str, Any]:
    at = made["starts"][session_index] - timedelta(hours=7) + timedelta(minutes=5)  # local → UTC, during it
    return {
        "device": "phone-7",
        "marks": [
            {
                "client_mark_id": str(uuid.uuid4()),
                "person_id": person_id,
                "status": status,
                "recorded_at": at.isoformat() + "Z",
            }
            for person_id, status in zip(made["person_ids"], statuses, strict=True)
        ],
    }


def test_attendance_posted_through_the_api_becomes_a_learning_record_on_the_worker(live_app, worker):
    with live_app.app_context():
        made = _setup(learners=3, sessions=1)
        class_id = made["class_id"]
        try:
            client = live_app.test_client()
            response = _request(
                client,
                "POST",
                f"/api/v1/sessions/{made['session_ids'][0]}/attendance",
                json=_marks(made, ["present", "late", "absent"]),
                headers={**made["headers"], "Idempotency-Key": str(uuid.uuid4())},
            )
            assert response.status_code == 200, response.get_json()
            assert response.get_json()["created"] == 3

            def completed() -> bool:
                records = db.session.scalars(
                    select(LearningRecord.person_id).where(LearningRecord.class_id == class_id)
                ).all()
                return len(records) == 2 and _pending(class_id) == 0

            wait_for(completed, what="the worker to write the class's learning records")
            present, late, _absent = made["person_ids"]
            assert set(
                db.session.scalars(select(LearningRecord.person_id).where(LearningRecord.class_id == class_id))
            ) == {present, late}  # late counts as attended, absent not
            completions = _request(
                client, "GET", f"/api/v1/classes/{class_id}/completions", headers=made["headers"]
            ).get_json()
            codes = {item["person_id"]: item["certificate"]["code"] for item in completions["items"]}
            assert set(codes) == {present, late}
            public = _request(live_app.test_client(), "GET", f"/api/v1/certificates/{codes[present]}").get_json()
            assert public["valid"] is True
        finally:
            _cleanup(made)
        assert db.session.scalar(select(func.count()).select_from(CourseClass).where(CourseClass.id == class_id)) == 0


def test_a_re_sync_right_after_the_first_upload_is_in_the_completion(live_app, worker):
    """Two uploads of one session a moment apart (a second device re-syncing): the second usually finds the class's
    task just sent and sends none (ADR 28). Whether the worker's run began before or after it, the learning records
    end up as the later marks say, and the class is left unmarked."""
    with live_app.app_context():
        made = _setup(learners=3, sessions=1)
        class_id = made["class_id"]
        try:
            client = live_app.test_client()
            url = f"/api/v1/sessions/{made['session_ids'][0]}/attendance"
            first, later = _marks(made, ["absent", "absent", "present"]), _marks(made, ["present", "late", "absent"])
            for mark in later["marks"]:
                mark["recorded_at"] = mark["recorded_at"].replace(":05:00Z", ":09:00Z")
            for body, headers in ((first, made["headers"]), (later, made["second_headers"])):
                response = _request(
                    client, "POST", url, json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
                )
                assert response.status_code == 200, response.get_json()
            present, late, _absent = made["person_ids"]

            def completed() -> bool:
                records = set(
                    db.session.scalars(select(LearningRecord.person_id).where(LearningRecord.class_id == class_id))
                )
                return records == {present, late} and _pending(class_id) == 0

            wait_for(completed, what="the worker to write the later marks' learning records")
        finally:
            _cleanup(made)


def test_concurrent_deliveries_of_one_request_apply_it_once(live_app, worker):
    """The same batch with the same key from two connections at once (a phone retrying while the first attempt is
    still in flight): one applies it, the other answers the same without applying anything."""
    with live_app.app_context():
        made = _setup(learners=40, sessions=1)
        try:
            url = f"/api/v1/sessions/{made['session_ids'][0]}/attendance"
            body, key = _marks(made, ["present"] * 40), str(uuid.uuid4())
            start = threading.Barrier(2)
            answers: list[Any] = [None, None]

            def deliver(index: int, headers: dict[str, str]) -> None:
                client = live_app.test_client()
                start.wait()
                try:
                    answers[index] = _request(
                        client, "POST", url, json=body, headers={**headers, "Idempotency-Key": key}
                    )
                except Exception as exc:  # noqa: BLE001 - the testing app propagates the view's exception
                    answers[index] = repr(exc)[:300]

            db.session.rollback()  # nothing of the test's session may hold the database while they run
            threads = [
                threading.Thread(target=deliver, args=(0, made["headers"])),
                threading.Thread(target=deliver, args=(1, made["second_headers"])),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert not [a for a in answers if isinstance(a, str)], answers
            statuses = sorted(a.status_code for a in answers)
            assert statuses == [200, 200], [a.get_data(as_text=True)[:300] for a in answers]
            assert answers[0].get_json() == answers[1].get_json()
            assert answers[0].get_json()["created"] == 40
            assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
            db.session.rollback()
            assert (
                db.session.scalar(
                    select(func.count()).select_from(Attendance).where(Attendance.session_id == made["session_ids"][0])
                )
                == 40
            )
            assert (
                db.session.scalar(
                    select(func.count())
                    .select_from(AuditEvent)
                    .where(AuditEvent.action == "attendance.record", AuditEvent.user_id == made["user_id"])
                )
                == 1
            )
            wait_for(lambda: _pending(made["class_id"]) == 0, what="the worker to finish with the class")
        finally:
            _cleanup(made)


def test_two_devices_uploading_one_session_at_once_both_succeed_and_the_later_marks_win(live_app, worker):
    """Two phones upload the same session at the same moment. Without the session-row lock in
    ``services.record_attendance`` both INSERT and the second dies on the unique (session_id, person_id)."""
    with live_app.app_context():
        made = _setup(learners=40, sessions=1)
        try:
            url = f"/api/v1/sessions/{made['session_ids'][0]}/attendance"
            early, late = _marks(made, ["absent"] * 40), _marks(made, ["present"] * 40)
            for mark in late["marks"]:
                mark["recorded_at"] = mark["recorded_at"].replace(":05:00Z", ":09:00Z")
            start = threading.Barrier(2)
            answers: list[Any] = [None, None]

            def deliver(index: int, headers: dict[str, str], body: dict[str, Any]) -> None:
                client = live_app.test_client()
                start.wait()
                try:
                    answers[index] = _request(
                        client, "POST", url, json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
                    ).status_code
                except Exception as exc:  # noqa: BLE001 - the testing app propagates the view's exception
                    answers[index] = repr(exc)[:300]

            db.session.rollback()  # nothing of the test's session may hold the database while they run
            threads = [
                threading.Thread(target=deliver, args=(0, made["headers"], early)),
                threading.Thread(target=deliver, args=(1, made["second_headers"], late)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert answers == [200, 200]
            db.session.rollback()
            statuses = set(
                db.session.scalars(select(Attendance.status).where(Attendance.session_id == made["session_ids"][0]))
            )
            assert statuses == {"present"}  # the later marks, whichever request committed last
        finally:
            wait_for(lambda: _pending(made["class_id"]) == 0, what="the worker to finish with the class")
            _cleanup(made)
