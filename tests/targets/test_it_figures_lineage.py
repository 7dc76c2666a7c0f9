"""A commune created by the 2025 merger has figures for the years before it existed: its predecessors', carried by
the lineage's shares. The targets dashboard always did; the IT-skills page showed none — now both read the same
lineage (``commune_lineage_shares``) and agree."""

from __future__ import annotations

import io
from datetime import date

from sqlalchemy import select

from courses import it_skills
from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import AdminUnit, UnitLineage
from lms.targets import compute
from lms.targets.plans import load_plans
from tests.conftest import login, make_user, make_village, unit_by_code
from tests.targets.conftest import TODAY, households, value
from tests.targets.test_compute import _membership, _record


def test_the_it_page_and_the_dashboard_agree_on_a_merged_commune_before_the_merger(client, app_ctx):
    load_plans()
    new = unit_by_code("23293")  # Phường Kon Tum, created on 1 July 2025 from five old communes
    assert new.valid_from == date(2025, 7, 1)
    old_ids = list(db.session.scalars(select(UnitLineage.old_unit_id).where(UnitLineage.new_unit_id == new.id)))
    first, second = (db.session.get(AdminUnit, i) for i in sorted(old_ids)[:2])
    # Three association members of one old commune, two of the other; three studied the directives in 2024.
    for old, count, studied in ((first, 3, 2), (second, 2, 1)):
        village = make_village(old, f"V-LN{old.id}", "Thôn Cũ")
        (household,) = households(village, 1, members=count)
        for n, person in enumerate(household.members):
            _membership(person, old, "member", started=date(2020, 1, 1), ended=date(2025, 6, 30))
            if n < studied:
                _record(person, old, "policy_study", 2024)
    db.session.flush()
    compute.recompute([new.id], 2024, today=TODAY)
    dashboard = value(new, "policy_study", year=2024)
    assert dashboard == (3, 5)

    (line,) = it_skills.figures(new, it_skills.Period.year(2024)).communes
    assert (line.studied_policy, line.members) == dashboard
    assert line.commune_id == new.id
    assert len(line.carried_from) == 5  # every old commune of the lineage
    # The province's page: the same line among its communes, and its total holds the merged commune's past.
    province = db.session.get(AdminUnit, new.parent_id)
    on_province = it_skills.figures(province, it_skills.Period.year(2024))
    lines = {c.commune_id: c for c in on_province.communes}
    assert (lines[new.id].studied_policy, lines[new.id].members) == dashboard
    assert on_province.total("members") >= 5

    leader = make_user(Role.COMMUNE_LEADER, new, "leader-lineage@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/courses/it/units/{new.id}?from=2024-01-01&to=2024-12-31").get_data(as_text=True)
    assert "3 / 5" in html
    assert 'id="carried-from"' in html


def test_the_it_figures_api_says_whose_figures_a_merged_commune_carries_and_the_document_declares_it(client, app_ctx):
    """The API answers the carried figures too: a line of a commune created on 1 July 2025 names, for 2024, the old
    communes whose figures it holds — as the page says — and a line of the commune's own figures names none. The
    OpenAPI document declares the field."""
    from lms.auth.models import ApiToken

    load_plans()
    new = unit_by_code("23293")
    old_ids = sorted(db.session.scalars(select(UnitLineage.old_unit_id).where(UnitLineage.new_unit_id == new.id)))
    old = db.session.get(AdminUnit, old_ids[0])
    village = make_village(old, "V-LNAPI", "Thôn Cũ")
    (household,) = households(village, 1, members=2)
    for person in household.members:
        _membership(person, old, "member", started=date(2020, 1, 1), ended=date(2025, 6, 30))
    _, secret = ApiToken.issue(make_user(Role.COMMUNE_LEADER, new, "leader-lineage-api@example.vn"), "phone")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "vi"}

    before = client.get(f"/api/v1/it/figures?unit_id={new.id}&from=2024-01-01&to=2024-12-31", headers=headers)
    assert before.status_code == 200, before.get_json()
    (line,) = before.get_json()["communes"]
    assert line["members"] == 2
    assert len(line["carried_from"]) == len(old_ids)
    assert old.name in line["carried_from"] or old.full_name in line["carried_from"]
    after = client.get(f"/api/v1/it/figures?unit_id={new.id}&from=2026-01-01&to=2026-12-31", headers=headers)
    assert after.get_json()["communes"][0]["carried_from"] == []
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    declared = [s for name, s in schemas.items() if name.split(".")[-1] == "CommuneFigures"]
    assert declared
    assert all("carried_from" in s["properties"] for s in declared)


def test_the_it_figures_workbook_names_the_old_communes_a_merged_commune_carries(client, app_ctx):
    """The workbook's per-commune sheet holds the carried counts: it names the old communes they are from, as the
    page does (its officers' sheet lists none of their officers); a period of the commune's own figures has no such
    column."""
    from openpyxl import load_workbook

    load_plans()
    new = unit_by_code("23293")
    old_ids = sorted(db.session.scalars(select(UnitLineage.old_unit_id).where(UnitLineage.new_unit_id == new.id)))
    old = db.session.get(AdminUnit, old_ids[0])
    village = make_village(old, "V-LNXL", "Thôn Cũ")
    (household,) = households(village, 1, members=2)
    for person in household.members:
        _membership(person, old, "member", started=date(2020, 1, 1), ended=date(2025, 6, 30))
    leader = make_user(Role.COMMUNE_LEADER, new, "leader-lineage-xlsx@example.vn")
    db.session.commit()
    login(client, leader)

    def sheet(first: str, last: str) -> list[tuple]:
        response = client.get(f"/courses/it/units/{new.id}.xlsx?from={first}&to={last}")
        assert response.status_code == 200
        return list(load_workbook(io.BytesIO(response.data))["Theo xã"].iter_rows(values_only=True))

    head, row = sheet("2024-01-01", "2024-12-31")
    assert head[-1].startswith("Gồm số liệu của các xã cũ")
    assert row[head.index("Số cán bộ, hội viên")] == 2
    assert old.name in row[-1]
    head, _row = sheet("2026-01-01", "2026-12-31")
    assert not head[-1].startswith("Gồm số liệu")
