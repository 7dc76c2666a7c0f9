"""Who files a report (lms/registry/issuers.py, report_issuers.toml; ADR 22): the lines a unit's place fills."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from lms.extensions import db
from lms.registry import issuers
from lms.registry import services as registry
from lms.registry.models import AdminUnit, UnitLevel, UnitLineage
from tests.targets.dashboard_data import make_unit


def test_a_unit_without_a_province_prints_no_headless_line(app_ctx):
    """The shipped [commune] entry sends the report to "Ủy ban nhân dân {province}": a commune recorded without a
    province printed "Ủy ban nhân dân (để báo cáo)", a recipient with no name. The line is left out; the others stay."""
    commune = make_unit(registry.country(), "NP-1", "Không Tỉnh", UnitLevel.COMMUNE)
    commune.kind = "Xã"

    issuer = issuers.report_issuer(commune)

    assert issuer.body == ("ỦY BAN NHÂN DÂN", "XÃ KHÔNG TỈNH")
    assert issuer.recipients == ("Hội Khuyến học xã Không Tỉnh", "Lưu: VT")


def test_a_line_naming_an_unknown_place_is_refused_with_the_file_and_the_line(app_ctx, tmp_path):
    """A typo in a replaced file ("{tinh}") is named when the file is read, not a failed dashboard at the first
    report."""
    own = tmp_path / "issuers.toml"
    own.write_text(
        '[commune]\nissuer = ["Ủy ban nhân dân", "{place}"]\nrecipients = ["Ủy ban nhân dân {tinh}", "Lưu: VT"]\n',
        encoding="utf-8",
    )
    app_ctx.config["REPORT_ISSUERS_FILE"] = str(own)
    try:
        commune = make_unit(registry.country(), "NP-2", "Sai Tên", UnitLevel.COMMUNE)
        with pytest.raises(issuers.IssuersConfigError) as refused:
            issuers.report_issuer(commune)
        message = str(refused.value)
        assert str(own) in message
        assert "[commune]" in message
        assert "tinh" in message
        assert "{province}" in message
    finally:
        app_ctx.config["REPORT_ISSUERS_FILE"] = None


def test_the_national_report_is_dated_at_the_central_body_s_seat_not_the_country(app_ctx, tmp_path):
    """Decree 30/2020 (Appendix I, II.4): a central body's document is dated where it has its seat ("Hà Nội, ngày …");
    the country's report read "Việt Nam, ngày …". A province's is dated in the province, as before."""
    from lms.targets import reports
    from tests.targets.dashboard_data import build_province
    from tests.targets.test_reports import _pdf_text

    data = build_province(1)
    assert issuers.report_issuer(registry.country()).place == "Hà Nội"
    assert issuers.report_issuer(data.province).place == data.province.name

    text = " ".join(
        _pdf_text(reports.indicator_pdf(reports.scope_table(data.plan, registry.country())), tmp_path).split()
    )
    today = reports.made_on()
    assert f"Hà Nội, ngày {today:%d} tháng {today:%m} năm {today.year}" in text
    assert "Việt Nam, ngày" not in text


def test_a_place_that_is_not_a_text_is_refused_with_its_line(app_ctx, tmp_path):
    own = tmp_path / "issuers.toml"
    own.write_text('[country]\nissuer = ["Trung ương Hội"]\nplace = 12\n', encoding="utf-8")
    with pytest.raises(issuers.IssuersConfigError, match=r"line 3 \[country\]: place must be a text"):
        issuers.check(own)


def test_a_centre_of_a_commune_the_map_ended_is_headed_by_the_commune_that_took_it_over(app_ctx):
    """A centre still attached to a commune of the old map (ended 30/06/2025) was headed "Ủy ban nhân dân xã <old>",
    a body that no longer exists; the targets reports already went to the successor (filing_unit)."""
    single = (
        select(UnitLineage.old_unit_id)
        .join(AdminUnit, AdminUnit.id == UnitLineage.old_unit_id)
        .where(AdminUnit.level == UnitLevel.COMMUNE.value, AdminUnit.valid_to.is_not(None))
        .group_by(UnitLineage.old_unit_id)
        .having(func.count() == 1)
        .limit(1)
    )
    old = db.session.get(AdminUnit, db.session.scalar(single))
    assert old is not None
    new = issuers.filing_unit(old)
    assert new.id != old.id
    assert new.level == UnitLevel.COMMUNE.value

    issuer = issuers.centre_issuer(old, "Trung tâm học tập cộng đồng Thử")

    assert issuer.superior == (f"ỦY BAN NHÂN DÂN {new.full_name.upper()}",)
