"""Drill: poison work. A mark whose evaluation always raises (here a mark on a village, which the engine refuses
as "not a commune", as a script writing behind the app's back could leave) next to a good commune's mark.

Before the fix the sweep re-sent it every minute, forever, and nothing said so. Now each failure counts an
attempt and waits out a growing backoff; after the limit the mark is parked: the sweep leaves it, ``/healthz``
says degraded, and the good commune is evaluated all along.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from sqlalchemy import delete, select

from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit
from lms.titles.models import Eligibility, EvaluationState
from tests.conftest import make_village, unit_by_code
from tests.integration.conftest import wait_for
from tests.integration.drills import drill_app, report, workers

COMMUNE = "21085"
YEAR = 2032  # no other test evaluates this year
MAX_ATTEMPTS, SWEEP_SECONDS = 3, 2


def test_a_mark_that_always_fails_is_parked_and_does_not_block_the_others(app, database_url, drill_broker, tmp_path):
    drill = drill_app(app, database_url, drill_broker)
    with drill.app_context():
        commune = unit_by_code(COMMUNE)
        village = make_village(commune, f"PZ-{uuid.uuid4().hex[:6]}", "Thôn thử lỗi")
        long_ago = utcnow() - timedelta(minutes=5)  # lost marks: only the sweep sends them
        for unit_id in (village.id, commune.id):
            db.session.add(EvaluationState(commune_id=unit_id, year=YEAR, marked_at=long_ago, summary={}))
        db.session.commit()
        poison, good = (village.id, YEAR), (commune.id, YEAR)
        try:
            env = {
                "LMS_WORK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
                "LMS_WORK_RETRY_BASE_SECONDS": "1",
                "LMS_TITLES_SWEEP_SECONDS": str(SWEEP_SECONDS),
            }
            with workers(drill, database_url, drill_broker, tmp_path, **env):
                started = time.monotonic()

                def parked() -> bool:
                    return db.session.get(EvaluationState, poison).parked_at is not None

                wait_for(parked, seconds=60, what="the poison mark to be parked")
                to_park = time.monotonic() - started
                state = db.session.get(EvaluationState, poison)
                assert state.attempts == MAX_ATTEMPTS
                assert "not a commune" in state.last_error
                good_state = db.session.get(EvaluationState, good)
                assert good_state.marked_at is None
                assert good_state.evaluated_at is not None
                health = drill.test_client().get("/healthz").get_json()
                assert health["status"] == "degraded"
                assert health["checks"]["work"] == {"status": "degraded", "parked": 1}

                # Parked means left alone: several more sweeps send it no more.
                time.sleep(SWEEP_SECONDS * 3)
                db.session.rollback()
                attempts_later = db.session.get(EvaluationState, poison).attempts
                assert attempts_later == MAX_ATTEMPTS
                report(
                    "poison-mark",
                    attempts_before_parked=MAX_ATTEMPTS,
                    seconds_to_park=round(to_park, 1),
                    attempts_after_parked=attempts_later - MAX_ATTEMPTS,
                    other_communes_blocked=0 if good_state.marked_at is None else 1,
                    healthz=health["status"],
                )
        finally:
            db.session.rollback()
            db.session.execute(delete(Eligibility).where(Eligibility.year == YEAR))
            db.session.execute(delete(EvaluationState).where(EvaluationState.year == YEAR))
            db.session.execute(delete(AdminUnit).where(AdminUnit.id == village.id))
            db.session.commit()
            assert db.session.scalar(select(EvaluationState.year).where(EvaluationState.year == YEAR)) is None
