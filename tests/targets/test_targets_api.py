"""The targets API: plans, values with their filters, validation, scope and the recompute request."""

from __future__ import annotations

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import AdminUnit
from lms.targets.models import IndicatorValue
from tests.conftest import login, make_user, make_village
from tests.targets.conftest import (
    FAMILY,
    households,
    link,
    load_text,
    make_unit,
    plan_text,
    recognise,
    run,
)


def _setup(vn, province):
    easy = make_unit(province, "TA01", "Xã Dễ", "commune")
    hard = make_unit(province, "TA02", "Xã Khó", "commune", area_class="especially_difficult")
    for commune, total, recognised in ((easy, 4, 3), (hard, 5, 1)):
        village = make_village(commune, f"V-{commune.code}", "Thôn 1")
        for household in households(village, total)[:recognised]:
            recognise("household", household.id, "family", 2025, commune)
    load_text(plan_text("province", "TP99", FAMILY))
    run([easy, hard], 2025)
    db.session.commit()
    return easy, hard


def test_values_of_a_unit_and_of_its_communes(client, vn, province):
    _easy, _hard = _setup(vn, province)
    login(client, make_user(Role.PROVINCE_LEADER, province, "leader@example.vn"))
    body = client.get(f"/api/v1/targets/values?unit={province.id}&period=2025").get_json()
    (row,) = body["items"]
    assert (row["unit"]["id"], row["indicator"], row["numerator"], row["denominator"]) == (province.id, "family", 4, 9)
    assert row["share"] == 44.44
    assert row["target"] == {"year": 2025, "share": 80.0, "area_class": None, "provisional": False}

    body = client.get(
        f"/api/v1/targets/values?unit={province.id}&below=communes&period=2025&plan=test-plan&indicator=family"
    ).get_json()
    rows = {r["unit"]["code"]: r for r in body["items"]}
    assert {code: (r["numerator"], r["denominator"]) for code, r in rows.items()} == {"TA01": (3, 4), "TA02": (1, 5)}
    # The especially difficult commune is measured against its own, lower target.
    assert rows["TA02"]["target"]["share"] == 60.0
    assert rows["TA01"]["target"]["share"] == 80.0
    assert body["total"] == 2


def test_values_under_the_old_structure_and_by_basis(client, vn, province):
    old_province = make_unit(vn, "OP98", "Tỉnh Cũ", "province", old=True)
    old = make_unit(old_province, "OA98", "Xã Cũ", "commune", old=True)
    new = make_unit(province, "NA98", "Xã Mới", "commune")
    link(old, new, "1")
    village = make_village(old, "V-OA98", "Thôn cũ")
    first, _ = households(village, 2)
    recognise("household", first.id, "family", 2024, old)
    load_text(plan_text("province", "TP99", FAMILY))
    run([old], 2024)
    db.session.commit()
    login(client, make_user(Role.ADMINISTRATOR, vn, "admin@example.vn"))
    current = client.get(f"/api/v1/targets/values?unit={new.id}&period=2024").get_json()["items"]
    assert [(r["numerator"], r["denominator"], r["structure"]) for r in current] == [(1, 2, "current")]
    before = client.get(f"/api/v1/targets/values?unit={old_province.id}&period=2024&structure=pre2025").get_json()[
        "items"
    ]
    assert [(r["numerator"], r["denominator"]) for r in before] == [(1, 2)]
    projection = client.get(f"/api/v1/targets/values?unit={new.id}&period=2024&basis=projection").get_json()
    assert projection["items"][0]["basis"] == "projection"


def test_invalid_filters_are_named(client, vn, province):
    login(client, make_user(Role.ADMINISTRATOR, vn, "admin@example.vn"))
    response = client.get("/api/v1/targets/values?period=25&structure=old&basis=hope&below=all&unit=999999")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"period", "structure", "basis", "below", "unit"}


def test_plans_are_listed_and_shown(client, vn, province):
    load_text(plan_text("province", "TP99", FAMILY))
    db.session.commit()
    login(client, make_user(Role.COMMUNE_LEADER, make_unit(province, "TA03", "Xã", "commune"), "c@example.vn"))
    plans = client.get("/api/v1/targets/plans").get_json()["items"]
    assert [(p["code"], p["version"], p["indicator_count"]) for p in plans] == [("test-plan", 1, 1)]
    plan = client.get("/api/v1/targets/plans/test-plan").get_json()
    (indicator,) = plan["indicators"]
    assert indicator["denominator"] == {"subject": "household"}
    assert indicator["denominator_text"] == "all households"
    assert {(t["year"], t["area_class"]) for t in indicator["targets"]} == {
        (2025, None),
        (2025, "especially_difficult"),
        (2030, None),
    }
    assert client.get("/api/v1/targets/plans/nope").status_code == 404


def test_a_commune_leader_sees_only_their_communes_values(client, vn, province):
    easy, hard = _setup(vn, province)
    login(client, make_user(Role.COMMUNE_LEADER, easy, "easy@example.vn"))
    rows = client.get("/api/v1/targets/values?period=2025&per_page=500").get_json()["items"]
    villages = set(db.session.scalars(db.select(AdminUnit.id).where(AdminUnit.parent_id == easy.id)))
    assert villages  # the commune's villages have figures of their own, and are in the leader's scope
    assert {r["unit"]["id"] for r in rows} == {easy.id} | villages
    response = client.get(f"/api/v1/targets/values?unit={hard.id}&period=2025")
    assert response.status_code == 422
    assert client.get(f"/api/v1/targets/values?unit={province.id}").status_code == 422


def test_recompute_is_for_target_administrators_in_their_scope(app, client, vn, province):
    easy, _ = _setup(vn, province)
    db.session.execute(db.delete(IndicatorValue))
    db.session.commit()
    login(client, make_user(Role.COMMUNE_LEADER, easy, "easy@example.vn"))
    response = client.post(
        "/api/v1/targets/recompute",
        json={"unit_id": province.id, "year": 2025},
        headers={"X-CSRFToken": _token(client)},
    )
    assert response.status_code == 403

    leader = app.test_client()
    login(leader, make_user(Role.PROVINCE_LEADER, province, "p@example.vn"))
    response = leader.post(
        "/api/v1/targets/recompute",
        json={"unit_id": province.id, "year": 2025},
        headers={"X-CSRFToken": _token(leader)},
    )
    assert response.status_code == 202, response.get_json()
    # Eager in tests: the task ran after the commit and the values are back.
    rows = leader.get(f"/api/v1/targets/values?unit={province.id}&period=2025").get_json()["items"]
    assert [(r["numerator"], r["denominator"]) for r in rows] == [(4, 9)]
    bad = leader.post(
        "/api/v1/targets/recompute", json={"unit_id": vn.id, "year": 2099}, headers={"X-CSRFToken": _token(leader)}
    )
    assert {e["field"] for e in bad.get_json()["errors"]} == {"unit_id", "year"}


def _token(client):
    from tests.conftest import csrf_token

    return csrf_token(client, "/registry/search")
