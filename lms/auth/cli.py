from __future__ import annotations

import click
from flask import Flask

from lms.auth.models import ApiToken, Role, User
from lms.auth.services import AccountError, assign_role, create_user, end_sessions
from lms.extensions import db
from lms.registry.services import find_unit


def register(app: Flask) -> None:
    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
    @click.option(
        "--role", type=click.Choice([r.value for r in Role]), default=Role.ADMINISTRATOR.value, show_default=True
    )
    @click.option(
        "--unit",
        "unit_code",
        default="VN",
        show_default=True,
        help="Code of the unit the role is held on (VN = the whole country).",
    )
    def create_user_command(email: str, name: str, password: str, role: str, unit_code: str) -> None:
        """Create a user holding ROLE on a unit (the first administrator: the defaults)."""
        unit = find_unit(unit_code)
        if unit is None:
            raise click.ClickException(f"no current unit with code {unit_code!r}; run 'flask load-units' first")
        try:
            user = create_user(email, name, password)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        assign_role(user, Role(role), unit)
        db.session.commit()
        click.echo(f"created {user.email} as {role} on {unit.full_name}")

    @app.cli.command("create-token")
    @click.option("--email", required=True)
    @click.option("--name", required=True, help="What the token is for, e.g. the device name.")
    def create_token_command(email: str, name: str) -> None:
        """Issue an API token for a user; the token is printed once."""
        user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"no user with e-mail {email}")
        _, secret = ApiToken.issue(user, name)
        db.session.commit()
        click.echo(secret)

    @app.cli.command("end-sessions")
    @click.option("--email", required=True)
    def end_sessions_command(email: str) -> None:
        """End every session and remember-me cookie of a user (a lost phone, a departed officer)."""
        user = db.session.scalar(db.select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"no user with e-mail {email}")
        end_sessions(user, reason="administrator")
        db.session.commit()
        click.echo(f"ended every session of {user.email}")
