"""The base of every form: WTForms' own messages ("This field is required.", "Number must be between 0,5 and 9999.")
in the reader's language.

WTForms ships no Vietnamese catalogue, and Flask-WTF's translations look only in WTForms' own, so its messages
came out in English on Vietnamese pages. :class:`LmsForm` hands WTForms a translations object that looks them up in
our catalogue through Flask-Babel instead — one place, so no validator needs a ``message=``. A user who chose
English reads WTForms' English, as before.

Every form derives from :class:`LmsForm`, not from ``FlaskForm`` (a test walks the forms and holds it so; another
reads WTForms' source for every message the validators and fields we use can produce and checks each has a
Vietnamese translation).
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from typing import Any, cast

from flask_babel import get_translations
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, PasswordField, StringField
from wtforms.widgets import TextInput

from lms.core.formatting import bound


class _Message(str):
    """A translated message that WTForms fills in with ``%``: its limits read the reader's way (0,5, not 0.5)."""

    __slots__ = ()

    def __mod__(self, params: Any) -> str:
        if isinstance(params, dict):
            params = {name: bound(value) for name, value in params.items()}
        return str.__mod__(self, params)


class Translations:
    """WTForms' ``gettext``/``ngettext`` answered from our catalogue for the request's language. Not Flask-Babel's
    ``ngettext``: it fills the message in itself (``%(num)``), and WTForms does that after, with its own values."""

    def gettext(self, string: str) -> str:
        return _Message(get_translations().gettext(string))

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _Message(get_translations().ngettext(singular, plural, n))


translations = Translations()


#: Control characters no text of ours holds (tab, line feed and carriage return are text): PostgreSQL refuses NUL in
#: any string, so a name or a note sent with one was a 500 there (and stored on SQLite). As lms.api.schema's.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def plain_text(value: Any) -> Any:
    """Text as it is stored: in Unicode's composed form (NFC) and without surrounding spaces. "Nguyễn" typed with
    combining marks (NFD, as some phones and macOS send it) is another string to the database — a search, a sort,
    a duplicate check or a length limit treated the same name two ways (ADR 58)."""
    return unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else value


class LmsForm(FlaskForm):
    class Meta:
        def get_translations(self, form: Any) -> Translations:
            return translations

        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Any:
            """Every text field (not a password: it is kept as typed, as its hash was made) stores its text
            through :func:`plain_text`, before its validators read it."""
            field = super().bind_field(form, unbound_field, options)  # type: ignore[misc]
            if isinstance(field, StringField) and not isinstance(field, PasswordField):
                field.filters = (plain_text, *field.filters)
            return field

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            # Text that is not a number ("mười" for the hours) fails to convert; WTForms then still runs the
            # range check on no value and says both "enter a number" and "the number must be from 0,5 to 9999",
            # the second of which the user had not got wrong. What could not be read is said alone.
            if field.process_errors and len(field.errors) > len(field.process_errors):
                field.errors = list(field.process_errors)
            if any(isinstance(raw, str) and CONTROL_CHARACTERS.search(raw) for raw in field.raw_data or ()):
                field.errors = [
                    *field.errors,
                    _l(
                        "This text holds invisible control characters (such as NUL): type it again, or paste it as "
                        "plain text."
                    ),
                ]
                valid = False
        return valid


#: The ``render_kw`` of a select of hundreds of units (3,400 communes, wards and provinces for the country): a search
#: box above it keeps the options with a word beginning with each word typed (static/lms.js, ``select[data-filter]``).
FILTERED_LIST = {
    "data-filter": _l("Type part of the name to shorten the list, e.g. Đăk Hà"),
    "data-filter-label": _l("Find in the list"),
}


class DecimalCommaField(DecimalField):
    """A decimal number typed the Vietnamese way ("12,5") or with a point, in a text box that opens the phone's
    decimal keyboard. Not the browser's number box: Chromium in Vietnamese drops a comma typed there, so "12,5"
    arrived as 125 — ten times the value, without a word."""

    widget = TextInput()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["render_kw"] = {"inputmode": "decimal", "autocomplete": "off", **(kwargs.get("render_kw") or {})}
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if valuelist:
            valuelist = [str(valuelist[0]).strip().replace(" ", "").replace(",", ".")]
        super().process_formdata(valuelist)
        data: Decimal | None = cast(Any, self).data  # DecimalField leaves its type to inference
        if data is not None and not data.is_finite():  # "nan", "inf": no measure (and "snan" broke the page)
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return str(bound(self.data)) if self.data is not None else ""


def N_(message: str) -> str:  # noqa: N802 - the name Babel's extractor looks for
    return message


def _n(singular: str, plural: str) -> tuple[str, str]:
    return singular, plural


# WTForms' default messages, as WTForms spells them (wtforms/validators.py, wtforms/fields/*.py,
# flask_wtf/file.py): never called, but listed so that `make messages` (``-k _n:1,2``) keeps their translations in
# the catalogue instead of marking them obsolete — nothing in our own code says them.
WTFORMS_MESSAGES = (
    N_("This field is required."),
    N_("Invalid input."),
    N_("Invalid email address."),
    N_("Field must be equal to %(other_name)s."),
    N_("Invalid field name '%s'."),
    _n("Field must be at least %(min)d character long.", "Field must be at least %(min)d characters long."),
    _n("Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters."),
    _n("Field must be exactly %(max)d character long.", "Field must be exactly %(max)d characters long."),
    N_("Field must be between %(min)d and %(max)d characters long."),
    N_("Number must be at least %(min)s."),
    N_("Number must be at most %(max)s."),
    N_("Number must be between %(min)s and %(max)s."),
    N_("Date must be at least %(min)s."),
    N_("Date must be at most %(max)s."),
    N_("Date must be between %(min)s and %(max)s."),
    N_("Invalid value, must be one of: %(values)s."),
    N_("Invalid value, can't be any of: %(values)s."),
    N_("Invalid UUID."),
    N_("Invalid URL."),
    N_("Invalid IP address."),
    N_("Invalid Mac address."),
    N_("This field cannot be edited."),
    N_("This field is disabled and cannot have a value."),
    N_("Not a valid integer value."),
    N_("Not a valid decimal value."),
    N_("Not a valid float value."),
    N_("Not a valid date value."),
    N_("Not a valid time value."),
    N_("Not a valid datetime value."),
    N_("Not a valid week value."),
    N_("Not a valid choice."),
    N_("Invalid Choice: could not coerce."),
    N_("Invalid choice(s): one or more data inputs could not be coerced."),
    _n("'%(value)s' is not a valid choice for this field.", "'%(value)s' are not valid choices for this field."),
    N_("Choices cannot be None."),
    N_("File does not have an approved extension: {extensions}"),
    N_("File does not have an approved extension."),
)
