"""Numbers, percentages and dates in the reader's convention — the one place that decides how they look.

Vietnamese (the default): ``1.234``, ``24,6 %``, ``31/12/2026``; English: ``1,234``, ``24.6 %``, ``Dec 31, 2026``.
Pages use the request's language (Flask-Babel's locale; the functions are Jinja filters, ``lms.core.templating``);
the printed documents and workbooks are filed in Vietnamese whatever the page's language and pass ``locale="vi"``.

Numbers follow Babel's ``format_decimal`` for the locale (its decimal and grouping symbols, half-even rounding —
a test holds them equal), but format with Python's ``format`` and swap the symbols: Babel's formatter costs about
50 µs a number, too slow for a province's ranking of a thousand figures.

A share is stored and passed around in per cent (``24.6`` means 24,6 %), never as a fraction: ``percent(24.6)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import current_app, g, has_request_context
from flask_babel import force_locale, get_locale, gettext

Number = Decimal | float | int

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DASH = "—"
# A no-break space between the figure and "%": a narrow table cell never leaves the sign alone on a line.
PERCENT_GAP = "\u00a0"


_speaking: ContextVar[str | None] = ContextVar("lms_speaking", default=None)


def current_locale() -> str:
    """The request's language; outside a request, the one a task speaks (:func:`speaking`), else "vi" (documents)."""
    if has_request_context():
        return str(get_locale() or "vi")
    return _speaking.get() or "vi"


@contextmanager
def speaking(locale: str | None) -> Iterator[str]:
    """Messages that a task stores for a user (an import's summary) written in ``locale``, the user's saved choice,
    or Vietnamese when they made none (ADR 22). A worker has no request to choose a language: without this,
    Flask-Babel's locale selector fails there, and messages formatted by hand came out in English."""
    languages = current_app.config["LANGUAGES"]
    chosen = str(locale if locale in languages else current_app.config.get("BABEL_DEFAULT_LOCALE", "vi"))
    g.setdefault("lms_babel_anchor", True)  # Flask-Babel ignores force_locale while ``g`` is still empty
    token = _speaking.set(chosen)
    try:
        with force_locale(chosen):
            yield chosen
    finally:
        _speaking.reset(token)


def in_request_language(message: str, **params: object) -> str:
    """A service's refusal (a ``gettext`` msgid) in the request's language — the page's, or the API client's —
    and in English outside a request (a task, the shell), where no locale can be chosen."""
    if has_request_context():
        return gettext(message, **params)
    return message % params if params else message


def _locale(locale: str | None) -> str:
    return locale or current_locale()


@lru_cache(maxsize=8)
def _symbols(locale: str) -> tuple[str, str]:
    return babel_numbers.get_decimal_symbol(locale), babel_numbers.get_group_symbol(locale)


def number(value: Number | None, places: int = 2, *, fixed: bool = False, locale: str | None = None) -> str:
    """A count or a measure: ``1.234``, ``12,5`` (up to ``places`` decimals, trailing zeros dropped unless
    ``fixed``); an em dash for no value."""
    if value is None:
        return DASH
    decimal_mark, group_mark = _symbols(_locale(locale))
    text = f"{Decimal(str(value)):,.{places}f}"
    if places and not fixed:
        text = text.rstrip("0").rstrip(".")
    if text.startswith("-") and not text.strip("-0.,"):  # "-0.04" rounded is no negative figure
        text = text[1:]
    return text.replace(",", "\0").replace(".", decimal_mark).replace("\0", group_mark)


def file_size(size: int, *, locale: str | None = None) -> str:
    """An uploaded file's size: ``1 KB`` for anything under a kilobyte (never ``0 KB``, which reads as an empty
    file), whole kilobytes up to a megabyte, then ``3,4 MB``."""
    if size >= 1024 * 1024:
        return f"{number(size / (1024 * 1024), 1, locale=locale)} MB"
    return f"{number(max(1, -(-size // 1024)), 0, locale=locale)} KB"


def bound(value: object) -> object:
    """A limit quoted in a form's message ("between 0,5 and 9999"): a fraction gets the reader's decimal mark, and no
    figure is grouped, since the limits are often years (2026, never 2.026). Anything else passes unchanged, so a
    ``%(min)d`` placeholder still gets its integer."""
    if isinstance(value, Decimal | float) and not (isinstance(value, Decimal) and value == value.to_integral_value()):
        return str(value).replace(".", _symbols(current_locale())[0])
    if isinstance(value, Decimal):
        return str(value.to_integral_value())
    return value


def percent(value: Number | None, places: int = 1, *, locale: str | None = None) -> str:
    """A share given in per cent: ``24,6 %`` (always ``places`` decimals, so a column lines up)."""
    if value is None:
        return DASH
    return share(value, places, locale=locale) + PERCENT_GAP + "%"


def share(value: Number | None, places: int = 1, *, locale: str | None = None) -> str:
    """A share in per cent without the sign, for a column headed "(%)": ``24,6``; percentage points likewise."""
    if value is None:
        return DASH
    return number(value, places, fixed=True, locale=locale)


def day(value: date | datetime | None, *, locale: str | None = None) -> str:
    """A date: ``31/12/2026`` in Vietnamese, ``Dec 31, 2026`` in English; empty for no date."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date()
    code = _locale(locale)
    if code.startswith("vi"):
        return f"{value:%d/%m/%Y}"
    return babel_dates.format_date(value, "medium", locale=code)


def birth(value: date | None, year_only: bool = False, *, locale: str | None = None) -> str:
    """A birth date: the year alone (``1948``) when only the year is known, else :func:`day`."""
    if value is None:
        return ""
    return str(value.year) if year_only else day(value, locale=locale)


def moment_day(value: datetime | None, *, locale: str | None = None) -> str:
    """The day in Vietnam of a stored (naive UTC) timestamp: ``08/12/2026`` for 20:00 UTC on 7 December. (:func:`day`
    takes a datetime as it is: a session's start is stored in Vietnam's wall-clock time already.)"""
    if value is None:
        return ""
    return day(value.replace(tzinfo=ZoneInfo("UTC")).astimezone(LOCAL_TZ), locale=locale)


def moment(value: datetime | None, *, locale: str | None = None) -> str:
    """A stored (naive UTC) timestamp in Vietnam's time: ``31/12/2026 14:05``."""
    if value is None:
        return ""
    local = value.replace(tzinfo=ZoneInfo("UTC")).astimezone(LOCAL_TZ)
    return f"{day(local, locale=locale)} {local:%H:%M}"
