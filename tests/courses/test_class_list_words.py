"""The class list in Vietnamese (the default): each class's badge says where it stands in the words of a class,
not those of a background job."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from courses import services
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user
from tests.courses.conftest import make_centre, make_class


def test_a_running_class_is_under_way_not_being_processed(client, app_ctx):
    centre = make_centre()
    today = services.local_now().date()
    make_class(centre, name="Lớp đang học", starts_on=today - timedelta(days=3), ends_on=today + timedelta(days=20))
    make_class(centre, name="Lớp sắp mở", starts_on=today + timedelta(days=5), ends_on=today + timedelta(days=30))
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, user)

    page = client.get("/courses/classes").get_data(as_text=True)

    badges = dict(re.findall(r'fw-semibold">([^<]+)</span>\s*<span class="badge[^"]*">([^<]+)</span>', page))
    assert badges == {"Lớp đang học": "Đang học", "Lớp sắp mở": "Sắp tới"}
    assert "Đang xử lý" not in page  # the import job's word for "running"


def test_todays_sessions_are_those_of_the_users_communes_the_ones_they_teach_first(client, app_ctx):
    today = services.local_now().date()
    here, there = make_centre(), make_centre("23302", label="B")
    sessions = {}
    for centre, name, hour in ((here, "Lớp tối", 19), (here, "Lớp sáng", 7), (there, "Lớp xã khác", 8)):
        course_class = make_class(
            centre, name=name, starts_on=today - timedelta(days=3), ends_on=today + timedelta(days=3)
        )
        start = datetime.combine(today, time(hour))
        (sessions[name],) = services.schedule(course_class, [(start, start + timedelta(hours=1))])
        services.schedule(course_class, [(start + timedelta(days=1), start + timedelta(days=1, hours=1))])
    teacher = here.learners[0]
    sessions["Lớp tối"].course_class.instructors.append(teacher)
    user = make_user(Role.INSTRUCTOR, here.commune)
    user.person_id = teacher.id
    db.session.commit()
    login(client, user)

    page = client.get("/courses/classes").get_data(as_text=True)

    listed = re.findall(r"(\d\d:\d\d)–\d\d:\d\d</a>\s*· <span[^>]*>([^<]+)</span>", page)
    assert listed == [("19:00", "Lớp tối"), ("07:00", "Lớp sáng")]  # his own first; not commune B's; not tomorrow
    assert f"/courses/sessions/{sessions['Lớp tối'].id}/attendance" in page


def _listed(page: str) -> list[tuple[str, bool]]:
    """The class list's entries: (name, marked as taught by the user)."""
    entries = page.split('id="classes"')[1].split("</div>\n{{")[0].split('<a class="list-group-item')[1:]
    return [
        (
            re.search(r'fw-semibold">([^<]+)</span>', e).group(1),
            'class="badge text-bg-primary' in e and "Lớp tôi dạy" in e,
        )
        for e in entries
    ]


def test_an_instructor_sees_the_classes_they_teach_marked_and_may_list_only_those(client, app_ctx):
    centre = make_centre()
    today = services.local_now().date()
    mine = make_class(centre, name="Lớp tôi đứng lớp", starts_on=today, ends_on=today + timedelta(days=20))
    make_class(centre, name="Lớp người khác dạy", starts_on=today, ends_on=today + timedelta(days=25))
    teacher = centre.learners[0]
    mine.instructors.append(teacher)
    user = make_user(Role.INSTRUCTOR, centre.commune)
    user.person_id = teacher.id
    db.session.commit()
    login(client, user)

    page = client.get("/courses/classes").get_data(as_text=True)
    assert sorted(_listed(page)) == [("Lớp người khác dạy", False), ("Lớp tôi đứng lớp", True)]
    # The filter, in Vietnamese, and what it lists: only their own classes.
    assert re.search(r'<input class="form-check-input" type="checkbox" name="mine" value="1" id="mine">', page)
    assert re.search(r'<label class="form-check-label" for="mine">Lớp tôi dạy</label>', page)
    only = client.get("/courses/classes?mine=1&when=current").get_data(as_text=True)
    assert _listed(only) == [("Lớp tôi đứng lớp", True)]
    assert 'name="mine" value="1" id="mine" checked>' in only

    # A manager who teaches nothing: nothing marked, no filter of their own classes.
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, manager)
    page = client.get("/courses/classes").get_data(as_text=True)
    assert sorted(_listed(page)) == [("Lớp người khác dạy", False), ("Lớp tôi đứng lớp", False)]
    assert 'name="mine"' not in page


def test_classes_i_teach_also_filters_todays_sessions(client, app_ctx):
    """ "Lớp tôi dạy" lists only the user's classes — and the day's sessions above the list too, or a teacher who
    asked for theirs still sees (and may open the roll call of) a colleague's session of today."""
    today = services.local_now().date()
    centre = make_centre()
    sessions = {}
    for name, hour in (("Lớp tôi đứng lớp", 19), ("Lớp người khác dạy", 7)):
        course_class = make_class(
            centre, name=name, starts_on=today - timedelta(days=3), ends_on=today + timedelta(days=3)
        )
        start = datetime.combine(today, time(hour))
        (sessions[name],) = services.schedule(course_class, [(start, start + timedelta(hours=1))])
    teacher = centre.learners[0]
    sessions["Lớp tôi đứng lớp"].course_class.instructors.append(teacher)
    user = make_user(Role.INSTRUCTOR, centre.commune)
    user.person_id = teacher.id
    db.session.commit()
    login(client, user)

    def today_listed(page: str) -> list[str]:
        return re.findall(r'class="fw-semibold today-class">([^<]+)</span>', page)

    everyone = client.get("/courses/classes").get_data(as_text=True)
    assert today_listed(everyone) == ["Lớp tôi đứng lớp", "Lớp người khác dạy"]
    only = client.get("/courses/classes?mine=1").get_data(as_text=True)
    assert today_listed(only) == ["Lớp tôi đứng lớp"]
    assert f"/courses/sessions/{sessions['Lớp người khác dạy'].id}/attendance" not in only
