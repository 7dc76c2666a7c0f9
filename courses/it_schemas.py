"""The shapes of the IT-skills API (/api/v1/it/…; ADR 35)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from flask import url_for
from pydantic import AliasPath, Field, computed_field, field_validator

from courses.models import ItCertificateStatus
from courses.schemas import CLASS_EXAMPLE, ClassOut
from lms.api.schema import Body, File, Id, Out, Page, PageQuery, Query, UtcDatetime, with_examples

BASIC_MODULES = ["IU01", "IU02", "IU03", "IU04", "IU05", "IU06"]


class ModuleOut(Out):
    model_config = with_examples(
        Out,
        {"code": "IU01", "level": "basic", "name_vi": "Hiểu biết về CNTT cơ bản", "name_en": "Understanding basic IT"},
    )

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
    model_config = with_examples(
        Out,
        {
            "source": "Thông tư 03/2014/TT-BTTTT, Điều 2 (hiệu lực từ 28/04/2014)",
            "modules": [
                {
                    "code": "IU01",
                    "level": "basic",
                    "name_vi": "Hiểu biết về CNTT cơ bản",
                    "name_en": "Understanding basic IT",
                },
                {"code": "IU02", "level": "basic", "name_vi": "Sử dụng máy tính cơ bản", "name_en": "Using a computer"},
                {
                    "code": "IU03",
                    "level": "basic",
                    "name_vi": "Xử lý văn bản cơ bản",
                    "name_en": "Basic word processing",
                },
                {
                    "code": "IU04",
                    "level": "basic",
                    "name_vi": "Sử dụng bảng tính cơ bản",
                    "name_en": "Basic spreadsheets",
                },
                {
                    "code": "IU05",
                    "level": "basic",
                    "name_vi": "Sử dụng trình chiếu cơ bản",
                    "name_en": "Basic presentations",
                },
                {
                    "code": "IU06",
                    "level": "basic",
                    "name_vi": "Sử dụng Internet cơ bản",
                    "name_en": "Using the Internet",
                },
                {
                    "code": "IU07",
                    "level": "advanced",
                    "name_vi": "Xử lý văn bản nâng cao",
                    "name_en": "Advanced word processing",
                },
            ],
            "standards": [
                {
                    "code": "basic",
                    "name_vi": "Chuẩn kỹ năng sử dụng CNTT cơ bản",
                    "name_en": "Basic IT-skills standard",
                    "requires_all": BASIC_MODULES,
                    "requires_standards": [],
                    "choose_from": [],
                    "at_least": 0,
                },
                {
                    "code": "advanced",
                    "name_vi": "Chuẩn kỹ năng sử dụng CNTT nâng cao",
                    "name_en": "Advanced IT-skills standard",
                    "requires_all": [],
                    "requires_standards": ["basic"],
                    "choose_from": ["IU07", "IU08", "IU09", "IU10", "IU11", "IU12", "IU13", "IU14", "IU15"],
                    "at_least": 3,
                },
            ],
            "certificate_grants": BASIC_MODULES,
            "trained_in_it": {"standard": "basic", "modules": BASIC_MODULES},
        },
    )

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
    model_config = with_examples(
        Out,
        {
            "person_id": 5120,
            "full_name": "Nguyễn Văn An",
            "modules": [
                {"code": "IU01", "level": "basic", "done_on": "2026-05-29", "sources": ["class:12"], "done": True},
                {"code": "IU02", "level": "basic", "done_on": "2026-05-29", "sources": ["class:12"], "done": True},
                {"code": "IU03", "level": "basic", "done_on": None, "sources": [], "done": False},
            ],
            "standards": {"basic": False, "advanced": False},
            "certified": {"basic": False, "advanced": False},
            "trained_in_it": False,
            "missing_basic": ["IU03", "IU04", "IU05", "IU06"],
        },
    )

    person_id: int
    full_name: str
    modules: list[ModuleLineOut]
    standards: dict[str, bool] = Field(
        description="Each standard whose modules are all done, by a class or a national certificate: trained in it"
    )
    certified: dict[str, bool] = Field(
        description="Each standard attested by verified national certificates alone: only an accredited test centre's "
        "certificate attests a standard (Joint Circular 17/2016, Art. 16-17); a class's certificate of completion "
        "attests training"
    )
    trained_in_it: bool = Field(validation_alias="trained")
    missing_basic: list[str]

    @field_validator("missing_basic", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        return [getattr(m, "code", m) for m in value]


class CertificateQuery(PageQuery):
    model_config = with_examples(
        Query,
        {"status": "pending", "person_id": 5120, "page": 1, "per_page": 50},
    )

    status: ItCertificateStatus | None = None
    person_id: Id | None = None


class CertificateForm(Body):
    model_config = with_examples(
        Body,
        {
            "number": "IT-CB-2025-004417",
            "issuer": "Trung tâm Ngoại ngữ – Tin học, Trường Đại học Đà Nẵng – Phân hiệu Kon Tum",
            "issued_on": "2025-11-15",
            "person_id": 5120,
            "file": "chung-chi-ung-dung-cntt-co-ban.pdf",
        },
    )

    number: str = Field(min_length=1, max_length=60)
    issuer: str = Field(min_length=1, max_length=300, description="The accredited test centre")
    issued_on: date
    modules: str = Field(
        "",
        max_length=200,
        description="An advanced certificate (Joint Circular 17/2016, Art. 16.2): its advanced modules, at least 3 "
        "of IU07–IU15, separated by commas or spaces; empty for a basic certificate (Art. 16.1)",
        examples=["IU07, IU08, IU10"],
    )
    person_id: Id | None = Field(None, description="Default: the caller's own person")
    file: File | None = Field(None, description="The scan of the certificate (PDF or image)")


class RejectIn(Body):
    model_config = with_examples(
        Body,
        {"reason": "Ảnh chụp chứng chỉ bị mờ, không đọc được số hiệu"},
    )

    reason: str = Field(min_length=1, max_length=300)


class EmptyBody(Body):
    """No fields."""

    model_config = with_examples(
        Body,
        {},
    )


class ItCertificateOut(Out):
    model_config = with_examples(
        Out,
        {
            "id": 3,
            "person_id": 5120,
            "number": "IT-CB-2025-004417",
            "issuer": "Trung tâm Ngoại ngữ – Tin học, Trường Đại học Đà Nẵng – Phân hiệu Kon Tum",
            "issued_on": "2025-11-15",
            "modules": [],
            "status": "verified",
            "note": "",
            "recorded_at": "2026-01-08T03:12:00Z",
            "decided_at": "2026-01-09T07:45:00Z",
            "scan_url": "/api/v1/it/certificates/3/scan",
        },
    )

    id: int
    person_id: int
    number: str
    issuer: str
    issued_on: date
    modules: list[str] = Field(description="The advanced modules of an advanced certificate; empty for a basic one")
    status: ItCertificateStatus
    note: str
    recorded_at: UtcDatetime | None
    decided_at: UtcDatetime | None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def scan_url(self) -> str:
        return url_for("api.it_certificate_scan", it_certificate_id=self.id)


ItCertificatePage = Page[ItCertificateOut]


class FiguresQuery(Query):
    model_config = with_examples(
        Query,
        {"unit_id": 42, "from": "2026-01-01", "to": "2026-12-31"},
    )

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
    meets_basic: int = Field(description="Officers trained in the six basic modules, by a class or a certificate")
    certified_basic: int = Field(
        description="Of them, those with a verified national basic certificate (Joint Circular 17/2016, Art. 16.1)"
    )
    trained: int
    organised: int
    organised_and_trained: int
    has_association: bool
    leader_on_board: bool
    members: int
    studied_policy: int
    carried_from: list[str] = Field(
        default_factory=list,
        description="A commune created by the 2025 map change, for time before it existed: the old communes that went "
        "into it, whose figures (share × each, rounded to whole persons) its counts above are, as on the targets "
        "dashboard (ADR 2). Empty: the commune's own figures.",
    )


class FiguresOut(Out):
    model_config = with_examples(
        Out,
        {
            "unit_id": 42,
            "from": "2026-01-01",
            "to": "2026-12-31",
            "trained_in_it": {"standard": "basic", "modules": BASIC_MODULES},
            "officers_organising_and_trained": {
                "numerator": 9,
                "denominator": 14,
                "denominator_is": "commune association officers (chair, vice-chair, officer) active in the period",
            },
            "associations_leader_manages_clc": {
                "numerator": 1,
                "denominator": 1,
                "denominator_is": "communes with association members in the period",
            },
            "policy_study": {
                "numerator": 212,
                "denominator": 265,
                "denominator_is": "association officers and members of the communes' branches",
            },
            "communes": [
                {
                    "commune_id": 42,
                    "name": "Xã Đăk Hà",
                    "officers": 14,
                    "meets_basic": 10,
                    "certified_basic": 3,
                    "trained": 10,
                    "organised": 11,
                    "organised_and_trained": 9,
                    "has_association": True,
                    "leader_on_board": True,
                    "members": 265,
                    "studied_policy": 212,
                    "carried_from": [],
                }
            ],
        },
        serialize_by_alias=True,
    )

    unit_id: int
    from_: date = Field(serialization_alias="from", validation_alias="from")
    to: date
    trained_in_it: TrainedDefinition
    officers_organising_and_trained: Ratio
    associations_leader_manages_clc: Ratio
    policy_study: Ratio
    communes: list[CommuneFigures]


# --- enrolling oneself ---------------------------------------------------------------------------------------


class OpenClasses(Out):
    """IT-skills classes of the caller's commune not yet over, that admit them and that they have not joined."""

    model_config = with_examples(Out, {"items": [CLASS_EXAMPLE]})

    items: list[ClassOut]


class SelfEnrolled(Out):
    model_config = with_examples(Out, {"class_id": 12, "person_id": 3310, "status": "enrolled"})

    class_id: int
    person_id: int
    status: Literal["enrolled", "waitlisted"] = Field(description="waitlisted: the class is full")
