"""The annual report as an official files it: rendered to images (pdftoppm) and read back (pdfplumber) — no word
outside its table cell, no heading broken inside a word, no internal code, the sub-units' rows filled, and a
province of a hundred communes in a few pages, none of them mostly empty.

The province is the real one (Quảng Ngãi, with the communes of the reference units) under the shipped Kon Tum
plan, whose indicator names and denominator definitions are the long texts the report must wrap.
"""

from __future__ import annotations

import io
import re
import subprocess
from datetime import date
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image
from sqlalchemy import select

from lms.extensions import db
from lms.registry.models import AdminUnit, UnitLevel
from lms.registry.services import find_unit
from lms.targets import reports
from lms.targets.models import Plan
from lms.targets.plans import load_plans
from tests.targets.dashboard_data import value

YEAR_END = date(2025, 12, 31)
MARGIN = 1.0  # points: a glyph's box may touch its cell's border, not cross it


@pytest.fixture
def province_report(app_ctx) -> tuple[bytes, reports.ScopeTable]:
    load_plans()
    plan = db.session.scalar(select(Plan).where(Plan.code == "kon-tum-1514-2022", Plan.active.is_(True)))
    province = find_unit("51", UnitLevel.PROVINCE)
    assert plan is not None
    assert province is not None
    communes = list(
        db.session.scalars(select(AdminUnit).where(AdminUnit.parent_id == province.id).order_by(AdminUnit.sort_key))
    )
    assert len(communes) > 60  # a real province: the layout must stay compact
    for position, indicator in enumerate(plan.indicators):
        # Wide figures (tens of thousands, fractions) for the province, and eight communes with figures.
        value(indicator, province, 12345.5 + position, 67890, period_end=YEAR_END)
        for index, commune in enumerate(communes[:8]):
            value(indicator, commune, 10 * index + position, 100 + index, period_end=YEAR_END)
    db.session.flush()
    table = reports.scope_table(plan, province, period_end=YEAR_END)
    return reports.indicator_pdf(table), table


def _expected_heading_words(table: reports.ScopeTable) -> set[str]:
    years = table.milestone_years
    headings = [
        "STT",
        "Chỉ tiêu",
        "Tử số",
        "Mẫu số",
        "Tỷ lệ (%)",
        "Định nghĩa mẫu số",
        *[f"Mục tiêu {y} (%)" for y in years],
        f"Còn thiếu so với mục tiêu {table.milestone} (điểm %)",
        "Đơn vị",
        *[f"({n})" for n in range(1, len(table.lines) + 1)],
    ]
    return {word for heading in headings for word in heading.split()}


def test_the_annual_report_renders_to_pages_an_official_can_file(province_report, tmp_path: Path):
    content, table = province_report
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(content)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert 1 <= len(images) <= 3, f"{len(images)} pages for a province"
    for image_path in images[:-1]:  # every page but the last is mostly used
        with Image.open(image_path) as image:
            width, height = image.size
            ink = image.convert("L").point(lambda level: 255 if level < 200 else 0).getbbox()  # the inked area
            assert ink is not None
            assert (ink[3] - ink[1]) / height > 0.7, f"{image_path.name} is mostly empty"
            assert width > height  # landscape

    expected_headings = _expected_heading_words(table)
    with pdfplumber.open(io.BytesIO(content)) as document:
        text = "\n".join(page.extract_text() or "" for page in document.pages)
        tables_seen = 0
        for page in document.pages:
            words = page.extract_words(keep_blank_chars=False, use_text_flow=True)
            for found in page.find_tables():
                tables_seen += 1
                cells = [cell for cell in found.cells if cell]
                x0, top, x1, bottom = found.bbox
                inside = [
                    w
                    for w in words
                    if x0 <= (w["x0"] + w["x1"]) / 2 <= x1 and top <= (w["top"] + w["bottom"]) / 2 <= bottom
                ]
                assert inside, "a table without text"
                for word in inside:
                    assert any(
                        c[0] - MARGIN <= word["x0"]
                        and word["x1"] <= c[2] + MARGIN
                        and c[1] - MARGIN <= word["top"]
                        and word["bottom"] <= c[3] + MARGIN
                        for c in cells
                    ), f"{word['text']!r} on page {page.page_number} crosses its cell's border"
                # The header row: every word is a whole word of a heading (nothing broken mid-word).
                header_top = min(c[1] for c in cells)
                header_bottom = min(c[3] for c in cells if c[1] == header_top)
                for word in inside:
                    if word["bottom"] <= header_bottom + MARGIN:
                        assert word["text"] in expected_headings, f"heading word {word['text']!r} is broken"
        assert tables_seen >= 2  # the indicators (one page or two, as the heading leaves room) and the sub-units

    # Indicators by name, never by code; every long definition present; Vietnamese figures.
    for line in table.lines:
        assert line.indicator.code not in text
    assert "12.345,5" in text  # the province's first numerator, grouped with a dot, a decimal comma
    # The eight communes with figures have a filled row each; the others are named once, not given empty rows.
    with_figures, without = reports.sub_units(table)
    assert len(with_figures) == 8
    flat = " ".join(text.split())
    assert f"Chưa có số liệu ({len(without)} đơn vị)" in flat
    first_row = re.search(re.escape(with_figures[1].full_name) + r"\s+([\d,]+ / [\d,]+)", flat)
    assert first_row, "the sub-unit's row is blank"
