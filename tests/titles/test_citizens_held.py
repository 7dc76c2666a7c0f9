"""ADR 51: Circular 24 (Art. 6.3.a, 7.3.a, 12.3.a, 13.3.a) and Circular 25 (Art. 6.5.a, 7.5.a) count the members
who "đạt danh hiệu Công dân học tập" — who hold the Learning Citizen title, recognised by the association for the
evaluated year, the year whose data the self-assessment reports ("được tính từ ngày 01 tháng 1 đến ngày 31 tháng
12 của năm đánh giá", Circular 24 Art. 10.1.b; Circular 25 Art. 9.1.b). This year's eligibility is a projection,
shown beside the official result, never counted in it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select, update

from lms.auth.models import ApiToken, Role
from lms.extensions import db
from lms.registry.models import AdminUnit, Organisation
from lms.titles import criteria, engine, services
from lms.titles.engine import projected_level
from lms.titles.models import EvaluationState, Recognition
from tests.conftest import login, make_user, make_village, unit_by_code
from tests.titles.test_engine import (
    COMMUNE_ASSESSED,
    SIMPLE_CITIZEN,
    UNIT_ASSESSED,
    YEAR,
    assess,
    bulk_persons,
    eligibility,
    item,
    load_set,
    organisation,
    person,
    recognise_citizens,
    records,
)
from tests.titles.test_rules_circulars import app_request


@pytest.fixture
def commune(app_ctx: Any) -> AdminUnit:
    criteria.load_shipped_criteria()
    load_set(SIMPLE_CITIZEN)
    return unit_by_code("23293")


def unit_of_ten(commune: AdminUnit, *, recognised: int, year: int = YEAR) -> tuple[Organisation, list[int]]:
    """A district-managed unit of ten members, all eligible Learning Citizens this year (one learning activity
    each), ``recognised`` of them recognised by the association for ``year``; every other indicator at level 2."""
    village = make_village(commune, "T01", "Thôn 1")
    members = [person(village, f"Cán bộ {n}") for n in range(10)]
    ids = [m.id for m in members]
    records(ids, commune)
    recognise_citizens(ids[:recognised], commune, year=year)
    org = organisation(commune, "PGD", "district", members)
    for code, value in {**UNIT_ASSESSED, "t2.3": 96}.items():
        assess("organisation", org.id, code, value, commune, evidence="hồ sơ")
    return org, ids


def test_tt24_art6_3a_counts_members_who_hold_the_title_not_those_eligible(commune: AdminUnit) -> None:
    """ "Tối thiểu 90% Thành viên trong đơn vị đạt danh hiệu Công dân học tập": ten eligible members of whom eight
    hold the title are 80 % — level 0, whatever the ten eligible would give; the projection says level 2."""
    org, _ids = unit_of_ten(commune, recognised=8)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 0
    assert not row.eligible
    t31 = item(row, "t3.1")
    assert t31["source"]["numerator"] == 8
    assert t31["source"]["denominator"] == 10
    assert t31["source"]["projected"] == 10
    assert t31["levels"] == []
    assert t31["projected_levels"] == [1, 2]
    assert t31["missing"] == {
        "code": "share_below",
        "numerator": 8,
        "denominator": 10,
        "at_least": 90,
        "need": 1,
        "level": 1,
    }
    assert projected_level(criteria.definition_of(row.criteria_set), row.breakdown) == 2


def test_tt24_art7_3a_the_association_decides_the_rest_and_the_unit_reaches_level_2(commune: AdminUnit) -> None:
    """ "Tối thiểu 95% … đạt danh hiệu": once the association recognises all ten (100 %), level 2 officially; the
    decision marks the unit's commune for evaluation."""
    org, ids = unit_of_ten(commune, recognised=8)
    engine.evaluate_commune(commune.id, YEAR)
    recognise_citizens(ids[8:], commune)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 2
    assert item(row, "t3.1")["source"]["numerator"] == 10


def test_tt24_art10_1b_the_previous_years_recognition_is_not_this_years_title(commune: AdminUnit) -> None:
    """The self-assessment's figures run "từ ngày 01 tháng 1 đến ngày 31 tháng 12 của năm đánh giá": the title a
    member was recognised for the year before (valid for that year) does not count for this one."""
    org, _ids = unit_of_ten(commune, recognised=10, year=YEAR - 1)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 0
    assert item(row, "t3.1")["source"]["numerator"] == 0


def test_tt24_a_revoked_recognition_is_not_held(commune: AdminUnit) -> None:
    """A recognition revoked no longer makes its holder "đạt danh hiệu"."""
    org, ids = unit_of_ten(commune, recognised=10)
    db.session.execute(
        update(Recognition).where(Recognition.subject_id == ids[0]).values(status="revoked", reason="sai hồ sơ")
    )
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert item(row, "t3.1")["source"]["numerator"] == 9
    assert row.level == 1  # 90 % meets Art. 6.3.a, not Art. 7.3.a's 95 %


def commune_of(commune: AdminUnit, *, eligible: int, recognised: int, residents: int = 100) -> None:
    village = make_village(commune, "T01", "Thôn 1")
    ids = bulk_persons(village, residents)
    records(ids[:eligible], commune)
    recognise_citizens(ids[:recognised], commune)
    for code in COMMUNE_ASSESSED:
        assess("commune", commune.id, code, 1, commune)
    assess("commune", commune.id, "t5.2", 65, commune)
    assess("commune", commune.id, "t5.2u", 16, commune)


def test_tt25_art6_5a_counts_the_citizens_recognised_not_those_eligible(commune: AdminUnit) -> None:
    """ "Có ít nhất 60% công dân trong xã đạt danh hiệu Công dân học tập": 85 eligible of 100 but 59 recognised is
    level 0; the projection (85 %) is level 2."""
    commune_of(commune, eligible=85, recognised=59)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    assert row.level == 0
    t51 = item(row, "t5.1")
    assert (t51["source"]["numerator"], t51["source"]["projected"], t51["source"]["denominator"]) == (59, 85, 100)
    assert t51["missing"]["need"] == 1
    assert projected_level(criteria.definition_of(row.criteria_set), row.breakdown) == 2


def test_tt25_art7_5a_80_per_cent_recognised_is_level_2(commune: AdminUnit) -> None:
    """ "Có ít nhất 80% công dân trong xã đạt danh hiệu": 80 of 100 recognised."""
    commune_of(commune, eligible=80, recognised=80)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    assert row.level == 2
    assert services.projected_level_of(row) == 2
    assert services.projection_text(row) == ""  # nothing to add beside the result


def test_the_explanation_says_recognised_and_shows_the_projection_beside_it(commune: AdminUnit, client: Any) -> None:
    """The page shows the official count and, labelled, the projection — in Vietnamese."""
    org, _ids = unit_of_ten(commune, recognised=8)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    with app_request():
        from lms.titles.explain import describe_source

        sentence = describe_source(item(row, "t3.1"))
        assert "recognised for the year: 8 of 10" in sentence
        assert "projection" in sentence
        assert "10 of 10" in sentence
        assert "level 2" in services.projection_text(row)
    user = make_user(Role.ADMINISTRATOR, commune, "law@example.org")
    db.session.commit()
    login(client, user)
    page = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    assert 'id="projection"' in page
    assert "Dự kiến" in page


def test_the_api_gives_the_projected_level_apart_from_the_level(commune: AdminUnit, client: Any) -> None:
    """The API says the same: ``level`` is the result (recognised citizens), ``projected_level`` the projection."""
    org, _ids = unit_of_ten(commune, recognised=8)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    user = make_user(Role.ADMINISTRATOR, commune, "api-law@example.org")
    _, secret = ApiToken.issue(user, "law")
    db.session.commit()
    answer = client.get(f"/api/v1/titles/eligibility/{row.id}", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    body = answer.get_json()
    assert (body["level"], body["projected_level"]) == (0, 2)
    (t31,) = [x for x in body["explanation"] if x["indicator"] == "t3.1"]
    assert (t31["source"]["numerator"], t31["source"]["projected"]) == (8, 10)


def test_deciding_a_citizen_marks_the_commune_of_the_unit_they_belong_to(commune: AdminUnit) -> None:
    """A member living in another commune: the association there recognises them, and the unit's commune — whose
    result counts that title — is marked for evaluation too."""
    from lms.titles import recognition

    other = unit_by_code("23302")
    village = make_village(other, "XK09", "Thôn 9")
    member = person(village, "Người xã khác")
    organisation(commune, "PGD", "district", [member])
    db.session.add(
        Recognition(
            subject_type="person",
            subject_id=member.id,
            title="citizen",
            year=YEAR,
            commune_id=other.id,
            status="proposed",
            breakdown=[],
        )
    )
    db.session.flush()
    proposal = db.session.scalars(select(Recognition).where(Recognition.subject_id == member.id)).one()
    db.session.execute(update(EvaluationState).values(marked_at=None))
    admin = make_user(Role.ADMINISTRATOR, other, "admin-law@example.org")
    recognition.decide([proposal.id], decision_number="5/QĐ-KH", decision_date=date(YEAR + 1, 1, 5), user=admin)
    marked = set(
        db.session.execute(
            select(EvaluationState.commune_id, EvaluationState.year).where(EvaluationState.marked_at.is_not(None))
        ).tuples()
    )
    assert (commune.id, YEAR) in marked
    assert (other.id, YEAR) in marked


def test_the_criteria_document_says_the_share_counts_recognitions(app_ctx: Any) -> None:
    """docs/criteria.md (generated) tells the reader what t3.1 and t5.1 count."""
    from lms.titles.criteria_doc import render

    rows = [
        line
        for line in render().splitlines()
        if line.startswith(("| t3.1 |", "| t5.1 |")) and "đạt danh hiệu Công dân học tập" in line
    ]
    assert len(rows) == 2
    assert all("counts members recognised for the year" in row for row in rows)


def test_the_plan_targets_projection_counts_a_unit_its_eligible_citizens_would_carry(commune: AdminUnit) -> None:
    """Targets (lms/targets): the official basis counts recognitions only; the projection basis counts, besides the
    eligible, a unit whose only gap is citizens eligible but not yet recognised — as its explanation projects it."""
    from lms.targets.compute import held
    from lms.targets.models import Basis

    waiting, _ids = unit_of_ten(commune, recognised=0)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", waiting.id, "unit")
    assert row is not None
    assert not row.eligible
    assert services.projected_level_of(row) == 2

    def counted(basis: str) -> set[int]:
        return set(db.session.scalars(held("unit", "organisation", YEAR, basis, [commune.id])))

    assert waiting.id in counted(Basis.PROJECTION)
    assert waiting.id not in counted(Basis.OFFICIAL)
    assert waiting.id not in set(db.session.scalars(held("unit", "organisation", YEAR, Basis.PROJECTION, [])))


def test_a_units_projection_counts_its_members_living_elsewhere_by_their_own_communes_results(
    commune: AdminUnit,
) -> None:
    """A unit's members who live in another commune have their Learning Citizen rows there. The unit's commune copies
    its own residents' results for its shares in one statement (ADR 40, amended 2026-12-07) and still reads the
    others' rows: ten eligible members, three of them from elsewhere, are a projection of ten."""
    other = unit_by_code("23302")
    there = make_village(other, "T09", "Thôn 9")
    away = [person(there, f"Cán bộ xã khác {n}") for n in range(3)]
    records([m.id for m in away], other)
    village = make_village(commune, "T01", "Thôn 1")
    here = [person(village, f"Cán bộ {n}") for n in range(7)]
    records([m.id for m in here], commune)
    org = organisation(commune, "PGD", "district", here + away)
    for code, value in {**UNIT_ASSESSED, "t2.3": 96}.items():
        assess("organisation", org.id, code, value, commune, evidence="hồ sơ")
    engine.evaluate_commune(other.id, YEAR)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    t31 = item(row, "t3.1")
    assert (t31["source"]["numerator"], t31["source"]["denominator"], t31["source"]["projected"]) == (0, 10, 10)
