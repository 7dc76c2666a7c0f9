"""/api/v1/titles: registrations, proposals, decisions (with Idempotency-Key), reject, revoke, the 409 of a second
decision, scoping, and the public verification JSON."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from lms.auth.models import ApiToken, Role
from lms.extensions import db
from lms.titles.models import Recognition, Registration
from tests.conftest import make_household, make_user, make_village, unit_by_code
from tests.titles.recognition_fixtures import criteria_set, eligibility

YEAR = 2025


@pytest.fixture
def world(app_ctx):
    commune = unit_by_code("23293")
    village = make_village(commune, "RA-V1", "Thôn Một")
    households = [make_household(village, f"RA-H{i}", f"Trần Văn Hộ{i}") for i in range(3)]
    family = criteria_set()
    for i, household in enumerate(households):
        eligibility(family, household.id, commune.id, YEAR, village_id=village.id, eligible=i < 2)
    leader = make_user(Role.COMMUNE_LEADER, commune, "ra-leader@example.vn")
    other = make_user(Role.COMMUNE_LEADER, unit_by_code("23302"), "ra-other@example.vn")
    tokens = {}
    for name, user in (("leader", leader), ("other", other)):
        _, secret = ApiToken.issue(user, "test")
        tokens[name] = {"Authorization": f"Bearer {secret}"}
    db.session.commit()
    return {"commune": commune, "households": households, "headers": tokens}


def _propose(client, world, *indexes: int):
    return client.post(
        "/api/v1/titles/recognitions/propose",
        headers=world["headers"]["leader"],
        json={"title": "family", "year": YEAR, "subject_ids": [world["households"][i].id for i in indexes]},
    )


def test_registrations_create_and_list(client, world):
    headers = world["headers"]["leader"]
    ids = [h.id for h in world["households"]]
    response = client.post(
        "/api/v1/titles/registrations", headers=headers, json={"title": "family", "year": 2026, "subject_ids": ids[:2]}
    )
    assert response.status_code == 201
    assert response.get_json()["created"] == ids[:2]
    response = client.post(
        "/api/v1/titles/registrations", headers=headers, json={"title": "family", "year": 2026, "subject_id": ids[0]}
    )
    assert response.get_json() == {"title": "family", "year": 2026, "created": [], "already": [ids[0]]}
    listing = client.get(
        f"/api/v1/titles/registrations?year=2026&unit_id={world['commune'].id}", headers=headers
    ).get_json()
    assert listing["total"] == 2
    assert listing["items"][0]["subject_name"].startswith("Hộ Trần Văn Hộ")
    # Commune B's leader sees none of them and cannot register them.
    other = world["headers"]["other"]
    assert client.get("/api/v1/titles/registrations?year=2026", headers=other).get_json()["total"] == 0
    response = client.post(
        "/api/v1/titles/registrations", headers=other, json={"title": "family", "year": 2026, "subject_ids": [ids[2]]}
    )
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "subject_ids[0]"


def test_registration_import_dry_run_writes_nothing(client, world):
    data = {
        "commune_id": str(world["commune"].id),
        "title": "family",
        "year": "2026",
        "file": (io.BytesIO(b"household_code,village_code\nRA-H0,RA-V1\n"), "ds.csv"),
    }
    response = client.post(
        "/api/v1/titles/registrations/import?dry_run=1",
        headers=world["headers"]["leader"],
        data=data,
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["dry_run"], len(body["created"])) == (True, 1)
    assert body["preview"]["counts"]["registrations"] == {"created": 1, "updated": 0, "unchanged": 0}
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_registration_import_reports_rows_and_columns(client, world):
    data = {
        "commune_id": str(world["commune"].id),
        "title": "family",
        "year": "2026",
        "file": (io.BytesIO(b"household_code,village_code\nRA-H0,RA-V1\nRA-H9,RA-V1\n"), "ds.csv"),
    }
    response = client.post(
        "/api/v1/titles/registrations/import",
        headers=world["headers"]["leader"],
        data=data,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    # In the caller's language, as every other import answers (the file's errors and the summary were English).
    assert response.get_json()["detail"] == "Tệp có 1 lỗi: chưa đăng ký gì."
    assert response.get_json()["errors"] == [
        {"field": "file", "row": 3, "column": "household_code", "message": "không có hộ RA-H9 ở thôn RA-V1"}
    ]
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_validation_names_fields(client, world):
    response = client.post(
        "/api/v1/titles/recognitions/propose",
        headers=world["headers"]["leader"],
        json={"title": "nope", "year": "x", "subject_ids": [1, "a"], "extra": 1},
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"extra"}
    response = client.post(
        "/api/v1/titles/recognitions/propose",
        headers=world["headers"]["leader"],
        json={"title": "nope", "year": "x", "subject_ids": [1, "a"]},
    )
    assert {e["field"] for e in response.get_json()["errors"]} == {"title", "year", "subject_ids[1]"}


def test_propose_refuses_a_non_eligible_subject_by_index(client, world):
    response = _propose(client, world, 0, 2)
    assert response.status_code == 422
    (error,) = response.get_json()["errors"]
    assert error["field"] == "subject_ids[1]"
    # Vietnamese first, the subject named as the lists name it (its id is the field's index), what it lacks by the
    # indicator's name where the criteria give one.
    assert error["message"].startswith("Hộ Trần Văn Hộ2 (")
    assert "Một) chưa đủ điều kiện: " in error["message"]
    assert "A2: " in error["message"]  # what it lacks, in words
    english = client.post(
        "/api/v1/titles/recognitions/propose",
        headers={**world["headers"]["leader"], "Accept-Language": "en"},
        json={"title": "family", "year": YEAR, "subject_ids": [world["households"][2].id]},
    )
    assert english.get_json()["detail"] == "1 subject(s) cannot be proposed."
    message = english.get_json()["errors"][0]["message"]
    assert message.startswith("Household of Trần Văn Hộ2 (")
    assert "Một) is not eligible" in message
    assert "not eligible" in english.get_json()["errors"][0]["message"]
    assert db.session.scalar(select(func.count()).select_from(Recognition)) == 0


def test_proposable_lists_eligible_subjects_not_yet_proposed(client, world):
    url = f"/api/v1/titles/proposable?commune_id={world['commune'].id}&year={YEAR}&title=family"
    headers = world["headers"]["leader"]
    assert {i["subject_id"] for i in client.get(url, headers=headers).get_json()["items"]} == {
        world["households"][0].id,
        world["households"][1].id,
    }
    _propose(client, world, 0)
    assert [i["subject_id"] for i in client.get(url, headers=headers).get_json()["items"]] == [
        world["households"][1].id
    ]
    assert client.get(url, headers=world["headers"]["other"]).get_json()["total"] == 0


def test_decide_in_bulk_with_idempotency_and_the_409_of_a_second_decision(client, world):
    headers = world["headers"]["leader"]
    proposed = _propose(client, world, 0, 1)
    assert proposed.status_code == 201
    ids = [item["id"] for item in proposed.get_json()["items"]]
    body = {"recognition_ids": ids, "decision_number": "20/QĐ-UBND", "decision_date": "2026-01-20"}
    keyed = {**headers, "Idempotency-Key": "decide-1"}
    first = client.post("/api/v1/titles/recognitions/decide", headers=keyed, json=body)
    assert first.status_code == 200
    items = first.get_json()["items"]
    assert {i["status"] for i in items} == {"recognised"}
    assert {i["valid_until"] for i in items} == {"2025-12-31"}
    assert all(i["authority"].startswith("Chủ tịch UBND") for i in items)
    replay = client.post("/api/v1/titles/recognitions/decide", headers=keyed, json=body)
    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json() == first.get_json()
    again = client.post(
        "/api/v1/titles/recognitions/decide", headers=headers, json={**body, "decision_number": "21/QĐ"}
    )
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    assert again.get_json()["errors"][0]["field"] == "recognition_ids[0]"
    row = db.session.get(Recognition, ids[0])
    assert row.decision_number == "20/QĐ-UBND"


def test_get_reject_revoke_and_scope(client, world):
    headers = world["headers"]["leader"]
    ids = [item["id"] for item in _propose(client, world, 0, 1).get_json()["items"]]
    detail = client.get(f"/api/v1/titles/recognitions/{ids[0]}", headers=headers).get_json()
    assert detail["status"] == "proposed"
    assert detail["breakdown"][0]["indicator"] == "A1"
    other = world["headers"]["other"]
    assert client.get(f"/api/v1/titles/recognitions/{ids[0]}", headers=other).status_code == 404
    assert (
        client.post(f"/api/v1/titles/recognitions/{ids[0]}/reject", headers=other, json={"reason": "x"}).status_code
        == 404
    )
    # Scope before the body, as the courses API: another commune's recognition is not found whatever the body says
    # (it answered 422 for an invalid body, so an out-of-scope id was told apart from a missing one by its errors).
    for action, body in (("reject", {}), ("revoke", {"reason": 5}), ("decision/correct", {"decision_date": "x"})):
        refused = client.post(f"/api/v1/titles/recognitions/{ids[0]}/{action}", headers=other, json=body)
        assert refused.status_code == 404, (action, refused.get_json())
    assert (
        client.post(f"/api/v1/titles/recognitions/{ids[0]}/revoke", headers=headers, json={"reason": "x"}).status_code
        == 409
    )  # a proposal is rejected, not revoked
    assert client.post(f"/api/v1/titles/recognitions/{ids[0]}/reject", headers=headers, json={}).status_code == 422
    rejected = client.post(
        f"/api/v1/titles/recognitions/{ids[0]}/reject", headers=headers, json={"reason": "Thiếu minh chứng"}
    )
    assert rejected.get_json()["status"] == "rejected"
    client.post(
        "/api/v1/titles/recognitions/decide",
        headers=headers,
        json={"recognition_ids": [ids[1]], "decision_number": "1/QĐ", "decision_date": "2026-01-02"},
    )
    revoked = client.post(
        f"/api/v1/titles/recognitions/{ids[1]}/revoke", headers=headers, json={"reason": "Quyết định bị hủy"}
    )
    assert revoked.status_code == 200
    assert revoked.get_json()["status"] == "revoked"
    listing = client.get("/api/v1/titles/recognitions?status=revoked", headers=headers).get_json()
    assert [i["id"] for i in listing["items"]] == [ids[1]]
    assert client.get("/api/v1/titles/recognitions?status=nope", headers=headers).status_code == 422


def test_public_verification_shows_the_minimum(client, world):
    headers = world["headers"]["leader"]
    ids = [item["id"] for item in _propose(client, world, 0).get_json()["items"]]
    decided = client.post(
        "/api/v1/titles/recognitions/decide",
        headers=headers,
        json={"recognition_ids": ids, "decision_number": "2/QĐ", "decision_date": "2026-01-03"},
    )
    code = decided.get_json()["items"][0]["certificate_code"]
    response = client.get(f"/api/v1/titles/verify/{code}")  # no credentials
    assert response.status_code == 200
    body = response.get_json()
    assert body["holder"] == "Hộ T. V. Hộ0"
    assert body["title_name"] == "Gia đình học tập"
    assert body["commune"] == world["commune"].full_name
    # A one-year title of 2025, decided in 2026: its certificate does not lapse (ADR 17).
    assert (body["status"], body["valid"], body["valid_until"]) == ("valid", True, None)
    assert "Trần Văn" not in response.get_data(as_text=True)
    assert "RA-H0" not in response.get_data(as_text=True)
    assert client.get("/api/v1/titles/verify/ZZZZ-ZZZZ-ZZZZ").status_code == 404


def test_ids_in_a_body_are_scoped_too(client, world):
    """Commune B's leader holds titles.approve, but not over commune A: A's ids sent in a body are refused."""
    ids = [item["id"] for item in _propose(client, world, 0).get_json()["items"]]
    response = client.post(
        "/api/v1/titles/recognitions/decide",
        headers=world["headers"]["other"],
        json={"recognition_ids": ids, "decision_number": "9/QĐ", "decision_date": "2026-01-09"},
    )
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": "recognition_ids[0]", "message": f"không có hồ sơ công nhận {ids[0]} trong phạm vi của bạn"}
    ]
    response = client.post(
        "/api/v1/titles/recognitions/propose",
        headers=world["headers"]["other"],
        json={"title": "family", "year": YEAR, "subject_ids": [world["households"][1].id]},
    )
    assert response.status_code == 422
    assert db.session.get(Recognition, ids[0]).status == "proposed"


def test_propose_previews_with_a_digest_and_refuses_a_confirmation_the_engine_outdated(client, world):
    """As the propose page (and the decide API): ``dry_run=true`` lists the evaluations the proposal would copy and
    writes nothing; the proposal sent with that ``preview_digest`` is written only if those evaluations still hold —
    the engine run again in between is a 409 carrying the new preview, whose digest then proposes."""
    from sqlalchemy import update

    from lms.titles.models import Eligibility

    headers = world["headers"]["leader"]
    first, second, _not_eligible = world["households"]
    body = {"title": "family", "year": YEAR, "subject_ids": [first.id, second.id]}
    url = "/api/v1/titles/recognitions/propose"
    preview = client.post(f"{url}?dry_run=true", headers=headers, json=body)
    assert preview.status_code == 200, preview.get_json()
    shown = preview.get_json()
    assert shown["dry_run"] is True
    assert [item["subject_id"] for item in shown["items"]] == sorted([first.id, second.id])
    assert shown["items"][0]["subject_name"].startswith("Hộ Trần Văn Hộ")
    assert shown["preview_digest"]
    assert db.session.scalar(select(func.count()).select_from(Recognition)) == 0  # nothing written
    # A dry run is checked as the proposal is: a subject not eligible is refused by index.
    refused = client.post(
        f"{url}?dry_run=true", headers=headers, json={**body, "subject_ids": [world["households"][2].id]}
    )
    assert (refused.status_code, refused.get_json()["errors"][0]["field"]) == (422, "subject_ids[0]")

    # The engine runs again: the second household's score changes.
    db.session.execute(
        update(Eligibility)
        .where(Eligibility.subject_id == second.id, Eligibility.title == "family")
        .values(score=78, inputs_digest="recomputed")
    )
    db.session.commit()
    stale = client.post(url, headers=headers, json={**body, "preview_digest": shown["preview_digest"]})
    assert stale.status_code == 409
    assert stale.mimetype == "application/problem+json"
    problem = stale.get_json()
    assert problem["errors"][0]["field"] == "preview_digest"
    assert problem["preview"]["preview_digest"] != shown["preview_digest"]
    assert {item["subject_id"]: item["score"] for item in problem["preview"]["items"]}[second.id] == 78
    assert db.session.scalar(select(func.count()).select_from(Recognition)) == 0

    done = client.post(url, headers=headers, json={**body, "preview_digest": problem["preview"]["preview_digest"]})
    assert done.status_code == 201, done.get_json()
    assert db.session.scalar(select(Recognition.score).where(Recognition.subject_id == second.id)) == 78


def test_an_engine_commit_between_the_check_and_the_copy_is_the_stale_preview_not_an_unseen_copy(
    client, world, monkeypatch
):
    """The preview's digest is checked, then the evaluations are copied: an engine run committing between the two
    statements would have the proposal copy a score nobody was shown. The copy is read back against the preview —
    a mismatch undoes it and answers as the stale preview does (409 with the new preview)."""
    from sqlalchemy import update

    from lms.titles import recognition
    from lms.titles.models import Eligibility

    headers = world["headers"]["leader"]
    first, second, _not_eligible = world["households"]
    body = {"title": "family", "year": YEAR, "subject_ids": [first.id, second.id]}
    url = "/api/v1/titles/recognitions/propose"
    shown = client.post(f"{url}?dry_run=true", headers=headers, json=body).get_json()
    copy = recognition._insert_proposals

    def engine_slips_in(*args, **kwargs):
        db.session.execute(
            update(Eligibility)
            .where(Eligibility.subject_id == second.id, Eligibility.title == "family")
            .values(score=61, inputs_digest="slipped-in")
        )  # as an engine run's commit, seen by the copy's statement
        return copy(*args, **kwargs)

    monkeypatch.setattr(recognition, "_insert_proposals", engine_slips_in)
    stale = client.post(url, headers=headers, json={**body, "preview_digest": shown["preview_digest"]})
    assert stale.status_code == 409, stale.get_json()
    problem = stale.get_json()
    assert problem["errors"][0]["field"] == "preview_digest"
    assert {item["subject_id"]: item["score"] for item in problem["preview"]["items"]}[second.id] == 61
    assert db.session.scalar(select(func.count()).select_from(Recognition)) == 0


def test_a_deadlock_on_confirming_a_proposal_is_the_stale_preview_not_a_server_error(client, world, monkeypatch):
    """PostgreSQL may abort the confirmation as a deadlock (40P01) or a serialization failure (40001) when an engine
    run writes the same evaluations: the transaction is rolled back, nothing is proposed, and the answer is the stale
    preview's (409 with the evaluations now), for the client to confirm again — never a 500."""
    from lms.titles import recognition
    from tests.titles.recognition_fixtures import lock_conflict

    headers = world["headers"]["leader"]
    first, second, _not_eligible = world["households"]
    body = {"title": "family", "year": YEAR, "subject_ids": [first.id, second.id]}
    url = "/api/v1/titles/recognitions/propose"
    for code in ("40P01", "40001"):
        shown = client.post(f"{url}?dry_run=true", headers=headers, json=body).get_json()
        monkeypatch.setattr(recognition, "_insert_proposals", lock_conflict(code))
        answer = client.post(url, headers=headers, json={**body, "preview_digest": shown["preview_digest"]})
        assert answer.status_code == 409, answer.get_json()
        problem = answer.get_json()
        assert problem["errors"][0]["field"] == "preview_digest"
        assert {item["subject_id"] for item in problem["preview"]["items"]} == {first.id, second.id}
        assert db.session.scalar(select(func.count()).select_from(Recognition)) == 0
    monkeypatch.undo()
    done = client.post(url, headers=headers, json={**body, "preview_digest": problem["preview"]["preview_digest"]})
    assert done.status_code == 201, done.get_json()


@pytest.mark.parametrize("code", ["40P01", "40001"])
def test_a_deadlock_on_deciding_rejecting_revoking_or_correcting_is_a_409_not_a_server_error(
    client, world, monkeypatch, code
):
    """The decision, the rejection, the revocation and the correction lock their recognitions FOR UPDATE: should
    PostgreSQL abort one as a deadlock (40P01) or a serialization failure (40001) — another approver or an engine
    run writing the same rows — the transaction is rolled back, nothing is recorded, and the answer is a 409 saying
    so, as a proposal's confirmation answers (never a 500); asked again, it is done."""
    from lms.titles import recognition
    from tests.titles.recognition_fixtures import lock_conflict

    headers = world["headers"]["leader"]
    ids = [item["id"] for item in _propose(client, world, 0, 1).get_json()["items"]]
    url = "/api/v1/titles/recognitions"
    decide = {"recognition_ids": [ids[1]], "decision_number": "1/QĐ", "decision_date": "2026-01-02"}
    correct = {"decision_number": "2/QĐ", "decision_date": "2026-01-02", "reason": "Gõ nhầm số"}
    steps = [
        ("reject", f"{url}/{ids[0]}/reject", {"reason": "Thiếu minh chứng"}),
        ("decide", f"{url}/decide", decide),
        ("correct", f"{url}/{ids[1]}/decision/correct", correct),
        ("revoke", f"{url}/{ids[1]}/revoke", {"reason": "Quyết định bị hủy"}),
    ]
    for action, target, body in steps:
        if action == "correct":
            shown = client.post(f"{target}?dry_run=true", headers=headers, json=body)
            assert shown.status_code == 200, shown.get_json()
            body = {**body, "preview_digest": shown.get_json()["preview_digest"]}
        before = {r.id: (r.status, r.decision_number) for r in db.session.scalars(select(Recognition))}
        monkeypatch.setattr(recognition, "_audit_many", lock_conflict(code))
        refused = client.post(target, headers=headers, json=body)
        assert refused.status_code == 409, (action, refused.get_json())
        assert refused.mimetype == "application/problem+json"
        assert refused.get_json()["detail"].startswith("Các công nhận này đang được người khác thay đổi cùng lúc")
        db.session.expire_all()
        assert {r.id: (r.status, r.decision_number) for r in db.session.scalars(select(Recognition))} == before
        monkeypatch.undo()
        done = client.post(target, headers=headers, json=body)
        assert done.status_code == 200, (action, done.get_json())
    db.session.expire_all()
    assert [db.session.get(Recognition, i).status for i in ids] == ["rejected", "revoked"]
    assert db.session.get(Recognition, ids[1]).decision_number == "2/QĐ"
