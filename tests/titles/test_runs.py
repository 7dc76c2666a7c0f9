"""Evaluation runs (eager Celery: the chord runs in-process): progress counted once per commune, failures counted
and named, the roll-up, re-runs, reconciliation; and the pages, the API and the CLI that start and follow them."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from lms.auth.models import Role
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit
from lms.titles import engine, runs, tasks
from lms.titles.models import EvaluationRun, EvaluationRunCommune, EvaluationState, RunStatus
from tests.conftest import csrf_token, login, make_user, unit_by_code

YEAR = 2026


def _province() -> AdminUnit:
    commune = unit_by_code("23293")
    assert commune.parent is not None
    return commune.parent


def _commune_count(unit: AdminUnit) -> int:
    return len(db.session.scalars(runs.communes_under(unit)).all())


def _reload(run_id: int) -> EvaluationRun:
    db.session.expire_all()
    run = db.session.get(EvaluationRun, run_id)
    assert run is not None
    return run


@pytest.fixture
def fake_summaries(monkeypatch) -> dict[int, Any]:
    """The engine's answer per commune (the real engine is tested on its own): a summary, or an exception."""
    answers: dict[int, Any] = {}
    real = engine.evaluate_commune

    def evaluate(commune_id: int, year: int, **options: Any) -> dict[str, Any]:
        answer = answers.get(commune_id)
        if isinstance(answer, Exception):
            raise answer
        return answer if answer is not None else real(commune_id, year, **options)

    monkeypatch.setattr(engine, "evaluate_commune", evaluate)
    return answers


def test_a_province_run_evaluates_every_commune_once_and_rolls_up(app_ctx, fake_summaries):
    province, a, b = _province(), unit_by_code("23293"), unit_by_code("23302")
    fake_summaries[a.id] = {"citizen": {"subjects": 10, "eligible": 4, "changed": 4}}
    fake_summaries[b.id] = {
        "citizen": {"subjects": 5, "eligible": 5, "changed": 1},
        "family": {"subjects": 2, "eligible": 1, "changed": 1},
    }
    run = runs.start_run(province, YEAR)
    assert run.status == RunStatus.QUEUED
    db.session.commit()  # the launch is sent after the commit; eager: the whole chord runs now
    run = _reload(run.id)
    total = _commune_count(province)
    assert total > 40
    assert (run.status, run.total, run.done, run.failed) == (RunStatus.DONE, total, total, 0)
    assert run.started_at is not None
    assert run.finished_at is not None
    assert run.summary["titles"] == {
        "citizen": {"subjects": 15, "eligible": 9, "changed": 5},
        "family": {"subjects": 2, "eligible": 1, "changed": 1},
    }
    assert run.summary["changed"] == 6
    assert (
        db.session.scalar(
            select(func.count()).select_from(EvaluationRunCommune).where(EvaluationRunCommune.run_id == run.id)
        )
        == total
    )
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(EvaluationState)
            .where(EvaluationState.year == YEAR, EvaluationState.evaluated_at.is_not(None))
        )
        >= total
    )


def test_a_failing_commune_is_counted_named_and_fails_the_run(app_ctx, fake_summaries):
    a = unit_by_code("23293")
    fake_summaries[a.id] = RuntimeError("criteria set qd-324 has no active version")
    run = runs.start_run(_province(), YEAR)
    db.session.commit()
    run = _reload(run.id)
    assert run.status == RunStatus.FAILED
    assert run.failed == 1
    assert run.done == run.total - 1
    # Written by the worker in the language of who started the run: Vietnamese unless they chose English.
    assert run.message == f"1 trên {run.total} xã, phường xét không thành công; xem danh sách lỗi"
    (failure,) = runs.failures(run)
    assert failure.commune_id == a.id
    assert "no active version" in failure.message


def test_the_runs_message_is_in_the_language_of_who_started_it(app_ctx, fake_summaries):
    a = unit_by_code("23293")
    fake_summaries[a.id] = RuntimeError("criteria set qd-324 has no active version")
    someone = make_user(Role.PROVINCE_LEADER, _province(), "runs-en@example.vn")
    someone.locale = "en"
    run = runs.start_run(_province(), YEAR, user=someone)
    db.session.commit()
    run = _reload(run.id)
    assert run.message == f"1 of {run.total} communes failed; see the list of failures"


def test_a_commune_is_counted_once_however_often_its_task_is_delivered(app_ctx):
    commune = unit_by_code("23293")
    run = runs.start_run(commune, YEAR)
    db.session.info.pop("lms_pending_tasks", None)  # keep it queued: deliver the tasks by hand below
    db.session.commit()
    launched = runs.launch(run.id)
    assert launched is not None
    assert launched[1] == [commune.id]
    db.session.commit()
    assert runs.launch(run.id) is None  # a second delivery of the launch sends nothing
    for _ in range(3):  # acks_late: delivered again after a worker died before acknowledging
        tasks.evaluate_commune_in_run.apply(kwargs={"run_id": run.id, "commune_id": commune.id})
    run = _reload(run.id)
    assert (run.status, run.total, run.done, run.failed) == (RunStatus.DONE, 1, 1, 0)
    tasks.finish_run.apply(kwargs={"run_id": run.id})  # the chord's roll-up after the last task closed it
    assert _reload(run.id).finished_at == run.finished_at


def test_a_rerun_changes_nothing(app_ctx):
    """Idempotency: the same inputs evaluated again give the same states and no changed row."""
    commune = unit_by_code("23293")
    first = runs.start_run(commune, YEAR)
    db.session.commit()
    before = db.session.execute(
        select(EvaluationState.summary).where(EvaluationState.commune_id == commune.id, EvaluationState.year == YEAR)
    ).scalar_one()
    second = runs.start_run(commune, YEAR)
    db.session.commit()
    first, second = _reload(first.id), _reload(second.id)
    assert first.status == second.status == RunStatus.DONE
    assert second.summary["changed"] == 0
    assert second.summary["drift"] == 0
    after = db.session.execute(
        select(EvaluationState.summary).where(EvaluationState.commune_id == commune.id, EvaluationState.year == YEAR)
    ).scalar_one()
    assert {t: {**c, "changed": 0} for t, c in before.items()} == after


def test_reconciliation_covers_evaluated_communes_and_reports_drift(app_ctx, fake_summaries, caplog, monkeypatch):
    year = 2016  # a year no other test marks (integration tests commit their marks for real)
    a, b = unit_by_code("23293"), unit_by_code("23302")
    for commune in (a, b):
        db.session.add(EvaluationState(commune_id=commune.id, year=year, summary={}, evaluated_at=utcnow()))
    db.session.add(EvaluationState(commune_id=unit_by_code("23317").id, year=year - 3, summary={}))
    db.session.flush()
    fake_summaries[a.id] = {"citizen": {"subjects": 3, "eligible": 2, "changed": 2}}  # changed behind our back
    fake_summaries[b.id] = {"citizen": {"subjects": 3, "eligible": 2, "changed": 0}}
    # Alembic's fileConfig (the session's migrations) disabled the loggers that existed then.
    monkeypatch.setattr(logging.getLogger("lms.titles.runs"), "disabled", False)
    caplog.set_level(logging.INFO, logger="lms.titles.runs")
    (run,) = runs.start_reconciliation(year)
    db.session.commit()
    run = _reload(run.id)
    assert run.kind == runs.RECONCILE
    assert (run.status, run.total, run.done) == (RunStatus.DONE, 2, 2)
    assert run.summary["drift"] == 2
    assert run.message == "sai lệch: 2 kết quả xét đã thay đổi mà không có thay đổi nào đang chờ xử lý"
    assert "drift in commune" in caplog.text

    # The same changes in a full run are not drift: nobody said nothing changed. (A run evaluates a commune whose
    # inputs changed since its last evaluation — here as if a new criteria version had been loaded — ADR 41.)
    db.session.execute(update(EvaluationState).where(EvaluationState.year == year).values(inputs_key=None))
    full = runs.start_run(a, year)
    db.session.commit()
    full = _reload(full.id)
    assert full.summary["changed"] == 2
    assert full.summary["drift"] == 0


def test_reconciliation_years(app_ctx):
    assert [r.year for r in runs.start_reconciliation(today=date(2026, 2, 10))] == [2026, 2025]
    assert [r.year for r in runs.start_reconciliation(today=date(2026, 4, 1))] == [2026]
    db.session.rollback()


def test_villages_and_ended_units_are_refused(app_ctx):
    old = db.session.scalar(select(AdminUnit).where(AdminUnit.valid_to.is_not(None), AdminUnit.level == "commune"))
    with pytest.raises(runs.RunRefused, match="current commune"):
        runs.start_run(old, YEAR)


def test_the_sweep_closes_a_run_whose_roll_up_was_lost_and_resends_a_stalled_one(app_ctx):
    commune = unit_by_code("23293")
    closed_late = EvaluationRun(
        unit_id=commune.id, year=YEAR, status=RunStatus.RUNNING.value, total=1, done=1, started_at=utcnow(), summary={}
    )
    stalled = EvaluationRun(
        unit_id=commune.id,
        year=YEAR,
        status=RunStatus.RUNNING.value,
        total=1,
        started_at=utcnow() - timedelta(hours=1),
        summary={},
    )
    db.session.add_all([closed_late, stalled])
    db.session.commit()
    tasks.sweep.apply()
    assert _reload(closed_late.id).status == RunStatus.DONE
    stalled = _reload(stalled.id)
    assert (stalled.status, stalled.done) == (RunStatus.DONE, 1)  # its lost commune was sent again


# --- pages, API, CLI ---------------------------------------------------------------------------------------------


def test_a_province_leader_starts_a_run_on_the_page_and_follows_it(client, app_ctx):
    province = _province()
    user = make_user(Role.PROVINCE_LEADER, province, "leader@example.vn")
    db.session.commit()
    login(client, user)
    token = csrf_token(client, "/titles/runs")
    response = client.post("/titles/runs", data={"unit": province.id, "year": YEAR, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    run = db.session.scalars(select(EvaluationRun).order_by(EvaluationRun.id.desc())).first()
    assert run is not None
    assert f"{run.total} / {run.total}" in html
    assert 'http-equiv="refresh"' not in html  # closed: nothing left to follow
    runs = client.get("/titles/runs").get_data(as_text=True)
    assert f'href="/titles/runs/{run.id}"' in runs  # listed, by its unit (never "#12", a number nobody uses)
    assert f"#{run.id}<" not in runs


def test_an_open_run_page_refreshes_without_javascript(client, app_ctx):
    province = _province()
    user = make_user(Role.PROVINCE_LEADER, province, "leader@example.vn")
    run = EvaluationRun(unit_id=province.id, year=YEAR, status=RunStatus.RUNNING.value, total=10, done=3, summary={})
    db.session.add(run)
    db.session.commit()
    login(client, user)
    html = client.get(f"/titles/runs/{run.id}").get_data(as_text=True)
    assert '<noscript><meta http-equiv="refresh"' in html
    assert "width: 30%" in html
    assert "3 / 10" in html


def test_a_centre_manager_sees_runs_but_cannot_start_one(client, app_ctx):
    commune = unit_by_code("23293")
    user = make_user(Role.CENTRE_MANAGER, commune, "manager@example.vn")
    db.session.commit()
    login(client, user)
    html = client.get("/titles/runs").get_data(as_text=True)
    assert 'name="unit"' not in html  # no form to start a run
    token = csrf_token(client, "/registry/search")
    assert client.post("/titles/runs", data={"unit": commune.id, "year": YEAR, "csrf_token": token}).status_code == 403
    assert (
        client.post(
            "/api/v1/titles/runs", json={"unit_id": commune.id, "year": YEAR}, headers={"X-CSRFToken": token}
        ).status_code
        == 403
    )


def test_the_api_starts_a_run_and_reports_its_progress(client, app_ctx):
    province = _province()
    user = make_user(Role.PROVINCE_LEADER, province, "leader@example.vn")
    db.session.commit()
    login(client, user)
    token = csrf_token(client, "/registry/search")
    response = client.post(
        "/api/v1/titles/runs", json={"unit_id": province.id, "year": YEAR}, headers={"X-CSRFToken": token}
    )
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert body["status"] == "queued"
    run = client.get(response.headers["Location"]).get_json()
    assert (run["status"], run["progress"], run["failed"]) == ("done", 100, 0)
    assert run["done"] == run["total"] == _commune_count(province)
    listed = client.get(f"/api/v1/titles/runs?year={YEAR}&status=done").get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    bad = client.post("/api/v1/titles/runs", json={"unit_id": "x", "year": 1900}, headers={"X-CSRFToken": token})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.get_json()["errors"]} == {"unit_id", "year"}
    other_province = db.session.scalar(
        select(AdminUnit).where(
            AdminUnit.level == "province", AdminUnit.valid_to.is_(None), AdminUnit.id != province.id
        )
    )
    outside = client.post(
        "/api/v1/titles/runs", json={"unit_id": other_province.id, "year": YEAR}, headers={"X-CSRFToken": token}
    )
    assert outside.status_code == 422
    assert [e["field"] for e in outside.get_json()["errors"]] == ["unit_id"]


def test_the_cli_evaluates_with_progress_and_fails_on_a_failed_commune(app, app_ctx, fake_summaries):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["titles", "evaluate", "--unit", "23293", "--year", str(YEAR)])
    assert result.exit_code == 0, result.output
    assert "1 of 1 communes done, 0 failed: 1 evaluated, 0 left as they were" in result.output
    fake_summaries[unit_by_code("23302").id] = RuntimeError("boom")
    result = runner.invoke(args=["titles", "evaluate", "--unit", "23302", "--year", str(YEAR), "--inline"])
    assert result.exit_code == 1
    assert "RuntimeError: boom" in result.output
    result = runner.invoke(args=["titles", "evaluate", "--unit", "nowhere", "--year", str(YEAR)])
    assert result.exit_code != 0
    assert "no current unit" in result.output


def test_the_cli_loads_the_shipped_criteria_and_refuses_a_bad_file(app, app_ctx, tmp_path):
    from lms.titles.models import CriteriaSet

    runner = app.test_cli_runner()
    result = runner.invoke(args=["titles", "load-criteria"])
    assert result.exit_code == 0, result.output
    assert "qd-324-2023-citizen v1" in result.output
    loaded = db.session.scalar(select(func.count()).select_from(CriteriaSet))
    assert loaded >= 7
    bad = tmp_path / "bad.toml"
    bad.write_text('code = "x"\n', encoding="utf-8")
    result = runner.invoke(args=["titles", "load-criteria", str(bad)])
    assert result.exit_code == 1
    assert "no criteria set was loaded" in result.output
    assert db.session.scalar(select(func.count()).select_from(CriteriaSet)) == loaded


def test_a_resumed_run_keeps_its_resumed_note_when_it_closes(app_ctx):
    commune = unit_by_code("23293")
    resumed_at = (utcnow() - timedelta(minutes=3)).isoformat()
    run = EvaluationRun(
        unit_id=commune.id,
        year=YEAR,
        status=RunStatus.RUNNING.value,
        total=1,
        done=1,
        started_at=utcnow() - timedelta(minutes=20),
        summary={"resumed_at": resumed_at},
    )
    db.session.add(run)
    db.session.flush()
    assert runs.close_if_complete(run.id)
    db.session.commit()
    run = _reload(run.id)
    assert run.status == RunStatus.DONE
    assert run.summary["resumed_at"] == resumed_at
    assert run.summary["communes"] == 1  # and the roll-up is there


def test_the_sweep_launches_a_run_whose_launch_message_was_lost(app_ctx, fake_summaries):
    commune = unit_by_code("23293")
    lost = EvaluationRun(
        unit_id=commune.id,
        year=YEAR,
        status=RunStatus.QUEUED.value,
        created_at=utcnow() - timedelta(minutes=5),
        summary={},
        message="",
    )
    db.session.add(lost)
    db.session.commit()
    tasks.sweep()
    assert _reload(lost.id).status == RunStatus.DONE
