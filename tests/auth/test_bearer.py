"""A request with ``Authorization: Bearer`` is its token's user or nobody, whatever cookies it carries."""

from __future__ import annotations

from lms.auth.models import ApiToken, Role
from lms.extensions import db
from tests.conftest import login, make_household, make_user, make_village, unit_by_code


def _commune_with_person(code: str, name: str) -> None:
    make_household(make_village(unit_by_code(code), f"BEARER-{code}", f"Thôn {code}"), f"H-{code}", name)


def _token_for(user) -> dict[str, str]:
    _, secret = ApiToken.issue(user, "phone")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _names(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return {item["full_name"] for item in response.get_json()["items"]}


def test_a_token_works_after_the_login_page_set_a_cookie(app_ctx, client):
    _commune_with_person("23293", "Y Bearer")
    headers = _token_for(make_user(Role.CENTRE_MANAGER, unit_by_code("23293")))
    client.get("/login")  # a browser-like client now holds a session cookie with the CSRF secret
    assert "Y Bearer" in _names(client.get("/api/v1/persons", headers=headers))


def test_the_token_decides_even_when_another_user_is_logged_in(app_ctx, client):
    _commune_with_person("23293", "Y Alpha")
    _commune_with_person("23302", "Y Beta")
    cookie_user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    headers = _token_for(make_user(Role.CENTRE_MANAGER, unit_by_code("23302")))
    login(client, cookie_user)
    assert "Y Alpha" in _names(client.get("/api/v1/persons"))
    names = _names(client.get("/api/v1/persons", headers=headers))
    assert "Y Beta" in names
    assert "Y Alpha" not in names


def test_a_bad_token_is_refused_even_with_a_valid_session_cookie(app_ctx, client):
    login(client, make_user(Role.CENTRE_MANAGER, unit_by_code("23293")))
    response = client.get("/api/v1/persons", headers={"Authorization": "Bearer lms_not-a-token"})
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    # and a page with a bad token is not the cookie's user either
    assert client.get("/", headers={"Authorization": "Bearer lms_not-a-token"}).status_code == 302
