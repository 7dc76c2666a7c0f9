import os

import pytest

import config
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import PASSWORD, csrf_token, make_user, unit_by_code

# The shared store production needs, where the test run has one (CI: Redis); the per-process store otherwise.
SHARED_STORE = os.environ.get("LMS_TEST_BROKER_URL", "")
STORAGE = SHARED_STORE if SHARED_STORE.startswith("redis://") else "memory://"
LOCKED = "Đăng nhập không thành công quá nhiều lần"


def test_login_is_rate_limited(rate_limited_app):
    client = rate_limited_app(LOGIN_RATE_LIMIT="3 per minute").test_client()
    statuses = []
    for _ in range(5):
        token = csrf_token(client, "/login")
        response = client.post(
            "/login", data={"email": "nobody@example.vn", "password": "wrong password", "csrf_token": token}
        )
        statuses.append(response.status_code)
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]


def _attempt(client, address: str, email: str, password: str):
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        environ_base={"REMOTE_ADDR": address},
    )


@pytest.fixture
def limited(rate_limited_app):
    """A rate-limited app whose own database session holds a committed account (the test's rolled-back
    transaction is not visible to a second app); the account is deleted afterwards."""
    app = rate_limited_app(RATELIMIT_STORAGE_URI=STORAGE)
    with app.app_context():
        user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"), "locked-out@example.vn")
        db.session.commit()
        user_id = user.id
    try:
        yield app
    finally:
        from lms.auth.models import User
        from lms.core.models import AuditEvent

        with app.app_context():
            db.session.execute(
                db.delete(AuditEvent).where(
                    AuditEvent.object_id == str(user_id), AuditEvent.action.in_(("user.create", "role.assign"))
                )
            )
            db.session.execute(db.delete(AuditEvent).where(AuditEvent.user_id == user_id))
            db.session.delete(db.session.get(User, user_id))
            db.session.commit()


def test_fifty_wrong_passwords_from_five_addresses_lock_the_account_out(limited):
    clients = [limited.test_client() for _ in range(5)]
    statuses = [
        _attempt(client, f"10.0.0.{n}", "locked-out@example.vn", f"guess {i}").status_code
        for i in range(10)
        for n, client in enumerate(clients)
    ]
    # Each address stays under its own limit (10 a minute); the account's limit stops the guessing.
    assert statuses.count(429) >= 40
    assert 429 in statuses[:15]
    locked = _attempt(limited.test_client(), "10.0.1.1", "locked-out@example.vn", PASSWORD)
    assert locked.status_code == 429  # even the right password, from a new address, until the window ends
    assert LOCKED in locked.get_data(as_text=True)
    # Another account, from a new address, is not affected.
    assert _attempt(limited.test_client(), "10.0.1.2", "someone-else@example.vn", "guess").status_code == 200


def test_an_unknown_account_is_locked_out_the_same_way(limited):
    answers = {}
    for email in ("locked-out@example.vn", "nobody-here@example.vn"):
        client = limited.test_client()
        for i in range(12):
            response = _attempt(client, f"10.0.2.{i}", email, f"guess {i}")
        body = response.get_data(as_text=True)
        answers[email] = (response.status_code, body.replace(email, "EMAIL"))
    assert answers["locked-out@example.vn"][0] == 429
    assert answers["locked-out@example.vn"][0] == answers["nobody-here@example.vn"][0]
    assert LOCKED in answers["nobody-here@example.vn"][1]


def test_production_refuses_a_per_worker_login_counter(monkeypatch):
    for name in config.PRODUCTION_REQUIRED:
        monkeypatch.setenv(name, "x")
    monkeypatch.delenv("LMS_RATELIMIT_STORAGE_URL", raising=False)
    with pytest.raises(config.ConfigError, match="LMS_RATELIMIT_STORAGE_URL"):
        config.get_config("production")
    monkeypatch.setenv("LMS_RATELIMIT_STORAGE_URL", "memory://")
    with pytest.raises(config.ConfigError, match="LMS_RATELIMIT_STORAGE_URL"):
        config.get_config("production")
    monkeypatch.setenv("LMS_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/0")
    assert config.get_config("production") is config.ProductionConfig


def test_an_endpoint_without_a_limit_is_resolved_once_not_on_every_request(rate_limited_app, monkeypatch):
    """ADR 28, eighth pass: Flask-Limiter's check before each request can only apply application, default, blueprint
    or meta limits, and this app declares none; an endpoint is asked once whether the check could limit it, not on
    every request (~0.1 ms of an attendance batch). A view's own limit is its decorator's: still counted (above)."""
    from lms.extensions import limiter

    app = rate_limited_app(RATELIMIT_STORAGE_URI="memory://")
    resolved = []
    resolve = limiter.limit_manager.resolve_limits
    monkeypatch.setattr(
        limiter.limit_manager, "resolve_limits", lambda *args, **kwargs: resolved.append(1) or resolve(*args, **kwargs)
    )
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/docs").status_code == 200
    assert len(resolved) == 1


def test_an_application_wide_limit_is_still_checked_on_every_endpoint(rate_limited_app):
    client = rate_limited_app(RATELIMIT_STORAGE_URI="memory://", RATELIMIT_APPLICATION="2 per minute").test_client()
    assert [client.get("/api/v1/docs").status_code for _ in range(3)] == [200, 200, 429]
