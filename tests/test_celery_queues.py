"""The task queue as configured (ADR 33): on RabbitMQ a quorum queue with a delivery limit and a consumer timeout on
a topic exchange (so retries wait in the broker); a classic queue if asked; elsewhere only the queue's name. The
drill ``tests/integration/test_drill_rabbitmq.py`` checks them on the real broker."""

from __future__ import annotations

from typing import Any

from lms.celery import queue_settings

BASE: dict[str, Any] = {
    "TASK_QUEUE": "celery",
    "BROKER_QUEUE_TYPE": "quorum",
    "BROKER_DELIVERY_LIMIT": 10,
    "BROKER_CONSUMER_TIMEOUT": 300,
}


def _settings(broker_url: str, **config: Any) -> dict[str, Any]:
    celery = {"broker_url": broker_url, **config.pop("CELERY", {})}
    return queue_settings({**BASE, **config, "CELERY": celery})


def test_rabbitmq_gets_a_quorum_queue_with_its_limits_on_a_topic_exchange():
    settings = _settings("amqp://guest:guest@rabbit:5672/lms")
    (queue,) = settings["task_queues"]
    assert queue.name == "celery"
    assert queue.exchange.type == "topic"
    assert queue.queue_arguments == {
        "x-queue-type": "quorum",
        "x-delivery-limit": 10,
        "x-consumer-timeout": 300_000,
    }
    assert (settings["task_default_queue"], settings["task_default_exchange_type"]) == ("celery", "topic")


def test_a_classic_queue_redis_and_hand_written_queues_are_left_alone():
    assert _settings("amqp://rabbit//", BROKER_QUEUE_TYPE="classic") == {"task_default_queue": "celery"}
    assert _settings("redis://127.0.0.1:6379/0") == {"task_default_queue": "celery"}
    assert _settings("amqp://rabbit//", CELERY={"task_queues": ()}) == {"task_default_queue": "celery"}
    assert _settings("redis://r/0", TASK_QUEUE="lms-a")["task_default_queue"] == "lms-a"


def test_the_apps_own_settings_reach_celery(app):
    celery = app.extensions["celery"]
    assert celery.conf.task_default_queue == app.config["TASK_QUEUE"] == "celery"
    assert app.config["BROKER_CONSUMER_TIMEOUT"] == 300
