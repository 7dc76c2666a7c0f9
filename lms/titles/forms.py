from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from lms.core.evidence import FILE_INPUT
from lms.core.forms import LmsForm

# Display names of the titles' coded values, translated.
TITLE_NAMES = {
    "citizen": _l("Learning citizen"),
    "family": _l("Learning family"),
    "clan": _l("Learning clan"),
    "village_community": _l("Learning community (village)"),
    "unit": _l("Learning unit"),
    "commune_community": _l("Learning community (commune)"),
}
# A learning record's kind (courses.models.LearningKind), as the explanation page lists the year's records.
LEARNING_KIND_NAMES = {
    "class_completion": _l("Class completed"),
    "it_module": _l("IT-skills module"),
    "policy_study": _l("Policy study session"),
    "self_study": _l("Self-study"),
    "external_certificate": _l("Certificate from another institution"),
    "activity_organised": _l("Learning activity organised"),
}
SUBJECT_NAMES = {
    "person": _l("Person"),
    "household": _l("Household"),
    "clan": _l("Clan"),
    "village": _l("Village"),
    "organisation": _l("Organisation"),
    "commune": _l("Commune"),
}
SOURCE_NAMES = {"evaluator": _l("Entered by an evaluator"), "self": _l("Self-assessed (counts once verified)")}
STATUS_NAMES = {
    "eligible": _l("Eligible"),
    "not_eligible": _l("Not yet eligible"),
    "not_applicable": _l("Not applicable"),
}
SORT_NAMES = {"name": _l("Name"), "score": _l("Score or level"), "computed": _l("Recently evaluated")}
CRITERIA_STATUS_NAMES = {"official": _l("Official"), "provisional": _l("Provisional: values to be checked")}


def _choices(names: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in names.items()]


class AssessmentForm(LmsForm):
    """One assessed indicator value with its evidence. The subject is fixed by the page; the indicator's choices
    are the assessed indicators of the active criteria set for the subject's title."""

    subject_type = HiddenField(validators=[DataRequired()])
    subject_id = HiddenField(validators=[DataRequired()])
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(min=2000, max=2100)])
    indicator = SelectField(_l("Indicator"), choices=[], validators=[DataRequired()])
    value = StringField(
        _l("Value (points, 1 = met / 0 = not met, or per cent, as the indicator says)"),
        validators=[DataRequired(), Length(max=20)],
        render_kw={"inputmode": "decimal"},
    )
    source = SelectField(_l("Who assessed"), choices=_choices(SOURCE_NAMES))
    evidence_file = FileField(_l("Evidence file (PDF, JPEG or PNG; optional)"), render_kw=FILE_INPUT)
    evidence_ref = StringField(
        _l("Evidence reference (where the paper is kept; optional)"), validators=[Optional(), Length(max=300)]
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    remove_evidence = BooleanField(_l("Remove the attached file"))


class ImportForm(LmsForm):
    file = FileField(_l("Spreadsheet (.xlsx or .csv)"), validators=[FileRequired()])


class ConfirmImportForm(LmsForm):
    """Confirms a preview: its checked rows and digest, signed (lms.core.imports.sign_rows)."""

    plan = HiddenField(validators=[DataRequired()])


class ActionForm(LmsForm):
    """A button that changes something (verify, delete): only the CSRF token."""
