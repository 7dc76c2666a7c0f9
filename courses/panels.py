"""What courses adds to the registry's person page (through ``lms.core.signals.subject_page``): the classes the
person is or was enrolled in, and the completion certificates issued to them, in the reader's scope."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from courses.forms import ENROLMENT_STATUS_NAMES
from courses.models import Certificate, CourseClass, Enrolment
from lms.auth.permissions import Permission, has_permission_anywhere, scoped
from lms.core.signals import subject_page
from lms.extensions import db

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
    return Markup(  # noqa: S704 - an autoescaped template's output, not user text
        render_template(
            "courses/_person_learning.html",
            enrolments=enrolments,
            certificates=certificates,
            status_names=ENROLMENT_STATUS_NAMES,
        )
    )
