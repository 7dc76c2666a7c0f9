"""Vietnam's wall clock: UTC+7 all year (no daylight saving), the zone session times are stored in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, DateTime
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

VN_OFFSET = timedelta(hours=7)


def local_now() -> datetime:
    """Wall-clock time in Vietnam, naive (as session times are stored)."""
    return (datetime.now(UTC) + VN_OFFSET).replace(tzinfo=None)


def local_today() -> date:
    """Today in Vietnam: the day a date typed on a page means, a "not in the future" check compares with, a year
    defaults to. Never ``date.today()``, the server's day (UTC on the servers: yesterday until 07:00 in Vietnam)."""
    return local_now().date()


class LocalDay(FunctionElement):
    """The calendar day, in SQL, of a stored local wall-clock time (``ClassSession.starts_at``). SQLite's ``date()``
    and PostgreSQL's cast yield values that compare as days on either."""

    type = Date()
    inherit_cache = True


class LocalDayOfUtc(FunctionElement):
    """The calendar day in Vietnam, in SQL, of a stored UTC time (``Enrolment.enrolled_at``)."""

    type = Date()
    inherit_cache = True


_HOURS = int(VN_OFFSET.total_seconds() // 3600)


@compiles(LocalDay)
def _local_day(element: LocalDay, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(LocalDay, "postgresql")
def _local_day_postgresql(element: LocalDay, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS DATE)"


@compiles(LocalDayOfUtc)
def _local_day_of_utc(element: LocalDayOfUtc, compiler: Any, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, '+{_HOURS} hours')"


@compiles(LocalDayOfUtc, "postgresql")
def _local_day_of_utc_postgresql(element: LocalDayOfUtc, compiler: Any, **kw: Any) -> str:
    return f"CAST(({compiler.process(element.clauses, **kw)}) + INTERVAL '{_HOURS} hours' AS DATE)"


class LocalTimeOfUtc(FunctionElement):
    """The wall-clock time in Vietnam, in SQL, of a stored UTC time, comparable with a session's stored (local)
    start. SQLite's ``datetime()`` drops the fraction of a second: a comparison at the very second may go either
    way, so callers use it where a spare recomputation is harmless."""

    type = DateTime()
    inherit_cache = True


@compiles(LocalTimeOfUtc)
def _local_time_of_utc(element: LocalTimeOfUtc, compiler: Any, **kw: Any) -> str:
    return f"datetime({compiler.process(element.clauses, **kw)}, '+{_HOURS} hours')"


@compiles(LocalTimeOfUtc, "postgresql")
def _local_time_of_utc_postgresql(element: LocalTimeOfUtc, compiler: Any, **kw: Any) -> str:
    return f"(({compiler.process(element.clauses, **kw)}) + INTERVAL '{_HOURS} hours')"
