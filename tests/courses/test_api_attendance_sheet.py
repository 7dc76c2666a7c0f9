"""/api/v1/classes/<id>/attendance-sheet: the paper attendance sheet through the API, as its import page does it —
previewed (nothing written), then confirmed by the preview's token, exactly as previewed or not at all (409 with the
new preview), through ``courses.sheet_import`` (the page's service)."""

from __future__ import annotations

import io
import uuid
from datetime import datetime

from courses import services
from courses.services import Mark
from lms.auth.models import ApiToken, Role
from lms.extensions import db
from tests.conftest import make_user, unit_by_code

# ``sheet_class`` is the import page's fixture, shared (exported so pytest finds it here).
from tests.courses.test_documents import _audits, _good_rows, _marks, _xlsx, sheet_class

__all__ = ["sheet_class"]

TRANSLATED_GONE = "Bản xem trước này không còn (đã được ghi, hoặc đã quá một ngày). Hãy tải bảng lên lại."


def _bearer(unit):
    user = make_user(Role.CENTRE_MANAGER, unit, f"sheet-{uuid.uuid4().hex[:8]}@example.vn")
    _, secret = ApiToken.issue(user, "integration")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _upload(client, course_class, content, headers, filename="sheet.xlsx"):
    return client.post(
        f"/api/v1/classes/{course_class.id}/attendance-sheet",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
        headers=headers,
    )


def _confirm(client, course_class, token, headers):
    return client.post(
        f"/api/v1/classes/{course_class.id}/attendance-sheet/confirm", json={"preview_token": token}, headers=headers
    )


def test_a_sheet_is_previewed_then_applied_as_previewed(client, sheet_class):
    centre, course_class, _sessions, enrolled, _, _ = sheet_class
    headers = _bearer(centre.commune)
    before = _marks(course_class)
    preview = _upload(client, course_class, _xlsx(_good_rows(enrolled)), headers)
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["can_apply"] is True
    assert (body["preview"]["counts"]["new"], body["preview"]["counts"]["changed"]) == (7, 1)
    assert _marks(course_class) == before  # the upload only previews
    done = _confirm(client, course_class, body["preview_token"], headers)
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["created"], done.get_json()["updated"]) == (7, 1)
    assert len(_marks(course_class)) == 8
    assert _audits("class.attendance_import") == 1
    again = _confirm(client, course_class, body["preview_token"], headers)  # applied: the token is spent
    assert again.status_code == 422
    assert again.get_json()["errors"][0]["field"] == "preview_token"
    assert again.get_json()["errors"][0]["message"] == TRANSLATED_GONE


def test_a_mark_taken_after_the_preview_is_not_overwritten_unseen(client, sheet_class):
    centre, course_class, (s1, s2, _s3, _), enrolled, _, _ = sheet_class
    headers = _bearer(centre.commune)
    shown = _upload(client, course_class, _xlsx(_good_rows(enrolled)), headers).get_json()
    services.record_attendance(s2, [Mark(enrolled[1].id, "present", datetime(2026, 3, 9, 9))], user_id=None)
    db.session.commit()
    stale = _confirm(client, course_class, shown["preview_token"], headers)
    assert stale.status_code == 409, stale.get_json()
    assert stale.mimetype == "application/problem+json"
    problem = stale.get_json()
    assert problem["errors"][0]["field"] == "preview_token"
    assert problem["preview"]["preview"]["counts"]["changed"] == 2  # the phone's mark, now listed as changed
    assert problem["preview"]["preview_token"] != shown["preview_token"]
    db.session.expire_all()
    assert _marks(course_class)[(s2.id, enrolled[1].id)] == "present"  # nothing written
    assert (s1.id, enrolled[0].id) in _marks(course_class)
    done = _confirm(client, course_class, problem["preview"]["preview_token"], headers)
    assert done.status_code == 200, done.get_json()
    assert _marks(course_class)[(s2.id, enrolled[1].id)] == "absent"  # as the sheet says, now that it was shown


def test_a_bad_sheet_names_row_and_column_in_vietnamese_and_another_commune_s_class_is_not_found(client, sheet_class):
    centre, course_class, _sessions, enrolled, _, _ = sheet_class
    headers = _bearer(centre.commune)
    rows = _good_rows(enrolled)
    rows[2][2] = "y"
    refused = _upload(client, course_class, _xlsx(rows), headers)
    assert refused.status_code == 422, refused.get_json()
    assert refused.mimetype == "application/problem+json"
    error = refused.get_json()["errors"][0]
    assert (error["field"], error["row"], error["column"]) == ("file", 3, "C")
    assert "không phải ký hiệu điểm danh" in error["message"]
    other = _bearer(unit_by_code("23302"))
    assert _upload(client, course_class, _xlsx(_good_rows(enrolled)), other).status_code == 404
    assert _confirm(client, course_class, "x", other).status_code == 404
    assert _audits("class.attendance_import") == 0
