"""The class programme under /api/v1: courses, classes, sessions, enrolments, attendance, completions and the public
verification of certificates. The shapes are in :mod:`courses.schemas`.

Every look-up of a class or a session goes through the scoping helper (``services.get_class`` / ``get_session``):
an object outside the caller's scope is a 404, whatever its id. POSTs honour ``Idempotency-Key`` (the decorator
owns their commit). Session times are local wall-clock times in Vietnam: sent and returned with ``+07:00`` (a
time without an offset is taken as local); attendance ``recorded_at`` is a device time with an offset, stored in
UTC.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from datetime import UTC
from decimal import Decimal
from typing import Any

from flask import Response, abort, g, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import exists, func, select
from sqlalchemy.orm import contains_eager

from courses import queries, services, sheet_import
from courses.models import (
    Attendance,
    Certificate,
    ClassSession,
    Course,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    LearningKind,
    LearningRecord,
    Room,
    SessionStatus,
    class_instructor,
)
from courses.scheduling import Recurrence
from courses.schemas import (
    ENROL_SELECTORS,
    AttendanceIn,
    AttendanceResult,
    CancelConsequences,
    CancelIn,
    CancelOut,
    CancelProblem,
    CertificateRef,
    ClassCounts,
    ClassDetail,
    ClassEdit,
    ClassEdited,
    ClassIn,
    ClassOut,
    ClassPage,
    ClassQuery,
    CompletionCertificateCheck,
    CompletionPage,
    ConflictOut,
    ConflictProblem,
    CourseIn,
    CourseOut,
    CoursePage,
    CourseQuery,
    DryRunQuery,
    EnrolIn,
    EnrolmentPage,
    EnrolmentQuery,
    EnrolmentResult,
    FinalAssessmentIn,
    FinalAssessmentOut,
    InstructorOut,
    MarkPage,
    RecurrenceIn,
    SessionIn,
    SessionList,
    SessionMove,
    SessionOut,
    SessionPage,
    SessionQuery,
    SheetAppliedOut,
    SheetConfirmIn,
    SheetForm,
    SheetPreviewOut,
    SheetProblem,
    WithdrawalOut,
)
from courses.services import CourseError, Mark
from lms.api import bp, idempotency
from lms.api.errors import ApiValidationError, problem, stale_preview
from lms.api.idempotency import idempotent
from lms.api.limits import verify_limit
from lms.api.pagination import page_of
from lms.api.schema import PageQuery, operation
from lms.auth.permissions import Permission, has_permission_anywhere
from lms.core import formatting
from lms.extensions import db
from lms.registry import services as registry
from lms.registry.models import AdminUnit, Clc, Person
from lms.registry.text import initials_name

VIEW = Permission.COURSES_VIEW
MANAGE = Permission.COURSES_MANAGE
RECORD = Permission.ATTENDANCE_RECORD
COMPLETION_KINDS = (LearningKind.CLASS_COMPLETION.value, LearningKind.POLICY_STUDY.value)
CONFLICT = {409: ConflictProblem}


# --- look-ups ------------------------------------------------------------------------------------------------


def _class(class_id: int, permission: Permission = VIEW) -> CourseClass:
    found = _found("class", class_id, permission, False)
    assert isinstance(found, CourseClass)
    return found


def _session(session_id: int, permission: Permission = VIEW, *, for_update: bool = False) -> ClassSession:
    found = _found("session", session_id, permission, for_update)
    assert isinstance(found, ClassSession)
    return found


def _found(kind: str, object_id: int, permission: Permission, for_update: bool) -> Any:
    """The class or session, scoped (looked up once per request: by :func:`_scoped`, then by the view); 404
    outside the caller's scope."""
    cache: dict[tuple[Any, ...], Any] = g.setdefault("courses_found", {})
    key = (kind, object_id, permission, for_update)
    if key not in cache:
        if kind == "class":
            cache[key] = services.get_class(object_id, current_user, permission)
        else:
            cache[key] = services.get_session(object_id, current_user, permission, for_update=for_update)
    if cache[key] is None:
        abort(404)
    return cache[key]


def _scoped(permission: Permission, *, for_update: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Answer 404 for a class or session of the URL outside the caller's scope *before* the request is validated
    (place it above ``operation``): whatever the body, another commune's object is not found. Who is not signed
    in, or holds the permission nowhere, goes on to ``operation``'s 401 or 403."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def scoped_view(*args: Any, **kwargs: Any) -> Any:
            if current_user.is_authenticated and has_permission_anywhere(current_user, permission):
                if "session_id" in kwargs:
                    _session(kwargs["session_id"], permission, for_update=for_update)
                elif "class_id" in kwargs:
                    _class(kwargs["class_id"], permission)
            return view(*args, **kwargs)

        return scoped_view

    return decorator


def _room(room_id: int | None, clc_id: int) -> Room | None:
    """The room the body names (the schema checked it is one of the centre's)."""
    if room_id is None:
        return None
    room = db.session.scalar(select(Room).where(Room.id == room_id, Room.clc_id == clc_id))
    if room is None:
        raise ApiValidationError([{"field": "room_id", "message": _("No such room at the class's centre.")}])
    return room


def _instructors(commune_id: int, ids: list[int]) -> list[Person]:
    """The instructors a body names, who must live in the class's commune — the rule of the class pages' forms
    (``queries.people_in_commune``): a person of another commune of the caller's scope is refused by index."""
    commune = db.session.get(AdminUnit, commune_id)
    assert commune is not None
    wanted = list(dict.fromkeys(ids))
    instructors = queries.people_in_commune(commune, wanted)
    if len(instructors) != len(wanted):
        found = {p.id for p in instructors}
        raise ApiValidationError(
            [
                {"field": f"instructor_ids[{i}]", "message": _("Choose people who live in the commune.")}
                for i, pid in enumerate(ids)
                if pid not in found
            ]
        )
    return instructors


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
        conflicts = [
            ConflictOut.model_validate(d if d["class_id"] in own else {**d, "class_id": None, "session_id": None})
            for d in exc.details
        ]
        message = _("%(n)s conflicting booking(s) of a room, an instructor or a learner", n=len(conflicts))
        return problem(
            409,
            "Conflict",
            message,
            [{"field": exc.field, "message": message}],
            conflicts=[c.model_dump(mode="json") for c in conflicts],
        )
    errors: list[dict[str, Any]] = []
    for detail in exc.details:
        if "index" in detail:
            errors.append({"field": f"{exc.field}[{detail['index']}].{detail['field']}", "message": detail["message"]})
        elif "person_id" in detail and indexes and detail["person_id"] in indexes:
            errors.append(
                {
                    "field": f"{exc.field}[{indexes[detail['person_id']]}]",
                    "message": _("person %(id)s: %(problem)s", id=detail["person_id"], problem=detail["message"]),
                }
            )
        else:
            errors.append({"field": exc.field, "message": detail.get("message", str(exc))})
    raise ApiValidationError(errors or [{"field": exc.field, "message": str(exc)}], str(exc))


# --- courses -------------------------------------------------------------------------------------------------

COURSES = ["courses"]


@bp.get("/courses")
@operation(VIEW, ok=CoursePage, query=CourseQuery, tags=COURSES)
def list_courses(query: CourseQuery) -> CoursePage:
    """The catalogue the caller may use: their units' courses and those of the units above them."""
    stmt = services.visible_courses(current_user, VIEW)
    if query.category is not None:
        stmt = stmt.where(Course.category == query.category.value)
    if text := (query.q or "").strip():
        stmt = stmt.where(registry.search_condition(text, Course.name_folded))
    return page_of(stmt.order_by(Course.sort_key, Course.id), query, CoursePage)


@bp.get("/courses/<int:course_id>")
@operation(VIEW, ok=CourseOut, tags=COURSES)
def get_course(course_id: int) -> CourseOut:
    """One course of your scope: its category, planned hours, completion rule and the IT modules it grants."""
    course = db.session.scalar(services.visible_courses(current_user, VIEW).where(Course.id == course_id))
    if course is None:
        abort(404)
    return CourseOut.model_validate(course)


@bp.post("/courses")
@operation(MANAGE, ok=CourseOut, status=201, json=CourseIn, tags=COURSES, idempotent=True)
@idempotent
def create_course(json: CourseIn) -> Any:
    """A catalogue entry of a unit of the caller's scope (its code is unique)."""
    unit = registry.get_in_scope(AdminUnit, json.unit_id, current_user, MANAGE)
    assert unit is not None  # the schema checked it
    try:
        course = services.create_course(
            unit=unit,
            code=json.code,
            name=json.name,
            category=json.category.value,
            planned_hours=json.planned_hours,
            min_attendance_share=json.min_attendance_share if json.min_attendance_share is not None else Decimal("0.8"),
            requires_assessment=bool(json.requires_assessment),
            description=json.description,
            module_codes=json.module_codes or [],
        )
    except CourseError as exc:
        return _refused(exc)
    location = url_for("api.get_course", course_id=course.id)
    return CourseOut.model_validate(course), 201, {"Location": location}


# --- classes -------------------------------------------------------------------------------------------------

CLASSES = ["classes"]


@bp.get("/classes")
@operation(VIEW, ok=ClassPage, query=ClassQuery, tags=CLASSES)
def list_classes(query: ClassQuery) -> ClassPage:
    """Classes of the caller's communes, newest first; ``from``/``to``: those that run during that period."""
    stmt = services.classes_in_scope(current_user, VIEW)
    if query.clc_id is not None:
        stmt = stmt.where(CourseClass.clc_id == query.clc_id)
    if query.course_id is not None:
        stmt = stmt.where(CourseClass.course_id == query.course_id)
    if query.from_ is not None:
        stmt = stmt.where(CourseClass.ends_on >= query.from_)
    if query.to is not None:
        stmt = stmt.where(CourseClass.starts_on <= query.to)
    return page_of(stmt.order_by(CourseClass.starts_on.desc(), CourseClass.id.desc()), query, ClassPage)


@bp.get("/classes/<int:class_id>")
@_scoped(VIEW)
@operation(VIEW, ok=ClassDetail, tags=CLASSES)
def get_class(class_id: int) -> ClassDetail:
    """A class with its instructors and its counts of learners and sessions."""
    course_class = _class(class_id)
    instructors = [
        InstructorOut(person_id=person_id, full_name=full_name, role=role)
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
            func.count().filter(
                ClassSession.status == SessionStatus.SCHEDULED,
                ClassSession.starts_at <= now,
                ~exists().where(Attendance.session_id == ClassSession.id),
            ),
        ).where(ClassSession.class_id == class_id)
    ).one()
    counts = ClassCounts(
        enrolled=enrolments.get(EnrolmentStatus.ENROLLED.value, 0),
        waitlisted=enrolments.get(EnrolmentStatus.WAITLISTED.value, 0),
        withdrawn=enrolments.get(EnrolmentStatus.WITHDRAWN.value, 0),
        seats_left=max(course_class.capacity - enrolments.get(EnrolmentStatus.ENROLLED.value, 0), 0),
        sessions_scheduled=sessions[0],
        sessions_cancelled=sessions[1],
        sessions_held=sessions[2],
        sessions_without_roll_call=sessions[3],
    )
    return ClassDetail(**ClassOut.model_validate(course_class).model_dump(), instructors=instructors, counts=counts)


@bp.post("/classes")
@operation(MANAGE, ok=ClassOut, status=201, json=ClassIn, tags=CLASSES, idempotent=True, extra=CONFLICT)
@idempotent
def create_class(json: ClassIn) -> Any:
    """A class of a course at a centre of the caller's scope, with its instructors."""
    course = db.session.scalar(services.visible_courses(current_user, MANAGE).where(Course.id == json.course_id))
    clc = registry.get_in_scope(Clc, json.clc_id, current_user, MANAGE)
    assert course is not None  # the schema checked both
    assert clc is not None
    room = _room(json.room_id, clc.id)
    instructors = _instructors(clc.commune_id, json.instructor_ids) if json.instructor_ids else []
    try:
        course_class = services.create_class(
            course=course,
            clc=clc,
            name=json.name,
            capacity=json.capacity,
            starts_on=json.starts_on,
            ends_on=json.ends_on,
            room=room,
            target_group=json.target_group.value,
            instructors=instructors,
        )
    except CourseError as exc:
        return _refused(exc)
    location = url_for("api.get_class", class_id=course_class.id)
    return ClassOut.model_validate(course_class), 201, {"Location": location}


@bp.patch("/classes/<int:class_id>")
@_scoped(MANAGE)
@operation(MANAGE, ok=ClassEdited, json=ClassEdit, tags=CLASSES)
def update_class(class_id: int, json: ClassEdit) -> Any:
    """Correct a class: its name, usual room (``null``: none), seats, dates and instructors; what is left out stays.
    Fewer seats than learners seated, or dates that leave a scheduled session outside, are refused with what to do;
    more seats move the waiting list up in its order (``promoted``). As the class's edit page does, under the class's
    row lock, audited."""
    course_class = _class(class_id, MANAGE)
    given = json.model_fields_set
    if not given:
        message = _("Give at least one of name, capacity, starts_on, ends_on, room_id, instructor_ids.")
        raise ApiValidationError([{"field": "", "message": message}])
    room = _room(json.room_id, course_class.clc_id) if "room_id" in given else course_class.room
    if json.instructor_ids is not None:
        instructors = _instructors(course_class.commune_id, json.instructor_ids)
    else:
        instructors = list(course_class.instructors)
    try:
        promoted = services.update_class(
            course_class,
            # None is "left out" (the schema refuses null for these): the class's own value stays.
            name=json.name if json.name is not None else course_class.name,
            capacity=json.capacity if json.capacity is not None else course_class.capacity,
            starts_on=json.starts_on if json.starts_on is not None else course_class.starts_on,
            ends_on=json.ends_on if json.ends_on is not None else course_class.ends_on,
            room=room,
            instructors=instructors,
        )
    except CourseError as exc:
        return _refused(exc)
    db.session.commit()
    return ClassEdited(
        **ClassOut.model_validate(course_class).model_dump(),
        instructor_ids=[p.id for p in course_class.instructors],
        promoted=promoted,
    )


# --- sessions ------------------------------------------------------------------------------------------------

SESSIONS = ["sessions"]


@bp.get("/classes/<int:class_id>/sessions")
@_scoped(VIEW)
@operation(VIEW, ok=SessionPage, query=SessionQuery, tags=SESSIONS)
def list_sessions(class_id: int, query: SessionQuery) -> SessionPage:
    """A class's sessions in time order (local times, +07:00), with their status."""
    _class(class_id)
    stmt = select(ClassSession).where(ClassSession.class_id == class_id)
    if query.status is not None:
        stmt = stmt.where(ClassSession.status == query.status.value)
    return page_of(stmt.order_by(ClassSession.starts_at, ClassSession.id), query, SessionPage)


@bp.post("/classes/<int:class_id>/sessions")
@_scoped(MANAGE)
@operation(MANAGE, ok=SessionList, status=201, json=SessionIn, tags=SESSIONS, idempotent=True, extra=CONFLICT)
@idempotent
def create_session(class_id: int, json: SessionIn) -> Any:
    """One session; a 409 lists the bookings of its room, instructors or learners it would clash with."""
    course_class = _class(class_id, MANAGE)
    room = _room(json.room_id, course_class.clc_id)
    try:
        sessions = services.schedule(course_class, [(json.starts_at, json.ends_at)], room=room, place=json.place)
    except CourseError as exc:
        return _refused(exc)
    return SessionList(items=[SessionOut.model_validate(s) for s in sessions]), 201


@bp.post("/classes/<int:class_id>/sessions/recurring")
@_scoped(MANAGE)
@operation(MANAGE, ok=SessionList, status=201, json=RecurrenceIn, tags=SESSIONS, idempotent=True, extra=CONFLICT)
@idempotent
def create_recurring_sessions(class_id: int, json: RecurrenceIn) -> Any:
    """Sessions on weekdays every ``every_weeks`` weeks, ``until`` a day or ``count`` times, skipping the commune's
    holidays; all or none."""
    course_class = _class(class_id, MANAGE)
    room = _room(json.room_id, course_class.clc_id)
    rule = Recurrence(
        first_day=json.first_day,
        weekdays=frozenset(json.weekdays),
        start=json.start,
        end=json.end,
        every_weeks=json.every_weeks or 1,
        until=json.until,
        count=json.count,
    )
    try:
        sessions = services.schedule_recurring(course_class, rule, room=room, place=json.place)
    except CourseError as exc:
        return _refused(exc)
    return SessionList(items=[SessionOut.model_validate(s) for s in sessions]), 201


@bp.get("/sessions/<int:session_id>")
@_scoped(VIEW)
@operation(VIEW, ok=SessionOut, tags=SESSIONS)
def get_session(session_id: int) -> SessionOut:
    """One session: when and where (local times, +07:00), its status and the class it belongs to."""
    return SessionOut.model_validate(_session(session_id))


@bp.patch("/sessions/<int:session_id>")
@_scoped(MANAGE)
@operation(MANAGE, ok=SessionOut, json=SessionMove, tags=SESSIONS, extra=CONFLICT)
def reschedule_session(session_id: int, json: SessionMove) -> Any:
    """Move a session (``starts_at`` alone keeps its length) or change its room."""
    session = _session(session_id, MANAGE)
    if not json.model_fields_set:
        raise ApiValidationError([{"field": "starts_at", "message": _("Give starts_at, ends_at or room_id.")}])
    room = _room(json.room_id, session.course_class.clc_id)
    starts_at, ends_at = json.starts_at, json.ends_at
    if starts_at is not None and ends_at is None:  # moved, same length
        ends_at = starts_at + (session.ends_at - session.starts_at)
    try:
        services.reschedule(session, starts_at or session.starts_at, ends_at or session.ends_at, room=room)
    except CourseError as exc:
        return _refused(exc)
    db.session.commit()
    return SessionOut.model_validate(session)


@bp.post("/sessions/<int:session_id>/cancel")
@_scoped(MANAGE)
@operation(
    MANAGE,
    ok=CancelOut,
    json=CancelIn,
    query=DryRunQuery,
    tags=SESSIONS,
    idempotent=True,
    extra={409: CancelProblem},
)
@idempotent
def cancel_session(session_id: int, json: CancelIn, query: DryRunQuery) -> Any:
    """Cancel a session, with the reason learners are told. A session already held (it has marks, or cancelling it
    would revoke certificates or complete learners) is cancelled only as previewed: first ``dry_run=true`` (what it
    would do: the marks that stop counting, the certificates revoked; nothing written), then the cancel with that
    answer's ``preview_digest``. A digest that no longer matches (a mark or a certificate since) is a 409 with the new
    preview."""
    session = _session(session_id, MANAGE)
    if query.dry_run:
        if session.status == SessionStatus.CANCELLED:
            return _refused(CourseError(_("the session is already cancelled"), "status"))
        preview = services.preview_cancel(session)  # in a savepoint rolled back: nothing written, no lock held
        db.session.refresh(session)
        return CancelOut(
            **SessionOut.model_validate(session).model_dump(),
            dry_run=True,
            consequences=CancelConsequences.of(preview),
        )
    try:
        done = services.cancel_confirmed(session, json.reason, confirmed=json.preview_digest)
    except services.CancelNotConfirmed as exc:
        db.session.rollback()  # the session's row lock goes with it
        if not exc.stale:
            message = _(
                "This session was held (%(n)s attendance marks): see what cancelling it does with dry_run=true, then "
                "send that answer's preview_digest to confirm.",
                n=exc.preview.marks,
            )
            raise ApiValidationError([{"field": "preview_digest", "message": message}], message) from None
        return stale_preview("preview_digest", str(exc), CancelConsequences.of(exc.preview))
    except CourseError as exc:  # already cancelled: a retry with the same Idempotency-Key is answered as before
        return _refused(exc)
    return CancelOut(**SessionOut.model_validate(session).model_dump(), consequences=CancelConsequences.of(done))


# --- enrolments ----------------------------------------------------------------------------------------------

ENROLMENTS = ["enrolments"]


@bp.get("/classes/<int:class_id>/enrolments")
@_scoped(VIEW)
@operation(VIEW, ok=EnrolmentPage, query=EnrolmentQuery, tags=ENROLMENTS)
def list_enrolments(class_id: int, query: EnrolmentQuery) -> EnrolmentPage:
    """A class's enrolments: each learner, the status, when enrolled or withdrawn, and the assessment result."""
    _class(class_id)
    stmt = (
        select(Enrolment)
        .join(Person, Person.id == Enrolment.person_id)
        .options(contains_eager(Enrolment.person))
        .where(Enrolment.class_id == class_id)
    )
    if query.status is not None:
        stmt = stmt.where(Enrolment.status == query.status.value)
    return page_of(stmt.order_by(Person.sort_key, Person.id), query, EnrolmentPage)


@bp.post("/classes/<int:class_id>/enrolments")
@_scoped(MANAGE)
@operation(MANAGE, ok=EnrolmentResult, json=EnrolIn, tags=ENROLMENTS, idempotent=True)
@idempotent
def create_enrolments(class_id: int, json: EnrolIn) -> Any:
    """One learner (``person_id``), a list (``person_ids``, enrolled in that order), or everyone of a village, a
    household or an association role of the class's commune; with ``dry_run``, what it would do, nothing written."""
    course_class = _class(class_id, MANAGE)
    chosen = [name for name in ENROL_SELECTORS if getattr(json, name) is not None]
    if len(chosen) != 1:
        field = chosen[1] if len(chosen) > 1 else "person_ids"
        message = _("Give exactly one of %(fields)s.", fields=", ".join(ENROL_SELECTORS))
        raise ApiValidationError([{"field": field, "message": message}])
    selector = chosen[0]
    if selector == "person_id":
        assert json.person_id is not None
        person_ids = [json.person_id]
    elif selector == "person_ids":
        person_ids = list(json.person_ids or [])
    else:
        person_ids = services.people_for_bulk_enrolment(
            course_class,
            village_id=json.village_id,
            household_id=json.household_id,
            association_role=json.association_role.value if json.association_role else None,
        )
        if not person_ids:
            raise ApiValidationError([{"field": selector, "message": _("Nobody of the class's commune matches.")}])
    try:
        if json.dry_run:
            # The enrolment itself, rolled back: the preview is what the same request would do, by construction.
            savepoint = db.session.begin_nested()
            try:
                result = services.enrol(course_class, person_ids)
            finally:
                savepoint.rollback()
        else:
            result = services.enrol(course_class, person_ids)
    except CourseError as exc:
        indexes = {pid: i for i, pid in enumerate(person_ids)} if selector == "person_ids" else None
        if selector == "person_id":
            exc.field = "person_id"
            exc.details = [{"message": f"person {d['person_id']}: {d['message']}"} for d in exc.details]
        return _refused(exc, indexes=indexes)
    return EnrolmentResult(
        class_id=course_class.id,
        enrolled=result.enrolled,
        waitlisted=result.waitlisted,
        already=result.already,
        dry_run=json.dry_run,
    )


@bp.delete("/classes/<int:class_id>/enrolments/<int:person_id>")
@_scoped(MANAGE)
@operation(MANAGE, ok=WithdrawalOut, tags=ENROLMENTS)
def withdraw_enrolment(class_id: int, person_id: int) -> Any:
    """Withdraw a learner; the first of the waiting list takes the seat."""
    course_class = _class(class_id, MANAGE)
    try:
        promoted = services.withdraw(course_class, person_id)
    except CourseError as exc:
        return _refused(exc)
    db.session.commit()
    return WithdrawalOut(class_id=class_id, person_id=person_id, status="withdrawn", promoted=promoted)


@bp.put("/classes/<int:class_id>/enrolments/<int:person_id>/assessment")
@_scoped(RECORD)
@operation(RECORD, ok=FinalAssessmentOut, json=FinalAssessmentIn, tags=ENROLMENTS)
def record_assessment(class_id: int, person_id: int, json: FinalAssessmentIn) -> Any:
    """A seated learner's final assessment (courses that require one), as the class page records it: passed, not
    passed, or null (not assessed yet). The completion task then issues the certificate, or revokes it after a change
    to not passed."""
    course_class = _class(class_id, RECORD)
    try:
        before = services.record_assessment(course_class, person_id, json.passed)
    except CourseError as exc:
        return _refused(exc)
    db.session.commit()
    return FinalAssessmentOut(class_id=class_id, person_id=person_id, passed=json.passed, before=before)


# --- attendance ----------------------------------------------------------------------------------------------

ATTENDANCE = ["attendance"]


@bp.post("/sessions/<int:session_id>/attendance")
@_scoped(RECORD, for_update=True)
@operation(RECORD, ok=AttendanceResult, json=AttendanceIn, tags=ATTENDANCE, idempotent=True)
@idempotent(claim_in_view=True)
def record_attendance(session_id: int, json: AttendanceIn) -> Any:
    """A batch of marks for one session, from a phone that may have been offline: all or nothing, the latest
    ``recorded_at`` wins, and a constant number of statements whatever the class size."""
    session = _session(session_id, RECORD, for_update=True)  # found, scoped and locked in one statement
    marks = [
        Mark(
            m.person_id,
            m.status,
            m.recorded_at.astimezone(UTC).replace(tzinfo=None),
            m.client_mark_id or None,
            json.device,
        )
        for m in json.marks
    ]
    try:
        # The batch's audit event ("attendance.record", with the counts) and its answer under the Idempotency-Key
        # are written with the marks (one statement on PostgreSQL, ADR 28).
        result = services.record_attendance(
            session,
            marks,
            user_id=current_user.id,
            locked=True,
            event={"device": json.device},
            answer_into=idempotency.claimed(),
            claim=idempotency.pending_claim(),  # PostgreSQL: the key's claim goes with the batch's read
        )
    except CourseError as exc:
        return _refused(exc)
    return AttendanceResult(
        session_id=session.id, created=result.created, updated=result.updated, unchanged=result.unchanged
    )


@bp.get("/sessions/<int:session_id>/attendance")
@_scoped(VIEW)
@operation(VIEW, ok=MarkPage, query=PageQuery, tags=ATTENDANCE)
def list_attendance(session_id: int, query: PageQuery) -> MarkPage:
    """The marks of a session: one per learner, the latest by device time, with the device and when it arrived."""
    _session(session_id)
    stmt = (
        select(Attendance)
        .join(Person, Person.id == Attendance.person_id)
        .where(Attendance.session_id == session_id)
        .order_by(Person.sort_key, Person.id)
    )
    return page_of(stmt, query, MarkPage)


def _sheet_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The sheet's problems (both languages, as import reports keep them) in the caller's language."""
    vietnamese = formatting.current_locale() == "vi"
    return [
        {
            "field": "file",
            "row": e.get("row"),
            "column": e.get("column"),
            "header": e.get("header") or None,
            "message": e["message_vi"] if vietnamese else e["message"],
        }
        for e in errors
    ]


def _sheet_preview(course_class: CourseClass, result: sheet_import.Preview, token: str | None) -> SheetPreviewOut:
    preview = result.as_json()
    preview["refused"] = _sheet_errors(preview["refused"])
    return SheetPreviewOut(class_id=course_class.id, can_apply=token is not None, preview_token=token, preview=preview)


@bp.post("/classes/<int:class_id>/attendance-sheet")
@_scoped(RECORD)
@operation(RECORD, ok=SheetPreviewOut, form=SheetForm, tags=ATTENDANCE, errors=(413,), extra={422: SheetProblem})
def preview_attendance_sheet(class_id: int, form: SheetForm) -> Any:
    """Upload a paper attendance sheet (multipart ``file``), as the class's import page does: checked whole, and
    answered with what it would write — new and changed marks, refused cells, the certificates it would revoke and
    the learners it would complete. Nothing is written: confirm with the ``preview_token`` (valid a day, for you)."""
    course_class = _class(class_id, RECORD)
    try:
        parsed = sheet_import.check_sheet(
            course_class, form.file.read(sheet_import.MAX_BYTES + 1), form.file.filename or "sheet.xlsx"
        )
    except sheet_import.SheetRejected as exc:
        db.session.rollback()
        message = _("%(n)s problem(s) in the sheet; nothing was applied.", n=exc.count)
        return problem(422, "Unprocessable Entity", message, _sheet_errors(exc.errors))
    result = sheet_import.preview(course_class, parsed)
    if result.error_count:  # cells refused: the page shows them (422); nothing can be applied until they are fixed
        db.session.rollback()
        message = _("%(n)s problem(s) in the sheet; nothing was applied.", n=result.error_count)
        preview = _sheet_preview(course_class, result, None)
        return problem(
            422,
            "Unprocessable Entity",
            message,
            preview.preview["refused"],
            preview=preview.model_dump(mode="json"),
        )
    token = None
    if result.can_apply:
        token = sheet_import.store_preview(
            course_class, parsed, result, filename=form.file.filename or "sheet.xlsx", user_id=current_user.id
        )
        db.session.commit()
    else:
        db.session.rollback()
    return _sheet_preview(course_class, result, token)


@bp.post("/classes/<int:class_id>/attendance-sheet/confirm")
@_scoped(RECORD)
@operation(
    RECORD,
    ok=SheetAppliedOut,
    json=SheetConfirmIn,
    tags=ATTENDANCE,
    extra={409: SheetProblem, 422: SheetProblem},
)
def confirm_attendance_sheet(class_id: int, json: SheetConfirmIn) -> Any:
    """Write a previewed sheet exactly as previewed (the class's row locked, the preview worked out again): if the
    class's attendance changed since (a mark from a phone, a session cancelled), nothing is written and the 409 carries
    the new preview and its token. Completions are recomputed at once; certificates the preview listed are revoked."""
    course_class = _class(class_id, RECORD)
    try:
        summary = sheet_import.confirm(course_class, json.preview_token, user_id=current_user.id)
    except sheet_import.PreviewNotFound:
        db.session.rollback()
        message = _(
            "This preview is no longer available (applied already, or older than a day). Upload the sheet again."
        )
        raise ApiValidationError([{"field": "preview_token", "message": message}], message) from None
    except sheet_import.PreviewOutdated as outdated:
        db.session.commit()  # the new preview is kept for its own confirmation; nothing else was written
        message = _(
            "The attendance of this class changed after your preview, so nothing was written. "
            "Here is what the sheet would do now: check it and confirm again."
        )
        return stale_preview("preview_token", message, _sheet_preview(course_class, outdated.preview, outdated.token))
    except sheet_import.SheetRejected as exc:
        db.session.rollback()
        return problem(422, "Unprocessable Entity", str(exc), _sheet_errors(exc.errors))
    db.session.commit()
    return SheetAppliedOut(class_id=class_id, **dataclasses.asdict(summary))


# --- completions and certificates ----------------------------------------------------------------------------


@bp.get("/classes/<int:class_id>/completions")
@_scoped(VIEW)
@operation(VIEW, ok=CompletionPage, query=PageQuery, tags=["completions"])
def list_completions(class_id: int, query: PageQuery) -> CompletionPage:
    """The learners who completed the class, with their certificates."""
    _class(class_id)
    stmt = (
        select(LearningRecord)
        .join(Person, Person.id == LearningRecord.person_id)
        .where(LearningRecord.class_id == class_id, LearningRecord.kind.in_(COMPLETION_KINDS))
        .order_by(Person.sort_key, Person.id)
    )
    page = page_of(stmt, query, CompletionPage)
    person_ids = [item.person_id for item in page.items]
    if person_ids:  # the page's names and certificates, two queries whatever its size
        names = dict(
            iter(db.session.execute(select(Person.id, Person.full_name).where(Person.id.in_(person_ids))).tuples())
        )
        certificates = {
            c.person_id: c
            for c in db.session.scalars(
                select(Certificate).where(Certificate.class_id == class_id, Certificate.person_id.in_(person_ids))
            )
        }
        for item in page.items:
            item.full_name = names.get(item.person_id)
            certificate = certificates.get(item.person_id)
            if certificate is not None:
                item.certificate = CertificateRef(
                    code=certificate.code, issued_on=certificate.issued_on, revoked=certificate.revoked_at is not None
                )
    return page


# The same budget as the public verification page (same scope): enough for people, too little to guess codes.


@bp.get("/certificates/<code>")
@verify_limit
@operation(None, public=True, ok=CompletionCertificateCheck, tags=["certificates"], errors=(404, 429))
def verify_certificate(code: str) -> Any:
    """Public: anyone holding a certificate's code can check it. The minimum of personal data: the learner's name
    with family and middle names as initials; never a birth date, an ID number or an address."""
    certificate = services.find_certificate(code) if len(code) <= 40 else None
    if certificate is None:
        abort(404, description=_("No certificate has this code."))
    course_class = certificate.course_class
    answer = CompletionCertificateCheck.model_validate(
        {
            "code": certificate.code,
            "valid": certificate.revoked_at is None,
            "status": "valid" if certificate.revoked_at is None else "revoked",
            "issued_on": certificate.issued_on,
            "revoked_on": certificate.revoked_at.date() if certificate.revoked_at else None,
            "learner": initials_name(certificate.person.full_name),
            "course": course_class.course.name,
            "class": course_class.name,
            "centre": course_class.clc.name,
        }
    )
    return answer, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
