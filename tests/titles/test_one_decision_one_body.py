"""A decision is one body's document (Decree 30/2020/NĐ-CP: a document is issued by one agency, under its number and
symbol). The approvals configuration (ADR 45) gives the Learning Citizen to the commune association (Decision
324/QĐ-KHVN) and the Learning Family to the commune People's Committee (Decision 448/QĐ-KHVN): recognising both under
one number would print one decision signed by two bodies on the certificates. Refused, with what to do instead."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from lms.auth.models import Role
from lms.auth.services import assign_role
from lms.extensions import db
from lms.registry.models import Person
from lms.titles import recognition
from lms.titles.models import Recognition, RecognitionStatus, Title
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code
from tests.titles.recognition_fixtures import criteria_set, eligibility

YEAR = 2025
DAY = date(2026, 1, 20)


@pytest.fixture
def commune(app_ctx):
    commune = unit_by_code("23293")
    village = make_village(commune, "OB-V1", "Thôn Một Quyết Định")
    households = [make_household(village, f"OB-H{i}", f"Hộ Một {i}") for i in range(2)]
    persons = [Person(full_name=name, unit_id=village.id) for name in ("Y Một", "A Hai")]
    db.session.add_all(persons)
    db.session.flush()
    citizen, family = criteria_set(Title.CITIZEN), criteria_set(Title.FAMILY)
    for person in persons:
        eligibility(citizen, person.id, commune.id, YEAR, village_id=village.id)
    for household in households:
        eligibility(family, household.id, commune.id, YEAR, village_id=village.id)
    officer = make_user(Role.ASSOCIATION_OFFICER, commune, "ob-officer@example.vn")
    leader = make_user(Role.COMMUNE_LEADER, commune, "ob-leader@example.vn")
    both = make_user(Role.COMMUNE_LEADER, commune, "ob-both@example.vn")
    assign_role(both, Role.ASSOCIATION_OFFICER, commune)
    db.session.flush()
    citizens = recognition.propose(title="citizen", year=YEAR, subject_ids=[p.id for p in persons], user=officer)
    families = recognition.propose(title="family", year=YEAR, subject_ids=[h.id for h in households], user=leader)
    return {"officer": officer, "leader": leader, "both": both, "citizens": citizens, "families": families}


def _statuses(ids: list[int]) -> set[str]:
    return set(db.session.scalars(select(Recognition.status).where(Recognition.id.in_(ids))))


def test_citizens_and_families_are_not_recognised_under_one_decision(commune):
    """One who may decide both (a commune leader who is also the association's officer) still signs two decisions."""
    chosen = commune["citizens"] + commune["families"]
    with pytest.raises(recognition.RecognitionError, match="different bodies") as caught:
        recognition.decide(chosen, decision_number="5/QĐ-UBND", decision_date=DAY, user=commune["both"])
    assert caught.value.field == "authority"
    message = str(caught.value)
    assert "Hội Khuyến học" in message
    assert "UBND" in message
    # Typing one authority for all does not make it one body's decision either.
    with pytest.raises(recognition.RecognitionError, match="different bodies"):
        recognition.decide(
            chosen, decision_number="5/QĐ-UBND", decision_date=DAY, user=commune["both"], authority="UBND xã"
        )
    assert _statuses(chosen) == {RecognitionStatus.PROPOSED.value}
    # Each body's proposals alone go through.
    assert (
        len(recognition.decide(commune["citizens"], decision_number="6/QĐ-KH", decision_date=DAY, user=commune["both"]))
        == 2
    )
    assert (
        len(
            recognition.decide(
                commune["families"], decision_number="7/QĐ-UBND", decision_date=DAY, user=commune["both"]
            )
        )
        == 2
    )


def test_a_number_and_date_already_another_bodys_decision_in_the_commune_is_warned_of_not_refused(commune):
    """Most often a number typed wrong; but a commune's and a province's People's Committee number their decisions
    apart and may both sign a "12/QĐ-UBND" on one day, and a signed decision is always recorded (ADR 44)."""
    recognition.decide(commune["citizens"], decision_number="12/QĐ-KH", decision_date=DAY, user=commune["officer"])
    families = [db.session.get(Recognition, i) for i in commune["families"]]
    assert recognition.numbered_by_another_body(families, " 12/QĐ-KH ", DAY) == [
        db.session.get(Recognition, commune["citizens"][0]).authority
    ]
    # Typed as the association's own name, it is the same body: nothing to warn of.
    association = db.session.get(Recognition, commune["citizens"][0]).authority
    assert recognition.numbered_by_another_body(families, "12/QĐ-KH", DAY, association.upper()) == []
    # The same number on another day is another document.
    assert recognition.numbered_by_another_body(families, "12/QĐ-KH", date(2026, 1, 21)) == []
    rows = recognition.decide(
        commune["families"], decision_number="12/QĐ-KH", decision_date=DAY, user=commune["leader"]
    )
    assert {r.status for r in rows} == {RecognitionStatus.RECOGNISED.value}


def test_the_decision_page_warns_before_recording_a_number_another_body_holds(client, commune):
    recognition.decide(commune["citizens"], decision_number="14/QĐ-UBND", decision_date=DAY, user=commune["officer"])
    leader = commune["leader"]
    commune_id = db.session.get(Recognition, commune["families"][0]).commune_id
    db.session.commit()
    login(client, leader)
    url = f"/titles/recognitions/decide?commune_id={commune_id}&year={YEAR}&title=family"
    form = {
        "csrf_token": csrf_token(client, url),
        "ids": [str(i) for i in commune["families"]],
        "decision_number": "14/QĐ-UBND",
        "decision_date": DAY.isoformat(),
        "authority": "",
    }
    html = client.post(url, data=form).get_data(as_text=True)
    warning = re.search(r'<p[^>]*id="confirm-other-body"[^>]*>(.*?)</p>', html, re.S)
    assert warning is not None, html[:3000]
    text = " ".join(warning.group(1).split())
    assert text.startswith("Quyết định số 14/QĐ-UBND ngày 20/01/2026 đã được ghi ở xã này là do Hội Khuyến học")
    assert _statuses(commune["families"]) == {RecognitionStatus.PROPOSED.value}


def test_a_body_records_one_decision_in_two_batches(commune):
    """A decision listing many families is entered in as many goes as the clerk likes: same number, same body."""
    first, second = commune["families"][:1], commune["families"][1:]
    recognition.decide(first, decision_number="20/QĐ-UBND", decision_date=DAY, user=commune["leader"])
    rows = recognition.decide(second, decision_number="20/QĐ-UBND", decision_date=DAY, user=commune["leader"])
    assert rows[0].authority == db.session.get(Recognition, first[0]).authority


def test_a_correction_into_another_bodys_number_and_date_is_warned_of(commune):
    """Correcting a decision's number is checked as recording it: the association's decision corrected to the number
    and date of the People's Committee's is shown with the other body's name before it is confirmed."""
    families = recognition.decide(
        commune["families"], decision_number="30/QĐ-UBND", decision_date=DAY, user=commune["leader"]
    )
    citizens = recognition.decide(
        commune["citizens"], decision_number="31/QĐ-KH", decision_date=DAY, user=commune["officer"]
    )
    preview = recognition.correct_decision(
        citizens[0], decision_number="30/QĐ-UBND", decision_date=DAY, reason="typed wrong", user=commune["officer"]
    )
    assert preview.other_bodies == [families[0].authority]
    elsewhere = recognition.correct_decision(
        citizens[0], decision_number="32/QĐ-KH", decision_date=DAY, reason="typed wrong", user=commune["officer"]
    )
    assert elsewhere.other_bodies == []


def test_a_decision_recorded_without_its_body_names_no_other_body(commune):
    """An empty authority (a decision recorded before its body was written) names no other body."""
    families = recognition.decide(
        commune["families"], decision_number="40/QĐ-UBND", decision_date=DAY, user=commune["leader"]
    )
    for row in families:
        row.authority = ""
    db.session.flush()
    citizens = [db.session.get(Recognition, i) for i in commune["citizens"]]
    assert recognition.numbered_by_another_body(citizens, "40/QĐ-UBND", DAY) == []
