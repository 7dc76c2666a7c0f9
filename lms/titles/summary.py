"""The summary of an evaluation's results, criterion by criterion, as a filed document (ADR 61, amended).

Circular 24/2023, Art. 10.1.b–c (16.1.b–c), and Circular 25/2023, Art. 9.1.b and d: the dossier a unit or a commune
sends holds a "Bản tổng hợp kết quả tự đánh giá các tiêu chí, chỉ tiêu", its figures counted "từ ngày 01 tháng 1 đến
ngày 31 tháng 12 của năm đánh giá". The explanation page shows what it holds; this prints it: the heading of who
files it, the year's period, every indicator with its clause, result, points or verdict and where the value came
from, the conclusion, and the signatures. The other titles (a family, a citizen, a clan, a village) print the same
table under "Bản tổng hợp kết quả đánh giá các tiêu chí" — what the commune keeps with its decision.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer

from lms.core.pdf import (
    FONT,
    FONT_BOLD,
    markup_escape,
    page_footer,
    register_fonts,
    report_closing,
    report_heading,
    ruled_table,
    vi_date,
    vi_long_date,
    vi_number,
)
from lms.registry.issuers import Issuer
from lms.titles.models import Eligibility, SubjectType
from lms.titles.recognition import TITLE_NAMES_VI
from lms.titles.services import ExplainedItem

#: The subjects whose dossier the circulars describe: the summary is a self-assessment ("tự đánh giá").
SELF_ASSESSED = (SubjectType.ORGANISATION.value, SubjectType.COMMUNE.value)


@dataclass(frozen=True)
class SummaryRow:
    group: str
    name: str
    clause: str
    value: str  # "37,5 %", "Đạt", "" for none
    verdict: str  # "8 / 10 điểm", "Đạt", "Không đạt"
    source: str  # where the value came from, the assessment's evidence, what is missing


@dataclass(frozen=True)
class Summary:
    issuer: Issuer
    title_name: str
    year: int
    subject_line: str  # "Đơn vị: Trường Tiểu học Kon Hra — xã Ea Tu"
    self_assessed: bool
    criteria: str  # "Cộng đồng học tập cấp xã — Thông tư 25/2023/TT-BGDĐT …, phiên bản 2"
    evaluated_at: str
    provisional: bool
    rows: tuple[SummaryRow, ...]
    conclusion: str
    projection: str
    made_on: date
    made_by: str


def summary_of(
    eligibility: Eligibility,
    items: list[ExplainedItem],
    *,
    issuer: Issuer,
    subject: str,
    projection: str,
    made_on: date,
    made_by: str,
    evaluated_at: str,
) -> Summary:
    """The summary of ``eligibility`` from its explained ``items`` (``services.explain`` in Vietnamese)."""
    criteria_set = eligibility.criteria_set
    rows = []
    for x in items:
        info = x.indicator
        item = x.item
        if item.get("points") is not None:
            most = item.get("max") or (info.max_points if info else None)
            verdict = f"{vi_number(item['points'])}{f' / {vi_number(most)}' if most else ''} điểm"
        elif isinstance(item.get("levels"), list):  # levels style: the levels whose bar the value meets
            levels = item["levels"]
            verdict = f"Đạt mức {', '.join(str(n) for n in levels)}" if levels else "Không đạt"
        elif item.get("met") is not None:
            verdict = "Đạt" if item["met"] else "Không đạt"
        else:
            verdict = "Đạt" if x.satisfied else "Không đạt"
        evidence = ""
        if x.assessment is not None and x.assessment.evidence_ref:
            evidence = f"Minh chứng: {x.assessment.evidence_ref}"
        source = ". ".join(part.rstrip(". ") for part in (x.source_text, evidence, x.missing_text) if part)
        rows.append(
            SummaryRow(
                group=info.group if info else "",
                name=x.name,
                clause=info.source_ref if info else "",
                value=x.value_text,
                verdict=verdict,
                source=source,
            )
        )
    return Summary(
        issuer=issuer,
        title_name=TITLE_NAMES_VI.get(eligibility.title, eligibility.title),  # type: ignore[call-overload]
        year=eligibility.year,
        subject_line=subject,
        self_assessed=eligibility.subject_type in SELF_ASSESSED,
        criteria=f"{criteria_set.name} — {criteria_set.source}, phiên bản {criteria_set.version}",
        evaluated_at=evaluated_at,
        provisional=criteria_set.status == "provisional",
        rows=tuple(rows),
        conclusion=_conclusion(eligibility),
        projection=projection,
        made_on=made_on,
        made_by=made_by,
    )


def _conclusion(eligibility: Eligibility) -> str:
    if eligibility.applicable is False:
        return "Kết luận: danh hiệu không áp dụng cho đối tượng này."
    definition = eligibility.criteria_set.definition or {}
    if eligibility.level is not None:
        if eligibility.level:
            return f"Kết luận: đạt mức độ {eligibility.level}."
        return "Kết luận: chưa đạt mức độ 1."
    score = f"Tổng điểm: {vi_number(eligibility.score)}" if eligibility.score is not None else ""
    need = definition.get("pass_total")
    if score and need is not None:
        score += f" (cần từ {vi_number(need)} điểm)"
    verdict = "đủ điều kiện công nhận" if eligibility.eligible else "chưa đủ điều kiện công nhận"
    return f"{score}. Kết luận: {verdict}." if score else f"Kết luận: {verdict}."


def summary_pdf(summary: Summary) -> bytes:
    """The summary as an A4 portrait PDF, in Vietnamese, laid out as a filed document (Decree 30/2020, Appendix I)."""
    register_fonts()
    buffer = io.BytesIO()
    kind = "TỰ ĐÁNH GIÁ" if summary.self_assessed else "ĐÁNH GIÁ"
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=f"Bản tổng hợp kết quả {kind.lower()} — {summary.title_name} năm {summary.year}",
        author=" ".join(summary.issuer.body),
    )
    width = document.width
    text = ParagraphStyle("summary-text", fontName=FONT, fontSize=11, leading=15)
    bold = ParagraphStyle("summary-bold", parent=text, fontName=FONT_BOLD)
    cell = ParagraphStyle("summary-cell", fontName=FONT, fontSize=9, leading=11)
    head = ParagraphStyle("summary-head", parent=cell, fontName=FONT_BOLD, alignment=1)
    group_style = ParagraphStyle("summary-group", parent=cell, fontName=FONT_BOLD)
    story: list = report_heading(
        superior=summary.issuer.superior,
        body=summary.issuer.body,
        number_line="",
        place_date=f"{summary.issuer.place}, {vi_long_date(summary.made_on)}",
        width=width,
        title=f"BẢN TỔNG HỢP KẾT QUẢ {kind}\nCÁC TIÊU CHÍ, CHỈ TIÊU",
        summary=f"“{summary.title_name}” năm {summary.year}",
    )
    first, last = date(summary.year, 1, 1), date(summary.year, 12, 31)
    story += [
        Paragraph(markup_escape(summary.subject_line), bold),
        Paragraph(markup_escape(f"Bộ tiêu chí: {summary.criteria}."), text),
        Paragraph(
            markup_escape(
                f"Thông tin, số liệu tính từ ngày {vi_date(first)} đến ngày {vi_date(last)} của năm đánh giá; "
                f"kết quả tính lúc {summary.evaluated_at}."
            ),
            text,
        ),
    ]
    if summary.provisional:
        story.append(
            Paragraph(
                "Bộ tiêu chí tạm thời: chưa có toàn văn chính thức cho một số ngưỡng; kết quả dùng để tham khảo.", text
            )
        )
    story.append(Spacer(1, 3 * mm))
    data: list[list] = [
        [Paragraph(h, head) for h in ("STT", "Tiêu chí, chỉ tiêu", "Kết quả", "Đánh giá", "Nguồn số liệu, minh chứng")]
    ]
    group_rows = []
    group = None
    for number, row in enumerate(summary.rows, start=1):
        if row.group and row.group != group:
            group = row.group
            group_rows.append(len(data))
            data.append([Paragraph(markup_escape(row.group), group_style), "", "", "", ""])
        name = markup_escape(row.name) + (f"<br/><i>{markup_escape(row.clause)}</i>" if row.clause else "")
        data.append(
            [
                Paragraph(str(number), cell),
                Paragraph(name, cell),
                Paragraph(markup_escape(row.value), cell),
                Paragraph(markup_escape(row.verdict), cell),
                Paragraph(markup_escape(row.source), cell),
            ]
        )
    table = ruled_table(data, [10 * mm, width * 0.34, width * 0.12, width * 0.13, width - 10 * mm - width * 0.59])
    for index in group_rows:
        table.setStyle([("SPAN", (0, index), (-1, index))])
    story += [table, Spacer(1, 4 * mm), Paragraph(markup_escape(summary.conclusion), bold)]
    if summary.projection:
        story.append(Paragraph(markup_escape(summary.projection), text))
    signer = summary.issuer.signer  # none configured: "THỦ TRƯỞNG ĐƠN VỊ" (report_closing), a unit's head
    story.append(
        KeepTogether(
            [
                Spacer(1, 6 * mm),
                report_closing(recipients=(), maker=summary.made_by, signer=signer, width=width),
            ]
        )
    )
    footer = page_footer(f"Bản tổng hợp kết quả {kind.lower()} — {summary.title_name} năm {summary.year}")
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
