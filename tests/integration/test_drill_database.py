"""Drill: the database goes away in the middle of a province run, then comes back.

Before the fix, ``evaluate_commune_in_run`` read the run outside its ``try`` with no retry, and counting the
failure raised in turn: communes were dropped (65 of 96 in the first drill) and the run never closed. Now every
commune's task retries with backoff and jitter, so the run completes with every commune evaluated and none failed,
with nobody touching anything.

Everything here is the drill's own: a PostgreSQL cluster (initdb) and a redis-server on free ports.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import func, select

from lms.extensions import db
from lms.registry import services as registry
from lms.registry.models import AdminUnit, UnitLevel
from lms.titles import runs
from lms.titles.criteria import load_shipped_criteria
from lms.titles.models import EvaluationRun, EvaluationRunCommune, RunStatus
from tests.integration.conftest import wait_for
from tests.integration.drills import PG_BIN, PostgresCluster, drill_app, report, workers

COMMUNE = "21085"  # its province (Quảng Ngãi) has 96 communes
YEAR = 2026
OUTAGE_SECONDS = 45  # as in the drill of the issue
RECOVER_SECONDS = 150  # the stated time: the longest retry backoff (30 s) plus evaluating what is left


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    if not (PG_BIN / "initdb").exists():
        pytest.fail(f"the database drill needs PostgreSQL's server binaries in {PG_BIN}")
    cluster = PostgresCluster()
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.destroy()


def test_database_down_mid_run_the_run_still_evaluates_every_commune(app, own_postgres, drill_broker, tmp_path):
    drill = drill_app(app, own_postgres.url, drill_broker)
    with drill.app_context():
        upgrade(directory=str(Path(drill.root_path).parent / "migrations"))
        registry.load_reference_units()
        load_shipped_criteria()
        db.session.commit()
        commune = registry.find_unit(COMMUNE, UnitLevel.COMMUNE)
        assert commune is not None
        province = db.session.get(AdminUnit, commune.parent_id)
        assert province is not None
        total = len(db.session.scalars(runs.communes_under(province)).all())

        with workers(drill, own_postgres.url, drill_broker, tmp_path, count=2):
            run_id = runs.start_run(province, YEAR).id
            db.session.commit()

            def started() -> bool:
                run = db.session.get(EvaluationRun, run_id)
                return run is not None and run.status == RunStatus.RUNNING and run.done >= 1

            wait_for(started, seconds=90, what="the run to start evaluating")
            done_at_stop = db.session.scalar(select(EvaluationRun.done).where(EvaluationRun.id == run_id))
            db.session.rollback()
            db.session.close()
            own_postgres.stop()
            time.sleep(OUTAGE_SECONDS)
            own_postgres.start()
            returned = time.monotonic()

            def closed() -> bool:
                return db.session.get(EvaluationRun, run_id).status in runs.FINISHED

            wait_for(closed, seconds=RECOVER_SECONDS + 30, what=f"run #{run_id} to close after the database returned")
            recovered = time.monotonic() - returned
            run = db.session.get(EvaluationRun, run_id)
            counted = db.session.scalar(
                select(func.count()).select_from(EvaluationRunCommune).where(EvaluationRunCommune.run_id == run_id)
            )
            report(
                "database-down-mid-run",
                communes=total,
                done=run.done,
                failed=run.failed,
                lost=total - counted,
                duplicated=run.done + run.failed - counted,
                done_when_stopped=done_at_stop,
                outage_seconds=OUTAGE_SECONDS,
                recover_seconds=round(recovered, 1),
            )
            assert done_at_stop < total, "the run finished before the database stopped: the drill tested nothing"
            assert (run.status, run.done, run.failed, counted) == (RunStatus.DONE, total, 0, total)
            assert recovered < RECOVER_SECONDS, f"the run closed {recovered:.0f} s after the database returned"
