"""A class's dates are refused, with the field and what to type, when they leave the years the application counts
(2000–2100, the titles' years): a last day of 31/12/9999 through PATCH broke the session check with an
OverflowError (a 500), and through POST a class of ten thousand years was kept."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from courses import services
from courses.services import CourseError
from lms.auth.models import ApiToken, Role
from lms.extensions import db
from tests.conftest import make_user
from tests.courses.conftest import make_centre, make_class


def _bearer(unit):
    user = make_user(Role.CENTRE_MANAGER, unit, f"dates-{uuid.uuid4().hex[:8]}@example.vn")
    _, secret = ApiToken.issue(user, "dates")
    return {"Authorization": f"Bearer {secret}", "Accept-Language": "vi"}


@pytest.mark.parametrize(("field", "value"), [("ends_on", "9999-12-31"), ("starts_on", "0001-01-01")])
def test_patch_with_a_date_out_of_range_is_a_named_422(app_ctx, client, field, value):
    centre = make_centre()
    course_class = make_class(centre)
    headers = _bearer(centre.commune)
    db.session.commit()
    response = client.patch(f"/api/v1/classes/{course_class.id}", json={field: value}, headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    errors = response.get_json()["errors"]
    assert [e["field"] for e in errors] == [field]
    assert errors[0]["message"] == "hãy nhập một ngày từ 01/01/2000 đến 31/12/2100"
    db.session.expire_all()
    assert (course_class.starts_on, course_class.ends_on) == (date(2026, 3, 2), date(2026, 3, 31))


def test_post_with_a_date_out_of_range_is_a_named_422(app_ctx, client):
    centre = make_centre()
    headers = _bearer(centre.commune)
    db.session.commit()
    body = {
        "course_id": centre.course.id,
        "clc_id": centre.clc.id,
        "name": "Lớp mười nghìn năm",
        "capacity": 20,
        "starts_on": "2026-03-02",
        "ends_on": "9999-12-31",
    }
    response = client.post("/api/v1/classes", json=body, headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert [e["field"] for e in response.get_json()["errors"]] == ["ends_on"]


def test_the_service_refuses_the_dates_for_the_pages_too(app_ctx):
    centre = make_centre()
    with pytest.raises(CourseError) as refused:
        make_class(centre, ends_on=date(2101, 1, 1))
    assert refused.value.field == "ends_on"
    course_class = make_class(centre)
    with pytest.raises(CourseError) as refused:
        services.update_class(
            course_class,
            name=course_class.name,
            capacity=30,
            starts_on=date(1999, 12, 31),
            ends_on=date(2026, 3, 31),
            room=None,
            instructors=[],
        )
    assert refused.value.field == "starts_on"


@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00-12:00", "0001-01-01T00:00:00+14:00"])
def test_a_moment_no_clock_can_convert_is_a_named_422(app_ctx, client, moment):
    """A valid RFC 3339 moment at the edge of the calendar is in the year 10000 (or 0) once taken to +07:00 or to
    UTC: the conversion raised OverflowError, a 500 — for a session's start, a move, and a mark's recorded_at."""
    from datetime import datetime

    centre = make_centre()
    course_class = make_class(centre)
    services.enrol(course_class, [centre.learners[0].id])
    session = services.schedule(course_class, [(datetime(2026, 3, 9, 8), datetime(2026, 3, 9, 10))])[0]
    headers = _bearer(centre.commune)
    db.session.commit()
    mark = {"client_mark_id": "m-1", "person_id": centre.learners[0].id, "recorded_at": moment, "status": "present"}
    for method, url, body, field in (
        ("post", f"/api/v1/classes/{course_class.id}/sessions", {"starts_at": moment, "ends_at": moment}, "starts_at"),
        ("patch", f"/api/v1/sessions/{session.id}", {"starts_at": moment}, "starts_at"),
        ("post", f"/api/v1/sessions/{session.id}/attendance", {"device": "d", "marks": [mark]}, "marks[0].recorded_at"),
    ):
        response = getattr(client, method)(url, json=body, headers=headers)
        assert response.status_code == 422, (url, response.get_data(as_text=True)[:300])
        errors = {e["field"]: e["message"] for e in response.get_json()["errors"]}
        assert errors[field] == "Ngày giờ này nằm ngoài phạm vi: hãy kiểm tra lại năm.", url
