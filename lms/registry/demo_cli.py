"""``flask setup-demo`` (what ``make run`` calls on every start) and ``flask seed-demo``."""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lms.auth.models import Role, User
from lms.auth.services import assign_role, create_user, normalise_email
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry import demo, services
from lms.registry.models import AdminUnit, Person, UnitLevel

# Published on every start, so these accounts must never exist outside a demo: both commands refuse production.
DEMO_PASSWORD = "hoctapsuotdoi"  # noqa: S105 - a published demo password ("lifelong learning")
DEMO_PROVINCE = "51"  # Quảng Ngãi, which the former Kon Tum communes joined in 2025


@dataclass(frozen=True)
class DemoLogin:
    email: str
    name: str  # used when no demo person stands behind the account
    role: Role
    level: UnitLevel  # the level of the unit the role is held on: the country, province 51, or a demo commune


DEMO_LOGINS = (
    DemoLogin("admin@demo.example.vn", "Quản trị hệ thống", Role.ADMINISTRATOR, UnitLevel.COUNTRY),
    DemoLogin("tinh@demo.example.vn", "Lãnh đạo tỉnh (demo)", Role.PROVINCE_LEADER, UnitLevel.PROVINCE),
    DemoLogin("xa@demo.example.vn", "Lãnh đạo xã (demo)", Role.COMMUNE_LEADER, UnitLevel.COMMUNE),
    DemoLogin("trungtam@demo.example.vn", "Quản lý trung tâm (demo)", Role.CENTRE_MANAGER, UnitLevel.COMMUNE),
    DemoLogin("giangvien@demo.example.vn", "Hướng dẫn viên (demo)", Role.INSTRUCTOR, UnitLevel.COMMUNE),
    DemoLogin("khuyenhoc@demo.example.vn", "Cán bộ khuyến học (demo)", Role.ASSOCIATION_OFFICER, UnitLevel.COMMUNE),
)


def register(app: Flask) -> None:
    @app.cli.command("setup-demo")
    def setup_demo_command() -> None:
        """Prepare this database for a demo: reference units, a small demo population and demo logins.

        Idempotent and quick once done; prints the demo logins every time.
        """
        _refuse_in_production()
        if _ensure_reference_units():
            click.echo("Loaded the official administrative units.")
        marker = demo.demo_marker()
        if marker is None:
            stats = demo.load_demo_data(demo.plan_demo(demo.DEFAULT_SEED, "demo"))
            click.echo(f"Generated demo data: {describe(stats)}.")
            marker = demo.demo_marker()
            assert marker is not None
        logins = _ensure_demo_users(marker)
        db.session.commit()
        _print_logins(logins)

    @app.cli.command("demo-logins")
    @click.option("--wait-for", metavar="URL", help="Print once this URL answers (make run: the web's /healthz).")
    @click.option("--timeout", type=int, default=300, show_default=True, help="Seconds to wait for the URL.")
    def demo_logins_command(wait_for: str | None, timeout: int) -> None:
        """Print the demo logins again, once the web server answers: make run's last lines, not lost above the
        start-up logs of three processes."""
        _refuse_in_production()
        if wait_for:
            _wait_for(wait_for, timeout)
        accounts = _existing_demo_accounts()
        if not accounts:
            raise click.ClickException("no demo login in this database: run 'flask setup-demo' first")
        _print_logins(accounts)
        if wait_for:
            click.echo(f"\nOpen {wait_for.removesuffix('/healthz')} and log in with one of them.")

    @app.cli.command("seed-demo")
    @click.option(
        "--seed",
        type=int,
        default=demo.DEFAULT_SEED,
        show_default=True,
        help="The same seed and scale always give the same data.",
    )
    @click.option(
        "--scale",
        type=click.Choice(list(demo.SCALES)),
        default="demo",
        show_default=True,
        help="; ".join(f"{s.name}: {s.description}" for s in demo.SCALES.values()),
    )
    @click.option("--force", is_flag=True, help="Delete the demo data generated earlier, then generate anew.")
    def seed_demo_command(seed: int, scale: str, force: bool) -> None:
        """Generate a demo population for the former Kon Tum communes into this database, showing progress."""
        _refuse_in_production()
        _ensure_reference_units()
        if demo.demo_marker() is not None:
            if not force:
                raise click.ClickException("demo data already exists in this database; use --force to replace it")
            _remove_demo_data()
        try:
            plan = demo.plan_demo(seed, scale)
            with progress_bar(plan.households, "households") as report:
                stats = demo.load_demo_data(plan, progress=report)
        except demo.DemoError as exc:
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        click.echo(f"Generated {describe(stats)} in {stats.seconds:.1f} s (seed {seed}, scale {scale}).")


def describe(stats: demo.LoadStats) -> str:
    rows = stats.rows
    return (
        f"{rows['household']:,} households, {rows['person']:,} persons, {rows['admin_unit']:,} villages, "
        f"{rows['clan']:,} clans, {rows['organisation']:,} organisations, "
        f"{rows['association_membership']:,} association memberships, {rows['clc']:,} centres"
    )


@contextmanager
def progress_bar(length: int, label: str) -> Iterator[demo.ProgressCallback]:
    """A progress bar on stderr, fed by ``progress(done, total)`` callbacks."""
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield lambda done, total: bar.update(done - bar.pos)


def _refuse_in_production() -> None:
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("demo data and demo logins (with a published password) are refused in production")


def _ensure_reference_units() -> bool:
    """Load the official units unless they are there (the pre-2025 Kon Tum province is loaded last)."""
    loaded = services.find_unit(services.KON_TUM_CODE, UnitLevel.PROVINCE, on=services.LAST_DAY_BEFORE_REFORM)
    if loaded is not None:
        return False
    services.load_reference_units()
    return True


def _remove_demo_data() -> None:
    try:
        deleted = demo.remove_demo_data()
    except IntegrityError as exc:
        db.session.rollback()
        raise click.ClickException(
            "other records refer to the demo data (users' work, enrolments…), so it "
            "cannot be replaced; use a fresh database instead"
        ) from exc
    click.echo(f"Removed the earlier demo data ({sum(deleted.values()):,} rows).")


@dataclass(frozen=True)
class _Account:
    login: DemoLogin
    unit: AdminUnit
    created: bool


def _ensure_demo_users(marker: AuditEvent) -> list[_Account]:
    """Create the demo users that do not exist yet; an existing account is left exactly as it is. Commune roles
    go to the first demo commune and, where the data has one, stand for the person holding that post there."""
    commune = _login_commune(marker)
    units = {
        UnitLevel.COUNTRY: services.country(),
        UnitLevel.PROVINCE: services.find_unit(DEMO_PROVINCE, UnitLevel.PROVINCE),
        UnitLevel.COMMUNE: commune,
    }
    people: dict[str, int] = marker.details.get("login_people", {}).get(commune.code, {})
    existing = set(
        db.session.scalars(
            select(User.email).where(User.email.in_([normalise_email(login.email) for login in DEMO_LOGINS]))
        )
    )
    accounts = []
    for login in DEMO_LOGINS:
        unit = units[login.level]
        assert unit is not None, f"reference unit for {login.level} missing"
        created = normalise_email(login.email) not in existing
        if created:
            person = db.session.get(Person, people[login.role.value]) if login.role.value in people else None
            user = create_user(login.email, person.full_name if person else login.name, DEMO_PASSWORD)
            user.person_id = person.id if person else None
            assign_role(user, login.role, unit)
        accounts.append(_Account(login, unit, created))
    return accounts


def _existing_demo_accounts() -> list[_Account]:
    """The demo logins present in this database, each with the unit its role is held on."""
    users = {
        user.email: user
        for user in db.session.scalars(
            select(User).where(User.email.in_([normalise_email(login.email) for login in DEMO_LOGINS]))
        )
    }
    accounts = []
    for login in DEMO_LOGINS:
        user = users.get(normalise_email(login.email))
        held = [a.unit for a in user.roles if a.role == login.role.value] if user else []
        if held:
            accounts.append(_Account(login, held[0], created=False))
    return accounts


def _wait_for(url: str, timeout: int) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - the operator's own URL, from the Procfile
                return
        except urllib.error.HTTPError:
            return  # the web server answers (a 503 only says the worker has not sent its first heartbeat yet)
        except OSError as exc:
            if time.monotonic() > deadline:
                raise click.ClickException(f"{url} did not answer within {timeout} s ({exc})") from exc
            time.sleep(0.5)


def _login_commune(marker: AuditEvent) -> AdminUnit:
    codes: list[str] = marker.details["communes"]
    code = demo.DEMO_COMMUNES[0] if demo.DEMO_COMMUNES[0] in codes else codes[0]
    commune = services.find_unit(code, UnitLevel.COMMUNE)
    if commune is None:
        raise click.ClickException(f"the demo commune {code} is not a current unit")
    return commune


def _print_logins(accounts: list[_Account]) -> None:
    created = sum(account.created for account in accounts)
    click.echo(f"\nDemo logins (development only{f'; {created} created now' if created else ''}):")
    rows = [("E-mail", "Password", "Role", "Unit")] + [
        (a.login.email, DEMO_PASSWORD, a.login.role.value, a.unit.full_name) for a in accounts
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        click.echo(
            "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[3]
        )
