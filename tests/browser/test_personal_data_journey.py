"""A resident asks at the commune office to see what is held about them, then to have it erased (ADR 57). The centre
manager, on a phone, finds them from the menu's search, opens their personal data from their page, downloads the
copy, then erases what identifies them after the preview — and the search no longer finds them by name."""

from __future__ import annotations

import json
import re
from datetime import date

from playwright.sync_api import expect

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, Household, Person, UnitLevel
from tests.browser.conftest import commit

PASSWORD = "mật khẩu thử nghiệm"


def _arrange() -> dict:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="PD-01",
        name="Thôn Kon Rờ Bàng",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:PD-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    household = Household(village_id=village.id, code="PD-7")
    db.session.add(household)
    db.session.flush()
    person = Person(
        full_name="Y Hờ Lít",
        unit_id=village.id,
        household_id=household.id,
        relation_to_head="Chủ hộ",
        birth_date=date(1979, 8, 14),
        phone="0905123456",
        ethnicity="Xơ Đăng",
    )
    db.session.add(person)
    user = create_user("quanly.dl@example.vn", "Lê Văn Quản Lý", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, commune)
    db.session.flush()
    return {"person_id": person.id}


def test_a_resident_gets_a_copy_of_their_data_then_has_it_erased(stack_app, phone):
    arranged = commit(stack_app, _arrange)
    page = phone

    page.goto("/")
    page.get_by_label("Thư điện tử").fill("quanly.dl@example.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Xin chào, Lê Văn Quản Lý").wait_for()

    page.get_by_role("button", name="Trình đơn").click()
    page.get_by_role("link", name="Tìm kiếm").click()
    page.get_by_role("searchbox").fill("y ho lit")  # without the accents, as typed on a phone
    page.get_by_role("button", name="Tìm kiếm").click()
    page.locator("#results").get_by_role("link", name=re.compile("Y Hờ Lít")).click()

    # The copy for the person: every section, and the file to hand over.
    page.get_by_role("link", name="Dữ liệu cá nhân (bản sao cho người dân)").click()
    expect(page.get_by_role("heading", name="Dữ liệu cá nhân của Y Hờ Lít")).to_be_visible()
    expect(page.locator("#data-identity")).to_contain_text("14/08/1979")
    expect(page.locator("#data-identity")).to_contain_text("Xơ Đăng")
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải về (JSON)").click()
    copy = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert copy["person_id"] == arranged["person_id"]
    assert copy["sections"]["identity"]["rows"][0]["phone"] == "0905123456"
    page.get_by_role("link", name="Quay lại").click()

    # The erasure: what goes and what stays, then the confirmation.
    page.get_by_role("link", name="Xóa dữ liệu cá nhân theo yêu cầu").click()
    erased = page.locator("#erased-fields")
    expect(erased).to_contain_text("Y Hờ Lít")
    expect(erased).to_contain_text("1979 (chỉ giữ năm sinh)")
    expect(erased).to_contain_text("0905123456")
    page.get_by_role("button", name="Xóa dữ liệu cá nhân").click()  # nothing ticked: refused, with what to do
    expect(page.get_by_text("Hãy đánh dấu sau khi đã kiểm tra.")).to_be_visible()
    page.get_by_label("Yêu cầu của người dân (ngày nào, bằng hình thức gì)").fill("Đơn đề nghị ngày 07/12/2026")
    page.get_by_label("Tôi đã kiểm tra danh tính người yêu cầu").check()
    page.get_by_role("button", name="Xóa dữ liệu cá nhân").click()

    expect(page.get_by_text("Đã xóa dữ liệu cá nhân. Hồ sơ học tập được giữ lại, không kèm tên.")).to_be_visible()
    expect(page.get_by_role("heading", name="[Đã xóa dữ liệu cá nhân]")).to_be_visible()
    expect(page.get_by_text("đã được xóa theo yêu cầu ngày")).to_be_visible()

    page.get_by_role("button", name="Trình đơn").click()
    page.get_by_role("link", name="Tìm kiếm").click()
    page.get_by_role("searchbox").fill("y ho lit")
    page.get_by_role("button", name="Tìm kiếm").click()
    expect(page.get_by_text("0 kết quả")).to_be_visible()
