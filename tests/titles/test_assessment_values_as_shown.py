"""Assessed values are read as the person who typed them sees them: "đạt" with a combining dot below is "đạt"; a
share or a sum a spreadsheet formula worked out (=0.1+0.2, shown 0,3) is the number on the screen, not the binary
fraction behind it (0.30000000000000004, refused as "from 0 to 10"); and a value with too many decimals is refused
saying so, not as if it were out of range."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from lms.core import spreadsheet
from lms.titles import services
from lms.titles.models import Assessment
from tests.titles.test_assessments import _input, world  # noqa: F401 - the fixture

HEADER = ["Loại đối tượng", "Mã đối tượng", "Năm", "Tiêu chí", "Giá trị", "Nguồn", "Minh chứng"]


def _xlsx(rows: list[list[object]]) -> bytes:
    """A workbook as Excel saves a formula's result: every digit of the binary fraction (openpyxl writes 15)."""
    book = Workbook()
    sheet = book.active
    for row in [HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    stored = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as source, zipfile.ZipFile(stored, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb"<v>([0-9.]+)</v>", lambda m: b"<v>%s</v>" % repr(float(m.group(1))).encode(), data)
                data = data.replace(b"<v>0.3</v>", b"<v>0.30000000000000004</v>")
            target.writestr(item, data)
    return stored.getvalue()


@pytest.mark.parametrize("word", ["đạt", "ĐẠT", "không đạt"])
def test_met_words_with_combining_marks_are_read(world, word):  # noqa: F811
    decomposed = unicodedata.normalize("NFD", word)
    assert decomposed != word
    assessment = services.create_assessment(_input(world["people"][0], "C3", decomposed), user=world["user"])
    assert assessment.value == (Decimal(0) if word.startswith("không") else Decimal(1))


def test_a_formulas_value_is_the_number_the_sheet_shows(world):  # noqa: F811
    a, b, _ = world["people"]
    content = _xlsx(
        [["person", a.id, 2026, "C_2", 0.1 + 0.2, "evaluator", ""], ["person", b.id, 2026, "CX2", 97.35, "", ""]]
    )
    result = services.import_assessments("a.xlsx", content, user=world["user"])
    assert result.errors == []
    values = dict(db_values())
    assert values == {a.id: Decimal("0.3"), b.id: Decimal("97.35")}


def db_values():
    from lms.extensions import db

    return db.session.execute(select(Assessment.subject_id, Assessment.value)).tuples().all()


def test_too_many_decimals_are_refused_saying_so(app, world):  # noqa: F811
    with app.test_request_context("/"), pytest.raises(services.TitlesError) as refused:
        services.create_assessment(_input(world["people"][0], "C_2", "7,255"), user=world["user"])
    assert refused.value.field == "value"
    assert str(refused.value) == "Chỉ nhập tối đa hai chữ số thập phân: 7,255 có nhiều hơn."


def test_the_reader_gives_numbers_as_shown():
    assert spreadsheet.as_decimal(0.1 + 0.2) == Decimal("0.3")
    assert spreadsheet.as_text(0.1 + 0.2) == "0.3"
    assert spreadsheet.as_decimal(12.0) == Decimal(12)
    assert spreadsheet.as_decimal("12,5") == Decimal("12.5")
