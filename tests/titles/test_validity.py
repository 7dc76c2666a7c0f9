"""How long a recognition holds, worked by hand from the texts.

Circular 24/2023 Art. 5.4 (district units) and Art. 11.4 (province units), Circular 25/2023 Art. 5.4 (communes):
"Kết quả công nhận được bảo lưu trong thời hạn 03 năm (36 tháng) tiếp theo năm được công nhận". A title recognised
for 2025 therefore still holds in 2026, 2027 and 2028, and no longer in 2029. Association titles (Decisions 324/2023
and 448/2015) are recognised for one year: 2025 only.
"""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, update

from lms.auth.models import Role
from lms.extensions import db, utcnow
from lms.registry.models import Organisation
from lms.targets.models import TargetState
from lms.titles import documents, recognition
from lms.titles.models import EvaluationState, Recognition, Title
from tests.conftest import make_household, make_user, make_village, unit_by_code
from tests.courses.test_documents import _pdf_text
from tests.titles.recognition_fixtures import criteria_set, eligibility

YEAR = 2025
DECIDED = date(2026, 2, 10)  # before 15 February of the year after (Circular 24 Art. 10.3)


@pytest.fixture
def unit_recognised(app_ctx):
    """A district-managed school recognised "Đơn vị học tập" for 2025 under a three-year set (Circular 24)."""
    commune = unit_by_code("23293")
    school = Organisation(
        commune_id=commune.id, code="VAL-S1", name="Trường THCS Thử", kind="school", managing_level="province"
    )
    db.session.add(school)
    db.session.flush()
    unit_set = criteria_set(Title.UNIT, validity_years=3, code="test-tt24-validity")
    eligibility(unit_set, school.id, commune.id, YEAR)
    leader = make_user(Role.COMMUNE_LEADER, commune, "val-leader@example.vn")
    (rid,) = recognition.propose(title="unit", year=YEAR, subject_ids=[school.id], user=leader)
    from lms.titles import approvals

    _, province = approvals.places([commune.id])[commune.id]
    approver = make_user(Role.PROVINCE_LEADER, province, "val-province@example.vn")
    (row,) = recognition.decide(
        [rid], decision_number="15/QĐ-UBND", decision_date=DECIDED, user=approver, today=DECIDED
    )
    return {"row": row, "commune": commune, "school": school, "set": unit_set}


def test_tt24_art_5_4_three_year_title_recognised_2025_holds_through_2028():
    # Circular 24 Art. 5.4 / 11.4, Circular 25 Art. 5.4: "03 năm (36 tháng) tiếp theo năm được công nhận".
    assert recognition.valid_until(2025, 3) == date(2028, 12, 31)
    assert list(recognition.valid_years(2025, recognition.valid_until(2025, 3))) == [2025, 2026, 2027, 2028]


def test_qd_448_one_year_association_title_holds_for_its_year_only():
    # Association titles (QĐ 324/2023, QĐ 448/2015) are recognised year by year: validity 1 is that year alone.
    assert recognition.valid_until(2025, 1) == date(2025, 12, 31)
    assert list(recognition.valid_years(2025, recognition.valid_until(2025, 1))) == [2025]


def test_tt24_art_11_4_decision_sets_the_end_and_marks_every_year_already_begun(unit_recognised):
    row = unit_recognised["row"]
    assert row.valid_until == date(2028, 12, 31)
    marked = set(
        db.session.scalars(
            select(EvaluationState.year).where(EvaluationState.commune_id == unit_recognised["commune"].id)
        )
    )
    # Decided in February 2026: 2025 and 2026 are evaluated again (the targets of both follow); the later years
    # have not begun.
    assert {2025, 2026} <= marked
    assert not marked & {2027, 2028}


def test_tt25_art_5_4_verification_is_valid_on_the_last_day_of_2028_and_expired_in_2029(unit_recognised):
    row = unit_recognised["row"]
    assert recognition.verification_status(row, today=date(2026, 6, 1)) == "valid"
    assert recognition.verification_status(row, today=date(2028, 12, 31)) == "valid"
    assert recognition.verification_status(row, today=date(2029, 1, 1)) == "expired"


def test_tt24_art_5_4_the_certificate_prints_31_12_2028(unit_recognised):
    row = unit_recognised["row"]
    data = documents.certificate_data(row, "https://lms.example.vn/titles/verify/X")
    assert data.valid_until == date(2028, 12, 31)
    text = _pdf_text(documents.certificate_pdf(data))
    assert "31/12/2028" in text
    assert "31/12/2027" not in text


@pytest.fixture
def family_recognised(app_ctx):
    """A household recognised "Gia đình học tập" for 2025 (QĐ 448/2015, one year) by a decision of 10/02/2026."""
    commune = unit_by_code("23293")
    village = make_village(commune, "VAL-V1", "Thôn Thử")
    household = make_household(village, "VAL-H1", "Nguyễn Văn Thử")
    family = criteria_set(Title.FAMILY, validity_years=1, code="test-family-validity")
    eligibility(family, household.id, commune.id, YEAR, village_id=village.id)
    leader = make_user(Role.COMMUNE_LEADER, commune, "val-family@example.vn")
    ids = recognition.propose(title="family", year=YEAR, subject_ids=[household.id], user=leader)
    (row,) = recognition.decide(ids, decision_number="3/QĐ", decision_date=DECIDED, user=leader, today=DECIDED)
    return row


def test_one_year_title_decided_keeps_31_12_of_its_year(family_recognised):
    # What the title counts for (plan targets, a village's share of learning families): 2025 alone.
    assert family_recognised.valid_until == date(2025, 12, 31)
    assert list(recognition.valid_years(YEAR, family_recognised.valid_until)) == [2025]


def test_one_year_title_certificate_is_valid_when_given_and_after(family_recognised, client):
    # Decided on 10/02/2026 for 2025: its certificate must not have expired before it was given (ADR 17).
    row = family_recognised
    assert recognition.certificate_valid_until(row) is None
    for today in (DECIDED, date(2026, 12, 31), date(2031, 1, 1)):
        assert recognition.verification_status(row, today=today) == "valid"
    assert recognition.public_view(row, today=DECIDED)["valid_until"] is None
    page = client.get(f"/titles/verify/{row.certificate_code}").get_data(as_text=True)
    assert 'data-status="valid"' in page
    assert "Không thời hạn: ghi nhận danh hiệu đạt được trong năm 2025." in page
    assert "31/12/2025" not in page


def test_one_year_title_credential_has_no_valid_until_before_its_valid_from(family_recognised):
    # VC Data Model 2.0: validUntil may not precede validFrom. The title of 2025 is a lasting fact: no validUntil.
    from lms.credentials import services as credentials

    token = credentials.credential_for_recognition(family_recognised).jwt
    credential = credentials.decode(token)
    assert credential["validFrom"].startswith("2026-02-10")
    assert "validUntil" not in credential
    assert "exp" not in credential
    assert credential["name"] == "Gia đình học tập năm 2025"
    result = credentials.verify(token)
    assert result.valid, result.reason
    assert "có hiệu lực từ 10/02/2026, và chưa bị thu hồi" in result.message


def test_a_credential_issued_under_the_old_rule_of_validity_is_replaced(family_recognised):
    """Before ADR 17's amendment a one-year title's credential ended on 31/12 of its year, before its validFrom:
    such a stored credential is revoked and a new one, without an end, is issued in its place."""
    from lms.credentials import services as credentials
    from lms.credentials.models import IssuedCredential

    old = credentials.credential_for_recognition(family_recognised)
    old.valid_until = date(YEAR, 12, 31)  # as the earlier rule stored it
    db.session.flush()
    new = credentials.credential_for_recognition(family_recognised)
    assert new.id != old.id
    assert new.valid_until is None
    assert db.session.get(IssuedCredential, old.id).revoked_at is not None
    assert credentials.verify(new.jwt).valid
    assert credentials.credential_for_recognition(family_recognised).id == new.id  # and kept from then on


def test_one_year_title_pdf_says_it_does_not_expire(family_recognised):
    data = documents.certificate_data(family_recognised, "https://lms.example.vn/titles/verify/X")
    text = _pdf_text(documents.certificate_pdf(data))
    assert "31/12/2025" not in text
    assert "không thời hạn — ghi nhận danh hiệu đạt được trong năm 2025" in " ".join(text.split())


def test_the_family_certificate_names_the_household_without_its_registry_code(family_recognised):
    """The certificate is handed to the family: "Hộ Nguyễn Văn Thử", not "Hộ Nguyễn Văn Thử (VAL-…)"."""
    from lms.registry.models import Household

    code = db.session.get(Household, family_recognised.subject_id).code
    data = documents.certificate_data(family_recognised, "https://lms.example.vn/titles/verify/X")
    assert data.subject_name == "Hộ Nguyễn Văn Thử"
    text = " ".join(_pdf_text(documents.certificate_pdf(data)).split())
    assert "Hộ Nguyễn Văn Thử" in text
    assert code not in text


# --- migration 0015: rows decided before the fix ---------------------------------------------------------------


def _migration():
    path = Path(__file__).parents[2] / "migrations" / "versions" / "0015_recognition_validity.py"
    spec = importlib.util.spec_from_file_location("migration_0015", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(step: str) -> None:
    context = MigrationContext.configure(db.session.connection())
    with Operations.context(context):
        getattr(_migration(), step)()
    db.session.expire_all()


def test_migration_0015_moves_old_three_year_ends_to_y_plus_3_and_leaves_one_year_titles(unit_recognised):
    row = unit_recognised["row"]
    commune = unit_recognised["commune"]
    # As decided before the fix: 31/12/2027 for a 2025 three-year title.
    db.session.execute(update(Recognition).where(Recognition.id == row.id).values(valid_until=date(2027, 12, 31)))
    village = make_village(commune, "VAL-V2", "Thôn Hai")
    household = make_household(village, "VAL-H2", "Trần Thị Hai")
    family = criteria_set(Title.FAMILY, validity_years=1, code="test-family-migration")
    one_year = Recognition(
        subject_type="household",
        subject_id=household.id,
        title="family",
        year=YEAR,
        commune_id=commune.id,
        status="recognised",
        criteria_set_id=family.id,
        valid_until=date(2025, 12, 31),
    )
    db.session.add(one_year)
    now = utcnow()
    db.session.add_all(
        [
            TargetState(commune_id=commune.id, year=2027, computed_at=now),
            TargetState(commune_id=commune.id, year=2028, computed_at=now),
        ]
    )
    db.session.flush()
    one_year_id = one_year.id

    _run("upgrade")
    assert db.session.get(Recognition, row.id).valid_until == date(2028, 12, 31)
    assert db.session.get(Recognition, one_year_id).valid_until == date(2025, 12, 31)
    # 2028 gains the recognition: its target values are to be recomputed; 2027 is unchanged.
    assert db.session.get(TargetState, (commune.id, 2028)).computed_at is None
    assert db.session.get(TargetState, (commune.id, 2027)).computed_at is not None

    _run("upgrade")  # twice: nothing moves further
    assert db.session.get(Recognition, row.id).valid_until == date(2028, 12, 31)

    _run("downgrade")
    assert db.session.get(Recognition, row.id).valid_until == date(2027, 12, 31)
    assert db.session.get(Recognition, one_year_id).valid_until == date(2025, 12, 31)


def test_tt24_art_5_4_the_explanation_of_a_later_year_says_the_title_is_still_held(unit_recognised, client):
    from tests.conftest import login

    school, unit_set, commune = unit_recognised["school"], unit_recognised["set"], unit_recognised["commune"]
    later = {year: eligibility(unit_set, school.id, commune.id, year, eligible=False) for year in (2027, 2028, 2029)}
    assert recognition.holding("organisation", school.id, "unit", 2028) == unit_recognised["row"]
    assert recognition.holding("organisation", school.id, "unit", 2029) is None
    leader = make_user(Role.COMMUNE_LEADER, commune, "val-reader@example.vn")
    db.session.commit()
    login(client, leader)
    for year in (2027, 2028):
        page = client.get(f"/titles/eligibility/{later[year].id}").get_data(as_text=True)
        assert 'id="held-by"' in page
        assert "31/12/2028" in page
        assert f"/titles/recognitions/{unit_recognised['row'].id}" in page
    assert 'id="held-by"' not in client.get(f"/titles/eligibility/{later[2029].id}").get_data(as_text=True)
