"""A centre manager, in Vietnamese, from the home page and only by clicking: the class, its attendance documents,
the attendance book downloaded and filled in, uploaded, previewed with the certificate it would revoke, confirmed,
and the result on the class page (issue 11, defect 2)."""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from openpyxl import load_workbook
from playwright.sync_api import expect
from sqlalchemy import select

from courses import services as courses
from courses.models import Certificate, CourseClass
from courses.services import Mark
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db, utcnow
from lms.registry import services
from lms.registry.models import AdminUnit, Clc, Household, Person, UnitLevel
from tests.browser.conftest import ROOT, commit

PASSWORD = "mật khẩu phiếu giấy"
CLASS_NAME = "Lớp đan lát SHT"
KEEPS = "Hồ Thị Mai SHT"
LOSES = "Rơ Mah Din SHT"


def _arrange() -> dict:
    """A class held on three Mondays of last month, two learners present every time, certificates issued."""
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="SHT-01",
        name="Thôn Đắk Sơ",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:SHT-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    household = Household(village_id=village.id, code="SHT-1")
    db.session.add(household)
    db.session.flush()
    learners = [Person(full_name=name, unit_id=village.id, household_id=household.id) for name in (KEEPS, LOSES)]
    db.session.add_all(learners)
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng SHT")
    db.session.add(clc)
    db.session.flush()
    course = courses.create_course(
        unit=commune,
        code="SHT-DL-01",
        name="Đan lát truyền thống SHT",
        category="needs_based",
        planned_hours=Decimal(6),
        min_attendance_share=Decimal("0.75"),
    )
    first = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    course_class = courses.create_class(
        course=course, clc=clc, name=CLASS_NAME, capacity=10, starts_on=first, ends_on=first + timedelta(days=27)
    )
    sessions = courses.schedule(
        course_class,
        [
            (
                datetime.combine(first + timedelta(days=7 * week), time(8)),
                datetime.combine(first + timedelta(days=7 * week), time(10)),
            )
            for week in range(3)
        ],
    )
    courses.enrol(course_class, [p.id for p in learners])
    for session in sessions:
        courses.record_attendance(session, [Mark(p.id, "present", utcnow()) for p in learners], user_id=None)
    courses.recompute_class(course_class.id)
    user = create_user("quanly.phieu@example.vn", "Phan Văn Phiếu", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, commune)
    return {"class_id": course_class.id}


def test_a_paper_sheet_is_previewed_with_the_certificate_it_revokes_then_confirmed(stack_app, phone, tmp_path):
    arranged = commit(stack_app, _arrange)
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/")
    page.get_by_label("Thư điện tử").fill("quanly.phieu@example.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Xin chào, Phan Văn Phiếu").wait_for()

    page.get_by_role("button", name="Trình đơn").click()
    page.locator("#nav").get_by_role("link", name="Lớp học", exact=True).click()
    page.get_by_role("link", name=re.compile(CLASS_NAME)).first.click()
    expect(page.get_by_role("heading", name=CLASS_NAME)).to_be_visible()
    expect(page.locator(".certificate-code")).to_have_count(2)
    page.get_by_role("link", name="Sổ điểm danh và phiếu điểm danh giấy").click()
    expect(page.get_by_role("heading", name="Nhập bảng điểm danh giấy")).to_be_visible()
    expect(page.locator("#sheet-legend")).to_contain_text("P hoặc x = Có mặt")

    # The book, as the centre would print it; Rơ Mah Din's last two sessions corrected to "V" (vắng) on paper.
    with page.expect_download() as download:
        page.locator("#book-xlsx").click()
    book = load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))  # noqa: SIM115 - read at once
    sheet = book.active
    header = next(r for r in sheet.iter_rows(min_row=1, max_row=12) if r[0].value == "STT")
    dates = [c.column for c in header if re.fullmatch(r"\d{2}/\d{2}/\d{4}", str(c.value or ""))]
    assert len(dates) == 3
    row = next(r for r in sheet.iter_rows() if r[1].value == LOSES)
    assert [row[c - 1].value for c in dates] == ["P", "P", "P"]
    row[dates[1] - 1].value, row[dates[2] - 1].value = "V", "v"
    filled = tmp_path / "so-diem-danh-da-dien.xlsx"
    book.save(filled)

    page.get_by_label("Bảng điểm danh (.xlsx)").set_input_files(str(filled))
    page.get_by_role("button", name="Tải lên để xem trước").click()
    expect(page.get_by_role("heading", name="Xem trước: chưa có gì được ghi")).to_be_visible()
    expect(page.locator('[data-kind="changed"] strong')).to_have_text("2")
    expect(page.locator('[data-kind="unchanged"] strong')).to_have_text("4")
    expect(page.locator('[data-kind="refused"] strong')).to_have_text("0")
    revoked = page.locator("#preview-revoked")
    expect(revoked).to_contain_text("1 chứng nhận sẽ bị thu hồi")
    expect(revoked).to_contain_text(LOSES)
    expect(revoked).not_to_contain_text(KEEPS)
    expect(page.locator("#preview-changed")).to_contain_text("Vắng")
    page.screenshot(path=str(ROOT / "test-results" / "attendance-sheet-preview.png"), full_page=True)

    page.get_by_role("button", name="Ghi 2 điểm danh, thu hồi 1 chứng nhận").click()
    expect(page.get_by_text(re.compile(r"2 điểm danh được ghi .*Đã thu hồi 1 chứng nhận"))).to_be_visible()

    # Back to the class: one certificate left, the other revoked with its reason.
    page.get_by_role("link", name=CLASS_NAME).first.click()
    expect(page.locator(".certificate-code")).to_have_count(1)
    lost = page.locator(".certificate-row", has_text=LOSES)
    expect(lost).to_contain_text("Đã thu hồi")
    expect(lost).to_contain_text("so-diem-danh-da-dien.xlsx")
    assert not errors, errors

    with stack_app.app_context():
        certificate = db.session.scalar(
            select(Certificate)
            .join(Person, Person.id == Certificate.person_id)
            .where(Certificate.class_id == arranged["class_id"], Person.full_name == LOSES)
        )
        assert certificate.revoked_at is not None
        assert db.session.get(CourseClass, arranged["class_id"]) is not None
