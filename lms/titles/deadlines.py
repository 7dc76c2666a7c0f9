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
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from lms.core.clock import local_today
from lms.extensions import db
from lms.titles.models import CriteriaSet, Title


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
