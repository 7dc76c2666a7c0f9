"""Public endpoints: the issuers' DID documents and keys, the status lists, the credentials by certificate code
(the code printed on the certificate is what gives access, as on the verification pages), and a page that
verifies a pasted credential."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, abort, render_template
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from courses import services as course_services
from lms.api.limits import verify_limit
from lms.core.forms import LmsForm
from lms.core.pdf import normalise_code
from lms.core.services import audit
from lms.credentials import bp, services
from lms.credentials.models import Issuer, StatusList
from lms.extensions import db
from lms.titles import recognition

PUBLIC_HEADERS = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"}


def _json(document: dict[str, Any], mimetype: str = "application/json", **headers: str) -> Response:
    return Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype=mimetype, headers=headers)


@bp.get("/.well-known/did.json")
def instance_did():
    """The instance's did:web document: the key that signs the status lists."""
    issuer = services.instance_issuer()
    services.signing_key(issuer)
    db.session.commit()
    return _json(services.did_document(issuer), "application/did+json", **PUBLIC_HEADERS)


@bp.get("/credentials/issuers/<slug>/did.json")
def issuer_did(slug: str):
    issuer = db.session.scalar(select(Issuer).where(Issuer.slug == slug[:120]))
    if issuer is None or slug == services.INSTANCE:
        abort(404)
    return _json(services.did_document(issuer), "application/did+json", **PUBLIC_HEADERS)


@bp.get("/credentials/jwks.json")
def jwks():
    """Every issuer's keys, retired ones included, as one JWK Set (each key's kid is its DID URL)."""
    return _json(services.jwks(), "application/jwk-set+json", **PUBLIC_HEADERS)


@bp.get("/credentials/status/<int:list_id>")
def status_list(list_id: int):
    """The Bitstring Status List credential, signed (VC-JWT); fetched by verifiers, never cached for long."""
    row = db.session.get(StatusList, list_id)
    if row is None:
        abort(404)
    token = services.status_list_credential(row)
    db.session.commit()  # the instance key, on the very first request
    return Response(
        token, mimetype="application/vc+jwt", headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"}
    )


def _download(issued, filename: str) -> Response:
    document = {"credential": services.decode(issued.jwt), "jwt": issued.jwt}
    db.session.commit()
    return _json(
        document,
        **{
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
            "X-Robots-Tag": "noindex",
        },
    )


@bp.get("/credentials/certificates/<code>.json")
@verify_limit
def certificate_credential(code: str):
    """Public with the code: the class certificate as an Open Badges 3.0 credential (issued on first request)."""
    certificate = course_services.find_certificate(normalise_code(code)) if len(code) <= 40 else None
    if certificate is None:
        abort(404)
    try:
        issued = services.credential_for_certificate(certificate)
    except services.CredentialError as exc:
        abort(410, description=str(exc))
    return _download(issued, f"chung-nhan-{certificate.code}.json")


@bp.get("/credentials/recognitions/<code>.json")
@verify_limit
def recognition_credential(code: str):
    """Public with the code: the recognition as an Open Badges 3.0 credential (issued on first request)."""
    row = recognition.find_by_code(code) if len(code) <= 40 else None
    if row is None:
        abort(404)
    try:
        issued = services.credential_for_recognition(row)
    except services.CredentialError as exc:
        abort(410, description=str(exc))
    return _download(issued, f"cong-nhan-{row.certificate_code}.json")


@bp.get("/credentials/it-certificates/<int:it_certificate_id>.json")
@login_required
def it_certificate_credential(it_certificate_id: int):
    """The verified IT module set as an Open Badges 3.0 credential: for the person, or for a manager or leader
    over them (audited, as the scan is)."""
    certificate = services.it_certificate_for(current_user, it_certificate_id)
    if certificate is None:
        abort(404)
    try:
        issued = services.credential_for_it_certificate(certificate)
    except services.CredentialError as exc:
        abort(410, description=str(exc))
    if certificate.person_id != getattr(current_user, "person_id", None):
        audit("credential.download", certificate, person_id=certificate.person_id, kind="it_modules")
    return _download(issued, f"cntt-{certificate.id}.json")


@bp.get("/credentials/records/<int:person_id>.json")
@login_required
def learner_record(person_id: int):
    """The person's lifelong learning record as a CLR 2.0 credential: their own, or — for a centre manager or a
    leader with personal-data rights over them — someone else's, audited as an export of personal data."""
    person, someone_else = services.person_for_record(current_user, person_id)
    if person is None:
        abort(404)
    try:
        record = services.learner_record(person)
    except services.CredentialError as exc:
        abort(404, description=str(exc))
    if someone_else:
        audit("learner_record.export", person, person_id=person.id, credentials=len(record.jwts))
    db.session.commit()
    document = {"credential": record.credential, "jwt": record.jwt, "credentials": record.jwts}
    return _json(
        document,
        **{
            "Content-Disposition": f'attachment; filename="ho-so-hoc-tap-{person.id}.json"',
            "Cache-Control": "private, no-store",
            "X-Robots-Tag": "noindex",
        },
    )


class VerifyForm(LmsForm):
    token = TextAreaField("Credential", validators=[DataRequired(), Length(max=50_000)])
    # The holder's name from their identity card: checked against the credential's salted hash (ADR 32, amended).
    name = StringField("Full name", validators=[Optional(), Length(max=300)])


@bp.route("/credentials/verify", methods=["GET", "POST"])
@verify_limit
def verify():
    """Public: paste a credential (the JWT, the JSON file downloaded from us, or a scanned QR code's address) and
    see what it proves. The page carries the issuers' keys and the status lists (ADR 32), so the browser verifies
    a credential — a scanned one arrives in the address's fragment, which never reaches us — without our
    credential endpoints."""
    form = VerifyForm()
    result = None
    if form.validate_on_submit():
        result = services.verify(services.presented_token(form.token.data or ""), name=form.name.data or "")
    trust = services.trust_bundle()
    db.session.commit()  # the instance's key, on the very first status list
    return render_template(
        "credentials/verify.html",
        form=form,
        result=result,
        messages={
            **services.MESSAGES,
            **services.PROVES,
            **{f"name_{k}": v for k, v in services.NAME_MESSAGES.items()},
        },
        trust=trust,
    )
