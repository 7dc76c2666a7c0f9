"""Exports that a spreadsheet program opens: no cell of ours is ever read as a formula.

A person named ``=HYPERLINK("http://x","y")`` is data, but a spreadsheet program that opens a CSV, or an xlsx
cell typed as a formula, runs it (CSV/formula injection). OWASP's rule: a value that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is written with a leading single quote, which spreadsheet programs show
as text. Every CSV and xlsx writer goes through this module; none of them writes formulas on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, Any

from openpyxl import Workbook

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet will take it for text: strings that could start a formula get a quote first."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]


def save_workbook(workbook: Workbook, target: IO[bytes]) -> None:
    """Save ``workbook`` with every string cell neutralised and typed as text (``s``), never as a formula (``f``).

    Done at saving rather than at each ``cell(value=…)`` so that no writer, and no cell added later to one, can
    forget it.
    """
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_PREFIXES):
                    cell.value = safe_cell(cell.value)
                    cell.data_type = "s"
    workbook.save(target)


def print_setup(sheet: Any, header_row: int, *, heading: str = "") -> None:
    """Print ``sheet`` as a filed table: landscape A4, one page wide and as many tall as needed, the table's header
    row repeated on every page (and frozen on screen), and — with ``heading`` — what the table is, for which unit
    and period, at the top of every printed page, with "Trang n / m" at the bottom: a second sheet or page printed
    alone still says whose figures it holds."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1)
    if heading:
        sheet.oddHeader.center.text = heading.replace("&", "&&")  # "&" starts a code of the header's language
        sheet.oddHeader.center.size = 9
    sheet.oddFooter.right.text = "Trang &P / &N"
    sheet.oddFooter.right.size = 9
