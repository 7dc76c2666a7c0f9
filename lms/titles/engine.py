"""The evaluation engine: every title of one commune and year, bottom-up, set-based.

First, one ``INSERT … SELECT`` groups the year's learning records of the commune's persons into a temporary table
of per-person metrics (every metric any active set uses: conditional aggregates). Then for each title, in
:data:`EVALUATION_ORDER` (persons, households, clans, villages, organisations, the commune):

1. **One wide statement per criteria set** reads, for every subject of the commune, the inputs of every computed
   indicator: the persons' metrics, and member shares (conditional counts over the members, joined to the metrics
   and to the members' eligibility rows that the previous level wrote moments earlier in the same transaction —
   copied once per member type and title into a temporary table, not probed member by member: :class:`_States`).
   It also computes the digest of each subject's inputs (``md5`` in SQL, ADR 40) and joins the subject's stored
   row, so it returns only the subjects to score again (no row, another digest, assessments or earlier
   recognitions to read) and never a recognised (frozen) one; its first row carries the counts of the summary
   (window aggregates over every subject). One statement reads the subjects' assessments.
2. Python turns each returned row into points or met / not met, the score or level, and the breakdown (codes and
   numbers, see :mod:`lms.titles.explain`) — in memory, without a database call per subject, and once per
   distinct combination of inputs (most persons share a few: no records, one class…).
3. One bulk insert (``COPY`` on PostgreSQL) and one bulk update write the difference; the rows of subjects gone are
   looked for (and deleted) only when the commune holds more rows than its current subjects have there. A second
   run writes nothing and leaves ``computed_at`` alone. Rows name their breakdown (``eligibility_breakdown``,
   stored once per distinct content): the ones a title's changed rows need are looked up by digest in one
   statement and the missing ones added in one.

The number of statements depends on the number of titles and criteria sets, never on the population.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any, NamedTuple, cast

from flask import current_app
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    Numeric,
    Select,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import FromClause

from courses.models import LearningKind, LearningRecord
from lms.core.bulk import copy_lines, copy_rows, csv_line
from lms.extensions import db, utcnow
from lms.registry.models import (
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
from lms.titles import criteria as crit
from lms.titles import deadlines
from lms.titles.models import (
    EVALUATION_ORDER,
    TITLE_SUBJECT,
    AssessmentSource,
    Eligibility,
    EligibilityBreakdown,
    PersonMetric,
    Recognition,
    RecognitionStatus,
    Scoring,
    ShareCount,
    SubjectType,
    Title,
    breakdown_digest,
)
from lms.titles.models import Assessment as AssessmentModel

log = logging.getLogger(__name__)

#: Part of every inputs digest: bump it when the way results are computed changes, so the next run rewrites rows.
ENGINE_VERSION = "6"


def _table(model: Any) -> Table:
    return cast(Table, model.__table__)


P = _table(Person)
H = _table(Household)
U = _table(AdminUnit)
LR = _table(LearningRecord)
E = _table(Eligibility)
B = _table(EligibilityBreakdown)
R = _table(Recognition)
A = _table(AssessmentModel)
C = _table(Clan)
O = _table(Organisation)  # noqa: E741 - the table, named like its siblings
OM = _table(OrganisationMember)
CH = clan_household

MEMBER_SUBJECT = {
    "persons": SubjectType.PERSON.value,
    "households": SubjectType.HOUSEHOLD.value,
    "villages": SubjectType.VILLAGE.value,
}


@dataclass
class _Commune:
    id: int
    path: str
    year: int
    area_class: str = "standard"
    # Unit title: organisation kind → code of the set that takes it whatever its managing level (Circular 24, 2.3),
    # and the managing levels it takes it at (empty: any; a school the commune manages, ADR 51).
    included_kinds: dict[str, str] = field(default_factory=dict)
    included_levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # An incremental evaluation (ADR 29): subject type → the ids to re-score (the commune itself always is). None:
    # every subject of the commune.
    scope: dict[str, set[int]] | None = None
    # Maintained share counts of villages and the commune (ADR 29), (subject type, subject id, share key) → counts
    # (num, den, unk, na, nob): ``stored`` as the last evaluation left them (incremental evaluation only), ``before``
    # the contributions of the members re-scored, read before anything is written, and ``counted`` what this
    # evaluation counts (and writes back).
    stored: dict[tuple[str, int, str], tuple[int, ...]] = field(default_factory=dict)
    before: dict[tuple[str, int, str], tuple[int, ...]] = field(default_factory=dict)
    counted: dict[tuple[str, int, str], tuple[int, ...]] = field(default_factory=dict)
    # A full evaluation: the members' results its shares count, read once per title from the rows just written.
    states: _States | None = None

    @property
    def first_day(self) -> date:
        return date(self.year, 1, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, 12, 31)

    def in_commune(self, path_column: Any) -> ColumnElement[bool]:
        return subtree(path_column, self.path)

    def scoped(self, subject: str, column: Any) -> ColumnElement[bool]:
        """``column`` (the id of a subject of type ``subject``) among the subjects to re-score."""
        if self.scope is None or subject == SubjectType.COMMUNE:
            return true()
        return cast(ColumnElement[bool], column.in_(sorted(self.scope.get(subject, ()))))


def evaluate_commune(
    commune_id: int,
    year: int,
    *,
    repairs: list[dict[str, Any]] | None = None,
    dirty: dict[str, set[int]] | None = None,
) -> dict[str, Any]:
    """Evaluate every title for one commune and year, bottom-up, in the caller's transaction (never commits).

    Returns ``{title: {"subjects": n, "eligible": n, "changed": n}}``; ``changed`` counts rows inserted, updated
    or deleted. Titles without an active criteria set are skipped (and absent from the summary).

    With ``repairs`` (reconciliation), rows whose inputs' digest is unchanged are scored again too and compared
    with what is stored: a row changed behind the app's back (its digest kept) is rewritten, and described in
    ``repairs`` (id, subject, stored and recomputed values).

    With ``dirty`` (subject type → ids whose inputs changed), the evaluation is incremental (ADR 29): only those
    subjects and the groups containing them (households, clans, villages, organisations, the commune) are scored,
    metrics are read from ``title_person_metric`` (kept by the writers of learning records) instead of grouping the
    records, and the statements issued do not depend on the size of the commune. The summary then counts the
    subjects re-scored. Without it, the full evaluation also brings ``title_person_metric`` up to date for the
    commune's persons (the reconciliation of what the writers keep).
    """
    unit = db.session.get(AdminUnit, commune_id)
    if unit is None or unit.level != UnitLevel.COMMUNE:
        raise ValueError(f"{commune_id} is not a commune")
    commune = _Commune(unit.id, unit.path, year, unit.area_class)
    active = crit.active_definitions()
    sets = {title: [row for row in active if row.title == title.value] for title in EVALUATION_ORDER}
    for row in sets[Title.UNIT]:
        unit_set = crit.definition_of(row)
        for kind in unit_set.include_kinds:
            if kind not in commune.included_kinds:
                commune.included_kinds[kind] = row.code
                commune.included_levels[kind] = dict(unit_set.include_kind_levels).get(kind, ())
    definitions = [crit.definition_of(row) for rows in sets.values() for row in rows]
    if dirty is not None:
        commune.scope = _scope(commune, dirty)
        metrics = _Metrics(commune, definitions, stored=True)
        _counts_before(commune, definitions, metrics)
        if _counts_missing(commune, definitions):
            # A group re-scored without stored counts (a village whose residents came after the commune's last
            # full evaluation): nothing to add the change to, so the commune is counted in full.
            log.info("titles: commune %s (%s) has groups without counts: evaluated in full", commune.id, year)
            commune.scope, commune.before, commune.stored, dirty = None, {}, {}, None
    # A commune's fixed cost: the titles with nothing to evaluate (no subject of theirs here and no row filed here
    # for the year: 56 of the generated province's 96 communes have no persons) are not planned at all, and a
    # commune without persons groups no records (one look for both).
    present, grouped = _present(commune, sets)
    if dirty is None:
        if grouped:
            _big_sort_memory()
        metrics = _Metrics(commune, definitions, nobody=not grouped)
        metrics.store()
        if grouped:  # without persons, the few members of its groups are probed one by one
            commune.states = _States(commune)
    summary: dict[str, Any] = {}
    for title in EVALUATION_ORDER:
        if not sets[title]:
            continue
        if title in present:
            summary[title.value] = _evaluate_title(commune, title, sets[title], metrics, repairs)
        else:
            # What _evaluate_title returns without subjects and without rows: nothing counted, nothing written.
            summary[title.value] = {"subjects": 0, "eligible": 0, "changed": 0}
    metrics.drop()
    if commune.states is not None:
        commune.states.drop()
    _store_counts(commune)
    if dirty is not None and any(
        i.share.metric for d in definitions for _, group in _counted_groups(d) for i in group if i.share
    ):
        _settle_counted(commune)
    return summary


def _present(commune: _Commune, sets: dict[Title, list[crit.ActiveSet]]) -> tuple[set[Title], bool]:
    """One statement: the titles to evaluate — those with a subject in the commune (as the title's sets select
    them, so within an incremental evaluation's scope) or a row of the year filed here (a subject that left: its
    row is deleted by the evaluation) — and whether the commune has persons whose records a full evaluation groups
    (residents, members of its organisations). The Learning Community title always has its subject, the commune."""
    titles = [t for t, rows in sets.items() if rows and TITLE_SUBJECT[t] != SubjectType.COMMUNE]
    looks: list[Any] = []
    for title in titles:
        subject = TITLE_SUBJECT[title].value
        stored = exists().where(
            E.c.subject_type == subject,
            E.c.title == title.value,
            E.c.year == commune.year,
            E.c.commune_id == commune.id,
        )
        subjects = [_subjects(commune, subject, row.definition).exists() for row in sets[title]]
        looks.append(or_(*subjects, stored))
    residents = select(P.c.id).select_from(P.join(U, P.c.unit_id == U.c.id)).where(commune.in_commune(U.c.path))
    members = (
        select(OM.c.person_id)
        .select_from(OM.join(O, OM.c.organisation_id == O.c.id))
        .where(O.c.commune_id == commune.id)
    )
    found = db.session.execute(select(residents.exists(), members.exists(), *looks)).one()
    present = {t for t, rows in sets.items() if rows and TITLE_SUBJECT[t] == SubjectType.COMMUNE}
    present.update(title for title, look in zip(titles, found[2:], strict=True) if look)
    return present, bool(found[0] or found[1])


def _scope(commune: _Commune, dirty: dict[str, set[int]]) -> dict[str, set[int]]:
    """The subjects an incremental evaluation re-scores: the dirty ones of this commune and every group containing
    them — a person's household, the clans of that household, the person's and the household's village, the
    organisations the person belongs to. One statement whatever the number of subjects or the commune's size (the
    persons living here, their organisations here, and the households — dirty or theirs — with their clans)."""
    persons = sorted(dirty.get(SubjectType.PERSON.value, ()))
    households = set(dirty.get(SubjectType.HOUSEHOLD.value, ()))
    villages = set(dirty.get(SubjectType.VILLAGE.value, ()))
    scope: dict[str, set[int]] = {
        SubjectType.PERSON.value: set(),
        SubjectType.CLAN.value: set(dirty.get(SubjectType.CLAN.value, ())),
        SubjectType.ORGANISATION.value: set(dirty.get(SubjectType.ORGANISATION.value, ())),
    }
    nothing = sql_cast(null(), Integer)
    here = select(P.c.id).select_from(P.join(U, P.c.unit_id == U.c.id))
    here = here.where(P.c.id.in_(persons), commune.in_commune(U.c.path))
    found = union_all(
        select(literal("person").label("kind"), P.c.id.label("a"), P.c.household_id.label("b"), P.c.unit_id.label("c"))
        .select_from(P.join(U, P.c.unit_id == U.c.id))
        .where(P.c.id.in_(persons), commune.in_commune(U.c.path)),
        select(literal("organisation"), OM.c.organisation_id, nothing, nothing)
        .select_from(OM.join(O, OM.c.organisation_id == O.c.id))
        .where(OM.c.person_id.in_(persons), O.c.commune_id == commune.id),
        select(literal("household"), H.c.id, H.c.village_id, CH.c.clan_id)
        .select_from(H.outerjoin(CH, CH.c.household_id == H.c.id))
        .where(
            or_(
                H.c.id.in_(sorted(households)),
                H.c.id.in_(select(P.c.household_id).where(P.c.id.in_(select(here.subquery().c.id)))),
            )
        ),
    )
    for kind, a, b, c in db.session.execute(found).tuples():
        if kind == "person":
            scope[SubjectType.PERSON.value].add(a)
            villages.add(c)  # the commune itself when the person is filed under it: no village matches
            if b is not None:
                households.add(b)
        elif kind == "organisation":
            scope[SubjectType.ORGANISATION.value].add(a)
        else:
            households.add(a)
            villages.add(b)
            if c is not None:
                scope[SubjectType.CLAN.value].add(c)
    scope[SubjectType.HOUSEHOLD.value] = households
    scope[SubjectType.VILLAGE.value] = villages
    return scope


# --- subjects and their members -------------------------------------------------------------------------------


def _subjects(commune: _Commune, subject: str, definition: crit.CriteriaDefinition) -> Select[Any]:
    """``subject_id`` and ``village_id`` of every subject of the commune (for the unit title: of the set's kinds)."""
    if subject == SubjectType.PERSON:
        population = definition.population
        extra: list[Any] = []
        if population is not None and population.age is not None:
            # 1/0, not the birth date: persons of one combination of inputs still share one scoring. Unknown birth
            # date: inside the population (evaluated), never silently dropped.
            inside = or_(P.c.birth_date.is_(None), _age_filter(commune, P.c.birth_date, population.age))
            extra.append(case((inside, 1), else_=0).label("in_population"))
        return (
            select(
                P.c.id.label("subject_id"),
                case((U.c.level == UnitLevel.VILLAGE.value, U.c.id)).label("village_id"),
                *extra,
            )
            .select_from(P.join(U, P.c.unit_id == U.c.id))
            .where(commune.in_commune(U.c.path), commune.scoped(subject, P.c.id))
        )
    if subject == SubjectType.HOUSEHOLD:
        return (
            select(H.c.id.label("subject_id"), H.c.village_id.label("village_id"))
            .select_from(H.join(U, H.c.village_id == U.c.id))
            .where(commune.in_commune(U.c.path), commune.scoped(subject, H.c.id))
        )
    if subject == SubjectType.CLAN:
        return select(C.c.id.label("subject_id"), literal(None).label("village_id")).where(
            C.c.commune_id == commune.id, commune.scoped(subject, C.c.id)
        )
    if subject == SubjectType.VILLAGE:
        return select(U.c.id.label("subject_id"), U.c.id.label("village_id")).where(
            U.c.level == UnitLevel.VILLAGE.value, commune.in_commune(U.c.path), commune.scoped(subject, U.c.id)
        )
    if subject == SubjectType.ORGANISATION:
        return select(
            O.c.id.label("subject_id"),
            literal(None).label("village_id"),
            O.c.managing_level.label("managing_level"),
            O.c.kind.label("organisation_kind"),
        ).where(O.c.commune_id == commune.id, _organisations_of(commune, definition), commune.scoped(subject, O.c.id))
    return select(literal(commune.id).label("subject_id"), literal(None).label("village_id"))


def _organisations_of(commune: _Commune, definition: crit.CriteriaDefinition) -> ColumnElement[bool]:
    """The organisations a unit set evaluates: those of its managing levels, except kinds another set includes
    whatever their level, plus the kinds it includes itself (Circular 24, Art. 2.3)."""

    def taken(kinds: list[str]) -> ColumnElement[bool]:
        return or_(
            *(
                and_(O.c.kind == kind, O.c.managing_level.in_(levels)) if levels else O.c.kind == kind
                for kind in kinds
                for levels in [commune.included_levels.get(kind, ())]
            )
        )

    mine = [kind for kind, code in commune.included_kinds.items() if code == definition.code]
    others = [kind for kind, code in commune.included_kinds.items() if code != definition.code]
    by_level: ColumnElement[bool] = O.c.managing_level.in_(definition.managing_levels)
    if others:
        by_level = and_(by_level, ~taken(others))
    return or_(by_level, taken(mine)) if mine else by_level


def _member_persons(commune: _Commune, subject: str) -> Select[Any]:
    """``key`` (the subject), ``member_id``, ``birth_date``, ``occupation_group`` of the persons of each subject."""
    cols = (P.c.id.label("member_id"), P.c.birth_date, P.c.occupation_group)
    if subject == SubjectType.HOUSEHOLD:
        return (
            select(P.c.household_id.label("key"), *cols)
            .select_from(P.join(H, P.c.household_id == H.c.id).join(U, H.c.village_id == U.c.id))
            .where(commune.in_commune(U.c.path), commune.scoped(subject, H.c.id))
        )
    if subject == SubjectType.CLAN:
        return (
            select(CH.c.clan_id.label("key"), *cols)
            .select_from(CH.join(C, CH.c.clan_id == C.c.id).join(P, P.c.household_id == CH.c.household_id))
            .where(C.c.commune_id == commune.id, commune.scoped(subject, C.c.id))
        )
    if subject == SubjectType.VILLAGE:
        return (
            select(P.c.unit_id.label("key"), *cols)
            .select_from(P.join(U, P.c.unit_id == U.c.id))
            .where(U.c.level == UnitLevel.VILLAGE.value, commune.in_commune(U.c.path), commune.scoped(subject, U.c.id))
        )
    if subject == SubjectType.ORGANISATION:
        # Members during the year; they may live in another commune (their citizen rows come from its run).
        return (
            select(OM.c.organisation_id.label("key"), *cols)
            .select_from(OM.join(O, OM.c.organisation_id == O.c.id).join(P, P.c.id == OM.c.person_id))
            .where(
                O.c.commune_id == commune.id,
                commune.scoped(subject, O.c.id),
                or_(OM.c.started_on.is_(None), OM.c.started_on <= commune.last_day),
                or_(OM.c.ended_on.is_(None), OM.c.ended_on >= commune.first_day),
            )
        )
    return (
        select(literal(commune.id).label("key"), *cols)
        .select_from(P.join(U, P.c.unit_id == U.c.id))
        .where(commune.in_commune(U.c.path))
    )


def _member_households(commune: _Commune, subject: str) -> Select[Any]:
    if subject == SubjectType.CLAN:
        return (
            select(CH.c.clan_id.label("key"), CH.c.household_id.label("member_id"))
            .select_from(CH.join(C, CH.c.clan_id == C.c.id))
            .where(C.c.commune_id == commune.id, commune.scoped(subject, C.c.id))
        )
    key = H.c.village_id if subject == SubjectType.VILLAGE else literal(commune.id)
    return (
        select(key.label("key"), H.c.id.label("member_id"))
        .select_from(H.join(U, H.c.village_id == U.c.id))
        .where(commune.in_commune(U.c.path), commune.scoped(subject, H.c.village_id))
    )


def _member_villages(commune: _Commune) -> Select[Any]:
    return select(literal(commune.id).label("key"), U.c.id.label("member_id")).where(
        U.c.level == UnitLevel.VILLAGE.value, commune.in_commune(U.c.path)
    )


# --- metric expressions ---------------------------------------------------------------------------------------


def _metric_column(metric: crit.Metric) -> ColumnElement[Any]:
    """The aggregate of one metric over ``learning_record`` rows grouped by person."""
    conditions: list[ColumnElement[bool]] = []
    kinds = list(metric.kinds)
    if metric.measure == "courses":
        kinds = (
            [k for k in kinds if k == LearningKind.CLASS_COMPLETION] if kinds else [LearningKind.CLASS_COMPLETION.value]
        )
    if kinds:
        conditions.append(LR.c.kind.in_(kinds))
    if metric.categories:
        conditions.append(LR.c.category.in_(metric.categories))
    if metric.modules:
        conditions.append(LR.c.module_code.in_(metric.modules))
    condition = and_(true(), *conditions) if conditions else true()
    if metric.measure == "hours":
        return func.coalesce(func.sum(case((condition, LR.c.hours), else_=0)), 0)
    if metric.measure == "modules":
        return func.count(func.distinct(case((and_(condition, LR.c.module_code.is_not(None)), LR.c.module_code))))
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _age_filter(commune: _Commune, birth_date: Any, age: tuple[int, int | None] | None) -> ColumnElement[bool]:
    """Age at 31 December in [low, high]: born between 1 January of year − high and 31 December of year − low."""
    if age is None:
        return true()
    low, high = age
    parts = [birth_date <= date(commune.year - low, 12, 31)]
    if high is not None:
        parts.append(birth_date >= date(commune.year - high, 1, 1))
    return and_(*parts)


def metric_key(metric: crit.Metric) -> str:
    """The name of a metric in ``title_person_metric``: a digest of its definition (two sets asking for the same
    measure of the same kinds, categories and modules share it)."""
    text = "|".join([metric.measure, ",".join(sorted(metric.kinds)), ",".join(sorted(metric.categories))])
    return hashlib.blake2b(f"{text}|{','.join(sorted(metric.modules))}".encode(), digest_size=8).hexdigest()


def used_metrics(definitions: Sequence[crit.CriteriaDefinition]) -> list[crit.Metric]:
    """Every metric the criteria sets use, once each, in the order of the sets."""
    found: list[crit.Metric] = []
    for definition in definitions:
        for indicator in definition.indicators:
            metric = indicator.metric or (indicator.share.metric if indicator.share else None)
            if metric is not None and metric not in found:
                found.append(metric)
    return found


def metrics_key(metrics: Sequence[crit.Metric]) -> str:
    """What ``title_person_metric`` holds when it is complete for these metrics, and ``title_share_count`` for the
    commune's counted shares (``evaluation_state.metrics_key``): a commune evaluated in full before either existed
    takes the full evaluation once more."""
    text = "|".join([*sorted(metric_key(m) for m in metrics), f"counts:{COUNTS_VERSION}"])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def inputs_key(active: Sequence[crit.ActiveSet], registry_version: int) -> str:
    """What a full evaluation of a commune read, short of its learning, assessments and recognitions (which mark
    the commune-year when they change): this engine, the active criteria sets' versions, the metrics they use and
    the commune's registry version (``evaluation_state.inputs_key``, ADR 41)."""
    sets = sorted(f"{row.id}:{row.digest}" for row in active)
    metrics = metrics_key(used_metrics([row.definition for row in active]))
    text = "|".join([f"engine:{ENGINE_VERSION}", *sets, f"metrics:{metrics}", f"registry:{registry_version}"])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


#: Part of :func:`metrics_key`: bump it when what ``title_share_count`` holds changes.
COUNTS_VERSION = "1"


def active_metrics() -> list[crit.Metric]:
    """The metrics of every active criteria set (one light statement: see :func:`criteria.active_definitions`)."""
    return used_metrics([row.definition for row in crit.active_definitions()])


PM = _table(PersonMetric)


_METRICS_TABLES: dict[int, Table] = {}


def _metrics_table(width: int) -> Table:
    """The temporary table of ``width`` metrics per person. One name and one ``Table`` object for every commune
    (a temporary table is the session's own, dropped after each evaluation): the statements that join it then
    have the same SQLAlchemy cache key from one commune to the next and are compiled once per worker, not once
    per commune."""
    table = _METRICS_TABLES.get(width)
    if table is None:
        table = _METRICS_TABLES[width] = Table(
            f"tmp_title_metrics_{width}",
            MetaData(),
            Column("person_id", Integer, primary_key=True, autoincrement=False),
            # Who the person is to this commune, decided once as the records are grouped (the writes of
            # :meth:`_Metrics.store` filter on them instead of each looking the person up again): a resident, and
            # one no other commune's evaluation writes (not a member of another commune's organisation).
            Column("resident", Boolean),
            Column("only_here", Boolean),
            *[Column(f"m{n}", Numeric(12, 1)) for n in range(width)],
            prefixes=["TEMPORARY"],
        )
    return table


class _Metrics:
    """Every learning-record metric the commune's criteria sets use, per person of the year.

    Full evaluation: persons and several group levels read the same records (a citizen's activities, a family's
    adults who learned, a village's residents who learned): the year's records of the commune's persons (and of its
    organisations' members) are grouped once into a temporary table that every level joins, instead of one scan per
    level. A person's records count wherever they learned: ``learning_record.commune_id`` is not a filter.

    Incremental evaluation (``stored``): the metrics come from ``title_person_metric``, one primary-key look-up per
    metric and person read, so only the persons of the subjects re-scored are touched.
    """

    def __init__(
        self,
        commune: _Commune,
        definitions: list[crit.CriteriaDefinition],
        *,
        stored: bool = False,
        nobody: bool = False,
    ) -> None:
        self.commune = commune
        found = used_metrics(definitions)
        self.metrics = found
        self.stored = stored
        # A full evaluation of a commune without persons (no residents, no members of its organisations): no
        # record to group, so no temporary table (create, fill, store, drop: ~10 statements for nothing); every
        # metric reads as NULL, as an empty table's outer join gives it.
        self.nobody = nobody and not stored
        self.table: Table | None = None
        self.persons: Any = None
        self.residents: Any = None
        if not found or stored or self.nobody:
            return
        self.table = _metrics_table(len(found))
        connection = db.session.connection()
        self.table.create(connection)
        self.residents = (
            select(P.c.id).select_from(P.join(U, P.c.unit_id == U.c.id)).where(commune.in_commune(U.c.path))
        )
        members = (
            select(OM.c.person_id)
            .select_from(OM.join(O, OM.c.organisation_id == O.c.id))
            .where(O.c.commune_id == commune.id)
        )
        self.persons = self.residents.union(members)
        elsewhere = (
            select(OM.c.person_id)
            .select_from(OM.join(O, OM.c.organisation_id == O.c.id))
            .where(O.c.commune_id != commune.id)
        )
        residents = self.residents.cte("res")
        persons = select(residents.c.id).union(members)
        if connection.dialect.name == "postgresql":
            # The persons as one array (``= ANY(ARRAY(…))``): PostgreSQL reads their records by one index scan in
            # person order, which groups them without a sort. As ``IN (…)`` it probed the index person by person
            # under a join estimated from the path range (one village's worth) and sorted the records after: 2.3
            # times as long for the largest commune (docs/benchmarks.md, "Titles: the computing, first pass").
            wanted = LR.c.person_id == any_(func.array(persons.scalar_subquery()))
        else:
            wanted = LR.c.person_id.in_(persons)
        aggregate = (
            select(
                LR.c.person_id,
                LR.c.person_id.in_(select(residents.c.id)),
                LR.c.person_id.not_in(elsewhere),
                *[_metric_column(m).label(f"m{n}") for n, m in enumerate(found)],
            )
            .where(LR.c.year == commune.year, wanted)
            .group_by(LR.c.person_id)
        )
        db.session.execute(
            insert(self.table).from_select(
                ["person_id", "resident", "only_here", *[f"m{n}" for n in range(len(found))]], aggregate
            )
        )

    def attach(
        self, joins: FromClause, person: Any, wanted: Sequence[crit.Metric], prefix: str, *, counted: bool = False
    ) -> tuple[FromClause, dict[crit.Metric, Any]]:
        """``joins`` outer-joined to the metrics of the person in column ``person``; each wanted metric's column.
        ``counted`` (incremental only): the values the share counts hold instead of the current ones."""
        if self.nobody:
            return joins, {m: sql_cast(null(), Numeric(12, 1)) for m in wanted}
        if not self.stored:
            table = self.table
            assert table is not None
            joins = joins.outerjoin(table, table.c.person_id == person)
            return joins, {m: table.c[f"m{self.metrics.index(m)}"] for m in wanted}
        columns: dict[crit.Metric, Any] = {}
        for metric in wanted:
            if metric in columns:
                continue
            alias = PM.alias(f"{prefix}{len(columns)}")
            joins = joins.outerjoin(
                alias,
                and_(
                    alias.c.person_id == person,
                    alias.c.year == self.commune.year,
                    alias.c.metric == metric_key(metric),
                ),
            )
            columns[metric] = alias.c.counted if counted else alias.c.value
        return joins, columns

    def store(self) -> None:
        """Bring ``title_person_metric`` up to date for the persons this evaluation grouped, from the temporary
        table: an upsert and a read (on the commune's first evaluation of the year, an INSERT, an upsert and no
        read), and rows written only where a value changed (``IS DISTINCT FROM``). The commune's
        residents' ``counted`` takes the value too (this evaluation counts its shares from it); other persons' (an
        organisation's members living elsewhere) stays what their home commune's counts hold."""
        if self.table is None:
            return
        table = self.table
        year = self.commune.year
        # Only the values that differ from the stored ones reach the upsert (an outer join to the stored value), so
        # a re-run with nothing changed writes nothing and takes no conflict path. The stored values are read in
        # the range of the grouped persons' ids (one index range: a commune's persons are mostly registered
        # together), which keeps the planner from scanning the whole table once per metric. A resident's
        # ``counted`` takes the value too (this evaluation counts the commune's shares from it).
        low = select(func.min(table.c.person_id)).scalar_subquery()
        high = select(func.max(table.c.person_id)).scalar_subquery()
        resident = table.c.resident.is_(True)
        # Did the year hold any value in the id range of the persons grouped (those without records too)? Not on
        # a commune's first evaluation of the year: then nothing can be left over (the read of values no longer
        # backed is skipped: on a table just filled, with the statistics of an empty one, it scanned every stored
        # value), and the residents' values go in by a plain INSERT (below).
        grouped = self.persons.subquery("sp")
        span = select(func.min(grouped.c.id).label("lo"), func.max(grouped.c.id).label("hi")).cte("span")
        earlier = db.session.scalar(
            select(
                exists().where(
                    PM.c.year == year,
                    PM.c.person_id.between(select(span.c.lo).scalar_subquery(), select(span.c.hi).scalar_subquery()),
                )
            )
        )
        upsert_only: list[ColumnElement[bool]] = []
        if not earlier:
            # A plain INSERT of the non-zero values of the residents that no other commune's evaluation writes (not
            # members of another commune's organisations): the writers of their records wait for this commune's
            # lock, so no row can appear meanwhile, and an INSERT takes 0.4 the time of the upsert's speculative
            # insertion. The other persons' values take the upsert below.
            only_here = and_(resident, table.c.only_here.is_(True))
            plain = [
                select(
                    table.c.person_id,
                    literal(year).label("year"),
                    literal(metric_key(m)).label("metric"),
                    table.c[f"m{n}"],
                    table.c[f"m{n}"],
                ).where(table.c[f"m{n}"] != 0, only_here)
                for n, m in enumerate(self.metrics)
            ]
            try:
                # In a savepoint: a row written meanwhile by a transaction that does not hold this commune's lock (a
                # person moving in while a writer refreshes their metrics; a membership elsewhere just ended) is not
                # a failed commune — the upsert below writes everyone instead.
                with db.session.begin_nested():
                    db.session.execute(
                        insert(PM).from_select(
                            ["person_id", "year", "metric", "value", "counted"],
                            plain[0] if len(plain) == 1 else union_all(*plain),
                        )
                    )
            except IntegrityError:
                log.info(
                    "titles: commune %s, %s: a metric row appeared meanwhile; upserting them all", self.commune.id, year
                )
                earlier = True
            else:
                upsert_only.append(~only_here)
        parts = []
        for n, m in enumerate(self.metrics):
            value = table.c[f"m{n}"]
            stored = PM.alias(f"pm{n}")
            parts.append(
                select(
                    table.c.person_id,
                    literal(year).label("year"),
                    literal(metric_key(m)).label("metric"),
                    value,
                    case((resident, value), else_=None),
                )
                .select_from(
                    table.outerjoin(
                        stored,
                        and_(
                            stored.c.person_id == table.c.person_id,
                            stored.c.person_id.between(low, high),
                            stored.c.year == year,
                            stored.c.metric == metric_key(m),
                        ),
                    )
                )
                .where(
                    *upsert_only,
                    value.is_not(None),
                    # A zero without a stored row is not added: every reader takes a missing value for 0 (the
                    # digests round both to 0.0), and most of a first evaluation's values are zeros.
                    or_(stored.c.person_id.is_not(None), value != 0),
                    or_(
                        stored.c.value.is_distinct_from(value),
                        and_(resident, stored.c.counted.is_distinct_from(value)),
                    ),
                )
            )
        rows = parts[0] if len(parts) == 1 else parts[0].union_all(*parts[1:])
        stmt = _dialect_insert().from_select(["person_id", "year", "metric", "value", "counted"], rows)
        counted = func.coalesce(stmt.excluded.counted, PM.c.counted)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["person_id", "year", "metric"],
                set_={"value": stmt.excluded.value, "counted": counted},
                where=or_(PM.c.value.is_distinct_from(stmt.excluded.value), PM.c.counted.is_distinct_from(counted)),
            )
        )
        # Rows no longer backed by a value: the person's records went, or a metric no active set uses any more. (A
        # zero the writers stored stays, and a zero not stored is read as 0: the digests round both to 0.0, as the
        # temporary table's, so an incremental evaluation computes the very digests of a full one.) Found by a read
        # (no row locked) and deleted only when there are any: a DELETE visited every stored value of the
        # commune's persons on every re-run. In two parts, so neither probes the stored values person by person:
        # the persons without records (few), and values of metrics no set uses, read in the range of the grouped
        # persons' ids (every value in the temporary table is set: its persons keep exactly the current metrics).
        if not earlier:
            return
        persons = self.persons.subquery("gp")
        without_records = select(persons.c.id).where(
            ~select(table.c.person_id).where(table.c.person_id == persons.c.id).exists()
        )
        # A value gone of a person living elsewhere (an organisation's member) whose home commune's share counts
        # still hold it (``counted``): its value is cleared, not the row, so that commune's next evaluation takes
        # the old contribution out (:func:`_settle_counted`, or its full evaluation). A resident's row goes: this
        # evaluation counts the commune's shares again from the temporary table.
        settled = or_(PM.c.counted.is_(None), PM.c.person_id.in_(self.residents))
        gone = case((settled, 1), else_=0).label("gone")
        acted_on = or_(settled, PM.c.value.is_not(None))
        stale = db.session.execute(
            select(PM.c.person_id, PM.c.metric, gone)
            .where(PM.c.year == year, PM.c.person_id.in_(without_records), acted_on)
            .union_all(
                select(PM.c.person_id, PM.c.metric, gone).where(
                    PM.c.year == year,
                    PM.c.person_id.between(low, high),
                    PM.c.metric.not_in([metric_key(m) for m in self.metrics]),
                    select(table.c.person_id).where(table.c.person_id == PM.c.person_id).exists(),
                    acted_on,
                )
            )
        ).all()
        chunk = _IN_LIST // 2
        for delete_row in (True, False):
            keys = [(person_id, metric) for person_id, metric, gone_row in stale if bool(gone_row) is delete_row]
            for start in range(0, len(keys), chunk):
                which = (PM.c.year == year, tuple_(PM.c.person_id, PM.c.metric).in_(keys[start : start + chunk]))
                statement = delete(PM).where(*which) if delete_row else update(PM).where(*which).values(value=None)
                db.session.execute(statement)

    def drop(self) -> None:
        if self.table is not None:
            self.table.drop(db.session.connection())
            self.table = None


def _dialect_insert() -> Any:
    """``INSERT`` of ``title_person_metric`` in the session's dialect (both spell ``ON CONFLICT`` alike)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(PM)


def _big_sort_memory() -> None:
    """PostgreSQL: enough memory for the grouping of a large commune's records to sort in memory instead of
    spilling to disk, for this transaction only (``SET LOCAL``; setting ``TITLES_WORK_MEM``)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    setting = str(current_app.config.get("TITLES_WORK_MEM") or "")
    if setting:
        db.session.execute(select(func.set_config("work_mem", setting, True)))


# --- the wide statement ---------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """The statement of one criteria set and how to read each indicator's inputs from its rows."""

    stmt: Select[Any]
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # indicator code → result column names
    # The parts the statement is built from: what :func:`_changed` wraps with the stored rows and the digest.
    subjects: Any = None
    joins: Any = None
    out: list[Any] = field(default_factory=list)
    rounded: set[str] = field(default_factory=set)  # metric columns: digested as numbers with one decimal


def _plan(commune: _Commune, definition: crit.CriteriaDefinition, metrics: _Metrics) -> _Plan:
    subject = definition.subject
    subjects = _subjects(commune, subject, definition).subquery("s")
    joins: FromClause = subjects
    out: list[Any] = list(subjects.c)  # subject_id, village_id, and what the set's rules read (population, kind)
    plan = _Plan(stmt=select())

    indicators = [i for i in definition.indicators if i.kind == "metric" and i.metric is not None]
    if indicators:
        wanted = [i.metric for i in indicators if i.metric is not None]
        joins, metric_columns = metrics.attach(joins, subjects.c.subject_id, wanted, "pm")
        for n, indicator in enumerate(indicators):
            assert indicator.metric is not None
            out.append(func.coalesce(metric_columns[indicator.metric], 0).label(f"m{n}"))
            plan.columns[indicator.code] = (f"m{n}",)
            plan.rounded.add(f"m{n}")

    shares = [i for i in definition.indicators if i.kind == "share" and i.share is not None]
    now: _Counts | None = None
    for of in ("persons", "households", "villages"):
        group = [i for i in shares if i.share and i.share.of == of]
        if not group:
            continue
        if _counted(subject, group):
            if now is None:  # every counted group of the set, in one statement, once the lower levels are written
                now = _partial_counts(commune, _counted_groups_of([definition]), metrics)[0]
            sub = _counted_subquery(commune, definition, group, f"sh_{of}", now)
        else:
            sub = _share_subquery(commune, subject, of, group, f"sh_{of}", metrics)
        joins = joins.outerjoin(sub, sub.c.key == subjects.c.subject_id)
        for indicator in group:
            parts: tuple[str, ...] = ("num", "den", "unk", "na", "nob")
            if indicator.share is not None and indicator.share.projection is not None:
                parts += ("prj",)  # never a counted group (_counted): recognitions are counted over the members
            names = tuple(f"{indicator.code}_{part}" for part in parts)
            out.extend(sub.c[name] for name in names)
            plan.columns[indicator.code] = names
    plan.stmt = select(*out).select_from(joins).order_by(subjects.c.subject_id)
    plan.subjects, plan.joins, plan.out = subjects, joins, out
    return plan


def _inputs_digest(prefix: str, plan: _Plan) -> ColumnElement[str]:
    """The digest of one subject's inputs computed in SQL: ``md5`` of the set's constants (``prefix``) and every
    column of the wide statement after ``subject_id`` as text (SQLite: the same function, registered on the
    connection by :func:`lms.extensions.configure_sqlite`). Measured values are digested as numbers with one
    decimal, so a metric read from ``title_person_metric`` (incremental) and from the temporary table (full)
    digest alike; a NULL is ``~``."""
    text: ColumnElement[str] = literal(prefix, Text)
    for column in plan.out[1:]:
        value = func.round(column, 1) if column.key in plan.rounded else column
        text = text + literal("|", Text) + func.coalesce(sql_cast(value, Text), literal("~", Text))
    return sql_cast(func.md5(text), Text)


_STATES = Table(
    "tmp_title_states",
    MetaData(),
    Column("subject_type", Text, primary_key=True),
    Column("title", Text, primary_key=True),
    Column("subject_id", Integer, primary_key=True, autoincrement=False),
    Column("state", Integer),
    prefixes=["TEMPORARY"],
)


class _States:
    """A full evaluation's copy of the results its shares count (1: eligible, +2: not applicable), per member type
    and title: the commune's rows of that title, read by the commune's index once the title is written (one
    statement), into a temporary table the shares join. A commune's citizens are counted by three shares (their
    household's, their village's, the commune's): probing ``eligibility`` member by member took a third of the
    largest commune's statements. Members whose row is not the commune's (an organisation's member living
    elsewhere, a recognised subject who moved) are still probed, one by one, as before (:func:`_share_subquery`)."""

    def __init__(self, commune: _Commune) -> None:
        self.commune = commune
        self.loaded: set[tuple[str, str]] = set()
        self.created = False

    def table(self, member_type: str, title: str) -> Table:
        if (member_type, title) not in self.loaded:
            if not self.created:
                _STATES.create(db.session.connection())
                self.created = True
            state = case((E.c.eligible.is_(True), 1), else_=0) + case((E.c.applicable.is_(False), 2), else_=0)
            db.session.execute(
                insert(_STATES).from_select(
                    ["subject_type", "title", "subject_id", "state"],
                    select(E.c.subject_type, E.c.title, E.c.subject_id, state).where(
                        E.c.commune_id == self.commune.id,
                        E.c.year == self.commune.year,
                        E.c.title == title,
                        E.c.subject_type == member_type,
                    ),
                )
            )
            if db.session.get_bind().dialect.name == "postgresql":
                # A temporary table has no statistics until analysed (autovacuum never sees it): taken for one row,
                # the copy of 58,000 citizens was scanned whole once per member of an organisation — 16 s of the
                # province's first evaluation instead of 0.7 (docs/benchmarks.md, "Titles: the computing, first
                # pass"). ANALYZE of the copy: ~20 ms for the largest commune.
                db.session.execute(text(f"ANALYZE {_STATES.name}"))
            self.loaded.add((member_type, title))
        return _STATES

    def forget(self, title: str) -> None:
        """``title`` was written again: its copy, if read, is out of date."""
        stale = {key for key in self.loaded if key[1] == title}
        if stale:
            db.session.execute(delete(_STATES).where(_STATES.c.title == title))
            self.loaded -= stale

    def drop(self) -> None:
        if self.created:
            _STATES.drop(db.session.connection())
            self.created = False
            self.loaded.clear()


def _share_subquery(
    commune: _Commune,
    subject: str,
    of: str,
    group: list[crit.Indicator],
    name: str,
    metrics: _Metrics,
    *,
    rescored_only: bool = False,
    before: bool = False,
) -> Any:
    """Per subject: for each share indicator, members counted, members in the denominator, members of unknown age.

    ``rescored_only``: counting only the members an incremental evaluation re-scores (their contributions, to be
    taken from or added to the maintained counts); ``before``: their metrics as the counts hold them."""
    if of == "persons":
        selected = _member_persons(commune, subject)
        member_id: Any = P.c.id
    elif of == "households":
        selected = _member_households(commune, subject)
        member_id = CH.c.household_id if subject == SubjectType.CLAN else H.c.id
    else:
        selected = _member_villages(commune)
        member_id = U.c.id
    if rescored_only:
        assert commune.scope is not None
        selected = selected.where(member_id.in_(sorted(commune.scope.get(MEMBER_SUBJECT[of], ()))))
    member_type = MEMBER_SUBJECT[of]
    # The members' results this year (shares of eligible members): one primary-key probe per member, a correlated
    # subquery, whatever the planner believes of ``eligibility``. Joined instead, the first evaluation of a year
    # (rows just written, statistics of a table without them) had PostgreSQL read every row of the title once per
    # member (a 15,000-household village share: 114 M rows filtered, 4 s). 1: eligible, +2: not applicable.
    results: dict[str, str] = {}
    for indicator in group:
        share = indicator.share
        assert share is not None
        wants_state = share.count == "eligible" or share.projection == "eligible"
        if share.metric is None and wants_state and (share.title or "") not in results:
            label = results[share.title or ""] = f"el{len(results)}"
            e = E.alias(f"me{len(results)}")
            state = select(
                case((e.c.eligible.is_(True), 1), else_=0) + case((e.c.applicable.is_(False), 2), else_=0)
            ).where(
                e.c.subject_type == member_type,
                e.c.subject_id == member_id,
                # Title and year as expressions no index holds: only the unique key (subject first) can serve the
                # probe. With them as plain columns, a table analysed while empty of live rows (its pages full of
                # deleted ones) had PostgreSQL probe the village index on (year, title) — its whole length per
                # member: the largest commune's share ran for more than ten minutes instead of a second.
                e.c.title.concat("") == share.title,
                e.c.year + 0 == commune.year,
            )
            column: Any = state.scalar_subquery()
            if commune.states is not None and not rescored_only:
                copy = commune.states.table(member_type, share.title or "").alias(f"ms{len(results)}")
                selected = selected.outerjoin(
                    copy,
                    and_(
                        copy.c.subject_type == member_type,
                        copy.c.title == (share.title or ""),
                        copy.c.subject_id == member_id,
                    ),
                )
                # The probe runs only for a member whose row the copy does not hold (COALESCE is lazy).
                column = func.coalesce(copy.c.state, column)
            selected = selected.add_columns(column.label(label))
    if results:
        # OFFSET 0: PostgreSQL does not pull the subquery up, which would copy the probe into every reference.
        selected = selected.offset(0)
    members = selected.subquery({"persons": "mp", "households": "mh"}.get(of, "mv"))
    joins: FromClause = members
    cols: list[Any] = [members.c.key]
    metric_columns: dict[crit.Metric, Any] = {}
    wanted = [i.share.metric for i in group if i.share and i.share.metric is not None]
    if wanted:
        joins, metric_columns = metrics.attach(joins, members.c.member_id, wanted, f"{name}_pm", counted=before)
    titles_joined: dict[tuple[str, str], Any] = {}
    for indicator in group:
        share = indicator.share
        assert share is not None
        if share.metric is not None:
            counted: ColumnElement[bool] = func.coalesce(metric_columns[share.metric], 0) >= share.metric_at_least
        else:
            key = (share.title or "", share.count)
            if share.count == "eligible":
                counted = members.c[results[share.title or ""]].in_((1, 3))
            else:
                if key not in titles_joined:
                    alias = R.alias(f"r{len(titles_joined)}")
                    joins = joins.outerjoin(
                        alias,
                        and_(
                            alias.c.subject_type == member_type,
                            alias.c.subject_id == members.c.member_id,
                            alias.c.title == share.title,
                            alias.c.year == commune.year,
                            alias.c.status == RecognitionStatus.RECOGNISED.value,
                        ),
                    )
                    titles_joined[key] = alias
                counted = titles_joined[key].c.status == RecognitionStatus.RECOGNISED.value
        # The projection (ADR 51): recognised for the year, or eligible this year and not (yet) recognised.
        projected: ColumnElement[bool] | None = None
        if share.metric is None and share.projection == "eligible":
            projected = or_(counted, members.c[results[share.title or ""]].in_((1, 3)))
        not_applicable: ColumnElement[bool] = false()
        if share.metric is None and (share.title or "") in results:
            # Members outside the title's own population rule (an infant for the Learning Citizen title): in the
            # denominator when the text counts them (the commune's citizens), and counted apart for the explanation.
            not_applicable = members.c[results[share.title or ""]] >= 2
        in_band: ColumnElement[bool] = true()
        unknown: ColumnElement[bool] = false()
        if of == "persons":
            occupation = members.c.occupation_group.in_(share.occupations) if share.occupations else true()
            in_band = and_(occupation, _age_filter(commune, members.c.birth_date, share.age))
            if share.age is not None:
                unknown = and_(occupation, members.c.birth_date.is_(None))
        cols.append(func.sum(case((and_(in_band, counted), 1), else_=0)).label(f"{indicator.code}_num"))
        cols.append(func.sum(case((in_band, 1), else_=0)).label(f"{indicator.code}_den"))
        cols.append(func.sum(case((unknown, 1), else_=0)).label(f"{indicator.code}_unk"))
        cols.append(func.sum(case((and_(in_band, not_applicable), 1), else_=0)).label(f"{indicator.code}_na"))
        if of == "persons" and share.age is None:
            # No age band: everyone is in the denominator, also those without a birth date — counted for the reader.
            cols.append(func.sum(case((members.c.birth_date.is_(None), 1), else_=0)).label(f"{indicator.code}_nob"))
        else:
            cols.append(literal(0).label(f"{indicator.code}_nob"))
        if projected is not None:
            cols.append(func.sum(case((and_(in_band, projected), 1), else_=0)).label(f"{indicator.code}_prj"))
    return select(*cols).select_from(joins).group_by(members.c.key).subquery(name)


# --- maintained share counts (ADR 29) ---------------------------------------------------------------------------

SC = _table(ShareCount)
#: The groups whose shares are kept counted in ``title_share_count``: the large ones (a village, the commune), whose
#: members an incremental evaluation would otherwise count again for one person's change.
COUNTED_SUBJECTS = (SubjectType.VILLAGE.value, SubjectType.COMMUNE.value)
_PARTS = ("num", "den", "unk", "na", "nob")


def share_key(definition: crit.CriteriaDefinition, indicator: crit.Indicator) -> str:
    """The name of a share indicator's counts in ``title_share_count``: a digest of its set's code, its code and
    what it counts (a new version counting otherwise gets new rows)."""
    text = repr((definition.code, indicator.code, indicator.share))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _counted(subject: str, group: list[crit.Indicator]) -> bool:
    """Shares kept counted: of a village or the commune, counting members' eligibility this year (which only an
    evaluation of this commune changes, for the subjects it re-scores) or a metric of theirs (which the writers
    change; ``title_person_metric.counted`` keeps the value the counts hold). Shares of recognitions are counted
    over the members every time."""
    return subject in COUNTED_SUBJECTS and all(
        i.share is not None and (i.share.metric is not None or i.share.count == "eligible") for i in group
    )


def _counted_groups(definition: crit.CriteriaDefinition) -> Iterator[tuple[str, list[crit.Indicator]]]:
    shares = [i for i in definition.indicators if i.kind == "share" and i.share is not None]
    for of in ("persons", "households", "villages"):
        group = [i for i in shares if i.share and i.share.of == of]
        if group and _counted(definition.subject, group):
            yield of, group


_Counts = dict[tuple[str, int, str], tuple[int, ...]]


def _partial_counts(
    commune: _Commune,
    groups: list[tuple[crit.CriteriaDefinition, str, list[crit.Indicator]]],
    metrics: _Metrics,
    *,
    before: bool = False,
    stored: Any = None,
) -> tuple[_Counts, _Counts]:
    """The share subqueries of these counted groups run on their own, one row per group and indicator, in one
    statement (``UNION ALL``): every member of the commune's groups (a full evaluation), or only the members
    re-scored (an incremental one; ``before``: as the stored counts hold them). ``stored``: a condition on
    ``title_share_count`` whose rows come along in the same statement. Returns (counted, stored)."""
    parts: list[Any] = []
    for definition, of, group in groups:
        sub = _share_subquery(
            commune,
            definition.subject,
            of,
            group,
            f"sc{len(parts)}",
            metrics,
            rescored_only=commune.scope is not None,
            before=before,
        )
        parts.extend(
            select(
                literal(0).label("stored"),
                literal(definition.subject).label("subject_type"),
                sub.c.key.label("subject_id"),
                literal(share_key(definition, indicator)).label("share"),
                *[sub.c[f"{indicator.code}_{part}"].label(part) for part in _PARTS],
            )
            for indicator in group
        )
    if stored is not None:
        parts.append(
            select(
                literal(1).label("stored"),
                SC.c.subject_type,
                SC.c.subject_id,
                SC.c.share,
                *[SC.c[part] for part in _PARTS],
            ).where(SC.c.commune_id == commune.id, SC.c.year == commune.year, stored)
        )
    found: tuple[_Counts, _Counts] = ({}, {})
    if not parts:
        return found
    statement = parts[0] if len(parts) == 1 else union_all(*parts)
    for is_stored, subject_type, subject_id, share, *counts in db.session.execute(statement).tuples():
        found[1 if is_stored else 0][(subject_type, subject_id, share)] = tuple(int(n or 0) for n in counts)
    return found


def _counted_groups_of(
    definitions: Sequence[crit.CriteriaDefinition],
) -> list[tuple[crit.CriteriaDefinition, str, list[crit.Indicator]]]:
    return [(d, of, group) for d in definitions for of, group in _counted_groups(d)]


def _counts_before(commune: _Commune, definitions: list[crit.CriteriaDefinition], metrics: _Metrics) -> None:
    """Incremental evaluation, before anything is written, in one statement: the stored counts of the groups
    re-scored and the contributions of the members re-scored to every counted share group, as they stand."""
    assert commune.scope is not None
    groups = _counted_groups_of(definitions)
    if not groups:
        return
    keys = sorted({share_key(d, i) for d, _, group in groups for i in group})
    villages = sorted(commune.scope.get(SubjectType.VILLAGE.value, ()))
    commune.before, commune.stored = _partial_counts(
        commune,
        groups,
        metrics,
        before=True,
        stored=and_(
            SC.c.share.in_(keys),
            or_(
                SC.c.subject_type == SubjectType.COMMUNE.value,
                and_(SC.c.subject_type == SubjectType.VILLAGE.value, SC.c.subject_id.in_(villages)),
            ),
        ),
    )


def _counts_missing(commune: _Commune, definitions: list[crit.CriteriaDefinition]) -> bool:
    """Incremental evaluation: is a counted share group of a re-scored village or of the commune without stored
    counts? (Each has members — the persons re-scored live there — so a full evaluation left it a row.)"""
    assert commune.scope is not None
    villages = [v for v in commune.scope.get(SubjectType.VILLAGE.value, ()) if v != commune.id]
    for definition, _, group in _counted_groups_of(definitions):
        if definition.subject == SubjectType.COMMUNE:
            ids: list[int] = [commune.id]
        elif definition.subject == SubjectType.VILLAGE:
            ids = villages
        else:
            continue
        for indicator in group:
            key = share_key(definition, indicator)
            if any((definition.subject, subject_id, key) not in commune.stored for subject_id in ids):
                return True
    return False


def _counted_subquery(
    commune: _Commune, definition: crit.CriteriaDefinition, group: list[crit.Indicator], name: str, now: _Counts
) -> Any:
    """The columns of :func:`_share_subquery` for a counted share group, from counts computed first (by the
    lower levels' rows just written): the stored counts, less the members' contributions before, plus theirs now
    (incremental), or every member counted (full). A group without members has no row, as in the share subquery.
    ``now``: the set's counted groups as :func:`_partial_counts` found them."""
    subject = definition.subject
    if commune.scope is None:
        counted = now
    else:
        counted = {}
        zero = (0,) * len(_PARTS)
        for key, stored in commune.stored.items():
            if key[0] == subject and key[2] in {share_key(definition, i) for i in group}:
                old, new = commune.before.get(key, zero), now.get(key, zero)
                counted[key] = tuple(s - o + n for s, o, n in zip(stored, old, new, strict=True))
    commune.counted.update(counted)
    ids = sorted({subject_id for _, subject_id, _ in counted})
    selects = [
        select(
            literal(subject_id).label("key"),
            *[
                literal(counted.get((subject, subject_id, share_key(definition, i)), (0,) * len(_PARTS))[n]).label(
                    f"{i.code}_{part}"
                )
                for i in group
                for n, part in enumerate(_PARTS)
            ],
        )
        for subject_id in ids
    ]
    if not selects:
        empty = [literal(0).label(f"{i.code}_{part}") for i in group for part in _PARTS]
        return select(literal(0).label("key"), *empty).where(false()).subquery(name)
    return (selects[0] if len(selects) == 1 else selects[0].union_all(*selects[1:])).subquery(name)


def _store_counts(commune: _Commune) -> None:
    """Write the counts this evaluation made: an incremental one those of the groups it re-scored (one upsert); a
    full one reads the commune-year's and writes the difference (nothing on a re-run)."""
    if commune.scope is None:
        stored = {
            (t, i, k): tuple(counts)
            for t, i, k, *counts in db.session.execute(
                select(SC.c.subject_type, SC.c.subject_id, SC.c.share, *[SC.c[part] for part in _PARTS]).where(
                    SC.c.commune_id == commune.id, SC.c.year == commune.year
                )
            ).tuples()
        }
        gone = sorted(set(stored) - set(commune.counted))
        for start in range(0, len(gone), 2_000):
            db.session.execute(
                delete(SC).where(
                    SC.c.commune_id == commune.id,
                    SC.c.year == commune.year,
                    tuple_(SC.c.subject_type, SC.c.subject_id, SC.c.share).in_(gone[start : start + 2_000]),
                )
            )
        commune.counted = {key: counts for key, counts in commune.counted.items() if stored.get(key) != counts}
    if not commune.counted:
        return
    rows = [
        {
            "commune_id": commune.id,
            "year": commune.year,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "share": share,
            **dict(zip(_PARTS, counts, strict=True)),
        }
        for (subject_type, subject_id, share), counts in sorted(commune.counted.items())
    ]
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), 2_000):  # 10 bound values a row: below SQLite's limit
        stmt = dialect.insert(ShareCount).values(rows[start : start + 2_000])
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["commune_id", "year", "subject_type", "subject_id", "share"],
                set_={part: stmt.excluded[part] for part in _PARTS},
            )
        )


def _settle_counted(commune: _Commune) -> None:
    """An incremental evaluation: the share counts now hold the current metrics of the persons it re-scored, so
    their ``counted`` takes ``value``, and rows left without either go. Two statements. (The full evaluation does
    it for every resident as it stores the metrics: :meth:`_Metrics.store`.)"""
    assert commune.scope is not None
    persons = sorted(commune.scope.get(SubjectType.PERSON.value, ()))
    if not persons:
        return
    mine = (PM.c.year == commune.year, PM.c.person_id.in_(persons))
    db.session.execute(update(PM).where(*mine, PM.c.counted.is_distinct_from(PM.c.value)).values(counted=PM.c.value))
    db.session.execute(delete(PM).where(*mine, PM.c.value.is_(None)))


# --- from inputs to results -----------------------------------------------------------------------------------


def _as_decimal(value: Any) -> Decimal | None:
    """Any value a breakdown or an input may hold (int, Decimal, float, bool, numeric text) as a finite Decimal;
    None for nothing, for what is not a number and for NaN or infinity. Breakdown values round-trip through JSON
    as floats (92.5), so every comparison and every re-serialisation goes through here, never through a method of
    one numeric type."""
    if value is None:
        return None
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    else:
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            return None
    return number if number.is_finite() else None


def _json_number(value: Any) -> int | float | None:
    number = _as_decimal(value)
    if number is None:
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _rounded(value: Decimal, step: Decimal) -> Decimal:
    """``value`` to ``step``; a value too large for the decimal context's precision is left as it is."""
    return value.quantize(step) if value.adjusted() < 20 else value


def _count(value: Any) -> int:
    """A number of members (a SUM over members, NULL without any): whole and never below 0."""
    number = _as_decimal(value)
    return 0 if number is None or number < 0 else int(number)


def _decimal(value: Any) -> Decimal:
    """A value to compare with a bar: missing or not a number counts as 0 (nothing shows the indicator met)."""
    number = _as_decimal(value)
    return Decimal(0) if number is None else number


class _Assessed(NamedTuple):  # a tuple: made for every assessment a commune's evaluation reads
    id: int
    value: Decimal
    counts: bool
    by: str
    evidence: str | None  # "file" | "ref" | None


@dataclass
class _Outcome:
    value: Any  # Decimal | None; shares: (numerator, denominator)
    source: dict[str, Any]
    missing: dict[str, Any] | None  # the cause when the value does not reach what is asked
    usable: bool  # a value that can be scored (an assessment without evidence or verification is not)


def _assessment_outcome(indicator: crit.Indicator, assessed: _Assessed | None) -> _Outcome:
    if assessed is None:
        return _Outcome(None, {"kind": "none"}, {"code": "not_assessed"}, False)
    # No id: the subject's assessment of an indicator is one row (subject, year, indicator), which the readers that
    # name it look up (``models.with_assessment_ids``); so subjects assessed alike share a breakdown (ADR 40).
    source = {"kind": "assessment", "by": assessed.by, "evidence": assessed.evidence}
    if not assessed.counts:
        return _Outcome(assessed.value, source, {"code": "not_verified"}, False)
    if indicator.requires_evidence and assessed.evidence is None:
        return _Outcome(assessed.value, source, {"code": "no_evidence"}, False)
    return _Outcome(assessed.value, source, None, True)


def _points_of(thresholds: Sequence[tuple[Decimal, int]], reached: Callable[[Decimal], bool]) -> int:
    points = 0
    for at, pts in thresholds:
        if reached(at):
            points = pts
    return points


def _share_need(at_least: Decimal, numerator: int, denominator: int) -> int:
    """How many more members must count for ``numerator / denominator`` to reach ``at_least`` per cent."""
    needed = (at_least * denominator / 100).to_integral_value(rounding=ROUND_CEILING)
    return max(int(needed) - numerator, 0)


class SubjectFailed(Exception):
    """Scoring one subject failed at one indicator (``indicator`` None: outside any indicator)."""

    def __init__(self, indicator: str | None, error: BaseException) -> None:
        super().__init__(f"{indicator or '-'}: {type(error).__name__}: {error}")
        self.indicator = indicator
        self.error = error


@contextmanager
def _blame(indicator: crit.Indicator) -> Iterator[None]:
    try:
        yield
    except SubjectFailed:
        raise
    except Exception as exc:
        raise SubjectFailed(indicator.code, exc) from exc


#: Failures kept in a title's summary (the count is exact; the list is for the run page).
MAX_FAILURES_LISTED = 20


@dataclass(frozen=True)
class _Points:
    """One indicator's item of a points-style set as every subject with the same inputs gets it: as scored, and with
    nothing missing (the subject is eligible, or the indicator at its maximum); with each one's JSON text."""

    item: dict[str, Any]
    cleared: dict[str, Any]
    points: Decimal
    below_min: bool
    full: bool
    text: str
    cleared_text: str


#: Items a scorer keeps (emptied when full): a few per indicator and distinct value in a commune.
ITEMS_KEPT = 10_000


class _Scorer:
    """Scores the inputs of one subject under one criteria set."""

    def __init__(self, definition: crit.CriteriaDefinition, area_class: str | None = None) -> None:
        self.d = definition
        self.area_class = area_class
        self._items: dict[tuple[Any, ...], _Points] = {}

    # Each indicator gives (value for display, source, reached(at) → bool, base missing, usable)
    def _inputs(
        self, indicator: crit.Indicator, row: Any, columns: tuple[str, ...], assessed: _Assessed | None
    ) -> tuple[
        Any, dict[str, Any], Callable[[Decimal], bool] | None, dict[str, Any] | None, bool, tuple[int, int] | None
    ]:
        if indicator.kind == "metric":
            metric = indicator.metric
            assert metric is not None
            value = _decimal(getattr(row, columns[0]))
            if metric.measure == "hours":
                value = _rounded(value, Decimal("0.1"))
            return (value, {"kind": "records", "measure": metric.measure}, lambda at: value >= at, None, True, None)
        if indicator.kind == "share":
            share = indicator.share
            assert share is not None
            num = _count(getattr(row, columns[0]))
            den = _count(getattr(row, columns[1]))
            unk = _count(getattr(row, columns[2]))
            extra = {}
            for key, column in (("not_applicable", 3), ("no_birth_date", 4)):
                count = _count(getattr(row, columns[column])) if len(columns) > column else 0
                if count:
                    extra[key] = count
            source = {
                "kind": "share",
                "of": share.of,
                "title": share.title,
                "measure": share.metric.measure if share.metric else None,
                "numerator": num,
                "denominator": den,
                "unknown_age": unk,
                **extra,
            }
            if den == 0:
                if share.when_none == "met":  # nobody to hold it to: met, and the explanation says why
                    return (None, {**source, "none_counted_as_met": True}, lambda at: True, None, True, None)
                return (None, source, None, {"code": "no_members"}, False, (num, den))
            value = _rounded(Decimal(num * 100) / den, Decimal("0.01"))
            return (value, source, lambda at: num * 100 >= at * den, None, True, (num, den))
        outcome = _assessment_outcome(indicator, assessed)
        if not outcome.usable:
            return (outcome.value, outcome.source, None, outcome.missing, False, None)
        value = _decimal(outcome.value)
        if indicator.scale == "met":
            return (value, outcome.source, lambda at: value >= 1, None, True, None)
        return (value, outcome.source, lambda at: value >= at, None, True, None)

    def points_item(
        self, indicator: crit.Indicator, row: Any, columns: tuple[str, ...], assessed: _Assessed | None
    ) -> tuple[dict[str, Any], Decimal]:
        max_points = indicator.max_points or 0
        value, source, reached, missing, usable, fraction = self._inputs(indicator, row, columns, assessed)
        points = Decimal(0)
        hint: dict[str, Any] | None = missing
        if usable and reached is not None:
            if indicator.kind == "assessment" and indicator.scale == "points":
                points = max(Decimal(0), min(_decimal(value), Decimal(max_points)))  # an assessed total stays in range
                hint = (
                    None
                    if points >= max_points
                    else (
                        {"code": "below_minimum", "value": _json_number(points), "minimum": indicator.min_points}
                        if points < (indicator.min_points or 0)
                        else {"code": "assessed_below", "value": _json_number(points), "at_least": max_points}
                    )
                )
            elif indicator.kind == "assessment" and indicator.scale == "met":
                points = Decimal(max_points) if reached(Decimal(1)) else Decimal(0)
                hint = None if points else {"code": "assessed_below", "value": _json_number(value), "at_least": 1}
            else:
                points = Decimal(_points_of(indicator.thresholds, reached))
                step = next(((at, pts) for at, pts in indicator.thresholds if not reached(at)), None)
                hint = None if step is None else self._more(indicator, value, step[0], fraction, {"points": step[1]})
        if indicator.assessable and points < max_points:
            # A counting assessment may stand in for records the system does not hold (learning elsewhere).
            alt = self._assessed_points(indicator, assessed)
            if alt is not None and alt[0] > points:
                points, value, source, hint = alt
        item: dict[str, Any] = {
            "indicator": indicator.code,
            "value": _json_number(value),
            "points": _json_number(points),
            "max": max_points,
            "source": source,
            "missing": hint,
        }
        share = indicator.share
        if share is not None and share.projection is not None and len(columns) > 5 and source.get("kind") == "share":
            # The projection beside the official count (ADR 51): members recognised for the year or eligible this
            # year, and the points it would give. The result stands on the recognitions alone.
            projected = _count(getattr(row, columns[5]))
            den = _count(getattr(row, columns[1]))
            item["source"] = {**source, "projected": projected}
            at_projection = (
                Decimal(_points_of(indicator.thresholds, lambda at: projected * 100 >= at * den)) if den else points
            )
            item["projected_points"] = _json_number(max(points, at_projection))
        return item, points

    def _assessed_points(
        self, indicator: crit.Indicator, assessed: _Assessed | None
    ) -> tuple[Decimal, Any, dict[str, Any], dict[str, Any] | None] | None:
        outcome = _assessment_outcome(indicator, assessed)
        if not outcome.usable:
            return None
        value = _decimal(outcome.value)
        max_points = indicator.max_points or 0
        if indicator.scale == "points":
            points = max(Decimal(0), min(value, Decimal(max_points)))
        elif indicator.scale == "met":
            points = Decimal(max_points) if value >= 1 else Decimal(0)
        else:
            points = Decimal(_points_of(indicator.thresholds, lambda at: value >= at))
        hint = (
            None
            if points >= max_points
            else {"code": "assessed_below", "value": _json_number(value), "at_least": max_points}
        )
        return points, value, outcome.source, hint

    def _more(
        self,
        indicator: crit.Indicator,
        value: Any,
        at: Decimal,
        fraction: tuple[int, int] | None,
        target: dict[str, Any],
    ) -> dict[str, Any]:
        if indicator.kind == "metric" and indicator.metric is not None:
            need = at - _decimal(value)
            return {"code": f"more_{indicator.metric.measure}", "need": _json_number(need), **target}
        if indicator.kind == "share" and fraction is not None:
            num, den = fraction
            return {
                "code": "share_below",
                "numerator": num,
                "denominator": den,
                "at_least": _json_number(at),
                "need": _share_need(at, num, den),
                **target,
            }
        return {"code": "assessed_below", "value": _json_number(value), "at_least": _json_number(at), **target}

    def levels_item(
        self, indicator: crit.Indicator, row: Any, columns: tuple[str, ...], assessed: _Assessed | None
    ) -> dict[str, Any]:
        if not indicator.applies(getattr(row, "managing_level", None), getattr(row, "organisation_kind", None)):
            # The text sets this indicator for some organisations only (a school, a university…): met, and said so.
            return {
                "indicator": indicator.code,
                "value": None,
                "met": True,
                "levels": list(indicator.for_levels),
                "source": {"kind": "not_applicable"},
                "missing": None,
                "_fraction": None,
            }
        at_least, bar = indicator.bars_for(self.area_class)
        value, source, reached, missing, usable, fraction = self._inputs(indicator, row, columns, assessed)
        met_levels: list[int] = []
        if usable and reached is not None:
            if at_least:
                met_levels = [lv for lv, at in zip(indicator.for_levels, at_least, strict=True) if reached(at)]
            elif reached(Decimal(1)):
                met_levels = list(indicator.for_levels)
        if indicator.assessable and len(met_levels) < len(indicator.for_levels):
            outcome = _assessment_outcome(indicator, assessed)
            if outcome.usable:
                v = _decimal(outcome.value)
                alt = (
                    [lv for lv, at in zip(indicator.for_levels, at_least, strict=True) if v >= at]
                    if indicator.scale == "percent"
                    else (list(indicator.for_levels) if v >= 1 else [])
                )
                if len(alt) > len(met_levels):
                    met_levels, value, source = alt, v, outcome.source
        item = {
            "indicator": indicator.code,
            "value": _json_number(value),
            "met": indicator.for_levels[0] in met_levels,
            "levels": met_levels,
            "source": source,
            "missing": missing,
            "_fraction": fraction,
        }
        if indicator.share is not None and indicator.share.projection is not None and len(columns) > 5:
            # The projection beside the official count (ADR 51): members recognised for the year or eligible this
            # year. The result and the level stand on the recognitions alone.
            projected = _count(getattr(row, columns[5]))
            den = _count(getattr(row, columns[1]))
            item["source"] = {**source, "projected": projected}
            item["projected_levels"] = (
                [lv for lv, at in zip(indicator.for_levels, at_least, strict=True) if projected * 100 >= at * den]
                if den
                else list(met_levels)
            )
        if indicator.area_bars:
            # Which bar applied and why: the commune's area class picks it (Circular 25, Art. 6.5.b, 7.5.b).
            item["bar"] = {
                "area_class": self.area_class,
                "lower": bar is not None,
                "at_least": [_json_number(v) for v in at_least],
                "reason": bar.reason if bar is not None else None,
            }
        return item

    def _points(
        self, indicator: crit.Indicator, row: Any, columns: tuple[str, ...], assessed: _Assessed | None
    ) -> _Points:
        """One indicator's item of a points-style set, kept by the scorer: an item depends only on the indicator's
        own inputs (its columns' values and its assessment), so a commune's subjects share a few per indicator."""
        # Each value with its type: equal values of two types (2**60 and 2.0**60, True and 1) print differently.
        values = [getattr(row, name) for name in columns]
        key: tuple[Any, ...] | None = (
            indicator.code,
            *((type(value), value) for value in values),
            None if assessed is None else (type(assessed.value), assessed[1:]),  # all but the id, which no item holds
        )
        try:
            found = self._items.get(key)  # type: ignore[arg-type]
        except TypeError:  # an unhashable value (a signalling NaN): scored, not kept
            found, key = None, None
        if found is not None:
            return found
        with _blame(indicator):
            item, points = self.points_item(indicator, row, columns, assessed)
        below_min = points < (indicator.min_points or 0)
        if below_min and item["missing"] is not None and item["missing"]["code"] != "below_minimum":
            item["missing"] = {**item["missing"], "minimum": indicator.min_points}
        cleared = {**item, "missing": None}
        found = _Points(
            item,
            cleared,
            points,
            below_min,
            item["points"] >= (indicator.max_points or 0),
            json.dumps(item, separators=(",", ":")),
            json.dumps(cleared, separators=(",", ":")),
        )
        if key is not None:
            if len(self._items) >= ITEMS_KEPT:
                self._items.clear()
            self._items[key] = found
        return found

    def score(
        self, row: Any, plan: _Plan, assessed: dict[str, _Assessed]
    ) -> tuple[bool, Decimal | None, int | None, str, list[dict[str, Any]]]:
        return self.score_content(row, plan, assessed)[0]

    def score_content(
        self, row: Any, plan: _Plan, assessed: dict[str, _Assessed]
    ) -> tuple[tuple[bool, Decimal | None, int | None, str, list[dict[str, Any]]], str]:
        """The outcome (eligible, score, level, missing codes, breakdown items) and the breakdown's JSON text as the
        engine stores it. The items are shared with other subjects' outcomes: read them, never change them."""
        d = self.d
        items: list[dict[str, Any]] = []
        if d.scoring == Scoring.POINTS:
            total = Decimal(0)
            below_min = False
            parts = [
                self._points(indicator, row, plan.columns.get(indicator.code, ()), assessed.get(indicator.code))
                for indicator in d.indicators
            ]
            for part in parts:
                total += part.points
                below_min = below_min or part.below_min
            enough = total >= (d.pass_total or 0)
            eligible = enough and not below_min
            # What stands between the subject and the title: nothing when eligible; with enough points in all, only
            # the indicators below their minimum (more points elsewhere would not help); short of the total, every
            # indicator below its maximum (each could give the points lacking).
            kept = [not eligible and (part.below_min if enough else not part.full) for part in parts]
            items = [part.item if keep else part.cleared for part, keep in zip(parts, kept, strict=True)]
            missing = "".join(f"|{item['indicator']}" for item in items if item["missing"])
            content = (
                "["
                + ",".join(part.text if keep else part.cleared_text for part, keep in zip(parts, kept, strict=True))
                + "]"
            )
            return (eligible, total, None, (missing + "|") if missing else "", items), content
        outcome = self._levels(row, plan, assessed)
        return outcome, json.dumps(outcome[4], separators=(",", ":"))

    def _implies(self, indicator: crit.Indicator, implier: dict[str, Any]) -> bool:
        """Whether the item ``implier`` of an ``implied_by`` indicator answers ``indicator``: met, and for a percentage
        with a share (its members are counted in ``indicator`` too) at or above every bar of ``indicator``."""
        if not implier["met"]:
            return False
        if indicator.scale != "percent":
            return True
        at_least, _bar = indicator.bars_for(self.area_class)
        value = _as_decimal(implier["value"])
        return value is not None and all(value >= at for at in at_least)

    def _levels(
        self, row: Any, plan: _Plan, assessed: dict[str, _Assessed]
    ) -> tuple[bool, Decimal | None, int | None, str, list[dict[str, Any]]]:
        d = self.d
        items: list[dict[str, Any]] = []
        for indicator in d.indicators:
            with _blame(indicator):
                items.append(
                    self.levels_item(indicator, row, plan.columns.get(indicator.code, ()), assessed.get(indicator.code))
                )
        by_code = {item["indicator"]: item for item in items}
        for indicator, item in zip(d.indicators, items, strict=True):
            # A stricter indicator met implies this one (Circular 25, Art. 8.1.b: level 2 is judged on Art. 7 alone).
            # Or the same requirement, met where a lower level asks it of more organisations (Circular 24, Art.
            # 6.3.c → 7.3.c): then the source says "same".
            # Or, for a percentage, an indicator counting fewer members whose share reaches this one's bar (Circular
            # 24, Art. 6.2.d → 7.2.d: members with a language certificate have the language level; ADR 53).
            if item["levels"] == list(indicator.for_levels):
                continue
            implying = next((c for c in indicator.implied_by if self._implies(indicator, by_code[c])), None)
            if implying is not None:
                source = {"kind": "implied", "by": implying, "was": item["source"]}
                implier = d.indicator(implying)
                value = item["value"]
                if indicator.scale == "percent":
                    source["subset"], value = True, by_code[implying]["value"]
                elif implier is not None and max(implier.for_levels) < min(indicator.for_levels):
                    source["same"] = True
                item.update(
                    met=True,
                    value=value,
                    levels=list(indicator.for_levels),
                    source=source,
                    missing=None,
                    _fraction=None,
                )
        # Each level is judged on its own indicators (Circular 24, Art. 8.1 / 8.2: level 1 "khi đạt đầy đủ các tiêu
        # chí, chỉ tiêu … tại Điều 6", level 2 "… tại Điều 7"; Circular 25, Art. 8.1.a / b), not as a ladder: a unit
        # Art. 7.3.c does not ask for the award Art. 6.3.c asks of it is level 2 without being level 1.
        level = max((lv for lv in (level.level for level in d.levels) if _reaches(d, items, lv)), default=0)
        goal = level + 1 if level < d.max_level else None
        for indicator, item in zip(d.indicators, items, strict=True):
            fraction = item.pop("_fraction")
            if goal is None or goal not in indicator.for_levels or goal in item["levels"]:
                item["missing"] = None
                continue
            if item["missing"] is None:
                at_least, _bar = indicator.bars_for(self.area_class)
                at = at_least[indicator.for_levels.index(goal)] if at_least else Decimal(1)
                with _blame(indicator):
                    item["missing"] = self._more(indicator, item["value"], at, fraction, {})
            item["missing"] = {**item["missing"], "level": goal}
        missing = "".join(f"|{i['indicator']}" for i in items if i["missing"])
        return level >= 1, None, level, (missing + "|") if missing else "", items


def projected_level(definition: crit.CriteriaDefinition, items: Sequence[dict[str, Any]]) -> int | None:
    """The level a levels-style result would reach were this year's eligible members recognised too (ADR 51), for
    the pages to show beside the official level; None when no indicator of the result carries a projection. The
    upgrade wait (Circular 24, Art. 5.3) caps it as it caps the result."""
    if not any("projected_levels" in item for item in items):
        return None
    by_code = {str(item.get("indicator")): item for item in items}

    def reaches(level: int) -> bool:
        return all(
            level in by_code[i.code].get("projected_levels", by_code[i.code].get("levels", []))
            for i in definition.indicators
            if level in i.for_levels and i.code in by_code
        )

    level = max((lv.level for lv in definition.levels if reaches(lv.level)), default=0)
    upgrade = definition.upgrade
    if "upgrade" in by_code and upgrade is not None and level >= upgrade.to_level:
        level = next((lv for lv in range(upgrade.to_level - 1, 0, -1) if reaches(lv)), 0)
    return level


def projected_points(
    definition: crit.CriteriaDefinition, items: Sequence[dict[str, Any]]
) -> tuple[Decimal, bool] | None:
    """The total and the outcome a points-style result would reach were this year's eligible members recognised too
    (ADR 51: Decision 448's families of a clan or a village, citizens of a commune-managed unit); None when no item
    carries a projection. Each indicator keeps its minimum, as in the result."""
    if not any("projected_points" in item for item in items):
        return None
    by_code = {str(item.get("indicator")): item for item in items}
    total = Decimal(0)
    below_min = False
    for indicator in definition.indicators:
        item = by_code.get(indicator.code)
        if item is None:
            continue
        points = _decimal(item.get("projected_points", item.get("points")) or 0)
        total += points
        below_min = below_min or points < (indicator.min_points or 0)
    return total, total >= (definition.pass_total or 0) and not below_min


def projected_eligible(definition: crit.CriteriaDefinition, items: Sequence[dict[str, Any]]) -> bool | None:
    """Whether the projection (ADR 51) reaches the title — level 1 of a levels-style result, the pass of a points-style
    one —; None when the result carries no projection."""
    if definition.scoring == Scoring.POINTS:
        found = projected_points(definition, items)
        return None if found is None else found[1]
    level = projected_level(definition, items)
    return None if level is None else level >= 1


def _reaches(definition: crit.CriteriaDefinition, items: Sequence[dict[str, Any]], level: int) -> bool:
    """Every indicator of ``level`` is met at that level (the items are in the order of the set's indicators)."""
    return all(
        level in item["levels"]
        for indicator, item in zip(definition.indicators, items, strict=True)
        if level in indicator.for_levels
    )


def _capped(
    outcome: tuple[Any, ...], upgrade: crit.Upgrade, wait: tuple[Any, ...], definition: crit.CriteriaDefinition
) -> tuple[Any, ...]:
    """The criteria give ``to_level`` but the last recognition is too recent to ask for it (Circular 24, Art. 5.3):
    the level below if its own indicators are met (level 0 otherwise: each level is judged on its own article), and a
    breakdown item that says from when."""
    recognition_id, level, decided, until, before, first_year = wait
    item: dict[str, Any] = {
        "indicator": "upgrade",
        "value": None,
        "met": False,
        "levels": [],
        "source": {"kind": "recognition", "id": recognition_id, "level": level, "decision_date": decided},
        "missing": {
            "code": "upgrade_wait",
            "level": upgrade.to_level,
            "until": until,
            "months": upgrade.after_months,
            "source_ref": upgrade.source_ref,
            "before": before,
            "first_year": first_year,
        },
    }
    _eligible, score, _level, missing, items = outcome
    below = next((lv for lv in range(upgrade.to_level - 1, 0, -1) if _reaches(definition, items, lv)), 0)
    return below >= 1, score, below, (missing or "|") + "upgrade|", [*items, item]


# --- one title ------------------------------------------------------------------------------------------------


def _assessments(
    commune: _Commune, subject: str, subjects: Select[Any], codes: list[str]
) -> dict[int, dict[str, _Assessed]]:
    if not codes:
        return {}
    ids = subjects.subquery("sa")
    rows = db.session.execute(
        select(
            A.c.id,
            A.c.subject_id,
            A.c.indicator,
            A.c.value,
            A.c.source,
            A.c.verified_at,
            A.c.evidence_file_id,
            A.c.evidence_ref,
        ).where(
            A.c.subject_type == subject,
            A.c.year == commune.year,
            A.c.indicator.in_(codes),
            A.c.subject_id.in_(select(ids.c.subject_id)),
        )
    )
    found: dict[int, dict[str, _Assessed]] = {}
    for row in rows:
        evidence = "file" if row.evidence_file_id is not None else ("ref" if (row.evidence_ref or "").strip() else None)
        counts = row.source == AssessmentSource.EVALUATOR or row.verified_at is not None
        found.setdefault(row.subject_id, {})[row.indicator] = _Assessed(
            row.id, _decimal(row.value), counts, row.source, evidence
        )
    return found


def _upgrade_waits(
    commune: _Commune, subject: str, title: Title, subjects: Select[Any], upgrade: crit.Upgrade
) -> dict[int, tuple[Any, ...]]:
    """Subjects whose last recognition (before the year) is one level below ``upgrade.to_level`` and whose
    ``after_months`` counted from its decision (Civil Code 2015, Art. 147–148: :func:`deadlines.first_day_after`,
    ADR 59) have not run out by the last day of the year's request: (recognition id, level, decision date, from when
    the upgrade may be asked for, what the explanation adds: the date the year's request is due before and the first
    evaluated year whose request may ask for it). One statement."""
    ids = subjects.subquery("su")
    rows = db.session.execute(
        select(R.c.subject_id, R.c.id, R.c.level, R.c.decision_date)
        .where(
            R.c.subject_type == subject,
            R.c.title == title.value,
            R.c.year < commune.year,
            R.c.status == RecognitionStatus.RECOGNISED.value,
            R.c.decision_date.is_not(None),
            R.c.subject_id.in_(select(ids.c.subject_id)),
        )
        .order_by(R.c.subject_id, R.c.decision_date, R.c.id)
    )
    latest: dict[int, Any] = {}
    for row in rows:
        latest[row.subject_id] = row  # ordered: the last one wins
    due = date(commune.year + 1, *upgrade.request_by)  # the last day of the year's request
    waits: dict[int, tuple[Any, ...]] = {}
    for subject_id, row in latest.items():
        if row.level == upgrade.to_level - 1:
            allowed = deadlines.first_day_after(row.decision_date, upgrade.after_months)
            if allowed > due:
                waits[subject_id] = (
                    row.id,
                    row.level,
                    row.decision_date.isoformat(),
                    allowed.isoformat(),
                    (due + timedelta(days=1)).isoformat(),
                    deadlines.first_request_year(allowed, upgrade.request_by),
                )
    return waits


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def _verified(
    updates: list[dict[str, Any]],
    stored: dict[int, dict[str, Any]],
    subject: str,
    title: str,
    repairs: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Reconciliation: of the recomputed rows whose digest was unchanged, keep only those whose stored result
    differs (a row changed behind the app's back) and describe each in ``repairs``. Rows whose inputs changed are
    ordinary updates."""
    kept = []
    for values in updates:
        old = stored[values["_id"]]
        if old["inputs_digest"] != values["inputs_digest"]:
            kept.append(values)
            continue
        differs = {name: (old[name], values[name]) for name in RESULT_FIELDS if old[name] != values[name]}
        if not differs:
            continue
        kept.append(values)
        repairs.append(
            {
                "id": old["id"],
                "subject_type": subject,
                "subject_id": old["subject_id"],
                "title": title,
                "stored": {name: _plain(pair[0]) for name, pair in differs.items()},
                "recomputed": {name: _plain(pair[1]) for name, pair in differs.items()},
            }
        )
    return kept


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


# What a reconciliation compares between the stored row and the recomputed one.
RESULT_FIELDS = ("village_id", "criteria_set_id", "eligible", "applicable", "score", "level", "missing", "breakdown_id")


def _evaluate_title(
    commune: _Commune,
    title: Title,
    sets: Sequence[crit.ActiveSet],
    metrics: _Metrics,
    repairs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    subject = TITLE_SUBJECT[title].value
    plans = []
    for row in sets:
        definition = crit.definition_of(row)
        plans.append((row, definition, _plan(commune, definition, metrics)))
    all_subjects = [_subjects(commune, subject, d) for _, d, _ in plans]
    mine = (E.c.subject_type == subject, E.c.title == title.value, E.c.year == commune.year)
    here = (*mine, E.c.commune_id == commune.id, commune.scoped(subject, E.c.subject_id))
    # The summary's counts come with the first row of each set's statement (window aggregates over every subject
    # and its stored row: the rows of subjects whose inputs did not change never travel to Python); the rows that
    # are scored again below correct the stored ``eligible`` they replace.
    subjects = eligible = rows_kept = 0
    rows_here: int | None = None
    now = utcnow()
    title_value = title.value
    inserts: list[tuple[int, int | None, str, tuple[Any, ...]]] = []  # subject, village, digest, result
    updates: list[dict[str, Any]] = []
    olds: dict[int, Any] = {}  # reconciliation: the stored results of the rows scored again
    breakdowns: dict[str, str] = {}  # digest → JSON text of every breakdown a changed row needs
    failures: list[dict[str, Any]] = []
    for n, (row, definition, plan) in enumerate(plans):
        codes = [i.code for i in definition.indicators if i.reads_assessment]
        assessed = _assessments(commune, subject, _subjects(commune, subject, definition), codes)
        upgrade = definition.upgrade
        waits = (
            _upgrade_waits(commune, subject, title, _subjects(commune, subject, definition), upgrade) if upgrade else {}
        )
        scorer = _scorer(row.id, definition, commune.area_class, fresh=repairs is not None)
        population = definition.population
        stmt, width = _changed(commune, title, row, plan, codes, upgrade is not None, all_subjects[:n], here, repairs)
        # Subjects with the same inputs get the same result: most persons of a commune share a handful of input
        # combinations (no records, one class, …), so each combination is scored once.
        results: dict[Any, tuple[Any, ...]] = {}  # … (eligible, score, level, missing, breakdown, applicable)
        found = db.session.execute(stmt).all()
        # The loop runs once per subject to write (every subject of a first evaluation): its columns are read by
        # position, and the look-ups of assessments and waits are skipped when the set has none.
        names = found[0]._fields if found else ()
        i_first, i_frozen, i_old_id, i_old_eligible, i_old_digest, i_digest = (
            [names.index(name) for name in ("_first", "_frozen", "_old_id", "_old_eligible", "_old_digest", "_digest")]
            if found
            else [0] * 6
        )
        for result in found:
            if result[i_first] == 1:
                subjects += result._subjects
                eligible += int(result._eligible or 0)
                rows_kept += int(result._kept or 0)
                rows_here = result._here
            if result[i_frozen]:
                continue
            subject_id = result[0]
            old_id, old_eligible, old_digest = result[i_old_id], result[i_old_eligible], result[i_old_digest]
            theirs = assessed.get(subject_id) if assessed else None
            wait = waits.get(subject_id) if waits else None
            given = (
                tuple(sorted((code, a.id, a.value, a.counts, a.by, a.evidence) for code, a in theirs.items()))
                if theirs
                else ()
            )
            # Without assessments or an upgrade wait the digest is the SQL one, which the next run compares in SQL.
            digest = _digest(result[i_digest], given, wait) if (given or wait) else result[i_digest]
            if old_id is not None and old_digest == digest and repairs is None:
                continue
            # Subjects whose assessments differ only in their ids score alike: the combination leaves the ids out
            # (a breakdown names no assessment by id), the digest above keeps them.
            alike = tuple(sorted((code, a[1:]) for code, a in theirs.items())) if theirs else ()
            inputs = (result[2:width], alike, wait)
            scored = results.get(inputs)
            if scored is None:
                # The process's scores serve every subject but those with an upgrade wait (rare, and never
                # recurring across communes), never a reconciliation, which scores afresh to compare.
                shared = wait is None and repairs is None
                key = (row.id, id(definition), commune.area_class, inputs)
                if shared and (known := _SCORES.get(key)):
                    scored = results[inputs] = known[0]
                    breakdowns.setdefault(scored[5], known[1])
            if scored is None:
                try:
                    applicable = population is None or getattr(result, "in_population", 1) != 0
                    # Outside the set's own population (an infant for the Learning Citizen title): not applicable,
                    # not "not yet eligible" — no indicator to score, nothing missing.
                    outcome, content = (
                        scorer.score_content(result, plan, theirs or {})
                        if applicable
                        else ((False, None, None, "", []), "[]")
                    )
                    if upgrade is not None and wait is not None and (outcome[2] or 0) >= upgrade.to_level:
                        outcome = _capped(outcome, upgrade, wait, definition)
                        content = json.dumps(outcome[4], separators=(",", ":"))
                except Exception as exc:  # noqa: BLE001 - one bad subject must not sink the commune: record it, keep its old row
                    failed = exc if isinstance(exc, SubjectFailed) else SubjectFailed(None, exc)
                    log.warning(
                        "titles: %s %s (%s, commune %s, %s) not evaluated: %s",
                        subject,
                        subject_id,
                        title_value,
                        commune.id,
                        commune.year,
                        failed,
                    )
                    failures.append(
                        {
                            "subject_type": subject,
                            "subject_id": subject_id,
                            "indicator": failed.indicator,
                            "error": f"{type(failed.error).__name__}: {failed.error}"[:300],
                        }
                    )
                    continue
                # Digested once per combination of inputs, not once per subject.
                address = breakdown_digest(content)
                breakdowns.setdefault(address, content)
                scored = results[inputs] = (row.id, *outcome[:3], outcome[3][:400], address, applicable)
                if shared:
                    _remember(key, definition, scored, content)
            eligible += scored[1] - bool(old_eligible)
            if old_id is None:
                inserts.append((subject_id, result[1], digest, scored))
            else:
                updates.append({"_id": old_id, "village_id": result[1], "inputs_digest": digest, "_r": scored})
                if repairs is not None:
                    olds[old_id] = {
                        "id": old_id,
                        "subject_id": subject_id,
                        "inputs_digest": old_digest,
                        "eligible": old_eligible,
                        **{name: getattr(result, f"_old_{name}") for name in RESULT_FIELDS if name != "eligible"},
                    }
    # Rows of this commune whose subject is no longer one of its current subjects (and not recognised here): looked
    # for only when the commune holds more rows than its current subjects have here.
    gone: list[int] = []
    if rows_here is None or rows_here > rows_kept:
        current = [select(ids.subquery().c.subject_id) for ids in all_subjects]
        gone = list(
            db.session.scalars(
                select(E.c.id).where(
                    *here,
                    E.c.subject_id.not_in(current[0].union_all(*current[1:]) if len(current) > 1 else current[0]),
                    E.c.subject_id.not_in(
                        select(R.c.subject_id).where(
                            R.c.commune_id == commune.id,
                            R.c.subject_type == subject,
                            R.c.title == title.value,
                            R.c.year == commune.year,
                            R.c.status == RecognitionStatus.RECOGNISED.value,
                        )
                    ),
                )
            )
        )
    ids = _breakdown_ids(breakdowns) if breakdowns else {}
    for values in updates:
        set_id, is_eligible, score, level, missing, address, applicable = values.pop("_r")
        values.update(
            commune_id=commune.id,
            criteria_set_id=set_id,
            eligible=is_eligible,
            score=score,
            level=level,
            missing=missing,
            breakdown_id=ids[address],
            computed_at=now,
            applicable=applicable,
        )
    if repairs is not None:
        updates = _verified(updates, olds, subject, title_value, repairs)
    if inserts:
        _insert_rows(commune, subject, title_value, now, inserts, ids)
    if updates:
        # In id order, as a proposal's confirmation locks them (recognition._evaluations): two transactions taking
        # the same rows' locks in the same order wait for each other, never deadlock (PostgreSQL 40P01).
        updates.sort(key=lambda values: values["_id"])
        db.session.execute(
            update(E)
            .where(E.c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in updates[0] if name != "_id"}),
            updates,
        )
    if gone:
        db.session.execute(delete(E).where(E.c.id.in_(gone)))
    if commune.states is not None and (inserts or updates or gone):
        commune.states.forget(title_value)
    summary: dict[str, Any] = {
        "subjects": subjects,
        "eligible": eligible,
        "changed": len(inserts) + len(updates) + len(gone),
    }
    if failures:
        summary["failed"] = len(failures)
        summary["failures"] = failures[:MAX_FAILURES_LISTED]
    return summary


def _scorer(set_id: int, definition: crit.CriteriaDefinition, area_class: str | None, *, fresh: bool) -> _Scorer:
    """The process's scorer of a criteria set and area class, which keeps the items it scored from one commune to
    the next; a new one for a reconciliation (``fresh``), which scores afresh to compare."""
    if fresh:
        return _Scorer(definition, area_class)
    # A points-style set's items do not depend on the area class: one scorer for all of them.
    key = (set_id, id(definition), area_class if definition.scoring != Scoring.POINTS else None)
    scorer = _SCORERS.get(key)
    if scorer is None:
        _SCORED_SETS[id(definition)] = definition
        scorer = _SCORERS[key] = _Scorer(definition, area_class)
    return scorer


#: Scored combinations of inputs, kept by the process from one commune to the next (most of a commune's
#: combinations — no records, one class… — recur in every other): (set id, its parsed definition's identity, area
#: class, inputs) → (the result as ``_evaluate_title`` stores it, the breakdown's JSON text). Scoring is a pure
#: function of these; a new version of a set is another row and another definition. Bounded: emptied when full.
_SCORES: dict[tuple[Any, ...], tuple[tuple[Any, ...], str]] = {}
_SCORERS: dict[tuple[Any, ...], _Scorer] = {}  # set id, its parsed definition's identity, area class → scorer
_SCORED_SETS: dict[int, crit.CriteriaDefinition] = {}  # the definitions the keys name, kept alive with them
SCORES_KEPT = 20_000


def _remember(key: tuple[Any, ...], definition: crit.CriteriaDefinition, scored: tuple[Any, ...], content: str) -> None:
    if len(_SCORES) >= SCORES_KEPT:
        forget_scores()
    _SCORED_SETS[id(definition)] = definition
    _SCORES[key] = (scored, content)


def forget_scores() -> None:
    """Empty the process's scored combinations (tests that replace the scorer start from nothing)."""
    _SCORES.clear()
    _SCORERS.clear()
    _SCORED_SETS.clear()


def _changed(
    commune: _Commune,
    title: Title,
    criteria_set: crit.ActiveSet,
    plan: _Plan,
    codes: list[str],
    upgrade: bool,
    earlier: list[Select[Any]],
    here: tuple[ColumnElement[bool], ...],
    repairs: list[dict[str, Any]] | None,
) -> tuple[Select[Any], int]:
    """The wide statement of one set with each subject's stored row and the digest of its inputs computed in SQL,
    returning only the subjects to score again: without a row, or whose digest differs, or who have assessments
    or earlier recognitions (their digest also covers what Python reads); not one an earlier set of the title
    evaluates. Recognised (frozen) subjects are flagged ``_frozen``. Reconciliation (``repairs``) compares every
    row: all returned. The first row (``_first``) also carries the counts over every subject of the set:
    ``_subjects``, ``_eligible`` (stored), ``_kept`` (stored in this commune) and ``_here`` (the commune's rows).
    Returns the statement and the number of its input columns (``subject_id``, ``village_id`` included)."""
    subject = TITLE_SUBJECT[title].value
    key = plan.subjects.c.subject_id
    stored = E.alias("st")
    joins = plan.joins.outerjoin(
        stored,
        and_(
            stored.c.subject_type == subject,
            stored.c.subject_id == key,
            stored.c.title == title.value,
            stored.c.year == commune.year,
        ),
    )
    prefix = f"{ENGINE_VERSION}|{criteria_set.id}|{commune.id}|{commune.area_class}"
    counts = [
        func.count().over().label("_subjects"),
        func.sum(case((stored.c.eligible.is_(True), 1), else_=0)).over().label("_eligible"),
        func.sum(case((stored.c.commune_id == commune.id, 1), else_=0)).over().label("_kept"),
        func.row_number().over(order_by=key).label("_first"),
        select(func.count()).select_from(E).where(*here).scalar_subquery().label("_here"),
    ]
    olds = [stored.c.id.label("_old_id"), stored.c.eligible.label("_old_eligible")]
    olds.append(stored.c.inputs_digest.label("_old_digest"))
    if repairs is not None:
        olds += [stored.c[name].label(f"_old_{name}") for name in RESULT_FIELDS if name != "eligible"]
    taken = [before.subquery() for before in earlier]
    inner = (
        select(*plan.out, _inputs_digest(prefix, plan).label("_digest"), *olds, *counts)
        .select_from(joins)
        .where(*[~select(t.c.subject_id).where(t.c.subject_id == key).exists() for t in taken])
        .subquery("w")
    )
    w = inner.c
    frozen = exists().where(
        R.c.subject_type == subject,
        R.c.subject_id == w.subject_id,
        R.c.title == title.value,
        R.c.year == commune.year,
        R.c.status == RecognitionStatus.RECOGNISED.value,
    )
    wanted: ColumnElement[bool] = ~frozen
    if repairs is None:
        again: list[ColumnElement[bool]] = [w._old_id.is_(None), w._old_digest.is_distinct_from(w._digest)]
        if codes:
            again.append(
                exists().where(
                    A.c.subject_type == subject,
                    A.c.subject_id == w.subject_id,
                    A.c.year == commune.year,
                    A.c.indicator.in_(codes),
                )
            )
        if upgrade:
            again.append(
                exists().where(
                    R.c.subject_type == subject,
                    R.c.subject_id == w.subject_id,
                    R.c.title == title.value,
                    R.c.year < commune.year,
                    R.c.status == RecognitionStatus.RECOGNISED.value,
                )
            )
        wanted = and_(wanted, or_(*again))
    stmt = select(inner, frozen.label("_frozen")).where(or_(w._first == 1, wanted)).order_by(w.subject_id)
    return stmt, len(plan.out)


#: Bound values per ``IN`` list (SQLite's default limit is 32,766 variables).
_IN_LIST = 10_000


def _breakdown_ids(breakdowns: dict[str, str]) -> dict[str, int]:
    """The id of each breakdown (digest → JSON text): the stored ones in one statement, the others added in one.

    Breakdown rows are content-addressed and immutable; a digest stored twice (two workers adding it at once) is
    harmless, the lowest id is used. PostgreSQL: the digests go as one array (``= ANY``), and the new rows take
    their ids from the table's sequence and go in by one ``COPY`` — a first evaluation with assessments adds one
    per subject whose assessed values differ from every other's (a quarter of a million in the generated
    province), which a multi-row ``INSERT … RETURNING`` wrote at a tenth of the speed, after ``IN`` lists of
    10,000 digests to parse and plan.
    """
    found: dict[str, int] = {}
    digests = list(breakdowns)
    postgres = db.session.get_bind().dialect.name == "postgresql"
    if postgres:
        found.update(
            db.session.execute(
                select(B.c.digest, func.min(B.c.id))
                .where(B.c.digest == any_(literal(digests, postgresql.ARRAY(Text))))
                .group_by(B.c.digest)
            )
            .tuples()
            .all()
        )
    else:
        for start in range(0, len(digests), _IN_LIST):  # one statement below 10,000 distinct breakdowns per title
            found.update(
                db.session.execute(
                    select(B.c.digest, func.min(B.c.id))
                    .where(B.c.digest.in_(digests[start : start + _IN_LIST]))
                    .group_by(B.c.digest)
                )
                .tuples()
                .all()
            )
    missing = [d for d in digests if d not in found]
    if not missing:
        return found
    if postgres:
        ids = db.session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(B.name, "id"))).select_from(
                func.generate_series(1, len(missing))
            )
        ).all()
        added = dict(zip(missing, ids, strict=True))
        copy_lines(B, ["id", "digest", "content"], (f"{added[d]},{d},{csv_line([breakdowns[d]])}" for d in missing))
        found.update(added)
        return found
    # Already serialised: sent as text, which both engines take into their JSON column.
    rows = db.session.execute(
        insert(B)
        .values(digest=bindparam("digest"), content=bindparam("content", type_=Text))
        .returning(B.c.digest, B.c.id),
        [{"digest": d, "content": breakdowns[d]} for d in missing],
    )
    found.update(rows.tuples().all())
    return found


def _insert_rows(
    commune: _Commune,
    subject: str,
    title: str,
    now: Any,
    rows: list[tuple[int, int | None, str, tuple[Any, ...]]],
    breakdown_ids: dict[str, int],
) -> None:
    """Insert new eligibility rows: (subject, village, digest, result) each, ``result`` shared by every subject of
    one combination of inputs. PostgreSQL: one ``COPY`` whose lines are built with one string format per row (the
    fields common to a result rendered once); elsewhere one executemany."""
    common = {"subject_type": subject, "title": title, "year": commune.year, "commune_id": commune.id}
    names = ("criteria_set_id", "eligible", "score", "level", "missing", "breakdown_id", "applicable")
    if db.session.connection().dialect.name != "postgresql":
        copy_rows(
            E,
            [
                {
                    **common,
                    "subject_id": subject_id,
                    "village_id": village_id,
                    "inputs_digest": digest,
                    "computed_at": now,
                    **dict(zip(names, (*result[:5], breakdown_ids[result[5]], result[6]), strict=True)),
                }
                for subject_id, village_id, digest, result in rows
            ],
        )
        return
    # Looked up by the result's identity first: subjects of one combination of inputs share the very tuple, and
    # hashing its values (a Decimal score among them) for every row cost more than the look-up; by value second,
    # as combinations that score alike render one line.
    tails: dict[int, str] = {}
    rendered: dict[tuple[Any, ...], str] = {}
    for *_, result in rows:
        if id(result) not in tails:
            tail = rendered.get(result)
            if tail is None:
                values = (*result[:5], breakdown_ids[result[5]], result[6])
                tail = rendered[result] = csv_line([*common.values(), *values, now])
            tails[id(result)] = tail
    null = csv_line([None])
    lines = (
        f"{subject_id},{null if village_id is None else village_id},{digest},{tails[id(result)]}"
        for subject_id, village_id, digest, result in rows
    )
    copy_lines(E, ["subject_id", "village_id", "inputs_digest", *common, *names, "computed_at"], lines)
