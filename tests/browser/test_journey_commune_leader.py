"""A commune leader on a phone, from the home page by clicking only: the plan-target dashboard, the lagging village,
a household not yet a Learning Family and why (its registry page now shows its titles by year), its registration,
then a proposal for an eligible household, the commune's decision, and the certificate of recognition.

The eligibility rows are arranged (the dashboard test data), not computed: the Learning Family criteria sets are
paused for the journey (and made active again after it), so the worker's evaluation after the registration leaves the
arranged rows as they are instead of racing the proposal with its own result."""

from __future__ import annotations

import io
import re
from datetime import date

from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select, update

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry.models import Household, Person
from lms.titles.models import CriteriaSet, Eligibility, SubjectType, Title
from tests.browser.conftest import PHONE, commit
from tests.browser.screenshots import last_page, log_in
from tests.targets.dashboard_data import build_province, criteria_set

PASSWORD = "mật khẩu lãnh đạo xã CLJ"
PENDING = "Chủ Hộ CLJ 1 0"
ELIGIBLE = "Rơ Châm Hạnh CLJ"


def _set_active(ids: list[int], active: bool) -> None:
    if ids:
        db.session.execute(update(CriteriaSet).where(CriteriaSet.id.in_(ids)).values(active=active))


def _arrange() -> dict:
    data = build_province(2, households_per_village=1, tag="CLJ")
    commune, village = data.communes[0], data.villages[0]
    household = Household(village_id=village.id, code="CLJ-OK")
    db.session.add(household)
    db.session.flush()
    db.session.add(Person(full_name=ELIGIBLE, unit_id=village.id, household_id=household.id, relation_to_head="Chủ hộ"))
    db.session.add(
        Eligibility(
            subject_type=SubjectType.HOUSEHOLD,
            subject_id=household.id,
            title=Title.FAMILY,
            year=2025,
            commune_id=commune.id,
            village_id=village.id,
            criteria_set_id=criteria_set().id,
            eligible=True,
            level=1,
            missing="",
            breakdown=[],
        )
    )
    user = create_user("lanhdao.xa.clj@example.vn", "Y Thư CLJ", PASSWORD)
    assign_role(user, Role.COMMUNE_LEADER, commune)
    paused = list(
        db.session.scalars(
            select(CriteriaSet.id).where(CriteriaSet.title == Title.FAMILY, CriteriaSet.active.is_(True))
        )
    )
    _set_active(paused, False)
    return {"commune": commune.full_name, "village": village.full_name, "paused": paused}


def test_a_commune_leader_from_the_dashboard_to_a_certificate_of_recognition(stack_app, phone):
    arranged = commit(stack_app, _arrange)
    try:
        _journey(phone, arranged)
    finally:
        commit(stack_app, lambda: _set_active(arranged["paused"], True))


def _journey(phone, arranged: dict) -> None:
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, "lanhdao.xa.clj@example.vn", PASSWORD, "Y Thư CLJ")

    # Home card → the commune's dashboard → its village → the household not yet eligible.
    page.locator(".role-card").get_by_role("link", name="Chỉ tiêu kế hoạch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(arranged["commune"])
    page.locator("#ranking-table").get_by_role("link", name=arranged["village"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(arranged["village"])
    page.locator("#pending-table").get_by_role("link", name=re.compile(PENDING)).click()

    # The household page: its titles by year, and why it is not yet a Learning Family.
    titles = page.locator("#household-titles")
    expect(titles.locator(".title-year")).to_have_count(1)
    expect(titles.locator(".title-year")).to_have_attribute("data-eligible", "0")
    titles.get_by_role("link", name="Vì sao chưa đạt?").click()
    expect(page.locator("#status")).to_have_text("Chưa đủ điều kiện")
    expect(page.locator(".indicator-missing")).to_have_count(1)

    # Register it for the year, from the explanation.
    page.locator("#recognition-links").get_by_role("link", name="Đăng ký").click()
    page.locator("main a.btn-primary", has_text="Đăng ký").click()  # the registrations list → add
    page.locator("#candidates label", has_text=PENDING).locator("input").check()
    page.get_by_role("button", name="Đăng ký các mục đã chọn").click()
    expect(page.locator(".alert-success")).to_be_visible()

    # Propose the eligible household, then decide on it (the commune decides Learning Family).
    page.locator("nav.nav").get_by_role("link", name="Đề nghị", exact=True).click()
    expect(page.locator("#context-picker select[name=commune_id]")).to_have_value(re.compile(r"\d+"))
    page.locator("#proposable label", has_text=ELIGIBLE).locator("input").check()
    page.get_by_role("button", name="Đề nghị công nhận các đối tượng đã chọn").click()
    expect(page.locator("#confirm-list li")).to_have_count(1)  # shown for confirmation, nothing written yet
    page.get_by_role("button", name=re.compile("Xác nhận đề nghị")).click()
    expect(page.locator(".alert-success")).to_be_visible()
    page.locator("nav.nav").get_by_role("link", name="Quyết định").click()
    page.get_by_label(ELIGIBLE).check()
    page.get_by_label("Số quyết định").fill("27/QĐ-UBND")
    page.get_by_label("Ngày quyết định").fill(date.today().isoformat())
    # Before it is signed: the draft of the decision for the ticked proposal (ADR 61), nothing recorded. The button
    # posts the form to a new tab, whose inline PDF headless Chromium hands to its viewer: the same form is posted
    # with the page's own session, as the button would, and read.
    button = page.get_by_role("button", name="Dự thảo quyết định (PDF)")
    expect(button).to_be_visible()
    assert page.evaluate(f"document.documentElement.scrollWidth <= {PHONE['width']}")
    last_page(page, "commune-leader-decide")
    form = page.locator("form", has=button)
    fields = dict(form.evaluate("f => Array.from(new FormData(f).entries())"))  # one proposal ticked: one "ids"
    draft = page.request.post(button.get_attribute("formaction"), multipart=fields)
    assert draft.ok
    assert draft.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(draft.body())).pages)
    assert "DỰ THẢO" in text
    assert "27/QĐ-UBND" in text
    assert ELIGIBLE in text
    page.get_by_role("button", name="Ghi nhận quyết định", exact=True).click()
    expect(page.locator("#confirm-decision #confirm-list li")).to_have_count(1)  # checked, not yet recorded
    page.get_by_role("button", name=re.compile("Xác nhận ghi nhận Quyết định")).click()
    expect(page.locator(".alert-success")).to_contain_text("27/QĐ-UBND")

    # The recognition and its certificate.
    page.locator("nav.nav").get_by_role("link", name="Công nhận").click()
    page.locator("#recognitions a", has_text=ELIGIBLE).click()
    expect(page.locator("#status")).to_have_attribute("data-status", "recognised")
    assert page.evaluate(f"document.documentElement.scrollWidth <= {PHONE['width']}")
    last_page(page, "commune-leader-recognition")
    # Headless Chromium hands an inline PDF to its viewer without a download: fetch what the link points to, with
    # the page's own session, and read it.
    link = page.get_by_role("link", name="Giấy công nhận (PDF)", exact=True)
    certificate = page.request.get(link.get_attribute("href"))
    assert certificate.ok
    assert certificate.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(certificate.body())).pages)
    assert ELIGIBLE in text
    assert "27/QĐ-UBND" in text
    assert errors == []
