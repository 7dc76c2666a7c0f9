"""Text is stored in Unicode's composed form (NFC) and without surrounding spaces, however it came: a name typed
with combining marks (NFD — some phones and macOS send "Nguyễn" as "Nguye" + two marks + "n") was stored so, and
was another string to an exact match, a sort, a duplicate check and a length limit; a relation to the head or an
ethnicity kept the spaces it was typed with. One rule at the shared input layer (ADR 58): the forms' base
(lms.core.forms.LmsForm), the API's (lms.api.schema.Body/Query) and the spreadsheets' cells
(lms.core.spreadsheet.read_rows)."""

from __future__ import annotations

import unicodedata

import pytest
from sqlalchemy import select

from courses.models import Course
from lms.auth.models import ApiToken, Role
from lms.auth.services import create_user
from lms.core import spreadsheet
from lms.extensions import db
from lms.registry.models import Person
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code

NAME = "Nguyễn Thị Hường"
NFD = unicodedata.normalize("NFD", NAME)
assert NFD != NAME


@pytest.fixture
def household(app_ctx):
    village = make_village(unit_by_code("23293"), "NFC-1", "Thôn Dấu")
    household = make_household(village, "1", "Lê Văn Chủ")
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"), "nfc@example.vn")
    _, secret = ApiToken.issue(user, "nfc")
    db.session.commit()
    return household, user, {"Authorization": f"Bearer {secret}"}


def _stored(name: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.full_name == name))


def test_the_api_stores_a_name_typed_with_combining_marks_composed(client, household):
    household, _, bearer = household
    body = {"full_name": NFD, "household_id": household.id, "relation_to_head": "  Con  ", "ethnicity": " "}
    response = client.post("/api/v1/persons", json=body, headers=bearer)
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["full_name"] == NAME
    db.session.expire_all()
    person = _stored(NAME)
    assert person is not None
    assert (person.relation_to_head, person.ethnicity) == ("Con", None)
    found = client.get(f"/api/v1/persons?q={NAME}", headers=bearer).get_json()
    assert [item["full_name"] for item in found["items"]] == [NAME]
    response = client.patch(f"/api/v1/persons/{person.id}", json={"ethnicity": "  Ba Na "}, headers=bearer)
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, person.id).ethnicity == "Ba Na"


def test_the_form_stores_a_name_typed_with_combining_marks_composed(client, household):
    household, user, _ = household
    person = household.members[0]
    login(client, user)
    edit = f"/registry/persons/{person.id}/edit"
    data = {
        "csrf_token": csrf_token(client, edit),
        "full_name": NFD,
        "occupation_group": "other",
        "relation_to_head": "  Chủ hộ ",
    }
    response = client.post(edit, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.expire_all()
    stored = db.session.get(Person, person.id)
    assert (stored.full_name, stored.relation_to_head) == (NAME, "Chủ hộ")
    page = client.get(f"/registry/search?q={NAME}").get_data(as_text=True)
    assert NAME in page


def test_an_import_stores_a_name_typed_with_combining_marks_composed(household):
    from tests.registry.test_import import HOUSEHOLD_HEADER, csv_bytes, run

    household, _, _ = household
    village = household.village
    rows = [HOUSEHOLD_HEADER, ["NFC-1", "2", "", NFD, "", "Nữ", unicodedata.normalize("NFD", "Chủ hộ"), "", "", ""]]
    job = run("households", csv_bytes(rows), village.parent)
    assert job.status == "succeeded", job.errors
    person = _stored(NAME)
    assert person is not None
    assert person.relation_to_head == "Chủ hộ"  # NFC: the head of the household is found by HEAD_RELATIONS


def test_every_text_cell_of_a_spreadsheet_is_read_composed():
    content = f"name,hours\n{NFD},12\n".encode()
    rows = list(spreadsheet.read_rows("x.csv", content, spreadsheet.Limits(max_rows=10)))
    assert rows[1][1][0] == NAME


def test_a_course_named_with_combining_marks_is_stored_composed_by_the_api_and_the_form(client, app_ctx):
    from tests.courses.conftest import make_centre

    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    _, secret = ApiToken.issue(user, "nfc")
    db.session.commit()
    name = "Trồng lúa nước"
    body = {
        "unit_id": centre.commune.id,
        "code": "NFC-1",
        "name": unicodedata.normalize("NFD", name),
        "category": "needs_based",
        "planned_hours": 8,
    }
    created = client.post("/api/v1/courses", json=body, headers={"Authorization": f"Bearer {secret}"})
    assert created.status_code == 201, created.get_json()
    login(client, user)
    response = client.post(
        "/courses/new",
        data={
            "csrf_token": csrf_token(client, "/courses/new"),
            "unit": centre.commune.id,
            "code": "NFC-2",
            "name": " " + unicodedata.normalize("NFD", name) + " ",
            "category": "needs_based",
            "planned_hours": "8",
            "min_attendance_percent": "80",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert sorted(db.session.scalars(select(Course.code).where(Course.name == name))) == ["NFC-1", "NFC-2"]


def test_an_account_made_by_the_command_line_stores_its_name_composed(app_ctx):
    """``flask users create`` (and the demo's accounts) go through ``create_user``, not a form: the same rule."""
    user = create_user("nfd.user@example.vn", f"  {NFD}  ", "a-long-enough-password")
    assert user.name == NAME
    assert user.name_folded == "nguyen thi huong"
