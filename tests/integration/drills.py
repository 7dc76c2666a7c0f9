"""What the fault drills share: a broker of the drill's own that it may stop and start, Celery workers (with beat)
on it, an app that publishes to it, and the figures each drill prints for ``make drills`` (docs/reliability.md).

A drill never stops the shared servers: it starts its own ``redis-server`` on a free port and stops that one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from lms import create_app
from lms.core.models import Heartbeat
from lms.extensions import db
from tests.conftest import activate_celery

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class RedisServer:
    """A throw-away ``redis-server`` without persistence: stopping it loses its queues, as a crashed broker does."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.directory)]
        with (self.directory / "redis.log").open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


BROKER = {"name": "redis"}  # what report() prints: the broker of the drill running


def drill_app(app: Flask, database_url: str, broker_url: str, **settings: Any) -> Flask:
    """An app like the live one, publishing to the drill's broker; made the current Celery app."""
    BROKER["name"] = "rabbitmq" if broker_url.startswith(("amqp", "pyamqp")) else "redis"
    celery = {**app.config["CELERY"], "broker_url": broker_url, "result_backend": None, "task_always_eager": False}
    drill = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "CELERY": celery, **settings})
    activate_celery(drill)
    return drill


class Worker:
    """``celery worker`` (solo pool, optionally with beat) in its own process group, on the drill's broker."""

    def __init__(self, app: Flask, database_url: str, broker_url: str, directory: Path, name: str, **env: str):
        self.app, self.log = app, directory / f"{name}.log"
        self.env = {
            **os.environ,
            "LMS_ENV": "development",
            "LMS_INSTANCE_PATH": str(directory),
            "LMS_DATABASE_URL": database_url,
            "LMS_BROKER_URL": broker_url,
            "LMS_RESULT_BACKEND": "",
            "LMS_SECRET_KEY": app.config["SECRET_KEY"],
            "LMS_PII_KEY": app.config["PII_KEY"],
            "PYTHONUNBUFFERED": "1",  # the drills read the log to know what the worker is doing
            **env,
        }
        self.name = name
        self.process: subprocess.Popen | None = None

    def start(self, *, beat: bool = False, app: str = "lms.worker") -> None:
        command = [sys.executable, "-m", "celery", "-A", app, "worker", "--pool", "solo"]
        queue = self.env.get("LMS_TASK_QUEUE") or "celery"
        command += ["--loglevel", "INFO", "--without-gossip", "--without-mingle", "--queues", queue]
        command += ["--hostname", f"{self.name}@%h"]
        if beat:
            command += ["--beat", "--schedule", str(self.log.parent / f"{self.name}-beat-schedule")]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def kill(self) -> None:
        """SIGKILL, as the out-of-memory killer does: nothing is acknowledged or rejected."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def wait_ready(self, seconds: float = 90) -> None:
        """Until the worker consumes (its log says ``ready``)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"{self.name} exited with {self.process.returncode}:\n{self.tail()}")
            if self.log.exists() and " ready." in self.log.read_text(errors="replace"):
                return
            time.sleep(0.2)
        pytest.fail(f"{self.name} was not ready within {seconds}s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def wait_until_alive(app: Flask, worker: Worker, seconds: float = 60) -> None:
    """Send the heartbeat task until a worker has run it: the broker and a worker both work."""
    heartbeat = app.extensions["celery"].tasks["lms.core.heartbeat"]
    db.session.execute(db.delete(Heartbeat))
    db.session.commit()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert worker.process is not None
        if worker.process.poll() is not None:
            pytest.fail(f"the worker exited with {worker.process.returncode}:\n{worker.tail()}")
        heartbeat.apply_async()
        time.sleep(0.5)
        alive = db.session.get(Heartbeat, "worker") is not None
        db.session.rollback()
        if alive:
            return
    pytest.fail(f"the worker did not answer within {seconds}s:\n{worker.tail()}")


@contextmanager
def workers(app: Flask, database_url: str, broker_url: str, directory: Path, count: int = 1, **env: str):
    """``count`` workers, the first with beat, started and alive; stopped on the way out whatever happened."""
    started = [Worker(app, database_url, broker_url, directory, f"w{i}", **env) for i in range(count)]
    app.extensions["celery"].control.purge()  # a shared vhost may hold an earlier drill's messages
    try:
        for index, worker in enumerate(started):
            worker.start(beat=index == 0)
        wait_until_alive(app, started[0])
        yield started
    except BaseException:
        for worker in started:  # the pytest temporary folder may be gone by the time someone looks
            print(f"\n--- {worker.name}'s log (tail)\n{worker.tail()}")
        raise
    finally:
        for worker in started:
            worker.stop()


def report(drill: str, **figures: Any) -> None:
    """One line per drill in ``make drills`` output, summarised in docs/reliability.md."""
    broker = BROKER["name"]
    database = "postgresql" if os.environ.get("LMS_TEST_DATABASE_URL") else "sqlite"
    values = " ".join(f"{key}={value}" for key, value in figures.items())
    print(f"\nDRILL {drill} [{database}, {broker}]: {values}", flush=True)


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PostgresCluster:
    """A throw-away PostgreSQL cluster on a free port (initdb), which the drill may stop and start. As root it runs
    as the ``postgres`` user: the server refuses to run as root."""

    def __init__(self) -> None:
        import tempfile

        self.directory = Path(tempfile.mkdtemp(prefix="lms-drill-pg-"))
        self.port = free_port()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str, timeout: float = 60) -> None:
        subprocess.run([*self.as_postgres, *command], check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self._run(
            str(PG_BIN / "initdb"), "-D", str(self.directory / "data"), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.directory / "data"),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as when the database host goes away."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
