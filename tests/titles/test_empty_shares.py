"""A share of nobody: "every adult learned" holds in a household with no adult of the age band (Decision 448,
part A, criterion 2) — the family set says so with ``when_none = "met"``; other shares stay not met."""

from datetime import date

from flask_babel import force_locale
from sqlalchemy import select

from lms.extensions import db
from lms.titles import engine
from lms.titles.criteria import load_shipped_criteria
from lms.titles.explain import describe_source
from lms.titles.models import Eligibility, Title
from tests.conftest import make_household, make_village, unit_by_code


def _family_item(household_id: int, code: str) -> dict:
    row = db.session.scalar(
        select(Eligibility).where(
            Eligibility.title == Title.FAMILY, Eligibility.subject_id == household_id, Eligibility.year == 2026
        )
    )
    return next(item for item in row.breakdown if item["indicator"] == code)


def test_a_household_with_no_adult_of_working_age_meets_every_adult_learned(app_ctx):
    load_shipped_criteria()
    commune = unit_by_code("23293")
    village = make_village(commune, "EMPTY-A", "Thôn già")
    elders = make_household(village, "ELDERS", "Nguyễn Văn Cụ")
    elders.members[0].birth_date = date(1950, 1, 1)
    undated = make_household(village, "UNDATED", "Trần Văn Chưa Rõ")  # no birth date: outside every band
    db.session.flush()

    engine.evaluate_commune(commune.id, 2026)

    item = _family_item(elders.id, "a5")
    assert item["points"] == 10
    assert item["missing"] is None
    assert item["source"]["none_counted_as_met"] is True
    with app_ctx.test_request_context(), force_locale("en"):
        assert "nobody to count" in describe_source(item)
    assert _family_item(undated.id, "a5")["points"] == 10
