"""The shapes of the class programme's API (/api/v1 courses, classes, sessions, enrolments, attendance,
completions and certificates): what a client sends and what it gets back (ADR 35).

Session times are local wall-clock times in Vietnam: sent with an offset or without one (then taken as local),
returned with ``+07:00``. Device and server times (``recorded_at``, ``enrolled_at``…) are UTC, returned with ``Z``.
Checks that need the database (an id in the caller's scope, a room of the class's centre) run with the other field
checks, so one answer names every field to fix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal

from flask import request
from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    AliasPath,
    AwareDatetime,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

from courses.models import (
    ATTENDANCE_SHARE_PLACES,
    MAX_ATTENDANCE_PERCENT,
    MIN_ATTENDANCE_PERCENT,
    CourseCategory,
    EnrolmentStatus,
    InstructorRole,
    SessionStatus,
    TargetGroup,
)
from lms.api.schema import MAX_ID, Body, File, Id, Out, Page, PageQuery, Problem, Query, UtcDatetime, with_examples
from lms.registry.models import AssociationRole

LOCAL = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")  # no daylight saving
MAX_MARKS = 1000  # a batch is one session; no class is this big
MAX_PEOPLE = 2000

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


CLASS_EXAMPLE: dict[str, Any] = {
    "id": 12,
    "course_id": 7,
    "course_name": "Tin học cơ bản",
    "clc_id": 9,
    "commune_id": 42,
    "name": "Tin học cơ bản — lớp tối thôn 4",
    "room_id": 3,
    "capacity": 30,
    "target_group": "everyone",
    "starts_on": "2026-03-02",
    "ends_on": "2026-05-29",
}
SESSION_EXAMPLE: dict[str, Any] = {
    "id": 401,
    "class_id": 12,
    "starts_at": "2026-03-03T19:00:00+07:00",
    "ends_at": "2026-03-03T21:00:00+07:00",
    "room_id": 3,
    "place": "",
    "status": "scheduled",
    "original_starts_at": None,
    "note": "",
}


# --- times ---------------------------------------------------------------------------------------------------


def _as_local(moment: datetime) -> datetime:
    """A session time as stored: local wall-clock, without a zone (a time without an offset is already local)."""
    try:
        return moment.astimezone(LOCAL).replace(tzinfo=None) if moment.tzinfo else moment
    except OverflowError:  # 31/12/9999 23:00 at −12:00 is in the year 10000 at +07:00 (a 500)
        raise ValueError(_("This date and time is out of range: check its year.")) from None


def _local_out(value: Any) -> Any:
    return value.replace(tzinfo=LOCAL) if isinstance(value, datetime) and value.tzinfo is None else value


LocalIn = Annotated[
    datetime,
    AfterValidator(_as_local),
    Field(
        description="Local time in Vietnam: YYYY-MM-DDTHH:MM, or with an offset (converted to +07:00)",
        examples=["2026-03-03T19:00:00+07:00"],
    ),
]


# --- checks against the database, reported with the other field errors ---------------------------------------


def _user() -> Any:
    from flask_login import current_user

    return current_user


def _manage() -> Any:
    from lms.auth.permissions import Permission

    return Permission.COURSES_MANAGE


def _people_outside(ids: Iterable[Any]) -> set[int]:
    """Of ``ids`` (only well-formed ones are looked up, in one query), those that are not persons the caller may
    manage."""
    from lms.extensions import db
    from lms.registry import services as registry
    from lms.registry.models import Person

    wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID}
    if not wanted:
        return set()
    found = set(
        db.session.scalars(
            registry.scoped_select(Person, _user(), _manage()).with_only_columns(Person.id).where(Person.id.in_(wanted))
        )
    )
    return wanted - found


def _with_errors(
    cls: Any, data: Any, handler: Callable[[Any], Any], extra: Sequence[tuple[tuple[str | int, ...], str]]
) -> Any:
    """Validate ``data``, then add the ``extra`` errors (location, message) to pydantic's own, as one answer."""
    found = [
        InitErrorDetails(type=PydanticCustomError("not_found", message), loc=loc, input=None) for loc, message in extra
    ]
    try:
        result = handler(data)
    except ValidationError as exc:
        if not found:
            raise
        errors = [
            InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"], ctx=e["ctx"])
            if "ctx" in e
            else InitErrorDetails(type=e["type"], loc=e["loc"], input=e["input"])
            for e in exc.errors()
        ]
        raise ValidationError.from_exception_data(exc.title, errors + found) from None
    if found:
        raise ValidationError.from_exception_data(cls.__name__, found)
    return result


def _path_room(room_id: int | None, clc_id: int | None) -> int | None:
    from sqlalchemy import select

    from courses.models import Room
    from lms.extensions import db

    if room_id is None or clc_id is None:
        return room_id
    if db.session.scalar(select(Room.id).where(Room.id == room_id, Room.clc_id == clc_id)) is None:
        raise ValueError(_("No such room at the class's centre."))
    return room_id


def _centre_of_path_class() -> int | None:
    """The centre of the class (or of the session's class) the URL names, if the caller may manage it; None
    otherwise: the body's own checks are skipped then, and the view answers 404. The object is the one the route's
    scope check already looked up (``courses.api._found``), if any."""
    from flask import g

    from courses import services

    args = request.view_args or {}
    found: dict[tuple[Any, ...], Any] = g.setdefault("courses_found", {})
    if "class_id" in args:
        key = ("class", args["class_id"], _manage(), False)
        if key not in found:
            found[key] = services.get_class(args["class_id"], _user(), _manage())
        return found[key].clc_id if found[key] is not None else None
    if "session_id" in args:
        key = ("session", args["session_id"], _manage(), False)
        if key not in found:
            found[key] = services.get_session(args["session_id"], _user(), _manage())
        return found[key].course_class.clc_id if found[key] is not None else None
    return None


def _well_formed_ids(value: Any) -> list[int] | None:
    """``value`` if it is a list of valid ids (only then are they looked up), else None."""
    if not isinstance(value, list) or not value:
        return None
    if all(isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID for i in value):
        return value
    return None


# --- courses -------------------------------------------------------------------------------------------------


class CourseOut(Out):
    model_config = with_examples(
        Out,
        {
            "id": 7,
            "unit_id": 42,
            "code": "TH-01",
            "name": "Tin học cơ bản",
            "category": "it_skills",
            "planned_hours": 24.0,
            "min_attendance_share": 0.8,
            "requires_assessment": True,
            "description": "Sử dụng máy tính, Internet và dịch vụ công trực tuyến cho người dân",
            "module_codes": ["IU01", "IU02"],
            "active": True,
        },
    )

    id: int
    unit_id: int = Field(description="The unit whose catalogue holds the course (its communes may use it)")
    code: str = Field(examples=["TH-01"])
    name: str = Field(examples=["Tin học cơ bản"])
    category: CourseCategory
    planned_hours: float = Field(examples=[24.0])
    min_attendance_share: float = Field(
        description="Share of sessions to attend to complete: a whole percent, 0.01 to 1", examples=[0.8]
    )
    requires_assessment: bool
    description: str
    module_codes: list[str] = Field(description="IT-skills modules a completion grants", examples=[["IU01"]])
    active: bool


CoursePage = Page[CourseOut]


class CourseQuery(PageQuery):
    model_config = with_examples(
        Query,
        {"category": "it_skills", "q": "tin hoc", "page": 1, "per_page": 50},
    )

    category: CourseCategory | None = None
    q: str | None = Field(None, max_length=200, description="Words of the name (accents and case ignored)")


class CourseIn(Body):
    model_config = with_examples(
        Body,
        {
            "unit_id": 42,
            "code": "TH-01",
            "name": "Tin học cơ bản",
            "category": "it_skills",
            "planned_hours": 24,
            "min_attendance_share": 0.8,
            "requires_assessment": True,
            "description": "Sử dụng máy tính, Internet và dịch vụ công trực tuyến cho người dân",
            "module_codes": ["IU01", "IU02"],
        },
    )

    unit_id: Id = Field(description="A unit of your scope whose catalogue gets the course")
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] = Field(
        description="Unique", examples=["TH-01"]
    )
    name: Text = Field(examples=["Tin học cơ bản"])
    category: CourseCategory
    # As many decimals as the columns keep (Numeric(6, 1), Numeric(4, 3)): more would be rounded by the database.
    # The form's range (0,5 to 9999 hours): the API took 0.1 and 99999.9, which no page could enter (ADR 58).
    planned_hours: Decimal = Field(ge=Decimal("0.5"), le=Decimal(9999), decimal_places=1, examples=[24])
    # A whole percent, as the form edits it and the pages print it (courses.models.MIN_ATTENDANCE_PERCENT).
    min_attendance_share: Decimal | None = Field(
        None,
        ge=Decimal(MIN_ATTENDANCE_PERCENT) / 100,
        le=Decimal(MAX_ATTENDANCE_PERCENT) / 100,
        decimal_places=ATTENDANCE_SHARE_PLACES,
        description="A whole percent as a share, 0.01 to 1 (0.8: 80 %); default 0.8",
        examples=[0.8],
    )
    requires_assessment: bool | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""
    module_codes: list[Annotated[str, StringConstraints(min_length=1, max_length=8)]] | None = Field(
        None, max_length=50, description="IT-skills modules a completion grants", examples=[["IU01"]]
    )

    @field_validator("unit_id")
    @classmethod
    def _unit_in_scope(cls, unit_id: int) -> int:
        from lms.registry import services as registry
        from lms.registry.models import AdminUnit

        if registry.get_in_scope(AdminUnit, unit_id, _user(), _manage()) is None:
            raise ValueError(_("No such unit in your scope."))
        return unit_id


# --- classes -------------------------------------------------------------------------------------------------


class ClassOut(Out):
    model_config = with_examples(
        Out,
        CLASS_EXAMPLE,
    )

    id: int
    course_id: int
    course_name: str = Field(validation_alias=AliasPath("course", "name"))
    clc_id: int
    commune_id: int
    name: str
    room_id: int | None
    capacity: int
    target_group: TargetGroup
    starts_on: date
    ends_on: date


ClassPage = Page[ClassOut]


class InstructorOut(Out):
    person_id: int
    full_name: str
    role: InstructorRole


class ClassCounts(Out):
    enrolled: int
    waitlisted: int
    withdrawn: int
    seats_left: int
    sessions_scheduled: int
    sessions_cancelled: int
    sessions_held: int = Field(description="Scheduled sessions that have started")
    sessions_without_roll_call: int = Field(
        default=0,
        description="Of those, sessions with no attendance mark at all: not absences (they count against nobody); a "
        "learner whose completion they could decide waits until their roll call is taken or they are cancelled",
    )


class ClassDetail(ClassOut):
    model_config = with_examples(
        ClassOut,
        {
            **CLASS_EXAMPLE,
            "instructors": [{"person_id": 3310, "full_name": "Trần Thị Bình", "role": "instructor"}],
            "counts": {
                "enrolled": 28,
                "waitlisted": 3,
                "withdrawn": 1,
                "seats_left": 2,
                "sessions_scheduled": 24,
                "sessions_cancelled": 1,
                "sessions_held": 9,
                "sessions_without_roll_call": 1,
            },
        },
    )

    instructors: list[InstructorOut]
    counts: ClassCounts


class ClassQuery(PageQuery):
    model_config = with_examples(
        Query,
        {"clc_id": 9, "course_id": 7, "from": "2026-03-01", "to": "2026-06-30", "page": 1},
    )

    clc_id: Id | None = None
    course_id: Id | None = None
    from_: date | None = Field(None, alias="from", description="Classes that run on or after this day")
    to: date | None = Field(None, description="Classes that run on or before this day")


class ClassIn(Body):
    model_config = with_examples(
        Body,
        {
            "course_id": 7,
            "clc_id": 9,
            "name": "Tin học cơ bản — lớp tối thôn 4",
            "capacity": 30,
            "starts_on": "2026-03-02",
            "ends_on": "2026-05-29",
            "room_id": 3,
            "target_group": "everyone",
            "instructor_ids": [3310],
        },
    )

    course_id: Id = Field(description="A course of your catalogue")
    clc_id: Id = Field(description="A centre of your scope")
    name: Text
    capacity: int = Field(ge=1, le=10_000, examples=[30])
    starts_on: date
    ends_on: date
    room_id: Id | None = Field(None, description="A room of the centre")
    target_group: TargetGroup = TargetGroup.EVERYONE
    instructor_ids: list[Id] | None = Field(
        None, min_length=1, max_length=20, description="Persons who live in the centre's commune"
    )

    @field_validator("course_id")
    @classmethod
    def _course_in_catalogue(cls, course_id: int) -> int:
        from courses import services
        from courses.models import Course
        from lms.extensions import db

        stmt = services.visible_courses(_user(), _manage()).where(Course.id == course_id)
        if db.session.scalar(stmt) is None:
            raise ValueError(_("No such course in your catalogue."))
        return course_id

    @field_validator("clc_id")
    @classmethod
    def _centre_in_scope(cls, clc_id: int) -> int:
        from lms.registry import services as registry
        from lms.registry.models import Clc

        if registry.get_in_scope(Clc, clc_id, _user(), _manage()) is None:
            raise ValueError(_("No such centre in your scope."))
        return clc_id

    @field_validator("room_id")
    @classmethod
    def _room_of_centre(cls, room_id: int | None, info: ValidationInfo) -> int | None:
        return _path_room(room_id, info.data.get("clc_id"))

    @model_validator(mode="wrap")
    @classmethod
    def _instructors_in_scope(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        ids = _well_formed_ids(data.get("instructor_ids") if isinstance(data, dict) else None)
        outside = _people_outside(ids) if ids else set()
        extra: list[tuple[tuple[str | int, ...], str]] = [
            (("instructor_ids", i), _("No person %(id)s in your scope.", id=pid))
            for i, pid in enumerate(ids or [])
            if pid in outside
        ]
        return _with_errors(cls, data, handler, extra)


class ClassEdit(Body):
    """A correction of a class after it was created: only the fields sent change. Its course and target group stay
    (its completion rule and its enrolments rest on them)."""

    model_config = with_examples(
        Body,
        {"capacity": 35, "instructor_ids": [3310, 3312]},
        {"name": "Tin học cơ bản — lớp tối thôn 5", "room_id": None, "ends_on": "2026-06-05"},
    )

    # Fields left out keep their value (the view reads ``model_fields_set``); null is refused (see ``_not_null``),
    # so the document does not offer it (``SkipJsonSchema``): only ``room_id`` may be null, meaning no room.
    name: Text | SkipJsonSchema[None] = None
    capacity: int | SkipJsonSchema[None] = Field(
        None, ge=1, le=10_000, examples=[35], description="More seats move the waiting list up"
    )
    starts_on: date | SkipJsonSchema[None] = None
    ends_on: date | SkipJsonSchema[None] = None
    room_id: Id | None = Field(None, description="A room of the class's centre; null: no usual room")
    instructor_ids: list[Id] | SkipJsonSchema[None] = Field(
        None, max_length=20, description="The class's instructors from now on (persons of the class's commune)"
    )

    @field_validator("room_id")
    @classmethod
    def _room(cls, room_id: int | None) -> int | None:
        return _room_at_path_class(room_id)

    @field_validator("name", "capacity", "starts_on", "ends_on", "instructor_ids", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError(_("Leave the field out to keep it; it cannot be null."))
        return value


class ClassEdited(ClassOut):
    model_config = with_examples(
        ClassOut,
        {**CLASS_EXAMPLE, "capacity": 35, "instructor_ids": [3310, 3312], "promoted": [5133, 5134]},
    )

    instructor_ids: list[int]
    promoted: list[int] = Field(description="Learners moved from the waiting list to the new seats, in its order")


# --- sessions ------------------------------------------------------------------------------------------------


class SessionOut(Out):
    model_config = with_examples(
        Out,
        SESSION_EXAMPLE,
    )

    id: int
    class_id: int
    starts_at: AwareDatetime = Field(description="Local time, +07:00", examples=["2026-03-03T19:00:00+07:00"])
    ends_at: AwareDatetime
    room_id: int | None
    place: str
    status: SessionStatus
    original_starts_at: AwareDatetime | None = Field(description="Before the session was moved")
    note: str = Field(description="Why it was cancelled")

    @field_validator("starts_at", "ends_at", "original_starts_at", mode="before")
    @classmethod
    def _local(cls, value: Any) -> Any:
        return _local_out(value)


SessionPage = Page[SessionOut]


class SessionList(Out):
    model_config = with_examples(
        Out,
        {
            "items": [
                SESSION_EXAMPLE,
                {
                    **SESSION_EXAMPLE,
                    "id": 402,
                    "starts_at": "2026-03-05T19:00:00+07:00",
                    "ends_at": "2026-03-05T21:00:00+07:00",
                },
            ]
        },
    )

    items: list[SessionOut]


class SessionQuery(PageQuery):
    model_config = with_examples(
        Query,
        {"status": "scheduled", "page": 1, "per_page": 50},
    )

    status: SessionStatus | None = None


def _room_at_path_class(room_id: int | None) -> int | None:
    return _path_room(room_id, _centre_of_path_class()) if room_id is not None else None


class SessionIn(Body):
    model_config = with_examples(
        Body,
        {"starts_at": "2026-03-03T19:00:00+07:00", "ends_at": "2026-03-03T21:00:00+07:00", "room_id": 3},
    )

    starts_at: LocalIn
    ends_at: LocalIn
    room_id: Id | None = Field(None, description="A room of the class's centre")
    place: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = Field(
        "", description="Where, if not in a room", examples=["Sân đình"]
    )

    @field_validator("room_id")
    @classmethod
    def _room(cls, room_id: int | None) -> int | None:
        return _room_at_path_class(room_id)


class SessionMove(Body):
    model_config = with_examples(
        Body,
        {"starts_at": "2026-03-04T19:30:00+07:00", "room_id": 4},
    )

    starts_at: LocalIn | None = Field(None, description="The new start; alone, the session keeps its length")
    ends_at: LocalIn | None = None
    room_id: Id | None = Field(None, description="A room of the class's centre")

    @field_validator("room_id")
    @classmethod
    def _room(cls, room_id: int | None) -> int | None:
        return _room_at_path_class(room_id)


HH_MM = r"^([01]\d|2[0-3]):[0-5]\d$"


def _hh_mm_schema(schema: dict[str, Any]) -> None:
    """``HH:MM``: not JSON Schema's ``time`` format, which requires seconds and an offset."""
    schema.pop("format", None)
    schema["pattern"] = HH_MM


class RecurrenceIn(Body):
    model_config = with_examples(
        Body,
        {
            "first_day": "2026-03-03",
            "weekdays": [1, 3],
            "start": "19:00",
            "end": "21:00",
            "every_weeks": 1,
            "count": 24,
            "room_id": 3,
        },
    )

    first_day: date
    weekdays: list[int] = Field(
        min_length=1,
        max_length=7,
        description="0 = Monday … 6 = Sunday",
        examples=[[1, 3]],
        json_schema_extra={"items": {"type": "integer", "minimum": 0, "maximum": 6}},
    )
    start: time = Field(description="HH:MM, local", examples=["19:00"], json_schema_extra=_hh_mm_schema)
    end: time = Field(description="HH:MM, local", examples=["21:00"], json_schema_extra=_hh_mm_schema)
    every_weeks: int | None = Field(None, ge=1, le=52, description="Default 1")
    count: int | None = Field(None, ge=1, le=500, description="How many sessions (or give `until`)")
    until: date | None = Field(None, validate_default=True, description="The last day (or give `count`)")
    room_id: Id | None = Field(None, description="A room of the class's centre")
    place: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""

    @field_validator("start", "end", mode="before")
    @classmethod
    def _hh_mm(cls, value: Any) -> Any:
        # Not seconds since midnight, nor a time with seconds: what a timetable says.
        if not isinstance(value, str) or not re.fullmatch(HH_MM, value):
            raise ValueError(_("Must be a time as HH:MM."))
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, days: list[int]) -> list[int]:
        if not all(0 <= d <= 6 for d in days):
            raise ValueError(_("A list of weekdays, 0 = Monday … 6 = Sunday."))
        return days

    @field_validator("until")
    @classmethod
    def _until_or_count(cls, until: date | None, info: ValidationInfo) -> date | None:
        # "count" absent from info.data: it was invalid, and is reported itself.
        if until is None and "count" in info.data and info.data["count"] is None:
            raise ValueError(_("Give an end date (until) or a number of sessions (count)."))
        return until

    @field_validator("room_id")
    @classmethod
    def _room(cls, room_id: int | None) -> int | None:
        return _room_at_path_class(room_id)


DIGEST_EXAMPLE = "5d0c3f6a9b2e4178a1c6d3e8f0b2a4c6"

#: The digest of a preview, as its answer gave it: the confirmation carries it back.
Digest = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    Field(description="The `preview_digest` of the dry run you confirm", examples=[DIGEST_EXAMPLE]),
]


class CancelIn(Body):
    model_config = with_examples(
        Body,
        {"reason": "Mưa lũ"},
        {"reason": "Nhập nhầm buổi", "preview_digest": DIGEST_EXAMPLE},
    )

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = Field("", examples=["Mưa lũ"])
    preview_digest: Digest | None = Field(
        None,
        description="Required for a session already held (it has marks, or cancelling it revokes certificates or "
        "completes learners): the `preview_digest` of the `dry_run=true` answer you confirm",
    )


class DryRunQuery(Query):
    model_config = with_examples(Query, {"dry_run": True})

    dry_run: bool = Field(False, description="true: say what it would do, write nothing")


class RevokedCertificate(Out):
    learner: str
    certificate_code: str


class CancelConsequences(Out):
    model_config = with_examples(
        Out,
        {
            "marks": 18,
            "revoked": [{"learner": "Nguyễn Thị Ánh Dương", "certificate_code": "CC-7K2M-Q9XD"}],
            "completing": [],
            "needs_confirmation": True,
            "preview_digest": DIGEST_EXAMPLE,
        },
    )

    marks: int = Field(description="Attendance marks of the session, which stop counting for anyone")
    revoked: list[RevokedCertificate] = Field(description="Certificates the class's completion would revoke")
    completing: list[str] = Field(description="Learners who would complete the class without this session")
    needs_confirmation: bool = Field(description="True: the cancel must carry `preview_digest`")
    preview_digest: str = Field(description="Send it back as `preview_digest` to confirm exactly this")

    @classmethod
    def of(cls, preview: Any) -> CancelConsequences:
        """From ``courses.services.CancelPreview``."""
        return cls(
            marks=preview.marks,
            revoked=[RevokedCertificate(learner=name, certificate_code=code) for name, code in preview.revoked],
            completing=list(preview.completing),
            needs_confirmation=preview.needs_confirmation,
            preview_digest=preview.digest,
        )


class CancelOut(SessionOut):
    """The session (cancelled, or unchanged after a dry run) and what cancelling it does."""

    model_config = with_examples(
        SessionOut,
        {
            **SESSION_EXAMPLE,
            "status": "cancelled",
            "note": "Nhập nhầm buổi",
            "dry_run": False,
            "consequences": CancelConsequences.model_config["json_schema_extra"]["examples"][0],  # type: ignore[index]
        },
    )

    dry_run: bool = Field(False, description="True: a preview, nothing was written")
    consequences: CancelConsequences


class CancelProblem(Problem):
    """A 409: what cancelling the session would do changed since the preview; ``preview`` is the new one."""

    preview: CancelConsequences | None = None


# --- enrolments ----------------------------------------------------------------------------------------------


class EnrolmentOut(Out):
    model_config = with_examples(
        Out,
        {
            "person_id": 5120,
            "full_name": "Nguyễn Văn An",
            "status": "enrolled",
            "enrolled_at": "2026-02-20T02:30:00Z",
            "withdrawn_at": None,
            "assessment_passed": None,
        },
    )

    person_id: int
    full_name: str = Field(validation_alias=AliasPath("person", "full_name"))
    status: EnrolmentStatus
    enrolled_at: UtcDatetime
    withdrawn_at: UtcDatetime | None
    assessment_passed: bool | None


EnrolmentPage = Page[EnrolmentOut]


class EnrolmentQuery(PageQuery):
    model_config = with_examples(
        Query,
        {"status": "waitlisted", "page": 1, "per_page": 50},
    )

    status: EnrolmentStatus | None = None


ENROL_SELECTORS = ("person_id", "person_ids", "village_id", "household_id", "association_role")


class EnrolIn(Body):
    """Exactly one of the fields: one learner, a list (enrolled in that order), or everyone of a village, a
    household or an association role of the class's commune."""

    model_config = with_examples(
        Body,
        {"person_ids": [5120, 5121, 5133]},
    )

    person_id: Id | None = None
    person_ids: list[Id] | None = Field(None, min_length=1, max_length=MAX_PEOPLE)
    village_id: Id | None = Field(None, description="A village of your scope")
    household_id: Id | None = Field(None, description="A household of your scope")
    association_role: AssociationRole | None = None
    dry_run: bool = Field(
        False,
        description="Say who would get a seat, who would wait and who is in the class already, and write nothing: "
        "the preview of a bulk enrolment (the same request without it enrols them)",
    )

    @field_validator("person_id")
    @classmethod
    def _person_in_scope(cls, person_id: int | None) -> int | None:
        if person_id is not None and _centre_of_path_class() is not None and _people_outside([person_id]):
            raise ValueError(_("No person %(id)s in your scope.", id=person_id))
        return person_id

    @field_validator("village_id")
    @classmethod
    def _village_in_scope(cls, village_id: int | None) -> int | None:
        from lms.registry import services as registry
        from lms.registry.models import AdminUnit, UnitLevel

        if village_id is not None and _centre_of_path_class() is not None:
            village = registry.get_in_scope(AdminUnit, village_id, _user(), _manage())
            if village is None or village.level != UnitLevel.VILLAGE:
                raise ValueError(_("No such village in your scope."))
        return village_id

    @field_validator("household_id")
    @classmethod
    def _household_in_scope(cls, household_id: int | None) -> int | None:
        from lms.registry import services as registry
        from lms.registry.models import Household

        if (
            household_id is not None
            and _centre_of_path_class() is not None
            and registry.get_in_scope(Household, household_id, _user(), _manage()) is None
        ):
            raise ValueError(_("No such household in your scope."))
        return household_id

    @model_validator(mode="wrap")
    @classmethod
    def _people_in_scope(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        ids = _well_formed_ids(data.get("person_ids") if isinstance(data, dict) else None)
        # Only for a class the caller may manage: for another, the view answers 404 whatever the body.
        outside = _people_outside(ids) if ids and _centre_of_path_class() is not None else set()
        extra: list[tuple[tuple[str | int, ...], str]] = [
            (("person_ids", i), _("No person %(id)s in your scope.", id=pid))
            for i, pid in enumerate(ids or [])
            if pid in outside
        ]
        return _with_errors(cls, data, handler, extra)


class EnrolmentResult(Out):
    model_config = with_examples(
        Out,
        {"class_id": 12, "enrolled": [5120, 5121], "waitlisted": [5133], "already": [], "dry_run": False},
    )

    class_id: int
    enrolled: list[int] = Field(description="Given a seat")
    waitlisted: list[int] = Field(description="On the waiting list (the class is full)")
    already: list[int] = Field(description="Enrolled or waiting before")
    dry_run: bool = Field(False, description="True: a preview, nothing was written")


class WithdrawalOut(Out):
    model_config = with_examples(
        Out,
        {"class_id": 12, "person_id": 5121, "status": "withdrawn", "promoted": 5133},
    )

    class_id: int
    person_id: int
    status: Literal["withdrawn"]
    promoted: int | None = Field(description="The learner moved from the waiting list into the freed seat")


class FinalAssessmentIn(Body):
    model_config = with_examples(Body, {"passed": True}, {"passed": None})

    passed: bool | None = Field(description="The final assessment: passed, not passed, or null (not assessed yet)")


class FinalAssessmentOut(Out):
    model_config = with_examples(
        Out,
        {"class_id": 12, "person_id": 5120, "passed": True, "before": None},
    )

    class_id: int
    person_id: int
    passed: bool | None
    before: bool | None = Field(description="The result it replaced")


class SheetForm(Body):
    model_config = with_examples(Body, {"file": "diem-danh-lop-ca-phe-thang-3.xlsx"})

    file: File = Field(
        description="The paper attendance sheet typed into a spreadsheet, or the attendance book filled in (.xlsx, "
        ".csv): one row per learner, one column per session (its date), one code per cell"
    )


SHEET_TOKEN = "q2V7yW0cX9-aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY"  # noqa: S105 - an example for the document


class SheetPreviewOut(Out):
    """What the sheet would write (nothing is written yet): confirm it with its ``preview_token`` within a day."""

    model_config = with_examples(
        Out,
        {
            "class_id": 12,
            "can_apply": True,
            "preview_token": SHEET_TOKEN,
            "preview": {
                "counts": {"new": 18, "changed": 1, "unchanged": 40, "refused": 0, "certificates_revoked": 0},
                "changed": [
                    {
                        "row": 7,
                        "column": "D",
                        "header": "09/03/2026",
                        "session_id": 402,
                        "person_id": 5121,
                        "learner": "Trần Thị Bình",
                        "old_status": "absent",
                        "new_status": "present",
                    }
                ],
            },
        },
    )

    class_id: int
    can_apply: bool = Field(description="False: nothing to write, or cells refused (listed in `preview.refused`)")
    preview_token: str | None = Field(description="Send it to …/attendance-sheet/confirm; null when it cannot apply")
    preview: dict[str, Any] = Field(
        description="`counts`; the first rows of `new`, `changed`, `unchanged` marks; `refused` cells (row, column, "
        "message); `certificates_revoked`, `learners_dropping`, `learners_completing`; `sessions_without_roll_call` "
        "(held sessions that would still have no mark: they count against nobody, and a learner whose completion they "
        "could decide waits for them)"
    )


class SheetConfirmIn(Body):
    model_config = with_examples(Body, {"preview_token": SHEET_TOKEN})

    preview_token: str = Field(
        min_length=1, max_length=64, description="The `preview_token` of the preview you confirm"
    )


class SheetAppliedOut(Out):
    model_config = with_examples(
        Out,
        {
            "class_id": 12,
            "learners": 20,
            "sessions": 4,
            "created": 18,
            "updated": 1,
            "unchanged": 40,
            "revoked": 0,
            "issued": 2,
        },
    )

    class_id: int
    learners: int
    sessions: int = Field(description="Sessions that got marks")
    created: int
    updated: int
    unchanged: int
    revoked: int = Field(description="Certificates revoked (listed by the preview)")
    issued: int = Field(description="Certificates issued")


class SheetCellError(Out):
    field: str = Field(examples=["file"])
    row: int | None = None
    column: str | None = None
    header: str | None = Field(None, description="The column's header as the sheet writes it")
    message: str


class SheetProblem(Problem):
    """A 422: the sheet's cells at fault (row, column) — or a 409: the class's attendance changed since the preview,
    nothing was written; ``preview`` is what the sheet would do now (confirm that one)."""

    errors: list[SheetCellError] | None = None  # type: ignore[assignment]
    preview: SheetPreviewOut | None = None


# --- attendance ----------------------------------------------------------------------------------------------


class MarkIn(Body):
    client_mark_id: str | None = Field(
        None, min_length=1, max_length=64, description="The device's id of the mark: a re-sent mark is recognised"
    )
    person_id: Id = Field(description="An enrolled learner of the session's class")
    status: str = Field(min_length=1, max_length=16, description="An attendance status code", examples=["present"])
    recorded_at: AwareDatetime = Field(
        description="When the mark was taken, on the device, with its offset", examples=["2026-03-03T12:05:00Z"]
    )


class AttendanceIn(Body):
    """A batch for one session: all or nothing; the latest ``recorded_at`` of a learner wins."""

    model_config = with_examples(
        Body,
        {
            "device": "phone-7",
            "marks": [
                {
                    "client_mark_id": "7f3c2a10-0001",
                    "person_id": 5120,
                    "status": "present",
                    "recorded_at": "2026-03-03T12:05:00Z",
                },
                {
                    "client_mark_id": "7f3c2a10-0002",
                    "person_id": 5133,
                    "status": "absent",
                    "recorded_at": "2026-03-03T12:05:30Z",
                },
            ],
        },
    )

    device: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = Field("", examples=["phone-7"])
    marks: list[MarkIn] = Field(min_length=1, max_length=MAX_MARKS)

    @model_validator(mode="wrap")
    @classmethod
    def _mark_ids_unique(cls, data: Any, handler: Callable[[Any], Any]) -> Any:
        marks = data.get("marks") if isinstance(data, dict) else None
        extra: list[tuple[tuple[str | int, ...], str]] = []
        seen: dict[str, int] = {}
        for index, mark in enumerate(marks if isinstance(marks, list) else []):
            mark_id = mark.get("client_mark_id") if isinstance(mark, dict) else None
            if isinstance(mark_id, str) and mark_id:
                if mark_id in seen:
                    message = _("The same id as marks[%(index)s].", index=seen[mark_id])
                    extra.append((("marks", index, "client_mark_id"), message))
                seen.setdefault(mark_id, index)
        return _with_errors(cls, data, handler, extra)


class AttendanceResult(Out):
    model_config = with_examples(
        Out,
        {"session_id": 401, "created": 2, "updated": 0, "unchanged": 0},
    )

    session_id: int
    created: int
    updated: int
    unchanged: int = Field(description="Marks already there, or older than the stored ones")


class MarkOut(Out):
    model_config = with_examples(
        Out,
        {
            "person_id": 5120,
            "status": "present",
            "recorded_at": "2026-03-03T12:05:00Z",
            "device": "phone-7",
            "client_mark_id": "7f3c2a10-0001",
            "received_at": "2026-03-03T12:06:12Z",
        },
    )

    person_id: int
    status: str
    recorded_at: UtcDatetime = Field(description="On the device, UTC")
    device: str
    client_mark_id: str | None
    received_at: UtcDatetime = Field(description="When the server stored it, UTC")


MarkPage = Page[MarkOut]


# --- completions and certificates ----------------------------------------------------------------------------


class CertificateRef(Out):
    code: str = Field(examples=["7KQ2-M9XD-4TNA"])
    issued_on: date
    revoked: bool


class CompletionOut(Out):
    model_config = with_examples(
        Out,
        {
            "person_id": 5120,
            "full_name": "Nguyễn Văn An",
            "kind": "class_completion",
            "category": "it_skills",
            "hours": 22.0,
            "year": 2026,
            "completed_on": "2026-05-29",
            "certificate": {"code": "7KQ2-M9XD-4TNA", "issued_on": "2026-05-29", "revoked": False},
        },
    )

    person_id: int
    full_name: str | None = None
    kind: Literal["class_completion", "policy_study"]
    category: str | None
    hours: float
    year: int
    completed_on: date
    certificate: CertificateRef | None = Field(None, description="null: none issued (yet)")


CompletionPage = Page[CompletionOut]


class CompletionCertificateCheck(Out):
    """What anyone holding a code may see: the learner's family and middle names as initials, nothing more."""

    model_config = with_examples(
        Out,
        {
            "code": "7KQ2-M9XD-4TNA",
            "valid": True,
            "status": "valid",
            "issued_on": "2026-05-29",
            "revoked_on": None,
            "learner": "N. V. An",
            "course": "Tin học cơ bản",
            "class": "Tin học cơ bản — lớp tối thôn 4",
            "centre": "Trung tâm học tập cộng đồng xã Đăk Hà",
        },
        serialize_by_alias=True,
    )

    code: str = Field(examples=["7KQ2-M9XD-4TNA"])
    valid: bool
    status: Literal["valid", "revoked"]
    issued_on: date
    revoked_on: date | None
    learner: str = Field(examples=["N. V. An"])
    course: str
    class_: str = Field(alias="class")
    centre: str


# --- problems ------------------------------------------------------------------------------------------------


class ConflictOut(Out):
    resource: Literal["room", "instructor", "learner"]
    resource_id: int
    session_id: int | None = Field(description="The booked session; null if it is not in your scope")
    class_id: int | None = Field(description="Its class; null if it is not in your scope")
    starts_at: AwareDatetime = Field(description="Local time, +07:00")
    ends_at: AwareDatetime

    @field_validator("starts_at", "ends_at", mode="before")
    @classmethod
    def _local(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return _local_out(value)


class ConflictProblem(Problem):
    """A 409: the room, an instructor or a learner is already booked then."""

    conflicts: list[ConflictOut] = Field(default_factory=list)
