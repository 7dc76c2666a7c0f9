"""Registrations and recognitions under /api/v1/titles, and the public verification of a certificate of recognition.

Every list and look-up goes through the scoping helper (an object outside the caller's scope is a 404, whatever its
id). Bulk POSTs honour ``Idempotency-Key`` (the decorator owns their commit). A refused item is a 422 naming it
(``subject_ids[3]``); a status change the record no longer allows (decided by someone else meanwhile) is a 409.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort
from flask_babel import gettext as _
from flask_login import current_user

from lms.api import bp
from lms.api.errors import ApiValidationError, problem, stale_preview
from lms.api.idempotency import idempotent
from lms.api.limits import verify_limit
from lms.api.pagination import page_of
from lms.api.schema import operation
from lms.auth.permissions import Permission
from lms.core.formatting import current_locale
from lms.extensions import db
from lms.registry.models import AdminUnit
from lms.titles import recognition
from lms.titles.api import scope_first
from lms.titles.models import TITLE_SUBJECT, Recognition, Title
from lms.titles.schemas import (
    CertificateCheck,
    CorrectionProblem,
    CorrectionQuery,
    DecideIn,
    DecideQuery,
    DecisionCorrectionIn,
    DecisionCorrectionOut,
    DecisionOut,
    DecisionProblem,
    ImportPreview,
    ImportProblem,
    ImportQuery,
    ProposablePage,
    ProposableQuery,
    ProposalItem,
    ProposalPreview,
    ProposalProblem,
    ProposeIn,
    ProposeQuery,
    ReasonIn,
    RecognitionDetail,
    RecognitionList,
    RecognitionOut,
    RecognitionPage,
    RecognitionQuery,
    RegistrationImportForm,
    RegistrationIn,
    RegistrationPage,
    RegistrationQuery,
    RegistrationResult,
)

TAGS = ["titles"]
ASSESS, APPROVE = Permission.TITLES_ASSESS, Permission.TITLES_APPROVE


def _refused(exc: recognition.RecognitionError) -> Response:
    """A refused operation: a 409 for a transition no longer allowed, else a 422 naming each item."""
    db.session.rollback()
    errors = [
        {"field": f"{exc.field}[{d['index']}]" if "index" in d else exc.field, "message": d["message"]}
        for d in exc.details
    ] or [{"field": exc.field, "message": str(exc)}]
    if isinstance(exc, recognition.TransitionConflict):
        return problem(409, "Conflict", str(exc), errors)
    raise ApiValidationError(errors, str(exc))


def _named(items: list[Any]) -> list[Any]:
    """The answers with their subjects' names (one or two queries per subject type, whatever the number)."""
    names = recognition.names(items)
    for item in items:
        subject = names.get((item.subject_type, item.subject_id))
        item.subject_name = subject.name if subject else None
    return items


def _recognitions(rows: list[Recognition]) -> RecognitionList:
    return RecognitionList(items=_named([RecognitionOut.model_validate(r) for r in rows]))


def _detail(row: Recognition) -> RecognitionDetail:
    return _named([RecognitionDetail.model_validate(row)])[0]


# --- registrations ---------------------------------------------------------------------------------------------


@bp.get("/titles/registrations")
@operation(Permission.TITLES_VIEW, ok=RegistrationPage, query=RegistrationQuery, tags=TAGS)
def title_registrations(query: RegistrationQuery) -> RegistrationPage:
    """Registrations in the caller's scope."""
    stmt = recognition.registrations_select(
        current_user, unit_id=query.unit_id, year=query.year, title=query.title.value if query.title else None
    )
    page = page_of(stmt, query, RegistrationPage)
    _named(page.items)
    return page


@bp.post("/titles/registrations")
@operation(ASSESS, ok=RegistrationResult, status=201, json=RegistrationIn, tags=TAGS, idempotent=True)
@idempotent
def title_registrations_create(json: RegistrationIn):
    """Register one subject (``subject_id``) or many (``subject_ids``) for a title and year."""
    ids = [json.subject_id] if json.subject_id is not None else json.subject_ids
    if not ids:
        raise ApiValidationError([{"field": "subject_ids", "message": _("Give subject_id or subject_ids.")}])
    try:
        result = recognition.register(title=json.title.value, year=json.year, subject_ids=ids, user=current_user)
    except recognition.RecognitionError as exc:
        return _refused(exc)
    answer = RegistrationResult(title=json.title, year=json.year, created=result.created, already=result.already)
    return answer, 201


@bp.post("/titles/registrations/import")
@operation(
    ASSESS,
    ok=RegistrationResult,
    status=201,
    form=RegistrationImportForm,
    query=ImportQuery,
    tags=TAGS,
    errors=(413,),
    extra={200: ImportPreview, 422: ImportProblem},
)
def title_registrations_import(form: RegistrationImportForm, query: ImportQuery):
    """Register the subjects a spreadsheet lists (multipart form: ``file``, ``commune_id``, ``title``, ``year``).
    With ``dry_run`` the answer is a preview (200) and nothing is written."""
    commune = db.session.get(AdminUnit, form.commune_id)  # a commune of the caller's scope: the form checked it
    assert commune is not None
    try:
        result = recognition.import_registrations(
            form.file.read(recognition.MAX_IMPORT_BYTES + 1),
            form.file.filename or "file.xlsx",
            commune=commune,
            title=form.title.value,
            year=form.year,
            user=current_user,
            dry_run=query.dry_run,
        )
    except recognition.ImportRejected as exc:
        db.session.rollback()
        vietnamese = current_locale() == "vi"
        return problem(
            422,
            "Unprocessable Entity",
            str(exc),
            [  # in the caller's language: the reader's errors come in both
                {
                    "field": "file",
                    "row": e["row"],
                    "column": e["column"],
                    "message": e["message_vi"] if vietnamese and e.get("message_vi") else e["message"],
                }
                for e in exc.errors
            ],
        )
    except recognition.RecognitionError as exc:
        return _refused(exc)
    answer = {"title": form.title, "year": form.year, "created": result.created, "already": result.already}
    if query.dry_run:
        db.session.rollback()
        return ImportPreview.model_validate({**answer, "dry_run": True, "preview": result.preview}), 200
    db.session.commit()
    return RegistrationResult.model_validate(answer), 201


# --- recognitions ----------------------------------------------------------------------------------------------


@bp.get("/titles/recognitions")
@operation(Permission.TITLES_VIEW, ok=RecognitionPage, query=RecognitionQuery, tags=TAGS)
def title_recognitions(query: RecognitionQuery) -> RecognitionPage:
    """Recognitions (proposals, decisions, rejections, revocations) in the caller's scope."""
    stmt = recognition.recognitions_select(
        current_user,
        unit_id=query.unit_id,
        year=query.year,
        title=query.title.value if query.title else None,
        status=query.status.value if query.status else None,
    )
    page = page_of(stmt, query, RecognitionPage)
    _named(page.items)
    return page


@bp.get("/titles/recognitions/<int:recognition_id>")
@operation(Permission.TITLES_VIEW, ok=RecognitionDetail, tags=TAGS)
def title_recognition(recognition_id: int) -> RecognitionDetail:
    """One recognition with the breakdown it was proposed on."""
    row = db.session.scalar(recognition.recognitions_select(current_user).where(Recognition.id == recognition_id))
    if row is None:
        abort(404)
    return _detail(row)


@bp.get("/titles/proposable")
@operation(Permission.TITLES_PROPOSE, ok=ProposablePage, query=ProposableQuery, tags=TAGS)
def title_proposable(query: ProposableQuery) -> ProposablePage:
    """Eligible subjects of a commune not yet proposed (what ``propose`` accepts)."""
    stmt = recognition.proposable_select(
        current_user,
        commune_id=query.commune_id,
        year=query.year,
        title=query.title.value,
        village_id=query.village_id,
    )
    page = page_of(stmt, query, ProposablePage)
    _named(page.items)
    return page


@bp.post("/titles/recognitions/propose")
@operation(
    Permission.TITLES_PROPOSE,
    ok=RecognitionList,
    status=201,
    json=ProposeIn,
    query=ProposeQuery,
    tags=TAGS,
    idempotent=True,
    extra={200: ProposalPreview, 409: ProposalProblem},
)
@idempotent
def title_recognitions_propose(json: ProposeIn, query: ProposeQuery):
    """Put eligible subjects on the list of proposals for a title and year. A proposal copies each subject's
    evaluation and cannot be withdrawn: as the propose page shows the list before it writes, ``dry_run=true`` checks
    it and lists the evaluations it would copy (nothing written, 200) with a ``preview_digest``; the proposal sent with
    that digest is written only if those evaluations are still the ones shown (else a 409 with the new preview)."""
    asked = {"title": json.title.value, "year": json.year, "subject_ids": json.subject_ids, "user": current_user}
    try:
        if query.dry_run:
            _ids, checked = recognition.check_proposal(**asked)
            return _proposal_preview(json.title.value, json.year, checked), 200
        created = recognition.propose(**asked, expected_digest=json.preview_digest)
    except recognition.StaleProposal as exc:
        db.session.rollback()
        return stale_preview("preview_digest", str(exc), _proposal_preview(json.title.value, json.year, exc.rows))
    except recognition.RecognitionError as exc:
        return _refused(exc)
    rows = list(db.session.scalars(recognition.recognitions_select(current_user).where(Recognition.id.in_(created))))
    return _recognitions(rows), 201


def _proposal_preview(title: str, year: int, rows: dict[int, Any]) -> ProposalPreview:
    """The evaluations a proposal would copy, by subject id, and the digest that confirms exactly them."""
    subject_type = TITLE_SUBJECT[Title(title)]
    items = [
        ProposalItem(
            subject_type=subject_type,
            subject_id=sid,
            score=float(row.score) if row.score is not None else None,
            level=row.level,
        )
        for sid, row in sorted(rows.items())
    ]
    return ProposalPreview(
        items=_named(items), dry_run=True, preview_digest=recognition.proposal_digest(title, year, rows)
    )


@bp.post("/titles/recognitions/decide")
@operation(
    APPROVE,
    ok=DecisionOut,
    json=DecideIn,
    query=DecideQuery,
    tags=TAGS,
    idempotent=True,
    extra={409: DecisionProblem},
)
@idempotent
def title_recognitions_decide(json: DecideIn, query: DecideQuery):
    """One decision (number, date, authority) for many proposals. As the decision page shows it before it records it,
    ``dry_run=true`` checks it and lists the proposals it would recognise (nothing written) with a ``preview_digest``;
    the decision sent with that digest is recorded only if it still records exactly that (else a 409 with the new
    preview)."""
    decision = {
        "decision_number": json.decision_number,
        "decision_date": json.decision_date,
        "authority": json.authority or "",
        "user": current_user,
    }
    try:
        if query.dry_run:
            number, rows, _today = recognition.check_decision(json.recognition_ids, **decision)
            digest = recognition.decision_digest(rows, number, json.decision_date, json.authority or "")
            # Nothing written, no lock taken (check_decision without lock=True): the Idempotency-Key's claim stays.
            return DecisionOut(**_recognitions(rows).model_dump(), dry_run=True, preview_digest=digest), 200
        rows = recognition.decide(json.recognition_ids, **decision, expected_digest=json.preview_digest)
    except recognition.StaleDecision as exc:
        preview = DecisionOut(**_recognitions(exc.rows).model_dump(), dry_run=True, preview_digest=exc.digest)
        db.session.rollback()  # the locks go with it
        return stale_preview("preview_digest", str(exc), preview)
    except recognition.RecognitionError as exc:
        return _refused(exc)
    return DecisionOut(**_recognitions(rows).model_dump()), 200


def _single(recognition_id: int, reason: str | None, action: Any) -> Any:
    # Scope before the body: a recognition outside the caller's units is a 404 whatever the request says.
    if db.session.scalar(recognition.recognitions_select(current_user).where(Recognition.id == recognition_id)) is None:
        abort(404)
    if reason is None or not reason.strip():
        raise ApiValidationError([{"field": "reason", "message": _("Say why (at most 2000 characters).")}])
    try:
        (row,) = action([recognition_id], reason=reason, user=current_user)
    except recognition.RecognitionError as exc:
        return _refused(exc)
    db.session.commit()
    return _detail(row)


@bp.post("/titles/recognitions/<int:recognition_id>/reject")
@scope_first(APPROVE)
@operation(APPROVE, ok=RecognitionDetail, json=ReasonIn, tags=TAGS, errors=(409,))
def title_recognition_reject(recognition_id: int, json: ReasonIn):
    """Reject a proposal, saying why."""
    return _single(recognition_id, json.reason, recognition.reject)


@bp.post("/titles/recognitions/<int:recognition_id>/revoke")
@scope_first(APPROVE)
@operation(APPROVE, ok=RecognitionDetail, json=ReasonIn, tags=TAGS, errors=(409,))
def title_recognition_revoke(recognition_id: int, json: ReasonIn):
    """Revoke a recognition, saying why (its certificate then checks as revoked)."""
    return _single(recognition_id, json.reason, recognition.revoke)


def _correction(
    row: Recognition, correction: recognition.DecisionCorrection, *, dry_run: bool
) -> DecisionCorrectionOut:
    return DecisionCorrectionOut(
        recognition_id=row.id,
        old_number=correction.old_number,
        old_date=correction.old_date,
        decision_number=correction.new_number,
        decision_date=correction.new_date,
        recognition_ids=sorted(r.id for r in correction.rows),
        dry_run=dry_run,
        preview_digest=correction.digest,
    )


@bp.post("/titles/recognitions/<int:recognition_id>/decision/correct")
@scope_first(APPROVE)
@operation(
    APPROVE,
    ok=DecisionCorrectionOut,
    json=DecisionCorrectionIn,
    query=CorrectionQuery,
    tags=TAGS,
    extra={409: CorrectionProblem},
)
def title_recognition_correct_decision(recognition_id: int, json: DecisionCorrectionIn, query: CorrectionQuery):
    """Correct a mistyped number or date of the decision that gave this recognition, on every recognition it gave:
    first ``dry_run=true`` (checked as the correction itself is; what changes and on which recognitions; nothing
    written), then the same body with that answer's ``preview_digest``, applied only if the correction still changes
    exactly that (else a 409 with the new preview). Audited with the reason; the signed credentials, which name the
    decision, are issued again."""
    row = db.session.scalar(recognition.recognitions_select(current_user).where(Recognition.id == recognition_id))
    if row is None:
        abort(404)
    if not query.dry_run and json.preview_digest is None:
        message = _("Preview the correction first (dry_run=true), then send its preview_digest to apply it.")
        raise ApiValidationError([{"field": "preview_digest", "message": message}], message)
    try:
        correction = recognition.correct_decision(
            row,
            decision_number=json.decision_number,
            decision_date=json.decision_date,
            reason=json.reason,
            user=current_user,
            apply=not query.dry_run,
            expected_digest=json.preview_digest,
        )
    except recognition.StaleCorrection as exc:
        preview = _correction(row, exc.correction, dry_run=True)
        db.session.rollback()  # the locks go with it
        return stale_preview("preview_digest", str(exc), preview)
    except recognition.RecognitionError as exc:
        return _refused(exc)
    answer = _correction(row, correction, dry_run=query.dry_run)
    if query.dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return answer


# --- public verification ---------------------------------------------------------------------------------------


@bp.get("/titles/verify/<code>")
@verify_limit
@operation(None, public=True, ok=CertificateCheck, tags=TAGS, errors=(404, 429))
def verify_recognition(code: str):
    """Public: is this certificate of recognition genuine and valid? The minimum: the title, the year, the
    validity, the status, the commune, and the holder with family and middle names as initials."""
    row = recognition.find_by_code(code) if len(code) <= 40 else None
    if row is None:
        abort(404, description=_("No certificate of recognition has this code."))
    answer = CertificateCheck.model_validate(recognition.public_view(row))
    return answer, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
