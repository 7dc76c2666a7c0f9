"""A week's work as its users do it, from the home page and by clicking, in Vietnamese: what a second walk through
each role's weekly work found (walk2). Each journey checks what a commune official stumbled on."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from courses import services as courses
from courses.services import Mark
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.registry import services as registry
from lms.registry.models import UnitLevel
from tests.browser.conftest import PHONE, TIMEOUT_MS, commit
from tests.browser.screenshots import log_in
from tests.conftest import make_household, make_village
from tests.courses.conftest import make_centre, make_class

PASSWORD = "mật khẩu tuần WWK"
CLASS_NAME = "Lớp cà phê tháng 3 WWK"


def _class_with_certificates() -> dict:
    """A class held in March: two learners attended both sessions (certificates), the third only one (none)."""
    centre = make_centre("26041", learners=3, label="WWK")
    course_class = make_class(centre, starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 31), name=CLASS_NAME)
    sessions = courses.schedule(
        course_class,
        [(datetime(2026, 3, 2, 19), datetime(2026, 3, 2, 21)), (datetime(2026, 3, 9, 19), datetime(2026, 3, 9, 21))],
    )
    learners = centre.learners
    courses.enrol(course_class, [p.id for p in learners])
    for index, session in enumerate(sessions):
        marks = [Mark(p.id, "present", datetime(2026, 3, 1)) for p in learners[:2]]
        marks.append(Mark(learners[2].id, "present" if index == 0 else "absent", datetime(2026, 3, 1)))
        courses.record_attendance(session, marks, user_id=None)
    courses.recompute_class(course_class.id, as_of=datetime(2026, 4, 1, 12))
    user = create_user("quanly.wwk@example.vn", "Trịnh Văn Quản WWK", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, centre.commune)
    return {"certified": [p.full_name for p in learners[:2]], "not_certified": learners[2].full_name}


def test_a_centre_manager_prints_the_classs_certificates_at_once(stack_app, phone):
    arranged = commit(stack_app, _class_with_certificates)
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, "quanly.wwk@example.vn", PASSWORD, "Trịnh Văn Quản WWK")

    page.locator(".role-card").get_by_role("link", name="Lớp học").click()
    page.get_by_role("link", name=CLASS_NAME).click()
    expect(page.locator(".certificate-code")).to_have_count(2)
    # One link for the whole class's certificates, next to them, saying how many pages it prints.
    link = page.locator("#completions").get_by_role("link", name="In 2 giấy chứng nhận (PDF, mỗi người một trang)")
    link.scroll_into_view_if_needed()
    expect(link).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # Headless Chromium hands an inline PDF to its viewer without a download event: the link's target is read with
    # the page's own session (ADR 21).
    response = page.request.get(link.get_attribute("href") or "")
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.body())).pages
    assert len(pages) == 2
    texts = [p.extract_text() for p in pages]
    # One learner per page, each certified learner once, and not the one who missed a session.
    holders = [[name for name in arranged["certified"] if name in text] for text in texts]
    assert sorted(h for page_holders in holders for h in page_holders) == sorted(arranged["certified"])
    assert all(len(page_holders) == 1 for page_holders in holders)
    assert all("GIẤY CHỨNG NHẬN HOÀN THÀNH KHÓA HỌC" in text for text in texts)
    assert all(arranged["not_certified"] not in text for text in texts)
    assert errors == []


DESKTOP = {"width": 1280, "height": 800}
ADMIN_PASSWORD = "mật khẩu quản trị WWK"


@pytest.fixture
def desktop(browser, stack: dict) -> Iterator[object]:
    """A page in a laptop-sized viewport, in Vietnamese."""
    context = browser.new_context(viewport=DESKTOP, base_url=stack["base_url"], locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    yield page
    context.close()


def _province_administrator() -> None:
    admin = create_user("quantri.wwk@example.vn", "Quản trị Tỉnh WWK", ADMIN_PASSWORD)
    assign_role(admin, Role.ADMINISTRATOR, registry.find_unit("51", UnitLevel.PROVINCE))


@pytest.fixture(scope="module")
def province_administrator(stack_app) -> None:
    commit(stack_app, _province_administrator)


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_an_administrator_finds_the_commune_of_a_new_role_by_typing_its_name(province_administrator, request, viewport):
    """Some hundred communes and wards in the province (3,400 for the country's administrator) in one list: a box
    above it keeps the names with a word beginning with each word typed, accents or not; a single match is chosen."""
    page = request.getfixturevalue(viewport)
    log_in(page, "quantri.wwk@example.vn", ADMIN_PASSWORD, "Quản trị Tỉnh WWK")
    page.locator(".role-card").get_by_role("link", name="Tài khoản người dùng").click()
    page.get_by_role("link", name="Tạo tài khoản").click()
    page.get_by_label("Họ và tên").fill(f"Y Niê WWK {viewport}")
    page.get_by_label("Thư điện tử").fill(f"ynie.wwk.{viewport}@example.vn")
    page.get_by_label("Vai trò").select_option(label="Lãnh đạo xã")
    units = page.get_by_label("Đơn vị")
    assert units.locator("option").count() > 50
    page.get_by_label("Tìm trong danh sách").fill("kon tum")  # typed without accents
    expect(units.locator("option")).to_have_text(["— chọn đơn vị —", "Phường Kon Tum — Tỉnh Quảng Ngãi"])
    expect(units.locator("option:checked")).to_have_text("Phường Kon Tum — Tỉnh Quảng Ngãi")
    if viewport == "phone":
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("button", name="Tạo tài khoản").click()
    page.get_by_role("link", name="Mở tài khoản").click()
    expect(page.locator("#roles")).to_contain_text("Lãnh đạo xã — Phường Kon Tum")


def _province_leader() -> None:
    leader = create_user("lanhdao.wwk@example.vn", "Lãnh đạo Tỉnh WWK", ADMIN_PASSWORD)
    assign_role(leader, Role.PROVINCE_LEADER, registry.find_unit("51", UnitLevel.PROVINCE))


def test_a_province_leader_picks_the_commune_to_decide_for_by_typing_its_name(stack_app, phone):
    """The province's hundred communes and wards in the decision screen's list: the same box above it."""
    commit(stack_app, _province_leader)
    page = phone
    log_in(page, "lanhdao.wwk@example.vn", ADMIN_PASSWORD, "Lãnh đạo Tỉnh WWK")
    page.locator(".role-card").get_by_role("link", name="Quyết định công nhận").click()
    communes = page.locator("select[name=commune_id]")
    assert communes.locator("option").count() > 50
    page.get_by_label("Tìm trong danh sách").fill("kon tum")
    expect(communes.locator("option:checked")).to_have_text("Phường Kon Tum")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_role("button", name="Xem").click()
    expect(page.locator("select[name=commune_id] option:checked")).to_have_text("Phường Kon Tum")


def _commune_leader_and_a_family() -> None:
    commune = registry.find_unit("26041", UnitLevel.COMMUNE)
    village = make_village(commune, "WWK-V2", "Thôn Tìm WWK")
    make_household(village, "WWK-S1", "Nguyễn Văn Ánh WWK", "Nguyễn Thị Bích WWK")
    leader = create_user("xa.wwk@example.vn", "Lãnh đạo Xã WWK", ADMIN_PASSWORD)
    assign_role(leader, Role.COMMUNE_LEADER, commune)


def test_a_commune_leader_finds_a_person_named_without_the_middle_name(stack_app, phone):
    """'Ánh Nguyễn', as people say it, finds Nguyễn Văn Ánh; a name no one has says what to try."""
    commit(stack_app, _commune_leader_and_a_family)
    page = phone
    log_in(page, "xa.wwk@example.vn", ADMIN_PASSWORD, "Lãnh đạo Xã WWK")
    page.get_by_role("button", name="Trình đơn").click()
    page.get_by_role("link", name="Tìm kiếm").click()
    page.get_by_label("Tên").fill("anh nguyen wwk")
    page.get_by_role("button", name="Tìm kiếm").click()
    results = page.locator("#results")
    expect(results.get_by_role("link")).to_have_count(1)
    expect(results).to_contain_text("Nguyễn Văn Ánh WWK")
    page.get_by_label("Tên").fill("Trần Khôi WWK")
    page.get_by_role("button", name="Tìm kiếm").click()
    expect(page.locator("#no-results")).to_contain_text("Không có ai tên “Trần Khôi WWK” trong sổ đăng ký")
    expect(page.locator("#no-results")).to_contain_text("Hãy gõ ít chữ hơn")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
