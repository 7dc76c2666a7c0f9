"""Titles under /api/v1/titles: eligibility (with its explanation) and assessments with their evidence.

Every look-up goes through the scoping helper on the row's commune: an object outside the caller's scope is a 404,
whatever its id. Explanations come as sentences in the request's language next to the structured breakdown.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Response, abort
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms.api import bp
from lms.api.errors import ApiValidationError, problem, stale_preview
from lms.api.idempotency import idempotent
from lms.api.pagination import page_of
from lms.api.schema import Page, operation
from lms.auth.permissions import Permission, has_permission_anywhere, scoped
from lms.core.evidence import EvidenceError, evidence_response, store_evidence
from lms.core.formatting import current_locale
from lms.core.imports import load_rows, sign_rows
from lms.core.models import EvidenceFile
from lms.extensions import db
from lms.registry.models import AdminUnit, Organisation
from lms.titles import recognition, services
from lms.titles.models import Assessment, AssessmentSource, Recognition
from lms.titles.schemas import (
    AssessmentImportConfirmIn,
    AssessmentImportConflict,
    AssessmentImportForm,
    AssessmentImportPreview,
    AssessmentImportResult,
    AssessmentIn,
    AssessmentOut,
    AssessmentPage,
    AssessmentPatch,
    AssessmentQuery,
    EligibilityCounts,
    EligibilityDetail,
    EligibilityOut,
    EligibilityPage,
    EligibilityQuery,
    EvidenceForm,
    ExplanationOut,
    ImportProblem,
)

VIEW = Permission.TITLES_VIEW
ASSESS = Permission.TITLES_ASSESS
TAGS = ["titles"]
RowPage = Page[EligibilityOut]


def _refused(exc: services.TitlesError) -> ApiValidationError:
    """A 422 naming the field; a 409 when the subject-year is recognised (frozen), whatever the request says."""
    db.session.rollback()
    errors = [{"field": exc.field or "", "message": str(exc)}]
    if isinstance(exc, services.RecognisedYear):
        abort(problem(409, "Conflict", str(exc), errors))
    return ApiValidationError(errors, str(exc))


# --- eligibility ---------------------------------------------------------------------------------------------


@bp.get("/titles/eligibility")
@operation(VIEW, ok=EligibilityPage, query=EligibilityQuery, tags=TAGS)
def list_eligibility(query: EligibilityQuery) -> EligibilityPage:
    """Eligibility rows in the caller's scope, filtered, with the count of each result under the same filters."""
    filters = services.EligibilityFilter(
        title=query.title.value if query.title else None,
        year=query.year,
        status=query.status,
        missing=query.missing,
        organisation_id=query.organisation_id,
        household_id=query.household_id,
        clan_id=query.clan_id,
    )
    if query.unit_id is not None:
        filters.unit = db.session.scalar(
            scoped(select(AdminUnit), AdminUnit.id, current_user, VIEW).where(AdminUnit.id == query.unit_id)
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
    page = page_of(services.eligibility_select(current_user, filters, query.sort), query, RowPage)
    labels = services.subject_labels((r.subject_type, r.subject_id) for r in page.items)
    for item in page.items:
        label = labels.get((item.subject_type, item.subject_id))
        item.subject_name = label.name if label else None
    counts = EligibilityCounts.model_validate(services.status_counts(current_user, filters))
    return EligibilityPage(items=page.items, page=page.page, per_page=page.per_page, total=page.total, counts=counts)


@bp.get("/titles/eligibility/<int:eligibility_id>")
@operation(VIEW, ok=EligibilityDetail, tags=TAGS)
def get_eligibility(eligibility_id: int) -> EligibilityDetail:
    """One row with its criteria set and the explanation of each indicator in the request's language."""
    row = services.get_eligibility(eligibility_id, current_user)
    if row is None:
        abort(404)
    label = services.subject_labels([(row.subject_type, row.subject_id)]).get((row.subject_type, row.subject_id))
    explanation = [
        ExplanationOut.model_validate(
            {
                **x.item,
                "name": x.name,
                "kind": x.kind,
                "satisfied": x.satisfied,
                "source_text": x.source_text,
                "missing_text": x.missing_text,
                "assessment_id": x.assessment.id if x.assessment else None,
            }
        )
        for x in services.explain(row, str(get_locale()))
    ]
    answer = EligibilityDetail.model_validate(
        {
            **EligibilityOut.model_validate(row).model_dump(),
            "criteria_set": row.criteria_set,
            "explanation": explanation,
            "members": services.members_filter(row),
            "projected_level": services.projected_level_of(row),
        }
    )
    answer.subject_name = label.name if label else None
    return answer


# --- assessments ---------------------------------------------------------------------------------------------


def scope_first(permission: Permission) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer 404 for an assessment or a recognition of the URL outside the caller's scope *before* the body is
    validated (place it above ``operation``), as the courses API does: another commune's object is not found,
    whatever the body says — not a 422 about a body for an object the caller may not see. Who is not signed in, or
    holds the permission nowhere, goes on to ``operation``'s 401 or 403."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def scoped_view(*args: Any, **kwargs: Any) -> Any:
            if current_user.is_authenticated and has_permission_anywhere(current_user, permission):
                if "assessment_id" in kwargs:
                    _assessment(kwargs["assessment_id"], permission)
                elif "recognition_id" in kwargs:
                    found = db.session.scalar(
                        recognition.recognitions_select(current_user).where(Recognition.id == kwargs["recognition_id"])
                    )
                    if found is None:
                        abort(404)
            return view(*args, **kwargs)

        return scoped_view

    return decorator


def _assessment(assessment_id: int, permission: Permission = VIEW) -> Assessment:
    assessment = services.get_assessment(assessment_id, current_user, permission)
    if assessment is None:
        abort(404)
    return assessment


@bp.get("/titles/assessments")
@operation(VIEW, ok=AssessmentPage, query=AssessmentQuery, tags=TAGS)
def list_assessments(query: AssessmentQuery) -> AssessmentPage:
    """Assessments in the caller's scope, the latest first."""
    stmt = services.assessments_in_scope(current_user)
    if query.subject_id is not None:
        stmt = stmt.where(Assessment.subject_id == query.subject_id)
    if query.year is not None:
        stmt = stmt.where(Assessment.year == query.year)
    if query.subject_type is not None:
        stmt = stmt.where(Assessment.subject_type == query.subject_type.value)
    if query.indicator:
        stmt = stmt.where(Assessment.indicator == query.indicator)
    if query.unverified:
        stmt = stmt.where(Assessment.source == AssessmentSource.SELF, Assessment.verified_at.is_(None))
    return page_of(stmt.order_by(Assessment.assessed_at.desc(), Assessment.id.desc()), query, AssessmentPage)


@bp.post("/titles/assessments")
@operation(ASSESS, ok=AssessmentOut, status=201, json=AssessmentIn, tags=TAGS, idempotent=True, errors=(409,))
@idempotent
def create_assessment(json: AssessmentIn):
    """Record an assessed value (an evaluator's counts at once, a self-assessment once verified)."""
    try:
        assessment = services.create_assessment(
            services.AssessmentInput(
                json.subject_type.value,
                json.subject_id,
                json.year,
                json.indicator,
                json.value,
                json.source.value,
                json.evidence_ref or "",
                json.note or "",
            ),
            user=current_user,
        )
    except services.TitlesError as exc:
        raise _refused(exc) from None
    return AssessmentOut.model_validate(assessment), 201


def _cell_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A spreadsheet's problems in the caller's language (the reader's come in both, the checks' in the caller's)."""
    vietnamese = current_locale() == "vi"
    return [
        {
            "field": "file",
            "row": e.get("row"),
            "column": e.get("column"),
            "message": e["message_vi"] if vietnamese and e.get("message_vi") else e["message"],
        }
        for e in errors
    ]


def _import_preview(result: services.ImportResult, filename: str) -> AssessmentImportPreview:
    token = sign_rows("assessments", {"filename": filename, "rows": result.rows, "digest": result.digest})
    return AssessmentImportPreview(
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        preview=result.preview or {},
        preview_token=token,
    )


@bp.post("/titles/assessments/import")
@operation(
    ASSESS, ok=AssessmentImportPreview, form=AssessmentImportForm, tags=TAGS, errors=(413,), extra={422: ImportProblem}
)
def import_assessments(form: AssessmentImportForm):
    """Assessments in bulk from a spreadsheet (multipart ``file``), as the import page does: every row checked (a
    422 lists each problem with its row and column) and the preview answered — nothing is written. Confirm it with its
    ``preview_token`` within a day."""
    filename = form.file.filename or "upload.xlsx"
    if not filename.lower().endswith((".xlsx", ".csv")):
        message = _("Upload an .xlsx workbook or a .csv file.")
        raise ApiValidationError([{"field": "file", "message": message}], message)
    result = services.import_assessments(filename, form.file.read(), user=current_user, dry_run=True)
    db.session.rollback()  # a dry run writes nothing; this makes sure of it
    if result.errors:
        message = _("%(n)s problem(s) in the file; nothing was applied.", n=len(result.errors))
        return problem(422, "Unprocessable Entity", message, _cell_errors(result.errors))
    return _import_preview(result, filename)


@bp.post("/titles/assessments/import/confirm")
@operation(
    ASSESS,
    ok=AssessmentImportResult,
    status=201,
    json=AssessmentImportConfirmIn,
    tags=TAGS,
    extra={409: AssessmentImportConflict, 422: ImportProblem},
)
def confirm_assessment_import(json: AssessmentImportConfirmIn):
    """Write a previewed file exactly as previewed: if the register changed since (an assessment recorded meanwhile),
    nothing is written and the 409 carries the new preview and its token."""
    plan = load_rows("assessments", json.preview_token)
    if plan is None:
        message = _("This preview is no longer valid: upload the file again.")
        raise ApiValidationError([{"field": "preview_token", "message": message}], message)
    result = services.apply_assessment_rows(
        plan["rows"], user=current_user, filename=plan["filename"], expected_digest=plan["digest"]
    )
    if result.errors:
        db.session.rollback()
        message = _("%(n)s problem(s) in the file; nothing was applied.", n=len(result.errors))
        return problem(422, "Unprocessable Entity", message, _cell_errors(result.errors))
    if result.outdated:
        db.session.rollback()
        message = _(
            "The register changed since the preview, so nothing was written: check the new preview, then confirm."
        )
        return stale_preview("preview_token", message, _import_preview(result, plan["filename"]))
    db.session.commit()
    return AssessmentImportResult(created=result.created, updated=result.updated, unchanged=result.unchanged), 201


@bp.get("/titles/assessments/<int:assessment_id>")
@operation(VIEW, ok=AssessmentOut, tags=TAGS)
def get_assessment(assessment_id: int) -> AssessmentOut:
    """One assessment of a subject in the caller's scope."""
    return AssessmentOut.model_validate(_assessment(assessment_id))


@bp.patch("/titles/assessments/<int:assessment_id>")
@scope_first(ASSESS)
@operation(ASSESS, ok=AssessmentOut, json=AssessmentPatch, tags=TAGS, errors=(409,))
def update_assessment(assessment_id: int, json: AssessmentPatch) -> AssessmentOut:
    """Change an assessment; a new value, source or evidence of a self-assessment needs verifying again."""
    assessment = _assessment(assessment_id, ASSESS)
    try:
        services.update_assessment(
            assessment,
            user=current_user,
            value=json.value,
            source=json.source.value if json.source else None,
            evidence_ref=json.evidence_ref,
            note=json.note,
            remove_evidence=json.remove_evidence,
        )
    except services.TitlesError as exc:
        raise _refused(exc) from None
    db.session.commit()
    return AssessmentOut.model_validate(assessment)


@bp.delete("/titles/assessments/<int:assessment_id>")
@operation(ASSESS, ok=None, status=204, tags=TAGS, errors=(409,))
def delete_assessment(assessment_id: int) -> Response:
    """Delete an assessment (refused with a 409 once the subject's year is recognised)."""
    assessment = _assessment(assessment_id, ASSESS)
    try:
        services.delete_assessment(assessment, user=current_user)
    except services.TitlesError as exc:
        raise _refused(exc) from None
    db.session.commit()
    return Response(status=204)


@bp.post("/titles/assessments/<int:assessment_id>/verify")
@operation(ASSESS, ok=AssessmentOut, tags=TAGS, idempotent=True, errors=(409,))
@idempotent
def verify_assessment(assessment_id: int):
    """Verify a self-assessment: from now on it counts."""
    assessment = _assessment(assessment_id, ASSESS)
    try:
        services.verify_assessment(assessment, user=current_user)
    except services.TitlesError as exc:
        raise _refused(exc) from None
    return AssessmentOut.model_validate(assessment)


@bp.get("/titles/assessments/<int:assessment_id>/evidence")
@operation(VIEW, ok=None, tags=TAGS)
def get_assessment_evidence(assessment_id: int) -> Response:
    """The evidence file as uploaded (its own content type)."""
    assessment = _assessment(assessment_id)
    file = db.session.get(EvidenceFile, assessment.evidence_file_id) if assessment.evidence_file_id else None
    if file is None:
        abort(404)
    return evidence_response(file)


@bp.post("/titles/assessments/<int:assessment_id>/evidence")
@scope_first(ASSESS)
@operation(ASSESS, ok=AssessmentOut, form=EvidenceForm, tags=TAGS, idempotent=True, errors=(409, 413))
@idempotent
def upload_assessment_evidence(assessment_id: int, form: EvidenceForm):
    """Attach (or replace) the evidence file: multipart form data with the file in ``file``."""
    assessment = _assessment(assessment_id, ASSESS)
    try:
        file = store_evidence(form.file, uploaded_by_id=current_user.id)
        services.update_assessment(assessment, user=current_user, evidence=file)
    except EvidenceError as exc:
        db.session.rollback()
        raise ApiValidationError([{"field": "file", "message": str(exc)}], str(exc)) from None
    except services.TitlesError as exc:
        raise _refused(exc) from None
    return AssessmentOut.model_validate(assessment)
