"""A province leader on a phone: open the targets dashboard, tap the lagging commune in the ranking, then its
village, and read which household is not yet a Learning Family and why."""

from __future__ import annotations

from playwright.sync_api import expect

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.titles.explain import describe_missing
from tests.browser.conftest import PHONE, commit
from tests.targets.dashboard_data import MISSING_ITEM, build_province

PASSWORD = "mật khẩu thử nghiệm"


def _arrange() -> dict:
    data = build_province(4, households_per_village=3, tag="B")
    user = create_user("lanhdao.tinh@example.vn", "Lê Văn Lãnh Đạo", PASSWORD)
    assign_role(user, Role.PROVINCE_LEADER, data.province)
    return {
        "province": data.province.full_name,
        "commune": data.communes[0].full_name,
        "village": data.villages[0].full_name,
    }


def test_leader_drills_down_from_province_to_a_household(stack_app, phone):
    arranged = commit(stack_app, _arrange)
    with stack_app.test_request_context():  # the engine's sentence in the page's language
        sentence = describe_missing(MISSING_ITEM)
    page = phone

    page.goto("/")
    page.get_by_label("Thư điện tử").fill("lanhdao.tinh@example.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Xin chào, Lê Văn Lãnh Đạo").wait_for()

    page.get_by_role("button", name="Trình đơn").click()
    page.locator("#nav").get_by_role("link", name="Chỉ tiêu kế hoạch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(arranged["province"])
    # Real charts, described for screen readers, that fit the phone's width (no sideways scrolling).
    expect(page.locator("svg.chart-bullet").first).to_be_visible()
    assert page.locator("svg.chart-bullet title").first.text_content()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # The lagging commune (20 % against 80 %) heads the ranking: tap it.
    ranking = page.locator("#ranking-table")
    first = ranking.locator("tbody tr").first
    expect(first).to_contain_text(arranged["commune"])
    first.get_by_role("link", name=arranged["commune"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(arranged["commune"])

    page.locator("#ranking-table").get_by_role("link", name=arranged["village"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(arranged["village"])

    # The list of who lags sits under every indicator's card: one tap from the top of the page brings it up.
    pending = page.locator("#pending-table")
    expect(pending).not_to_be_in_viewport()
    jump = page.locator("#pending-jump")
    expect(jump).to_have_text("Hộ chưa đạt Gia đình học tập: 3 — xem từng trường hợp và còn thiếu gì")
    jump.click()
    expect(page.locator("#h-pending")).to_be_in_viewport()
    row = pending.locator("tr", has_text="Chủ Hộ B 1 0")
    expect(row).to_be_visible()
    expect(row).to_contain_text(f"Trẻ em ngoan, lễ phép, có ý thức tự học: {sentence}")  # A3, by its name
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
