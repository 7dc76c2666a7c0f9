"""Titles under /api/v1/titles: eligibility (with its explanation) and assessments with their evidence.

Every look-up goes through the scoping helper on the row's commune: an object outside the caller's scope is a 404,
whatever its id. Explanations come as sentences in the request's language next to the structured breakdown.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Response, abort, request
from flask_babel import get_locale
from flask_login import current_user, login_required
from sqlalchemy import select

from lms.api import bp
from lms.api.errors import ApiValidationError, problem
from lms.api.idempotency import idempotent
from lms.api.pagination import paginate
from lms.auth.permissions import Permission, has_permission_anywhere, scoped
from lms.core.evidence import EvidenceError, evidence_response, store_evidence
from lms.core.models import EvidenceFile
from lms.extensions import db
from lms.registry.models import AdminUnit, Organisation
from lms.titles import services
from lms.titles.models import Assessment, AssessmentSource, Eligibility, Title

VIEW = Permission.TITLES_VIEW
ASSESS = Permission.TITLES_ASSESS


def _require(permission: Permission) -> None:
    if not has_permission_anywhere(current_user, permission):
        abort(403)


def _refused(exc: services.TitlesError) -> ApiValidationError:
    """A 422 naming the field; a 409 when the subject-year is recognised (frozen), whatever the request says."""
    db.session.rollback()
    errors = [{"field": exc.field or "", "message": str(exc)}]
    if isinstance(exc, services.RecognisedYear):
        abort(problem(409, "Conflict", str(exc), errors))
    return ApiValidationError(errors, str(exc))


def _number(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _iso(moment: Any) -> str | None:
    return moment.isoformat() + "Z" if moment else None


# --- serialisers ---------------------------------------------------------------------------------------------


def eligibility_json(row: Eligibility, label: services.SubjectLabel | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "subject_name": label.name if label else None,
        "title": row.title,
        "year": row.year,
        "commune_id": row.commune_id,
        "village_id": row.village_id,
        "criteria_set_id": row.criteria_set_id,
        "eligible": row.eligible,
        "applicable": row.applicable,
        "score": _number(row.score),
        "level": row.level,
        "missing": services.missing_codes(row),
        "computed_at": _iso(row.computed_at),
    }


def assessment_json(a: Assessment) -> dict[str, Any]:
    return {
        "id": a.id,
        "subject_type": a.subject_type,
        "subject_id": a.subject_id,
        "year": a.year,
        "indicator": a.indicator,
        "value": float(a.value),
        "source": a.source,
        "counts": a.counts,
        "verified_at": _iso(a.verified_at),
        "verified_by_id": a.verified_by_id,
        "has_evidence": a.has_evidence,
        "evidence_file": a.evidence_file_id is not None,
        "evidence_ref": a.evidence_ref,
        "note": a.note,
        "commune_id": a.commune_id,
        "assessed_by_id": a.assessed_by_id,
        "assessed_at": _iso(a.assessed_at),
    }


# --- eligibility ---------------------------------------------------------------------------------------------


def _query_int(name: str, errors: list[dict[str, str]]) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        errors.append({"field": name, "message": "an integer"})
        return None
    return int(raw)


@bp.get("/titles/eligibility")
@login_required
def list_eligibility():
    _require(VIEW)
    errors: list[dict[str, str]] = []
    filters = services.EligibilityFilter()
    for name in ("organisation_id", "household_id", "clan_id", "year"):
        setattr(filters, name, _query_int(name, errors))
    unit_id = _query_int("unit_id", errors)
    title = request.args.get("title") or None
    if title is not None and title not in set(Title):
        errors.append({"field": "title", "message": "one of " + ", ".join(Title)})
    filters.title = title
    status = request.args.get("status") or None
    if status is not None and status not in services.STATUSES:
        errors.append({"field": "status", "message": "eligible or not_eligible"})
    filters.status = status
    missing = request.args.get("missing") or None
    if missing is not None and not services.INDICATOR_CODE.match(missing):
        errors.append({"field": "missing", "message": "an indicator code"})
    filters.missing = missing
    sort = request.args.get("sort", "name")
    if sort not in services.SORTS:
        errors.append({"field": "sort", "message": "one of " + ", ".join(services.SORTS)})
    if errors:
        raise ApiValidationError(errors, "Invalid filters.")
    if unit_id is not None:
        filters.unit = db.session.scalar(
            scoped(select(AdminUnit), AdminUnit.id, current_user, VIEW).where(AdminUnit.id == unit_id)
        )
        if filters.unit is None:
            abort(404)
    if (
        filters.organisation_id is not None
        and db.session.scalar(
            scoped(select(Organisation.id), Organisation.commune_id, current_user, VIEW).where(
                Organisation.id == filters.organisation_id
            )
        )
        is None
    ):
        abort(404)
    page = paginate(services.eligibility_select(current_user, filters, sort), lambda row: row)
    labels = services.subject_labels((r.subject_type, r.subject_id) for r in page["items"])
    counts = services.status_counts(current_user, filters)
    return {
        **page,
        "items": [eligibility_json(r, labels.get((r.subject_type, r.subject_id))) for r in page["items"]],
        "counts": counts,
    }


@bp.get("/titles/eligibility/<int:eligibility_id>")
@login_required
def get_eligibility(eligibility_id: int):
    _require(VIEW)
    row = services.get_eligibility(eligibility_id, current_user)
    if row is None:
        abort(404)
    label = services.subject_labels([(row.subject_type, row.subject_id)]).get((row.subject_type, row.subject_id))
    criteria_set = row.criteria_set
    items = services.explain(row, str(get_locale()))
    return {
        **eligibility_json(row, label),
        "criteria_set": {
            "id": criteria_set.id,
            "code": criteria_set.code,
            "version": criteria_set.version,
            "name": criteria_set.name,
            "status": criteria_set.status,
            "source": criteria_set.source,
        },
        "explanation": [
            {
                **x.item,
                "name": x.name,
                "kind": x.kind,
                "satisfied": x.satisfied,
                "source_text": x.source_text,
                "missing_text": x.missing_text,
                "assessment_id": x.assessment.id if x.assessment else None,
            }
            for x in items
        ],
        "members": services.members_filter(row),
    }


# --- assessments ---------------------------------------------------------------------------------------------


def _assessment(assessment_id: int, permission: Permission = VIEW) -> Assessment:
    _require(permission)
    assessment = services.get_assessment(assessment_id, current_user, permission)
    if assessment is None:
        abort(404)
    return assessment


def _body(allowed: set[str]) -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ApiValidationError([{"field": "", "message": "must be a JSON object"}])
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise ApiValidationError([{"field": name, "message": "unknown field"} for name in unknown])
    return payload


def _text(payload: dict[str, Any], name: str, limit: int, errors: list[dict[str, str]]) -> str | None:
    value = payload.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        errors.append({"field": name, "message": f"text of at most {limit} characters"})
        return None
    return value


@bp.get("/titles/assessments")
@login_required
def list_assessments():
    _require(VIEW)
    errors: list[dict[str, str]] = []
    stmt = services.assessments_in_scope(current_user)
    for name in ("subject_id", "year"):
        value = _query_int(name, errors)
        if value is not None:
            stmt = stmt.where(getattr(Assessment, name) == value)
    if subject_type := request.args.get("subject_type"):
        stmt = stmt.where(Assessment.subject_type == subject_type)
    if indicator := request.args.get("indicator"):
        stmt = stmt.where(Assessment.indicator == indicator)
    if request.args.get("unverified") == "true":
        stmt = stmt.where(Assessment.source == AssessmentSource.SELF, Assessment.verified_at.is_(None))
    if errors:
        raise ApiValidationError(errors, "Invalid filters.")
    return paginate(stmt.order_by(Assessment.assessed_at.desc(), Assessment.id.desc()), assessment_json)


@bp.post("/titles/assessments")
@login_required
@idempotent
def create_assessment():
    _require(ASSESS)
    payload = _body({"subject_type", "subject_id", "year", "indicator", "value", "source", "evidence_ref", "note"})
    errors: list[dict[str, str]] = []
    for name in ("subject_type", "indicator"):
        if not isinstance(payload.get(name), str) or not payload[name]:
            errors.append({"field": name, "message": "required text"})
    for name in ("subject_id", "year"):
        value = payload.get(name)
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append({"field": name, "message": "a required integer"})
    if payload.get("value") is None:
        errors.append({"field": "value", "message": "required"})
    evidence_ref = _text(payload, "evidence_ref", 300, errors) or ""
    note = _text(payload, "note", 2000, errors) or ""
    if errors:
        raise ApiValidationError(errors)
    try:
        assessment = services.create_assessment(
            services.AssessmentInput(
                payload["subject_type"],
                payload["subject_id"],
                payload["year"],
                payload["indicator"],
                payload["value"],
                payload.get("source") or AssessmentSource.EVALUATOR.value,
                evidence_ref,
                note,
            ),
            user=current_user,
        )
    except services.TitlesError as exc:
        raise _refused(exc) from None
    return assessment_json(assessment), 201


@bp.get("/titles/assessments/<int:assessment_id>")
@login_required
def get_assessment(assessment_id: int):
    return assessment_json(_assessment(assessment_id))


@bp.patch("/titles/assessments/<int:assessment_id>")
@login_required
def update_assessment(assessment_id: int):
    assessment = _assessment(assessment_id, ASSESS)
    payload = _body({"value", "source", "evidence_ref", "note", "remove_evidence"})
    errors: list[dict[str, str]] = []
    evidence_ref = _text(payload, "evidence_ref", 300, errors)
    note = _text(payload, "note", 2000, errors)
    source = payload.get("source")
    if source is not None and source not in set(AssessmentSource):
        errors.append({"field": "source", "message": "evaluator or self"})
    remove = payload.get("remove_evidence", False)
    if not isinstance(remove, bool):
        errors.append({"field": "remove_evidence", "message": "true or false"})
    if errors:
        raise ApiValidationError(errors)
    try:
        services.update_assessment(
            assessment,
            user=current_user,
            value=payload.get("value"),
            source=source,
            evidence_ref=evidence_ref,
            note=note,
            remove_evidence=remove,
        )
    except services.TitlesError as exc:
        raise _refused(exc) from None
    db.session.commit()
    return assessment_json(assessment)


@bp.delete("/titles/assessments/<int:assessment_id>")
@login_required
def delete_assessment(assessment_id: int):
    assessment = _assessment(assessment_id, ASSESS)
    try:
        services.delete_assessment(assessment, user=current_user)
    except services.TitlesError as exc:
        raise _refused(exc) from None
    db.session.commit()
    return Response(status=204)


@bp.post("/titles/assessments/<int:assessment_id>/verify")
@login_required
@idempotent
def verify_assessment(assessment_id: int):
    assessment = _assessment(assessment_id, ASSESS)
    try:
        services.verify_assessment(assessment, user=current_user)
    except services.TitlesError as exc:
        raise _refused(exc) from None
    return assessment_json(assessment)


@bp.get("/titles/assessments/<int:assessment_id>/evidence")
@login_required
def get_assessment_evidence(assessment_id: int):
    assessment = _assessment(assessment_id)
    file = db.session.get(EvidenceFile, assessment.evidence_file_id) if assessment.evidence_file_id else None
    if file is None:
        abort(404)
    return evidence_response(file)


@bp.post("/titles/assessments/<int:assessment_id>/evidence")
@login_required
@idempotent
def upload_assessment_evidence(assessment_id: int):
    """Attach (or replace) the evidence file: multipart form data with the file in ``file``."""
    assessment = _assessment(assessment_id, ASSESS)
    try:
        file = store_evidence(request.files.get("file"), uploaded_by_id=current_user.id)
        services.update_assessment(assessment, user=current_user, evidence=file)
    except EvidenceError as exc:
        db.session.rollback()
        raise ApiValidationError([{"field": "file", "message": str(exc)}], str(exc)) from None
    except services.TitlesError as exc:
        raise _refused(exc) from None
    return assessment_json(assessment)
