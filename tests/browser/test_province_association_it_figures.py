"""A province association officer on a phone, from the home page by clicking only: the association's own target is
its commune officers trained in IT (Plan 1514: 40 % by 2025, 70 % by 2030). The home card leads to the IT-skills
figures (the role had no way to them), the province's communes come furthest behind first — not a hundred communes in
alphabetical order — those with nothing recorded are named in one sentence, and the lagging commune opens on its
officers and their modules (names only: others' certificates stay with the leaders and the centre, ADR 7).

Dated from today: an officer who organised an activity this year and holds a verified certificate counts whatever
the year the suite runs in; two officers with nothing count for none."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import expect

from courses import it_skills
from courses.models import LearningKind, LearningRecord
from courses.services import local_now
from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry import services
from lms.registry.models import UnitLevel
from tests.browser.conftest import commit
from tests.browser.screenshots import log_in
from tests.courses.test_it_skills import member, people, scan

EMAIL = "hoi.tinh.pai@example.vn"
PASSWORD = "mật khẩu hội khuyến học tỉnh PAI"
NAME = "Phạm Thị Hội PAI"


def _arrange() -> None:
    ahead = services.find_unit("23293", UnitLevel.COMMUNE)  # Phường Kon Tum: first by name
    behind = services.find_unit("23425", UnitLevel.COMMUNE)  # Xã Tu Mơ Rông: after it by name, before it by need
    (trained,) = people(ahead, "PAI-A", "Đinh Văn Đạt PAI")
    member(trained, ahead, "officer")
    certificate = it_skills.record_certificate(
        person=trained,
        number="CC-PAI-1",
        issuer="Trung tâm sát hạch",
        issued_on=date(2024, 5, 1),
        upload=scan(),
        recorded_by_id=None,
    )
    it_skills.verify_certificate(certificate, user_id=None)
    today = local_now().date()
    db.session.add(
        LearningRecord(
            person_id=trained.id,
            year=today.year,
            kind=LearningKind.ACTIVITY_ORGANISED,
            completed_on=today,
            commune_id=ahead.id,
            source_key=f"pai:organised:{trained.id}",
        )
    )
    for person in people(behind, "PAI-B", "Hồ Văn Chưa PAI", "Y Chưa PAI"):
        member(person, behind, "officer")
    user = create_user(EMAIL, NAME, PASSWORD)
    assign_role(user, Role.ASSOCIATION_OFFICER, services.find_unit("51", UnitLevel.PROVINCE))


def test_a_province_association_officer_finds_the_communes_that_lag(stack_app, phone):
    commit(stack_app, _arrange)
    page = phone
    log_in(page, EMAIL, PASSWORD, NAME)
    page.locator("main").get_by_role("link", name="Kỹ năng CNTT").click()
    page.locator("main").get_by_role("link", name="Tỉnh Quảng Ngãi").click()

    rows = page.locator("#it-communes tbody tr")
    expect(rows.first).to_contain_text("Xã Tu Mơ Rông")
    expect(page.locator("#it-communes")).to_contain_text("Phường Kon Tum")
    expect(page.locator("#it-communes-unrecorded")).to_contain_text("đơn vị cấp xã")
    # The whole page fits the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    rows.first.get_by_role("link", name="Xã Tu Mơ Rông").click()
    expect(page.locator("#it-matrix")).to_contain_text("Hồ Văn Chưa PAI")
    expect(page.locator("#it-matrix a")).to_have_count(0)
