"""The shapes of /api/v1/credentials (ADR 35): a credential comes as its decoded JSON and its verifiable form."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from lms.api.schema import Body, Out, with_examples

_HOST = "https://hoctap.example.vn"
CREDENTIAL_EXAMPLE: dict[str, Any] = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
    "id": "urn:uuid:4f1c2b7e-9a3d-4c52-8e61-0b7d2a9c5e13",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "name": "Tin học cơ bản",
    "issuer": {
        "id": "did:web:hoctap.example.vn:credentials:issuers:clc-9",
        "type": ["Profile"],
        "name": "Trung tâm học tập cộng đồng xã Đăk Hà",
        "url": _HOST,
    },
    "validFrom": "2026-05-29T00:00:00+07:00",
    "awardedDate": "2026-05-29T00:00:00+07:00",
    "credentialSubject": {
        "id": f"{_HOST}/credentials/subjects/person-8c41d2e07a",
        "type": ["AchievementSubject"],
        "identifier": [
            {
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": True,
                "identityHash": "sha256$3b0f6c0d1e9a7b24c5d8e2f1a6b3c9d04e7f2a1b5c8d3e6f9a0b1c2d3e4f5a6b",
                "salt": "a1b2c3d4e5f60718",
            }
        ],
        "activityStartDate": "2026-03-02T00:00:00+07:00",
        "activityEndDate": "2026-05-29T23:59:59+07:00",
        "achievement": {
            "id": f"{_HOST}/credentials/achievements/course-7",
            "type": ["Achievement"],
            "achievementType": "CertificateOfCompletion",
            "name": "Tin học cơ bản",
            "description": "Sử dụng máy tính, Internet và dịch vụ công trực tuyến cho người dân",
            "humanCode": "TH-01",
            "fieldOfStudy": "it_skills",
            "inLanguage": "vi",
            "criteria": {"narrative": "Tham dự ít nhất 80% số buổi học và đạt bài kiểm tra cuối khóa."},
        },
    },
    "credentialStatus": {
        "id": f"{_HOST}/credentials/status/1#1042",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "1042",
        "statusListCredential": f"{_HOST}/credentials/status/1",
    },
}
#: A VC-JWT as the API sends it (header.payload.signature, shortened here).
JWT_EXAMPLE = (
    "eyJhbGciOiJFZERTQSIsImtpZCI6ImRpZDp3ZWI6bG1zI2tleS0xIiwidHlwIjoidmMrand0In0"
    ".eyJpc3MiOiJkaWQ6d2ViOmxtcyJ9.c2lnbmF0dXJl"
)


class CredentialOut(Out):
    model_config = with_examples(Out, {"credential": CREDENTIAL_EXAMPLE, "jwt": JWT_EXAMPLE})

    credential: dict[str, Any] = Field(description="The OpenBadgeCredential (Open Badges 3.0), decoded")
    jwt: str = Field(description="The VC-JWT (EdDSA): the verifiable form; check it with any conformant verifier")


class LearnerRecordOut(Out):
    model_config = with_examples(
        Out,
        {
            "credential": {
                "@context": [
                    "https://www.w3.org/ns/credentials/v2",
                    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
                    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
                ],
                "id": "urn:uuid:0d9e6a41-5b2c-4f7e-a8d3-6c1b9e2f4a70",
                "type": ["VerifiableCredential", "ClrCredential"],
                "name": "Hồ sơ học tập suốt đời",
                "description": "Các chứng nhận, mô đun CNTT, danh hiệu và số giờ học theo năm, tính đến 06/12/2026.",
                "issuer": {
                    "id": "did:web:hoctap.example.vn",
                    "type": ["Profile"],
                    "name": "Hệ thống học tập suốt đời tỉnh Quảng Ngãi",
                    "url": _HOST,
                },
                "validFrom": "2026-12-06T08:00:00+07:00",
                "awardedDate": "2026-12-06T08:00:00+07:00",
                "credentialSubject": {
                    "id": f"{_HOST}/credentials/subjects/person-8c41d2e07a",
                    "type": ["ClrSubject"],
                    "identifier": CREDENTIAL_EXAMPLE["credentialSubject"]["identifier"],
                    "achievement": [CREDENTIAL_EXAMPLE["credentialSubject"]["achievement"]],
                    "verifiableCredential": [CREDENTIAL_EXAMPLE],
                },
            },
            "jwt": JWT_EXAMPLE,
            "credentials": [JWT_EXAMPLE],
        },
    )

    credential: dict[str, Any] = Field(description="The ClrCredential (Comprehensive Learner Record 2.0), decoded")
    jwt: str = Field(description="The record's VC-JWT")
    credentials: list[str] = Field(description="The bundled credentials' own VC-JWTs, each verifiable on its own")


class CredentialCheckIn(Body):
    model_config = with_examples(
        Body,
        {"credential": JWT_EXAMPLE, "name": "Nguyễn Thị Ánh"},
        {"credential": f"{_HOST}/credentials/verify#vc1.eJyrVkrOzytJzSvRUcpPzy8qUbJSUqoFAFKvB9s"},
    )

    # What the verification page's box takes (lms.credentials.views.VerifyForm): the VC-JWT, the JSON file downloaded
    # from us, or the address a credential's QR code holds.
    credential: Annotated[str, StringConstraints(min_length=1, max_length=50_000)] = Field(
        description="The credential as presented: its VC-JWT, the JSON file's content, or its QR code's address",
        examples=[JWT_EXAMPLE],
    )
    name: Annotated[str, StringConstraints(max_length=300)] | None = Field(
        None,
        description="The holder's full name from their identity card, to check the credential was issued to them "
        "(compared with the credential's salted hash; never stored)",
        examples=["Nguyễn Thị Ánh"],
    )


VERIFY_REASONS = Literal[
    "ok",
    "malformed",
    "unsupported",
    "unknown_key",
    "bad_signature",
    "inconsistent",
    "not_yet_valid",
    "expired",
    "revoked",
    "status_unknown",
]


class CredentialCheckOut(Out):
    """What the verification page shows of a presented credential, and nothing more: the verdict, what the credential
    proves (its issuer, its achievement, the holder only where the credential names them unhashed — a group), the
    checks passed, and whether the name typed is the holder's."""

    model_config = with_examples(
        Out,
        {
            "valid": True,
            "status": "valid",
            "reason": "ok",
            "message": "Chứng chỉ hợp lệ: Trung tâm học tập cộng đồng xã Đăk Hà đã cấp “Tin học cơ bản” cho người học "
            "được nêu trong chứng chỉ, có hiệu lực từ 29/05/2026, và chưa bị thu hồi. Chứng chỉ không chứng minh người "
            "đang xuất trình là người được cấp: hãy đối chiếu họ tên với giấy tờ tùy thân.",
            "issuer": "Trung tâm học tập cộng đồng xã Đăk Hà",
            "checks": [
                "Chữ ký hợp lệ, bằng khóa key-1 của Trung tâm học tập cộng đồng xã Đăk Hà.",
                "Trong thời hạn hiệu lực.",
                "Chưa bị thu hồi (danh sách trạng thái của hệ thống).",
            ],
            "name_match": True,
            "name_message": "Họ tên nhập vào khớp với người được cấp chứng chỉ.",
        },
        {
            "valid": False,
            "status": "revoked",
            "reason": "revoked",
            "message": "Chứng chỉ đã bị thu hồi.",
            "issuer": "",
            "checks": [
                "Chữ ký hợp lệ, bằng khóa key-1 của Trung tâm học tập cộng đồng xã Đăk Hà.",
                "Trong thời hạn hiệu lực.",
            ],
            "name_match": None,
            "name_message": "",
        },
    )

    valid: bool
    status: Literal["valid", "revoked", "unknown", "invalid"] = Field(
        description="valid; revoked; unknown: not a credential of ours (unreadable, another algorithm, a key none of "
        "our issuers holds); invalid: signed with our key but altered, out of its dates, or its revocation list unread"
    )
    reason: VERIFY_REASONS = Field(description="What decided: ok, or the first check that failed")
    message: str = Field(description="In Vietnamese, as the page says it: what the credential proves, or why not")
    issuer: str = Field(description="The issuer's name, when the credential is valid")
    checks: list[str] = Field(description="The checks passed, in order, in Vietnamese")
    name_match: bool | None = Field(
        description="Whether the name sent is the holder's; null when none was sent, or the credential cannot be "
        "read as ours, or names no one by a hashed name"
    )
    name_message: str = Field(description="In Vietnamese: what the name check found; empty when null")
