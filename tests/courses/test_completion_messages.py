"""The completion task's messages (ADR 28): a change to a class whose task was sent recently sends none; a lost
message is sent again by the sweep once the re-send interval has passed; a run that finds its class marked again
sends itself again. The messages counted here are those actually published to the broker (an in-memory one, no
worker: nothing runs unless the test runs it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from celery import current_app as current_celery
from celery.signals import before_task_publish
from sqlalchemy import select, update

from courses import services, tasks
from courses.models import Attendance, LearningRecord, PendingWork
from courses.services import Mark
from lms.extensions import db, utcnow
from tests.courses.conftest import make_centre, make_class

TASK = "courses.recompute_completions"


@pytest.fixture
def sent(app, monkeypatch) -> Iterator[list[int]]:
    """The class ids of the completion tasks published from now on. Tasks are published, not run eagerly."""
    monkeypatch.setitem(current_celery.conf, "task_always_eager", False)
    published: list[int] = []

    def count(sender: str | None = None, body: Any = None, **_: Any) -> None:
        if sender == TASK:
            published.append(body[1]["class_id"])  # message protocol 2: (args, kwargs, embed)

    before_task_publish.connect(count, weak=False)
    try:
        yield published
    finally:
        before_task_publish.disconnect(count)
        with current_celery.connection_for_write() as connection:
            connection.default_channel.queue_purge(current_celery.conf.task_default_queue)


@pytest.fixture
def finished_class(app_ctx):
    """A class of three learners whose one session is over (completion reads it)."""
    centre = make_centre(learners=3, label="MSG")
    course_class = make_class(centre)
    services.enrol(course_class, [p.id for p in centre.learners])
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 3, 19), datetime(2026, 3, 3, 21))])
    db.session.commit()
    return session, centre.learners


def _batch(session, learners, statuses, at, device):
    services.record_attendance(
        session,
        [Mark(p.id, status, at, f"{device}-{p.id}", device) for p, status in zip(learners, statuses, strict=True)],
        user_id=None,
    )
    db.session.commit()


def _pending(class_id: int) -> PendingWork | None:
    db.session.expire_all()
    return db.session.scalar(select(PendingWork).where(services.pending_key(class_id)))


def _age_sent_at(class_id: int, by: timedelta) -> None:
    """As if the class's task had been sent ``by`` earlier (the re-send interval passing without waiting)."""
    db.session.execute(update(PendingWork).where(services.pending_key(class_id)).values(sent_at=utcnow() - by))
    db.session.commit()


def test_a_batch_for_a_class_whose_task_was_just_sent_sends_none(app, finished_class, sent):
    session, learners = finished_class
    at = datetime(2026, 3, 3, 12, 5)
    _batch(session, learners, ["present", "present", "absent"], at, "phone")
    assert sent == [session.class_id]
    first = _pending(session.class_id)
    assert first is not None
    assert first.sent_at is not None
    first_marked_at, first_sent_at = first.marked_at, first.sent_at

    # A second device re-syncs the session (later marks, overwriting): written and marked, but no second message.
    _batch(session, learners, ["absent", "present", "present"], at + timedelta(minutes=3), "tablet")
    assert sent == [session.class_id]
    again = _pending(session.class_id)
    assert again is not None
    assert again.marked_at > first_marked_at  # the run the first message starts will see it as marked again
    assert again.sent_at == first_sent_at
    statuses = dict(
        db.session.execute(select(Attendance.person_id, Attendance.status).where(Attendance.session_id == session.id))
        .tuples()
        .all()
    )
    assert list(statuses.values()).count("present") == 2
    assert statuses[learners[0].id] == "absent"

    # Once the re-send interval has passed without the task clearing the work, the next change sends it again.
    _age_sent_at(session.class_id, app.config["COMPLETIONS_SWEEP_AGE"] + timedelta(seconds=1))
    _batch(session, learners, ["present", "present", "present"], at + timedelta(minutes=6), "phone")
    assert sent == [session.class_id, session.class_id]


def test_a_lost_message_is_sent_again_by_the_sweep_after_the_interval_and_the_class_completes(
    app, finished_class, sent
):
    session, learners = finished_class
    class_id = session.class_id
    at = datetime(2026, 3, 3, 12, 5)
    _batch(session, learners, ["present", "absent", "absent"], at, "phone")
    sent.clear()  # the message is lost: no worker ever gets it
    # Marks keep coming (and keep rewriting marked_at), each sending nothing: the work was sent recently.
    _batch(session, learners, ["present", "present", "absent"], at + timedelta(minutes=1), "tablet")
    tasks.sweep_completions.apply()
    assert sent == []  # sent within the interval: not yet lost, as far as anyone can tell

    # The interval passes; the class was marked a moment ago, but its task was sent long ago: the sweep sends it.
    _age_sent_at(class_id, app.config["COMPLETIONS_SWEEP_AGE"] + timedelta(seconds=1))
    db.session.execute(update(PendingWork).where(services.pending_key(class_id)).values(marked_at=utcnow()))
    db.session.commit()
    tasks.sweep_completions.apply()
    assert sent == [class_id]
    tasks.sweep_completions.apply()
    assert sent == [class_id]  # stamped as sent: not again before the interval

    tasks.recompute_completions.apply(kwargs={"class_id": class_id})  # the worker gets it this time
    assert _pending(class_id) is None
    completed = set(db.session.scalars(select(LearningRecord.person_id).where(LearningRecord.class_id == class_id)))
    assert completed == {learners[0].id, learners[1].id}
    assert sent == [class_id]  # nothing marked it meanwhile: the run does not send itself again


def test_a_run_that_finds_its_class_marked_again_sends_itself_again(app, finished_class, sent, monkeypatch):
    """A change committed while the task ran, stamped a moment *before* the task began (its request started
    first): it must neither be cleared with the run's mark nor wait for the sweep."""
    session, learners = finished_class
    class_id = session.class_id
    _batch(session, learners, ["present", "present", "present"], datetime(2026, 3, 3, 12, 5), "phone")
    assert sent == [class_id]
    started = utcnow()
    recompute = services.recompute_class

    def recompute_while_marked(class_id: int, **kwargs: Any) -> Any:
        result = recompute(class_id, **kwargs)
        # The other transaction's upsert, as the run's DELETE meets it (PostgreSQL: after waiting for its commit).
        db.session.execute(
            update(PendingWork)
            .where(services.pending_key(class_id))
            .values(marked_at=started - timedelta(milliseconds=5))
        )
        return result

    monkeypatch.setattr(services, "recompute_class", recompute_while_marked)
    tasks.recompute_completions.apply(kwargs={"class_id": class_id})
    assert sent == [class_id, class_id]  # sent itself again, after its commit
    left = _pending(class_id)
    assert left is not None  # still marked for the next run
    assert left.sent_at is not None
    assert left.sent_at >= started

    monkeypatch.setattr(services, "recompute_class", recompute)
    tasks.recompute_completions.apply(kwargs={"class_id": class_id})
    assert _pending(class_id) is None
    assert sent == [class_id, class_id]


def test_after_a_failed_run_the_next_change_sends_the_task_at_once(app, finished_class, sent, monkeypatch):
    """The change may be the fix (ADR 23): a failure leaves no message on its way, so no re-send interval applies."""
    session, learners = finished_class
    class_id = session.class_id
    at = datetime(2026, 3, 3, 12, 5)
    _batch(session, learners, ["present", "present", "present"], at, "phone")
    assert sent == [class_id]

    def broken(class_id: int, **kwargs: Any) -> Any:
        raise ValueError("a bad rule")

    monkeypatch.setattr(services, "recompute_class", broken)
    tasks.recompute_completions.apply(kwargs={"class_id": class_id}, throw=False)
    failed = _pending(class_id)
    assert failed is not None
    assert failed.attempts == 1
    assert failed.sent_at is None

    _batch(session, learners, ["present", "absent", "present"], at + timedelta(minutes=2), "tablet")
    assert sent == [class_id, class_id]
