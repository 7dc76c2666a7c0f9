"""The IT-skills programme under /api/v1: the modules and standards, a person's progress, national certificates
with their verification and scan, and the leaders' figures.

A person's own progress and certificates are theirs through ``User.person_id``; anyone else needs
``IT_TRAINING_VIEW`` (reading) or ``IT_CERTIFICATE_VERIFY`` (recording, verifying) over the person's unit. Out of
scope and missing are the same 404.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from courses import it_skills, reports, services
from courses.api import _Body, _require, _utc_iso
from courses.it_skills import ItSkillsError, Period
from courses.models import ItCertificate, ItCertificateStatus
from lms.api import bp
from lms.api.errors import ApiValidationError
from lms.api.idempotency import idempotent
from lms.api.pagination import paginate
from lms.auth.permissions import Permission, can, in_scope
from lms.core.evidence import evidence_response
from lms.extensions import db
from lms.registry import services as registry
from lms.registry.models import AdminUnit, Person, UnitLevel

VIEW_IT = Permission.IT_TRAINING_VIEW
VERIFY = Permission.IT_CERTIFICATE_VERIFY
FIGURE_LEVELS = (UnitLevel.COUNTRY, UnitLevel.PROVINCE, UnitLevel.DISTRICT, UnitLevel.COMMUNE)


def progress_json(person: Person) -> dict[str, Any]:
    progress = it_skills.progress(person.id)
    return {
        "person_id": person.id,
        "full_name": person.full_name,
        "modules": [
            {
                "code": line.module.code,
                "level": line.module.level,
                "done": line.done_on is not None,
                "done_on": line.done_on.isoformat() if line.done_on else None,
                "sources": line.sources,
            }
            for line in progress.modules
        ],
        "standards": progress.standards,
        "trained_in_it": progress.trained,
        "missing_basic": [m.code for m in progress.missing_basic],
    }


def certificate_json(certificate: ItCertificate) -> dict[str, Any]:
    return {
        "id": certificate.id,
        "person_id": certificate.person_id,
        "number": certificate.number,
        "issuer": certificate.issuer,
        "issued_on": certificate.issued_on.isoformat(),
        "status": certificate.status,
        "note": certificate.note,
        "recorded_at": _utc_iso(certificate.recorded_at),
        "decided_at": _utc_iso(certificate.decided_at),
        "scan_url": url_for("api.it_certificate_scan", it_certificate_id=certificate.id),
    }


def _person(person_id: int, *permissions: Permission) -> Person:
    if getattr(current_user, "person_id", None) == person_id:
        person = db.session.get(Person, person_id)
        if person is not None:
            return person
    for permission in permissions:
        person = registry.get_in_scope(Person, person_id, current_user, permission)
        if person is not None:
            return person
    abort(404)


def _certificate(certificate_id: int) -> ItCertificate:
    certificate = db.session.get(ItCertificate, certificate_id)
    if certificate is None or not it_skills.may_see_certificate(current_user, certificate, (VIEW_IT, VERIFY)):
        abort(404)
    return certificate


# --- the framework and progress ------------------------------------------------------------------------------


@bp.get("/it/modules")
@login_required
def it_modules():
    fw = it_skills.framework()
    definition = it_skills.trained_definition()
    return {
        "source": fw.source,
        "modules": [{"code": m.code, "level": m.level, "name_vi": m.name_vi, "name_en": m.name_en} for m in fw.modules],
        "standards": [
            {
                "code": s.code,
                "name_vi": s.name_vi,
                "name_en": s.name_en,
                "requires_all": list(s.requires_all),
                "requires_standards": list(s.requires_standards),
                "choose_from": list(s.choose_from),
                "at_least": s.at_least,
            }
            for s in fw.standards.values()
        ],
        "certificate_grants": sorted(fw.all_required(fw.certificate_standard)),
        "trained_in_it": {"standard": definition.standard, "modules": list(definition.modules)},
    }


@bp.get("/it/me/progress")
@login_required
def it_my_progress():
    person_id = getattr(current_user, "person_id", None)
    person = db.session.get(Person, person_id) if person_id else None
    if person is None:
        abort(404, description="Your login is not linked to a person of the registry.")
    return progress_json(person)


@bp.get("/it/persons/<int:person_id>/progress")
@login_required
def it_person_progress(person_id: int):
    return progress_json(_person(person_id, VIEW_IT, VERIFY))


# --- certificates --------------------------------------------------------------------------------------------


@bp.get("/it/certificates")
@login_required
def list_it_certificates():
    """The caller's own certificates and those of persons in their VIEW_IT or VERIFY scope."""
    unit = aliased(AdminUnit, name="person_unit")
    mine = ItCertificate.person_id == current_user.person_id if current_user.person_id else None
    visible = [in_scope(unit.path, current_user, VIEW_IT), in_scope(unit.path, current_user, VERIFY)]
    stmt = (
        select(ItCertificate)
        .join(Person, Person.id == ItCertificate.person_id)
        .join(unit, unit.id == Person.unit_id)
        .where(or_(*([mine] if mine is not None else []), *visible))
    )
    errors = []
    status = request.args.get("status")
    if status is not None:
        if status not in {s.value for s in ItCertificateStatus}:
            errors.append({"field": "status", "message": "one of pending, verified, rejected"})
        stmt = stmt.where(ItCertificate.status == status)
    raw = request.args.get("person_id")
    if raw is not None:
        if not raw.isdigit():
            errors.append({"field": "person_id", "message": "an integer id"})
        else:
            stmt = stmt.where(ItCertificate.person_id == int(raw))
    if errors:
        raise ApiValidationError(errors)
    return paginate(stmt.order_by(ItCertificate.recorded_at.desc(), ItCertificate.id.desc()), certificate_json)


@bp.post("/it/certificates")
@login_required
@idempotent
def create_it_certificate():
    """multipart/form-data: number, issuer, issued_on, file, and person_id (default: the caller's own person)."""
    form = request.form
    errors: list[dict[str, str]] = [
        {"field": name, "message": "required"}
        for name in ("number", "issuer", "issued_on")
        if not form.get(name, "").strip()
    ]
    issued_on: date | None = None
    if form.get("issued_on"):
        try:
            issued_on = date.fromisoformat(form["issued_on"])
        except ValueError:
            errors.append({"field": "issued_on", "message": "a date as YYYY-MM-DD"})
    raw_person = form.get("person_id")
    person: Person | None = None
    if raw_person is None:
        if current_user.person_id is None:
            errors.append({"field": "person_id", "message": "required: your login is not linked to a person"})
        else:
            person = db.session.get(Person, current_user.person_id)
    elif not raw_person.isdigit():
        errors.append({"field": "person_id", "message": "an integer id"})
    elif int(raw_person) == current_user.person_id:
        person = db.session.get(Person, int(raw_person))
    else:
        person = registry.get_in_scope(Person, int(raw_person), current_user, VERIFY)
        if person is None:
            errors.append({"field": "person_id", "message": "no person with this id in your scope"})
    if errors:
        raise ApiValidationError(errors)
    assert person is not None
    assert issued_on is not None
    try:
        certificate = it_skills.record_certificate(
            person=person,
            number=form["number"],
            issuer=form["issuer"],
            issued_on=issued_on,
            upload=request.files.get("file"),
            recorded_by_id=current_user.id,
        )
    except ItSkillsError as exc:
        raise ApiValidationError([{"field": exc.field, "message": str(exc)}], str(exc)) from exc
    return (
        certificate_json(certificate),
        201,
        {"Location": url_for("api.get_it_certificate", it_certificate_id=certificate.id)},
    )


@bp.get("/it/certificates/<int:it_certificate_id>")
@login_required
def get_it_certificate(it_certificate_id: int):
    return certificate_json(_certificate(it_certificate_id))


@bp.get("/it/certificates/<int:it_certificate_id>/scan")
@login_required
def it_certificate_scan(it_certificate_id: int):
    scan = it_skills.scan_for(_certificate(it_certificate_id), viewer_person_id=current_user.person_id)
    if scan is None:
        abort(404)
    db.session.commit()
    return evidence_response(scan)


def _decidable(certificate_id: int) -> ItCertificate:
    _require(VERIFY)
    certificate = db.session.get(ItCertificate, certificate_id)
    if certificate is None or not can(current_user, VERIFY, certificate.person.unit):
        abort(404)
    return certificate


@bp.post("/it/certificates/<int:it_certificate_id>/verify")
@login_required
@idempotent
def verify_it_certificate(it_certificate_id: int):
    certificate = _decidable(it_certificate_id)
    _Body(set(), request.get_json(silent=True) or {}).check()
    if not it_skills.may_verify(certificate, current_user.id):
        # Separation of duties (the person who recorded or holds it), not a missing permission: 403, not 404.
        abort(403, description="you recorded or hold this certificate: another verifier must verify it")
    it_skills.verify_certificate(certificate, user_id=current_user.id)
    return certificate_json(certificate)


@bp.post("/it/certificates/<int:it_certificate_id>/reject")
@login_required
@idempotent
def reject_it_certificate(it_certificate_id: int):
    certificate = _decidable(it_certificate_id)
    body = _Body({"reason"})
    reason = body.text("reason", required=True)
    body.check()
    try:
        it_skills.reject_certificate(certificate, reason=reason or "", user_id=current_user.id)
    except ItSkillsError as exc:
        raise ApiValidationError([{"field": exc.field, "message": str(exc)}], str(exc)) from exc
    return certificate_json(certificate)


# --- the leaders' figures ------------------------------------------------------------------------------------


@bp.get("/it/figures")
@login_required
def it_figures():
    """The plan figures for a commune or a province, per commune and in total (numerators and denominators)."""
    _require(VIEW_IT)
    errors: list[dict[str, str]] = []
    raw = request.args.get("unit_id", "")
    if not raw.isdigit():
        raise ApiValidationError([{"field": "unit_id", "message": "required: an integer id"}])
    unit = db.session.get(AdminUnit, int(raw))
    if unit is None or unit.level not in FIGURE_LEVELS or not can(current_user, VIEW_IT, unit):
        abort(404)
    try:
        first, last = reports.parse_period(
            request.args.get("from"), request.args.get("to"), today=services.local_now().date()
        )
    except reports.ReportPeriodError as exc:
        errors.append({"field": "from", "message": str(exc)})
        raise ApiValidationError(errors) from exc
    result = it_skills.figures(unit, Period(first, last))
    return {
        "unit_id": unit.id,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "trained_in_it": {"standard": result.definition.standard, "modules": list(result.definition.modules)},
        "officers_organising_and_trained": {
            "numerator": result.total("organised_and_trained"),
            "denominator": result.total("officers"),
            "denominator_is": "commune association officers (chair, vice-chair, officer) active in the period",
        },
        "associations_leader_manages_clc": {
            "numerator": result.associations_led_in_clc,
            "denominator": result.associations,
            "denominator_is": "communes with association members in the period",
        },
        "policy_study": {
            "numerator": result.total("studied_policy"),
            "denominator": result.total("members"),
            "denominator_is": "association officers and members of the communes' branches",
        },
        "communes": [
            {
                "commune_id": c.commune_id,
                "name": c.commune_name,
                "officers": c.officers,
                "meets_basic": c.meets_basic,
                "trained": c.trained,
                "organised": c.organised,
                "organised_and_trained": c.organised_and_trained,
                "has_association": c.has_association,
                "leader_on_board": c.leader_on_board,
                "members": c.members,
                "studied_policy": c.studied_policy,
            }
            for c in result.communes
        ],
    }
