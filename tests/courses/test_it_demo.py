"""The IT-skills demo data: after setup-demo, seed-it-demo makes the leaders' figures non-empty, once."""

from __future__ import annotations

from datetime import date

from flask import Flask
from sqlalchemy import func, select

from courses import it_skills, services
from courses.it_skills import Period
from courses.models import Course
from lms.extensions import db
from lms.registry.demo import DEMO_COMMUNES
from tests.conftest import unit_by_code


def test_seed_it_demo_fills_the_figures_once(app: Flask):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["setup-demo"]).exit_code == 0
    first = runner.invoke(args=["seed-it-demo"])
    assert first.exit_code == 0, first.output
    assert f"{len(DEMO_COMMUNES)} created" in first.output
    with app.app_context():
        courses = db.session.scalar(select(func.count()).select_from(Course).where(Course.code.like("DEMO-%")))
        today = services.local_now().date()
        since = date(today.year - 1, 1, 1)  # last month may be in last year
        result = it_skills.figures(unit_by_code(DEMO_COMMUNES[0]), Period(since, today))
    (line,) = result.communes
    assert line.officers >= 2
    assert 0 < line.trained <= line.officers
    assert line.organised_and_trained >= 1
    assert line.studied_policy > 0
    second = runner.invoke(args=["seed-it-demo"])
    assert "0 created" in second.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Course).where(Course.code.like("DEMO-%"))) == courses


def test_seed_it_demo_keeps_its_sessions_off_the_holidays(app: Flask):
    """`make run` loads the national holidays before the demo classes: in March 2026 the demo's "last month" holds
    Tết (14–22 February), and a session put on it is refused — the demo moves it to the next working day."""
    from datetime import datetime

    from courses.cli import seed_it_demo
    from courses.models import ClassSession, CourseClass, Holiday

    runner = app.test_cli_runner()
    assert runner.invoke(args=["setup-demo"]).exit_code == 0
    with app.app_context():
        services.load_national_holidays()
        tet = set(
            db.session.scalars(select(Holiday.day).where(Holiday.day.between(date(2026, 2, 1), date(2026, 2, 28))))
        )
        assert date(2026, 2, 21) in tet  # the demo's policy session would fall on it
        assert seed_it_demo(as_of=datetime(2026, 3, 5, 9)) == len(DEMO_COMMUNES)
        days = set(
            db.session.scalars(
                select(func.date(ClassSession.starts_at))
                .join(CourseClass, CourseClass.id == ClassSession.class_id)
                .join(Course, Course.id == CourseClass.course_id)
                .where(Course.code.like("DEMO-%"))
            )
        )
        assert days
        assert not {date.fromisoformat(str(d)[:10]) for d in days} & tet
        db.session.rollback()
