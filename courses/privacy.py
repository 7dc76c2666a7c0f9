"""What courses holds about a person, for the person's copy of their data (``lms.core.signals.personal_data``, ADR 57):
their enrolments, attendance marks, certificates of completion and the IT-skills certificates recorded for them —
all of them, whatever the reader's scope (the reader hands the person their own data)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from courses.forms import ENROLMENT_STATUS_NAMES
from courses.models import (
    Attendance,
    AttendanceStatus,
    Certificate,
    ClassSession,
    CourseClass,
    Enrolment,
    ItCertificate,
)
from lms.core.formatting import current_locale, day
from lms.core.personal_data import DataSection
from lms.core.signals import personal_data
from lms.extensions import db

IT_STATUS_NAMES = {"verified": _l("verified"), "rejected": _l("rejected"), "pending": _l("waiting for verification")}


@personal_data.connect_via("person")
def person_courses(sender: str, *, person_id: int, **_ignored: Any) -> list[DataSection]:
    """Four sections, one statement each; the rows stay after an erasure, without the name."""
    kept_counts = _("Kept without the name: the class's attendance and completion figures.")
    enrolments = db.session.execute(
        select(CourseClass.name, Enrolment.status, Enrolment.enrolled_at, Enrolment.withdrawn_at)
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
            ],
            [
                {
                    "class": name,
                    "status": str(ENROLMENT_STATUS_NAMES.get(status, status)),
                    "enrolled_at": enrolled_at,
                    "withdrawn_at": withdrawn_at,
                }
                for name, status, enrolled_at, withdrawn_at in enrolments
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
    ]
