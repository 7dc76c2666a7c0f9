"""Evidence files: checked on the way in, stored privately, served only through the record that owns them.

A feature that accepts evidence (an IT certificate scan, an assessment's photo) calls :func:`store_evidence` with the
upload and keeps the returned file's id; the route that shows it checks the caller's right to the owning record and
then returns :func:`evidence_response`. The type is read from the file's first bytes, never from its name or the
browser's word for it.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePath

from flask import Response, current_app
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from lms.core.formatting import in_request_language as _
from lms.core.models import EvidenceFile
from lms.extensions import db

# (magic bytes, media type, extension): the formats a phone camera or a scanner produces.
_SIGNATURES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)

# The file input of every evidence form: a phone offers its camera (``capture``) besides its files; the type is
# still checked on the bytes, ``accept`` only narrows the picker.
FILE_INPUT = {"accept": "image/*,application/pdf", "capture": "environment"}


class EvidenceError(ValueError):
    """The upload cannot be kept; the message says what to fix."""


def sniff_media_type(head: bytes) -> tuple[str, str] | None:
    for magic, media_type, extension in _SIGNATURES:
        if head.startswith(magic):
            return media_type, extension
    return None


def store_evidence(upload: FileStorage | None, *, uploaded_by_id: int | None) -> EvidenceFile:
    """Check and keep an uploaded file; the caller's transaction commits it with the record that refers to it."""
    if upload is None or not upload.filename:
        raise EvidenceError(_("Choose a file to upload (PDF, JPEG or PNG)."))
    limit = current_app.config["MAX_EVIDENCE_BYTES"]
    content = upload.stream.read(limit + 1)
    if not content:
        raise EvidenceError(_("The file is empty."))
    if len(content) > limit:
        raise EvidenceError(
            _(
                "The file is larger than %(mb)s MB: scan at a lower resolution or upload a photo instead.",
                mb=limit // (1024 * 1024),
            )
        )
    sniffed = sniff_media_type(content[:16])
    if sniffed is None:
        raise EvidenceError(_("Only PDF, JPEG or PNG files are accepted."))
    media_type, extension = sniffed
    stem = PurePath(secure_filename(upload.filename) or "evidence").stem[:150] or "evidence"
    file = EvidenceFile(
        sha256=hashlib.sha256(content).hexdigest(),
        media_type=media_type,
        size=len(content),
        filename=f"{stem}.{extension}",
        content=content,
        uploaded_by_id=uploaded_by_id,
    )
    db.session.add(file)
    db.session.flush()
    return file


def evidence_response(file: EvidenceFile) -> Response:
    """The file as a download that no cache keeps and no browser reinterprets."""
    response = Response(file.content, mimetype=file.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response
