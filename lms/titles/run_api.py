"""Evaluation runs under /api/v1/titles/runs: start one for a unit in your scope, follow its progress, list them.

A run is visible to whoever holds TITLES_VIEW on its unit (a province run to the province, not to a commune of
it: its summary covers other communes); starting one needs TITLES_ADMIN on the unit.
"""

from __future__ import annotations

from typing import Any

from flask import abort, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.api import bp
from lms.api.errors import ApiValidationError
from lms.api.idempotency import idempotent
from lms.api.pagination import paginate
from lms.auth.permissions import Permission, has_permission_anywhere, scoped
from lms.extensions import db
from lms.registry import services as registry
from lms.registry.models import AdminUnit, subtree
from lms.titles import runs
from lms.titles.models import EvaluationRun, RunStatus

VIEW = Permission.TITLES_VIEW
ADMIN = Permission.TITLES_ADMIN


def _require(permission: Permission) -> None:
    if not has_permission_anywhere(current_user, permission):
        abort(403)


def get_run(run_id: int, permission: Permission = VIEW) -> EvaluationRun | None:
    """The run if it exists and its unit is in the user's scope for ``permission`` (else None: a 404)."""
    return db.session.scalar(
        scoped(select(EvaluationRun), EvaluationRun.unit_id, current_user, permission).where(EvaluationRun.id == run_id)
    )


def run_detail_json(run: EvaluationRun) -> dict[str, Any]:
    body = runs.run_json(run)
    body["failures"] = [{"commune_id": item.commune_id, "message": item.message} for item in runs.failures(run)]
    return body


@bp.post("/titles/runs")
@login_required
@idempotent
def start_titles_run():
    _require(ADMIN)
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ApiValidationError([{"field": "", "message": "send a JSON object with unit_id and year"}])
    errors = []
    unit_id, year = data.get("unit_id"), data.get("year")
    if not isinstance(unit_id, int) or isinstance(unit_id, bool):
        errors.append({"field": "unit_id", "message": "required: the id of a commune, province or the country"})
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        errors.append({"field": "year", "message": "required: a year from 2000 to 2100"})
    unit = registry.get_in_scope(AdminUnit, unit_id, current_user, ADMIN) if isinstance(unit_id, int) else None
    if isinstance(unit_id, int) and unit is None:
        errors.append({"field": "unit_id", "message": "no such unit in your scope"})
    if errors:
        raise ApiValidationError(errors)
    assert unit is not None
    assert isinstance(year, int)
    try:
        run = runs.start_run(unit, year, user=current_user)
    except runs.RunRefused as exc:
        raise ApiValidationError([{"field": "unit_id", "message": str(exc)}]) from exc
    # @idempotent commits; the launch task is sent after that commit.
    return run_detail_json(run), 202, {"Location": url_for("api.get_titles_run", run_id=run.id)}


@bp.get("/titles/runs/<int:run_id>")
@login_required
def get_titles_run(run_id: int):
    _require(VIEW)
    run = get_run(run_id)
    if run is None:
        abort(404)
    return run_detail_json(run)


@bp.get("/titles/runs")
@login_required
def list_titles_runs():
    _require(VIEW)
    stmt = scoped(select(EvaluationRun), EvaluationRun.unit_id, current_user, VIEW)
    errors = []
    if (unit_id := request.args.get("unit_id", type=int)) is not None:
        unit = registry.get_in_scope(AdminUnit, unit_id, current_user, VIEW)
        if unit is None:
            errors.append({"field": "unit_id", "message": "no such unit in your scope"})
        else:
            stmt = stmt.where(EvaluationRun.unit_id.in_(select(AdminUnit.id).where(subtree(AdminUnit.path, unit.path))))
    if (year := request.args.get("year")) is not None:
        if not year.isdigit():
            errors.append({"field": "year", "message": "a year such as 2026"})
        else:
            stmt = stmt.where(EvaluationRun.year == int(year))
    if (status := request.args.get("status")) is not None:
        if status not in {s.value for s in RunStatus}:
            errors.append({"field": "status", "message": "one of " + ", ".join(s.value for s in RunStatus)})
        stmt = stmt.where(EvaluationRun.status == status)
    if errors:
        raise ApiValidationError(errors)
    return paginate(stmt.order_by(EvaluationRun.created_at.desc(), EvaluationRun.id.desc()), runs.run_json)
