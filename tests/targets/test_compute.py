"""Indicator kinds on hand-made data with known answers: conditional denominators, area-class targets, the
association indicators (policy study, IT-trained officers, chair or vice-chair in CLC management), bases, the
sweep, and statement counts that do not grow with the number of communes."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

from courses.models import LearningRecord
from lms.extensions import db, utcnow
from lms.registry.importer import create_job
from lms.registry.models import (
    AssociationMembership,
    BoardMembership,
    Clc,
    Household,
    ImportJob,
    Organisation,
    OrganisationMember,
    Person,
)
from lms.targets import compute, services, tasks
from lms.targets.models import Indicator, Plan, TargetState
from lms.targets.plans import load_plans
from lms.titles.models import EvaluationState
from tests.conftest import make_village
from tests.targets.conftest import (
    FAMILY,
    TODAY,
    WORKERS,
    households,
    load_text,
    make_eligible,
    make_unit,
    plan_text,
    recognise,
    run,
    value,
)


def _workers(household):
    for person in household.members:
        person.occupation_group = "worker"
    db.session.flush()
    return household.members


def test_a_conditional_denominator_moves_when_a_familys_recognition_changes(province):
    commune = make_unit(province, "TC10", "Xã Điều Kiện", "commune")
    village = make_village(commune, "V-TC10", "Thôn 1")
    first, second = households(village, 2, members=2)
    a1, _a2 = _workers(first)
    b1, b2 = _workers(second)
    b2.occupation_group = "pupil"  # not a worker: never counted
    for person in (a1, b1, b2):
        recognise("person", person.id, "citizen", 2025, commune)
    load_text(plan_text("province", "TP99", WORKERS))
    first_family = recognise("household", first.id, "family", 2025, commune)

    run([commune], 2025)
    assert value(commune, "citizen_workers", year=2025) == (1, 2)  # a1 and a2 are in a learning family

    recognise("household", second.id, "family", 2025, commune)
    run([commune], 2025)
    assert value(commune, "citizen_workers", year=2025) == (2, 3)  # b1 joins the denominator and the numerator

    first_family.status = "revoked"
    db.session.flush()
    run([commune], 2025)
    assert value(commune, "citizen_workers", year=2025) == (1, 1)  # a1 and a2 leave the denominator
    assert value(province, "citizen_workers", year=2025) == (1, 1)


def test_farmers_imported_from_the_register_count_among_the_plans_workers(province):
    """Plan 1514's "người lao động trong Gia đình học tập": a register's "Nông dân" (however it is spelt) is in the
    denominator (ADR 12), like a "Công nhân"; a "Khác" is not."""
    commune = make_unit(province, "TC11", "Xã Nông Nghiệp", "commune")
    village = make_village(commune, "V-TC11", "Thôn Rẫy")
    header = ["village_code", "household_code", "full_name", "occupation_group"]
    rows = [
        ["V-TC11", "HF", "A Nông", "Nông dân"],
        ["V-TC11", "HF", "Y Nông", "nong dan"],
        ["V-TC11", "HF", "A Rẫy", "NÔNG DÂN"],
        ["V-TC11", "HF", "Y Thợ", "Công nhân"],
        ["V-TC11", "HF", "A Già", "Khác"],
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    job = create_job(
        kind="households", filename="households.csv", content=buffer.getvalue().encode(), unit=commune, user=None
    )
    db.session.commit()
    assert db.session.get_one(ImportJob, job.id).status == "succeeded"
    household = db.session.scalars(db.select(Household).where(Household.village_id == village.id)).one()
    farmer = db.session.scalars(db.select(Person).where(Person.full_name == "A Nông")).one()
    recognise("person", farmer.id, "citizen", 2025, commune)
    recognise("household", household.id, "family", 2025, commune)
    load_text(plan_text("province", "TP99", WORKERS))

    run([commune], 2025)
    assert value(commune, "citizen_workers", year=2025) == (1, 4)  # three farmers and the labourer; not "Khác"


def test_the_projection_counts_eligibility_and_the_official_figure_only_recognitions(province):
    commune = make_unit(province, "TC11", "Xã Dự Báo", "commune")
    village = make_village(commune, "V-TC11", "Thôn 1")
    h1, h2, h3, _ = households(village, 4)
    recognise("household", h1.id, "family", 2025, commune)
    make_eligible("household", h2.id, "family", 2025, commune)
    recognise("household", h3.id, "family", 2025, commune, status="proposed")
    make_eligible("household", h3.id, "family", 2025, commune)
    load_text(plan_text("province", "TP99", FAMILY))
    run([commune], 2025)
    assert value(commune, "family", year=2025) == (1, 4)
    assert value(commune, "family", year=2025, basis="projection") == (3, 4)


def test_a_three_year_recognition_counts_in_the_years_it_is_valid(province):
    commune = make_unit(province, "TC12", "Xã Đơn Vị", "commune")
    org = Organisation(commune_id=commune.id, code="S1", name="Trường Tiểu học")
    other = Organisation(commune_id=commune.id, code="S2", name="Trạm Y tế")
    db.session.add_all([org, other])
    db.session.flush()
    recognise("organisation", org.id, "unit", 2024, commune, valid_until=date(2026, 12, 31))
    load_text(
        plan_text(
            "province",
            "TP99",
            """
[[indicators]]
code = "unit"
name = "Đơn vị học tập"
denominator_text = "all organisations"
denominator = { subject = "organisation" }
numerator = { title = "unit" }
targets = [{ year = 2025, share = 80 }]
""",
        )
    )
    run([commune], 2025)
    assert value(commune, "unit", year=2025) == (1, 2)


def test_an_area_class_target_applies_to_communes_of_that_class_only(province):
    standard = make_unit(province, "TC13", "Xã Thường", "commune")
    difficult = make_unit(province, "TC14", "Xã Khó", "commune", area_class="especially_difficult")
    plan = load_text(plan_text("province", "TP99", FAMILY))
    (family,) = plan.indicators
    assert services.milestone(family, 2025, standard.area_class).share == 80
    assert services.milestone(family, 2025, difficult.area_class).share == 60
    assert services.milestone(family, 2024, difficult.area_class).share == 60  # the next milestone applies
    assert services.milestone(family, 2026, difficult.area_class).share == 85  # no class-specific 2030 figure
    assert services.milestone(family, 2025, None).share == 80  # aggregates: the general target
    assert services.milestone(family, 2031, None) is None
    assert [(t.year, t.share) for t in services.targets_for(family, "especially_difficult")] == [(2025, 60), (2030, 85)]


def _membership(person, unit, role, started=date(2020, 1, 1), ended=None):
    db.session.add(
        AssociationMembership(person_id=person.id, unit_id=unit.id, role=role, started_on=started, ended_on=ended)
    )


def _record(person, commune, kind, year, module=None):
    key = f"test:{person.id}:{kind}:{module}:{year}"
    db.session.add(
        LearningRecord(
            person_id=person.id,
            year=year,
            kind=kind,
            module_code=module,
            completed_on=date(year, 5, 1),
            commune_id=commune.id,
            source_key=key,
        )
    )


def test_association_indicators_of_the_kon_tum_plan(app_ctx):
    """The shipped plan on a current Kon Tum commune: policy study, IT-trained officers who organise CLC
    activities, the chair or a vice-chair on the CLC board (these three through the IT-skills programme's figures),
    and staff of learning units."""
    from tests.conftest import unit_by_code

    load_plans()
    commune = unit_by_code("23293")
    village = make_village(commune, "V-KT", "Thôn Kon Tum")
    (household,) = households(village, 1, members=6)
    chair, vice, officer, officer2, member, staff = household.members
    for person, unit, role in (
        (chair, commune, "chair"),
        (vice, commune, "vice_chair"),
        (officer, commune, "officer"),
        (officer2, commune, "officer"),
        (member, village, "member"),
    ):
        _membership(person, unit, role)
    _membership(staff, commune, "officer", date(2020, 1, 1), date(2024, 12, 31))  # left before 2025: not counted
    # Policy study: the chair and the village member studied in 2025.
    _record(chair, commune, "policy_study", 2025)
    _record(member, commune, "policy_study", 2025)
    # IT: officer has all six basic modules (two of them in 2024) and organised an activity; officer2 has five.
    for n in range(1, 7):
        _record(officer, commune, "it_module", 2024 if n <= 2 else 2025, f"IU0{n}")
    for n in range(1, 6):
        _record(officer2, commune, "it_module", 2025, f"IU0{n}")
    _record(officer, commune, "activity_organised", 2025)
    _record(officer2, commune, "activity_organised", 2025)
    # The vice-chair sits on the CLC board.
    clc = Clc(commune_id=commune.id, name="TTHTCĐ Kon Tum")
    db.session.add(clc)
    db.session.flush()
    db.session.add(
        BoardMembership(clc_id=clc.id, person_id=vice.id, role="deputy_director", started_on=date(2023, 1, 1))
    )
    # Staff of a recognised learning unit: two members, one a Learning Citizen.
    school = Organisation(commune_id=commune.id, code="THKT", name="Trường THCS")
    db.session.add(school)
    db.session.flush()
    for person in (staff, member):
        db.session.add(OrganisationMember(organisation_id=school.id, person_id=person.id))
    recognise("organisation", school.id, "unit", 2025, commune)
    recognise("person", staff.id, "citizen", 2025, commune)
    db.session.flush()

    compute.recompute([commune.id], 2025, today=TODAY)

    def kon_tum(code):
        return value(commune, code, year=2025)

    assert kon_tum("policy_study") == (2, 5)  # 4 commune officers + 1 village member; chair and member studied
    assert kon_tum("it_trained_officers") == (1, 4)  # officer only: officer2 lacks IU06
    assert kon_tum("chair_in_clc") == (1, 1)
    assert kon_tum("citizen_staff") == (1, 2)
    # The IT-skills programme's own page figures count the same people.
    from courses import it_skills

    (line,) = it_skills.figures(commune, it_skills.Period.year(2025)).communes
    assert (line.studied_policy, line.members) == (2, 5)
    assert (line.organised_and_trained, line.officers) == (1, 4)
    assert (line.has_association, line.leader_on_board) == (True, True)
    # The Kon Tum plan and the national ones are kept apart.
    plans = {p.code for p in db.session.scalars(db.select(Plan).where(Plan.active.is_(True)))}
    assert plans == {"kon-tum-1514-2022", "qd-387-2022", "qd-677-2022"}


def test_the_chair_indicator_is_not_met_when_no_chair_sits_on_the_board(province):
    commune = make_unit(province, "TC15", "Xã Hội", "commune")
    village = make_village(commune, "V-TC15", "Thôn 1")
    (household,) = households(village, 1, members=2)
    chair, director = household.members
    _membership(chair, commune, "chair")
    clc = Clc(commune_id=commune.id, name="TTHTCĐ")
    db.session.add(clc)
    db.session.flush()
    db.session.add(BoardMembership(clc_id=clc.id, person_id=director.id, role="director", started_on=date(2023, 1, 1)))
    load_text(
        plan_text(
            "province",
            "TP99",
            """
[[indicators]]
code = "chair_in_clc"
name = "Chủ tịch hoặc Phó Chủ tịch tham gia quản lý TTHTCĐ"
denominator_text = "commune branches"
denominator = { subject = "association", it_skills = "associations" }
numerator = { it_skills = "associations_led_in_clc" }
targets = [{ year = 2025, share = 100 }]
""",
        )
    )
    run([commune], 2025)
    assert value(commune, "chair_in_clc", year=2025) == (0, 1)


def test_statements_do_not_grow_with_the_number_of_communes(province, count_queries):
    load_text(plan_text("province", "TP99", FAMILY + WORKERS))
    communes = []
    for n in range(6):
        commune = make_unit(province, f"TQ{n}", f"Xã {n}", "commune")
        households(make_village(commune, f"V-TQ{n}", "Thôn"), 3, members=2)
        communes.append(commune)
    with count_queries() as two:
        compute.recompute([c.id for c in communes[:2]], 2025, today=TODAY)
    with count_queries() as six:
        compute.recompute([c.id for c in communes], 2025, today=TODAY)
    assert six.count == two.count
    with count_queries() as rolled:
        compute.rollup(2025)
    assert rolled.count <= 6  # a DELETE and an INSERT … SELECT per structure (and the lock, on PostgreSQL)


def test_the_sweep_recomputes_what_changed_and_rolls_up(province):
    commune = make_unit(province, "TC16", "Xã Quét", "commune")
    village = make_village(commune, "V-TC16", "Thôn 1")
    (h1, h2) = households(village, 2)
    load_text(plan_text("province", "TP99", FAMILY))
    recognise("household", h1.id, "family", 2025, commune)
    db.session.add(EvaluationState(commune_id=commune.id, year=2025, evaluated_at=utcnow(), summary={}))
    db.session.commit()

    assert tasks.sweep.delay().get() >= 1
    assert value(commune, "family", year=2025) == (1, 2)
    assert value(province, "family", year=2025) == (1, 2)
    assert (commune.id, 2025) not in compute.stale_pairs()  # computed: nothing left to do for it

    # A recognition proposed later makes the commune stale again; the next sweep follows.
    state = db.session.get(TargetState, (commune.id, 2025))
    later = state.computed_at + timedelta(seconds=1)
    recognise("household", h2.id, "family", 2025, commune, proposed_at=later)
    db.session.commit()
    assert (commune.id, 2025) in compute.stale_pairs()
    tasks.sweep.delay().get()
    assert value(province, "family", year=2025) == (2, 2)


def test_a_new_plan_version_makes_every_computed_commune_stale(province):
    commune = make_unit(province, "TC17", "Xã Kế Hoạch", "commune")
    load_text(plan_text("province", "TP99", FAMILY))
    compute.recompute([commune.id], 2025, today=TODAY)
    db.session.add(
        EvaluationState(commune_id=commune.id, year=2025, evaluated_at=utcnow() - timedelta(hours=1), summary={})
    )
    db.session.flush()
    assert (commune.id, 2025) not in compute.stale_pairs(today=TODAY)
    new = load_text(plan_text("province", "TP99", FAMILY.replace("share = 85", "share = 90")))
    new.loaded_at = utcnow() + timedelta(seconds=1)
    db.session.flush()
    assert (commune.id, 2025) in compute.stale_pairs(today=TODAY)


def test_the_service_reads_values_for_a_dashboard(province):
    commune = make_unit(province, "TC18", "Xã Bảng", "commune")
    village = make_village(commune, "V-TC18", "Thôn 1")
    (h1, _) = households(village, 2)
    recognise("household", h1.id, "family", 2026, commune)
    plan = load_text(plan_text("province", "TP99", FAMILY))
    run([commune], 2026)
    (family,) = plan.indicators
    year = services.values_for([commune.id, province.id], period_end=date(2026, 12, 31))
    assert {k: (v.numerator, v.denominator, v.share) for k, v in year.items()} == {
        (commune.id, family.id): (1, 2, Decimal(50)),
        (province.id, family.id): (1, 2, Decimal(50)),
    }
    june = services.trend(commune.id, family.id, year=2026)
    assert [(v.period_end, v.numerator, v.denominator) for v in june] == [(date(2026, 6, 30), 1, 2)]
    assert db.session.get(Indicator, family.id).denominator_text == "all households"


def test_the_recompute_command_reports_progress_and_refuses_the_future(app, province):
    commune = make_unit(province, "TC19", "Xã Lệnh", "commune")
    village = make_village(commune, "V-TC19", "Thôn 1")
    (h1, _) = households(village, 2)
    recognise("household", h1.id, "family", 2025, commune)
    load_text(plan_text("province", "TP99", FAMILY))
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["targets", "recompute", "--unit", "TP99", "--year", "2025"])
    assert result.exit_code == 0, result.output
    assert "1 communes recomputed and rolled up" in result.output
    assert value(province, "family", year=2025) == (1, 2)
    future = runner.invoke(args=["targets", "recompute", "--unit", "TP99", "--year", "2099"])
    assert future.exit_code != 0
    assert "2099 has not begun" in future.output
    unknown = runner.invoke(args=["targets", "recompute", "--unit", "NOPE", "--year", "2025"])
    assert "no current unit with code 'NOPE'" in unknown.output


def _mark_after(monkeypatch, name):
    """Wrap ``compute.<name>`` (a lock) so the time just after it returns is recorded."""
    import time as clock

    original = getattr(compute, name)
    marks = []

    def locked(*args, **kwargs):
        original(*args, **kwargs)
        clock.sleep(0.005)
        marks.append(utcnow())

    monkeypatch.setattr(compute, name, locked)
    return marks


def test_a_recomputation_is_stamped_after_it_holds_its_locks(province, monkeypatch):
    """A roll-up that started while we waited for the locks must not cover us: ``computed_at`` is taken after."""
    commune = make_unit(province, "TC40", "Xã Khoá", "commune")
    load_text(plan_text("province", "TP99", FAMILY))
    marks = _mark_after(monkeypatch, "_lock_states")
    compute.recompute([commune.id], 2025, today=TODAY)
    state = db.session.get(TargetState, (commune.id, 2025))
    assert marks
    assert state.computed_at >= marks[0]


def test_a_rollup_locks_the_years_states_before_it_takes_its_time(province, monkeypatch, count_queries):
    commune = make_unit(province, "TC41", "Xã Khoá Hai", "commune")
    load_text(plan_text("province", "TP99", FAMILY))
    compute.recompute([commune.id], 2025, today=TODAY)
    marks = _mark_after(monkeypatch, "_lock_year_states")
    with count_queries() as seen:
        assert compute.rollup_if_needed(2025)
    state = db.session.get(TargetState, (commune.id, 2025))
    assert marks
    assert state.rolled_up_at >= marks[0]
    if db.session.get_bind().dialect.name == "postgresql":  # the lock comes first, on every state row of the year
        assert "FROM target_state" in seen.statements[0]
        assert "FOR UPDATE" in seen.statements[0]


def test_a_change_to_a_three_year_recognition_makes_every_year_it_is_valid_stale(province):
    commune = make_unit(province, "TC42", "Xã Ba Năm", "commune")
    village = make_village(commune, "V-TC42", "Thôn 1")
    (h1,) = households(village, 1)
    load_text(plan_text("province", "TP99", FAMILY))
    for year in (2023, 2024, 2025, 2026):
        compute.recompute([commune.id], year, today=TODAY)
    later = utcnow() + timedelta(seconds=1)
    recognise("household", h1.id, "family", 2023, commune, proposed_at=later, valid_until=date(2025, 12, 31))
    stale = set(compute.stale_pairs(today=TODAY))
    assert {(commune.id, y) for y in (2023, 2024, 2025)} <= stale
    assert (commune.id, 2026) not in stale  # no longer valid then


def test_villages_get_their_own_figures_where_what_is_counted_lives_in_them(province):
    """The drill-down's last step: a village's households and residents are counted in the village, so its page
    shows a figure, not "—"; the commune's figure stays the sum."""
    commune = make_unit(province, "TC40", "Xã Có Thôn", "commune")
    upper, lower = make_village(commune, "V-TC40-1", "Thôn Trên"), make_village(commune, "V-TC40-2", "Thôn Dưới")
    first, second = households(upper, 2, members=2)
    households(lower, 3, members=1)
    recognise("household", first.id, "family", 2025, commune)
    a1, _a2 = _workers(first)
    _workers(second)
    recognise("person", a1.id, "citizen", 2025, commune)
    load_text(plan_text("province", "TP99", FAMILY + WORKERS))

    run([commune], 2025)
    assert value(upper, "family", year=2025) == (1, 2)
    assert value(lower, "family", year=2025) == (0, 3)
    assert value(commune, "family", year=2025) == (1, 5)
    assert value(upper, "citizen_workers", year=2025) == (1, 2)  # a person counted where they live
    assert value(upper, "family", year=2025, basis="projection") == (1, 2)

    # A recount replaces the village's figures, it does not add to them.
    recognise("household", second.id, "family", 2025, commune)
    run([commune], 2025)
    assert value(upper, "family", year=2025) == (2, 2)
    assert value(province, "family", year=2025) == (2, 5)  # villages are not rolled up a second time
