"""``flask bench targets`` fills a province with titles before it times the indicators: its rows must be ones the
engine could have written (it broke silently when breakdowns moved to their own table)."""

from __future__ import annotations

from sqlalchemy import func, select

from lms.extensions import db
from lms.targets import bench
from lms.titles.models import Eligibility
from tests.conftest import make_household, make_village, unit_by_code


def test_the_bench_adds_eligibility_recognitions_and_registrations(app_ctx):
    village = make_village(unit_by_code("23293"), "TB-1", "Thôn Bench")
    household = make_household(village, "1", *(f"Người {n}" for n in range(10)))
    rows = bench.add_titles()
    assert rows["eligibility (person)"] >= 10
    assert rows["eligibility (household)"] >= 1
    stored = db.session.scalar(
        select(func.count())
        .select_from(Eligibility)
        .where(Eligibility.subject_type == "household", Eligibility.subject_id == household.id)
    )
    assert stored == 1
