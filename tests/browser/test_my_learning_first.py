"""A learner who is no association officer opens "Việc học của tôi" from the home page: their own classes,
sessions and certificates lead; the IT-skills modules (Plan 1514 is about officers) come after, not 15 modules
"chưa học" first. An officer's page still leads with the modules (tests/browser/test_my_training.py)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from playwright.sync_api import expect

from courses import services as courses
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import AdminUnit, Clc, Person, UnitLevel
from tests.browser.conftest import commit

PASSWORD = "mật khẩu học viên đan lát"
EMAIL = "hocvien.danlat.mlf@example.vn"


def _arrange() -> None:
    commune = services.find_unit("23293", UnitLevel.COMMUNE)
    village = AdminUnit(
        code="MLF-01",
        name="Thôn Đan Lát",
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path="tmp:MLF-01",
        valid_from=commune.valid_from,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    learner = Person(full_name="H'Lan MLF", unit_id=village.id)
    db.session.add(learner)
    db.session.flush()
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng MLF")
    db.session.add(clc)
    db.session.flush()
    craft = courses.create_course(
        unit=commune,
        code="MLF-DL",
        name="Đan lát mây tre MLF",
        category="technology_transfer",
        planned_hours=Decimal(12),
    )
    today = courses.local_now().date()
    weaving = courses.create_class(
        course=craft,
        clc=clc,
        name="Lớp đan lát MLF",
        capacity=10,
        starts_on=today,
        ends_on=today + timedelta(days=30),
    )
    tomorrow = today + timedelta(days=1)
    courses.schedule(weaving, [(datetime.combine(tomorrow, time(19)), datetime.combine(tomorrow, time(21)))])
    courses.enrol(weaving, [learner.id])
    # A teacher of the centre who is also a learner there: no association office, no IT-skills record.
    user = create_user(EMAIL, "H'Lan MLF", PASSWORD)
    assign_role(user, Role.INSTRUCTOR, commune)
    user.person_id = learner.id


def test_a_learner_who_is_no_officer_sees_their_classes_first(stack_app, phone):
    commit(stack_app, _arrange)
    page = phone
    page.goto("/")
    page.locator("input[name=email]").fill(EMAIL)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.locator("main a[href='/courses/it/me']").click()

    expect(page.locator("#my-classes .my-class")).to_have_count(1)
    expect(page.locator("#my-classes")).to_contain_text("Lớp đan lát MLF")
    expect(page.locator("#upcoming")).to_contain_text("Lớp đan lát MLF")
    # The IT-skills modules are still there, after what the person actually does.
    sections = page.evaluate("[...document.querySelectorAll('main section[id], main #it-skills')].map(e => e.id)")
    assert sections.index("my-classes") < sections.index("it-skills"), sections
    assert sections.index("upcoming") < sections.index("it-skills"), sections
    assert sections.index("certificates") < sections.index("it-skills"), sections
