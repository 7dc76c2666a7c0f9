"""A teacher's evening, on a phone: from the home page to today's session of the class they teach and its
attendance, without looking for the class among all the commune's classes and for the day in its list of sessions."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from playwright.sync_api import expect

from courses import services as courses
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, Clc, Household, Person, UnitLevel
from tests.browser.conftest import commit
from tests.browser.screenshots import log_in

PASSWORD = "mật khẩu giảng viên TDY"
MINE = "Lớp trồng cà phê TDY"
OTHER = "Lớp dệt thổ cẩm TDY"


def _arrange() -> None:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="TDY-01",
        name="Đăk Rơ TDY",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:TDY-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    household = Household(village_id=village.id, code="TDY-H1")
    db.session.add(household)
    db.session.flush()
    people = [
        Person(full_name=name, unit_id=village.id, household_id=household.id, birth_date=date(1985, 5, 5))
        for name in ("A Thầy TDY", "Y Hoa TDY", "A Lâm TDY")
    ]
    db.session.add_all(people)
    teacher, *learners = people
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng TDY")
    db.session.add(clc)
    db.session.flush()
    course = courses.create_course(
        unit=commune,
        code="TDY-KT-01",
        name="Kỹ thuật TDY",
        category="technology_transfer",
        planned_hours=Decimal(6),
    )
    today = courses.local_now().date()
    for name, instructors, day in ((MINE, [teacher], today), (OTHER, [], today + timedelta(days=1))):
        course_class = courses.create_class(
            course=course,
            clc=clc,
            name=name,
            capacity=10,
            starts_on=today - timedelta(days=7),
            ends_on=today + timedelta(days=7),
            instructors=instructors,
        )
        courses.schedule(course_class, [(datetime.combine(day, time(0, 30)), datetime.combine(day, time(23, 30)))])
        courses.enrol(course_class, [p.id for p in learners])
    user = create_user("giangvien.tdy@example.vn", "A Thầy TDY", PASSWORD)
    user.person_id = teacher.id
    assign_role(user, Role.INSTRUCTOR, commune)


def test_a_teacher_reaches_todays_attendance_from_the_home_page(stack_app, phone):
    commit(stack_app, _arrange)
    page = phone
    log_in(page, "giangvien.tdy@example.vn", PASSWORD, "A Thầy TDY")
    page.locator(".role-card").get_by_role("link", name="Lớp học").click()

    today = page.locator("#todays-sessions")
    expect(today.get_by_role("heading", name=re.compile("Buổi học hôm nay"))).to_be_visible()
    mine = today.locator(".today-session", has_text=MINE)
    expect(mine).to_contain_text("00:30–23:30")
    expect(today).not_to_contain_text(OTHER)  # its session is tomorrow
    expect(mine).to_be_in_viewport()
    mine.get_by_role("link", name="Điểm danh").click()

    expect(page.get_by_role("link", name=MINE)).to_be_visible()
    expect(page.locator(".roll-row")).to_have_count(2)
    page.get_by_role("button", name="Tất cả có mặt").click()
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("Đã lưu 2 lượt điểm danh.")).to_be_visible()
