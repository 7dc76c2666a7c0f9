"""What every benchmark script shares: it runs only against a throw-away PostgreSQL database and Redis database on
this machine (never the test suite's, never the app's configured one), can empty that database, and reports
nearest-rank percentiles."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
RESERVED_DATABASES = {"test", "postgres", "template0", "template1"}  # the suite's and the server's own
RESERVED_REDIS = {"14", "15"}  # the test suite's


def refuse(script: str, message: str) -> None:
    sys.exit(f"{script}: {message}")


def check_database(script: str, database_url: str) -> None:
    """Refuse anything but a benchmark database of PostgreSQL on this machine."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        refuse(script, "the benchmark runs on PostgreSQL (--database-url postgresql://…)")
    if url.host not in LOCAL_HOSTS:
        refuse(script, f"only a database on 127.0.0.1 is allowed, not {url.host!r}")
    if url.database in RESERVED_DATABASES:
        refuse(script, f"the database {url.database!r} is not the benchmark's own; use e.g. lms_bench")
    configured = os.environ.get("LMS_DATABASE_URL")
    if configured and make_url(configured).database == url.database:
        refuse(script, "that is the database the app is configured with (LMS_DATABASE_URL)")


def check_broker(script: str, broker_url: str) -> None:
    """Refuse anything but a Redis database on this machine that the test suite does not use."""
    broker = make_url(broker_url) if broker_url.startswith("redis://") else None
    if broker is None or broker.host not in LOCAL_HOSTS:
        refuse(script, "the broker must be Redis on 127.0.0.1")
    elif broker.database in RESERVED_REDIS:
        refuse(script, "Redis databases 14 and 15 belong to the test suite; choose another")


def reset_database(script: str, url: str, *, yes: bool) -> None:
    """Create the database if it is missing; drop and rebuild its schema ``public`` (asks unless ``yes``)."""
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    if not yes and input(f"Drop everything in {parsed.database}? [y/N] ").strip().lower() != "y":
        refuse(script, "cancelled")
    empty_schema(url)


def empty_schema(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0.5 for the median, 0.95 for p95)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))]


@contextmanager
def gunicorn(
    script: str,
    *,
    database_url: str,
    broker_url: str,
    workers: int,
    port: int,
    log: Path,
    access_log: bool = False,
    app: str = "lms:create_app()",
    threads: int = 1,
) -> Iterator[None]:
    """The app under gunicorn in production mode on the benchmark's database, until the block ends; refuses (exits)
    if it does not answer ``/healthz`` within a minute, with the end of its log."""
    env = {
        **os.environ,
        "LMS_ENV": "production",
        "LMS_DATABASE_URL": database_url,
        "LMS_BROKER_URL": broker_url,
        "LMS_RESULT_BACKEND": broker_url,
        "LMS_SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "LMS_PII_KEY": "bench-pii-" + uuid.uuid4().hex,
        "LMS_CREDENTIALS_KEY": "bench-credentials-" + uuid.uuid4().hex,
        "LMS_CREDENTIALS_DOMAIN": "lms.bench.invalid",
        # Production refuses per-worker (memory://) log-in counters; the benchmark's Redis broker is shared.
        "LMS_RATELIMIT_STORAGE_URL": os.environ.get("LMS_RATELIMIT_STORAGE_URL") or broker_url,
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        *(["--threads", str(threads)] if threads > 1 else []),  # more than one: gunicorn's gthread workers
        "-b",
        f"127.0.0.1:{port}",
        *(["--access-logfile", "-"] if access_log else []),
        "--log-level",
        "warning",
        app,
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                refuse(script, f"gunicorn exited with {process.returncode}:\n{log.read_text()[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                connection.request("GET", "/healthz")
                connection.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    refuse(script, "gunicorn did not answer within 60 s")
                time.sleep(0.3)
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
