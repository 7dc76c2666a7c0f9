"""What every printed document shares: the vendored DejaVu fonts (the 14 standard PDF fonts have no glyphs for
"ễ" or "ở"), Vietnamese date and number formats, the QR code, and the verification codes printed under it.

Used by the course certificates (``courses/documents.py``) and the certificates of recognition
(``lms/titles/documents.py``); neither reaches into the other.
"""

from __future__ import annotations

import itertools
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import HRFlowable, Paragraph, Spacer, Table, TableStyle

import lms
from lms.core import formatting

FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
_FONT_DIR = Path(lms.__file__).resolve().parent / "static" / "vendor" / "dejavu"

DARK_RED = colors.HexColor("#9b1c1c")
NAVY = colors.HexColor("#1f3864")

# The mask of the credential's QR code, fixed: choosing the best of the eight (each scored by the standard's penalty
# rules) was three quarters of a certificate's drawing time. The credential is compressed and signed, so its bits
# look random and every mask scores about alike; on such payloads mask 4 scored within 6 % of the best (docs/
# benchmarks.md), and every mask is a valid code that any reader decodes (tests decode it from the rendered page).
CREDENTIAL_MASK = 4

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud over the phone


def register_fonts() -> None:
    """Register the DejaVu faces with reportlab once per process (registration is global and idempotent)."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    pdfmetrics.registerFont(TTFont(FONT, str(_FONT_DIR / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(FONT_BOLD, str(_FONT_DIR / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=FONT_BOLD, italic=FONT, boldItalic=FONT_BOLD)


def vi_date(day: date | None) -> str:
    """31/12/2026: documents are filed in Vietnamese whatever the page's language (lms.core.formatting)."""
    return formatting.day(day, locale="vi")


def vi_long_date(day: date) -> str:
    """ "ngày 05 tháng 03 năm 2026", as written under a place name on Vietnamese documents."""
    return f"ngày {day:%d} tháng {day:%m} năm {day.year}"


def vi_number(value: Decimal | float | int) -> str:
    """12 → "12", 1.5 → "1,5", 1234 → "1.234" (Vietnamese marks), at most two decimals, no trailing zeros."""
    return formatting.number(value, 2, locale="vi")


def draw_qr(
    canvas: Canvas, payload: str, x: float, y: float, size: float, level: str = "M", mask: int | None = None
) -> None:
    """The QR code of ``payload`` as a ``size`` square at (x, y) (error correction M by default: survives a crease or
    a smudge; a quiet border of two modules). Encoded once and drawn as one path of the dark runs of each row: a
    credential's 1.5 KB code is some 2,300 runs, which as ReportLab shapes (the widget, encoding twice) took about
    two seconds a certificate, and a decision prints dozens."""
    border = 2
    qr = QrCodeWidget(payload, barLevel=level, barBorder=border).qr
    if mask is None:
        qr.make()  # tries the eight masks, keeps the one the standard's penalty rules score best
    else:
        qr.version = qr.calculate_version()
        qr.makeImpl(False, mask)
    count = qr.getModuleCount()
    box = size / (count + 2 * border)
    path = canvas.beginPath()
    for r, row in enumerate(qr.modules):
        c = 0
        for dark, run in itertools.groupby(bool(cell) for cell in row):
            length = len(list(run))
            if dark:
                path.rect(x + (c + border) * box, y + size - (r + border + 1) * box, length * box, box)
            c += length
    canvas.saveState()
    canvas.setFillColor(colors.black)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()


def draw_frame_and_heading(canvas: Canvas, width: float, height: float, issuer: list[tuple[str, str]]) -> None:
    """The top of every certificate: a double red frame, the issuing body on the left (``(text, font)`` lines,
    underlined) and the national motto on the right (Decree 30/2020 layout of administrative documents)."""
    canvas.setStrokeColor(DARK_RED)
    canvas.setLineWidth(3)
    canvas.rect(18, 18, width - 36, height - 36)
    canvas.setLineWidth(0.8)
    canvas.rect(26, 26, width - 52, height - 52)
    canvas.setFillColor(colors.black)
    draw_heading(canvas, issuer, left_x=205, right_x=width - 215, top=height - 62)


def draw_heading(canvas: Canvas, issuer: list[tuple[str, str]], *, left_x: float, right_x: float, top: float) -> float:
    """The heading of a document drawn on a canvas (Decree 30/2020 layout): the issuing body's ``(text, font)`` lines
    centred on ``left_x`` with a short rule under them, the national name and motto centred on ``right_x`` with a rule
    under the motto, from ``top`` down; returns the baseline under the issuing body's rule. A certificate's and a
    decision list's."""
    y = top
    for text, font in issuer:
        y = centred_lines(canvas, simpleSplit(text, font, 11, 330), left_x, y, font, 11, 15)
    canvas.setLineWidth(0.6)
    canvas.setStrokeColor(colors.black)
    canvas.line(left_x - 40, y + 7, left_x + 40, y + 7)
    centred_lines(canvas, ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"], right_x, top, FONT_BOLD, 11.5, 15)
    centred_lines(canvas, ["Độc lập - Tự do - Hạnh phúc"], right_x, top - 16, FONT_BOLD, 12, 15)
    motto_width = pdfmetrics.stringWidth("Độc lập - Tự do - Hạnh phúc", FONT_BOLD, 12)
    canvas.line(right_x - motto_width / 2, top - 22, right_x + motto_width / 2, top - 22)
    return min(y, top - 22)


def credential_qr(kind: str, row: Any) -> str:
    """The text of the certificate's second QR code — its signed digital credential, verifiable on a phone without
    our server — from whichever feature issues credentials (``lms.core.signals.printing``); empty if none does."""
    return credential_qrs(kind, [row]).get(row.id, "")


def credential_qrs(kind: str, rows: Sequence[Any]) -> dict[int, str]:
    """:func:`credential_qr` of many rows printed together (a decision's certificates), by row id: the receiver
    issues what is missing for all of them at once."""
    from lms.core.signals import printing

    found: dict[int, str] = {}
    for _, texts in printing.send(kind, rows=list(rows)):
        for row_id, text in (texts or {}).items():
            if text:
                found.setdefault(row_id, str(text))
    return found


def draw_verification(
    canvas: Canvas, verify_url: str, code: str, *, x: float = 48, y: float = 40, credential: str = ""
) -> None:
    """The bottom-left block every certificate carries: the QR code of its public verification page, and the code
    and address printed beside it so it can be checked by reading it out over the phone. With ``credential`` (the
    text of :func:`credential_qr`), a second, larger QR code right of it carries the signed credential itself
    (ADR 32): error correction L, since it holds about 1.5 KB and must stay scannable at 4 cm."""
    if credential:
        # Right after the verification text, well left of the signature and its seal, its caption under it.
        big, big_x = 104, x + 322
        draw_qr(canvas, credential, big_x, y, big, level="L", mask=CREDENTIAL_MASK)
        canvas.setFont(FONT, 6.5)
        canvas.drawCentredString(big_x + big / 2, y - 8, "Chứng chỉ số: quét để xác thực")
    qr_size = 92
    draw_qr(canvas, verify_url, x, y, qr_size)
    text_x = x + qr_size + 10
    canvas.setFont(FONT, 9)
    canvas.drawString(text_x, y + 78, "Mã xác thực:")
    canvas.setFont(FONT_BOLD, 12)
    canvas.drawString(text_x, y + 62, code)
    canvas.setFont(FONT, 8)
    line_y = y + 46
    for line in ["Quét mã QR hoặc tra cứu tại:", *simpleSplit(verify_url, FONT, 8, 250)]:
        canvas.drawString(text_x, line_y, line)
        line_y -= 10


def centred_lines(
    canvas: Canvas, lines: list[str], x: float, y: float, font: str, size: float, leading: float
) -> float:
    """Draw ``lines`` centred on ``x`` from ``y`` down; returns the baseline after the last one."""
    canvas.setFont(font, size)
    for line in lines:
        canvas.drawCentredString(x, y, line)
        y -= leading
    return y


def new_code() -> str:
    """A fresh verification code as printed: three groups of four letters and digits ("ABCD-EFGH-JKLM")."""
    return "-".join("".join(secrets.choice(CODE_ALPHABET) for _ in range(4)) for _ in range(3))


def normalise_code(raw: str) -> str:
    """A code as people type it ("abcd efgh jklm", "ABCDEFGHJKLM") → as printed ("ABCD-EFGH-JKLM")."""
    letters = re.sub(r"[^0-9A-Za-z]", "", raw).upper()
    if len(letters) == 12:
        return "-".join(letters[i : i + 4] for i in range(0, 12, 4))
    return " ".join(raw.split()).upper()[:40]


def page_footer(text: str, *, bottom: float = 7 * mm) -> Callable[[Canvas, Any], None]:
    """The foot of every page of a landscape A4 document (``onFirstPage``/``onLaterPages``): what the document is on
    the left, "Trang n" on the right — a page taken out of the pile still says whose it is."""

    def draw(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        page = f"Trang {doc.page}"
        # A long name (a centre's may have 300 characters) is cut with "…" before the page number, never over it or
        # off the paper.
        room = landscape(A4)[0] - 24 * mm - pdfmetrics.stringWidth(page, FONT, 7) - 6 * mm
        canvas.drawString(12 * mm, bottom, _fitted(text, room, FONT, 7))
        canvas.drawRightString(landscape(A4)[0] - 12 * mm, bottom, page)
        canvas.restoreState()

    return draw


def _fitted(text: str, width: float, font: str, size: float) -> str:
    """``text`` whole if it fits in ``width`` points, else as much of it as fits before "…"."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if pdfmetrics.stringWidth(text[:middle].rstrip() + "…", font, size) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


# --- the frame of a filed report (Decree 30/2020/NĐ-CP, Appendix I) -------------------------------------------------

NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


def markup_escape(value: str) -> str:
    """Text as a reportlab Paragraph reads it: its markup escaped (a name with "&" or "<" printed as typed)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def report_heading(
    *,
    superior: Sequence[str],
    body: Sequence[str],
    number_line: str,
    place_date: str,
    width: float,
    title: str,
    summary: str = "",
) -> list[Any]:
    """The top of a filed report as platypus flowables: the superior body (regular capitals) and the issuing body
    (bold capitals, a short rule under it) with the number and symbol under them on the left; the national name and
    motto (a rule under it) with the place and day on the right; then the document's kind ("BÁO CÁO") and its
    summary (trích yếu), centred. A line feed in ``title`` breaks it there (a long kind of document broken between
    its words' groups, not inside "CHỈ TIÊU")."""
    register_fonts()
    plain = ParagraphStyle("heading-plain", fontName=FONT, fontSize=10, leading=13, alignment=1)
    bold = ParagraphStyle("heading-bold", parent=plain, fontName=FONT_BOLD)
    left: list[Any] = [Paragraph(markup_escape(line), plain) for line in superior]
    left += [Paragraph(markup_escape(line), bold) for line in body]
    left.append(
        HRFlowable(width="30%", thickness=0.6, color=colors.black, spaceBefore=1, spaceAfter=3, hAlign="CENTER")
    )
    if number_line:
        left.append(Paragraph(markup_escape(number_line), plain))
    right: list[Any] = [
        Paragraph(NATIONAL_NAME, bold),
        Paragraph(MOTTO, bold),
        HRFlowable(width="38%", thickness=0.6, color=colors.black, spaceBefore=1, spaceAfter=3, hAlign="CENTER"),
        Paragraph(markup_escape(place_date), plain),
    ]
    frame = Table([[left, right]], colWidths=[width * 0.42, width * 0.58])
    frame.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("ALIGN", (0, 0), (-1, -1), "CENTER"),  # the short rules under the names, centred under them
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    title_style = ParagraphStyle("heading-title", fontName=FONT_BOLD, fontSize=14, leading=18, alignment=1)
    summary_style = ParagraphStyle("heading-summary", fontName=FONT_BOLD, fontSize=11, leading=14, alignment=1)
    lines = "<br/>".join(markup_escape(line) for line in title.split("\n"))
    story: list[Any] = [frame, Spacer(1, 4 * mm), Paragraph(lines, title_style)]
    if summary:
        story.append(Paragraph(markup_escape(summary), summary_style))
    story.append(Spacer(1, 2 * mm))
    return story


def recipients_lines(recipients: Sequence[str]) -> list[str]:
    """ "Nơi nhận:" items as the form writes them: each after a dash, ";" after each, "." after the last."""
    items = [line.rstrip(";.") for line in recipients if line.strip()]
    return [f"- {line}{'.' if index == len(items) - 1 else ';'}" for index, line in enumerate(items)]


def report_closing(
    *,
    recipients: Sequence[str],
    maker: str,
    signer: Sequence[str],
    head: str = "",
    width: float,
) -> Any:
    """The foot of a filed report, one table: "Nơi nhận:" and its list at the bottom left, the maker's signature
    (Người lập biểu, named) in the middle, the head's (the configured quyền hạn and chức vụ, or "Thủ trưởng đơn vị")
    on the right, with room to sign and seal."""
    register_fonts()
    small = ParagraphStyle("closing-small", fontName=FONT, fontSize=8, leading=10)
    small_bold = ParagraphStyle("closing-small-bold", parent=small, fontName=FONT_BOLD, fontSize=9, leading=11)
    centred = ParagraphStyle("closing-centred", fontName=FONT, fontSize=9, leading=12, alignment=1)
    centred_bold = ParagraphStyle("closing-centred-bold", parent=centred, fontName=FONT_BOLD, fontSize=10, leading=13)
    left: list[Any] = []
    if recipients:
        left = [Paragraph("Nơi nhận:", small_bold)]
        left += [Paragraph(markup_escape(line), small) for line in recipients_lines(recipients)]
    middle: list[Any] = [
        Paragraph("NGƯỜI LẬP BIỂU", centred_bold),
        Paragraph("(Ký, ghi rõ họ tên)", centred),
        Spacer(1, 18 * mm),
        Paragraph(markup_escape(maker), centred_bold),
    ]
    right: list[Any] = [Paragraph(markup_escape(line), centred_bold) for line in (signer or ["THỦ TRƯỞNG ĐƠN VỊ"])]
    right += [Paragraph("(Ký, ghi rõ họ tên, đóng dấu)", centred), Spacer(1, 18 * mm)]
    if head:
        right.append(Paragraph(markup_escape(head), centred_bold))
    table = Table([[left, middle, right]], colWidths=[width * 0.36, width * 0.28, width * 0.36])
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return table


def ruled_table(data: list[list[Any]], widths: list[float], *, h_align: str = "CENTER") -> Table:
    """A report's ruled table whose header row (shaded) repeats on every page: the targets reports' and the centre
    report's tables."""
    table = Table(data, colWidths=widths, repeatRows=1, hAlign=h_align)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dce6f1")),
                ("VALIGN", (0, 0), (-1, 0), "MIDDLE"),
                ("VALIGN", (0, 1), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table
