"""/api/v1/titles against its schemas: inputs that used to reach the database (ids past bigint, lists where a number
or a word is expected) are 422s naming the field; every titles route is in the generated document with its
permission, its request models and its answers."""

from __future__ import annotations

import json
import re

import pytest

from lms.auth.models import ApiToken, Role
from lms.extensions import db
from tests.conftest import make_user, unit_by_code

HUGE = 2**63  # one past the largest bigint
HUGER = 10**30


@pytest.fixture
def headers(app_ctx):
    user = make_user(Role.ADMINISTRATOR, unit_by_code("23293"), "schemas@example.vn")
    _, secret = ApiToken.issue(user, "test")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}


ASSESSMENT = {"subject_type": "person", "subject_id": 1, "year": 2026, "indicator": "C_2", "value": 6}

BODIES = [
    ("/api/v1/titles/assessments", {**ASSESSMENT, "subject_id": HUGE}, {"subject_id"}),
    ("/api/v1/titles/assessments", {**ASSESSMENT, "year": HUGER, "value": [6]}, {"year", "value"}),
    (
        "/api/v1/titles/assessments",
        {**ASSESSMENT, "subject_type": ["person"], "source": {"a": 1}},
        {"subject_type", "source"},
    ),
    ("/api/v1/titles/registrations", {"title": "family", "year": 2026, "subject_ids": [HUGE]}, {"subject_ids[0]"}),
    ("/api/v1/titles/registrations", {"title": "family", "year": 2026, "subject_id": HUGER}, {"subject_id"}),
    ("/api/v1/titles/registrations", {"title": ["family"], "year": 2026, "subject_ids": [1]}, {"title"}),
    (
        "/api/v1/titles/recognitions/propose",
        {"title": "family", "year": [2026], "subject_ids": 7},
        {"year", "subject_ids"},
    ),
    (
        "/api/v1/titles/recognitions/decide",
        {"recognition_ids": [1, HUGE], "decision_number": ["1/QĐ"], "decision_date": {"d": 1}},
        {"recognition_ids[1]", "decision_number", "decision_date"},
    ),
    ("/api/v1/titles/runs", {"unit_id": HUGE, "year": 2026}, {"unit_id"}),
    ("/api/v1/titles/runs", {"unit_id": {"id": 1}, "year": [2026]}, {"unit_id", "year"}),
]


@pytest.mark.parametrize(("url", "body", "fields"), BODIES)
def test_bodies_that_used_to_fail_on_the_server_are_refused_by_field(client, headers, url, body, fields):
    response = client.post(url, headers=headers, json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    named = {e["field"] for e in response.get_json()["errors"]}
    assert named == fields
    assert all(e["message"] for e in response.get_json()["errors"])


def test_a_patch_and_a_reason_with_the_wrong_types_are_refused(client, headers):
    from decimal import Decimal

    from lms.titles.models import Assessment

    assessment = Assessment(
        subject_type="person",
        subject_id=1,
        year=2026,
        indicator="C_2",
        value=Decimal(5),
        commune_id=unit_by_code("23293").id,
    )
    db.session.add(assessment)
    db.session.commit()
    patched = client.patch(
        f"/api/v1/titles/assessments/{assessment.id}",
        headers=headers,
        json={"value": {"n": 7}, "remove_evidence": "perhaps", "note": ["x"]},
    )
    assert patched.status_code == 422
    assert {e["field"] for e in patched.get_json()["errors"]} == {"value", "remove_evidence", "note"}


QUERIES = [
    f"/api/v1/titles/eligibility?year={HUGER}&unit_id={HUGE}",
    f"/api/v1/titles/eligibility?household_id={HUGE}&organisation_id={HUGER}&clan_id=-1",
    f"/api/v1/titles/assessments?subject_id={HUGE}&year={HUGER}",
    f"/api/v1/titles/registrations?unit_id={HUGE}&year={HUGER}",
    f"/api/v1/titles/recognitions?unit_id={HUGE}&year={HUGER}",
    f"/api/v1/titles/proposable?commune_id={HUGE}&year={HUGER}&title=family",
    f"/api/v1/titles/runs?unit_id={HUGE}&year={HUGER}",
    f"/api/v1/titles/eligibility?page={HUGER}",
]


@pytest.mark.parametrize("url", QUERIES)
def test_queries_that_used_to_fail_on_the_server_are_refused_by_field(client, headers, url):
    response = client.get(url, headers=headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    expected = {name for name, _ in re.findall(r"(\w+)=([^&]+)", url.split("?", 1)[1]) if name != "title"}
    assert {e["field"] for e in response.get_json()["errors"]} == expected


def test_a_repeated_query_parameter_is_refused_not_guessed(client, headers):
    response = client.get("/api/v1/titles/recognitions?status=revoked&status=proposed", headers=headers)
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["status"]


def test_path_ids_past_bigint_are_not_found(client, headers):
    for url in (f"/api/v1/titles/assessments/{HUGE}", f"/api/v1/titles/recognitions/{HUGE}"):
        assert client.get(url, headers=headers).status_code == 404


def test_validation_messages_are_vietnamese_by_default(client, headers):
    response = client.get("/api/v1/titles/runs?unit_id=999999", headers={"Authorization": headers["Authorization"]})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {
            "field": "unit_id",
            "message": "Không có đơn vị này trong phạm vi của bạn: hãy nhập mã số (id) của một đơn "
            "vị bạn được phép làm việc này.",
        }
    ]


def test_every_titles_route_is_documented_with_its_permission_and_schemas(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    seen = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/titles"):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operation = paths[path][method.lower()]
            seen += 1
            assert operation["x-permission"], (method, path)
            assert operation["tags"] == ["titles"]
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
            assert operation["summary"], (method, path)
            assert not operation["summary"].endswith(">"), (method, path)  # a docstring, not the function's name
            assert "422" in operation["responses"], (method, path)
            if method in ("POST", "PATCH") and "requestBody" in operation:
                assert operation["requestBody"]["content"], (method, path)
    assert seen == 28  # with the decision prints, the decision correction and the assessments import (preview, confirm)
    decide = paths["/api/v1/titles/recognitions/decide"]["post"]
    assert decide["x-permission"] == "titles.approve"
    assert any(p["name"] == "Idempotency-Key" for p in decide["parameters"])
    assert "requestBody" in decide
    assert "application/problem+json" in decide["responses"]["409"]["content"]
    verify = paths["/api/v1/titles/verify/{code}"]["get"]
    assert verify["x-permission"] == "public"
    upload = paths["/api/v1/titles/registrations/import"]["post"]
    assert {"200", "201", "422"} <= set(upload["responses"])
    assert any(p["name"] == "dry_run" for p in upload["parameters"])
    assert "multipart/form-data" in upload["requestBody"]["content"]
    schemas = document["components"]["schemas"]
    form = upload["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert schemas[form]["properties"]["file"]["format"] == "binary"
    assert set(schemas[form]["required"]) == {"file", "commune_id", "title", "year"}
    for reference in re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document)):
        assert reference in schemas, reference
