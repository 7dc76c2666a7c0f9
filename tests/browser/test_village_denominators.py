"""A leader goes from the home page to a commune's targets, then to one of its villages: the denominators are the
village's there ("Tất cả hộ gia đình của thôn"), not worded for the commune ("… của xã")."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlalchemy import update

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.targets.models import Indicator
from tests.browser.conftest import commit
from tests.targets.dashboard_data import build_province

PASSWORD = "mật khẩu mẫu số thôn"


def _arrange() -> dict:
    data = build_province(2, households_per_village=2, tag="D")
    # The plans word their denominators for a commune, as QĐ 387/2022 does.
    db.session.execute(
        update(Indicator)
        .where(Indicator.denominator_text == "Tổng số hộ gia đình")
        .values(denominator_text="Tất cả hộ gia đình của xã")
    )
    user = create_user("lanhdao.mauso@example.vn", "Lê Văn Mẫu Số", PASSWORD)
    assign_role(user, Role.PROVINCE_LEADER, data.province)
    return {"commune": data.communes[0].full_name, "village": data.villages[0].full_name}


def test_a_village_page_words_its_denominators_for_the_village(stack_app, phone):
    arranged = commit(stack_app, _arrange)
    page = phone
    page.goto("/")
    page.get_by_label("Thư điện tử").fill("lanhdao.mauso@example.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Xin chào, Lê Văn Mẫu Số").wait_for()
    page.get_by_role("button", name="Trình đơn").click()
    page.locator("#nav").get_by_role("link", name="Chỉ tiêu kế hoạch").click()
    page.locator("#ranking-table").get_by_role("link", name=arranged["commune"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(arranged["commune"])
    expect(page.locator("main")).to_contain_text("Tất cả hộ gia đình của xã")

    page.locator("#ranking-table").get_by_role("link", name=arranged["village"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(arranged["village"])
    expect(page.locator("main")).to_contain_text("Tất cả hộ gia đình của thôn")
    expect(page.locator("main")).not_to_contain_text("của xã")
