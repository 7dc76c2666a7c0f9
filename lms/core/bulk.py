"""Bulk writes of many rows into one table, in the session's transaction."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
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
    _copy(table, names, buffer)


def csv_line(values: Sequence[Any]) -> str:
    """``values`` as fields of one line of :func:`copy_lines` (without the line's end): callers that write many
    rows sharing most of their fields render the shared part once and format the rest themselves (numbers and hex
    digests need no quoting)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow([_copied(value) for value in values])
    return buffer.getvalue()


def copy_lines(table: Table, names: Sequence[str], lines: Iterable[str]) -> None:
    """PostgreSQL only: ``COPY table (names)`` of ready CSV lines (fields as :func:`csv_line` renders them)."""
    buffer = io.StringIO()
    for line in lines:
        buffer.write(line)
        buffer.write("\n")
    buffer.seek(0)
    _copy(table, names, buffer)


def _copy(table: Table, names: Sequence[str], buffer: io.StringIO) -> None:
    raw = db.session.connection().connection.dbapi_connection
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
