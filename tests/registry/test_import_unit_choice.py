"""The import page chooses no unit for whoever may import into several: an administrator's list of communes opened
on the first of them ("Phường 1 Bảo Lộc"), so a file sent without looking at the list was checked against a commune
it was not for. One commune (a centre manager's) stays chosen."""

from __future__ import annotations

import io

import pytest

from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user, unit_by_code

pytestmark = pytest.mark.usefixtures("client")

CSV = b"village_code,household_code,full_name,birth_date,sex,relation_to_head\n"


def test_an_administrator_must_choose_the_unit(app_ctx, app):
    admin = make_user(Role.ADMINISTRATOR, unit_by_code("51", "province"), "import-admin@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    body = client.get("/registry/imports/new").get_data(as_text=True)
    assert "— chọn xã, phường —" in body
    first = body.split('name="unit"', 1)[1].split("<option", 2)[1]
    assert 'value=""' in first
    assert "selected" in first
    refused = client.post(
        "/registry/imports/new",
        data={
            "csrf_token": csrf_token(client, "/registry/imports/new"),
            "kind": "households",
            "unit": "",
            "file": (io.BytesIO(CSV), "ho.csv"),
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 200
    assert "Hãy chọn xã, phường mà tệp này thuộc về." in refused.get_data(as_text=True)


def test_a_single_commune_stays_chosen(app_ctx, app):
    commune = unit_by_code("23293")
    manager = make_user(Role.CENTRE_MANAGER, commune, "import-one@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, manager)
    body = client.get("/registry/imports/new").get_data(as_text=True)
    select = body.split('name="unit"', 1)[1].split("</select>", 1)[0]
    assert "— chọn xã, phường —" not in select
    assert f'value="{commune.id}"' in select
