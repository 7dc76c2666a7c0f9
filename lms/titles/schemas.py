"""The shapes of /api/v1/titles: eligibility, assessments, registrations, recognitions, the public certificate check
and evaluation runs — what a client sends and what it gets back (ADR 35)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    computed_field,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails
from werkzeug.datastructures import FileStorage

from lms.api.schema import Body, Id, Out, Page, PageQuery, Problem, Query, Upload, UtcDatetime, in_scope, with_examples
from lms.auth.permissions import Permission
from lms.registry.models import AdminUnit
from lms.titles.models import AssessmentSource, RecognitionStatus, RunStatus, SubjectType, Title

MAX_ITEMS = 5000  # recognition.MAX_ITEMS: one commune's households fit; a province does not belong in one request
INDICATOR = r"^[A-Za-z0-9_.-]{1,40}$"  # services.INDICATOR_CODE
TitleYear = Annotated[int, Field(ge=2000, le=2100, examples=[2026], description="The year of the title, 2000 to 2100")]


ELIGIBILITY_EXAMPLE: dict[str, Any] = {
    "id": 90412,
    "subject_type": "person",
    "subject_id": 5120,
    "subject_name": "Nguyễn Văn An",
    "title": "citizen",
    "year": 2026,
    "commune_id": 42,
    "village_id": 57,
    "criteria_set_id": 1,
    "eligible": True,
    "applicable": True,
    "score": 86.0,
    "level": None,
    "missing": [],
    "computed_at": "2026-03-11T01:05:00Z",
}
RECOGNITION_EXAMPLE: dict[str, Any] = {
    "id": 771,
    "subject_type": "household",
    "subject_id": 1207,
    "subject_name": "Hộ Nguyễn Văn An",
    "title": "family",
    "year": 2025,
    "level": None,
    "status": "recognised",
    "commune_id": 42,
    "village_id": 57,
    "score": None,
    "criteria_set_id": 2,
    "decision_number": "20/QĐ-UBND",
    "decision_date": "2025-12-22",
    "authority": "Chủ tịch UBND xã Đăk Hà",
    "valid_until": "2025-12-31",
    "certificate_code": "K7QX-2M9D-PA3T",
    "reason": None,
    "proposed_at": "2025-12-01T03:20:00Z",
    "revoked_at": None,
}
RUN_EXAMPLE: dict[str, Any] = {
    "id": 58,
    "unit_id": 42,
    "year": 2026,
    "kind": "full",
    "status": "done",
    "total": 1,
    "done": 1,
    "failed": 0,
    "summary": {
        "communes": 1,
        "evaluated": 1,
        "unchanged": 0,
        "failed": 0,
        "failed_subjects": 0,
        "changed": 302,
        "drift": 0,
        "titles": {
            "citizen": {"subjects": 9120, "eligible": 6034, "changed": 214},
            "family": {"subjects": 3214, "eligible": 2571, "changed": 88},
        },
    },
    "message": "",
    "created_at": "2026-03-11T01:00:00Z",
    "started_at": "2026-03-11T01:00:02Z",
    "finished_at": "2026-03-11T01:04:37Z",
    "progress": 100,
}


class TitlesBody(Body):
    """A body of the titles API. Unknown fields are reported alone, before anything else (as this API always did):
    a misspelt name is the first thing to fix, and the other complaints may be its consequence."""

    @model_validator(mode="wrap")
    @classmethod
    def _unknown_first(cls, data: Any, handler: Any) -> Any:
        try:
            return handler(data)
        except ValidationError as exc:
            errors = exc.errors()
            unknown = [e for e in errors if e["type"] == "extra_forbidden"]
            if not unknown or len(unknown) == len(errors):
                raise
            details = [InitErrorDetails(type="extra_forbidden", loc=e["loc"], input=e["input"]) for e in unknown]
            raise ValidationError.from_exception_data(exc.title, details) from None


class TitlesQuery(Query):
    """A query of the titles API: an empty parameter (``?title=``) means no filter, as the pages send it."""

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if v not in ("", [""])}
        return data


class TitlesPageQuery(TitlesQuery, PageQuery):
    pass


# --- eligibility ---------------------------------------------------------------------------------------------


class EligibilityQuery(TitlesPageQuery):
    model_config = with_examples(
        Query,
        {
            "title": "citizen",
            "year": 2026,
            "status": "not_eligible",
            "missing": "c2",
            "unit_id": 42,
            "sort": "score",
            "page": 1,
        },
    )

    title: Title | None = Field(None, description="Only this title")
    year: int | None = Field(None, ge=1, le=9999, description="Only this year")
    status: Literal["eligible", "not_eligible", "not_applicable"] | None = Field(None, description="Only this result")
    missing: str | None = Field(None, pattern=INDICATOR, description="Only rows that lack this indicator (its code)")
    unit_id: Id | None = Field(None, description="A unit of your scope: a village, a commune or anything above")
    organisation_id: Id | None = Field(None, description="An organisation of your scope and its current members")
    household_id: Id | None = Field(None, description="A household and its members")
    clan_id: Id | None = Field(None, description="A clan and its households")
    sort: Literal["name", "score", "computed"] = Field("name", description="Order of the list")


class EligibilityOut(Out):
    model_config = with_examples(
        Out,
        ELIGIBILITY_EXAMPLE,
    )

    id: int
    subject_type: SubjectType
    subject_id: int
    subject_name: str | None = Field(None, description="The subject's name as the registry shows it")
    title: Title
    year: int
    commune_id: int
    village_id: int | None
    criteria_set_id: int
    eligible: bool
    applicable: bool = Field(description="False: the title does not apply to this subject this year")
    score: float | None = Field(description="Points (points-style criteria)")
    level: int | None = Field(description="The highest level reached (levels-style criteria; 0: none)")
    missing: list[str] = Field(description="Codes of the indicators the subject lacks", examples=[["C_2"]])
    computed_at: UtcDatetime

    @field_validator("missing", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        return [code for code in value.split("|") if code] if isinstance(value, str) else value


class EligibilityCounts(Out):
    eligible: int
    not_eligible: int
    not_applicable: int


class EligibilityPage(Page[EligibilityOut]):
    model_config = with_examples(
        Page[EligibilityOut],
        {
            "items": [ELIGIBILITY_EXAMPLE],
            "page": 1,
            "per_page": 50,
            "total": 1,
            "counts": {"eligible": 1, "not_eligible": 0, "not_applicable": 0},
        },
    )

    counts: EligibilityCounts = Field(description="Rows per result under the same filters (whatever the status)")


class CriteriaSetRef(Out):
    id: int
    code: str = Field(examples=["qd-324-2023-citizen"])
    version: int
    name: str
    status: str = Field(examples=["provisional"])
    source: str = Field(description="The legal text")


class ExplanationOut(Out):
    """One indicator of the breakdown as the engine wrote it (more keys may come), with words in the request's
    language."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True, validate_by_alias=True, extra="allow")

    indicator: str = Field(examples=["C_2"])
    name: str = Field(description="The indicator's name", examples=["Tự học"])
    kind: str
    satisfied: bool
    source_text: str = Field(description="Where the value comes from, in words")
    missing_text: str = Field(description="What is missing, in words (empty if nothing)")
    assessment_id: int | None = Field(description="The subject's assessment of this indicator, if any")


class EligibilityDetail(EligibilityOut):
    model_config = with_examples(
        EligibilityOut,
        {
            **ELIGIBILITY_EXAMPLE,
            "criteria_set": {
                "id": 1,
                "code": "qd-324-2023-citizen",
                "version": 1,
                "name": "Công dân học tập",
                "status": "provisional",
                "source": "Quyết định 324/QĐ-KHVN ngày 25/10/2023 của Trung ương Hội Khuyến học Việt Nam",
            },
            "explanation": [
                {
                    "indicator": "c1",
                    "name": "Tham gia các hoạt động học tập trong năm",
                    "kind": "metric",
                    "satisfied": True,
                    "source_text": "4 hoạt động học tập ghi nhận trong năm: 10 điểm",
                    "missing_text": "",
                    "assessment_id": None,
                },
                {
                    "indicator": "c2",
                    "name": "Thời gian học tập trong năm",
                    "kind": "metric",
                    "satisfied": True,
                    "source_text": "Đánh giá của cán bộ: 18 giờ học, 8 điểm",
                    "missing_text": "",
                    "assessment_id": 884,
                },
            ],
            "members": None,
            "projected_level": None,
        },
    )

    criteria_set: CriteriaSetRef
    explanation: list[ExplanationOut]
    members: dict[str, Any] | None = Field(
        description="Query arguments of the list of rows a group's result is made of; null for a person",
        examples=[{"household_id": 42, "title": "citizen", "year": 2026}],
    )
    projected_level: int | None = Field(
        None,
        description="A projection, not the result: the level a unit's or a commune's result would reach were this "
        "year's eligible Learning Citizens recognised by the association too (the result counts only those recognised "
        "for the year, ADR 51); null where the result carries no projection",
        examples=[2],
    )


# --- assessments ---------------------------------------------------------------------------------------------


def _number_or_word(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str) or len(str(value)) > 40:
        raise ValueError(_("A number, or for a met/not-met indicator a word such as “đạt”."))
    return value


#: An assessed value: a number, or a word for met/not-met indicators (the services read it as the indicator says).
Value = Annotated[
    Any,
    BeforeValidator(_number_or_word),
    WithJsonSchema({"oneOf": [{"type": "number"}, {"type": "string", "maxLength": 40}]}),
]


class AssessmentQuery(TitlesPageQuery):
    model_config = with_examples(
        Query,
        {"subject_type": "person", "subject_id": 5120, "year": 2026, "indicator": "c2", "unverified": True, "page": 1},
    )

    subject_type: SubjectType | None = None
    subject_id: Id | None = None
    year: int | None = Field(None, ge=1, le=9999)
    indicator: str | None = Field(None, pattern=INDICATOR)
    unverified: bool = Field(False, description="true: only self-assessments not verified yet")


class AssessmentIn(TitlesBody):
    model_config = with_examples(
        Body,
        {
            "subject_type": "person",
            "subject_id": 5120,
            "year": 2026,
            "indicator": "c2",
            "value": 18,
            "source": "self",
            "evidence_ref": "Phiếu tự đánh giá",
            "note": "Học lớp Tin học cơ bản tại Trung tâm học tập cộng đồng xã",
        },
    )

    subject_type: SubjectType = Field(examples=["person"])
    subject_id: Id
    year: int = Field(ge=1, le=9999, examples=[2026])
    indicator: str = Field(min_length=1, max_length=40, examples=["C_2"])
    value: Value = Field(description="A number, or for met/not-met indicators also 'đạt'/'yes'", examples=[6])
    source: AssessmentSource = Field(AssessmentSource.EVALUATOR, description="self: counts once verified")
    evidence_ref: str | None = Field(None, max_length=300, examples=["Phiếu tự đánh giá"])
    note: str | None = Field(None, max_length=2000)


class AssessmentPatch(TitlesBody):
    model_config = with_examples(
        Body,
        {"value": 20, "source": "evaluator", "note": "Đã đối chiếu sổ điểm danh", "remove_evidence": False},
    )

    value: Value | None = None
    source: AssessmentSource | None = None
    evidence_ref: str | None = Field(None, max_length=300)
    note: str | None = Field(None, max_length=2000)
    remove_evidence: bool = Field(False, description="true: detach the evidence file")


class AssessmentOut(Out):
    model_config = with_examples(
        Out,
        {
            "id": 884,
            "subject_type": "person",
            "subject_id": 5120,
            "year": 2026,
            "indicator": "c2",
            "value": 18.0,
            "source": "self",
            "counts": True,
            "verified_at": "2026-03-10T02:40:00Z",
            "verified_by_id": 12,
            "has_evidence": True,
            "evidence_file": True,
            "evidence_ref": "Phiếu tự đánh giá",
            "note": "Học lớp Tin học cơ bản tại Trung tâm học tập cộng đồng xã",
            "commune_id": 42,
            "assessed_by_id": 31,
            "assessed_at": "2026-03-04T08:15:00Z",
        },
    )

    id: int
    subject_type: SubjectType
    subject_id: int
    year: int
    indicator: str
    value: float
    source: AssessmentSource
    counts: bool = Field(description="Whether the evaluation uses the value (evaluator's, or verified)")
    verified_at: UtcDatetime | None
    verified_by_id: int | None
    has_evidence: bool
    evidence_file: bool = Field(validation_alias="evidence_file_id", description="Whether a file is attached")
    evidence_ref: str
    note: str
    commune_id: int
    assessed_by_id: int | None
    assessed_at: UtcDatetime

    @field_validator("evidence_file", mode="before")
    @classmethod
    def _attached(cls, value: Any) -> Any:
        return value if isinstance(value, bool) else value is not None


AssessmentPage = Page[AssessmentOut]


#: An uploaded file, typed as what the view receives (``Upload`` validates it and documents it as binary).
File = Annotated[FileStorage, Upload]


class EvidenceForm(Body):
    model_config = with_examples(
        Body,
        {"file": "phieu-tu-danh-gia.pdf"},
    )

    file: File = Field(description="The evidence: a PDF, JPEG or PNG")


# --- registrations and recognitions ----------------------------------------------------------------------------


class RegistrationQuery(TitlesPageQuery):
    model_config = with_examples(
        Query,
        {"unit_id": 42, "year": 2026, "title": "family", "page": 1},
    )

    unit_id: Id | None = Field(None, description="A unit of your scope")
    year: int | None = Field(None, ge=1, le=9999)
    title: Title | None = None


class RegistrationOut(Out):
    model_config = with_examples(
        Out,
        {
            "id": 2301,
            "subject_type": "household",
            "subject_id": 1207,
            "subject_name": "Hộ Nguyễn Văn An",
            "title": "family",
            "year": 2026,
            "commune_id": 42,
            "registered_on": "2026-01-15",
        },
    )

    id: int
    subject_type: SubjectType
    subject_id: int
    subject_name: str | None = None
    title: Title
    year: int
    commune_id: int
    registered_on: date


RegistrationPage = Page[RegistrationOut]


class RegistrationIn(TitlesBody):
    model_config = with_examples(
        Body,
        {"title": "family", "year": 2026, "subject_ids": [1207, 1208, 1215]},
    )

    title: Title
    year: TitleYear
    subject_id: Id | None = Field(None, description="One subject (or give subject_ids)")
    subject_ids: list[Id] | None = Field(None, min_length=1, max_length=MAX_ITEMS, description="Many subjects")


class RegistrationResult(Out):
    model_config = with_examples(
        Out,
        {"title": "family", "year": 2026, "created": [1207, 1208], "already": [1215]},
    )

    title: Title
    year: int
    created: list[int] = Field(description="Subjects newly registered")
    already: list[int] = Field(description="Subjects registered before (unchanged)")


class RegistrationImportForm(Body):
    model_config = with_examples(
        Body,
        {"file": "dang-ky-gia-dinh-hoc-tap-2026.xlsx", "commune_id": 42, "title": "family", "year": 2026},
    )

    file: File = Field(description="The list (.xlsx or .csv; the columns depend on the title, see the README)")
    commune_id: Id = Field(description="The commune every listed subject belongs to (a commune of your scope)")
    title: Title
    year: TitleYear

    @field_validator("commune_id")
    @classmethod
    def _commune_in_scope(cls, commune_id: int) -> int:
        from lms.registry.models import UnitLevel

        commune = in_scope(AdminUnit, commune_id, Permission.TITLES_ASSESS)
        if commune is None or commune.level != UnitLevel.COMMUNE:
            raise ValueError(_("A commune in your scope (its id)."))
        return commune_id


class ImportQuery(TitlesQuery):
    model_config = with_examples(
        Query,
        {"dry_run": True},
    )

    dry_run: bool = Field(False, description="true: check and preview the file, write nothing")


class ImportPreview(RegistrationResult):
    model_config = with_examples(
        RegistrationResult,
        {
            "title": "family",
            "year": 2026,
            "created": [1207, 1208],
            "already": [1215],
            "dry_run": True,
            "preview": {
                "counts": {"registrations": {"created": 2, "updated": 0, "unchanged": 1}},
                "samples": {
                    "registrations": {
                        "new": [
                            {"row": 2, "label": "Hộ Nguyễn Văn An", "changes": []},
                            {"row": 3, "label": "Hộ Trần Thị Bình", "changes": []},
                        ],
                        "changed": [],
                        "unchanged": [{"row": 4, "label": "Hộ Lê Văn Cường", "changes": []}],
                    }
                },
                "consequences": ["Xã Đăk Hà, 2026: các danh hiệu được đánh giá lại với 2 đăng ký mới"],
            },
        },
    )

    dry_run: Literal[True]
    preview: dict[str, Any] = Field(description="What the import would write, by kind and row")


class ImportCellError(Out):
    field: str = Field(examples=["file"])
    row: int | None = None
    column: str | None = None
    message: str


class ImportProblem(Out):
    """A refused spreadsheet: one entry per cell at fault (row and column), or per form field."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[ImportCellError] | None = None


class AssessmentImportForm(Body):
    model_config = with_examples(Body, {"file": "danh-gia-2026.xlsx"})

    file: File = Field(
        description="Assessments (.xlsx or .csv; columns: subject_type, subject_id, year, indicator, value, and "
        "optionally source, evidence_ref, note — or their Vietnamese headers)"
    )


ASSESSMENT_PLAN_EXAMPLE = "eJyrVkrOzytJzSvRUcpMUbJSMjIwslBIzMsvySxJVbJSKsvPSS1KTQEAnqoLJA.Z3d8Kg.q1w2e3r4t5y6u7i8o9p0"


class AssessmentImportPreview(Out):
    """What the spreadsheet would write (nothing is written yet), and the token that confirms exactly this."""

    model_config = with_examples(
        Out,
        {
            "created": 12,
            "updated": 1,
            "unchanged": 3,
            "preview": {"counts": {"assessments": {"created": 12, "updated": 1, "unchanged": 3}}},
            "preview_token": ASSESSMENT_PLAN_EXAMPLE,
        },
    )

    created: int
    updated: int
    unchanged: int
    preview: dict[str, Any] = Field(
        description="Counts, the first rows of each kind with what changes, and what follows (eligibility evaluated "
        "again, self-assessments whose verification is withdrawn)"
    )
    preview_token: str = Field(description="Send it to …/import/confirm within a day to write exactly this")


class AssessmentImportConfirmIn(TitlesBody):
    model_config = with_examples(Body, {"preview_token": ASSESSMENT_PLAN_EXAMPLE})

    preview_token: str = Field(min_length=1, max_length=4_000_000, description="The preview's `preview_token`")


class AssessmentImportResult(Out):
    model_config = with_examples(Out, {"created": 12, "updated": 1, "unchanged": 3})

    created: int
    updated: int
    unchanged: int


class AssessmentImportConflict(Problem):
    """A 409: the register changed since the preview, nothing was written; ``preview`` is what the file would do now."""

    preview: AssessmentImportPreview | None = None


class RecognitionQuery(TitlesPageQuery):
    model_config = with_examples(
        Query,
        {"unit_id": 42, "year": 2025, "title": "family", "status": "recognised", "page": 1},
    )

    unit_id: Id | None = Field(None, description="A unit of your scope")
    year: int | None = Field(None, ge=1, le=9999)
    title: Title | None = None
    status: RecognitionStatus | None = None


class RecognitionOut(Out):
    model_config = with_examples(
        Out,
        RECOGNITION_EXAMPLE,
    )

    id: int
    subject_type: SubjectType
    subject_id: int
    subject_name: str | None = None
    title: Title
    year: int
    level: int | None
    status: RecognitionStatus
    commune_id: int
    village_id: int | None
    score: float | None
    criteria_set_id: int | None
    decision_number: str | None = Field(examples=["20/QĐ-UBND"])
    decision_date: date | None
    authority: str | None
    valid_until: date | None = Field(description="31 December of the last year the recognition is valid")
    certificate_code: str | None
    reason: str | None = Field(description="Why rejected or revoked")
    proposed_at: UtcDatetime
    revoked_at: UtcDatetime | None

    @field_validator("decision_number", "authority", "reason", mode="before")
    @classmethod
    def _empty_is_null(cls, value: Any) -> Any:
        return value or None


class RecognitionDetail(RecognitionOut):
    model_config = with_examples(
        RecognitionOut,
        {
            **RECOGNITION_EXAMPLE,
            "breakdown": [
                {
                    "indicator": "a1",
                    "value": 1,
                    "points": 10,
                    "max": 10,
                    "source": {"kind": "assessment", "id": 880, "by": "evaluator", "evidence": True},
                    "missing": None,
                },
                {
                    "indicator": "a2",
                    "value": 1,
                    "points": 10,
                    "max": 10,
                    "source": {"kind": "assessment", "id": 881, "by": "evaluator", "evidence": False},
                    "missing": None,
                },
            ],
        },
    )

    breakdown: list[dict[str, Any]] = Field(description="The indicators as evaluated when proposed")


RecognitionPage = Page[RecognitionOut]


class RecognitionList(Out):
    model_config = with_examples(
        Out,
        {"items": [RECOGNITION_EXAMPLE]},
    )

    items: list[RecognitionOut]


class ProposableQuery(TitlesPageQuery):
    model_config = with_examples(
        Query,
        {"commune_id": 42, "year": 2026, "title": "citizen", "village_id": 57, "page": 1},
    )

    commune_id: Id = Field(description="A commune of your scope")
    year: int = Field(ge=1, le=9999, examples=[2026])
    title: Title
    village_id: Id | None = Field(None, description="Only this village")


class ProposableOut(Out):
    model_config = with_examples(
        Out,
        {
            "subject_type": "person",
            "subject_id": 5120,
            "subject_name": "Nguyễn Văn An",
            "village_id": 57,
            "score": 86.0,
            "level": None,
        },
    )

    subject_type: SubjectType
    subject_id: int
    subject_name: str | None = None
    village_id: int | None
    score: float | None
    level: int | None


ProposablePage = Page[ProposableOut]


class ProposeIn(TitlesBody):
    model_config = with_examples(
        Body,
        {"title": "citizen", "year": 2026, "subject_ids": [5120, 5121, 5133]},
    )

    title: Title
    year: TitleYear
    subject_ids: list[Id] = Field(min_length=1, max_length=MAX_ITEMS)
    preview_digest: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="The `preview_digest` of the `dry_run=true` answer you confirm: proposed only if the evaluations "
        "it copies are still those (else a 409 with the new preview). Optional: without it, proposed as they are",
    )


class ProposeQuery(TitlesQuery):
    model_config = with_examples(Query, {"dry_run": True})

    dry_run: bool = Field(
        False, description="true: check the proposal and list the evaluations it would copy, write nothing"
    )


class ProposalItem(Out):
    """A subject a proposal would put forward, with the evaluation it would copy."""

    subject_type: SubjectType
    subject_id: int
    subject_name: str | None = None
    score: float | None = Field(description="The evaluation's score (scored titles)")
    level: int | None = Field(description="The evaluation's level (titles by level)")


class ProposalPreview(Out):
    """After ``dry_run=true``: the subjects the proposal would put forward with the evaluations it would copy (nothing
    written), and the ``preview_digest`` that proposes exactly that."""

    model_config = with_examples(
        Out,
        {
            "items": [
                {
                    "subject_type": "person",
                    "subject_id": 5120,
                    "subject_name": "Nguyễn Văn An",
                    "score": 86.0,
                    "level": None,
                }
            ],
            "dry_run": True,
            "preview_digest": "9f2c4a0d6b1e8f3a7c5d2e9b0a4f6c81",
        },
    )

    items: list[ProposalItem]
    dry_run: bool = Field(True, description="True: a preview, nothing was written")
    preview_digest: str = Field(description="Send it back with the same body to propose exactly this")


class ProposalProblem(Problem):
    """A 409: proposed or decided by someone else meanwhile, or the evaluations changed since the preview (the titles
    engine ran again; ``preview``: the new one)."""

    preview: ProposalPreview | None = None


class DecisionOut(RecognitionList):
    """The recognitions a decision recorded — or, after ``dry_run=true``, the proposals it would recognise (nothing
    written) and the ``preview_digest`` that confirms exactly that."""

    model_config = with_examples(
        RecognitionList,
        {"items": [RECOGNITION_EXAMPLE], "dry_run": False, "preview_digest": None},
    )

    dry_run: bool = Field(False, description="True: a preview, nothing was written")
    preview_digest: str | None = Field(None, description="After a dry run: send it back to record exactly this")


class DecisionProblem(Problem):
    """A 409: decided by someone else meanwhile, or no longer what the preview showed (``preview``: the new one)."""

    preview: DecisionOut | None = None


class DecideQuery(TitlesQuery):
    model_config = with_examples(Query, {"dry_run": True})

    dry_run: bool = Field(False, description="true: check the decision and list what it would recognise, write nothing")


class DecideIn(TitlesBody):
    model_config = with_examples(
        Body,
        {
            "recognition_ids": [771, 772],
            "decision_number": "20/QĐ-UBND",
            "decision_date": "2025-12-22",
            "authority": "Chủ tịch UBND xã Đăk Hà",
        },
    )

    recognition_ids: list[Id] = Field(min_length=1, max_length=MAX_ITEMS)
    decision_number: str = Field(min_length=1, max_length=60, pattern=r"\S", examples=["20/QĐ-UBND"])
    decision_date: date
    authority: str | None = Field(None, max_length=200, description="Who decided; default the commune's chairman")
    preview_digest: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="The `preview_digest` of the `dry_run=true` answer you confirm: recorded only if the decision "
        "still records exactly that (else a 409 with the new preview). Optional: without it, recorded as sent",
    )


class ReasonIn(TitlesBody):
    model_config = with_examples(
        Body,
        {"reason": "Thiếu minh chứng"},
    )

    reason: str | None = Field(None, max_length=2000, description="Required: why", examples=["Thiếu minh chứng"])


CORRECTION_DIGEST = "8e41b07c2d9f4a65b3c1e0d7f2a9b486"


class CorrectionQuery(TitlesQuery):
    model_config = with_examples(Query, {"dry_run": True})

    dry_run: bool = Field(False, description="true: check the correction and say what it changes, write nothing")


class DecisionCorrectionIn(TitlesBody):
    model_config = with_examples(
        Body,
        {"decision_number": "21/QĐ-UBND", "decision_date": "2025-12-22", "reason": "Gõ nhầm số quyết định"},
        {
            "decision_number": "21/QĐ-UBND",
            "decision_date": "2025-12-22",
            "reason": "Gõ nhầm số quyết định",
            "preview_digest": CORRECTION_DIGEST,
        },
    )

    decision_number: str = Field(min_length=1, max_length=60, pattern=r"\S", examples=["21/QĐ-UBND"])
    decision_date: date
    reason: str = Field(min_length=1, max_length=2000, description="Why the decision is corrected (audited)")
    preview_digest: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="Required to apply: the `preview_digest` of the `dry_run=true` answer you confirm",
    )


class DecisionCorrectionOut(Out):
    """A decision's correction: the change and every recognition the decision gave (revoked ones included)."""

    model_config = with_examples(
        Out,
        {
            "recognition_id": 771,
            "old_number": "12/QĐ-UBND",
            "old_date": "2025-12-22",
            "decision_number": "21/QĐ-UBND",
            "decision_date": "2025-12-22",
            "recognition_ids": [771, 772, 775],
            "dry_run": True,
            "preview_digest": CORRECTION_DIGEST,
        },
    )

    recognition_id: int
    old_number: str
    old_date: date
    decision_number: str = Field(description="As it will be (or now is) written")
    decision_date: date
    recognition_ids: list[int] = Field(description="Every recognition the decision gave, all corrected together")
    dry_run: bool = Field(description="True: a preview, nothing was written")
    preview_digest: str = Field(description="Send it back as `preview_digest` to apply exactly this")


class CorrectionProblem(Problem):
    """A 409: the correction no longer changes what the preview showed (``preview`` is what it would do now), or the
    decision was corrected by someone else meanwhile."""

    preview: DecisionCorrectionOut | None = None


class CertificateCheck(Out):
    """What anyone holding a certificate's code may see: never an ID number, a birth date or a full name."""

    model_config = with_examples(
        Out,
        {
            "code": "K7QX-2M9D-PA3T",
            "title": "family",
            "title_name": "Gia đình học tập",
            "year": 2025,
            "level": None,
            "status": "valid",
            "valid": True,
            "valid_until": None,
            "decision_number": "20/QĐ-UBND",
            "authority": "Chủ tịch UBND xã Đăk Hà",
            "decision_date": "2025-12-22",
            "revoked_on": None,
            "holder": "Hộ N. V. An",
            "commune": "Xã Đăk Hà",
        },
    )

    code: str = Field(examples=["K7QX-2M9D-PA3T"])
    title: Title
    title_name: str = Field(examples=["Gia đình học tập"])
    year: int
    level: int | None
    status: Literal["valid", "expired", "revoked"]
    valid: bool
    valid_until: date | None = Field(
        description="The last day the certificate holds: the end of a kept title (31 December, three years after "
        "the year recognised); none for a one-year title, which records the year it was earned and does not expire"
    )
    decision_number: str
    authority: str
    decision_date: date | None
    revoked_on: date | None
    holder: str = Field(description="Family and middle names as initials", examples=["Hộ T. V. Hộ"])
    commune: str


# --- evaluation runs -------------------------------------------------------------------------------------------


def _unit_in_scope(unit_id: int | None, permission: Permission) -> int | None:
    if unit_id is not None and in_scope(AdminUnit, unit_id, permission) is None:
        raise ValueError(_("No such unit in your scope: give the id of a unit where you may do this."))
    return unit_id


class RunQuery(TitlesPageQuery):
    model_config = with_examples(
        Query,
        {"unit_id": 42, "year": 2026, "status": "done", "page": 1},
    )

    unit_id: Id | None = Field(None, description="Runs of this unit of your scope and of the units under it")
    year: int | None = Field(None, ge=1, le=9999)
    status: RunStatus | None = None

    @field_validator("unit_id")
    @classmethod
    def _in_scope(cls, unit_id: int | None) -> int | None:
        return _unit_in_scope(unit_id, Permission.TITLES_VIEW)


class RunIn(TitlesBody):
    model_config = with_examples(
        Body,
        {"unit_id": 42, "year": 2026},
    )

    unit_id: Id = Field(description="A commune, province or the country where you hold titles.admin")
    year: TitleYear

    @field_validator("unit_id")
    @classmethod
    def _in_scope(cls, unit_id: int) -> int:
        _unit_in_scope(unit_id, Permission.TITLES_ADMIN)
        return unit_id


class RunOut(Out):
    model_config = with_examples(
        Out,
        RUN_EXAMPLE,
    )

    id: int
    unit_id: int
    year: int
    kind: Literal["full", "reconcile"]
    status: RunStatus
    total: int = Field(description="Communes to evaluate")
    done: int
    failed: int
    summary: dict[str, Any] = Field(
        description="Once done: the communes evaluated, those left unchanged since their last evaluation (ADR 41), "
        "those failed, the eligibility rows changed, the drift found, and per title the subjects, the eligible and "
        "the rows changed"
    )
    message: str
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None

    @computed_field(description="Percent of the communes finished (100 once the run is finished)")
    def progress(self) -> int:
        if self.status in (RunStatus.DONE, RunStatus.FAILED):
            return 100
        return 100 * (self.done + self.failed) // self.total if self.total else 0

    @field_validator("summary", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return value if value is not None else {}


class RunFailure(Out):
    commune_id: int
    message: str


class RunDetail(RunOut):
    model_config = with_examples(
        RunOut,
        {**RUN_EXAMPLE, "failures": []},
    )

    failures: list[RunFailure] = Field(default_factory=list, description="Communes that failed (at most 200)")


RunPage = Page[RunOut]


PRINT_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "recognition_id": 1204,
    "decision_number": "12/QĐ-UBND",
    "decision_date": "2027-01-15",
    "status": "running",
    "total": 100,
    "done": 45,
    "progress": 45,
    "message": "",
    "size": 0,
    "download_url": None,
    "created_at": "2027-01-16T02:10:00Z",
    "started_at": "2027-01-16T02:10:01Z",
    "finished_at": None,
}


class DecisionPrintOut(Out):
    """A decision's list and certificates being drawn into one PDF (ADR 47)."""

    model_config = with_examples(Out, PRINT_EXAMPLE)

    id: int
    recognition_id: int = Field(description="The recognition the print was asked from (its decision's first)")
    decision_number: str
    decision_date: date
    status: RunStatus
    total: int = Field(description="Certificates to draw")
    done: int = Field(description="Certificates drawn so far")
    message: str = Field(description="Why it failed, in the requester's language")
    size: int = Field(description="Bytes of the PDF; 0 until done, and once a newer print replaced it")
    download_url: str | None = Field(default=None, description="The PDF, once done and not replaced")
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None

    @computed_field(description="Percent of the certificates drawn (100 once done)")
    def progress(self) -> int:
        if self.status == RunStatus.DONE:
            return 100
        return 100 * self.done // self.total if self.total else 0
