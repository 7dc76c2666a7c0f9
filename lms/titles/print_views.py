"""A decision's print as pages (ADR 47): the print page of a decision (start a print, or follow the one under way,
or download the last one), and the download of a finished print.

The print page refreshes its progress bar from the JSON API without reloading (``fetch``, as the import and run
pages do); without JavaScript a ``<noscript>`` meta refresh reloads it every few seconds until the print is
finished.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms.auth.decorators import permission_required
from lms.auth.permissions import Permission
from lms.core.forms import LmsForm
from lms.extensions import db
from lms.titles import bp, documents, printing, recognition
from lms.titles.models import DecisionPrint, Recognition, RecognitionStatus, RunStatus
from lms.titles.print_api import get_print, print_out
from lms.titles.recognition_forms import TITLE_NAMES

VIEW = Permission.TITLES_VIEW


def _decision_row(recognition_id: int) -> Recognition:
    """The recognition in the user's view whose decision is printed (404 for another commune's, as elsewhere)."""
    row = db.session.scalar(recognition.recognitions_select(current_user).where(Recognition.id == recognition_id))
    if row is None:
        abort(404)
    if row.status != RecognitionStatus.RECOGNISED or row.decision_date is None:
        abort(409, description=_("Only a recognised title has a decision to print."))
    return row


@bp.route("/recognitions/<int:recognition_id>/decision/print", methods=["GET", "POST"])
@permission_required(VIEW)
def decision_print(recognition_id: int):
    row = _decision_row(recognition_id)
    form = LmsForm()
    size = documents.decision_size(row)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        _job, started = printing.start(row, user=current_user, base_url=_print_base_url(), total=size)
        db.session.commit()
        if started:
            flash(_("The certificates are being drawn. This page shows how far it has come."), "success")
        else:
            flash(_("This decision is already being printed: here is how far it has come."), "info")
        return redirect(url_for("titles.decision_print", recognition_id=row.id), 303)
    latest = printing.latest(row)
    open_ = latest is not None and latest.status not in printing.FINISHED
    return render_template(
        "titles/recognition/decision_print.html",
        row=row,
        size=size,
        job=latest,
        data=print_out(latest).model_dump(mode="json") if latest else None,
        open=open_,
        form=form,
        title_names=TITLE_NAMES,
        status_names=status_names(),
    )


@bp.get("/decision-prints/<int:print_id>/file.pdf")
@permission_required(VIEW)
def decision_print_file(print_id: int):
    """A finished print's PDF (only the latest of its decision is kept)."""
    job = get_print(print_id)
    if job is None or job.status != RunStatus.DONE:
        abort(404)
    content = db.session.scalar(select(DecisionPrint.content).where(DecisionPrint.id == job.id))
    if not content:
        abort(410, description=_("A newer print of this decision replaced this one: print it again from its page."))
    return documents.pdf_response(content, printing.filename(job))


def _print_base_url() -> str:
    """Where the printed QR codes lead: the configured credentials host when there is one (production requires it),
    not the request's Host header — the print is kept and handed to everyone who opens the decision, so a forged
    Host would put another site's address on every certificate of it."""
    domain = current_app.config.get("CREDENTIALS_DOMAIN")
    return f"https://{domain}/" if domain else request.host_url


def status_names() -> dict[str, str]:
    return {
        RunStatus.QUEUED.value: _("waiting for its turn"),
        RunStatus.RUNNING.value: _("drawing the certificates"),
        RunStatus.DONE.value: _("ready"),
        RunStatus.FAILED.value: _("failed"),
    }
