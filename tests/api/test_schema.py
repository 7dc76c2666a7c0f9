"""The API's contract layer (lms/api/schema.py): requests refused field by field in the caller's language, inputs
that used to overflow or mistype refused as invalid, and an answer that drifts from its schema is a server error."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask

from lms.api.schema import Out, ResponseSchemaError, field_path, operation
from lms.auth.models import ApiToken, Role
from lms.extensions import db
from tests.conftest import make_user, unit_by_code

BIG = 2**63  # one more than PostgreSQL's bigint holds


def _headers(role=Role.PROVINCE_LEADER, code="23293", language: str | None = None) -> dict[str, str]:
    user = make_user(role, unit_by_code(code))
    _, secret = ApiToken.issue(user, "phone")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    if language:
        headers["Accept-Language"] = language
    return headers


def test_field_paths_name_the_item():
    assert field_path(("marks", 2, "person_id")) == "marks[2].person_id"
    assert field_path(("year",)) == "year"
    assert field_path(()) == ""


def test_every_bad_field_is_named_in_vietnamese_by_default_and_in_english_on_request(app_ctx, client):
    body = {"unit_id": "ba", "year": 1990, "colour": "blue"}
    headers = _headers(Role.ADMINISTRATOR)
    vietnamese = client.post("/api/v1/targets/recompute", json=body, headers=headers)
    assert vietnamese.status_code == 422
    assert vietnamese.mimetype == "application/problem+json"
    problem = vietnamese.get_json()
    assert {e["field"] for e in problem["errors"]} == {"unit_id", "year", "colour"}
    messages = {e["field"]: e["message"] for e in problem["errors"]}
    assert messages["unit_id"] == "Phải là số nguyên."
    assert messages["year"] == "Phải từ 2000 trở lên."
    assert "không có trong mẫu" in messages["colour"]
    assert problem["detail"] == "Yêu cầu có trường không hợp lệ."

    english = client.post("/api/v1/targets/recompute", json=body, headers={**headers, "Accept-Language": "en"})
    messages = {e["field"]: e["message"] for e in english.get_json()["errors"]}
    assert messages == {
        "unit_id": "Must be a whole number.",
        "year": "Must be at least 2000.",
        "colour": "Unknown field: remove it or check its spelling.",
    }


@pytest.mark.parametrize(
    "body",
    [
        {"unit_id": BIG, "year": 2025},  # overflowed the database before
        {"unit_id": [1], "year": 2025},  # a list where a number is expected raised TypeError
        {"unit_id": {"id": 1}, "year": 2025},
        {"unit_id": 1, "year": 10**30},
        [1, 2],  # not an object
    ],
)
def test_inputs_that_used_to_fail_on_the_server_are_invalid_fields(app_ctx, client, body):
    response = client.post("/api/v1/targets/recompute", json=body, headers=_headers(Role.ADMINISTRATOR))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["errors"]


def test_large_ids_in_a_query_or_a_path_are_refused_not_sent_to_the_database(app_ctx, client):
    headers = _headers()
    query = client.get(f"/api/v1/targets/values?unit={BIG}&per_page=2", headers=headers)
    assert query.status_code == 422
    assert [e["field"] for e in query.get_json()["errors"]] == ["unit"]
    page = client.get(f"/api/v1/targets/values?page={BIG * 10}", headers=headers)
    assert page.status_code == 422
    path = client.get(f"/api/v1/classes/{BIG}", headers=headers)
    assert path.status_code == 404
    assert path.mimetype == "application/problem+json"


def test_a_body_that_is_not_json_is_refused_as_such(app_ctx, client):
    """A form or JSON sent as text is not read as an empty object (which would answer "required" for each field)."""
    headers = _headers(Role.ADMINISTRATOR, language="en")
    for body, content_type in (("unit_id=1", "application/x-www-form-urlencoded"), ('{"unit_id": 1}', "text/plain")):
        response = client.post("/api/v1/targets/recompute", data=body, content_type=content_type, headers=headers)
        assert response.status_code == 422
        assert response.get_json()["errors"] == [
            {"field": "", "message": "The body is not JSON: send a JSON object with Content-Type: application/json."}
        ]


def test_an_answer_that_does_not_match_its_schema_is_a_server_error():
    """The answer's model is checked on the way out: a view that drifts from the document fails loudly (a test
    that reaches it fails) instead of sending clients what the document does not promise."""

    class Promised(Out):
        code: str
        version: int

    drift = Blueprint("drift", __name__, url_prefix="/api/v1/drift")

    @drift.get("/")
    @operation(None, public=True, ok=Promised)
    def drifted_answer():
        """An answer that lost a field."""
        return {"code": "kt-1514"}

    @drift.get("/kept")
    @operation(None, public=True, ok=Promised)
    def kept_answer():
        """An answer as promised."""
        return {"code": "kt-1514", "version": 2}

    # A bare Flask app: another create_app() would rebind the Celery app (and its tasks' database) to itself.
    app = Flask(__name__)
    app.testing = True
    app.register_blueprint(drift)
    client = app.test_client()
    assert client.get("/api/v1/drift/kept").get_json() == {"code": "kt-1514", "version": 2}
    with pytest.raises(ResponseSchemaError, match="version"):
        client.get("/api/v1/drift/")


def test_an_answer_made_of_the_declared_models_instance_is_taken_as_spectree_takes_the_instance():
    """ADR 28, eighth pass: SpecTree does not check an instance of the operation's declared model (it was validated
    when made); the idempotent views' answer is that instance's JSON (``ModelAnswer``), which is therefore not parsed
    and checked again either — the same rule, not a weaker one. An instance of another model is still checked."""
    from pydantic import Field

    from lms.api.idempotency import _respond

    class Promised(Out):
        code: str
        version: int = Field(ge=1)

    class Other(Out):
        code: str

    def changed_after_validation() -> Promised:
        promised = Promised(code="kt-1514", version=2)
        promised.version = 0  # models here do not re-validate on assignment: only the instance vouches for itself
        return promised

    shapes = Blueprint("shapes", __name__, url_prefix="/api/v1/shapes")

    @shapes.get("/instance")
    @operation(None, public=True, ok=Promised)
    def the_instance():
        """The instance itself, as a view without ``@idempotent`` returns it."""
        return changed_after_validation()

    @shapes.get("/answer")
    @operation(None, public=True, ok=Promised)
    def its_answer():
        """The same instance made into its answer, as ``@idempotent`` does."""
        return _respond(changed_after_validation())

    @shapes.get("/other")
    @operation(None, public=True, ok=Promised)
    def another_models_answer():
        """An answer made of another model: checked against the declared one."""
        return _respond(Other(code="kt-1514"))

    app = Flask(__name__)
    app.testing = True
    app.register_blueprint(shapes)
    client = app.test_client()
    expected = {"code": "kt-1514", "version": 0}
    assert client.get("/api/v1/shapes/instance").get_json() == expected
    assert client.get("/api/v1/shapes/answer").get_json() == expected
    with pytest.raises(ResponseSchemaError, match="version"):
        client.get("/api/v1/shapes/other")


def test_permissions_are_checked_before_the_body(app_ctx, client):
    """A caller without the permission learns nothing about the body's shape: 401 / 403 first."""
    anonymous = client.post("/api/v1/targets/recompute", json={"unit_id": "x"})
    assert anonymous.status_code == 401
    officer = client.post("/api/v1/targets/recompute", json={"unit_id": "x"}, headers=_headers(Role.INSTRUCTOR))
    assert officer.status_code == 403
