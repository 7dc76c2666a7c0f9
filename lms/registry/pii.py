"""Personal identification numbers (số định danh cá nhân): encrypted at rest, found by a keyed hash, shown masked.

The encryption key and the hash key are both derived from ``PII_KEY`` (HKDF with distinct labels); without it
(development only) they derive from ``SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

ID_NUMBER_RE = re.compile(r"^[0-9]{12}$")


class InvalidIdNumber(ValueError):
    pass


def _derive(label: bytes) -> bytes:
    secret = current_app.config.get("PII_KEY") or current_app.config["SECRET_KEY"]
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"lms-pii-" + label).derive(secret.encode())


def normalise_id_number(raw: str) -> str:
    """Strip spaces and dots; a personal ID number is exactly 12 ASCII digits. Full-width or other Unicode digits
    are folded to ASCII first (NFKC), so one number cannot be stored twice under two spellings."""
    value = re.sub(r"[\s.\-]", "", unicodedata.normalize("NFKC", str(raw)))
    if not ID_NUMBER_RE.match(value):
        raise InvalidIdNumber("a personal identification number has exactly 12 digits")
    return value


def id_number_hash(number: str) -> str:
    return hmac.new(_derive(b"hash"), number.encode(), hashlib.sha256).hexdigest()


def encrypt_id_number(number: str) -> bytes:
    return Fernet(base64.urlsafe_b64encode(_derive(b"encrypt"))).encrypt(number.encode())


def decrypt_id_number(token: bytes) -> str:
    return Fernet(base64.urlsafe_b64encode(_derive(b"encrypt"))).decrypt(token).decode()


def protected_fields(raw: str) -> dict[str, object]:
    """The three stored columns for a raw ID number: keyed hash, ciphertext, and the last three digits."""
    number = normalise_id_number(raw)
    return {
        "id_number_hash": id_number_hash(number),
        "id_number_encrypted": encrypt_id_number(number),
        "id_number_hint": number[-3:],
    }
