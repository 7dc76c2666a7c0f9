"""/api/v1/titles: eligibility with filters, pagination and explanations; assessments CRUD, verify and evidence."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lms.auth.models import ApiToken, Role
from lms.extensions import db
from lms.titles.models import Assessment, EvaluationState
from tests.conftest import login, make_household, make_user, make_village, unit_by_code
from tests.titles.elig_helpers import citizen_criteria, eligibility

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture
def world(app_ctx):
    commune, other = unit_by_code("23293"), unit_by_code("23302")
    village = make_village(commune, "API-T1", "Thôn Một")
    people = make_household(village, "T1", *(f"Người Thử {i:02d}" for i in range(7))).members
    stranger = make_household(make_village(other, "API-TB", "Thôn Bê"), "TB", "Người Ngoài").members[0]
    criteria = citizen_criteria(status="provisional")
    rows = [
        eligibility(
            p,
            criteria,
            eligible=i < 3,
            score=90 if i < 3 else 50,
            missing=() if i < 3 else ("C_2",),
            breakdown=[
                {
                    "indicator": "C_2",
                    "value": 2,
                    "points": 2,
                    "max": 10,
                    "source": {"kind": "assessment", "id": 0, "by": "self", "evidence": None},
                    "missing": None if i < 3 else {"code": "not_verified"},
                }
            ],
        )
        for i, p in enumerate(people)
    ]
    theirs = eligibility(stranger, criteria, eligible=True, score=99)
    user = make_user(Role.CENTRE_MANAGER, commune)
    _, secret = ApiToken.issue(user, "máy tính bảng")
    db.session.commit()
    return {
        "commune": commune,
        "village": village,
        "people": people,
        "stranger": stranger,
        "rows": rows,
        "theirs": theirs,
        "user": user,
        "headers": {"Authorization": f"Bearer {secret}"},
    }


def test_eligibility_list_filters_paginates_and_counts(world, client):
    headers = world["headers"]
    first = client.get("/api/v1/titles/eligibility?title=citizen&year=2026&per_page=4", headers=headers).get_json()
    assert first["total"] == 7
    assert len(first["items"]) == 4
    assert first["counts"] == {"eligible": 3, "not_eligible": 4, "not_applicable": 0}
    second = client.get("/api/v1/titles/eligibility?title=citizen&per_page=4&page=2", headers=headers).get_json()
    ids = {r["id"] for r in first["items"]} | {r["id"] for r in second["items"]}
    assert ids == {r.id for r in world["rows"]}  # never the other commune's row
    not_yet = client.get("/api/v1/titles/eligibility?status=not_eligible&missing=C_2", headers=headers).get_json()
    assert not_yet["total"] == 4
    assert all(r["missing"] == ["C_2"] for r in not_yet["items"])
    assert not_yet["items"][0]["subject_name"].startswith("Người Thử")
    village = client.get(f"/api/v1/titles/eligibility?unit_id={world['village'].id}", headers=headers).get_json()
    assert village["total"] == 7


def test_eligibility_list_names_bad_filters(world, client):
    response = client.get(
        "/api/v1/titles/eligibility?title=king&status=maybe&year=soon&missing=%25", headers=world["headers"]
    )
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert {e["field"] for e in response.get_json()["errors"]} == {"title", "status", "year", "missing"}
    other = client.get(f"/api/v1/titles/eligibility?unit_id={world['stranger'].unit_id}", headers=world["headers"])
    assert other.status_code == 404


def test_one_eligibility_with_its_explanation_in_the_request_language(world, client):
    row = world["rows"][5]
    english = client.get(
        f"/api/v1/titles/eligibility/{row.id}", headers={**world["headers"], "Accept-Language": "en"}
    ).get_json()
    assert english["criteria_set"]["status"] == "provisional"
    assert english["eligible"] is False
    assert english["score"] == 50.0
    assert english["missing"] == ["C_2"]
    (item,) = english["explanation"]
    assert item["indicator"] == "C_2"
    assert item["points"] == 2
    assert item["satisfied"] is False
    assert item["name"] == "Self-learning"
    assert item["missing_text"] == "self-assessment awaiting verification"
    assert item["missing"] == {"code": "not_verified"}
    vietnamese = client.get(
        f"/api/v1/titles/eligibility/{row.id}", headers={**world["headers"], "Accept-Language": "vi"}
    ).get_json()
    assert vietnamese["explanation"][0]["name"] == "Tự học"
    assert client.get(f"/api/v1/titles/eligibility/{world['theirs'].id}", headers=world["headers"]).status_code == 404


def test_assessments_create_change_verify_delete(world, client):
    headers, person = world["headers"], world["people"][0]
    created = client.post(
        "/api/v1/titles/assessments",
        headers=headers,
        json={
            "subject_type": "person",
            "subject_id": person.id,
            "year": 2026,
            "indicator": "C_2",
            "value": 6,
            "source": "self",
            "evidence_ref": "Phiếu tự đánh giá",
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["counts"] is False
    assert body["value"] == 6.0
    assert body["has_evidence"] is True
    one = f"/api/v1/titles/assessments/{body['id']}"
    verified = client.post(f"{one}/verify", headers=headers).get_json()
    assert verified["counts"] is True
    assert verified["verified_by_id"] == world["user"].id
    changed = client.patch(one, headers=headers, json={"value": "7.5"}).get_json()
    assert changed["value"] == 7.5
    assert changed["counts"] is False
    listed = client.get(
        f"/api/v1/titles/assessments?subject_id={person.id}&unverified=true", headers=headers
    ).get_json()
    assert [a["id"] for a in listed["items"]] == [body["id"]]
    uploaded = client.post(
        f"{one}/evidence",
        headers=headers,
        data={"file": (io.BytesIO(PNG), "anh.png")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 200
    assert uploaded.get_json()["evidence_file"] is True
    download = client.get(f"{one}/evidence", headers=headers)
    assert download.status_code == 200
    assert download.data == PNG
    assert client.delete(one, headers=headers).status_code == 204
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0
    # Every commit queued the evaluation of the commune and year (eager in tests), which ran.
    assert db.session.get(EvaluationState, (world["commune"].id, 2026)).evaluated_at is not None


def test_assessment_errors_name_the_fields(world, client):
    headers = world["headers"]
    response = client.post(
        "/api/v1/titles/assessments",
        headers=headers,
        json={"subject_type": "person", "subject_id": "seven", "indicator": "C_2", "colour": "blue"},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"colour"}
    response = client.post(
        "/api/v1/titles/assessments",
        headers=headers,
        json={"subject_type": "person", "subject_id": "seven", "indicator": "C_2"},
    )
    assert {e["field"] for e in response.get_json()["errors"]} == {"subject_id", "year", "value"}
    response = client.post(
        "/api/v1/titles/assessments",
        headers=headers,
        json={
            "subject_type": "person",
            "subject_id": world["people"][0].id,
            "year": 2026,
            "indicator": "C_2",
            "value": 42,
        },
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "value"
    response = client.post(
        "/api/v1/titles/assessments",
        headers=headers,
        json={
            "subject_type": "person",
            "subject_id": world["stranger"].id,
            "year": 2026,
            "indicator": "C_2",
            "value": 4,
        },
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "subject_id"
    bad_file = client.post(
        "/api/v1/titles/assessments",
        headers=headers,
        json={
            "subject_type": "person",
            "subject_id": world["people"][0].id,
            "year": 2026,
            "indicator": "C_2",
            "value": 4,
        },
    ).get_json()["id"]
    refused = client.post(
        f"/api/v1/titles/assessments/{bad_file}/evidence",
        headers=headers,
        data={"file": (io.BytesIO(b"MZ\x90\x00"), "virus.png")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "file"


def test_cookie_requests_need_the_csrf_token(world, client):
    login(client, world["user"])
    response = client.post(
        "/api/v1/titles/assessments",
        json={
            "subject_type": "person",
            "subject_id": world["people"][0].id,
            "year": 2026,
            "indicator": "C_2",
            "value": 4,
        },
    )
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0


def test_viewers_cannot_write(world, client):
    leader = make_user(Role.PROVINCE_LEADER, world["commune"].parent)
    _, secret = ApiToken.issue(leader, "tỉnh")
    theirs = Assessment(
        subject_type="person",
        subject_id=world["people"][0].id,
        year=2026,
        indicator="C_2",
        value=Decimal(5),
        commune_id=world["commune"].id,
    )
    db.session.add(theirs)
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get(f"/api/v1/titles/assessments/{theirs.id}", headers=headers).status_code == 200
    assert (
        client.patch(f"/api/v1/titles/assessments/{theirs.id}", headers=headers, json={"value": 9}).status_code == 403
    )
    assert client.post("/api/v1/titles/assessments", headers=headers, json={}).status_code == 403


def test_another_communes_assessment_is_not_found_whatever_the_body(world, client):
    """Scope before the body, as the courses API: an invalid body for another commune's assessment is a 404, not a
    422 about fields of an object the caller may not see; the caller's own gets the 422."""
    theirs, mine = (
        Assessment(
            subject_type="person",
            subject_id=person.id,
            year=2026,
            indicator="C_2",
            value=Decimal(5),
            commune_id=person.household.village.parent_id,
        )
        for person in (world["stranger"], world["people"][0])
    )
    db.session.add_all([theirs, mine])
    db.session.commit()
    headers = world["headers"]
    patch = client.patch(f"/api/v1/titles/assessments/{theirs.id}", headers=headers, json={"remove_evidence": "có lẽ"})
    assert patch.status_code == 404, patch.get_json()
    upload = client.post(f"/api/v1/titles/assessments/{theirs.id}/evidence", headers=headers, data={})
    assert upload.status_code == 404, upload.get_json()
    own = client.patch(f"/api/v1/titles/assessments/{mine.id}", headers=headers, json={"remove_evidence": "có lẽ"})
    assert own.status_code == 422


def test_a_retried_post_with_the_same_idempotency_key_is_applied_once(world, client):
    headers = {**world["headers"], "Idempotency-Key": "tablet-7-assessment-1"}
    body = {"subject_type": "person", "subject_id": world["people"][1].id, "year": 2026, "indicator": "C_2", "value": 6}
    first = client.post("/api/v1/titles/assessments", headers=headers, json=body)
    again = client.post("/api/v1/titles/assessments", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 1


def test_a_recognised_subject_years_assessments_are_a_409(world, client):
    from lms.titles.models import Recognition

    headers, person = world["headers"], world["people"][0]
    created = client.post(
        "/api/v1/titles/assessments",
        headers=headers,
        json={"subject_type": "person", "subject_id": person.id, "year": 2026, "indicator": "C_2", "value": 6},
    )
    one = f"/api/v1/titles/assessments/{created.get_json()['id']}"
    db.session.add(
        Recognition(
            subject_type="person",
            subject_id=person.id,
            title="citizen",
            year=2026,
            commune_id=world["commune"].id,
            status="recognised",
            decision_number="9/QĐ",
        )
    )
    db.session.commit()
    answers = [
        client.patch(one, headers=headers, json={"value": "7"}),
        client.delete(one, headers=headers),
        client.post(
            "/api/v1/titles/assessments",
            headers=headers,
            json={"subject_type": "person", "subject_id": person.id, "year": 2026, "indicator": "C3", "value": 1},
        ),
    ]
    assert [a.status_code for a in answers] == [409, 409, 409]
    assert answers[0].get_json()["errors"][0]["field"] == "year"
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 1
