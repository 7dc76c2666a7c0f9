"""The targets sweep sends a commune-year at most once a minute, as the titles sweep does: a recomputation that is
merely waiting in a long queue (or whose message was lost) is not sent again at every sweep (every 30 s)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import update

from lms.extensions import db, utcnow
from lms.targets import compute, tasks
from lms.targets.models import TargetState
from lms.titles.models import EvaluationState
from tests.conftest import make_village
from tests.targets.conftest import FAMILY, households, load_text, make_unit, plan_text, recognise, value

YEAR = 2025


def test_the_sweep_resends_a_commune_at_most_once_a_minute(province, monkeypatch):
    commune = make_unit(province, "TC31", "Xã Gửi Lại", "commune")
    (h1, _) = households(make_village(commune, "V-TC31", "Thôn 1"), 2)
    load_text(plan_text("province", "TP99", FAMILY))
    recognise("household", h1.id, "family", YEAR, commune)
    db.session.add(EvaluationState(commune_id=commune.id, year=YEAR, evaluated_at=utcnow(), summary={}))
    db.session.commit()

    sent: list[dict[str, Any]] = []
    queued = tasks.recompute_communes.apply_async

    def waiting_in_the_queue(*, kwargs: dict[str, Any], **_: Any) -> None:
        sent.append(kwargs)  # published; no worker has taken it yet

    def ours() -> list[dict[str, Any]]:
        return [k for k in sent if commune.id in k["commune_ids"]]

    monkeypatch.setattr(tasks.recompute_communes, "apply_async", waiting_in_the_queue)
    tasks.sweep.delay().get()
    assert len(ours()) == 1
    stamped = db.session.get(TargetState, (commune.id, YEAR))
    assert stamped is not None
    assert stamped.computed_at is None
    assert stamped.next_try_at is not None
    assert timedelta(seconds=50) < stamped.next_try_at - utcnow() <= tasks.RESEND_AGE
    assert (commune.id, YEAR) not in compute.stale_pairs()  # held off, though still stale

    tasks.sweep.delay().get()  # the next sweep, 30 s later: the first message is still queued
    assert len(ours()) == 1

    # A minute later the message is presumed lost: sent again, once.
    db.session.execute(
        update(TargetState)
        .where(TargetState.commune_id == commune.id, TargetState.year == YEAR)
        .values(next_try_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    tasks.sweep.delay().get()
    tasks.sweep.delay().get()
    assert len(ours()) == 2

    # The recomputation finally runs: the values are there and the stamp is cleared.
    monkeypatch.setattr(tasks.recompute_communes, "apply_async", queued)
    tasks.recompute_communes.apply(kwargs=ours()[-1]).get()
    db.session.expire_all()
    state = db.session.get(TargetState, (commune.id, YEAR))
    assert state.computed_at is not None
    assert state.next_try_at is None
    assert value(commune, "family", year=YEAR) == (1, 2)
