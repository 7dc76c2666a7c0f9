"""Documents of the class programme: certificates and their public verification, the attendance book, the paper
attendance sheet, and the centre report.

Conventions as everywhere: a permission decorator, then every object loaded through the scoping helper (not found
and not yours are the same 404), and an audit event for every export of personal data. The verification pages
are the only public ones: rate-limited, and they show the minimum a third party needs.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import insert
from wtforms import HiddenField
from wtforms.validators import DataRequired

from courses import attendance_codes, bp, documents, it_skills, queries, reports, services, sheet_import
from courses.models import CourseClass
from lms.api.limits import verify_limit
from lms.auth.decorators import permission_required
from lms.auth.permissions import Permission, can
from lms.core.forms import LmsForm
from lms.core.models import AuditEvent
from lms.core.pdf import credential_qrs, normalise_code
from lms.core.services import audit
from lms.extensions import db, utcnow
from lms.registry import issuers
from lms.registry import services as registry_services
from lms.registry.models import AdminUnit, Clc, Person
from lms.registry.text import initials_name

VIEW = Permission.COURSES_VIEW
RECORD = Permission.ATTENDANCE_RECORD
# One budget for both verification pages, per client address: enough for people, too little to guess codes.


def _class(class_id: int, permission: Permission) -> CourseClass:
    course_class = services.get_class(class_id, current_user, permission)
    if course_class is None:
        abort(404)
    return course_class


def _download(content: bytes, mimetype: str, filename: str, *, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    return Response(
        content,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'{disposition}; filename="{filename}"',
            "Cache-Control": "private, no-store",  # personal data: no shared cache keeps a copy
        },
    )


# --- certificates ----------------------------------------------------------------------------------------------


@bp.get("/certificates/<code>.pdf")
@login_required
def certificate_pdf(code: str):
    """The certificate of completion: for its holder (from My training), for those who may see its class, and for
    those with personal-data rights over its holder — the leader of the learner's commune, whose pages (the
    learner's IT training) link it, when the class was held by another commune's centre."""
    certificate = services.find_certificate(code) if len(code) <= 40 else None
    if certificate is None:
        abort(404)
    if (
        getattr(current_user, "person_id", None) != certificate.person_id
        and services.get_class(certificate.class_id, current_user, VIEW) is None
        and registry_services.get_in_scope(Person, certificate.person_id, current_user, Permission.PERSONAL_DATA)
        is None
    ):
        abort(404)  # outside the user's scope: the same 404 as an unknown code
    if certificate.revoked_at is not None:
        abort(
            410,
            description=_(
                "Certificate %(code)s was revoked (%(reason)s): it can no longer be downloaded.",
                code=certificate.code,
                reason=certificate.revoked_reason or "—",
            ),
        )
    data = documents.certificate_data(certificate, documents.verification_url(certificate.code))
    audit("certificate.download", certificate, code=certificate.code)
    # The credential it may have issued is committed before the page is drawn, so the write lock (SQLite's, for the
    # whole database) is not held while it renders — as for a certificate of recognition.
    db.session.commit()
    content = documents.certificate_pdf(data)
    return _download(content, "application/pdf", f"chung-nhan-{certificate.code}.pdf", inline=True)


@bp.get("/classes/<int:class_id>/certificates.pdf")
@permission_required(VIEW)
def class_certificates_pdf(class_id: int):
    """Every certificate of the class not revoked, one per page, in one file: the centre manager prints them at
    once for the closing ceremony instead of opening each learner's in turn."""
    course_class = _class(class_id, VIEW)
    certificates = [c for c in queries.certificates(course_class.id) if c.revoked_at is None]
    if not certificates:
        abort(404)
    credentials = credential_qrs("certificate", certificates)  # the missing credentials issued at once
    # A fixed number of statements for the whole class (tests/courses/test_documents.py counts them).
    data = documents.certificates_data(
        certificates, {c.id: documents.verification_url(c.code) for c in certificates}, credentials
    )
    # One audit event per certificate, as a single certificate's download writes, in one statement.
    db.session.execute(
        insert(AuditEvent),
        [
            {
                "action": "certificate.download",
                "object_type": "certificate",
                "object_id": str(certificate.id),
                "user_id": current_user.id,
                "details": {"code": certificate.code},
                "ip": request.remote_addr,
                "at": utcnow(),
            }
            for certificate in certificates
        ],
    )
    db.session.commit()  # as for one certificate: the credentials issued are committed before the pages are drawn
    content = documents.certificates_pdf(data, title=f"Giấy chứng nhận hoàn thành khóa học · {course_class.name}")
    return _download(content, "application/pdf", f"giay-chung-nhan-lop-{course_class.id}.pdf", inline=True)


@bp.get("/verify")
@verify_limit
def verify_form():
    """Public: a form to type a certificate's code (the QR code leads straight to the result)."""
    code = normalise_code(request.args.get("code", ""))
    if code:
        return redirect(url_for("courses.verify", code=code))
    return render_template("courses/documents/verify_form.html")


@bp.get("/verify/<code>")
@verify_limit
def verify(code: str):
    """Public: is this certificate genuine? The holder's name in initials, the course, the centre, the date."""
    certificate = services.find_certificate(normalise_code(code)) if len(code) <= 40 else None
    if certificate is None:
        response = Response(
            render_template(
                "verify_unknown.html",
                code=code[:40],
                status_id="certificate-status",
                form_endpoint="courses.verify_form",
            ),
            status=404,
        )
    else:
        course_class = certificate.course_class
        clc = db.session.get(Clc, course_class.clc_id)
        response = Response(
            render_template(
                "courses/documents/verify.html",
                certificate=certificate,
                holder=initials_name(certificate.person.full_name),
                course_name=course_class.course.name,
                centre_name=clc.name if clc else "",
                modules=_modules(course_class.course.module_codes),
            )
        )
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Cache-Control"] = "no-store"
    return response


def _modules(codes: list[str] | None) -> list[str]:
    """ "IU03 Xử lý văn bản cơ bản" for each IT-skills module the course trains in, in the reader's language."""
    return it_skills.module_labels(codes, str(get_locale() or "vi"))


# --- attendance book ---------------------------------------------------------------------------------------------


@bp.get("/classes/<int:class_id>/attendance-book.xlsx")
@permission_required(VIEW)
def attendance_book_xlsx(class_id: int):
    course_class = _class(class_id, VIEW)
    content = documents.attendance_book_xlsx(documents.attendance_book(course_class), made_by=current_user.name)
    audit("export.attendance_book", course_class, format="xlsx")
    db.session.commit()
    return _download(content, documents.XLSX_MIMETYPE, f"so-diem-danh-lop-{course_class.id}.xlsx")


@bp.get("/classes/<int:class_id>/attendance-book.pdf")
@permission_required(VIEW)
def attendance_book_pdf(class_id: int):
    course_class = _class(class_id, VIEW)
    content = documents.attendance_book_pdf(documents.attendance_book(course_class), made_by=current_user.name)
    audit("export.attendance_book", course_class, format="pdf")
    db.session.commit()
    return _download(content, "application/pdf", f"so-diem-danh-lop-{course_class.id}.pdf")


# --- paper attendance sheet ----------------------------------------------------------------------------------------


class AttendanceSheetForm(LmsForm):
    file = FileField(_l("Attendance sheet (.xlsx) or CSV"), validators=[FileRequired()])


class ConfirmSheetForm(LmsForm):
    token = HiddenField(validators=[DataRequired()])


def _sheet_page(course_class: CourseClass, form: AttendanceSheetForm, status: int = 200, **context):
    context.setdefault("preview", None)
    context.setdefault("errors", [])
    context.setdefault("error_count", 0)
    statuses = services.attendance_statuses()
    vietnamese = str(get_locale()) == "vi"
    return render_template(
        "courses/documents/attendance_sheet.html",
        course_class=course_class,
        form=form,
        locale=str(get_locale()),
        legend=attendance_codes.legend_text(attendance_codes.legend(statuses.values())),
        status_names={code: s.name_vi if vietnamese else s.name_en for code, s in statuses.items()},
        preview_rows=sheet_import.PREVIEW_ROWS,
        can_manage=can(current_user, Permission.COURSES_MANAGE, db.session.get(AdminUnit, course_class.commune_id)),
        **context,
    ), status


def _preview_context(result: sheet_import.Preview, token: str | None) -> dict:
    confirm_form = ConfirmSheetForm(formdata=None, token=token) if token else None
    return {"preview": result, "confirm_form": confirm_form, "errors": result.errors, "error_count": result.error_count}


@bp.route("/classes/<int:class_id>/attendance-sheet", methods=["GET", "POST"])
@permission_required(RECORD)
def attendance_sheet(class_id: int):
    """Upload a paper attendance sheet typed into a spreadsheet (or the attendance book filled in): checked whole
    and shown as a preview of what it would change. Nothing is written here; the preview's confirmation does."""
    course_class = _class(class_id, RECORD)
    form = AttendanceSheetForm()
    if not form.validate_on_submit():
        return _sheet_page(course_class, form, 422 if request.method == "POST" else 200)
    upload = form.file.data
    filename = upload.filename or "sheet.xlsx"
    try:
        parsed = sheet_import.check_sheet(course_class, upload.read(sheet_import.MAX_BYTES + 1), filename)
    except sheet_import.SheetRejected as exc:
        db.session.rollback()
        return _sheet_page(course_class, form, 422, errors=exc.errors, error_count=exc.count)
    result = sheet_import.preview(course_class, parsed)
    token = None
    if result.can_apply:
        token = sheet_import.store_preview(course_class, parsed, result, filename=filename, user_id=current_user.id)
        db.session.commit()
    else:
        db.session.rollback()
    return _sheet_page(course_class, form, 422 if result.error_count else 200, **_preview_context(result, token))


@bp.post("/classes/<int:class_id>/attendance-sheet/confirm")
@permission_required(RECORD)
def attendance_sheet_confirm(class_id: int):
    """Write the previewed sheet, exactly as previewed, or show the new preview if the stored data changed."""
    course_class = _class(class_id, RECORD)
    confirm_form = ConfirmSheetForm()
    if not confirm_form.validate_on_submit():
        abort(400)
    try:
        summary = sheet_import.confirm(course_class, confirm_form.token.data, user_id=current_user.id)
    except sheet_import.PreviewNotFound:
        db.session.rollback()
        flash(
            _("This preview is no longer available (applied already, or older than a day). Upload the sheet again."),
            "warning",
        )
        return redirect(url_for("courses.attendance_sheet", class_id=course_class.id))
    except sheet_import.PreviewOutdated as outdated:
        db.session.commit()  # the new preview is kept for its own confirmation; nothing else was written
        flash(
            _(
                "The attendance of this class changed after your preview, so nothing was written. "
                "Here is what the sheet would do now: check it and confirm again."
            ),
            "warning",
        )
        return _sheet_page(
            course_class, AttendanceSheetForm(formdata=None), 409, **_preview_context(outdated.preview, outdated.token)
        )
    except sheet_import.SheetRejected as exc:
        db.session.rollback()
        return _sheet_page(
            course_class, AttendanceSheetForm(formdata=None), 422, errors=exc.errors, error_count=exc.count
        )
    db.session.commit()
    message = _(
        "Sheet applied: %(written)d marks written (%(created)d new, %(updated)d changed), %(unchanged)d unchanged.",
        written=summary.created + summary.updated,
        created=summary.created,
        updated=summary.updated,
        unchanged=summary.unchanged,
    )
    if summary.revoked:
        message += " " + _("%(count)d certificates revoked.", count=summary.revoked)
    if summary.issued:
        message += " " + _("%(count)d certificates issued.", count=summary.issued)
    flash(message, "success")
    return redirect(url_for("courses.attendance_sheet", class_id=course_class.id))


@bp.get("/classes/<int:class_id>/attendance-sheet.xlsx")
@permission_required(RECORD)
def attendance_sheet_template(class_id: int):
    """The blank sheet of the class (its learners × its sessions), to print or to fill in and upload."""
    course_class = _class(class_id, RECORD)
    content = sheet_import.blank_sheet(course_class)
    audit("export.attendance_sheet", course_class)
    db.session.commit()
    return _download(content, documents.XLSX_MIMETYPE, f"phieu-diem-danh-lop-{course_class.id}.xlsx")


# --- centre report -----------------------------------------------------------------------------------------------


def _clc(clc_id: int) -> Clc:
    clc = registry_services.get_in_scope(Clc, clc_id, current_user, VIEW)
    if clc is None:
        abort(404)
    return clc


@bp.get("/clcs/<int:clc_id>/report")
@permission_required(VIEW)
def centre_report(clc_id: int):
    clc = _clc(clc_id)
    today = services.local_now().date()
    try:
        first, last = reports.parse_period(request.args.get("from"), request.args.get("to"), today=today)
    except reports.ReportPeriodError as exc:
        first, last = reports.parse_period(None, None, today=today)
        return render_template(
            "courses/documents/report.html",
            clc=clc,
            report=None,
            first=first,
            last=last,
            error=str(exc),
            locale=str(get_locale()),
        ), 400
    report = reports.centre_report(clc, first, last)
    commune = db.session.get(AdminUnit, clc.commune_id)
    return render_template(
        "courses/documents/report.html",
        clc=clc,
        report=report,
        first=first,
        last=last,
        error=None,
        locale=str(get_locale()),
        category_label=reports.category_label,
        percent=reports.percent,
        issuer=issuers.centre_issuer(commune, clc.name) if commune else None,
    )


def _centre_report_of_query(clc: Clc) -> reports.CentreReport:
    try:
        first, last = reports.parse_period(
            request.args.get("from"), request.args.get("to"), today=services.local_now().date()
        )
    except reports.ReportPeriodError as exc:
        abort(400, description=str(exc))
    return reports.centre_report(clc, first, last)


@bp.get("/clcs/<int:clc_id>/report.xlsx")
@permission_required(VIEW)
def centre_report_xlsx(clc_id: int):
    clc = _clc(clc_id)
    report = _centre_report_of_query(clc)
    first, last = report.first, report.last
    commune = db.session.get(AdminUnit, clc.commune_id)
    content = reports.centre_report_xlsx(
        report,
        centre_name=clc.name,
        commune_name=commune.full_name if commune else "",
        made_by=current_user.name,
        # Filed as the PDF is: the same issuer, number and signatures on its first sheet.
        issuer=issuers.centre_issuer(commune, clc.name) if commune else None,
        director=reports.centre_director(clc, report.as_of.date()),
        document_number=issuers.requested_number(),
    )
    return _download(content, documents.XLSX_MIMETYPE, f"bao-cao-tthtcd-{clc.id}-{first:%Y%m%d}-{last:%Y%m%d}.xlsx")


@bp.get("/clcs/<int:clc_id>/report.pdf")
@permission_required(VIEW)
def centre_report_pdf(clc_id: int):
    """The centre report to file: the page's figures for the same period, headed by the centre's configured issuer
    (lms/registry/data/report_issuers.toml, [centre]) and signed by its director."""
    clc = _clc(clc_id)
    report = _centre_report_of_query(clc)
    commune = db.session.get(AdminUnit, clc.commune_id)
    if commune is None:
        abort(404)
    content = reports.centre_report_pdf(
        report,
        centre_name=clc.name,
        commune_name=commune.full_name,
        issuer=issuers.centre_issuer(commune, clc.name),
        director=reports.centre_director(clc, report.as_of.date()),
        made_by=current_user.name,
        document_number=issuers.requested_number(),
    )
    name = f"bao-cao-tthtcd-{clc.id}-{report.first:%Y%m%d}-{report.last:%Y%m%d}.pdf"
    return _download(content, "application/pdf", name)
