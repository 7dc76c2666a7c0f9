"""/api/v1/it/me/classes: what My training offers an officer (IT-skills classes of their commune that admit them),
and enrolling oneself — the page's rule, shared (``it_skills.open_classes``)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from courses import services
from lms.auth.models import ApiToken, Role
from lms.extensions import db
from lms.registry.models import Clc
from tests.conftest import make_user
from tests.courses.test_it_skills import hand_made_commune, it_course


def _token(person, unit):
    user = make_user(Role.ASSOCIATION_OFFICER, unit, f"it-{uuid.uuid4().hex[:8]}@example.vn")
    user.person_id = person.id
    _, secret = ApiToken.issue(user, "phone")
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def offered(app_ctx):
    """An IT class of one seat for the association officers of commune 23293, and one open to everyone in commune
    23302; tokens of two officers and a member of 23293."""
    here = hand_made_commune()
    there = hand_made_commune("23302", label="K")
    today = services.local_now().date()
    classes = {}
    for commune, label, group, seats in ((here, "A", "association_officers", 1), (there, "B", "everyone", 5)):
        clc = db.session.scalar(select(Clc).where(Clc.commune_id == commune.unit.id))
        classes[label] = services.create_class(
            course=it_course(commune.unit, f"IT-SELF-{label}", ["IU06"]),
            clc=clc,
            name=f"Internet {label}",
            capacity=seats,
            starts_on=today,
            ends_on=today + timedelta(days=30),
            target_group=group,
        )
    headers = {
        "officer": _token(here.five_modules, here.unit),
        "second": _token(here.unverified, here.unit),
        "member": _token(here.members[0], here.unit),
    }
    db.session.commit()
    return here, classes, headers


def test_an_officer_sees_and_joins_the_class_open_to_them(client, offered):
    here, classes, headers = offered
    listed = client.get("/api/v1/it/me/classes", headers=headers["officer"]).get_json()
    assert [c["id"] for c in listed["items"]] == [classes["A"].id]  # not the other commune's
    url = f"/api/v1/it/me/classes/{classes['A'].id}/enrol"
    done = client.post(url, json={}, headers=headers["officer"])
    assert done.status_code == 200, done.get_json()
    assert done.get_json() == {"class_id": classes["A"].id, "person_id": here.five_modules.id, "status": "enrolled"}
    assert here.five_modules.id in services._enrolled_ids(classes["A"])
    assert client.get("/api/v1/it/me/classes", headers=headers["officer"]).get_json()["items"] == []
    again = client.post(url, json={}, headers=headers["officer"])  # joined: no longer open to them
    assert again.status_code == 404
    assert again.mimetype == "application/problem+json"
    full = client.post(url, json={}, headers=headers["second"])  # the one seat is taken
    assert full.get_json()["status"] == "waitlisted"


def test_a_class_not_open_to_the_caller_is_not_found(client, offered):
    _, classes, headers = offered
    for label, who in (("A", "member"), ("B", "officer")):  # not their target group; another commune's class
        response = client.post(f"/api/v1/it/me/classes/{classes[label].id}/enrol", json={}, headers=headers[who])
        assert response.status_code == 404
        assert response.mimetype == "application/problem+json"
    assert services._enrolled_ids(classes["A"]) == []
    assert services._enrolled_ids(classes["B"]) == []
