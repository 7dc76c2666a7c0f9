"""The periodic reports: the indicator table of a scope and period as xlsx and PDF, with numerators,
denominators, their definitions, the targets and the gap; the sub-units; the year-by-year sheet of the reviews."""

from __future__ import annotations

import io
import os
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from lms.auth.models import Role
from lms.extensions import db
from lms.targets import reports
from tests.conftest import login, make_user
from tests.targets.dashboard_data import build_province, value


def _rows(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_annual_workbook_has_the_indicator_table_and_the_sub_units(app_ctx):
    data = build_province(2)
    table = reports.scope_table(data.plan, data.province)
    book = load_workbook(io.BytesIO(reports.indicator_xlsx(table)))
    assert book.sheetnames == ["Chỉ tiêu", "Đơn vị trực thuộc"]
    rows = _rows(book["Chỉ tiêu"])
    assert [r[0] for r in rows if r[0] == "BÁO CÁO"] == ["BÁO CÁO"]
    assert "Kết quả thực hiện các chỉ tiêu năm 2025" in [r[0] for r in rows]
    assert any(r[0] == f"Đơn vị: {data.province.full_name}" for r in rows)
    header = next(r for r in rows if r[0] == "STT")
    assert header[:8] == [
        "STT",
        "Chỉ tiêu",
        "Tử số",
        "Mẫu số",
        "Tỷ lệ (%)",
        "Định nghĩa mẫu số",
        "Mục tiêu 2025 (%)",
        "Mục tiêu 2030 (%)",
    ]
    # Indicators are numbered and named as filed, never by their code.
    assert not any("GD" in str(cell) for r in rows for cell in r if cell is not None)
    family = next(r for r in rows if r[1] == data.family.name)
    assert family[0] == 1
    # 65 × 2 over 100 × 2 stored for the province: 65 %, 15 points short of 80 %.
    assert family[2:9] == [130.0, 200.0, 65.0, "Tổng số hộ gia đình", 80.0, 85.0, 15.0]
    children = _rows(book["Đơn vị trực thuộc"])
    lagging = next(r for r in children if r[0] == data.communes[0].full_name and r[2] == data.family.name)
    assert lagging[1] == 1
    assert lagging[3:] == [20.0, 100.0, 20.0, 80.0, 60.0]
    # Filed on paper: landscape, one page wide, the header repeated, long text wrapped.
    for sheet in book.worksheets:
        assert sheet.page_setup.orientation == "landscape"
        assert sheet.page_setup.fitToWidth == 1
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
    name_cell = next(c for c in book["Chỉ tiêu"]["B"] if c.value == data.family.name)
    assert name_cell.alignment.wrap_text
    assert book["Chỉ tiêu"].column_dimensions["B"].width >= 40


def test_review_adds_the_years(app_ctx):
    data = build_province(1)
    value(data.family, data.province, 50, 100, period_end=date(2023, 12, 31))
    db.session.flush()
    table = reports.scope_table(data.plan, data.province)
    book = load_workbook(io.BytesIO(reports.indicator_xlsx(table, reports.ReportKind.REVIEW_2025)))
    assert "Sơ kết giai đoạn 2021–2025" in [row[0] for row in _rows(book["Chỉ tiêu"])]
    years = _rows(book["Theo năm"])
    assert years[0] == ["Năm", "(1) (%)", "(2) (%)"]
    assert years[1:4] == [[2023, 50.0, None], [2024, 65.0, 30.0], [2025, 65.0, 30.0]]
    assert ["(1)", data.family.name, None] in years  # the legend of the numbered columns


def test_pdf_is_a_printable_document(app_ctx):
    data = build_province(2)
    table = reports.scope_table(data.plan, data.province)
    content = reports.indicator_pdf(table, reports.ReportKind.REVIEW_2030)
    assert content.startswith(b"%PDF")
    assert b"DejaVu" in content  # the Vietnamese font is embedded
    assert len(content) > 5000


def test_report_routes_download_the_scope_and_period_asked_for(app, client):
    data = build_province(2)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    response = client.get(
        f"/targets/units/{data.province.id}/report.xlsx?report=annual&period=2024-12-31&plan={data.plan.id}"
    )
    assert response.status_code == 200
    assert response.mimetype == reports.XLSX_MIMETYPE
    assert "2024-12-31" in response.headers["Content-Disposition"]
    assert "chi-tieu-bao-cao-nam-" in response.headers["Content-Disposition"]  # the file's name in Vietnamese
    assert "annual" not in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert "Kết quả thực hiện các chỉ tiêu năm 2024" in [row[0] for row in _rows(book["Chỉ tiêu"])]
    pdf = client.get(f"/targets/units/{data.province.id}/report.pdf?report=review2025")
    assert "chi-tieu-so-ket-2021-2025-" in pdf.headers["Content-Disposition"]
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert client.get(f"/targets/units/{data.province.id}/report.pdf?report=weekly").status_code == 400


def test_the_2025_review_stops_at_2025_when_later_years_are_stored(app, client):
    data = build_province(1)
    value(data.family, data.province, 70, 100, period_end=date(2026, 12, 31))
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    base = f"/targets/units/{data.province.id}/report.xlsx?plan={data.plan.id}"
    review = load_workbook(io.BytesIO(client.get(f"{base}&report=review2025").data))
    assert [row[0] for row in _rows(review["Theo năm"])[1:3]] == [2024, 2025]
    assert 2026 not in [row[0] for row in _rows(review["Theo năm"])]
    assert any(row[0] == "Kỳ báo cáo: năm 2025 (đến ngày 31/12/2025)" for row in _rows(review["Chỉ tiêu"]))
    annual = load_workbook(io.BytesIO(client.get(f"{base}&report=annual").data))
    assert "Kết quả thực hiện các chỉ tiêu năm 2026" in [
        row[0] for row in _rows(annual["Chỉ tiêu"])
    ]  # the annual report: the latest year


def test_the_2025_review_from_the_dashboard_buttons_reports_2025_not_the_period_on_screen(app, client):
    """The dashboard's report buttons carry the period on screen (31/12/2026, or a month): the 2021–2025 review
    reports the years up to 2025 and measures the gap against the 2025 target, the annual report the period asked."""
    data = build_province(1)
    value(data.family, data.province, 70, 100, period_end=date(2026, 12, 31))
    value(data.family, data.province, 72, 100, period_end=date(2026, 11, 30), kind="month")
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    base = f"/targets/units/{data.province.id}/report.xlsx?plan={data.plan.id}&structure=current&basis=official"
    for asked in ("kind=year&period=2026-12-31", "kind=month&period=2026-11-30"):
        response = client.get(f"{base}&report=review2025&{asked}")
        assert response.status_code == 200
        rows = _rows(load_workbook(io.BytesIO(response.data))["Chỉ tiêu"])
        assert any(row[0] == "Kỳ báo cáo: năm 2025 (đến ngày 31/12/2025)" for row in rows), asked
        header = next(r for r in rows if r[0] == "STT")
        assert header[8] == "Còn thiếu so với mục tiêu 2025 (điểm %)"
        years = _rows(load_workbook(io.BytesIO(response.data))["Theo năm"])
        assert 2026 not in [row[0] for row in years]
    annual = load_workbook(io.BytesIO(client.get(f"{base}&report=annual&kind=year&period=2026-12-31").data))
    assert "Kết quả thực hiện các chỉ tiêu năm 2026" in [row[0] for row in _rows(annual["Chỉ tiêu"])]


def test_a_report_of_a_period_not_yet_ended_says_its_figures_run_to_the_day_it_is_made(app, client):
    """The year's report made in December counts to that day, not to 31/12: the report says so, and when it was
    made; a period already ended keeps 'đến ngày 31/12/…'."""
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    later = date(today.year + 1, 12, 31)
    data = build_province(1)
    value(data.family, data.province, 70, 100, period_end=later)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    base = f"/targets/units/{data.province.id}/report.xlsx?plan={data.plan.id}&report=annual"
    rows = _rows(load_workbook(io.BytesIO(client.get(f"{base}&period={later.isoformat()}").data))["Chỉ tiêu"])
    made = f"{today:%d/%m/%Y}"
    assert [row[0] for row in rows if str(row[0]).startswith("Kỳ báo cáo")] == [
        f"Kỳ báo cáo: năm {later.year} (số liệu đến ngày {made}, kỳ báo cáo chưa kết thúc)"
    ]
    assert [f"Ngày lập: {made}"] == [row[0] for row in rows if str(row[0]).startswith("Ngày lập")]
    ended = _rows(load_workbook(io.BytesIO(client.get(f"{base}&period=2025-12-31").data))["Chỉ tiêu"])
    assert "Kỳ báo cáo: năm 2025 (đến ngày 31/12/2025)" in [row[0] for row in ended]


def test_a_village_reads_its_denominators_in_its_own_words():
    """The plans word denominators for a commune; on a village's page the figures are the village's."""
    from lms.registry.models import AdminUnit
    from lms.targets.reports import denominator_words

    village = AdminUnit(level="village", kind="Tổ dân phố", name="Tổ 3")
    commune = AdminUnit(level="commune", kind="Xã", name="Đắk Hà")
    assert denominator_words("Tất cả hộ gia đình của xã", village) == "Tất cả hộ gia đình của tổ dân phố"
    assert denominator_words("Tất cả hộ gia đình của xã", commune) == "Tất cả hộ gia đình của xã"
    # The commune-level association is still the commune's.
    text = "Hội Khuyến học cấp xã có hội viên trong năm"
    assert denominator_words(text, village) == text
    assert denominator_words("Các tổ chức trên địa bàn xã", village) == "Các tổ chức trên địa bàn tổ dân phố"


def test_a_review_asked_from_a_month_reports_that_month_s_year(app, client):
    """A month on screen stands for its year: the 2021–2025 review from 01/2025, 06/2025 or 12/2025 reports 2025
    (not 2024, the last year ended by that day); from a month of 2026 it still stops at 2025. The 2021–2030 review
    from a month of 2026 reports 2026, by year."""
    data = build_province(1)
    value(data.family, data.province, 70, 100, period_end=date(2026, 12, 31))
    for month in (date(2025, 1, 31), date(2025, 6, 30), date(2025, 12, 31), date(2026, 1, 31), date(2026, 12, 31)):
        value(data.family, data.province, 72, 100, period_end=month, kind="month")
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    base = f"/targets/units/{data.province.id}/report.xlsx?plan={data.plan.id}&structure=current&basis=official"

    def period(report: str, month: str) -> tuple[list[str], list]:
        response = client.get(f"{base}&report={report}&kind=month&period={month}")
        assert response.status_code == 200
        book = load_workbook(io.BytesIO(response.data))
        said = [row[0] for row in _rows(book["Chỉ tiêu"]) if str(row[0]).startswith("Kỳ báo cáo")]
        return said, [row[0] for row in _rows(book["Theo năm"])[1:] if isinstance(row[0], int)]

    for month in ("2025-01-31", "2025-06-30", "2025-12-31", "2026-01-31", "2026-12-31"):
        said, years = period("review2025", month)
        assert said == ["Kỳ báo cáo: năm 2025 (đến ngày 31/12/2025)"], month
        assert years[-1] == 2025, month
    said, years = period("review2030", "2026-01-31")
    assert said[0].startswith("Kỳ báo cáo: năm 2026"), said
    assert years[-1] == 2026


def _pdf_text(content: bytes, tmp_path) -> str:
    import subprocess

    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def test_a_sub_unit_where_nothing_was_counted_is_named_once_not_given_a_row_of_dashes(app_ctx, tmp_path):
    """A recomputation stores 0 of 0 for every commune of the country: such a commune has no figure to show, and
    a province's report named it in the sentence of those without figures instead of printing a row of "—"
    (twelve pages for Quảng Ngãi where two said the same)."""
    from lms.registry.models import UnitLevel
    from tests.targets.dashboard_data import make_unit

    data = build_province(2)
    empty = make_unit(data.province, "TPC99", "Xã Chưa Đếm", UnitLevel.COMMUNE)
    value(data.family, empty, 0, 0)
    value(data.citizen, empty, 0, 0)
    db.session.flush()
    table = reports.scope_table(data.plan, data.province)
    text = " ".join(_pdf_text(reports.indicator_pdf(table), tmp_path).split())
    assert "Chưa có số liệu (1 đơn vị): Xã Chưa Đếm." in text
    assert text.count("Xã Chưa Đếm") == 1  # no row of its own
    assert "Xã Thử P 01" in text  # communes with figures keep their rows
    children = _rows(load_workbook(io.BytesIO(reports.indicator_xlsx(table)))["Đơn vị trực thuộc"])
    assert not any(row[0] == "Xã Chưa Đếm" for row in children)
    assert any(row[0] == "Chưa có số liệu (1 đơn vị): Xã Chưa Đếm." for row in children)


def test_the_report_says_who_made_it_and_each_printed_sheet_whose_figures_it_holds(app, client, tmp_path):
    data = build_province(2)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    leader.name = "Phạm Văn Lập"
    db.session.commit()
    login(client, leader)
    base = f"/targets/units/{data.province.id}/report"
    text = _pdf_text(client.get(f"{base}.pdf?report=review2025&plan={data.plan.id}").data, tmp_path)
    assert "Người lập: Phạm Văn Lập" in text
    book = load_workbook(io.BytesIO(client.get(f"{base}.xlsx?report=review2025&plan={data.plan.id}").data))
    assert "Người lập: Phạm Văn Lập" in [row[0] for row in _rows(book["Chỉ tiêu"])]
    for sheet in book.worksheets:
        heading = sheet.oddHeader.center.text or ""
        assert heading.startswith("BÁO CÁO SƠ KẾT GIAI ĐOẠN 2021–2025 — Tỉnh thử P — kỳ báo cáo: năm 2025"), sheet.title
        assert "&P" in (sheet.oddFooter.right.text or ""), sheet.title
        assert sheet.print_title_rows, sheet.title


def test_the_reports_print_the_figures_the_dashboard_shows_for_the_same_unit_and_period(app, client, tmp_path):
    """What a leader reads on the dashboard is what the filed report says: the share, numerator and denominator of
    each indicator for the unit and period on screen, in the dashboard's Vietnamese format (1.234,5; 61,7), in the
    PDF's row of that indicator and the workbook's cells; a sub-unit's share as the ranking shows it."""
    import re
    from html import unescape

    from sqlalchemy import select

    from lms.targets.models import IndicatorValue

    data = build_province(2)
    stored = db.session.scalar(
        select(IndicatorValue).where(
            IndicatorValue.indicator_id == data.family.id,
            IndicatorValue.unit_id == data.province.id,
            IndicatorValue.period_end == date(2025, 12, 31),
        )
    )
    stored.numerator, stored.denominator = 1234.5, 2000  # 61,725 %
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    query = f"plan={data.plan.id}&period=2025-12-31"
    html = client.get(f"/targets/units/{data.province.id}?{query}").get_data(as_text=True)
    shown = [unescape(s).replace("\u00a0", " ").strip() for s in re.findall(r'class="text-end share">([^<]*)<', html)]
    rows = re.findall(
        r'<th scope="row">Tử số</th><td class="text-end">([^<]*)</td></tr>\s*<tr><th scope="row">Mẫu số'
        r'</th><td class="text-end">([^<]*)</td>',
        html,
    )
    assert shown[:2] == ["61,7 %", "30,0 %"]
    assert rows[:2] == [("1.234,5", "2.000"), ("60", "200")]

    text = _pdf_text(client.get(f"/targets/units/{data.province.id}/report.pdf?report=annual&{query}").data, tmp_path)
    for number, (share, (numerator, denominator)) in enumerate(zip(shown[:2], rows[:2], strict=True), start=1):
        line = next(line for line in text.splitlines() if re.match(rf"\s*{number}\s", line))
        assert re.search(rf"\s{re.escape(numerator)}\s+{re.escape(denominator)}\s+{re.escape(share[:-2])}\s", line), (
            line
        )
    book = load_workbook(
        io.BytesIO(client.get(f"/targets/units/{data.province.id}/report.xlsx?report=annual&{query}").data)
    )
    cells = {r[1]: r[2:5] for r in _rows(book["Chỉ tiêu"]) if r[0] in (1, 2)}
    # The share with one decimal, as the page and the PDF print it (half-even alike); the counts keep two.
    assert cells[data.family.name] == [1234.5, 2000.0, 61.7]
    assert cells[data.citizen.name] == [60.0, 200.0, 30.0]
    lagging = next(r for r in _rows(book["Đơn vị trực thuộc"]) if r[0] == data.communes[0].full_name and r[1] == 1)
    assert lagging[5] == 20.0
    assert data.communes[0].full_name in text
    assert "20,0 / 80,0" in text


def test_a_report_with_no_figure_stored_has_a_whole_title(app_ctx, tmp_path):
    """The annual report of a unit with nothing stored for its plan and map: its title named no year and ended in
    "NĂM " — it now ends at "CÁC CHỈ TIÊU", and the period says there are no figures."""
    data = build_province(1)
    table = reports.scope_table(data.plan, data.province, structure="pre2025")
    assert table.period_end is None
    text = _pdf_text(reports.indicator_pdf(table), tmp_path)
    lines = [line.strip() for line in text.splitlines()]
    title = lines.index("BÁO CÁO")
    assert lines[title + 1] == "Kết quả thực hiện các chỉ tiêu"  # its summary (trích yếu) names no year either
    assert "Kỳ báo cáo: chưa có số liệu" in text
    rows = _rows(load_workbook(io.BytesIO(reports.indicator_xlsx(table)))["Chỉ tiêu"])
    assert "Kết quả thực hiện các chỉ tiêu" in [row[0] for row in rows]


def test_a_report_of_a_unit_of_the_old_map_says_so_and_what_it_is_part_of_now(app_ctx, tmp_path):
    """Kon Tum province ended on 30/06/2025 and is part of Quảng Ngãi since: its report on the old map names it
    so, not as a province that still exists."""
    from lms.registry import services as registry
    from lms.registry.models import UnitLevel, UnitLineage
    from tests.targets.dashboard_data import make_unit

    data = build_province(1)
    old = make_unit(registry.country(), "T62", "Kon Tum Cũ", UnitLevel.PROVINCE)
    old.kind, old.valid_to = "Tỉnh", date(2025, 6, 30)
    data.province.kind = "Tỉnh"
    db.session.add(UnitLineage(old_unit_id=old.id, new_unit_id=data.province.id, effective_on=date(2025, 7, 1)))
    value(data.family, old, 10, 100, structure="pre2025")
    db.session.flush()
    table = reports.scope_table(data.plan, old, structure="pre2025")
    expected = f"Đơn vị: Tỉnh Kon Tum Cũ (đơn vị trước sắp xếp, đến 30/06/2025; nay thuộc tỉnh {data.province.name})"
    assert expected in " ".join(_pdf_text(reports.indicator_pdf(table), tmp_path).split())
    assert expected in [row[0] for row in _rows(load_workbook(io.BytesIO(reports.indicator_xlsx(table)))["Chỉ tiêu"])]
    current = reports.scope_table(data.plan, data.province)
    assert f"Đơn vị: Tỉnh {data.province.name}" in [
        row[0] for row in _rows(load_workbook(io.BytesIO(reports.indicator_xlsx(current)))["Chỉ tiêu"])
    ]


def test_the_report_is_headed_and_signed_as_an_administrative_document(app, client, tmp_path):
    """Decree 30/2020 (Appendix I, form of a báo cáo): the issuing body with the number and symbol under it, the
    national name and motto, the place and day; "BÁO CÁO" and its summary; at the end the recipients ("Nơi nhận:")
    beside the maker's and the head's signatures — the report is filed, not a printout of a screen. Who files a
    province's report is the configured issuer of the province level (lms/registry/data/report_issuers.toml): the
    province's association, under the national one, the number left blank for the clerk."""
    data = build_province(1)
    data.province.kind = "Tỉnh"
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    leader.name = "Phạm Văn Lập"
    db.session.commit()
    login(client, leader)
    text = _pdf_text(client.get(f"/targets/units/{data.province.id}/report.pdf?plan={data.plan.id}").data, tmp_path)
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    province = data.province.name.upper()
    assert lines[0] == "HỘI KHUYẾN HỌC VIỆT NAM CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert lines[1] == f"HỘI KHUYẾN HỌC TỈNH {province} Độc lập - Tự do - Hạnh phúc"
    today = reports.made_on()
    assert lines[2] == f"Số: /BC-HKH {data.province.name}, ngày {today:%d} tháng {today:%m} năm {today.year}"
    assert lines[3] == "BÁO CÁO"
    assert lines[4] == "Kết quả thực hiện các chỉ tiêu năm 2025"
    closing = lines.index("Nơi nhận: NGƯỜI LẬP BIỂU TM. BAN THƯỜNG VỤ")
    assert lines[closing + 1].startswith("- Trung ương Hội Khuyến học Việt Nam (để báo cáo);")
    assert lines[closing + 1].endswith("(Ký, ghi rõ họ tên) CHỦ TỊCH")
    assert f"- Ủy ban nhân dân tỉnh {data.province.name} (để báo cáo);" in lines[closing + 2]
    assert "(Ký, ghi rõ họ tên, đóng dấu)" in " ".join(lines[closing + 2 : closing + 4])
    assert "- Lưu: VT." in text
    assert "Phạm Văn Lập" in " ".join(lines[closing:])

    # The number the clerk gave, typed on the dashboard, is printed; anything but digits is refused with what to do.
    numbered = client.get(f"/targets/units/{data.province.id}/report.pdf?plan={data.plan.id}&number=125")
    assert "Số: 125/BC-HKH" in _pdf_text(numbered.data, tmp_path)
    refused = client.get(f"/targets/units/{data.province.id}/report.pdf?plan={data.plan.id}&number=12a")
    assert refused.status_code == 400
    assert "chỉ gồm chữ số" in refused.get_data(as_text=True)


def test_the_dashboard_shows_who_files_the_reports_and_takes_the_number(app, client):
    """Where the leader picks the period, the reports' block says who files them, the number's symbol and the
    recipients, and has a field for the number; its buttons send the period on screen."""
    data = build_province(1)
    data.province.kind = "Tỉnh"
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/targets/units/{data.province.id}?plan={data.plan.id}&period=2025-12-31").get_data(as_text=True)
    block = html.split('id="reports"', 1)[1].split("</form>", 1)[0]
    assert f"HỘI KHUYẾN HỌC TỈNH {data.province.name.upper()}" in block
    assert "/BC-HKH" in block
    assert "Trung ương Hội Khuyến học Việt Nam (để báo cáo)" in block
    assert 'name="number"' in block
    assert 'name="period" value="2025-12-31"' in block
    assert f'formaction="/targets/units/{data.province.id}/report.pdf"' in block


def test_a_replaced_issuers_file_heads_the_report_and_an_ended_unit_is_filed_by_its_successor(app_ctx, tmp_path):
    """An administrator points LMS_REPORT_ISSUERS_FILE at a file of their own: the report follows it, without a
    code change. A unit of the old map is filed by the current unit that took it over; a level the file leaves
    out is headed by the unit's own name, with no number line."""
    from lms.registry import issuers
    from lms.registry import services as registry
    from lms.registry.models import UnitLevel, UnitLineage
    from tests.targets.dashboard_data import make_unit

    own = tmp_path / "issuers.toml"
    own.write_text(
        '[province]\nsuperior = ["Ủy ban nhân dân {place}"]\nissuer = ["Sở Giáo dục và Đào tạo"]\n'
        'symbol = "BC-SGDĐT"\nsigner = ["Giám đốc"]\nrecipients = ["Bộ Giáo dục và Đào tạo (để báo cáo)", "Lưu: VT"]\n',
        encoding="utf-8",
    )
    app_ctx.config["REPORT_ISSUERS_FILE"] = str(own)
    try:
        data = build_province(1)
        data.province.kind = "Tỉnh"
        old = make_unit(registry.country(), "T63", "Kon Tum Xưa", UnitLevel.PROVINCE)
        old.kind, old.valid_to = "Tỉnh", date(2025, 6, 30)
        db.session.add(UnitLineage(old_unit_id=old.id, new_unit_id=data.province.id, effective_on=date(2025, 7, 1)))
        db.session.flush()
        issuer = issuers.report_issuer(old)
        assert issuer.superior == (f"ỦY BAN NHÂN DÂN TỈNH {data.province.name.upper()}",)
        assert issuer.body == ("SỞ GIÁO DỤC VÀ ĐÀO TẠO",)
        assert issuer.place == data.province.name
        text = _pdf_text(reports.indicator_pdf(reports.scope_table(data.plan, data.province)), tmp_path)
        assert "SỞ GIÁO DỤC VÀ ĐÀO TẠO" in text
        assert "Số: /BC-SGDĐT" in " ".join(text.split())
        assert "- Bộ Giáo dục và Đào tạo (để báo cáo);" in text
        commune = data.communes[0]
        plain = issuers.report_issuer(commune)  # the file has no [commune]
        assert plain.body == (commune.full_name.upper(),)
        assert plain.number_line() == ""
        own.write_text('[commune]\nsymbol = "BC-UBND"\n', encoding="utf-8")
        os.utime(own, (1_000_000_000, 1_000_000_000))  # a change the loader sees, however coarse the clock
        with pytest.raises(issuers.IssuersConfigError, match="issuer"):
            issuers.report_issuer(commune)
    finally:
        app_ctx.config["REPORT_ISSUERS_FILE"] = None


def test_the_workbook_carries_a_share_with_one_decimal_as_the_pdf_and_the_dashboard_print_it(app_ctx, tmp_path):
    """A share of 5000 of 8101 is 61.72…%: the PDF and the dashboard print "61,7", the workbook carried 61.72 ("61,72"
    in Excel) — a leader comparing the two read two numbers. The cell now holds 61.7 and shows one decimal, and so
    do the gap and the target beside it."""
    from lms.registry.models import UnitLevel
    from tests.targets.dashboard_data import make_unit

    data = build_province(1)
    odd = make_unit(data.province, "TPC98", "Xã Số Lẻ", UnitLevel.COMMUNE)
    value(data.family, odd, 5000, 8101)
    value(data.citizen, odd, 1, 3)
    db.session.flush()
    table = reports.scope_table(data.plan, data.province)
    text = " ".join(_pdf_text(reports.indicator_pdf(table), tmp_path).split())
    assert "61,7 / 80,0" in text  # the PDF: one decimal
    book = load_workbook(io.BytesIO(reports.indicator_xlsx(table)))
    sheet = book["Đơn vị trực thuộc"]
    row = next(r for r in sheet.iter_rows() if r[0].value == "Xã Số Lẻ" and r[2].value == data.family.name)
    assert [c.value for c in row[3:]] == [5000.0, 8101.0, 61.7, 80.0, 18.3]
    assert [c.number_format for c in row[5:]] == ["0.0", "0.0", "0.0"]
    citizens = next(r for r in sheet.iter_rows() if r[0].value == "Xã Số Lẻ" and r[2].value == data.citizen.name)
    assert citizens[5].value == 33.3
    indicators = book["Chỉ tiêu"]
    family = next(r for r in indicators.iter_rows() if r[1].value == data.family.name)
    assert family[4].number_format == "0.0"  # the unit's own share, its targets and its gap alike
    assert all(c.number_format == "0.0" for c in family[6:9])


def test_the_signatures_do_not_stand_alone_on_the_last_page(app_ctx, tmp_path):
    """A province whose communes without figures fill the first page to its foot: the two signature blocks went by
    themselves to a page of their own. The sentence before them now goes over with them."""
    from pypdf import PdfReader

    from lms.registry.models import UnitLevel
    from tests.targets.dashboard_data import make_unit

    data = build_province(3)
    for index in range(40):
        empty = make_unit(data.province, f"TPE{index:02d}", f"Xã Chưa Đếm Số {index:02d}", UnitLevel.COMMUNE)
        value(data.family, empty, 0, 0)
    db.session.flush()
    table = reports.scope_table(data.plan, data.province)
    pages = [
        " ".join(page.extract_text().split())
        for page in PdfReader(io.BytesIO(reports.indicator_pdf(table, made_by="Nguyễn Thị Lập"))).pages
    ]
    signed = next(text for text in pages if "NGƯỜI LẬP BIỂU" in text)
    assert "Chưa có số liệu (40 đơn vị)" in signed, pages
    # A review ends with its short table of years: the table and its heading go over with the signatures.
    pages = [
        " ".join(page.extract_text().split())
        for page in PdfReader(
            io.BytesIO(reports.indicator_pdf(table, reports.ReportKind.REVIEW_2025, made_by="Nguyễn Thị Lập"))
        ).pages
    ]
    signed = next(text for text in pages if "NGƯỜI LẬP BIỂU" in text)
    assert "Kết quả theo năm (tỷ lệ %)" in signed, pages


def test_the_workbook_is_headed_and_signed_as_the_pdf_is(app, client, tmp_path):
    """The workbook's first sheet is the report as filed, as the PDF is (Decree 30/2020, Appendix I): the same
    configured issuer with the number typed on the dashboard, the national name and motto, the place and day,
    "BÁO CÁO" and its summary above the table; "Nơi nhận:" and its list, the maker's and the head's signatures under
    it — and the table's figures where they were, its header the row repeated on every printed page."""
    from lms.core.pdf import MOTTO, NATIONAL_NAME

    data = build_province(2)
    data.province.kind = "Tỉnh"
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    leader.name = "Phạm Văn Lập"
    db.session.commit()
    login(client, leader)
    base = f"/targets/units/{data.province.id}/report"
    response = client.get(f"{base}.xlsx?plan={data.plan.id}&number=125")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.data))["Chỉ tiêu"]
    rows = _rows(sheet)
    texts = [[c for c in row if c is not None] for row in rows]
    today = reports.made_on()
    province = data.province.name
    # The heading: issuer on the left, the state on the right, line by line as the PDF prints them.
    assert texts[0] == ["HỘI KHUYẾN HỌC VIỆT NAM", NATIONAL_NAME]
    assert texts[1] == [f"HỘI KHUYẾN HỌC TỈNH {province.upper()}", MOTTO]
    assert texts[2] == ["Số: 125/BC-HKH", f"{province}, ngày {today:%d} tháng {today:%m} năm {today.year}"]
    assert texts[4] == ["BÁO CÁO"]
    assert texts[5] == ["Kết quả thực hiện các chỉ tiêu năm 2025"]
    assert sheet.cell(row=2, column=1).font.b  # the issuing body, in bold as on the PDF
    assert sheet.cell(row=5, column=1).font.b
    pdf = _pdf_text(client.get(f"{base}.pdf?plan={data.plan.id}&number=125").data, tmp_path)
    pdf_lines = [" ".join(line.split()) for line in pdf.splitlines() if line.strip()]
    assert pdf_lines[2] == " ".join(texts[2])  # the same number, the same place and day
    # The figures, unchanged, under their header — the row printed at the top of every page.
    header = next(i for i, r in enumerate(rows, start=1) if r[0] == "STT")
    assert sheet.print_title_rows == f"${header}:${header}"
    family = next(r for r in rows if r[1] == data.family.name)
    assert family[0] == 1
    assert family[2:9] == [130.0, 200.0, 65.0, "Tổng số hộ gia đình", 80.0, 85.0, 15.0]
    last_line = max(i for i, r in enumerate(rows) if r[0] in (1, 2))
    # The closing, under the table: Nơi nhận with its list, the maker, the head of the province's association.
    closing = texts[last_line + 1 :]
    flat = [c for row in closing for c in row]
    recipients, *signatures = closing[1]
    assert signatures == ["NGƯỜI LẬP BIỂU", "TM. BAN THƯỜNG VỤ"]
    lines = recipients.split("\n")
    assert lines[:3] == [
        "Nơi nhận:",
        "- Trung ương Hội Khuyến học Việt Nam (để báo cáo);",
        f"- Ủy ban nhân dân tỉnh {province} (để báo cáo);",
    ]
    assert lines[-1] == "- Lưu: VT."
    flat_pdf = " ".join(pdf.split())
    assert all(line in flat_pdf for line in lines[1:])  # the PDF's recipients, each of them
    assert closing[2] == ["(Ký, ghi rõ họ tên)", "CHỦ TỊCH"]
    assert "(Ký, ghi rõ họ tên, đóng dấu)" in flat
    assert "Phạm Văn Lập" in flat
    for line in ("- Lưu: VT.", "NGƯỜI LẬP BIỂU", "CHỦ TỊCH", f"HỘI KHUYẾN HỌC TỈNH {province.upper()}"):
        assert line in pdf, line
    # Blank unless typed; anything but digits refused, as for the PDF.
    blank = load_workbook(io.BytesIO(client.get(f"{base}.xlsx?plan={data.plan.id}").data))["Chỉ tiêu"]
    assert blank.cell(row=3, column=1).value == "Số: \u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0\u00a0/BC-HKH"
    assert client.get(f"{base}.xlsx?plan={data.plan.id}&number=12a").status_code == 400
