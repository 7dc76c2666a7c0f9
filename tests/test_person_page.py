"""The registry's person page shows what the other parts know of the person: the Learning Citizen results by year
(titles), the classes and the certificates (courses) — each a tap away, in the reader's scope."""

from __future__ import annotations

from datetime import date

from courses import services as courses
from courses.models import Certificate
from lms.auth.models import Role
from lms.extensions import db
from lms.titles.models import Title
from tests.conftest import login, make_user
from tests.courses.conftest import make_centre, make_class
from tests.titles.recognition_fixtures import criteria_set, eligibility


def test_a_leader_sees_the_persons_results_classes_and_certificates(app_ctx, client):
    centre = make_centre()
    learner, other = centre.learners[0], centre.learners[1]
    done = make_class(centre, name="Lớp cà phê tháng 3")
    later = make_class(centre, name="Lớp cà phê tháng 9", starts_on=date(2026, 9, 1), ends_on=date(2026, 9, 30))
    courses.enrol(done, [learner.id, other.id])
    courses.enrol(later, [learner.id])
    db.session.add(Certificate(code="CN-PP-1", class_id=done.id, person_id=learner.id, issued_on=date(2026, 4, 1)))
    citizen = eligibility(criteria_set(Title.CITIZEN), learner.id, centre.commune.id, 2026, eligible=False)
    leader = make_user(Role.COMMUNE_LEADER, centre.commune, "pp-leader@example.vn")
    db.session.commit()
    login(client, leader)

    page = client.get(f"/registry/persons/{learner.id}").get_data(as_text=True)
    assert 'id="person-titles"' in page
    assert f'href="/titles/eligibility/{citizen.id}"' in page  # why not yet, one tap away
    assert 'id="person-learning"' in page
    september, march = page.index("Lớp cà phê tháng 9"), page.index("Lớp cà phê tháng 3")
    assert september < march  # newest first
    assert f'href="/courses/classes/{done.id}"' in page
    assert 'href="/courses/certificates/CN-PP-1.pdf"' in page
    assert "Lớp học và giấy chứng nhận" in page  # Vietnamese first

    theirs = client.get(f"/registry/persons/{other.id}").get_data(as_text=True)
    assert "CN-PP-1" not in theirs
    assert "Lớp cà phê tháng 9" not in theirs


def test_a_person_with_no_class_says_so_and_an_instructor_sees_no_titles(app_ctx, client):
    centre = make_centre()
    instructor = make_user(Role.INSTRUCTOR, centre.commune, "pp-instructor@example.vn")
    db.session.commit()
    login(client, instructor)
    page = client.get(f"/registry/persons/{centre.learners[0].id}").get_data(as_text=True)
    assert "Chưa ghi danh lớp học nào." in page
    assert 'id="person-titles"' not in page  # an instructor may not see titles


def test_an_infant_is_not_applicable_never_not_yet_eligible(app_ctx, client):
    """ADR 15: the Learning Citizen title does not apply to an infant; the person page says so, and its link asks
    "why?", not "why not yet?"."""
    centre = make_centre()
    infant = centre.learners[0]
    row = eligibility(criteria_set(Title.CITIZEN), infant.id, centre.commune.id, 2026, eligible=False)
    row.applicable = False
    leader = make_user(Role.COMMUNE_LEADER, centre.commune, "pp-leader2@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/registry/persons/{infant.id}").get_data(as_text=True)
    titles = page[page.index('id="person-titles"') :]
    assert 'data-applicable="0"' in titles
    assert "Không áp dụng" in titles
    assert "Chưa đủ điều kiện" not in titles
    assert "Vì sao chưa đạt?" not in titles
