"""What the system holds about one person, section by section, as the person may ask to see it (ADR 57).

Each part of the application answers :data:`lms.core.signals.personal_data` with the sections it keeps (the
registry its own, courses the classes and marks, titles the results and decisions…), so the registry, which owns
the person, gathers them without importing the layers above it. A section is both a table on the page and a key of
the JSON file the person takes away: its ``rows`` hold plain values (text, numbers, booleans, dates, None).

The log of who processed the data is one section, the registry's: a part whose records of the person have audit
events of their own (a certificate downloaded, the scan of an IT certificate viewed, an assessment verified…) answers
a section keyed :data:`PROCESSING` with those events (:func:`processing_rows`), and the registry adds its rows to
the log.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, select

#: The key of the log of who saw or changed the person's data (ADR 57).
PROCESSING = "processing"


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


def processing_rows(condition: ColumnElement[bool], names: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The audit events ``condition`` selects, as rows of the log (``at``, ``action`` in words — ``names`` by action,
    else as recorded — and ``by``, the user's name). ``condition`` should reach the events through their object
    (``object_type``, ``object_id``): the audit log's index."""
    from lms.auth.models import User
    from lms.core.models import AuditEvent
    from lms.extensions import db

    rows = db.session.execute(
        select(AuditEvent.at, AuditEvent.action, User.name)
        .outerjoin(User, User.id == AuditEvent.user_id)
        .where(condition)
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    ).all()
    return [{"at": at, "action": str(names.get(action, action)), "by": name or ""} for at, action, name in rows]
