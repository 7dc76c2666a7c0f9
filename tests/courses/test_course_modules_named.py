"""A course's IT-skills modules by their names, as its certificates print them: "IU09" alone was a code to look up."""

from __future__ import annotations

import re

from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import login, make_user
from tests.courses.conftest import make_centre


def test_the_course_page_names_its_modules_in_the_standards_order(client, app_ctx):
    centre = make_centre()
    centre.course.module_codes = ["IU02", "IU01"]
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, user)
    page = client.get(f"/courses/{centre.course.id}").get_data(as_text=True)
    shown = re.search(r'<dd[^>]*id="course-modules"[^>]*>(.*?)</dd>', page, re.S)
    assert shown is not None
    assert shown.group(1).strip() == "IU01 Hiểu biết về CNTT cơ bản; IU02 Sử dụng máy tính cơ bản"
