"""The one spreadsheet reader every import uses: the first sheet of an .xlsx workbook, or a .csv file, streamed.

A file is checked before anything is parsed, because a few kilobytes can ask for gigabytes (issue 14, ADR 0020):

- an .xlsx is a zip archive: its entries are counted, their *declared* uncompressed sizes summed and each one's
  compression ratio bounded, all from the archive's directory (Python's zipfile never inflates an entry past its
  declared size, so the declared sizes bound the work); then the sheet's declared dimension is read;
- rows are read one at a time, and the reader stops at the row limit by the row's *index* (a sheet whose only row
  is numbered 20,000,000 is refused at that row, not after twenty million empty ones), as it does for CSV lines;
- a CSV cell is bounded (``csv.field_size_limit``), and so is a row's width;
- a workbook's parts that are parsed whole (shared strings, styles) are bounded on their own; its sheet is parsed
  as a stream by :class:`_SheetReader` (expat, no tree): the cells right of the column limit are skipped, not kept,
  so one row of millions of cells costs neither memory nor a padded list;
- reading stops at a time budget (``max_seconds``): a page that imports while the user waits answers within it
  (``IMPORT_MAX_SECONDS``), whatever the file; a worker's import has a budget of its own.

Every refusal is a :class:`SpreadsheetError` with the row and column where it was found and its message in the
reader's language and in both English and Vietnamese (:meth:`SpreadsheetError.as_dict`), through Flask-Babel.
The limits are settings (``config.py``, ``LMS_IMPORT_*``); each importer gives its own row limit.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
import time
import unicodedata
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.parsers import expat

from flask import current_app, g, has_app_context, has_request_context
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook

XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx file is a zip archive
RATIO_FLOOR = 1024 * 1024  # entries smaller than this (uncompressed) may compress as well as they like


@dataclass(frozen=True)
class Limits:
    """What a file may ask of the reader. ``max_rows`` (data rows, below the header) is each import's own."""

    max_rows: int
    max_bytes: int = 10 * 1024 * 1024  # the file as uploaded
    max_uncompressed: int = 64 * 1024 * 1024  # an .xlsx archive's entries, inflated, together
    max_ratio: int = 200  # inflated / compressed size of one entry (above RATIO_FLOOR)
    max_entries: int = 500  # files in an .xlsx archive
    max_columns: int = 200  # columns read (declared dimension, header width)
    max_cell_chars: int = 32 * 1024  # characters in one CSV cell
    trailing_blank_rows: int = 1000  # blank rows tolerated below the row limit (spreadsheets leave some)
    max_part_bytes: int = 16 * 1024 * 1024  # an .xlsx part parsed whole (shared strings, styles), inflated
    max_seconds: float = 20.0  # reading the file (a page's import waits for it; see IMPORT_MAX_SECONDS)

    @classmethod
    def from_config(cls, max_rows: int, **overrides: int) -> Limits:
        """The limits of the running application's settings, with ``max_rows`` and any ``overrides``."""
        config = current_app.config if has_app_context() else {}
        values = {
            "max_bytes": config.get("IMPORT_MAX_BYTES"),
            "max_uncompressed": config.get("IMPORT_MAX_UNCOMPRESSED_BYTES"),
            "max_ratio": config.get("IMPORT_MAX_COMPRESSION_RATIO"),
            "max_entries": config.get("IMPORT_MAX_ARCHIVE_ENTRIES"),
            "max_columns": config.get("IMPORT_MAX_COLUMNS"),
            "max_cell_chars": config.get("IMPORT_MAX_CELL_CHARS"),
            "max_part_bytes": config.get("IMPORT_MAX_PART_BYTES"),
            "max_seconds": config.get("IMPORT_MAX_SECONDS"),
        }
        chosen = {name: value for name, value in values.items() if value}
        return cls(max_rows=max_rows, **(chosen | overrides))

    @property
    def last_row(self) -> int:
        """The highest row index (1-based, the header is row 1) the reader looks at."""
        return self.max_rows + 1 + self.trailing_blank_rows


class SpreadsheetError(ValueError):
    """Something people can fix, found at ``row`` and ``column`` (None: the whole file or row).

    ``message`` is an English message id marked for translation; ``params`` fill it in every language.
    """

    def __init__(self, message: Any, *, row: int | None = None, column: str | None = None, **params: Any) -> None:
        super().__init__(_english(message))
        self.msgid = message
        self.row, self.column, self.params = row, column, params

    def text(self) -> str:
        """The message in the current language."""
        return _format(self.msgid, self.params)

    def __str__(self) -> str:
        return self.text()

    def as_dict(self) -> dict[str, Any]:
        """Row, column and the message in English and Vietnamese, as import reports store it."""
        if not has_app_context():
            english = _format(self.msgid, self.params, translate=False)
            return {"row": self.row, "column": self.column, "message": english, "message_vi": english}
        # Flask-Babel keeps its state on ``g`` and ignores force_locale while ``g`` is still empty (a worker's).
        g.setdefault("lms_babel_anchor", True)
        with force_locale("en"):  # parameters may be translated too (lazy strings, Localised)
            english = _format(self.msgid, self.params, translate=True)
        with force_locale("vi"):
            vietnamese = _format(self.msgid, self.params, translate=True)
        return {"row": self.row, "column": self.column, "message": english, "message_vi": vietnamese}


def _format(msgid: Any, params: dict[str, Any], *, translate: bool | None = None) -> str:
    """A lazy message formatted now: in the request's language, or in English outside a request (a worker
    chooses its languages with ``force_locale``)."""
    if translate is None:
        translate = has_request_context()
    text = str(msgid) if translate else _english(msgid)
    return text % params if params else text


def _english(msgid: Any) -> str:
    """The message id of a lazy string, untranslated (``str()`` would translate it)."""
    args = getattr(msgid, "_args", None)
    return args[0] if args else msgid


class Localised:
    """A parameter written differently per language that is data, not a message (a list of coded values: the codes
    in English, their Vietnamese names in Vietnamese)."""

    def __init__(self, text: str, *, vi: str) -> None:
        self.text, self.vi = text, vi

    def __str__(self) -> str:
        locale = get_locale() if has_app_context() else None
        return self.vi if locale is not None and locale.language == "vi" else self.text


# --- the messages (English ids; the Vietnamese lives in the catalogue) ---------------------------------------

NOT_XLSX = _l("the file is not a readable .xlsx workbook; save it again as .xlsx or as CSV UTF-8")
NOT_CSV = _l("the file is not readable CSV text")
NOT_UTF8 = _l("the CSV file is not UTF-8 text; save it as “CSV UTF-8”")
WRONG_TYPE = _l("only .xlsx and .csv files can be imported")
OLD_XLS = _l("old .xls workbooks cannot be read; save the file as .xlsx or .csv")
EMPTY = _l("the file is empty")
NO_ROWS = _l("the file has a header row but no data rows")
TOO_LARGE = _l("the file is too large (%(size)s MB); the limit is %(limit)s MB")
TOO_MANY_ROWS = _l("the file has more than %(limit)s data rows; split it into smaller files")
ROW_TOO_FAR = _l(
    "the sheet has a row numbered %(number)s, beyond the limit of %(limit)s data rows; delete the empty rows "
    "and anything below your data, or split the file"
)
DIMENSION_TOO_LARGE = _l(
    "the sheet declares %(rows)s rows and %(columns)s columns, more than the %(limit)s data rows and "
    "%(max_columns)s columns it may have; delete the empty rows and columns around your data, or split the file"
)
ARCHIVE_ENTRIES = _l("the workbook holds %(count)s files, more than %(limit)s: it is not an ordinary spreadsheet")
ARCHIVE_SIZE = _l(
    "the workbook unpacks to %(size)s MB, more than %(limit)s MB: remove pictures and unused sheets, or split it"
)
ARCHIVE_PART = _l(
    "the workbook's part %(name)s unpacks to %(size)s MB, more than %(limit)s MB: keep the data on one sheet "
    "without pictures or formatting, save it as CSV, or split it"
)
CELL_TOO_FAR = _l(
    "the sheet has a cell in column %(index)s, far beyond the %(limit)s columns it may have; delete the columns "
    "to the right of your data"
)
CELLS_RIGHT = _l(
    "the sheet has more than %(count)s cells right of column %(index)s, which no import reads; delete the columns "
    "to the right of your data"
)
TOO_SLOW = _l(
    "the file could not be read within %(seconds)s seconds (stopped at row %(number)s): save it again as .xlsx or "
    "CSV with only your data, or split it"
)
ARCHIVE_RATIO = _l(
    "the workbook's part %(name)s unpacks %(ratio)s times larger than it is stored, more than %(limit)s times: "
    "it is not an ordinary spreadsheet"
)
CELL_TOO_LONG = _l(
    'the CSV file cannot be read from this line: close every quote (") you open and keep each cell under '
    "%(limit)s characters"
)
MISSING_COLUMN = _l("the column %(name)s is missing from the first row")
DUPLICATE_COLUMN = _l("the column %(name)s appears twice in the first row")
REQUIRED = _l("a value is required")
NOT_A_DATE = _l("“%(value)s” is not a date; write dd/mm/yyyy")
NOT_A_WHOLE_NUMBER = _l("“%(value)s” is not a whole number")
NOT_A_NUMBER = _l("“%(value)s” is not a number")


# --- reading -------------------------------------------------------------------------------------------------


@dataclass
class Table:
    """The header row (cleaned, cut after its last non-empty cell) and the non-blank data rows, each with its row
    number in the spreadsheet (the header is row 1) and its cells cut to the header's width."""

    header: list[Any]
    rows: list[tuple[int, list[Any]]] = field(default_factory=list)


def read_table(filename: str, content: bytes, limits: Limits) -> Table:
    """Check and read the first sheet of an .xlsx, or a .csv (by the name's suffix): at most ``limits.max_rows``
    data rows, which are all kept (for an import that needs every row at once; :func:`stream_table` keeps none).

    Raises :class:`SpreadsheetError` for a file that is unreadable, empty, too large or a bomb.
    """
    header, rows = stream_table(filename, content, limits)
    return Table(header, list(rows))


def stream_table(filename: str, content: bytes, limits: Limits) -> tuple[list[Any], Iterator[tuple[int, list[Any]]]]:
    """The header row of the first sheet of an .xlsx, or of a .csv, and its non-blank data rows one at a time, as
    :class:`Table` holds them (row number, cells cut to the header's width), without keeping any: memory follows
    one row, not the file.

    Raises :class:`SpreadsheetError` for a file that is unreadable, empty, too large or a bomb — at once for what
    the header tells, and from the iterator for what only a later row tells (too many rows, a row too far, a
    file that has no data rows).
    """
    lines = iter(read_rows(filename, content, limits))
    header: list[Any] | None = None
    for number, cells in lines:
        if number > limits.last_row:
            raise SpreadsheetError(ROW_TOO_FAR, row=number, number=_n(number), limit=_n(limits.max_rows))
        header = [clean(cell) for cell in cells[: limits.max_columns]]
        break
    if header is None:
        raise SpreadsheetError(EMPTY)
    # Read no further right than the last header: a stray cell far to the right must not widen every row.
    width = max((i + 1 for i, cell in enumerate(header) if cell is not None), default=0)
    header = header[:width]

    def rows() -> Iterator[tuple[int, list[Any]]]:
        count = 0
        for number, cells in lines:
            if number > limits.last_row:
                raise SpreadsheetError(ROW_TOO_FAR, row=number, number=_n(number), limit=_n(limits.max_rows))
            cleaned = [clean(cell) for cell in cells[:width]]
            if any(cell is not None for cell in cleaned):
                if count == limits.max_rows:
                    raise SpreadsheetError(TOO_MANY_ROWS, row=number, limit=_n(limits.max_rows))
                count += 1
                yield number, cleaned
        if not count:
            raise SpreadsheetError(NO_ROWS if header else EMPTY)

    data = rows()
    if header:
        return header, data
    first = next(data)  # no header: a file with nothing at all is "empty" before anything else is said of it
    return header, itertools.chain([first], data)


def read_rows(filename: str, content: bytes, limits: Limits) -> Iterator[tuple[int, Sequence[Any]]]:
    """Check the file, then yield the rows of the first sheet of an .xlsx, or of a .csv (by the name's suffix), one
    at a time, as ``(row number, raw cells)`` — at most ``limits.max_columns`` cells, no row numbered beyond
    ``limits.last_row``. For a layout that is not a header in row 1 over data rows (:func:`read_table`): the
    importer reads the rows where it finds them.

    Raises :class:`SpreadsheetError` for a file that is unreadable, empty, too large or a bomb.
    """
    check_file(filename, content, limits)
    rows = _csv_rows(content, limits) if filename.lower().endswith(".csv") else _xlsx_rows(content, limits)
    return ((number, [_composed(cell) for cell in cells]) for number, cells in rows)


def _composed(cell: Any) -> Any:
    """A text cell in Unicode's composed form (NFC), as the forms and the API store text (ADR 58): a name typed
    with combining marks is otherwise another string to a search, a duplicate check and a length limit."""
    return unicodedata.normalize("NFC", cell) if isinstance(cell, str) else cell


def check_file(filename: str, content: bytes, limits: Limits) -> None:
    """What can be told without parsing: size, type, and for a workbook its archive (:func:`check_archive`)."""
    name = filename.lower()
    if not content:
        raise SpreadsheetError(EMPTY)
    if len(content) > limits.max_bytes:
        raise SpreadsheetError(TOO_LARGE, size=_mb(len(content)), limit=_mb(limits.max_bytes))
    if name.endswith(".xls"):
        raise SpreadsheetError(OLD_XLS)
    if not name.endswith((".csv", ".xlsx")):
        raise SpreadsheetError(WRONG_TYPE)
    if name.endswith(".xlsx"):
        check_archive(content, limits)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f}"


def _n(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def clean(value: Any) -> Any:
    """A cell as the importers see it: text stripped, empty text as None."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _csv_rows(content: bytes, limits: Limits) -> Iterator[tuple[int, Sequence[Any]]]:
    # Excel's "Unicode text" is UTF-16 (its byte-order mark first): text, but not UTF-8 — say how to save it.
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpreadsheetError(NOT_UTF8)
    # UTF-8 encodes no character but NUL with a zero byte: a NUL is a binary file, whatever the name says.
    if b"\x00" in content:
        raise SpreadsheetError(NOT_CSV)
    # Spreadsheet programs set to Vietnamese (decimal comma) save CSV with ";"; take what the header row uses.
    first_line = content[: 64 * 1024].decode("utf-8-sig", errors="ignore").split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    # The limit is process-wide in the csv module; every reader sets it to the setting before reading.
    csv.field_size_limit(limits.max_cell_chars)
    # Decoded as it is read: the file is never held a second time as text (a 10 MB file would be 40 MB more).
    text = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8-sig", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    deadline = time.monotonic() + limits.max_seconds
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise SpreadsheetError(NOT_UTF8) from exc
        except csv.Error as exc:
            raise SpreadsheetError(CELL_TOO_LONG, row=reader.line_num, limit=_n(limits.max_cell_chars)) from exc
        # A row is numbered by the line it starts on... and csv counts the lines it has read (a quoted cell can
        # span several): the last line read is the row's number for anything the user needs to find.
        if reader.line_num > limits.last_row:
            raise SpreadsheetError(
                ROW_TOO_FAR, row=reader.line_num, number=_n(reader.line_num), limit=_n(limits.max_rows)
            )
        if reader.line_num % 1000 == 0 and time.monotonic() > deadline:
            raise SpreadsheetError(
                TOO_SLOW, row=reader.line_num, seconds=_n(int(limits.max_seconds)), number=_n(reader.line_num)
            )
        yield reader.line_num, cells[: limits.max_columns]


def check_archive(content: bytes, limits: Limits) -> None:
    """Refuse an .xlsx whose archive could not be an ordinary spreadsheet, from its directory alone."""
    if not content.startswith(XLSX_MAGIC):
        raise SpreadsheetError(NOT_XLSX)
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise SpreadsheetError(NOT_XLSX) from exc
    if len(entries) > limits.max_entries:
        raise SpreadsheetError(ARCHIVE_ENTRIES, count=_n(len(entries)), limit=_n(limits.max_entries))
    total = sum(entry.file_size for entry in entries)
    if total > limits.max_uncompressed:
        raise SpreadsheetError(ARCHIVE_SIZE, size=_mb(total), limit=_mb(limits.max_uncompressed))
    for entry in entries:
        # openpyxl parses these whole into memory (the sheet itself is streamed; pictures are not read).
        read_whole = entry.filename.endswith((".xml", ".rels")) and not entry.filename.startswith("xl/worksheets/")
        if read_whole and entry.file_size > limits.max_part_bytes:
            raise SpreadsheetError(
                ARCHIVE_PART, name=entry.filename[:80], size=_mb(entry.file_size), limit=_mb(limits.max_part_bytes)
            )
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > RATIO_FLOOR and ratio > limits.max_ratio:
            raise SpreadsheetError(ARCHIVE_RATIO, name=entry.filename[:80], ratio=int(ratio), limit=limits.max_ratio)


def _xlsx_rows(content: bytes, limits: Limits) -> Iterator[tuple[int, Sequence[Any]]]:
    deadline = time.monotonic() + limits.max_seconds
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:
        raise SpreadsheetError(NOT_XLSX) from exc
    try:
        if not workbook.worksheets:
            raise SpreadsheetError(EMPTY)
        sheet = workbook.worksheets[0]
        # The declared dimension (read by openpyxl from the sheet's first lines) is what openpyxl would pad to.
        rows, columns = sheet.max_row or 0, sheet.max_column or 0
        if rows > limits.last_row or columns > 16 * limits.max_columns:  # as _SheetReader.far_column
            raise SpreadsheetError(
                DIMENSION_TOO_LARGE,
                rows=_n(rows),
                columns=_n(columns),
                limit=_n(limits.max_rows),
                max_columns=_n(limits.max_columns),
            )
        reader = _SheetReader(workbook, limits, deadline)
        try:
            with sheet._get_source() as source:
                yield from reader.rows(source)
        except SpreadsheetError:
            raise
        except Exception as exc:
            raise SpreadsheetError(NOT_XLSX) from exc
    finally:
        workbook.close()


_LETTERS = re.compile(r"[A-Z]+")


class _SheetReader:
    """The rows of a worksheet's XML, streamed through expat: no element tree, no cell beyond ``max_columns`` kept
    (openpyxl's own parser holds a whole row's elements, millions for a crafted row, before it yields it), each
    row checked against the row limit by its number and the whole read against the time budget.

    Cell values follow openpyxl's reading (``data_only``): shared and inline strings, booleans, numbers (dates by
    the cell's style), ISO dates, error codes and cached formula results as text.
    """

    CHUNK = 64 * 1024

    def __init__(self, workbook: Any, limits: Limits, deadline: float) -> None:
        from openpyxl.utils.datetime import from_excel, from_ISO8601

        self.shared: list[Any] = workbook.shared_strings
        self.date_styles: set[int] = set(workbook._date_formats)
        self.timedelta_styles: set[int] = set(workbook._timedelta_formats)
        self.epoch = workbook.epoch
        self.from_excel, self.from_iso = from_excel, from_ISO8601
        self.limits, self.deadline = limits, deadline
        self.far_column = 16 * limits.max_columns
        self.skipped = 0
        self.done: list[tuple[int, list[Any]]] = []
        self.row_number = 0
        self.cells: list[Any] | None = None
        self.column = 0
        self.kind = "n"
        self.style = 0
        self.text: list[str] | None = None  # collecting the current cell's value, when it is one we keep
        self.text_size = 0
        self.in_value = self.in_phonetic = False

    def rows(self, source: Any) -> Iterator[tuple[int, list[Any]]]:
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._chars
        parser.StartDoctypeDeclHandler = self._doctype  # no part of a workbook has one: no entity expansion
        while chunk := source.read(self.CHUNK):
            parser.Parse(chunk, False)
            yield from self.done
            self.done.clear()
            if time.monotonic() > self.deadline:
                raise SpreadsheetError(
                    TOO_SLOW,
                    row=self.row_number,
                    seconds=_n(int(self.limits.max_seconds)),
                    number=_n(self.row_number),
                )
        parser.Parse(b"", True)
        yield from self.done
        self.done.clear()

    def _doctype(self, *args: Any) -> None:
        raise SpreadsheetError(NOT_XLSX)

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        name = tag.rpartition(":")[2]
        if name == "c":
            if self.cells is None:
                return
            ref = attrs.get("r")
            match = _LETTERS.match(ref) if ref else None
            self.column = _column_index(match.group()) if match else self.column + 1
            if self.column > self.far_column:
                # The declared-dimension rule, for the cells themselves: a lying dimension does not get further.
                raise SpreadsheetError(
                    CELL_TOO_FAR, row=self.row_number, index=_n(self.column), limit=_n(self.limits.max_columns)
                )
            if self.column > self.limits.max_columns:
                self.text = None  # right of the limit: skipped, not kept
                self.skipped += 1
                if self.skipped > self.limits.last_row:  # a stray note is fine; a block of them costs the budget
                    raise SpreadsheetError(
                        CELLS_RIGHT,
                        row=self.row_number,
                        index=_n(self.limits.max_columns),
                        count=_n(self.limits.last_row),
                    )
                return
            self.kind, self.style = attrs.get("t", "n"), int(attrs.get("s", 0) or 0)
            self.text, self.text_size = [], 0
        elif name == "row":
            ref = attrs.get("r")
            self.row_number = int(ref) if ref and ref.isdigit() else self.row_number + 1
            if self.row_number > self.limits.last_row:
                raise SpreadsheetError(
                    ROW_TOO_FAR, row=self.row_number, number=_n(self.row_number), limit=_n(self.limits.max_rows)
                )
            self.cells, self.column = [], 0
        elif self.text is not None:
            if name == "v" or (name == "t" and not self.in_phonetic):
                self.in_value = True
            elif name == "rPh":
                self.in_phonetic = True

    def _chars(self, data: str) -> None:
        if self.in_value and self.text is not None:
            self.text_size += len(data)
            if self.text_size > self.limits.max_cell_chars:
                raise SpreadsheetError(CELL_TOO_LONG, row=self.row_number, limit=_n(self.limits.max_cell_chars))
            self.text.append(data)

    def _end(self, tag: str) -> None:
        name = tag.rpartition(":")[2]
        if name in ("v", "t"):
            self.in_value = False
        elif name == "rPh":
            self.in_phonetic = False
        elif name == "c" and self.text is not None and self.cells is not None:
            value = self._value("".join(self.text))
            self.text = None
            self.cells.extend([None] * (self.column - 1 - len(self.cells)))
            self.cells.append(value)
        elif name == "row" and self.cells is not None:
            self.done.append((self.row_number, self.cells))
            self.cells = None

    def _value(self, raw: str) -> Any:
        kind = self.kind
        if kind == "inlineStr":
            return raw
        if not raw:
            return None
        if kind == "n":
            number: int | float = float(raw) if ("." in raw or "e" in raw or "E" in raw) else int(raw)
            if self.style in self.date_styles:
                try:
                    return self.from_excel(number, self.epoch, timedelta=self.style in self.timedelta_styles)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "s":
            return self.shared[int(raw)]
        if kind == "b":
            return bool(int(raw))
        if kind == "d":
            return self.from_iso(raw)
        return raw  # "str" (a formula's cached text), "e" (an error code)


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters[:4]:  # past "XFD" (16,384) nothing is real; four letters bound the arithmetic
        index = index * 26 + ord(letter) - 64
    return index


# --- headers -------------------------------------------------------------------------------------------------


def fold_header(text: Any) -> str:
    """How headers are compared: lower case, no diacritics, "_" and "-" as spaces ("Mã thôn" = "ma_thon")."""
    decomposed = unicodedata.normalize("NFD", as_text(text).casefold().replace("đ", "d"))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.replace("_", " ").replace("-", " ").split())


@dataclass(frozen=True)
class Column:
    """A column a layout reads: its key, the headers that name it (the first one is quoted in messages)."""

    key: str
    names: tuple[str, ...]
    required: bool = True


@dataclass
class Header:
    """Where each column of a layout is: its index, the header as the file writes it; what no column matched."""

    index: dict[str, int] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    errors: list[SpreadsheetError] = field(default_factory=list)


def match_header(header: Sequence[Any], columns: Sequence[Column]) -> Header:
    """Match the header row against ``columns`` (names compared folded); every missing required column and every
    column named twice is an error of row 1."""
    by_name = {fold_header(name): column for column in columns for name in (column.key, *column.names)}
    found = Header()
    for index, cell in enumerate(header):
        if cell is None:
            continue
        text = as_text(cell)
        column = by_name.get(fold_header(text))
        if column is None:
            found.ignored.append(text)
        elif column.key in found.index:
            found.errors.append(SpreadsheetError(DUPLICATE_COLUMN, row=1, column=text, name=text))
        else:
            found.index[column.key] = index
            found.labels[column.key] = text
    for column in columns:
        if column.required and column.key not in found.index:
            name = column.names[0] if column.names else column.key
            found.errors.append(SpreadsheetError(MISSING_COLUMN, row=1, column=name, name=name))
    return found


# --- typed cells ---------------------------------------------------------------------------------------------


def shown_number(value: float) -> str:
    """A number cell as the spreadsheet shows it: 15 significant digits. A sum or a share worked out by a formula
    (=0.1+0.2, =B2/C2*100) is stored as the nearest binary fraction, which Python writes out in full
    (0.30000000000000004): read so, a 0.3 on the screen was refused as having more than two decimals."""
    return format(value, ".15g")


def as_text(raw: Any) -> str:
    """A cell as text: a number typed into a spreadsheet (12.0) as people wrote it (12), spaces collapsed."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, float):
        return shown_number(raw)
    return " ".join(str(raw).split())


def shown(raw: Any) -> str:
    """A cell's value as quoted in a message: long digit runs (ID numbers in a shifted column) masked, cut at 40."""
    text = re.sub(r"\d{9,}", lambda m: "*" * (len(m.group()) - 3) + m.group()[-3:], as_text(raw))
    return text if len(text) <= 40 else text[:39] + "…"


_DMY = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?")


def as_date(raw: Any, *, row: int | None = None, column: str | None = None) -> date:
    """A real spreadsheet date, or text as dd/mm/yyyy (Vietnamese order) or yyyy-mm-dd."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = as_text(raw)
    if match := _DMY.fullmatch(text):
        day, month, year = (int(part) for part in match.groups())
    elif match := _YMD.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        raise SpreadsheetError(NOT_A_DATE, row=row, column=column, value=shown(raw))
    try:
        return date(year, month, day)
    except ValueError:
        raise SpreadsheetError(NOT_A_DATE, row=row, column=column, value=shown(raw)) from None


class BirthYear(date):
    """A birth date of which only the year is known ("1948" in a commune register): 1 January of that year, equal
    to that date, told apart by its type (stored with ``Person.birth_year_only``)."""

    def __new__(cls, year: int) -> BirthYear:
        return super().__new__(cls, year, 1, 1)

    def __reduce__(self) -> tuple[Any, ...]:
        return (BirthYear, (self.year,))


NOT_A_BIRTH_DATE = _l("“%(value)s” is not a date of birth; write dd/mm/yyyy, or the year alone (1948)")
_YEAR = re.compile(r"\d{4}")


def as_birth_date(raw: Any, *, row: int | None = None, column: str | None = None) -> date:
    """A date of birth: a whole date (as :func:`as_date`), or a year alone, typed as a number or written as four
    digits — a :class:`BirthYear`."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if isinstance(raw, str) and _YEAR.fullmatch(text := as_text(raw)):
        if 1800 <= int(text) <= 9999:
            return BirthYear(int(text))
        raise SpreadsheetError(NOT_A_BIRTH_DATE, row=row, column=column, value=shown(raw))
    try:
        return as_date(raw, row=row, column=column)
    except SpreadsheetError:
        raise SpreadsheetError(NOT_A_BIRTH_DATE, row=row, column=column, value=shown(raw)) from None


def as_int(raw: Any, *, row: int | None = None, column: str | None = None) -> int:
    """A whole number, typed as one or written as digits."""
    if isinstance(raw, bool):
        raise SpreadsheetError(NOT_A_WHOLE_NUMBER, row=row, column=column, value=shown(raw))
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    text = as_text(raw)
    if text.isascii() and text.isdigit() and len(text) <= 18:
        return int(text)
    raise SpreadsheetError(NOT_A_WHOLE_NUMBER, row=row, column=column, value=shown(raw))


def as_decimal(raw: Any, *, row: int | None = None, column: str | None = None) -> Decimal:
    """A number, typed as one or written with a decimal point or comma (95,5)."""
    try:
        if isinstance(raw, bool) or raw is None:
            raise InvalidOperation
        value = Decimal(as_text(raw).replace(",", ".")) if isinstance(raw, str | float) else Decimal(str(raw))
        if not value.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise SpreadsheetError(NOT_A_NUMBER, row=row, column=column, value=shown(raw)) from None
    return value
