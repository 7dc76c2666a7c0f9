"""The IT-skills API end to end on its schemas: a certificate recorded by multipart with an Idempotency-Key, listed,
verified by another verifier and rejected with a reason; progress and figures; bad inputs named field by field."""

from __future__ import annotations

import io

from lms.auth.models import ApiToken, Role
from lms.extensions import db
from tests.conftest import make_user
from tests.courses.test_it_skills import PDF, hand_made_commune


def _bearer(user) -> dict[str, str]:
    _, secret = ApiToken.issue(user, "phone")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}


def _record(client, headers, person_id: int, number: str, key: str | None = None):
    return client.post(
        "/api/v1/it/certificates",
        data={
            "number": number,
            "issuer": "Trung tâm sát hạch",
            "issued_on": "2025-03-01",
            "person_id": str(person_id),
            "file": (io.BytesIO(PDF), "scan.pdf"),
        },
        content_type="multipart/form-data",
        headers={**headers, **({"Idempotency-Key": key} if key else {})},
    )


def test_a_certificate_is_recorded_once_listed_verified_by_another_and_counted(app_ctx, client):
    c = hand_made_commune()
    recorder = _bearer(make_user(Role.CENTRE_MANAGER, c.unit, "recorder@example.vn"))
    verifier = _bearer(make_user(Role.CENTRE_MANAGER, c.unit, "verifier@example.vn"))

    first = _record(client, recorder, c.five_modules.id, "API-1", key="k-1")
    assert first.status_code == 201, first.get_data(as_text=True)
    body = first.get_json()
    assert (body["status"], body["number"], body["person_id"]) == ("pending", "API-1", c.five_modules.id)
    assert body["recorded_at"].endswith("Z")  # RFC 3339: UTC with its offset
    assert first.headers["Location"] == f"/api/v1/it/certificates/{body['id']}"
    again = _record(client, recorder, c.five_modules.id, "API-1", key="k-1")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == body["id"]

    listed = client.get(
        f"/api/v1/it/certificates?status=pending&person_id={c.five_modules.id}", headers=verifier
    ).get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]

    refused = client.post(f"/api/v1/it/certificates/{body['id']}/verify", json={}, headers=recorder)
    assert refused.status_code == 403
    verified = client.post(f"/api/v1/it/certificates/{body['id']}/verify", json={}, headers=verifier)
    assert verified.status_code == 200, verified.get_data(as_text=True)
    assert verified.get_json()["status"] == "verified"
    assert verified.get_json()["decided_at"].endswith("Z")

    progress = client.get(f"/api/v1/it/persons/{c.five_modules.id}/progress", headers=verifier).get_json()
    assert all(line["done"] for line in progress["modules"] if line["code"] in ("IU01", "IU02", "IU03"))
    assert any(source.startswith("itcert:") for line in progress["modules"] for source in line["sources"])


def test_a_rejection_needs_a_reason_and_keeps_it(app_ctx, client):
    c = hand_made_commune()
    recorder = _bearer(make_user(Role.CENTRE_MANAGER, c.unit, "recorder@example.vn"))
    verifier = _bearer(make_user(Role.CENTRE_MANAGER, c.unit, "verifier@example.vn"))
    certificate = _record(client, recorder, c.five_modules.id, "API-2").get_json()
    url = f"/api/v1/it/certificates/{certificate['id']}/reject"
    missing = client.post(url, json={}, headers=verifier)
    assert missing.status_code == 422
    assert [e["field"] for e in missing.get_json()["errors"]] == ["reason"]
    rejected = client.post(url, json={"reason": "Số hiệu không có trong sổ của trung tâm"}, headers=verifier)
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["note"] == "Số hiệu không có trong sổ của trung tâm"


def test_bad_inputs_are_named_field_by_field(app_ctx, client):
    c = hand_made_commune()
    headers = _bearer(make_user(Role.CENTRE_MANAGER, c.unit, "recorder@example.vn"))
    response = client.post(
        "/api/v1/it/certificates",
        data={"number": "", "issued_on": "01/03/2025", "person_id": str(2**63), "file": "not a file"},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"number", "issuer", "issued_on", "person_id", "file"}
    listing = client.get("/api/v1/it/certificates?status=lost&person_id=x", headers=headers)
    assert {e["field"] for e in listing.get_json()["errors"]} == {"status", "person_id"}
    figures = client.get(f"/api/v1/it/figures?unit_id={c.unit.id}&from=2026-13-01", headers=headers)
    assert [e["field"] for e in figures.get_json()["errors"]] == ["from"]


def test_the_framework_and_the_figures(app_ctx, client):
    c = hand_made_commune()
    headers = _bearer(make_user(Role.COMMUNE_LEADER, c.unit, "leader@example.vn"))
    framework = client.get("/api/v1/it/modules", headers=headers).get_json()
    assert [m["code"] for m in framework["modules"]][:6] == ["IU01", "IU02", "IU03", "IU04", "IU05", "IU06"]
    figures = client.get(f"/api/v1/it/figures?unit_id={c.unit.id}&from=2026-01-01&to=2026-12-31", headers=headers)
    body = figures.get_json()
    assert (body["from"], body["to"]) == ("2026-01-01", "2026-12-31")
    assert body["officers_organising_and_trained"]["denominator"] == 5


def test_ttlt17_art16_2_an_advanced_certificate_through_the_api(app_ctx, client):
    """Joint Circular 17/2016, Art. 16.2: the API records an advanced certificate's advanced modules (multipart field
    ``modules``), returns them, and refuses a basic module named as advanced, on the field."""
    c = hand_made_commune()
    recorder = _bearer(make_user(Role.CENTRE_MANAGER, c.unit, "adv-recorder@example.vn"))
    base = {
        "issuer": "Trung tâm sát hạch",
        "issued_on": "2025-03-01",
        "person_id": str(c.five_modules.id),
    }
    made = client.post(
        "/api/v1/it/certificates",
        data={**base, "number": "API-NC-1", "modules": "IU07, IU08, IU14", "file": (io.BytesIO(PDF), "scan.pdf")},
        content_type="multipart/form-data",
        headers=recorder,
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    assert made.get_json()["modules"] == ["IU07", "IU08", "IU14"]
    wrong = client.post(
        "/api/v1/it/certificates",
        data={**base, "number": "API-NC-2", "modules": "IU01, IU07, IU08", "file": (io.BytesIO(PDF), "scan.pdf")},
        content_type="multipart/form-data",
        headers=recorder,
    )
    assert wrong.status_code == 422
    assert [e["field"] for e in wrong.get_json()["errors"]] == ["modules"]


def test_ttlt17_art16_the_api_tells_trained_from_certified(app_ctx, client):
    """Joint Circular 17/2016, Art. 16.1 and 17.2: only an accredited test centre's certificate attests the basic
    standard; a CLC class trains in its modules. The API says both, as the pages do: the chair, trained by a class,
    meets the basic standard as training and is not certified; the officer with a verified national certificate is
    both; the commune's figures count the certified apart."""
    c = hand_made_commune()
    headers = _bearer(make_user(Role.COMMUNE_LEADER, c.unit, "leader@example.vn"))
    chair = client.get(f"/api/v1/it/persons/{c.chair.id}/progress", headers=headers).get_json()
    assert chair["standards"]["basic"] is True
    assert chair["certified"]["basic"] is False
    certified = client.get(f"/api/v1/it/persons/{c.by_certificate.id}/progress", headers=headers).get_json()
    assert certified["standards"]["basic"] is True
    assert certified["certified"]["basic"] is True
    figures = client.get(f"/api/v1/it/figures?unit_id={c.unit.id}&from=2026-01-01&to=2026-12-31", headers=headers)
    line = next(x for x in figures.get_json()["communes"] if x["commune_id"] == c.unit.id)
    assert line["meets_basic"] == 2
    assert line["certified_basic"] == 1
