"""A province leader whose phone is set to English: from the home page, by the menu, to the province's targets,
the lagging commune, and that commune's annual report as a PDF — all in Vietnamese, figures in Vietnamese
convention, indicators by name, and a report an official can file."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pdfplumber
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from tests.browser.conftest import PHONE, ROOT, TIMEOUT_MS, commit
from tests.targets.dashboard_data import build_province

PASSWORD = "mật khẩu báo cáo tỉnh"


@pytest.fixture
def english_phone(browser, stack: dict, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A phone whose browser asks for English: the site must still open in Vietnamese."""
    context = browser.new_context(
        viewport=PHONE,
        base_url=stack["base_url"],
        locale="en-US",
        is_mobile=True,
        has_touch=True,
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    out = ROOT / "test-results"
    out.mkdir(exist_ok=True)
    page.screenshot(path=str(out / f"{request.node.name}.png"), full_page=True)
    context.close()


def _arrange() -> dict:
    data = build_province(5, households_per_village=1, tag="R")
    user = create_user("baocao.tinh@example.vn", "Phạm Thị Báo Cáo", PASSWORD)
    assign_role(user, Role.PROVINCE_LEADER, data.province)
    return {
        "province": data.province.full_name,
        "commune": data.communes[0].full_name,
        "village": data.villages[0].full_name,
        "family": data.family.name,
        "code": data.family.code,
    }


def test_province_leader_files_the_lagging_communes_annual_report(stack_app, english_phone):
    arranged = commit(stack_app, _arrange)
    page = english_phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "vi")  # the phone asks for English; the site says no
    page.get_by_label("Thư điện tử").fill("baocao.tinh@example.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Xin chào, Phạm Thị Báo Cáo")

    page.get_by_role("button", name="Trình đơn").click()
    page.locator("#nav").get_by_role("link", name="Chỉ tiêu kế hoạch").click()
    # The province's dashboard is drawn on its first request, uncached: with CI's two runs sharing two cores it once
    # took more than the pages' 15 s.
    expect(page.get_by_role("heading", level=1)).to_have_text(arranged["province"], timeout=60_000)
    family_card = page.locator(f"#indicator-{arranged['code']}")
    # The indicator by its name, the code only in a tooltip; the province's stored 65 % as Vietnamese writes it.
    expect(family_card.get_by_role("heading", level=2)).to_have_text(arranged["family"])
    expect(family_card.get_by_role("heading", level=2)).to_have_attribute("title", arranged["code"])
    expect(family_card.locator("td.share")).to_have_text("65,0\u00a0%")
    expect(page.locator("#indicators")).not_to_contain_text(f"{arranged['code']} ")

    # The ranking puts the lagging commune first, 60 points short of its 80 % target.
    first = page.locator("#ranking-table tbody tr").first
    expect(first).to_contain_text(arranged["commune"])
    expect(first).to_contain_text("60,0")
    first.get_by_role("link", name=arranged["commune"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(arranged["commune"])
    expect(page.locator(f"#indicator-{arranged['code']} td.share")).to_have_text("20,0\u00a0%")
    # Its village has figures of its own in the ranking (not "—").
    village_row = page.locator("#ranking-table tbody tr", has_text=arranged["village"])
    expect(village_row).to_contain_text("20,0")

    # The clerk has given the report its number: typed where the report is chosen, printed after "Số:".
    page.get_by_label("Số văn bản").fill("125")
    with page.expect_download() as download_info:
        page.get_by_role("group", name="Báo cáo năm").get_by_role("button", name="PDF").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".pdf")
    with pdfplumber.open(download.path()) as document:
        assert document.pages[0].width > document.pages[0].height  # landscape, as filed
        text = " ".join(" ".join(page_.extract_text() or "" for page_ in document.pages).split())
    assert "BÁO CÁO KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU NĂM 2025" in text  # at the foot of each page
    assert "BÁO CÁO Kết quả thực hiện các chỉ tiêu năm 2025" in text  # the form's title and summary (trích yếu)
    assert "Số: 125/BC-UBND" in text  # a commune's report: filed by its People's Committee, numbered by its clerk
    assert "Nơi nhận:" in text
    assert f"Đơn vị: {arranged['commune']}" in text
    assert arranged["family"] in text
    assert "20,0" in text  # the commune's share, in Vietnamese convention
    assert "31/12/2025" in text
    assert f" {arranged['code']} " not in f" {text} "  # never the internal code
    assert arranged["village"] in text  # its village's row, filled
    # The workbook of the same report carries the same number, in the same heading.
    with page.expect_download() as download_info:
        page.get_by_role("group", name="Báo cáo năm").get_by_role("button", name="xlsx").click()
    assert download_info.value.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(download_info.value.path().read_bytes()))
    cells = [c for row in workbook.worksheets[0].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "Số: 125/BC-UBND" in cells
    assert any(c.startswith("Nơi nhận:") for c in cells)
    assert not errors, errors
