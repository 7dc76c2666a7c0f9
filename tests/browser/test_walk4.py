"""Walk 4's journey on a phone (390×844), from the home page by clicking only: an association officer opens My
learning, whose IT-standard badges wrap on a phone, and reads them with room for the Vietnamese marks."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE, TIMEOUT_MS, commit
from tests.browser.screenshots import log_in
from tests.browser.test_walk3 import PASSWORD, _officer


def test_a_wrapped_standard_badge_leaves_room_for_the_vietnamese_marks(stack_app, browser, stack):
    """'Chuẩn kỹ năng sử dụng CNTT cơ bản: đã học đủ 6 mô-đun, chưa có chứng chỉ' wraps on three lines of a phone with
    Bootstrap's badge line-height of 1: the hook of 'chỉ' touched 'chứng' above it (walk4's finding)."""
    email = commit(stack_app, lambda: _officer("w4"))
    context = browser.new_context(
        viewport=PHONE, base_url=stack["base_url"], locale="vi-VN", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    log_in(page, email, PASSWORD, "Y Mai W3w4")
    page.locator(".role-card").get_by_role("link", name="Việc học của tôi").click()
    badges = page.locator("main .badge.text-wrap")
    expect(badges.first).to_be_visible()
    assert badges.count() >= 2
    for badge in badges.all():
        size, height = badge.evaluate(
            "e => [parseFloat(getComputedStyle(e).fontSize), parseFloat(getComputedStyle(e).lineHeight)]"
        )
        assert height >= 1.3 * size, (badge.inner_text(), size, height)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    context.close()
