"""A secret key of this instance, for development and the embedded default, where none is configured.

A key in the code would be a published key: anyone could sign a session cookie for any user of any install that
kept it. Instead the first start generates one into ``instance/secret_key`` (readable by its owner only) and every
later start, and every process of the instance (web, worker, beat), reads it. Production sets ``LMS_SECRET_KEY``
and never comes here.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILENAME = "secret_key"


def instance_secret_key(instance_dir: Path) -> str:
    """The instance's key, created on first use. Safe when several processes start at once: the file appears
    whole (written aside, then linked into place) and the first link wins."""
    path = instance_dir / FILENAME
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        draft = instance_dir / f".{FILENAME}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as out:
            out.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process of the instance was first: use its key
        finally:
            draft.unlink()
    key = path.read_text(encoding="ascii").strip()
    if len(key) < 32:
        raise RuntimeError(f"{path} holds no usable secret key: delete it to have a new one generated")
    return key
