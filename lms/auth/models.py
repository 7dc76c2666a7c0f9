from __future__ import annotations

import enum
import hashlib
import secrets
import time
from datetime import datetime
from typing import TYPE_CHECKING, Optional

from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from lms.extensions import Model, db, utcnow

if TYPE_CHECKING:
    from lms.registry.models import AdminUnit

# scrypt is werkzeug's strongest built-in; parameters are werkzeug's current defaults. The setting
# ``PASSWORD_HASH`` (config.py) names the method an app uses; this is the method outside an app.
PASSWORD_METHOD = "scrypt"  # noqa: S105 - the name of a hash method, not a password
# Per method: checked against when the e-mail is unknown, so a failed login costs the same time either way.
_DUMMY_HASHES: dict[str, str] = {}


def password_method() -> str:
    """The hash method of new passwords: the app's ``PASSWORD_HASH``, werkzeug's scrypt outside an app."""
    return str(current_app.config.get("PASSWORD_HASH") or PASSWORD_METHOD) if has_app_context() else PASSWORD_METHOD


def _dummy_hash() -> str:
    method = password_method()
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


class Role(enum.StrEnum):
    ADMINISTRATOR = "administrator"
    PROVINCE_LEADER = "province_leader"
    COMMUNE_LEADER = "commune_leader"
    CENTRE_MANAGER = "centre_manager"
    INSTRUCTOR = "instructor"
    ASSOCIATION_OFFICER = "association_officer"


def _enum_check(column: str, enum_cls: type[enum.StrEnum]) -> CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum_cls)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")


class User(UserMixin, Model):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # The name lower case without diacritics (lms.registry.text.fold), set with the name: the accounts page searches it
    # as the registry searches people — "nguyen", "NGUYỄN" and "Nguyễn" alike, "đ" as "Đ", on SQLite as on PostgreSQL.
    name_folded: Mapped[str] = mapped_column(String(200), default="", server_default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[Optional[str]] = mapped_column(String(8))
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[Optional[datetime]]
    # Part of every session and remember-me cookie (see get_id); raising it ends them all (ADR 24).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Set when an administrator created the account or reset its password (a temporary password they handed over):
    # the user's pages lead to the password change until they choose their own (ADR 52).
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    tokens: WriteOnlyMapped[ApiToken] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    def get_id(self) -> str:
        """What the session and the remember-me cookie carry: id, session version and the time of the login.

        The cookies are signed, so these cannot be forged; the user loader refuses a version that log-out, a
        password change or an administrator has since raised, and a login older than the remember-me lifetime
        (the cookie's own expiry is only advice to the browser; a captured copy ignores it).
        """
        stamp = self.__dict__.get("login_stamp") or int(time.time())
        return f"{self.id}:{self.session_version}:{stamp}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=password_method())

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def burn_password_check(password: str) -> None:
        check_password_hash(_dummy_hash(), password)

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class RoleAssignment(Model):
    """A role held on one unit of the hierarchy; it covers the unit's whole subtree (and its predecessors)."""

    __tablename__ = "role_assignment"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "unit_id"),
        _enum_check("role", Role),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")
    unit: Mapped[AdminUnit] = relationship(lazy="joined")


class ApiToken(Model):
    """A bearer token for a device or an integration. Only its SHA-256 is stored; it acts as its user."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]

    user: Mapped[User] = relationship(back_populates="tokens")

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user: User, name: str) -> tuple[ApiToken, str]:
        """Create a token; the clear text is returned once and never stored."""
        secret = "lms_" + secrets.token_urlsafe(32)
        token = cls(user=user, name=name, token_hash=cls.hash(secret), prefix=secret[:10])
        db.session.add(token)
        return token, secret


class RememberToken(Model):
    """One "keep me logged in" on one browser (ADR 30): the cookie holds ``<series>.<secret>``, the row the secret's
    SHA-256. Each use replaces the secret, so a copied cookie works once at most, and a secret used twice ends the
    account's sessions (one of the two users was a thief)."""

    __tablename__ = "remember_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    series: Mapped[str] = mapped_column(String(43), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    # The secret it replaced, still taken for a few seconds: a page and its parallel requests all carry it.
    previous_hash: Mapped[Optional[str]] = mapped_column(String(64))
    # The log-in with the password: the series ends REMEMBER_COOKIE_DURATION after it, however often it is used.
    logged_in_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
