"""The OpenAPI document names each request and response model by its class name alone (spectree's components), so
two models of one name — the titles' evaluator assessment and a class's final assessment were both ``AssessmentIn`` —
became one component, and one of the two operations was documented with the other's fields. Every model the API
modules define has a name of its own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from pydantic import BaseModel


def _models(cls: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _models(sub)


def test_no_two_api_models_share_a_name(app):
    modules: dict[str, set[str]] = defaultdict(set)
    for model in _models(BaseModel):
        if model.__module__.startswith(("lms.", "courses.")) and "[" not in model.__name__:  # Page[X]: generic
            modules[model.__name__].add(model.__module__)
    assert {name: where for name, where in modules.items() if len(where) > 1} == {}
    assert {"AssessmentIn", "FinalAssessmentIn", "CertificateCheck", "CompletionCertificateCheck"} <= set(modules)


def test_the_final_assessment_is_documented_with_its_own_fields(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    final = next(v for k, v in schemas.items() if k.startswith("FinalAssessmentIn"))
    titles = next(v for k, v in schemas.items() if k.startswith("AssessmentIn"))
    assert set(final["properties"]) == {"passed"}
    assert "indicator" in titles["properties"]
