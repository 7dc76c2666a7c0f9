"""Documents of the class programme: the certificate of completion (PDF), the class's attendance book (xlsx and
PDF) and the helpers they share.

Builders take plain data (dataclasses filled by the loaders here, a constant number of queries each) and return
bytes, so they can be tested without a request. Text is Vietnamese with diacritics: PDFs embed the vendored DejaVu
fonts, since the 14 standard PDF fonts have no glyphs for "ễ" or "ở".
"""

from __future__ import annotations

import io
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from flask import url_for
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from courses import attendance_codes
from courses.it_skills import framework
from courses.models import (
    Attendance,
    Certificate,
    ClassSession,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    LearningRecord,
    SessionStatus,
)
from courses.services import attendance_statuses, counted_sessions, local_now
from lms.core.exports import print_setup, save_workbook
from lms.core.pdf import (
    DARK_RED,
    FONT,
    FONT_BOLD,
    NAVY,
    credential_qr,
    draw_frame_and_heading,
    draw_verification,
    markup_escape,
    page_footer,
    register_fonts,
    vi_date,
    vi_long_date,
    vi_number,
)
from lms.extensions import db
from lms.registry.models import AdminUnit, BoardMembership, BoardRole, Clc, Person, Sex

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- certificate of completion -------------------------------------------------------------------------------


def verification_url(code: str) -> str:
    """The absolute address of the public verification page of a certificate: what its QR code encodes."""
    return url_for("courses.verify", code=code, _external=True)


@dataclass(frozen=True)
class CertificateData:
    code: str
    learner_name: str
    learner_sex: str | None
    birth_date: date | None
    course_name: str
    class_name: str
    centre_name: str
    commune_name: str  # with its kind: "Xã Ea Tu"
    place: str  # the place of issue, as written before the date: "Ea Tu"
    hours: Decimal
    starts_on: date
    ends_on: date
    issued_on: date
    verify_url: str
    director_name: str = ""
    credential_qr: str = ""  # the signed credential, for the second QR code (lms.core.pdf.credential_qr)
    birth_year_only: bool = False  # only the year is known: "Năm sinh: 1948", not 01/01/1948
    # An IT-skills course's modules of Circular 03/2014 ("IU01 Hiểu biết về CNTT cơ bản"), so the learner can show
    # which of the standard's modules the class trained them in; empty for other courses.
    modules: list[str] = field(default_factory=list)


def certificate_data(certificate: Certificate, verify_url: str, *, credential: str | None = None) -> CertificateData:
    """What a certificate prints; ``credential``, the text of its second QR code when the caller issued the
    credentials of many certificates at once (:func:`lms.core.pdf.credential_qrs`)."""
    if credential is None:
        credential = credential_qr("certificate", certificate)
    (data,) = certificates_data([certificate], {certificate.id: verify_url}, {certificate.id: credential})
    return data


def certificates_data(
    certificates: Sequence[Certificate], verify_urls: dict[int, str], credentials: dict[int, str]
) -> list[CertificateData]:
    """What each of ``certificates`` prints, in their order, in a fixed number of statements whatever their number
    (a class of 40 printed at once for its closing ceremony): the classes with their courses, the centres, the
    communes, the learners, the centres' directors and the classes' held sessions are each read once, and each
    certificate takes the director in office and the sessions held up to its day of issue."""
    if not certificates:
        return []
    classes = {
        row.id: row
        for row in db.session.scalars(
            select(CourseClass)
            .where(CourseClass.id.in_({c.class_id for c in certificates}))
            .options(selectinload(CourseClass.course))
        )
    }
    clcs = {
        row.id: row for row in db.session.scalars(select(Clc).where(Clc.id.in_({c.clc_id for c in classes.values()})))
    }
    communes = {
        row.id: row
        for row in db.session.scalars(
            select(AdminUnit).where(AdminUnit.id.in_({c.commune_id for c in classes.values()}))
        )
    }
    persons = {
        row.id: row
        for row in db.session.scalars(select(Person).where(Person.id.in_({c.person_id for c in certificates})))
    }
    directors: dict[int, list[tuple[date, date | None, str]]] = {}
    for clc_id, started_on, ended_on, name in db.session.execute(
        select(BoardMembership.clc_id, BoardMembership.started_on, BoardMembership.ended_on, Person.full_name)
        .join(Person, Person.id == BoardMembership.person_id)
        .where(BoardMembership.clc_id.in_(clcs), BoardMembership.role == BoardRole.DIRECTOR)
        .order_by(BoardMembership.started_on.desc())
    ).tuples():
        directors.setdefault(clc_id, []).append((started_on, ended_on, name))
    held: dict[int, list[datetime]] = {}
    for class_id, starts_at in db.session.execute(
        select(ClassSession.class_id, ClassSession.starts_at)
        .where(ClassSession.class_id.in_(classes), ClassSession.status == SessionStatus.SCHEDULED)
        .order_by(ClassSession.starts_at)
    ).tuples():
        held.setdefault(class_id, []).append(starts_at)
    named = {m.code: m.name_vi for m in framework().modules}
    result = []
    for certificate in certificates:
        course_class = classes[certificate.class_id]
        clc, commune, person = (
            clcs[course_class.clc_id],
            communes[course_class.commune_id],
            persons[certificate.person_id],
        )
        issued_on = certificate.issued_on
        director = next(
            (
                name
                for started_on, ended_on, name in directors.get(clc.id, [])
                if started_on <= issued_on and (ended_on is None or ended_on >= issued_on)
            ),
            "",
        )
        # The span the certificate attests: the class's sessions held up to the day of issue, not its planned dates
        # — a class planned to 30/11 whose last session was on 14/11 gave a certificate dated 14/11 for "01/11 to
        # 30/11".
        starts = held.get(course_class.id, [])
        before = bisect_left(starts, datetime.combine(issued_on + timedelta(days=1), time.min))
        codes = course_class.course.module_codes or []
        result.append(
            CertificateData(
                code=certificate.code,
                learner_name=person.full_name,
                learner_sex=person.sex,
                birth_date=person.birth_date,
                birth_year_only=person.birth_year_only,
                course_name=course_class.course.name,
                class_name=course_class.name,
                centre_name=clc.name,
                commune_name=commune.full_name,
                place=commune.name,
                hours=course_class.course.planned_hours,
                starts_on=starts[0].date() if before else course_class.starts_on,
                ends_on=starts[before - 1].date() if before else course_class.ends_on,
                issued_on=issued_on,
                verify_url=verify_urls[certificate.id],
                director_name=director,
                credential_qr=credentials.get(certificate.id, ""),
                modules=[f"{code} {named[code]}" if code in named else code for code in sorted(codes)],
            )
        )
    return result


def certificate_modules(codes: list[str] | None) -> tuple[str, ...]:
    """A course's IT-skills module codes in the standard's order (IU01 … IU15), for its certificates."""
    held = set(codes or ())
    return tuple(code for code in framework().codes if code in held)


def certificate_pdf(data: CertificateData) -> bytes:
    """The certificate of completion: A4 landscape, in Vietnamese, with the verification code and its QR."""
    return certificates_pdf([data], title=f"Giấy chứng nhận hoàn thành khóa học {data.code}")


def certificates_pdf(certificates: Sequence[CertificateData], *, title: str) -> bytes:
    """Certificates of completion one per page, in one file: a class's, printed at once by its centre manager."""
    register_fonts()
    buffer = io.BytesIO()
    width, height = landscape(A4)
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1)
    canvas.setTitle(title)
    if certificates:
        canvas.setAuthor(certificates[0].centre_name)
        canvas.setSubject(certificates[0].course_name)
    for data in certificates:
        _draw_certificate(canvas, data, width, height)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _draw_certificate(canvas: Canvas, data: CertificateData, width: float, height: float) -> None:
    draw_frame_and_heading(
        canvas, width, height, [(f"UBND {data.commune_name.upper()}", FONT), (data.centre_name.upper(), FONT_BOLD)]
    )

    # Title.
    canvas.setFillColor(DARK_RED)
    canvas.setFont(FONT_BOLD, 25)
    canvas.drawCentredString(width / 2, height - 165, "GIẤY CHỨNG NHẬN HOÀN THÀNH KHÓA HỌC")
    canvas.setFillColor(colors.black)
    canvas.setFont(FONT, 13)
    canvas.drawCentredString(
        width / 2,
        height - 192,
        f"GIÁM ĐỐC {data.centre_name.upper()}"
        if len(data.centre_name) < 60
        else "GIÁM ĐỐC TRUNG TÂM HỌC TẬP CỘNG ĐỒNG",
    )
    canvas.drawCentredString(width / 2, height - 210, "CHỨNG NHẬN")

    # Body: label, value.
    salutations: dict[str, str] = {Sex.MALE.value: "Ông", Sex.FEMALE.value: "Bà"}
    salutation = salutations.get(data.learner_sex or "", "Ông/Bà")
    label_x, value_x, top_y, lowest_y = 150, 330, height - 248, 172  # above the signature block
    born = str(data.birth_date.year) if data.birth_date and data.birth_year_only else vi_date(data.birth_date)
    rows: list[tuple[str, str, str, float]] = [
        (f"{salutation}:", data.learner_name, FONT_BOLD, 17),
        ("Năm sinh:" if data.birth_year_only else "Ngày sinh:", born or "—", FONT, 13),
        ("Đã hoàn thành khóa học:", data.course_name, FONT_BOLD, 14),
        *([("Các mô đun:", "; ".join(data.modules), FONT, 12)] if data.modules else []),
        ("Lớp:", data.class_name, FONT, 13),
        (
            "Thời lượng:",
            f"{vi_number(data.hours)} giờ, "
            + (
                f"ngày {vi_date(data.starts_on)}"  # a one-day conference, not "từ ngày 21/11 đến ngày 21/11"
                if data.starts_on == data.ends_on
                else f"từ ngày {vi_date(data.starts_on)} đến ngày {vi_date(data.ends_on)}"
            ),
            FONT,
            13,
        ),
        ("Tại:", data.centre_name, FONT, 13),
    ]

    def layout(scale: float) -> tuple[list[tuple[str, list[str], str, float]], float]:
        """Lines of each row at ``scale``, and where the body would end."""
        laid, y = [], top_y
        for label, value, font, size in rows:
            lines = simpleSplit(value, font, size * scale, width - value_x - 90)
            laid.append((label, lines, font, size * scale))
            y -= len(lines) * (size + 6) * scale + 6 * scale
        return laid, y

    # Long course, class or centre names: shrink the body until it clears the signature block.
    scale = 1.0
    laid, end = layout(scale)
    while end < lowest_y and scale > 0.6:
        scale -= 0.05
        laid, end = layout(scale)
    y = top_y
    for label, lines, font, size in laid:
        canvas.setFont(FONT, 13 * scale)
        canvas.drawString(label_x, y, label)
        canvas.setFillColor(NAVY if font == FONT_BOLD else colors.black)
        canvas.setFont(font, size)
        for line in lines:
            canvas.drawString(value_x, y, line)
            y -= size + 6 * scale
        canvas.setFillColor(colors.black)
        y -= 6 * scale

    # Place and date of issue, and the signature block.
    sign_x = width - 215
    canvas.setFont(FONT, 12)
    canvas.drawCentredString(sign_x, 150, f"{data.place}, {vi_long_date(data.issued_on)}")
    canvas.setFont(FONT_BOLD, 12)
    canvas.drawCentredString(sign_x, 132, "GIÁM ĐỐC")
    canvas.setFont(FONT, 9)
    canvas.drawCentredString(sign_x, 119, "(Ký, ghi rõ họ tên, đóng dấu)")
    if data.director_name:
        canvas.setFont(FONT_BOLD, 12)
        canvas.drawCentredString(sign_x, 52, data.director_name)

    # Verification: the QR code of the public page and the code, readable over the phone.
    draw_verification(canvas, data.verify_url, data.code, credential=data.credential_qr)


# --- attendance book -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookStatus:
    code: str
    abbreviation: str
    name_vi: str
    name_en: str
    counts_as_attended: bool


@dataclass
class BookSession:
    id: int
    starts_at: datetime
    ends_at: datetime
    cancelled: bool
    held: bool  # scheduled and already started: the sessions a learner could attend
    note: str = ""
    attended: int = 0
    marked: int = 0
    recorded: bool = False  # it has a roll call (a mark, of anyone): held and not recorded counts for nobody

    @property
    def without_roll_call(self) -> bool:
        """Held, nobody's attendance taken: not an absence of anyone (ADR 54), and the book says so."""
        return self.held and not self.recorded


@dataclass
class BookLearner:
    person_id: int
    full_name: str
    birth_year: int | None
    withdrawn: bool
    marks: dict[int, str] = field(default_factory=dict)  # session id → status code
    attended: int = 0
    held: int = 0  # the held sessions that count for them: from their enrolment on (ADR 5)
    completed: bool = False
    certificate_code: str = ""


@dataclass
class AttendanceBook:
    class_id: int
    class_name: str
    course_name: str
    centre_name: str
    commune_name: str  # as written inside a sentence, after the centre's name: "xã Ea Tu"
    starts_on: date
    ends_on: date
    min_attendance_share: Decimal
    sessions: list[BookSession]
    learners: list[BookLearner]
    statuses: list[BookStatus]
    as_of: datetime

    @property
    def held_count(self) -> int:
        return sum(1 for s in self.sessions if s.held)

    @property
    def without_roll_call_count(self) -> int:
        return sum(1 for s in self.sessions if s.without_roll_call)

    @property
    def abbreviations(self) -> dict[str, str]:
        return {s.code: s.abbreviation for s in self.statuses}

    def session_header(self, session: BookSession) -> str:
        same_day = sum(1 for s in self.sessions if s.starts_at.date() == session.starts_at.date())
        return f"{session.starts_at:%d/%m/%Y %H:%M}" if same_day > 1 else f"{session.starts_at:%d/%m/%Y}"


def attendance_book(course_class: CourseClass, *, as_of: datetime | None = None) -> AttendanceBook:
    """Everything the attendance book shows, in eight queries whatever the number of learners and sessions."""
    as_of = as_of or local_now()
    clc = db.session.get(Clc, course_class.clc_id)
    commune = db.session.get(AdminUnit, course_class.commune_id)
    assert clc is not None
    assert commune is not None
    statuses = list(attendance_statuses().values())
    abbreviations = attendance_codes.letters(attendance_codes.legend(statuses))
    attended_codes = {s.code for s in statuses if s.counts_as_attended}
    sessions = [
        BookSession(
            id=row.id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            cancelled=row.status == SessionStatus.CANCELLED,
            held=row.status == SessionStatus.SCHEDULED and row.starts_at <= as_of,
            note=row.note,
        )
        for row in db.session.execute(
            select(
                ClassSession.id, ClassSession.starts_at, ClassSession.ends_at, ClassSession.status, ClassSession.note
            )
            .where(ClassSession.class_id == course_class.id)
            .order_by(ClassSession.starts_at, ClassSession.id)
        )
    ]
    learners = [
        BookLearner(
            person_id=row.id,
            full_name=row.full_name,
            birth_year=row.birth_date.year if row.birth_date else None,
            withdrawn=row.status == EnrolmentStatus.WITHDRAWN,
        )
        for row in db.session.execute(
            select(Person.id, Person.full_name, Person.birth_date, Enrolment.status)
            .join(Enrolment, Enrolment.person_id == Person.id)
            .where(
                Enrolment.class_id == course_class.id,
                Enrolment.status.in_([EnrolmentStatus.ENROLLED, EnrolmentStatus.WITHDRAWN]),
            )
            .order_by(Person.sort_key, Person.id)
        )
    ]
    by_person = {learner.person_id: learner for learner in learners}
    by_session = {session.id: session for session in sessions}
    marks = db.session.execute(
        select(Attendance.session_id, Attendance.person_id, Attendance.status)
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .where(ClassSession.class_id == course_class.id)
    )
    for session_id, person_id, status in marks:
        learner, session = by_person.get(person_id), by_session[session_id]
        session.recorded = True  # any mark is a roll call, as counted_sessions reads it
        if learner is None:
            continue  # a mark left from an enrolment that no longer exists
        if session.cancelled:
            continue  # taken before the session was cancelled: it counts nowhere, and the book shows none
        learner.marks[session_id] = status
        if session.held:
            session.marked += 1
            if status in attended_codes:
                session.attended += 1
                learner.attended += 1
    counted = counted_sessions(
        [course_class.id], statuses=(EnrolmentStatus.ENROLLED, EnrolmentStatus.WITHDRAWN)
    ).subquery("counted")
    for person_id, n in db.session.execute(
        select(counted.c.person_id, func.count())
        .where(counted.c.starts_at <= as_of, counted.c.recorded == 1)  # a session without a roll call: no absence
        .group_by(counted.c.person_id)
    ):
        if person_id in by_person:
            by_person[person_id].held = int(n)
    completions = db.session.execute(
        select(LearningRecord.person_id, Certificate.code)
        .outerjoin(
            Certificate,
            (Certificate.class_id == LearningRecord.class_id)
            & (Certificate.person_id == LearningRecord.person_id)
            & Certificate.revoked_at.is_(None),
        )
        .where(LearningRecord.class_id == course_class.id, LearningRecord.module_code.is_(None))
    )
    for person_id, code in completions:
        if person_id in by_person:
            by_person[person_id].completed = True
            by_person[person_id].certificate_code = code or ""
    return AttendanceBook(
        class_id=course_class.id,
        class_name=course_class.name,
        course_name=course_class.course.name,
        centre_name=clc.name,
        commune_name=commune.name_in_sentence,
        starts_on=course_class.starts_on,
        ends_on=course_class.ends_on,
        min_attendance_share=course_class.course.min_attendance_share,
        sessions=sessions,
        learners=learners,
        as_of=as_of,
        statuses=[
            BookStatus(s.code, abbreviations[s.code], s.name_vi, s.name_en, s.counts_as_attended) for s in statuses
        ],
    )


def _share(numerator: int, denominator: int) -> str:
    return f"{round(100 * numerator / denominator)} %" if denominator else "—"


BOOK_TITLE = "SỔ ĐIỂM DANH LỚP HỌC"
CANCELLED_VI = "hủy"
NOT_RECORDED_VI = "chưa điểm danh"
WITHDRAWN_VI = "(đã rút)"
THIN = Side(style="thin", color="999999")
GREY = PatternFill("solid", fgColor="D9D9D9")
HEAD = PatternFill("solid", fgColor="DCE6F1")
NOT_RECORDED_FILL = PatternFill("solid", fgColor="FFF2CC")  # a light yellow: the class page's warning colour


def _book_legend(book: AttendanceBook) -> str:
    codes = attendance_codes.legend(book.statuses)
    legend = "Ký hiệu: " + attendance_codes.legend_text(codes) + f'. Cột "{CANCELLED_VI}": buổi học bị hủy.'
    if book.without_roll_call_count:
        legend += (
            f' Cột "{NOT_RECORDED_VI}": buổi đã học nhưng chưa có điểm danh, không tính là vắng đối với ai'
            " (không tính vào số buổi của học viên)."
        )
    return legend


def _session_note(session: BookSession) -> str:
    """What a session's column header adds to its date: cancelled, or held without a roll call."""
    if session.cancelled:
        return CANCELLED_VI
    return NOT_RECORDED_VI if session.without_roll_call else ""


def _held_line(book: AttendanceBook) -> str:
    """The number of sessions held, and how many of them have no roll call (as the class page lists them)."""
    missing = book.without_roll_call_count
    line = f"Số buổi đã học: {book.held_count}"
    return line + (f", trong đó {missing} buổi chưa điểm danh" if missing else "") + "."


def _book_names(book: AttendanceBook) -> dict[int, str]:
    """The name written for each learner: a name two learners share carries the person number, as on the blank
    sheet, so that the book can be filled in and imported back."""
    count: dict[str, int] = {}
    for learner in book.learners:
        count[learner.full_name] = count.get(learner.full_name, 0) + 1
    names = {
        learner.person_id: f"{learner.full_name} (#{learner.person_id})"
        if count[learner.full_name] > 1
        else learner.full_name
        for learner in book.learners
    }
    return {
        learner.person_id: f"{names[learner.person_id]} {WITHDRAWN_VI}"
        if learner.withdrawn
        else names[learner.person_id]
        for learner in book.learners
    }


def _made_words(book: AttendanceBook, made_by: str) -> str:
    """The book's last line: the day it was made and who made it ("Người lập"), as the centre report and the targets
    reports name their maker — a book printed and filed said the day only."""
    return f"Lập ngày {vi_date(book.as_of.date())}." + (f" Người lập: {made_by}." if made_by else "")


def attendance_book_xlsx(book: AttendanceBook, *, made_by: str = "") -> bytes:
    """The book as one sheet: a row per learner, a column per session, totals on the right and at the bottom."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Sổ điểm danh"
    abbreviations = book.abbreviations
    names = _book_names(book)
    bold = Font(bold=True)
    sheet["A1"] = BOOK_TITLE
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = f"Lớp: {book.class_name} — Khóa học: {book.course_name}"
    sheet["A3"] = f"{book.centre_name}, {book.commune_name} — từ {vi_date(book.starts_on)} đến {vi_date(book.ends_on)}"
    sheet["A4"] = _book_legend(book)
    sheet["A5"] = _held_line(book)

    header_row = 6
    first_session_col = 4
    headers = ["STT", "Họ và tên", "Năm sinh"]
    for session in book.sessions:
        label, note = book.session_header(session), _session_note(session)
        headers.append(f"{label} ({note})" if note else label)
    total_col = first_session_col + len(book.sessions)
    headers += [
        "Số buổi có mặt",
        "Trên số buổi đã học từ khi vào lớp",
        "Tỷ lệ",
        "Hoàn thành",
        "Mã giấy chứng nhận",
    ]
    for col, text in enumerate(headers, start=1):
        cell = sheet.cell(row=header_row, column=col, value=text)
        cell.font, cell.fill = bold, HEAD
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        cell.border = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)
    row = header_row
    for index, learner in enumerate(book.learners, start=1):
        row = header_row + index
        sheet.cell(row=row, column=1, value=index)
        sheet.cell(row=row, column=2, value=names[learner.person_id])
        sheet.cell(row=row, column=3, value=learner.birth_year)
        for offset, session in enumerate(book.sessions):
            status = learner.marks.get(session.id)
            cell = sheet.cell(
                row=row, column=first_session_col + offset, value=abbreviations.get(status, status) if status else None
            )
            cell.alignment = Alignment(horizontal="center")
            if session.cancelled:
                cell.fill = GREY
            elif session.without_roll_call:
                cell.fill = NOT_RECORDED_FILL
        sheet.cell(row=row, column=total_col, value=learner.attended)
        sheet.cell(row=row, column=total_col + 1, value=learner.held)
        # A number shown as a percentage ("100%"; Excel writes "87%" in any locale), not the text "87 %": a clerk sorts
        # and filters the book by it. No session held yet: "—", as the PDF prints.
        rate = sheet.cell(
            row=row,
            column=total_col + 2,
            value=learner.attended / learner.held if learner.held else "—",
        )
        rate.number_format = "0%"
        sheet.cell(row=row, column=total_col + 3, value="Hoàn thành" if learner.completed else "")
        sheet.cell(row=row, column=total_col + 4, value=learner.certificate_code)
    totals_row = row + 1
    sheet.cell(row=totals_row, column=2, value="Số học viên có mặt").font = bold
    for offset, session in enumerate(book.sessions):
        value: int | str | None = session.attended if session.held else None
        if session.without_roll_call:
            value = NOT_RECORDED_VI  # not "0": nobody was counted absent (the class page's "Chưa điểm danh")
        cell = sheet.cell(row=totals_row, column=first_session_col + offset, value=value)
        cell.font, cell.alignment = bold, Alignment(horizontal="center", wrap_text=True)
        if session.cancelled:
            cell.fill = GREY
        elif session.without_roll_call:
            cell.fill = NOT_RECORDED_FILL
    sheet.cell(row=totals_row, column=total_col, value=sum(s.attended for s in book.sessions)).font = bold
    sheet.cell(
        row=totals_row + 1,
        column=2,
        value=f"Hoàn thành: {sum(1 for learner in book.learners if learner.completed)} / "
        f"{sum(1 for learner in book.learners if not learner.withdrawn)} học viên. {_made_words(book, made_by)}",
    )

    sheet.column_dimensions["A"].width = 5
    sheet.column_dimensions["B"].width = 30
    sheet.column_dimensions["C"].width = 9
    for offset in range(len(book.sessions)):
        sheet.column_dimensions[get_column_letter(first_session_col + offset)].width = 11
    for offset, width in enumerate((10, 12, 8, 12, 18)):
        sheet.column_dimensions[get_column_letter(total_col + offset)].width = width
    sheet.row_dimensions[header_row].height = 45
    # A class of sixty fills two pages: each repeats the header and says whose book it is (fitToWidth alone, as
    # set before, was ignored without fitToPage).
    print_setup(sheet, header_row, heading=f"{BOOK_TITLE} — {book.class_name} — {book.centre_name}")
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=first_session_col)
    sheet.print_options.gridLines = True
    buffer = io.BytesIO()
    save_workbook(workbook, buffer)
    return buffer.getvalue()


SESSIONS_PER_TABLE = 16  # columns that fit a landscape A4 page next to the names and totals


def attendance_book_pdf(book: AttendanceBook, *, made_by: str = "") -> bytes:
    """The book as a printable PDF; a long class is split into blocks of sessions, the names repeated."""
    register_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"{BOOK_TITLE} — {book.class_name}",
        author=book.centre_name,
    )
    title = ParagraphStyle("title", fontName=FONT_BOLD, fontSize=14, leading=18, alignment=1, spaceAfter=4)
    text = ParagraphStyle("text", fontName=FONT, fontSize=9, leading=12)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=7.5, leading=9)
    head = ParagraphStyle("head", fontName=FONT_BOLD, fontSize=7, leading=8.5, alignment=1)
    story: list = [
        Paragraph(BOOK_TITLE, title),
        Paragraph(
            f"Lớp: <b>{markup_escape(book.class_name)}</b> — Khóa học: <b>{markup_escape(book.course_name)}</b>", text
        ),
        Paragraph(
            f"{markup_escape(book.centre_name)}, {markup_escape(book.commune_name)} — từ {vi_date(book.starts_on)} "
            f"đến {vi_date(book.ends_on)}. {_held_line(book)} Điều kiện hoàn thành: có mặt "
            f"ít nhất {vi_number(book.min_attendance_share * 100)} % số buổi đã học kể từ khi vào lớp "
            "(buổi học trước khi vào lớp mà điểm danh không có tên học viên thì không tính).",
            text,
        ),
        Paragraph(markup_escape(_book_legend(book)), text),
        Spacer(1, 4 * mm),
    ]
    abbreviations = book.abbreviations
    names = _book_names(book)
    blocks = [book.sessions[i : i + SESSIONS_PER_TABLE] for i in range(0, len(book.sessions), SESSIONS_PER_TABLE)]
    blocks = blocks or [[]]
    # A class over the new year: each column says its year (a line of its own: the column is narrow), or 05/01 would
    # read as before 28/12.
    day_format = "%d/%m<br/>%Y" if len({s.starts_at.year for s in book.sessions}) > 1 else "%d/%m"
    for number, block in enumerate(blocks):
        last = number == len(blocks) - 1
        header = [Paragraph("STT", head), Paragraph("Họ và tên", head)]
        for session in block:
            label = f"{session.starts_at.strftime(day_format)}<br/>{session.starts_at:%H:%M}"
            note = _session_note(session)
            header.append(Paragraph(f"{label}<br/>({note})" if note else label, head))
        if last:
            header += [Paragraph("Có mặt", head), Paragraph("Tỷ lệ", head), Paragraph("Hoàn thành", head)]
        data = [header]
        for index, learner in enumerate(book.learners, start=1):
            row = [str(index), Paragraph(markup_escape(names[learner.person_id]), cell)]
            for session in block:
                status = learner.marks.get(session.id)
                row.append(abbreviations.get(status, status) if status else "")
            if last:
                row += [
                    f"{learner.attended}/{learner.held}",
                    _share(learner.attended, learner.held),
                    "✓" if learner.completed else "",
                ]
            data.append(row)
        totals = ["", Paragraph("<b>Số học viên có mặt</b>", cell)]
        totals += [
            Paragraph(NOT_RECORDED_VI, head)
            if session.without_roll_call
            else (str(session.attended) if session.held else "")
            for session in block
        ]
        if last:
            totals += [
                str(sum(s.attended for s in book.sessions)),
                "",
                str(sum(1 for x in book.learners if x.completed)),
            ]
        data.append(totals)
        widths = [9 * mm, 52 * mm] + [11.5 * mm] * len(block) + ([15 * mm, 13 * mm, 16 * mm] if last else [])
        table = Table(data, colWidths=widths, repeatRows=1)
        style = [
            ("FONT", (0, 0), (-1, -1), FONT, 7.5),
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dce6f1")),
            ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f2f2f2")),
            ("FONT", (0, -1), (-1, -1), FONT_BOLD, 7.5),
            ("ALIGN", (2, 1), (-1, -1), "CENTER"),
            ("ALIGN", (0, 1), (0, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("LEFTPADDING", (0, 0), (-1, -1), 2),
            ("RIGHTPADDING", (0, 0), (-1, -1), 2),
        ]
        for offset, session in enumerate(block):
            if session.cancelled:
                style.append(("BACKGROUND", (2 + offset, 1), (2 + offset, -2), colors.HexColor("#d9d9d9")))
            elif session.without_roll_call:
                style.append(("BACKGROUND", (2 + offset, 1), (2 + offset, -1), colors.HexColor("#fff2cc")))
        table.setStyle(TableStyle(style))
        story += [table, Spacer(1, 6 * mm)] if last else [table, PageBreak()]
    completed = sum(1 for learner in book.learners if learner.completed)
    active = sum(1 for learner in book.learners if not learner.withdrawn)
    story.append(
        Paragraph(f"Hoàn thành: {completed} / {active} học viên. {markup_escape(_made_words(book, made_by))}", text)
    )

    # Every page says whose book it is and where it sits: a page of a sixty-learner class taken out of the pile.
    footer = page_footer(f"{BOOK_TITLE} — {book.class_name} — {book.centre_name}", bottom=6 * mm)
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
