"""The summary of an evaluation's results as a filed document: the "Bản tổng hợp kết quả tự đánh giá các tiêu chí,
chỉ tiêu" a unit sends with its dossier (Circular 24/2023, Art. 10.1.b–c; Circular 25/2023, Art. 9.1.b and d: its
figures "tính từ ngày 01 tháng 1 đến ngày 31 tháng 12 của năm đánh giá"), reached from the explanation page."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import AdminUnit
from lms.titles import criteria, engine
from tests.conftest import login, make_user, unit_by_code
from tests.courses.test_documents import _pdf_text
from tests.titles.test_engine import YEAR, eligibility
from tests.titles.test_rules_circulars import unit_with


@pytest.fixture
def commune(app_ctx: Any) -> AdminUnit:
    criteria.load_shipped_criteria()
    return unit_by_code("23293")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_a_units_summary_from_its_explanation_page(commune: AdminUnit, client: Any) -> None:
    org = unit_with(commune, t2_1="92.5")
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 1
    leader = make_user(Role.COMMUNE_LEADER, commune, "sum-leader@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    link = re.search(r'id="summary-pdf" href="([^"]+)"', page)
    assert link is not None, "the explanation page links no summary"
    assert "Bản tổng hợp kết quả (PDF)" in page
    response = client.get(link.group(1))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    lines = [line.strip() for line in _pdf_text(response.data).splitlines()]
    text = _one_line("\n".join(lines))
    # The document's kind on two lines of whole groups of words, not broken inside "CHỈ TIÊU".
    assert "CÁC TIÊU CHÍ, CHỈ TIÊU" in lines
    # Headed by the unit itself, which sends its dossier (Art. 10.1.c), and signed by its head.
    assert org.name.upper() in text
    assert "BẢN TỔNG HỢP KẾT QUẢ TỰ ĐÁNH GIÁ CÁC TIÊU CHÍ, CHỈ TIÊU" in text
    assert f"“Đơn vị học tập” năm {YEAR}" in text
    assert f"Thông tin, số liệu tính từ ngày 01/01/{YEAR} đến ngày 31/12/{YEAR} của năm đánh giá" in text
    assert "THỦ TRƯỞNG ĐƠN VỊ" in text
    # Every indicator by its name and clause, with its result: t2.1 at 92.5 % meets level 1, not level 2.
    assert "Tỷ lệ thành viên tuân thủ kỷ luật lao động" in text
    assert "Điều 6" in text
    assert "92,5 % Đạt mức 1 " in text  # its value, then the levels whose bar it meets
    assert "Kết luận: đạt mức độ 1." in text
    assert "t2.1" not in text  # the leader reads names, never codes


def test_a_summary_outside_the_users_scope_is_not_found(commune: AdminUnit, client: Any) -> None:
    org = unit_with(commune)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    stranger = make_user(Role.COMMUNE_LEADER, unit_by_code("23302"), "sum-stranger@example.vn")
    db.session.commit()
    login(client, stranger)
    assert client.get(f"/titles/eligibility/{row.id}/summary.pdf").status_code == 404


def test_the_summary_is_in_vietnamese_whatever_the_readers_language(commune: AdminUnit, client: Any) -> None:
    """A reader who chose English still files the Vietnamese document: the sentences saying where each value came
    from, what is missing and the values themselves are the catalogue's, not the page's language."""
    org = unit_with(commune, t2_1="92.5")
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    leader = make_user(Role.COMMUNE_LEADER, commune, "sum-en@example.vn")
    db.session.commit()
    login(client, leader)
    with client.session_transaction() as session:
        session["locale"] = "en"
    assert "Summary of the results (PDF)" in client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    text = _one_line(_pdf_text(client.get(f"/titles/eligibility/{row.id}/summary.pdf").data))
    assert "không áp dụng cho đơn vị này" in text
    assert "đánh giá của người thẩm định" in text
    assert "assessment" not in text
    assert "not applicable" not in text
