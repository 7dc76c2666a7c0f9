"""The worker of the drills that kill workers: ``celery -A tests.integration.drill_worker worker`` is ``lms.worker``
with two hooks, each switched on by an environment variable:

- ``LMS_DRILL_HOLD_FILE``: the first commune of a run that this worker evaluates is evaluated (its rows written in
  the task's open transaction), then the worker writes the commune's id to that file and holds, uncommitted and
  unacknowledged, until the drill kills it. So the kill lands mid-evaluation every time, whatever the machine's
  speed, and only the stall rule or the broker's redelivery can bring the commune back.
- ``LMS_DRILL_DIE_ON``: a task of that name kills its worker (SIGKILL) as it starts, every time — a message that
  takes down whoever takes it (a task that runs out of memory), for RabbitMQ's delivery limit.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from celery.signals import task_prerun

from lms.titles import runs
from lms.worker import celery, flask_app

__all__ = ["celery", "flask_app"]

HOLD_FILE = os.environ.get("LMS_DRILL_HOLD_FILE")

if HOLD_FILE:
    _evaluate_locked = runs.evaluate_locked

    def _evaluate_then_hold(commune_id: int, year: int, **kwargs: Any) -> Any:
        outcome = _evaluate_locked(commune_id, year, **kwargs)
        Path(HOLD_FILE).write_text(str(commune_id))
        time.sleep(3600)  # the drill kills this worker long before
        return outcome

    runs.evaluate_locked = _evaluate_then_hold

DIE_ON = os.environ.get("LMS_DRILL_DIE_ON")


@task_prerun.connect
def _die(sender: Any = None, **_: Any) -> None:
    if DIE_ON and sender is not None and sender.name == DIE_ON:
        os.kill(os.getpid(), signal.SIGKILL)
