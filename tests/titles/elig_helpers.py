"""Builders for the eligibility and assessment tests: criteria sets, eligibility rows written by hand (known
answers, independent of the engine), and users."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lms.extensions import db
from lms.registry.models import AdminUnit, Person
from lms.titles import criteria
from lms.titles.models import CriteriaSet, Eligibility

# A points-style citizen set: one computed indicator and one assessed indicator of each value scale.
CITIZEN_TOML = """
code = "test-citizen"
title = "citizen"
subject = "person"
name = "Công dân học tập (thử)"
name_en = "Learning citizen (test)"
source = "Quyết định 324/QĐ-KHVN"
status = "{status}"
validity_years = 1
scoring = "points"
pass_total = 20

[[indicators]]
code = "C1"
name = "Tham gia hoạt động học tập"
name_en = "Takes part in learning"
source_ref = "-"
kind = "metric"
metric = {{measure = "activities"}}
max_points = 10
thresholds = [[1, 5], [2, 10]]

[[indicators]]
code = "C_2"
name = "Tự học"
name_en = "Self-learning"
source_ref = "-"
kind = "assessment"
scale = "points"
max_points = 10

[[indicators]]
code = "C3"
name = "Có minh chứng"
name_en = "With evidence"
source_ref = "-"
kind = "assessment"
scale = "met"
requires_evidence = true
max_points = 10

[[indicators]]
code = "CX2"
name = "Tỉ lệ"
name_en = "Share"
source_ref = "-"
kind = "assessment"
scale = "percent"
max_points = 10
thresholds = [[50, 5], [90, 10]]
"""

FAMILY_TOML = """
code = "test-family"
title = "family"
subject = "household"
name = "Gia đình học tập (thử)"
source = "Quyết định 448/QĐ-KHVN"
status = "provisional"
validity_years = 1
scoring = "points"
pass_total = 20

[[indicators]]
code = "F1"
name = "Người lớn học tập"
source_ref = "-"
kind = "share"
share = {of = "persons", title = "citizen", count = "eligible"}
max_points = 30
thresholds = [[50, 15], [100, 30]]
"""


def citizen_criteria(status: str = "official") -> CriteriaSet:
    return criteria.load_criteria(CITIZEN_TOML.format(status=status).encode(), filename="test-citizen.toml")


def family_criteria() -> CriteriaSet:
    return criteria.load_criteria(FAMILY_TOML.encode(), filename="test-family.toml")


def eligibility(
    person_or_subject: Any,
    criteria: CriteriaSet,
    *,
    eligible: bool,
    score: int | None = None,
    missing: tuple[str, ...] = (),
    year: int = 2026,
    subject_type: str = "person",
    commune: AdminUnit | None = None,
    village: AdminUnit | None = None,
    breakdown: list[dict[str, Any]] | None = None,
) -> Eligibility:
    if isinstance(person_or_subject, Person):
        village = village or person_or_subject.unit
        commune = commune or village.parent
    assert commune is not None
    row = Eligibility(
        subject_type=subject_type,
        subject_id=person_or_subject.id,
        title=criteria.title,
        year=year,
        commune_id=commune.id,
        village_id=village.id if village else None,
        criteria_set_id=criteria.id,
        eligible=eligible,
        score=Decimal(score) if score is not None else None,
        missing="".join(f"|{c}" for c in missing) + ("|" if missing else ""),
        breakdown=breakdown
        if breakdown is not None
        else [
            {
                "indicator": c,
                "value": 0,
                "points": 0,
                "max": 10,
                "source": {"kind": "records", "measure": "activities"},
                "missing": {"code": "more_activities", "need": 1, "points": 5},
            }
            for c in missing
        ],
    )
    db.session.add(row)
    db.session.flush()
    return row
