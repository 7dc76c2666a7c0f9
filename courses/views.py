"""Pages of the class programme: catalogue, classes, schedules, enrolment, timetables and the attendance sheet.

Each view loads (404 when the object is missing *or* outside the user's scope), authorises, validates the form,
calls one service, commits once, flashes and redirects. A refused operation (``CourseError``) is shown on the
field it names, with its per-item details.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from wtforms import Form
from wtforms.fields.choices import SelectChoice

from courses import bp, it_skills, queries, services
from courses.forms import (
    ASSESSMENT_RESULT_NAMES,
    CATEGORY_NAMES,
    ENROLMENT_STATUS_NAMES,
    RESOURCE_NAMES,
    TARGET_GROUP_NAMES,
    WEEKDAY_NAMES,
    WEEKDAY_SHORT,
    AssessmentForm,
    AttendanceForm,
    BulkEnrolForm,
    CancelForm,
    ClassForm,
    CourseForm,
    CourseRuleForm,
    EnrolForm,
    RecurringForm,
    RescheduleForm,
    SingleSessionForm,
    WithdrawForm,
)
from courses.models import ClassSession, Course, CourseClass, Room, SessionStatus, class_instructor
from courses.scheduling import Recurrence, ScheduleError, check_within_class
from lms.auth.decorators import permission_required
from lms.auth.permissions import Permission, can
from lms.core import formatting
from lms.core.numbers import whole_number
from lms.extensions import db, utcnow
from lms.registry.labels import ASSOCIATION_ROLE_NAMES
from lms.registry.models import AdminUnit, AssociationRole, Clc, Household, Person
from lms.registry.services import search_condition

VIEW = Permission.COURSES_VIEW
MANAGE = Permission.COURSES_MANAGE
RECORD = Permission.ATTENDANCE_RECORD

# Where a service's ``CourseError.field`` is shown on each form.
SINGLE_FIELDS = {"starts_at": "day", "ends_at": "end", "room_id": "room"}
RECURRING_FIELDS = {"starts_at": "first_day", "ends_at": "end", "room_id": "room"}
RESCHEDULE_FIELDS = {"starts_at": "day", "ends_at": "end", "room_id": "room", "status": "day"}
CLASS_FIELDS = {"room_id": "room"}
COURSE_FIELDS = {"min_attendance_share": "min_attendance_percent"}
ENROL_FIELDS = {"person_ids": "person_ids"}
BULK_FIELDS = {"person_ids": "village", "village_id": "village"}


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "category_names": CATEGORY_NAMES,
        "target_group_names": TARGET_GROUP_NAMES,
        "enrolment_status_names": ENROLMENT_STATUS_NAMES,
        "resource_names": RESOURCE_NAMES,
        "weekday_names": WEEKDAY_NAMES,
        "weekday_short": WEEKDAY_SHORT,
        "assessment_result_names": ASSESSMENT_RESULT_NAMES,
    }


# --- helpers -------------------------------------------------------------------------------------------------


def _page_size() -> int:
    return current_app.config["PAGE_SIZE"]


def _class_or_404(class_id: int, permission: Permission = VIEW) -> CourseClass:
    course_class = services.get_class(class_id, current_user, permission)
    if course_class is None:
        abort(404)
    return course_class


def _session_or_404(session_id: int, permission: Permission = VIEW) -> ClassSession:
    session = services.get_session(session_id, current_user, permission)
    if session is None:
        abort(404)
    return session


def _course_or_404(course_id: int) -> Course:
    course = db.session.scalar(services.visible_courses(current_user, VIEW).where(Course.id == course_id))
    if course is None:
        abort(404)
    return course


def _commune(course_class: CourseClass) -> AdminUnit:
    commune = db.session.get(AdminUnit, course_class.commune_id)
    assert commune is not None
    return commune


def _refuse(form: Form, exc: services.CourseError, fields: dict[str, str]) -> None:
    """Put a service's refusal on the form field it names (or on the form when it names none of its fields)."""
    name = fields.get(exc.field, exc.field)
    field = getattr(form, name, None) if name else None
    message = str(exc)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, message]
    else:
        form.form_errors.append(message)


def _names_line(person_ids: list[int], names: dict[int, str], most: int = 12) -> str:
    shown = ", ".join(names.get(i, f"#{i}") for i in person_ids[:most])
    if len(person_ids) > most:
        shown += " " + _("and %(n)s more", n=len(person_ids) - most)
    return shown


def _detail_lines(exc: services.CourseError) -> list[str]:
    """The per-item problems of a refusal, with people named rather than numbered."""
    names = queries.names_of(d["person_id"] for d in exc.details if "person_id" in d)
    lines = []
    for d in exc.details:
        if "resource" in d:
            continue  # conflicts are shown by describe_conflicts
        who = names.get(int(d["person_id"]), "") if "person_id" in d else ""
        lines.append(f"{who}: {d.get('message', '')}" if who else str(d.get("message", d)))
    return lines


def _room_choices(rooms: list[Room], course_class: CourseClass | None = None) -> list[SelectChoice]:
    choices = [SelectChoice(r.id, r.name) for r in rooms]
    if not rooms or (course_class is not None and course_class.room_id is None):
        choices.insert(0, SelectChoice(0, _("No room (outdoors or elsewhere)")))
    return choices


def _room(rooms: list[Room], room_id: int | None) -> Room | None:
    return next((r for r in rooms if r.id == room_id), None)


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _week_arg() -> date:
    """The week asked for (its Monday), this week when none or one outside a class's days (31/12/9999 overflowed)."""
    try:
        day = date.fromisoformat(request.args.get("week", ""))
    except ValueError:
        day = services.local_now().date()
    first, last = services.CLASS_DAYS
    return _monday(day if first <= day <= last else services.local_now().date())


def _status_name(status: Any) -> str:
    from flask_babel import get_locale

    return status.name_vi if str(get_locale()) == "vi" else status.name_en


# --- catalogue -----------------------------------------------------------------------------------------------


def _unit_label(unit: AdminUnit) -> str:
    """A unit's name, with the day it ended for a commune dissolved in 2025 (as the other pickers show it)."""
    if unit.valid_to is None:
        return unit.full_name
    return f"{unit.full_name} ({_('until %(day)s', day=formatting.day(unit.valid_to))})"


@bp.get("/")
@permission_required(VIEW)
def catalogue():
    query = request.args.get("q", "").strip()
    category = request.args.get("category", "")
    stmt = (
        services.visible_courses(current_user, VIEW)
        .options(selectinload(Course.unit))
        .order_by(Course.sort_key, Course.id)
    )
    if query:
        stmt = stmt.where(search_condition(query, Course.name_folded) | (Course.code == query.upper()))
    if category in CATEGORY_NAMES:
        stmt = stmt.where(Course.category == category)
    courses = db.paginate(stmt, per_page=_page_size())
    return render_template("courses/catalogue.html", courses=courses, query=query, category=category)


@bp.route("/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new_course():
    form = CourseForm()
    units = queries.scope_units(current_user, MANAGE)
    form.unit.choices = [SelectChoice(u.id, _unit_label(u)) for u in units]
    if form.validate_on_submit():
        unit = next(u for u in units if u.id == form.unit.data)
        try:
            course = services.create_course(
                unit=unit,
                code=(form.code.data or "").strip().upper(),
                name=form.name.data or "",
                category=form.category.data or "",
                planned_hours=Decimal(form.planned_hours.data or 0),
                min_attendance_share=Decimal(form.min_attendance_percent.data or 0) / 100,
                requires_assessment=bool(form.requires_assessment.data),
                description=form.description.data or "",
                module_codes=form.module_list(),
            )
        except services.CourseError as exc:
            db.session.rollback()
            _refuse(form, exc, COURSE_FIELDS)
        else:
            db.session.commit()
            flash(_("Course %(name)s added to the catalogue.", name=course.name), "success")
            return redirect(url_for("courses.course", course_id=course.id))
    return render_template("courses/course_form.html", form=form)


@bp.get("/<int:course_id>")
@permission_required(VIEW)
def course(course_id: int):
    course = _course_or_404(course_id)
    stmt = (
        services.classes_in_scope(current_user, VIEW)
        .where(CourseClass.course_id == course.id)
        .options(selectinload(CourseClass.clc))
        .order_by(CourseClass.starts_on.desc(), CourseClass.id.desc())
    )
    classes = db.paginate(stmt, per_page=_page_size())
    return render_template(
        "courses/course.html",
        course=course,
        classes=classes,
        seats=queries.seat_counts([c.id for c in classes.items]),
        modules=it_skills.module_labels(course.module_codes, formatting.current_locale()),
        may_edit=can(current_user, MANAGE, course.unit),
    )


@bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def edit_course(course_id: int):
    """The course's minimum attendance, for a manager of the unit whose catalogue holds it (a commune's manager sees
    the province's shared courses but does not change them)."""
    course = _course_or_404(course_id)
    if not can(current_user, MANAGE, course.unit):
        abort(404)
    form = CourseRuleForm()
    confirm: dict[str, Any] | None = None
    if request.method == "GET":
        form.min_attendance_percent.data = round(course.min_attendance_share * 100)
    if form.validate_on_submit():
        share = Decimal(form.min_attendance_percent.data or 0) / 100
        try:
            if share != course.min_attendance_share and request.form.get("confirmed") != str(share):
                # A new share may complete many learners of every class of the course, and give them certificates:
                # what it would do is shown first, and done only once confirmed.
                classes, completing = services.min_attendance_effect(course, share)
                confirm = {"share": str(share), "classes": classes, "completing": completing}
                changed = None
            else:
                changed = services.set_min_attendance(course, share)
        except services.CourseError as exc:
            db.session.rollback()
            _refuse(form, exc, COURSE_FIELDS)
        else:
            if changed is None:
                return render_template("courses/course_edit.html", form=form, course=course, confirm=confirm)
            db.session.commit()
            if changed:
                flash(
                    _(
                        "Minimum attendance of %(name)s set to %(p)s %%: its classes' completions are being"
                        " recomputed.",
                        name=course.name,
                        p=form.min_attendance_percent.data,
                    ),
                    "success",
                )
            return redirect(url_for("courses.course", course_id=course.id))
    return render_template("courses/course_edit.html", form=form, course=course, confirm=confirm)


# --- classes -------------------------------------------------------------------------------------------------


@bp.get("/classes")
@permission_required(VIEW)
def classes():
    clc_id = request.args.get("clc_id", type=whole_number)
    course_id = request.args.get("course_id", type=whole_number)
    when = request.args.get("when", "")
    today = services.local_now().date()
    stmt = services.classes_in_scope(current_user, VIEW).options(
        selectinload(CourseClass.clc), selectinload(CourseClass.room)
    )
    # The classes the user teaches (an instructor, or a manager who also teaches): marked, and a filter of their own.
    person_id = current_user.person_id
    taught = select(class_instructor.c.class_id).where(class_instructor.c.person_id == person_id)
    teaches = person_id is not None and bool(db.session.scalar(select(taught.exists())))
    mine = teaches and request.args.get("mine") == "1"
    if mine:
        stmt = stmt.where(CourseClass.id.in_(taught))
    if clc_id:
        stmt = stmt.where(CourseClass.clc_id == clc_id)
    if course_id:
        stmt = stmt.where(CourseClass.course_id == course_id)
    if when == "current":
        stmt = stmt.where(CourseClass.ends_on >= today).order_by(CourseClass.starts_on, CourseClass.id)
    elif when == "past":
        stmt = stmt.where(CourseClass.ends_on < today).order_by(CourseClass.ends_on.desc(), CourseClass.id.desc())
    else:
        stmt = stmt.order_by(CourseClass.ends_on.desc(), CourseClass.starts_on.desc(), CourseClass.id.desc())
    page = db.paginate(stmt, per_page=_page_size())
    ids = [c.id for c in page.items]
    yours = set(db.session.scalars(taught.where(class_instructor.c.class_id.in_(ids)))) if teaches and ids else set()
    clcs = db.session.scalars(
        queries.clcs_in_scope(current_user, VIEW).options(selectinload(Clc.commune)).limit(1000)
    ).all()
    selected = next((c for c in clcs if c.id == clc_id), clcs[0] if len(clcs) == 1 else None)
    # Today's sessions follow the filters that say whose classes are shown: the centre, and "Classes I teach".
    day_scope = services.classes_in_scope(current_user, VIEW)
    if clc_id:
        day_scope = day_scope.where(CourseClass.clc_id == clc_id)
    if mine:
        day_scope = day_scope.where(CourseClass.id.in_(taught))
    return render_template(
        "courses/classes.html",
        todays_sessions=queries.sessions_on_day(day_scope, today, person_id=current_user.person_id),
        classes=page,
        seats=queries.seat_counts([c.id for c in page.items]),
        clcs=clcs,
        clc_id=clc_id,
        course_id=course_id,
        when=when,
        selected=selected,
        today=today,
        teaches=teaches,
        mine=mine,
        yours=yours,
    )


@bp.route("/classes/new", methods=["GET", "POST"])
@permission_required(MANAGE)
def new_class():
    clcs = db.session.scalars(queries.clcs_in_scope(current_user, MANAGE).limit(1000)).all()
    clc_id = request.args.get("clc_id", type=whole_number)
    if clc_id:
        clc = queries.get_clc(clc_id, current_user, MANAGE)
        if clc is None:
            abort(404)
    elif len(clcs) == 1:
        clc = clcs[0]
    else:
        # Several centres (or none): choose one first, so rooms and instructors are the centre's own.
        return render_template("courses/class_form.html", form=None, clc=None, clcs=clcs)
    commune = clc.commune
    rooms = queries.rooms_of(clc.id)
    courses = db.session.scalars(
        services.visible_courses(current_user, MANAGE)
        .where(Course.active)
        .order_by(Course.sort_key, Course.id)
        .limit(1000)
    ).all()
    form = ClassForm()
    form.course.choices = [SelectChoice(c.id, f"{c.name} ({c.code})") for c in courses]
    form.room.choices = _room_choices(rooms)
    if request.method == "GET":
        form.course.data = request.args.get("course_id", type=whole_number) or form.course.data
        form.room.data = rooms[0].id if rooms else 0
    if form.validate_on_submit():
        instructors = _instructors(form, commune)
        if instructors is not None:
            course = next(c for c in courses if c.id == form.course.data)
            try:
                course_class = services.create_class(
                    course=course,
                    clc=clc,
                    name=form.name.data or "",
                    capacity=form.capacity.data or 0,
                    starts_on=form.starts_on.data,
                    ends_on=form.ends_on.data,
                    room=_room(rooms, form.room.data),
                    target_group=form.target_group.data or "everyone",
                    instructors=instructors,
                )
            except services.CourseError as exc:
                db.session.rollback()
                _refuse(form, exc, CLASS_FIELDS)
            else:
                db.session.commit()
                flash(
                    _("Class %(name)s created. Now schedule its sessions and enrol learners.", name=course_class.name),
                    "success",
                )
                return redirect(url_for("courses.course_class", class_id=course_class.id))
    return _class_form_page(form, commune, clc=clc, clcs=clcs, courses=courses)


@bp.route("/classes/<int:class_id>/edit", methods=["GET", "POST"])
@permission_required(MANAGE)
def edit_class(class_id: int):
    """Correct a class: name, usual room, seats, dates, instructors (its course and target group stay)."""
    course_class = services.get_class(class_id, current_user, MANAGE)
    if course_class is None:
        abort(404)
    commune = _commune(course_class)
    rooms = queries.rooms_of(course_class.clc_id)
    form = ClassForm()
    del form.course
    del form.target_group
    form.room.choices = _room_choices(rooms, course_class)
    if request.method == "GET":
        form.name.data, form.capacity.data = course_class.name, course_class.capacity
        form.starts_on.data, form.ends_on.data = course_class.starts_on, course_class.ends_on
        form.room.data = course_class.room_id or 0
        form.instructors.data = [p.id for p in course_class.instructors]
    if form.validate_on_submit():
        instructors = _instructors(form, commune)
        if instructors is not None:
            try:
                promoted = services.update_class(
                    course_class,
                    name=form.name.data or "",
                    capacity=form.capacity.data or 0,
                    starts_on=form.starts_on.data,
                    ends_on=form.ends_on.data,
                    room=_room(rooms, form.room.data),
                    instructors=instructors,
                )
            except services.CourseError as exc:
                db.session.rollback()
                _refuse(form, exc, CLASS_FIELDS)
            else:
                db.session.commit()
                flash(_("Class %(name)s saved.", name=course_class.name), "success")
                if promoted:
                    flash(
                        _(
                            "%(n)s people from the waiting list took the new seats: %(names)s.",
                            n=len(promoted),
                            names=", ".join(queries.names_of(promoted)[p] for p in promoted),
                        ),
                        "info",
                    )
                return redirect(url_for("courses.course_class", class_id=course_class.id))
    return _class_form_page(
        form,
        commune,
        clc=course_class.clc,
        clcs=[course_class.clc],
        courses=[course_class.course],
        course_class=course_class,
    )


def _instructors(form: ClassForm, commune: AdminUnit) -> list[Person] | None:
    """The instructors chosen, all living in the commune; None when one does not (the field then says so)."""
    instructors = queries.people_in_commune(commune, form.instructors.data)
    if len(instructors) != len(form.instructors.data):
        form.instructors.errors.append(_("Choose people who live in the commune."))
        return None
    return instructors


def _class_form_page(form: ClassForm, commune: AdminUnit, **page: Any) -> str:
    """The class form (new or edit) with its instructor picker: the people chosen, and those the search finds."""
    find = request.args.get("find", "").strip()
    chosen = queries.people_choices(commune, only_ids=form.instructors.data, limit=100) if form.instructors.data else []
    suggestions = queries.people_choices(commune, query=find, limit=20)
    return render_template(
        "courses/class_form.html", form=form, chosen=chosen, suggestions=suggestions, find=find, **page
    )


def _unbound(submitted: bool) -> dict[str, Any]:
    """Form arguments: bound to the request when it submitted this form, else empty (the page's other forms)."""
    return {} if submitted else {"formdata": None}


def _single_form(course_class: CourseClass, rooms: list[Room], submitted: bool = False) -> SingleSessionForm:
    form = SingleSessionForm(prefix="single", **_unbound(submitted))
    form.room.choices = _room_choices(rooms, course_class)
    if not submitted:
        form.room.data = course_class.room_id or 0
    return form


def _recurring_form(course_class: CourseClass, rooms: list[Room], submitted: bool = False) -> RecurringForm:
    form = RecurringForm(prefix="rec", **_unbound(submitted))
    form.room.choices = _room_choices(rooms, course_class)
    if not submitted:
        form.room.data = course_class.room_id or 0
        form.first_day.data = course_class.starts_on
        form.until.data = course_class.ends_on
    return form


def _bulk_form(commune: AdminUnit, submitted: bool = False) -> BulkEnrolForm:
    form = BulkEnrolForm(prefix="bulk", **_unbound(submitted))
    form.village.choices = [SelectChoice(0, "—")] + [
        SelectChoice(v.id, v.full_name) for v in queries.villages_of(commune)
    ]
    form.association_role.choices = [SelectChoice("", "—")] + [
        SelectChoice(r.value, str(ASSOCIATION_ROLE_NAMES[r.value])) for r in AssociationRole
    ]
    return form


def _render_class(
    course_class: CourseClass,
    *,
    single: SingleSessionForm | None = None,
    recurring: RecurringForm | None = None,
    enrol: EnrolForm | None = None,
    bulk: BulkEnrolForm | None = None,
    conflicts: list | None = None,
    problems: list[str] | None = None,
    open_form: str = "",
    bulk_preview: services.BulkEnrolmentPreview | None = None,
    recurring_preview: dict[str, Any] | None = None,
):
    commune = _commune(course_class)
    can_manage = can(current_user, MANAGE, commune)
    can_record = can(current_user, RECORD, commune)
    rooms = queries.rooms_of(course_class.clc_id)
    sessions = queries.class_sessions(course_class.id)
    now = services.local_now()
    tally = services.attendance_tally(course_class.id, now)
    context: dict[str, Any] = {
        "course_class": course_class,
        "commune": commune,
        "can_manage": can_manage,
        "can_record": can_record,
        "sessions": sessions,
        "marks": queries.marks_per_session([s.id for s in sessions]),
        "now": now,
        "learners": queries.enrolments(course_class.id),
        "held": tally.held,
        "attended": tally.attended,
        "expected": tally.expected,
        "unrecorded": tally.unrecorded,
        "without_roll_call": [(s.id, s.starts_at) for s in services.sessions_without_roll_call(course_class.id, now)],
        "certificates": queries.certificates(course_class.id),
        "instructors": course_class.instructors,
        "conflicts": conflicts or [],
        "problems": problems or [],
        "open_form": open_form,
        "bulk_preview": bulk_preview,
        "recurring_preview": recurring_preview,
        "bulk_names": queries.names_of(
            [*bulk_preview.to_write, *bulk_preview.already, *bulk_preview.outside_group, *bulk_preview.outside_ages]
        )
        if bulk_preview
        else {},
    }
    if can_manage:
        enrol = enrol or EnrolForm(prefix="enrol", formdata=None)
        find = request.args.get("find", "").strip()
        context.update(
            single=single or _single_form(course_class, rooms),
            recurring=recurring or _recurring_form(course_class, rooms),
            enrol=enrol,
            bulk=bulk or _bulk_form(commune),
            find=find,
            chosen=queries.people_choices(commune, only_ids=enrol.person_ids.data, limit=100)
            if enrol.person_ids.data
            else [],
            suggestions=queries.people_choices(commune, query=find, exclude_class_id=course_class.id, limit=20),
        )
    return render_template("courses/class.html", **context)


@bp.get("/classes/<int:class_id>")
@permission_required(VIEW)
def course_class(class_id: int):
    course_class = _class_or_404(class_id)
    return _render_class(course_class, open_form="enrol" if request.args.get("find") else "")


def _schedule_refused(
    course_class: CourseClass, form: Form, exc: Exception, fields: dict[str, str], form_name: str, **forms: Any
):
    db.session.rollback()
    conflicts: list = []
    problems: list[str] = []
    if isinstance(exc, IntegrityError):
        form.form_errors.append(_("Another booking of this room was saved at the same moment. Try again."))
    elif isinstance(exc, services.CourseError) and any("resource" in d for d in exc.details):
        conflicts = queries.describe_conflicts(exc.details, current_user, VIEW)
    else:
        assert isinstance(exc, services.CourseError)
        _refuse(form, exc, fields)
        problems = _detail_lines(exc)
    return _render_class(course_class, conflicts=conflicts, problems=problems, open_form=form_name, **forms)


@bp.post("/classes/<int:class_id>/sessions")
@permission_required(MANAGE)
def schedule_session(class_id: int):
    course_class = _class_or_404(class_id, MANAGE)
    rooms = queries.rooms_of(course_class.clc_id)
    form = _single_form(course_class, rooms, submitted=True)
    if form.validate_on_submit():
        day, start, end = form.day.data, form.start.data, form.end.data
        try:
            services.schedule(
                course_class,
                [(datetime.combine(day, start), datetime.combine(day, end))],
                room=_room(rooms, form.room.data),
            )
        except (services.CourseError, IntegrityError) as exc:
            return _schedule_refused(course_class, form, exc, SINGLE_FIELDS, "single", single=form)
        db.session.commit()
        flash(_("Session scheduled on %(day)s.", day=day.strftime("%d/%m/%Y")), "success")
        return redirect(url_for("courses.course_class", class_id=course_class.id, _anchor="sessions"))
    if form.day.data and not form.day.errors:
        # A day outside the class's dates is said with the form's own errors (the times, say), not only once those
        # are corrected: the manager fixed one field per try.
        try:
            check_within_class(course_class, [(datetime.combine(form.day.data, time()),) * 2])
        except ScheduleError as exc:
            form.day.errors = [*form.day.errors, str(exc)]
    return _render_class(course_class, single=form, open_form="single")


@bp.post("/classes/<int:class_id>/sessions/recurring")
@permission_required(MANAGE)
def schedule_recurring(class_id: int):
    """A weekly series: first the dates it would give (holidays skipped, conflicts checked; nothing written), then
    the confirmation, which writes them only if the series worked out again is the one shown (its digest)."""
    course_class = _class_or_404(class_id, MANAGE)
    rooms = queries.rooms_of(course_class.clc_id)
    form = _recurring_form(course_class, rooms, submitted=True)
    if form.validate_on_submit():
        rule = Recurrence(
            first_day=form.first_day.data,
            weekdays=frozenset(form.weekdays.data or ()),
            start=form.start.data,
            end=form.end.data,
            every_weeks=form.every_weeks.data or 1,
            until=form.until.data,
            count=form.count.data,
        )
        room = _room(rooms, form.room.data)
        try:
            intervals, room_id = services.check_schedule(
                course_class, services.recurring_intervals(course_class, rule), room=room
            )
            digest = hashlib.sha256(repr((sorted(intervals), room_id)).encode()).hexdigest()[:32]
            confirmed = request.form.get("confirm")
            if confirmed != digest:
                if confirmed is not None:
                    form.form_errors.append(_("The sessions changed since you saw them: check them again."))
                skipped = services.skipped_holidays(course_class, rule, [start for start, _ in sorted(intervals)])
                preview = {
                    "starts": sorted(intervals),
                    "skipped": "; ".join(f"{name} {day:%d/%m/%Y}" for day, name in sorted(skipped.items())),
                    "skipped_n": len(skipped),
                    "digest": digest,
                }
                page = _render_class(course_class, recurring=form, open_form="recurring", recurring_preview=preview)
                return page, (409 if confirmed is not None else 200)
            sessions = services.schedule(course_class, intervals, room=room)
        except (services.CourseError, IntegrityError) as exc:
            return _schedule_refused(course_class, form, exc, RECURRING_FIELDS, "recurring", recurring=form)
        db.session.commit()
        flash(
            _(
                "%(n)s sessions scheduled, from %(first)s to %(last)s.",
                n=len(sessions),
                first=sessions[0].starts_at.strftime("%d/%m/%Y"),
                last=sessions[-1].starts_at.strftime("%d/%m/%Y"),
            ),
            "success",
        )
        skipped = services.skipped_holidays(course_class, rule, [s.starts_at for s in sessions])
        if skipped:
            days = "; ".join(f"{name} {day:%d/%m/%Y}" for day, name in sorted(skipped.items()))
            flash(_("No session on these holidays (%(n)s): %(days)s.", n=len(skipped), days=days), "info")
        return redirect(url_for("courses.course_class", class_id=course_class.id, _anchor="sessions"))
    return _render_class(course_class, recurring=form, open_form="recurring")


def _flash_enrolment(result: services.EnrolmentResult) -> None:
    names = queries.names_of(result.enrolled + result.waitlisted + result.already)
    if result.enrolled:
        flash(
            _("Enrolled (%(n)s): %(names)s.", n=len(result.enrolled), names=_names_line(result.enrolled, names)),
            "success",
        )
    if result.waitlisted:
        flash(
            _(
                "The class is full. On the waiting list (%(n)s): %(names)s.",
                n=len(result.waitlisted),
                names=_names_line(result.waitlisted, names),
            ),
            "warning",
        )
    if result.already:
        flash(
            _(
                "Already in the class (%(n)s): %(names)s.",
                n=len(result.already),
                names=_names_line(result.already, names),
            ),
            "info",
        )


@bp.post("/classes/<int:class_id>/enrol")
@permission_required(MANAGE)
def enrol(class_id: int):
    course_class = _class_or_404(class_id, MANAGE)
    form = EnrolForm(prefix="enrol")
    if form.validate_on_submit():
        people = queries.people_in_commune(_commune(course_class), form.person_ids.data)
        if len(people) != len(form.person_ids.data):
            form.person_ids.errors.append(_("Choose people who live in the commune."))
        else:
            try:
                result = services.enrol(course_class, [p.id for p in people])
            except services.CourseError as exc:
                db.session.rollback()
                _refuse(form, exc, ENROL_FIELDS)
                return _render_class(course_class, enrol=form, problems=_detail_lines(exc), open_form="enrol")
            db.session.commit()
            _flash_enrolment(result)
            return redirect(url_for("courses.course_class", class_id=course_class.id, _anchor="learners"))
    return _render_class(course_class, enrol=form, open_form="enrol")


@bp.post("/classes/<int:class_id>/enrol/bulk")
@permission_required(MANAGE)
def enrol_bulk(class_id: int):
    """A village, a household or an association role at once: first a preview (who would get a seat, who would
    wait, who is already in the class, who is left out and why; nothing written), then the confirmation, which
    enrols only if the preview worked out again is the one shown (its digest); else the new one is shown (409)."""
    course_class = _class_or_404(class_id, MANAGE)
    commune = _commune(course_class)
    form = _bulk_form(commune, submitted=True)
    if form.validate_on_submit():
        household_id = None
        if form.household.data:
            found = queries.find_households(commune, form.village.data or None, form.household.data)
            if len(found) != 1:
                form.household.errors.append(_household_problem(found))
                return _render_class(course_class, bulk=form, open_form="bulk")
            household_id = found[0].id
        try:
            preview = services.preview_bulk_enrolment(
                course_class,
                village_id=form.village.data or None,
                household_id=household_id,
                association_role=form.association_role.data or None,
                min_age=form.min_age.data,
                max_age=form.max_age.data,
            )
            if not preview.chosen:
                form.form_errors.append(_("Nobody matches this choice."))
                return _render_class(course_class, bulk=form, open_form="bulk")
            confirmed = request.form.get("confirm")
            if confirmed != preview.digest or not preview.to_write:
                stale = confirmed is not None
                if stale:
                    form.form_errors.append(
                        _("The list changed since you saw it (someone enrolled or withdrew): check it again.")
                    )
                page = _render_class(course_class, bulk=form, open_form="bulk", bulk_preview=preview)
                return page, (409 if stale else 200)
            result = services.enrol(course_class, preview.to_write)
        except services.CourseError as exc:
            db.session.rollback()
            _refuse(form, exc, BULK_FIELDS)
            return _render_class(course_class, bulk=form, problems=_detail_lines(exc), open_form="bulk")
        db.session.commit()
        _flash_enrolment(result)
        return redirect(url_for("courses.course_class", class_id=course_class.id, _anchor="learners"))
    return _render_class(course_class, bulk=form, open_form="bulk")


def _household_problem(found: list[Household]) -> str:
    if not found:
        return _("No household of the commune matches: type its number, its code or the head's name.")
    choices = "; ".join(f"{h.code} ({h.head.full_name})" if h.head else h.code for h in found[:5])
    return _("Several households match: %(choices)s. Type the number of the one you mean.", choices=choices)


@bp.post("/classes/<int:class_id>/withdraw")
@permission_required(MANAGE)
def withdraw(class_id: int):
    course_class = _class_or_404(class_id, MANAGE)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    person_id = int(form.person_id.data)
    try:
        promoted = services.withdraw(course_class, person_id)
    except services.CourseError as exc:
        db.session.rollback()
        message = str(exc)
        flash(f"{message[:1].upper()}{message[1:]}.", "danger")
    else:
        db.session.commit()
        names = queries.names_of([person_id, promoted] if promoted else [person_id])
        flash(_("%(name)s withdrawn from the class.", name=names.get(person_id, "")), "success")
        if promoted:
            flash(_("%(name)s moved from the waiting list to the free seat.", name=names.get(promoted, "")), "info")
    return redirect(url_for("courses.course_class", class_id=course_class.id, _anchor="learners"))


@bp.post("/classes/<int:class_id>/assessment")
@permission_required(RECORD)
def record_assessment(class_id: int):
    """A learner's final assessment (courses that require one): the manager or the instructor records it from the
    learner's row; the completion task then issues the certificate, or revokes it after a change to "not passed"."""
    course_class = _class_or_404(class_id, RECORD)
    form = AssessmentForm()
    if not form.validate_on_submit():
        abort(400)
    person_id = int(form.person_id.data)
    passed = {"passed": True, "failed": False, "none": None}[form.result.data]
    try:
        services.record_assessment(course_class, person_id, passed)
    except services.CourseError as exc:
        db.session.rollback()
        flash(str(exc), "danger")
    else:
        db.session.commit()
        name = queries.names_of([person_id]).get(person_id, "")
        flash(
            _(
                "Final assessment of %(name)s: %(result)s.",
                name=name,
                result=ASSESSMENT_RESULT_NAMES[form.result.data],
            ),
            "success",
        )
    return redirect(url_for("courses.course_class", class_id=course_class.id, _anchor=f"learner-{person_id}"))


@bp.get("/clcs/<int:clc_id>/people")
@permission_required(MANAGE)
def people(clc_id: int):
    """Search-as-you-type for the person pickers: people of the centre's commune, officers and members first."""
    clc = queries.get_clc(clc_id, current_user, MANAGE)
    if clc is None:
        abort(404)
    exclude = request.args.get("class_id", type=whole_number)
    if exclude is not None:
        course_class = services.get_class(exclude, current_user, MANAGE)
        exclude = course_class.id if course_class is not None and course_class.clc_id == clc.id else None
    choices = queries.people_choices(
        clc.commune, query=request.args.get("q", "")[:100], exclude_class_id=exclude, limit=20
    )
    return jsonify(items=[c.as_json(ASSOCIATION_ROLE_NAMES) for c in choices])


# --- sessions ------------------------------------------------------------------------------------------------


def _reschedule_form(session: ClassSession, rooms: list[Room], submitted: bool = False) -> RescheduleForm:
    form = RescheduleForm(prefix="move", **_unbound(submitted))
    form.room.choices = _room_choices(rooms, session.course_class if session.room_id is None else None)
    if not submitted:
        form.day.data, form.start.data = session.starts_at.date(), session.starts_at.time()
        form.end.data, form.room.data = session.ends_at.time(), session.room_id or 0
    return form


def _render_session(
    session: ClassSession,
    *,
    move: RescheduleForm | None = None,
    cancel: CancelForm | None = None,
    conflicts: list | None = None,
    cancel_preview: services.CancelPreview | None = None,
):
    course_class = session.course_class
    commune = _commune(course_class)
    rooms = queries.rooms_of(course_class.clc_id)
    roll = queries.roll_call(session)
    statuses = services.attendance_statuses()
    return render_template(
        "courses/session.html",
        session=session,
        course_class=course_class,
        roll=roll,
        statuses={code: _status_name(s) for code, s in statuses.items()},
        can_manage=can(current_user, MANAGE, commune),
        can_record=can(current_user, RECORD, commune),
        move=move or _reschedule_form(session, rooms),
        cancel=cancel or CancelForm(prefix="cancel", formdata=None),
        cancel_preview=cancel_preview,
        conflicts=conflicts or [],
        mark_conflicts=queries.mark_conflicts(session),
        now=services.local_now(),
    )


@bp.get("/sessions/<int:session_id>")
@permission_required(VIEW)
def session(session_id: int):
    return _render_session(_session_or_404(session_id))


@bp.post("/sessions/<int:session_id>/reschedule")
@permission_required(MANAGE)
def reschedule_session(session_id: int):
    session = _session_or_404(session_id, MANAGE)
    rooms = queries.rooms_of(session.course_class.clc_id)
    form = _reschedule_form(session, rooms, submitted=True)
    if form.validate_on_submit():
        day = form.day.data
        try:
            services.reschedule(
                session,
                datetime.combine(day, form.start.data),
                datetime.combine(day, form.end.data),
                room=_room(rooms, form.room.data),
            )
        except (services.CourseError, IntegrityError) as exc:
            db.session.rollback()
            conflicts = []
            if isinstance(exc, IntegrityError):
                form.form_errors.append(_("Another booking of this room was saved at the same moment. Try again."))
            elif any("resource" in d for d in exc.details):
                conflicts = queries.describe_conflicts(exc.details, current_user, VIEW)
            else:
                _refuse(form, exc, RESCHEDULE_FIELDS)
            return _render_session(session, move=form, conflicts=conflicts)
        db.session.commit()
        flash(_("Session moved to %(day)s.", day=day.strftime("%d/%m/%Y")), "success")
        return redirect(url_for("courses.session", session_id=session.id))
    return _render_session(session, move=form)


def _cancel_changes(now: services.CancelPreview) -> str:
    """What changed between the cancel preview the user confirmed (its counts, posted back with it) and ``now``."""
    parts = []
    for field, count, text in (
        ("shown_marks", now.marks, _l("attendance marks: %(then)s, now %(now)s")),
        ("shown_revoked", len(now.revoked), _l("certificates it would revoke: %(then)s, now %(now)s")),
        ("shown_completing", len(now.completing), _l("learners it would complete: %(then)s, now %(now)s")),
    ):
        then = request.form.get(field, type=int)
        if then is not None and then != count:
            parts.append(str(text) % {"then": then, "now": count})
    if not parts:
        return _("What cancelling this session would do changed since it was shown: check it again.")
    return _(
        "What cancelling this session would do changed since it was shown (%(changes)s): check it again.",
        changes="; ".join(parts),
    )


@bp.post("/sessions/<int:session_id>/cancel")
@permission_required(MANAGE)
def cancel_session(session_id: int):
    session = _session_or_404(session_id, MANAGE)
    form = CancelForm(prefix="cancel")
    if session.status == SessionStatus.CANCELLED:
        flash(_("This session was already cancelled."), "info")
        return redirect(url_for("courses.session", session_id=session.id))
    if form.validate_on_submit():
        # A session already held (its marks, the certificates resting on them): look before it goes — and look again
        # if what it would do changed since it was shown (a mark entered, a certificate issued meanwhile).
        # The rule and its lock are the API's too (services.cancel_confirmed).
        try:
            services.cancel_confirmed(
                session, (form.reason.data or "").strip(), confirmed=request.form.get("confirmed")
            )
        except services.CancelNotConfirmed as exc:
            db.session.rollback()  # the row lock is not held while the page renders
            if exc.stale:
                # Out of date, as on the recurring-sessions and bulk-enrolment pages: 409, the new preview, and what
                # changed since the one confirmed.
                flash(_cancel_changes(exc.preview), "warning")
                return _render_session(session, cancel=form, cancel_preview=exc.preview), 409
            return _render_session(session, cancel=form, cancel_preview=exc.preview)
        except services.CourseError:  # cancelled by someone else since the check above
            db.session.rollback()
            flash(_("This session was already cancelled."), "info")
            return redirect(url_for("courses.session", session_id=session.id))
        db.session.commit()
        flash(_("Session cancelled."), "success")
        return redirect(url_for("courses.session", session_id=session.id))
    return _render_session(session, cancel=form)


@bp.route("/sessions/<int:session_id>/attendance", methods=["GET", "POST"])
@permission_required(RECORD)
def attendance(session_id: int):
    """The attendance sheet for a phone: one row per enrolled learner, one tap per status. A plain form, so it
    works without JavaScript; with it, taps and "everyone present" update the page at once."""
    session = _session_or_404(session_id, RECORD)
    statuses = services.attendance_statuses()
    roll = queries.roll_call(session)
    form = AttendanceForm()
    errors: list[str] = []
    cancelled = session.status == SessionStatus.CANCELLED
    if not cancelled and form.validate_on_submit():
        everyone = request.form.get("everyone", "")
        now = utcnow()
        marks = []
        for person, mark in roll:
            status = everyone if everyone in statuses else request.form.get(f"status-{person.id}", "")
            if not status or (mark is not None and mark.status == status):
                continue  # not marked, or unchanged: nothing to write
            marks.append(services.Mark(person.id, status, now, None, "web"))
        try:
            result = services.record_attendance(session, marks, user_id=current_user.id)
        except services.CourseError as exc:
            db.session.rollback()
            errors = [str(exc), *_detail_lines(exc)]
        else:
            db.session.commit()
            changed = result.created + result.updated
            if changed:
                flash(_("Saved: %(n)s marks recorded.", n=changed), "success")
            else:
                flash(_("Nothing to save: no mark changed."), "info")
            return redirect(url_for("courses.attendance", session_id=session.id))
    elif form.is_submitted() and cancelled:
        errors = [_("This session was cancelled: it takes no attendance.")]
    previous, following = queries.neighbours(session)
    tally = Counter(mark.status if mark else "" for _person, mark in roll)
    return render_template(
        "courses/attendance.html",
        session=session,
        course_class=session.course_class,
        roll=roll,
        form=form,
        statuses={code: _status_name(s) for code, s in statuses.items()},
        errors=errors,
        cancelled=cancelled,
        now=services.local_now(),
        previous=previous,
        following=following,
        tally=tally,
        everyone="present" if "present" in statuses else next(iter(statuses), ""),
    )


# --- timetables ----------------------------------------------------------------------------------------------


def _render_timetable(title: str, clc_ids: list[int], link: Callable[..., str], show_clc: bool, **context: Any):
    week = _week_arg()
    sessions = services.timetable(clc_ids=clc_ids, week_of=week)
    queries.week_sessions(sessions)
    days = queries.by_day(sessions)
    commune = context["commune"]
    return render_template(
        "courses/timetable.html",
        holidays=services.holiday_names(commune, week, week + timedelta(days=6)) if commune else {},
        title=title,
        week=week,
        days=[week + timedelta(days=i) for i in range(7)],
        sessions=days,
        show_clc=show_clc,
        today=services.local_now().date(),
        previous=link(week=(week - timedelta(days=7)).isoformat()),
        next=link(week=(week + timedelta(days=7)).isoformat()),
        this_week=link(),
        **context,
    )


@bp.get("/clcs/<int:clc_id>/timetable")
@permission_required(VIEW)
def clc_timetable(clc_id: int):
    clc = queries.get_clc(clc_id, current_user, VIEW)
    if clc is None:
        abort(404)
    return _render_timetable(
        clc.name,
        [clc.id],
        lambda **kw: url_for("courses.clc_timetable", clc_id=clc.id, **kw),
        show_clc=False,
        commune=clc.commune,
        clc=clc,
    )


@bp.get("/units/<int:unit_id>/timetable")
@permission_required(VIEW)
def commune_timetable(unit_id: int):
    commune = queries.get_commune(unit_id, current_user, VIEW)
    if commune is None:
        abort(404)
    clc_ids = list(db.session.scalars(select(Clc.id).where(Clc.commune_id == commune.id)))
    return _render_timetable(
        commune.full_name,
        clc_ids,
        lambda **kw: url_for("courses.commune_timetable", unit_id=commune.id, **kw),
        show_clc=True,
        commune=commune,
        clc=None,
    )
