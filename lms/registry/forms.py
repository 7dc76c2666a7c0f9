from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from lms.core.forms import FILTERED_LIST, LmsForm
from lms.registry.labels import (
    IMPORT_KIND_NAMES,
    MANAGING_LEVEL_NAMES,
    OCCUPATION_CHOICES,
    ORGANISATION_KIND_NAMES,
    SEX_NAMES,
)


def _choices(names: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in names.items()]


class PersonForm(LmsForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    birth_year_only = BooleanField(_l("Only the year of birth is known (the day and month above are not kept)"))
    sex = SelectField(_l("Sex"), choices=[SelectChoice("", "—"), *_choices(SEX_NAMES)], validators=[Optional()])
    occupation_group = SelectField(_l("Occupation group"), choices=_choices(OCCUPATION_CHOICES))
    relation_to_head = StringField(_l("Relation to the head of household"), validators=[Optional(), Length(max=40)])
    phone = StringField(
        _l("Phone"),
        validators=[
            Optional(),
            Length(max=20),
            # WTForms' own "Invalid input." said nothing of what to change.
            Regexp(r"^[0-9+ .]*$", message=_l("Digits only (spaces, dots and + allowed), e.g. 0905 123 456.")),
        ],
    )
    ethnicity = StringField(_l("Ethnicity"), validators=[Optional(), Length(max=60)])
    id_number = StringField(
        _l("Personal identification number (12 digits; leave empty to keep the current one)"),
        validators=[Optional(), Regexp(r"^\s*\d{12}\s*$", message=_l("Enter exactly 12 digits."))],
    )


class HouseholdForm(LmsForm):
    code = StringField(_l("Household number"), validators=[DataRequired(), Length(max=40)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])


class OrganisationForm(LmsForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    kind = SelectField(_l("Type"), choices=_choices(ORGANISATION_KIND_NAMES))
    managing_level = SelectField(_l("Managed at level"), choices=_choices(MANAGING_LEVEL_NAMES))
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])


class ClcForm(LmsForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    established_on = DateField(_l("Established on"), validators=[Optional()])


class ConfirmImportForm(LmsForm):
    """Confirms one preview: the digest of what the user saw, so that nothing else is applied."""

    digest = HiddenField()


class ErasureForm(LmsForm):
    """Confirms the erasure of a person's data (ADR 57): the preview's digest, why, and that the officer checked."""

    digest = HiddenField()
    reason = TextAreaField(
        _l("The person's request (when and how it was made)"),
        validators=[DataRequired(_l("Say when and how the person asked.")), Length(max=300)],
    )
    checked = BooleanField(
        _l("I have checked the person's identity and what will be erased and kept"),
        validators=[DataRequired(_l("Tick the box once you have checked."))],
    )


class ImportForm(LmsForm):
    kind = SelectField(_l("What the file contains"), choices=_choices(IMPORT_KIND_NAMES))
    # No unit chosen for whoever may import into several: the first of 3,400 communes was chosen silently, and a file
    # of one commune could be previewed against another's.
    unit = SelectField(
        _l("For the unit"),
        coerce=lambda value: int(value) if value not in (None, "") else None,
        choices=[],
        validators=[DataRequired(message=_l("Choose the commune or ward the file is for."))],
        render_kw=FILTERED_LIST,
    )
    file = FileField(_l("Spreadsheet (.xlsx or .csv)"), validators=[FileRequired()])
