"""``POST /api/v1/imports`` applies at once unless asked for a dry run (ADR 20: integrations rely on it). The OpenAPI
document says so where a client reads it, says how to preview, and describes the preview a dry run answers with; the
dry run's answer says what the file would change, field by field, and writes nothing."""

from __future__ import annotations

import io

from lms.auth.models import ApiToken, Role
from lms.extensions import db
from lms.registry.models import Household
from tests.conftest import make_household, make_user, make_village, unit_by_code
from tests.registry.test_import import HOUSEHOLD_HEADER, csv_bytes


def test_the_document_says_the_upload_applies_at_once_and_how_to_preview(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    upload = doc["paths"]["/api/v1/imports"]["post"]
    said = upload["summary"] + " " + upload.get("description", "")
    assert "Applied at once" in said
    assert "dry_run=true" in said
    assert "/confirm" in said
    (dry_run,) = [p for p in upload["parameters"] if p["name"] == "dry_run"]
    assert dry_run["schema"]["default"] is False
    assert "applied as soon as a worker has checked it" in dry_run["description"]
    schemas = doc["components"]["schemas"]
    answer = schemas[upload["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]
    preview = next(s["$ref"] for s in answer["properties"]["preview"]["anyOf"] if "$ref" in s).rsplit("/", 1)[-1]
    assert {"counts", "samples", "consequences", "warnings"} <= set(schemas[preview]["properties"])
    assert any(example["status"] == "previewed" and example["preview"] for example in answer["examples"])


def test_a_dry_run_answers_what_would_change_and_writes_nothing(client, app_ctx):
    commune = unit_by_code("23293")
    village = make_village(commune, "DRY-1", "Thôn Thử")
    household = make_household(village, "H1", "Nguyễn Văn Đức")
    household.address = "Thôn Thử"
    user = make_user(Role.CENTRE_MANAGER, commune)
    _, secret = ApiToken.issue(user, "dry")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    row = ["DRY-1", "H1", "12 Trần Phú, Thôn Thử", "Nguyễn Văn Đức", "", "", "Chủ hộ", "", "", ""]

    answer = client.post(
        "/api/v1/imports?dry_run=true",
        headers=headers,
        content_type="multipart/form-data",
        data={
            "kind": "households",
            "unit_id": str(commune.id),
            "file": (io.BytesIO(csv_bytes([HOUSEHOLD_HEADER, row])), "h.csv"),
        },
    )
    assert answer.status_code == 202, answer.get_json()
    assert answer.get_json()["dry_run"] is True
    job = client.get(answer.headers["Location"], headers=headers).get_json()
    assert job["status"] == "previewed"
    assert job["preview"]["counts"]["households"] == {"created": 0, "updated": 1, "unchanged": 0}
    (changed,) = job["preview"]["samples"]["households"]["changed"]
    assert changed["changes"] == [{"field": "address", "old": "Thôn Thử", "new": "12 Trần Phú, Thôn Thử"}]
    assert "chưa ghi gì cho đến khi bạn xác nhận" in job["message"]
    db.session.expire_all()
    assert db.session.get(Household, household.id).address == "Thôn Thử"  # nothing written


def test_the_202_says_what_happens_next_in_the_request_s_language(client, app_ctx):
    """The dry run's 202 answered with an empty ``message`` (a worker had not checked the file yet): it says where the
    preview will appear and how to confirm it — English for a client that asks for it, Vietnamese by default."""
    commune = unit_by_code("23293")
    make_village(commune, "DRY-2", "Thôn Hai")
    user = make_user(Role.CENTRE_MANAGER, commune)
    _, secret = ApiToken.issue(user, "dry-202")
    db.session.commit()
    row = ["DRY-2", "H1", "Thôn Hai", "Trần Văn Bình", "", "", "Chủ hộ", "", "", ""]

    def upload(language):
        return client.post(
            "/api/v1/imports?dry_run=true",
            headers={"Authorization": f"Bearer {secret}", "Accept-Language": language},
            content_type="multipart/form-data",
            data={
                "kind": "households",
                "unit_id": str(commune.id),
                "file": (io.BytesIO(csv_bytes([HOUSEHOLD_HEADER, row])), "h.csv"),
            },
        )

    english = upload("en")
    assert english.status_code == 202
    location = english.headers["Location"]
    message = english.get_json()["message"]
    assert message.startswith("Dry run: nothing is written.")
    assert f"The preview appears at {location}" in message
    assert f"{location}/confirm" in message

    vietnamese = upload("vi")
    message = vietnamese.get_json()["message"]
    assert message.startswith("Chạy thử: chưa ghi gì.")
    assert f"{vietnamese.headers['Location']}/confirm" in message

    job = client.get(location, headers={"Authorization": f"Bearer {secret}"}).get_json()
    confirmed = client.post(
        f"{location}/confirm",
        headers={"Authorization": f"Bearer {secret}", "Accept-Language": "en"},
        json={"preview_digest": job["preview_digest"]},
    )
    assert confirmed.status_code == 202, confirmed.get_json()
    assert confirmed.get_json()["message"].startswith(f"A worker applies the confirmed preview; follow {location}")
