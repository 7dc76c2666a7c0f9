"""A commune leader prints a decision of eight households on a phone, from the home page by clicking only: the menu
leads to the recognitions, the decision's link to its print page, "Prepare the PDF" starts the task on the stack's
real worker, the page shows the certificates drawn, and the download link comes when it is done (ADR 47).

The recognitions are arranged as rows (proposing and deciding by the pages is the other journey's,
``test_decision_print_journey.py``)."""

from __future__ import annotations

import io
import re
from datetime import date

from playwright.sync_api import expect
from pypdf import PdfReader

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.core.pdf import new_code
from lms.extensions import db
from lms.registry.models import Household, Person
from lms.titles.models import Recognition, RecognitionStatus, SubjectType, Title
from tests.browser.conftest import PHONE, commit
from tests.browser.screenshots import last_page, log_in
from tests.targets.dashboard_data import build_province, criteria_set

PASSWORD = "mật khẩu lãnh đạo xã DPT"
HEADS = tuple(f"Hộ In Thử {i} DPT" for i in range(1, 9))
NUMBER = "47/QĐ-UBND"


def _arrange() -> None:
    data = build_province(1, households_per_village=0, tag="DPT")
    commune, village = data.communes[0], data.villages[0]
    for number, head in enumerate(HEADS, start=1):
        household = Household(village_id=village.id, code=f"DPT-{number}")
        db.session.add(household)
        db.session.flush()
        db.session.add(Person(full_name=head, unit_id=village.id, household_id=household.id, relation_to_head="Chủ hộ"))
        db.session.add(
            Recognition(
                subject_type=SubjectType.HOUSEHOLD,
                subject_id=household.id,
                title=Title.FAMILY,
                year=2025,
                commune_id=commune.id,
                village_id=village.id,
                criteria_set_id=criteria_set().id,
                status=RecognitionStatus.RECOGNISED,
                decision_number=NUMBER,
                decision_date=date.today(),
                authority=f"Chủ tịch UBND {commune.kind.lower()} {commune.name}",
                certificate_code=new_code(),
                breakdown=[],
            )
        )
    user = create_user("lanhdao.xa.dpt@example.vn", "Y In DPT", PASSWORD)
    assign_role(user, Role.COMMUNE_LEADER, commune)


def test_a_commune_leader_prints_a_large_decision_and_follows_its_progress(stack_app, phone):
    commit(stack_app, _arrange)
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, "lanhdao.xa.dpt@example.vn", PASSWORD, "Y In DPT")

    page.get_by_role("button", name="Trình đơn").click()
    page.locator("#nav").get_by_role("link", name="Công nhận", exact=True).click()
    decision = page.locator("#decisions li", has_text=NUMBER)
    last_page(page, "commune-leader-decisions-to-print")
    # The link says it prints (a page follows, not a PDF at once).
    decision.get_by_role("link", name=f"In danh sách và {len(HEADS)} giấy công nhận", exact=True).click()

    # Eight certificates are too many to draw while the phone waits: the print page offers to prepare them.
    expect(page.get_by_role("heading", name=f"In quyết định {NUMBER}")).to_be_visible()
    page.get_by_role("button", name="Chuẩn bị tệp PDF").click()
    expect(page.locator(".alert-success")).to_contain_text("Đang vẽ các giấy công nhận")
    expect(page.locator("#print-count")).to_contain_text(f"/ {len(HEADS)}")  # n of N certificates drawn
    assert page.evaluate(f"document.documentElement.scrollWidth <= {PHONE['width']}")
    last_page(page, "commune-leader-decision-print-progress")

    # The page follows the worker and offers the file when it is done.
    download = page.locator("#print-download")
    expect(download).to_be_visible(timeout=120_000)
    expect(page.locator("#print-count")).to_have_text(f"{len(HEADS)} / {len(HEADS)}")
    expect(page.locator("#print-state")).to_have_text("Sẵn sàng")
    response = page.request.get(download.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.body())).pages)
    assert text.count("GIẤY CÔNG NHẬN") == len(HEADS)
    assert all(head in text for head in HEADS)
    assert f"Kèm theo Quyết định số {NUMBER}" in " ".join(text.split())
    assert re.search(r"TM\. ỦY BAN NHÂN DÂN\s+CHỦ TỊCH", text)
    last_page(page, "commune-leader-decision-print-ready")
    page.set_viewport_size({"width": 1280, "height": 800})  # and on a laptop
    assert page.evaluate("document.documentElement.scrollWidth <= 1280")
    last_page(page, "commune-leader-decision-print-ready-laptop")
    assert errors == []
