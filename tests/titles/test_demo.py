from datetime import date

from sqlalchemy import func, select

from lms.extensions import db
from lms.titles import engine
from lms.titles.criteria import load_shipped_criteria
from lms.titles.demo import seed_titles_demo
from lms.titles.models import Eligibility, EvaluationState, Title
from tests.conftest import make_household, make_village, unit_by_code


def test_the_titles_demo_gives_a_mix_of_eligible_and_not_yet_and_is_idempotent(app_ctx):
    load_shipped_criteria()
    commune = unit_by_code("23293")
    village = make_village(commune, "DEMO-T", "Thôn mẫu")
    for n in range(12):
        household = make_household(village, f"DEMO-T-{n}", f"Nguyễn Văn A{n}", f"Trần Thị B{n}")
        for person in household.members:
            person.birth_date = date(1980, 1, 1)
    db.session.flush()

    first = seed_titles_demo(2026, ("23293",))
    again = seed_titles_demo(2026, ("23293",))

    assert first["learning_records"] > 0
    assert first["assessments"] > 0
    assert first["registrations"] == 12
    assert again == {"learning_records": 0, "assessments": 0, "registrations": 0}
    assert db.session.get(EvaluationState, (commune.id, 2026)).marked_at is not None
    engine.evaluate_commune(commune.id, 2026)
    citizens = dict(
        list(
            db.session.execute(
                select(Eligibility.eligible, func.count())
                .where(
                    Eligibility.title == Title.CITIZEN, Eligibility.commune_id == commune.id, Eligibility.year == 2026
                )
                .group_by(Eligibility.eligible)
            ).tuples()
        )
    )
    assert citizens.get(True, 0) > 0
    assert citizens.get(False, 0) > 0
