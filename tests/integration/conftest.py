"""A real Celery worker in its own process, on the test database and a real broker.

The broker is ``LMS_TEST_BROKER_URL`` (Redis or RabbitMQ in CI) or, without it, the embedded SQLAlchemy
transport on a SQLite file — the same one ``make run`` uses. Tests here commit for real (the worker must see
their rows) and remove what they made.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from lms import create_app
from lms.core.models import Heartbeat
from lms.extensions import db
from tests.conftest import activate_celery

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return os.environ.get("LMS_TEST_BROKER_URL") or (
        f"sqla+sqlite:///{tmp_path_factory.mktemp('broker') / 'broker.sqlite'}"
    )


@pytest.fixture(scope="session")
def live_app(app: Flask, database_url: str, broker_url: str) -> Flask:
    """An app like the test app but sending tasks to the broker instead of running them in-process."""
    celery = {**app.config["CELERY"], "broker_url": broker_url, "result_backend": None, "task_always_eager": False}
    live = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "CELERY": celery})
    activate_celery(app)  # only the integration tests send to the broker (below)
    return live


@pytest.fixture(autouse=True)
def _send_to_the_broker(live_app: Flask, app: Flask) -> Iterator[None]:
    """During an integration test, ``shared_task`` proxies resolve to the live Celery app; after it, the eager
    one again."""
    activate_celery(live_app)
    yield
    activate_celery(app)


@pytest.fixture(scope="package")  # stopped after the integration tests: it polls its broker for the rest of a run
def worker(live_app: Flask, database_url: str, broker_url: str, tmp_path_factory) -> Iterator[subprocess.Popen]:
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        "LMS_ENV": "development",
        # The embedded defaults (result backend, beat schedule) live in the instance folder, which a fresh
        # clone does not have: give the worker one of its own.
        "LMS_INSTANCE_PATH": str(log.parent),
        "LMS_DATABASE_URL": database_url,
        "LMS_BROKER_URL": broker_url,
        "LMS_RESULT_BACKEND": "",
        "LMS_SECRET_KEY": live_app.config["SECRET_KEY"],
        "LMS_PII_KEY": live_app.config["PII_KEY"],
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "lms.worker",
        "worker",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
        "--queues",
        "celery",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_until_alive(live_app, process, log)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _wait_until_alive(app: Flask, process: subprocess.Popen, log: Path) -> None:
    """Send the heartbeat task until the worker has run it: proof that broker and worker both work."""
    heartbeat = app.extensions["celery"].tasks["lms.core.heartbeat"]
    with app.app_context():
        db.session.execute(db.delete(Heartbeat))
        db.session.commit()
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the Celery worker exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            heartbeat.apply_async()
            time.sleep(1)
            alive = db.session.get(Heartbeat, "worker") is not None
            db.session.rollback()  # never sleep inside a transaction: on SQLite it holds the write lock
            if alive:
                return
        pytest.fail(f"the Celery worker did not answer within {WAIT_SECONDS}s:\n{log.read_text()[-3000:]}")


def wait_for(condition: Callable[[], bool], seconds: float = WAIT_SECONDS, what: str = "the worker") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.rollback()  # see other processes' commits
        done = condition()
        db.session.rollback()  # never sleep inside a transaction: on SQLite it holds the write lock
        if done:
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {seconds}s waiting for {what}")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Any]:
    """A ``redis-server`` of the test's own, on a free port, that the test may stop and start (drills)."""
    from tests.integration.drills import RedisServer

    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def drill_broker(request: pytest.FixtureRequest) -> str:
    """The broker of a drill that does not stop it: ``LMS_DRILL_BROKER_URL`` (a RabbitMQ vhost of the drills' own,
    e.g. ``amqp://guest:guest@127.0.0.1:5672/lms-reliability``) or else a redis-server of the test's own."""
    url = os.environ.get("LMS_DRILL_BROKER_URL")
    if url:
        return url
    return request.getfixturevalue("own_redis").url
