"""Text with a control character (NUL above all) is refused by its field, in Vietnamese, before it reaches the
database: PostgreSQL refuses NUL in any string ("A string literal cannot contain NUL (0x00) characters"), so a name,
a note or a search sent with one was a 500 there — and was stored as sent on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lms.auth.models import ApiToken, Role
from lms.extensions import db
from lms.registry.models import Person
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code

MESSAGE = (
    "Nội dung này có ký tự điều khiển không nhìn thấy được (như NUL): hãy gõ lại, hoặc dán dưới dạng văn bản thuần."
)


@pytest.fixture
def household(app_ctx):
    village = make_village(unit_by_code("23293"), "NUL-1", "Thôn Ký Tự")
    household = make_household(village, "1", "Nguyễn Văn Đức")
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"), "nul@example.vn")
    _, secret = ApiToken.issue(user, "nul")
    db.session.commit()
    return household, user, {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("text", ["Nguyễn\x00 Văn An", "Lê\x1b Thị"])
def test_an_api_body_with_a_control_character_is_a_named_422(client, household, text):
    household, _, bearer = household
    body = {"full_name": text, "household_id": household.id, "relation_to_head": "Con"}
    response = client.post("/api/v1/persons", json=body, headers=bearer)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"] == [{"field": "full_name", "message": MESSAGE}]
    assert db.session.scalar(select(Person.id).where(Person.full_name.like("%Văn An%"))) is None


def test_a_list_of_texts_and_a_query_are_checked_too(client, household):
    _, _, bearer = household
    response = client.get("/api/v1/persons?q=Nguy%00en", headers=bearer)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"] == [{"field": "q", "message": MESSAGE}]


def test_a_tab_and_a_line_break_are_text(client, household):
    household, _, bearer = household
    response = client.post(
        "/api/v1/persons", json={"full_name": "Lê Văn\tTab", "household_id": household.id}, headers=bearer
    )
    assert response.status_code == 201, response.get_data(as_text=True)


def test_a_form_with_a_control_character_shows_the_message_at_its_field(client, household):
    household, user, _ = household
    person = household.members[0]
    login(client, user)
    edit = f"/registry/persons/{person.id}/edit"
    data = {"csrf_token": csrf_token(client, edit), "full_name": "Nguyễn Văn\x00 Đức", "occupation_group": "other"}
    response = client.post(edit, data=data)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert MESSAGE in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, person.id).full_name == "Nguyễn Văn Đức"


def test_a_search_with_a_control_character_finds_as_without_it(client, app_ctx):
    """The accounts page searched the e-mail column with the query as sent: a NUL in it was a 500 on PostgreSQL.
    A search key (lms.registry.text.fold) keeps no control characters."""
    from tests.auth.test_accounts import _admin

    admin = _admin()
    db.session.commit()
    login(client, admin)
    response = client.get("/users?q=admin51%00")
    assert response.status_code == 200
    assert "admin51@example.vn" in response.get_data(as_text=True)
