"""WTForms' own messages ("This field is required.", "Number must be between …") in the reader's language.

WTForms ships no Vietnamese catalogue; ``lms.core.forms.LmsForm`` looks its messages up in ours. Pages are posted
as a user sends them (Vietnamese by default, English when chosen), and every message that the validators and
fields of our forms can produce is read from WTForms' own source and looked for in the catalogue, so a validator
added tomorrow cannot bring English back unnoticed.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator
from pathlib import Path

from babel.messages.pofile import read_po
from flask import Flask
from flask_wtf import FlaskForm
from wtforms.fields.core import UnboundField

from lms.auth.models import Role
from lms.core.forms import WTFORMS_MESSAGES, LmsForm
from lms.extensions import db
from tests.conftest import choose_language, csrf_token, login, make_user
from tests.courses.conftest import make_centre

CATALOGUE = Path(__file__).resolve().parents[1] / "lms" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"


def _post_login(client, **data: str) -> str:
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, **data})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_login_messages_are_vietnamese(client, app_ctx):
    body = _post_login(client, email="not-an-e-mail", password="")
    assert "Địa chỉ thư điện tử không hợp lệ: hãy gõ đủ dạng ten@tenmien.vn" in body  # and what to type
    assert "Trường này là bắt buộc." in body
    assert "Invalid email address" not in body
    assert "This field is required" not in body


def test_login_messages_stay_english_for_whom_chose_english(client, app_ctx):
    choose_language(client, "en")
    body = _post_login(client, email="not-an-e-mail", password="")
    assert "Invalid email address." in body
    assert "This field is required." in body


def _post_course(client, centre, **data: str) -> str:
    token = csrf_token(client, "/courses/new")
    fields = {
        "csrf_token": token,
        "unit": str(centre.commune.id),
        "code": "x" * 41,  # Length(max=40)
        "name": "",  # DataRequired
        "category": "literacy",
        "planned_hours": "0.2",  # NumberRange(0.5, 9999)
        "min_attendance_percent": "tám mươi",  # IntegerField
    }
    response = client.post("/courses/new", data={**fields, **data})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_course_form_messages_are_vietnamese_with_vietnamese_numbers(client, app_ctx):
    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune, "forms-vi@example.vn")
    db.session.commit()
    login(client, user)
    body = _post_course(client, centre)
    assert "Số phải từ 0,5 đến 9999." in body  # the decimal comma; no grouping (limits are often years)
    assert "Không được dài quá 40 ký tự." in body
    assert "Trường này là bắt buộc." in body
    assert "Hãy nhập một số nguyên." in body
    for english in ("Number must be", "Field cannot be longer", "This field is required", "Not a valid integer"):
        assert english not in body


def test_course_form_messages_stay_english_for_whom_chose_english(client, app_ctx):
    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune, "forms-en@example.vn")
    db.session.commit()
    login(client, user)
    choose_language(client, "en", "/")
    body = _post_course(client, centre)
    assert "Number must be between 0.5 and 9999." in body
    assert "Field cannot be longer than 40 characters." in body
    assert "Not a valid integer value." in body


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _our_forms() -> list[type]:
    return [
        form
        for form in _subclasses(FlaskForm)
        if form.__module__.split(".")[0] in ("lms", "courses") and form is not LmsForm
    ]


def test_every_form_derives_from_the_translated_base(app: Flask):
    forms = _our_forms()
    assert len(forms) >= 30, forms  # the app's modules are imported: the walk is not empty
    assert [f"{f.__module__}.{f.__qualname__}" for f in forms if not issubclass(f, LmsForm)] == []


def _messages_in_source(cls: type) -> set[str | tuple[str, str]]:
    """The literal messages a WTForms or Flask-WTF class passes to ``gettext``/``ngettext``, in itself and the
    classes it inherits from those libraries."""
    found: set[str | tuple[str, str]] = set()
    for klass in cls.__mro__:
        if klass.__module__.split(".")[0] not in ("wtforms", "flask_wtf"):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            literals = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.attr == "gettext" and len(literals) == 1:
                found.add(literals[0])
            elif node.func.attr == "ngettext" and len(literals) == 2:
                found.add((literals[0], literals[1]))
    return found


def _used_classes() -> set[type]:
    """The field classes and validator classes of every form of the application."""
    used: set[type] = set()
    for form in _our_forms():
        for name in dir(form):
            unbound = getattr(form, name, None)
            if not isinstance(unbound, UnboundField):
                continue
            used.add(unbound.field_class)
            validators = unbound.kwargs.get("validators") or (unbound.args[1] if len(unbound.args) > 1 else ())
            used.update(type(v) for v in validators or ())
    return used


def test_every_message_our_validators_and_fields_can_produce_is_translated(app: Flask):
    messages: set[str | tuple[str, str]] = set()
    for cls in _used_classes():
        messages |= _messages_in_source(cls)
    # The walk sees what the forms use (so it cannot pass by reading nothing).
    assert {
        "This field is required.",
        "Invalid email address.",
        "Invalid input.",
        "Number must be between %(min)s and %(max)s.",
        "Not a valid integer value.",
        "Not a valid decimal value.",
        "Not a valid date value.",
        "Not a valid choice.",
        ("Field cannot be longer than %(max)d character.", "Field cannot be longer than %(max)d characters."),
    } <= messages
    catalogue = {m.id: m.string for m in read_po(CATALOGUE.open("rb")) if m.id}
    untranslated = sorted(
        str(m)
        for m in messages
        if not (catalogue.get(m) and all(s for s in (catalogue[m] if isinstance(m, tuple) else [catalogue[m]])))
    )
    assert untranslated == []
    # ...and listed where `make messages` sees them, so that it keeps their translations.
    assert sorted(str(m) for m in messages - set(WTFORMS_MESSAGES)) == []
