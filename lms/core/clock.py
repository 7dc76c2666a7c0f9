"""Vietnam's wall clock: UTC+7 all year (no daylight saving), the zone session times are stored in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

VN_OFFSET = timedelta(hours=7)


def local_now() -> datetime:
    """Wall-clock time in Vietnam, naive (as session times are stored)."""
    return (datetime.now(UTC) + VN_OFFSET).replace(tzinfo=None)
