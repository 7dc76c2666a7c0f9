"""Completion by the course's rule → learning records and certificates, idempotently."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal

from sqlalchemy import func, select

from courses import services
from courses.models import Certificate, LearningRecord
from courses.scheduling import Recurrence
from courses.services import Mark
from lms.extensions import db
from tests.courses.conftest import make_class

AFTER = datetime(2026, 4, 1, 12)


def _records(course_class):
    return db.session.scalars(
        select(LearningRecord)
        .where(LearningRecord.class_id == course_class.id)
        .order_by(LearningRecord.person_id, LearningRecord.kind)
    ).all()


def _attend(sessions, learner, statuses):
    for session, status in zip(sessions, statuses, strict=True):
        if status:
            services.record_attendance(session, [Mark(learner.id, status, datetime(2026, 3, 1))], user_id=None)


def test_share_of_held_sessions_decides_and_rerunning_writes_nothing(centre):
    centre.course.module_codes = ["IU01", "IU02"]
    course_class = make_class(centre)
    sessions = services.schedule_recurring(
        course_class,
        Recurrence(
            first_day=datetime(2026, 3, 2).date(), weekdays=frozenset({0}), start=time(19), end=time(21), count=4
        ),
    )
    good, late_ok, short, excused = centre.learners[:4]
    services.enrol(course_class, [good.id, late_ok.id, short.id, excused.id])
    _attend(sessions, good, ["present"] * 4)
    _attend(sessions, late_ok, ["present", "late", "late", None])  # 3 of 4 = 75 %: enough
    _attend(sessions, short, ["present", "present", None, None])  # 50 %: not enough
    _attend(sessions, excused, ["present", "present", "excused", "excused"])  # excused does not count
    result = services.recompute_class(course_class.id, as_of=AFTER)
    assert result.completed == 2
    by_person = {(r.person_id, r.kind, r.module_code) for r in _records(course_class)}
    assert by_person == {
        (good.id, "class_completion", None),
        (good.id, "it_module", "IU01"),
        (good.id, "it_module", "IU02"),
        (late_ok.id, "class_completion", None),
        (late_ok.id, "it_module", "IU01"),
        (late_ok.id, "it_module", "IU02"),
    }
    completion = next(r for r in _records(course_class) if r.kind == "class_completion")
    assert completion.hours == Decimal(12)
    assert completion.year == 2026
    assert completion.category == "technology_transfer"
    codes = set(db.session.scalars(select(Certificate.code).where(Certificate.class_id == course_class.id)))
    assert len(codes) == 2

    again = services.recompute_class(course_class.id, as_of=AFTER)
    assert (again.records_created, again.records_removed, again.certificates_issued) == (0, 0, 0)
    assert set(db.session.scalars(select(Certificate.code).where(Certificate.class_id == course_class.id))) == codes


def test_no_completion_while_sessions_remain(centre):
    course_class = make_class(centre)
    sessions = services.schedule(
        course_class,
        [(datetime(2026, 3, 2, 19), datetime(2026, 3, 2, 21)), (datetime(2026, 3, 30, 19), datetime(2026, 3, 30, 21))],
    )
    services.enrol(course_class, [centre.learners[0].id])
    _attend(sessions[:1], centre.learners[0], ["present"])
    assert services.recompute_class(course_class.id, as_of=datetime(2026, 3, 10)).completed == 0
    assert _records(course_class) == []


def test_a_corrected_mark_withdraws_the_record_and_revokes_the_certificate(centre):
    course_class = make_class(centre)
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 2, 19), datetime(2026, 3, 2, 21))])
    learner = centre.learners[0]
    services.enrol(course_class, [learner.id])
    services.record_attendance(session, [Mark(learner.id, "present", datetime(2026, 3, 2, 12))], user_id=None)
    services.recompute_class(course_class.id, as_of=AFTER)
    assert len(_records(course_class)) == 1
    services.record_attendance(session, [Mark(learner.id, "absent", datetime(2026, 3, 2, 13))], user_id=None)
    result = services.recompute_class(course_class.id, as_of=AFTER)
    assert result.records_removed == 1
    assert _records(course_class) == []
    certificate = db.session.scalar(select(Certificate).where(Certificate.class_id == course_class.id))
    assert certificate.revoked_at is not None


def test_completion_task_clears_the_dirty_mark(centre):
    from courses.models import PendingWork

    course_class = make_class(centre)
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 2, 19), datetime(2026, 3, 2, 21))])
    services.enrol(course_class, [centre.learners[0].id])
    services.record_attendance(
        session, [Mark(centre.learners[0].id, "present", datetime(2026, 3, 2, 12))], user_id=None
    )
    db.session.commit()  # the task runs (eagerly) after the commit
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(PendingWork)) == 0
    assert len(_records(course_class)) == 1


def test_a_class_over_the_new_year_moves_its_records_to_the_year_of_its_last_session(centre, monkeypatch):
    """The completion day is the class's last session: when it moves (the date of a held session corrected, the last
    session cancelled), the learning records follow it — into the other year when it crosses 1 January, which is the
    year the titles engine counts the learning in."""
    from lms.core.signals import learning_records_changed

    course_class = make_class(centre, starts_on=datetime(2026, 12, 1).date(), ends_on=datetime(2027, 1, 31).date())
    december, january = services.schedule(
        course_class,
        [
            (datetime(2026, 12, 15, 19), datetime(2026, 12, 15, 21)),
            (datetime(2027, 1, 5, 19), datetime(2027, 1, 5, 21)),
        ],
    )
    learner = centre.learners[0]
    services.enrol(course_class, [learner.id])
    _attend([december, january], learner, ["present", "present"])
    later = datetime(2027, 1, 10, 12)
    services.recompute_class(course_class.id, as_of=later)
    (record,) = _records(course_class)
    assert (record.year, record.completed_on) == (2027, datetime(2027, 1, 5).date())

    # The January session was in fact held on 29 December: the date is corrected.
    monkeypatch.setattr(services, "local_now", lambda: later)
    services.reschedule(january, datetime(2026, 12, 29, 19), datetime(2026, 12, 29, 21))
    announced: list[dict] = []
    learning_records_changed.connect(receiver := lambda sender, **kw: announced.append(kw), weak=False)
    try:
        services.recompute_class(course_class.id, as_of=later)
    finally:
        learning_records_changed.disconnect(receiver)
    db.session.expire_all()
    (record,) = _records(course_class)
    assert (record.year, record.completed_on) == (2026, datetime(2026, 12, 29).date())
    # Both years are evaluated again: the learning left 2027 and came into 2026.
    assert len(announced) == 1
    assert announced[0]["pairs"] == {(centre.commune.id, 2026), (centre.commune.id, 2027)}
    assert announced[0]["persons"] == {(learner.id, 2026), (learner.id, 2027)}


def test_a_session_added_to_a_completed_class_revokes_nothing_before_it_is_held(centre):
    """revc's finding: a session scheduled after the certificates were issued made the class "not complete" while it
    was to come, so the next correction of any mark revoked every certificate at once, with no preview. A completed
    class is judged on its held sessions until the added one is held; then it counts like any other."""
    course_class = make_class(centre)
    sessions = services.schedule(
        course_class,
        [(datetime(2026, 3, 2, 19), datetime(2026, 3, 2, 21)), (datetime(2026, 3, 9, 19), datetime(2026, 3, 9, 21))],
    )
    first, second = centre.learners[:2]
    services.enrol(course_class, [first.id, second.id])
    _attend(sessions, first, ["present", "present"])
    _attend(sessions, second, ["present", "present"])
    before_extra = datetime(2026, 3, 20, 12)
    assert services.recompute_class(course_class.id, as_of=before_extra).completed == 2
    extra = services.schedule(course_class, [(datetime(2026, 3, 30, 19), datetime(2026, 3, 30, 21))])
    # A mark of the first session corrected before the extra session: only that learner's completion is judged.
    services.record_attendance(sessions[0], [Mark(second.id, "late", datetime(2026, 3, 2, 22))], user_id=None)
    result = services.recompute_class(course_class.id, as_of=before_extra)
    assert result.completed == 2
    certificates = db.session.scalars(select(Certificate).where(Certificate.class_id == course_class.id)).all()
    assert [c.revoked_at for c in certificates] == [None, None]
    assert {r.completed_on for r in _records(course_class)} == {datetime(2026, 3, 9).date()}
    # Once held, the extra session counts: the learner who missed it has 2 of 3 (67 %, under 75 %).
    _attend(extra, first, ["present"])
    after = services.recompute_class(course_class.id, as_of=AFTER)
    assert after.completed == 1
    assert {r.person_id: r.completed_on for r in _records(course_class)} == {first.id: datetime(2026, 3, 30).date()}
