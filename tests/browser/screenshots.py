"""The journeys' last screens for the README: written under docs/screenshots/ when LMS_SCREENSHOTS is set
(``make screenshots``), so an ordinary test run leaves the tracked images alone."""

from __future__ import annotations

import os

from tests.browser.conftest import ROOT

DIRECTORY = ROOT / "docs" / "screenshots"


def last_page(page, name: str) -> None:
    if os.environ.get("LMS_SCREENSHOTS"):
        DIRECTORY.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DIRECTORY / f"{name}.png"), full_page=True)


def log_in(page, email: str, password: str, name: str) -> None:
    """The only typed address: the home page, then the login form it leads to."""
    page.goto("/")
    page.get_by_label("Thư điện tử").fill(email)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text(f"Xin chào, {name}").wait_for()
