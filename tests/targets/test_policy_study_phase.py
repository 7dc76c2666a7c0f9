"""Plan 1514's policy-study indicator counts the study "trong giai đoạn", as the plan words it (sources/
kon-tum-plan-1514-2022.txt): by 2025, "100% cán bộ và hội viên của Hội Khuyến học các cấp được học tập quán triệt
các chủ trương … giai đoạn 2021 - 2025"; by 2030, "… giai đoạn 2026 - 2030". A member who studied in 2022 has studied
in the phase 2021–2025 when 2024 or 2025 is measured; from 2026 a new phase begins. The dashboard says the period."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from courses import services as courses
from courses.services import Mark
from lms.auth.models import Role
from lms.extensions import db
from lms.targets import compute
from lms.targets.models import Plan
from lms.targets.plans import PlanError, load_plans, parse_plan
from tests.conftest import login, make_user, make_village, unit_by_code
from tests.courses.conftest import make_centre, make_class
from tests.targets.conftest import TODAY, households, value
from tests.targets.test_compute import _membership, _record


@pytest.fixture
def kon_tum(app_ctx):
    """A current Kon Tum commune with five association members: one studied in 2020 (before the phase), one in 2022
    (a learning record), one in 2023 (attended a held session of a policy-study class), one in 2026, one never."""
    load_plans()
    commune = unit_by_code("23293")
    village = make_village(commune, "V-PH", "Thôn Giai Đoạn")
    (household,) = households(village, 1, members=5)
    before, early, attended, late, _never = household.members
    for person in household.members:
        _membership(person, commune, "member", started=date(2019, 1, 1))
    _record(before, commune, "policy_study", 2020)
    _record(early, commune, "policy_study", 2022)
    _record(late, commune, "policy_study", 2026)
    centre = make_centre(learners=1, label="PH")
    centre.course.category = "policy_study"
    course_class = make_class(centre, starts_on=date(2023, 4, 1), ends_on=date(2023, 4, 30), name="Quán triệt 2023")
    (session,) = courses.schedule(course_class, [(datetime(2023, 4, 10, 8), datetime(2023, 4, 10, 10))])
    courses.enrol(course_class, [attended.id])
    courses.record_attendance(session, [Mark(attended.id, "present", datetime(2023, 4, 10, 1))], user_id=None)
    db.session.flush()
    return commune


def test_the_policy_study_counts_the_phase_from_its_first_year_to_the_measured_year(kon_tum):
    for year in (2024, 2025, 2026):
        compute.recompute([kon_tum.id], year, today=TODAY)
    # 2024 and 2025 are in the phase 2021–2025: the 2022 and 2023 studies count (not 2020's, before it; not 2026's).
    assert value(kon_tum, "policy_study", year=2024) == (2, 5)
    assert value(kon_tum, "policy_study", year=2025) == (2, 5)
    # 2026 begins the phase 2026–2030: only what was studied since.
    assert value(kon_tum, "policy_study", year=2026) == (1, 5)


def test_the_dashboard_says_the_period_the_figure_covers(client, kon_tum):
    compute.recompute([kon_tum.id], 2025, today=TODAY)
    plan = db.session.scalar(db.select(Plan).where(Plan.code == "kon-tum-1514-2022", Plan.active.is_(True)))
    assert plan is not None
    leader = make_user(Role.COMMUNE_LEADER, kon_tum, "leader-phase@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/targets/units/{kon_tum.id}?plan={plan.id}&period=2025-12-31").get_data(as_text=True)
    label = html[html.index('id="period-policy_study"') :]
    assert "Tính theo giai đoạn 2021–2025: từ năm 2021 đến năm 2025" in label[: label.index("</p>")]
    assert 'id="period-family"' not in html  # an indicator of the year says no phase


def test_phases_belong_to_the_policy_study_figure_and_do_not_overlap():
    head = 'code = "p"\nname = "P"\nsource = "S"\nunit = { level = "country", code = "VN" }\n[[indicators]]\n'
    body = 'code = "i"\nname = "I"\ndenominator_text = "D"\ntargets = [{ year = 2025, share = 100 }]\n'
    members = 'denominator = { subject = "person", it_skills = "members" }\n'
    with pytest.raises(PlanError) as overlap:
        parse_plan(
            head
            + body
            + members
            + 'numerator = { it_skills = "studied_policy", phases = [[2021, 2025], [2025, 2030]] }\n'
        )
    assert "overlap" in str(overlap.value)
    with pytest.raises(PlanError) as other:
        parse_plan(
            head
            + body
            + 'denominator = { subject = "household" }\nnumerator = { title = "family", phases = [[2021, 2025]] }\n'
        )
    assert "phases" in str(other.value)


def test_a_study_entered_late_makes_the_later_years_of_its_phase_stale(kon_tum):
    """A figure counted over the phase moves in every later year of the phase when an earlier year's study is entered
    (a paper list of 2024 typed in 2026): the sweep must recount 2025 — the phase's target year — and not only 2024,
    which is all the learning records' mark names."""
    from datetime import timedelta

    from sqlalchemy import select

    from lms.registry.models import AdminUnit, Person
    from lms.targets.models import TargetState
    from lms.titles.models import EvaluationState
    from tests.targets.test_compute import _record

    compute.recompute([kon_tum.id], 2025, today=TODAY)
    assert value(kon_tum, "policy_study", year=2025) == (2, 5)
    computed = db.session.get(TargetState, (kon_tum.id, 2025)).computed_at
    assert (kon_tum.id, 2025) not in compute.stale_pairs(today=TODAY)
    never = db.session.scalar(  # the fixture's member who never studied
        select(Person)
        .join(AdminUnit, AdminUnit.id == Person.unit_id)
        .where(AdminUnit.code == "V-PH", Person.full_name == "Người 0-4")
    )
    _record(never, kon_tum, "policy_study", 2024)
    state = db.session.get(EvaluationState, (kon_tum.id, 2024))
    if state is None:
        state = EvaluationState(commune_id=kon_tum.id, year=2024, summary={})
        db.session.add(state)
    state.marked_at = computed + timedelta(seconds=1)  # as the record's writer marks the commune-year 2024
    db.session.flush()
    assert (kon_tum.id, 2025) in compute.stale_pairs(today=TODAY)
    compute.recompute([kon_tum.id], 2025, today=TODAY)
    assert value(kon_tum, "policy_study", year=2025) == (3, 5)
