"""The shapes of /api/v1/targets: what a client sends and what it gets back (ADR 35)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from flask_babel import gettext as _
from pydantic import AliasPath, Field, computed_field, field_validator

from lms.api.schema import Body, Id, Out, Page, PageQuery, Query, UtcDatetime, in_scope, with_examples
from lms.auth.permissions import Permission
from lms.registry.models import AdminUnit
from lms.targets.models import Basis, Structure

PLAN_EXAMPLE: dict[str, Any] = {
    "code": "kon-tum-1514-2022",
    "version": 1,
    "name": "Kế hoạch triển khai Chương trình “Đẩy mạnh phong trào học tập suốt đời trong gia đình, dòng họ, cộng "
    "đồng, đơn vị giai đoạn 2021–2030” trên địa bàn tỉnh Kon Tum",
    "source": "Kế hoạch số 1514/KH-UBND ngày 19/5/2022 của UBND tỉnh Kon Tum",
    "unit_id": 3,
    "active": True,
    "loaded_at": "2025-09-01T02:15:00Z",
    "indicator_count": 12,
}
INDICATOR_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "code": "family",
    "name": "Gia đình được công nhận danh hiệu “Gia đình học tập”",
    "name_en": "Households recognised as Learning Families",
    "source_ref": "Mục tiêu đến năm 2025, ý 2; mục tiêu đến năm 2030, ý 2",
    "provisional": False,
    "denominator_text": "Tất cả hộ gia đình của xã",
    "numerator": {"title": "family"},
    "denominator": {"subject": "household"},
    "targets": [
        {"year": 2025, "share": 80.0, "area_class": None, "provisional": False},
        {"year": 2030, "share": 85.0, "area_class": None, "provisional": False},
    ],
}


class TargetOut(Out):
    model_config = with_examples(
        Out,
        {"year": 2025, "share": 80.0, "area_class": None, "provisional": False},
    )

    year: int
    share: float = Field(description="Percent, 0–100")
    area_class: str | None = Field(description="The area class the milestone applies to; null: every commune")
    provisional: bool


class PlanOut(Out):
    model_config = with_examples(
        Out,
        PLAN_EXAMPLE,
    )

    code: str = Field(examples=["kt-1514-2022"])
    version: int
    name: str
    source: str
    unit_id: int | None
    active: bool
    loaded_at: UtcDatetime
    indicator_count: int


class IndicatorOut(Out):
    model_config = with_examples(
        Out,
        INDICATOR_EXAMPLE,
    )

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
    model_config = with_examples(
        PlanOut,
        {**PLAN_EXAMPLE, "indicators": [INDICATOR_EXAMPLE]},
    )

    indicators: list[IndicatorOut]


class PlanList(Out):
    model_config = with_examples(
        Out,
        {"items": [PLAN_EXAMPLE]},
    )

    items: list[PlanOut]


class PlanQuery(Query):
    model_config = with_examples(
        Query,
        {"version": 2},
    )

    version: int | None = Field(None, ge=1, le=2**31 - 1, description="A version other than the active one")


class ValuesQuery(PageQuery):
    model_config = with_examples(
        Query,
        {
            "period": "2025",
            "structure": "current",
            "basis": "official",
            "unit": 42,
            "below": "communes",
            "plan": "kon-tum-1514-2022",
            "indicator": "family",
            "page": 1,
            "per_page": 50,
        },
    )

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


class CountedOverOut(Out):
    model_config = with_examples(
        Out,
        {"phase_first": 2021, "phase_last": 2025, "first_day": "2021-01-01", "last_day": "2024-12-31"},
    )

    phase_first: int = Field(description="The first year of the plan's phase that holds the period's year")
    phase_last: int = Field(description="The last year of that phase")
    first_day: date = Field(description="The first day counted: 1 January of the phase's first year")
    last_day: date = Field(description="The last day counted: the period's end (the measured year or month)")


class ValueOut(Out):
    model_config = with_examples(
        Out,
        {
            "unit": {"id": 42, "code": "23500", "name": "Xã Đăk Hà", "level": "commune", "area_class": "mountainous"},
            "plan": "kon-tum-1514-2022",
            "indicator": "family",
            "indicator_id": 7,
            "period_end": "2025-12-31",
            "period_kind": "year",
            "structure": "current",
            "basis": "official",
            "numerator": 1432.0,
            "denominator": 1790.0,
            "target": {"year": 2025, "share": 80.0, "area_class": None, "provisional": False},
            "counted_over": None,
            "computed_at": "2026-01-05T01:30:00Z",
            "share": 80.0,
        },
    )

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
    counted_over: CountedOverOut | None = Field(
        None,
        description="The time the figure counts when it is not the period alone: an indicator counted over the "
        "plan's phase (Plan 1514's policy study, 'trong giai đoạn' 2021–2025 / 2026–2030) counts from the phase's "
        "first day to the period's end. Null: the period alone.",
    )
    computed_at: UtcDatetime

    @computed_field(description="numerator / denominator in percent, 2 decimals; null when nothing to count")
    def share(self) -> float | None:
        return None if not self.denominator else round(self.numerator * 100 / self.denominator, 2)


ValuePage = Page[ValueOut]


class RecomputeIn(Body):
    model_config = with_examples(
        Body,
        {"unit_id": 42, "year": 2025},
    )

    unit_id: Id = Field(description="A unit where you hold targets.admin")
    year: int = Field(ge=2000, le=9999, examples=[2025])


class RecomputeOut(Out):
    model_config = with_examples(
        Out,
        {"unit_id": 42, "year": 2025, "status": "queued"},
    )

    unit_id: int
    year: int
    status: Literal["queued"]
