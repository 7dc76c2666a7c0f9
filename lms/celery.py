"""The Celery binding: one Celery app per Flask app, tasks run inside an app context, and tasks queued by a
request are sent only once its transaction has committed.

Tasks are declared with ``@shared_task(name=...)`` next to the code they serve and take ids and plain values.
Call :func:`enqueue_after_commit` from services instead of ``task.delay``: a task sent before the commit can run
before the row it needs exists, and a task for a rolled-back change must never run.

A feature's ``tasks.py`` is the top of the feature: it imports the services, never the other way round (ADR 34).
So services name the task they want (``enqueue_after_commit("titles.evaluate_commune", commune_id=…, year=…)``);
the name is the task's stable, declared name, checked against the registry when it is queued.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery, Task
from celery import current_app as current_celery
from celery.utils.time import get_exponential_backoff_interval
from flask import Flask
from kombu import Exchange, Queue
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy import event
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, SessionTransaction

from lms.extensions import db

_PENDING_KEY = "lms_pending_tasks"
log = logging.getLogger(__name__)

# Errors that say "not now" rather than "never": the database or the broker is unreachable, restarting, or a lock
# waited too long. Every task retries them (ADR 23); any other error is a bug or bad data and is not retried.
TRANSIENT: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, PoolTimeout, BrokerError)
RETRY_BACKOFF, RETRY_BACKOFF_MAX, MAX_RETRIES = 2, 30, 12
# The declared policy of every task that does work (the periodic sweeps are simply run again by beat): exponential
# backoff 2, 4, 8 … 30 s with full jitter (so that a thousand tasks failing at once do not come back at once), twelve
# retries — about two minutes on average, four and a half at most: longer than a database restart or failover.
RETRY_POLICY: dict[str, Any] = {
    "bind": True,
    "acks_late": True,
    "ignore_result": True,
    "autoretry_for": TRANSIENT,
    "max_retries": MAX_RETRIES,
    "retry_backoff": RETRY_BACKOFF,
    "retry_backoff_max": RETRY_BACKOFF_MAX,
    "retry_jitter": True,
}


def retry_countdown(retries: int) -> int:
    """The policy's wait before retry number ``retries + 1``, for tasks that retry by hand (``self.retry``)."""
    return int(get_exponential_backoff_interval(RETRY_BACKOFF, retries, RETRY_BACKOFF_MAX, full_jitter=True))


def queue_settings(config: Any) -> dict[str, Any]:
    """The task queue as the Celery settings declare it (ADR 33). On RabbitMQ, a quorum queue by default:
    ``x-delivery-limit`` drops a message delivered that many times (one that kills its worker every time; its work
    stays in the outbox), and ``x-consumer-timeout`` (RabbitMQ 3.12 and later; older servers have only the global
    ``consumer_timeout``) cuts off a consumer holding a message longer than the visibility timeout, so the message
    is redelivered. Its exchange is a topic exchange: Celery then delays retries (countdown) in the broker
    (native delayed delivery) instead of in the worker's memory. Elsewhere only the queue's name."""
    name = config.get("TASK_QUEUE", "celery")
    celery = config["CELERY"]
    broker = str(celery.get("broker_url") or "")
    settings: dict[str, Any] = {"task_default_queue": name}
    if "task_queues" in celery or not broker.startswith(("amqp", "pyamqp")):
        return settings
    if config.get("BROKER_QUEUE_TYPE", "quorum") != "quorum":
        return settings
    arguments = {
        "x-queue-type": "quorum",
        "x-delivery-limit": int(config["BROKER_DELIVERY_LIMIT"]),
        "x-consumer-timeout": int(config["BROKER_CONSUMER_TIMEOUT"]) * 1000,
    }
    exchange = Exchange(name, type="topic")
    return {
        **settings,
        "task_queues": (Queue(name, exchange, routing_key=name, queue_arguments=arguments),),
        "task_default_exchange": name,
        "task_default_exchange_type": "topic",
        "task_default_routing_key": name,
    }


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

        def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
            # The task gave up (retries exhausted, or an error that is not retried): say which, with what and why.
            log.error(
                "task %s gave up after %s retries: %s: %s (kwargs %s)",
                self.name,
                self.request.retries,
                type(exc).__name__,
                exc,
                kwargs,
            )

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object({**app.config["CELERY"], **queue_settings(app.config)})
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app


def enqueue_after_commit(task: str | Task, **kwargs: Any) -> None:
    """Send the task named ``task`` (a name, or a task of a layer above, which is sent by its name) with keyword
    arguments when the current session commits; drop it on rollback. An unknown name is an error here, in the
    request that queued it, not a message no worker can run."""
    name = task if isinstance(task, str) else task.name
    if name not in current_celery.tasks:
        raise LookupError(f"no Celery task is registered under the name {name!r}")
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback, even with nothing written yet, discards the task
    pending = session.info.setdefault(_PENDING_KEY, [])
    if (name, kwargs) not in pending:  # the same work once per commit
        pending.append((name, kwargs))


@event.listens_for(Session, "after_commit")
def _send_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint was released (begin_nested): the real commit is still to come
    pending = session.info.pop(_PENDING_KEY, [])
    for index, (name, kwargs) in enumerate(pending):
        try:
            # By name through the current app's registry: the task's own options (queue, retries) and, in tests,
            # eager execution apply as they would to ``task.apply_async``.
            current_celery.signature(name).apply_async(kwargs=kwargs)
        except Exception as exc:
            if current_celery.conf.task_always_eager:
                raise  # the task itself ran here (tests): its error is its own, not the broker's
            # The work is marked in the committed transaction (the outbox), so the periodic sweeps send it once the
            # broker is back. The rest is not tried: each attempt would wait on the same dead broker.
            log.error(
                "broker unreachable after commit (%s: %s): %s task(s) left to the sweep (%s)",
                type(exc).__name__,
                exc,
                len(pending) - index,
                ", ".join(sorted({n for n, _ in pending[index:]})),
            )
            return


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    # Only the rollback of the session's outermost transaction discards the work; rolling back a nested
    # savepoint (begin_nested) leaves what was queued before it.
    if not previous_transaction.nested:
        session.info.pop(_PENDING_KEY, None)
