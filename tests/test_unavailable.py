"""A database or broker that cannot be reached answers 503 with Retry-After, never a bare 500: a static page in
Vietnamese that needs neither (no menu, no user), problem+json on the API. And a publish that fails after the
commit is left to the sweeps: the request that committed gets its normal answer."""

from __future__ import annotations

import logging

from flask import Flask

from lms import create_app
from lms.celery import enqueue_after_commit
from lms.core.models import Heartbeat
from lms.extensions import db
from tests.conftest import activate_celery

DEAD_DATABASE = "postgresql://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1: refused at once
DEAD_BROKER = "redis://127.0.0.1:1/0"


def _app_without_database() -> Flask:
    return create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": DEAD_DATABASE})


def test_a_page_that_needs_the_database_answers_503_in_vietnamese_without_it(app):
    dead = _app_without_database()
    try:
        response = dead.test_client().get("/courses/verify/ABCDEFGH")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(dead.config["RETRY_AFTER_SECONDS"])
        page = response.get_data(as_text=True)
        assert "tạm thời không sẵn sàng" in page
        assert "navbar" not in page  # the menu asks the database who the user is
    finally:
        activate_celery(app)


def test_a_missing_page_without_the_database_is_503_not_a_bare_500(app):
    dead = _app_without_database()
    try:
        # A caller with credentials: the menu of the 404 page would load them from the database.
        response = dead.test_client().get("/no-such-page", headers={"Authorization": "Bearer x"})
        assert response.status_code == 503
        assert "tạm thời không sẵn sàng" in response.get_data(as_text=True)
    finally:
        activate_celery(app)


def test_the_api_answers_503_problem_json_without_the_database(app):
    dead = _app_without_database()
    try:
        response = dead.test_client().get("/api/v1/sessions/1", headers={"Authorization": "Bearer x"})
        assert response.status_code == 503
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["status"] == 503
        assert int(response.headers["Retry-After"]) > 0
    finally:
        activate_celery(app)


def test_healthz_still_says_503_without_the_database(app):
    dead = _app_without_database()
    try:
        response = dead.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["database"]["status"] == "error"
    finally:
        activate_celery(app)


def test_a_publish_that_fails_after_the_commit_keeps_the_commit_and_is_logged(app, caplog):
    live = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "CELERY": {**app.config["CELERY"], "broker_url": DEAD_BROKER, "task_always_eager": False},
        }
    )
    activate_celery(live)
    try:
        with app.app_context():
            from lms.core.tasks import heartbeat

            db.session.add(Heartbeat(name="published-after-commit"))
            enqueue_after_commit(heartbeat)
            with caplog.at_level(logging.ERROR, logger="lms.celery"):
                db.session.commit()  # raised kombu's OperationalError before
            assert "left to the sweep" in caplog.text
            assert db.session.get(Heartbeat, "published-after-commit") is not None
    finally:
        activate_celery(app)
