"""Unbound extension singletons; ``create_app`` binds them with ``init_app``."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import abort, has_request_context, request
from flask_babel import Babel
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Timestamps are stored as naive UTC (SQLite has no time zones); pages convert to Asia/Ho_Chi_Minh."""
    return datetime.now(UTC).replace(tzinfo=None)


#: The largest page or page size read from a query string: beyond, the offset or the limit overflowed the database's
#: integer (a 500: "Python int too large to convert to SQLite INTEGER", PostgreSQL's bigint).
MAX_PAGE_ARG = 10**9


def _page_arg(name: str, error_out: bool) -> int | None:
    """``?page=`` or ``?per_page=`` as Flask-SQLAlchemy reads it (absent: its default; not a number: 404, or its
    default), but ASCII digits of a size the database keeps only."""
    raw = request.args.get(name)
    if raw is None:
        return None
    text = raw.strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_PAGE_ARG:
        return int(text)
    if error_out:
        abort(404)
    return None


class _SQLAlchemy(SQLAlchemy):
    def paginate(
        self,
        select: Any,
        *,
        page: int | None = None,
        per_page: int | None = None,
        max_per_page: int | None = None,
        error_out: bool = True,
        count: bool = True,
    ) -> Any:
        if has_request_context():
            page = page if page is not None else _page_arg("page", error_out) or 1
            per_page = per_page if per_page is not None else _page_arg("per_page", error_out) or 20
        return super().paginate(
            select, page=page, per_page=per_page, max_per_page=max_per_page, error_out=error_out, count=count
        )


db = _SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
# Dashboards' rendered pages and API answers, and users' resolved scopes (ADR 27).
cache = Cache()


def configure_sqlite(engine: Engine) -> None:
    """WAL, a busy timeout, enforced foreign keys and real transactions on the app's SQLite connections.

    Registered on the application's engines only: the embedded Celery broker has its own SQLite engine and
    keeps the sqlite3 module's default behaviour, which kombu's transport is written for.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, connection_record) -> None:
        # Let SQLAlchemy, not the sqlite3 module, open transactions, so that SAVEPOINT works (SQLAlchemy's
        # documented recipe); the "begin" listener below emits the BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # PostgreSQL's md5(text): the titles engine digests each subject's inputs in SQL (ADR 40).
        dbapi_connection.create_function("md5", 1, _md5, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        # IMMEDIATE takes the write lock at the start. A deferred transaction that read first and writes later
        # fails at once with "database is locked" when another writer committed in between (WAL snapshots
        # cannot be upgraded); an immediate one waits its turn under busy_timeout instead. Transactions here
        # are short, so serialising them costs little (Rails 8 made the same choice for SQLite).
        # The test harness opts its outer per-test transaction out (see tests/conftest.py): it spans a whole test,
        # during which other apps in the same process only read.
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', 'IMMEDIATE')}")


def _md5(text: str | None) -> str | None:
    return None if text is None else hashlib.md5(str(text).encode(), usedforsecurity=False).hexdigest()


# Models subclass ``Model``: at run time Flask-SQLAlchemy's ``db.Model`` (a subclass of ``Base`` with
# ``query`` and table-name defaults); for the type checker, the typed declarative ``Base`` itself.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
