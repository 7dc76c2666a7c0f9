"""The class list in Vietnamese (the default): each class's badge says where it stands in the words of a class,
not those of a background job."""

from __future__ import annotations

import re
from datetime import timedelta

from courses import services
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import login, make_user
from tests.courses.conftest import make_centre, make_class


def test_a_running_class_is_under_way_not_being_processed(client, app_ctx):
    centre = make_centre()
    today = services.local_now().date()
    make_class(centre, name="Lớp đang học", starts_on=today - timedelta(days=3), ends_on=today + timedelta(days=20))
    make_class(centre, name="Lớp sắp mở", starts_on=today + timedelta(days=5), ends_on=today + timedelta(days=30))
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, user)

    page = client.get("/courses/classes").get_data(as_text=True)

    badges = dict(re.findall(r'fw-semibold">([^<]+)</span>\s*<span class="badge[^"]*">([^<]+)</span>', page))
    assert badges == {"Lớp đang học": "Đang học", "Lớp sắp mở": "Sắp tới"}
    assert "Đang xử lý" not in page  # the import job's word for "running"
