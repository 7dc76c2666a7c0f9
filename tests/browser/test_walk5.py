"""Walk 5's journeys, each from the home page by clicking only, on a phone (390×844):

- a third party handed a certificate checks it from the home page by typing its code as printed (lower case, spaces),
  downloads its digital credential and verifies that file by choosing it from the phone's files — there was only a
  box to paste the file's content into, which a phone does not do with a downloaded file;
- the national administrator, on a laptop, opens an account for a province's administrator and finds the province by
  typing its name — every commune of the province carries it too ("Xã … — Tỉnh Quảng Ngãi"), and the province itself
  could not be chosen by typing.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import expect

from courses import services as courses
from courses.models import Certificate
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, Clc, Household, Person, UnitLevel
from tests.browser.conftest import TIMEOUT_MS, commit
from tests.browser.screenshots import log_in

CODE = "WKFV-FILE-R005"


def _arrange_certificate() -> None:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="WK5-01",
        name="Thôn Đi Bộ Năm",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:WK5-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    household = Household(village_id=village.id, code="WK5-H1")
    db.session.add(household)
    db.session.flush()
    learner = Person(full_name="Y Wơn Đi Bộ", unit_id=village.id, household_id=household.id)
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng Đi Bộ Năm")
    db.session.add_all([learner, clc])
    db.session.flush()
    course = courses.create_course(
        unit=commune, code="WK5-01", name="Tin học cơ bản WK5", category="literacy", planned_hours=Decimal(8)
    )
    course_class = courses.create_class(
        course=course,
        clc=clc,
        name="Lớp tin học WK5",
        capacity=10,
        starts_on=date(2026, 3, 2),
        ends_on=date(2026, 3, 30),
    )
    db.session.add(Certificate(class_id=course_class.id, person_id=learner.id, issued_on=date(2026, 3, 30), code=CODE))


def test_a_verifier_on_a_phone_chooses_the_downloaded_credential_file(stack_app, phone, tmp_path: Path):
    commit(stack_app, _arrange_certificate)
    page = phone
    page.goto("/")
    page.get_by_role("link", name="Giấy chứng nhận hoàn thành khóa học").click()
    page.get_by_label("Mã xác minh").fill("wkfv file r005")
    page.get_by_role("button", name="Xác minh").click()
    expect(page.locator("main")).to_contain_text("Còn hiệu lực")
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải chứng chỉ số (Open Badges 3.0)").click()
    saved = tmp_path / "chung-nhan.json"
    download.value.save_as(saved)

    page.get_by_role("link", name="Xác thực chứng chỉ số").click()
    expect(page.get_by_text("Chọn tệp…")).to_be_visible()
    page.get_by_label("Tệp chứng chỉ số (.json) đã tải về").set_input_files(saved)
    expect(page.locator("#credential-file-chosen")).to_have_text("chung-nhan.json")
    result = page.locator("#browser-result")
    expect(result).to_have_attribute("data-reason", "ok")  # verified at once, no second tap
    expect(result).to_contain_text("Tin học cơ bản WK5")
    # Dates as every page writes them: "30/03/2026", not the browser's "30/3/2026"; the status list's time likewise.
    expect(result).to_contain_text("có hiệu lực từ 30/03/2026")
    expect(page.locator("#status-source")).to_have_text(re.compile(r"lập lúc \d{2}/\d{2}/\d{4} \d{2}:\d{2}\)"))
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


NATIONAL = "quantri.quocgia.wk5@example.vn"
PASSWORD = "mật khẩu đi bộ W5"


def _arrange_national_administrator() -> None:
    admin = create_user(NATIONAL, "Quản trị Quốc gia WK5", PASSWORD)
    assign_role(admin, Role.ADMINISTRATOR, services.find_unit("VN", UnitLevel.COUNTRY))


def test_the_national_administrator_finds_a_province_by_typing_its_name(stack_app, browser, stack):
    commit(stack_app, _arrange_national_administrator)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=stack["base_url"], locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        log_in(page, NATIONAL, PASSWORD, "Quản trị Quốc gia WK5")
        page.locator(".role-card").get_by_role("link", name="Tài khoản người dùng").click()
        page.get_by_role("link", name="Tạo tài khoản").click()
        page.get_by_label("Họ và tên").fill("Trần Quản Trị Tỉnh")
        page.get_by_label("Thư điện tử").fill("quantri.quangngai.wk5@example.vn")
        page.get_by_label("Vai trò").select_option(label="Quản trị hệ thống")
        page.get_by_placeholder("Gõ vài chữ của tên để rút gọn danh sách").fill("quang ngai")
        unit = page.locator("select#unit")
        expect(unit.locator("option:checked")).to_have_text("Tỉnh Quảng Ngãi")
        # The communes of the province are still offered, after it.
        assert unit.locator("option").nth(1).inner_text() == "Tỉnh Quảng Ngãi"
        assert unit.locator("option").count() > 50
        page.get_by_role("button", name="Tạo tài khoản").click()
        page.get_by_role("link", name="Mở tài khoản").click()
        expect(page.locator("#roles")).to_contain_text("Quản trị hệ thống — Tỉnh Quảng Ngãi")
    finally:
        context.close()
