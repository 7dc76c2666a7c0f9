"""Demo data for titles (after ``setup-demo``): a year of learning and assessments in the demo communes, so the
eligibility lists, explanations, recognitions and dashboards show a realistic mix instead of zeros.

Deterministic (driven by subject ids, no randomness) and idempotent (learning records by ``source_key``,
assessments by their unique key): running it twice adds nothing. Written with a few bulk statements per commune.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select

from courses.models import LearningKind, LearningRecord
from lms.core.signals import learning_records_changed
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit, Clan, Household, Organisation, Person, UnitLevel, subtree
from lms.registry.services import find_unit
from lms.titles import criteria
from lms.titles.dirty import mark_dirty
from lms.titles.models import Assessment, AssessmentSource, Registration, Title

DEMO_EVIDENCE = "Biên bản bình xét của thôn, năm {year} (dữ liệu mẫu)"


def seed_titles_demo(year: int, commune_codes: tuple[str, ...] | None = None) -> dict[str, int]:
    """Self-study records for about two in three persons; evaluator assessments of every indicator of the active
    criteria sets that takes one (assessed indicators, and computed ones an assessment may stand in for) — mostly
    good, some weak, so some subjects pass and some do not, for stated reasons; and the households registered for
    the Learning Family title. Returns counts of what was added."""
    from lms.registry.demo import DEMO_COMMUNES

    added = {"learning_records": 0, "assessments": 0, "registrations": 0}
    communes = [
        unit for code in (commune_codes or DEMO_COMMUNES) if (unit := find_unit(code, UnitLevel.COMMUNE)) is not None
    ]
    definitions = [criteria.definition_of(row) for title in Title for row in criteria.active_sets(title)]
    for commune in communes:
        subjects = _subjects(commune)
        added["learning_records"] += _self_study(commune, year, subjects["person"])
        added["assessments"] += _assessments(commune, year, subjects, definitions)
        added["registrations"] += _registrations(commune, year, subjects["household"])
    mark_dirty((commune.id, year) for commune in communes)
    return added


def _subjects(commune: AdminUnit) -> dict[str, list[int]]:
    inside = subtree(AdminUnit.path, commune.path)
    return {
        "person": list(
            db.session.scalars(
                select(Person.id).join(AdminUnit, AdminUnit.id == Person.unit_id).where(inside).order_by(Person.id)
            )
        ),
        "household": list(
            db.session.scalars(
                select(Household.id)
                .join(AdminUnit, AdminUnit.id == Household.village_id)
                .where(inside)
                .order_by(Household.id)
            )
        ),
        "clan": list(db.session.scalars(select(Clan.id).where(Clan.commune_id == commune.id).order_by(Clan.id))),
        "village": list(
            db.session.scalars(
                select(AdminUnit.id).where(inside, AdminUnit.level == UnitLevel.VILLAGE).order_by(AdminUnit.id)
            )
        ),
        "organisation": list(
            db.session.scalars(
                select(Organisation.id).where(Organisation.commune_id == commune.id).order_by(Organisation.id)
            )
        ),
        "commune": [commune.id],
    }


def _self_study(commune: AdminUnit, year: int, person_ids: list[int]) -> int:
    """Two in three persons studied on their own (reading at the CLC's bookcase, online courses): 1–4 activities."""
    rows = []
    for person_id in person_ids:
        if person_id % 3 == 0:
            continue
        for n in range(1 + person_id % 4):
            rows.append(
                {
                    "person_id": person_id,
                    "year": year,
                    "kind": LearningKind.SELF_STUDY.value,
                    "category": "other",
                    "module_code": None,
                    "hours": Decimal(4 + 3 * ((person_id + n) % 5)),
                    "completed_on": date(year, 1 + (person_id + 3 * n) % 10, 1 + n * 7),
                    "commune_id": commune.id,
                    "source_key": f"demo:self-study:{year}:{person_id}:{n}",
                    "class_id": None,
                    "evidence": "demo",
                    "created_at": utcnow(),
                }
            )
    have = set(
        db.session.scalars(
            select(LearningRecord.source_key).where(
                LearningRecord.source_key.like(f"demo:self-study:{year}:%"), LearningRecord.commune_id == commune.id
            )
        )
    )
    new = [row for row in rows if row["source_key"] not in have]
    if new:
        db.session.execute(insert(LearningRecord), new)
        learning_records_changed.send(None, pairs={(commune.id, year)})
    return len(new)


def _value(indicator: criteria.Indicator, subject_id: int) -> Decimal:
    """Six in ten subjects at the top, two good enough, two weak (below the minimum: not eligible, and why)."""
    band = (subject_id * 7 + sum(map(ord, indicator.code))) % 10
    if indicator.scale == "met":
        return Decimal(1 if band < 8 else 0)
    if indicator.scale == "percent":
        return Decimal((97, 92, 60)[0 if band < 6 else 1 if band < 8 else 2])
    top = Decimal(indicator.max_points or 10)
    return (
        top
        if band < 6
        else (top * Decimal("0.8")).quantize(Decimal(1))
        if band < 8
        else (top * Decimal("0.4")).quantize(Decimal(1))
    )


def _assessments(
    commune: AdminUnit, year: int, subjects: dict[str, list[int]], definitions: list[criteria.CriteriaDefinition]
) -> int:
    rows: list[dict[str, Any]] = []
    for definition in definitions:
        for indicator in definition.indicators:
            if not indicator.reads_assessment:
                continue
            for subject_id in subjects.get(definition.subject, []):
                rows.append(
                    {
                        "subject_type": definition.subject,
                        "subject_id": subject_id,
                        "year": year,
                        "indicator": indicator.code,
                        "value": _value(indicator, subject_id),
                        "source": AssessmentSource.EVALUATOR.value,
                        "evidence_ref": DEMO_EVIDENCE.format(year=year),
                        "note": "",
                        "commune_id": commune.id,
                        "assessed_at": utcnow(),
                    }
                )
    # One subject type may be covered by two sets (the unit title): the same indicator code once.
    unique = list({(r["subject_type"], r["subject_id"], r["indicator"]): r for r in rows}.values())
    have = set(
        db.session.execute(
            select(Assessment.subject_type, Assessment.subject_id, Assessment.indicator).where(
                Assessment.commune_id == commune.id, Assessment.year == year
            )
        ).tuples()
    )
    new = [r for r in unique if (r["subject_type"], r["subject_id"], r["indicator"]) not in have]
    if new:
        db.session.execute(insert(Assessment), new)
    return len(new)


def _registrations(commune: AdminUnit, year: int, household_ids: list[int]) -> int:
    have = set(
        db.session.scalars(
            select(Registration.subject_id).where(
                Registration.subject_type == "household",
                Registration.title == Title.FAMILY,
                Registration.year == year,
                Registration.commune_id == commune.id,
            )
        )
    )
    new = [
        {
            "subject_type": "household",
            "subject_id": h,
            "title": Title.FAMILY.value,
            "year": year,
            "commune_id": commune.id,
            "registered_on": date(year, 1, 15),
        }
        for h in household_ids
        if h not in have
    ]
    if new:
        db.session.execute(insert(Registration), new)
    return len(new)
