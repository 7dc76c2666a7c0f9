"""An instructor on a phone, from the home page by clicking only, makes an API token for the roll-call app and
revokes it. Walked before this: the tokens were a table whose last column, the Revoke button, lay past the right
edge of a 390-pixel screen."""

from __future__ import annotations

from playwright.sync_api import expect

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.registry import services
from lms.registry.models import UnitLevel
from tests.browser.conftest import PHONE, commit
from tests.browser.screenshots import last_page, log_in

EMAIL = "giangvien.tok@example.vn"
PASSWORD = "mật khẩu giảng viên TOK"
NAME = "Giảng viên TOK"
TOKEN = "Ứng dụng điểm danh của Trung tâm TOK"


def _arrange() -> None:
    user = create_user(EMAIL, NAME, PASSWORD)
    assign_role(user, Role.INSTRUCTOR, services.find_unit("23293", UnitLevel.COMMUNE))


def test_an_instructor_makes_and_revokes_an_api_token_on_a_phone(stack_app, phone):
    commit(stack_app, _arrange)
    page = phone
    log_in(page, EMAIL, PASSWORD, NAME)
    page.get_by_role("button", name="Trình đơn").click()
    page.get_by_role("link", name="Mã truy cập API").click()
    expect(page.locator("#tokens")).to_contain_text("Chưa có mã nào.")
    page.get_by_label("Tên").fill(TOKEN)
    page.get_by_role("button", name="Tạo mã").click()
    expect(page.locator("#new-token")).to_be_visible()
    expect(page.get_by_label("Tên")).to_have_value("")  # a second tap makes no second token of the same name
    row = page.locator("#tokens .token", has_text=TOKEN)
    expect(row).to_contain_text("Lần dùng gần nhất: chưa bao giờ")
    revoke = row.get_by_role("button", name="Thu hồi")
    box = revoke.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"], box  # on the screen, not past its edge
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Revoking cannot be undone: the page asks first, naming the token; declined, nothing changes.
    asked: list[str] = []

    def answer(dialog, accept: bool) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    revoke.click()
    expect(row).not_to_contain_text("đã thu hồi")
    assert asked
    assert TOKEN in asked[0]
    assert "không thể hoàn tác" in asked[0]
    page.once("dialog", lambda dialog: answer(dialog, True))
    revoke.click()
    expect(page.locator("#tokens .token", has_text=TOKEN)).to_contain_text("đã thu hồi")
    last_page(page, "api-tokens")
