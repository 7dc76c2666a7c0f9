"""The recognition workflow as services: propose from eligibility, decide (one by one and in bulk), reject, revoke;
transitions, the approvals configuration, validity, certificate codes and the conflict of two approvers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from lms.auth.models import Role
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry.models import AdminUnit, Household, Organisation
from lms.titles import approvals, recognition
from lms.titles.models import EvaluationState, Recognition, RecognitionStatus, Title
from tests.conftest import make_household, make_user, make_village, unit_by_code
from tests.titles.recognition_fixtures import criteria_set, eligibility

YEAR = 2025
DAY = date(2026, 1, 20)


@pytest.fixture
def commune_a(app_ctx):
    commune = unit_by_code("23293")
    village = make_village(commune, "R-V1", "Thôn Một")
    households = [make_household(village, f"R-H{i}", f"Nguyễn Văn Hộ{i}", f"Trần Thị Vợ{i}") for i in range(3)]
    family = criteria_set(Title.FAMILY, validity_years=1)
    rows = [
        eligibility(family, h.id, commune.id, YEAR, village_id=village.id, eligible=i < 2)
        for i, h in enumerate(households)
    ]
    leader = make_user(Role.COMMUNE_LEADER, commune, "leader-a@example.vn")
    return {
        "commune": commune,
        "village": village,
        "households": households,
        "rows": rows,
        "leader": leader,
        "criteria": family,
    }


def _propose_two(data) -> list[int]:
    return recognition.propose(
        title="family", year=YEAR, subject_ids=[h.id for h in data["households"][:2]], user=data["leader"]
    )


def test_propose_copies_the_eligibility_snapshot(commune_a):
    ids = _propose_two(commune_a)
    rows = db.session.scalars(select(Recognition).where(Recognition.id.in_(ids)).order_by(Recognition.id)).all()
    assert [r.subject_id for r in rows] == [h.id for h in commune_a["households"][:2]]
    first = rows[0]
    assert first.status == RecognitionStatus.PROPOSED
    assert first.score == Decimal("85")
    assert first.criteria_set_id == commune_a["criteria"].id
    assert first.breakdown[0]["indicator"] == "A1"
    assert first.village_id == commune_a["village"].id
    assert first.commune_id == commune_a["commune"].id
    assert first.proposed_by_id == commune_a["leader"].id
    # The snapshot stays when the eligibility changes later.
    commune_a["rows"][0].score = Decimal("40")
    db.session.flush()
    db.session.refresh(first)
    assert first.score == Decimal("85")
    assert (
        db.session.scalar(
            select(db.func.count()).select_from(AuditEvent).where(AuditEvent.action == "recognition.propose")
        )
        == 2
    )


def test_a_non_eligible_subject_is_refused_with_what_it_lacks_and_nothing_is_proposed(commune_a):
    households = commune_a["households"]
    with pytest.raises(recognition.RecognitionError) as caught:
        recognition.propose(
            title="family", year=YEAR, subject_ids=[households[0].id, households[2].id], user=commune_a["leader"]
        )
    (detail,) = caught.value.details
    assert detail["index"] == 1
    assert "not eligible" in detail["message"]
    assert "A2: more_activities" in detail["message"]
    assert db.session.scalar(select(db.func.count()).select_from(Recognition)) == 0


def test_proposing_twice_and_outside_scope_are_refused(commune_a):
    _propose_two(commune_a)
    with pytest.raises(recognition.RecognitionError, match="cannot be proposed") as caught:
        recognition.propose(
            title="family", year=YEAR, subject_ids=[commune_a["households"][0].id], user=commune_a["leader"]
        )
    assert "already proposed" in caught.value.details[0]["message"]
    other = make_user(Role.COMMUNE_LEADER, unit_by_code("23302"), "leader-b@example.vn")
    with pytest.raises(recognition.RecognitionError) as caught:
        recognition.propose(title="family", year=YEAR, subject_ids=[commune_a["households"][1].id], user=other)
    assert "in your scope" in caught.value.details[0]["message"]


def test_decide_in_bulk_sets_validity_code_authority_and_marks_the_commune(commune_a):
    ids = _propose_two(commune_a)
    db.session.execute(update(EvaluationState).values(marked_at=None))
    rows = recognition.decide(ids, decision_number="15/QĐ-UBND", decision_date=DAY, user=commune_a["leader"])
    assert {r.status for r in rows} == {"recognised"}
    assert {r.decision_number for r in rows} == {"15/QĐ-UBND"}
    assert {r.valid_until for r in rows} == {date(2025, 12, 31)}  # one-year title
    assert rows[0].authority == f"Chủ tịch UBND xã {commune_a['commune'].name}".replace(
        "xã", commune_a["commune"].kind[:1].lower() + commune_a["commune"].kind[1:]
    )
    codes = {r.certificate_code for r in rows}
    assert len(codes) == 2
    assert all(len(c) == 14 for c in codes)
    state = db.session.get(EvaluationState, (commune_a["commune"].id, YEAR))
    assert state is not None
    assert state.marked_at is not None


def test_validity_follows_the_criteria_set(commune_a):
    assert recognition.valid_until(2025, 3) == date(2028, 12, 31)  # Circular 24 Art. 5.4: the three years after 2025
    commune_a["criteria"].validity_years = 3
    ids = _propose_two(commune_a)
    (row, _) = recognition.decide(
        ids, decision_number="1/QĐ", decision_date=DAY, user=commune_a["leader"], authority="UBND xã thử"
    )
    assert row.valid_until == date(2028, 12, 31)
    assert row.authority == "UBND xã thử"


def test_transitions_move_forward_only(commune_a):
    first, second = _propose_two(commune_a)
    leader = commune_a["leader"]
    with pytest.raises(recognition.TransitionConflict):
        recognition.revoke([first], reason="sai", user=leader)  # a proposal is not revoked, it is rejected
    recognition.reject([second], reason="Hồ sơ thiếu minh chứng", user=leader)
    with pytest.raises(recognition.TransitionConflict):
        recognition.decide([second], decision_number="2/QĐ", decision_date=DAY, user=leader)
    recognition.decide([first], decision_number="2/QĐ", decision_date=DAY, user=leader)
    with pytest.raises(recognition.RecognitionError, match="why"):
        recognition.revoke([first], reason="  ", user=leader)
    (row,) = recognition.revoke([first], reason="Quyết định bị hủy", user=leader)
    assert row.status == "revoked"
    assert row.reason == "Quyết định bị hủy"
    assert row.revoked_at is not None
    with pytest.raises(recognition.TransitionConflict):
        recognition.revoke([first], reason="again", user=leader)
    actions = [e.action for e in recognition.history(row)]
    assert actions == ["recognition.propose", "recognition.recognise", "recognition.revoke"]


def test_the_second_approver_gets_a_conflict_and_the_first_decision_stands(commune_a):
    """Two approvers open the same list; the first records decision 3, the second (reading the rows again under
    the lock) is refused and changes nothing."""
    first, second = _propose_two(commune_a)
    other = make_user(Role.COMMUNE_LEADER, commune_a["commune"], "leader-a2@example.vn")
    db.session.commit()
    stale = db.session.get(Recognition, first)
    assert stale is not None
    assert stale.status == "proposed"
    # The first approver's decision commits through another path; this session's copy is now stale.
    db.session.execute(
        update(Recognition).where(Recognition.id == first).values(status="recognised", decision_number="3/QĐ")
    )
    db.session.commit()
    stale.__dict__["status"] = "proposed"  # what the second approver's page still shows
    with pytest.raises(recognition.TransitionConflict) as caught:
        recognition.decide([second, first], decision_number="4/QĐ", decision_date=DAY, user=other)
    assert caught.value.details == [
        {
            "index": 1,
            "recognition_id": first,
            # Named as the lists name it, not "recognition 7" (the decide page flashes this to the approver).
            "message": f"{_subject_name(first)} is recognised: it cannot become recognised",
        }
    ]
    db.session.rollback()
    row = db.session.get(Recognition, first)
    assert row is not None
    assert row.decision_number == "3/QĐ"
    assert db.session.get(Recognition, second).status == "proposed"


def test_decision_date_and_number_are_checked(commune_a):
    ids = _propose_two(commune_a)
    leader = commune_a["leader"]
    with pytest.raises(recognition.RecognitionError, match="decision number"):
        recognition.decide(ids, decision_number=" ", decision_date=DAY, user=leader)
    with pytest.raises(recognition.RecognitionError, match="future"):
        recognition.decide(ids, decision_number="1", decision_date=date(2099, 1, 1), user=leader)
    with pytest.raises(recognition.RecognitionError, match="before the year"):
        recognition.decide(ids, decision_number="1", decision_date=date(2024, 12, 1), user=leader)


def test_who_decides_is_configuration(commune_a, tmp_path, app):
    """A family is decided at commune level: a province leader may not; a commune learning community at province
    level: a commune leader may not. Another file (TITLES_APPROVALS_FILE) moves families to the province."""
    ids = _propose_two(commune_a)
    commune = commune_a["commune"]
    _, province = approvals.places([commune.id])[commune.id]
    assert province is not None
    province_leader = make_user(Role.PROVINCE_LEADER, province, "province@example.vn")
    with pytest.raises(recognition.RecognitionError, match="commune level") as caught:
        recognition.decide(ids, decision_number="5/QĐ", decision_date=DAY, user=province_leader)
    assert len(caught.value.details) == 2

    assert approvals.rule_for("commune_community").level == "province"
    assert approvals.rule_for("unit", "commune").level == "commune"
    assert approvals.rule_for("unit", "district").level == "province"
    assert approvals.rule_for("unit", "province").authority == "Chủ tịch UBND {province}"

    custom = tmp_path / "approvals.toml"
    text = approvals.DEFAULT_FILE.read_text(encoding="utf-8").replace(
        '[family]\nlevel = "commune"\nauthority = "Chủ tịch UBND {commune}"',
        '[family]\nlevel = "province"\nauthority = "Chủ tịch UBND {province}"',
    )
    custom.write_text(text, encoding="utf-8")
    app.config["TITLES_APPROVALS_FILE"] = str(custom)
    try:
        with pytest.raises(recognition.RecognitionError, match="province level"):
            recognition.decide(ids, decision_number="5/QĐ", decision_date=DAY, user=commune_a["leader"])
        rows = recognition.decide(ids, decision_number="5/QĐ", decision_date=DAY, user=province_leader)
        assert rows[0].authority == f"Chủ tịch UBND {province.kind[:1].lower()}{province.kind[1:]} {province.name}"
    finally:
        app.config.pop("TITLES_APPROVALS_FILE")


def test_a_unit_managed_by_the_province_is_decided_at_province_level(commune_a):
    commune = commune_a["commune"]
    school = Organisation(
        commune_id=commune.id, code="THPT-1", name="Trường THPT Một", kind="school", managing_level="province"
    )
    db.session.add(school)
    db.session.flush()
    unit_set = criteria_set(Title.UNIT, validity_years=3)
    eligibility(unit_set, school.id, commune.id, YEAR)
    (rid,) = recognition.propose(title="unit", year=YEAR, subject_ids=[school.id], user=commune_a["leader"])
    with pytest.raises(recognition.RecognitionError, match="province level"):
        recognition.decide([rid], decision_number="7/QĐ", decision_date=DAY, user=commune_a["leader"])
    _, province = approvals.places([commune.id])[commune.id]
    (row,) = recognition.decide(
        [rid],
        decision_number="7/QĐ-UBND",
        decision_date=DAY,
        user=make_user(Role.PROVINCE_LEADER, province, "p2@example.vn"),
    )
    assert row.valid_until == date(2028, 12, 31)


def test_verification_status(commune_a):
    ids = _propose_two(commune_a)
    (row, _) = recognition.decide(ids, decision_number="8/QĐ", decision_date=DAY, user=commune_a["leader"])
    assert recognition.verification_status(row, today=date(2025, 12, 31)) == "valid"
    # A one-year title of 2025 records its year and does not lapse (ADR 17): no "expired" in 2026 or later.
    assert recognition.verification_status(row, today=date(2026, 1, 1)) == "valid"
    assert recognition.find_by_code(row.certificate_code.lower().replace("-", " ")) is row
    recognition.revoke([row.id], reason="x", user=commune_a["leader"])
    assert recognition.verification_status(row, today=date(2025, 6, 1)) == "revoked"


def test_bulk_decision_is_a_constant_number_of_queries(commune_a, count_queries):
    village = commune_a["village"]
    many = [make_household(village, f"BULK-{i}", f"Lê Văn {i}") for i in range(30)]
    for h in many:
        eligibility(commune_a["criteria"], h.id, commune_a["commune"].id, YEAR, village_id=village.id)
    leader = commune_a["leader"]
    with count_queries() as small:
        ids = recognition.propose(title="family", year=YEAR, subject_ids=[h.id for h in many[:3]], user=leader)
        recognition.decide(ids, decision_number="9/QĐ", decision_date=DAY, user=leader)
    with count_queries() as big:
        ids = recognition.propose(title="family", year=YEAR, subject_ids=[h.id for h in many[3:]], user=leader)
        recognition.decide(ids, decision_number="10/QĐ", decision_date=DAY, user=leader)
    assert big.count <= small.count + 2  # executemany batches may split; never one query per row


def test_a_recognised_year_is_frozen_through_the_workflow(app_ctx):
    """Approve → the inputs change → evaluate again: the recognised subject's eligibility row is untouched, while a
    subject that was only proposed follows its inputs; once revoked, the year thaws."""
    from courses.models import LearningRecord
    from lms.titles import criteria, engine
    from lms.titles.models import Eligibility
    from tests.titles.test_engine import SIMPLE_CITIZEN, person, records

    criteria.load_criteria(SIMPLE_CITIZEN.encode())
    commune = unit_by_code("23293")
    village = make_village(commune, "FZ-V1", "Thôn Đóng Băng")
    recognised, proposed = person(village, "Y Bình"), person(village, "A Hùng")
    records([recognised.id, proposed.id], commune)
    engine.evaluate_commune(commune.id, YEAR)
    # The commune association decides the Learning Citizen (Decision 324/QĐ-KHVN; ADR 45).
    leader = make_user(Role.ASSOCIATION_OFFICER, commune, "frozen@example.vn")
    first, second = recognition.propose(
        title="citizen", year=YEAR, subject_ids=[recognised.id, proposed.id], user=leader
    )
    recognition.decide([first], decision_number="30/QĐ", decision_date=DAY, user=leader)

    def row(subject_id: int) -> Eligibility:
        db.session.expire_all()
        found = db.session.scalar(
            select(Eligibility).where(
                Eligibility.subject_id == subject_id, Eligibility.title == "citizen", Eligibility.year == YEAR
            )
        )
        assert found is not None
        return found

    before = row(recognised.id)
    kept = (before.id, before.eligible, before.score, before.computed_at, before.breakdown)
    assert before.eligible
    db.session.execute(LearningRecord.__table__.delete())  # the inputs change after the decision

    engine.evaluate_commune(commune.id, YEAR)

    after = row(recognised.id)
    assert (after.id, after.eligible, after.score, after.computed_at, after.breakdown) == kept
    assert not row(proposed.id).eligible  # only proposed: not frozen
    assert db.session.get(Recognition, second).score == before.score  # the proposal keeps its snapshot

    recognition.revoke([first], reason="Sai sót hồ sơ", user=leader)
    engine.evaluate_commune(commune.id, YEAR)
    assert not row(recognised.id).eligible


@pytest.mark.integration
@pytest.mark.postgresql  # row locks are PostgreSQL's; SQLite serialises write transactions (ADR 3)
def test_two_approvers_at_the_same_time_one_wins(app):
    """PostgreSQL, real transactions in two threads: approver A locks the proposal and records decision 40; approver
    B, deciding the same proposal meanwhile, waits on the row lock, then sees it recognised and gets the conflict."""
    import threading
    import time

    from lms.auth.models import User
    from lms.titles.models import CriteriaSet, Eligibility

    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    with app.app_context():
        commune = unit_by_code("23293")
        village = make_village(commune, "CC-V1", "Thôn Đồng Thời")
        household = make_household(village, "CC-H1", "Đinh Văn Một")
        family = criteria_set(code="test-concurrency")
        eligibility(family, household.id, commune.id, YEAR, village_id=village.id)
        users = [make_user(Role.COMMUNE_LEADER, commune, f"cc-{name}@example.vn") for name in ("a", "b")]
        (rid,) = recognition.propose(title="family", year=YEAR, subject_ids=[household.id], user=users[0])
        db.session.commit()
        ids = {
            "village": village.id,
            "household": household.id,
            "criteria": family.id,
            "users": [u.id for u in users],
            "commune": commune.id,
        }
    locked, results = threading.Event(), {}

    def approver(name: str, number: str, hold: bool) -> None:
        with app.app_context():
            user = db.session.scalar(select(User).where(User.email == f"cc-{name}@example.vn"))
            try:
                recognition.decide([rid], decision_number=number, decision_date=DAY, user=user)
                if hold:
                    locked.set()
                    time.sleep(1.0)  # B arrives while A still holds the row
                db.session.commit()
                results[name] = "won"
            except recognition.TransitionConflict as exc:
                db.session.rollback()
                results[name] = str(exc)
            finally:
                locked.set()
                db.session.remove()

    try:
        first = threading.Thread(target=approver, args=("a", "40/QĐ", True))
        first.start()
        assert locked.wait(30)
        second = threading.Thread(target=approver, args=("b", "41/QĐ", False))
        second.start()
        first.join(30)
        second.join(30)
        assert results["a"] == "won"
        assert "cannot become recognised" in results["b"]
        with app.app_context():
            row = db.session.get(Recognition, rid)
            assert row is not None
            assert row.decision_number == "40/QĐ"
            assert row.decided_by_id == ids["users"][0]
    finally:
        with app.app_context():
            db.session.execute(
                AuditEvent.__table__.delete().where(
                    AuditEvent.object_type == "recognition", AuditEvent.object_id == str(rid)
                )
            )
            db.session.execute(Recognition.__table__.delete().where(Recognition.id == rid))
            db.session.execute(Eligibility.__table__.delete().where(Eligibility.criteria_set_id == ids["criteria"]))
            db.session.execute(CriteriaSet.__table__.delete().where(CriteriaSet.id == ids["criteria"]))
            db.session.execute(
                EvaluationState.__table__.delete().where(
                    EvaluationState.commune_id == ids["commune"], EvaluationState.year == YEAR
                )
            )
            for user_id in ids["users"]:
                db.session.delete(db.session.get(User, user_id))
            household_row = db.session.get(Household, ids["household"])
            for member in household_row.members:
                db.session.delete(member)
            db.session.delete(household_row)
            db.session.flush()
            db.session.delete(db.session.get(AdminUnit, ids["village"]))
            db.session.commit()


def test_tt24_art2_3_art5_1_the_commune_committee_does_not_recognise_itself(commune_a):
    """Circular 24/2023, Art. 2.3 ("Đơn vị cấp huyện là Ủy ban nhân dân cấp xã") and Art. 5.1 ("Chủ tịch Ủy ban nhân
    dân cấp huyện quyết định công nhận Đơn vị cấp huyện"): the commune People's Committee, registered as managed by
    the commune, is decided at the level standing for the district (the province after 2025), not by the commune's
    own leader, and the decision is written in the province chairman's name."""
    commune = commune_a["commune"]
    committee = Organisation(
        commune_id=commune.id, code="UBND-X", name="UBND xã", kind="commune_committee", managing_level="commune"
    )
    db.session.add(committee)
    db.session.flush()
    assert approvals.rule_for("unit", "commune", "commune_committee").level == "province"
    unit_set = criteria_set(Title.UNIT, validity_years=3)
    eligibility(unit_set, committee.id, commune.id, YEAR)
    (rid,) = recognition.propose(title="unit", year=YEAR, subject_ids=[committee.id], user=commune_a["leader"])
    assert recognition.waiting_for(commune_a["leader"]) == []
    with pytest.raises(recognition.RecognitionError, match="province level"):
        recognition.decide([rid], decision_number="9/QĐ", decision_date=DAY, user=commune_a["leader"])
    _, province = approvals.places([commune.id])[commune.id]
    approver = make_user(Role.PROVINCE_LEADER, province, "p-committee@example.vn")
    assert [(w.title, w.count) for w in recognition.waiting_for(approver)] == [("unit", 1)]
    (row,) = recognition.decide([rid], decision_number="9/QĐ-UBND", decision_date=DAY, user=approver)
    assert row.authority.startswith("Chủ tịch UBND tỉnh")


def test_tt24_art2_10_art2_11_a_kept_title_is_not_proposed_again_only_raised(commune_a):
    """Circular 24/2023, Art. 5.4 (kept for the 3 years after the year recognised), Art. 2.10 (re-recognition only
    after the earlier decision lapses) and Art. 2.11 (raising level 1 to level 2); Circular 25/2023, Art. 5.4, 9.4:
    a unit recognised at level 1 for 2024 holds the title through 2027, so in 2025 it is not proposed again at
    level 1 (neither listed nor accepted); level 2 may be proposed. A one-year association title is not kept."""
    commune = commune_a["commune"]
    unit = Organisation(commune_id=commune.id, code="PGD-K", name="Phòng GD", kind="agency", managing_level="district")
    other = Organisation(commune_id=commune.id, code="PGD-L", name="Phòng VH", kind="agency", managing_level="district")
    db.session.add_all([unit, other])
    db.session.flush()
    unit_set = criteria_set(Title.UNIT, validity_years=3)
    for org in (unit, other):
        db.session.add(
            Recognition(
                subject_type="organisation",
                subject_id=org.id,
                title="unit",
                year=YEAR - 1,
                level=1,
                commune_id=commune.id,
                status=RecognitionStatus.RECOGNISED.value,
                decision_number="3/QĐ-UBND",
                decision_date=date(YEAR, 2, 1),
                valid_until=recognition.valid_until(YEAR - 1, 3),
            )
        )
    same = eligibility(unit_set, unit.id, commune.id, YEAR)
    higher = eligibility(unit_set, other.id, commune.id, YEAR)
    same.level, higher.level = 1, 2
    db.session.flush()
    listed = db.session.scalars(recognition.proposable("unit", YEAR)).all()
    assert [row.subject_id for row in listed] == [other.id]
    with pytest.raises(recognition.RecognitionError, match="cannot be proposed") as caught:
        recognition.propose(title="unit", year=YEAR, subject_ids=[unit.id], user=commune_a["leader"])
    assert "31/12/2027" in caught.value.details[0]["message"]
    assert recognition.propose(title="unit", year=YEAR, subject_ids=[other.id], user=commune_a["leader"])
    # Once the kept years are over (2028 evaluated), the unit is recognised again at level 1 (Art. 2.10).
    again = eligibility(unit_set, unit.id, commune.id, YEAR + 3)
    again.level = 1
    db.session.flush()
    assert recognition.propose(title="unit", year=YEAR + 3, subject_ids=[unit.id], user=commune_a["leader"])
    # A family recognised for 2024 (one-year title) is proposed for 2025 as usual.
    household = commune_a["households"][0]
    db.session.add(
        Recognition(
            subject_type="household",
            subject_id=household.id,
            title="family",
            year=YEAR - 1,
            commune_id=commune.id,
            status=RecognitionStatus.RECOGNISED.value,
            decision_number="1/QĐ-UBND",
            decision_date=date(YEAR, 1, 10),
            valid_until=recognition.valid_until(YEAR - 1, 1),
        )
    )
    db.session.flush()
    assert recognition.propose(title="family", year=YEAR, subject_ids=[household.id], user=commune_a["leader"])


def test_tt24_art5_1_art11_1_the_unit_title_names_its_level_of_government(commune_a):
    """Circular 24/2023, Art. 5.1 ("công nhận Đơn vị cấp huyện đạt 'Đơn vị học tập' cấp huyện") and Art. 11.1 ("…
    cấp tỉnh"): a unit recognised under the circular is a Learning Unit of the district or of the province, and the
    public page (as the certificate and the credential) says which; the commune People's Committee is a district-level
    unit (Art. 2.3); a commune-managed unit (Decision 448) has no such level."""
    from lms.titles import criteria

    criteria.load_shipped_criteria()
    tt24 = criteria.active_set("unit", managing_level="district")
    part_d = criteria.active_set("unit", managing_level="commune")
    assert tt24 is not None
    assert part_d is not None
    commune = commune_a["commune"]
    expected = {}
    for code, kind, level, used_set, name in [
        ("PGD-T", "agency", "district", tt24, "Đơn vị học tập cấp huyện"),
        ("UBND-T", "commune_committee", "commune", tt24, "Đơn vị học tập cấp huyện"),
        ("THPT-T", "school", "province", tt24, "Đơn vị học tập cấp tỉnh"),
        ("HTX-T", "other", "commune", part_d, "Đơn vị học tập"),
    ]:
        org = Organisation(commune_id=commune.id, code=code, name=code, kind=kind, managing_level=level)
        db.session.add(org)
        db.session.flush()
        row = Recognition(
            subject_type="organisation",
            subject_id=org.id,
            title="unit",
            year=YEAR,
            level=1,
            commune_id=commune.id,
            criteria_set_id=used_set.id,
            status=RecognitionStatus.RECOGNISED.value,
            decision_number="5/QĐ-UBND",
            decision_date=DAY,
            certificate_code=f"T-{code}",
        )
        db.session.add(row)
        db.session.flush()
        expected[code] = (row, name)
    for row, name in expected.values():
        assert recognition.title_name_vi(row) == name
        assert recognition.public_view(row)["title_name"] == name


def test_tt24_art10_1_a_circular_title_is_not_decided_inside_the_year_it_judges(commune_a):
    """Circular 24/2023, Art. 10.1.b-c (figures from 1 January to 31 December of the year evaluated; the dossier sent
    before 15 January of the next year) and Art. 10.3 (decided before 15 February of the next year); Circular 25,
    Art. 9.1.b, d the same: a decision dated inside the evaluated year is refused, one of the next year is taken. A
    one-year association title keeps its rule (not before the year)."""
    commune = commune_a["commune"]
    unit = Organisation(commune_id=commune.id, code="PGD-D", name="Phòng GD", kind="agency", managing_level="district")
    db.session.add(unit)
    db.session.flush()
    eligibility(criteria_set(Title.UNIT, validity_years=3), unit.id, commune.id, YEAR)
    (rid,) = recognition.propose(title="unit", year=YEAR, subject_ids=[unit.id], user=commune_a["leader"])
    _, province = approvals.places([commune.id])[commune.id]
    approver = make_user(Role.PROVINCE_LEADER, province, "p-dated@example.vn")
    # The decide page's confirmation step asks check_decision: the rule refuses there, before "Confirm" is shown.
    with pytest.raises(recognition.RecognitionError, match="inside the year evaluated") as checked:
        recognition.check_decision([rid], decision_number="2/QĐ-UBND", decision_date=date(YEAR, 12, 31), user=approver)
    assert checked.value.field == "decision_date"
    with pytest.raises(recognition.RecognitionError, match="inside the year evaluated") as caught:
        recognition.decide([rid], decision_number="2/QĐ-UBND", decision_date=date(YEAR, 12, 31), user=approver)
    assert caught.value.field == "decision_date"
    (row,) = recognition.decide([rid], decision_number="2/QĐ-UBND", decision_date=date(YEAR + 1, 2, 10), user=approver)
    assert row.status == RecognitionStatus.RECOGNISED
    ids = _propose_two(commune_a)
    assert recognition.decide(ids, decision_number="3/QĐ", decision_date=date(YEAR, 12, 20), user=commune_a["leader"])


def _subject_name(recognition_id: int) -> str:
    row = db.session.get(Recognition, recognition_id)
    return recognition._who(row.subject_type, [row.subject_id])[row.subject_id]
