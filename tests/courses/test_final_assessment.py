"""A course with a final assessment: the learner's result is recorded from the class page (by the manager or the
instructor), and completion — the learning record and the certificate — follows it. Before this page existed,
nothing could set the result, so such a class never completed."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from courses import services
from courses.models import Certificate, Enrolment, LearningRecord
from courses.services import Mark
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user
from tests.courses.conftest import make_centre, make_class

AFTER = datetime(2026, 4, 1, 12)


def _held_class(centre, *, requires_assessment: bool = True):
    centre.course.requires_assessment = requires_assessment
    course_class = make_class(centre)
    sessions = services.schedule(
        course_class,
        [(datetime(2026, 3, 2, 19), datetime(2026, 3, 2, 21)), (datetime(2026, 3, 9, 19), datetime(2026, 3, 9, 21))],
    )
    learners = centre.learners[:2]
    services.enrol(course_class, [p.id for p in learners])
    for session in sessions:
        services.record_attendance(
            session, [Mark(p.id, "present", datetime(2026, 3, 1)) for p in learners], user_id=None
        )
    return course_class, learners


def _result(course_class, person) -> bool | None:
    return db.session.scalar(
        select(Enrolment.assessment_passed).where(
            Enrolment.class_id == course_class.id, Enrolment.person_id == person.id
        )
    )


def _certificates(course_class) -> dict[int, bool]:
    """Each certificate's holder → whether it stands (not revoked)."""
    return {
        c.person_id: c.revoked_at is None
        for c in db.session.scalars(select(Certificate).where(Certificate.class_id == course_class.id))
    }


def _post(client, course_class, person, result: str):
    token = csrf_token(client, f"/courses/classes/{course_class.id}")
    return client.post(
        f"/courses/classes/{course_class.id}/assessment",
        data={"csrf_token": token, "person_id": str(person.id), "result": result},
    )


def test_the_final_assessment_is_recorded_on_the_class_page_and_completion_follows_it(client, app_ctx):
    centre = make_centre()
    course_class, (passer, other) = _held_class(centre)
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    # Full attendance is not enough while the assessment has no result.
    assert services.recompute_class(course_class.id, as_of=AFTER).completed == 0

    login(client, manager)
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    row = page[page.index(f'id="learner-{passer.id}"') :]
    assert re.search(r"Kiểm tra cuối khóa: <strong[^>]*>chưa có kết quả</strong>", row)
    assert 'name="result" value="passed">Đạt</button>' in row

    response = _post(client, course_class, passer, "passed")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"#learner-{passer.id}")
    assert (_result(course_class, passer), _result(course_class, other)) == (True, None)
    assert "Kiểm tra cuối khóa của" in client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)

    # The completion task (run at once in tests, after the commit) issued the passer's certificate, only his.
    assert _certificates(course_class) == {passer.id: True}
    assert db.session.scalars(
        select(LearningRecord.person_id).where(LearningRecord.class_id == course_class.id)
    ).all() == [passer.id]

    # Changed to "not passed": the certificate is revoked, and the button warns of it first.
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    row = page[page.index(f'id="learner-{passer.id}"') :]
    assert "sẽ bị thu hồi" in row[: row.index("</li>")]
    assert _post(client, course_class, passer, "failed").status_code == 302
    assert _result(course_class, passer) is False
    assert _certificates(course_class) == {passer.id: False}


def test_the_instructor_records_it_and_another_commune_cannot(client, app_ctx):
    centre = make_centre()
    course_class, (learner, _) = _held_class(centre)
    instructor = make_user(Role.INSTRUCTOR, centre.commune)
    outsider = make_user(Role.CENTRE_MANAGER, make_centre("23302", label="B").commune)
    db.session.commit()

    login(client, outsider)
    assert _post(client, course_class, learner, "passed").status_code == 404
    assert _result(course_class, learner) is None

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, instructor)
    assert _post(client, course_class, learner, "passed").status_code == 302
    assert _result(course_class, learner) is True


def test_a_course_without_a_final_assessment_refuses_a_result(client, app_ctx):
    centre = make_centre()
    course_class, (learner, _) = _held_class(centre, requires_assessment=False)
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, manager)
    assert "Kiểm tra cuối khóa:" not in client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    response = _post(client, course_class, learner, "passed")
    assert response.status_code == 302
    assert _result(course_class, learner) is None
    assert "khóa học này không có bài kiểm tra cuối khóa" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
