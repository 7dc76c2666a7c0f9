"""The IT-skills programme under /api/v1: the modules and standards, a person's progress, national certificates
with their verification and scan, and the leaders' figures.

A person's own progress and certificates are theirs through ``User.person_id``; anyone else needs
``IT_TRAINING_VIEW`` (reading) or ``IT_CERTIFICATE_VERIFY`` (recording, verifying) over the person's unit. Out of
scope and missing are the same 404. The figures need ``IT_FIGURES_VIEW`` (also an association officer's: ADR 7).
"""

from __future__ import annotations

from typing import Any

from flask import abort, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from courses import it_skills, reports, services
from courses.it_schemas import (
    CertificateForm,
    CertificateQuery,
    EmptyBody,
    FiguresOut,
    FiguresQuery,
    FrameworkOut,
    ItCertificateOut,
    ItCertificatePage,
    OpenClasses,
    ProgressOut,
    RejectIn,
    SelfEnrolled,
)
from courses.it_skills import ItSkillsError, Period
from courses.models import ItCertificate
from courses.schemas import ClassOut
from lms.api import bp
from lms.api.errors import ApiValidationError
from lms.api.idempotency import idempotent
from lms.api.pagination import page_of
from lms.api.schema import operation
from lms.auth.permissions import Permission, can, in_scope
from lms.core.evidence import evidence_response
from lms.extensions import db
from lms.registry import services as registry
from lms.registry.models import AdminUnit, Person, UnitLevel

VIEW_IT = Permission.IT_TRAINING_VIEW
VIEW_FIGURES = Permission.IT_FIGURES_VIEW
VERIFY = Permission.IT_CERTIFICATE_VERIFY
TAGS = ["it-skills"]
FIGURE_LEVELS = (UnitLevel.COUNTRY, UnitLevel.PROVINCE, UnitLevel.DISTRICT, UnitLevel.COMMUNE)


def _progress(person: Person) -> ProgressOut:
    progress = it_skills.progress(person.id)
    return ProgressOut.model_validate(
        {
            "person_id": person.id,
            "full_name": person.full_name,
            "modules": progress.modules,
            "standards": progress.standards,
            "certified": progress.certified,
            "trained": progress.trained,
            "missing_basic": progress.missing_basic,
        }
    )


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
@operation(None, ok=FrameworkOut, tags=TAGS)
def it_modules() -> FrameworkOut:
    """The national basic IT-skills standard: modules IU01–IU06, the standards built from them, what a national
    certificate grants and what "trained in IT" means for the plan."""
    fw = it_skills.framework()
    definition = it_skills.trained_definition()
    return FrameworkOut.model_validate(
        {
            "source": fw.source,
            "modules": fw.modules,
            "standards": list(fw.standards.values()),
            "certificate_grants": sorted(fw.all_required(fw.certificate_standard)),
            "trained_in_it": {"standard": definition.standard, "modules": list(definition.modules)},
        }
    )


@bp.get("/it/me/progress")
@operation(None, ok=ProgressOut, tags=TAGS)
def it_my_progress() -> ProgressOut:
    """The caller's own progress (their login must be linked to a person of the registry)."""
    return _progress(_me())


@bp.get("/it/persons/<int:person_id>/progress")
@operation(None, ok=ProgressOut, tags=TAGS)
def it_person_progress(person_id: int) -> ProgressOut:
    """A person's progress: one's own, or a person in your it_training.view or it_certificate.verify scope."""
    return _progress(_person(person_id, VIEW_IT, VERIFY))


def _me() -> Person:
    person_id = getattr(current_user, "person_id", None)
    person = db.session.get(Person, person_id) if person_id else None
    if person is None:
        abort(404, description=_("Your login is not linked to a person of the registry."))
    return person


@bp.get("/it/me/classes")
@operation(None, ok=OpenClasses, tags=TAGS)
def it_my_open_classes() -> OpenClasses:
    """The IT-skills classes the caller may enrol in themselves (as My training lists them): of their commune, not
    yet over, whose target group admits them, not joined yet."""
    person = _me()
    classes = it_skills.open_classes(person, it_skills.commune_of(person), today=services.local_now().date())
    return OpenClasses(items=[ClassOut.model_validate(c) for c in classes])


@bp.post("/it/me/classes/<int:class_id>/enrol")
@operation(None, ok=SelfEnrolled, json=EmptyBody, tags=TAGS, idempotent=True)
@idempotent
def it_enrol_myself(class_id: int, json: EmptyBody):
    """Enrol oneself in one of those classes (a seat, or the waiting list when it is full). Any other class, or one
    already joined, is not found."""
    person = _me()
    found = it_skills.open_classes(
        person, it_skills.commune_of(person), today=services.local_now().date(), class_id=class_id
    )
    if not found:
        abort(404, description=_("No class open to you has this id."))
    try:
        result = services.enrol(found[0], [person.id])
    except services.CourseError as exc:
        db.session.rollback()
        raise ApiValidationError([{"field": "", "message": str(exc)}], str(exc)) from exc
    return SelfEnrolled(class_id=class_id, person_id=person.id, status="enrolled" if result.enrolled else "waitlisted")


# --- certificates --------------------------------------------------------------------------------------------


@bp.get("/it/certificates")
@operation(None, ok=ItCertificatePage, query=CertificateQuery, tags=TAGS)
def list_it_certificates(query: CertificateQuery) -> ItCertificatePage:
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
    if query.status is not None:
        stmt = stmt.where(ItCertificate.status == query.status.value)
    if query.person_id is not None:
        stmt = stmt.where(ItCertificate.person_id == query.person_id)
    stmt = stmt.order_by(ItCertificate.recorded_at.desc(), ItCertificate.id.desc())
    return page_of(stmt, query, ItCertificatePage)


@bp.post("/it/certificates")
@operation(None, ok=ItCertificateOut, status=201, form=CertificateForm, tags=TAGS, idempotent=True)
@idempotent
def create_it_certificate(form: CertificateForm):
    """Record a national IT certificate with its scan (multipart): one's own (no ``person_id``) or, for a
    verifier, a person of their scope. It waits for a verifier other than the one who recorded or holds it."""
    if form.person_id is None:
        if current_user.person_id is None:
            raise ApiValidationError(
                [{"field": "person_id", "message": _("Required: your login is not linked to a person.")}]
            )
        person = db.session.get(Person, current_user.person_id)
    elif form.person_id == current_user.person_id:
        person = db.session.get(Person, form.person_id)
    else:
        person = registry.get_in_scope(Person, form.person_id, current_user, VERIFY)
    if person is None:
        raise ApiValidationError([{"field": "person_id", "message": _("No person with this id in your scope.")}])
    try:
        certificate = it_skills.record_certificate(
            person=person,
            number=form.number,
            issuer=form.issuer,
            issued_on=form.issued_on,
            upload=form.file,
            recorded_by_id=current_user.id,
            modules=form.modules,
            viewer=current_user,
        )
    except ItSkillsError as exc:
        error: dict[str, Any] = {"field": exc.field, "message": str(exc)}
        if exc.certificate_id is not None:  # the other person's record of it, which the caller may read
            error["it_certificate_id"] = exc.certificate_id
        raise ApiValidationError([error], str(exc)) from exc
    return (
        ItCertificateOut.model_validate(certificate),
        201,
        {"Location": url_for("api.get_it_certificate", it_certificate_id=certificate.id)},
    )


@bp.get("/it/certificates/<int:it_certificate_id>")
@operation(None, ok=ItCertificateOut, tags=TAGS)
def get_it_certificate(it_certificate_id: int) -> ItCertificateOut:
    """One certificate: one's own, or of a person in your scope."""
    return ItCertificateOut.model_validate(_certificate(it_certificate_id))


@bp.get("/it/certificates/<int:it_certificate_id>/scan")
@operation(None, ok=None, tags=TAGS)
def it_certificate_scan(it_certificate_id: int):
    """The certificate's scan (the file as uploaded; each download is audited)."""
    scan = it_skills.scan_for(_certificate(it_certificate_id), viewer_person_id=current_user.person_id)
    if scan is None:
        abort(404)
    db.session.commit()
    return evidence_response(scan)


def _decidable(certificate_id: int) -> ItCertificate:
    certificate = db.session.get(ItCertificate, certificate_id)
    if certificate is None or not can(current_user, VERIFY, certificate.person.unit):
        abort(404)
    return certificate


@bp.post("/it/certificates/<int:it_certificate_id>/verify")
@operation(VERIFY, ok=ItCertificateOut, json=EmptyBody, tags=TAGS, idempotent=True)
@idempotent
def verify_it_certificate(it_certificate_id: int, json: EmptyBody) -> ItCertificateOut:
    """Verify a certificate against the test centre's records: its modules then count for the person."""
    certificate = _decidable(it_certificate_id)
    if not it_skills.may_verify(certificate, current_user.id):
        # Separation of duties (the person who recorded or holds it), not a missing permission: 403, not 404.
        abort(403, description=_("You recorded or hold this certificate: another verifier must verify it."))
    try:
        it_skills.verify_certificate(certificate, user_id=current_user.id)
    except ItSkillsError as exc:  # revoked by its test centre, or held by another person
        raise ApiValidationError([{"field": exc.field, "message": str(exc)}], str(exc)) from exc
    return ItCertificateOut.model_validate(certificate)


@bp.post("/it/certificates/<int:it_certificate_id>/reject")
@operation(VERIFY, ok=ItCertificateOut, json=RejectIn, tags=TAGS, idempotent=True)
@idempotent
def reject_it_certificate(it_certificate_id: int, json: RejectIn) -> ItCertificateOut:
    """Reject a certificate, saying why (the person sees the reason)."""
    certificate = _decidable(it_certificate_id)
    try:
        it_skills.reject_certificate(certificate, reason=json.reason, user_id=current_user.id)
    except ItSkillsError as exc:
        raise ApiValidationError([{"field": exc.field, "message": str(exc)}], str(exc)) from exc
    return ItCertificateOut.model_validate(certificate)


@bp.post("/it/certificates/<int:it_certificate_id>/revoke")
@operation(VERIFY, ok=ItCertificateOut, json=RejectIn, tags=TAGS, idempotent=True)
@idempotent
def revoke_it_certificate(it_certificate_id: int, json: RejectIn) -> ItCertificateOut:
    """Record that the test centre revoked a verified certificate (Joint Circular 17/2016, Art. 17.2), giving the
    centre's decision as the reason: its modules no longer count, and its number stays taken."""
    certificate = _decidable(it_certificate_id)
    try:
        it_skills.revoke_certificate(certificate, reason=json.reason, user_id=current_user.id)
    except ItSkillsError as exc:
        raise ApiValidationError([{"field": exc.field, "message": str(exc)}], str(exc)) from exc
    return ItCertificateOut.model_validate(certificate)


# --- the leaders' figures ------------------------------------------------------------------------------------


@bp.get("/it/figures")
@operation(VIEW_FIGURES, ok=FiguresOut, query=FiguresQuery, tags=TAGS)
def it_figures(query: FiguresQuery):
    """The plan figures for a commune or a province, per commune and in total (numerators and denominators)."""
    unit = db.session.get(AdminUnit, query.unit_id)
    if unit is None or unit.level not in FIGURE_LEVELS or not can(current_user, VIEW_FIGURES, unit):
        abort(404)
    try:
        first, last = reports.parse_period(
            query.from_.isoformat() if query.from_ else None,
            query.to.isoformat() if query.to else None,
            today=services.local_now().date(),
        )
    except reports.ReportPeriodError as exc:
        raise ApiValidationError([{"field": "from", "message": str(exc)}]) from exc
    result = it_skills.figures(unit, Period(first, last))
    return FiguresOut.model_validate(
        {
            "unit_id": unit.id,
            "from": first,
            "to": last,
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
            "communes": result.communes,
        }
    ).model_dump(mode="json", by_alias=True)
