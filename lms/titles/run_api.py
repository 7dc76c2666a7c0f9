"""Evaluation runs under /api/v1/titles/runs: start one for a unit in your scope, follow its progress, list them.

A run is visible to whoever holds TITLES_VIEW on its unit (a province run to the province, not to a commune of
it: its summary covers other communes); starting one needs TITLES_ADMIN on the unit.
"""

from __future__ import annotations

from flask import abort, url_for
from flask_login import current_user
from sqlalchemy import select

from lms.api import bp
from lms.api.errors import ApiValidationError
from lms.api.idempotency import idempotent
from lms.api.pagination import page_of
from lms.api.schema import operation
from lms.auth.permissions import Permission, scoped
from lms.extensions import db
from lms.registry.models import AdminUnit, subtree
from lms.titles import runs
from lms.titles.models import EvaluationRun
from lms.titles.schemas import RunDetail, RunFailure, RunIn, RunPage, RunQuery

VIEW = Permission.TITLES_VIEW
ADMIN = Permission.TITLES_ADMIN
TAGS = ["titles"]


def get_run(run_id: int, permission: Permission = VIEW) -> EvaluationRun | None:
    """The run if it exists and its unit is in the user's scope for ``permission`` (else None: a 404)."""
    return db.session.scalar(
        scoped(select(EvaluationRun), EvaluationRun.unit_id, current_user, permission).where(EvaluationRun.id == run_id)
    )


def _detail(run: EvaluationRun) -> RunDetail:
    answer = RunDetail.model_validate(run)
    answer.failures = [RunFailure.model_validate(item) for item in runs.failures(run)]
    return answer


@bp.post("/titles/runs")
@operation(ADMIN, ok=RunDetail, status=202, json=RunIn, tags=TAGS, idempotent=True)
@idempotent
def start_titles_run(json: RunIn):
    """Queue an evaluation of every commune under a unit for a year; follow it at the ``Location`` given."""
    unit = db.session.get(AdminUnit, json.unit_id)  # in the caller's scope: the schema checked it
    assert unit is not None
    try:
        run = runs.start_run(unit, json.year, user=current_user)
    except runs.RunRefused as exc:
        raise ApiValidationError([{"field": "unit_id", "message": str(exc)}]) from exc
    # @idempotent commits; the launch task is sent after that commit.
    location = url_for("api.get_titles_run", run_id=run.id)
    return _detail(run), 202, {"Location": location}


@bp.get("/titles/runs/<int:run_id>")
@operation(VIEW, ok=RunDetail, tags=TAGS)
def get_titles_run(run_id: int) -> RunDetail:
    """A run's progress, its roll-up once done and the communes that failed."""
    run = get_run(run_id)
    if run is None:
        abort(404)
    return _detail(run)


@bp.get("/titles/runs")
@operation(VIEW, ok=RunPage, query=RunQuery, tags=TAGS)
def list_titles_runs(query: RunQuery) -> RunPage:
    """Runs of the units in the caller's scope, the latest first."""
    stmt = scoped(select(EvaluationRun), EvaluationRun.unit_id, current_user, VIEW)
    if query.unit_id is not None:
        unit = db.session.get(AdminUnit, query.unit_id)
        assert unit is not None  # in the caller's scope: the schema checked it
        stmt = stmt.where(EvaluationRun.unit_id.in_(select(AdminUnit.id).where(subtree(AdminUnit.path, unit.path))))
    if query.year is not None:
        stmt = stmt.where(EvaluationRun.year == query.year)
    if query.status is not None:
        stmt = stmt.where(EvaluationRun.status == query.status.value)
    return page_of(stmt.order_by(EvaluationRun.created_at.desc(), EvaluationRun.id.desc()), query, RunPage)
