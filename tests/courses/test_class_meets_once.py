"""A class meets once at a time: a session overlapping another of its own sessions is refused, as a clash of its
room, instructors or learners is. A class with none of those yet (an outdoor class, no room; its instructors and
learners still to come) was not checked at all: "Schedule" pressed twice gave the same session twice, and the
confirmed series twice."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from sqlalchemy import func, select

from courses import services
from courses.models import ClassSession
from courses.scheduling import Recurrence
from lms.extensions import db

EVENING = (datetime(2026, 3, 3, 19), datetime(2026, 3, 3, 21))


@pytest.fixture
def bare_class(centre):
    """Held in the village yard: no room, no instructor, nobody enrolled yet."""
    return services.create_class(
        course=centre.course,
        clc=centre.clc,
        name="Lớp ngoài sân",
        capacity=30,
        starts_on=date(2026, 3, 2),
        ends_on=date(2026, 3, 31),
    )


def _count(course_class) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ClassSession).where(ClassSession.class_id == course_class.id)
    )


def test_the_same_session_twice_is_refused(bare_class):
    services.schedule(bare_class, [EVENING], place="Sân nhà văn hóa")
    with pytest.raises(services.CourseError) as refused:
        services.schedule(bare_class, [(datetime(2026, 3, 3, 20), datetime(2026, 3, 3, 22))], place="Sân nhà văn hóa")
    assert refused.value.field == "starts_at"
    assert "03/03/2026" in str(refused.value)
    assert _count(bare_class) == 1
    # Touching is not overlapping; a cancelled session frees its time.
    services.schedule(bare_class, [(datetime(2026, 3, 3, 21), datetime(2026, 3, 3, 22))])
    (first,) = [s for s in db.session.scalars(select(ClassSession)) if s.starts_at == EVENING[0]]
    services.cancel(first)
    services.schedule(bare_class, [EVENING])
    assert _count(bare_class) == 3


def test_a_series_confirmed_twice_is_written_once(bare_class):
    rule = Recurrence(first_day=date(2026, 3, 2), weekdays=frozenset({1}), start=time(19), end=time(21), count=3)
    services.schedule_recurring(bare_class, rule)
    with pytest.raises(services.CourseError):
        services.schedule_recurring(bare_class, rule)
    assert _count(bare_class) == 3


def test_a_session_cannot_be_moved_onto_another_of_its_class(bare_class):
    first, second = services.schedule(bare_class, [EVENING, (datetime(2026, 3, 10, 19), datetime(2026, 3, 10, 21))])
    with pytest.raises(services.CourseError):
        services.reschedule(second, datetime(2026, 3, 3, 20), datetime(2026, 3, 3, 22))
    services.reschedule(second, datetime(2026, 3, 4, 19), datetime(2026, 3, 4, 21))  # another evening: fine
    assert first.starts_at == EVENING[0]


def test_the_schedule_button_pressed_twice_gives_one_session_and_says_why(bare_class, client):
    from lms.auth.models import Role
    from tests.conftest import csrf_token, login, make_user

    user = make_user(Role.CENTRE_MANAGER, db.session.get(type(bare_class.clc), bare_class.clc_id).commune)
    db.session.commit()
    login(client, user)
    data = {
        "csrf_token": csrf_token(client, "/courses/classes"),
        "single-day": "2026-03-03",
        "single-start": "19:00",
        "single-end": "21:00",
        "single-room": 0,
    }
    assert client.post(f"/courses/classes/{bare_class.id}/sessions", data=data).status_code == 302
    again = client.post(f"/courses/classes/{bare_class.id}/sessions", data=data)
    assert again.status_code == 200
    assert "lớp đã có một buổi học từ 03/03/2026 19:00 đến 21:00" in again.get_data(as_text=True)
    assert _count(bare_class) == 1
