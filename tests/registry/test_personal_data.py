"""A person's requests about their own data (Decree 13/2023/NĐ-CP, Art. 9, 14 and 16; ADR 57): an officer hands the
person everything the system holds about them — from every part, whatever the officer's scope — and, on request,
erases what identifies them after a preview, while their learning stays in the figures without a name."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select

from courses import services as courses
from courses.models import Attendance, Certificate, ClassSession, Enrolment, LearningRecord
from lms.auth.models import Role
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry.models import Person
from lms.registry.privacy import ERASED_NAME
from lms.registry.services import set_id_number
from lms.titles.models import Title
from tests.conftest import csrf_token, login, make_user, unit_by_code
from tests.courses.conftest import make_centre, make_class
from tests.titles.recognition_fixtures import criteria_set, eligibility


def _learner_with_a_year_of_learning():
    centre = make_centre()
    learner = centre.learners[0]
    learner.birth_date = date(1986, 3, 12)
    learner.phone = "0912345678"
    learner.ethnicity = "Ba Na"
    set_id_number(learner, "062086001234")
    klass = make_class(centre, name="Lớp cà phê tháng 3")
    courses.enrol(klass, [learner.id, centre.learners[1].id])
    session = ClassSession(
        class_id=klass.id, starts_at=datetime(2026, 3, 3, 19, 0), ends_at=datetime(2026, 3, 3, 21, 0)
    )
    db.session.add(session)
    db.session.flush()
    db.session.add(
        Attendance(
            session_id=session.id, person_id=learner.id, status="present", recorded_at=datetime(2026, 3, 3, 12, 5)
        )
    )
    db.session.add(Certificate(code="CN-DL-1", class_id=klass.id, person_id=learner.id, issued_on=date(2026, 4, 1)))
    db.session.add(
        LearningRecord(
            person_id=learner.id,
            year=2026,
            kind="class_completion",
            hours=12,
            completed_on=date(2026, 3, 31),
            commune_id=centre.commune.id,
            source_key=f"test-dl-{learner.id}",
            class_id=klass.id,
        )
    )
    eligibility(criteria_set(Title.CITIZEN), learner.id, centre.commune.id, 2026, eligible=True)
    db.session.flush()
    return centre, learner, klass


def test_an_officer_gives_the_person_everything_held_about_them_and_it_is_logged(app_ctx, client):
    centre, learner, _klass = _learner_with_a_year_of_learning()
    leader = make_user(Role.COMMUNE_LEADER, centre.commune, "dl-leader@example.vn")
    db.session.commit()
    login(client, leader)

    person_page = client.get(f"/registry/persons/{learner.id}").get_data(as_text=True)
    assert f'href="/registry/persons/{learner.id}/data"' in person_page  # reachable from the person's page
    page = client.get(f"/registry/persons/{learner.id}/data")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for expected in (
        "Dữ liệu cá nhân của " + learner.full_name,
        "12/03/1986",  # the birth date, Vietnamese style
        "Ba Na",
        "*********234",  # the ID number stays masked, even here
        "Lớp cà phê tháng 3",  # courses: the class
        "03/03/2026 19:00",  # the session at the class's own time
        "Có mặt",  # the mark, as the centre names it
        "CN-DL-1",  # the certificate
        "Hoàn thành lớp học",  # titles: the learning record's kind
        "Đủ điều kiện",  # the Learning Citizen result
    ):
        assert expected in html, expected
    assert "062086001234" not in html

    download = client.get(f"/registry/persons/{learner.id}/data.json")
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    body = json.loads(download.get_data(as_text=True))
    sections = body["sections"]
    assert sections["identity"]["rows"][0]["born"] == "12/03/1986"
    assert sections["certificates"]["rows"][0] == {
        "code": "CN-DL-1",
        "class": "Lớp cà phê tháng 3",
        "issued_on": "2026-04-01",
        "revoked_at": None,
    }
    assert sections["learning_records"]["rows"][0]["hours"] == "12.0"
    assert len(sections["attendance"]["rows"]) == 1
    assert {"enrolments", "title_results", "recognitions", "assessments", "processing"} <= set(sections)

    given = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "person.data_provided", AuditEvent.object_id == str(learner.id))
    ).all()
    assert [(e.user_id, e.details["format"]) for e in given] == [(leader.id, "page"), (leader.id, "json")]
    # The next copy lists who saw the data before (the person's right to know who processed it).
    again = client.get(f"/registry/persons/{learner.id}/data").get_data(as_text=True)
    assert "Đã cung cấp bản sao dữ liệu cá nhân" in again


def test_only_officers_who_may_see_personal_data_in_scope(app_ctx, client):
    centre, learner, _klass = _learner_with_a_year_of_learning()
    instructor = make_user(Role.INSTRUCTOR, centre.commune, "dl-instructor@example.vn")
    elsewhere = make_user(Role.COMMUNE_LEADER, unit_by_code("23302"), "dl-elsewhere@example.vn")
    db.session.commit()
    login(client, instructor)
    assert client.get(f"/registry/persons/{learner.id}/data").status_code == 403
    assert client.get(f"/registry/persons/{learner.id}/erase").status_code == 403
    assert "/data" not in client.get(f"/registry/persons/{learner.id}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, elsewhere)
    assert client.get(f"/registry/persons/{learner.id}/data").status_code == 404
    assert client.get(f"/registry/persons/{learner.id}/data.json").status_code == 404


def test_erasure_shows_what_goes_and_what_stays_then_clears_the_identity(app_ctx, client):
    centre, learner, klass = _learner_with_a_year_of_learning()
    old_name = learner.full_name
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "dl-manager@example.vn")
    db.session.commit()
    login(client, manager)
    url = f"/registry/persons/{learner.id}/erase"
    assert f'href="{url}"' in client.get(f"/registry/persons/{learner.id}").get_data(as_text=True)

    preview = client.get(url)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    for expected in (
        old_name,
        ERASED_NAME,
        "12/03/1986",
        "1986 (chỉ giữ năm sinh)",
        "0912345678",
        "Ba Na",
        "*********234",
    ):
        assert expected in html, expected
    assert "Giấy chứng nhận hoàn thành" in html
    assert "Giữ nguyên như khi cấp" in html  # what stays, and why
    token = csrf_token(client, url)
    digest = html.split('name="digest" type="hidden" value="')[1].split('"')[0]

    unticked = client.post(url, data={"csrf_token": token, "digest": digest, "reason": "Đơn ngày 5/12/2026"})
    assert unticked.status_code == 422
    assert "Hãy đánh dấu sau khi đã kiểm tra." in unticked.get_data(as_text=True)

    learner.phone = "0987654321"  # someone else changes the person meanwhile: the preview is out of date
    db.session.commit()
    stale = client.post(url, data={"csrf_token": token, "digest": "0" * 32, "reason": "Đơn", "checked": "y"})
    assert stale.status_code == 409
    assert "0987654321" in stale.get_data(as_text=True)  # the new preview, shown again
    db.session.expire_all()
    assert db.session.get(Person, learner.id).erased_at is None

    fresh = client.get(url).get_data(as_text=True)
    digest = fresh.split('name="digest" type="hidden" value="')[1].split('"')[0]
    done = client.post(
        url, data={"csrf_token": token, "digest": digest, "reason": "Đơn ngày 5/12/2026, tại UBND xã", "checked": "y"}
    )
    assert done.status_code == 302
    db.session.expire_all()
    person = db.session.get(Person, learner.id)
    assert person.full_name == ERASED_NAME
    assert (person.birth_date, person.birth_year_only) == (date(1986, 1, 1), True)
    assert person.phone is None
    assert person.ethnicity is None
    assert person.id_number_hash is None
    assert person.id_number_encrypted is None
    assert person.id_number_hint is None
    assert person.erased_at is not None
    assert person.household_id == centre.household.id
    assert person.sex == learner.sex  # still counted where they were
    assert db.session.scalar(select(Enrolment).where(Enrolment.person_id == person.id, Enrolment.class_id == klass.id))
    assert db.session.scalar(select(Certificate).where(Certificate.code == "CN-DL-1")).person_id == person.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "person.erase"))
    assert event.user_id == manager.id
    assert event.details["reason"] == "Đơn ngày 5/12/2026, tại UBND xã"
    assert old_name not in json.dumps(event.details, ensure_ascii=False)  # the log keeps no cleared value
    assert set(event.details["fields"]) == {"full_name", "birth_date", "id_number", "phone", "ethnicity"}

    page = client.get(f"/registry/persons/{learner.id}").get_data(as_text=True)
    assert "đã được xóa theo yêu cầu" in page
    assert f'href="{url}"' not in page
    search = client.get("/registry/search", query_string={"q": old_name}).get_data(as_text=True)
    assert f"/registry/persons/{learner.id}" not in search
    again = client.post(url, data={"csrf_token": token, "digest": digest, "reason": "Đơn", "checked": "y"})
    assert again.status_code == 409
    assert "đã được xóa" in again.get_data(as_text=True)


def test_erasure_is_refused_while_the_person_has_an_active_account(app_ctx, client):
    centre, learner, _klass = _learner_with_a_year_of_learning()
    account = make_user(Role.INSTRUCTOR, centre.commune, "dl-own@example.vn")
    account.person_id = learner.id
    leader = make_user(Role.COMMUNE_LEADER, centre.commune, "dl-leader2@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/registry/persons/{learner.id}/erase").get_data(as_text=True)
    assert "dl-own@example.vn" in html
    assert "khóa tài khoản đó trước" in html
    assert 'name="reason"' not in html  # no form to confirm


def test_a_province_leader_gives_a_copy_but_does_not_erase(app_ctx, client):
    centre, learner, _klass = _learner_with_a_year_of_learning()
    province = db.session.get(type(centre.commune), centre.commune.parent_id)
    leader = make_user(Role.PROVINCE_LEADER, province, "dl-province@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/registry/persons/{learner.id}").get_data(as_text=True)
    assert f'href="/registry/persons/{learner.id}/data"' in page
    assert "/erase" not in page
    assert client.get(f"/registry/persons/{learner.id}/data").status_code == 200
    assert client.get(f"/registry/persons/{learner.id}/erase").status_code == 403


def test_a_learner_sees_their_own_data_from_my_training_and_only_theirs(app_ctx, client):
    centre, learner, _klass = _learner_with_a_year_of_learning()
    user = make_user(Role.INSTRUCTOR, centre.commune, "dl-self@example.vn")
    user.person_id = learner.id
    nobody = make_user(Role.INSTRUCTOR, centre.commune, "dl-nobody@example.vn")
    db.session.commit()
    login(client, user)
    assert 'href="/registry/me/data"' in client.get("/courses/it/me").get_data(as_text=True)
    html = client.get("/registry/me/data").get_data(as_text=True)
    assert "Dữ liệu cá nhân của tôi" in html
    assert learner.full_name in html
    assert "CN-DL-1" in html
    assert centre.learners[1].full_name not in html
    body = json.loads(client.get("/registry/me/data.json").get_data(as_text=True))
    assert body["person_id"] == learner.id
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "person.data_provided")).all()[-1]
    assert event.details == {"format": "json", "own": True}
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, nobody)
    assert client.get("/registry/me/data").status_code == 404
