"""A centre manager on a phone, from the home page by clicking only, opens the pages that show their centre's name,
typed as one word longer than the screen. Walked before this: such a name (the form takes 300 letters without a
space) made the commune's page, the centre's page and its timetable 3.000 to 5.000 pixels wide."""

from __future__ import annotations

from playwright.sync_api import expect

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import Clc, UnitLevel
from tests.browser.conftest import PHONE, commit
from tests.browser.screenshots import log_in

EMAIL = "quanly.lwj@example.vn"
PASSWORD = "mật khẩu quản lý LWJ"
NAME = "Quản lý LWJ"
CENTRE = "TrungTâmHọcTậpCộngĐồngLWJ" * 12  # 312 letters, no space


def _arrange() -> str:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    db.session.add(Clc(commune_id=commune.id, name=CENTRE[:300]))
    user = create_user(EMAIL, NAME, PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, commune)
    return commune.full_name


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_a_name_longer_than_the_screen_wraps_on_a_phone(stack_app, phone):
    commune = commit(stack_app, _arrange)
    page = phone
    log_in(page, EMAIL, PASSWORD, NAME)
    page.locator("#role-cards").get_by_role("link", name=commune, exact=True).click()
    centre = page.get_by_role("link", name=CENTRE[:40])
    expect(centre).to_be_visible()
    _fits(page)
    centre.click()
    expect(page.get_by_role("heading", name=CENTRE[:40])).to_be_visible()
    _fits(page)
