"""Plan 1514's policy-study indicator counts the study "trong giai đoạn", as the plan words it (sources/
kon-tum-plan-1514-2022.txt): by 2025, "100% cán bộ và hội viên của Hội Khuyến học các cấp được học tập quán triệt
các chủ trương … giai đoạn 2021 - 2025"; by 2030, "… giai đoạn 2026 - 2030". A member who studied in 2022 has studied
in the phase 2021–2025 when 2024 or 2025 is measured; from 2026 a new phase begins. The dashboard says the period."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from courses import services as courses
from courses.reports import PLAN_POLICY_STUDY
from courses.services import Mark
from lms.auth.models import Role
from lms.extensions import db
from lms.targets import compute
from lms.targets.models import Plan
from lms.targets.plans import PlanError, load_plans, parse_plan
from tests.conftest import login, make_user, make_village, unit_by_code
from tests.courses.conftest import make_centre, make_class
from tests.targets.conftest import TODAY, households, value
from tests.targets.test_compute import _membership, _record


@pytest.fixture
def kon_tum(app_ctx):
    """A current Kon Tum commune with five association members: one studied in 2020 (before the phase), one in 2022
    (a learning record), one in 2023 (attended a held session of a policy-study class), one in 2026, one never."""
    load_plans()
    commune = unit_by_code("23293")
    village = make_village(commune, "V-PH", "Thôn Giai Đoạn")
    (household,) = households(village, 1, members=5)
    before, early, attended, late, _never = household.members
    for person in household.members:
        _membership(person, commune, "member", started=date(2019, 1, 1))
    _record(before, commune, "policy_study", 2020)
    _record(early, commune, "policy_study", 2022)
    _record(late, commune, "policy_study", 2026)
    centre = make_centre(learners=1, label="PH")
    centre.course.category = "policy_study"
    course_class = make_class(centre, starts_on=date(2023, 4, 1), ends_on=date(2023, 4, 30), name="Quán triệt 2023")
    (session,) = courses.schedule(course_class, [(datetime(2023, 4, 10, 8), datetime(2023, 4, 10, 10))])
    courses.enrol(course_class, [attended.id])
    courses.record_attendance(session, [Mark(attended.id, "present", datetime(2023, 4, 10, 1))], user_id=None)
    db.session.flush()
    return commune


def test_the_policy_study_counts_the_phase_from_its_first_year_to_the_measured_year(kon_tum):
    for year in (2024, 2025, 2026):
        compute.recompute([kon_tum.id], year, today=TODAY)
    # 2024 and 2025 are in the phase 2021–2025: the 2022 and 2023 studies count (not 2020's, before it; not 2026's).
    assert value(kon_tum, "policy_study", year=2024) == (2, 5)
    assert value(kon_tum, "policy_study", year=2025) == (2, 5)
    # 2026 begins the phase 2026–2030: only what was studied since.
    assert value(kon_tum, "policy_study", year=2026) == (1, 5)


def test_the_dashboard_says_the_period_the_figure_covers(client, kon_tum):
    compute.recompute([kon_tum.id], 2025, today=TODAY)
    plan = db.session.scalar(db.select(Plan).where(Plan.code == "kon-tum-1514-2022", Plan.active.is_(True)))
    assert plan is not None
    leader = make_user(Role.COMMUNE_LEADER, kon_tum, "leader-phase@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/targets/units/{kon_tum.id}?plan={plan.id}&period=2025-12-31").get_data(as_text=True)
    label = html[html.index('id="period-policy_study"') :]
    assert "Tính theo giai đoạn 2021–2025: từ năm 2021 đến năm 2025" in label[: label.index("</p>")]
    assert 'id="period-family"' not in html  # an indicator of the year says no phase


def test_phases_belong_to_the_policy_study_figure_and_do_not_overlap():
    head = 'code = "p"\nname = "P"\nsource = "S"\nunit = { level = "country", code = "VN" }\n[[indicators]]\n'
    body = 'code = "i"\nname = "I"\ndenominator_text = "D"\ntargets = [{ year = 2025, share = 100 }]\n'
    members = 'denominator = { subject = "person", it_skills = "members" }\n'
    with pytest.raises(PlanError) as overlap:
        parse_plan(
            head
            + body
            + members
            + 'numerator = { it_skills = "studied_policy", phases = [[2021, 2025], [2025, 2030]] }\n'
        )
    assert "overlap" in str(overlap.value)
    with pytest.raises(PlanError) as other:
        parse_plan(
            head
            + body
            + 'denominator = { subject = "household" }\nnumerator = { title = "family", phases = [[2021, 2025]] }\n'
        )
    assert "phases" in str(other.value)


def test_a_study_entered_late_makes_the_later_years_of_its_phase_stale(kon_tum):
    """A figure counted over the phase moves in every later year of the phase when an earlier year's study is entered
    (a paper list of 2024 typed in 2026): the sweep must recount 2025 — the phase's target year — and not only 2024,
    which is all the learning records' mark names."""
    from datetime import timedelta

    from sqlalchemy import select

    from lms.registry.models import AdminUnit, Person
    from lms.targets.models import TargetState
    from lms.titles.models import EvaluationState
    from tests.targets.test_compute import _record

    compute.recompute([kon_tum.id], 2025, today=TODAY)
    assert value(kon_tum, "policy_study", year=2025) == (2, 5)
    computed = db.session.get(TargetState, (kon_tum.id, 2025)).computed_at
    assert (kon_tum.id, 2025) not in compute.stale_pairs(today=TODAY)
    never = db.session.scalar(  # the fixture's member who never studied
        select(Person)
        .join(AdminUnit, AdminUnit.id == Person.unit_id)
        .where(AdminUnit.code == "V-PH", Person.full_name == "Người 0-4")
    )
    _record(never, kon_tum, "policy_study", 2024)
    state = db.session.get(EvaluationState, (kon_tum.id, 2024))
    if state is None:
        state = EvaluationState(commune_id=kon_tum.id, year=2024, summary={})
        db.session.add(state)
    state.marked_at = computed + timedelta(seconds=1)  # as the record's writer marks the commune-year 2024
    db.session.flush()
    assert (kon_tum.id, 2025) in compute.stale_pairs(today=TODAY)
    compute.recompute([kon_tum.id], 2025, today=TODAY)
    assert value(kon_tum, "policy_study", year=2025) == (3, 5)


def _dashboard_figures(html: str, code: str) -> tuple[str, str]:
    card = html[html.index(f'id="indicator-{code}"') :]
    card = card[: card.index("</section>")]
    numerator = card[card.index("Tử số") :]
    denominator = card[card.index("Mẫu số") :]
    cell = lambda part: part[part.index('<td class="text-end">') + 21 : part.index("</td>")]  # noqa: E731
    return cell(numerator), cell(denominator)


def _it_page_figures(html: str) -> tuple[str, str]:
    card = html[html.index('data-figure="policy"') :]
    part = lambda name: card[card.index(f'data-part="{name}">') :].split(">", 1)[1].split("<", 1)[0]  # noqa: E731
    return part("numerator"), part("denominator")


def test_the_it_skills_page_and_the_dashboard_show_one_policy_study_figure(client, kon_tum):
    """One definition of the figure (``courses.it_skills.policy_students`` over ``policy_study_window``): the IT-skills
    page of a commune for a year shows the plan's number of the targets dashboard for that commune and year, phase
    and all — not only in a phase's first year — and says the period it covers."""
    plan = db.session.scalar(db.select(Plan).where(Plan.code == "kon-tum-1514-2022", Plan.active.is_(True)))
    assert plan is not None
    leader = make_user(Role.COMMUNE_LEADER, kon_tum, "leader-phase-it@example.vn")
    for year in (2024, 2025, 2026):
        compute.recompute([kon_tum.id], year, today=TODAY)
    db.session.commit()
    login(client, leader)
    # (The commune was created on 1 July 2025: its IT-skills page has no figure of its own before that year.)
    expected = {2025: ("2", "5"), 2026: ("1", "5")}
    for year, figures in expected.items():
        dashboard = client.get(f"/targets/units/{kon_tum.id}?plan={plan.id}&period={year}-12-31")
        assert dashboard.status_code == 200
        page = client.get(f"/courses/it/units/{kon_tum.id}?from={year}-01-01&to={year}-12-31")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert _dashboard_figures(dashboard.get_data(as_text=True), "policy_study") == figures, year
        assert _it_page_figures(html) == figures, year
        first = 2021 if year <= 2025 else 2026
        said = html[html.index('id="policy-period"') :]
        period = f"giai đoạn {first}–{first + 4}: tính từ năm {first} đến năm {year}"
        assert "Tính theo " + period.replace(": tính ", ": ") in said[: said.index("</div>")]
        # The page's xlsx counts and says the same.
        xlsx = client.get(f"/courses/it/units/{kon_tum.id}.xlsx?from={year}-01-01&to={year}-12-31")
        summary = load_workbook(io.BytesIO(xlsx.data))["Chỉ tiêu"]
        rows = {row[0]: row[1:3] for row in summary.iter_rows(values_only=True) if row[0]}
        label = f"{PLAN_POLICY_STUDY} ({period})"
        assert tuple(str(n) for n in rows[label]) == figures


def test_the_year_by_year_sheet_and_table_say_the_span_of_each_year_of_a_phased_figure(client, kon_tum):
    """The reviews' "Theo năm" sheet (xlsx) and "Kết quả theo năm" table (PDF) list a figure per year; for the
    policy study each year covers its own span (2024: 2021–2024, 2026: 2026 alone), so they say it, as the dashboard
    says it under the indicator's name."""
    from pypdf import PdfReader

    for year in (2024, 2025, 2026):
        compute.recompute([kon_tum.id], year, today=TODAY)
    plan = db.session.scalar(db.select(Plan).where(Plan.code == "kon-tum-1514-2022", Plan.active.is_(True)))
    assert plan is not None
    leader = make_user(Role.COMMUNE_LEADER, kon_tum, "leader-phase-review@example.vn")
    db.session.commit()
    login(client, leader)
    base = f"/targets/units/{kon_tum.id}/report"
    query = f"?report=review2030&plan={plan.id}&kind=year&period=2026-12-31"
    book = load_workbook(io.BytesIO(client.get(f"{base}.xlsx{query}").data))
    legend = {row[0]: row[1] for row in book["Theo năm"].iter_rows(values_only=True) if str(row[0]).startswith("(")}
    words = "tính theo giai đoạn, năm 2024–2025: tính từ năm 2021 (giai đoạn 2021–2025); năm 2026: tính từ năm 2026"
    assert any(words in name for name in legend.values())
    assert sum(1 for name in legend.values() if "giai đoạn" in name) == 1  # the indicators of the year say nothing
    pdf = client.get(f"{base}.pdf{query}")
    text = " ".join(" ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert words in text


def test_a_province_page_counts_each_commune_as_its_own_plan_says(client, kon_tum):
    """Quảng Ngãi holds communes that succeeded Kon Tum's (Plan 1514: the study counted over the phase) and others
    (Decision 387: the year alone). Its IT-skills page counts each commune as its plan does, and says so."""
    other = unit_by_code("21025")  # Cẩm Thành: Decision 387
    village = make_village(other, "V-PH2", "Thôn Năm")
    (household,) = households(village, 1, members=2)
    earlier, this_year = household.members
    for person in household.members:
        _membership(person, other, "member", started=date(2019, 1, 1))
    _record(earlier, other, "policy_study", 2024)
    _record(this_year, other, "policy_study", 2025)
    province = kon_tum.parent
    leader = make_user(Role.PROVINCE_LEADER, province, "province-phase@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/courses/it/units/{province.id}?from=2025-01-01&to=2025-12-31").get_data(as_text=True)

    def cell(commune) -> str:
        row = html[html.index(f'data-commune="{commune.id}"') :]
        row = row[row.index('data-col="policy">') + len('data-col="policy">') :]
        return " ".join(row[: row.index("</td>")].split())

    assert cell(kon_tum).startswith("2 / 5 <span")  # 2022 and 2023 count in 2025: the phase 2021–2025
    assert "(2021–2025)" in cell(kon_tum)
    assert cell(other) == "1 / 2"  # 2024's study does not count for 2025
    said = html[html.index('id="policy-period"') :]
    assert "Kế hoạch của một số xã tính việc học tập theo giai đoạn" in said[: said.index("</div>")]


def test_the_figures_api_says_the_period_the_policy_study_covers_and_the_document_declares_it(client, kon_tum):
    """The API's values carry what the dashboard says beside the figure: Plan 1514's policy study for 2024 counts
    from 1 January 2021 (the phase 2021–2025) to 31 December 2024; a figure of the year alone says nothing more. The
    OpenAPI document declares the field, so the contract test holds the answer to it."""
    from lms.auth.models import ApiToken

    compute.recompute([kon_tum.id], 2024, today=TODAY)
    leader = make_user(Role.COMMUNE_LEADER, kon_tum, "leader-phase-api@example.vn")
    _, secret = ApiToken.issue(leader, "test")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    answer = client.get(
        f"/api/v1/targets/values?unit={kon_tum.id}&period=2024&plan=kon-tum-1514-2022", headers=headers
    ).get_json()
    by_code = {item["indicator"]: item for item in answer["items"]}
    assert by_code["policy_study"]["counted_over"] == {
        "phase_first": 2021,
        "phase_last": 2025,
        "first_day": "2021-01-01",
        "last_day": "2024-12-31",
    }
    assert by_code["family"]["counted_over"] is None
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    (value_out,) = [s for name, s in schemas.items() if name.split(".")[-1] == "ValueOut"]
    assert "counted_over" in value_out["properties"]
    (counted,) = [s for name, s in schemas.items() if name.split(".")[-1] == "CountedOverOut"]
    assert set(counted["properties"]) == {"phase_first", "phase_last", "first_day", "last_day"}
