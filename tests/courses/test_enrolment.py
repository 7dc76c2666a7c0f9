from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from courses import services
from courses.models import Enrolment
from lms.extensions import db
from lms.registry.models import AssociationMembership
from tests.courses.conftest import make_class


def _statuses(course_class):
    return dict(
        iter(
            db.session.execute(
                select(Enrolment.person_id, Enrolment.status).where(Enrolment.class_id == course_class.id)
            ).tuples()
        )
    )


def test_capacity_then_waiting_list_then_promotion_on_withdrawal(centre):
    course_class = make_class(centre, capacity=3)
    ids = [p.id for p in centre.learners[:5]]
    result = services.enrol(course_class, ids)
    assert result.enrolled == ids[:3]
    assert result.waitlisted == ids[3:]
    again = services.enrol(course_class, ids[:2])
    assert again.already == ids[:2]
    assert not again.enrolled
    promoted = services.withdraw(course_class, ids[0])
    assert promoted == ids[3]
    statuses = _statuses(course_class)
    assert statuses[ids[0]] == "withdrawn"
    assert statuses[ids[3]] == "enrolled"
    assert statuses[ids[4]] == "waitlisted"
    # Coming back after withdrawing joins the end of the queue: the class is full.
    assert services.enrol(course_class, [ids[0]]).waitlisted == [ids[0]]


def test_bulk_enrolment_by_household_is_a_few_statements(centre, count_queries):
    course_class = make_class(centre, capacity=100)
    ids = services.people_for_bulk_enrolment(course_class, household_id=centre.household.id)
    assert sorted(ids) == sorted(p.id for p in centre.learners)
    with count_queries() as counter:
        services.enrol(course_class, ids)
    assert counter.count <= 8
    assert len(_statuses(course_class)) == len(centre.learners)


def test_target_group_of_association_officers(centre):
    course_class = make_class(centre)
    course_class.target_group = "association_officers"
    officer, other = centre.learners[0], centre.learners[1]
    db.session.add(AssociationMembership(person_id=officer.id, unit_id=centre.commune.id, role="officer"))
    db.session.flush()
    with pytest.raises(services.CourseError) as error:
        services.enrol(course_class, [officer.id, other.id])
    assert error.value.field == "person_ids"
    assert [d["person_id"] for d in error.value.details] == [other.id]
    assert _statuses(course_class) == {}  # nothing half-written
    assert services.enrol(course_class, [officer.id]).enrolled == [officer.id]


def test_bulk_enrolment_keeps_to_the_target_group_and_the_age_range(centre):
    """A village enrolled in an officers' class gives its officers only (no refusal of the whole village); an age
    range counts on the class's first day and keeps people whose birth date is unknown."""
    course_class = make_class(centre)  # starts 2 March 2026
    young, fifteen, old, unknown = centre.learners[:4]
    young.birth_date = date(2011, 3, 3)  # 14 on the first day, 15 the day after
    fifteen.birth_date = date(2011, 3, 2)
    old.birth_date = date(1950, 1, 1)
    unknown.birth_date = None
    db.session.flush()
    ids = services.people_for_bulk_enrolment(course_class, village_id=centre.village.id, min_age=15, max_age=60)
    assert young.id not in ids
    assert old.id not in ids
    assert {fifteen.id, unknown.id} <= set(ids)
    course_class.target_group = "association_officers"
    db.session.add(AssociationMembership(person_id=fifteen.id, unit_id=centre.commune.id, role="officer"))
    db.session.flush()
    assert services.people_for_bulk_enrolment(course_class, village_id=centre.village.id) == [fifteen.id]


def test_years_before_a_leap_day():
    assert services.years_before(date(2028, 2, 29), 1) == date(2027, 2, 28)
