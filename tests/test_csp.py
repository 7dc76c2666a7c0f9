"""The Content-Security-Policy runs no inline code: templates carry no inline event handler, ``style=`` attribute
or un-nonced ``<script>``/``<style>`` block, and every page's header names only our origin and this request's
nonce (the header on every GET route of the URL map: ``tests/test_security_headers.py``)."""

from __future__ import annotations

import re

import pytest

from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import login, make_user
from tests.test_permissions import two_communes  # noqa: F401 - a fixture

NONCE = 'nonce="{{ csp_nonce() }}"'
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
STYLE = re.compile(r"<style\b([^>]*)>", re.IGNORECASE)
# An attribute inside a tag: on…= (an inline handler) or style=.
HANDLER = re.compile(r"<[a-zA-Z][^<>]*?\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"<[a-zA-Z][^<>]*?\sstyle\s*=", re.IGNORECASE)


def inline_code(source: str) -> list[str]:
    """What in a template the policy would block: each finding names its kind and the tag."""
    found = []
    for match in SCRIPT.finditer(source):
        attributes = match.group(1)
        if "src=" in attributes or 'type="application/json"' in attributes or NONCE in attributes:
            continue
        found.append(f"inline script {match.group(0)}")
    found += [f"inline style {m.group(0)}" for m in STYLE.finditer(source) if NONCE not in m.group(1)]
    found += [f"event handler {m.group(0)}" for m in HANDLER.finditer(source)]
    found += [f"style attribute {m.group(0)}" for m in STYLE_ATTRIBUTE.finditer(source)]
    if "javascript:" in source:
        found.append("javascript: URL")
    return found


def _templates(app) -> dict[str, str]:
    env = app.jinja_env
    return {name: env.loader.get_source(env, name)[0] for name in env.list_templates(extensions=["html"])}


def test_the_scanner_finds_what_the_policy_blocks():
    assert inline_code('<input type="checkbox" onclick="go()">')
    assert inline_code("<div class='x' style=\"width: 5%\">")
    assert inline_code("<script>alert(1)</script>")
    assert inline_code("<style>.a{}</style>")
    assert inline_code('<a href="javascript:go()">')
    assert not inline_code(f"<script {NONCE}>go()</script><style {NONCE}>.a{{}}</style>")
    assert not inline_code('<script src="/static/lms.js"></script><script type="application/json" id="x">{}</script>')
    assert not inline_code('<button data-confirm="Sure?" data-select-all="ids">')


def test_no_template_carries_inline_code(app):
    templates = _templates(app)
    assert len(templates) > 50
    found = {name: inline_code(source) for name, source in templates.items()}
    assert {name: lines for name, lines in found.items() if lines} == {}


@pytest.fixture
def admin_client(client, two_communes):  # noqa: F811
    admin = make_user(Role.ADMINISTRATOR, two_communes["a"]["commune"], "csp@example.vn")
    db.session.commit()
    login(client, admin)
    return client


def _policy(response) -> dict[str, list[str]]:
    directives = (part.strip().split() for part in response.headers["Content-Security-Policy"].split(";"))
    return {d[0]: d[1:] for d in directives if d}


def test_a_page_policy_allows_our_origin_and_this_request_nonce_only(admin_client, two_communes):  # noqa: F811
    url = f"/registry/imports/{two_communes['a']['job_id']}"
    first, second = admin_client.get(url), admin_client.get(url)
    assert first.status_code == second.status_code == 200
    policy = _policy(first)
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive]
        assert "'unsafe-eval'" not in policy[directive]
        sources = [s for s in policy[directive] if s != "'self'"]
        assert len(sources) == 1, policy[directive]
        assert sources[0].startswith("'nonce-"), policy[directive]
    nonce = policy["style-src"][1][len("'nonce-") : -1]
    assert f'<style nonce="{nonce}">' in first.get_data(as_text=True)
    # A new nonce on every response: one seen in a page does not unlock the next.
    assert _policy(second)["style-src"] != policy["style-src"]


def test_a_page_without_inline_blocks_names_no_nonce(admin_client):
    policy = _policy(admin_client.get("/"))
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
