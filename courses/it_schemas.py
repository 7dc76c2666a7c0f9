"""The shapes of the IT-skills API (/api/v1/it/…; ADR 35)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import url_for
from pydantic import AliasPath, AwareDatetime, ConfigDict, Field, computed_field, field_validator

from courses.models import ItCertificateStatus
from lms.api.schema import Body, File, Id, Out, Page, PageQuery, Query


def _utc(value: Any) -> Any:
    """Stored times are naive UTC: say so (RFC 3339 needs the offset)."""
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


class ModuleOut(Out):
    code: str = Field(examples=["IU01"])
    level: str
    name_vi: str
    name_en: str


class StandardOut(Out):
    code: str
    name_vi: str
    name_en: str
    requires_all: list[str]
    requires_standards: list[str]
    choose_from: list[str]
    at_least: int


class TrainedDefinition(Out):
    standard: str
    modules: list[str] = Field(description="Modules that count as trained in IT under the plan")


class FrameworkOut(Out):
    source: str = Field(description="The legal text of the standard (Circular 03/2014/TT-BTTTT)")
    modules: list[ModuleOut]
    standards: list[StandardOut]
    certificate_grants: list[str] = Field(description="Modules a national IT certificate grants")
    trained_in_it: TrainedDefinition


class ModuleLineOut(Out):
    code: str = Field(validation_alias=AliasPath("module", "code"))
    level: str = Field(validation_alias=AliasPath("module", "level"))
    done_on: date | None
    sources: list[str] = Field(description='Where it was learnt: "class:12", "itcert:3"')

    @computed_field  # type: ignore[prop-decorator]
    @property
    def done(self) -> bool:
        return self.done_on is not None


class ProgressOut(Out):
    person_id: int
    full_name: str
    modules: list[ModuleLineOut]
    standards: dict[str, bool]
    trained_in_it: bool = Field(validation_alias="trained")
    missing_basic: list[str]

    @field_validator("missing_basic", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        return [getattr(m, "code", m) for m in value]


class CertificateQuery(PageQuery):
    status: ItCertificateStatus | None = None
    person_id: Id | None = None


class CertificateForm(Body):
    number: str = Field(min_length=1, max_length=60)
    issuer: str = Field(min_length=1, max_length=300, description="The accredited test centre")
    issued_on: date
    person_id: Id | None = Field(None, description="Default: the caller's own person")
    file: File | None = Field(None, description="The scan of the certificate (PDF or image)")


class RejectIn(Body):
    reason: str = Field(min_length=1, max_length=300)


class EmptyBody(Body):
    """No fields."""


class ItCertificateOut(Out):
    id: int
    person_id: int
    number: str
    issuer: str
    issued_on: date
    status: ItCertificateStatus
    note: str
    recorded_at: AwareDatetime | None
    decided_at: AwareDatetime | None

    @field_validator("recorded_at", "decided_at", mode="before")
    @classmethod
    def _aware(cls, value: Any) -> Any:
        return _utc(value)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def scan_url(self) -> str:
        return url_for("api.it_certificate_scan", it_certificate_id=self.id)


ItCertificatePage = Page[ItCertificateOut]


class FiguresQuery(Query):
    unit_id: Id = Field(description="A commune, district or province of your scope")
    from_: date | None = Field(None, alias="from", description="First day (default 1 January of this year)")
    to: date | None = Field(None, description="Last day (default 31 December of this year)")


class Ratio(Out):
    numerator: int
    denominator: int
    denominator_is: str


class CommuneFigures(Out):
    commune_id: int
    name: str = Field(validation_alias="commune_name")
    officers: int
    meets_basic: int
    trained: int
    organised: int
    organised_and_trained: int
    has_association: bool
    leader_on_board: bool
    members: int
    studied_policy: int


class FiguresOut(Out):
    model_config = ConfigDict(**Out.model_config, serialize_by_alias=True)

    unit_id: int
    from_: date = Field(serialization_alias="from", validation_alias="from")
    to: date
    trained_in_it: TrainedDefinition
    officers_organising_and_trained: Ratio
    associations_leader_manages_clc: Ratio
    policy_study: Ratio
    communes: list[CommuneFigures]
