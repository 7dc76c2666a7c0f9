"""A commune whose figures were never computed: the dashboard says when they come and whom to ask, not only that
there are none."""

from __future__ import annotations

import re

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import UnitLevel
from tests.conftest import login, make_user
from tests.targets.dashboard_data import build_province, make_unit


def test_a_commune_without_figures_says_when_they_come_and_whom_to_ask(app, client):
    data = build_province(1, tag="NF")
    commune = make_unit(data.province, "NFC01", "Xã Chưa Có Số Liệu", UnitLevel.COMMUNE)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "no-figures@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/targets/units/{commune.id}").get_data(as_text=True)
    notice = re.search(r'<div[^>]*id="no-figures"[^>]*>(.*?)</div>', html, re.S)
    assert notice is not None
    text = " ".join(notice.group(1).split())
    assert text.startswith("Chưa có số liệu được tính cho đơn vị, địa giới và loại số liệu này.")
    assert "vài phút sau mỗi thay đổi" in text
    assert "đề nghị quản trị hệ thống tính lại số liệu của đơn vị này" in text
    # A commune with figures has no such notice.
    with_figures = client.get(f"/targets/units/{data.communes[0].id}")
    assert with_figures.status_code == 200
    assert 'id="no-figures"' not in with_figures.get_data(as_text=True)
