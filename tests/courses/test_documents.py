"""Documents of the class programme: the certificate PDF and its QR, the public verification page, the attendance
book, the paper attendance sheet import, the centre report, and their scoping."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date, datetime, time
from decimal import Decimal
from fractions import Fraction

import pytest
import zxingcpp
from flask import url_for
from openpyxl import Workbook, load_workbook
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ContentStream
from sqlalchemy import func, select

from courses import documents, reports, services
from courses.models import Attendance, Certificate, ClassSession
from courses.scheduling import Recurrence
from courses.services import Mark
from lms.auth.models import Role
from lms.core.models import AuditEvent
from lms.extensions import db
from tests.conftest import choose_language, csrf_token, login, make_user
from tests.courses.conftest import make_centre, make_class

AFTER = datetime(2026, 4, 1, 12)
MARKED = datetime(2026, 3, 1, 8)
LEARNER = "Nguyễn Thị Ánh Dương"


def _mondays(course_class, count=4, start=time(19), end=time(21)):
    return services.schedule_recurring(
        course_class, Recurrence(first_day=date(2026, 3, 2), weekdays=frozenset({0}), start=start, end=end, count=count)
    )


def _mondays_of(course_class):
    return list(
        db.session.scalars(
            select(ClassSession).where(ClassSession.class_id == course_class.id).order_by(ClassSession.starts_at)
        )
    )


def _mark(session, person, status):
    services.record_attendance(session, [Mark(person.id, status, MARKED)], user_id=None)


@pytest.fixture
def certified(app_ctx):
    """A class of commune 23293 with one learner who completed it and holds a certificate, and its manager."""
    centre = make_centre()
    learner = centre.learners[0]
    learner.full_name, learner.birth_date, learner.sex = LEARNER, date(1985, 4, 7), "F"
    course_class = make_class(centre)
    sessions = _mondays(course_class)
    services.enrol(course_class, [learner.id])
    for session in sessions:
        _mark(session, learner, "present")
    services.recompute_class(course_class.id, as_of=AFTER)
    certificate = db.session.scalar(select(Certificate).where(Certificate.class_id == course_class.id))
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "manager-23293@example.vn")
    db.session.commit()
    return centre, course_class, certificate, manager


# --- helpers: read what a person would read ------------------------------------------------------------------


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _multiply(a, b):
    """Compose PDF matrices [a b c d e f]: ``a`` applied first, then ``b``."""
    return [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]


def _decode_qr(content: bytes) -> str:
    """Rebuild the QR code from the filled rectangles the certificate's page draws, and decode it with ZXing."""
    reader = PdfReader(io.BytesIO(content))
    page = reader.pages[0]
    ctm, stack, pending, rects = [1, 0, 0, 1, 0, 0], [], [], []
    for operands, operator in ContentStream(page.get_contents(), reader).operations:
        if operator == b"q":
            stack.append(ctm)
        elif operator == b"Q":
            ctm = stack.pop()
        elif operator == b"cm":
            ctm = _multiply([float(v) for v in operands], ctm)
        elif operator == b"re":
            x, y, w, h = (float(v) for v in operands)
            pending.append((ctm[0] * x + ctm[4], ctm[3] * y + ctm[5], ctm[0] * w, ctm[3] * h))
        elif operator in (b"f", b"f*", b"F"):
            rects += pending
            pending = []
        elif operator in (b"S", b"n", b"s", b"B", b"b"):
            pending = []
    # The page's QR code is the bottom-left one; the credential's, right of it, is read in tests/credentials (ADR 32).
    rects = [r for r in rects if r[0] < 300]
    assert rects, "the certificate draws no QR code"
    module = min(h for _, _, _, h in rects)
    left, top = min(x for x, _, _, _ in rects), max(y + h for _, y, _, h in rects)
    size = round((max(x + w for x, _, w, _ in rects) - left) / module)
    quiet, scale = 4, 6
    image = Image.new("L", ((size + 2 * quiet) * scale,) * 2, 255)
    for x, y, w, h in rects:
        col, row = round((x - left) / module), round((top - (y + h)) / module)
        for c in range(col, col + round(w / module)):
            for r in range(row, row + round(h / module)):
                image.paste(
                    0, ((c + quiet) * scale, (r + quiet) * scale, (c + quiet + 1) * scale, (r + quiet + 1) * scale)
                )
    result = zxingcpp.read_barcode(image)
    assert result is not None, "the QR code does not decode"
    return result.text


def _xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _marks(course_class):
    """(session id, person id) → status of every mark of the class."""
    rows = db.session.execute(
        select(Attendance.session_id, Attendance.person_id, Attendance.status)
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .where(ClassSession.class_id == course_class.id)
    )
    return {(session_id, person_id): status for session_id, person_id, status in rows}


def _audits(action):
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


# --- certificate ---------------------------------------------------------------------------------------------


def test_verification_url_is_the_absolute_address_of_the_public_page(app):
    with app.test_request_context(base_url="https://lms.example.vn"):
        assert documents.verification_url("ABCD-EFGH-JKLM") == "https://lms.example.vn/courses/verify/ABCD-EFGH-JKLM"
        assert url_for("courses.verify", code="ABCD-EFGH-JKLM") == "/courses/verify/ABCD-EFGH-JKLM"


def test_certificate_pdf_is_vietnamese_and_its_qr_leads_to_the_verification_page(client, certified):
    _, course_class, certificate, manager = certified
    login(client, manager)
    response = client.get(f"/courses/certificates/{certificate.code}.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    content = response.get_data()
    assert content.startswith(b"%PDF")
    text = _pdf_text(content)
    for expected in (
        LEARNER,
        certificate.code,
        "GIẤY CHỨNG NHẬN HOÀN THÀNH KHÓA HỌC",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Kỹ thuật trồng cà phê",
        course_class.name,
        "07/04/1985",
        "12 giờ",
        "Kon Tum, ngày 23 tháng 03 năm 2026",
        # The sessions it attests (four Mondays, 02/03 to 23/03), not the class's planned end (31/03) after the day
        # of issue.
        "từ ngày 02/03/2026 đến ngày 23/03/2026",
    ):
        assert expected in text, expected
    assert "31/03/2026" not in text
    assert _decode_qr(content) == f"http://localhost/courses/verify/{certificate.code}"
    assert _audits("certificate.download") == 1


def test_the_public_page_of_an_it_class_certificate_names_its_modules(client, certified):
    """The QR code of an officer's certificate of an IT class opens the public page: it names the modules of Circular
    03/2014 the class trained them in, in the standard's order, as the PDF does; any other course's does not."""
    _, course_class, certificate, _ = certified
    assert 'id="certificate-modules"' not in client.get(f"/courses/verify/{certificate.code}").get_data(as_text=True)
    course_class.course.module_codes = ["IU06", "IU01", "IU03"]
    db.session.commit()
    html = client.get(f"/courses/verify/{certificate.code}").get_data(as_text=True)
    modules = html.split('id="certificate-modules">', 1)[1].split("</dd>", 1)[0]
    assert modules == "IU01 Hiểu biết về CNTT cơ bản<br>IU03 Xử lý văn bản cơ bản<br>IU06 Sử dụng Internet cơ bản"


def test_the_holder_downloads_their_certificate_from_my_training_and_no_one_else_s(client, certified):
    """An association officer holds no class permission: their own certificate still opens from My training."""
    centre, _course_class, certificate, _ = certified
    holder = make_user(Role.ASSOCIATION_OFFICER, centre.commune, "holder-23293@example.vn")
    holder.person_id = certificate.person_id
    other = make_user(Role.ASSOCIATION_OFFICER, centre.commune, "other-23293@example.vn")
    other.person_id = centre.learners[1].id
    db.session.commit()
    login(client, holder)
    page = client.get("/courses/it/me").get_data(as_text=True)
    link = f'href="/courses/certificates/{certificate.code}.pdf"'
    assert link in page
    response = client.get(f"/courses/certificates/{certificate.code}.pdf")
    assert response.status_code == 200
    assert LEARNER in _pdf_text(response.get_data())
    client.post("/logout", data={"csrf_token": csrf_token(client, "/courses/it/me")})
    login(client, other)
    assert link not in client.get("/courses/it/me").get_data(as_text=True)
    assert client.get(f"/courses/certificates/{certificate.code}.pdf").status_code == 404


def test_a_certificate_is_drawn_after_its_credential_is_committed(client, certified, monkeypatch):
    """Drawing the PDF holds no write lock: the credential it issues and the audit event are committed first (every
    learner may now download their own, from My training)."""
    from lms.credentials.models import IssuedCredential

    _, _course_class, certificate, manager = certified
    drawn_in_transaction = []
    draw = documents.certificate_pdf

    def spy(data):
        drawn_in_transaction.append(db.session().in_transaction())
        return draw(data)

    monkeypatch.setattr(documents, "certificate_pdf", spy)
    login(client, manager)
    assert client.get(f"/courses/certificates/{certificate.code}.pdf").status_code == 200
    assert drawn_in_transaction == [False]
    assert db.session.scalar(select(func.count()).select_from(IssuedCredential)) == 1


def test_cancelling_a_held_session_shows_its_marks_and_the_certificates_it_revokes_first(client, certified):
    """Three of four sessions attended is the 75 % the course asks; cancelling an attended one leaves two of three."""
    centre, course_class, certificate, manager = certified
    first, second, *_ = _mondays_of(course_class)
    services.record_attendance(second, [Mark(centre.learners[0].id, "absent", datetime(2026, 3, 9, 22))], user_id=None)
    services.recompute_class(course_class.id, as_of=AFTER)
    db.session.commit()
    login(client, manager)
    url = f"/courses/sessions/{first.id}/cancel"
    token = csrf_token(client, f"/courses/sessions/{first.id}")
    look = client.post(url, data={"csrf_token": token, "cancel-reason": "Nhập nhầm buổi"})
    assert look.status_code == 200
    page = look.get_data(as_text=True)
    assert "Buổi học này đã có 1 lượt điểm danh" in page
    assert "Các giấy chứng nhận sau sẽ bị thu hồi" in page
    assert f"{LEARNER} · {certificate.code}" in page
    shown = re.search(r'name="confirmed" value="([0-9a-f]{32})"', page)
    assert shown
    db.session.expire_all()
    assert first.status == "scheduled"  # nothing written before the confirmation
    # A mark entered after the preview was shown: the confirmation is for what was shown, so it is shown again.
    services.enrol(course_class, [centre.learners[1].id])
    services.record_attendance(first, [Mark(centre.learners[1].id, "present", datetime(2026, 3, 2, 23))], user_id=None)
    db.session.commit()
    # Out of date: 409 as on the recurring-sessions and bulk-enrolment pages, the new preview, and what changed.
    again = client.post(
        url,
        data={
            "csrf_token": token,
            "cancel-reason": "Nhập nhầm buổi",
            "confirmed": shown[1],
            **dict(re.findall(r'name="(shown_[a-z]+)" value="(\d+)"', page)),
        },
    )
    assert again.status_code == 409
    assert "Buổi học này đã có 2 lượt điểm danh" in again.get_data(as_text=True)
    assert "lượt điểm danh: 1, nay 2" in again.get_data(as_text=True)
    db.session.expire_all()
    assert first.status == "scheduled"
    shown = re.search(r'name="confirmed" value="([0-9a-f]{32})"', again.get_data(as_text=True))
    assert shown
    done = client.post(url, data={"csrf_token": token, "cancel-reason": "Nhập nhầm buổi", "confirmed": shown[1]})
    assert done.status_code == 302
    db.session.expire_all()
    assert first.status == "cancelled"


def test_a_revoked_certificate_cannot_be_downloaded(client, certified):
    centre, course_class, certificate, manager = certified
    session = db.session.scalar(select(ClassSession).where(ClassSession.class_id == course_class.id).limit(1))
    services.record_attendance(session, [Mark(centre.learners[0].id, "absent", datetime(2026, 3, 2, 22))], user_id=None)
    services.recompute_class(course_class.id, as_of=AFTER)  # 3 of 4 = 75 %: still enough
    services.record_attendance(
        db.session.scalars(
            select(ClassSession).where(ClassSession.class_id == course_class.id).order_by(ClassSession.starts_at.desc())
        ).first(),
        [Mark(centre.learners[0].id, "absent", datetime(2026, 3, 23, 22))],
        user_id=None,
    )
    services.recompute_class(course_class.id, as_of=AFTER)  # 2 of 4: revoked
    db.session.commit()
    db.session.refresh(certificate)
    assert certificate.revoked_at is not None
    login(client, manager)
    response = client.get(f"/courses/certificates/{certificate.code}.pdf")
    assert response.status_code == 410
    body = response.get_data(as_text=True)
    assert certificate.code in body
    assert "thu hồi" in body  # pages are Vietnamese by default
    assert _audits("certificate.download") == 0


# --- public verification ---------------------------------------------------------------------------------------


def test_verification_of_a_valid_certificate_shows_only_the_minimum_logged_out(client, certified):
    _, course_class, certificate, _ = certified
    response = client.get(f"/courses/verify/{certificate.code.lower()}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-status="valid"' in html
    assert "N. T. Á. Dương" in html
    assert "Kỹ thuật trồng cà phê" in html
    assert "Trung tâm học tập cộng đồng" in html
    assert certificate.issued_on.strftime("%d/%m/%Y") in html
    for private in ("Nguyễn", "Ánh", "07/04/1985", "1985", course_class.name):
        assert private not in html, private
    assert "/login" not in response.headers.get("Location", "")


def test_verification_of_a_revoked_certificate_says_so_with_the_reason(client, certified):
    _, _, certificate, _ = certified
    certificate.revoked_at, certificate.revoked_reason = datetime(2026, 4, 2), "cấp nhầm người"
    db.session.commit()
    html = client.get(f"/courses/verify/{certificate.code}").get_data(as_text=True)
    assert 'data-status="revoked"' in html
    assert "cấp nhầm người" in html
    assert 'data-status="valid"' not in html


def test_an_unknown_code_is_a_404_page_that_says_so(client, certified):
    response = client.get("/courses/verify/ZZZZ-ZZZZ-ZZZZ")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert 'data-status="unknown"' in html
    assert "ZZZZ-ZZZZ-ZZZZ" in html


def test_the_verification_form_leads_to_the_result(client, certified):
    _, _, certificate, _ = certified
    assert client.get("/courses/verify").status_code == 200
    response = client.get(f"/courses/verify?code=+{certificate.code.lower()}+")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/courses/verify/{certificate.code}")
    typed = certificate.code.replace("-", " ").lower()  # as read out over the phone
    assert client.get(f"/courses/verify?code={typed}").headers["Location"].endswith(certificate.code)
    assert client.get(f"/courses/verify/{certificate.code.replace('-', '')}").status_code == 200


def test_verification_is_rate_limited_against_guessing(rate_limited_app):
    client = rate_limited_app().test_client()
    statuses = [client.get(f"/courses/verify/GUES-SCOD-E{i:03d}").status_code for i in range(31)]
    assert statuses[:30] == [404] * 30
    assert statuses[30] == 429
    assert client.get("/courses/verify").status_code == 429  # the form shares the budget


# --- attendance book -------------------------------------------------------------------------------------------


@pytest.fixture
def marked_class(app_ctx):
    centre = make_centre(learners=4)
    course_class = make_class(centre)
    sessions = _mondays(course_class)
    services.enrol(course_class, [p.id for p in centre.learners])
    a, b, c, d = centre.learners
    grid = {
        a: ["present", "present", None, "present"],
        b: ["late", "absent", None, "present"],
        c: ["excused", None, None, "absent"],
        d: [None, None, None, None],
    }
    for learner, statuses in grid.items():
        for session, status in zip(sessions, statuses, strict=True):
            if status:
                _mark(session, learner, status)
    services.cancel(sessions[2], "mưa lũ")
    services.recompute_class(course_class.id, as_of=AFTER)
    return centre, course_class, sessions, grid


def test_attendance_book_xlsx_shows_the_marks_totals_and_cancelled_sessions(client, marked_class):
    centre, course_class, _, grid = marked_class
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, manager)
    response = client.get(f"/courses/classes/{course_class.id}/attendance-book.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header_index = next(i for i, r in enumerate(rows) if r[0] == "STT")
    header = rows[header_index]
    assert header[3:7] == ["02/03/2026", "09/03/2026", "16/03/2026 (hủy)", "23/03/2026"]
    assert header[7] == "Số buổi có mặt"
    abbreviation = {"present": "P", "late": "M", "excused": "CP", "absent": "V", None: None}
    by_name = {r[1]: r for r in rows[header_index + 1 :] if r[1] and r[0] is not None}
    for learner, statuses in grid.items():
        row = by_name[learner.full_name]
        assert row[3:7] == [abbreviation[s] for s in statuses], learner.full_name
        attended = sum(s in ("present", "late") for s in statuses)
        assert row[7] == attended
        assert row[8] == 3
    a, b, *_ = grid
    assert by_name[a.full_name][10] == "Hoàn thành"  # 3 of 3
    assert by_name[a.full_name][11]  # with its certificate code
    assert not by_name[b.full_name][10]  # 2 of 3 < 75 %
    totals = next(r for r in rows if r[1] == "Số học viên có mặt")
    assert totals[3:8] == [2, 1, None, 2, 5]
    assert _audits("export.attendance_book") == 1


def test_attendance_book_is_a_constant_number_of_queries(app_ctx, count_queries):
    counts = []
    for code, size in (("23293", 3), ("23302", 12)):
        centre = make_centre(code, learners=size, label=f"Q{size}")
        course_class = make_class(centre)
        sessions = _mondays(course_class)
        services.enrol(course_class, [p.id for p in centre.learners])
        for session in sessions:
            services.record_attendance(session, [Mark(p.id, "present", MARKED) for p in centre.learners], user_id=None)
        db.session.expire_all()
        course_class = db.session.get(type(course_class), course_class.id)
        with count_queries() as counter:
            book = documents.attendance_book(course_class, as_of=AFTER)
        assert len(book.learners) == size
        assert all(learner.attended == 4 for learner in book.learners)
        counts.append(counter.count)
    assert counts[0] == counts[1] <= 8


def test_attendance_book_pdf(client, marked_class):
    centre, course_class, _, grid = marked_class
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, manager)
    response = client.get(f"/courses/classes/{course_class.id}/attendance-book.pdf")
    assert response.status_code == 200
    assert response.get_data().startswith(b"%PDF")
    text = _pdf_text(response.get_data())
    assert "SỔ ĐIỂM DANH LỚP HỌC" in text
    assert course_class.name in text
    for learner in grid:
        assert learner.full_name in text
    assert "hủy" in text
    assert _audits("export.attendance_book") == 1
    assert "2026\n19:00" not in text  # a class within one year: day and month only


def test_the_attendance_book_names_its_maker_in_the_pdf_and_the_workbook(client, marked_class):
    """The book printed and filed said the day it was made only; the centre report and the targets reports name
    their maker ("Người lập"), and so does the book, in both forms."""
    centre, course_class, _, _ = marked_class
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    manager.name = "Trần Thị Lập"
    db.session.commit()
    login(client, manager)
    text = " ".join(_pdf_text(client.get(f"/courses/classes/{course_class.id}/attendance-book.pdf").get_data()).split())
    assert "Người lập: Trần Thị Lập." in text
    sheet = load_workbook(
        io.BytesIO(client.get(f"/courses/classes/{course_class.id}/attendance-book.xlsx").get_data())
    ).active
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert any("Lập ngày" in c and c.endswith("Người lập: Trần Thị Lập.") for c in cells), cells[-3:]


def test_an_attendance_book_over_the_new_year_gives_each_column_its_year(client, app_ctx):
    """uxc's finding: "05/01" read as before "28/12" in a class that ran over the new year."""
    centre = make_centre()
    course_class = make_class(centre, starts_on=date(2026, 12, 21), ends_on=date(2027, 1, 15))
    services.schedule(
        course_class,
        [
            (datetime(2026, 12, 28, 19), datetime(2026, 12, 28, 21)),
            (datetime(2027, 1, 5, 19), datetime(2027, 1, 5, 21)),
        ],
    )
    services.enrol(course_class, [centre.learners[0].id])
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "book-newyear@example.vn")
    db.session.commit()
    login(client, manager)
    text = _pdf_text(client.get(f"/courses/classes/{course_class.id}/attendance-book.pdf").get_data())
    lines = [line.strip() for line in text.splitlines()]
    assert lines[lines.index("28/12") : lines.index("28/12") + 3] == ["28/12", "2026", "19:00"]
    assert lines[lines.index("05/01") : lines.index("05/01") + 3] == ["05/01", "2027", "19:00"]


# --- paper attendance sheet --------------------------------------------------------------------------------------


@pytest.fixture
def sheet_class(app_ctx):
    """Four enrolled learners, a fifth of the commune who is not enrolled; sessions on 2/3, twice on 9/3 (8:00
    and 19:00), and 16/3 (cancelled); some marks already taken on a phone."""
    centre = make_centre(learners=5)
    course_class = make_class(centre)
    s1, s2, s3, s4 = services.schedule(
        course_class,
        [
            (datetime(2026, 3, 2, 19), datetime(2026, 3, 2, 21)),
            (datetime(2026, 3, 9, 8), datetime(2026, 3, 9, 10)),
            (datetime(2026, 3, 9, 19), datetime(2026, 3, 9, 21)),
            (datetime(2026, 3, 16, 19), datetime(2026, 3, 16, 21)),
        ],
    )
    services.cancel(s4, "bão")
    enrolled, outsider = centre.learners[:4], centre.learners[4]
    services.enrol(course_class, [p.id for p in enrolled])
    _mark(s1, enrolled[0], "absent")
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    return centre, course_class, (s1, s2, s3, s4), enrolled, outsider, manager


def _upload(client, course_class, content, filename="sheet.xlsx", language="en"):
    url = f"/courses/classes/{course_class.id}/attendance-sheet"
    choose_language(client, language, url)
    token = csrf_token(client, url)
    return client.post(
        url, data={"csrf_token": token, "file": (io.BytesIO(content), filename)}, content_type="multipart/form-data"
    )


def _confirm(client, course_class, response, language="en"):
    """Press the preview's confirm button."""
    import re

    html = response.get_data(as_text=True)
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html) or re.search(
        r'id="token" name="token" type="hidden" value="([^"]+)"', html
    )
    assert token, html[:3000]
    url = f"/courses/classes/{course_class.id}/attendance-sheet/confirm"
    return client.post(
        url,
        data={
            "csrf_token": csrf_token(client, f"/courses/classes/{course_class.id}/attendance-sheet"),
            "token": token[1],
        },
        headers={"Accept-Language": language},
    )


def _good_rows(enrolled):
    a, b, c, d = enrolled
    return [
        ["Học viên", datetime(2026, 3, 2), "09/03/2026 08:00", "09/03/2026 19:00"],
        [a.full_name.lower().replace("ọ", "o").replace("ê", "e"), "x", "P", "m"],  # without diacritics
        [f"#{b.id}", "cp", "V", "k"],
        [c.id, "có mặt", None, "Vắng có phép"],  # the legend's names, too
        [f"{d.full_name} (#{d.id})", None, None, None],
    ]


def test_a_good_sheet_applies_every_mark(client, sheet_class):
    _, course_class, (s1, s2, s3, _), enrolled, _, manager = sheet_class
    a, b, c, _ = enrolled
    login(client, manager)
    before = _marks(course_class)
    preview = _upload(client, course_class, _xlsx(_good_rows(enrolled)))
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    assert _marks(course_class) == before  # the upload only previews
    html = preview.get_data(as_text=True)
    assert "Write 8 marks" in html
    response = _confirm(client, course_class, preview)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert _marks(course_class) == {
        (s1.id, a.id): "present",
        (s2.id, a.id): "present",
        (s3.id, a.id): "late",  # the phone's mark replaced
        (s1.id, b.id): "excused",
        (s2.id, b.id): "absent",
        (s3.id, b.id): "absent",
        (s1.id, c.id): "present",
        (s3.id, c.id): "excused",
    }
    page = client.get(response.headers["Location"]).get_data(as_text=True)  # English, as chosen for the upload
    assert "8 marks written (7 new, 1 changed), 0 unchanged" in page
    assert _audits("class.attendance_import") == 1


def test_the_blank_sheet_lists_the_class_and_comes_back_in(client, sheet_class):
    _, course_class, (s1, *_), enrolled, _, manager = sheet_class
    login(client, manager)
    response = client.get(f"/courses/classes/{course_class.id}/attendance-sheet.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["Học viên", "02/03/2026", "09/03/2026 08:00", "09/03/2026 19:00"]  # no cancelled session
    assert sorted(r[0] for r in rows[1:]) == sorted(p.full_name for p in enrolled)
    for r in range(2, len(rows) + 1):
        sheet.cell(row=r, column=2, value="x")
    buffer = io.BytesIO()
    sheet.parent.save(buffer)
    assert _confirm(client, course_class, _upload(client, course_class, buffer.getvalue())).status_code == 302
    present = {p for (s, p), status in _marks(course_class).items() if s == s1.id and status == "present"}
    assert present == {p.id for p in enrolled}


def _errors(response):
    """(row, column) of every error in the page's error table."""
    import re

    html = response.get_data(as_text=True)
    body = html.split('id="sheet-errors"', 1)[1]
    return [
        (int(row) if row else None, col or None) for row, col in re.findall(r"<tr><td>(\d*)</td>\s*<td>([A-Z]*)", body)
    ], html


BAD_SHEETS = {
    # name: (change the good rows, expected (row, column) errors, a word of the message)
    "unknown learner": (lambda rows, e, o: rows[1].__setitem__(0, "Người Lạ Mặt"), [(2, "A")], "Unknown learner"),
    "unknown person number": (lambda rows, e, o: rows[2].__setitem__(0, "#99999999"), [(3, "A")], "Unknown"),
    "not enrolled, by name": (lambda rows, e, o: rows[1].__setitem__(0, o.full_name), [(2, "A")], "not enrolled"),
    "not enrolled, by number": (lambda rows, e, o: rows[3].__setitem__(0, o.id), [(4, "A")], "not enrolled"),
    "a date with no session": (lambda rows, e, o: rows[0].__setitem__(1, "03/03/2026"), [(1, "B")], "no session"),
    "not a date": (lambda rows, e, o: rows[0].__setitem__(1, "thứ hai"), [(1, "B")], "not a date"),
    "two sessions that day": (lambda rows, e, o: rows[0].__setitem__(2, "09/03/2026"), [(1, "C")], "start time"),
    "a cancelled session": (
        lambda rows, e, o: [rows[0].append("16/03/2026"), rows[1].append("x")],
        [(1, "E")],
        "cancelled",
    ),
    "bad status": (lambda rows, e, o: rows[2].__setitem__(2, "y"), [(3, "C")], "not an attendance code"),
    "an English code": (lambda rows, e, o: rows[2].__setitem__(2, "present"), [(3, "C")], "P hoặc x = Có mặt"),
    "a learner twice": (lambda rows, e, o: rows.append([e[0].full_name, "x"]), [(6, "A")], "already has row 2"),
    "marks without a learner": (lambda rows, e, o: rows.append([None, "x"]), [(6, "A")], "no learner"),
}


@pytest.mark.parametrize("case", list(BAD_SHEETS))
def test_a_bad_sheet_names_row_and_column_and_applies_nothing(client, sheet_class, case):
    _, course_class, _, enrolled, outsider, manager = sheet_class
    change, expected, words = BAD_SHEETS[case]
    rows = _good_rows(enrolled)
    change(rows, enrolled, outsider)
    before = _marks(course_class)
    login(client, manager)
    response = _upload(client, course_class, _xlsx(rows))
    assert response.status_code == 422
    errors, html = _errors(response)
    assert errors == expected
    assert words in html
    assert _marks(course_class) == before
    assert _audits("class.attendance_import") == 0


def test_problems_are_shown_in_vietnamese_by_default(client, sheet_class):
    _, course_class, _, enrolled, _, manager = sheet_class
    rows = _good_rows(enrolled)
    rows[1][0] = "Người Lạ Mặt"
    login(client, manager)
    response = _upload(client, course_class, _xlsx(rows), language="vi")
    assert response.status_code == 422
    assert "Không tìm thấy học viên “Người Lạ Mặt”" in response.get_data(as_text=True)


def test_every_problem_of_a_sheet_is_reported_at_once_in_both_languages(app_ctx, sheet_class):
    from courses import sheet_import

    _, course_class, _, enrolled, outsider, _ = sheet_class
    rows = _good_rows(enrolled)
    rows[0][1] = "03/03/2026"
    rows[1][0] = "Người Lạ Mặt"
    rows[2][2] = "y"
    rows[3][0] = outsider.id
    errors = sheet_import.check_sheet(course_class, _xlsx(rows)).errors
    assert [(e["row"], e["column"]) for e in errors] == [(1, "B"), (2, "A"), (3, "C"), (4, "A")]
    assert errors[0]["header"] == "03/03/2026"
    assert errors[2]["header"] == "09/03/2026 08:00"
    assert all(set(e) >= {"row", "column", "message", "message_vi"} for e in errors)
    assert all(e["message_vi"] for e in errors)
    assert "Không tìm thấy học viên" in errors[1]["message_vi"]


@pytest.mark.parametrize(
    ("content", "filename", "words"),
    [
        (b"", "sheet.csv", "empty"),
        (b"PK\x03\x04 not really a zip", "sheet.xlsx", "not a readable .xlsx workbook"),
        (b"PK\x03\x04 not really a zip", "sheet.csv", "not a readable .xlsx workbook"),  # a workbook by its bytes
        (b"Hoc vien;02/03/2026\nAn;x\n", "sheet.xls", "old .xls workbooks cannot be read"),
        (b"\x89PNG\r\n\x1a\n....", "photo.png", "only .xlsx and .csv files can be imported"),
        ("Học viên;02/03/2026\nAn;x\n".encode("utf-16"), "sheet.csv", "not UTF-8"),
        (_xlsx([]), "sheet.xlsx", "empty"),
        (_xlsx([["Học viên", "02/03/2026"]]), "sheet.csv", "no learner rows"),
        (_xlsx([["Học viên", "02/03/2026"], ["x"]]), "sheet.xlsx", "Unknown learner"),
        (b"Hoc vien;02/03/2026\nAn;x\n", "sheet.csv", "Unknown learner “An”"),  # CSV is read, ";" too
        (b"PK\x03\x04" + b"\0" * (2 * 1024 * 1024), "sheet.xlsx", "too large"),
    ],
)
def test_files_that_are_not_a_sheet_are_refused_whole(client, sheet_class, content, filename, words):
    _, course_class, _, _, _, manager = sheet_class
    before = _marks(course_class)
    login(client, manager)
    response = _upload(client, course_class, content, filename)
    assert response.status_code == 422
    assert words in response.get_data(as_text=True)
    assert _marks(course_class) == before


def _csv(rows) -> bytes:
    """A sheet saved as CSV by a spreadsheet program set to Vietnamese: ";" between cells, dates as text."""
    return "\n".join(";".join("" if v is None else str(v) for v in row) for row in rows).encode("utf-8-sig")


def test_a_sheet_saved_as_csv_previews_and_applies_like_the_workbook(client, sheet_class):
    _, course_class, (s1, s2, s3, _), enrolled, _, manager = sheet_class
    rows = _good_rows(enrolled)
    rows[0][1] = "2026-03-02"  # the ISO date a program may write for a date cell
    login(client, manager)
    preview = _upload(client, course_class, _csv(rows), filename="phieu.csv")
    assert preview.status_code == 200, preview.get_data(as_text=True)[:2000]
    assert "Write 8 marks" in preview.get_data(as_text=True)
    assert _confirm(client, course_class, preview).status_code == 302
    a, b, c, _ = enrolled
    assert _marks(course_class) == {
        (s1.id, a.id): "present",
        (s2.id, a.id): "present",
        (s3.id, a.id): "late",
        (s1.id, b.id): "excused",
        (s2.id, b.id): "absent",
        (s3.id, b.id): "absent",
        (s1.id, c.id): "present",
        (s3.id, c.id): "excused",
    }


def test_a_csv_sheet_names_row_and_column_in_both_languages(app_ctx, sheet_class):
    from courses import sheet_import

    _, course_class, _, enrolled, _, _ = sheet_class
    rows = _good_rows(enrolled)
    rows[2][2] = "y"
    rows[0][1] = "03/03/2026"
    errors = sheet_import.check_sheet(course_class, _csv(rows), "sheet.csv").errors
    assert [(e["row"], e["column"], e["header"]) for e in errors] == [
        (1, "B", "03/03/2026"),
        (3, "C", "09/03/2026 08:00"),
    ]
    assert errors[0]["message"] == "The class has no session on 03/03/2026."
    assert errors[0]["message_vi"] == "Lớp không có buổi học vào 03/03/2026."
    assert errors[1]["message_vi"].startswith("“y” không phải ký hiệu điểm danh. Ký hiệu: P hoặc x = Có mặt")


def test_a_sheet_without_marks_changes_nothing(client, sheet_class):
    _, course_class, _, enrolled, _, manager = sheet_class
    rows = [["Học viên", "02/03/2026"], [enrolled[0].full_name, None]]
    login(client, manager)
    response = _upload(client, course_class, _xlsx(rows))
    assert response.status_code == 422
    assert "no marks" in response.get_data(as_text=True)


# --- centre report -------------------------------------------------------------------------------------------------


@pytest.fixture
def report_centre(app_ctx):
    """A centre whose March 2026 figures are worked out by hand in the test below."""
    centre = make_centre(learners=6, label="R")
    l0, l1, l2, l3, l4, l5 = centre.learners
    digital = services.create_course(
        unit=centre.commune,
        code="KNS-R",
        name="Dùng điện thoại thông minh",
        category="digital_skills",
        planned_hours=Decimal(8),
    )
    # Class 1 (technology transfer): Mondays 2, 9, 16 (cancelled), 23 March.
    first = make_class(centre, name="Lớp cà phê")
    s2, s9, s16, s23 = _mondays(first)
    services.cancel(s16, "mưa")
    services.enrol(first, [l0.id, l1.id, l2.id, l5.id])
    for session, person, status in [
        (s2, l0, "present"),
        (s2, l1, "late"),
        (s2, l2, "absent"),
        (s2, l5, "present"),
        (s9, l0, "present"),
        (s9, l1, "excused"),
        (s9, l2, "present"),
        (s23, l0, "present"),
        (s23, l1, "present"),
    ]:
        _mark(session, person, status)
    services.withdraw(first, l5.id)  # left after one session: the mark stays a learner-turn
    # Class 2 (digital skills): Tuesdays 3 and 10 March, and 2 April (outside the period).
    second = services.create_class(
        course=digital,
        clc=centre.clc,
        name="Lớp điện thoại",
        capacity=20,
        starts_on=date(2026, 3, 1),
        ends_on=date(2026, 4, 30),
        room=centre.hall,
    )
    t3, t10, a2 = services.schedule(
        second,
        [
            (datetime(2026, 3, 3, 8), datetime(2026, 3, 3, 10)),
            (datetime(2026, 3, 10, 8), datetime(2026, 3, 10, 10)),
            (datetime(2026, 4, 2, 8), datetime(2026, 4, 2, 10)),
        ],
    )
    services.enrol(second, [l3.id, l4.id])
    for session, person, status in [
        (t3, l3, "present"),
        (t3, l4, "present"),
        (t10, l3, "late"),
        (t10, l4, "absent"),
        (a2, l3, "present"),
    ]:
        _mark(session, person, status)
    # Class 3: only April; another centre's class in March: neither counts.
    third = services.create_class(
        course=centre.course,
        clc=centre.clc,
        name="Lớp tháng tư",
        capacity=20,
        starts_on=date(2026, 4, 1),
        ends_on=date(2026, 4, 30),
        room=centre.hall,
    )
    services.schedule(third, [(datetime(2026, 4, 6, 8), datetime(2026, 4, 6, 10))])
    other = make_centre("23302", learners=2, label="O")
    other_class = make_class(other)
    (o1,) = services.schedule(other_class, [(datetime(2026, 3, 4, 19), datetime(2026, 3, 4, 21))])
    services.enrol(other_class, [p.id for p in other.learners])
    _mark(o1, other.learners[0], "present")
    services.recompute_class(first.id, as_of=datetime(2026, 4, 30))
    services.recompute_class(second.id, as_of=datetime(2026, 4, 30))
    services.recompute_class(other_class.id, as_of=datetime(2026, 4, 30))
    return centre, first, second


def test_centre_report_numbers_worked_out_by_hand(report_centre, count_queries):
    centre, first, second = report_centre
    with count_queries() as counter:
        report = reports.centre_report(centre.clc, date(2026, 3, 1), date(2026, 3, 31), as_of=datetime(2026, 4, 30))
    assert counter.count == 2  # set-based: the same two statements whatever the size
    # Class 1: held 2, 9, 23 March (16 cancelled); attended: 2/3 → l0, l1 (late), l5 (since withdrawn); 9/3 → l0,
    # l2; 23/3 → l0, l1: 7 learner-turns, 6 of them by the 3 learners still enrolled: 6 / (3 × 3).
    # Class 2: held 3 and 10 March; attended: l3, l4, then l3: 3 turns, 3 / (2 × 2).
    lines = {line.class_id: line for line in report.classes}
    assert set(lines) == {first.id, second.id}
    one, two = lines[first.id], lines[second.id]
    assert (one.sessions_held, one.enrolled, one.learner_turns, one.attendance_rate) == (3, 3, 7, Fraction(6, 9))
    assert (two.sessions_held, two.enrolled, two.learner_turns, two.attendance_rate) == (2, 2, 3, Fraction(3, 4))
    assert (report.classes_held, report.sessions_held, report.learner_turns) == (2, 5, 10)
    assert report.attendance_rate == Fraction(6 + 3, 9 + 4)
    # Completions: class 1 needs ceil(3 × 0.75) = 3 sessions: only l0, on 23 March (its last session). Class 2
    # needs ceil(3 × 0.8) = 3 of its three sessions: l3, on 2 April, outside March.
    assert [(c.category, c.completions, c.learners, c.hours) for c in report.categories] == [
        ("technology_transfer", 1, 1, Decimal(12))
    ]
    spring = reports.centre_report(centre.clc, date(2026, 3, 1), date(2026, 4, 30), as_of=datetime(2026, 4, 30))
    assert [(c.category, c.completions) for c in spring.categories] == [
        ("technology_transfer", 1),
        ("digital_skills", 1),
    ]
    assert spring.classes_held == 3


def test_centre_report_page_and_xlsx(client, report_centre):
    centre, _, _ = report_centre
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, manager)
    page = client.get(f"/courses/clcs/{centre.clc.id}/report?from=2026-03-01&to=2026-03-31")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-key="classes">2<' in html
    assert 'data-key="turns">10<' in html
    assert "69,2\u00a0%" in html  # Vietnamese convention (decimal comma), the sign kept on the line
    response = client.get(f"/courses/clcs/{centre.clc.id}/report.xlsx?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.get_data()))
    values = {row[0]: row[1] for row in workbook["Tổng hợp"].iter_rows(values_only=True) if row and row[0]}
    assert values["Số lớp đã tổ chức"] == 2
    assert values["Số buổi học đã tổ chức"] == 5
    assert values["Số lượt người học (lượt có mặt)"] == 10
    assert values["Tỷ lệ chuyên cần"] == pytest.approx(9 / 13)
    assert values["Chuyển giao công nghệ"] == 1
    per_class = list(workbook["Theo lớp"].iter_rows(min_row=2, values_only=True))
    assert [(r[1], r[4], r[5], r[6]) for r in per_class] == [("Lớp cà phê", 3, 3, 7), ("Lớp điện thoại", 2, 2, 3)]
    assert client.get(f"/courses/clcs/{centre.clc.id}/report?from=2026-03-31&to=2026-03-01").status_code == 400
    assert client.get(f"/courses/clcs/{centre.clc.id}/report.xlsx?from=yesterday").status_code == 400


def test_the_centre_report_pdf_prints_the_figures_the_page_shows(client, report_centre):
    """The report a centre files is the page's: from the page (its link, with the period on screen), every summary
    figure, every category's completions and every class's row as the page prints them (Vietnamese convention), in
    the PDF; headed by the centre's configured issuer (the commune's People's Committee over the centre), the number
    left blank for the clerk, the recipients and the director's signature."""
    import re
    from html import unescape

    from lms.registry.models import BoardMembership, BoardRole

    centre, _, _ = report_centre
    director = centre.learners[0]
    db.session.add(
        BoardMembership(
            clc_id=centre.clc.id, person_id=director.id, role=BoardRole.DIRECTOR, started_on=date(2025, 1, 1)
        )
    )
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    manager.name = "Lê Thị Lập"
    db.session.commit()
    login(client, manager)
    html = client.get(f"/courses/clcs/{centre.clc.id}/report?from=2026-03-01&to=2026-03-31").get_data(as_text=True)

    def cells(row: str) -> list[str]:
        texts = [re.sub(r"<[^>]+>", " ", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        return [" ".join(unescape(t).replace("\u00a0", " ").split()) for t in texts]

    # The page's "report to file" form: the period on screen, a field for the number the clerk gave.
    form = html.split('id="report-file"', 1)[1].split("</form>", 1)[0]
    action = re.search(r'action="([^"]+)"', form)
    assert action, "no PDF form on the report page"
    period = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    assert period == {"from": "2026-03-01", "to": "2026-03-31"}
    assert 'name="number"' in form
    assert 'id="report-pdf"' in form
    response = client.get(unescape(action.group(1)), query_string=period)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = " ".join(_pdf_text(response.get_data()).replace("\u00a0", " ").split())

    summary = {
        key: " ".join(unescape(value).replace("\u00a0", " ").split())
        for key, value in re.findall(r'data-key="(\w+)">([^<]*)<', html)
    }
    assert summary == {"classes": "2", "sessions": "5", "turns": "10", "rate": "69,2 %", "completions": "1"}
    for number, label, key in [
        (1, "Số lớp đã tổ chức", "classes"),
        (2, "Số buổi học đã tổ chức", "sessions"),
        (4, "Số lượt người học (lượt có mặt)", "turns"),
        (7, "Tỷ lệ chuyên cần", "rate"),
        (8, "Số lượt hoàn thành khóa học", "completions"),
    ]:
        assert f"{number} {label} {summary[key]}" in text, (label, summary[key])

    categories_table = html.split('id="report-categories"', 1)[1].split("</table>", 1)[0]
    categories = [cells(r) for r in re.findall(r"<tr>(.*?)</tr>", categories_table.split("<tbody>", 1)[1], re.S)]
    assert categories == [["Chuyển giao công nghệ", "1", "1", "12"]]
    for name, completions, learners, hours in categories:
        assert f"{name} {completions} {learners} {hours}" in text

    classes_table = html.split('id="report-classes"', 1)[1].split("</table>", 1)[0]
    rows = [cells(r) for r in re.findall(r"<tr>(.*?)</tr>", classes_table.split("<tbody>", 1)[1], re.S)]
    assert len(rows) == 2
    for index, row in enumerate(rows, start=1):
        name = row[0].split(" Sổ điểm danh")[0].split(" " + row[1])[0]  # the name, before its phone-only lines
        course, category, held, learners, turns, rate = row[1:7]
        assert f"{index} {name} {course} {category} {held} {learners} {turns} {rate}" in text, (row, text)

    # Filed as the targets reports are: the issuer of [centre] in lms/registry/data/report_issuers.toml.
    assert f"ỦY BAN NHÂN DÂN {centre.commune.name_in_sentence.upper()}" in text
    assert centre.clc.name.upper() in text  # the centre by its name, as its certificates print it
    assert "Số: /BC-TTHTCĐ" in text
    assert "BÁO CÁO Hoạt động của Trung tâm học tập cộng đồng từ 01/03/2026 đến 31/03/2026" in text
    assert "Nơi nhận:" in text
    assert f"- Ủy ban nhân dân {centre.commune.name_in_sentence} (để báo cáo);" in text
    assert "- Lưu: VT." in text
    assert "NGƯỜI LẬP BIỂU" in text
    assert "GIÁM ĐỐC" in text
    assert "Lê Thị Lập" in text
    assert director.full_name in text
    # The page shows who files it before it is downloaded.
    assert centre.clc.name.upper() in html.split('id="report-issuer"', 1)[1].split("</p>", 1)[0]
    assert client.get(f"/courses/clcs/{centre.clc.id}/report.pdf?from=yesterday").status_code == 400
    # The number typed in the form is printed; anything but digits is refused, saying what to type.
    numbered = client.get(unescape(action.group(1)), query_string={**period, "number": "125"})
    assert "Số: 125/BC-TTHTCĐ" in " ".join(_pdf_text(numbered.get_data()).replace("\u00a0", " ").split())
    refused = client.get(unescape(action.group(1)), query_string={**period, "number": "12a"})
    assert refused.status_code == 400
    assert "chỉ gồm chữ số" in refused.get_data(as_text=True)

    # The form's other button: the workbook, its first sheet filed as the PDF is, its figures where they were.
    xlsx = re.search(r'id="report-xlsx" formaction="([^"]+)"', form)
    assert xlsx, "no workbook button in the report form"
    book = load_workbook(io.BytesIO(client.get(unescape(xlsx.group(1)), query_string={**period, "number": "125"}).data))
    sheet = book["Tổng hợp"]
    texts = [[c for c in row if c is not None] for row in sheet.iter_rows(values_only=True)]
    commune_line = centre.commune.name_in_sentence.upper()
    assert texts[0] == [f"ỦY BAN NHÂN DÂN {commune_line}", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"]
    assert texts[1] == [centre.clc.name.upper(), "Độc lập - Tự do - Hạnh phúc"]
    assert texts[2][0] == "Số: 125/BC-TTHTCĐ"
    assert ["BÁO CÁO"] in texts
    assert ["Hoạt động của Trung tâm học tập cộng đồng từ 01/03/2026 đến 31/03/2026"] in texts
    values = {row[0]: row[1] for row in texts if len(row) == 2 and isinstance(row[1], (int, float))}
    assert values["Số lớp đã tổ chức"] == 2
    assert values["Số lượt người học (lượt có mặt)"] == 10
    flat = [c for row in texts for c in row if isinstance(c, str)]
    recipients = next(c for c in flat if c.startswith("Nơi nhận:"))
    assert f"- Ủy ban nhân dân {centre.commune.name_in_sentence} (để báo cáo);" in recipients
    assert recipients.endswith("- Lưu: VT.")
    assert {"NGƯỜI LẬP BIỂU", "GIÁM ĐỐC", "Lê Thị Lập", director.full_name} <= set(flat)


# --- scope -----------------------------------------------------------------------------------------------------------


def test_a_manager_of_another_commune_gets_404_for_every_document_route(client, certified):
    own_centre, own_class, _, manager = certified
    other = make_centre("23302", learners=2, label="B")
    other_class = make_class(other)
    sessions = _mondays(other_class, count=1)
    services.enrol(other_class, [other.learners[0].id])
    _mark(sessions[0], other.learners[0], "present")
    services.recompute_class(other_class.id, as_of=AFTER)
    other_certificate = db.session.scalar(select(Certificate).where(Certificate.class_id == other_class.id))
    db.session.commit()
    login(client, manager)
    token = csrf_token(client, f"/courses/classes/{own_class.id}/attendance-sheet")
    before = _marks(other_class)
    for method, url in [
        ("GET", f"/courses/certificates/{other_certificate.code}.pdf"),
        ("GET", f"/courses/classes/{other_class.id}/attendance-book.xlsx"),
        ("GET", f"/courses/classes/{other_class.id}/attendance-book.pdf"),
        ("GET", f"/courses/classes/{other_class.id}/attendance-sheet"),
        ("GET", f"/courses/classes/{other_class.id}/attendance-sheet.xlsx"),
        ("GET", f"/courses/clcs/{other.clc.id}/report"),
        ("GET", f"/courses/clcs/{other.clc.id}/report.xlsx"),
        ("GET", f"/courses/clcs/{other.clc.id}/report.pdf"),
        ("GET", "/courses/classes/99999999/attendance-book.xlsx"),
        ("GET", "/courses/clcs/99999999/report"),
    ]:
        assert client.open(url, method=method).status_code == 404, url
    sheet = _xlsx([["Học viên", "02/03/2026"], [other.learners[0].full_name, "v"]])
    response = client.post(
        f"/courses/classes/{other_class.id}/attendance-sheet",
        data={"csrf_token": token, "file": (io.BytesIO(sheet), "s.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 404
    assert _marks(other_class) == before
    # The mirror image: the same manager reaches their own class's documents.
    assert client.get(f"/courses/classes/{own_class.id}/attendance-book.xlsx").status_code == 200
    assert client.get(f"/courses/clcs/{own_centre.clc.id}/report").status_code == 200


def test_document_routes_need_a_login_but_verification_does_not(client, certified):
    centre, course_class, certificate, _ = certified
    for url in (
        f"/courses/certificates/{certificate.code}.pdf",
        f"/courses/classes/{course_class.id}/attendance-book.pdf",
        f"/courses/classes/{course_class.id}/attendance-sheet",
        f"/courses/clcs/{centre.clc.id}/report",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"], url
    assert client.get(f"/courses/verify/{certificate.code}").status_code == 200


def test_a_province_leader_may_read_the_book_but_not_import_a_sheet(client, sheet_class):
    centre, course_class, *_ = sheet_class
    leader = make_user(Role.PROVINCE_LEADER, centre.commune.parent, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    assert client.get(f"/courses/classes/{course_class.id}/attendance-sheet").status_code == 403
    assert client.get(f"/courses/classes/{course_class.id}/attendance-book.xlsx").status_code == 200


def test_an_it_class_certificate_names_the_modules_it_trained_in(client, certified):
    """Circular 03/2014, Art. 2 and Joint Circular 17/2016, Art. 16-17: a centre's certificate of completion attests
    training, not the standard — so it names the modules of the class, which a learner shows to prove which of
    IU01–IU06 they were trained in (the standard itself is attested only by a test centre's certificate)."""
    _, course_class, certificate, manager = certified
    course_class.course.module_codes = ["IU02", "IU01"]
    db.session.commit()
    login(client, manager)
    text = _pdf_text(client.get(f"/courses/certificates/{certificate.code}.pdf").get_data())
    assert "Các mô đun:" in text
    assert "IU01 Hiểu biết về CNTT cơ bản" in text
    assert text.index("IU01") < text.index("IU02")
    course_class.course.module_codes = []
    db.session.commit()
    assert "Các mô đun:" not in _pdf_text(client.get(f"/courses/certificates/{certificate.code}.pdf").get_data())


# --- printed from the spreadsheet ------------------------------------------------------------------------------------


def _prints_as_a_filed_table(sheet, header_row: int, *words: str) -> None:
    """Landscape A4, one page wide, the table's header row repeated on every page, and a page heading saying what
    the table is and whose (a sheet or page printed alone still tells)."""
    assert sheet.page_setup.orientation == "landscape", sheet.title
    assert sheet.page_setup.fitToWidth == 1, sheet.title
    assert sheet.page_setup.fitToHeight == 0, sheet.title
    assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
    assert sheet.print_title_rows == f"${header_row}:${header_row}", sheet.title
    for word in words:
        assert word in (sheet.oddHeader.center.text or ""), (sheet.title, word)
    assert "&P" in (sheet.oddFooter.right.text or ""), sheet.title


def test_the_attendance_book_prints_its_header_on_every_page_and_says_whose_it_is(client, marked_class):
    centre, course_class, _, _ = marked_class
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, manager)
    book = load_workbook(io.BytesIO(client.get(f"/courses/classes/{course_class.id}/attendance-book.xlsx").data))
    sheet = book.active
    header_row = next(row[0].row for row in sheet.iter_rows() if row[0].value == "STT")
    _prints_as_a_filed_table(sheet, header_row, "SỔ ĐIỂM DANH LỚP HỌC", course_class.name)
    today = services.local_now().date()
    assert any(f"Lập ngày {today:%d/%m/%Y}" in str(c) for row in sheet.iter_rows(values_only=True) for c in row)


def test_the_centre_report_prints_its_header_on_every_page_and_says_who_made_it_and_when(client, report_centre):
    centre, _, _ = report_centre
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    manager.name = "Trần Văn Báo"
    db.session.commit()
    login(client, manager)
    response = client.get(f"/courses/clcs/{centre.clc.id}/report.xlsx?from=2026-03-01&to=2026-03-31")
    workbook = load_workbook(io.BytesIO(response.data))
    summary = workbook["Tổng hợp"]
    lines = [row[0] for row in summary.iter_rows(values_only=True) if row and row[0]]
    today = services.local_now().date()
    assert f"Ngày lập: {today:%d/%m/%Y}; người lập: Trần Văn Báo" in lines
    summary_header = next(row[0].row for row in summary.iter_rows() if row[0].value == "Chỉ tiêu")
    _prints_as_a_filed_table(summary, summary_header, centre.clc.name, "từ 01/03/2026 đến 31/03/2026")
    _prints_as_a_filed_table(workbook["Theo lớp"], 1, centre.clc.name, "từ 01/03/2026 đến 31/03/2026")


def test_the_attendance_book_writes_its_commune_as_inside_a_sentence(client, marked_class):
    """ "Trung tâm …, xã Ea Tu — từ …", not "…, Xã Ea Tu": the kind keeps its capital only at the start."""
    centre, course_class, _, _ = marked_class
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, manager)
    place = f"{centre.clc.name}, {centre.commune.kind.lower()} {centre.commune.name} — từ"
    assert centre.commune.kind[0].isupper()
    book = load_workbook(io.BytesIO(client.get(f"/courses/classes/{course_class.id}/attendance-book.xlsx").data))
    assert book.active["A3"].value.startswith(place)
    pdf = client.get(f"/courses/classes/{course_class.id}/attendance-book.pdf").data
    assert place in " ".join(_pdf_text(pdf).split())


def test_a_certificate_of_a_one_day_class_gives_its_day_not_a_span_from_it_to_itself():
    """A policy-study conference held on one day: "2 giờ, ngày 21/11/2026", not "từ ngày 21/11/2026 đến ngày
    21/11/2026"; a class over several days keeps its span."""
    from datetime import date

    base = documents.CertificateData(
        code="AAAA-BBBB-CCCC",
        learner_name="Nguyễn Hồng Diệp",
        learner_sex="female",
        birth_date=date(1953, 8, 31),
        course_name="Học tập chủ trương, chính sách",
        class_name="Hội nghị học tập nghị quyết",
        centre_name="Trung tâm học tập cộng đồng xã Ea Tu",
        commune_name="Xã Ea Tu",
        place="Ea Tu",
        hours=Decimal(2),
        starts_on=date(2026, 11, 21),
        ends_on=date(2026, 11, 21),
        issued_on=date(2026, 11, 21),
        verify_url="https://example.vn/courses/verify/AAAA-BBBB-CCCC",
    )
    text = " ".join(_pdf_text(documents.certificate_pdf(base)).split())
    assert "2 giờ, ngày 21/11/2026" in text
    assert "đến ngày" not in text
    longer = dataclasses.replace(base, ends_on=date(2026, 11, 28))
    assert "từ ngày 21/11/2026 đến ngày 28/11/2026" in " ".join(_pdf_text(documents.certificate_pdf(longer)).split())


def test_the_centre_report_page_counts_completions_as_the_workbook_does_not_as_persons(client, report_centre):
    """The figure is the learning records completed (a learner who finishes two courses counts twice; the
    category table's 'Học viên' column counts persons): the page called it 'Số người hoàn thành', the workbook
    'Số lượt hoàn thành' — one figure, two names a leader would file as different."""
    centre, _, _ = report_centre
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, manager)
    html = client.get(f"/courses/clcs/{centre.clc.id}/report?from=2026-03-01&to=2026-03-31").get_data(as_text=True)
    workbook = load_workbook(
        io.BytesIO(client.get(f"/courses/clcs/{centre.clc.id}/report.xlsx?from=2026-03-01&to=2026-03-31").data)
    )
    labels = [
        row[1]
        for row in workbook["Tổng hợp"].iter_rows(values_only=True)
        if row[0] == "Hoàn thành khóa học theo lĩnh vực"
    ]
    assert labels == ["Số lượt hoàn thành"]
    assert re.search(
        r'<div class="small text-muted">Số lượt hoàn thành</div><div class="fs-4" data-key="completions">', html
    )
    assert "Số người hoàn thành" not in html


def test_every_page_of_the_attendance_book_pdf_says_whose_book_it_is_and_its_number(client, app_ctx):
    """A class of sixty fills more than one page: each page's foot names the book, the class and the centre, and
    its number."""
    centre = make_centre(learners=60, label="P")
    course_class = make_class(centre)
    _mondays(course_class, count=2)
    services.enrol(course_class, [p.id for p in centre.learners])
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, manager)
    pdf = client.get(f"/courses/classes/{course_class.id}/attendance-book.pdf").data
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        text = " ".join(page.extract_text().split())
        assert f"SỔ ĐIỂM DANH LỚP HỌC — {course_class.name} — {centre.clc.name}" in text, number
        assert f"Trang {number}" in text, number


def test_a_centre_of_a_very_long_name_keeps_its_pdf_footer_on_the_paper(app_ctx, report_centre):
    """A centre's name may have 300 characters: the foot of every page (centre, title, period) ran off the paper and
    over "Trang n". It is cut with "…" before the page number."""
    import pdfplumber

    from lms.registry import issuers

    centre, _, _ = report_centre
    long_name = "Trung tâm học tập cộng đồng " + " ".join(["Thôn Kon Plông Đăk Tô Ngọc Hồi"] * 9)
    assert len(long_name) > 290
    report = reports.centre_report(centre.clc, date(2026, 3, 1), date(2026, 3, 31))
    content = reports.centre_report_pdf(
        report,
        centre_name=long_name,
        commune_name=centre.commune.full_name,
        issuer=issuers.centre_issuer(centre.commune, long_name),
    )
    with pdfplumber.open(io.BytesIO(content)) as pdf:
        page = pdf.pages[0]
        foot = [c for c in page.chars if c["top"] > page.height - 10 * 72 / 25.4]
        line = "".join(c["text"] for c in sorted(foot, key=lambda c: c["x0"]))
        number = [c for c in foot if c["text"] == "T" and line.endswith("Trang 1")]
        assert line.startswith("Trung tâm học tập cộng đồng Thôn Kon")
        assert "…" in line
        assert line.endswith("Trang 1")
        assert max(c["x1"] for c in foot) <= page.width - 12 * 72 / 25.4 + 1  # inside the right margin
        page_number_left = max(c["x0"] for c in number)
        assert max(c["x1"] for c in foot if c["text"] == "…") < page_number_left  # not over "Trang 1"


def test_a_class_s_certificates_print_in_a_fixed_number_of_statements(client, app_ctx, count_queries):
    """The class's certificates printed at once for the closing ceremony read the director and the sessions' span,
    and issued the credentials, once per certificate: the same few statements for 2 learners as for 20, the first
    print (credentials issued) and the next, each certificate still naming the director in office and the sessions
    held up to its day."""
    from lms.registry.models import BoardMembership, BoardRole

    counts = []
    for code, size in (("23293", 2), ("23302", 20)):
        centre = make_centre(code, learners=size, label=f"C{size}")
        director = centre.learners[0]
        director.full_name = f"Giám Đốc {size}"
        db.session.add_all(
            [
                BoardMembership(
                    clc_id=centre.clc.id, person_id=director.id, role=BoardRole.DIRECTOR, started_on=date(2020, 1, 1)
                ),
                BoardMembership(  # an earlier director, no longer in office on the day of issue
                    clc_id=centre.clc.id,
                    person_id=centre.learners[1].id,
                    role=BoardRole.DIRECTOR,
                    started_on=date(2015, 1, 1),
                    ended_on=date(2019, 12, 31),
                ),
            ]
        )
        course_class = make_class(centre)
        sessions = _mondays(course_class)
        services.enrol(course_class, [p.id for p in centre.learners])
        for session in sessions:
            services.record_attendance(session, [Mark(p.id, "present", MARKED) for p in centre.learners], user_id=None)
        services.recompute_class(course_class.id, as_of=AFTER)
        manager = make_user(Role.CENTRE_MANAGER, centre.commune, f"certificates-{code}@example.vn")
        db.session.commit()
        login(client, manager)
        db.session.expire_all()
        with count_queries() as counter:
            response = client.get(f"/courses/classes/{course_class.id}/certificates.pdf")
        assert response.status_code == 200
        pages = PdfReader(io.BytesIO(response.get_data())).pages
        assert len(pages) == size
        text = " ".join(pages[-1].extract_text().split())
        assert f"Giám Đốc {size}".upper() in text.upper()
        assert "02/03/2026" in text  # the four Mondays held: 02/03 to 23/03, not the planned 31/03
        assert "23/03/2026" in text
        db.session.expire_all()
        with count_queries() as again:  # printed again: the credentials issued the first time are read back
            assert client.get(f"/courses/classes/{course_class.id}/certificates.pdf").status_code == 200
        counts.append((counter.count, again.count))
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert counts[0] == counts[1], counts
