"""Tasks through a real broker and a real worker process."""

from __future__ import annotations

from lms.core.models import Heartbeat
from lms.extensions import db
from tests.integration.conftest import wait_for


def test_heartbeat_runs_on_the_worker_and_healthz_sees_it(live_app, worker):
    from lms.core.tasks import heartbeat

    with live_app.app_context():
        db.session.execute(db.delete(Heartbeat))
        db.session.commit()
        heartbeat.apply_async()
        wait_for(lambda: db.session.get(Heartbeat, "worker") is not None, what="the heartbeat")
    body = live_app.test_client().get("/healthz").get_json()
    assert body["checks"]["worker"]["status"] == "ok", body
    assert body["checks"]["broker"]["status"] == "ok", body
    assert body["status"] == "ok"
