"""The paper attendance sheet: one legend for the book, the blank sheet and the importer; a preview before anything
is written; a confirmation that applies exactly what was previewed; revocations that are never silent (ADR 19)."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from courses import services, sheet_import
from courses.models import Attendance, AttendanceSheetPreview, Certificate, ClassSession
from courses.services import Mark
from lms.auth.models import Role
from lms.core.models import AuditEvent
from lms.extensions import db, utcnow
from tests.conftest import csrf_token, login, make_user
from tests.courses.conftest import make_centre, make_class
from tests.courses.test_documents import _confirm, _marks, _mondays, _upload, _xlsx

MARKED = datetime(2026, 3, 1, 8)


def _mark(session, person, status):
    services.record_attendance(session, [Mark(person.id, status, MARKED)], user_id=None)


def _attendance_rows(course_class):
    """Every stored column of the class's marks: a rewrite with the same status would show here."""
    return sorted(
        db.session.execute(
            select(
                Attendance.id,
                Attendance.session_id,
                Attendance.person_id,
                Attendance.status,
                Attendance.recorded_at,
                Attendance.device,
                Attendance.received_at,
            )
            .join(ClassSession, ClassSession.id == Attendance.session_id)
            .where(ClassSession.class_id == course_class.id)
        ).all()
    )


def _certificates(course_class):
    return sorted(
        db.session.execute(
            select(Certificate.id, Certificate.person_id, Certificate.code, Certificate.revoked_at).where(
                Certificate.class_id == course_class.id
            )
        ).all()
    )


def _audit_count(action):
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


@pytest.fixture
def finished_class(app_ctx):
    """A finished class (4 Mondays of March 2026, the third cancelled) with every kind of mark, two learners with
    the same name, a withdrawn learner with marks, and two certificates; and its manager."""
    centre = make_centre(learners=6)
    course_class = make_class(centre)
    sessions = _mondays(course_class)
    a, b, c, twin1, twin2, leaver = centre.learners
    twin1.full_name = twin2.full_name = "Lê Văn Song"
    services.enrol(course_class, [p.id for p in centre.learners])
    grid = {
        a: ["present", "present", None, "present"],
        b: ["late", "present", None, "present"],
        c: ["excused", "absent", None, "absent"],
        twin1: ["present", None, None, "late"],
        twin2: ["absent", "present", None, None],
        leaver: ["present", "absent", None, None],
    }
    for learner, statuses in grid.items():
        for session, status in zip(sessions, statuses, strict=True):
            if status:
                _mark(session, learner, status)
    services.cancel(sessions[2], "mưa lũ")
    services.withdraw(course_class, leaver.id)
    services.recompute_class(course_class.id)
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "manager-sheet@example.vn")
    db.session.commit()
    return course_class, sessions, grid, manager


def test_the_attendance_book_exported_and_imported_back_changes_nothing(client, finished_class):
    course_class, _, grid, manager = finished_class
    assert len([c for c in _certificates(course_class) if c.revoked_at is None]) == 2  # a and b
    marks, certificates = _attendance_rows(course_class), _certificates(course_class)
    login(client, manager)
    book = client.get(f"/courses/classes/{course_class.id}/attendance-book.xlsx")
    assert book.status_code == 200
    preview = _upload(client, course_class, book.get_data())
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html[:3000]
    counts = dict(re.findall(r'data-kind="(\w+)">[^<]*<strong>(\d+)</strong>', html))
    marked = sum(1 for learner, statuses in grid.items() for s in statuses if s and learner.full_name)
    assert counts == {"new": "0", "changed": "0", "unchanged": str(marked - 2), "refused": "0"}  # the leaver's 2
    assert 'id="preview-nothing"' in html
    assert 'id="confirm-sheet"' not in html
    assert 'id="preview-revoked"' not in html
    assert _attendance_rows(course_class) == marks
    assert _certificates(course_class) == certificates
    assert db.session.scalar(select(func.count()).select_from(AttendanceSheetPreview)) == 0
    assert _audit_count("class.attendance_import") == 0


def test_the_legend_is_the_same_in_the_book_the_blank_sheet_and_the_page(client, finished_class):
    course_class, *_, manager = finished_class
    login(client, manager)
    legend = "P hoặc x = Có mặt; M = Đi muộn; CP = Vắng có phép; V hoặc K = Vắng"
    book = load_workbook(io.BytesIO(client.get(f"/courses/classes/{course_class.id}/attendance-book.xlsx").data))
    assert legend in book.active["A4"].value
    blank = load_workbook(io.BytesIO(client.get(f"/courses/classes/{course_class.id}/attendance-sheet.xlsx").data))
    assert any(legend in (row[0] or "") for row in blank["Hướng dẫn"].iter_rows(values_only=True))
    assert blank.worksheets[0].data_validations.dataValidation[0].formula1 == '"P,M,CP,V"'
    page = client.get(f"/courses/classes/{course_class.id}/attendance-sheet").get_data(as_text=True)
    assert legend in page


def test_a_sheet_marked_p_means_present(client, finished_class):
    course_class, sessions, grid, manager = finished_class
    _, _, c, *_ = grid
    login(client, manager)
    rows = [["Học viên", "02/03/2026", "09/03/2026", "23/03/2026"], [c.full_name, "P", "p", "P"]]
    preview = _upload(client, course_class, _xlsx(rows))
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Vắng có phép" in html or "Excused" in html  # the old value, in the changed rows
    assert _confirm(client, course_class, preview).status_code == 302
    marks = _marks(course_class)
    assert [marks[(s.id, c.id)] for s in (sessions[0], sessions[1], sessions[3])] == ["present"] * 3


def test_the_preview_lists_the_revocation_and_the_confirmation_does_it_with_its_reason(client, finished_class):
    course_class, sessions, grid, manager = finished_class
    a, *_ = grid
    certificate = db.session.scalar(
        select(Certificate).where(Certificate.class_id == course_class.id, Certificate.person_id == a.id)
    )
    login(client, manager)
    rows = [["Học viên", "02/03/2026", "09/03/2026", "23/03/2026"], [a.full_name, "V", "v", "P"]]
    before = _attendance_rows(course_class)
    preview = _upload(client, course_class, _xlsx(rows), filename="buoi-thang-3.xlsx", language="vi")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html[:3000]
    assert "Ghi 2 điểm danh, thu hồi 1 chứng nhận" in html
    revoked = html.split('id="preview-revoked"', 1)[1].split("</div>", 1)[0]
    assert certificate.code in revoked
    assert a.full_name in revoked
    assert a.full_name in html.split('id="preview-dropping"', 1)[1].split("</div>", 1)[0]
    # Nothing written by the preview.
    assert _attendance_rows(course_class) == before
    db.session.refresh(certificate)
    assert certificate.revoked_at is None

    response = _confirm(client, course_class, preview, language="vi")
    assert response.status_code == 302
    db.session.expire_all()
    assert _marks(course_class)[(sessions[0].id, a.id)] == "absent"
    certificate = db.session.get(Certificate, certificate.id)
    assert certificate.revoked_at is not None
    assert "buoi-thang-3.xlsx" in certificate.revoked_reason
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "certificate.revoke", AuditEvent.object_id == str(certificate.id))
    )
    assert event is not None
    assert event.user_id == manager.id
    assert event.details["reason"] == certificate.revoked_reason
    assert event.details["code"] == certificate.code
    assert "1 chứng nhận" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(AttendanceSheetPreview)) == 0

    client.post(
        "/logout", data={"csrf_token": csrf_token(client, f"/courses/classes/{course_class.id}/attendance-sheet")}
    )
    verify = client.get(f"/courses/verify/{certificate.code}", headers={"Accept-Language": "vi"})
    text = verify.get_data(as_text=True)
    assert re.search(r"Thu hồi ngày \d{2}/\d{2}/\d{4} vì: [^<]*buoi-thang-3\.xlsx", text), text


def test_a_confirmation_after_the_data_changed_writes_nothing_and_previews_again(client, finished_class):
    course_class, sessions, grid, manager = finished_class
    a, b, *_ = grid
    login(client, manager)
    rows = [["Học viên", "02/03/2026"], [a.full_name, "V"], [b.full_name, "P"]]
    preview = _upload(client, course_class, _xlsx(rows))
    assert "revoke 1 certificates" in preview.get_data(as_text=True)
    # Meanwhile a phone corrects b's first mark: the sheet's "P" for b is no longer a change.
    services.record_attendance(sessions[0], [Mark(b.id, "present", utcnow())], user_id=None)
    db.session.commit()
    before = _attendance_rows(course_class)
    again = _confirm(client, course_class, preview)
    html = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "changed after your preview" in html
    assert _attendance_rows(course_class) == before
    assert "Write 1 marks, revoke 1 certificates" in html
    assert _confirm(client, course_class, again).status_code == 302
    assert _marks(course_class)[(sessions[0].id, a.id)] == "absent"
    # The old token is spent.
    assert _confirm(client, course_class, preview).status_code == 302
    assert _audit_count("class.attendance_import") == 1


def test_a_preview_belongs_to_its_user(client, finished_class):
    course_class, _, grid, manager = finished_class
    a, *_ = grid
    from lms.registry.models import AdminUnit

    commune = db.session.get(AdminUnit, course_class.commune_id)
    other = make_user(Role.CENTRE_MANAGER, commune, "other-manager@example.vn")
    db.session.commit()
    login(client, manager)
    preview = _upload(client, course_class, _xlsx([["Học viên", "02/03/2026"], [a.full_name, "V"]]))
    client.post(
        "/logout", data={"csrf_token": csrf_token(client, f"/courses/classes/{course_class.id}/attendance-sheet")}
    )
    login(client, other)
    before = _attendance_rows(course_class)
    assert _confirm(client, course_class, preview).status_code == 302  # "upload it again"
    assert _attendance_rows(course_class) == before


def test_the_preview_takes_a_constant_number_of_queries(app_ctx, count_queries):
    counts = []
    for code, size in (("23293", 3), ("23302", 12)):
        centre = make_centre(code, learners=size, label=f"Q{size}")
        course_class = make_class(centre)
        sessions = _mondays(course_class)
        services.enrol(course_class, [p.id for p in centre.learners])
        for session in sessions:
            services.record_attendance(session, [Mark(p.id, "present", MARKED) for p in centre.learners], user_id=None)
        services.recompute_class(course_class.id)
        rows = [["Học viên", "02/03/2026", "09/03/2026"]] + [[p.full_name, "V", "CP"] for p in centre.learners]
        parsed = sheet_import.check_sheet(course_class, _xlsx(rows))
        with count_queries() as counter:
            result = sheet_import.preview(course_class, parsed)
        assert len(result.changed) == 2 * size
        assert len(result.revoked) == size
        counts.append(counter.count)
    assert counts[0] == counts[1]


def test_the_learner_sees_why_and_when_a_certificate_was_revoked(client, finished_class):
    course_class, sessions, grid, _ = finished_class
    a, *_ = grid
    code = db.session.scalar(
        select(Certificate.code).where(Certificate.class_id == course_class.id, Certificate.person_id == a.id)
    )
    for session in sessions[:2]:
        services.record_attendance(session, [Mark(a.id, "absent", utcnow())], user_id=None)
    services.recompute_class(course_class.id, revoked_reason="điểm danh buổi 1 và 2 được sửa")
    from lms.registry.models import AdminUnit

    user = make_user(Role.ASSOCIATION_OFFICER, db.session.get(AdminUnit, course_class.commune_id), "hv@example.vn")
    user.person_id = a.id
    db.session.commit()
    login(client, user)
    html = client.get("/courses/it/me").get_data(as_text=True)
    section = html.split('id="certificates"', 1)[1]
    assert code in section
    assert re.search(r"Thu hồi ngày \d{2}/\d{2}/\d{4} vì: điểm danh buổi 1 và 2 được sửa", section), section[:2000]


def test_the_pdf_book_prints_the_same_legend(client, finished_class):
    from tests.courses.test_documents import _pdf_text

    course_class, *_, manager = finished_class
    login(client, manager)
    text = " ".join(_pdf_text(client.get(f"/courses/classes/{course_class.id}/attendance-book.pdf").data).split())
    assert "P hoặc x = Có mặt; M = Đi muộn; CP = Vắng có phép; V hoặc K = Vắng" in text


def test_a_revocation_by_the_completion_task_is_audited_with_its_reason(app_ctx, finished_class):
    from courses.tasks import recompute_completions

    course_class, sessions, grid, _ = finished_class
    a, *_ = grid
    certificate_id = db.session.scalar(
        select(Certificate.id).where(Certificate.class_id == course_class.id, Certificate.person_id == a.id)
    )
    for session in sessions[:2]:
        services.record_attendance(session, [Mark(a.id, "absent", utcnow())], user_id=None)
    db.session.commit()  # the task runs after the commit (eagerly in tests)
    recompute_completions.apply(kwargs={"class_id": course_class.id})
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "certificate.revoke", AuditEvent.object_id == str(certificate_id))
    )
    assert event is not None
    assert event.user_id is None
    assert event.details["reason"] == services.REVOKED_NOT_COMPLETED
    assert db.session.get(Certificate, certificate_id).revoked_reason == services.REVOKED_NOT_COMPLETED
