"""Time intervals, recurrence and conflicts. Pure functions first; the database queries at the end.

Two sessions conflict when each starts before the other ends. Sessions that only touch (one ends at 9:00, the
next starts at 9:00) do not: intervals are half-open, [start, end).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, or_, select

from courses.models import ClassSession, CourseClass, Enrolment, EnrolmentStatus, SessionStatus, class_instructor
from lms.core.formatting import in_request_language as _
from lms.extensions import db

Interval = tuple[datetime, datetime]


def overlaps(a: Interval, b: Interval) -> bool:
    """Half-open intervals overlap when each starts before the other ends."""
    return a[0] < b[1] and b[0] < a[1]


class ScheduleError(ValueError):
    """A schedule request that cannot be honoured; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Recurrence:
    """Sessions on ``weekdays`` (0 = Monday) every ``every_weeks`` weeks, from ``first_day`` until ``until`` or
    until ``count`` sessions are produced. Holidays are skipped and do not use up the count."""

    first_day: date
    weekdays: frozenset[int]
    start: time
    end: time
    every_weeks: int = 1
    until: date | None = None
    count: int | None = None


def on_pattern(rule: Recurrence, day: date) -> bool:
    """Is ``day`` one of the rule's days (its weekdays, every N weeks counted from the first day's week)?"""
    week_zero = rule.first_day - timedelta(days=rule.first_day.weekday())
    weeks = (day - week_zero).days // 7
    return day >= rule.first_day and day.weekday() in rule.weekdays and weeks % rule.every_weeks == 0


def expand(rule: Recurrence, holidays: Iterable[date] = (), *, last_day: date | None = None) -> list[Interval]:
    """The intervals a recurrence produces, in order. ``last_day`` bounds an open-ended rule (the class end)."""
    if rule.start >= rule.end:
        raise ScheduleError(_("a session must end after it starts"), "end")
    if not rule.weekdays or not rule.weekdays <= set(range(7)):
        raise ScheduleError(_("choose at least one weekday (0 = Monday … 6 = Sunday)"), "weekdays")
    if rule.every_weeks < 1:
        raise ScheduleError(_("the interval in weeks must be at least 1"), "every_weeks")
    if rule.until is None and rule.count is None:
        raise ScheduleError(_("give an end date or a number of sessions"), "until")
    if rule.count is not None and rule.count < 1:
        raise ScheduleError(_("the number of sessions must be at least 1"), "count")
    stop = min(d for d in (rule.until, last_day) if d is not None) if (rule.until or last_day) else None
    skip = set(holidays)
    result: list[Interval] = []
    day = rule.first_day
    # A count without an end date still needs a bound: two years of weeks is more than any class.
    horizon = stop or rule.first_day + timedelta(days=366 * 2)
    while day <= horizon and (rule.count is None or len(result) < rule.count):
        if on_pattern(rule, day) and day not in skip:
            result.append((datetime.combine(day, rule.start), datetime.combine(day, rule.end)))
        day += timedelta(days=1)
    if not result:
        raise ScheduleError(_("this recurrence produces no session between its first day and its end"), "until")
    return result


def check_within_class(course_class: CourseClass, intervals: Sequence[Interval]) -> None:
    for start, _end in intervals:
        if not course_class.starts_on <= start.date() <= course_class.ends_on:
            raise ScheduleError(
                _(
                    "%(day)s is outside the class's dates (%(first)s–%(last)s)",
                    day=f"{start:%d/%m/%Y}",
                    first=f"{course_class.starts_on:%d/%m/%Y}",
                    last=f"{course_class.ends_on:%d/%m/%Y}",
                ),
                "starts_at",
            )


@dataclass(frozen=True)
class Conflict:
    resource: str  # "room", "instructor", "learner"
    resource_id: int
    interval: Interval
    session_id: int
    class_id: int

    def describe(self) -> str:
        when = {"start": f"{self.interval[0]:%d/%m/%Y %H:%M}", "end": f"{self.interval[1]:%H:%M}"}
        booked = {"id": self.resource_id, "class_id": self.class_id, **when}
        if self.resource == "room":
            return _("room %(id)s is already booked by class %(class_id)s from %(start)s to %(end)s", **booked)
        if self.resource == "instructor":
            return _("instructor %(id)s is already booked by class %(class_id)s from %(start)s to %(end)s", **booked)
        return _("learner %(id)s is already booked by class %(class_id)s from %(start)s to %(end)s", **booked)


@dataclass
class ConflictReport:
    conflicts: list[Conflict] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.conflicts)


def _overlapping(column_start, column_end, intervals: Sequence[Interval]):
    return or_(*(and_(column_start < end, start < column_end) for start, end in intervals))


def find_conflicts(
    intervals: Sequence[Interval],
    *,
    room_id: int | None = None,
    instructor_ids: Iterable[int] = (),
    learner_ids: Iterable[int] = (),
    ignore_session_ids: Iterable[int] = (),
) -> ConflictReport:
    """Scheduled sessions that clash with ``intervals`` on the room, an instructor or a learner: one query each,
    whatever the number of intervals, resources or existing sessions."""
    report = ConflictReport()
    if not intervals:
        return report
    ignore = list(ignore_session_ids)
    base = select(ClassSession.id, ClassSession.class_id, ClassSession.starts_at, ClassSession.ends_at).where(
        ClassSession.status == SessionStatus.SCHEDULED,
        _overlapping(ClassSession.starts_at, ClassSession.ends_at, intervals),
    )
    if ignore:
        base = base.where(ClassSession.id.not_in(ignore))

    def collect(resource: str, stmt) -> None:
        for row in db.session.execute(stmt):
            for interval in intervals:
                if overlaps(interval, (row.starts_at, row.ends_at)):
                    report.conflicts.append(
                        Conflict(resource, row.resource_id, (row.starts_at, row.ends_at), row.id, row.class_id)
                    )
                    break

    if room_id is not None:
        collect(
            "room", base.add_columns(ClassSession.room_id.label("resource_id")).where(ClassSession.room_id == room_id)
        )
    instructors = list(instructor_ids)
    if instructors:
        collect(
            "instructor",
            base.add_columns(class_instructor.c.person_id.label("resource_id"))
            .join(class_instructor, class_instructor.c.class_id == ClassSession.class_id)
            .where(class_instructor.c.person_id.in_(instructors)),
        )
    learners = list(learner_ids)
    if learners:
        collect(
            "learner",
            base.add_columns(Enrolment.person_id.label("resource_id"))
            .join(Enrolment, Enrolment.class_id == ClassSession.class_id)
            .where(Enrolment.person_id.in_(learners), Enrolment.status == EnrolmentStatus.ENROLLED),
        )
    return report
