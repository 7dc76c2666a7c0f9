"""``flask --app lms work …``: the parked (stuck) work of the outbox and its retry (ADR 23)."""

from __future__ import annotations

import click
from flask import Flask

from lms.extensions import db


def register(app: Flask) -> None:
    @app.cli.group("work")
    def work_group() -> None:
        """Work that failed too often and waits for a person."""

    @work_group.command("list")
    def list_parked() -> None:
        """List the parked marks; exit code 1 if there is any (for monitoring)."""
        from lms import work

        items = work.parked()
        for item in items:
            click.echo(f"{item['key']}\t{item['label']}\t{item['attempts']} attempts\t{item['last_error']}")
        click.echo(f"{len(items)} parked")
        if items:
            raise SystemExit(1)

    @work_group.command("retry")
    @click.argument("keys", nargs=-1)
    @click.option("--all", "everything", is_flag=True, help="retry every parked mark")
    def retry(keys: tuple[str, ...], everything: bool) -> None:
        """Un-park marks (KEYS as listed: titles:<commune>:<year>, completions:<class>) and send their tasks."""
        from lms import work

        if not keys and not everything:
            raise click.UsageError("name the marks to retry (see 'work list') or pass --all")
        count = work.retry(None if everything else list(keys))
        db.session.commit()
        click.echo(f"{count} marks sent again")
