"""The class programme under /api/v1: courses, classes, sessions, enrolments, attendance, completions and the public
verification of certificates.

Every look-up of a class or a session goes through the scoping helper (``services.get_class`` / ``get_session``):
an object outside the caller's scope is a 404, whatever its id. POSTs honour ``Idempotency-Key`` (the decorator
owns their commit). Session times are local wall-clock times in Vietnam: sent and returned with ``+07:00`` (a
time without an offset is taken as local); attendance ``recorded_at`` is a device time with an offset, stored in
UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response, abort, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager

from courses import services
from courses.models import (
    Attendance,
    Certificate,
    ClassSession,
    Course,
    CourseCategory,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    LearningKind,
    LearningRecord,
    Room,
    SessionStatus,
    TargetGroup,
    class_instructor,
)
from courses.scheduling import Recurrence
from courses.services import CourseError, Mark
from lms.api import bp
from lms.api.errors import ApiValidationError, problem
from lms.api.idempotency import idempotent
from lms.api.pagination import paginate
from lms.auth.permissions import Permission, has_permission_anywhere
from lms.core.services import audit
from lms.extensions import db, limiter
from lms.registry import services as registry
from lms.registry.models import AdminUnit, AssociationRole, Clc, Household, Person, UnitLevel
from lms.registry.text import initials_name

VIEW = Permission.COURSES_VIEW
MANAGE = Permission.COURSES_MANAGE
RECORD = Permission.ATTENDANCE_RECORD
LOCAL = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")  # no daylight saving
MAX_MARKS = 1000  # a batch is one session; no class is this big
MAX_PEOPLE = 2000
COMPLETION_KINDS = (LearningKind.CLASS_COMPLETION.value, LearningKind.POLICY_STUDY.value)


# --- look-ups ------------------------------------------------------------------------------------------------


def _require(permission: Permission) -> None:
    if not has_permission_anywhere(current_user, permission):
        abort(403)


def _class(class_id: int, permission: Permission = VIEW) -> CourseClass:
    _require(permission)
    course_class = services.get_class(class_id, current_user, permission)
    if course_class is None:
        abort(404)
    return course_class


def _session(session_id: int, permission: Permission = VIEW, *, for_update: bool = False) -> ClassSession:
    _require(permission)
    session = services.get_session(session_id, current_user, permission, for_update=for_update)
    if session is None:
        abort(404)
    return session


def _refused(exc: CourseError, *, indexes: dict[int, int] | None = None) -> Response:
    """A refused operation: conflicts are a 409 listing them; anything else a 422 naming the field (and the item,
    for per-item problems: ``marks[2].person_id``, ``person_ids[0]``)."""
    db.session.rollback()
    if exc.details and all("resource" in d for d in exc.details):
        # Name only the caller's own classes: a clash with another commune's class must not reveal it.
        own = set(
            db.session.scalars(
                services.classes_in_scope(current_user, VIEW)
                .with_only_columns(CourseClass.id)
                .where(CourseClass.id.in_({d["class_id"] for d in exc.details}))
            )
        )
        conflicts = [d if d["class_id"] in own else {**d, "class_id": None, "session_id": None} for d in exc.details]
        message = f"{len(conflicts)} conflicting booking(s) of a room, an instructor or a learner"
        return problem(409, "Conflict", message, [{"field": exc.field, "message": message}], conflicts=conflicts)
    errors: list[dict[str, Any]] = []
    for detail in exc.details:
        if "index" in detail:
            errors.append({"field": f"{exc.field}[{detail['index']}].{detail['field']}", "message": detail["message"]})
        elif "person_id" in detail and indexes and detail["person_id"] in indexes:
            errors.append(
                {
                    "field": f"{exc.field}[{indexes[detail['person_id']]}]",
                    "message": f"person {detail['person_id']}: {detail['message']}",
                }
            )
        else:
            errors.append({"field": exc.field, "message": detail.get("message", str(exc))})
    raise ApiValidationError(errors or [{"field": exc.field, "message": str(exc)}], str(exc))


# --- reading request bodies ----------------------------------------------------------------------------------


def _local(moment: datetime) -> datetime:
    """A session time as stored: local wall-clock, without a zone."""
    return moment.astimezone(LOCAL).replace(tzinfo=None) if moment.tzinfo else moment


def _local_iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=LOCAL).isoformat() if moment else None


def _utc_iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Body:
    """A JSON object read field by field; every problem is collected with its field, then raised at once."""

    def __init__(self, allowed: set[str], payload: Any = None, prefix: str = "") -> None:
        payload = request.get_json(silent=True) if payload is None and not prefix else payload
        if not isinstance(payload, dict):
            raise ApiValidationError([{"field": prefix.rstrip("."), "message": "must be a JSON object"}])
        self.data: dict[str, Any] = payload
        self.prefix = prefix
        self.errors: list[dict[str, str]] = [
            {"field": prefix + name, "message": "unknown field"} for name in sorted(set(payload) - allowed)
        ]

    def error(self, name: str, message: str) -> None:
        self.errors.append({"field": self.prefix + name, "message": message})

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None and required:
            self.error(name, "required")
        return value

    def text(self, name: str, *, required: bool = False, max_length: int = 300, default: str | None = None) -> Any:
        value = self._get(name, required)
        if value is None:
            return default
        if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_length:
            self.error(name, f"{'required ' if required else ''}text of at most {max_length} characters")
            return default
        return value.strip()

    def integer(
        self, name: str, *, required: bool = False, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not _is_int(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f" from {minimum}" if minimum is not None else ""
            bounds += f" to {maximum}" if maximum is not None else ""
            self.error(name, f"an integer{bounds}")
            return None
        return value

    def number(
        self, name: str, *, required: bool = False, low: Decimal, high: Decimal, low_open: bool = False
    ) -> Decimal | None:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise InvalidOperation
            number = Decimal(str(value))
            if not number.is_finite() or number > high or number < low or (low_open and number == low):
                raise InvalidOperation
        except InvalidOperation:
            self.error(name, f"a number {'above' if low_open else 'from'} {low} {'up ' if low_open else ''}to {high}")
            return None
        return number

    def boolean(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, bool):
            self.error(name, "true or false")
            return None
        return value

    def choice(self, name: str, options: Sequence[str], *, required: bool = False) -> str | None:
        value = self._get(name, required)
        if value is not None and value not in options:
            self.error(name, "one of " + ", ".join(options))
            return None
        return value

    def day(self, name: str, *, required: bool = False) -> date | None:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            self.error(name, "a date as YYYY-MM-DD")
            return None

    def clock(self, name: str, *, required: bool = False) -> time | None:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            if not isinstance(value, str) or len(value) != 5:
                raise ValueError
            return time.fromisoformat(value)
        except ValueError:
            self.error(name, "a time as HH:MM")
            return None

    def local_time(self, name: str, *, required: bool = False) -> datetime | None:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            return _local(datetime.fromisoformat(value))
        except (TypeError, ValueError):
            self.error(name, "a date and time as YYYY-MM-DDTHH:MM (local time, or with an offset such as +07:00)")
            return None

    def utc_time(self, name: str, *, required: bool = False) -> datetime | None:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.error(name, "a date and time in ISO 8601 with its offset, e.g. 2026-03-03T12:05:00Z")
            return None
        if moment.tzinfo is None:
            self.error(name, "give the offset (Z or +07:00): a device time without one is ambiguous")
            return None
        return moment.astimezone(UTC).replace(tzinfo=None)

    def id_list(self, name: str, *, required: bool = False, maximum: int = MAX_PEOPLE) -> list[int] | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, list) or not value or len(value) > maximum:
            self.error(name, f"a list of 1 to {maximum} ids")
            return None
        bad = [i for i, item in enumerate(value) if not _is_int(item)]
        for i in bad:
            self.error(f"{name}[{i}]", "an integer id")
        return None if bad else list(value)

    def check(self) -> None:
        if self.errors:
            raise ApiValidationError(self.errors)


def _room(body: _Body, course_class: CourseClass) -> Room | None:
    room_id = body.integer("room_id")
    if room_id is None:
        return None
    room = db.session.scalar(select(Room).where(Room.id == room_id, Room.clc_id == course_class.clc_id))
    if room is None:
        body.error("room_id", "no such room at the class's centre")
    return room


def _people_in_scope(ids: Sequence[int], field: str, permission: Permission) -> list[dict[str, str]]:
    """Errors for the ids that are not persons in the caller's scope (one query)."""
    found = set(
        db.session.scalars(
            registry.scoped_select(Person, current_user, permission)
            .with_only_columns(Person.id)
            .where(Person.id.in_(list(ids)))
        )
    )
    return [
        {"field": f"{field}[{i}]", "message": f"no person {pid} in your scope"}
        for i, pid in enumerate(ids)
        if pid not in found
    ]


# --- serialisers ---------------------------------------------------------------------------------------------


def course_json(course: Course) -> dict[str, Any]:
    return {
        "id": course.id,
        "unit_id": course.unit_id,
        "code": course.code,
        "name": course.name,
        "category": course.category,
        "planned_hours": float(course.planned_hours),
        "min_attendance_share": float(course.min_attendance_share),
        "requires_assessment": course.requires_assessment,
        "description": course.description,
        "module_codes": list(course.module_codes or []),
        "active": course.active,
    }


def class_json(course_class: CourseClass) -> dict[str, Any]:
    return {
        "id": course_class.id,
        "course_id": course_class.course_id,
        "course_name": course_class.course.name,
        "clc_id": course_class.clc_id,
        "commune_id": course_class.commune_id,
        "name": course_class.name,
        "room_id": course_class.room_id,
        "capacity": course_class.capacity,
        "target_group": course_class.target_group,
        "starts_on": course_class.starts_on.isoformat(),
        "ends_on": course_class.ends_on.isoformat(),
    }


def session_json(session: ClassSession) -> dict[str, Any]:
    return {
        "id": session.id,
        "class_id": session.class_id,
        "starts_at": _local_iso(session.starts_at),
        "ends_at": _local_iso(session.ends_at),
        "room_id": session.room_id,
        "place": session.place,
        "status": session.status,
        "original_starts_at": _local_iso(session.original_starts_at),
        "note": session.note,
    }


def enrolment_json(enrolment: Enrolment) -> dict[str, Any]:
    return {
        "person_id": enrolment.person_id,
        "full_name": enrolment.person.full_name,
        "status": enrolment.status,
        "enrolled_at": _utc_iso(enrolment.enrolled_at),
        "withdrawn_at": _utc_iso(enrolment.withdrawn_at),
        "assessment_passed": enrolment.assessment_passed,
    }


def mark_json(mark: Attendance) -> dict[str, Any]:
    return {
        "person_id": mark.person_id,
        "status": mark.status,
        "recorded_at": _utc_iso(mark.recorded_at),
        "device": mark.device,
        "client_mark_id": mark.client_mark_id,
        "received_at": _utc_iso(mark.received_at),
    }


# --- courses -------------------------------------------------------------------------------------------------


@bp.get("/courses")
@login_required
def list_courses():
    _require(VIEW)
    stmt = services.visible_courses(current_user, VIEW)
    if category := request.args.get("category"):
        stmt = stmt.where(Course.category == category)
    if query := request.args.get("q", "").strip():
        stmt = stmt.where(registry.search_condition(query, Course.name_folded))
    return paginate(stmt.order_by(Course.sort_key, Course.id), course_json)


@bp.get("/courses/<int:course_id>")
@login_required
def get_course(course_id: int):
    _require(VIEW)
    course = db.session.scalar(services.visible_courses(current_user, VIEW).where(Course.id == course_id))
    if course is None:
        abort(404)
    return course_json(course)


COURSE_FIELDS = {
    "unit_id",
    "code",
    "name",
    "category",
    "planned_hours",
    "min_attendance_share",
    "requires_assessment",
    "description",
    "module_codes",
}


@bp.post("/courses")
@login_required
@idempotent
def create_course():
    _require(MANAGE)
    body = _Body(COURSE_FIELDS)
    unit_id = body.integer("unit_id", required=True)
    code = body.text("code", required=True, max_length=40)
    name = body.text("name", required=True)
    category = body.choice("category", [c.value for c in CourseCategory], required=True)
    hours = body.number("planned_hours", required=True, low=Decimal(0), high=Decimal("99999.9"), low_open=True)
    share = body.number("min_attendance_share", low=Decimal(0), high=Decimal(1), low_open=True)
    assessment = body.boolean("requires_assessment")
    description = body.text("description", max_length=5000, default="")
    modules = body.data.get("module_codes") or []
    if not isinstance(modules, list) or not all(isinstance(m, str) and 0 < len(m) <= 8 for m in modules):
        body.error("module_codes", "a list of module codes such as IU01")
    unit = registry.get_in_scope(AdminUnit, unit_id, current_user, MANAGE) if unit_id is not None else None
    if unit_id is not None and unit is None:
        body.error("unit_id", "no such unit in your scope")
    body.check()
    # body.check() raised if a required field was missing: tell the type checker.
    assert unit is not None
    assert category is not None
    assert hours is not None
    try:
        course = services.create_course(
            unit=unit,
            code=code,
            name=name,
            category=category,
            planned_hours=hours,
            min_attendance_share=share if share is not None else Decimal("0.8"),
            requires_assessment=bool(assessment),
            description=description,
            module_codes=modules,
        )
    except CourseError as exc:
        return _refused(exc)
    return course_json(course), 201, {"Location": url_for("api.get_course", course_id=course.id)}


# --- classes -------------------------------------------------------------------------------------------------


def _query_date(name: str, errors: list[dict[str, str]]) -> date | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append({"field": name, "message": "a date as YYYY-MM-DD"})
        return None


@bp.get("/classes")
@login_required
def list_classes():
    _require(VIEW)
    stmt = services.classes_in_scope(current_user, VIEW)
    errors: list[dict[str, str]] = []
    for name, column in (("clc_id", CourseClass.clc_id), ("course_id", CourseClass.course_id)):
        raw = request.args.get(name)
        if raw is not None:
            if not raw.isdigit():
                errors.append({"field": name, "message": "an integer id"})
            else:
                stmt = stmt.where(column == int(raw))
    first, last = _query_date("from", errors), _query_date("to", errors)
    if errors:
        raise ApiValidationError(errors)
    if first is not None:  # classes that run during [from, to]
        stmt = stmt.where(CourseClass.ends_on >= first)
    if last is not None:
        stmt = stmt.where(CourseClass.starts_on <= last)
    return paginate(stmt.order_by(CourseClass.starts_on.desc(), CourseClass.id.desc()), class_json)


@bp.get("/classes/<int:class_id>")
@login_required
def get_class(class_id: int):
    course_class = _class(class_id)
    body = class_json(course_class)
    body["instructors"] = [
        {"person_id": person_id, "full_name": full_name, "role": role}
        for person_id, full_name, role in db.session.execute(
            select(Person.id, Person.full_name, class_instructor.c.role)
            .join(class_instructor, class_instructor.c.person_id == Person.id)
            .where(class_instructor.c.class_id == class_id)
            .order_by(Person.sort_key)
        )
    ]
    enrolments = dict(
        iter(
            db.session.execute(
                select(Enrolment.status, func.count()).where(Enrolment.class_id == class_id).group_by(Enrolment.status)
            ).tuples()
        )
    )
    now = services.local_now()
    sessions = db.session.execute(
        select(
            func.count().filter(ClassSession.status == SessionStatus.SCHEDULED),
            func.count().filter(ClassSession.status == SessionStatus.CANCELLED),
            func.count().filter(ClassSession.status == SessionStatus.SCHEDULED, ClassSession.starts_at <= now),
        ).where(ClassSession.class_id == class_id)
    ).one()
    body["counts"] = {
        "enrolled": enrolments.get(EnrolmentStatus.ENROLLED.value, 0),
        "waitlisted": enrolments.get(EnrolmentStatus.WAITLISTED.value, 0),
        "withdrawn": enrolments.get(EnrolmentStatus.WITHDRAWN.value, 0),
        "seats_left": max(course_class.capacity - enrolments.get(EnrolmentStatus.ENROLLED.value, 0), 0),
        "sessions_scheduled": sessions[0],
        "sessions_cancelled": sessions[1],
        "sessions_held": sessions[2],
    }
    return body


CLASS_FIELDS = {
    "course_id",
    "clc_id",
    "name",
    "capacity",
    "starts_on",
    "ends_on",
    "room_id",
    "target_group",
    "instructor_ids",
}


@bp.post("/classes")
@login_required
@idempotent
def create_class():
    _require(MANAGE)
    body = _Body(CLASS_FIELDS)
    course_id = body.integer("course_id", required=True)
    clc_id = body.integer("clc_id", required=True)
    name = body.text("name", required=True)
    capacity = body.integer("capacity", required=True, minimum=1, maximum=10_000)
    starts_on, ends_on = body.day("starts_on", required=True), body.day("ends_on", required=True)
    target_group = body.choice("target_group", [t.value for t in TargetGroup]) or TargetGroup.EVERYONE.value
    instructor_ids = body.id_list("instructor_ids", maximum=20) or []
    course = clc = None
    if course_id is not None:
        course = db.session.scalar(services.visible_courses(current_user, MANAGE).where(Course.id == course_id))
        if course is None:
            body.error("course_id", "no such course in your catalogue")
    if clc_id is not None:
        clc = registry.get_in_scope(Clc, clc_id, current_user, MANAGE)
        if clc is None:
            body.error("clc_id", "no such centre in your scope")
    room_id = body.integer("room_id")
    room = None
    if room_id is not None and clc is not None:
        room = db.session.scalar(select(Room).where(Room.id == room_id, Room.clc_id == clc.id))
        if room is None:
            body.error("room_id", "no such room at this centre")
    body.errors += _people_in_scope(instructor_ids, "instructor_ids", MANAGE) if instructor_ids else []
    body.check()
    assert course is not None
    assert clc is not None
    assert starts_on is not None
    assert ends_on is not None
    assert capacity is not None
    instructors = list(db.session.scalars(select(Person).where(Person.id.in_(instructor_ids))))
    try:
        course_class = services.create_class(
            course=course,
            clc=clc,
            name=name,
            capacity=capacity,
            starts_on=starts_on,
            ends_on=ends_on,
            room=room,
            target_group=target_group,
            instructors=instructors,
        )
    except CourseError as exc:
        return _refused(exc)
    return class_json(course_class), 201, {"Location": url_for("api.get_class", class_id=course_class.id)}


# --- sessions ------------------------------------------------------------------------------------------------


@bp.get("/classes/<int:class_id>/sessions")
@login_required
def list_sessions(class_id: int):
    _class(class_id)
    stmt = select(ClassSession).where(ClassSession.class_id == class_id)
    if status := request.args.get("status"):
        stmt = stmt.where(ClassSession.status == status)
    return paginate(stmt.order_by(ClassSession.starts_at, ClassSession.id), session_json)


@bp.post("/classes/<int:class_id>/sessions")
@login_required
@idempotent
def create_session(class_id: int):
    course_class = _class(class_id, MANAGE)
    body = _Body({"starts_at", "ends_at", "room_id", "place"})
    starts_at, ends_at = body.local_time("starts_at", required=True), body.local_time("ends_at", required=True)
    place = body.text("place", max_length=200, default="")
    room = _room(body, course_class)
    body.check()
    assert starts_at is not None
    assert ends_at is not None
    try:
        sessions = services.schedule(course_class, [(starts_at, ends_at)], room=room, place=place)
    except CourseError as exc:
        return _refused(exc)
    return {"items": [session_json(s) for s in sessions]}, 201


RECURRENCE_FIELDS = {"first_day", "weekdays", "start", "end", "every_weeks", "until", "count", "room_id", "place"}


@bp.post("/classes/<int:class_id>/sessions/recurring")
@login_required
@idempotent
def create_recurring_sessions(class_id: int):
    course_class = _class(class_id, MANAGE)
    body = _Body(RECURRENCE_FIELDS)
    first_day = body.day("first_day", required=True)
    weekdays = body.data.get("weekdays")
    if not isinstance(weekdays, list) or not weekdays or not all(_is_int(d) and 0 <= d <= 6 for d in weekdays):
        body.error("weekdays", "a list of weekdays, 0 = Monday … 6 = Sunday")
    start, end = body.clock("start", required=True), body.clock("end", required=True)
    every_weeks = body.integer("every_weeks", minimum=1, maximum=52)
    until = body.day("until")
    count = body.integer("count", minimum=1, maximum=500)
    if "until" not in body.data and "count" not in body.data:
        body.error("until", "give an end date (until) or a number of sessions (count)")
    place = body.text("place", max_length=200, default="")
    room = _room(body, course_class)
    body.check()
    assert first_day is not None
    assert isinstance(weekdays, list)
    assert start is not None
    assert end is not None
    rule = Recurrence(
        first_day=first_day,
        weekdays=frozenset(weekdays),
        start=start,
        end=end,
        every_weeks=every_weeks or 1,
        until=until,
        count=count,
    )
    try:
        sessions = services.schedule_recurring(course_class, rule, room=room, place=place)
    except CourseError as exc:
        return _refused(exc)
    return {"items": [session_json(s) for s in sessions]}, 201


@bp.get("/sessions/<int:session_id>")
@login_required
def get_session(session_id: int):
    return session_json(_session(session_id))


@bp.patch("/sessions/<int:session_id>")
@login_required
def reschedule_session(session_id: int):
    session = _session(session_id, MANAGE)
    body = _Body({"starts_at", "ends_at", "room_id"})
    starts_at, ends_at = body.local_time("starts_at"), body.local_time("ends_at")
    room = _room(body, session.course_class)
    if not body.data:
        body.error("starts_at", "give starts_at, ends_at or room_id")
    body.check()
    if starts_at is not None and ends_at is None:  # moved, same length
        ends_at = starts_at + (session.ends_at - session.starts_at)
    try:
        services.reschedule(session, starts_at or session.starts_at, ends_at or session.ends_at, room=room)
    except CourseError as exc:
        return _refused(exc)
    db.session.commit()
    return session_json(session)


@bp.post("/sessions/<int:session_id>/cancel")
@login_required
@idempotent
def cancel_session(session_id: int):
    session = _session(session_id, MANAGE)
    body = _Body({"reason"})
    reason = body.text("reason", max_length=300, default="")
    body.check()
    try:
        services.cancel(session, reason)
    except CourseError as exc:  # already cancelled: a retry with the same Idempotency-Key is answered as before
        return _refused(exc)
    return session_json(session)


# --- enrolments ----------------------------------------------------------------------------------------------


@bp.get("/classes/<int:class_id>/enrolments")
@login_required
def list_enrolments(class_id: int):
    _class(class_id)
    stmt = (
        select(Enrolment)
        .join(Person, Person.id == Enrolment.person_id)
        .options(contains_eager(Enrolment.person))
        .where(Enrolment.class_id == class_id)
    )
    if status := request.args.get("status"):
        stmt = stmt.where(Enrolment.status == status)
    return paginate(stmt.order_by(Person.sort_key, Person.id), enrolment_json)


ENROL_SELECTORS = ("person_id", "person_ids", "village_id", "household_id", "association_role")


@bp.post("/classes/<int:class_id>/enrolments")
@login_required
@idempotent
def create_enrolments(class_id: int):
    """One learner (``person_id``), a list (``person_ids``, enrolled in that order), or everyone of a village, a
    household or an association role of the class's commune."""
    course_class = _class(class_id, MANAGE)
    body = _Body(set(ENROL_SELECTORS))
    chosen = [name for name in ENROL_SELECTORS if body.data.get(name) is not None]
    if len(chosen) != 1:
        body.error(chosen[1] if len(chosen) > 1 else "person_ids", "give exactly one of " + ", ".join(ENROL_SELECTORS))
        body.check()
    selector = chosen[0]
    person_ids: list[int] = []
    field = "person_ids"
    if selector == "person_id":
        person_id = body.integer("person_id", required=True)
        field = "person_id"
        if person_id is not None:
            person_ids = [person_id]
            if _people_in_scope(person_ids, field, MANAGE):
                body.error(field, f"no person {person_id} in your scope")
    elif selector == "person_ids":
        person_ids = body.id_list("person_ids", required=True) or []
        body.errors += _people_in_scope(person_ids, field, MANAGE) if person_ids else []
    else:
        village_id, household_id = body.integer("village_id"), body.integer("household_id")
        role = body.choice("association_role", [r.value for r in AssociationRole])
        if village_id is not None:
            village = registry.get_in_scope(AdminUnit, village_id, current_user, MANAGE)
            if village is None or village.level != UnitLevel.VILLAGE:
                body.error("village_id", "no such village in your scope")
        if household_id is not None and registry.get_in_scope(Household, household_id, current_user, MANAGE) is None:
            body.error("household_id", "no such household in your scope")
        body.check()
        person_ids = services.people_for_bulk_enrolment(
            course_class, village_id=village_id, household_id=household_id, association_role=role
        )
        if not person_ids:
            body.error(selector, "nobody of the class's commune matches")
    body.check()
    try:
        result = services.enrol(course_class, person_ids)
    except CourseError as exc:
        indexes = {pid: i for i, pid in enumerate(person_ids)} if selector == "person_ids" else None
        if selector == "person_id":
            exc.field = "person_id"
            exc.details = [{"message": f"person {d['person_id']}: {d['message']}"} for d in exc.details]
        return _refused(exc, indexes=indexes)
    return {
        "class_id": course_class.id,
        "enrolled": result.enrolled,
        "waitlisted": result.waitlisted,
        "already": result.already,
    }


@bp.delete("/classes/<int:class_id>/enrolments/<int:person_id>")
@login_required
def withdraw_enrolment(class_id: int, person_id: int):
    course_class = _class(class_id, MANAGE)
    try:
        promoted = services.withdraw(course_class, person_id)
    except CourseError as exc:
        return _refused(exc)
    db.session.commit()
    return {
        "class_id": class_id,
        "person_id": person_id,
        "status": EnrolmentStatus.WITHDRAWN.value,
        "promoted": promoted,
    }


# --- attendance ----------------------------------------------------------------------------------------------

MARK_FIELDS = {"client_mark_id", "person_id", "status", "recorded_at"}


def _marks(payload: Any) -> tuple[str, list[Mark]]:
    """Read a batch: every problem of every mark is reported (``marks[2].person_id``) before anything runs."""
    body = _Body({"device", "marks"}, payload)
    device = body.text("device", max_length=100, default="")
    raw = body.data.get("marks")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_MARKS:
        body.error("marks", f"a list of 1 to {MAX_MARKS} marks")
        body.check()
    assert isinstance(raw, list)
    marks: list[Mark] = []
    seen_ids: dict[str, int] = {}
    for index, item in enumerate(raw):
        prefix = f"marks[{index}]."
        if not isinstance(item, dict):
            body.error(f"marks[{index}]", "must be a JSON object")
            continue
        mark = _Body(MARK_FIELDS, item, prefix)
        client_mark_id = mark.text("client_mark_id", max_length=64)
        if client_mark_id is not None:
            if not client_mark_id:
                mark.error("client_mark_id", "1 to 64 characters")
            elif client_mark_id in seen_ids:
                mark.error("client_mark_id", f"the same id as marks[{seen_ids[client_mark_id]}]")
            seen_ids.setdefault(client_mark_id, index)
        person_id = mark.integer("person_id", required=True)
        status = mark.text("status", required=True, max_length=16)
        recorded_at = mark.utc_time("recorded_at", required=True)
        body.errors += mark.errors
        if not mark.errors:
            assert person_id is not None
            assert recorded_at is not None
            marks.append(Mark(person_id, status, recorded_at, client_mark_id or None, device))
    body.check()
    return device, marks


@bp.post("/sessions/<int:session_id>/attendance")
@login_required
@idempotent
def record_attendance(session_id: int):
    """A batch of marks for one session, from a phone that may have been offline: all or nothing, the latest
    ``recorded_at`` wins, and a constant number of statements whatever the class size."""
    session = _session(session_id, RECORD, for_update=True)  # found, scoped and locked in one statement
    device, marks = _marks(request.get_json(silent=True))
    try:
        result = services.record_attendance(session, marks, user_id=current_user.id, locked=True)
    except CourseError as exc:
        return _refused(exc)
    audit(
        "attendance.record",
        session,
        device=device,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    return {
        "session_id": session.id,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
    }


@bp.get("/sessions/<int:session_id>/attendance")
@login_required
def list_attendance(session_id: int):
    _session(session_id)
    stmt = (
        select(Attendance)
        .join(Person, Person.id == Attendance.person_id)
        .where(Attendance.session_id == session_id)
        .order_by(Person.sort_key, Person.id)
    )
    return paginate(stmt, mark_json)


# --- completions and certificates ----------------------------------------------------------------------------


@bp.get("/classes/<int:class_id>/completions")
@login_required
def list_completions(class_id: int):
    _class(class_id)
    stmt = (
        select(LearningRecord)
        .join(Person, Person.id == LearningRecord.person_id)
        .where(LearningRecord.class_id == class_id, LearningRecord.kind.in_(COMPLETION_KINDS))
        .order_by(Person.sort_key, Person.id)
    )
    page = paginate(stmt, lambda record: record)
    person_ids = [record.person_id for record in page["items"]]
    names = (
        dict(iter(db.session.execute(select(Person.id, Person.full_name).where(Person.id.in_(person_ids))).tuples()))
        if person_ids
        else {}
    )
    certificates = (
        {
            c.person_id: c
            for c in db.session.scalars(
                select(Certificate).where(Certificate.class_id == class_id, Certificate.person_id.in_(person_ids))
            )
        }
        if person_ids
        else {}
    )
    items = []
    for record in page["items"]:
        certificate = certificates.get(record.person_id)
        items.append(
            {
                "person_id": record.person_id,
                "full_name": names.get(record.person_id),
                "kind": record.kind,
                "category": record.category,
                "hours": float(record.hours),
                "year": record.year,
                "completed_on": record.completed_on.isoformat(),
                "certificate": None
                if certificate is None
                else {
                    "code": certificate.code,
                    "issued_on": certificate.issued_on.isoformat(),
                    "revoked": certificate.revoked_at is not None,
                },
            }
        )
    return {**page, "items": items}


# The same budget as the public verification page (same scope): enough for people, too little to guess codes.
verify_limit = limiter.shared_limit("30 per minute", scope="certificate-verify")


@bp.get("/certificates/<code>")
@verify_limit
def verify_certificate(code: str):
    """Public: anyone holding a certificate's code can check it. The minimum of personal data: the learner's name
    with family and middle names as initials; never a birth date, an ID number or an address."""
    certificate = services.find_certificate(code) if len(code) <= 40 else None
    if certificate is None:
        abort(404, description="No certificate has this code.")
    course_class = certificate.course_class
    return (
        {
            "code": certificate.code,
            "valid": certificate.revoked_at is None,
            "status": "valid" if certificate.revoked_at is None else "revoked",
            "issued_on": certificate.issued_on.isoformat(),
            "revoked_on": certificate.revoked_at.date().isoformat() if certificate.revoked_at else None,
            "learner": initials_name(certificate.person.full_name),
            "course": course_class.course.name,
            "class": course_class.name,
            "centre": course_class.clc.name,
        },
        200,
        {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"},
    )
