"""A centre manager's class from the home page, on a phone, by clicking only: the course in the catalogue, a new
class, a weekly series across Tết (the skipped holidays named), a village enrolled from 15 years up, attendance
session by session, the attendance book downloaded, and the certificates the real worker issues."""

from __future__ import annotations

import io
import re
import time
from datetime import date
from decimal import Decimal

import pdfplumber
from openpyxl import load_workbook
from playwright.sync_api import expect

from courses import services as courses
from courses.models import Room
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, Clc, Household, Person, UnitLevel
from tests.browser.conftest import PHONE, commit
from tests.browser.screenshots import last_page, log_in

PASSWORD = "mật khẩu quản lý JRN"
CLASS_NAME = "Lớp đan lát JRN"
COURSE = "Đan lát mây tre JRN"
ADULTS = {"A Phiên JRN": date(1978, 5, 1), "Y Đào JRN": date(1983, 9, 12), "A Sáng JRN": date(1990, 1, 20)}
CHILDREN = {"Y Mai JRN": date(2012, 6, 1), "A Bin JRN": date(2024, 3, 3)}  # 13 and 1 on the first day


def _arrange() -> dict:
    courses.load_national_holidays()
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="JRN-01",
        name="Kon Tu JRN",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:JRN-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    for code, names in (("JRN-H1", ["A Phiên JRN", "Y Đào JRN", "Y Mai JRN", "A Bin JRN"]), ("JRN-H2", ["A Sáng JRN"])):
        household = Household(village_id=village.id, code=code)
        db.session.add(household)
        db.session.flush()
        born = ADULTS | CHILDREN
        db.session.add_all(
            [Person(full_name=n, unit_id=village.id, household_id=household.id, birth_date=born[n]) for n in names]
        )
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng JRN")
    db.session.add(clc)
    db.session.flush()
    db.session.add(Room(clc_id=clc.id, name="Nhà văn hóa JRN", capacity=30))
    courses.create_course(
        unit=commune,
        code="JRN-DL-01",
        name=COURSE,
        category="needs_based",
        planned_hours=Decimal(8),
        min_attendance_share=Decimal("0.75"),
    )
    user = create_user("quanly.jrn@example.vn", "Đinh Văn Quản JRN", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, commune)
    return {"village": village.full_name}


def test_a_centre_managers_class_from_the_catalogue_to_certificates(stack_app, phone):
    arranged = commit(stack_app, _arrange)
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, "quanly.jrn@example.vn", PASSWORD, "Đinh Văn Quản JRN")

    # Home card → classes → catalogue → the course → a new class of it.
    page.locator(".role-card").get_by_role("link", name="Lớp học").click()
    page.get_by_role("link", name="Danh mục").click()
    page.get_by_role("link", name=re.compile(COURSE)).click()
    page.get_by_role("link", name="Mở lớp mới cho khóa học này").click()
    question = page.get_by_text("Trung tâm nào tổ chức lớp?")
    expect(question.or_(page.get_by_label("Tên lớp"))).to_be_visible()  # is_visible() alone does not wait
    if question.is_visible():
        page.get_by_role("link", name="Trung tâm học tập cộng đồng JRN").click()
    page.get_by_label("Tên lớp").fill(CLASS_NAME)
    page.get_by_label("Phòng học thường dùng").select_option(label="Nhà văn hóa JRN")
    page.get_by_label("Sĩ số tối đa").fill("10")
    page.get_by_label("Ngày bắt đầu").fill("2026-02-02")
    page.get_by_label("Ngày kết thúc").fill("2026-03-01")
    page.get_by_role("button", name="Tạo lớp").click()
    expect(page.get_by_role("heading", name=CLASS_NAME)).to_be_visible()

    # Mondays and Wednesdays from 9 February, four sessions: Tết (16 and 18 February) is skipped and named.
    page.get_by_text("Lặp lại hằng tuần").click()
    form = page.locator("#recurring-form form")
    form.get_by_label("Từ", exact=True).fill("2026-02-09")
    form.locator("label", has_text="T2").click()
    form.locator("label", has_text="T4").click()
    form.get_by_label("Bắt đầu lúc").fill("19:00")
    form.get_by_label("Kết thúc lúc").fill("21:00")
    form.get_by_label("hoặc trong … buổi").fill("4")
    form.get_by_role("button", name="Xem trước các buổi học").click()
    # The dates first, Tết's named, nothing written; then the confirmation.
    preview = page.locator("#recurring-preview")
    expect(preview).to_contain_text("Sẽ xếp 4 buổi học, từ 09/02/2026 đến 25/02/2026.")
    expect(preview.locator("#recurring-skipped")).to_contain_text("16/02/2026")
    expect(preview).to_be_in_viewport()
    expect(page.locator(".session-row")).to_have_count(0)
    preview.get_by_role("button", name="Xếp 4 buổi học này").click()
    expect(page.get_by_text("Đã xếp 4 buổi học, từ 09/02/2026 đến 25/02/2026.")).to_be_visible()
    skipped = page.get_by_text(re.compile(r"Không xếp buổi học vào các ngày nghỉ lễ \(2\)"))
    expect(skipped).to_contain_text("Tết Nguyên đán")
    expect(skipped).to_contain_text("16/02/2026")
    expect(skipped).to_contain_text("18/02/2026")
    expect(page.locator(".session-row")).to_have_count(4)

    # The whole village, from 15 years up (the form's default): the three adults, not the children.
    page.get_by_text("Ghi danh theo thôn, hộ hoặc chức danh trong Hội").click()
    bulk = page.locator("#bulk-form form")
    bulk.get_by_label("Thôn", exact=True).select_option(label=arranged["village"])
    expect(bulk.get_by_label("Từ tuổi")).to_have_value("15")
    bulk.get_by_role("button", name="Xem trước ai sẽ được ghi danh").click()
    # Who first, nothing written: three adults with a seat, the two children left out by age; then the confirmation.
    preview = page.locator("#bulk-preview")
    expect(preview).to_contain_text("Sẽ ghi danh 3 người: 3 người có chỗ, 0 người vào danh sách chờ.")
    expect(preview).to_contain_text("Ngoài độ tuổi đã chọn (không ghi danh): 2")
    page.locator("#bulk-form form").get_by_role("button", name="Ghi danh 3 người này").click()
    expect(page.get_by_text(re.compile(r"Đã ghi danh \(3\)"))).to_be_visible()
    enrolled = page.locator("#enrolled")
    expect(enrolled.locator(".learner-row")).to_have_count(3)
    for name, born in ADULTS.items():
        expect(enrolled.locator(".learner-row", has_text=name)).to_contain_text(f"sinh năm {born.year}")
    for name in CHILDREN:
        expect(enrolled).not_to_contain_text(name)

    # Attendance on the phone, session by session: everyone present, A Sáng absent once (3 of 4 is enough).
    page.locator(".attendance-link").first.click()
    for index in range(4):
        expect(page.locator(".roll-row")).to_have_count(3)
        page.get_by_role("button", name="Tất cả có mặt").click()
        if index == 0:
            page.locator(".roll-row", has_text="A Sáng JRN").get_by_text("Vắng", exact=True).click()
        page.get_by_role("button", name="Lưu").click()
        expect(page.get_by_text("Đã lưu 3 lượt điểm danh.")).to_be_visible()
        if index < 3:
            # The next session's own page, not the one just saved: the roll of three is on both, and a tap on
            # "Tất cả có mặt" before the new page had come marked the old one (CI, a loaded machine).
            after = page.locator("#next-session").get_attribute("href")
            page.locator("#next-session").click()
            page.wait_for_url(re.compile(re.escape(after) + "$"))
            page.wait_for_load_state()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Back on the class page: the attendance book, as the centre files it.
    page.get_by_role("link", name=CLASS_NAME).first.click()
    with page.expect_download() as download:
        page.locator("#attendance-book-xlsx").click()
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True)
    cells = {str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row}
    assert set(ADULTS) <= cells
    assert not set(CHILDREN) & cells

    # The real worker applies the completion rule after the last session: three certificates.
    deadline = time.monotonic() + 90
    while page.locator(".certificate-code").count() < 3 and time.monotonic() < deadline:
        time.sleep(1.5)
        page.reload()
    expect(page.locator(".certificate-code")).to_have_count(3)
    for name in ADULTS:
        expect(page.locator("#certificates")).to_contain_text(name)
    # A learner who completed is not withdrawn (that would revoke the certificate unsaid): no button offers it.
    expect(page.locator("#enrolled").get_by_role("button", name="Rút khỏi lớp")).to_have_count(0)
    page.locator("#certificates").scroll_into_view_if_needed()
    last_page(page, "centre-manager-certificates")

    # The centre's report to file, from the menu's classes list with the centre chosen: the number the clerk gave is
    # typed once, and the PDF prints it after "Số:" (ADR 22).
    page.locator(".navbar-toggler").click()
    page.locator(".navbar").get_by_role("link", name="Lớp học").click()
    centre = page.get_by_label("Trung tâm", exact=True)
    if centre.count():
        centre.select_option(label="Trung tâm học tập cộng đồng JRN")
        page.locator("form", has=centre).locator("button[type=submit]").first.click()
    page.locator("#centre-report-link").click()
    page.get_by_label("Từ", exact=True).fill("2026-02-01")
    page.get_by_label("Đến", exact=True).fill("2026-03-31")
    page.get_by_role("button", name="Xem").click()
    expect(page.locator("#report-issuer")).to_contain_text("TRUNG TÂM HỌC TẬP CỘNG ĐỒNG JRN")
    page.get_by_label("Số văn bản").fill("37")
    with page.expect_download() as download:
        page.locator("#report-pdf").click()
    with pdfplumber.open(io.BytesIO(download.value.path().read_bytes())) as document:
        text = " ".join(" ".join(p.extract_text() or "" for p in document.pages).split())
    assert "Số: 37/BC-TTHTCĐ" in text
    assert "Nơi nhận:" in text
    assert errors == []
