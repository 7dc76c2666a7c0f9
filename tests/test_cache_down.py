"""The shared cache used as a cache (``lms.core.cache``): with Redis unreachable a read is a miss and a write is
skipped, so a signed-in leader still gets the dashboard and the values API from the database — before, every
request with a session cookie answered 500 — and a deactivation made while it is down is still honoured."""

from __future__ import annotations

import logging

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from lms.auth.models import Role, User
from lms.core.cache import TolerantRedisCache
from lms.extensions import cache, db
from lms.targets import cache as targets_cache
from tests.conftest import login, make_user
from tests.targets.dashboard_data import build_province

pytestmark = pytest.mark.usefixtures("client")


def _unreachable() -> TolerantRedisCache:
    # A socket that does not exist: the connection fails at once, with no retry (as the factory configures it).
    client = redis.Redis(unix_socket_path="/nonexistent/lms-test-redis.sock", retry=Retry(NoBackoff(), 0))
    return TolerantRedisCache(host=client)


def test_every_operation_misses_or_is_skipped_and_an_invalidation_lost_is_an_error(caplog):
    down = _unreachable()
    with caplog.at_level(logging.WARNING, logger="lms.core.cache"):
        assert down.get("k") is None  # fails, and the cache is left alone for RETRY_AFTER seconds
        assert down.get_many("a", "b") == [None, None]
        assert down.has("k") is False
        assert down.set("k", 1) is False
        assert down.add("k", 1) is False
        assert down.set_many({"a": 1}) == []
        assert down.delete("k") is False
        assert down.delete_many("a") == []
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert messages[0][0] == logging.WARNING
    assert "get of k failed" in messages[0][1]
    # Asked once; the invalidations skipped while it is down are errors, named with what they could not replace.
    assert [level for level, text in messages if "failed" in text] == [logging.WARNING]
    assert [level for level, text in messages if "skipped" in text] == [logging.ERROR, logging.ERROR]
    caplog.clear()
    down._down_until = 0.0  # RETRY_AFTER later: asked again
    assert down.get("k") is None
    assert "get of k failed" in caplog.records[0].getMessage()


@pytest.fixture
def cache_down(app):
    held = app.extensions["cache"][cache]
    app.extensions["cache"][cache] = _unreachable()
    yield
    app.extensions["cache"][cache] = held


def test_with_the_cache_down_the_dashboard_is_served_from_the_database(app, cache_down):
    data = build_province(2)
    leader = make_user(Role.COMMUNE_LEADER, data.communes[0], "leader@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    page = client.get(f"/targets/units/{data.communes[0].id}")
    assert page.status_code == 200
    assert data.communes[0].name in page.get_data(as_text=True)
    assert client.get("/api/v1/targets/values?period=2025").status_code == 200
    # The deactivation's generation bump fails too: the user is read from the database, so it is honoured.
    user = db.session.get(User, leader.id)
    assert user is not None
    user.active = False
    db.session.commit()
    assert client.get(f"/targets/units/{data.communes[0].id}").status_code == 302


def test_a_unit_id_typed_in_the_url_makes_no_generation(app):
    """Only a unit the leader may see, and that exists, gets a dashboard generation: ids typed in the URL (unknown,
    or another commune's) leave nothing in the cache."""
    data = build_province(2)
    leader = make_user(Role.COMMUNE_LEADER, data.communes[0], "leader@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    theirs = data.communes[1].id
    for unit_id in (9_999_999, theirs):
        assert client.get(f"/targets/units/{unit_id}").status_code == 404
        assert cache.get(targets_cache._gen_key(unit_id)) is None
    mine = data.communes[0].id
    assert client.get(f"/targets/units/{mine}").status_code == 200
    assert cache.get(targets_cache._gen_key(mine)) is not None
