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
    assert "no-store" in page.headers["Cache-Control"]  # not left in a shared computer's cache
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
    own = client.get("/registry/me/data")
    assert "no-store" in own.headers["Cache-Control"]
    html = own.get_data(as_text=True)
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


def test_the_copy_holds_every_role_the_person_has_and_their_account(app_ctx, client):
    """Beyond learning: the person on a centre's board, teaching a class, their own user account, what an evaluator
    noted about them and whether they passed a class's assessment are data about them too (Decree 13/2023, Art. 14)."""
    from courses.models import class_instructor
    from lms.registry.models import BoardMembership
    from lms.titles.models import Assessment

    centre, learner, _klass = _learner_with_a_year_of_learning()
    other = make_class(centre, name="Lớp tin học tháng 4", starts_on=date(2026, 4, 1), ends_on=date(2026, 4, 30))
    db.session.execute(class_instructor.insert().values(class_id=other.id, person_id=learner.id, role="instructor"))
    db.session.add(
        BoardMembership(clc_id=centre.clc.id, person_id=learner.id, role="member", started_on=date(2025, 1, 1))
    )
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.person_id == learner.id))
    enrolment.assessment_passed = True
    db.session.add(
        Assessment(
            subject_type="person",
            subject_id=learner.id,
            year=2026,
            indicator="c2",
            value=1,
            evidence_ref="Biên bản họp thôn",
            note="Chị đọc sách cho các cháu mỗi tối",
            commune_id=centre.commune.id,
        )
    )
    account = make_user(Role.INSTRUCTOR, centre.commune, "dl-linked@example.vn")
    account.person_id = learner.id
    leader = make_user(Role.COMMUNE_LEADER, centre.commune, "dl-leader3@example.vn")
    db.session.commit()
    login(client, leader)

    sections = json.loads(client.get(f"/registry/persons/{learner.id}/data.json").get_data(as_text=True))["sections"]
    assert [r["centre"] for r in sections["clc_board"]["rows"]] == [centre.clc.name]
    assert [r["class"] for r in sections["teaching"]["rows"]] == ["Lớp tin học tháng 4"]
    assert [r["email"] for r in sections["user_accounts"]["rows"]] == ["dl-linked@example.vn"]
    assert sections["assessments"]["rows"][0]["note"] == "Chị đọc sách cho các cháu mỗi tối"
    assert sections["enrolments"]["rows"][0]["assessment"] == "Đạt"
    html = client.get(f"/registry/persons/{learner.id}/data").get_data(as_text=True)
    for expected in ("Ban Giám đốc", "Lớp tin học tháng 4", "dl-linked@example.vn", "Chị đọc sách cho các cháu"):
        assert expected in html, expected


def test_the_log_of_who_processed_the_data_holds_the_events_on_the_persons_records(app_ctx, client):
    """Not only the events on the person: a certificate of theirs downloaded, their class assessment recorded, their
    assessment verified are processings of their data too (and another learner's are not theirs)."""
    from lms.core.services import audit
    from lms.titles.models import Assessment

    centre, learner, klass = _learner_with_a_year_of_learning()
    leader = make_user(Role.COMMUNE_LEADER, centre.commune, "dl-leader5@example.vn")
    assessment = Assessment(
        subject_type="person", subject_id=learner.id, year=2026, indicator="c2", value=1, commune_id=centre.commune.id
    )
    db.session.add(assessment)
    db.session.flush()
    certificate = db.session.scalar(select(Certificate).where(Certificate.code == "CN-DL-1"))
    audit("certificate.download", certificate, user=leader, code="CN-DL-1")
    audit("class.assessment", klass, user=leader, person_id=learner.id, passed=True, before=None)
    audit("class.withdraw", klass, user=leader, person_id=centre.learners[1].id, promoted=[])
    audit("assessment.verify", assessment, user=leader, indicator="c2")
    db.session.commit()
    login(client, leader)

    rows = json.loads(client.get(f"/registry/persons/{learner.id}/data.json").get_data(as_text=True))["sections"][
        "processing"
    ]["rows"]
    done = {(row["action"], row["by"]) for row in rows}
    for action in (
        "Tải giấy chứng nhận hoàn thành",
        "Ghi kết quả đánh giá cuối khóa của lớp",
        "Xác nhận kết quả đánh giá chỉ tiêu",
    ):
        assert (action, leader.name) in done, action
    assert not any(row["action"] == "Rút khỏi lớp học" for row in rows)  # another learner's withdrawal


def test_erasure_unlinks_a_locked_account_so_the_anonymous_person_is_not_tied_to_a_name(app_ctx, client):
    """A locked account keeps its holder's name and e-mail: left linked to the erased person, it would name them
    again. The erasure shows the link among what goes, and removes it."""
    from lms.auth.models import User

    centre, learner, _klass = _learner_with_a_year_of_learning()
    account = make_user(Role.INSTRUCTOR, centre.commune, "dl-locked@example.vn")
    account.person_id = learner.id
    account.active = False
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "dl-manager2@example.vn")
    db.session.commit()
    login(client, manager)
    url = f"/registry/persons/{learner.id}/erase"
    html = client.get(url).get_data(as_text=True)
    preview = html.split('id="erased-fields"')[1].split("</table>")[0]
    assert "dl-locked@example.vn" in preview
    assert "(đã xóa)" in preview  # what goes, in Vietnamese as a state, not an order ("(xóa)")
    digest = html.split('name="digest" type="hidden" value="')[1].split('"')[0]
    done = client.post(
        url, data={"csrf_token": csrf_token(client, url), "digest": digest, "reason": "Đơn ngày 6/12", "checked": "y"}
    )
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, account.id).person_id is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "person.erase"))
    assert "accounts" in event.details["fields"]
    assert "dl-locked@example.vn" not in json.dumps(event.details)


def test_a_public_verification_page_names_an_erased_holder_as_erased_not_in_garbled_initials(app_ctx, client):
    """The certificate stays as issued and verifiable; the page that gives its holder's initials must not turn the
    placeholder into "[. X. D. L. C. nhân]"."""
    from lms.registry.text import initials_name

    centre, learner, _klass = _learner_with_a_year_of_learning()
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "dl-manager3@example.vn")
    db.session.commit()
    login(client, manager)
    url = f"/registry/persons/{learner.id}/erase"
    digest = client.get(url).get_data(as_text=True).split('name="digest" type="hidden" value="')[1].split('"')[0]
    done = client.post(
        url, data={"csrf_token": csrf_token(client, url), "digest": digest, "reason": "Đơn", "checked": "y"}
    )
    assert done.status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert initials_name(ERASED_NAME) == ERASED_NAME
    html = client.get("/courses/verify/CN-DL-1").get_data(as_text=True)
    assert ERASED_NAME in html
    assert "[. X." not in html


def test_an_erased_person_is_not_edited_back_into_a_name(app_ctx, client):
    """The person's page offers no 'Edit' once erased, but the edit page and the API still took one: an officer
    with the form open from before the erasure, saving it, brought the name, phone, ethnicity and birth day back
    under a person the page says was erased at their request."""
    from lms.auth.models import ApiToken

    centre, learner, _klass = _learner_with_a_year_of_learning()
    old_name = learner.full_name
    manager = make_user(Role.CENTRE_MANAGER, centre.commune, "dl-manager4@example.vn")
    _token, secret = ApiToken.issue(manager, "phone")
    db.session.commit()
    login(client, manager)
    edit = f"/registry/persons/{learner.id}/edit"
    token = csrf_token(client, edit)  # the edit page, open before the erasure
    url = f"/registry/persons/{learner.id}/erase"
    digest = client.get(url).get_data(as_text=True).split('name="digest" type="hidden" value="')[1].split('"')[0]
    erased = client.post(url, data={"csrf_token": token, "digest": digest, "reason": "Đơn", "checked": "y"})
    assert erased.status_code == 302

    saved = client.post(
        edit,
        data={
            "csrf_token": token,
            "full_name": old_name,
            "birth_date": "1986-03-12",
            "sex": learner.sex or "",
            "occupation_group": "other",
            "phone": "0912345678",
            "ethnicity": "Ba Na",
        },
    )
    assert saved.status_code in (302, 409)
    patched = client.patch(
        f"/api/v1/persons/{learner.id}", json={"full_name": old_name}, headers={"Authorization": f"Bearer {secret}"}
    )
    assert patched.status_code in (409, 422)
    db.session.expire_all()
    person = db.session.get(Person, learner.id)
    assert (person.full_name, person.phone, person.ethnicity) == (ERASED_NAME, None, None)
    assert person.birth_year_only


def test_the_copy_names_each_it_module_the_person_holds(app_ctx, client):
    """Six rows "Mô đun kỹ năng CNTT", 0 hours each, told the person nothing of which modules they hold (walk5's
    finding): each row names its module as the standard does."""
    centre, learner, _klass = _learner_with_a_year_of_learning()
    for code in ("IU01", "IU03"):
        db.session.add(
            LearningRecord(
                person_id=learner.id,
                year=2026,
                kind="it_module",
                module_code=code,
                hours=0,
                completed_on=date(2026, 3, 31),
                commune_id=centre.commune.id,
                source_key=f"test-dl-it-{code}-{learner.id}",
            )
        )
    leader = make_user(Role.COMMUNE_LEADER, centre.commune, "dl-it-leader@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/registry/persons/{learner.id}/data").get_data(as_text=True)
    assert "Mô đun kỹ năng CNTT — IU01 Hiểu biết về CNTT cơ bản" in html
    assert "Mô đun kỹ năng CNTT — IU03 Xử lý văn bản cơ bản" in html


def test_the_person_page_says_the_day_of_the_erasure_in_vietnam(app_ctx, client):
    """Erased at 03:00 on 8 December in Vietnam (20:00 UTC on the 7th): the page said "ngày 07/12/2026" while every
    other time of the same page and the copy said the 8th (walk5's finding)."""
    centre, learner, _klass = _learner_with_a_year_of_learning()
    learner.full_name = ERASED_NAME
    learner.erased_at = datetime(2026, 12, 7, 20, 0)
    leader = make_user(Role.COMMUNE_LEADER, centre.commune, "dl-day-leader@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/registry/persons/{learner.id}").get_data(as_text=True)
    assert "đã được xóa theo yêu cầu ngày 08/12/2026" in html


def test_the_person_page_says_the_relation_to_the_head_apart_from_the_household(app_ctx, client):
    """ "Hộ Trần Minh Lụa Chồng": the household's name ran into the relation to its head (walk5's finding)."""
    centre, learner, _klass = _learner_with_a_year_of_learning()
    learner.relation_to_head = "Chồng"
    leader = make_user(Role.COMMUNE_LEADER, centre.commune, "dl-rel-leader@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/registry/persons/{learner.id}").get_data(as_text=True)
    assert "Quan hệ với chủ hộ" in html
    assert '<dd class="col-sm-8" id="relation-to-head">Chồng</dd>' in html
