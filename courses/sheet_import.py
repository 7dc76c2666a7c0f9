"""Import of a paper attendance sheet typed into a spreadsheet, and the blank sheet to print for a class.

The grid: the first column names the learner (full name, or person number as ``123``, ``#123`` or
``Nguyễn Văn An (#123)``); the header row (row 1) holds the session dates, ``dd/mm/yyyy``, or
``dd/mm/yyyy HH:MM`` on a day with two sessions; a cell holds a status code or a Vietnamese abbreviation
(x / có = present, m = late, p = excused, v / k = absent), empty for no mark.

Every cell is checked before anything is written and every problem is reported with its row, its column (the
Excel letter and the header) and a reason in English and Vietnamese, in the registry import's error format
``{"row", "column", "message", "message_vi"}`` (plus ``header``). The sheet applies completely or not at all.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from courses import services
from courses.models import ClassSession, CourseClass, Enrolment, EnrolmentStatus, SessionStatus
from lms.core.exports import save_workbook
from lms.core.services import audit
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit, Person, subtree
from lms.registry.text import fold

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000  # learners: far more than any class
MAX_COLUMNS = 400  # sessions
MAX_LISTED_ERRORS = 500
LEARNER_HEADER = "Học viên"
DEVICE = "paper sheet"

# Vietnamese shorthand of the paper sheets, folded (no diacritics, lower case) → status code.
VI_ABBREVIATIONS = {"x": "present", "co": "present", "m": "late", "p": "excused", "v": "absent", "k": "absent"}

_DAY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:\s+(\d{1,2})[:hH](\d{2}))?$")
_PERSON_NUMBER = re.compile(r"^#?\s*(\d+)$")
_NAME_WITH_NUMBER = re.compile(r"^(.*?)\s*\(\s*#\s*(\d+)\s*\)$")


class SheetRejected(ValueError):
    """The sheet was not applied. ``errors`` lists the problems by row and column, the first
    ``MAX_LISTED_ERRORS`` of them (a sheet typed in the wrong layout can have one per cell); ``count`` says how
    many there were."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the sheet; nothing was applied")
        self.count = len(errors)
        self.errors = sorted(
            errors, key=lambda e: (e["row"] or 0, column_index_from_string(e["column"]) if e["column"] else 0)
        )[:MAX_LISTED_ERRORS]


def sheet_error(row: int | None, column: int | None, header: str, message: str, message_vi: str) -> dict[str, Any]:
    return {
        "row": row,
        "column": get_column_letter(column) if column else None,
        "header": header,
        "message": message,
        "message_vi": message_vi,
    }


@dataclass
class ImportSummary:
    learners: int = 0
    sessions: int = 0
    marks: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class _Column:
    index: int  # 1-based
    header: str
    session: ClassSession | None = None
    has_marks: bool = False


@dataclass
class _Row:
    number: int  # the spreadsheet row number
    learner_text: str
    person_id: int | None = None
    marks: dict[int, str] = field(default_factory=dict)  # column index → status code


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return f"{value:%d/%m/%Y %H:%M}" if value.time() != time(0) else f"{value:%d/%m/%Y}"
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    return " ".join(str(value).split())


def _read_grid(content: bytes) -> list[tuple[Any, ...]]:
    """The first sheet's rows, or a rejection for a file that is empty, not xlsx, or too large."""
    if not content:
        raise SheetRejected([sheet_error(None, None, "", "The file is empty.", "Tệp trống.")])
    if len(content) > MAX_BYTES:
        raise SheetRejected(
            [
                sheet_error(
                    None,
                    None,
                    "",
                    f"The file is too large ({len(content) // 1024} KB; at most {MAX_BYTES // 1024} KB).",
                    f"Tệp quá lớn ({len(content) // 1024} KB; tối đa {MAX_BYTES // 1024} KB).",
                )
            ]
        )
    not_xlsx = sheet_error(
        None,
        None,
        "",
        "The file is not an Excel workbook (.xlsx). Save it as .xlsx and retry.",
        "Tệp không phải bảng tính Excel (.xlsx). Hãy lưu lại dưới dạng .xlsx rồi tải lên.",
    )
    if not zipfile.is_zipfile(io.BytesIO(content)):
        raise SheetRejected([not_xlsx])
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken or foreign file
        raise SheetRejected([not_xlsx]) from exc
    try:
        if not workbook.worksheets:
            raise SheetRejected([not_xlsx])
        sheet = workbook.worksheets[0]
        rows: list[tuple[Any, ...]] = []
        blank_run = 0  # empty rows are kept only when content follows them (row numbers must stay right)
        for values in sheet.iter_rows(max_col=MAX_COLUMNS + 2, values_only=True):
            if all(_text(v) == "" for v in values):
                blank_run += 1
                continue
            if len(rows) > MAX_ROWS:
                raise SheetRejected(
                    [
                        sheet_error(
                            None,
                            None,
                            "",
                            f"The sheet has too many rows (at most {MAX_ROWS} learners).",
                            f"Bảng có quá nhiều dòng (tối đa {MAX_ROWS} học viên).",
                        )
                    ]
                )
            if len(values) > MAX_COLUMNS + 1 and any(_text(v) != "" for v in values[MAX_COLUMNS + 1 :]):
                raise SheetRejected(
                    [
                        sheet_error(
                            None,
                            None,
                            "",
                            f"The sheet has too many columns (at most {MAX_COLUMNS} sessions).",
                            f"Bảng có quá nhiều cột (tối đa {MAX_COLUMNS} buổi học).",
                        )
                    ]
                )
            rows.extend([()] * blank_run)
            blank_run = 0
            rows.append(tuple(values[: MAX_COLUMNS + 1]))
    finally:
        workbook.close()
    if not rows:
        raise SheetRejected([sheet_error(None, None, "", "The sheet is empty.", "Bảng tính trống.")])
    if all(_text(v) == "" for v in rows[0]):
        raise SheetRejected(
            [
                sheet_error(
                    1,
                    None,
                    "",
                    "Row 1 must be the header row: the learner column, then the session dates.",
                    "Dòng 1 phải là dòng tiêu đề: cột học viên, rồi các ngày học.",
                )
            ]
        )
    return rows


def _parse_header(value: Any) -> tuple[date, time | None] | None:
    if isinstance(value, datetime):
        return value.date(), (value.time().replace(second=0, microsecond=0) if value.time() != time(0) else None)
    if isinstance(value, date):
        return value, None
    match = _DAY.match(_text(value))
    if not match:
        return None
    day, month, year, hour, minute = match.groups()
    try:
        parsed = date(int(year), int(month), int(day))
        at = time(int(hour), int(minute)) if hour is not None else None
    except ValueError:
        return None
    return parsed, at


def status_lookup(statuses: dict[str, Any]) -> dict[str, str]:
    """Every spelling a cell may use (folded) → status code: the codes, the names, the paper shorthand."""
    lookup: dict[str, str] = {}
    for code, status in statuses.items():
        lookup[fold(code)] = code
        lookup[fold(status.name_vi)] = code
        lookup[fold(status.name_en)] = code
    lookup.update({abbr: code for abbr, code in VI_ABBREVIATIONS.items() if code in statuses})
    return lookup


def check_sheet(course_class: CourseClass, content: bytes) -> tuple[dict[ClassSession, list[services.Mark]], int]:
    """Read and check the whole sheet; return the marks per session and the number of learners, or raise
    :class:`SheetRejected` with every problem. Writes nothing."""
    rows = _read_grid(content)
    header, body = rows[0], rows[1:]
    errors: list[dict[str, Any]] = []
    width = max(len(r) for r in rows)
    learner_header = _text(header[0]) or LEARNER_HEADER

    sessions = list(
        db.session.scalars(
            select(ClassSession).where(ClassSession.class_id == course_class.id).order_by(ClassSession.starts_at)
        )
    )
    by_day: dict[date, list[ClassSession]] = defaultdict(list)
    for session in sessions:
        by_day[session.starts_at.date()].append(session)

    # Which cells have marks, per column: a cancelled session's column is only wrong when it carries marks.
    marked_columns = {c for r in body for c in range(1, len(r)) if _text(r[c]) != ""}

    columns: dict[int, _Column] = {}
    seen_sessions: dict[int, str] = {}
    for c in range(1, width):
        raw = header[c] if c < len(header) else None
        label = _text(raw)
        column = _Column(c + 1, label)
        if label == "":
            if c in marked_columns:
                errors.append(
                    sheet_error(
                        1,
                        c + 1,
                        "",
                        "This column has marks but no session date in the header.",
                        "Cột này có điểm danh nhưng dòng tiêu đề không có ngày học.",
                    )
                )
            continue
        parsed = _parse_header(raw)
        if parsed is None:
            errors.append(
                sheet_error(
                    1,
                    c + 1,
                    label,
                    f"“{label}” is not a date: write dd/mm/yyyy, or dd/mm/yyyy HH:MM on a day with two sessions.",
                    f"“{label}” không phải là ngày: ghi dd/mm/yyyy, hoặc dd/mm/yyyy HH:MM nếu ngày đó có hai buổi học.",
                )
            )
            continue
        day, at = parsed
        candidates = by_day.get(day, [])
        if at is not None:
            candidates = [s for s in candidates if s.starts_at.time().replace(second=0, microsecond=0) == at]
        if not candidates:
            errors.append(
                sheet_error(
                    1, c + 1, label, f"The class has no session on {label}.", f"Lớp không có buổi học vào {label}."
                )
            )
            continue
        if len(candidates) > 1:
            times = ", ".join(f"{s.starts_at:%H:%M}" for s in candidates)
            errors.append(
                sheet_error(
                    1,
                    c + 1,
                    label,
                    f"The class has {len(candidates)} sessions on {label} ({times}):"
                    " add the start time, as dd/mm/yyyy HH:MM.",
                    f"Lớp có {len(candidates)} buổi học vào {label} ({times}): ghi thêm giờ bắt "
                    "đầu, dạng dd/mm/yyyy HH:MM.",
                )
            )
            continue
        session = candidates[0]
        if session.id in seen_sessions:
            errors.append(
                sheet_error(
                    1,
                    c + 1,
                    label,
                    f"The session {label} already has a column ({seen_sessions[session.id]}).",
                    f"Buổi học {label} đã có một cột khác ({seen_sessions[session.id]}).",
                )
            )
            continue
        seen_sessions[session.id] = get_column_letter(c + 1)
        if session.status == SessionStatus.CANCELLED and c in marked_columns:
            errors.append(
                sheet_error(
                    1,
                    c + 1,
                    label,
                    f"The session of {label} was cancelled: it takes no attendance.",
                    f"Buổi học {label} đã bị hủy: không điểm danh được.",
                )
            )
            continue
        column.session = session
        columns[c] = column

    # Learners: look every id and name up at once (enrolled ones, then anyone else of the commune).
    enrolled = dict(
        iter(
            db.session.execute(
                select(Person.id, Person.name_folded)
                .join(Enrolment, Enrolment.person_id == Person.id)
                .where(Enrolment.class_id == course_class.id, Enrolment.status == EnrolmentStatus.ENROLLED)
            ).tuples()
        )
    )
    enrolled_by_name: dict[str, list[int]] = defaultdict(list)
    for person_id, name_folded in enrolled.items():
        enrolled_by_name[name_folded].append(person_id)
    parsed_rows: list[_Row] = []
    wanted_ids: set[int] = set()
    wanted_names: set[str] = set()
    for r, values in enumerate(body, start=2):
        learner_text = _text(values[0]) if values else ""
        row = _Row(r, learner_text)
        if all(_text(v) == "" for v in values):
            continue
        if learner_text:
            number = _PERSON_NUMBER.match(learner_text) or _NAME_WITH_NUMBER.match(learner_text)
            if number:
                row.person_id = int(number.groups()[-1])
                wanted_ids.add(row.person_id)
            else:
                wanted_names.add(fold(learner_text))
        parsed_rows.append(row)
    if not parsed_rows:
        raise SheetRejected(
            [
                sheet_error(
                    None,
                    None,
                    "",
                    "The sheet has no learner rows under the header row.",
                    "Bảng không có dòng học viên nào dưới dòng tiêu đề.",
                )
            ]
        )
    commune = db.session.get(AdminUnit, course_class.commune_id)
    assert commune is not None
    home = AdminUnit.__table__.alias("home")
    in_commune = (
        select(Person.id, Person.name_folded)
        .join(home, home.c.id == Person.unit_id)
        .where(subtree(home.c.path, commune.path))
    )
    known_ids = (
        set(
            db.session.scalars(in_commune.with_only_columns(Person.id).where(Person.id.in_(wanted_ids - set(enrolled))))
        )
        if wanted_ids - set(enrolled)
        else set()
    )
    other_names = wanted_names - set(enrolled_by_name)
    known_names = (
        set(
            db.session.scalars(
                in_commune.with_only_columns(Person.name_folded).where(Person.name_folded.in_(other_names))
            )
        )
        if other_names
        else set()
    )

    statuses = services.attendance_statuses()
    lookup = status_lookup(statuses)
    accepted = "x, có, m, p, v, k, " + ", ".join(statuses)
    seen_people: dict[int, int] = {}
    for row in parsed_rows:
        values = body[row.number - 2]
        learner_ok = False
        if not row.learner_text:
            errors.append(
                sheet_error(
                    row.number,
                    1,
                    learner_header,
                    "The row has marks but no learner.",
                    "Dòng có điểm danh nhưng không ghi học viên.",
                )
            )
        elif row.person_id is not None:
            if row.person_id in enrolled:
                learner_ok = True
            elif row.person_id in known_ids:
                errors.append(
                    sheet_error(
                        row.number,
                        1,
                        learner_header,
                        f"Person #{row.person_id} is not enrolled in this class.",
                        f"Người #{row.person_id} không có tên trong lớp này.",
                    )
                )
            else:
                errors.append(
                    sheet_error(
                        row.number,
                        1,
                        learner_header,
                        f"Unknown learner: no person #{row.person_id} in this commune.",
                        f"Không tìm thấy học viên số #{row.person_id} trong xã.",
                    )
                )
        else:
            matches = enrolled_by_name.get(fold(row.learner_text), [])
            if len(matches) == 1:
                row.person_id, learner_ok = matches[0], True
            elif len(matches) > 1:
                errors.append(
                    sheet_error(
                        row.number,
                        1,
                        learner_header,
                        f"{len(matches)} learners of the class are "
                        f"called “{row.learner_text}”: write the person number, as "
                        "“Name (#123)”.",
                        f"Lớp có {len(matches)} học viên tên “"
                        f"{row.learner_text}”: ghi thêm mã người, dạng “Họ tên (#123)”.",
                    )
                )
            elif fold(row.learner_text) in known_names:
                errors.append(
                    sheet_error(
                        row.number,
                        1,
                        learner_header,
                        f"“{row.learner_text}” is not enrolled in this class.",
                        f"“{row.learner_text}” không có tên trong lớp này.",
                    )
                )
            else:
                errors.append(
                    sheet_error(
                        row.number,
                        1,
                        learner_header,
                        f"Unknown learner “{row.learner_text}”.",
                        f"Không tìm thấy học viên “{row.learner_text}”.",
                    )
                )
        if learner_ok and row.person_id is not None:
            if row.person_id in seen_people:
                errors.append(
                    sheet_error(
                        row.number,
                        1,
                        learner_header,
                        f"This learner already has row {seen_people[row.person_id]}.",
                        f"Học viên này đã có ở dòng {seen_people[row.person_id]}.",
                    )
                )
                learner_ok = False
            else:
                seen_people[row.person_id] = row.number
        for c in range(1, len(values)):
            raw = _text(values[c])
            if raw == "":
                continue
            header_label = _text(header[c]) if c < len(header) else ""
            code = lookup.get(fold(raw))
            if code is None:
                errors.append(
                    sheet_error(
                        row.number,
                        c + 1,
                        header_label,
                        f"“{raw}” is not an attendance status; use one of {accepted}.",
                        f"“{raw}” không phải ký hiệu điểm danh; dùng một trong: {accepted}.",
                    )
                )
            elif learner_ok:
                row.marks[c] = code

    if errors:
        raise SheetRejected(errors)
    plan: dict[ClassSession, list[services.Mark]] = {}
    now = utcnow()
    for row in parsed_rows:
        assert row.person_id is not None
        for c, code in row.marks.items():
            target = columns[c].session
            assert target is not None
            plan.setdefault(target, []).append(services.Mark(row.person_id, code, now, None, DEVICE))
    if not plan:
        raise SheetRejected([sheet_error(None, None, "", "The sheet has no marks.", "Bảng chưa có ô điểm danh nào.")])
    return plan, sum(1 for row in parsed_rows if row.marks)


def import_sheet(course_class: CourseClass, content: bytes, *, filename: str, user_id: int | None) -> ImportSummary:
    """Check the sheet, then apply it through :func:`courses.services.record_attendance`, one batch per session,
    inside one savepoint: all or nothing. Flushes; the caller commits."""
    plan, learners = check_sheet(course_class, content)
    summary = ImportSummary(learners=learners, sessions=len(plan))
    try:
        with db.session.begin_nested():
            for session, marks in sorted(plan.items(), key=lambda item: item[0].starts_at):
                result = services.record_attendance(session, marks, user_id=user_id)
                summary.marks += len(marks)
                summary.created += result.created
                summary.updated += result.updated
                summary.unchanged += result.unchanged
    except services.CourseError as exc:
        raise SheetRejected(
            [sheet_error(None, None, "", str(exc), "Không ghi được điểm danh; không có thay đổi nào được lưu.")]
        ) from exc
    audit(
        "class.attendance_import",
        course_class,
        filename=filename[:200],
        sessions=summary.sessions,
        marks=summary.marks,
        created=summary.created,
        updated=summary.updated,
    )
    return summary


# --- the blank sheet -----------------------------------------------------------------------------------------


def session_headers(sessions: list[ClassSession]) -> dict[int, str]:
    """Header text per session: the date, with the time on a day that has two sessions."""
    per_day: dict[date, int] = defaultdict(int)
    for session in sessions:
        per_day[session.starts_at.date()] += 1
    return {
        s.id: f"{s.starts_at:%d/%m/%Y %H:%M}" if per_day[s.starts_at.date()] > 1 else f"{s.starts_at:%d/%m/%Y}"
        for s in sessions
    }


def blank_sheet(course_class: CourseClass) -> bytes:
    """The sheet to print (or fill in) for a class: its enrolled learners × its sessions that were not cancelled.
    Three queries whatever the size of the class."""
    sessions = list(
        db.session.scalars(
            select(ClassSession)
            .where(ClassSession.class_id == course_class.id, ClassSession.status == SessionStatus.SCHEDULED)
            .order_by(ClassSession.starts_at)
        )
    )
    learners = db.session.execute(
        select(Person.id, Person.full_name, Person.name_folded)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .where(Enrolment.class_id == course_class.id, Enrolment.status == EnrolmentStatus.ENROLLED)
        .order_by(Person.sort_key, Person.id)
    ).all()
    name_count: dict[str, int] = defaultdict(int)
    for learner in learners:
        name_count[learner.name_folded] += 1
    statuses = services.attendance_statuses()

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Điểm danh"
    headers = session_headers(sessions)
    sheet.cell(row=1, column=1, value=LEARNER_HEADER)
    for offset, session in enumerate(sessions, start=2):
        cell = sheet.cell(row=1, column=offset, value=headers[session.id])
        cell.number_format = "@"  # keep the date as typed text: Excel must not reformat it
        sheet.column_dimensions[get_column_letter(offset)].width = 17 if " " in headers[session.id] else 12
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DCE6F1")
        cell.alignment = Alignment(horizontal="center")
    for r, learner in enumerate(learners, start=2):
        # A name shared by two learners of the class carries the person number, so the sheet stays unambiguous.
        name = f"{learner.full_name} (#{learner.id})" if name_count[learner.name_folded] > 1 else learner.full_name
        sheet.cell(row=r, column=1, value=name)
    sheet.column_dimensions["A"].width = 34
    sheet.freeze_panes = "B2"
    if sessions and learners:
        validation = DataValidation(
            type="list",
            formula1='"x,m,p,v"',
            allow_blank=True,
            errorStyle="warning",
            showErrorMessage=True,
            error="x, có, m, p, v, k",
            errorTitle="Ký hiệu điểm danh",
        )
        validation.add(f"B2:{get_column_letter(len(sessions) + 1)}{len(learners) + 1}")
        sheet.add_data_validation(validation)

    guide = workbook.create_sheet("Hướng dẫn")
    lines = [
        f"Lớp: {course_class.name} — {course_class.course.name}",
        "Mỗi dòng là một học viên (cột A: họ tên, hoặc mã người như #123); mỗi cột là một buổi học (dòng 1: "
        "ngày dd/mm/yyyy, hoặc dd/mm/yyyy HH:MM khi một ngày có hai buổi).",
        "Ký hiệu: x hoặc có = có mặt; m = đi muộn; p = vắng có phép; v hoặc k = vắng; để trống = chưa điểm danh.",
        "Mã trạng thái cũng được chấp nhận: " + ", ".join(f"{code} ({s.name_vi})" for code, s in statuses.items()),
        "Cả bảng được kiểm tra trước khi ghi: nếu có một ô sai, không ô nào được ghi.",
    ]
    for r, line in enumerate(lines, start=1):
        guide.cell(row=r, column=1, value=line)
    guide.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    save_workbook(workbook, buffer)
    return buffer.getvalue()
