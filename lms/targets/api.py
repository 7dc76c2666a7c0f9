"""Plans and indicator values under /api/v1/targets. Values are scoped to the caller's units (TARGETS_VIEW); plans
are public documents, shown to anyone who may view targets; recomputing needs TARGETS_ADMIN on the unit."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from flask import Response, abort, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import aliased, contains_eager

from lms import extensions
from lms.api import bp
from lms.api.errors import ApiValidationError
from lms.api.pagination import page_of
from lms.api.schema import ValidatedAnswer, operation
from lms.auth.permissions import Permission, can, scope_paths, scoped
from lms.celery import enqueue_after_commit
from lms.core.services import audit
from lms.extensions import db
from lms.registry.models import AdminUnit, UnitLevel, subtree
from lms.targets import cache, services
from lms.targets.models import Indicator, IndicatorValue, Plan
from lms.targets.plans import phase_of
from lms.targets.schemas import (
    CountedOverOut,
    PlanDetail,
    PlanList,
    PlanOut,
    PlanQuery,
    RecomputeIn,
    RecomputeOut,
    TargetOut,
    ValueOut,
    ValuePage,
    ValuesQuery,
)
from lms.targets.services import local_year

VIEW, ADMIN = Permission.TARGETS_VIEW, Permission.TARGETS_ADMIN
TAGS = ["targets"]
# The shape of a stored values answer: a deployment that adds to it (``counted_over``) serves no answer stored before.
ANSWER_SHAPE = 2


@bp.get("/targets/plans")
@operation(VIEW, ok=PlanList, tags=TAGS)
def list_plans() -> PlanList:
    """The active plans (public documents: anyone who may view targets sees them all)."""
    return PlanList(items=[PlanOut.model_validate(p) for p in services.active_plans()])


@bp.get("/targets/plans/<code>")
@operation(VIEW, ok=PlanDetail, query=PlanQuery, tags=TAGS)
def get_plan(code: str, query: PlanQuery) -> PlanDetail:
    """One plan with its indicators and milestones: the active version, or ``version``."""
    plan = services.plan_by_code(code, query.version)
    if plan is None:
        abort(404)
    return PlanDetail.model_validate(plan)


@bp.get("/targets/values")
@operation(VIEW, ok=ValuePage, query=ValuesQuery, tags=TAGS)
def list_values(query: ValuesQuery):
    """Values in the caller's scope for one period, structure and basis, filtered by unit and indicator. Answers
    carry an ``ETag``; send it back in ``If-None-Match`` for a 304 while nothing changed."""
    period_end, period_kind = services.parse_period(query.period or str(local_year()))
    # The answer depends on the query, the caller's scope (not who the caller is) and the default year; it is
    # served while the generations of every figure it can list are the ones it was built under (ADR 27). The
    # generations and the stored answer come in one round trip.
    key = cache.key(
        "values",
        sorted(request.args.items(multi=True)),
        tuple(scope_paths(current_user, VIEW)),
        local_year(),
        ANSWER_SHAPE,
    )
    names = [cache.PLANS, cache.ROLLUP, cache.COMMUNES]
    tokens, entry = cache.lookup(names, key)
    current = cache.current(tokens, names)
    etag = hashlib.sha256(f"{key}:{current}".encode()).hexdigest()[:32]
    if cache.etag_matches(etag, request.if_none_match):
        return _revalidated(Response(status=304), etag)
    if entry is None or entry[0] != current:
        unit = db.session.get(AdminUnit, query.unit) if query.unit is not None else None
        body = jsonify(_values(query, period_end, period_kind, unit).model_dump(mode="json")).get_data()
        ValuePage.model_validate_json(body)  # checked once, here, before it is stored: not at every answer
        entry = (current, body)
        extensions.cache.set(key, entry)
    return _revalidated(ValidatedAnswer(entry[1], mimetype="application/json"), etag)


def _revalidated(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.add("Authorization")
    response.vary.add("Cookie")
    return response


def _values(query: ValuesQuery, period_end: Any, period_kind: Any, unit: AdminUnit | None) -> ValuePage:
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
            IndicatorValue.structure == query.structure.value,
            IndicatorValue.basis == query.basis.value,
            IndicatorValue.period_end == period_end,
            IndicatorValue.period_kind == period_kind,
            Plan.active.is_(True),
        )
    )
    stmt = scoped(stmt, IndicatorValue.unit_id, current_user, VIEW)
    if unit is not None:
        if query.below == "children":
            stmt = stmt.where(place.parent_id == unit.id)
        elif query.below == "communes":
            stmt = stmt.where(subtree(place.path, unit.path), place.level == UnitLevel.COMMUNE.value)
        else:
            stmt = stmt.where(IndicatorValue.unit_id == unit.id)
    if query.plan:
        stmt = stmt.where(Plan.code == query.plan)
    if query.indicator:
        stmt = stmt.where(Indicator.code == query.indicator)
    stmt = stmt.order_by(Plan.code, Indicator.position, place.sort_key, place.id)

    def with_target(value: IndicatorValue) -> ValueOut:
        area = value.unit.area_class if value.unit.level == UnitLevel.COMMUNE else None
        target = services.milestone(value.indicator, value.period_end.year, area)
        answer = ValueOut.model_validate(value)
        answer.target = TargetOut.model_validate(target) if target is not None else None
        phase = phase_of(value.indicator.numerator or {}, value.period_end.year)
        if phase is not None:  # counted over the plan's phase up to the period's end (ADR 54), said with the figure
            answer.counted_over = CountedOverOut(
                phase_first=phase[0], phase_last=phase[1], first_day=date(phase[0], 1, 1), last_day=value.period_end
            )
        return answer

    return page_of(stmt, query, ValuePage, with_target)


@bp.post("/targets/recompute")
@operation(ADMIN, ok=RecomputeOut, status=202, json=RecomputeIn, tags=TAGS)
def recompute(json: RecomputeIn):
    """Queue a recomputation of a unit's communes for a year (values follow within minutes)."""
    from lms.targets.tasks import recompute_unit

    errors = []
    unit = db.session.get(AdminUnit, json.unit_id)
    if unit is None or not can(current_user, ADMIN, unit):
        errors.append({"field": "unit_id", "message": _("No such unit in your scope.")})
    if json.year > local_year():
        errors.append({"field": "year", "message": _("A year from 2000 to %(year)s.", year=local_year())})
    if errors:
        raise ApiValidationError(errors)
    assert unit is not None
    audit("targets.recompute", unit, year=json.year)
    enqueue_after_commit(recompute_unit, unit_id=unit.id, year=json.year)
    db.session.commit()
    return RecomputeOut(unit_id=unit.id, year=json.year, status="queued"), 202
