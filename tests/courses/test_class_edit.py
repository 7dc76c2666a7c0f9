"""Correcting a class after it was created (a centre manager raised the seats, changed the instructor, moved the
last day): the class page links the form, the form opens filled in, and what would break the class is refused with
what to do."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from courses import services
from courses.models import Enrolment
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user
from tests.courses.conftest import make_centre, make_class


@pytest.fixture
def full_class(app_ctx):
    """A class of 2 seats, 5 people enrolled in this order (3 on the waiting list), one session on 09/03/2026."""
    centre = make_centre()
    course_class = make_class(centre, capacity=2)
    services.enrol(course_class, [p.id for p in centre.learners[:5]])
    services.schedule(course_class, [(datetime(2026, 3, 9, 8), datetime(2026, 3, 9, 10))])
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "manager-edit@example.vn")
    db.session.commit()
    return centre, course_class, manager


def _form(course_class, **changes):
    data = {
        "name": course_class.name,
        "room": str(course_class.room_id or 0),
        "capacity": str(course_class.capacity),
        "starts_on": course_class.starts_on.isoformat(),
        "ends_on": course_class.ends_on.isoformat(),
    }
    return {**data, **changes}


def _statuses(course_class):
    rows = db.session.execute(
        select(Enrolment.person_id, Enrolment.status).where(Enrolment.class_id == course_class.id)
    ).tuples()
    return dict(iter(rows))


def test_more_seats_move_the_waiting_list_up_in_order_and_the_instructor_changes(client, full_class):
    centre, course_class, manager = full_class
    login(client, manager)
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    edit = f"/courses/classes/{course_class.id}/edit"
    assert f'href="{edit}"' in page  # reached from the class page
    form = client.get(edit).get_data(as_text=True)
    assert 'value="Lớp cà phê tháng 3"' in form  # opens filled in, in Vietnamese
    assert 'value="2"' in form
    assert "Sửa thông tin lớp" in form
    instructor = centre.learners[5]
    response = client.post(
        edit,
        data={
            **_form(course_class, name="Lớp cà phê tháng 3 (sửa)", capacity="4", ends_on="2026-04-15"),
            "instructors": [str(instructor.id)],
            "csrf_token": csrf_token(client, edit),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    db.session.expire_all()
    assert (course_class.name, course_class.capacity, course_class.ends_on) == (
        "Lớp cà phê tháng 3 (sửa)",
        4,
        date(2026, 4, 15),
    )
    assert [p.id for p in course_class.instructors] == [instructor.id]
    statuses = _statuses(course_class)
    learners = [p.id for p in centre.learners[:5]]
    assert [statuses[p] for p in learners] == ["enrolled"] * 4 + ["waitlisted"]
    seated_at = dict(
        iter(
            db.session.execute(
                select(Enrolment.person_id, Enrolment.enrolled_at).where(Enrolment.class_id == course_class.id)
            ).tuples()
        )
    )
    # Their seat, and the sessions that count for them, start at the change (tests/courses/test_late_enrolment.py).
    assert seated_at[learners[2]] > seated_at[learners[4]]
    assert seated_at[learners[3]] > seated_at[learners[4]]
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 người trong danh sách chờ đã có chỗ" in after


def test_fewer_seats_than_learners_or_dates_that_leave_a_session_out_are_refused(client, full_class):
    _, course_class, manager = full_class
    login(client, manager)
    edit = f"/courses/classes/{course_class.id}/edit"
    token = csrf_token(client, edit)
    fewer = client.post(edit, data={**_form(course_class, capacity="1"), "csrf_token": token})
    assert fewer.status_code == 200
    assert "đã có 2 học viên có chỗ trong lớp: hãy giữ ít nhất 2 chỗ" in fewer.get_data(as_text=True)
    shorter = client.post(edit, data={**_form(course_class, ends_on="2026-03-08"), "csrf_token": token})
    assert shorter.status_code == 200
    assert "có 1 buổi học đã xếp nằm ngoài khoảng ngày này (buổi đầu tiên ngày 09/03/2026)" in shorter.get_data(
        as_text=True
    )
    db.session.expire_all()
    assert (course_class.capacity, course_class.ends_on) == (2, date(2026, 3, 31))


def test_another_commune_s_class_cannot_be_changed(client, full_class):
    _, course_class, _ = full_class
    other = make_centre("23302", label="B")
    stranger = make_user(Role.CENTRE_MANAGER, other.commune, "manager-b-edit@example.vn")
    db.session.commit()
    login(client, stranger)
    assert client.get(f"/courses/classes/{course_class.id}/edit").status_code == 404


def test_an_instructor_changed_on_a_class_already_begun_announces_the_officers_communes(app_ctx, full_class):
    """An association officer teaching a class whose session has begun "organises CLC activities" (ADR 7): the
    IT-skills figure, and the plan's target on it, change when the instructors change. The targets sweep sees only
    sessions that begin, so the change is announced for the officer's commune and the years of the begun sessions
    (titles evaluate it, targets follow); a class not begun announces nothing."""
    from lms.core.signals import learning_records_changed
    from lms.registry.models import AssociationMembership

    centre, course_class, _manager = full_class
    officer = centre.learners[5]
    db.session.add(AssociationMembership(person_id=officer.id, unit_id=centre.commune.id, role="officer"))
    db.session.commit()
    announced: list[set] = []

    def receiver(sender, *, pairs, **_):
        announced.append(set(pairs))

    def update(people):
        services.update_class(
            course_class,
            name=course_class.name,
            capacity=course_class.capacity,
            starts_on=course_class.starts_on,
            ends_on=course_class.ends_on,
            room=course_class.room,
            instructors=people,
        )

    with learning_records_changed.connected_to(receiver):
        update([officer])  # the session of 09/03/2026 has begun (the tests' clock is later)
        assert announced == [{(centre.commune.id, 2026)}]
        update([])  # taken off again: the figure loses them
        assert announced[1:] == [{(centre.commune.id, 2026)}]
        later = make_class(centre, capacity=2)
        services.update_class(
            later,
            name=later.name,
            capacity=later.capacity,
            starts_on=later.starts_on,
            ends_on=later.ends_on,
            room=later.room,
            instructors=[officer],
        )
        assert len(announced) == 2  # no session begun: nothing counts them yet
    db.session.rollback()


def test_a_session_scheduled_moved_or_cancelled_in_the_past_announces_the_officers_communes(app_ctx, full_class):
    """A session added after the fact (a class held last week, written in today), one moved into or out of the past,
    or a held one cancelled changes who organised CLC activities in its year (Plan 1514's IT officers' figure). The
    targets sweep looks only for sessions beginning since its last pass, so these are announced like an instructor
    change; a session still to come announces nothing."""
    from lms.core.signals import learning_records_changed
    from lms.registry.models import AssociationMembership

    centre, course_class, _manager = full_class
    officer = centre.learners[5]
    db.session.add(AssociationMembership(person_id=officer.id, unit_id=centre.commune.id, role="officer"))
    services.set_instructors(course_class, [(officer.id, "instructor")])
    db.session.commit()
    announced: list[set] = []

    def receiver(sender, *, pairs, **_):
        announced.append(set(pairs))

    expected = {(centre.commune.id, 2026)}
    with learning_records_changed.connected_to(receiver):
        (held,) = services.schedule(course_class, [(datetime(2026, 3, 16, 8), datetime(2026, 3, 16, 10))])
        assert announced == [expected]  # scheduled after the fact (the tests' clock is later)
        future = datetime(2099, 1, 1, 8)
        later = make_class(centre, capacity=2, starts_on=date(2098, 1, 1), ends_on=date(2099, 12, 31))
        services.set_instructors(later, [(officer.id, "instructor")])
        (coming,) = services.schedule(later, [(future, future.replace(hour=10))])
        assert len(announced) == 1  # still to come: nothing counts yet
        services.reschedule(coming, datetime(2099, 2, 1, 8), datetime(2099, 2, 1, 10))
        assert len(announced) == 1
        services.reschedule(held, datetime(2026, 3, 17, 8), datetime(2026, 3, 17, 10))
        assert announced[1:] == [expected]  # moved within the past
        services.cancel(held, "trùng lịch")
        assert announced[2:] == [expected]  # a held session cancelled: it no longer counts
    db.session.rollback()
