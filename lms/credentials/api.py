"""``/api/v1/credentials/…``: the same credentials as the download links, for apps and wallets. Public with the code
printed on the certificate (as the verification endpoints are), rate-limited with them."""

from __future__ import annotations

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from courses import services as course_services
from lms.api import bp
from lms.api.limits import verify_limit
from lms.api.schema import operation
from lms.core.pdf import normalise_code
from lms.core.services import audit
from lms.credentials import services
from lms.credentials.models import IssuedCredential
from lms.credentials.schemas import CredentialCheckIn, CredentialCheckOut, CredentialOut, LearnerRecordOut
from lms.extensions import db
from lms.titles import recognition

TAGS = ["credentials"]
HEADERS = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}


def _body(issued: IssuedCredential) -> tuple[CredentialOut, int, dict[str, str]]:
    body = CredentialOut(credential=services.decode(issued.jwt), jwt=issued.jwt)
    db.session.commit()  # issued on first request
    return body, 200, HEADERS


@bp.get("/credentials/certificates/<code>")
@operation(None, public=True, ok=CredentialOut, tags=TAGS, errors=(404, 410, 429))
@verify_limit
def certificate_credential(code: str):
    """A class certificate as an Open Badges 3.0 credential, by the code printed on it (public, rate-limited
    with the verification pages; issued on first request, the same afterwards). 410 once revoked."""
    certificate = course_services.find_certificate(normalise_code(code)) if len(code) <= 40 else None
    if certificate is None:
        abort(404, description=_("No certificate has this code."))
    try:
        return _body(services.credential_for_certificate(certificate))
    except services.CredentialError:
        abort(410, description=_("This certificate was revoked: it has no credential."))


@bp.get("/credentials/recognitions/<code>")
@operation(None, public=True, ok=CredentialOut, tags=TAGS, errors=(404, 410, 429))
@verify_limit
def recognition_credential(code: str):
    """A title recognition as an Open Badges 3.0 credential, by the code on its certificate of recognition
    (public, rate-limited). 410 while the recognition is not in force (revoked or not decided)."""
    row = recognition.find_by_code(code) if len(code) <= 40 else None
    if row is None:
        abort(404, description=_("No certificate of recognition has this code."))
    try:
        return _body(services.credential_for_recognition(row))
    except services.CredentialError:
        abort(410, description=_("This recognition is not in force (revoked or not decided): it has no credential."))


@bp.get("/credentials/it-certificates/<int:it_certificate_id>")
@operation(None, ok=CredentialOut, tags=TAGS, errors=(410,))
def it_certificate_credential(it_certificate_id: int):
    """A verified national IT certificate's module set as an Open Badges 3.0 credential: for the person, or a
    holder of the IT permissions over them (audited). 410 while it is not verified."""
    certificate = services.it_certificate_for(current_user, it_certificate_id)
    if certificate is None:
        abort(404, description=_("No IT certificate with this id that you may see."))
    try:
        issued = services.credential_for_it_certificate(certificate)
    except services.CredentialError:
        abort(410, description=_("This IT certificate is not verified: it has no credential."))
    if certificate.person_id != getattr(current_user, "person_id", None):
        audit("credential.download", certificate, person_id=certificate.person_id, kind="it_modules")
    return _body(issued)


@bp.get("/credentials/records/<int:person_id>")
@operation(None, ok=LearnerRecordOut, tags=TAGS)
def learner_record(person_id: int):
    """A person's lifelong learning record as a CLR 2.0 ClrCredential (``credential``, ``jwt``, and the bundled
    credentials' own JWTs in ``credentials``): the person's own, or — with personal-data rights over them — someone
    else's (audited)."""
    person, someone_else = services.person_for_record(current_user, person_id)
    if person is None:
        abort(404, description=_("No person with this id whose record you may export."))
    try:
        record = services.learner_record(person)
    except services.CredentialError as exc:
        abort(404, description=str(exc))
    if someone_else:
        audit("learner_record.export", person, person_id=person.id, credentials=len(record.jwts))
    db.session.commit()
    return LearnerRecordOut(credential=record.credential, jwt=record.jwt, credentials=record.jwts), 200, HEADERS


@bp.post("/credentials/verify")
@operation(None, public=True, json=CredentialCheckIn, ok=CredentialCheckOut, tags=TAGS, errors=(429,))
@verify_limit
def verify_credential(json: CredentialCheckIn):
    """Public: what the verification page (``/credentials/verify``) says of a presented credential — its VC-JWT, the
    JSON file, or its QR code's address — and, with ``name``, whether it was issued to that name: the same checks
    (signature by one of our issuers' keys, retired ones included; claims; dates; revocation list), the same words,
    nothing more of the holder than the page shows, and the page's rate limit (one budget with every verification).
    A verdict is a 200 whatever it is; only a body that is not one is refused."""
    result = services.verify(services.presented_token(json.credential), name=json.name or "")
    answer = CredentialCheckOut(
        valid=result.valid,
        status=result.status,  # type: ignore[arg-type]
        reason=result.reason,  # type: ignore[arg-type]
        message=result.message,
        issuer=result.issuer,
        checks=result.checks,
        name_match=result.name_match,
        name_message=result.name_message,
    )
    return answer, 200, {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
