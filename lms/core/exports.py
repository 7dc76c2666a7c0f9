"""Exports that a spreadsheet program opens: no cell of ours is ever read as a formula.

A person named ``=HYPERLINK("http://x","y")`` is data, but a spreadsheet program that opens a CSV, or an xlsx
cell typed as a formula, runs it (CSV/formula injection). OWASP's rule: a value that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is written with a leading single quote, which spreadsheet programs show
as text. Every CSV and xlsx writer goes through this module; none of them writes formulas on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.styles import Alignment, Font

from lms.core.pdf import MOTTO, NATIONAL_NAME, recipients_lines

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


# --- the frame of a filed report, in a workbook (Decree 30/2020/NĐ-CP, Appendix I; as lms.core.pdf prints it) -------


def _block(
    sheet: Any,
    row: int,
    first: int,
    last: int,
    text: str,
    *,
    bold: bool = False,
    italic: bool = False,
    size: float = 11,
) -> None:
    """``text`` centred across columns ``first``..``last`` of ``row`` (merged, as one cell of the form)."""
    if last > first:
        sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
    cell = sheet.cell(row=row, column=first, value=text)
    cell.font = Font(bold=bold, italic=italic, size=size)
    cell.alignment = Alignment(horizontal="center", vertical="top", wrap_text=True)


def filed_heading(
    sheet: Any,
    *,
    superior: Sequence[str],
    body: Sequence[str],
    number_line: str,
    place_date: str,
    title: str,
    summary: str,
    columns: int,
    left: int,
) -> None:
    """The top of a filed report on a sheet, from row 1: the superior body (regular) and the issuing body (bold
    capitals) with the number and symbol under them across the first ``left`` columns; the national name and motto
    with the place and day across the rest up to ``columns``; then the kind ("BÁO CÁO") and the summary (trích yếu)
    across the whole width — what ``lms.core.pdf.report_heading`` prints on the PDF."""
    left_lines = [(line, False) for line in superior] + [(line, True) for line in body]
    right_lines = [(NATIONAL_NAME, True), (MOTTO, True)]
    height = max(len(left_lines), len(right_lines))
    left_lines += [("", False)] * (height - len(left_lines))
    right_lines += [("", False)] * (height - len(right_lines))
    for offset, ((l_text, l_bold), (r_text, r_bold)) in enumerate(zip(left_lines, right_lines, strict=True)):
        if l_text:
            _block(sheet, 1 + offset, 1, left, l_text, bold=l_bold)
        if r_text:
            _block(sheet, 1 + offset, left + 1, columns, r_text, bold=r_bold)
    row = height + 1
    if number_line:
        _block(sheet, row, 1, left, number_line)
    _block(sheet, row, left + 1, columns, place_date, italic=True)
    _block(sheet, row + 2, 1, columns, title, bold=True, size=14)
    if summary:
        _block(sheet, row + 3, 1, columns, summary, bold=True)


def filed_closing(
    sheet: Any,
    *,
    recipients: Sequence[str],
    maker: str,
    signer: Sequence[str],
    head: str = "",
    columns: int,
    spans: tuple[int, int],
) -> None:
    """The foot of a filed report under the sheet's last row: "Nơi nhận:" and its list on the left (columns 1 to
    ``spans[0]``), the maker's signature (Người lập biểu) in the middle (to ``spans[1]``), the head's (the configured
    signer, or "Thủ trưởng đơn vị") on the right up to ``columns``, with rows left to sign in — what
    ``lms.core.pdf.report_closing`` prints on the PDF."""
    start = sheet.max_row + 2
    if recipients:
        # One cell over as many rows as it has lines: "Nơi nhận:" in bold, the list in small type — each item starts
        # with "-", which a cell of its own would carry as "'- …" (save_workbook keeps any "-" from being a formula).
        lines = recipients_lines(recipients)
        sheet.merge_cells(start_row=start, start_column=1, end_row=start + len(lines), end_column=spans[0])
        cell = sheet.cell(row=start, column=1)
        cell.value = CellRichText(
            TextBlock(InlineFont(rFont="Calibri", b=True, sz=11), "Nơi nhận:"),
            TextBlock(InlineFont(rFont="Calibri", sz=9), "".join("\n" + line for line in lines)),
        )
        cell.alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
    room = ["", "", "", ""]  # where the signature goes
    middle = ["NGƯỜI LẬP BIỂU", "(Ký, ghi rõ họ tên)", *room, maker]
    right = [*(signer or ["THỦ TRƯỞNG ĐƠN VỊ"]), "(Ký, ghi rõ họ tên, đóng dấu)", *room, head]
    for offset, text in enumerate(middle):
        if text:
            _block(sheet, start + offset, spans[0] + 1, spans[1], text, bold=offset in (0, len(middle) - 1))
    for offset, text in enumerate(right):
        if text:
            signing = offset < len(right) - len(room) - 2 or offset == len(right) - 1  # the signer's lines, the head
            _block(sheet, start + offset, spans[1] + 1, columns, text, bold=signing)
