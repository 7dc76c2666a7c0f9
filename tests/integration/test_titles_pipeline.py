"""Titles on a real Celery worker: a new learning record reaches its eligibility through the outbox, and a
province run goes through the broker, counts every commune once, closes, and changes nothing when run again.

These tests commit for real, in a year no other test uses, on a village of their own, and delete what they made.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from courses.models import LearningRecord
from lms.core.signals import learning_records_changed
from lms.extensions import db
from lms.registry.models import AdminUnit, Household, Person
from lms.titles import runs
from lms.titles.criteria import load_shipped_criteria
from lms.titles.models import (
    CriteriaSet,
    Eligibility,
    EvaluationRun,
    EvaluationRunCommune,
    EvaluationState,
    RunStatus,
)
from tests.conftest import make_household, make_village, unit_by_code
from tests.integration.conftest import wait_for

COMMUNE = "21085"  # Bình Minh (Quảng Ngãi): used by no other test
YEAR = 2031  # no other test evaluates this year


@pytest.fixture
def village(live_app, worker) -> Iterator[dict[str, Any]]:
    with live_app.app_context():
        tag = uuid.uuid4().hex[:6]
        commune = unit_by_code(COMMUNE)
        place = make_village(commune, f"TP-{tag}", f"Thôn {tag}")
        household = make_household(place, f"TP-{tag}", "Y Hơ Niê", "A Blúp")
        criteria_before = set(db.session.scalars(select(CriteriaSet.id)))
        load_shipped_criteria()
        db.session.commit()
        made = {
            "commune_id": commune.id,
            "village_id": place.id,
            "household_id": household.id,
            "person_ids": [p.id for p in household.members],
            "province_id": commune.parent_id,
            "criteria_before": criteria_before,
        }
    try:
        yield made
    finally:
        with live_app.app_context():
            _cleanup(made)


def _cleanup(made: dict[str, Any]) -> None:
    db.session.rollback()
    run_ids = select(EvaluationRun.id).where(EvaluationRun.year == YEAR)
    for statement in (
        delete(EvaluationRunCommune).where(EvaluationRunCommune.run_id.in_(run_ids)),
        delete(EvaluationRun).where(EvaluationRun.year == YEAR),
        delete(Eligibility).where(Eligibility.year == YEAR),
        delete(EvaluationState).where(EvaluationState.year == YEAR),
        delete(LearningRecord).where(LearningRecord.person_id.in_(made["person_ids"])),
        delete(Person).where(Person.id.in_(made["person_ids"])),
        delete(Household).where(Household.id == made["household_id"]),
        delete(AdminUnit).where(AdminUnit.id == made["village_id"]),
    ):
        db.session.execute(statement)
    db.session.execute(delete(CriteriaSet).where(CriteriaSet.id.not_in(made["criteria_before"] or {0})))
    db.session.commit()


def _learn(person_id: int, commune_id: int, hours: int, label: str) -> None:
    """What courses does on a completion: write the record and announce it (titles marks the commune-year)."""
    db.session.add(
        LearningRecord(
            person_id=person_id,
            year=YEAR,
            kind="class_completion",
            category="literacy",
            hours=Decimal(hours),
            completed_on=date(YEAR, 3, 1),
            commune_id=commune_id,
            source_key=f"titles-pipeline:{label}:{uuid.uuid4().hex}",
        )
    )
    learning_records_changed.send(None, pairs={(commune_id, YEAR)})
    db.session.commit()


def _state(commune_id: int) -> EvaluationState | None:
    return db.session.get(EvaluationState, (commune_id, YEAR))


def test_a_new_learning_record_is_evaluated_by_the_worker(live_app, worker, village):
    with live_app.app_context():
        commune_id = village["commune_id"]
        sent = time.monotonic()
        _learn(village["person_ids"][0], commune_id, 40, "first")
        state = _state(commune_id)
        assert state is not None
        assert state.marked_at is not None  # the outbox committed with the record

        def evaluated() -> bool:
            state = _state(commune_id)
            return state is not None and state.marked_at is None and state.evaluated_at is not None

        wait_for(evaluated, seconds=30, what="the worker to evaluate the marked commune-year")
        assert time.monotonic() - sent < 30
        state = _state(commune_id)
        assert state is not None
        assert state.summary["citizen"]["subjects"] >= 2
        rows = db.session.scalar(
            select(func.count())
            .select_from(Eligibility)
            .where(
                Eligibility.year == YEAR,
                Eligibility.subject_type == "person",
                Eligibility.title == "citizen",
                Eligibility.subject_id.in_(village["person_ids"]),
            )
        )
        assert rows == 2  # one row per person and title


def test_a_province_run_on_the_worker_closes_and_a_rerun_changes_nothing(live_app, worker, village):
    with live_app.app_context():
        province = db.session.get(AdminUnit, village["province_id"])
        assert province is not None
        _learn(village["person_ids"][1], village["commune_id"], 12, "run")
        total = len(db.session.scalars(runs.communes_under(province)).all())
        results = []
        for _ in range(2):
            run = runs.start_run(province, YEAR)
            db.session.commit()
            run_id = run.id

            def closed(run_id: int = run_id) -> bool:
                db.session.expire_all()
                current = db.session.get(EvaluationRun, run_id)
                return current is not None and current.status in runs.FINISHED

            wait_for(closed, seconds=180, what=f"run #{run_id} to close")
            db.session.expire_all()
            done = db.session.get(EvaluationRun, run_id)
            assert done is not None
            results.append(done)
            assert (done.status, done.total, done.done, done.failed) == (RunStatus.DONE, total, total, 0), done.message
            assert (
                db.session.scalar(
                    select(func.count()).select_from(EvaluationRunCommune).where(EvaluationRunCommune.run_id == run_id)
                )
                == total
            )
        first, second = results
        assert second.summary["changed"] == 0  # idempotent: the same inputs, the same eligibility
        assert second.summary["drift"] == 0
        assert second.summary["titles"] == {t: {**c, "changed": 0} for t, c in first.summary["titles"].items()}
