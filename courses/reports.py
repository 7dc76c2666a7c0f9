"""The centre report: what a CLC did in a period, the numbers of its annual report (báo cáo tổng kết).

Two set-based statements whatever the number of classes, sessions, learners or marks: one GROUP BY per class
(sessions held, learner-turns, enrolled learners) and one GROUP BY per course category (completions). The totals
are sums of the per-class numerators and denominators, never an average of percentages.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer
from sqlalchemy import case, distinct, exists, func, select

from courses.models import (
    Attendance,
    AttendanceStatus,
    ClassSession,
    Course,
    CourseCategory,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    LearningKind,
    LearningRecord,
    SessionStatus,
)
from courses.services import CLASS_DAYS, counted_sessions, local_now
from lms.core import formatting
from lms.core.exports import filed_closing, filed_heading, print_setup, save_workbook
from lms.core.formatting import in_request_language as _
from lms.core.pdf import (
    FONT,
    FONT_BOLD,
    markup_escape,
    page_footer,
    register_fonts,
    report_closing,
    report_heading,
    ruled_table,
    vi_date,
    vi_long_date,
)
from lms.extensions import db
from lms.registry.issuers import Issuer
from lms.registry.models import BoardMembership, BoardRole, Clc, Person, UnitLevel

# (Vietnamese, English): the xlsx is Vietnamese whatever the page's language, as the annual report is. The names are
# the Education Law's (Law 43/2019/QH14): a CLC runs the programmes of Art. 43.1.a ("Chương trình xóa mù chữ") and
# 43.1.b ("Chương trình giáo dục đáp ứng yêu cầu của người học; cập nhật kiến thức, kỹ năng, chuyển giao công
# nghệ"), Art. 44.3.b; the other fields are parts of point b.
CATEGORY_LABELS: dict[str, tuple[str, str]] = {
    CourseCategory.LITERACY: ("Xóa mù chữ", "Literacy"),
    CourseCategory.NEEDS_BASED: (
        "Đáp ứng yêu cầu của người học; cập nhật kiến thức, kỹ năng",
        "Needs-based knowledge and skills",
    ),
    CourseCategory.TECHNOLOGY_TRANSFER: ("Chuyển giao công nghệ", "Technology transfer"),
    CourseCategory.DIGITAL_SKILLS: ("Kỹ năng số", "Digital skills"),
    CourseCategory.POLICY_STUDY: ("Học tập chủ trương, chính sách", "Policy study"),
    CourseCategory.IT_SKILLS: ("Kỹ năng công nghệ thông tin", "IT skills"),
}


def category_label(category: str, locale: str = "vi") -> str:
    vi, en = CATEGORY_LABELS.get(category, (category, category))
    return vi if locale == "vi" else en


@dataclass(frozen=True)
class ClassLine:
    class_id: int
    class_name: str
    course_name: str
    category: str
    sessions_held: int
    enrolled: int
    learner_turns: int  # attended marks in the period, whoever gave them
    attended_by_enrolled: int  # the same, counting only learners still enrolled: the rate's numerator
    expected_turns: int  # the held sessions that count for each learner still enrolled (ADR 5): its denominator
    sessions_without_roll_call: int = 0  # held, no mark of anyone: in nobody's denominator (ADR 54)

    @property
    def attendance_rate(self) -> Fraction | None:
        return Fraction(self.attended_by_enrolled, self.expected_turns) if self.expected_turns else None


@dataclass(frozen=True)
class CategoryLine:
    category: str
    completions: int
    learners: int
    hours: Decimal


@dataclass(frozen=True)
class CentreReport:
    clc_id: int
    first: date
    last: date
    as_of: datetime
    classes: list[ClassLine]
    categories: list[CategoryLine]

    @property
    def classes_held(self) -> int:
        return len(self.classes)

    @property
    def sessions_held(self) -> int:
        return sum(line.sessions_held for line in self.classes)

    @property
    def sessions_without_roll_call(self) -> int:
        return sum(line.sessions_without_roll_call for line in self.classes)

    @property
    def learner_turns(self) -> int:
        return sum(line.learner_turns for line in self.classes)

    @property
    def attendance_numerator(self) -> int:
        return sum(line.attended_by_enrolled for line in self.classes)

    @property
    def attendance_denominator(self) -> int:
        return sum(line.expected_turns for line in self.classes)

    @property
    def attendance_rate(self) -> Fraction | None:
        denominator = self.attendance_denominator
        return Fraction(self.attendance_numerator, denominator) if denominator else None

    @property
    def completions(self) -> int:
        return sum(line.completions for line in self.categories)


class ReportPeriodError(ValueError):
    pass


#: The days a report may cover: a class's days, the years the titles count.
REPORT_DAYS = CLASS_DAYS


def parse_period(raw_from: str | None, raw_to: str | None, *, today: date) -> tuple[date, date]:
    """``from`` and ``to`` as YYYY-MM-DD; the calendar year of ``today`` by default (the titles' year)."""
    try:
        first = date.fromisoformat(raw_from) if raw_from else date(today.year, 1, 1)
        last = date.fromisoformat(raw_to) if raw_to else date(today.year, 12, 31)
    except ValueError as exc:
        raise ReportPeriodError(_("dates are written YYYY-MM-DD")) from exc
    earliest, latest = REPORT_DAYS
    if first < earliest or last > latest:  # 31/12/9999 overflowed the day after it (a 500)
        raise ReportPeriodError(
            _("enter a day from %(first)s to %(last)s", first=f"{earliest:%d/%m/%Y}", last=f"{latest:%d/%m/%Y}")
        )
    if last < first:
        raise ReportPeriodError(_("the end of the period is before its start"))
    if (last - first).days > 366 * 5:
        raise ReportPeriodError(_("the period is longer than five years"))
    return first, last


def centre_report(clc: Clc, first: date, last: date, *, as_of: datetime | None = None) -> CentreReport:
    """The report of ``clc`` for the days ``first``–``last`` (inclusive).

    A session is *held* when it was not cancelled and started in the period, no later than ``as_of``; a class is
    held when it has at least one held session. Learner-turns are the marks on held sessions whose status counts
    as attended. The attendance rate is attended marks / the held sessions that count for each learner, counting
    learners enrolled now (a withdrawn learner's early marks stay in the learner-turns, not in the rate); a session
    counts for a learner as it does for completion (:func:`courses.services.counted_sessions`, ADR 5): one held
    before a late learner's enrolment, whose roll call does not name them, is not in their share, and one without any
    roll call is in nobody's (not recorded is not absent) — each class says how many of its held sessions have none,
    so the reader knows on how many sessions its rate rests. Completions are the learning records of the centre's
    classes completed in the period, by course category.
    """
    as_of = as_of or local_now()
    start = datetime.combine(first, time.min)
    end = datetime.combine(last + timedelta(days=1), time.min)
    held = (
        select(ClassSession.id.label("session_id"), ClassSession.class_id.label("class_id"))
        .join(CourseClass, CourseClass.id == ClassSession.class_id)
        .where(
            CourseClass.clc_id == clc.id,
            ClassSession.status == SessionStatus.SCHEDULED,
            ClassSession.starts_at >= start,
            ClassSession.starts_at < end,
            ClassSession.starts_at <= as_of,
        )
        .cte("held")
    )
    no_roll_call = ~exists().where(Attendance.session_id == held.c.session_id)
    sessions = (
        select(
            held.c.class_id,
            func.count().label("n"),
            func.coalesce(func.sum(case((no_roll_call, 1), else_=0)), 0).label("unrecorded"),
        )
        .group_by(held.c.class_id)
        .subquery("sessions")
    )
    still_enrolled = case((Enrolment.status == EnrolmentStatus.ENROLLED, 1), else_=0)
    attended = (
        select(
            held.c.class_id,
            func.count(Attendance.id).label("turns"),
            func.coalesce(func.sum(still_enrolled), 0).label("by_enrolled"),
        )
        .select_from(held)
        .join(Attendance, Attendance.session_id == held.c.session_id)
        .join(AttendanceStatus, AttendanceStatus.code == Attendance.status)
        .outerjoin(Enrolment, (Enrolment.class_id == held.c.class_id) & (Enrolment.person_id == Attendance.person_id))
        .where(AttendanceStatus.counts_as_attended)
        .group_by(held.c.class_id)
        .subquery("attended")
    )
    enrolled = (
        select(Enrolment.class_id, func.count().label("n"))
        .join(CourseClass, CourseClass.id == Enrolment.class_id)
        .where(CourseClass.clc_id == clc.id, Enrolment.status == EnrolmentStatus.ENROLLED)
        .group_by(Enrolment.class_id)
        .subquery("enrolled")
    )
    counted = counted_sessions(
        select(CourseClass.id).where(CourseClass.clc_id == clc.id), starts=(start, end)
    ).subquery("counted")
    expected = (
        select(counted.c.class_id, func.count().label("n"))
        .where(counted.c.starts_at <= as_of, counted.c.recorded == 1)  # no roll call: no absence (ADR 54)
        .group_by(counted.c.class_id)
        .subquery("expected")
    )
    rows = db.session.execute(
        select(
            CourseClass.id,
            CourseClass.name,
            Course.name,
            Course.category,
            sessions.c.n,
            func.coalesce(enrolled.c.n, 0),
            func.coalesce(attended.c.turns, 0),
            func.coalesce(attended.c.by_enrolled, 0),
            func.coalesce(expected.c.n, 0),
            sessions.c.unrecorded,
        )
        .join(Course, Course.id == CourseClass.course_id)
        .join(sessions, sessions.c.class_id == CourseClass.id)
        .outerjoin(attended, attended.c.class_id == CourseClass.id)
        .outerjoin(enrolled, enrolled.c.class_id == CourseClass.id)
        .outerjoin(expected, expected.c.class_id == CourseClass.id)
        .order_by(CourseClass.sort_key, CourseClass.id)
    ).all()
    classes = [
        ClassLine(
            class_id,
            class_name,
            course_name,
            category,
            int(held_n),
            int(enrolled_n),
            int(turns),
            int(by_enrolled),
            int(expected_n),
            int(unrecorded),
        )
        for (
            class_id,
            class_name,
            course_name,
            category,
            held_n,
            enrolled_n,
            turns,
            by_enrolled,
            expected_n,
            unrecorded,
        ) in rows
    ]

    completion_rows = db.session.execute(
        select(
            LearningRecord.category,
            func.count(LearningRecord.id),
            func.count(distinct(LearningRecord.person_id)),
            func.coalesce(func.sum(LearningRecord.hours), 0),
        )
        .join(CourseClass, CourseClass.id == LearningRecord.class_id)
        .where(
            CourseClass.clc_id == clc.id,
            LearningRecord.kind.in_([LearningKind.CLASS_COMPLETION, LearningKind.POLICY_STUDY]),
            LearningRecord.completed_on >= first,
            LearningRecord.completed_on <= last,
        )
        .group_by(LearningRecord.category)
    ).all()
    order = list(CATEGORY_LABELS)
    categories = sorted(
        (
            CategoryLine(category or "", int(n), int(people), Decimal(hours))
            for category, n, people, hours in completion_rows
        ),
        key=lambda line: (order.index(line.category) if line.category in order else len(order), line.category),
    )
    return CentreReport(clc.id, first, last, as_of, classes, categories)


def percent(rate: Fraction | None) -> str:
    """A rate (0–1) as the page's language writes a share: "87,5 %" (lms.core.formatting)."""
    return formatting.percent(None if rate is None else float(rate) * 100)


# The plan's targets in its own words (Plan 1514/KH-UBND of Kon Tum, as Decision 387/QĐ-TTg: mục tiêu đến năm 2025,
# ý 1 and 4): the IT-skills figures' indicators, on the page (the catalogue) and in the workbook.
PLAN_IT_TRAINED_OFFICERS = (
    "Cán bộ làm công tác Khuyến học cấp xã tham gia tổ chức các hoạt động của Trung tâm học tập cộng đồng và được bồi "
    "dưỡng, tập huấn về ứng dụng công nghệ thông tin"
)
PLAN_CHAIR_IN_CLC = "Hội Khuyến học cấp xã có Chủ tịch hoặc Phó Chủ tịch tham gia quản lý Trung tâm học tập cộng đồng"
PLAN_POLICY_STUDY = (
    "Cán bộ, hội viên Hội Khuyến học được học tập, quán triệt các chủ trương về khuyến học, khuyến tài, xây dựng xã "
    "hội học tập"
)
CENTRE_REPORT_TITLE = "BÁO CÁO HOẠT ĐỘNG TRUNG TÂM HỌC TẬP CỘNG ĐỒNG"
CENTRE_REPORT_SUMMARY = "Hoạt động của Trung tâm học tập cộng đồng"  # the trích yếu under "BÁO CÁO", then the period
RATE_LABEL = "Tỷ lệ chuyên cần"
RATE_RULE_VI = (
    "Tỷ lệ chuyên cần: số lượt có mặt của học viên đang theo học trên số buổi đã học của từng học viên, kể từ khi vào "
    "lớp; buổi đã học mà chưa điểm danh không tính vào tỷ lệ."
)
CLASS_HEADERS = (
    "STT",
    "Lớp",
    "Khóa học",
    "Lĩnh vực",
    "Số buổi đã học",
    "Số học viên",
    "Số lượt có mặt",
    "Tỷ lệ chuyên cần",
    "Số buổi chưa điểm danh (không tính vào tỷ lệ)",
)
CATEGORY_HEADERS = ("Hoàn thành khóa học theo lĩnh vực", "Số lượt hoàn thành", "Số người", "Số giờ học")


def summary_lines(report: CentreReport) -> list[tuple[str, object]]:
    """The report's figures in the order and words both documents print them (the rate as a fraction 0–1)."""
    return [
        ("Số lớp đã tổ chức", report.classes_held),
        ("Số buổi học đã tổ chức", report.sessions_held),
        ("Trong đó: số buổi chưa điểm danh (không tính vào tỷ lệ chuyên cần)", report.sessions_without_roll_call),
        ("Số lượt người học (lượt có mặt)", report.learner_turns),
        ("Số lượt có mặt của học viên đang theo học", report.attendance_numerator),
        ("Số lượt phải học (buổi đã học của từng học viên, kể từ khi vào lớp)", report.attendance_denominator),
        (RATE_LABEL, report.attendance_rate),
        ("Số lượt hoàn thành khóa học", report.completions),
    ]


def centre_director(clc: Clc, on: date) -> str:
    """The name of the centre's director on ``on`` (the board's), or "" when the board is not recorded."""
    return (
        db.session.scalar(
            select(Person.full_name)
            .join(BoardMembership, BoardMembership.person_id == Person.id)
            .where(
                BoardMembership.clc_id == clc.id,
                BoardMembership.role == BoardRole.DIRECTOR,
                BoardMembership.started_on <= on,
                (BoardMembership.ended_on.is_(None)) | (BoardMembership.ended_on >= on),
            )
            .order_by(BoardMembership.started_on.desc())
            .limit(1)
        )
        or ""
    )


def _pdf_percent(rate: Fraction | None) -> str:
    return formatting.percent(None if rate is None else float(rate) * 100, locale="vi")


def _pdf_number(value: int | Decimal) -> str:
    return formatting.number(value, 1, locale="vi")


PAGE_WIDTH = landscape(A4)[0] - 24 * mm  # between the 12 mm margins


def centre_report_pdf(
    report: CentreReport,
    *,
    centre_name: str,
    commune_name: str,
    issuer: Issuer,
    director: str = "",
    made_by: str = "",
    document_number: str = "",
) -> bytes:
    """The report filed on paper: the same figures as the page and the workbook, laid out as the targets reports
    (Decree 30/2020: issuer and number, national name and motto, "BÁO CÁO" and its summary; the summary, the
    completions by category and the classes as tables whose header repeats on each page; the recipients, the maker's
    and the director's signatures), landscape A4, the centre and period at the foot of every page."""
    register_fonts()
    buffer = io.BytesIO()
    period = f"từ {vi_date(report.first)} đến {vi_date(report.last)}"
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=f"{CENTRE_REPORT_TITLE} — {centre_name}",
        author=centre_name,
    )
    text = ParagraphStyle("text", fontName=FONT, fontSize=9, leading=12)
    h2 = ParagraphStyle("h2", parent=text, fontName=FONT_BOLD, spaceBefore=4, spaceAfter=3, keepWithNext=1)
    cell = ParagraphStyle("cell", fontName=FONT, fontSize=8, leading=10)
    figure = ParagraphStyle("figure", parent=cell, alignment=2)
    centred = ParagraphStyle("centred", parent=cell, alignment=1)
    head = ParagraphStyle("head", fontName=FONT_BOLD, fontSize=8, leading=10, alignment=1)
    bold_cell = ParagraphStyle("bold-cell", parent=cell, fontName=FONT_BOLD)
    bold_figure = ParagraphStyle("bold-figure", parent=figure, fontName=FONT_BOLD)

    def para(value: object, style: ParagraphStyle = cell) -> Paragraph:
        return Paragraph(markup_escape(str(value)), style)

    story: list = report_heading(
        superior=issuer.superior,
        body=issuer.body,
        number_line=issuer.number_line(document_number),
        place_date=f"{issuer.place}, {vi_long_date(report.as_of.date())}",
        width=PAGE_WIDTH,
        title="BÁO CÁO",
        summary=f"{CENTRE_REPORT_SUMMARY} {period}",
    )
    made = f"Ngày lập: {vi_date(report.as_of.date())}" + (f"; người lập: {made_by}" if made_by else "")
    story += [
        para(f"Trung tâm: {centre_name}", text),
        para(f"Đơn vị: {commune_name}", text),
        para(f"Kỳ báo cáo: {period}", text),
        para(made, text),
        Spacer(1, 3 * mm),
        para("I. Số liệu tổng hợp", h2),
    ]
    rows: list[list] = [[para("STT", head), para("Chỉ tiêu", head), para("Số liệu", head)]]
    for index, (label, value) in enumerate(summary_lines(report), start=1):
        shown = _pdf_percent(value) if label == RATE_LABEL else _pdf_number(value)  # type: ignore[arg-type]
        rows.append([para(index, centred), para(label), para(shown, figure)])
    story += [
        ruled_table(rows, [12 * mm, 150 * mm, 30 * mm], h_align="LEFT"),
        Spacer(1, 1 * mm),
        para(RATE_RULE_VI, text),
    ]

    story.append(para("II. Hoàn thành khóa học theo lĩnh vực", h2))
    rows = [[para(h, head) for h in ("Lĩnh vực", *CATEGORY_HEADERS[1:])]]
    for category in report.categories:
        rows.append(
            [
                para(category_label(category.category)),
                para(_pdf_number(category.completions), figure),
                para(_pdf_number(category.learners), figure),
                para(_pdf_number(category.hours), figure),
            ]
        )
    if not report.categories:
        rows.append([para("Không có lượt hoàn thành nào trong kỳ."), "", "", ""])
    hours = sum((c.hours for c in report.categories), Decimal(0))
    rows.append(
        [
            para("Tổng cộng", bold_cell),
            para(_pdf_number(report.completions), bold_figure),
            para("", figure),
            para(_pdf_number(hours), bold_figure),
        ]
    )
    story.append(ruled_table(rows, [120 * mm, 30 * mm, 30 * mm, 30 * mm], h_align="LEFT"))

    classes_heading = para("III. Các lớp đã tổ chức", h2)
    rows = [[para(h, head) for h in CLASS_HEADERS]]
    for index, line in enumerate(report.classes, start=1):
        rows.append(
            [
                para(index, centred),
                para(line.class_name),
                para(line.course_name),
                para(category_label(line.category)),
                para(_pdf_number(line.sessions_held), figure),
                para(_pdf_number(line.enrolled), figure),
                para(_pdf_number(line.learner_turns), figure),
                para(_pdf_percent(line.attendance_rate), figure),
                para(_pdf_number(line.sessions_without_roll_call), figure),
            ]
        )
    if not report.classes:
        rows.append(["", para("Không có lớp nào được tổ chức trong kỳ."), "", "", "", "", "", "", ""])
    fixed = [10 * mm, 0, 0, 40 * mm, 20 * mm, 20 * mm, 20 * mm, 22 * mm, 28 * mm]
    free = PAGE_WIDTH - sum(fixed)
    fixed[1], fixed[2] = free * 0.5, free * 0.5
    classes = ruled_table(rows, fixed, h_align="LEFT")
    # The signatures never stand alone on a page: the classes' table's last rows go over with them when it is
    # short; a long one stays where it is.
    closing = report_closing(
        recipients=issuer.recipients, maker=made_by, signer=issuer.signer, head=director, width=PAGE_WIDTH
    )
    if len(rows) <= 12:
        story.append(KeepTogether([classes_heading, classes, Spacer(1, 6 * mm), closing]))
    else:
        story += [classes_heading, classes, Spacer(1, 6 * mm), KeepTogether([closing])]
    footer = page_footer(f"{centre_name} — {CENTRE_REPORT_TITLE} — {period}")
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def centre_report_xlsx(
    report: CentreReport,
    *,
    centre_name: str,
    commune_name: str,
    made_by: str = "",
    issuer: Issuer | None = None,
    director: str = "",
    document_number: str = "",
) -> bytes:
    """The report as a workbook labelled in Vietnamese: a summary sheet and a per-class sheet. With ``issuer``, the
    summary sheet is headed and closed as the PDF is (the issuer and number, the national name and motto, "BÁO CÁO"
    and its summary; Nơi nhận, the maker's and the director's signatures)."""
    workbook = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DCE6F1")
    summary = workbook.active
    summary.title = "Tổng hợp"
    period = f"từ {vi_date(report.first)} đến {vi_date(report.last)}"
    if issuer is not None:
        # The issuer over the labels' column (48 characters), the state over the figures' three.
        filed_heading(
            summary,
            superior=issuer.superior,
            body=issuer.body,
            number_line=issuer.number_line(document_number),
            place_date=f"{issuer.place}, {vi_long_date(report.as_of.date())}",
            title="BÁO CÁO",
            summary=f"{CENTRE_REPORT_SUMMARY} {period}",
            columns=4,
            left=1,
        )
        summary.append([])
    else:
        summary["A1"] = CENTRE_REPORT_TITLE
        summary["A1"].font = Font(bold=True, size=14)
    summary.append([f"Trung tâm: {centre_name}"])
    summary.append([f"Đơn vị: {commune_name}"])
    summary.append([f"Kỳ báo cáo: {period}"])
    summary.append([f"Ngày lập: {vi_date(report.as_of.date())}" + (f"; người lập: {made_by}" if made_by else "")])
    summary.append([])
    summary.append(["Chỉ tiêu", "Số liệu"])
    header_row = summary.max_row
    rate = report.attendance_rate
    lines: list[tuple[str, object]] = [
        (label, float(rate) if label == RATE_LABEL and rate is not None else value)
        for label, value in summary_lines(report)
    ]
    for label, value in lines:
        summary.append([label, value])
        if label == RATE_LABEL:
            summary.cell(row=summary.max_row, column=2).number_format = "0.0%"
    summary.append([])
    summary.append(list(CATEGORY_HEADERS))
    category_header = summary.max_row
    for line in report.categories:
        summary.append([category_label(line.category), line.completions, line.learners, float(line.hours)])
    summary.append(
        ["Tổng cộng", report.completions, None, float(sum((c.hours for c in report.categories), Decimal(0)))]
    )
    for row in (header_row, category_header, summary.max_row):
        for cell in summary[row]:
            cell.font = bold
    for row in (header_row, category_header):
        for cell in summary[row]:
            cell.fill = head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
    summary.column_dimensions["A"].width = 48
    for column in "BCD":
        summary.column_dimensions[column].width = 18
    if issuer is not None:
        filed_closing(
            summary,
            recipients=issuer.recipients,
            maker=made_by,
            signer=issuer.signer,
            head=director,
            columns=4,
            spans=(1, 2),
        )

    per_class = workbook.create_sheet("Theo lớp")
    per_class.append(list(CLASS_HEADERS))
    for cell in per_class[1]:
        cell.font, cell.fill = bold, head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for index, class_line in enumerate(report.classes, start=1):
        class_rate = class_line.attendance_rate
        per_class.append(
            [
                index,
                class_line.class_name,
                class_line.course_name,
                category_label(class_line.category),
                class_line.sessions_held,
                class_line.enrolled,
                class_line.learner_turns,
                float(class_rate) if class_rate is not None else None,
                class_line.sessions_without_roll_call,
            ]
        )
        per_class.cell(row=per_class.max_row, column=8).number_format = "0.0%"
    for column, width in zip("ABCDEFGHI", (5, 34, 34, 28, 12, 12, 14, 14, 16), strict=True):
        per_class.column_dimensions[column].width = width
    heading = f"{CENTRE_REPORT_TITLE} — {centre_name} — từ {vi_date(report.first)} đến {vi_date(report.last)}"
    print_setup(summary, header_row, heading=heading)
    print_setup(per_class, 1, heading=heading)
    buffer = io.BytesIO()
    save_workbook(workbook, buffer)
    return buffer.getvalue()


IT_REPORT_TITLE = "CÁN BỘ HỘI KHUYẾN HỌC ĐƯỢC BỒI DƯỠNG KỸ NĂNG CÔNG NGHỆ THÔNG TIN"
# The trích yếu under "BÁO CÁO", then the unit and the period.
IT_REPORT_SUMMARY = "Kết quả bồi dưỡng kỹ năng công nghệ thông tin cho cán bộ Hội Khuyến học"
IT_SUMMARY_COLUMNS = 5  # the indicator, numerator, denominator, share, what the denominator counts


def _verdict(check: Any) -> str:
    if not check.denominator:
        return "chưa có cán bộ nào được ghi nhận"
    return "đạt" if check.met else f"chưa đạt: cần thêm {check.missing} cán bộ"


def it_figures_xlsx(
    result: Any,
    matrix: Sequence[Any],
    *,
    total_check: Any = None,
    commune_checks: dict[int, Any] | None = None,
    source: str = "",
    made_by: str = "",
    issuer: Issuer | None = None,
    document_number: str = "",
) -> bytes:
    """The IT-skills figures of a commune or a province (``courses.it_skills.figures``) as a Vietnamese workbook:
    the two plan indicators with numerator and denominator, the figures per commune, and officers × modules. With
    the plan's checks (``lms.targets.services.check_target``): the officers' share against the target of the
    period, met or not and how many more officers it needs, for the unit and each commune. With ``issuer`` (the
    unit's, from the configuration the targets reports read: ``lms.registry.issuers.report_issuer``), its first sheet
    is headed and closed as the targets report's workbook is: the issuing body and the number, the national name and
    motto, the place and day, "BÁO CÁO" and its summary; Nơi nhận, the maker's and the head's signatures."""
    from courses.it_skills import framework

    fw = framework()
    workbook = Workbook()
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DCE6F1")

    def header(sheet: Any, row: int) -> None:
        for cell in sheet[row]:
            cell.font, cell.fill = bold, head_fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")

    summary = workbook.active
    summary.title = "Chỉ tiêu"
    period = f"từ {vi_date(result.period.first)} đến {vi_date(result.period.last)}"
    made_on = local_now().date()
    if issuer is not None:
        # The issuer over the indicators' column (70 characters wide), the state over the figures and the meaning.
        filed_heading(
            summary,
            superior=issuer.superior,
            body=issuer.body,
            number_line=issuer.number_line(document_number),
            place_date=f"{issuer.place}, {vi_long_date(made_on)}",
            title="BÁO CÁO",
            summary=f"{IT_REPORT_SUMMARY} {result.scope.name_in_sentence} {period}",  # "… Hội Khuyến học xã Ea Tu …"
            columns=IT_SUMMARY_COLUMNS,
            left=1,
        )
        summary.append([])
    else:
        summary.append([IT_REPORT_TITLE])
        summary.cell(row=summary.max_row, column=1).font = Font(bold=True, size=14)
    summary.append([f"Đơn vị: {result.scope.full_name}"])
    summary.append([f"Kỳ: {period}"])
    summary.append([f"Được bồi dưỡng CNTT: {result.definition.describe('vi')}"])
    summary.append([f"Ngày lập: {vi_date(made_on)}" + (f"; người lập: {made_by}" if made_by else "")])
    summary.append([])
    from lms.targets.reports import phase_words

    summary.append(["Chỉ tiêu", "Tử số", "Mẫu số", "Tỷ lệ", "Mẫu số là"])
    header(summary, summary.max_row)
    indicators_header = summary.max_row
    indicators = [
        (
            PLAN_IT_TRAINED_OFFICERS,
            result.total("organised_and_trained"),
            result.total("officers"),
            "cán bộ Hội cấp xã (chủ tịch, phó chủ tịch, cán bộ) trong kỳ",
        ),
        (
            PLAN_CHAIR_IN_CLC,
            result.associations_led_in_clc,
            result.associations,
            "xã có Hội Khuyến học (có hội viên trong kỳ)",
        ),
        (
            PLAN_POLICY_STUDY
            # Counted over the plan's phase (ADR 54), as the targets reports print it.
            + (f" ({phase_words(*result.policy_phase)})" if result.policy_phase else ""),
            result.total("studied_policy"),
            result.total("members"),
            "cán bộ, hội viên của các chi hội trong xã",
        ),
    ]
    for label, numerator, denominator, meaning in indicators:
        summary.append([label, numerator, denominator, numerator / denominator if denominator else None, meaning])
        summary.cell(row=summary.max_row, column=4).number_format = "0.0%"
    if total_check is not None:
        summary.append([])
        summary.append(
            [
                f"Mục tiêu đến năm {total_check.year} (c{PLAN_IT_TRAINED_OFFICERS[1:]})"
                f"{' — tạm thời' if total_check.provisional else ''}",
                _verdict(total_check),
                None,
                float(total_check.target) / 100,
                f"Căn cứ: {source}" if source else "",
            ]
        )
        summary.cell(row=summary.max_row, column=4).number_format = "0%"
    summary.column_dimensions["A"].width = 70
    summary.column_dimensions["E"].width = 50
    if issuer is not None:
        # Nơi nhận under the indicators, the maker under the figures, the head under the meaning.
        filed_closing(
            summary,
            recipients=issuer.recipients,
            maker=made_by,
            signer=issuer.signer,
            columns=IT_SUMMARY_COLUMNS,
            spans=(1, 4),
        )

    communes = workbook.create_sheet("Theo xã")
    carried = any(line.carried_from for line in result.communes)
    communes.append(
        [
            "Xã",
            "Số cán bộ Hội",
            "Đã học đủ 6 mô đun cơ bản",
            "Có chứng chỉ ứng dụng CNTT cơ bản",
            "Được bồi dưỡng CNTT",
            "Tham gia tổ chức hoạt động",
            "Tổ chức hoạt động và được bồi dưỡng",
            "Có Hội Khuyến học",
            "Chủ tịch/phó chủ tịch tham gia quản lý",
            "Số cán bộ, hội viên",
            "Đã học tập chủ trương, chính sách",
            *(("Mục tiêu", "So với mục tiêu") if commune_checks else ()),
            # A commune created by the 2025 map change carries, for the time before, its predecessors' figures (ADR 2):
            # the sheet names them, as the page does (the officers' sheet lists none of their officers).
            *(("Gồm số liệu của các xã cũ (trước khi thành lập xã mới)",) if carried else ()),
        ]
    )
    header(communes, 1)
    # A province's communes with nothing recorded (no officer, no association member) are named once under the
    # table, as on the page (``courses.it_views._lagging_first``) and as the targets reports name their sub-units
    # without figures: the sheet of a province listed a hundred communes, most of them rows of zeros. A commune's own
    # workbook keeps its row.
    listed, unrecorded = list(result.communes), []
    if result.scope.level != UnitLevel.COMMUNE:
        listed = [c for c in result.communes if c.officers or c.members or c.has_association]
        unrecorded = [c for c in result.communes if not (c.officers or c.members or c.has_association)]
    for line in listed:
        check = (commune_checks or {}).get(line.commune_id)
        target = (float(check.target) / 100, _verdict(check)) if check else (None, "")
        communes.append(
            [
                line.commune_name,
                line.officers,
                line.meets_basic,
                line.certified_basic,
                line.trained,
                line.organised,
                line.organised_and_trained,
                "có" if line.has_association else "không",
                "có" if line.leader_on_board else "không",
                line.members,
                line.studied_policy,
                *(target if commune_checks else ()),
                *((", ".join(line.carried_from),) if carried else ()),
            ]
        )
        if commune_checks:
            communes.cell(row=communes.max_row, column=12).number_format = "0%"
    if unrecorded:
        width = communes.max_column
        communes.append([])
        communes.append(
            [
                f"Chưa ghi nhận cán bộ, hội viên Hội Khuyến học nào ở {len(unrecorded)} đơn vị cấp xã: "
                + ", ".join(c.commune_name for c in unrecorded)
                + "."
            ]
        )
        communes.merge_cells(start_row=communes.max_row, start_column=1, end_row=communes.max_row, end_column=width)
        sentence = communes.cell(row=communes.max_row, column=1)
        sentence.alignment = Alignment(wrap_text=True, vertical="top")
        # Merged cells do not grow with their text: about 110 characters fit on a line of the merged width.
        communes.row_dimensions[communes.max_row].height = 15 * (1 + len(str(sentence.value)) // 110)
    communes.column_dimensions["A"].width = 30

    officers = workbook.create_sheet("Cán bộ × mô đun")
    names = {line.commune_id: line.commune_name for line in result.communes}
    named = {module.code: module.name_vi for module in fw.modules}
    officers.append(
        [
            "STT",
            "Họ và tên",
            "Xã",
            # The module's name with its code (Circular 03/2014): "IU01 Hiểu biết về CNTT cơ bản", not a bare code.
            *(f"{code} {named[code]}" if code in named else code for code in fw.codes),
            "Đã học đủ 6 mô đun cơ bản",
            "Có chứng chỉ ứng dụng CNTT cơ bản",
            "Đã học đủ mô đun chuẩn nâng cao",
            "Được bồi dưỡng CNTT",
            "Tham gia tổ chức hoạt động",
        ]
    )
    header(officers, 1)
    for index, officer in enumerate(matrix, start=1):
        officers.append(
            [
                index,
                officer.full_name,
                names.get(officer.commune_id, ""),
                *("x" if code in officer.modules else "" for code in fw.codes),
                "có" if officer.meets_basic else "",
                "có" if officer.certified_basic else "",
                "có" if officer.meets_advanced else "",
                "có" if officer.trained else "",
                "có" if officer.organised else "",
            ]
        )
    officers.column_dimensions["B"].width = 28
    officers.column_dimensions["C"].width = 24
    for column in range(4, 4 + len(fw.codes)):
        officers.column_dimensions[get_column_letter(column)].width = 14
    officers.row_dimensions[1].height = 90
    heading = (
        f"CÁN BỘ HỘI KHUYẾN HỌC ĐƯỢC BỒI DƯỠNG KỸ NĂNG CNTT — {result.scope.full_name} — "
        f"từ {vi_date(result.period.first)} đến {vi_date(result.period.last)}"
    )
    print_setup(summary, indicators_header, heading=heading)
    print_setup(communes, 1, heading=heading)  # a province's hundred communes: several pages
    print_setup(officers, 1, heading=heading)
    buffer = io.BytesIO()
    save_workbook(workbook, buffer)
    return buffer.getvalue()
