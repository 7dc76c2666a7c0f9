"""The start page reminds whoever takes the roll calls of the classes waiting on one (ADR 54): a held session nobody
took the attendance of counts against nobody, and the learners whose completion it could decide wait — so the
manager (and the teacher) sees it where they land after login, not only on the class page."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from courses import queries, services
from courses.models import CourseClass
from courses.panels import WAITING_SHOWN
from courses.services import Mark
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import login, make_user
from tests.courses.conftest import make_centre, make_class

MARKED = datetime(2026, 3, 1, 8)


def _class_with_sessions(centre, name, days, *, recorded=()):
    """A class of March 2026 with a two-hour session at 19:00 on each of ``days`` (days of March, each class its own
    days, so the centre's room is free); the roll call taken of those in ``recorded``."""
    course_class = make_class(centre, name=name)
    sessions = services.schedule(course_class, [(datetime(2026, 3, d, 19), datetime(2026, 3, d, 21)) for d in days])
    services.enrol(course_class, [centre.learners[0].id])
    for session in sessions:
        if session.starts_at.day in recorded:
            services.record_attendance(session, [Mark(centre.learners[0].id, "present", MARKED)], user_id=None)
    return course_class, sessions


def _listed(page: str) -> list[tuple[str, str, str, str]]:
    """The reminder's classes: (name, count, since, roll-call link)."""
    box = page.split('id="waiting-roll-calls"')[1].split("</section>")[0]
    return re.findall(
        r'class="fw-semibold" href="[^"]+">([^<]+)</a>.*?class="waiting-count">([^<]+)</span>.*?'
        r'class="waiting-oldest">([^<]+)</span>.*?href="([^"]+)">Điểm danh buổi này',
        box,
        flags=re.S,
    )


def test_a_centre_manager_lands_on_the_classes_waiting_on_a_roll_call(client, app_ctx):
    centre = make_centre()
    late, late_sessions = _class_with_sessions(centre, "Lớp thiếu hai phiếu", (2, 9, 16), recorded=(2,))
    _single, single_sessions = _class_with_sessions(centre, "Lớp thiếu một phiếu", (3, 10), recorded=(3,))
    _class_with_sessions(centre, "Lớp đủ phiếu", (4, 11), recorded=(4, 11))
    _, (last,) = _class_with_sessions(centre, "Lớp chưa học", (30,))  # nothing held yet... as of the 20th
    other = make_centre("23302", label="B")
    _class_with_sessions(other, "Lớp xã khác", (5,))
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "manager-wait@example.vn")
    db.session.commit()
    login(client, manager)

    as_of = datetime(2026, 3, 20, 12)
    scope = select(CourseClass.id).where(CourseClass.commune_id == centre.commune.id)
    waiting, total = queries.classes_waiting_on_roll_call(scope, as_of, limit=WAITING_SHOWN)
    assert [(w.class_name, w.sessions, w.oldest_starts_at.day) for w in waiting] == [
        ("Lớp thiếu hai phiếu", 2, 9),
        ("Lớp thiếu một phiếu", 1, 10),
    ]
    assert total == 2

    # Today (December 2026) every session of March is past: the class of the 30th waits too.
    page = client.get("/").get_data(as_text=True)
    assert "3 lớp đang chờ điểm danh" in page
    assert _listed(page) == [
        (
            "Lớp thiếu hai phiếu",
            "2 buổi chưa điểm danh",
            "từ ngày 09/03/2026",
            f"/courses/sessions/{late_sessions[1].id}/attendance",
        ),
        (
            "Lớp thiếu một phiếu",
            "1 buổi chưa điểm danh",
            "từ ngày 10/03/2026",
            f"/courses/sessions/{single_sessions[1].id}/attendance",
        ),
        (
            "Lớp chưa học",
            "1 buổi chưa điểm danh",
            "từ ngày 30/03/2026",
            f"/courses/sessions/{last.id}/attendance",
        ),
    ]
    assert "Lớp xã khác" not in page  # another commune's
    assert f'href="/courses/classes/{late.id}#sessions"' in page  # the class page lists them all
    assert "waiting-more" not in page


def test_the_reminder_is_one_statement_and_says_how_many_more(client, app_ctx, count_queries):
    centre = make_centre()
    for index in range(WAITING_SHOWN + 2):
        _class_with_sessions(centre, f"Lớp {index:02d}", (2 + index,))
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "manager-many@example.vn")
    db.session.commit()
    scope = select(CourseClass.id).where(CourseClass.commune_id == centre.commune.id)
    with count_queries() as counter:
        waiting, total = queries.classes_waiting_on_roll_call(scope, datetime(2026, 4, 1), limit=WAITING_SHOWN)
    assert counter.count == 1
    assert (len(waiting), total) == (WAITING_SHOWN, WAITING_SHOWN + 2)
    assert [w.class_name for w in waiting][:2] == ["Lớp 00", "Lớp 01"]  # the longest waiting first

    login(client, manager)
    page = client.get("/").get_data(as_text=True)
    assert len(_listed(page)) == WAITING_SHOWN
    assert f"{WAITING_SHOWN + 2} lớp đang chờ điểm danh" in page
    assert page.split('id="waiting-more">')[1].split("<")[0] == "và 2 lớp khác"


def test_a_teacher_sees_the_classes_they_teach_waiting_and_nothing_else(client, app_ctx):
    centre = make_centre()
    theirs, (session,) = _class_with_sessions(centre, "Lớp tôi dạy chưa điểm danh", (2,))
    _class_with_sessions(centre, "Lớp người khác dạy", (3,))
    teacher = centre.learners[1]
    theirs.instructors.append(teacher)
    user = make_user(Role.INSTRUCTOR, centre.commune, "teacher-wait@example.vn")
    user.person_id = teacher.id
    db.session.commit()
    login(client, user)
    page = client.get("/").get_data(as_text=True)
    assert [name for name, *_ in _listed(page)] == ["Lớp tôi dạy chưa điểm danh"]

    # Once its roll call is taken, the reminder is gone.
    services.record_attendance(session, [Mark(centre.learners[0].id, "absent", MARKED)], user_id=None)
    db.session.commit()
    assert 'id="waiting-roll-calls"' not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.COMMUNE_LEADER, Role.ADMINISTRATOR])
def test_nobody_who_takes_no_roll_call_gets_the_reminder(client, app_ctx, role):
    """A commune leader records no attendance; an administrator may, everywhere, but takes no roll call — and the
    card would read every past session of the map at each visit of the start page."""
    centre = make_centre()
    _class_with_sessions(centre, "Lớp chưa điểm danh", (2,))
    unit = centre.commune if role == Role.COMMUNE_LEADER else centre.commune.parent
    user = make_user(role, unit, f"{role.value}-wait@example.vn")
    db.session.commit()
    login(client, user)
    assert 'id="waiting-roll-calls"' not in client.get("/").get_data(as_text=True)
