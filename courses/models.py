"""The class programme: catalogue, classes, rooms, sessions, enrolment, attendance, and the learning records and
certificates that completion produces.

Session times are local wall-clock times in Asia/Ho_Chi_Minh (no daylight saving), stored without a zone: a
class "on Tuesdays at 19:00" must stay at 19:00 whatever the server's zone.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import _enum_check
from lms.extensions import Model, db, utcnow
from lms.registry.models import AdminUnit, Clc, Person, _binary, _Named
from lms.work import Attempts


class CourseCategory(enum.StrEnum):
    LITERACY = "literacy"
    NEEDS_BASED = "needs_based"
    TECHNOLOGY_TRANSFER = "technology_transfer"
    DIGITAL_SKILLS = "digital_skills"
    POLICY_STUDY = "policy_study"
    IT_SKILLS = "it_skills"


class TargetGroup(enum.StrEnum):
    EVERYONE = "everyone"
    ASSOCIATION_OFFICERS = "association_officers"
    ASSOCIATION_MEMBERS = "association_members"


class SessionStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class EnrolmentStatus(enum.StrEnum):
    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    WITHDRAWN = "withdrawn"


class InstructorRole(enum.StrEnum):
    INSTRUCTOR = "instructor"
    ASSISTANT = "assistant"
    ORGANISER = "organiser"


class LearningKind(enum.StrEnum):
    CLASS_COMPLETION = "class_completion"
    IT_MODULE = "it_module"
    POLICY_STUDY = "policy_study"
    SELF_STUDY = "self_study"
    EXTERNAL_CERTIFICATE = "external_certificate"
    ACTIVITY_ORGANISED = "activity_organised"


# The minimum attendance of a course is a whole percent, 1 % to 100 %: the form edits it so, every page and the
# attendance book print it so, and the API and the service refuse a share the form could not show (0.805, 0.005;
# tests/test_limits_agree.py), and the database refuses any other (migration 0050 rounded the shares the API had
# kept, 0.875, to the percent the pages showed: ADR 58). The column keeps three decimals only from before
# (Numeric(4, 3)); the check compares with a margin because SQLite keeps the share as a float (0.29 × 100 is
# 28.999999999999996 there), which PostgreSQL's exact numeric never needs.
SHARE_WHOLE_PERCENT = (
    "min_attendance_share >= 0.01 AND min_attendance_share <= 1"
    " AND abs(min_attendance_share * 100 - round(min_attendance_share * 100)) < 0.000001"
)
MIN_ATTENDANCE_PERCENT = 1
MAX_ATTENDANCE_PERCENT = 100
ATTENDANCE_SHARE_PLACES = 2  # a share of a whole percent: 0.8, 0.75, 0.01


def whole_percent_share(share: Decimal) -> bool:
    """Whether ``share`` (0.75) is a whole percent from 1 % to 100 %."""
    percent = share * 100
    return MIN_ATTENDANCE_PERCENT <= percent <= MAX_ATTENDANCE_PERCENT and percent == percent.to_integral_value()


class Course(_Named, Model):
    """A course of the catalogue and its completion rule."""

    __tablename__ = "course"
    __table_args__ = (
        _enum_check("category", CourseCategory),
        CheckConstraint(SHARE_WHOLE_PERCENT, name="share_whole_percent"),
        CheckConstraint("planned_hours > 0", name="hours_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unit whose catalogue holds the course (a province's shared catalogue, or a commune's own).
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_folded: Mapped[str] = mapped_column(String(300), index=True)
    sort_key: Mapped[str] = mapped_column(_binary(600))
    category: Mapped[str] = mapped_column(String(24))
    planned_hours: Mapped[Decimal] = mapped_column(Numeric(6, 1))
    description: Mapped[str] = mapped_column(Text, default="")
    min_attendance_share: Mapped[Decimal] = mapped_column(Numeric(4, 3), default=Decimal("0.8"))
    requires_assessment: Mapped[bool] = mapped_column(default=False)
    # IT-skills modules (IU01–IU15) a completed class grants; the framework is data (courses/data/it_skills.toml).
    module_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    unit: Mapped[AdminUnit] = relationship()


class AttendanceStatus(Model):
    """A mark a learner can get for a session; which ones count as attended is configuration."""

    __tablename__ = "attendance_status"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(60))
    name_en: Mapped[str] = mapped_column(String(60))
    counts_as_attended: Mapped[bool]
    position: Mapped[int] = mapped_column(default=0)


class Room(_Named, Model):
    """A place where sessions happen: a CLC room, a village hall, a yard."""

    __tablename__ = "room"
    __table_args__ = (UniqueConstraint("clc_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clc_id: Mapped[int] = mapped_column(ForeignKey("clc.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200))
    sort_key: Mapped[str] = mapped_column(_binary(400))
    capacity: Mapped[Optional[int]]
    outdoor: Mapped[bool] = mapped_column(default=False)

    clc: Mapped[Clc] = relationship()


class_instructor = Table(
    "class_instructor",
    db.metadata,
    Column("class_id", ForeignKey("course_class.id", ondelete="CASCADE"), primary_key=True),
    Column("person_id", ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True),
    Column("role", String(16), nullable=False, default=InstructorRole.INSTRUCTOR.value),
)


class CourseClass(_Named, Model):
    """A course run by a CLC: a group of learners, a place, instructors and a period."""

    __tablename__ = "course_class"
    __table_args__ = (
        _enum_check("target_group", TargetGroup),
        CheckConstraint("starts_on <= ends_on", name="period"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    clc_id: Mapped[int] = mapped_column(ForeignKey("clc.id"), index=True)
    # Denormalised from the CLC: the scoping key, and the shard key of completion and evaluation work.
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    name_folded: Mapped[str] = mapped_column(String(300))
    sort_key: Mapped[str] = mapped_column(_binary(600))
    room_id: Mapped[Optional[int]] = mapped_column(ForeignKey("room.id", ondelete="SET NULL"))
    capacity: Mapped[int]
    target_group: Mapped[str] = mapped_column(String(24), default=TargetGroup.EVERYONE.value)
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    course: Mapped[Course] = relationship(lazy="joined")
    clc: Mapped[Clc] = relationship()
    room: Mapped[Optional[Room]] = relationship()
    instructors: Mapped[list[Person]] = relationship(secondary=class_instructor, order_by="Person.sort_key")


class ClassSession(Model):
    """One meeting of a class. Cancelled sessions are kept (status) so the attendance book shows them."""

    __tablename__ = "class_session"
    __table_args__ = (
        _enum_check("status", SessionStatus),
        CheckConstraint("starts_at < ends_at", name="ends_after_start"),
        Index("ix_class_session_class_start", "class_id", "starts_at"),
        Index("ix_class_session_room_start", "room_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("course_class.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    room_id: Mapped[Optional[int]] = mapped_column(ForeignKey("room.id", ondelete="SET NULL"))
    place: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.SCHEDULED.value)
    # Set when the session was moved: where it was first planned.
    original_starts_at: Mapped[Optional[datetime]]
    note: Mapped[str] = mapped_column(String(300), default="")

    course_class: Mapped[CourseClass] = relationship()
    room: Mapped[Optional[Room]] = relationship()


class Holiday(Model):
    """A day with no sessions, for a unit's subtree (the country for Tết, a province for its own days)."""

    __tablename__ = "holiday"
    __table_args__ = (UniqueConstraint("unit_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    day: Mapped[date] = mapped_column(index=True)
    name: Mapped[str] = mapped_column(String(120))


class Enrolment(Model):
    __tablename__ = "enrolment"
    __table_args__ = (
        UniqueConstraint("class_id", "person_id"),
        _enum_check("status", EnrolmentStatus),
        Index("ix_enrolment_person", "person_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("course_class.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default=EnrolmentStatus.ENROLLED.value)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[Optional[datetime]]
    assessment_passed: Mapped[Optional[bool]]

    person: Mapped[Person] = relationship()
    course_class: Mapped[CourseClass] = relationship()


class Attendance(Model):
    """A learner's mark for a session. The latest ``recorded_at`` wins when two devices disagree."""

    __tablename__ = "attendance"
    __table_args__ = (
        UniqueConstraint("session_id", "person_id"),
        # A device numbers its marks its own way (1, 2, 3… or m-<person>): an id means something within a session.
        UniqueConstraint("session_id", "client_mark_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_session.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(ForeignKey("attendance_status.code"))
    recorded_at: Mapped[datetime]  # when the mark was taken, on the device (UTC)
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    device: Mapped[str] = mapped_column(String(100), default="")
    client_mark_id: Mapped[Optional[str]] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AttendanceSheetPreview(Model):
    """What an uploaded paper sheet would write, kept between its preview and the user's confirmation (ADR 19).

    ``cells`` are the sheet's marks as read (session, learner, status, and where they were in the sheet);
    ``digest`` fingerprints what the preview showed (the marks to write with their previous values, the
    certificates to revoke, the completions won and lost), so the confirmation writes only if it would do
    exactly that."""

    __tablename__ = "attendance_sheet_preview"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("course_class.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    cells: Mapped[list[Any]] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class PendingWork(Attempts, Model):
    """The transactional outbox: work marked in the same transaction as the change that caused it.

    A task queued after commit does the work and deletes the row; a periodic sweep re-queues rows a lost message
    left behind. ``(kind, subject_id)`` is unique, so marking twice is one piece of work. Work that keeps failing
    counts its attempts and is parked after the limit (``lms.work``, ADR 23).

    ``marked_at`` is rewritten by every change (the task deletes the row only if it still holds the value its run
    began with); ``sent_at`` is when a task was last sent for the row. A change to work already sent within the
    re-send interval sends nothing (the queued task will read it, or the run under way will find the row marked
    again and send itself again); the sweep re-sends rows whose ``sent_at`` is older than that (ADR 28).
    """

    __tablename__ = "pending_work"
    __table_args__ = (UniqueConstraint("kind", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int]
    # Not indexed: nothing looks a row up by it (the sweep goes by ``sent_at`` over a table that holds only the work
    # pending), and an update of an unindexed column is a heap-only one — the batch rewrites it every time.
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[Optional[datetime]]  # None: never sent (a row written before this column), the sweep sends it


class LearningRecord(Model):
    """The one fact table the titles engine reads: a person learned something, in a year.

    ``source_key`` makes writing idempotent: the completion of class 12 by person 34 is one row however many
    times completion is recomputed.
    """

    __tablename__ = "learning_record"
    __table_args__ = (
        _enum_check("kind", LearningKind),
        Index("ix_learning_record_person_year", "person_id", "year"),
        Index("ix_learning_record_commune_year", "commune_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    year: Mapped[int]
    kind: Mapped[str] = mapped_column(String(24))
    category: Mapped[Optional[str]] = mapped_column(String(24))
    module_code: Mapped[Optional[str]] = mapped_column(String(8))
    hours: Mapped[Decimal] = mapped_column(Numeric(6, 1), default=Decimal(0))
    completed_on: Mapped[date]
    # The commune where the learning happened: the shard key of evaluation.
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    source_key: Mapped[str] = mapped_column(String(100), unique=True)
    class_id: Mapped[Optional[int]] = mapped_column(ForeignKey("course_class.id", ondelete="SET NULL"), index=True)
    evidence: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ItCertificateStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"
    # Withdrawn by the test centre that issued it (Joint Circular 17/2016, Art. 17.2: "cấp và thu hồi"): it grants
    # nothing, and unlike a rejected record it still holds its centre and number, so the same certificate cannot be
    # recorded and verified for another person (ADR 60).
    REVOKED = "revoked"


class ItCertificate(Model):
    """A national IT-skills certificate a person brings (issued by an accredited test centre, Joint Circular
    17/2016), with its scan as evidence. Verified, it grants the modules of the basic standard as learning records
    (``itcert:{id}:module:{code}``), and an advanced certificate its advanced modules too (Art. 16.2); rejected or
    pending, it grants nothing.
    """

    __tablename__ = "it_certificate"
    __table_args__ = (
        _enum_check("status", ItCertificateStatus),
        UniqueConstraint("person_id", "number"),
        # One live record per certificate: a test centre numbers its own (Joint Circular 17/2016, Art. 17.2), so its
        # name and the number are the certificate. A rejected record holds nothing (migration 0047); the service
        # also compares the centre's name as typed (courses.it_skills.held_by_another).
        Index(
            "uq_it_certificate_number_issuer",
            "number",
            "issuer",
            unique=True,
            sqlite_where=text("status <> 'rejected'"),
            postgresql_where=text("status <> 'rejected'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(60))
    issuer: Mapped[str] = mapped_column(String(300))  # the accredited test centre
    issued_on: Mapped[date]
    # An advanced certificate (Joint Circular 17/2016, Art. 16.2: the basic certificate and the exams of 3 advanced
    # modules) names its advanced modules; a basic certificate (Art. 16.1) none.
    modules: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    evidence_file_id: Mapped[int] = mapped_column(ForeignKey("evidence_file.id"))
    status: Mapped[str] = mapped_column(String(16), default=ItCertificateStatus.PENDING.value, index=True)
    note: Mapped[str] = mapped_column(String(300), default="")  # why it was rejected
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[Optional[datetime]]

    person: Mapped[Person] = relationship()


class Certificate(Model):
    """A certificate of completion of a class, verifiable by its code on a public page."""

    __tablename__ = "certificate"
    __table_args__ = (UniqueConstraint("class_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("course_class.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    issued_on: Mapped[date]
    revoked_at: Mapped[Optional[datetime]]
    revoked_reason: Mapped[str] = mapped_column(String(300), default="")

    course_class: Mapped[CourseClass] = relationship()
    person: Mapped[Person] = relationship()


# Statuses every installation starts with (configurable afterwards, in the table).
DEFAULT_ATTENDANCE_STATUSES = (
    ("present", "Có mặt", "Present", True, 1),
    ("late", "Đi muộn", "Late", True, 2),
    ("excused", "Vắng có phép", "Excused", False, 3),
    ("absent", "Vắng", "Absent", False, 4),
)
