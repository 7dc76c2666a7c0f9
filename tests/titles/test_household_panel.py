"""The registry's household page shows the household's titles by year, each leading to its explanation."""

from __future__ import annotations

import re
from datetime import date

from lms.auth.models import Role
from lms.extensions import db
from lms.titles.models import Registration
from tests.conftest import login, make_household, make_user, make_village, unit_by_code
from tests.titles.recognition_fixtures import criteria_set, eligibility


def _household_with_two_years():
    commune = unit_by_code("23293")
    village = make_village(commune, "HP-V1", "Thôn Đăk Xú")
    household = make_household(village, "HP-1", "A Hùng", "Y Lan")
    family = criteria_set()
    old = eligibility(family, household.id, commune.id, 2025, village_id=village.id, eligible=True)
    new = eligibility(family, household.id, commune.id, 2026, village_id=village.id, eligible=False)
    db.session.add(
        Registration(
            subject_type="household",
            subject_id=household.id,
            title="family",
            year=2026,
            commune_id=commune.id,
            registered_on=date(2026, 1, 15),
        )
    )
    db.session.flush()
    return commune, household, old, new


def test_a_leader_sees_each_year_and_why_not_yet(app_ctx, client):
    commune, household, old, new = _household_with_two_years()
    leader = make_user(Role.COMMUNE_LEADER, commune, "hp-leader@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/registry/households/{household.id}").get_data(as_text=True)
    rows = re.findall(r'title-year" data-year="(\d+)" data-eligible="(\d)"', page)
    assert rows == [("2026", "0"), ("2025", "1")]  # newest first
    assert f'href="/titles/eligibility/{new.id}"' in page
    assert f'href="/titles/eligibility/{old.id}"' in page
    newest = page[page.index('data-year="2026"') : page.index('data-year="2025"')]
    assert "thiếu 1 tiêu chí" in newest  # the pages default to Vietnamese
    assert "Why not yet?" in newest or "Vì sao chưa đạt?" in newest
    explanation = client.get(f"/titles/eligibility/{new.id}")
    assert explanation.status_code == 200


def test_no_panel_for_a_role_that_may_not_see_titles(app_ctx, client):
    commune, household, _, _ = _household_with_two_years()
    instructor = make_user(Role.INSTRUCTOR, commune, "hp-instructor@example.vn")
    db.session.commit()
    login(client, instructor)
    response = client.get(f"/registry/households/{household.id}")
    assert response.status_code == 200
    assert 'id="household-titles"' not in response.get_data(as_text=True)


def test_a_household_never_evaluated_says_so(app_ctx, client):
    commune = unit_by_code("23293")
    household = make_household(make_village(commune, "HP-V2", "Thôn Mới"), "HP-2", "A Nam")
    leader = make_user(Role.COMMUNE_LEADER, commune, "hp-leader2@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/registry/households/{household.id}").get_data(as_text=True)
    assert 'id="household-titles"' in page
    assert "title-year" not in page
