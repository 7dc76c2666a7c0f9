from __future__ import annotations

from datetime import date

import click
from flask import Flask

from courses import services
from lms.extensions import db
from lms.registry.services import find_unit


def register(app: Flask) -> None:
    @app.cli.command("load-holidays")
    def load_holidays_command() -> None:
        """Load the national public holidays, Tết included, that recurring schedules skip. Idempotent."""
        added = services.load_national_holidays()
        db.session.commit()
        click.echo(f"{added} national holidays added")

    @app.cli.command("add-holiday")
    @click.option("--unit", "unit_code", default="VN", show_default=True,
                  help="Code of the current unit whose subtree the day off applies to.")
    @click.option("--day", type=click.DateTime(formats=["%Y-%m-%d", "%d/%m/%Y"]), required=True)
    @click.option("--name", required=True)
    def add_holiday_command(unit_code: str, day: date, name: str) -> None:
        """Add a day without sessions for a unit (a province's own holiday, a commune's festival)."""
        unit = find_unit(unit_code)
        if unit is None:
            raise click.ClickException(f"no current unit with code {unit_code!r}")
        try:
            services.add_holiday(unit, day.date() if hasattr(day, "date") else day, name)
        except services.CourseError as exc:
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"{name} on {day:%d/%m/%Y} added for {unit.full_name}")
