"""Who proposes and decides which title, and at which level, now that the approvals rules name the deciding body
(ADR 45).

- Decision 324/QĐ-KHVN (25/10/2023, the Central Executive Committee of the Vietnam Association for Promoting
  Education; cited by Circular 24/2023 Art. 6–7, 12–13): the Learning Citizen is the association's title, recognised
  by the commune association ("Hội Khuyến học {commune}", lms/titles/data/approvals.toml; DOMAIN.md §4 "the
  association verifies"). Its officer proposes and decides it; the commune People's Committee leader does not decide
  it; a province leader does not either; nor the association of another commune.
- Decision 448/QĐ-KHVN (2015), approvals file: the Learning Family is recognised by the chairman of the commune
  People's Committee: the commune leader decides it, the association officer neither proposes nor decides it.
- Circular 25/2023 Art. 9.2 (after 2025 the province's education department, ADR 44): the commune learning
  community is not the commune association's either.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from lms.auth.models import Role
from lms.auth.permissions import ROLE_PERMISSIONS, Permission
from lms.extensions import db
from lms.registry.models import Person
from lms.titles import approvals, recognition
from lms.titles.models import Recognition, RecognitionStatus, Title
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code
from tests.titles.recognition_fixtures import confirmation, criteria_set, eligibility

YEAR = 2025
DAY = date(2026, 1, 20)


@pytest.fixture
def commune(app_ctx):
    commune = unit_by_code("23293")
    village = make_village(commune, "AS-V1", "Thôn Khuyến Học")
    households = [make_household(village, f"AS-H{i}", f"Hộ Gia Đình {i}") for i in range(2)]
    persons = []
    for name in ("Y Công Dân", "A Học Tập"):
        person = Person(full_name=name, unit_id=village.id)
        db.session.add(person)
        persons.append(person)
    db.session.flush()
    citizen, family = criteria_set(Title.CITIZEN), criteria_set(Title.FAMILY)
    for person in persons:
        eligibility(citizen, person.id, commune.id, YEAR, village_id=village.id)
    for household in households:
        eligibility(family, household.id, commune.id, YEAR, village_id=village.id)
    _, province = approvals.places([commune.id])[commune.id]
    assert province is not None
    db.session.flush()
    return {
        "commune": commune,
        "persons": persons,
        "households": households,
        "officer": make_user(Role.ASSOCIATION_OFFICER, commune, "as-officer@example.vn"),
        "leader": make_user(Role.COMMUNE_LEADER, commune, "as-leader@example.vn"),
        "province_leader": make_user(Role.PROVINCE_LEADER, province, "as-province@example.vn"),
        "other_officer": make_user(Role.ASSOCIATION_OFFICER, unit_by_code("23302"), "as-officer-b@example.vn"),
    }


def _ids(rows) -> list[int]:
    return [row.id for row in rows]


def test_the_association_officer_holds_the_titles_permissions_and_nothing_of_the_registry():
    held = ROLE_PERMISSIONS[Role.ASSOCIATION_OFFICER]
    assert {Permission.TITLES_VIEW, Permission.TITLES_PROPOSE, Permission.TITLES_APPROVE} <= held
    for permission in (
        Permission.REGISTRY_VIEW,
        Permission.PERSONAL_DATA,
        Permission.TITLES_ASSESS,
        Permission.TITLES_ADMIN,
        Permission.TARGETS_VIEW,
    ):
        assert permission not in held


def test_qd324_the_commune_association_proposes_and_decides_the_learning_citizen(commune):
    """Decision 324/QĐ-KHVN: the commune association recognises the Learning Citizen, written in its name."""
    officer = commune["officer"]
    assert approvals.rule_for("citizen").body == "association"
    assert approvals.decided_titles(officer) == ["citizen"]
    ids = recognition.propose(title="citizen", year=YEAR, subject_ids=_ids(commune["persons"]), user=officer)
    rows = recognition.decide(ids, decision_number="3/QĐ-KH", decision_date=DAY, user=officer)
    assert {row.status for row in rows} == {RecognitionStatus.RECOGNISED}
    place = commune["commune"]
    assert {row.authority for row in rows} == {f"Hội Khuyến học {place.kind[:1].lower()}{place.kind[1:]} {place.name}"}


def test_qd324_the_peoples_committee_leader_no_longer_decides_a_learning_citizen(commune):
    """The commune People's Committee leader may still put citizens forward, but the association decides them."""
    leader = commune["leader"]
    assert "citizen" not in approvals.decided_titles(leader)
    assert "family" in approvals.decided_titles(leader)
    ids = recognition.propose(title="citizen", year=YEAR, subject_ids=_ids(commune["persons"]), user=leader)
    with pytest.raises(recognition.RecognitionError, match="Association for Promoting Education") as caught:
        recognition.decide(ids, decision_number="9/QĐ-UBND", decision_date=DAY, user=leader)
    assert len(caught.value.details) == 2
    with pytest.raises(recognition.RecognitionError):
        recognition.reject(ids, reason="Không phải thẩm quyền", user=leader)
    assert not recognition.waiting_for(leader)
    assert {(w.title, w.count) for w in recognition.waiting_for(commune["officer"])} == {("citizen", 2)}
    rows = recognition.decide(ids, decision_number="4/QĐ-KH", decision_date=DAY, user=commune["officer"])
    assert len(rows) == 2


def test_qd324_neither_a_province_leader_nor_another_communes_association_decides_a_citizen(commune):
    ids = recognition.propose(title="citizen", year=YEAR, subject_ids=_ids(commune["persons"]), user=commune["officer"])
    for user in (commune["province_leader"], commune["other_officer"]):
        with pytest.raises(recognition.RecognitionError):
            recognition.decide(ids, decision_number="5/QĐ", decision_date=DAY, user=user)
    with pytest.raises(recognition.RecognitionError) as caught:
        recognition.propose(
            title="citizen", year=YEAR, subject_ids=_ids(commune["persons"]), user=commune["other_officer"]
        )
    assert all("in your scope" in d["message"] for d in caught.value.details)


def test_qd448_the_association_officer_neither_proposes_nor_decides_a_learning_family(commune):
    """Decision 448/QĐ-KHVN (approvals file): the chairman of the commune People's Committee recognises a family."""
    officer, leader = commune["officer"], commune["leader"]
    households = _ids(commune["households"])
    assert approvals.proposed_titles(officer) == ["citizen"]
    with pytest.raises(recognition.RecognitionError) as caught:
        recognition.propose(title="family", year=YEAR, subject_ids=households, user=officer)
    assert [d["message"].endswith("in your scope") for d in caught.value.details] == [True, True]
    ids = recognition.propose(title="family", year=YEAR, subject_ids=households, user=leader)
    with pytest.raises(recognition.RecognitionError, match="commune level"):
        recognition.decide(ids, decision_number="6/QĐ-KH", decision_date=DAY, user=officer)
    assert not recognition.waiting_for(officer)
    rows = recognition.decide(ids, decision_number="6/QĐ-UBND", decision_date=DAY, user=leader)
    assert all(row.authority.startswith("Chủ tịch UBND ") for row in rows)


def test_tt25_the_commune_association_does_not_decide_the_commune_learning_community(commune):
    assert "commune_community" not in approvals.decided_titles(commune["officer"])
    assert "commune_community" in approvals.decided_titles(commune["province_leader"])
    assert "citizen" not in approvals.decided_titles(commune["province_leader"])


def test_the_deciding_body_is_configuration(commune, tmp_path, app):
    """Another approvals file gives the citizen back to the People's Committee: the leader decides it, the association
    officer does not; a body the software does not know is refused with the file and the entry named."""
    custom = tmp_path / "approvals.toml"
    text = approvals.DEFAULT_FILE.read_text(encoding="utf-8")
    custom.write_text(text.replace('body = "association"', 'body = "committee"'), encoding="utf-8")
    app.config["TITLES_APPROVALS_FILE"] = str(custom)
    try:
        ids = recognition.propose(
            title="citizen", year=YEAR, subject_ids=_ids(commune["persons"]), user=commune["leader"]
        )
        with pytest.raises(recognition.RecognitionError):
            recognition.decide(ids, decision_number="7/QĐ", decision_date=DAY, user=commune["officer"])
        assert len(recognition.decide(ids, decision_number="7/QĐ", decision_date=DAY, user=commune["leader"])) == 2
        custom.write_text(text.replace('body = "association"', 'body = "club"'), encoding="utf-8")
        with pytest.raises(approvals.ApprovalsConfigError, match=r"\[citizen\]"):
            approvals.rule_for("citizen")
    finally:
        app.config.pop("TITLES_APPROVALS_FILE")


def test_a_decisions_recipients_are_the_bodys_or_the_files(commune, tmp_path, app):
    """The association's decision goes to the citizens it recognises, the association's office and the archive; the
    committee's to its own office. An approvals file may list its own recipients for a title; a placeholder the
    software does not fill is refused when the file is read, the entry named (not a failed print)."""
    places = approvals.places([commune["commune"].id])[commune["commune"].id]
    place = f"{places[0].kind[:1].lower()}{places[0].kind[1:]} {places[0].name}"
    citizens = approvals.issuer(
        approvals.rule_for("citizen"), *places, recognised="Các công dân có tên trong Danh sách"
    )
    assert citizens.recipients == (
        "Các công dân có tên trong Danh sách",
        f"Văn phòng Hội Khuyến học {place}",
        "Lưu: VT",
    )
    assert citizens.signer == ("TM. BAN CHẤP HÀNH", "CHỦ TỊCH")
    families = approvals.issuer(approvals.rule_for("family"), *places, recognised="Gia đình có tên trong Danh sách")
    assert families.recipients[1] == f"Văn phòng HĐND và UBND {place}"
    # A province's People's Committee has its own office, apart from its council's (a commune's is joint).
    province = places[1]
    assert province is not None
    units = approvals.issuer(
        approvals.rule_for("unit", "province"), *places, recognised="Đơn vị có tên trong Danh sách"
    )
    assert units.recipients[1] == f"Văn phòng UBND {province.kind[:1].lower()}{province.kind[1:]} {province.name}"
    custom = tmp_path / "approvals.toml"
    text = approvals.DEFAULT_FILE.read_text(encoding="utf-8")
    own = 'body = "association"\nrecipients = ["{recognised}", "Ủy ban nhân dân {commune} (để báo cáo)", "Lưu: VT"]'
    custom.write_text(text.replace('body = "association"', own, 1), encoding="utf-8")
    app.config["TITLES_APPROVALS_FILE"] = str(custom)
    try:
        mine = approvals.issuer(approvals.rule_for("citizen"), *places, recognised="Công dân có tên trong Danh sách")
        assert mine.recipients[1] == f"Ủy ban nhân dân {place} (để báo cáo)"
        custom.write_text(text.replace('body = "association"', own.replace("{commune}", "{xa}"), 1), encoding="utf-8")
        with pytest.raises(approvals.ApprovalsConfigError, match=r"\[citizen\]: recipients: .*names xa"):
            approvals.rule_for("citizen")
    finally:
        app.config.pop("TITLES_APPROVALS_FILE")


def test_the_association_officers_pages(client, commune):
    """Home card → its pages; the proposal page offers the citizen only; the decision page decides citizens and
    refuses a family's proposal (422) with nothing recorded."""
    family_ids = recognition.propose(
        title="family", year=YEAR, subject_ids=_ids(commune["households"]), user=commune["leader"]
    )
    db.session.commit()
    login(client, commune["officer"])
    home = client.get("/").get_data(as_text=True)
    for label in ("Danh hiệu", "Đề nghị công nhận", "Quyết định công nhận"):
        assert label in home, label
    cid = commune["commune"].id
    propose = client.get(f"/titles/recognitions/propose?commune_id={cid}&year={YEAR}").get_data(as_text=True)
    assert "Y Công Dân" in propose
    assert 'value="family"' not in propose  # the title picker: the association's title only
    token = csrf_token(client, "/")
    url = f"/titles/recognitions/propose?commune_id={cid}&year={YEAR}&title=citizen"
    ids = _ids(commune["persons"])
    shown = client.post(url, data={"csrf_token": token, "ids": ids}).get_data(as_text=True)  # the confirmation
    confirmed = client.post(url, data={"csrf_token": token, "ids": ids, **confirmation(shown)})
    assert confirmed.status_code == 302
    decide = f"/titles/recognitions/decide?commune_id={cid}&year={YEAR}&title=citizen"
    page = client.get(decide).get_data(as_text=True)
    assert "Hội Khuyến học" in page  # the authority prefilled from the approvals file
    refused = client.post(
        f"/titles/recognitions/decide?commune_id={cid}&year={YEAR}&title=family",
        data={
            "csrf_token": token,
            "ids": family_ids,
            "action": "recognise",
            "decision_number": "8/QĐ-KH",
            "decision_date": "2026-01-15",
            "authority": "Hội Khuyến học",
            "confirmed": "1",
        },
    )
    assert refused.status_code == 422
    recognised = select(Recognition.id).where(Recognition.status == RecognitionStatus.RECOGNISED.value)
    assert not list(db.session.scalars(recognised))
    citizens = list(
        db.session.scalars(select(Recognition.id).where(Recognition.title == "citizen", Recognition.year == YEAR))
    )
    decision = {
        "csrf_token": token,
        "ids": citizens,
        "action": "recognise",
        "decision_number": "8/QĐ-KH",
        "decision_date": "2026-01-15",
        "authority": "Hội Khuyến học xã Thử",
    }
    shown = client.post(decide, data=decision).get_data(as_text=True)  # the confirmation
    response = client.post(decide, data={**decision, **confirmation(shown)})
    assert response.status_code == 302
    db.session.expire_all()
    assert set(db.session.scalars(recognised)) == set(citizens)
