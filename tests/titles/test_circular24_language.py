"""Circular 24/2023, indicator 2.4 as each level writes it (ADR 53).

Art. 6.2.d (level 1; Art. 12.2 for the province): "Tối thiểu 50% Thành viên trong đơn vị có chứng nhận hoặc chứng
chỉ ngoại ngữ hoặc tiếng dân tộc thiểu số đáp ứng yêu cầu công việc hoặc vị trí việc làm".
Art. 7.2.d (level 2; Art. 13.2): "Tối thiểu 70% Thành viên trong đơn vị có trình độ ngoại ngữ hoặc tiếng dân tộc
thiểu số đáp ứng yêu cầu công việc hoặc vị trí việc làm" — a level, not a certificate.
Art. 8.1 / 8.2: each level on its own article.
"""

from __future__ import annotations

from lms.registry.models import AdminUnit
from lms.titles import criteria, engine
from lms.titles.explain import describe_source
from tests.titles.test_engine import YEAR, eligibility, item
from tests.titles.test_rules_circulars import app_request, commune, unit_with

__all__ = ["commune"]


def test_tt24_the_level_1_indicator_counts_certificates_the_level_2_one_a_level(commune: AdminUnit) -> None:
    """The words the evaluator reads: Art. 6.2.d "có chứng nhận hoặc chứng chỉ", Art. 7.2.d "có trình độ"; one
    indicator per level, each with its own bar (50 %, 70 %) and clause."""
    definition = criteria.parse(criteria.read_toml(criteria.SHIPPED_DIR / "tt-24-2023-unit.toml"))
    level_1, level_2 = definition.indicator("t2.4"), definition.indicator("t2.4b")
    assert level_1 is not None
    assert level_2 is not None
    assert "có chứng nhận hoặc chứng chỉ ngoại ngữ" in level_1.name
    assert "trình độ" not in level_1.name
    assert (level_1.for_levels, [int(v) for v in level_1.at_least]) == ((1,), [50])
    assert "Điều 6 khoản 2 điểm d" in level_1.source_ref
    assert "Điều 7" not in level_1.source_ref
    assert "có trình độ ngoại ngữ hoặc tiếng dân tộc thiểu số" in level_2.name
    assert "chứng chỉ" not in level_2.name
    assert (level_2.for_levels, [int(v) for v in level_2.at_least]) == ((2,), [70])
    assert "Điều 7 khoản 2 điểm d" in level_2.source_ref


def test_tt24_art7_2d_members_with_the_level_but_no_certificate_count_for_level_2(commune: AdminUnit) -> None:
    """55 % of the members hold a certificate (Art. 6.2.d: level 1 met), 72 % have the language level their work
    requires (Art. 7.2.d: level 2 met): level 2. One figure read against both bars gave level 1."""
    org = unit_with(commune, t2_4=55, t2_4b=72)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 2
    assert item(row, "t2.4")["levels"] == [1]
    assert item(row, "t2.4b")["value"] == 72
    assert item(row, "t2.4b")["source"]["kind"] == "assessment"


def test_tt24_art7_2d_a_certificate_share_below_70_does_not_give_level_2(commune: AdminUnit) -> None:
    """55 % with a certificate and nothing said of the others' level: level 1, and level 2 asks for 2.4b."""
    org = unit_with(commune, t2_4=55)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 1
    assert item(row, "t2.4b")["levels"] == []
    assert item(row, "t2.4b")["missing"]["level"] == 2


def test_tt24_art7_2d_a_certificate_share_of_70_answers_the_level(commune: AdminUnit) -> None:
    """Members whose certificate meets their work's requirement have that level: 75 % with a certificate meets
    Art. 7.2.d without a second assessment, and the breakdown says so; 69 % does not."""
    org = unit_with(commune, t2_4=75)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 2
    t24b = item(row, "t2.4b")
    assert t24b["source"]["kind"] == "implied"
    assert t24b["source"]["by"] == "t2.4"
    assert t24b["value"] == 75
    with app_request():
        assert describe_source(t24b, {"t2.4": "certificates"}) == (
            "met: “certificates” reaches 75\u00a0%, and everyone counted there is counted here"
        )


def test_tt24_art7_2d_69_5_per_cent_with_a_certificate_is_not_the_level(commune: AdminUnit) -> None:
    """Art. 7.2.d "tối thiểu 70%": a certificate share of 69.5 % implies nothing at level 2."""
    org = unit_with(commune, t2_4="69.5")
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 1
    assert item(row, "t2.4b")["source"]["kind"] != "implied"
