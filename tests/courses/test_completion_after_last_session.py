"""A class completes when its last session has been held, even if nothing is written after it begins: a last
session that gets no roll call (a closing meeting, a forgotten sheet), or whose marks were taken before its start
time (learners marked as they arrive), changes no row — the completion sweep notices the start passing."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from courses import services, tasks
from courses.models import Certificate, LearningRecord, PendingWork
from courses.services import Mark
from lms.core.clock import VN_OFFSET
from lms.extensions import db
from tests.courses.conftest import make_centre, make_class


def _at(monkeypatch, local: datetime) -> None:
    """The clock of the sweep and of the completion rule at the local time ``local``."""
    monkeypatch.setattr(tasks, "utcnow", lambda: local - VN_OFFSET)
    monkeypatch.setattr(services, "local_now", lambda: local)


def _completed(class_id: int) -> set[int]:
    db.session.expire_all()
    return set(
        db.session.scalars(
            select(LearningRecord.person_id).where(
                LearningRecord.class_id == class_id, LearningRecord.kind == "class_completion"
            )
        )
    )


def test_a_class_whose_last_session_gets_no_mark_completes_once_it_has_begun(app_ctx, monkeypatch):
    centre = make_centre(learners=2, label="END")
    centre.course.min_attendance_share = Decimal("0.5")
    course_class = make_class(centre)
    first, _last = services.schedule(
        course_class,
        [(datetime(2026, 3, 3, 19), datetime(2026, 3, 3, 21)), (datetime(2026, 3, 30, 19), datetime(2026, 3, 30, 21))],
    )
    came, away = centre.learners
    services.enrol(course_class, [came.id, away.id])
    db.session.commit()

    _at(monkeypatch, datetime(2026, 3, 3, 21, 30))
    tasks.sweep_completions.apply()
    services.record_attendance(
        first,
        [Mark(came.id, "present", datetime(2026, 3, 3, 12, 5)), Mark(away.id, "absent", datetime(2026, 3, 3, 12, 5))],
        user_id=None,
    )
    db.session.commit()  # the completion task runs (eagerly): a session is still to come, nobody completes
    assert _completed(course_class.id) == set()
    assert db.session.scalar(select(PendingWork.id).where(services.pending_key(course_class.id))) is None

    _at(monkeypatch, datetime(2026, 3, 30, 18, 59))
    tasks.sweep_completions.apply()
    assert _completed(course_class.id) == set()  # the last session has not begun

    # The last session begins; nobody takes its roll call. 1 of 2 sessions attended is the course's half.
    _at(monkeypatch, datetime(2026, 3, 30, 19, 1))
    tasks.sweep_completions.apply()
    assert _completed(course_class.id) == {came.id}
    assert db.session.scalar(select(Certificate.person_id).where(Certificate.class_id == course_class.id)) == came.id
    assert db.session.scalar(select(PendingWork.id).where(services.pending_key(course_class.id))) is None

    # Later sweeps leave the class alone: its start is behind them.
    _at(monkeypatch, datetime(2026, 3, 30, 19, 1) + timedelta(minutes=5))
    tasks.sweep_completions.apply()
    assert db.session.scalar(select(PendingWork.id).where(services.pending_key(course_class.id))) is None


def test_marks_taken_before_the_last_session_starts_complete_the_class_when_it_starts(app_ctx, monkeypatch):
    centre = make_centre(learners=1, label="EARLY")
    course_class = make_class(centre)
    (only,) = services.schedule(course_class, [(datetime(2026, 3, 10, 19), datetime(2026, 3, 10, 21))])
    (learner,) = centre.learners
    services.enrol(course_class, [learner.id])
    db.session.commit()

    _at(monkeypatch, datetime(2026, 3, 10, 18, 50))  # the instructor marks learners as they arrive
    tasks.sweep_completions.apply()
    services.record_attendance(only, [Mark(learner.id, "present", datetime(2026, 3, 10, 11, 50))], user_id=None)
    db.session.commit()
    assert _completed(course_class.id) == set()

    _at(monkeypatch, datetime(2026, 3, 10, 19, 0, 30))
    tasks.sweep_completions.apply()
    assert _completed(course_class.id) == {learner.id}
