"""A decision's print under /api/v1/titles/decision-prints: its progress (the print page polls it) and, once done,
where its PDF is. Visible to whoever may view the recognition it was asked from (ADR 47)."""

from __future__ import annotations

from flask import abort, url_for
from flask_login import current_user
from sqlalchemy import select

from lms.api import bp
from lms.api.schema import operation
from lms.auth.permissions import Permission
from lms.extensions import db
from lms.titles import recognition
from lms.titles.models import DecisionPrint, Recognition, RunStatus
from lms.titles.schemas import DecisionPrintOut

TAGS = ["titles"]


def get_print(print_id: int) -> DecisionPrint | None:
    """The print if the recognition it was asked from is in the user's view (else None: a 404, as for another
    commune's recognition)."""
    return db.session.scalar(
        select(DecisionPrint)
        .where(DecisionPrint.id == print_id)
        .where(
            DecisionPrint.recognition_id.in_(
                recognition.recognitions_select(current_user).order_by(None).with_only_columns(Recognition.id)
            )
        )
    )


def print_out(job: DecisionPrint) -> DecisionPrintOut:
    answer = DecisionPrintOut.model_validate(job)
    if job.status == RunStatus.DONE and job.size:
        answer.download_url = url_for("titles.decision_print_file", print_id=job.id)
    return answer


@bp.get("/titles/decision-prints/<int:print_id>")
@operation(Permission.TITLES_VIEW, ok=DecisionPrintOut, tags=TAGS)
def get_decision_print(print_id: int) -> DecisionPrintOut:
    """A decision print's progress (certificates drawn of the total) and, once done, the address of its PDF."""
    job = get_print(print_id)
    if job is None:
        abort(404)
    return print_out(job)
