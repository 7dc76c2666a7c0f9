"""A device's mark id names one mark of one learner in a session (ADR 5: a re-sent mark is recognised by it). The
same id given to two learners — in one batch, or in a later batch for another learner than the stored mark's — is a
device's mistake, refused with the mark named: it was a server error (the unique index) in one batch, and in a later
batch the second learner's mark was answered "unchanged" and never written."""

from __future__ import annotations

from sqlalchemy import select

from courses.models import Attendance
from lms.extensions import db
from tests.courses.test_api import T0, _post_marks, attendance_class  # noqa: F401 - the fixture


def _mark(person, client_mark_id, status="present"):
    return {"client_mark_id": client_mark_id, "person_id": person.id, "status": status, "recorded_at": T0}


def _stored(session):
    db.session.expire_all()
    return dict(
        iter(
            db.session.execute(
                select(Attendance.person_id, Attendance.status).where(Attendance.session_id == session.id)
            ).tuples()
        )
    )


def test_one_id_for_two_learners_in_one_batch_is_refused_naming_the_mark(attendance_class, client):  # noqa: F811
    session, learners, headers = attendance_class
    a, b = learners[:2]
    body = {"device": "phone-7", "marks": [_mark(a, "1"), _mark(b, "1", "absent")]}
    response = _post_marks(client, session, body, headers)
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    errors = response.get_json()["errors"]
    assert [e["field"] for e in errors] == ["marks[1].client_mark_id"]
    assert _stored(session) == {}


def test_an_id_already_used_for_another_learner_is_refused_not_dropped(attendance_class, client):  # noqa: F811
    session, learners, headers = attendance_class
    a, b = learners[:2]
    assert _post_marks(client, session, {"device": "phone-7", "marks": [_mark(a, "1")]}, headers).status_code == 200
    response = _post_marks(client, session, {"device": "phone-7", "marks": [_mark(b, "1", "absent")]}, headers)
    assert response.status_code == 422, response.get_json()
    assert [e["field"] for e in response.get_json()["errors"]] == ["marks[0].client_mark_id"]
    # The same mark sent again is still a retry: recognised, nothing written.
    again = _post_marks(client, session, {"device": "phone-7", "marks": [_mark(a, "1")]}, headers)
    assert again.get_json()["unchanged"] == 1
    assert _stored(session) == {a.id: "present"}
