"""Every operation of the generated document shows an example of its request and of its answer, and every example
is one the API takes or sends: it validates against its own model (an answer's also serialises back to itself)."""

from __future__ import annotations

import gc
import importlib
import io
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from pydantic import BaseModel
from werkzeug.datastructures import FileStorage

from lms.api.schema import Body, Out, Page, Query, _component_name, spec
from lms.registry.models import UnitLevel

SCHEMA_MODULES = (
    "lms.api.schema",
    "lms.targets.schemas",
    "lms.registry.schemas",
    "lms.titles.schemas",
    "courses.schemas",
    "courses.it_schemas",
    "lms.credentials.schemas",
)


def _models() -> list[type[BaseModel]]:
    """Every model of the API's schema modules, with the ``Page[...]`` aliases they define."""
    found: dict[int, type[BaseModel]] = {}
    for name in SCHEMA_MODULES:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, type) and issubclass(value, Body | Query | Out) and value not in (Body, Query, Out):
                found[id(value)] = value
    return list(found.values())


def _examples(model: type[BaseModel]) -> list[dict[str, Any]]:
    mode = "serialization" if issubclass(model, Out) else "validation"
    return list(model.model_json_schema(mode=mode).get("examples", []))


def _operation_models() -> Iterator[tuple[str, str, type[BaseModel]]]:
    """(operation, role, model) for the request (query, json, form) and every 2xx answer of each operation, from
    SpecTree's record of the routes (which names a request model by its component name)."""
    # SpecTree keeps the operations weakly: those other tests declared on their own blueprints (tests/api/
    # test_schema.py) stay listed until their cycles are collected, which depended on when the collector last ran.
    gc.collect()
    by_name: dict[str, list[type[BaseModel]]] = {}
    for model in _models():
        by_name.setdefault(_component_name(model), []).append(model)
    for function, metadata in spec._function_metadata.items():
        operation = metadata.operation_id or function.__name__
        for role in ("query", "json", "form"):
            key = getattr(metadata, role, None)
            if key is not None:
                for model in by_name[key]:
                    yield operation, role, model
        resp = getattr(metadata, "resp", None)
        for code, model in resp.code_models.items() if resp is not None else ():
            if 200 <= int(code.removeprefix("HTTP_")) < 300 and model is not None:
                yield operation, f"answer {code}", model


@pytest.fixture
def everything_in_scope(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ids of the examples name objects of the caller's scope: what the scope checks say of a real caller is
    the business of each feature's API tests, not of the examples."""
    import courses.schemas
    import courses.services
    import lms.registry.schemas
    import lms.registry.services
    import lms.targets.schemas
    import lms.titles.schemas
    from lms.extensions import db

    def found(_model: Any, object_id: int, *_rest: Any) -> Any:
        return SimpleNamespace(id=object_id, level=UnitLevel.COMMUNE)

    for module in (lms.targets.schemas, lms.registry.schemas, lms.titles.schemas):
        monkeypatch.setattr(module, "in_scope", found)
    monkeypatch.setattr(lms.registry.services, "get_in_scope", found)
    monkeypatch.setattr(courses.schemas, "_people_outside", lambda ids: set())
    monkeypatch.setattr(courses.schemas, "_path_room", lambda room_id, clc_id: room_id)
    monkeypatch.setattr(courses.schemas, "_centre_of_path_class", lambda: None)
    with app.test_request_context("/api/v1/openapi.json"):
        # A course of the caller's catalogue (ClassIn looks its course_id up among the visible ones).
        monkeypatch.setattr(courses.services, "visible_courses", lambda *_: SimpleNamespace(where=lambda *_: None))
        monkeypatch.setattr(db.session, "scalar", lambda _stmt: 1)
        yield


def _with_files(model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    """A multipart example names its file; what the view gets there is an uploaded file."""
    schema = model.model_json_schema()
    files = {
        name
        for name, field in schema.get("properties", {}).items()
        if field.get("format") == "binary" or any(f.get("format") == "binary" for f in field.get("anyOf", []))
    }
    return {k: FileStorage(io.BytesIO(b"%PDF-1.4"), filename=v) if k in files else v for k, v in example.items()}


def test_every_operation_shows_a_request_and_an_answer_example(app: Flask, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    components = doc["components"]["schemas"]

    def examples_of(schema: dict[str, Any]) -> list[Any]:
        if "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema.get("examples", [])

    missing = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                if not examples_of(content["schema"]):
                    missing.append(f"{where}: request body ({media})")
            for code, answer in op["responses"].items():
                if code.startswith("2"):
                    for media, content in answer.get("content", {}).items():
                        if not examples_of(content["schema"]):
                            missing.append(f"{where}: answer {code} ({media})")
    # Query parameters are spread out in the document: their model (a component) carries the example.
    for operation, role, model in _operation_models():
        if role == "query" and not components.get(_component_name(model), {}).get("examples"):
            missing.append(f"{operation}: query {_component_name(model)}")
    assert missing == []
    assert len(doc["paths"]) > 40  # the walk saw the API, not an empty document


def test_every_request_and_answer_model_has_its_own_examples():
    """Request and answer models of every operation declare examples, not only inherit a parent's (which would
    not fit, or would say less than the model sends)."""
    without = set()
    for operation, role, model in _operation_models():
        extra = model.model_config.get("json_schema_extra")
        inherited = any(
            extra is base.model_config.get("json_schema_extra")
            for base in model.__mro__[1:]
            if isinstance(base, type) and issubclass(base, BaseModel) and base is not Page
        )
        if not _examples(model) or inherited:
            without.add(f"{operation}: {role} {model.__name__}")
    assert without == set()


@pytest.mark.parametrize(
    "model",
    [m for m in _models() if _examples(m)],  # nested parts and problems carry none (their operations' models do)
    ids=lambda m: f"{m.__module__.rsplit('.', 2)[-2]}.{m.__name__}",
)
def test_every_example_validates_against_its_model(model: type[BaseModel], everything_in_scope: None):
    examples = _examples(model)
    for example in examples:
        parsed = model.model_validate(_with_files(model, example))
        if issubclass(model, Out):
            # What the server sends for this example is the example itself: no misspelt or forgotten field.
            assert parsed.model_dump(mode="json") == example
        elif issubclass(model, Query):
            known = {f.alias or name for name, f in type(parsed).model_fields.items()}
            assert set(example) <= known
