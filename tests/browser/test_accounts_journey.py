"""An administrator of a province opens an account for a new commune officer from the menu; the officer logs in with
the temporary password and is led to choose their own before anything else (ADR 52)."""

from __future__ import annotations

from playwright.sync_api import expect

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.registry import services
from lms.registry.models import UnitLevel
from tests.browser.conftest import commit
from tests.browser.screenshots import log_in

ADMIN_PASSWORD = "mật khẩu quản trị tỉnh"


def _arrange() -> None:
    province = services.find_unit("51", UnitLevel.PROVINCE)
    admin = create_user("quantri.tinh51@example.vn", "Quản trị Tỉnh Năm Mốt", ADMIN_PASSWORD)
    assign_role(admin, Role.ADMINISTRATOR, province)


def test_an_account_made_by_the_administrator_starts_with_a_password_change(stack_app, phone):
    commit(stack_app, _arrange)
    page = phone
    log_in(page, "quantri.tinh51@example.vn", ADMIN_PASSWORD, "Quản trị Tỉnh Năm Mốt")
    page.locator(".role-card").get_by_role("link", name="Tài khoản người dùng").click()
    page.get_by_role("link", name="Tạo tài khoản").click()
    page.get_by_label("Họ và tên").fill("Y Moan Niê")
    page.get_by_label("Thư điện tử").fill("ymoan.nie@example.vn")
    page.get_by_role("button", name="Tạo tài khoản").click()  # no role chosen: nothing is created
    expect(page.get_by_text("Hãy chọn vai trò.")).to_be_visible()
    page.get_by_label("Vai trò").select_option(label="Cán bộ Hội Khuyến học")
    page.get_by_label("Đơn vị").select_option(label="Phường Kon Tum — Tỉnh Quảng Ngãi")
    page.get_by_role("button", name="Tạo tài khoản").click()
    password = page.locator("#temporary-password").inner_text()
    page.get_by_role("link", name="Mở tài khoản").click()
    expect(page.locator("#roles")).to_contain_text("Cán bộ Hội Khuyến học — Phường Kon Tum")
    page.get_by_role("button", name="Trình đơn").click()
    page.get_by_role("button", name="Đăng xuất").click()

    page.get_by_label("Thư điện tử").fill("ymoan.nie@example.vn")
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("heading", name="Đổi mật khẩu")).to_be_visible()
    expect(page.get_by_text("Hãy đặt mật khẩu của riêng bạn trước")).to_be_visible()
    page.get_by_label("Mật khẩu hiện tại").fill(password)
    page.get_by_label("Mật khẩu mới", exact=True).fill("mật khẩu của Y Moan")
    page.get_by_label("Nhập lại mật khẩu mới").fill("mật khẩu của Y Moan")
    page.get_by_role("button", name="Đổi mật khẩu").click()
    page.get_by_text("Xin chào, Y Moan Niê").wait_for()
    expect(page.locator(".role-card")).to_contain_text("Danh hiệu")
