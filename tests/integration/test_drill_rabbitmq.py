"""Drill on RabbitMQ: the task queue is declared as configured (ADR 33) and its delivery limit works.

A queue of the drill's own (a unique name) on the real RabbitMQ — ``LMS_DRILL_BROKER_URL`` when it is an AMQP URL,
else the drills' vhost on 127.0.0.1:5672 (``rabbitmqctl add_vhost lms-reliability; rabbitmqctl set_permissions -p
lms-reliability guest ".*" ".*" ".*"``). It never touches another queue and deletes its own.

- The queue the workers declare is a quorum queue with the configured delivery limit: RabbitMQ refuses to declare it
  again as a classic queue or with another limit.
- A delayed task (what every retry is: a countdown) is delivered after its delay: Celery holds it in the broker
  (native delayed delivery, on the queue's topic exchange), not in a worker's memory.
- A message that kills every worker that takes it (SIGKILL as the task starts) is dropped after the delivery limit
  instead of taking down worker after worker forever; the next worker lives and serves.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import pytest
from kombu import Connection, Queue
from kombu.exceptions import OperationalError as BrokerError

from tests.integration.drills import Worker, drill_app, report, wait_until_alive

DELIVERY_LIMIT = 2
DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/lms-reliability"


@pytest.fixture
def rabbitmq() -> Iterator[tuple[str, str]]:
    """The broker URL and a queue name of this drill's own; the queue is deleted afterwards."""
    configured = os.environ.get("LMS_DRILL_BROKER_URL", "")
    url = configured if configured.startswith(("amqp", "pyamqp")) else DEFAULT_URL
    try:
        with Connection(url, connect_timeout=3) as probe:
            probe.ensure_connection(max_retries=1)
    except (BrokerError, OSError) as exc:
        pytest.skip(f"no RabbitMQ at {url} ({exc}); see docs/reliability.md for the vhost of the drills")
    name = f"lms-drill-{uuid.uuid4().hex[:8]}"
    try:
        yield url, name
    finally:
        with Connection(url) as conn:
            channel = conn.channel()
            channel.queue_delete(name)
            channel.exchange_delete(name)


def _declare(url: str, name: str, arguments: dict) -> str:
    with Connection(url) as conn:
        try:
            Queue(name, queue_arguments=arguments)(conn.channel()).queue_declare()
        except Exception as exc:  # noqa: BLE001 - the broker's refusal is the answer
            return f"{type(exc).__name__}: {exc}"
    return "ok"


def _dies(worker: Worker) -> bool:
    """Whether the worker dies before it has been consuming for five seconds (a waiting message is delivered as
    soon as it consumes)."""
    assert worker.process is not None
    before = worker.log.read_text(errors="replace").count(" ready.")
    deadline, consuming = time.monotonic() + 90, False
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            return True
        if not consuming and worker.log.read_text(errors="replace").count(" ready.") > before:
            consuming, deadline = True, time.monotonic() + 5
        time.sleep(0.1)
    return worker.process.poll() is not None


def test_rabbitmq_quorum_queue_with_a_delivery_limit(app, database_url, rabbitmq, tmp_path):
    url, name = rabbitmq
    settings = {"TASK_QUEUE": name, "BROKER_DELIVERY_LIMIT": DELIVERY_LIMIT}
    drill = drill_app(app, database_url, url, **settings)
    env = {"LMS_TASK_QUEUE": name, "LMS_BROKER_DELIVERY_LIMIT": str(DELIVERY_LIMIT)}
    celery = drill.extensions["celery"]
    with drill.app_context():
        worker = Worker(drill, database_url, url, tmp_path, "w0", LMS_DRILL_DIE_ON="targets.rollup", **env)
        try:
            worker.start(app="tests.integration.drill_worker")
            wait_until_alive(drill, worker)

            declared = drill.config["CELERY"]
            arguments = celery.amqp.queues[name].queue_arguments
            assert arguments["x-queue-type"] == "quorum"
            assert arguments["x-delivery-limit"] == DELIVERY_LIMIT
            assert arguments["x-consumer-timeout"] == drill.config["BROKER_CONSUMER_TIMEOUT"] * 1000
            assert "task_queues" not in declared  # derived from the settings, not written by hand
            assert _declare(url, name, arguments) == "ok"
            refused_classic = _declare(url, name, {"x-queue-type": "classic"})
            refused_limit = _declare(url, name, {**arguments, "x-delivery-limit": DELIVERY_LIMIT + 1})
            assert "inequivalent arg 'x-queue-type'" in refused_classic
            assert "inequivalent arg 'x-delivery-limit'" in refused_limit

            # A retry's countdown, held by the broker: the worker receives the task only once it is due.
            sent = time.monotonic()
            task_id = celery.tasks["lms.core.heartbeat"].apply_async(countdown=3).id
            while f"[{task_id}] succeeded" not in worker.tail() and time.monotonic() - sent < 30:
                time.sleep(0.1)
            delayed = time.monotonic() - sent
            assert 3 <= delayed < 30, f"the delayed task ran after {delayed:.1f} s"
            assert f"[{task_id}] received" in worker.tail()

            # A message that kills whoever takes it.
            celery.tasks["targets.rollup"].apply_async(kwargs={"year": 2099})
            deaths = 0
            for _ in range(DELIVERY_LIMIT + 3):
                if not _dies(worker):
                    break
                deaths += 1
                worker.start(app="tests.integration.drill_worker")
            wait_until_alive(drill, worker)  # the worker after the last death serves
            with Connection(url) as conn:
                left = conn.channel().queue_declare(name, passive=True).message_count
            report(
                "rabbitmq-delivery-limit",
                queue_type=arguments["x-queue-type"],
                delivery_limit=DELIVERY_LIMIT,
                workers_killed=deaths,
                messages_left=left,
                delayed_task_seconds=round(delayed, 1),
            )
            assert deaths == DELIVERY_LIMIT + 1  # the first delivery and the limit's redeliveries, then dropped
            assert left == 0
        finally:
            print(f"\n--- {worker.name}'s log (tail)\n{worker.tail()}")
            worker.stop()
