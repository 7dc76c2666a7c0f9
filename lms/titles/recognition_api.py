"""Registrations and recognitions under /api/v1/titles, and the public verification of a certificate of recognition.

Every list and look-up goes through the scoping helper (an object outside the caller's scope is a 404, whatever its
id). Bulk POSTs honour ``Idempotency-Key`` (the decorator owns their commit). A refused item is a 422 naming it
(``subject_ids[3]``); a status change the record no longer allows (decided by someone else meanwhile) is a 409.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, abort, request
from flask_login import current_user, login_required

from lms.api import bp
from lms.api.errors import ApiValidationError, problem
from lms.api.idempotency import idempotent
from lms.api.pagination import paginate
from lms.auth.permissions import Permission, can, has_permission_anywhere
from lms.extensions import db, limiter
from lms.registry.models import AdminUnit, UnitLevel
from lms.titles import recognition
from lms.titles.models import Recognition, RecognitionStatus, Registration, Title

verify_limit = limiter.shared_limit("30 per minute", scope="certificate-verify")  # the courses' budget, shared
TITLES = [t.value for t in Title]
STATUSES = [s.value for s in RecognitionStatus]


def _require(permission: Permission) -> None:
    if not has_permission_anywhere(current_user, permission):
        abort(403)


def _int_arg(name: str, errors: list[dict[str, str]]) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        errors.append({"field": name, "message": "an integer"})
        return None


def _choice_arg(name: str, options: list[str], errors: list[dict[str, str]]) -> str | None:
    raw = request.args.get(name) or None
    if raw is not None and raw not in options:
        errors.append({"field": name, "message": "one of " + ", ".join(options)})
    return raw


def _body(allowed: set[str]) -> dict[str, Any]:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ApiValidationError([{"field": "", "message": "must be a JSON object"}])
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise ApiValidationError([{"field": name, "message": "unknown field"} for name in unknown])
    return payload


def _ids(payload: dict[str, Any], name: str, errors: list[dict[str, str]]) -> list[int]:
    value = payload.get(name)
    if not isinstance(value, list) or not value or len(value) > recognition.MAX_ITEMS:
        errors.append({"field": name, "message": f"a list of 1 to {recognition.MAX_ITEMS} ids"})
        return []
    bad = [i for i, item in enumerate(value) if not isinstance(item, int) or isinstance(item, bool)]
    errors.extend({"field": f"{name}[{i}]", "message": "an integer id"} for i in bad)
    return [] if bad else value


def _text(
    payload: dict[str, Any], name: str, errors: list[dict[str, str]], *, required: bool = False, max_length: int = 200
) -> str:
    value = payload.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_length:
        errors.append(
            {"field": name, "message": f"{'required ' if required else ''}text of at most {max_length} characters"}
        )
        return ""
    return value


def _day(payload: dict[str, Any], name: str, errors: list[dict[str, str]]) -> date | None:
    try:
        return date.fromisoformat(payload[name])
    except (KeyError, TypeError, ValueError):
        errors.append({"field": name, "message": "required: a date as YYYY-MM-DD"})
        return None


def _title_year(payload: dict[str, Any], errors: list[dict[str, str]]) -> tuple[str, int]:
    title, year = payload.get("title"), payload.get("year")
    if title not in TITLES:
        errors.append({"field": "title", "message": "one of " + ", ".join(TITLES)})
    if not isinstance(year, int) or isinstance(year, bool) or not 2000 <= year <= 2100:
        errors.append({"field": "year", "message": "an integer from 2000 to 2100"})
    return str(title), year if isinstance(year, int) else 0


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


# --- serialisers -----------------------------------------------------------------------------------------------


def registration_json(row: Registration, names: dict[tuple[str, int], recognition.Subject]) -> dict[str, Any]:
    subject = names.get((row.subject_type, row.subject_id))
    return {
        "id": row.id,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "subject_name": subject.name if subject else None,
        "title": row.title,
        "year": row.year,
        "commune_id": row.commune_id,
        "registered_on": row.registered_on.isoformat(),
    }


def recognition_json(
    row: Recognition, names: dict[tuple[str, int], recognition.Subject], *, detail: bool = False
) -> dict[str, Any]:
    subject = names.get((row.subject_type, row.subject_id))
    body: dict[str, Any] = {
        "id": row.id,
        "subject_type": row.subject_type,
        "subject_id": row.subject_id,
        "subject_name": subject.name if subject else None,
        "title": row.title,
        "year": row.year,
        "level": row.level,
        "status": row.status,
        "commune_id": row.commune_id,
        "village_id": row.village_id,
        "score": float(row.score) if row.score is not None else None,
        "criteria_set_id": row.criteria_set_id,
        "decision_number": row.decision_number or None,
        "decision_date": row.decision_date.isoformat() if row.decision_date else None,
        "authority": row.authority or None,
        "valid_until": row.valid_until.isoformat() if row.valid_until else None,
        "certificate_code": row.certificate_code,
        "reason": row.reason or None,
        "proposed_at": row.proposed_at.isoformat() + "Z",
        "revoked_at": row.revoked_at.isoformat() + "Z" if row.revoked_at else None,
    }
    if detail:
        body["breakdown"] = row.breakdown
    return body


def _page_of(stmt: Any, serialise: Any) -> dict[str, Any]:
    page = paginate(stmt, lambda row: row)
    names = recognition.names(page["items"])
    return {**page, "items": [serialise(row, names) for row in page["items"]]}


# --- registrations ---------------------------------------------------------------------------------------------


@bp.get("/titles/registrations")
@login_required
def title_registrations():
    _require(Permission.TITLES_VIEW)
    errors: list[dict[str, str]] = []
    unit_id, year = _int_arg("unit_id", errors), _int_arg("year", errors)
    title = _choice_arg("title", TITLES, errors)
    if errors:
        raise ApiValidationError(errors)
    return _page_of(
        recognition.registrations_select(current_user, unit_id=unit_id, year=year, title=title), registration_json
    )


@bp.post("/titles/registrations")
@login_required
@idempotent
def title_registrations_create():
    """Register one subject (``subject_id``) or many (``subject_ids``) for a title and year."""
    _require(Permission.TITLES_ASSESS)
    payload = _body({"title", "year", "subject_id", "subject_ids"})
    errors: list[dict[str, str]] = []
    title, year = _title_year(payload, errors)
    if "subject_id" in payload:
        payload = {**payload, "subject_ids": [payload["subject_id"]]}
    ids = _ids(payload, "subject_ids", errors)
    if errors:
        raise ApiValidationError(errors)
    try:
        result = recognition.register(title=title, year=year, subject_ids=ids, user=current_user)
    except recognition.RecognitionError as exc:
        return _refused(exc)
    return {"title": title, "year": year, "created": result.created, "already": result.already}, 201


@bp.post("/titles/registrations/import")
@login_required
def title_registrations_import():
    """Register the subjects a spreadsheet lists (multipart: ``file``, ``commune_id``, ``title``, ``year``)."""
    _require(Permission.TITLES_ASSESS)
    errors: list[dict[str, str]] = []
    upload = request.files.get("file")
    title = request.form.get("title")
    if upload is None:
        errors.append({"field": "file", "message": "required: an .xlsx or .csv file"})
    if title not in TITLES:
        errors.append({"field": "title", "message": "one of " + ", ".join(TITLES)})
    try:
        year = int(request.form.get("year", ""))
    except ValueError:
        errors.append({"field": "year", "message": "an integer"})
        year = 0
    try:
        commune = db.session.get(AdminUnit, int(request.form.get("commune_id", "")))
    except ValueError:
        commune = None
    if (
        commune is None
        or commune.level != UnitLevel.COMMUNE
        or not can(current_user, Permission.TITLES_ASSESS, commune)
    ):
        errors.append({"field": "commune_id", "message": "a commune in your scope"})
    if errors:
        raise ApiValidationError(errors)
    assert upload is not None
    assert commune is not None
    dry_run = request.args.get("dry_run") in ("1", "true")
    try:
        result = recognition.import_registrations(
            upload.read(recognition.MAX_IMPORT_BYTES + 1),
            upload.filename or "file.xlsx",
            commune=commune,
            title=str(title),
            year=year,
            user=current_user,
            dry_run=dry_run,
        )
    except recognition.ImportRejected as exc:
        db.session.rollback()
        return problem(
            422,
            "Unprocessable Entity",
            str(exc),
            [{"field": "file", "row": e["row"], "column": e["column"], "message": e["message"]} for e in exc.errors],
        )
    except recognition.RecognitionError as exc:
        return _refused(exc)
    if dry_run:
        db.session.rollback()
        body = {"title": title, "year": year, "created": result.created, "already": result.already}
        return {**body, "dry_run": True, "preview": result.preview}, 200
    db.session.commit()
    return {"title": title, "year": year, "created": result.created, "already": result.already}, 201


# --- recognitions ----------------------------------------------------------------------------------------------


@bp.get("/titles/recognitions")
@login_required
def title_recognitions():
    _require(Permission.TITLES_VIEW)
    errors: list[dict[str, str]] = []
    unit_id, year = _int_arg("unit_id", errors), _int_arg("year", errors)
    title, status = _choice_arg("title", TITLES, errors), _choice_arg("status", STATUSES, errors)
    if errors:
        raise ApiValidationError(errors)
    return _page_of(
        recognition.recognitions_select(current_user, unit_id=unit_id, year=year, title=title, status=status),
        recognition_json,
    )


@bp.get("/titles/recognitions/<int:recognition_id>")
@login_required
def title_recognition(recognition_id: int):
    _require(Permission.TITLES_VIEW)
    row = db.session.scalar(recognition.recognitions_select(current_user).where(Recognition.id == recognition_id))
    if row is None:
        abort(404)
    return recognition_json(row, recognition.names([row]), detail=True)


@bp.get("/titles/proposable")
@login_required
def title_proposable():
    """Eligible subjects of a commune not yet proposed (what ``propose`` accepts)."""
    _require(Permission.TITLES_PROPOSE)
    errors: list[dict[str, str]] = []
    commune_id, year = _int_arg("commune_id", errors), _int_arg("year", errors)
    title = _choice_arg("title", TITLES, errors)
    for name, value in (("commune_id", commune_id), ("year", year), ("title", title)):
        if value is None and not any(e["field"] == name for e in errors):
            errors.append({"field": name, "message": "required"})
    if errors:
        raise ApiValidationError(errors)
    assert commune_id is not None
    assert year is not None
    assert title is not None
    stmt = recognition.proposable_select(
        current_user, commune_id=commune_id, year=year, title=title, village_id=_int_arg("village_id", errors)
    )

    def serialise(row: Any, names: dict[tuple[str, int], recognition.Subject]) -> dict[str, Any]:
        subject = names.get((row.subject_type, row.subject_id))
        return {
            "subject_type": row.subject_type,
            "subject_id": row.subject_id,
            "subject_name": subject.name if subject else None,
            "village_id": row.village_id,
            "score": float(row.score) if row.score is not None else None,
            "level": row.level,
        }

    return _page_of(stmt, serialise)


@bp.post("/titles/recognitions/propose")
@login_required
@idempotent
def title_recognitions_propose():
    _require(Permission.TITLES_PROPOSE)
    payload = _body({"title", "year", "subject_ids"})
    errors: list[dict[str, str]] = []
    title, year = _title_year(payload, errors)
    ids = _ids(payload, "subject_ids", errors)
    if errors:
        raise ApiValidationError(errors)
    try:
        created = recognition.propose(title=title, year=year, subject_ids=ids, user=current_user)
    except recognition.RecognitionError as exc:
        return _refused(exc)
    rows = list(db.session.scalars(recognition.recognitions_select(current_user).where(Recognition.id.in_(created))))
    names = recognition.names(rows)
    return {"items": [recognition_json(r, names) for r in rows]}, 201


@bp.post("/titles/recognitions/decide")
@login_required
@idempotent
def title_recognitions_decide():
    """One decision (number, date, authority) for many proposals."""
    _require(Permission.TITLES_APPROVE)
    payload = _body({"recognition_ids", "decision_number", "decision_date", "authority"})
    errors: list[dict[str, str]] = []
    ids = _ids(payload, "recognition_ids", errors)
    number = _text(payload, "decision_number", errors, required=True, max_length=60)
    day = _day(payload, "decision_date", errors)
    authority = _text(payload, "authority", errors)
    if errors:
        raise ApiValidationError(errors)
    assert day is not None
    try:
        rows = recognition.decide(
            ids, decision_number=number, decision_date=day, authority=authority, user=current_user
        )
    except recognition.RecognitionError as exc:
        return _refused(exc)
    names = recognition.names(rows)
    return {"items": [recognition_json(r, names) for r in rows]}, 200


def _single(recognition_id: int, action: Any) -> Any:
    _require(Permission.TITLES_APPROVE)
    # Scope before the body: a recognition outside the caller's units is a 404 whatever the request says.
    if db.session.scalar(recognition.recognitions_select(current_user).where(Recognition.id == recognition_id)) is None:
        abort(404)
    payload = _body({"reason"})
    errors: list[dict[str, str]] = []
    reason = _text(payload, "reason", errors, required=True, max_length=2000)
    if errors:
        raise ApiValidationError(errors)
    try:
        (row,) = action([recognition_id], reason=reason, user=current_user)
    except recognition.RecognitionError as exc:
        return _refused(exc)
    db.session.commit()
    return recognition_json(row, recognition.names([row]), detail=True)


@bp.post("/titles/recognitions/<int:recognition_id>/reject")
@login_required
def title_recognition_reject(recognition_id: int):
    return _single(recognition_id, recognition.reject)


@bp.post("/titles/recognitions/<int:recognition_id>/revoke")
@login_required
def title_recognition_revoke(recognition_id: int):
    return _single(recognition_id, recognition.revoke)


# --- public verification ---------------------------------------------------------------------------------------


@bp.get("/titles/verify/<code>")
@verify_limit
def verify_recognition(code: str):
    """Public: is this certificate of recognition genuine and valid? The minimum: the title, the year, the
    validity, the status, the commune, and the holder with family and middle names as initials."""
    row = recognition.find_by_code(code) if len(code) <= 40 else None
    if row is None:
        abort(404, description="No certificate of recognition has this code.")
    return recognition.public_view(row), 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
