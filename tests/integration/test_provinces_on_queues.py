"""Two provinces evaluated on two worker processes, each consuming only its province's queue, against one database,
give the same eligibility as one worker evaluating both (docs/scaling.md: queues per province and kind of work).

The test commits for real, in a year no other test uses, on villages of its own in the two provinces with the fewest
communes (Lai Châu, Huế), and deletes what it made. Every current commune of both provinces is evaluated.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from courses.models import LearningRecord
from lms.core.models import Heartbeat
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit, Household, Person, UnitLevel
from lms.titles import runs
from lms.titles.criteria import load_shipped_criteria
from lms.titles.models import CriteriaSet, Eligibility, EvaluationState
from tests.conftest import make_household, make_village, unit_by_code
from tests.integration.conftest import ROOT, WAIT_SECONDS, wait_for

PROVINCES = ("12", "46")  # Lai Châu (38 communes), Huế (40)
YEAR = 2035  # no other test evaluates this year
HOURS = (40, 12, 0)  # per member of each test household: results that differ

# Two worker processes on one database need PostgreSQL: the SQLite run deselects it (make test-sqlite), never skips.
pytestmark = pytest.mark.postgresql


@pytest.fixture
def provinces(live_app: Flask) -> Iterator[dict[str, Any]]:
    """A village with one household of three learners in the first commune of each province; the communes of both."""
    with live_app.app_context():
        tag = uuid.uuid4().hex[:6]
        made: dict[str, Any] = {"villages": [], "households": [], "persons": [], "communes": {}}
        made["criteria_before"] = set(db.session.scalars(select(CriteriaSet.id)))
        load_shipped_criteria()
        for code in PROVINCES:
            province = unit_by_code(code, UnitLevel.PROVINCE)
            communes = list(db.session.scalars(runs.communes_under(province)))
            made["communes"][code] = communes
            commune = db.session.get_one(AdminUnit, communes[0])
            village = make_village(commune, f"PQ-{code}-{tag}", f"Thôn {tag}")
            household = make_household(village, f"PQ-{tag}", "Lò Văn Pấu", "Lò Thị Xoan", "Quàng Văn Hặc")
            made["villages"].append(village.id)
            made["households"].append(household.id)
            for member, hours in zip(household.members, HOURS, strict=True):
                made["persons"].append(member.id)
                if hours:
                    db.session.add(
                        LearningRecord(
                            person_id=member.id,
                            year=YEAR,
                            kind="class_completion",
                            category="literacy",
                            hours=Decimal(hours),
                            completed_on=date(YEAR, 3, 1),
                            commune_id=commune.id,
                            source_key=f"provinces-on-queues:{tag}:{member.id}",
                        )
                    )
        db.session.commit()
    try:
        yield made
    finally:
        with live_app.app_context():
            _cleanup(made)


def _cleanup(made: dict[str, Any]) -> None:
    db.session.rollback()
    for statement in (
        delete(Eligibility).where(Eligibility.year == YEAR),
        delete(EvaluationState).where(EvaluationState.year == YEAR),
        delete(LearningRecord).where(LearningRecord.person_id.in_(made["persons"])),
        delete(Person).where(Person.id.in_(made["persons"])),
        delete(Household).where(Household.id.in_(made["households"])),
        delete(AdminUnit).where(AdminUnit.id.in_(made["villages"])),
        delete(CriteriaSet).where(CriteriaSet.id.not_in(made["criteria_before"] or {0})),
    ):
        db.session.execute(statement)
    db.session.commit()


@contextmanager
def _worker(app: Flask, database_url: str, broker_url: str, queues: list[str], log: Path) -> Iterator[Path]:
    """A Celery worker process consuming only ``queues`` (as ``celery worker --queues``), until the block ends."""
    env = {
        **os.environ,
        "LMS_ENV": "development",
        "LMS_INSTANCE_PATH": str(log.parent),
        "LMS_DATABASE_URL": database_url,
        "LMS_BROKER_URL": broker_url,
        "LMS_RESULT_BACKEND": "",
        "LMS_SECRET_KEY": app.config["SECRET_KEY"],
        "LMS_PII_KEY": app.config["PII_KEY"],
    }
    command = [sys.executable, "-m", "celery", "-A", "lms.worker", "worker", "--pool", "solo", "--loglevel", "INFO"]
    command += ["--without-gossip", "--without-mingle", "--hostname", f"{log.stem}@%h", "--queues", ",".join(queues)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_alive(app, process, queues[0], log)
        yield log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_alive(app: Flask, process: subprocess.Popen, queue: str, log: Path) -> None:
    """The heartbeat task, sent to the worker's own queue, has run: the worker consumes that queue."""
    heartbeat = app.extensions["celery"].tasks["lms.core.heartbeat"]
    db.session.execute(delete(Heartbeat))
    db.session.commit()
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the Celery worker exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        heartbeat.apply_async(queue=queue)
        time.sleep(0.5)
        alive = db.session.get(Heartbeat, "worker") is not None
        db.session.rollback()
        if alive:
            return
    pytest.fail(f"the Celery worker did not answer within {WAIT_SECONDS}s:\n{log.read_text()[-3000:]}")


def _evaluate(app: Flask, communes: dict[str, list[int]], queue_of: dict[str, str]) -> list[tuple[Any, ...]]:
    """Mark every commune-year of both provinces, send each commune's evaluation to its province's queue, wait until
    all are evaluated, and return the year's eligibility rows (what a result is, without ids and times)."""
    every = [commune for ids in communes.values() for commune in ids]
    db.session.execute(delete(Eligibility).where(Eligibility.year == YEAR))
    db.session.execute(delete(EvaluationState).where(EvaluationState.year == YEAR))
    now = utcnow()
    db.session.add_all(EvaluationState(commune_id=c, year=YEAR, marked_at=now, summary={}) for c in every)
    db.session.commit()
    celery = app.extensions["celery"]
    for code, ids in communes.items():
        for commune_id in ids:
            celery.send_task(
                "titles.evaluate_commune", kwargs={"commune_id": commune_id, "year": YEAR}, queue=queue_of[code]
            )

    def evaluated() -> bool:
        pending = db.session.scalars(
            select(EvaluationState.commune_id).where(
                EvaluationState.year == YEAR,
                EvaluationState.commune_id.in_(every),
                (EvaluationState.marked_at.is_not(None)) | (EvaluationState.evaluated_at.is_(None)),
            )
        ).all()
        return not pending

    # 78 communes on two workers: about 20 s on a quiet machine; twice the usual wait leaves room for a loaded one.
    wait_for(evaluated, seconds=2 * WAIT_SECONDS, what=f"the evaluation of {len(every)} communes")
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
        ).where(Eligibility.year == YEAR)
    ).all()
    db.session.rollback()
    return sorted(tuple(row) for row in rows)


def _tasks_done(log: Path) -> int:
    return sum("titles.evaluate_commune[" in line and "succeeded" in line for line in log.read_text().splitlines())


def test_two_provinces_on_two_workers_with_their_own_queues_equal_one_worker(
    live_app, provinces, database_url, broker_url, tmp_path
):
    tag = uuid.uuid4().hex[:6]
    queue_of = {code: f"lms-test-titles-{code}-{tag}" for code in PROVINCES}
    communes = provinces["communes"]
    with live_app.app_context():
        with (
            _worker(live_app, database_url, broker_url, [queue_of["12"]], tmp_path / "lai-chau.log") as first,
            _worker(live_app, database_url, broker_url, [queue_of["46"]], tmp_path / "hue.log") as second,
        ):
            apart = _evaluate(live_app, communes, queue_of)
        # Each worker evaluated its own province's communes, and only those.
        assert (_tasks_done(first), _tasks_done(second)) == (len(communes["12"]), len(communes["46"]))

        with _worker(live_app, database_url, broker_url, list(queue_of.values()), tmp_path / "alone.log") as alone:
            together = _evaluate(live_app, communes, queue_of)
        assert _tasks_done(alone) == len(communes["12"]) + len(communes["46"])

    assert apart == together
    persons = [row for row in apart if row[0] == "person" and row[1] in provinces["persons"]]
    assert len({row[1] for row in persons}) == len(provinces["persons"])  # every test learner was evaluated
    assert {row[3] for row in apart} >= {ids[0] for ids in communes.values()}  # in both provinces
    assert len({row[6:] for row in persons}) > 1  # results follow each learner's hours: the records were read
