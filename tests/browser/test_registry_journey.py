"""A centre manager on a phone: log in, walk the hierarchy down to a household, import a spreadsheet, look at its
preview, confirm it and watch the import's progress until it is done; a head of household whose register gives only
his year of birth ("1948") is taken and shown as that year."""

from __future__ import annotations

import re

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
        code="BR-01",
        name="Thôn Plei Đôn",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:BR-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    household = Household(village_id=village.id, code="HB-7")
    db.session.add(household)
    db.session.flush()
    db.session.add_all(
        [
            Person(full_name="A Thịnh", unit_id=village.id, household_id=household.id, relation_to_head="Chủ hộ"),
            Person(full_name="Y Blơng", unit_id=village.id, household_id=household.id, relation_to_head="Vợ"),
        ]
    )
    user = create_user("quanly@example.vn", "Trần Thị Quản Lý", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, commune)
    return {"commune": commune.full_name, "commune_id": commune.id}


def test_walk_down_to_a_household_and_import_with_progress(stack_app, phone, tmp_path):
    arranged = commit(stack_app, _arrange)
    page = phone

    page.goto("/")
    page.get_by_label("Thư điện tử").fill("quanly@example.vn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_text("Xin chào, Trần Thị Quản Lý").wait_for()

    # Province → commune is outside this user's scope; the hierarchy starts at the commune.
    page.get_by_role("link", name=arranged["commune"]).click()
    page.get_by_role("link", name="Thôn Plei Đôn").click()
    page.get_by_role("link", name="Hộ A Thịnh").click()  # a household by its head, not its registry code
    members = page.locator("#members")
    assert members.get_by_text("A Thịnh").is_visible()
    assert members.get_by_text("Y Blơng").is_visible()

    # Import a households file through the menu (collapsed behind the toggler on a phone).
    rows = ["village_code,household_code,full_name,birth_date,sex,relation_to_head"]
    rows += [f"BR-01,N{i:03d},Người Nhập {i:03d},01/01/1990,F,Chủ hộ" for i in range(1, 1201)]
    rows += ["BR-01,HB-7,A Thịnh,1948,M,Chủ hộ"]  # the register knows only his year of birth
    upload = tmp_path / "ho-gia-dinh.csv"
    upload.write_text("\n".join(rows) + "\n", encoding="utf-8")
    page.get_by_role("button", name="Trình đơn").click()
    page.get_by_role("link", name="Nhập dữ liệu").click()
    page.get_by_label("Nội dung tệp").select_option("households")
    page.get_by_label("Bảng tính (.xlsx hoặc .csv)").set_input_files(str(upload))
    page.get_by_role("button", name="Tải lên và kiểm tra").click()

    page.wait_for_url(re.compile(r"/registry/imports/\d+$"))
    expect(page.locator("#import-bar")).to_be_visible()
    # The page polls the job through the API and reloads when the worker has checked it: a preview, nothing written.
    expect(page.locator("#import-status")).to_have_attribute("data-status", "previewed", timeout=60_000)
    expect(page.locator('#preview-counts tr[data-entity="persons"] .preview-new')).to_have_text("1.200")
    expect(page.locator('#preview-counts tr[data-entity="persons"] .preview-changed')).to_have_text("1")
    assert "Ngày sinh: — → 1948" in page.locator("main").text_content()  # the year, not 01/01/1948
    with stack_app.app_context():
        assert not db.session.scalar(
            db.select(db.func.count()).select_from(Person).where(Person.full_name.like("Người Nhập %"))
        )
    page.get_by_role("button", name="Xác nhận và ghi dữ liệu").click()
    expect(page.locator("#import-status")).to_have_attribute("data-status", "succeeded", timeout=60_000)
    expect(page.locator("#import-bar")).to_have_text("100 %")
    assert "Hoàn thành" in page.locator("#import-state").inner_text()

    with stack_app.app_context():
        imported = db.session.scalar(
            db.select(db.func.count()).select_from(Person).where(Person.full_name.like("Người Nhập %"))
        )
    assert imported == 1200

    # The household page shows the year he was born, not an invented 1 January.
    page.get_by_role("button", name="Trình đơn").click()
    page.get_by_role("link", name="Địa bàn").click()
    page.get_by_role("link", name="Thôn Plei Đôn").click()
    page.get_by_role("link", name="Hộ A Thịnh").click()
    head = page.locator("#members tr", has_text="A Thịnh")
    expect(head).to_contain_text("1948")
    assert "01/01/1948" not in head.inner_text()
