"""From a tick on an attendance sheet to a title's explanation, on a phone: a centre manager marks a learner present
at the last session of a class; the real worker recomputes the class's completions (a learning record), the
learning record marks the commune and year, the worker evaluates them with the shipped criteria, and the learner's
Learning Citizen page shows the activity indicator changed, with where the value came from."""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal

from playwright.sync_api import expect
from sqlalchemy import select

from courses import services as courses
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, Clc, Household, Person, UnitLevel
from lms.titles import criteria, engine
from lms.titles.models import Eligibility
from tests.browser.conftest import ROOT, commit

PASSWORD = "mật khẩu danh hiệu"
LEARNER = "Y Hoa ELG"
CLASS_NAME = "Lớp trồng cà phê ELG"


def _shots():
    out = ROOT / "test-results"
    out.mkdir(exist_ok=True)
    return out


def _arrange() -> dict:
    """A learner enrolled in a one-session class held yesterday, and the commune evaluated once before any mark."""
    criteria.load_shipped_criteria()
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="ELG-01",
        name="Đăk Hring",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:ELG-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    household = Household(village_id=village.id, code="HE-1")
    db.session.add(household)
    db.session.flush()
    learner = Person(
        full_name=LEARNER,
        unit_id=village.id,
        household_id=household.id,
        relation_to_head="Chủ hộ",
        birth_date=date(1985, 4, 2),
    )
    db.session.add(learner)
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng ELG")
    db.session.add(clc)
    db.session.flush()
    day = date.today() - timedelta(days=1)
    course = courses.create_course(
        unit=commune,
        code="ELG-CF-01",
        name="Kỹ thuật trồng cà phê ELG",
        category="technology_transfer",
        planned_hours=Decimal(2),
        min_attendance_share=Decimal(1),
    )
    course_class = courses.create_class(
        course=course, clc=clc, name=CLASS_NAME, capacity=10, starts_on=day, ends_on=day
    )
    courses.enrol(course_class, [learner.id])
    (session,) = courses.schedule(course_class, [(datetime.combine(day, clock(8)), datetime.combine(day, clock(10)))])
    user = create_user("danhhieu@example.vn", "Hà Thị Danh Hiệu", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, commune)
    engine.evaluate_commune(commune.id, day.year)
    db.session.flush()
    eligibility_id = db.session.scalar(
        select(Eligibility.id).where(
            Eligibility.subject_type == "person",
            Eligibility.subject_id == learner.id,
            Eligibility.title == "citizen",
            Eligibility.year == day.year,
        )
    )
    assert eligibility_id is not None
    return {"session_id": session.id, "village_id": village.id, "eligibility_id": eligibility_id, "year": day.year}


def test_an_attendance_mark_changes_the_learners_eligibility_and_its_explanation(stack_app, phone):
    arranged = commit(stack_app, _arrange)
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/")
    page.get_by_label("Thư điện tử").fill("danhhieu@example.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Xin chào, Hà Thị Danh Hiệu").wait_for()

    # Before: the village's Learning Citizen list has the learner, not yet eligible, with no learning activity.
    page.goto(f"/titles/eligibility?unit_id={arranged['village_id']}&year={arranged['year']}")
    row = page.locator(".eligibility-row", has_text=LEARNER)
    expect(row).to_contain_text("Chưa đủ điều kiện")
    page.screenshot(path=str(_shots() / "titles-eligibility-list.png"), full_page=True)
    row.click()
    activity = page.locator('.indicator-row[data-code="c1"]')
    expect(activity.locator(".indicator-value")).to_have_text("0")
    expect(activity).to_have_class(re.compile("indicator-missing"))
    expect(activity.locator(".indicator-missing-text")).to_be_visible()
    expect(page.locator("#learning-records")).not_to_contain_text(CLASS_NAME)
    before = activity.inner_text()

    # The centre manager marks the class's only session: everyone (the one learner) present.
    page.goto(f"/courses/sessions/{arranged['session_id']}/attendance")
    expect(page.locator(".roll-row")).to_have_count(1)
    page.get_by_role("button", name="Tất cả có mặt").click()
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator(".roll-row input:checked")).to_have_count(1)

    # The worker turns the mark into a completion, the completion into a learning record, and the record into a new
    # evaluation of the commune and year: the explanation page shows the activity indicator changed.
    page.goto(f"/titles/eligibility/{arranged['eligibility_id']}")
    deadline = time.monotonic() + 90
    while activity.locator(".indicator-value").inner_text() == "0" and time.monotonic() < deadline:
        time.sleep(1.5)
        page.reload()
    expect(activity.locator(".indicator-value")).to_have_text("1")
    after = activity.inner_text()
    assert after != before
    assert "5 / 10" in after  # one activity in the year gives 5 of the indicator's 10 points (Decision 324)
    expect(activity.locator(".indicator-source")).to_contain_text("1")
    expect(page.locator("#learning-records")).to_contain_text(CLASS_NAME)
    expect(page.locator("#provisional")).to_be_visible()  # the shipped 324 set is marked provisional
    page.locator("#learning-records").scroll_into_view_if_needed()
    page.screenshot(path=str(_shots() / "titles-explanation.png"), full_page=True)

    # From the explanation, the form to assess an indicator that records cannot measure (c3), pre-selected.
    page.locator('.indicator-row[data-code="c3"]').get_by_role("link", name="Nhập đánh giá").click()
    expect(page.get_by_label("Tiêu chí", exact=True)).to_have_value("c3")
    page.screenshot(path=str(_shots() / "titles-assessment-form.png"), full_page=True)
    assert errors == []
