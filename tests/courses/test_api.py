"""The class programme's JSON API: each endpoint's answer and its field errors, the idempotent bulk attendance
endpoint, scoping, and the public verification of certificates."""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from courses import services
from courses.models import (
    Attendance,
    Certificate,
    ClassSession,
    CourseClass,
    Enrolment,
    Holiday,
    LearningRecord,
    SessionStatus,
)
from courses.scheduling import Recurrence
from lms.api import idempotency
from lms.api.models import IdempotentRequest
from lms.auth.models import ApiToken, Role
from lms.auth.permissions import Permission
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry.models import AdminUnit, Person
from tests.conftest import make_user
from tests.courses.conftest import make_centre, make_class

T0 = "2026-03-03T12:05:00Z"


def _bearer(role=Role.CENTRE_MANAGER, unit=None, code="23293"):
    from tests.conftest import unit_by_code

    user = make_user(role, unit or unit_by_code(code), f"{role.value}.{uuid.uuid4().hex[:8]}@example.vn")
    _, secret = ApiToken.issue(user, "phone")
    db.session.commit()
    return user, {"Authorization": f"Bearer {secret}"}


def _fields(response):
    assert response.status_code == 422, response.get_json()
    assert response.mimetype == "application/problem+json"
    return {e["field"] for e in response.get_json()["errors"]}


@pytest.fixture
def manager(centre):
    return _bearer(unit=centre.commune)[1]


@pytest.fixture
def attendance_class(app_ctx):
    """A 40-learner class with one session, and a token for its centre manager."""
    centre = make_centre(learners=40)
    course_class = make_class(centre, capacity=40)
    services.enrol(course_class, [p.id for p in centre.learners])
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 3, 19), datetime(2026, 3, 3, 21))])
    _, headers = _bearer(unit=centre.commune)
    return session, centre.learners, headers


def _batch(learners, status="present", at=T0, device="phone-7", prefix="m"):
    return {
        "device": device,
        "marks": [
            {"client_mark_id": f"{prefix}-{p.id}", "person_id": p.id, "status": status, "recorded_at": at}
            for p in learners
        ],
    }


def _rows(session_id):
    return {
        row.person_id: (row.status, row.recorded_at, row.device, row.received_at)
        for row in db.session.execute(select(Attendance).where(Attendance.session_id == session_id)).scalars()
    }


def _post_marks(client, session, body, headers, key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(f"/api/v1/sessions/{session.id}/attendance", json=body, headers={**headers, **extra})


# --- courses -------------------------------------------------------------------------------------------------


def test_courses_create_get_and_list(centre, client, manager):
    body = {
        "unit_id": centre.commune.id,
        "code": "TH-01",
        "name": "Tin học cơ bản",
        "category": "digital_skills",
        "planned_hours": 24,
        "min_attendance_share": 0.9,
        "module_codes": ["IU01"],
    }
    created = client.post("/api/v1/courses", json=body, headers=manager)
    assert created.status_code == 201, created.get_json()
    course = created.get_json()
    assert course["planned_hours"] == 24
    assert course["min_attendance_share"] == 0.9
    assert created.headers["Location"].endswith(f"/api/v1/courses/{course['id']}")
    assert client.get(f"/api/v1/courses/{course['id']}", headers=manager).get_json()["code"] == "TH-01"
    listed = client.get("/api/v1/courses?category=digital_skills", headers=manager).get_json()
    assert [c["code"] for c in listed["items"]] == ["TH-01"]
    assert listed["total"] == 1
    assert client.get("/api/v1/courses?q=tin hoc", headers=manager).get_json()["total"] == 1


def test_course_field_errors(centre, client, manager):
    other = make_centre("23302", learners=1, label="B").commune
    db.session.commit()
    bad = client.post(
        "/api/v1/courses",
        json={
            "unit_id": other.id,
            "name": "",
            "category": "cooking",
            "planned_hours": 0,
            "min_attendance_share": 1.5,
            "colour": "red",
        },
        headers=manager,
    )
    assert _fields(bad) == {"unit_id", "code", "name", "category", "planned_hours", "min_attendance_share", "colour"}
    duplicate = client.post(
        "/api/v1/courses",
        json={
            "unit_id": centre.commune.id,
            "code": centre.course.code,
            "name": "Khác",
            "category": "literacy",
            "planned_hours": 2,
        },
        headers=manager,
    )
    assert _fields(duplicate) == {"code"}
    assert client.post("/api/v1/courses", data="not json", headers=manager).status_code == 422


def test_an_instructor_may_not_manage_the_catalogue(centre, client):
    _, instructor = _bearer(Role.INSTRUCTOR, centre.commune)
    response = client.post("/api/v1/courses", json={}, headers=instructor)
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/courses", headers=instructor).status_code == 200


# --- classes -------------------------------------------------------------------------------------------------


def test_classes_create_get_and_filtered_list(centre, client, manager):
    teacher = centre.learners[0]
    body = {
        "course_id": centre.course.id,
        "clc_id": centre.clc.id,
        "name": "Lớp cà phê tháng 4",
        "capacity": 20,
        "starts_on": "2026-04-01",
        "ends_on": "2026-04-30",
        "room_id": centre.room.id,
        "instructor_ids": [teacher.id],
    }
    created = client.post("/api/v1/classes", json=body, headers=manager)
    assert created.status_code == 201, created.get_json()
    class_id = created.get_json()["id"]
    services.enrol(db.session.get(CourseClass, class_id), [p.id for p in centre.learners[1:4]])
    db.session.commit()
    detail = client.get(f"/api/v1/classes/{class_id}", headers=manager).get_json()
    assert detail["instructors"] == [{"person_id": teacher.id, "full_name": teacher.full_name, "role": "instructor"}]
    assert detail["counts"]["enrolled"] == 3
    assert detail["counts"]["seats_left"] == 17
    assert detail["course_name"] == centre.course.name

    make_class(centre, name="Lớp tháng 3")
    db.session.commit()

    def names(query: str) -> list[str]:
        return [c["name"] for c in client.get(f"/api/v1/classes?{query}", headers=manager).get_json()["items"]]

    assert sorted(names(f"clc_id={centre.clc.id}")) == ["Lớp cà phê tháng 4", "Lớp tháng 3"]
    assert names("from=2026-04-05&to=2026-04-06") == ["Lớp cà phê tháng 4"]
    assert names("to=2026-03-15") == ["Lớp tháng 3"]
    assert names(f"course_id={centre.course.id}&from=2026-05-01") == []
    assert _fields(client.get("/api/v1/classes?from=03/04/2026&clc_id=x", headers=manager)) == {"from", "clc_id"}


def test_class_field_errors(centre, client, manager):
    other = make_centre("23302", learners=1, label="B")
    db.session.commit()
    response = client.post(
        "/api/v1/classes",
        json={
            "course_id": centre.course.id,
            "clc_id": other.clc.id,
            "name": "Lớp",
            "capacity": 0,
            "starts_on": "2026-04-01",
            "ends_on": "30/04/2026",
            "instructor_ids": [other.learners[0].id],
        },
        headers=manager,
    )
    assert _fields(response) == {"clc_id", "capacity", "ends_on", "instructor_ids[0]"}
    backwards = client.post(
        "/api/v1/classes",
        json={
            "course_id": centre.course.id,
            "clc_id": centre.clc.id,
            "name": "Lớp",
            "capacity": 5,
            "starts_on": "2026-04-30",
            "ends_on": "2026-04-01",
        },
        headers=manager,
    )
    assert _fields(backwards) == {"ends_on"}  # the service's check, named by its field
    foreign_room = client.post(
        "/api/v1/classes",
        json={
            "course_id": centre.course.id,
            "clc_id": centre.clc.id,
            "name": "Lớp",
            "capacity": 5,
            "starts_on": "2026-04-01",
            "ends_on": "2026-04-30",
            "room_id": other.room.id,
        },
        headers=manager,
    )
    assert _fields(foreign_room) == {"room_id"}


# --- sessions ------------------------------------------------------------------------------------------------


def test_sessions_single_recurring_reschedule_and_cancel(centre, client, manager):
    course_class = make_class(centre)
    db.session.add(Holiday(unit_id=centre.commune.id, day=date(2026, 3, 17), name="Lễ hội của xã"))
    db.session.commit()
    url = f"/api/v1/classes/{course_class.id}/sessions"
    single = client.post(
        url,
        json={"starts_at": "2026-03-02T08:00", "ends_at": "2026-03-02T10:00+07:00", "place": "Sân đình"},
        headers=manager,
    )
    assert single.status_code == 201, single.get_json()
    (first,) = single.get_json()["items"]
    assert first["starts_at"] == "2026-03-02T08:00:00+07:00"
    assert first["place"] == "Sân đình"
    # The same moment sent in UTC lands on the same local time.
    utc = client.post(
        url, json={"starts_at": "2026-03-04T01:00:00Z", "ends_at": "2026-03-04T03:00:00Z"}, headers=manager
    )
    assert utc.get_json()["items"][0]["starts_at"] == "2026-03-04T08:00:00+07:00"

    recurring = client.post(
        f"{url}/recurring",
        json={
            "first_day": "2026-03-03",
            "weekdays": [1],
            "start": "19:00",
            "end": "21:00",
            "until": "2026-03-31",
            "room_id": centre.hall.id,
        },
        headers=manager,
    )
    assert recurring.status_code == 201, recurring.get_json()
    days = [s["starts_at"][:10] for s in recurring.get_json()["items"]]
    assert days == ["2026-03-03", "2026-03-10", "2026-03-24", "2026-03-31"]  # the 17th is the commune's holiday
    assert {s["room_id"] for s in recurring.get_json()["items"]} == {centre.hall.id}

    moved_id = recurring.get_json()["items"][1]["id"]
    moved = client.patch(f"/api/v1/sessions/{moved_id}", json={"starts_at": "2026-03-11T18:30"}, headers=manager)
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["ends_at"] == "2026-03-11T20:30:00+07:00"  # same length
    assert moved.get_json()["original_starts_at"] == "2026-03-10T19:00:00+07:00"

    key = {"Idempotency-Key": str(uuid.uuid4())}
    cancelled = client.post(
        f"/api/v1/sessions/{moved_id}/cancel", json={"reason": "Mưa lũ"}, headers={**manager, **key}
    )
    assert cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["note"] == "Mưa lũ"
    retry = client.post(f"/api/v1/sessions/{moved_id}/cancel", json={"reason": "Mưa lũ"}, headers={**manager, **key})
    assert retry.get_json() == cancelled.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert _fields(client.post(f"/api/v1/sessions/{moved_id}/cancel", json={"reason": "x"}, headers=manager)) == {
        "status"
    }  # a second, different cancellation is refused

    listed = client.get(f"{url}?status=scheduled", headers=manager).get_json()
    assert listed["total"] == 5
    assert client.get(f"/api/v1/sessions/{moved_id}", headers=manager).get_json()["status"] == "cancelled"


def test_session_conflicts_are_409_and_list_them(centre, client, manager):
    first, second = make_class(centre, name="Lớp sáng"), make_class(centre, name="Lớp trưa")
    (taken,) = services.schedule(first, [(datetime(2026, 3, 5, 8), datetime(2026, 3, 5, 10))])
    db.session.commit()
    response = client.post(
        f"/api/v1/classes/{second.id}/sessions",
        json={"starts_at": "2026-03-05T09:00", "ends_at": "2026-03-05T11:00"},
        headers=manager,
    )
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    (conflict,) = response.get_json()["conflicts"]
    assert conflict["resource"] == "room"
    assert conflict["session_id"] == taken.id
    assert conflict["class_id"] == first.id
    touching = client.post(
        f"/api/v1/classes/{second.id}/sessions",
        json={"starts_at": "2026-03-05T10:00", "ends_at": "2026-03-05T11:00"},
        headers=manager,
    )
    assert touching.status_code == 201
    moved = client.patch(
        f"/api/v1/sessions/{touching.get_json()['items'][0]['id']}",
        json={"starts_at": "2026-03-05T09:30"},
        headers=manager,
    )
    assert moved.status_code == 409


def test_session_field_errors(centre, client, manager):
    course_class = make_class(centre)
    other = make_centre("23302", learners=1, label="B")
    db.session.commit()
    url = f"/api/v1/classes/{course_class.id}/sessions"
    assert _fields(
        client.post(url, json={"starts_at": "2026-03-02 8h", "room_id": other.room.id}, headers=manager)
    ) == {"starts_at", "ends_at", "room_id"}
    assert _fields(
        client.post(url, json={"starts_at": "2026-03-02T10:00", "ends_at": "2026-03-02T08:00"}, headers=manager)
    ) == {"ends_at"}
    assert _fields(
        client.post(url, json={"starts_at": "2026-05-02T08:00", "ends_at": "2026-05-02T10:00"}, headers=manager)
    ) == {"starts_at"}  # outside the class's dates
    assert _fields(
        client.post(
            f"{url}/recurring",
            json={"first_day": "2026-03-02", "weekdays": [7], "start": "7pm", "end": "21:00"},
            headers=manager,
        )
    ) == {"weekdays", "start", "until"}
    assert _fields(
        client.post(
            f"{url}/recurring",
            json={"first_day": "2026-03-02", "weekdays": [6], "start": "08:00", "end": "09:00", "until": "2026-03-07"},
            headers=manager,
        )
    ) == {"until"}  # no Sunday between the 2nd and the 7th
    assert _fields(
        client.post(
            f"{url}/recurring",
            json={"first_day": "2026-05-04", "weekdays": [0], "start": "08:00", "end": "09:00", "count": 2},
            headers=manager,
        )
    ) == {"first_day"}
    assert (
        db.session.scalar(
            select(func.count()).select_from(ClassSession).where(ClassSession.class_id == course_class.id)
        )
        == 0
    )


# --- enrolments ----------------------------------------------------------------------------------------------


def test_enrolment_individual_bulk_waiting_list_and_withdrawal(centre, client, manager):
    course_class = make_class(centre, capacity=3)
    db.session.commit()
    url = f"/api/v1/classes/{course_class.id}/enrolments"
    ids = [p.id for p in centre.learners]
    one = client.post(url, json={"person_id": ids[0]}, headers=manager).get_json()
    assert one == {"class_id": course_class.id, "enrolled": [ids[0]], "waitlisted": [], "already": [], "dry_run": False}
    many = client.post(url, json={"person_ids": ids[:5]}, headers=manager).get_json()
    assert many["already"] == [ids[0]]
    assert many["enrolled"] == ids[1:3]
    assert many["waitlisted"] == ids[3:5]
    household = client.post(url, json={"household_id": centre.household.id}, headers=manager).get_json()
    assert sorted(household["already"]) == sorted(ids[:5])
    assert household["waitlisted"] == [ids[5]]

    withdrawn = client.delete(f"{url}/{ids[1]}", headers=manager)
    assert withdrawn.get_json() == {
        "class_id": course_class.id,
        "person_id": ids[1],
        "status": "withdrawn",
        "promoted": ids[3],
    }
    listed = client.get(f"{url}?status=enrolled", headers=manager).get_json()
    assert [e["person_id"] for e in listed["items"]] == sorted(
        [ids[0], ids[2], ids[3]], key=lambda i: db.session.get(Person, i).sort_key
    )
    assert listed["items"][0]["full_name"].startswith("Học Viên")
    assert _fields(client.delete(f"{url}/{ids[1]}", headers=manager)) == {"person_id"}  # not enrolled any more


def test_a_bulk_enrolment_can_be_previewed_first(centre, client, manager):
    """``dry_run``: who would get a seat, who would wait, who is in already — nothing written; the same request
    without it does exactly that."""
    course_class = make_class(centre, capacity=3)
    db.session.commit()
    url = f"/api/v1/classes/{course_class.id}/enrolments"
    ids = [p.id for p in centre.learners]
    client.post(url, json={"person_id": ids[0]}, headers=manager)
    preview = client.post(url, json={"household_id": centre.household.id, "dry_run": True}, headers=manager)
    assert preview.status_code < 300
    shown = preview.get_json()
    assert shown["dry_run"] is True
    assert (shown["already"], len(shown["enrolled"]), len(shown["waitlisted"])) == ([ids[0]], 2, len(ids) - 3)
    db.session.expire_all()
    stored = db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.class_id == course_class.id))
    assert stored == 1  # the one enrolled before
    done = client.post(url, json={"household_id": centre.household.id}, headers=manager).get_json()
    assert {k: done[k] for k in ("enrolled", "waitlisted", "already")} == {
        k: shown[k] for k in ("enrolled", "waitlisted", "already")
    }
    assert done["dry_run"] is False


def test_enrolment_field_errors_and_nothing_half_written(centre, client, manager):
    course_class = make_class(centre)
    outsider = make_centre("23302", learners=1, label="B").learners[0]
    db.session.commit()
    url = f"/api/v1/classes/{course_class.id}/enrolments"
    ids = [p.id for p in centre.learners]
    assert _fields(client.post(url, json={"person_ids": [ids[0], outsider.id, "x"]}, headers=manager)) == {
        "person_ids[2]"
    }
    assert _fields(client.post(url, json={"person_ids": [ids[0], outsider.id]}, headers=manager)) == {"person_ids[1]"}
    assert _fields(client.post(url, json={}, headers=manager)) == {"person_ids"}
    assert _fields(client.post(url, json={"person_id": ids[0], "village_id": centre.village.id}, headers=manager)) == {
        "village_id"
    }
    assert _fields(client.post(url, json={"village_id": outsider.unit_id}, headers=manager)) == {"village_id"}
    assert _fields(client.post(url, json={"association_role": "king"}, headers=manager)) == {"association_role"}
    assert _fields(client.post(url, json={"association_role": "chair"}, headers=manager)) == {"association_role"}
    course_class.target_group = "association_officers"
    db.session.commit()
    refused = client.post(url, json={"person_ids": ids[:2]}, headers=manager)
    assert _fields(refused) == {"person_ids[0]", "person_ids[1]"}
    assert (
        db.session.scalar(select(func.count()).select_from(Enrolment).where(Enrolment.class_id == course_class.id)) == 0
    )


# --- bulk attendance -----------------------------------------------------------------------------------------


def test_the_batchs_locked_session_reads_what_the_batch_needs_and_loads_the_rest_when_asked(attendance_class):
    """ADR 28, eighth pass: the scoped, locked look-up reads the session's id, class and status (a Core statement,
    no ORM loading); another column is loaded when something reads it, and a session already in the request's
    session is refreshed from the locked row instead."""
    from sqlalchemy import inspect

    session, _learners, _headers = attendance_class
    commune = db.session.get(AdminUnit, session.course_class.commune_id)
    user = make_user(Role.CENTRE_MANAGER, commune, f"lock.{uuid.uuid4().hex[:8]}@example.vn")
    session_id, class_id, starts_at = session.id, session.class_id, session.starts_at
    db.session.expunge_all()

    locked = services.get_session(session_id, user, Permission.ATTENDANCE_RECORD, for_update=True)
    assert locked is not None
    assert (locked.id, locked.class_id, locked.status) == (session_id, class_id, SessionStatus.SCHEDULED)
    assert {"starts_at", "note"} <= inspect(locked).unloaded
    assert locked.starts_at == starts_at  # loaded on demand
    assert services.get_session(session_id, user, Permission.ATTENDANCE_RECORD, for_update=True) is locked


def test_same_batch_twice_with_the_same_key_is_answered_the_same_and_changes_nothing(attendance_class, client):
    session, learners, headers = attendance_class
    key = str(uuid.uuid4())
    first = _post_marks(client, session, _batch(learners), headers, key)
    assert first.status_code == 200, first.get_json()
    assert first.get_json() == {"session_id": session.id, "created": 40, "updated": 0, "unchanged": 0}
    rows = _rows(session.id)
    second = _post_marks(client, session, _batch(learners), headers, key)
    assert second.status_code == 200
    assert second.get_json() == first.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    db.session.expire_all()
    assert _rows(session.id) == rows  # not even received_at moved
    assert db.session.scalar(select(func.count()).select_from(IdempotentRequest)) == 1
    # The batch's audit event, written with the marks (one statement on PostgreSQL), says who, from where and what.
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "attendance.record"))
    assert (event.object_type, event.object_id, event.ip) == ("class_session", str(session.id), "127.0.0.1")
    assert event.user_id is not None
    assert event.at is not None
    assert event.details == {"device": "phone-7", "created": 40, "updated": 0, "unchanged": 0}
    # Without the key, the service still recognises the client mark ids: nothing changes either.
    third = _post_marks(client, session, _batch(learners), headers)
    assert third.get_json()["unchanged"] == 40


def test_the_same_key_with_another_body_is_refused(attendance_class, client):
    session, learners, headers = attendance_class
    key = str(uuid.uuid4())
    assert _post_marks(client, session, _batch(learners[:3]), headers, key).status_code == 200
    other = _post_marks(client, session, _batch(learners[:3], status="absent", prefix="n"), headers, key)
    assert _fields(other) == {"Idempotency-Key"}
    assert "another request" in other.get_json()["errors"][0]["message"]
    assert {status for status, *_ in _rows(session.id).values()} == {"present"}
    # Nor may the key be reused for another session.
    (later,) = services.schedule(session.course_class, [(datetime(2026, 3, 5, 19), datetime(2026, 3, 5, 21))])
    db.session.commit()
    assert _fields(_post_marks(client, later, _batch(learners[:3]), headers, key)) == {"Idempotency-Key"}
    # Keys belong to their user: another phone may use the same one.
    _, someone_else = _bearer(unit=session.course_class.clc.commune)
    assert _post_marks(client, later, _batch(learners[:3], prefix="o"), someone_else, key).status_code == 200


def test_two_devices_the_latest_recorded_at_wins_and_the_overwritten_mark_is_audited(attendance_class, client):
    session, learners, headers = attendance_class
    learner = learners[:1]
    b = _post_marks(
        client, session, _batch(learner, "absent", "2026-03-03T12:10:00Z", "phone-B", "b"), headers, str(uuid.uuid4())
    )
    assert b.get_json()["created"] == 1
    # Phone A synchronises later, but its mark was taken earlier (in local time, 19:05 = 12:05 UTC): it loses.
    a = _post_marks(
        client,
        session,
        _batch(learner, "present", "2026-03-03T19:05:00+07:00", "phone-A", "a"),
        headers,
        str(uuid.uuid4()),
    )
    assert a.get_json()["unchanged"] == 1
    assert _rows(session.id)[learner[0].id][:3] == ("absent", datetime(2026, 3, 3, 12, 10), "phone-B")
    c = _post_marks(
        client, session, _batch(learner, "late", "2026-03-03T12:14:00Z", "phone-C", "c"), headers, str(uuid.uuid4())
    )
    assert c.get_json()["updated"] == 1
    assert _rows(session.id)[learner[0].id][:3] == ("late", datetime(2026, 3, 3, 12, 14), "phone-C")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "attendance.overwrite"))
    assert event.details["old_status"] == "absent"
    assert event.details["old_device"] == "phone-B"
    assert event.details["new_status"] == "late"
    listed = client.get(f"/api/v1/sessions/{session.id}/attendance", headers=headers).get_json()
    assert listed["items"] == [
        {
            "person_id": learner[0].id,
            "status": "late",
            "recorded_at": "2026-03-03T12:14:00Z",
            "device": "phone-C",
            "client_mark_id": f"c-{learner[0].id}",
            "received_at": listed["items"][0]["received_at"],
        }
    ]


def test_a_retry_after_a_crash_before_the_commit_applies_the_batch_once(attendance_class, client, monkeypatch):
    """The first attempt dies after the service ran and the answer was written, before the commit: neither the
    marks nor the stored answer survive, and the retry with the same key applies the batch exactly once."""
    session, learners, headers = attendance_class
    key = str(uuid.uuid4())
    save = idempotency._save

    def save_then_crash(record, response):
        save(record, response)
        raise RuntimeError("the power went out")

    monkeypatch.setattr(idempotency, "_save", save_then_crash)
    with pytest.raises(RuntimeError):
        _post_marks(client, session, _batch(learners), headers, key)
    monkeypatch.undo()
    db.session.expire_all()
    assert _rows(session.id) == {}
    assert db.session.scalar(select(func.count()).select_from(IdempotentRequest)) == 0

    retry = _post_marks(client, session, _batch(learners), headers, key)
    assert retry.get_json() == {"session_id": session.id, "created": 40, "updated": 0, "unchanged": 0}
    again = _post_marks(client, session, _batch(learners), headers, key)
    assert again.get_json() == retry.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (
        db.session.scalar(select(func.count()).select_from(Attendance).where(Attendance.session_id == session.id)) == 40
    )


def test_the_keys_row_holds_the_answer_sent_whoever_wrote_it(attendance_class, client, monkeypatch):
    """On PostgreSQL the batch writes its answer into the claimed key's row with its marks; on SQLite the decorator
    does. Either way the row holds exactly what was sent; and if a view marks the row with another answer than the
    one it sends, the decorator still writes the one sent (a replay can never differ from the original)."""
    session, learners, headers = attendance_class

    def stored(key):
        db.session.expire_all()
        row = db.session.scalar(select(IdempotentRequest).where(IdempotentRequest.key == key))
        return row.status_code, row.response

    key = str(uuid.uuid4())
    sent = _post_marks(client, session, _batch(learners[:3]), headers, key)
    assert stored(key) == (200, sent.get_json())

    record = services.record_attendance

    def marks_a_wrong_answer(*args, **kwargs):
        result = record(*args, **kwargs)
        claim = idempotency.claimed()
        set_committed_value(claim, "status_code", 200)
        set_committed_value(claim, "response", {"session_id": session.id, "created": 99})
        return result

    monkeypatch.setattr(services, "record_attendance", marks_a_wrong_answer)
    key = str(uuid.uuid4())
    sent = _post_marks(client, session, _batch(learners[3:6]), headers, key)
    assert sent.get_json()["created"] == 3
    assert stored(key) == (200, sent.get_json())
    replayed = _post_marks(client, session, _batch(learners[3:6]), headers, key)
    assert replayed.get_json() == sent.get_json()


def test_a_retry_whose_work_is_now_refused_gets_the_answer_it_was_given(attendance_class, client):
    """A phone retries a batch that was applied (it never saw the answer) after the session was cancelled: the key
    was used, so the stored answer is replayed — not the refusal the batch would now get, and nothing else is
    written. On PostgreSQL the claim goes with the batch's read (ADR 28, sixth pass): it must still come first."""
    session, learners, headers = attendance_class
    key = str(uuid.uuid4())
    first = _post_marks(client, session, _batch(learners[:3]), headers, key)
    assert first.status_code == 200
    services.cancel(session, "Bão")
    db.session.commit()
    retry = _post_marks(client, session, _batch(learners[:3]), headers, key)
    assert retry.status_code == 200
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    refused = _post_marks(client, session, _batch(learners[:3]), headers, str(uuid.uuid4()))
    assert refused.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(IdempotentRequest)) == 1  # a refusal keeps no key


def test_a_duplicate_that_loses_the_race_for_the_key_answers_what_the_winner_answered(
    attendance_class, client, monkeypatch
):
    """Two deliveries of one request: the key's look-up and its claim are one statement (``INSERT … ON CONFLICT DO
    NOTHING``), which waits for a concurrent claim to commit and then finds the key taken; the second delivery must
    answer with the winner's stored response, not redo the work."""
    session, learners, headers = attendance_class
    key = str(uuid.uuid4())
    winner = _post_marks(client, session, _batch(learners), headers, key)
    claim, settle = idempotency._claim, idempotency.Claim.settle
    calls = []

    def spy(user_id, key, digest):
        record = claim(user_id, key, digest)
        calls.append(record)
        return record

    def settle_spy(self, row_id):
        calls.append(row_id)
        return settle(self, row_id)

    monkeypatch.setattr(idempotency, "_claim", spy)
    monkeypatch.setattr(idempotency.Claim, "settle", settle_spy)  # PostgreSQL: the claim goes with the batch's read
    loser = _post_marks(client, session, _batch(learners), headers, key)
    assert calls == [None]  # the one claim found the key taken
    assert loser.status_code == 200
    assert loser.get_json() == winner.get_json()
    assert loser.headers["Idempotent-Replayed"] == "true"
    assert (
        db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "attendance.record"))
        == 1
    )


def test_one_bad_mark_among_good_ones_is_named_and_nothing_is_applied(attendance_class, client):
    session, learners, headers = attendance_class
    outsider = make_centre("23302", learners=1, label="B").learners[0]
    db.session.commit()
    body = _batch(learners[:6])
    body["marks"][2]["person_id"] = outsider.id
    body["marks"][4]["status"] = "asleep"
    response = _post_marks(client, session, body, headers, str(uuid.uuid4()))
    assert _fields(response) == {"marks[2].person_id", "marks[4].status"}
    assert _rows(session.id) == {}
    # Malformed marks are named the same way, before anything runs.
    body = _batch(learners[:6])
    body["marks"][1]["recorded_at"] = "2026-03-03T12:05:00"  # no offset
    del body["marks"][3]["person_id"]
    body["marks"][5]["client_mark_id"] = body["marks"][0]["client_mark_id"]
    body["marks"].append("present")
    response = _post_marks(client, session, body, headers, str(uuid.uuid4()))
    assert _fields(response) == {"marks[1].recorded_at", "marks[3].person_id", "marks[5].client_mark_id", "marks[6]"}
    assert _fields(_post_marks(client, session, {"marks": []}, headers)) == {"marks"}
    assert _rows(session.id) == {}
    assert db.session.scalar(select(func.count()).select_from(IdempotentRequest)) == 0


def test_recorded_at_with_an_offset_is_stored_in_utc_and_a_cancelled_session_takes_none(attendance_class, client):
    session, learners, headers = attendance_class
    response = _post_marks(client, session, _batch(learners[:1], at="2026-03-03T19:05:00+07:00"), headers)
    assert response.status_code == 200
    assert _rows(session.id)[learners[0].id][1] == datetime(2026, 3, 3, 12, 5)
    services.cancel(session, "Bão")
    db.session.commit()
    assert _fields(_post_marks(client, session, _batch(learners[1:2]), headers, str(uuid.uuid4()))) == {"session_id"}


# What one batch may send before its commit (ADR 28): the token with its user and roles; the lineage of the scope
# (once per user, then cached); the session (scoped, locked); the key's claim; one read of the
# session's marks, the class's enrolments and the statuses; the writes; the token's last use (at most once a
# minute). On PostgreSQL the key's claim goes with the read (ADR 28, sixth pass), and the writes are one statement
# (the marks, the audit events, the class's pending completion work and the key's answer); SQLite takes four (the
# marks, the audit events, the pending work, the answer). A first upload here resolves the scope and writes the
# token's last use, a re-sync right after does neither.
# A first upload is its token's first request (read with its user and roles); the re-sync finds the token, its user
# and their scopes in the user cache and reads none of them (ADR 28, seventh pass).
BATCH_STATEMENTS = {"postgresql": {"first": 6, "again": 3}, "sqlite": {"first": 10, "again": 7}}


def test_a_whole_session_is_a_constant_number_of_statements_whatever_the_class_size(app_ctx, client, count_queries):
    """5 or 40 marks, a first upload or a re-sync from another device that overwrites marks: the same number of
    statements up to the request's commit (the completion task that runs eagerly afterwards is not the batch's)."""
    counts = {}
    for size, code in ((5, "23293"), (40, "23302")):
        centre = make_centre(code, learners=size, label=f"Q{size}")
        course_class = make_class(centre, capacity=size)
        services.enrol(course_class, [p.id for p in centre.learners])
        (session,) = services.schedule(
            course_class, [(datetime(2026, 3, 4, 19), datetime(2026, 3, 4, 21))], room=centre.hall
        )
        _, headers = _bearer(unit=centre.commune)
        session_id = session.id
        db.session.commit()
        for upload, at, status in (
            ("first", "2026-03-04T12:05:00Z", "present"),
            ("again", "2026-03-04T12:30:00Z", "late"),
        ):
            body = _batch(centre.learners, status=status, at=at, device=f"phone-{upload}", prefix=upload)
            committed: list[int] = []
            with count_queries() as counter:

                def on_commit(orm_session, counter=counter, committed=committed):
                    committed.append(counter.count)

                # The test's sessions commit to savepoints: the ORM's first commit is the request's.
                event.listen(Session, "before_commit", on_commit)
                try:
                    response = client.post(
                        f"/api/v1/sessions/{session_id}/attendance",
                        json=body,
                        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
                    )
                finally:
                    event.remove(Session, "before_commit", on_commit)
            answer = response.get_json()
            assert answer["created" if upload == "first" else "updated"] == size, answer
            counts[(size, upload)] = committed[0]
    assert counts[(5, "first")] == counts[(40, "first")], counts
    assert counts[(5, "again")] == counts[(40, "again")], counts
    budget = BATCH_STATEMENTS[db.engine.dialect.name]
    assert counts[(40, "first")] <= budget["first"], counts
    assert counts[(40, "again")] <= budget["again"], counts
    overwritten = db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "attendance.overwrite")
    )
    assert overwritten == 5 + 40  # the re-sync changed every status, and each overwritten mark was kept


def test_a_token_records_its_last_use_at_most_once_a_minute(attendance_class, client, monkeypatch):
    """Written with the request's commit (a read-only request commits nothing), and not again within a minute."""
    session, learners, headers = attendance_class
    token = db.session.scalar(select(ApiToken))
    token.last_used_at = None
    db.session.commit()

    def last_used(batch):
        assert _post_marks(client, session, batch, headers, str(uuid.uuid4())).status_code == 200
        db.session.expire_all()
        return db.session.get(ApiToken, token.id).last_used_at

    first = last_used(_batch(learners[:1], prefix="a"))
    assert first is not None
    assert last_used(_batch(learners[:1], prefix="b")) == first  # within the minute: not written again
    # Two minutes later (the token's snapshot in the user cache holds the time it wrote, ADR 28 seventh pass).
    later = first + timedelta(minutes=2)
    monkeypatch.setattr("lms.auth.loaders.utcnow", lambda: later)
    assert last_used(_batch(learners[:1], prefix="c")) == later
    assert last_used(_batch(learners[:1], prefix="d")) == later  # and not again


# --- scope ---------------------------------------------------------------------------------------------------


def test_the_session_look_up_built_once_per_scope_follows_a_change_of_scope(app_ctx, client):
    """The scoped look-up is built once per scope and reused: a role granted in another commune makes its sessions
    found at the next request (another statement), and the first commune's statement does not find them."""
    from lms.auth.services import assign_role

    own = make_centre("23293", learners=1, label="A")
    theirs = make_centre("23302", learners=1, label="B")
    their_class = make_class(theirs)
    services.enrol(their_class, [p.id for p in theirs.learners])
    (their_session,) = services.schedule(their_class, [(datetime(2026, 3, 3, 19), datetime(2026, 3, 3, 21))])
    user, headers = _bearer(unit=own.commune)
    _other, other_headers = _bearer(unit=own.commune)
    session_id = their_session.id
    db.session.commit()
    assert client.get(f"/api/v1/sessions/{session_id}", headers=headers).status_code == 404
    assign_role(user, Role.CENTRE_MANAGER, theirs.commune)
    db.session.commit()
    assert client.get(f"/api/v1/sessions/{session_id}", headers=headers).status_code == 200
    body = _batch(theirs.learners, status="present", at="2026-03-03T12:05:00Z", device="phone", prefix="s")
    assert _post_marks(client, their_session, body, headers, str(uuid.uuid4())).status_code == 200
    # The same scope as before the grant, for another user: still not found.
    assert client.get(f"/api/v1/sessions/{session_id}", headers=other_headers).status_code == 404
    assert _post_marks(client, their_session, body, other_headers, str(uuid.uuid4())).status_code == 404


def test_a_centre_manager_gets_404_for_another_communes_class_and_session(app_ctx, client):
    own = make_centre("23293", learners=1, label="A")
    theirs = make_centre("23302", learners=2, label="B")
    their_class = make_class(theirs)
    services.enrol(their_class, [p.id for p in theirs.learners])
    (their_session,) = services.schedule(their_class, [(datetime(2026, 3, 3, 19), datetime(2026, 3, 3, 21))])
    _, headers = _bearer(unit=own.commune)
    c, s = their_class.id, their_session.id
    for method, url, body in [
        ("GET", f"/api/v1/classes/{c}", None),
        ("GET", f"/api/v1/classes/{c}/sessions", None),
        ("POST", f"/api/v1/classes/{c}/sessions", {"starts_at": "2026-03-05T08:00", "ends_at": "2026-03-05T09:00"}),
        ("GET", f"/api/v1/classes/{c}/enrolments", None),
        ("POST", f"/api/v1/classes/{c}/enrolments", {"person_id": theirs.learners[0].id}),
        ("DELETE", f"/api/v1/classes/{c}/enrolments/{theirs.learners[0].id}", None),
        ("GET", f"/api/v1/classes/{c}/completions", None),
        ("GET", f"/api/v1/sessions/{s}", None),
        ("PATCH", f"/api/v1/sessions/{s}", {"starts_at": "2026-03-03T20:00"}),
        ("POST", f"/api/v1/sessions/{s}/cancel", {}),
        ("GET", f"/api/v1/sessions/{s}/attendance", None),
        ("POST", f"/api/v1/sessions/{s}/attendance", _batch(theirs.learners)),
        ("GET", f"/api/v1/courses/{theirs.course.id}", None),
    ]:
        response = client.open(url, method=method, json=body, headers={**headers, "Idempotency-Key": url})
        assert response.status_code == 404, (method, url, response.status_code)
        assert response.mimetype == "application/problem+json"
    assert client.get("/api/v1/classes", headers=headers).get_json()["total"] == 0
    assert db.session.scalar(select(func.count()).select_from(Attendance)) == 0
    assert db.session.get(ClassSession, s).status == "scheduled"


# --- completions and certificates ----------------------------------------------------------------------------


def test_completions_and_the_public_certificate_shows_initials_only(centre, client, manager):
    learner = Person(
        full_name="Nguyễn Văn An", unit_id=centre.village.id, birth_date=date(1990, 5, 17), phone="0905123456"
    )
    db.session.add(learner)
    db.session.flush()
    course_class = make_class(centre)
    sessions = services.schedule_recurring(
        course_class,
        Recurrence(first_day=date(2026, 3, 2), weekdays=frozenset({0}), start=time(19), end=time(21), count=2),
    )
    services.enrol(course_class, [learner.id, centre.learners[0].id])
    db.session.commit()
    for session in sessions:
        body = {
            "device": "phone-7",
            "marks": [
                {
                    "client_mark_id": str(uuid.uuid4()),
                    "person_id": learner.id,
                    "status": "present",
                    "recorded_at": (session.starts_at - timedelta(hours=7)).isoformat() + "Z",
                }
            ],
        }
        assert _post_marks(client, session, body, manager, str(uuid.uuid4())).status_code == 200
    # The commit queued the completion task (eager in tests): the record and the certificate exist.
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count()).select_from(LearningRecord).where(LearningRecord.class_id == course_class.id)
        )
        == 1
    )
    completions = client.get(f"/api/v1/classes/{course_class.id}/completions", headers=manager).get_json()
    (item,) = completions["items"]
    assert (item["person_id"], item["full_name"], item["kind"]) == (learner.id, "Nguyễn Văn An", "class_completion")
    assert item["hours"] == 12.0
    assert item["completed_on"] == "2026-03-09"
    code = item["certificate"]["code"]
    assert item["certificate"]["revoked"] is False

    public = client.get(f"/api/v1/certificates/{code.lower()}")  # no credentials at all
    assert public.status_code == 200
    assert public.get_json() == {
        "code": code,
        "valid": True,
        "status": "valid",
        "issued_on": "2026-03-09",
        "revoked_on": None,
        "learner": "N. V. An",
        "course": centre.course.name,
        "class": course_class.name,
        "centre": centre.clc.name,
    }
    text = json.dumps(public.get_json(), ensure_ascii=False)
    for secret in ("Nguyễn", "Văn", "1990-05-17", "0905123456", centre.village.name):
        assert secret not in text

    certificate = db.session.scalar(select(Certificate).where(Certificate.code == code))
    certificate.revoked_at = datetime(2026, 4, 2, 3)
    db.session.commit()
    revoked = client.get(f"/api/v1/certificates/{code}").get_json()
    assert (revoked["valid"], revoked["status"], revoked["revoked_on"]) == (False, "revoked", "2026-04-02")
    missing = client.get("/api/v1/certificates/AAAA-BBBB-CCCC")
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"


def test_initials_keep_the_given_name():
    from lms.registry.text import initials_name

    assert initials_name("Nguyễn Văn An") == "N. V. An"
    assert initials_name("  đặng   thị  Hồng Nhung ") == "Đ. T. H. Nhung"
    assert initials_name("Y Hiên") == "Y. Hiên"
    assert initials_name("An") == "An"


# --- inputs the schemas refuse -------------------------------------------------------------------------------

TOO_BIG = 2**63  # one more than a PostgreSQL bigint holds


def test_oversized_ids_and_wrong_shapes_are_422_naming_the_field_never_500(attendance_class, client):
    """Integers beyond a bigint, lists or objects where a scalar or an enum is expected: named field errors."""
    session, learners, headers = attendance_class
    class_id = session.class_id
    course = client.post(
        "/api/v1/courses",
        json={"unit_id": TOO_BIG, "code": ["TH"], "name": "Tin học", "category": {"x": 1}, "planned_hours": [24]},
        headers=headers,
    )
    assert _fields(course) == {"unit_id", "code", "category", "planned_hours"}
    assert _fields(client.get(f"/api/v1/classes?clc_id={TOO_BIG}&course_id=-1&per_page=9999", headers=headers)) == {
        "clc_id",
        "course_id",
        "per_page",
    }
    assert _fields(client.get(f"/api/v1/classes/{class_id}/sessions?status=asleep", headers=headers)) == {"status"}
    enrol = f"/api/v1/classes/{class_id}/enrolments"
    assert _fields(client.post(enrol, json={"person_ids": [[1], TOO_BIG]}, headers=headers)) == {
        "person_ids[0]",
        "person_ids[1]",
    }
    assert _fields(client.post(enrol, json={"association_role": ["chair"]}, headers=headers)) == {"association_role"}
    batch = _batch(learners[:2])
    batch["marks"][0]["person_id"] = TOO_BIG
    batch["marks"][1]["status"] = ["present"]
    batch["device"] = {"name": "phone"}
    assert _fields(_post_marks(client, session, batch, headers)) == {
        "device",
        "marks[0].person_id",
        "marks[1].status",
    }
    assert _fields(
        client.post(
            f"/api/v1/classes/{class_id}/sessions/recurring",
            json={"first_day": "2026-03-02", "weekdays": 1, "start": 19, "end": "21:00", "count": TOO_BIG},
            headers=headers,
        )
    ) == {"weekdays", "start", "count"}
    assert client.get(f"/api/v1/sessions/{TOO_BIG}", headers=headers).status_code == 404
    assert _rows(session.id) == {}


def test_scope_errors_are_named_in_the_callers_language(centre, client, manager):
    outsider = make_centre("23302", learners=1, label="B").learners[0]
    course_class = make_class(centre)
    db.session.commit()
    response = client.post(
        f"/api/v1/classes/{course_class.id}/enrolments",
        json={"person_id": outsider.id},
        headers={**manager, "Accept-Language": "vi"},
    )
    assert _fields(response) == {"person_id"}
    assert response.get_json()["errors"][0]["message"] == f"Không có người {outsider.id} trong phạm vi của bạn."
    english = client.post(
        f"/api/v1/classes/{course_class.id}/enrolments",
        json={"person_id": outsider.id},
        headers={**manager, "Accept-Language": "en"},
    )
    assert english.get_json()["errors"][0]["message"] == f"No person {outsider.id} in your scope."


def test_the_public_certificate_check_keeps_its_rate_limit(rate_limited_app):
    """30 a minute per address, shared with the verification page: the 31st guess is a 429 problem."""
    client = rate_limited_app().test_client()
    statuses = [client.get(f"/api/v1/certificates/AAAA-BBBB-{i:04d}").status_code for i in range(31)]
    assert statuses == [404] * 30 + [429]
    assert client.get("/api/v1/certificates/AAAA-BBBB-CCCC").mimetype == "application/problem+json"
    refused = client.get("/courses/verify/AAAA-BBBB-CCCC")  # the page counts in the same budget
    assert refused.status_code == 429
