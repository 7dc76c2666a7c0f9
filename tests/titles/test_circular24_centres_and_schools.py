"""Circular 24/2023: continuing-education centres registered as public-service units (finding L7) and the schools the
commune manages since the 2025 reform (finding L8), from the circular's own words."""

from __future__ import annotations

from typing import Any

import pytest

from lms.extensions import db
from lms.registry.models import AdminUnit, Organisation
from lms.titles import criteria, engine
from lms.titles.models import Assessment
from tests.conftest import unit_by_code
from tests.titles.test_engine import YEAR, eligibility, item, organisation
from tests.titles.test_rules_circulars import unit_with


@pytest.fixture
def commune(app_ctx: Any) -> AdminUnit:
    criteria.load_shipped_criteria()
    return unit_by_code("23293")


def centre(commune: AdminUnit, managing_level: str, *, drop: tuple[str, ...], **values: Any) -> Organisation:
    """A GDTX / GDNN-GDTX centre registered as a public-service unit, every indicator entered at level 2 except
    ``drop``."""
    org = unit_with(commune, **values)
    db.session.execute(
        Assessment.__table__.delete().where(Assessment.subject_id == org.id, Assessment.indicator.in_(drop))
    )
    org.kind, org.managing_level = "public_service", managing_level
    db.session.flush()
    return org


@pytest.mark.parametrize("managing_level", ["district", "province"])
def test_tt24_art2_1_2_8_a_centres_learners_must_be_learning_citizens(commune: AdminUnit, managing_level: str) -> None:
    """Art. 6.3.a / 12.3.a: "Đối với đơn vị là Cơ sở giáo dục … tối thiểu 95% Người học đạt danh hiệu"; Art. 2.1
    counts the district's "trung tâm giáo dục nghề nghiệp và các cơ sở giáo dục khác", Art. 2.2 the province's "trung
    tâm giáo dục thường xuyên" among those institutions, and Art. 2.8 their "học viên" among the learners. A centre
    registered as a public-service unit is asked: without the share of its learners it reaches no level."""
    org = centre(commune, managing_level, drop=())
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert item(row, "t3.1b")["source"]["kind"] != "not_applicable"
    assert item(row, "t3.1b")["missing"]["code"] == "not_assessed"
    assert row.level == 0


def test_tt24_art7_3a_a_centre_with_96_per_cent_of_its_learners_is_level_1(commune: AdminUnit) -> None:
    """Art. 6.3.a (95 %) is met by 96 %, Art. 7.3.a (97 %) is not."""
    org = centre(commune, "district", drop=(), t3_1b=96)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert item(row, "t3.1b")["levels"] == [1]
    assert row.level == 1


def test_tt24_art12_3d_the_provinces_gdtx_centre_needs_its_digital_transformation(commune: AdminUnit) -> None:
    """Art. 12.3.d: "Đơn vị cấp tỉnh là trường trung học phổ thông, …, trung tâm giáo dục thường xuyên đạt mức độ
    chuyển đổi số … ở mức đáp ứng cơ bản": asked of the province's centre registered as a public-service unit —
    without the entry, level 0."""
    org = centre(commune, "province", drop=("t3.4", "t3.4b"), t3_1b=98)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert item(row, "t3.4")["source"]["kind"] != "not_applicable"
    assert row.level == 0


def test_tt24_art6_3d_a_district_centre_is_not_a_general_education_school(commune: AdminUnit) -> None:
    """Art. 6.3.d / 7.3.d ask the digital-transformation level of "Đơn vị cấp huyện là cơ sở giáo dục phổ thông"
    only: a district GDNN-GDTX centre is not one — not applicable, level 2 without the entry."""
    org = centre(commune, "district", drop=("t3.4", "t3.4b"), t3_1b=98)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert item(row, "t3.4")["source"]["kind"] == "not_applicable"
    assert item(row, "t3.4b")["source"]["kind"] == "not_applicable"
    assert row.level == 2


def test_tt24_art2_1_a_school_the_commune_manages_since_2025_is_a_district_level_unit(commune: AdminUnit) -> None:
    """Art. 2.1: "Cơ sở giáo dục đánh giá, công nhận ở cấp huyện là nhà trẻ, trường mẫu giáo, trường mầm non, trường
    tiểu học, trường trung học cơ sở … thuộc thẩm quyền quản lý của Ủy ban nhân dân cấp huyện", a "Đơn vị cấp huyện"
    (Art. 2.3). Decree 142/2025 gave those schools to the commune: a school the registry says the commune manages is
    assessed under Circular 24 (levels), not Decision 448 part D (points); another commune-managed organisation, and a
    centrally managed school, are not taken."""
    school = unit_with(commune, t3_1b=100)
    school.kind, school.managing_level = "school", "commune"
    cooperative = organisation(commune, "HTX", "commune", [])
    central = organisation(commune, "DHTW", "central", [])
    central.kind = "school"
    db.session.flush()
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", school.id, "unit")
    assert row is not None
    assert row.criteria_set.code == "tt-24-2023-unit"
    assert row.level == 2
    assert eligibility("organisation", cooperative.id, "unit").criteria_set.code == "qd-448-2015-d-unit"  # type: ignore[union-attr]
    assert eligibility("organisation", central.id, "unit") is None
    assert criteria.active_set("unit", managing_level="commune", kind="school").code == "tt-24-2023-unit"  # type: ignore[union-attr]
    assert criteria.active_set("unit", managing_level="central", kind="school") is None
    assert criteria.active_set("unit", managing_level="commune", kind="enterprise").code == "qd-448-2015-d-unit"  # type: ignore[union-attr]
