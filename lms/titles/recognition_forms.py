"""Forms of the registration and recognition screens. Selections (checkboxes named ``ids``) are read by the views;
the services check every id against the user's scope."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from lms.core.forms import LmsForm
from lms.titles.models import RecognitionStatus, Title

# The level of the body that decided, as a decision is headed ("Quyết định cấp xã"): the approvals configuration's
# level of the title (and, for a Learning Unit, of the organisation).
DECISION_LEVEL_NAMES = {
    "village": _l("village level"),
    "commune": _l("commune level"),
    "district": _l("district level"),
    "province": _l("province level"),
}

TITLE_NAMES = {
    Title.CITIZEN.value: _l("Learning Citizen"),
    Title.FAMILY.value: _l("Learning Family"),
    Title.CLAN.value: _l("Learning Clan"),
    Title.VILLAGE_COMMUNITY.value: _l("Village learning community"),
    Title.UNIT.value: _l("Learning Unit"),
    Title.COMMUNE_COMMUNITY.value: _l("Commune learning community"),
}
# The recognition's history, from the audit trail's actions ("recognition.propose" …): what happened, in words.
HISTORY_NAMES = {
    "propose": _l("Proposed for recognition"),
    "recognise": _l("Recognised"),
    "reject": _l("Not recognised"),
    "revoke": _l("Recognition revoked"),
    "correct_decision": _l("Decision number or date corrected"),
    "certificate": _l("Certificate of recognition printed"),
}
RECOGNITION_STATUS_NAMES = {
    RecognitionStatus.PROPOSED.value: _l("Proposed"),
    RecognitionStatus.RECOGNISED.value: _l("Recognised"),
    RecognitionStatus.REJECTED.value: _l("Not recognised"),
    RecognitionStatus.REVOKED.value: _l("Revoked"),
}


class SelectionForm(LmsForm):
    """A list of checkboxes (``ids``) and a submit button: the form only carries the CSRF token."""


class DecisionForm(LmsForm):
    action = RadioField(
        _l("Decision"),
        choices=[SelectChoice("recognise", _l("Recognise")), SelectChoice("reject", _l("Do not recognise"))],
        default="recognise",
    )
    decision_number = StringField(
        _l("Decision number"),
        validators=[Length(max=60)],
        description=_l("As written on the decision, e.g. 15/QĐ-UBND"),
    )
    decision_date = DateField(_l("Decision date"), validators=[Optional()])
    authority = StringField(_l("Authority"), validators=[Optional(), Length(max=200)])
    reason = TextAreaField(_l("Reason for rejecting"), validators=[Length(max=2000)])

    def validate_decision_number(self, field: StringField) -> None:
        if self.action.data == "recognise" and not (field.data or "").strip():
            raise ValidationError(_l("The decision number is required to recognise."))

    def validate(self, extra_validators: object = None) -> bool:
        valid = super().validate(extra_validators)  # type: ignore[arg-type]
        # Checked here, not in a field validator: Optional() on the date stops its chain when it is empty.
        if self.action.data == "recognise" and self.decision_date.data is None and not self.decision_date.errors:
            self.decision_date.errors = [*self.decision_date.errors, _l("The decision date is required to recognise.")]
            valid = False
        return valid

    def validate_reason(self, field: TextAreaField) -> None:
        if self.action.data == "reject" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the proposals are rejected."))


class DecisionCorrectionForm(LmsForm):
    decision_number = StringField(
        _l("Decision number"),
        validators=[DataRequired(), Length(max=60)],
        description=_l("As written on the decision, e.g. 15/QĐ-UBND"),
    )
    decision_date = DateField(_l("Decision date"), validators=[DataRequired()])
    reason = TextAreaField(
        _l("Reason for the correction"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("E.g. the number was mistyped when the decision was recorded."),
    )


class RevokeForm(LmsForm):
    reason = TextAreaField(_l("Reason for revoking"), validators=[DataRequired(), Length(max=2000)])


class ImportForm(LmsForm):
    file = FileField(_l("Spreadsheet (.xlsx or .csv)"), validators=[FileRequired()])
