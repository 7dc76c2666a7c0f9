"""A holder's digital credential verified in the browser, on a phone: from the certificate's public verification
page (where its QR code leads) the holder downloads the Open Badges 3.0 credential, opens the verifier, pastes it
and verifies it in the browser — with our server-side verification blocked, so only the published DID document and
status list are used. Once the certificate is revoked, the same credential fails as revoked."""

from __future__ import annotations

import json
import re
import subprocess
import unicodedata
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from courses import services as courses
from courses.models import Certificate
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.core.signals import revoked
from lms.credentials import services as credentials
from lms.extensions import db, utcnow
from lms.registry import services
from lms.registry.models import AdminUnit, Clc, Household, Person, UnitLevel
from tests.browser.conftest import PHONE, ROOT, commit
from tests.browser.screenshots import log_in
from tests.conftest import PASSWORD

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

    # The holder's name typed from the identity card, in either Unicode form, is checked against the credential's
    # salted hash in the browser (ADR 32, amended); another name is not.
    name = page.get_by_label("Họ tên người được cấp")
    named = page.locator("#browser-name-result")
    for typed, match in (
        ("Y Niê Chứng Chỉ", "yes"),
        (unicodedata.normalize("NFD", "Y Niê Chứng Chỉ"), "yes"),
        ("Y Niê Chứng", "no"),
    ):
        name.fill(typed)
        page.get_by_role("button", name="Xác thực ngay trên trình duyệt này").click()
        expect(named).to_have_attribute("data-match", match)
    expect(named).to_contain_text("KHÔNG khớp")
    name.fill("")

    commit(stack_app, _revoke)
    page.get_by_role("button", name="Xác thực ngay trên trình duyệt này").click()
    expect(result).to_have_attribute("data-reason", "revoked")
    expect(result).to_contain_text("Chứng chỉ đã bị thu hồi.")

    jwt = json.loads(saved.read_text(encoding="utf-8"))["jwt"]
    page.get_by_label("Dán chứng chỉ số vào đây").fill(jwt[:-8] + "AAAAAAAA")  # a forged signature
    page.get_by_role("button", name="Xác thực ngay trên trình duyệt này").click()
    expect(result).to_have_attribute("data-reason", "bad_signature")
    assert blocked == []  # the browser never asked the server to verify


# --- the certificate's QR code, scanned and verified with our credential endpoints blocked (ADR 32) ----------------

QR_CODE = "VCQR-SCAN-R001"
QR_CLASS = "Lớp tin học quét mã VCQ"
MANAGER = "quanly.vcq@example.vn"
# Everything a verifier could otherwise ask our server: the DID documents, the keys, the status lists, the
# credential downloads and the server-side check.
CREDENTIAL_ENDPOINTS = re.compile(
    r"/(\.well-known/did\.json|credentials/(issuers|status|jwks|certificates|recognitions|it-certificates)\b.*)"
)


def _arrange_scan() -> None:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="VCQ-01",
        name="Thôn Quét Mã",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:VCQ-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    learner = Person(full_name="Y Quét Mã Số", unit_id=village.id)
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng Quét Mã")
    db.session.add_all([learner, clc])
    db.session.flush()
    course = courses.create_course(
        unit=commune, code="VCQ-01", name="Tin học quét mã VCQ", category="literacy", planned_hours=Decimal(8)
    )
    today = date.today()
    course_class = courses.create_class(
        course=course, clc=clc, name=QR_CLASS, capacity=10, starts_on=today - timedelta(days=30), ends_on=today
    )
    db.session.add(
        Certificate(class_id=course_class.id, person_id=learner.id, issued_on=today - timedelta(days=1), code=QR_CODE)
    )
    user = create_user(MANAGER, "Hà Văn Quét VCQ", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, commune)


def _revoke_scanned() -> None:
    certificate = db.session.scalars(select(Certificate).where(Certificate.code == QR_CODE)).one()
    certificate.revoked_at = utcnow()
    certificate.revoked_reason = "Điểm danh nhập sai"
    revoked.send(None, certificate_ids={certificate.id})


def _scan(pdf: bytes, tmp_path: Path) -> list[str]:
    """What a phone's camera reads off the printed page: the PDF rendered at 200 dpi, every QR code decoded."""
    (tmp_path / "certificate.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-f", "1", "-l", "1", "-png", str(tmp_path / "certificate.pdf"), str(tmp_path / "p")],
        check=True,
    )
    (image,) = tmp_path.glob("p*.png")
    return [result.text for result in zxingcpp.read_barcodes(Image.open(image))]


def test_a_scanned_certificate_verifies_on_the_phone_with_our_credential_endpoints_blocked(
    stack_app, phone, tmp_path: Path
):
    commit(stack_app, _arrange_scan)
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # The centre manager prints the certificate from the class page, and downloads its credential there too.
    log_in(page, MANAGER, PASSWORD, "Hà Văn Quét VCQ")
    page.locator(".role-card").get_by_role("link", name="Lớp học").click()
    page.get_by_role("link", name=QR_CLASS).click()
    row = page.locator(".certificate-row", has_text=QR_CODE)
    expect(row).to_be_visible()
    # The class page fits the phone: the two buttons of a completion wrap instead of pushing the page sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    with page.expect_download() as download:
        row.get_by_role("link", name="Chứng chỉ số").click()
    saved = tmp_path / "credential.json"
    download.value.save_as(saved)
    jwt = json.loads(saved.read_text(encoding="utf-8"))["jwt"]
    pdf = page.request.get(row.get_by_role("link", name="Giấy chứng nhận").get_attribute("href") or "")
    assert pdf.ok
    assert pdf.headers["content-type"] == "application/pdf"

    codes = _scan(pdf.body(), tmp_path)
    assert any(code.endswith(f"/courses/verify/{QR_CODE}") for code in codes)  # the page's QR code, as before
    (scanned,) = [code for code in codes if "/credentials/verify#vc1." in code]

    # A phone with no session, on a network where our credential endpoints cannot be reached.
    blocked: list[str] = []

    def block(route) -> None:
        blocked.append(route.request.url)
        route.abort()

    phone_page = page.context.browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True).new_page()
    phone_page.on("pageerror", lambda error: errors.append(str(error)))
    phone_page.route(CREDENTIAL_ENDPOINTS, block)
    phone_page.route(
        "**/credentials/verify", lambda route: block(route) if route.request.method == "POST" else route.continue_()
    )
    phone_page.goto(scanned)  # what the camera app does with the code it read
    result = phone_page.locator("#browser-result")
    expect(result).to_have_attribute("data-reason", "ok")
    expect(result).to_contain_text("Chứng chỉ hợp lệ: Trung tâm học tập cộng đồng Quét Mã")
    expect(result).to_contain_text("Tin học quét mã VCQ")
    expect(phone_page.locator("#status-source")).to_have_attribute("data-source", "page")
    expect(phone_page.locator("#status-source")).to_contain_text("danh sách thu hồi có chữ ký kèm theo trang này")
    # The textarea holds what was scanned; the credential in it is the one downloaded from the class page.
    assert "#vc1." in phone_page.get_by_label("Dán chứng chỉ số vào đây").input_value()
    assert any("/credentials/status/" in url for url in blocked)  # it tried the fresh list, and was refused

    # Revoked: the page opened afterwards carries the list with the bit set, and says so, still offline.
    commit(stack_app, _revoke_scanned)
    phone_page.reload()
    expect(result).to_have_attribute("data-reason", "revoked")
    expect(result).to_contain_text("Chứng chỉ đã bị thu hồi.")
    assert not [url for url in blocked if url.endswith("/credentials/verify")]  # never the server's check
    assert credentials.presented_token(scanned) == jwt  # the QR code holds the very credential downloaded
    (ROOT / "test-results").mkdir(exist_ok=True)
    phone_page.screenshot(path=str(ROOT / "test-results" / "credential-scanned-offline.png"), full_page=True)
    assert errors == []
    phone_page.context.close()
