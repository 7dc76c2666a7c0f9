"""Two requests changing one class at once, as PostgreSQL runs them (real transactions in two threads; SQLite
serialises writers): a withdrawal sent twice (a double tap on a slow connection) gives the freed seat once, and a
session cannot be moved to a day not yet come while an attendance batch is writing its marks."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, or_, select

from courses import services
from courses.models import Attendance, ClassSession, Course, CourseClass, Enrolment, PendingWork, Room
from courses.services import Mark
from lms.core.models import AuditEvent
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit, Clc, Household, Person
from tests.courses.conftest import make_centre

COMMUNE = "23332"  # Đăk Rơ Wa: used by no other test

pytestmark = [
    pytest.mark.integration,  # commits for real, and deletes what it made
    pytest.mark.postgresql,  # row locks are PostgreSQL's
]


@pytest.fixture
def one_seat(app) -> Iterator[dict[str, Any]]:
    """A class of one seat, its learner seated and two people waiting, committed; deleted afterwards."""
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    with app.app_context():
        centre = make_centre(COMMUNE, learners=3, label=f"RC{uuid.uuid4().hex[:6]}")
        today = services.local_now().date()
        course_class = services.create_class(
            course=centre.course,
            clc=centre.clc,
            name="Lớp một chỗ",
            capacity=1,
            starts_on=today - timedelta(days=7),
            ends_on=today + timedelta(days=7),
        )
        people = [p.id for p in centre.learners]
        services.enrol(course_class, people)
        db.session.commit()
        made = {
            "class": course_class.id,
            "course": centre.course.id,
            "clc": centre.clc.id,
            "people": people,
            "household": centre.household.id,
            "village": centre.village.id,
        }
    try:
        yield made
    finally:
        with app.app_context():
            sessions = select(ClassSession.id).where(ClassSession.class_id == made["class"])
            for statement in (
                delete(AuditEvent).where(
                    or_(
                        (AuditEvent.object_type == "course_class") & (AuditEvent.object_id == str(made["class"])),
                        (AuditEvent.object_type == "course") & (AuditEvent.object_id == str(made["course"])),
                        (AuditEvent.object_type == "class_session")
                        & AuditEvent.object_id.in_(
                            select(func.cast(ClassSession.id, AuditEvent.object_id.type)).where(
                                ClassSession.class_id == made["class"]
                            )
                        ),
                    )
                ),
                delete(Attendance).where(Attendance.session_id.in_(sessions)),
                delete(PendingWork).where(PendingWork.subject_id == made["class"]),
                delete(ClassSession).where(ClassSession.class_id == made["class"]),
                delete(Enrolment).where(Enrolment.class_id == made["class"]),
                delete(CourseClass).where(CourseClass.id == made["class"]),
                delete(Course).where(Course.id == made["course"]),
                delete(Room).where(Room.clc_id == made["clc"]),
                delete(Clc).where(Clc.id == made["clc"]),
                delete(Person).where(Person.id.in_(made["people"])),
                delete(Household).where(Household.id == made["household"]),
                delete(AdminUnit).where(AdminUnit.id == made["village"]),
            ):
                db.session.execute(statement)
            db.session.commit()


def _two_at_once(app, first: Callable[[], Any], second: Callable[[], Any]) -> dict[str, Any]:
    """Run ``first`` and hold its transaction open for a second while ``second`` runs; each in its own context and
    transaction. Returns what each returned, or the message of the ``CourseError`` it raised."""
    written, results = threading.Event(), {}

    def run(name: str, work: Callable[[], Any], hold: bool) -> None:
        with app.app_context():
            try:
                results[name] = work()
                if hold:
                    written.set()
                    time.sleep(1.0)  # the second request arrives while the first still holds its rows
                db.session.commit()
            except services.CourseError as exc:
                db.session.rollback()
                results[name] = str(exc)
            finally:
                written.set()
                db.session.remove()

    threads = [threading.Thread(target=run, args=("first", first, True))]
    threads[0].start()
    assert written.wait(30)
    threads.append(threading.Thread(target=run, args=("second", second, False)))
    threads[1].start()
    for thread in threads:
        thread.join(30)
    return results


def test_a_withdrawal_sent_twice_frees_one_seat_once(app, one_seat):
    seated, first_waiting, second_waiting = one_seat["people"]

    def withdraw() -> Any:
        return services.withdraw(db.session.get(CourseClass, one_seat["class"]), seated)

    results = _two_at_once(app, withdraw, withdraw)
    assert results["first"] == first_waiting
    assert "not enrolled" in str(results["second"])
    with app.app_context():
        statuses = dict(
            iter(
                db.session.execute(
                    select(Enrolment.person_id, Enrolment.status).where(Enrolment.class_id == one_seat["class"])
                ).tuples()
            )
        )
        assert statuses == {seated: "withdrawn", first_waiting: "enrolled", second_waiting: "waitlisted"}


def test_a_session_is_not_moved_ahead_while_its_roll_call_is_being_written(app, one_seat):
    seated = one_seat["people"][0]
    now = services.local_now().replace(second=0, microsecond=0)
    with app.app_context():
        (session,) = services.schedule(
            db.session.get(CourseClass, one_seat["class"]),
            [(now - timedelta(hours=1), now - timedelta(minutes=30))],
        )
        db.session.commit()
        session_id = session.id
    tomorrow = now + timedelta(days=1)

    def roll_call() -> Any:
        session = db.session.get(ClassSession, session_id)
        return services.record_attendance(session, [Mark(seated, "present", utcnow())], user_id=None)

    def move() -> Any:
        session = db.session.get(ClassSession, session_id)
        return services.reschedule(session, tomorrow, tomorrow + timedelta(minutes=30))

    results = _two_at_once(app, roll_call, move)
    assert "already has 1 attendance marks" in str(results["second"])
    with app.app_context():
        assert db.session.scalar(select(ClassSession.starts_at).where(ClassSession.id == session_id)) < now
