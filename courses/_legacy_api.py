"""What ``courses/it_api.py`` still imports from ``courses.api`` until its own conversion to schemas (issue #12):
the old hand-written body reader. Delete this module when ``it_api.py`` no longer imports it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import abort, request
from flask_login import current_user

from lms.api.errors import ApiValidationError
from lms.auth.permissions import Permission, has_permission_anywhere

LOCAL = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")
MAX_PEOPLE = 2000


def _require(permission: Permission) -> None:
    if not has_permission_anywhere(current_user, permission):
        abort(403)


def _local(moment: datetime) -> datetime:
    """A session time as stored: local wall-clock, without a zone."""
    return moment.astimezone(LOCAL).replace(tzinfo=None) if moment.tzinfo else moment


def _local_iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=LOCAL).isoformat() if moment else None


def _utc_iso(moment: datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment else None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Body:
    """A JSON object read field by field; every problem is collected with its field, then raised at once."""

    def __init__(self, allowed: set[str], payload: Any = None, prefix: str = "") -> None:
        payload = request.get_json(silent=True) if payload is None and not prefix else payload
        if not isinstance(payload, dict):
            raise ApiValidationError([{"field": prefix.rstrip("."), "message": "must be a JSON object"}])
        self.data: dict[str, Any] = payload
        self.prefix = prefix
        self.errors: list[dict[str, str]] = [
            {"field": prefix + name, "message": "unknown field"} for name in sorted(set(payload) - allowed)
        ]

    def error(self, name: str, message: str) -> None:
        self.errors.append({"field": self.prefix + name, "message": message})

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if value is None and required:
            self.error(name, "required")
        return value

    def text(self, name: str, *, required: bool = False, max_length: int = 300, default: str | None = None) -> Any:
        value = self._get(name, required)
        if value is None:
            return default
        if not isinstance(value, str) or (required and not value.strip()) or len(value) > max_length:
            self.error(name, f"{'required ' if required else ''}text of at most {max_length} characters")
            return default
        return value.strip()

    def integer(
        self, name: str, *, required: bool = False, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not _is_int(value) or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            bounds = f" from {minimum}" if minimum is not None else ""
            bounds += f" to {maximum}" if maximum is not None else ""
            self.error(name, f"an integer{bounds}")
            return None
        return value

    def number(
        self, name: str, *, required: bool = False, low: Decimal, high: Decimal, low_open: bool = False
    ) -> Decimal | None:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise InvalidOperation
            number = Decimal(str(value))
            if not number.is_finite() or number > high or number < low or (low_open and number == low):
                raise InvalidOperation
        except InvalidOperation:
            self.error(name, f"a number {'above' if low_open else 'from'} {low} {'up ' if low_open else ''}to {high}")
            return None
        return number

    def boolean(self, name: str) -> bool | None:
        value = self.data.get(name)
        if value is not None and not isinstance(value, bool):
            self.error(name, "true or false")
            return None
        return value

    def choice(self, name: str, options: Sequence[str], *, required: bool = False) -> str | None:
        value = self._get(name, required)
        if value is not None and value not in options:
            self.error(name, "one of " + ", ".join(options))
            return None
        return value

    def day(self, name: str, *, required: bool = False) -> date | None:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            self.error(name, "a date as YYYY-MM-DD")
            return None

    def clock(self, name: str, *, required: bool = False) -> time | None:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            if not isinstance(value, str) or len(value) != 5:
                raise ValueError
            return time.fromisoformat(value)
        except ValueError:
            self.error(name, "a time as HH:MM")
            return None

    def local_time(self, name: str, *, required: bool = False) -> datetime | None:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            return _local(datetime.fromisoformat(value))
        except (TypeError, ValueError):
            self.error(name, "a date and time as YYYY-MM-DDTHH:MM (local time, or with an offset such as +07:00)")
            return None

    def utc_time(self, name: str, *, required: bool = False) -> datetime | None:
        value = self._get(name, required)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.error(name, "a date and time in ISO 8601 with its offset, e.g. 2026-03-03T12:05:00Z")
            return None
        if moment.tzinfo is None:
            self.error(name, "give the offset (Z or +07:00): a device time without one is ambiguous")
            return None
        return moment.astimezone(UTC).replace(tzinfo=None)

    def id_list(self, name: str, *, required: bool = False, maximum: int = MAX_PEOPLE) -> list[int] | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, list) or not value or len(value) > maximum:
            self.error(name, f"a list of 1 to {maximum} ids")
            return None
        bad = [i for i, item in enumerate(value) if not _is_int(item)]
        for i in bad:
            self.error(f"{name}[{i}]", "an integer id")
        return None if bad else list(value)

    def check(self) -> None:
        if self.errors:
            raise ApiValidationError(self.errors)
