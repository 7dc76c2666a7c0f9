"""Issuers, their signing keys, the status lists and the credentials issued (ADR 25).

An *issuer* is an authority that signs: the instance itself (for its status lists), a CLC (class certificates) or
the People's Committee, association or department that decides a title (recognitions). Each has Ed25519 keys; one
is active, the retired ones stay published so what they signed keeps verifying. Private keys are stored encrypted
with a key from configuration (``LMS_CREDENTIALS_KEY``), never in clear.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.extensions import Model, utcnow

# Bitstring Status List: at least 131,072 entries (16 KiB), so that one index says little about whose it is.
STATUS_LIST_SIZE = 131072


class Issuer(Model):
    __tablename__ = "credential_issuer"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The last segment of the issuer's did:web ("clc-12", "commune-23293-chu-tich-ubnd-xa-ea-tu"); "instance" is
    # the instance itself, whose DID is the bare domain.
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # instance | clc | authority
    name: Mapped[str] = mapped_column(String(200))
    clc_id: Mapped[Optional[int]] = mapped_column(ForeignKey("clc.id", ondelete="SET NULL"))
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("admin_unit.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    keys: Mapped[list[IssuerKey]] = relationship(back_populates="issuer", order_by="IssuerKey.id")


class IssuerKey(Model):
    __tablename__ = "credential_issuer_key"
    __table_args__ = (
        UniqueConstraint("issuer_id", "key_id"),
        # One active key per issuer: rotation retires the old one in the same transaction.
        Index(
            "uq_credential_issuer_key_active",
            "issuer_id",
            unique=True,
            sqlite_where=text("retired_at IS NULL"),
            postgresql_where=text("retired_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("credential_issuer.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(String(40))  # the fragment of the kid: "key-20261206T104000"
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[Optional[datetime]]

    issuer: Mapped[Issuer] = relationship(back_populates="keys")


class StatusList(Model):
    __tablename__ = "credential_status_list"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), default="revocation")
    size: Mapped[int] = mapped_column(default=STATUS_LIST_SIZE)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IssuedCredential(Model):
    """One signed credential: what it is about, who signed it, its place in a status list, and the compact JWT
    (handed out again unchanged, so a holder downloading twice gets the same credential)."""

    __tablename__ = "issued_credential"
    __table_args__ = (UniqueConstraint("status_list_id", "status_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # certificate | recognition | it_modules
    # SET NULL, not CASCADE: a credential whose certificate or recognition is deleted (a class removed, a person
    # erased) keeps its status-list index, and the list shows it revoked; it must not verify as valid.
    certificate_id: Mapped[Optional[int]] = mapped_column(ForeignKey("certificate.id", ondelete="SET NULL"), index=True)
    recognition_id: Mapped[Optional[int]] = mapped_column(ForeignKey("recognition.id", ondelete="SET NULL"), index=True)
    # A verified national IT certificate: the module set it grants (ADR 32).
    it_certificate_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("it_certificate.id", ondelete="SET NULL"), index=True
    )
    issuer_key_id: Mapped[int] = mapped_column(ForeignKey("credential_issuer_key.id"))
    status_list_id: Mapped[int] = mapped_column(ForeignKey("credential_status_list.id"))
    status_index: Mapped[int]
    valid_from: Mapped[date]
    valid_until: Mapped[Optional[date]]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set once, never cleared: a revoked credential stays revoked even if its certificate is later revived
    # (then a new credential is issued).
    revoked_at: Mapped[Optional[datetime]]
    jwt: Mapped[str] = mapped_column(Text)

    issuer_key: Mapped[IssuerKey] = relationship()
