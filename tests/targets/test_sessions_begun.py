"""Plan 1514's "officers who organise CLC activities" counts an officer only once a session of their class has
begun (ADR 7). No write marks that moment, so the targets sweep looks for the sessions begun since its last pass
(finding F8): the figure follows within a sweep, not at the next month's recomputation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import update

from courses import services as courses
from courses.models import LearningRecord
from lms.core.clock import VN_OFFSET, local_now
from lms.core.models import Heartbeat
from lms.extensions import db
from lms.registry.models import AssociationMembership, Clc
from lms.targets import compute, tasks
from lms.targets.models import Plan, TargetState
from tests.conftest import make_village
from tests.targets.conftest import households, load_text, make_unit, plan_text, value

IT_OFFICERS = """
[[indicators]]
code = "it_trained_officers"
name = "Cán bộ Hội cấp xã tham gia tổ chức hoạt động TTHTCĐ và được bồi dưỡng CNTT"
denominator_text = "commune association officers"
denominator = { subject = "person", it_skills = "officers" }
numerator = { it_skills = "organised_and_trained" }
targets = [{ year = 2025, share = 40 }, { year = 2030, share = 70 }]
"""


def test_the_sweep_recounts_an_officer_once_their_session_has_begun(province, monkeypatch):
    commune = make_unit(province, "TC51", "Xã Buổi Học", "commune")
    (household,) = households(make_village(commune, "V-TC51", "Thôn 1"), 1, members=1)
    (officer,) = household.members
    db.session.add(AssociationMembership(person_id=officer.id, unit_id=commune.id, role="officer"))
    begins = (local_now() - timedelta(hours=1)).replace(microsecond=0)
    year = begins.year
    for n in range(1, 7):  # trained in IT: the six basic modules
        db.session.add(
            LearningRecord(
                person_id=officer.id,
                year=year,
                kind="it_module",
                module_code=f"IU0{n}",
                completed_on=date(year, 1, 1),
                commune_id=commune.id,
                source_key=f"test:{officer.id}:IU0{n}",
            )
        )
    clc = Clc(commune_id=commune.id, name="TTHTCĐ Xã Buổi Học")
    db.session.add(clc)
    db.session.flush()
    course = courses.create_course(
        unit=commune,
        code="TIN-HOC-TC51",
        name="Tin học cơ bản",
        category="digital_skills",
        planned_hours=Decimal(2),
        min_attendance_share=Decimal("0.75"),
    )
    course_class = courses.create_class(
        course=course, clc=clc, name="Lớp tin học", capacity=20, starts_on=begins.date(), ends_on=begins.date()
    )
    courses.set_instructors(course_class, [(officer.id, "instructor")])
    courses.schedule(course_class, [(begins, begins + timedelta(hours=2))])
    plan = load_text(plan_text("province", "TP99", IT_OFFICERS))

    # Computed a minute before the session began: the officer had organised nothing yet.
    before = begins - timedelta(minutes=1)
    monkeypatch.setattr(compute, "local_now", lambda: before)
    compute.recompute([commune.id], year, today=before.date())
    monkeypatch.undo()
    assert value(commune, "it_trained_officers", year=year) == (0, 1)
    computed = before - VN_OFFSET  # UTC, as stamps are
    db.session.execute(update(TargetState).where(TargetState.commune_id == commune.id).values(computed_at=computed))
    db.session.execute(update(Plan).where(Plan.id == plan.id).values(loaded_at=computed - timedelta(minutes=1)))
    db.session.add(Heartbeat(name=tasks.SESSIONS_SEEN, beat_at=computed))
    db.session.commit()

    # The session has begun since: the next sweep recounts the commune-year, and the officer counts.
    tasks.sweep.delay().get()
    db.session.expire_all()
    assert value(commune, "it_trained_officers", year=year) == (1, 1)
    seen = db.session.get(Heartbeat, tasks.SESSIONS_SEEN)
    assert seen is not None
    assert seen.beat_at > computed  # the next sweep looks only at sessions begun after this one
    since = seen.beat_at + VN_OFFSET
    assert (commune.id, year) not in compute.stale_pairs(sessions_begun=(since, local_now()))
