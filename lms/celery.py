"""The Celery binding: one Celery app per Flask app, tasks run inside an app context, and tasks queued by a
request are sent only once its transaction has committed.

Tasks are declared with ``@shared_task(name=...)`` next to the code they serve and take ids and plain values.
Call :func:`enqueue_after_commit` from services instead of ``task.delay``: a task sent before the commit can run
before the row it needs exists, and a task for a rolled-back change must never run.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from lms.extensions import db

_PENDING_KEY = "lms_pending_tasks"


def celery_init_app(app: Flask) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            # A fresh app context gives the task its own database session, also when it runs eagerly
            # from inside a request (tests): it must not share the caller's, already committed, session.
            with app.app_context():
                try:
                    return self.run(*args, **kwargs)
                finally:
                    db.session.remove()

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def enqueue_after_commit(task: Task, **kwargs: Any) -> None:
    """Send ``task`` with keyword arguments when the current session commits; drop it on rollback."""
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback, even with nothing written yet, discards the task
    pending = session.info.setdefault(_PENDING_KEY, [])
    if not any(t.name == task.name and k == kwargs for t, k in pending):  # the same work once per commit
        pending.append((task, kwargs))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released (begin_nested): the real commit is still to come
    pending = session.info.pop(_PENDING_KEY, [])
    for task, kwargs in pending:
        task.apply_async(kwargs=kwargs)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    # Only the rollback of the session's outermost transaction discards the work; rolling back a nested
    # savepoint (begin_nested) leaves what was queued before it.
    if not previous_transaction.nested:
        session.info.pop(_PENDING_KEY, None)
