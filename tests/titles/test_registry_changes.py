"""A run evaluates again only the communes whose inputs changed since their last full evaluation, and every change
to a commune's registry says so (ADR 41): the edit pages, moves, imports, bulk statements nobody announced. The
results after a skipped commune are checked against what a full evaluation gives, never against a copy of the code."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select, update

from lms.auth.models import Role
from lms.extensions import db
from lms.registry import changes
from lms.registry.models import AdminUnit, Household, Person, RegistryVersion
from lms.titles import engine, runs
from lms.titles.criteria import SHIPPED_DIR, load_criteria, load_shipped_criteria
from lms.titles.models import Eligibility, EvaluationRun, EvaluationState, RunStatus
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code

YEAR = 2026  # today's year in these tests' world is the machine's; the runs name their year
COMMUNE, OTHER = "23293", "23302"


@pytest.fixture
def shipped(app_ctx: Any) -> None:
    load_shipped_criteria()
    db.session.commit()


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The communes the engine was asked to evaluate, in order (the real engine answers)."""
    seen: list[int] = []
    real = engine.evaluate_commune

    def spy(commune_id: int, year: int, **options: Any) -> dict[str, Any]:
        seen.append(commune_id)
        return real(commune_id, year, **options)

    monkeypatch.setattr(engine, "evaluate_commune", spy)
    return seen


def version(commune: AdminUnit) -> int:
    return changes.version(commune.id)


def run(unit: AdminUnit, year: int = YEAR, kind: str = runs.FULL) -> EvaluationRun:
    started = runs.start_run(unit, year, kind=kind)
    db.session.commit()  # eager Celery: the whole run happens here
    db.session.expire_all()
    found = db.session.get(EvaluationRun, started.id)
    assert found is not None
    assert found.status == RunStatus.DONE, found.message
    return found


def citizen(person_id: int, year: int = YEAR) -> Eligibility:
    return db.session.scalars(
        select(Eligibility).where(
            Eligibility.subject_type == "person",
            Eligibility.subject_id == person_id,
            Eligibility.title == "citizen",
            Eligibility.year == year,
        )
    ).one()


def full_results(commune: AdminUnit, year: int) -> dict[tuple[str, int, str], tuple[Any, ...]]:
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
        ).where(Eligibility.commune_id == commune.id, Eligibility.year == year)
    )
    return {(r[0], r[1], r[2]): tuple(r[3:]) for r in rows}


def child_household(commune: AdminUnit, code: str) -> tuple[AdminUnit, Household, Person]:
    """A household whose youngest is 14 at the end of the year: outside the Learning Citizen title (from 15)."""
    village = make_village(commune, f"V-{code}", f"Thôn {code}")
    household = make_household(village, code, "Nguyễn Văn Cha", "Nguyễn Văn Con")
    child = next(p for p in household.members if p.full_name.endswith("Con"))
    child.birth_date = date(YEAR - 14, 6, 1)
    db.session.commit()
    return village, household, child


# --- runs: nothing changed, nothing evaluated ----------------------------------------------------------------------


def test_a_rerun_with_nothing_changed_evaluates_no_commune_and_keeps_the_results(shipped, evaluations):
    province = unit_by_code(COMMUNE).parent
    assert province is not None
    commune = unit_by_code(COMMUNE)
    child_household(commune, "RERUN")
    first = run(province)
    communes = first.total
    assert communes > 40
    assert len(evaluations) == communes
    assert first.summary["unchanged"] == 0
    assert first.summary["evaluated"] == communes
    before = full_results(commune, YEAR)
    assert before, "the commune has results"
    evaluations.clear()

    second = run(province)
    assert evaluations == []  # the engine was not called for any commune
    assert (second.done, second.failed, second.summary["unchanged"], second.summary["evaluated"]) == (
        communes,
        0,
        communes,
        0,
    )
    assert second.summary["changed"] == 0
    assert second.summary["titles"] == {  # the communes' results, as the first run left them; nothing changed now
        title: {**counts, "changed": 0} for title, counts in first.summary["titles"].items()
    }
    assert full_results(commune, YEAR) == before


def test_a_reconciliation_evaluates_every_commune_and_repairs_what_changed_behind_the_apps_back(shipped, evaluations):
    commune = unit_by_code(COMMUNE)
    _, _, child = child_household(commune, "RECON")
    run(commune)
    row = citizen(child.id)
    assert row.applicable is False
    db.session.execute(update(Eligibility).where(Eligibility.id == row.id).values(applicable=True))  # tampered
    db.session.commit()
    evaluations.clear()
    assert run(commune).summary["unchanged"] == 1  # a run trusts what was announced: nothing was
    assert evaluations == []
    reconciled = run(commune, kind=runs.RECONCILE)
    assert evaluations == [commune.id]
    assert reconciled.summary["unchanged"] == 0
    assert reconciled.summary["drift"] == 1
    db.session.expire_all()
    assert citizen(child.id).applicable is False


def test_a_mark_or_an_incremental_evaluation_or_another_engine_makes_the_next_run_evaluate(shipped, evaluations):
    commune = unit_by_code(COMMUNE)
    child_household(commune, "KEY")
    run(commune)
    evaluations.clear()

    state = db.session.get(EvaluationState, (commune.id, YEAR))
    assert state is not None
    assert state.inputs_key
    state.marked_at = db.func.now()  # something marked the commune-year: its task has not run yet
    db.session.commit()
    assert run(commune).summary["unchanged"] == 0
    assert evaluations == [commune.id]

    # An incremental evaluation (a new record of one person) keeps the summary of the last full one: the next run
    # evaluates in full again, so that the run's totals are the commune's.
    db.session.execute(update(EvaluationState).where(EvaluationState.commune_id == commune.id).values(inputs_key=None))
    db.session.commit()
    evaluations.clear()
    assert run(commune).summary["unchanged"] == 0
    assert evaluations == [commune.id]

    evaluations.clear()
    saved = engine.ENGINE_VERSION
    try:
        engine.ENGINE_VERSION = saved + "-next"
        assert run(commune).summary["unchanged"] == 0  # another engine: every commune again
    finally:
        engine.ENGINE_VERSION = saved
    assert evaluations == [commune.id]


def test_a_new_criteria_version_makes_the_next_run_evaluate_every_commune(shipped, evaluations, tmp_path):
    commune = unit_by_code(COMMUNE)
    child_household(commune, "CRITERIA")
    run(commune)
    evaluations.clear()
    assert run(commune).summary["unchanged"] == 1

    shipped_file = next(SHIPPED_DIR.glob("*citizen*.toml"))
    changed = shipped_file.read_text(encoding="utf-8").replace('name_en = "', 'name_en = "(v2) ', 1)
    load_criteria(changed.encode(), filename=shipped_file.name)  # new content: a new active version
    db.session.commit()
    evaluations.clear()
    assert run(commune).summary["unchanged"] == 0
    assert evaluations == [commune.id]


def test_a_commune_whose_last_evaluation_could_not_score_some_subjects_is_evaluated_again(shipped, evaluations):
    commune = unit_by_code(COMMUNE)
    child_household(commune, "FAILED")
    run(commune)
    state = db.session.get(EvaluationState, (commune.id, YEAR))
    assert state is not None
    state.summary = {**state.summary, "citizen": {**state.summary["citizen"], "failed": 1}}
    db.session.commit()
    evaluations.clear()
    assert run(commune).summary["unchanged"] == 0
    assert evaluations == [commune.id]


def test_an_incremental_evaluation_clears_the_key(shipped):
    commune = unit_by_code(COMMUNE)
    _, _, child = child_household(commune, "INCR")
    run(commune)
    from lms.titles import incremental

    incremental.mark_subjects({(commune.id, YEAR): {("person", child.id)}})
    db.session.commit()  # eager: the mark's task evaluates incrementally
    db.session.expire_all()
    state = db.session.get(EvaluationState, (commune.id, YEAR))
    assert state is not None
    assert state.marked_at is None
    assert state.inputs_key is None


# --- the registry announces its changes -----------------------------------------------------------------------------


def test_a_birth_date_corrected_on_the_person_page_is_evaluated_again(shipped, client, evaluations):
    """The commune official corrects a child's birth date: this year's result follows within the request's commit
    (its mark's task), and a run of an earlier year evaluates the commune again because its registry changed."""
    commune = unit_by_code(COMMUNE)
    _, _, child = child_household(commune, "EDIT")
    run(commune, YEAR)
    run(commune, YEAR - 1)
    assert citizen(child.id).applicable is False
    before = version(commune)
    evaluations.clear()

    officer = make_user(Role.CENTRE_MANAGER, commune)
    db.session.commit()
    login(client, officer)
    url = f"/registry/persons/{child.id}/edit"
    form = {
        "csrf_token": csrf_token(client, url),
        "full_name": child.full_name,
        "birth_date": "1990-05-01",
        "sex": "M",
        "occupation_group": "other",
        "relation_to_head": "",
        "phone": "",
        "ethnicity": "",
        "id_number": "",
    }
    assert client.post(url, data=form).status_code == 302
    db.session.expire_all()
    assert version(commune) == before + 1
    assert evaluations == [commune.id]  # this year's mark, evaluated in full at once (eager worker)
    assert citizen(child.id).applicable is True
    state = db.session.get(EvaluationState, (commune.id, YEAR))
    assert state is not None
    assert state.marked_at is None

    evaluations.clear()
    assert run(commune, YEAR).summary["unchanged"] == 1  # the mark's evaluation saw the new version
    last_year = run(commune, YEAR - 1)
    assert last_year.summary["unchanged"] == 0
    assert evaluations == [commune.id]
    assert citizen(child.id, YEAR - 1).applicable is True


def test_a_phone_number_is_no_change_but_a_move_changes_both_communes(shipped):
    commune, other = unit_by_code(COMMUNE), unit_by_code(OTHER)
    _, household, child = child_household(commune, "MOVE")
    elsewhere = make_village(other, "V-MOVE-2", "Thôn Mới")
    db.session.commit()
    here, there = version(commune), version(other)

    child.phone = "0905123456"
    db.session.commit()
    assert (version(commune), version(other)) == (here, there)

    elsewhere_id = elsewhere.id
    db.session.commit()  # every attribute expires: the move below sets plain ids on an object loaded afresh
    child.household_id = None
    child.unit_id = elsewhere_id
    db.session.commit()
    assert (version(commune), version(other)) == (here + 1, there + 1)  # where the child was, and where it is

    db.session.delete(household)
    db.session.commit()
    assert version(commune) == here + 2


def test_a_rolled_back_change_announces_nothing(shipped):
    commune = unit_by_code(COMMUNE)
    _, _, child = child_household(commune, "ROLLBACK")
    before = version(commune)
    child.birth_date = date(1970, 1, 1)
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert version(commune) == before


def test_a_bulk_statement_nobody_announced_changes_every_commune(shipped):
    commune, other = unit_by_code(COMMUNE), unit_by_code(OTHER)
    _, _, child = child_household(commune, "BULK")
    here, there = version(commune), version(other)
    db.session.execute(update(Person).where(Person.id == child.id).values(birth_date=date(1970, 1, 1)))
    db.session.commit()
    assert (version(commune), version(other)) == (here + 1, there + 1)
    communes = db.session.scalar(select(func.count()).select_from(AdminUnit).where(AdminUnit.level == "commune"))
    assert db.session.scalar(select(func.count()).select_from(RegistryVersion)) == communes


def test_an_announced_bulk_statement_changes_only_the_communes_it_names(shipped):
    commune, other = unit_by_code(COMMUNE), unit_by_code(OTHER)
    village, _, child = child_household(commune, "NAMED")
    here, there = version(commune), version(other)
    db.session.execute(update(Person).where(Person.id == child.id).values(birth_date=date(1970, 1, 1)))
    changes.announce(units=[village.id], bulk=True)
    db.session.commit()
    assert (version(commune), version(other)) == (here + 1, there)


def test_a_households_import_changes_the_communes_of_the_rows_it_writes_and_a_same_file_nothing(shipped):
    from lms.registry.importer import create_job

    commune, other = unit_by_code(COMMUNE), unit_by_code(OTHER)
    make_village(commune, "IMPV-1", "Thôn Nhập")
    db.session.commit()
    header = ["village_code", "household_code", "full_name", "birth_date", "sex"]
    rows = [["IMPV-1", "H1", "Nguyễn Văn Đức", "01/02/1980", "Nam"], ["IMPV-1", "H1", "Trần Thị Ánh", "", "Nữ"]]

    def imported(content: list[list[str]]) -> None:
        body = "\n".join(",".join(row) for row in [header, *content]).encode()
        job = create_job(kind="households", filename="h.csv", content=body, unit=commune, user=None)
        db.session.commit()  # eager: the import runs here
        db.session.expire_all()
        assert job.status == "succeeded", job.errors

    here, there = version(commune), version(other)
    imported(rows)
    assert (version(commune), version(other)) == (here + 1, there)
    imported(rows)  # nothing new, nothing changed
    assert version(commune) == here + 1
    imported([rows[0], ["IMPV-1", "H1", "Trần Thị Ánh", "05/06/1985", "Nữ"]])
    assert version(commune) == here + 2


def test_the_run_page_says_how_many_communes_were_left_unchanged(shipped, client):
    commune = unit_by_code(COMMUNE)
    child_household(commune, "PAGE")
    run(commune)
    second = run(commune)
    leader = make_user(Role.PROVINCE_LEADER, commune, "leader.page@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/titles/runs/{second.id}").get_data(as_text=True)  # Vietnamese by default
    assert "Số xã được đánh giá: 0 · Số xã không thay đổi từ lần đánh giá trước: 1" in html
    assert "kết quả của các xã này được giữ nguyên" in html


def test_a_learning_record_added_on_the_session_without_its_service_is_evaluated_by_the_next_run(shipped, evaluations):
    """A fixture, a script or a shell that adds a record directly announces nothing (no mark): the next run still
    evaluates its commune, because the commune-year lost its key in that commit."""
    from decimal import Decimal

    from courses.models import LearningRecord

    commune = unit_by_code(COMMUNE)
    _, household, _ = child_household(commune, "SEEDED")
    run(commune)
    state = db.session.get(EvaluationState, (commune.id, YEAR))
    assert state is not None
    assert state.inputs_key
    father = next(p for p in household.members if p.full_name.endswith("Cha"))
    db.session.add(
        LearningRecord(
            person_id=father.id,
            year=YEAR,
            kind="class_completion",
            category="literacy",
            hours=Decimal(40),
            completed_on=date(YEAR, 3, 1),
            commune_id=commune.id,
            source_key="seeded-by-hand",
        )
    )
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(EvaluationState, (commune.id, YEAR)).marked_at is None  # nothing marked it
    evaluations.clear()
    assert run(commune).summary["unchanged"] == 0
    assert evaluations == [commune.id]


def test_an_organisation_or_a_clan_elsewhere_hears_of_its_members_changes(shipped):
    """An organisation counts its members wherever they live, a clan its households wherever they are: a change to
    such a member or household changes the registry of their commune too."""
    from lms.registry.models import Clan, Organisation, OrganisationMember

    commune, other = unit_by_code(COMMUNE), unit_by_code(OTHER)
    _, household, child = child_household(commune, "MEMBER")
    school = Organisation(commune_id=other.id, code="SCHOOL-1", name="Trường Tiểu học Một", kind="school")
    clan = Clan(commune_id=other.id, name="Họ Nguyễn Văn")
    clan.households.append(household)
    db.session.add_all([school, clan])
    db.session.flush()
    db.session.add(OrganisationMember(organisation_id=school.id, person_id=child.id))
    db.session.commit()
    here, there = version(commune), version(other)

    child.birth_date = date(1990, 1, 1)  # the member lives in the first commune
    db.session.commit()
    assert (version(commune), version(other)) == (here + 1, there + 1)

    household.address = "12 Trần Phú"  # no change of anything read
    db.session.commit()
    assert (version(commune), version(other)) == (here + 1, there + 1)

    db.session.delete(child)  # a member gone: its organisation and its household's clan count one less
    db.session.commit()
    assert (version(commune), version(other)) == (here + 2, there + 2)
