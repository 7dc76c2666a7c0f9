"""What courses holds about a person, for the person's copy of their data (``lms.core.signals.personal_data``, ADR 57):
their enrolments (with the class's assessment), attendance marks, certificates of completion, the IT-skills
certificates recorded for them and the classes they teach — all of them, whatever the reader's scope (the reader hands
the person their own data)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, or_, select

from courses.forms import ASSESSMENT_RESULT_NAMES, ENROLMENT_STATUS_NAMES
from courses.models import (
    Attendance,
    AttendanceStatus,
    Certificate,
    ClassSession,
    CourseClass,
    Enrolment,
    ItCertificate,
    class_instructor,
)
from lms.core.formatting import current_locale, day
from lms.core.models import AuditEvent
from lms.core.personal_data import PROCESSING, DataSection, processing_rows
from lms.core.signals import personal_data
from lms.extensions import db

IT_STATUS_NAMES = {
    "verified": _l("verified"),
    "rejected": _l("rejected"),
    "revoked": _l("revoked by its test centre"),
    "pending": _l("waiting for verification"),
}
TEACHING_ROLE_NAMES = {"instructor": _l("Instructor"), "assistant": _l("Assistant"), "organiser": _l("Organiser")}
#: The events on a person's records in courses, as the person reads them in the log of who processed their data.
ACTION_NAMES = {
    "certificate.download": _l("Certificate of completion downloaded"),
    "credential.download": _l("Signed credential downloaded"),
    "it_certificate.record": _l("IT-skills certificate recorded"),
    "it_certificate.verify": _l("IT-skills certificate verified"),
    "it_certificate.reject": _l("IT-skills certificate rejected"),
    "it_certificate.revoke": _l("IT-skills certificate revoked by its test centre"),
    "it_certificate.scan_viewed": _l("Scan of the IT-skills certificate viewed"),
    "class.withdraw": _l("Withdrawn from a class"),
    "class.assessment": _l("Class assessment result recorded"),
}
#: Events on a class that name one learner (``details.person_id``).
CLASS_ACTIONS = ("class.withdraw", "class.assessment")


def _events(person_id: int) -> list[dict[str, Any]]:
    """The audit events on the person's certificates, IT certificates and on their classes naming them, reached
    through the events' objects (the audit log's index)."""
    certificates = select(cast(Certificate.id, String)).where(Certificate.person_id == person_id)
    it_certificates = select(cast(ItCertificate.id, String)).where(ItCertificate.person_id == person_id)
    classes = select(cast(Enrolment.class_id, String)).where(Enrolment.person_id == person_id)
    return processing_rows(
        or_(
            and_(AuditEvent.object_type == "certificate", AuditEvent.object_id.in_(certificates)),
            and_(AuditEvent.object_type == "it_certificate", AuditEvent.object_id.in_(it_certificates)),
            and_(
                AuditEvent.object_type == "course_class",
                AuditEvent.object_id.in_(classes),
                AuditEvent.action.in_(CLASS_ACTIONS),
                AuditEvent.details["person_id"].as_integer() == person_id,
            ),
        ),
        ACTION_NAMES,
    )


def _assessment(passed: bool | None) -> str:
    return str(ASSESSMENT_RESULT_NAMES["none" if passed is None else "passed" if passed else "failed"])


@personal_data.connect_via("person")
def person_courses(sender: str, *, person_id: int, **_ignored: Any) -> list[DataSection]:
    """Five sections, one statement each, and the events on them; the rows stay after an erasure, without the name."""
    kept_counts = _("Kept without the name: the class's attendance and completion figures.")
    enrolments = db.session.execute(
        select(
            CourseClass.name,
            Enrolment.status,
            Enrolment.enrolled_at,
            Enrolment.withdrawn_at,
            Enrolment.assessment_passed,
        )
        .join(CourseClass, CourseClass.id == Enrolment.class_id)
        .where(Enrolment.person_id == person_id)
        .order_by(CourseClass.starts_on, CourseClass.id)
    ).all()
    english = current_locale().startswith("en")
    marks = db.session.execute(
        select(
            ClassSession.starts_at,
            CourseClass.name,
            AttendanceStatus.name_en if english else AttendanceStatus.name_vi,
            Attendance.recorded_at,
        )
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .join(CourseClass, CourseClass.id == ClassSession.class_id)
        .join(AttendanceStatus, AttendanceStatus.code == Attendance.status)
        .where(Attendance.person_id == person_id)
        .order_by(ClassSession.starts_at, Attendance.id)
    ).all()
    certificates = db.session.execute(
        select(Certificate.code, CourseClass.name, Certificate.issued_on, Certificate.revoked_at)
        .join(CourseClass, CourseClass.id == Certificate.class_id)
        .where(Certificate.person_id == person_id)
        .order_by(Certificate.issued_on, Certificate.id)
    ).all()
    it_certificates = db.session.execute(
        select(ItCertificate.number, ItCertificate.issuer, ItCertificate.issued_on, ItCertificate.status)
        .where(ItCertificate.person_id == person_id)
        .order_by(ItCertificate.issued_on, ItCertificate.id)
    ).all()
    teaching = db.session.execute(
        select(CourseClass.name, class_instructor.c.role, CourseClass.starts_on, CourseClass.ends_on)
        .join(class_instructor, class_instructor.c.class_id == CourseClass.id)
        .where(class_instructor.c.person_id == person_id)
        .order_by(CourseClass.starts_on, CourseClass.id)
    ).all()
    issued = _(
        "Kept as issued: a certificate is a record of the centre's act, and its signed copy carries the name it was "
        "issued to."
    )
    return [
        DataSection(
            "enrolments",
            _("Classes"),
            [
                ("class", _("Class")),
                ("status", _("Status")),
                ("enrolled_at", _("Enrolled")),
                ("withdrawn_at", _("Withdrawn")),
                ("assessment", _("Assessment")),
            ],
            [
                {
                    "class": name,
                    "status": str(ENROLMENT_STATUS_NAMES.get(status, status)),
                    "enrolled_at": enrolled_at,
                    "withdrawn_at": withdrawn_at,
                    "assessment": _assessment(passed),
                }
                for name, status, enrolled_at, withdrawn_at, passed in enrolments
            ],
            kept_counts,
        ),
        DataSection(
            "attendance",
            _("Attendance"),
            [("session", _("Session")), ("class", _("Class")), ("status", _("Mark")), ("recorded_at", _("Recorded"))],
            [
                # A session's time is the class's own wall-clock time (not UTC): shown as it is kept.
                {
                    "session": f"{day(starts_at)} {starts_at:%H:%M}",
                    "class": name,
                    "status": status,
                    "recorded_at": recorded_at,
                }
                for starts_at, name, status, recorded_at in marks
            ],
            kept_counts,
        ),
        DataSection(
            "certificates",
            _("Certificates of completion"),
            [("code", _("Code")), ("class", _("Class")), ("issued_on", _("Issued on")), ("revoked_at", _("Revoked"))],
            [
                {"code": code, "class": name, "issued_on": issued_on, "revoked_at": revoked_at}
                for code, name, issued_on, revoked_at in certificates
            ],
            issued,
        ),
        DataSection(
            "it_certificates",
            _("IT-skills certificates"),
            [
                ("number", _("Number")),
                ("issuer", _("Issued by")),
                ("issued_on", _("Date of issue")),
                ("status", _("Status")),
            ],
            [
                {
                    "number": number,
                    "issuer": issuer,
                    "issued_on": issued_on,
                    "status": str(IT_STATUS_NAMES.get(status, status)),
                }
                for number, issuer, issued_on, status in it_certificates
            ],
            issued,
        ),
        DataSection(
            "teaching",
            _("Classes taught"),
            [("class", _("Class")), ("role", _("Role")), ("starts_on", _("From")), ("ends_on", _("Until"))],
            [
                {"class": name, "role": str(TEACHING_ROLE_NAMES.get(role, role)), "starts_on": start, "ends_on": end}
                for name, role, start, end in teaching
            ],
            _("Kept without the name: the class's record of who taught it."),
        ),
        # Rows of the registry's log of who processed the data (lms.core.personal_data.PROCESSING).
        DataSection(PROCESSING, "", [], _events(person_id)),
    ]
