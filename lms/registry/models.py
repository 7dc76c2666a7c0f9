"""The registry: the administrative hierarchy (effective-dated, with lineage), the population, centres."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, relationship, validates
from sqlalchemy.sql.elements import ColumnElement

from lms.auth.models import _enum_check
from lms.extensions import Model, db, utcnow
from lms.registry.text import name_keys


def _binary(length: int) -> String:
    """Binary collation, so range predicates on paths and sort keys use the B-tree index and compare bytes."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")  # type: ignore[return-value]


class UnitLevel(enum.StrEnum):
    COUNTRY = "country"
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
    VILLAGE = "village"


class AreaClass(enum.StrEnum):
    STANDARD = "standard"
    MOUNTAINOUS = "mountainous"
    # "Xã thuộc vùng khó khăn" (Circular 25/2023, Art. 6.5.b, 7.5.b: lower bars). An especially difficult commune
    # is in a difficult area too: the criteria files list both classes where the text says "vùng khó khăn".
    DIFFICULT = "difficult"
    ESPECIALLY_DIFFICULT = "especially_difficult"
    BORDER = "border"


class Sex(enum.StrEnum):
    MALE = "M"
    FEMALE = "F"


class OccupationGroup(enum.StrEnum):
    WORKER = "worker"
    OFFICIAL = "official"
    PUPIL = "pupil"
    OTHER = "other"


class AssociationRole(enum.StrEnum):
    CHAIR = "chair"
    VICE_CHAIR = "vice_chair"
    OFFICER = "officer"
    MEMBER = "member"


class BoardRole(enum.StrEnum):
    DIRECTOR = "director"
    DEPUTY_DIRECTOR = "deputy_director"
    MEMBER = "member"


class OrganisationKind(enum.StrEnum):
    AGENCY = "agency"
    # The commune People's Committee: a "Đơn vị cấp huyện" of Circular 24 (Art. 2.3), whoever manages it on paper.
    COMMUNE_COMMITTEE = "commune_committee"
    PUBLIC_SERVICE = "public_service"
    SCHOOL = "school"
    ENTERPRISE = "enterprise"
    ASSOCIATION = "association"
    OTHER = "other"


class ManagingLevel(enum.StrEnum):
    COMMUNE = "commune"
    DISTRICT = "district"
    PROVINCE = "province"
    CENTRAL = "central"


HEAD_RELATIONS = frozenset({"Chủ hộ", "chủ hộ", "head"})


def subtree(path_column: Any, prefix: str) -> ColumnElement[bool]:
    """``path_column`` lies in the subtree whose root has materialised path ``prefix`` (ending in "/").

    Written as a range, not ``LIKE 'prefix%'``, so it is one index range scan on SQLite and PostgreSQL alike:
    every path that starts with ``…/`` sorts at or after the prefix and before ``…0`` ('0' follows '/').
    """
    return and_(path_column >= prefix, path_column < prefix[:-1] + "0")


class _Named:
    """Keeps the folded search key (and the collation key) in step with ``name`` on every ORM write."""

    @validates("name", "full_name")
    def _set_keys(self, key: str, value: str) -> str:
        # However it came: one string per name.
        value, self.name_folded, self.sort_key = name_keys(value, person=key == "full_name")  # type: ignore[attr-defined]
        return value


class AdminUnit(_Named, Model):
    """A unit of the administrative hierarchy, valid for a period; villages are units too."""

    __tablename__ = "admin_unit"
    __table_args__ = (
        _enum_check("level", UnitLevel),
        _enum_check("area_class", AreaClass),
        CheckConstraint("valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to", name="valid_period"),
        # Official codes are reused across the 2025 reform, so a code is unique only among units of one level
        # that are valid at the same time: current units by code, ended units by code and end date.
        Index(
            "uq_admin_unit_current_code",
            "level",
            "code",
            unique=True,
            sqlite_where=text("valid_to IS NULL"),
            postgresql_where=text("valid_to IS NULL"),
        ),
        Index(
            "uq_admin_unit_ended_code",
            "level",
            "code",
            "valid_to",
            unique=True,
            sqlite_where=text("valid_to IS NOT NULL"),
            postgresql_where=text("valid_to IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40), default="")
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    path: Mapped[str] = mapped_column(_binary(255), unique=True)
    valid_from: Mapped[Optional[date]]
    valid_to: Mapped[Optional[date]]
    area_class: Mapped[str] = mapped_column(String(24), default=AreaClass.STANDARD.value)
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    sort_key: Mapped[str] = mapped_column(_binary(400))

    parent: Mapped[Optional[AdminUnit]] = relationship(remote_side=[id])

    @property
    def full_name(self) -> str:
        return f"{self.kind} {self.name}".strip()

    @property
    def name_in_sentence(self) -> str:
        """The name with its kind in lower case, as written inside a sentence or after the first part of an
        address: "Thôn Một, xã Ea Tu, tỉnh Quảng Ngãi" (the kind keeps its capital only at the start)."""
        return f"{self.kind.lower()} {self.name}".strip()

    def is_valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)

    @property
    def is_current(self) -> bool:
        return self.valid_to is None

    def __repr__(self) -> str:
        return f"<AdminUnit {self.level} {self.code} {self.name}>"


class UnitLineage(Model):
    """Old unit → new unit after a reorganisation; an old unit split among several carries a share for each."""

    __tablename__ = "unit_lineage"
    __table_args__ = (
        UniqueConstraint("old_unit_id", "new_unit_id"),
        CheckConstraint("share > 0 AND share <= 1", name="share_range"),
        CheckConstraint("old_unit_id <> new_unit_id", name="not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    old_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    new_unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    share: Mapped[Decimal] = mapped_column(Numeric(5, 4), default=Decimal(1))
    effective_on: Mapped[date]
    source: Mapped[str] = mapped_column(String(200), default="")

    old_unit: Mapped[AdminUnit] = relationship(foreign_keys=[old_unit_id])
    new_unit: Mapped[AdminUnit] = relationship(foreign_keys=[new_unit_id])


class RegistryVersion(Model):
    """How many times the registry of a commune has changed: its persons, households, clans, organisations and their
    members, the commune and its villages. Bumped in the transaction of every such change (``lms.registry.changes``,
    ADR 41), so whoever derived something from a commune's registry can tell, by comparing the number it read
    then with the number now, whether it must derive it again. A commune without a row has version 0."""

    __tablename__ = "registry_version"

    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Household(Model):
    __tablename__ = "household"
    __table_args__ = (UniqueConstraint("village_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    village: Mapped[AdminUnit] = relationship()
    members: Mapped[list[Person]] = relationship(back_populates="household", order_by="Person.sort_key")

    @property
    def head(self) -> Person | None:
        """The member recorded as head of household (chủ hộ), else the first member."""
        return next(
            (p for p in self.members if p.relation_to_head in HEAD_RELATIONS), self.members[0] if self.members else None
        )


clan_household = Table(
    "clan_household",
    db.metadata,
    Column("clan_id", ForeignKey("clan.id", ondelete="CASCADE"), primary_key=True),
    Column("household_id", ForeignKey("household.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Clan(_Named, Model):
    __tablename__ = "clan"
    __table_args__ = (UniqueConstraint("commune_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    sort_key: Mapped[str] = mapped_column(_binary(400))

    commune: Mapped[AdminUnit] = relationship()
    households: Mapped[list[Household]] = relationship(secondary=clan_household)


class Person(_Named, Model):
    """A resident. The personal ID number is optional; stored encrypted, looked up by a keyed hash."""

    __tablename__ = "person"
    __table_args__ = (
        _enum_check("sex", Sex),
        _enum_check("occupation_group", OccupationGroup),
        Index("ix_person_unit_sort", "unit_id", "sort_key"),
        # The few persons whose data was erased, by household: an import's preview looks for them (ADR 57).
        Index(
            "ix_person_erased_household",
            "household_id",
            postgresql_where=text("erased_at IS NOT NULL"),
            sqlite_where=text("erased_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))
    name_folded: Mapped[str] = mapped_column(String(200), index=True)
    sort_key: Mapped[str] = mapped_column(_binary(400))
    birth_date: Mapped[Optional[date]]
    # Only the year of birth is known (commune registers often say "1948" of older people): ``birth_date`` then
    # holds 1 January of that year, shown as the year alone. Age rules read the age reached in a calendar year
    # (titles, targets: at 31 December) or on a day, where such a person is taken to have had their birthday on
    # 1 January — the age they reach that year (ADR 49).
    birth_year_only: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    sex: Mapped[Optional[str]] = mapped_column(String(1))
    ethnicity: Mapped[Optional[str]] = mapped_column(String(60))  # sensitive (Decree 13/2023)
    occupation_group: Mapped[str] = mapped_column(String(16), default=OccupationGroup.OTHER.value)
    household_id: Mapped[Optional[int]] = mapped_column(ForeignKey("household.id", ondelete="SET NULL"), index=True)
    relation_to_head: Mapped[Optional[str]] = mapped_column(String(40))
    # The smallest unit the person is known to live in (village, else commune): the scoping key.
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    id_number_hash: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    id_number_encrypted: Mapped[Optional[bytes]] = mapped_column(LargeBinary)
    id_number_hint: Mapped[Optional[str]] = mapped_column(String(4))
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # When what identified the person was erased at their request (ADR 57): the row stays, anonymous, in the counts.
    erased_at: Mapped[Optional[datetime]]

    household: Mapped[Optional[Household]] = relationship(back_populates="members")
    unit: Mapped[AdminUnit] = relationship()

    @property
    def masked_id_number(self) -> str:
        return f"*********{self.id_number_hint}" if self.id_number_hint else ""

    @property
    def born(self) -> str:
        """The birth date as a reader sees it: ``31/12/1986``, or ``1948`` when only the year is known."""
        from lms.core.formatting import birth

        return birth(self.birth_date, self.birth_year_only)

    def age_on(self, day: date) -> int | None:
        if self.birth_date is None:
            return None
        before_birthday = (day.month, day.day) < (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - before_birthday


class Organisation(_Named, Model):
    """A "unit" in the sense of the Learning Unit title: an agency, school, enterprise… in a commune."""

    __tablename__ = "organisation"
    __table_args__ = (
        _enum_check("kind", OrganisationKind),
        _enum_check("managing_level", ManagingLevel),
        UniqueConstraint("commune_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    name_folded: Mapped[str] = mapped_column(String(300), index=True)
    sort_key: Mapped[str] = mapped_column(_binary(600))
    kind: Mapped[str] = mapped_column(String(24), default=OrganisationKind.OTHER.value)
    managing_level: Mapped[str] = mapped_column(String(16), default=ManagingLevel.COMMUNE.value)
    address: Mapped[str] = mapped_column(String(300), default="")

    commune: Mapped[AdminUnit] = relationship()
    memberships: WriteOnlyMapped[OrganisationMember] = relationship(back_populates="organisation", passive_deletes=True)


class OrganisationMember(Model):
    __tablename__ = "organisation_member"
    __table_args__ = (UniqueConstraint("organisation_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    position: Mapped[str] = mapped_column(String(120), default="")
    started_on: Mapped[Optional[date]]
    ended_on: Mapped[Optional[date]]

    organisation: Mapped[Organisation] = relationship(back_populates="memberships")
    person: Mapped[Person] = relationship()


class AssociationMembership(Model):
    """Membership of the Hội Khuyến học branch of a unit (commune, village) with a role."""

    __tablename__ = "association_membership"
    __table_args__ = (
        _enum_check("role", AssociationRole),
        UniqueConstraint("person_id", "unit_id", "role", "started_on"),
        CheckConstraint("ended_on IS NULL OR started_on IS NULL OR started_on <= ended_on", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    started_on: Mapped[Optional[date]]
    ended_on: Mapped[Optional[date]]

    person: Mapped[Person] = relationship()
    unit: Mapped[AdminUnit] = relationship()


class Clc(_Named, Model):
    """A Community Learning Centre (Trung tâm học tập cộng đồng). One per commune in practice, not enforced."""

    __tablename__ = "clc"

    id: Mapped[int] = mapped_column(primary_key=True)
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(300))
    name_folded: Mapped[str] = mapped_column(String(300), index=True)
    sort_key: Mapped[str] = mapped_column(_binary(600))
    address: Mapped[str] = mapped_column(String(300), default="")
    established_on: Mapped[Optional[date]]

    commune: Mapped[AdminUnit] = relationship()
    board: Mapped[list[BoardMembership]] = relationship(
        back_populates="clc", cascade="all, delete-orphan", order_by="BoardMembership.role"
    )


class BoardMembership(Model):
    __tablename__ = "board_membership"
    __table_args__ = (
        _enum_check("role", BoardRole),
        CheckConstraint("ended_on IS NULL OR started_on <= ended_on", name="period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clc_id: Mapped[int] = mapped_column(ForeignKey("clc.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(24))
    started_on: Mapped[date]
    ended_on: Mapped[Optional[date]]

    clc: Mapped[Clc] = relationship(back_populates="board")
    person: Mapped[Person] = relationship()


class ImportStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PREVIEWED = "previewed"  # checked, what it would change is shown; nothing written until someone confirms
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class ImportJob(Model):
    """A spreadsheet upload and its fate. The file itself is kept in the row so any worker can read it."""

    __tablename__ = "import_job"
    __table_args__ = (_enum_check("status", ImportStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    status: Mapped[str] = mapped_column(String(16), default=ImportStatus.PENDING.value, index=True)
    total_rows: Mapped[int] = mapped_column(default=0)
    processed_rows: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    # A dry run stops at the preview. A confirmed preview keeps its digest: the run applies only if the file
    # would still change exactly that (else it previews again).
    dry_run: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    preview: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    preview_digest: Mapped[Optional[str]] = mapped_column(String(64))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), index=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]

    unit: Mapped[AdminUnit] = relationship()

    @property
    def progress(self) -> int:
        if self.status == ImportStatus.SUCCEEDED:
            return 100
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
