"""A course's hours are kept to a tenth (``Numeric(6, 1)``) and its attendance share is a whole percent, two decimals
(the form's whole percent; tests/test_limits_agree.py): the API refuses more digits with a named field error — not a
500 where the database rounds a tiny positive value to zero and its check refuses it, nor an answer that shows a value
other than the one stored or the form can show."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from courses.models import Course
from lms.extensions import db
from tests.courses.test_api import _bearer, _fields


def _body(centre, code, **fields):
    return {"unit_id": centre.commune.id, "code": code, "name": "Nuôi ong", "category": "needs_based", **fields}


def test_hours_and_share_with_more_digits_than_kept_are_refused_naming_the_field(centre, client):
    manager = _bearer(unit=centre.commune)[1]
    for code, fields, field in (
        ("ONG-1", {"planned_hours": 0.04}, "planned_hours"),  # rounds to 0.0: the check refused it, a 500
        ("ONG-2", {"planned_hours": 1.25}, "planned_hours"),  # stored 1.2 (1.3 on PostgreSQL), answered 1.25
        ("ONG-3", {"planned_hours": 2, "min_attendance_share": 0.0004}, "min_attendance_share"),
        ("ONG-4", {"planned_hours": 2, "min_attendance_share": 0.8125}, "min_attendance_share"),
        (
            "ONG-6",
            {"planned_hours": 2, "min_attendance_share": 0.875},
            "min_attendance_share",
        ),  # 87.5 %: no form shows it
    ):
        response = client.post("/api/v1/courses", json=_body(centre, code, **fields), headers=manager)
        assert _fields(response) == {field}, (code, response.get_json())
        db.session.rollback()
        assert db.session.scalar(select(Course.id).where(Course.code == code)) is None
    kept = client.post(
        "/api/v1/courses",
        json=_body(centre, "ONG-5", planned_hours=1.5, min_attendance_share=0.88),
        headers=manager,
    )
    assert kept.status_code == 201, kept.get_json()
    assert (kept.get_json()["planned_hours"], kept.get_json()["min_attendance_share"]) == (1.5, 0.88)
    db.session.expire_all()
    course = db.session.scalar(select(Course).where(Course.code == "ONG-5"))
    assert (course.planned_hours, course.min_attendance_share) == (Decimal("1.5"), Decimal("0.88"))
