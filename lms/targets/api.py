"""Plans and indicator values under /api/v1/targets. Values are scoped to the caller's units (TARGETS_VIEW); plans
are public documents, shown to anyone who may view targets; recomputing needs TARGETS_ADMIN on the unit."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, jsonify, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import aliased, contains_eager

from lms import extensions
from lms.api import bp
from lms.api.errors import ApiValidationError
from lms.api.pagination import paginate
from lms.auth.permissions import Permission, can, has_permission_anywhere, scope_paths, scoped
from lms.celery import enqueue_after_commit
from lms.core.services import audit
from lms.extensions import db
from lms.registry.models import AdminUnit, UnitLevel, subtree
from lms.targets import cache, services
from lms.targets.models import Basis, Indicator, IndicatorValue, Plan, Structure, Target
from lms.targets.services import local_year

VIEW, ADMIN = Permission.TARGETS_VIEW, Permission.TARGETS_ADMIN
BELOW = ("self", "children", "communes")


def _require(permission: Permission) -> None:
    if not has_permission_anywhere(current_user, permission):
        abort(403)


def _share(numerator: Any, denominator: Any) -> float | None:
    return None if not denominator else round(float(numerator * 100 / denominator), 2)


def _target_json(target: Target | None) -> dict[str, Any] | None:
    if target is None:
        return None
    return {
        "year": target.year,
        "share": float(target.share),
        "area_class": target.area_class,
        "provisional": target.provisional,
    }


def plan_json(plan: Plan, *, indicators: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": plan.code,
        "version": plan.version,
        "name": plan.name,
        "source": plan.source,
        "unit_id": plan.unit_id,
        "active": plan.active,
        "loaded_at": plan.loaded_at.isoformat(),
        "indicator_count": len(plan.indicators),
    }
    if indicators:
        body["indicators"] = [
            {
                "id": i.id,
                "code": i.code,
                "name": i.name,
                "name_en": i.name_en,
                "source_ref": i.source_ref,
                "provisional": i.provisional,
                "denominator_text": i.denominator_text,
                "numerator": i.numerator,
                "denominator": i.denominator,
                "targets": [_target_json(t) for t in i.targets],
            }
            for i in plan.indicators
        ]
    return body


@bp.get("/targets/plans")
@login_required
def list_plans():
    _require(VIEW)
    return {"items": [plan_json(p) for p in services.active_plans()]}


@bp.get("/targets/plans/<code>")
@login_required
def get_plan(code: str):
    _require(VIEW)
    version = request.args.get("version", type=int)
    plan = services.plan_by_code(code, version)
    if plan is None:
        abort(404)
    return plan_json(plan, indicators=True)


def _choice(name: str, allowed: Any, default: str | None, errors: list[dict[str, str]]) -> str | None:
    value = request.args.get(name, default)
    if value is not None and value not in allowed:
        errors.append({"field": name, "message": "one of " + ", ".join(allowed)})
    return value


@bp.get("/targets/values")
@login_required
def list_values():
    """Values in the caller's scope for one period, structure and basis, filtered by unit and indicator."""
    _require(VIEW)
    errors: list[dict[str, str]] = []
    try:
        period_end, period_kind = services.parse_period(request.args.get("period", str(local_year())))
    except ValueError as exc:
        errors.append({"field": "period", "message": str(exc)})
    structure = _choice("structure", [s.value for s in Structure], Structure.CURRENT.value, errors)
    basis = _choice("basis", [b.value for b in Basis], Basis.OFFICIAL.value, errors)
    below = _choice("below", BELOW, "self", errors)
    unit = None
    if request.args.get("unit") is not None:
        unit_id = request.args.get("unit", type=int)
        unit = db.session.get(AdminUnit, unit_id) if unit_id is not None else None
        if unit is None or not can(current_user, VIEW, unit):
            errors.append({"field": "unit", "message": "no such unit in your scope (give its id)"})
    if errors:
        raise ApiValidationError(errors)

    # The answer depends on the query, the caller's scope (not who the caller is), the default year and the
    # generations of every figure it can list (ADR 27).
    key = cache.key(
        "values",
        sorted(request.args.items(multi=True)),
        tuple(scope_paths(current_user, VIEW)),
        local_year(),
        cache.generations([cache.PLANS, cache.ROLLUP, cache.COMMUNES]),
    )
    etag = key.rsplit(":", 1)[1][:32]
    if cache.etag_matches(etag, request.if_none_match):
        return _revalidated(Response(status=304), etag)
    body = extensions.cache.get(key)
    if body is None:
        body = _values(structure, basis, period_end, period_kind, unit, below)
        extensions.cache.set(key, body)
    return _revalidated(jsonify(body), etag)


def _revalidated(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Authorization")
    response.vary.add("Cookie")
    return response


def _values(
    structure: Any, basis: Any, period_end: Any, period_kind: Any, unit: AdminUnit | None, below: Any
) -> dict[str, Any]:
    place = aliased(AdminUnit, name="place")
    stmt = (
        select(IndicatorValue)
        .join(IndicatorValue.indicator)
        .join(Indicator.plan)
        .join(place, place.id == IndicatorValue.unit_id)
        .options(
            contains_eager(IndicatorValue.indicator).contains_eager(Indicator.plan),
            contains_eager(IndicatorValue.unit.of_type(place)),
        )
        .where(
            IndicatorValue.structure == structure,
            IndicatorValue.basis == basis,
            IndicatorValue.period_end == period_end,
            IndicatorValue.period_kind == period_kind,
            Plan.active.is_(True),
        )
    )
    stmt = scoped(stmt, IndicatorValue.unit_id, current_user, VIEW)
    if unit is not None:
        if below == "children":
            stmt = stmt.where(place.parent_id == unit.id)
        elif below == "communes":
            stmt = stmt.where(subtree(place.path, unit.path), place.level == UnitLevel.COMMUNE.value)
        else:
            stmt = stmt.where(IndicatorValue.unit_id == unit.id)
    if plan_code := request.args.get("plan"):
        stmt = stmt.where(Plan.code == plan_code)
    if indicator_code := request.args.get("indicator"):
        stmt = stmt.where(Indicator.code == indicator_code)
    stmt = stmt.order_by(Plan.code, Indicator.position, place.sort_key, place.id)

    def serialise(value: IndicatorValue) -> dict[str, Any]:
        unit_row = value.unit
        indicator = value.indicator
        area = unit_row.area_class if unit_row.level == UnitLevel.COMMUNE else None
        return {
            "unit": {
                "id": unit_row.id,
                "code": unit_row.code,
                "name": unit_row.full_name,
                "level": unit_row.level,
                "area_class": unit_row.area_class,
            },
            "plan": indicator.plan.code,
            "indicator": indicator.code,
            "indicator_id": indicator.id,
            "period_end": value.period_end.isoformat(),
            "period_kind": value.period_kind,
            "structure": value.structure,
            "basis": value.basis,
            "numerator": float(value.numerator),
            "denominator": float(value.denominator),
            "share": _share(value.numerator, value.denominator),
            "target": _target_json(services.milestone(indicator, value.period_end.year, area)),
            "computed_at": value.computed_at.isoformat(),
        }

    return paginate(stmt, serialise)


@bp.post("/targets/recompute")
@login_required
def recompute():
    """Queue a recomputation of a unit's communes for a year (values follow within minutes)."""
    from lms.targets.tasks import recompute_unit

    _require(ADMIN)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ApiValidationError([{"field": "", "message": "the body must be a JSON object"}])
    errors = []
    unit = db.session.get(AdminUnit, payload["unit_id"]) if isinstance(payload.get("unit_id"), int) else None
    if unit is None or not can(current_user, ADMIN, unit):
        errors.append({"field": "unit_id", "message": "no such unit in your scope"})
    year = payload.get("year")
    if not isinstance(year, int) or not 2000 <= year <= local_year():
        errors.append({"field": "year", "message": f"a year from 2000 to {local_year()}"})
    if errors:
        raise ApiValidationError(errors)
    assert unit is not None
    assert isinstance(year, int)
    audit("targets.recompute", unit, year=year)
    enqueue_after_commit(recompute_unit, unit_id=unit.id, year=year)
    db.session.commit()
    return {"unit_id": unit.id, "year": year, "status": "queued"}, 202
