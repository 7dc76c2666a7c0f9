"""The shapes of the registry's API (/api/v1/units, persons, households, organisations, CLCs, imports; ADR 35)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from flask_babel import gettext as _
from pydantic import Field, StringConstraints, field_validator
from pydantic.json_schema import SkipJsonSchema

from lms.api.schema import Body, File, Id, Out, Page, PageQuery, Problem, Query, in_scope, with_examples
from lms.auth.permissions import Permission
from lms.registry.models import AdminUnit, ManagingLevel, OccupationGroup, OrganisationKind, Sex, UnitLevel

UNIT_EXAMPLE: dict[str, Any] = {
    "id": 42,
    "code": "23500",
    "name": "Đăk Hà",
    "kind": "Xã",
    "level": "commune",
    "parent_id": 3,
    "valid_from": "2025-07-01",
    "valid_to": None,
    "area_class": "mountainous",
}
PERSON_EXAMPLE: dict[str, Any] = {
    "id": 5120,
    "full_name": "Nguyễn Văn An",
    "birth_date": "1986-04-12",
    "birth_year_only": False,
    "sex": "M",
    "occupation_group": "worker",
    "household_id": 1207,
    "relation_to_head": "Chủ hộ",
    "unit_id": 57,
    "id_number_masked": "*********1234",
}
HOUSEHOLD_EXAMPLE: dict[str, Any] = {
    "id": 1207,
    "code": "23500-04-0031",
    "village_id": 57,
    "address": "Thôn 4, xã Đăk Hà, tỉnh Quảng Ngãi",
}


class ScopedQuery(PageQuery):
    model_config = with_examples(
        Query,
        {"unit_id": 42, "q": "Nguyen Van", "page": 1, "per_page": 50},
    )

    unit_id: Id | None = Field(None, description="Only records in this unit's subtree (a unit of your scope)")
    q: str | None = Field(
        None,
        max_length=200,
        description="Name contains each word, in any order (diacritics optional: Nguyen An = Nguyễn Văn An)",
    )

    @field_validator("unit_id")
    @classmethod
    def _in_scope(cls, unit_id: int | None) -> int | None:
        if unit_id is not None and in_scope(AdminUnit, unit_id, Permission.REGISTRY_VIEW) is None:
            raise ValueError(_("No such unit in your scope."))
        return unit_id


class UnitQuery(ScopedQuery):
    model_config = with_examples(
        Query,
        {"parent_id": 42, "level": "village", "page": 1, "per_page": 50},
    )

    parent_id: Id | None = Field(None, description="Only the children of this unit")
    level: UnitLevel | None = None


class PersonQuery(ScopedQuery):
    model_config = with_examples(
        Query,
        {"household_id": 1207, "q": "Nguyễn", "page": 1, "per_page": 50},
    )

    household_id: Id | None = Field(None, description="Only the members of this household")


class UnitOut(Out):
    model_config = with_examples(
        Out,
        UNIT_EXAMPLE,
    )

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
    model_config = with_examples(
        UnitOut,
        {
            **UNIT_EXAMPLE,
            "successors": [],
            "predecessors": [{"unit_id": 315, "share": "1.0000"}, {"unit_id": 316, "share": "1.0000"}],
            "counts": {"households": 3214, "persons": 12876},
        },
    )

    successors: list[LineageOut] = Field(description="Units that took this one's population (the 2025 map)")
    predecessors: list[LineageOut]
    counts: UnitCounts


class PersonOut(Out):
    model_config = with_examples(
        Out,
        PERSON_EXAMPLE,
    )

    id: int
    full_name: str
    birth_date: date | None
    birth_year_only: bool = Field(
        False, description="Only the year of birth is known (a commune register's “1948”): birth_date is 1 January"
    )
    sex: Sex | None
    occupation_group: OccupationGroup | None = Field(
        description="Plan 1514's groups: worker (người lao động: farmers, workers and other working people, ADR 12), "
        "official, pupil, other",
    )
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
    model_config = with_examples(
        PersonOut,
        {**PERSON_EXAMPLE, "ethnicity": "Kinh"},
    )

    ethnicity: str | None = Field(None, description="Sent only to callers who hold personal_data on the person")


class PersonIn(Body):
    """A person's fields; on creation ``full_name`` and a place (``household_id``, or ``unit_id``) are required."""

    model_config = with_examples(
        Body,
        {
            "full_name": "Nguyễn Văn An",
            "birth_date": "1986-04-12",
            "sex": "M",
            "occupation_group": "worker",
            "relation_to_head": "Chủ hộ",
            "phone": "0905123456",
            "ethnicity": "Kinh",
            "id_number": "062086001234",
            "household_id": 1207,
        },
    )

    full_name: str | None = Field(None, min_length=1, max_length=200, examples=["Nguyễn Văn An"])
    birth_date: date | None = None
    birth_year_only: bool | None = Field(
        None,
        description="Only the year of birth_date is known (stored as 1 January); a birth_date sent without it is "
        "a whole date. False for a person whose year alone is recorded needs the whole birth_date with it",
    )
    sex: Sex | None = None
    occupation_group: OccupationGroup | None = Field(
        None,
        description="Plan 1514's groups: worker (người lao động: farmers, workers and other working people, ADR 12), "
        "official, pupil, other",
    )
    relation_to_head: str | None = Field(None, max_length=40)  # the column's length (the form's): 41 was a 500
    phone: str | None = Field(None, max_length=20, pattern=r"^[0-9+ .]*$", examples=["0905123456"])  # as the form
    ethnicity: str | None = Field(
        None, max_length=60
    )  # the column's, the form's and the import's: 51 to 60 were refused
    id_number: str | None = Field(None, max_length=20, description="Checked and stored encrypted; never sent back")
    household_id: Id | None = None
    unit_id: Id | None = None

    @field_validator("full_name")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError(_("This field is required."))
        return value

    @field_validator("relation_to_head", "ethnicity")
    @classmethod
    def _none_when_empty(cls, value: str | None) -> str | None:
        return value or None  # "  " (stripped to "") is not known, as the form stores it

    @field_validator("occupation_group")
    @classmethod
    def _not_null(cls, value: OccupationGroup | None) -> OccupationGroup | None:
        # Left out it stays as it is (other on creation); null would clear a column that is never empty (a 500).
        if value is None:
            raise ValueError(_("Choose an occupation group, or leave the field out."))
        return value


class HouseholdOut(Out):
    model_config = with_examples(
        Out,
        HOUSEHOLD_EXAMPLE,
    )

    id: int
    code: str
    village_id: int
    address: str | None


class HouseholdDetail(HouseholdOut):
    model_config = with_examples(
        HouseholdOut,
        {**HOUSEHOLD_EXAMPLE, "members": [PERSON_EXAMPLE]},
    )

    members: list[PersonOut]


class OrganisationOut(Out):
    model_config = with_examples(
        Out,
        {
            "id": 58,
            "code": "KH-23500",
            "name": "Hội Khuyến học xã Đăk Hà",
            "kind": "association",
            "managing_level": "commune",
            "commune_id": 42,
            "address": "Thôn 4, xã Đăk Hà, tỉnh Quảng Ngãi",
        },
    )

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
    model_config = with_examples(
        Out,
        {
            "id": 9,
            "name": "Trung tâm học tập cộng đồng xã Đăk Hà",
            "commune_id": 42,
            "address": "Thôn 4, xã Đăk Hà, tỉnh Quảng Ngãi",
            "established_on": "2008-09-05",
            "board": [
                {"person_id": 3301, "role": "director", "started_on": "2025-07-01", "ended_on": None},
                {"person_id": 3302, "role": "deputy_director", "started_on": "2025-07-01", "ended_on": None},
            ],
        },
    )

    id: int
    name: str
    commune_id: int
    address: str | None
    established_on: date | None
    board: list[BoardMemberOut]


class RegistryImportQuery(Query):
    model_config = with_examples(
        Query,
        {"dry_run": True},
    )

    dry_run: bool = Field(
        False,
        description="false (the default): the file is applied as soon as a worker has checked it, with no preview. "
        "true: the file is checked and nothing is written; the job stops at status `previewed`, its `preview` says "
        "what the file would change, and `POST /api/v1/imports/{job_id}/confirm` with its `preview_digest` applies "
        "exactly that",
    )


class ImportForm(Body):
    model_config = with_examples(
        Body,
        {"kind": "households", "unit_id": 42, "file": "ho-gia-dinh-dak-ha.xlsx"},
    )

    kind: str = Field(description="villages, households, organisations or officers", examples=["households"])
    unit_id: Id = Field(description="The unit the file is about (a unit of your scope)")
    file: File = Field(description="The spreadsheet (.xlsx or .csv)")


class ConfirmIn(Body):
    model_config = with_examples(
        Body,
        {"preview_digest": "9f2c4e1a7b3d5f60c8e2a4b6d8f0e1c3a5b7d9f1e3c5a7b9d1f3e5a7c9b1d3f5"},
    )

    preview_digest: str = Field(max_length=64, description="The digest of the preview you confirm")


class RegistryPreviewCounts(Out):
    created: int = Field(description="Rows the file would add")
    updated: int = Field(description="Stored rows it would change")
    unchanged: int = Field(description="Rows it names that are stored as the file has them")


class RegistryPreviewChange(Out):
    field: str = Field(description="The field that would change (an ID number is said to change, never shown)")
    old: str = Field(description="As stored now, as a page shows it (dates dd/mm/yyyy)")
    new: str = Field(description="As the file has it")


class RegistryPreviewRow(Out):
    row: int | None = Field(description="The file's row (1 is the header)")
    label: str = Field(description="What the row is: a household's number, a person's name…")
    changes: list[RegistryPreviewChange] = Field(
        default_factory=list, description="A changed row's fields, each with its old and new value"
    )


class RegistryImportPreview(Out):
    """What a dry run's file would change, written by the worker that checked it: nothing is written until the
    preview is confirmed."""

    counts: dict[str, RegistryPreviewCounts] = Field(
        description="By entity (`villages`, `households`, `persons`, `organisations`, `members`, `officers`)"
    )
    samples: dict[str, dict[str, list[RegistryPreviewRow]]] = Field(
        description="By entity, then `new`, `changed` and `unchanged`: the first 20 rows of each"
    )
    consequences: list[str] = Field(
        default_factory=list, description="What would follow from the writes (in the uploader's language)"
    )
    warnings: list[str] = Field(
        default_factory=list, description="What to look at before confirming, such as a likely duplicate person"
    )
    ignored_columns: list[str] = Field(default_factory=list, description="Columns of the file no field reads")
    outdated: bool = Field(
        False,
        description="true: a confirmation came after the data changed; this is the new preview, to confirm again",
    )


class ImportOut(Out):
    model_config = with_examples(
        Out,
        {
            "id": 311,
            "kind": "households",
            "filename": "ho-gia-dinh-dak-ha.xlsx",
            "status": "succeeded",
            "progress": 100,
            "total_rows": 412,
            "processed_rows": 412,
            "message": "Số hộ: 120 mới, 3 thay đổi, 0 không đổi; Số người: 289 mới, 0 thay đổi, 0 không đổi",
            "errors": [],
            "summary": {
                "households": {"created": 120, "updated": 3, "unchanged": 0},
                "persons": {"created": 289, "updated": 0, "unchanged": 0},
            },
            "unit_id": 42,
            "dry_run": False,
            "preview": None,
            "preview_digest": None,
        },
        {
            "id": 312,
            "kind": "households",
            "filename": "ho-gia-dinh-dak-ha.xlsx",
            "status": "previewed",
            "progress": 100,
            "total_rows": 2,
            "processed_rows": 2,
            "message": "đã kiểm tra: Số hộ: 0 mới, 1 thay đổi, 0 không đổi; Số người: 1 mới, 0 thay đổi, 1 không đổi; "
            "chưa ghi gì cho đến khi bạn xác nhận",
            "errors": [],
            "summary": {},
            "unit_id": 42,
            "dry_run": True,
            "preview": {
                "counts": {
                    "households": {"created": 0, "updated": 1, "unchanged": 0},
                    "persons": {"created": 1, "updated": 0, "unchanged": 1},
                },
                "samples": {
                    "households": {
                        "new": [],
                        "changed": [
                            {
                                "row": 2,
                                "label": "23500-04-0032",
                                "changes": [{"field": "address", "old": "Thôn 4", "new": "Thôn 4, xã Đăk Hà"}],
                            }
                        ],
                        "unchanged": [],
                    },
                    "persons": {
                        "new": [{"row": 3, "label": "Nguyễn Thị Lan", "changes": []}],
                        "changed": [],
                        "unchanged": [{"row": 2, "label": "Nguyễn Văn An", "changes": []}],
                    },
                },
                "consequences": [],
                "warnings": [],
                "ignored_columns": [],
                "outdated": False,
            },
            "preview_digest": "9f2c4e1a7b3d5f60c8e2a4b6d8f0e1c3a5b7d9f1e3c5a7b9d1f3e5a7c9b1d3f5",
        },
    )

    id: int
    kind: str
    filename: str
    status: str = Field(
        description="pending, running, then succeeded (written) or failed (nothing written); a dry run stops at "
        "previewed (nothing written: confirm its preview to apply it)"
    )
    progress: int = Field(ge=0, le=100)
    total_rows: int
    processed_rows: int
    message: str = Field(
        description="What happened, in the language of the user who uploaded the file (Vietnamese unless they chose "
        "English): a worker writes it, with no request to choose by. Each of `errors` has it in both languages. "
        "A 202 answer (upload, confirmation) starts with what happens next, in the request's language"
    )
    errors: list[dict[str, Any]]
    summary: dict[str, Any]
    unit_id: int
    dry_run: bool = Field(description="true: checked and previewed only, until its preview is confirmed")
    preview: RegistryImportPreview | None = Field(
        description="A dry run's: what the file would change, once a worker has checked it (status previewed)"
    )
    preview_digest: str | None = Field(
        description="What `POST /api/v1/imports/{id}/confirm` names to apply the preview"
    )


class ImportConflict(Problem):
    """A 409: the preview confirmed is no longer the job's (a second tab, a job already applied or previewed again):
    nothing was applied; ``preview`` is the job as it is now (its ``preview_digest`` the one to confirm, if any)."""

    preview: ImportOut | None = None


UnitPage = Page[UnitOut]
PersonPage = Page[PersonOut]
HouseholdPage = Page[HouseholdOut]
OrganisationPage = Page[OrganisationOut]
ClcPage = Page[ClcOut]


# --- corrections (PATCH: the fields sent change, the others stay; null only where it means "none") --------------

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError(_("Leave the field out to keep it; it cannot be null."))
    return value


class HouseholdEdit(Body):
    model_config = with_examples(Body, {"code": "23500-04-0032", "address": "Thôn 4, xã Đăk Hà"})

    code: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | SkipJsonSchema[None]
    ) = Field(None, description="The household's number, unique in its village")
    address: Address | SkipJsonSchema[None] = None

    _present = field_validator("code", "address", mode="before")(_not_null)


class OrganisationEdit(Body):
    model_config = with_examples(
        Body, {"name": "Trường Tiểu học Đăk Hà", "kind": "school", "managing_level": "commune"}
    )

    name: Name | SkipJsonSchema[None] = None
    kind: OrganisationKind | SkipJsonSchema[None] = None
    managing_level: ManagingLevel | SkipJsonSchema[None] = None
    address: Address | SkipJsonSchema[None] = None

    _present = field_validator("name", "kind", "managing_level", "address", mode="before")(_not_null)


class ClcEdit(Body):
    model_config = with_examples(Body, {"address": "Nhà văn hóa thôn 4, xã Đăk Hà", "established_on": "2008-09-05"})

    name: Name | SkipJsonSchema[None] = None
    address: Address | SkipJsonSchema[None] = None
    established_on: date | None = Field(None, description="null: not known")

    _present = field_validator("name", "address", mode="before")(_not_null)
