"""Indicator values: counted per commune, carried across the 2025 reform by the lineage shares, rolled up by sums.

Three steps, each set-based:

1. **Source values** — for each indicator of the active plans and each basis (official: recognitions; projection:
   eligibility or recognition), the numerator and the denominator of every commune of a set, counted from the
   records attached to that commune: one grouped SELECT per metric (see :func:`count_select`), whatever the number
   of communes. Written to ``indicator_source_value``.
   The villages of the communes recounted get their own figures too, where what is counted lives in a village
   (households, villages, persons where they live: :func:`village_values`), written straight to
   ``indicator_value`` — the drill-down's last step.
2. **Commune values** under both structures (``indicator_value``): a current commune's value is its own source value
   plus ``share ×`` the source value of every old commune that went into it (a 2024 figure shown on today's map);
   an old commune's value is its own plus, for each successor, the successor's source value × the part of the
   successor the old commune made up — ``share(old → new) / Σ share(any → new)`` — so that a merged commune's
   figures are divided among its predecessors and no household is counted twice (ADR 12). One INSERT … SELECT per
   structure.
3. **Roll-up**: every district, province and the country gets the sum of its communes' numerators and the sum of
   their denominators — never an average of percentages. One INSERT … SELECT … GROUP BY per structure.

Periods: the year (31 December) and, for the current year, the current month (its last day), so that month rows
accumulate into a trend. Functions flush; the task or command commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    distinct,
    extract,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    union,
    union_all,
    update,
)
from sqlalchemy.orm import aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from courses.models import (
    ClassSession,
    LearningKind,
    LearningRecord,
    SessionStatus,
    class_instructor,
)
from courses.services import local_now
from lms import work
from lms.core.clock import VN_OFFSET, local_today
from lms.extensions import db, utcnow
from lms.registry.models import (
    AdminUnit,
    AssociationMembership,
    BoardMembership,
    Clan,
    Clc,
    Household,
    Organisation,
    OrganisationMember,
    Person,
    UnitLevel,
    clan_household,
    subtree,
)
from lms.targets import cache
from lms.targets.models import (
    Basis,
    Indicator,
    IndicatorSourceValue,
    IndicatorValue,
    PeriodKind,
    Plan,
    Structure,
    TargetState,
)
from lms.targets.services import (
    commune_lineage,
    commune_lineage_shares,
    month_end,
    plan_communes,
    year_end,
)
from lms.titles.models import Eligibility, EvaluationState, Recognition, RecognitionStatus, Registration

SUBJECT_TYPE = {
    "household": "household",
    "clan": "clan",
    "village": "village",
    "organisation": "organisation",
    "person": "person",
}
ROLLUP_LEVELS = (UnitLevel.DISTRICT.value, UnitLevel.PROVINCE.value, UnitLevel.COUNTRY.value)


# --- what holds a title ------------------------------------------------------------------------------------------


def held(title: str, subject_type: str, year: int, basis: str, communes: Sequence[int] | None = None) -> Select:
    """Ids of the subjects holding ``title`` in ``year``.

    Official: a recognition of that year, or of an earlier year still valid on 31 December (the three-year titles).
    Projection: that, or eligible in that year. ``communes`` narrows by the row's commune (an index) where the
    subject is counted in the row's commune — not for persons counted where they work, for instance.
    """
    rec = select(Recognition.subject_id).where(
        Recognition.subject_type == subject_type,
        Recognition.title == title,
        Recognition.status == RecognitionStatus.RECOGNISED.value,
        or_(Recognition.year == year, and_(Recognition.year < year, Recognition.valid_until >= year_end(year))),
    )
    if communes is not None:
        rec = rec.where(Recognition.commune_id.in_(communes))
    if basis == Basis.OFFICIAL:
        return rec
    elig = select(Eligibility.subject_id).where(
        Eligibility.subject_type == subject_type,
        Eligibility.title == title,
        Eligibility.year == year,
        Eligibility.eligible.is_(True),
    )
    if communes is not None:
        elig = elig.where(Eligibility.commune_id.in_(communes))
    projected = _projected(title, subject_type, year, communes)
    if projected:
        carried = select(Eligibility.subject_id).where(
            Eligibility.subject_type == subject_type,
            Eligibility.title == title,
            Eligibility.year == year,
            Eligibility.subject_id.in_(projected),
        )
        return union(rec, elig, carried)  # type: ignore[return-value]
    return union(rec, elig)  # type: ignore[return-value]


# The titles whose official result waits for recognitions of other subjects (ADR 51): a unit's and a commune's
# Learning Citizens, a clan's and a village's Learning Families (Decision 448). Persons and households carry no
# projection (and are far too many to read for one).
_PROJECTED_TITLES = frozenset({"unit", "commune_community", "clan", "village_community"})


def _projected(title: str, subject_type: str, year: int, communes: Sequence[int] | None) -> list[int]:
    """Units, communes, clans and villages whose official result waits for their members' recognitions (ADR 51) and
    whose projection — this year's eligible members recognised too — reaches the title (level 1, or the pass of a
    points-style set): held on the projection basis, as the explanation page projects them. Read per distinct
    breakdown (subjects sharing one are judged once); only the results that carry a projection are read."""
    if title not in _PROJECTED_TITLES:
        return []
    from lms.titles.criteria import CriteriaError, definition_of
    from lms.titles.engine import projected_eligible
    from lms.titles.models import CriteriaSet, EligibilityBreakdown

    stmt = (
        select(
            Eligibility.subject_id, Eligibility.criteria_set_id, EligibilityBreakdown.id, EligibilityBreakdown.content
        )
        .join(EligibilityBreakdown, EligibilityBreakdown.id == Eligibility.breakdown_id)
        .where(
            Eligibility.subject_type == subject_type,
            Eligibility.title == title,
            Eligibility.year == year,
            Eligibility.eligible.is_(False),
            or_(
                cast(EligibilityBreakdown.content, String).like('%"projected_levels"%'),
                cast(EligibilityBreakdown.content, String).like('%"projected_points"%'),
            ),
        )
    )
    if communes is not None:
        stmt = stmt.where(Eligibility.commune_id.in_(communes))
    reached: dict[tuple[int, int], bool] = {}
    ids = []
    for subject_id, set_id, breakdown_id, content in db.session.execute(stmt):
        if (set_id, breakdown_id) not in reached:
            criteria_set = db.session.get(CriteriaSet, set_id)
            try:
                passes = projected_eligible(definition_of(criteria_set), content) if criteria_set else None
            except CriteriaError:
                passes = None
            reached[(set_id, breakdown_id)] = bool(passes)
        if reached[(set_id, breakdown_id)]:
            ids.append(subject_id)
    return ids


def _registered(title: str, subject_type: str, year: int, communes: Sequence[int]) -> Select:
    return select(Registration.subject_id).where(
        Registration.subject_type == subject_type,
        Registration.title == title,
        Registration.year == year,
        Registration.commune_id.in_(communes),
    )


def _active(start: Any, end: Any, year: int) -> ColumnElement[bool]:
    """A period [start, end] (either open) overlaps the calendar year."""
    return and_(or_(start.is_(None), start <= year_end(year)), or_(end.is_(None), end >= date(year, 1, 1)))


def uses_titles(metric: dict[str, Any]) -> bool:
    """Whether the metric reads titles (then official and projection differ)."""
    return (
        "title" in metric
        or "registered_for" in metric
        or any("title" in group for group in metric.get("member_of", []))
    )


# --- one metric as one grouped SELECT ------------------------------------------------------------------------------


def counted_in_villages(metric: dict[str, Any]) -> bool:
    """Whether what ``metric`` counts lives in a village — households, villages, persons counted where they live —
    so that a village has a figure of its own. Clans, organisations, association branches and the IT-skills figures
    belong to the commune: their villages show no figure."""
    if "it_skills" in metric or "association_roles" in metric:
        return False
    if any(group["subject"] == "organisation" for group in metric.get("member_of", [])):
        return False
    return metric["subject"] in ("household", "village", "person")


def count_select(
    metric: dict[str, Any], *, year: int, basis: str, communes: Sequence[int], by_village: bool = False
) -> Select:
    """``SELECT commune_id, count`` of what ``metric`` counts in each of ``communes`` for ``year`` and ``basis``;
    with ``by_village``, ``SELECT village_id, count`` for the villages of those communes (only for a metric
    :func:`counted_in_villages`)."""
    subject = metric["subject"]
    title = metric.get("title")
    if by_village and not counted_in_villages(metric):
        raise ValueError(f"{metric!r} is not counted in villages")
    if "it_skills" in metric:
        return it_skills_select(metric["it_skills"], year=year, communes=communes, metric=metric)
    if subject == "household":
        village = aliased(AdminUnit)
        group: Any = village.id if by_village else village.parent_id
        stmt: Select = (
            select(group.label("commune_id"), func.count(Household.id))
            .join(village, village.id == Household.village_id)
            .where(village.parent_id.in_(communes))
            .group_by(group)
        )
        key: Any = Household.id
    elif subject == "clan":
        stmt = (
            select(Clan.commune_id, func.count(Clan.id)).where(Clan.commune_id.in_(communes)).group_by(Clan.commune_id)
        )
        key = Clan.id
    elif subject == "village":
        group = AdminUnit.id if by_village else AdminUnit.parent_id
        stmt = (
            select(group, func.count(AdminUnit.id))
            .where(AdminUnit.level == UnitLevel.VILLAGE.value, AdminUnit.parent_id.in_(communes))
            .group_by(group)
        )
        key = AdminUnit.id
    elif subject == "organisation":
        stmt = (
            select(Organisation.commune_id, func.count(Organisation.id))
            .where(Organisation.commune_id.in_(communes))
            .group_by(Organisation.commune_id)
        )
        if "managing_levels" in metric:
            stmt = stmt.where(Organisation.managing_level.in_(metric["managing_levels"]))
        key = Organisation.id
    else:
        return _person_select(metric, year=year, basis=basis, communes=communes, by_village=by_village)
    subject_type = SUBJECT_TYPE[subject]
    if title:
        stmt = stmt.where(key.in_(held(title, subject_type, year, basis, communes)))
    if "registered_for" in metric:
        stmt = stmt.where(key.in_(_registered(metric["registered_for"], subject_type, year, communes)))
    return stmt


def _commune_of(unit: Any) -> ColumnElement[Any]:
    """The commune of a unit that is a commune or a village."""
    return case((unit.level == UnitLevel.VILLAGE.value, unit.parent_id), else_=unit.id)


def _in_communes(unit: Any, communes: Sequence[int]) -> ColumnElement[bool]:
    return or_(
        and_(unit.level == UnitLevel.COMMUNE.value, unit.id.in_(communes)),
        and_(unit.level == UnitLevel.VILLAGE.value, unit.parent_id.in_(communes)),
    )


def _person_select(
    metric: dict[str, Any], *, year: int, basis: str, communes: Sequence[int], by_village: bool = False
) -> Select:
    """Persons, counted once per commune: where they work (organisation staff), where their association branch is
    (officers and members), else where they live (``by_village``: once per village they live in)."""
    groups = metric.get("member_of", [])
    org_group = next((g for g in groups if g["subject"] == "organisation"), None)
    conditions: list[ColumnElement[bool]] = []
    if org_group is not None:
        om, org = OrganisationMember, Organisation
        commune_col: Any = org.commune_id
        # "+ 0": SQLite must not drive this query from the title holders' list through the (organisation,
        # person) index — one probe per holder and recognised organisation; from the organisations it is cheap.
        person_key: Any = om.person_id + 0
        stmt = (
            select(commune_col, func.count(distinct(om.person_id)))
            .select_from(Person)
            .join(om, om.person_id == Person.id)
            .join(org, org.id == om.organisation_id)
        )
        conditions += [org.commune_id.in_(communes), _active(om.started_on, om.ended_on, year)]
        if "title" in org_group:
            conditions.append(org.id.in_(held(org_group["title"], "organisation", year, basis, communes)))
    elif "association_roles" in metric:
        am, branch = AssociationMembership, aliased(AdminUnit)
        commune_col = _commune_of(branch)
        person_key = am.person_id
        stmt = (
            select(commune_col, func.count(distinct(person_key)))
            .select_from(Person)
            .join(am, am.person_id == Person.id)
            .join(branch, branch.id == am.unit_id)
        )
        conditions += [am.role.in_(metric["association_roles"]), _active(am.started_on, am.ended_on, year)]
        if metric.get("association_branches") == "commune":
            conditions += [branch.level == UnitLevel.COMMUNE.value, branch.id.in_(communes)]
        else:
            conditions.append(_in_communes(branch, communes))
    else:
        home = aliased(AdminUnit)
        commune_col = home.id if by_village else _commune_of(home)
        person_key = Person.id
        stmt = (
            select(commune_col, func.count(distinct(person_key)))
            .select_from(Person)
            .join(home, home.id == Person.unit_id)
        )
        conditions.append(_in_communes(home, communes))
        if by_village:
            conditions.append(home.level == UnitLevel.VILLAGE.value)

    if "occupation_groups" in metric:
        conditions.append(Person.occupation_group.in_(metric["occupation_groups"]))
    if "age" in metric:
        youngest, oldest = metric["age"]
        conditions += [
            Person.birth_date.is_not(None),
            Person.birth_date >= date(year - oldest, 1, 1),
            Person.birth_date <= date(year - youngest, 12, 31),
        ]
    other_groups = [g for g in groups if g["subject"] != "organisation"]
    if other_groups:
        conditions.append(or_(*(_member_of(g, year, basis, communes) for g in other_groups)))
    # Title and learning filters test the membership's person column, not person.id: SQLite would otherwise
    # drive the query from the (large) list of title holders and probe every membership for each of them.
    if "title" in metric:
        # A person's titles are filed under the commune they live in: when that is where they are counted, the
        # holders' list is narrowed to these communes (one commune's recount reads one commune's titles).
        narrow = communes if org_group is None and "association_roles" not in metric else None
        conditions.append(person_key.in_(held(metric["title"], "person", year, basis, narrow)))
    if "registered_for" in metric:
        conditions.append(
            person_key.in_(
                select(Registration.subject_id).where(
                    Registration.subject_type == "person",
                    Registration.title == metric["registered_for"],
                    Registration.year == year,
                )
            )
        )
    if "learning" in metric:
        conditions.append(
            person_key.in_(
                select(LearningRecord.person_id).where(
                    LearningRecord.year == year, LearningRecord.kind.in_(metric["learning"])
                )
            )
        )
    return stmt.where(*conditions).group_by(commune_col)


def _member_of(group: dict[str, Any], year: int, basis: str, communes: Sequence[int]) -> ColumnElement[bool]:
    subject, title = group["subject"], group.get("title")
    if subject == "household":
        if title:
            return Person.household_id.in_(held(title, "household", year, basis, communes))
        return Person.household_id.is_not(None)
    if subject == "clan":
        clans = held(title, "clan", year, basis, communes) if title else select(Clan.id)
        return Person.household_id.in_(select(clan_household.c.household_id).where(clan_household.c.clan_id.in_(clans)))
    if subject == "village":
        if title:
            return Person.unit_id.in_(held(title, "village", year, basis, communes))
        return Person.unit_id.in_(select(AdminUnit.id).where(AdminUnit.level == UnitLevel.VILLAGE.value))
    return false()  # organisations are handled by the caller (they change the commune a person counts in)


# --- the IT-skills programme's figures, by its definitions (courses/data/it_skills.toml) ----------------------


def it_skills_select(
    figure: str, *, year: int, communes: Sequence[int], metric: dict[str, Any] | None = None
) -> Select:
    """``SELECT commune_id, count`` of one IT-skills figure for many communes at once.

    The definitions — officer, leader and board roles, what "trained in IT" and "organises CLC activities" mean —
    are the IT-skills programme's (``courses.it_skills``), so its pages and these indicators count the same people.
    ``it_skills.figures`` answers one scope at a time; this answers a set of communes in one statement per figure.
    ``metric`` (the plan's numerator) may count ``studied_policy`` over the plan's phase rather than ``year`` alone
    (Plan 1514: "trong giai đoạn"): ``it_skills.policy_study_window`` says over what time, for the pages too.
    """
    from courses import it_skills

    d = it_skills.framework().definitions
    am = AssociationMembership
    active = _active(am.started_on, am.ended_on, year)
    if figure in ("associations", "associations_led_in_clc"):
        stmt = (
            select(am.unit_id, func.count(distinct(am.unit_id)))
            .where(am.unit_id.in_(communes), active)
            .group_by(am.unit_id)
        )
        if figure == "associations_led_in_clc":
            stmt = (
                stmt.join(BoardMembership, BoardMembership.person_id == am.person_id)
                .join(Clc, and_(Clc.id == BoardMembership.clc_id, Clc.commune_id == am.unit_id))
                .where(
                    am.role.in_(d["leader_roles"]),
                    BoardMembership.role.in_(d["board_roles"]),
                    _active(BoardMembership.started_on, BoardMembership.ended_on, year),
                )
            )
        return stmt
    if figure in ("members", "studied_policy"):
        branch = aliased(AdminUnit)
        commune_col = _commune_of(branch)
        stmt = (
            select(commune_col, func.count(distinct(am.person_id)))
            .join(branch, branch.id == am.unit_id)
            .where(_in_communes(branch, communes), active)
            .group_by(commune_col)
        )
        if figure == "studied_policy":
            window, _phase = it_skills.policy_study_window(metric, it_skills.Period.year(year))
            stmt = stmt.where((am.person_id + 0).in_(it_skills.policy_students(window.first, window.last)))
        return stmt
    stmt = (
        select(am.unit_id, func.count(distinct(am.person_id)))
        .where(am.unit_id.in_(communes), am.role.in_(d["officer_roles"]), active)
        .group_by(am.unit_id)
    )
    if figure in ("trained", "organised_and_trained"):
        stmt = stmt.where((am.person_id + 0).in_(_it_trained(year)))
    if figure == "meets_basic":
        stmt = stmt.where((am.person_id + 0).in_(_it_trained(year, standard="basic")))
    if figure in ("organised", "organised_and_trained"):
        stmt = stmt.where((am.person_id + 0).in_(_clc_organisers(year, d["organising_roles"])))
    return stmt


def _it_trained(year: int, standard: str | None = None) -> Select:
    """Persons trained in IT by the end of ``year``: the configured definition (a standard, or modules all
    needed), from IT-module learning records whatever their origin (a class, a verified certificate)."""
    from courses import it_skills

    fw = it_skills.framework()
    definition = it_skills.trained_definition()
    standard = standard or definition.standard
    required = sorted(fw.all_required(standard)) if standard else sorted(set(definition.modules))
    code = LearningRecord.module_code
    having = [func.count(distinct(case((code.in_(required), code)))) >= len(required)]
    if standard and fw.standards[standard].at_least:
        chosen = fw.standards[standard]
        having.append(func.count(distinct(case((code.in_(chosen.choose_from), code)))) >= chosen.at_least)
    return (
        select(LearningRecord.person_id)
        .where(LearningRecord.kind == LearningKind.IT_MODULE.value, LearningRecord.completed_on <= year_end(year))
        .group_by(LearningRecord.person_id)
        .having(*having)
    )


def _year_start(year: int) -> datetime:
    """1 January 00:00 of ``year`` as stored (naive); sessions are compared by their stored start."""
    return datetime.combine(date(year, 1, 1), time.min)


def _clc_organisers(year: int, roles: Sequence[str]) -> Select:
    """Instructors, assistants or organisers of a class with a held session in ``year``, or persons with an
    organised-activity learning record in it."""
    start, end = _year_start(year), _year_start(year + 1)
    by_class = (
        select(class_instructor.c.person_id)
        .join(ClassSession, ClassSession.class_id == class_instructor.c.class_id)
        .where(
            class_instructor.c.role.in_(roles),
            ClassSession.status == SessionStatus.SCHEDULED.value,
            ClassSession.starts_at >= start,
            ClassSession.starts_at < end,
            # Held: begun by now, as courses.it_skills counts it (Plan 1514: "tham gia tổ chức các hoạt động").
            ClassSession.starts_at <= local_now(),
        )
    )
    by_record = select(LearningRecord.person_id).where(
        LearningRecord.kind == LearningKind.ACTIVITY_ORGANISED.value,
        LearningRecord.completed_on >= date(year, 1, 1),
        LearningRecord.completed_on <= year_end(year),
    )
    return union(by_class, by_record)  # type: ignore[return-value]


# --- step 1: source values ---------------------------------------------------------------------------------------


def periods_of(year: int, today: date) -> list[tuple[date, str]]:
    if year > today.year:
        raise ValueError(f"{year} has not begun: values are computed for this year ({today.year}) or earlier")
    periods = [(year_end(year), PeriodKind.YEAR.value)]
    if year == today.year:
        periods.append((month_end(today), PeriodKind.MONTH.value))
    return periods


def _counts(
    metric: dict[str, Any], *, year: int, basis: str, communes: Sequence[int], by_village: bool = False
) -> dict[int, int]:
    result = db.session.execute(count_select(metric, year=year, basis=basis, communes=communes, by_village=by_village))
    return {commune_id: count for commune_id, count in result.tuples()}  # noqa: C416 - a Result has keys(): dict() would read it as a mapping


def source_values(
    indicator: Indicator, communes: Sequence[int], *, year: int, periods: list[tuple[date, str]], now: datetime
) -> int:
    """Count ``indicator`` in every commune of ``communes`` and replace their source values; returns rows written.

    Two grouped SELECTs per basis (one when the indicator reads no title: the bases are then equal), one DELETE,
    one multi-row INSERT. A commune with nothing to count gets 0 / 0 ("no data").
    """
    if not communes:
        return 0
    rows = []
    computed: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
    for basis in (Basis.OFFICIAL.value, Basis.PROJECTION.value):
        if basis == Basis.PROJECTION and not (uses_titles(indicator.numerator) or uses_titles(indicator.denominator)):
            computed[basis] = computed[Basis.OFFICIAL.value]
        else:
            computed[basis] = (
                _counts(indicator.numerator, year=year, basis=basis, communes=communes),
                _counts(indicator.denominator, year=year, basis=basis, communes=communes),
            )
        numerators, denominators = computed[basis]
        for commune_id in communes:
            for period_end, kind in periods:
                rows.append(
                    {
                        "indicator_id": indicator.id,
                        "commune_id": commune_id,
                        "period_end": period_end,
                        "period_kind": kind,
                        "basis": basis,
                        "numerator": Decimal(numerators.get(commune_id, 0)),
                        "denominator": Decimal(denominators.get(commune_id, 0)),
                        "computed_at": now,
                    }
                )
    src = IndicatorSourceValue
    db.session.execute(
        delete(src).where(
            src.indicator_id == indicator.id,
            src.commune_id.in_(communes),
            or_(*(and_(src.period_end == end, src.period_kind == kind) for end, kind in periods)),
        )
    )
    db.session.execute(insert(src), rows)
    return len(rows)


def village_values(
    indicator: Indicator, communes: Sequence[int], *, year: int, periods: list[tuple[date, str]], now: datetime
) -> int:
    """The figures of the villages of ``communes`` for an indicator whose subjects live in villages (households,
    villages, persons where they live), published directly (a village is not carried across the reform: it is
    shown under the map its commune belongs to). Returns rows written.

    Villages are the last step of the drill-down: without their own figures the leader sees "—" there. Grouped
    SELECTs as for communes (by village), one DELETE and one INSERT; a village with nothing counted gets no row
    ("no data", as 0 / 0 would say).
    """
    if not communes or not (counted_in_villages(indicator.numerator) and counted_in_villages(indicator.denominator)):
        return 0
    commune = aliased(AdminUnit)
    villages = {
        row.id: (Structure.PRE_2025.value if row.ended else Structure.CURRENT.value)
        for row in db.session.execute(
            select(AdminUnit.id, commune.valid_to.is_not(None).label("ended"))
            .join(commune, commune.id == AdminUnit.parent_id)
            .where(AdminUnit.level == UnitLevel.VILLAGE.value, AdminUnit.parent_id.in_(communes))
        )
    }
    if not villages:
        return 0
    rows = []
    counted: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
    for basis in (Basis.OFFICIAL.value, Basis.PROJECTION.value):
        if basis == Basis.PROJECTION and not (uses_titles(indicator.numerator) or uses_titles(indicator.denominator)):
            counted[basis] = counted[Basis.OFFICIAL.value]
        else:
            counted[basis] = (
                _counts(indicator.numerator, year=year, basis=basis, communes=communes, by_village=True),
                _counts(indicator.denominator, year=year, basis=basis, communes=communes, by_village=True),
            )
        numerators, denominators = counted[basis]
        for village_id in sorted(set(numerators) | set(denominators)):
            if village_id not in villages:
                continue
            for period_end, kind in periods:
                rows.append(
                    {
                        "indicator_id": indicator.id,
                        "unit_id": village_id,
                        "period_end": period_end,
                        "period_kind": kind,
                        "structure": villages[village_id],
                        "basis": basis,
                        "numerator": Decimal(numerators.get(village_id, 0)),
                        "denominator": Decimal(denominators.get(village_id, 0)),
                        "computed_at": now,
                    }
                )
    value = IndicatorValue
    db.session.execute(
        delete(value).where(
            value.indicator_id == indicator.id,
            value.unit_id.in_(sorted(villages)),
            _period_filter(value.period_end, value.period_kind, periods),
        )
    )
    if rows:
        db.session.execute(insert(value), rows)
    return len(rows)


# --- step 2: commune values under both structures ----------------------------------------------------------------


@dataclass
class Neighbourhood:
    """The communes one recomputation touches: ``current`` and ``old`` get new values; ``counted`` (a superset)
    are recounted, because those values read them through the lineage."""

    current: set[int]
    old: set[int]
    counted: set[int]


def neighbourhood(commune_ids: Iterable[int]) -> Neighbourhood:
    """Which communes a change in ``commune_ids`` reaches: each one under its own structure, its lineage partners
    under theirs, and (to be recounted) the other partners those depend on. Three small queries."""
    ids = sorted(set(commune_ids))
    units = db.session.execute(
        select(AdminUnit.id, AdminUnit.valid_to).where(
            AdminUnit.id.in_(ids), AdminUnit.level == UnitLevel.COMMUNE.value
        )
    ).all()
    current = {u.id for u in units if u.valid_to is None}
    old = {u.id for u in units if u.valid_to is not None}
    links = commune_lineage().subquery()
    pairs = db.session.execute(
        select(links.c.old_unit_id, links.c.new_unit_id).where(
            or_(links.c.old_unit_id.in_(old), links.c.new_unit_id.in_(current))
        )
    ).all()
    current |= {n for o, n in pairs if o in old}
    old |= {o for o, n in pairs if n in current}
    second = db.session.execute(
        select(links.c.old_unit_id, links.c.new_unit_id).where(
            or_(links.c.old_unit_id.in_(old), links.c.new_unit_id.in_(current))
        )
    ).all()
    counted = current | old | {o for o, _ in second} | {n for _, n in second}
    return Neighbourhood(current, old, counted)


def _period_filter(column_end: Any, column_kind: Any, periods: list[tuple[date, str]]) -> ColumnElement[bool]:
    return or_(*(and_(column_end == end, column_kind == kind) for end, kind in periods))


def commune_values(
    indicator_ids: Sequence[int], hood: Neighbourhood, *, periods: list[tuple[date, str]], now: datetime
) -> None:
    """Replace the published values of the neighbourhood's communes from the source values (one DELETE and one
    INSERT … SELECT per structure)."""
    src, value = IndicatorSourceValue, IndicatorValue
    base = [src.indicator_id.in_(indicator_ids), _period_filter(src.period_end, src.period_kind, periods)]
    columns = [
        "indicator_id",
        "unit_id",
        "period_end",
        "period_kind",
        "structure",
        "basis",
        "numerator",
        "denominator",
        "computed_at",
    ]
    links = commune_lineage_shares().subquery()
    cache.bump_after_commit([*hood.current, *hood.old, cache.COMMUNES])
    for structure, targets in ((Structure.CURRENT.value, hood.current), (Structure.PRE_2025.value, hood.old)):
        db.session.execute(
            delete(value).where(
                value.structure == structure,
                value.indicator_id.in_(indicator_ids),
                value.unit_id.in_(sorted(targets)),
                _period_filter(value.period_end, value.period_kind, periods),
            )
        )
        if not targets:
            continue
        own = select(
            src.indicator_id,
            src.commune_id.label("unit_id"),
            src.period_end,
            src.period_kind,
            src.basis,
            src.numerator.label("n"),
            src.denominator.label("d"),
        ).where(*base, src.commune_id.in_(sorted(targets)))
        if structure == Structure.CURRENT:
            # A current commune receives share × the figures of each old commune that went into it.
            carried = (
                select(
                    src.indicator_id,
                    links.c.new_unit_id,
                    src.period_end,
                    src.period_kind,
                    src.basis,
                    src.numerator * links.c.share,
                    src.denominator * links.c.share,
                )
                .join(links, links.c.old_unit_id == src.commune_id)
                .where(*base, links.c.new_unit_id.in_(sorted(targets)))
            )
        else:
            # An old commune receives, from each successor, the part of it the old commune made up.
            whole = (
                select(links.c.new_unit_id, func.sum(links.c.share).label("total"))
                .group_by(links.c.new_unit_id)
                .subquery()
            )
            carried = (
                select(
                    src.indicator_id,
                    links.c.old_unit_id,
                    src.period_end,
                    src.period_kind,
                    src.basis,
                    src.numerator * links.c.share / whole.c.total,
                    src.denominator * links.c.share / whole.c.total,
                )
                .join(links, links.c.new_unit_id == src.commune_id)
                .join(whole, whole.c.new_unit_id == src.commune_id)
                .where(*base, links.c.old_unit_id.in_(sorted(targets)))
            )
        parts = union_all(own, carried).subquery()
        db.session.execute(
            insert(value).from_select(
                columns,
                select(
                    parts.c.indicator_id,
                    parts.c.unit_id,
                    parts.c.period_end,
                    parts.c.period_kind,
                    literal(structure),
                    parts.c.basis,
                    func.sum(parts.c.n),
                    func.sum(parts.c.d),
                    literal(now),
                ).group_by(
                    parts.c.indicator_id, parts.c.unit_id, parts.c.period_end, parts.c.period_kind, parts.c.basis
                ),
            )
        )


# --- step 3: roll-up ---------------------------------------------------------------------------------------------


def _lock(name: str, year: int) -> None:
    """Serialise one kind of work for one year across workers (PostgreSQL; SQLite serialises writers anyway)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(:name), :year)"), {"name": f"targets.{name}", "year": year}
        )


def _ancestry() -> Any:
    """(commune_id, ancestor_id) for every commune and each unit above it — district, province, country — as
    equality joins up the parent chain (a range join on paths is slow on PostgreSQL when the range is computed)."""
    commune, up1, up2 = aliased(AdminUnit), aliased(AdminUnit), aliased(AdminUnit)
    is_commune = commune.level == UnitLevel.COMMUNE.value
    first = select(commune.id.label("commune_id"), commune.parent_id.label("ancestor_id")).where(
        is_commune, commune.parent_id.is_not(None)
    )
    second = (
        select(commune.id, up1.parent_id)
        .join(up1, up1.id == commune.parent_id)
        .where(is_commune, up1.parent_id.is_not(None))
    )
    third = (
        select(commune.id, up2.parent_id)
        .join(up1, up1.id == commune.parent_id)
        .join(up2, up2.id == up1.parent_id)
        .where(is_commune, up2.parent_id.is_not(None))
    )
    return union_all(first, second, third).subquery("ancestry")


def rollup(year: int, *, now: datetime | None = None) -> int:
    """Every district, province and the country: the sums of its communes' numerators and denominators, for every
    period of ``year``, structure and basis. One DELETE and one INSERT … SELECT … GROUP BY per structure; returns
    the rows written."""
    now = now or utcnow()
    _lock("rollup", year)
    value = IndicatorValue
    ancestry = _ancestry()
    in_year = and_(value.period_end >= date(year, 1, 1), value.period_end <= year_end(year))
    written = 0
    cache.bump_after_commit([cache.ROLLUP])
    for structure in (Structure.CURRENT.value, Structure.PRE_2025.value):
        db.session.execute(
            delete(value).where(
                value.structure == structure,
                in_year,
                value.unit_id.in_(select(AdminUnit.id).where(AdminUnit.level.in_(ROLLUP_LEVELS))),
            )
        )
        sums = (
            select(
                value.indicator_id,
                ancestry.c.ancestor_id,
                value.period_end,
                value.period_kind,
                value.structure,
                value.basis,
                func.sum(value.numerator),
                func.sum(value.denominator),
                literal(now),
            )
            .join(ancestry, ancestry.c.commune_id == value.unit_id)
            .where(value.structure == structure, in_year)
            .group_by(
                value.indicator_id,
                ancestry.c.ancestor_id,
                value.period_end,
                value.period_kind,
                value.structure,
                value.basis,
            )
        )
        result = db.session.execute(
            insert(value).from_select(
                [
                    "indicator_id",
                    "unit_id",
                    "period_end",
                    "period_kind",
                    "structure",
                    "basis",
                    "numerator",
                    "denominator",
                    "computed_at",
                ],
                sums,
            )
        )
        written += max(result.rowcount or 0, 0)  # type: ignore[attr-defined]
    db.session.flush()
    return written


# --- the whole recomputation -------------------------------------------------------------------------------------


def _lock_states(commune_ids: Iterable[int], year: int) -> None:
    """Create the state rows if missing and lock them in id order (so overlapping recomputations take turns and
    never deadlock)."""
    ids = sorted(set(commune_ids))
    if not ids:
        return
    have = set(
        db.session.scalars(
            select(TargetState.commune_id).where(TargetState.year == year, TargetState.commune_id.in_(ids))
        )
    )
    missing = [{"commune_id": c, "year": year} for c in ids if c not in have]
    if missing:
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        db.session.execute(dialect.insert(TargetState).values(missing).on_conflict_do_nothing())
    db.session.execute(
        select(TargetState.commune_id)
        .where(TargetState.year == year, TargetState.commune_id.in_(ids))
        .order_by(TargetState.commune_id)
        .with_for_update()
    )


def _lock_year_states(year: int) -> None:
    """Lock every state row of ``year`` in commune order (a no-op on SQLite, whose writers are serialised)."""
    db.session.execute(
        select(TargetState.commune_id)
        .where(TargetState.year == year)
        .order_by(TargetState.commune_id)
        .with_for_update()
    )


@dataclass
class RecomputeResult:
    communes: int  # communes whose published values were replaced
    counted: int  # communes counted (with the lineage partners those values read)
    source_rows: int
    indicators: int


def recompute(
    commune_ids: Iterable[int], year: int, *, today: date | None = None, progress: Any = None
) -> RecomputeResult:
    """Recount every active plan's indicators for ``commune_ids`` (and what their values read through the lineage),
    publish their commune values under both structures and mark them computed. The roll-up is separate
    (:func:`rollup`): one roll-up serves many communes.

    The number of statements depends on the number of indicators, not of communes: a province is recomputed by
    passing all its communes at once. ``progress(done, total)`` is called after each indicator.
    """
    requested = sorted(set(commune_ids))
    periods = periods_of(year, today or local_today())
    hood = neighbourhood(requested)
    _lock_states(hood.counted, year)
    # Stamped after the locks: a roll-up that started before we held them has either finished (and we are counted
    # as pending by the next one) or waits for our commit in :func:`rollup_if_needed` and reads our values.
    now = utcnow()
    plans = list(
        db.session.scalars(
            select(Plan)
            .where(Plan.active.is_(True))
            .order_by(Plan.code)
            .options(selectinload(Plan.indicators))
            .execution_options(populate_existing=True)
        )
    )
    indicators: list[tuple[Indicator, list[int]]] = []
    for plan in plans:
        communes = plan_communes(plan, hood.counted)
        indicators += [(indicator, communes) for indicator in plan.indicators]
    rows = 0
    for done, (indicator, communes) in enumerate(indicators, 1):
        rows += source_values(indicator, communes, year=year, periods=periods, now=now)
        rows += village_values(indicator, sorted(set(communes) & set(requested)), year=year, periods=periods, now=now)
        if progress:
            progress(done, len(indicators))
    commune_values([i.id for i, _ in indicators], hood, periods=periods, now=now)
    db.session.execute(
        update(TargetState)
        .where(TargetState.year == year, TargetState.commune_id.in_(requested))
        .values(computed_at=now, **work.CLEARED)
    )
    db.session.flush()
    return RecomputeResult(len(hood.current | hood.old), len(hood.counted), rows, len(indicators))


def rollup_if_needed(year: int) -> bool:
    """Roll ``year`` up if some commune was computed after its last roll-up; mark them rolled up. Idempotent: a
    second call finds nothing to do.

    The year's state rows are locked first (in commune order, as :func:`_lock_states` does), and ``started`` is taken
    after: a recomputation in flight holds some of them, so the roll-up waits for its commit and reads its values;
    one that starts later stamps ``computed_at`` after ``started`` and stays pending. Without the lock a roll-up
    could read a commune's old values and then, once the recomputation commits, mark it rolled up. FOR UPDATE rather
    than FOR SHARE: two roll-ups of a year would otherwise both hold the rows shared and deadlock when each updates
    ``rolled_up_at``.
    """
    _lock_year_states(year)
    started = utcnow()
    pending = db.session.scalar(
        select(func.count())
        .select_from(TargetState)
        .where(
            TargetState.year == year,
            TargetState.computed_at.is_not(None),
            or_(TargetState.rolled_up_at.is_(None), TargetState.computed_at > TargetState.rolled_up_at),
        )
    )
    if not pending:
        return False
    rollup(year, now=started)
    db.session.execute(
        update(TargetState)
        .where(TargetState.year == year, TargetState.computed_at <= started)
        .values(rolled_up_at=started)
    )
    db.session.flush()
    return True


def communes_under(unit: AdminUnit) -> list[int]:
    """The communes of ``unit``'s subtree (the unit itself if it is one)."""
    return list(
        db.session.scalars(
            select(AdminUnit.id)
            .where(subtree(AdminUnit.path, unit.path), AdminUnit.level == UnitLevel.COMMUNE.value)
            .order_by(AdminUnit.id)
        )
    )


def _active_phases() -> list[tuple[int, int]]:
    """The phases ``(first, last)`` the active plans' indicators count over (a few rows: the plans' indicators)."""
    phases = set()
    for numerator in db.session.scalars(
        select(Indicator.numerator).join(Plan, Plan.id == Indicator.plan_id).where(Plan.active.is_(True))
    ):
        for first, last in (numerator or {}).get("phases") or ():
            phases.add((int(first), int(last)))
    return sorted(phases)


def _begun_sessions(since: datetime, now: datetime) -> Select:
    """(commune_id, year, computed_at) of the commune-years whose officers "who organise CLC activities" may have
    changed because a session began in (``since``, ``now``] (local times) after the commune-year was last computed.
    An officer counts only with a session that has begun (ADR 7), so the figure moves when a start time passes,
    without any write to notice. The communes are those whose association the class's instructors, assistants or
    organisers serve as officers (where the figure counts them, ``it_skills_select``); the roles are the IT-skills
    programme's. The window keeps the scan to the sessions begun since the last sweep (on ``starts_at``)."""
    from courses import it_skills
    from lms.core.clock import LocalTimeOfUtc

    d = it_skills.framework().definitions
    am, ts = AssociationMembership, TargetState
    branch = aliased(AdminUnit)
    year = cast(extract("year", ClassSession.starts_at), Integer)
    return (
        select(am.unit_id.label("commune_id"), year.label("year"), ts.computed_at)
        .select_from(ClassSession)
        .join(class_instructor, class_instructor.c.class_id == ClassSession.class_id)
        .join(am, am.person_id == class_instructor.c.person_id)
        .join(branch, and_(branch.id == am.unit_id, branch.level == UnitLevel.COMMUNE.value))
        .outerjoin(ts, and_(ts.commune_id == am.unit_id, ts.year == year))
        .where(
            ClassSession.status == SessionStatus.SCHEDULED.value,
            ClassSession.starts_at > since,
            ClassSession.starts_at <= now,
            class_instructor.c.role.in_(d["organising_roles"]),
            am.role.in_(d["officer_roles"]),
            or_(ts.computed_at.is_(None), ClassSession.starts_at > LocalTimeOfUtc(ts.computed_at)),
        )
    )


def stale_pairs(
    limit: int = 500, *, today: date | None = None, sessions_begun: tuple[datetime, datetime] | None = None
) -> list[tuple[int, int]]:
    """The (commune, year) pairs whose values are behind: titles evaluated or marked after the last computation,
    a recognition proposed or revoked after it, an active plan version loaded after it, a class session begun
    after it within ``sessions_begun`` = (since, now], local times (:func:`_begun_sessions`), or (this year) not yet
    computed this month — so every month gets its row. Oldest computation first; at most ``limit``."""
    today = today or local_today()
    es, ts = EvaluationState, TargetState
    month_start = datetime.combine(today.replace(day=1), time.min) - VN_OFFSET
    plan_loaded = select(func.max(Plan.loaded_at)).where(Plan.active.is_(True)).scalar_subquery()
    from_titles = (
        select(es.commune_id, es.year, ts.computed_at)
        .outerjoin(ts, and_(ts.commune_id == es.commune_id, ts.year == es.year))
        .where(
            es.year <= today.year,
            or_(
                ts.computed_at.is_(None),
                es.evaluated_at > ts.computed_at,
                es.marked_at > ts.computed_at,
                plan_loaded > ts.computed_at,
            ),
        )
    )
    rec = Recognition
    # A recognition counts in every year it is valid (a three-year title: Y and the three years after it, Circular 24
    # Art. 5.4, Circular 25 Art. 5.4; ADR 17), so a change to it makes all of them stale. The offsets 0..longest
    # validity come from a recursive CTE (the same on SQLite and PostgreSQL).
    last_year = func.coalesce(extract("year", rec.valid_until), rec.year)
    offsets = select(literal(0).label("n")).cte("offsets", recursive=True)
    offsets = offsets.union_all(
        select((offsets.c.n + 1).label("n")).where(
            offsets.c.n < select(func.max(last_year - rec.year)).where(rec.year <= today.year).scalar_subquery()
        )
    )
    valid_year = (rec.year + offsets.c.n).label("year")
    from_recognitions = (
        select(rec.commune_id, valid_year, ts.computed_at)
        .join(offsets, rec.year + offsets.c.n <= last_year)
        .outerjoin(ts, and_(ts.commune_id == rec.commune_id, ts.year == rec.year + offsets.c.n))
        .where(
            rec.year + offsets.c.n <= today.year,
            or_(ts.computed_at.is_(None), rec.proposed_at > ts.computed_at, rec.revoked_at > ts.computed_at),
        )
    )
    monthly = select(ts.commune_id, ts.year, ts.computed_at).where(
        ts.year == today.year, or_(ts.computed_at.is_(None), ts.computed_at < month_start, plan_loaded > ts.computed_at)
    )
    # A figure counted over its plan's phase (``phases``: Plan 1514's policy study) moves in every later year of the
    # phase when an earlier one changes (a study of 2024 entered in 2026 counts in 2025, the phase's target year):
    # a commune-year marked or evaluated after a later year of its phase was computed makes that year stale too.
    phased = []
    for first, last in _active_phases():
        for later in range(first + 1, min(last, today.year) + 1):
            computed = aliased(TargetState)
            phased.append(
                select(es.commune_id, literal(later, Integer).label("year"), computed.computed_at)
                .join(computed, and_(computed.commune_id == es.commune_id, computed.year == later))
                .where(
                    es.year >= first,
                    es.year < later,
                    or_(es.evaluated_at > computed.computed_at, es.marked_at > computed.computed_at),
                )
            )
    begun = [_begun_sessions(*sessions_begun)] if sessions_begun else []
    parts = union(from_titles, from_recognitions, monthly, *phased, *begun).subquery()
    # A commune-year whose recomputation keeps failing waits out its backoff, or a person once parked (ADR 23).
    state = aliased(TargetState)
    now = utcnow()
    stmt = (
        select(parts.c.commune_id, parts.c.year)
        .outerjoin(state, and_(state.commune_id == parts.c.commune_id, state.year == parts.c.year))
        .where(state.parked_at.is_(None), or_(state.next_try_at.is_(None), state.next_try_at <= now))
        .group_by(parts.c.commune_id, parts.c.year)
        .order_by(func.min(parts.c.computed_at).nulls_first(), parts.c.year, parts.c.commune_id)
        .limit(limit)
    )
    return [(c, y) for c, y in db.session.execute(stmt)]
