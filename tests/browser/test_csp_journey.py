"""The Content-Security-Policy in a real browser: an administrator ticks "keep me logged in", walks every menu
link, and Chromium reports no blocked script or style; then the session ends and the remember-me cookie logs the
browser in again with a new value (ADR 30)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.registry import services
from lms.registry.models import UnitLevel
from tests.browser.conftest import TIMEOUT_MS, commit

PASSWORD = "mật khẩu thử nghiệm"


def _arrange() -> None:
    user = create_user("csp@example.vn", "Lê Văn Chính Sách", PASSWORD)
    assign_role(user, Role.ADMINISTRATOR, services.find_unit("23293", UnitLevel.COMMUNE))


def test_every_menu_page_runs_under_the_policy_and_remember_me_rotates(stack_app, browser, stack):
    commit(stack_app, _arrange)
    context = browser.new_context(base_url=stack["base_url"], locale="vi-VN", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    blocked: list[str] = []
    page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )

    page.goto("/")
    page.get_by_label("Thư điện tử").fill("csp@example.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_label("Ghi nhớ đăng nhập").check()
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Xin chào, Lê Văn Chính Sách").wait_for()

    names = [name.strip() for name in page.locator("#nav a.nav-link").all_inner_texts()]
    assert len(names) >= 8
    for name in names:
        page.locator("#nav").get_by_role("link", name=name, exact=True).click()
        page.wait_for_load_state("load")
    # The API documentation (Swagger UI, vendored, started from a file) renders under the same policy.
    page.get_by_role("link", name="Mã truy cập API").click()
    page.get_by_role("link", name="Tài liệu API").click()
    expect(page.locator("#swagger-ui .opblock").first).to_be_visible()
    page.go_back()
    assert blocked == []
    # The policy is enforced, and a blocked handler would have been seen: an injected one is refused and reported.
    page.evaluate("() => document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=\"window.ran = 1\">')")
    expect(page.locator("img[src=x]")).to_have_count(1)
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.ran") is None
    assert any("inline event handler" in text for text in blocked), blocked
    blocked.clear()

    cookies = {cookie["name"]: cookie for cookie in context.cookies()}
    remembered = cookies["lms_remember"]
    assert remembered["httpOnly"]
    assert remembered["sameSite"] == "Lax"
    # The session ends (the browser closed, or twelve hours passed); the remember-me cookie alone logs in again.
    context.clear_cookies()
    context.add_cookies([remembered])
    page.goto("/")
    expect(page.get_by_text("Xin chào, Lê Văn Chính Sách")).to_be_visible()
    renewed = {cookie["name"]: cookie for cookie in context.cookies()}["lms_remember"]
    assert renewed["value"] != remembered["value"]
    assert re.fullmatch(r"[\w-]+\.[\w-]+", renewed["value"])
    assert blocked == []
    context.close()
