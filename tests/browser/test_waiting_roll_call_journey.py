"""A centre manager's week, on a phone: the start page says which class waits on a roll call (ADR 54), one tap opens
that session's roll call, and once it is saved the reminder is gone."""

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

PASSWORD = "mật khẩu quản lý WRC"
CLASS_NAME = "Lớp nuôi ong WRC"


def _arrange() -> None:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="WRC-01",
        name="Đăk Ong WRC",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:WRC-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    household = Household(village_id=village.id, code="WRC-H1")
    db.session.add(household)
    db.session.flush()
    learners = [
        Person(full_name=name, unit_id=village.id, household_id=household.id, birth_date=date(1980, 4, 4))
        for name in ("Y Ong WRC", "A Mật WRC")
    ]
    db.session.add_all(learners)
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng WRC")
    db.session.add(clc)
    db.session.flush()
    course = courses.create_course(
        unit=commune, code="WRC-NO-01", name="Nuôi ong WRC", category="technology_transfer", planned_hours=Decimal(4)
    )
    today = courses.local_now().date()
    course_class = courses.create_class(
        course=course,
        clc=clc,
        name=CLASS_NAME,
        capacity=10,
        starts_on=today - timedelta(days=14),
        ends_on=today + timedelta(days=14),
    )
    day = today - timedelta(days=3)  # held three days ago; nobody entered its sheet
    courses.schedule(course_class, [(datetime.combine(day, time(19)), datetime.combine(day, time(21)))])
    courses.enrol(course_class, [p.id for p in learners])
    user = create_user("quanly.wrc@example.vn", "Đinh Thị Quản WRC", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, commune)


def test_a_manager_lands_on_the_class_waiting_on_a_roll_call_and_takes_it(stack_app, phone):
    commit(stack_app, _arrange)
    page = phone
    log_in(page, "quanly.wrc@example.vn", PASSWORD, "Đinh Thị Quản WRC")

    reminder = page.locator("#waiting-roll-calls")
    expect(reminder.get_by_role("heading", name=re.compile("lớp đang chờ điểm danh"))).to_be_visible()
    waiting = reminder.locator(".waiting-class", has_text=CLASS_NAME)
    expect(waiting).to_contain_text("1 buổi chưa điểm danh")
    expect(waiting).to_be_in_viewport()
    waiting.get_by_role("link", name="Điểm danh buổi này").click()

    expect(page.get_by_role("link", name=CLASS_NAME)).to_be_visible()
    expect(page.locator(".roll-row")).to_have_count(2)
    page.get_by_role("button", name="Tất cả có mặt").click()
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("Đã lưu 2 lượt điểm danh.")).to_be_visible()

    page.get_by_role("link", name="Học tập cộng đồng").click()  # the menu's start page
    expect(page.get_by_text("Xin chào, Đinh Thị Quản WRC")).to_be_visible()
    expect(page.locator(".waiting-class", has_text=CLASS_NAME)).to_have_count(0)
