"""A commune's fixed cost (issue 15 item 1): a title with no subject in the commune and no row filed there is not
planned, and a commune without persons groups no records — with the very results of an evaluation that plans every
title (the commune's own row, a village without residents, rows of subjects that left, the summary, the run's
roll-up)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from lms.extensions import db
from lms.registry.models import AdminUnit, Clan, Household, Person
from lms.titles import criteria, engine, runs
from lms.titles.models import (
    Eligibility,
    EligibilityBreakdown,
    EvaluationRun,
    PersonMetric,
    ShareCount,
    Title,
)
from tests.conftest import make_household, make_village, unit_by_code
from tests.titles.test_engine import organisation, person, records

YEAR = 2025
TITLES = [t.value for t in Title]


@pytest.fixture
def commune(app_ctx: Any) -> AdminUnit:
    criteria.load_shipped_criteria()
    return unit_by_code("23293")


def _every_title(commune: engine._Commune, sets: dict[Title, list[Any]]) -> tuple[set[Title], bool]:
    """The evaluation before this change: every title with an active set planned, the records always grouped."""
    return {title for title, rows in sets.items() if rows}, True


def _stored(commune: AdminUnit) -> dict[str, Any]:
    """Everything an evaluation of the commune writes, breakdowns by content (their ids differ between runs)."""
    rows = db.session.execute(
        select(
            Eligibility.subject_type,
            Eligibility.subject_id,
            Eligibility.title,
            Eligibility.commune_id,
            Eligibility.village_id,
            Eligibility.criteria_set_id,
            Eligibility.eligible,
            Eligibility.applicable,
            Eligibility.score,
            Eligibility.level,
            Eligibility.missing,
            Eligibility.inputs_digest,
            EligibilityBreakdown.content,
        )
        .join(EligibilityBreakdown, EligibilityBreakdown.id == Eligibility.breakdown_id)
        .where(Eligibility.year == YEAR)
        .order_by(Eligibility.subject_type, Eligibility.subject_id, Eligibility.title)
    ).all()
    counts = db.session.execute(
        select(ShareCount.__table__).where(ShareCount.year == YEAR).order_by(*ShareCount.__table__.primary_key)
    ).all()
    metrics = db.session.execute(
        select(PersonMetric.__table__).where(PersonMetric.year == YEAR).order_by(*PersonMetric.__table__.primary_key)
    ).all()
    return {
        "rows": [tuple(r) for r in rows],
        "counts": [tuple(r) for r in counts],
        "metrics": [tuple(r) for r in metrics],
    }


def _as_before_and_now(commune: AdminUnit, monkeypatch: Any) -> tuple[Any, Any]:
    """The commune evaluated as before this change (every title planned; rolled back), then as now: each
    evaluation's summary and what it left stored."""
    nested = db.session.begin_nested()
    with monkeypatch.context() as patch:
        patch.setattr(engine, "_present", _every_title)
        before = engine.evaluate_commune(commune.id, YEAR), _stored(commune)
    nested.rollback()
    now = engine.evaluate_commune(commune.id, YEAR), _stored(commune)
    return before, now


def test_an_empty_commune_plans_only_its_own_title(commune: AdminUnit, count_queries: Any) -> None:
    with count_queries() as counter:
        summary = engine.evaluate_commune(commune.id, YEAR)
    assert summary == {
        **{title: {"subjects": 0, "eligible": 0, "changed": 0} for title in TITLES[:-1]},
        "commune_community": {"subjects": 1, "eligible": 0, "changed": 1},
    }
    row = db.session.scalar(select(Eligibility).where(Eligibility.year == YEAR))
    assert (row.subject_type, row.subject_id, row.title) == ("commune", commune.id, "commune_community")
    # The active sets (the commune is in the session already), the look (which titles have subjects or rows here,
    # whether it has persons); then the Learning Community title alone: its assessments, its wide statement (which
    # counts its share of recognised Learning Citizens itself, no longer a counted share: ADR 51), its breakdown
    # (looked up by digest, inserted), its row (on PostgreSQL a COPY, outside the statement events); and the share
    # counts read. No temporary table of metrics, no work_mem, nothing of the five
    # other titles (before: 33 statements on SQLite, each title planned and its subjects gone looked for).
    postgresql = db.engine.dialect.name == "postgresql"
    # The breakdown is inserted only when no earlier evaluation stored the same one (breakdowns are shared and
    # never deleted: a test that committed one before this test makes the insert unnecessary).
    # (On PostgreSQL the new ones take their ids from the sequence, then go by a COPY that is not counted.)
    inserted = [
        s
        for s in counter.statements
        if s.lstrip().startswith("INSERT INTO eligibility_breakdown") or "pg_get_serial_sequence" in s
    ]
    assert len(inserted) <= 1
    assert counter.count - len(inserted) == 2 + 4 + 1 - postgresql, counter.statements
    assert not any("tmp_title_metrics" in s or "set_config" in s for s in counter.statements)


def test_an_empty_commune_gets_the_results_it_got_before(commune: AdminUnit, monkeypatch: Any) -> None:
    before, now = _as_before_and_now(commune, monkeypatch)
    assert now == before
    assert [r[:3] for r in now[1]["rows"]] == [("commune", commune.id, "commune_community")]


def test_a_commune_without_persons_still_evaluates_its_villages_clans_and_organisations(
    commune: AdminUnit, monkeypatch: Any
) -> None:
    """A village without residents gets its row, and so do a clan without households and an organisation without
    members; the records are not grouped (nobody to group), every metric reads as none, as before."""
    village = make_village(commune, "T01", "Thôn 1")
    clan = Clan(commune_id=commune.id, name="Họ Trần")
    db.session.add(clan)
    org = organisation(commune, "UB", "commune", [])
    db.session.flush()
    before, now = _as_before_and_now(commune, monkeypatch)
    assert now == before
    subjects = {(r[0], r[1]) for r in now[1]["rows"]}
    assert subjects == {("commune", commune.id), ("village", village.id), ("clan", clan.id), ("organisation", org.id)}
    summary = now[0]
    assert summary["village_community"]["subjects"] == 1
    assert summary["citizen"] == summary["family"] == {"subjects": 0, "eligible": 0, "changed": 0}
    # A re-run finds every digest unchanged (the metrics read as NULL digest as an empty table's did).
    again = engine.evaluate_commune(commune.id, YEAR)
    assert all(s["changed"] == 0 for s in again.values())


def test_rows_of_subjects_that_left_are_deleted(commune: AdminUnit, monkeypatch: Any) -> None:
    """The commune's only household moves to another commune: its persons' and its own rows filed here go,
    although the commune has no person or household left; the village stays, counted without residents."""
    village = make_village(commune, "T01", "Thôn 1")
    household = make_household(village, "H1", "Nguyễn Văn A", "Trần Thị B")
    people = list(db.session.scalars(select(Person.id).where(Person.household_id == household.id)))
    records(people[:1], commune)
    engine.evaluate_commune(commune.id, YEAR)
    assert {r[0] for r in _stored(commune)["rows"]} == {"commune", "village", "person", "household"}
    assert _stored(commune)["metrics"]

    elsewhere = make_village(unit_by_code("23302"), "T02", "Thôn 2")
    db.session.execute(update(Person).where(Person.id.in_(people)).values(unit_id=elsewhere.id))
    db.session.execute(update(Household).where(Household.id == household.id).values(village_id=elsewhere.id))
    db.session.flush()
    before, now = _as_before_and_now(commune, monkeypatch)
    assert now == before
    assert {r[0] for r in now[1]["rows"]} == {"commune", "village"}
    assert now[0]["citizen"] == {"subjects": 0, "eligible": 0, "changed": 2}
    assert now[0]["family"] == {"subjects": 0, "eligible": 0, "changed": 1}


def test_a_province_run_rolls_up_every_commune(app_ctx: Any) -> None:
    """Most of the test province's communes are empty: each still counts its own Learning Community row, and the
    roll-up names every title, as when every title was planned."""
    criteria.load_shipped_criteria()
    commune = unit_by_code("23293")
    village = make_village(commune, "T01", "Thôn 1")
    resident = person(village, "Nguyễn Văn A")
    records([resident.id], commune, year=2026)
    province = commune.parent
    assert province is not None
    run = runs.start_run(province, 2026)
    db.session.commit()
    db.session.expire_all()
    run = db.session.get(EvaluationRun, run.id)
    assert run is not None
    assert run.done == run.total > 40
    titles = run.summary["titles"]
    assert set(titles) == set(TITLES)
    assert titles["commune_community"]["subjects"] == run.total
    assert titles["citizen"]["subjects"] == 1
    assert titles["village_community"]["subjects"] == 1
    rows = db.session.scalars(select(Eligibility.title).where(Eligibility.year == 2026)).all()
    assert sorted(rows) == sorted(["citizen", "village_community", *["commune_community"] * run.total])
