from __future__ import annotations

import time
from pathlib import Path

import click
from flask import Flask
from flask_babel import gettext as _

from lms.core.formatting import speaking
from lms.extensions import db
from lms.registry import services

PICK_UP_SECONDS = 60


def register(app: Flask) -> None:
    @app.cli.command("load-units")
    def load_units_command() -> None:
        """Load the official administrative units (current, and pre-2025 Kon Tum with lineage). Idempotent."""
        counts = services.load_reference_units()
        db.session.commit()
        click.echo(", ".join(f"{k}={v}" for k, v in counts.items()))

    @app.cli.command("import-file")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--kind", required=True, type=click.Choice(["villages", "households", "organisations", "officers"]))
    @click.option("--unit", "unit_code", required=True, help="Code of the current unit the file belongs to.")
    @click.option("--inline/--queue", default=False, help="Run in this process instead of sending the job to a worker.")
    @click.option("--dry-run", is_flag=True, help="Check the file and print what it would change; write nothing.")
    def import_file_command(path: Path, kind: str, unit_code: str, inline: bool, dry_run: bool) -> None:
        """Import a spreadsheet (xlsx or csv), showing progress; exits non-zero if the file is refused."""
        from lms.registry.importer import ImportRefused, create_job, execute_job
        from lms.registry.models import ImportJob, ImportStatus

        unit = services.find_unit(unit_code)
        if unit is None:
            with speaking("vi"):
                raise click.ClickException(_("no current unit has the code %(code)s", code=unit_code))
        try:
            job = create_job(
                kind=kind,
                filename=path.name,
                content=path.read_bytes(),
                unit=unit,
                user=None,
                enqueue=not inline,
                dry_run=dry_run,
            )
        except ImportRefused as exc:
            raise click.ClickException(str(exc)) from exc
        db.session.commit()
        job_id = job.id
        if inline:
            execute_job(job_id)
        waited_since = time.monotonic()
        with speaking("vi"):
            label = _("import #%(id)s", id=job_id)
        with click.progressbar(length=100, label=label) as bar:
            shown = 0
            while True:
                db.session.expire_all()
                current = db.session.get(ImportJob, job_id)
                assert current is not None
                job = current
                bar.update(job.progress - shown)
                shown = job.progress
                if job.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED, ImportStatus.PREVIEWED):
                    break
                if job.status == ImportStatus.PENDING and time.monotonic() - waited_since > PICK_UP_SECONDS:
                    with speaking("vi"):
                        raise click.ClickException(
                            _(
                                "no worker picked up import #%(id)s within %(seconds)s s: start the worker (make run, "
                                "or celery -A lms.worker worker), or run again with --inline",
                                id=job_id,
                                seconds=PICK_UP_SECONDS,
                            )
                        )
                db.session.rollback()  # never sleep inside a transaction (SQLite: it holds the write lock)
                time.sleep(0.5)
        with speaking("vi"):  # an administrator reads it: Vietnamese, as the pages (ADR 22)
            if job.status == ImportStatus.FAILED:
                click.echo(job.message, err=True)
                for error in job.errors[:50]:
                    click.echo(
                        "  "
                        + _(
                            "row %(row)s, column %(column)s: %(message)s",
                            row=error.get("row"),
                            column=error.get("column"),
                            message=error.get("message_vi") or error.get("message"),
                        ),
                        err=True,
                    )
                if len(job.errors) > 50:
                    click.echo("  " + _("… and %(n)s more", n=len(job.errors) - 50), err=True)
                raise SystemExit(1)
            if job.status == ImportStatus.PREVIEWED and job.preview is not None:
                _echo_preview(job.preview)
                click.echo(_("dry run: nothing was written"))
                return
            click.echo(job.message)  # what was written, in the job's language (the pages show the same line)


def _counts(entity: str, counts: dict) -> str:
    from lms.registry.labels import IMPORT_ENTITY_NAMES

    return _(
        "%(entity)s: %(created)s new, %(updated)s changed, %(unchanged)s unchanged",
        entity=str(IMPORT_ENTITY_NAMES.get(entity, entity)),
        created=counts.get("created", 0),
        updated=counts.get("updated", 0),
        unchanged=counts.get("unchanged", 0),
    )


def _echo_preview(preview: dict) -> None:
    from lms.registry.labels import IMPORT_FIELD_NAMES

    kinds = {"new": _("new"), "changed": _("changed")}
    for entity, counts in preview["counts"].items():
        click.echo(_counts(entity, counts))
        for kind in ("new", "changed"):
            for row in preview["samples"][entity][kind]:
                changes = "; ".join(
                    f"{IMPORT_FIELD_NAMES.get(c['field'], c['field'])}: {c['old']} → {c['new']}" for c in row["changes"]
                )
                line = _("%(kind)s (row %(row)s): %(label)s", kind=kinds[kind], row=row["row"], label=row["label"])
                click.echo("  " + line + (f" [{changes}]" if changes else ""))
    for text in preview.get("consequences", []):
        click.echo(_("then: %(text)s", text=text))
    for text in preview.get("warnings", []):
        click.echo(_("check: %(text)s", text=text))
