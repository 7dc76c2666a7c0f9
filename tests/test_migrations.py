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
