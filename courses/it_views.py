"""Pages of the IT-skills programme: an officer's "My training", a person's progress for managers and leaders,
national certificates (record, verify, reject, the scan), and the leaders' figures with their xlsx export.

An officer reaches their own pages through ``User.person_id``, not through a role's permission: the login is the
person. Everybody else goes through a permission in the person's (or the unit's) scope; out of scope and missing
are the same 404.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from courses import bp, documents, it_skills, reports, services
from courses.document_views import _download
from courses.forms import ItCertificateForm, RejectForm, RevokeForm, SelfEnrolForm, VerifyForm
from courses.it_skills import ItSkillsError, Period
from courses.models import (
    Certificate,
    ClassSession,
    Course,
    CourseCategory,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    ItCertificate,
    ItCertificateStatus,
    SessionStatus,
)
from lms.auth.decorators import permission_required
from lms.auth.permissions import Permission, can
from lms.core.evidence import evidence_response, sniff_media_type
from lms.core.models import EvidenceFile
from lms.core.services import audit
from lms.extensions import db
from lms.registry import issuers
from lms.registry import services as registry
from lms.registry.models import AdminUnit, Person, UnitLevel, UnitLineage

VIEW_IT = Permission.IT_TRAINING_VIEW
VIEW_FIGURES = Permission.IT_FIGURES_VIEW
VERIFY = Permission.IT_CERTIFICATE_VERIFY
FIGURE_LEVELS = (UnitLevel.COUNTRY, UnitLevel.PROVINCE, UnitLevel.DISTRICT, UnitLevel.COMMUNE)
CERTIFICATE_FIELDS = {
    "number": "number",
    "issuer": "issuer",
    "issued_on": "issued_on",
    "modules": "modules",
    "file": "file",
}


def _locale() -> str:
    return str(get_locale())


def _linked_person() -> Person | None:
    person_id = getattr(current_user, "person_id", None)
    return db.session.get(Person, person_id) if person_id else None


def _person_in_scope(person_id: int, *permissions: Permission) -> Person | None:
    for permission in permissions:
        person = registry.get_in_scope(Person, person_id, current_user, permission)
        if person is not None:
            return person
    return None


def _certificate_or_404(certificate_id: int) -> ItCertificate:
    """The certificate, for its own person or for a holder of VIEW_IT / VERIFY over the person's unit."""
    certificate = db.session.get(ItCertificate, certificate_id)
    if certificate is None or not it_skills.may_see_certificate(current_user, certificate, (VIEW_IT, VERIFY)):
        abort(404)
    return certificate


def _today() -> date:
    return services.local_now().date()


def _is_officer(person: Person) -> bool:
    return it_skills.is_officer(person)


def _open_classes(person: Person, commune: AdminUnit) -> list[CourseClass]:
    return it_skills.open_classes(person, commune, today=_today())


def _joined_classes(person: Person) -> list[tuple[CourseClass, str]]:
    """The IT-skills classes not yet over that the person is enrolled in or waiting for, with the status: the page
    names them next to the classes still open, so "no class is open" never follows "you are enrolled"."""
    return [
        (course_class, status)
        for course_class, status in db.session.execute(
            select(CourseClass, Enrolment.status)
            .join(Course, Course.id == CourseClass.course_id)
            .join(Enrolment, Enrolment.class_id == CourseClass.id)
            .where(
                Enrolment.person_id == person.id,
                Enrolment.status != EnrolmentStatus.WITHDRAWN,
                Course.category == CourseCategory.IT_SKILLS,
                CourseClass.ends_on >= _today(),
            )
            .options(selectinload(CourseClass.clc))
            .order_by(CourseClass.starts_on, CourseClass.id)
            .limit(20)
        ).tuples()
    ]


def _my_classes(person: Person) -> list[tuple[CourseClass, str]]:
    """Every class not yet over (whatever its field: literacy, a craft, IT…) the person is enrolled in or waiting
    for: what a learner actually does comes first on their own page."""
    return [
        (course_class, status)
        for course_class, status in db.session.execute(
            select(CourseClass, Enrolment.status)
            .join(Enrolment, Enrolment.class_id == CourseClass.id)
            .where(
                Enrolment.person_id == person.id,
                Enrolment.status != EnrolmentStatus.WITHDRAWN,
                CourseClass.ends_on >= _today(),
            )
            .options(selectinload(CourseClass.clc), selectinload(CourseClass.course))
            .order_by(CourseClass.starts_on, CourseClass.id)
            .limit(20)
        ).tuples()
    ]


def _training_context(person: Person) -> dict[str, Any]:
    commune = it_skills.commune_of(person)
    upcoming = list(
        db.session.scalars(
            select(ClassSession)
            .join(Enrolment, Enrolment.class_id == ClassSession.class_id)
            .where(
                Enrolment.person_id == person.id,
                Enrolment.status == EnrolmentStatus.ENROLLED,
                ClassSession.status == SessionStatus.SCHEDULED,
                ClassSession.starts_at >= services.local_now(),
            )
            .options(selectinload(ClassSession.course_class), selectinload(ClassSession.room))
            .order_by(ClassSession.starts_at)
            .limit(10)
        )
    )
    completions = list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.person_id == person.id)  # revoked ones too: the learner sees why
            .options(selectinload(Certificate.course_class))
            .order_by(Certificate.issued_on.desc())
        )
    )
    national = list(
        db.session.scalars(
            select(ItCertificate)
            .where(ItCertificate.person_id == person.id)
            .order_by(ItCertificate.issued_on.desc(), ItCertificate.id.desc())
        )
    )
    from lms.credentials.services import has_learner_record  # the credentials package imports the courses'

    return {
        "person": person,
        "commune": commune,
        "has_learner_record": has_learner_record(person),
        "progress": it_skills.progress(person.id),
        "fw": it_skills.framework(),
        "upcoming": upcoming,
        "completions": completions,
        "national": national,
        "locale": _locale(),
    }


# --- an officer's own pages ----------------------------------------------------------------------------------


@bp.get("/it/me")
@login_required
def my_training():
    person = _linked_person()
    if person is None:
        return render_template("courses/it/no_person.html")
    context = _training_context(person)
    # The IT-skills modules lead only for those they concern: association officers (Plan 1514) and whoever has
    # IT-skills records already; everyone else sees their own classes, sessions and certificates first.
    it_first = _is_officer(person) or bool(context["progress"].held) or bool(context["national"])
    return render_template(
        "courses/it/my_training.html",
        own=True,
        it_first=it_first,
        my_classes=_my_classes(person),
        open_classes=_open_classes(person, context["commune"]),
        joined_classes=_joined_classes(person),
        enrol_form=SelfEnrolForm(),
        **context,
    )


@bp.post("/it/me/classes/<int:class_id>/enrol")
@login_required
def enrol_myself(class_id: int):
    person = _linked_person()
    if person is None:
        abort(404)
    course_class = next((c for c in _open_classes(person, it_skills.commune_of(person)) if c.id == class_id), None)
    if course_class is None or not SelfEnrolForm().validate_on_submit():
        abort(404)
    try:
        result = services.enrol(course_class, [person.id])
    except services.CourseError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        if result.enrolled:
            flash(_("You are enrolled in %(name)s.", name=course_class.name), "success")
        else:
            flash(_("The class is full: you are on its waiting list."), "warning")
    return redirect(url_for("courses.my_training"))


def _scan_refused(form: ItCertificateForm) -> None:
    """The scan's type on the form next to the other fields' errors: the record's checks stop at the first, so a
    date in the future hid a .txt scan until the next try (and a file input is empty again after each)."""
    upload = form.file.data
    if upload is None or not getattr(upload, "filename", None) or form.file.errors:
        return
    head = upload.stream.read(16)
    upload.stream.seek(0)
    if head and sniff_media_type(head) is None:
        form.file.errors = [*form.file.errors, _("Only PDF, JPEG or PNG files are accepted.")]


def _refused_with_the_rest(form: ItCertificateForm, refused_field: str | None) -> None:
    """Said at once with the first refusal: the scan's type, the issue date on its own — a certificate of 2099 with
    two advanced modules was told of the modules only, and of its date on the next try — and that a scan chosen must
    be chosen again (a form sent back holds no file)."""
    if refused_field != "file":
        _scan_refused(form)
    if refused_field != "issued_on" and form.issued_on.data and not form.issued_on.errors:
        problem = it_skills.issue_date_problem(form.issued_on.data)
        if problem is not None:
            form.issued_on.errors = [*form.issued_on.errors, problem]
    upload = form.file.data
    if upload is not None and getattr(upload, "filename", None) and not form.file.errors:
        form.file.errors = [_("Choose the scan again: a form sent back does not keep its file.")]


def _record_certificate(person: Person, form: ItCertificateForm) -> ItCertificate | None:
    if not form.validate_on_submit():
        if request.method == "POST":
            _refused_with_the_rest(form, None)
        return None
    try:
        certificate = it_skills.record_certificate(
            person=person,
            number=form.number.data or "",
            issuer=form.issuer.data or "",
            issued_on=form.issued_on.data,
            upload=form.file.data,
            recorded_by_id=current_user.id,
            modules=form.modules.data or [],
            viewer=current_user,
        )
    except ItSkillsError as exc:
        db.session.rollback()
        form.clash_id = exc.certificate_id  # the other person's record of the same certificate, theirs to open
        field = getattr(form, CERTIFICATE_FIELDS.get(exc.field, ""), None)
        if field is not None:
            field.errors = [*field.errors, str(exc)]
        else:
            form.form_errors.append(str(exc))
        _refused_with_the_rest(form, exc.field)
        return None
    db.session.commit()
    flash(_("Certificate %(number)s recorded; a centre manager will check it.", number=certificate.number), "success")
    return certificate


@bp.route("/it/me/certificates/new", methods=["GET", "POST"])
@login_required
def my_new_certificate():
    person = _linked_person()
    if person is None:
        return render_template("courses/it/no_person.html")
    form = ItCertificateForm()
    if _record_certificate(person, form) is not None:
        return redirect(url_for("courses.my_training"))
    return render_template("courses/it/certificate_form.html", form=form, person=person, own=True)


# --- managers and leaders ------------------------------------------------------------------------------------


@bp.get("/it/persons/<int:person_id>")
@login_required
def it_person(person_id: int):
    if getattr(current_user, "person_id", None) == person_id:
        return redirect(url_for("courses.my_training"))
    person = _person_in_scope(person_id, VIEW_IT, VERIFY)
    if person is None:
        abort(404)
    return render_template(
        "courses/it/my_training.html",
        own=False,
        open_classes=[],
        enrol_form=None,
        may_record=can(current_user, VERIFY, person.unit),
        may_view_classes=can(current_user, Permission.COURSES_VIEW, person.unit),
        **_training_context(person),
    )


@bp.route("/it/persons/<int:person_id>/certificates/new", methods=["GET", "POST"])
@permission_required(VERIFY)
def new_certificate(person_id: int):
    person = _person_in_scope(person_id, VERIFY)
    if person is None:
        abort(404)
    form = ItCertificateForm()
    certificate = _record_certificate(person, form)
    if certificate is not None:
        return redirect(url_for("courses.it_certificate", it_certificate_id=certificate.id))
    return render_template("courses/it/certificate_form.html", form=form, person=person, own=False)


@bp.get("/it/certificates")
@permission_required(VERIFY)
def it_certificates():
    status = request.args.get("status", ItCertificateStatus.PENDING.value)
    if status == "duplicates":
        # Records made before one certificate could be live once, typed another way: to keep one and reject the rest.
        groups = it_skills.typed_duplicates(it_skills.certificates_in_scope(current_user, VERIFY))
        return render_template("courses/it/certificates.html", certificates=None, groups=groups, status=status)
    stmt = it_skills.certificates_in_scope(current_user, VERIFY).options(selectinload(ItCertificate.person))
    if status in {s.value for s in ItCertificateStatus}:
        stmt = stmt.where(ItCertificate.status == status)
    else:
        status = "all"  # not a status (a typo, an old link): all of them, with the column that tells them apart
    page = db.paginate(stmt.order_by(ItCertificate.recorded_at.desc(), ItCertificate.id.desc()), per_page=50)
    return render_template("courses/it/certificates.html", certificates=page, status=status)


@bp.get("/it/certificates/<int:it_certificate_id>")
@login_required
def it_certificate(it_certificate_id: int):
    certificate = _certificate_or_404(it_certificate_id)
    return _certificate_page(certificate, may_decide=can(current_user, VERIFY, certificate.person.unit))


def _certificate_page(
    certificate: ItCertificate,
    *,
    may_decide: bool = True,
    reject_form: RejectForm | None = None,
    revoke_form: RevokeForm | None = None,
) -> str:
    """The certificate's page, with the form that was refused (if any) showing its errors."""
    return render_template(
        "courses/it/certificate.html",
        certificate=certificate,
        scan=db.session.get(EvidenceFile, certificate.evidence_file_id),
        may_decide=may_decide,
        may_verify=it_skills.may_verify(certificate, current_user.id),
        verify_form=VerifyForm(),
        reject_form=reject_form or RejectForm(),
        revoke_form=revoke_form or RevokeForm(),
        fw=it_skills.framework(),
        locale=_locale(),
    )


@bp.get("/it/certificates/<int:it_certificate_id>/scan")
@login_required
def it_certificate_scan(it_certificate_id: int):
    scan = it_skills.scan_for(_certificate_or_404(it_certificate_id), viewer_person_id=current_user.person_id)
    if scan is None:
        abort(404)
    db.session.commit()
    return evidence_response(scan)


def _decidable_or_404(certificate_id: int) -> ItCertificate:
    certificate = db.session.get(ItCertificate, certificate_id)
    if certificate is None or not can(current_user, VERIFY, certificate.person.unit):
        abort(404)
    return certificate


@bp.post("/it/certificates/<int:it_certificate_id>/verify")
@permission_required(VERIFY)
def verify_it_certificate(it_certificate_id: int):
    certificate = _decidable_or_404(it_certificate_id)
    if not VerifyForm().validate_on_submit():
        abort(400)
    try:
        it_skills.verify_certificate(certificate, user_id=current_user.id)
    except ItSkillsError as exc:
        revoked = certificate.status == ItCertificateStatus.REVOKED
        flash(
            str(exc) if revoked else _("You recorded or hold this certificate: another verifier must verify it."),
            "danger",
        )
        return redirect(url_for("courses.it_certificate", it_certificate_id=certificate.id))
    db.session.commit()
    flash(_("Certificate %(number)s verified: the basic modules are granted.", number=certificate.number), "success")
    return redirect(url_for("courses.it_certificate", it_certificate_id=certificate.id))


@bp.post("/it/certificates/<int:it_certificate_id>/reject")
@permission_required(VERIFY)
def reject_it_certificate(it_certificate_id: int):
    certificate = _decidable_or_404(it_certificate_id)
    form = RejectForm()
    if form.validate_on_submit():
        it_skills.reject_certificate(certificate, reason=form.reason.data or "", user_id=current_user.id)
        db.session.commit()
        flash(_("Certificate %(number)s rejected.", number=certificate.number), "warning")
        return redirect(url_for("courses.it_certificate", it_certificate_id=certificate.id))
    return _certificate_page(certificate, reject_form=form), 400


@bp.post("/it/certificates/<int:it_certificate_id>/revoke")
@permission_required(VERIFY)
def revoke_it_certificate(it_certificate_id: int):
    """The test centre revoked a verified certificate (Joint Circular 17/2016, Art. 17.2): recorded with the centre's
    decision; its modules no longer count."""
    certificate = _decidable_or_404(it_certificate_id)
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            it_skills.revoke_certificate(certificate, reason=form.reason.data or "", user_id=current_user.id)
        except ItSkillsError as exc:
            flash(str(exc), "danger")
            return redirect(url_for("courses.it_certificate", it_certificate_id=certificate.id))
        db.session.commit()
        flash(_("Certificate %(number)s recorded as revoked by its test centre.", number=certificate.number), "warning")
        return redirect(url_for("courses.it_certificate", it_certificate_id=certificate.id))
    return _certificate_page(certificate, revoke_form=form), 400


# --- the leaders' figures ------------------------------------------------------------------------------------


def _figures_unit_or_404(unit_id: int) -> AdminUnit:
    unit = db.session.get(AdminUnit, unit_id)
    if unit is None or unit.level not in FIGURE_LEVELS or not can(current_user, VIEW_FIGURES, unit):
        abort(404)
    return unit


def _period() -> Period | str:
    try:
        first, last = reports.parse_period(request.args.get("from"), request.args.get("to"), today=_today())
    except reports.ReportPeriodError as exc:
        return str(exc)
    return Period(first, last)


@bp.get("/it/figures")
@permission_required(VIEW_FIGURES)
def it_figures():
    from courses import queries

    units = [u for u in queries.scope_units(current_user, VIEW_FIGURES) if u.level in FIGURE_LEVELS]
    # A new commune's leader also holds the communes merged into it in 2025: theirs first, the old ones marked.
    units.sort(key=lambda u: u.valid_to is not None)
    if len(units) == 1:
        return redirect(url_for("courses.it_unit", unit_id=units[0].id))
    return render_template("courses/it/choose_unit.html", units=units)


@bp.get("/it/units/<int:unit_id>")
@permission_required(VIEW_FIGURES)
def it_unit(unit_id: int):
    unit = _figures_unit_or_404(unit_id)
    period = _period()
    if isinstance(period, str):
        default = reports.parse_period(None, None, today=_today())
        return render_template(
            "courses/it/figures.html",
            unit=unit,
            error=period,
            result=None,
            matrix=[],
            first=default[0],
            last=default[1],
        ), 400
    result = it_skills.figures(unit, period)
    matrix = it_skills.officers_matrix(unit, period, limit=500) if unit.level == UnitLevel.COMMUNE else []
    indicator, total_check, commune_checks = _officer_targets(unit, result)
    communes, unrecorded = _lagging_first(unit, result, commune_checks)
    # A unit that ended before the period (Kon Tum, its districts and communes before 1 July 2025) has no commune in
    # it: the page says so and leads to the units that succeeded it, instead of "No commune here." under 0 / 0.
    successors = []
    if unit.valid_to is not None and unit.valid_to < period.first:
        successors = list(
            db.session.scalars(
                select(AdminUnit)
                .join(UnitLineage, UnitLineage.new_unit_id == AdminUnit.id)
                .where(UnitLineage.old_unit_id == unit.id)
                .order_by(AdminUnit.sort_key, AdminUnit.id)
            )
        )
        successors = [s for s in successors if can(current_user, VIEW_FIGURES, s)]
    return render_template(
        "courses/it/figures.html",
        unit=unit,
        error=None,
        result=result,
        communes=communes,
        unrecorded=unrecorded,
        successors=successors,
        matrix=matrix,
        indicator=indicator,
        total_check=total_check,
        commune_checks=commune_checks,
        first=period.first,
        last=period.last,
        fw=it_skills.framework(),
        # An association officer reads the figures but opens no one else's training page (certificates, scans).
        may_open_person=can(current_user, VIEW_IT, unit) or can(current_user, VERIFY, unit),
        locale=_locale(),
        percent=reports.percent,
        fraction=_fraction,
        issuer=issuers.report_issuer(unit),
    )


def _officer_targets(unit: AdminUnit, result: it_skills.Figures) -> tuple[Any, Any, dict[int, Any]]:
    """The plan's indicator "officers who organise CLC activities and are trained in IT" that applies to ``unit``
    (Kon Tum's Plan 1514: 40 % by 2025, 70 % by 2030, as loaded from the plan's data), and the measured shares of the
    unit and of each commune against the milestone of the period's year — each commune against the plan that applies
    to it, and its own area class may set its own target. A few queries whatever the number of communes."""
    from lms.targets import services as targets

    year = result.period.last.year
    communes = {
        u.id: u
        for u in db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_([c.commune_id for c in result.communes])))
    }
    # Each commune against the plan that applies to it — a province holds communes that succeeded Kon Tum's (Plan
    # 1514) beside others (the national programme) — as the commune's own page and the targets dashboard check it.
    indicators = targets.indicators_for_figure([unit, *communes.values()], "organised_and_trained")
    indicator = indicators.get(unit.id)
    if indicator is None:
        return None, None, {}
    commune_checks = {
        c.commune_id: targets.check_target(
            indicators.get(c.commune_id, indicator),
            year,
            communes[c.commune_id].area_class if c.commune_id in communes else None,
            c.organised_and_trained,
            c.officers,
        )
        for c in result.communes
    }
    total_check = (
        commune_checks.get(unit.id)
        if unit.level == UnitLevel.COMMUNE
        else targets.check_target(
            indicator, year, None, result.total("organised_and_trained"), result.total("officers")
        )
    )
    return indicator, total_check, commune_checks


def _lagging_first(
    unit: AdminUnit, result: it_skills.Figures, checks: dict[int, Any]
) -> tuple[list[it_skills.CommuneFigures], list[it_skills.CommuneFigures]]:
    """The communes of a province's page in the order a province officer reads them: furthest below their target
    first, those meeting it after them, those with members but no officer last; and apart, the communes with nothing
    recorded (no officer, no association member), named in one sentence. A province has a hundred communes, most of
    them not yet entered, and the few that lag were lost among them in alphabetical order. A commune's own page
    keeps its rows as they are; the xlsx keeps every commune in the official order."""
    if unit.level == UnitLevel.COMMUNE:
        return result.communes, []
    recorded = [c for c in result.communes if c.officers or c.members or c.has_association]
    unrecorded = [c for c in result.communes if not (c.officers or c.members or c.has_association)]

    def lag(c: it_skills.CommuneFigures) -> tuple[int, Decimal]:
        if not c.officers:
            return (2, Decimal(0))  # members recorded but no officer: nothing to measure, after the others
        share = Decimal(c.organised_and_trained) * 100 / c.officers
        check = checks.get(c.commune_id)
        if check is None:  # no plan target for the period: the lowest share first
            return (0, share)
        return (1 if check.met else 0, share - check.target)  # below its target by most first

    # sorted() is stable: communes that lag alike keep the official order of their names.
    return sorted(recorded, key=lag), unrecorded


def _fraction(numerator: int, denominator: int) -> Any:
    from fractions import Fraction

    return Fraction(numerator, denominator) if denominator else None


@bp.get("/it/units/<int:unit_id>.xlsx")
@permission_required(VIEW_FIGURES)
def it_unit_xlsx(unit_id: int):
    unit = _figures_unit_or_404(unit_id)
    period = _period()
    if isinstance(period, str):
        abort(400, description=period)
    result = it_skills.figures(unit, period)
    matrix = it_skills.officers_matrix(unit, period)
    indicator, total_check, commune_checks = _officer_targets(unit, result)
    content = reports.it_figures_xlsx(
        result,
        matrix,
        total_check=total_check,
        commune_checks=commune_checks,
        source=indicator.plan.source if indicator else "",
        made_by=current_user.name,
        # Filed as the targets reports are: the unit's issuer from the same configuration, the number typed.
        issuer=issuers.report_issuer(unit),
        document_number=issuers.requested_number(),
    )
    audit("it_figures.export", unit, officers=len(matrix))  # names of officers: personal data
    db.session.commit()
    return _download(
        content, documents.XLSX_MIMETYPE, f"cntt-can-bo-hoi-{unit.code}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.xlsx"
    )
