"""Cached dashboards (ADR 27): the page and the values API answer come from the cache until the roll-up writes new
figures; ETag/304; scopes resolved once per request and per user; users with different scopes never share."""

from __future__ import annotations

import contextvars
import re
from datetime import date

import pytest

from lms import create_app
from lms.auth.models import Role, User
from lms.auth.permissions import Permission, can, scope_paths
from lms.auth.services import assign_role
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit, UnitLevel, UnitLineage
from lms.targets import cache, compute
from lms.targets.models import Basis, IndicatorSourceValue, IndicatorValue, PeriodKind
from tests.conftest import activate_celery, login, make_user
from tests.targets.dashboard_data import build_province, make_unit
from tests.targets.test_dashboard import _tables_read, _text

pytestmark = pytest.mark.usefixtures("client")  # app.test_client() is an IsolatedClient: a request per context


def _without_tokens(html: str) -> str:
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", html)


def test_a_second_request_is_served_from_the_cache(app, count_queries):
    data = build_province(3)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    url = f"/targets/units/{data.province.id}"
    with count_queries() as first:
        page = client.get(url)
    assert page.status_code == 200
    assert "indicator_value" in _tables_read(first.statements)
    with count_queries() as second:
        again = client.get(url)
    assert again.status_code == 200
    assert not _tables_read(second.statements) & {"indicator_value", "plan", "indicator", "target", "unit_lineage"}
    assert second.statements == []  # the user, their roles and scopes from the cache too (lms/auth/usercache.py)
    assert _without_tokens(again.get_data(as_text=True)) == _without_tokens(page.get_data(as_text=True))
    assert "65,0 %" in _text(again.get_data(as_text=True))
    # The layout's forms still work: the cached page carries this session's token, and logging out succeeds.
    token = re.search(r'name="csrf_token" value="([^"]+)"', again.get_data(as_text=True))
    assert token is not None
    assert client.post("/logout", data={"csrf_token": token.group(1)}).status_code == 302


def test_the_roll_up_that_changes_a_value_shows_at_the_next_request(app):
    data = build_province(3)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    province_url, commune_url = f"/targets/units/{data.province.id}", f"/targets/units/{data.communes[1].id}"
    before = _text(client.get(province_url).get_data(as_text=True))
    assert "65,0 %" in before  # stored by hand: 195 / 300
    assert "33,3 %" not in before
    assert "70,0 %" in _text(client.get(commune_url).get_data(as_text=True))
    # A write that bypasses the pipeline is not seen: the page is the cached one.
    db.session.execute(
        db.update(IndicatorValue)
        .where(IndicatorValue.unit_id == data.communes[1].id, IndicatorValue.indicator_id == data.family.id)
        .values(numerator=10)
    )
    db.session.commit()
    assert "70,0 %" in _text(client.get(commune_url).get_data(as_text=True))
    # The roll-up sums the communes (20 + 10 + 70 of 300 for 2025) and bumps the generation after its commit.
    compute.rollup(2025)
    db.session.commit()
    text = _text(client.get(province_url).get_data(as_text=True))
    assert "33,3 %" in text  # 2025 (2024 was not rolled up: its 65 % stays in the trend)
    # A commune's own figures are published from its counts (here stored by hand: 45 of 100) under its own
    # generation.
    for indicator in (data.family, data.citizen):
        db.session.add(
            IndicatorSourceValue(
                indicator_id=indicator.id,
                commune_id=data.communes[1].id,
                period_end=date(2025, 12, 31),
                period_kind=PeriodKind.YEAR,
                basis=Basis.OFFICIAL,
                numerator=45,
                denominator=100,
            )
        )
    hood = compute.neighbourhood([data.communes[1].id])
    periods = [(date(2025, 12, 31), PeriodKind.YEAR.value)]
    compute.commune_values([data.family.id, data.citizen.id], hood, periods=periods, now=utcnow())
    db.session.commit()
    commune_text = _text(client.get(commune_url).get_data(as_text=True))
    assert "45,0 %" in commune_text  # the cached page said 70 % (its village still does)


def test_a_hit_sends_no_statement_for_any_level_or_the_api(app, count_queries):
    """Province, commune and the values API: once stored, an answer (and a 304) costs no statement, whatever the
    number of communes; the stored page is only sent after the unit is checked against the user's scope."""
    data = build_province(12)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    for url in (
        f"/targets/units/{data.province.id}",
        f"/targets/units/{data.communes[3].id}",
        f"/api/v1/targets/values?unit={data.province.id}&below=children&period=2025",
    ):
        first = client.get(url)
        assert first.status_code == 200
        with count_queries() as hit:
            again = client.get(url)
            revalidated = client.get(url, headers={"If-None-Match": again.headers["ETag"]})
        assert (again.status_code, revalidated.status_code) == (200, 304)
        assert hit.statements == [], url
        assert _without_tokens(again.get_data(as_text=True)) == _without_tokens(first.get_data(as_text=True))


def test_a_matching_etag_is_answered_304(app):
    data = build_province(2)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    for url in (
        f"/targets/units/{data.province.id}",
        f"/api/v1/targets/values?unit={data.province.id}&below=children&period=2025",
    ):
        first = client.get(url)
        assert first.status_code == 200
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"] == "private, no-cache"
        revalidated = client.get(url, headers={"If-None-Match": etag})
        assert revalidated.status_code == 304
        assert revalidated.get_data() == b""
        assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    # New figures: the old ETag no longer matches.
    url = f"/targets/units/{data.province.id}"
    etag = client.get(url).headers["ETag"]
    compute.rollup(2025)
    db.session.commit()
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


def test_users_with_different_scopes_never_see_each_others_cached_page(app):
    data = build_province(2)
    province_leader = make_user(Role.PROVINCE_LEADER, data.province, "province@example.vn")
    commune_leader = make_user(Role.COMMUNE_LEADER, data.communes[0], "commune@example.vn")
    other_leader = make_user(Role.COMMUNE_LEADER, data.communes[1], "other@example.vn")
    db.session.commit()
    clients = {}
    for user in (province_leader, commune_leader, other_leader):
        clients[user.email] = app.test_client()
        login(clients[user.email], user)
    url = f"/targets/units/{data.communes[0].id}"
    wide = clients["province@example.vn"].get(url).get_data(as_text=True)
    assert province_leader.name in wide
    # The same URL for the commune's own leader: their page (their name, no link up to the province).
    narrow = clients["commune@example.vn"].get(url).get_data(as_text=True)
    assert commune_leader.name in narrow
    assert province_leader.name not in narrow
    assert f'href="/targets/units/{data.province.id}' in wide
    assert f'href="/targets/units/{data.province.id}' not in narrow
    # Outside one's scope the cache changes nothing: not found.
    assert clients["other@example.vn"].get(url).status_code == 404
    # The API: the same query string, each caller's own units.
    api = "/api/v1/targets/values?period=2025&per_page=100"
    everything = {item["unit"]["id"] for item in clients["province@example.vn"].get(api).get_json()["items"]}
    own = {item["unit"]["id"] for item in clients["commune@example.vn"].get(api).get_json()["items"]}
    assert {data.province.id, data.communes[0].id, data.communes[1].id} <= everything
    assert own == {data.communes[0].id, data.villages[0].id}


def _lineage_reads(statements: list[str]) -> int:
    return sum(1 for s in statements if "unit_lineage" in s)


def test_scope_is_resolved_once_whatever_the_number_of_permission_checks(app, count_queries, monkeypatch):
    """One lineage query per request for every permission and every check; none while the user's scope is cached;
    a role granted shows at the next request (the assignments are part of the key)."""
    data = build_province(20, households_per_village=0)
    old = make_unit(data.province, "TPOLD", "Xã Cũ", UnitLevel.COMMUNE)
    old.valid_to = date(2025, 6, 30)
    db.session.add(
        UnitLineage(old_unit_id=old.id, new_unit_id=data.communes[0].id, share=1, effective_on=date(2025, 7, 1))
    )
    leader = make_user(Role.COMMUNE_LEADER, data.communes[0], "leader@example.vn")
    db.session.commit()
    everything = db.session.scalars(db.select(AdminUnit).where(AdminUnit.path.startswith(data.province.path)))
    units = [data.communes[0], *everything]  # the first in scope; the others mostly not

    leader_id, unit_ids = leader.id, [unit.id for unit in units]
    old_path, other_path = old.path, data.communes[1].path

    def request(count: int) -> tuple[int, list[str]]:
        """A request of its own (its own app context, ``g`` and session, as in production) making ``count`` × every
        permission checks."""
        with app.test_request_context(), count_queries() as seen:
            user = db.session.get(User, leader_id)
            rows = db.session.scalars(db.select(AdminUnit).where(AdminUnit.id.in_(unit_ids[:count]))).all()
            assert [unit.id for unit in rows for p in Permission if can(user, p, unit)]
            paths = scope_paths(user, Permission.TARGETS_VIEW)
        return _lineage_reads(seen.statements), paths

    def checks(count: int) -> tuple[int, list[str]]:
        return contextvars.Context().run(request, count)

    monkeypatch.setitem(app.config, "SCOPE_CACHE_SECONDS", 0)  # within one request only
    assert checks(1)[0] == checks(len(units))[0] == 1
    monkeypatch.setitem(app.config, "SCOPE_CACHE_SECONDS", 300)  # and across requests
    reads, paths = checks(1)
    assert reads == 1
    assert old_path in paths  # the predecessor is in the commune leader's scope
    assert other_path not in paths
    assert checks(len(units))[0] == 0
    # A role granted: a new key, a new resolution, at once.
    assign_role(db.session.get(User, leader_id), Role.COMMUNE_LEADER, data.communes[1])
    db.session.commit()
    reads, paths = checks(1)
    assert reads == 1
    assert other_path in paths
    # The page: none of the layout's or the page's permission checks reads the lineage once the scope is known.
    client = app.test_client()
    login(client, leader)
    with count_queries() as page:
        assert client.get(f"/targets/units/{data.communes[0].id}").status_code == 200
    assert _lineage_reads(page.statements) == 0


def test_the_embedded_cache_carries_a_workers_new_generation_to_the_web(app, database_url, tmp_path):
    """The embedded default is a directory both processes see: a roll-up committed by the worker's app replaces the
    generation the web's app reads (two apps with their own cache objects, as two processes would have)."""
    config = {
        "ENV_NAME": "testing",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CACHE_TYPE": "FileSystemCache",
        "CACHE_DIR": str(tmp_path / "cache"),
    }
    try:
        web, worker = create_app(config), create_app(config)
        with web.app_context():
            before = cache.generations([cache.ROLLUP, 7])
            assert cache.generations([cache.ROLLUP, 7]) == before  # stable until bumped
        with worker.app_context():
            cache.bump([cache.ROLLUP])
        with web.app_context():
            after = cache.generations([cache.ROLLUP, 7])
        assert after[0] != before[0]
        assert after[1] == before[1]  # commune 7 was not written
    finally:
        activate_celery(app)


def test_a_cached_page_with_an_inline_block_carries_each_answers_own_nonce(app, monkeypatch):
    """Today's dashboard has no inline block; if it gets one, the stored page must not replay an old nonce: each
    answer's body names the nonce its Content-Security-Policy allows, a new one each time."""
    from flask import render_template_string

    from lms.targets import views

    def page(unit, **extra):
        return render_template_string(
            '<script nonce="{{ csp_nonce() }}">1</script><input name="csrf_token" value="{{ csrf_token() }}">',
            **extra,
        )

    monkeypatch.setattr(views, "_unit_page", page)
    data = build_province(2)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    nonces = []
    for _ in range(3):
        answer = client.get(f"/targets/units/{data.province.id}")
        body = answer.get_data(as_text=True)
        nonce = re.search(r'nonce="([^"]+)"', body)
        assert nonce is not None
        assert f"'nonce-{nonce.group(1)}'" in answer.headers["Content-Security-Policy"]
        assert "\x00" not in body
        nonces.append(nonce.group(1))
    assert len(set(nonces)) == 3


def test_the_api_answer_is_checked_against_its_schema_once_when_stored_not_at_every_hit(app, monkeypatch):
    from lms.targets.schemas import ValuePage

    checked = []
    original = ValuePage.model_validate_json.__func__  # type: ignore[attr-defined]

    def counting(cls, data, *args, **kwargs):
        checked.append(len(data))
        return original(cls, data, *args, **kwargs)

    monkeypatch.setattr(ValuePage, "model_validate_json", classmethod(counting))
    data = build_province(2)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    url = f"/api/v1/targets/values?unit={data.province.id}&below=children&period=2025"
    first = client.get(url)
    assert first.status_code == 200
    assert len(checked) == 1  # by the view, before storing; SpecTree does not check it twice
    again = client.get(url)
    assert again.get_json() == first.get_json()
    assert len(checked) == 1


def test_a_deployment_that_changes_the_menus_shell_does_not_serve_a_page_cached_before_it(app, monkeypatch):
    """The cached page's key holds a digest of its templates, so that a page rendered before a deployment that
    changes one is not served after it. base.html draws the menu with navbar.html's macro: a change to navbar.html
    alone changes the digest too."""
    from lms.targets import views

    loader = app.jinja_env.loader
    original = loader.get_source

    def changed(env, name):
        source, filename, uptodate = original(env, name)
        return (source + "{# changed #}" if name == "navbar.html" else source), filename, uptodate

    with app.test_request_context():
        monkeypatch.setattr(views, "_TEMPLATES", [])
        before = views._templates_digest()
        monkeypatch.setattr(views, "_TEMPLATES", [])
        monkeypatch.setattr(loader, "get_source", changed)
        after = views._templates_digest()
    assert before != after


def test_a_replaced_report_issuers_file_shows_on_a_cached_page_at_once(app, tmp_path):
    """The reports' block names who files them (lms/registry/data/report_issuers.toml): an administrator who points
    LMS_REPORT_ISSUERS_FILE at a file of their own sees it at the next request, not when the figures next change."""
    data = build_province(1)
    data.province.kind = "Tỉnh"
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    url = f"/targets/units/{data.province.id}"
    assert "/BC-HKH" in client.get(url).get_data(as_text=True)
    assert "/BC-HKH" in client.get(url).get_data(as_text=True)  # served from the cache
    own = tmp_path / "issuers.toml"
    own.write_text('[province]\nissuer = ["Sở Giáo dục và Đào tạo"]\nsymbol = "BC-SGDĐT"\n', encoding="utf-8")
    app.config["REPORT_ISSUERS_FILE"] = str(own)
    try:
        page = client.get(url).get_data(as_text=True)
    finally:
        app.config["REPORT_ISSUERS_FILE"] = None
    assert "/BC-SGDĐT" in page
    assert "SỞ GIÁO DỤC VÀ ĐÀO TẠO" in page
