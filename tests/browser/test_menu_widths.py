"""The menu at a phone's, a tablet's and a laptop's width, as a commune leader logged in on the home page sees it:
the page never scrolls sideways, and the opened menu shows the user's name and "Mã truy cập API" in full. The menu
opened out at 768 px, where its links, the user's name and "Đăng xuất" needed some 1,070 px: a tablet scrolled
sideways."""

from __future__ import annotations

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.registry import services
from lms.registry.models import UnitLevel
from tests.browser.conftest import TIMEOUT_MS, commit
from tests.browser.screenshots import log_in

PASSWORD = "mật khẩu thực đơn"
NAME = "Nguyễn Thị Thực Đơn Rộng"


def _arrange() -> None:
    user = create_user("thucdon@example.vn", NAME, PASSWORD)
    assign_role(user, Role.COMMUNE_LEADER, services.find_unit("23293", UnitLevel.COMMUNE))


def _overflow(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_the_menu_fits_a_phone_a_tablet_and_a_laptop(stack_app, browser, stack):
    commit(stack_app, _arrange)
    for width in (390, 800, 1024, 1280):
        context = browser.new_context(
            base_url=stack["base_url"], locale="vi-VN", viewport={"width": width, "height": 800}
        )
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        log_in(page, "thucdon@example.vn", PASSWORD, NAME)
        assert _overflow(page) == 0, f"the home page scrolls sideways at {width} px"
        toggler = page.get_by_role("button", name="Trình đơn")
        if toggler.is_visible():
            toggler.click()
            page.locator("#nav.show").wait_for()
            assert _overflow(page) == 0, f"the opened menu scrolls sideways at {width} px"
            for link in (NAME, "Mã truy cập API"):
                shown = page.locator("#nav").get_by_role("link", name=link, exact=True)
                # In full: not cut to "Mã truy cập…" by the laptop's ellipsis.
                assert shown.evaluate("e => e.scrollWidth <= e.clientWidth"), f"{link!r} cut at {width} px"
        context.close()
