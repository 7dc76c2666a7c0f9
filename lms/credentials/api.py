"""``/api/v1/credentials/…``: the same credentials as the download links, for apps and wallets. Public with the code
printed on the certificate (as the verification endpoints are), rate-limited with them."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_login import current_user, login_required

from courses import services as course_services
from lms.api import bp
from lms.core.pdf import normalise_code
from lms.core.services import audit
from lms.credentials import services, verify_limit
from lms.credentials.models import IssuedCredential
from lms.extensions import db
from lms.titles import recognition

HEADERS = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}


def _body(issued: IssuedCredential) -> tuple[dict[str, Any], int, dict[str, str]]:
    body = {"credential": services.decode(issued.jwt), "jwt": issued.jwt}
    db.session.commit()  # issued on first request
    return body, 200, HEADERS


@bp.get("/credentials/certificates/<code>")
@verify_limit
def certificate_credential(code: str):
    certificate = course_services.find_certificate(normalise_code(code)) if len(code) <= 40 else None
    if certificate is None:
        abort(404, description="No certificate has this code.")
    try:
        return _body(services.credential_for_certificate(certificate))
    except services.CredentialError:
        abort(410, description="This certificate was revoked: it has no credential.")


@bp.get("/credentials/recognitions/<code>")
@verify_limit
def recognition_credential(code: str):
    row = recognition.find_by_code(code) if len(code) <= 40 else None
    if row is None:
        abort(404, description="No certificate of recognition has this code.")
    try:
        return _body(services.credential_for_recognition(row))
    except services.CredentialError:
        abort(410, description="This recognition is not in force (revoked or not decided): it has no credential.")


@bp.get("/credentials/it-certificates/<int:it_certificate_id>")
@login_required
def it_certificate_credential(it_certificate_id: int):
    """A verified national IT certificate's module set as an Open Badges 3.0 credential: for the person, or a
    holder of the IT permissions over them (audited). 410 while it is not verified."""
    certificate = services.it_certificate_for(current_user, it_certificate_id)
    if certificate is None:
        abort(404, description="No IT certificate with this id that you may see.")
    try:
        issued = services.credential_for_it_certificate(certificate)
    except services.CredentialError:
        abort(410, description="This IT certificate is not verified: it has no credential.")
    if certificate.person_id != getattr(current_user, "person_id", None):
        audit("credential.download", certificate, person_id=certificate.person_id, kind="it_modules")
    return _body(issued)


@bp.get("/credentials/records/<int:person_id>")
@login_required
def learner_record(person_id: int):
    """A person's lifelong learning record as a CLR 2.0 ClrCredential (``credential``, ``jwt``, and the bundled
    credentials' own JWTs in ``credentials``): the person's own, or — with personal-data rights over them — someone
    else's (audited)."""
    person, someone_else = services.person_for_record(current_user, person_id)
    if person is None:
        abort(404, description="No person with this id whose record you may export.")
    try:
        record = services.learner_record(person)
    except services.CredentialError as exc:
        abort(404, description=str(exc))
    if someone_else:
        audit("learner_record.export", person, person_id=person.id, credentials=len(record.jwts))
    db.session.commit()
    return {"credential": record.credential, "jwt": record.jwt, "credentials": record.jwts}, 200, HEADERS


def openapi_paths() -> dict[str, Any]:
    def path(summary: str) -> dict[str, Any]:
        return {
            "get": {
                "tags": ["credentials"],
                "summary": summary,
                "security": [],
                "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {
                        "description": "The credential (issued on first request, the same afterwards)",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "credential": {
                                            "type": "object",
                                            "description": "the OpenBadgeCredential (Open Badges 3.0), decoded",
                                        },
                                        "jwt": {"type": "string", "description": "the VC-JWT: the verifiable form"},
                                    },
                                }
                            }
                        },
                    },
                    "404": {"description": "Problem", "content": {"application/problem+json": {}}},
                    "410": {"description": "Problem", "content": {"application/problem+json": {}}},
                },
            }
        }

    return {
        "/credentials/certificates/{code}": path("A class certificate as an Open Badges 3.0 credential (public)"),
        "/credentials/recognitions/{code}": path("A recognition as an Open Badges 3.0 credential (public)"),
        "/credentials/it-certificates/{it_certificate_id}": _it_path(path("")),
        "/credentials/records/{person_id}": _record_path(_it_path(path(""))),
    }


def _record_path(base: dict[str, Any]) -> dict[str, Any]:
    get = dict(base["get"])
    get["summary"] = "A person's lifelong learning record as a CLR 2.0 credential (the person, or personal-data rights)"
    get["parameters"] = [{"name": "person_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    get["responses"] = {k: v for k, v in get["responses"].items() if k != "410"}
    return {"get": get}


def _it_path(base: dict[str, Any]) -> dict[str, Any]:
    """The IT module set's path: as the others, but by id and for a logged-in caller (token or session)."""
    get = dict(base["get"])
    get.pop("security")
    get["summary"] = "A verified IT module set as an Open Badges 3.0 credential (the person, or managers over them)"
    get["parameters"] = [{"name": "it_certificate_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    get["responses"] = {
        **get["responses"],
        "401": {"description": "Problem", "content": {"application/problem+json": {}}},
    }
    return {"get": get}
