"""A losing mark sent again (a phone retrying under a new idempotency key) is the same disagreement: it is audited
once, whichever of the two devices' marks reached the server first (found by the device conflict drill)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from courses import services
from courses.services import ATTENDANCE_CONFLICT, ATTENDANCE_OVERWRITE, Mark
from lms.core.models import AuditEvent
from lms.extensions import db
from tests.courses.test_attendance import T0, _rows, session_with_learners  # noqa: F401 - the fixture

LATER = T0 + timedelta(minutes=4)


@pytest.mark.parametrize("older_first", [True, False])
def test_a_losing_mark_retried_is_audited_once(session_with_learners, older_first):  # noqa: F811
    session, learners = session_with_learners
    learner = learners[0]
    older = Mark(learner.id, "present", T0, "a-1", "phone-A")
    newer = Mark(learner.id, "absent", LATER, "b-1", "phone-B")
    for mark in (older, newer) if older_first else (newer, older):
        services.record_attendance(session, [mark], user_id=None)
    for _ in range(2):  # both phones retry, the older mark under a new key each time
        services.record_attendance(session, [older], user_id=None)
        services.record_attendance(session, [newer], user_id=None)
    assert _rows(session)[learner.id] == "absent"
    events = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.in_([ATTENDANCE_CONFLICT, ATTENDANCE_OVERWRITE]))
    ).all()
    assert events == [ATTENDANCE_OVERWRITE if older_first else ATTENDANCE_CONFLICT]

    # Another losing value from the same phone is a new disagreement.
    services.record_attendance(session, [Mark(learner.id, "late", T0, "a-2", "phone-A")], user_id=None)
    conflicts = db.session.scalar(select(func.count()).where(AuditEvent.action == ATTENDANCE_CONFLICT))
    assert conflicts == (1 if older_first else 2)
