"""An association officer's "My training" on a phone: the modules done and missing, enrolling in an open IT
class (its next session then shows), and recording a national certificate with a photo of it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from playwright.sync_api import expect

from courses import services as courses
from courses.services import Mark
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, AssociationMembership, Clc, Person, UnitLevel
from tests.browser.conftest import PHONE, commit

PASSWORD = "mật khẩu cán bộ hội"
EMAIL = "canbo.hoi.itm@example.vn"
# The smallest valid JPEG header is enough: the type is read from the first bytes.
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


def _arrange() -> dict:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="ITM-01",
        name="Thôn Đắk Tin",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:ITM-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    officer = Person(full_name="Y Hoa ITM", unit_id=village.id)
    db.session.add(officer)
    db.session.flush()
    db.session.add(
        AssociationMembership(person_id=officer.id, unit_id=commune.id, role="officer", started_on=date(2024, 1, 1))
    )
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng ITM")
    db.session.add(clc)
    db.session.flush()
    # A class held in January covered IU01–IU03.
    done = courses.create_course(
        unit=commune,
        code="ITM-CB-1",
        name="Tin học cơ bản 1 ITM",
        category="it_skills",
        planned_hours=Decimal(12),
        module_codes=["IU01", "IU02", "IU03"],
    )
    held = courses.create_class(
        course=done,
        clc=clc,
        name="Lớp tin học 1 ITM",
        capacity=10,
        starts_on=date(2026, 1, 5),
        ends_on=date(2026, 1, 5),
        target_group="association_officers",
    )
    (session,) = courses.schedule(held, [(datetime(2026, 1, 5, 8), datetime(2026, 1, 5, 10))])
    courses.enrol(held, [officer.id])
    courses.record_attendance(session, [Mark(officer.id, "present", datetime(2026, 1, 5, 1))], user_id=None)
    courses.recompute_class(held.id, as_of=datetime(2026, 1, 6))
    # An open class for the rest, whose next session is tomorrow evening.
    rest = courses.create_course(
        unit=commune,
        code="ITM-CB-2",
        name="Tin học cơ bản 2 ITM",
        category="it_skills",
        planned_hours=Decimal(12),
        module_codes=["IU04", "IU05", "IU06"],
    )
    today = courses.local_now().date()
    upcoming = courses.create_class(
        course=rest,
        clc=clc,
        name="Lớp tin học 2 ITM",
        capacity=10,
        starts_on=today,
        ends_on=today + timedelta(days=30),
        target_group="association_officers",
    )
    tomorrow = today + timedelta(days=1)
    courses.schedule(upcoming, [(datetime.combine(tomorrow, time(19)), datetime.combine(tomorrow, time(21)))])
    user = create_user(EMAIL, "Y Hoa ITM", PASSWORD)
    assign_role(user, Role.ASSOCIATION_OFFICER, commune)
    user.person_id = officer.id
    return {"class_id": upcoming.id}


def test_my_training_on_a_phone(stack_app, phone, tmp_path):
    arranged = commit(stack_app, _arrange)
    page = phone
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto("/")
    page.locator("input[name=email]").fill(EMAIL)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    # The home page offers "My training" to a login linked to a person (the menu is collapsed on a phone).
    page.locator("main a[href='/courses/it/me']").click()

    expect(page.locator("#modules [data-done=yes]")).to_have_count(3)
    for code in ("IU01", "IU02", "IU03"):
        expect(page.locator(f"[data-module={code}]")).to_have_attribute("data-done", "yes")
    for code in ("IU04", "IU05", "IU06"):
        expect(page.locator(f"[data-module={code}]")).to_have_attribute("data-done", "no")
    expect(page.locator("[data-standard=basic]")).to_have_attribute("data-met", "no")
    # An officer's page leads with the IT-skills modules (a learner who is no officer sees their classes first).
    sections = page.evaluate("[...document.querySelectorAll('main section[id]')].map(e => e.id)")
    assert sections.index("standards") < sections.index("my-classes"), sections
    # A mobile browser widens its layout viewport to the content, so compare with the phone's own width.
    fits = f"document.documentElement.scrollWidth <= {PHONE['width']}"
    assert page.evaluate(fits), "My training scrolls sideways on a phone"

    # Enrol in the open class: its next session shows among the upcoming ones.
    expect(page.locator("#upcoming")).not_to_contain_text("Lớp tin học 2 ITM")
    page.locator(f"form[action='/courses/it/me/classes/{arranged['class_id']}/enrol'] button").click()
    expect(page.locator(".alert-success")).to_be_visible()
    expect(page.locator("#upcoming")).to_contain_text("Lớp tin học 2 ITM")
    # No longer offered (no enrol button), but named as theirs, and "no class is open" does not follow it.
    expect(page.locator(f"form[action='/courses/it/me/classes/{arranged['class_id']}/enrol']")).to_have_count(0)
    expect(page.locator("#open-classes .joined-class")).to_contain_text("Lớp tin học 2 ITM")
    expect(page.locator("#open-classes .joined-class")).to_contain_text("Bạn đã được ghi danh")
    expect(page.locator("#open-classes")).not_to_contain_text("Hiện chưa có lớp kỹ năng CNTT nào mở ở xã của bạn.")

    # Record a national certificate with a photo taken on the phone.
    page.locator("#certificates").get_by_role("link", name="Thêm chứng chỉ ứng dụng CNTT").click()
    page.locator("input[name=number]").fill("B-123456")
    page.locator("input[name=issuer]").fill("Trường Đại học Tây Nguyên")
    page.locator("input[name=issued_on]").fill("2025-08-15")
    photo = tmp_path / "chung-chi.jpg"
    photo.write_bytes(PHOTO)
    page.locator("input[name=file]").set_input_files(str(photo))
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-certificate='B-123456'] [data-status]")).to_have_attribute("data-status", "pending")
    assert page.evaluate(fits)
    assert not errors, errors
