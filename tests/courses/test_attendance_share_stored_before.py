"""Migration 0050: a course's minimum attendance kept with three decimals before the form and the API took whole
percents only (0.875, shown "88 %" and applied as 87.5 %) becomes the percent the pages showed, and the database then
refuses any share that is not a whole percent — on SQLite (the table rebuilt in batch mode) as on PostgreSQL."""

from __future__ import annotations

import importlib.util
import logging
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from courses import services
from courses.models import Course, LearningRecord
from lms.extensions import db
from tests.conftest import unit_by_code
from tests.courses.conftest import make_centre, make_class

MIGRATION = Path(__file__).parents[2] / "migrations" / "versions" / "0050_attendance_share_whole_percent.py"
# What the API kept → what the course page printed ("(share * 100)|round|int", half to even) → what is stored now.
STORED_BEFORE = {
    "0.875": Decimal("0.88"),  # "88 %"
    "0.125": Decimal("0.12"),  # "12 %": 12.5 rounds to the even 12, as the page printed it
    "0.805": Decimal("0.80"),  # "80 %"
    "0.005": Decimal("0.01"),  # "0 %" on the page; 1 % is the smallest share the form and the API take
    "0.999": Decimal("1.00"),  # "100 %"
    "0.29": Decimal("0.29"),  # a whole percent (a float in SQLite) is left as it is
}


def _migration():
    spec = importlib.util.spec_from_file_location("migration_0050", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _course(code: str) -> Course:
    return services.create_course(
        unit=unit_by_code("23293"), code=code, name=f"Khóa {code}", category="literacy", planned_hours=Decimal(10)
    )


def test_the_shown_percent_is_the_pages_rounding(app):
    shown = _migration().shown_percent
    page = app.jinja_env.from_string("{{ (share * 100)|round|int }}")
    for stored in STORED_BEFORE:
        expected = max(1, int(page.render(share=Decimal(stored))))
        assert shown(Decimal(stored)) == expected


def test_the_database_refuses_a_share_that_is_not_a_whole_percent(app_ctx):
    course = _course("SHARE-CK")
    for share in ("0.29", "0.01", "1"):  # 0.29 × 100 is not 29 in a float: the check allows for it
        db.session.execute(update(Course).where(Course.id == course.id).values(min_attendance_share=Decimal(share)))
    for share in ("0.875", "0.005", "0", "1.001"):
        savepoint = db.session.begin_nested()
        with pytest.raises(IntegrityError):
            db.session.execute(update(Course).where(Course.id == course.id).values(min_attendance_share=Decimal(share)))
        savepoint.rollback()


@pytest.mark.postgresql  # transactional DDL: the test's rollback undoes the constraint's drop and re-creation
def test_shares_stored_before_become_the_shown_percent(app_ctx, caplog):
    module = _migration()
    ids = {}
    centre = make_centre()  # a course with a class that has a completion, judged at 87.5 %
    judged = make_class(centre)
    db.session.add(
        LearningRecord(
            person_id=centre.learners[0].id,
            year=2026,
            kind="class_completion",
            completed_on=date(2026, 3, 31),
            commune_id=centre.commune.id,
            source_key=f"share-0050-{judged.id}",
            class_id=judged.id,
        )
    )
    with Operations.context(MigrationContext.configure(db.session.connection())):
        module.downgrade()
        for number, stored in enumerate(STORED_BEFORE):
            course = _course(f"SHARE-{number}")
            db.session.execute(
                update(Course).where(Course.id == course.id).values(min_attendance_share=Decimal(stored))
            )
            ids[course.id] = STORED_BEFORE[stored]
        db.session.execute(
            update(Course).where(Course.id == centre.course.id).values(min_attendance_share=Decimal("0.875"))
        )
        ids[centre.course.id] = Decimal("0.88")
        with caplog.at_level(logging.INFO, logger="alembic.runtime.migration"):
            module.upgrade()
    db.session.expire_all()
    stored = dict(db.session.execute(select(Course.id, Course.min_attendance_share).where(Course.id.in_(ids))).all())
    assert stored == ids
    # The course whose completions were judged at the share before is named; the others are not.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [f"course {centre.course.id}: 1 classes with completions judged at the share before rounding"]
    savepoint = db.session.begin_nested()
    with pytest.raises(IntegrityError):
        db.session.execute(update(Course).where(Course.id.in_(ids)).values(min_attendance_share=Decimal("0.875")))
    savepoint.rollback()


def test_an_sqlite_database_is_rounded_and_checked(app, tmp_path):
    """SQLite cannot alter a check: the table is rebuilt (batch mode), its rows and the classes that name it kept."""
    from flask_migrate import downgrade, upgrade

    from lms import create_app
    from tests.conftest import activate_celery

    url = f"sqlite:///{tmp_path / 'lms.sqlite'}"
    other = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    activate_celery(app)
    directory = str(Path(other.root_path).parent / "migrations")
    with other.app_context():
        upgrade(directory=directory, revision="0049")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO admin_unit (id, code, name, kind, level, path, area_class, name_folded, sort_key)"
                    " VALUES (1, 'VN', 'Việt Nam', '', 'country', X'2F312F', 'standard', 'viet nam', X'00')"
                )
            )
            for number, stored in enumerate(STORED_BEFORE, start=1):
                connection.execute(
                    text(
                        "INSERT INTO course (id, unit_id, code, name, name_folded, sort_key, category, planned_hours,"
                        " description, min_attendance_share, requires_assessment, module_codes, active, created_at)"
                        " VALUES (:id, 1, :code, 'K', 'k', X'00', 'literacy', 10, '', :share, 0, '[]', 1,"
                        " '2026-01-01')"
                    ),
                    {"id": number, "code": f"K{number}", "share": float(stored)},
                )
        upgrade(directory=directory)
        course = sa.table("course", sa.column("id"), sa.column("min_attendance_share", sa.Numeric(4, 3)))
        with db.engine.connect() as connection:
            stored = dict(connection.execute(select(course.c.id, course.c.min_attendance_share)).all())
            assert stored == dict(enumerate(STORED_BEFORE.values(), start=1))
        with db.engine.connect() as connection, pytest.raises(IntegrityError):
            connection.execute(update(course).where(course.c.id == 1).values(min_attendance_share=Decimal("0.875")))
        downgrade(directory=directory, revision="0049")  # the older check again: it takes the rounded shares
        with db.engine.begin() as connection:
            connection.execute(update(course).where(course.c.id == 1).values(min_attendance_share=Decimal("0.875")))
        db.engine.dispose()
