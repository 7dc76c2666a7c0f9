"""PATCH /api/v1/households|organisations|clcs/<id>: the corrections the registry's edit pages make, through the same
services (one rule for a household number taken in its village, one audit event per change), scoped to the caller's
communes (another commune's object is not found)."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select

from lms.auth.models import ApiToken, Role
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry.models import Clc, Household, Organisation
from tests.conftest import make_household, make_user, make_village, unit_by_code


def _bearer(unit):
    user = make_user(Role.CENTRE_MANAGER, unit, f"reg-{uuid.uuid4().hex[:8]}@example.vn")
    _, secret = ApiToken.issue(user, "integration")
    return {"Authorization": f"Bearer {secret}"}


def _problem(response, status):
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def _audited(action: str) -> list[str]:
    return [e.object_id for e in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))]


@pytest.fixture
def registry(app_ctx):
    commune = unit_by_code("23293")
    village = make_village(commune, "RC-V1", "Thôn Sửa Sổ")
    first = make_household(village, "1", "Hồ Văn Một")
    second = make_household(village, "2", "Hồ Văn Hai")
    organisation = Organisation(commune_id=commune.id, code="TH-RC", name="Trường Tiểu học Sửa Sổ", kind="school")
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng Sửa Sổ")
    db.session.add_all([organisation, clc])
    headers = {"own": _bearer(commune), "other": _bearer(unit_by_code("23302"))}
    db.session.commit()
    return {"first": first, "second": second, "organisation": organisation, "clc": clc, "headers": headers}


def test_a_household_s_number_and_address_are_corrected_and_a_taken_number_is_refused(client, registry):
    first, headers = registry["first"], registry["headers"]
    url = f"/api/v1/households/{first.id}"
    taken = _problem(client.patch(url, json={"code": "2"}, headers=headers["own"]), 422)
    assert taken["errors"] == [{"field": "code", "message": "Thôn này đã có hộ khác mang số này."}]
    done = client.patch(url, json={"code": " 1A ", "address": "Tổ 3"}, headers=headers["own"])
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["code"], done.get_json()["address"]) == ("1A", "Tổ 3")
    assert client.patch(url, json={"address": "Tổ 4"}, headers=headers["own"]).get_json()["code"] == "1A"
    db.session.expire_all()
    assert (db.session.get(Household, first.id).code, db.session.get(Household, first.id).address) == ("1A", "Tổ 4")
    assert _audited("household.update") == [str(first.id)] * 2
    assert _problem(client.patch(url, json={}, headers=headers["own"]), 422)["errors"][0]["field"] == ""
    assert _problem(client.patch(url, json={"code": None}, headers=headers["own"]), 422)["errors"][0]["field"] == "code"


def test_an_organisation_and_a_centre_are_corrected(client, registry):
    organisation, clc, headers = registry["organisation"], registry["clc"], registry["headers"]
    response = client.patch(
        f"/api/v1/organisations/{organisation.id}",
        json={"name": "Trường Tiểu học và THCS Sửa Sổ", "managing_level": "district"},
        headers=headers["own"],
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["kind"] == "school"  # left out: kept
    assert (
        _problem(
            client.patch(f"/api/v1/organisations/{organisation.id}", json={"kind": "shop"}, headers=headers["own"]), 422
        )["errors"][0]["field"]
        == "kind"
    )
    response = client.patch(f"/api/v1/clcs/{clc.id}", json={"established_on": "2008-09-05"}, headers=headers["own"])
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    organisation = db.session.get(Organisation, organisation.id)
    assert (organisation.name, organisation.managing_level) == ("Trường Tiểu học và THCS Sửa Sổ", "district")
    assert organisation.name_folded == "truong tieu hoc va thcs sua so"  # found by the search as renamed
    assert db.session.get(Clc, clc.id).established_on == date(2008, 9, 5)
    cleared = client.patch(f"/api/v1/clcs/{clc.id}", json={"established_on": None}, headers=headers["own"])
    assert cleared.get_json()["established_on"] is None
    assert _audited("organisation.update") == [str(organisation.id)]
    assert _audited("clc.update") == [str(clc.id)] * 2


def test_another_commune_s_objects_are_not_found(client, registry):
    other = registry["headers"]["other"]
    for url, body in (
        (f"/api/v1/households/{registry['first'].id}", {"address": "x"}),
        (f"/api/v1/organisations/{registry['organisation'].id}", {"name": "x"}),
        (f"/api/v1/clcs/{registry['clc'].id}", {"name": "x"}),
    ):
        assert _problem(client.patch(url, json=body, headers=other), 404)
    db.session.expire_all()
    assert db.session.get(Household, registry["first"].id).address != "x"
    assert not _audited("household.update")
