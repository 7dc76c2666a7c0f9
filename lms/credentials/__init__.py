"""Verifiable credentials: certificates and title recognitions as Open Badges 3.0 credentials signed as VC-JWT,
the issuers' keys published as did:web documents, revocation by a Bitstring Status List (ADR 25,
docs/credentials.md).

Reads courses and titles; neither imports it: it learns of revocations through ``lms.core.signals.revoked``.
"""

from typing import Any

from flask import Blueprint

from lms.core.signals import printing, revoked

bp = Blueprint(
    "credentials",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/credentials/static",
)


@revoked.connect
def _on_revoked(sender: Any, **ids: Any) -> None:
    from lms.credentials.services import revoke_for

    revoke_for(certificate_ids=ids.get("certificate_ids", ()), recognition_ids=ids.get("recognition_ids", ()))


@printing.connect
def _credential_qrs(sender: Any, *, rows: list[Any], **_: Any) -> dict[int, str]:
    """The second QR code of printed certificates or certificates of recognition: their credentials (ADR 32). Those
    of a decision's or a class's certificates are issued together (a fixed number of statements however many)."""
    from lms.credentials import services

    if sender == "recognition":
        return {rid: services.qr_url(issued) for rid, issued in services.credentials_for_recognitions(rows).items()}
    if sender == "certificate":  # a class's certificates, issued together as well
        return {cid: services.qr_url(issued) for cid, issued in services.credentials_for_certificates(rows).items()}
    return {}


from lms.credentials import api, models, views  # noqa: E402,F401 - registers the models and routes
