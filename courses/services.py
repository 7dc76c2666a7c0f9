"""Operations of the class programme. They flush and never commit: the request or the task commits once.

Anything that touches many rows (bulk enrolment, a session's attendance, completions) is a few set-based
statements whatever the number of learners.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from flask import current_app, has_request_context, request
from sqlalchemy import (
    Integer,
    Select,
    Table,
    bindparam,
    case,
    delete,
    exists,
    extract,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased, contains_eager, selectinload
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from courses.models import (
    Attendance,
    AttendanceStatus,
    Certificate,
    ClassSession,
    Course,
    CourseCategory,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    Holiday,
    InstructorRole,
    LearningKind,
    LearningRecord,
    PendingWork,
    Room,
    SessionStatus,
    TargetGroup,
    class_instructor,
    whole_percent_share,
)
from courses.scheduling import (
    Interval,
    Recurrence,
    ScheduleError,
    check_within_class,
    expand,
    find_conflicts,
    on_pattern,
)
from lms.auth.usercache import detached
from lms.celery import enqueue_after_commit
from lms.core.clock import LocalDay, LocalDayOfUtc, LocalTimeOfUtc, local_now
from lms.core.formatting import in_request_language as _
from lms.core.models import AuditEvent
from lms.core.pdf import new_code
from lms.core.services import audit
from lms.core.signals import learning_records_changed, revoked
from lms.extensions import db, utcnow
from lms.registry.models import (
    AdminUnit,
    AssociationMembership,
    AssociationRole,
    Clc,
    Person,
    UnitLevel,
    subtree,
)

COMPLETION_WORK = "class_completion"
# Audit actions of two devices disagreeing on a mark: a newer mark replaced another value; an older (or tied) mark
# lost to the stored one. Both keep the two values; the session page lists them.
ATTENDANCE_OVERWRITE, ATTENDANCE_CONFLICT = "attendance.overwrite", "attendance.conflict"
# Shown on the public verification page, whose readers are Vietnamese: stored in Vietnamese.
REVOKED_NOT_COMPLETED = "Không còn đáp ứng điều kiện hoàn thành khóa học (điểm danh đã được sửa)"


class CourseError(ValueError):
    """A refused operation; ``field`` names the input at fault, ``details`` lists per-item problems."""

    def __init__(self, message: str, field: str = "", details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.details = details or []


# --- scope ---------------------------------------------------------------------------------------------------


def classes_in_scope(user: Any, permission: Any) -> Select:
    """Classes of the communes where ``user`` holds ``permission`` (the one scoping helper underneath)."""
    from lms.auth.permissions import scoped

    return scoped(select(CourseClass), CourseClass.commune_id, user, permission)


def get_class(class_id: int, user: Any, permission: Any) -> CourseClass | None:
    return db.session.scalar(classes_in_scope(user, permission).where(CourseClass.id == class_id))


def get_session(session_id: int, user: Any, permission: Any, *, for_update: bool = False) -> ClassSession | None:
    """A session in the user's scope, with its class. ``for_update`` also locks the session's row (the look-up
    and the lock of :func:`record_attendance` in one statement), and loads the session alone: the batch reads its
    id, class id and status, not its class's columns (a lazy load if something does)."""
    from lms.auth.permissions import scope_paths

    stmt = _session_in_scope(tuple(scope_paths(user, permission)), for_update)
    if not for_update:
        return db.session.scalar(stmt, {"session_id": session_id})
    # The locked look-up reads three columns as a Core statement and makes the session object from them (no ORM
    # loading: ~0.13 ms of Python per batch, ADR 28's eighth pass); its other columns load if something reads them.
    row = db.session.connection().execute(stmt, {"session_id": session_id}).first()
    if row is None:
        return None
    found = db.session.identity_map.get(identity_key(ClassSession, row.id))
    if found is not None:
        # Already in the request's session (something read it before the lock): refreshed as populate_existing
        # did, from the row as it is now that it is locked.
        db.session.refresh(found)
        return cast(ClassSession, found)
    session = detached(ClassSession, {"id": row.id, "class_id": row.class_id, "status": row.status})
    db.session.add(session)
    return cast(ClassSession, session)


@functools.lru_cache(maxsize=512)
def _session_in_scope(paths: tuple[str, ...], for_update: bool) -> Select:
    """The statement of :func:`get_session` for these scope roots, built once per process and scope: building it
    (and computing its cache key, which SQLAlchemy keeps on the statement) cost more Python than the database took
    to run it. The session's id is its one parameter; a user whose scope changes gets another statement."""
    from lms.auth.permissions import scoped_to

    if for_update:
        # What the attendance batch reads of the session it locks: a Core statement (see get_session).
        locked = select(ClassSession.id, ClassSession.class_id, ClassSession.status)
        locked = locked.join(CourseClass, CourseClass.id == ClassSession.class_id)
        locked = scoped_to(locked, CourseClass.commune_id, paths)
        return locked.where(ClassSession.id == bindparam("session_id")).with_for_update(of=ClassSession)
    stmt = scoped_to(
        select(ClassSession).join(CourseClass, CourseClass.id == ClassSession.class_id),
        CourseClass.commune_id,
        paths,
    ).where(ClassSession.id == bindparam("session_id"))
    return stmt.options(contains_eager(ClassSession.course_class))


def visible_courses(user: Any, permission: Any) -> Select:
    """Catalogue entries a user may use: those of units in their scope and those of the units above it (a
    province's shared catalogue is visible to its communes)."""
    from lms.auth.permissions import in_scope, scope_paths

    ancestor_ids = {int(part) for path in scope_paths(user, permission) for part in path.strip("/").split("/")}
    owner = AdminUnit.__table__.alias("owner")
    return (
        select(Course)
        .join(owner, owner.c.id == Course.unit_id)
        .where(in_scope(owner.c.path, user, permission) | Course.unit_id.in_(ancestor_ids))
    )


# --- catalogue and classes -----------------------------------------------------------------------------------


def create_course(
    *,
    unit: AdminUnit,
    code: str,
    name: str,
    category: str,
    planned_hours: Decimal,
    min_attendance_share: Decimal = Decimal("0.8"),
    requires_assessment: bool = False,
    description: str = "",
    module_codes: Sequence[str] = (),
) -> Course:
    if category not in {c.value for c in CourseCategory}:
        raise CourseError(_("unknown category %(category)s", category=category), "category")
    if not whole_percent_share(min_attendance_share):
        raise CourseError(
            _("the minimum attendance must be a whole percent from 1 to 100 (a share from 0.01 to 1, two decimals)"),
            "min_attendance_share",
        )
    if db.session.scalar(select(Course.id).where(Course.code == code)) is not None:
        raise CourseError(_("a course with code %(code)s already exists", code=code), "code")
    from courses.it_skills import unknown_modules

    if unknown := unknown_modules(module_codes):
        raise CourseError(
            _("unknown IT-skills modules %(codes)s (IU01 to IU15)", codes=", ".join(unknown)), "module_codes"
        )
    course = Course(
        unit_id=unit.id,
        code=code,
        name=name,
        category=category,
        planned_hours=planned_hours,
        min_attendance_share=min_attendance_share,
        requires_assessment=requires_assessment,
        description=description,
        module_codes=list(module_codes),
    )
    db.session.add(course)
    db.session.flush()
    audit("course.create", course)
    return course


def _rule_classes(course: Course, share: Decimal) -> Select[tuple[int]]:
    """The course's classes a new minimum attendance judges again; refused (:class:`CourseError`) when the share is
    not a whole percent or a class already has completions (:func:`set_min_attendance`)."""
    if not whole_percent_share(share):
        raise CourseError(
            _("the minimum attendance must be a whole percent from 1 to 100 (a share from 0.01 to 1, two decimals)"),
            "min_attendance_share",
        )
    class_ids = select(CourseClass.id).where(CourseClass.course_id == course.id)
    judged = db.session.scalar(
        select(func.count(func.distinct(LearningRecord.class_id))).where(LearningRecord.class_id.in_(class_ids))
    )
    if judged:
        raise CourseError(
            _(
                "Learners of %(num)s classes of this course already completed them at the current minimum attendance:"
                " the rule cannot change under them. Add a new course with the new rule.",
                num=judged,
            ),
            "min_attendance_share",
        )
    return class_ids


def min_attendance_effect(course: Course, share: Decimal) -> tuple[int, int]:
    """What :func:`set_min_attendance` would do, shown before it is done: how many classes of the course are judged
    again, and how many learners then complete them (and are given a certificate) — the completion rule itself
    (:func:`completed_learners`) asked under the new share in a savepoint rolled back. Refused as the change is."""
    class_ids = list(db.session.scalars(_rule_classes(course, share)))
    completing = 0
    savepoint = db.session.begin_nested()
    try:
        course.min_attendance_share = share
        db.session.flush()
        for class_id in class_ids:  # a course's classes: tens, a province's shared course a few hundred
            completing += len(completed_learners(class_id))
    finally:
        savepoint.rollback()
    return len(class_ids), completing


def set_min_attendance(course: Course, share: Decimal) -> bool:
    """Change the course's minimum attendance (a whole percent, as a share) and have its classes' completions
    recomputed; False when it is already so. Refused once any class of the course has a completion recorded: its
    certificates and attendance books state the share they were judged by, and a new share would complete or revoke
    learners already judged — a new rule is a new course."""
    if share == course.min_attendance_share and whole_percent_share(share):
        return False
    class_ids = _rule_classes(course, share)
    before = course.min_attendance_share
    course.min_attendance_share = share
    db.session.flush()
    mark_classes_dirty(class_ids)  # one statement however many classes the course runs
    audit("course.update", course, min_attendance_share={"from": str(before), "to": str(share)})
    return True


#: The days a class may run on: the years the titles count (2000–2100). A last day of 31/12/9999 overflowed the
#: day after it (a 500 on PATCH), and a class of ten thousand years was kept.
CLASS_DAYS = (date(2000, 1, 1), date(2100, 12, 31))


def _check_class_days(starts_on: date, ends_on: date) -> None:
    first, last = CLASS_DAYS
    for field_name, day in (("starts_on", starts_on), ("ends_on", ends_on)):
        if not first <= day <= last:
            raise CourseError(
                _("enter a day from %(first)s to %(last)s", first=f"{first:%d/%m/%Y}", last=f"{last:%d/%m/%Y}"),
                field_name,
            )
    if ends_on < starts_on:
        raise CourseError(_("the class must end on or after the day it starts"), "ends_on")


def create_class(
    *,
    course: Course,
    clc: Clc,
    name: str,
    capacity: int,
    starts_on: date,
    ends_on: date,
    room: Room | None = None,
    target_group: str = TargetGroup.EVERYONE.value,
    instructors: Iterable[Person] = (),
) -> CourseClass:
    _check_class_days(starts_on, ends_on)
    if capacity < 1:
        raise CourseError(_("the capacity must be at least 1"), "capacity")
    if room is not None and room.clc_id != clc.id:
        raise CourseError(_("the room belongs to another centre"), "room_id")
    course_class = CourseClass(
        course=course,
        clc=clc,
        commune_id=clc.commune_id,
        name=name,
        capacity=capacity,
        starts_on=starts_on,
        ends_on=ends_on,
        room=room,
        target_group=target_group,
    )
    db.session.add(course_class)
    db.session.flush()
    set_instructors(course_class, [(p.id, InstructorRole.INSTRUCTOR.value) for p in instructors])
    audit("class.create", course_class)
    return course_class


def update_class(
    course_class: CourseClass,
    *,
    name: str,
    capacity: int,
    starts_on: date,
    ends_on: date,
    room: Room | None,
    instructors: Iterable[Person],
) -> list[int]:
    """Correct a class after it was created: its name, usual room, seats, dates and instructors. Its course and
    target group stay (its completion rule and its enrolments rest on them). Fewer seats than learners already
    seated, or dates that leave a scheduled session outside, are refused with what to do. More seats move the
    waiting list up in its order; returns the ids of the people who took a seat."""
    _check_class_days(starts_on, ends_on)
    if room is not None and room.clc_id != course_class.clc_id:
        raise CourseError(_("the room belongs to another centre"), "room_id")
    # Lock the class row, as enrol() does, so a seat cannot be given twice while the capacity changes.
    db.session.execute(select(CourseClass.id).where(CourseClass.id == course_class.id).with_for_update())
    seated = len(_enrolled_ids(course_class))
    if capacity < max(seated, 1):
        raise CourseError(
            _(
                "%(n)s learners already hold a seat: keep at least %(n)s seats, or withdraw learners first",
                n=seated,
            ),
            "capacity",
        )
    outside = db.session.scalars(
        select(ClassSession.starts_at)
        .where(
            ClassSession.class_id == course_class.id,
            ClassSession.status == SessionStatus.SCHEDULED,
            or_(
                ClassSession.starts_at < datetime.combine(starts_on, datetime.min.time()),
                ClassSession.starts_at >= datetime.combine(ends_on + timedelta(days=1), datetime.min.time()),
            ),
        )
        .order_by(ClassSession.starts_at)
    ).all()
    if outside:
        raise CourseError(
            _(
                "%(n)s scheduled sessions fall outside these dates (the first on %(day)s): "
                "move or cancel them first, or keep the dates",
                n=len(outside),
                day=f"{outside[0]:%d/%m/%Y}",
            ),
            "starts_on" if outside[0].date() < starts_on else "ends_on",
        )
    course_class.name, course_class.room = name, room
    course_class.starts_on, course_class.ends_on = starts_on, ends_on
    course_class.capacity = capacity
    wanted = [p.id for p in instructors]
    current = _instructor_ids(course_class)
    if sorted(wanted) != sorted(current):
        set_instructors(course_class, [(person_id, InstructorRole.INSTRUCTOR.value) for person_id in wanted])
        _announce_organisers(course_class, set(wanted) ^ set(current))
    promoted: list[int] = []
    free = capacity - seated
    if free > 0:
        waiting = db.session.scalars(
            select(Enrolment)
            .where(Enrolment.class_id == course_class.id, Enrolment.status == EnrolmentStatus.WAITLISTED)
            .order_by(Enrolment.enrolled_at, Enrolment.id)
            .limit(free)
        ).all()
        seated_at = utcnow()  # as in withdraw(): the seat, and the sessions that count, start now
        for enrolment in waiting:
            enrolment.status, enrolment.enrolled_at = EnrolmentStatus.ENROLLED.value, seated_at
            promoted.append(enrolment.person_id)
    audit("class.update", course_class, capacity=capacity, promoted=promoted)
    if promoted:
        mark_dirty(course_class.id)
    db.session.flush()
    return promoted


def _announce_organisers(course_class: CourseClass, person_ids: Collection[int], years: set[int] | None = None) -> None:
    """An officer "organises CLC activities" as an instructor of a class with a session begun (ADR 7; the IT-skills
    programme's figure and the plan's target on it): instructors changed on such a class change the figure of the
    communes whose association they serve, in the years of its begun sessions (or the ``years`` given). Nothing
    else marks them — the targets sweep sees only sessions that begin from its last pass on — so they are
    announced as learning is (titles, then targets)."""
    from courses import it_skills

    if years is None:
        years = {
            int(year)
            for year in db.session.scalars(
                select(func.distinct(extract("year", ClassSession.starts_at))).where(
                    ClassSession.class_id == course_class.id,
                    ClassSession.status == SessionStatus.SCHEDULED,
                    ClassSession.starts_at <= local_now(),
                )
            )
        }
    if not years or not person_ids:
        return
    communes = set(
        db.session.scalars(
            select(AssociationMembership.unit_id)
            .join(AdminUnit, AdminUnit.id == AssociationMembership.unit_id)
            .where(
                AssociationMembership.person_id.in_(person_ids),
                AssociationMembership.role.in_(it_skills.framework().definitions["officer_roles"]),
                AdminUnit.level == UnitLevel.COMMUNE,
            )
        )
    )
    if communes:
        learning_records_changed.send(None, pairs={(commune, year) for commune in communes for year in years})


def _announce_begun(course_class: CourseClass, *starts: datetime) -> None:
    """Sessions that begin (or stop beginning) at ``starts`` before now — scheduled after the fact, moved into or out
    of the past, cancelled once held — change who organised CLC activities in those years, a change the targets
    sweep cannot see (it looks for sessions beginning since its last pass): the class's instructors are announced
    for those years (:func:`_announce_organisers`)."""
    now = local_now()
    years = {start.year for start in starts if start <= now}
    if years:
        _announce_organisers(course_class, _instructor_ids(course_class), years)


def set_instructors(course_class: CourseClass, people: Sequence[tuple[int, str]]) -> None:
    """Replace the class's instructors with ``(person_id, role)`` pairs."""
    db.session.execute(delete(class_instructor).where(class_instructor.c.class_id == course_class.id))
    if people:
        db.session.execute(
            insert(class_instructor),
            [{"class_id": course_class.id, "person_id": person_id, "role": role} for person_id, role in people],
        )
    db.session.expire(course_class, ["instructors"])


def _instructor_ids(course_class: CourseClass) -> list[int]:
    return list(
        db.session.scalars(select(class_instructor.c.person_id).where(class_instructor.c.class_id == course_class.id))
    )


def _enrolled_ids(course_class: CourseClass) -> list[int]:
    return list(
        db.session.scalars(
            select(Enrolment.person_id).where(
                Enrolment.class_id == course_class.id, Enrolment.status == EnrolmentStatus.ENROLLED
            )
        )
    )


# --- scheduling ----------------------------------------------------------------------------------------------


HOLIDAYS_FILE = Path(__file__).parent / "data" / "holidays.csv"


def load_national_holidays(path: Path = HOLIDAYS_FILE) -> int:
    """Load the national public holidays (Labour Code 2019 art. 112, with Tết) onto the country unit; returns
    how many were new. Idempotent. Rows marked provisional follow the usual pattern of the government's annual
    notice and should be checked against it; provinces add their own days on their own unit."""
    from lms.registry.services import country

    root = country()
    with path.open(encoding="utf-8", newline="") as fh:
        rows = [(date.fromisoformat(r["day"]), r["name"]) for r in csv.DictReader(fh)]
    have = set(db.session.scalars(select(Holiday.day).where(Holiday.unit_id == root.id)))
    new = [{"unit_id": root.id, "day": day, "name": name} for day, name in rows if day not in have]
    if new:
        db.session.execute(insert(Holiday), new)
    return len(new)


def add_holiday(unit: AdminUnit, day: date, name: str) -> Holiday:
    if db.session.scalar(select(Holiday.id).where(Holiday.unit_id == unit.id, Holiday.day == day)) is not None:
        raise CourseError(
            _("%(day)s is already a holiday of %(unit)s", day=f"{day:%d/%m/%Y}", unit=unit.full_name), "day"
        )
    holiday = Holiday(unit_id=unit.id, day=day, name=name)
    db.session.add(holiday)
    db.session.flush()
    audit("holiday.add", holiday, day=day.isoformat())
    return holiday


def holidays_for(unit: AdminUnit, first: date, last: date) -> set[date]:
    """Holidays that apply to ``unit``: those declared on it or on any of its ancestors (the country for Tết)."""
    ancestor_ids = [int(part) for part in unit.path.strip("/").split("/")]
    return set(
        db.session.scalars(
            select(Holiday.day).where(Holiday.unit_id.in_(ancestor_ids), Holiday.day.between(first, last))
        )
    )


def holiday_names(unit: AdminUnit, first: date, last: date) -> dict[date, str]:
    """The holidays that apply to ``unit`` between two days (inclusive), by day, with their names."""
    ancestor_ids = [int(part) for part in unit.path.strip("/").split("/")]
    names: dict[date, list[str]] = {}
    for day, name in db.session.execute(
        select(Holiday.day, Holiday.name)
        .where(Holiday.unit_id.in_(ancestor_ids), Holiday.day.between(first, last))
        .order_by(Holiday.day, Holiday.name)
    ):
        if name not in names.setdefault(day, []):
            names[day].append(name)
    return {day: ", ".join(day_names) for day, day_names in names.items()}


def skipped_holidays(course_class: CourseClass, rule: Recurrence, starts: Sequence[datetime]) -> dict[date, str]:
    """The holidays a recurring series passed over: days of its pattern, up to where the series stopped (its
    sessions' ``starts``, in order), that got no session because they are holidays — so the manager is told, not
    left to count."""
    if not starts:
        return {}
    counted_out = rule.count is not None and len(starts) >= rule.count
    last = starts[-1].date() if counted_out else min(rule.until or course_class.ends_on, course_class.ends_on)
    commune = db.session.get(AdminUnit, course_class.commune_id)
    assert commune is not None
    return {day: name for day, name in holiday_names(commune, rule.first_day, last).items() if on_pattern(rule, day)}


def _check_free(
    course_class: CourseClass, intervals: Sequence[Interval], room_id: int | None, ignore: Iterable[int] = ()
) -> None:
    ignore = list(ignore)
    report = find_conflicts(
        intervals,
        room_id=room_id,
        instructor_ids=_instructor_ids(course_class),
        learner_ids=_enrolled_ids(course_class),
        ignore_session_ids=ignore,
    )
    if not report:
        # The class meets once at a time. Its room, instructors and learners usually say so (above); a class with
        # none of them yet (outdoors, nobody enrolled) would otherwise take the same session twice (a double tap).
        own = db.session.execute(
            select(ClassSession.starts_at, ClassSession.ends_at)
            .where(
                ClassSession.class_id == course_class.id,
                ClassSession.status == SessionStatus.SCHEDULED,
                ClassSession.id.not_in(ignore),
                or_(*((ClassSession.starts_at < end) & (ClassSession.ends_at > start) for start, end in intervals)),
            )
            .order_by(ClassSession.starts_at)
        ).all()
        for start, end in own:
            if any(start < new_end and new_start < end for new_start, new_end in intervals):
                raise CourseError(
                    _(
                        "the class already has a session from %(start)s to %(end)s",
                        start=f"{start:%d/%m/%Y %H:%M}",
                        end=f"{end:%H:%M}",
                    ),
                    "starts_at",
                )
    if report:
        raise CourseError(
            _(
                "%(n)s conflicting booking(s): %(list)s",
                n=len(report.conflicts),
                list="; ".join(c.describe() for c in report.conflicts[:5]),
            ),
            "starts_at",
            [
                {
                    "resource": c.resource,
                    "resource_id": c.resource_id,
                    "session_id": c.session_id,
                    "class_id": c.class_id,
                    "starts_at": c.interval[0].isoformat(),
                    "ends_at": c.interval[1].isoformat(),
                }
                for c in report.conflicts
            ],
        )


def _check_not_on_holidays(course_class: CourseClass, intervals: Sequence[Interval]) -> None:
    """A holiday is a day with no sessions (``Holiday``): a series skips it and says so; one session put on it by
    hand, or moved onto it, is refused naming the day."""
    days = sorted({start.date() for start, _ in intervals})
    if not days:
        return
    commune = db.session.get(AdminUnit, course_class.commune_id)
    assert commune is not None
    names = holiday_names(commune, days[0], days[-1])
    off = [day for day in days if day in names]
    if off:
        raise CourseError(
            _("%(day)s is a day off (%(name)s): no session is held then", day=f"{off[0]:%d/%m/%Y}", name=names[off[0]]),
            "starts_at",
        )


def check_schedule(
    course_class: CourseClass, intervals: Sequence[Interval], *, room: Room | None = None
) -> tuple[list[Interval], int | None]:
    """What :func:`schedule` checks before it writes, and nothing written: the sessions' dates within the class's,
    the room's centre, no overlap among them, no conflict (room, instructors, enrolled learners). Returns the
    intervals and the room they would use — a preview asks it, then shows the dates."""
    for start, end in intervals:
        if end <= start:
            raise CourseError(_("a session must end after it starts"), "ends_at")
    try:
        check_within_class(course_class, intervals)
    except ScheduleError as exc:
        raise CourseError(str(exc), exc.field) from exc
    _check_not_on_holidays(course_class, intervals)
    if room is not None and room.clc_id != course_class.clc_id:
        raise CourseError(_("the room belongs to another centre"), "room_id")
    room_id = room.id if room is not None else course_class.room_id
    own = list(intervals)
    for i, a in enumerate(own):
        for b in own[i + 1 :]:
            if a[0] < b[1] and b[0] < a[1]:
                raise CourseError(_("two of the new sessions overlap on %(day)s", day=f"{a[0]:%d/%m/%Y}"), "starts_at")
    _check_free(course_class, own, room_id)
    return own, room_id


def schedule(
    course_class: CourseClass, intervals: Sequence[Interval], *, room: Room | None = None, place: str = ""
) -> list[ClassSession]:
    """Add sessions to a class after checking dates and conflicts (room, instructors, enrolled learners)."""
    own, room_id = check_schedule(course_class, intervals, room=room)
    rows = [
        {
            "class_id": course_class.id,
            "starts_at": start,
            "ends_at": end,
            "room_id": room_id,
            "place": place,
            "status": SessionStatus.SCHEDULED.value,
            "note": "",
        }
        for start, end in own
    ]
    sessions = sorted(
        db.session.scalars(insert(ClassSession).returning(ClassSession), rows), key=lambda session: session.starts_at
    )
    audit("class.schedule", course_class, sessions=len(sessions))
    _announce_begun(course_class, *(session.starts_at for session in sessions))
    return sessions


def schedule_recurring(
    course_class: CourseClass, rule: Recurrence, *, room: Room | None = None, place: str = ""
) -> list[ClassSession]:
    return schedule(course_class, recurring_intervals(course_class, rule), room=room, place=place)


def recurring_intervals(course_class: CourseClass, rule: Recurrence) -> list[Interval]:
    """The sessions a weekly rule gives within the class's dates, holidays left out (nothing written)."""
    last = min(rule.until or course_class.ends_on, course_class.ends_on)
    try:
        if rule.first_day < course_class.starts_on or rule.first_day > course_class.ends_on:
            raise ScheduleError(_("the first day is outside the class's dates"), "first_day")
        commune = db.session.get(AdminUnit, course_class.commune_id)
        assert commune is not None
        return expand(rule, holidays_for(commune, rule.first_day, last), last_day=course_class.ends_on)
    except ScheduleError as exc:
        raise CourseError(str(exc), exc.field) from exc


def reschedule(session: ClassSession, starts_at: datetime, ends_at: datetime, *, room: Room | None = None) -> None:
    if session.status == SessionStatus.CANCELLED:
        raise CourseError(_("a cancelled session cannot be moved"), "status")
    if ends_at <= starts_at:
        raise CourseError(_("a session must end after it starts"), "ends_at")
    # The session's row lock, as an attendance batch takes it: no mark can be written between the check of its marks
    # below and the move.
    db.session.execute(select(ClassSession.id).where(ClassSession.id == session.id).with_for_update())
    if starts_at > local_now():
        # A roll call says the session was held: moved to a day not yet come, its marks would stand for a session
        # that has not taken place, and the class would stop being complete (its certificates revoked).
        marks = db.session.scalar(
            select(func.count()).select_from(Attendance).where(Attendance.session_id == session.id)
        )
        if marks:
            raise CourseError(
                _(
                    "this session already has %(n)s attendance marks: it was held and cannot be moved to a day "
                    "not yet come; schedule a new session instead",
                    n=marks,
                ),
                "starts_at",
            )
    course_class = session.course_class
    try:
        check_within_class(course_class, [(starts_at, ends_at)])
    except ScheduleError as exc:
        raise CourseError(str(exc), exc.field) from exc
    if starts_at.date() != session.starts_at.date():
        _check_not_on_holidays(course_class, [(starts_at, ends_at)])
    if room is not None and room.clc_id != course_class.clc_id:
        raise CourseError(_("the room belongs to another centre"), "room_id")
    room_id = room.id if room is not None else session.room_id
    _check_free(course_class, [(starts_at, ends_at)], room_id, ignore=[session.id])
    if session.original_starts_at is None and starts_at != session.starts_at:
        session.original_starts_at = session.starts_at
    audit("session.reschedule", session, old=session.starts_at.isoformat(), new=starts_at.isoformat())
    moved_from = session.starts_at
    session.starts_at, session.ends_at, session.room_id = starts_at, ends_at, room_id
    if moved_from != starts_at:
        _announce_begun(course_class, moved_from, starts_at)
    mark_dirty(course_class.id)
    db.session.flush()


def cancel(session: ClassSession, reason: str = "") -> None:
    if session.status == SessionStatus.CANCELLED:
        raise CourseError(_("the session is already cancelled"), "status")
    session.status = SessionStatus.CANCELLED.value
    session.note = reason[:300]
    audit("session.cancel", session, reason=reason)
    _announce_begun(session.course_class, session.starts_at)
    mark_dirty(session.class_id)
    db.session.flush()


@dataclass
class CancelPreview:
    """What cancelling a session would do: its marks stop counting, certificates go, completions come (STYLE 13)."""

    marks: int
    revoked: list[tuple[str, str]]  # (learner, certificate code)
    completing: list[str]

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.marks or self.revoked or self.completing)

    @property
    def digest(self) -> str:
        """What was shown, for the confirmation to carry back: a mark or a certificate since then is shown again."""
        return hashlib.sha256(repr((self.marks, self.revoked, self.completing)).encode()).hexdigest()[:32]


def preview_cancel(session: ClassSession) -> CancelPreview:
    """Ask the completion rule what the class would be without this session, inside a savepoint rolled back."""
    marks = (
        db.session.scalar(select(func.count()).select_from(Attendance).where(Attendance.session_id == session.id)) or 0
    )
    as_of = local_now()
    before = completed_learners(session.class_id, as_of=as_of)
    savepoint = db.session.begin_nested()
    try:
        db.session.execute(
            update(ClassSession)
            .where(ClassSession.id == session.id)
            .values(status=SessionStatus.CANCELLED.value)
            .execution_options(synchronize_session=False)
        )
        after = completed_learners(session.class_id, as_of=as_of)
    finally:
        savepoint.rollback()
    valid = db.session.execute(
        select(Certificate.person_id, Certificate.code).where(
            Certificate.class_id == session.class_id, Certificate.revoked_at.is_(None)
        )
    ).all()
    names = {**_names([p for p, _code in valid if p not in after]), **_names([p for p in after if p not in before])}
    return CancelPreview(
        marks=marks,
        revoked=sorted((names[p], code) for p, code in valid if p not in after),
        completing=sorted(names[p] for p in after if p not in before),
    )


class CancelNotConfirmed(CourseError):
    """Cancelling a held session needs the confirmation of what it would do: ``confirmed`` was missing (``stale``
    False) or was given for another preview than the one worked out now (``stale`` True). ``preview`` is the current
    one, to show again."""

    def __init__(self, preview: CancelPreview, *, stale: bool) -> None:
        if stale:
            message = _(
                "what cancelling this session would do changed since it was shown: check it again, then confirm"
            )
        else:
            message = _(
                "this session was held (%(n)s attendance marks): look at what cancelling it would do, then confirm",
                n=preview.marks,
            )
        super().__init__(message, "preview_digest")
        self.preview = preview
        self.stale = stale


def cancel_confirmed(session: ClassSession, reason: str, *, confirmed: str | None) -> CancelPreview:
    """Cancel a session as the page and the API both do: a session already held (its marks, the certificates resting
    on them, completions it would bring) is cancelled only with ``confirmed`` equal to the digest of what cancelling
    would do *now*, worked out under the session's row lock (an attendance batch takes the same lock, so no mark can
    slip in between the check and the cancel). Raises :class:`CancelNotConfirmed` with the current preview otherwise,
    and ``CourseError`` if the session is already cancelled. Returns what was confirmed."""
    locked = db.session.scalar(
        select(ClassSession)
        .where(ClassSession.id == session.id)
        .with_for_update(of=ClassSession)
        .execution_options(populate_existing=True)
    )
    if locked is None or locked.status == SessionStatus.CANCELLED:
        raise CourseError(_("the session is already cancelled"), "status")
    preview = preview_cancel(locked)
    if preview.needs_confirmation and confirmed != preview.digest:
        raise CancelNotConfirmed(preview, stale=confirmed is not None)
    cancel(locked, reason)
    return preview


def _names(person_ids: Sequence[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    return dict(iter(db.session.execute(select(Person.id, Person.full_name).where(Person.id.in_(person_ids))).tuples()))


def timetable(*, clc_ids: Sequence[int], week_of: date) -> list[ClassSession]:
    """The scheduled and cancelled sessions of the given centres in the week (Monday–Sunday) of ``week_of``."""
    monday = week_of - timedelta(days=week_of.weekday())
    start, end = (
        datetime.combine(monday, datetime.min.time()),
        datetime.combine(monday + timedelta(days=7), datetime.min.time()),
    )
    return list(
        db.session.scalars(
            select(ClassSession)
            .join(CourseClass, CourseClass.id == ClassSession.class_id)
            .where(CourseClass.clc_id.in_(clc_ids), ClassSession.starts_at >= start, ClassSession.starts_at < end)
            .options(selectinload(ClassSession.course_class), selectinload(ClassSession.room))
            .order_by(ClassSession.starts_at)
        )
    )


# --- enrolment -----------------------------------------------------------------------------------------------


@dataclass
class EnrolmentResult:
    enrolled: list[int]
    waitlisted: list[int]
    already: list[int]


def _target_group_roles(course_class: CourseClass) -> list[AssociationRole] | None:
    """The association roles a class is open to; None when it is open to everyone."""
    if course_class.target_group == TargetGroup.EVERYONE:
        return None
    roles = [AssociationRole.CHAIR, AssociationRole.VICE_CHAIR, AssociationRole.OFFICER]
    if course_class.target_group == TargetGroup.ASSOCIATION_MEMBERS:
        roles.append(AssociationRole.MEMBER)
    return roles


def _in_target_group(roles: list[AssociationRole]) -> Select:
    return select(AssociationMembership.person_id).where(
        AssociationMembership.role.in_(roles), AssociationMembership.ended_on.is_(None)
    )


def _eligible_for_target_group(course_class: CourseClass, person_ids: Sequence[int]) -> set[int]:
    roles = _target_group_roles(course_class)
    if roles is None:
        return set(person_ids)
    return set(db.session.scalars(_in_target_group(roles).where(AssociationMembership.person_id.in_(person_ids))))


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February becomes 28 February)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _free_seats(course_class: CourseClass) -> int:
    """Seats of the class not taken by an enrolled learner (the waiting list takes none)."""
    taken = db.session.scalar(
        select(func.count())
        .select_from(Enrolment)
        .where(Enrolment.class_id == course_class.id, Enrolment.status == EnrolmentStatus.ENROLLED)
    )
    return max(course_class.capacity - (taken or 0), 0)


def enrol(course_class: CourseClass, person_ids: Sequence[int]) -> EnrolmentResult:
    """Enrol people in the given order: seats first, then the waiting list. Three statements for any number."""
    person_ids = list(dict.fromkeys(person_ids))
    if not person_ids:
        raise CourseError(_("choose at least one learner"), "person_ids")
    # Lock the class row so two managers enrolling at once cannot both take the last seat (PostgreSQL).
    db.session.execute(select(CourseClass.id).where(CourseClass.id == course_class.id).with_for_update())
    existing = dict(
        iter(
            db.session.execute(
                select(Enrolment.person_id, Enrolment.status).where(
                    Enrolment.class_id == course_class.id, Enrolment.person_id.in_(person_ids)
                )
            ).tuples()
        )
    )
    eligible = _eligible_for_target_group(course_class, person_ids)
    refused = [p for p in person_ids if p not in eligible]
    if refused:
        raise CourseError(
            _("%(n)s person(s) are not association officers: the class is for them only", n=len(refused))
            if course_class.target_group == TargetGroup.ASSOCIATION_OFFICERS
            else _("%(n)s person(s) are not association members: the class is for them only", n=len(refused)),
            "person_ids",
            [{"person_id": p, "message": _("not in the target group")} for p in refused],
        )
    seats = _free_seats(course_class)
    result = EnrolmentResult([], [], [])
    now = utcnow()
    new_rows: list[dict[str, Any]] = []
    rejoin: list[dict[str, Any]] = []
    for person_id in person_ids:
        status = existing.get(person_id)
        if status in (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED):
            result.already.append(person_id)
            continue
        target = EnrolmentStatus.ENROLLED if seats > 0 else EnrolmentStatus.WAITLISTED
        seats -= target == EnrolmentStatus.ENROLLED
        (result.enrolled if target == EnrolmentStatus.ENROLLED else result.waitlisted).append(person_id)
        row = {"class_id": course_class.id, "person_id": person_id, "status": target.value, "enrolled_at": now}
        (rejoin if status == EnrolmentStatus.WITHDRAWN else new_rows).append(row)
    if new_rows:
        db.session.execute(insert(Enrolment), new_rows)
    for status in (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED):
        ids = [r["person_id"] for r in rejoin if r["status"] == status]
        if ids:
            db.session.execute(
                update(Enrolment)
                .where(Enrolment.class_id == course_class.id, Enrolment.person_id.in_(ids))
                .values(status=status.value, enrolled_at=now, withdrawn_at=None)
            )
    audit("class.enrol", course_class, enrolled=len(result.enrolled), waitlisted=len(result.waitlisted))
    if any(row["status"] == EnrolmentStatus.ENROLLED.value for row in rejoin):
        # Seated again, their marks count again (ADR 5): it may complete them, as a withdrawal is recomputed too.
        mark_dirty(course_class.id)
    return result


def people_for_bulk_enrolment(
    course_class: CourseClass,
    *,
    village_id: int | None = None,
    household_id: int | None = None,
    association_role: str | None = None,
    min_age: int | None = None,
    max_age: int | None = None,
    target_group: bool = True,
) -> list[int]:
    """Person ids for a bulk enrolment, in Vietnamese order, from the class's commune only: those of the class's
    target group and, when an age range is given, of that age on the class's first day (people whose birth date
    is not recorded are kept: an unknown age is no reason to leave someone out). ``target_group=False``: everyone
    of the choice, for the preview's "not in the target group" (pass no ages for "outside the age range")."""
    commune = db.session.get(AdminUnit, course_class.commune_id)
    assert commune is not None
    home = AdminUnit.__table__.alias("home")
    stmt: Select = (
        select(Person.id)
        .join(home, home.c.id == Person.unit_id)
        .where(subtree(home.c.path, commune.path))
        .order_by(Person.sort_key, Person.id)
    )
    if village_id is not None:
        stmt = stmt.where(Person.unit_id == village_id)
    if household_id is not None:
        stmt = stmt.where(Person.household_id == household_id)
    if association_role is not None:
        branch = AdminUnit.__table__.alias("branch")
        stmt = stmt.where(
            Person.id.in_(
                select(AssociationMembership.person_id)
                .join(branch, branch.c.id == AssociationMembership.unit_id)
                .where(
                    AssociationMembership.role == association_role,
                    AssociationMembership.ended_on.is_(None),
                    subtree(branch.c.path, commune.path),
                )
            )
        )
    if village_id is None and household_id is None and association_role is None:
        raise CourseError(_("choose a village, a household or an association role"), "village_id")
    roles = _target_group_roles(course_class) if target_group else None
    if roles is not None:
        stmt = stmt.where(Person.id.in_(_in_target_group(roles)))
    if min_age is not None:
        stmt = stmt.where(
            or_(Person.birth_date.is_(None), Person.birth_date <= years_before(course_class.starts_on, min_age))
        )
    if max_age is not None:
        oldest = years_before(course_class.starts_on, max_age + 1)
        stmt = stmt.where(or_(Person.birth_date.is_(None), Person.birth_date > oldest))
    return list(db.session.scalars(stmt))


@dataclass
class BulkEnrolmentPreview:
    """What a bulk enrolment would do, before it does it (STYLE 13): who gets a seat, who goes to the waiting list,
    who is left as they are, and who of the choice is left out and why. ``digest`` binds a confirmation to exactly
    this outcome: the confirmation works the preview out again and enrols only if the digest is the same."""

    enrol: list[int]
    waitlist: list[int]
    already: list[int]
    outside_group: list[int]
    outside_ages: list[int]
    digest: str

    @property
    def chosen(self) -> int:
        return (
            len(self.enrol) + len(self.waitlist) + len(self.already) + len(self.outside_group) + len(self.outside_ages)
        )

    @property
    def to_write(self) -> list[int]:
        return [*self.enrol, *self.waitlist]


def preview_bulk_enrolment(
    course_class: CourseClass,
    *,
    village_id: int | None = None,
    household_id: int | None = None,
    association_role: str | None = None,
    min_age: int | None = None,
    max_age: int | None = None,
) -> BulkEnrolmentPreview:
    """The preview of a bulk enrolment: writes nothing, a constant number of statements whatever the village.
    Seats are counted as :func:`enrol` counts them (people already enrolled or waiting keep their place)."""

    def choose(*, target_group: bool = True, ages: bool = False) -> list[int]:
        return people_for_bulk_enrolment(
            course_class,
            village_id=village_id,
            household_id=household_id,
            association_role=association_role,
            min_age=min_age if ages else None,
            max_age=max_age if ages else None,
            target_group=target_group,
        )

    everyone = choose(target_group=False)
    in_group = choose() if _target_group_roles(course_class) is not None else everyone
    eligible = choose(ages=True) if min_age is not None or max_age is not None else in_group
    group_set, eligible_set = set(in_group), set(eligible)
    existing = dict(
        iter(
            db.session.execute(
                select(Enrolment.person_id, Enrolment.status).where(
                    Enrolment.class_id == course_class.id, Enrolment.person_id.in_(eligible)
                )
            ).tuples()
        )
    )
    seats = _free_seats(course_class)
    enrol_ids: list[int] = []
    waitlist: list[int] = []
    already: list[int] = []
    for person_id in eligible:
        if existing.get(person_id) in (EnrolmentStatus.ENROLLED, EnrolmentStatus.WAITLISTED):
            already.append(person_id)
        elif seats > 0:
            seats -= 1
            enrol_ids.append(person_id)
        else:
            waitlist.append(person_id)
    outcome = {"enrol": enrol_ids, "waitlist": waitlist, "already": already}
    return BulkEnrolmentPreview(
        enrol=enrol_ids,
        waitlist=waitlist,
        already=already,
        outside_group=[p for p in everyone if p not in group_set],
        outside_ages=[p for p in in_group if p not in eligible_set],
        digest=hashlib.sha256(json.dumps(outcome, sort_keys=True).encode()).hexdigest()[:32],
    )


def withdraw(course_class: CourseClass, person_id: int) -> int | None:
    """Withdraw a learner; the first on the waiting list takes the seat. Returns the promoted person's id."""
    # Lock the class row, as enrol() does, before reading the enrolment: a withdrawal sent twice (or two at once) would
    # otherwise wait on the first one's rows, then read the waiting list afresh and give the one freed seat twice.
    db.session.execute(select(CourseClass.id).where(CourseClass.id == course_class.id).with_for_update())
    enrolment = db.session.scalar(
        select(Enrolment).where(Enrolment.class_id == course_class.id, Enrolment.person_id == person_id)
    )
    if enrolment is None or enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise CourseError(_("this person is not enrolled in the class"), "person_id")
    # Completion counts the learners still enrolled: withdrawing one who completed would revoke their certificate
    # and learning record with no word of it. A wrong completion is corrected where it comes from (the marks, the
    # final assessment), each of which says what it revokes.
    certificate = db.session.scalar(
        select(Certificate.code).where(
            Certificate.class_id == course_class.id,
            Certificate.person_id == person_id,
            Certificate.revoked_at.is_(None),
        )
    )
    if certificate is not None:
        raise CourseError(
            _(
                "this learner completed the class and holds its certificate %(code)s: a learner who completed is "
                "not withdrawn. If the completion is wrong, correct the attendance marks (or record the final "
                "assessment as not passed); the certificate is then revoked",
                code=certificate,
            ),
            "person_id",
        )
    had_seat = enrolment.status == EnrolmentStatus.ENROLLED
    enrolment.status, enrolment.withdrawn_at = EnrolmentStatus.WITHDRAWN.value, utcnow()
    promoted = None
    if had_seat:
        waiting = db.session.scalar(
            select(Enrolment)
            .where(Enrolment.class_id == course_class.id, Enrolment.status == EnrolmentStatus.WAITLISTED)
            .order_by(Enrolment.enrolled_at, Enrolment.id)
            .limit(1)
        )
        if waiting is not None:
            # The seat is theirs from now: sessions held while they waited do not count against them (ADR 5).
            waiting.status, waiting.enrolled_at = EnrolmentStatus.ENROLLED.value, utcnow()
            promoted = waiting.person_id
    audit("class.withdraw", course_class, person_id=person_id, promoted=promoted)
    mark_dirty(course_class.id)
    db.session.flush()
    return promoted


def record_assessment(course_class: CourseClass, person_id: int, passed: bool | None) -> bool | None:
    """Record an enrolled learner's final assessment: passed, not passed, or ``None`` (not assessed yet). Where the
    course requires the assessment, completion (and so the learning record and the certificate) waits for a pass:
    the class is marked for its completions to be recomputed, which issues or revokes the certificate. Returns the
    result it replaced."""
    if not course_class.course.requires_assessment:
        raise CourseError(_("this course has no final assessment"), "passed")
    enrolment = db.session.scalar(
        select(Enrolment).where(
            Enrolment.class_id == course_class.id,
            Enrolment.person_id == person_id,
            Enrolment.status == EnrolmentStatus.ENROLLED,
        )
    )
    if enrolment is None:
        raise CourseError(_("this person is not enrolled in the class"), "person_id")
    before = enrolment.assessment_passed
    if before is not passed:
        enrolment.assessment_passed = passed
        audit("class.assessment", course_class, person_id=person_id, passed=passed, before=before)
        mark_dirty(course_class.id)
        db.session.flush()
    return before


# --- attendance ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mark:
    person_id: int
    status: str
    recorded_at: datetime  # UTC, naive
    client_mark_id: str | None = None
    device: str = ""


@dataclass
class MarkResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def attendance_statuses() -> dict[str, AttendanceStatus]:
    return {s.code: s for s in db.session.scalars(select(AttendanceStatus).order_by(AttendanceStatus.position))}


def record_attendance(
    session: ClassSession,
    marks: Sequence[Mark],
    *,
    user_id: int | None,
    locked: bool = False,
    event: dict[str, Any] | None = None,
    answer_into: Any = None,
    claim: Any = None,
) -> MarkResult:
    """Apply a batch of marks for one session, all or nothing, in a constant number of statements.

    Every mark is checked first and every problem reported with its index. Two devices marking the same learner
    are resolved by the latest ``recorded_at``; an overwritten value is kept in the audit trail. A mark whose
    ``client_mark_id`` was already applied is a retry and changes nothing. ``locked``: the caller already holds
    the session's row lock (``get_session(..., for_update=True)``). ``event``: the details of an
    ``attendance.record`` audit event (the counts are added) to write with the marks, in the same statement on
    PostgreSQL, instead of an ORM flush of its own at the commit. ``answer_into``: the ``Idempotency-Key`` row the
    request claimed (``lms.api.idempotency.claimed``), into which PostgreSQL writes the batch's answer (``session_id``
    and the counts, status 200) with the marks; the decorator then has nothing left to write. ``claim``: instead, the
    key's claim the decorator left to this call (``lms.api.idempotency.Claim``, PostgreSQL), sent with the read —
    before anything is refused, so a used key is replayed as before — and settled into the row to answer into.

    One read before the checks, one write after them (on PostgreSQL; SQLite takes up to three): a batch of 40 marks
    sends the statements a batch of one does.
    """
    # Two devices uploading the same session at once take turns (PostgreSQL row lock; SQLite serialises writers):
    # "the latest recorded_at wins" is decided on rows nobody else is changing, so what is read below is what the
    # upsert meets.
    if not locked:
        db.session.execute(select(ClassSession.id).where(ClassSession.id == session.id).with_for_update())
    # The enrolled learners, the session's marks and the statuses in one read: the marks of the enrolled (to decide
    # each new mark), every client mark id already applied in the session (a retry), and the status codes a mark
    # may name (reference data an administrator may change: read, not cached).
    current: dict[int, Any] = {}
    enrolled: set[int] = set()
    applied: dict[str, int] = {}  # a client mark id already stored in the session, and whose mark it is
    positions: dict[str, int] = {}
    read: Any
    params = {"session_id": session.id, "class_id": session.class_id}
    claimed_id = None
    if claim is not None:
        params.update(claim.params())
    # Core statements on the session's connection: the ORM's execution (events, compile-state look-ups) has nothing
    # to do for them.
    connection = db.session.connection()
    for read in connection.execute(_batch_read() if claim is None else _batch_read_claiming(claim.sql), params):
        if read.kind == _ENROLLED:
            enrolled.add(read.person_id)
        elif read.kind == _STATUS:
            positions[read.status] = read.person_id  # the status's position, in the integer column
        elif read.kind == _CLAIMED:
            claimed_id = read.person_id
        else:
            current[read.person_id] = read
            if read.client_mark_id:
                applied[read.client_mark_id] = read.person_id
    if claim is not None:
        answer_into = claim.settle(claimed_id)  # a key already used: the decorator replays its answer
    if session.status == SessionStatus.CANCELLED:
        raise CourseError(_("the session was cancelled: it takes no attendance"), "session_id")
    statuses = sorted(positions, key=lambda code: (positions[code], code))
    problems: list[dict[str, Any]] = []
    seen: dict[int, int] = {}
    latest_allowed = utcnow() + timedelta(minutes=10)  # device clocks drift a little, not a day
    for index, mark in enumerate(marks):
        if mark.status not in statuses:
            problems.append(
                {
                    "index": index,
                    "field": "status",
                    "message": _(
                        "unknown status '%(status)s'; one of %(codes)s", status=mark.status, codes=", ".join(statuses)
                    ),
                }
            )
        if mark.person_id not in enrolled:
            problems.append(
                {
                    "index": index,
                    "field": "person_id",
                    "message": _("person %(id)s is not enrolled in this class", id=mark.person_id),
                }
            )
        if mark.client_mark_id and applied.get(mark.client_mark_id, mark.person_id) != mark.person_id:
            # Not a retry (that is the same learner's mark): a device giving one id to two learners would lose this one.
            problems.append(
                {
                    "index": index,
                    "field": "client_mark_id",
                    "message": _(
                        "the id %(id)s is already the mark of another learner in this session",
                        id=mark.client_mark_id,
                    ),
                }
            )
        if mark.recorded_at > latest_allowed:
            problems.append({"index": index, "field": "recorded_at", "message": _("recorded in the future")})
        if mark.person_id in seen and marks[seen[mark.person_id]].recorded_at == mark.recorded_at:
            problems.append(
                {
                    "index": index,
                    "field": "person_id",
                    "message": _("two marks for person %(id)s at the same time", id=mark.person_id),
                }
            )
        seen[mark.person_id] = (
            index
            if mark.person_id not in seen or mark.recorded_at > marks[seen[mark.person_id]].recorded_at
            else seen[mark.person_id]
        )
    if problems:
        raise CourseError(_("%(n)s problem(s) in the batch; no mark was applied", n=len(problems)), "marks", problems)
    if not marks and event is None:
        return MarkResult()

    # Within the batch, the latest mark per learner wins.
    latest = {person_id: marks[index] for person_id, index in seen.items()}
    result = MarkResult()
    now = utcnow()
    rows, overwritten, conflicts = [], [], []
    for person_id, mark in latest.items():
        if mark.client_mark_id and mark.client_mark_id in applied:
            result.unchanged += 1
            continue
        row = current.get(person_id)
        # A device clock may run a few minutes fast (allowed above); stored as no later than now, so a correction
        # made on the page a minute later still wins.
        recorded_at = min(mark.recorded_at, now)
        if row is None:
            result.created += 1
        elif recorded_at > row.recorded_at:
            result.updated += 1
            if row.status != mark.status:
                overwritten.append(
                    {
                        "person_id": person_id,
                        "old_status": row.status,
                        "old_recorded_at": row.recorded_at.isoformat(),
                        "old_device": row.device,
                        "new_status": mark.status,
                        "new_recorded_at": mark.recorded_at.isoformat(),
                        "new_device": mark.device,
                    }
                )
        else:
            result.unchanged += 1  # an older (or tied) mark than the one we have: the newer one stands
            if row.status != mark.status:
                # Two devices disagree and this one lost: kept in the audit, shown on the session page.
                conflicts.append(
                    {
                        "person_id": person_id,
                        "kept_status": row.status,
                        "kept_recorded_at": row.recorded_at.isoformat(),
                        "kept_device": row.device,
                        "lost_status": mark.status,
                        "lost_recorded_at": mark.recorded_at.isoformat(),
                        "lost_device": mark.device[:100],
                    }
                )
            continue
        rows.append(
            {
                "session_id": session.id,
                "person_id": person_id,
                "status": mark.status,
                "recorded_at": recorded_at,
                "recorded_by_id": user_id,
                "device": mark.device[:100],
                "client_mark_id": mark.client_mark_id,
                "received_at": now,
            }
        )
    events = [(ATTENDANCE_OVERWRITE, entry) for entry in overwritten]
    events += [(ATTENDANCE_CONFLICT, entry) for entry in _not_yet_audited(session.id, conflicts)]
    ip = None
    if event is not None:
        # The batch's own audit event, written with its marks (not by a flush of its own at the commit).
        events.append(
            (
                "attendance.record",
                {**event, "created": result.created, "updated": result.updated, "unchanged": result.unchanged},
            )
        )
        ip = request.remote_addr if has_request_context() else None
    if not rows and not events and answer_into is None:
        return result  # nothing to write (every mark already there, or older and agreeing)
    if db.session.get_bind().dialect.name == "postgresql":
        answer = {"session_id": session.id, "created": result.created, "updated": result.updated}
        answer["unchanged"] = result.unchanged
        _write_batch_postgresql(session, rows, events, user_id=user_id, ip=ip, now=now, answer=(answer_into, answer))
    else:
        _write_batch(session, rows, events, user_id=user_id, ip=ip, now=now)
    return result


# What the batch read returns besides a session's marks (kind 0): the class's enrolled learners, the statuses, and
# the Idempotency-Key's claimed row (its id, in ``person_id``) when the read carries the claim.
_MARK, _ENROLLED, _STATUS, _CLAIMED = 0, 1, 2, 3


@functools.cache
def _batch_read_claiming(claim_sql: str) -> Any:
    """:func:`_batch_read` with the request's ``Idempotency-Key`` claim in front (PostgreSQL: ``WITH claim AS (INSERT
    … RETURNING id)``, ``lms.api.idempotency.Claim``) and the claimed row's id as one more row: the claim and the
    read in one round trip. The session's lock is already held, so the read sees what it would have seen after a
    claim of its own; the claim waits for a concurrent one of the same key as before."""
    claimed = text(claim_sql).columns(id=Integer).cte("claim")
    return union_all(*_batch_read().selects, select(claimed.c.id, null(), null(), null(), null(), literal(_CLAIMED)))


@functools.cache
def _batch_read() -> Any:
    """The session's marks, the class's enrolled learners and the attendance statuses as one ``UNION ALL`` (a
    status's code in ``status``, its position in ``person_id``), for the parameters ``session_id`` and
    ``class_id``. Built once: the same statement object also spares the computing of its cache key."""
    session_marks = select(
        Attendance.person_id,
        Attendance.status,
        Attendance.recorded_at,
        Attendance.client_mark_id,
        Attendance.device,
        literal(_MARK).label("kind"),
    ).where(Attendance.session_id == bindparam("session_id"))
    enrolments = select(Enrolment.person_id, null(), null(), null(), null(), literal(_ENROLLED)).where(
        Enrolment.class_id == bindparam("class_id"), Enrolment.status == EnrolmentStatus.ENROLLED
    )
    statuses = select(AttendanceStatus.position, AttendanceStatus.code, null(), null(), null(), literal(_STATUS))
    return union_all(session_marks, enrolments, statuses)


def _write_batch(
    session: ClassSession,
    rows: list[dict[str, Any]],
    events: list[tuple[str, dict[str, Any]]],
    *,
    user_id: int | None,
    ip: str | None,
    now: datetime,
) -> None:
    """The batch's writes as separate statements (SQLite; see :func:`_write_batch_postgresql`): the new and newer
    marks in one upsert, the audit events in one insert, the class's pending completion work."""
    if rows:
        # The WHERE repeats, in the database, the rule decided on the locked rows: an older mark never overwrites a
        # newer one, whoever reaches the row. The rows go as parameters (an executemany).
        stmt = sqlite.insert(Attendance)
        db.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["session_id", "person_id"],
                set_={name: stmt.excluded[name] for name in _MARK_UPDATED},
                where=stmt.excluded.recorded_at > Attendance.recorded_at,
            ),
            rows,
        )
    if events:
        # Into the table, not the ORM entity: the ORM's bulk insert would split the rows by the keys that are None.
        db.session.execute(
            insert(cast(Table, AuditEvent.__table__)),
            [
                {
                    "action": action,
                    "object_type": "class_session",
                    "object_id": str(session.id),
                    "user_id": user_id,
                    "details": entry,
                    "at": now,
                    "ip": ip if action == "attendance.record" else None,
                }
                for action, entry in events
            ],
        )
    if rows:
        mark_dirty(session.class_id)


_MARK_UPDATED = ("status", "recorded_at", "recorded_by_id", "device", "client_mark_id", "received_at")

# The batch's writes on PostgreSQL as one statement: the marks, the audit events and the class's pending completion
# work (data-modifying CTEs, each run once and to completion). The rows go as arrays unnested by the database, so
# the SQL is the same for 1 or 40 marks and is sent as it is: an ON CONFLICT statement built with SQLAlchemy's
# PostgreSQL dialect is compiled afresh on every execution (that construct is not cacheable).
_WRITE_BATCH_POSTGRESQL = text(
    """
WITH marks AS (
    INSERT INTO attendance (session_id, person_id, status, recorded_at, recorded_by_id, device, client_mark_id,
                            received_at)
    SELECT :session_id, m.person_id, m.status, m.recorded_at, :user_id, m.device, m.client_mark_id, :now
    FROM unnest(CAST(:person_ids AS integer[]), CAST(:statuses AS varchar[]), CAST(:recorded_ats AS timestamp[]),
                CAST(:devices AS varchar[]), CAST(:client_mark_ids AS varchar[]))
         AS m(person_id, status, recorded_at, device, client_mark_id)
    ON CONFLICT (session_id, person_id) DO UPDATE
    SET status = excluded.status, recorded_at = excluded.recorded_at, recorded_by_id = excluded.recorded_by_id,
        device = excluded.device, client_mark_id = excluded.client_mark_id, received_at = excluded.received_at
    WHERE excluded.recorded_at > attendance.recorded_at
), answer AS (
    UPDATE idempotent_request SET status_code = 200, response = CAST(:answer AS json) WHERE id = :answer_id
), events AS (
    INSERT INTO audit_event (at, user_id, action, object_type, object_id, details, ip)
    SELECT :now, :user_id, e.action, 'class_session', :object_id, d.details, e.ip
    FROM unnest(CAST(:actions AS varchar[]), CAST(:ips AS varchar[])) WITH ORDINALITY AS e(action, ip, n)
    JOIN json_array_elements(CAST(:details AS json)) WITH ORDINALITY AS d(details, n) ON d.n = e.n
    ORDER BY e.n
)
INSERT INTO pending_work (kind, subject_id, marked_at, sent_at)
SELECT :work, :class_id, :now, :now WHERE :dirty
ON CONFLICT (kind, subject_id) DO UPDATE
SET marked_at = excluded.marked_at,
    sent_at = CASE WHEN pending_work.sent_at >= :resend_before THEN pending_work.sent_at ELSE excluded.sent_at END
RETURNING sent_at = :now
"""
)


def _write_batch_postgresql(
    session: ClassSession,
    rows: list[dict[str, Any]],
    events: list[tuple[str, dict[str, Any]]],
    *,
    user_id: int | None,
    ip: str | None,
    now: datetime,
    answer: tuple[Any, dict[str, Any]],
) -> None:
    """:func:`_write_batch` in one statement: the marks' upsert (the same ``WHERE``), the audit events, the pending
    work (as :func:`mark_dirty` writes it and decides whether to send, when marks were written) and, given a
    claimed key's row, the answer."""
    answer_into, answer_json = answer
    send = (
        db.session.connection()
        .execute(
            _WRITE_BATCH_POSTGRESQL,
            {
                "session_id": session.id,
                "user_id": user_id,
                "now": now,
                "person_ids": [row["person_id"] for row in rows],
                "statuses": [row["status"] for row in rows],
                "recorded_ats": [row["recorded_at"] for row in rows],
                "devices": [row["device"] for row in rows],
                "client_mark_ids": [row["client_mark_id"] for row in rows],
                "object_id": str(session.id),
                "actions": [action for action, _entry in events],
                # One JSON array for all the events' details: one encoding, not one per event (a re-sync has 40).
                "details": json.dumps([entry for _action, entry in events], ensure_ascii=False),
                "ips": [ip if action == "attendance.record" else None for action, _entry in events],
                "work": COMPLETION_WORK,
                "class_id": session.class_id,
                "dirty": bool(rows),
                "resend_before": resend_before(now),
                "answer_id": answer_into.id if answer_into is not None else None,
                "answer": json.dumps(answer_json),
            },
        )
        .scalar()
    )
    if answer_into is not None:
        # What the row now holds, without a read: the decorator sees the answer written and sends no UPDATE.
        set_committed_value(answer_into, "status_code", 200)
        set_committed_value(answer_into, "response", answer_json)
    if send:  # None: no marks written; False: the class's task was sent within the re-send interval
        enqueue_after_commit("courses.recompute_completions", class_id=session.class_id)


def _not_yet_audited(session_id: int, conflicts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The losing marks not audited before: a losing mark sent again (a retry under a new idempotency key, found
    by the device conflict drill) is the same disagreement, already kept — as a conflict, or as the value a newer
    mark overwrote. One read of the session's disagreements, only when this batch has some."""
    if not conflicts:
        return conflicts
    known = set()
    for action, details in db.session.execute(
        select(AuditEvent.action, AuditEvent.details).where(
            AuditEvent.object_type == "class_session",
            AuditEvent.object_id == str(session_id),
            AuditEvent.action.in_([ATTENDANCE_CONFLICT, ATTENDANCE_OVERWRITE]),
        )
    ):
        side = "lost" if action == ATTENDANCE_CONFLICT else "old"
        known.add(
            tuple(details.get(key) for key in ("person_id", f"{side}_status", f"{side}_device", f"{side}_recorded_at"))
        )
    return [
        entry
        for entry in conflicts
        if (entry["person_id"], entry["lost_status"], entry["lost_device"], entry["lost_recorded_at"]) not in known
    ]


# --- completion ----------------------------------------------------------------------------------------------


def resend_before(now: datetime) -> datetime:
    """Work whose task was sent before this is sent again (by the next change, or the sweep): a task runs within
    seconds, so one sent longer ago than the sweep's age was lost, or failed and waits out its backoff."""
    age: timedelta = current_app.config["COMPLETIONS_SWEEP_AGE"]
    return now - age


def mark_dirty(class_id: int) -> None:
    """Record, in the caller's transaction, that the class's completions must be recomputed, and queue the task
    for after the commit — unless a task was sent for the class's pending work within the re-send interval: that
    task has not started yet (it will read this change) or is running (it will find the class marked again, and
    send itself again: ``courses.recompute_completions``). Marking an already dirty class rewrites its time, so
    a run that started before this change does not clear it (see :func:`clear_pending`)."""
    # One statement whether the class is already dirty or not (and no race between two first markers); it decides
    # whether to send, on the row it writes.
    now = utcnow()
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(PendingWork).values(kind=COMPLETION_WORK, subject_id=class_id, marked_at=now, sent_at=now)
    sent_at = db.session.scalar(_marking(stmt, now).returning(PendingWork.sent_at))
    if sent_at == now:
        enqueue_after_commit("courses.recompute_completions", class_id=class_id)


def _marking(stmt: Any, now: datetime) -> Any:
    """The insert of marks ``stmt`` made an upsert: a class already marked is marked again now, its ``sent_at`` kept
    while its task was sent within the re-send interval (then nothing is sent again), else now."""
    return stmt.on_conflict_do_update(
        index_elements=["kind", "subject_id"],
        set_={
            "marked_at": stmt.excluded.marked_at,
            "sent_at": case(
                (PendingWork.sent_at >= resend_before(now), PendingWork.sent_at), else_=stmt.excluded.sent_at
            ),
        },
    )


def mark_classes_dirty(class_ids: Select) -> None:
    """:func:`mark_dirty` for every class ``class_ids`` selects, in one statement (a shared course's rule changed:
    hundreds of classes): each marked, and its task queued after the commit unless one was sent within the re-send
    interval, as :func:`mark_dirty` decides for one."""
    now = utcnow()
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(PendingWork).from_select(
        ["kind", "subject_id", "marked_at", "sent_at"],
        select(
            literal(COMPLETION_WORK),
            class_ids.subquery().c[0],
            literal(now, type_=PendingWork.marked_at.type),
            literal(now, type_=PendingWork.sent_at.type),
        ).where(true()),  # SQLite parses "INSERT … SELECT … ON CONFLICT" only with a WHERE
    )
    sent = db.session.execute(_marking(stmt, now).returning(PendingWork.subject_id, PendingWork.sent_at)).all()
    for class_id, sent_at in sent:
        if sent_at == now:
            enqueue_after_commit("courses.recompute_completions", class_id=class_id)


def mark_ended_classes(after: datetime, until: datetime, *, now: datetime) -> None:
    """Mark (for the sweep to send, :func:`take_pending`) the classes whose last scheduled session began in (``after``,
    ``until``] — local times. A class completes once its last session has begun, a moment no write marks: a last
    session without a roll call, or marked before its start time, would otherwise leave the class uncompleted until
    some other change. One statement; a class already marked stays as it is."""
    later = aliased(ClassSession)
    ended = (
        select(literal(COMPLETION_WORK), ClassSession.class_id, literal(now, type_=PendingWork.marked_at.type))
        .where(
            ClassSession.status == SessionStatus.SCHEDULED,
            ClassSession.starts_at > after,
            ClassSession.starts_at <= until,
            ~select(later.id)
            .where(
                later.class_id == ClassSession.class_id,
                later.status == SessionStatus.SCHEDULED,
                later.starts_at > until,
            )
            .exists(),
        )
        .distinct()
    )
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(PendingWork)
        .from_select(["kind", "subject_id", "marked_at"], ended)
        .on_conflict_do_nothing(index_elements=["kind", "subject_id"])
    )


def held_sessions(course_class_id: int, as_of: datetime) -> Select:
    return select(ClassSession.id).where(
        ClassSession.class_id == course_class_id,
        ClassSession.status == SessionStatus.SCHEDULED,
        ClassSession.starts_at <= as_of,
    )


def counted_sessions(
    class_ids: Any,
    *,
    statuses: Sequence[EnrolmentStatus] = (EnrolmentStatus.ENROLLED,),
    starts: tuple[datetime, datetime] | None = None,
) -> Select:
    """The one definition of which scheduled sessions count for which learner (ADR 5), as a set: a row
    ``(class_id, person_id, session_id, starts_at, attended, recorded)`` for each learner of ``class_ids`` (a list
    or a subquery of class ids) whose enrolment is in ``statuses`` and each scheduled session of the class that
    counts for them; ``attended`` is 1 where their mark counts as attended, ``recorded`` 1 where the session has a
    roll call (any mark, of anyone). Callers add the window they need (``starts_at <= as_of``) and aggregate;
    ``starts`` = [from, to) keeps a report's period to its sessions (and their roll calls) from the start, so a
    centre's earlier years are not read.

    A session is judged on its roll call: a held session without one is *not recorded*, not missed — callers that
    count sessions against learners (the completion rule, the attendance book, the centre's attendance rate) count
    only ``recorded`` ones, and say which are not (ADR 54).

    A session counts for a learner from the (local) day of their enrolment on. An earlier one counts where they have
    a mark for it (a learner who withdrew and came back) or where its roll call was not taken before they were
    enrolled: first taken after (a paper sheet entered after the fact), or not taken yet. It is left out only when its
    roll call, taken before their enrolment, does not name them -- someone enrolled on 07/12 is not absent from a
    session held, and marked, on 03/12. A session whose roll call is still to enter is in the set for everyone, with
    ``recorded`` 0: not an absence yet, but one the completion rule waits for — otherwise the first sheet entered would
    complete a late learner on that sheet alone, and the next would revoke the certificate.
    """
    window = [ClassSession.starts_at >= starts[0], ClassSession.starts_at < starts[1]] if starts else []
    roll_call = (
        select(Attendance.session_id, func.min(Attendance.received_at).label("first_received"))
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .where(ClassSession.class_id.in_(class_ids), *window)
        .group_by(Attendance.session_id)
        .subquery("roll_call")
    )
    left_out = (
        (LocalDay(ClassSession.starts_at) < LocalDayOfUtc(Enrolment.enrolled_at))
        & Attendance.id.is_(None)
        & roll_call.c.first_received.is_not(None)
        & (roll_call.c.first_received < Enrolment.enrolled_at)
    )
    # A learner who withdrew (the attendance book lists them): sessions held after they left count for them only
    # where they have a mark — not 1/20 for someone who came to the one session before leaving.
    after_leaving = (
        (Enrolment.status == EnrolmentStatus.WITHDRAWN.value)
        & Enrolment.withdrawn_at.is_not(None)
        & (ClassSession.starts_at >= LocalTimeOfUtc(Enrolment.withdrawn_at))
        & Attendance.id.is_(None)
    )
    return (
        select(
            Enrolment.class_id,
            Enrolment.person_id,
            ClassSession.id.label("session_id"),
            ClassSession.starts_at,
            case((AttendanceStatus.counts_as_attended.is_(True), 1), else_=0).label("attended"),
            case((roll_call.c.first_received.is_not(None), 1), else_=0).label("recorded"),
        )
        .join(
            ClassSession,
            (ClassSession.class_id == Enrolment.class_id) & (ClassSession.status == SessionStatus.SCHEDULED),
        )
        .outerjoin(
            Attendance, (Attendance.session_id == ClassSession.id) & (Attendance.person_id == Enrolment.person_id)
        )
        .outerjoin(AttendanceStatus, AttendanceStatus.code == Attendance.status)
        .outerjoin(roll_call, roll_call.c.session_id == ClassSession.id)
        .where(
            Enrolment.class_id.in_(class_ids), Enrolment.status.in_(list(statuses)), *window, ~left_out, ~after_leaving
        )
    )


@dataclass
class AttendanceTally:
    """Per learner, the held sessions with a roll call that count for them (``held``), how many of those they
    attended, and the held sessions without a roll call that would count for them (``unrecorded``); per session,
    the learners it counts for (:func:`counted_sessions`)."""

    held: dict[int, int]
    attended: dict[int, int]
    expected: dict[int, int]
    unrecorded: dict[int, int] = field(default_factory=dict)


def attendance_tally(class_id: int, as_of: datetime) -> AttendanceTally:
    """Two statements whatever the class size, both over :func:`counted_sessions`: per learner, per session."""
    counted = counted_sessions([class_id]).subquery("counted")
    held = counted.c.starts_at <= as_of
    recorded = counted.c.recorded == 1
    tally = AttendanceTally({}, {}, {})
    for person_id, n_held, n_attended, n_unrecorded in db.session.execute(
        select(
            counted.c.person_id,
            func.sum(case((held & recorded, 1), else_=0)),
            func.sum(case((held & recorded, counted.c.attended), else_=0)),
            func.sum(case((held & ~recorded, 1), else_=0)),
        ).group_by(counted.c.person_id)
    ):
        if n_held:
            tally.held[person_id] = int(n_held)
        if n_attended:
            tally.attended[person_id] = int(n_attended)
        if n_unrecorded:
            tally.unrecorded[person_id] = int(n_unrecorded)
    for session_id, n in db.session.execute(
        select(ClassSession.id, func.count(counted.c.person_id))
        .outerjoin(counted, counted.c.session_id == ClassSession.id)
        .where(ClassSession.class_id == class_id, ClassSession.status == SessionStatus.SCHEDULED)
        .group_by(ClassSession.id)
    ):
        tally.expected[session_id] = int(n)
    return tally


def sessions_without_roll_call(class_id: int, as_of: datetime) -> list[ClassSession]:
    """The class's held sessions (scheduled, begun by ``as_of``) that have no attendance mark at all: not recorded,
    so they count against nobody, and the class's completion waits on them (ADR 54). Oldest first."""
    return list(
        db.session.scalars(
            select(ClassSession)
            .where(
                ClassSession.class_id == class_id,
                ClassSession.status == SessionStatus.SCHEDULED,
                ClassSession.starts_at <= as_of,
                ~exists().where(Attendance.session_id == ClassSession.id),
            )
            .order_by(ClassSession.starts_at, ClassSession.id)
        )
    )


@dataclass
class CompletionResult:
    completed: int
    records_created: int
    records_removed: int
    certificates_issued: int


def completed_learners(class_id: int, *, as_of: datetime | None = None) -> dict[int, date]:
    """The completion rule: who completes the class, and on which day. Reads only, so a preview can ask it what
    a change would do (inside a savepoint it then rolls back) with the rule the completion task applies.

    A class completes once no scheduled session is left in the future — or, once it has completed, on its held
    sessions while sessions added later are still to come. A learner completes with at least the
    course's share of the held sessions that count for them attended (by statuses that count as attended; the
    sessions from their enrolment on, :func:`attendance_tally`) and, where the course has a final assessment, a
    pass. A held session without a roll call counts against nobody: while one is left, a learner whose completion
    it could decide waits (ADR 54; :func:`sessions_without_roll_call` names them for the manager).
    """
    as_of = as_of or local_now()
    course_class = db.session.get(CourseClass, class_id)
    if course_class is None:
        return {}
    course = course_class.course
    held = db.session.scalar(select(func.count()).select_from(held_sessions(class_id, as_of).subquery())) or 0
    upcoming = (
        db.session.scalar(
            select(func.count())
            .select_from(ClassSession)
            .where(
                ClassSession.class_id == class_id,
                ClassSession.status == SessionStatus.SCHEDULED,
                ClassSession.starts_at > as_of,
            )
        )
        or 0
    )
    completed: dict[int, date] = {}
    if held and upcoming:
        # A class that has completed stays judged on its held sessions while sessions added later are still to
        # come: an extra session scheduled after the certificates were issued must not un-complete the class
        # before it is held — the next correction of any mark would have revoked every certificate at once, with
        # no preview. Once held, the added session counts like any other.
        upcoming = 0 if db.session.scalar(select(exists().where(LearningRecord.class_id == class_id))) else upcoming
    if held and not upcoming:
        # Each learner is judged on the held sessions that count for them (from their enrolment on) and have a roll
        # call (ADR 54): a held session nobody recorded is not an absence. Until its roll call exists (or it is
        # cancelled), a learner completes only if they would whatever it says — counted as missed, they still reach
        # the share — and one it could decide either way waits: not completed yet, or, in a class that has
        # completed, keeping the record they hold. Neither a certificate issued on part of the sheets nor one
        # revoked for a sheet not entered.
        tally = attendance_tally(class_id, as_of)
        share = course.min_attendance_share

        def needed(n: int) -> int:
            return math.ceil(Decimal(n) * share - Decimal("1e-9"))

        candidates = set()
        undecided = set()
        for person_id in set(tally.held) | set(tally.unrecorded):
            recorded, unrecorded = tally.held.get(person_id, 0), tally.unrecorded.get(person_id, 0)
            attended = tally.attended.get(person_id, 0)
            if recorded and attended >= needed(recorded + unrecorded):
                candidates.add(person_id)
            elif unrecorded and attended + unrecorded >= needed(recorded + unrecorded):
                undecided.add(person_id)
        if undecided:
            candidates |= undecided & set(
                db.session.scalars(
                    select(LearningRecord.person_id).where(
                        LearningRecord.class_id == class_id,
                        LearningRecord.person_id.in_(undecided),
                        LearningRecord.module_code.is_(None),
                    )
                )
            )
        if course.requires_assessment and candidates:
            candidates = set(
                db.session.scalars(
                    select(Enrolment.person_id).where(
                        Enrolment.class_id == class_id,
                        Enrolment.person_id.in_(candidates),
                        Enrolment.assessment_passed.is_(True),
                    )
                )
            )
        # The completion day is the day of the last session that decides it: the last held session *with a roll
        # call* (ADR 54, amended). One without a roll call counts for nobody, so it decides no completion and dates
        # none: a closing meeting nobody took the sheet of, or a session entered or moved into the past, does not
        # move a record (into another year, perhaps); once its roll call is taken, it counts, and the day follows
        # it. With no roll call at all (only learners keeping a record), the last held session, as before.
        held_rows = (
            select(func.max(ClassSession.starts_at))
            .where(
                ClassSession.class_id == class_id,
                ClassSession.status == SessionStatus.SCHEDULED,
                ClassSession.starts_at <= as_of,  # the last held: an added session to come is no completion day
            )
            .scalar_subquery()
        )
        last_recorded, last_held = db.session.execute(
            select(
                select(func.max(ClassSession.starts_at))
                .where(
                    ClassSession.class_id == class_id,
                    ClassSession.status == SessionStatus.SCHEDULED,
                    ClassSession.starts_at <= as_of,
                    exists().where(Attendance.session_id == ClassSession.id),
                )
                .scalar_subquery(),
                held_rows,
            )
        ).one()
        last_session = last_recorded or last_held
        assert last_session is not None  # held > 0
        for person_id in candidates:
            completed[person_id] = last_session.date()
    return completed


def recompute_class(
    class_id: int,
    *,
    as_of: datetime | None = None,
    revoked_reason: str = REVOKED_NOT_COMPLETED,
    user_id: int | None = None,
) -> CompletionResult:
    """Apply the course's completion rule (:func:`completed_learners`) to the class and make learning records and
    certificates match. Idempotent: records are keyed by ``source_key``; a second run writes nothing. A
    certificate it revokes gets ``revoked_reason`` and an audit event (by ``user_id``, whose change caused it)."""
    course_class = db.session.get(CourseClass, class_id)
    if course_class is None:
        return CompletionResult(0, 0, 0, 0)
    course = course_class.course
    completed = completed_learners(class_id, as_of=as_of)
    wanted = _wanted_records(course_class, course, completed)
    have = {
        key: (record_id, commune_id, year, person_id, completed_on)
        for key, record_id, commune_id, year, person_id, completed_on in db.session.execute(
            select(
                LearningRecord.source_key,
                LearningRecord.id,
                LearningRecord.commune_id,
                LearningRecord.year,
                LearningRecord.person_id,
                LearningRecord.completed_on,
            ).where(LearningRecord.class_id == class_id)
        ).tuples()
    }
    new = [row for key, row in wanted.items() if key not in have]
    stale = [value for key, value in have.items() if key not in wanted]
    # Kept, but completed on another day: the class's last session moved (its date corrected, or cancelled) — into
    # another year, possibly, the one the titles engine counts the learning in.
    moved = [(have[key], row) for key, row in wanted.items() if key in have and have[key][4] != row["completed_on"]]
    if new:
        db.session.execute(insert(LearningRecord), new)
    if stale:
        db.session.execute(delete(LearningRecord).where(LearningRecord.id.in_([record_id for record_id, *_ in stale])))
    for day in {row["completed_on"] for _old, row in moved}:
        db.session.execute(
            update(LearningRecord)
            .where(LearningRecord.id.in_([old[0] for old, row in moved if row["completed_on"] == day]))
            .values(completed_on=day, year=day.year)
        )
    if new or stale or moved:
        # Whoever evaluates titles learns where the learning happened and whose it was, in this transaction.
        gone = [*stale, *(old for old, _row in moved)]
        came = [*new, *(row for _old, row in moved)]
        learning_records_changed.send(
            None,
            pairs={(row["commune_id"], row["year"]) for row in came}
            | {(commune_id, year) for _, commune_id, year, _, _ in gone},
            persons={(row["person_id"], row["year"]) for row in came}
            | {(person_id, year) for _, _, year, person_id, _ in gone},
        )
    issued = _sync_certificates(class_id, completed, revoked_reason, user_id)
    return CompletionResult(len(completed), len(new), len(stale), issued)


def _wanted_records(course_class: CourseClass, course: Course, completed: dict[int, date]) -> dict[str, dict]:
    kind = (
        LearningKind.POLICY_STUDY if course.category == CourseCategory.POLICY_STUDY else LearningKind.CLASS_COMPLETION
    )
    wanted: dict[str, dict] = {}
    now = utcnow()
    for person_id, day in completed.items():
        base = {
            "person_id": person_id,
            "year": day.year,
            "completed_on": day,
            "commune_id": course_class.commune_id,
            "class_id": course_class.id,
            "category": course.category,
            "evidence": f"class {course_class.id}",
            "created_at": now,
        }
        key = f"class:{course_class.id}:person:{person_id}"
        wanted[key] = {
            **base,
            "kind": kind.value,
            "hours": course.planned_hours,
            "module_code": None,
            "source_key": key,
        }
        for module in course.module_codes or []:
            module_key = f"{key}:module:{module}"
            wanted[module_key] = {
                **base,
                "kind": LearningKind.IT_MODULE.value,
                "hours": Decimal(0),
                "module_code": module,
                "source_key": module_key,
            }
    return wanted


def _new_certificate_code() -> str:
    return new_code()


def _sync_certificates(class_id: int, completed: dict[int, date], revoked_reason: str, user_id: int | None) -> int:
    rows = {
        row.person_id: row
        for row in db.session.execute(
            select(Certificate.id, Certificate.code, Certificate.person_id, Certificate.revoked_at).where(
                Certificate.class_id == class_id
            )
        )
    }
    issue = [
        {"class_id": class_id, "person_id": p, "issued_on": day, "code": _new_certificate_code(), "revoked_reason": ""}
        for p, day in completed.items()
        if p not in rows
    ]
    if issue:
        db.session.execute(insert(Certificate), issue)
    revive = [row.id for p, row in rows.items() if p in completed and row.revoked_at is not None]
    if revive:
        db.session.execute(
            update(Certificate).where(Certificate.id.in_(revive)).values(revoked_at=None, revoked_reason="")
        )
    revoke = [row for p, row in rows.items() if p not in completed and row.revoked_at is None]
    if revoke:
        now = utcnow()
        db.session.execute(
            update(Certificate)
            .where(Certificate.id.in_([row.id for row in revoke]))
            .values(revoked_at=now, revoked_reason=revoked_reason[:300])
        )
        revoked.send(None, certificate_ids={row.id for row in revoke})
        # Never a silent side effect: each revocation is in the audit trail with its reason.
        db.session.execute(
            insert(AuditEvent),
            [
                {
                    "action": "certificate.revoke",
                    "object_type": "certificate",
                    "object_id": str(row.id),
                    "user_id": user_id,
                    "details": {
                        "code": row.code,
                        "class_id": class_id,
                        "person_id": row.person_id,
                        "reason": revoked_reason[:300],
                    },
                    "at": now,
                }
                for row in revoke
            ],
        )
    return len(issue)


def pending_key(class_id: int) -> Any:
    return (PendingWork.kind == COMPLETION_WORK) & (PendingWork.subject_id == class_id)


def take_pending(sent_before: datetime, limit: int = 1000) -> list[int]:
    """Class ids still marked whose task was last sent before ``sent_before`` (or never), least recently sent
    first, not parked and past their backoff (ADR 23), stamped as sent now (for the sweep). Their message was lost
    (the broker was down at the commit, a worker died) or their task failed: a change to work sent recently sends
    nothing (:func:`mark_dirty`), so ``marked_at``, which every change rewrites, says nothing of a lost message. A
    task merely waiting in a long queue is not sent again before ``sent_before`` passes it."""
    now = utcnow()
    class_ids = list(
        db.session.scalars(
            select(PendingWork.subject_id)
            .where(
                PendingWork.kind == COMPLETION_WORK,
                or_(PendingWork.sent_at.is_(None), PendingWork.sent_at < sent_before),
                PendingWork.due(now),
            )
            .order_by(PendingWork.sent_at.asc().nulls_first(), PendingWork.marked_at)
            .limit(limit)
        )
    )
    if class_ids:
        db.session.execute(
            update(PendingWork)
            .where(PendingWork.kind == COMPLETION_WORK, PendingWork.subject_id.in_(class_ids))
            .values(sent_at=now)
        )
    return class_ids


def pending_marked_at(class_id: int) -> datetime | None:
    """The class's mark as it stands (None: not marked), read by a run before it recomputes: what it answers for."""
    return db.session.scalar(select(PendingWork.marked_at).where(pending_key(class_id)))


def clear_pending(class_id: int, marked_at: datetime | None) -> bool:
    """Remove the class's mark if it still holds ``marked_at`` (:func:`pending_marked_at`, read before the run
    recomputed). A change committed since rewrote it (and on PostgreSQL one still uncommitted holds the row: the
    ``DELETE`` waits for it, then re-reads it), so the mark stays; its own message may have been skipped because this
    run's was sent recently (:func:`mark_dirty`), so the mark is stamped as sent now and the caller sends the task
    again after its commit. Returns whether to send it again."""
    if marked_at is None:
        return False  # not marked when the run began: a change since then inserted the row and sent its task
    mark = pending_key(class_id)
    if db.session.scalar(delete(PendingWork).where(mark, PendingWork.marked_at == marked_at).returning(PendingWork.id)):
        return False
    # None: another run cleared it meanwhile (SQLite, where runs do not lock the class): nothing left to send.
    return (
        db.session.scalar(update(PendingWork).where(mark).values(sent_at=utcnow()).returning(PendingWork.id))
        is not None
    )


def find_certificate(code: str) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.code == code.strip().upper()))
