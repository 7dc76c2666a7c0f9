"""The circulars' dates for a year's dossier and decision, shown on the proposal and decision pages (ADR 44).

Circular 24/2023 (Learning Unit, district and province level): the head of the unit sends the dossier "trước ngày 15
tháng 1 của năm liền kề sau năm đánh giá" (Art. 10.1.c, 16.1.c) and the recognition is completed "trước ngày 15 tháng
2" of that year (Art. 10.3, 16.3). Circular 25/2023 (commune learning community): the commune People's Committee sends
it "trước ngày 28 tháng 02 của năm sau liền kề năm đánh giá" (Art. 9.1.d), completed "trước ngày 31 tháng 3" (Art.
9.3). The association titles (Decisions 324 and 448) set no dates. "Before the 15th" makes the 14th the last day:
a date is past from the day it names.

The dates are shown, never enforced: a late dossier or decision is the recognising authority's call, and refusing to
record it would lose the record (ADR 44, amendment of 7/12/2026). The Learning Unit's dates are Circular 24's: they
are shown only for a list holding a unit assessed under its criteria set, never for the commune-managed units of
Decision 448 part D alone.

A period the texts count "kể từ ngày" an event, in months, is read as the Civil Code 2015 counts it (ADR 59): the day
of the event is not counted (Art. 147.2), and the period ends at the end of the corresponding day of its last month,
or of that month's last day when it has no such day (Art. 148.3); what may be done "sau" the period may be done from
the next day (:func:`period_end`, :func:`first_day_after`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from lms.core.clock import local_today
from lms.extensions import db
from lms.titles.models import CriteriaSet, Title


def period_end(event: date, months: int) -> date:
    """The last day of a period of ``months`` months counted "kể từ ngày" ``event`` (Civil Code 2015, Art. 147.2:
    "ngày đầu tiên của thời hạn không được tính mà tính từ ngày tiếp theo liền kề"; Art. 148.3: "thời hạn kết thúc
    tại thời điểm kết thúc ngày tương ứng của tháng cuối cùng của thời hạn; nếu tháng kết thúc thời hạn không có ngày
    tương ứng thì thời hạn kết thúc vào ngày cuối cùng của tháng đó"): 15/01/2025 + 12 months → 15/01/2026 (the
    period ran from 16/01/2025 to the end of that day); 29/02/2024 + 12 → 28/02/2025; 31/01/2025 + 1 → 28/02/2025."""
    if months < 0:
        raise ValueError(months)
    index = event.month - 1 + months
    year, month = event.year + index // 12, index % 12 + 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(event.day, (following - timedelta(days=1)).day))


def first_day_after(event: date, months: int) -> date:
    """The first day on which what a text allows "sau … tháng kể từ ngày" ``event`` may be done: the day after
    :func:`period_end`. Circular 24/2023, Art. 5.3 / 11.3 ("sau ít nhất 1 năm (12 tháng) kể từ ngày ra quyết định
    công nhận"): a level-1 decision of 15/01/2025 may ask for level 2 from 16/01/2026; one of 29/02/2024 from
    01/03/2025 (ADR 59)."""
    return period_end(event, months) + timedelta(days=1)


def first_request_year(allowed: date, request_by: tuple[int, int]) -> int:
    """The first evaluated year whose request may name something allowed from ``allowed``, when a year's request goes
    in by ``request_by`` (month, day) of the next year at the latest: Circular 24's dossier "trước ngày 15 tháng 1 của
    năm liền kề sau năm đánh giá" (Art. 10.1.c / 16.1.c), last day 14 January. Allowed from 14/01/2026: the dossier
    for 2025; from 15/01/2026: the one for 2026."""
    return allowed.year - 1 if allowed <= date(allowed.year, *request_by) else allowed.year


class Step(StrEnum):
    PROPOSE = "propose"  # the dossier proposing the recognition is sent
    DECIDE = "decide"  # the evaluation and recognition are completed


@dataclass(frozen=True)
class Rule:
    """Before ``day``/``month`` of the year after the year evaluated, for the subjects ``who`` names: those assessed
    under the criteria sets ``criteria`` (codes) where the title has others the text does not govern, else all."""

    who: LazyString
    month: int
    day: int
    source_ref: str
    criteria: frozenset[str] = frozenset()

    def before(self, year: int) -> date:
        """The date the text says "before" for the evaluated ``year`` (it is itself too late)."""
        return date(year + 1, self.month, self.day)


_TT24 = _l("Learning Units assessed under Circular 24/2023/TT-BGDĐT")
_TT25 = _l("The commune (Circular 25/2023/TT-BGDĐT)")
# Circular 24's criteria set; the commune-managed units (Decision 448 part D, "qd-448-2015-d-unit") have no dates.
TT24_UNIT = frozenset({"tt-24-2023-unit"})
RULES: dict[tuple[str, Step], Rule] = {
    (Title.UNIT.value, Step.PROPOSE): Rule(
        _TT24, 1, 15, "Thông tư 24/2023/TT-BGDĐT, Điều 10 khoản 1 điểm c; Điều 16 khoản 1 điểm c", TT24_UNIT
    ),
    (Title.UNIT.value, Step.DECIDE): Rule(
        _TT24, 2, 15, "Thông tư 24/2023/TT-BGDĐT, Điều 10 khoản 3; Điều 16 khoản 3", TT24_UNIT
    ),
    (Title.COMMUNE_COMMUNITY.value, Step.PROPOSE): Rule(
        _TT25, 2, 28, "Thông tư 25/2023/TT-BGDĐT, Điều 9 khoản 1 điểm d"
    ),
    (Title.COMMUNE_COMMUNITY.value, Step.DECIDE): Rule(_TT25, 3, 31, "Thông tư 25/2023/TT-BGDĐT, Điều 9 khoản 3"),
}


@dataclass(frozen=True)
class Deadline:
    who: LazyString
    before: date
    source_ref: str
    passed: bool


def deadline(
    title: str,
    year: int,
    step: Step,
    today: date | None = None,
    criteria_set_ids: Iterable[int | None] | None = None,
) -> Deadline | None:
    """The date the circulars set for ``step`` of ``title``'s recognition for the evaluated ``year``, and whether
    it has passed; ``None`` for a title no circular dates (the association titles). ``criteria_set_ids``: those of
    the subjects the page lists; a rule for some criteria sets only (the Learning Unit's, Circular 24's) is ``None``
    unless one of them is listed (one query)."""
    rule = RULES.get((title, step))
    if rule is None:
        return None
    if rule.criteria and criteria_set_ids is not None:
        ids = {i for i in criteria_set_ids if i is not None}
        if not ids or not db.session.scalar(
            select(CriteriaSet.id).where(CriteriaSet.id.in_(ids), CriteriaSet.code.in_(rule.criteria)).limit(1)
        ):
            return None
    before = rule.before(year)
    return Deadline(rule.who, before, rule.source_ref, (today or local_today()) >= before)
