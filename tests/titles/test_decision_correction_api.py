"""POST /api/v1/titles/recognitions/<id>/decision/correct: a mistyped decision number or date corrected through the
API as the recognition's page does it — previewed (``dry_run=true``), then applied with the preview's digest, on every
recognition of the decision, audited, under the recognitions' locks (``recognition.correct_decision``)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from lms.auth.models import ApiToken, Role
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.titles import recognition
from lms.titles.models import CriteriaSet, Recognition
from tests.conftest import make_household, make_user, make_village, unit_by_code
from tests.titles.recognition_fixtures import criteria_set, eligibility

YEAR = 2025
DECIDED_ON = date(2026, 1, 15)


@pytest.fixture
def world(app_ctx):
    commune = unit_by_code("23293")
    village = make_village(commune, "DC-V1", "Thôn Sửa")
    criteria_set()
    leader = make_user(Role.COMMUNE_LEADER, commune, "dc-leader@example.vn")
    other = make_user(Role.COMMUNE_LEADER, unit_by_code("23302"), "dc-other@example.vn")
    manager = make_user(Role.CENTRE_MANAGER, commune, "dc-manager@example.vn")
    headers = {}
    for name, user in (("leader", leader), ("other", other), ("manager", manager)):
        _, secret = ApiToken.issue(user, "test")
        headers[name] = {"Authorization": f"Bearer {secret}"}
    db.session.commit()
    return {"commune": commune, "village": village, "leader": leader, "headers": headers}


def _decided(world, size: int, prefix: str, number: str = "12/QĐ-UBND") -> list[Recognition]:
    family = db.session.get(CriteriaSet, db.session.scalar(select(func.min(CriteriaSet.id))))
    households = [make_household(world["village"], f"{prefix}-{i}", f"Lê Văn Sửa{prefix}{i}") for i in range(size)]
    for household in households:
        eligibility(family, household.id, world["commune"].id, YEAR, village_id=world["village"].id)
    proposed = recognition.propose(
        title="family", year=YEAR, subject_ids=[h.id for h in households], user=world["leader"]
    )
    rows = recognition.decide(proposed, decision_number=number, decision_date=DECIDED_ON, user=world["leader"])
    db.session.commit()
    return rows


def _url(row) -> str:
    return f"/api/v1/titles/recognitions/{row.id}/decision/correct"


ASKED = {"decision_number": "21/QĐ-UBND", "decision_date": "2026-01-15", "reason": "Gõ nhầm số khi ghi nhận"}


def _numbers(rows) -> set[str | None]:
    db.session.expire_all()
    return {db.session.get(Recognition, r.id).decision_number for r in rows}


def _problem(response, status):
    assert response.status_code == status, response.get_json()
    assert response.mimetype == "application/problem+json"
    return response.get_json()


def test_a_decision_is_corrected_on_all_it_gave_after_its_preview(client, world):
    rows = _decided(world, 2, "A")
    headers = world["headers"]["leader"]
    preview = client.post(f"{_url(rows[0])}?dry_run=true", json=ASKED, headers=headers)
    assert preview.status_code == 200, preview.get_json()
    shown = preview.get_json()
    assert shown["dry_run"] is True
    assert (shown["old_number"], shown["decision_number"]) == ("12/QĐ-UBND", "21/QĐ-UBND")
    assert shown["recognition_ids"] == sorted(r.id for r in rows)
    assert _numbers(rows) == {"12/QĐ-UBND"}  # nothing written by the preview
    done = client.post(_url(rows[0]), json={**ASKED, "preview_digest": shown["preview_digest"]}, headers=headers)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["dry_run"] is False
    assert done.get_json()["recognition_ids"] == shown["recognition_ids"]
    assert _numbers(rows) == {"21/QĐ-UBND"}
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "recognition.correct_decision")).all()
    assert sorted(int(e.object_id) for e in events) == sorted(r.id for r in rows)
    assert all(e.user_id == world["leader"].id for e in events)
    assert events[0].details["reason"] == "Gõ nhầm số khi ghi nhận"
    assert events[0].details["old_number"] == "12/QĐ-UBND"


def test_a_confirmation_for_another_preview_is_refused_with_the_new_one(client, world):
    """A recognition decided under the same decision after the preview (so the correction would reach three, not two),
    or the reason changed: the digest no longer matches — a 409 carrying what the correction would do now."""
    rows = _decided(world, 2, "B")
    headers = world["headers"]["leader"]
    shown = client.post(f"{_url(rows[0])}?dry_run=true", json=ASKED, headers=headers).get_json()
    edited = client.post(
        _url(rows[0]),
        json={**ASKED, "reason": "Lý do khác", "preview_digest": shown["preview_digest"]},
        headers=headers,
    )
    assert _problem(edited, 409)["errors"][0]["field"] == "preview_digest"
    late = _decided(world, 1, "C")  # the same number and date, decided after the preview was shown
    stale = _problem(
        client.post(_url(rows[0]), json={**ASKED, "preview_digest": shown["preview_digest"]}, headers=headers), 409
    )
    assert "kiểm tra lại" in stale["detail"]
    assert stale["preview"]["recognition_ids"] == sorted(r.id for r in [*rows, *late])
    assert _numbers([*rows, *late]) == {"12/QĐ-UBND"}
    done = client.post(
        _url(rows[0]), json={**ASKED, "preview_digest": stale["preview"]["preview_digest"]}, headers=headers
    )
    assert done.status_code == 200, done.get_json()
    assert _numbers([*rows, *late]) == {"21/QĐ-UBND"}


def test_refusals_say_what_to_fix(client, world):
    rows = _decided(world, 1, "D")
    headers = world["headers"]["leader"]
    url = _url(rows[0])
    missing = _problem(client.post(url, json=ASKED, headers=headers), 422)
    assert missing["errors"][0]["field"] == "preview_digest"
    assert "dry_run=true" in missing["errors"][0]["message"]
    early = _problem(
        client.post(f"{url}?dry_run=true", json={**ASKED, "decision_date": "2024-12-31"}, headers=headers), 422
    )
    assert early["errors"][0]["field"] == "decision_date"
    assert "2025" in early["errors"][0]["message"]
    same = _problem(
        client.post(f"{url}?dry_run=true", json={**ASKED, "decision_number": "12/QĐ-UBND"}, headers=headers), 422
    )
    assert same["errors"][0]["field"] == "decision_number"
    blank = _problem(client.post(f"{url}?dry_run=true", json={**ASKED, "reason": "   "}, headers=headers), 422)
    assert blank["errors"][0]["field"] == "reason"
    # A centre manager holds no approval permission: 403 before anything.
    assert _problem(client.post(url, json=ASKED, headers=world["headers"]["manager"]), 403)
    # A proposal has no decision to correct: a 409 saying so.
    family = db.session.get(CriteriaSet, db.session.scalar(select(func.min(CriteriaSet.id))))
    household = make_household(world["village"], "D-P", "Lê Văn Đề")
    eligibility(family, household.id, world["commune"].id, YEAR, village_id=world["village"].id)
    (proposed,) = recognition.propose(title="family", year=YEAR, subject_ids=[household.id], user=world["leader"])
    db.session.commit()
    undecided = _problem(
        client.post(
            f"/api/v1/titles/recognitions/{proposed}/decision/correct?dry_run=true", json=ASKED, headers=headers
        ),
        409,
    )
    assert undecided["errors"][0]["field"] == "recognition_id"
    assert _numbers(rows) == {"12/QĐ-UBND"}


def test_another_commune_s_recognition_is_not_found(client, world):
    rows = _decided(world, 1, "E")
    other = world["headers"]["other"]
    assert _problem(client.post(f"{_url(rows[0])}?dry_run=true", json=ASKED, headers=other), 404)
    assert _problem(client.post(_url(rows[0]), json={**ASKED, "preview_digest": "x"}, headers=other), 404)
    assert _numbers(rows) == {"12/QĐ-UBND"}


# --- POST /titles/recognitions/decide?dry_run=true, then with its digest ---------------------------------------


def _proposed(world, size: int, prefix: str) -> list[int]:
    family = db.session.get(CriteriaSet, db.session.scalar(select(func.min(CriteriaSet.id))))
    households = [make_household(world["village"], f"{prefix}-{i}", f"Lê Văn Đề{prefix}{i}") for i in range(size)]
    for household in households:
        eligibility(family, household.id, world["commune"].id, YEAR, village_id=world["village"].id)
    ids = recognition.propose(title="family", year=YEAR, subject_ids=[h.id for h in households], user=world["leader"])
    db.session.commit()
    return ids


def _statuses(ids) -> set[str]:
    db.session.expire_all()
    return {db.session.get(Recognition, i).status for i in ids}


def test_a_decision_is_previewed_then_recorded_as_previewed(client, world):
    ids = _proposed(world, 2, "F")
    headers = world["headers"]["leader"]
    body = {"recognition_ids": ids, "decision_number": "20/QĐ-UBND", "decision_date": "2026-01-15"}
    url = "/api/v1/titles/recognitions/decide"
    preview = client.post(f"{url}?dry_run=true", json=body, headers=headers)
    assert preview.status_code == 200, preview.get_json()
    shown = preview.get_json()
    assert shown["dry_run"] is True
    assert sorted(i["id"] for i in shown["items"]) == sorted(ids)
    assert _statuses(ids) == {"proposed"}  # the preview recorded nothing
    # The number changed after the preview was shown: not recorded unseen — the 409 carries the new preview.
    changed = _problem(
        client.post(
            url,
            json={**body, "decision_number": "21/QĐ-UBND", "preview_digest": shown["preview_digest"]},
            headers=headers,
        ),
        409,
    )
    assert changed["errors"][0]["field"] == "preview_digest"
    assert changed["preview"]["preview_digest"] != shown["preview_digest"]
    assert _statuses(ids) == {"proposed"}
    done = client.post(url, json={**body, "preview_digest": shown["preview_digest"]}, headers=headers)
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["dry_run"] is False
    assert _statuses(ids) == {"recognised"}
    assert {i["decision_number"] for i in done.get_json()["items"]} == {"20/QĐ-UBND"}


def test_a_decision_preview_is_checked_as_the_decision_and_another_commune_s_proposals_are_not_found(client, world):
    ids = _proposed(world, 1, "G")
    url = "/api/v1/titles/recognitions/decide?dry_run=true"
    body = {"recognition_ids": ids, "decision_number": "20/QĐ-UBND", "decision_date": "2024-12-31"}
    early = _problem(client.post(url, json=body, headers=world["headers"]["leader"]), 422)
    assert early["errors"][0]["field"] == "decision_date"
    other = _problem(
        client.post(url, json={**body, "decision_date": "2026-01-15"}, headers=world["headers"]["other"]), 422
    )
    assert other["errors"][0]["field"] == "recognition_ids[0]"  # ids in a body: refused by name, as always
    assert _statuses(ids) == {"proposed"}
