"""On a phone, a commune leader goes from the home page to a learner's Learning Citizen result, sees that it rests
on provisional indicators (each named with where its values came from), and opens the criteria set from there: every
indicator with its clause and, for Decision 324, the source of its numbers (issue 10, item 7; ADR 18)."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import expect

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, Person, UnitLevel
from lms.titles import criteria, engine
from tests.browser.conftest import PHONE, commit

PASSWORD = "mật khẩu tiêu chí"
LEARNER = "Rơ Mah CRJ"


def _arrange() -> dict:
    criteria.load_shipped_criteria()
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="CRJ-01",
        name="Plei Tiêu Chí",
        kind="Làng",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:CRJ-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    db.session.add(Person(full_name=LEARNER, unit_id=village.id, birth_date=date(1990, 3, 8)))
    user = create_user("tieuchi@example.vn", "Y Tiêu Chí", PASSWORD)
    assign_role(user, Role.COMMUNE_LEADER, commune)
    year = date.today().year
    engine.evaluate_commune(commune.id, year)
    db.session.flush()
    c1 = criteria.definition_of(criteria.active_set("citizen")).indicator("c1")
    assert c1 is not None
    return {"year": year, "c1_source": c1.source, "c1_clause": c1.source_ref}


def test_a_leader_sees_what_a_result_rests_on_and_opens_the_criteria_set(stack_app, phone):
    arranged = commit(stack_app, _arrange)
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/")
    page.get_by_label("Thư điện tử").fill("tieuchi@example.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Xin chào, Y Tiêu Chí").wait_for()

    page.get_by_role("button", name="Trình đơn").click()
    page.locator("#nav").get_by_role("link", name="Danh hiệu", exact=True).click()
    notice = page.locator("#provisional-basis")
    expect(notice).to_contain_text("Kết quả này dựa trên tiêu chí tạm thời")
    notice.locator("summary").first.click()
    expect(notice.locator('.provisional-indicator[data-code="c1"]')).to_contain_text(arranged["c1_clause"])
    expect(notice).not_to_contain_text(arranged["c1_source"])  # the basis is for the criteria page (ADR 18)

    page.locator(".eligibility-row", has_text=LEARNER).click()
    activity = page.locator('.indicator-row[data-code="c1"]')
    expect(activity.locator(".indicator-provisional")).to_contain_text("tạm thời")
    expect(activity).not_to_contain_text(arranged["c1_source"])
    expect(activity.locator(".indicator-clause")).to_have_text(arranged["c1_clause"])

    page.locator("#criteria-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Công dân học tập")
    expect(page.locator("#criteria-provisional")).to_be_visible()
    row = page.locator('.criteria-indicator[data-code="c1"]')
    expect(row).to_have_attribute("data-provisional", "yes")
    expect(row).to_contain_text(arranged["c1_clause"])
    expect(row.locator(".criteria-source")).to_contain_text(arranged["c1_source"])
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert errors == []
