"""The shapes of /api/v1/credentials (ADR 35): a credential comes as its decoded JSON and its verifiable form."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from lms.api.schema import Out


class CredentialOut(Out):
    credential: dict[str, Any] = Field(description="The OpenBadgeCredential (Open Badges 3.0), decoded")
    jwt: str = Field(description="The VC-JWT (EdDSA): the verifiable form; check it with any conformant verifier")


class LearnerRecordOut(Out):
    credential: dict[str, Any] = Field(description="The ClrCredential (Comprehensive Learner Record 2.0), decoded")
    jwt: str = Field(description="The record's VC-JWT")
    credentials: list[str] = Field(description="The bundled credentials' own VC-JWTs, each verifiable on its own")
