"""The indicator table of a scope and period — what the dashboard shows and the periodic reports print.

Built from stored ``IndicatorValue`` rows only (the computation writes them; nothing here counts households or
persons), in a fixed number of statements whatever the size of the scope: the plan's indicators, their targets,
the unit's children, the unit's values over every stored period (the trend, and the period's own figures), and the
children's values for the period. A share is always a stored numerator over its stored denominator; a denominator
of zero is "no data", never 0 %.

The reports (Vietnamese, as the documents are filed): the annual report (báo cáo năm) and the 2025 and 2030
reviews (sơ kết, tổng kết) — an xlsx workbook (indicators; sub-units; for the reviews, the unit's figures year by
year) and a printable PDF of the same tables.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms.core import formatting
from lms.core.clock import local_now, local_today
from lms.core.exports import filed_closing, filed_heading, print_setup, save_workbook
from lms.core.pdf import (
    FONT,
    FONT_BOLD,
    markup_escape,
    page_footer,
    register_fonts,
    report_closing,
    report_heading,
    ruled_table,
    vi_long_date,
)
from lms.extensions import db
from lms.registry.issuers import Issuer, report_issuer
from lms.registry.models import AdminUnit, UnitLevel, UnitLineage
from lms.targets import services
from lms.targets.models import Basis, Indicator, IndicatorValue, PeriodKind, Plan, Structure
from lms.targets.plans import phase_of
from lms.titles.services import ProvisionalBasis, title_provisional_bases

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ReportKind:
    ANNUAL = "annual"
    REVIEW_2025 = "review2025"
    REVIEW_2030 = "review2030"
    ALL = (ANNUAL, REVIEW_2025, REVIEW_2030)


# The document titles, as the association files them.
REPORT_TITLES = {
    ReportKind.ANNUAL: "BÁO CÁO KẾT QUẢ THỰC HIỆN CÁC CHỈ TIÊU NĂM {year}",
    ReportKind.REVIEW_2025: "BÁO CÁO SƠ KẾT GIAI ĐOẠN 2021–2025",
    ReportKind.REVIEW_2030: "BÁO CÁO TỔNG KẾT GIAI ĐOẠN 2021–2030",
}
STRUCTURE_VI: dict[str, str] = {
    Structure.CURRENT: "địa giới hiện hành (sau 01/7/2025)",
    Structure.PRE_2025: "địa giới trước 01/7/2025",
}
BASIS_VI: dict[str, str] = {Basis.OFFICIAL: "đã công nhận", Basis.PROJECTION: "dự kiến (đủ điều kiện, chưa công nhận)"}


@dataclass(frozen=True)
class Figure:
    numerator: Decimal
    denominator: Decimal

    @property
    def share(self) -> Decimal | None:
        """Per cent, or None when nothing is counted."""
        if not self.denominator:
            return None
        return self.numerator * 100 / self.denominator


@dataclass
class ChildLine:
    unit: AdminUnit
    figure: Figure | None
    target: Decimal | None  # the milestone's target for this unit (its area class's where the plan sets one)

    @property
    def share(self) -> Decimal | None:
        return self.figure.share if self.figure else None

    @property
    def gap(self) -> Decimal | None:
        """Percentage points still to go to the target (negative: ahead of it); None without data or target."""
        if self.share is None or self.target is None:
            return None
        return self.target - self.share


@dataclass
class IndicatorLine:
    indicator: Indicator
    figure: Figure | None
    targets: dict[int, Decimal]  # year → share for every commune (area class NULL)
    class_targets: dict[int, Decimal]  # year → share for the unit's own area class, where the plan sets one
    trend: list[tuple[date, Figure | None]]  # every stored period of the table's kind, oldest first
    children: list[ChildLine] = field(default_factory=list)  # ranked: furthest behind first, no data last

    @property
    def share(self) -> Decimal | None:
        return self.figure.share if self.figure else None

    def target(self, year: int) -> Decimal | None:
        return self.class_targets.get(year, self.targets.get(year))

    def gap(self, year: int | None) -> Decimal | None:
        target = self.target(year) if year is not None else None
        if self.share is None or target is None:
            return None
        return target - self.share


@dataclass
class ScopeTable:
    plan: Plan
    unit: AdminUnit
    period_end: date | None  # None: nothing stored yet for this plan, unit, structure and basis
    period_kind: str
    structure: str
    basis: str
    periods: list[date]  # the stored periods of this kind, newest first (the period picker)
    lines: list[IndicatorLine]
    children: list[AdminUnit]
    milestone_years: list[int]  # every target year of the plan, ascending

    @property
    def milestone(self) -> int | None:
        """The target year the period is measured against: the first milestone not yet past, else the last."""
        if not self.milestone_years:
            return None
        year = self.period_end.year if self.period_end else local_now().year
        return next((y for y in self.milestone_years if y >= year), self.milestone_years[-1])

    def line(self, code: str) -> IndicatorLine | None:
        return next((line for line in self.lines if line.indicator.code == code), None)

    def denominator_text(self, line: IndicatorLine) -> str:
        """The indicator's denominator in the words of this page's unit (see :func:`denominator_words`)."""
        return denominator_words(line.indicator.denominator_text, self.unit)

    def phase(self, line: IndicatorLine) -> tuple[int, int, int] | None:
        """``(first, last, measured year)`` when the indicator counts over the plan's phase ("trong giai đoạn", as Plan
        1514's policy study) rather than the measured year alone: the period its figure covers, to be said with it."""
        year = self.period_end.year if self.period_end else local_now().year
        phase = phase_of(line.indicator.numerator or {}, year)
        return (phase[0], phase[1], year) if phase else None

    def name_with_period(self, line: IndicatorLine) -> str:
        """The indicator's name as the filed reports print it (Vietnamese), with the period a phased figure covers."""
        phase = self.phase(line)
        return f"{line.indicator.name} ({phase_words(*phase)})" if phase else line.indicator.name


def yearly_phase_words(line: IndicatorLine, years: Sequence[int]) -> str | None:
    """For the year-by-year sheet (reviews): the period each year's figure covers when the indicator counts over the
    plan's phases — each year from its phase's first year (Plan 1514's policy study, ADR 54) — in the filed reports'
    Vietnamese; None for an indicator of the year."""
    spans: dict[tuple[int, int], list[int]] = {}
    for year in sorted(years):
        phase = phase_of(line.indicator.numerator or {}, year)
        if phase:
            spans.setdefault(phase, []).append(year)
    if not spans:
        return None
    parts = [
        f"năm {ys[0]}{f'–{ys[-1]}' if len(ys) > 1 else ''}: tính từ năm {first} (giai đoạn {first}–{last})"
        for (first, last), ys in spans.items()
    ]
    return "tính theo giai đoạn, " + "; ".join(parts)


def phase_words(first: int, last: int, year: int) -> str:
    """The period of a figure counted over a phase, in the filed reports' Vietnamese (the page translates its own)."""
    return f"giai đoạn {first}–{last}: tính từ năm {first} đến năm {year}"


# A plan words its denominators for a commune ("Tất cả hộ gia đình của xã"); below a commune the figures are the
# unit's own, so "của xã" would say the wrong thing. "cấp xã" (the commune-level association) keeps its words.
_COMMUNE_WORDS = re.compile(r"\b(của|tại|trên địa bàn) xã\b")


def denominator_words(text: str, unit: AdminUnit) -> str:
    """On a village's (thôn, tổ dân phố…) page, "của xã" becomes "của thôn" — the unit's own kind."""
    if unit.level != UnitLevel.VILLAGE.value:
        return text
    kind = (unit.kind or "thôn").strip().lower()
    return _COMMUNE_WORDS.sub(lambda match: f"{match.group(1)} {kind}", text)


# --- what a figure rests on ---------------------------------------------------------------------------------


def indicator_titles(indicator: Indicator) -> list[str]:
    """The titles a plan indicator's figure counts holders of (its numerator, its denominator and the groups of a
    conditional denominator), in order, each once."""
    found: list[str] = []
    for side in (indicator.numerator or {}, indicator.denominator or {}):
        candidates = [side.get("title")] + [g.get("title") for g in side.get("member_of") or [] if isinstance(g, dict)]
        found += [t for t in candidates if isinstance(t, str) and t and t not in found]
    return found


def provisional_bases(table: ScopeTable) -> dict[int, list[ProvisionalBasis]]:
    """Per plan indicator of the table, the provisional indicators of the criteria sets its titles are evaluated by
    (one query): a figure that counts Learning Families rests on the family set's provisional thresholds."""
    titles = {line.indicator.id: indicator_titles(line.indicator) for line in table.lines}
    bases = title_provisional_bases({t for found in titles.values() for t in found})
    return {
        indicator_id: [basis for title in found for basis in bases.get(title, [])]
        for indicator_id, found in titles.items()
        if any(bases.get(title) for title in found)
    }


def _provisional_rows(table: ScopeTable, bases: dict[int, list[ProvisionalBasis]]) -> list[list[str]]:
    """One row per provisional criterion: the plan indicators resting on it by their row numbers and names (two
    indicators counting the same title — households recognised of all, of those registered — share its rows instead
    of repeating the family set's ten criteria, a page each), the criteria set, the criterion's name, its clause and
    the mark. Where its values came from is a note for staff (the criteria pages), not for an official report
    (ADR 18)."""
    rows: dict[tuple[int, str], list] = {}
    for number, line in enumerate(table.lines, start=1):
        for basis in bases.get(line.indicator.id, []):
            for i in basis.indicators:
                key = (basis.criteria_set.id, i.name)
                if key not in rows:
                    rows[key] = [
                        [],
                        f"{basis.criteria_set.name}, phiên bản {basis.criteria_set.version}",
                        i.name,
                        i.source_ref,
                        PROVISIONAL_MARK,
                    ]
                named = f"({number}) {line.indicator.name}"
                if named not in rows[key][0]:
                    rows[key][0].append(named)
    return [["; ".join(row[0]), *row[1:]] for row in rows.values()]


@dataclass
class ProvisionalGroup:
    """The provisional criteria of one criteria set, as the filed PDF lists them: the set, the part of its text every
    criterion comes from (``source``, named once), the numbers of the plan indicators resting on it, and each
    criterion's name with the rest of its clause."""

    criteria_set: str
    source: str
    numbers: list[int]
    criteria: list[tuple[str, str]]


def _common_source(refs: Sequence[str]) -> str:
    """The leading parts ("QĐ 448/QĐ-KHVN, phần A") that every clause of a set shares."""
    parts = [ref.split(", ") for ref in refs if ref]
    common: list[str] = []
    for pieces in zip(*parts, strict=False) if parts else ():
        if len(set(pieces)) > 1:
            break
        common.append(pieces[0])
    if parts and len(common) == min(len(p) for p in parts) and len(parts) > 1:
        common = common[:-1]  # one clause is wholly the prefix: keep a part of it to name the criterion by
    return ", ".join(common)


def provisional_groups(table: ScopeTable, bases: dict[int, list[ProvisionalBasis]]) -> list[ProvisionalGroup]:
    """The provisional criteria grouped by criteria set (each criterion once, however many indicators rest on it)."""
    groups: dict[int, ProvisionalGroup] = {}
    for number, line in enumerate(table.lines, start=1):
        for basis in bases.get(line.indicator.id, []):
            key = basis.criteria_set.id
            if key not in groups:
                named = list(dict.fromkeys((i.name, i.source_ref) for i in basis.indicators))
                # The set's clauses without what they all begin with; without a shared part, the set's legal text.
                source = _common_source([ref for _name, ref in named])
                cut = len(source) + 2 if source else 0
                groups[key] = ProvisionalGroup(
                    criteria_set=f"{basis.criteria_set.name}, phiên bản {basis.criteria_set.version}",
                    source=source or basis.criteria_set.source,
                    numbers=[],
                    criteria=[(name, ref[cut:] if source and ref.startswith(source) else ref) for name, ref in named],
                )
            if number not in groups[key].numbers:
                groups[key].numbers.append(number)
    return list(groups.values())


PROVISIONAL_GROUP_HEADERS = ("Bộ tiêu chí, căn cứ", "Chỉ tiêu (số thứ tự ở bảng trên)", "Tiêu chí tạm thời (khoản)")
PROVISIONAL_HEADERS = ("Chỉ tiêu", "Bộ tiêu chí", "Tiêu chí", "Căn cứ", "Ghi chú")
PROVISIONAL_MARK = "Tiêu chí tạm thời"
PROVISIONAL_NOTE = (
    "Các chỉ tiêu dưới đây đếm danh hiệu được đánh giá theo tiêu chí tạm thời: giá trị của các tiêu chí này chưa "
    "được đối chiếu với toàn văn của văn bản quy định."
)


# --- reading -------------------------------------------------------------------------------------------------


def active_plans() -> list[tuple[Plan, str]]:
    """Active plans with the path of the unit each applies to (one query)."""
    rows = db.session.execute(
        select(Plan, AdminUnit.path)
        .join(AdminUnit, AdminUnit.id == Plan.unit_id)
        .where(Plan.active)
        .order_by(Plan.code, Plan.version.desc())
    ).all()
    return [(plan, path) for plan, path in rows]


def default_plan(plans: Sequence[tuple[Plan, str]], unit: AdminUnit, with_values: set[int]) -> Plan | None:
    """The plan to show first: among the plans with figures stored for ``unit`` (``with_values``), else among the
    plans whose unit contains it, the most specific one (a province's plan before the national one)."""
    candidates = [(plan, path) for plan, path in plans if plan.id in with_values]
    candidates = candidates or [(plan, path) for plan, path in plans if unit.path.startswith(path)]
    if candidates:
        return max(candidates, key=lambda pair: len(pair[1]))[0]
    return plans[0][0] if plans else None


def plans_with_values(unit: AdminUnit) -> set[int]:
    """The plans that have any figure stored for ``unit`` (one query)."""
    return set(
        db.session.scalars(
            select(Indicator.plan_id)
            .join(IndicatorValue, IndicatorValue.indicator_id == Indicator.id)
            .where(IndicatorValue.unit_id == unit.id)
            .distinct()
        )
    )


def scope_table(
    plan: Plan,
    unit: AdminUnit,
    *,
    period_end: date | None = None,
    period_kind: str = PeriodKind.YEAR,
    structure: str = Structure.CURRENT,
    basis: str = Basis.OFFICIAL,
) -> ScopeTable:
    """The indicator table of ``unit`` for one period: its figures against the targets, its trend, and its
    children ranked by their gap to target. ``period_end`` None means the latest stored period of the kind; a date
    with nothing stored means the latest period stored by that date.

    Five statements whatever the number of children or stored rows under them (the caller has checked scope).
    """
    indicators = list(
        db.session.scalars(
            select(Indicator)
            .where(Indicator.plan_id == plan.id)
            .order_by(Indicator.position, Indicator.code)
            .options(selectinload(Indicator.targets))
        )
    )
    ids = [indicator.id for indicator in indicators]
    children = list(
        db.session.scalars(select(AdminUnit).where(AdminUnit.parent_id == unit.id).order_by(AdminUnit.sort_key))
    )
    # Every stored period of the unit at once: the trend, the period picker and the period's own figures.
    own_rows = db.session.execute(
        services.values_select(
            [unit.id], indicator_ids=ids, period_kind=period_kind, structure=structure, basis=basis
        ).with_only_columns(
            IndicatorValue.indicator_id, IndicatorValue.period_end, IndicatorValue.numerator, IndicatorValue.denominator
        )
    ).all()
    periods = sorted({row.period_end for row in own_rows}, reverse=True)
    if periods and period_end not in periods:
        # "As of" the date asked for: the latest stored period that ended by then (a year end asked for on the
        # month view gives that December); nothing stored by then: the date stays, and the page says "no data".
        earlier = [p for p in periods if period_end is None or p <= period_end]
        period_end = earlier[0] if earlier else period_end
    child_values: dict[tuple[int, int], Figure] = {}
    if period_end is not None and children:
        # Plain columns, not ORM objects: a province has a hundred communes times a dozen indicators.
        child_values = {
            (row.unit_id, row.indicator_id): Figure(row.numerator, row.denominator)
            for row in db.session.execute(
                services.values_select(
                    select(AdminUnit.id).where(AdminUnit.parent_id == unit.id),
                    indicator_ids=ids,
                    period_end=period_end,
                    period_kind=period_kind,
                    structure=structure,
                    basis=basis,
                ).with_only_columns(
                    IndicatorValue.unit_id,
                    IndicatorValue.indicator_id,
                    IndicatorValue.numerator,
                    IndicatorValue.denominator,
                )
            )
        }
    by_period: dict[tuple[int, date], Figure] = {
        (row.indicator_id, row.period_end): Figure(row.numerator, row.denominator) for row in own_rows
    }
    years = sorted({t.year for i in indicators for t in i.targets})
    table = ScopeTable(
        plan=plan,
        unit=unit,
        period_end=period_end,
        period_kind=period_kind,
        structure=structure,
        basis=basis,
        periods=periods,
        lines=[],
        children=children,
        milestone_years=years,
    )
    milestone = table.milestone
    for indicator in indicators:
        general = {t.year: t.share for t in indicator.targets if t.area_class is None}
        by_class: dict[str, Decimal | None] = {}  # the milestone's target per area class
        lines = []
        for child in children:
            if child.area_class not in by_class:
                by_class[child.area_class] = (
                    _target_for(indicator, child.area_class, milestone) if milestone is not None else None
                )
            lines.append(
                ChildLine(
                    unit=child, figure=child_values.get((child.id, indicator.id)), target=by_class[child.area_class]
                )
            )
        table.lines.append(
            IndicatorLine(
                indicator=indicator,
                figure=by_period.get((indicator.id, period_end)) if period_end else None,
                targets=general,
                class_targets=_class_targets(indicator, unit.area_class, general),
                trend=[(p, by_period.get((indicator.id, p))) for p in reversed(periods)],
                children=rank(lines),
            )
        )
    return table


def _class_targets(indicator: Indicator, area_class: str, general: dict[int, Decimal]) -> dict[int, Decimal]:
    """The targets set for ``area_class`` that differ from the general ones."""
    return {t.year: t.share for t in indicator.targets if t.area_class == area_class and general.get(t.year) != t.share}


def _target_for(indicator: Indicator, area_class: str, year: int) -> Decimal | None:
    """The target of ``year`` for a unit of ``area_class`` (its own where the plan sets one, else the general)."""
    return next((t.share for t in services.targets_for(indicator, area_class) if t.year == year), None)


def rank(lines: list[ChildLine]) -> list[ChildLine]:
    """Furthest behind target first; then those with data but no target (lowest share first); no data last."""

    def key(line: ChildLine) -> tuple:
        if line.gap is not None:
            return (0, -line.gap, line.unit.sort_key)
        if line.share is not None:
            return (1, line.share, line.unit.sort_key)
        return (2, 0, line.unit.sort_key)

    return sorted(lines, key=key)


# --- documents -----------------------------------------------------------------------------------------------
#
# Laid out as an official files them: landscape A4, indicators numbered (STT) and named — never by their codes,
# which are for files —, every cell a wrapped paragraph, the sub-unit table numbering its columns after the
# indicators (no heading is ever broken inside a word), sub-units without any figure named in one sentence rather
# than given a blank row each (a province of a hundred communes fits in a few pages). Figures in Vietnamese
# convention through lms.core.formatting, whatever the language of the page that asked for the document.


# The summary (trích yếu) under "BÁO CÁO" on the filed PDF: the title in sentence case.
REPORT_SUMMARIES = {
    ReportKind.ANNUAL: "Kết quả thực hiện các chỉ tiêu năm {year}",
    ReportKind.REVIEW_2025: "Sơ kết giai đoạn 2021–2025",
    ReportKind.REVIEW_2030: "Tổng kết giai đoạn 2021–2030",
}


def report_summary(table: ScopeTable, kind: str) -> str:
    """What the report is about, under "BÁO CÁO" (Decree 30/2020's trích yếu)."""
    template = REPORT_SUMMARIES.get(kind, REPORT_SUMMARIES[ReportKind.ANNUAL])
    if table.period_end is None:
        return template.replace(" năm {year}", "")
    return template.format(year=table.period_end.year)


def report_title(table: ScopeTable, kind: str) -> str:
    template = REPORT_TITLES.get(kind, REPORT_TITLES[ReportKind.ANNUAL])
    if table.period_end is None:  # nothing stored: no year to name ("… CÁC CHỈ TIÊU NĂM " ended in nothing)
        return template.replace(" NĂM {year}", "")
    return template.format(year=table.period_end.year)


def made_on() -> date:
    """The day a report is made, in Vietnam."""
    return local_today()


def period_words(table: ScopeTable, today: date | None = None) -> str:
    """The period, and up to which day its figures run: a period that has not ended yet (the year's report made in
    December) counts to the day the report is made, not to the period's end."""
    if table.period_end is None:
        return "chưa có số liệu"
    today = today or made_on()
    if table.period_end > today:
        until = f"số liệu đến ngày {formatting.day(today, locale='vi')}, kỳ báo cáo chưa kết thúc"
    else:
        until = f"đến ngày {formatting.day(table.period_end, locale='vi')}"
    if table.period_kind == PeriodKind.MONTH:
        return f"tháng {table.period_end:%m/%Y} ({until})"
    return f"năm {table.period_end.year} ({until})"


def _percent(value: Decimal | None) -> str:
    """A share or a gap in a column headed "(%)": "24,6"; "—" without data."""
    return formatting.share(value, locale="vi")


def _count(value: Decimal | None) -> str:
    return formatting.number(value, 2, locale="vi")


def _float(value: Decimal | None) -> float | None:
    """A count (a numerator or a denominator, fractional when carried from merged communes) for a workbook cell."""
    return None if value is None else float(round(value, 2))


SHARE_FORMAT = "0.0"  # one decimal, as the dashboard and the PDF print a share ("61,7" in a Vietnamese Excel)


def _share(value: Decimal | None) -> float | None:
    """A share, a target or a gap in per cent for a workbook cell: rounded to one decimal as the dashboard and the
    PDF print it (``formatting.share``, half-even both), so a leader comparing the two reads the same number — the
    workbook carried two ("61,72" beside the PDF's "61,7")."""
    return None if value is None else float(round(value, 1))


def _share_cells(row, columns: Sequence[int]) -> None:
    """Shows the row's share cells (1-based ``columns``) with one decimal."""
    for column in columns:
        row[column - 1].number_format = SHARE_FORMAT


def yearly(table: ScopeTable) -> list[tuple[int, list[Figure | None]]]:
    """For the reviews: the unit's figures at each stored year end, one row per year (from the trend)."""
    if table.period_kind != PeriodKind.YEAR:
        return []
    years = sorted(
        {p.year for line in table.lines for p, _ in line.trend if table.period_end is None or p <= table.period_end}
    )
    by_year = [{p.year: f for p, f in line.trend} for line in table.lines]
    return [(year, [lookup.get(year) for lookup in by_year]) for year in years]


def sub_units(table: ScopeTable) -> tuple[list[AdminUnit], list[AdminUnit]]:
    """The sub-units with at least one figure for the period (a row each), and those without any (named once).

    A figure counts when something was counted (its denominator is not zero): a recomputation stores 0 of 0 for
    every commune of the country, and a commune whose every cell reads "—" is one without figures — a province's
    report printed a row of dashes for each of its hundred communes, twelve pages where two say the same."""
    with_figures = {c.unit.id for line in table.lines for c in line.children if c.share is not None}
    return (
        [u for u in table.children if u.id in with_figures],
        [u for u in table.children if u.id not in with_figures],
    )


def unit_words(unit: AdminUnit) -> str:
    """The unit as a filed report names it: a unit of the map before 1 July 2025 says it is one, until when, and
    what it is part of now ("Tỉnh Kon Tum (đơn vị trước sắp xếp, đến 30/06/2025; nay thuộc tỉnh Quảng Ngãi)") —
    a 2026 report of "Tỉnh Kon Tum" alone reads as a province that still exists."""
    if unit.valid_to is None:
        return unit.full_name
    successors = db.session.scalars(
        select(AdminUnit)
        .join(UnitLineage, UnitLineage.new_unit_id == AdminUnit.id)
        .where(UnitLineage.old_unit_id == unit.id)
        .order_by(AdminUnit.sort_key)
    ).all()
    now = f"; nay thuộc {', '.join(u.name_in_sentence for u in successors)}" if successors else ""
    return f"{unit.full_name} (đơn vị trước sắp xếp, đến {formatting.day(unit.valid_to, locale='vi')}{now})"


def _header_lines(table: ScopeTable, made_by: str = "") -> list[str]:
    return [
        f"Kế hoạch: {table.plan.name}",
        f"Căn cứ: {table.plan.source}",
        f"Đơn vị: {unit_words(table.unit)}",
        f"Kỳ báo cáo: {period_words(table)}",
        f"Ngày lập: {formatting.day(made_on(), locale='vi')}",
        *([f"Người lập: {made_by}"] if made_by else []),
        f"Địa giới: {STRUCTURE_VI.get(table.structure, table.structure)}; "
        f"số liệu: {BASIS_VI.get(table.basis, table.basis)}",
    ]


def _gap_heading(milestone: int | None) -> str:
    return f"Còn thiếu so với mục tiêu {milestone} (điểm %)" if milestone else "Còn thiếu (điểm %)"


def _without_figures_text(units: list[AdminUnit]) -> str:
    return f"Chưa có số liệu ({len(units)} đơn vị): " + ", ".join(u.full_name for u in units) + "."


def indicator_xlsx(
    table: ScopeTable,
    kind: str = ReportKind.ANNUAL,
    *,
    made_by: str = "",
    issuer: Issuer | None = None,
    document_number: str = "",
) -> bytes:
    """The workbook: the indicators of the unit, the sub-units' figures, and (reviews) the unit year by year —
    wrapped text, fitted columns, and each sheet set up to print landscape on A4, one page wide. Its first sheet is
    headed and closed as the PDF is (the same issuer, number, recipients and signatures): printed, it is the report
    filed, not a second document to reconcile with it."""
    workbook = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DCE6F1")
    wrap = Alignment(wrap_text=True, vertical="top")
    milestone = table.milestone
    sheet = workbook.active
    sheet.title = "Chỉ tiêu"
    heading = f"{report_title(table, kind)} — {table.unit.full_name} — kỳ báo cáo: {period_words(table)}"
    years = table.milestone_years
    columns = 7 + len(years)
    issuer = issuer or report_issuer(table.unit)
    # The issuer over STT, the indicator and its numerator (71 characters wide); the national name over the rest.
    filed_heading(
        sheet,
        superior=issuer.superior,
        body=issuer.body,
        number_line=issuer.number_line(document_number),
        place_date=f"{issuer.place}, {vi_long_date(made_on())}",
        title="BÁO CÁO",
        summary=report_summary(table, kind),
        columns=columns,
        left=3,
    )
    sheet.append([])
    for text in _header_lines(table, made_by):
        sheet.append([text])
    sheet.append([])
    sheet.append(
        [
            "STT",
            "Chỉ tiêu",
            "Tử số",
            "Mẫu số",
            "Tỷ lệ (%)",
            "Định nghĩa mẫu số",
            *[f"Mục tiêu {y} (%)" for y in years],
            _gap_heading(milestone),
        ]
    )
    header_row = sheet.max_row
    _style_header(sheet[header_row], bold, head_fill)
    for number, line in enumerate(table.lines, start=1):
        figure = line.figure
        sheet.append(
            [
                number,
                table.name_with_period(line),
                _float(figure.numerator) if figure else None,
                _float(figure.denominator) if figure else None,
                _share(line.share),
                table.denominator_text(line),
                *[_share(line.target(y)) for y in years],
                _share(line.gap(milestone)),
            ]
        )
        for cell in sheet[sheet.max_row]:
            cell.alignment = wrap
        _share_cells(sheet[sheet.max_row], [5, *range(7, 8 + len(years))])
    widths = (6, 55, 10, 10, 10, 45, *[11] * len(years), 14)
    _widths(sheet, widths)
    # Nơi nhận under STT and the indicator, the maker under the figures, the head under the definitions and targets.
    filed_closing(
        sheet, recipients=issuer.recipients, maker=made_by, signer=issuer.signer, columns=columns, spans=(2, 5)
    )
    _print_setup(sheet, header_row, heading)

    children = workbook.create_sheet("Đơn vị trực thuộc")
    children.append(
        [
            "Đơn vị",
            "STT",
            "Chỉ tiêu",
            "Tử số",
            "Mẫu số",
            "Tỷ lệ (%)",
            f"Mục tiêu {milestone} (%)" if milestone else "Mục tiêu (%)",
            "Còn thiếu (điểm %)",
        ]
    )
    _style_header(children[1], bold, head_fill)
    shown, without = sub_units(table)
    shown_ids = {u.id for u in shown}
    for number, line in enumerate(table.lines, start=1):
        for child in sorted(line.children, key=lambda c: c.unit.sort_key):
            if child.unit.id not in shown_ids:
                continue
            figure = child.figure
            children.append(
                [
                    child.unit.full_name,
                    number,
                    line.indicator.name,
                    _float(figure.numerator) if figure else None,
                    _float(figure.denominator) if figure else None,
                    _share(child.share),
                    _share(child.target),
                    _share(child.gap),
                ]
            )
            for cell in children[children.max_row]:
                cell.alignment = wrap
            _share_cells(children[children.max_row], (6, 7, 8))
    if without:
        children.append([])
        children.append([_without_figures_text(without)])
        children.merge_cells(start_row=children.max_row, start_column=1, end_row=children.max_row, end_column=8)
        last = children.cell(row=children.max_row, column=1)
        last.alignment = wrap
        # Merged cells do not grow with their text: about 150 characters fit on a line of the merged width.
        children.row_dimensions[children.max_row].height = 15 * (1 + len(str(last.value)) // 150)
    _widths(children, (28, 6, 50, 10, 10, 10, 12, 12))
    _print_setup(children, 1, heading)

    provisional = _provisional_rows(table, provisional_bases(table))
    if provisional:
        notes = workbook.create_sheet("Tiêu chí tạm thời")
        notes.append([PROVISIONAL_NOTE])
        notes.append(list(PROVISIONAL_HEADERS))
        _style_header(notes[2], bold, head_fill)
        for values in provisional:
            notes.append(values)
        for column, width in zip("ABCDE", (40, 40, 60, 50, 18), strict=True):
            notes.column_dimensions[column].width = width
        _print_setup(notes, 2, heading)

    if kind != ReportKind.ANNUAL:
        by_year = workbook.create_sheet("Theo năm")
        by_year.append(["Năm", *[f"({n}) (%)" for n in range(1, len(table.lines) + 1)]])
        _style_header(by_year[1], bold, head_fill)
        for year, figures in yearly(table):
            by_year.append([year, *[_share(f.share) if f else None for f in figures]])
            _share_cells(by_year[by_year.max_row], range(2, 2 + len(figures)))
        by_year.append([])
        years_shown = [year for year, _figures in yearly(table)]
        for number, line in enumerate(table.lines, start=1):
            words = yearly_phase_words(line, years_shown)
            by_year.append([f"({number})", f"{line.indicator.name} ({words})" if words else line.indicator.name])
        _widths(by_year, (10, *[10] * len(table.lines)))
        _print_setup(by_year, 1, heading)
    buffer = io.BytesIO()
    save_workbook(workbook, buffer)
    return buffer.getvalue()


def _style_header(row, bold: Font, fill: PatternFill) -> None:
    for cell in row:
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")


def _widths(sheet, widths: Sequence[float]) -> None:
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width


def _print_setup(sheet, header_row: int, heading: str) -> None:
    """Landscape A4, one page wide (as many pages tall as needed), the table's header repeated on every page, and
    the report, its unit and period at the top of each (a sheet printed alone still says whose figures it holds)."""
    print_setup(sheet, header_row, heading=heading)


PAGE_WIDTH = landscape(A4)[0] - 24 * mm  # the frame between the 12 mm margins


def indicator_pdf(
    table: ScopeTable,
    kind: str = ReportKind.ANNUAL,
    *,
    made_by: str = "",
    issuer: Issuer | None = None,
    document_number: str = "",
) -> bytes:
    """The same tables as a printable landscape A4 PDF (DejaVu, so Vietnamese prints), headed by who files it
    (``issuer``; by default the configured issuer of the unit's level) with the ``document_number`` (blank: the
    clerk writes it)."""
    register_fonts()
    buffer = io.BytesIO()
    title_text = report_title(table, kind)
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=title_text,
        author=table.unit.full_name,
    )
    text = ParagraphStyle("text", fontName=FONT, fontSize=9, leading=12)
    h2 = ParagraphStyle("h2", parent=text, fontName=FONT_BOLD, spaceBefore=2, spaceAfter=3)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10)
    figure_cell = ParagraphStyle("figure", parent=cell, alignment=2)
    centred = ParagraphStyle("centred", parent=cell, alignment=1)
    head = ParagraphStyle("head", fontName=FONT_BOLD, fontSize=8, leading=10, alignment=1)
    milestone = table.milestone
    years = table.milestone_years

    def para(value: str, style: ParagraphStyle = cell) -> Paragraph:
        return Paragraph(markup_escape(value), style)

    # Filed as an administrative document (Decree 30/2020, Appendix I): the issuing body and the number on the left,
    # the national name and motto with the place and day on the right, "BÁO CÁO" and its summary; at the end the
    # recipients, the maker's and the head's signatures. Who files is configuration (lms.registry.issuers).
    issuer = issuer or report_issuer(table.unit)
    story: list = report_heading(
        superior=issuer.superior,
        body=issuer.body,
        number_line=issuer.number_line(document_number),
        place_date=f"{issuer.place}, {vi_long_date(made_on())}",
        width=PAGE_WIDTH,
        title="BÁO CÁO",
        summary=report_summary(table, kind),
    )
    story += [para(line, text) for line in _header_lines(table, made_by)]
    story.append(Spacer(1, 4 * mm))
    data: list[list] = [
        [
            para(h, head)
            for h in (
                "STT",
                "Chỉ tiêu",
                "Tử số",
                "Mẫu số",
                "Tỷ lệ (%)",
                "Định nghĩa mẫu số",
                *[f"Mục tiêu {y} (%)" for y in years],
                _gap_heading(milestone),
            )
        ]
    ]
    for number, line in enumerate(table.lines, start=1):
        figure = line.figure
        data.append(
            [
                para(str(number), centred),
                para(table.name_with_period(line)),
                para(_count(figure.numerator) if figure else "—", figure_cell),
                para(_count(figure.denominator) if figure else "—", figure_cell),
                para(_percent(line.share), figure_cell),
                para(table.denominator_text(line)),
                *[para(_percent(line.target(y)), figure_cell) for y in years],
                para(_percent(line.gap(milestone)), figure_cell),
            ]
        )
    fixed = [10 * mm, 0, 17 * mm, 17 * mm, 16 * mm, 0, *[17 * mm] * len(years), 24 * mm]
    free = PAGE_WIDTH - sum(fixed)  # shared by the two columns of words, the indicator's name a little wider
    fixed[1], fixed[5] = free * 0.55, free * 0.45
    story += [ruled_table(data, fixed), Spacer(1, 5 * mm)]

    shown, without = sub_units(table)
    if table.children:
        story.append(
            para(
                "Các đơn vị trực thuộc: tỷ lệ đạt (%) / mục tiêu"
                + (f" {milestone}" if milestone else "")
                + " (%); cột (n) là chỉ tiêu số thứ tự n ở bảng trên",
                h2,
            )
        )
    if shown:
        header = [para("Đơn vị", head)] + [para(f"({n})", head) for n in range(1, len(table.lines) + 1)]
        rows: list[list] = [header]
        lookup = [{c.unit.id: c for c in line.children} for line in table.lines]
        for child in shown:
            row: list = [para(child.full_name)]
            for index in range(len(table.lines)):
                child_line = lookup[index].get(child.id)
                share = child_line.share if child_line else None
                target = child_line.target if child_line else None
                row.append(
                    para(_percent(share) + (f" / {_percent(target)}" if target is not None else ""), figure_cell)
                )
            rows.append(row)
        name_width = 48 * mm
        per = (PAGE_WIDTH - name_width) / max(len(table.lines), 1)
        story.append(ruled_table(rows, [name_width] + [per] * len(table.lines)))
    if without:
        story += [Spacer(1, 2 * mm), para(_without_figures_text(without), text)]
    story.append(Spacer(1, 5 * mm))

    if kind != ReportKind.ANNUAL:
        rows = [[para("Năm", head)] + [para(f"({n})", head) for n in range(1, len(table.lines) + 1)]]
        for year, figures in yearly(table):
            rows.append(
                [para(str(year), centred), *[para(_percent(f.share if f else None), figure_cell) for f in figures]]
            )
        if len(rows) > 1:
            story.append(para("Kết quả theo năm (tỷ lệ %)", h2))
            per = (PAGE_WIDTH - 20 * mm) / max(len(table.lines), 1)
            story.append(ruled_table(rows, [20 * mm] + [per] * len(table.lines)))
            years_shown = [year for year, _figures in yearly(table)]
            for number, line in enumerate(table.lines, start=1):
                words = yearly_phase_words(line, years_shown)
                if words:  # each year of a phased figure covers its own span: said under the table
                    story.append(para(f"({number}) {line.indicator.name}: {words}", text))

    # The signatures never stand alone on a page: the last paragraph before them (the sentence of the sub-units
    # without figures, a year's note) goes over with them — a province's report put the two signature blocks by
    # themselves on its last page, a page a reader could take for another document's. A short table (the review's
    # years) goes over with its heading; a long one is left where it is (it would leave a page blank).
    last = max((i for i, f in enumerate(story) if not isinstance(f, Spacer)), default=-1)
    carried: list = []
    if last >= 0 and isinstance(story[last], Paragraph):
        carried = story[last:]
    elif last >= 1 and isinstance(story[last], Table) and story[last]._nrows <= 12:
        carried = story[last - 1 :] if isinstance(story[last - 1], Paragraph) else story[last:]
    del story[len(story) - len(carried) :]
    story.append(
        KeepTogether(
            [
                *carried,
                Spacer(1, 6 * mm),
                report_closing(
                    recipients=issuer.recipients,
                    maker=made_by,
                    signer=issuer.signer,
                    width=PAGE_WIDTH,
                ),
            ]
        )
    )

    groups = provisional_groups(table, provisional_bases(table))
    if groups:
        # One row per criteria set, not one per criterion with the indicators' names again in each: the list was
        # seven of a commune report's ten pages. The indicators by their numbers in the table above, the set's source
        # (the text and part every criterion of it comes from) named once, each criterion by name and clause.
        appendix: list = [para("Phụ lục: Tiêu chí tạm thời", h2), para(PROVISIONAL_NOTE, text), Spacer(1, 2 * mm)]
        rows = [[para(h, head) for h in PROVISIONAL_GROUP_HEADERS]]
        for group in groups:
            criteria = "<br/>".join(
                f"• {markup_escape(name)}" + (f" ({markup_escape(clause)})" if clause else "")
                for name, clause in group.criteria
            )
            rows.append(
                [
                    Paragraph(
                        f"<b>{markup_escape(group.criteria_set)}</b><br/>Căn cứ: {markup_escape(group.source)}", cell
                    ),
                    para(", ".join(f"({n})" for n in group.numbers), centred),
                    Paragraph(criteria, cell),
                ]
            )
        # Its heading never stays at the foot of a page without the table.
        story += [
            Spacer(1, 6 * mm),
            KeepTogether([*appendix, ruled_table(rows, [62 * mm, 26 * mm, PAGE_WIDTH - 88 * mm])]),
        ]

    footer = page_footer(f"{table.unit.full_name} — {title_text}")
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
