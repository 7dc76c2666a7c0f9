"""Dates and hours no page could mean, refused by field in Vietnamese (ADR 58): a centre founded on 31/12/9999 or
01/01/0001 (the form and PATCH /clcs kept any date), an IT certificate issued in year 1 (no lower bound: a learning
record of year 1), and a course of 0,1 or 99 999,9 planned hours through the API where the form asks 0,5 to 9 999."""

from __future__ import annotations

import io
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from courses.models import Course, ItCertificate
from lms.auth.models import ApiToken, Role
from lms.auth.services import create_user
from lms.core.clock import local_today
from lms.extensions import db
from lms.registry.models import Clc
from tests.conftest import PASSWORD, csrf_token, login, make_user, unit_by_code

FOUNDING = "Hãy nhập ngày thành lập từ 01/01/1945 đến hôm nay."


@pytest.fixture
def centre(app_ctx):
    commune = unit_by_code("23293")
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng Ngày Lập", established_on=date(2008, 9, 5))
    db.session.add(clc)
    user = make_user(Role.CENTRE_MANAGER, commune, f"clc-{uuid.uuid4().hex[:8]}@example.vn")
    _, secret = ApiToken.issue(user, "dates")
    db.session.commit()
    return clc, user, {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1944-12-31", "tomorrow"])
def test_a_centre_s_founding_date_out_of_range_is_refused_by_the_api(client, centre, day):
    clc, _, bearer = centre
    if day == "tomorrow":
        day = (local_today() + timedelta(days=1)).isoformat()
    response = client.patch(f"/api/v1/clcs/{clc.id}", json={"established_on": day}, headers=bearer)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["errors"] == [{"field": "established_on", "message": FOUNDING}]
    db.session.expire_all()
    assert db.session.get(Clc, clc.id).established_on == date(2008, 9, 5)
    assert (
        client.patch(f"/api/v1/clcs/{clc.id}", json={"established_on": "1945-01-01"}, headers=bearer).status_code == 200
    )


def test_a_centre_s_founding_date_out_of_range_is_refused_by_the_form(client, centre):
    clc, user, _ = centre
    login(client, user)
    edit = f"/registry/clcs/{clc.id}/edit"
    data = {"csrf_token": csrf_token(client, edit), "name": clc.name, "address": ""}
    response = client.post(edit, data={**data, "established_on": "9999-12-31"})
    assert response.status_code == 200
    assert FOUNDING in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Clc, clc.id).established_on == date(2008, 9, 5)
    assert client.post(edit, data={**data, "established_on": "1998-03-01"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Clc, clc.id).established_on == date(1998, 3, 1)


def test_an_it_certificate_issued_before_1990_is_refused(app_ctx, client):
    from tests.courses.test_it_skills import PDF, people

    (holder,) = people(unit_by_code("23293"), "OLD", "Y Hoa Cũ")
    own = create_user("it-old@example.vn", holder.full_name, PASSWORD)
    own.person_id = holder.id
    db.session.commit()
    login(client, own)
    url = "/courses/it/me/certificates/new"

    def post(issued_on: str):
        data = {
            "csrf_token": csrf_token(client, url),
            "number": "CNTT-OLD-1",
            "issuer": "Trường ĐH Đà Nẵng",
            "issued_on": issued_on,
            "modules": "",
            "file": (io.BytesIO(PDF), "chung-chi.pdf"),
        }
        return client.post(url, data=data, content_type="multipart/form-data")

    for typed in ("0001-01-01", "1989-12-31"):
        refused = post(typed)
        assert refused.status_code == 200
        assert "ngày cấp trước 01/01/1990: hãy kiểm tra lại năm cấp ghi trên chứng chỉ" in refused.get_data(
            as_text=True
        )
    assert db.session.scalar(select(func.count()).select_from(ItCertificate)) == 0
    assert post("1990-01-01").status_code == 302  # an A, B or C certificate of the 1990s
    assert db.session.scalar(select(func.count()).select_from(ItCertificate)) == 1


@pytest.mark.parametrize(
    ("hours", "refused"), [(0.1, True), (0.4, True), (9999.1, True), (99999.9, True), (0.5, False), (9999, False)]
)
def test_the_api_takes_the_forms_planned_hours(client, app_ctx, hours, refused):
    from tests.courses.conftest import make_centre

    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    _, secret = ApiToken.issue(user, "hours")
    db.session.commit()
    body = {"unit_id": centre.commune.id, "code": "GIO-1", "name": "Sơ cứu", "category": "needs_based"}
    response = client.post(
        "/api/v1/courses", json={**body, "planned_hours": hours}, headers={"Authorization": f"Bearer {secret}"}
    )
    if refused:
        assert response.status_code == 422, response.get_json()
        assert [e["field"] for e in response.get_json()["errors"]] == ["planned_hours"]
        assert db.session.scalar(select(Course.id).where(Course.code == "GIO-1")) is None
    else:
        assert response.status_code == 201, response.get_json()
