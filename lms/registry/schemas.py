"""The shapes of the registry's API (/api/v1/units, persons, households, organisations, CLCs, imports; ADR 35)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from pydantic import Field, field_validator

from lms.api.schema import Body, File, Id, Out, Page, PageQuery, Query, in_scope
from lms.auth.permissions import Permission
from lms.registry.models import AdminUnit, OccupationGroup, Sex, UnitLevel


class ScopedQuery(PageQuery):
    unit_id: Id | None = Field(None, description="Only records in this unit's subtree (a unit of your scope)")
    q: str | None = Field(None, max_length=200, description="Name contains (diacritics optional: Nguyen = Nguyễn)")

    @field_validator("unit_id")
    @classmethod
    def _in_scope(cls, unit_id: int | None) -> int | None:
        if unit_id is not None and in_scope(AdminUnit, unit_id, Permission.REGISTRY_VIEW) is None:
            raise ValueError(_("No such unit in your scope."))
        return unit_id


class UnitQuery(ScopedQuery):
    parent_id: Id | None = Field(None, description="Only the children of this unit")
    level: UnitLevel | None = None


class PersonQuery(ScopedQuery):
    household_id: Id | None = Field(None, description="Only the members of this household")


class UnitOut(Out):
    id: int
    code: str = Field(examples=["23293"])
    name: str
    kind: str
    level: str
    parent_id: int | None
    valid_from: date | None
    valid_to: date | None
    area_class: str | None


class LineageOut(Out):
    unit_id: int
    share: Decimal = Field(description="The share of the old unit's population that went to the new one")


class UnitCounts(Out):
    households: int
    persons: int


class UnitDetail(UnitOut):
    successors: list[LineageOut] = Field(description="Units that took this one's population (the 2025 map)")
    predecessors: list[LineageOut]
    counts: UnitCounts


class PersonOut(Out):
    id: int
    full_name: str
    birth_date: date | None
    sex: Sex | None
    occupation_group: OccupationGroup | None
    household_id: int | None
    relation_to_head: str | None
    unit_id: int
    id_number_masked: str | None = Field(
        validation_alias="masked_id_number", description="The last digits only; the number is never sent"
    )

    @field_validator("id_number_masked", mode="before")
    @classmethod
    def _none_if_empty(cls, value: Any) -> Any:
        return value or None


class PersonDetail(PersonOut):
    ethnicity: str | None = Field(None, description="Sent only to callers who hold personal_data on the person")


class PersonIn(Body):
    """A person's fields; on creation ``full_name`` and a place (``household_id``, or ``unit_id``) are required."""

    full_name: str | None = Field(None, min_length=1, max_length=200, examples=["Nguyễn Văn An"])
    birth_date: date | None = None
    sex: Sex | None = None
    occupation_group: OccupationGroup | None = None
    relation_to_head: str | None = Field(None, max_length=50)
    phone: str | None = Field(None, max_length=30)
    ethnicity: str | None = Field(None, max_length=50)
    id_number: str | None = Field(None, max_length=20, description="Checked and stored encrypted; never sent back")
    household_id: Id | None = None
    unit_id: Id | None = None

    @field_validator("full_name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(_("This field is required."))
        return value


class HouseholdOut(Out):
    id: int
    code: str
    village_id: int
    address: str | None


class HouseholdDetail(HouseholdOut):
    members: list[PersonOut]


class OrganisationOut(Out):
    id: int
    code: str | None
    name: str
    kind: str
    managing_level: str | None
    commune_id: int
    address: str | None


class BoardMemberOut(Out):
    person_id: int
    role: str
    started_on: date
    ended_on: date | None


class ClcOut(Out):
    id: int
    name: str
    commune_id: int
    address: str | None
    established_on: date | None
    board: list[BoardMemberOut]


class ImportQuery(Query):
    dry_run: bool = Field(False, description="true: check the file and answer what it would change, writing nothing")


class ImportForm(Body):
    kind: str = Field(description="villages, households, organisations or officers", examples=["households"])
    unit_id: Id = Field(description="The unit the file is about (a unit of your scope)")
    file: File = Field(description="The spreadsheet (.xlsx or .csv)")


class ConfirmIn(Body):
    preview_digest: str = Field(max_length=64, description="The digest of the preview you confirm")


class ImportOut(Out):
    id: int
    kind: str
    filename: str
    status: str
    progress: int = Field(ge=0, le=100)
    total_rows: int
    processed_rows: int
    message: str
    errors: list[dict[str, Any]]
    summary: dict[str, Any]
    unit_id: int
    dry_run: bool
    preview: dict[str, Any] | None
    preview_digest: str | None


UnitPage = Page[UnitOut]
PersonPage = Page[PersonOut]
HouseholdPage = Page[HouseholdOut]
OrganisationPage = Page[OrganisationOut]
ClcPage = Page[ClcOut]
