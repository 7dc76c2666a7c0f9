"""A person's fields are refused, by name and in Vietnamese, when the database cannot keep them or they cannot be
true — never a 500, never stored: a phone or a relation longer than its column (a 500 on PostgreSQL, kept whole on
SQLite), a phone that is not a number, an occupation group sent as null (the column is never empty: a 500), a date
of birth in the future or before 1800 (the import refuses both; the form and the API kept them)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lms.auth.models import ApiToken, Role
from lms.extensions import db
from lms.registry.models import Person
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code


@pytest.fixture
def household(app_ctx):
    village = make_village(unit_by_code("23293"), "FLD-1", "Thôn Trường")
    household = make_household(village, "1", "Nguyễn Văn Đức")
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"), "fields@example.vn")
    _, secret = ApiToken.issue(user, "fields")
    db.session.commit()
    return household, user, {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "0905 123 456 789 0123", "Không được quá 20 ký tự."),
        ("phone", "Nguyễn Thị Hương", None),
        ("relation_to_head", "Con dâu của em trai chồng của chị gái cả nhà", "Không được quá 40 ký tự."),
        ("occupation_group", None, "Chọn một nhóm nghề nghiệp, hoặc bỏ trường này đi."),
        ("birth_date", "2999-01-01", "Hãy nhập ngày sinh từ 01/01/1800 đến hôm nay."),
        ("birth_date", "0026-05-01", "Hãy nhập ngày sinh từ 01/01/1800 đến hôm nay."),
    ],
)
def test_the_api_names_the_field(client, household, field, value, message):
    household, _, bearer = household
    body = {"full_name": "Lê Văn Trường", "household_id": household.id, field: value}
    response = client.post("/api/v1/persons", json=body, headers=bearer)
    assert response.status_code == 422, response.get_data(as_text=True)
    errors = response.get_json()["errors"]
    assert [e["field"] for e in errors] == [field]
    if message:
        assert errors[0]["message"] == message
    person = household.members[0]
    response = client.patch(f"/api/v1/persons/{person.id}", json={field: value}, headers=bearer)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert [e["field"] for e in response.get_json()["errors"]] == [field]
    db.session.expire_all()
    assert db.session.query(Person).filter_by(full_name="Lê Văn Trường").count() == 0
    assert (person.phone, person.birth_date, person.occupation_group) == (None, None, "other")


def test_the_form_refuses_a_birth_date_in_the_future(client, household):
    household, user, _ = household
    person = household.members[0]
    login(client, user)
    edit = f"/registry/persons/{person.id}/edit"
    tomorrow = date.today() + timedelta(days=2)
    data = {"csrf_token": csrf_token(client, edit), "full_name": person.full_name, "occupation_group": "other"}
    response = client.post(edit, data={**data, "birth_date": tomorrow.isoformat()})
    assert response.status_code == 200
    assert "Hãy nhập ngày sinh từ 01/01/1800 đến hôm nay." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, person.id).birth_date is None
    assert client.post(edit, data={**data, "birth_date": "1948-05-12"}).status_code == 302


def test_a_refusal_s_summary_is_in_the_callers_language(client, household):
    """The handlers' refusals without a summary of their own said "The request has invalid fields." in English
    above Vietnamese messages."""
    household, _, bearer = household
    person = household.members[0]
    response = client.patch(f"/api/v1/persons/{person.id}", json={"household_id": household.id}, headers=bearer)
    assert response.status_code == 422
    assert response.get_json()["detail"] == "Yêu cầu có trường không hợp lệ."
