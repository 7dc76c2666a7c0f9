"""Spreadsheet import (xlsx and csv): villages, households with their persons, organisations with their members,
and association officers.

An upload becomes an :class:`ImportJob` through :func:`create_job`, which only makes the cheap checks a user
should hear about at once. A worker then runs :func:`execute_job` in two phases:

1. *Check.* Stream every row and convert every cell (only the job row is written meanwhile, to publish
   progress), then resolve every code against the database once — inside the province's lock when applying —
   with a few queries per file, none per row (a households file's rows go to a temporary table and are joined
   with the stored households and persons: ADR 36), collecting **every** error with its row, column and reason
   in English and Vietnamese.
2. *Apply.* Only if no row had an error: write everything in the same transaction with a few set-based
   statements per table, upserting on natural keys, so importing the same file again changes nothing.

The column layouts are explained to users in ``lms/static/import-templates/README.txt``; keep the two in step.
"""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from itertools import groupby
from pathlib import PurePosixPath
from typing import Any, ClassVar, NamedTuple, cast

from flask import current_app
from flask_babel import gettext, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column as Column_
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    and_,
    case,
    extract,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import aliased

from lms.auth.models import User
from lms.celery import enqueue_after_commit
from lms.core import formatting, spreadsheet
from lms.core.bulk import copy_rows
from lms.core.clock import local_today
from lms.core.formatting import in_request_language as _  # refusals: the request's language, English in a task
from lms.core.imports import Preview
from lms.core.imports import changes as _changes
from lms.core.services import audit
from lms.extensions import db, utcnow
from lms.registry import changes
from lms.registry.labels import IMPORT_ENTITY_NAMES
from lms.registry.models import (
    AdminUnit,
    AssociationMembership,
    AssociationRole,
    Household,
    ImportJob,
    ImportStatus,
    ManagingLevel,
    OccupationGroup,
    Organisation,
    OrganisationKind,
    OrganisationMember,
    Person,
    Sex,
    UnitLevel,
    subtree,
)
from lms.registry.pii import InvalidIdNumber, id_number_hash, normalise_id_number, protected_fields
from lms.registry.text import fold, name_keys

KINDS = ("villages", "households", "organisations", "officers")
PROGRESS_EVERY = 500  # rows checked between two progress commits
MAX_LISTED_ERRORS = 5000  # all errors are counted; this many are stored and shown, so a wrong file stays viewable
# A job still "running" after this long lost its worker; the same limit makes sweep_imports re-send it.
RUN_TIMEOUT = timedelta(minutes=30)
# A preview waits this long for its confirmation; then sweep_imports drops the file.
PREVIEW_TIMEOUT = timedelta(hours=24)
# Look-ups by many values go in chunks, below SQLite's limit of 32,766 parameters per statement.
IN_CHUNK = 10_000


class ImportRefused(ValueError):
    """The upload was refused before a job was created; ``field`` names the form field at fault."""

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.field = field


# --- messages ------------------------------------------------------------------------------------------------

# Each error code with its message, an English id translated through Flask-Babel (the Vietnamese is in the
# catalogue); reports store both languages (lms.core.spreadsheet.SpreadsheetError.as_dict).
MESSAGES: dict[str, Any] = {
    "missing_column": _l("the column %(key)s (%(vi)s) is missing from the first row"),
    "duplicate_column": _l("the column %(key)s (%(vi)s) appears twice in the first row"),
    "missing_identity_columns": _l(
        "add the column %(id_key)s, or the columns %(name_key)s, %(village_key)s and %(household_key)s, to say "
        "who each row is about"
    ),
    "required": _l("a value is required"),
    "too_long": _l("longer than %(limit)s characters"),
    "bad_digits": _l("must be exactly %(digits)s digits"),
    "bad_id_number": _l("a personal ID number has exactly 12 digits"),
    "bad_date": _l("“%(value)s” is not a date; write dd/mm/yyyy"),
    "future_date": _l("the date %(value)s is in the future"),
    "bad_birth_date": _l("“%(value)s” is not a date of birth; write dd/mm/yyyy, or the year alone (1948)"),
    "bad_choice": _l("“%(value)s” is not one of: %(choices)s"),
    "unknown_commune": _l("there is no current commune with code %(code)s"),
    "commune_out_of_scope": _l("commune %(code)s is not in %(unit)s"),
    "unknown_village": _l("there is no village with code %(code)s"),
    "village_out_of_scope": _l("village %(code)s is not in %(unit)s"),
    "unknown_unit": _l("there is no current commune or village with code %(code)s"),
    "unit_out_of_scope": _l("%(code)s is not in %(unit)s"),
    "ambiguous_unit": _l("%(code)s is the code of a commune and of a village"),
    "village_in_other_commune": _l("village code %(code)s already belongs to %(commune)s"),
    "duplicate_village": _l("village %(code)s is also on row %(other)s"),
    "conflict": _l("differs from row %(other)s for the same %(entity)s"),
    "duplicate_id_number": _l("the same ID number is on row %(other)s"),
    # The answers of the person form, word for word: they do not tell whether, or where, the holder lives.
    "id_number_refused": _l(
        "This ID number cannot be recorded for this person. Check it against the person's card; "
        "if it is right, ask your administrator."
    ),
    "id_number_attempts": _l("Too many refused ID numbers in the last hour: try again later."),
    "duplicate_person": _l("the same person is on row %(other)s"),
    "person_not_found_by_id": _l("no person with this ID number lives in %(unit)s"),
    "person_not_found": _l(
        "no person named %(name)s, born %(birth)s, in household %(household)s of village %(village)s"
    ),
    "ambiguous_person": _l("%(count)s persons match; give the ID number instead"),
    "person_identity": _l("give %(id_key)s, or %(name_key)s, %(village_key)s and %(household_key)s"),
    "duplicate_member": _l("this person is a member of the same organisation on row %(other)s"),
    "duplicate_officer": _l("the same person, unit, role and start date are on row %(other)s"),
    "ends_before_start": _l("ends before it starts"),
    "crashed": _l("the import stopped on an unexpected error; nothing was imported"),
}


class _Invalid(Exception):
    """A cell (or the whole file) cannot be used: a message code and its parameters."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class _Report:
    """Every error found in a file, named with the headers the file itself uses."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {}  # layout key → header as written in the file
        self.positions: dict[str, int] = {}  # layout key → index of its column in the file
        # (row, column position, error): the checks find errors column by column, users read them row by row
        self._entries: list[tuple[int, int, dict[str, Any]]] = []
        self._rows: set[int] = set()

    def add(self, row: int | None, key: str | None, code: str, /, **params: Any) -> None:
        """Record error ``code`` of ``row`` (None: the whole file) in the column of layout key ``key``."""
        if row is not None:
            self._rows.add(row)
        position = self.positions.get(key, -1) if key else -1
        column = self.headers.get(key, key) if key else None
        error = spreadsheet.SpreadsheetError(MESSAGES[code], row=row, column=column, **params)
        self._entries.append((row or 0, position, error.as_dict()))

    def add_error(self, error: spreadsheet.SpreadsheetError) -> None:
        """Record what the spreadsheet reader refused (its message is already in both languages)."""
        if error.row is not None:
            self._rows.add(error.row)
        self._entries.append((error.row or 0, -1, error.as_dict()))

    def __bool__(self) -> bool:
        return bool(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self._rows.clear()

    def listed(self) -> list[dict[str, Any]]:
        """The errors in row and column order, at most MAX_LISTED_ERRORS of them."""
        ordered = sorted(self._entries, key=lambda entry: entry[:2])
        return [error for _, _, error in ordered[:MAX_LISTED_ERRORS]]

    def summary(self) -> str:
        """One line in the language the job speaks (:func:`execute_job`), e.g. "12 lỗi ở 9 dòng; chưa nhập gì"."""
        count = len(self._entries)
        if count == 1 and not self._rows:
            return gettext("%(problem)s; nothing was imported", problem=_stored_message(self._entries[0][2]))
        text = ngettext("%(num)s error", "%(num)s errors", count)  # num formatted in the job's language
        if self._rows:
            rows = ngettext("%(num)s row", "%(num)s rows", len(self._rows))
            text = gettext("%(errors)s in %(rows)s", errors=text, rows=rows)
        if count > MAX_LISTED_ERRORS:
            text = gettext(
                "%(errors)s (the first %(listed)s are listed)", errors=text, listed=_count(MAX_LISTED_ERRORS)
            )
        return gettext("%(problem)s; nothing was imported", problem=text)


def _count(value: int) -> str:
    return formatting.number(value, 0)


def _stored_message(error: dict[str, Any]) -> str:
    """An error as stored (in English and Vietnamese), in the language the job speaks."""
    return str(error.get("message_vi") or error["message"]) if formatting.current_locale() == "vi" else error["message"]


# --- cells ---------------------------------------------------------------------------------------------------

Parser = Callable[[Any], Any]


def _key(text: str) -> str:
    """How headers and coded values are compared: folded, with "_" and "-" as spaces ("Mã thôn" = "ma thon")."""
    return " ".join(fold(text).replace("_", " ").replace("-", " ").split())


def _as_text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))  # a number typed into a spreadsheet comes back as 12.0
    return str(raw).strip()


# A cell's value as quoted in an error message, never with an ID number in clear (a shifted column can put one
# under any header).
_shown = spreadsheet.shown


def _text(limit: int) -> Parser:
    def parse(raw: Any) -> str:
        value = " ".join(_as_text(raw).split())
        if len(value) > limit:
            raise _Invalid("too_long", limit=limit)
        return value

    return parse


def _code(limit: int, *, digits: int | None = None) -> Parser:
    """An identifier. A spreadsheet drops the leading zeros of a code typed as a number; ``digits`` restores
    them and requires exactly that many digits."""

    def parse(raw: Any) -> str:
        value = "".join(_as_text(raw).split())
        if digits:
            if isinstance(raw, int | float):
                value = value.zfill(digits)
            value = unicodedata.normalize("NFKC", value)
            if len(value) != digits or not (value.isascii() and value.isdigit()):
                raise _Invalid("bad_digits", digits=digits)
        if len(value) > limit:
            raise _Invalid("too_long", limit=limit)
        return value

    return parse


class IdNumber(NamedTuple):
    number: str
    hash: str


def _id_number(raw: Any) -> IdNumber:
    text = _as_text(raw)
    if isinstance(raw, int | float):
        text = text.zfill(12)  # ID numbers start with the 0 of the province of birth
    try:
        number = normalise_id_number(text)
    except InvalidIdNumber as exc:
        raise _Invalid("bad_id_number") from exc
    return IdNumber(number, id_number_hash(number))


def _date(raw: Any) -> date:
    """A real spreadsheet date, or text as dd/mm/yyyy (Vietnamese order) or yyyy-mm-dd."""
    try:
        return spreadsheet.as_date(raw)
    except spreadsheet.SpreadsheetError:
        raise _Invalid("bad_date", value=_shown(raw)) from None


def _birth_shown(value: date) -> str:
    return str(value.year) if isinstance(value, spreadsheet.BirthYear) else value.strftime("%d/%m/%Y")


def _birth_date(raw: Any) -> date:
    """A date of birth not in the future: a whole date, or the year alone (a :class:`spreadsheet.BirthYear`)."""
    try:
        value = spreadsheet.as_birth_date(raw)
    except spreadsheet.SpreadsheetError:
        raise _Invalid("bad_birth_date", value=_shown(raw)) from None
    today = local_today()
    if value > today or value.year > today.year:
        raise _Invalid("future_date", value=_birth_shown(value))
    return value


def _choice(options: dict[str, tuple[str, ...]]) -> Parser:
    """A coded value, given as its code or any of its names (English or Vietnamese, with or without marks).
    The first name of each option is its Vietnamese label, quoted in error messages."""
    lookup = {_key(name): value for value, names in options.items() for name in (value, *names)}
    listed = ", ".join(options)
    listed_vi = ", ".join(names[0] for names in options.values())

    def parse(raw: Any) -> str:
        value = lookup.get(_key(_as_text(raw)))
        if value is None:
            raise _Invalid("bad_choice", value=_shown(raw), choices=spreadsheet.Localised(listed, vi=listed_vi))
        return value

    return parse


SEX = _choice({Sex.MALE: ("Nam", "male"), Sex.FEMALE: ("Nữ", "female")})
# Plan 1514's "người lao động" (in learning families, clans and villages) is everyone who works for a living, and in
# Kon Tum most of them farm: a register's "Nông dân" (or its upland forms) is a worker, never refused nor left as
# "Khác", which would drop them from the plan's denominator (ADR 12, amendment of 7/12/2026). The templates' README
# lists these spellings, in both its Vietnamese and English parts (a test keeps them in step).
FARMER_SPELLINGS = ("Nông dân", "Làm nông", "Nông nghiệp", "Làm ruộng", "Làm rẫy", "Làm nương", "Làm nương rẫy")
OCCUPATION = _choice(
    {
        OccupationGroup.WORKER: ("Người lao động", "Lao động", "Công nhân", *FARMER_SPELLINGS, "farmer"),
        OccupationGroup.OFFICIAL: ("Cán bộ, công chức, viên chức", "Cán bộ", "Công chức", "Viên chức"),
        OccupationGroup.PUPIL: ("Học sinh, sinh viên", "Học sinh", "Sinh viên", "student"),
        OccupationGroup.OTHER: ("Khác",),
    }
)
ORGANISATION_KIND = _choice(
    {
        OrganisationKind.AGENCY: ("Cơ quan nhà nước", "Cơ quan"),
        OrganisationKind.PUBLIC_SERVICE: ("Đơn vị sự nghiệp công lập", "Đơn vị sự nghiệp"),
        OrganisationKind.SCHOOL: ("Trường học", "Trường"),
        OrganisationKind.ENTERPRISE: ("Doanh nghiệp",),
        OrganisationKind.ASSOCIATION: ("Hội, đoàn thể", "Hội", "Đoàn thể"),
        OrganisationKind.OTHER: ("Khác",),
    }
)
MANAGING_LEVEL = _choice(
    {
        ManagingLevel.COMMUNE: ("Xã", "Cấp xã"),
        ManagingLevel.DISTRICT: ("Huyện", "Cấp huyện"),
        ManagingLevel.PROVINCE: ("Tỉnh", "Cấp tỉnh"),
        ManagingLevel.CENTRAL: ("Trung ương",),
    }
)
ROLE = _choice(
    {
        AssociationRole.CHAIR: ("Chủ tịch",),
        AssociationRole.VICE_CHAIR: ("Phó Chủ tịch", "vice chairman"),
        AssociationRole.OFFICER: ("Cán bộ",),
        AssociationRole.MEMBER: ("Hội viên",),
    }
)


@dataclass(frozen=True)
class Column:
    """A column of a layout: its English key (also a valid header), its Vietnamese header, and how to read it.

    ``required`` columns must be in the header row and filled on every row; the others may be left out.
    """

    key: str
    vi: str
    parse: Parser
    required: bool = True
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.key, self.vi, *self.aliases)


def _optional(key: str, vi: str, parse: Parser, *aliases: str) -> Column:
    return Column(key, vi, parse, required=False, aliases=aliases)


COMMUNE_CODE = Column("commune_code", "Mã xã", _code(5, digits=5))
VILLAGE_CODE = Column("village_code", "Mã thôn", _code(32))
HOUSEHOLD_CODE = Column("household_code", "Mã hộ", _code(40), aliases=("Số hộ",))
ID_NUMBER = _optional("id_number", "Số định danh cá nhân", _id_number, "Số CCCD", "CCCD", "Số định danh")


@dataclass
class Line:
    """One data row of the file: its spreadsheet row number (the header is row 1) and its converted cells.

    A key is missing from ``values`` when its cell is empty or invalid; invalid ones are also in ``bad``.
    """

    number: int
    values: dict[str, Any]
    bad: set[str] = field(default_factory=set)

    def get(self, key: str) -> Any:
        return self.values.get(key)


# --- reading files -------------------------------------------------------------------------------------------


def _match_headers(header: list[Any], layout: tuple[Column, ...], report: _Report) -> tuple[dict[str, int], list[str]]:
    """The cell index of each column of ``layout`` found in the header row, and the headers matching none."""
    by_name = {_key(name): column for column in layout for name in column.names}
    found: dict[str, int] = {}
    ignored: list[str] = []
    for index, cell in enumerate(header):
        if cell is None:
            continue
        text = _as_text(cell)
        column = by_name.get(_key(text))
        if column is None:
            ignored.append(text)
        elif column.key in found:
            report.add(1, column.key, "duplicate_column", key=column.key, vi=column.vi)
        else:
            found[column.key] = index
            report.headers[column.key] = text
            report.positions[column.key] = index
    for column in layout:
        if column.required and column.key not in found:
            report.add(1, column.key, "missing_column", key=column.key, vi=column.vi)
    return found, ignored


def _convert(number: int, cells: list[Any], columns: dict[str, tuple[Column, int]], report: _Report) -> Line:
    line = Line(number, {})
    for key, (column, index) in columns.items():
        raw = cells[index] if index < len(cells) else None
        if raw is None:
            if column.required:
                report.add(number, key, "required")
                line.bad.add(key)
            continue
        try:
            line.values[key] = column.parse(raw)
        except _Invalid as exc:
            report.add(number, key, exc.code, **exc.params)
            line.bad.add(key)
    return line


# --- look-ups ------------------------------------------------------------------------------------------------


def _fetch_in(stmt: Select[Any], column: Any, values: Collection[Any]) -> list[Any]:
    """The rows of ``stmt`` where ``column`` is one of ``values``: one statement per ``IN_CHUNK`` values."""
    ordered = sorted(values)
    rows: list[Any] = []
    for start in range(0, len(ordered), IN_CHUNK):
        rows.extend(db.session.execute(stmt.where(column.in_(ordered[start : start + IN_CHUNK]))).all())
    return rows


@dataclass(frozen=True)
class Scope:
    """The unit a job imports into; every row must fall inside its subtree."""

    id: int
    path: str
    name: str


class UnitRef(NamedTuple):
    id: int
    code: str
    level: str
    name: str
    path: str
    in_scope: bool
    valid_from: date | None
    area_class: str


def _current_units(scope: Scope, levels: Collection[str], codes: Collection[str]) -> list[UnitRef]:
    """Current units of ``levels`` with ``codes``, anywhere, each saying whether it lies in ``scope``."""
    stmt = select(
        AdminUnit.id,
        AdminUnit.code,
        AdminUnit.level,
        AdminUnit.name,
        AdminUnit.path,
        subtree(AdminUnit.path, scope.path).label("in_scope"),
        AdminUnit.valid_from,
        AdminUnit.area_class,
    ).where(AdminUnit.level.in_(levels), AdminUnit.valid_to.is_(None))
    return [
        UnitRef(row.id, row.code, row.level, row.name, row.path, bool(row.in_scope), row.valid_from, row.area_class)
        for row in _fetch_in(stmt, AdminUnit.code, codes)
    ]


class _UnitResolver:
    """Resolves the unit codes of a column to current units inside the scope, reporting the ones that are not."""

    def __init__(self, scope: Scope, report: _Report, levels: tuple[str, ...], what: str) -> None:
        self.scope, self.report, self.levels, self.what = scope, report, levels, what
        self.units: dict[str, list[UnitRef]] = {}

    def load(self, lines: list[Line], key: str) -> None:
        self.load_codes({line.get(key) for line in lines} - {None})

    def load_codes(self, codes: Collection[str]) -> None:
        for unit in _current_units(self.scope, self.levels, codes):
            self.units.setdefault(unit.code, []).append(unit)

    def resolve(self, line: Line, key: str) -> UnitRef | None:
        code = line.get(key)
        return None if code is None else self.resolve_code(line.number, key, code)

    def resolve_code(self, row: int, key: str, code: str) -> UnitRef | None:
        found = self.units.get(code, [])
        if not found:
            self.report.add(row, key, f"unknown_{self.what}", code=code)
            return None
        if len(found) > 1:
            self.report.add(row, key, "ambiguous_unit", code=code)
            return None
        if not found[0].in_scope:
            self.report.add(row, key, f"{self.what}_out_of_scope", code=code, unit=self.scope.name)
            return None
        return found[0]


@dataclass(frozen=True)
class PersonColumns:
    """The columns that name an existing person: an ID number, or name, birth date, village and household."""

    id_number: str
    full_name: str
    birth_date: str
    village_code: str
    household_code: str

    def message_params(self, report: _Report) -> dict[str, str]:
        return {
            name: report.headers.get(key, key)
            for name, key in (
                ("id_key", self.id_number),
                ("name_key", self.full_name),
                ("village_key", self.village_code),
                ("household_key", self.household_code),
            )
        }


class _PersonFinder:
    """Finds the existing persons, inside the scope, that rows name (two queries for the whole file)."""

    def __init__(self, scope: Scope, report: _Report, columns: PersonColumns) -> None:
        self.scope, self.report, self.columns = scope, report, columns
        self.by_hash: dict[str, int] = {}
        self.by_key: dict[tuple[str, str, str, date | None], list[int]] = defaultdict(list)
        # The same, by year of birth: (village, household, name, year) → (person, birth date, only the year known).
        self.by_year: dict[tuple[str, str, str, int], list[tuple[int, date, bool]]] = defaultdict(list)

    def load(self, lines: list[Line]) -> None:
        c = self.columns
        hashes = {line.get(c.id_number).hash for line in lines if line.get(c.id_number)}
        home = aliased(AdminUnit)
        by_hash = (
            select(Person.id_number_hash, Person.id)
            .join(home, home.id == Person.unit_id)
            .where(subtree(home.path, self.scope.path))
        )
        self.by_hash = dict(_fetch_in(by_hash, Person.id_number_hash, hashes))
        village_codes = {line.get(c.village_code) for line in lines if line.get(c.full_name)} - {None}
        village = aliased(AdminUnit)
        by_key = (
            select(
                village.code, Household.code, Person.name_folded, Person.birth_date, Person.id, Person.birth_year_only
            )
            .join(Household, Household.id == Person.household_id)
            .join(village, village.id == Household.village_id)
            .where(
                village.level == UnitLevel.VILLAGE, village.valid_to.is_(None), subtree(village.path, self.scope.path)
            )
            .order_by(Person.id)
        )
        # Only the namesakes of the file's rows, in the villages they name: bounded by the file, not the villages.
        names = {fold(line.get(c.full_name)) for line in lines if line.get(c.full_name)}
        by_key = by_key.where(village.code.in_(sorted(village_codes))) if village_codes else by_key.where(false())
        for village_code, household_code, name_folded, birth_date, person_id, year_only in _fetch_in(
            by_key, Person.name_folded, names
        ):
            self.by_key[(village_code, household_code, name_folded, birth_date)].append(person_id)
            if birth_date is not None:
                key = (village_code, household_code, name_folded, birth_date.year)
                self.by_year[key].append((person_id, birth_date, year_only))

    @property
    def found(self) -> set[int]:
        """Every person the rows may name (after :meth:`load`)."""
        return set(self.by_hash.values()) | {pid for ids in self.by_key.values() for pid in ids}

    def wanted(self, line: Line) -> bool:
        """Whether the row names a person at all (organisation rows without a member do not)."""
        c = self.columns
        return any(
            line.get(key) is not None or key in line.bad
            for key in (c.id_number, c.full_name, c.birth_date, c.village_code, c.household_code)
        )

    def find(self, line: Line) -> int | None:
        c = self.columns
        if line.bad.intersection((c.id_number, c.full_name, c.birth_date, c.village_code, c.household_code)):
            return None  # already reported
        id_number: IdNumber | None = line.get(c.id_number)
        if id_number is not None:
            person_id = self.by_hash.get(id_number.hash)
            if person_id is None:
                self.report.add(line.number, c.id_number, "person_not_found_by_id", unit=self.scope.name)
            return person_id
        name, village_code, household_code = (line.get(k) for k in (c.full_name, c.village_code, c.household_code))
        if name is None or village_code is None or household_code is None:
            self.report.add(line.number, c.id_number, "person_identity", **self.columns.message_params(self.report))
            return None
        birth: date | None = line.get(c.birth_date)
        if birth is None:
            found = self.by_key.get((village_code, household_code, fold(name), birth), [])
        else:  # the year alone names whoever was born that year; a whole date, that day or that year alone
            born_that_year = self.by_year.get((village_code, household_code, fold(name), birth.year), [])
            whole = not isinstance(birth, spreadsheet.BirthYear)
            found = [pid for pid, day, year_only in born_that_year if not whole or year_only or day == birth]
        if len(found) > 1:
            self.report.add(line.number, c.full_name, "ambiguous_person", count=len(found))
            return None
        if not found:
            self.report.add(
                line.number,
                c.full_name,
                "person_not_found",
                name=name,
                household=household_code,
                village=village_code,
                birth=_birth_shown(birth) if birth else _l("(no date)"),
            )
            return None
        return found[0]


# --- applying ------------------------------------------------------------------------------------------------


def _write(model: type, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
    """Bulk INSERT of new rows and bulk UPDATE by primary key of changed ones: one statement each.

    SQLAlchemy sends one batch per run of rows with the same keys, so every dictionary of a list must have the
    same keys; ``render_nulls`` keeps None values as NULLs instead of dropping their keys, which would split
    rows with and without, say, an ID number into alternating batches of one.
    """
    if inserts:
        db.session.execute(insert(model).execution_options(render_nulls=True), inserts)
    if updates:
        db.session.execute(update(model), updates)


def _name_columns(name: str, *, person: bool = False) -> dict[str, str]:
    """The name and the derived keys the ``_Named`` validator fills on ORM writes (bulk writes bypass it)."""
    name, folded, sort_key = name_keys(name, person=person)
    return {"full_name" if person else "name": name, "name_folded": folded, "sort_key": sort_key}


def _first_row(seen: dict[Any, int], key: Any, line: Line) -> int | None:
    """The row where ``key`` was first seen, if another one; remembers ``line`` otherwise."""
    first = seen.setdefault(key, line.number)
    return first if first != line.number else None


# --- the four layouts ----------------------------------------------------------------------------------------


class _Layout(ABC):
    """A kind of file: its columns, how its rows are checked against the database, and how they are applied.

    ``take`` receives each converted row as the file is read (no query); ``resolve`` then checks them all
    against the database, once, inside the province's lock when the import applies. By default ``take`` keeps
    the rows and ``resolve`` runs ``prepare``, which loads what the rows refer to (a few queries for the whole
    file), and ``check`` on each row (no query). Only when no row had an error, ``plan`` works out every write
    (recording it in the preview) without writing, and ``write`` makes them, a few set-based statements per table.
    """

    columns: ClassVar[tuple[Column, ...]]
    entities: ClassVar[tuple[str, ...]]  # what it writes, as the summary and the preview count them

    def __init__(self, scope: Scope, report: _Report, job_id: int) -> None:
        self.scope, self.report, self.job_id = scope, report, job_id
        # Rows giving an ID number that another person holds: (row, holder's id). Reported, rate-limited and
        # audited for the whole file at once (_refuse_id_numbers), as the person form does for one number.
        self.refused_id_numbers: list[tuple[int, int]] = []
        self.sets_id_numbers = False
        self.lines: list[Line] = []
        self.read = False  # every row of the file was taken

    def check_headers(self, found: Collection[str]) -> None:  # noqa: B027 - optional hook; most layouts need none
        """Header rules beyond the required columns; ``found`` holds the keys of the columns present."""

    def take(self, line: Line) -> None:
        self.lines.append(line)

    def resolve(self) -> None:
        self.prepare(self.lines)
        for line in self.lines:
            self.check(line)

    def prepare(self, lines: list[Line]) -> None:  # noqa: B027 - the default resolve's hook
        """Load what ``lines`` refer to, for :meth:`check`."""

    def check(self, line: Line) -> None:  # noqa: B027 - the default resolve's hook
        """Check one row against what :meth:`prepare` loaded."""

    @abstractmethod
    def plan(self, preview: Preview) -> None: ...

    @abstractmethod
    def write(self) -> None: ...

    def registry_units(self) -> set[int]:
        """The villages and communes whose registry :meth:`write` may change: announced with the write, so what is
        derived from them is derived again (ADR 41). None by default (a file of association officers)."""
        return set()

    def registry_rows(self) -> dict[str, set[int]]:
        """The stored persons and households :meth:`write` changes, which organisations and clans of other communes
        may count (ADR 41)."""
        return {}


class _ExistingVillage(NamedTuple):
    id: int
    parent_id: int
    kind: str
    name: str
    commune: str


# Words that name the kind of a village when they begin its name ("Thôn Hòa Bình" → kind "Thôn").
VILLAGE_KINDS = ("Tổ dân phố", "Thôn", "Làng", "Bản", "Buôn", "Xóm", "Ấp", "Khối", "Tổ")


def split_village_name(text: str) -> tuple[str, str]:
    """(kind, name) of a village as the hierarchy stores it, like the reference data: "Làng Kon Klor" →
    ("Làng", "Kon Klor"); a name without a kind word keeps an empty kind."""
    words = text.split()
    for kind in VILLAGE_KINDS:
        size = len(kind.split())
        if len(words) > size and _key(" ".join(words[:size])) == _key(kind):
            return " ".join(words[:size]), " ".join(words[size:])
    return "", text


class _Villages(_Layout):
    entities = ("villages",)
    columns = (COMMUNE_CODE, VILLAGE_CODE, Column("village_name", "Tên thôn", _text(200)))

    def __init__(self, scope: Scope, report: _Report, job_id: int) -> None:
        super().__init__(scope, report, job_id)
        self.communes = _UnitResolver(scope, report, (UnitLevel.COMMUNE,), "commune")
        self.existing: dict[str, _ExistingVillage] = {}
        self.seen: dict[str, int] = {}
        self.wanted: dict[str, tuple[UnitRef, str, str, int]] = {}  # village code → (commune, kind, name, row)
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.parent_paths: dict[str, str] = {}  # temporary path → path of the commune

    def prepare(self, lines: list[Line]) -> None:
        self.communes.load(lines, "commune_code")
        parent = aliased(AdminUnit)
        stmt = (
            select(
                AdminUnit.code,
                AdminUnit.id,
                AdminUnit.parent_id,
                AdminUnit.kind,
                AdminUnit.name,
                parent.kind + " " + parent.name,
            )
            .join(parent, parent.id == AdminUnit.parent_id)
            .where(AdminUnit.level == UnitLevel.VILLAGE, AdminUnit.valid_to.is_(None))
        )
        codes = {line.get("village_code") for line in lines} - {None}
        self.existing = {row[0]: _ExistingVillage(*row[1:]) for row in _fetch_in(stmt, AdminUnit.code, codes)}

    def check(self, line: Line) -> None:
        commune = self.communes.resolve(line, "commune_code")
        code = line.get("village_code")
        if code is None:
            return
        if (other := _first_row(self.seen, code, line)) is not None:
            self.report.add(line.number, "village_code", "duplicate_village", code=code, other=other)
            return
        existing = self.existing.get(code)
        if existing is not None and commune is not None and existing.parent_id != commune.id:
            self.report.add(
                line.number, "village_code", "village_in_other_commune", code=code, commune=existing.commune.strip()
            )
        elif commune is not None and line.get("village_name") is not None:
            self.wanted[code] = (commune, *split_village_name(line.get("village_name")), line.number)

    def plan(self, preview: Preview) -> None:
        for code, (commune, kind, name, row) in self.wanted.items():
            existing = self.existing.get(code)
            label = f"{code}: {kind} {name}".strip()
            if existing is None:
                # The path needs the new id: insert under a unique temporary path, then set it (as
                # services._upsert_units does for the reference units).
                temporary = f"tmp:import:{self.job_id}:{code}"
                self.parent_paths[temporary] = commune.path
                values = {
                    "code": code,
                    "kind": kind,
                    "level": UnitLevel.VILLAGE.value,
                    "parent_id": commune.id,
                    "path": temporary,
                    "valid_from": commune.valid_from,
                    "valid_to": None,
                    "area_class": commune.area_class,
                    **_name_columns(name),
                }
                self.inserts.append(values)
                preview.add("villages", "new", row, label, code, {**values, "path": commune.path})
            elif (existing.kind, existing.name) != (kind, name):
                values = {"id": existing.id, "kind": kind, **_name_columns(name)}
                self.updates.append(values)
                changes = _changes(
                    {"kind": existing.kind, "name": existing.name}, {"kind": kind, "name": name}, ("kind", "name")
                )
                preview.add("villages", "changed", row, label, code, values, changes)
            else:
                preview.add("villages", "unchanged", row, label, code)

    def registry_units(self) -> set[int]:
        return {row["parent_id"] for row in self.inserts} | {row["id"] for row in self.updates}

    def write(self) -> None:
        _write(AdminUnit, self.inserts, self.updates)
        if self.inserts:
            created = _fetch_in(select(AdminUnit.id, AdminUnit.path), AdminUnit.path, self.parent_paths)
            db.session.execute(
                update(AdminUnit),
                [
                    {"id": unit_id, "path": f"{self.parent_paths[temporary]}{unit_id}/"}
                    for unit_id, temporary in created
                ],
            )


# The person columns a households file may set; an empty cell keeps what is stored.
PERSON_FIELDS = ("birth_date", "birth_year_only", "sex", "relation_to_head", "ethnicity", "occupation_group")
# What an import compares to tell an updated person from an unchanged one (the name keys follow full_name).
STORED_PERSON_FIELDS = (*PERSON_FIELDS, "full_name", "id_number_hash", "id_number_encrypted", "id_number_hint")
# What a preview shows of a changed person (the ID number only as "changed", never its digits).
# (the birth date as read: "1948" when only the year is known, so its precision is not a field of its own).
SHOWN_PERSON_FIELDS = ("full_name", *(name for name in PERSON_FIELDS if name != "birth_year_only"), "id_number_hash")
HouseholdKey = tuple[int, str]  # (village id, household code): the natural key of a household


class _FileRow(NamedTuple):
    """What the first pass keeps of one households row: its converted cells and derived keys, no ``Line``."""

    row: int
    village_code: str
    household_code: str
    address: str | None
    full_name: str
    name_folded: str
    sort_key: str
    birth_date: date | None
    birth_year_only: bool | None  # None with no birth date (an empty cell keeps what is stored)
    sex: str | None
    relation_to_head: str | None
    ethnicity: str | None
    occupation_group: str | None
    id_number_hash: str | None
    id_number_encrypted: bytes | None
    id_number_hint: str | None


def _scratch(name: str, *columns: Column_) -> Table:
    """A temporary table of the running transaction (PostgreSQL drops it at the commit; SQLite keeps it for the
    connection, so it is dropped before it is made again)."""
    return Table(name, MetaData(), *columns, prefixes=["TEMPORARY"], postgresql_on_commit="DROP")


# The file's rows, once checked on their own: what the database joins them with. Its columns are the person's.
_person_columns = Person.__table__.c
#: Likely duplicate households named in a preview (the rest counted).
DUPLICATES_NAMED = 5

FILE_ROWS = _scratch(
    "import_household_row",
    Column_("row", Integer, primary_key=True),
    Column_("village_id", Integer, nullable=False),
    Column_("village_code", String(32), nullable=False),
    Column_("household_code", String(40), nullable=False),
    *(
        Column_(name, _person_columns[name].type)
        for name in (
            "full_name",
            "name_folded",
            "sort_key",
            "birth_date",
            "birth_year_only",
            "sex",
            "relation_to_head",
            "ethnicity",
            "occupation_group",
            "id_number_hash",
            "id_number_encrypted",
            "id_number_hint",
        )
    ),
)
# The stored person each row names (rows naming nobody are new persons).
MATCHES = _scratch(
    "import_household_match",
    Column_("row", Integer, primary_key=True),
    Column_("person_id", Integer, nullable=False),
)
SCRATCH_PAGE = 10_000  # rows per INSERT into a scratch table


class _Households(_Layout):
    """A households file, in memory that follows one row and the file's keys, not its rows or the villages.

    The first pass (:meth:`take`) keeps a compact tuple per row and the keys that find duplicates in the file. The
    check against the database (:meth:`resolve`) copies the rows into a temporary table and joins it with the
    households and persons: one statement finds every row's household, ID-number holder and namesakes, whatever
    the villages hold. :meth:`plan` streams the rows with the stored persons they update; :meth:`write` is three
    set-based statements from the temporary table.
    """

    entities = ("households", "persons")
    columns = (
        VILLAGE_CODE,
        HOUSEHOLD_CODE,
        _optional("address", "Địa chỉ", _text(300)),
        Column("full_name", "Họ và tên", _text(200), aliases=("Họ tên",)),
        _optional("birth_date", "Ngày sinh", _birth_date),
        _optional("sex", "Giới tính", SEX),
        _optional("relation_to_head", "Quan hệ với chủ hộ", _text(40)),
        ID_NUMBER,
        _optional("ethnicity", "Dân tộc", _text(60)),
        _optional("occupation_group", "Nhóm nghề nghiệp", OCCUPATION, "Nghề nghiệp"),
    )

    def __init__(self, scope: Scope, report: _Report, job_id: int) -> None:
        super().__init__(scope, report, job_id)
        self.villages = _UnitResolver(scope, report, (UnitLevel.VILLAGE,), "village")
        self.file_rows: list[_FileRow] = []  # until resolve() has them in the database
        # The rows left out for an unreadable ID number or birth date (already reported): their village codes are
        # checked all the same, so one upload lists every error of the file, not the villages on the next one.
        self.unread_villages: list[tuple[int, str]] = []
        self.addresses: dict[tuple[str, str], tuple[int, str]] = {}  # (village, household code) → first row, address
        self.first_rows: dict[tuple[str, str], int] = {}  # each household's first row
        self.seen_ids: dict[str, int] = {}
        self.seen_keys: dict[tuple[str, str, str, date | None], int] = {}
        self.village_ids: dict[str, int] = {}  # the file's village codes, resolved
        self.households: dict[HouseholdKey, tuple[int, str]] = {}  # the existing ones the file names → (id, address)
        self.household_writes: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
        self.new_persons = self.changed_persons = 0
        self.changed_villages: set[int] = set()
        self.changed_persons_ids: set[int] = set()
        self.changed_households: set[int] = set()

    def take(self, line: Line) -> None:
        village, code, name = line.get("village_code"), line.get("household_code"), line.get("full_name")
        if village is None or code is None:
            return
        key = (village, code)
        if (address := line.get("address")) is not None:
            first, first_address = self.addresses.setdefault(key, (line.number, address))
            if first_address != address:
                self.report.add(line.number, "address", "conflict", other=first, entity=_l("household"))
        if name is None or line.bad.intersection(("id_number", "birth_date")):
            self.unread_villages.append((line.number, village))
            return
        names = _name_columns(name, person=True)
        birth: date | None = line.get("birth_date")
        id_number: IdNumber | None = line.get("id_number")
        # Every row's natural key is remembered, with or without an ID number: "A, 1980, 0620…" and "A, 1980, (no
        # number)" in one household are one person written twice, not two people.
        if (other := _first_row(self.seen_keys, (village, code, names["name_folded"], birth), line)) is not None:
            self.report.add(line.number, "full_name", "duplicate_person", other=other)
            return
        if id_number is not None and (other := _first_row(self.seen_ids, id_number.hash, line)) is not None:
            self.report.add(line.number, "id_number", "duplicate_id_number", other=other)
            return
        self.first_rows.setdefault(key, line.number)
        protected = protected_fields(id_number.number) if id_number is not None else {}
        self.file_rows.append(
            _FileRow(
                line.number,
                village,
                code,
                address,
                names["full_name"],
                names["name_folded"],
                names["sort_key"],
                birth,
                None if birth is None else isinstance(birth, spreadsheet.BirthYear),
                *(line.get(name) for name in ("sex", "relation_to_head", "ethnicity", "occupation_group")),
                *(protected.get(name) for name in ("id_number_hash", "id_number_encrypted", "id_number_hint")),
            )
        )

    def resolve(self) -> None:
        self.sets_id_numbers = any(row.id_number_hash for row in self.file_rows)
        self.villages.load_codes({row.village_code for row in self.file_rows} | {c for _, c in self.unread_villages})
        for number, code in self.unread_villages:
            self.villages.resolve_code(number, "village_code", code)
        for table in (FILE_ROWS, MATCHES):
            connection = db.session.connection()
            table.drop(connection, checkfirst=True)
            table.create(connection)
        page: list[dict[str, Any]] = []
        for file_row in self.file_rows:
            village = self.villages.resolve_code(file_row.row, "village_code", file_row.village_code)
            if village is None:
                continue
            self.village_ids[file_row.village_code] = village.id
            page.append({**file_row._asdict(), "village_id": village.id})
            if len(page) == SCRATCH_PAGE:
                _insert_page(FILE_ROWS, page)
        _insert_page(FILE_ROWS, page)
        self.file_rows = []  # from here on, the rows are in the database
        self._load_households()
        self._match()

    def _load_households(self) -> None:
        """The stored households the file names (bounded by the file's households, not by the villages')."""
        keys = select(FILE_ROWS.c.village_id, FILE_ROWS.c.household_code).distinct().subquery()
        stmt = select(Household.village_id, Household.code, Household.id, Household.address).join(
            keys, and_(keys.c.village_id == Household.village_id, keys.c.household_code == Household.code)
        )
        self.households = {(v, c): (i, a) for v, c, i, a in db.session.execute(stmt)}

    def _match(self) -> None:
        """Which stored person each row names: the holder of its ID number, else the first unclaimed member of the
        same household with the same name (diacritics ignored) and birth date — the same date first, then the same
        year where either side gives only the year, then a member whose birth date one side does not know (a
        register completed with the dates it lacked names the people it holds, not new namesakes). One streamed
        join for the file."""
        t, holder, namesake = FILE_ROWS.c, aliased(Person), aliased(Person)
        known = and_(namesake.birth_date.is_not(None), t.birth_date.is_not(None))
        closeness = case((namesake.birth_date.is_not_distinct_from(t.birth_date), 0), (known, 1), else_=2)
        stmt = (
            select(
                t.row,
                t.id_number_hash,
                Household.id,
                holder.id,
                holder.household_id,
                namesake.id,
                namesake.id_number_hash,
            )
            .select_from(FILE_ROWS)
            .outerjoin(Household, and_(Household.village_id == t.village_id, Household.code == t.household_code))
            .outerjoin(holder, holder.id_number_hash == t.id_number_hash)
            .outerjoin(
                namesake,
                and_(
                    namesake.household_id == Household.id,
                    namesake.name_folded == t.name_folded,
                    or_(_same_birth(namesake, t), ~known),
                ),
            )
            .order_by(t.row, closeness, namesake.id)
        )
        claimed: dict[int, int] = {}  # stored person → the row that names it
        page: list[dict[str, Any]] = []
        result = db.session.execute(stmt.execution_options(yield_per=SCRATCH_PAGE))
        for row, group in groupby(result, key=lambda r: r[0]):
            records = list(group)
            id_hash, household_id, holder_id, holder_household = records[0][1:5]
            candidates = [(r[5], r[6]) for r in records]
            person_id = self._match_row(row, id_hash, household_id, holder_id, holder_household, candidates, claimed)
            if person_id is not None:
                page.append({"row": row, "person_id": person_id})
                if len(page) == SCRATCH_PAGE:
                    _insert_page(MATCHES, page)
        _insert_page(MATCHES, page)

    def _match_row(
        self,
        row: int,
        id_hash: str | None,
        household_id: int | None,
        holder_id: int | None,
        holder_household: int | None,
        candidates: list[tuple[int | None, str | None]],
        claimed: dict[int, int],
    ) -> int | None:
        if holder_id is not None and (household_id is None or holder_household != household_id):
            self.refused_id_numbers.append((row, holder_id))
            return None
        if holder_id is not None:
            person_id: int | None = holder_id
        else:
            # A new ID number may complete a person recorded without one, never replace another number.
            ids = [p for p, h in candidates if p is not None and (id_hash is None or h is None) and p not in claimed]
            person_id = ids[0] if ids else None  # the closest birth date (the candidates come in that order)
        if person_id is None:
            return None
        if (other := claimed.setdefault(person_id, row)) != row:
            self.report.add(row, "full_name", "duplicate_person", other=other)
            return None
        return person_id

    def plan(self, preview: Preview) -> None:
        now = utcnow()
        inserts, updates = self.household_writes
        for key, first in sorted(self.first_rows.items(), key=lambda item: item[1]):
            village_id = self.village_ids.get(key[0])
            if village_id is None:
                continue
            stored_key = (village_id, key[1])
            address = self.addresses[key][1] if key in self.addresses else None
            label = f"{key[0]}/{key[1]}"
            stored = self.households.get(stored_key)
            if stored is None:
                values = {"village_id": village_id, "code": key[1], "address": address or "", "created_at": now}
                inserts.append({**values, "updated_at": now})
                preview.add("households", "new", first, label, stored_key, values)
            elif address is not None and address != stored[1]:
                values = {"id": stored[0], "address": address, "updated_at": now}
                updates.append(values)
                changes = [{"field": "address", "old": stored[1], "new": address}]
                preview.add("households", "changed", first, label, stored_key, values, changes)
            else:
                preview.add("households", "unchanged", first, label, stored_key)
        self._plan_persons(preview)
        self._likely_duplicates(preview)
        self._erased_again(preview)

    def _likely_duplicates(self, preview: Preview) -> None:
        """New households one of whose people already lives in another household of the same village, under the same
        name and birth date: most likely that household under another number (a village's list numbers it "0001",
        the register holds "23500-01-0001"). Said in the preview, not refused: two namesakes born the same day do
        exist. One statement; the first few named, all counted."""
        t, stored, household, person = FILE_ROWS.c, aliased(Household), aliased(Household), aliased(Person)
        found = db.session.execute(
            select(t.row, t.full_name, t.village_code, t.household_code, household.code)
            .select_from(FILE_ROWS)
            .outerjoin(stored, and_(stored.village_id == t.village_id, stored.code == t.household_code))
            .join(
                person,
                and_(
                    person.name_folded == t.name_folded,
                    _same_birth(person, t),
                    person.unit_id == t.village_id,
                ),
            )
            .join(household, household.id == person.household_id)
            .where(stored.id.is_(None), household.code != t.household_code)
            .order_by(t.row)
        ).all()
        for row, name, village, code, other in found[:DUPLICATES_NAMED]:
            preview.warnings.append(
                gettext(
                    "Row %(row)s: %(name)s of the new household %(village)s/%(code)s already lives in household "
                    "%(other)s of this village. If it is the same household, write its number as the register "
                    "holds it (%(other)s); otherwise check the name and birth date.",
                    row=row,
                    name=name,
                    village=village,
                    code=code,
                    other=other,
                )
            )
        _more_like_these(preview, len(found))

    def _erased_again(self, preview: Preview) -> None:
        """New persons of a stored household that holds a person whose data was erased at their request (ADR 57),
        born the same year and of the same sex: most likely that person, whom the import would record again, named,
        and count twice. Said in the preview, not refused (a new baby of the same year does exist). One statement;
        the first few named, all counted."""
        t, m, household, erased = FILE_ROWS.c, MATCHES.c, aliased(Household), aliased(Person)
        found = db.session.execute(
            select(t.row, t.full_name, t.village_code, t.household_code, extract("year", erased.birth_date))
            .select_from(FILE_ROWS)
            .outerjoin(MATCHES, m.row == t.row)
            .join(household, and_(household.village_id == t.village_id, household.code == t.household_code))
            .join(
                erased,
                and_(
                    erased.household_id == household.id,
                    erased.erased_at.is_not(None),
                    _same_birth(erased, t),
                    or_(erased.sex.is_(None), t.sex.is_(None), erased.sex == t.sex),
                ),
            )
            .where(m.person_id.is_(None))
            .order_by(t.row)
        ).all()
        for row, name, village, code, year in found[:DUPLICATES_NAMED]:
            preview.warnings.append(
                gettext(
                    "Row %(row)s: %(name)s would be new in household %(village)s/%(code)s, which holds a person born "
                    "in %(year)s whose personal data was erased at their request. If it is that person, take the row "
                    "out of the file: importing it records them again, named, and counts them twice.",
                    row=row,
                    name=name,
                    village=village,
                    code=code,
                    year=int(year) if year is not None else "—",
                )
            )
        _more_like_these(preview, len(found))

    def _plan_persons(self, preview: Preview) -> None:
        t, m = FILE_ROWS.c, MATCHES.c
        stored = [getattr(Person, name) for name in STORED_PERSON_FIELDS]
        stmt = (
            select(FILE_ROWS, Person.id, *stored)
            .outerjoin(MATCHES, m.row == t.row)
            .outerjoin(Person, Person.id == m.person_id)
            .order_by(t.row)
        )
        width = len(FILE_ROWS.c)
        for record in db.session.execute(stmt.execution_options(yield_per=SCRATCH_PAGE)):
            given = record._mapping
            existing = dict(zip(STORED_PERSON_FIELDS, record[width + 1 :], strict=True)) if record[width] else None
            values = _person_values(given, existing)
            key = (given["village_id"], given["household_code"])
            label = f"{values['full_name']} ({given['village_code']}/{key[1]})"
            if existing is None or _changed(values, existing):
                self.changed_villages.add(key[0])
                if existing is not None:  # organisations and clans elsewhere may count this person
                    self.changed_persons_ids.add(record[width])
                if (stored_household := self.households.get(key)) is not None:  # and clans elsewhere, its household
                    self.changed_households.add(stored_household[0])
            if existing is None:
                self.new_persons += 1
                planned = {**values, "household_key": list(key), "unit_id": key[0], "phone": None}
                preview.add("persons", "new", given["row"], label, [list(key), given["row"]], planned)
            elif _changed(values, existing):
                self.changed_persons += 1
                person_id = record[width]
                preview.add(
                    "persons",
                    "changed",
                    given["row"],
                    label,
                    person_id,
                    {**values, "id": person_id},
                    _changes(_as_read(existing), _as_read(values), SHOWN_PERSON_FIELDS),
                )
            else:
                preview.add("persons", "unchanged", given["row"], label, record[width])

    def registry_units(self) -> set[int]:  # villages with new households, new or changed persons
        return self.changed_villages | {row["village_id"] for row in self.household_writes[0]}

    def registry_rows(self) -> dict[str, set[int]]:
        return {"persons": self.changed_persons_ids, "households": self.changed_households}

    def write(self) -> None:
        _write(Household, *self.household_writes)
        now = utcnow()
        t, m = FILE_ROWS.c, MATCHES.c
        if self.new_persons:
            new = (
                select(
                    *(t[name] for name in ("full_name", "name_folded", "sort_key", "birth_date", "sex")),
                    func.coalesce(t.birth_year_only, false()),
                    t.relation_to_head,
                    t.ethnicity,
                    func.coalesce(t.occupation_group, OccupationGroup.OTHER.value),
                    t.id_number_hash,
                    t.id_number_encrypted,
                    t.id_number_hint,
                    Household.id,
                    t.village_id,
                    literal(now, Person.created_at.type),
                    literal(now, Person.updated_at.type),
                )
                .join(Household, and_(Household.village_id == t.village_id, Household.code == t.household_code))
                .outerjoin(MATCHES, m.row == t.row)
                .where(m.person_id.is_(None))
                .order_by(t.row)
            )
            target = [
                *("full_name", "name_folded", "sort_key", "birth_date", "sex", "birth_year_only"),
                *("relation_to_head", "ethnicity", "occupation_group"),
                *("id_number_hash", "id_number_encrypted", "id_number_hint"),
                *("household_id", "unit_id", "created_at", "updated_at"),
            ]
            db.session.execute(insert(Person).from_select(target, new))
        if self.changed_persons:
            values = _stored_values()
            db.session.execute(
                update(Person)
                .where(Person.id == m.person_id, m.row == t.row)
                .where(or_(*(values[name].is_distinct_from(getattr(Person, name)) for name in CHANGED_BY)))
                .values(**values, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        for table in (MATCHES, FILE_ROWS):
            table.drop(db.session.connection())


# What tells an updated person from an unchanged one (the ciphertext and hint follow the hash).
CHANGED_BY = ("full_name", *PERSON_FIELDS, "id_number_hash")


def _insert_page(table: Table, page: list[dict[str, Any]]) -> None:
    """Send ``page`` to a scratch table and empty it: by COPY on PostgreSQL (a multi-row INSERT of 10,000 rows
    costs the server ~4× more, parsing it)."""
    copy_rows(table, page)
    page.clear()


def _person_values(given: Any, existing: dict[str, Any] | None) -> dict[str, Any]:
    """The stored person columns after applying a file row (``given``: its converted cells and derived name keys)
    to ``existing`` (or to nothing, for a new person). An empty cell keeps the stored value; a new ID number brings
    its own ciphertext and hint. :func:`_stored_values` says the same in SQL, for the write."""
    values = {name: existing[name] if existing else None for name in STORED_PERSON_FIELDS}
    values.update({name: given[name] for name in PERSON_FIELDS if given[name] is not None})
    if existing and _keeps_the_day(given["birth_year_only"], given["birth_date"], existing):
        values["birth_date"], values["birth_year_only"] = existing["birth_date"], False
    values["birth_year_only"] = bool(values["birth_year_only"])
    values["occupation_group"] = values["occupation_group"] or OccupationGroup.OTHER.value
    values.update({name: given[name] for name in ("full_name", "name_folded", "sort_key")})
    if given["id_number_hash"] is not None and values["id_number_hash"] != given["id_number_hash"]:
        values.update({name: given[name] for name in ("id_number_hash", "id_number_encrypted", "id_number_hint")})
    return values


def _stored_values() -> dict[str, Any]:
    """:func:`_person_values` as SQL over FILE_ROWS and the person it updates (both joined by the UPDATE)."""
    t = FILE_ROWS.c
    new_number = and_(t.id_number_hash.is_not(None), t.id_number_hash.is_distinct_from(Person.id_number_hash))
    values: dict[str, Any] = {name: func.coalesce(t[name], getattr(Person, name)) for name in PERSON_FIELDS}
    # The year alone of a person whose whole birth date is stored, in that year, keeps the day (nothing lost).
    keeps_day = and_(
        t.birth_year_only.is_(True),
        Person.birth_year_only.is_(False),
        Person.birth_date.is_not(None),
        extract("year", Person.birth_date) == extract("year", t.birth_date),
    )
    values["birth_date"] = case((keeps_day, Person.birth_date), else_=values["birth_date"])
    values["birth_year_only"] = case((keeps_day, false()), else_=values["birth_year_only"])
    values.update({name: t[name] for name in ("full_name", "name_folded", "sort_key")})
    for name in ("id_number_hash", "id_number_encrypted", "id_number_hint"):
        values[name] = case((new_number, t[name]), else_=getattr(Person, name))
    return values


def _as_read(values: dict[str, Any]) -> dict[str, Any]:
    """A person's columns with the birth date as a reader sees it (``1948`` when only the year is known)."""
    born = values["birth_date"]
    if born is not None and values["birth_year_only"]:
        return {**values, "birth_date": str(born.year)}
    return values


def _keeps_the_day(year_only: bool | None, given: date | None, existing: dict[str, Any]) -> bool:
    """A row giving only the year of a person whose whole birth date, in that year, is stored: the day stays."""
    stored = existing["birth_date"]
    return bool(year_only and given and stored and not existing["birth_year_only"] and stored.year == given.year)


def _more_like_these(preview: Preview, found: int) -> None:
    """A preview's warnings name the first ``DUPLICATES_NAMED`` rows of a kind; the rest are counted."""
    if found > DUPLICATES_NAMED:
        preview.warnings.append(
            ngettext("and %(num)s more row like these.", "and %(num)s more rows like these.", found - DUPLICATES_NAMED)
        )


def _same_birth(stored: Any, t: Any) -> ColumnElement[bool]:
    """A row's birth date names a stored person's: the same date, or the same year where either gives only the
    year ("1948" in the file for a person recorded born 12/05/1948, or the other way round)."""
    return or_(
        stored.birth_date.is_not_distinct_from(t.birth_date),
        and_(
            or_(t.birth_year_only.is_(True), stored.birth_year_only.is_(True)),
            extract("year", stored.birth_date) == extract("year", t.birth_date),
        ),
    )


def _changed(values: dict[str, Any], existing: dict[str, Any]) -> bool:
    return any(values[name] != existing[name] for name in CHANGED_BY)


class _ExistingOrganisation(NamedTuple):
    id: int
    name: str
    kind: str
    managing_level: str


MEMBER = PersonColumns(
    "member_id_number", "member_full_name", "member_birth_date", "member_village_code", "member_household_code"
)
OrganisationKey = tuple[int, str]  # (commune id, organisation code)


class _Organisations(_Layout):
    entities = ("organisations", "members")
    columns = (
        COMMUNE_CODE,
        Column("organisation_code", "Mã đơn vị", _code(40)),
        Column("organisation_name", "Tên đơn vị", _text(300)),
        Column("kind", "Loại hình", ORGANISATION_KIND),
        Column("managing_level", "Cấp quản lý", MANAGING_LEVEL),
        _optional(MEMBER.id_number, "Số định danh thành viên", _id_number),
        _optional(MEMBER.full_name, "Họ tên thành viên", _text(200)),
        _optional(MEMBER.birth_date, "Ngày sinh thành viên", _birth_date),
        _optional(MEMBER.village_code, "Mã thôn thành viên", _code(32)),
        _optional(MEMBER.household_code, "Mã hộ thành viên", _code(40)),
        _optional("position", "Chức vụ", _text(120)),
    )
    FIELDS = ("organisation_name", "kind", "managing_level")

    def __init__(self, scope: Scope, report: _Report, job_id: int) -> None:
        super().__init__(scope, report, job_id)
        self.communes = _UnitResolver(scope, report, (UnitLevel.COMMUNE,), "commune")
        self.members = _PersonFinder(scope, report, MEMBER)
        self.existing: dict[OrganisationKey, _ExistingOrganisation] = {}
        self.memberships: dict[tuple[int, int], tuple[int, str]] = {}  # (org id, person id) → (id, position)
        self.organisations: dict[OrganisationKey, tuple[int, dict[str, str]]] = {}  # → (first row, fields)
        self.wanted_members: dict[tuple[OrganisationKey, int], tuple[int, str | None]] = {}  # → (row, position)
        self.member_labels: dict[tuple[OrganisationKey, int], str] = {}
        self.organisation_writes: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])
        self.member_writes: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])

    def prepare(self, lines: list[Line]) -> None:
        self.communes.load(lines, "commune_code")
        self.members.load(lines)
        commune_ids = {u.id for units in self.communes.units.values() for u in units if u.in_scope}
        stmt = select(
            Organisation.commune_id,
            Organisation.code,
            Organisation.id,
            Organisation.name,
            Organisation.kind,
            Organisation.managing_level,
        )
        self.existing = {
            (row[0], row[1]): _ExistingOrganisation(*row[2:])
            for row in _fetch_in(stmt, Organisation.commune_id, commune_ids)
        }
        members = select(
            OrganisationMember.organisation_id,
            OrganisationMember.person_id,
            OrganisationMember.id,
            OrganisationMember.position,
        ).join(Organisation, Organisation.id == OrganisationMember.organisation_id)
        # Only the memberships of the persons the file names, not every member of the communes' organisations.
        members = members.where(Organisation.commune_id.in_(sorted(commune_ids)))
        self.memberships = {
            (o, p): (i, pos) for o, p, i, pos in _fetch_in(members, OrganisationMember.person_id, self.members.found)
        }

    def check(self, line: Line) -> None:
        commune = self.communes.resolve(line, "commune_code")
        person_id = self.members.find(line) if self.members.wanted(line) else None
        code = line.get("organisation_code")
        if commune is None or code is None or line.bad.intersection(self.FIELDS):
            return
        key = (commune.id, code)
        fields = {name: line.get(name) for name in self.FIELDS}
        first, first_fields = self.organisations.setdefault(key, (line.number, fields))
        for name in self.FIELDS:
            if fields[name] != first_fields[name]:
                self.report.add(line.number, name, "conflict", other=first, entity=_l("organisation"))
        if person_id is not None:
            row, _ = self.wanted_members.setdefault((key, person_id), (line.number, line.get("position")))
            self.member_labels.setdefault((key, person_id), f"{code}: {_member_name(line)}")
            if row != line.number:
                self.report.add(
                    line.number,
                    MEMBER.full_name if line.get(MEMBER.full_name) else MEMBER.id_number,
                    "duplicate_member",
                    other=row,
                )

    def plan(self, preview: Preview) -> None:
        inserts, updates = self.organisation_writes
        for key, (row, fields) in self.organisations.items():
            values = {
                "kind": fields["kind"],
                "managing_level": fields["managing_level"],
                **_name_columns(fields["organisation_name"]),
            }
            label = f"{key[1]}: {values['name']}"
            existing = self.existing.get(key)
            if existing is None:
                planned = {"commune_id": key[0], "code": key[1], "address": "", **values}
                inserts.append(planned)
                preview.add("organisations", "new", row, label, key, planned)
            elif (existing.name, existing.kind, existing.managing_level) != (
                values["name"],
                values["kind"],
                values["managing_level"],
            ):
                updates.append({"id": existing.id, **values})
                changes = _changes(existing._asdict(), values, ("name", "kind", "managing_level"))
                preview.add("organisations", "changed", row, label, key, values, changes)
            else:
                preview.add("organisations", "unchanged", row, label, key)
        self._plan_members(preview)

    def _plan_members(self, preview: Preview) -> None:
        inserts, updates = self.member_writes
        for (key, person_id), (row, position) in self.wanted_members.items():
            label = self.member_labels[(key, person_id)]
            organisation = self.existing.get(key)
            existing = self.memberships.get((organisation.id, person_id)) if organisation else None
            if existing is None:
                # A new organisation's id is known only once it is written: ``write`` fills it in from the key.
                planned = {
                    "organisation_key": key,
                    "person_id": person_id,
                    "position": position or "",
                    "started_on": None,
                    "ended_on": None,
                }
                inserts.append(planned)
                preview.add("members", "new", row, label, [key, person_id], planned)
            elif position is not None and position != existing[1]:
                updates.append({"id": existing[0], "position": position})
                changes = [{"field": "position", "old": existing[1], "new": position}]
                preview.add("members", "changed", row, label, existing[0], {"position": position}, changes)
            else:
                preview.add("members", "unchanged", row, label, existing[0])

    def registry_units(self) -> set[int]:  # the communes of new or changed organisations, and of new members
        organisations, members = self.organisation_writes[0], self.member_writes[0]
        updated = {row["id"] for row in self.organisation_writes[1]}
        return (
            {row["commune_id"] for row in organisations}
            | {key[0] for key, existing in self.existing.items() if existing.id in updated}
            | {row["organisation_key"][0] for row in members}
        )

    def write(self) -> None:
        _write(Organisation, *self.organisation_writes)
        ids = {key: existing.id for key, existing in self.existing.items()}
        created = self.organisation_writes[0]
        if created:
            stmt = select(Organisation.commune_id, Organisation.code, Organisation.id)
            ids = {
                (c, code): i
                for c, code, i in _fetch_in(stmt, Organisation.commune_id, {row["commune_id"] for row in created})
            } | ids
        inserts = [
            {
                **{k: v for k, v in row.items() if k != "organisation_key"},
                "organisation_id": ids[row["organisation_key"]],
            }
            for row in self.member_writes[0]
        ]
        _write(OrganisationMember, inserts, self.member_writes[1])


def _member_name(line: Line) -> str:
    """Who a row names, for a preview: the name written, else the ID number with all but its last digits hidden."""
    for key in (MEMBER.full_name, OFFICER.full_name):
        if line.get(key):
            return str(line.get(key))
    for key in (MEMBER.id_number, OFFICER.id_number):
        if line.get(key):
            return "*" * 9 + line.get(key).number[-3:]
    return ""


OFFICER = PersonColumns("id_number", "full_name", "birth_date", "village_code", "household_code")
OfficerKey = tuple[int, int, str, date | None]  # (person, unit, role, started on): natural key of a membership


class _Officers(_Layout):
    entities = ("officers",)
    columns = (
        Column("unit_code", "Mã xã/thôn", _code(32), aliases=("Mã đơn vị hành chính",)),
        ID_NUMBER,
        _optional(OFFICER.full_name, "Họ và tên", _text(200), "Họ tên"),
        _optional(OFFICER.birth_date, "Ngày sinh", _birth_date),
        _optional(OFFICER.village_code, "Mã thôn", _code(32)),
        _optional(OFFICER.household_code, "Mã hộ", _code(40), "Số hộ"),
        Column("role", "Vai trò", ROLE, aliases=("Chức danh",)),
        _optional("started_on", "Ngày bắt đầu", _date),
        _optional("ended_on", "Ngày kết thúc", _date),
    )

    def __init__(self, scope: Scope, report: _Report, job_id: int) -> None:
        super().__init__(scope, report, job_id)
        self.units = _UnitResolver(scope, report, (UnitLevel.COMMUNE, UnitLevel.VILLAGE), "unit")
        self.persons = _PersonFinder(scope, report, OFFICER)
        self.existing: dict[OfficerKey, tuple[int, date | None]] = {}  # key → (id, ended on)
        self.wanted: dict[OfficerKey, tuple[int, date | None]] = {}  # key → (row, ended on)
        self.labels: dict[OfficerKey, str] = {}
        self.writes: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])

    def check_headers(self, found: Collection[str]) -> None:
        by_name = {OFFICER.full_name, OFFICER.village_code, OFFICER.household_code}
        if OFFICER.id_number not in found and not by_name <= set(found):
            self.report.add(1, None, "missing_identity_columns", **OFFICER.message_params(self.report))

    def prepare(self, lines: list[Line]) -> None:
        self.units.load(lines, "unit_code")
        self.persons.load(lines)
        unit_ids = {u.id for units in self.units.units.values() for u in units if u.in_scope}
        m = AssociationMembership
        # Only the memberships of the persons the file names, in the units it names.
        stmt = select(m.person_id, m.unit_id, m.role, m.started_on, m.id, m.ended_on).where(
            m.unit_id.in_(sorted(unit_ids))
        )
        self.existing = {(p, u, r, s): (i, e) for p, u, r, s, i, e in _fetch_in(stmt, m.person_id, self.persons.found)}

    def check(self, line: Line) -> None:
        unit = self.units.resolve(line, "unit_code")
        person_id = self.persons.find(line)
        started, ended = line.get("started_on"), line.get("ended_on")
        if started and ended and ended < started:
            self.report.add(line.number, "ended_on", "ends_before_start")
        if unit is None or person_id is None or line.get("role") is None or "started_on" in line.bad:
            return
        key = (person_id, unit.id, line.get("role"), started)
        row, _ = self.wanted.setdefault(key, (line.number, ended))
        self.labels.setdefault(key, f"{_member_name(line)}: {line.get('role')}, {unit.code}")
        if row != line.number:
            self.report.add(line.number, "role", "duplicate_officer", other=row)

    def plan(self, preview: Preview) -> None:
        inserts, updates = self.writes
        for key, (row, ended) in self.wanted.items():
            person_id, unit_id, role, started = key
            existing = self.existing.get(key)
            if existing is None:
                planned = {
                    "person_id": person_id,
                    "unit_id": unit_id,
                    "role": role,
                    "started_on": started,
                    "ended_on": ended,
                }
                inserts.append(planned)
                preview.add("officers", "new", row, self.labels[key], key, planned)
            elif ended is not None and ended != existing[1]:
                updates.append({"id": existing[0], "ended_on": ended})
                changes = _changes({"ended_on": existing[1]}, {"ended_on": ended}, ("ended_on",))
                preview.add("officers", "changed", row, self.labels[key], existing[0], {"ended_on": ended}, changes)
            else:
                preview.add("officers", "unchanged", row, self.labels[key], existing[0])

    def write(self) -> None:
        _write(AssociationMembership, *self.writes)


LAYOUTS: dict[str, type[_Layout]] = {
    "villages": _Villages,
    "households": _Households,
    "organisations": _Organisations,
    "officers": _Officers,
}


# --- jobs ----------------------------------------------------------------------------------------------------


def _limits() -> spreadsheet.Limits:
    """The reader's limits for a registry file: the settings, this import's row limit, the upload limit and the
    worker's time budget."""
    upload = current_app.config.get("MAX_CONTENT_LENGTH")
    limits = spreadsheet.Limits.from_config(current_app.config["IMPORT_MAX_ROWS"])
    # A worker reads the file, not a waiting page: its own time budget (memory is bounded the same way).
    if job_seconds := current_app.config.get("IMPORT_JOB_MAX_SECONDS"):
        limits = replace(limits, max_seconds=job_seconds)
    return replace(limits, max_bytes=min(limits.max_bytes, upload)) if upload else limits


def _refuse_upload(kind: str, filename: str, content: bytes) -> None:
    """Refuse at once what no worker could use (a wrong type, a bomb), so the user hears about it on the upload
    page and no job keeps such a file."""
    if kind not in LAYOUTS:
        raise ImportRefused(
            _("unknown import kind %(kind)s; expected one of: %(kinds)s", kind=repr(kind), kinds=", ".join(KINDS)),
            field="kind",
        )
    try:
        spreadsheet.check_file(filename, content, _limits())
    except spreadsheet.SpreadsheetError as exc:
        raise ImportRefused(exc.text()) from exc


def create_job(
    *,
    kind: str,
    filename: str,
    content: bytes,
    unit: AdminUnit,
    user: User | None,
    enqueue: bool = True,
    dry_run: bool = False,
) -> ImportJob:
    """Accept an upload as a pending job (after cheap checks) and queue its run for after the commit.

    A ``dry_run`` job stops at the preview (status ``previewed``): nothing is written until :func:`confirm_job`.
    Raises :class:`ImportRefused` for what can be told without reading the rows. Flushes; the caller commits.
    """
    filename = PurePosixPath(filename.replace("\\", "/")).name[-255:] or "upload"
    _refuse_upload(kind, filename, content)
    job = ImportJob(
        kind=kind,
        filename=filename,
        content=content,
        status=ImportStatus.PENDING.value,
        unit_id=unit.id,
        created_by_id=user.id if user else None,
        dry_run=dry_run,
    )
    db.session.add(job)
    db.session.flush()
    audit(
        "import.create",
        job,
        user=user,
        kind=kind,
        filename=filename,
        size=len(content),
        unit=unit.code,
        dry_run=dry_run,
    )
    if enqueue:
        _enqueue(job)
    return job


def _enqueue(job: ImportJob) -> None:
    enqueue_after_commit("lms.registry.run_import", job_id=job.id)


class PreviewOutdated(ImportRefused):
    """The confirmation names another preview than the job's current one (a second tab, a job already applied)."""


def confirm_job(job: ImportJob, *, digest: str, user: User | None, enqueue: bool = True) -> ImportJob:
    """Apply a previewed job: queue its run, which writes only if the file still plans exactly the preview whose
    ``digest`` the user confirmed (otherwise it previews again and says so). Flushes; the caller commits."""
    outdated = PreviewOutdated(
        _("This preview is no longer current: look at the import again before confirming."), field="digest"
    )
    if job.status != ImportStatus.PREVIEWED or not digest or digest != job.preview_digest:
        raise outdated
    # One conditional UPDATE: of two tabs (or two API calls) confirming the same preview at once, the second waits for
    # the first's row lock, then finds the job no longer previewed — refused, not confirmed and queued again.
    db.session.flush()
    moved = db.session.execute(
        update(ImportJob)
        .where(
            ImportJob.id == job.id,
            ImportJob.status == ImportStatus.PREVIEWED,
            ImportJob.preview_digest == digest,
        )
        .values(status=ImportStatus.PENDING.value, dry_run=False, processed_rows=0)
        .execution_options(synchronize_session=False)
    )
    if cast(CursorResult[Any], moved).rowcount != 1:
        db.session.refresh(job)
        raise outdated
    db.session.refresh(job)
    audit("import.confirm", job, user=user, digest=digest)
    if enqueue:
        _enqueue(job)
    return job


def _claim(job_id: int) -> bool:
    """Mark a pending job running. A running or finished job is left alone: a job whose worker died is failed by
    the sweep (``lms.registry.tasks.sweep_imports``), never run a second time behind the first one's back.

    One conditional UPDATE, so two workers handed the same job cannot both run it. Commits, so the page
    shows the job running.
    """
    now = utcnow()
    result = db.session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status == ImportStatus.PENDING)
        .values(status=ImportStatus.RUNNING.value, started_at=now, processed_rows=0)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return cast(CursorResult[Any], result).rowcount == 1


class _Progress:
    """Publishes how many rows have been read, committing every PROGRESS_EVERY rows.

    Only used while the file is read, before the check against the database and the province's lock: the job
    row is all that is written then, so a commit never publishes half an import. The total is an estimate (the
    lines of a CSV) until the last row is read.
    """

    def __init__(self, job: ImportJob) -> None:
        self.job, self.done = job, 0
        job.total_rows = job.content.count(b"\n") if job.filename.lower().endswith(".csv") else 0
        db.session.commit()

    def tick(self) -> None:
        self.done += 1
        if self.done % PROGRESS_EVERY == 0:
            self.job.processed_rows = self.done
            self.job.total_rows = max(self.job.total_rows, self.done)
            db.session.commit()

    def finish(self) -> None:
        self.job.processed_rows = self.job.total_rows = self.done
        db.session.commit()


def _finish(
    job: ImportJob,
    status: ImportStatus,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    summary: dict[str, Any] | None = None,
) -> None:
    job.status = status.value
    job.message = message
    job.errors = errors or []
    job.summary = summary or {}
    job.finished_at = utcnow()
    # The upload holds ID numbers and ethnicity in clear: keep it only while the job may still run.
    job.content = b""
    db.session.commit()


def _show_preview(job: ImportJob, preview: Preview, ignored: list[str], *, outdated: bool = False) -> None:
    """Stop at the preview: keep the file (a confirmation reads it again) and publish what it would change."""
    job.status = ImportStatus.PREVIEWED.value
    job.dry_run = True
    job.preview = {**preview.as_dict(), "ignored_columns": ignored, "outdated": outdated}
    job.preview_digest = preview.digest
    job.summary = {}
    job.errors = []
    job.message = (
        gettext("the data changed since the preview: look at the new preview and confirm again")
        if outdated
        else gettext(
            "checked: %(changes)s; nothing is written until you confirm", changes=_success_message(preview.summary())
        )
    )
    job.finished_at = utcnow()
    db.session.commit()


def _success_message(summary: dict[str, dict[str, int]]) -> str:
    parts = [
        gettext(
            "%(entity)s: %(created)s created, %(updated)s updated, %(unchanged)s unchanged",
            entity=str(IMPORT_ENTITY_NAMES.get(entity, entity)),
            created=_count(counts["created"]),
            updated=_count(counts["updated"]),
            unchanged=_count(counts["unchanged"]),
        )
        for entity, counts in summary.items()
    ]
    return "; ".join(parts)


def _read(job: ImportJob, report: _Report, *, publish_progress: bool = True) -> tuple[_Layout, list[str]]:
    """Phase 1a: stream the job's file, converting each row and checking what needs no query, filling ``report``.

    Returns the layout, holding what it keeps of the rows (``layout.read`` once every row was), and the headers
    it ignored.
    """
    unit = job.unit
    layout = LAYOUTS[job.kind](Scope(unit.id, unit.path, unit.full_name), report, job.id)
    try:
        header, rows = spreadsheet.stream_table(job.filename, job.content, _limits())
    except spreadsheet.SpreadsheetError as exc:
        report.add_error(exc)
        return layout, []
    found, ignored = _match_headers(header, layout.columns, report)
    layout.check_headers(found)
    if report:  # rows cannot be read without their columns, but a file the reader refuses is told so instead
        try:
            for _ in rows:
                pass
        except spreadsheet.SpreadsheetError as exc:
            report.clear()
            report.add_error(exc)
        return layout, ignored
    progress = _Progress(job) if publish_progress else None
    columns = {column.key: (column, found[column.key]) for column in layout.columns if column.key in found}
    try:
        for number, cells in rows:
            layout.take(_convert(number, cells, columns, report))
            if progress is not None:
                progress.tick()
    except spreadsheet.SpreadsheetError as exc:
        report.add_error(exc)
    else:
        layout.read = True
    if progress is not None:
        progress.finish()
    return layout, ignored


def _check(job: ImportJob, report: _Report, *, publish_progress: bool = True) -> tuple[_Layout, list[str]]:
    """Phase 1: read the job's file (:func:`_read`), then check every row against the database, once.

    Returns the layout, ready to plan if ``report`` stayed empty, and the headers it ignored.
    """
    layout, ignored = _read(job, report, publish_progress=publish_progress)
    if layout.read:  # every error is reported, those of the rows and those against the database
        layout.resolve()
        _refuse_id_numbers(job, layout, report)
    return layout, ignored


def _refuse_id_numbers(job: ImportJob, layout: _Layout, report: _Report) -> None:
    """The person form's rule for a file: an ID number another person holds gets the form's neutral answer, and
    the uploader's refusals count towards the same hourly limit. Past it, the file gets one answer whatever its
    numbers are, so a file of guesses learns nothing about the rows beyond the allowance."""
    if not layout.sets_id_numbers:
        return
    from lms.registry.services import ID_NUMBER_REFUSALS_PER_HOUR, id_number_refusals

    allowed = ID_NUMBER_REFUSALS_PER_HOUR - (id_number_refusals(job.created_by_id) if job.created_by_id else 0)
    if allowed <= 0:
        report.add(None, "id_number", "id_number_attempts")
        return
    for row, _number in layout.refused_id_numbers[:allowed]:
        report.add(row, "id_number", "id_number_refused")
    if len(layout.refused_id_numbers) > allowed:
        report.add(None, "id_number", "id_number_attempts")


def _audit_refused_id_numbers(job: ImportJob, layout: _Layout) -> None:
    """One ``person.id_number_refused`` event per refused row (in one statement), after the failed check's
    rollback: they name the holder for an administrator and count towards the uploader's limit."""
    from lms.core.models import AuditEvent

    events = [
        {
            "action": "person.id_number_refused",
            "object_type": "import_job",
            "object_id": str(job.id),
            "user_id": job.created_by_id,
            "details": {"holder_id": holder, "row": row},
            "at": utcnow(),
        }
        for row, holder in layout.refused_id_numbers
    ]
    if events:
        db.session.execute(insert(AuditEvent), events)


def _lock_province(job: ImportJob) -> None:
    """One import at a time per province (PostgreSQL row lock, held to the commit; SQLite serialises writers)."""
    parts = job.unit.path.strip("/").split("/")
    top = int(parts[1]) if len(parts) > 1 else int(parts[0])
    db.session.execute(select(AdminUnit.id).where(AdminUnit.id == top).with_for_update())


def _run(job: ImportJob) -> None:
    report = _Report()
    layout, ignored = _read(job, report)
    if layout.read:  # every error is reported, those of the rows and those against the database
        if not job.dry_run and not report:
            # The check against the database runs once, inside the write transaction and under the province's
            # lock, so rows another import wrote since the preview (a double-clicked upload) are seen, not
            # duplicated. Reading the file (and publishing progress, which commits) came before.
            _lock_province(job)
        layout.resolve()
        _refuse_id_numbers(job, layout, report)
    if report:
        db.session.rollback()
        _audit_refused_id_numbers(job, layout)
        _finish(job, ImportStatus.FAILED, report.summary(), errors=report.listed())
        return
    preview = Preview(layout.entities)
    layout.plan(preview)
    if job.dry_run:
        _show_preview(job, preview, ignored)
        return
    if job.preview_digest is not None and preview.digest != job.preview_digest:
        # Someone changed the register since the user looked: applying now would do something they never saw.
        db.session.rollback()
        _show_preview(job, preview, ignored, outdated=True)
        return
    layout.write()  # phase 2, committed with the job's new status by _finish
    changes.announce(units=layout.registry_units(), **layout.registry_rows(), bulk=True)
    summary: dict[str, Any] = preview.summary()
    message = _success_message(summary)
    if ignored:
        summary["ignored_columns"] = ignored
        message = gettext("%(changes)s; ignored columns: %(columns)s", changes=message, columns=", ".join(ignored))
    _finish(job, ImportStatus.SUCCEEDED, message, summary=summary)


def execute_job(job_id: int, *, final_attempt: bool = True) -> None:
    """Check every row of the job's file, then apply them all in one transaction, or none (runs in a worker).

    Idempotent: a finished job is left alone, and applying a file again upserts on natural keys. A transient
    database error (a lock, a dropped connection) puts the job back to pending and re-raises for Celery to retry,
    unless this is the ``final_attempt``; any other error rolls back, fails the job and re-raises.
    """
    if not _claim(job_id):
        return
    # What the job stores for its owner (summary, messages) is written in the owner's language: a worker has no
    # request to choose one.
    with formatting.speaking(_owner_locale(job_id)):
        _execute(job_id, final_attempt=final_attempt)


def in_owners_language(message: Any) -> Any:
    """A lazy ``message`` as an SQL expression that is, for each job an UPDATE touches, the message in its owner's
    language: the sweep fails many jobs in one statement, each read by its own owner."""
    owner_locale = select(User.locale).where(User.id == ImportJob.created_by_id).scalar_subquery()
    texts: dict[str, str] = {}
    for language in current_app.config["LANGUAGES"]:
        with formatting.speaking(language):
            texts[language] = str(message)
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    others = [(owner_locale == language, literal(text)) for language, text in texts.items() if language != default]
    return case(*others, else_=literal(texts[default])) if others else literal(texts[default])


def _owner_locale(job_id: int) -> str | None:
    return db.session.scalar(
        select(User.locale).join(ImportJob, ImportJob.created_by_id == User.id).where(ImportJob.id == job_id)
    )


def _execute(job_id: int, *, final_attempt: bool) -> None:
    try:
        job = db.session.get_one(ImportJob, job_id)
        _run(job)
    except OperationalError:
        db.session.rollback()
        if not final_attempt:
            db.session.execute(
                update(ImportJob)
                .where(ImportJob.id == job_id)
                .values(status=ImportStatus.PENDING.value, processed_rows=0)
            )
            db.session.commit()
            raise
        _fail_crashed(job_id)
        raise
    except Exception:
        db.session.rollback()
        _fail_crashed(job_id)
        raise


def _fail_crashed(job_id: int) -> None:
    report = _Report()
    report.add(None, None, "crashed")
    _finish(
        db.session.get_one(ImportJob, job_id),
        ImportStatus.FAILED,
        _stored_message(report.listed()[0]),
        errors=report.listed(),
    )
