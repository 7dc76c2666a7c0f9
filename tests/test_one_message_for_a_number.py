"""Text typed where a number goes is told to be a number, once: not also that "the number" is out of range."""

from __future__ import annotations

from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user
from tests.courses.conftest import make_centre


def test_words_for_a_number_get_one_message_and_stay_typed(client, app_ctx):
    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune, "one-message@example.vn")
    db.session.commit()
    login(client, user)
    token = csrf_token(client, "/courses/new")
    response = client.post(
        "/courses/new",
        data={
            "csrf_token": token,
            "unit": str(centre.commune.id),
            "code": "KH-01",
            "name": "Trồng cà phê",
            "category": "literacy",
            "planned_hours": "mười",
            "min_attendance_percent": "tám mươi",
        },
    )
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Hãy nhập một số." in body
    assert "Hãy nhập một số nguyên." in body
    assert "Số phải từ" not in body  # "from 0,5 to 9999", "from 1 to 100": the user typed no number to be out of it
    assert 'value="mười"' in body  # what was typed stays, to be corrected
    # A number out of range is still told its range.
    response = client.post(
        "/courses/new",
        data={
            "csrf_token": token,
            "unit": str(centre.commune.id),
            "code": "KH-01",
            "name": "Trồng cà phê",
            "category": "literacy",
            "planned_hours": "0,2",
            "min_attendance_percent": "80",
        },
    )
    assert "Số phải từ 0,5 đến 9999." in response.get_data(as_text=True)
