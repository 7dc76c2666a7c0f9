"""Builders for the targets tests: a hand-made hierarchy, plans from text, titles recognised or eligible."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from lms.extensions import db
from lms.registry.models import AdminUnit, Household, Person, UnitLineage
from lms.registry.services import country
from lms.targets import compute
from lms.targets.models import IndicatorValue, Plan
from lms.targets.plans import load_plan
from lms.titles.models import CriteriaSet, Eligibility, Recognition
from tests.conftest import make_household, make_village

REFORM = date(2025, 7, 1)
ENDED = date(2025, 6, 30)
TODAY = date(2026, 6, 15)  # the recomputations of the tests run "on" this day: June 2026 is the current month


def make_unit(
    parent: AdminUnit, code: str, name: str, level: str, *, old: bool = False, area_class: str = "standard"
) -> AdminUnit:
    unit = AdminUnit(
        code=code,
        name=name,
        kind="",
        level=level,
        parent=parent,
        path=f"tmp:{code}:{old}",
        valid_from=None if old else REFORM,
        valid_to=ENDED if old else None,
        area_class=area_class,
    )
    db.session.add(unit)
    db.session.flush()
    unit.path = f"{parent.path}{unit.id}/"
    db.session.flush()
    return unit


def link(old: AdminUnit, new: AdminUnit, share: str) -> None:
    db.session.add(UnitLineage(old_unit_id=old.id, new_unit_id=new.id, share=Decimal(share), effective_on=REFORM))
    db.session.flush()


def households(village: AdminUnit, count: int, prefix: str = "H", *, members: int = 1) -> list[Household]:
    return [
        make_household(village, f"{prefix}{village.id}-{n}", *[f"Người {n}-{m}" for m in range(members)])
        for n in range(count)
    ]


def plan_text(unit_level: str, unit_code: str, indicators: str, *, code: str = "test-plan", on: str = "") -> str:
    unit_on = f', on = "{on}"' if on else ""
    return (
        f'code = "{code}"\nname = "Kế hoạch thử"\nsource = "Test"\n'
        f'unit = {{ level = "{unit_level}", code = "{unit_code}"{unit_on} }}\n' + indicators
    )


FAMILY = """
[[indicators]]
code = "family"
name = "Gia đình học tập"
denominator_text = "all households"
denominator = { subject = "household" }
numerator = { title = "family" }
targets = [{ year = 2025, share = 80 }, { year = 2025, share = 60, area_class = "especially_difficult" },
           { year = 2030, share = 85 }]
"""

WORKERS = """
[[indicators]]
code = "citizen_workers"
name = "Người lao động trong gia đình học tập là công dân học tập"
denominator_text = "workers in recognised households, clans, villages"
denominator = { subject = "person", occupation_groups = ["worker"], member_of = [
    { subject = "household", title = "family" }, { subject = "clan", title = "clan" },
    { subject = "village", title = "village_community" }] }
numerator = { title = "citizen" }
targets = [{ year = 2025, share = 40 }]
"""


def load_text(text: str) -> Plan:
    return load_plan(text, "test.toml").plan


_CRITERIA: dict[str, int] = {}


def criteria_set_id() -> int:
    existing = db.session.scalar(db.select(CriteriaSet.id).where(CriteriaSet.code == "test-criteria"))
    if existing:
        return existing
    cs = CriteriaSet(
        code="test-criteria",
        version=1,
        title="family",
        subject_type="household",
        scoring="points",
        status="provisional",
        validity_years=1,
        name="test",
        source="test",
        definition={},
        content_sha256="0" * 64,
    )
    db.session.add(cs)
    db.session.flush()
    return cs.id


def recognise(
    subject_type: str,
    subject_id: int,
    title: str,
    year: int,
    commune: AdminUnit,
    status: str = "recognised",
    **extra: Any,
) -> Recognition:
    row = Recognition(
        subject_type=subject_type,
        subject_id=subject_id,
        title=title,
        year=year,
        commune_id=commune.id,
        status=status,
        decision_number="1/QĐ",
        **extra,
    )
    db.session.add(row)
    db.session.flush()
    return row


def make_eligible(subject_type: str, subject_id: int, title: str, year: int, commune: AdminUnit) -> Eligibility:
    row = Eligibility(
        subject_type=subject_type,
        subject_id=subject_id,
        title=title,
        year=year,
        commune_id=commune.id,
        criteria_set_id=criteria_set_id(),
        eligible=True,
    )
    db.session.add(row)
    db.session.flush()
    return row


def value(
    unit: AdminUnit,
    indicator_code: str,
    *,
    year: int,
    structure: str = "current",
    basis: str = "official",
    kind: str = "year",
    period_end: date | None = None,
) -> tuple[Decimal, Decimal]:
    from lms.targets.models import Indicator

    row = db.session.scalar(
        db.select(IndicatorValue)
        .join(Indicator)
        .join(Plan)
        .where(
            Plan.active.is_(True),
            Indicator.code == indicator_code,
            IndicatorValue.unit_id == unit.id,
            IndicatorValue.structure == structure,
            IndicatorValue.basis == basis,
            IndicatorValue.period_kind == kind,
            IndicatorValue.period_end == (period_end or date(year, 12, 31)),
        )
    )
    assert row is not None, f"no {structure}/{basis} value of {indicator_code} for {unit.code} in {year}"
    return row.numerator, row.denominator


def run(communes: list[AdminUnit], year: int) -> None:
    compute.recompute([c.id for c in communes], year, today=TODAY)
    compute.rollup(year)


@pytest.fixture
def vn(app_ctx) -> AdminUnit:
    return country()


@pytest.fixture
def province(vn) -> AdminUnit:
    """A current province with two communes: one standard, one especially difficult."""
    p = make_unit(vn, "TP99", "Tỉnh Thử", "province")
    return p


__all__ = ["Person", "make_village"]
