"""The API's share of two workflows the pages have: correcting a class after it was created (PATCH on the class), and
cancelling a session already held only as previewed (``dry_run=true``, then the cancel carrying the preview's digest).
Both go through the service the pages use, so the rules, the locks and the audit are the pages' own."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

import pytest
from sqlalchemy import select

from courses import services
from courses.models import Certificate, ClassSession, Enrolment
from courses.scheduling import Recurrence
from courses.services import Mark
from lms.auth.models import ApiToken, Role
from lms.core.models import AuditEvent
from lms.extensions import db
from tests.conftest import make_user
from tests.courses.conftest import make_centre, make_class

AFTER = datetime(2026, 4, 1, 12)


def _bearer(unit):
    user = make_user(Role.CENTRE_MANAGER, unit, f"api-{uuid.uuid4().hex[:8]}@example.vn")
    _, secret = ApiToken.issue(user, "integration")
    return {"Authorization": f"Bearer {secret}"}


def _problem(response, status):
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def _statuses(course_class):
    rows = db.session.execute(
        select(Enrolment.person_id, Enrolment.status).where(Enrolment.class_id == course_class.id)
    ).tuples()
    return dict(iter(rows))


@pytest.fixture
def full_class(app_ctx):
    """A class of 2 seats with 5 people enrolled in this order (3 waiting), a session on 09/03/2026; the managers of
    its commune and of another."""
    centre = make_centre()
    course_class = make_class(centre, capacity=2)
    services.enrol(course_class, [p.id for p in centre.learners[:5]])
    services.schedule(course_class, [(datetime(2026, 3, 9, 8), datetime(2026, 3, 9, 10))])
    other = make_centre("23302", label="B")
    headers = {"own": _bearer(centre.commune), "other": _bearer(other.commune)}
    db.session.commit()
    return centre, course_class, headers, other


# --- PATCH /classes/<id> ---------------------------------------------------------------------------------------


def test_more_seats_move_the_waiting_list_up_in_order_and_the_instructors_change(client, full_class):
    centre, course_class, headers, _ = full_class
    learners = centre.learners
    response = client.patch(
        f"/api/v1/classes/{course_class.id}",
        json={"capacity": 4, "instructor_ids": [learners[5].id]},
        headers=headers["own"],
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["promoted"] == [learners[2].id, learners[3].id]  # the waiting list's order
    assert body["capacity"] == 4
    assert body["instructor_ids"] == [learners[5].id]
    assert body["name"] == "Lớp cà phê tháng 3"  # what was left out stays
    assert body["room_id"] == centre.room.id
    db.session.expire_all()
    statuses = _statuses(course_class)
    assert [statuses[p.id] for p in learners[:5]] == ["enrolled"] * 4 + ["waitlisted"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "class.update"))
    assert event is not None
    assert event.details["promoted"] == [learners[2].id, learners[3].id]
    detail = client.get(f"/api/v1/classes/{course_class.id}", headers=headers["own"]).get_json()
    assert [i["person_id"] for i in detail["instructors"]] == [learners[5].id]
    assert detail["counts"]["waitlisted"] == 1


def test_the_name_the_room_and_the_dates_change_alone(client, full_class):
    centre, course_class, headers, _ = full_class
    url = f"/api/v1/classes/{course_class.id}"
    response = client.patch(
        url, json={"name": "Lớp cà phê buổi tối", "room_id": None, "ends_on": "2026-04-10"}, headers=headers["own"]
    )
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    assert (course_class.name, course_class.room_id, course_class.ends_on) == (
        "Lớp cà phê buổi tối",
        None,
        date(2026, 4, 10),
    )
    assert course_class.capacity == 2
    assert client.patch(url, json={"room_id": centre.hall.id}, headers=headers["own"]).get_json()["room_id"] == (
        centre.hall.id
    )


def test_what_would_break_the_class_is_refused_on_its_field_in_vietnamese(client, full_class):
    centre, course_class, headers, other = full_class
    url = f"/api/v1/classes/{course_class.id}"
    fewer = _problem(client.patch(url, json={"capacity": 1}, headers=headers["own"]), 422)
    assert fewer["errors"][0]["field"] == "capacity"
    assert "2" in fewer["errors"][0]["message"]
    assert "chỗ" in fewer["errors"][0]["message"]  # Vietnamese by default: says to keep 2 seats or withdraw
    outside = _problem(client.patch(url, json={"ends_on": "2026-03-05"}, headers=headers["own"]), 422)
    assert outside["errors"][0]["field"] == "ends_on"
    assert "09/03/2026" in outside["errors"][0]["message"]
    stranger = other.learners[0].id  # lives in another commune
    not_here = _problem(
        client.patch(url, json={"instructor_ids": [centre.learners[5].id, stranger]}, headers=headers["own"]), 422
    )
    assert [e["field"] for e in not_here["errors"]] == ["instructor_ids[1]"]
    assert not_here["errors"][0]["message"] == "Chọn người cư trú trong xã."
    assert _problem(client.patch(url, json={}, headers=headers["own"]), 422)["errors"][0]["field"] == ""
    null = _problem(client.patch(url, json={"name": None}, headers=headers["own"]), 422)
    assert null["errors"][0]["field"] == "name"
    room = _problem(client.patch(url, json={"room_id": other.room.id}, headers=headers["own"]), 422)
    assert room["errors"][0]["field"] == "room_id"
    db.session.expire_all()
    assert (course_class.capacity, course_class.ends_on, course_class.room_id) == (2, date(2026, 3, 31), centre.room.id)
    assert not list(course_class.instructors)


def test_another_commune_s_class_is_not_found_whatever_the_body(client, full_class):
    _, course_class, headers, _ = full_class
    url = f"/api/v1/classes/{course_class.id}"
    assert _problem(client.patch(url, json={"capacity": 40}, headers=headers["other"]), 404)
    assert _problem(client.patch(url, json={"capacity": "lots"}, headers=headers["other"]), 404)
    db.session.expire_all()
    assert course_class.capacity == 2


# --- POST /sessions/<id>/cancel: preview, then confirm ---------------------------------------------------------


@pytest.fixture
def certified(app_ctx):
    """Four Monday sessions from 02/03/2026; a learner marked present at three and absent at the second — the 75 % the
    course asks, so a certificate; cancelling the first session leaves two of three and revokes it."""
    centre = make_centre()
    learner = centre.learners[0]
    course_class = make_class(centre)
    sessions = services.schedule_recurring(
        course_class,
        Recurrence(first_day=date(2026, 3, 2), weekdays=frozenset({0}), start=time(19), end=time(21), count=4),
    )
    services.enrol(course_class, [learner.id])
    for session, status in zip(sessions, ["present", "absent", "present", "present"], strict=True):
        services.record_attendance(session, [Mark(learner.id, status, datetime(2026, 3, 1, 8))], user_id=None)
    services.recompute_class(course_class.id, as_of=AFTER)
    certificate = db.session.scalar(select(Certificate).where(Certificate.class_id == course_class.id))
    assert certificate is not None
    other = make_centre("23302", label="B")
    headers = {"own": _bearer(centre.commune), "other": _bearer(other.commune)}
    db.session.commit()
    return centre, course_class, sessions, certificate, headers


def test_a_held_session_is_cancelled_only_as_previewed(client, certified):
    centre, course_class, sessions, certificate, headers = certified
    first = sessions[0]
    url = f"/api/v1/sessions/{first.id}/cancel"
    preview = client.post(f"{url}?dry_run=true", json={"reason": "Nhập nhầm buổi"}, headers=headers["own"])
    assert preview.status_code == 200, preview.get_json()
    shown = preview.get_json()
    assert shown["dry_run"] is True
    assert shown["status"] == "scheduled"
    assert shown["consequences"]["marks"] == 1
    assert shown["consequences"]["revoked"] == [
        {"learner": centre.learners[0].full_name, "certificate_code": certificate.code}
    ]
    assert shown["consequences"]["needs_confirmation"] is True
    db.session.expire_all()
    assert first.status == "scheduled"  # the preview wrote nothing
    # Without the preview's digest: refused, saying what to send.
    unconfirmed = _problem(client.post(url, json={"reason": "Nhập nhầm buổi"}, headers=headers["own"]), 422)
    assert unconfirmed["errors"][0]["field"] == "preview_digest"
    assert "dry_run=true" in unconfirmed["errors"][0]["message"]
    assert "lượt điểm danh" in unconfirmed["errors"][0]["message"]
    # A mark entered after the preview: the confirmation was for what was shown, so it is refused with the new one.
    services.enrol(course_class, [centre.learners[1].id])
    services.record_attendance(first, [Mark(centre.learners[1].id, "present", datetime(2026, 3, 2, 23))], user_id=None)
    db.session.commit()
    digest = shown["consequences"]["preview_digest"]
    stale = _problem(
        client.post(url, json={"reason": "Nhập nhầm buổi", "preview_digest": digest}, headers=headers["own"]), 409
    )
    assert stale["errors"][0]["field"] == "preview_digest"
    assert "kiểm tra lại" in stale["detail"]
    assert stale["preview"]["marks"] == 2
    assert stale["preview"]["preview_digest"] != digest
    db.session.expire_all()
    assert first.status == "scheduled"
    done = client.post(
        url,
        json={"reason": "Nhập nhầm buổi", "preview_digest": stale["preview"]["preview_digest"]},
        headers=headers["own"],
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["status"] == "cancelled"
    assert done.get_json()["dry_run"] is False
    assert done.get_json()["consequences"]["marks"] == 2
    db.session.expire_all()
    assert first.status == "cancelled"
    assert first.note == "Nhập nhầm buổi"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "session.cancel")).all()
    assert [e.object_id for e in events] == [str(first.id)]
    again = _problem(client.post(f"{url}?dry_run=true", json={}, headers=headers["own"]), 422)
    assert again["errors"][0]["field"] == "status"


def test_a_session_not_held_is_cancelled_without_a_preview_and_a_dry_run_is_not_its_replay(client, certified):
    """Nothing rests on a session to come: no confirmation needed (as before). A dry run and the cancel sent with the
    same Idempotency-Key are two requests: the key's replay of the preview must not pass for the cancel."""
    centre, _, _, _, headers = certified
    later = make_class(centre, starts_on=date(2030, 3, 1), ends_on=date(2030, 3, 31), name="Lớp năm 2030")
    services.enrol(later, [centre.learners[2].id])
    (coming,) = services.schedule(later, [(datetime(2030, 3, 26, 19), datetime(2030, 3, 26, 21))])
    db.session.commit()
    url = f"/api/v1/sessions/{coming.id}/cancel"
    key = {"Idempotency-Key": f"k-{uuid.uuid4().hex}"}
    preview = client.post(f"{url}?dry_run=true", json={"reason": "Bão"}, headers={**headers["own"], **key})
    assert preview.status_code == 200
    assert preview.get_json()["consequences"]["needs_confirmation"] is False
    reused = client.post(url, json={"reason": "Bão"}, headers={**headers["own"], **key})
    assert _problem(reused, 422)["errors"][0]["field"] == "Idempotency-Key"
    db.session.expire_all()
    assert db.session.get(ClassSession, coming.id).status == "scheduled"
    done = client.post(url, json={"reason": "Bão"}, headers=headers["own"])
    assert done.status_code == 200
    assert done.get_json()["status"] == "cancelled"


def test_another_commune_s_session_is_not_found_for_the_preview_or_the_cancel(client, certified):
    _, _, sessions, _, headers = certified
    url = f"/api/v1/sessions/{sessions[0].id}/cancel"
    assert _problem(client.post(f"{url}?dry_run=true", json={}, headers=headers["other"]), 404)
    assert _problem(client.post(url, json={"preview_digest": "x"}, headers=headers["other"]), 404)
    db.session.expire_all()
    assert sessions[0].status == "scheduled"


# --- PUT /classes/<id>/enrolments/<person>/assessment ---------------------------------------------------------


def test_a_final_assessment_is_recorded_and_completion_follows_it(client, full_class):
    centre, course_class, headers, _ = full_class
    centre.course.requires_assessment = True
    db.session.commit()
    learner = centre.learners[0]
    url = f"/api/v1/classes/{course_class.id}/enrolments/{learner.id}/assessment"
    response = client.put(url, json={"passed": True}, headers=headers["own"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"class_id": course_class.id, "person_id": learner.id, "passed": True, "before": None}
    db.session.expire_all()
    passed = db.session.scalar(
        select(Enrolment.assessment_passed).where(
            Enrolment.class_id == course_class.id, Enrolment.person_id == learner.id
        )
    )
    assert passed is True
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "class.assessment"))
    assert event is not None
    assert event.details["person_id"] == learner.id
    again = client.put(url, json={"passed": None}, headers=headers["own"]).get_json()
    assert (again["passed"], again["before"]) == (None, True)
    listed = client.get(f"/api/v1/classes/{course_class.id}/enrolments", headers=headers["own"]).get_json()
    assert {i["person_id"]: i["assessment_passed"] for i in listed["items"]}[learner.id] is None


def test_an_assessment_is_refused_where_there_is_none_or_for_someone_not_seated(client, full_class):
    centre, course_class, headers, _ = full_class
    seated, waiting = centre.learners[0], centre.learners[4]
    url = f"/api/v1/classes/{course_class.id}/enrolments/{{}}/assessment"
    none = _problem(client.put(url.format(seated.id), json={"passed": True}, headers=headers["own"]), 422)
    assert none["errors"][0]["field"] == "passed"
    assert none["errors"][0]["message"] == "khóa học này không có bài kiểm tra cuối khóa"
    centre.course.requires_assessment = True
    db.session.commit()
    not_seated = _problem(client.put(url.format(waiting.id), json={"passed": True}, headers=headers["own"]), 422)
    assert not_seated["errors"][0]["field"] == "person_id"
    assert _problem(client.put(url.format(seated.id), json={"passed": "có"}, headers=headers["own"]), 422)
    assert _problem(client.put(url.format(seated.id), json={"passed": True}, headers=headers["other"]), 404)
    db.session.expire_all()
    assert not db.session.scalars(
        select(Enrolment.assessment_passed).where(
            Enrolment.class_id == course_class.id, Enrolment.assessment_passed.is_not(None)
        )
    ).all()


def test_a_manager_of_several_communes_names_instructors_of_the_class_s_own_commune(client, full_class):
    """The pages offer only people of the class's commune as instructors; the API follows the same rule for a caller
    whose scope covers several communes (it used to accept anyone in the caller's scope when creating a class)."""
    from lms.registry.models import AdminUnit

    centre, course_class, _, other = full_class
    above = db.session.get(AdminUnit, centre.commune.parent_id)
    assert other.commune.path.startswith(above.path)  # one scope over both communes
    headers = _bearer(above)
    db.session.commit()
    stranger = other.learners[0].id
    body = {
        "course_id": centre.course.id,
        "clc_id": centre.clc.id,
        "name": "Lớp tháng 5",
        "capacity": 10,
        "starts_on": "2026-05-04",
        "ends_on": "2026-05-29",
        "instructor_ids": [centre.learners[5].id, stranger],
    }
    created = _problem(client.post("/api/v1/classes", json=body, headers=headers), 422)
    assert [e["field"] for e in created["errors"]] == ["instructor_ids[1]"]
    edited = _problem(
        client.patch(f"/api/v1/classes/{course_class.id}", json={"instructor_ids": [stranger]}, headers=headers), 422
    )
    assert [e["field"] for e in edited["errors"]] == ["instructor_ids[0]"]
    ok = client.post("/api/v1/classes", json={**body, "instructor_ids": [centre.learners[5].id]}, headers=headers)
    assert ok.status_code == 201, ok.get_json()
