"""The OpenAPI 3.1 document of /api/v1. A test compares it with the app's URL map, so it cannot drift."""

from __future__ import annotations

from typing import Any

from lms.api import bp


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _page_of(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total"],
        "properties": {
            "items": {"type": "array", "items": _ref(name)},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
        },
    }


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PROBLEM = {"description": "Problem", "content": {"application/problem+json": {"schema": _ref("Problem")}}}
ERRORS = {"401": PROBLEM, "403": PROBLEM, "404": PROBLEM, "422": PROBLEM}
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
]
UNIT_FILTER = {
    "name": "unit_id",
    "in": "query",
    "description": "Only records in this unit's subtree",
    "schema": {"type": "integer"},
}
SEARCH = {
    "name": "q",
    "in": "query",
    "description": "Name contains (diacritics optional: Nguyen = Nguyễn)",
    "schema": {"type": "string"},
}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _list(tag: str, schema: str, *extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "get": {
            "tags": [tag],
            "summary": f"List {tag} in your scope",
            "parameters": [*PAGING, UNIT_FILTER, *extra],
            "responses": {"200": _json(_page_of(schema)), **ERRORS},
        }
    }


DRY_RUN = {
    "name": "dry_run",
    "in": "query",
    "required": False,
    "schema": {"enum": ["0", "1"]},
    "description": "1: check the file and answer what it would change (a preview), writing nothing",
}


def _item(tag: str, schema: str, id_name: str) -> dict[str, Any]:
    return {
        "get": {
            "tags": [tag],
            "summary": f"One of the {tag}",
            "parameters": [_id(id_name)],
            "responses": {"200": _json(_ref(schema)), **ERRORS},
        }
    }


# --- the class programme (courses/api.py) --------------------------------------------------------------------

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 200},
    "description": "Retry-safe POST: the same key and body replay the stored "
    "answer (header Idempotent-Replayed: true) and apply nothing again; the same key with another "
    "body is a 422. Only successful answers are kept.",
}
CONFLICT = {
    "description": "Conflicting bookings (room, instructor or learner), listed in `conflicts`",
    "content": {
        "application/problem+json": {
            "schema": {
                "allOf": [
                    _ref("Problem"),
                    {"type": "object", "properties": {"conflicts": {"type": "array", "items": _ref("Conflict")}}},
                ]
            }
        }
    },
}
LOCAL_TIME = {
    "type": "string",
    "format": "date-time",
    "description": "Local time in Vietnam; without an offset it is taken as +07:00",
}


def _post(
    tag: str,
    summary: str,
    body: dict[str, Any],
    answer: dict[str, Any],
    *path_ids: str,
    status: str = "201",
    conflicts: bool = False,
) -> dict[str, Any]:
    responses = {status: _json(answer, "Created" if status == "201" else "OK"), **ERRORS}
    if conflicts:
        responses["409"] = CONFLICT
    return {
        "tags": [tag],
        "summary": summary,
        "parameters": [*(_id(name) for name in path_ids), IDEMPOTENCY_KEY],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": responses,
    }


def _courses_paths() -> dict[str, Any]:
    sessions = {"type": "object", "properties": {"items": {"type": "array", "items": _ref("Session")}}}
    course_write = {
        "type": "object",
        "required": ["unit_id", "code", "name", "category", "planned_hours"],
        "properties": {
            "unit_id": {"type": "integer", "description": "the unit whose catalogue holds it"},
            "code": {"type": "string", "maxLength": 40},
            "name": {"type": "string", "maxLength": 300},
            "category": {
                "enum": [
                    "literacy",
                    "needs_based",
                    "technology_transfer",
                    "digital_skills",
                    "policy_study",
                    "it_skills",
                ]
            },
            "planned_hours": {"type": "number", "exclusiveMinimum": 0},
            "min_attendance_share": {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.8},
            "requires_assessment": {"type": "boolean"},
            "description": {"type": "string"},
            "module_codes": {"type": "array", "items": {"type": "string"}},
        },
    }
    class_write = {
        "type": "object",
        "required": ["course_id", "clc_id", "name", "capacity", "starts_on", "ends_on"],
        "properties": {
            "course_id": {"type": "integer"},
            "clc_id": {"type": "integer"},
            "name": {"type": "string", "maxLength": 300},
            "capacity": {"type": "integer", "minimum": 1},
            "starts_on": {"type": "string", "format": "date"},
            "ends_on": {"type": "string", "format": "date"},
            "room_id": {"type": "integer", "description": "a room of the centre"},
            "target_group": {"enum": ["everyone", "association_officers", "association_members"]},
            "instructor_ids": {"type": "array", "items": {"type": "integer"}},
        },
    }
    single = {
        "type": "object",
        "required": ["starts_at", "ends_at"],
        "properties": {
            "starts_at": LOCAL_TIME,
            "ends_at": LOCAL_TIME,
            "room_id": {"type": "integer"},
            "place": {"type": "string", "maxLength": 200},
        },
    }
    recurring = {
        "type": "object",
        "required": ["first_day", "weekdays", "start", "end"],
        "properties": {
            "first_day": {"type": "string", "format": "date"},
            "weekdays": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "integer", "minimum": 0, "maximum": 6},
                "description": "0 = Monday … 6 = Sunday",
            },
            "start": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
            "end": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
            "every_weeks": {"type": "integer", "minimum": 1, "default": 1},
            "until": {"type": "string", "format": "date", "description": "until or count (or both)"},
            "count": {"type": "integer", "minimum": 1},
            "room_id": {"type": "integer"},
            "place": {"type": "string", "maxLength": 200},
        },
        "description": "Holidays of the commune and its ancestors (Tết) are skipped and do not use up the count.",
    }
    enrol = {
        "type": "object",
        "description": "Exactly one of the properties",
        "properties": {
            "person_id": {"type": "integer"},
            "person_ids": {"type": "array", "items": {"type": "integer"}, "description": "enrolled in this order"},
            "village_id": {"type": "integer"},
            "household_id": {"type": "integer"},
            "association_role": {"enum": ["chair", "vice_chair", "officer", "member"]},
        },
    }
    marks = {
        "type": "object",
        "required": ["marks"],
        "properties": {
            "device": {"type": "string", "maxLength": 100},
            "marks": {
                "type": "array",
                "minItems": 1,
                "maxItems": 1000,
                "items": {
                    "type": "object",
                    "required": ["person_id", "status", "recorded_at"],
                    "properties": {
                        "client_mark_id": {"type": "string", "maxLength": 64},
                        "person_id": {"type": "integer"},
                        "status": {"type": "string", "examples": ["present"]},
                        "recorded_at": {
                            "type": "string",
                            "format": "date-time",
                            "description": "when the mark was taken, with its offset (Z or +07:00)",
                        },
                    },
                },
            },
        },
    }
    class_filters = [
        {"name": "clc_id", "in": "query", "schema": {"type": "integer"}},
        {"name": "course_id", "in": "query", "schema": {"type": "integer"}},
        {
            "name": "from",
            "in": "query",
            "description": "classes running on or after this day",
            "schema": {"type": "string", "format": "date"},
        },
        {
            "name": "to",
            "in": "query",
            "description": "classes running on or before this day",
            "schema": {"type": "string", "format": "date"},
        },
    ]
    status_filter = {"name": "status", "in": "query", "schema": {"type": "string"}}
    listing = {
        "get": {
            "tags": ["courses"],
            "summary": "Courses of your catalogue (your units' and those above)",
            "parameters": [*PAGING, SEARCH, {"name": "category", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": _json(_page_of("Course")), **ERRORS},
        }
    }
    return {
        "/courses": {**listing, "post": _post("courses", "Create a course", course_write, _ref("Course"))},
        "/courses/{course_id}": _item("courses", "Course", "course_id"),
        "/classes": {
            "get": {
                "tags": ["classes"],
                "summary": "Classes in your scope",
                "parameters": [*PAGING, *class_filters],
                "responses": {"200": _json(_page_of("Class")), **ERRORS},
            },
            "post": _post("classes", "Create a class", class_write, _ref("Class")),
        },
        "/classes/{class_id}": _item("classes", "ClassDetail", "class_id"),
        "/classes/{class_id}/sessions": {
            "get": {
                "tags": ["sessions"],
                "summary": "Sessions of a class",
                "parameters": [_id("class_id"), *PAGING, status_filter],
                "responses": {"200": _json(_page_of("Session")), **ERRORS},
            },
            "post": _post("sessions", "Schedule one session", single, sessions, "class_id", conflicts=True),
        },
        "/classes/{class_id}/sessions/recurring": {
            "post": _post("sessions", "Schedule recurring sessions", recurring, sessions, "class_id", conflicts=True)
        },
        "/sessions/{session_id}": {
            "get": _item("sessions", "Session", "session_id")["get"],
            "patch": {
                "tags": ["sessions"],
                "summary": "Reschedule a session (a new time, room or both)",
                "parameters": [_id("session_id")],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "starts_at": LOCAL_TIME,
                                    "ends_at": LOCAL_TIME,
                                    "room_id": {"type": "integer"},
                                },
                            }
                        }
                    },
                },
                "responses": {"200": _json(_ref("Session")), **ERRORS, "409": CONFLICT},
            },
        },
        "/sessions/{session_id}/cancel": {
            "post": _post(
                "sessions",
                "Cancel a session (kept in the attendance book)",
                {"type": "object", "properties": {"reason": {"type": "string", "maxLength": 300}}},
                _ref("Session"),
                "session_id",
                status="200",
            )
        },
        "/classes/{class_id}/enrolments": {
            "get": {
                "tags": ["enrolments"],
                "summary": "Enrolments of a class",
                "parameters": [_id("class_id"), *PAGING, status_filter],
                "responses": {"200": _json(_page_of("Enrolment")), **ERRORS},
            },
            "post": _post(
                "enrolments",
                "Enrol one learner, a list, or a village, household or association role",
                enrol,
                _ref("EnrolmentResult"),
                "class_id",
                status="200",
            ),
        },
        "/classes/{class_id}/enrolments/{person_id}": {
            "delete": {
                "tags": ["enrolments"],
                "summary": "Withdraw a learner; the first on the waiting list takes the seat",
                "parameters": [_id("class_id"), _id("person_id")],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "class_id": {"type": "integer"},
                                "person_id": {"type": "integer"},
                                "status": {"const": "withdrawn"},
                                "promoted": {"type": ["integer", "null"]},
                            },
                        }
                    ),
                    **ERRORS,
                },
            }
        },
        "/sessions/{session_id}/attendance": {
            "get": {
                "tags": ["attendance"],
                "summary": "The marks of a session",
                "parameters": [_id("session_id"), *PAGING],
                "responses": {"200": _json(_page_of("Mark")), **ERRORS},
            },
            "post": _post(
                "attendance",
                "A batch of marks for a session (all or nothing; the latest recorded_at "
                "wins; errors name the mark, e.g. marks[2].person_id)",
                marks,
                _ref("AttendanceResult"),
                "session_id",
                status="200",
            ),
        },
        "/classes/{class_id}/completions": {
            "get": {
                "tags": ["completions"],
                "summary": "Completions of a class (learning records) and their certificates",
                "parameters": [_id("class_id"), *PAGING],
                "responses": {"200": _json(_page_of("Completion")), **ERRORS},
            }
        },
        "/certificates/{code}": {
            "get": {
                "tags": ["certificates"],
                "summary": "Verify a certificate (public; the minimum of personal data)",
                "security": [],
                "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json(_ref("CertificateVerification")), "404": PROBLEM},
            }
        },
    }


def _it_paths() -> dict[str, Any]:
    """The IT-skills programme (courses/it_api.py)."""
    certificate_id = _id("it_certificate_id")
    status = {"name": "status", "in": "query", "schema": {"enum": ["pending", "verified", "rejected"]}}
    person = {"name": "person_id", "in": "query", "schema": {"type": "integer"}}
    period = [
        {
            "name": "from",
            "in": "query",
            "schema": {"type": "string", "format": "date"},
            "description": "first day of the period (default: 1 January of this year)",
        },
        {
            "name": "to",
            "in": "query",
            "schema": {"type": "string", "format": "date"},
            "description": "last day of the period (default: 31 December of this year)",
        },
    ]
    upload = {
        "type": "object",
        "required": ["number", "issuer", "issued_on", "file"],
        "properties": {
            "person_id": {
                "type": "integer",
                "description": "default: the caller's own person; another person needs "
                "the certificate-verification permission over them",
            },
            "number": {"type": "string", "maxLength": 60},
            "issuer": {"type": "string", "maxLength": 300, "description": "the accredited test centre"},
            "issued_on": {"type": "string", "format": "date"},
            "file": {
                "type": "string",
                "format": "binary",
                "description": "PDF, JPEG or PNG within LMS_MAX_EVIDENCE_BYTES",
            },
        },
    }
    return {
        "/it/modules": {
            "get": {
                "tags": ["it-skills"],
                "summary": "Modules IU01–IU15, the standards' rules and the definition of trained in IT",
                "responses": {"200": _json(_ref("ItFramework")), **ERRORS},
            }
        },
        "/it/me/progress": {
            "get": {
                "tags": ["it-skills"],
                "summary": "The caller's own modules and standards",
                "responses": {"200": _json(_ref("ItProgress")), **ERRORS},
            }
        },
        "/it/persons/{person_id}/progress": {
            "get": {
                "tags": ["it-skills"],
                "summary": "A person's modules (done, where from, missing) and standards met",
                "parameters": [_id("person_id")],
                "responses": {"200": _json(_ref("ItProgress")), **ERRORS},
            }
        },
        "/it/certificates": {
            "get": {
                "tags": ["it-skills"],
                "summary": "National IT certificates: your own and those in your scope",
                "parameters": [*PAGING, status, person],
                "responses": {"200": _json(_page_of("ItCertificate")), **ERRORS},
            },
            "post": {
                "tags": ["it-skills"],
                "summary": "Record a national IT certificate with its scan (pending)",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": upload}}},
                "responses": {"201": _json(_ref("ItCertificate"), "Created"), **ERRORS},
            },
        },
        "/it/certificates/{it_certificate_id}": {
            "get": {
                "tags": ["it-skills"],
                "summary": "One certificate",
                "parameters": [certificate_id],
                "responses": {"200": _json(_ref("ItCertificate")), **ERRORS},
            }
        },
        "/it/certificates/{it_certificate_id}/scan": {
            "get": {
                "tags": ["it-skills"],
                "summary": "The scan (private download; the person or a manager in scope)",
                "parameters": [certificate_id],
                "responses": {
                    "200": {
                        "description": "The file",
                        "content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}},
                    },
                    **ERRORS,
                },
            }
        },
        "/it/certificates/{it_certificate_id}/verify": {
            "post": _post(
                "it-skills",
                "Verify: the person gets the basic modules",
                {"type": "object"},
                _ref("ItCertificate"),
                "it_certificate_id",
                status="200",
            )
        },
        "/it/certificates/{it_certificate_id}/reject": {
            "post": _post(
                "it-skills",
                "Reject (or withdraw a verification): the modules it granted are removed",
                {
                    "type": "object",
                    "required": ["reason"],
                    "properties": {"reason": {"type": "string", "maxLength": 300}},
                },
                _ref("ItCertificate"),
                "it_certificate_id",
                status="200",
            )
        },
        "/it/figures": {
            "get": {
                "tags": ["it-skills"],
                "summary": "The plan figures of a commune or a province: numerators and "
                "denominators, in total and per commune",
                "parameters": [
                    {"name": "unit_id", "in": "query", "required": True, "schema": {"type": "integer"}},
                    *period,
                ],
                "responses": {"200": _json(_ref("ItFigures")), **ERRORS},
            }
        },
    }


def _it_schemas() -> dict[str, Any]:
    integer, text, codes = {"type": "integer"}, {"type": "string"}, {"type": "array", "items": {"type": "string"}}
    ratio = {"type": "object", "properties": {"numerator": integer, "denominator": integer, "denominator_is": text}}
    nullable_day = {"type": ["string", "null"], "format": "date"}
    return {
        "ItFramework": {
            "type": "object",
            "properties": {
                "source": text,
                "modules": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "code": text,
                            "level": {"enum": ["basic", "advanced"]},
                            "name_vi": text,
                            "name_en": text,
                        },
                    },
                },
                "standards": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "code": text,
                            "name_vi": text,
                            "name_en": text,
                            "requires_all": codes,
                            "requires_standards": codes,
                            "choose_from": codes,
                            "at_least": integer,
                        },
                    },
                },
                "certificate_grants": codes,
                "trained_in_it": {
                    "type": "object",
                    "properties": {"standard": {"type": ["string", "null"]}, "modules": codes},
                },
            },
        },
        "ItProgress": {
            "type": "object",
            "properties": {
                "person_id": integer,
                "full_name": text,
                "modules": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "code": text,
                            "level": text,
                            "done": {"type": "boolean"},
                            "done_on": nullable_day,
                            "sources": {"type": "array", "items": text, "description": "class:12 or itcert:3"},
                        },
                    },
                },
                "standards": {"type": "object", "additionalProperties": {"type": "boolean"}},
                "trained_in_it": {"type": "boolean"},
                "missing_basic": codes,
            },
        },
        "ItCertificate": {
            "type": "object",
            "properties": {
                "id": integer,
                "person_id": integer,
                "number": text,
                "issuer": text,
                "issued_on": {"type": "string", "format": "date"},
                "status": {"enum": ["pending", "verified", "rejected"]},
                "note": text,
                "recorded_at": {"type": "string", "format": "date-time"},
                "decided_at": {"type": ["string", "null"], "format": "date-time"},
                "scan_url": text,
            },
        },
        "ItFigures": {
            "type": "object",
            "properties": {
                "unit_id": integer,
                "from": {"type": "string", "format": "date"},
                "to": {"type": "string", "format": "date"},
                "trained_in_it": {"type": "object"},
                "officers_organising_and_trained": ratio,
                "associations_leader_manages_clc": ratio,
                "policy_study": ratio,
                "communes": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "commune_id": integer,
                            "name": text,
                            "officers": integer,
                            "meets_basic": integer,
                            "trained": integer,
                            "organised": integer,
                            "organised_and_trained": integer,
                            "has_association": {"type": "boolean"},
                            "leader_on_board": {"type": "boolean"},
                            "members": integer,
                            "studied_policy": integer,
                        },
                    },
                },
            },
        },
    }


def _courses_schemas() -> dict[str, Any]:
    integer, text, day = {"type": "integer"}, {"type": "string"}, {"type": "string", "format": "date"}
    utc = {"type": "string", "format": "date-time"}
    return {
        "Course": {
            "type": "object",
            "properties": {
                "id": integer,
                "unit_id": integer,
                "code": text,
                "name": text,
                "category": text,
                "planned_hours": {"type": "number"},
                "min_attendance_share": {"type": "number"},
                "requires_assessment": {"type": "boolean"},
                "description": text,
                "module_codes": {"type": "array", "items": text},
                "active": {"type": "boolean"},
            },
        },
        "Class": {
            "type": "object",
            "properties": {
                "id": integer,
                "course_id": integer,
                "course_name": text,
                "clc_id": integer,
                "commune_id": integer,
                "name": text,
                "room_id": {"type": ["integer", "null"]},
                "capacity": integer,
                "target_group": text,
                "starts_on": day,
                "ends_on": day,
            },
        },
        "ClassDetail": {
            "allOf": [
                _ref("Class"),
                {
                    "type": "object",
                    "properties": {
                        "instructors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"person_id": integer, "full_name": text, "role": text},
                            },
                        },
                        "counts": {
                            "type": "object",
                            "properties": dict.fromkeys(
                                (
                                    "enrolled",
                                    "waitlisted",
                                    "withdrawn",
                                    "seats_left",
                                    "sessions_scheduled",
                                    "sessions_cancelled",
                                    "sessions_held",
                                ),
                                integer,
                            ),
                        },
                    },
                },
            ]
        },
        "Session": {
            "type": "object",
            "properties": {
                "id": integer,
                "class_id": integer,
                "starts_at": LOCAL_TIME,
                "ends_at": LOCAL_TIME,
                "room_id": {"type": ["integer", "null"]},
                "place": text,
                "status": {"enum": ["scheduled", "cancelled"]},
                "original_starts_at": {"type": ["string", "null"], "format": "date-time"},
                "note": text,
            },
        },
        "Conflict": {
            "type": "object",
            "properties": {
                "resource": {"enum": ["room", "instructor", "learner"]},
                "resource_id": integer,
                "session_id": integer,
                "class_id": integer,
                "starts_at": text,
                "ends_at": text,
            },
        },
        "Enrolment": {
            "type": "object",
            "properties": {
                "person_id": integer,
                "full_name": text,
                "status": {"enum": ["enrolled", "waitlisted", "withdrawn"]},
                "enrolled_at": utc,
                "withdrawn_at": {"type": ["string", "null"], "format": "date-time"},
                "assessment_passed": {"type": ["boolean", "null"]},
            },
        },
        "EnrolmentResult": {
            "type": "object",
            "properties": {
                "class_id": integer,
                "enrolled": {"type": "array", "items": integer},
                "waitlisted": {"type": "array", "items": integer},
                "already": {"type": "array", "items": integer},
            },
        },
        "Mark": {
            "type": "object",
            "properties": {
                "person_id": integer,
                "status": text,
                "recorded_at": utc,
                "device": text,
                "client_mark_id": {"type": ["string", "null"]},
                "received_at": utc,
            },
        },
        "AttendanceResult": {
            "type": "object",
            "properties": {
                "session_id": integer,
                "created": integer,
                "updated": integer,
                "unchanged": {"type": "integer", "description": "retries, and marks older than the one stored"},
            },
        },
        "Completion": {
            "type": "object",
            "properties": {
                "person_id": integer,
                "full_name": text,
                "kind": {"enum": ["class_completion", "policy_study"]},
                "category": text,
                "hours": {"type": "number"},
                "year": integer,
                "completed_on": day,
                "certificate": {
                    "type": ["object", "null"],
                    "properties": {"code": text, "issued_on": day, "revoked": {"type": "boolean"}},
                },
            },
        },
        "CertificateVerification": {
            "type": "object",
            "properties": {
                "code": text,
                "valid": {"type": "boolean"},
                "status": {"enum": ["valid", "revoked"]},
                "issued_on": day,
                "revoked_on": {"type": ["string", "null"], "format": "date"},
                "learner": {"type": "string", "description": "family and middle names as initials: N. V. An"},
                "course": text,
                "class": text,
                "centre": text,
            },
        },
    }


# --- eligibility and assessments (lms/titles/api.py) ---------------------------------------------------------

ELIGIBILITY_FILTERS = [
    {
        "name": "unit_id",
        "in": "query",
        "description": "A village (its rows) or a commune or any unit above (the rows of the communes under it)",
        "schema": {"type": "integer"},
    },
    {
        "name": "organisation_id",
        "in": "query",
        "description": "The organisation and its current members",
        "schema": {"type": "integer"},
    },
    {
        "name": "household_id",
        "in": "query",
        "description": "The household and its members",
        "schema": {"type": "integer"},
    },
    {"name": "clan_id", "in": "query", "description": "The clan and its households", "schema": {"type": "integer"}},
    {
        "name": "title",
        "in": "query",
        "schema": {"enum": ["citizen", "family", "clan", "village_community", "unit", "commune_community"]},
    },
    {"name": "year", "in": "query", "schema": {"type": "integer"}},
    {"name": "status", "in": "query", "schema": {"enum": ["eligible", "not_eligible", "not_applicable"]}},
    {
        "name": "missing",
        "in": "query",
        "description": "Only rows missing this indicator (its code)",
        "schema": {"type": "string"},
    },
    {"name": "sort", "in": "query", "schema": {"enum": ["name", "score", "computed"], "default": "name"}},
]
ASSESSMENT_FILTERS = [
    {"name": "subject_type", "in": "query", "schema": {"type": "string"}},
    {"name": "subject_id", "in": "query", "schema": {"type": "integer"}},
    {"name": "year", "in": "query", "schema": {"type": "integer"}},
    {"name": "indicator", "in": "query", "schema": {"type": "string"}},
    {
        "name": "unverified",
        "in": "query",
        "description": "true: only self-assessments waiting for verification",
        "schema": {"type": "string", "enum": ["true"]},
    },
]
EVIDENCE_FILE = {
    "description": "The evidence file (PDF, JPEG or PNG), as a private download",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}


def _titles_eligibility_paths() -> dict[str, Any]:
    eligibility_page = {
        "allOf": [
            _page_of("Eligibility"),
            {
                "type": "object",
                "properties": {
                    "counts": {
                        "type": "object",
                        "description": "Rows of the list by status, whatever the status filter",
                        "properties": {
                            "eligible": {"type": "integer"},
                            "not_eligible": {"type": "integer"},
                            "not_applicable": {"type": "integer"},
                        },
                    }
                },
            },
        ]
    }
    assessment_write = {
        "type": "object",
        "required": ["subject_type", "subject_id", "year", "indicator", "value"],
        "properties": {
            "subject_type": {"enum": ["person", "household", "clan", "village", "organisation", "commune"]},
            "subject_id": {"type": "integer"},
            "year": {"type": "integer"},
            "indicator": {
                "type": "string",
                "description": "an assessed indicator of the active criteria set for the subject's title",
            },
            "value": {
                "type": ["number", "string"],
                "description": "points, 1/0 (met/not met) or per cent, as the indicator says",
            },
            "source": {"enum": ["evaluator", "self"], "default": "evaluator"},
            "evidence_ref": {"type": "string", "maxLength": 300},
            "note": {"type": "string", "maxLength": 2000},
        },
    }
    assessment_change = {
        "type": "object",
        "properties": {
            "value": {"type": ["number", "string"]},
            "source": {"enum": ["evaluator", "self"]},
            "evidence_ref": {"type": "string", "maxLength": 300},
            "note": {"type": "string", "maxLength": 2000},
            "remove_evidence": {"type": "boolean"},
        },
        "description": "A changed value or source of a self-assessment clears its verification",
    }
    one = [_id("assessment_id")]
    return {
        "/titles/eligibility": {
            "get": {
                "tags": ["titles"],
                "summary": "Eligibility in your scope, filtered",
                "parameters": [*PAGING, *ELIGIBILITY_FILTERS],
                "responses": {"200": _json(eligibility_page), **ERRORS},
            }
        },
        "/titles/eligibility/{eligibility_id}": _item("titles", "EligibilityDetail", "eligibility_id"),
        "/titles/assessments": {
            "get": {
                "tags": ["assessments"],
                "summary": "Assessments in your scope",
                "parameters": [*PAGING, *ASSESSMENT_FILTERS],
                "responses": {"200": _json(_page_of("Assessment")), **ERRORS},
            },
            "post": {
                "tags": ["assessments"],
                "summary": "Enter an assessed indicator value",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {"required": True, "content": {"application/json": {"schema": assessment_write}}},
                "responses": {"201": _json(_ref("Assessment"), "Created"), **ERRORS, "409": FROZEN_YEAR},
            },
        },
        "/titles/assessments/{assessment_id}": {
            "get": _item("assessments", "Assessment", "assessment_id")["get"],
            "patch": {
                "tags": ["assessments"],
                "summary": "Change an assessment",
                "parameters": one,
                "requestBody": {"required": True, "content": {"application/json": {"schema": assessment_change}}},
                "responses": {"200": _json(_ref("Assessment")), **ERRORS, "409": FROZEN_YEAR},
            },
            "delete": {
                "tags": ["assessments"],
                "summary": "Delete an assessment",
                "parameters": one,
                "responses": {"204": {"description": "Deleted"}, **ERRORS, "409": FROZEN_YEAR},
            },
        },
        "/titles/assessments/{assessment_id}/verify": {
            "post": {
                "tags": ["assessments"],
                "summary": "Verify a self-assessment (refused without evidence where the indicator needs it)",
                "parameters": [*one, IDEMPOTENCY_KEY],
                "responses": {"200": _json(_ref("Assessment")), **ERRORS, "409": FROZEN_YEAR},
            }
        },
        "/titles/assessments/{assessment_id}/evidence": {
            "get": {
                "tags": ["assessments"],
                "summary": "The evidence file",
                "parameters": one,
                "responses": {"200": EVIDENCE_FILE, **ERRORS},
            },
            "post": {
                "tags": ["assessments"],
                "summary": "Attach or replace the evidence file",
                "parameters": [*one, IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file"],
                                "properties": {"file": {"type": "string", "format": "binary"}},
                            }
                        }
                    },
                },
                "responses": {"200": _json(_ref("Assessment")), **ERRORS},
            },
        },
    }


def _titles_eligibility_schemas() -> dict[str, Any]:
    nullable_number = {"type": ["number", "null"]}
    return {
        "Eligibility": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "subject_type": {"type": "string"},
                "subject_id": {"type": "integer"},
                "subject_name": {"type": ["string", "null"]},
                "title": {"type": "string"},
                "year": {"type": "integer"},
                "commune_id": {"type": "integer"},
                "village_id": {"type": ["integer", "null"]},
                "criteria_set_id": {"type": "integer"},
                "eligible": {"type": "boolean"},
                "applicable": {
                    "type": "boolean",
                    "description": "false: outside the criteria set's own population (not applicable, not counted)",
                },
                "score": nullable_number,
                "level": {"type": ["integer", "null"]},
                "missing": {"type": "array", "items": {"type": "string"}},
                "computed_at": {"type": "string", "format": "date-time"},
            },
        },
        "EligibilityDetail": {
            "allOf": [
                _ref("Eligibility"),
                {
                    "type": "object",
                    "properties": {
                        "criteria_set": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "integer"},
                                "code": {"type": "string"},
                                "version": {"type": "integer"},
                                "name": {"type": "string"},
                                "status": {"enum": ["official", "provisional"]},
                                "source": {"type": "string"},
                            },
                        },
                        "explanation": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "description": "The engine's breakdown "
                                "item (indicator, value, points or met, source, missing) with sentences in the "
                                "request's language",
                                "properties": {
                                    "indicator": {"type": "string"},
                                    "name": {"type": "string"},
                                    "kind": {"type": "string"},
                                    "satisfied": {"type": "boolean"},
                                    "source_text": {"type": "string"},
                                    "missing_text": {"type": "string"},
                                    "assessment_id": {"type": ["integer", "null"]},
                                },
                            },
                        },
                        "members": {"type": ["object", "null"], "description": "Query arguments of the members' list"},
                    },
                },
            ]
        },
        "Assessment": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "subject_type": {"type": "string"},
                "subject_id": {"type": "integer"},
                "year": {"type": "integer"},
                "indicator": {"type": "string"},
                "value": {"type": "number"},
                "source": {"enum": ["evaluator", "self"]},
                "counts": {"type": "boolean"},
                "verified_at": {"type": ["string", "null"], "format": "date-time"},
                "verified_by_id": {"type": ["integer", "null"]},
                "has_evidence": {"type": "boolean"},
                "evidence_file": {"type": "boolean"},
                "evidence_ref": {"type": "string"},
                "note": {"type": "string"},
                "commune_id": {"type": "integer"},
                "assessed_by_id": {"type": ["integer", "null"]},
                "assessed_at": {"type": "string", "format": "date-time"},
            },
        },
    }


# --- registrations and recognitions (lms/titles/recognition_api.py) ---------------------------------------------

TITLE_ENUM = {"enum": ["citizen", "family", "clan", "village_community", "unit", "commune_community"]}
RECOGNITION_STATUS_ENUM = {"enum": ["proposed", "recognised", "rejected", "revoked"]}
FROZEN_YEAR = {
    "description": "The subject's title is recognised for that year: its assessments are frozen",
    "content": {"application/problem+json": {"schema": _ref("Problem")}},
}
TRANSITION_CONFLICT = {
    "description": "The status no longer allows the change (decided by someone else meanwhile); "
    "`errors` names each recognition",
    "content": {"application/problem+json": {"schema": _ref("Problem")}},
}


def _titles_paths() -> dict[str, Any]:
    year = {"type": "integer", "minimum": 2000, "maximum": 2100}
    ids = {"type": "array", "minItems": 1, "maxItems": 5000, "items": {"type": "integer"}}
    filters = [
        {"name": "year", "in": "query", "schema": {"type": "integer"}},
        {"name": "title", "in": "query", "schema": TITLE_ENUM},
    ]
    reason = {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "maxLength": 2000}}}
    items = {"type": "object", "properties": {"items": {"type": "array", "items": _ref("Recognition")}}}

    def single(summary: str) -> dict[str, Any]:
        return {
            "post": {
                "tags": ["recognitions"],
                "summary": summary,
                "parameters": [_id("recognition_id")],
                "requestBody": {"required": True, "content": {"application/json": {"schema": reason}}},
                "responses": {"200": _json(_ref("Recognition")), "409": TRANSITION_CONFLICT, **ERRORS},
            }
        }

    return {
        "/titles/registrations": {
            "get": _list("registrations", "Registration", *filters)["get"],
            "post": _post(
                "registrations",
                "Register one subject (subject_id) or many (subject_ids) for a title "
                "and year; subjects registered before are listed in `already`",
                {
                    "type": "object",
                    "required": ["title", "year"],
                    "properties": {
                        "title": TITLE_ENUM,
                        "year": year,
                        "subject_id": {"type": "integer"},
                        "subject_ids": ids,
                    },
                },
                _ref("RegistrationResult"),
            ),
        },
        "/titles/registrations/import": {
            "post": {
                "tags": ["registrations"],
                "summary": "Register the subjects a spreadsheet lists; every error with its "
                "row and column; all or nothing",
                "parameters": [DRY_RUN],
                "requestBody": {
                    "required": True,
                    "content": {
                        "multipart/form-data": {
                            "schema": {
                                "type": "object",
                                "required": ["file", "commune_id", "title", "year"],
                                "properties": {
                                    "file": {"type": "string", "format": "binary"},
                                    "commune_id": {"type": "integer"},
                                    "title": TITLE_ENUM,
                                    "year": year,
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": _json(_ref("RegistrationResult"), "Dry run: what the file would register, nothing written"),
                    "201": _json(_ref("RegistrationResult"), "Created"),
                    **ERRORS,
                },
            }
        },
        "/titles/recognitions": _list(
            "recognitions",
            "Recognition",
            *filters,
            {"name": "status", "in": "query", "schema": RECOGNITION_STATUS_ENUM},
        ),
        "/titles/recognitions/{recognition_id}": _item("recognitions", "RecognitionDetail", "recognition_id"),
        "/titles/proposable": {
            "get": {
                "tags": ["recognitions"],
                "summary": "Eligible subjects of a commune not yet proposed",
                "parameters": [
                    *PAGING,
                    {"name": "commune_id", "in": "query", "required": True, "schema": {"type": "integer"}},
                    {"name": "year", "in": "query", "required": True, "schema": {"type": "integer"}},
                    {"name": "title", "in": "query", "required": True, "schema": TITLE_ENUM},
                    {"name": "village_id", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": _json(_page_of("Proposable")), **ERRORS},
            }
        },
        "/titles/recognitions/propose": {
            "post": _post(
                "recognitions",
                "Propose eligible subjects (all or nothing; a non-eligible one is named with what it lacks)",
                {
                    "type": "object",
                    "required": ["title", "year", "subject_ids"],
                    "properties": {"title": TITLE_ENUM, "year": year, "subject_ids": ids},
                },
                items,
            )
        },
        "/titles/recognitions/decide": {
            "post": {
                **_post(
                    "recognitions",
                    "Recognise proposals under one decision; an empty authority is taken from the "
                    "approvals configuration",
                    {
                        "type": "object",
                        "required": ["recognition_ids", "decision_number", "decision_date"],
                        "properties": {
                            "recognition_ids": ids,
                            "decision_number": {"type": "string", "maxLength": 60},
                            "decision_date": {"type": "string", "format": "date"},
                            "authority": {"type": "string", "maxLength": 200},
                        },
                    },
                    items,
                    status="200",
                ),
                "responses": {"200": _json(items), "409": TRANSITION_CONFLICT, **ERRORS},
            }
        },
        "/titles/recognitions/{recognition_id}/reject": single("Reject a proposal, with the reason"),
        "/titles/recognitions/{recognition_id}/revoke": single("Revoke a recognition, with the reason"),
        "/titles/verify/{code}": {
            "get": {
                "tags": ["recognitions"],
                "summary": "Public verification of a certificate of recognition",
                "security": [],
                "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json(_ref("RecognitionVerification")), "404": PROBLEM},
            }
        },
    }


def _titles_schemas() -> dict[str, Any]:
    integer, text, day = {"type": "integer"}, {"type": "string"}, {"type": "string", "format": "date"}
    maybe_day = {"type": ["string", "null"], "format": "date"}
    maybe_text = {"type": ["string", "null"]}
    return {
        "Registration": {
            "type": "object",
            "properties": {
                "id": integer,
                "subject_type": text,
                "subject_id": integer,
                "subject_name": maybe_text,
                "title": TITLE_ENUM,
                "year": integer,
                "commune_id": integer,
                "registered_on": day,
            },
        },
        "RegistrationResult": {
            "type": "object",
            "properties": {
                "title": TITLE_ENUM,
                "year": integer,
                "created": {"type": "array", "items": integer},
                "already": {"type": "array", "items": integer},
                "dry_run": {"type": "boolean"},
                "preview": {"type": "object", "description": "counts, first rows of each kind, what follows"},
            },
        },
        "Proposable": {
            "type": "object",
            "properties": {
                "subject_type": text,
                "subject_id": integer,
                "subject_name": maybe_text,
                "village_id": {"type": ["integer", "null"]},
                "score": {"type": ["number", "null"]},
                "level": {"type": ["integer", "null"]},
            },
        },
        "Recognition": {
            "type": "object",
            "properties": {
                "id": integer,
                "subject_type": text,
                "subject_id": integer,
                "subject_name": maybe_text,
                "title": TITLE_ENUM,
                "year": integer,
                "level": {"type": ["integer", "null"]},
                "status": RECOGNITION_STATUS_ENUM,
                "commune_id": integer,
                "village_id": {"type": ["integer", "null"]},
                "score": {"type": ["number", "null"]},
                "criteria_set_id": {"type": ["integer", "null"]},
                "decision_number": maybe_text,
                "decision_date": maybe_day,
                "authority": maybe_text,
                "valid_until": maybe_day,
                "certificate_code": maybe_text,
                "reason": maybe_text,
                "proposed_at": {"type": "string", "format": "date-time"},
                "revoked_at": {"type": ["string", "null"], "format": "date-time"},
            },
        },
        "RecognitionDetail": {
            "allOf": [
                _ref("Recognition"),
                {
                    "type": "object",
                    "properties": {
                        "breakdown": {
                            "type": "array",
                            "items": {"type": "object"},
                            "description": "the eligibility snapshot the proposal was based on",
                        }
                    },
                },
            ]
        },
        "RecognitionVerification": {
            "type": "object",
            "properties": {
                "code": text,
                "title": TITLE_ENUM,
                "title_name": text,
                "year": integer,
                "level": {"type": ["integer", "null"]},
                "status": {"enum": ["valid", "expired", "revoked"]},
                "valid": {"type": "boolean"},
                "valid_until": maybe_day,
                "decision_number": text,
                "decision_date": maybe_day,
                "authority": text,
                "revoked_on": maybe_day,
                "holder": {
                    "type": "string",
                    "description": "persons and households: family and middle names as initials (Hộ N. V. An)",
                },
                "commune": text,
            },
        },
    }


# --- plan targets (lms/targets/api.py) ------------------------------------------------------------------------


def _targets_paths() -> dict[str, Any]:
    def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
        return {"name": name, "in": "query", "schema": schema, "description": description}

    values_filters = [
        query("unit", {"type": "integer"}, "A unit id in your scope (default: every unit in your scope)"),
        query(
            "below",
            {"enum": ["self", "children", "communes"], "default": "self"},
            "With unit: the unit itself, its children, or every commune under it",
        ),
        query("plan", {"type": "string"}, "A plan code, e.g. kon-tum-1514-2022 (default: every active plan)"),
        query("indicator", {"type": "string"}, "An indicator code, e.g. family"),
        query(
            "period",
            {"type": "string", "pattern": "^[0-9]{4}(-[0-9]{2})?$"},
            "A year (2025: the year-end value) or a month (2025-06); default: this year",
        ),
        query(
            "structure",
            {"enum": ["current", "pre2025"], "default": "current"},
            "Today's map, or the pre-2025 one (values carried through the lineage shares)",
        ),
        query(
            "basis",
            {"enum": ["official", "projection"], "default": "official"},
            "Recognitions, or eligibility (a projection)",
        ),
    ]
    return {
        "/targets/plans": {
            "get": {
                "tags": ["targets"],
                "summary": "Active plan versions",
                "responses": {
                    "200": _json({"type": "object", "properties": {"items": {"type": "array", "items": _ref("Plan")}}}),
                    **ERRORS,
                },
            }
        },
        "/targets/plans/{code}": {
            "get": {
                "tags": ["targets"],
                "summary": "A plan with its indicators, definitions and targets",
                "parameters": [
                    {"name": "code", "in": "path", "required": True, "schema": {"type": "string"}},
                    query("version", {"type": "integer"}, "A version (default: the active one)"),
                ],
                "responses": {"200": _json(_ref("PlanDetail")), **ERRORS},
            }
        },
        "/targets/values": {
            "get": {
                "tags": ["targets"],
                "summary": "Indicator values (numerator, denominator, share, target) in your scope",
                "parameters": [*PAGING, *values_filters],
                "responses": {"200": _json(_page_of("IndicatorValue")), **ERRORS},
            }
        },
        "/targets/recompute": {
            "post": {
                "tags": ["targets"],
                "summary": "Queue the recomputation of a unit's communes for a year",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["unit_id", "year"],
                                "properties": {"unit_id": {"type": "integer"}, "year": {"type": "integer"}},
                            }
                        }
                    },
                },
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "properties": {
                                "unit_id": {"type": "integer"},
                                "year": {"type": "integer"},
                                "status": {"const": "queued"},
                            },
                        },
                        "Accepted",
                    ),
                    **ERRORS,
                },
            }
        },
    }


def _targets_schemas() -> dict[str, Any]:
    target = {
        "type": "object",
        "properties": {
            "year": {"type": "integer"},
            "share": {"type": "number", "description": "per cent"},
            "area_class": {"type": ["string", "null"]},
            "provisional": {"type": "boolean"},
        },
    }
    return {
        "Target": target,
        "Plan": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "version": {"type": "integer"},
                "name": {"type": "string"},
                "source": {"type": "string"},
                "unit_id": {"type": "integer"},
                "active": {"type": "boolean"},
                "loaded_at": {"type": "string", "format": "date-time"},
                "indicator_count": {"type": "integer"},
            },
        },
        "PlanDetail": {
            "allOf": [
                _ref("Plan"),
                {
                    "type": "object",
                    "properties": {
                        "indicators": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "integer"},
                                    "code": {"type": "string"},
                                    "name": {"type": "string"},
                                    "name_en": {"type": "string"},
                                    "source_ref": {"type": "string"},
                                    "provisional": {"type": "boolean"},
                                    "denominator_text": {"type": "string"},
                                    "numerator": {"type": "object"},
                                    "denominator": {"type": "object"},
                                    "targets": {"type": "array", "items": _ref("Target")},
                                },
                            },
                        }
                    },
                },
            ]
        },
        "IndicatorValue": {
            "type": "object",
            "properties": {
                "unit": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "code": {"type": "string"},
                        "name": {"type": "string"},
                        "level": {"type": "string"},
                        "area_class": {"type": "string"},
                    },
                },
                "plan": {"type": "string"},
                "indicator": {"type": "string"},
                "indicator_id": {"type": "integer"},
                "period_end": {"type": "string", "format": "date"},
                "period_kind": {"enum": ["year", "month"]},
                "structure": {"enum": ["current", "pre2025"]},
                "basis": {"enum": ["official", "projection"]},
                "numerator": {"type": "number"},
                "denominator": {"type": "number"},
                "share": {
                    "type": ["number", "null"],
                    "description": "per cent; null when the denominator is 0 (no data)",
                },
                "target": {
                    "oneOf": [_ref("Target"), {"type": "null"}],
                    "description": "the milestone that applies to the period's year (the commune's area "
                    "class where the plan sets one)",
                },
                "computed_at": {"type": "string", "format": "date-time"},
            },
        },
    }


def document() -> dict[str, Any]:
    person_write = {
        "type": "object",
        "properties": {
            "full_name": {"type": "string", "maxLength": 200},
            "birth_date": {"type": "string", "format": "date"},
            "sex": {"enum": ["M", "F"]},
            "occupation_group": {"enum": ["worker", "official", "pupil", "other"]},
            "relation_to_head": {"type": "string"},
            "phone": {"type": "string"},
            "ethnicity": {"type": "string", "description": "sensitive; needs the personal-data permission"},
            "id_number": {"type": "string", "pattern": "^[0-9]{12}$", "description": "write-only"},
            "household_id": {"type": "integer"},
            "unit_id": {"type": "integer"},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Community learning centres LMS",
            "version": "1",
            "description": "Scoped to the caller's units. Errors are application/problem+json with an "
            "`errors` list of {field, message}.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": {
            "/openapi.json": {
                "get": {
                    "tags": ["meta"],
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": _json({"type": "object"})},
                }
            },
            "/units": _list(
                "units",
                "Unit",
                SEARCH,
                {"name": "parent_id", "in": "query", "schema": {"type": "integer"}},
                {
                    "name": "level",
                    "in": "query",
                    "schema": {"enum": ["country", "province", "district", "commune", "village"]},
                },
            ),
            "/units/{unit_id}": _item("units", "UnitDetail", "unit_id"),
            "/persons": {
                "get": _list(
                    "persons", "Person", SEARCH, {"name": "household_id", "in": "query", "schema": {"type": "integer"}}
                )["get"],
                "post": {
                    "tags": ["persons"],
                    "summary": "Create a person",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {**person_write, "required": ["full_name"]}}},
                    },
                    "responses": {"201": _json(_ref("Person"), "Created"), **ERRORS},
                },
            },
            "/persons/{person_id}": {
                "get": _item("persons", "Person", "person_id")["get"],
                "patch": {
                    "tags": ["persons"],
                    "summary": "Change a person",
                    "parameters": [_id("person_id")],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": person_write}}},
                    "responses": {"200": _json(_ref("Person")), **ERRORS},
                },
            },
            "/households": _list("households", "Household"),
            "/households/{household_id}": _item("households", "Household", "household_id"),
            "/organisations": _list("organisations", "Organisation", SEARCH),
            "/organisations/{organisation_id}": _item("organisations", "Organisation", "organisation_id"),
            "/clcs": _list("clcs", "Clc", SEARCH),
            "/clcs/{clc_id}": _item("clcs", "Clc", "clc_id"),
            "/imports": {
                "post": {
                    "tags": ["imports"],
                    "summary": "Upload a spreadsheet; it is validated and applied by a worker",
                    "parameters": [DRY_RUN],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "required": ["kind", "unit_id", "file"],
                                    "properties": {
                                        "kind": {"enum": ["villages", "households", "organisations", "officers"]},
                                        "unit_id": {"type": "integer"},
                                        "file": {"type": "string", "format": "binary"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"202": _json(_ref("ImportJob"), "Accepted"), **ERRORS},
                }
            },
            "/imports/{job_id}": _item("imports", "ImportJob", "job_id"),
            "/imports/{job_id}/confirm": {
                "post": {
                    "tags": ["imports"],
                    "summary": "Apply a dry run's preview, and only if the file would still change exactly that",
                    "parameters": [_id("job_id")],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["preview_digest"],
                                    "properties": {"preview_digest": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "responses": {"202": _json(_ref("ImportJob"), "Accepted"), **ERRORS},
                }
            },
            **_courses_paths(),
            **_targets_paths(),
            **_it_paths(),
            **_titles_eligibility_paths(),
            **_titles_paths(),
            **_titles_run_paths(),
            **_credentials_paths(),
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                            },
                        },
                    },
                },
                "Unit": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "code": {"type": "string"},
                        "name": {"type": "string"},
                        "kind": {"type": "string"},
                        "level": {"type": "string"},
                        "parent_id": {"type": ["integer", "null"]},
                        "area_class": {"type": "string"},
                        "valid_from": {"type": ["string", "null"], "format": "date"},
                        "valid_to": {"type": ["string", "null"], "format": "date"},
                    },
                },
                "UnitDetail": {
                    "allOf": [
                        _ref("Unit"),
                        {
                            "type": "object",
                            "properties": {
                                "successors": {"type": "array", "items": {"type": "object"}},
                                "predecessors": {"type": "array", "items": {"type": "object"}},
                                "counts": {"type": "object"},
                            },
                        },
                    ]
                },
                "Person": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "full_name": {"type": "string"},
                        "birth_date": {"type": ["string", "null"], "format": "date"},
                        "sex": {"type": ["string", "null"]},
                        "occupation_group": {"type": "string"},
                        "household_id": {"type": ["integer", "null"]},
                        "unit_id": {"type": "integer"},
                        "relation_to_head": {"type": ["string", "null"]},
                        "id_number_masked": {"type": ["string", "null"]},
                        "ethnicity": {"type": ["string", "null"]},
                    },
                },
                "Household": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "code": {"type": "string"},
                        "village_id": {"type": "integer"},
                        "address": {"type": "string"},
                        "members": {"type": "array", "items": _ref("Person")},
                    },
                },
                "Organisation": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "code": {"type": "string"},
                        "name": {"type": "string"},
                        "kind": {"type": "string"},
                        "managing_level": {"type": "string"},
                        "commune_id": {"type": "integer"},
                        "address": {"type": "string"},
                    },
                },
                "Clc": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "commune_id": {"type": "integer"},
                        "address": {"type": "string"},
                        "established_on": {"type": ["string", "null"]},
                        "board": {"type": "array", "items": {"type": "object"}},
                    },
                },
                "ImportJob": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "kind": {"type": "string"},
                        "filename": {"type": "string"},
                        "status": {"enum": ["pending", "running", "previewed", "succeeded", "failed"]},
                        "dry_run": {"type": "boolean"},
                        "preview": {"type": ["object", "null"], "description": "counts, first rows of each kind"},
                        "preview_digest": {"type": ["string", "null"]},
                        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                        "total_rows": {"type": "integer"},
                        "processed_rows": {"type": "integer"},
                        "message": {"type": "string"},
                        "summary": {"type": "object"},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "row": {"type": "integer"},
                                    "column": {"type": "string"},
                                    "message": {"type": "string"},
                                    "message_vi": {"type": "string"},
                                },
                            },
                        },
                        "unit_id": {"type": "integer"},
                    },
                },
                **_courses_schemas(),
                **_targets_schemas(),
                **_it_schemas(),
                **_titles_eligibility_schemas(),
                **_titles_schemas(),
                **_titles_run_schemas(),
            },
        },
    }


# --- titles: evaluation runs (lms/titles/run_api.py) -------------------------------------------------------------


def _titles_run_paths() -> dict[str, Any]:
    return {
        "/titles/runs": {
            "get": {
                "tags": ["titles"],
                "summary": "Evaluation runs of units in your scope, newest first",
                "parameters": [
                    *PAGING,
                    UNIT_FILTER,
                    {"name": "year", "in": "query", "schema": {"type": "integer"}},
                    {"name": "status", "in": "query", "schema": {"enum": ["queued", "running", "done", "failed"]}},
                ],
                "responses": {"200": _json(_page_of("EvaluationRun")), **ERRORS},
            },
            "post": {
                "tags": ["titles"],
                "summary": "Evaluate every commune under a unit for a year (TITLES_ADMIN); "
                "follow the run at its Location",
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["unit_id", "year"],
                                "properties": {
                                    "unit_id": {
                                        "type": "integer",
                                        "description": "a current commune, province or the country",
                                    },
                                    "year": {"type": "integer", "minimum": 2000, "maximum": 2100},
                                },
                            }
                        }
                    },
                },
                "responses": {"202": _json(_ref("EvaluationRunDetail"), "Accepted"), **ERRORS},
            },
        },
        "/titles/runs/{run_id}": _item("titles", "EvaluationRunDetail", "run_id"),
    }


def _titles_run_schemas() -> dict[str, Any]:
    return {
        "EvaluationRun": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "unit_id": {"type": "integer"},
                "year": {"type": "integer"},
                "kind": {"enum": ["full", "reconcile"]},
                "status": {"enum": ["queued", "running", "done", "failed"]},
                "total": {"type": "integer", "description": "communes in the run"},
                "done": {"type": "integer", "description": "communes evaluated"},
                "failed": {"type": "integer", "description": "communes that failed"},
                "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                "summary": {
                    "type": "object",
                    "description": "once closed: communes, evaluated, failed, changed, "
                    "drift, and per title subjects / eligible / changed",
                },
                "message": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "started_at": {"type": ["string", "null"], "format": "date-time"},
                "finished_at": {"type": ["string", "null"], "format": "date-time"},
            },
        },
        "EvaluationRunDetail": {
            "allOf": [
                _ref("EvaluationRun"),
                {
                    "type": "object",
                    "properties": {
                        "failures": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"commune_id": {"type": "integer"}, "message": {"type": "string"}},
                            },
                        }
                    },
                },
            ]
        },
    }


def _credentials_paths() -> dict[str, Any]:
    from lms.credentials.api import openapi_paths

    return openapi_paths()


@bp.get("/openapi.json")
def openapi_json():
    return document()
