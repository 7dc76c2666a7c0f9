"""Builders for the eligibility and assessment tests: criteria sets, eligibility rows written by hand (known
answers, independent of the engine), and users."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lms.extensions import db
from lms.registry.models import AdminUnit, Person
from lms.titles.models import CriteriaSet, Eligibility

# A points-style citizen set with one computed indicator and three assessed ones of each value scale.
CITIZEN_DEFINITION: dict[str, Any] = {"indicators": [
    {"code": "C1", "name": "Tham gia hoạt động học tập", "name_en": "Takes part in learning", "kind": "metric",
     "max_points": 10},
    {"code": "C_2", "name": "Tự học", "name_en": "Self-learning", "kind": "assessment", "scale": "points",
     "max_points": 10},
    {"code": "C3", "name": "Có minh chứng", "name_en": "With evidence", "kind": "assessment", "scale": "met",
     "requires_evidence": True},
    {"code": "CX2", "name": "Tỉ lệ", "name_en": "Share", "kind": "assessment", "scale": "percent"},
]}


def citizen_criteria(status: str = "official") -> CriteriaSet:
    criteria = CriteriaSet(code="test-citizen", version=1, title="citizen", subject_type="person",
                           scoring="points", status=status, validity_years=1, name="Công dân học tập (thử)",
                           source="Quyết định 324/QĐ-KHVN", definition=CITIZEN_DEFINITION, content_sha256="0" * 64)
    db.session.add(criteria)
    db.session.flush()
    return criteria


def family_criteria() -> CriteriaSet:
    criteria = CriteriaSet(code="test-family", version=1, title="family", subject_type="household",
                           scoring="points", status="provisional", validity_years=1, name="Gia đình học tập (thử)",
                           source="Quyết định 448/QĐ-KHVN", content_sha256="1" * 64,
                           definition={"indicators": [{"code": "F1", "name": "Người lớn học tập",
                                                       "kind": "share", "max_points": 30}]})
    db.session.add(criteria)
    db.session.flush()
    return criteria


def eligibility(person_or_subject: Any, criteria: CriteriaSet, *, eligible: bool, score: int | None = None,
                missing: tuple[str, ...] = (), year: int = 2026, subject_type: str = "person",
                commune: AdminUnit | None = None, village: AdminUnit | None = None,
                breakdown: list[dict[str, Any]] | None = None) -> Eligibility:
    if isinstance(person_or_subject, Person):
        village = village or person_or_subject.unit
        commune = commune or village.parent
    assert commune is not None
    row = Eligibility(subject_type=subject_type, subject_id=person_or_subject.id, title=criteria.title, year=year,
                      commune_id=commune.id, village_id=village.id if village else None, criteria_set_id=criteria.id,
                      eligible=eligible, score=Decimal(score) if score is not None else None,
                      missing="".join(f"|{c}" for c in missing) + ("|" if missing else ""),
                      breakdown=breakdown if breakdown is not None else [
                          {"indicator": c, "value": 0, "points": 0, "source": "learning records",
                           "missing": f"needs {c}"} for c in missing])
    db.session.add(row)
    db.session.flush()
    return row
