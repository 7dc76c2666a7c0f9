"""The demo's commune association officer on a phone, from the home page by clicking only: the home card leads to the
proposal list, which offers the Learning Citizen (the title the commune association recognises, Decision
324/QĐ-KHVN; ADR 45); one eligible citizen is proposed, then decided in the association's name, and the recognition
page shows it. The login is the demo's own (``flask demo-logins``: khuyenhoc@demo.example.vn), on an arranged commune.

The eligibility rows are arranged, not computed: the Learning Citizen criteria sets are paused while the journey
runs (as in the commune leader journey), so the worker's evaluation cannot race the proposal."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect
from sqlalchemy import select, update

from lms.auth.models import Role, User
from lms.auth.services import assign_role, create_user, normalise_email
from lms.extensions import db
from lms.registry.demo_cli import DEMO_LOGINS, DEMO_PASSWORD
from lms.registry.models import Person
from lms.titles.models import CriteriaSet, Eligibility, SubjectType, Title
from tests.browser.conftest import PHONE, commit
from tests.browser.screenshots import last_page, log_in
from tests.targets.dashboard_data import build_province, criteria_set

LOGIN = next(login for login in DEMO_LOGINS if login.role == Role.ASSOCIATION_OFFICER)
CITIZEN = "Y Khuyên AOJ"
NUMBER = "12/QĐ-KH"


def _set_active(ids: list[int], active: bool) -> None:
    if ids:
        db.session.execute(update(CriteriaSet).where(CriteriaSet.id.in_(ids)).values(active=active))


def _arrange() -> dict:
    data = build_province(1, households_per_village=0, tag="AOJ")
    commune, village = data.communes[0], data.villages[0]
    person = Person(full_name=CITIZEN, unit_id=village.id, birth_date=date(1990, 3, 8))
    db.session.add(person)
    db.session.flush()
    db.session.add(
        Eligibility(
            subject_type=SubjectType.PERSON,
            subject_id=person.id,
            title=Title.CITIZEN,
            year=2025,
            commune_id=commune.id,
            village_id=village.id,
            criteria_set_id=criteria_set(Title.CITIZEN, SubjectType.PERSON).id,
            eligible=True,
            score=90,
            missing="",
            breakdown=[],
        )
    )
    user = db.session.scalar(select(User).where(User.email == normalise_email(LOGIN.email)))
    if user is None:
        user = create_user(LOGIN.email, LOGIN.name, DEMO_PASSWORD)
    assign_role(user, LOGIN.role, commune)
    paused = list(
        db.session.scalars(
            select(CriteriaSet.id).where(CriteriaSet.title == Title.CITIZEN, CriteriaSet.active.is_(True))
        )
    )
    _set_active(paused, False)
    return {"paused": paused, "commune": commune.full_name}


def test_the_demo_association_officer_proposes_and_decides_a_learning_citizen(stack_app, phone):
    arranged = commit(stack_app, _arrange)
    try:
        _journey(phone, arranged)
    finally:
        commit(stack_app, lambda: _set_active(arranged["paused"], True))


def _journey(page, arranged: dict) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, LOGIN.email, DEMO_PASSWORD, LOGIN.name)

    # The home card: the association's pages (it used to show My training only).
    card = page.locator(".role-card")
    for label in ("Danh hiệu", "Đề nghị công nhận", "Quyết định công nhận"):
        expect(card.get_by_role("link", name=label)).to_be_visible()

    card.get_by_role("link", name="Đề nghị công nhận").click()
    # The proposal list opens on the association's title, the only one offered.
    title = page.locator("#context-picker select[name=title]")
    expect(title).to_have_value("citizen")
    expect(title.locator("option")).to_have_count(1)
    page.locator("#proposable label", has_text=CITIZEN).locator("input").check()
    page.get_by_role("button", name="Đề nghị công nhận các đối tượng đã chọn").click()
    expect(page.locator("#confirm-list li")).to_have_count(1)  # shown for confirmation, nothing written yet
    page.get_by_role("button", name=re.compile("Xác nhận đề nghị")).click()
    expect(page.locator(".alert-success")).to_be_visible()

    # The decision, in the association's name (prefilled from the approvals file).
    page.locator("nav.nav").get_by_role("link", name="Quyết định").click()
    expect(page.get_by_label("Cấp quyết định", exact=True)).to_have_value(re.compile("^Hội Khuyến học "))
    page.get_by_label(CITIZEN).check()
    page.get_by_label("Số quyết định").fill(NUMBER)
    page.get_by_label("Ngày quyết định").fill(date.today().isoformat())
    page.get_by_role("button", name="Ghi nhận quyết định", exact=True).click()
    expect(page.locator("#confirm-decision #confirm-list li")).to_have_count(1)  # checked, not yet recorded
    page.get_by_role("button", name=re.compile("Xác nhận ghi nhận Quyết định")).click()
    expect(page.locator(".alert-success")).to_contain_text(NUMBER)

    page.locator("nav.nav").get_by_role("link", name="Công nhận").click()
    page.locator("#recognitions a", has_text=CITIZEN).click()
    expect(page.locator("#status")).to_have_attribute("data-status", "recognised")
    expect(page.locator("main")).to_contain_text("Hội Khuyến học")
    assert page.evaluate(f"document.documentElement.scrollWidth <= {PHONE['width']}")
    last_page(page, "association-officer-recognition")
    assert errors == []
