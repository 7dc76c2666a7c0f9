"""The draft of a recognition decision (dự thảo Quyết định công nhận), printed before it is signed.

Circular 24/2023, Art. 10.2.đ and 16.2.đ, and Circular 25/2023, Art. 9.2.đ, put a "dự thảo Quyết định công nhận" in
the dossier that goes up for signature; a commune recognising dozens of families each year writes the same decision
with a new list. The approver ticks the proposals on the decide page and asks for the draft: the decision laid out as
Decree 30/2020/NĐ-CP (Appendix I) lays out an individual decision — the deciding body and the number on the left, the
national name, motto, place and day on the right, "QUYẾT ĐỊNH" and its summary, the deciding office, the grounds
("Căn cứ …"), the proposer, Articles 1–3, "Nơi nhận" and the signature block — and, on the next pages, the list that
goes with it (ADR 61). Nothing is recorded: the number and the day may be left blank for the clerk, and the decision
is recorded on the same page once signed.

Who decides, under what heading, on what grounds and who executes it come from the approvals file
(``approvals.toml``: ``grounds``, ``proposer``, ``executors``), with each body's defaults
(:data:`approvals.DECISIONS`); the criteria the proposals were evaluated under add their own ground.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import HRFlowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select

from lms.core.pdf import (
    FONT,
    FONT_BOLD,
    markup_escape,
    page_footer,
    recipients_lines,
    register_fonts,
    report_heading,
    ruled_table,
    vi_long_date,
)
from lms.extensions import db
from lms.registry.models import AdminUnit, UnitLevel
from lms.titles import approvals, recognition
from lms.titles.models import CriteriaSet, Recognition, SubjectType, Title

BLANK = "……"

# The ground each set of criteria adds ("Căn cứ …"), as the legal texts name the instruments (Circular 25/2023, Art.
# 6.5.a, cites Decision 324 by its own name, "… công nhận danh hiệu “Công dân học tập” …"; Circular 24/2023, Art. 6.3.a,
# names the criteria it issues, without "danh hiệu"); a set not listed here is named by its own ``source``.
CRITERIA_GROUNDS = {
    "qd-324-2023": "Căn cứ Quyết định số 324/QĐ-KHVN ngày 25 tháng 10 năm 2023 của Ban Chấp hành Trung ương Hội "
    "Khuyến học Việt Nam ban hành Bộ tiêu chí và hướng dẫn đánh giá, công nhận danh hiệu “Công dân học tập” giai đoạn "
    "2021-2030",
    "qd-448-2015": "Căn cứ Quyết định số 448/QĐ-KHVN ngày 01 tháng 12 năm 2015 của Trung ương Hội Khuyến học Việt Nam",
    "tt-24-2023": "Căn cứ Thông tư số 24/2023/TT-BGDĐT của Bộ trưởng Bộ Giáo dục và Đào tạo",
    "tt-25-2023": "Căn cứ Thông tư số 25/2023/TT-BGDĐT của Bộ trưởng Bộ Giáo dục và Đào tạo",
}

# What a decision counts its subjects as, in a sentence: "42 gia đình", "3 đơn vị".
SUBJECT_NOUNS = {
    Title.CITIZEN: "công dân",
    Title.FAMILY: "gia đình",
    Title.CLAN: "dòng họ",
    Title.VILLAGE_COMMUNITY: "thôn",
    Title.UNIT: "đơn vị",
    Title.COMMUNE_COMMUNITY: "xã",
}


@dataclass(frozen=True)
class DraftDecision:
    title_name: str  # as the certificates print it: "Gia đình học tập", "Đơn vị học tập cấp tỉnh"
    year: int
    number: str  # as typed ("15/QĐ-UBND"), or empty: a blank for the clerk
    day: date | None  # or a blank
    place: str  # written before the day: the deciding level's unit ("Ea Tu")
    superior: tuple[str, ...]
    body: tuple[str, ...]
    office: str  # who decides, in capitals: "CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ EA TU"
    authority: str  # as the list names the decision's author: "Chủ tịch UBND xã Ea Tu"
    grounds: tuple[str, ...]  # "Căn cứ …", without the closing ";"
    proposer: str  # "Xét đề nghị của …"
    article_1: str
    executors: str  # Article 3's subject: "Chánh Văn phòng HĐND và UBND xã Ea Tu"
    recognised: str  # "các gia đình có tên tại Điều 1"
    recipients: tuple[str, ...]
    signer: tuple[str, ...]
    rows: tuple[tuple[str, str, str], ...]  # (name, address, level or ""), the list that goes with the decision
    levels: bool  # the title has levels: the list says each subject's


def draft_pdf(draft: DraftDecision) -> bytes:
    """The draft decision (A4 portrait, Vietnamese) and its list, every page marked "DỰ THẢO"."""
    register_fonts()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=18 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=f"Dự thảo Quyết định công nhận {draft.title_name} năm {draft.year}",
        author=" ".join(draft.body),
    )
    width = document.width
    body = ParagraphStyle("draft-body", fontName=FONT, fontSize=12, leading=16, alignment=4, firstLineIndent=10 * mm)
    grounds = ParagraphStyle("draft-grounds", parent=body, fontName=FONT, spaceAfter=2)
    centred_bold = ParagraphStyle("draft-centred", fontName=FONT_BOLD, fontSize=12, leading=16, alignment=1)
    number = draft.number or f"{BLANK}/{BLANK}"
    place_date = f"{draft.place}, {vi_long_date(draft.day) if draft.day else f'ngày {BLANK} tháng {BLANK} năm {BLANK}'}"
    story: list = [_mark()]
    story += report_heading(
        superior=draft.superior,
        body=draft.body,
        number_line=f"Số: {number}",
        place_date=place_date,
        width=width,
        title="QUYẾT ĐỊNH",
        summary=_summary(draft),
    )
    story += [
        HRFlowable(width="25%", thickness=0.6, color=colors.black, spaceBefore=0, spaceAfter=8, hAlign="CENTER"),
        Paragraph(markup_escape(draft.office), centred_bold),
        Spacer(1, 4 * mm),
    ]
    story += [Paragraph(markup_escape(f"{line};"), grounds) for line in draft.grounds]
    story.append(Paragraph(markup_escape(f"{draft.proposer}."), grounds))
    story += [Spacer(1, 3 * mm), Paragraph("QUYẾT ĐỊNH:", centred_bold), Spacer(1, 3 * mm)]
    articles = (
        draft.article_1,
        "Quyết định này có hiệu lực kể từ ngày ký.",
        f"{draft.executors} và {draft.recognised} chịu trách nhiệm thi hành Quyết định này./.",
    )
    for n, text in enumerate(articles, start=1):
        story.append(Paragraph(f"<b>Điều {n}.</b> {markup_escape(text)}", body))
    story += [Spacer(1, 6 * mm), _closing(draft, width)]
    story += [PageBreak(), *_list(draft, width)]
    footer = page_footer(f"Dự thảo Quyết định công nhận {draft.title_name} năm {draft.year}")
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _mark() -> Table:
    """ "DỰ THẢO" in a box at the top right: nobody files the draft as the signed decision."""
    style = ParagraphStyle("draft-mark", fontName=FONT_BOLD, fontSize=11, leading=14, alignment=1)
    mark = Table([[Paragraph("DỰ THẢO", style)]], colWidths=[30 * mm], hAlign="RIGHT")
    mark.setStyle(TableStyle([("BOX", (0, 0), (-1, -1), 0.8, colors.black)]))
    return mark


def _summary(draft: DraftDecision) -> str:
    return f"Về việc công nhận “{draft.title_name}” năm {draft.year}"


def _closing(draft: DraftDecision, width: float) -> Table:
    small = ParagraphStyle("draft-small", fontName=FONT, fontSize=10, leading=12)
    small_bold = ParagraphStyle("draft-small-bold", parent=small, fontName=FONT_BOLD, fontSize=11)
    centred = ParagraphStyle("draft-sign", fontName=FONT_BOLD, fontSize=12, leading=15, alignment=1)
    left = [Paragraph("<i>Nơi nhận:</i>", small_bold)]
    left += [Paragraph(markup_escape(line), small) for line in recipients_lines(draft.recipients)]
    right: list = [Paragraph(markup_escape(line), centred) for line in draft.signer]
    table = Table([[left, right]], colWidths=[width * 0.5, width * 0.5])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return table


def _list(draft: DraftDecision, width: float) -> list:
    """The list that goes with the decision ("Danh sách … kèm theo Quyết định số …")."""
    title = ParagraphStyle("draft-list-title", fontName=FONT_BOLD, fontSize=12, leading=16, alignment=1)
    centred = ParagraphStyle("draft-list-sub", fontName=FONT, fontSize=11, leading=14, alignment=1)
    cell = ParagraphStyle("draft-cell", fontName=FONT, fontSize=10, leading=12)
    head = ParagraphStyle("draft-head", parent=cell, fontName=FONT_BOLD, alignment=1)
    day = f"ngày {draft.day.strftime('%d/%m/%Y')}" if draft.day else f"ngày {BLANK}/{BLANK}/{BLANK}"
    number = draft.number or f"{BLANK}/{BLANK}"
    story: list = [
        _mark(),
        Paragraph(markup_escape(f"DANH SÁCH {draft.title_name.upper()} NĂM {draft.year}"), title),
        Paragraph(markup_escape(f"(Kèm theo Quyết định số {number} {day} của {draft.authority})"), centred),
        Paragraph(f"Tổng số: {len(draft.rows)}", centred),
        Spacer(1, 4 * mm),
    ]
    header = ["STT", "Tên", "Địa chỉ", *(["Mức độ"] if draft.levels else [])]
    data = [[Paragraph(h, head) for h in header]]
    for n, (name, address, level) in enumerate(draft.rows, start=1):
        line = [Paragraph(str(n), cell), Paragraph(markup_escape(name), cell), Paragraph(markup_escape(address), cell)]
        if draft.levels:
            line.append(Paragraph(markup_escape(level), cell))
        data.append(line)
    widths = [12 * mm, width * 0.38, width - 12 * mm - width * 0.38 - (22 * mm if draft.levels else 0)]
    if draft.levels:
        widths.append(22 * mm)
    story.append(ruled_table(data, widths))
    return story


# --- from the proposals --------------------------------------------------------------------------------------


class DraftRefused(Exception):
    """The selection cannot be one decision (nothing ticked, or two deciding bodies): the message says what to do."""


def office_of(authority: str, body: str) -> str:
    """Who decides, as the decision's heading names them: "CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ EA TU" from "Chủ tịch UBND
    xã Ea Tu"; the association's executive committee, "BAN CHẤP HÀNH HỘI KHUYẾN HỌC XÃ EA TU", from "Hội Khuyến học
    xã Ea Tu" (it decides as a body: its charter, Decision 324) — but an authority typed as a person ("Chủ tịch Hội
    Khuyến học xã Ea Tu") is that person."""
    words = " ".join(authority.split()).replace("UBND", "Ủy ban nhân dân")
    if body == "association" and words.casefold().startswith("hội"):
        words = f"Ban Chấp hành {words}"
    return words.upper()


def draft_of(rows: Sequence[Recognition], *, number: str, day: date | None, authority: str) -> DraftDecision:
    """The draft decision recognising the proposals ``rows`` (one title, one commune, one deciding body), with the
    number, day and authority typed on the decide page (any may be blank)."""
    if not rows:
        raise DraftRefused(_("Tick the proposals the decision recognises, then ask for its draft."))
    rules = approvals.rules_for((r.id, r.title, r.subject_type, r.subject_id) for r in rows)
    deciding = {(rule.level, rule.body) for rule in rules.values()}
    if len(deciding) > 1:
        raise DraftRefused(
            _(
                "The ticked proposals are decided by different bodies: one decision is one body's. "
                "Tick those of one body."
            )
        )
    first = rows[0]
    rule = rules[first.id]
    commune, province = approvals.places([first.commune_id])[first.commune_id]
    place_unit = commune if rule.level == UnitLevel.COMMUNE.value else province
    title = Title(first.title)
    noun = SUBJECT_NOUNS[title]
    recognised = f"các {noun} có tên tại Điều 1" if len(rows) > 1 else f"{noun} có tên tại Điều 1"
    words = approvals.decision_words(rule, commune, province)
    issuer = approvals.issuer(rule, commune, province, recognised=recognised)
    titles = recognition.title_names_vi(rows)
    title_name = titles[first.id]
    authority = " ".join(authority.split()) or approvals.authority_name(rule, commune, province)
    office = office_of(authority, rule.body)
    executors = " và ".join(words.executors) or BLANK
    # "Như Điều 3" stands for those who execute it and those it recognises; the rest of the body's recipients follow.
    recipients = (
        "Như Điều 3",
        *(
            line
            for line in issuer.recipients
            if line.casefold() != recognised.casefold()
            and not any(line.casefold() in e.casefold() for e in words.executors)
        ),
    )
    return DraftDecision(
        title_name=title_name,
        year=first.year,
        number=" ".join(number.split()),
        day=day,
        place=place_unit.name if place_unit is not None else commune.name,
        superior=issuer.superior,
        body=issuer.body,
        office=office,
        authority=authority,
        grounds=(*words.grounds, *_criteria_grounds(rows)),
        proposer=words.proposer or f"Xét đề nghị của {BLANK}",
        article_1=_article_1(rows, title_name, noun),
        executors=executors,
        recognised=recognised,
        recipients=recipients,
        # A chair deciding in their own name signs as the chair ("CHỦ TỊCH"), not for the committee ("TM. …");
        # a configured signature block is printed as configured.
        signer=issuer.signer
        if rule.signer or not office.startswith("CHỦ TỊCH")
        else tuple(line for line in issuer.signer if not line.startswith("TM.")),
        rows=_rows(rows),
        levels=any(r.level for r in rows),
    )


def _criteria_grounds(rows: Sequence[Recognition]) -> list[str]:
    set_ids = {r.criteria_set_id for r in rows if r.criteria_set_id}
    if not set_ids:
        return []
    found = db.session.execute(
        select(CriteriaSet.code, CriteriaSet.source).where(CriteriaSet.id.in_(set_ids)).order_by(CriteriaSet.code)
    ).all()
    grounds: list[str] = []
    for code, source in found:
        line = next((text for prefix, text in CRITERIA_GROUNDS.items() if code.startswith(prefix)), None)
        line = line or f"Căn cứ {' '.join((source or code).split()).rstrip('.;')}"
        if line not in grounds:
            grounds.append(line)
    return grounds


def _article_1(rows: Sequence[Recognition], title_name: str, noun: str) -> str:
    year = rows[0].year
    by_level = Counter(r.level for r in rows)
    if set(by_level) == {None}:
        return (
            f"Công nhận danh hiệu “{title_name}” năm {year} cho {len(rows)} {noun} "
            "có tên trong danh sách kèm theo Quyết định này."
        )
    parts = [
        f"{count} {noun} đạt “{title_name}” mức độ {level}" if level else f"{count} {noun} đạt “{title_name}”"
        for level, count in sorted(by_level.items(), key=lambda item: item[0] or 0)
    ]
    return f"Công nhận năm {year}: {'; '.join(parts)}; có tên trong danh sách kèm theo Quyết định này."


@dataclass(frozen=True)
class Named:
    """What a list of recognitions prints of its subjects, read once for all (a fixed number of statements)."""

    subjects: dict[tuple[str, int], recognition.Subject]  # by (subject type, subject id)
    places: dict[int, tuple[AdminUnit, AdminUnit | None]]  # commune id → (commune, province)
    villages: dict[int, AdminUnit]


def named(rows: Sequence[Recognition]) -> Named:
    """The subjects, communes, provinces and villages of ``rows``: by subject type, then two queries."""
    subjects: dict[tuple[str, int], recognition.Subject] = {}
    for subject_type in {r.subject_type for r in rows}:
        found = recognition.subjects(subject_type, [r.subject_id for r in rows if r.subject_type == subject_type])
        subjects.update({(subject_type, sid): subject for sid, subject in found.items()})
    village_ids = {r.village_id for r in rows if r.village_id}
    villages = (
        {u.id: u for u in db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(village_ids)))}
        if village_ids
        else {}
    )
    return Named(subjects, approvals.places({r.commune_id for r in rows}), villages)


def _rows(rows: Sequence[Recognition]) -> tuple[tuple[str, str, str], ...]:
    """Each proposal's name and address as its certificate will print them, in a fixed number of statements."""
    found = named(rows)
    named_subjects, places, villages = found.subjects, found.places, found.villages
    result = []
    for row in rows:
        subject = named_subjects.get((row.subject_type, row.subject_id))
        commune, province = places[row.commune_id]
        village = villages.get(row.village_id) if row.village_id else None
        result.append(
            (
                subject.printed_name if subject else "",
                address(row, village, commune, province),
                f"Mức độ {row.level}" if row.level else "",
            )
        )
    return tuple(result)


def address(row: Recognition, village: AdminUnit | None, commune: AdminUnit, province: AdminUnit | None) -> str:
    """ "Thôn Một, xã Ea Tu, tỉnh Quảng Ngãi": the places above the subject. A village's or a commune's own
    certificate does not repeat its name — but only a unit is such a subject; a household or a person whose id
    happened to be the province's lost the province."""
    subject_unit = row.subject_id if row.subject_type in (SubjectType.VILLAGE, SubjectType.COMMUNE) else None
    places_above = [u for u in (village, commune, province) if u is not None and u.id != subject_unit]
    return ", ".join(u.full_name if i == 0 else u.name_in_sentence for i, u in enumerate(places_above))
