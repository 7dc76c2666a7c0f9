"""A request with ``Authorization: Bearer`` is its token's user or nobody, whatever cookies it carries."""

from __future__ import annotations

import re

from sqlalchemy import update

from lms.auth.models import ApiToken, Role, User
from lms.extensions import db, utcnow
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


# --- the token from the user cache (ADR 27; ADR 28, seventh pass) ---------------------------------------------------


def _token_and_headers(user) -> tuple[ApiToken, dict[str, str]]:
    token, secret = ApiToken.issue(user, "phone")
    db.session.commit()
    return token, {"Authorization": f"Bearer {secret}"}


def _reads_of_the_login(statements: list[str]) -> list[str]:
    return [s for s in statements if re.search(r"\bFROM (api_token|\"user\"|user|role_assignment)\b", s)]


def test_a_token_used_again_costs_no_statement_for_its_user(app_ctx, client, count_queries):
    _commune_with_person("23293", "Y Cached")
    _token, headers = _token_and_headers(make_user(Role.CENTRE_MANAGER, unit_by_code("23293")))
    with count_queries() as first:
        assert "Y Cached" in _names(client.get("/api/v1/persons", headers=headers))
    assert _reads_of_the_login(first.statements)  # the first request reads the token, its user and roles
    with count_queries() as again:
        assert "Y Cached" in _names(client.get("/api/v1/persons", headers=headers))
    assert _reads_of_the_login(again.statements) == []


def test_a_token_used_again_reads_every_users_generation_once(app_ctx, client, monkeypatch):
    """ADR 28, eighth pass: the token's look-up and its user's read the same generation of everyone, once — a cache
    read less per request (a file on the embedded cache, a key on Redis)."""
    from lms.auth.generations import EVERYONE_KEY
    from lms.extensions import cache

    _commune_with_person("23293", "Y Once")
    _token, headers = _token_and_headers(make_user(Role.CENTRE_MANAGER, unit_by_code("23293")))
    assert "Y Once" in _names(client.get("/api/v1/persons", headers=headers))
    asked = []
    get_many = cache.get_many
    monkeypatch.setattr(cache, "get_many", lambda *keys: asked.extend(keys) or get_many(*keys))
    assert "Y Once" in _names(client.get("/api/v1/persons", headers=headers))
    assert asked.count(EVERYONE_KEY) == 1


def test_a_token_revoked_is_refused_at_the_next_request(app_ctx, client):
    _commune_with_person("23293", "Y Revoked")
    token, headers = _token_and_headers(make_user(Role.CENTRE_MANAGER, unit_by_code("23293")))
    assert "Y Revoked" in _names(client.get("/api/v1/persons", headers=headers))  # now in the cache
    db.session.get(ApiToken, token.id).revoked_at = utcnow()  # as the account page does
    db.session.commit()
    assert client.get("/api/v1/persons", headers=headers).status_code == 401


def test_a_revocation_rolled_back_keeps_the_token(app_ctx, client):
    _commune_with_person("23293", "Y Kept")
    token, headers = _token_and_headers(make_user(Role.CENTRE_MANAGER, unit_by_code("23293")))
    assert "Y Kept" in _names(client.get("/api/v1/persons", headers=headers))
    db.session.get(ApiToken, token.id).revoked_at = utcnow()
    db.session.flush()
    db.session.rollback()
    assert "Y Kept" in _names(client.get("/api/v1/persons", headers=headers))


def test_tokens_revoked_in_bulk_or_their_user_deactivated_are_refused_at_the_next_request(app_ctx, client):
    _commune_with_person("23293", "Y Bulk")
    first, first_headers = _token_and_headers(make_user(Role.CENTRE_MANAGER, unit_by_code("23293")))
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "second@example.vn")
    _second, second_headers = _token_and_headers(user)
    for headers in (first_headers, second_headers):
        assert "Y Bulk" in _names(client.get("/api/v1/persons", headers=headers))
    db.session.execute(update(ApiToken).where(ApiToken.id == first.id).values(revoked_at=utcnow()))
    db.session.get(User, user.id).active = False
    db.session.commit()
    assert client.get("/api/v1/persons", headers=first_headers).status_code == 401
    assert client.get("/api/v1/persons", headers=second_headers).status_code == 401


def test_an_unknown_token_leaves_nothing_in_the_cache(app_ctx, client):
    """Random bearer strings must not each make a generation that never expires (they would fill the cache)."""
    from lms.auth import usercache
    from lms.auth.generations import gen_key
    from lms.extensions import cache

    secret = "lms_no-such-token-" + "x" * 20
    assert client.get("/api/v1/persons", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    token_hash = ApiToken.hash(secret)
    assert cache.get(gen_key(usercache._token_name(token_hash))) is None
    assert cache.get(usercache._token_key(token_hash)) is None


def test_a_revocation_between_the_read_and_the_first_generation_stores_nothing(app_ctx, client):
    """The token read, then revoked by another request (its generation set at that commit) before this one makes the
    token's first generation: this request must not store what it read, or the revoked token would stand 30 s."""
    from lms.auth import generations, usercache
    from lms.extensions import cache

    token, _headers = _token_and_headers(make_user(Role.CENTRE_MANAGER, unit_by_code("23293")))

    def read_then_revoked_elsewhere():
        found = db.session.get(ApiToken, token.id)
        usercache.bump({usercache._token_name(token.token_hash)})  # what the revocation's commit does
        return found

    with client.application.test_request_context():
        generations.token(generations.EVERYONE, None)  # everyone's generation exists, as it does once anyone logged in
        found, _user = usercache.load_token(token.token_hash, read_then_revoked_elsewhere)
    assert found is not None  # this request was read before the revocation
    assert cache.get(usercache._token_key(token.token_hash)) is None
