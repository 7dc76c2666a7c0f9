"""A commune whose indicator recomputation always fails holds back none of the others in its batch, counts its
attempts, and is parked after the limit (ADR 23)."""

from __future__ import annotations

from typing import Any

from lms import work
from lms.extensions import db
from lms.targets import compute, tasks
from lms.targets.models import TargetState
from tests.conftest import unit_by_code

YEAR = 2042


def test_a_failing_commune_is_split_out_of_its_batch_and_parked(app, app_ctx, monkeypatch):
    good, bad = unit_by_code("23293").id, unit_by_code("23302").id
    computed: list[list[int]] = []

    def recompute(commune_ids: Any, year: int, **_: Any) -> None:
        ids = sorted(commune_ids)
        if bad in ids:
            raise ValueError(f"commune {bad}: an indicator cannot be counted")  # the fault injected
        computed.append(ids)

    monkeypatch.setattr(compute, "recompute", recompute)
    tasks.recompute_communes.apply(kwargs={"commune_ids": [good, bad], "year": YEAR}, throw=False)
    assert computed == [[good]]  # the good commune, on its own, once the batch failed
    db.session.expire_all()
    state = db.session.get(TargetState, (bad, YEAR))
    assert state is not None
    assert state.attempts == 1
    assert "cannot be counted" in state.last_error
    assert state.next_try_at is not None

    for _ in range(app.config["WORK_MAX_ATTEMPTS"] - 1):
        tasks.recompute_commune.apply(kwargs={"commune_id": bad, "year": YEAR}, throw=False)
    db.session.expire_all()
    assert db.session.get(TargetState, (bad, YEAR)).parked_at is not None
    assert [item["key"] for item in work.parked()] == [f"targets:{bad}:{YEAR}"]
    assert work.parked_count() == 1
