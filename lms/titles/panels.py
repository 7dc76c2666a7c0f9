"""What titles adds to the registry's pages (through ``lms.core.signals.subject_page``): a household's or a person's
titles by year — eligible or not yet, registered, proposed or recognised — each with a link to its explanation, so a
leader who opens a "not yet eligible" household or person from a dashboard sees why, one tap away."""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from lms.auth.permissions import Permission, has_permission_anywhere, scoped
from lms.core.signals import subject_page
from lms.extensions import db
from lms.titles.models import Eligibility, Recognition, Registration, SubjectType
from lms.titles.recognition_forms import RECOGNITION_STATUS_NAMES, TITLE_NAMES
from lms.titles.services import eligibility_in_scope, missing_codes

VIEW = Permission.TITLES_VIEW


@subject_page.connect_via("household")
def household_titles(sender: str, *, subject_id: int, **_: Any) -> Markup | None:
    return _titles(SubjectType.HOUSEHOLD.value, subject_id, "household-titles")


@subject_page.connect_via("person")
def person_titles(sender: str, *, subject_id: int, **_: Any) -> Markup | None:
    return _titles(SubjectType.PERSON.value, subject_id, "person-titles")


def _titles(subject_type: str, subject_id: int, section_id: str) -> Markup | None:
    """The subject's results by year, newest first, in the reader's scope (three queries)."""
    if not has_permission_anywhere(current_user, VIEW):
        return None
    subject = (subject_type, subject_id)
    rows = db.session.scalars(
        eligibility_in_scope(current_user)
        .where(Eligibility.subject_type == subject[0], Eligibility.subject_id == subject[1])
        .order_by(Eligibility.year.desc(), Eligibility.title)
    ).all()
    registered = {
        (r.year, r.title)
        for r in db.session.execute(
            scoped(select(Registration.year, Registration.title), Registration.commune_id, current_user, VIEW).where(
                Registration.subject_type == subject[0], Registration.subject_id == subject[1]
            )
        )
    }
    recognitions = {
        (r.year, r.title): r
        for r in db.session.scalars(
            scoped(select(Recognition), Recognition.commune_id, current_user, VIEW)
            .where(Recognition.subject_type == subject[0], Recognition.subject_id == subject[1])
            .order_by(Recognition.id)
        )
    }
    return Markup(  # noqa: S704 - an autoescaped template's output, not user text
        render_template(
            "titles/_household_titles.html",
            rows=rows,
            missing={row.id: len(missing_codes(row)) for row in rows},
            registered=registered,
            recognitions=recognitions,
            title_names=TITLE_NAMES,
            recognition_status_names=RECOGNITION_STATUS_NAMES,
            section_id=section_id,
        )
    )
