"""Reading plans and indicator values: the public surface of targets for pages (dashboards, reports) and the API.

Values are stored as a numerator and a denominator per unit, period, structure and basis; the share is computed on
reading, and a denominator of zero is "no data" (``share`` None), never 0 %.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased, selectinload

from lms.core.clock import local_today
from lms.extensions import db
from lms.targets.models import Basis, Indicator, IndicatorValue, PeriodKind, Plan, Structure, Target


def local_year() -> int:
    return local_today().year


def year_end(year: int) -> date:
    return date(year, 12, 31)


def month_end(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def parse_period(text: str) -> tuple[date, PeriodKind]:
    """``"2025"`` → (31 Dec 2025, year); ``"2025-06"`` → (30 Jun 2025, month). Raises ValueError otherwise."""
    text = text.strip()
    if len(text) == 4 and text.isdigit():
        return year_end(int(text)), PeriodKind.YEAR
    if len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        return month_end(date(int(text[:4]), int(text[5:]), 1)), PeriodKind.MONTH
    raise ValueError("a year (2025) or a month (2025-06)")


def active_plans() -> list[Plan]:
    return list(
        db.session.scalars(
            select(Plan)
            .where(Plan.active.is_(True))
            .order_by(Plan.code)
            .options(selectinload(Plan.indicators).selectinload(Indicator.targets))
        )
    )


def plan_by_code(code: str, version: int | None = None) -> Plan | None:
    """The active version of plan ``code`` (or the given version)."""
    stmt = select(Plan).where(Plan.code == code).options(selectinload(Plan.indicators).selectinload(Indicator.targets))
    stmt = stmt.where(Plan.version == version) if version is not None else stmt.where(Plan.active.is_(True))
    return db.session.scalar(stmt)


def targets_for(indicator: Indicator, area_class: str | None) -> list[Target]:
    """The indicator's milestones for a unit of ``area_class``: per year, the area class's own target when the plan
    sets one, else the general one. Aggregates (provinces, the country) pass None and get the general targets."""
    by_year: dict[int, Target] = {}
    for target in indicator.targets:
        if target.area_class is None:
            by_year.setdefault(target.year, target)
    for target in indicator.targets:
        if area_class is not None and target.area_class == area_class:
            by_year[target.year] = target
    return [by_year[y] for y in sorted(by_year)]


def milestone(indicator: Indicator, year: int, area_class: str | None) -> Target | None:
    """The target that applies to ``year``: the first milestone at or after it (None after the last one)."""
    return next((t for t in targets_for(indicator, area_class) if t.year >= year), None)


@dataclass(frozen=True)
class Value:
    """One stored value, ready to show: the share is None when the denominator is 0 ("no data")."""

    indicator_id: int
    unit_id: int
    period_end: date
    period_kind: str
    structure: str
    basis: str
    numerator: Decimal
    denominator: Decimal
    computed_at: Any

    @property
    def share(self) -> Decimal | None:
        if not self.denominator:
            return None
        return self.numerator * 100 / self.denominator


def values_select(
    unit_ids: Iterable[int] | Select | None = None,
    *,
    indicator_ids: Iterable[int] | None = None,
    period_end: date | None = None,
    period_kind: str | None = None,
    structure: str = Structure.CURRENT.value,
    basis: str | None = Basis.OFFICIAL.value,
) -> Select:
    """The SELECT behind :func:`values_for` (callers may scope it, order it or page it)."""
    stmt = select(IndicatorValue).where(IndicatorValue.structure == str(structure))
    if unit_ids is not None:
        stmt = stmt.where(IndicatorValue.unit_id.in_(unit_ids if isinstance(unit_ids, Select) else list(unit_ids)))
    if indicator_ids is not None:
        stmt = stmt.where(IndicatorValue.indicator_id.in_(list(indicator_ids)))
    if period_end is not None:
        stmt = stmt.where(IndicatorValue.period_end == period_end)
    if period_kind is not None:
        stmt = stmt.where(IndicatorValue.period_kind == str(period_kind))
    if basis is not None:
        stmt = stmt.where(IndicatorValue.basis == str(basis))
    return stmt


def values_for(
    unit_ids: Iterable[int] | Select,
    *,
    indicator_ids: Iterable[int] | None = None,
    period_end: date,
    period_kind: str | None = None,
    structure: str = Structure.CURRENT.value,
    basis: str = Basis.OFFICIAL.value,
) -> dict[tuple[int, int], Value]:
    """Stored values keyed by ``(unit_id, indicator_id)`` for one period, structure and basis (one query).

    ``period_end`` is 31 December for a year or the month's last day; when both a year and a month row end on
    31 December, ``period_kind`` chooses (default: the year row wins).
    """
    stmt = values_select(
        unit_ids,
        indicator_ids=indicator_ids,
        period_end=period_end,
        period_kind=period_kind,
        structure=structure,
        basis=basis,
    )
    result: dict[tuple[int, int], Value] = {}
    for row in db.session.scalars(stmt.order_by(IndicatorValue.period_kind.desc())):
        key = (row.unit_id, row.indicator_id)
        if key in result and row.period_kind != PeriodKind.YEAR:
            continue
        result[key] = Value(
            row.indicator_id,
            row.unit_id,
            row.period_end,
            row.period_kind,
            row.structure,
            row.basis,
            row.numerator,
            row.denominator,
            row.computed_at,
        )
    return result


def trend(
    unit_id: int,
    indicator_id: int,
    *,
    year: int,
    structure: str = Structure.CURRENT.value,
    basis: str = Basis.OFFICIAL.value,
) -> list[Value]:
    """The month values of one unit and indicator in ``year``, oldest first (for drawing a trend)."""
    stmt = values_select(
        [unit_id], indicator_ids=[indicator_id], period_kind=PeriodKind.MONTH.value, structure=structure, basis=basis
    ).where(IndicatorValue.period_end >= date(year, 1, 1), IndicatorValue.period_end <= year_end(year))
    return [
        Value(
            r.indicator_id,
            r.unit_id,
            r.period_end,
            r.period_kind,
            r.structure,
            r.basis,
            r.numerator,
            r.denominator,
            r.computed_at,
        )
        for r in db.session.scalars(stmt.order_by(IndicatorValue.period_end))
    ]


def commune_lineage() -> Any:
    """The lineage links between communes (old → new, as ``unit_lineage`` records the 2025 map change)."""
    from lms.registry.models import AdminUnit, UnitLevel, UnitLineage

    old, new = aliased(AdminUnit), aliased(AdminUnit)
    return (
        select(UnitLineage.old_unit_id, UnitLineage.new_unit_id)
        .join(old, old.id == UnitLineage.old_unit_id)
        .join(new, new.id == UnitLineage.new_unit_id)
        .where(old.level == UnitLevel.COMMUNE.value, new.level == UnitLevel.COMMUNE.value)
    )


def commune_lineage_shares() -> Any:
    """:func:`commune_lineage` with each link's share: the one definition of how a current commune's figure is
    carried across the 2025 map change — its own, plus ``share ×`` the figure of every old commune that went into it
    (ADR 12), for any period, before its creation too. The dashboard's values (``compute.commune_values``) and the
    IT-skills page (``courses.it_skills.figures``) both read it."""
    from lms.registry.models import UnitLineage

    return commune_lineage().add_columns(UnitLineage.share)


def plan_communes(plan: Plan, candidates: Iterable[int]) -> list[int]:
    """The candidates the plan applies to: communes under the plan's unit, and their lineage partners (Kon Tum's
    plan reaches the current communes that succeeded Kon Tum's)."""
    from lms.registry.models import AdminUnit, subtree

    root = db.session.get(AdminUnit, plan.unit_id)
    assert root is not None
    candidates = sorted(set(candidates))
    if not candidates:
        return []
    inside = select(AdminUnit.id).where(subtree(AdminUnit.path, root.path))
    links = commune_lineage().subquery()
    stmt = select(AdminUnit.id).where(
        AdminUnit.id.in_(candidates),
        or_(
            subtree(AdminUnit.path, root.path),
            AdminUnit.id.in_(select(links.c.new_unit_id).where(links.c.old_unit_id.in_(inside))),
            AdminUnit.id.in_(select(links.c.old_unit_id).where(links.c.new_unit_id.in_(inside))),
        ),
    )
    return sorted(db.session.scalars(stmt))


def indicator_for_figure(unit: Any, figure: str) -> Indicator | None:
    """The indicator of the most specific active plan that applies to ``unit`` and counts ``figure`` of the IT-skills
    programme (``it_skills`` in its numerator, ``plans.py``): Kon Tum's Plan 1514 for a unit of Kon Tum (or a commune
    that succeeded one of Kon Tum's), else the national programme. One query for the plans, one more for a commune's
    lineage."""
    return indicators_for_figure([unit], figure).get(unit.id)


def indicators_for_figure(units: Sequence[Any], figure: str) -> dict[int, Indicator]:
    """:func:`indicator_for_figure` of each unit at once — a province's communes on one page, each against the plan
    that applies to it (a commune that succeeded one of Kon Tum's: Plan 1514; the others: the national programme).
    One query for the plans and two per plan that counts the figure, whatever the number of units."""
    from lms.registry.models import AdminUnit, UnitLevel

    rows = db.session.execute(
        select(Plan, AdminUnit.path)
        .join(AdminUnit, AdminUnit.id == Plan.unit_id)
        .where(Plan.active.is_(True))
        .options(selectinload(Plan.indicators).selectinload(Indicator.targets))
    ).all()
    communes = [u.id for u in units if u.level == UnitLevel.COMMUNE]
    best: dict[int, tuple[int, Indicator]] = {}
    for plan, path in rows:
        indicator = next((i for i in plan.indicators if i.numerator.get("it_skills") == figure), None)
        if indicator is None:
            continue
        reached = set(plan_communes(plan, communes)) if communes else set()
        for unit in units:
            if (unit.path.startswith(path) or unit.id in reached) and len(path) > best.get(unit.id, (-1, None))[0]:
                best[unit.id] = (len(path), indicator)
    return {unit_id: indicator for unit_id, (_length, indicator) in best.items()}


@dataclass(frozen=True)
class TargetCheck:
    """A measured share against the milestone that applies to its period: met or not, and how many more counted
    (officers, households…) would meet it. ``share`` is None when nothing is counted in the denominator."""

    year: int
    target: Decimal  # per cent
    provisional: bool
    numerator: int
    denominator: int

    @property
    def share(self) -> Decimal | None:
        return Decimal(self.numerator) * 100 / self.denominator if self.denominator else None

    @property
    def needed(self) -> int:
        """The smallest numerator that meets the target, given the denominator."""
        return math.ceil(self.target * self.denominator / 100)

    @property
    def met(self) -> bool:
        return self.denominator > 0 and self.numerator >= self.needed

    @property
    def missing(self) -> int:
        return max(0, int(self.needed) - self.numerator)


def check_target(
    indicator: Indicator, year: int, area_class: str | None, numerator: int, denominator: int
) -> TargetCheck | None:
    """``numerator`` / ``denominator`` of ``year`` against the indicator's milestone for that year (the first at or
    after it); None after the plan's last milestone."""
    target = milestone(indicator, year, area_class)
    if target is None:
        return None
    return TargetCheck(target.year, Decimal(target.share), target.provisional, numerator, denominator)
