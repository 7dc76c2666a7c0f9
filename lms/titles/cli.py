"""``flask titles …``: load criteria sets, evaluate a scope with a progress bar, reconcile."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from lms.celery import _PENDING_KEY as PENDING_TASKS
from lms.core.clock import local_today
from lms.extensions import db
from lms.registry import services as registry
from lms.titles import runs
from lms.titles.models import EvaluationRun, RunStatus

PICK_UP_SECONDS = 60

titles = AppGroup("titles", help="Titles: criteria sets and evaluations.")


def register(app: Flask) -> None:
    app.cli.add_command(titles)


@titles.command("load-criteria")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_criteria_command(files: tuple[Path, ...]) -> None:
    """Load criteria-set files (default: the shipped ones) as new versions; a file already loaded is left as is.
    All or nothing: any error in any file loads none. Then re-evaluate with ``flask titles evaluate``."""
    from lms.titles.criteria import CriteriaError, load_criteria, load_shipped_criteria

    try:
        loaded = [load_criteria(path) for path in files] if files else load_shipped_criteria()
    except CriteriaError as exc:
        db.session.rollback()
        for error in exc.errors:
            click.echo(f"  {error}", err=True)
        raise click.ClickException("no criteria set was loaded; fix the errors above") from exc
    db.session.commit()
    for row in loaded:
        click.echo(f"{row.code} v{row.version} ({row.status}{', active' if row.active else ''})")


@titles.command("seed-demo")
@click.option("--year", type=int, default=lambda: local_today().year, show_default="this year")
def seed_demo_command(year: int) -> None:
    """Demo learning and assessments in the demo communes (after setup-demo and load-criteria), so eligibility,
    recognitions and dashboards are not empty. Idempotent; refused in production."""
    from lms.titles.demo import seed_titles_demo

    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("demo data is refused in production")
    added = seed_titles_demo(year)
    db.session.commit()
    click.echo(", ".join(f"{count} {what.replace('_', ' ')}" for what, count in added.items()) + f" added for {year}")


@titles.command("evaluate")
@click.option("--unit", "unit_code", required=True, help="Code of a current commune, province, or 'VN' (country).")
@click.option("--year", type=int, required=True)
@click.option("--wait/--no-wait", default=True, show_default=True, help="Show progress until the run closes.")
@click.option("--inline", is_flag=True, help="Evaluate in this process instead of sending the tasks to workers.")
def evaluate_command(unit_code: str, year: int, wait: bool, inline: bool) -> None:
    """Evaluate every commune under UNIT for YEAR; exits non-zero if any commune failed."""
    unit = registry.find_unit(unit_code)
    if unit is None:
        raise click.ClickException(f"no current unit with code {unit_code!r}")
    _start_and_follow(lambda: [runs.start_run(unit, year)], wait=wait, inline=inline)


@titles.command("reconcile")
@click.option("--year", type=int, help="Default: the current year, and the previous one until the end of March.")
@click.option("--wait/--no-wait", default=True, show_default=True)
@click.option("--inline", is_flag=True, help="Evaluate in this process instead of sending the tasks to workers.")
def reconcile_command(year: int | None, wait: bool, inline: bool) -> None:
    """Re-evaluate every commune-year evaluated in YEAR, compare every stored result with its recomputation, repair
    what differs (an audit event per row) and report drift; exit code 1 if there was drift (for cron and
    monitoring)."""
    _start_and_follow(lambda: runs.start_reconciliation(year), wait=wait, inline=inline, fail_on_drift=True)


def _start_and_follow(start, *, wait: bool, inline: bool, fail_on_drift: bool = False) -> None:  # type: ignore[no-untyped-def]
    try:
        started: list[EvaluationRun] = start()
    except runs.RunRefused as exc:
        raise click.ClickException(str(exc)) from exc
    if inline:
        db.session.info.pop(PENDING_TASKS, None)  # no launch task: the run is launched here
    db.session.commit()
    run_ids = [run.id for run in started]
    failed = False
    for run_id in run_ids:
        if inline:
            runs.run_inline(run_id)
        if wait or inline:
            failed |= not _follow(run_id)
            drift = (_reload(run_id).summary or {}).get("drift", 0)
            if fail_on_drift and drift:
                click.echo(f"run #{run_id}: {drift} eligibility rows had drifted and were repaired", err=True)
                failed = True
        else:
            click.echo(f"run #{run_id} queued")
    if failed:
        raise SystemExit(1)


def _follow(run_id: int) -> bool:
    """Show the run's progress until it closes; print its summary. True if it succeeded."""
    waited_since = time.monotonic()
    run = _reload(run_id)
    with click.progressbar(length=max(run.total, 1), label=f"run #{run_id} ({run.kind}, {run.year})") as bar:
        shown = 0
        while True:
            run = _reload(run_id)
            if run.total:
                bar.length = run.total
            finished = run.done + run.failed
            bar.update(finished - shown)
            shown = finished
            if run.status in runs.FINISHED:
                break
            if run.status == RunStatus.QUEUED and time.monotonic() - waited_since > PICK_UP_SECONDS:
                raise click.ClickException(
                    f"no worker picked up run #{run_id} within {PICK_UP_SECONDS} s: start the worker (make run, "
                    "or celery -A lms.worker worker), or run again with --inline"
                )
            db.session.rollback()  # never sleep inside a transaction (SQLite: it holds the write lock)
            time.sleep(0.5)
    summary = run.summary or {}
    click.echo(
        f"run #{run_id}: {run.status}; {run.done} of {run.total} communes done, {run.failed} failed: "
        f"{summary.get('evaluated', run.done)} evaluated, {summary.get('unchanged', 0)} left as they were (nothing "
        "changed since their last evaluation), "
        f"{summary.get('changed', 0)} eligibility rows changed, drift {summary.get('drift', 0)}"
    )
    for title, counts in sorted((summary.get("titles") or {}).items()):
        click.echo(
            f"  {title}: {counts.get('eligible', 0)} eligible of {counts.get('subjects', 0)}, "
            f"{counts.get('changed', 0)} changed"
        )
    if run.status == RunStatus.FAILED:
        for item in runs.failures(run, limit=50):
            click.echo(f"  commune {item.commune_id}: {item.message}", err=True)
        click.echo(run.message, err=True)
        return False
    return True


def _reload(run_id: int) -> EvaluationRun:
    db.session.expire_all()
    run = db.session.get(EvaluationRun, run_id)
    assert run is not None
    return run
