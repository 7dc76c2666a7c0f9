"""A course's planned hours as people write them: with a decimal comma (or a point), in a text box that opens the
phone's decimal keyboard — never the browser's number box, which drops the comma."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from courses.models import Course
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user
from tests.courses.conftest import make_centre


@pytest.mark.parametrize(
    ("typed", "hours"), [("12,5", Decimal("12.5")), ("12.5", Decimal("12.5")), (" 8 ", Decimal(8))]
)
def test_planned_hours_with_a_comma_or_a_point(client, app_ctx, typed, hours):
    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, user)
    page = client.get("/courses/new").get_data(as_text=True)
    box = page[page.index('id="planned_hours"') - 200 : page.index('id="planned_hours"') + 200]
    assert 'inputmode="decimal"' in box
    assert 'type="number"' not in box
    response = client.post(
        "/courses/new",
        data={
            "csrf_token": csrf_token(client, "/courses/new"),
            "unit": centre.commune.id,
            "code": "SO-CUU-1",
            "name": "Sơ cứu ban đầu",
            "category": "needs_based",
            "planned_hours": typed,
            "min_attendance_percent": "80",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert db.session.scalar(select(Course.planned_hours).where(Course.code == "SO-CUU-1")) == hours


def test_a_refused_number_is_shown_as_it_was_typed(client, app_ctx):
    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, user)
    page = client.post(
        "/courses/new",
        data={
            "csrf_token": csrf_token(client, "/courses/new"),
            "unit": centre.commune.id,
            "code": "SO-CUU-2",
            "name": "Sơ cứu ban đầu",
            "category": "needs_based",
            "planned_hours": "0,2",
            "min_attendance_percent": "80",
        },
    ).get_data(as_text=True)
    assert 'value="0,2"' in page
    assert "0,5" in page  # the lower limit, the Vietnamese way
    assert db.session.scalar(select(Course.id).where(Course.code == "SO-CUU-2")) is None


def test_hours_with_more_than_one_decimal_are_refused_not_rounded(client, app_ctx):
    """The column keeps a tenth of an hour: "1,25" was stored as 1,2 (1,3 on PostgreSQL) without a word."""
    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, user)
    page = client.post(
        "/courses/new",
        data={
            "csrf_token": csrf_token(client, "/courses/new"),
            "unit": centre.commune.id,
            "code": "SO-CUU-3",
            "name": "Sơ cứu ban đầu",
            "category": "needs_based",
            "planned_hours": "1,25",
            "min_attendance_percent": "80",
        },
    ).get_data(as_text=True)
    assert 'value="1,25"' in page
    assert "Tối đa 1 chữ số sau dấu thập phân." in page
    assert db.session.scalar(select(Course.id).where(Course.code == "SO-CUU-3")) is None


@pytest.mark.parametrize(
    ("typed", "said"), [("snan", "Hãy nhập một số."), ("inf", "Hãy nhập một số."), ("1e400", "Số phải từ")]
)
def test_no_number_or_an_absurd_one_is_a_message_not_a_server_error(client, app_ctx, typed, said):
    """Python reads "snan" and "inf" as decimals: "snan" broke the page (500), as did a quantity beyond any hours."""
    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, user)
    response = client.post(
        "/courses/new",
        data={
            "csrf_token": csrf_token(client, "/courses/new"),
            "unit": centre.commune.id,
            "code": "SO-CUU-4",
            "name": "Sơ cứu ban đầu",
            "category": "needs_based",
            "planned_hours": typed,
            "min_attendance_percent": "80",
        },
    )
    assert response.status_code == 200
    assert said in response.get_data(as_text=True)
    assert db.session.scalar(select(Course.id).where(Course.code == "SO-CUU-4")) is None
