"""What the system holds about one person, section by section, as the person may ask to see it (ADR 57).

Each part of the application answers :data:`lms.core.signals.personal_data` with the sections it keeps (the
registry its own, courses the classes and marks, titles the results and decisions…), so the registry, which owns
the person, gathers them without importing the layers above it. A section is both a table on the page and a key of
the JSON file the person takes away: its ``rows`` hold plain values (text, numbers, booleans, dates, None).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class DataSection:
    """``key`` names the section in the JSON file; ``title`` and the columns' labels are in the reader's language;
    ``columns`` are ``(key, label)`` pairs in the order shown; ``kept`` says, for an erasure, why these rows stay
    (empty: the section is the person's identity, which the erasure clears)."""

    key: str
    title: str
    columns: list[tuple[str, str]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    kept: str = ""


def plain(value: Any) -> Any:
    """A value as the JSON file holds it: dates as ISO text, decimals as text (no binary rounding)."""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def as_json(person_id: int, sections: list[DataSection], *, generated_at: datetime) -> dict[str, Any]:
    """The file a person takes away: every section's rows under its key, with its title and column labels."""
    return {
        "person_id": person_id,
        "generated_at": plain(generated_at),
        "sections": {
            s.key: {
                "title": s.title,
                "columns": dict(s.columns),
                "rows": [{key: plain(row.get(key)) for key, _ in s.columns} for row in s.rows],
            }
            for s in sections
        },
    }
