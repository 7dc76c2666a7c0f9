"""ADR 51, amended: Decision 448's clans (part B, b1) and villages (part C, v1) count the households that "đạt danh hiệu
Gia đình học tập" — that hold the Learning Family recognition for the evaluated year, decided by the commune People's
Committee chairman — and its commune-managed units (part D, d1) the members holding the Learning Citizen title. This
year's eligibility is a projection shown beside the result, never counted in it; a revoked recognition is not held."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import AdminUnit, Clan, Household
from lms.titles import criteria, engine, services
from lms.titles.models import EvaluationState, Recognition
from tests.conftest import login, make_household, make_user, make_village, unit_by_code
from tests.titles.test_engine import (
    ASSESSED_FAMILY,
    SIMPLE_CITIZEN,
    YEAR,
    assess,
    eligibility,
    item,
    load_set,
    organisation,
    person,
    recognise_citizens,
    recognise_families,
    records,
)
from tests.titles.test_rules_circulars import app_request


@pytest.fixture
def commune(app_ctx: Any) -> AdminUnit:
    criteria.load_shipped_criteria()
    load_set(SIMPLE_CITIZEN)
    load_set(ASSESSED_FAMILY)
    return unit_by_code("23293")


def village_of_ten(commune: AdminUnit, *, recognised: int, year: int = YEAR) -> tuple[AdminUnit, list[Household]]:
    """Ten households of one adult each who learned at the CLC this year, all ten learning families this year (their
    assessment met), ``recognised`` of them recognised for ``year``; the village's branch and no-drop-out indicators
    met with evidence: v2, v3 and v4 give 60 points, v1 decides (70 % → 30 points, required; 85 % → 40)."""
    village = make_village(commune, "LF1", "Thôn Gia Đình")
    households = []
    adults = []
    for n in range(10):
        household = make_household(village, f"LF-H{n}")
        households.append(household)
        adults.append(person(village, f"Người {n}", household=household).id)
        assess("household", household.id, "f1", 1, commune)
    records(adults, commune)
    recognise_families([h.id for h in households[:recognised]], commune, year=year)
    assess("village", village.id, "v2", 1, commune)
    assess("village", village.id, "v3", 1, commune)
    return village, households


def test_a_village_of_eligible_families_not_yet_recognised_is_below_the_required_share(commune: AdminUnit) -> None:
    """ "Tỷ lệ hộ gia đình trong thôn đạt danh hiệu Gia đình học tập": ten eligible families of whom six hold the
    title are 60 % — below the required 70 %, whatever the ten eligible would give; the projection passes."""
    village, _households = village_of_ten(commune, recognised=6)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("village", village.id, "village_community")
    assert row is not None
    assert not row.eligible
    assert row.score == Decimal(60)
    v1 = item(row, "v1")
    assert (v1["source"]["numerator"], v1["source"]["denominator"], v1["source"]["projected"]) == (6, 10, 10)
    assert v1["points"] == 0
    assert v1["projected_points"] == 40
    assert v1["missing"] == {
        "code": "share_below",
        "numerator": 6,
        "denominator": 10,
        "at_least": 70,
        "need": 1,
        "points": 30,
        "minimum": 30,
    }
    assert engine.projected_points(criteria.definition_of(row.criteria_set), row.breakdown) == (Decimal(100), True)
    assert engine.projected_eligible(criteria.definition_of(row.criteria_set), row.breakdown) is True


def test_the_village_passes_once_the_chairman_recognises_the_seventh_family(commune: AdminUnit) -> None:
    village, households = village_of_ten(commune, recognised=6)
    engine.evaluate_commune(commune.id, YEAR)
    recognise_families([households[6].id], commune)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("village", village.id, "village_community")
    assert row is not None
    assert row.eligible
    assert row.score == Decimal(90)
    assert item(row, "v1")["source"]["numerator"] == 7
    assert item(row, "v1")["points"] == 30


def test_a_revoked_family_recognition_is_not_held(commune: AdminUnit) -> None:
    village, households = village_of_ten(commune, recognised=7)
    db.session.execute(
        update(Recognition)
        .where(Recognition.subject_type == "household", Recognition.subject_id == households[0].id)
        .values(status="revoked", reason="sai hồ sơ")
    )
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("village", village.id, "village_community")
    assert row is not None
    assert item(row, "v1")["source"]["numerator"] == 6
    assert item(row, "v1")["source"]["projected"] == 10  # still eligible this year: the projection counts it
    assert not row.eligible


def test_the_previous_years_family_recognition_is_not_this_years_title(commune: AdminUnit) -> None:
    """The year evaluated is the year whose recognitions count (ADR 51): last year's Learning Families do not."""
    village, _households = village_of_ten(commune, recognised=10, year=YEAR - 1)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("village", village.id, "village_community")
    assert row is not None
    assert item(row, "v1")["source"]["numerator"] == 0
    assert not row.eligible


def clan_of_four(commune: AdminUnit) -> tuple[Clan, list[Household]]:
    """A clan of four households, one adult each who learned this year, all four eligible learning families; its
    branch and no-drop-out indicators met with evidence (b2, b3, b4: 60 points; b1 needs 50 % for its 20)."""
    village = make_village(commune, "LF2", "Thôn Dòng Họ")
    households = [make_household(village, f"LC-H{n}") for n in range(4)]
    adults = [person(village, f"Người họ {n}", household=h).id for n, h in enumerate(households)]
    records(adults, commune)
    for h in households:
        assess("household", h.id, "f1", 1, commune)
    clan = Clan(commune_id=commune.id, name="Họ Trần", households=households)
    db.session.add(clan)
    db.session.flush()
    assess("clan", clan.id, "b2", 1, commune)
    assess("clan", clan.id, "b3", 1, commune)
    return clan, households


def test_a_clan_counts_the_families_recognised_not_those_eligible(commune: AdminUnit) -> None:
    """ "Tỷ lệ hộ trong dòng họ đạt danh hiệu Gia đình học tập": four eligible, none recognised — b1 below its
    minimum, the clan not eligible; recognised, the four carry it."""
    clan, households = clan_of_four(commune)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("clan", clan.id, "clan")
    assert row is not None
    assert not row.eligible
    b1 = item(row, "b1")
    assert (b1["source"]["numerator"], b1["source"]["projected"], b1["points"]) == (0, 4, 0)
    assert b1["projected_points"] == 40
    recognise_families([h.id for h in households], commune)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("clan", clan.id, "clan")
    assert row is not None
    assert row.eligible
    assert row.score == Decimal(100)


def test_deciding_and_revoking_a_family_marks_the_village_and_clan_communes(commune: AdminUnit) -> None:
    """A household of another commune belongs to a clan filed here: the chairman there recognises it, and both the
    household's commune (its village) and the clan's commune are marked for evaluation; a revocation marks both
    again."""
    from lms.titles import recognition

    other = unit_by_code("23302")
    village = make_village(other, "LF9", "Thôn 9")
    household = make_household(village, "LF-X1")
    db.session.add(Clan(commune_id=commune.id, name="Họ Lê", households=[household]))
    db.session.add(
        Recognition(
            subject_type="household",
            subject_id=household.id,
            title="family",
            year=YEAR,
            commune_id=other.id,
            status="proposed",
            breakdown=[],
        )
    )
    db.session.flush()
    proposal = db.session.scalars(
        select(Recognition).where(Recognition.subject_type == "household", Recognition.subject_id == household.id)
    ).one()
    admin = make_user(Role.ADMINISTRATOR, other, "family-law@example.org")

    def marked() -> set[tuple[int, int]]:
        return set(
            db.session.execute(
                select(EvaluationState.commune_id, EvaluationState.year).where(EvaluationState.marked_at.is_not(None))
            ).tuples()
        )

    db.session.execute(update(EvaluationState).values(marked_at=None))
    recognition.decide([proposal.id], decision_number="7/QĐ-UBND", decision_date=date(YEAR + 1, 1, 5), user=admin)
    assert (commune.id, YEAR) in marked()
    assert (other.id, YEAR) in marked()
    db.session.execute(update(EvaluationState).values(marked_at=None))
    recognition.revoke([proposal.id], reason="sai hồ sơ", user=admin)
    assert (commune.id, YEAR) in marked()
    assert (other.id, YEAR) in marked()


def test_the_explanation_shows_the_families_recognised_and_the_projection(commune: AdminUnit, client: Any) -> None:
    """The share's sentence gives the recognised count and the projection; the projected outcome names who decides
    families — in Vietnamese on the page."""
    village, _households = village_of_ten(commune, recognised=6)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("village", village.id, "village_community")
    assert row is not None
    with app_request():
        from lms.titles.explain import describe_source

        sentence = describe_source(item(row, "v1"))
        assert "households recognised as Learning Families for the year: 6 of 10" in sentence
        assert "eligible households not yet recognised: 10 of 10" in sentence
        projection = services.projection_text(row)
        assert "People's Committee chairman: 100 points, eligible" in projection
    user = make_user(Role.ADMINISTRATOR, commune, "family-page@example.org")
    db.session.commit()
    login(client, user)
    page = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    assert 'id="projection"' in page
    assert "Dự kiến, nếu Chủ tịch UBND xã công nhận những gia đình đủ điều kiện" in page
    assert "hộ đã được công nhận Gia đình học tập trong năm: 6/10" in page


def test_the_api_gives_the_projected_points_in_the_explanation(commune: AdminUnit, client: Any) -> None:
    """The API: ``score`` and ``eligible`` are the result (families recognised); the share's item carries the
    projection; ``projected_level`` is a levels-style field, null for a points-style set."""
    from lms.auth.models import ApiToken

    village, _households = village_of_ten(commune, recognised=6)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("village", village.id, "village_community")
    assert row is not None
    user = make_user(Role.ADMINISTRATOR, commune, "family-api@example.org")
    _, secret = ApiToken.issue(user, "law4")
    db.session.commit()
    answer = client.get(f"/api/v1/titles/eligibility/{row.id}", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    body = answer.get_json()
    assert body["eligible"] is False
    assert body["projected_level"] is None
    (v1,) = [x for x in body["explanation"] if x["indicator"] == "v1"]
    assert (v1["source"]["numerator"], v1["source"]["projected"], v1["projected_points"]) == (6, 10, 40)


def test_a_commune_managed_unit_counts_its_members_recognised(commune: AdminUnit) -> None:
    """Decision 448 part D's d1 ("tỷ lệ thành viên … đạt danh hiệu Công dân học tập"): three of five eligible, none
    recognised — d1 below its minimum; the projection (60 %: 30 points) passes, and says the association decides."""
    village = make_village(commune, "LF3", "Thôn 3")
    members = [person(village, f"Xã viên {n}") for n in range(5)]
    records([m.id for m in members[:3]], commune)
    org = organisation(commune, "HTX", "commune", members)
    assess("organisation", org.id, "d2", 1, commune)
    assess("organisation", org.id, "d3", 1, commune)
    assess("organisation", org.id, "d4", 95, commune)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.criteria_set.code == "qd-448-2015-d-unit"
    assert not row.eligible
    d1 = item(row, "d1")
    assert (d1["source"]["numerator"], d1["source"]["projected"], d1["points"]) == (0, 3, 0)
    assert d1["projected_points"] == 30
    with app_request():
        assert "recognised by the association: 90 points, eligible" in services.projection_text(row)
    recognise_citizens([m.id for m in members[:3]], commune)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.eligible
    assert services.projection_text(row) == ""  # the projection adds nothing once all are recognised


def test_the_targets_projection_counts_a_village_and_a_clan_their_eligible_families_would_carry(
    commune: AdminUnit,
) -> None:
    """Targets (lms/targets): the official basis counts recognitions of the village and the clan only; the projection
    basis counts those whose only gap is families eligible but not yet recognised, as their explanation projects."""
    from lms.targets.compute import held
    from lms.targets.models import Basis

    village, _households = village_of_ten(commune, recognised=0)
    clan, _members = clan_of_four(commune)
    engine.evaluate_commune(commune.id, YEAR)

    def counted(title: str, subject_type: str, basis: str) -> set[int]:
        return set(db.session.scalars(held(title, subject_type, YEAR, basis, [commune.id])))

    assert village.id in counted("village_community", "village", Basis.PROJECTION)
    assert village.id not in counted("village_community", "village", Basis.OFFICIAL)
    assert clan.id in counted("clan", "clan", Basis.PROJECTION)
    assert clan.id not in counted("clan", "clan", Basis.OFFICIAL)


def test_a_village_whose_projection_fails_is_not_counted_on_the_projection_basis(commune: AdminUnit) -> None:
    """Six families of ten recognised, the other four no longer eligible (their assessment withdrawn): the projection
    is 60 %, below the required share — not counted on the projection basis either."""
    from lms.targets.compute import held
    from lms.targets.models import Basis
    from lms.titles.models import Assessment

    village, households = village_of_ten(commune, recognised=6)
    db.session.execute(
        Assessment.__table__.delete().where(
            Assessment.subject_type == "household", Assessment.subject_id.in_([h.id for h in households[6:]])
        )
    )
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("village", village.id, "village_community")
    assert row is not None
    assert item(row, "v1")["source"]["projected"] == 6
    assert engine.projected_eligible(criteria.definition_of(row.criteria_set), row.breakdown) is False
    assert village.id not in set(
        db.session.scalars(held("village_community", "village", YEAR, Basis.PROJECTION, [commune.id]))
    )


def test_the_criteria_document_says_b1_v1_d1_count_recognitions(app_ctx: Any) -> None:
    from lms.titles.criteria_doc import render

    rows = [line for line in render().splitlines() if line.startswith(("| b1 |", "| v1 |", "| d1 |"))]
    assert len(rows) == 3
    assert all("counts members recognised for the year" in row for row in rows)


def test_a_family_evaluated_elsewhere_marks_the_commune_of_its_clan(commune: AdminUnit) -> None:
    """The clan's projection reads its households' eligibility, and a household may live in another commune: when that
    commune's evaluation changes the family's result, the clan's commune loses its inputs key (its next run evaluates
    it), as a unit's commune does for its members' citizen results."""
    from lms.titles import runs
    from lms.titles.dirty import mark_dirty

    other = unit_by_code("23302")
    village = make_village(other, "LF8", "Thôn 8")
    household = make_household(village, "LF-X2")
    db.session.add(Clan(commune_id=commune.id, name="Họ Phạm", households=[household]))
    db.session.flush()
    runs.evaluate_locked(other.id, YEAR, force=True)  # the family's first row: the clan's commune marked
    runs.evaluate_locked(commune.id, YEAR, force=True)  # … and evaluated

    def key() -> str | None:
        db.session.expire_all()
        return db.session.scalar(
            select(EvaluationState.inputs_key).where(
                EvaluationState.commune_id == commune.id, EvaluationState.year == YEAR
            )
        )

    assert key() is not None
    assess("household", household.id, "f1", 1, other)
    mark_dirty([(other.id, YEAR)])  # as the assessments' service marks its commune
    runs.evaluate_locked(other.id, YEAR, force=True)
    assert eligibility("household", household.id, "family").eligible  # type: ignore[union-attr]
    assert key() is None


def test_the_villages_summary_pdf_gives_the_official_result_and_the_projection(commune: AdminUnit, client: Any) -> None:
    """The summary a commune keeps with its decision (not a self-assessment): under the commune's People's Committee,
    the points against the pass mark, not eligible, and the projection beside it — in Vietnamese."""
    from tests.courses.test_documents import _pdf_text

    village, _households = village_of_ten(commune, recognised=6)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("village", village.id, "village_community")
    assert row is not None
    user = make_user(Role.COMMUNE_LEADER, commune, "family-summary@example.org")
    db.session.commit()
    login(client, user)
    response = client.get(f"/titles/eligibility/{row.id}/summary.pdf")
    assert response.mimetype == "application/pdf"
    text = " ".join(_pdf_text(response.data).split())
    assert "ỦY BAN NHÂN DÂN" in text
    assert "BẢN TỔNG HỢP KẾT QUẢ ĐÁNH GIÁ CÁC TIÊU CHÍ, CHỈ TIÊU" in text
    assert "TỰ ĐÁNH GIÁ" not in text
    assert "Tổng điểm: 60 (cần từ 80 điểm). Kết luận: chưa đủ điều kiện công nhận." in text
    assert "Dự kiến, nếu Chủ tịch UBND xã công nhận những gia đình đủ điều kiện" in text
    assert "hộ đã được công nhận Gia đình học tập trong năm: 6/10" in text
