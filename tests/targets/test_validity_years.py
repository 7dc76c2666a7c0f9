"""A three-year recognition in the plan targets, worked by hand from Circular 24/2023 Art. 5.4 and Art. 11.4 and
Circular 25/2023 Art. 5.4 ("bảo lưu trong thời hạn 03 năm (36 tháng) tiếp theo năm được công nhận"): a unit
recognised for 2025 counts as a Learning Unit in 2025, 2026, 2027 and 2028, and not in 2029."""

from __future__ import annotations

from datetime import date

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import Organisation
from lms.targets import compute
from lms.titles import approvals, recognition
from lms.titles.models import Title
from tests.conftest import make_user
from tests.targets.conftest import load_text, make_unit, plan_text, value
from tests.titles.recognition_fixtures import criteria_set, eligibility

UNITS = """
[[indicators]]
code = "unit"
name = "Đơn vị học tập"
denominator_text = "all organisations"
denominator = { subject = "organisation" }
numerator = { title = "unit" }
targets = [{ year = 2025, share = 80 }]
"""


def test_tt24_art_5_4_a_unit_recognised_for_2025_counts_in_2025_to_2028_not_2029(province):
    commune = make_unit(province, "TV01", "Xã Ba Năm", "commune")
    school = Organisation(
        commune_id=commune.id, code="TV-S1", name="Trường THCS Ba Năm", kind="school", managing_level="district"
    )
    clinic = Organisation(commune_id=commune.id, code="TV-S2", name="Trạm Y tế", managing_level="district")
    db.session.add_all([school, clinic])
    db.session.flush()
    # Through the real workflow, so the end date is the one the decision writes.
    three_years = criteria_set(Title.UNIT, validity_years=3, code="test-tt24-targets")
    eligibility(three_years, school.id, commune.id, 2025)
    leader = make_user(Role.COMMUNE_LEADER, commune, "tv-leader@example.vn")
    (rid,) = recognition.propose(title="unit", year=2025, subject_ids=[school.id], user=leader)
    _, top = approvals.places([commune.id])[commune.id]
    approver = make_user(Role.PROVINCE_LEADER, top, "tv-province@example.vn")
    decided = date(2026, 2, 10)
    (row,) = recognition.decide([rid], decision_number="4/QĐ-UBND", decision_date=decided, user=approver, today=decided)
    assert row.valid_until == date(2028, 12, 31)
    load_text(plan_text("province", "TP99", UNITS))

    counted = {}
    for year in range(2025, 2030):
        compute.recompute([commune.id], year, today=date(year + 1, 1, 10))  # each year once it is over
        counted[year] = value(commune, "unit", year=year)[0]
    assert counted == {2025: 1, 2026: 1, 2027: 1, 2028: 1, 2029: 0}
