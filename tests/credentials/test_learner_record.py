"""A person's lifelong learning record as a Comprehensive Learner Record 2.0 ``ClrCredential`` (ADR 32): valid
against our CLR 2.0 conformance schema (written from the CLR 2.0, OB 3.0 and VC 2.0 text, ``tests/data/conformance/``;
never skipped), signed by the instance (checked with joserfc), bundling the class certificates, the verified IT module
set and the citizen title — each still verifiable on its own — and the hours by year that the titles engine reads.
The person downloads their own; a centre manager downloads it for them, audited; nobody outside sees it."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from courses import it_skills
from courses.models import LearningRecord
from lms.auth.models import Role
from lms.auth.services import create_user
from lms.core.models import AuditEvent
from lms.credentials import services
from lms.extensions import db
from lms.titles import recognition
from lms.titles.models import Title
from tests.conftest import PASSWORD, login, make_user, unit_by_code
from tests.courses.test_it_skills import people, scan
from tests.credentials import conformance
from tests.credentials.test_credentials import _independent_verify, certificate  # noqa: F401 - the fixture
from tests.titles.recognition_fixtures import criteria_set, eligibility


@pytest.fixture
def learner(certificate):  # noqa: F811
    """A learner with a class certificate, a verified national IT certificate and a citizen title."""
    person = certificate["learner"]
    it = it_skills.record_certificate(
        person=person,
        number="CNTT-CLR-1",
        issuer="Trường ĐH Đà Nẵng",
        issued_on=date(2025, 6, 1),
        upload=scan(),
        recorded_by_id=None,
    )
    it_skills.verify_certificate(it, user_id=None)
    commune = unit_by_code("23293")
    citizen = criteria_set(Title.CITIZEN, validity_years=3, code="test-citizen-clr")
    eligibility(citizen, person.id, commune.id, 2025)
    officer = make_user(Role.ASSOCIATION_OFFICER, commune, "vc-clr-leader@example.vn")  # 324/QĐ-KHVN (ADR 45)
    ids = recognition.propose(title="citizen", year=2025, subject_ids=[person.id], user=officer)
    recognition.decide(ids, decision_number="7/QĐ-KH", decision_date=date(2026, 1, 10), user=officer)
    own = create_user("vc-clr-own@example.vn", person.full_name, PASSWORD)
    own.person_id = person.id
    db.session.flush()
    return {**certificate, "person": person, "user": own}


def test_a_learner_downloads_their_record_as_a_clr_that_bundles_everything(learner, client):
    login(client, learner["user"])
    page = client.get("/courses/it/me").get_data(as_text=True)
    href = f'id="learner-record-link" download href="/credentials/records/{learner["person"].id}.json"'
    assert href in page
    assert "Tải hồ sơ học tập suốt đời (CLR 2.0)" in page
    assert "dành cho phần mềm đọc: lưu vào ví số" in page  # what the file is for, said beside it (uxc)
    response = client.get(f"/credentials/records/{learner['person'].id}.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    document = response.get_json()
    record = document["credential"]
    assert record["type"] == ["VerifiableCredential", "ClrCredential"]
    assert record["@context"][1] == services.CLR_CONTEXT
    # Signed by the instance; an independent JOSE library checks it against the published DID document.
    assert _independent_verify(client, document["jwt"]) == record
    assert record["issuer"]["id"] == services.did_for(services.instance_issuer())
    result = services.verify(document["jwt"])
    assert (result.valid, result.reason) == (True, "ok")
    assert services.PROVES["clr_snapshot"] in result.checks

    subject = record["credentialSubject"]
    bundled = subject["verifiableCredential"]
    kinds = [c["credentialSubject"]["achievement"].get("achievementType") for c in bundled]
    assert kinds.count("CertificateOfCompletion") == 1
    assert kinds.count("Certificate") == 1  # the IT module set
    assert kinds.count("Award") == 1  # the citizen title
    # Each bundled Open Badge is the very credential signed by its issuer, and verifies on its own.
    assert len(document["credentials"]) == 3
    for token in document["credentials"]:
        payload = _independent_verify(client, token)
        assert payload in bundled
        conformance.validate("achievement_credential", payload)
        assert services.verify(token).valid
    # Hours by year: the learning records the titles engine reads, summed.
    years = {
        int(c["name"].split("năm ")[1].split(":")[0]): Decimal(c["credentialSubject"]["result"][0]["value"])
        for c in bundled
        if c["credentialSubject"]["achievement"]["id"].endswith("/learning-hours")
    }
    expected = dict(
        db.session.execute(
            select(LearningRecord.year, func.sum(LearningRecord.hours))
            .where(LearningRecord.person_id == learner["person"].id)
            .group_by(LearningRecord.year)
        ).all()
    )
    assert years == {year: Decimal(hours) for year, hours in expected.items()}
    assert set(years) == {2025, 2026}  # the IT certificate's year and the class's
    it_year = next(c for c in bundled if c["name"].startswith("Học tập suốt đời năm 2025"))
    assert "mô đun CNTT: 0 giờ (6 bản ghi)" in it_year["description"]
    assert {a["id"] for a in subject["achievement"]} == {c["credentialSubject"]["achievement"]["id"] for c in bundled}
    assert learner["person"].full_name not in json.dumps(record, ensure_ascii=False)  # hashed only
    # Their own download is not an export of someone else's data.
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "learner_record.export")) is None


def test_the_record_conforms_to_clr_2(learner):
    record = services.learner_record(learner["person"], now=datetime(2026, 12, 1))
    conformance.validate("clr_credential", record.credential)
    conformance.validate("profile", record.credential["issuer"])
    # Every bundled credential, the signed badges and the unsigned hours of each year, is an OB 3.0 credential.
    for bundled in record.credential["credentialSubject"]["verifiableCredential"]:
        conformance.validate("achievement_credential", bundled)


def test_a_centre_manager_downloads_it_for_the_learner_audited_and_nobody_outside_does(learner, client):
    person_id = learner["person"].id
    login(client, make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "vc-clr-manager@example.vn"))
    page = client.get(f"/courses/it/persons/{person_id}").get_data(as_text=True)
    assert f'href="/credentials/records/{person_id}.json"' in page
    document = client.get(f"/credentials/records/{person_id}.json").get_json()
    assert services.verify(document["jwt"]).valid
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "learner_record.export"))
    assert event is not None
    api = client.get(f"/api/v1/credentials/records/{person_id}")
    assert api.status_code == 200
    assert api.get_json()["credentials"] == document["credentials"]  # the same bundled credentials

    outsider = client.application.test_client()
    login(outsider, make_user(Role.CENTRE_MANAGER, unit_by_code("23302"), "vc-clr-outsider@example.vn"))
    assert outsider.get(f"/credentials/records/{person_id}.json").status_code == 404
    assert outsider.get(f"/api/v1/credentials/records/{person_id}").status_code == 404


def test_a_person_with_nothing_learned_yet_is_told_so(app_ctx, client):
    (person,) = people(unit_by_code("23293"), "CLR0", "Lò Văn Chưa Học")
    own = create_user("vc-clr-empty@example.vn", person.full_name, PASSWORD)
    own.person_id = person.id
    db.session.flush()
    login(client, own)
    response = client.get(f"/credentials/records/{person.id}.json")
    assert response.status_code == 404
    assert "Chưa có chứng nhận, mô đun CNTT, danh hiệu hay giờ học nào" in response.get_data(as_text=True)


def test_my_learning_offers_no_record_download_that_would_end_on_an_error_page(app_ctx, client):
    """Walked on a phone: a commune leader with nothing learned yet tapped 'Download the lifelong learning record'
    on My learning and got the 'page not found' screen (or, with the link's download attribute, a failed
    download). The page says there is nothing to gather yet instead, and offers the link once there is."""
    (person,) = people(unit_by_code("23293"), "CLR1", "Lò Thị Chưa Có")
    own = create_user("vc-clr-none@example.vn", person.full_name, PASSWORD)
    own.person_id = person.id
    db.session.flush()
    login(client, own)
    page = client.get("/courses/it/me").get_data(as_text=True)
    assert 'id="learner-record-link"' not in page
    assert "Chưa có hồ sơ học tập suốt đời để tải xuống" in page
    assert not services.has_learner_record(person)
    db.session.add(
        LearningRecord(
            person_id=person.id,
            year=2026,
            kind="self_study",
            hours=Decimal("2"),
            completed_on=date(2026, 3, 2),
            commune_id=unit_by_code("23293").id,
            source_key="walk-clr-1",
        )
    )
    db.session.flush()
    assert services.has_learner_record(person)
    page = client.get("/courses/it/me").get_data(as_text=True)
    assert f'id="learner-record-link" download href="/credentials/records/{person.id}.json"' in page
    assert "Chưa có hồ sơ học tập suốt đời để tải xuống" not in page
