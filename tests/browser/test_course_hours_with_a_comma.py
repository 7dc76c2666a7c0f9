"""A centre manager types a course's planned hours the Vietnamese way, with a decimal comma, on a phone: the
catalogue keeps 12,5 hours — not 125, which the browser's number box made of "12,5" without a word."""

from __future__ import annotations

from playwright.sync_api import expect

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import Clc, UnitLevel
from tests.browser.conftest import commit
from tests.browser.screenshots import log_in

PASSWORD = "mật khẩu quản lý HRS"


def _arrange() -> None:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    db.session.add(Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng HRS"))
    user = create_user("quanly.hrs@example.vn", "Đinh Văn Giờ HRS", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, commune)


def test_planned_hours_typed_with_a_decimal_comma_are_kept(stack_app, phone):
    commit(stack_app, _arrange)
    page = phone
    log_in(page, "quanly.hrs@example.vn", PASSWORD, "Đinh Văn Giờ HRS")
    page.locator(".role-card").get_by_role("link", name="Lớp học").click()
    page.get_by_role("link", name="Danh mục").click()
    page.get_by_role("link", name="Khóa học mới").click()
    page.get_by_label("Mã").fill("HRS-SC-01")
    page.get_by_label("Tên").fill("Sơ cứu ban đầu HRS")
    page.get_by_label("Lĩnh vực").select_option(label="Đáp ứng yêu cầu của người học; cập nhật kiến thức, kỹ năng")
    hours = page.get_by_label("Số giờ dự kiến")
    hours.press_sequentially("12,5")  # key by key, as a person types it
    expect(hours).to_have_value("12,5")
    page.get_by_role("button", name="Thêm vào danh mục").click()

    expect(page.get_by_role("heading", name="Sơ cứu ban đầu HRS")).to_be_visible()
    expect(page.locator("dd", has_text="12,5")).to_be_visible()
    expect(page.get_by_text("125")).to_have_count(0)
