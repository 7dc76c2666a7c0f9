"""Test harness.

The schema is built once per run by the migrations (so they are tested too) and the official reference units
are loaded once; every test then runs inside a transaction that is rolled back, so tests see each other's
data never. ``LMS_TEST_DATABASE_URL`` selects PostgreSQL; the default is a SQLite file.
"""

from __future__ import annotations

import contextvars
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text

from lms import create_app
from lms.auth.models import Role, User
from lms.auth.services import assign_role, create_user
from lms.extensions import cache, db
from lms.registry import services as registry
from lms.registry.models import AdminUnit, Household, Person, UnitLevel

PASSWORD = "correct horse battery"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if "/integration/" in path:
            item.add_marker(pytest.mark.integration)
            if "/test_drill_" in path:
                item.add_marker(pytest.mark.drill)
        if "/browser/" in path:
            item.add_marker(pytest.mark.browser)


def _reset_schema(url: str) -> None:
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine

        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("LMS_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


@pytest.fixture(scope="session")
def app(database_url: str) -> Flask:
    from flask_migrate import upgrade

    _reset_schema(database_url)
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade(directory=str(Path(app.root_path).parent / "migrations"))
        registry.load_reference_units()
        db.session.commit()
        db.session.remove()
    return app


def activate_celery(app: Flask) -> None:
    """Make ``app``'s Celery app the one ``shared_task`` proxies resolve to.

    Every ``Celery()`` makes itself *current* for its thread on creation, so a test that builds a second Flask
    app (a live broker, another config) must hand the role back: current and default both.
    """
    celery = app.extensions["celery"]
    celery.set_current()
    celery.set_default()


@pytest.fixture
def rate_limited_app(app: Flask, database_url: str) -> Iterator[Any]:
    """``rate_limited_app(**config)`` builds an app with rate limiting on (the test app has it off).

    The limiter is a process-wide singleton that such an app switches on: it is handed back switched off with its
    counters cleared, and the test app's Celery made current again, or later tests would count against limits.
    """
    from lms.extensions import limiter

    def build(**config: Any) -> Flask:
        return create_app(
            {"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": True, **config}
        )

    # An app built with RATELIMIT_APPLICATION sets the singleton's application limits, which Flask-Limiter never
    # clears when a later app is built without them: they are put back as they were.
    application_limits = limiter.limit_manager._application_limits
    try:
        yield build
    finally:
        limiter.limit_manager.set_application_limits(application_limits)
        limiter.reset()
        limiter.enabled = app.config["RATELIMIT_ENABLED"]
        activate_celery(app)


@pytest.fixture(autouse=True)
def _transaction(app: Flask, request: pytest.FixtureRequest) -> Iterator[None]:
    """Run the test inside one outer transaction and roll it back; sessions commit to savepoints inside it.

    Integration tests opt out: a worker in another process must see their data, so they commit for real and
    clean up after themselves.
    """
    if request.node.get_closest_marker("integration"):
        yield
        return
    with app.app_context():
        cache.clear()  # rolled-back rows' ids come back in the next test: so must not their cached pages
        engines = db.engines
        saved = dict(engines)
        connections = {}
        for key, engine in saved.items():
            # Deferred on SQLite: this transaction spans the whole test, and a second app in the test (a
            # rate-limited one) must still be able to read.
            connection = engine.connect().execution_options(sqlite_begin="DEFERRED")
            connections[key] = (connection, connection.begin())
            engines[key] = connection  # type: ignore[assignment]
        db.session.remove()
        db.session.configure(join_transaction_mode="create_savepoint")
        try:
            yield
        finally:
            db.session.remove()
            for connection, transaction in connections.values():
                transaction.rollback()
                connection.close()
            engines.clear()
            engines.update(saved)


@pytest.fixture
def app_ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


# --- data builders -----------------------------------------------------------------------------------------


def unit_by_code(code: str, level: str = UnitLevel.COMMUNE) -> AdminUnit:
    unit = registry.find_unit(code, level)
    assert unit is not None, f"reference unit {level} {code} not loaded"
    return unit


def make_village(commune: AdminUnit, code: str, name: str) -> AdminUnit:
    village = AdminUnit(
        code=code,
        name=name,
        kind="Thôn",
        level=UnitLevel.VILLAGE.value,
        parent=commune,
        path=f"tmp:{code}",
        valid_from=commune.valid_from,
        valid_to=commune.valid_to,
        area_class=commune.area_class,
    )
    db.session.add(village)
    db.session.flush()
    village.path = f"{commune.path}{village.id}/"
    db.session.flush()
    return village


def make_household(village: AdminUnit, code: str, *members: str) -> Household:
    household = Household(village_id=village.id, code=code)
    db.session.add(household)
    db.session.flush()
    for index, name in enumerate(members):
        db.session.add(
            Person(
                full_name=name,
                unit_id=village.id,
                household_id=household.id,
                relation_to_head="Chủ hộ" if index == 0 else None,
            )
        )
    db.session.flush()
    return household


def make_user(role: Role, unit: AdminUnit, email: str | None = None) -> User:
    email = email or f"{role.value}.{unit.code}.{unit.id}@example.vn"
    user = create_user(email, f"{role.value} {unit.name}", PASSWORD)
    assign_role(user, role, unit)
    db.session.flush()
    return user


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    match = CSRF_RE.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, user: User, password: str = PASSWORD) -> Any:
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": user.email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def freeze_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """The application's clock reads ``moment`` (UTC, naive, as ``utcnow`` gives it): ``lms.core.clock.local_now``
    and ``local_today``, Vietnam's time and day wherever they are used, follow it. The server's own clock
    (``date.today()``) does not: a check on it reads the real day."""
    from lms.core import clock

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Frozen:  # type: ignore[override]
            aware = moment.replace(tzinfo=UTC)
            return aware.astimezone(tz) if tz is not None else moment  # type: ignore[return-value]

    monkeypatch.setattr(clock, "datetime", Frozen)


def choose_language(client: FlaskClient, code: str, page: str = "/login") -> None:
    """Switch the language as the menu's button does (the browser's Accept-Language is never a choice)."""
    token = csrf_token(client, page)
    response = client.post(f"/locale/{code}", data={"csrf_token": token, "next": page})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production: its own app context, ``g`` and database session.

    Flask reuses an already pushed app context for test requests, which would let a request share the test's
    session and ``g``; an empty ``contextvars.Context`` prevents that. All sessions still use the test's one
    connection (and so its rolled-back transaction).
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        # Buffered: a streamed body is read inside the same Context, where its request context lives.
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = IsolatedClient
    return app.test_client()


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Any:
    """``with count_queries() as counter: ...`` counts the SQL statements the block sends."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        engine = db.engines[None]
        target = engine.engine if hasattr(engine, "engine") else engine
        event.listen(target, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(target, "before_cursor_execute", counter)

    return counting
