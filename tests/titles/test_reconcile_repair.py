"""Reconciliation repairs a tampered row: an eligibility row changed directly in SQL keeps its inputs' digest, so
only recomputing and comparing the stored result itself finds it. It is rewritten, audited, and the command exits
non-zero (for cron and monitoring)."""

from __future__ import annotations

from sqlalchemy import select, update

from lms.core.models import AuditEvent
from lms.extensions import db, utcnow
from lms.titles import criteria, engine
from lms.titles.models import Eligibility, EvaluationState
from tests.conftest import make_village, unit_by_code
from tests.titles.test_engine import SIMPLE_CITIZEN, person, records

YEAR = 2025


def test_a_tampered_eligibility_row_is_repaired_audited_and_fails_the_command(app, app_ctx):
    criteria.load_criteria(SIMPLE_CITIZEN.encode())
    commune = unit_by_code("23293")
    village = make_village(commune, "RC-V1", "Thôn Đối Soát")
    learner, other = person(village, "Y Rơ"), person(village, "A Thắm")
    records([learner.id], commune)
    engine.evaluate_commune(commune.id, YEAR)
    db.session.add(EvaluationState(commune_id=commune.id, year=YEAR, evaluated_at=utcnow(), summary={}))
    db.session.commit()

    def row(subject_id: int) -> Eligibility:
        db.session.expire_all()
        found = db.session.scalar(
            select(Eligibility).where(
                Eligibility.subject_id == subject_id, Eligibility.title == "citizen", Eligibility.year == YEAR
            )
        )
        assert found is not None
        return found

    honest = row(learner.id)
    assert honest.eligible
    digest, untouched = honest.inputs_digest, row(other.id)
    untouched_at = untouched.computed_at
    # Behind the app's back: the result changes, the digest stays.
    db.session.execute(update(Eligibility).where(Eligibility.id == honest.id).values(eligible=False, score=0))
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["titles", "reconcile", "--year", str(YEAR), "--inline"])

    assert result.exit_code == 1, result.output
    assert "drift 1" in result.output
    repaired = row(learner.id)
    assert repaired.eligible
    assert repaired.score == honest.score
    assert repaired.inputs_digest == digest
    assert row(other.id).computed_at == untouched_at  # a row that did not differ is not rewritten
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "eligibility.repaired", AuditEvent.object_id == str(honest.id))
    ).all()
    assert len(events) == 1
    assert events[0].details["stored"]["eligible"] is False
    assert events[0].details["recomputed"]["eligible"] is True

    again = app.test_cli_runner().invoke(args=["titles", "reconcile", "--year", str(YEAR), "--inline"])
    assert again.exit_code == 0, again.output  # nothing left to repair
