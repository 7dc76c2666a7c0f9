"""A manager changes a course's minimum attendance on the course's page (a whole percent, as the form for a new course
takes it), and the classes are recomputed; once a class has completions the rule is refused, saying what to do."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import select

from courses import services
from courses.models import Course, LearningRecord, PendingWork
from courses.scheduling import Recurrence
from courses.services import Mark
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user
from tests.courses.conftest import make_centre, make_class


def _completed(class_id: int) -> list[int]:
    return list(
        db.session.scalars(
            select(LearningRecord.person_id).where(
                LearningRecord.class_id == class_id, LearningRecord.kind == "class_completion"
            )
        )
    )


def _post(client, course_id: int, percent: str, **extra: str):
    url = f"/courses/{course_id}/edit"
    data = {"csrf_token": csrf_token(client, url), "min_attendance_percent": percent, **extra}
    return client.post(url, data=data)


def test_a_manager_changes_the_minimum_attendance_and_the_classes_are_judged_again(client, app_ctx):
    centre = make_centre()
    course_class = make_class(centre)
    sessions = services.schedule_recurring(
        course_class,
        Recurrence(first_day=date(2026, 3, 2), weekdays=frozenset({0}), start=time(19), end=time(21), count=4),
    )
    learner = centre.learners[0]
    services.enrol(course_class, [learner.id])
    for session, status in zip(sessions, ["present", "present", "absent", "absent"], strict=True):
        services.record_attendance(session, [Mark(learner.id, status, datetime(2026, 3, 1))], user_id=None)
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()  # the class judged at 75 %: half the sessions is not enough
    assert not _completed(course_class.id)
    login(client, user)
    page = client.get(f"/courses/{centre.course.id}").get_data(as_text=True)
    assert f'href="/courses/{centre.course.id}/edit"' in page
    form = client.get(f"/courses/{centre.course.id}/edit").get_data(as_text=True)
    assert 'value="75"' in form

    # Shown first: how many classes are judged again and who then completes — nothing changed yet.
    preview = _post(client, centre.course.id, "50")
    assert preview.status_code == 200
    page = " ".join(preview.get_data(as_text=True).split())
    assert "Đổi mức chuyên cần tối thiểu của khóa học thành 50 %?" in page
    assert (
        "1 lớp của khóa học được xét lại theo mức mới: khi đó 1 học viên hoàn thành và được cấp giấy chứng nhận."
        in page
    )
    assert db.session.scalar(select(Course.min_attendance_share).where(Course.id == centre.course.id)) == Decimal(
        "0.75"
    )
    assert not _completed(course_class.id)

    response = _post(client, centre.course.id, "50", confirmed="0.5")

    assert response.status_code == 302
    assert db.session.scalar(select(Course.min_attendance_share).where(Course.id == centre.course.id)) == Decimal("0.5")
    assert _completed(course_class.id) == [learner.id]  # judged again after the commit, at 50 %


def test_a_share_that_is_not_a_whole_percent_is_refused(client, app_ctx):
    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, user)
    for typed in ("87,5", "0", "101"):
        response = _post(client, centre.course.id, typed)
        assert response.status_code == 200
    assert db.session.scalar(select(Course.min_attendance_share).where(Course.id == centre.course.id)) == Decimal(
        "0.75"
    )


def test_the_rule_does_not_change_under_completions(client, app_ctx):
    centre = make_centre()
    course_class = make_class(centre)
    learner = centre.learners[0]
    db.session.add(
        LearningRecord(
            person_id=learner.id,
            year=2026,
            kind="class_completion",
            hours=Decimal(12),
            completed_on=date(2026, 3, 31),
            commune_id=centre.commune.id,
            source_key=f"test-rule-{course_class.id}",
            class_id=course_class.id,
        )
    )
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, user)

    page = _post(client, centre.course.id, "90").get_data(as_text=True)

    assert "Thêm khóa học mới với quy định mới" in page
    assert db.session.scalar(select(Course.min_attendance_share).where(Course.id == centre.course.id)) == Decimal(
        "0.75"
    )


def test_a_commune_manager_does_not_change_the_provinces_course(client, app_ctx):
    centre = make_centre()
    centre.course.unit_id = centre.commune.parent_id  # a shared course of the unit above the commune
    user = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, user)
    assert f"/courses/{centre.course.id}/edit" not in client.get(f"/courses/{centre.course.id}").get_data(as_text=True)
    assert client.get(f"/courses/{centre.course.id}/edit").status_code == 404
    assert _post(client, centre.course.id, "90").status_code == 404


def test_the_classes_are_marked_in_one_statement_whatever_their_number(app_ctx, count_queries):
    """A province's shared course may run hundreds of classes: changing its rule marks them all for recomputation in
    one statement (and queues each class's task), not one upsert a class."""
    centre = make_centre()
    classes = [make_class(centre, name=f"Lớp {n}") for n in range(5)]
    db.session.commit()
    with count_queries() as few:
        assert services.set_min_attendance(centre.course, Decimal("0.6"))
    more = [make_class(centre, name=f"Lớp thêm {n}") for n in range(5)]
    db.session.commit()
    with count_queries() as many:
        assert services.set_min_attendance(centre.course, Decimal("0.5"))
    assert many.count == few.count
    marked = set(db.session.scalars(select(PendingWork.subject_id).where(PendingWork.kind == services.COMPLETION_WORK)))
    assert marked >= {c.id for c in classes + more}
