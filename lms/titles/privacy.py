"""What titles holds about a person, for the person's copy of their data (``lms.core.signals.personal_data``, ADR 57):
their learning records (what the engine counts), the results it computed, the registrations, evaluators'
assessments and the recognitions — all of them, whatever the reader's scope."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, and_, cast, or_, select

from courses.it_skills import module_labels
from courses.models import LearningRecord
from lms.core.formatting import current_locale
from lms.core.models import AuditEvent
from lms.core.personal_data import PROCESSING, DataSection, processing_rows
from lms.core.signals import personal_data
from lms.extensions import db
from lms.titles.forms import LEARNING_KIND_NAMES
from lms.titles.models import Assessment, Eligibility, Recognition, Registration, SubjectType
from lms.titles.recognition_forms import HISTORY_NAMES, RECOGNITION_STATUS_NAMES, TITLE_NAMES
from lms.titles.services import indicator_names

PERSON = SubjectType.PERSON.value
#: The events on a person's assessments and recognitions, as the person reads them in the log of who processed
#: their data.
ACTION_NAMES = {
    "assessment.create": _l("Assessment recorded"),
    "assessment.update": _l("Assessment changed"),
    "assessment.verify": _l("Assessment verified"),
    **{f"recognition.{action}": name for action, name in HISTORY_NAMES.items()},
}


def _events(person_id: int) -> list[dict[str, Any]]:
    """The audit events on the person's assessments and recognitions, reached through their objects."""
    assessments = select(cast(Assessment.id, String)).where(
        Assessment.subject_type == PERSON, Assessment.subject_id == person_id
    )
    recognitions = select(cast(Recognition.id, String)).where(
        Recognition.subject_type == PERSON, Recognition.subject_id == person_id
    )
    return processing_rows(
        or_(
            and_(AuditEvent.object_type == "assessment", AuditEvent.object_id.in_(assessments)),
            and_(AuditEvent.object_type == "recognition", AuditEvent.object_id.in_(recognitions)),
        ),
        ACTION_NAMES,
    )


@personal_data.connect_via("person")
def person_titles(sender: str, *, person_id: int, **_ignored: Any) -> list[DataSection]:
    """Five sections, one statement each; every row stays after an erasure, without the name."""
    records = db.session.execute(
        select(
            LearningRecord.year,
            LearningRecord.kind,
            LearningRecord.module_code,
            LearningRecord.hours,
            LearningRecord.completed_on,
        )
        .where(LearningRecord.person_id == person_id)
        .order_by(LearningRecord.completed_on, LearningRecord.id)
    ).all()
    results = db.session.execute(
        select(Eligibility.year, Eligibility.title, Eligibility.eligible, Eligibility.applicable, Eligibility.score)
        .where(Eligibility.subject_type == PERSON, Eligibility.subject_id == person_id)
        .order_by(Eligibility.year, Eligibility.title)
    ).all()
    registrations = db.session.execute(
        select(Registration.year, Registration.title, Registration.registered_on)
        .where(Registration.subject_type == PERSON, Registration.subject_id == person_id)
        .order_by(Registration.year, Registration.title)
    ).all()
    assessments = db.session.execute(
        select(Assessment.year, Assessment.indicator, Assessment.value, Assessment.evidence_ref, Assessment.note)
        .where(Assessment.subject_type == PERSON, Assessment.subject_id == person_id)
        .order_by(Assessment.year, Assessment.indicator)
    ).all()
    recognitions = db.session.execute(
        select(
            Recognition.year,
            Recognition.title,
            Recognition.status,
            Recognition.decision_number,
            Recognition.decision_date,
            Recognition.authority,
        )
        .where(Recognition.subject_type == PERSON, Recognition.subject_id == person_id)
        .order_by(Recognition.year, Recognition.id)
    ).all()
    indicators = indicator_names("citizen", current_locale()) if assessments else {}
    counts = _("Kept without the name: the figures of the person's household, village and commune count them.")

    def kind_of(kind: str, module: str | None) -> str:
        # Six rows "IT-skills module" alone, 0 hours each, told the person nothing of which modules they hold.
        named = str(LEARNING_KIND_NAMES.get(kind, kind))
        labels = module_labels([module], current_locale()) if module else []
        return f"{named} — {labels[0]}" if labels else named

    def title(code: str) -> str:
        return str(TITLE_NAMES.get(code, code))

    def result(eligible: bool, applicable: bool) -> str:
        if not applicable:
            return _("Not applicable")
        return _("Eligible") if eligible else _("Not yet eligible")

    return [
        DataSection(
            "learning_records",
            _("Learning records"),
            [("year", _("Year")), ("kind", _("Kind")), ("hours", _("Hours")), ("completed_on", _("Completed on"))],
            [
                {"year": year, "kind": kind_of(kind, module), "hours": hours, "completed_on": on}
                for year, kind, module, hours, on in records
            ],
            counts,
        ),
        DataSection(
            "title_results",
            _("Title results"),
            [("year", _("Year")), ("title", _("Title")), ("result", _("Result")), ("score", _("Score"))],
            [
                {"year": year, "title": title(code), "result": result(eligible, applicable), "score": score}
                for year, code, eligible, applicable, score in results
            ],
            counts,
        ),
        DataSection(
            "title_registrations",
            _("Registrations for a title"),
            [("year", _("Year")), ("title", _("Title")), ("registered_on", _("Registered on"))],
            [{"year": year, "title": title(code), "registered_on": on} for year, code, on in registrations],
            counts,
        ),
        DataSection(
            "assessments",
            _("Assessments"),
            [
                ("year", _("Year")),
                ("indicator", _("Indicator")),
                ("value", _("Value")),
                ("evidence", _("Evidence")),
                ("note", _("Note")),
            ],
            [
                {
                    "year": year,
                    "indicator": indicators.get(code, code),
                    "value": value,
                    "evidence": evidence,
                    "note": note,
                }
                for year, code, value, evidence, note in assessments
            ],
            counts,
        ),
        DataSection(
            "recognitions",
            _("Recognitions"),
            [
                ("year", _("Year")),
                ("title", _("Title")),
                ("status", _("Status")),
                ("decision", _("Decision")),
                ("decided_on", _("Decision date")),
                ("authority", _("Decided by")),
            ],
            [
                {
                    "year": year,
                    "title": title(code),
                    "status": str(RECOGNITION_STATUS_NAMES.get(status, status)),
                    "decision": number,
                    "decided_on": decided_on,
                    "authority": authority,
                }
                for year, code, status, number, decided_on, authority in recognitions
            ],
            _(
                "Kept as decided: a recognition is a record of a committee's decision, and its certificate carries the "
                "name it was given to."
            ),
        ),
        # Rows of the registry's log of who processed the data (lms.core.personal_data.PROCESSING).
        DataSection(PROCESSING, "", [], _events(person_id)),
    ]
