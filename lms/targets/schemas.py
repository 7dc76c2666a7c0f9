"""The shapes of /api/v1/targets: what a client sends and what it gets back (ADR 35)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from flask_babel import gettext as _
from pydantic import AliasPath, AwareDatetime, Field, computed_field, field_validator

from lms.api.schema import Body, Id, Out, Page, PageQuery, Query, in_scope
from lms.auth.permissions import Permission
from lms.registry.models import AdminUnit
from lms.targets.models import Basis, Structure


class TargetOut(Out):
    year: int
    share: float = Field(description="Percent, 0–100")
    area_class: str | None = Field(description="The area class the milestone applies to; null: every commune")
    provisional: bool


class PlanOut(Out):
    code: str = Field(examples=["kt-1514-2022"])
    version: int
    name: str
    source: str
    unit_id: int | None
    active: bool
    loaded_at: AwareDatetime
    indicator_count: int

    @field_validator("loaded_at", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        return _aware(value)


class IndicatorOut(Out):
    id: int
    code: str
    name: str
    name_en: str | None
    source_ref: str | None
    provisional: bool
    denominator_text: str | None
    numerator: dict[str, Any] = Field(description="What is counted (a definition the computation compiles to SQL)")
    denominator: dict[str, Any] = Field(description="Out of what")
    targets: list[TargetOut]


class PlanDetail(PlanOut):
    indicators: list[IndicatorOut]


class PlanList(Out):
    items: list[PlanOut]


class PlanQuery(Query):
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="A version other than the active one")


class ValuesQuery(PageQuery):
    period: str | None = Field(
        None, pattern=r"^\d{4}(-(0[1-9]|1[0-2]))?$", description="A year (2025) or a month (2025-06); default this year"
    )
    structure: Structure = Field(Structure.CURRENT, description="current: the post-2025 map; pre2025: the old one")
    basis: Basis = Field(Basis.OFFICIAL, description="official: recognitions; projection: eligibility")
    unit: Id | None = Field(None, description="A unit of your scope (its id); default every unit of your scope")
    below: Literal["self", "children", "communes"] = Field(
        "self", description="With `unit`: the unit itself, its children, or every commune under it"
    )
    plan: str | None = Field(None, max_length=100, description="A plan's code")
    indicator: str | None = Field(None, max_length=100, description="An indicator's code")

    @field_validator("unit")
    @classmethod
    def _in_scope(cls, unit_id: int | None) -> int | None:
        # Checked with the other fields, so that one answer names every field to fix.
        if unit_id is not None and in_scope(AdminUnit, unit_id, Permission.TARGETS_VIEW) is None:
            raise ValueError(_("No such unit in your scope (give its id)."))
        return unit_id


class UnitRef(Out):
    id: int
    code: str
    name: str = Field(validation_alias="full_name")
    level: str
    area_class: str | None


class ValueOut(Out):
    unit: UnitRef
    plan: str = Field(validation_alias=AliasPath("indicator", "plan", "code"))
    indicator: str = Field(validation_alias=AliasPath("indicator", "code"))
    indicator_id: int
    period_end: date
    period_kind: str
    structure: str
    basis: str
    numerator: float
    denominator: float
    target: TargetOut | None = Field(None, description="The plan's milestone for this unit and year, if any")
    computed_at: AwareDatetime

    @computed_field(description="numerator / denominator in percent, 2 decimals; null when nothing to count")
    def share(self) -> float | None:
        return None if not self.denominator else round(self.numerator * 100 / self.denominator, 2)

    @field_validator("computed_at", mode="before")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        return _aware(value)


ValuePage = Page[ValueOut]


class RecomputeIn(Body):
    unit_id: Id = Field(description="A unit where you hold targets.admin")
    year: int = Field(ge=2000, le=9999, examples=[2025])


class RecomputeOut(Out):
    unit_id: int
    year: int
    status: Literal["queued"]


def _aware(value: Any) -> Any:
    """Stored times are UTC without an offset (SQLite drops it): say so, as RFC 3339 requires."""
    from datetime import UTC

    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
