"""The per-test transaction really isolates tests: what one test commits, the next never sees."""

from lms.extensions import db
from lms.registry.models import Person
from tests.conftest import make_village, unit_by_code

NAME = "Người Kiểm Tra Cô Lập"


def _count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(Person).where(Person.full_name == NAME))


def test_a_commits_a_person(app_ctx):
    village = make_village(unit_by_code("23293"), "ISO-1", "Thôn Cô Lập")
    db.session.add(Person(full_name=NAME, unit_id=village.id))
    db.session.commit()
    assert _count() == 1


def test_b_does_not_see_it(app_ctx):
    assert _count() == 0
