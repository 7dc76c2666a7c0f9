from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from lms.registry.models import ManagingLevel, OccupationGroup, OrganisationKind

SEX_CHOICES = [("", "—"), ("M", _l("Male")), ("F", _l("Female"))]
OCCUPATION_CHOICES = [
    (OccupationGroup.WORKER.value, _l("Worker")),
    (OccupationGroup.OFFICIAL.value, _l("Official or public employee")),
    (OccupationGroup.PUPIL.value, _l("Pupil or student")),
    (OccupationGroup.OTHER.value, _l("Other")),
]
ORGANISATION_KIND_CHOICES = [
    (OrganisationKind.AGENCY.value, _l("State agency")),
    (OrganisationKind.PUBLIC_SERVICE.value, _l("Public service unit")),
    (OrganisationKind.SCHOOL.value, _l("School")),
    (OrganisationKind.ENTERPRISE.value, _l("Enterprise")),
    (OrganisationKind.ASSOCIATION.value, _l("Association or union")),
    (OrganisationKind.OTHER.value, _l("Other")),
]
MANAGING_LEVEL_CHOICES = [
    (ManagingLevel.COMMUNE.value, _l("Commune")),
    (ManagingLevel.DISTRICT.value, _l("District (before 2025)")),
    (ManagingLevel.PROVINCE.value, _l("Province")),
    (ManagingLevel.CENTRAL.value, _l("Central")),
]
IMPORT_KIND_CHOICES = [
    ("villages", _l("Villages")),
    ("households", _l("Households and their members")),
    ("organisations", _l("Organisations and their members")),
    ("officers", _l("Association officers")),
]


class PersonForm(FlaskForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    sex = SelectField(_l("Sex"), choices=SEX_CHOICES, validators=[Optional()])
    occupation_group = SelectField(_l("Occupation group"), choices=OCCUPATION_CHOICES)
    relation_to_head = StringField(_l("Relation to the head of household"), validators=[Optional(), Length(max=40)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=20), Regexp(r"^[0-9+ .]*$")])
    ethnicity = StringField(_l("Ethnicity"), validators=[Optional(), Length(max=60)])
    id_number = StringField(
        _l("Personal identification number (12 digits; leave empty to keep the current one)"),
        validators=[Optional(), Regexp(r"^\s*\d{12}\s*$", message=_l("Enter exactly 12 digits."))],
    )


class OrganisationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    kind = SelectField(_l("Type"), choices=ORGANISATION_KIND_CHOICES)
    managing_level = SelectField(_l("Managed at level"), choices=MANAGING_LEVEL_CHOICES)
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])


class ClcForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    established_on = DateField(_l("Established on"), validators=[Optional()])


class ImportForm(FlaskForm):
    kind = SelectField(_l("What the file contains"), choices=IMPORT_KIND_CHOICES)
    unit = SelectField(_l("For the unit"), coerce=int)
    file = FileField(_l("Spreadsheet (.xlsx or .csv)"), validators=[FileRequired()])
