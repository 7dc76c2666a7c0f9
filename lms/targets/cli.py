"""``flask targets …``: load plan versions, recompute indicator values of a unit and year (with progress)."""

from __future__ import annotations

import sys
from pathlib import Path
from time import perf_counter

import click
from flask import Flask
from flask.cli import AppGroup

from lms.extensions import db
from lms.registry.models import UnitLevel
from lms.registry.services import LAST_DAY_BEFORE_REFORM, find_unit
from lms.targets import compute
from lms.targets.plans import PLANS_DIR, PlanError, load_plans
from lms.targets.tasks import CHUNK

targets = AppGroup("targets", help="Plan targets: load plans, recompute indicator values.")


def register(app: Flask) -> None:
    from lms.targets import bench  # noqa: F401 - adds "flask bench targets" to the benchmark group

    app.cli.add_command(targets)


@targets.command("load-plans")
@click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=PLANS_DIR,
    show_default=True,
    help="Folder of plan files (*.toml).",
)
def load_plans_command(directory: Path) -> None:
    """Load every plan file: unchanged content keeps its version, new content becomes the active version."""
    try:
        results = load_plans(directory)
    except PlanError as exc:
        raise click.ClickException("\n".join(exc.errors)) from exc
    db.session.commit()
    for result in results:
        plan = result.plan
        state = "loaded as a new version" if result.created else "unchanged"
        click.echo(f"{plan.code} v{plan.version}: {len(plan.indicators)} indicators, {state}")
    if any(r.created for r in results):
        click.echo("values follow within a minute when a worker and beat run; or: flask targets recompute")


@targets.command("recompute")
@click.option(
    "--unit",
    "unit_code",
    default="VN",
    show_default=True,
    help="Code of the unit whose communes to recompute (a commune, a province, VN).",
)
@click.option(
    "--level",
    type=click.Choice([lv.value for lv in UnitLevel]),
    default=None,
    help="The unit's level, when a code is used at several levels.",
)
@click.option("--pre2025", is_flag=True, help="The unit is a pre-2025 one (e.g. Kon Tum province 62).")
@click.option("--year", type=int, required=True)
def recompute_command(unit_code: str, level: str | None, pre2025: bool, year: int) -> None:
    """Recount every active plan's indicators for the unit's communes and year, then roll up; shows progress."""
    unit = None
    for candidate in [level] if level else ["country", "province", "commune", "district", "village"]:
        unit = find_unit(unit_code, candidate, on=LAST_DAY_BEFORE_REFORM if pre2025 else None)
        if unit is not None:
            break
    if unit is None:
        raise click.ClickException(f"no {'pre-2025' if pre2025 else 'current'} unit with code {unit_code!r}")
    communes = compute.communes_under(unit)
    if not communes:
        raise click.ClickException(f"{unit.full_name} has no communes")
    started = perf_counter()
    try:
        with click.progressbar(length=len(communes), label=f"{unit.full_name} {year}", file=sys.stderr) as bar:
            for start in range(0, len(communes), CHUNK):
                chunk = communes[start : start + CHUNK]
                compute.recompute(chunk, year)
                db.session.commit()
                bar.update(len(chunk))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    compute.rollup_if_needed(year)
    db.session.commit()
    click.echo(f"{len(communes)} communes recomputed and rolled up in {perf_counter() - started:.1f} s")
