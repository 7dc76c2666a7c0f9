"""Certificates of recognition (PDF, Vietnamese, with the QR code of the public verification page) and that page.

The builder takes plain data and returns bytes (testable without a request); fonts, dates and the QR code come
from ``lms/core/pdf.py``, shared with the course certificates. The verification pages are the only public pages of
titles: rate-limited with the same budget as the course certificates (enough for people, too little to guess
codes), not indexed, and they show the minimum a third party needs — never an ID number, a birth date or a full
personal name.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import Select, func, insert, select

from lms.api.limits import verify_limit
from lms.auth.decorators import permission_required
from lms.auth.permissions import Permission
from lms.core.models import AuditEvent
from lms.core.pdf import (
    DARK_RED,
    FONT,
    FONT_BOLD,
    NAVY,
    centred_lines,
    credential_qrs,
    draw_frame_and_heading,
    draw_heading,
    draw_verification,
    normalise_code,
    recipients_lines,
    register_fonts,
    vi_date,
    vi_long_date,
)
from lms.core.services import audit
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit
from lms.titles import approvals, bp, drafts, recognition, services
from lms.titles.models import CriteriaSet, Recognition, RecognitionStatus, Title
from lms.titles.recognition_forms import RECOGNITION_STATUS_NAMES, TITLE_NAMES


def verification_url(code: str) -> str:
    """What the certificate's QR code encodes: the absolute address of its public verification page."""
    return url_for("titles.recognition_verify", code=code, _external=True)


@dataclass(frozen=True)
class RecognitionCertificate:
    code: str
    title_name: str  # "Gia đình học tập"
    year: int
    level: int | None
    subject_label: str  # "Gia đình", "Công dân", "Đơn vị"…
    subject_name: str
    address: str  # "Thôn Một, xã Ea Tu, tỉnh Quảng Ngãi"
    place: str  # the place name written before the date: "Ea Tu"
    decision_number: str
    decision_date: date
    authority: str
    valid_until: date | None  # the certificate's end; none for a one-year title (ADR 17)
    verify_url: str
    # The provisional criteria the result rests on, (name, clause in the legal text): printed on a second
    # page, so nobody mistakes a placeholder threshold for a clause of the decision (ADR 18).
    provisional: tuple[tuple[str, str], ...] = field(default=())
    criteria_name: str = ""
    credential_qr: str = ""  # the signed credential, for the second QR code (lms.core.pdf.credential_qr)
    # The heading and the signature block, in capitals (approvals.Issuer): the superior body, the issuing body, the
    # signer's lines. Without an issuing body, the authority stands in both places.
    superior: tuple[str, ...] = ()
    issuer: tuple[str, ...] = ()
    signer: tuple[str, ...] = ()

    def heading(self) -> list[tuple[str, str]]:
        """The top-left block (Decree 30/2020, Appendix I): the superior body in regular capitals, then the issuing
        body in bold capitals (lms.core.pdf.draw_frame_and_heading rules a short line under it)."""
        if not self.issuer:
            return [(self.authority.upper(), FONT_BOLD)]
        return [*((line, FONT) for line in self.superior), *((line, FONT_BOLD) for line in self.issuer)]

    def signature(self) -> list[str]:
        return list(self.signer) if self.signer else simpleSplit(self.authority.upper(), FONT_BOLD, 11, 230)[:2]


SUBJECT_LABELS = {
    Title.CITIZEN: "Công dân",
    Title.FAMILY: "Gia đình",
    Title.CLAN: "Dòng họ",
    Title.VILLAGE_COMMUNITY: "Thôn",
    Title.UNIT: "Đơn vị",
    Title.COMMUNE_COMMUNITY: "Xã",
}


def certificate_data(row: Recognition, verify_url: str) -> RecognitionCertificate:
    """The certificate of a recognised subject (a constant number of queries)."""
    return certificates_data([row], {row.id: verify_url})[0]


def certificates_data(rows: Sequence[Recognition], verify_urls: dict[int, str]) -> list[RecognitionCertificate]:
    """The certificates of recognised subjects, in their order — a decision's, printed together: a fixed number of
    statements whatever their number (subjects by type, places, villages, criteria sets, title names and the
    credentials each read once for all)."""
    found = drafts.named(rows)
    named, places, villages = found.subjects, found.places, found.villages
    set_ids = {r.criteria_set_id for r in rows if r.criteria_set_id}
    criteria_sets = (
        {c.id: c for c in db.session.scalars(select(CriteriaSet).where(CriteriaSet.id.in_(set_ids)))} if set_ids else {}
    )
    titles = recognition.title_names_vi(rows)
    rules = approvals.rules_for((r.id, r.title, r.subject_type, r.subject_id) for r in rows)
    qrs = credential_qrs("recognition", rows)
    return [
        _certificate(
            row,
            verify_urls[row.id],
            subject=named.get((row.subject_type, row.subject_id)),
            places=places[row.commune_id],
            village=villages.get(row.village_id) if row.village_id else None,
            criteria_set=criteria_sets.get(row.criteria_set_id) if row.criteria_set_id else None,
            title_name=titles[row.id],
            qr=qrs.get(row.id, ""),
            issuer=approvals.issuer(rules[row.id], *places[row.commune_id]),
        )
        for row in rows
    ]


def _certificate(
    row: Recognition,
    verify_url: str,
    *,
    subject: recognition.Subject | None,
    places: tuple[AdminUnit, AdminUnit | None],
    village: AdminUnit | None,
    criteria_set: CriteriaSet | None,
    title_name: str,
    qr: str,
    issuer: approvals.Issuer,
) -> RecognitionCertificate:
    assert row.decision_date is not None
    assert row.certificate_code is not None
    commune, province = places
    basis = services.provisional_basis(criteria_set, services.breakdown_codes(row.breakdown))
    return RecognitionCertificate(
        code=row.certificate_code,
        title_name=title_name,
        year=row.year,
        level=row.level,
        subject_label=SUBJECT_LABELS[Title(row.title)],
        subject_name=subject.printed_name if subject else "",
        address=drafts.address(row, village, commune, province),
        place=commune.name,
        decision_number=row.decision_number,
        decision_date=row.decision_date,
        authority=row.authority,
        valid_until=recognition.certificate_valid_until(row),
        verify_url=verify_url,
        provisional=tuple((i.name, i.source_ref) for i in basis.indicators) if basis else (),
        criteria_name=f"{criteria_set.name} — {criteria_set.source}" if criteria_set else "",
        credential_qr=qr,
        superior=issuer.superior,
        issuer=issuer.body,
        signer=issuer.signer,
    )


def certificate_pdf(data: RecognitionCertificate) -> bytes:
    """The certificate of recognition: A4 landscape, in Vietnamese, with the verification code and its QR."""
    register_fonts()
    buffer = io.BytesIO()
    width, height = landscape(A4)
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1)
    canvas.setTitle(f"Giấy công nhận {data.title_name} năm {data.year} — {data.code}")
    canvas.setAuthor(data.authority)
    canvas.setSubject(f"{data.title_name} năm {data.year}")
    _draw_certificate(canvas, data, width, height)
    canvas.save()
    return buffer.getvalue()


@dataclass(frozen=True)
class DecisionDocument:
    """One decision of recognition as printed at once: the list of those it recognises, then their certificates."""

    title_name: str
    year: int
    decision_number: str
    decision_date: date
    authority: str
    place: str
    rows: tuple[tuple[str, str, str], ...]  # (name, address, certificate code), in the order of the certificates
    certificates: tuple[RecognitionCertificate, ...]
    # The deciding body as the approvals configuration names it (approvals.issuer): the heading, the signature and
    # the recipients ("Nơi nhận") of the decision. Without an issuing body, the authority heads and signs.
    superior: tuple[str, ...] = ()
    issuer: tuple[str, ...] = ()
    signer: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()


def decision_pdf(document: DecisionDocument, on_certificate: Callable[[int], None] | None = None) -> bytes:
    """A decision's list of recognised subjects (the annex a commune files with its decision) followed by every
    certificate it gives, ready to print in one go: A4 landscape, in Vietnamese. ``on_certificate`` is told how many
    certificates are drawn after each one (a task's progress)."""
    register_fonts()
    buffer = io.BytesIO()
    width, height = landscape(A4)
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1)
    canvas.setTitle(f"Quyết định {document.decision_number} — {document.title_name} năm {document.year}")
    canvas.setAuthor(document.authority)
    canvas.setSubject(f"{document.title_name} năm {document.year}")
    _draw_decision_list(canvas, document, width, height)
    for count, data in enumerate(document.certificates, start=1):
        _draw_certificate(canvas, data, width, height)
        if on_certificate is not None:
            on_certificate(count)
    canvas.save()
    return buffer.getvalue()


def _draw_decision_list(canvas: Canvas, document: DecisionDocument, width: float, height: float) -> None:
    left, right = 50, width - 50
    columns = [(left, "STT"), (left + 40, "Tên"), (left + 330, "Địa chỉ"), (right - 110, "Mã xác thực")]

    def heading_row(y: float) -> float:
        # Each page of the list says which decision it belongs to and its number, at its foot.
        canvas.setFont(FONT, 8)
        canvas.drawString(left, 25, f"Danh sách kèm theo Quyết định số {document.decision_number}")
        canvas.drawRightString(right, 25, f"Trang {canvas.getPageNumber()}")
        canvas.setFont(FONT_BOLD, 10)
        for x, label in columns:
            canvas.drawString(x, y, label)
        canvas.line(left, y - 5, right, y - 5)
        return y - 20

    # Decree 30/2020 (Appendix I): the deciding body at the top left, the national name and motto at the top right
    # with the place and day of the decision under them; the list's title and the decision it goes with, centred.
    heading = (
        [*((line, FONT) for line in document.superior), *((line, FONT_BOLD) for line in document.issuer)]
        if document.issuer
        else [(document.authority.upper(), FONT_BOLD)]
    )
    top = draw_heading(canvas, heading, left_x=left + 150, right_x=width - 215, top=height - 45)
    canvas.setFont(FONT, 11)
    canvas.drawCentredString(width - 215, height - 84, f"{document.place}, {vi_long_date(document.decision_date)}")
    title_y = min(top, height - 84) - 30
    canvas.setFont(FONT_BOLD, 13)
    canvas.drawCentredString(width / 2, title_y, f"DANH SÁCH {document.title_name.upper()} NĂM {document.year}")
    canvas.setFont(FONT, 11)
    canvas.drawCentredString(
        width / 2,
        title_y - 19,
        f"(Kèm theo Quyết định số {document.decision_number} ngày {vi_date(document.decision_date)} "
        f"của {document.authority})",
    )
    canvas.drawCentredString(width / 2, title_y - 37, f"Tổng số: {len(document.rows)}")
    y = heading_row(title_y - 65)
    recipients = recipients_lines(document.recipients)
    closing = 20 + 12 * max(len(recipients) + 1, 4)  # "Nơi nhận" and its lines, or the signature block's height
    for number, (name, address, code) in enumerate(document.rows, start=1):
        # Whole, however long: two lines at most cut a long address's end off without a mark.
        address_lines = simpleSplit(address, FONT, 10, right - 110 - (left + 330) - 10) or [""]
        name_lines = simpleSplit(name, FONT, 10, 280) or [""]
        needed = 14 * max(len(address_lines), len(name_lines))
        # The last row goes over with the closing when the closing would not fit under it: the signature never
        # stands alone on a page without the list it signs (nor the heading and the page number a list page has).
        reserve = closing + 4 if number == len(document.rows) else 0
        if y - needed - reserve < 50:
            canvas.showPage()
            y = heading_row(height - 50)
        canvas.setFont(FONT, 10)
        canvas.drawString(left, y, str(number))
        for i, line in enumerate(name_lines):
            canvas.drawString(left + 40, y - 14 * i, line)
        for i, line in enumerate(address_lines):
            canvas.drawString(left + 330, y - 14 * i, line)
        canvas.drawString(right - 110, y, code)
        y -= needed + 4
    if y - closing < 45:  # the closing is never cut by the page's foot (a list without rows)
        canvas.showPage()
        y = height - 60
    # The closing: "Nơi nhận:" and its list at the bottom left, the signature block on the right.
    sign_x = width - 215
    signature = list(document.signer) or simpleSplit(document.authority.upper(), FONT_BOLD, 11, 230)[:2]
    centred_lines(canvas, signature, sign_x, y - 24, FONT_BOLD, 11, 14)
    if recipients:
        canvas.setFont(FONT_BOLD, 10)
        canvas.drawString(left, y - 24, "Nơi nhận:")
        canvas.setFont(FONT, 9)
        for i, line in enumerate(recipients, start=1):
            canvas.drawString(left, y - 24 - 12 * i, line)
    canvas.showPage()


def _draw_certificate(canvas: Canvas, data: RecognitionCertificate, width: float, height: float) -> None:
    draw_frame_and_heading(canvas, width, height, data.heading())

    canvas.setFillColor(DARK_RED)
    canvas.setFont(FONT_BOLD, 26)
    canvas.drawCentredString(width / 2, height - 165, "GIẤY CÔNG NHẬN")
    canvas.setFont(FONT_BOLD, 20)
    level = f" — mức độ {data.level}" if data.level else ""
    canvas.drawCentredString(width / 2, height - 195, f"“{data.title_name.upper()}” NĂM {data.year}{level}")
    canvas.setFillColor(colors.black)

    label_x, value_x = 150, 320
    rows = [
        (f"{data.subject_label}:", data.subject_name, FONT_BOLD, 16),
        ("Địa chỉ:", data.address, FONT, 12.5),
        ("Theo Quyết định số:", f"{data.decision_number} ngày {vi_date(data.decision_date)}", FONT, 12.5),
        ("Của:", data.authority, FONT, 12.5),
        # A one-year title records the year it was earned and does not lapse: its decision comes in the year after,
        # so an end of 31/12 of that year would have it expire before it is given (ADR 17).
        ("Có giá trị đến hết ngày:", vi_date(data.valid_until), FONT, 12.5)
        if data.valid_until
        else ("Có giá trị:", f"không thời hạn — ghi nhận danh hiệu đạt được trong năm {data.year}", FONT, 12.5),
    ]
    y = height - 240
    for label, value, font, size in rows:
        canvas.setFont(FONT, 12.5)
        canvas.drawString(label_x, y, label)
        canvas.setFillColor(NAVY if font == FONT_BOLD else colors.black)
        for line in simpleSplit(value, font, size, width - value_x - 90)[:3]:
            canvas.setFont(font, size)
            canvas.drawString(value_x, y, line)
            y -= size + 6
        canvas.setFillColor(colors.black)
        y -= 6

    sign_x = width - 215
    canvas.setFont(FONT, 12)
    canvas.drawCentredString(sign_x, 150, f"{data.place}, {vi_long_date(data.decision_date)}")
    below = centred_lines(canvas, data.signature(), sign_x, 132, FONT_BOLD, 11, 14)
    canvas.setFont(FONT, 9)
    canvas.drawCentredString(sign_x, below - 4, "(Ký, ghi rõ họ tên, đóng dấu)")

    draw_verification(canvas, data.verify_url, data.code, credential=data.credential_qr)
    if data.provisional:
        canvas.setFillColor(DARK_RED)
        canvas.setFont(FONT, 9)
        canvas.drawString(
            48, 146, f"Lưu ý: kết quả dựa trên {len(data.provisional)} tiêu chí tạm thời — xem danh sách ở trang sau."
        )
        canvas.setFillColor(colors.black)
    canvas.showPage()
    if data.provisional:
        _provisional_page(canvas, data, width, height)


def _provisional_page(canvas: Canvas, data: RecognitionCertificate, width: float, height: float) -> None:
    """The second page: each provisional criterion the result rests on, by its name and its clause (ADR 18). Where
    the values came from instead is a note for staff (the criteria pages), not for a document handed to a family."""
    left, right = 60, width - 60
    canvas.setFont(FONT_BOLD, 14)
    canvas.drawCentredString(width / 2, height - 60, "TIÊU CHÍ TẠM THỜI MÀ KẾT QUẢ DỰA VÀO")
    y = height - 84
    canvas.setFont(FONT, 10)
    intro = (
        f"Bộ tiêu chí: {data.criteria_name}. Các tiêu chí dưới đây là tiêu chí tạm thời: giá trị của chúng chưa được "
        "đối chiếu với toàn văn của văn bản quy định."
    )
    for line in simpleSplit(intro, FONT, 10, right - left):
        canvas.drawString(left, y, line)
        y -= 14
    y -= 6
    for number, (name, clause) in enumerate(data.provisional, start=1):
        lines = [(FONT_BOLD, f"{number}. {name}")]
        lines += [(FONT, f"{clause} — tiêu chí tạm thời" if clause else "Tiêu chí tạm thời")]
        if y - 13 * sum(len(simpleSplit(t, f, 9.5, right - left)) for f, t in lines) < 40:
            canvas.showPage()
            y = height - 60
        for font, text in lines:
            canvas.setFont(font, 9.5)
            for part in simpleSplit(text, font, 9.5, right - left):
                canvas.drawString(left, y, part)
                y -= 13
        y -= 5
    canvas.setFont(FONT, 8)
    canvas.drawString(left, 30, f"Mã xác thực: {data.code}")
    canvas.showPage()


# --- routes ----------------------------------------------------------------------------------------------------


@bp.get("/recognitions/<int:recognition_id>/certificate.pdf")
@permission_required(Permission.TITLES_VIEW)
def recognition_certificate(recognition_id: int):
    row = db.session.scalar(recognition.recognitions_select(current_user).where(Recognition.id == recognition_id))
    if row is None:
        abort(404)
    if row.status != RecognitionStatus.RECOGNISED:
        abort(
            409 if row.status == RecognitionStatus.PROPOSED else 410,
            description=_(
                "Only a recognised title has a certificate (this one is %(status)s).",
                status=str(RECOGNITION_STATUS_NAMES[row.status]).lower(),
            ),
        )
    data = certificate_data(row, verification_url(row.certificate_code or ""))
    audit("recognition.certificate", row, code=row.certificate_code)
    # The credential it may have issued is committed before the page is drawn, so the write lock (SQLite's, for the
    # whole database) is not held while it renders — as for a decision's print.
    db.session.commit()
    return pdf_response(certificate_pdf(data), f"cong-nhan-{data.code}.pdf")


@bp.get("/verify")
@verify_limit
def recognition_verify_form():
    """Public: type the code printed under the QR code."""
    code = normalise_code(request.args.get("code", ""))
    if code:
        return redirect(url_for("titles.recognition_verify", code=code))
    return render_template("titles/recognition/verify_form.html")


@bp.get("/verify/<code>")
@verify_limit
def recognition_verify(code: str):
    """Public: is this certificate of recognition genuine, and still valid?"""
    row = recognition.find_by_code(code) if len(code) <= 40 else None
    if row is None:
        response = Response(
            render_template(
                "verify_unknown.html",
                code=code[:40],
                status_id="recognition-status",
                form_endpoint="titles.recognition_verify_form",
            ),
            status=404,
        )
    else:
        criteria_set = db.session.get(CriteriaSet, row.criteria_set_id) if row.criteria_set_id else None
        response = Response(
            render_template(
                "titles/recognition/verify.html",
                view=recognition.public_view(row),
                title_names=TITLE_NAMES,
                # The certificate's second page, on the page its QR code opens (ADR 18).
                provisional=services.provisional_basis(criteria_set, services.breakdown_codes(row.breakdown)),
            )
        )
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Cache-Control"] = "no-store"
    return response


def decision_members_select(row: Recognition) -> Select:
    """The recognitions one decision gave in ``row``'s commune, title and year (those since revoked left out), in
    the user's view scope."""
    return recognition.recognitions_select(
        current_user, year=row.year, title=row.title, status=RecognitionStatus.RECOGNISED
    ).where(
        Recognition.commune_id == row.commune_id,
        Recognition.decision_number == row.decision_number,
        Recognition.decision_date == row.decision_date,
    )


def decision_size(row: Recognition) -> int:
    stmt = decision_members_select(row).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(stmt)) or 0


@dataclass(frozen=True)
class DecisionLine:
    """One decision of the recognitions list: its first recognition's id (the print's address), number, date, title,
    year, commune, how many it recognised, and who decided — the level ("commune", "province") and the authority."""

    id: int
    decision_number: str
    decision_date: date
    title: str
    year: int
    commune_id: int
    count: int
    level: str
    authority: str


def decisions_in(stmt: Select, limit: int = 20) -> list[DecisionLine]:
    """The decisions among the recognitions ``stmt`` selects, newest first, with the level that decided each (two
    statements whatever the number of decisions)."""
    rows = stmt.order_by(None).where(Recognition.status == RecognitionStatus.RECOGNISED).subquery()
    grouped = (
        select(
            func.min(rows.c.id).label("id"),
            rows.c.decision_number,
            rows.c.decision_date,
            rows.c.title,
            rows.c.year,
            rows.c.commune_id,
            func.count().label("members"),
        )
        .group_by(rows.c.decision_number, rows.c.decision_date, rows.c.title, rows.c.year, rows.c.commune_id)
        .order_by(rows.c.decision_date.desc(), rows.c.decision_number)
        .limit(limit)
    )
    decisions = list(db.session.execute(grouped))
    firsts = {
        row.id: row
        for row in db.session.execute(
            select(
                Recognition.id,
                Recognition.title,
                Recognition.subject_type,
                Recognition.subject_id,
                Recognition.authority,
            ).where(Recognition.id.in_([d.id for d in decisions]))
        )
    }
    rules = approvals.rules_for((r.id, r.title, r.subject_type, r.subject_id) for r in firsts.values())
    return [
        DecisionLine(
            id=d.id,
            decision_number=d.decision_number,
            decision_date=d.decision_date,
            title=d.title,
            year=d.year,
            commune_id=d.commune_id,
            count=d.members,
            level=rules[d.id].level,
            authority=firsts[d.id].authority or "",
        )
        for d in decisions
    ]


@bp.get("/recognitions/<int:recognition_id>/decision.pdf")
@permission_required(Permission.TITLES_VIEW)
def recognition_decision(recognition_id: int):
    """The decision that recognised this subject, printed whole: its list and every certificate it gives."""
    row = db.session.scalar(recognition.recognitions_select(current_user).where(Recognition.id == recognition_id))
    if row is None:
        abort(404)
    if row.status != RecognitionStatus.RECOGNISED or row.decision_date is None:
        abort(409, description=_("Only a recognised title has a decision to print."))
    if decision_size(row) > current_app.config["TITLES_PRINT_INLINE_MAX"]:
        # Too many certificates to draw while the browser waits: the print page runs it as a task (ADR 47).
        return redirect(url_for("titles.decision_print", recognition_id=row.id), 303)
    members = list(db.session.scalars(decision_members_select(row)))
    document = decision_document(members, row)
    # One audit event per certificate printed, in one statement.
    if members:
        db.session.execute(
            insert(AuditEvent),
            [
                {
                    "action": "recognition.certificate",
                    "object_type": "recognition",
                    "object_id": str(member.id),
                    "user_id": current_user.id,
                    "details": {"code": member.certificate_code},
                    "ip": request.remote_addr,
                    "at": utcnow(),
                }
                for member in members
            ],
        )
    # Issuing the credentials wrote: commit before drawing dozens of pages, so the write lock (SQLite's, for the
    # whole database) is not held while they render.
    db.session.commit()
    return pdf_response(decision_pdf(document), f"quyet-dinh-cong-nhan-{row.year}-{row.id}.pdf")


def decision_document(members: Sequence[Recognition], row: Any) -> DecisionDocument:
    """The list and certificates of the decision ``row`` belongs to (a recognition, or a print of its decision),
    given its ``members``; under a request context (the verification addresses)."""
    certificates = certificates_data(members, {r.id: verification_url(r.certificate_code or "") for r in members})
    commune, province = approvals.places([row.commune_id])[row.commune_id]
    issuer = approvals.Issuer(superior=(), body=(), signer=())
    if members:
        first = members[0]
        rule = approvals.rules_for([(first.id, first.title, first.subject_type, first.subject_id)])[first.id]
        label = SUBJECT_LABELS[Title(first.title)]
        recognised = (
            f"{label} có tên trong Danh sách" if len(members) == 1 else f"Các {label.lower()} có tên trong Danh sách"
        )
        issuer = approvals.issuer(rule, commune, province, recognised=recognised)
    return DecisionDocument(
        # As its certificates name it ("Đơn vị học tập cấp tỉnh" for a province-level unit).
        title_name=certificates[0].title_name if certificates else recognition.TITLE_NAMES_VI[Title(row.title)],
        year=row.year,
        decision_number=row.decision_number or "",
        decision_date=row.decision_date,
        authority=(members[0].authority if members else getattr(row, "authority", "")) or "",
        place=commune.name,
        rows=tuple((c.subject_name, c.address, c.code) for c in certificates),
        certificates=tuple(certificates),
        superior=issuer.superior,
        issuer=issuer.body,
        signer=issuer.signer,
        recipients=issuer.recipients,
    )


def pdf_response(content: bytes, filename: str) -> Response:
    """A PDF shown in the browser (printed from there), never cached: it names people."""
    return Response(
        content,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "private, no-store"},
    )
