"""Poison work (ADR 23): a mark whose task keeps failing counts attempts with a growing backoff, is parked after the
limit, shows on the stuck-work page (reached from the menu) and in /healthz, and comes back by a button or the
command. The sweeps leave parked marks and marks in backoff alone; the completion sweep is throttled."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from lms.auth.models import Role
from lms.extensions import db, utcnow
from lms.titles import dirty, tasks
from lms.titles.models import EvaluationState
from tests.conftest import login, make_user, make_village, unit_by_code

YEAR = 2041


def _poison() -> tuple[int, int]:
    """A mark on a village: the engine refuses it ("not a commune") every time, as a mark written by a script
    behind the app's back could."""
    village = make_village(unit_by_code("23293"), "POISON", "Thôn lỗi")
    db.session.add(
        EvaluationState(commune_id=village.id, year=YEAR, marked_at=utcnow() - timedelta(minutes=5), summary={})
    )
    db.session.commit()
    return village.id, YEAR


def _fail(key: tuple[int, int]) -> EvaluationState:
    tasks.evaluate_commune.apply(kwargs={"commune_id": key[0], "year": key[1]}, throw=False)
    db.session.expire_all()
    state = db.session.get(EvaluationState, key)
    assert state is not None
    return state


def test_a_failing_mark_backs_off_then_is_parked_and_the_sweep_leaves_it(app, app_ctx):
    key = _poison()
    good = (unit_by_code("23302").id, YEAR)
    db.session.add(EvaluationState(commune_id=good[0], year=YEAR, marked_at=utcnow() - timedelta(minutes=5)))
    db.session.commit()
    waits = []
    for attempt in range(1, app.config["WORK_MAX_ATTEMPTS"]):
        state = _fail(key)
        assert (state.attempts, state.parked_at) == (attempt, None)
        assert "not a commune" in state.last_error
        waits.append(state.next_try_at - utcnow())
        now = utcnow()
        due = dirty.due_for_resend(now - tasks.SWEEP_AGE, now - tasks.RESEND_AGE)
        assert key not in due  # waiting out its backoff
        assert good in due or attempt > 1  # the other commune's mark is sent all the same
    assert all(later > earlier for earlier, later in itertools.pairwise(waits))  # exponential
    state = _fail(key)
    assert state.attempts == app.config["WORK_MAX_ATTEMPTS"]
    assert state.parked_at is not None
    assert state.next_try_at is None
    db.session.execute(db.update(EvaluationState).where(EvaluationState.year == YEAR).values(sent_at=None))
    later = utcnow() + timedelta(days=2)
    assert key not in dirty.due_for_resend(later - tasks.SWEEP_AGE, later - tasks.RESEND_AGE)


def test_parked_work_is_on_the_stuck_work_page_and_in_healthz_and_a_button_retries_it(app, app_ctx, client):
    key = _poison()
    for _ in range(app.config["WORK_MAX_ATTEMPTS"]):
        _fail(key)
    health = client.get("/healthz").get_json()
    assert health["status"] == "degraded"
    assert health["checks"]["work"] == {"status": "degraded", "parked": 1}

    admin = make_user(Role.ADMINISTRATOR, unit_by_code("23293"))
    db.session.commit()
    login(client, admin)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/stuck-work"' in home  # in the menu
    page = client.get("/stuck-work").get_data(as_text=True)
    assert "Việc bị kẹt" in page
    assert "Thôn lỗi" in page
    # What to do, in Vietnamese (a mark the engine refuses every time: retrying will not help), and the program's
    # own words beside it, for the technical team.
    row = page[page.index("Thôn lỗi") :]
    hint = row[row.index('class="error-hint">') :]
    assert hint.startswith('class="error-hint">Lỗi của chương trình hoặc của dữ liệu nó đọc')
    assert "Chi tiết kỹ thuật" in row
    assert "not a commune" in row[row.index('class="error-text">') :]
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    # Un-parked and sent at once. The tests run tasks eagerly, inside the request: the mark is still poison, so
    # its error surfaces here (a worker would just count the attempt).
    with pytest.raises(ValueError, match="not a commune"):
        client.post("/stuck-work/retry", data={"csrf_token": token, "key": f"titles:{key[0]}:{key[1]}"})
    db.session.expire_all()
    state = db.session.get(EvaluationState, key)
    # The eager task failed again: one attempt counted, in backoff, no longer parked.
    assert (state.attempts, state.parked_at) == (1, None)
    assert state.next_try_at is not None


@pytest.mark.parametrize(
    ("recorded", "says"),
    [
        ("OperationalError: (psycopg2.OperationalError) server closed the connection", "Cơ sở dữ liệu không trả lời"),
        ("SoftTimeLimitExceeded: SoftTimeLimitExceeded()", "Việc chạy quá thời gian cho phép"),
        ("ConnectionRefusedError: [Errno 111] Connection refused", "Một dịch vụ (hàng đợi tin nhắn"),
        ("ValueError: 9 is not a commune", "Lỗi của chương trình"),
    ],
)
def test_the_stuck_work_page_says_what_to_do_about_each_kind_of_error(app_ctx, recorded, says):
    from lms.core.formatting import speaking
    from lms.core.stuck import error_hint

    with speaking("vi"):
        assert str(error_hint(recorded)).startswith(says)


def test_the_work_command_lists_parked_marks_and_retries_them(app, app_ctx):
    key = _poison()
    for _ in range(app.config["WORK_MAX_ATTEMPTS"]):
        _fail(key)
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["work", "list"])
    assert listed.exit_code == 1
    assert f"titles:{key[0]}:{key[1]}" in listed.output
    assert runner.invoke(args=["work", "retry"]).exit_code != 0  # names or --all
    retried = runner.invoke(args=["work", "retry", "--all"])
    assert isinstance(retried.exception, ValueError)  # sent at once, run eagerly here: still poison
    db.session.remove()  # the exception left this session inside its commit
    state = db.session.get(EvaluationState, key)
    assert (state.attempts, state.parked_at) == (1, None)


def test_the_completion_sweep_sends_a_class_once_per_period_and_skips_parked_ones(app, app_ctx):
    from courses import services
    from courses.models import PendingWork

    old = utcnow() - timedelta(minutes=5)
    db.session.add_all(
        [
            PendingWork(kind=services.COMPLETION_WORK, subject_id=990001, marked_at=old, sent_at=old),
            PendingWork(kind=services.COMPLETION_WORK, subject_id=990002, marked_at=old, sent_at=old, parked_at=old),
            PendingWork(kind=services.COMPLETION_WORK, subject_id=990003, marked_at=old, sent_at=utcnow()),
        ]
    )
    db.session.flush()
    assert services.take_pending(services.resend_before(utcnow())) == [990001]  # 990003's task was just sent
    assert services.take_pending(services.resend_before(utcnow())) == []  # sent: not again this period
