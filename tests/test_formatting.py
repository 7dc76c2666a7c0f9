"""lms.core.formatting: Vietnamese convention by default, English when chosen, and the same marks and rounding as
Flask-Babel's own formatter (which it does not call, for speed)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale, format_decimal

from lms.core import formatting


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_numbers_match_babels_format_decimal(app, locale):
    values = [0, 7, 12.5, 1234, 1234567.891, Decimal("24.55"), Decimal("24.65"), -3.14159, Decimal("0.004")]
    with app.test_request_context(), force_locale(locale):
        for value in values:
            assert formatting.number(value, 2) == format_decimal(Decimal(str(value)), "#,##0.##"), value
            assert formatting.share(value) == format_decimal(Decimal(str(value)), "#,##0.0"), value


def test_vietnamese_by_default_and_english_when_chosen(app):
    with app.test_request_context():
        assert formatting.percent(24.56) == "24,6\u00a0%"
        assert formatting.number(1234) == "1.234"
        assert formatting.day(date(2026, 12, 31)) == "31/12/2026"
        assert formatting.moment(datetime(2026, 12, 31, 7, 5)) == "31/12/2026 14:05"  # stored UTC, shown in Vietnam
        assert formatting.percent(None) == "—"
        with force_locale("en"):
            assert formatting.percent(24.56) == "24.6\u00a0%"
            assert formatting.number(1234) == "1,234"
            assert formatting.day(date(2026, 12, 31)) == "Dec 31, 2026"
            # Documents are filed in Vietnamese whatever the page's language.
            assert formatting.number(1234.5, locale="vi") == "1.234,5"
    assert formatting.share(-0.01) == "0,0"  # outside a request: Vietnamese; no "-0,0"


def test_templates_use_the_filters(app):
    with app.test_request_context():
        rendered = app.jinja_env.from_string(
            "{{ 1234|number }} {{ 24.56|percent }} {{ day|date }} {{ 45.25|share }}"
        ).render(day=date(2026, 1, 5))
    assert rendered == "1.234 24,6\u00a0% 05/01/2026 45,2"
