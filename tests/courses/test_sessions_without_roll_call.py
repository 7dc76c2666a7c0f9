"""A session is judged on its roll call (ADR 54): a held session nobody took the attendance of is *not recorded*, not a
session every learner missed. It counts against nobody — not in the completion rule, not in the attendance book's
"có mặt x/y", not in the centre's attendance rate — and the centre manager sees it, on the class page and in the paper
sheet's preview, with the two ways out: take its roll call, or cancel it."""

from __future__ import annotations

import io
import re
from datetime import datetime, time

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from courses import documents, reports, services
from courses.models import Certificate, LearningRecord
from courses.services import Mark
from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import login, make_user
from tests.courses.conftest import make_centre, make_class
from tests.courses.test_documents import _mondays, _pdf_text, _upload, _xlsx

AFTER = datetime(2026, 4, 1, 12)
MARKED = datetime(2026, 3, 1, 8)


def _mark(session, person, status):
    services.record_attendance(session, [Mark(person.id, status, MARKED)], user_id=None)


def _completed(course_class) -> set[int]:
    db.session.expire_all()
    return set(
        db.session.scalars(
            select(LearningRecord.person_id).where(
                LearningRecord.class_id == course_class.id, LearningRecord.module_code.is_(None)
            )
        )
    )


def _valid_certificates(course_class) -> set[int]:
    return set(
        db.session.scalars(
            select(Certificate.person_id).where(
                Certificate.class_id == course_class.id, Certificate.revoked_at.is_(None)
            )
        )
    )


@pytest.fixture
def completed_class(app_ctx):
    """Four Mondays of March 2026, every roll call taken; the course asks 75 %. ``short`` came 3 times (just enough),
    ``steady`` 4 times: both completed and hold a certificate."""
    centre = make_centre(learners=2, label="NRC")
    course_class = make_class(centre)
    sessions = _mondays(course_class)
    short, steady = centre.learners
    services.enrol(course_class, [short.id, steady.id])
    for session, status in zip(sessions, ["present", "present", "present", "absent"], strict=True):
        _mark(session, short, status)
        _mark(session, steady, "present")
    services.recompute_class(course_class.id, as_of=AFTER)
    db.session.commit()
    assert _valid_certificates(course_class) == {short.id, steady.id}
    return centre, course_class, sessions


def test_a_session_added_in_the_past_without_a_roll_call_revokes_nobody_until_its_roll_call_says_so(
    completed_class,
):
    centre, course_class, _sessions = completed_class
    short, steady = centre.learners
    # An extra session entered after the fact (Thursday 26/03, in the past): nobody took its roll call yet.
    (extra,) = services.schedule(course_class, [(datetime(2026, 3, 26, 19), datetime(2026, 3, 26, 21))])
    services.recompute_class(course_class.id, as_of=AFTER)
    db.session.commit()
    # Counted as missed by everyone, it took ``short`` to 3 of 5 (60 %) and revoked the certificate.
    assert _completed(course_class) == {short.id, steady.id}
    assert _valid_certificates(course_class) == {short.id, steady.id}
    tally = services.attendance_tally(course_class.id, AFTER)
    assert (tally.held[short.id], tally.attended[short.id], tally.unrecorded[short.id]) == (4, 3, 1)
    assert [s.id for s in services.sessions_without_roll_call(course_class.id, AFTER)] == [extra.id]
    # The attendance book does not print it as an absence either: "có mặt 3/4".
    book = documents.attendance_book(course_class, as_of=AFTER)
    assert {x.person_id: (x.attended, x.held) for x in book.learners} == {short.id: (3, 4), steady.id: (4, 4)}

    # Its roll call is taken: now it is a session like any other, and ``short`` missed it.
    _mark(extra, short, "absent")
    _mark(extra, steady, "present")
    services.recompute_class(course_class.id, as_of=AFTER)
    db.session.commit()
    assert _completed(course_class) == {steady.id}
    assert _valid_certificates(course_class) == {steady.id}
    assert services.sessions_without_roll_call(course_class.id, AFTER) == []


def test_a_forgotten_last_sheet_completes_who_completes_anyway_and_the_others_wait_for_it(app_ctx):
    centre = make_centre(learners=3, label="FGT")
    course_class = make_class(centre)
    sessions = _mondays(course_class)
    sure, open_, out = centre.learners
    services.enrol(course_class, [p.id for p in centre.learners])
    grid = {
        sure: ["present", "present", "present"],  # 3 of 4 even if the last is counted missed
        open_: ["present", "present", "absent"],  # 2 of 3 recorded: the last sheet decides
        out: ["absent", "absent", "present"],  # 1, at best 2, of 4: not enough whatever it says
    }
    for learner, statuses in grid.items():
        for session, status in zip(sessions[:3], statuses, strict=True):
            _mark(session, learner, status)
    services.recompute_class(course_class.id, as_of=AFTER)
    db.session.commit()
    assert _completed(course_class) == {sure.id}
    # Nobody is printed absent from it in the book: "có mặt 2/3", not 2/4.
    book = documents.attendance_book(course_class, as_of=AFTER)
    assert {x.person_id: (x.attended, x.held) for x in book.learners} == {
        sure.id: (3, 3),
        open_.id: (2, 3),
        out.id: (1, 3),
    }
    # The last session's sheet arrives: ``open_`` was there, 3 of 4.
    _mark(sessions[3], open_, "present")
    _mark(sessions[3], out, "present")
    services.recompute_class(course_class.id, as_of=AFTER)
    db.session.commit()
    assert _completed(course_class) == {sure.id, open_.id}


def test_the_centre_report_does_not_count_a_session_without_a_roll_call_as_absences(completed_class):
    centre, course_class, _sessions = completed_class
    services.schedule(course_class, [(datetime(2026, 3, 26, 19), datetime(2026, 3, 26, 21))])
    db.session.flush()
    report = reports.centre_report(centre.clc, datetime(2026, 3, 1).date(), datetime(2026, 3, 31).date(), as_of=AFTER)
    (line,) = [c for c in report.classes if c.class_id == course_class.id]
    # 7 attended marks over the 8 recorded learner-sessions, not over 10.
    assert line.expected_turns == 8


def test_the_class_page_names_the_past_sessions_without_a_roll_call_and_the_ways_out(client, completed_class):
    centre, course_class, _sessions = completed_class
    (extra,) = services.schedule(course_class, [(datetime(2026, 3, 26, 19), datetime(2026, 3, 26, 21))])
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "manager-nrc@example.vn")
    db.session.commit()
    login(client, manager)
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    assert 'id="without-roll-call"' in page
    assert "Buổi đã qua chưa có điểm danh (1):" in page
    assert "26/03/2026 19:00" in page
    assert "không tính là vắng" in page
    assert f'href="/courses/sessions/{extra.id}/attendance"' in page  # take its roll call
    assert f'href="/courses/sessions/{extra.id}#cancel-form"' in page  # or cancel it
    assert "Chưa điểm danh" in page  # on the session's row
    assert "có mặt 3/4 buổi" in page  # short's line, not 3/5
    assert "1 buổi chưa điểm danh" in page


def test_the_sheet_preview_names_the_sessions_still_without_a_roll_call(client, app_ctx):
    centre = make_centre(learners=1, label="PRV")
    course_class = make_class(centre)
    sessions = _mondays(course_class, start=time(19))
    (learner,) = centre.learners
    services.enrol(course_class, [learner.id])
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "manager-prv@example.vn")
    db.session.commit()
    login(client, manager)
    # The sheet of the first two Mondays only: the 16th and the 23rd still have no roll call once it is written.
    sheet = _xlsx([["Học viên", "02/03/2026", "09/03/2026"], [learner.full_name, "P", "P"]])
    page = _upload(client, course_class, sheet, language="vi").get_data(as_text=True)
    assert 'id="preview-without-roll-call"' in page
    listed = [s.id for s in sessions[2:]]
    for session_id in listed:
        assert f'class="session-without-roll-call" data-session="{session_id}"' in page
    for session in sessions[:2]:
        assert f'data-session="{session.id}"' not in page.split('id="preview-without-roll-call"')[1].split("</div>")[0]
    assert "Buổi đã qua vẫn chưa có điểm danh sau khi ghi phiếu này (2):" in page


def test_a_session_moved_into_the_past_revokes_nobody_and_the_api_counts_it(client, completed_class):
    """A session still to come in a completed class (an extra one, ADR 5) moved to a day already past, without a roll
    call: the class's learners keep their certificates, and the class's API answer says one session lacks a roll
    call."""
    from tests.courses.test_api import _bearer

    centre, course_class, _sessions = completed_class
    short, steady = centre.learners
    course_class.ends_on = datetime(2026, 12, 31).date()  # the class was prolonged for a closing session
    (extra,) = services.schedule(course_class, [(datetime(2026, 12, 28, 19), datetime(2026, 12, 28, 21))])
    services.recompute_class(course_class.id, as_of=AFTER)
    services.reschedule(extra, datetime(2026, 3, 27, 19), datetime(2026, 3, 27, 21))
    services.recompute_class(course_class.id, as_of=AFTER)
    db.session.commit()
    assert _valid_certificates(course_class) == {short.id, steady.id}
    _user, headers = _bearer(unit=centre.commune)
    counts = client.get(f"/api/v1/classes/{course_class.id}", headers=headers).get_json()["counts"]
    assert (counts["sessions_held"], counts["sessions_without_roll_call"]) == (5, 1)


def _completion_days(course_class) -> dict[int, object]:
    db.session.expire_all()
    return dict(
        db.session.execute(
            select(LearningRecord.person_id, LearningRecord.completed_on).where(
                LearningRecord.class_id == course_class.id, LearningRecord.module_code.is_(None)
            )
        ).all()
    )


def test_the_completion_day_is_the_last_session_with_a_roll_call(app_ctx):
    """The completion day is the day of the last session that decides it (ADR 54, amended): a last session without a
    roll call decides nothing, so it dates nothing; once its sheet is entered, it counts, and the day follows it."""
    centre = make_centre(learners=1, label="DAY")
    course_class = make_class(centre)
    sessions = _mondays(course_class)
    (sure,) = centre.learners
    services.enrol(course_class, [sure.id])
    for session in sessions[:3]:
        _mark(session, sure, "present")  # 3 of 4 even if the last is missed: complete whatever it says
    services.recompute_class(course_class.id, as_of=AFTER)
    db.session.commit()
    assert _completion_days(course_class) == {sure.id: sessions[2].starts_at.date()}  # Monday 16/03, not 23/03

    _mark(sessions[3], sure, "absent")  # the last sheet arrives: that session now counts, and decides the day
    services.recompute_class(course_class.id, as_of=AFTER)
    db.session.commit()
    assert _completion_days(course_class) == {sure.id: sessions[3].starts_at.date()}


def test_a_session_entered_in_the_past_without_a_roll_call_moves_no_completion_day(completed_class):
    centre, course_class, sessions = completed_class
    short, steady = centre.learners
    last = sessions[3].starts_at.date()
    assert _completion_days(course_class) == {short.id: last, steady.id: last}
    # A closing meeting entered after the fact, on 30/03, nobody's sheet: the records keep 23/03.
    services.schedule(course_class, [(datetime(2026, 3, 30, 19), datetime(2026, 3, 30, 21))])
    services.recompute_class(course_class.id, as_of=AFTER)
    db.session.commit()
    assert _completion_days(course_class) == {short.id: last, steady.id: last}


@pytest.fixture
def forgotten_last_sheet(app_ctx):
    """Four Mondays of March 2026; the last one's sheet was never entered. ``sure`` came to the three others,
    ``open_`` to two."""
    centre = make_centre(learners=2, label="BOK")
    course_class = make_class(centre)
    sessions = _mondays(course_class)
    sure, open_ = centre.learners
    services.enrol(course_class, [sure.id, open_.id])
    for session, status in zip(sessions[:3], ["present", "present", "absent"], strict=True):
        _mark(session, sure, "present")
        _mark(session, open_, status)
    services.recompute_class(course_class.id, as_of=AFTER)
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "manager-bok@example.vn")
    db.session.commit()
    return centre, course_class, sessions, manager


def test_the_attendance_book_marks_the_sessions_without_a_roll_call_and_agrees_with_the_class_page(
    client, forgotten_last_sheet
):
    centre, course_class, _sessions, manager = forgotten_last_sheet
    sure, open_ = centre.learners
    login(client, manager)
    page = client.get(f"/courses/classes/{course_class.id}").get_data(as_text=True)
    on_page = {
        name: (int(x), int(y))
        for name, x, y in re.findall(r'learner-row".*?>([^<>]+)</a>.*?có mặt (\d+)/(\d+) buổi', page, flags=re.S)
    }
    assert on_page == {sure.full_name: (3, 3), open_.full_name: (2, 3)}

    content = client.get(f"/courses/classes/{course_class.id}/attendance-book.xlsx").get_data()
    rows = [list(r) for r in load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]
    header_index = next(i for i, r in enumerate(rows) if r[0] == "STT")
    header = rows[header_index]
    # The column of 23/03 says why nobody has a mark there, as a cancelled one says "(hủy)".
    assert header[3:7] == ["02/03/2026", "09/03/2026", "16/03/2026", "23/03/2026 (chưa điểm danh)"]
    by_name = {r[1]: r for r in rows[header_index + 1 :] if r[1] and r[0] is not None}
    assert {name: (row[7], row[8]) for name, row in by_name.items()} == on_page  # "có mặt x/y": the class page's
    assert by_name[sure.full_name][6] is None
    totals = next(r for r in rows if r[1] == "Số học viên có mặt")
    assert totals[3:8] == [2, 2, 1, "chưa điểm danh", 5]  # not "0 present"
    assert any(r[0] == "Số buổi đã học: 4, trong đó 1 buổi chưa điểm danh." for r in rows)
    assert any(r[0] and "không tính là vắng" in r[0] for r in rows)  # the legend says what the column means

    text = _pdf_text(client.get(f"/courses/classes/{course_class.id}/attendance-book.pdf").get_data())
    assert "Số buổi đã học: 4, trong đó 1 buổi chưa điểm danh." in " ".join(text.split())
    assert "chưa điểm" in text
    assert "danh)" in text
    assert "3/3" in text
    assert "2/3" in text
    assert "3/4" not in text


def test_the_centre_report_says_how_many_held_sessions_lack_a_roll_call(client, completed_class):
    """The rate rests on the recorded sessions only: the report says, per class and in total, how many it leaves
    out — on the page and in its workbook."""
    centre, course_class, _sessions = completed_class
    services.schedule(course_class, [(datetime(2026, 3, 26, 19), datetime(2026, 3, 26, 21))])
    other = make_class(centre, name="Lớp đủ điểm danh")
    (session,) = _mondays(other, count=1, start=time(7), end=time(9))  # the room is taken in the evening
    services.enrol(other, [centre.learners[0].id])
    _mark(session, centre.learners[0], "present")
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "manager-rpt@example.vn")
    db.session.commit()
    report = reports.centre_report(centre.clc, datetime(2026, 3, 1).date(), datetime(2026, 3, 31).date(), as_of=AFTER)
    assert {line.class_id: line.sessions_without_roll_call for line in report.classes} == {
        course_class.id: 1,
        other.id: 0,
    }
    assert report.sessions_without_roll_call == 1

    login(client, manager)
    html = client.get(f"/courses/clcs/{centre.clc.id}/report?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    total = html.split('id="without-roll-call-total">')[1].split("<")[0]
    assert total == "1 buổi chưa điểm danh"
    rows = html.split('id="report-classes"')[1].split("<tr>")[2:]
    flagged = [row for row in rows if 'class="d-block small text-warning-emphasis class-without-roll-call"' in row]
    assert len(flagged) == 1
    assert course_class.name in flagged[0]
    assert "1 buổi chưa điểm danh" in flagged[0]
    assert "không tính là vắng đối với ai" in html.split('id="rate-rule"')[1].split("</p>")[0]

    content = client.get(f"/courses/clcs/{centre.clc.id}/report.xlsx?from=2026-03-01&to=2026-03-31").get_data()
    workbook = load_workbook(io.BytesIO(content))
    values = {row[0]: row[1] for row in workbook["Tổng hợp"].iter_rows(values_only=True) if row and row[0]}
    assert values["Trong đó: số buổi chưa điểm danh (không tính vào tỷ lệ chuyên cần)"] == 1
    per_class = list(workbook["Theo lớp"].iter_rows(values_only=True))
    assert per_class[0][8] == "Số buổi chưa điểm danh (không tính vào tỷ lệ)"
    assert {r[1]: (r[4], r[8]) for r in per_class[1:]} == {course_class.name: (5, 1), "Lớp đủ điểm danh": (1, 0)}
