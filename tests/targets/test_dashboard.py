"""The leaders' dashboard: stored figures against targets, sub-units ranked by gap, the drill-down to households
not yet eligible — read from stored rows in a fixed number of statements."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import delete

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import AreaClass, Household, Person, UnitLevel
from lms.targets import reports
from lms.targets.models import Basis, IndicatorValue, Structure
from lms.titles.explain import describe_missing
from lms.titles.models import Eligibility
from tests.conftest import login, make_user
from tests.targets.dashboard_data import MISSING_ITEM, build_province, make_unit, pending_household, value


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_scope_table_reads_stored_figures_and_ranks_children(app_ctx):
    data = build_province(3)
    difficult = data.communes[2]
    difficult.area_class = AreaClass.ESPECIALLY_DIFFICULT.value
    db.session.flush()
    table = reports.scope_table(data.plan, data.province)
    assert table.period_end == date(2025, 12, 31)
    assert table.periods == [date(2025, 12, 31), date(2024, 12, 31)]
    assert table.milestone == 2025
    family = table.line("GD")
    assert family is not None
    assert family.share == Decimal(65)
    assert family.gap(2025) == Decimal(15)
    assert [p for p, _ in family.trend] == [date(2024, 12, 31), date(2025, 12, 31)]
    # Commune 1 (20 % against 80 %) is furthest behind, then commune 2 (70 % against 80 %); commune 3 has the
    # same 70 % but its area class's target is 60 %: ahead, so last.
    ranked = [(c.unit.code, c.share, c.target, c.gap) for c in family.children]
    assert ranked[0] == (data.communes[0].code, Decimal(20), Decimal(80), Decimal(60))
    assert (difficult.code, Decimal(70), Decimal(60), Decimal(-10)) == ranked[-1]
    assert ranked[1][0] == data.communes[1].code


def test_a_date_without_figures_shows_the_latest_period_stored_by_then(app_ctx):
    data = build_province(1)
    value(data.family, data.province, 1, 4, period_end=date(2025, 6, 30), kind="month")
    value(data.family, data.province, 3, 4, period_end=date(2025, 9, 30), kind="month")
    db.session.flush()
    table = reports.scope_table(data.plan, data.province, period_end=date(2025, 8, 15), period_kind="month")
    assert table.period_end == date(2025, 6, 30)
    assert table.line("GD").share == Decimal(25)  # type: ignore[union-attr]
    table = reports.scope_table(data.plan, data.province, period_end=date(2024, 12, 31), period_kind="month")
    assert table.period_end == date(2024, 12, 31)  # nothing stored by then: no data, not another period
    assert table.line("GD").figure is None  # type: ignore[union-attr]
    assert reports.scope_table(data.plan, data.province, period_end=date(2025, 12, 31)).period_end == date(2025, 12, 31)


def test_a_zero_denominator_is_no_data_and_ranks_last(app_ctx):
    data = build_province(2)
    extra = make_unit(data.province, "TPC99", "Xã Không Số Liệu", UnitLevel.COMMUNE)
    value(data.family, extra, 0, 0)
    db.session.flush()
    family = reports.scope_table(data.plan, data.province).line("GD")
    assert family is not None
    last = family.children[-1]
    assert last.unit.id == extra.id
    assert last.share is None
    assert last.gap is None


def test_the_unit_page_shows_figures_targets_charts_and_the_ranking(app, client):
    data = build_province(3)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    response = client.get(f"/targets/units/{data.province.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = _text(html)
    assert "Kế hoạch thử nghiệm" in text
    assert "65,0 %" in text  # the province's share, from 65·3 / 100·3 stored
    assert "Tổng số hộ gia đình" in text  # the denominator's definition beside the numbers
    assert html.count('class="chart-bullet"') == 2
    assert html.count('class="chart-sparkline"') == 2  # two stored years: a trend
    assert 'class="chart-ranked"' in html
    assert "<title>" in html
    ranking = html[html.index('id="ranking-table"') :]
    positions = [ranking.index(c.name) for c in data.communes]
    assert positions[0] == min(positions), "the lagging commune heads the ranking"
    assert f"/targets/units/{data.communes[0].id}?" in ranking
    # The gap to the target has its unit, as in the PDF: percentage points, not a bare "15,0".
    (gap,) = re.findall(r'<td class="text-end gap">([^<]*)</td>', html)[:1]
    # Kept on one line: the number, "điểm" and "%" joined by no-break spaces (a narrow column wrapped "82,0 điểm / %").
    assert re.fullmatch("\\d+,\\d\u00a0điểm\u00a0%", gap), gap
    assert "Còn thiếu (điểm %)" in ranking


def test_the_ranking_opens_on_an_indicator_with_figures_and_names_the_units_without_once(app, client):
    """A province where few communes have figures: they are ranked (chart and table), the rest named once under the
    table, each a link, not a row of dashes each; unasked, the ranking opens on the first indicator a sub-unit has a
    figure for (a commune's first indicator may be counted for the commune alone)."""
    data = build_province(2)
    quiet = [make_unit(data.province, f"TPQ{n}", f"Xã Chưa Dùng {n}", UnitLevel.COMMUNE) for n in range(1, 4)]
    # The plan's first indicator (GD) has no figure under any commune; only the second (CD) has.
    db.session.execute(delete(IndicatorValue).where(IndicatorValue.indicator_id == data.family.id))
    value(data.family, data.province, 0, 0)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader-ranking@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/targets/units/{data.province.id}").get_data(as_text=True)
    ranking = html[html.index('id="ranking"') :]
    assert "Người lao động đạt Công dân học tập" in _text(ranking[: ranking.index("</p>")])
    table = ranking[ranking.index('id="ranking-table"') : ranking.index("</table>")]
    assert all(c.name in table for c in data.communes)
    assert not any(q.name in table for q in quiet), "a unit without a figure is not a ranked row"
    chart = ranking[ranking.index('class="chart-ranked"') : ranking.index("</svg>")]
    assert not any(q.name in chart for q in quiet)
    assert "Chưa có số liệu" not in chart
    no_data = ranking[ranking.index('id="ranking-no-data"') :]
    no_data = no_data[: no_data.index("</p>")]
    assert "Chưa có số liệu của chỉ tiêu này (3 đơn vị):" in _text(no_data)
    for q in quiet:
        assert f'href="/targets/units/{q.id}?' in no_data
    # The card of an indicator no sub-unit has a figure for offers no ranking; the other's does.
    cards = {code: html[html.index(f'id="indicator-{code}"') :].split("</section>")[0] for code in ("GD", "CD")}
    assert "rank-link" not in cards["GD"]
    assert "rank-link" in cards["CD"]


RAW_TABLES = {"household", "person", "learning_record", "attendance", "eligibility"}


def _tables_read(statements: list[str]) -> set[str]:
    """The tables the statements name after FROM or JOIN (quoted or not)."""
    return {
        name.lower()
        for statement in statements
        for name in re.findall(r'\b(?:FROM|JOIN)\s+"?(\w+)"?', statement, flags=re.IGNORECASE)
    }


def test_the_page_aggregates_nothing_raw(app, client, count_queries):
    """The province and commune pages read only the stored figures: no statement touches households, people,
    learning records, attendance or eligibility (only the village drill-down lists eligibility). A commune with
    households but no stored values says "no data"."""
    data = build_province(1)
    commune = make_unit(data.province, "TPC77", "Xã Chưa Tính", UnitLevel.COMMUNE)
    village = make_unit(commune, "TPV77", "Thôn Chưa Tính", UnitLevel.VILLAGE)
    for number in range(5):
        db.session.add(Household(village_id=village.id, code=f"RAW-{number}"))
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    for unit in (data.province, data.communes[0], commune):
        with count_queries() as seen:
            response = client.get(f"/targets/units/{unit.id}")
        assert response.status_code == 200
        assert seen.statements  # the recorder saw the page's statements
        assert not _tables_read(seen.statements) & RAW_TABLES, unit.name
    html = response.get_data(as_text=True)
    assert "No figures have been computed yet" in html or "Chưa có số liệu" in _text(html)
    with count_queries() as seen:  # the recorder does see the drill-down's legitimate read
        assert client.get(f"/targets/units/{data.villages[0].id}").status_code == 200
    assert "eligibility" in _tables_read(seen.statements)


def test_the_village_page_lists_households_not_yet_eligible_with_the_reason(app, client):
    data = build_province(2)
    village = data.villages[0]
    eligible = pending_household(village, data.communes[0], "OK-1", "Người Đã Đạt")
    db.session.execute(
        db.update(Eligibility).where(Eligibility.subject_id == eligible.id).values(eligible=True, missing="")
    )
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/targets/units/{village.id}").get_data(as_text=True)
    pending = _text(html[html.index('id="pending"') :])
    assert "Chủ Hộ P 1 0" in pending
    assert "Chủ Hộ P 1 1" in pending
    assert "Người Đã Đạt" not in pending
    with app.test_request_context():  # the engine's sentence, in the page's (default) language
        sentence = describe_missing(MISSING_ITEM)
    assert sentence
    # The indicator is named as the criteria name it (never by its code, not even in a tooltip), then what it lacks.
    assert f"Trẻ em ngoan, lễ phép, có ý thức tự học: {sentence}" in pending
    assert 'title="A3"' not in html
    assert "A3:" not in pending
    assert "Trẻ em trong độ tuổi đi học" not in pending  # a satisfied indicator (A1) is not a reason
    # Another year has no evaluation: nothing listed.
    html = client.get(f"/targets/units/{village.id}?period=2024-12-31&plan={data.plan.id}").get_data(as_text=True)
    assert "Chủ Hộ P 1 0" not in html


def test_the_pending_households_are_named_in_the_readers_language(app, client):
    """The names "Hộ <head>" / "Hộ số <code>" went out untranslated: an English reader saw Vietnamese, and the
    catalogue had nothing to translate."""
    from tests.conftest import choose_language

    data = build_province(1, households_per_village=0)
    village = data.villages[0]
    pending_household(village, data.communes[0], "NH-1", "Y Nhung")
    bare = pending_household(village, data.communes[0], "NH-2", "Không Ai")
    db.session.execute(delete(Person).where(Person.household_id == bare.id))
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    pending = _text(client.get(f"/targets/units/{village.id}").get_data(as_text=True))
    assert "Hộ Y Nhung" in pending
    assert "Hộ số NH-2" in pending
    choose_language(client, "en", f"/targets/units/{village.id}")
    pending = _text(client.get(f"/targets/units/{village.id}").get_data(as_text=True))
    assert "Household of Y Nhung" in pending
    assert "Household no. NH-2" in pending
    assert "Hộ số" not in pending


@pytest.mark.usefixtures("client")  # makes app.test_client() an IsolatedClient
@pytest.mark.parametrize("level", ["province", "village"])
def test_statement_count_does_not_grow_with_the_scope(app, count_queries, level):
    """The same number of statements for a province of 2 communes and one of 20 (and for a village of 2 and of
    20 households): the page reads stored rows, it does not walk the units or the households."""
    counts = []
    for size, tag in ((2, "S"), (20, "L")):
        data = build_province(size, households_per_village=size, tag=tag)
        leader = make_user(Role.PROVINCE_LEADER, data.province, f"leader-{tag}@example.vn")
        db.session.commit()
        client = app.test_client()  # a fresh browser for each leader
        login(client, leader)
        url = f"/targets/units/{data.province.id}" if level == "province" else f"/targets/units/{data.villages[0].id}"
        client.get(url)  # warm: the login's own statements, caches
        with count_queries() as counter:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(counter.count)
    assert counts[0] == counts[1], counts
    # The page and its layout (user, roles, nav; at a village the criteria that name the indicators), not one per row
    assert counts[0] <= 21, counts


def test_structure_and_basis_choose_the_rows(app, client):
    data = build_province(1)
    value(data.family, data.province, 9, 10, basis=Basis.PROJECTION)
    value(data.family, data.province, 3, 10, structure=Structure.PRE_2025)
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    base = f"/targets/units/{data.province.id}?plan={data.plan.id}"
    projected = client.get(f"{base}&basis=projection").get_data(as_text=True)
    assert "90,0 %" in _text(projected)
    old_map = client.get(f"{base}&structure=pre2025").get_data(as_text=True)
    assert "30,0 %" in _text(old_map)

    # What is shown is said in words, not only in pickers whose labels a phone cuts ("Đã công nhận (c…").
    def shown(html: str) -> str:
        return _text(html[html.index('id="what-is-shown"') :].split("</span>")[0] + "</span>")

    assert shown(projected).endswith("Số liệu: Dự kiến (đủ điều kiện) · Địa giới: Địa giới hiện hành (từ 01/7/2025)")
    assert shown(old_map).endswith("Số liệu: Đã công nhận (chính thức) · Địa giới: Địa giới trước 01/7/2025")
    assert client.get(f"{base}&basis=guess").status_code == 400
    assert client.get(f"{base}&period=31-12-2025").status_code == 400


def test_the_nav_links_leaders_to_the_dashboard(app, client):
    data = build_province(1)
    leader = make_user(Role.COMMUNE_LEADER, data.communes[0], "commune@example.vn")
    db.session.commit()
    login(client, leader)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/targets/"' in home
    response = client.get("/targets/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/targets/units/{data.communes[0].id}")


def test_the_other_map_links_to_the_units_that_hold_its_figures(app, client):
    """A merged commune under the map before 2025 links to the communes it replaced, and back."""
    from lms.registry import services as registry
    from lms.registry.models import UnitLineage
    from tests.conftest import unit_by_code
    from tests.targets.dashboard_data import make_plan

    commune = unit_by_code("23293")
    plan = make_plan(registry.country())
    old_ids = set(db.session.scalars(db.select(UnitLineage.old_unit_id).where(UnitLineage.new_unit_id == commune.id)))
    assert old_ids
    old = db.session.get(reports.AdminUnit, sorted(old_ids)[0])
    assert old is not None
    leader = make_user(Role.COMMUNE_LEADER, commune, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/targets/units/{commune.id}?plan={plan.id}&structure=pre2025").get_data(as_text=True)
    links = html[html.index('id="other-map"') :]
    links = links[: links.index("</div>")]
    assert f"/targets/units/{old.id}?" in links
    assert len(re.findall(r"/targets/units/\d+\?", links)) == len(old_ids)
    back = client.get(f"/targets/units/{old.id}?plan={plan.id}&structure=current").get_data(as_text=True)
    assert f"/targets/units/{commune.id}?" in back[back.index('id="other-map"') :]
    assert 'id="other-map"' not in client.get(f"/targets/units/{commune.id}?plan={plan.id}").get_data(as_text=True)


def test_the_village_page_lists_persons_not_yet_learning_citizens(app, client):
    from lms.registry.models import Person
    from lms.titles.models import SubjectType, Title
    from tests.targets.dashboard_data import criteria_set

    data = build_province(1, households_per_village=0)
    village = data.villages[0]
    person = Person(full_name="Y Hằng", unit_id=village.id)
    db.session.add(person)
    db.session.flush()
    db.session.add(
        Eligibility(
            subject_type=SubjectType.PERSON,
            subject_id=person.id,
            title=Title.CITIZEN,
            year=2025,
            commune_id=data.communes[0].id,
            village_id=village.id,
            criteria_set_id=criteria_set(Title.CITIZEN, SubjectType.PERSON).id,
            eligible=False,
            score=Decimal(72),
            missing="|c1|c7|",
            breakdown=[],  # no breakdown: the codes are the reason
        )
    )
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/targets/units/{village.id}?title=citizen").get_data(as_text=True)
    pending = _text(html[html.index('id="pending-table"') :])
    assert "Y Hằng" in pending
    assert "Tham gia các hoạt động học tập trong năm" in pending  # C1, by its name
    assert "Tham gia tổ chức hoạt động tại trung tâm học tập cộng đồng, ở cộng đồng" in pending  # C7
    assert f'href="/registry/persons/{person.id}"' in html
    assert client.get(f"/targets/units/{village.id}?title=clan").status_code == 400


def test_the_other_map_names_a_province_before_its_districts(app, client):
    """The new Quảng Ngãi under the map before 2025 listed 'Huyện Kon Rẫy, Thành phố Kon Tum, Tỉnh Kon Tum, Huyện
    Ngọc Hồi…' — the former province among its own districts, by name alone (walk4's finding)."""
    from lms.registry import services as registry
    from lms.registry.models import AdminUnit
    from tests.conftest import unit_by_code
    from tests.targets.dashboard_data import make_plan

    province = unit_by_code("51", "province")
    plan = make_plan(registry.country())
    leader = make_user(Role.PROVINCE_LEADER, province, "tinh-map@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/targets/units/{province.id}?plan={plan.id}&structure=pre2025").get_data(as_text=True)
    links = html[html.index('id="other-map"') :]
    links = links[: links.index("</div>")]
    levels = [db.session.get(AdminUnit, int(i)).level for i in re.findall(r"/targets/units/(\d+)\?", links)]
    assert "province" in levels
    assert "district" in levels
    rank = {"province": 0, "district": 1, "commune": 2}
    assert [rank[level] for level in levels] == sorted(rank[level] for level in levels), levels
