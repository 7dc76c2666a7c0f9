"""The shapes of /api/v1/credentials (ADR 35): a credential comes as its decoded JSON and its verifiable form."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lms.api.schema import Out, with_examples

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
