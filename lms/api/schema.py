"""The API's one contract: pydantic models validate every request, serialise every answer and generate the OpenAPI
3.1 document, through SpecTree (ADR 35).

A feature declares an operation once, on the route::

    @bp.get("/courses/<int:course_id>")
    @operation(VIEW, ok=CourseOut, tags=["courses"])
    def get_course(course_id: int) -> CourseOut: ...

:func:`operation` puts the permission check (401 for nobody, 403 for a user who holds the permission nowhere),
SpecTree's validation (``query``/``json`` models reach the view as keyword arguments of those names; a request that
does not match is a 422 problem naming each field in the caller's language) and the answer's schema (a view returns
a model instance, or a dict that is validated against the model — a mismatch is a server error, so a test that
reaches it fails) in that order around the view, and records all of it in the document: the permission as
``x-permission``, the problem answers, the ``Idempotency-Key`` header of retry-safe POSTs.
"""

from __future__ import annotations

import functools
import inspect
import re
import typing
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from flask import Response, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import core_schema
from spectree import Response as Answers
from spectree import SecurityScheme, SecuritySchemeData, SpecTree
from spectree.models import InType, SecureType
from werkzeug.datastructures import FileStorage

from lms.api.errors import ApiValidationError

if TYPE_CHECKING:  # at run time only ``permission.value`` is read: importing lms.auth here would be a cycle
    from lms.auth.permissions import Permission

T = TypeVar("T")

#: The largest id a PostgreSQL bigint holds: larger ids in a path, a query or a body are refused as invalid, never
#: sent to the database (where they overflow).
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID, examples=[42])]


def _assume_utc(value: Any) -> Any:
    """The database keeps moments as naive UTC (SQLite drops the zone): say so, as RFC 3339 requires."""
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


#: A moment stored as naive UTC, answered with its offset (``…Z``). Requests that send a moment use
#: ``AwareDatetime`` itself: the caller must say which zone it means.
UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_assume_utc)]


#: Control characters no text of ours holds (tab, line feed and carriage return are text). PostgreSQL refuses NUL in
#: any string ("A string literal cannot contain NUL"): sent in a name or a note, it was a 500 there and was stored
#: on SQLite.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _without_control_characters(value: Any) -> Any:
    """Refuses text holding control characters, and a moment that no clock can take to UTC or to Vietnam's time
    (31/12/9999 23:00 at −12:00 is in the year 10000: an OverflowError, a 500)."""
    items = value if isinstance(value, list | tuple | set | frozenset) else (value,)
    if any(isinstance(text, str) and CONTROL_CHARACTERS.search(text) for text in items):
        raise ValueError(
            _("This text holds invisible control characters (such as NUL): type it again, or paste it as plain text.")
        )
    for moment in items:
        if isinstance(moment, datetime) and moment.tzinfo is not None and not 1 < moment.year < 9999:
            raise ValueError(_("This date and time is out of range: check its year."))
    return value


def _nfc(value: Any) -> Any:
    """Text in Unicode's composed form (NFC), as the forms store it (lms.core.forms.plain_text, ADR 58): a name
    typed with combining marks (NFD) is otherwise another string to a search, a sort, a duplicate check and a
    length limit. Before the field's own checks, so its length is counted on what is stored."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, list | tuple):
        return type(value)(unicodedata.normalize("NFC", item) if isinstance(item, str) else item for item in value)
    return value


class _Input(BaseModel):
    """What every request body and query reads alike (ADR 58): text composed (NFC) before the fields' own checks,
    and refused by its field when it holds control characters."""

    @field_validator("*", mode="before")
    @classmethod
    def _composed(cls, value: Any) -> Any:
        return _nfc(value)

    @field_validator("*", mode="after")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        return _without_control_characters(value)


class Body(_Input):
    """A request body or query: unknown fields are refused by name (a misspelt field is not silently ignored), and
    text holding control characters by its field. Text is stored NFC and without surrounding spaces."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Query(_Input):
    """A query string: parameters the operation does not know are ignored, as browsers and proxies add some; text
    holding control characters is refused by its parameter. Text is read NFC and without surrounding spaces."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class Out(BaseModel):
    """An answer, read from the ORM objects' attributes (by a field's alias) or from a dict (by its name)."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True, validate_by_alias=True)


def with_examples(base: type[BaseModel], *examples: dict[str, Any], **settings: Any) -> ConfigDict:
    """``base``'s configuration (and more ``settings``) plus model-level ``examples`` for the document: a request as a
    client sends it, an answer as the server sends it (each validates against its model: tests/api/test_examples.py)."""
    config: dict[str, Any] = {**base.model_config, **settings, "json_schema_extra": {"examples": list(examples)}}
    return ConfigDict(**config)  # type: ignore[typeddict-item]


class FieldError(BaseModel):
    field: str = Field(description="Where: a field name, `items[2].person_id`, or empty for the whole body")
    message: str = Field(description="What to fix, in the caller's language")
    it_certificate_id: int | None = Field(
        default=None,
        description="Only when recording an IT certificate already recorded for another person (the same issuer and "
        "number): that person's record of it (`GET /api/v1/it/certificates/{it_certificate_id}`), when the caller may "
        "read it; absent otherwise",
    )


class Problem(BaseModel):
    """An error (RFC 9457 problem details)."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    errors: list[FieldError] | None = None


class Upload:
    """An uploaded file (a multipart field): anything else where a file is expected is an invalid field."""

    @classmethod
    def __get_pydantic_json_schema__(cls, _core: Any, _handler: Any) -> dict[str, Any]:
        return {"type": "string", "format": "binary"}

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, _handler: Any) -> Any:
        return core_schema.no_info_plain_validator_function(cls._validate)

    @staticmethod
    def _validate(value: Any) -> FileStorage:
        if isinstance(value, FileStorage):
            return value
        raise ValueError(_("Attach the file as a multipart field."))


#: A multipart file field in a form model: typed as what the view gets, validated and documented by ``Upload``.
File = Annotated[FileStorage, Upload]


class PageQuery(Query):
    model_config = with_examples(Query, {"page": 2, "per_page": 50})

    page: int = Field(1, ge=1, le=2**31 - 1, description="Page number, from 1")
    per_page: int | None = Field(None, ge=1, le=500, description="Items per page (default 50, at most 500)")


def _page_examples(schema: dict[str, Any], cls: type[BaseModel]) -> None:
    """``Page[X]``'s example: one page holding ``X``'s first example (a subclass with more fields gives its own)."""
    args = cls.__pydantic_generic_metadata__["args"]
    item = args[0] if args else None
    extra = (
        item.model_config.get("json_schema_extra") if isinstance(item, type) and issubclass(item, BaseModel) else None
    )
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if isinstance(examples, list) and examples:
        schema["examples"] = [{"items": [examples[0]], "page": 1, "per_page": 50, "total": 1}]


class Page(Out, Generic[T]):
    model_config = ConfigDict(**Out.model_config, json_schema_extra=_page_examples)

    items: list[T]
    page: int = Field(ge=1)
    per_page: int = Field(ge=1)
    total: int = Field(ge=0)


def in_scope(model: Any, object_id: int, permission: Permission) -> Any:
    """The object ``object_id`` of ``model`` if the current user holds ``permission`` over it, else None: for
    validators of fields that name an object (an answer that cannot tell "no such id" from "not yours")."""
    from flask_login import current_user

    from lms.auth.permissions import can
    from lms.extensions import db

    found = db.session.get(model, object_id)
    return found if found is not None and can(current_user, permission, found) else None


# --- validation errors in the caller's language --------------------------------------------------------------

_MESSAGES: dict[str, Any] = {
    "missing": _l("This field is required."),
    "extra_forbidden": _l("Unknown field: remove it or check its spelling."),
    "int_type": _l("Must be a whole number."),
    "int_parsing": _l("Must be a whole number."),
    "int_from_float": _l("Must be a whole number."),
    "int_parsing_size": _l("The number is too large."),
    "float_type": _l("Must be a number."),
    "float_parsing": _l("Must be a number."),
    "decimal_type": _l("Must be a number."),
    "decimal_parsing": _l("Must be a number."),
    "finite_number": _l("Must be a finite number."),
    "decimal_max_places": _l("At most %(decimal_places)s digits after the decimal point."),
    "decimal_max_digits": _l("At most %(max_digits)s digits."),
    "greater_than": _l("Must be greater than %(gt)s."),
    "greater_than_equal": _l("Must be at least %(ge)s."),
    "less_than": _l("Must be less than %(lt)s."),
    "less_than_equal": _l("Must be at most %(le)s."),
    "string_type": _l("Must be text."),
    "string_too_short": _l("Must have at least %(min_length)s character(s)."),
    "string_too_long": _l("Must have at most %(max_length)s characters."),
    "string_pattern_mismatch": _l("Has a form that is not accepted."),
    "bool_type": _l("Must be true or false."),
    "bool_parsing": _l("Must be true or false."),
    "enum": _l("Must be one of: %(expected)s."),
    "literal_error": _l("Must be one of: %(expected)s."),
    "date_type": _l("Must be a date as YYYY-MM-DD."),
    "date_parsing": _l("Must be a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": _l("Must be a date as YYYY-MM-DD."),
    "date_from_datetime_inexact": _l("Must be a date as YYYY-MM-DD."),
    "datetime_type": _l("Must be a date and time as YYYY-MM-DDTHH:MM:SS with an offset (+07:00)."),
    "datetime_parsing": _l("Must be a date and time as YYYY-MM-DDTHH:MM:SS with an offset (+07:00)."),
    "datetime_from_date_parsing": _l("Must be a date and time as YYYY-MM-DDTHH:MM:SS with an offset (+07:00)."),
    "timezone_aware": _l("Give the time with its offset, for example +07:00."),
    "time_type": _l("Must be a time as HH:MM."),
    "time_parsing": _l("Must be a time as HH:MM."),
    "list_type": _l("Must be a list."),
    "too_short": _l("Must have at least %(min_length)s item(s)."),
    "too_long": _l("Must have at most %(max_length)s items."),
    "dict_type": _l("Must be an object."),
    "model_type": _l("Must be an object."),
    "model_attributes_type": _l("Must be an object."),
    "json_invalid": _l("The body is not valid JSON."),
    "url_parsing": _l("Must be a URL."),
    "url_scheme": _l("Must be a URL."),
    "value_error": _l("%(error)s"),
    "assertion_error": _l("%(error)s"),
}


def field_path(location: Sequence[int | str]) -> str:
    """``("marks", 2, "person_id")`` → ``marks[2].person_id``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _message(error: Any) -> str:
    context = dict(error.get("ctx") or {})
    if "error" in context:
        context["error"] = str(context["error"])
    template = _MESSAGES.get(error["type"])
    if template is None:
        return str(error.get("msg", _("Invalid value.")))
    try:
        return str(template) % context if context or "%(" in str(template) else str(template)
    except (KeyError, TypeError, ValueError):
        return str(error.get("msg", _("Invalid value.")))


def field_errors(exc: ValidationError, *, skip: int = 0) -> list[dict[str, str]]:
    """One ``{"field", "message"}`` per problem pydantic found, messages in the caller's language. ``skip`` drops
    leading parts of each location (a union's branch names)."""
    errors: list[dict[str, str]] = []
    for error in exc.errors(include_url=False):
        # A tagged or plain union repeats the location with the branch's name: keep what the caller wrote.
        location = [p for p in error["loc"][skip:] if not (isinstance(p, str) and "[" in p)]
        errors.append({"field": field_path(location), "message": _message(error)})
    return errors


class ValidatedAnswer(Response):
    """An answer whose bytes were checked against the operation's schema when they were made (a cached answer, ADR
    27): SpecTree does not parse and check them again on every request."""


class ModelAnswer(Response):
    """An answer made of a model instance's own JSON (``model_dump_json``, ``lms.api.idempotency``). SpecTree does
    not check an instance of the model the operation declares for the status against that model's schema (the
    instance was validated when it was made); this answer is that instance serialised, so it is not parsed and
    checked again either (ADR 28, eighth pass). An instance of any other model is checked as before."""

    model: type[BaseModel] | None = None


def _validate_response(resp: Any, resp_model: Any, skip_validation: bool, force_resp_serialize: bool) -> Any:
    model = resp.model if isinstance(resp, ModelAnswer) else None
    if model is not None and resp_model is not None and resp_model.find_model(resp.status_code) is model:
        return resp, None  # what SpecTree answers for the instance itself: its JSON, unchecked
    return _spectree_validate_response(
        resp, resp_model, skip_validation or isinstance(resp, ValidatedAnswer), force_resp_serialize
    )


# --- the operation decorator and the document ----------------------------------------------------------------


def _component_name(model: Any) -> str:
    """``Page[CourseOut]`` → ``Page_CourseOut``: OpenAPI component names allow letters, digits, ``.-_``."""
    return re.sub(r"[^A-Za-z0-9._-]", "", getattr(model, "__name__", str(model)).replace("[", "_").replace(",", "_"))


class ResponseSchemaError(RuntimeError):
    """An answer that does not match its declared schema: a bug on the server, never the client's fault."""


def _refuse_invalid(req: Any, resp: Any, req_validation_error: Any, instance: Any, *rest: Any) -> None:
    if req_validation_error is not None:
        raise ApiValidationError(field_errors(req_validation_error), _("The request has invalid fields."))


def _check_answer(req: Any, resp: Any, resp_validation_error: Any, instance: Any, *rest: Any) -> None:
    if resp_validation_error is not None:
        raise ResponseSchemaError(f"{request.method} {request.path}: {resp_validation_error}")


spec = SpecTree(
    "flask",
    title="LMS — Trung tâm học tập cộng đồng và Hội Khuyến học",
    version="1",
    description="The JSON API of the learning-management system (`/api/v1`). Authenticate with "
    "`Authorization: Bearer <token>` (devices, integrations) or the session cookie (the app's own pages; unsafe "
    "methods then need the `X-CSRFToken` header). Errors are `application/problem+json` with one entry per field in "
    "`errors`. Each operation names the permission it needs in `x-permission`; objects outside the caller's scope "
    "answer 404.",
    # SpecTree would skip every route under its own path: it must not be /api/v1 (our routes serve the document).
    path="_spectree",
    mode="strict",
    annotations=True,
    before=_refuse_invalid,
    after=_check_answer,
    validation_error_status=422,
    naming_strategy=_component_name,
    nested_naming_strategy=lambda _parent, child: child,
    security_schemes=[
        SecurityScheme(name="bearer", data=SecuritySchemeData(type=SecureType.HTTP, scheme="bearer")),
        SecurityScheme(
            name="session", data=SecuritySchemeData(type=SecureType.API_KEY, field_in=InType.COOKIE, name="session")
        ),
    ],
    security=[{"bearer": []}, {"session": []}],
)
_backend: Any = spec.backend
_spectree_validate_response = _backend.validate_response
_backend.validate_response = _validate_response

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 200},
    "description": "Retry-safe POST: the same key and body replay the stored answer (header Idempotent-Replayed: "
    "true) and apply nothing again; the same key with another body is a 422. Only successful answers are kept.",
}

#: operationId → what the document adds to the operation SpecTree generated.
_EXTRAS: dict[str, dict[str, Any]] = {}

_PROBLEMS = {
    400: "Bad request",
    401: "Not authenticated",
    403: "The permission is held nowhere",
    404: "No such object in your scope",
    409: "Conflict",
    413: "Too large",
    422: "Invalid fields, listed in `errors`",
    429: "Too many requests (see Retry-After)",
    503: "Database or queue unavailable: retry after Retry-After seconds",
}


def operation(
    permission: Permission | None,
    *,
    ok: Any = None,
    status: int = 200,
    query: type[BaseModel] | None = None,
    json: type[BaseModel] | None = None,
    form: type[BaseModel] | None = None,
    tags: Iterable[str] = (),
    errors: Iterable[int] = (),
    idempotent: bool = False,
    public: bool = False,
    extra: dict[int, Any] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API operation (see the module's docstring).

    ``permission`` is checked before anything else (``None`` with ``public=True``: anyone, no session needed;
    ``None`` alone: any signed-in user). ``ok`` is the model of the ``status`` answer (``None``: no body);
    ``extra`` maps more statuses to their models (a 202 beside a 200, a 409 with its conflicts). ``errors`` adds
    problem statuses to the ones every operation has (401, 403, 404 and 422, or 404/422/429 for public ones).
    """
    from lms.auth.decorators import permission_required
    from lms.auth.loaders import login_manager

    codes: dict[str, Any] = {f"HTTP_{status}": ok}
    for code, model in (extra or {}).items():
        codes[f"HTTP_{code}"] = model
    problems = {422, *errors} if public else {401, 403, 404, 422, 503, *errors}
    for code in problems:
        codes.setdefault(f"HTTP_{code}", (Problem, _PROBLEMS.get(code, "Problem")))

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        operation_id = view.__name__
        if operation_id in _EXTRAS and _EXTRAS[operation_id]["module"] != view.__module__:
            raise RuntimeError(f"two API operations are named {operation_id}: operationIds must be unique")
        _EXTRAS[operation_id] = {
            "module": view.__module__,
            "permission": permission.value if permission is not None else ("public" if public else "signed-in"),
            "idempotent": idempotent,
        }
        if hasattr(view, "__wrapped__"):
            # A wrapped view (``@idempotent``) carries its annotations as strings of another module: resolve them
            # where they were written, as SpecTree reads them from the wrapper's module.
            view.__annotations__ = typing.get_type_hints(inspect.unwrap(view), include_extras=True)
        validated = spec.validate(
            query=query,
            json=json,
            form=form,
            resp=Answers(**codes),
            tags=list(tags),
            operation_id=operation_id,
            security={} if public else None,
        )(view)
        if json is not None:
            validated = _json_body_only(validated)
        if public:
            return validated
        if permission is not None:
            return permission_required(permission)(validated)

        @functools.wraps(validated)
        def signed_in(*args: Any, **kwargs: Any) -> Any:
            from flask_login import current_user

            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            return validated(*args, **kwargs)

        return signed_in

    return decorator


def _json_body_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """SpecTree reads a body that is not JSON (a form, text, JSON sent as ``text/plain``) as ``{}`` and would answer
    "required" for every field: say what is wrong instead."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if request.get_data(cache=True) and request.get_json(silent=True) is None:
            raise ApiValidationError(
                [
                    {
                        "field": "",
                        "message": _("The body is not JSON: send a JSON object with Content-Type: application/json."),
                    }
                ],
                _("The request has invalid fields."),
            )
        return view(*args, **kwargs)

    return wrapped


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the app that serves this request: SpecTree's, with what it cannot say —
    problems as ``application/problem+json``, the permission, the ``Idempotency-Key`` header, bigint path ids."""
    cached = current_app.extensions.get("lms.openapi")
    if cached is not None:
        return cached
    # SpecTree caches the document per instance; build it for this app (tests create many apps).
    spec.__dict__.pop("_spec", None)
    doc = spec.spec
    for item in doc["paths"].values():
        for op in item.values():
            extras = _EXTRAS.get(op.get("operationId", ""))
            if extras is None:
                continue
            op["x-permission"] = extras["permission"]
            for key in ("summary", "description"):  # docstrings are reStructuredText; the document is Markdown
                if op.get(key):
                    op[key] = op[key].replace("``", "`")
            if extras["idempotent"]:
                op.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
            for code, answer in op.get("responses", {}).items():
                content = answer.get("content", {})
                if int(code) >= 400 and "application/json" in content:
                    content["application/problem+json"] = content.pop("application/json")
            for parameter in op.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("schema", {}).get("type") == "integer":
                    parameter["schema"] = {"type": "integer", "minimum": 0, "maximum": MAX_ID}
                if parameter.get("description") == "":
                    del parameter["description"]
    current_app.extensions["lms.openapi"] = doc
    return doc
