from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from courses import it_skills
from courses.models import MAX_ATTENDANCE_PERCENT, MIN_ATTENDANCE_PERCENT
from lms.core import formatting
from lms.core.evidence import FILE_INPUT
from lms.core.forms import DecimalCommaField, LmsForm

# Display names of the class programme's coded values, translated.
CATEGORY_NAMES = {
    "literacy": _l("Literacy"),
    "needs_based": _l("Needs-based knowledge and skills"),
    "technology_transfer": _l("Technology transfer"),
    "digital_skills": _l("Digital skills"),
    "policy_study": _l("Policy study for association members"),
    "it_skills": _l("IT-skills modules"),
}
TARGET_GROUP_NAMES = {
    "everyone": _l("Everyone"),
    "association_officers": _l("Association officers only"),
    "association_members": _l("Association members only"),
}
ENROLMENT_STATUS_NAMES = {"enrolled": _l("Enrolled"), "waitlisted": _l("Waiting list"), "withdrawn": _l("Withdrawn")}
RESOURCE_NAMES = {"room": _l("Room"), "instructor": _l("Instructor"), "learner": _l("Learner")}
WEEKDAY_NAMES = (
    _l("Monday"),
    _l("Tuesday"),
    _l("Wednesday"),
    _l("Thursday"),
    _l("Friday"),
    _l("Saturday"),
    _l("Sunday"),
)
WEEKDAY_SHORT = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


def _choices(names: dict) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in names.items()]


class PersonListField(Field):
    """Person ids chosen with the person picker (checkboxes named after the field, filled by search-as-you-type).

    The form only parses ids; the view checks that each one is a person of the class's commune.
    """

    def process_formdata(self, valuelist: list[str]) -> None:
        ids: list[int] = []
        for value in valuelist:
            if not value.strip().isdigit():
                raise ValueError(_l("Choose people from the list."))
            ids.append(int(value))
        self.data = list(dict.fromkeys(ids))

    def process_data(self, value: object) -> None:
        self.data = list(value) if value else []  # type: ignore[call-overload]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ModuleChecklistField(MultiCheckboxField):
    """The IT-skills standard's modules (Circular 03/2014: basic IU01–IU06, advanced IU07–IU15) as a checklist with
    their names, in the standard's order: a manager ticks "Xử lý văn bản cơ bản" rather than looking up "IU03".

    A code the standard does not have (a client that still sends "IU01, IU99" in one value) is not refused here
    with WTForms' "not a valid choice": the service refuses it naming the code, as the API does.
    """

    def __init__(self, *args: object, level: str | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        locale = formatting.current_locale()
        # ``level``: one level's modules only (an advanced certificate names advanced modules).
        self.modules = tuple(m for m in it_skills.framework().modules if level is None or m.level == level)
        self.choices = [SelectChoice(m.code, f"{m.code} {m.name(locale)}") for m in self.modules]

    def process_formdata(self, valuelist: list[str]) -> None:
        codes = [c.strip().upper() for value in valuelist for c in value.split(",") if c.strip()]
        order = {m.code: i for i, m in enumerate(self.modules)}
        # The standard's order whatever the order ticked or typed; unknown codes last, for the service to name.
        self.data = sorted(dict.fromkeys(codes), key=lambda c: order.get(c, len(order)))

    def pre_validate(self, form: object) -> None:
        pass

    def levels(self) -> list[tuple[str, list[SelectChoice]]]:
        """The choices grouped as the standard groups them: basic, then advanced."""
        groups: dict[str, list[SelectChoice]] = {}
        for module, choice in zip(self.modules, self.choices, strict=True):  # type: ignore[arg-type]
            groups.setdefault(module.level, []).append(choice)
        return list(groups.items())


class CourseForm(LmsForm):
    unit = SelectField(_l("In the catalogue of"), coerce=int, choices=[])
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(),
            Length(max=40),
            # "Letters" alone read as any letter: a manager typed KH-ĐĂK-01, was told letters were allowed, and could
            # not see what to change.
            Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                message=_l(
                    "Letters without accents (A–Z), digits, dots, dashes and underscores only, starting with a letter"
                    " or digit, with no spaces: for example KH-DAK-01."
                ),
            ),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    # No default: a course saved without choosing its field would silently be a literacy course.
    category = SelectField(
        _l("Category"),
        choices=[SelectChoice("", _l("— choose —")), *_choices(CATEGORY_NAMES)],
        validators=[DataRequired()],
    )
    planned_hours = DecimalCommaField(
        _l("Planned hours"), places=1, validators=[InputRequired(), NumberRange(min=Decimal("0.5"), max=Decimal(9999))]
    )
    min_attendance_percent = IntegerField(
        _l("Minimum attendance (percent of held sessions)"),
        default=80,
        validators=[InputRequired(), NumberRange(min=MIN_ATTENDANCE_PERCENT, max=MAX_ATTENDANCE_PERCENT)],
    )
    requires_assessment = BooleanField(_l("A final assessment must be passed"))
    module_codes = ModuleChecklistField(_l("IT-skills modules the course teaches"))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])

    def validate_planned_hours(self, field: DecimalCommaField) -> None:
        # The column keeps a tenth of an hour: more would be rounded by the database without a word.
        data = field.data
        if data is not None and data.adjusted() < 6 and data != data.quantize(Decimal("0.1")):
            message = str(_l("At most %(decimal_places)s digits after the decimal point."))
            raise ValidationError(message % {"decimal_places": 1})

    def module_list(self) -> list[str]:
        return list(self.module_codes.data or [])


class CourseRuleForm(LmsForm):
    """A course's completion rule as a manager may change it: the minimum attendance, in whole percents."""

    min_attendance_percent = IntegerField(
        _l("Minimum attendance (percent of held sessions)"),
        validators=[InputRequired(), NumberRange(min=MIN_ATTENDANCE_PERCENT, max=MAX_ATTENDANCE_PERCENT)],
    )


class ClassForm(LmsForm):
    course = SelectField(_l("Course"), coerce=int, choices=[])
    name = StringField(_l("Name of the class"), validators=[DataRequired(), Length(max=300)])
    room = SelectField(_l("Usual room"), coerce=int, choices=[])
    # The API's range (its clients send it): a policy-study class may seat a whole commune.
    capacity = IntegerField(_l("Capacity"), default=30, validators=[InputRequired(), NumberRange(min=1, max=10_000)])
    target_group = SelectField(_l("Who may enrol"), choices=_choices(TARGET_GROUP_NAMES))
    starts_on = DateField(_l("First day"), validators=[InputRequired()])
    ends_on = DateField(_l("Last day"), validators=[InputRequired()])
    instructors = PersonListField(_l("Instructors"))

    def validate_ends_on(self, field: DateField) -> None:
        if self.starts_on.data and field.data and field.data < self.starts_on.data:
            raise ValidationError(_l("The class must end on or after its first day."))


class _TimeSpanForm(LmsForm):
    """Start and end times of a session, the end after the start."""

    start = TimeField(_l("Starts at"), validators=[InputRequired()])
    end = TimeField(_l("Ends at"), validators=[InputRequired()])

    def validate_end(self, field: TimeField) -> None:
        if self.start.data and field.data and field.data <= self.start.data:
            raise ValidationError(_l("A session must end after it starts."))


class SingleSessionForm(_TimeSpanForm):
    day = DateField(_l("Date"), validators=[InputRequired()])
    room = SelectField(_l("Room"), coerce=int, choices=[])


class RecurringForm(_TimeSpanForm):
    first_day = DateField(_l("From"), validators=[InputRequired()])
    weekdays = MultiCheckboxField(
        _l("On"),
        coerce=int,
        choices=[SelectChoice(i, name) for i, name in enumerate(WEEKDAY_SHORT)],
        validators=[DataRequired(message=_l("Choose at least one weekday."))],
    )
    every_weeks = IntegerField(_l("Every … weeks"), default=1, validators=[InputRequired(), NumberRange(1, 52)])
    until = DateField(_l("Until"), validators=[Optional()])
    count = IntegerField(_l("or for … sessions"), validators=[Optional(), NumberRange(1, 500)])
    room = SelectField(_l("Room"), coerce=int, choices=[])

    def validate_until(self, field: DateField) -> None:
        if field.data is None and self.count.data is None:
            raise ValidationError(_l("Give an end date or a number of sessions."))
        if field.data and self.first_day.data and field.data < self.first_day.data:
            raise ValidationError(_l("The end date is before the first day."))


class RescheduleForm(_TimeSpanForm):
    day = DateField(_l("New date"), validators=[InputRequired()])
    room = SelectField(_l("Room"), coerce=int, choices=[])


class CancelForm(LmsForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=300)])


class EnrolForm(LmsForm):
    person_ids = PersonListField(_l("Learners"), validators=[DataRequired(message=_l("Choose at least one person."))])


# An adult class should not fill its seats with a village's toddlers: the bulk form starts at this age.
ADULT_AGE = 15


class BulkEnrolForm(LmsForm):
    village = SelectField(_l("Village"), coerce=int, choices=[])
    household = StringField(
        _l("Household: its number, code or the head's name"), validators=[Optional(), Length(max=80)]
    )
    association_role = SelectField(_l("Association role"), choices=[])
    min_age = IntegerField(_l("Aged from"), default=ADULT_AGE, validators=[Optional(), NumberRange(0, 120)])
    max_age = IntegerField(_l("to (years)"), validators=[Optional(), NumberRange(0, 120)])

    def validate_village(self, field: SelectField) -> None:
        if not field.data and not self.household.data and not self.association_role.data:
            raise ValidationError(_l("Choose a village, a household or an association role."))

    def validate_max_age(self, field: IntegerField) -> None:
        if field.data is not None and self.min_age.data is not None and field.data < self.min_age.data:
            raise ValidationError(_l("The upper age is below the lower one."))


class WithdrawForm(LmsForm):
    person_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d+$")])


ASSESSMENT_RESULT_NAMES = {"passed": _l("Passed"), "failed": _l("Not passed"), "none": _l("No result yet")}


class AssessmentForm(LmsForm):
    """A learner's final assessment, from the buttons of the learner's row (each button posts its result)."""

    person_id = HiddenField(validators=[DataRequired(), Regexp(r"^\d+$")])
    result = SelectField(choices=_choices(ASSESSMENT_RESULT_NAMES), validators=[DataRequired()])


class AttendanceForm(LmsForm):
    """Only the CSRF token: the marks are one radio group per enrolled learner (``status-<person id>``), read by
    the view, and the "everyone present" button is a submit named ``everyone``."""


# --- IT skills -------------------------------------------------------------------------------------------------


class ItCertificateForm(LmsForm):
    """A national IT-skills certificate and its scan (the scan's type and size are checked on the bytes)."""

    clash_id: int | None = None  # set when refused: another person's record of the same certificate, to open

    number = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=60)])
    issuer = StringField(_l("Accredited centre that issued it"), validators=[DataRequired(), Length(max=300)])
    issued_on = DateField(_l("Date of issue"), validators=[InputRequired()])
    # Ticked by name as on the course form; the service checks the standard's rules (advanced only, at least three).
    modules = ModuleChecklistField(
        _l("Advanced certificate: tick the advanced modules it names; none for a basic certificate"), level="advanced"
    )
    file = FileField(
        _l("Scan or photo of the certificate (PDF, JPEG or PNG)"), validators=[FileRequired()], render_kw=FILE_INPUT
    )


class VerifyForm(LmsForm):
    """Only the CSRF token."""


class RejectForm(LmsForm):
    reason = StringField(_l("Why it is rejected"), validators=[DataRequired(), Length(max=300)])


class RevokeForm(LmsForm):
    """The test centre revoked the certificate (Joint Circular 17/2016, Art. 17.2): its decision."""

    reason = StringField(
        _l("The test centre's decision revoking it (number and date)"), validators=[DataRequired(), Length(max=300)]
    )


class SelfEnrolForm(LmsForm):
    """Only the CSRF token."""
