"""Drill: eligibility rows changed behind the app's back, found and repaired by reconciliation on a real worker.

A learning record reaches its eligibility through the outbox and the worker; then two rows are changed directly in
SQL, their inputs' digest kept (as a hand-made fix or a faulty script would leave them): so only recomputing and
comparing the stored result finds them. ``flask titles reconcile`` (what cron runs) sends the reconciliation to the
worker, waits, and exits 1 because it found drift; the rows are rewritten, each with an ``eligibility.repaired``
audit event holding both values, the rows nobody touched are left alone, and a second run finds nothing (exit 0).
"""

from __future__ import annotations

import time
import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select, update

from courses.models import LearningRecord
from lms.core.models import AuditEvent
from lms.core.signals import learning_records_changed
from lms.extensions import db
from lms.registry.models import AdminUnit, Household, Person
from lms.titles.criteria import load_shipped_criteria
from lms.titles.models import CriteriaSet, Eligibility, EvaluationRun, EvaluationRunCommune, EvaluationState
from tests.conftest import make_household, make_village, unit_by_code
from tests.integration.conftest import wait_for
from tests.integration.drills import drill_app, report, workers

COMMUNE = "21085"
YEAR = 2034  # no other test evaluates this year


def _rows(person_ids: list[int]) -> dict[int, Eligibility]:
    db.session.expire_all()
    found = db.session.scalars(
        select(Eligibility).where(
            Eligibility.year == YEAR, Eligibility.subject_type == "person", Eligibility.subject_id.in_(person_ids)
        )
    ).all()
    return {row.id: row for row in found}


def test_rows_changed_behind_the_apps_back_are_repaired_audited_and_fail_the_command(
    app, database_url, drill_broker, tmp_path
):
    drill = drill_app(app, database_url, drill_broker)
    with drill.app_context():
        tag = uuid.uuid4().hex[:6]
        commune = unit_by_code(COMMUNE)
        village = make_village(commune, f"RD-{tag}", f"Thôn {tag}")
        household = make_household(village, f"RD-{tag}", "Y Hơ Niê", "A Blúp")
        person_ids = [p.id for p in household.members]
        criteria_before = set(db.session.scalars(select(CriteriaSet.id)))
        load_shipped_criteria()
        db.session.commit()
        try:
            with workers(drill, database_url, drill_broker, tmp_path):
                for person_id, hours in zip(person_ids, (40, 4), strict=True):
                    db.session.add(
                        LearningRecord(
                            person_id=person_id,
                            year=YEAR,
                            kind="class_completion",
                            category="literacy",
                            hours=Decimal(hours),
                            completed_on=date(YEAR, 3, 1),
                            commune_id=commune.id,
                            source_key=f"drill-reconcile:{tag}:{person_id}",
                        )
                    )
                learning_records_changed.send(None, pairs={(commune.id, YEAR)})
                db.session.commit()

                def evaluated() -> bool:
                    state = db.session.get(EvaluationState, (commune.id, YEAR))
                    return state is not None and state.marked_at is None and state.evaluated_at is not None

                wait_for(evaluated, seconds=60, what="the worker to evaluate the marked commune-year")
                honest = {
                    row_id: (row.eligible, row.score, row.inputs_digest, row.computed_at)
                    for row_id, row in _rows(person_ids).items()
                }
                assert len(honest) >= 2
                tampered = sorted(honest)[:2]
                untouched = sorted(honest)[2:]
                # Behind the app's back: the result changes, the digest stays.
                for row_id in tampered:
                    eligible, score = honest[row_id][:2]
                    db.session.execute(
                        update(Eligibility)
                        .where(Eligibility.id == row_id)
                        .values(eligible=not eligible, score=(score or 0) + 37)
                    )
                db.session.commit()

                started = time.monotonic()
                result = drill.test_cli_runner().invoke(args=["titles", "reconcile", "--year", str(YEAR)])
                repaired_in = time.monotonic() - started
                assert result.exit_code == 1, result.output
                assert "drift 2" in result.output

                rows = _rows(person_ids)
                for row_id in tampered:
                    eligible, score, digest, _ = honest[row_id]
                    assert (rows[row_id].eligible, rows[row_id].score, rows[row_id].inputs_digest) == (
                        eligible,
                        score,
                        digest,
                    )
                for row_id in untouched:  # a row that did not differ is not rewritten
                    assert rows[row_id].computed_at == honest[row_id][3]
                events = db.session.scalars(
                    select(AuditEvent).where(
                        AuditEvent.action == "eligibility.repaired",
                        AuditEvent.object_id.in_([str(i) for i in tampered]),
                    )
                ).all()
                assert sorted(int(e.object_id) for e in events) == tampered  # one event per repaired row
                for event in events:
                    stored, recomputed = event.details["stored"], event.details["recomputed"]
                    assert stored["eligible"] is not honest[int(event.object_id)][0]
                    assert recomputed["eligible"] is honest[int(event.object_id)][0]

                again = drill.test_cli_runner().invoke(args=["titles", "reconcile", "--year", str(YEAR)])
                assert again.exit_code == 0, again.output  # nothing left to repair
                assert "drift 0" in again.output
                report(
                    "tampered-rows",
                    tampered=len(tampered),
                    repaired=len(events),
                    untouched_rewritten=sum(rows[i].computed_at != honest[i][3] for i in untouched),
                    exit_codes=f"{result.exit_code},{again.exit_code}",
                    reconcile_seconds=round(repaired_in, 1),
                )
        finally:
            db.session.rollback()
            run_ids = select(EvaluationRun.id).where(EvaluationRun.year == YEAR)
            rows_of_the_year = [
                str(i) for i in db.session.scalars(select(Eligibility.id).where(Eligibility.year == YEAR))
            ]
            for statement in (
                delete(AuditEvent).where(
                    AuditEvent.action == "eligibility.repaired", AuditEvent.object_id.in_(rows_of_the_year)
                ),
                delete(EvaluationRunCommune).where(EvaluationRunCommune.run_id.in_(run_ids)),
                delete(EvaluationRun).where(EvaluationRun.year == YEAR),
                delete(Eligibility).where(Eligibility.year == YEAR),
                delete(EvaluationState).where(EvaluationState.year == YEAR),
                delete(LearningRecord).where(LearningRecord.person_id.in_(person_ids)),
                delete(Person).where(Person.id.in_(person_ids)),
                delete(Household).where(Household.id == household.id),
                delete(AdminUnit).where(AdminUnit.id == village.id),
            ):
                db.session.execute(statement)
            db.session.execute(delete(CriteriaSet).where(CriteriaSet.id.not_in(criteria_before or {0})))
            db.session.commit()
