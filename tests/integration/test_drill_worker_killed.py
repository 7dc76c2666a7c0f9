"""Drill: a worker is killed with SIGKILL in the middle of evaluating a commune of a province run, at the default
settings.

The victim runs ``tests.integration.drill_worker``: it evaluates the first commune it takes, then holds, its rows
uncommitted and its message unacknowledged, until the drill kills it — so the kill lands mid-evaluation every time.
Redis hands an unacknowledged message to another worker only after the visibility timeout
(``LMS_BROKER_VISIBILITY_TIMEOUT``, 300 s; kombu's default is an hour), so what brings the commune back is the titles
sweep's stall rule (``LMS_TITLES_STALL_SECONDS``, 60 s; it was ten minutes): the killed worker's commune is
evaluated again within two minutes of the kill. On RabbitMQ the broker requeues the message as soon as the killed
consumer's connection closes. Either way the run closes with every commune counted once.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, func, select

from lms.extensions import db
from lms.registry.models import AdminUnit
from lms.titles import runs
from lms.titles.models import Eligibility, EvaluationRun, EvaluationRunCommune, EvaluationState, RunStatus
from tests.conftest import unit_by_code
from tests.integration.conftest import wait_for
from tests.integration.drills import BROKER, Worker, drill_app, report, workers

COMMUNE = "21085"  # its province has 96 communes
YEAR = 2033  # no other test evaluates this year
WITHIN_SECONDS = 120  # docs/reliability.md: a killed worker's commune is evaluated again within two minutes


def _cleanup() -> None:
    db.session.rollback()
    run_ids = select(EvaluationRun.id).where(EvaluationRun.year == YEAR)
    db.session.execute(delete(EvaluationRunCommune).where(EvaluationRunCommune.run_id.in_(run_ids)))
    db.session.execute(delete(EvaluationRun).where(EvaluationRun.year == YEAR))
    db.session.execute(delete(Eligibility).where(Eligibility.year == YEAR))
    db.session.execute(delete(EvaluationState).where(EvaluationState.year == YEAR))
    db.session.commit()


def test_a_killed_workers_commune_is_evaluated_again_within_two_minutes(app, database_url, drill_broker, tmp_path):
    drill = drill_app(app, database_url, drill_broker)
    hold = tmp_path / "held-commune"
    with drill.app_context():
        province = db.session.get(AdminUnit, unit_by_code(COMMUNE).parent_id)
        assert province is not None
        total = len(db.session.scalars(runs.communes_under(province)).all())
        victim = Worker(drill, database_url, drill_broker, tmp_path, "victim", LMS_DRILL_HOLD_FILE=str(hold))
        try:
            victim.start(app="tests.integration.drill_worker")  # starting while the other one starts
            with workers(drill, database_url, drill_broker, tmp_path):
                victim.wait_ready()
                run_id = runs.start_run(province, YEAR).id
                db.session.commit()

                def counted() -> int:
                    return db.session.scalar(
                        select(func.count())
                        .select_from(EvaluationRunCommune)
                        .where(EvaluationRunCommune.run_id == run_id)
                    )

                wait_for(hold.exists, seconds=90, what="the victim to be evaluating a commune")
                held = int(hold.read_text())
                victim.kill()
                killed = time.monotonic()
                at_kill = counted()

                def held_counted() -> bool:
                    return (
                        db.session.scalar(
                            select(func.count())
                            .select_from(EvaluationRunCommune)
                            .where(EvaluationRunCommune.run_id == run_id, EvaluationRunCommune.commune_id == held)
                        )
                        == 1
                    )

                wait_for(held_counted, seconds=WITHIN_SECONDS + 60, what=f"commune {held} to be evaluated again")
                again = time.monotonic() - killed

                def closed() -> bool:
                    return db.session.get(EvaluationRun, run_id).status in runs.FINISHED

                wait_for(closed, seconds=60, what=f"run #{run_id} to close")
                recovered = time.monotonic() - killed
                run = db.session.get(EvaluationRun, run_id)
                rows = counted()
                resumed = "resumed_at" in (run.summary or {})
                report(
                    "worker-killed",
                    communes=total,
                    counted_at_kill=at_kill,
                    done=run.done,
                    failed=run.failed,
                    lost=total - rows,
                    duplicated=run.done + run.failed - rows,
                    resumed=resumed,
                    killed_commune_again_seconds=round(again, 1),
                    recover_seconds=round(recovered, 1),
                    stall_seconds=int(drill.config["TITLES_STALL_AGE"].total_seconds()),
                )
                assert at_kill < total
                assert (run.status, run.done, run.failed, rows) == (RunStatus.DONE, total, 0, total)
                assert again < WITHIN_SECONDS, f"the killed worker's commune came back after {again:.0f} s"
                if BROKER["name"] == "redis":
                    # Redis keeps the message for its visibility timeout (300 s): the stall rule brought it back.
                    assert resumed
        finally:
            victim.stop()
            _cleanup()
