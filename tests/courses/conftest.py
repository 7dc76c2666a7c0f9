from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from courses import services
from courses.models import Course, CourseClass, Room
from lms.extensions import db
from lms.registry.models import AdminUnit, Clc, Household, Person
from tests.conftest import make_household, make_village, unit_by_code


@dataclass
class Centre:
    commune: AdminUnit
    village: AdminUnit
    clc: Clc
    room: Room
    hall: Room
    course: Course
    learners: list[Person]
    household: Household


def make_centre(code: str = "23293", *, learners: int = 6, label: str = "A") -> Centre:
    commune = unit_by_code(code)
    village = make_village(commune, f"CRS-{label}-{code}", f"Thôn Học {label}")
    household = make_household(village, "1", *(f"Học Viên {label} {i:02d}" for i in range(learners)))
    clc = Clc(commune_id=commune.id, name=f"Trung tâm học tập cộng đồng {commune.name}")
    db.session.add(clc)
    db.session.flush()
    room, hall = Room(clc_id=clc.id, name="Phòng học 1", capacity=30), Room(clc_id=clc.id, name="Nhà văn hóa")
    db.session.add_all([room, hall])
    db.session.flush()
    course = services.create_course(
        unit=commune,
        code=f"KT-{label}-{code}",
        name="Kỹ thuật trồng cà phê",
        category="technology_transfer",
        planned_hours=Decimal(12),
        min_attendance_share=Decimal("0.75"),
    )
    return Centre(commune, village, clc, room, hall, course, list(household.members), household)


def make_class(
    centre: Centre,
    *,
    capacity: int = 30,
    starts_on=date(2026, 3, 2),
    ends_on=date(2026, 3, 31),
    name: str = "Lớp cà phê tháng 3",
) -> CourseClass:
    return services.create_class(
        course=centre.course,
        clc=centre.clc,
        name=name,
        capacity=capacity,
        starts_on=starts_on,
        ends_on=ends_on,
        room=centre.room,
    )


@pytest.fixture
def centre(app_ctx) -> Centre:
    return make_centre()
