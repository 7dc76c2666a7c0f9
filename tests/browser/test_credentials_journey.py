"""A holder's digital credential verified in the browser, on a phone: from the certificate's public verification
page (where its QR code leads) the holder downloads the Open Badges 3.0 credential, opens the verifier, pastes it
and verifies it in the browser — with our server-side verification blocked, so only the published DID document and
status list are used. Once the certificate is revoked, the same credential fails as revoked."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import expect
from sqlalchemy import select

from courses import services as courses
from courses.models import Certificate
from lms.core.signals import revoked
from lms.extensions import db, utcnow
from lms.registry import services
from lms.registry.models import AdminUnit, Clc, Household, Person, UnitLevel
from tests.browser.conftest import commit

CODE = "VCBR-OWSE-R001"


def _arrange() -> None:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="VCB-01",
        name="Thôn Chứng Chỉ Số",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:VCB-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    household = Household(village_id=village.id, code="VCB-H1")
    db.session.add(household)
    db.session.flush()
    learner = Person(full_name="Y Niê Chứng Chỉ", unit_id=village.id, household_id=household.id)
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng Chứng Chỉ Số")
    db.session.add_all([learner, clc])
    db.session.flush()
    course = courses.create_course(
        unit=commune, code="VCB-01", name="Tin học cơ bản VCB", category="literacy", planned_hours=Decimal(8)
    )
    course_class = courses.create_class(
        course=course,
        clc=clc,
        name="Lớp tin học VCB",
        capacity=10,
        starts_on=date(2026, 3, 2),
        ends_on=date(2026, 3, 30),
    )
    db.session.add(Certificate(class_id=course_class.id, person_id=learner.id, issued_on=date(2026, 3, 30), code=CODE))


def _revoke() -> None:
    certificate = db.session.scalars(select(Certificate).where(Certificate.code == CODE)).one()
    certificate.revoked_at = utcnow()
    certificate.revoked_reason = "Điểm danh nhập sai"
    revoked.send(None, certificate_ids={certificate.id})


def test_a_downloaded_credential_verifies_in_the_browser_and_fails_once_revoked(stack_app, phone, tmp_path: Path):
    commit(stack_app, _arrange)
    page = phone
    blocked: list[str] = []

    def block_server_verification(route) -> None:
        if route.request.method == "POST":
            blocked.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/credentials/verify", block_server_verification)
    page.goto(f"/courses/verify/{CODE}")  # where the certificate's QR code leads
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải chứng chỉ số (Open Badges 3.0)").click()
    saved = tmp_path / "credential.json"
    download.value.save_as(saved)
    assert '"OpenBadgeCredential"' in saved.read_text(encoding="utf-8")

    page.get_by_role("link", name="Xác thực chứng chỉ số").click()
    page.get_by_label("Dán chứng chỉ số vào đây").fill(saved.read_text(encoding="utf-8"))
    page.get_by_role("button", name="Xác thực ngay trên trình duyệt này").click()
    result = page.locator("#browser-result")
    expect(result).to_have_attribute("data-reason", "ok")
    expect(result).to_contain_text("Chứng chỉ hợp lệ: Trung tâm học tập cộng đồng Chứng Chỉ Số")
    expect(result).to_contain_text("Tin học cơ bản VCB")

    commit(stack_app, _revoke)
    page.get_by_role("button", name="Xác thực ngay trên trình duyệt này").click()
    expect(result).to_have_attribute("data-reason", "revoked")
    expect(result).to_contain_text("Chứng chỉ đã bị thu hồi.")

    jwt = json.loads(saved.read_text(encoding="utf-8"))["jwt"]
    page.get_by_label("Dán chứng chỉ số vào đây").fill(jwt[:-8] + "AAAAAAAA")  # a forged signature
    page.get_by_role("button", name="Xác thực ngay trên trình duyệt này").click()
    expect(result).to_have_attribute("data-reason", "bad_signature")
    assert blocked == []  # the browser never asked the server to verify
