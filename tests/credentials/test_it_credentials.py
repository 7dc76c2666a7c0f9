"""A verified national IT certificate as the module set it grants, an Open Badges 3.0 credential (ADR 32): valid
against our OB 3.0 conformance schema, verified by an independent JOSE library, downloadable by the person and by a
manager over them (audited), refused while unverified, and revoked through the status list when the verification is
withdrawn — although courses never tells the credentials package about it."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from courses import it_skills
from lms.auth.models import Role
from lms.auth.services import create_user
from lms.core.models import AuditEvent
from lms.credentials import services
from lms.extensions import db
from lms.registry.models import Clc
from tests.conftest import PASSWORD, login, make_user, unit_by_code
from tests.courses.test_it_skills import people, scan
from tests.credentials import conformance
from tests.credentials.test_credentials import _independent_verify


def _verified(label: str = "A"):
    commune = unit_by_code("23293")
    db.session.add(Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng Tin Học"))
    (holder,) = people(commune, f"IT{label}", "Phạm Văn Chứng")
    certificate = it_skills.record_certificate(
        person=holder,
        number=f"CNTT-{label}-0001",
        issuer="Trường ĐH Đà Nẵng",
        issued_on=date(2025, 6, 1),
        upload=scan(),
        recorded_by_id=None,
    )
    return holder, certificate


def test_a_verified_it_certificate_is_an_open_badge_of_the_basic_modules(app_ctx, client):
    _, certificate = _verified()
    with pytest.raises(services.CredentialError):
        services.credential_for_it_certificate(certificate)  # pending: nothing to vouch for yet
    it_skills.verify_certificate(certificate, user_id=None)
    manager = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "vc-it-manager@example.vn")
    login(client, manager)
    page = client.get(f"/courses/it/certificates/{certificate.id}").get_data(as_text=True)
    link = f'id="credential-link" download href="/credentials/it-certificates/{certificate.id}.json"'
    assert link in page
    document = client.get(f"/credentials/it-certificates/{certificate.id}.json").get_json()
    credential = document["credential"]
    conformance.validate("achievement_credential", credential)
    assert _independent_verify(client, document["jwt"]) == credential
    achievement = credential["credentialSubject"]["achievement"]
    assert achievement["name"] == "Chuẩn kỹ năng sử dụng CNTT cơ bản"
    assert achievement["humanCode"] == "IU01+IU02+IU03+IU04+IU05+IU06"
    assert "Thông tư 03/2014/TT-BTTTT" in achievement["criteria"]["narrative"]
    assert credential["issuer"]["name"] == "Trung tâm học tập cộng đồng Tin Học"
    assert "CNTT-A-0001" in credential["evidence"][0]["name"]
    assert "Phạm Văn Chứng" not in json.dumps(credential, ensure_ascii=False)  # only hashed
    assert services.verify(document["jwt"]).valid
    # The manager's download of someone else's record is audited; the API hands out the same credential.
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "credential.download")) is not None
    assert client.get(f"/api/v1/credentials/it-certificates/{certificate.id}").get_json()["jwt"] == document["jwt"]

    # Withdrawn: the bit flips, though courses never announced it.
    it_skills.reject_certificate(certificate, reason="Số hiệu không khớp với cơ sở sát hạch", user_id=None)
    assert services.verify(document["jwt"]).reason == "revoked"
    assert client.get(f"/credentials/it-certificates/{certificate.id}.json").status_code == 410


def test_the_person_downloads_their_own_and_nobody_outside_sees_it(app_ctx, client):
    holder, certificate = _verified("B")
    it_skills.verify_certificate(certificate, user_id=None)
    outsider = make_user(Role.CENTRE_MANAGER, unit_by_code("23302"), "vc-it-outsider@example.vn")
    login(client, outsider)
    assert client.get(f"/credentials/it-certificates/{certificate.id}.json").status_code == 404
    assert client.get(f"/api/v1/credentials/it-certificates/{certificate.id}").status_code == 404
    own = create_user("vc-it-own@example.vn", holder.full_name, PASSWORD)
    own.person_id = holder.id
    db.session.flush()
    fresh = client.application.test_client()
    login(fresh, own)
    response = fresh.get(f"/credentials/it-certificates/{certificate.id}.json")
    assert response.status_code == 200
    assert services.verify(response.get_json()["jwt"]).valid
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "credential.download")) is None


def test_a_committee_vouches_as_xa_in_a_sentence_and_what_it_signed_before_still_verifies(app_ctx, monkeypatch):
    """A commune without a CLC: its People's Committee vouches, named "Ủy ban nhân dân xã …" as its decisions write
    it (ADR 32's amendment). The issuer named "… Xã …" before is the same issuer (its DID, its keys): a credential
    it signed then still verifies, and keeps the name it was signed with."""
    from lms.registry.models import AdminUnit

    commune = unit_by_code("23302")
    assert db.session.scalar(select(Clc).where(Clc.commune_id == commune.id)) is None
    first, second = people(commune, "ITX", "Phạm Văn Một", "Phạm Văn Hai")
    certificates = [
        it_skills.record_certificate(
            person=person,
            number=f"CNTT-X-000{index}",
            issuer="Trường ĐH Đà Nẵng",
            issued_on=date(2025, 6, 1),
            upload=scan(),
            recorded_by_id=None,
        )
        for index, person in enumerate((first, second), start=1)
    ]
    for certificate in certificates:
        it_skills.verify_certificate(certificate, user_id=None)
    # Issued before the change: the kind kept its capital inside the name.
    with monkeypatch.context() as before:
        before.setattr(AdminUnit, "name_in_sentence", property(lambda unit: unit.full_name))
        old = services.credential_for_it_certificate(certificates[0])
    new = services.credential_for_it_certificate(certificates[1])

    old_name = services.decode(old.jwt)["issuer"]["name"]
    assert old_name == f"Ủy ban nhân dân {commune.kind} {commune.name}"  # "… Phường Đăk BLa"
    assert commune.kind[0].isupper()
    now_called = f"Ủy ban nhân dân {commune.kind.lower()} {commune.name}"
    assert services.decode(new.jwt)["issuer"]["name"] == now_called
    assert old.issuer_key_id == new.issuer_key_id  # one issuer, one key
    assert services.verify(old.jwt).valid
    assert services.verify(new.jwt).valid
    assert services.verify(old.jwt).issuer == now_called  # as it is called now
