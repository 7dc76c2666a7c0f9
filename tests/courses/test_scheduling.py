"""Intervals, recurrence with holidays and reschedules, conflicts for rooms, instructors and learners."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from courses import services
from courses.models import ClassSession, Holiday
from courses.scheduling import Recurrence, ScheduleError, expand, overlaps
from courses.services import Mark
from lms.extensions import db
from lms.registry.services import country
from tests.courses.conftest import make_class

NINE, TEN, ELEVEN = datetime(2026, 3, 3, 9), datetime(2026, 3, 3, 10), datetime(2026, 3, 3, 11)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((NINE, ELEVEN), (NINE, TEN), True),  # same start
        ((NINE, ELEVEN), (datetime(2026, 3, 3, 9, 30), TEN), True),  # contained
        ((NINE, TEN), (datetime(2026, 3, 3, 9, 30), ELEVEN), True),  # overlapping
        ((NINE, TEN), (TEN, ELEVEN), False),  # touching
        ((NINE, TEN), (datetime(2026, 3, 3, 10, 30), ELEVEN), False),  # disjoint
        ((NINE, ELEVEN), (NINE, ELEVEN), True),  # identical
    ],
)
def test_interval_truth_table(a, b, expected):
    assert overlaps(a, b) is expected
    assert overlaps(b, a) is expected  # symmetric


def test_recurrence_over_a_month_skips_the_holiday():
    rule = Recurrence(
        first_day=date(2026, 4, 1), weekdays=frozenset({1, 3}), start=time(19), end=time(21), until=date(2026, 4, 30)
    )
    sessions = expand(rule, holidays={date(2026, 4, 30)})  # Reunification Day is a Thursday in 2026
    days = [start.date() for start, _ in sessions]
    assert days == [date(2026, 4, d) for d in (2, 7, 9, 14, 16, 21, 23, 28)]
    assert all(start.time() == time(19) and end.time() == time(21) for start, end in sessions)


def test_recurrence_by_count_every_two_weeks_does_not_count_holidays():
    rule = Recurrence(
        first_day=date(2026, 2, 2), weekdays=frozenset({0}), start=time(8), end=time(10), every_weeks=2, count=3
    )
    days = [s.date() for s, _ in expand(rule, holidays={date(2026, 2, 16)})]  # Tết 2026
    assert days == [date(2026, 2, 2), date(2026, 3, 2), date(2026, 3, 16)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": time(10), "end": time(9)}, "end"),
        ({"weekdays": frozenset()}, "weekdays"),
        ({"until": date(2026, 4, 2), "weekdays": frozenset({6})}, "until"),  # no Sunday in 1–2 April
        ({"until": None, "count": None}, "until"),
    ],
)
def test_recurrence_errors_name_the_field(kwargs, field):
    base = {
        "first_day": date(2026, 4, 1),
        "weekdays": frozenset({1}),
        "start": time(9),
        "end": time(10),
        "until": date(2026, 4, 30),
    }
    with pytest.raises(ScheduleError) as error:
        expand(Recurrence(**{**base, **kwargs}))
    assert error.value.field == field


def test_scheduling_skips_national_holidays_and_a_reschedule_keeps_its_origin(centre):
    db.session.add(Holiday(unit_id=country().id, day=date(2026, 3, 10), name="Ngày nghỉ thử"))
    course_class = make_class(centre)
    sessions = services.schedule_recurring(
        course_class,
        Recurrence(
            first_day=date(2026, 3, 3), weekdays=frozenset({1}), start=time(19), end=time(21), until=date(2026, 3, 31)
        ),
    )
    assert [s.starts_at.day for s in sessions] == [3, 17, 24, 31]
    moved = sessions[1]
    services.reschedule(moved, datetime(2026, 3, 18, 19), datetime(2026, 3, 18, 21))
    assert moved.original_starts_at == datetime(2026, 3, 17, 19)
    assert moved.starts_at == datetime(2026, 3, 18, 19)
    services.cancel(sessions[2], "Mưa lớn")
    assert db.session.get(ClassSession, sessions[2].id).status == "cancelled"


def test_one_session_put_or_moved_on_a_holiday_is_refused_naming_the_day(centre):
    """A holiday is a day with no sessions: the series skips it (above), and a session added by hand or moved onto it
    is refused with the day and the holiday's name (revc's finding: a single session on Tết went in without a word)."""
    db.session.add(Holiday(unit_id=country().id, day=date(2026, 3, 10), name="Ngày nghỉ thử"))
    course_class = make_class(centre)
    with pytest.raises(services.CourseError) as error:
        services.schedule(course_class, [(datetime(2026, 3, 10, 19), datetime(2026, 3, 10, 21))])
    assert error.value.field == "starts_at"
    assert "10/03/2026" in str(error.value)
    assert "Ngày nghỉ thử" in str(error.value)
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 11, 19), datetime(2026, 3, 11, 21))])
    with pytest.raises(services.CourseError):
        services.reschedule(session, datetime(2026, 3, 10, 19), datetime(2026, 3, 10, 21))
    services.reschedule(session, datetime(2026, 3, 11, 18), datetime(2026, 3, 11, 20))  # the same day: fine


def test_room_conflicts_are_refused_and_touching_sessions_are_not(centre):
    first = make_class(centre, name="Lớp sáng")
    second = make_class(centre, name="Lớp trưa")
    services.schedule(first, [(datetime(2026, 3, 5, 8), datetime(2026, 3, 5, 10))])
    services.schedule(second, [(datetime(2026, 3, 5, 10), datetime(2026, 3, 5, 11))])  # touches: fine
    with pytest.raises(services.CourseError) as error:
        services.schedule(second, [(datetime(2026, 3, 5, 9), datetime(2026, 3, 5, 10))])
    assert error.value.field == "starts_at"
    assert error.value.details[0]["resource"] == "room"
    # Another room at the same time is fine.
    services.schedule(second, [(datetime(2026, 3, 5, 9), datetime(2026, 3, 5, 10))], room=centre.hall)


def test_instructor_and_learner_conflicts(centre):
    teacher, learner = centre.learners[0], centre.learners[1]
    first = make_class(centre, name="Lớp một")
    second = make_class(centre, name="Lớp hai")
    services.set_instructors(first, [(teacher.id, "instructor")])
    services.set_instructors(second, [(teacher.id, "instructor")])
    services.schedule(first, [(datetime(2026, 3, 6, 8), datetime(2026, 3, 6, 10))])
    with pytest.raises(services.CourseError) as error:
        services.schedule(second, [(datetime(2026, 3, 6, 9), datetime(2026, 3, 6, 11))], room=centre.hall)
    assert {d["resource"] for d in error.value.details} == {"instructor"}
    services.set_instructors(second, [])
    services.enrol(first, [learner.id])
    services.enrol(second, [learner.id])
    with pytest.raises(services.CourseError) as error:
        services.schedule(second, [(datetime(2026, 3, 6, 9), datetime(2026, 3, 6, 11))], room=centre.hall)
    assert {d["resource"] for d in error.value.details} == {"learner"}


def test_sessions_outside_the_class_dates_or_backwards_are_refused(centre):
    course_class = make_class(centre)
    with pytest.raises(services.CourseError) as error:
        services.schedule(course_class, [(datetime(2026, 4, 2, 8), datetime(2026, 4, 2, 9))])
    assert error.value.field == "starts_at"
    with pytest.raises(services.CourseError) as error:
        services.schedule(course_class, [(datetime(2026, 3, 2, 9), datetime(2026, 3, 2, 8))])
    assert error.value.field == "ends_at"
    assert db.session.query(ClassSession).filter_by(class_id=course_class.id).count() == 0


@pytest.mark.postgresql  # the exclusion constraint is PostgreSQL's; SQLite relies on the application check above
def test_database_refuses_double_booked_room_on_postgresql(centre):
    from sqlalchemy.exc import IntegrityError

    course_class = make_class(centre)
    db.session.add(
        ClassSession(
            class_id=course_class.id,
            starts_at=datetime(2026, 3, 9, 8),
            ends_at=datetime(2026, 3, 9, 10),
            room_id=centre.room.id,
        )
    )
    db.session.flush()
    clash = ClassSession(
        class_id=course_class.id,
        starts_at=datetime(2026, 3, 9, 9),
        ends_at=datetime(2026, 3, 9, 11),
        room_id=centre.room.id,
    )
    savepoint = db.session.begin_nested()
    db.session.add(clash)
    with pytest.raises(IntegrityError):
        db.session.flush()
    savepoint.rollback()


def test_a_room_of_another_centre_is_refused_and_a_room_change_keeps_the_time(centre, app_ctx):
    from tests.courses.conftest import make_centre

    other = make_centre("23302", learners=1, label="R")
    course_class = make_class(centre)
    with pytest.raises(services.CourseError) as error:
        services.schedule(course_class, [(datetime(2026, 3, 5, 8), datetime(2026, 3, 5, 9))], room=other.room)
    assert error.value.field == "room_id"
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 5, 8), datetime(2026, 3, 5, 9))])
    services.reschedule(session, session.starts_at, session.ends_at, room=centre.hall)
    assert session.room_id == centre.hall.id
    assert session.original_starts_at is None  # only the room changed


def test_old_idempotency_answers_are_purged(app_ctx):
    from datetime import timedelta

    from courses.tasks import purge_idempotency_keys
    from lms.api.models import IdempotentRequest
    from lms.auth.models import Role
    from lms.extensions import utcnow
    from tests.conftest import make_user, unit_by_code

    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    for key, age in (("old", 8), ("recent", 1)):
        db.session.add(
            IdempotentRequest(
                user_id=user.id,
                key=key,
                request_hash="x" * 64,
                status_code=200,
                response={},
                created_at=utcnow() - timedelta(days=age),
            )
        )
    db.session.commit()
    purge_idempotency_keys.delay()
    db.session.expire_all()
    assert sorted(db.session.scalars(db.select(IdempotentRequest.key))) == ["recent"]


def test_shipped_national_holidays_make_a_weekly_class_skip_tet(centre, app_ctx):
    assert services.load_national_holidays() > 30
    assert services.load_national_holidays() == 0  # idempotent
    course_class = make_class(centre, starts_on=date(2026, 2, 1), ends_on=date(2026, 3, 1))
    sessions = services.schedule_recurring(
        course_class,
        Recurrence(first_day=date(2026, 2, 2), weekdays=frozenset({0, 2}), start=time(19), end=time(21), count=6),
    )
    days = [s.starts_at.date() for s in sessions]
    assert date(2026, 2, 16) not in days  # the eve of Tết Bính Ngọ
    assert date(2026, 2, 18) not in days  # the second day of Tết
    assert days == [date(2026, 2, d) for d in (2, 4, 9, 11, 23, 25)]


def test_a_province_holiday_applies_only_under_that_province(centre, app_ctx):
    from tests.conftest import unit_by_code

    province = unit_by_code("51", "province")
    services.add_holiday(province, date(2026, 3, 10), "Ngày hội của tỉnh")
    with pytest.raises(services.CourseError):
        services.add_holiday(province, date(2026, 3, 10), "again")
    assert date(2026, 3, 10) in services.holidays_for(centre.commune, date(2026, 3, 1), date(2026, 3, 31))
    elsewhere = unit_by_code("01", "province")  # Hà Nội
    assert date(2026, 3, 10) not in services.holidays_for(elsewhere, date(2026, 3, 1), date(2026, 3, 31))


def test_a_held_session_with_marks_cannot_move_to_a_day_not_yet_come(centre):
    """Its roll call says it took place: moved to next month, its marks would stand for a session still to come (and
    the class would stop being complete). Correcting its day in the past stays possible."""
    course_class = make_class(centre, starts_on=date(2026, 11, 1), ends_on=date(2027, 2, 28))
    (held,) = services.schedule(course_class, [(datetime(2026, 11, 2, 19), datetime(2026, 11, 2, 21))])
    services.enrol(course_class, [centre.learners[0].id])
    services.record_attendance(held, [Mark(centre.learners[0].id, "present", datetime(2026, 11, 2, 13))], user_id=None)
    with pytest.raises(services.CourseError, match="1 attendance marks"):
        services.reschedule(held, datetime(2027, 1, 5, 19), datetime(2027, 1, 5, 21))
    services.reschedule(held, datetime(2026, 11, 3, 19), datetime(2026, 11, 3, 21))
    assert held.starts_at == datetime(2026, 11, 3, 19)
