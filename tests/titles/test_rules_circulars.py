"""Worked examples written by hand from Circulars 24/2023 and 25/2023: each test names the article and clause it
checks, at the bar, just below it, with fractional values between levels, at the lower bars of a commune in a
difficult area, and with residents whose birth date is unknown."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from lms.extensions import db
from lms.registry.models import AdminUnit, Organisation, Person
from lms.titles import criteria, engine, runs, services
from lms.titles.explain import describe_source
from lms.titles.models import Assessment, EvaluationRun, EvaluationState
from tests.conftest import make_village, unit_by_code
from tests.titles.test_engine import (
    COMMUNE_ASSESSED,
    SIMPLE_CITIZEN,
    UNIT_ASSESSED,
    YEAR,
    assess,
    bulk_persons,
    eligibility,
    item,
    load_set,
    organisation,
    person,
    recognise_citizens,
    records,
)


@contextmanager
def app_request() -> Iterator[None]:
    """Explanations are words in the reader's language: English here (pages default to Vietnamese)."""
    from flask import current_app
    from flask_babel import force_locale

    with current_app.test_request_context(), force_locale("en"):
        yield


@pytest.fixture
def commune(app_ctx: Any) -> AdminUnit:
    criteria.load_shipped_criteria()
    return unit_by_code("23293")


# --- Circular 24/2023: a unit's percentages between two levels ----------------------------------------------------


def unit_with(commune: AdminUnit, **values: Any) -> Organisation:
    """A district-managed organisation (Circular 24, Art. 2.3) of ten members who are all Learning Citizens, with
    every indicator assessed at level 2 unless ``values`` says otherwise."""
    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    members = [person(village, f"Cán bộ {n}") for n in range(10)]
    records([m.id for m in members], commune)
    recognise_citizens([m.id for m in members], commune)
    org = organisation(commune, "PGD", "district", members)
    given = {code.replace("_", "."): value for code, value in values.items()}
    for code, value in {**UNIT_ASSESSED, "t2.3": 96, **given}.items():
        assess("organisation", org.id, code, value, commune, evidence="hồ sơ")
    return org


def test_tt24_art6_2a_art7_2a_92_5_per_cent_between_90_and_95_is_level_1(commune: AdminUnit) -> None:
    """Circular 24, Art. 6.2.a (≥ 90 %) and Art. 7.2.a (≥ 95 %): 92.5 % meets level 1, not level 2 — and the
    commune's evaluation completes (it raised AttributeError before)."""
    org = unit_with(commune, t2_1="92.5")
    summary = engine.evaluate_commune(commune.id, YEAR)
    assert "failed" not in summary["unit"]
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 1
    t21 = item(row, "t2.1")
    assert t21["value"] == 92.5
    assert t21["levels"] == [1]
    assert t21["missing"] == {"code": "assessed_below", "value": 92.5, "at_least": 95, "level": 2}


def test_tt24_art6_2a_89_99_per_cent_is_just_below_level_1(commune: AdminUnit) -> None:
    """Circular 24, Art. 6.2.a: "tối thiểu 90 %": 89.99 % is not met; 90 % exactly is."""
    org = unit_with(commune, t2_1="89.99")
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 0
    assert item(row, "t2.1")["missing"] == {"code": "assessed_below", "value": 89.99, "at_least": 90, "level": 1}


def test_tt24_art6_2a_exactly_90_per_cent_is_level_1(commune: AdminUnit) -> None:
    """Circular 24, Art. 6.2.a: the bar itself is met ("tối thiểu")."""
    org = unit_with(commune, t2_1=90)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 1


# --- Circular 25/2023: a commune's percentage just under the bar ---------------------------------------------------


def commune_ready(
    commune: AdminUnit, *, citizens: int = 70, residents: int = 100, trained: Any = 65, simple: bool = True
) -> None:
    """A commune whose every assessed indicator is met at both levels; ``citizens`` of ``residents`` (adults with
    a birth date) are Learning Citizens; ``trained`` per cent of its citizens have a vocational qualification.
    ``simple``: a citizen set of one indicator (one learning activity), else the shipped Decision 324 set."""
    if simple:
        load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    if residents:
        ids = bulk_persons(village, residents)
        records(ids[:citizens], commune)
        recognise_citizens(ids[:citizens], commune)
    for code in COMMUNE_ASSESSED:
        assess("commune", commune.id, code, 1, commune)
    assess("commune", commune.id, "t5.2", trained, commune)
    assess("commune", commune.id, "t5.2u", 16, commune)


def test_tt25_art6_5b_59_99_per_cent_trained_is_below_the_60_per_cent_level_2_bar(commune: AdminUnit) -> None:
    """Circular 25, Art. 7.5.b: at least 60 % trained for level 2; 59.99 % is level 1 (Art. 6.5.b: 50 %), and the
    evaluation completes (it raised AttributeError before)."""
    commune_ready(commune, citizens=85, trained="59.99")
    summary = engine.evaluate_commune(commune.id, YEAR)
    assert "failed" not in summary["commune_community"]
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    assert row.level == 1
    t52 = item(row, "t5.2")
    assert t52["levels"] == [1]
    assert t52["missing"] == {"code": "assessed_below", "value": 59.99, "at_least": 60, "level": 2}


def test_tt25_art6_5a_59_99_per_cent_of_citizens_is_below_the_60_per_cent_bar(commune: AdminUnit) -> None:
    """Circular 25, Art. 6.5.a: "ít nhất 60 %": 5,999 of 10,000 citizens is 59.99 %, not met; one more is."""
    commune_ready(commune, citizens=5999, residents=10000)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    assert row.level == 0
    t51 = item(row, "t5.1")
    assert t51["value"] == 59.99
    assert t51["missing"]["need"] == 1


# --- one bad subject does not sink the commune ----------------------------------------------------------------------


def test_a_subject_that_cannot_be_scored_is_recorded_and_the_rest_is_written(
    commune: AdminUnit, monkeypatch: pytest.MonkeyPatch, app: Any, client: Any
) -> None:
    """A fault while scoring one person (injected: every value type is handled, see test_engine_properties) leaves
    that person's previous row, writes every other subject and every other title, and the run page names the
    subject, the indicator and the error."""
    load_set(SIMPLE_CITIZEN)
    village = make_village(commune, "T01", "Thôn 1")
    good, bad = person(village, "Người tốt"), person(village, "Người lỗi", born=date(1970, 1, 1))
    records([good.id], commune)
    records([bad.id], commune, each=2)  # other inputs than the good one's: scored on its own, not from the cache
    original = engine._Scorer._inputs

    def failing(self: Any, indicator: Any, row: Any, columns: Any, assessed: Any) -> Any:
        if getattr(row, "subject_id", None) == bad.id:
            raise ZeroDivisionError("injected")
        return original(self, indicator, row, columns, assessed)

    monkeypatch.setattr(engine._Scorer, "_inputs", failing)
    unit = db.session.get(AdminUnit, commune.id)
    assert unit is not None
    run = runs.start_run(unit, YEAR)
    db.session.flush()
    runs.launch(run.id)
    outcome = runs.evaluate_locked(commune.id, YEAR, force=True)
    assert runs.record(run.id, commune.id, outcome)
    assert runs.close_if_complete(run.id), (run.status, run.total, run.done)
    db.session.flush()
    monkeypatch.setattr(engine._Scorer, "_inputs", original)

    assert eligibility("person", good.id, "citizen").eligible  # type: ignore[union-attr]
    assert eligibility("person", bad.id, "citizen") is None
    assert eligibility("commune", commune.id, "commune_community") is not None
    citizen = outcome.summary["citizen"]
    assert citizen["failed"] == 1
    assert citizen["failures"] == [
        {"subject_type": "person", "subject_id": bad.id, "indicator": "c1", "error": "ZeroDivisionError: injected"}
    ]
    state = db.session.scalar(select(EvaluationState).where(EvaluationState.commune_id == commune.id))
    assert state is not None
    assert state.summary["citizen"]["failed"] == 1
    db.session.flush()
    db.session.expire_all()
    closed = db.session.get(EvaluationRun, run.id)
    assert closed is not None
    assert closed.status == "done"
    assert closed.summary["failed_subjects"] == 1
    assert "1 đối tượng không xét được" in closed.message  # a worker writes it, in Vietnamese by default
    assert runs.subject_failures(closed) == [
        {
            "commune_id": commune.id,
            "title": "citizen",
            "subject_type": "person",
            "subject_id": bad.id,
            "indicator": "c1",
            "error": "ZeroDivisionError: injected",
        }
    ]


def test_the_run_page_lists_the_subjects_that_failed(commune: AdminUnit, client: Any) -> None:
    """The run page shows each subject the engine could not score, with its indicator and error."""
    from lms.auth.models import Role
    from tests.conftest import login, make_user

    unit = db.session.get(AdminUnit, commune.id)
    assert unit is not None
    run = runs.start_run(unit, YEAR)
    db.session.flush()
    runs.launch(run.id)
    from tests.conftest import make_household, make_village

    household = make_household(make_village(unit, "RUN-V", "Thôn Chạy"), "RUN-H", "Nguyễn Văn Lỗi")
    bad = household.members[0].id
    summary = {
        "citizen": {
            "subjects": 2,
            "eligible": 1,
            "changed": 1,
            "failed": 1,
            "failures": [
                {"subject_type": "person", "subject_id": bad, "indicator": "c1", "error": "ValueError: broken"}
            ],
        }
    }
    db.session.add(EvaluationState(commune_id=commune.id, year=YEAR, summary=summary))
    db.session.flush()
    runs.record(run.id, commune.id, runs.Outcome(evaluated=True, summary=summary))
    runs.close_if_complete(run.id)
    user = make_user(Role.ADMINISTRATOR, unit)
    login(client, user)
    page = client.get(f"/titles/runs/{run.id}").get_data(as_text=True)
    assert 'id="subject-failures"' in page
    assert "ValueError: broken" in page
    person = db.session.get(Person, bad)
    assert person is not None
    assert f'href="/registry/persons/{bad}">{person.full_name}</a>' in page  # by name, not "#17"
    names = services.indicator_names("citizen", "vi")
    assert "c1" in names
    assert names["c1"] in page  # the indicator by name


# --- Circular 25/2023, Art. 6.5.b / 7.5.b: the lower bars of a commune in a difficult area -------------------------


def set_area(commune: AdminUnit, area_class: str) -> None:
    commune.area_class = area_class
    db.session.flush()


@pytest.mark.parametrize(
    ("area_class", "trained", "university", "level"),
    [
        ("standard", 50, 12, 1),  # Art. 6.5.b: the standard bars, exactly
        ("standard", "49.99", 12, 0),  # just below 50 %
        ("standard", 45, 11, 0),  # a difficult commune's figures do not pass in a standard one
        ("difficult", 45, 11, 1),  # Art. 6.5.b: 40 % and 10 % for "xã thuộc vùng khó khăn"
        ("difficult", 40, 10, 1),  # exactly at the lower bars
        ("difficult", "39.99", 10, 0),  # just below the lower trained bar
        ("difficult", 40, "9.99", 0),  # just below the lower university bar
        ("especially_difficult", 40, 10, 1),  # an especially difficult commune is in a difficult area too
        ("mountainous", 40, 10, 0),  # mountainous alone is not "vùng khó khăn"
        ("difficult", 50, 12, 2),  # Art. 7.5.b: 50 % and 12 % are level 2 in a difficult area
        ("difficult", 50, "11.99", 1),
    ],
)
def test_tt25_art6_5b_art7_5b_bars_follow_the_area_class(
    commune: AdminUnit, area_class: str, trained: Any, university: Any, level: int
) -> None:
    """Circular 25, Art. 6.5.b and 7.5.b: ≥ 50 / 60 % trained, of which ≥ 12 / 15 % with a university degree;
    in a difficult area ≥ 40 / 50 % and ≥ 10 / 12 %."""
    set_area(commune, area_class)
    commune_ready(commune, citizens=85, trained=trained)
    db.session.execute(
        Assessment.__table__.update()
        .where(Assessment.subject_type == "commune", Assessment.indicator == "t5.2u")
        .values(value=university)
    )
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    assert row.level == level
    bar = item(row, "t5.2")["bar"]
    lower = area_class in ("difficult", "especially_difficult")
    assert bar["lower"] is lower
    assert bar["area_class"] == area_class
    assert bar["at_least"] == ([40, 50] if lower else [50, 60])
    assert item(row, "t5.2u")["bar"]["at_least"] == ([10, 12] if lower else [12, 15])
    with app_request():
        text = describe_source(item(row, "t5.2"))
    assert ("difficult area: 40 % / 50 %" in text) is lower
    assert ("standard bar: 50 % / 60 %" in text) is not lower


def test_tt25_changing_the_area_class_re_evaluates_the_commune(commune: AdminUnit) -> None:
    """The area class is an input: a commune reclassified as difficult gets the lower bars at the next run."""
    commune_ready(commune, citizens=85, trained=45)
    engine.evaluate_commune(commune.id, YEAR)
    assert eligibility("commune", commune.id, "commune_community").level == 0  # type: ignore[union-attr]
    set_area(commune, "difficult")
    engine.evaluate_commune(commune.id, YEAR)
    assert eligibility("commune", commune.id, "commune_community").level == 1  # type: ignore[union-attr]


# --- Circular 25/2023, Art. 6.5.a: every citizen of the commune; who the Learning Citizen title is for ----------------


def test_tt25_art6_5a_every_resident_counts_and_infants_are_not_applicable(commune: AdminUnit) -> None:
    """Circular 25, Art. 6.5.a "ít nhất 60 % công dân trong xã": no age band — 60 adults who are Learning Citizens,
    30 adults who are not, 10 infants: 60 of 100 = 60 %, level 1. The infants are "not applicable" for the
    Learning Citizen title (Decision 324's population, a provisional setting), not "not yet eligible"."""
    commune_ready(commune, citizens=0, residents=0, simple=False)  # the shipped citizen set and its population
    village = db.session.scalar(select(AdminUnit).where(AdminUnit.parent_id == commune.id))
    assert village is not None
    adults = bulk_persons(village, 90)
    infants = [person(village, f"Bé {n}", born=date(YEAR - 1, 3, 1)).id for n in range(10)]
    for pid in adults[:60]:
        for code in ("c3", "c6", "c8", "c9", "c10"):
            assess("person", pid, code, 10, commune, verified=True, source="self")
    records(adults[:60], commune, each=12)
    engine.evaluate_commune(commune.id, YEAR)
    infant = eligibility("person", infants[0], "citizen")
    assert infant is not None
    assert infant.applicable is False
    assert not infant.eligible
    assert infant.missing == ""
    citizens = sum(bool(eligibility("person", pid, "citizen").eligible) for pid in adults)  # type: ignore[union-attr]
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    t51 = item(row, "t5.1")
    assert t51["source"]["denominator"] == 100
    assert t51["source"]["numerator"] == citizens
    assert t51["source"]["not_applicable"] == 10


def test_tt25_art6_5a_residents_without_a_birth_date_are_in_the_denominator(commune: AdminUnit) -> None:
    """Circular 25, Art. 6.5.a: a resident whose birth date is unknown is a citizen of the commune: in the
    denominator, and the breakdown says how many: 60 Learning Citizens of 90 with and 10 without a birth date =
    60 of 100 = 60 %, level 1 (before, the 10 were silently dropped: 60 of 90)."""
    commune_ready(commune, citizens=60, residents=90)
    village = db.session.scalar(select(AdminUnit).where(AdminUnit.parent_id == commune.id))
    assert village is not None
    bulk_persons(village, 10, born=None)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    t51 = item(row, "t5.1")
    assert (t51["source"]["numerator"], t51["source"]["denominator"]) == (60, 100)
    assert t51["source"]["no_birth_date"] == 10
    assert row.level == 1
    with app_request():
        assert "10 without a birth date, counted" in describe_source(t51)


def test_the_eligibility_list_counts_not_applicable_apart(commune: AdminUnit, client: Any) -> None:
    """Issue 10 item 7 (engine side): persons outside the title's population are not "not yet eligible"."""
    from lms.auth.models import Role
    from tests.conftest import make_user

    village = make_village(commune, "T01", "Thôn 1")
    bulk_persons(village, 3)
    bulk_persons(village, 2, born=date(YEAR - 2, 1, 1))
    engine.evaluate_commune(commune.id, YEAR)
    from lms.titles import services

    counts = services.status_counts(make_user(Role.ADMINISTRATOR, commune, "b@example.org"), _filter(commune))
    assert counts == {"eligible": 0, "not_eligible": 3, "not_applicable": 2}


def test_the_eligibility_page_lists_the_titles_subjects_and_the_others_apart(commune: AdminUnit, client: Any) -> None:
    """The list without a status shows the title's subjects, as its "All" count says; the infants the Learning
    Citizen title does not apply to are behind their own button (a leader on a phone does not scroll past them)."""
    from lms.auth.models import Role
    from tests.conftest import login, make_user

    village = make_village(commune, "T01", "Thôn 1")
    adult = person(village, "Người Lớn")
    infant = person(village, "Em Bé", born=date(YEAR - 2, 1, 1))
    engine.evaluate_commune(commune.id, YEAR)
    login(client, make_user(Role.ADMINISTRATOR, commune, "c@example.org"))
    base = f"/titles/eligibility?unit_id={commune.id}&title=citizen&year={YEAR}"
    listed = client.get(base).get_data(as_text=True)
    assert adult.full_name in listed
    assert infant.full_name not in listed
    apart = client.get(base + "&status=not_applicable").get_data(as_text=True)
    assert infant.full_name in apart
    assert adult.full_name not in apart


def _filter(commune: AdminUnit) -> Any:
    from lms.titles import services

    f = services.EligibilityFilter()
    f.unit, f.title, f.year = commune, "citizen", YEAR
    return f


# --- Circular 25/2023, Art. 8.1.b: level 2 is judged on Art. 7's criteria -----------------------------------------


def test_tt25_art8_1b_level_2_standards_imply_the_level_1_ones(commune: AdminUnit) -> None:
    """Circular 25, Art. 8.1.b: a commune meeting every Art. 7 criterion is level 2 — its universal-education and
    literacy standards of level 3 / 2 (Art. 7.4.b–d) imply the level 2 / 1 ones of Art. 6.4.b–d, which need no
    separate entry."""
    commune_ready(commune, citizens=85)
    db.session.execute(
        Assessment.__table__.delete().where(
            Assessment.subject_type == "commune", Assessment.indicator.in_(["t4.2", "t4.3", "t4.4"])
        )
    )
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    assert row.level == 2
    assert item(row, "t4.2")["source"]["kind"] == "implied"
    assert item(row, "t4.2")["source"]["by"] == "t4.2b"


def test_tt25_art6_4b_without_the_level_2_standard_the_level_1_entry_is_needed(commune: AdminUnit) -> None:
    """Circular 25, Art. 6.4.b: with neither standard entered the commune reaches no level."""
    commune_ready(commune, citizens=85)
    db.session.execute(
        Assessment.__table__.delete().where(
            Assessment.subject_type == "commune", Assessment.indicator.in_(["t4.2", "t4.2b"])
        )
    )
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("commune", commune.id, "commune_community")
    assert row is not None
    assert row.level == 0
    assert item(row, "t4.2")["missing"] == {"code": "not_assessed", "level": 1}


# --- Circular 24/2023: indicators for some organisations only --------------------------------------------------------


def test_tt24_art6_3a_a_school_needs_95_per_cent_of_its_learners(commune: AdminUnit) -> None:
    """Circular 24, Art. 6.3.a / 7.3.a: an educational institution also needs ≥ 95 % / 97 % of its learners to
    be Learning Citizens; 96 % is level 1 only; another organisation has nothing to enter (not applicable)."""
    school = unit_with(commune, t3_1b=96)
    school.kind = "school"
    db.session.flush()
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", school.id, "unit")
    assert row is not None
    assert row.level == 1
    assert item(row, "t3.1b")["missing"] == {"code": "assessed_below", "value": 96, "at_least": 97, "level": 2}
    assert item(row, "t3.6")["source"] == {"kind": "not_applicable"}  # a district school: no university criterion


def test_tt24_art12_3d_a_province_university_needs_its_digital_transformation(commune: AdminUnit) -> None:
    """Circular 24, Art. 12.3.đ / 13.3.đ: a province-managed higher-education institution reaches the basic /
    good digital-transformation level; without an entry it reaches no level."""
    school = unit_with(commune, t3_1b=98)
    school.kind, school.managing_level = "school", "province"
    db.session.flush()
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", school.id, "unit")
    assert row is not None
    assert row.level == 0
    assert item(row, "t3.6")["missing"] == {"code": "not_assessed", "level": 1}
    assess("organisation", school.id, "t3.6", 1, commune)
    engine.evaluate_commune(commune.id, YEAR)
    assert eligibility("organisation", school.id, "unit").level == 1  # type: ignore[union-attr]
    assess("organisation", school.id, "t3.6b", 1, commune)
    engine.evaluate_commune(commune.id, YEAR)
    assert eligibility("organisation", school.id, "unit").level == 2  # type: ignore[union-attr]


def test_tt24_art2_3_the_commune_peoples_committee_is_assessed_under_circular_24(commune: AdminUnit) -> None:
    """Circular 24, Art. 2.3: "Đơn vị cấp huyện là Ủy ban nhân dân cấp xã": the commune People's Committee is
    assessed under Circular 24 as a district-level unit even when the registry says the commune manages it; another
    commune-managed organisation stays under Decision 448 part D."""
    committee = unit_with(commune)
    committee.kind, committee.managing_level = "commune_committee", "commune"
    other = organisation(commune, "HTX", "commune", [])
    db.session.flush()
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", committee.id, "unit")
    assert row is not None
    assert row.criteria_set.code == "tt-24-2023-unit"
    assert row.level == 2
    assert eligibility("organisation", other.id, "unit").criteria_set.code == "qd-448-2015-d-unit"  # type: ignore[union-attr]
    assert criteria.active_set("unit", managing_level="commune", kind="commune_committee").code == "tt-24-2023-unit"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("decided", "level", "allowed"),
    [
        # 12 months end at the end of 10/02/YEAR+1, after the last day of YEAR's request (14/01): level 1 only
        (date(YEAR, 2, 10), 1, date(YEAR + 1, 2, 11)),
        (date(YEAR - 1, 12, 1), 2, None),  # 12 months end on 01/12/YEAR: level 2 may be asked for YEAR
        # 12 months end on 13/01/YEAR+1: allowed from 14/01, the last day "trước ngày 15 tháng 1"
        (date(YEAR, 1, 13), 2, None),
        # 12 months end at the end of 14/01/YEAR+1: allowed from 15/01, a day too late for YEAR's dossier
        (date(YEAR, 1, 14), 1, date(YEAR + 1, 1, 15)),
        (date(YEAR, 1, 15), 1, date(YEAR + 1, 1, 16)),
    ],
)
def test_tt24_art5_3_level_2_only_once_12_months_from_the_level_1_decision_have_run_out(
    commune: AdminUnit, decided: date, level: int, allowed: date | None
) -> None:
    """Circular 24, Art. 5.3 (and 11.3): "Đơn vị cấp huyện được công nhận mức độ 1 sau ít nhất 1 năm (12 tháng) kể từ
    ngày ra quyết định công nhận có thể đề nghị đánh giá, công nhận nâng mức độ 2"; Art. 10.1.c (16.1.c): the dossier
    goes in "trước ngày 15 tháng 1 của năm liền kề sau năm đánh giá". The 12 months are counted as the Civil Code 2015
    counts a period (Art. 147.2: the day of the decision is not counted; Art. 148.3: it ends at the end of the
    corresponding day of the last month), so level 2 may be asked for from the day after that day (ADR 59). A level-1
    decision of 14 January YEAR can therefore not ask for level 2 in YEAR's dossier (due by 14/01/YEAR+1): the unit is
    level 1 and the breakdown says from when, and for which year's dossier, level 2 can be asked for."""
    from lms.titles.models import Recognition, RecognitionStatus

    org = unit_with(commune)
    db.session.add(
        Recognition(
            subject_type="organisation",
            subject_id=org.id,
            title="unit",
            year=YEAR - 1,
            level=1,
            commune_id=commune.id,
            status=RecognitionStatus.RECOGNISED.value,
            decision_number="12/QĐ-UBND",
            decision_date=decided,
        )
    )
    db.session.flush()
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == level
    assert row.eligible
    if allowed is None:
        assert all(i["indicator"] != "upgrade" for i in row.breakdown)
        return
    wait = item(row, "upgrade")
    assert wait["missing"]["until"] == allowed.isoformat()
    assert wait["missing"]["before"] == date(YEAR + 1, 1, 15).isoformat()
    assert wait["missing"]["first_year"] == YEAR + 1
    assert row.missing == "|upgrade|"
    with app_request():
        from lms.titles.explain import describe_missing

        text = describe_missing(wait)
    assert f"level 2 can be asked for only from {allowed:%b} {allowed.day}, {allowed.year}" in text
    assert f"the level 1 decision of {decided:%b} {decided.day}, {decided.year}" in text
    assert f"after this year's dossier is due (before Jan 15, {YEAR + 1})" in text
    assert f"at the earliest in the dossier for {YEAR + 1}" in text


def test_tt24_art5_3_the_page_says_in_vietnamese_why_a_14_january_decision_waits_a_year(commune: AdminUnit) -> None:
    """Circular 24, Art. 5.3 with Art. 10.1.c, read with the Civil Code 2015, Art. 147-148 (ADR 59): the unit's
    explanation, in the pages' language, names the first day level 2 may be asked for, the decision it counts from,
    the last day of the year's dossier and the first year whose dossier may ask for it."""
    from flask import current_app
    from flask_babel import force_locale

    from lms.titles.explain import describe_missing
    from lms.titles.models import Recognition, RecognitionStatus

    org = unit_with(commune)
    db.session.add(
        Recognition(
            subject_type="organisation",
            subject_id=org.id,
            title="unit",
            year=YEAR - 1,
            level=1,
            commune_id=commune.id,
            status=RecognitionStatus.RECOGNISED.value,
            decision_number="5/QĐ-UBND",
            decision_date=date(YEAR, 1, 14),
        )
    )
    db.session.flush()
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    with current_app.test_request_context(), force_locale("vi"):
        text = describe_missing(item(row, "upgrade"))
    assert text.startswith(f"chỉ được đề nghị công nhận nâng lên mức độ 2 từ ngày 15/01/{YEAR + 1}")
    assert f"hết thời hạn 12 tháng kể từ ngày 14/01/{YEAR} là ngày ra quyết định công nhận mức độ 1" in text
    assert "Bộ luật Dân sự 2015, Điều 147, 148" in text
    assert f"quá hạn gửi hồ sơ của năm đánh giá này (trước ngày 15/01/{YEAR + 1})" in text
    assert f"sớm nhất là đề nghị nâng lên mức độ 2 trong hồ sơ của năm đánh giá {YEAR + 1}" in text


def test_tt24_art8_2_the_good_digital_level_implies_the_basic_one(commune: AdminUnit) -> None:
    """Circular 24, Art. 8.2 (level 2 "khi đạt đầy đủ các tiêu chí, chỉ tiêu được quy định tại Điều 7") with Art.
    6.3.d / 7.3.d (a school at the basic, then the good digital-transformation level of Decision 4725): a school
    assessed at the good level (3.4b) meets the basic one (3.4) without a second assessment, and reaches level 2;
    the same for a province-managed university (Art. 12.3.đ / 13.3.đ: 3.6, 3.6b)."""
    school = unit_with(commune, t3_1b=98)
    db.session.execute(
        Assessment.__table__.delete().where(Assessment.subject_id == school.id, Assessment.indicator.in_(["t3.4"]))
    )
    school.kind, school.managing_level = "school", "province"
    db.session.flush()
    assess("organisation", school.id, "t3.6b", 1, commune)
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", school.id, "unit")
    assert row is not None
    assert item(row, "t3.4")["source"]["kind"] == "implied"
    assert item(row, "t3.6")["source"]["kind"] == "implied"
    assert row.level == 2


@pytest.mark.parametrize(
    ("kind", "unassessed", "not_applicable", "level"),
    [
        ("agency", ["t3.4", "t3.4b", "t3.5"], ["t3.4", "t3.4b", "t3.5"], 2),
        ("commune_committee", ["t3.4", "t3.4b", "t3.5"], ["t3.4", "t3.4b", "t3.5"], 2),
        ("enterprise", ["t1.3", "t2.4", "t3.4", "t3.4b"], ["t1.3", "t2.4", "t3.4", "t3.4b"], 2),
        ("agency", ["t1.3"], [], 0),  # a public body is asked for its training budget (Art. 6.1.c)
        ("school", ["t3.4b"], [], 1),  # a school is still asked: without the good level it stops at level 1
        ("school", ["t3.5"], [], 0),  # … and for the accreditation (recorded met when not a vocational one)
    ],
)
def test_tt24_school_and_enterprise_indicators_are_not_asked_of_others(
    commune: AdminUnit, kind: str, unassessed: list[str], not_applicable: list[str], level: int
) -> None:
    """Circular 24, Art. 6.3.d / 7.3.d ("Đơn vị cấp huyện là cơ sở giáo dục phổ thông đạt mức độ chuyển đổi số …"),
    Art. 6.3.đ / 7.3.đ ("… là cơ sở giáo dục nghề nghiệp đạt kiểm định …"), Art. 6.2.d / 7.2.d ("không bao gồm
    thành viên trong đơn vị là tổ chức kinh tế") and Art. 6.1.c (state budget for training "đối với đơn vị là cơ quan,
    đơn vị sự nghiệp công lập của nhà nước"): an agency or the commune People's Committee is not asked for a
    school's digital-transformation level nor a vocational accreditation, and an enterprise not for its members'
    language certificates nor a state training budget — "not applicable" and met, so no evidence is needed for them
    (Art. 9.3); a school, or an agency for its budget, still is."""
    org = unit_with(commune, t3_1b=98)
    db.session.execute(
        Assessment.__table__.delete().where(Assessment.subject_id == org.id, Assessment.indicator.in_(unassessed))
    )
    org.kind = kind
    db.session.flush()
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    for code in not_applicable:
        assert item(row, code)["source"]["kind"] == "not_applicable", code
    assert row.level == level


@pytest.mark.parametrize(
    ("kind", "managing_level", "award", "level", "t33b"),
    [
        # Art. 7.3.c: a district-level enterprise is not asked for the award at level 2, and Art. 8.2 judges level 2
        # on Art. 7 alone: level 2 without the award that Art. 6.3.c asks of it for level 1.
        ("enterprise", "district", 0, 2, "not_applicable"),
        ("enterprise", "district", 1, 2, "not_applicable"),
        # A public body is asked at both levels (Art. 6.3.c, 7.3.c): without the award, neither level.
        ("agency", "district", 0, 0, None),
        ("public_service", "district", 0, 0, None),
        ("commune_committee", "commune", 0, 0, None),
        # With it, the level-1 entry answers Art. 7.3.c as well: one entry, no second assessment.
        ("agency", "district", 1, 2, "implied"),
        # Art. 12.3.c / 13.3.c: every province-level unit, an enterprise too, is asked at both levels.
        ("enterprise", "province", 0, 0, None),
        ("enterprise", "province", 1, 2, "implied"),
    ],
)
def test_tt24_art7_3c_the_award_at_level_2_is_asked_of_district_public_bodies_only(
    commune: AdminUnit, kind: str, managing_level: str, award: int, level: int, t33b: str | None
) -> None:
    """Circular 24, Art. 6.3.c (level 1: "Đơn vị cấp huyện đạt danh hiệu thi đua từ Tập thể lao động tiên tiến trở
    lên"), Art. 7.3.c (level 2: "Đơn vị cấp huyện **là cơ quan, đơn vị sự nghiệp công lập** đạt danh hiệu …"),
    Art. 8.1 / 8.2 (each level "khi đạt đầy đủ các tiêu chí, chỉ tiêu" of its own article) and Art. 12.3.c / 13.3.c
    (province level: every unit at both levels). A public body versus an enterprise at level 2."""
    org = unit_with(commune, t3_3=award)
    org.kind, org.managing_level = kind, managing_level
    db.session.flush()
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.criteria_set.code == "tt-24-2023-unit"
    assert row.level == level
    assert row.eligible == (level >= 1)
    assert item(row, "t3.3")["met"] == bool(award)
    b = item(row, "t3.3b")
    assert b["met"] == (t33b is not None)
    if t33b is not None:
        assert b["source"]["kind"] == t33b
    if t33b == "implied":
        with app_request():
            assert "the same requirement at the level below" in describe_source(b)
    if level == 0:
        assert "|t3.3|" in row.missing  # what level 1 needs: the award


def test_tt24_art7_3c_an_enterprise_still_waiting_for_its_upgrade_does_not_keep_level_1_without_art_6(
    commune: AdminUnit,
) -> None:
    """Circular 24, Art. 5.3 (level 2 only 12 months after the level-1 decision) with Art. 8.1 (level 1 needs every
    indicator of Art. 6, the award of 6.3.c among them): a district enterprise that meets Art. 7 without the award,
    recognised at level 1 too recently to ask for level 2, is not given level 1 in its place."""
    from lms.titles.models import Recognition, RecognitionStatus

    org = unit_with(commune, t3_3=0)
    org.kind = "enterprise"
    db.session.add(
        Recognition(
            subject_type="organisation",
            subject_id=org.id,
            title="unit",
            year=YEAR - 1,
            level=1,
            commune_id=commune.id,
            status=RecognitionStatus.RECOGNISED.value,
            decision_number="12/QĐ-UBND",
            decision_date=date(YEAR, 2, 10),
        )
    )
    db.session.flush()
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 0
    assert not row.eligible
    assert "|upgrade|" in row.missing


@pytest.mark.parametrize(
    ("title", "step", "before"),
    [
        ("unit", "propose", date(2026, 1, 15)),  # TT 24 Art. 10.1.c / 16.1.c: "trước ngày 15 tháng 1"
        ("unit", "decide", date(2026, 2, 15)),  # TT 24 Art. 10.3 / 16.3: "trước ngày 15 tháng 2"
        ("commune_community", "propose", date(2026, 2, 28)),  # TT 25 Art. 9.1.d: "trước ngày 28 tháng 02"
        ("commune_community", "decide", date(2026, 3, 31)),  # TT 25 Art. 9.3: "trước ngày 31 tháng 3"
    ],
)
def test_tt24_tt25_dossier_and_decision_dates_of_the_year_after_the_year_evaluated(title, step, before):
    """The date named is past from that day: the day before is the last one (ADR 44, amendment of 7/12/2026)."""
    from datetime import timedelta

    from lms.titles import deadlines

    on_time = deadlines.deadline(title, 2025, deadlines.Step(step), today=before - timedelta(days=1))
    assert on_time is not None
    assert (on_time.before, on_time.passed) == (before, False)
    late = deadlines.deadline(title, 2025, deadlines.Step(step), today=before)
    assert late is not None
    assert late.passed


@pytest.mark.parametrize("title", ["citizen", "family", "clan", "village_community"])
def test_the_association_titles_have_no_circular_dates(title):
    from lms.titles import deadlines

    assert all(deadlines.deadline(title, 2025, step) is None for step in deadlines.Step)
