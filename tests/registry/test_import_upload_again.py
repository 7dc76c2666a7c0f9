"""A refused import's page leads to the upload form with the file's kind and commune still chosen: the officer who
fixed row 3 had to find the menu, then the kind and the commune among 3,400 again (walk5's finding). A finished
import leads to its commune and to another upload."""

from __future__ import annotations

import re

import pytest

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import ImportJob
from tests.conftest import login, make_user, unit_by_code

pytestmark = pytest.mark.usefixtures("client")


def _selected(body: str, name: str) -> str:
    select = body.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
    chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', select)
    assert chosen is not None
    return chosen.group(1) if chosen.group(1) is not None else chosen.group(2)


def _job(admin, commune, status: str) -> ImportJob:
    job = ImportJob(
        kind="households",
        filename="ho.csv",
        content=b"",
        status=status,
        unit=commune,
        created_by_id=admin.id,
        errors=[{"row": 3, "column": "birth_date", "message": "31/02/1982"}] if status == "failed" else [],
        summary={} if status == "failed" else {"household": {"created": 1, "updated": 0, "unchanged": 0}},
    )
    db.session.add(job)
    db.session.commit()
    return job


def test_a_refused_import_offers_the_corrected_upload_with_its_kind_and_commune(app_ctx, app):
    commune = unit_by_code("23293")
    admin = make_user(Role.ADMINISTRATOR, unit_by_code("51", "province"), "again-admin@example.vn")
    db.session.commit()
    job = _job(admin, commune, "failed")
    client = app.test_client()
    login(client, admin)
    page = client.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    link = re.search(r'id="upload-again" href="([^"]+)"', page)
    assert link is not None
    assert "Tải lên tệp đã sửa" in page
    form = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert _selected(form, "kind") == "households"
    assert _selected(form, "unit") == str(commune.id)


def test_a_finished_import_leads_to_its_commune_and_another_upload(app_ctx, app):
    commune = unit_by_code("23293")
    admin = make_user(Role.ADMINISTRATOR, unit_by_code("51", "province"), "again-admin2@example.vn")
    db.session.commit()
    job = _job(admin, commune, "succeeded")
    client = app.test_client()
    login(client, admin)
    page = client.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert f'id="import-unit" href="/registry/units/{commune.id}"' in page
    assert "Nhập tệp khác" in page
    assert "upload-again" not in page


def test_a_unit_outside_the_list_is_not_chosen(app_ctx, app):
    admin = make_user(Role.ADMINISTRATOR, unit_by_code("51", "province"), "again-admin3@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    form = client.get("/registry/imports/new?kind=nonsense&unit=999999").get_data(as_text=True)
    assert _selected(form, "unit") == ""
