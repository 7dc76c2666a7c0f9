"""The evaluation of one commune-year: the lock, the mark, the tasks (eager Celery), and two real concurrent
sessions on one commune-year."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, update

from courses.models import LearningRecord
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit, Household, Person
from lms.titles import dirty, engine, runs, tasks
from lms.titles.criteria import load_shipped_criteria
from lms.titles.models import CriteriaSet, Eligibility, EvaluationState
from tests.conftest import make_household, make_village, unit_by_code

YEAR = 2026
COMMUNE = "21100"  # Bình Chương: the concurrent test below commits for real; no other test uses it


def _state(commune_id: int, year: int = YEAR) -> EvaluationState | None:
    db.session.expire_all()
    return db.session.get(EvaluationState, (commune_id, year))


def test_a_mark_is_evaluated_after_commit_and_cleared(app_ctx):
    commune = unit_by_code("23293")
    dirty.mark_dirty([(commune.id, YEAR)])
    assert _state(commune.id).marked_at is not None  # written in the caller's transaction: the outbox
    assert _state(commune.id).evaluated_at is None  # nothing runs before the commit
    db.session.commit()
    state = _state(commune.id)
    assert state.marked_at is None
    assert state.evaluated_at is not None


def test_a_rolled_back_mark_queues_nothing(app_ctx):
    commune = unit_by_code("23293")
    dirty.mark_dirty([(commune.id, YEAR)])
    db.session.rollback()
    assert _state(commune.id) is None


def test_a_mark_set_again_during_the_evaluation_survives_it(app_ctx, monkeypatch):
    """A learning record committed while the engine runs must be evaluated again: its mark stays."""
    commune = unit_by_code("23293")
    real = engine.evaluate_commune

    def evaluate_while_a_record_arrives(commune_id: int, year: int) -> dict[str, Any]:
        result = real(commune_id, year)
        time.sleep(0.01)
        db.session.execute(
            EvaluationState.__table__.update()
            .where(EvaluationState.commune_id == commune_id)
            .values(marked_at=utcnow())
        )
        return result

    monkeypatch.setattr(engine, "evaluate_commune", evaluate_while_a_record_arrives)
    outcome = runs.evaluate_locked(commune.id, YEAR, force=True)
    db.session.commit()
    assert outcome.evaluated
    assert _state(commune.id).marked_at is not None


def test_a_task_for_a_clear_mark_skips_and_a_run_does_not(app_ctx, monkeypatch):
    commune = unit_by_code("23293")
    calls: list[int] = []
    real = engine.evaluate_commune

    def counting(commune_id: int, year: int) -> dict[str, Any]:
        calls.append(commune_id)
        return real(commune_id, year)

    monkeypatch.setattr(engine, "evaluate_commune", counting)
    tasks.evaluate_commune.apply(kwargs={"commune_id": commune.id, "year": YEAR})
    assert calls == []  # no mark: a duplicate delivery, nothing to do
    assert not runs.evaluate_locked(commune.id, YEAR, force=False).evaluated
    assert runs.evaluate_locked(commune.id, YEAR, force=True).evaluated
    assert calls == [commune.id]


def test_drift_counts_changes_only_when_no_mark_was_pending(app_ctx, monkeypatch):
    commune = unit_by_code("23293")
    monkeypatch.setattr(
        engine,
        "evaluate_commune",
        lambda commune_id, year: {
            "citizen": {"subjects": 10, "eligible": 4, "changed": 3},
            "family": {"subjects": 3, "eligible": 1, "changed": 1},
        },
    )
    clean = runs.evaluate_locked(commune.id, YEAR, force=True)
    assert (clean.changed, clean.drift) == (4, 4)
    dirty.mark_dirty([(commune.id, YEAR)])
    db.session.flush()
    marked = runs.evaluate_locked(commune.id, YEAR, force=True)
    assert (marked.changed, marked.drift) == (4, 0)
    db.session.rollback()


def test_the_sweep_resends_old_marks_only(app_ctx):
    old, fresh = unit_by_code("23293"), unit_by_code("23302")
    for commune, age in ((old, 60), (fresh, 1)):
        db.session.add(
            EvaluationState(commune_id=commune.id, year=YEAR, summary={}, marked_at=utcnow() - timedelta(seconds=age))
        )
    db.session.flush()
    db.session.commit()
    assert tasks.sweep.apply().get() == 1
    assert _state(old.id).marked_at is None
    assert _state(old.id).evaluated_at is not None
    assert _state(fresh.id).marked_at is not None


def test_a_queued_mark_is_sent_again_at_most_once_a_minute(app_ctx):
    """A mark whose task waits in a long queue is not re-sent by every sweep (duplicates would pile up behind the
    commune-year's lock); one whose task was lost is re-sent once ``RESEND_AGE`` has passed."""
    commune = unit_by_code("23293")
    db.session.add(
        EvaluationState(
            commune_id=commune.id,
            year=YEAR,
            summary={},
            marked_at=utcnow() - timedelta(minutes=5),
            sent_at=utcnow() - timedelta(seconds=30),
        )
    )
    db.session.flush()
    now = utcnow()
    assert dirty.due_for_resend(now - tasks.SWEEP_AGE, now - tasks.RESEND_AGE) == []  # sent 30 s ago: queued
    later = now + tasks.RESEND_AGE
    assert dirty.due_for_resend(later - tasks.SWEEP_AGE, later - tasks.RESEND_AGE) == [(commune.id, YEAR)]
    assert dirty.due_for_resend(later - tasks.SWEEP_AGE, later - tasks.RESEND_AGE) == []  # stamped as sent


# --- two real sessions at once -----------------------------------------------------------------------------------


@pytest.mark.integration  # commits for real: the two sessions must see each other's commits
@pytest.mark.parametrize("force", [False, True], ids=["marks", "runs"])
def test_two_workers_on_one_commune_year_take_turns_and_produce_one_result(app: Flask, monkeypatch, force):
    """Two sessions evaluate the same commune-year at the same moment. The second waits for the first's lock;
    for a mark it then finds the mark clear and skips; for a run it finds nothing changed since the evaluation that
    cleared the mark (ADR 41) and leaves the result as it is. Without the lock the second would see the mark still
    set and evaluate at the same time (two spans; its insert would break the unique key)."""
    spans: list[tuple[str, float, float, int]] = []
    real = engine.evaluate_commune

    def slow(cid: int, year: int) -> dict[str, Any]:
        started = time.monotonic()
        time.sleep(0.3)  # widen the window in which the other session would run at once without the lock
        result = real(cid, year)
        changed = sum(v.get("changed", 0) for v in result.values())
        spans.append((threading.current_thread().name, started, time.monotonic(), changed))
        return result

    monkeypatch.setattr(engine, "evaluate_commune", slow)
    with app.app_context():
        commune = unit_by_code(COMMUNE)
        commune_id = commune.id
        criteria_before = set(db.session.scalars(select(CriteriaSet.id)))
        load_shipped_criteria()
        # The new household is a registry change: with no commune-year to mark it only bumps the registry version.
        db.session.execute(delete(EvaluationState).where(EvaluationState.commune_id == commune_id))
        village = make_village(commune, f"LOCK-{force}", "Thôn Khóa")
        household = make_household(village, f"LOCK-{force}", "Nguyễn Văn Một", "Trần Thị Hai", "Lê Văn Ba")
        person_ids = [p.id for p in household.members]
        made = {"village_id": village.id, "household_id": household.id}
        db.session.commit()
        db.session.add(
            LearningRecord(
                person_id=person_ids[0],
                year=YEAR,
                kind="class_completion",
                category="literacy",
                hours=Decimal(40),
                completed_on=date(YEAR, 3, 1),
                commune_id=commune_id,
                source_key=f"lock-test:{force}",
            )
        )
        db.session.execute(delete(EvaluationState).where(EvaluationState.commune_id == commune_id))
        db.session.add(EvaluationState(commune_id=commune_id, year=YEAR, summary={}, marked_at=utcnow()))
        db.session.commit()
    outcomes: dict[str, Any] = {}
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        with app.app_context():
            start.wait()
            try:
                outcomes[name] = runs.evaluate_locked(commune_id, YEAR, force=force)
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - reported below
                outcomes[name] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(name,), name=name) for name in ("w1", "w2")]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not [o for o in outcomes.values() if isinstance(o, Exception)], outcomes
        evaluated = sorted(name for name, o in outcomes.items() if o.evaluated)
        assert len(evaluated) == 1, outcomes  # the second found the mark cleared by the first
        assert len(spans) == 1
        assert spans[0][3] >= 3
        second = next(o for o in outcomes.values() if not o.evaluated)
        assert second.unchanged is force  # a run's commune counted as unchanged, with the first's summary
        if force:  # what the first evaluation stored
            assert sum(counts["changed"] for counts in second.summary.values()) == spans[0][3]
        with app.app_context():
            state = db.session.get(EvaluationState, (commune_id, YEAR))
            assert state is not None
            assert state.marked_at is None
            assert state.evaluated_at is not None
            assert (
                db.session.scalar(
                    select(func.count())
                    .select_from(Eligibility)
                    .where(
                        Eligibility.year == YEAR,
                        Eligibility.title == "citizen",
                        Eligibility.subject_type == "person",
                        Eligibility.subject_id.in_(person_ids),
                    )
                )
                == 3
            )
    finally:
        with app.app_context():
            db.session.rollback()
            for statement in (
                delete(Eligibility).where(Eligibility.commune_id == commune_id, Eligibility.year == YEAR),
                delete(EvaluationState).where(EvaluationState.commune_id == commune_id),
                delete(LearningRecord).where(LearningRecord.person_id.in_(person_ids)),
                delete(Person).where(Person.id.in_(person_ids)),
                delete(Household).where(Household.id == made["household_id"]),
                delete(AdminUnit).where(AdminUnit.id == made["village_id"]),
                delete(CriteriaSet).where(CriteriaSet.id.not_in(criteria_before or {0})),
            ):
                db.session.execute(statement)
            db.session.commit()


def test_learning_at_another_communes_centre_marks_the_learners_home_and_organisation_communes(app_ctx):
    """The engine evaluates people where they live: a class in commune A completed by a learner from commune B
    (a member of an organisation in commune C) must mark A, B and C for evaluation."""
    from courses import services as courses
    from courses.services import Mark
    from lms.registry.models import Organisation, OrganisationMember
    from tests.courses.conftest import make_centre, make_class

    centre = make_centre("23293")
    home, work = unit_by_code("23302"), unit_by_code("23317")
    visitor = make_household(make_village(home, "HOME-B", "Thôn B"), "HB-1", "Lê Văn Khách").members[0]
    organisation = Organisation(commune_id=work.id, code="ORG-C", name="Trường C")
    db.session.add(organisation)
    db.session.flush()
    db.session.add(OrganisationMember(organisation_id=organisation.id, person_id=visitor.id))
    course_class = make_class(centre)
    (session,) = courses.schedule(course_class, [(datetime(2026, 3, 3, 8), datetime(2026, 3, 3, 10))])
    courses.enrol(course_class, [visitor.id])
    courses.record_attendance(session, [Mark(visitor.id, "present", datetime(2026, 3, 3, 8))], user_id=None)
    db.session.execute(update(EvaluationState).values(marked_at=None))

    courses.recompute_class(course_class.id, as_of=datetime(2026, 4, 1))

    marked = set(
        db.session.execute(
            select(EvaluationState.commune_id, EvaluationState.year).where(EvaluationState.marked_at.is_not(None))
        ).tuples()
    )
    assert marked == {(centre.commune.id, 2026), (home.id, 2026), (work.id, 2026)}


def test_a_members_changed_result_marks_the_organisation_in_another_commune(app_ctx):
    from lms.registry.models import Organisation, OrganisationMember

    load_shipped_criteria()
    home, work = unit_by_code("23302"), unit_by_code("23293")
    member = make_household(make_village(home, "HOME-M", "Thôn M"), "HM-1", "Đinh Thị Hội Viên").members[0]
    organisation = Organisation(commune_id=work.id, code="ORG-W", name="Trường tiểu học W")
    db.session.add(organisation)
    db.session.flush()
    db.session.add(OrganisationMember(organisation_id=organisation.id, person_id=member.id))
    db.session.add(
        LearningRecord(
            person_id=member.id,
            year=YEAR,
            kind="self_study",
            hours=Decimal(6),
            completed_on=date(YEAR, 5, 1),
            commune_id=home.id,
            source_key="t:member:1",
        )
    )
    dirty.mark_dirty([(home.id, YEAR)])
    db.session.commit()  # home is evaluated after the commit; its changed citizen marks the work commune

    assert _state(home.id).evaluated_at is not None
    assert _state(work.id) is not None
    assert _state(work.id).evaluated_at is not None
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Eligibility)
            .where(Eligibility.subject_type == "organisation", Eligibility.subject_id == organisation.id)
        )
        == 1
    )
