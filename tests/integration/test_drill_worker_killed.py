"""Drill: a worker is killed with SIGKILL in the middle of a province run, at the default settings.

The commune it was evaluating is neither acknowledged nor rejected. Redis would hand the message to another worker
only after the visibility timeout (kombu's default was an hour; now ``LMS_BROKER_VISIBILITY_TIMEOUT``, 300 s), and
the titles sweep's stall rule re-sent it after ten minutes. The stall rule is now a setting
(``LMS_TITLES_STALL_SECONDS``, 60 s): the killed worker's commune is evaluated again within two minutes. The drill
measures how long, from the kill to the run closed with every commune counted once.
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
from tests.integration.drills import drill_app, report, workers

COMMUNE = "21085"  # its province has 96 communes
YEAR = 2033  # no other test evaluates this year


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
    with drill.app_context():
        province = db.session.get(AdminUnit, unit_by_code(COMMUNE).parent_id)
        assert province is not None
        total = len(db.session.scalars(runs.communes_under(province)).all())
        try:
            with workers(drill, database_url, drill_broker, tmp_path, count=2) as (_, victim):
                run_id = runs.start_run(province, YEAR).id
                db.session.commit()

                def counted() -> int:
                    return db.session.scalar(
                        select(func.count())
                        .select_from(EvaluationRunCommune)
                        .where(EvaluationRunCommune.run_id == run_id)
                    )

                task = "titles.evaluate_commune_in_run"
                wait_for(lambda: victim.in_flight(task) > 0, seconds=90, what="the victim to be evaluating a commune")
                victim.kill()
                killed = time.monotonic()
                at_kill = counted()

                def closed() -> bool:
                    return db.session.get(EvaluationRun, run_id).status in runs.FINISHED

                wait_for(closed, seconds=200, what=f"run #{run_id} to close after a worker was killed")
                recovered = time.monotonic() - killed
                run = db.session.get(EvaluationRun, run_id)
                rows = counted()
                report(
                    "worker-killed",
                    communes=total,
                    counted_at_kill=at_kill,
                    done=run.done,
                    failed=run.failed,
                    lost=total - rows,
                    duplicated=run.done + run.failed - rows,
                    resumed="resumed_at" in (run.summary or {}),
                    recover_seconds=round(recovered, 1),
                    stall_seconds=int(drill.config["TITLES_STALL_AGE"].total_seconds()),
                )
                assert at_kill < total, "the run finished before the kill: the drill tested nothing"
                # Whether the stall rule had to resume the run depends on the instant of the kill: a victim killed
                # after its commune's row was committed (most of a commune task's time, now that an evaluation is
                # quick) left nothing to resume. Either way, nothing is lost or counted twice, within two minutes.
                assert (run.status, run.done, run.failed, rows) == (RunStatus.DONE, total, 0, total)
                assert recovered < 120, f"recovered in {recovered:.0f} s"
        finally:
            _cleanup()
