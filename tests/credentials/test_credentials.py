"""Open Badges 3.0 credentials for certificates and recognitions: valid against our conformance schemas (written from
the OB 3.0 and VC 2.0 text, ``tests/credentials/conformance.py``), signed so
that an independent JOSE implementation (joserfc) verifies them with the key the issuer's did:web document
publishes, revoked through the status list, and refused for the right reason when tampered, expired, revoked or
signed by a key we never published."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from datetime import UTC, date, datetime

import pytest
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc import jws
from joserfc.jwk import OKPKey
from sqlalchemy import select

from courses import services as course_services
from courses.models import Certificate
from courses.services import Mark
from lms.auth.models import Role
from lms.credentials import services
from lms.credentials.models import IssuedCredential, Issuer, IssuerKey
from lms.extensions import db
from lms.registry.models import AdminUnit
from lms.titles import recognition
from lms.titles.models import Title
from tests.conftest import csrf_token, make_household, make_user, make_village, unit_by_code
from tests.courses.conftest import make_centre, make_class
from tests.credentials import conformance
from tests.titles.recognition_fixtures import criteria_set, eligibility

AFTER = datetime(2026, 4, 5)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _independent_verify(client, token: str) -> dict:
    """Verify as an outside verifier would: resolve the kid's did:web document over HTTP, take the key, check the
    signature with joserfc."""
    header = json.loads(_unb64(token.split(".")[0]))
    did, _, _ = header["kid"].partition("#")
    parts = did.split(":")
    path = "/.well-known/did.json" if len(parts) == 3 else "/" + "/".join(parts[3:]) + "/did.json"
    document = client.get(path).get_json()
    assert document["id"] == did
    (method,) = [m for m in document["verificationMethod"] if m["id"] == header["kid"]]
    assert "d" not in method["publicKeyJwk"]
    key = OKPKey.import_key(method["publicKeyJwk"])
    verified = jws.deserialize_compact(token, key, algorithms=["EdDSA"])
    return json.loads(verified.payload)


@pytest.fixture
def certificate(app_ctx):
    centre = make_centre()
    course_class = make_class(centre)
    (session,) = course_services.schedule(course_class, [(datetime(2026, 3, 2, 19), datetime(2026, 3, 2, 21))])
    learner = centre.learners[0]
    course_services.enrol(course_class, [learner.id])
    course_services.record_attendance(session, [Mark(learner.id, "present", datetime(2026, 3, 2, 12))], user_id=None)
    course_services.recompute_class(course_class.id, as_of=AFTER)
    row = db.session.scalar(select(Certificate).where(Certificate.class_id == course_class.id))
    return {"certificate": row, "session": session, "learner": learner, "class": course_class}


def _recognised(year: int = 2025, validity_years: int = 3):
    commune = unit_by_code("23293")
    village = make_village(commune, f"VC-V{year}", "Thôn Chứng Chỉ")
    household = make_household(village, f"VC-H{year}", "Nguyễn Văn Chủ", "Trần Thị Vợ")
    family = criteria_set(Title.FAMILY, validity_years=validity_years, code=f"test-family-{year}")
    eligibility(family, household.id, commune.id, year, village_id=village.id)
    leader = make_user(Role.COMMUNE_LEADER, commune, f"vc-leader-{year}@example.vn")
    ids = recognition.propose(title="family", year=year, subject_ids=[household.id], user=leader)
    (row,) = recognition.decide(ids, decision_number="15/QĐ-UBND", decision_date=date(year + 1, 1, 20), user=leader)
    return row, leader


def test_a_certificate_is_an_open_badge_an_independent_verifier_accepts(certificate, client):
    code = certificate["certificate"].code
    response = client.get(f"/credentials/certificates/{code}.json")
    assert response.status_code == 200
    document = response.get_json()
    credential, token = document["credential"], document["jwt"]
    conformance.validate("achievement_credential", credential)
    conformance.validate("profile", credential["issuer"])
    header = json.loads(_unb64(token.split(".")[0]))
    assert set(header) == {"alg", "kid", "typ"}  # OB 3.0 allows no other JOSE header
    assert (header["alg"], header["typ"]) == ("EdDSA", "JWT")
    assert header["kid"].startswith(credential["issuer"]["id"] + "#key-")
    payload = _independent_verify(client, token)
    assert payload == credential
    assert payload["iss"] == credential["issuer"]["id"]
    assert payload["jti"] == credential["id"]
    assert payload["sub"] == credential["credentialSubject"]["id"]
    assert credential["issuer"]["id"].endswith(f":credentials:issuers:clc-{certificate['class'].clc_id}")
    assert credential["credentialSubject"]["achievement"]["achievementType"] == "CertificateOfCompletion"
    commune = db.session.get(AdminUnit, certificate["class"].commune_id)
    assert f", {commune.kind.lower()} {commune.name}, từ " in credential["evidence"][0]["description"]
    assert "75%" in credential["credentialSubject"]["achievement"]["criteria"]["narrative"]
    # The holder's name only hashed with a salt: the verifier checks it against an identity card.
    (identity,) = credential["credentialSubject"]["identifier"]
    assert identity["hashed"] is True
    name = certificate["learner"].full_name  # what a verifier reads off the identity card
    assert identity["identityHash"] == "sha256$" + hashlib.sha256((name + identity["salt"]).encode()).hexdigest()
    assert "Học Viên" not in json.dumps(credential, ensure_ascii=False)
    assert credential["validFrom"].startswith(certificate["certificate"].issued_on.isoformat())
    # Downloading again hands out the same credential.
    assert client.get(f"/credentials/certificates/{code}.json").get_json()["jwt"] == token
    result = services.verify(token)
    assert (result.valid, result.reason) == (True, "ok")
    assert "chưa bị thu hồi" in result.message


def test_the_verification_page_links_to_the_credential(certificate, client):
    code = certificate["certificate"].code
    page = client.get(f"/courses/verify/{code}").get_data(as_text=True)
    assert f"/credentials/certificates/{code}.json" in page


def test_a_group_recognition_names_the_household_without_personal_data(app_ctx, client):
    row, _ = _recognised()
    page = client.get(f"/titles/verify/{row.certificate_code}").get_data(as_text=True)
    assert f"/credentials/recognitions/{row.certificate_code}.json" in page
    document = client.get(f"/credentials/recognitions/{row.certificate_code}.json").get_json()
    credential = document["credential"]
    conformance.validate("achievement_credential", credential)
    assert _independent_verify(client, document["jwt"]) == credential
    subject = credential["credentialSubject"]
    (identity,) = subject["identifier"]
    assert identity["hashed"] is False
    assert identity["identityHash"].startswith("Hộ ")
    text = json.dumps(credential, ensure_ascii=False)
    assert "Nguyễn Văn Chủ" not in text
    assert "Trần Thị Vợ" not in text
    assert subject["source"]["name"].startswith("Hộ gia đình: Hộ ")
    commune = unit_by_code("23293")  # inside the sentence: "…, xã Ea Tu", not "…, Xã Ea Tu"
    assert subject["source"]["name"].endswith(f", {commune.kind.lower()} {commune.name}")
    assert credential["validUntil"].startswith("2028-12-31T23:59:59")  # the three years after 2025 (ADR 17)
    assert credential["validFrom"].startswith("2026-01-20")
    assert subject["achievement"]["name"] == "Gia đình học tập"
    assert "test-family-2025" in subject["achievement"]["criteria"]["narrative"]
    assert subject["achievement"]["version"] == "1"
    assert credential["evidence"][0]["name"] == "Quyết định số 15/QĐ-UBND"
    assert "20/01/2026" in credential["evidence"][0]["description"]
    issuer = db.session.scalar(select(Issuer).where(Issuer.kind == "authority"))
    assert issuer.name == row.authority
    assert issuer.slug.startswith("commune-23293-")
    assert services.verify(document["jwt"]).valid


def test_a_tampered_credential_fails_on_its_signature(certificate):
    token = services.credential_for_certificate(certificate["certificate"]).jwt
    header, payload, signature = token.split(".")
    credential = json.loads(_unb64(payload))
    credential["credentialSubject"]["achievement"]["name"] = "Thạc sĩ"
    forged = ".".join([header, services._b64(json.dumps(credential).encode()), signature])
    result = services.verify(forged)
    assert (result.valid, result.reason) == (False, "bad_signature")
    assert "bị sửa" in result.message
    assert services.verify("not a credential").reason == "malformed"


def test_an_expired_recognition_fails_as_expired(app_ctx):
    row, _ = _recognised(year=2021, validity_years=3)  # decided 20/01/2022, valid through 2022–2024 (ADR 17)
    token = services.credential_for_recognition(row).jwt
    assert services.verify(token).reason == "expired"
    assert services.verify(token, now=datetime(2024, 6, 1, tzinfo=UTC)).valid
    assert services.verify(token, now=datetime(2025, 1, 1, tzinfo=UTC)).reason == "expired"
    assert services.verify(token, now=datetime(2022, 1, 1, tzinfo=UTC)).reason == "not_yet_valid"


def test_revoking_a_recognition_flips_its_bit_in_the_published_status_list(app_ctx, client):
    row, leader = _recognised()
    issued = services.credential_for_recognition(row)
    credential = services.decode(issued.jwt)
    status = credential["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    assert status["statusPurpose"] == "revocation"

    def bit() -> bool:
        token = client.get(status["statusListCredential"].split("localhost", 1)[1]).get_data(as_text=True)
        payload = _independent_verify(client, token)
        assert payload["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
        bits = gzip.decompress(_unb64(payload["credentialSubject"]["encodedList"][1:]))
        assert len(bits) * 8 >= 131072
        index = int(status["statusListIndex"])
        return bool(bits[index // 8] & (0x80 >> (index % 8)))

    assert bit() is False
    recognition.revoke([row.id], reason="Hồ sơ khai sai", user=leader)
    assert bit() is True
    db.session.expire_all()
    assert db.session.get(IssuedCredential, issued.id).revoked_at is not None  # the hook, not only the join
    result = services.verify(issued.jwt)
    assert (result.valid, result.reason) == (False, "revoked")
    assert client.get(f"/credentials/recognitions/{row.certificate_code}.json").status_code == 410


def test_a_certificate_revoked_by_a_corrected_mark_revokes_its_credential(certificate):
    token = services.credential_for_certificate(certificate["certificate"]).jwt
    learner = certificate["learner"]
    course_services.record_attendance(
        certificate["session"], [Mark(learner.id, "absent", datetime(2026, 3, 2, 13))], user_id=None
    )
    course_services.recompute_class(certificate["class"].id, as_of=AFTER)
    assert services.verify(token).reason == "revoked"


def test_a_credential_signed_by_an_unknown_key_fails(certificate):
    genuine = services.credential_for_certificate(certificate["certificate"])
    credential = services.decode(genuine.jwt)
    stranger = OKPKey.import_key(Ed25519PrivateKey.generate())  # never published by any issuer
    for kid in (f"{credential['issuer']['id']}#key-forged", "did:web:evil.example#key-1"):
        token = jws.serialize_compact(
            {"alg": "EdDSA", "kid": kid, "typ": "JWT"}, json.dumps(credential), stranger, algorithms=["EdDSA"]
        )
        result = services.verify(token)
        assert (result.valid, result.reason) == (False, "unknown_key")
    # The genuine kid with a stranger's signature: the signature fails.
    kid = json.loads(_unb64(genuine.jwt.split(".")[0]))["kid"]
    token = jws.serialize_compact(
        {"alg": "EdDSA", "kid": kid, "typ": "JWT"}, json.dumps(credential), stranger, algorithms=["EdDSA"]
    )
    assert services.verify(token).reason == "bad_signature"


def test_rotation_keeps_old_credentials_verifiable_and_the_old_key_unable_to_sign(certificate, client):
    old = services.credential_for_certificate(certificate["certificate"])
    issuer = old.issuer_key.issuer
    with pytest.raises(services.CredentialError):
        services.create_key(issuer)
    new_key = services.rotate_key(issuer)
    old_key = db.session.get(IssuerKey, old.issuer_key_id)
    assert old_key.retired_at is not None
    assert old_key.private_key_encrypted == b""
    assert services.verify(old.jwt).valid
    document = client.get(f"/credentials/issuers/{issuer.slug}/did.json").get_json()
    assert [m["id"].split("#")[1] for m in document["verificationMethod"]] == [old_key.key_id, new_key.key_id]
    assert _independent_verify(client, old.jwt)["id"] == services.decode(old.jwt)["id"]
    jwks = client.get("/credentials/jwks.json").get_json()
    assert {k["kid"].split("#")[1] for k in jwks["keys"]} >= {old_key.key_id, new_key.key_id}
    assert all("d" not in k for k in jwks["keys"])


def test_private_keys_are_stored_encrypted(certificate, app):
    issued = services.credential_for_certificate(certificate["certificate"])
    key = issued.issuer_key
    private = services._private(key)
    raw = private.private_bytes_raw()
    assert raw not in key.private_key_encrypted
    app.config["CREDENTIALS_KEY"] = "another key"
    try:
        with pytest.raises(InvalidToken):
            services._private(key)
    finally:
        app.config["CREDENTIALS_KEY"] = None


def test_cli_creates_rotates_keys_and_verifies_a_file(certificate, app, tmp_path):
    runner = app.test_cli_runner()
    clc_id = certificate["class"].clc_id
    result = runner.invoke(args=["credentials", "keys", "create", "--issuer", f"clc:{clc_id}"])
    assert result.exit_code == 0, result.output
    assert f":credentials:issuers:clc-{clc_id}#key-" in result.output
    assert runner.invoke(args=["credentials", "keys", "create", "--issuer", f"clc:{clc_id}"]).exit_code == 1
    result = runner.invoke(args=["credentials", "keys", "rotate", "--issuer", f"clc-{clc_id}"])
    assert result.exit_code == 0, result.output
    issuer = db.session.scalar(select(Issuer).where(Issuer.slug == f"clc-{clc_id}"))
    assert len(issuer.keys) == 2
    assert [k.retired_at is None for k in issuer.keys] == [False, True]

    issued = services.credential_for_certificate(certificate["certificate"])
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"credential": services.decode(issued.jwt), "jwt": issued.jwt}))
    result = runner.invoke(args=["credentials", "verify", str(good)])
    assert result.exit_code == 0, result.output
    assert "HỢP LỆ" in result.output
    bad = tmp_path / "bad.jwt"
    bad.write_text(issued.jwt[:-4] + "AAAA")
    result = runner.invoke(args=["credentials", "verify", str(bad)])
    assert result.exit_code == 1
    assert "bad_signature" in result.output
    listed = runner.invoke(args=["credentials", "keys", "list"]).output
    assert f"clc-{clc_id}\t" in listed
    assert "retired" in listed
    assert "active" in listed


def test_the_verify_page_says_in_vietnamese_what_a_pasted_credential_proves(certificate, client):
    code = certificate["certificate"].code
    page = client.get(f"/courses/verify/{code}").get_data(as_text=True)
    assert "Tải chứng chỉ số (Open Badges 3.0)" in page
    downloaded = client.get(f"/credentials/certificates/{code}.json").get_data(as_text=True)
    token = csrf_token(client, "/credentials/verify")
    html = client.post("/credentials/verify", data={"token": downloaded, "csrf_token": token}).get_data(as_text=True)
    assert 'data-reason="ok"' in html
    assert "Chứng chỉ hợp lệ" in html
    assert "Kỹ thuật trồng cà phê" in html
    jwt = json.loads(downloaded)["jwt"]
    html = client.post("/credentials/verify", data={"token": jwt[:-6] + "AAAAAA", "csrf_token": token}).get_data(
        as_text=True
    )
    assert 'data-reason="bad_signature"' in html


def test_the_api_hands_out_the_same_credential(app_ctx, client):
    row, leader = _recognised()
    response = client.get(f"/api/v1/credentials/recognitions/{row.certificate_code}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["credential"] == services.decode(body["jwt"])
    conformance.validate("achievement_credential", body["credential"])
    page = client.get(f"/credentials/recognitions/{row.certificate_code}.json").get_json()
    assert page["jwt"] == body["jwt"]
    recognition.revoke([row.id], reason="Sai sót", user=leader)
    response = client.get(f"/api/v1/credentials/recognitions/{row.certificate_code}")
    assert response.status_code == 410
    assert response.mimetype == "application/problem+json"
    # In the caller's language: Vietnamese by default.
    assert response.get_json()["detail"].startswith("Công nhận này không còn hiệu lực")
    missing = client.get("/api/v1/credentials/certificates/NOPE-NOPE-NOPE")
    assert missing.status_code == 404
    assert missing.get_json()["detail"] == "Không có giấy chứng nhận nào mang mã này."


def test_claims_that_disagree_with_the_credential_are_refused(certificate):
    issued = services.credential_for_certificate(certificate["certificate"])
    payload = services.decode(issued.jwt)
    payload["sub"] = "urn:uuid:00000000-0000-4000-8000-000000000000"  # signed by us, but not the subject's id
    token = services._sign(payload, issued.issuer_key)
    assert services.verify(token).reason == "inconsistent"


def test_a_configured_domain_with_a_port_is_written_as_did_web_requires(certificate, app):
    app.config["CREDENTIALS_DOMAIN"] = "lms.example.vn:8443"
    try:
        issued = services.credential_for_certificate(certificate["certificate"])
        credential = services.decode(issued.jwt)
        clc_id = certificate["class"].clc_id
        assert credential["issuer"]["id"] == f"did:web:lms.example.vn%3A8443:credentials:issuers:clc-{clc_id}"
        assert credential["credentialStatus"]["statusListCredential"].startswith(
            "https://lms.example.vn:8443/credentials/status/"
        )
        assert services.verify(issued.jwt).valid
    finally:
        app.config["CREDENTIALS_DOMAIN"] = None


def _undefined_terms(node: dict, cls: str) -> set[str]:
    """``Class.property`` for every property of ``node`` (an object of Open Badges class ``cls``) and of the objects
    inside it that the OB 3.0 / VC 2.0 data model does not define for its class, and ``Class.type=Name`` for every
    type name it does not define (``tests/data/conformance/ob3-terms.json``): a JSON-LD processor would drop them
    silently, so a wallet that reads the credential as linked data would not see them."""
    terms = conformance.terms()
    undefined = {f"{cls}.{key}" for key in node if key not in terms["classes"][cls]["properties"]}
    types = node.get("type", [])
    undefined |= {f"{cls}.type={name}" for name in ([types] if isinstance(types, str) else types)} - {
        f"{cls}.type={name}" for name in terms["types"]
    }
    for key, value in node.items():
        child_class = terms["objects"].get(key)
        for child in value if isinstance(value, list) else [value]:
            if child_class and isinstance(child, dict):
                undefined |= _undefined_terms(child, child_class)
    return undefined


def _undefined_in_credential(credential: dict) -> set[str]:
    """The credential as linked data: the JWT payload without the registered claims VC-JWT adds beside it."""
    terms = conformance.terms()
    linked_data = {key: value for key, value in credential.items() if key not in terms["jwtClaims"]}
    return _undefined_terms(linked_data, terms["root"])


def test_every_badge_property_is_a_term_of_the_open_badges_vocabulary(certificate):
    row, _ = _recognised()  # a household: its subject has a source Profile and an unhashed identity
    for issued in (
        services.credential_for_certificate(certificate["certificate"]),
        services.credential_for_recognition(row),
    ):
        credential = services.decode(issued.jwt)
        # Every class we write is walked: the credential, its subject, achievement, criteria, identifier, issuer
        # profile, evidence and status entry (and a group's source profile).
        assert {"credentialSubject", "issuer", "evidence", "credentialStatus"} <= set(credential)
        assert _undefined_in_credential(credential) == set()
        assert credential["@context"][1] == services.OB_CONTEXT
    assert "source" in credential["credentialSubject"]


def test_a_property_the_vocabulary_does_not_define_fails_the_term_check(certificate):
    credential = services.decode(services.credential_for_certificate(certificate["certificate"]).jwt)
    credential["printedOn"] = "2026-04-05"
    credential["credentialSubject"]["achievement"]["hoursRequired"] = 40
    credential["credentialSubject"]["achievement"]["criteria"]["minAttendance"] = 0.75
    credential["issuer"]["taxCode"] = "0101234567"
    credential["evidence"][0]["type"] = ["Evidence", "AttendanceSheet"]
    credential["credentialStatus"]["revokedAt"] = None
    assert _undefined_in_credential(credential) == {
        "AchievementCredential.printedOn",
        "Achievement.hoursRequired",
        "Criteria.minAttendance",
        "Profile.taxCode",
        "Evidence.type=AttendanceSheet",
        "BitstringStatusListEntry.revokedAt",
    }


def test_the_vocabulary_is_ours_and_cites_the_data_model():
    terms = conformance.terms()
    assert next(iter(terms)) == "$comment"
    assert "Written for this project from the data model text" in terms["$comment"]
    assert "https://www.imsglobal.org/spec/ob/v3p0/" in terms["$comment"]
    for name, definition in terms["classes"].items():
        assert "§" in definition["$comment"], f"{name} must cite the section its properties come from"
    assert set(terms["objects"].values()) <= set(terms["classes"])
    assert "@vocab" not in json.dumps(terms)  # not a JSON-LD context


def test_revoking_many_recognitions_revokes_their_credentials_in_one_statement(app_ctx, count_queries):
    commune = unit_by_code("23293")
    village = make_village(commune, "VC-MANY", "Thôn Nhiều")
    households = [make_household(village, f"VC-M{i}", f"Lê Văn Hộ{i}") for i in range(4)]
    family = criteria_set(Title.FAMILY, validity_years=3, code="test-family-many")
    for household in households:
        eligibility(family, household.id, commune.id, 2025, village_id=village.id)
    leader = make_user(Role.COMMUNE_LEADER, commune, "vc-many@example.vn")
    ids = recognition.propose(title="family", year=2025, subject_ids=[h.id for h in households], user=leader)
    rows = recognition.decide(ids, decision_number="9/QĐ-UBND", decision_date=date(2026, 1, 5), user=leader)
    tokens = [services.credential_for_recognition(row).jwt for row in rows]
    with count_queries() as counter:
        recognition.revoke(ids, reason="Quyết định bị hủy", user=leader)
    touching = [s for s in counter.statements if "issued_credential" in s]
    assert len(touching) == 1
    assert touching[0].lstrip().upper().startswith("UPDATE")
    assert {services.verify(token).reason for token in tokens} == {"revoked"}


def test_a_credential_whose_certificate_was_deleted_verifies_as_revoked(certificate):
    issued = services.credential_for_certificate(certificate["certificate"])
    db.session.delete(certificate["certificate"])  # the class removed, or the person erased
    db.session.flush()
    db.session.expire_all()
    kept = db.session.get(IssuedCredential, issued.id)
    assert kept is not None
    assert kept.certificate_id is None
    assert services.verify(issued.jwt).reason == "revoked"


def test_production_refuses_to_name_an_issuer_without_its_domain(certificate, app):
    """A worker issues credentials outside any request: without LMS_CREDENTIALS_DOMAIN its issuer would be
    did:web:localhost. Production says what to set instead; development keeps the request's host or localhost."""
    from config import ConfigError

    assert services.domain() == "localhost"
    app.config["ENV_NAME"] = "production"
    try:
        with pytest.raises(ConfigError, match="LMS_CREDENTIALS_DOMAIN"):
            services.domain()
        app.config["CREDENTIALS_DOMAIN"] = "lms.example.vn"
        assert services.domain() == "lms.example.vn"
    finally:
        app.config["ENV_NAME"] = "testing"
        app.config["CREDENTIALS_DOMAIN"] = None


def test_a_credential_issued_to_a_decomposed_name_matches_the_name_typed_either_way(certificate, client, app, tmp_path):
    """Migration 0048 composed the names stored decomposed (NFD), but a credential issued before carries the hash of
    the decomposed name: a verifier typing the name from the identity card (composed, on a phone) got no match. The
    verification page, the service and the CLI try the typed name composed and decomposed — nothing weaker."""
    import unicodedata

    from sqlalchemy import update

    from lms.registry.models import Person

    composed = "Nguyễn Thị Ánh Dương"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    learner = certificate["learner"]
    # As stored before migration 0048 (the model composes what it is given, so past it).
    db.session.execute(update(Person).where(Person.id == learner.id).values(full_name=decomposed))
    issued = services.credential_for_certificate(certificate["certificate"])
    (identity,) = services.decode(issued.jwt)["credentialSubject"]["identifier"]
    expected = hashlib.sha256((decomposed + identity["salt"]).encode()).hexdigest()
    assert identity["identityHash"] == f"sha256${expected}"  # the hash of the decomposed name
    db.session.execute(update(Person).where(Person.id == learner.id).values(full_name=composed))  # migration 0048
    db.session.commit()

    for typed, match in ((composed, True), (decomposed, True), (f"  {composed} ", True), (composed.upper(), False)):
        assert services.verify(issued.jwt, name=typed).name_match is match, typed
    assert services.verify(issued.jwt, name="Nguyễn Thị Ánh").name_match is False
    assert services.verify(issued.jwt).name_match is None

    token = csrf_token(client, "/credentials/verify")
    html = client.post(
        "/credentials/verify", data={"token": issued.jwt, "name": composed, "csrf_token": token}
    ).get_data(as_text=True)
    assert 'data-reason="ok"' in html
    assert 'id="name-result" data-match="yes"' in html
    assert services.NAME_MESSAGES["match"] in html
    html = client.post(
        "/credentials/verify", data={"token": issued.jwt, "name": "Trần Văn Khác", "csrf_token": token}
    ).get_data(as_text=True)
    assert 'data-match="no"' in html

    runner = app.test_cli_runner()
    saved = tmp_path / "c.jwt"
    saved.write_text(issued.jwt, encoding="utf-8")
    result = runner.invoke(args=["credentials", "verify", str(saved), "--name", composed])
    assert result.exit_code == 0, result.output
    assert services.NAME_MESSAGES["match"] in result.output
    result = runner.invoke(args=["credentials", "verify", str(saved), "--name", "Trần Văn Khác"])
    assert result.exit_code == 1
    assert services.NAME_MESSAGES["mismatch"] in result.output


def test_a_credential_issued_to_a_composed_name_matches_it_typed_decomposed(certificate):
    import unicodedata

    learner = certificate["learner"]
    issued = services.credential_for_certificate(certificate["certificate"])
    assert services.verify(issued.jwt, name=unicodedata.normalize("NFD", learner.full_name)).name_match is True
    assert services.verify(issued.jwt, name=learner.full_name).name_match is True
