"""On a 1280 × 800 laptop, an administrator's menu (its longest) keeps every label on one line, nothing of the
account links cut off, and the page does not scroll sideways; on a 1024 tablet the menu folds into its button."""

from __future__ import annotations

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.registry import services
from lms.registry.models import UnitLevel
from tests.browser.conftest import TIMEOUT_MS, commit
from tests.browser.screenshots import log_in

PASSWORD = "mật khẩu thực đơn"


def _arrange() -> None:
    user = create_user("menu@example.vn", "Nguyễn Thị Thực Đơn", PASSWORD)
    assign_role(user, Role.ADMINISTRATOR, services.find_unit("23293", UnitLevel.COMMUNE))


def test_the_menu_labels_stay_whole_on_a_laptop_and_fold_on_a_tablet(stack_app, browser, stack):
    commit(stack_app, _arrange)
    context = browser.new_context(base_url=stack["base_url"], locale="vi-VN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    log_in(page, "menu@example.vn", PASSWORD, "Nguyễn Thị Thực Đơn")
    items = page.locator("#nav a.nav-link, #nav a.navbar-text, #nav button")
    assert items.count() >= 12
    line = page.evaluate("parseFloat(getComputedStyle(document.querySelector('#nav a.nav-link')).lineHeight)")
    for box, text in zip(
        [items.nth(i).bounding_box() for i in range(items.count())], items.all_inner_texts(), strict=True
    ):
        assert box is not None, text
        assert box["height"] < 1.5 * line + 16, f"{text!r} wraps onto two lines"  # one line and its padding
    for link in page.locator("#nav a.navbar-text").all():
        assert link.evaluate("e => e.scrollWidth <= e.clientWidth"), link.inner_text()  # not cut off
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.set_viewport_size({"width": 1024, "height": 768})
    assert page.locator(".navbar-toggler").is_visible()
    assert not page.locator("#nav a.nav-link").first.is_visible()
    context.close()
