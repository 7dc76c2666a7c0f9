"""The application shell: configuration, health, Celery binding, translations."""

from __future__ import annotations

import pytest
from celery import shared_task

import config
from lms.auth.models import Role
from lms.celery import enqueue_after_commit
from lms.core.models import Heartbeat
from lms.core.tasks import heartbeat
from lms.extensions import db
from tests.conftest import choose_language, csrf_token, login, make_user, unit_by_code

RAN: list[str] = []


@shared_task(name="tests.record")
def record(*, label: str) -> None:
    RAN.append(label)


def test_production_refuses_to_start_without_secrets(monkeypatch):
    for name in config.PRODUCTION_REQUIRED:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(config.ConfigError, match="LMS_SECRET_KEY, LMS_DATABASE_URL, LMS_PII_KEY, LMS_CREDENTIALS_KEY, LMS_CREDENTIALS_DOMAIN"):
        config.get_config("production")
    for name in config.PRODUCTION_REQUIRED:
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("LMS_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:6379/0")
    assert config.get_config("production") is config.ProductionConfig


def test_unknown_environment_is_an_error():
    with pytest.raises(config.ConfigError, match="not one of"):
        config.get_config("staging")


def test_healthz_reports_database_broker_and_worker(app_ctx, client):
    body = client.get("/healthz").get_json()
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "worker", "work"}
    assert body["checks"]["work"] == {"status": "ok", "parked": 0}


def test_tasks_are_sent_after_commit_and_dropped_on_rollback(app_ctx):
    RAN.clear()
    enqueue_after_commit(record, label="rolled back")
    db.session.rollback()
    enqueue_after_commit(record, label="committed")
    assert RAN == []  # nothing runs before the commit
    db.session.commit()
    assert RAN == ["committed"]


def test_heartbeat_task_writes_its_row(app_ctx):
    heartbeat.delay()
    db.session.expire_all()
    assert db.session.get(Heartbeat, "worker") is not None


def test_pages_are_vietnamese_by_default_and_english_on_request(client):
    assert "Đăng nhập" in client.get("/login").get_data(as_text=True)
    # A phone set to English is no choice: the page stays Vietnamese until the user picks English.
    assert "Đăng nhập" in client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    choose_language(client, "en")
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_the_language_chosen_follows_the_user_to_the_next_login(app, client):
    commune = unit_by_code("23293")
    user = make_user(Role.COMMUNE_LEADER, commune, "lang@example.vn")
    db.session.commit()
    login(client, user)
    choose_language(client, "en", "/")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    fresh = app.test_client()
    assert "Đăng nhập" in fresh.get("/login").get_data(as_text=True)
    login(fresh, user)
    assert "Log out" in fresh.get("/").get_data(as_text=True)


def test_releasing_a_savepoint_does_not_send_the_tasks(app_ctx):
    RAN.clear()
    enqueue_after_commit(record, label="outer")
    with db.session.begin_nested():
        db.session.add(Heartbeat(name="savepoint-test"))
    assert RAN == []
    db.session.commit()
    assert RAN == ["outer"]


def test_every_page_links_the_vendored_favicon(client):
    page = client.get("/login").get_data(as_text=True)
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.mimetype == "image/svg+xml"
    assert icon.get_data(as_text=True).startswith("<svg")
