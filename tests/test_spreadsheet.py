"""The shared spreadsheet reader: ordinary files, and the spreadsheet bombs of issue 14 (each built here), refused
with a message people can act on, in bounded memory and without reading what they ask for."""

from __future__ import annotations

import io
import re
import tracemalloc
import zipfile
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from openpyxl import Workbook

from lms.core import spreadsheet
from lms.core.spreadsheet import Limits, SpreadsheetError

MB = 1024 * 1024
MEMORY_BUDGET = 50 * MB


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


def bounded(read: Callable[[], Any]) -> Any:
    """Run ``read`` and assert it allocated less than MEMORY_BUDGET at its peak; return what it returned or raised."""
    tracemalloc.start()
    try:
        try:
            outcome: Any = read()
        except SpreadsheetError as exc:
            outcome = exc
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
    limits = Limits.from_config(10)
    assert (limits.max_rows, limits.max_uncompressed, limits.max_cell_chars) == (10, 1234, 99)


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
    content = shared_strings_bomb(20 * MB)  # under the total, but twenty megabytes from a few kilobytes
    refused = bounded(lambda: spreadsheet.read_table("bomb.xlsx", content, LIMITS))
    assert isinstance(refused, SpreadsheetError)
    assert re.search(r"part xl/sharedStrings.xml unpacks \d+ times larger", str(refused))


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
}


@pytest.mark.parametrize("bomb", BOMBS)
def test_every_import_refuses_each_bomb(app_ctx, bomb):
    from lms.extensions import db
    from lms.registry.importer import ImportRefused, create_job
    from lms.registry.models import ImportJob
    from lms.titles import recognition, services
    from tests.conftest import unit_by_code

    filename, build, expected = BOMBS[bomb]
    content = build()
    commune = unit_by_code("23293")

    # The registry refuses at upload what the archive tells, and fails the job on what only reading tells.
    if bomb == "shared-strings":
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
    with pytest.raises(sheet_import.SheetRejected) as refused:
        bounded(lambda: sheet_import.check_sheet(CourseClass(), content, filename))
    assert sheet_expected in refused.value.errors[0]["message"]
    assert refused.value.errors[0]["message_vi"] != refused.value.errors[0]["message"]
