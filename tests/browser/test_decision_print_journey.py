"""A commune leader's year end on a phone, from the home page by clicking only: propose every eligible household,
record one decision for them all, then print that decision in one go — its list of households (the annex filed with
the decision) and every certificate it gives — from the recognitions list and from one recognition's page, instead
of opening each certificate in turn.

The eligibility rows are arranged, not computed: the Learning Family criteria sets are paused while the journey
runs (as in the commune leader journey), so the worker's evaluation cannot race the proposal."""

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

PASSWORD = "mật khẩu lãnh đạo xã DPJ"
HEADS = ("Rơ Châm Hạnh DPJ", "Y Blơng DPJ", "Nguyễn Thị Hoa DPJ")
NUMBER = "31/QĐ-UBND"


def _set_active(ids: list[int], active: bool) -> None:
    if ids:
        db.session.execute(update(CriteriaSet).where(CriteriaSet.id.in_(ids)).values(active=active))


def _arrange() -> dict:
    data = build_province(1, households_per_village=0, tag="DPJ")
    commune, village = data.communes[0], data.villages[0]
    for number, head in enumerate(HEADS, start=1):
        household = Household(village_id=village.id, code=f"DPJ-{number}")
        db.session.add(household)
        db.session.flush()
        db.session.add(Person(full_name=head, unit_id=village.id, household_id=household.id, relation_to_head="Chủ hộ"))
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
    user = create_user("lanhdao.xa.dpj@example.vn", "Y Thư DPJ", PASSWORD)
    assign_role(user, Role.COMMUNE_LEADER, commune)
    paused = list(
        db.session.scalars(
            select(CriteriaSet.id).where(CriteriaSet.title == Title.FAMILY, CriteriaSet.active.is_(True))
        )
    )
    _set_active(paused, False)
    return {"paused": paused}


def test_a_commune_leader_prints_a_decision_with_its_list_and_every_certificate(stack_app, phone):
    arranged = commit(stack_app, _arrange)
    try:
        _journey(phone)
    finally:
        commit(stack_app, lambda: _set_active(arranged["paused"], True))


def _pdf_text(page, href: str) -> tuple[int, str]:
    # Headless Chromium hands an inline PDF to its viewer: fetch what the link points to with the page's session.
    response = page.request.get(href)
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.body()))
    return len(reader.pages), "\n".join(p.extract_text() for p in reader.pages)


def _journey(page) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, "lanhdao.xa.dpj@example.vn", PASSWORD, "Y Thư DPJ")

    page.locator(".role-card").get_by_role("link", name="Đề nghị công nhận").click()
    for head in HEADS:
        page.locator("#proposable label", has_text=head).locator("input").check()
    page.get_by_role("button", name="Đề nghị công nhận các đối tượng đã chọn").click()
    expect(page.locator("#confirm-list li")).to_have_count(len(HEADS))  # shown for confirmation, nothing written yet
    page.get_by_role("button", name=re.compile("Xác nhận đề nghị")).click()
    expect(page.locator(".alert-success")).to_be_visible()

    page.locator("nav.nav").get_by_role("link", name="Quyết định").click()
    for head in HEADS:
        page.get_by_label(head).check()
    page.get_by_label("Số quyết định").fill(NUMBER)
    page.get_by_label("Ngày quyết định").fill(date.today().isoformat())
    page.get_by_role("button", name="Ghi nhận quyết định", exact=True).click()
    expect(page.locator("#confirm-decision #confirm-list li")).to_have_count(len(HEADS))  # checked, not yet recorded
    page.get_by_role("button", name=re.compile("Xác nhận ghi nhận Quyết định")).click()
    expect(page.locator(".alert-success")).to_contain_text(NUMBER)

    # The recognitions list offers the decision to print: its list and its three certificates, one file.
    page.locator("nav.nav").get_by_role("link", name="Công nhận").click()
    decision = page.locator("#decisions li", has_text=NUMBER)
    expect(decision).to_have_count(1)
    link = decision.get_by_role("link", name="Danh sách và 3 giấy công nhận (PDF)")
    assert page.evaluate(f"document.documentElement.scrollWidth <= {PHONE['width']}")
    pages, text = _pdf_text(page, link.get_attribute("href"))
    assert f"Kèm theo Quyết định số {NUMBER} ngày {date.today():%d/%m/%Y}" in " ".join(text.split())
    assert "Tổng số: 3" in text
    assert text.count("GIẤY CÔNG NHẬN") == 3  # a certificate each, after the list
    for head in HEADS:
        assert text.count(head) >= 2  # on the list and on its certificate
    assert pages >= 4

    # One recognition's page prints the same decision whole.
    page.locator("#recognitions a", has_text=HEADS[0]).click()
    whole = page.locator("#decision-link")
    expect(whole).to_contain_text(f"In quyết định {NUMBER}: danh sách và cả 3 giấy công nhận (PDF)")
    _pages, again = _pdf_text(page, whole.get_attribute("href"))
    assert again.count("GIẤY CÔNG NHẬN") == 3
    last_page(page, "commune-leader-decision-print")
    assert errors == []
