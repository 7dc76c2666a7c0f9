"""Our conformance schemas (``tests/data/conformance/``) are not vacuous: each accepts the credential we really issue
and rejects it once a field the standard makes a MUST is taken away or malformed — one change at a time, so the
rejection is that field's. They are our own writing from the normative text (each opens with a ``$comment`` citing
its sections), valid Draft 2020-12 schemas, and none is a copy of a file 1EdTech publishes."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator

from lms.credentials import services
from tests.credentials import conformance
from tests.credentials.test_credentials import certificate  # noqa: F401 - the fixture
from tests.credentials.test_learner_record import learner  # noqa: F401 - the fixture

Change = Callable[[dict[str, Any]], None]


def drop(*path: str | int) -> Change:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path
        node: Any = document
        for part in parents:
            node = node[part]
        del node[last]

    return change


def put(value: Any, *path: str | int) -> Change:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path
        node: Any = document
        for part in parents:
            node = node[part]
        node[last] = value

    return change


def _rejected_all(kind: str, document: dict[str, Any], changes: dict[str, Change]) -> None:
    assert conformance.errors(kind, document) == [], "the credential we issue must conform before it is broken"
    accepted = []
    for what, change in changes.items():
        broken = copy.deepcopy(document)
        change(broken)
        if not conformance.errors(kind, broken):
            accepted.append(what)
    assert accepted == [], f"{kind}: the schema accepts a credential with {accepted}"


ACHIEVEMENT_CREDENTIAL: dict[str, Change] = {
    # OB 3.0 §B.1.2 / VC 2.0 §4.3
    "no @context": drop("@context"),
    "the VC 1.1 context first": put("https://www.w3.org/2018/credentials/v1", "@context", 0),
    "the contexts out of order": lambda d: d["@context"].reverse(),
    "no OB 3.0 context": lambda d: d.__setitem__("@context", d["@context"][:1]),
    # OB 3.0 §B.1.2 / VC 2.0 §4.4-4.5
    "no id": drop("id"),
    "an id that is not a URI": put("credential 42", "id"),
    "no type": drop("type"),
    "no VerifiableCredential type": put(["OpenBadgeCredential"], "type"),
    "no OpenBadgeCredential or AchievementCredential type": put(["VerifiableCredential"], "type"),
    "a type that is a bare string": put("OpenBadgeCredential", "type"),
    # OB 3.0 §B.1.19 / §B.1.14 / VC 2.0 §4.7
    "no issuer": drop("issuer"),
    "an issuer without id": drop("issuer", "id"),
    "an issuer that is not a Profile": put(["Organization"], "issuer", "type"),
    "an issuer without name (our rule)": drop("issuer", "name"),
    # OB 3.0 §B.1.19 DateTimeZ / VC 2.0 §4.9
    "no validFrom": drop("validFrom"),
    "a validFrom that is only a date": put("2026-04-05", "validFrom"),
    "a validFrom without time zone": put("2026-04-05T00:00:00", "validFrom"),
    "a validUntil in Vietnamese notation": put("31/12/2028", "validUntil"),
    "an awardedDate without time zone": put("2026-04-05T00:00:00", "awardedDate"),
    # OB 3.0 §B.1.3 AchievementSubject / §9.1
    "no credentialSubject": drop("credentialSubject"),
    "a subject of another type": put(["Person"], "credentialSubject", "type"),
    "a subject with no achievement": drop("credentialSubject", "achievement"),
    "a subject with neither id nor identifier": lambda d: [
        d["credentialSubject"].pop("id"),
        d["credentialSubject"].pop("identifier"),
    ],
    "a subject with no id and an empty identifier list": lambda d: [
        d["credentialSubject"].pop("id"),
        d["credentialSubject"].__setitem__("identifier", []),
    ],
    "an activityStartDate that is not a date-time": put("tháng 3/2026", "credentialSubject", "activityStartDate"),
    # OB 3.0 §B.1.1 Achievement, §B.1.6 Criteria, §B.1.28 AchievementType
    "an achievement without id": drop("credentialSubject", "achievement", "id"),
    "an achievement without type": drop("credentialSubject", "achievement", "type"),
    "an achievement of another type": put(["Course"], "credentialSubject", "achievement", "type"),
    "an achievement without name": drop("credentialSubject", "achievement", "name"),
    "an achievement without description": drop("credentialSubject", "achievement", "description"),
    "an achievement without criteria": drop("credentialSubject", "achievement", "criteria"),
    "criteria with neither id nor narrative": put({}, "credentialSubject", "achievement", "criteria"),
    "an achievementType outside the vocabulary and not ext:": put(
        "Chứng nhận", "credentialSubject", "achievement", "achievementType"
    ),
    # OB 3.0 §B.1.12 IdentityObject, §B.7 IdentityHash
    "an identity without type": drop("credentialSubject", "identifier", 0, "type"),
    "an identity of another type": put("Identity", "credentialSubject", "identifier", 0, "type"),
    "an identity without hashed": drop("credentialSubject", "identifier", 0, "hashed"),
    "an identity with hashed as text": put("true", "credentialSubject", "identifier", 0, "hashed"),
    "an identity without identityHash": drop("credentialSubject", "identifier", 0, "identityHash"),
    "an identity without identityType": drop("credentialSubject", "identifier", 0, "identityType"),
    "an identityType outside the vocabulary": put("cccd", "credentialSubject", "identifier", 0, "identityType"),
    "a hashed identity holding a plain name": put("Lê Văn A", "credentialSubject", "identifier", 0, "identityHash"),
    "a hashed identity with an unknown algorithm": lambda d: d["credentialSubject"]["identifier"][0].__setitem__(
        "identityHash", d["credentialSubject"]["identifier"][0]["identityHash"].replace("sha256$", "sha1$")
    ),
    "a hashed identity without its salt (our rule)": drop("credentialSubject", "identifier", 0, "salt"),
    # OB 3.0 §B.1.21 CredentialStatus, Bitstring Status List §2.1
    "a status entry without id": drop("credentialStatus", "id"),
    "a status entry without type": drop("credentialStatus", "type"),
    "a bitstring entry without statusPurpose": drop("credentialStatus", "statusPurpose"),
    "a bitstring entry without statusListIndex": drop("credentialStatus", "statusListIndex"),
    "a bitstring entry with a numeric statusListIndex": put(7, "credentialStatus", "statusListIndex"),
    "a bitstring entry with a negative statusListIndex": put("-1", "credentialStatus", "statusListIndex"),
    "a bitstring entry without statusListCredential": drop("credentialStatus", "statusListCredential"),
    "a bitstring entry whose list is not a URL": put("status-list-1", "credentialStatus", "statusListCredential"),
    # OB 3.0 §B.1.9 Evidence / VC 2.0 §5.6
    "evidence without type": drop("evidence", 0, "type"),
    "evidence of another type": put(["Document"], "evidence", 0, "type"),
    "evidence that is a single object": lambda d: d.__setitem__("evidence", d["evidence"][0]),
    # OB 3.0 §A.1 JSON: unordered sets are arrays, empty ones omitted; complex types are objects, not URIs
    "an empty evidence list": put([], "evidence"),
    "an empty identifier list beside the id": put([], "credentialSubject", "identifier"),
    "an identity that is a single object": lambda d: d["credentialSubject"].__setitem__(
        "identifier", d["credentialSubject"]["identifier"][0]
    ),
    "an issuer given as a bare URI": lambda d: d.__setitem__("issuer", d["issuer"]["id"]),
}

PROFILE: dict[str, Change] = {
    "no id": drop("id"),
    "an id that is not a URI": put("Trung tâm học tập cộng đồng", "id"),
    "no type": drop("type"),
    "a type without Profile": put(["Organization"], "type"),
    "no name (our rule)": drop("name"),
    "an empty name": put("", "name"),
}

CLR_CREDENTIAL: dict[str, Change] = {
    # CLR 2.0 ClrCredential / VC 2.0 §4.3, §4.5
    "no @context": drop("@context"),
    "the OB context where the CLR context belongs": put(services.OB_CONTEXT, "@context", 1),
    "the VC context not first": lambda d: d["@context"].reverse(),
    "no ClrCredential type": put(["VerifiableCredential", "OpenBadgeCredential"], "type"),
    "no VerifiableCredential type": put(["ClrCredential"], "type"),
    "no id": drop("id"),
    "no name": drop("name"),
    "no issuer": drop("issuer"),
    "an issuer that is not a Profile": put(["Organization"], "issuer", "type"),
    "no validFrom": drop("validFrom"),
    "a validFrom without time zone": put("2026-12-01T00:00:00", "validFrom"),
    # CLR 2.0 ClrSubject
    "no credentialSubject": drop("credentialSubject"),
    "a subject that is not a ClrSubject": put(["AchievementSubject"], "credentialSubject", "type"),
    "a subject with neither id nor identifier": lambda d: [
        d["credentialSubject"].pop("id"),
        d["credentialSubject"].pop("identifier"),
    ],
    "no verifiableCredential": drop("credentialSubject", "verifiableCredential"),
    "an empty verifiableCredential list": put([], "credentialSubject", "verifiableCredential"),
    "a bundled credential without achievement": drop(
        "credentialSubject", "verifiableCredential", 0, "credentialSubject", "achievement"
    ),
    "a bundled credential without the OB context": lambda d: d["credentialSubject"]["verifiableCredential"][
        0
    ].__setitem__("@context", [services.VC_CONTEXT]),
    "a bundled credential whose hours have no resultType": drop(
        "credentialSubject",
        "verifiableCredential",
        -1,
        "credentialSubject",
        "achievement",
        "resultDescription",
        0,
        "resultType",
    ),
    "an achievement without criteria": drop("credentialSubject", "achievement", 0, "criteria"),
    "an empty achievement list": put([], "credentialSubject", "achievement"),
    "a hashed identity without its hash": drop("credentialSubject", "identifier", 0, "identityHash"),
    # CLR 2.0 Association (we write none; the rule still holds when one is added)
    "an association of an unknown kind": put(
        [{"type": "Association", "associationType": "isCousinOf", "sourceId": "urn:a", "targetId": "urn:b"}],
        "credentialSubject",
        "association",
    ),
    "an association without targetId": put(
        [{"type": "Association", "associationType": "isPartOf", "sourceId": "urn:a"}],
        "credentialSubject",
        "association",
    ),
}


def test_the_schemas_are_ours_cite_their_sources_and_are_valid_draft_2020_12():
    documents = conformance.schemas()
    assert set(documents) == set(conformance.FILES.values())
    for name, schema in documents.items():
        Draft202012Validator.check_schema(schema)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert next(iter(schema)) == "$comment", f"{name} must open with the $comment citing its sources"
        assert "Written for this project from the normative text" in schema["$comment"]
        assert "https://www.imsglobal.org/spec/" in schema["$comment"]
        assert "purl.imsglobal.org/spec" not in schema["$id"]  # not 1EdTech's published file
    text = json.dumps(documents, ensure_ascii=False)
    for section in ("§B.1.2", "§B.1.12", "§B.1.14", "§B.1.21", "§4.9", "#clrsubject", "Bitstring Status List"):
        assert section in text


def test_the_open_badge_schema_rejects_each_missing_or_malformed_must(certificate):  # noqa: F811
    credential = services.decode(services.credential_for_certificate(certificate["certificate"]).jwt)
    credential["validUntil"] = "2030-12-31T23:59:59+07:00"  # so that its format can be broken too
    _rejected_all("achievement_credential", credential, ACHIEVEMENT_CREDENTIAL)
    # An unhashed identity (a group's public name) is the plain value, no salt; a hashed one cannot be.
    credential["credentialSubject"]["identifier"] = [
        {"type": "IdentityObject", "identityType": "name", "hashed": False, "identityHash": "Hộ N.V.C."}
    ]
    assert conformance.errors("achievement_credential", credential) == []
    # AchievementCredential is as good a type as OpenBadgeCredential; an ext: term extends a vocabulary.
    credential["type"] = ["VerifiableCredential", "AchievementCredential"]
    credential["credentialSubject"]["achievement"]["achievementType"] = "ext:TitleRecognition"
    assert conformance.errors("achievement_credential", credential) == []


def test_the_profile_schema_rejects_each_missing_must(certificate):  # noqa: F811
    credential = services.decode(services.credential_for_certificate(certificate["certificate"]).jwt)
    _rejected_all("profile", credential["issuer"], PROFILE)


def test_the_clr_schema_rejects_each_missing_or_malformed_must(learner):  # noqa: F811
    record = services.learner_record(learner["person"]).credential
    assert record["credentialSubject"]["verifiableCredential"][-1]["credentialSubject"]["achievement"][
        "resultDescription"
    ]  # the hours of the last year, which one change below breaks
    _rejected_all("clr_credential", record, CLR_CREDENTIAL)
    record["credentialSubject"]["association"] = [
        {"type": "Association", "associationType": "isPartOf", "sourceId": "urn:a", "targetId": "urn:b"}
    ]
    assert conformance.errors("clr_credential", record) == []
