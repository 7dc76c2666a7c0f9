"""Security headers on every response: every GET route of the URL map, anonymous and logged in, whatever the
status (a page, a redirect, a 403/404, an API answer, a download, a static file)."""

from __future__ import annotations

import config
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import login, make_user
from tests.test_permissions import _rules, _url, two_communes  # noqa: F401 - two_communes is a fixture

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _check(response, url):
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (url, response.status_code, name)
    policy = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy, (url, response.status_code)
    if policy == "sandbox; frame-ancestors 'none'":
        return  # an evidence file: nothing in it runs at all
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    assert directives["default-src"] == ["'self'"], (url, policy)
    assert directives["object-src"] == ["'none'"], (url, policy)
    for name in ("script-src", "style-src"):
        sources = directives[name]
        assert sources[0] == "'self'", (url, policy)
        assert "'unsafe-eval'" not in sources, (url, policy)
        assert "'unsafe-inline'" not in sources, (url, response.status_code, policy)
        assert all(s.startswith("'nonce-") for s in sources[1:]), (url, policy)
    assert "Strict-Transport-Security" not in response.headers  # outside production


def _get_every_route(app, client, values) -> int:
    checked = 0
    for rule, method in _rules(app):
        if method != "GET":
            continue
        url = _url(app, rule, values)
        _check(client.get(url), url)
        checked += 1
    return checked


def test_every_get_route_carries_the_headers(app, client, two_communes):  # noqa: F811
    assert _get_every_route(app, client, two_communes["a"]) >= 60  # anonymous: login redirects and 401s
    admin = make_user(Role.ADMINISTRATOR, two_communes["a"]["commune"], "headers@example.vn")
    db.session.commit()
    login(client, admin)
    assert _get_every_route(app, client, two_communes["a"]) >= 60  # pages, downloads, API answers
    assert _get_every_route(app, client, two_communes["b"]) >= 60  # out of scope: 403 and 404


def test_an_evidence_file_keeps_its_sandbox_and_is_not_framable(app, client, two_communes):  # noqa: F811
    admin = make_user(Role.ADMINISTRATOR, two_communes["a"]["commune"], "headers@example.vn")
    db.session.commit()
    login(client, admin)
    response = client.get(f"/titles/assessments/{two_communes['a']['assessment_id']}/evidence")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("sandbox")
    assert "frame-ancestors 'none'" in policy


def test_production_sends_hsts(app, client, monkeypatch):
    assert config.ProductionConfig.HSTS_MAX_AGE >= 365 * 24 * 3600
    monkeypatch.setitem(app.config, "HSTS_MAX_AGE", config.ProductionConfig.HSTS_MAX_AGE)
    response = client.get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
