"""Worked examples written by hand from Circulars 24/2023 and 25/2023: each test names the article and clause it
checks, at the bar, just below it, with fractional values between levels, at the lower bars of a commune in a
difficult area, and with residents whose birth date is unknown."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from lms.extensions import db
from lms.registry.models import AdminUnit, Organisation, Person
from lms.titles import criteria, engine, runs
from lms.titles.models import EvaluationRun, EvaluationState
from tests.conftest import make_village, unit_by_code
from tests.titles.test_engine import (
    COMMUNE_ASSESSED,
    SIMPLE_CITIZEN,
    UNIT_ASSESSED,
    YEAR,
    assess,
    bulk_persons,
    eligibility,
    item,
    load_set,
    organisation,
    person,
    records,
)


@pytest.fixture
def commune(app_ctx: Any) -> AdminUnit:
    criteria.load_shipped_criteria()
    return unit_by_code("23293")


# --- Circular 24/2023: a unit's percentages between two levels ----------------------------------------------------


def unit_with(commune: AdminUnit, **values: Any) -> Organisation:
    """A district-managed organisation (Circular 24, Art. 2.3) of ten members who are all Learning Citizens, with
    every indicator assessed at level 2 unless ``values`` says otherwise."""
    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    members = [person(village, f"Cán bộ {n}") for n in range(10)]
    records([m.id for m in members], commune)
    org = organisation(commune, "PGD", "district", members)
    given = {code.replace("_", "."): value for code, value in values.items()}
    for code, value in {**UNIT_ASSESSED, "t2.3": 96, **given}.items():
        assess("organisation", org.id, code, value, commune, evidence="hồ sơ")
    return org


def test_tt24_art6_2a_art7_2a_92_5_per_cent_between_90_and_95_is_level_1(commune: AdminUnit) -> None:
    """Circular 24, Art. 6.2.a (≥ 90 %) and Art. 7.2.a (≥ 95 %): 92.5 % meets level 1, not level 2 — and the
    commune's evaluation completes (it raised AttributeError before)."""
    org = unit_with(commune, t2_1="92.5")
    summary = engine.evaluate_commune(commune.id, YEAR)
    assert "failed" not in summary["unit"]
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 1
    t21 = item(row, "t2.1")
    assert t21["value"] == 92.5
    assert t21["levels"] == [1]
    assert t21["missing"] == {"code": "assessed_below", "value": 92.5, "at_least": 95, "level": 2}


def test_tt24_art6_2a_89_99_per_cent_is_just_below_level_1(commune: AdminUnit) -> None:
    """Circular 24, Art. 6.2.a: "tối thiểu 90 %": 89.99 % is not met; 90 % exactly is."""
    org = unit_with(commune, t2_1="89.99")
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 0
    assert item(row, "t2.1")["missing"] == {"code": "assessed_below", "value": 89.99, "at_least": 90, "level": 1}


def test_tt24_art6_2a_exactly_90_per_cent_is_level_1(commune: AdminUnit) -> None:
    """Circular 24, Art. 6.2.a: the bar itself is met ("tối thiểu")."""
    org = unit_with(commune, t2_1=90)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 1


# --- Circular 25/2023: a commune's percentage just under the bar ---------------------------------------------------


def commune_ready(commune: AdminUnit, *, citizens: int = 70, residents: int = 100, trained: Any = 65) -> None:
    """A commune whose every assessed indicator is met at both levels; ``citizens`` of ``residents`` (adults with
    a birth date) are Learning Citizens; ``trained`` per cent of its citizens have a vocational qualification."""
    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    ids = bulk_persons(village, residents)
    records(ids[:citizens], commune)
    for code in COMMUNE_ASSESSED:
        assess("commune", commune.id, code, 1, commune)
    assess("commune", commune.id, "t5.2", trained, commune)
    assess("commune", commune.id, "t5.2u", 16, commune)


def test_tt25_art6_5b_59_99_per_cent_trained_is_below_the_60_per_cent_level_2_bar(commune: AdminUnit) -> None:
    """Circular 25, Art. 7.5.b: at least 60 % trained for level 2; 59.99 % is level 1 (Art. 6.5.b: 50 %), and the
    evaluation completes (it raised AttributeError before)."""
    commune_ready(commune, citizens=85, trained="59.99")
    summary = engine.evaluate_commune(commune.id, YEAR)
    assert "failed" not in summary["commune_community"]
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    assert row.level == 1
    t52 = item(row, "t5.2")
    assert t52["levels"] == [1]
    assert t52["missing"] == {"code": "assessed_below", "value": 59.99, "at_least": 60, "level": 2}


def test_tt25_art6_5a_59_99_per_cent_of_citizens_is_below_the_60_per_cent_bar(commune: AdminUnit) -> None:
    """Circular 25, Art. 6.5.a: "ít nhất 60 %": 5,999 of 10,000 citizens is 59.99 %, not met; one more is."""
    commune_ready(commune, citizens=5999, residents=10000)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    assert row.level == 0
    t51 = item(row, "t5.1")
    assert t51["value"] == 59.99
    assert t51["missing"]["need"] == 1


# --- one bad subject does not sink the commune ----------------------------------------------------------------------


def test_a_subject_that_cannot_be_scored_is_recorded_and_the_rest_is_written(
    commune: AdminUnit, monkeypatch: pytest.MonkeyPatch, app: Any, client: Any
) -> None:
    """A fault while scoring one person (injected: every value type is handled, see test_engine_properties) leaves
    that person's previous row, writes every other subject and every other title, and the run page names the
    subject, the indicator and the error."""
    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    good, bad = person(village, "Người tốt"), person(village, "Người lỗi", born=date(1970, 1, 1))
    records([good.id], commune)
    records([bad.id], commune, each=2)  # other inputs than the good one's: scored on its own, not from the cache
    original = engine._Scorer._inputs

    def failing(self: Any, indicator: Any, row: Any, columns: Any, assessed: Any) -> Any:
        if getattr(row, "subject_id", None) == bad.id:
            raise ZeroDivisionError("injected")
        return original(self, indicator, row, columns, assessed)

    monkeypatch.setattr(engine._Scorer, "_inputs", failing)
    unit = db.session.get(AdminUnit, commune.id)
    assert unit is not None
    run = runs.start_run(unit, YEAR)
    db.session.flush()
    runs.launch(run.id)
    outcome = runs.evaluate_locked(commune.id, YEAR, force=True)
    assert runs.record(run.id, commune.id, outcome)
    assert runs.close_if_complete(run.id), (run.status, run.total, run.done)
    db.session.flush()
    monkeypatch.setattr(engine._Scorer, "_inputs", original)

    assert eligibility("person", good.id, "citizen").eligible  # type: ignore[union-attr]
    assert eligibility("person", bad.id, "citizen") is None
    assert eligibility("commune", commune.id, "commune_community") is not None
    citizen = outcome.summary["citizen"]
    assert citizen["failed"] == 1
    assert citizen["failures"] == [
        {"subject_type": "person", "subject_id": bad.id, "indicator": "c1", "error": "ZeroDivisionError: injected"}
    ]
    state = db.session.scalar(select(EvaluationState).where(EvaluationState.commune_id == commune.id))
    assert state is not None
    assert state.summary["citizen"]["failed"] == 1
    db.session.flush()
    db.session.expire_all()
    closed = db.session.get(EvaluationRun, run.id)
    assert closed is not None
    assert closed.status == "done"
    assert closed.summary["failed_subjects"] == 1
    assert "1 subjects could not be evaluated" in closed.message
    assert runs.subject_failures(closed) == [
        {
            "commune_id": commune.id,
            "title": "citizen",
            "subject_type": "person",
            "subject_id": bad.id,
            "indicator": "c1",
            "error": "ZeroDivisionError: injected",
        }
    ]


def test_the_run_page_lists_the_subjects_that_failed(commune: AdminUnit, client: Any) -> None:
    """The run page shows each subject the engine could not score, with its indicator and error."""
    from lms.auth.models import Role
    from tests.conftest import login, make_user

    unit = db.session.get(AdminUnit, commune.id)
    assert unit is not None
    run = runs.start_run(unit, YEAR)
    db.session.flush()
    runs.launch(run.id)
    bad = db.session.scalar(select(Person.id).limit(1)) or 1
    summary = {
        "citizen": {
            "subjects": 2,
            "eligible": 1,
            "changed": 1,
            "failed": 1,
            "failures": [
                {"subject_type": "person", "subject_id": bad, "indicator": "c1", "error": "ValueError: broken"}
            ],
        }
    }
    db.session.add(EvaluationState(commune_id=commune.id, year=YEAR, summary=summary))
    db.session.flush()
    runs.record(run.id, commune.id, runs.Outcome(evaluated=True, summary=summary))
    runs.close_if_complete(run.id)
    user = make_user(Role.ADMINISTRATOR, unit)
    login(client, user)
    page = client.get(f"/titles/runs/{run.id}").get_data(as_text=True)
    assert 'id="subject-failures"' in page
    assert "ValueError: broken" in page
    assert f"#{bad}" in page
    assert "c1" in page
