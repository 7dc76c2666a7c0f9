"""A centre manager checks the officers' national IT certificates on a phone: each row reads on one line per
fact — the number whole, the issuer and the date under it — instead of five columns squeezed into 390 px."""

from __future__ import annotations

import io
from datetime import date

from playwright.sync_api import expect
from werkzeug.datastructures import FileStorage

from courses import it_skills
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import Person, UnitLevel
from tests.browser.conftest import commit
from tests.browser.screenshots import log_in

PASSWORD = "mật khẩu quản lý ITC"
NUMBER = "CC-123/2026-ITC"
ISSUER = "Trung tâm sát hạch Đại học Đà Nẵng ITC"


def _arrange() -> None:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    officer = Person(full_name="Lê Minh Tài ITC", unit_id=commune.id, birth_date=date(1969, 1, 1))
    db.session.add(officer)
    db.session.flush()
    it_skills.record_certificate(
        person=officer,
        number=NUMBER,
        issuer=ISSUER,
        issued_on=date(2026, 10, 5),
        upload=FileStorage(io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "scan.pdf", content_type="application/pdf"),
        recorded_by_id=None,
    )
    user = create_user("quanly.itc@example.vn", "Đinh Văn Xác ITC", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, commune)


def test_the_certificates_to_verify_read_on_a_phone(stack_app, phone):
    commit(stack_app, _arrange)
    page = phone
    log_in(page, "quanly.itc@example.vn", PASSWORD, "Đinh Văn Xác ITC")
    page.locator(".role-card").get_by_role("link", name="Chứng chỉ ứng dụng CNTT").click()

    row = page.locator("#it-certificates tbody tr", has_text=NUMBER)
    number = row.get_by_role("link", name=NUMBER)
    expect(number).to_be_visible()
    line = number.evaluate("e => parseFloat(getComputedStyle(e).lineHeight)")
    assert number.bounding_box()["height"] < 1.5 * line  # the number on one line, not broken at its dash
    expect(row.locator(".it-certificate-issuer")).to_have_text(f"{ISSUER} · 05/10/2026")
    expect(page.locator("#it-certificates th", has_text="Đơn vị cấp")).to_be_hidden()
    expect(page.locator("#it-certificates th", has_text="Trạng thái")).to_have_count(0)  # the tab says it

    page.get_by_role("link", name="Tất cả").click()
    expect(page.locator("#it-certificates th", has_text="Trạng thái")).to_be_visible()
    expect(page.locator("#it-certificates tbody tr", has_text=NUMBER)).to_contain_text("chờ xác nhận")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
