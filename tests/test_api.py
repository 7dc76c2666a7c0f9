"""API conventions: token auth, problem+json with field errors, pagination, the OpenAPI document."""

from __future__ import annotations

import json
import re

from lms.auth.models import ApiToken, Role
from lms.extensions import db, utcnow
from lms.registry.models import Person
from tests.conftest import login, make_household, make_user, make_village, unit_by_code


def _token_user(role=Role.CENTRE_MANAGER, code="23293"):
    user = make_user(role, unit_by_code(code))
    _, secret = ApiToken.issue(user, "phone")
    db.session.commit()
    return user, {"Authorization": f"Bearer {secret}"}


def test_bearer_token_authenticates_and_needs_no_csrf(app_ctx, client):
    _, headers = _token_user()
    village = make_village(unit_by_code("23293"), "API-1", "Thôn API")
    db.session.commit()
    response = client.post(
        "/api/v1/persons", json={"full_name": "Y Hiên", "unit_id": village.id, "sex": "F"}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    assert db.session.get(Person, response.get_json()["id"]).full_name == "Y Hiên"


def test_revoked_and_unknown_tokens_are_refused(app_ctx, client):
    user, headers = _token_user()
    assert client.get("/api/v1/persons", headers={"Authorization": "Bearer nope"}).status_code == 401
    token = db.session.scalars(db.select(ApiToken).where(ApiToken.user_id == user.id)).one()
    token.revoked_at = utcnow()
    db.session.commit()
    assert client.get("/api/v1/persons", headers=headers).status_code == 401
    assert len(token.token_hash) == 64
    assert "lms_" not in token.token_hash


def test_cookie_session_posts_need_the_csrf_token(app_ctx, client):
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    village = make_village(unit_by_code("23293"), "API-2", "Thôn API")
    db.session.commit()
    login(client, user)
    response = client.post("/api/v1/persons", json={"full_name": "Y Hiên", "unit_id": village.id})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_validation_errors_name_every_field(app_ctx, client):
    _, headers = _token_user()
    response = client.post(
        "/api/v1/persons",
        json={"full_name": "", "birth_date": "31/12/1990", "sex": "X", "colour": "blue"},
        headers=headers,
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert fields == {"full_name", "birth_date", "sex", "colour"}
    assert db.session.query(Person).filter_by(full_name="").count() == 0


def test_pagination(app_ctx, client):
    _, headers = _token_user()
    village = make_village(unit_by_code("23293"), "API-3", "Thôn Trang")
    make_household(village, "1", *(f"Người Số {i:02d}" for i in range(7)))
    db.session.commit()
    first = client.get(f"/api/v1/persons?unit_id={village.id}&per_page=5", headers=headers).get_json()
    second = client.get(f"/api/v1/persons?unit_id={village.id}&per_page=5&page=2", headers=headers).get_json()
    assert first["total"] == 7
    assert len(first["items"]) == 5
    assert len(second["items"]) == 2
    assert not {p["id"] for p in first["items"]} & {p["id"] for p in second["items"]}
    bad = client.get("/api/v1/persons?per_page=100000", headers=headers)
    assert bad.status_code == 422
    assert bad.get_json()["errors"][0]["field"] == "per_page"


def test_unknown_api_route_is_problem_json(app_ctx, client):
    _, headers = _token_user()
    response = client.get("/api/v1/nothing-here", headers=headers)
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"


DOCUMENT_ROUTES = {"/api/v1/openapi.json", "/api/v1/docs"}


def test_openapi_document_is_generated_from_every_route(app, client):
    """Every /api/v1 operation is in the document, generated from the models that enforce it: a request schema
    where it takes a body, an answer schema, the problems, and the permission it needs."""
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.rule not in DOCUMENT_ROUTES:
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    schemas = document["components"]["schemas"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation.get("x-permission"), where
            assert operation["summary"], where
            assert not operation["summary"].endswith(">"), f"{where}: no docstring"
            for name in re.findall(r"{(\w+)}", path):
                assert any(p["name"] == name and p["in"] == "path" for p in operation["parameters"]), (where, name)
            answers = operation["responses"]
            success = [code for code in answers if code.startswith("2")]
            assert success, where
            assert "422" in answers, where
            problem = answers["422"]["content"]["application/problem+json"]["schema"]["$ref"]
            assert problem.rsplit("/", 1)[1] in schemas
            if method in ("post", "put", "patch") and "requestBody" in operation:
                content = operation["requestBody"]["content"]
                assert content, where
    for reference in re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(document)):
        assert reference in schemas, reference


def test_every_confirmation_of_a_preview_documents_the_409_with_the_new_preview(client):
    """A confirmation that sends a preview's digest is refused as out of date with a 409 carrying the preview as it
    is now (lms.api.errors.stale_preview), across the API: the document says so for each of them."""
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    def resolve(schema: dict) -> dict:
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    confirming = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None or "preview_digest" not in resolve(body["schema"]).get("properties", {}):
                continue
            confirming.append(f"{method.upper()} {path}")
            conflict = operation["responses"].get("409")
            assert conflict is not None, f"{method.upper()} {path}"
            problem = resolve(conflict["content"]["application/problem+json"]["schema"])
            assert "preview" in problem["properties"], f"{method.upper()} {path}"
    assert "POST /api/v1/imports/{job_id}/confirm" in confirming
    assert "POST /api/v1/titles/recognitions/propose" in confirming


def test_the_api_documentation_page_is_served_without_a_cdn(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "unpkg.com" not in html
    assert "cdn" not in html.lower()
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    # The operations are described in English; how to start (a token, the header, the errors) is said in Vietnamese.
    intro = html[html.index('id="api-intro"') : html.index("</section>")]
    text = " ".join(re.sub(r"<[^>]+>", " ", intro).split())
    assert "Xác thực: tạo mã truy cập ở trang Mã truy cập API , rồi gửi mã trong tiêu đề" in text
    assert 'href="/account/tokens"' in intro
    assert "Lỗi trả về dạng application/problem+json, kèm danh sách errors nêu từng trường và việc cần sửa." in text
