"""CSRF over the route map: a logged-in browser's unsafe request without the token is refused (400) on every
route, pages and API alike, before anything changes; only bearer-token API calls need none (tests/test_api.py)."""

from __future__ import annotations

from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import login, make_user
from tests.test_permissions import _rules, _url, two_communes  # noqa: F401 - two_communes is a fixture

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_unsafe_route_needs_the_csrf_token(app, client, two_communes):  # noqa: F811
    admin = make_user(Role.ADMINISTRATOR, two_communes["a"]["commune"], "csrf@example.vn")
    db.session.commit()
    login(client, admin)
    checked, missed = 0, []
    for rule, method in _rules(app):
        if method not in UNSAFE:
            continue
        url = _url(app, rule, two_communes["a"])
        kwargs = {"json": {}} if rule.rule.startswith("/api/") else {"data": {}}
        response = client.open(url, method=method, **kwargs)
        body = response.get_data(as_text=True)
        # The API names CSRF in its problem+json; a page says so in Vietnamese, in the site's layout.
        if response.status_code != 400 or ("CSRF" not in body and "Biểu mẫu đã hết hạn" not in body):
            missed.append((method, url, response.status_code))
        checked += 1
    assert not missed
    assert checked >= 40
