"""Roll-up by sums, and values carried across the 2025 reform by the lineage shares — on hand-made hierarchies with
known answers."""

from __future__ import annotations

from decimal import Decimal

from lms.extensions import db
from lms.targets import compute
from lms.targets.models import IndicatorValue
from tests.conftest import make_village
from tests.targets.conftest import (
    FAMILY,
    TODAY,
    households,
    link,
    load_text,
    make_unit,
    plan_text,
    recognise,
    run,
    value,
)


def test_a_province_is_the_sum_of_its_communes_not_the_average_of_their_percentages(province, vn):
    district_free = province
    small = make_unit(district_free, "TC01", "Xã Nhỏ", "commune")
    large = make_unit(district_free, "TC02", "Xã Lớn", "commune")
    for commune, total, recognised in ((small, 2, 1), (large, 10, 9)):
        village = make_village(commune, f"V-{commune.code}", "Thôn 1")
        for household in households(village, total)[:recognised]:
            recognise("household", household.id, "family", 2025, commune)
    load_text(plan_text("province", "TP99", FAMILY))

    run([small, large], 2025)

    assert value(small, "family", year=2025) == (1, 2)  # 50 %
    assert value(large, "family", year=2025) == (9, 10)  # 90 %
    numerator, denominator = value(province, "family", year=2025)
    assert (numerator, denominator) == (10, 12)
    share = numerator * 100 / denominator
    assert round(share, 2) == Decimal("83.33")  # the average of 50 % and 90 % would be 70 %
    assert share != (Decimal(50) + Decimal(90)) / 2
    assert value(vn, "family", year=2025) == (10, 12)
    # Both bases are kept: nothing is merely eligible here, so the projection equals the official figure.
    assert value(province, "family", year=2025, basis="projection") == (10, 12)


def test_a_commune_with_nothing_to_count_is_no_data_not_zero_per_cent(province):
    empty = make_unit(province, "TC03", "Xã Trống", "commune")
    load_text(plan_text("province", "TP99", FAMILY))
    run([empty], 2025)
    from lms.targets.services import values_for, year_end

    stored = values_for([empty.id], period_end=year_end(2025))
    (only,) = stored.values()
    assert (only.numerator, only.denominator) == (0, 0)
    assert only.share is None


def _reform(vn, province):
    """Old commune A split half and half into X and Y; X also took the whole of old commune B."""
    old_province = make_unit(vn, "OP99", "Tỉnh Cũ", "province", old=True)
    old_district = make_unit(old_province, "OD99", "Huyện Cũ", "district", old=True)
    a = make_unit(old_district, "OA01", "Xã A", "commune", old=True)
    b = make_unit(old_district, "OB01", "Xã B", "commune", old=True)
    x = make_unit(province, "NX01", "Xã X", "commune")
    y = make_unit(province, "NY01", "Xã Y", "commune")
    link(a, x, "0.5")
    link(a, y, "0.5")
    link(b, x, "1")
    load_text(plan_text("province", "TP99", FAMILY))
    return old_province, old_district, a, b, x, y


def test_a_2024_value_is_shown_under_the_current_structure_through_a_split_commune(vn, province):
    old_province, old_district, a, b, x, y = _reform(vn, province)
    # 2024, before the reform: A has 4 households (2 recognised), B has 6 (3 recognised).
    for commune, total, recognised in ((a, 4, 2), (b, 6, 3)):
        village = make_village(commune, f"V-{commune.code}", "Thôn cũ")
        for household in households(village, total)[:recognised]:
            recognise("household", household.id, "family", 2024, commune)

    run([a, b], 2024)

    # Under the old structure, as counted.
    assert value(a, "family", year=2024, structure="pre2025") == (2, 4)
    assert value(b, "family", year=2024, structure="pre2025") == (3, 6)
    assert value(old_district, "family", year=2024, structure="pre2025") == (5, 10)
    assert value(old_province, "family", year=2024, structure="pre2025") == (5, 10)
    # Under today's map: X = half of A + all of B; Y = half of A; the province keeps every household once.
    assert value(x, "family", year=2024) == (Decimal("1") + 3, Decimal("2") + 6)
    assert value(y, "family", year=2024) == (1, 2)
    assert value(province, "family", year=2024) == (5, 10)


def test_a_current_value_is_shown_under_the_old_structure(vn, province):
    _, old_district, a, b, x, y = _reform(vn, province)
    # 2026: X has 6 households (3 recognised), Y has 2 (both recognised).
    for commune, total, recognised in ((x, 6, 3), (y, 2, 2)):
        village = make_village(commune, f"V-{commune.code}", "Thôn mới")
        for household in households(village, total)[:recognised]:
            recognise("household", household.id, "family", 2026, commune)

    run([x, y], 2026)

    # X was made of half of A (share 0.5) and all of B (share 1): A is a third of X, B two thirds. Y is all A.
    num_a, den_a = value(a, "family", year=2026, structure="pre2025")
    num_b, den_b = value(b, "family", year=2026, structure="pre2025")
    assert (round(num_a, 3), round(den_a, 3)) == (Decimal("3.000"), Decimal("4.000"))  # 3/3 + 2, 6/3 + 2
    assert (round(num_b, 3), round(den_b, 3)) == (Decimal("2.000"), Decimal("4.000"))  # 3·2/3, 6·2/3
    num_d, den_d = value(old_district, "family", year=2026, structure="pre2025")
    assert (round(num_d, 3), round(den_d, 3)) == (Decimal(5), Decimal(8))  # nothing counted twice
    assert value(province, "family", year=2026) == (5, 8)
    # The current month has its own row (for trends), equal to the year so far.
    assert value(x, "family", year=2026, kind="month", period_end=compute.month_end(TODAY)) == (3, 6)


def test_recomputing_one_commune_refreshes_its_lineage_partners_and_is_idempotent(vn, province):
    old_province, _, _, b, x, _ = _reform(vn, province)
    village = make_village(b, "V-OB01", "Thôn B")
    (first, second) = households(village, 2)
    recognise("household", first.id, "family", 2024, b)
    run([b], 2024)
    assert value(x, "family", year=2024) == (1, 2)
    recognise("household", second.id, "family", 2024, b)
    run([b], 2024)
    run([b], 2024)
    assert value(x, "family", year=2024) == (2, 2)
    assert value(province, "family", year=2024) == (2, 2)
    assert value(old_province, "family", year=2024, structure="pre2025") == (2, 2)
    rows = db.session.scalar(
        db.select(db.func.count()).select_from(IndicatorValue).where(IndicatorValue.unit_id == x.id)
    )
    assert rows == 2  # one per basis for the year 2024: no duplicates after three runs
