"""An association officer on a phone, from the home page by clicking only: the home card opens My training, one tap
enrols in the IT class open to officers, and a national certificate is recorded with a photo from the camera."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from playwright.sync_api import expect

from courses import services as courses
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, AssociationMembership, Clc, Person, UnitLevel
from tests.browser.conftest import PHONE, commit
from tests.browser.screenshots import last_page, log_in

PASSWORD = "mật khẩu cán bộ OFJ"
EMAIL = "canbo.ofj@example.vn"
CLASS_NAME = "Lớp tin học cơ bản OFJ"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"  # a JPEG's first bytes


def _arrange() -> None:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="OFJ-01",
        name="Đăk Lây OFJ",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:OFJ-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    officer = Person(full_name="Y Lan OFJ", unit_id=village.id, birth_date=date(1988, 7, 1))
    db.session.add(officer)
    db.session.flush()
    db.session.add(
        AssociationMembership(person_id=officer.id, unit_id=commune.id, role="officer", started_on=date(2024, 1, 1))
    )
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng OFJ")
    db.session.add(clc)
    db.session.flush()
    course = courses.create_course(
        unit=commune,
        code="OFJ-CB-1",
        name="Tin học cơ bản OFJ",
        category="it_skills",
        planned_hours=Decimal(12),
        module_codes=["IU01", "IU02"],
    )
    today = courses.local_now().date()
    course_class = courses.create_class(
        course=course,
        clc=clc,
        name=CLASS_NAME,
        capacity=10,
        starts_on=today,
        ends_on=today + timedelta(days=30),
        target_group="association_officers",
    )
    tomorrow = today + timedelta(days=1)
    courses.schedule(course_class, [(datetime.combine(tomorrow, time(19)), datetime.combine(tomorrow, time(21)))])
    user = create_user(EMAIL, "Y Lan OFJ", PASSWORD)
    assign_role(user, Role.ASSOCIATION_OFFICER, commune)
    user.person_id = officer.id


def test_an_officer_enrols_and_records_a_certificate_from_the_home_page(stack_app, phone, tmp_path):
    commit(stack_app, _arrange)
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, EMAIL, PASSWORD, "Y Lan OFJ")

    # The officer's card leads to their training (it used to lead to a registry page they may not open).
    page.locator(".role-card").get_by_role("link", name="Việc học của tôi").click()
    expect(page.locator("#open-classes")).to_contain_text(CLASS_NAME)
    page.locator("#open-classes .card", has_text=CLASS_NAME).get_by_role("button", name="Đăng ký học").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("#upcoming")).to_contain_text(CLASS_NAME)

    # A national certificate with a photo: the file input offers the phone's camera.
    page.get_by_role("link", name="Thêm chứng chỉ ứng dụng CNTT").click()
    page.get_by_label("Số hiệu chứng chỉ").fill("C-778899")
    page.get_by_label("Trung tâm sát hạch cấp chứng chỉ").fill("Trường Đại học Quy Nhơn")
    page.get_by_label("Ngày cấp").fill("2026-05-20")
    scan = page.get_by_label("Bản quét hoặc ảnh chụp chứng chỉ (PDF, JPEG hoặc PNG)")
    expect(scan).to_have_attribute("accept", "image/*,application/pdf")
    expect(scan).to_have_attribute("capture", "environment")
    photo = tmp_path / "chung-chi.jpg"
    photo.write_bytes(PHOTO)
    scan.set_input_files(str(photo))
    page.get_by_role("button", name="Lưu").click()

    # Back on My training: the certificate waits for the centre manager's verification.
    certificate = page.locator("[data-certificate='C-778899']")
    expect(certificate.locator("[data-status]")).to_have_attribute("data-status", "pending")
    expect(certificate).to_contain_text("C-778899")
    expect(certificate).to_contain_text("chờ xác nhận")
    assert page.evaluate(f"document.documentElement.scrollWidth <= {PHONE['width']}")
    last_page(page, "officer-my-training")
    assert errors == []
