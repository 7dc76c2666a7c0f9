"""Import of a paper attendance sheet typed into a spreadsheet, and the blank sheet to print for a class.

The grid: the first column names the learner (full name, or person number as ``123``, ``#123`` or
``Nguyễn Văn An (#123)``); the header row (row 1) holds the session dates, ``dd/mm/yyyy``, or
``dd/mm/yyyy HH:MM`` on a day with two sessions; a cell holds a code of the one legend
(:mod:`courses.attendance_codes`: P or x = present, M = late, CP = excused, V or K = absent) or a status's
Vietnamese name, empty for no mark. The attendance book (xlsx) is read too, in the layout it was exported in.
The file, an .xlsx workbook or a .csv, is read by the shared reader (:mod:`lms.core.spreadsheet`, with its limits).

Every cell is checked before anything is written and every problem is reported with its row, its column (the
Excel letter and the header) and a reason from the message catalogue, stored in English and Vietnamese in the
registry import's error format ``{"row", "column", "message", "message_vi"}`` (plus ``header``).

Nothing is written on upload: the user sees a preview (new, changed, unchanged and refused marks, certificates
that would be revoked) and confirms it; the sheet then applies completely or not at all, and only if it would
still do what the preview showed (ADR 19).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
from collections import defaultdict
from dataclasses import astuple, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import delete, insert, select, update

from courses import attendance_codes, services
from courses.documents import CANCELLED_VI, WITHDRAWN_VI
from courses.models import (
    Attendance,
    AttendanceSheetPreview,
    Certificate,
    ClassSession,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    SessionStatus,
)
from lms.core import spreadsheet
from lms.core.exports import save_workbook
from lms.core.services import audit
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit, Person, subtree
from lms.registry.text import fold

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000  # learners: far more than any class
MAX_COLUMNS = 400  # sessions
WIDTH = MAX_COLUMNS + 1  # the learner column and the sessions
MAX_LISTED_ERRORS = 500
LEARNER_HEADER = "Học viên"
DEVICE = "paper sheet"

PREVIEW_LIFETIME = timedelta(days=1)
# The attendance book (courses.documents): its header row, its own columns and its summary rows, folded.
BOOK_HEADER_SEARCH = 20
BOOK_NAME_HEADER = "ho va ten"
BOOK_COLUMNS = frozenset({"nam sinh", "so buoi co mat", "ty le", "hoan thanh", "ma giay chung nhan"})
BOOK_COLUMN_PREFIXES = ("tren so buoi da hoc",)
BOOK_SUMMARY_ROWS = ("so hoc vien co mat", "hoan thanh:")

_TIME = re.compile(r"^(.*?)\s+(\d{1,2})[:hH](\d{2})$")
_PERSON_NUMBER = re.compile(r"^#?\s*(\d+)$")
_NAME_WITH_NUMBER = re.compile(r"^(.*?)\s*\(\s*#\s*(\d+)\s*\)$")

# --- the messages (English ids; the Vietnamese lives in the catalogue, lms/translations) ----------------------

HEADER_ROW = _l("Row 1 must be the header row: the learner column, then the session dates.")
TOO_MANY_ROWS = _l("The sheet has too many rows (at most %(limit)s learners).")
TOO_MANY_COLUMNS = _l("The sheet has too many columns (at most %(limit)s sessions).")
NO_DATE = _l("This column has marks but no session date in the header.")
NOT_A_DATE = _l("“%(label)s” is not a date: write dd/mm/yyyy, or dd/mm/yyyy HH:MM on a day with two sessions.")
NO_SESSION = _l("The class has no session on %(label)s.")
TWO_SESSIONS = _l("The class has %(count)s sessions on %(label)s (%(times)s): add the start time, as dd/mm/yyyy HH:MM.")
COLUMN_TWICE = _l("The session %(label)s already has a column (%(other)s).")
CANCELLED = _l("The session of %(label)s was cancelled: it takes no attendance.")
NO_LEARNERS = _l("The sheet has no learner rows under the header row.")
NOT_A_CODE = _l("“%(value)s” is not an attendance code. The legend: %(legend)s.")
NO_LEARNER = _l("The row has marks but no learner.")
NUMBER_NOT_ENROLLED = _l("Person #%(number)s is not enrolled in this class.")
UNKNOWN_NUMBER = _l("Unknown learner: no person #%(number)s in this commune.")
NAMESAKES = _l("%(count)s learners of the class are called “%(name)s”: write the person number, as “Name (#123)”.")
NOT_ENROLLED = _l("“%(name)s” is not enrolled in this class.")
UNKNOWN = _l("Unknown learner “%(name)s”.")
LEARNER_TWICE = _l("This learner already has row %(other)s.")
WITHDRAWN = _l(
    "This learner has withdrawn from the class: their marks cannot be changed. Leave the cell as the book shows it."
)
NO_MARKS = _l("The sheet has no marks.")
NOT_WRITTEN = _l("The marks could not be written (%(reason)s); nothing was saved.")


@dataclass(frozen=True)
class Problem:
    """A problem of the sheet where it was found: the reader's error (message, row, column letter) and the column's
    header as the sheet writes it."""

    error: spreadsheet.SpreadsheetError
    header: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The registry import's error format, ``{"row", "column", "message", "message_vi"}``, plus ``header``."""
        return {**self.error.as_dict(), "header": self.header}


def problem(message: Any, *, row: int | None = None, column: int | None = None, header: str = "", **params: Any):
    """A :class:`Problem` of ``row`` and ``column`` (1-based index; None: the whole row or file)."""
    letter = get_column_letter(column) if column else None
    return Problem(spreadsheet.SpreadsheetError(message, row=row, column=letter, **params), header)


class SheetRejected(ValueError):
    """The sheet was not applied. ``errors`` lists the problems by row and column, the first
    ``MAX_LISTED_ERRORS`` of them (a sheet typed in the wrong layout can have one per cell) in both languages;
    ``count`` says how many there were."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the sheet; nothing was applied")
        self.count = len(problems)
        listed = sorted(
            problems,
            key=lambda p: (p.error.row or 0, column_index_from_string(p.error.column) if p.error.column else 0),
        )[:MAX_LISTED_ERRORS]
        # Translated only once sorted and cut: a sheet in the wrong layout can have a problem in every cell.
        self.errors = [p.as_dict() for p in listed]


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
    if isinstance(value, datetime):
        return f"{value:%d/%m/%Y %H:%M}" if value.time() != time(0) else f"{value:%d/%m/%Y}"
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    return spreadsheet.as_text(value)


def _read_grid(filename: str, content: bytes) -> list[tuple[Any, ...]]:
    """The first sheet's rows, through the shared reader (xlsx or csv, streamed, with its limits: ADR 20), each
    at the index of its row number; blank rows below the last one with content are dropped. A rejection for a
    file that is empty, unreadable, or too large."""
    # A workbook is read as one whatever its name (a phone may rename an upload); anything else by its suffix.
    if content.startswith(spreadsheet.XLSX_MAGIC):
        filename = "sheet.xlsx"
    limits = spreadsheet.Limits.from_config(MAX_ROWS + BOOK_HEADER_SEARCH, max_bytes=MAX_BYTES, max_columns=WIDTH + 1)
    rows: list[tuple[Any, ...]] = []
    count = 0
    try:
        for number, cells in spreadsheet.read_rows(filename, content, limits):
            values = tuple(cells)
            if all(_text(v) == "" for v in values):
                continue
            count += 1
            if count > limits.max_rows + 1:  # the header row and the learners
                raise SheetRejected([problem(TOO_MANY_ROWS, row=number, limit=MAX_ROWS)])
            if any(_text(v) != "" for v in values[WIDTH:]):
                raise SheetRejected([problem(TOO_MANY_COLUMNS, row=number, column=WIDTH + 1, limit=MAX_COLUMNS)])
            rows.extend([()] * (number - 1 - len(rows)))  # empty rows keep their place: row numbers stay right
            rows.append(values[:WIDTH])
    except spreadsheet.SpreadsheetError as exc:
        raise SheetRejected([Problem(exc)]) from None
    if not rows:
        raise SheetRejected([problem(spreadsheet.EMPTY)])
    if all(_text(v) == "" for v in rows[0]):
        raise SheetRejected([problem(HEADER_ROW, row=1)])
    return rows


def _parse_header(value: Any) -> tuple[date, time | None] | None:
    """A session's header: a spreadsheet date (with its time if it has one), or text as a date the shared reader
    understands (dd/mm/yyyy, yyyy-mm-dd…) followed, on a day with two sessions, by the start time HH:MM."""
    if isinstance(value, datetime):
        return value.date(), (value.time().replace(second=0, microsecond=0) if value.time() != time(0) else None)
    if isinstance(value, date):
        return value, None
    text, at = _text(value), None
    if match := _TIME.match(text):
        text = match[1]
        try:
            at = time(int(match[2]), int(match[3]))
        except ValueError:
            return None
    try:
        return spreadsheet.as_date(text), at
    except spreadsheet.SpreadsheetError:
        return None


def _layout(rows: list[tuple[Any, ...]]) -> tuple[int, int, set[int]]:
    """Where the grid is: (header row index, learner column index, columns to leave alone).

    The blank sheet has its header in row 1 and the learners in column A. The attendance book has a title, the
    legend, then a header row starting "STT" with the names under "Họ và tên" and its own columns (birth year,
    totals) around the sessions: it is read as it was exported, so a book filled in on paper can come back."""
    for index, values in enumerate(rows[:BOOK_HEADER_SEARCH]):
        folded = [spreadsheet.fold_header(_text(v)) for v in values]
        if folded and folded[0] == "stt" and BOOK_NAME_HEADER in folded:
            learner = folded.index(BOOK_NAME_HEADER)
            ignored = {
                c
                for c, text in enumerate(folded)
                if c != learner and (c < learner or text in BOOK_COLUMNS or text.startswith(BOOK_COLUMN_PREFIXES))
            }
            return index, learner, ignored
    return 0, 0, set()


@dataclass(frozen=True)
class Cell:
    """A mark read from the sheet, and where it was."""

    row: int
    column: str
    header: str
    session_id: int
    person_id: int
    learner: str
    status: str


@dataclass
class ParsedSheet:
    cells: list[Cell]
    errors: list[dict[str, Any]]  # sorted, the first MAX_LISTED_ERRORS
    error_count: int
    learners: int  # rows with at least one mark


def check_sheet(course_class: CourseClass, content: bytes, filename: str = "sheet.xlsx") -> ParsedSheet:
    """Read and check the whole sheet (an .xlsx workbook, or a .csv file by its name): every mark it holds and
    every problem, by row and column. Raises :class:`SheetRejected` only when the file cannot be read as a sheet
    at all. Writes nothing."""
    rows = _read_grid(filename, content)
    header_index, learner_col, ignored = _layout(rows)
    header, body = rows[header_index], rows[header_index + 1 :]
    first_body_row = header_index + 2  # spreadsheet row number of body[0]
    header_row = header_index + 1
    errors: list[Problem] = []
    width = max(len(r) for r in rows)
    learner_header = (_text(header[learner_col]) if learner_col < len(header) else "") or LEARNER_HEADER

    def learner_of(values: tuple[Any, ...]) -> str:
        return _text(values[learner_col]) if learner_col < len(values) else ""

    sessions = list(
        db.session.scalars(
            select(ClassSession).where(ClassSession.class_id == course_class.id).order_by(ClassSession.starts_at)
        )
    )
    by_day: dict[date, list[ClassSession]] = defaultdict(list)
    for session in sessions:
        by_day[session.starts_at.date()].append(session)

    # The book's summary rows under the learners are the book's, not marks.
    body_rows = [
        (r, values)
        for r, values in enumerate(body, start=first_body_row)
        if not fold(learner_of(values)).startswith(BOOK_SUMMARY_ROWS)
    ]
    mark_columns = [c for c in range(width) if c != learner_col and c not in ignored]
    # Which cells have marks, per column: a cancelled session's column is only wrong when it carries marks.
    marked_columns = {c for _, r in body_rows for c in mark_columns if c < len(r) and _text(r[c]) != ""}

    columns: dict[int, _Column] = {}
    seen_sessions: dict[int, str] = {}
    for c in mark_columns:
        raw = header[c] if c < len(header) else None
        label = _text(raw)
        column = _Column(c + 1, label)
        if label == "":
            if c in marked_columns:
                errors.append(problem(NO_DATE, row=header_row, column=c + 1))
            continue
        # The book writes "(hủy)" after a cancelled session's date.
        parsed = _parse_header(label.removesuffix(f" ({CANCELLED_VI})") if isinstance(raw, str) else raw)
        if parsed is None:
            errors.append(problem(NOT_A_DATE, row=header_row, column=c + 1, header=label, label=label))
            continue
        day, at = parsed
        candidates = by_day.get(day, [])
        if at is not None:
            candidates = [s for s in candidates if s.starts_at.time().replace(second=0, microsecond=0) == at]
        if not candidates:
            errors.append(problem(NO_SESSION, row=header_row, column=c + 1, header=label, label=label))
            continue
        if len(candidates) > 1:
            times = ", ".join(f"{s.starts_at:%H:%M}" for s in candidates)
            errors.append(
                problem(
                    TWO_SESSIONS,
                    row=header_row,
                    column=c + 1,
                    header=label,
                    count=len(candidates),
                    label=label,
                    times=times,
                )
            )
            continue
        session = candidates[0]
        if session.id in seen_sessions:
            errors.append(
                problem(
                    COLUMN_TWICE,
                    row=header_row,
                    column=c + 1,
                    header=label,
                    label=label,
                    other=seen_sessions[session.id],
                )
            )
            continue
        seen_sessions[session.id] = get_column_letter(c + 1)
        if session.status == SessionStatus.CANCELLED and c in marked_columns:
            errors.append(problem(CANCELLED, row=header_row, column=c + 1, header=label, label=label))
            continue
        column.session = session
        columns[c] = column

    # Learners: look every id and name up at once (enrolled and withdrawn ones, then anyone else of the commune).
    enrolment_rows = db.session.execute(
        select(Person.id, Person.name_folded, Enrolment.status)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .where(
            Enrolment.class_id == course_class.id,
            Enrolment.status.in_([EnrolmentStatus.ENROLLED, EnrolmentStatus.WITHDRAWN]),
        )
    ).all()
    enrolled = {row.id: row.name_folded for row in enrolment_rows if row.status == EnrolmentStatus.ENROLLED}
    withdrawn = {row.id: row.name_folded for row in enrolment_rows if row.status == EnrolmentStatus.WITHDRAWN}
    enrolled_by_name: dict[str, list[int]] = defaultdict(list)
    for person_id, name_folded in enrolled.items():
        enrolled_by_name[name_folded].append(person_id)
    withdrawn_by_name: dict[str, list[int]] = defaultdict(list)
    for person_id, name_folded in withdrawn.items():
        withdrawn_by_name[name_folded].append(person_id)
    parsed_rows: list[_Row] = []
    withdrawn_rows: list[_Row] = []
    wanted_ids: set[int] = set()
    wanted_names: set[str] = set()
    for r, values in body_rows:
        learner_text = learner_of(values)
        if all(_text(v) == "" for c, v in enumerate(values) if c not in ignored):
            continue
        if learner_text.endswith(WITHDRAWN_VI):
            # A learner the book lists as withdrawn: their marks are history, kept if unchanged (checked below).
            row = _Row(r, learner_text.removesuffix(WITHDRAWN_VI).strip())
            number = _PERSON_NUMBER.match(row.learner_text) or _NAME_WITH_NUMBER.match(row.learner_text)
            matches = [int(number.groups()[-1])] if number else withdrawn_by_name.get(fold(row.learner_text), [])
            if len(matches) == 1 and matches[0] in withdrawn:
                row.person_id = matches[0]
                withdrawn_rows.append(row)
                continue
            learner_text = row.learner_text
        row = _Row(r, learner_text)
        if learner_text:
            number = _PERSON_NUMBER.match(learner_text) or _NAME_WITH_NUMBER.match(learner_text)
            if number:
                row.person_id = int(number.groups()[-1])
                wanted_ids.add(row.person_id)
            else:
                wanted_names.add(fold(learner_text))
        parsed_rows.append(row)
    if not parsed_rows and not withdrawn_rows:
        raise SheetRejected([problem(NO_LEARNERS)])
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

    codes = attendance_codes.legend(services.attendance_statuses().values())
    lookup = attendance_codes.reader(codes)
    accepted = attendance_codes.legend_text(codes)
    seen_people: dict[int, int] = {}

    def read_marks(row: _Row, values: tuple[Any, ...], keep: bool) -> None:
        for c in mark_columns:
            raw = _text(values[c]) if c < len(values) else ""
            if raw == "":
                continue
            header_label = _text(header[c]) if c < len(header) else ""
            code = lookup.get(fold(raw))
            if code is None:
                errors.append(
                    problem(NOT_A_CODE, row=row.number, column=c + 1, header=header_label, value=raw, legend=accepted)
                )
            elif keep:
                row.marks[c] = code

    for row in parsed_rows:
        values = rows[row.number - 1]
        learner_ok = False
        if not row.learner_text:
            errors.append(problem(NO_LEARNER, row=row.number, column=learner_col + 1, header=learner_header))
        elif row.person_id is not None:
            if row.person_id in enrolled:
                learner_ok = True
            elif row.person_id in known_ids:
                errors.append(
                    problem(
                        NUMBER_NOT_ENROLLED,
                        row=row.number,
                        column=learner_col + 1,
                        header=learner_header,
                        number=row.person_id,
                    )
                )
            else:
                errors.append(
                    problem(
                        UNKNOWN_NUMBER,
                        row=row.number,
                        column=learner_col + 1,
                        header=learner_header,
                        number=row.person_id,
                    )
                )
        else:
            matches = enrolled_by_name.get(fold(row.learner_text), [])
            if len(matches) == 1:
                row.person_id, learner_ok = matches[0], True
            elif len(matches) > 1:
                errors.append(
                    problem(
                        NAMESAKES,
                        row=row.number,
                        column=learner_col + 1,
                        header=learner_header,
                        count=len(matches),
                        name=row.learner_text,
                    )
                )
            elif fold(row.learner_text) in known_names:
                errors.append(
                    problem(
                        NOT_ENROLLED,
                        row=row.number,
                        column=learner_col + 1,
                        header=learner_header,
                        name=row.learner_text,
                    )
                )
            else:
                errors.append(
                    problem(
                        UNKNOWN, row=row.number, column=learner_col + 1, header=learner_header, name=row.learner_text
                    )
                )
        if learner_ok and row.person_id is not None:
            if row.person_id in seen_people:
                errors.append(
                    problem(
                        LEARNER_TWICE,
                        row=row.number,
                        column=learner_col + 1,
                        header=learner_header,
                        other=seen_people[row.person_id],
                    )
                )
                learner_ok = False
            else:
                seen_people[row.person_id] = row.number
        read_marks(row, values, learner_ok)

    # A withdrawn learner's row may come back as it was exported; a changed mark is refused, not written.
    if withdrawn_rows:
        stored = _stored_marks(course_class.id, {row.person_id for row in withdrawn_rows if row.person_id})
        for row in withdrawn_rows:
            read_marks(row, rows[row.number - 1], True)
            for c, code in row.marks.items():
                target = columns.get(c)
                if target is None or target.session is None:
                    continue
                current = stored.get((target.session.id, row.person_id or 0))
                if current is None or current[1] != code:
                    errors.append(problem(WITHDRAWN, row=row.number, column=c + 1, header=target.header))

    cells: list[Cell] = []
    for row in parsed_rows:
        for c, code in row.marks.items():
            target = columns.get(c)
            if target is None or target.session is None or row.person_id is None:
                continue  # the column itself is refused above
            cells.append(
                Cell(
                    row.number,
                    get_column_letter(c + 1),
                    target.header,
                    target.session.id,
                    row.person_id,
                    row.learner_text,
                    code,
                )
            )
    if not cells and not errors and not withdrawn_rows:
        raise SheetRejected([problem(NO_MARKS)])
    rejected = SheetRejected(errors) if errors else None
    return ParsedSheet(
        cells=cells,
        errors=rejected.errors if rejected else [],
        error_count=rejected.count if rejected else 0,
        learners=sum(1 for row in parsed_rows if row.marks),
    )


def _stored_marks(class_id: int, person_ids: set[int] | None = None) -> dict[tuple[int, int], tuple[int, str]]:
    """(session id, person id) → (attendance id, status) of the class's marks, in one query."""
    stmt = (
        select(Attendance.id, Attendance.session_id, Attendance.person_id, Attendance.status)
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .where(ClassSession.class_id == class_id)
    )
    if person_ids is not None:
        stmt = stmt.where(Attendance.person_id.in_(person_ids))
    return {(row.session_id, row.person_id): (row.id, row.status) for row in db.session.execute(stmt)}


# --- preview and apply -----------------------------------------------------------------------------------------


PREVIEW_ROWS = 10  # rows shown of each kind


@dataclass(frozen=True)
class Change:
    cell: Cell
    old: str | None  # the stored status, None for a new mark
    attendance_id: int | None


@dataclass(frozen=True)
class Learner:
    person_id: int
    name: str
    certificate_code: str = ""


@dataclass
class Preview:
    """What applying a sheet would do: the marks it writes (new, changed), those it leaves (unchanged), the cells
    it refuses, and what follows through the completion rule."""

    new: list[Change]
    changed: list[Change]
    unchanged: list[Change]
    errors: list[dict[str, Any]]
    error_count: int
    learners: int
    revoked: list[Learner]  # valid certificates that would be revoked
    dropping: list[Learner]  # learners who complete now and would no longer
    completing: list[Learner]  # learners who would complete
    digest: str
    # Held sessions that would still have no roll call once the sheet is written: they count against nobody, and
    # a learner whose completion they could decide waits for them (ADR 54). (session id, start), oldest first.
    without_roll_call: list[tuple[int, datetime]] = field(default_factory=list)

    @property
    def writes(self) -> list[Change]:
        return self.new + self.changed

    @property
    def can_apply(self) -> bool:
        return not self.error_count and bool(self.writes)

    def as_json(self) -> dict[str, Any]:
        def change(c: Change) -> dict[str, Any]:
            return {
                "row": c.cell.row,
                "column": c.cell.column,
                "header": c.cell.header,
                "session_id": c.cell.session_id,
                "person_id": c.cell.person_id,
                "learner": c.cell.learner,
                "old_status": c.old,
                "new_status": c.cell.status,
            }

        return {
            "counts": {
                "new": len(self.new),
                "changed": len(self.changed),
                "unchanged": len(self.unchanged),
                "refused": self.error_count,
                "certificates_revoked": len(self.revoked),
                "learners_dropping": len(self.dropping),
                "learners_completing": len(self.completing),
            },
            "new": [change(c) for c in self.new[:PREVIEW_ROWS]],
            "changed": [change(c) for c in self.changed[:PREVIEW_ROWS]],
            "unchanged": [change(c) for c in self.unchanged[:PREVIEW_ROWS]],
            "refused": self.errors,
            "certificates_revoked": [
                {"person_id": x.person_id, "name": x.name, "code": x.certificate_code} for x in self.revoked
            ],
            "learners_dropping": [{"person_id": x.person_id, "name": x.name} for x in self.dropping],
            "learners_completing": [{"person_id": x.person_id, "name": x.name} for x in self.completing],
            "sessions_without_roll_call": [
                {"session_id": session_id, "starts_at": starts_at.isoformat()}
                for session_id, starts_at in self.without_roll_call
            ],
        }


def preview(course_class: CourseClass, parsed: ParsedSheet) -> Preview:
    """Compare the sheet with the stored marks and work out what writing it would do to completions and
    certificates. The consequences come from :func:`courses.services.completed_learners` (the rule the completion
    task applies), asked inside a savepoint that holds the new marks and is then rolled back: nothing stays
    written, and the rule is not copied. A constant number of statements whatever the size of the sheet."""
    stored = _stored_marks(course_class.id)
    new: list[Change] = []
    changed: list[Change] = []
    unchanged: list[Change] = []
    for cell in parsed.cells:
        current = stored.get((cell.session_id, cell.person_id))
        if current is None:
            new.append(Change(cell, None, None))
        elif current[1] != cell.status:
            changed.append(Change(cell, current[1], current[0]))
        else:
            unchanged.append(Change(cell, current[1], current[0]))
    as_of = services.local_now()
    before = services.completed_learners(course_class.id, as_of=as_of)
    after = before
    unrecorded = [(x.id, x.starts_at) for x in services.sessions_without_roll_call(course_class.id, as_of)]
    if new or changed:
        savepoint = db.session.begin_nested()
        try:
            now = utcnow()
            if new:
                db.session.execute(
                    insert(Attendance),
                    [
                        {
                            "session_id": c.cell.session_id,
                            "person_id": c.cell.person_id,
                            "status": c.cell.status,
                            "recorded_at": now,
                            "device": DEVICE,
                        }
                        for c in new
                    ],
                )
            if changed:
                db.session.execute(
                    update(Attendance), [{"id": c.attendance_id, "status": c.cell.status} for c in changed]
                )
            after = services.completed_learners(course_class.id, as_of=as_of)
            unrecorded = [(x.id, x.starts_at) for x in services.sessions_without_roll_call(course_class.id, as_of)]
        finally:
            savepoint.rollback()
    valid = dict(
        iter(
            db.session.execute(
                select(Certificate.person_id, Certificate.code).where(
                    Certificate.class_id == course_class.id, Certificate.revoked_at.is_(None)
                )
            ).tuples()
        )
    )
    revoked_ids = sorted(p for p in valid if p not in after)
    dropping_ids = sorted(p for p in before if p not in after)
    completing_ids = sorted(p for p in after if p not in before)
    involved = set(revoked_ids) | set(dropping_ids) | set(completing_ids)
    names = (
        dict(iter(db.session.execute(select(Person.id, Person.full_name).where(Person.id.in_(involved))).tuples()))
        if involved
        else {}
    )
    writes = sorted((c.cell.session_id, c.cell.person_id, c.old or "", c.cell.status) for c in new + changed)
    fingerprint = json.dumps([writes, revoked_ids, dropping_ids, completing_ids, parsed.error_count])
    return Preview(
        new=new,
        changed=changed,
        unchanged=unchanged,
        errors=parsed.errors,
        error_count=parsed.error_count,
        learners=parsed.learners,
        revoked=[Learner(p, names.get(p, ""), valid[p]) for p in revoked_ids],
        dropping=[Learner(p, names.get(p, "")) for p in dropping_ids],
        completing=[Learner(p, names.get(p, "")) for p in completing_ids],
        digest=hashlib.sha256(fingerprint.encode()).hexdigest(),
        without_roll_call=unrecorded,
    )


def store_preview(
    course_class: CourseClass, parsed: ParsedSheet, result: Preview, *, filename: str, user_id: int
) -> str:
    """Keep the sheet as read until the user confirms; return the token the confirmation carries. Previews older
    than a day are forgotten. Flushes; the caller commits."""
    db.session.execute(
        delete(AttendanceSheetPreview).where(AttendanceSheetPreview.created_at < utcnow() - PREVIEW_LIFETIME)
    )
    token = secrets.token_urlsafe(32)
    db.session.add(
        AttendanceSheetPreview(
            token=token,
            class_id=course_class.id,
            user_id=user_id,
            filename=filename[:200],
            cells=[list(astuple(cell)) for cell in parsed.cells],
            digest=result.digest,
        )
    )
    db.session.flush()
    return token


class PreviewOutdated(Exception):
    """The stored data changed since the preview: ``preview`` is what the sheet would do now, ``token`` its new
    token."""

    def __init__(self, preview: Preview, token: str | None) -> None:
        super().__init__("the stored attendance changed since the preview")
        self.preview = preview
        self.token = token


class PreviewNotFound(Exception):
    """No stored preview under this token for this class and user (never made, expired, or already applied)."""


@dataclass
class ImportSummary:
    learners: int = 0
    sessions: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    revoked: int = 0
    issued: int = 0


REVOKED_BY_SHEET = "Không còn đủ điều kiện hoàn thành khóa học sau khi nhập bảng điểm danh giấy “{filename}”"


def confirm(course_class: CourseClass, token: str, *, user_id: int) -> ImportSummary:
    """Apply a previewed sheet, exactly as previewed: the class row is locked, the preview worked out again from
    the stored sheet, and if it differs in any way (a mark taken on a phone meanwhile, a session cancelled, time
    passing the last session) nothing is written and :class:`PreviewOutdated` carries the new preview. Otherwise
    the marks are written through :func:`courses.services.record_attendance` and completions recomputed at once,
    so the certificates the preview listed are revoked now, with the reason and an audit event. Flushes; the caller
    commits."""
    db.session.execute(select(CourseClass.id).where(CourseClass.id == course_class.id).with_for_update())
    stored = db.session.get(AttendanceSheetPreview, token)
    if stored is None or stored.class_id != course_class.id or stored.user_id != user_id:
        raise PreviewNotFound(token)
    if stored.created_at < utcnow() - PREVIEW_LIFETIME:
        raise PreviewNotFound(token)
    parsed = ParsedSheet(cells=[Cell(*cell) for cell in stored.cells], errors=[], error_count=0, learners=0)
    parsed.learners = len({cell.person_id for cell in parsed.cells})
    result = preview(course_class, parsed)
    filename = stored.filename
    if result.digest != stored.digest:
        db.session.delete(stored)
        new_token = (
            store_preview(course_class, parsed, result, filename=filename, user_id=user_id)
            if result.can_apply
            else None
        )
        raise PreviewOutdated(result, new_token)
    sessions = {
        s.id: s
        for s in db.session.scalars(
            select(ClassSession).where(ClassSession.id.in_({c.cell.session_id for c in result.writes}))
        )
    }
    summary = ImportSummary(learners=parsed.learners, unchanged=len(result.unchanged))
    now = utcnow()
    by_session: dict[int, list[services.Mark]] = defaultdict(list)
    for change in result.writes:
        by_session[change.cell.session_id].append(
            services.Mark(change.cell.person_id, change.cell.status, now, None, DEVICE)
        )
    summary.sessions = len(by_session)
    try:
        for session_id, marks in sorted(by_session.items(), key=lambda item: sessions[item[0]].starts_at):
            written = services.record_attendance(sessions[session_id], marks, user_id=user_id)
            summary.created += written.created
            summary.updated += written.updated
    except services.CourseError as exc:
        raise SheetRejected([problem(NOT_WRITTEN, reason=str(exc))]) from exc
    completion = services.recompute_class(
        course_class.id, revoked_reason=REVOKED_BY_SHEET.format(filename=filename[:120]), user_id=user_id
    )
    summary.revoked = len(result.revoked)
    summary.issued = completion.certificates_issued
    audit(
        "class.attendance_import",
        course_class,
        filename=filename,
        sessions=summary.sessions,
        created=summary.created,
        updated=summary.updated,
        unchanged=summary.unchanged,
        certificates_revoked=[x.certificate_code for x in result.revoked],
    )
    db.session.delete(stored)
    db.session.flush()
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
    codes = attendance_codes.legend(services.attendance_statuses().values())

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
            formula1='"' + ",".join(code.letter for code in codes) + '"',
            allow_blank=True,
            errorStyle="warning",
            showErrorMessage=True,
            error=attendance_codes.legend_text(codes)[:255],
            errorTitle="Ký hiệu điểm danh",
        )
        validation.add(f"B2:{get_column_letter(len(sessions) + 1)}{len(learners) + 1}")
        sheet.add_data_validation(validation)

    guide = workbook.create_sheet("Hướng dẫn")
    lines = [
        f"Lớp: {course_class.name} — {course_class.course.name}",
        "Mỗi dòng là một học viên (cột A: họ tên, hoặc mã người như #123); mỗi cột là một buổi học (dòng 1: "
        "ngày dd/mm/yyyy, hoặc dd/mm/yyyy HH:MM khi một ngày có hai buổi).",
        "Ký hiệu (chữ hoa hay chữ thường, có dấu hay không dấu đều được): "
        + attendance_codes.legend_text(codes)
        + "; để trống = chưa điểm danh. Có thể ghi cả tên trạng thái.",
        "Sau khi tải lên, trang web cho xem trước những gì sẽ thay đổi; chỉ khi bạn xác nhận mới ghi. "
        "Nếu có một ô sai, không ô nào được ghi.",
    ]
    for r, line in enumerate(lines, start=1):
        guide.cell(row=r, column=1, value=line)
    guide.column_dimensions["A"].width = 120
    buffer = io.BytesIO()
    save_workbook(workbook, buffer)
    return buffer.getvalue()
