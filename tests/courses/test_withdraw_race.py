"""A withdrawal submitted twice (a double tap on a slow connection), or two withdrawals at once, give the freed seat
once: the class row is locked first, as enrolment and the class's edit do. Without it the second request, waiting on
the first's row, read the waiting list afresh after its commit and gave the one freed seat to a second person —
a class over its capacity. PostgreSQL, real transactions in two threads (SQLite serialises writers)."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from sqlalchemy import delete, or_, select

from courses import services
from courses.models import Course, CourseClass, Enrolment, PendingWork, Room
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry.models import AdminUnit, Clc, Household, Person
from tests.courses.conftest import make_centre

COMMUNE = "23332"  # Đăk Rơ Wa: used by no other test


@pytest.mark.integration  # commits for real, and deletes what it made
@pytest.mark.postgresql  # row locks are PostgreSQL's
def test_a_withdrawal_sent_twice_frees_one_seat_once(app):
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    with app.app_context():
        centre = make_centre(COMMUNE, learners=3, label=f"WD{uuid.uuid4().hex[:6]}")
        course_class = services.create_class(
            course=centre.course,
            clc=centre.clc,
            name="Lớp một chỗ",
            capacity=1,
            starts_on=centre.course.created_at.date(),
            ends_on=centre.course.created_at.date(),
        )
        seated, first_waiting, second_waiting = (p.id for p in centre.learners)
        services.enrol(course_class, [seated, first_waiting, second_waiting])
        db.session.commit()
        made = {
            "class": course_class.id,
            "course": centre.course.id,
            "clc": centre.clc.id,
            "people": [p.id for p in centre.learners],
            "household": centre.household.id,
            "village": centre.village.id,
        }
    flushed, results = threading.Event(), {}

    def withdraw(name: str, hold: bool) -> None:
        with app.app_context():
            try:
                course_class = db.session.get(CourseClass, made["class"])
                results[name] = services.withdraw(course_class, seated)
                if hold:
                    flushed.set()
                    time.sleep(1.0)  # the second request arrives while the first still holds its rows
                db.session.commit()
            except services.CourseError as exc:
                db.session.rollback()
                results[name] = str(exc)
            finally:
                flushed.set()
                db.session.remove()

    try:
        first = threading.Thread(target=withdraw, args=("first", True))
        first.start()
        assert flushed.wait(30)
        second = threading.Thread(target=withdraw, args=("second", False))
        second.start()
        first.join(30)
        second.join(30)
        assert results["first"] == first_waiting
        assert "not enrolled" in str(results["second"])
        with app.app_context():
            statuses = dict(
                iter(
                    db.session.execute(
                        select(Enrolment.person_id, Enrolment.status).where(Enrolment.class_id == made["class"])
                    ).tuples()
                )
            )
            assert statuses == {seated: "withdrawn", first_waiting: "enrolled", second_waiting: "waitlisted"}
    finally:
        with app.app_context():
            for statement in (
                delete(AuditEvent).where(
                    or_(
                        (AuditEvent.object_type == "course_class") & (AuditEvent.object_id == str(made["class"])),
                        (AuditEvent.object_type == "course") & (AuditEvent.object_id == str(made["course"])),
                    )
                ),
                delete(PendingWork).where(PendingWork.subject_id == made["class"]),
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
