"""A province's plan outlives its province: Kon Tum's Plan 1514 (2022) is the plan of the communes that took over Kon
Tum's area when the province was merged into Quảng Ngãi on 1 July 2025 (DOMAIN.md §2). Shown on Quảng Ngãi's page, or
on one of those communes', under its own title ("… trên địa bàn tỉnh Kon Tum"), it read as a mistake to a new reader;
the page now says whose plan it is and what it counts today. A plan whose unit is still on the map says nothing of
the kind."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import UnitLevel
from lms.registry.services import find_unit
from lms.targets.models import Plan
from lms.targets.plans import load_plans
from tests.conftest import login, make_user


def _line(html: str) -> str | None:
    found = re.search(r'<p[^>]*id="former-plan-unit"[^>]*>(.*?)</p>', html, re.S)
    return " ".join(found.group(1).split()) if found else None


def test_kon_tums_plan_on_quang_ngais_page_says_whose_plan_it_is(app, client):
    load_plans()
    province = find_unit("51", UnitLevel.PROVINCE)
    kon_tum = find_unit("62", UnitLevel.PROVINCE, on=date(2022, 5, 19))
    assert province is not None
    assert kon_tum is not None
    assert kon_tum.valid_to is not None  # merged in 2025
    plans = {p.code: p.id for p in db.session.scalars(select(Plan).where(Plan.active.is_(True)))}
    leader = make_user(Role.PROVINCE_LEADER, province, "former-plan@example.vn")
    province_id, kon_tum_name = province.id, kon_tum.full_name
    db.session.commit()
    login(client, leader)
    html = client.get(f"/targets/units/{province_id}?plan={plans['kon-tum-1514-2022']}").get_data(as_text=True)
    line = _line(html)
    assert line is not None
    assert line.startswith(f"Kế hoạch của {kon_tum_name} trước đây (đến 30/06/2025)")
    assert "xã, phường kế thừa địa bàn" in line
    # The national programme's unit is the country, still on the map: no such line.
    national = client.get(f"/targets/units/{province_id}?plan={plans['qd-387-2022']}").get_data(as_text=True)
    assert _line(national) is None
