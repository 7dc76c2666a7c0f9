"""A field takes the same values whichever door it comes through: the form, the API and the spreadsheet import of
persons, households, courses and classes agree with each other and with the column (ADR 58). The API refused an
ethnicity of 51 to 60 characters that the form and the import kept; the form refused a class of more than 1 000 seats
that the API created."""

from __future__ import annotations

from typing import Any

import pytest
from annotated_types import Le, MaxLen
from pydantic import BaseModel
from wtforms.validators import Length, NumberRange

from courses.forms import ClassForm, CourseForm
from courses.models import Course, CourseClass
from courses.schemas import ClassEdit, ClassIn, CourseIn
from lms.auth.models import ApiToken, Role
from lms.extensions import db
from lms.registry import importer
from lms.registry.forms import ClcForm, HouseholdForm, OrganisationForm, PersonForm
from lms.registry.models import Clc, Household, Organisation, Person
from lms.registry.schemas import ClcEdit, HouseholdEdit, OrganisationEdit, PersonIn
from tests.conftest import make_household, make_user, make_village, unit_by_code


def _schema_limit(schema: type[BaseModel], field: str, kind: type) -> Any:
    """The field's ``max_length`` (MaxLen) or ``le`` (Le), however it is declared (Field or StringConstraints)."""
    attribute = "max_length" if kind is MaxLen else "le"
    found = []
    for item in schema.model_fields[field].metadata:
        if isinstance(item, kind) or getattr(item, attribute, None) is not None:
            found.append(getattr(item, attribute))
    # A union with None (``Name | SkipJsonSchema[None]``) keeps its constraints on the str member.
    annotation = schema.model_fields[field].annotation
    for member in getattr(annotation, "__args__", ()):
        for item in getattr(member, "__metadata__", ()):
            if getattr(item, attribute, None) is not None:
                found.append(getattr(item, attribute))
    assert len(set(found)) == 1, (schema.__name__, field, found)
    return found[0]


def _form_limit(form: type, field: str, kind: type) -> Any:
    validators = getattr(form, field).kwargs["validators"]
    (limit,) = [v.max for v in validators if isinstance(v, kind)]
    return limit


TEXT = [
    # (model, column, form, schemas)
    (Person, "full_name", PersonForm, [PersonIn]),
    (Person, "relation_to_head", PersonForm, [PersonIn]),
    (Person, "phone", PersonForm, [PersonIn]),
    (Person, "ethnicity", PersonForm, [PersonIn]),
    (Household, "code", HouseholdForm, [HouseholdEdit]),
    (Household, "address", HouseholdForm, [HouseholdEdit]),
    (Organisation, "name", OrganisationForm, [OrganisationEdit]),
    (Organisation, "address", OrganisationForm, [OrganisationEdit]),
    (Clc, "name", ClcForm, [ClcEdit]),
    (Clc, "address", ClcForm, [ClcEdit]),
    (Course, "code", CourseForm, [CourseIn]),
    (Course, "name", CourseForm, [CourseIn]),
    (CourseClass, "name", ClassForm, [ClassIn, ClassEdit]),
]


@pytest.mark.parametrize(("model", "column", "form", "schemas"), TEXT, ids=lambda v: getattr(v, "__name__", v))
def test_a_text_field_has_one_length_at_every_door(model, column, form, schemas):
    length = model.__table__.c[column].type.length
    assert _form_limit(form, column, Length) == length
    for schema in schemas:
        assert _schema_limit(schema, column, MaxLen) == length, schema.__name__


def test_a_class_seats_as_many_through_the_form_as_through_the_api():
    limit = _form_limit(ClassForm, "capacity", NumberRange)
    assert limit == _schema_limit(ClassIn, "capacity", Le) == _schema_limit(ClassEdit, "capacity", Le) == 10_000


IMPORTED = [
    # (layout, its column, model, the model's column)
    (importer._Households, "full_name", Person, "full_name"),
    (importer._Households, "relation_to_head", Person, "relation_to_head"),
    (importer._Households, "ethnicity", Person, "ethnicity"),
    (importer._Households, "address", Household, "address"),
    (importer._Households, "household_code", Household, "code"),
    (importer._Organisations, "organisation_name", Organisation, "name"),
    (importer._Organisations, "organisation_code", Organisation, "code"),
]


@pytest.mark.parametrize(("layout", "key", "model", "column"), IMPORTED, ids=lambda v: getattr(v, "__name__", v))
def test_the_import_keeps_what_the_column_keeps_and_refuses_one_character_more(layout, key, model, column):
    length = model.__table__.c[column].type.length
    (read,) = [c for c in layout.columns if c.key == key]
    assert read.parse("a" * length) == "a" * length
    with pytest.raises(importer._Invalid) as refused:
        read.parse("a" * (length + 1))
    assert refused.value.code == "too_long"


@pytest.fixture
def bearer(app_ctx):
    village = make_village(unit_by_code("23293"), "LIM-1", "Thôn Giới Hạn")
    household = make_household(village, "1", "Nguyễn Văn Đức")
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"), "limits@example.vn")
    _, secret = ApiToken.issue(user, "limits")
    db.session.commit()
    return household, {"Authorization": f"Bearer {secret}"}


def test_the_api_keeps_an_ethnicity_of_sixty_characters_as_the_form_does(client, bearer):
    household, headers = bearer
    sixty = "Dân tộc có tên dài " + "x" * 41
    assert len(sixty) == 60
    response = client.post(
        "/api/v1/persons",
        json={"full_name": "Lê Văn Dài", "household_id": household.id, "ethnicity": sixty},
        headers=headers,
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, response.get_json()["id"]).ethnicity == sixty
    response = client.patch(
        f"/api/v1/persons/{household.members[0].id}", json={"ethnicity": sixty + "x"}, headers=headers
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["ethnicity"]


def test_a_household_number_is_kept_as_the_import_reads_it(client, bearer):
    """The import reads a household's number without its spaces ("H 1" is "H1"); the form and the API kept them, so
    a file naming the household after an edit made another household."""
    household, headers = bearer
    response = client.patch(f"/api/v1/households/{household.id}", json={"code": " H 2 B "}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    (number,) = [c for c in importer._Households.columns if c.key == "household_code"]
    assert response.get_json()["code"] == number.parse(" H 2 B ") == "H2B"


def test_a_course_s_minimum_attendance_is_a_whole_percent_at_every_door(client, app_ctx):
    """The form edits a whole percent from 1 to 100; the API took a share with three decimals (0.805) or under 1 %
    (0.005), which the form cannot show or edit and the pages printed rounded (81 %) while completion used 80.5 %.
    The form, the API and the service now take the same values."""
    from decimal import Decimal

    from annotated_types import Ge

    from courses import services as course_services
    from courses.models import ATTENDANCE_SHARE_PLACES, MAX_ATTENDANCE_PERCENT, MIN_ATTENDANCE_PERCENT

    (rule,) = [v for v in CourseForm.min_attendance_percent.kwargs["validators"] if isinstance(v, NumberRange)]
    assert (rule.min, rule.max) == (MIN_ATTENDANCE_PERCENT, MAX_ATTENDANCE_PERCENT) == (1, 100)
    assert _schema_limit(CourseIn, "min_attendance_share", Le) == Decimal(rule.max) / 100
    (ge,) = [m.ge for m in CourseIn.model_fields["min_attendance_share"].metadata if isinstance(m, Ge)]
    assert ge == Decimal(rule.min) / 100
    (places,) = [
        m.decimal_places for m in CourseIn.model_fields["min_attendance_share"].metadata if hasattr(m, "decimal_places")
    ]
    assert places == ATTENDANCE_SHARE_PLACES == 2  # a whole percent as a share

    commune = unit_by_code("23293")
    _, secret = ApiToken.issue(make_user(Role.CENTRE_MANAGER, commune, "courses-limits@example.vn"), "courses")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}

    def create(code, share):
        body = {"unit_id": commune.id, "code": code, "name": "Trồng lúa", "category": "technology_transfer"}
        return client.post(
            "/api/v1/courses", json={**body, "planned_hours": 10, "min_attendance_share": share}, headers=headers
        )

    for share in (0.805, 0.005, 0, 1.01):
        response = create(f"ATT-{share}", share)
        assert response.status_code == 422, (share, response.get_data(as_text=True))
        assert [e["field"] for e in response.get_json()["errors"]] == ["min_attendance_share"]
        with pytest.raises(course_services.CourseError) as refused:
            course_services.create_course(
                unit=commune,
                code=f"SVC-{share}",
                name="Trồng lúa",
                category="technology_transfer",
                planned_hours=Decimal(10),
                min_attendance_share=Decimal(str(share)),
            )
        assert refused.value.field == "min_attendance_share"
    for share, percent in ((0.01, 1), (0.75, 75), (1, 100)):
        response = create(f"ATT-OK-{percent}", share)
        assert response.status_code == 201, response.get_data(as_text=True)
        course = db.session.get(Course, response.get_json()["id"])
        assert course.min_attendance_share * 100 == percent  # what the form shows is what completion uses
