"""On a phone, the answer to a form of the class page is on the screen: a refused enrolment shows its reason, a
bulk enrolment its preview, where the person is looking — not at the top of a page whose session list pushes the
forms a screen or more down."""

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

PASSWORD = "mật khẩu quản lý VIEW"
CLASS_NAME = "Lớp tin học cán bộ Hội VIEW"


def _arrange() -> None:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="VIEW-01",
        name="Kon Rơ VIEW",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:VIEW-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    household = Household(village_id=village.id, code="VIEW-H1")
    db.session.add(household)
    db.session.flush()
    db.session.add_all(
        [
            Person(full_name=name, unit_id=village.id, household_id=household.id, birth_date=date(1980, 1, 1))
            for name in ("A Khoa VIEW", "Y Lan VIEW")
        ]
    )
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng VIEW")
    db.session.add(clc)
    db.session.flush()
    course = courses.create_course(
        unit=commune,
        code="VIEW-TH-01",
        name="Tin học VIEW",
        category="it_skills",
        planned_hours=Decimal(24),
        min_attendance_share=Decimal("0.8"),
    )
    first = date(2027, 3, 1)
    course_class = courses.create_class(
        course=course,
        clc=clc,
        name=CLASS_NAME,
        capacity=20,
        starts_on=first,
        ends_on=first + timedelta(days=60),
        target_group="association_officers",
    )
    # Twenty sessions: the learners' forms are several screens below the top of the page.
    days = [first + timedelta(days=3 * i) for i in range(20)]
    courses.schedule(
        course_class, [(datetime.combine(d, time(18)), datetime.combine(d, time(20))) for d in days], place="Nhà rông"
    )
    user = create_user("quanly.view@example.vn", "Đinh Văn Xem VIEW", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, commune)


def test_a_refused_enrolment_and_a_bulk_preview_are_on_the_phones_screen(stack_app, phone):
    commit(stack_app, _arrange)
    page = phone
    log_in(page, "quanly.view@example.vn", PASSWORD, "Đinh Văn Xem VIEW")
    page.locator(".role-card").get_by_role("link", name="Lớp học").click()
    page.get_by_role("link", name=re.compile(CLASS_NAME)).click()

    # A resident who is no association officer, ticked for an officers-only class: refused, and the reason is
    # in front of the manager, with the person still ticked.
    page.get_by_text("Ghi danh", exact=True).click()
    enrol = page.locator("#enrol-form form")
    enrol.get_by_placeholder("Gõ tên, có dấu hoặc không dấu").fill("A Khoa VIEW")
    enrol.locator("label", has_text="A Khoa VIEW").first.click()
    enrol.get_by_role("button", name="Ghi danh những người đã chọn").click()
    reason = page.locator("#enrol-form").get_by_text(re.compile("A Khoa VIEW: không thuộc đối tượng của lớp"))
    expect(reason).to_be_visible()
    expect(reason).to_be_in_viewport()
    expect(page.locator("#enrol-form").get_by_role("checkbox", name=re.compile("A Khoa VIEW"))).to_be_checked()

    # The whole village: the preview of who would be enrolled (nobody: neither is an officer) is on the screen.
    page.get_by_text("Ghi danh theo thôn, hộ hoặc chức danh trong Hội").click()
    bulk = page.locator("#bulk-form form")
    bulk.get_by_label("Thôn", exact=True).select_option(label="Thôn Kon Rơ VIEW")
    bulk.get_by_role("button", name="Xem trước ai sẽ được ghi danh").click()
    summary = page.locator("#bulk-preview")
    expect(summary).to_contain_text("Không thuộc đối tượng của lớp (không ghi danh): 2")
    expect(summary.locator("p").first).to_be_in_viewport()
