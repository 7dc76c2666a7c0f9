"""Bulk writes of many rows into one table, in the session's transaction."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy import Table, insert

from lms.extensions import db


def copy_rows(table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table``: by ``COPY … FROM STDIN`` on PostgreSQL (no
    statement to parse per page: about half the server time of multi-row INSERTs), by one executemany elsewhere.
    Keys that are not columns of ``table`` are ignored, as SQLAlchemy's insert ignores them."""
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        db.session.execute(insert(table), rows)
        return
    names = [column.name for column in table.columns if column.name in rows[0]]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([_copied(row[name]) for name in names] for row in rows)
    buffer.seek(0)
    raw = connection.connection.dbapi_connection
    assert raw is not None
    cursor: Any = raw.cursor()  # the session's connection: the same transaction
    try:
        cursor.copy_expert(f"COPY {table.name} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
    finally:
        cursor.close()


def _copied(value: Any) -> Any:
    """A value as COPY's CSV takes it: NULL as \\N, bytes in bytea's hex form."""
    if value is None:
        return r"\N"
    return "\\x" + value.hex() if isinstance(value, bytes) else value
