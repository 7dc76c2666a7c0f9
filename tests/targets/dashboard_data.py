"""Hand-made data for the dashboard tests: a plan with two indicators, a province of its own with N communes,
stored indicator values and eligibility rows written directly (the dashboard reads stored rows only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lms.extensions import db
from lms.registry import services as registry
from lms.registry.models import AdminUnit, AreaClass, Household, Person, UnitLevel
from lms.targets.models import Basis, Indicator, IndicatorValue, PeriodKind, Plan, Structure, Target
from lms.titles.models import CriteriaSet, Eligibility, Scoring, SubjectType, Title


def make_unit(parent: AdminUnit, code: str, name: str, level: str, area_class: str = AreaClass.STANDARD) -> AdminUnit:
    unit = AdminUnit(
        code=code, name=name, kind="", level=level, parent=parent, path=f"tmp:{code}:{level}", area_class=area_class
    )
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path}{unit.id}/"
    db.session.flush()
    return unit


def make_plan(unit: AdminUnit, code: str = "test-plan") -> Plan:
    """Two indicators: households recognised (80 % by 2025, 85 % by 2030; 60 % by 2025 in especially difficult
    communes) and citizens (40 % / 60 %)."""
    plan = Plan(
        code=code,
        version=1,
        name="Kế hoạch thử nghiệm",
        source="Kế hoạch 1/KH-TEST",
        unit_id=unit.id,
        definition={},
        content_sha256="0" * 64,
    )
    db.session.add(plan)
    db.session.flush()
    family = Indicator(
        plan_id=plan.id,
        code="GD",
        position=1,
        name="Hộ gia đình đạt danh hiệu Gia đình học tập",
        name_en="Learning families",
        numerator={},
        denominator={},
        denominator_text="Tổng số hộ gia đình",
    )
    citizen = Indicator(
        plan_id=plan.id,
        code="CD",
        position=2,
        name="Người lao động đạt Công dân học tập",
        name_en="Learning citizens",
        numerator={},
        denominator={},
        denominator_text="Người lao động trong gia đình học tập",
    )
    db.session.add_all([family, citizen])
    db.session.flush()
    db.session.add_all(
        [
            Target(indicator_id=family.id, year=2025, area_class=None, share=Decimal(80)),
            Target(indicator_id=family.id, year=2030, area_class=None, share=Decimal(85)),
            Target(
                indicator_id=family.id, year=2025, area_class=AreaClass.ESPECIALLY_DIFFICULT.value, share=Decimal(60)
            ),
            Target(indicator_id=citizen.id, year=2025, area_class=None, share=Decimal(40)),
            Target(indicator_id=citizen.id, year=2030, area_class=None, share=Decimal(60)),
        ]
    )
    db.session.flush()
    return plan


def value(
    indicator: Indicator,
    unit: AdminUnit,
    numerator: float,
    denominator: float,
    *,
    period_end: date = date(2025, 12, 31),
    kind: str = PeriodKind.YEAR,
    structure: str = Structure.CURRENT,
    basis: str = Basis.OFFICIAL,
) -> IndicatorValue:
    row = IndicatorValue(
        indicator_id=indicator.id,
        unit_id=unit.id,
        period_end=period_end,
        period_kind=kind,
        structure=structure,
        basis=basis,
        numerator=Decimal(str(numerator)),
        denominator=Decimal(str(denominator)),
    )
    db.session.add(row)
    return row


# The shipped criteria of the titles the drill-down lists: the page names their indicators.
SHIPPED_CRITERIA = {Title.FAMILY: "qd-448-2015-a-family.toml", Title.CITIZEN: "qd-324-2023-citizen.toml"}


def criteria_set(title: str = Title.FAMILY, subject: str = SubjectType.HOUSEHOLD) -> CriteriaSet:
    from lms.titles import criteria

    if title in SHIPPED_CRITERIA:
        return criteria.load_criteria(criteria.SHIPPED_DIR / SHIPPED_CRITERIA[title])
    existing = db.session.scalar(db.select(CriteriaSet).where(CriteriaSet.code == f"test-{title}"))
    if existing is not None:
        return existing
    row = CriteriaSet(
        code=f"test-{title}",
        version=1,
        title=title,
        subject_type=subject,
        scoring=Scoring.LEVELS,
        status="official",
        validity_years=1,
        name=f"Tiêu chí thử {title}",
        source="QĐ thử",
        definition={},
        content_sha256="0" * 64,
    )
    db.session.add(row)
    db.session.flush()
    return row


# A breakdown item as the engine writes it (lms/titles/explain.py): indicator a3 lacks one learning activity.
MISSING_ITEM = {
    "indicator": "a3",
    "value": 0,
    "met": False,
    "levels": [],
    "source": {"kind": "records", "measure": "activities"},
    "missing": {"code": "more_activities", "need": 1, "level": 1},
}


def pending_household(village: AdminUnit, commune: AdminUnit, code: str, head: str, year: int = 2025) -> Household:
    """A household with its head, evaluated not yet eligible for Learning Family: indicator A3 missing."""
    household = Household(village_id=village.id, code=code)
    db.session.add(household)
    db.session.flush()
    db.session.add(Person(full_name=head, unit_id=village.id, household_id=household.id, relation_to_head="Chủ hộ"))
    db.session.add(
        Eligibility(
            subject_type=SubjectType.HOUSEHOLD,
            subject_id=household.id,
            title=Title.FAMILY,
            year=year,
            commune_id=commune.id,
            village_id=village.id,
            criteria_set_id=criteria_set().id,
            eligible=False,
            level=0,
            missing="|a3|",
            breakdown=[
                {
                    "indicator": "a1",
                    "value": 1,
                    "met": True,
                    "levels": [1],
                    "source": {"kind": "assessment", "id": 1, "by": "evaluator", "evidence": "ref"},
                    "missing": None,
                },
                MISSING_ITEM,
            ],
        )
    )
    db.session.flush()
    return household


@dataclass
class Province:
    province: AdminUnit
    plan: Plan
    communes: list[AdminUnit] = field(default_factory=list)
    villages: list[AdminUnit] = field(default_factory=list)

    @property
    def family(self) -> Indicator:
        return self.plan.indicators[0]

    @property
    def citizen(self) -> Indicator:
        return self.plan.indicators[1]


def build_province(communes: int, *, households_per_village: int = 2, tag: str = "P") -> Province:
    """A province of ``communes`` communes with one village each, values for two years for every unit, and
    ``households_per_village`` pending households in each village. Commune 1 lags (20 %), the others are at 70 %."""
    province = make_unit(registry.country(), f"T{tag}", f"Tỉnh thử {tag}", UnitLevel.PROVINCE)
    plan = make_plan(province, code=f"plan-{tag}")
    db.session.refresh(plan)
    data = Province(province=province, plan=plan)
    for year in (2024, 2025):
        value(data.family, province, 65 * communes, 100 * communes, period_end=date(year, 12, 31))
        value(data.citizen, province, 30 * communes, 100 * communes, period_end=date(year, 12, 31))
    for index in range(1, communes + 1):
        commune = make_unit(province, f"T{tag}C{index:02d}", f"Xã Thử {tag} {index:02d}", UnitLevel.COMMUNE)
        village = make_unit(commune, f"T{tag}V{index:02d}", f"Thôn Thử {tag} {index:02d}", UnitLevel.VILLAGE)
        data.communes.append(commune)
        data.villages.append(village)
        share = 20 if index == 1 else 70
        for unit in (commune, village):
            value(data.family, unit, share, 100)
            value(data.citizen, unit, 30, 100)
        for number in range(households_per_village):
            pending_household(village, commune, f"{tag}-{index}-{number}", f"Chủ Hộ {tag} {index} {number}")
    db.session.flush()
    return data
