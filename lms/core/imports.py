"""What every import that changes stored data shares: a preview of what it would write, and its confirmation.

An import first checks its file and *plans* every write without making it, recording each planned row in a
:class:`Preview` (counts, the first rows of each kind, what follows from them). Nothing is written until the user
confirms; the confirmation applies only if planning again gives the same :attr:`Preview.digest`, so it applies
exactly what was previewed (see ADR 0020). The registry's imports keep the file in their job row; the synchronous
imports (registrations, assessments) hand the parsed rows to the confirmation form, signed
(:func:`sign_rows` / :func:`load_rows`), so the file is not uploaded twice and cannot be altered in between.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

SAMPLE_ROWS = 20  # rows of each kind (new, changed, unchanged) a preview lists per entity
KINDS = ("new", "changed", "unchanged")
COUNTERS = {"new": "created", "changed": "updated", "unchanged": "unchanged"}
# Columns that differ on every run (timestamps, a fresh nonce in the ciphertext of an ID number): left out of the
# digest, which must be the same for the same file over the same data.
VOLATILE = frozenset({"created_at", "updated_at", "assessed_at", "id_number_encrypted"})
CONFIRM_MAX_AGE = 24 * 3600  # seconds a preview's confirmation form stays valid


class Preview:
    """What a checked file would change: counts, the first rows of each kind, and a digest of the whole change.

    The digest covers every planned write and every unchanged row (with the stored values it was compared to), so
    a confirmation applies only if a new check plans exactly what was previewed.
    """

    def __init__(self, entities: Sequence[str] = ()) -> None:
        self.counts: dict[str, dict[str, int]] = {}
        self.samples: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.consequences: list[str] = []
        # What the user should look at before confirming (a likely duplicate): said, not refused, not digested.
        self.warnings: list[str] = []
        self._digest = hashlib.sha256()
        for entity in entities:
            self._entity(entity)

    def _entity(self, entity: str) -> None:
        if entity not in self.counts:
            self.counts[entity] = dict.fromkeys(COUNTERS.values(), 0)
            self.samples[entity] = {kind: [] for kind in KINDS}

    def add(
        self,
        entity: str,
        kind: str,
        row: int | None,
        label: str,
        identity: Any,
        data: dict[str, Any] | None = None,
        changes: list[dict[str, str]] | None = None,
    ) -> None:
        """Record one planned row of ``entity``: ``kind`` is "new", "changed" or "unchanged"."""
        self._entity(entity)
        self.counts[entity][COUNTERS[kind]] += 1
        kept = {k: v for k, v in (data or {}).items() if k not in VOLATILE}
        self._digest.update(json.dumps([entity, kind, identity, kept], default=_canonical, sort_keys=True).encode())
        listed = self.samples[entity][kind]
        if len(listed) < SAMPLE_ROWS:
            listed.append({"row": row, "label": label, "changes": changes or []})

    @property
    def digest(self) -> str:
        return self._digest.hexdigest()

    def summary(self) -> dict[str, dict[str, int]]:
        return {entity: dict(counts) for entity, counts in self.counts.items()}

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.summary(),
            "samples": self.samples,
            "consequences": self.consequences,
            "warnings": self.warnings,
        }


def _canonical(value: Any) -> str:
    """How the digest writes a value JSON lacks: 2 and 2.00 are the same number (SQLite and PostgreSQL differ)."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def shown(value: Any) -> str:
    """A stored value as a preview shows it (dates the Vietnamese way)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def changes(old: dict[str, Any], new: dict[str, Any], fields: Sequence[str]) -> list[dict[str, str]]:
    """The fields that differ, as a preview shows them (an ID number only as changed, never its digits)."""
    found = []
    for name in fields:
        if old.get(name) != new.get(name):
            if name == "id_number_hash":
                found.append({"field": "id_number", "old": "", "new": ""})
            else:
                found.append({"field": name, "old": shown(old.get(name)), "new": shown(new.get(name))})
    return found


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"lms.import-preview.{purpose}")


def sign_rows(purpose: str, payload: Any) -> str:
    """The checked rows of a preview, signed (and compressed) for its confirmation form."""
    return _serializer(purpose).dumps(payload)


def load_rows(purpose: str, token: str) -> Any | None:
    """What :func:`sign_rows` signed, or None if the token was altered, is for another import, or is too old."""
    try:
        return _serializer(purpose).loads(token, max_age=CONFIRM_MAX_AGE)
    except BadSignature:
        return None
