"""The class programme's pages, driven through their HTML forms: catalogue, classes, scheduling (with conflicts),
enrolment, the phone attendance sheet, timetables, and scope (another commune's ids answer 404)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from courses import services
from courses.models import Attendance, ClassSession, Course, CourseClass, Enrolment, class_instructor
from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import AssociationMembership
from tests.conftest import PASSWORD, choose_language, csrf_token, make_household, make_user
from tests.conftest import login as _login
from tests.courses.conftest import make_centre, make_class


def login(client, user, password=PASSWORD):
    """Log in and choose English, as the menu's button does: these tests read the pages' English strings (the
    Vietnamese default is tested in tests/test_vietnamese_pages.py)."""
    response = _login(client, user, password)
    choose_language(client, "en", "/")
    return response


@pytest.fixture(autouse=True)
def _english(client):
    """Pages in English, so assertions do not depend on the state of the Vietnamese catalogue."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def manager(app_ctx):
    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune, "manager-a@example.vn")
    db.session.commit()
    return centre, user


def _token(client) -> str:
    return csrf_token(client, "/courses/classes")


def _sessions(course_class: CourseClass) -> list[ClassSession]:
    return list(
        db.session.scalars(
            select(ClassSession).where(ClassSession.class_id == course_class.id).order_by(ClassSession.starts_at)
        )
    )


def _enrolments(course_class: CourseClass) -> dict[int, str]:
    return dict(
        iter(
            db.session.execute(
                select(Enrolment.person_id, Enrolment.status).where(Enrolment.class_id == course_class.id)
            ).tuples()
        )
    )


def _schedule_series(client, course_class, data: dict, **kwargs):
    """The weekly form as a person uses it: the preview of the dates (nothing written), then its confirmation."""
    url = f"/courses/classes/{course_class.id}/sessions/recurring"
    before = len(_sessions(course_class))
    preview = client.post(url, data=data)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    assert len(_sessions(course_class)) == before
    digest = re.search(r'name="confirm" value="([0-9a-f]+)"', preview.get_data(as_text=True))
    assert digest is not None
    return client.post(url, data={**data, "confirm": digest.group(1)}, **kwargs)


# --- catalogue and classes -----------------------------------------------------------------------------------


def test_create_a_course_then_a_class_through_the_forms(client, manager):
    centre, user = manager
    login(client, user)
    token = csrf_token(client, "/courses/new")
    response = client.post(
        "/courses/new",
        data={
            "csrf_token": token,
            "unit": centre.commune.id,
            "code": "tin-hoc-1",
            "name": "Tin học cơ bản",
            "category": "digital_skills",
            "planned_hours": "24",
            "min_attendance_percent": "70",
            "module_codes": "IU01, iu02",
            "description": "Máy tính và điện thoại",
        },
    )
    assert response.status_code == 302
    course = db.session.scalar(select(Course).where(Course.code == "TIN-HOC-1"))
    assert course is not None
    assert (course.unit_id, course.category, float(course.min_attendance_share)) == (
        centre.commune.id,
        "digital_skills",
        0.7,
    )
    assert course.module_codes == ["IU01", "IU02"]
    assert "Tin học cơ bản" in client.get("/courses/").get_data(as_text=True)

    # The centre manager has one centre: the form is that centre's, with its rooms and its commune's people.
    page = client.get("/courses/classes/new").get_data(as_text=True)
    assert centre.clc.name in page
    assert "Nhà văn hóa" in page
    instructor = centre.learners[0]
    response = client.post(
        "/courses/classes/new",
        data={
            "csrf_token": token,
            "course": course.id,
            "name": "Lớp tin học tháng 4",
            "room": centre.hall.id,
            "capacity": "20",
            "target_group": "everyone",
            "starts_on": "2026-04-01",
            "ends_on": "2026-04-30",
            "instructors": [str(instructor.id)],
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    course_class = db.session.scalar(select(CourseClass).where(CourseClass.name == "Lớp tin học tháng 4"))
    assert (course_class.clc_id, course_class.room_id, course_class.capacity) == (centre.clc.id, centre.hall.id, 20)
    assert db.session.scalars(
        select(class_instructor.c.person_id).where(class_instructor.c.class_id == course_class.id)
    ).all() == [instructor.id]
    assert response.headers["Location"].endswith(f"/courses/classes/{course_class.id}")
    assert "Lớp tin học tháng 4" in client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)


def test_a_course_must_be_given_its_field(client, manager):
    """The category has no default: a course saved without choosing it used to be a literacy course."""
    centre, user = manager
    login(client, user)
    page = client.get("/courses/new").get_data(as_text=True)
    # First the empty choice, and nothing selected: the phone shows "— choose —" and will not send it (required).
    assert re.search(r'<select[^>]*name="category" required>\s*<option value="">— choose —</option>', page)
    assert (
        "selected" not in page[page.index('name="category"') : page.index("</select>", page.index('name="category"'))]
    )
    token = csrf_token(client, "/courses/new")
    data = {"csrf_token": token, "unit": centre.commune.id, "code": "ca-phe-2", "name": "Cà phê", "category": ""}
    response = client.post("/courses/new", data={**data, "planned_hours": "12", "min_attendance_percent": "80"})
    assert response.status_code == 200
    assert "This field is required." in response.get_data(as_text=True)  # this file's manager reads English
    assert db.session.scalar(select(Course).where(Course.code == "CA-PHE-2")) is None


def test_a_duplicate_course_code_is_shown_on_the_field(client, manager):
    centre, user = manager
    login(client, user)
    response = client.post(
        "/courses/new",
        data={
            "csrf_token": _token(client),
            "unit": centre.commune.id,
            "code": centre.course.code,
            "name": "Trùng mã",
            "category": "literacy",
            "planned_hours": "10",
            "min_attendance_percent": "80",
        },
    )
    assert response.status_code == 200
    assert "already exists" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Course).where(Course.name == "Trùng mã")) == 0


def test_an_instructor_from_another_commune_is_refused(client, manager):
    centre, user = manager
    stranger = make_centre("23302", learners=1, label="B").learners[0]
    db.session.commit()
    login(client, user)
    response = client.post(
        "/courses/classes/new",
        data={
            "csrf_token": _token(client),
            "course": centre.course.id,
            "name": "Lớp lạ",
            "room": centre.room.id,
            "capacity": "20",
            "target_group": "everyone",
            "starts_on": "2026-04-01",
            "ends_on": "2026-04-30",
            "instructors": [str(stranger.id)],
        },
    )
    assert response.status_code == 200
    assert "live in the commune" in response.get_data(as_text=True)
    assert db.session.scalar(select(CourseClass).where(CourseClass.name == "Lớp lạ")) is None


def test_person_search_puts_association_officers_first_and_stays_in_the_commune(client, manager):
    centre, user = manager
    officer = centre.learners[-1]
    db.session.add(AssociationMembership(person_id=officer.id, unit_id=centre.commune.id, role="officer"))
    make_centre("23302", learners=2, label="B")
    db.session.commit()
    login(client, user)
    items = client.get(f"/courses/clcs/{centre.clc.id}/people?q=hoc vien").get_json()["items"]
    assert items[0]["id"] == officer.id
    assert {i["id"] for i in items} == {p.id for p in centre.learners}  # nobody from commune B


# --- scheduling ----------------------------------------------------------------------------------------------


def test_scheduling_a_recurring_class_through_the_form_creates_the_right_sessions(client, manager):
    centre, user = manager
    course_class = make_class(centre)  # 2 – 31 March 2026
    db.session.commit()
    login(client, user)
    response = _schedule_series(
        client,
        course_class,
        {
            "csrf_token": _token(client),
            "rec-first_day": "2026-03-03",
            "rec-weekdays": ["1", "3"],
            "rec-start": "19:00",
            "rec-end": "21:00",
            "rec-every_weeks": "1",
            "rec-until": "2026-03-31",
            "rec-room": centre.room.id,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    sessions = _sessions(course_class)
    assert [s.starts_at.day for s in sessions] == [3, 5, 10, 12, 17, 19, 24, 26, 31]
    assert {(s.starts_at.hour, s.ends_at.hour, s.room_id) for s in sessions} == {(19, 21, centre.room.id)}
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    assert page.count('class="list-group-item py-2 session-row') == 9


def test_a_weekly_series_is_shown_date_by_date_before_anything_is_written(client, manager):
    centre, user = manager
    services.load_national_holidays()
    course_class = make_class(centre, starts_on=date(2026, 2, 1), ends_on=date(2026, 3, 1))
    db.session.commit()
    login(client, user)
    url = f"/courses/classes/{course_class.id}/sessions/recurring"
    data = {
        "csrf_token": _token(client),
        "rec-first_day": "2026-02-09",
        "rec-weekdays": ["0"],
        "rec-start": "19:00",
        "rec-end": "21:00",
        "rec-every_weeks": "1",
        "rec-count": "3",
        "rec-room": centre.room.id,
    }
    page = client.post(url, data=data).get_data(as_text=True)
    # Three asked for, two given: the class ends on 1 March, and Monday 16 February is Tết.
    assert "2 sessions would be scheduled, from Feb 9, 2026 to Feb 23, 2026." in page
    assert re.findall(r"<li>Mon ([^<]+) 19:00–21:00</li>", page) == ["Feb 9, 2026", "Feb 23, 2026"]
    assert re.search(r'id="recurring-skipped">No session on these holidays \(1\): [^<]*16/02/2026', page)
    assert f'action="/courses/classes/{course_class.id}/sessions/recurring#recurring-answer"' in page
    assert _sessions(course_class) == []
    digest = re.search(r'name="confirm" value="([0-9a-f]+)"', page).group(1)

    # The choice changed after the preview (Wednesdays too): the old confirmation writes nothing, the new
    # preview is shown.
    response = client.post(url, data={**data, "rec-weekdays": ["0", "2"], "confirm": digest})
    assert response.status_code == 409
    assert "The sessions changed since you saw them" in response.get_data(as_text=True)
    assert _sessions(course_class) == []

    assert client.post(url, data={**data, "confirm": digest}).status_code == 302
    assert [s.starts_at.date() for s in _sessions(course_class)] == [date(2026, 2, 9), date(2026, 2, 23)]


def test_a_series_across_tet_names_the_holidays_it_skipped_and_the_timetable_marks_them(client, manager):
    centre, user = manager
    services.load_national_holidays()
    course_class = make_class(centre, starts_on=date(2026, 2, 1), ends_on=date(2026, 3, 1))
    db.session.commit()
    login(client, user)
    response = _schedule_series(
        client,
        course_class,
        {
            "csrf_token": _token(client),
            "rec-first_day": "2026-02-02",
            "rec-weekdays": ["0", "2"],
            "rec-start": "19:00",
            "rec-end": "21:00",
            "rec-every_weeks": "1",
            "rec-count": "6",
            "rec-room": centre.room.id,
        },
        follow_redirects=True,
    )
    page = response.get_data(as_text=True)
    assert "6 sessions scheduled" in page
    skipped = re.search(r"No session on these holidays \((\d+)\): ([^<]*)", page)
    assert skipped is not None
    assert skipped.group(1) == "2"  # Monday 16 and Wednesday 18 February; Tuesday 17 is not a class day
    assert "16/02/2026" in skipped.group(2)
    assert "18/02/2026" in skipped.group(2)
    assert "17/02/2026" not in skipped.group(2)
    assert "Tết" in skipped.group(2)
    week = client.get(f"/courses/clcs/{centre.clc.id}/timetable?week=2026-02-16").get_data(as_text=True)
    assert week.count('class="badge text-bg-warning text-wrap holiday"') >= 5  # the Tết days of that week


def test_every_other_week_with_a_count(client, manager):
    centre, user = manager
    course_class = make_class(centre)
    db.session.commit()
    login(client, user)
    _schedule_series(
        client,
        course_class,
        {
            "csrf_token": _token(client),
            "rec-first_day": "2026-03-02",
            "rec-weekdays": ["0"],
            "rec-start": "08:00",
            "rec-end": "10:00",
            "rec-every_weeks": "2",
            "rec-count": "2",
            "rec-room": centre.room.id,
        },
    )
    assert [s.starts_at.date() for s in _sessions(course_class)] == [date(2026, 3, 2), date(2026, 3, 16)]


def test_a_conflict_shows_which_room_class_and_time_and_creates_nothing(client, manager):
    centre, user = manager
    other = make_class(centre, name="Lớp đan lát")
    services.schedule(other, [(datetime(2026, 3, 12, 19, 30), datetime(2026, 3, 12, 20, 30))])
    course_class = make_class(centre)
    db.session.commit()
    _login(client, user)  # Vietnamese, the default: dates as 12/03/2026
    response = client.post(
        f"/courses/classes/{course_class.id}/sessions/recurring",
        data={
            "csrf_token": _token(client),
            "rec-first_day": "2026-03-03",
            "rec-weekdays": ["3"],
            "rec-start": "19:00",
            "rec-end": "21:00",
            "rec-every_weeks": "1",
            "rec-until": "2026-03-31",
            "rec-room": centre.room.id,
        },
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="conflicts"' in page
    assert "Phòng học 1" in page
    assert "Lớp đan lát" in page
    assert "12/03/2026" in page
    assert "19:30" in page
    assert _sessions(course_class) == []


def test_a_single_session_outside_the_class_dates_is_refused_on_its_field(client, manager):
    centre, user = manager
    course_class = make_class(centre)
    db.session.commit()
    login(client, user)
    response = client.post(
        f"/courses/classes/{course_class.id}/sessions",
        data={
            "csrf_token": _token(client),
            "single-day": "2026-04-02",
            "single-start": "08:00",
            "single-end": "09:00",
            "single-room": centre.room.id,
        },
    )
    assert response.status_code == 200
    assert "outside the class" in response.get_data(as_text=True)
    assert _sessions(course_class) == []


def test_reschedule_and_cancel_a_session(client, manager):
    centre, user = manager
    course_class = make_class(centre)
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 10, 19), datetime(2026, 3, 10, 21))])
    db.session.commit()
    login(client, user)
    token = _token(client)
    response = client.post(
        f"/courses/sessions/{session.id}/reschedule",
        data={
            "csrf_token": token,
            "move-day": "2026-03-11",
            "move-start": "18:00",
            "move-end": "20:00",
            "move-room": centre.hall.id,
        },
    )
    assert response.status_code == 302
    db.session.refresh(session)
    assert (session.starts_at, session.original_starts_at, session.room_id) == (
        datetime(2026, 3, 11, 18),
        datetime(2026, 3, 10, 19),
        centre.hall.id,
    )
    response = client.post(
        f"/courses/sessions/{session.id}/cancel", data={"csrf_token": token, "cancel-reason": "Mưa lũ"}
    )
    assert response.status_code == 302
    db.session.refresh(session)
    assert (session.status, session.note) == ("cancelled", "Mưa lũ")
    page = client.get(f"/courses/sessions/{session.id}/attendance").get_data(as_text=True)
    assert "takes no attendance" in page
    assert 'id="attendance-form"' not in page


# --- enrolment -----------------------------------------------------------------------------------------------


def _digest(page: str) -> str:
    found = re.search(r'name="confirm" value="([0-9a-f]+)"', page)
    assert found is not None, "no confirmation button"
    return found.group(1)


def _bulk(client, course_class, data: dict):
    """A bulk enrolment as the page does it: the preview (which writes nothing), then its confirmation."""
    url = f"/courses/classes/{course_class.id}/enrol/bulk"
    before = _enrolments(course_class)
    preview = client.post(url, data=data)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:300]
    assert _enrolments(course_class) == before
    return client.post(url, data={**data, "confirm": _digest(preview.get_data(as_text=True))})


def test_bulk_enrolment_by_household_with_a_waiting_list(client, manager):
    centre, user = manager
    other = make_household(centre.village, "2", "Lò Văn Một", "Lò Thị Hai", "Lò Văn Ba")
    course_class = make_class(centre, capacity=2)
    db.session.commit()
    login(client, user)
    response = _bulk(
        client,
        course_class,
        {
            "csrf_token": _token(client),
            "bulk-village": centre.village.id,
            "bulk-household": "2",
            "bulk-association_role": "",
        },
    )
    assert response.status_code == 302
    rows = _enrolments(course_class)
    members = {p.id: p.full_name for p in other.members}
    assert set(rows) == set(members)  # only that household
    assert sorted(rows.values()) == ["enrolled", "enrolled", "waitlisted"]
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    assert 'id="waiting"' in page
    waiting = next(members[p] for p, s in rows.items() if s == "waitlisted")
    assert waiting in page.split('id="waiting"')[1]


def test_bulk_enrolment_of_an_unknown_household_is_refused(client, manager):
    centre, user = manager
    course_class = make_class(centre)
    db.session.commit()
    login(client, user)
    response = client.post(
        f"/courses/classes/{course_class.id}/enrol/bulk",
        data={
            "csrf_token": _token(client),
            "bulk-village": centre.village.id,
            "bulk-household": "999",
            "bulk-association_role": "",
        },
    )
    assert response.status_code == 200
    assert "No household of the commune matches" in response.get_data(as_text=True)
    assert _enrolments(course_class) == {}


def test_bulk_enrolment_finds_a_household_by_its_heads_name_and_keeps_to_the_age_range(client, manager):
    """No village chosen, the head's name typed without diacritics; an adults' class leaves the toddler out, and
    the class list shows each learner's birth year."""
    centre, user = manager
    household = make_household(centre.village, "23293-01-0042", "Rơ Mah Hùng", "Ksor Lan", "Rơ Mah Bé")
    by_name = {p.full_name: p for p in household.members}
    head, mother, toddler = by_name["Rơ Mah Hùng"], by_name["Ksor Lan"], by_name["Rơ Mah Bé"]
    head.birth_date, mother.birth_date, toddler.birth_date = date(1980, 5, 1), date(1990, 2, 3), date(2024, 1, 9)
    course_class = make_class(centre)
    db.session.commit()
    login(client, user)
    form = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    assert 'name="bulk-min_age"' in form
    assert 'value="15"' in form.split('name="bulk-min_age"')[1][:200]  # an adult class by default
    response = _bulk(
        client,
        course_class,
        {
            "csrf_token": _token(client),
            "bulk-village": 0,
            "bulk-household": "ro mah hung",
            "bulk-association_role": "",
            "bulk-min_age": 15,
            "bulk-max_age": "",
        },
    )
    assert response.status_code == 302
    assert set(_enrolments(course_class)) == {head.id, mother.id}
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    assert "born 1980" in page
    assert "born 1990" in page


def test_bulk_enrolment_by_short_number_and_an_ambiguous_name(client, manager):
    centre, user = manager
    first = make_household(centre.village, "23293-01-0042", "Y Hoa", "A Tú")
    make_household(centre.village, "23293-01-0043", "Y Hoa", "A Bảo")
    course_class = make_class(centre)
    db.session.commit()
    login(client, user)
    url = f"/courses/classes/{course_class.id}/enrol/bulk"
    data = {"csrf_token": _token(client), "bulk-village": 0, "bulk-association_role": "", "bulk-min_age": ""}
    ambiguous = client.post(url, data={**data, "bulk-household": "Y Hoa"})
    assert ambiguous.status_code == 200
    text = ambiguous.get_data(as_text=True)
    assert "Several households match" in text
    assert "23293-01-0042 (Y Hoa)" in text
    assert _enrolments(course_class) == {}
    assert _bulk(client, course_class, {**data, "bulk-household": "42"}).status_code == 302
    assert set(_enrolments(course_class)) == {p.id for p in first.members}


def test_enrolling_a_village_shows_who_first_and_enrols_exactly_that_on_confirmation(client, manager, count_queries):
    """The reviewer's case: a village enrolled at once, 26 people, undone only one withdrawal at a time. The page
    now shows who would get a seat, who would wait, who is already in the class and who is left out (target group,
    age) and writes nothing; the confirmation enrols exactly that, and a confirmation of a list that has changed
    meanwhile writes nothing and shows the new list."""
    centre, user = manager
    course_class = make_class(centre, capacity=3)  # first day 2 March 2026
    child, in_class, *adults = centre.learners  # six people of the village
    child.birth_date = date(2018, 1, 1)
    services.enrol(course_class, [in_class.id])
    db.session.commit()
    login(client, user)
    choose_language(client, "vi", "/")
    url = f"/courses/classes/{course_class.id}/enrol/bulk"
    data = {
        "csrf_token": _token(client),
        "bulk-village": centre.village.id,
        "bulk-household": "",
        "bulk-association_role": "",
        "bulk-min_age": 15,
        "bulk-max_age": "",
    }
    with count_queries() as counter:
        preview = client.post(url, data=data)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "Sẽ ghi danh 4 người: 2 người có chỗ, 2 người vào danh sách chờ." in page
    assert "Chưa ghi gì cho đến khi bạn xác nhận." in page
    assert child.full_name in page.split('id="bulk-outside-ages"')[1].split("</details>")[0]
    assert in_class.full_name in page.split('id="bulk-already"')[1].split("</details>")[0]
    assert "Ghi danh 4 người này" in page
    assert _enrolments(course_class) == {in_class.id: "enrolled"}
    assert counter.count < 40  # the preview is a handful of statements, not one per person

    # Someone takes a seat meanwhile: the old confirmation writes nothing and the new list is shown.
    services.enrol(course_class, [adults[0].id])
    db.session.commit()
    stale = client.post(url, data={**data, "confirm": _digest(page)})
    assert stale.status_code == 409
    again = stale.get_data(as_text=True)
    assert "Danh sách đã thay đổi từ khi bạn xem" in again
    assert "Sẽ ghi danh 3 người: 1 người có chỗ, 2 người vào danh sách chờ." in again
    assert set(_enrolments(course_class)) == {in_class.id, adults[0].id}

    assert client.post(url, data={**data, "confirm": _digest(again)}).status_code == 302
    rows = _enrolments(course_class)
    assert child.id not in rows
    assert sorted(rows.values()) == ["enrolled", "enrolled", "enrolled", "waitlisted", "waitlisted"]


def test_individual_enrolment_and_withdrawal_promotes_the_waiting_list(client, manager):
    centre, user = manager
    course_class = make_class(centre, capacity=1)
    db.session.commit()
    login(client, user)
    token = _token(client)
    first, second = centre.learners[0], centre.learners[1]
    response = client.post(
        f"/courses/classes/{course_class.id}/enrol",
        data={"csrf_token": token, "enrol-person_ids": [str(first.id), str(second.id)]},
    )
    assert response.status_code == 302
    assert _enrolments(course_class) == {first.id: "enrolled", second.id: "waitlisted"}
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    assert "waiting list" in page.lower()
    assert second.full_name in page
    response = client.post(
        f"/courses/classes/{course_class.id}/withdraw", data={"csrf_token": token, "person_id": first.id}
    )
    assert response.status_code == 302
    assert _enrolments(course_class) == {first.id: "withdrawn", second.id: "enrolled"}


def test_enrolling_someone_from_another_commune_is_refused(client, manager):
    centre, user = manager
    stranger = make_centre("23302", learners=1, label="B").learners[0]
    course_class = make_class(centre)
    db.session.commit()
    login(client, user)
    response = client.post(
        f"/courses/classes/{course_class.id}/enrol",
        data={"csrf_token": _token(client), "enrol-person_ids": [str(stranger.id)]},
    )
    assert response.status_code == 200
    assert _enrolments(course_class) == {}


# --- attendance ----------------------------------------------------------------------------------------------


@pytest.fixture
def roll(manager):
    centre, user = manager
    course_class = make_class(centre)
    learners = centre.learners[:4]
    services.enrol(course_class, [p.id for p in learners])
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 3, 19), datetime(2026, 3, 3, 21))])
    db.session.commit()
    return centre, user, course_class, session, learners


def _marks(session: ClassSession) -> dict[int, tuple[str, str, int | None]]:
    return {
        row.person_id: (row.status, row.device, row.recorded_by_id)
        for row in db.session.scalars(select(Attendance).where(Attendance.session_id == session.id))
    }


def test_taking_attendance_on_the_phone_form_writes_the_rows(client, roll):
    _, user, _, session, learners = roll
    login(client, user)
    url = f"/courses/sessions/{session.id}/attendance"
    page = client.get(url).get_data(as_text=True)
    assert all(f'name="status-{p.id}"' in page for p in learners)
    statuses = ["present", "late", "absent"]
    data = {"csrf_token": _token(client)} | {f"status-{p.id}": s for p, s in zip(learners, statuses, strict=False)}
    response = client.post(url, data=data)  # the fourth learner is left unmarked
    assert response.status_code == 302
    assert _marks(session) == {p.id: (s, "web", user.id) for p, s in zip(learners, statuses, strict=False)}
    # The saved marks are shown, ticked, when the sheet opens again.
    page = client.get(url).get_data(as_text=True)
    assert f'id="s{learners[1].id}-late" value="late" autocomplete="off" checked' in page

    # A second save with one change writes that one change only.
    data[f"status-{learners[2].id}"] = "excused"
    client.post(url, data=data)
    assert _marks(session)[learners[2].id][0] == "excused"
    assert _marks(session)[learners[0].id][0] == "present"


def test_a_session_of_a_later_day_keeps_its_sheet_folded(client, roll):
    """A wrong tap on the next session in the list must not record marks for a later day: its sheet is folded
    behind a line that says the day; opened, it still takes marks ahead (an excused absence)."""
    _, user, course_class, today_session, learners = roll
    now = services.local_now()
    later = now.replace(hour=19, minute=0, second=0, microsecond=0) + timedelta(days=30)
    course_class.ends_on = max(course_class.ends_on, later.date())
    (session,) = services.schedule(course_class, [(later, later + timedelta(hours=2))])
    db.session.commit()
    login(client, user)
    page = client.get(f"/courses/sessions/{session.id}/attendance").get_data(as_text=True)
    folded = page[page.index('<details id="attend-ahead">') : page.index("</details>")]
    assert 'id="attendance-form"' in folded
    assert "a later day" in folded  # this file's manager reads English
    excused = {"csrf_token": _token(client), f"status-{learners[0].id}": "excused"}
    assert client.post(f"/courses/sessions/{session.id}/attendance", data=excused).status_code == 302
    assert _marks(session)[learners[0].id][0] == "excused"
    past = client.get(f"/courses/sessions/{today_session.id}/attendance").get_data(as_text=True)
    assert 'id="attend-ahead"' not in past


def test_everyone_present(client, roll):
    _, user, _, session, learners = roll
    login(client, user)
    url = f"/courses/sessions/{session.id}/attendance"
    response = client.post(
        url, data={"csrf_token": _token(client), "everyone": "present", f"status-{learners[0].id}": "absent"}
    )
    assert response.status_code == 302
    assert {status for status, _, _ in _marks(session).values()} == {"present"}
    assert set(_marks(session)) == {p.id for p in learners}


def test_the_attendance_sheet_takes_a_constant_number_of_statements(client, roll, count_queries, monkeypatch):
    centre, user, course_class, session, _learners = roll
    # A later session keeps the class open: the save's statements are counted without the completion (and the
    # titles evaluation it runs eagerly in tests), which has its own statement-count tests. It is still to come
    # on the day the sheet is saved (a session held before the learners' enrolment would not count for them).
    services.schedule(course_class, [(datetime(2026, 3, 30, 19), datetime(2026, 3, 30, 21))])
    monkeypatch.setattr(services, "local_now", lambda: datetime(2026, 3, 20, 9))
    db.session.commit()
    login(client, user)
    url = f"/courses/sessions/{session.id}/attendance"
    token = _token(client)

    def save() -> int:
        with count_queries() as counter:
            client.post(url, data={"csrf_token": token, "everyone": "present"})
        db.session.execute(Attendance.__table__.delete().where(Attendance.session_id == session.id))
        db.session.commit()
        return counter.count

    small = save()
    services.enrol(
        course_class, [p.id for p in make_household(centre.village, "9", *(f"Người {i}" for i in range(20))).members]
    )
    db.session.commit()
    assert save() == small
    with count_queries() as counter:
        client.get(url)
    reading = counter.count
    services.enrol(
        course_class, [p.id for p in make_household(centre.village, "10", *(f"Người B{i}" for i in range(5))).members]
    )
    db.session.commit()
    with count_queries() as counter:
        client.get(url)
    assert counter.count == reading


def test_an_instructor_takes_attendance_but_cannot_create_classes(client, roll):
    centre, _, course_class, session, _learners = roll
    instructor = make_user(Role.INSTRUCTOR, centre.commune, "instructor@example.vn")
    db.session.commit()
    login(client, instructor)
    token = _token(client)
    url = f"/courses/sessions/{session.id}/attendance"
    assert client.get(url).status_code == 200
    assert client.post(url, data={"csrf_token": token, "everyone": "present"}).status_code == 302
    assert {r[2] for r in _marks(session).values()} == {instructor.id}
    assert client.get("/courses/classes/new").status_code == 403
    assert client.post("/courses/classes/new", data={"csrf_token": token}).status_code == 403
    assert client.get("/courses/new").status_code == 403
    assert (
        client.post(f"/courses/classes/{course_class.id}/sessions/recurring", data={"csrf_token": token}).status_code
        == 403
    )
    assert client.post(f"/courses/classes/{course_class.id}/enrol", data={"csrf_token": token}).status_code == 403
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    assert "Attendance" in page
    assert "Repeat every week" not in page


def test_another_communes_class_session_and_sheet_answer_404(client, app_ctx):
    own = make_centre("23293", learners=2, label="A")
    user = make_user(Role.CENTRE_MANAGER, own.commune, "manager-own@example.vn")
    theirs = make_centre("23302", learners=2, label="B")
    their_class = make_class(theirs)
    services.enrol(their_class, [p.id for p in theirs.learners])
    (their_session,) = services.schedule(their_class, [(datetime(2026, 3, 3, 19), datetime(2026, 3, 3, 21))])
    db.session.commit()
    login(client, user)
    token = _token(client)
    guessed = their_session.id + 1000
    for url in (
        f"/courses/classes/{their_class.id}",
        f"/courses/sessions/{their_session.id}",
        f"/courses/sessions/{their_session.id}/attendance",
        f"/courses/clcs/{theirs.clc.id}/timetable",
        f"/courses/units/{theirs.commune.id}/timetable",
        f"/courses/clcs/{theirs.clc.id}/people",
        f"/courses/classes/{guessed}",
        f"/courses/sessions/{guessed}/attendance",
    ):
        assert client.get(url).status_code == 404, url
    for url, data in (
        (f"/courses/sessions/{their_session.id}/attendance", {"everyone": "present"}),
        (f"/courses/classes/{their_class.id}/enrol", {"enrol-person_ids": [str(own.learners[0].id)]}),
        (f"/courses/classes/{their_class.id}/sessions", {}),
        (f"/courses/classes/{their_class.id}/withdraw", {"person_id": theirs.learners[0].id}),
        (f"/courses/sessions/{their_session.id}/cancel", {"cancel-reason": "x"}),
    ):
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 404, url
    assert _marks(their_session) == {}
    assert their_class.name not in client.get("/courses/classes").get_data(as_text=True)


def test_the_class_page_takes_a_constant_number_of_statements(client, roll, count_queries):
    centre, user, course_class, session, learners = roll
    services.record_attendance(
        session, [services.Mark(p.id, "present", datetime(2026, 3, 3, 12)) for p in learners], user_id=None
    )
    db.session.commit()
    login(client, user)
    url = f"/courses/classes/{course_class.id}"
    assert client.get(url).status_code == 200  # warm-up: the signed-in user and their scopes come from the cache after
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    few = counter.count
    more = make_household(centre.village, "11", *(f"Người C{i}" for i in range(15))).members
    services.enrol(course_class, [p.id for p in more])
    services.schedule(course_class, [(datetime(2026, 3, 5, 19), datetime(2026, 3, 5, 21))])
    db.session.commit()
    with count_queries() as counter:
        assert client.get(url).status_code == 200
    assert counter.count == few


# --- timetables and lists ------------------------------------------------------------------------------------


def test_week_timetables_of_a_centre_and_a_commune(client, manager):
    centre, user = manager
    course_class = make_class(centre, name="Lớp dệt thổ cẩm")
    services.schedule(
        course_class,
        [
            (datetime(2026, 3, 4, 7, 30), datetime(2026, 3, 4, 9)),
            (datetime(2026, 3, 11, 7, 30), datetime(2026, 3, 11, 9)),
        ],
    )
    db.session.commit()
    _login(client, user)  # Vietnamese, the default: dates as 12/03/2026
    page = client.get(f"/courses/clcs/{centre.clc.id}/timetable?week=2026-03-05").get_data(as_text=True)
    assert "Lớp dệt thổ cẩm" in page
    assert "07:30" in page
    assert "04/03/2026" in page
    assert "11/03/2026" not in page.split('id="week"')[1]
    assert "week=2026-02-23" in page
    assert "week=2026-03-09" in page
    page = client.get(f"/courses/units/{centre.commune.id}/timetable?week=2026-03-09").get_data(as_text=True)
    assert "Lớp dệt thổ cẩm" in page
    assert "11/03/2026" in page
    assert centre.clc.name in page


def test_class_list_filters_by_centre_and_counts_seats(client, manager):
    centre, user = manager
    course_class = make_class(centre, name="Lớp đếm chỗ", capacity=3)
    services.enrol(course_class, [p.id for p in centre.learners[:4]])
    db.session.commit()
    login(client, user)
    page = client.get(f"/courses/classes?clc_id={centre.clc.id}").get_data(as_text=True)
    assert "Lớp đếm chỗ" in page
    assert "3 of 3 seats taken" in page
    assert "1 waiting" in page


def test_the_course_form_marks_the_communes_dissolved_in_2025(client, manager):
    centre, user = manager
    _login(client, user)  # Vietnamese, the default: dates as 12/03/2026
    page = client.get("/courses/new").get_data(as_text=True)
    options = re.findall(r"<option[^>]*>([^<]*)</option>", page)
    ended = [o for o in options if o.endswith("(đến 30/06/2025)")]  # as the issue words it
    assert ended, "the commune's predecessors are offered, marked as ended"
    assert centre.commune.full_name in options  # the current commune, unmarked


def test_a_learner_who_completed_is_not_withdrawn_and_keeps_the_certificate(client, manager):
    """Completion counts the learners still enrolled: withdrawing one who completed (tidying the list after the
    class, a slip of the finger) revoked their certificate and learning record with no word of it. The class page
    offers no withdrawal for them and the server refuses one, saying where a wrong completion is corrected."""
    from courses.models import Certificate
    from courses.services import Mark

    centre, user = manager
    course_class = make_class(centre)
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 2, 19), datetime(2026, 3, 2, 21))])
    done, other = centre.learners[0], centre.learners[1]
    services.enrol(course_class, [done.id, other.id])
    services.record_attendance(session, [Mark(done.id, "present", datetime(2026, 3, 2, 20))], user_id=None)
    db.session.commit()  # the completion task runs after the commit: the class is over, `done` completed
    certificate = db.session.scalars(select(Certificate).where(Certificate.person_id == done.id)).one()
    login(client, user)

    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    rows = {m.group(1): m.group(2) for m in re.finditer(r'id="learner-(\d+)"(.*?)</li>', page, re.S)}
    assert "withdraw-form" not in rows[str(done.id)]
    assert "withdraw-form" in rows[str(other.id)]
    response = client.post(
        f"/courses/classes/{course_class.id}/withdraw",
        data={"csrf_token": _token(client), "person_id": done.id},
        follow_redirects=True,
    )
    assert f"holds its certificate {certificate.code}" in response.get_data(as_text=True)
    db.session.expire_all()
    assert _enrolments(course_class)[done.id] == "enrolled"
    assert db.session.get(Certificate, certificate.id).revoked_at is None
    with pytest.raises(services.CourseError):  # the API's withdrawal goes through the same refusal
        services.withdraw(course_class, done.id)
    db.session.rollback()
    assert services.withdraw(course_class, other.id) is None  # one who did not complete still may be


def test_bulk_enrolment_says_its_ages_start_at_fifteen_by_default(client, manager):
    """'Từ tuổi' comes filled with 15 while the help said to leave both boxes empty for every age; the preview then
    counted children 'outside the chosen ages' the manager had not chosen (walk4's finding). The help says the
    default, and how to take every age."""
    from courses.forms import ADULT_AGE

    centre, user = manager
    course_class = make_class(centre)
    db.session.commit()
    login(client, user)
    choose_language(client, "vi", "/")
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    help_text = page[page.index('id="bulk-age-help"') :]
    help_text = help_text[: help_text.index("</p>")]
    assert f"mặc định từ {ADULT_AGE} tuổi" in help_text
    assert "Xóa trống cả hai ô để nhận mọi lứa tuổi, kể cả trẻ em." in help_text
    box = re.search(r'<input[^>]*name="bulk-min_age"[^>]*>', page)
    assert box is not None
    assert f'value="{ADULT_AGE}"' in box.group(0)
