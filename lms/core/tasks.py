from __future__ import annotations

import socket

from celery import shared_task

from lms.core.services import record_heartbeat
from lms.extensions import db


@shared_task(name="lms.core.heartbeat", ignore_result=True, acks_late=False)
def heartbeat() -> None:
    """Scheduled by beat and run by a worker: a recent row proves both are alive (``/healthz`` reads it).

    This works on every broker, including the embedded SQLite transport, which cannot answer a broadcast ping.
    """
    record_heartbeat("worker", detail=socket.gethostname())
    db.session.commit()
