"""The application factory: a table of contents, no side effects (no migrations, no network, no data)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, request, session
from flask.json.provider import DefaultJSONProvider
from werkzeug.datastructures import FileStorage
from werkzeug.routing import IntegerConverter

from config import INSTANCE_DIR, get_config


def create_app(config: str | Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` is a config name (``development``, ``testing``, ``production``) or a mapping of
    overrides applied on top of the configuration chosen by ``LMS_ENV``."""
    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.json = JSONProvider(app)
    if isinstance(config, str):
        app.config.from_object(get_config(config))
    else:
        app.config.from_object(get_config(config.get("ENV_NAME") if config else None))
        if config:
            app.config.update(config)

    if not app.config.get("SECRET_KEY"):
        # Development and the embedded default (production refuses to start without LMS_SECRET_KEY): the key this
        # instance generated on its first start, never one published in the code.
        from lms.core.instance_key import instance_secret_key

        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))

    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # psycopg2: bulk UPDATEs by primary key (imports, attendance) in pages, not one round trip per row.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "executemany_mode": "values_plus_batch",
            **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        }

    # A replaced configuration file with a mistake stops the start, naming the file, entry and line (lms/checks.py).
    from lms.checks import check_config

    check_config(app)
    register_extensions(app)
    # Before any route is added: an id in a URL larger than a bigint is no object (404), not an overflow (500).
    app.url_map.converters["int"] = IdConverter
    register_blueprints(app)
    register_cli(app)
    register_celery(app)
    register_template_helpers(app)
    return app


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, and an uploaded file as its name: a validation error may quote the value it refused."""

    @staticmethod
    def default(o: Any) -> Any:
        if isinstance(o, FileStorage):
            return o.filename or "upload"
        return DefaultJSONProvider.default(o)


class IdConverter(IntegerConverter):
    """``<int:…>`` that never hands the database an id larger than a bigint: such an id names no object, so it
    becomes 0 (which no row has) and the view answers 404 as for any unknown id, instead of an overflow (500) or
    a route that no longer matches (405)."""

    def to_python(self, value: str) -> int:
        number = int(value)
        return number if number <= 2**63 - 1 else 0


def register_extensions(app: Flask) -> None:
    from lms.auth.loaders import init_login
    from lms.extensions import babel, cache, configure_sqlite, csrf, db, limiter, migrate

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            configure_sqlite(engine)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    from lms.api.limits import check_only_where_limited

    check_only_where_limited(app)
    cache.init_app(app)
    init_login(app)

    def select_locale() -> str:
        """The user's choice (this session's, else the one saved on their login), else Vietnamese. A browser's
        Accept-Language is no choice: most phones here say English. API clients do choose by the header."""
        from flask_login import current_user

        choice = session.get("locale")
        if choice in app.config["LANGUAGES"]:
            return str(choice)
        saved = getattr(current_user, "locale", None) if current_user else None
        if saved in app.config["LANGUAGES"]:
            return str(saved)
        if request.path.startswith("/api/"):
            return request.accept_languages.best_match(app.config["LANGUAGES"]) or "vi"
        return "vi"

    babel.init_app(app, locale_selector=select_locale)


def register_blueprints(app: Flask) -> None:
    import courses
    from lms import api, auth, core, credentials, registry, targets, titles
    from lms.api import errors as api_errors
    from lms.auth import accounts  # noqa: F401 - registers the account pages on auth.bp
    from lms.core import stuck  # noqa: F401 - registers the stuck-work routes on core.bp

    app.register_blueprint(core.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(registry.bp)
    app.register_blueprint(courses.bp)
    app.register_blueprint(titles.bp)
    app.register_blueprint(targets.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(credentials.bp)
    api_errors.register_error_handlers(app)


def register_cli(app: Flask) -> None:
    from courses.cli import register as register_courses_cli
    from lms.auth.cli import register as register_auth_cli
    from lms.bench import register as register_bench_cli
    from lms.checks import register as register_checks_cli
    from lms.core.cli import register as register_work_cli
    from lms.credentials.cli import register as register_credentials_cli
    from lms.registry.cli import register as register_registry_cli
    from lms.registry.demo_cli import register as register_demo_cli
    from lms.targets.cli import register as register_targets_cli
    from lms.titles.cli import register as register_titles_cli

    register_auth_cli(app)
    register_registry_cli(app)
    register_demo_cli(app)
    register_courses_cli(app)
    register_bench_cli(app)
    register_titles_cli(app)
    register_targets_cli(app)
    register_work_cli(app)
    register_credentials_cli(app)
    register_checks_cli(app)


def register_celery(app: Flask) -> None:
    from lms.celery import celery_init_app

    celery_init_app(app)
    # Import task modules so the worker knows every task name.
    import courses.tasks  # noqa: F401
    import lms.core.tasks
    import lms.registry.tasks
    import lms.targets.tasks
    import lms.titles.tasks  # noqa: F401


def register_template_helpers(app: Flask) -> None:
    from lms.core.templating import init_templating

    init_templating(app)
