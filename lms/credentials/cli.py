"""``flask credentials …``: issuers' keys (create, rotate, list) and verifying a credential file."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from config import ConfigError
from lms.extensions import db

credentials = AppGroup("credentials", help="Verifiable credentials: issuers' keys and verification.")
keys = AppGroup("keys", help="Issuers' Ed25519 signing keys.")
credentials.add_command(keys)

ISSUER_HELP = "instance, clc:ID, recognition:ID (the authority that decided it) or an issuer's slug"


def register(app: Flask) -> None:
    app.cli.add_command(credentials)


@keys.command("create")
@click.option("--issuer", "spec", required=True, help=ISSUER_HELP)
def create_command(spec: str) -> None:
    """Create the issuer's first key (refused if it has an active one: rotate it)."""
    from lms.credentials import services

    try:
        key = services.create_key(services.find_issuer(spec))
    except (services.CredentialError, ConfigError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    kid = services.kid_for(key)
    db.session.commit()
    click.echo(f"created {kid}")


@keys.command("rotate")
@click.option("--issuer", "spec", required=True, help=ISSUER_HELP)
def rotate_command(spec: str) -> None:
    """Retire the issuer's active key (still published, no longer able to sign) and create a new one."""
    from lms.credentials import services

    try:
        key = services.rotate_key(services.find_issuer(spec))
    except (services.CredentialError, ConfigError) as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    kid = services.kid_for(key)
    db.session.commit()
    click.echo(f"rotated: new key {kid}")


@keys.command("list")
def list_command() -> None:
    """Every issuer with its keys (active or retired)."""
    from sqlalchemy import select

    from lms.credentials import services
    from lms.credentials.models import Issuer

    for issuer in db.session.scalars(select(Issuer).order_by(Issuer.slug)):
        click.echo(f"{issuer.slug}\t{issuer.name}\t{services.did_for(issuer)}")
        for key in issuer.keys:
            state = f"retired {key.retired_at:%Y-%m-%d %H:%M}" if key.retired_at else "active"
            click.echo(f"  {key.key_id}\t{state}")


@credentials.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", default="", help="The holder's full name (identity card): was the credential issued to it?")
def verify_command(file: Path, name: str) -> None:
    """Verify a credential: a file holding the compact JWT, the JSON file downloaded from a verification page, or
    the text of a certificate's credential QR code.
    Says in Vietnamese what it proves (and, with --name, whether it names that person); exit status 1 if it is not
    valid or the name does not match."""
    from lms.credentials import services

    result = services.verify(services.presented_token(file.read_text(encoding="utf-8")), name=name)
    for check in result.checks:
        click.echo(f"  ✓ {check}")
    click.echo(("HỢP LỆ: " if result.valid else f"KHÔNG HỢP LỆ ({result.reason}): ") + result.message)
    if result.name_message:
        click.echo(result.name_message)
    if not result.valid or result.name_match is False:
        raise SystemExit(1)
