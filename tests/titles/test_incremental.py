"""Incremental titles (ADR 29): the persons' yearly metrics kept by the writers of learning records, marks that name
their subjects, and an evaluation that re-scores only those subjects and the groups containing them.

* the statements of one change — the writer's (records, metrics, mark) and the evaluation's — are as many in a
  commune of 3 persons as in one of 400;
* property: after random changes (records added and removed, assessments entered, changed and removed on persons,
  households, clans, villages, organisations and the commune, persons moving to another household and village),
  the incremental evaluation leaves exactly what a full evaluation of the same data computes — the full evaluation,
  verifying every row, finds nothing to change — and the share counts it kept (``title_share_count``) are those the
  full evaluation counts again.
"""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from random import Random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select

from courses.models import LearningKind, LearningRecord
from lms.core.signals import learning_records_changed
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit, Clan, Household, Organisation, OrganisationMember, Person
from lms.registry.text import fold, person_sort_key
from lms.titles import criteria, engine, incremental, runs
from lms.titles.models import (
    Assessment,
    AssessmentSource,
    Eligibility,
    EligibilityBreakdown,
    EvaluationDirtySubject,
    EvaluationState,
    PersonMetric,
    ShareCount,
)
from tests.conftest import make_village, unit_by_code

YEAR = 2025
KEYS = itertools.count()  # records' source keys, unique whatever the seed
KINDS = [LearningKind.CLASS_COMPLETION.value, LearningKind.POLICY_STUDY.value, "it_module", "activity_organised"]
CATEGORIES = [None, "needs_based", "foreign_language", "ethnic_language"]


def rng(seed: int) -> Random:
    """Seeded test data, not secrets."""
    return Random(seed)  # noqa: S311


def build(commune: AdminUnit, persons: int, *, seed: int = 1) -> dict[str, list[int]]:
    """A commune of ``persons`` in households of 4 over two villages, a clan of every third household, an
    organisation of every fifth person; some records, ages from infants to the elderly, some without a birth date."""
    rnd = rng(seed)
    villages = [make_village(commune, f"{commune.code}-V{n}", f"Thôn {n}") for n in range(2)]
    count = max(1, persons // 4)
    db.session.execute(
        insert(Household),
        [{"village_id": villages[n % 2].id, "code": f"{commune.code}-H{n}"} for n in range(count)],
    )
    households = list(
        db.session.scalars(
            select(Household.id).where(Household.village_id.in_([v.id for v in villages])).order_by(Household.id)
        )
    )
    village_of = dict(db.session.execute(select(Household.id, Household.village_id)).tuples().all())
    rows = []
    for n in range(persons):
        name = f"Người {n}"
        household = households[n % len(households)]
        born = None if n % 11 == 5 else date(1940 + rnd.randrange(0, 84), rnd.randrange(1, 13), 1)
        rows.append(
            {
                "full_name": name,
                "name_folded": fold(name),
                "sort_key": person_sort_key(name),
                "unit_id": village_of[household],
                "household_id": household,
                "birth_date": born,
            }
        )
    db.session.execute(insert(Person), rows)
    people = list(db.session.scalars(select(Person.id).where(Person.household_id.in_(households)).order_by(Person.id)))
    clan = Clan(commune_id=commune.id, name=f"Họ Lê {commune.code}")
    clan.households = list(db.session.scalars(select(Household).where(Household.id.in_(households[::3]))))
    db.session.add(clan)
    organisation = Organisation(
        commune_id=commune.id, code=f"UB-{commune.code}", name="Ủy ban", managing_level="commune"
    )
    db.session.add(organisation)
    db.session.flush()
    db.session.execute(
        insert(OrganisationMember), [{"organisation_id": organisation.id, "person_id": p} for p in people[::5]]
    )
    add_records(commune, people[::2], rnd)
    return {
        "person": people,
        "household": households,
        "clan": [clan.id],
        "village": [v.id for v in villages],
        "organisation": [organisation.id],
        "commune": [commune.id],
    }


def add_records(commune: AdminUnit, people: list[int], rnd: Random) -> None:
    """Learning records of ``people``, written and announced as the courses do (signal in the same transaction)."""
    if not people:
        return
    rows = [
        {
            "person_id": pid,
            "year": YEAR,
            "kind": rnd.choice(KINDS),
            "category": rnd.choice(CATEGORIES),
            "module_code": rnd.choice([None, "m1", "m2"]),
            "hours": Decimal(rnd.choice(["1", "2.5", "4", "12"])),
            "completed_on": date(YEAR, 6, 1),
            "commune_id": commune.id,
            "source_key": f"inc:{pid}:{next(KEYS)}",
        }
        for pid in people
        for _ in range(rnd.randrange(1, 4))
    ]
    db.session.execute(insert(LearningRecord), rows)
    learning_records_changed.send(None, pairs={(commune.id, YEAR)}, persons={(pid, YEAR) for pid in people})


def remove_records(commune: AdminUnit, people: list[int]) -> None:
    db.session.execute(delete(LearningRecord).where(LearningRecord.person_id.in_(people), LearningRecord.year == YEAR))
    learning_records_changed.send(None, pairs={(commune.id, YEAR)}, persons={(pid, YEAR) for pid in people})


def assessable(subject_type: str) -> list[str]:
    """Indicator codes of the active sets of ``subject_type`` that read an assessment."""
    codes: list[str] = []
    for row in db.session.scalars(select(criteria.CriteriaSet).where(criteria.CriteriaSet.active.is_(True))):
        definition = criteria.definition_of(row)
        if definition.subject == subject_type:
            codes += [i.code for i in definition.indicators if i.reads_assessment]
    return codes


def set_assessment(commune: AdminUnit, subject_type: str, subject_id: int, indicator: str, value: Any) -> None:
    """Enter, change or (value None) remove an assessment, and mark its subject as the titles services do."""
    found = db.session.scalar(
        select(Assessment).where(
            Assessment.subject_type == subject_type,
            Assessment.subject_id == subject_id,
            Assessment.year == YEAR,
            Assessment.indicator == indicator,
        )
    )
    if value is None:
        if found is not None:
            db.session.delete(found)
    elif found is None:
        db.session.add(
            Assessment(
                subject_type=subject_type,
                subject_id=subject_id,
                year=YEAR,
                indicator=indicator,
                value=Decimal(str(value)),
                source=AssessmentSource.EVALUATOR,
                evidence_ref="biên bản",
                commune_id=commune.id,
                assessed_at=utcnow(),
            )
        )
    else:
        found.value = Decimal(str(value))
    db.session.flush()
    incremental.mark_subjects({(commune.id, YEAR): {(subject_type, subject_id)}})


def snapshot(commune: AdminUnit) -> dict[tuple[str, int, str], tuple[Any, ...]]:
    rows = db.session.execute(
        select(
            Eligibility.subject_type,
            Eligibility.subject_id,
            Eligibility.title,
            Eligibility.eligible,
            Eligibility.applicable,
            Eligibility.score,
            Eligibility.level,
            Eligibility.missing,
            Eligibility.village_id,
            Eligibility.criteria_set_id,
            EligibilityBreakdown.content,
        )
        .outerjoin(EligibilityBreakdown, EligibilityBreakdown.id == Eligibility.breakdown_id)
        .where(Eligibility.commune_id == commune.id, Eligibility.year == YEAR)
    )
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def stored_metrics() -> set[tuple[int, str, Decimal]]:
    return {
        (p, m, Decimal(v))
        for p, m, v in db.session.execute(
            select(PersonMetric.person_id, PersonMetric.metric, PersonMetric.value).where(
                PersonMetric.year == YEAR, PersonMetric.value.is_not(None)
            )
        ).tuples()
    }


def share_counts(commune: AdminUnit) -> dict[tuple[str, int, str], tuple[int, ...]]:
    rows = db.session.execute(
        select(
            ShareCount.subject_type,
            ShareCount.subject_id,
            ShareCount.share,
            ShareCount.num,
            ShareCount.den,
            ShareCount.unk,
            ShareCount.na,
            ShareCount.nob,
        ).where(ShareCount.commune_id == commune.id, ShareCount.year == YEAR)
    ).tuples()
    return {(t, i, k): tuple(counts) for t, i, k, *counts in rows}


def move(person_id: int, household_id: int) -> None:
    """A person moves to another household (and its village): a registry change, which names no subject — the
    commune-year is marked whole, as for a registration."""
    from lms.titles.dirty import mark_dirty

    person = db.session.get(Person, person_id)
    household = db.session.get(Household, household_id)
    assert person is not None
    assert household is not None
    person.household_id, person.unit_id = household.id, household.village_id
    db.session.flush()
    village = db.session.get(AdminUnit, household.village_id)
    assert village is not None
    assert village.parent_id is not None
    mark_dirty([(village.parent_id, YEAR)])


def state(commune: AdminUnit) -> EvaluationState:
    found = db.session.get(EvaluationState, (commune.id, YEAR))
    assert found is not None
    db.session.refresh(found)
    return found


@pytest.fixture
def loaded(app_ctx: Any) -> None:
    criteria.load_shipped_criteria()


# --- the writers' side -------------------------------------------------------------------------------------------


def test_records_keep_the_persons_metrics_and_mark_only_them(loaded: None) -> None:
    commune = unit_by_code("23293")
    subjects = build(commune, 12)
    runs.evaluate_locked(commune.id, YEAR, force=True)
    assert state(commune).marked_at is None
    full = stored_metrics()
    assert full, "the full evaluation fills title_person_metric"

    someone = subjects["person"][1]  # odd: no records yet
    add_records(commune, [someone], rng(3))
    mark = state(commune)
    assert mark.marked_at is not None
    assert mark.partial
    mine = (EvaluationDirtySubject.commune_id == commune.id, EvaluationDirtySubject.year == YEAR)
    # (the commune-year's own marks: tests before this one may have left marks of other communes behind)
    dirty = select(EvaluationDirtySubject.subject_type, EvaluationDirtySubject.subject_id).where(*mine)
    assert set(db.session.execute(dirty)) == {("person", someone)}
    assert {m for m in stored_metrics() if m[0] == someone}, "the writer computed the new person's metrics"

    outcome = runs.evaluate_locked(commune.id, YEAR, force=False)
    assert outcome.evaluated
    assert outcome.summary["citizen"]["subjects"] == 1  # only the person, not the commune's 12
    assert outcome.summary["family"]["subjects"] == 1  # and their household
    assert db.session.scalar(select(func.count()).select_from(EvaluationDirtySubject).where(*mine)) == 0
    assert state(commune).marked_at is None
    assert not state(commune).partial

    remove_records(commune, [someone])
    assert not {m for m in stored_metrics() if m[0] == someone}, "no records, no metric values"
    assert stored_metrics() == full
    # … but the values the village's and commune's counts hold stay until the evaluation has taken them away
    theirs = select(func.count()).select_from(PersonMetric).where(PersonMetric.person_id == someone)
    assert db.session.scalar(theirs)
    runs.evaluate_locked(commune.id, YEAR, force=False)
    assert db.session.scalar(theirs) == 0


def test_a_whole_commune_mark_is_not_made_partial(loaded: None) -> None:
    from lms.titles.dirty import mark_dirty

    commune = unit_by_code("23293")
    subjects = build(commune, 8)
    runs.evaluate_locked(commune.id, YEAR, force=True)
    mark_dirty([(commune.id, YEAR)])
    add_records(commune, subjects["person"][:1], rng(4))
    assert not state(commune).partial
    outcome = runs.evaluate_locked(commune.id, YEAR, force=False)
    assert outcome.summary["citizen"]["subjects"] == 8  # the full evaluation


def test_a_new_criteria_set_metric_takes_the_full_evaluation(loaded: None) -> None:
    commune = unit_by_code("23293")
    subjects = build(commune, 8)
    runs.evaluate_locked(commune.id, YEAR, force=True)
    db.session.execute(
        EvaluationState.__table__.update()
        .where(EvaluationState.commune_id == commune.id)
        .values(metrics_key="from-older-criteria")
    )
    add_records(commune, subjects["person"][:1], rng(5))
    outcome = runs.evaluate_locked(commune.id, YEAR, force=False)
    assert outcome.summary["citizen"]["subjects"] == 8
    assert state(commune).metrics_key == engine.metrics_key(engine.active_metrics())


def test_the_full_evaluation_rewrites_only_the_share_counts_that_changed(loaded: None) -> None:
    commune = unit_by_code("23293")
    build(commune, 12)
    runs.evaluate_locked(commune.id, YEAR, force=True)
    counted = share_counts(commune)
    assert counted, "the villages' and the commune's shares are counted"
    stale = next(iter(counted))  # a group whose stored counts drifted: rewritten
    table = ShareCount.__table__
    db.session.execute(
        table.update()
        .where(
            table.c.commune_id == commune.id,
            table.c.subject_type == stale[0],
            table.c.subject_id == stale[1],
            table.c.share == stale[2],
        )
        .values(num=table.c.num + 7)
    )
    db.session.execute(  # a group that has no members (any more): its row goes
        insert(ShareCount).values(
            commune_id=commune.id,
            year=YEAR,
            subject_type="village",
            subject_id=-1,
            share=stale[2],
            num=1,
            den=1,
            unk=0,
            na=0,
            nob=0,
        )
    )
    # Written behind the app's back: nothing marked, so it takes a reconciliation (a run would leave it, ADR 41).
    runs.evaluate_locked(commune.id, YEAR, force=True, verify=True)
    assert share_counts(commune) == counted


# --- statements: constant in the size of the commune ---------------------------------------------------------------


def test_statements_of_one_change_do_not_grow_with_the_commune(loaded: None, count_queries: Any) -> None:
    counts: dict[int, tuple[int, int]] = {}
    for code, persons in (("23293", 3), ("23302", 400)):
        commune = unit_by_code(code)
        subjects = build(commune, persons)
        runs.evaluate_locked(commune.id, YEAR, force=True)
        # The first person: in a household of the clan, a member of the organisation, with records.
        someone = subjects["person"][0]
        # A record added and evaluated, then removed again — counted: the subjects return to results whose
        # breakdowns are stored in both communes, so both evaluations write the same kinds of rows.
        new_record = {
            "person_id": someone,
            "year": YEAR,
            "kind": LearningKind.CLASS_COMPLETION.value,
            "category": "needs_based",
            "hours": Decimal(4),
            "completed_on": date(YEAR, 7, 1),
            "commune_id": commune.id,
            "source_key": f"inc:new:{someone}",
        }
        db.session.execute(insert(LearningRecord).values(new_record))
        learning_records_changed.send(None, pairs={(commune.id, YEAR)}, persons={(someone, YEAR)})
        runs.evaluate_locked(commune.id, YEAR, force=False)
        with count_queries() as writer:  # written and announced as the completion task does
            db.session.execute(delete(LearningRecord).where(LearningRecord.source_key == new_record["source_key"]))
            learning_records_changed.send(None, pairs={(commune.id, YEAR)}, persons={(someone, YEAR)})
        with count_queries() as evaluation:
            outcome = runs.evaluate_locked(commune.id, YEAR, force=False)
        assert outcome.changed >= 1  # rows were rewritten: the writes are counted too
        assert outcome.summary["citizen"]["subjects"] == 1
        assert outcome.summary["clan"]["subjects"] == 1
        assert outcome.summary["unit"]["subjects"] == 1
        assert outcome.summary["commune_community"]["subjects"] == 1
        counts[persons] = (writer.count, evaluation.count)
    assert counts[3] == counts[400]
    # Writer: the record's delete, the persons' homes and organisations (two), the mark upsert and the dirty
    # subjects, the active criteria sets, the persons' records grouped, the metrics upsert and the delete of rows
    # no longer backed (the person keeps other records: no value to take away from one left without any).
    assert counts[3][0] == 9


# --- property: incremental == full -----------------------------------------------------------------------------


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["add", "remove", "assess", "unassess", "move"]),
        st.sampled_from(["person", "household", "clan", "village", "organisation", "commune"]),
        st.integers(min_value=0, max_value=10_000),
        st.sampled_from([0, 1, 3, 5, 8, 10, 100]),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batches=st.lists(OPERATIONS, min_size=1, max_size=3), seed=st.integers(min_value=0, max_value=1000))
def test_incremental_evaluation_equals_the_full_one(loaded: None, batches: list[Any], seed: int) -> None:
    nested = db.session.begin_nested()  # each example starts from the same empty commune
    try:
        commune = unit_by_code("23293")
        subjects = build(commune, 24, seed=seed)
        runs.evaluate_locked(commune.id, YEAR, force=True)
        rnd = rng(seed)
        counted = share_counts(commune)
        # The commune's share of Learning Citizens counts recognitions (ADR 51), over its residents every time: only
        # the villages' shares are kept counted by the shipped sets.
        assert {t for t, _, _ in counted} == {"village"}, "the full evaluation counts the large groups"
        for batch in batches:
            moved = False
            for operation, subject_type, pick, value in batch:
                ids = subjects["person" if operation in ("add", "remove", "move") else subject_type]
                chosen = ids[pick % len(ids)]
                if operation == "move":
                    move(chosen, subjects["household"][(pick * 3) % len(subjects["household"])])
                    moved = True
                elif operation == "add":
                    add_records(commune, [chosen, ids[(pick * 7) % len(ids)]], rnd)
                elif operation == "remove":
                    remove_records(commune, [chosen])
                else:
                    codes = assessable(subject_type)
                    if codes:
                        code = codes[pick % len(codes)]
                        set_assessment(commune, subject_type, chosen, code, value if operation == "assess" else None)
            assert state(commune).partial is not moved
            outcome = runs.evaluate_locked(commune.id, YEAR, force=False)
            assert outcome.evaluated
            incremental_rows = snapshot(commune)
            incremental_counts = share_counts(commune)
            repairs: list[dict[str, Any]] = []
            full = engine.evaluate_commune(commune.id, YEAR, repairs=repairs)
            assert repairs == []
            assert {title: counts["changed"] for title, counts in full.items()} == dict.fromkeys(full, 0)
            assert snapshot(commune) == incremental_rows
            assert share_counts(commune) == incremental_counts
    finally:
        nested.rollback()


# --- the full evaluation's diet ------------------------------------------------------------------------------------


def test_a_run_sends_the_largest_communes_first(loaded: None) -> None:
    small, large = unit_by_code("23293"), unit_by_code("23302")
    assert small.parent_id == large.parent_id
    build(small, 4)
    build(large, 40)
    province = db.session.get(AdminUnit, small.parent_id)
    assert province is not None
    run = runs.start_run(province, YEAR)
    launched = runs.launch(run.id)
    assert launched is not None
    communes = launched[1]
    assert communes.index(large.id) < communes.index(small.id)
    assert communes[0] == large.id  # the reference communes have nobody living in them yet


def test_tables_written_by_evaluation_are_analysed_after_a_large_write(loaded: None, monkeypatch: Any) -> None:
    large = runs.Outcome(evaluated=True, summary={"citizen": {"changed": runs.ANALYZE_ROWS}})
    small = runs.Outcome(evaluated=True, summary={"citizen": {"changed": runs.ANALYZE_ROWS - 1}})
    assert runs.analyze_after(small) == []
    monkeypatch.setattr(runs, "ANALYZE_SHARE", 0)  # every table counts as changed enough: the statements run
    monkeypatch.setattr(runs, "ANALYZE_ROWS", 0)
    analysed = runs.analyze_after(large)
    expected = sorted(runs.ANALYZED_TABLES) if db.engine.dialect.name == "postgresql" else []
    assert sorted(analysed) == expected


# --- the maintained counts' edge cases (review of ADR 29's counted shares) ----------------------------------------


def test_a_village_without_stored_counts_is_counted_in_full(loaded: None) -> None:
    """A village filed after the commune's last full evaluation (a registry change, which marks nothing): when one
    of its residents learns, the incremental evaluation has no stored counts to add the change to, so the commune is
    counted in full — the village's share then covers all its residents, as a full evaluation finds."""
    commune = unit_by_code("23293")
    build(commune, 24)
    runs.evaluate_locked(commune.id, YEAR, force=True)
    village = make_village(commune, f"{commune.code}-V9", "Thôn mới")
    household = Household(village_id=village.id, code=f"{commune.code}-H-new")
    db.session.add(household)
    db.session.flush()
    names = [f"Người mới {n}" for n in range(3)]
    db.session.execute(
        insert(Person),
        [
            {
                "full_name": name,
                "name_folded": fold(name),
                "sort_key": person_sort_key(name),
                "unit_id": village.id,
                "household_id": household.id,
                "birth_date": date(1980 + n, 1, 1),
            }
            for n, name in enumerate(names)
        ],
    )
    newcomers = list(db.session.scalars(select(Person.id).where(Person.household_id == household.id)))
    add_records(commune, newcomers[:1], rng(3))
    assert state(commune).partial
    assert runs.evaluate_locked(commune.id, YEAR, force=False).evaluated
    rows, counts = snapshot(commune), share_counts(commune)
    assert {i for t, i, _ in counts if t == "village"} >= {village.id}
    repairs: list[dict[str, Any]] = []
    full = engine.evaluate_commune(commune.id, YEAR, repairs=repairs)
    assert repairs == []
    assert {title: summary["changed"] for title, summary in full.items()} == dict.fromkeys(full, 0)
    assert snapshot(commune) == rows
    assert share_counts(commune) == counts


def test_a_member_living_elsewhere_keeps_what_the_home_counts_hold(loaded: None) -> None:
    """A resident of commune H is a member of an organisation of commune C. Their records go without naming them
    (a whole-commune mark of C): C's full evaluation clears the value it no longer finds, but keeps the row's
    ``counted``, which H's share counts still hold. When the person learns again, H's incremental evaluation takes
    the old contribution out and adds the new one: the same counts as H's full evaluation."""
    home, other = unit_by_code("23293"), unit_by_code("23302")
    subjects = build(home, 24)
    build(other, 8, seed=2)
    member = subjects["person"][2]  # records: build gives them to every other person
    organisation = db.session.scalar(select(Organisation).where(Organisation.commune_id == other.id))
    assert organisation is not None
    db.session.execute(insert(OrganisationMember).values(organisation_id=organisation.id, person_id=member))
    for commune in (home, other):
        runs.evaluate_locked(commune.id, YEAR, force=True)
    held = db.session.execute(
        select(PersonMetric.metric, PersonMetric.counted).where(
            PersonMetric.person_id == member, PersonMetric.year == YEAR
        )
    ).all()
    assert held
    assert all(counted is not None for _, counted in held)
    db.session.execute(delete(LearningRecord).where(LearningRecord.person_id == member, LearningRecord.year == YEAR))
    learning_records_changed.send(None, pairs={(other.id, YEAR)})  # names no person
    runs.evaluate_locked(other.id, YEAR, force=True)
    kept = dict(
        db.session.execute(
            select(PersonMetric.metric, PersonMetric.counted).where(
                PersonMetric.person_id == member, PersonMetric.year == YEAR, PersonMetric.value.is_(None)
            )
        )
        .tuples()
        .all()
    )
    assert kept == dict(held)  # value cleared, the home commune's counted kept
    add_records(home, [member], rng(5))
    assert state(home).partial
    assert runs.evaluate_locked(home.id, YEAR, force=False).evaluated
    rows, counts = snapshot(home), share_counts(home)
    repairs: list[dict[str, Any]] = []
    engine.evaluate_commune(home.id, YEAR, repairs=repairs)
    assert repairs == []
    assert snapshot(home) == rows
    assert share_counts(home) == counts


# --- persons who are not only the commune's: a member living elsewhere, a resident member elsewhere ---------------


def metric_rows(people: list[int]) -> dict[tuple[int, str], tuple[Decimal | None, Decimal | None]]:
    """The stored ``(value, counted)`` of each metric of ``people``."""
    rows = db.session.execute(
        select(PersonMetric.person_id, PersonMetric.metric, PersonMetric.value, PersonMetric.counted).where(
            PersonMetric.year == YEAR, PersonMetric.person_id.in_(people)
        )
    ).tuples()
    return {(p, m): (None if v is None else Decimal(v), None if c is None else Decimal(c)) for p, m, v, c in rows}


def test_members_across_communes_keep_their_home_counts_and_incremental_equals_full(loaded: None) -> None:
    """The full evaluation decides once, as it groups the records, who each person is to the commune (a resident;
    one no other commune's evaluation writes). ``visitor`` lives in the other commune and belongs to this one's
    organisation; ``commuter`` lives here and belongs to the other commune's organisation. On this commune's first
    evaluation of the year (the plain INSERT of the residents written only here), the visitor's value is stored but
    not their ``counted`` (their home commune's counts hold it); the commuter's ``counted`` is this commune's. After
    changes to both, the incremental evaluations of both communes leave what full evaluations compute."""
    here, there = unit_by_code("23293"), unit_by_code("23302")
    mine, theirs = build(here, 12, seed=21), build(there, 12, seed=22)
    commuter, visitor = mine["person"][1], theirs["person"][1]  # odd: no records yet, in no organisation yet
    db.session.execute(
        insert(OrganisationMember),
        [
            {"organisation_id": theirs["organisation"][0], "person_id": commuter},
            {"organisation_id": mine["organisation"][0], "person_id": visitor},
        ],
    )
    rnd = rng(23)
    add_records(here, [commuter], rnd)
    add_records(there, [visitor], rnd)
    # The year's first evaluation: nothing stored yet (as before the writers kept the metrics).
    db.session.execute(delete(PersonMetric).where(PersonMetric.year == YEAR))
    runs.evaluate_locked(here.id, YEAR, force=True)
    stored = metric_rows([commuter, visitor])
    visitors = {metric: pair for (p, metric), pair in stored.items() if p == visitor}
    commuters = {metric: pair for (p, metric), pair in stored.items() if p == commuter}
    assert visitors, "the member living elsewhere is grouped with the commune's persons"
    assert all(value is not None and counted is None for value, counted in visitors.values()), visitors
    assert commuters, "the resident member of another commune's organisation is grouped"
    assert all(value == counted for value, counted in commuters.values()), commuters
    runs.evaluate_locked(there.id, YEAR, force=True)
    after = metric_rows([commuter, visitor])
    assert {k: v for k, v in after.items() if k[0] == commuter} == {(commuter, m): v for m, v in commuters.items()}
    assert all(value == counted for (p, _), (value, counted) in after.items() if p == visitor)

    for batch in range(2):
        add_records(here, [commuter, visitor], rnd)
        add_records(there, [visitor, commuter], rnd)
        if batch:
            remove_records(here, [visitor])
        for commune in (here, there):
            assert runs.evaluate_locked(commune.id, YEAR, force=False).evaluated
        incremental = {c.id: (snapshot(c), share_counts(c)) for c in (here, there)}
        metrics = metric_rows([*mine["person"], *theirs["person"]])
        for commune in (here, there):
            repairs: list[dict[str, Any]] = []
            full = engine.evaluate_commune(commune.id, YEAR, repairs=repairs)
            assert repairs == []
            assert {title: counts["changed"] for title, counts in full.items()} == dict.fromkeys(full, 0)
        assert {c.id: (snapshot(c), share_counts(c)) for c in (here, there)} == incremental
        assert metric_rows([*mine["person"], *theirs["person"]]) == metrics
