"""Periods the texts count "kể từ ngày" an event, read as the Civil Code 2015 counts them (ADR 59).

Civil Code 2015, Art. 147.2: "Khi thời hạn được xác định bằng ngày, tuần, tháng, năm thì ngày đầu tiên của thời hạn
không được tính mà tính từ ngày tiếp theo liền kề ngày được xác định." Art. 148.3: "Khi thời hạn tính bằng tháng thì
thời hạn kết thúc tại thời điểm kết thúc ngày tương ứng của tháng cuối cùng của thời hạn; nếu tháng kết thúc thời hạn
không có ngày tương ứng thì thời hạn kết thúc vào ngày cuối cùng của tháng đó."
"""

from __future__ import annotations

from datetime import date

import pytest

from lms.titles.deadlines import first_day_after, first_request_year, period_end


@pytest.mark.parametrize(
    ("decided", "end", "allowed"),
    [
        (date(2025, 1, 14), date(2026, 1, 14), date(2026, 1, 15)),
        (date(2025, 1, 15), date(2026, 1, 15), date(2026, 1, 16)),
        (date(2025, 1, 16), date(2026, 1, 16), date(2026, 1, 17)),
        (date(2024, 2, 29), date(2025, 2, 28), date(2025, 3, 1)),  # no 29/02 in 2025: its last day
        (date(2025, 1, 31), date(2026, 1, 31), date(2026, 2, 1)),
        (date(2025, 12, 31), date(2026, 12, 31), date(2027, 1, 1)),
    ],
)
def test_tt24_art5_3_twelve_months_from_the_decision(decided: date, end: date, allowed: date) -> None:
    """Circular 24/2023, Art. 5.3 and 11.3: "Đơn vị … được công nhận mức độ 1 sau ít nhất 1 năm (12 tháng) kể từ ngày ra
    quyết định công nhận có thể đề nghị đánh giá, công nhận nâng mức độ 2". The decision's day is not counted, the
    12 months end at the end of the corresponding day, and the request may be made from the day after: a decision of
    15/01/2025 from 16/01/2026, not from the anniversary."""
    assert period_end(decided, 12) == end
    assert first_day_after(decided, 12) == allowed


@pytest.mark.parametrize(
    ("event", "months", "end"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),  # February has no 31st: its last day
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # a leap year's February
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 12, 15), 1, date(2026, 1, 15)),  # across the year
        (date(2025, 1, 15), 36, date(2028, 1, 15)),
        (date(2025, 5, 20), 0, date(2025, 5, 20)),
    ],
)
def test_civil_code_art_148_3_a_period_in_months_ends_on_the_corresponding_day_or_the_months_last(
    event: date, months: int, end: date
) -> None:
    """Civil Code 2015, Art. 148.3: "nếu tháng kết thúc thời hạn không có ngày tương ứng thì thời hạn kết thúc vào ngày
    cuối cùng của tháng đó"."""
    assert period_end(event, months) == end


def test_a_negative_period_is_refused() -> None:
    with pytest.raises(ValueError, match="-1"):
        period_end(date(2025, 1, 1), -1)


@pytest.mark.parametrize(
    ("allowed", "year"),
    [
        (date(2026, 1, 13), 2025),
        (date(2026, 1, 14), 2025),  # the last day of the dossier for 2025: "trước ngày 15 tháng 1"
        (date(2026, 1, 15), 2026),  # a day too late for 2025: the dossier for 2026, due before 15/01/2027
        (date(2026, 3, 1), 2026),
        (date(2025, 12, 31), 2025),
    ],
)
def test_tt24_art10_1c_the_first_evaluated_year_whose_dossier_may_ask(allowed: date, year: int) -> None:
    """Circular 24/2023, Art. 10.1.c (16.1.c): the dossier goes in "trước ngày 15 tháng 1 của năm liền kề sau năm đánh
    giá", 14 January at the latest: a request allowed from 15 January is for the year that has just begun."""
    assert first_request_year(allowed, (1, 14)) == year


@pytest.mark.parametrize(
    ("decided", "allowed", "year", "before"),
    [
        # Allowed from 15/01/2025, a day too late for the dossier of 2024 (before 15/01/2025): the one of 2025.
        (date(2024, 1, 14), "15/01/2025", 2025, "15/01/2026"),
        # Allowed from 14/01/2025, the last day of the dossier of 2024.
        (date(2024, 1, 13), "14/01/2025", 2024, "15/01/2025"),
        (date(2024, 2, 29), "01/03/2025", 2025, "15/01/2026"),
    ],
)
def test_tt24_art5_3_the_recognition_page_says_from_when_and_in_which_dossier_level_2_may_be_asked_for(
    app_ctx, client, decided: date, allowed: str, year: int, before: str
) -> None:
    """Circular 24/2023, Art. 5.3 / 11.3 ("sau ít nhất 1 năm (12 tháng) kể từ ngày ra quyết định công nhận") and Art.
    10.1.c / 16.1.c (the dossier "trước ngày 15 tháng 1 của năm liền kề sau năm đánh giá"), the 12 months counted as
    the Civil Code 2015 counts a period (Art. 147-148, ADR 59): the page of a level-1 Learning Unit says, in
    Vietnamese, the first day level 2 may be asked for and the first year whose dossier may ask for it; a level-2
    recognition says nothing of it."""
    from sqlalchemy import select

    from lms.auth.models import Role
    from lms.core.pdf import new_code
    from lms.extensions import db
    from lms.registry.models import Organisation
    from lms.titles import criteria, recognition
    from lms.titles.models import CriteriaSet, Recognition, RecognitionStatus
    from tests.conftest import login, make_user, unit_by_code

    criteria.load_shipped_criteria()
    commune = unit_by_code("23293")
    unit_set = db.session.scalar(
        select(CriteriaSet).where(CriteriaSet.code == "tt-24-2023-unit", CriteriaSet.active.is_(True))
    )
    school = Organisation(
        commune_id=commune.id, code="PER-S1", name="Trường THCS Kỳ Hạn", kind="school", managing_level="province"
    )
    db.session.add(school)
    db.session.flush()
    rows = []
    for level, evaluated in ((1, decided.year - 1), (2, decided.year - 5)):  # a level 2 of long ago, lapsed
        row = Recognition(
            subject_type="organisation",
            subject_id=school.id,
            title="unit",
            year=evaluated,
            level=level,
            commune_id=commune.id,
            criteria_set_id=unit_set.id,
            status=RecognitionStatus.RECOGNISED.value,
            decision_number=f"{level}/QĐ-UBND",
            decision_date=decided if level == 1 else date(evaluated + 1, 2, 1),
            authority="Chủ tịch UBND tỉnh",
            valid_until=recognition.valid_until(evaluated, 3),
            certificate_code=new_code(),
        )
        db.session.add(row)
        rows.append(row)
    leader = make_user(Role.COMMUNE_LEADER, commune, "periods-leader@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/titles/recognitions/{rows[0].id}").get_data(as_text=True)
    assert "Nâng mức độ" in page
    assert (
        f"Được đề nghị công nhận nâng lên mức độ 2 từ ngày {allowed}, khi đã hết thời hạn 12 tháng kể từ ngày ra quyết "
        "định này (Bộ luật Dân sự 2015, Điều 147, 148;"
    ) in page
    assert f"sớm nhất là trong hồ sơ của năm đánh giá {year}, gửi trước ngày {before}." in page
    assert 'id="upgrade-window"' not in client.get(f"/titles/recognitions/{rows[1].id}").get_data(as_text=True)
    # Once raised, the level-1 page no longer says when level 2 may be asked for.
    rows[1].year = rows[0].year + 1
    db.session.commit()
    assert 'id="upgrade-window"' not in client.get(f"/titles/recognitions/{rows[0].id}").get_data(as_text=True)


def test_tt24_art5_3_the_eligibility_page_names_the_upgrade_wait_row(app_ctx, client) -> None:
    """Circular 24/2023, Art. 5.3 (level 2 "sau ít nhất 1 năm (12 tháng) kể từ ngày ra quyết định công nhận" mức độ 1)
    with Art. 10.1.c: the unit's page lists the wait as its own row, named for what it is ("Nâng mức độ"), with the
    reason in Vietnamese — not as "an indicator no longer in the criteria"."""
    from lms.auth.models import Role
    from lms.extensions import db
    from lms.titles import criteria, engine
    from lms.titles.models import Recognition, RecognitionStatus
    from tests.conftest import login, make_user, unit_by_code
    from tests.titles.test_engine import YEAR, eligibility
    from tests.titles.test_rules_circulars import unit_with

    criteria.load_shipped_criteria()
    commune = unit_by_code("23293")
    org = unit_with(commune)
    db.session.add(
        Recognition(
            subject_type="organisation",
            subject_id=org.id,
            title="unit",
            year=YEAR - 1,
            level=1,
            commune_id=commune.id,
            status=RecognitionStatus.RECOGNISED.value,
            decision_number="7/QĐ-UBND",
            decision_date=date(YEAR, 1, 14),
        )
    )
    db.session.flush()
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("organisation", org.id, "unit")
    assert row is not None
    assert row.level == 1
    leader = make_user(Role.COMMUNE_LEADER, commune, "periods-page@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    assert '<span class="fw-semibold">Nâng mức độ</span>' in page
    assert f"chỉ được đề nghị công nhận nâng lên mức độ 2 từ ngày 15/01/{YEAR + 1}" in page
    assert "không còn trong bộ tiêu chí" not in page


@pytest.mark.parametrize(
    ("level_1_decided", "level_2_decided", "warned"),
    [
        (date(2025, 1, 14), date(2026, 1, 14), "15/01/2026"),  # the 12 months end at the end of 14/01/2026
        (date(2025, 1, 14), date(2026, 1, 15), None),  # the first day after them
        (date(2024, 2, 29), date(2025, 2, 28), "01/03/2025"),  # no 29/02 in 2025: they end on 28/02
        (date(2024, 2, 29), date(2025, 3, 1), None),
    ],
)
def test_tt24_art5_3_a_level_2_decision_before_the_12_months_have_run_out_is_pointed_out(
    app_ctx, client, level_1_decided: date, level_2_decided: date, warned: str | None
) -> None:
    """Circular 24/2023, Art. 5.3 / 11.3: level 2 may be asked for "sau ít nhất 1 năm (12 tháng) kể từ ngày ra quyết
    định công nhận" mức độ 1, counted as the Civil Code 2015 counts a period (Art. 147-148, ADR 59). A level-2 decision
    dated before that day is shown to the approver with the level-1 decision's date and the first day the upgrade
    could be asked for, before it is recorded — never refused (a decision signed is recorded, ADR 44)."""
    from sqlalchemy import select

    from lms.auth.models import Role
    from lms.core.pdf import new_code
    from lms.extensions import db
    from lms.registry.models import Organisation
    from lms.titles import approvals, criteria, recognition
    from lms.titles.models import CriteriaSet, Recognition, RecognitionStatus
    from tests.conftest import csrf_token, login, make_user, unit_by_code

    criteria.load_shipped_criteria()
    commune = unit_by_code("23293")
    unit_set = db.session.scalar(
        select(CriteriaSet).where(CriteriaSet.code == "tt-24-2023-unit", CriteriaSet.active.is_(True))
    )
    school = Organisation(
        commune_id=commune.id, code="PER-S2", name="Trường THPT Kỳ Hạn", kind="school", managing_level="province"
    )
    db.session.add(school)
    db.session.flush()
    common = {
        "subject_type": "organisation",
        "subject_id": school.id,
        "title": "unit",
        "commune_id": commune.id,
        "criteria_set_id": unit_set.id,
    }
    level_1_year = level_1_decided.year - 1
    db.session.add(
        Recognition(
            **common,
            year=level_1_year,
            level=1,
            status=RecognitionStatus.RECOGNISED.value,
            decision_number="1/QĐ-UBND",
            decision_date=level_1_decided,
            authority="Chủ tịch UBND tỉnh",
            valid_until=recognition.valid_until(level_1_year, 3),
            certificate_code=new_code(),
        )
    )
    proposal = Recognition(**common, year=level_1_year + 1, level=2, status=RecognitionStatus.PROPOSED.value)
    db.session.add(proposal)
    _, province = approvals.places([commune.id])[commune.id]
    approver = make_user(Role.PROVINCE_LEADER, province, "periods-approver@example.vn")
    db.session.commit()
    login(client, approver)
    url = f"/titles/recognitions/decide?commune_id={commune.id}&year={proposal.year}&title=unit"
    preview = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "ids": [proposal.id],
            "action": "recognise",
            "decision_number": "9/QĐ-UBND",
            "decision_date": level_2_decided.isoformat(),
            "authority": "",
        },
    )
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert 'id="confirm-decision"' in text
    if not warned:
        assert 'id="confirm-early"' not in text
        return
    early = text[text.index('id="confirm-early"') :]
    assert (
        f"Quyết định ngày {level_2_decided:%d/%m/%Y} này công nhận nâng lên mức độ 2 khi chưa hết thời hạn 12 tháng"
        in early
    )
    assert (
        f"công nhận mức độ 1 ngày {level_1_decided:%d/%m/%Y}, chỉ được đề nghị nâng lên mức độ 2 từ ngày {warned}"
    ) in early


def test_tt24_art5_3_the_criteria_document_states_the_wait_as_the_engine_counts_it() -> None:
    """docs/criteria.md (Circular 24's section) says when level 2 may be asked for: Art. 5.3 / 11.3 read with the
    Civil Code 2015, Art. 147-148, and the last day of a year's request (Art. 10.1.c: "trước ngày 15 tháng 1")."""
    from lms.titles.criteria_doc import render

    unit = render().split("`tt-24-2023-unit`", 1)[1].split("\n## ", 1)[0]
    assert "Level 2 may be asked for only from the day after 12 months counted from the level-1 decision" in unit
    assert "decided 15/01/2025 → from 16/01/2026" in unit
    assert "by 14/01 of the next year at the latest" in unit
    commune = render().split("`tt-25-2023-commune`", 1)[1].split("\n## ", 1)[0]
    assert "may be asked for only" not in commune
