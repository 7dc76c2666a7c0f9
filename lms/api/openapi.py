"""The OpenAPI 3.1 document of /api/v1. A test compares it with the app's URL map, so it cannot drift."""

from __future__ import annotations

from typing import Any

from lms.api import bp


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _page_of(name: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "page", "per_page", "total"], "properties": {
        "items": {"type": "array", "items": _ref(name)}, "page": {"type": "integer"},
        "per_page": {"type": "integer"}, "total": {"type": "integer"}}}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PROBLEM = {"description": "Problem", "content": {"application/problem+json": {"schema": _ref("Problem")}}}
ERRORS = {"401": PROBLEM, "403": PROBLEM, "404": PROBLEM, "422": PROBLEM}
PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500}},
]
UNIT_FILTER = {"name": "unit_id", "in": "query", "description": "Only records in this unit's subtree",
               "schema": {"type": "integer"}}
SEARCH = {"name": "q", "in": "query", "description": "Name contains (diacritics optional: Nguyen = Nguyễn)",
          "schema": {"type": "string"}}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}


def _list(tag: str, schema: str, *extra: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"tags": [tag], "summary": f"List {tag} in your scope",
                    "parameters": [*PAGING, UNIT_FILTER, *extra],
                    "responses": {"200": _json(_page_of(schema)), **ERRORS}}}


def _item(tag: str, schema: str, id_name: str) -> dict[str, Any]:
    return {"get": {"tags": [tag], "summary": f"One of the {tag}", "parameters": [_id(id_name)],
                    "responses": {"200": _json(_ref(schema)), **ERRORS}}}


def document() -> dict[str, Any]:
    person_write = {"type": "object", "properties": {
        "full_name": {"type": "string", "maxLength": 200}, "birth_date": {"type": "string", "format": "date"},
        "sex": {"enum": ["M", "F"]}, "occupation_group": {"enum": ["worker", "official", "pupil", "other"]},
        "relation_to_head": {"type": "string"}, "phone": {"type": "string"},
        "ethnicity": {"type": "string", "description": "sensitive; needs the personal-data permission"},
        "id_number": {"type": "string", "pattern": "^[0-9]{12}$", "description": "write-only"},
        "household_id": {"type": "integer"}, "unit_id": {"type": "integer"}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Community learning centres LMS", "version": "1",
                 "description": "Scoped to the caller's units. Errors are application/problem+json with an "
                                "`errors` list of {field, message}."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"cookie": []}],
        "paths": {
            "/openapi.json": {"get": {"tags": ["meta"], "summary": "This document", "security": [],
                                      "responses": {"200": _json({"type": "object"})}}},
            "/units": _list("units", "Unit", SEARCH,
                            {"name": "parent_id", "in": "query", "schema": {"type": "integer"}},
                            {"name": "level", "in": "query",
                             "schema": {"enum": ["country", "province", "district", "commune", "village"]}}),
            "/units/{unit_id}": _item("units", "UnitDetail", "unit_id"),
            "/persons": {
                "get": _list("persons", "Person", SEARCH,
                             {"name": "household_id", "in": "query", "schema": {"type": "integer"}})["get"],
                "post": {"tags": ["persons"], "summary": "Create a person",
                         "requestBody": {"required": True, "content": {"application/json": {
                             "schema": {**person_write, "required": ["full_name"]}}}},
                         "responses": {"201": _json(_ref("Person"), "Created"), **ERRORS}},
            },
            "/persons/{person_id}": {
                "get": _item("persons", "Person", "person_id")["get"],
                "patch": {"tags": ["persons"], "summary": "Change a person", "parameters": [_id("person_id")],
                          "requestBody": {"required": True,
                                          "content": {"application/json": {"schema": person_write}}},
                          "responses": {"200": _json(_ref("Person")), **ERRORS}},
            },
            "/households": _list("households", "Household"),
            "/households/{household_id}": _item("households", "Household", "household_id"),
            "/organisations": _list("organisations", "Organisation", SEARCH),
            "/organisations/{organisation_id}": _item("organisations", "Organisation", "organisation_id"),
            "/clcs": _list("clcs", "Clc", SEARCH),
            "/clcs/{clc_id}": _item("clcs", "Clc", "clc_id"),
            "/imports": {"post": {
                "tags": ["imports"], "summary": "Upload a spreadsheet; it is validated and applied by a worker",
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["kind", "unit_id", "file"], "properties": {
                        "kind": {"enum": ["villages", "households", "organisations", "officers"]},
                        "unit_id": {"type": "integer"}, "file": {"type": "string", "format": "binary"}}}}}},
                "responses": {"202": _json(_ref("ImportJob"), "Accepted"), **ERRORS}}},
            "/imports/{job_id}": _item("imports", "ImportJob", "job_id"),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "cookie": {"type": "apiKey", "in": "cookie", "name": "session"}},
            "schemas": {
                "Problem": {"type": "object", "properties": {
                    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
                    "detail": {"type": "string"}, "errors": {"type": "array", "items": {"type": "object",
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}}},
                "Unit": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
                    "kind": {"type": "string"}, "level": {"type": "string"},
                    "parent_id": {"type": ["integer", "null"]}, "area_class": {"type": "string"},
                    "valid_from": {"type": ["string", "null"], "format": "date"},
                    "valid_to": {"type": ["string", "null"], "format": "date"}}},
                "UnitDetail": {"allOf": [_ref("Unit"), {"type": "object", "properties": {
                    "successors": {"type": "array", "items": {"type": "object"}},
                    "predecessors": {"type": "array", "items": {"type": "object"}},
                    "counts": {"type": "object"}}}]},
                "Person": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "full_name": {"type": "string"},
                    "birth_date": {"type": ["string", "null"], "format": "date"},
                    "sex": {"type": ["string", "null"]}, "occupation_group": {"type": "string"},
                    "household_id": {"type": ["integer", "null"]}, "unit_id": {"type": "integer"},
                    "relation_to_head": {"type": ["string", "null"]},
                    "id_number_masked": {"type": ["string", "null"]},
                    "ethnicity": {"type": ["string", "null"]}}},
                "Household": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "code": {"type": "string"}, "village_id": {"type": "integer"},
                    "address": {"type": "string"}, "members": {"type": "array", "items": _ref("Person")}}},
                "Organisation": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
                    "kind": {"type": "string"}, "managing_level": {"type": "string"},
                    "commune_id": {"type": "integer"}, "address": {"type": "string"}}},
                "Clc": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"}, "commune_id": {"type": "integer"},
                    "address": {"type": "string"}, "established_on": {"type": ["string", "null"]},
                    "board": {"type": "array", "items": {"type": "object"}}}},
                "ImportJob": {"type": "object", "properties": {
                    "id": {"type": "integer"}, "kind": {"type": "string"}, "filename": {"type": "string"},
                    "status": {"enum": ["pending", "running", "succeeded", "failed"]},
                    "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                    "total_rows": {"type": "integer"}, "processed_rows": {"type": "integer"},
                    "message": {"type": "string"}, "summary": {"type": "object"},
                    "errors": {"type": "array", "items": {"type": "object", "properties": {
                        "row": {"type": "integer"}, "column": {"type": "string"},
                        "message": {"type": "string"}, "message_vi": {"type": "string"}}}},
                    "unit_id": {"type": "integer"}}},
            },
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return document()
