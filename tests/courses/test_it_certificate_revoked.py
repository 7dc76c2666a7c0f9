"""A certificate its test centre revoked (Joint Circular 17/2016/TTLT-BGDĐT-BTTTT, Art. 17.2: "Thủ trưởng các trung
tâm sát hạch nơi thí sinh dự thi có thẩm quyền cấp và thu hồi chứng chỉ"), ADR 60.

The app could only "reject" it: the modules went, but a rejected record holds nothing, so the same revoked
certificate could be recorded for another person and verified there, and the page said "không được xác nhận" of a
certificate that had been genuine and was withdrawn."""

from __future__ import annotations

from datetime import date

import pytest

from courses import it_skills
from courses.models import ItCertificate
from lms.auth.models import ApiToken, Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user, unit_by_code
from tests.courses.test_it_skills import BASIC, modules_of, people, scan


def _verified(label: str, number: str) -> ItCertificate:
    (holder,) = people(unit_by_code("23293"), label, "Y Thu Hồi")
    certificate = it_skills.record_certificate(
        person=holder,
        number=number,
        issuer="Trung tâm sát hạch Đại học Đà Nẵng",
        issued_on=date(2025, 6, 1),
        upload=scan(),
        recorded_by_id=None,
    )
    it_skills.verify_certificate(certificate, user_id=None)
    return certificate


def test_ttlt_17_art_17_2_a_revoked_certificate_grants_nothing_and_keeps_its_number(app_ctx):
    """Art. 17.2: the centre revokes. Revoked, the certificate's modules no longer count; the record stays, revoked,
    with the centre's decision, and the same certificate cannot be recorded for anyone else nor verified again."""
    certificate = _verified("RVK", "CNTT-RVK-1")
    holder = certificate.person
    assert modules_of(holder) == set(BASIC)
    with pytest.raises(it_skills.ItSkillsError):
        it_skills.revoke_certificate(certificate, reason="  ", user_id=None)  # the decision is required
    assert it_skills.revoke_certificate(certificate, reason="QĐ 12/QĐ-TTSH ngày 02/03/2026", user_id=None) == 6
    assert certificate.status == "revoked"
    assert certificate.note == "QĐ 12/QĐ-TTSH ngày 02/03/2026"
    assert modules_of(holder) == set()
    assert not it_skills.progress(holder.id).standards["basic"]

    with pytest.raises(it_skills.ItSkillsError):
        it_skills.verify_certificate(certificate, user_id=None)
    with pytest.raises(it_skills.ItSkillsError):
        it_skills.reject_certificate(certificate, reason="nhầm", user_id=None)
    assert certificate.status == "revoked"
    (other,) = people(unit_by_code("23293"), "RVK2", "Y Người Khác")
    with pytest.raises(it_skills.ItSkillsError) as refused:  # a rejected record would have let this through
        it_skills.record_certificate(
            person=other,
            number="cntt-rvk-1",
            issuer="Trung tâm sát hạch Đại học Đà Nẵng",
            issued_on=date(2025, 6, 1),
            upload=scan(),
            recorded_by_id=None,
        )
    assert refused.value.field == "number"


def test_only_a_verified_certificate_is_revoked(app_ctx):
    (holder,) = people(unit_by_code("23293"), "RVP", "Y Chờ Duyệt")
    pending = it_skills.record_certificate(
        person=holder,
        number="CNTT-RVP-1",
        issuer="Trung tâm sát hạch",
        issued_on=date(2025, 6, 1),
        upload=scan(),
        recorded_by_id=None,
    )
    with pytest.raises(it_skills.ItSkillsError):
        it_skills.revoke_certificate(pending, reason="QĐ 1", user_id=None)
    assert pending.status == "pending"


def test_the_manager_records_the_revocation_on_the_certificates_page(app_ctx, client):
    """The certificate's page offers "Trung tâm sát hạch đã thu hồi" on a verified certificate, asks for the centre's
    decision, and then says "đã bị trung tâm sát hạch thu hồi" with it."""
    certificate = _verified("RVW", "CNTT-RVW-1")
    manager = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "it-revoke-manager@example.vn")
    db.session.commit()
    login(client, manager)
    page = f"/courses/it/certificates/{certificate.id}"
    assert 'id="revoke-form"' in client.get(page).get_data(as_text=True)
    refused = client.post(f"{page}/revoke", data={"csrf_token": csrf_token(client, page), "reason": ""})
    assert refused.status_code == 400
    done = client.post(f"{page}/revoke", data={"csrf_token": csrf_token(client, page), "reason": "QĐ 7/QĐ-TTSH"})
    assert done.status_code == 302
    shown = client.get(page).get_data(as_text=True)
    assert 'data-status="revoked"' in shown
    assert "đã bị trung tâm sát hạch thu hồi: QĐ 7/QĐ-TTSH" in shown
    assert 'id="revoke-form"' not in shown
    assert "Không xác nhận" not in shown.split('id="certificate-status"')[1].split("</dd>")[0]
    assert modules_of(certificate.person) == set()


def test_the_api_revokes_and_refuses_to_verify_a_revoked_certificate(app_ctx, client):
    certificate = _verified("RVA", "CNTT-RVA-1")
    manager = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "it-revoke-api@example.vn")
    _, secret = ApiToken.issue(manager, "phone")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "vi"}
    url = f"/api/v1/it/certificates/{certificate.id}"
    revoked = client.post(f"{url}/revoke", json={"reason": "QĐ 9/QĐ-TTSH"}, headers=headers)
    assert revoked.status_code == 200, revoked.get_data(as_text=True)
    assert revoked.get_json()["status"] == "revoked"
    again = client.post(f"{url}/verify", json={}, headers=headers)
    assert again.status_code == 422
    assert "đã bị trung tâm sát hạch thu hồi" in again.get_json()["detail"]
