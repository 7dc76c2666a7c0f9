"""Plans as data: parse and validate a plan file (``lms/targets/plans/*.toml``) and load it as a plan version.

A plan file names the plan, its source, the unit it applies to, and its indicators. Each indicator defines what
it counts as two *metric definitions* — the denominator, and the numerator as the denominator's conditions plus its
own (so whatever the numerator counts the denominator counts too) — with the denominator's definition in words and
its milestones (targets by year, optionally by the commune's area class).

A metric definition (after the numerator is merged over the denominator):

``subject``              what is counted: ``household``, ``clan``, ``village``, ``organisation``, ``person``, or
                         ``association`` (a commune's Hội Khuyến học branch: one per commune that has members)
``title``                only subjects holding this title in the year (official: recognised; projection: eligible
                         or recognised); the title must be about the subject (``family`` for households…)
``registered_for``       only subjects registered for this title in the year
``managing_levels``      organisations: only those managed at these levels
``occupation_groups``    persons: only these occupation groups (``worker``, ``official``, ``pupil``, ``other``)
``age``                  persons: ``[min, max]`` years of age on 31 December of the year
``member_of``            persons: members of any of these groups, each ``{subject, title?}`` — a *conditional*
                         denominator when a title is given (it moves when recognitions move). Membership of an
                         organisation counts the person in the organisation's commune, and cannot be mixed with
                         other groups
``association_roles``    persons: holding one of these roles in a Hội Khuyến học branch during the year (counted
                         in the branch's commune); ``association_branches`` = ``commune`` (the commune branch only)
                         or ``all`` (commune and village branches, the default)
``learning``             persons: with a learning record of one of these kinds in the year
``it_skills``            a figure of the IT-skills programme (``courses.it_skills.figures``), whose definitions —
                         officer roles, what "trained in IT" and "organises CLC activities" mean, leader and board
                         roles — are data in ``courses/data/it_skills.toml``: persons ``officers``, ``trained``,
                         ``organised``, ``organised_and_trained``, ``members``, ``studied_policy``; associations
                         ``associations``, ``associations_led_in_clc``. No other filter combines with it, but
``phases``               ``studied_policy`` only: the plan's phases, ``[[2021, 2025], [2026, 2030]]``, for a text
                         that counts "trong giai đoạn" — studied at any time from the start of the phase holding
                         the measured year to its end (Plan 1514's policy study). Without it, the measured year.

Loading follows criteria sets: the same content loads as the same version (nothing changes); new content becomes a
new version, active, and the plan's earlier versions are deactivated (their values stay, for history).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from lms.extensions import db
from lms.registry.models import AreaClass, AssociationRole, ManagingLevel, OccupationGroup, UnitLevel
from lms.registry.services import find_unit
from lms.targets import cache
from lms.targets.models import Indicator, Plan, Target

PLANS_DIR = Path(__file__).parent / "plans"

SUBJECTS = ("household", "clan", "village", "organisation", "person", "association")
# The title each subject can hold (titles' TITLE_SUBJECT, seen from the subject).
SUBJECT_TITLE = {
    "household": "family",
    "clan": "clan",
    "village": "village_community",
    "organisation": "unit",
    "person": "citizen",
}
GROUPS = ("household", "clan", "village", "organisation")
LEARNING_KINDS = (
    "class_completion",
    "it_module",
    "policy_study",
    "self_study",
    "external_certificate",
    "activity_organised",
)
PERSON_KEYS = {"occupation_groups", "age", "member_of", "association_roles", "association_branches", "learning"}
IT_SKILLS_FIGURES = {
    "person": ("officers", "meets_basic", "trained", "organised", "organised_and_trained", "members", "studied_policy"),
    "association": ("associations", "associations_led_in_clc"),
}
METRIC_KEYS = {"subject", "title", "registered_for", "managing_levels", "it_skills", "phases"} | PERSON_KEYS
# The IT-skills figures a plan may count over its phases rather than the measured year (see ``phases``).
PHASED_FIGURES = ("studied_policy",)


class PlanError(ValueError):
    """A plan file is invalid; ``errors`` lists every problem, each naming its place in the file."""

    def __init__(self, source: str, errors: list[str]) -> None:
        super().__init__(f"{source}: " + "; ".join(errors))
        self.source = source
        self.errors = errors


class _Errors(list[str]):
    def add(self, place: str, message: str) -> None:
        self.append(f"{place}: {message}")


def _choices(values: Any) -> str:
    return ", ".join(str(v) for v in values)


def _str_list(value: Any, place: str, allowed: Any, errors: _Errors) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        errors.add(place, f"a non-empty list of names from: {_choices(allowed)}")
        return []
    for index, item in enumerate(value):
        if item not in allowed:
            errors.add(f"{place}[{index}]", f"{item!r} is not one of {_choices(allowed)}")
    return list(value)


def validate_metric(metric: Any, place: str, errors: _Errors) -> dict[str, Any]:
    """Check one metric definition; returns it with defaults filled in (``association_branches``)."""
    if not isinstance(metric, dict):
        errors.add(place, 'a table, e.g. { subject = "household" }')
        return {}
    for key in sorted(set(metric) - METRIC_KEYS):
        errors.add(f"{place}.{key}", f"unknown key; expected one of {_choices(sorted(METRIC_KEYS))}")
    subject = metric.get("subject")
    if subject not in SUBJECTS:
        errors.add(f"{place}.subject", f"{subject!r} is not one of {_choices(SUBJECTS)}")
        return dict(metric)
    result = dict(metric)
    if "it_skills" in metric:
        figures = IT_SKILLS_FIGURES.get(subject, ())
        if metric["it_skills"] not in figures:
            errors.add(
                f"{place}.it_skills",
                f"{metric['it_skills']!r} is not an IT-skills figure for {subject}s"
                + (f"; expected one of {_choices(figures)}" if figures else ""),
            )
        for key in sorted(set(metric) - {"subject", "it_skills", "phases"}):
            errors.add(
                f"{place}.{key}",
                "cannot be combined with it_skills (the figure is defined in courses/data/it_skills.toml)",
            )
        if "phases" in metric:
            if metric["it_skills"] not in PHASED_FIGURES:
                errors.add(f"{place}.phases", f"only {_choices(PHASED_FIGURES)} is counted over phases")
            _phases(metric["phases"], f"{place}.phases", errors)
        return result
    if "phases" in metric:
        errors.add(f"{place}.phases", "only with it_skills = " + " or ".join(repr(f) for f in PHASED_FIGURES))
    for key in ("title", "registered_for"):
        if key in metric:
            expected = SUBJECT_TITLE.get(subject)
            if metric[key] != expected:
                errors.add(
                    f"{place}.{key}",
                    f"{metric[key]!r} is not a title a {subject} holds"
                    + (f" (expected {expected!r})" if expected else ""),
                )
    if subject != "person":
        for key in sorted(PERSON_KEYS & set(metric)):
            errors.add(f"{place}.{key}", "only persons can be filtered this way")
    if "managing_levels" in metric:
        if subject != "organisation":
            errors.add(f"{place}.managing_levels", "only organisations have a managing level")
        _str_list(metric["managing_levels"], f"{place}.managing_levels", [m.value for m in ManagingLevel], errors)
    if subject != "person":
        return result
    if "occupation_groups" in metric:
        _str_list(metric["occupation_groups"], f"{place}.occupation_groups", [o.value for o in OccupationGroup], errors)
    if "age" in metric:
        age = metric["age"]
        if (
            not isinstance(age, list)
            or len(age) != 2
            or not all(isinstance(a, int) for a in age)
            or not 0 <= age[0] <= age[1] <= 150
        ):
            errors.add(f"{place}.age", "[min, max] in whole years, min ≤ max, e.g. [19, 60]")
    if "member_of" in metric:
        groups = metric["member_of"]
        if not isinstance(groups, list) or not groups:
            errors.add(f"{place}.member_of", "a non-empty list of { subject = …, title = … }")
        else:
            for index, group in enumerate(groups):
                gplace = f"{place}.member_of[{index}]"
                if not isinstance(group, dict):
                    errors.add(gplace, "a table { subject = …, title = … }")
                    continue
                for key in sorted(set(group) - {"subject", "title"}):
                    errors.add(f"{gplace}.{key}", "unknown key; expected subject, title")
                if group.get("subject") not in GROUPS:
                    errors.add(f"{gplace}.subject", f"{group.get('subject')!r} is not one of {_choices(GROUPS)}")
                elif "title" in group and group["title"] != SUBJECT_TITLE[group["subject"]]:
                    errors.add(
                        f"{gplace}.title",
                        f"{group['title']!r} is not a title a {group['subject']} holds "
                        f"(expected {SUBJECT_TITLE[group['subject']]!r})",
                    )
            subjects = [g.get("subject") for g in groups if isinstance(g, dict)]
            if "organisation" in subjects and len(subjects) > 1:
                errors.add(
                    f"{place}.member_of",
                    "membership of an organisation counts the person in the "
                    "organisation's commune: it cannot be mixed with other groups",
                )
            if "organisation" in subjects and "association_roles" in metric:
                errors.add(
                    f"{place}.member_of",
                    "cannot be combined with association_roles (which commune would count the person?)",
                )
    if "association_roles" in metric:
        _str_list(metric["association_roles"], f"{place}.association_roles", [r.value for r in AssociationRole], errors)
        result.setdefault("association_branches", "all")
    if "association_branches" in metric:
        if "association_roles" not in metric:
            errors.add(f"{place}.association_branches", "needs association_roles")
        if metric["association_branches"] not in ("commune", "all"):
            errors.add(f"{place}.association_branches", '"commune" or "all"')
    if "learning" in metric:
        _str_list(metric["learning"], f"{place}.learning", LEARNING_KINDS, errors)
    return result


def _phases(raw: Any, place: str, errors: _Errors) -> None:
    if (
        not isinstance(raw, list)
        or not raw
        or not all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(y, int) for y in p) and 2000 <= p[0] <= p[1] <= 2100
            for p in raw
        )
    ):
        errors.add(place, "a non-empty list of [first year, last year], e.g. [[2021, 2025], [2026, 2030]]")
        return
    ordered = sorted(raw)
    for earlier, later in itertools.pairwise(ordered):
        if later[0] <= earlier[1]:
            errors.add(place, f"the phases {earlier} and {later} overlap")


def phase_of(metric: dict[str, Any], year: int) -> tuple[int, int] | None:
    """The phase ``[first, last]`` of the metric's ``phases`` that holds ``year``, or None (counted over the year)."""
    for first, last in metric.get("phases") or ():
        if first <= year <= last:
            return first, last
    return None


def _targets(raw: Any, place: str, default_provisional: bool, errors: _Errors) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        errors.add(place, "a non-empty list of { year = 2025, share = 80 } (area_class and provisional optional)")
        return []
    result, seen = [], set()
    areas = [a.value for a in AreaClass]
    for index, target in enumerate(raw):
        tplace = f"{place}[{index}]"
        if not isinstance(target, dict):
            errors.add(tplace, "a table { year = …, share = … }")
            continue
        for key in sorted(set(target) - {"year", "share", "area_class", "provisional"}):
            errors.add(f"{tplace}.{key}", "unknown key; expected year, share, area_class, provisional")
        year = target.get("year")
        if not isinstance(year, int) or not 2000 <= year <= 2100:
            errors.add(f"{tplace}.year", "a year such as 2025")
        try:
            share = Decimal(str(target.get("share")))
            if not 0 <= share <= 100:
                raise InvalidOperation
        except InvalidOperation:
            errors.add(f"{tplace}.share", "a percentage from 0 to 100")
            share = Decimal(0)
        area = target.get("area_class")
        if area is not None and area not in areas:
            errors.add(f"{tplace}.area_class", f"{area!r} is not one of {_choices(areas)}")
        if (year, area) in seen:
            errors.add(tplace, f"a second target for {year}" + (f" and area class {area}" if area else ""))
        seen.add((year, area))
        provisional = target.get("provisional", default_provisional)
        if not isinstance(provisional, bool):
            errors.add(f"{tplace}.provisional", "true or false")
        result.append({"year": year, "share": str(share), "area_class": area, "provisional": bool(provisional)})
    return result


def parse_plan(text: str, source: str = "<plan>") -> dict[str, Any]:
    """Parse and validate a plan file's text; raises :class:`PlanError` listing every problem with its place."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(source, [f"not valid TOML: {exc}"]) from exc
    errors = _Errors()
    for key in sorted(set(raw) - {"code", "name", "name_en", "source", "unit", "provisional", "indicators"}):
        errors.add(key, "unknown key; expected code, name, name_en, source, unit, provisional, indicators")
    for key in ("code", "name", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            errors.add(key, "required text")
    unit = raw.get("unit")
    if (
        not isinstance(unit, dict)
        or unit.get("level") not in [lv.value for lv in UnitLevel]
        or not isinstance(unit.get("code"), str)
    ):
        errors.add(
            "unit",
            '{ level = "province", code = "62", on = "2022-05-19" } (on: optional, for a unit that has since ended)',
        )
    elif "on" in unit:
        try:
            date.fromisoformat(str(unit["on"]))
        except ValueError:
            errors.add("unit.on", "a date as YYYY-MM-DD")
    plan_provisional = raw.get("provisional", False)
    if not isinstance(plan_provisional, bool):
        errors.add("provisional", "true or false")
    indicators = raw.get("indicators")
    result_indicators = []
    if not isinstance(indicators, list) or not indicators:
        errors.add("indicators", "at least one [[indicators]] table")
        indicators = []
    codes: set[str] = set()
    allowed = {
        "code",
        "name",
        "name_en",
        "source_ref",
        "provisional",
        "denominator_text",
        "denominator",
        "numerator",
        "targets",
    }
    for index, ind in enumerate(indicators):
        code = ind.get("code") if isinstance(ind, dict) else None
        place = f"indicators[{index}]" + (f" ({code})" if code else "")
        if not isinstance(ind, dict):
            errors.add(place, "a table")
            continue
        for key in sorted(set(ind) - allowed):
            errors.add(f"{place}.{key}", f"unknown key; expected one of {_choices(sorted(allowed))}")
        if not isinstance(code, str) or not code.strip() or len(code) > 60:
            errors.add(f"{place}.code", "required text of at most 60 characters")
        elif code in codes:
            errors.add(f"{place}.code", f"{code!r} is used by an earlier indicator")
        codes.add(str(code))
        for key in ("name", "denominator_text"):
            if not isinstance(ind.get(key), str) or not ind[key].strip():
                errors.add(f"{place}.{key}", "required text")
        before = len(errors)
        numerator: dict[str, Any] = {}
        denominator = validate_metric(ind.get("denominator"), f"{place}.denominator", errors)
        numerator_raw = ind.get("numerator")
        if len(errors) > before:
            pass  # the denominator's problems would only be repeated under the numerator
        elif not isinstance(numerator_raw, dict) or not numerator_raw:
            errors.add(f"{place}.numerator", "a table of the conditions the numerator adds to the denominator")
        else:
            if "subject" in numerator_raw and numerator_raw["subject"] != denominator.get("subject"):
                errors.add(f"{place}.numerator.subject", "the numerator counts the denominator's subjects")
            numerator = validate_metric({**denominator, **numerator_raw}, f"{place}.numerator", errors)
        provisional = ind.get("provisional", False)
        if not isinstance(provisional, bool):
            errors.add(f"{place}.provisional", "true or false")
        result_indicators.append(
            {
                "code": code,
                "name": ind.get("name"),
                "name_en": ind.get("name_en", ""),
                "source_ref": ind.get("source_ref", ""),
                "provisional": bool(provisional),
                "denominator_text": ind.get("denominator_text"),
                "denominator": denominator,
                "numerator": numerator,
                "targets": _targets(ind.get("targets"), f"{place}.targets", bool(plan_provisional), errors),
            }
        )
    if errors:
        raise PlanError(source, list(errors))
    return {
        "code": raw["code"],
        "name": raw["name"],
        "name_en": raw.get("name_en", ""),
        "source": raw["source"],
        "unit": unit,
        "provisional": plan_provisional,
        "indicators": result_indicators,
    }


@dataclass
class LoadResult:
    plan: Plan
    created: bool  # False: the same content was already loaded as this version


def load_plan(text: str, source: str = "<plan>", *, loaded_by_id: int | None = None) -> LoadResult:
    """Load one plan file's text: same content → the existing version (made active); new content → a new version.

    Flushes; the caller commits.
    """
    definition = parse_plan(text, source)
    unit_spec = definition["unit"]
    on = date.fromisoformat(str(unit_spec["on"])) if "on" in unit_spec else None
    unit = find_unit(unit_spec["code"], unit_spec["level"], on=on)
    if unit is None:
        raise PlanError(
            source,
            [
                f"unit: no {unit_spec['level']} with code {unit_spec['code']!r}"
                + (f" on {on}" if on else " today")
                + " — load the reference units first"
            ],
        )
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    code = definition["code"]
    existing = db.session.scalar(
        select(Plan).where(Plan.code == code, Plan.content_sha256 == digest).order_by(Plan.version.desc())
    )
    if existing is not None:
        if not existing.active:
            db.session.execute(update(Plan).where(Plan.code == code).values(active=False))
            existing.active = True
            cache.bump_after_commit([cache.PLANS])
            db.session.flush()
        return LoadResult(existing, False)
    version = (db.session.scalar(select(func.max(Plan.version)).where(Plan.code == code)) or 0) + 1
    db.session.execute(update(Plan).where(Plan.code == code).values(active=False))
    plan = Plan(
        code=code,
        version=version,
        name=definition["name"],
        source=definition["source"],
        unit_id=unit.id,
        definition=definition,
        content_sha256=digest,
        active=True,
        loaded_by_id=loaded_by_id,
    )
    for position, ind in enumerate(definition["indicators"]):
        indicator = Indicator(
            code=ind["code"],
            position=position,
            name=ind["name"],
            name_en=ind["name_en"],
            numerator=ind["numerator"],
            denominator=ind["denominator"],
            denominator_text=ind["denominator_text"],
            source_ref=ind["source_ref"],
            provisional=ind["provisional"],
        )
        indicator.targets = [
            Target(year=t["year"], area_class=t["area_class"], share=Decimal(t["share"]), provisional=t["provisional"])
            for t in ind["targets"]
        ]
        plan.indicators.append(indicator)
    db.session.add(plan)
    db.session.flush()
    cache.bump_after_commit([cache.PLANS])  # a new version deactivates the old one: every page's plans change
    return LoadResult(plan, True)


def load_plan_file(path: Path, *, loaded_by_id: int | None = None) -> LoadResult:
    return load_plan(path.read_text(encoding="utf-8"), path.name, loaded_by_id=loaded_by_id)


def load_plans(directory: Path = PLANS_DIR, *, loaded_by_id: int | None = None) -> list[LoadResult]:
    """Load every ``*.toml`` plan of ``directory`` (the shipped plans by default). All files are validated before
    anything is written, so one bad file loads nothing."""
    files = sorted(directory.glob("*.toml"))
    problems: list[str] = []
    for path in files:
        try:
            parse_plan(path.read_text(encoding="utf-8"), path.name)
        except PlanError as exc:
            problems.append(str(exc))
    if problems:
        raise PlanError(str(directory), problems)
    return [load_plan_file(path, loaded_by_id=loaded_by_id) for path in files]
