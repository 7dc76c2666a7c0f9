"""A learner enrolled late is judged on the sessions held from their enrolment on (ADR 5): a session held, and
marked, before they were on the list counts neither against their attendance rate nor their completion, on the
class page as in the completion rule."""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import load_workbook
from sqlalchemy import update

from courses import documents, reports, services
from courses.models import Attendance, Enrolment
from courses.services import Mark
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import make_user
from tests.courses.conftest import make_centre, make_class
from tests.courses.test_documents import _pdf_text
from tests.courses.test_views import login

EARLY, ON_THE_THIRD, LATE = datetime(2026, 10, 30, 3), datetime(2026, 11, 3, 13), datetime(2026, 11, 7, 2)
ON_THE_TENTH, AFTER = datetime(2026, 11, 10, 13), datetime(2026, 11, 11)


def _late_class(centre):
    course_class = make_class(centre, starts_on=datetime(2026, 11, 1).date(), ends_on=datetime(2026, 11, 30).date())
    first, second = services.schedule(
        course_class,
        [
            (datetime(2026, 11, 3, 19), datetime(2026, 11, 3, 21)),
            (datetime(2026, 11, 10, 19), datetime(2026, 11, 10, 21)),
        ],
    )
    early, late = centre.learners[:2]
    services.enrol(course_class, [early.id])
    db.session.execute(update(Enrolment).where(Enrolment.person_id == early.id).values(enrolled_at=EARLY))
    services.record_attendance(first, [Mark(early.id, "present", ON_THE_THIRD)], user_id=None)
    # The roll call of 03/11 was taken that evening, before the late learner was enrolled on 07/11.
    db.session.execute(update(Attendance).where(Attendance.session_id == first.id).values(received_at=ON_THE_THIRD))
    services.enrol(course_class, [late.id])
    db.session.execute(update(Enrolment).where(Enrolment.person_id == late.id).values(enrolled_at=LATE))
    return course_class, (first, second), (early, late)


def test_a_session_held_before_the_enrolment_does_not_count_against_completion(app_ctx):
    centre = make_centre()
    course_class, (_first, second), (early, late) = _late_class(centre)
    services.record_attendance(
        second, [Mark(early.id, "present", ON_THE_TENTH), Mark(late.id, "present", ON_THE_TENTH)], user_id=None
    )
    tally = services.attendance_tally(course_class.id, AFTER)
    assert (tally.held[early.id], tally.attended[early.id]) == (2, 2)
    assert (tally.held[late.id], tally.attended[late.id]) == (1, 1)
    completed = services.completed_learners(course_class.id, as_of=AFTER)
    assert set(completed) == {early.id, late.id}


def test_a_session_marked_after_the_enrolment_still_counts(app_ctx):
    """A paper sheet entered after the fact: the roll call of an earlier session is taken once the learner is on
    the list, so that session counts for them (an absence there is an absence)."""
    centre = make_centre()
    course_class, (first, second), (early, late) = _late_class(centre)
    services.record_attendance(second, [Mark(early.id, "present", ON_THE_TENTH)], user_id=None)
    tally = services.attendance_tally(course_class.id, AFTER)
    assert tally.held[late.id] == 1  # 03/11 was called before; 10/11 counts for them
    db.session.execute(update(Enrolment).where(Enrolment.person_id == late.id).values(enrolled_at=EARLY))
    db.session.execute(update(Attendance).where(Attendance.session_id == first.id).values(received_at=LATE))
    tally = services.attendance_tally(course_class.id, AFTER)
    assert tally.held[late.id] == 2
    assert late.id not in tally.attended
    assert late.id not in services.completed_learners(course_class.id, as_of=AFTER)


def test_a_session_whose_roll_call_is_still_to_enter_counts_for_a_late_learner(app_ctx):
    """Last month's paper sheets entered one by one after the learners were enrolled: a session without any roll
    call yet is not an absence (ADR 54), but it would count for everyone once recorded, so the first sheet entered
    does not complete a late learner on its own (and the next sheet revoke the certificate): they wait for it."""
    centre = make_centre()
    course_class = make_class(centre, starts_on=datetime(2026, 11, 1).date(), ends_on=datetime(2026, 11, 30).date())
    first, _second = services.schedule(
        course_class,
        [
            (datetime(2026, 11, 3, 19), datetime(2026, 11, 3, 21)),
            (datetime(2026, 11, 10, 19), datetime(2026, 11, 10, 21)),
        ],
    )
    late = centre.learners[0]
    services.enrol(course_class, [late.id])
    db.session.execute(update(Enrolment).where(Enrolment.person_id == late.id).values(enrolled_at=AFTER))
    services.record_attendance(first, [Mark(late.id, "present", AFTER)], user_id=None)  # the first sheet only
    tally = services.attendance_tally(course_class.id, AFTER)
    # 10/11 has no roll call yet: not held against them, but theirs to wait for (1 of 2 is not the course's 75 %).
    assert (tally.held[late.id], tally.attended[late.id], tally.unrecorded[late.id]) == (1, 1, 1)
    assert late.id not in services.completed_learners(course_class.id, as_of=AFTER)


def test_the_class_page_counts_a_late_learner_from_their_enrolment(client, app_ctx, monkeypatch):
    centre = make_centre()
    course_class, (first, _second), _learners = _late_class(centre)
    user = make_user(Role.CENTRE_MANAGER, centre.commune, "late-enrol@example.vn")
    db.session.commit()
    monkeypatch.setattr(services, "local_now", lambda: datetime(2026, 11, 8, 9))
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login(client, user)
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    assert "attended 1 of 1" in page  # the early learner
    assert "attended 0 of 1" not in page  # the late one has no held session yet
    badge = page.split(f"/courses/sessions/{first.id}/attendance", 1)[1].split("</a>", 1)[0]
    assert "1/1" in badge  # 03/11 was one learner's session, not "1/2"
    assert "of the sessions held since the learner's enrolment" in page  # the rule, as the page states it


def _both_present_on_the_tenth(centre):
    course_class, (_first, second), (early, late) = _late_class(centre)
    services.record_attendance(
        second, [Mark(early.id, "present", ON_THE_TENTH), Mark(late.id, "present", ON_THE_TENTH)], user_id=None
    )
    services.recompute_class(course_class.id, as_of=AFTER)
    return course_class, (early, late)


def test_the_attendance_book_counts_a_late_learner_from_their_enrolment(app_ctx):
    """The printed book (PDF and xlsx) states each learner's share on the sessions that count for them, as the class
    page and the completion do: the late learner came to 1 of their 1 session, not "1/2 — 50 %" beside a tick."""
    centre = make_centre()
    course_class, (early, late) = _both_present_on_the_tenth(centre)
    book = documents.attendance_book(course_class, as_of=AFTER)
    learners = {learner.person_id: learner for learner in book.learners}
    assert (learners[early.id].held, learners[early.id].attended) == (2, 2)
    assert (learners[late.id].held, learners[late.id].attended) == (1, 1)
    assert learners[late.id].completed
    pdf = _pdf_text(documents.attendance_book_pdf(book))
    cells = pdf.split(late.full_name, 1)[1].split("Số học viên có mặt", 1)[0].split()
    assert cells == ["P", "1/1", "100", "%", "✓"]  # not "1/2 50 %" beside a tick
    assert "kể từ khi vào lớp" in pdf  # the rule, as the book states it
    sheet = load_workbook(io.BytesIO(documents.attendance_book_xlsx(book))).active
    rows = {row[1]: row for row in sheet.iter_rows(values_only=True) if row[0] and isinstance(row[0], int)}
    assert rows[late.full_name][5:8] == (1, 1, 1)  # 100 %, a number the clerk sorts by, shown as a percentage
    assert rows[early.full_name][5:8] == (2, 2, 1)
    rates = [row[7].number_format for row in sheet.iter_rows() if row[1].value in (late.full_name, early.full_name)]
    assert rates == ["0%", "0%"]


def test_the_centre_report_counts_a_late_learner_from_their_enrolment(app_ctx):
    """The attendance rate's denominator is the held sessions that count for each learner: 2 for the early learner,
    1 for the late one; both came to all of theirs."""
    centre = make_centre()
    _both_present_on_the_tenth(centre)
    report = reports.centre_report(centre.clc, date(2026, 11, 1), date(2026, 11, 30), as_of=AFTER)
    (line,) = report.classes
    assert (line.sessions_held, line.enrolled, line.attended_by_enrolled, line.expected_turns) == (2, 2, 3, 3)
    assert report.attendance_rate == 1
    # Within a period that holds only the session before the late learner's enrolment, only the early learner counts.
    before = reports.centre_report(centre.clc, date(2026, 11, 1), date(2026, 11, 5), as_of=AFTER)
    assert (before.attendance_numerator, before.attendance_denominator) == (1, 1)


def test_the_tally_is_two_statements_whatever_the_class_size(app_ctx, count_queries):
    """Set-based (STYLE 4): the rule is one SQL definition, aggregated per learner and per session."""
    counts = []
    for code, size in (("23293", 3), ("23302", 8)):
        centre = make_centre(code, learners=size, label=f"T{size}")
        course_class, (_first, second), _learners = _late_class(centre)
        services.enrol(course_class, [p.id for p in centre.learners[2:]])
        services.record_attendance(second, [Mark(p.id, "present", ON_THE_TENTH) for p in centre.learners], user_id=None)
        with count_queries() as counter:
            tally = services.attendance_tally(course_class.id, AFTER)
        assert len(tally.held) == size
        counts.append(counter.count)
    assert counts == [2, 2]


def test_a_learner_who_takes_a_seat_from_the_waiting_list_is_judged_from_that_day(app_ctx, monkeypatch):
    """Waiting since 30/10, seated when someone withdrew (or when the class got more seats): the session held while
    they had no seat, whose roll call did not name them, is not an absence of theirs."""
    centre = make_centre()
    course_class = make_class(
        centre, capacity=1, starts_on=datetime(2026, 11, 1).date(), ends_on=datetime(2026, 11, 30).date()
    )
    first, second = services.schedule(
        course_class,
        [
            (datetime(2026, 11, 3, 19), datetime(2026, 11, 3, 21)),
            (datetime(2026, 11, 10, 19), datetime(2026, 11, 10, 21)),
        ],
    )
    seated, waiting = centre.learners[:2]
    services.enrol(course_class, [seated.id, waiting.id])
    db.session.execute(update(Enrolment).where(Enrolment.class_id == course_class.id).values(enrolled_at=EARLY))
    services.record_attendance(first, [Mark(seated.id, "present", ON_THE_THIRD)], user_id=None)
    db.session.execute(update(Attendance).where(Attendance.session_id == first.id).values(received_at=ON_THE_THIRD))
    monkeypatch.setattr(services, "utcnow", lambda: LATE)  # the withdrawal, and the seat, on 07/11
    assert services.withdraw(course_class, seated.id) == waiting.id
    monkeypatch.undo()
    services.record_attendance(second, [Mark(waiting.id, "present", ON_THE_TENTH)], user_id=None)
    tally = services.attendance_tally(course_class.id, AFTER)
    assert (tally.held[waiting.id], tally.attended[waiting.id]) == (1, 1)
    assert set(services.completed_learners(course_class.id, as_of=AFTER)) == {waiting.id}


def test_the_attendance_book_counts_a_withdrawn_learner_until_they_left(app_ctx, monkeypatch):
    """Came on 03/11, withdrew on 07/11: the book's line for them says 1 of 1, not 1 of 2 — the session of 10/11 was
    held after they left."""
    centre = make_centre()
    course_class = make_class(centre, starts_on=date(2026, 11, 1), ends_on=date(2026, 11, 30))
    first, second = services.schedule(
        course_class,
        [
            (datetime(2026, 11, 3, 19), datetime(2026, 11, 3, 21)),
            (datetime(2026, 11, 10, 19), datetime(2026, 11, 10, 21)),
        ],
    )
    left, stayed = centre.learners[:2]
    services.enrol(course_class, [left.id, stayed.id])
    db.session.execute(update(Enrolment).where(Enrolment.class_id == course_class.id).values(enrolled_at=EARLY))
    services.record_attendance(
        first, [Mark(left.id, "present", ON_THE_THIRD), Mark(stayed.id, "present", ON_THE_THIRD)], user_id=None
    )
    monkeypatch.setattr(services, "utcnow", lambda: LATE)
    services.withdraw(course_class, left.id)
    monkeypatch.undo()
    services.record_attendance(second, [Mark(stayed.id, "present", ON_THE_TENTH)], user_id=None)
    learners = {learner.person_id: learner for learner in documents.attendance_book(course_class, as_of=AFTER).learners}
    assert (learners[left.id].held, learners[left.id].attended) == (1, 1)
    assert (learners[stayed.id].held, learners[stayed.id].attended) == (2, 2)


def test_a_learner_seated_again_after_the_class_ended_is_judged_at_once(app_ctx, monkeypatch):
    """Withdrawn by mistake, seated again once the class is over: their marks count again (ADR 5), so who completes
    changes — the class is recomputed, as for a withdrawal, not left until some other change."""
    from sqlalchemy import select

    from courses.models import LearningRecord

    centre = make_centre()
    course_class = make_class(centre, starts_on=date(2026, 11, 1), ends_on=date(2026, 11, 30))
    first, second = services.schedule(
        course_class,
        [
            (datetime(2026, 11, 3, 19), datetime(2026, 11, 3, 21)),
            (datetime(2026, 11, 10, 19), datetime(2026, 11, 10, 21)),
        ],
    )
    back, stayed = centre.learners[:2]
    services.enrol(course_class, [back.id, stayed.id])
    db.session.execute(update(Enrolment).where(Enrolment.class_id == course_class.id).values(enrolled_at=EARLY))
    services.record_attendance(
        first, [Mark(back.id, "present", ON_THE_THIRD), Mark(stayed.id, "present", ON_THE_THIRD)], user_id=None
    )
    db.session.execute(update(Attendance).where(Attendance.session_id == first.id).values(received_at=ON_THE_THIRD))
    monkeypatch.setattr(services, "utcnow", lambda: LATE)
    services.withdraw(course_class, back.id)
    monkeypatch.undo()
    services.record_attendance(second, [Mark(stayed.id, "present", ON_THE_TENTH)], user_id=None)
    db.session.execute(update(Attendance).where(Attendance.session_id == second.id).values(received_at=ON_THE_TENTH))
    db.session.commit()  # the completion task runs (eagerly): the class is over

    def completed() -> set[int]:
        db.session.expire_all()
        return set(
            db.session.scalars(select(LearningRecord.person_id).where(LearningRecord.class_id == course_class.id))
        )

    assert completed() == {stayed.id}
    assert services.enrol(course_class, [back.id]).enrolled == [back.id]
    db.session.commit()
    # Their mark of 03/11 counts; the roll call of 10/11, taken while they were out, does not name them: 1 of 1.
    assert completed() == {stayed.id, back.id}
