"""Who files a report (lms/registry/issuers.py, report_issuers.toml; ADR 22): the lines a unit's place fills."""

from __future__ import annotations

import pytest

from lms.registry import issuers
from lms.registry import services as registry
from lms.registry.models import UnitLevel
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
