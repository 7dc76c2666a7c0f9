"""What courses adds to pages it does not own: to the registry's person page (through
``lms.core.signals.subject_page``), the classes the person is or was enrolled in and the completion certificates issued
to them, in the reader's scope; to the start page (``lms.core.signals.home_page``), the classes waiting on a roll
call."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import ColumnElement, select

from courses import queries
from courses.forms import ENROLMENT_STATUS_NAMES
from courses.models import Certificate, CourseClass, Enrolment, class_instructor
from lms.auth.models import Role
from lms.auth.permissions import Permission, has_permission_anywhere, scoped
from lms.core.clock import local_now
from lms.core.signals import home_page, subject_page
from lms.extensions import db
from lms.registry import services as registry
from lms.registry.models import Person

VIEW = Permission.COURSES_VIEW

#: Classes listed at most (newest first); a person with more is rare, and the class pages list the rest.
SHOWN = 30


@subject_page.connect_via("person")
def person_learning(sender: str, *, subject_id: int, **_: Any) -> Markup | None:
    """The person's classes, newest first, each with its certificate when one was issued (two queries)."""
    if not has_permission_anywhere(current_user, VIEW):
        return None
    enrolments = db.session.execute(
        scoped(
            select(Enrolment.status, CourseClass)
            .select_from(Enrolment)
            .join(CourseClass, CourseClass.id == Enrolment.class_id),
            CourseClass.commune_id,
            current_user,
            VIEW,
        )
        .where(Enrolment.person_id == subject_id)
        .order_by(CourseClass.starts_on.desc(), CourseClass.id.desc())
        .limit(SHOWN)
    ).all()
    certificates = {
        c.class_id: c
        for c in db.session.scalars(
            select(Certificate).where(
                Certificate.person_id == subject_id,
                Certificate.class_id.in_([row.CourseClass.id for row in enrolments]),
            )
        )
    }
    # The person's IT skills page, where a manager records the national IT certificate they bring to the office; it
    # was reached only through a commune's officers table or a certificate already recorded.
    it_skills = any(
        registry.get_in_scope(Person, subject_id, current_user, permission) is not None
        for permission in (Permission.IT_TRAINING_VIEW, Permission.IT_CERTIFICATE_VERIFY)
    )
    return Markup(  # noqa: S704 - an autoescaped template's output, not user text
        render_template(
            "courses/_person_learning.html",
            enrolments=enrolments,
            certificates=certificates,
            status_names=ENROLMENT_STATUS_NAMES,
            subject_id=subject_id,
            it_skills=it_skills,
        )
    )


#: Classes waiting on a roll call listed on the start page; the others are counted ("and N more").
WAITING_SHOWN = 10


@home_page.connect_via("home")
def waiting_roll_calls(sender: str, **_: Any) -> Markup | None:
    """The classes waiting on a roll call (ADR 54: a held session without one counts against nobody, and the learners
    whose completion it could decide wait), where a manager or a teacher lands after login: a centre manager's are
    the classes of the centres they manage, a teacher's the classes they teach. Each leads to its oldest session's
    roll call. One statement whatever the number of classes (:func:`courses.queries.classes_waiting_on_roll_call`)."""
    if not current_user.is_authenticated or not has_permission_anywhere(current_user, Permission.ATTENDANCE_RECORD):
        return None
    if any(assignment.role == Role.ADMINISTRATOR for assignment in current_user.roles):
        # An administrator holds every permission over the whole map but takes no roll call: the card would read
        # every past session of the country at each visit of the start page.
        return None
    managed = scoped(select(CourseClass.id), CourseClass.commune_id, current_user, Permission.COURSES_MANAGE)
    condition: ColumnElement[bool] = CourseClass.id.in_(managed)
    if current_user.person_id:
        taught = select(class_instructor.c.class_id).where(class_instructor.c.person_id == current_user.person_id)
        recordable = scoped(
            select(CourseClass.id), CourseClass.commune_id, current_user, Permission.ATTENDANCE_RECORD
        ).where(CourseClass.id.in_(taught))
        condition = condition | CourseClass.id.in_(recordable)
    waiting, total = queries.classes_waiting_on_roll_call(
        select(CourseClass.id).where(condition), local_now(), limit=WAITING_SHOWN
    )
    if not waiting:
        return None
    return Markup(  # noqa: S704 - an autoescaped template's output, not user text
        render_template("courses/_waiting_roll_calls.html", waiting=waiting, more=total - len(waiting), total=total)
    )
