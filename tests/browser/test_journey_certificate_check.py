"""Someone handed a certificate — an employer, a school — on a phone, from the home page by clicking only, with no
account: the page they land on (the login) leads to the three public checks. Walked before this: the checks were
reachable only by scanning a certificate's QR code or typing the address printed under it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import PHONE


def test_a_visitor_without_an_account_reaches_the_certificate_checks_from_the_home_page(phone):
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/")
    expect(page.get_by_role("heading", name="Xác minh giấy chứng nhận (không cần tài khoản)")).to_be_visible()

    page.get_by_role("link", name="Giấy chứng nhận hoàn thành khóa học").click()
    expect(page.get_by_role("heading", name="Xác minh giấy chứng nhận")).to_be_visible()
    page.get_by_label("Mã xác minh").fill("zzzz-zzzz-zzzz")
    page.get_by_role("button", name="Xác minh").click()
    expect(page.get_by_role("heading", name="Không tìm thấy giấy chứng nhận")).to_be_visible()
    expect(page.locator("#certificate-status")).to_contain_text("ZZZZ-ZZZZ-ZZZZ")

    page.get_by_role("link", name="Học tập cộng đồng").click()  # the brand: the home page
    page.get_by_role("link", name="Giấy công nhận danh hiệu").click()
    expect(page.get_by_role("heading", name="Xác minh giấy công nhận")).to_be_visible()

    page.get_by_role("link", name="Học tập cộng đồng").click()
    page.get_by_role("link", name="Chứng chỉ số (tệp hoặc mã QR)").click()
    expect(page.get_by_role("heading", name="Xác thực chứng chỉ số")).to_be_visible()

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert errors == []
