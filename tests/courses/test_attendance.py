"""Attendance: all-or-nothing batches, idempotent retries, two devices, constant statement count."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import String, func, select

from courses import services
from courses.models import Attendance, PendingWork
from courses.services import Mark
from lms.core.models import AuditEvent
from lms.extensions import db
from tests.courses.conftest import make_centre, make_class

T0 = datetime(2026, 3, 3, 12, 5)


@pytest.fixture
def session_with_learners(app_ctx):
    centre = make_centre(learners=40)
    course_class = make_class(centre, capacity=40)
    services.enrol(course_class, [p.id for p in centre.learners])
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 3, 19), datetime(2026, 3, 3, 21))])
    return session, centre.learners


def _marks(learners, status="present", at=T0, prefix="dev1"):
    return [Mark(p.id, status, at, f"{prefix}-{p.id}", prefix) for p in learners]


def _rows(session):
    return dict(
        iter(
            db.session.execute(
                select(Attendance.person_id, Attendance.status).where(Attendance.session_id == session.id)
            ).tuples()
        )
    )


def test_same_batch_twice_changes_nothing(session_with_learners):
    session, learners = session_with_learners
    first = services.record_attendance(session, _marks(learners), user_id=None)
    assert (first.created, first.updated) == (40, 0)
    second = services.record_attendance(session, _marks(learners), user_id=None)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 40)
    assert set(_rows(session).values()) == {"present"}


def test_two_devices_latest_recorded_at_wins_and_the_loser_is_audited(session_with_learners):
    session, learners = session_with_learners
    learner = learners[0]
    services.record_attendance(
        session, [Mark(learner.id, "absent", T0 + timedelta(minutes=5), "b-1", "phone-B")], user_id=None
    )
    # Device A synchronises later, but its mark was taken earlier: it loses.
    services.record_attendance(session, [Mark(learner.id, "present", T0, "a-1", "phone-A")], user_id=None)
    assert _rows(session)[learner.id] == "absent"
    # Device C's mark is the latest: it wins, and B's value is kept in the audit trail.
    services.record_attendance(
        session, [Mark(learner.id, "late", T0 + timedelta(minutes=9), "c-1", "phone-C")], user_id=None
    )
    assert _rows(session)[learner.id] == "late"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "attendance.overwrite"))
    assert event.details["old_status"] == "absent"
    assert event.details["old_device"] == "phone-B"


def test_a_bad_mark_among_good_ones_applies_none_and_names_it(session_with_learners, app_ctx):
    session, learners = session_with_learners
    outsider = make_centre("23302", learners=1, label="B").learners[0]
    marks = _marks(learners[:5])
    marks.insert(2, Mark(outsider.id, "present", T0, "x-1"))
    marks.append(Mark(learners[6].id, "asleep", T0, "x-2"))
    with pytest.raises(services.CourseError) as error:
        services.record_attendance(session, marks, user_id=None)
    problems = {(p["index"], p["field"]) for p in error.value.details}
    assert problems == {(2, "person_id"), (6, "status")}
    assert _rows(session) == {}


def test_cancelled_session_takes_no_marks(session_with_learners):
    session, learners = session_with_learners
    services.cancel(session, "Bão")
    with pytest.raises(services.CourseError) as error:
        services.record_attendance(session, _marks(learners[:1]), user_id=None)
    assert error.value.field == "session_id"


def test_retry_after_a_crash_applies_once(session_with_learners):
    """The first attempt's transaction dies before commit; the retry applies the batch exactly once."""
    session, learners = session_with_learners
    db.session.commit()
    services.record_attendance(session, _marks(learners), user_id=None)
    db.session.rollback()  # the crash: nothing of the first attempt remains
    assert _rows(session) == {}
    services.record_attendance(session, _marks(learners), user_id=None)
    services.record_attendance(session, _marks(learners), user_id=None)
    db.session.commit()
    assert (
        db.session.scalar(select(func.count()).select_from(Attendance).where(Attendance.session_id == session.id)) == 40
    )


def test_statement_count_does_not_grow_with_the_class(app_ctx, count_queries):
    counts = {}
    for size, code in ((5, "23293"), (40, "23302")):
        centre = make_centre(code, learners=size, label=str(size))
        course_class = make_class(centre, capacity=size)
        services.enrol(course_class, [p.id for p in centre.learners])
        (session,) = services.schedule(
            course_class, [(datetime(2026, 3, 4, 19), datetime(2026, 3, 4, 21))], room=centre.hall
        )
        marks = _marks(centre.learners)
        db.session.flush()
        db.session.expire_all()
        with count_queries() as counter:
            services.record_attendance(session, marks, user_id=None)
        counts[size] = counter.count
    assert counts[5] == counts[40]


def test_marking_attendance_marks_the_class_dirty(session_with_learners):
    session, learners = session_with_learners
    services.record_attendance(session, _marks(learners[:3]), user_id=None)
    assert db.session.scalar(select(PendingWork).where(PendingWork.subject_id == session.class_id)) is not None


def test_the_same_mark_ids_in_another_session_are_new_marks(app_ctx):
    """Devices number marks their own way: "m-17" in session 2 is not a retry of "m-17" in session 1."""
    centre = make_centre(learners=3, label="IDS")
    course_class = make_class(centre)
    services.enrol(course_class, [p.id for p in centre.learners])
    first, second = services.schedule(
        course_class,
        [(datetime(2026, 3, 3, 19), datetime(2026, 3, 3, 21)), (datetime(2026, 3, 10, 19), datetime(2026, 3, 10, 21))],
    )
    marks = [Mark(p.id, "present", T0, f"m-{p.id}") for p in centre.learners]
    assert services.record_attendance(first, marks, user_id=None).created == 3
    assert services.record_attendance(second, marks, user_id=None).created == 3
    assert len(_rows(second)) == 3


def test_a_fast_device_clock_does_not_beat_a_later_correction(session_with_learners):
    session, learners = session_with_learners
    learner = learners[0]
    from lms.extensions import utcnow

    services.record_attendance(
        session, [Mark(learner.id, "absent", utcnow() + timedelta(minutes=5), "fast-1")], user_id=None
    )
    services.record_attendance(session, [Mark(learner.id, "present", utcnow() + timedelta(seconds=1))], user_id=None)
    assert _rows(session)[learner.id] == "present"


def test_a_losing_mark_of_another_device_is_audited_with_both_values_and_shown_on_the_session_page(
    session_with_learners, client
):
    from lms.auth.models import Role
    from tests.conftest import login, make_user, unit_by_code

    session, learners = session_with_learners
    learner = learners[0]
    services.record_attendance(
        session, [Mark(learner.id, "absent", T0 + timedelta(minutes=5), "b-1", "phone-B")], user_id=None
    )
    # Device A's mark is older: it loses, and is no longer dropped silently.
    result = services.record_attendance(session, [Mark(learner.id, "present", T0, "a-1", "phone-A")], user_id=None)
    assert result.unchanged == 1
    assert _rows(session)[learner.id] == "absent"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "attendance.conflict"))
    assert event is not None
    assert (event.details["kept_status"], event.details["kept_device"]) == ("absent", "phone-B")
    assert (event.details["lost_status"], event.details["lost_device"]) == ("present", "phone-A")
    # The same value again from another device is no conflict.
    services.record_attendance(session, [Mark(learner.id, "absent", T0, "a-2", "phone-A")], user_id=None)
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "attendance.conflict")) == 1

    manager = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "conflicts@example.vn")
    db.session.commit()
    login(client, manager)
    page = client.get(f"/courses/sessions/{session.id}").get_data(as_text=True)
    assert 'id="mark-conflicts"' in page
    assert learner.full_name in page
    assert "phone-A" in page
    assert "phone-B" in page


def test_an_overwrite_keeps_both_marks_exactly_in_one_event_each_before_the_batchs_own(session_with_learners):
    """The audit of a re-sync, field by field and in order: one ``attendance.overwrite`` per mark whose status a
    newer one replaced (the stored mark as it was, the newer as the device sent it: its own time, even a little
    fast, and its whole device name), none for a mark that kept its status, then the batch's ``attendance.record``.
    On PostgreSQL the stored text too, which SQL reading the trail sees: what ``json.dumps`` writes. The session
    page, the duplicate-conflict check and the device-conflict drill read these events; a faster way of writing
    them must keep this test as it is."""
    from lms.extensions import utcnow

    session, learners = session_with_learners
    a, b, c = learners[:3]
    first_at = datetime(2026, 3, 3, 12, 5, 7, 120000)
    device_a = 'phône "A" \\ 1'
    services.record_attendance(
        session,
        [
            Mark(a.id, "absent", first_at, "a-1", device_a),
            Mark(b.id, "late", first_at, "a-2", device_a),
            Mark(c.id, "present", first_at, "a-3", device_a),
        ],
        user_id=None,
    )
    fast = utcnow().replace(microsecond=0) + timedelta(minutes=5)  # a device clock a few minutes ahead
    device_b = "máy tính bảng " + "x" * 100  # longer than the column: stored cut, audited whole
    result = services.record_attendance(
        session,
        [
            Mark(a.id, "present", fast, "b-1", device_b),
            Mark(b.id, "late", T0 + timedelta(minutes=9), "b-2", device_b),  # the same status: no event
            Mark(c.id, "excused", T0 + timedelta(minutes=9, microseconds=5), "b-3", device_b),
        ],
        user_id=None,
        event={"device": device_b},
    )
    assert (result.created, result.updated, result.unchanged) == (0, 3, 0)
    rows = db.session.execute(
        select(AuditEvent.action, AuditEvent.details, AuditEvent.object_id)
        .where(AuditEvent.action.like("attendance.%"))
        .order_by(AuditEvent.id)
    ).all()
    expected = [
        {
            "person_id": a.id,
            "old_status": "absent",
            "old_recorded_at": "2026-03-03T12:05:07.120000",
            "old_device": device_a,
            "new_status": "present",
            "new_recorded_at": fast.isoformat(),
            "new_device": device_b,
        },
        {
            "person_id": c.id,
            "old_status": "present",
            "old_recorded_at": "2026-03-03T12:05:07.120000",
            "old_device": device_a,
            "new_status": "excused",
            "new_recorded_at": "2026-03-03T12:14:00.000005",
            "new_device": device_b,
        },
    ]
    record = {"device": device_b, "created": 0, "updated": 3, "unchanged": 0}
    assert [(action, details) for action, details, _ in rows] == [
        ("attendance.overwrite", expected[0]),
        ("attendance.overwrite", expected[1]),
        ("attendance.record", record),
    ]
    assert {object_id for *_, object_id in rows} == {str(session.id)}
    assert _rows(session)[a.id] == "present"
    if db.engine.dialect.name == "postgresql":
        stored = db.session.scalars(
            select(func.cast(AuditEvent.details, String))
            .where(AuditEvent.action == "attendance.overwrite")
            .order_by(AuditEvent.id)
        ).all()
        assert stored == [json.dumps(entry, ensure_ascii=False) for entry in expected]
