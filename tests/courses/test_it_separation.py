"""Separation of duties for national IT certificates: whoever recorded a certificate, or holds it, cannot
verify it; another verifier of the same scope can."""

from __future__ import annotations

import io

from sqlalchemy import select

from courses.models import ItCertificate
from lms.auth.models import ApiToken, Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user
from tests.courses.test_it_skills import BASIC, PDF, hand_made_commune, modules_of

REFUSED = "một người xác minh khác"


def _record(client, url: str, number: str) -> ItCertificate:
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "number": number,
            "issuer": "Trung tâm sát hạch",
            "issued_on": "2025-03-01",
            "file": (io.BytesIO(PDF), "scan.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    certificate = db.session.scalar(select(ItCertificate).where(ItCertificate.number == number))
    assert certificate is not None
    return certificate


def _verify(client, certificate: ItCertificate):
    token = csrf_token(client, f"/courses/it/certificates/{certificate.id}")
    return client.post(
        f"/courses/it/certificates/{certificate.id}/verify", data={"csrf_token": token}, follow_redirects=True
    )


def test_a_manager_who_holds_a_certificate_cannot_verify_it(app_ctx, client):
    c = hand_made_commune()
    manager = make_user(Role.CENTRE_MANAGER, c.unit, "holder@example.vn")
    manager.person_id = c.vice.id  # the centre manager is also the association's vice-chair
    db.session.commit()
    login(client, manager)
    certificate = _record(client, "/courses/it/me/certificates/new", "SELF-1")
    page = client.get(f"/courses/it/certificates/{certificate.id}").get_data(as_text=True)
    assert f"/courses/it/certificates/{certificate.id}/verify" not in page
    assert REFUSED in _verify(client, certificate).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ItCertificate, certificate.id).status == "pending"
    assert modules_of(c.vice) == set()


def test_the_manager_who_recorded_a_certificate_cannot_verify_it_another_can(app_ctx, client):
    c = hand_made_commune()
    recorder = make_user(Role.CENTRE_MANAGER, c.unit, "recorder@example.vn")
    other = make_user(Role.CENTRE_MANAGER, c.unit, "verifier@example.vn")
    _, secret = ApiToken.issue(recorder, "recorder's phone")
    db.session.commit()
    login(client, recorder)
    certificate = _record(client, f"/courses/it/persons/{c.vice.id}/certificates/new", "REC-1")
    assert REFUSED in _verify(client, certificate).get_data(as_text=True)
    api = client.post(
        f"/api/v1/it/certificates/{certificate.id}/verify", headers={"Authorization": f"Bearer {secret}"}, json={}
    )
    assert api.status_code == 403
    db.session.expire_all()
    assert db.session.get(ItCertificate, certificate.id).status == "pending"

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, other)
    _verify(client, certificate)
    db.session.expire_all()
    assert db.session.get(ItCertificate, certificate.id).status == "verified"
    assert modules_of(c.vice) == set(BASIC)
