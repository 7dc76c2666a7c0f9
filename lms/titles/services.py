"""Titles' business operations for pages and the API: eligibility in scope, subject names, assessments.

Every query of eligibility or assessments goes through :func:`lms.auth.permissions.scoped` on the row's
``commune_id``: a user sees the rows of the communes in their subtree and nothing else, whatever the filter or id.
Services flush; the request commits. Anything that changes an assessment marks its commune and year for evaluation
(:func:`lms.titles.incremental.mark_subjects`, ADR 29) in the same transaction and leaves an audit event.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import Select, and_, case, func, insert, literal, or_, select
from sqlalchemy.orm import aliased

from lms.auth.permissions import Permission, can, scoped
from lms.core import formatting
from lms.core.imports import changes as _changes
from lms.core.models import EvidenceFile
from lms.core.numbers import whole_number
from lms.core.services import audit
from lms.extensions import db, utcnow
from lms.registry.models import (
    HEAD_RELATIONS,
    AdminUnit,
    Clan,
    Household,
    Organisation,
    OrganisationMember,
    Person,
    UnitLevel,
    clan_household,
    subtree,
)
from lms.titles.incremental import mark_subjects
from lms.titles.models import (
    TITLE_SUBJECT,
    Assessment,
    AssessmentSource,
    CriteriaSet,
    Eligibility,
    Recognition,
    RecognitionStatus,
    SubjectType,
    Title,
    with_assessment_ids,
)

VIEW = Permission.TITLES_VIEW
ASSESS = Permission.TITLES_ASSESS
SUBJECT_TITLE: dict[str, str] = {subject.value: title.value for title, subject in TITLE_SUBJECT.items()}
INDICATOR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
MAX_IMPORT_ROWS = 5000


def _(message: str, **params: Any) -> str:
    """The message in the request's language; in English outside a request (a task, the shell)."""
    if has_request_context():
        return gettext(message, **params)
    return message % params if params else message


class TitlesError(ValueError):
    """A refused operation; ``field`` names the input at fault (form field or API field)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class RecognisedYear(TitlesError):
    """The subject's title is recognised for that year: its assessments are frozen with the decision (a 409)."""


def _recognised(subject_type: str, subject_id: int, year: int) -> bool:
    return (
        db.session.scalar(
            select(Recognition.id)
            .where(
                Recognition.subject_type == subject_type,
                Recognition.subject_id == subject_id,
                Recognition.year == year,
                Recognition.status == RecognitionStatus.RECOGNISED.value,
            )
            .limit(1)
        )
        is not None
    )


def _refuse_if_recognised(subject_type: str, subject_id: int, year: int) -> None:
    """The engine no longer evaluates a recognised subject-year, so a changed assessment would no longer match the
    frozen result and its explanation: refuse it. (Revoke the recognition first if the decision was wrong.)"""
    if _recognised(subject_type, subject_id, year):
        raise RecognisedYear(
            _(
                "The title is already recognised for this subject in %(year)s: its assessments can "
                "no longer be changed. Revoke the recognition first if it was wrong.",
                year=year,
            ),
            "year",
        )


# --- criteria sets, as the pages need them ---------------------------------------------------------------------


@dataclass(frozen=True)
class IndicatorInfo:
    """What a page needs to know about one indicator of a criteria set."""

    code: str
    name: str
    name_en: str
    kind: str  # metric | share | assessment
    requires_evidence: bool = False
    scale: str = ""  # how an assessed value reads: points | met | percent ("" for a computed-only indicator)
    assessable: bool = False  # an assessment indicator, or a computed one an assessed value may stand in for
    max_points: Decimal | None = None
    group: str = ""
    source_ref: str = ""  # the article and clause the indicator comes from
    provisional: bool = False  # no text in the sources supports its values (ADR 18) …
    source: str = ""  # … and where they came from instead
    source_en: str = ""
    rule: str = ""  # the thresholds in a line ("≥ 1 → 5 points; ≥ 2 → 7 points", "level 1 ≥ 90; level 2 ≥ 95")
    # Levels style: the levels the indicator is asked at, when not all of the set's (Circular 24 t3.3b: level 2).
    only_levels: tuple[int, ...] = ()
    # The organisations it is asked of, any of these (managing levels, kinds); empty: every one (others: "not
    # applicable", met by the engine).
    applies_to: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = ()
    note: str = ""  # the criteria file's note for the evaluator (Vietnamese)

    def label(self, locale: str) -> str:
        return (self.name_en if locale == "en" and self.name_en else self.name) or self.code

    def source_label(self, locale: str) -> str:
        return self.source_en if locale == "en" and self.source_en else self.source

    @property
    def value_range(self) -> tuple[Decimal, Decimal]:
        if self.scale == "met":
            return Decimal(0), Decimal(1)
        if self.scale == "percent":
            return Decimal(0), Decimal(100)
        return Decimal(0), self.max_points if self.max_points is not None else Decimal(100)


def indicators_of(criteria_set: CriteriaSet) -> list[IndicatorInfo]:
    """The indicators of a criteria-set version, read through the criteria parser (the one reader of the files)."""
    from lms.titles import criteria

    definition = criteria.definition_of(criteria_set)
    all_levels = tuple(level.level for level in definition.levels)
    return [
        IndicatorInfo(
            code=i.code,
            name=i.name,
            name_en=i.name_en,
            kind=i.kind,
            requires_evidence=i.requires_evidence,
            scale=i.scale or "",
            assessable=i.reads_assessment,
            max_points=Decimal(i.max_points) if i.max_points is not None else None,
            group=i.group,
            source_ref=i.source_ref,
            provisional=i.provisional,
            source=i.source,
            source_en=i.source_en,
            rule=_rule(i),
            only_levels=i.for_levels if all_levels and i.for_levels != all_levels else (),
            applies_to=tuple((a.managing_levels, a.kinds) for a in i.applies_to),
            note=i.note,
        )
        for i in definition.indicators
    ]


def _rule(indicator: Any) -> str:
    """The indicator's thresholds as one line of numbers (the same in both languages)."""
    if indicator.thresholds:
        return "; ".join(f"≥ {value:g} → {points}" for value, points in indicator.thresholds)
    if indicator.at_least:
        return "; ".join(
            f"{level}: ≥ {value:g}" for level, value in zip(indicator.for_levels, indicator.at_least, strict=True)
        )
    return ""


@dataclass(frozen=True)
class ProvisionalBasis:
    """The provisional indicators a result rests on, with the criteria-set version they belong to."""

    criteria_set: CriteriaSet
    indicators: list[IndicatorInfo]


def provisional_basis(criteria_set: CriteriaSet | None, codes: Iterable[str] | None = None) -> ProvisionalBasis | None:
    """The provisional indicators of ``criteria_set`` among ``codes`` (a result's breakdown; None: the whole set), or
    None when the result rests on none. A version the parser no longer reads shows nothing rather than failing."""
    from lms.titles.criteria import CriteriaError

    if criteria_set is None:
        return None
    try:
        indicators = indicators_of(criteria_set)
    except CriteriaError:
        return None
    wanted = None if codes is None else set(codes)
    found = [i for i in indicators if i.provisional and (wanted is None or i.code in wanted)]
    return ProvisionalBasis(criteria_set, found) if found else None


def breakdown_codes(breakdown: Iterable[dict[str, Any]] | None) -> list[str]:
    return [str(item.get("indicator", "")) for item in breakdown or []]


def provisional_bases(criteria_set_ids: Iterable[int]) -> list[ProvisionalBasis]:
    """The provisional indicators of each of these criteria-set versions (a list's rows), one query for all."""
    ids = sorted(set(criteria_set_ids))
    if not ids:
        return []
    rows = db.session.scalars(select(CriteriaSet).where(CriteriaSet.id.in_(ids)).order_by(CriteriaSet.code))
    return [basis for row in rows if (basis := provisional_basis(row)) is not None]


def title_criteria(title: str) -> list[tuple[str, str]]:
    """``(code, name)`` of the active criteria sets of a title: the links of a list to its criteria pages."""
    return [
        (code, name)
        for code, name in db.session.execute(
            select(CriteriaSet.code, CriteriaSet.name)
            .where(CriteriaSet.title == title, CriteriaSet.active.is_(True))
            .order_by(CriteriaSet.code)
        )
    ]


def title_provisional_bases(titles: Iterable[str]) -> dict[str, list[ProvisionalBasis]]:
    """Per title, the provisional indicators of its active criteria sets (the unit title has two): what a figure
    counting holders of the title rests on. One query for all titles."""
    wanted = sorted(set(titles))
    result: dict[str, list[ProvisionalBasis]] = {t: [] for t in wanted}
    if not wanted:
        return result
    rows = db.session.scalars(
        select(CriteriaSet)
        .where(CriteriaSet.title.in_(wanted), CriteriaSet.active.is_(True))
        .order_by(CriteriaSet.title, CriteriaSet.code)
    )
    for row in rows:
        basis = provisional_basis(row)
        if basis is not None:
            result[row.title].append(basis)
    return result


def active_criteria(title: str, managing_level: str | None = None, kind: str | None = None) -> CriteriaSet | None:
    """The criteria-set version new evaluations of ``title`` use (a unit's depends on who manages it, and for a
    commune People's Committee on its kind: Circular 24, Art. 2.3)."""
    from lms.titles import criteria

    if not criteria.active_sets(title):  # nothing loaded yet for this title
        return None
    return criteria.active_set(title, managing_level=managing_level, kind=kind)


def title_indicators(title: str) -> list[IndicatorInfo]:
    """Every indicator of the active sets of a title (the unit title has two), each code once: the choices of the
    "missing indicator" filter."""
    from lms.titles import criteria

    seen: dict[str, IndicatorInfo] = {}
    for row in criteria.active_sets(title):
        for info in indicators_of(row):
            seen.setdefault(info.code, info)
    return list(seen.values())


def indicator_names(title: str, locale: str, criteria_set_ids: Iterable[int | None] = ()) -> dict[str, str]:
    """The indicators of ``title`` by code, as readers call them ("a3" → its name): pages show names, never the
    code (a leader does not know "F3"). ``criteria_set_ids``: the versions the rows shown were judged under, whose
    own names come first — an indicator an older version had and the active one dropped is still named (one query,
    from the stored definitions, which read even where the parser no longer does)."""
    names: dict[str, str] = {}
    ids = {i for i in criteria_set_ids if i}
    if ids:
        for definition in db.session.scalars(select(CriteriaSet.definition).where(CriteriaSet.id.in_(ids))):
            for entry in (definition or {}).get("indicators") or []:
                if not isinstance(entry, dict) or not entry.get("code"):
                    continue
                name = (entry.get("name_en") if locale == "en" else None) or entry.get("name")
                if name:
                    names.setdefault(str(entry["code"]), str(name))
    for info in title_indicators(title):
        if info.name or info.name_en:
            names.setdefault(info.code, info.label(locale))
    # The row the engine adds when the last recognition is too recent to ask for the next level (Circular 24, Art.
    # 5.3; engine._capped): not an indicator of the criteria, and never "an indicator no longer in the criteria".
    names.setdefault("upgrade", _("Raising the level"))
    return names


def indicator_label(names: Mapping[str, str], code: str) -> str:
    """The indicator's name from :func:`indicator_names`; a code no definition names is never shown as it is."""
    return names.get(code) or _("an indicator no longer in the criteria")


def _subject_managing_level(subject_type: str, subject_id: int) -> str | None:
    if subject_type != SubjectType.ORGANISATION:
        return None
    return db.session.scalar(select(Organisation.managing_level).where(Organisation.id == subject_id))


def assessable_indicators(subject_type: str, subject_id: int) -> tuple[CriteriaSet | None, list[IndicatorInfo]]:
    """The active criteria set for the subject's title and its indicators that are assessed (not computed)."""
    title = SUBJECT_TITLE[subject_type]
    kind = (
        db.session.scalar(select(Organisation.kind).where(Organisation.id == subject_id))
        if subject_type == SubjectType.ORGANISATION
        else None
    )
    criteria_set = active_criteria(title, _subject_managing_level(subject_type, subject_id), kind)
    if criteria_set is None:
        return None, []
    return criteria_set, [i for i in indicators_of(criteria_set) if i.assessable]


# --- subjects ------------------------------------------------------------------------------------------------


def subject_place(subject_type: str, subject_id: int) -> tuple[int, int | None] | None:
    """``(commune_id, village_id)`` of a subject, or None if there is no such subject (one query)."""
    parent = aliased(AdminUnit)
    stmt: Select[Any]
    if subject_type == SubjectType.PERSON:
        unit = aliased(AdminUnit)
        stmt = (
            select(
                case((unit.level == UnitLevel.VILLAGE, unit.parent_id), else_=unit.id),
                case((unit.level == UnitLevel.VILLAGE, unit.id), else_=None),
            )
            .join(Person, Person.unit_id == unit.id)
            .where(Person.id == subject_id)
        )
    elif subject_type == SubjectType.HOUSEHOLD:
        stmt = (
            select(parent.parent_id, Household.village_id)
            .join(parent, parent.id == Household.village_id)
            .where(Household.id == subject_id)
        )
    elif subject_type == SubjectType.CLAN:
        stmt = select(Clan.commune_id, literal(None)).where(Clan.id == subject_id)
    elif subject_type == SubjectType.VILLAGE:
        stmt = select(parent.parent_id, parent.id).where(parent.id == subject_id, parent.level == UnitLevel.VILLAGE)
    elif subject_type == SubjectType.ORGANISATION:
        stmt = select(Organisation.commune_id, literal(None)).where(Organisation.id == subject_id)
    elif subject_type == SubjectType.COMMUNE:
        stmt = select(parent.id, literal(None)).where(parent.id == subject_id, parent.level == UnitLevel.COMMUNE)
    else:
        return None
    row = db.session.execute(stmt).first()
    if row is None or row[0] is None:
        return None
    return int(row[0]), (int(row[1]) if row[1] is not None else None)


@dataclass
class SubjectLabel:
    """How a subject is shown in a list: its name and a second line (birth date and village, head, …)."""

    name: str
    detail: str = ""
    registry_url: tuple[str, dict[str, int]] | None = None  # (endpoint, values) of its registry page


def subject_labels(pairs: Iterable[tuple[str, int]]) -> dict[tuple[str, int], SubjectLabel]:
    """Names of the subjects of a page of rows: one query per subject type present, never one per row."""
    wanted: dict[str, set[int]] = {}
    for subject_type, subject_id in pairs:
        wanted.setdefault(subject_type, set()).add(subject_id)
    labels: dict[tuple[str, int], SubjectLabel] = {}
    for subject_type, ids in wanted.items():
        if subject_type == SubjectType.PERSON:
            unit = aliased(AdminUnit)
            head_of_household = aliased(Person)
            head_name = (
                select(func.min(head_of_household.full_name))
                .where(
                    head_of_household.household_id == Person.household_id,
                    head_of_household.relation_to_head.in_(HEAD_RELATIONS),
                )
                .correlate(Person)
                .scalar_subquery()
            )
            rows = db.session.execute(
                select(
                    Person.id,
                    Person.full_name,
                    Person.birth_date,
                    unit.kind,
                    unit.name,
                    Person.relation_to_head,
                    head_name,
                    Person.birth_year_only,
                )
                .join(unit, unit.id == Person.unit_id)
                .where(Person.id.in_(ids))
            )
            for pid, name, born, kind, place, relation, head_of, year_only in rows:
                # Birth date (the year alone where only the year is known, ADR 49), village and — for a member, not
                # the head — the household by its head: what tells two "Nguyễn Thị Tuyết" apart, even of one
                # village with no birth date recorded.
                household = (
                    _("household of %(name)s", name=head_of) if head_of and relation not in HEAD_RELATIONS else ""
                )
                shown = (str(born.year) if year_only else formatting.day(born)) if born else ""
                detail = " · ".join(part for part in (shown, f"{kind} {place}".strip(), household) if part)
                labels[(subject_type, pid)] = SubjectLabel(name, detail, ("registry.person", {"person_id": pid}))
        elif subject_type == SubjectType.HOUSEHOLD:
            unit = aliased(AdminUnit)
            head = (
                select(func.min(Person.full_name))
                .where(Person.household_id == Household.id, Person.relation_to_head.in_(HEAD_RELATIONS))
                .correlate(Household)
                .scalar_subquery()
            )
            head_born = (
                select(func.min(Person.birth_date))
                .where(Person.household_id == Household.id, Person.relation_to_head.in_(HEAD_RELATIONS))
                .correlate(Household)
                .scalar_subquery()
            )
            rows = db.session.execute(
                select(Household.id, Household.code, head, head_born, unit.kind, unit.name)
                .join(unit, unit.id == Household.village_id)
                .where(Household.id.in_(ids))
            )
            for hid, code, head_name, born, kind, place in rows:
                # By its head, with its village and the head's birth year (two "Hộ Nguyễn Văn A" of one village);
                # never the registry's code (a field of the household's page), except for a household with no
                # member, labelled as its number.
                detail = " · ".join(
                    part
                    for part in (
                        f"{kind} {place}".strip(),
                        _("head born in %(year)s", year=born.year) if born and head_name else "",
                    )
                    if part
                )
                labels[(subject_type, hid)] = SubjectLabel(
                    _("Household of %(name)s", name=head_name) if head_name else _("Household no. %(code)s", code=code),
                    detail,
                    ("registry.household", {"household_id": hid}),
                )
        elif subject_type == SubjectType.CLAN:
            for cid, name in db.session.execute(select(Clan.id, Clan.name).where(Clan.id.in_(ids))):
                labels[(subject_type, cid)] = SubjectLabel(name)
        elif subject_type == SubjectType.ORGANISATION:
            for oid, name in db.session.execute(
                select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
            ):
                labels[(subject_type, oid)] = SubjectLabel(
                    name, "", ("registry.organisation", {"organisation_id": oid})
                )
        else:  # village, commune
            for uid, kind, name in db.session.execute(
                select(AdminUnit.id, AdminUnit.kind, AdminUnit.name).where(AdminUnit.id.in_(ids))
            ):
                labels[(subject_type, uid)] = SubjectLabel(
                    f"{kind} {name}".strip(), "", ("registry.unit", {"unit_id": uid})
                )
    return labels


# --- eligibility ---------------------------------------------------------------------------------------------


@dataclass
class EligibilityFilter:
    """What a list of eligibility rows is narrowed to. ``None`` everywhere means "all in scope"."""

    title: str | None = None
    year: int | None = None
    status: str | None = None  # "eligible" | "not_eligible" | "not_applicable"
    # Without a status: only the title's subjects (the pages' default; those it does not apply to, infants for the
    # Learning Citizen title, are one click away). The API lists every row unless asked.
    subjects_only: bool = False
    missing: str | None = None  # an indicator code
    unit: AdminUnit | None = None  # a village, a commune or anything above
    organisation_id: int | None = None  # the organisation and its current members
    household_id: int | None = None  # the household and its members
    clan_id: int | None = None  # the clan and its households
    errors: list[dict[str, str]] = field(default_factory=list)


STATUSES = ("eligible", "not_eligible", "not_applicable")
SORTS = ("name", "score", "computed")


def _like_code(code: str) -> str:
    escaped = code.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%|{escaped}|%"


def _filtered(stmt: Select[Any], f: EligibilityFilter, *, with_status: bool = True) -> Select[Any]:
    if f.title:
        stmt = stmt.where(Eligibility.title == f.title)
    if f.year is not None:
        stmt = stmt.where(Eligibility.year == f.year)
    if with_status and f.status == "not_applicable":
        stmt = stmt.where(Eligibility.applicable.is_(False))
    elif with_status and f.status in STATUSES:
        # "Not yet eligible" is about subjects of the title: those it does not apply to are counted apart (ADR 15).
        stmt = stmt.where(Eligibility.eligible.is_(f.status == "eligible"), Eligibility.applicable.is_(True))
    elif with_status and f.subjects_only:
        stmt = stmt.where(Eligibility.applicable.is_(True))
    if f.missing:
        stmt = stmt.where(Eligibility.missing.like(_like_code(f.missing), escape="\\"))
    if f.unit is not None:
        if f.unit.level == UnitLevel.VILLAGE:
            # The village's commune too: the one index of the lists leads with the commune (ADR 40, amended).
            stmt = stmt.where(Eligibility.commune_id == f.unit.parent_id, Eligibility.village_id == f.unit.id)
        else:
            under = select(AdminUnit.id).where(subtree(AdminUnit.path, f.unit.path))
            stmt = stmt.where(Eligibility.commune_id.in_(under))
    if f.organisation_id is not None:
        members = select(OrganisationMember.person_id).where(
            OrganisationMember.organisation_id == f.organisation_id, OrganisationMember.ended_on.is_(None)
        )
        stmt = stmt.where(
            or_(
                and_(Eligibility.subject_type == SubjectType.PERSON, Eligibility.subject_id.in_(members)),
                and_(Eligibility.subject_type == SubjectType.ORGANISATION, Eligibility.subject_id == f.organisation_id),
            )
        )
    if f.household_id is not None:
        members = select(Person.id).where(Person.household_id == f.household_id)
        stmt = stmt.where(
            or_(
                and_(Eligibility.subject_type == SubjectType.PERSON, Eligibility.subject_id.in_(members)),
                and_(Eligibility.subject_type == SubjectType.HOUSEHOLD, Eligibility.subject_id == f.household_id),
            )
        )
    if f.clan_id is not None:
        households = select(clan_household.c.household_id).where(clan_household.c.clan_id == f.clan_id)
        stmt = stmt.where(
            or_(
                and_(Eligibility.subject_type == SubjectType.HOUSEHOLD, Eligibility.subject_id.in_(households)),
                and_(Eligibility.subject_type == SubjectType.CLAN, Eligibility.subject_id == f.clan_id),
            )
        )
    return stmt


def eligibility_in_scope(user: Any) -> Select[Any]:
    return scoped(select(Eligibility), Eligibility.commune_id, user, VIEW)


def eligibility_select(user: Any, f: EligibilityFilter, sort: str = "name") -> Select[Any]:
    """The rows of a list, in scope and filtered, in the order asked for (ties broken by id, so pages are stable).

    Sorting by name joins the subject's table; it is offered when the list is of one title (one subject type).
    """
    stmt = _filtered(eligibility_in_scope(user), f)
    if sort == "score":
        return stmt.order_by(
            Eligibility.eligible.desc(), Eligibility.score.desc(), Eligibility.level.desc(), Eligibility.id
        )
    if sort == "computed":
        return stmt.order_by(Eligibility.computed_at.desc(), Eligibility.id)
    subject = TITLE_SUBJECT.get(Title(f.title)) if f.title in set(Title) else None
    key: Any = None
    if subject == SubjectType.PERSON:
        stmt, key = stmt.outerjoin(Person, Person.id == Eligibility.subject_id), Person.sort_key
    elif subject == SubjectType.HOUSEHOLD:
        stmt, key = stmt.outerjoin(Household, Household.id == Eligibility.subject_id), Household.code
    elif subject == SubjectType.CLAN:
        stmt, key = stmt.outerjoin(Clan, Clan.id == Eligibility.subject_id), Clan.sort_key
    elif subject == SubjectType.ORGANISATION:
        stmt, key = stmt.outerjoin(Organisation, Organisation.id == Eligibility.subject_id), Organisation.sort_key
    elif subject in (SubjectType.VILLAGE, SubjectType.COMMUNE):
        named = aliased(AdminUnit, name="subject_unit")
        stmt, key = stmt.outerjoin(named, named.id == Eligibility.subject_id), named.sort_key
    if key is None:
        return stmt.order_by(Eligibility.subject_type, Eligibility.subject_id, Eligibility.title, Eligibility.id)
    return stmt.order_by(key, Eligibility.id)


def status_counts(user: Any, f: EligibilityFilter) -> dict[str, int]:
    """How many rows of the list (all statuses) are eligible, not yet, and not applicable (persons outside the
    title's own population: never counted as "not yet eligible"): one grouped query."""
    stmt = _filtered(
        scoped(select(Eligibility.eligible, Eligibility.applicable, func.count()), Eligibility.commune_id, user, VIEW),
        f,
        with_status=False,
    ).group_by(Eligibility.eligible, Eligibility.applicable)
    counts = {"eligible": 0, "not_eligible": 0, "not_applicable": 0}
    for eligible, applicable, count in db.session.execute(stmt):
        counts["not_applicable" if not applicable else "eligible" if eligible else "not_eligible"] += count
    return counts


def latest_year(user: Any) -> int | None:
    return db.session.scalar(scoped(select(func.max(Eligibility.year)), Eligibility.commune_id, user, VIEW))


def get_eligibility(eligibility_id: int, user: Any) -> Eligibility | None:
    """The row if it exists and lies in the user's scope; None otherwise (callers answer 404 either way)."""
    return db.session.scalar(eligibility_in_scope(user).where(Eligibility.id == eligibility_id))


def missing_codes(eligibility: Eligibility) -> list[str]:
    return [code for code in eligibility.missing.split("|") if code]


# --- assessments ---------------------------------------------------------------------------------------------


def assessments_in_scope(user: Any, permission: Permission = VIEW) -> Select[Any]:
    return scoped(select(Assessment), Assessment.commune_id, user, permission)


def get_assessment(assessment_id: int, user: Any, permission: Permission = VIEW) -> Assessment | None:
    return db.session.scalar(assessments_in_scope(user, permission).where(Assessment.id == assessment_id))


def subject_assessments(subject_type: str, subject_id: int, year: int) -> dict[str, Assessment]:
    """A subject's assessments of a year by indicator code (one query)."""
    rows = db.session.scalars(
        select(Assessment).where(
            Assessment.subject_type == subject_type, Assessment.subject_id == subject_id, Assessment.year == year
        )
    )
    return {a.indicator: a for a in rows}


def user_names(assessments: Iterable[Assessment]) -> dict[int, str]:
    """Names of the users who entered or verified these assessments (one query)."""
    from lms.auth.models import User

    ids = {i for a in assessments for i in (a.assessed_by_id, a.verified_by_id) if i is not None}
    if not ids:
        return {}
    return dict(iter(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).tuples()))


def parse_value(raw: Any, indicator: IndicatorInfo) -> Decimal:
    """An assessed value as the indicator reads it; the message says what is accepted."""
    low, high = indicator.value_range
    if isinstance(raw, str):
        raw = unicodedata.normalize("NFC", raw)  # "đạt" typed with a combining dot below is "đạt"
    if indicator.scale == "met" and isinstance(raw, str) and raw.strip().casefold() in MET_WORDS:
        return MET_WORDS[raw.strip().casefold()]
    try:
        if isinstance(raw, bool) or raw is None or (isinstance(raw, str) and not raw.strip()):
            raise InvalidOperation
        value = Decimal(str(raw).strip().replace(",", ".")) if isinstance(raw, str) else Decimal(str(raw))
        if not value.is_finite() or value < low or value > high:
            raise InvalidOperation
        if value != value.quantize(Decimal("0.01")) and indicator.scale != "met":
            # In range, but the column keeps two decimals: rounded here, it would be stored unlike what was shown.
            raise TitlesError(
                _("Enter at most two decimals: %(value)s has more.", value=str(raw).strip()),
                "value",
            )
        if indicator.scale == "met" and value not in (0, 1):
            raise InvalidOperation
    except InvalidOperation:
        if indicator.scale == "met":
            raise TitlesError(_("Enter 1 (met) or 0 (not met)."), "value") from None
        if indicator.scale == "percent":
            raise TitlesError(
                _("Enter a share from %(low)s to %(high)s per cent.", low=low, high=high), "value"
            ) from None
        raise TitlesError(
            _("Enter a number of points from %(low)s to %(high)s.", low=low, high=high), "value"
        ) from None
    return value


MET_WORDS = {
    "met": Decimal(1),
    "đạt": Decimal(1),
    "yes": Decimal(1),
    "có": Decimal(1),
    "not met": Decimal(0),
    "không đạt": Decimal(0),
    "no": Decimal(0),
    "không": Decimal(0),
}


@dataclass
class AssessmentInput:
    """One assessment as entered on the form, in the API or on a spreadsheet row."""

    subject_type: str
    subject_id: int
    year: int
    indicator: str
    value: Any
    source: str = AssessmentSource.EVALUATOR.value
    evidence_ref: str = ""
    note: str = ""


def _check_subject(data: AssessmentInput, user: Any) -> tuple[int, IndicatorInfo]:
    """The commune of the subject (in the user's scope for assessing) and the indicator definition."""
    if data.subject_type not in SUBJECT_TITLE:
        raise TitlesError(_("Unknown kind of subject."), "subject_type")
    if not 2000 <= data.year <= 2100:
        raise TitlesError(_("Enter a year such as 2026."), "year")
    place = subject_place(data.subject_type, data.subject_id)
    commune = db.session.get(AdminUnit, place[0]) if place else None
    if commune is None or not can(user, ASSESS, commune):
        raise TitlesError(_("No such subject in your scope."), "subject_id")
    criteria_set, indicators = assessable_indicators(data.subject_type, data.subject_id)
    if criteria_set is None:
        raise TitlesError(_("No criteria set is loaded for this title."), "indicator")
    by_code = {i.code: i for i in indicators}
    if data.indicator not in by_code:
        raise TitlesError(
            _("“%(code)s” is not an assessed indicator of %(name)s.", code=data.indicator, name=criteria_set.name),
            "indicator",
        )
    if data.source not in set(AssessmentSource):
        raise TitlesError(_("Choose evaluator or self-assessment."), "source")
    return commune.id, by_code[data.indicator]


def create_assessment(data: AssessmentInput, *, user: Any, evidence: EvidenceFile | None = None) -> Assessment:
    """Record an assessed value. An evaluator's value counts at once; a self-assessment once verified."""
    commune_id, indicator = _check_subject(data, user)
    _refuse_if_recognised(data.subject_type, data.subject_id, data.year)
    value = parse_value(data.value, indicator)
    exists = db.session.scalar(
        select(Assessment.id).where(
            Assessment.subject_type == data.subject_type,
            Assessment.subject_id == data.subject_id,
            Assessment.year == data.year,
            Assessment.indicator == data.indicator,
        )
    )
    if exists is not None:
        raise TitlesError(
            _("This indicator is already assessed for this subject and year: change that assessment."), "indicator"
        )
    assessment = Assessment(
        subject_type=data.subject_type,
        subject_id=data.subject_id,
        year=data.year,
        indicator=data.indicator,
        value=value,
        source=data.source,
        evidence_ref=data.evidence_ref.strip(),
        note=data.note.strip(),
        evidence_file_id=evidence.id if evidence else None,
        commune_id=commune_id,
        assessed_by_id=getattr(user, "id", None),
        assessed_at=utcnow(),
    )
    db.session.add(assessment)
    db.session.flush()
    audit(
        "assessment.create",
        assessment,
        user=user,
        indicator=assessment.indicator,
        value=str(value),
        source=assessment.source,
    )
    _mark_assessed(commune_id, assessment)
    return assessment


def update_assessment(
    assessment: Assessment,
    *,
    user: Any,
    value: Any = None,
    source: str | None = None,
    evidence_ref: str | None = None,
    note: str | None = None,
    evidence: EvidenceFile | None = None,
    remove_evidence: bool = False,
) -> Assessment:
    """Change an assessment. A new value, source or evidence of a self-assessment needs verifying again."""
    __, indicator = _check_subject(
        AssessmentInput(
            assessment.subject_type,
            assessment.subject_id,
            assessment.year,
            assessment.indicator,
            None,
            source or assessment.source,
        ),
        user,
    )
    _refuse_if_recognised(assessment.subject_type, assessment.subject_id, assessment.year)
    changed: list[str] = []
    if value is not None:
        new = parse_value(value, indicator)
        if new != assessment.value:
            assessment.value, changed = new, [*changed, "value"]
    if source is not None and source != assessment.source:
        assessment.source, changed = source, [*changed, "source"]
    if evidence_ref is not None and evidence_ref.strip() != assessment.evidence_ref:
        assessment.evidence_ref, changed = evidence_ref.strip(), [*changed, "evidence_ref"]
    if note is not None and note.strip() != assessment.note:
        assessment.note, changed = note.strip(), [*changed, "note"]
    if evidence is not None:
        assessment.evidence_file_id, changed = evidence.id, [*changed, "evidence_file"]
    elif remove_evidence and assessment.evidence_file_id is not None:
        assessment.evidence_file_id, changed = None, [*changed, "evidence_file"]
    if not changed:
        return assessment
    if {"value", "source", "evidence_ref", "evidence_file"} & set(changed) and assessment.verified_at is not None:
        assessment.verified_at = assessment.verified_by_id = None
        changed.append("verification_cleared")
    assessment.assessed_by_id = getattr(user, "id", None)
    assessment.assessed_at = utcnow()
    db.session.flush()
    audit("assessment.update", assessment, user=user, fields=changed, value=str(assessment.value))
    _mark_assessed(assessment.commune_id, assessment)
    return assessment


def verify_assessment(assessment: Assessment, *, user: Any) -> Assessment:
    """Accept a self-assessment: from now on the engine counts it. Refused without evidence where it is needed."""
    __, indicator = _check_subject(
        AssessmentInput(
            assessment.subject_type,
            assessment.subject_id,
            assessment.year,
            assessment.indicator,
            None,
            assessment.source,
        ),
        user,
    )
    _refuse_if_recognised(assessment.subject_type, assessment.subject_id, assessment.year)
    if assessment.source != AssessmentSource.SELF:
        raise TitlesError(_("Only self-assessments are verified; an evaluator's value counts as entered."), "source")
    if assessment.verified_at is not None:
        return assessment
    if indicator.requires_evidence and not assessment.has_evidence:
        raise TitlesError(
            _("Attach evidence (a file or a reference) before verifying: this indicator needs it."), "evidence"
        )
    assessment.verified_at = utcnow()
    assessment.verified_by_id = getattr(user, "id", None)
    db.session.flush()
    audit("assessment.verify", assessment, user=user, indicator=assessment.indicator)
    _mark_assessed(assessment.commune_id, assessment)
    return assessment


def delete_assessment(assessment: Assessment, *, user: Any) -> None:
    if not can(user, ASSESS, db.session.get(AdminUnit, assessment.commune_id)):
        raise TitlesError(_("No such subject in your scope."), "subject_id")
    _refuse_if_recognised(assessment.subject_type, assessment.subject_id, assessment.year)
    commune_id = assessment.commune_id
    audit(
        "assessment.delete",
        assessment,
        user=user,
        subject_type=assessment.subject_type,
        subject_id=assessment.subject_id,
        year=assessment.year,
        indicator=assessment.indicator,
        value=str(assessment.value),
    )
    _mark_assessed(commune_id, assessment)
    db.session.delete(assessment)
    db.session.flush()


def _mark_assessed(commune_id: int, assessment: Assessment) -> None:
    """An assessment changes the inputs of its subject only: an incremental evaluation of it and its groups."""
    mark_subjects({(commune_id, assessment.year): {(assessment.subject_type, assessment.subject_id)}})


# --- bulk import -----------------------------------------------------------------------------------------------

# Column key → accepted headers (Vietnamese first; matching ignores case and accents).
IMPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "subject_type": ("Loại đối tượng", "subject_type", "subject type"),
    "subject_id": ("Mã đối tượng", "subject_id", "subject id"),
    "year": ("Năm", "year"),
    "indicator": ("Tiêu chí", "indicator"),
    "value": ("Giá trị", "value"),
    "source": ("Nguồn", "source"),
    "evidence_ref": ("Minh chứng", "evidence_ref", "evidence"),
    "note": ("Ghi chú", "note"),
}
REQUIRED_COLUMNS = ("subject_type", "subject_id", "year", "indicator", "value")
SUBJECT_WORDS = {
    "người": "person",
    "cá nhân": "person",
    "hộ": "household",
    "gia đình": "household",
    "dòng họ": "clan",
    "thôn": "village",
    "đơn vị": "organisation",
    "xã": "commune",
}
SOURCE_WORDS = {"đánh giá": "evaluator", "tự đánh giá": "self"}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    preview: dict[str, Any] | None = None  # what the rows would change (dry run), see lms.core.imports
    digest: str = ""
    outdated: bool = False  # a confirmation whose preview no longer holds: nothing was written
    rows: list[list[Any]] = field(default_factory=list)  # the checked rows, for the confirmation form


def _fold(text: str) -> str:
    from lms.registry.text import fold

    return fold(text)


def import_assessments(filename: str, content: bytes, *, user: Any, dry_run: bool = False) -> ImportResult:
    """Create or update assessments from a spreadsheet (.xlsx or .csv, first sheet, one header row).

    Every row is checked first and every error reported with its row and column; if there is any error nothing is
    written. A ``dry_run`` stops there with a preview of what would change (:func:`apply_assessment_rows`).
    Synchronous: files are limited to :data:`MAX_IMPORT_ROWS` rows.
    """
    result = ImportResult()
    rows = _read_assessment_rows(filename, content, result)
    if result.errors:
        return result
    return apply_assessment_rows(rows, user=user, filename=filename, dry_run=dry_run)


def _read_assessment_rows(filename: str, content: bytes, result: ImportResult) -> list[list[Any]]:
    """The file's data rows as ``[row number, subject type, subject id, year, indicator, value, source, evidence
    reference, note]`` — plain values a confirmation form can carry — or errors in ``result``."""
    from lms.core import spreadsheet

    try:
        table = spreadsheet.read_table(filename, content, spreadsheet.Limits.from_config(MAX_IMPORT_ROWS))
    except spreadsheet.SpreadsheetError as exc:
        result.errors.append(exc.as_dict())
        return []
    header = spreadsheet.match_header(
        table.header,
        [spreadsheet.Column(key, names, key in REQUIRED_COLUMNS) for key, names in IMPORT_COLUMNS.items()],
    )
    result.errors.extend(error.as_dict() for error in header.errors)
    if result.errors:
        return []
    columns, rows = header.index, table.rows

    def cell(cells: list[Any], key: str) -> Any:
        index = columns.get(key)
        value = cells[index] if index is not None and index < len(cells) else None
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, float):
            return spreadsheet.shown_number(value)  # as the sheet shows it, exact through JSON (95.5, not 95.499…)
        if isinstance(value, Decimal):
            return str(value)
        return value if value is None or isinstance(value, int | str) else str(value)

    return [[number, *(cell(cells, key) for key in IMPORT_COLUMNS)] for number, cells in rows]


ROW_FIELDS = ("number", *IMPORT_COLUMNS)


def apply_assessment_rows(
    rows: list[list[Any]],
    *,
    user: Any,
    filename: str,
    dry_run: bool = False,
    expected_digest: str | None = None,
) -> ImportResult:
    """Check read rows against the register and write them, all or nothing (a handful of queries per subject type,
    none per row).

    A ``dry_run`` writes nothing and returns the preview: new, changed and unchanged assessments, and what follows
    (eligibility that becomes stale, self-assessments that need verifying again). With ``expected_digest`` (a
    confirmation) the rows are written only if they would change exactly what that preview showed; otherwise the
    result is ``outdated``, with the new preview, and nothing is written.
    """
    from lms.core.imports import Preview

    result = ImportResult(rows=rows)
    shown = {key: IMPORT_COLUMNS[key][0] for key in IMPORT_COLUMNS}
    parsed: list[tuple[int, AssessmentInput]] = []
    for values in rows:
        row = dict(zip(ROW_FIELDS, values, strict=True))
        number = int(row["number"])
        errors_before = len(result.errors)

        def error(key: str, message: str, number: int = number) -> None:
            result.errors.append({"row": number, "column": shown[key], "message": message})

        raw_type = str(row["subject_type"] or "").strip()
        subject_type = SUBJECT_WORDS.get(raw_type.casefold(), raw_type.casefold())
        if subject_type not in SUBJECT_TITLE:
            # The words the column takes, in the reader's language: the codes (person, household…) read as English.
            words = ", ".join(_subject_word(code) for code in SUBJECT_TITLE)
            error("subject_type", _("one of: %(names)s", names=words))
        subject_id = _as_int(row["subject_id"])
        if subject_id is None:
            error("subject_id", _("a whole number: the subject's id in the register"))
        year = _as_int(row["year"])
        if year is None or not 2000 <= year <= 2100:
            error("year", _("a year from 2000 to 2100, such as 2026"))  # 1990 was told only "a year such as 2026"
        indicator = str(row["indicator"] or "").strip()
        if not INDICATOR_CODE.match(indicator):
            error("indicator", _("an indicator code of the criteria set"))
        raw_source = str(row["source"] or "evaluator").strip().casefold()
        source = SOURCE_WORDS.get(raw_source, raw_source)
        if source not in set(AssessmentSource):
            error("source", _("evaluator or self"))
        evidence_ref = str(row["evidence_ref"] or "")
        if len(evidence_ref) > 300:
            error("evidence_ref", _("at most 300 characters"))
        if len(result.errors) == errors_before:
            parsed.append(
                (
                    number,
                    AssessmentInput(
                        subject_type,
                        subject_id or 0,
                        year or 0,
                        indicator,
                        row["value"],
                        source,
                        evidence_ref,
                        str(row["note"] or ""),
                    ),
                )
            )
    checked = _check_assessment_rows(parsed, user, result, shown)
    if result.errors:
        result.errors.sort(key=lambda e: e["row"] or 0)
        return result
    preview = Preview(("assessments",))
    existing = _existing_assessments([data for data, *_ in checked])
    now, user_id = utcnow(), getattr(user, "id", None)
    inserts: list[dict[str, Any]] = []
    updates: list[tuple[Assessment, dict[str, Any]]] = []
    touched: set[tuple[str, int, int]] = set()
    cleared: list[tuple[str, int, str]] = []
    for data, commune_id, value, number in checked:
        identity = (data.subject_type, data.subject_id, data.year, data.indicator)
        label = f"{data.subject_type} {data.subject_id} — {data.indicator} ({data.year})"  # named below
        current = existing.get(identity)
        planned: dict[str, Any] = {
            "value": value,
            "source": data.source,
            "evidence_ref": data.evidence_ref.strip() or (current.evidence_ref if current else ""),
            "note": data.note.strip() or (current.note if current else ""),
        }
        if current is None:
            row = {
                "subject_type": data.subject_type,
                "subject_id": data.subject_id,
                "year": data.year,
                "indicator": data.indicator,
                **planned,
                "commune_id": commune_id,
                "assessed_by_id": user_id,
                "assessed_at": now,
            }
            inserts.append(row)
            preview.add("assessments", "new", number, label, identity, row)
            touched.add(identity[:3])
            continue
        stored: dict[str, Any] = {
            "value": current.value,
            "source": current.source,
            "evidence_ref": current.evidence_ref,
            "note": current.note,
        }
        if stored == planned:
            preview.add("assessments", "unchanged", number, label, current.id, stored)
            continue
        changes = _changes(
            {**stored, "value": _plain(stored["value"])},
            {**planned, "value": _plain(planned["value"])},
            ("value", "source", "evidence_ref", "note"),
        )
        preview.add("assessments", "changed", number, label, current.id, {"old": stored, "new": planned}, changes)
        updates.append((current, planned))
        touched.add(identity[:3])
        # A changed value of a self-assessment needs verifying again.
        if current.verified_at is not None and {c["field"] for c in changes} & {"value", "source", "evidence_ref"}:
            cleared.append((current.subject_type, current.subject_id, current.indicator))
    _name_samples(preview, {number: (d.subject_type, d.subject_id) for d, _c, _v, number in checked})
    preview.consequences = _assessment_consequences(touched, cleared)
    result.preview, result.digest = preview.as_dict(), preview.digest
    counts = preview.counts["assessments"]
    result.created, result.updated, result.unchanged = counts["created"], counts["updated"], counts["unchanged"]
    if dry_run:
        return result
    if expected_digest is not None and expected_digest != preview.digest:
        result.outdated = True
        return result
    unverified = set(cleared)
    for current, planned in updates:
        if (current.subject_type, current.subject_id, current.indicator) in unverified:
            current.verified_at = current.verified_by_id = None
        current.value, current.source = planned["value"], planned["source"]
        current.evidence_ref, current.note = planned["evidence_ref"], planned["note"]
        current.assessed_by_id, current.assessed_at = user_id, now
    if inserts:
        db.session.execute(insert(Assessment), inserts)
    db.session.flush()
    audit(
        "assessment.import",
        object_type="assessment",
        user=user,
        filename=filename,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    marks: dict[tuple[int, int], set[tuple[str, int]]] = {}
    for data, commune_id, *_rest in checked:
        marks.setdefault((commune_id, data.year), set()).add((data.subject_type, data.subject_id))
    mark_subjects(marks)
    return result


def _plain(value: Decimal) -> str:
    """A value as people write it: 8, not 8.00 (what PostgreSQL's NUMERIC(…, 2) gives back)."""
    return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f").rstrip("0")


def _name_samples(preview: Any, subjects: dict[int, tuple[str, int]]) -> None:
    """Put the subjects' names on the rows a preview lists (only those: one query per subject type)."""
    listed = [row for kinds in preview.samples.values() for rows in kinds.values() for row in rows]
    labels = subject_labels({subjects[row["row"]] for row in listed})
    for row in listed:
        label = labels.get(subjects[row["row"]])
        if label is not None:
            row["label"] = label.name + row["label"][row["label"].index(" — ") :]


def _subject_word(code: str) -> str:
    """A subject type as a word of the sentence it goes in ("hộ", not "household"): the import's messages named the
    type by its code, English in a Vietnamese sentence."""
    from lms.titles.explain import word

    return word(code)


def _check_assessment_rows(
    parsed: list[tuple[int, AssessmentInput]], user: Any, result: ImportResult, shown: dict[str, str]
) -> list[tuple[AssessmentInput, int, Decimal, int]]:
    """The rows whose subject is in the user's scope, not frozen, with a valid value of an assessed indicator."""
    places = _places([(d.subject_type, d.subject_id) for _, d in parsed])
    communes = (
        {
            u.id: u
            for u in db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_({p[0] for p in places.values()})))
        }
        if places
        else {}
    )
    indicator_sets: dict[tuple[str, str | None], dict[str, IndicatorInfo]] = {}
    levels = dict(
        iter(
            db.session.execute(
                select(Organisation.id, Organisation.managing_level).where(
                    Organisation.id.in_([d.subject_id for _, d in parsed if d.subject_type == SubjectType.ORGANISATION])
                )
            ).tuples()
        )
    )
    frozen = (
        set(
            db.session.execute(
                select(Recognition.subject_type, Recognition.subject_id, Recognition.year).where(
                    Recognition.subject_id.in_({d.subject_id for _, d in parsed}),
                    Recognition.status == RecognitionStatus.RECOGNISED.value,
                )
            ).tuples()
        )
        if parsed
        else set()
    )
    seen: dict[tuple[str, int, int, str], int] = {}
    allowed: dict[int, bool] = {}
    checked: list[tuple[AssessmentInput, int, Decimal, int]] = []
    for number, data in parsed:

        def error(key: str, message: str, number: int = number) -> None:
            result.errors.append({"row": number, "column": shown[key], "message": message})

        place = places.get((data.subject_type, data.subject_id))
        commune = communes.get(place[0]) if place else None
        if commune is not None and commune.id not in allowed:
            allowed[commune.id] = can(user, ASSESS, commune)
        if commune is None or not allowed[commune.id]:
            error(
                "subject_id",
                _("no %(kind)s %(id)s in your scope", kind=_subject_word(data.subject_type), id=data.subject_id),
            )
            continue
        if (data.subject_type, data.subject_id, data.year) in frozen:
            error(
                "year",
                _(
                    "the title is already recognised for this subject in %(year)s: its assessments can no "
                    "longer be changed",
                    year=data.year,
                ),
            )
            continue
        level = levels.get(data.subject_id) if data.subject_type == SubjectType.ORGANISATION else None
        set_key = (SUBJECT_TITLE[data.subject_type], level)
        if set_key not in indicator_sets:
            criteria_set = active_criteria(*set_key)
            indicator_sets[set_key] = (
                {i.code: i for i in indicators_of(criteria_set) if i.assessable} if criteria_set else {}
            )
        info = indicator_sets[set_key].get(data.indicator)
        if info is None:
            error(
                "indicator",
                _(
                    "“%(code)s” is not an assessed indicator for a %(kind)s",
                    code=data.indicator,
                    kind=_subject_word(data.subject_type),
                ),
            )
            continue
        try:
            value = parse_value(data.value, info)
        except TitlesError as exc:
            error("value", str(exc))
            continue
        identity = (data.subject_type, data.subject_id, data.year, data.indicator)
        if identity in seen:
            error("indicator", _("the same subject, year and indicator as row %(row)s", row=seen[identity]))
            continue
        seen[identity] = number
        checked.append((data, commune.id, value, number))
    return checked


def _assessment_consequences(touched: set[tuple[str, int, int]], cleared: list[tuple[str, int, str]]) -> list[str]:
    """What else the import changes: computed eligibility that becomes stale (it is evaluated again), and
    self-assessments whose verification is withdrawn. One query per subject type."""
    from lms.core.imports import SAMPLE_ROWS

    wanted: dict[str, set[int]] = {}
    for subject_type, subject_id, _year in touched:
        wanted.setdefault(subject_type, set()).add(subject_id)
    stale: list[tuple[str, int, int, bool]] = []
    for subject_type, ids in wanted.items():
        for row in db.session.execute(
            select(Eligibility.subject_type, Eligibility.subject_id, Eligibility.year, Eligibility.eligible)
            .where(Eligibility.subject_type == subject_type, Eligibility.subject_id.in_(ids))
            .order_by(Eligibility.subject_id, Eligibility.year)
        ):
            if (row[0], row[1], row[2]) in touched:
                stale.append(tuple(row))  # type: ignore[arg-type]
    labels = subject_labels({(s[0], s[1]) for s in stale[:SAMPLE_ROWS]} | {(c[0], c[1]) for c in cleared[:SAMPLE_ROWS]})

    def name(subject_type: str, subject_id: int) -> str:
        label = labels.get((subject_type, subject_id))
        return label.name if label else f"{_subject_word(subject_type)} {subject_id}"

    found = [
        _(
            "%(subject)s, %(year)s: eligibility computed as %(status)s will be evaluated again",
            subject=name(subject_type, subject_id),
            year=year,
            status=_("eligible") if eligible else _("not yet eligible"),
        )
        for subject_type, subject_id, year, eligible in stale[:SAMPLE_ROWS]
    ]
    if len(stale) > SAMPLE_ROWS:
        found.append(_("and %(n)s more eligibility results evaluated again", n=len(stale) - SAMPLE_ROWS))
    found += [
        _(
            "%(subject)s: the self-assessment of %(indicator)s was verified; it must be verified again",
            subject=name(subject_type, subject_id),
            indicator=indicator,
        )
        for subject_type, subject_id, indicator in cleared[:SAMPLE_ROWS]
    ]
    if len(cleared) > SAMPLE_ROWS:
        found.append(_("and %(n)s more self-assessments to verify again", n=len(cleared) - SAMPLE_ROWS))
    return found


def _as_int(raw: Any) -> int | None:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return whole_number(raw)


def _places(pairs: Sequence[tuple[str, int]]) -> dict[tuple[str, int], tuple[int, int | None]]:
    """:func:`subject_place` for many subjects: one query per subject type present."""
    wanted: dict[str, set[int]] = {}
    for subject_type, subject_id in pairs:
        wanted.setdefault(subject_type, set()).add(subject_id)
    found: dict[tuple[str, int], tuple[int, int | None]] = {}
    parent = aliased(AdminUnit)
    for subject_type, ids in wanted.items():
        stmt: Select[Any]
        if subject_type == SubjectType.PERSON:
            unit = aliased(AdminUnit)
            stmt = (
                select(Person.id, case((unit.level == UnitLevel.VILLAGE, unit.parent_id), else_=unit.id))
                .join(unit, unit.id == Person.unit_id)
                .where(Person.id.in_(ids))
            )
        elif subject_type == SubjectType.HOUSEHOLD:
            stmt = (
                select(Household.id, parent.parent_id)
                .join(parent, parent.id == Household.village_id)
                .where(Household.id.in_(ids))
            )
        elif subject_type == SubjectType.CLAN:
            stmt = select(Clan.id, Clan.commune_id).where(Clan.id.in_(ids))
        elif subject_type == SubjectType.VILLAGE:
            stmt = select(parent.id, parent.parent_id).where(parent.id.in_(ids), parent.level == UnitLevel.VILLAGE)
        elif subject_type == SubjectType.ORGANISATION:
            stmt = select(Organisation.id, Organisation.commune_id).where(Organisation.id.in_(ids))
        else:
            stmt = select(parent.id, parent.id).where(parent.id.in_(ids), parent.level == UnitLevel.COMMUNE)
        for subject_id, commune_id in db.session.execute(stmt):
            if commune_id is not None:
                found[(subject_type, subject_id)] = (commune_id, None)
    return found


def _existing_assessments(rows: Sequence[AssessmentInput]) -> dict[tuple[str, int, int, str], Assessment]:
    """The assessments the rows would overwrite, one query per subject type."""
    wanted: dict[str, set[int]] = {}
    for data in rows:
        wanted.setdefault(data.subject_type, set()).add(data.subject_id)
    found: dict[tuple[str, int, int, str], Assessment] = {}
    for subject_type, ids in wanted.items():
        for a in db.session.scalars(
            select(Assessment).where(Assessment.subject_type == subject_type, Assessment.subject_id.in_(ids))
        ):
            found[(a.subject_type, a.subject_id, a.year, a.indicator)] = a
    return found


# --- explanations --------------------------------------------------------------------------------------------


@dataclass
class ExplainedItem:
    """One indicator of an eligibility row, ready for a page or the API."""

    code: str
    name: str
    kind: str
    item: dict[str, Any]  # the breakdown entry as the engine wrote it
    source_text: str
    missing_text: str
    assessment: Assessment | None
    indicator: IndicatorInfo | None
    value_text: str = ""  # the measured value in the reader's convention ("37,5 %", "Đạt"), "" for none

    @property
    def satisfied(self) -> bool:
        return not self.item.get("missing")


def explain(eligibility: Eligibility, locale: str) -> list[ExplainedItem]:
    """The breakdown of a row with the indicators' names and sentences in ``locale`` (the request's), and the
    subject's assessment of each assessed indicator (one query for all of them)."""
    from lms.titles import explain as sentences
    from lms.titles.criteria import CriteriaError

    try:
        indicators = {i.code: i for i in indicators_of(eligibility.criteria_set)}
    except CriteriaError:  # an old version the parser no longer reads: named from its stored definition
        indicators = {}
    names = {code: info.label(locale) for code, info in indicators.items()}
    if any(str(item.get("indicator", "")) not in names for item in eligibility.breakdown or []):
        names = {**indicator_names(eligibility.title, locale, [eligibility.criteria_set_id]), **names}
    assessments = subject_assessments(eligibility.subject_type, eligibility.subject_id, eligibility.year)
    result = []
    for item in with_assessment_ids(eligibility.breakdown or [], assessments):
        code = str(item.get("indicator", ""))
        info = indicators.get(code)
        result.append(
            ExplainedItem(
                code=code,
                name=indicator_label(names, code),
                kind=info.kind if info else "",
                item=item,
                source_text=str(sentences.describe_source(item, names) or ""),
                missing_text=str(sentences.describe_missing(item) or "") if item.get("missing") else "",
                assessment=assessments.get(code),
                indicator=info,
                value_text=sentences.describe_value(item, getattr(info, "scale", None)),
            )
        )
    return result


def projected_level_of(eligibility: Eligibility) -> int | None:
    """The level a levels-style result whose Learning Citizen share counts recognitions would reach were this year's
    eligible citizens recognised too (ADR 51); None for any other result."""
    from lms.titles.criteria import CriteriaError, definition_of
    from lms.titles.engine import projected_level

    if eligibility.level is None or not eligibility.breakdown:
        return None
    try:
        definition = definition_of(eligibility.criteria_set)
    except CriteriaError:
        return None
    return projected_level(definition, eligibility.breakdown)


def projection_text(eligibility: Eligibility) -> str:
    """The projected level beside the official one, in words; "" where the result carries no projection or the
    projection reaches the same level (the share's own sentence still gives both counts)."""
    from lms.titles import explain as sentences

    if eligibility.level is None:
        return _points_projection_text(eligibility)
    projected = projected_level_of(eligibility)
    if projected is None or projected == eligibility.level:
        return ""
    return str(sentences.describe_projection(projected))


def _points_projection_text(eligibility: Eligibility) -> str:
    """A points-style result's projection in words (Decision 448's clans, villages and commune-managed units, ADR 51);
    "" where it carries none or the projection gives the same points."""
    from lms.titles import explain as sentences
    from lms.titles.criteria import CriteriaError, definition_of
    from lms.titles.engine import projected_points

    if not eligibility.breakdown:
        return ""
    try:
        definition = definition_of(eligibility.criteria_set)
    except CriteriaError:
        return ""
    found = projected_points(definition, eligibility.breakdown)
    if found is None or (eligibility.score is not None and found[0] == eligibility.score):
        return ""
    titles = {i.share.title for i in definition.indicators if i.share is not None and i.share.projection is not None}
    title = "family" if "family" in titles else "citizen"
    return str(sentences.describe_points_projection(found[0], found[1], title))


def members_filter(eligibility: Eligibility) -> dict[str, Any] | None:
    """The list (as query arguments) of the rows a group subject's result is made of; None for a person."""
    subject, subject_id = eligibility.subject_type, eligibility.subject_id
    year = eligibility.year
    return {
        SubjectType.HOUSEHOLD: {"household_id": subject_id, "title": Title.CITIZEN.value, "year": year},
        SubjectType.CLAN: {"clan_id": subject_id, "title": Title.FAMILY.value, "year": year},
        SubjectType.VILLAGE: {"unit_id": subject_id, "title": Title.FAMILY.value, "year": year},
        SubjectType.ORGANISATION: {"organisation_id": subject_id, "title": Title.CITIZEN.value, "year": year},
        SubjectType.COMMUNE: {"unit_id": subject_id, "title": Title.CITIZEN.value, "year": year},
    }.get(SubjectType(subject))
