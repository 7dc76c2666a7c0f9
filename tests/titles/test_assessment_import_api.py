"""POST /api/v1/titles/assessments/import and …/confirm: the assessments spreadsheet through the API, as its import
page does it — checked and previewed (nothing written), then written with the preview's token exactly as previewed,
or not at all (409 with the new preview) — through ``titles.services`` (the page's service)."""

from __future__ import annotations

import io
from decimal import Decimal

from sqlalchemy import func, select

from lms.auth.models import ApiToken
from lms.extensions import db
from lms.titles import services
from lms.titles.models import Assessment

# ``world`` is the assessments' fixture, shared (exported so pytest finds it here).
from tests.titles.test_assessments import _audits, _csv, _input, world

__all__ = ["world"]


def _bearer(user):
    _, secret = ApiToken.issue(user, "integration")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _upload(client, content, headers, filename="danh-gia.csv"):
    return client.post(
        "/api/v1/titles/assessments/import",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        headers=headers,
    )


def _confirm(client, token, headers):
    return client.post("/api/v1/titles/assessments/import/confirm", json={"preview_token": token}, headers=headers)


def _values():
    db.session.expire_all()
    return dict(db.session.execute(select(Assessment.subject_id, Assessment.value)).tuples().all())


def test_a_file_is_previewed_then_written_as_previewed(client, world):
    a, b, _ = world["people"]
    headers = _bearer(world["user"])
    rows = [["person", a.id, 2026, "C_2", 8, "evaluator", "Sổ 1"], ["person", b.id, 2026, "C_2", 6, "", ""]]
    preview = _upload(client, _csv(rows), headers)
    assert preview.status_code == 200, preview.get_json()
    shown = preview.get_json()
    assert (shown["created"], shown["updated"]) == (2, 0)
    assert _values() == {}  # the preview wrote nothing
    done = _confirm(client, shown["preview_token"], headers)
    assert done.status_code == 201, done.get_json()
    assert done.get_json() == {"created": 2, "updated": 0, "unchanged": 0}
    assert _values() == {a.id: Decimal(8), b.id: Decimal(6)}
    assert _audits("assessment.import") == 1


def test_an_assessment_recorded_after_the_preview_is_not_overwritten_unseen(client, world):
    a = world["people"][0]
    headers = _bearer(world["user"])
    shown = _upload(client, _csv([["person", a.id, 2026, "C_2", 8, "evaluator", ""]]), headers).get_json()
    services.create_assessment(_input(a, "C_2", "3"), user=world["user"])
    db.session.commit()
    stale = _confirm(client, shown["preview_token"], headers)
    assert stale.status_code == 409, stale.get_json()
    assert stale.mimetype == "application/problem+json"
    problem = stale.get_json()
    assert problem["errors"][0]["field"] == "preview_token"
    assert "xem trước" in problem["detail"]
    assert (problem["preview"]["created"], problem["preview"]["updated"]) == (0, 1)
    assert _values() == {a.id: Decimal(3)}  # nothing written
    done = _confirm(client, problem["preview"]["preview_token"], headers)
    assert done.status_code == 201, done.get_json()
    assert _values() == {a.id: Decimal(8)}


def test_every_problem_is_named_by_row_and_column_and_a_stranger_is_refused(client, world):
    a, b, _ = world["people"]
    headers = _bearer(world["user"])
    rows = [
        ["person", a.id, 2026, "C_2", 8, "evaluator", ""],
        ["robot", b.id, 2026, "C_2", 8, "", ""],  # row 3
        ["person", world["stranger"].id, 2026, "C_2", 8, "", ""],  # row 4: another commune's person
    ]
    refused = _upload(client, _csv(rows), headers)
    assert refused.status_code == 422, refused.get_json()
    assert refused.mimetype == "application/problem+json"
    found = {(e["field"], e["row"], e["column"]) for e in refused.get_json()["errors"]}
    assert found == {("file", 3, "Loại đối tượng"), ("file", 4, "Mã đối tượng")}
    assert refused.get_json()["detail"] == "Tệp có 2 lỗi; chưa ghi gì."  # Vietnamese by default
    tampered = _confirm(client, "x" * 40, headers)
    assert tampered.status_code == 422
    assert tampered.get_json()["errors"][0]["field"] == "preview_token"
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0
