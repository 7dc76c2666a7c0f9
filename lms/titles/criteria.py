"""Criteria sets as versioned data: the TOML format, its validation, and loading versions into ``criteria_set``.

A criteria set is a data file (``lms/titles/criteria/*.toml``), never code: an administrator loads a new version
without a deployment and old evaluations keep pointing at the version they used. The format, in short::

    code = "qd-324-2023-citizen"          # stable across versions
    title = "citizen"                     # a Title value; subject must match TITLE_SUBJECT
    subject = "person"
    name = "Công dân học tập"             # Vietnamese; name_en in English
    source = "Quyết định 324/QĐ-KHVN ngày 25/10/2023"
    status = "official" | "provisional"
    validity_years = 1 | 3
    scoring = "points" | "levels"
    pass_total = 80                       # points: pass when the total reaches it …
    min_per_indicator = 5                 # … and no indicator is below its minimum
    levels = [{level = 1, name = "…"}, {level = 2, name = "…"}]   # levels: 1, 2, … in order
    managing_levels = ["commune"]         # title "unit" only: the organisations the set is for
    assessments_require_evidence = true   # default for assessment indicators

    [[indicators]]
    code = "c1"  name = "…"  name_en = "…"  group = "…"  source_ref = "QĐ 324/QĐ-KHVN, tiêu chí 1"
    provisional = false                   # true: no text in the sources supports the value (ADR 18) …
    source = "…"  source_en = "…"         # … and then required: where the value came from ("chosen for the demo")
    kind = "metric" | "share" | "assessment"
    max_points = 10  min_points = 5       # points style (min defaults to min_per_indicator)
    thresholds = [[1, 5], [2, 8], [3, 10]]  # points style, metric/share/percent: value ≥ first → second points
    at_least = [90, 95]                   # levels style: one threshold per level the indicator applies to
    for_levels = [2]                      # levels style: the levels it applies to (default: all)
    assessable = true                     # metric/share: a counting assessment may stand in (the better wins)
    scale = "points" | "met" | "percent"  # assessment: how the entered value is read
    requires_evidence = true              # assessment: overrides the set default
    metric = {measure = "activities", kinds = ["class_completion"], categories = [], modules = []}
    share = {of = "persons", title = "citizen", count = "eligible", age = [15, -1], occupations = ["worker"]}
    share = {of = "persons", title = "citizen", count = "recognised", projection = "eligible"}
    share = {of = "persons", metric = {measure = "activities"}, metric_at_least = 1, age = [19, 60], when_none = "met"}

Measures: ``activities`` (learning records), ``courses`` (class completions), ``hours`` (sum of hours),
``modules`` (distinct IT module codes). Shares are per cent (0–100) of members: ``of`` persons, households or
villages; counted members hold the title (``count`` "eligible" this year's eligibility, or "recognised": a
recognition for the evaluated year) or reach a metric. ``projection = "eligible"`` (with ``count = "recognised"``):
the result counts recognitions, and the breakdown also says what it would be were this year's eligible members
recognised too — the projection the pages show beside the official result (ADR 51). Ages are at 31 December of the
year; a person without a birth date is outside every age band.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import case, false, null, or_, select, tuple_, update

from courses.models import LearningKind
from lms.extensions import db, utcnow
from lms.registry.models import AreaClass, ManagingLevel, OccupationGroup, OrganisationKind
from lms.titles.models import TITLE_SUBJECT, CriteriaSet, CriteriaStatus, Scoring, SubjectType, Title

SHIPPED_DIR = Path(__file__).parent / "criteria"

KINDS = ("metric", "share", "assessment")
MEASURES = ("activities", "courses", "hours", "modules")
SCALES = ("points", "met", "percent")
SHARE_OF_TITLE = {
    "persons": Title.CITIZEN.value,
    "households": Title.FAMILY.value,
    "villages": Title.VILLAGE_COMMUNITY.value,
}
# Which members a subject has, by kind of member.
SHARE_OF: dict[str, tuple[str, ...]] = {
    SubjectType.HOUSEHOLD.value: ("persons",),
    SubjectType.CLAN.value: ("households", "persons"),
    SubjectType.VILLAGE.value: ("households", "persons"),
    SubjectType.ORGANISATION.value: ("persons",),
    SubjectType.COMMUNE.value: ("persons", "households", "villages"),
}
COUNTS = ("eligible", "recognised")


class CriteriaError(ValueError):
    """A criteria file that cannot be used; ``errors`` lists every problem, each naming its place."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Metric:
    """What the engine measures of a person's learning records, kept once per year in ``title_person_metric`` under
    :func:`lms.titles.engine.metric_key`. Its kinds, categories and modules are sets: they are kept sorted and
    without repeats, so two sets that list them in another order ask for the *same* metric (equal, one hash),
    not two objects with one key whose rows the engine would write twice."""

    measure: str
    kinds: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("kinds", "categories", "modules"):
            object.__setattr__(self, name, tuple(sorted(set(getattr(self, name)))))


@dataclass(frozen=True)
class Share:
    of: str  # persons | households | villages
    title: str | None  # the title members hold …
    count: str  # … as this year's eligibility or as a recognition
    metric: Metric | None  # … or the metric members reach
    metric_at_least: Decimal | None
    age: tuple[int, int | None] | None  # persons only: age at 31 December, bounds included
    occupations: tuple[str, ...]  # persons only: occupation groups (empty: all)
    # What a share of nobody means: "not_met" (nothing shows it) or "met" ("every adult learned" holds vacuously in
    # a household with no adult of the age band).
    when_none: str = "not_met"
    # With count "recognised": members recognised *or* eligible this year, counted apart as a projection (ADR 51).
    projection: str | None = None


@dataclass(frozen=True)
class AreaBar:
    """Lower (or other) bars for communes of some area classes: "xã thuộc vùng khó khăn" (Circular 25, 6.5.b)."""

    area_classes: tuple[str, ...]
    at_least: tuple[Decimal, ...]  # one per level of the indicator, like Indicator.at_least
    reason: str  # the clause that sets them, shown in the explanation


@dataclass(frozen=True)
class AppliesTo:
    """The organisations an indicator is about (empty: all); for the others it is "not applicable" and met."""

    managing_levels: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True)
class Population:
    """Who is a subject of a person title (the set's own rule): outside it a person is "not applicable", never
    "not yet eligible". A person without a birth date is inside (evaluated, never silently dropped)."""

    age: tuple[int, int | None] | None
    provisional: bool
    source: str
    note: str


@dataclass(frozen=True)
class Upgrade:
    """A subject recognised at ``to_level - 1`` may ask for ``to_level`` only once ``after_months`` counted from that
    decision have run out (Circular 24, Art. 5.3 / 11.3: "sau ít nhất 1 năm (12 tháng) kể từ ngày ra quyết định công
    nhận"), counted as the Civil Code does (``deadlines.first_day_after``, ADR 59); ``request_by`` (month, day) of the
    year after the evaluated one is the last day the request can go in — 14 January for a dossier due "trước ngày 15
    tháng 1" (Art. 10.1.c / 16.1.c)."""

    to_level: int
    after_months: int
    request_by: tuple[int, int]
    source_ref: str


@dataclass(frozen=True)
class Indicator:
    code: str
    name: str
    name_en: str
    group: str
    source_ref: str
    kind: str
    provisional: bool
    # Where a provisional value came from ("chọn cho bản trình diễn", "mục tiêu của Kế hoạch 1514"): a leader who
    # submits a result must be able to tell a clause of a circular from a placeholder (ADR 18).
    source: str
    source_en: str
    requires_evidence: bool
    max_points: int | None
    min_points: int | None
    thresholds: tuple[tuple[Decimal, int], ...]  # points style: (value at least, points), both rising
    at_least: tuple[Decimal, ...]  # levels style: one per level in for_levels, not falling
    for_levels: tuple[int, ...]
    scale: str | None  # assessment (or a metric/share that is assessable): points | met | percent
    assessable: bool
    metric: Metric | None
    share: Share | None
    area_bars: tuple[AreaBar, ...] = ()
    # Codes of indicators whose being met implies this one: a stricter grade of the same standard (Circular 25,
    # Art. 8.1.b), or the same fact asked again at a higher level of fewer organisations (Circular 24, Art. 7.3.c). For
    # a percentage: a share of fewer members, met and at or above this one's bar (Circular 24, Art. 6.2.d → 7.2.d).
    implied_by: tuple[str, ...] = ()
    applies_to: tuple[AppliesTo, ...] = ()  # any of them (empty: every organisation)
    note: str = ""  # for the evaluator (Vietnamese): how the text's conditions read for some organisations

    @property
    def reads_assessment(self) -> bool:
        return self.kind == "assessment" or self.assessable

    def bars_for(self, area_class: str | None) -> tuple[tuple[Decimal, ...], AreaBar | None]:
        """The thresholds per level for a commune of ``area_class``, and the area bar that set them (None:
        the standard ones)."""
        for bar in self.area_bars:
            if area_class in bar.area_classes:
                return bar.at_least, bar
        return self.at_least, None

    def applies(self, managing_level: str | None, kind: str | None) -> bool:
        if not self.applies_to:
            return True
        return any(
            (not a.managing_levels or managing_level in a.managing_levels) and (not a.kinds or kind in a.kinds)
            for a in self.applies_to
        )


@dataclass(frozen=True)
class Level:
    level: int
    name: str


@dataclass(frozen=True)
class CriteriaDefinition:
    code: str
    title: str
    subject: str
    name: str
    name_en: str
    source: str
    status: str
    validity_years: int
    scoring: str
    pass_total: Decimal | None
    min_per_indicator: int | None
    levels: tuple[Level, ...]
    managing_levels: tuple[str, ...]
    indicators: tuple[Indicator, ...]
    population: Population | None = None
    # Unit title: kinds of organisation the set is for whatever their managing level (Circular 24, Art. 2.3: the
    # commune People's Committee is a district-level unit), with the clause that says so.
    include_kinds: tuple[str, ...] = ()
    include_kinds_source_ref: str = ""
    # … or only at some managing levels: kind → levels (absent: any level). Decree 142/2025 handed the district's
    # schools to the commune: a school the commune manages is still Circular 24's "Cơ sở giáo dục đánh giá, công nhận
    # ở cấp huyện" (Art. 2.1), a district-level unit (Art. 2.3) — ADR 51 (finding L8).
    include_kind_levels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    upgrade: Upgrade | None = None

    def includes(self, kind: str | None, managing_level: str | None) -> bool:
        """Whether this unit set takes an organisation of ``kind`` whatever the managing level its own rule reads."""
        if kind is None or str(kind) not in self.include_kinds:
            return False
        levels = dict(self.include_kind_levels).get(str(kind), ())
        return not levels or str(managing_level) in levels

    def indicator(self, code: str) -> Indicator | None:
        return next((i for i in self.indicators if i.code == code), None)

    @property
    def max_level(self) -> int:
        return self.levels[-1].level if self.levels else 0


# --- parsing and validation ----------------------------------------------------------------------------------


class _Checker:
    """Collects every error (with its place) instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def error(self, place: str, message: str) -> None:
        self.errors.append(f"{place}: {message}")

    def text(self, data: dict[str, Any], key: str, place: str, *, required: bool = True, default: str = "") -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.error(f"{place}{key}", "is required")
            return default
        if not isinstance(value, str) or (required and not value.strip()):
            self.error(f"{place}{key}", "must be a non-empty text")
            return default
        return value.strip()

    def choice(
        self, data: dict[str, Any], key: str, place: str, choices: tuple[str, ...], *, default: str | None = None
    ) -> str | None:
        value = data.get(key, default)
        if value is None:
            self.error(f"{place}{key}", f"is required (one of {', '.join(choices)})")
            return None
        if value not in choices:
            self.error(f"{place}{key}", f"must be one of {', '.join(choices)}, not {value!r}")
            return None
        return str(value)

    def integer(
        self, data: dict[str, Any], key: str, place: str, *, required: bool = True, minimum: int = 0
    ) -> int | None:
        value = data.get(key)
        if value is None:
            if required:
                self.error(f"{place}{key}", "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.error(f"{place}{key}", f"must be a whole number of at least {minimum}")
            return None
        return value

    def number(self, value: Any, place: str) -> Decimal | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(place, "must be a number")
            return None
        try:
            number = Decimal(str(value))
        except InvalidOperation:  # pragma: no cover - tomllib never yields such floats but nan/inf
            number = Decimal("NaN")
        if not number.is_finite() or number < 0:
            self.error(place, "must be a number of at least 0")
            return None
        return number

    def flag(self, data: dict[str, Any], key: str, place: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.error(f"{place}{key}", "must be true or false")
            return default
        return value

    def texts(
        self, data: dict[str, Any], key: str, place: str, choices: tuple[str, ...] | None = None
    ) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.error(f"{place}{key}", "must be a list of texts")
            return ()
        if choices is not None:
            for v in value:
                if v not in choices:
                    self.error(f"{place}{key}", f"{v!r} is not one of {', '.join(choices)}")
        return tuple(value)

    def unknown(self, data: dict[str, Any], allowed: set[str], place: str) -> None:
        for key in sorted(set(data) - allowed):
            self.error(f"{place}{key}", "is not a known field")


_SET_KEYS = {
    "code",
    "title",
    "subject",
    "name",
    "name_en",
    "source",
    "status",
    "validity_years",
    "scoring",
    "pass_total",
    "min_per_indicator",
    "levels",
    "managing_levels",
    "assessments_require_evidence",
    "indicators",
    "description",
    "population",
    "include_kinds",
    "upgrade",
}
_INDICATOR_KEYS = {
    "code",
    "name",
    "name_en",
    "group",
    "source_ref",
    "kind",
    "provisional",
    "source",
    "source_en",
    "requires_evidence",
    "max_points",
    "min_points",
    "thresholds",
    "at_least",
    "for_levels",
    "scale",
    "assessable",
    "metric",
    "share",
    "note",
    "area_bars",
    "implied_by",
    "applies_to",
}


def _metric(c: _Checker, data: Any, place: str) -> Metric | None:
    if not isinstance(data, dict):
        c.error(place, 'must be a table such as {measure = "activities"}')
        return None
    c.unknown(data, {"measure", "kinds", "categories", "modules"}, f"{place}.")
    measure = c.choice(data, "measure", f"{place}.", MEASURES)
    kinds = c.texts(data, "kinds", f"{place}.", tuple(k.value for k in LearningKind))
    categories = c.texts(data, "categories", f"{place}.")
    modules = c.texts(data, "modules", f"{place}.")
    return Metric(measure or "activities", kinds, categories, modules)


def _share(c: _Checker, data: Any, place: str, subject: str) -> Share | None:
    if not isinstance(data, dict):
        c.error(place, 'must be a table such as {of = "persons", title = "citizen"}')
        return None
    c.unknown(
        data,
        {"of", "title", "count", "metric", "metric_at_least", "age", "occupations", "when_none", "projection"},
        f"{place}.",
    )
    allowed = SHARE_OF.get(subject, ())
    if not allowed:
        c.error(place, f"a {subject} has no members to take a share of")
        return None
    of = c.choice(data, "of", f"{place}.", allowed) or allowed[0]
    title = data.get("title")
    metric = None
    metric_at_least = None
    if "metric" in data:
        if title is not None:
            c.error(place, "give either title or metric, not both")
        if of != "persons":
            c.error(f"{place}.metric", "only persons have learning records")
        metric = _metric(c, data["metric"], f"{place}.metric")
        metric_at_least = c.number(data.get("metric_at_least", 1), f"{place}.metric_at_least")
    elif title != SHARE_OF_TITLE[of]:
        c.error(f"{place}.title", f"{of} hold the title {SHARE_OF_TITLE[of]!r} (or give a metric)")
    count = c.choice(data, "count", f"{place}.", COUNTS, default="eligible") or "eligible"
    age: tuple[int, int | None] | None = None
    if "age" in data:
        raw = data["age"]
        if of != "persons":
            c.error(f"{place}.age", "only persons have an age")
        elif (
            not isinstance(raw, list)
            or len(raw) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= -1 for v in raw)
            or raw[0] < 0
        ):
            c.error(f"{place}.age", "must be [from, to] in whole years (to = -1: no upper bound)")
        else:
            low, high = raw
            age = (low, None if high < 0 else high)
            if age[1] is not None and age[0] > age[1]:
                c.error(f"{place}.age", "from must not be above to")
    occupations = c.texts(data, "occupations", f"{place}.", tuple(o.value for o in OccupationGroup))
    if occupations and of != "persons":
        c.error(f"{place}.occupations", "only persons have an occupation")
    when_none = c.choice(data, "when_none", f"{place}.", ("not_met", "met"), default="not_met") or "not_met"
    projection = None
    if "projection" in data:
        projection = c.choice(data, "projection", f"{place}.", ("eligible",))
    if projection is not None and (count != "recognised" or metric is not None):
        c.error(f"{place}.projection", 'projects recognitions only: give it with count = "recognised" and a title')
        projection = None
    return Share(
        of, title if metric is None else None, count, metric, metric_at_least, age, occupations, when_none, projection
    )


def _indicator(
    c: _Checker, data: Any, index: int, scoring: str, subject: str, levels: tuple[int, ...], evidence_default: bool
) -> Indicator | None:
    place = f"indicators[{index}]"
    if not isinstance(data, dict):
        c.error(place, "must be a table")
        return None
    p = f"{place}."
    c.unknown(data, _INDICATOR_KEYS, p)
    code = c.text(data, "code", p)
    if code and (len(code) > 40 or "|" in code):
        c.error(f"{p}code", "must be at most 40 characters, without '|'")
    name = c.text(data, "name", p)
    name_en = c.text(data, "name_en", p, required=False, default=name)
    group = c.text(data, "group", p, required=False)
    source_ref = c.text(data, "source_ref", p)
    kind = c.choice(data, "kind", p, KINDS) or "assessment"
    provisional = c.flag(data, "provisional", p, False)
    source = c.text(data, "source", p, required=False)
    source_en = c.text(data, "source_en", p, required=False, default=source)
    if provisional and not source and isinstance(data.get("source", ""), str):
        c.error(
            f"{p}source", 'is required for a provisional indicator: where its values came from ("chosen for the demo")'
        )
    assessable = c.flag(data, "assessable", p, False)
    if assessable and kind == "assessment":
        c.error(f"{p}assessable", "is for metric and share indicators")
    scale = None
    if kind == "assessment" or assessable:
        scale = c.choice(data, "scale", p, SCALES, default="met")
        if scale == "points" and scoring != Scoring.POINTS:
            c.error(f"{p}scale", "points need the points scoring style")
    elif "scale" in data:
        c.error(f"{p}scale", "is for assessments")
    requires_evidence = c.flag(data, "requires_evidence", p, evidence_default if scale else False)
    if requires_evidence and not scale:
        c.error(f"{p}requires_evidence", "only assessed values carry evidence")
    metric = share = None
    if kind == "metric":
        if subject != SubjectType.PERSON:
            c.error(f"{p}kind", "a metric over learning records is for persons; groups take a share of members")
        metric = _metric(c, data.get("metric"), f"{p}metric")
    elif "metric" in data:
        c.error(f"{p}metric", "is for metric indicators")
    if kind == "share":
        share = _share(c, data.get("share"), f"{p}share", subject)
    elif "share" in data:
        c.error(f"{p}share", "is for share indicators")
    needs_scale = kind != "assessment" or scale == "percent"

    max_points = min_points = None
    thresholds: tuple[tuple[Decimal, int], ...] = ()
    at_least: tuple[Decimal, ...] = ()
    for_levels: tuple[int, ...] = ()
    if scoring == Scoring.POINTS:
        for key in ("at_least", "for_levels"):
            if key in data:
                c.error(f"{p}{key}", "is for the levels scoring style")
        max_points = c.integer(data, "max_points", p, minimum=1)
        min_points = c.integer(data, "min_points", p, required=False)
        if max_points is not None and min_points is not None and min_points > max_points:
            c.error(f"{p}min_points", "must not be above max_points")
        raw = data.get("thresholds")
        if needs_scale:
            if not isinstance(raw, list) or not raw:
                c.error(f"{p}thresholds", "is required: a list of [value at least, points]")
            else:
                pairs = []
                for n, pair in enumerate(raw):
                    if not isinstance(pair, list) or len(pair) != 2:
                        c.error(f"{p}thresholds[{n}]", "must be [value at least, points]")
                        continue
                    value = c.number(pair[0], f"{p}thresholds[{n}][0]")
                    points = pair[1]
                    if isinstance(points, bool) or not isinstance(points, int) or points < 0:
                        c.error(f"{p}thresholds[{n}][1]", "points must be a whole number of at least 0")
                        continue
                    if max_points is not None and points > max_points:
                        c.error(f"{p}thresholds[{n}][1]", f"must not be above max_points ({max_points})")
                    if value is not None:
                        pairs.append((value, points))
                if any(b[0] <= a[0] or b[1] <= a[1] for a, b in pairwise(pairs)):
                    c.error(f"{p}thresholds", "must rise: each value and its points above the previous")
                thresholds = tuple(pairs)
        elif raw is not None:
            c.error(f"{p}thresholds", f"is not used by a {scale} assessment")
    else:
        for key in ("max_points", "min_points", "thresholds"):
            if key in data:
                c.error(f"{p}{key}", "is for the points scoring style")
        raw_levels = data.get("for_levels", list(levels))
        if (
            not isinstance(raw_levels, list)
            or not raw_levels
            or any(v not in levels for v in raw_levels)
            or raw_levels != sorted(set(raw_levels))
        ):
            c.error(f"{p}for_levels", f"must be a rising list of the set's levels {list(levels)}")
            raw_levels = list(levels)
        for_levels = tuple(raw_levels)
        raw = data.get("at_least")
        if needs_scale:
            if not isinstance(raw, list) or len(raw) != len(for_levels):
                c.error(f"{p}at_least", f"is required: one threshold for each of the levels {list(for_levels)}")
            else:
                values = [c.number(v, f"{p}at_least[{n}]") for n, v in enumerate(raw)]
                clean = [v for v in values if v is not None]
                if any(b < a for a, b in pairwise(clean)):
                    c.error(f"{p}at_least", "must not fall from one level to the next")
                at_least = tuple(clean)
        elif raw is not None:
            c.error(f"{p}at_least", f"is not used by a {scale} assessment")
    if share is not None and any(v > 100 for v in ([t[0] for t in thresholds] + list(at_least))):
        c.error(f"{p}{'thresholds' if thresholds else 'at_least'}", "a share is a percentage: at most 100")
    area_bars = _area_bars(c, data, p, scoring, needs_scale, for_levels)
    implied_by = c.texts(data, "implied_by", p)
    if implied_by and scoring != Scoring.LEVELS:
        c.error(f"{p}implied_by", "is for the levels scoring style")
    applies_to: tuple[AppliesTo, ...] = ()
    if "applies_to" in data:
        raw_applies = data["applies_to"]
        # One table, or a list of them: the indicator is about an organisation any of them describes (Circular 24,
        # Art. 7.3.c / 13.3.c: a district-level public body, or any province-level unit).
        alternatives = raw_applies if isinstance(raw_applies, list) else [raw_applies]
        if (
            subject != SubjectType.ORGANISATION
            or not alternatives
            or not all(isinstance(a, dict) and a for a in alternatives)
        ):
            c.error(
                f"{p}applies_to",
                "is for organisations: {managing_levels = [...], kinds = [...]}, or a list of them (any of them)",
            )
        else:
            for n, raw in enumerate(alternatives):
                place = f"{p}applies_to[{n}]." if isinstance(raw_applies, list) else f"{p}applies_to."
                c.unknown(raw, {"managing_levels", "kinds"}, place)
                applies_to += (
                    AppliesTo(
                        c.texts(raw, "managing_levels", place, tuple(m.value for m in ManagingLevel)),
                        c.texts(raw, "kinds", place, tuple(k.value for k in OrganisationKind)),
                    ),
                )
    return Indicator(
        code=code,
        name=name,
        name_en=name_en,
        group=group,
        source_ref=source_ref,
        kind=kind,
        provisional=provisional,
        source=source,
        source_en=source_en,
        requires_evidence=requires_evidence,
        max_points=max_points,
        min_points=min_points,
        thresholds=thresholds,
        at_least=at_least,
        for_levels=for_levels,
        scale=scale,
        assessable=assessable,
        metric=metric,
        share=share,
        area_bars=area_bars,
        implied_by=implied_by,
        applies_to=applies_to,
        note=c.text(data, "note", p, required=False),
    )


def _area_bars(
    c: _Checker, data: dict[str, Any], p: str, scoring: str, needs_scale: bool, for_levels: tuple[int, ...]
) -> tuple[AreaBar, ...]:
    raw = data.get("area_bars")
    if raw is None:
        return ()
    if scoring != Scoring.LEVELS or not needs_scale:
        c.error(f"{p}area_bars", "is for levels-style indicators with thresholds (at_least)")
        return ()
    if not isinstance(raw, list) or not raw:
        c.error(f"{p}area_bars", 'must be a list of {area_classes = [...], at_least = [...], reason = "..."}')
        return ()
    bars: list[AreaBar] = []
    seen: set[str] = set()
    for n, item in enumerate(raw):
        place = f"{p}area_bars[{n}]"
        if not isinstance(item, dict):
            c.error(place, "must be a table")
            continue
        c.unknown(item, {"area_classes", "at_least", "reason"}, f"{place}.")
        classes = c.texts(item, "area_classes", f"{place}.", tuple(a.value for a in AreaClass))
        if not classes:
            c.error(f"{place}.area_classes", "is required: the area classes the bars are for")
        for area in classes:
            if area in seen:
                c.error(f"{place}.area_classes", f"{area!r} has bars twice")
            seen.add(area)
        values = item.get("at_least")
        if not isinstance(values, list) or len(values) != len(for_levels):
            c.error(f"{place}.at_least", f"is required: one threshold for each of the levels {list(for_levels)}")
            continue
        numbers = [c.number(v, f"{place}.at_least[{k}]") for k, v in enumerate(values)]
        clean = [v for v in numbers if v is not None]
        if any(b < a for a, b in pairwise(clean)):
            c.error(f"{place}.at_least", "must not fall from one level to the next")
        bars.append(AreaBar(classes, tuple(clean), c.text(item, "reason", f"{place}.")))
    return tuple(bars)


def _population(c: _Checker, data: Any, subject: str) -> Population | None:
    if data is None:
        return None
    if subject != SubjectType.PERSON or not isinstance(data, dict):
        c.error("population", "is for person titles: {age = [from, to], provisional, source, note}")
        return None
    c.unknown(data, {"age", "provisional", "source", "note"}, "population.")
    raw = data.get("age")
    age: tuple[int, int | None] | None = None
    if raw is not None:
        if (
            not isinstance(raw, list)
            or len(raw) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= -1 for v in raw)
            or raw[0] < 0
        ):
            c.error("population.age", "must be [from, to] in whole years (to = -1: no upper bound)")
        else:
            age = (raw[0], None if raw[1] < 0 else raw[1])
    return Population(
        age,
        c.flag(data, "provisional", "population.", False),
        c.text(data, "source", "population."),
        c.text(data, "note", "population.", required=False),
    )


def parse(definition: dict[str, Any]) -> CriteriaDefinition:
    """Validate a criteria set's content (as read from its TOML file); raise :class:`CriteriaError` listing all
    problems, each with its place (``indicators[3].thresholds: must rise``)."""
    c = _Checker()
    if not isinstance(definition, dict):
        raise CriteriaError(["(file): must be a table of fields"])
    c.unknown(definition, _SET_KEYS, "")
    code = c.text(definition, "code", "")
    if code and len(code) > 60:
        c.error("code", "must be at most 60 characters")
    title = c.choice(definition, "title", "", tuple(t.value for t in Title))
    subject = c.choice(definition, "subject", "", tuple(s.value for s in SubjectType))
    if title and subject and TITLE_SUBJECT[Title(title)] != subject:
        c.error("subject", f"the title {title!r} is about a {TITLE_SUBJECT[Title(title)].value}, not a {subject}")
    name = c.text(definition, "name", "")
    name_en = c.text(definition, "name_en", "", required=False, default=name)
    source = c.text(definition, "source", "")
    status = c.choice(definition, "status", "", tuple(s.value for s in CriteriaStatus))
    validity = definition.get("validity_years")
    if validity not in (1, 3) or isinstance(validity, bool):
        c.error("validity_years", "must be 1 or 3")
    scoring = c.choice(definition, "scoring", "", tuple(s.value for s in Scoring)) or Scoring.POINTS.value
    pass_total = None
    min_per_indicator = None
    levels: list[Level] = []
    if scoring == Scoring.POINTS:
        if "levels" in definition:
            c.error("levels", "is for the levels scoring style")
        raw_total = definition.get("pass_total")
        pass_total = c.number(raw_total, "pass_total") if raw_total is not None else None
        if raw_total is None:
            c.error("pass_total", "is required for the points scoring style")
        min_per_indicator = c.integer(definition, "min_per_indicator", "", required=False)
    else:
        for key in ("pass_total", "min_per_indicator"):
            if key in definition:
                c.error(key, "is for the points scoring style")
        raw_levels = definition.get("levels")
        if not isinstance(raw_levels, list) or not raw_levels:
            c.error("levels", 'is required: a list such as [{level = 1, name = "Mức độ 1"}]')
        else:
            for n, item in enumerate(raw_levels):
                if not isinstance(item, dict) or item.get("level") != n + 1:
                    c.error(f"levels[{n}]", f"must be a table with level = {n + 1} (levels count up from 1)")
                    continue
                levels.append(Level(n + 1, c.text(item, "name", f"levels[{n}].")))
    managing_levels: tuple[str, ...] = ()
    if title == Title.UNIT:
        managing_levels = c.texts(definition, "managing_levels", "", tuple(m.value for m in ManagingLevel))
        if not managing_levels:
            c.error("managing_levels", "is required for the unit title: the managing levels the set is for")
    elif "managing_levels" in definition:
        c.error("managing_levels", "is for the unit title only")
    include_kinds: tuple[str, ...] = ()
    include_kinds_source_ref = ""
    include_kind_levels: list[tuple[str, tuple[str, ...]]] = []
    if "include_kinds" in definition:
        raw_include = definition["include_kinds"]
        tables = raw_include if isinstance(raw_include, list) else [raw_include]
        if title != Title.UNIT or not tables or not all(isinstance(t, dict) for t in tables):
            c.error(
                "include_kinds",
                'is for the unit title: {kinds = ["commune_committee"], source_ref = "…"} or a list of such tables '
                '(each may add managing_levels = ["commune"])',
            )
        else:
            kinds: list[str] = []
            refs: list[str] = []
            for n, raw in enumerate(tables):
                place = f"include_kinds[{n}]." if isinstance(raw_include, list) else "include_kinds."
                c.unknown(raw, {"kinds", "managing_levels", "source_ref"}, place)
                these = c.texts(raw, "kinds", place, tuple(k.value for k in OrganisationKind))
                only_at: tuple[str, ...] = ()
                if "managing_levels" in raw:
                    only_at = c.texts(raw, "managing_levels", place, tuple(m.value for m in ManagingLevel))
                for kind in these:
                    if kind in kinds:
                        c.error(f"{place}kinds", f"{kind!r} is already included")
                    kinds.append(kind)
                    if only_at:
                        include_kind_levels.append((kind, tuple(only_at)))
                refs.append(c.text(raw, "source_ref", place))
            include_kinds = tuple(kinds)
            include_kinds_source_ref = "; ".join(r for r in refs if r)
    evidence_default = c.flag(definition, "assessments_require_evidence", "", scoring == Scoring.LEVELS)
    raw_indicators = definition.get("indicators")
    indicators: list[Indicator] = []
    if not isinstance(raw_indicators, list) or not raw_indicators:
        c.error("indicators", "is required: at least one [[indicators]] table")
    else:
        level_numbers = tuple(level.level for level in levels)
        for n, raw in enumerate(raw_indicators):
            indicator = _indicator(c, raw, n, scoring, subject or "", level_numbers, evidence_default)
            if indicator is not None:
                indicators.append(indicator)
        seen: set[str] = set()
        for n, indicator in enumerate(indicators):
            if indicator.code and indicator.code in seen:
                c.error(f"indicators[{n}].code", f"{indicator.code!r} is used twice")
            seen.add(indicator.code)
        if scoring == Scoring.POINTS and pass_total is not None:
            most = sum(i.max_points or 0 for i in indicators)
            if pass_total > most:
                c.error("pass_total", f"is above the most points the indicators can give ({most})")
        codes = {i.code for i in indicators}
        for n, indicator in enumerate(indicators):
            for implying in indicator.implied_by:
                if implying not in codes or implying == indicator.code:
                    c.error(f"indicators[{n}].implied_by", f"{implying!r} is not another indicator of the set")
        if scoring == Scoring.LEVELS:
            for level in levels:
                if not any(level.level in i.for_levels for i in indicators):
                    c.error(f"levels[{level.level - 1}]", "no indicator applies to this level")
    population = _population(c, definition.get("population"), subject or "")
    upgrade = None
    if "upgrade" in definition:
        raw_upgrade = definition["upgrade"]
        if scoring != Scoring.LEVELS or not isinstance(raw_upgrade, dict):
            c.error(
                "upgrade", "is for the levels style: {to_level, after_months, request_by = [month, day], source_ref}"
            )
        else:
            c.unknown(raw_upgrade, {"to_level", "after_months", "request_by", "source_ref"}, "upgrade.")
            to_level = c.integer(raw_upgrade, "to_level", "upgrade.", minimum=2)
            if to_level is not None and to_level > len(levels):
                c.error("upgrade.to_level", "is not a level of the set")
            months = c.integer(raw_upgrade, "after_months", "upgrade.", minimum=1)
            request_by = raw_upgrade.get("request_by")
            if not (
                isinstance(request_by, list)
                and len(request_by) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in request_by)
                and 1 <= request_by[0] <= 12
                and 1 <= request_by[1] <= 28
            ):
                c.error("upgrade.request_by", "must be [month, day] (day 1–28) of the year after the evaluated one")
                request_by = [1, 14]
            upgrade = Upgrade(
                to_level or 2,
                months or 12,
                (request_by[0], request_by[1]),
                c.text(raw_upgrade, "source_ref", "upgrade."),
            )
    if c.errors:
        raise CriteriaError(c.errors)
    return CriteriaDefinition(
        code=code,
        title=title or "",
        subject=subject or "",
        name=name,
        name_en=name_en,
        source=source,
        status=status or "",
        validity_years=validity if isinstance(validity, int) else 1,
        scoring=scoring,
        pass_total=pass_total,
        min_per_indicator=min_per_indicator,
        levels=tuple(levels),
        managing_levels=managing_levels,
        indicators=tuple(
            i if i.min_points is not None or scoring != Scoring.POINTS else _with_min(i, min_per_indicator or 0)
            for i in indicators
        ),
        population=population,
        include_kinds=include_kinds,
        include_kinds_source_ref=include_kinds_source_ref,
        include_kind_levels=tuple(include_kind_levels),
        upgrade=upgrade,
    )


def _with_min(indicator: Indicator, minimum: int) -> Indicator:
    return replace(indicator, min_points=min(minimum, indicator.max_points or 0))


# --- versions in the database ---------------------------------------------------------------------------------


def content_digest(definition: dict[str, Any]) -> str:
    """The SHA-256 of the content, not of the file: comments and layout do not make a new version."""
    canonical = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def read_toml(source: Path | bytes, filename: str = "") -> dict[str, Any]:
    raw = source.read_bytes() if isinstance(source, Path) else source
    name = filename or (source.name if isinstance(source, Path) else "")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise CriteriaError([f"{name or '(file)'}: is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise CriteriaError([f"{name or '(file)'}: not valid TOML ({exc})"]) from None


def load_criteria(source: Path | bytes, *, filename: str = "", loaded_by_id: int | None = None) -> CriteriaSet:
    """Load one criteria file as a version of its set, in the caller's transaction (flushes, never commits).

    The same content as an existing version of the code returns that version unchanged (loading is idempotent,
    and reloading the shipped files never undoes an administrator's newer upload); changed content becomes a new
    version, active, and the set it replaces inactive: the earlier versions of the code and any other set of the
    title (for the unit title, of the same managing levels). Raises :class:`CriteriaError`.
    """
    data = read_toml(source, filename)
    definition = parse(data)
    digest = content_digest(data)
    existing = db.session.scalar(
        select(CriteriaSet).where(CriteriaSet.code == definition.code, CriteriaSet.content_sha256 == digest)
    )
    if existing is not None:
        return existing
    last = db.session.scalar(select(db.func.max(CriteriaSet.version)).where(CriteriaSet.code == definition.code))
    # The new version replaces the active set of its title: the earlier versions of its code, and any other code
    # for the same title (for the unit title: only a set for the same managing levels).
    replaced = [
        row.id
        for row in active_sets(definition.title)
        if row.code == definition.code
        or not definition.managing_levels
        or set(definition_of(row).managing_levels) & set(definition.managing_levels)
    ]
    db.session.execute(
        update(CriteriaSet)
        .where(or_(CriteriaSet.code == definition.code, CriteriaSet.id.in_(replaced)))
        .values(active=False)
    )
    row = CriteriaSet(
        code=definition.code,
        version=(last or 0) + 1,
        title=definition.title,
        subject_type=definition.subject,
        scoring=definition.scoring,
        status=definition.status,
        validity_years=definition.validity_years,
        name=definition.name[:300],
        source=definition.source[:300],
        definition=data,
        content_sha256=digest,
        active=True,
        loaded_at=utcnow(),
        loaded_by_id=loaded_by_id,
    )
    db.session.add(row)
    db.session.flush()
    _cache.pop(row.id, None)
    _digests.pop(row.id, None)
    return row


def load_shipped_criteria() -> list[CriteriaSet]:
    """Load every shipped file (``lms/titles/criteria/*.toml``), all or nothing: every file's errors together."""
    rows: list[CriteriaSet] = []
    errors: list[str] = []
    for path in sorted(SHIPPED_DIR.glob("*.toml")):
        try:
            rows.append(load_criteria(path))
        except CriteriaError as exc:
            errors.extend(f"{path.name}: {e}" for e in exc.errors)
    if errors:
        raise CriteriaError(errors)
    return rows


_cache: dict[int, CriteriaDefinition] = {}
_digests: dict[int, str] = {}  # id → content digest of the definition cached by :func:`active_definitions`


@dataclass(frozen=True)
class ActiveSet:
    """An active criteria set as the engine needs it: its id, code, title and parsed definition."""

    id: int
    code: str
    title: str
    definition: CriteriaDefinition
    digest: str = ""  # the stored version's content digest


def active_definitions() -> list[ActiveSet]:
    """Every active criteria set, ordered by code, with its parsed definition, in one statement without ORM
    objects: a definition's content is sent only for a version this process has not parsed yet (a version's content
    never changes; its digest tells a stale entry from a new one), so the usual read is ids, codes and digests."""
    known = sorted(_digests.items())
    fresh = tuple_(CriteriaSet.id, CriteriaSet.content_sha256).in_(known) if known else false()
    rows = db.session.execute(
        select(
            CriteriaSet.id,
            CriteriaSet.code,
            CriteriaSet.title,
            CriteriaSet.content_sha256,
            case((fresh, null()), else_=CriteriaSet.definition).label("definition"),
        )
        .where(CriteriaSet.active.is_(True))
        .order_by(CriteriaSet.code)
    ).all()
    for row in rows:
        if row.definition is not None:
            _cache[row.id] = parse(row.definition)
            _digests[row.id] = row.content_sha256
    return [ActiveSet(row.id, row.code, row.title, _cache[row.id], row.content_sha256) for row in rows]


def definition_of(row: CriteriaSet | ActiveSet) -> CriteriaDefinition:
    """The parsed definition of a stored version (versions never change, so the parse is cached by id)."""
    if isinstance(row, ActiveSet):
        return row.definition
    found = _cache.get(row.id)
    if found is None or found.code != row.code:
        found = _cache[row.id] = parse(row.definition)
    return found


def active_sets(title: str) -> list[CriteriaSet]:
    return list(
        db.session.scalars(
            select(CriteriaSet)
            .where(CriteriaSet.title == str(title), CriteriaSet.active.is_(True))
            .order_by(CriteriaSet.code)
        )
    )


def active_set(title: str, *, managing_level: str | None = None, kind: str | None = None) -> CriteriaSet | None:
    """The active version used for new evaluations of ``title``. The unit title has one set per kind of
    organisation: commune-managed organisations use Decision 448 part D, district- and province-managed ones
    Circular 24 — pass the organisation's ``managing_level``."""
    rows = active_sets(title)
    if managing_level is None:
        return rows[0] if len(rows) == 1 or title != Title.UNIT else None
    if kind is not None:
        for row in rows:
            if definition_of(row).includes(kind, managing_level):
                return row
    for row in rows:
        if str(managing_level) in definition_of(row).managing_levels:
            return row
    return None
