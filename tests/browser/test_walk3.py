"""Walk 3's journeys, each from the home page by clicking only, on a phone (390×844) and a laptop (1280×800):

- a centre manager adds an IT-skills course by ticking the standard's modules by name (IU01–IU15 in the standard's
  order), and the ticks survive a form that comes back with an error;
- an association officer adding a certificate ticks an advanced certificate's modules by name (IU07–IU15 only) and
  chooses the scan with a Vietnamese file button ("Chọn tệp…"), never Chromium's "Choose File / No file chosen",
  and sees the chosen file's name beside it.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from courses import it_skills
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.registry import services
from lms.registry.models import AdminUnit, AssociationMembership, Person, UnitLevel
from tests.browser.conftest import PHONE, TIMEOUT_MS, commit
from tests.browser.screenshots import log_in

LAPTOP = {"width": 1280, "height": 800}
PASSWORD = "mật khẩu đi bộ W3"
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"  # a JPEG's first bytes


def _context(browser, stack, viewport):
    mobile = viewport == PHONE
    context = browser.new_context(
        viewport=viewport, base_url=stack["base_url"], locale="vi-VN", is_mobile=mobile, has_touch=mobile
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return context, page


def _open_menu(page) -> None:
    toggler = page.locator(".navbar-toggler")
    if toggler.is_visible():
        toggler.click()


def _manager(suffix: str) -> str:
    email = f"quanly.w3{suffix}@example.vn"
    user = create_user(email, f"Quản Lý W3{suffix}", PASSWORD)
    assign_role(user, Role.CENTRE_MANAGER, services.find_unit("23293", UnitLevel.COMMUNE))
    return email


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_a_manager_ticks_the_courses_it_modules_by_name(stack_app, browser, stack, viewport):
    suffix = "p" if viewport == PHONE else "l"
    email = commit(stack_app, lambda: _manager(suffix))
    context, page = _context(browser, stack, viewport)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, email, PASSWORD, f"Quản Lý W3{suffix}")
    _open_menu(page)
    page.locator("#nav").get_by_role("link", name="Lớp học", exact=True).click()
    page.get_by_role("link", name="Danh mục", exact=True).click()
    page.get_by_role("link", name="Khóa học mới").click()

    checklist = page.locator("#module-checklist")
    expect(checklist).to_contain_text("Kỹ năng cơ bản (IU01–IU06)")
    expect(checklist).to_contain_text("Kỹ năng nâng cao (IU07–IU15)")
    boxes = checklist.get_by_role("checkbox")
    expect(boxes).to_have_count(15)
    modules = it_skills.framework().modules
    assert [b.get_attribute("value") for b in boxes.all()] == [m.code for m in modules]
    expect(checklist).not_to_contain_text("e.g.")
    # Each box is reached by the module's name, and a phone's tap on the name ticks it.
    checklist.get_by_text("IU03 Xử lý văn bản cơ bản").click()
    checklist.get_by_label("IU01 Hiểu biết về CNTT cơ bản").check()
    checklist.get_by_label("IU08 Sử dụng bảng tính nâng cao").check()
    if viewport == PHONE:
        # One module a line, nothing wider than the screen.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width

    page.get_by_label("Mã", exact=True).fill(f"W3-TH-{suffix}")
    page.get_by_label("Lĩnh vực").select_option(label="Mô đun kỹ năng công nghệ thông tin")
    page.get_by_label("Số giờ dự kiến").fill("24")
    # The name forgotten: the form comes back with the error and the ticks as they were.
    page.get_by_role("button", name="Thêm vào danh mục").click()
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    ticked = [b.get_attribute("value") for b in checklist.get_by_role("checkbox").all() if b.is_checked()]
    assert ticked == ["IU01", "IU03", "IU08"]

    page.get_by_label("Tên", exact=True).fill(f"Tin học văn phòng W3 {suffix}")
    page.get_by_role("button", name="Thêm vào danh mục").click()
    expect(page.locator(".alert-success")).to_contain_text(f"Tin học văn phòng W3 {suffix}")
    body = page.locator("main")
    for label in ("IU01 Hiểu biết về CNTT cơ bản", "IU03 Xử lý văn bản cơ bản", "IU08 Sử dụng bảng tính nâng cao"):
        expect(body).to_contain_text(label)
    expect(body).not_to_contain_text("IU02 ")
    assert not errors, errors
    context.close()


def _officer(suffix: str) -> str:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code=f"W3-{suffix}",
        name=f"Thôn W3 {suffix}",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path=f"tmp:W3-{suffix}",
        valid_from=commune.valid_from,
    )
    services.db.session.add(village)
    services.db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    person = Person(full_name=f"Y Mai W3{suffix}", unit_id=village.id)
    services.db.session.add(person)
    services.db.session.flush()
    services.db.session.add(
        AssociationMembership(person_id=person.id, unit_id=commune.id, role="officer", started_on=village.valid_from)
    )
    email = f"canbo.w3{suffix}@example.vn"
    user = create_user(email, f"Y Mai W3{suffix}", PASSWORD)
    assign_role(user, Role.ASSOCIATION_OFFICER, commune)
    user.person_id = person.id
    return email


@pytest.mark.parametrize("viewport", [PHONE, LAPTOP], ids=["phone", "laptop"])
def test_the_certificate_scan_is_chosen_with_a_vietnamese_button(stack_app, browser, stack, viewport, tmp_path):
    suffix = "p" if viewport == PHONE else "l"
    email = commit(stack_app, lambda: _officer(suffix))
    context, page = _context(browser, stack, viewport)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, email, PASSWORD, f"Y Mai W3{suffix}")
    page.locator(".role-card").get_by_role("link", name="Việc học của tôi").click()
    page.get_by_role("link", name="Thêm chứng chỉ ứng dụng CNTT").click()

    # An advanced certificate's modules are ticked by name, advanced ones only (they were typed as codes).
    advanced = page.locator("#modules-checklist").get_by_role("checkbox")
    expect(advanced).to_have_count(9)
    expect(page.get_by_label("IU07 Xử lý văn bản nâng cao")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("ví dụ IU07")
    expect(page.get_by_label("IU01 Hiểu biết về CNTT cơ bản")).to_have_count(0)

    label = "Bản quét hoặc ảnh chụp chứng chỉ (PDF, JPEG hoặc PNG)"
    scan = page.get_by_label(label)
    # The real input stays: labelled, the camera offered, reachable by the keyboard.
    expect(scan).to_have_attribute("type", "file")
    expect(scan).to_have_attribute("capture", "environment")
    button = page.locator(f"label.file-pick-button[for='{scan.get_attribute('id')}']")
    expect(button).to_be_visible()
    expect(button).to_have_text("Chọn tệp…")
    chosen = page.locator(f"#{scan.get_attribute('id')}-chosen")
    expect(chosen).to_have_text("Chưa chọn tệp nào")
    # Chromium's own words are not drawn: the native control is invisible under the button.
    assert float(scan.evaluate("e => getComputedStyle(e).opacity")) == 0
    assert scan.bounding_box()["width"] <= 1
    box = button.bounding_box()
    assert box["height"] >= 38, box  # a thumb's target
    if viewport == PHONE:
        assert box["x"] + box["width"] <= PHONE["width"]

    # The button opens the picker (a tap on it is a tap on the input's label).
    with page.expect_file_chooser() as chooser:
        button.click()
    photo = tmp_path / "chung-chi-w3.jpg"
    photo.write_bytes(PHOTO)
    chooser.value.set_files(str(photo))
    expect(chosen).to_have_text("chung-chi-w3.jpg")

    # The keyboard reaches the input, and the focus shows on the button.
    scan.focus()
    assert scan.evaluate("e => document.activeElement === e")
    assert not errors, errors
    context.close()
