"""The evaluation engine on hand-made data with known answers: one or more worked examples per shipped criteria set,
dependency order, idempotency, frozen years, and a statement count that does not grow with the population."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import delete, event, func, insert, select
from sqlalchemy import text as sql

from courses.models import LearningKind, LearningRecord
from lms.auth.models import Role
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit, Household, Organisation, OrganisationMember, Person
from lms.registry.text import fold, person_sort_key
from lms.titles import criteria, engine, recognition, services
from lms.titles.models import (
    Assessment,
    AssessmentSource,
    Eligibility,
    EligibilityBreakdown,
    Recognition,
    RecognitionStatus,
)
from tests.conftest import make_household, make_user, make_village, unit_by_code

YEAR = 2025


@pytest.fixture
def commune(app_ctx: Any) -> AdminUnit:
    criteria.load_shipped_criteria()
    return unit_by_code("23293")


# --- builders ---------------------------------------------------------------------------------------------------


def person(
    unit: AdminUnit,
    name: str = "Nguyễn Văn A",
    *,
    born: date | None = date(1985, 5, 1),
    household: Household | None = None,
) -> Person:
    row = Person(full_name=name, unit_id=unit.id, birth_date=born, household_id=household.id if household else None)
    db.session.add(row)
    db.session.flush()
    return row


def bulk_persons(unit: AdminUnit, count: int, *, born: date | None = date(1980, 1, 1)) -> list[int]:
    """``count`` persons in one statement (a commune of a thousand is built in milliseconds)."""
    rows = [
        {
            "full_name": f"Người {n}",
            "name_folded": fold(f"Người {n}"),
            "sort_key": person_sort_key(f"Người {n}"),
            "unit_id": unit.id,
            "birth_date": born,
        }
        for n in range(count)
    ]
    db.session.execute(insert(Person), rows)
    return list(db.session.scalars(select(Person.id).where(Person.unit_id == unit.id).order_by(Person.id)))


def records(
    person_ids: list[int],
    commune: AdminUnit,
    *,
    year: int = YEAR,
    kind: str = LearningKind.CLASS_COMPLETION,
    hours: str = "4",
    category: str | None = "needs_based",
    module: str | None = None,
    each: int = 1,
) -> None:
    rows = [
        {
            "person_id": pid,
            "year": year,
            "kind": kind,
            "category": category,
            "module_code": module,
            "hours": Decimal(hours),
            "completed_on": date(year, 6, 1),
            "commune_id": commune.id,
            "source_key": f"t:{pid}:{kind}:{module}:{category}:{n}:{year}",
        }
        for pid in person_ids
        for n in range(each)
    ]
    db.session.execute(insert(LearningRecord), rows)


def assess(
    subject_type: str,
    subject_id: int,
    indicator: str,
    value: Any,
    commune: AdminUnit,
    *,
    evidence: str = "biên bản",
    source: str = AssessmentSource.EVALUATOR,
    verified: bool = False,
) -> Assessment:
    row = Assessment(
        subject_type=subject_type,
        subject_id=subject_id,
        year=YEAR,
        indicator=indicator,
        value=Decimal(str(value)),
        source=source,
        evidence_ref=evidence,
        commune_id=commune.id,
        verified_at=utcnow() if verified else None,
    )
    db.session.add(row)
    db.session.flush()
    return row


def eligibility(subject_type: str, subject_id: int, title: str) -> Eligibility | None:
    db.session.expire_all()
    return db.session.scalar(
        select(Eligibility).where(
            Eligibility.subject_type == subject_type,
            Eligibility.subject_id == subject_id,
            Eligibility.title == title,
            Eligibility.year == YEAR,
        )
    )


def item(row: Eligibility, code: str) -> dict[str, Any]:
    return next(i for i in row.breakdown if i["indicator"] == code)


def load_set(text: str) -> None:
    criteria.load_criteria(text.encode())


SIMPLE_CITIZEN = """
code = "qd-324-2023-citizen"
title = "citizen"
subject = "person"
name = "Công dân học tập (test)"
source = "test"
status = "provisional"
validity_years = 1
scoring = "points"
pass_total = 10
[[indicators]]
code = "c1"
name = "Hoạt động học tập"
source_ref = "test"
kind = "metric"
metric = {measure = "activities"}
max_points = 10
thresholds = [[1, 10]]
"""

CITIZEN_FAMILY = """
code = "qd-448-2015-a-family"
title = "family"
subject = "household"
name = "Gia đình học tập (test)"
source = "test"
status = "provisional"
validity_years = 1
scoring = "points"
pass_total = 10
[[indicators]]
code = "f1"
name = "Mọi người lớn là công dân học tập"
source_ref = "test"
kind = "share"
share = {of = "persons", title = "citizen", age = [15, -1]}
max_points = 10
thresholds = [[100, 10]]
"""

ASSESSED_FAMILY = """
code = "qd-448-2015-a-family"
title = "family"
subject = "household"
name = "Gia đình học tập (test)"
source = "test"
status = "provisional"
validity_years = 1
scoring = "points"
pass_total = 10
[[indicators]]
code = "f1"
name = "Đánh giá"
source_ref = "test"
kind = "assessment"
scale = "met"
max_points = 10
"""


# --- Decision 324/2023: Learning Citizen ------------------------------------------------------------------------

CITIZEN_CODES = [f"c{n}" for n in range(1, 11)]


def assess_citizen(p: Person, commune: AdminUnit, points: list[int]) -> None:
    for code, value in zip(CITIZEN_CODES, points, strict=True):
        assess("person", p.id, code, value, commune)


def test_citizen_at_79_points_fails_and_at_80_passes(commune: AdminUnit) -> None:
    village = make_village(commune, "T01", "Thôn 1")
    short, enough = person(village, "Hồ Thị Bảy"), person(village, "Hồ Văn Tám")
    assess_citizen(short, commune, [8, 8, 8, 8, 8, 8, 8, 8, 8, 7])
    assess_citizen(enough, commune, [8] * 10)

    engine.evaluate_commune(commune.id, YEAR)

    failed = eligibility("person", short.id, "citizen")
    assert failed is not None
    assert not failed.eligible
    assert failed.score == Decimal(79)
    passed = eligibility("person", enough.id, "citizen")
    assert passed is not None
    assert passed.eligible
    assert passed.score == Decimal(80)
    assert passed.missing == ""
    assert passed.village_id == village.id
    assert passed.commune_id == commune.id
    assert passed.criteria_set.code == "qd-324-2023-citizen"
    # Below the pass total every indicator short of its maximum says what would add points.
    assert item(failed, "c10")["missing"] == {"code": "assessed_below", "value": 7, "at_least": 10}
    assert item(failed, "c10")["source"]["kind"] == "assessment"


def test_citizen_at_80_points_with_one_indicator_at_4_fails(commune: AdminUnit) -> None:
    village = make_village(commune, "T01", "Thôn 1")
    p = person(village)
    assess_citizen(p, commune, [10, 10, 10, 10, 8, 8, 8, 6, 4, 6])

    engine.evaluate_commune(commune.id, YEAR)

    row = eligibility("person", p.id, "citizen")
    assert row is not None
    assert row.score == Decimal(80)
    assert not row.eligible
    assert item(row, "c9")["missing"] == {"code": "below_minimum", "value": 4, "minimum": 5}
    # With the total reached, only the indicator below its minimum keeps the title away: more points on the others
    # (8 of 10 on c5) would not help, so they are not what is missing.
    assert row.missing == "|c9|"
    assert item(row, "c5")["missing"] is None


def test_citizen_points_from_learning_records_and_what_is_missing(commune: AdminUnit) -> None:
    village = make_village(commune, "T01", "Thôn 1")
    p = person(village)
    records([p.id], commune, each=2, hours="5")  # 2 activities, 10 hours
    records([p.id], commune, kind=LearningKind.IT_MODULE, category="it_skills", module="IU01", hours="8")
    records([p.id], commune, year=YEAR - 1, each=5)  # another year: not counted

    engine.evaluate_commune(commune.id, YEAR)

    row = eligibility("person", p.id, "citizen")
    assert row is not None
    assert not row.eligible
    c1 = item(row, "c1")
    assert c1["value"] == 3
    assert c1["points"] == 9
    assert c1["source"] == {"kind": "records", "measure": "activities"}
    assert c1["missing"] == {"code": "more_activities", "need": 1, "points": 10}
    assert item(row, "c2")["value"] == 18
    assert item(row, "c2")["points"] == 8
    assert item(row, "c4")["value"] == 1
    assert item(row, "c4")["points"] == 5
    c5 = item(row, "c5")  # no language course: below the minimum
    assert c5["points"] == 0
    assert c5["missing"] == {"code": "more_activities", "need": 1, "points": 8, "minimum": 5}
    assert item(row, "c3")["missing"] == {"code": "not_assessed", "minimum": 5}


def test_assessment_stands_in_for_records_only_when_it_counts(commune: AdminUnit) -> None:
    village = make_village(commune, "T01", "Thôn 1")
    p = person(village)
    assess("person", p.id, "c5", 9, commune, source=AssessmentSource.SELF)  # self-assessed, not verified
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("person", p.id, "citizen")
    assert row is not None
    assert item(row, "c5")["points"] == 0

    db.session.execute(Assessment.__table__.update().values(verified_at=utcnow()))
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("person", p.id, "citizen")
    assert row is not None
    c5 = item(row, "c5")
    assert c5["points"] == 9
    assert c5["source"]["kind"] == "assessment"
    assert c5["source"]["by"] == "self"


# --- Decision 448/2015 part A: Learning Family ---------------------------------------------------------------------

FAMILY_ASSESSED = ["a1", "a2", "a3", "a4", "a6", "a7", "a8", "a9", "a10"]


def test_family_where_one_adult_had_no_learning_activity_fails(commune: AdminUnit) -> None:
    village = make_village(commune, "T01", "Thôn 1")
    household = make_household(village, "H01")
    father = person(village, "A Văn", born=date(1980, 1, 1), household=household)
    mother = person(village, "Y Thị", born=date(1982, 1, 1), household=household)
    person(village, "A Con", born=date(2015, 1, 1), household=household)  # a child: not an adult
    for code in FAMILY_ASSESSED:
        assess("household", household.id, code, 10, commune)
    records([father.id], commune)

    engine.evaluate_commune(commune.id, YEAR)

    row = eligibility("household", household.id, "family")
    assert row is not None
    assert not row.eligible
    assert row.score == Decimal(90)
    a5 = item(row, "a5")
    assert a5["value"] == 50
    assert a5["points"] == 0
    assert a5["source"]["numerator"] == 1
    assert a5["source"]["denominator"] == 2
    assert a5["missing"] == {
        "code": "share_below",
        "numerator": 1,
        "denominator": 2,
        "at_least": 100,
        "need": 1,
        "points": 10,
        "minimum": 10,
    }
    assert row.missing == "|a5|"

    records([mother.id], commune)
    summary = engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("household", household.id, "family")
    assert row is not None
    assert row.eligible
    assert row.score == Decimal(100)
    assert row.missing == ""
    assert summary["family"] == {"subjects": 1, "eligible": 1, "changed": 1}


def test_adult_without_birth_date_is_outside_the_age_band(commune: AdminUnit) -> None:
    village = make_village(commune, "T01", "Thôn 1")
    household = make_household(village, "H01")
    adult = person(village, born=date(1980, 1, 1), household=household)
    person(village, "Không rõ tuổi", born=None, household=household)
    records([adult.id], commune)

    engine.evaluate_commune(commune.id, YEAR)

    a5 = item(eligibility("household", household.id, "family"), "a5")  # type: ignore[arg-type]
    assert a5["points"] == 10
    assert a5["source"]["denominator"] == 1
    assert a5["source"]["unknown_age"] == 1


# --- Decision 448/2015 part B: Learning Clan ---------------------------------------------------------------------


def test_clan_share_of_learning_families(commune: AdminUnit) -> None:
    from lms.registry.models import Clan

    load_set(ASSESSED_FAMILY)
    village = make_village(commune, "T01", "Thôn 1")
    households = [make_household(village, f"H{n}") for n in range(4)]
    clan = Clan(commune_id=commune.id, name="Họ Nguyễn", households=households)
    db.session.add(clan)
    db.session.flush()
    for h in households[:2]:
        assess("household", h.id, "f1", 1, commune)
    recognise_families([h.id for h in households[:2]], commune)  # b1 counts families holding the title (ADR 51)
    assess("clan", clan.id, "b2", 1, commune)
    assess("clan", clan.id, "b3", 1, commune, evidence="")  # no evidence: not counted

    engine.evaluate_commune(commune.id, YEAR)

    row = eligibility("clan", clan.id, "clan")
    assert row is not None
    assert not row.eligible
    assert item(row, "b1")["value"] == 50
    assert item(row, "b1")["points"] == 20
    assert item(row, "b3")["points"] == 0
    assert item(row, "b3")["missing"] == {"code": "no_evidence"}
    assert item(row, "b4")["missing"] == {"code": "no_members"}


# --- Decision 448/2015 part C: village learning community ----------------------------------------------------------


def village_with_families(commune: AdminUnit, learning_families: int) -> AdminUnit:
    """Ten households of one adult each (who learned this year); ``learning_families`` of them assessed as learning
    families and recognised for the year (v1 counts the families holding the title, ADR 51); the village's branch and
    no-drop-out indicators met with evidence."""
    load_set(ASSESSED_FAMILY)
    village = make_village(commune, f"V{learning_families}", f"Thôn {learning_families}")
    adults = []
    for n in range(10):
        household = make_household(village, f"H{n}")
        adults.append(person(village, f"Người {n}", household=household).id)
        if n < learning_families:
            assess("household", household.id, "f1", 1, commune)
            recognise_families([household.id], commune)
    records(adults, commune)
    assess("village", village.id, "v2", 1, commune)
    assess("village", village.id, "v3", 1, commune)
    return village


def test_village_just_under_the_required_share_of_learning_families_fails(commune: AdminUnit) -> None:
    village = village_with_families(commune, 6)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("village", village.id, "village_community")
    assert row is not None
    assert not row.eligible
    assert row.score == Decimal(60)
    assert item(row, "v1")["missing"] == {
        "code": "share_below",
        "numerator": 6,
        "denominator": 10,
        "at_least": 70,
        "need": 1,
        "points": 30,
        "minimum": 30,
    }


def test_village_at_the_required_share_of_learning_families_passes(commune: AdminUnit) -> None:
    village = village_with_families(commune, 7)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("village", village.id, "village_community")
    assert row is not None
    assert row.eligible
    assert row.score == Decimal(90)
    assert row.village_id == village.id
    assert item(row, "v4")["value"] == 100


# --- Circular 25/2023: commune learning community ----------------------------------------------------------------

COMMUNE_ASSESSED = [
    "t1.1",
    "t1.2",
    "t1.3",
    "t2.1",
    "t2.2",
    "t2.3",
    "t3.1",
    "t3.2",
    "t3.3",
    "t4.1",
    "t4.2",
    "t4.2b",
    "t4.3",
    "t4.3b",
    "t4.4",
    "t4.4b",
]


def commune_with_citizens(commune: AdminUnit, citizens: int, population: int = 1000) -> None:
    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    ids = bulk_persons(village, population)
    records(ids[:citizens], commune)
    recognise_citizens(ids[:citizens], commune)
    # Children: "công dân trong xã" has no age band (Circular 25, Art. 6.5.a; ADR 15), so they are in the denominator.
    bulk_persons(village, 50, born=date(YEAR - 10, 1, 1))
    for code in COMMUNE_ASSESSED:
        assess("commune", commune.id, code, 1, commune)
    assess("commune", commune.id, "t5.2", 65, commune)
    assess("commune", commune.id, "t5.2u", 16, commune)


@pytest.mark.parametrize(("citizens", "level"), [(629, 0), (630, 1), (839, 1), (840, 2)])
def test_commune_level_follows_the_share_of_learning_citizens(commune: AdminUnit, citizens: int, level: int) -> None:
    commune_with_citizens(commune, citizens)
    summary = engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    assert row.level == level
    assert row.eligible == (level >= 1)
    t51 = item(row, "t5.1")
    assert t51["source"]["numerator"] == citizens
    assert t51["source"]["denominator"] == 1050
    assert summary["citizen"]["subjects"] == 1050
    # Recognised citizens are frozen (not evaluated again); the projection counts them with the eligible (ADR 51).
    assert t51["source"]["projected"] == citizens
    if level == 0:
        assert t51["value"] == 59.9
        assert not t51["met"]
        assert t51["missing"] == {
            "code": "share_below",
            "numerator": 629,
            "denominator": 1050,
            "at_least": 60,
            "need": 1,
            "level": 1,
        }
    elif level == 1:
        assert t51["met"]
        assert t51["levels"] == [1]
        assert t51["missing"] == {
            "code": "share_below",
            "numerator": citizens,
            "denominator": 1050,
            "at_least": 80,
            "need": 840 - citizens,
            "level": 2,
        }
        assert row.missing == "|t5.1|"
    else:
        assert t51["levels"] == [1, 2]
        assert row.missing == ""


def test_commune_indicator_without_evidence_is_not_met(commune: AdminUnit) -> None:
    commune_with_citizens(commune, 900, population=1000)
    db.session.execute(Assessment.__table__.update().where(Assessment.indicator == "t3.1").values(evidence_ref=" "))
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    assert row.level == 0
    assert not row.eligible
    assert item(row, "t3.1")["missing"] == {"code": "no_evidence", "level": 1}
    assert row.missing == "|t3.1|"


# --- Circular 24/2023 and 448 part D: Learning Unit ----------------------------------------------------------------

UNIT_ASSESSED = {
    "t1.1": 1,
    "t1.2": 1,
    "t1.3": 1,
    "t1.4": 1,
    "t1.5": 1,
    "t2.1": 96,
    "t2.2": 96,
    "t2.3": 92,
    "t2.4": 75,
    "t2.5": 96,
    "t3.2": 1,
    "t3.3": 1,
    "t3.4": 1,
    "t3.4b": 1,
    "t3.5": 1,
}


def recognise_citizens(person_ids: list[int], commune: AdminUnit, *, year: int = YEAR) -> None:
    """The commune association's decision for ``year``: these persons hold the Learning Citizen title (Circular 24
    Art. 6.3.a and Circular 25 Art. 6.5.a count members who "đạt danh hiệu Công dân học tập", ADR 51)."""
    _recognise("person", "citizen", person_ids, commune, year=year)


def recognise_families(household_ids: list[int], commune: AdminUnit, *, year: int = YEAR) -> None:
    """The commune chairman's decision for ``year``: these households hold the Learning Family title (Decision 448's
    clans and villages count households "đạt danh hiệu Gia đình học tập", ADR 51)."""
    _recognise("household", "family", household_ids, commune, year=year)


def _recognise(subject_type: str, title: str, ids: list[int], commune: AdminUnit, *, year: int) -> None:
    rows = [
        {
            "subject_type": subject_type,
            "subject_id": pid,
            "title": title,
            "year": year,
            "commune_id": commune.id,
            "status": "recognised",
            "decision_number": f"{year}/QĐ-KH",
            "decision_date": date(year + 1, 1, 10),
            "valid_until": date(year, 12, 31),
            "breakdown": [],
            "proposed_at": utcnow(),
        }
        for pid in ids
    ]
    if rows:
        db.session.execute(insert(Recognition), rows)


def organisation(commune: AdminUnit, code: str, managing_level: str, members: list[Person]) -> Organisation:
    org = Organisation(commune_id=commune.id, code=code, name=f"Cơ quan {code}", managing_level=managing_level)
    db.session.add(org)
    db.session.flush()
    for m in members:
        db.session.add(OrganisationMember(organisation_id=org.id, person_id=m.id))
    db.session.flush()
    return org


def test_organisation_missing_evidence_for_one_indicator(commune: AdminUnit) -> None:
    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    members = [person(village, f"Cán bộ {n}") for n in range(10)]
    records([m.id for m in members], commune)
    recognise_citizens([m.id for m in members], commune)
    org = organisation(commune, "UBND", "province", members)
    for code, value in UNIT_ASSESSED.items():
        assess("organisation", org.id, code, value, commune, evidence="" if code == "t1.3" else "hồ sơ")

    summary = engine.evaluate_commune(commune.id, YEAR)

    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.criteria_set.code == "tt-24-2023-unit"
    assert row.level == 0
    assert not row.eligible
    assert row.missing == "|t1.3|"
    assert item(row, "t1.3")["missing"] == {"code": "no_evidence", "level": 1}
    assert item(row, "t3.1")["value"] == 100
    assert item(row, "t3.1")["met"]
    assert summary["unit"] == {"subjects": 1, "eligible": 0, "changed": 1}

    db.session.execute(
        Assessment.__table__.update().where(Assessment.indicator == "t1.3").values(evidence_ref="dự toán 2025")
    )
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    # Level 1; level 2 wants 95 per cent trained for digital transformation (t2.3 is at 92).
    assert row is not None
    assert row.level == 1
    assert row.eligible
    assert row.missing == "|t2.3|"
    assert item(row, "t2.3")["missing"] == {"code": "assessed_below", "value": 92, "at_least": 95, "level": 2}


def test_commune_managed_organisation_uses_448_part_d(commune: AdminUnit) -> None:
    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    members = [person(village, f"Cán bộ {n}") for n in range(5)]
    records([m.id for m in members[:3]], commune)
    recognise_citizens([m.id for m in members[:3]], commune)  # d1 counts members holding the title (ADR 51)
    org = organisation(commune, "HTX", "commune", members)
    assess("organisation", org.id, "d2", 1, commune)
    assess("organisation", org.id, "d3", 1, commune)
    assess("organisation", org.id, "d4", 95, commune)
    organisation(commune, "TW", "central", [])  # no criteria set for centrally managed organisations

    summary = engine.evaluate_commune(commune.id, YEAR)

    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.criteria_set.code == "qd-448-2015-d-unit"
    assert item(row, "d1")["value"] == 60
    assert item(row, "d1")["points"] == 30
    assert row.score == Decimal(90)
    assert row.eligible
    assert summary["unit"]["subjects"] == 1


# --- dependency order, idempotency, frozen years, statement count --------------------------------------------------

CHAIN_VILLAGE = """
code = "qd-448-2015-c-village"
title = "village_community"
subject = "village"
name = "Thôn (test)"
source = "test"
status = "provisional"
validity_years = 1
scoring = "points"
pass_total = 10
[[indicators]]
code = "v1"
name = "Gia đình học tập"
source_ref = "test"
kind = "share"
share = {of = "households", title = "family"}
max_points = 10
thresholds = [[100, 10]]
"""

CHAIN_COMMUNE = """
code = "tt-25-2023-commune"
title = "commune_community"
subject = "commune"
name = "Xã (test)"
source = "test"
status = "official"
validity_years = 3
scoring = "levels"
levels = [{level = 1, name = "Mức 1"}]
[[indicators]]
code = "x1"
name = "Thôn"
source_ref = "test"
kind = "share"
share = {of = "villages", title = "village_community"}
at_least = [100]
"""


def test_a_change_in_one_person_flows_up_to_household_village_and_commune(commune: AdminUnit) -> None:
    for text in (SIMPLE_CITIZEN, CITIZEN_FAMILY, CHAIN_VILLAGE, CHAIN_COMMUNE):
        load_set(text)
    village = make_village(commune, "T01", "Thôn 1")
    household = make_household(village, "H01")
    a = person(village, "A", household=household)
    b = person(village, "B", household=household)
    records([a.id], commune)

    first = engine.evaluate_commune(commune.id, YEAR)
    assert first["citizen"]["eligible"] == 1
    assert not eligibility("household", household.id, "family").eligible  # type: ignore[union-attr]
    assert not eligibility("village", village.id, "village_community").eligible  # type: ignore[union-attr]
    assert eligibility("commune", commune.id, "commune_community").level == 0  # type: ignore[union-attr]

    records([b.id], commune)
    second = engine.evaluate_commune(commune.id, YEAR)

    assert eligibility("household", household.id, "family").eligible  # type: ignore[union-attr]
    assert eligibility("village", village.id, "village_community").eligible  # type: ignore[union-attr]
    assert eligibility("commune", commune.id, "commune_community").level == 1  # type: ignore[union-attr]
    assert {title: s["changed"] for title, s in second.items()} == {
        "citizen": 1,
        "family": 1,
        "clan": 0,
        "village_community": 1,
        "unit": 0,
        "commune_community": 1,
    }


def populate(commune: AdminUnit, persons: int) -> None:
    """A commune with ``persons`` persons in households of three, records, assessments, a clan and an organisation."""
    from lms.registry.models import Clan

    village = make_village(commune, f"P{persons}", "Thôn")
    households = []
    people = []
    for n in range(persons):
        if n % 3 == 0:
            households.append(make_household(village, f"H{n}"))
        people.append(person(village, f"Người {n}", household=households[-1]))
    records([p.id for p in people[::2]], commune)
    for p in people[::3]:
        assess("person", p.id, "c3", 7, commune)
    db.session.add(Clan(commune_id=commune.id, name="Họ Lê", households=households[:2]))
    organisation(commune, "UB", "commune", people[:4])
    assess("household", households[0].id, "a1", 8, commune)
    assess("commune", commune.id, "t1.1", 1, commune)
    db.session.flush()


def test_statement_count_does_not_grow_with_the_population(commune: AdminUnit, count_queries: Any) -> None:
    counts = {}
    for code, persons in (("23293", 3), ("23302", 30)):
        unit = unit_by_code(code)
        populate(unit, persons)
        with count_queries() as first:
            summary = engine.evaluate_commune(unit.id, YEAR)
        assert summary["citizen"]["subjects"] == persons
        with count_queries() as second:
            again = engine.evaluate_commune(unit.id, YEAR)
        assert all(s["changed"] == 0 for s in again.values())
        writes = [s for s in second.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
        assert [s for s in writes if "tmp_title_" not in s] == []
        counts[persons] = (first.count, second.count)
    assert counts[3] == counts[30]
    # The metrics of the year's records (create, fill, drop a temporary table); the active criteria sets (one
    # statement for all titles); per title: the wide statement (joined to the stored rows, it also counts the
    # subjects and flags the frozen ones) and the assessments (the unit title has two sets: one more wide statement
    # and assessments read); the rows of subjects gone are looked for only when the commune holds more rows than its
    # current subjects have there. A first run adds, per title, the look-up of its breakdowns by digest, the insert
    # of the new ones and the insert of the rows — on PostgreSQL a COPY, which the DBAPI cursor sends outside
    # SQLAlchemy's statement events, so not counted here. A re-run with nothing changed needs no breakdown at all.
    # Circular 24's upgrade rule (Art. 5.3) reads the units' earlier recognitions: one more for the unit title.
    # title_person_metric is brought up to date from the temporary table: an upsert of the values that differ and
    # a read of the values no longer backed (deleted only if there are any; ADR 29, 40), writing nothing on a
    # re-run — that read only when the year held values in the grouped persons' id range before the upsert (one
    # look); on a commune's first evaluation there were none: no read, but the residents' values go in by a plain
    # INSERT of their own before the upsert of the others'. PostgreSQL first sets work_mem for the transaction (SET
    # LOCAL through set_config). The
    # shares kept counted (ADR 29: the village's of residents who learned and of learning families; the commune's
    # share of citizens counts recognitions, over its members every time, ADR 51) are counted in one statement, and
    # the stored counts read once to write only what changed: on a first run, one insert. One look first tells which
    # titles have subjects or rows here and whether the commune has persons (here every title has, and it has).
    # The members' results the shares count are copied once per member type and title into a temporary table
    # (create, the citizens' and the families' copies, drop), not probed member by member; PostgreSQL analyses each
    # copy once loaded (a temporary table has no statistics otherwise).
    postgresql = db.engine.dialect.name == "postgresql"
    reads = 3 + 1 + 6 * 2 + 2 + 1 + 1 + 2 + 1 + 1 + postgresql + 4 + 2 * postgresql
    writes = 2 if postgresql else 3
    assert counts[3] == (reads + 6 * writes + 2, reads + 1)


def test_a_rerun_brings_only_the_changed_subjects_into_python(commune: AdminUnit, monkeypatch: Any) -> None:
    """Each subject's inputs are digested in SQL and compared with its stored row there: with nothing changed, each
    wide statement returns only its first row (which carries the counts); one changed person comes back alone."""
    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    people = [person(village, f"Người {n}") for n in range(12)]
    records([p.id for p in people[::2]], commune)
    engine.evaluate_commune(commune.id, YEAR)
    built: list[Any] = []
    returned: list[list[int]] = []
    real_changed, real_drop = engine._changed, engine._Metrics.drop

    def spy(*args: Any, **kwargs: Any) -> Any:
        stmt, width = real_changed(*args, **kwargs)
        built.append(stmt)
        return stmt, width

    def drop(metrics: Any) -> None:
        # Before the temporary metrics table goes: what each statement returned, on the data the engine saw.
        returned.extend([row.subject_id for row in db.session.execute(stmt) if not row._frozen] for stmt in built)
        built.clear()
        real_drop(metrics)

    monkeypatch.setattr(engine, "_changed", spy)
    monkeypatch.setattr(engine._Metrics, "drop", drop)

    def fetched() -> list[list[int]]:
        found = list(returned)
        returned.clear()
        return found

    summary = engine.evaluate_commune(commune.id, YEAR)
    assert summary["citizen"] == {"subjects": 12, "eligible": 6, "changed": 0}
    assert all(len(rows) <= 1 for rows in fetched())  # the first row only: unchanged, skipped in Python
    records([people[1].id], commune)
    summary = engine.evaluate_commune(commune.id, YEAR)
    assert summary["citizen"] == {"subjects": 12, "eligible": 7, "changed": 1}
    assert eligibility("person", people[1].id, "citizen").eligible  # type: ignore[union-attr]
    # Executed again after the evaluation wrote the person's row: at most the first row again.
    assert all(len(rows) <= 1 for rows in fetched())


def test_the_full_evaluation_puts_the_stored_metrics_right(commune: AdminUnit) -> None:
    """title_person_metric changed behind the writers' back (a value altered, a row of a person without records):
    the full evaluation, which groups the records itself, writes the one and deletes the other, nothing else."""
    from lms.titles.models import PersonMetric

    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    people = [person(village, f"Người {n}") for n in range(4)]
    records([people[0].id, people[1].id], commune)
    engine.evaluate_commune(commune.id, YEAR)

    def stored() -> set[tuple[int, str, Decimal]]:
        rows = select(PersonMetric.person_id, PersonMetric.metric, PersonMetric.value).where(PersonMetric.year == YEAR)
        return {(p, m, Decimal(v)) for p, m, v in db.session.execute(rows).tuples()}

    honest = stored()
    assert {p for p, _, _ in honest} == {people[0].id, people[1].id}
    key = next(m for p, m, _ in honest if p == people[0].id)
    db.session.execute(
        PersonMetric.__table__.update()
        .where(PersonMetric.person_id == people[0].id, PersonMetric.metric == key)
        .values(value=Decimal(99))
    )
    db.session.execute(insert(PersonMetric).values(person_id=people[2].id, year=YEAR, metric=key, value=Decimal(3)))
    db.session.execute(insert(PersonMetric).values(person_id=people[1].id, year=YEAR, metric="gone", value=Decimal(1)))
    db.session.expire_all()
    engine.evaluate_commune(commune.id, YEAR)
    assert stored() == honest


# SIMPLE_CITIZEN and a second metric (modules), zero for someone with activities only.
ZERO_CITIZEN = (
    SIMPLE_CITIZEN
    + """[[indicators]]
code = "c2"
name = "Mô-đun tin học"
source_ref = "test"
kind = "metric"
metric = {measure = "modules", kinds = ["it_module"]}
max_points = 10
thresholds = [[1, 10]]
"""
)


def test_zero_metric_values_are_not_stored(commune: AdminUnit) -> None:
    """A full evaluation adds no title_person_metric row for a zero (most values of a first evaluation): every
    reader takes a missing value for 0, so the results, the digests and a re-run are those of a stored zero — one
    the writers stored stays and changes nothing."""
    from lms.titles.models import PersonMetric

    load_set(ZERO_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    people = [person(village, f"Người {n}") for n in range(3)]
    records([people[0].id, people[1].id], commune)  # class completions: activities 1, IT modules 0
    engine.evaluate_commune(commune.id, YEAR)
    activities = engine.metric_key(criteria.Metric("activities"))
    modules = engine.metric_key(criteria.Metric("modules", kinds=("it_module",)))
    stored = select(PersonMetric.person_id, PersonMetric.metric, PersonMetric.value).where(
        PersonMetric.year == YEAR, PersonMetric.metric.in_([activities, modules])
    )

    def values() -> set[tuple[int, str, Decimal]]:
        return {(p, m, Decimal(v)) for p, m, v in db.session.execute(stored).tuples()}

    assert values() == {(people[0].id, activities, Decimal(1)), (people[1].id, activities, Decimal(1))}
    row = eligibility("person", people[0].id, "citizen")
    assert row is not None
    assert item(row, "c1")["value"] == 1
    assert item(row, "c2")["value"] == 0
    digest = row.inputs_digest
    # A zero as the writers store it: read alike, the same digest, nothing rewritten, the row kept.
    db.session.execute(insert(PersonMetric).values(person_id=people[0].id, year=YEAR, metric=modules, value=0))
    again = engine.evaluate_commune(commune.id, YEAR)
    assert all(s["changed"] == 0 for s in again.values())
    assert (people[0].id, modules, Decimal(0)) in values()
    row = eligibility("person", people[0].id, "citizen")
    assert row is not None
    assert row.inputs_digest == digest


def test_scored_combinations_are_kept_from_one_commune_to_the_next(commune: AdminUnit, monkeypatch: Any) -> None:
    """Scoring is a pure function of the set, the area class and the inputs: a process scores each combination once,
    and the next commune with the same combinations scores none — with the same results and breakdowns."""
    load_set(SIMPLE_CITIZEN)
    scored: list[int] = []
    real = engine._Scorer.score_content

    def counting(self: Any, row: Any, plan: Any, assessed: Any) -> Any:
        if self.d.subject == "person":
            scored.append(row.subject_id)
        return real(self, row, plan, assessed)

    monkeypatch.setattr(engine._Scorer, "score_content", counting)
    other = unit_by_code("23302")
    assert other.area_class == commune.area_class
    people = {}
    for unit in (commune, other):
        village = make_village(unit, f"T{unit.id}", "Thôn 1")
        people[unit.id] = [person(village, f"Người {n}") for n in range(4)]
        records([p.id for p in people[unit.id][::2]], unit)
    engine.evaluate_commune(commune.id, YEAR)
    assert len(scored) == 2  # with one record, without any
    engine.evaluate_commune(other.id, YEAR)
    assert len(scored) == 2
    for n in range(4):
        mine = eligibility("person", people[commune.id][n].id, "citizen")
        theirs = eligibility("person", people[other.id][n].id, "citizen")
        assert mine is not None
        assert theirs is not None
        assert (theirs.eligible, theirs.score, theirs.breakdown) == (mine.eligible, mine.score, mine.breakdown)
        assert theirs.breakdown_id == mine.breakdown_id


def test_subjects_whose_assessments_differ_only_in_their_ids_are_scored_once_and_share_a_breakdown(
    commune: AdminUnit, monkeypatch: Any
) -> None:
    """Assessed subjects with the same values share one scoring and one stored breakdown (it names no assessment by
    id, ADR 40); what reads a subject's breakdown for a person — the explanation, the API, a proposal's copy — names
    the subject's own assessments. A reconciliation, which scores every subject afresh, finds nothing to repair."""
    scored: list[int] = []
    real = engine._Scorer.score_content

    def counting(self: Any, row: Any, plan: Any, assessed: Any) -> Any:
        if self.d.subject == "person":
            scored.append(row.subject_id)
        return real(self, row, plan, assessed)

    monkeypatch.setattr(engine._Scorer, "score_content", counting)
    village = make_village(commune, "T01", "Thôn 1")
    alike = [person(village, f"Người {n}") for n in range(3)]
    other = person(village, "Người khác")
    for p in alike:
        assess_citizen(p, commune, [8] * 10)
    assess_citizen(other, commune, [8] * 9 + [7])
    engine.evaluate_commune(commune.id, YEAR)

    assert len(scored) == 2  # the three alike once, the other once
    rows = [eligibility("person", p.id, "citizen") for p in alike]
    assert all(row is not None and row.eligible for row in rows)
    assert len({row.breakdown_id for row in rows if row is not None}) == 1  # one breakdown for the three
    stored = rows[0].breakdown if rows[0] is not None else []
    assert [i for i in stored if i["source"]["kind"] == "assessment" and "id" in i["source"]] == []

    def own(p: Person) -> dict[str, int]:
        return {a.indicator: a.id for a in db.session.scalars(select(Assessment).where(Assessment.subject_id == p.id))}

    for p in (*alike, other):
        row = eligibility("person", p.id, "citizen")
        assert row is not None
        with current_app.test_request_context():
            explained = services.explain(row, "vi")
        named = {x.code: x.item["source"]["id"] for x in explained if x.item["source"]["kind"] == "assessment"}
        assert len(named) >= 5  # every assessed indicator of the shipped set
        assert named == {code: own(p)[code] for code in named}

    leader = make_user(Role.COMMUNE_LEADER, commune, "alike@example.vn")
    ids = recognition.propose(title="citizen", year=YEAR, subject_ids=[p.id for p in alike[:2]], user=leader)
    for copy in db.session.scalars(select(Recognition).where(Recognition.id.in_(ids))):
        mine = next(p for p in alike if p.id == copy.subject_id)
        named = {i["indicator"]: i["source"]["id"] for i in copy.breakdown if i["source"]["kind"] == "assessment"}
        assert len(named) >= 5
        assert named == {code: own(mine)[code] for code in named}

    repairs: list[dict[str, Any]] = []
    engine.evaluate_commune(commune.id, YEAR, repairs=repairs)
    assert repairs == []


def test_second_run_changes_nothing(commune: AdminUnit) -> None:
    populate(commune, 9)
    engine.evaluate_commune(commune.id, YEAR)
    before = {
        (r.subject_type, r.subject_id, r.title): (r.computed_at, r.breakdown, r.inputs_digest)
        for r in db.session.scalars(select(Eligibility))
    }
    summary = engine.evaluate_commune(commune.id, YEAR)
    db.session.expire_all()
    after = {
        (r.subject_type, r.subject_id, r.title): (r.computed_at, r.breakdown, r.inputs_digest)
        for r in db.session.scalars(select(Eligibility))
    }
    assert before == after
    assert len(before) > 10
    assert all(s["changed"] == 0 for s in summary.values())


def test_a_recognised_year_is_frozen(commune: AdminUnit) -> None:
    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    p = person(village)
    records([p.id], commune)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("person", p.id, "citizen")
    assert row is not None
    assert row.eligible
    kept = (row.id, row.computed_at, row.breakdown, row.inputs_digest)
    db.session.add(
        Recognition(
            subject_type="person",
            subject_id=p.id,
            title="citizen",
            year=YEAR,
            commune_id=commune.id,
            status=RecognitionStatus.RECOGNISED.value,
        )
    )
    db.session.execute(LearningRecord.__table__.delete())  # the inputs change after the decision

    summary = engine.evaluate_commune(commune.id, YEAR)

    row = eligibility("person", p.id, "citizen")
    assert row is not None
    assert row.eligible
    assert (row.id, row.computed_at, row.breakdown, row.inputs_digest) == kept
    assert summary["citizen"] == {"subjects": 1, "eligible": 1, "changed": 0}


def test_subjects_that_left_lose_their_rows(commune: AdminUnit) -> None:
    village = make_village(commune, "T01", "Thôn 1")
    p = person(village)
    engine.evaluate_commune(commune.id, YEAR)
    assert eligibility("person", p.id, "citizen") is not None
    other = unit_by_code("23302")
    p.unit_id = other.id
    db.session.flush()
    summary = engine.evaluate_commune(commune.id, YEAR)
    assert eligibility("person", p.id, "citizen") is None
    assert summary["citizen"]["changed"] == 1


def test_a_person_who_moved_takes_their_row_along(commune: AdminUnit) -> None:
    """The row filed under the old commune is found by the new commune's run and updated, not duplicated."""
    village = make_village(commune, "T01", "Thôn 1")
    p = person(village)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("person", p.id, "citizen")
    assert row is not None
    first_id = row.id
    other = unit_by_code("23302")
    p.unit_id = make_village(other, "T09", "Thôn 9").id
    db.session.flush()
    records([p.id], other)

    summary = engine.evaluate_commune(other.id, YEAR)

    row = eligibility("person", p.id, "citizen")
    assert row is not None
    assert (row.id, row.commune_id) == (first_id, other.id)
    assert item(row, "c1")["value"] == 1
    assert summary["citizen"] == {"subjects": 1, "eligible": 0, "changed": 1}


def test_breakdowns_are_stored_once_and_shared(commune: AdminUnit) -> None:
    """Persons with the same results share one breakdown row, in this commune and the next; a re-run adds none."""
    ids = bulk_persons(make_village(commune, "T01", "Thôn 1"), 6)
    records(ids[:2], commune)
    engine.evaluate_commune(commune.id, YEAR)
    rows = [eligibility("person", pid, "citizen") for pid in ids]
    assert all(r is not None for r in rows)
    shared = {r.breakdown_id for r in rows if r is not None}
    assert len(shared) == 2  # one class, or nothing
    assert [item(r, "c1")["value"] for r in rows if r is not None] == [1, 1, 0, 0, 0, 0]
    stored = db.session.scalar(select(func.count()).select_from(EligibilityBreakdown))

    engine.evaluate_commune(commune.id, YEAR)
    assert db.session.scalar(select(func.count()).select_from(EligibilityBreakdown)) == stored

    other = unit_by_code("23302")
    more = bulk_persons(make_village(other, "T09", "Thôn 9"), 3)
    engine.evaluate_commune(other.id, YEAR)
    theirs = {r.breakdown_id for r in (eligibility("person", pid, "citizen") for pid in more) if r is not None}
    assert len(theirs) == 1
    assert theirs < shared  # the "nothing" breakdown, reused


RECOGNISED_OFFICIALS = """
code = "test-unit-officials"
title = "unit"
subject = "organisation"
name = "Đơn vị (thử)"
source = "test"
status = "provisional"
validity_years = 1
scoring = "points"
pass_total = 10
managing_levels = ["commune"]
[[indicators]]
code = "u1"
name = "Cán bộ được công nhận Công dân học tập"
source_ref = "test"
kind = "share"
share = {of = "persons", title = "citizen", count = "recognised", occupations = ["official"]}
max_points = 10
thresholds = [[50, 10]]
"""


def test_a_share_can_count_recognised_members_of_some_occupations(commune: AdminUnit) -> None:
    load_set(SIMPLE_CITIZEN)
    load_set(RECOGNISED_OFFICIALS)  # replaces 448 part D for commune-managed organisations
    village = make_village(commune, "T01", "Thôn 1")
    officials = [person(village, f"Cán bộ {n}") for n in range(4)]
    worker = person(village, "Công nhân")
    for p in officials:
        p.occupation_group = "official"
    worker.occupation_group = "worker"
    records([p.id for p in [*officials, worker]], commune)  # all five eligible this year
    org = organisation(commune, "UB", "commune", [*officials, worker])
    for p in [officials[0], worker]:
        db.session.add(
            Recognition(
                subject_type="person",
                subject_id=p.id,
                title="citizen",
                year=YEAR,
                commune_id=commune.id,
                status=RecognitionStatus.RECOGNISED.value,
            )
        )
    db.session.flush()

    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.criteria_set.code == "test-unit-officials"
    u1 = item(row, "u1")
    assert (u1["source"]["numerator"], u1["source"]["denominator"]) == (1, 4)  # the worker is not counted
    assert not row.eligible

    db.session.add(
        Recognition(
            subject_type="person",
            subject_id=officials[1].id,
            title="citizen",
            year=YEAR,
            commune_id=commune.id,
            status=RecognitionStatus.RECOGNISED.value,
        )
    )
    db.session.flush()
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.eligible
    assert item(row, "u1")["value"] == 50


def test_a_metric_row_written_meanwhile_does_not_fail_a_first_evaluation(commune: AdminUnit) -> None:
    """A commune's first evaluation of the year puts its residents' metric values in by a plain INSERT. A row that
    appears between its look and that INSERT (a writer that holds another commune's lock: a person moving in) must
    not fail the commune: the INSERT's savepoint is rolled back and every value goes by the upsert, to the values
    the records give."""
    from sqlalchemy import event

    from lms.titles.models import PersonMetric

    load_set(ZERO_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    people = [person(village, f"Người {n}") for n in range(3)]
    records([people[0].id, people[1].id], commune)
    db.session.execute(delete(PersonMetric).where(PersonMetric.year == YEAR))  # records written behind the writers
    activities = engine.metric_key(criteria.Metric("activities"))
    connection = db.session.connection()
    written: list[str] = []

    def meanwhile(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        plain = "INSERT INTO TITLE_PERSON_METRIC" in statement.upper()
        if plain and "ON CONFLICT" not in statement.upper() and not written:
            written.append(statement)  # as another transaction would have, just before this INSERT
            marks = "%s, %s, %s" if conn.dialect.name == "postgresql" else "?, ?, ?"
            sql = f"INSERT INTO title_person_metric (person_id, year, metric, value, counted) VALUES ({marks}, 7, NULL)"  # noqa: S608
            cursor.execute(sql, (people[0].id, YEAR, activities))

    event.listen(connection, "before_cursor_execute", meanwhile)
    try:
        engine.evaluate_commune(commune.id, YEAR)
    finally:
        event.remove(connection, "before_cursor_execute", meanwhile)
    assert written, "the first evaluation took the plain INSERT"
    stored = db.session.execute(
        select(PersonMetric.person_id, PersonMetric.value).where(
            PersonMetric.year == YEAR, PersonMetric.metric == activities
        )
    ).tuples()
    assert {(p, Decimal(v)) for p, v in stored} == {(people[0].id, Decimal(1)), (people[1].id, Decimal(1))}


@pytest.mark.postgresql  # the plan is PostgreSQL's
def test_member_shares_probe_the_unique_key_even_when_the_table_was_analysed_empty(commune: AdminUnit) -> None:
    """A share of members' results (households of a village who are Learning Families…) probes each member's row.
    With ``eligibility`` analysed while its pages held only deleted rows, PostgreSQL believed it empty and chose the
    village index on (year, title) for the probe — a walk of the whole index per member, more than ten minutes for
    the largest generated commune. The probe must use the unique key (subject first) whatever the statistics."""
    populate(commune, 40)
    engine.evaluate_commune(commune.id, YEAR)
    db.session.execute(  # pages of rows, then deleted: a seq scan is no longer the cheap way to probe
        sql(
            "INSERT INTO eligibility (subject_type, subject_id, title, year, commune_id, criteria_set_id, eligible,"
            " missing, computed_at, inputs_digest, applicable)"
            " SELECT 'person', n, 'citizen', 1999, :commune, 0, false, '', now(), '', true"
            " FROM generate_series(1, 20000) AS n"
        ),
        {"commune": commune.id},
    )
    db.session.execute(delete(Eligibility))
    db.session.execute(sql("ANALYZE eligibility"))  # live rows 0, pages > 0: the state of the ten minutes
    assert db.session.scalar(sql("SELECT reltuples FROM pg_class WHERE relname = 'eligibility'")) == 0
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "me1." in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
            cursor.execute("EXPLAIN " + statement, parameters)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))

    event.listen(db.engine, "before_cursor_execute", explain)
    try:
        engine.evaluate_commune(commune.id, YEAR)
    finally:
        event.remove(db.engine, "before_cursor_execute", explain)
    probes = [line for plan in plans for line in plan.splitlines() if " on eligibility me" in line]
    assert probes, plans  # the village, commune and organisation shares probe members' rows
    assert all("uq_eligibility_subject_type_subject_id_title_year" in line for line in probes), probes


def test_the_evaluations_are_updated_in_id_order(commune: AdminUnit) -> None:
    """The engine writes a title's changed evaluations in id order, the order a proposal's confirmation locks them
    (recognition._evaluations): both take the same rows' locks in the same order, so they wait for each other and
    never deadlock (PostgreSQL 40P01), whatever order the subjects come in."""
    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    people = [person(village, name) for name in ("A", "B", "C")]
    engine.evaluate_commune(commune.id, YEAR)
    rows = {
        sid: eid
        for eid, sid in db.session.execute(
            select(Eligibility.id, Eligibility.subject_id).where(Eligibility.title == "citizen")
        )
    }
    assert len(rows) == 3
    # The ids in the reverse of the subjects' order, as rows written at different times can be.
    top = db.session.scalar(select(func.max(Eligibility.id)))
    ids = [rows[p.id] for p in people]
    for n, eid in enumerate(ids):
        db.session.execute(sql("UPDATE eligibility SET id = :new WHERE id = :old"), {"new": top + 100 - n, "old": eid})
    db.session.flush()
    records([p.id for p in people], commune)
    written: list[list[int]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if executemany and statement.lstrip().upper().startswith("UPDATE ELIGIBILITY"):
            written.append([p[-1] if isinstance(p, (tuple, list)) else p["_id"] for p in parameters])

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        engine.evaluate_commune(commune.id, YEAR)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert written, "no evaluation was updated"
    assert all(len(ids) >= 2 and ids == sorted(ids) for ids in written), written
