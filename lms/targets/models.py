"""Plans and their indicators (versioned data), targets by year and area class, and stored indicator values.

An indicator value is a numerator and a denominator for one unit, period, administrative structure and basis —
never a percentage: a province's value is the sum of its communes' numerators over the sum of their denominators.
Dashboards read these rows only.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import _enum_check
from lms.extensions import Model, utcnow
from lms.registry.models import AdminUnit
from lms.work import Attempts


class Plan(Model):
    """One version of a plan as loaded from its data file (``lms/targets/plans/*.toml``)."""

    __tablename__ = "plan"
    __table_args__ = (UniqueConstraint("code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60))  # e.g. "kon-tum-1514-2022"
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(300))  # "Kế hoạch 1514/KH-UBND ngày 19/5/2022 của UBND tỉnh Kon Tum"
    # The unit the plan applies to (a province, or the country for national programmes).
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    loaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    indicators: Mapped[list[Indicator]] = relationship(
        back_populates="plan", order_by="Indicator.position", cascade="all, delete-orphan"
    )

    @property
    def indicator_count(self) -> int:
        return len(self.indicators)


class Indicator(Model):
    """What is counted: ``numerator`` and ``denominator`` are definitions (data) the computation compiles to SQL."""

    __tablename__ = "indicator"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(400))  # Vietnamese, as the plan words it
    name_en: Mapped[str] = mapped_column(String(400), default="")
    numerator: Mapped[dict[str, Any]] = mapped_column(JSON)
    denominator: Mapped[dict[str, Any]] = mapped_column(JSON)
    denominator_text: Mapped[str] = mapped_column(Text)  # "registered households" vs "all households"
    source_ref: Mapped[str] = mapped_column(String(300), default="")  # section of the plan
    # True when the definition (what is counted) was not read from the source text: to be checked.
    provisional: Mapped[bool] = mapped_column(default=False)

    plan: Mapped[Plan] = relationship(back_populates="indicators")
    targets: Mapped[list[Target]] = relationship(
        back_populates="indicator", cascade="all, delete-orphan", order_by="Target.year"
    )


class Target(Model):
    """A milestone: the share to reach by the end of ``year``; ``area_class`` NULL means every commune."""

    __tablename__ = "indicator_target"
    __table_args__ = (UniqueConstraint("indicator_id", "year", "area_class"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    year: Mapped[int]
    area_class: Mapped[Optional[str]] = mapped_column(String(24))
    share: Mapped[Decimal] = mapped_column(Numeric(5, 2))  # per cent
    provisional: Mapped[bool] = mapped_column(default=False)  # the figure was not read from the source text

    indicator: Mapped[Indicator] = relationship(back_populates="targets")


class Structure(enum.StrEnum):
    CURRENT = "current"  # the post-2025 map: communes under provinces
    PRE_2025 = "pre2025"  # the old map (province → district → commune), reached through the lineage shares


class Basis(enum.StrEnum):
    OFFICIAL = "official"  # recognitions
    PROJECTION = "projection"  # eligibility


class PeriodKind(enum.StrEnum):
    MONTH = "month"
    YEAR = "year"


class IndicatorValue(Model):
    """The numerator and denominator of one indicator for one unit, period, structure and basis.

    ``period_end`` is the last day of the period (a month, or 31 December for a year). Numerators may be fractional
    under the pre-2025 structure, where a split commune's figures are shared out by the lineage's shares.
    """

    __tablename__ = "indicator_value"
    __table_args__ = (
        UniqueConstraint("indicator_id", "unit_id", "period_end", "period_kind", "structure", "basis"),
        Index("ix_indicator_value_unit_period", "unit_id", "period_end"),
        _enum_check("structure", Structure),
        _enum_check("basis", Basis),
        _enum_check("period_kind", PeriodKind),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    period_end: Mapped[date]
    period_kind: Mapped[str] = mapped_column(String(8))
    structure: Mapped[str] = mapped_column(String(8), default=Structure.CURRENT.value)
    basis: Mapped[str] = mapped_column(String(12))
    numerator: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    denominator: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)

    indicator: Mapped[Indicator] = relationship()
    unit: Mapped[AdminUnit] = relationship()

    @property
    def share(self) -> Decimal | None:
        """Per cent, or None when nothing is counted (a denominator of zero is "no data", not 0 %)."""
        if not self.denominator:
            return None
        return self.numerator * 100 / self.denominator


class IndicatorSourceValue(Model):
    """What one commune's own records give for one indicator and period, before the lineage shares.

    A commune's published value (:class:`IndicatorValue`) under either structure is its own source value plus the
    shares of its lineage neighbours' source values; keeping the source values lets one commune be recomputed
    without recounting its neighbours.
    """

    __tablename__ = "indicator_source_value"
    __table_args__ = (
        UniqueConstraint("indicator_id", "commune_id", "period_end", "period_kind", "basis"),
        Index("ix_indicator_source_value_commune_period", "commune_id", "period_end"),
        _enum_check("basis", Basis),
        _enum_check("period_kind", PeriodKind),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicator.id", ondelete="CASCADE"))
    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"))
    period_end: Mapped[date]
    period_kind: Mapped[str] = mapped_column(String(8))
    basis: Mapped[str] = mapped_column(String(12))
    numerator: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    denominator: Mapped[Decimal] = mapped_column(Numeric(14, 4))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class TargetState(Attempts, Model):
    """When a commune's indicator values of a year were last computed, and last included in a roll-up.

    The sweep recomputes a commune-year whose titles changed after ``computed_at`` (its evaluation state moved, or a
    recognition was proposed or revoked, or a plan version was loaded); the roll-up of a year runs when some commune
    was computed after it was last rolled up.
    """

    __tablename__ = "target_state"

    commune_id: Mapped[int] = mapped_column(ForeignKey("admin_unit.id"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    computed_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    rolled_up_at: Mapped[Optional[datetime]]
