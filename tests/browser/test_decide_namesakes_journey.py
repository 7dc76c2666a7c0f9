"""The commune association's officer decides on two proposed Learning Citizens of the same name, on a phone, from the
home page by clicking only: the decide list and the confirmation of the decision tell them apart — birth date,
village, and the household of the one who is not its head — where they were two bare "Nguyễn Thị Tuyết".

The eligibility rows are arranged, not computed: the Learning Citizen criteria sets are paused for the journey (and
made active again after it), so the worker's evaluation leaves the arranged rows as they are."""

from __future__ import annotations

import re
from datetime import date

from playwright.sync_api import expect
from sqlalchemy import select, update

from lms.auth.models import Role
from lms.auth.services import assign_role, create_user
from lms.extensions import db
from lms.registry.models import Household, Person
from lms.titles import recognition
from lms.titles.models import CriteriaSet, Eligibility, SubjectType, Title
from tests.browser.conftest import PHONE, commit
from tests.browser.screenshots import last_page, log_in
from tests.targets.dashboard_data import build_province, criteria_set

PASSWORD = "mật khẩu hội khuyến học DNS"
NAME = "Nguyễn Thị Tuyết DNS"


def _arrange() -> dict:
    data = build_province(1, households_per_village=0, tag="DNS")
    commune, village = data.communes[0], data.villages[0]
    household = Household(village_id=village.id, code="DNS-H1")
    db.session.add(household)
    db.session.flush()
    head = Person(full_name="Y Blang DNS", unit_id=village.id, household_id=household.id, relation_to_head="Chủ hộ")
    first = Person(full_name=NAME, unit_id=village.id, birth_date=date(1994, 3, 2))
    second = Person(full_name=NAME, unit_id=village.id, household_id=household.id, relation_to_head="Con")
    db.session.add_all([head, first, second])
    db.session.flush()
    citizen = criteria_set(Title.CITIZEN, SubjectType.PERSON)
    for person in (first, second):
        db.session.add(
            Eligibility(
                subject_type=SubjectType.PERSON,
                subject_id=person.id,
                title=Title.CITIZEN,
                year=2025,
                commune_id=commune.id,
                village_id=village.id,
                criteria_set_id=citizen.id,
                eligible=True,
                score=90,
                missing="",
                breakdown=[],
            )
        )
    user = create_user("khuyenhoc.dns@example.vn", "Y Hoa DNS", PASSWORD)
    assign_role(user, Role.ASSOCIATION_OFFICER, commune)
    db.session.flush()
    recognition.propose(title="citizen", year=2025, subject_ids=[first.id, second.id], user=user)
    paused = list(
        db.session.scalars(
            select(CriteriaSet.id).where(CriteriaSet.title == Title.CITIZEN, CriteriaSet.active.is_(True))
        )
    )
    if paused:
        db.session.execute(update(CriteriaSet).where(CriteriaSet.id.in_(paused)).values(active=False))
    return {"paused": paused, "village": village.name}


def test_the_officer_tells_apart_two_citizens_of_the_same_name_before_deciding(stack_app, phone):
    arranged = commit(stack_app, _arrange)
    try:
        _journey(phone, arranged)
    finally:
        commit(
            stack_app,
            lambda: (
                db.session.execute(
                    update(CriteriaSet).where(CriteriaSet.id.in_(arranged["paused"])).values(active=True)
                )
                if arranged["paused"]
                else None
            ),
        )


def _journey(page, arranged: dict) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, "khuyenhoc.dns@example.vn", PASSWORD, "Y Hoa DNS")
    page.locator(".role-card").get_by_role("link", name="Quyết định").click()

    proposals = page.locator("#proposals .list-group-item")
    expect(proposals).to_have_count(2)
    details = page.locator("#proposals .subject-detail")
    expect(details).to_have_count(2)
    expect(details.filter(has_text="02/03/1994")).to_have_count(1)
    expect(details.filter(has_text="hộ Y Blang DNS")).to_have_count(1)
    expect(details.filter(has_text=arranged["village"])).to_have_count(2)

    page.get_by_label("Chọn tất cả").check()
    page.get_by_label("Số quyết định").fill("9/QĐ-KH")
    page.get_by_label("Ngày quyết định").fill(date.today().isoformat())
    page.get_by_role("button", name="Ghi nhận quyết định", exact=True).click()
    listed = page.locator("#confirm-decision #confirm-list li")
    expect(listed).to_have_count(2)
    expect(listed.filter(has_text="02/03/1994")).to_have_count(1)
    expect(listed.filter(has_text="hộ Y Blang DNS")).to_have_count(1)
    assert page.evaluate(f"document.documentElement.scrollWidth <= {PHONE['width']}")
    last_page(page, "association-officer-decide-namesakes")
    page.get_by_role("button", name=re.compile("Xác nhận ghi nhận Quyết định")).click()
    expect(page.locator(".alert-success")).to_contain_text("9/QĐ-KH")
    assert errors == []
