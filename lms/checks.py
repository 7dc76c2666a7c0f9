"""The configuration an administrator may change without a code change, checked when the app is created: a replaced
file (``LMS_REPORT_ISSUERS_FILE``, ``LMS_TITLES_APPROVALS_FILE``) or a setting (``LMS_IT_TRAINED_DEFINITION``) that
is missing or malformed stops the start with a message naming the file, the entry, the line and what is wrong —
instead of a 500 on the first page that reads it. Each file is parsed once per version (its loader caches it), so
creating the app again costs nothing.

Criteria sets and plans are not here: they are loaded by a command (``flask titles load-criteria``, ``flask targets
load-plans``) that validates the whole file and refuses it before anything is written; the app reads them from the
database."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask


def check_config(
    app: Flask, *, issuers_file: str | Path | None = None, approvals_file: str | Path | None = None
) -> list[str]:
    """Validate the configured files (or the ones given) and settings; raise the first mistake
    (:class:`lms.core.configfile.ConfigFileError` or ``ValueError``); return the files checked."""
    from courses import it_skills
    from lms.registry import issuers
    from lms.titles import approvals

    issuers_path = Path(issuers_file or app.config.get("REPORT_ISSUERS_FILE") or issuers.DEFAULT_FILE)
    approvals_path = Path(approvals_file or app.config.get("TITLES_APPROVALS_FILE") or approvals.DEFAULT_FILE)
    issuers.check(issuers_path)
    approvals.check(approvals_path)
    with app.app_context():
        it_skills.trained_definition()  # LMS_IT_TRAINED_DEFINITION: a standard or module codes of it_skills.toml
    return [str(issuers_path), str(approvals_path), str(it_skills.DATA_FILE)]


def register(app: Flask) -> None:
    @app.cli.command("check-config")
    @click.option("--issuers", "issuers_file", type=click.Path(dir_okay=False), help="A report issuers file to check.")
    @click.option("--approvals", "approvals_file", type=click.Path(dir_okay=False), help="An approvals file to check.")
    def check_config_command(issuers_file: str | None, approvals_file: str | None) -> None:
        """Check the configuration files (or a replacement before pointing LMS_REPORT_ISSUERS_FILE or
        LMS_TITLES_APPROVALS_FILE at it); exit code 1 with the file, entry and line of the first mistake."""
        try:
            checked = check_config(app, issuers_file=issuers_file, approvals_file=approvals_file)
        except ValueError as exc:
            click.echo(f"error: {exc}", err=True)
            raise SystemExit(1) from exc
        for path in checked:
            click.echo(f"ok: {path}")
