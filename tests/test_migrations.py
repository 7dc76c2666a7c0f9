"""The migrations build exactly the schema the models declare: a model change without its migration fails here."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import Migrate

from lms.extensions import db


def test_the_migrated_schema_matches_the_models(app_ctx):
    migrate: Migrate = app_ctx.extensions["migrate"]
    connection = db.session.connection()
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": migrate.configure_args.get("compare_type", True),
            "include_object": migrate.configure_args.get("include_object"),
        },
    )
    assert compare_metadata(context, db.metadata) == []


def test_the_migrations_form_one_line(app_ctx):
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(app_ctx.extensions["migrate"].migrate.get_config())
    assert len(scripts.get_heads()) == 1


def test_upgrading_an_sqlite_database_keeps_the_rows_that_reference_a_rebuilt_table(app, tmp_path):
    """SQLite alters a table by copying and dropping it; with foreign keys enforced, dropping ``user`` deleted every
    role assignment (ON DELETE CASCADE) when 0041 added a column. The migrations run with them off, then check."""
    from pathlib import Path

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from lms import create_app
    from tests.conftest import activate_celery

    url = f"sqlite:///{tmp_path / 'lms.sqlite'}"
    other = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    activate_celery(app)  # the test app's Celery stays the current one for the tests after this
    directory = str(Path(other.root_path).parent / "migrations")
    with other.app_context():
        upgrade(directory=directory)
        downgrade(directory=directory, revision="0035")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO admin_unit (id, code, name, kind, level, path, area_class, name_folded, sort_key)"
                    " VALUES (1, 'VN', 'Việt Nam', '', 'country', X'2F312F', 'standard', 'viet nam', X'00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO user (id, email, name, password_hash, active, created_at, session_version)"
                    " VALUES (1, 'a@example.vn', 'A', 'x', 1, '2026-01-01', 0)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO role_assignment (user_id, role, unit_id, created_at)"
                    " VALUES (1, 'administrator', 1, '2026-01-01')"
                )
            )
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM role_assignment")).scalar() == 1
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1  # on again for the app
        db.engine.dispose()
