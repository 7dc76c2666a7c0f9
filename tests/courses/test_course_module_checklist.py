"""A new course's IT-skills modules are ticked from the standard's list (Circular 03/2014: basic IU01–IU06,
advanced IU07–IU15) by name, in the standard's order, and stay ticked when the form comes back with an error.
They were typed as codes ("IU01, IU02"), which a manager had to look up."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from courses import it_skills
from courses.models import Course
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user
from tests.courses.conftest import make_centre


@pytest.fixture
def manager(app_ctx):
    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune, f"modules-{uuid.uuid4().hex[:8]}@example.vn")
    db.session.commit()
    return centre, user


def _ticked(body: str) -> list[str]:
    return re.findall(r'name="module_codes" value="(IU\d\d)"[^>]*\bchecked\b', body)


def _post(client, centre, modules: list[str], **data: str):
    fields = {
        "csrf_token": csrf_token(client, "/courses/new"),
        "unit": str(centre.commune.id),
        "code": "TH-CK-01",
        "name": "Tin học văn phòng",
        "category": "it_skills",
        "planned_hours": "24",
        "min_attendance_percent": "80",
    }
    fields.update(data)
    return client.post("/courses/new", data={**fields, "module_codes": modules})


def test_the_form_lists_every_module_by_name_in_the_standards_order(client, manager):
    _centre, user = manager
    login(client, user)
    body = client.get("/courses/new").get_data(as_text=True)
    shown = re.findall(r'name="module_codes" value="(IU\d\d)"', body)
    assert shown == list(it_skills.framework().codes)
    assert shown[0] == "IU01"
    assert shown[-1] == "IU15"
    assert len(shown) == 15
    for module in it_skills.framework().modules:
        assert f"{module.code} {module.name_vi}</label>" in body
    assert "Kỹ năng cơ bản (IU01–IU06)" in body
    assert "Kỹ năng nâng cao (IU07–IU15)" in body
    assert body.index("Kỹ năng cơ bản") < body.index("IU01 ") < body.index("Kỹ năng nâng cao") < body.index("IU07 ")
    assert "e.g. IU01" not in body
    assert "ví dụ IU01, IU02" not in body
    assert _ticked(body) == []


def test_what_was_ticked_is_kept_when_the_form_comes_back_with_an_error(client, manager):
    centre, user = manager
    login(client, user)
    response = _post(client, centre, ["IU08", "IU03"], name="")
    assert response.status_code == 200
    assert sorted(_ticked(response.get_data(as_text=True))) == ["IU03", "IU08"]
    assert db.session.scalar(select(Course).where(Course.code == "TH-CK-01")) is None


def test_ticked_modules_are_saved_in_the_standards_order(client, manager):
    centre, user = manager
    login(client, user)
    response = _post(client, centre, ["IU07", "IU02", "IU01"])
    assert response.status_code == 302
    course = db.session.scalar(select(Course).where(Course.code == "TH-CK-01"))
    assert course is not None
    assert course.module_codes == ["IU01", "IU02", "IU07"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "IU02 Sử dụng máy tính cơ bản" in page


def test_a_code_the_standard_does_not_have_is_refused_by_name_and_the_rest_stay_ticked(client, manager):
    centre, user = manager
    login(client, user)
    response = _post(client, centre, ["IU01", "IU99"])
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "không có mô đun kỹ năng CNTT IU99 (từ IU01 đến IU15)" in body
    assert "not a valid choice" not in body
    assert _ticked(body) == ["IU01"]


def test_no_module_ticked_is_a_course_without_modules(client, manager):
    centre, user = manager
    login(client, user)
    response = _post(client, centre, [], category="literacy", code="XMC-01")
    assert response.status_code == 302
    course = db.session.scalar(select(Course).where(Course.code == "XMC-01"))
    assert course is not None
    assert course.module_codes == []
