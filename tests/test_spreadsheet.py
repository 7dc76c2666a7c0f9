"""The shared spreadsheet reader: ordinary files, and the spreadsheet bombs of issue 14 (each built here), refused
with a message people can act on, in bounded memory and without reading what they ask for."""

from __future__ import annotations

import io
import random
import re
import time
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook

from lms.core import spreadsheet
from lms.core.spreadsheet import Limits, SpreadsheetError

MB = 1024 * 1024
MEMORY_BUDGET = 50 * MB
TIME_BUDGET = 1.0  # seconds of this process's CPU (not wall time: another process's load must not fail a refusal)


def _xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rewrite(content: bytes, replace: Callable[[str, bytes], bytes]) -> bytes:
    """The same workbook with each part passed through ``replace`` (name, data) → data."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, replace(info.filename, source.read(info.filename)))
    return out.getvalue()


def row_20_million_xlsx(*, honest_dimension: bool) -> bytes:
    """A header and one data row numbered 20,000,000: a few kilobytes. The dimension may say so, or lie (A1:B2).

    openpyxl writes no row past Excel's 1,048,576, so the row is written as 1,000,000 and renumbered in the XML.
    """
    book = Workbook()
    sheet = book.active
    sheet.append(["village_code", "household_code"])
    sheet.cell(row=1_000_000, column=1, value="IMP-1")
    buffer = io.BytesIO()
    book.save(buffer)
    dimension = b"A1:B20000000" if honest_dimension else b"A1:B2"

    def renumber(name: str, data: bytes) -> bytes:
        if not name.endswith("sheet1.xml"):
            return data
        data = data.replace(b'r="1000000"', b'r="20000000"').replace(b'r="A1000000"', b'r="A20000000"')
        return re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="' + dimension + b'"/>', data)

    return _rewrite(buffer.getvalue(), renumber)


def shared_strings_bomb(inflated: int) -> bytes:
    """An ordinary workbook whose shared strings inflate to ``inflated`` bytes (one huge string, highly compressible),
    written in chunks so the test itself stays small."""
    base = _xlsx([["village_code"], ["IMP-1"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/sharedStrings.xml":
                target.writestr(info.filename, source.read(info.filename))
        with target.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>')
            chunk = b"A" * MB
            for _ in range(inflated // MB):
                part.write(chunk)
            part.write(b"</t></si></sst>")
    return out.getvalue()


def many_entries_xlsx(count: int) -> bytes:
    base = _xlsx([["village_code"], ["IMP-1"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info.filename))
        for n in range(count):
            target.writestr(f"xl/media/x{n}.xml", b"<x/>")
    return out.getvalue()


SHEET_HEAD = (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:B2"/>'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>village_code</t></is></c>'
    b'<c r="B1" t="inlineStr"><is><t>household_code</t></is></c></row>'
)


def _with_part(name: str, write: Callable[[Any], None]) -> bytes:
    """An ordinary workbook whose part ``name`` is written by ``write`` (in chunks: the test stays small)."""
    base = _xlsx([["village_code", "household_code"], ["IMP-1", "H1"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != name:
                target.writestr(info.filename, source.read(info.filename))
        with target.open(name, "w", force_zip64=True) as part:
            write(part)
    return out.getvalue()


def _cells(count: int, rng: random.Random) -> bytes:
    # Varied values, so the part compresses like real data (a few times), under every ratio limit.
    return b"".join(b"<c><v>%d</v></c>" % rng.randrange(100) for _ in range(count))


def one_row_of_millions_xlsx() -> bytes:
    """A 4.4 MB upload: one data row of three million cells (40 MB of XML) under a dimension that says A1:B2.

    Every archive limit passes; openpyxl's parser holds the whole row before it yields it (measured at 55 MB of
    XML: 1.7 GB and three minutes).
    """
    rng = random.Random(14)  # noqa: S311 - varied test data, not a secret

    def write(part: Any) -> None:
        part.write(SHEET_HEAD + b'<row r="2">')
        for _ in range(300):
            part.write(_cells(10_000, rng))
        part.write(b"</row></sheetData></worksheet>")

    return _with_part("xl/worksheets/sheet1.xml", write)


def rows_wider_than_read_xlsx() -> bytes:
    """Three thousand rows of 400 cells each: only 200 columns are read, but each cell right of them costs a parse
    (the reader used to spend 16 s on 9,000 such rows)."""
    rng = random.Random(14)  # noqa: S311 - varied test data, not a secret

    def write(part: Any) -> None:
        part.write(SHEET_HEAD)
        for number in range(2, 3000):
            part.write(b'<row r="%d">' % number + _cells(400, rng) + b"</row>")
        part.write(b"</sheetData></worksheet>")

    return _with_part("xl/worksheets/sheet1.xml", write)


def distinct_shared_strings_xlsx(inflated: int) -> bytes:
    """Shared strings of ``inflated`` bytes that compress only a few times (distinct numbers): no ratio limit
    trips, and openpyxl parses the part whole into a list of Python strings."""
    rng = random.Random(14)  # noqa: S311 - varied test data, not a secret

    def write(part: Any) -> None:
        part.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
        for _ in range(inflated // (22 * 10_000)):
            part.write(b"".join(b"<si><t>%d</t></si>" % rng.randrange(10**9) for _ in range(10_000)))
        part.write(b"</sst>")

    return _with_part("xl/sharedStrings.xml", write)


def _outcome(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except SpreadsheetError as exc:
        return exc


def bounded(read: Callable[[], Any]) -> Any:
    """Run ``read`` twice: once timed (the CPU it takes), asserting less than TIME_BUDGET, once traced
    (tracemalloc slows Python several times), asserting a peak below MEMORY_BUDGET; return what the second run
    returned or raised."""
    started = time.process_time()
    _outcome(read)
    elapsed = time.process_time() - started
    assert elapsed < TIME_BUDGET, f"{elapsed:.2f} s"
    tracemalloc.start()
    try:
        outcome = _outcome(read)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BUDGET, f"peak {peak / MB:.0f} MB"
    return outcome


LIMITS = Limits(max_rows=50_000)


# --- ordinary files ----------------------------------------------------------------------------------------


def test_reads_xlsx_and_csv_alike_with_row_numbers_and_typed_cells(app_ctx):
    rows = [["Mã thôn", "Ngày sinh", "Số"], ["IMP-1", date(1980, 2, 1), 7], [None, None, None], ["IMP-2", "", 8]]
    table = spreadsheet.read_table("a.xlsx", _xlsx(rows), LIMITS)
    assert table.header == ["Mã thôn", "Ngày sinh", "Số"]
    assert [number for number, _ in table.rows] == [2, 4]
    assert table.rows[0][1][2] == 7
    assert spreadsheet.as_date(table.rows[0][1][1]) == date(1980, 2, 1)

    csv_table = spreadsheet.read_table("a.csv", "Mã thôn;Ngày sinh\nIMP-1;01/02/1980\n\nIMP-2;\n".encode(), LIMITS)
    assert csv_table.header == ["Mã thôn", "Ngày sinh"]
    assert [(n, cells) for n, cells in csv_table.rows] == [(2, ["IMP-1", "01/02/1980"]), (4, ["IMP-2", None])]
    assert spreadsheet.as_date(csv_table.rows[0][1][1]) == date(1980, 2, 1)


def test_header_matching_names_what_is_missing_or_doubled(app_ctx):
    columns = [
        spreadsheet.Column("village_code", ("Mã thôn",)),
        spreadsheet.Column("household_code", ("Mã hộ",)),
        spreadsheet.Column("note", ("Ghi chú",), required=False),
    ]
    found = spreadsheet.match_header(["ma thon", "MÃ_THÔN", "Khác"], columns)
    assert found.index == {"village_code": 0}
    assert found.ignored == ["Khác"]
    assert [e.as_dict() for e in found.errors] == [
        {
            "row": 1,
            "column": "MÃ_THÔN",
            "message": "the column MÃ_THÔN appears twice in the first row",
            "message_vi": "cột MÃ_THÔN xuất hiện hai lần ở dòng đầu tiên",
        },
        {
            "row": 1,
            "column": "Mã hộ",
            "message": "the column Mã hộ is missing from the first row",
            "message_vi": "dòng đầu tiên thiếu cột Mã hộ",
        },
    ]


def test_typed_cells_say_what_is_wrong(app_ctx):
    with pytest.raises(SpreadsheetError) as refused:
        spreadsheet.as_date("31/02/2020", row=7, column="Ngày sinh")
    assert refused.value.as_dict() == {
        "row": 7,
        "column": "Ngày sinh",
        "message": "“31/02/2020” is not a date; write dd/mm/yyyy",
        "message_vi": "“31/02/2020” không phải là ngày; hãy ghi theo dạng dd/mm/yyyy",
    }
    assert spreadsheet.as_int(2026.0) == 2026
    assert str(spreadsheet.as_decimal("95,5")) == "95.5"
    with pytest.raises(SpreadsheetError, match="is not a whole number"):
        spreadsheet.as_int("062080000001x")


def test_the_limits_are_settings(app, app_ctx, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_UNCOMPRESSED_BYTES", 1234)
    monkeypatch.setitem(app.config, "IMPORT_MAX_CELL_CHARS", 99)
    monkeypatch.setitem(app.config, "IMPORT_MAX_PART_BYTES", 5678)
    monkeypatch.setitem(app.config, "IMPORT_MAX_SECONDS", 7.5)
    limits = Limits.from_config(10)
    assert (limits.max_rows, limits.max_uncompressed, limits.max_cell_chars) == (10, 1234, 99)
    assert (limits.max_part_bytes, limits.max_seconds) == (5678, 7.5)


def test_a_page_waits_less_than_a_worker(app, app_ctx):
    from lms.registry.importer import _limits

    assert Limits.from_config(10).max_seconds == app.config["IMPORT_MAX_SECONDS"] <= 10
    assert _limits().max_seconds == app.config["IMPORT_JOB_MAX_SECONDS"] > app.config["IMPORT_MAX_SECONDS"]


def test_the_streamed_sheet_reads_every_kind_of_cell_as_openpyxl_does(app_ctx):
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    book = Workbook()
    sheet = book.active
    sheet.append(["text", "int", "float", "date", "bool", "empty", "rich"])
    sheet.append(["Nguyễn Văn An", 12, 3.5, date(2026, 1, 2), True, None, "x"])
    sheet["G2"] = CellRichText(["a", TextBlock(InlineFont(b=True), "b")])
    sheet["J2"] = "far right, after a gap"
    buffer = io.BytesIO()
    book.save(buffer)
    table = spreadsheet.read_table("a.xlsx", buffer.getvalue(), LIMITS)
    assert table.header == ["text", "int", "float", "date", "bool", "empty", "rich"]
    number, cells = table.rows[0]
    assert number == 2
    assert cells[:5] == ["Nguyễn Văn An", 12, 3.5, datetime(2026, 1, 2), True]  # a date cell, as openpyxl reads it
    assert cells[5] is None
    assert cells[6] == "ab"


def test_reading_stops_at_the_time_budget(app_ctx):
    content = _xlsx([["village_code", "household_code"]] + [[f"V{n}", f"H{n}"] for n in range(40_000)])
    started = time.perf_counter()
    with pytest.raises(SpreadsheetError, match="could not be read within 0 seconds") as refused:
        spreadsheet.read_table("slow.xlsx", content, Limits(max_rows=50_000, max_seconds=0.2))
    assert time.perf_counter() - started < 1.5
    assert 1 < refused.value.row < 40_000
    assert "không đọc xong tệp trong 0 giây" in refused.value.as_dict()["message_vi"]
    csv_content = b"a,b\n" + b"x,y\n" * 400_000
    with pytest.raises(SpreadsheetError, match="could not be read within"):
        spreadsheet.read_table("slow.csv", csv_content, Limits(max_rows=500_000, max_seconds=0.05))


# --- bombs -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("honest_dimension", [True, False], ids=["declared-dimension", "lying-dimension"])
def test_a_row_numbered_20_million_is_refused_at_once(app_ctx, honest_dimension):
    content = row_20_million_xlsx(honest_dimension=honest_dimension)
    assert len(content) < 10_000
    refused = bounded(lambda: spreadsheet.read_table("bomb.xlsx", content, LIMITS))
    assert isinstance(refused, SpreadsheetError)
    error = refused.as_dict()
    if honest_dimension:
        assert "the sheet declares 20.000.000 rows" in error["message"]
        assert "trang tính khai báo 20.000.000 dòng" in error["message_vi"]
    else:
        # The dimension lied; the row's own number stops the reader, before any gap is filled.
        assert error["row"] == 20_000_000
        assert "the sheet has a row numbered 20.000.000, beyond the limit of 50.000 data rows" in error["message"]
        assert "trang tính có dòng số 20.000.000" in error["message_vi"]


def test_shared_strings_that_inflate_to_hundreds_of_megabytes_are_refused_unread(app_ctx):
    content = shared_strings_bomb(300 * MB)
    assert len(content) < 2 * MB
    refused = bounded(lambda: spreadsheet.read_table("bomb.xlsx", content, LIMITS))
    assert isinstance(refused, SpreadsheetError)
    assert "the workbook unpacks to 314.6 MB, more than 67.1 MB" in refused.as_dict()["message"]
    assert "bảng tính khi giải nén nặng 314.6 MB" in refused.as_dict()["message_vi"]


def test_a_part_that_inflates_too_many_times_is_refused_unread(app_ctx):
    content = shared_strings_bomb(12 * MB)  # under the total and the part limit, but twelve megabytes from kilobytes
    refused = bounded(lambda: spreadsheet.read_table("bomb.xlsx", content, LIMITS))
    assert isinstance(refused, SpreadsheetError)
    assert re.search(r"part xl/sharedStrings.xml unpacks \d+ times larger", str(refused))


def test_one_row_of_millions_of_cells_is_refused_at_once(app_ctx):
    content = one_row_of_millions_xlsx()
    assert len(content) < 5 * MB
    refused = bounded(lambda: spreadsheet.read_table("bomb.xlsx", content, LIMITS))
    assert isinstance(refused, SpreadsheetError)
    assert refused.row == 2
    assert "the sheet has a cell in column 3.201, far beyond the 200 columns" in refused.as_dict()["message"]
    assert "ô ở cột 3.201" in refused.as_dict()["message_vi"]


def test_rows_wider_than_what_is_read_are_refused_early(app_ctx):
    content = rows_wider_than_read_xlsx()
    refused = bounded(lambda: spreadsheet.read_table("bomb.xlsx", content, LIMITS))
    assert isinstance(refused, SpreadsheetError)
    assert refused.row < 300
    assert "more than 51.001 cells right of column 200" in refused.as_dict()["message"]
    assert "hơn 51.001 ô nằm bên phải cột 200" in refused.as_dict()["message_vi"]


def test_shared_strings_that_compress_little_are_bounded_as_a_part(app_ctx):
    content = distinct_shared_strings_xlsx(17 * MB)
    assert len(content) < 5 * MB
    refused = bounded(lambda: spreadsheet.read_table("bomb.xlsx", content, LIMITS))
    assert isinstance(refused, SpreadsheetError)
    assert re.search(r"part xl/sharedStrings.xml unpacks to \d+\.\d MB, more than 16.8 MB", str(refused))


def test_an_archive_of_thousands_of_parts_is_refused(app_ctx):
    refused = bounded(lambda: spreadsheet.read_table("bomb.xlsx", many_entries_xlsx(2000), LIMITS))
    assert isinstance(refused, SpreadsheetError)
    assert "the workbook holds 2.009 files, more than 500" in str(refused)


def test_a_csv_of_millions_of_blank_lines_stops_at_the_row_limit(app_ctx):
    content = b"village_code,household_code\n" + b"\n" * 5_000_000
    refused = bounded(lambda: spreadsheet.read_table("bomb.csv", content, LIMITS))
    assert isinstance(refused, SpreadsheetError)
    assert refused.row == LIMITS.last_row + 1  # by line number, long before the five millionth
    assert "beyond the limit of 50.000 data rows" in str(refused)


def test_a_csv_cell_over_the_limit_is_refused(app_ctx):
    content = b'village_code\n"' + b"x" * 40_000 + b'"\n'
    refused = bounded(lambda: spreadsheet.read_table("bomb.csv", content, LIMITS))
    assert isinstance(refused, SpreadsheetError)
    assert refused.row == 2
    assert "keep each cell under 32.768 characters" in str(refused)


def test_blank_rows_below_the_data_are_tolerated_up_to_a_point(app_ctx):
    limits = Limits(max_rows=3, trailing_blank_rows=5)
    assert len(spreadsheet.read_table("a.csv", b"a\n1\n2\n" + b"\n" * 5, limits).rows) == 2
    with pytest.raises(SpreadsheetError, match="beyond the limit of 3 data rows"):
        spreadsheet.read_table("a.csv", b"a\n1\n2\n" + b"\n" * 7, limits)
    with pytest.raises(SpreadsheetError, match="more than 3 data rows"):
        spreadsheet.read_table("a.csv", b"a\n1\n2\n3\n4\n", limits)


# --- every import refuses them -----------------------------------------------------------------------------

BOMBS = {
    "row-20-million": ("bomb.xlsx", lambda: row_20_million_xlsx(honest_dimension=False), "row numbered 20.000.000"),
    "shared-strings": ("bomb.xlsx", lambda: shared_strings_bomb(300 * MB), "the workbook unpacks to 314.6 MB"),
    "blank-lines": ("bomb.csv", lambda: b"household_code,village_code\n" + b"\n" * 4_900_000, "beyond the limit"),
    "one-row-of-millions": ("bomb.xlsx", one_row_of_millions_xlsx, "a cell in column 3.201"),
    "wide-rows": ("bomb.xlsx", rows_wider_than_read_xlsx, "cells right of column 200"),
    "distinct-shared-strings": (
        "bomb.xlsx",
        lambda: distinct_shared_strings_xlsx(17 * MB),
        "part xl/sharedStrings.xml unpacks to",
    ),
}


@pytest.mark.parametrize("bomb", BOMBS)
def test_every_import_refuses_each_bomb(app_ctx, bomb, monkeypatch):
    # What refuses each bomb here is a limit of the file, never the reading clock (IMPORT_MAX_SECONDS, wall time,
    # tested above with a slow file): with the machine loaded, the traced second read of ``bounded`` took more than
    # the page's 10 s and the sheet refused "wide-rows" for time instead of its rows. ``bounded`` still holds every
    # read to TIME_BUDGET of CPU.
    monkeypatch.setitem(app_ctx.config, "IMPORT_MAX_SECONDS", 3600.0)
    from lms.extensions import db
    from lms.registry.importer import ImportRefused, create_job
    from lms.registry.models import ImportJob
    from lms.titles import recognition, services
    from tests.conftest import unit_by_code

    filename, build, expected = BOMBS[bomb]
    content = build()
    commune = unit_by_code("23293")

    # The registry refuses at upload what the archive tells, and fails the job on what only reading tells.
    if bomb in ("shared-strings", "distinct-shared-strings"):
        with pytest.raises(ImportRefused, match=expected):
            bounded(lambda: create_job(kind="households", filename=filename, content=content, unit=commune, user=None))
    else:
        job = bounded(
            lambda: create_job(kind="households", filename=filename, content=content, unit=commune, user=None)
        )
        db.session.commit()
        db.session.expire_all()
        job = db.session.get_one(ImportJob, job.id)
        assert job.status == "failed"
        assert expected in job.errors[0]["message"]
        assert job.content == b""

    with pytest.raises(recognition.ImportRejected) as rejected:
        bounded(
            lambda: recognition.import_registrations(
                content, filename, commune=commune, title="family", year=2026, user=None
            )
        )
    assert expected in rejected.value.errors[0]["message"]

    result = bounded(lambda: services.import_assessments(filename, content, user=None))
    assert expected in result.errors[0]["message"]

    # The paper attendance sheet reads through the same reader, with its own smaller file limit.
    from courses import sheet_import
    from courses.models import CourseClass

    sheet_expected = expected if len(content) <= sheet_import.MAX_BYTES else "the file is too large"
    if bomb == "wide-rows":
        sheet_expected = "too many rows"  # the sheet reads 400 sessions wide: its own row limit stops it first
    with pytest.raises(sheet_import.SheetRejected) as refused:
        bounded(lambda: sheet_import.check_sheet(CourseClass(), content, filename))
    assert sheet_expected in refused.value.errors[0]["message"]
    assert refused.value.errors[0]["message_vi"] != refused.value.errors[0]["message"]


@pytest.mark.parametrize("bomb", ["one-row-of-millions", "wide-rows", "row-20-million"])
def test_a_page_that_imports_while_the_user_waits_answers_a_bomb_within_the_budget(app_ctx, client, bomb):
    from lms.auth.models import Role
    from lms.extensions import db
    from tests.conftest import csrf_token, login, make_user, unit_by_code

    filename, build, _ = BOMBS[bomb]
    content = build()
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    token = csrf_token(client, "/titles/assessments/import")
    started = time.process_time()
    response = client.post(
        "/titles/assessments/import",
        data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )
    assert time.process_time() - started < TIME_BUDGET
    assert response.status_code == 422  # the form again, with what is wrong
    html = response.get_data(as_text=True)
    assert 'id="import-errors"' in html
    assert "trang tính có" in html  # what to fix, in Vietnamese


def test_a_sheet_with_a_document_type_is_refused_unexpanded(app_ctx):
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>'
        + SHEET_HEAD[SHEET_HEAD.index(b"<worksheet") :]
        + b'<row r="2"><c t="inlineStr"><is><t>&lol2;</t></is></c></row></sheetData></worksheet>'
    )
    refused = bounded(
        lambda: spreadsheet.read_table(
            "b.xlsx", _with_part("xl/worksheets/sheet1.xml", lambda p: p.write(laughs)), LIMITS
        )
    )
    assert isinstance(refused, SpreadsheetError)
    assert "not a readable .xlsx workbook" in str(refused)
