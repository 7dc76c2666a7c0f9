"""A single session with two mistakes is told both at once: the day outside the class's dates with the times'
error, not on the next try."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from courses.models import ClassSession
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user
from tests.courses.conftest import make_centre, make_class


def _errors(page: str) -> list[str]:
    return [" ".join(e.split()) for e in re.findall(r'<div class="invalid-feedback d-block">(.*?)</div>', page, re.S)]


def test_a_day_outside_the_class_and_an_end_before_the_start_are_both_said(client, app_ctx):
    centre = make_centre()
    course_class = make_class(centre)  # 02/03/2026 – 31/03/2026
    user = make_user(Role.CENTRE_MANAGER, centre.commune, "two-errors@example.vn")
    db.session.commit()
    login(client, user)
    data = {
        "csrf_token": csrf_token(client, "/courses/classes"),
        "single-day": "2026-05-01",
        "single-start": "19:00",
        "single-end": "18:00",
        "single-room": centre.room.id,
    }
    page = client.post(f"/courses/classes/{course_class.id}/sessions", data=data).get_data(as_text=True)
    errors = _errors(page)
    assert "Buổi học phải kết thúc sau khi bắt đầu." in errors
    assert (
        "Ngày 01/05/2026 nằm ngoài thời gian của lớp (02/03/2026–31/03/2026): chọn một ngày trong khoảng đó, "
        "hoặc sửa thời gian của lớp trước" in errors
    )
    assert 'value="2026-05-01"' in page  # what was typed stays
    # A day within the class with the same wrong times: only the times are wrong.
    page = client.post(
        f"/courses/classes/{course_class.id}/sessions", data={**data, "single-day": "2026-03-10"}
    ).get_data(as_text=True)
    assert _errors(page) == ["Buổi học phải kết thúc sau khi bắt đầu."]
    assert db.session.scalar(select(func.count()).select_from(ClassSession)) == 0
