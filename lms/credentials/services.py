"""Certificates and recognitions as Open Badges 3.0 credentials, signed as VC-JWT with Ed25519 (ADR 25).

- **Issuers and keys**: :func:`issuer_for_certificate`, :func:`issuer_for_recognition`, :func:`create_key`,
  :func:`rotate_key`; public keys published by :func:`did_document` and :func:`jwks`.
- **Issuing**: :func:`credential_for_certificate` and :func:`credential_for_recognition` build the
  ``OpenBadgeCredential``, sign it and keep it (the same JWT is handed out again).
- **Revocation**: every credential has an index in a Bitstring Status List (:func:`status_list_credential`);
  :func:`revoke_for` flips the bits of a revoked certificate's or recognition's credentials.
- **Verification**: :func:`verify` checks the signature, the key, the dates and the status list and says in
  Vietnamese what the credential proves.

Services flush and never commit.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import json
import re
import secrets
import unicodedata
import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, has_request_context, request
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from config import ConfigError
from courses import it_skills
from courses.models import Certificate, CourseClass, ItCertificate, ItCertificateStatus, LearningRecord
from lms.extensions import db, utcnow
from lms.registry.models import AdminUnit, Clc, Person, UnitLevel
from lms.registry.text import fold
from lms.titles import approvals
from lms.titles.models import TITLE_SUBJECT, CriteriaSet, Recognition, RecognitionStatus, SubjectType, Title
from lms.titles.recognition import certificate_valid_until, subjects, title_names_vi

from .models import STATUS_LIST_SIZE, IssuedCredential, Issuer, IssuerKey, StatusList

VN = ZoneInfo("Asia/Ho_Chi_Minh")
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
INSTANCE = "instance"
STATUS_PATH = re.compile(r"/credentials/status/(\d+)$")


class CredentialError(ValueError):
    """Nothing can be issued (a revoked certificate, a proposal with no decision): the message says why."""


# --- configuration -----------------------------------------------------------------------------------------------


def _fernet() -> Fernet:
    secret = current_app.config.get("CREDENTIALS_KEY")
    if not secret:
        if current_app.config.get("ENV_NAME") == "production":
            raise ConfigError("set LMS_CREDENTIALS_KEY: it encrypts the issuers' signing keys")
        secret = current_app.config["SECRET_KEY"]  # development and tests only
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"lms-credentials-keys").derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def domain() -> str:
    """The host of the did:web identifiers: configured, else (development and tests) the request's host, else
    ``localhost``. Production refuses to sign without it, as without the key: a certificate drawn by a worker (a
    class's completion, a decision's print) would otherwise name ``localhost`` as its issuer, and one drawn in a
    request whatever host the request named."""
    configured = current_app.config.get("CREDENTIALS_DOMAIN")
    if configured:
        return str(configured)
    if current_app.config.get("ENV_NAME") == "production":
        raise ConfigError("set LMS_CREDENTIALS_DOMAIN: the host in the issuers' identifiers, e.g. lms.example.vn")
    if has_request_context():
        return request.host
    return "localhost"


def base_url() -> str:
    if current_app.config.get("CREDENTIALS_DOMAIN") or not has_request_context():
        return f"https://{domain()}"
    return request.host_url.rstrip("/")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- issuers and keys --------------------------------------------------------------------------------------------


def did_for(issuer: Issuer) -> str:
    """``did:web:host`` for the instance (``/.well-known/did.json``), ``did:web:host:credentials:issuers:slug``
    for the others (``/credentials/issuers/slug/did.json``); a port is written ``%3A`` as did:web requires."""
    host = domain().replace(":", "%3A")
    return f"did:web:{host}" if issuer.slug == INSTANCE else f"did:web:{host}:credentials:issuers:{issuer.slug}"


def kid_for(key: IssuerKey) -> str:
    return f"{did_for(key.issuer)}#{key.key_id}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def _get_or_create_issuer(slug: str, **values: Any) -> Issuer:
    issuer = db.session.scalar(select(Issuer).where(Issuer.slug == slug))
    if issuer is not None:
        return issuer
    try:
        # Two first downloads for one new issuer at once: the loser's insert fails the unique slug, and it takes
        # the winner's row instead of failing the request.
        with db.session.begin_nested():
            issuer = Issuer(slug=slug, **values)
            db.session.add(issuer)
    except IntegrityError:
        issuer = db.session.scalars(select(Issuer).where(Issuer.slug == slug)).one()
    return issuer


def instance_issuer() -> Issuer:
    return _get_or_create_issuer(INSTANCE, kind="instance", name="Hệ thống quản lý học tập suốt đời (LMS)")


def issuer_for_clc(clc: Clc) -> Issuer:
    return _get_or_create_issuer(f"clc-{clc.id}", kind="clc", name=clc.name, clc_id=clc.id)


def issuer_for_recognition(row: Recognition) -> Issuer:
    """The authority that decided: the level of the approvals configuration (commune or province) and the name
    written on the decision. Two decisions in the name of the same authority share an issuer."""
    rule = approvals.rules_for([(row.id, row.title, row.subject_type, row.subject_id)])[row.id]
    commune, province = approvals.places([row.commune_id])[row.commune_id]
    unit = province if rule.level == UnitLevel.PROVINCE.value and province is not None else commune
    name = row.authority or approvals.authority_name(rule, commune, province)
    slug = f"{unit.level}-{unit.code}-{_slug(name)}"[:120].rstrip("-")
    return _get_or_create_issuer(slug, kind="authority", name=name, unit_id=unit.id)


def find_issuer(spec: str) -> Issuer:
    """The issuer a CLI argument names: ``instance``, ``clc:ID``, ``recognition:ID`` (the authority that decided
    it) or an existing issuer's slug."""
    kind, _, ident = spec.partition(":")
    if spec == INSTANCE:
        return instance_issuer()
    if kind == "clc" and ident.isdigit():
        clc = db.session.get(Clc, int(ident))
        if clc is None:
            raise CredentialError(f"no CLC with id {ident}")
        return issuer_for_clc(clc)
    if kind == "recognition" and ident.isdigit():
        row = db.session.get(Recognition, int(ident))
        if row is None or row.status not in (RecognitionStatus.RECOGNISED, RecognitionStatus.REVOKED):
            raise CredentialError(f"no decided recognition with id {ident}")
        return issuer_for_recognition(row)
    issuer = db.session.scalar(select(Issuer).where(Issuer.slug == spec))
    if issuer is None:
        raise CredentialError(f"no issuer {spec!r}: use instance, clc:ID, recognition:ID or an issuer's slug")
    return issuer


def active_key(issuer: Issuer) -> IssuerKey | None:
    return db.session.scalar(select(IssuerKey).where(IssuerKey.issuer_id == issuer.id, IssuerKey.retired_at.is_(None)))


def create_key(issuer: Issuer) -> IssuerKey:
    """A new Ed25519 key pair for ``issuer``: the private half encrypted, the public half as a JWK. Refused if
    the issuer already has an active key (rotate it instead)."""
    if active_key(issuer) is not None:
        raise CredentialError(f"issuer {issuer.slug} already has an active key: rotate it")
    private = Ed25519PrivateKey.generate()
    now = utcnow()
    key = IssuerKey(
        issuer=issuer,
        key_id=f"key-{now:%Y%m%dT%H%M%S}-{secrets.token_hex(2)}",
        public_jwk={"kty": "OKP", "crv": "Ed25519", "x": _b64(private.public_key().public_bytes_raw())},
        private_key_encrypted=_fernet().encrypt(private.private_bytes_raw()),
        created_at=now,
    )
    db.session.add(key)
    db.session.flush()
    return key


def rotate_key(issuer: Issuer) -> IssuerKey:
    """Retire the active key and create a new one. The retired key's public half stays published, so what it
    signed keeps verifying; its private half is erased, so it can sign nothing more."""
    old = active_key(issuer)
    if old is not None:
        old.retired_at = utcnow()
        old.private_key_encrypted = b""
        db.session.flush()
    return create_key(issuer)


def signing_key(issuer: Issuer) -> IssuerKey:
    """The issuer's active key, created on first use (an issuer needs no ceremony before its first credential).
    Two first uses at once: the partial unique index lets one key win, and the other request uses it."""
    key = active_key(issuer)
    if key is not None:
        return key
    try:
        with db.session.begin_nested():
            return create_key(issuer)
    except IntegrityError:
        key = active_key(issuer)
        assert key is not None
        return key


def _private(key: IssuerKey) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_fernet().decrypt(key.private_key_encrypted))


def public_jwk(key: IssuerKey) -> dict[str, Any]:
    return {**key.public_jwk, "kid": kid_for(key), "alg": "EdDSA", "use": "sig"}


def did_document(issuer: Issuer) -> dict[str, Any]:
    """The issuer's did:web document: every key it ever had (retired ones verify what they signed)."""
    did = did_for(issuer)
    methods = [
        {"id": kid_for(k), "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": dict(k.public_jwk)}
        for k in issuer.keys
    ]
    return {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/jws-2020/v1"],
        "id": did,
        "alsoKnownAs": [f"{base_url()}/credentials/issuers/{issuer.slug}"],
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }


def jwks(issuer: Issuer | None = None) -> dict[str, Any]:
    stmt = select(IssuerKey).order_by(IssuerKey.id)
    if issuer is not None:
        stmt = stmt.where(IssuerKey.issuer_id == issuer.id)
    return {"keys": [public_jwk(k) for k in db.session.scalars(stmt)]}


# --- signing -----------------------------------------------------------------------------------------------------


def _sign(payload: dict[str, Any], key: IssuerKey) -> str:
    # OB 3.0 §8.2: alg, kid and typ "JWT" only (no other header).
    header = {"alg": "EdDSA", "kid": kid_for(key), "typ": "JWT"}
    signing_input = (
        _b64(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + _b64(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    )
    return signing_input + "." + _b64(_private(key).sign(signing_input.encode("ascii")))


def _timestamp(day: date, end: bool = False) -> datetime:
    return datetime.combine(day, time(23, 59, 59) if end else time(0), VN)


def _jwt_claims(credential: dict[str, Any]) -> dict[str, Any]:
    """The JWT claims OB 3.0 §8.2 asks for, mirroring the credential."""
    claims = {
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "sub": credential["credentialSubject"]["id"],
        "nbf": int(datetime.fromisoformat(credential["validFrom"]).timestamp()),
    }
    if "validUntil" in credential:
        claims["exp"] = int(datetime.fromisoformat(credential["validUntil"]).timestamp())
    return claims


# --- status lists ------------------------------------------------------------------------------------------------


def _allocate_index() -> tuple[StatusList, int]:
    """A random free index in the newest list that is less than half full (random, so an index says nothing
    about when or to whom it was given); a new list when it is. A race on one index fails the unique
    constraint, and the request is retried by the person."""
    status_list = db.session.scalar(select(StatusList).order_by(StatusList.id.desc()).limit(1))
    if status_list is not None:
        used = db.session.scalar(
            select(db.func.count())
            .select_from(IssuedCredential)
            .where(IssuedCredential.status_list_id == status_list.id)
        )
        if (used or 0) * 2 >= status_list.size:
            status_list = None
    if status_list is None:
        status_list = StatusList(purpose="revocation", size=STATUS_LIST_SIZE)
        db.session.add(status_list)
        db.session.flush()
    while True:
        index = secrets.randbelow(status_list.size)
        taken = db.session.scalar(
            select(IssuedCredential.id).where(
                IssuedCredential.status_list_id == status_list.id, IssuedCredential.status_index == index
            )
        )
        if taken is None:
            return status_list, index


def _allocate_indexes(count: int) -> list[tuple[StatusList, int]]:
    """``count`` random free indexes of the newest list that stays less than half full with them (a new list when it
    would not), as :func:`_allocate_index` gives one: a fixed number of statements for a decision's print (another
    round only when random candidates collide with taken ones, rare in a list less than half full)."""
    status_list = db.session.scalar(select(StatusList).order_by(StatusList.id.desc()).limit(1))
    if status_list is not None:
        used = db.session.scalar(
            select(db.func.count())
            .select_from(IssuedCredential)
            .where(IssuedCredential.status_list_id == status_list.id)
        )
        if ((used or 0) + count) * 2 > status_list.size:
            status_list = None
    if status_list is None:
        status_list = StatusList(purpose="revocation", size=STATUS_LIST_SIZE)
        db.session.add(status_list)
        db.session.flush()
    chosen: list[int] = []
    while len(chosen) < count:
        candidates = {secrets.randbelow(status_list.size) for _ in range(4 * (count - len(chosen)))} - set(chosen)
        taken = set(
            db.session.scalars(
                select(IssuedCredential.status_index).where(
                    IssuedCredential.status_list_id == status_list.id, IssuedCredential.status_index.in_(candidates)
                )
            )
        )
        chosen += sorted(candidates - taken, key=lambda _: secrets.randbelow(1 << 30))[: count - len(chosen)]
    return [(status_list, index) for index in chosen]


def status_list_url(status_list_id: int) -> str:
    return f"{base_url()}/credentials/status/{status_list_id}"


def revoked_indexes(status_list_id: int, index: int | None = None) -> set[int]:
    """Indexes whose bit is set: credentials revoked, credentials whose certificate or recognition was deleted,
    and (belt and braces) credentials whose certificate or recognition is revoked now even if the revocation hook
    was bypassed. One query; ``index`` asks about one."""
    stmt = (
        select(IssuedCredential.status_index)
        .outerjoin(Certificate, Certificate.id == IssuedCredential.certificate_id)
        .outerjoin(Recognition, Recognition.id == IssuedCredential.recognition_id)
        .outerjoin(ItCertificate, ItCertificate.id == IssuedCredential.it_certificate_id)
        .where(
            IssuedCredential.status_list_id == status_list_id,
            or_(
                IssuedCredential.revoked_at.is_not(None),
                Certificate.revoked_at.is_not(None),
                Recognition.status == RecognitionStatus.REVOKED.value,
                # an IT certificate rejected after it was verified (courses does not announce it)
                ItCertificate.status != ItCertificateStatus.VERIFIED.value,
                # its certificate, recognition or IT certificate was deleted
                IssuedCredential.certificate_id.is_(None)
                & IssuedCredential.recognition_id.is_(None)
                & IssuedCredential.it_certificate_id.is_(None),
            ),
        )
    )
    if index is not None:
        stmt = stmt.where(IssuedCredential.status_index == index)
    return set(db.session.scalars(stmt))


def encode_bitstring(size: int, indexes: Iterable[int]) -> str:
    """Bitstring Status List §3.1: index 0 is the left-most bit of the first byte; GZIP, then multibase
    base64url without padding (prefix ``u``)."""
    bits = bytearray(size // 8)
    for index in indexes:
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + _b64(gzip.compress(bytes(bits), mtime=0))


def decode_bitstring(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("encodedList is not multibase base64url")
    return gzip.decompress(_unb64(encoded[1:]))


def bit_is_set(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(status_list: StatusList, now: datetime | None = None) -> str:
    """The list as a BitstringStatusListCredential, signed by the instance; valid for a day (verifiers fetch it
    again after that)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    url = status_list_url(status_list.id)
    issuer = instance_issuer()
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": did_for(issuer), "type": ["Profile"], "name": issuer.name},
        "validFrom": now.isoformat(),
        "validUntil": (now + timedelta(days=1)).isoformat(),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": status_list.purpose,
            "encodedList": encode_bitstring(status_list.size, revoked_indexes(status_list.id)),
        },
    }
    return _sign({**credential, **_jwt_claims(credential)}, signing_key(issuer))


def revoke_for(*, certificate_ids: Iterable[int] = (), recognition_ids: Iterable[int] = ()) -> int:
    """Flip the status bits of every credential issued for these certificates or recognitions (one statement)."""
    certificate_ids, recognition_ids = set(certificate_ids), set(recognition_ids)
    if not certificate_ids and not recognition_ids:
        return 0
    result = db.session.execute(
        update(IssuedCredential)
        .where(
            IssuedCredential.revoked_at.is_(None),
            or_(
                IssuedCredential.certificate_id.in_(certificate_ids),
                IssuedCredential.recognition_id.in_(recognition_ids),
            ),
        )
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- subjects ----------------------------------------------------------------------------------------------------


def _subject_uri(subject_type: str, subject_id: int) -> str:
    """An opaque, stable identifier: no ID number, no name, and not guessable from our row ids (keyed hash)."""
    digest = hmac.new(
        (current_app.config.get("CREDENTIALS_KEY") or current_app.config["SECRET_KEY"]).encode(),
        f"subject:{subject_type}:{subject_id}".encode(),
        hashlib.sha256,
    ).digest()
    return f"urn:uuid:{uuid.UUID(bytes=digest[:16], version=4)}"


def _name_identity(name: str, hashed: bool) -> dict[str, Any]:
    """A person's name is given hashed with a salt (the holder shows it with an identity card, the verifier
    hashes it); a group's name is public and given as it is."""
    if not hashed:
        return {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": name}
    salt = secrets.token_hex(8)
    digest = hashlib.sha256((name + salt).encode()).hexdigest()
    return {
        "type": "IdentityObject",
        "identityType": "name",
        "hashed": True,
        "identityHash": f"sha256${digest}",
        "salt": salt,
    }


# --- building --------------------------------------------------------------------------------------------------


def _issuer_profile(issuer: Issuer) -> dict[str, Any]:
    profile: dict[str, Any] = {"id": did_for(issuer), "type": ["Profile"], "name": issuer.name, "url": base_url()}
    return profile


def _envelope(
    *, credential_id: str, name: str, issuer: Issuer, valid_from: date, valid_until: date | None
) -> dict[str, Any]:
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": name,
        "issuer": _issuer_profile(issuer),
        "validFrom": _timestamp(valid_from).isoformat(),
        "awardedDate": _timestamp(valid_from).isoformat(),
    }
    if valid_until is not None:
        credential["validUntil"] = _timestamp(valid_until, end=True).isoformat()
    return credential


def _store(
    credential: dict[str, Any],
    *,
    issuer: Issuer,
    kind: str,
    valid_from: date,
    valid_until: date | None,
    credential_uuid: str,
    **source: int,
) -> IssuedCredential:
    status_list, index = _allocate_index()
    row = _issued(
        credential,
        key=signing_key(issuer),
        status_list=status_list,
        index=index,
        kind=kind,
        valid_from=valid_from,
        valid_until=valid_until,
        credential_uuid=credential_uuid,
        **source,
    )
    db.session.add(row)
    db.session.flush()
    return row


def _issued(
    credential: dict[str, Any],
    *,
    key: IssuerKey,
    status_list: StatusList,
    index: int,
    kind: str,
    valid_from: date,
    valid_until: date | None,
    credential_uuid: str,
    **source: int,
) -> IssuedCredential:
    """The credential with its status entry, signed, as a row not yet added to the session."""
    url = status_list_url(status_list.id)
    credential["credentialStatus"] = {
        "id": f"{url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": status_list.purpose,
        "statusListIndex": str(index),
        "statusListCredential": url,
    }
    return IssuedCredential(
        uuid=credential_uuid,
        kind=kind,
        issuer_key_id=key.id,
        status_list_id=status_list.id,
        status_index=index,
        valid_from=valid_from,
        valid_until=valid_until,
        jwt=_sign({**credential, **_jwt_claims(credential)}, key),
        **source,
    )


def _current(**source: int) -> IssuedCredential | None:
    column, value = next(iter(source.items()))
    return db.session.scalar(
        select(IssuedCredential)
        .where(getattr(IssuedCredential, column) == value, IssuedCredential.revoked_at.is_(None))
        .order_by(IssuedCredential.id.desc())
        .limit(1)
    )


def credential_for_certificate(certificate: Certificate) -> IssuedCredential:
    """The certificate's credential: the one issued before if it still stands, else a new one. A revoked
    certificate has none."""
    if certificate.revoked_at is not None:
        raise CredentialError("Chứng nhận này đã bị thu hồi: không cấp chứng chỉ số.")
    return credentials_for_certificates([certificate])[certificate.id]


def credentials_for_certificates(rows: Sequence[Certificate]) -> dict[int, IssuedCredential]:
    """:func:`credential_for_certificate` of many certificates at once (a class's, printed for its closing
    ceremony), by certificate id; a revoked one has none. A fixed number of statements whatever their number (one
    more per centre issuing): the credentials already issued in one query, and those to issue read, signed and
    inserted together."""
    rows = [r for r in rows if r.revoked_at is None]
    if not rows:
        return {}
    result: dict[int, IssuedCredential] = {}
    for issued in db.session.scalars(
        select(IssuedCredential)
        .where(IssuedCredential.certificate_id.in_([r.id for r in rows]), IssuedCredential.revoked_at.is_(None))
        .order_by(IssuedCredential.id)
    ):
        assert issued.certificate_id is not None
        result[issued.certificate_id] = issued  # the latest wins
    wanted = [r for r in rows if r.id not in result]
    if not wanted:
        return result
    classes = {
        c.id: c
        for c in db.session.scalars(
            select(CourseClass)
            .where(CourseClass.id.in_({r.class_id for r in wanted}))
            .options(selectinload(CourseClass.course))
        )
    }
    clcs = {c.id: c for c in db.session.scalars(select(Clc).where(Clc.id.in_({c.clc_id for c in classes.values()})))}
    communes = {
        u.id: u
        for u in db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_({c.commune_id for c in classes.values()})))
    }
    person_ids = {r.person_id for r in wanted}
    names = dict(
        db.session.execute(select(Person.id, Person.full_name).where(Person.id.in_(person_ids))).tuples().all()
    )
    issuers = {clc_id: issuer_for_clc(clc) for clc_id, clc in clcs.items()}
    keys = {issuer.id: signing_key(issuer) for issuer in issuers.values()}
    issued_rows = []
    for certificate, (status_list, index) in zip(wanted, _allocate_indexes(len(wanted)), strict=True):
        course_class = classes[certificate.class_id]
        issuer = issuers[course_class.clc_id]
        credential, credential_uuid = _certificate_credential(
            certificate,
            course_class=course_class,
            clc=clcs[course_class.clc_id],
            commune=communes.get(course_class.commune_id),
            issuer=issuer,
            name=names[certificate.person_id],
        )
        issued_rows.append(
            _issued(
                credential,
                key=keys[issuer.id],
                status_list=status_list,
                index=index,
                kind="certificate",
                valid_from=certificate.issued_on,
                valid_until=None,
                credential_uuid=credential_uuid,
                certificate_id=certificate.id,
            )
        )
    for issued in _insert_issued(issued_rows):
        assert issued.certificate_id is not None
        result[issued.certificate_id] = issued
    return result


def _insert_issued(issued_rows: Sequence[IssuedCredential]) -> list[IssuedCredential]:
    """Many credentials written by one multi-row INSERT (the unit of work sends one statement per row where it must
    read back each id), then read back as persistent objects: a decision's and a class's credentials alike."""
    if not issued_rows:
        return []
    columns = [column.key for column in IssuedCredential.__table__.columns if column.key != "id"]
    db.session.execute(
        insert(IssuedCredential),
        [{key: getattr(issued, key) for key in columns if getattr(issued, key) is not None} for issued in issued_rows],
    )
    return list(
        db.session.scalars(select(IssuedCredential).where(IssuedCredential.uuid.in_([i.uuid for i in issued_rows])))
    )


def _certificate_credential(
    certificate: Certificate,
    *,
    course_class: CourseClass,
    clc: Clc,
    commune: AdminUnit | None,
    issuer: Issuer,
    name: str,
) -> tuple[dict[str, Any], str]:
    """The certificate's credential, unsigned, with its uuid: built from what the caller read for all."""
    course = course_class.course
    credential_uuid = str(uuid.uuid4())
    share = round(float(course.min_attendance_share) * 100)
    narrative = (
        f"Tham dự ít nhất {share}% số buổi học của lớp"
        + (" và đạt bài kiểm tra cuối khóa" if course.requires_assessment else "")
        + f" (quy định của khóa học {course.code}, {course.planned_hours:g} giờ)."
    )
    credential = _envelope(
        credential_id=f"urn:uuid:{credential_uuid}",
        name=f"Chứng nhận hoàn thành: {course.name}",
        issuer=issuer,
        valid_from=certificate.issued_on,
        valid_until=None,
    )
    credential["credentialSubject"] = {
        "id": _subject_uri(SubjectType.PERSON, certificate.person_id),
        "type": ["AchievementSubject"],
        "identifier": [_name_identity(name, hashed=True)],
        "activityStartDate": _timestamp(course_class.starts_on).isoformat(),
        "activityEndDate": _timestamp(course_class.ends_on, end=True).isoformat(),
        "achievement": {
            "id": f"{base_url()}/credentials/achievements/course-{course.id}",
            "type": ["Achievement"],
            "achievementType": "CertificateOfCompletion",
            "name": course.name,
            "description": course.description or f"Khóa học {course.name} tại {clc.name}.",
            "humanCode": course.code,
            "fieldOfStudy": course.category,
            "inLanguage": "vi",
            "criteria": {"narrative": narrative},
        },
    }
    credential["evidence"] = [
        {
            "id": f"{base_url()}/courses/verify/{certificate.code}",
            "type": ["Evidence"],
            "name": f"Chứng nhận số {certificate.code}",
            "description": (
                f"Lớp “{course_class.name}” của {clc.name}"
                + (f", {commune.name_in_sentence}" if commune else "")
                + f", từ {course_class.starts_on:%d/%m/%Y} đến {course_class.ends_on:%d/%m/%Y}."
            ),
            "genre": "Certificate",
        }
    ]
    return credential, credential_uuid


def issuer_for_it_certificate(certificate: ItCertificate) -> Issuer:
    """Who vouches for a verified national IT certificate: the CLC of the holder's commune, whose centre managers
    verify it against the scan (ADR 7); the commune's People's Committee where the commune has no CLC."""
    commune = it_skills.commune_of(certificate.person)
    clc = db.session.scalar(select(Clc).where(Clc.commune_id == commune.id).order_by(Clc.id).limit(1))
    if clc is not None:
        return issuer_for_clc(clc)
    # "xã Ea Tu" inside the name, as the decisions write it (ADR 32's amendment): "Ủy ban nhân dân Xã Ea Tu" until
    # 7/12/2026. The slug folds the case, so the issuer is the one it was — its DID and keys, which verify what it
    # signed before — and only its name for what it signs from now on changes.
    name = f"Ủy ban nhân dân {commune.name_in_sentence}"
    slug = f"{commune.level}-{commune.code}-{_slug(name)}"[:120].rstrip("-")
    issuer = _get_or_create_issuer(slug, kind="authority", name=name, unit_id=commune.id)
    if issuer.name != name:
        issuer.name = name
    return issuer


def credential_for_it_certificate(certificate: ItCertificate) -> IssuedCredential:
    """A verified national IT certificate as the module set it grants (the basic standard of Circular 03/2014, or the
    advanced one for an advanced certificate):
    the achievement is the standard, its criteria the modules; the evidence the certificate (number, test centre,
    date) and its verification. Only a verified certificate has one; rejecting it later flips the status bit."""
    if certificate.status != ItCertificateStatus.VERIFIED or certificate.decided_at is None:
        raise CredentialError("Chỉ chứng chỉ ứng dụng CNTT đã được xác minh mới có chứng chỉ số.")
    existing = _current(it_certificate_id=certificate.id)
    if existing is not None:
        return existing
    framework = it_skills.framework()
    standard = framework.standards[framework.certificate_standard]
    # An advanced certificate (Joint Circular 17/2016, Art. 16.2) attests its advanced modules too, and the standard.
    codes = sorted(framework.all_required(standard.code) | set(certificate.modules or ()))
    if certificate.modules and "advanced" in framework.standards and framework.meets("advanced", codes):
        standard = framework.standards["advanced"]
    names = {module.code: module.name_vi for module in framework.modules}
    issuer = issuer_for_it_certificate(certificate)
    credential_uuid = str(uuid.uuid4())
    verified_on = certificate.decided_at.date()
    credential = _envelope(
        credential_id=f"urn:uuid:{credential_uuid}",
        name=f"{standard.name_vi} ({', '.join(codes)})",
        issuer=issuer,
        valid_from=verified_on,
        valid_until=None,
    )
    credential["credentialSubject"] = {
        "id": _subject_uri(SubjectType.PERSON, certificate.person_id),
        "type": ["AchievementSubject"],
        "identifier": [_name_identity(certificate.person.full_name, hashed=True)],
        "achievement": {
            "id": f"{base_url()}/credentials/achievements/it-{standard.code}",
            "type": ["Achievement"],
            "achievementType": "Certificate",
            "name": standard.name_vi,
            "description": "Các mô đun kỹ năng sử dụng công nghệ thông tin mà chứng chỉ quốc gia xác nhận: "
            + "; ".join(f"{code} {names.get(code, '')}".strip() for code in codes)
            + ".",
            "humanCode": "+".join(codes),
            "fieldOfStudy": "it_skills",
            "inLanguage": "vi",
            "criteria": {
                "narrative": f"Có chứng chỉ ứng dụng công nghệ thông tin (Thông tư liên tịch 17/2016) do cơ sở sát "
                f"hạch được công nhận cấp, đã được đối chiếu với bản chụp; chứng chỉ đạt {standard.name_vi} theo "
                f"{framework.source}: các mô đun {', '.join(codes)}."
            },
        },
    }
    credential["evidence"] = [
        {
            "id": f"urn:uuid:{_subject_uri('it_certificate', certificate.id).rsplit(':', 1)[1]}",
            "type": ["Evidence"],
            "name": f"Chứng chỉ ứng dụng CNTT số {certificate.number}",
            "description": (
                f"Do {certificate.issuer} cấp ngày {certificate.issued_on:%d/%m/%Y}; "
                f"được xác minh ngày {verified_on:%d/%m/%Y}."
            ),
            "genre": "Certificate",
        }
    ]
    return _store(
        credential,
        issuer=issuer,
        kind="it_modules",
        valid_from=verified_on,
        valid_until=None,
        credential_uuid=credential_uuid,
        it_certificate_id=certificate.id,
    )


def it_certificate_for(user: Any, certificate_id: int) -> ItCertificate | None:
    """The IT certificate if ``user`` may see it — its own person, or a holder of the IT permissions over the
    person's unit (ADR 7) — else None (missing and not yours are the same). Not public: it has no printed code."""
    from lms.auth.permissions import Permission

    certificate = db.session.get(ItCertificate, certificate_id)
    permissions = (Permission.IT_TRAINING_VIEW, Permission.IT_CERTIFICATE_VERIFY)
    if certificate is None or not it_skills.may_see_certificate(user, certificate, permissions):
        return None
    return certificate


GROUP_TYPES = {
    SubjectType.HOUSEHOLD: "Hộ gia đình",
    SubjectType.CLAN: "Dòng họ",
    SubjectType.VILLAGE: "Thôn, tổ dân phố",
    SubjectType.ORGANISATION: "Cơ quan, đơn vị",
    SubjectType.COMMUNE: "Xã, phường",
}


def credential_for_recognition(row: Recognition) -> IssuedCredential:
    """The recognition's credential, valid from the decision date to the end of a kept title (a one-year title's
    has no end, ADR 17). A group title's subject is named as on the public page (a household by its head's
    initials), never by an ID number."""
    if row.status != RecognitionStatus.RECOGNISED or row.decision_date is None:
        raise CredentialError("Chỉ danh hiệu đã được công nhận (còn hiệu lực, chưa thu hồi) mới có chứng chỉ số.")
    return credentials_for_recognitions([row])[row.id]


def credentials_for_recognitions(rows: Sequence[Recognition]) -> dict[int, IssuedCredential]:
    """:func:`credential_for_recognition` of many recognitions at once (a decision printed whole), by recognition id;
    one not recognised has none. A fixed number of statements whatever their number: the credentials already issued
    in one query, and those to issue read, signed and inserted together."""
    rows = [r for r in rows if r.status == RecognitionStatus.RECOGNISED and r.decision_date is not None]
    if not rows:
        return {}
    existing: dict[int, IssuedCredential] = {}
    for issued in db.session.scalars(
        select(IssuedCredential)
        .where(IssuedCredential.recognition_id.in_([r.id for r in rows]), IssuedCredential.revoked_at.is_(None))
        .order_by(IssuedCredential.id)
    ):
        assert issued.recognition_id is not None
        existing[issued.recognition_id] = issued  # the latest wins
    result: dict[int, IssuedCredential] = {}
    wanted: list[Recognition] = []
    now = utcnow()
    for row in rows:
        found = existing.get(row.id)
        if found is not None and found.valid_until == certificate_valid_until(row):
            result[row.id] = found
            continue
        if found is not None:
            # Issued under an earlier rule of validity (before ADR 17's amendment a one-year title's credential ended
            # on 31/12 of its year, before its own validFrom): superseded, revoked, and a new one issued.
            found.revoked_at = now
        wanted.append(row)
    if not wanted:
        return result
    issuers = _issuers_for_recognitions(wanted)
    keys = {issuer.id: signing_key(issuer) for issuer in {i.id: i for i in issuers.values()}.values()}
    criteria_sets = {
        c.id: c
        for c in db.session.scalars(
            select(CriteriaSet).where(CriteriaSet.id.in_({r.criteria_set_id for r in wanted if r.criteria_set_id}))
        )
    }
    named: dict[tuple[str, int], Any] = {}
    for subject_type in {r.subject_type for r in wanted}:
        found_subjects = subjects(subject_type, [r.subject_id for r in wanted if r.subject_type == subject_type])
        named.update({(subject_type, sid): subject for sid, subject in found_subjects.items()})
    communes = {
        u.id: u for u in db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_({r.commune_id for r in wanted})))
    }
    titles = title_names_vi(wanted)
    issued_rows = []
    for row, (status_list, index) in zip(wanted, _allocate_indexes(len(wanted)), strict=True):
        issuer = issuers[row.id]
        credential, credential_uuid, valid_until = _recognition_credential(
            row,
            issuer=issuer,
            criteria=criteria_sets.get(row.criteria_set_id or 0),
            subject=named.get((row.subject_type, row.subject_id)),
            commune=communes.get(row.commune_id),
            title_name=titles[row.id],
        )
        assert row.decision_date is not None
        issued_rows.append(
            _issued(
                credential,
                key=keys[issuer.id],
                status_list=status_list,
                index=index,
                kind="recognition",
                valid_from=row.decision_date,
                valid_until=valid_until,
                credential_uuid=credential_uuid,
                recognition_id=row.id,
            )
        )
    for issued in _insert_issued(issued_rows):
        assert issued.recognition_id is not None
        result[issued.recognition_id] = issued
    return result


def _issuers_for_recognitions(rows: Sequence[Recognition]) -> dict[int, Issuer]:
    """:func:`issuer_for_recognition` of many recognitions: one issuer looked up (or created) per authority."""
    rules = approvals.rules_for((r.id, r.title, r.subject_type, r.subject_id) for r in rows)
    places = approvals.places({r.commune_id for r in rows})
    by_slug: dict[str, Issuer] = {}
    result = {}
    for row in rows:
        commune, province = places[row.commune_id]
        rule = rules[row.id]
        unit = province if rule.level == UnitLevel.PROVINCE.value and province is not None else commune
        name = row.authority or approvals.authority_name(rule, commune, province)
        slug = f"{unit.level}-{unit.code}-{_slug(name)}"[:120].rstrip("-")
        if slug not in by_slug:
            by_slug[slug] = _get_or_create_issuer(slug, kind="authority", name=name, unit_id=unit.id)
        result[row.id] = by_slug[slug]
    return result


def _recognition_credential(
    row: Recognition,
    *,
    issuer: Issuer,
    criteria: CriteriaSet | None,
    subject: Any,
    commune: AdminUnit | None,
    title_name: str,
) -> tuple[dict[str, Any], str, date | None]:
    """The recognition's credential, unsigned, with its uuid and end: built from what the caller read for all."""
    assert row.decision_date is not None
    valid_until = certificate_valid_until(row)  # none for a one-year title: its year is a lasting fact (ADR 17)
    credential_uuid = str(uuid.uuid4())
    if criteria is not None:
        narrative = (
            f"Đạt tiêu chí “{criteria.name}” theo {criteria.source} (bộ tiêu chí {criteria.code}, "
            f"phiên bản {criteria.version}), năm đánh giá {row.year}"
            + (f", {row.score:g} điểm" if row.score is not None else "")
            + (f", mức {row.level}" if row.level else "")
            + "."
        )
        achievement_id = f"{base_url()}/credentials/achievements/{criteria.code}-v{criteria.version}"
    else:
        narrative = f"Được công nhận danh hiệu “{title_name}” năm {row.year}."
        achievement_id = f"{base_url()}/credentials/achievements/{row.title}"
    person = row.subject_type == SubjectType.PERSON
    subject_name = subject.name if (subject and person) else (subject.public_name if subject else "")
    credential = _envelope(
        credential_id=f"urn:uuid:{credential_uuid}",
        name=f"{title_name} năm {row.year}",
        issuer=issuer,
        valid_from=row.decision_date,
        valid_until=valid_until,
    )
    achievement: dict[str, Any] = {
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": "Award",
        "name": title_name,
        "description": f"Danh hiệu “{title_name}” (Khuyến học, học tập suốt đời).",
        "inLanguage": "vi",
        "criteria": {"narrative": narrative},
    }
    if criteria is not None:
        achievement["version"] = str(criteria.version)
        achievement["humanCode"] = criteria.code
    credential_subject: dict[str, Any] = {
        "id": _subject_uri(row.subject_type, row.subject_id),
        "type": ["AchievementSubject"],
        "identifier": [_name_identity(subject_name, hashed=person)],
        "achievement": achievement,
    }
    if not person:
        # Which kind of group, and where: enough to tell it apart, with no member's identity.
        credential_subject["source"] = {
            "id": f"{base_url()}/credentials/subjects/{TITLE_SUBJECT[Title(row.title)].value}",
            "type": ["Profile"],
            "name": f"{GROUP_TYPES.get(SubjectType(row.subject_type), row.subject_type)}: {subject_name}"
            + (f", {commune.name_in_sentence}" if commune and row.subject_type != SubjectType.COMMUNE else ""),
        }
    credential["credentialSubject"] = credential_subject
    credential["evidence"] = [
        {
            "id": f"{base_url()}/titles/verify/{row.certificate_code}",
            "type": ["Evidence"],
            "name": f"Quyết định số {row.decision_number}",
            "description": (
                f"Quyết định số {row.decision_number} ngày {row.decision_date:%d/%m/%Y} của {row.authority}."
            ),
            "genre": "Decision",
        }
    ]
    return credential, credential_uuid, valid_until


def decode(token: str) -> dict[str, Any]:
    """The payload of a compact JWS, unverified (for display and download)."""
    payload: dict[str, Any] = json.loads(_unb64(token.split(".")[1]))
    return payload


# --- the QR code: the credential itself, in a URL fragment (ADR 32) -------------------------------------------------

QR_PREFIX = "vc1."


def qr_fragment(token: str) -> str:
    """The compact JWS packed for a QR code: ``vc1.`` + base64url(raw DEFLATE(header JSON, LF, payload JSON, LF,
    signature)). Lossless: base64url-encoding the three parts again gives back the very JWS that was signed (we
    encode without padding, as JWS does), so any JOSE library verifies the unpacked token. About half the size of
    the JWS (a 3.1 KB JWS becomes 1.5 KB), which is what lets it fit a QR code printed 37 mm wide."""
    header, payload, signature = (_unb64(part) for part in token.split("."))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = packer.compress(header + b"\n" + payload + b"\n" + signature) + packer.flush()
    return QR_PREFIX + _b64(packed)


def from_qr_fragment(fragment: str) -> str:
    """The compact JWS back from :func:`qr_fragment` (``ValueError`` if it is not one)."""
    if not fragment.startswith(QR_PREFIX):
        raise ValueError("not a packed credential")
    try:
        raw = zlib.decompress(_unb64(fragment[len(QR_PREFIX) :]), -15)
    except (zlib.error, ValueError) as exc:
        raise ValueError("not a packed credential") from exc
    parts = raw.split(b"\n", 2)
    if len(parts) != 3:
        raise ValueError("not a packed credential")
    return ".".join(_b64(part) for part in parts)


def qr_url(issued: IssuedCredential) -> str:
    """What the credential's QR code holds: the verification page with the packed credential in the fragment. A
    phone's camera opens the page; the browser never sends the fragment to the server, and the page verifies it
    with the keys and status lists it carries (:func:`trust_bundle`)."""
    return f"{base_url()}/credentials/verify#{qr_fragment(issued.jwt)}"


def presented_token(text: str) -> str:
    """The compact JWS from whatever a holder presents: the JWS itself, the downloaded JSON file, or the scanned
    QR code's URL (or its fragment). Empty if none can be read."""
    text = text.strip()
    if text.startswith("{"):
        try:
            return str(json.loads(text).get("jwt", ""))
        except (ValueError, AttributeError):
            return ""
    if QR_PREFIX in text and (text.startswith(QR_PREFIX) or "#" in text):
        try:
            return from_qr_fragment(text.rsplit("#", 1)[-1].strip())
        except ValueError:
            return ""
    return text


def trust_bundle(now: datetime | None = None) -> dict[str, Any]:
    """What the verification page carries so the browser can verify without calling our credential endpoints
    (ADR 32): every issuer's DID document (keys, retired ones included) and every status list as its signed
    credential. The browser still checks each signature; the bundle is as trustworthy as the page's own script,
    which comes from the same response."""
    issuers = list(db.session.scalars(select(Issuer).join(IssuerKey).distinct().order_by(Issuer.id)))
    documents = {document["id"]: document for document in (did_document(issuer) for issuer in issuers)}
    lists = list(db.session.scalars(select(StatusList).order_by(StatusList.id)))
    status = {status_list_url(row.id): status_list_credential(row, now) for row in lists}
    if lists:
        instance = did_document(instance_issuer())
        documents[instance["id"]] = instance
    return {"dids": documents, "status": status, "at": (now or datetime.now(UTC)).replace(microsecond=0).isoformat()}


# --- the learner's record: a Comprehensive Learner Record 2.0 credential -------------------------------------------

CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
KIND_NAMES = {
    "class_completion": "lớp học",
    "it_module": "mô đun CNTT",
    "policy_study": "học tập chính sách",
    "self_study": "tự học",
    "external_certificate": "chứng chỉ bên ngoài",
    "activity_organised": "tổ chức hoạt động",
}


@dataclass
class LearnerRecord:
    credential: dict[str, Any]
    jwt: str
    jwts: list[str]  # the bundled credentials, each verifiable on its own


def hours_by_year(person_id: int) -> dict[int, list[tuple[str, Decimal, int]]]:
    """The person's learning records — the table the titles engine reads — summed by year and kind: ``{year:
    [(kind, hours, records)]}`` (one statement)."""
    rows = db.session.execute(
        select(LearningRecord.year, LearningRecord.kind, func.sum(LearningRecord.hours), func.count())
        .where(LearningRecord.person_id == person_id)
        .group_by(LearningRecord.year, LearningRecord.kind)
        .order_by(LearningRecord.year, LearningRecord.kind)
    ).all()
    years: dict[int, list[tuple[str, Decimal, int]]] = {}
    for year, kind, hours, count in rows:
        years.setdefault(int(year), []).append((str(kind), Decimal(hours or 0), int(count)))
    return years


def _year_credential(person_id: int, year: int, lines: list[tuple[str, Decimal, int]], issuer: dict[str, Any]) -> dict:
    """One year of learning as an (unsigned, bundled) AchievementCredential: the hours as a Result."""
    total = sum((hours for _, hours, _ in lines), Decimal(0))
    achievement_id = f"{base_url()}/credentials/achievements/learning-hours"
    return {
        "@context": [VC_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "AchievementCredential"],
        "name": f"Học tập suốt đời năm {year}: {total:g} giờ",
        "description": "; ".join(
            f"{KIND_NAMES.get(kind, kind)}: {hours:g} giờ ({count} bản ghi)" for kind, hours, count in lines
        ),
        "issuer": issuer,
        "validFrom": _timestamp(date(year, 1, 1)).isoformat(),
        "credentialSubject": {
            "id": _subject_uri(SubjectType.PERSON, person_id),
            "type": ["AchievementSubject"],
            "activityStartDate": _timestamp(date(year, 1, 1)).isoformat(),
            "activityEndDate": _timestamp(date(year, 12, 31), end=True).isoformat(),
            "achievement": {
                "id": achievement_id,
                "type": ["Achievement"],
                "achievementType": "LearningProgram",
                "name": "Giờ học tập suốt đời trong năm",
                "description": "Tổng số giờ học được ghi nhận trong năm: lớp học ở trung tâm học tập cộng đồng, "
                "mô đun CNTT, học tập chính sách, tự học, chứng chỉ bên ngoài.",
                "inLanguage": "vi",
                "criteria": {
                    "narrative": "Cộng số giờ của các bản ghi học tập của người học trong năm — cùng dữ liệu mà việc "
                    "xét danh hiệu Công dân học tập đọc."
                },
                "resultDescription": [
                    {
                        "id": f"{achievement_id}#hours",
                        "type": ["ResultDescription"],
                        "name": "Số giờ học",
                        "resultType": "ext:Hours",
                    }
                ],
            },
            "result": [{"type": ["Result"], "resultDescription": f"{achievement_id}#hours", "value": f"{total:g}"}],
        },
    }


def has_learner_record(person: Person) -> bool:
    """Whether :func:`learner_record` has anything to bundle for the person (a class certificate still standing, a
    verified IT certificate, a title decided in their name, an hour of learning): the page offers the download only
    then, instead of a link that ends on an error (one statement)."""
    found = [
        select(Certificate.id).where(Certificate.person_id == person.id, Certificate.revoked_at.is_(None)),
        select(ItCertificate.id).where(
            ItCertificate.person_id == person.id, ItCertificate.status == ItCertificateStatus.VERIFIED.value
        ),
        select(Recognition.id).where(
            Recognition.subject_type == SubjectType.PERSON.value,
            Recognition.subject_id == person.id,
            Recognition.status == RecognitionStatus.RECOGNISED.value,
            Recognition.decision_date.is_not(None),
        ),
        select(LearningRecord.id).where(LearningRecord.person_id == person.id),
    ]
    return bool(db.session.scalar(select(or_(*(query.exists() for query in found)))))


def learner_record(person: Person, *, now: datetime | None = None) -> LearnerRecord:
    """The person's lifelong learning record as a CLR 2.0 ``ClrCredential``, signed by the instance (which compiled
    it): every class certificate still standing, every verified IT module set and every title the person holds
    in their own name, each as its own signed Open Badges credential (issued now if it never was), and the hours
    of each year. A snapshot: it has no status entry; each bundled credential keeps its own (ADR 32)."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    if now.tzinfo is None:  # validFrom must carry its time zone (OB 3.0 DateTimeZ, VC 2.0 dateTimeStamp)
        now = now.replace(tzinfo=VN)
    issued: list[IssuedCredential] = []
    certificates = db.session.scalars(
        select(Certificate)
        .where(Certificate.person_id == person.id, Certificate.revoked_at.is_(None))
        .order_by(Certificate.issued_on, Certificate.id)
    )
    issued += [credential_for_certificate(certificate) for certificate in certificates]
    it_certificates = db.session.scalars(
        select(ItCertificate)
        .where(ItCertificate.person_id == person.id, ItCertificate.status == ItCertificateStatus.VERIFIED.value)
        .order_by(ItCertificate.issued_on, ItCertificate.id)
    )
    issued += [credential_for_it_certificate(certificate) for certificate in it_certificates]
    recognitions = db.session.scalars(
        select(Recognition)
        .where(
            Recognition.subject_type == SubjectType.PERSON.value,
            Recognition.subject_id == person.id,
            Recognition.status == RecognitionStatus.RECOGNISED.value,
            Recognition.decision_date.is_not(None),
        )
        .order_by(Recognition.year, Recognition.id)
    )
    issued += [credential_for_recognition(row) for row in recognitions]
    instance = instance_issuer()
    profile = _issuer_profile(instance)
    bundled = [decode(row.jwt) for row in issued]
    years = hours_by_year(person.id)
    bundled += [_year_credential(person.id, year, lines, profile) for year, lines in sorted(years.items())]
    if not bundled:  # CLR 2.0 asks for at least one credential
        raise CredentialError("Chưa có chứng nhận, mô đun CNTT, danh hiệu hay giờ học nào để đưa vào hồ sơ.")
    achievements = {c["credentialSubject"]["achievement"]["id"]: c["credentialSubject"]["achievement"] for c in bundled}
    credential: dict[str, Any] = {
        "@context": [VC_CONTEXT, CLR_CONTEXT, OB_CONTEXT],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "name": "Hồ sơ học tập suốt đời",
        "description": f"Các chứng nhận, mô đun CNTT, danh hiệu và số giờ học theo năm, tính đến {now:%d/%m/%Y}.",
        "issuer": profile,
        "validFrom": now.isoformat(),
        "awardedDate": now.isoformat(),
        "credentialSubject": {
            "id": _subject_uri(SubjectType.PERSON, person.id),
            "type": ["ClrSubject"],
            "identifier": [_name_identity(person.full_name, hashed=True)],
            "achievement": list(achievements.values()),
            "verifiableCredential": bundled,
        },
    }
    jwt = _sign({**credential, **_jwt_claims(credential)}, signing_key(instance))
    return LearnerRecord(decode(jwt), jwt, [row.jwt for row in issued])


def person_for_record(user: Any, person_id: int) -> tuple[Person | None, bool]:
    """The person whose record ``user`` may download — their own, or one in the scope of their personal-data
    permission (a centre manager for a learner) — and whether it is someone else's (then the export is audited)."""
    from lms.auth.permissions import Permission
    from lms.registry import services as registry

    if getattr(user, "person_id", None) == person_id:
        return db.session.get(Person, person_id), False
    return registry.get_in_scope(Person, person_id, user, Permission.PERSONAL_DATA), True


# --- verification ------------------------------------------------------------------------------------------------


@dataclass
class Verification:
    valid: bool
    reason: str  # "ok" or what failed: malformed, unsupported, unknown_key, bad_signature, inconsistent,
    # not_yet_valid, expired, revoked, status_unknown
    message: str  # in Vietnamese: what the credential proves, or why it proves nothing
    credential: dict[str, Any] = field(default_factory=dict)
    issuer: str = ""
    checks: list[str] = field(default_factory=list)  # what passed, in order, in Vietnamese
    # The name the verifier typed against the credential's: True, False, or None (none typed, or the credential
    # could not be read or names no one by a hashed name).
    name_match: bool | None = None

    @property
    def name_message(self) -> str:
        if self.name_match is None:
            return ""
        return NAME_MESSAGES["match" if self.name_match else "mismatch"]

    @property
    def status(self) -> str:
        """The verdict in one word (the API's ``status``): valid; revoked; unknown — nothing we can read as one of our
        credentials (not a VC-JWT, another algorithm, a key none of our issuers holds); invalid — ours by its key but
        not as issued (a signature or claims that do not match), out of its dates, or its revocation list unread."""
        if self.valid:
            return "valid"
        if self.reason == "revoked":
            return "revoked"
        return "unknown" if self.reason in UNKNOWN_REASONS else "invalid"


#: Failures that say the credential is none of ours (or nothing readable), rather than one of ours that fails.
UNKNOWN_REASONS = ("malformed", "unsupported", "unknown_key")


MESSAGES = {
    "malformed": "Đây không phải một chứng chỉ số (VC-JWT) đọc được.",
    "unsupported": "Chứng chỉ dùng thuật toán ký không được hỗ trợ (cần EdDSA/Ed25519).",
    "unknown_key": "Khóa ký không thuộc đơn vị cấp nào của hệ thống: không thể xác nhận ai đã cấp chứng chỉ này.",
    "bad_signature": "Chữ ký không khớp: nội dung chứng chỉ đã bị sửa sau khi cấp, hoặc chữ ký bị giả mạo.",
    "inconsistent": "Các trường JWT (iss, jti, sub, nbf, exp) không khớp với nội dung chứng chỉ.",
    "not_yet_valid": "Chứng chỉ chưa đến ngày có hiệu lực.",
    "expired": "Chứng chỉ đã hết hiệu lực.",
    "revoked": "Chứng chỉ đã bị thu hồi.",
    "status_unknown": "Không kiểm tra được danh sách thu hồi của chứng chỉ.",
}


NAME_MESSAGES = {
    "match": "Họ tên nhập vào khớp với người được cấp chứng chỉ.",
    "mismatch": "Họ tên nhập vào KHÔNG khớp với người được cấp chứng chỉ: hãy kiểm tra lại họ tên (đủ dấu, đúng "
    "chính tả như trên giấy tờ tùy thân).",
}


def _name_forms(typed: str) -> set[str]:
    """The name as typed, composed (NFC) and decomposed (NFD): a credential issued before migration 0048 hashed a
    name stored decomposed, and one typed on a phone from an identity card is composed (ADR 32, amended). Nothing
    weaker: case, spacing inside the name and diacritics still count; only the ends are trimmed, as names are
    stored."""
    text = typed.strip()
    return {unicodedata.normalize("NFC", text), unicodedata.normalize("NFD", text)} if text else set()


def name_matches(credential: dict[str, Any], typed: str) -> bool | None:
    """Whether ``typed`` is the name ``credential`` was issued to: ``sha256(name + salt)`` of the name in either
    Unicode form against the credential's ``identityHash`` (a group's name, given unhashed, compared in either
    form). None when nothing is typed or the credential names no one by name."""
    forms = _name_forms(typed)
    subject = credential.get("credentialSubject")
    identifiers = subject.get("identifier") if isinstance(subject, dict) else None
    if not forms or not isinstance(identifiers, list):
        return None
    found = None
    for identity in identifiers:
        if not isinstance(identity, dict) or identity.get("identityType") != "name":
            continue
        stored = str(identity.get("identityHash", ""))
        if identity.get("hashed"):
            if not stored.startswith("sha256$"):
                continue
            salt = str(identity.get("salt", ""))
            digests = {hashlib.sha256((form + salt).encode()).hexdigest() for form in forms}
            matched = any(hmac.compare_digest(stored.removeprefix("sha256$"), digest) for digest in digests)
        else:
            matched = bool(forms & _name_forms(stored))
        found = found or matched
    return found


def _fail(reason: str, credential: dict[str, Any] | None = None, checks: list[str] | None = None) -> Verification:
    return Verification(False, reason, MESSAGES[reason], credential or {}, checks=checks or [])


def _find_key(kid: str) -> IssuerKey | None:
    did, _, key_id = kid.partition("#")
    if not did.startswith("did:web:") or not key_id:
        return None
    parts = did.split(":")
    slug = INSTANCE if len(parts) == 3 else parts[-1]
    if len(parts) != 3 and parts[-3:-1] != ["credentials", "issuers"]:
        return None
    return db.session.scalar(select(IssuerKey).join(Issuer).where(Issuer.slug == slug, IssuerKey.key_id == key_id))


def verify(token: str, *, now: datetime | None = None, name: str = "") -> Verification:
    """Check a credential as a verifier would: its signature by a key of one of our issuers (retired keys
    included), the JWT claims against the credential, the validity dates, and the status list bit. The first
    failure is the reason; a valid credential's message says in Vietnamese what it proves. With ``name`` (typed from
    the holder's identity card), whether the credential was issued to that name (:func:`name_matches`), once its
    signature is ours."""
    result = _verify(token, now=now)
    if name and result.reason not in (*UNKNOWN_REASONS, "bad_signature"):
        result.name_match = name_matches(result.credential, name)
    return result


def _verify(token: str, *, now: datetime | None = None) -> Verification:
    now = now or datetime.now(UTC)
    token = "".join(token.split())
    try:
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = json.loads(_unb64(header_b64))
        credential = json.loads(_unb64(payload_b64))
        signature = _unb64(signature_b64)
        if not isinstance(header, dict) or not isinstance(credential, dict):
            raise ValueError
    except (ValueError, UnicodeDecodeError):
        return _fail("malformed")
    checks: list[str] = []
    if header.get("alg") != "EdDSA" or not isinstance(header.get("kid"), str):
        return _fail("unsupported", credential)
    key = _find_key(header["kid"])
    if key is None:
        return _fail("unknown_key", credential)
    public = Ed25519PublicKey.from_public_bytes(_unb64(key.public_jwk["x"]))
    try:
        public.verify(signature, f"{header_b64}.{payload_b64}".encode("ascii"))
    except InvalidSignature:
        return _fail("bad_signature", credential)
    checks.append(f"Chữ ký hợp lệ, bằng khóa {key.key_id} của {key.issuer.name}.")
    try:
        expected = _jwt_claims(credential)
        consistent = all(credential.get(k) == v for k, v in expected.items()) and (
            "exp" in credential or "validUntil" not in credential
        )
        valid_from = datetime.fromisoformat(credential["validFrom"])
        valid_until = datetime.fromisoformat(credential["validUntil"]) if "validUntil" in credential else None
    except (KeyError, TypeError, ValueError):
        consistent = False
    if not consistent or credential["issuer"]["id"].split("#")[0] != header["kid"].split("#")[0]:
        return _fail("inconsistent", credential, checks)
    if valid_from > now:
        return _fail("not_yet_valid", credential, checks)
    if valid_until is not None and valid_until < now:
        return _fail("expired", credential, checks)
    checks.append("Trong thời hạn hiệu lực.")
    status = credential.get("credentialStatus") or {}
    if not status and "ClrCredential" in credential.get("type", []):
        # A learner's record is a snapshot (ADR 32): nothing to revoke; each bundled credential has its own status.
        checks.append(PROVES["clr_snapshot"])
        return Verification(True, "ok", _proves(credential, key), credential, key.issuer.name, checks)
    match = STATUS_PATH.search(str(status.get("statusListCredential", "")))
    if not match or not str(status.get("statusListIndex", "")).isdigit():
        return _fail("status_unknown", credential, checks)
    index = int(status["statusListIndex"])
    if index in revoked_indexes(int(match.group(1)), index):
        return _fail("revoked", credential, checks)
    checks.append("Chưa bị thu hồi (danh sách trạng thái của hệ thống).")
    return Verification(True, "ok", _proves(credential, key), credential, key.issuer.name, checks)


# What a valid credential proves, in the words the server and the browser verifier both use (the page hands
# these to lms/credentials/static/credentials/verify.js).
PROVES = {
    "ok": "Chứng chỉ hợp lệ: {issuer} đã cấp “{achievement}” cho {holder}, có hiệu lực từ {from}{until}, và chưa "
    "bị thu hồi. Chứng chỉ không chứng minh người đang xuất trình là người được cấp: hãy đối chiếu họ tên với giấy "
    "tờ tùy thân.",
    "until": " đến {until}",
    "person": "người học được nêu trong chứng chỉ",
    "clr_snapshot": "Hồ sơ học tập ghi nhận tại một thời điểm: không có danh sách thu hồi riêng; mỗi chứng chỉ "
    "trong hồ sơ được kiểm tra riêng bằng chữ ký của nó.",
    # Where the browser read the status list (ADR 32).
    "status_network": "Đã đọc danh sách thu hồi mới nhất của hệ thống (lập lúc {at}).",
    "status_page": "Không kết nối được máy chủ: đã dùng danh sách thu hồi có chữ ký kèm theo trang này (lập lúc {at}); "
    "chứng chỉ bị thu hồi sau thời điểm đó chưa được phản ánh.",
}


def _proves(credential: dict[str, Any], key: IssuerKey) -> str:
    subject = credential.get("credentialSubject", {})
    until = credential.get("validUntil")
    achievement = subject.get("achievement")  # a learner's record has a list of them
    name = (achievement.get("name") if isinstance(achievement, dict) else None) or credential.get("name", "")
    return (
        PROVES["ok"]
        .replace("{issuer}", key.issuer.name)
        .replace("{achievement}", name)
        .replace("{holder}", subject.get("source", {}).get("name") or PROVES["person"])
        .replace("{from}", f"{datetime.fromisoformat(credential['validFrom']):%d/%m/%Y}")
        .replace(
            "{until}", PROVES["until"].replace("{until}", f"{datetime.fromisoformat(until):%d/%m/%Y}") if until else ""
        )
    )


def find_by_source(*, certificate_id: int | None = None, recognition_id: int | None = None) -> list[IssuedCredential]:
    stmt = select(IssuedCredential).order_by(IssuedCredential.id)
    if certificate_id is not None:
        stmt = stmt.where(IssuedCredential.certificate_id == certificate_id)
    if recognition_id is not None:
        stmt = stmt.where(IssuedCredential.recognition_id == recognition_id)
    return list(db.session.scalars(stmt))
