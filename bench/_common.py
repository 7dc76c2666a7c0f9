"""What every benchmark script shares: it runs only against a throw-away PostgreSQL database and Redis database on
this machine (never the test suite's, never the app's configured one), can empty that database, and reports
nearest-rank percentiles."""

from __future__ import annotations

import os
import sys
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
