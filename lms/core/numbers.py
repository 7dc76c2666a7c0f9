"""Whole numbers read from what people type: a query string, a form, a spreadsheet cell."""

from __future__ import annotations

from typing import Any

#: Digits a PostgreSQL bigint (and an SQLite integer) keeps whatever they are: more overflowed the query (a 500).
MAX_DIGITS = 18


def whole_number(raw: Any) -> int | None:
    """``raw`` as an int when it is a whole number the database keeps — an int, or text of ASCII digits (spaces
    around allowed) — else None. Not ``str.isdigit()``: "²" and "١" pass it, and int() refuses the first (a 500)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if abs(raw) < 10**MAX_DIGITS else None
    if isinstance(raw, str):
        text = raw.strip()
        if text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS:
            return int(text)
    return None
