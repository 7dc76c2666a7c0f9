"""``flask bench``: measurements on generated data of realistic size (results in docs/benchmarks.md).

A benchmark works on a database of its own, built from the migrations: a new SQLite file by default, or an
emptied PostgreSQL schema. It never touches the database the app is configured with.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from lms.extensions import db
from lms.registry import demo, services
from lms.registry.demo_cli import describe, progress_bar

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"

bench = AppGroup("bench", help="Benchmarks on generated data of realistic size (see docs/benchmarks.md).")


def register(app: Flask) -> None:
    app.cli.add_command(bench)


@dataclass
class _Database:
    """Where a benchmark writes, and how to get rid of what it wrote."""

    url: str
    discard: Callable[[], None]


@dataclass
class _Result:
    scale: str
    seed: int
    database: str  # "SQLite 3.40.1", "PostgreSQL 15.20"
    setup_seconds: float  # migrations and reference units, not part of the measurement
    stats: demo.LoadStats
    wall_seconds: float  # generation, inserts and the commit
    peak_rss_mib: float
    database_mib: float


@bench.command("generate")
@click.option("--scale", type=click.Choice(list(demo.SCALES)), default="province", show_default=True)
@click.option("--seed", type=int, default=demo.DEFAULT_SEED, show_default=True)
@click.option(
    "--database-url",
    help="Default: a new SQLite file in a temporary directory. For PostgreSQL, the "
    "schema public of that database is dropped and rebuilt.",
)
@click.option("--batch-size", type=click.IntRange(100, 100_000), default=demo.BATCH_SIZE, show_default=True)
@click.option("--keep", is_flag=True, help="Keep the generated database instead of discarding it.")
@click.option("--yes", is_flag=True, help="Drop the PostgreSQL schema without asking.")
def generate_command(scale: str, seed: int, database_url: str | None, batch_size: int, keep: bool, yes: bool) -> None:
    """Generate demo data at SCALE and load it into an empty database; report rows/s per table and overall,
    wall time, and peak memory, as Markdown."""
    target = _prepare(database_url, yes)
    try:
        result = _measure(target.url, scale, seed, batch_size)
    finally:
        if keep:
            click.echo(f"Kept the data in {make_url(target.url).render_as_string(hide_password=True)}", err=True)
        else:
            target.discard()
    _report(result)


def _prepare(url: str | None, yes: bool) -> _Database:
    if url is None:
        return _scratch_sqlite()
    if make_url(url) == make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]):
        raise click.ClickException("that is the database this app uses; benchmarks need a database of their own")
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        return _emptied_postgresql(url, yes)
    if backend == "sqlite":
        return _new_sqlite_file(url)
    raise click.ClickException("give a PostgreSQL or a SQLite URL")


def _scratch_sqlite() -> _Database:
    scratch = tempfile.mkdtemp(prefix="lms-bench-")
    return _Database(f"sqlite:///{scratch}/bench.sqlite", lambda: shutil.rmtree(scratch, ignore_errors=True))


def _emptied_postgresql(url: str, yes: bool) -> _Database:
    if not yes:
        shown = make_url(url).render_as_string(hide_password=True)
        click.confirm(f"Drop every table in schema public of {shown}?", abort=True)
    _reset_schema(url)
    return _Database(url, lambda: _reset_schema(url))


def _new_sqlite_file(url: str) -> _Database:
    """Only a file that does not exist yet, so a benchmark never measures (or deletes) somebody's data."""
    path = make_url(url).database
    if not path or path == ":memory:" or Path(path).exists():
        raise click.ClickException("a SQLite URL must name a file that does not exist yet")

    def discard() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    return _Database(url, discard)


def _reset_schema(url: str) -> None:
    """PostgreSQL only: an empty schema public, as a fresh database has."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def _measure(url: str, scale: str, seed: int, batch_size: int) -> _Result:
    """Build the schema and the reference units (not timed), then time generating and loading the data."""
    with _app_for(url) as app, app.app_context():
        started = perf_counter()
        upgrade(directory=str(MIGRATIONS))
        services.load_reference_units()
        db.session.commit()
        setup_seconds = perf_counter() - started
        plan = demo.plan_demo(seed, scale)
        started = perf_counter()
        with progress_bar(plan.households, f"{scale}: households") as report:
            stats = demo.load_demo_data(plan, progress=report, batch_size=batch_size)
            db.session.commit()
        wall_seconds = perf_counter() - started
        result = _Result(
            scale, seed, _database_name(), setup_seconds, stats, wall_seconds, _peak_rss_mib(), _database_mib()
        )
        db.session.remove()
        db.engine.dispose()
    return result


@contextmanager
def _app_for(url: str) -> Iterator[Flask]:
    """An app like the running one, on another database. Building it makes its Celery app the current one
    (every Celery() does), so the running app's is handed back afterwards."""
    from lms import create_app

    calling = current_app.extensions["celery"]
    try:
        yield create_app({"ENV_NAME": current_app.config["ENV_NAME"], "SQLALCHEMY_DATABASE_URI": url})
    finally:
        calling.set_current()
        calling.set_default()


def _peak_rss_mib() -> float:
    """The process's peak resident set size so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def _database_name() -> str:
    dialect = db.engine.dialect
    version = ".".join(str(part) for part in dialect.server_version_info or ())
    return f"{'PostgreSQL' if dialect.name == 'postgresql' else 'SQLite'} {version}"


def _database_mib() -> float:
    if db.engine.dialect.name == "postgresql":
        size = db.session.scalar(select(func.pg_database_size(func.current_database())))
    else:
        size = db.session.scalar(text("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size"))
    return (size or 0) / 1024 / 1024


def _report(result: _Result) -> None:
    stats = result.stats
    click.echo(
        f"\n{result.scale} scale, seed {result.seed}, into {result.database}; {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}; schema and reference units took "
        f"{result.setup_seconds:.1f} s (not counted)."
    )
    click.echo(f"{describe(stats)}.\n")
    click.echo("| Table | Rows | INSERT time (s) | Rows/s |\n|---|---:|---:|---:|")
    for table, rows in stats.rows.items():
        seconds = stats.insert_seconds[table]
        click.echo(f"| {table} | {rows:,} | {seconds:.2f} | {_rate(rows, seconds)} |")
    generating = result.wall_seconds - sum(stats.insert_seconds.values())
    click.echo(f"| (generating rows in Python, committing) | | {generating:.2f} | |")
    click.echo(
        f"| **all, wall time** | **{stats.total_rows:,}** | **{result.wall_seconds:.2f}** | "
        f"**{_rate(stats.total_rows, result.wall_seconds)}** |\n"
    )
    click.echo("| Scale | Database | Households | Persons | Rows | Wall time | Rows/s | Peak RSS | Database size |")
    click.echo("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    click.echo(
        f"| {result.scale} | {result.database} | {stats.rows['household']:,} | {stats.rows['person']:,} | "
        f"{stats.total_rows:,} | {result.wall_seconds:.1f} s | {_rate(stats.total_rows, result.wall_seconds)} "
        f"| {result.peak_rss_mib:,.0f} MiB | {result.database_mib:,.0f} MiB |"
    )


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "–"
