"""``flask bench targets``: recompute and roll up every indicator for a province-scale data set.

The database is built like ``flask bench generate`` builds it (the demo population of the 40 communes that
succeeded Kon Tum's, ~150,000 households), then titles are added in bulk — eligibility and recognitions of
citizens, families, clans, villages and organisations for the year, household registrations, policy-study and IT
learning records — with INSERT … SELECT statements that pick subjects by id, so the same data comes out every time.
None of that is timed. Timed: recomputing all communes of the province (and, through the lineage, the 102 communes
of the former Kon Tum) at once, rolling up, and recomputing one commune as the sweep does after a change.
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from time import perf_counter
from typing import Any

import click
from flask_migrate import upgrade
from sqlalchemy import Integer, String, and_, case, cast, event, func, insert, literal, literal_column, null, select
from sqlalchemy.orm import aliased

from courses.models import LearningRecord
from lms.bench import MIGRATIONS, _app_for, _database_name, _prepare, bench
from lms.extensions import db, utcnow
from lms.registry import demo, services
from lms.registry.demo_cli import progress_bar
from lms.registry.models import (
    AdminUnit,
    AssociationMembership,
    Clan,
    Household,
    Organisation,
    Person,
    UnitLevel,
)
from lms.targets import compute
from lms.targets.models import IndicatorSourceValue, IndicatorValue
from lms.targets.plans import load_plans
from lms.titles.models import CriteriaSet, Eligibility, Recognition, Registration

YEAR = 2025
PROVINCE = "51"  # Quảng Ngãi, which took in Kon Tum's communes in 2025


@dataclass
class _Timing:
    seconds: float
    statements: int


@dataclass
class _Outcome:
    database: str
    title_rows: dict[str, int] = field(default_factory=dict)
    communes: int = 0
    counted: int = 0
    indicators: int = 0
    full: _Timing | None = None
    source_rows: int = 0
    value_rows: int = 0
    rollup: _Timing | None = None
    rollup_rows: int = 0
    single: list[float] = field(default_factory=list)
    single_statements: int = 0


@contextmanager
def _counting() -> Iterator[list[int]]:
    counter = [0]

    def count(*_: Any) -> None:
        counter[0] += 1

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _json_list() -> Any:
    """An empty JSON list as a SELECT-list expression (PostgreSQL needs the type said)."""
    if db.engine.dialect.name == "postgresql":
        return literal_column("'[]'::json")
    return literal("[]")


def add_titles(year: int = YEAR) -> dict[str, int]:
    """Eligibility, recognitions, registrations and learning records in bulk, chosen by id (deterministic)."""
    now = utcnow()
    criteria = CriteriaSet(
        code="bench",
        version=1,
        title="family",
        subject_type="household",
        scoring="points",
        status="provisional",
        validity_years=1,
        name="bench",
        source="bench",
        definition={},
        content_sha256="0" * 64,
    )
    db.session.add(criteria)
    db.session.flush()
    village = aliased(AdminUnit)
    home = aliased(AdminUnit)
    person_commune = case((home.level == UnitLevel.VILLAGE.value, home.parent_id), else_=home.id)
    person_village = case((home.level == UnitLevel.VILLAGE.value, home.id), else_=None)
    # (subject_type, title, SELECT id, commune_id, village_id, share eligible in tenths)
    subjects = [
        (
            "person",
            "citizen",
            select(Person.id, person_commune, person_village).join(home, home.id == Person.unit_id),
            4,
        ),
        (
            "household",
            "family",
            select(Household.id, village.parent_id, village.id).join(village, village.id == Household.village_id),
            8,
        ),
        ("clan", "clan", select(Clan.id, Clan.commune_id, cast(null(), Integer)), 7),
        (
            "village",
            "village_community",
            select(AdminUnit.id, AdminUnit.parent_id, AdminUnit.id).where(AdminUnit.level == UnitLevel.VILLAGE.value),
            7,
        ),
        ("organisation", "unit", select(Organisation.id, Organisation.commune_id, cast(null(), Integer)), 8),
    ]
    rows: dict[str, int] = {}
    for subject_type, title, base, tenths in subjects:
        sub = base.subquery()
        subject_id, commune_id, village_id = sub.c
        eligible = select(
            literal(subject_type),
            subject_id,
            literal(title),
            literal(year),
            commune_id,
            village_id,
            literal(criteria.id),
            (subject_id % 10) < tenths,
            literal(""),
            literal(now),
        )
        result = db.session.execute(
            insert(Eligibility).from_select(
                [
                    "subject_type",
                    "subject_id",
                    "title",
                    "year",
                    "commune_id",
                    "village_id",
                    "criteria_set_id",
                    "eligible",
                    "missing",
                    "computed_at",
                ],
                eligible,
            )
        )
        rows[f"eligibility ({subject_type})"] = result.rowcount  # type: ignore[attr-defined]
        # Four in five of the eligible are recognised; the rest wait as proposals.
        recognised = select(
            literal(subject_type),
            subject_id,
            literal(title),
            literal(year),
            commune_id,
            village_id,
            case(((subject_id % 5) == 0, literal("proposed")), else_=literal("recognised")),
            literal(criteria.id),
            _json_list(),
            literal(now),
            literal("bench"),
            literal(""),
            literal(""),
        ).where((subject_id % 10) < tenths)
        result = db.session.execute(
            insert(Recognition).from_select(
                [
                    "subject_type",
                    "subject_id",
                    "title",
                    "year",
                    "commune_id",
                    "village_id",
                    "status",
                    "criteria_set_id",
                    "breakdown",
                    "proposed_at",
                    "decision_number",
                    "authority",
                    "reason",
                ],
                recognised,
            )
        )
        rows[f"recognition ({subject_type})"] = result.rowcount  # type: ignore[attr-defined]
    households = select(Household.id, village.parent_id).join(village, village.id == Household.village_id).subquery()
    result = db.session.execute(
        insert(Registration).from_select(
            ["subject_type", "subject_id", "title", "year", "commune_id", "registered_on"],
            select(
                literal("household"),
                households.c.id,
                literal("family"),
                literal(year),
                households.c.parent_id,
                literal(date(year, 1, 15)),
            ).where((households.c.id % 10) < 9),
        )
    )
    rows["registration (household)"] = result.rowcount  # type: ignore[attr-defined]
    branch = aliased(AdminUnit)
    members = (
        select(
            AssociationMembership.person_id,
            case((branch.level == UnitLevel.VILLAGE.value, branch.parent_id), else_=branch.id).label("commune_id"),
            AssociationMembership.role,
        )
        .join(branch, branch.id == AssociationMembership.unit_id)
        .subquery()
    )
    studied = (
        select(members.c.person_id, func.min(members.c.commune_id).label("commune_id"))
        .where((members.c.person_id % 3) != 0)
        .group_by(members.c.person_id)
        .subquery()
    )
    result = db.session.execute(
        insert(LearningRecord).from_select(
            ["person_id", "year", "kind", "hours", "completed_on", "commune_id", "source_key", "evidence"],
            select(
                studied.c.person_id,
                literal(year),
                literal("policy_study"),
                literal(4),
                literal(date(year, 4, 1)),
                studied.c.commune_id,
                literal("bench:").concat(cast(studied.c.person_id, String)).concat(":policy"),
                literal(""),
            ),
        )
    )
    rows["learning record (policy study)"] = result.rowcount  # type: ignore[attr-defined]
    officers = (
        select(members.c.person_id, func.min(members.c.commune_id).label("commune_id"))
        .where(members.c.role != "member", (members.c.person_id % 2) == 0)
        .group_by(members.c.person_id)
        .subquery()
    )
    written = 0
    for module in ("IU01", "IU02", "IU03", "IU04", "IU05", "IU06"):
        result = db.session.execute(
            insert(LearningRecord).from_select(
                [
                    "person_id",
                    "year",
                    "kind",
                    "module_code",
                    "hours",
                    "completed_on",
                    "commune_id",
                    "source_key",
                    "evidence",
                ],
                select(
                    officers.c.person_id,
                    literal(year),
                    literal("it_module"),
                    literal(module),
                    literal(0),
                    literal(date(year, 6, 1)),
                    officers.c.commune_id,
                    literal("bench:").concat(cast(officers.c.person_id, String)).concat(f":{module}"),
                    literal(""),
                ),
            )
        )
        written += result.rowcount  # type: ignore[attr-defined]
    result = db.session.execute(
        insert(LearningRecord).from_select(
            ["person_id", "year", "kind", "hours", "completed_on", "commune_id", "source_key", "evidence"],
            select(
                officers.c.person_id,
                literal(year),
                literal("activity_organised"),
                literal(0),
                literal(date(year, 10, 5)),
                officers.c.commune_id,
                literal("bench:").concat(cast(officers.c.person_id, String)).concat(":activity"),
                literal(""),
            ).where((officers.c.person_id % 4) == 0),
        )
    )
    rows["learning record (IT modules, activities)"] = written + result.rowcount  # type: ignore[attr-defined]
    db.session.flush()
    return rows


def _count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _run(url: str, repeats: int, scale: str) -> _Outcome:
    with _app_for(url) as app, app.app_context():
        upgrade(directory=str(MIGRATIONS))
        services.load_reference_units()
        db.session.commit()
        plan = demo.plan_demo(demo.DEFAULT_SEED, scale)
        with progress_bar(plan.households, f"{scale}: households") as report:
            demo.load_demo_data(plan, progress=report)
            db.session.commit()
        outcome = _Outcome(_database_name())
        click.echo("adding titles in bulk…", err=True)
        outcome.title_rows = add_titles()
        load_plans()
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")

        province = services.find_unit(PROVINCE, UnitLevel.PROVINCE)
        assert province is not None
        communes = compute.communes_under(province)
        today = date(YEAR, 12, 15)  # the year's last month: year rows and the December row
        click.echo(f"recomputing {len(communes)} communes…", err=True)
        with _counting() as counter:
            started = perf_counter()
            result = compute.recompute(communes, YEAR, today=today)
            db.session.commit()
            outcome.full = _Timing(perf_counter() - started, counter[0])
        outcome.communes, outcome.counted, outcome.indicators = result.communes, result.counted, result.indicators
        outcome.source_rows = _count(IndicatorSourceValue)
        outcome.value_rows = _count(IndicatorValue)
        with _counting() as counter:
            started = perf_counter()
            compute.rollup(YEAR)
            db.session.commit()
            outcome.rollup = _Timing(perf_counter() - started, counter[0])
        outcome.rollup_rows = _count(IndicatorValue) - outcome.value_rows
        busiest = db.session.scalar(select(Household.id).limit(1))
        commune_id = db.session.scalar(
            select(AdminUnit.parent_id)
            .join(Household, Household.village_id == AdminUnit.id)
            .where(and_(Household.id == busiest))
        )
        assert commune_id is not None
        for _ in range(repeats):
            with _counting() as counter:
                started = perf_counter()
                compute.recompute([commune_id], YEAR, today=today)
                compute.rollup_if_needed(YEAR)
                db.session.commit()
                outcome.single.append(perf_counter() - started)
                outcome.single_statements = counter[0]
        db.session.remove()
        db.engine.dispose()
    return outcome


@bench.command("targets")
@click.option(
    "--database-url",
    help="Default: a new SQLite file in a temporary directory. For PostgreSQL, the "
    "schema public of that database is dropped and rebuilt.",
)
@click.option(
    "--repeats",
    type=click.IntRange(1, 50),
    default=5,
    show_default=True,
    help="How many times to time the recomputation of one commune.",
)
@click.option("--scale", type=click.Choice(list(demo.SCALES)), default="province", show_default=True)
@click.option("--yes", is_flag=True, help="Drop the PostgreSQL schema without asking.")
def targets_command(database_url: str | None, repeats: int, scale: str, yes: bool) -> None:
    """Recompute and roll up every indicator of the shipped plans for a province-scale data set; report as
    Markdown (data generation and titles are set up first and not timed)."""
    target = _prepare(database_url, yes)
    try:
        outcome = _run(target.url, repeats, scale)
    finally:
        target.discard()
    assert outcome.full is not None and outcome.rollup is not None  # noqa: PT018 - set by _run
    click.echo(f"\n{outcome.database}; {os.cpu_count()} CPUs, Python {platform.python_version()}.\n")
    click.echo("| Titles added (not timed) | Rows |\n|---|---:|")
    for name, count in outcome.title_rows.items():
        click.echo(f"| {name} | {count:,} |")
    click.echo("\n| Step | Wall time | Statements | Rows written |\n|---|---:|---:|---:|")
    click.echo(
        f"| recompute {outcome.communes} communes ({outcome.counted} counted with their lineage partners), "
        f"{outcome.indicators} indicators × 2 bases × 2 periods | {outcome.full.seconds:.1f} s | "
        f"{outcome.full.statements} | {outcome.source_rows:,} source + {outcome.value_rows:,} commune values |"
    )
    click.echo(
        f"| roll-up (districts, provinces, country; both structures) | {outcome.rollup.seconds:.2f} s | "
        f"{outcome.rollup.statements} | {outcome.rollup_rows:,} |"
    )
    click.echo(
        f"| one commune after a change (recompute + roll-up), median of {len(outcome.single)} | "
        f"{statistics.median(outcome.single):.2f} s | {outcome.single_statements} | |"
    )
