"""Pages say what a result rests on (issue 10, item 7; ADR 18): wherever a result is shown — the criteria-set page,
the eligibility list, the explanation, the recognition and its certificate, the targets dashboard and reports — a
result that rests on a provisional indicator names it with its clause. Where its values came from (a note for staff)
is on the criteria pages only: never on a certificate, a report or a page a family sees, and never a repository file
name."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from courses.models import LearningKind
from lms.auth.models import Role
from lms.extensions import db
from lms.targets import compute
from lms.titles import criteria, engine, recognition
from lms.titles.models import CriteriaSet, Eligibility
from tests.conftest import login, make_household, make_user, make_village, unit_by_code
from tests.targets.conftest import load_text, make_unit, plan_text
from tests.titles.test_engine import YEAR, assess, person, recognise_families, records

VILLAGE_SET = "qd-448-2015-c-village"


def _set_row(code: str) -> CriteriaSet:
    row = db.session.scalar(db.select(CriteriaSet).where(CriteriaSet.code == code, CriteriaSet.active.is_(True)))
    assert row is not None
    return row


def _v1_name() -> str:
    found = criteria.definition_of(_set_row(VILLAGE_SET)).indicator("v1")
    assert found is not None
    return found.name


def _v1_source() -> str:
    found = criteria.definition_of(_set_row(VILLAGE_SET)).indicator("v1")
    assert found is not None
    return found.source


@pytest.fixture
def village_world(app_ctx):
    """The shipped sets; a village of eight households, seven of them learning families (assessed, and recognised for
    the year: v1 counts the families holding the title, ADR 51), evaluated."""
    criteria.load_shipped_criteria()
    commune = unit_by_code("23293")
    village = make_village(commune, "PP-V1", "Thôn Tạm Thời")
    family = criteria.definition_of(_set_row("qd-448-2015-a-family"))
    for n in range(8):
        household = make_household(village, f"PP-H{n}")
        adult = person(village, f"Người Tạm {n}", household=household)
        records([adult.id], commune, kind=LearningKind.CLASS_COMPLETION)
        if n < 7:
            for indicator in family.indicators:
                if indicator.kind == "assessment":
                    assess("household", household.id, indicator.code, 10, commune)
            recognise_families([household.id], commune)
    assess("village", village.id, "v2", 1, commune)
    assess("village", village.id, "v3", 1, commune)
    engine.evaluate_commune(commune.id, YEAR)
    leader = make_user(Role.COMMUNE_LEADER, commune, "pp-leader@example.vn")
    db.session.commit()
    row = db.session.scalar(
        db.select(Eligibility).where(Eligibility.subject_id == village.id, Eligibility.title == "village_community")
    )
    assert row is not None
    return {"commune": commune, "village": village, "leader": leader, "row": row}


def test_the_criteria_set_page_lists_each_indicator_with_its_clause_flag_and_source(client, village_world):
    login(client, village_world["leader"])
    page = client.get(f"/titles/criteria/{VILLAGE_SET}").get_data(as_text=True)
    definition = criteria.definition_of(_set_row(VILLAGE_SET))
    for indicator in definition.indicators:
        assert f'data-code="{indicator.code}" data-provisional="yes"' in page
        assert indicator.source_ref in page
        assert indicator.source in page  # Vietnamese by default
    assert 'id="criteria-provisional"' in page
    family_page = client.get("/titles/criteria/qd-448-2015-a-family").get_data(as_text=True)
    assert "chọn cho bản trình diễn" in family_page  # staff keep the full basis …
    assert "DOMAIN.md" not in family_page  # … without a repository file name
    official = client.get("/titles/criteria/tt-24-2023-unit").get_data(as_text=True)
    assert 'data-provisional="yes"' not in official
    assert "TT 24/2023/TT-BGDĐT, Điều 6 khoản 2 điểm a" in official
    index = client.get("/titles/criteria").get_data(as_text=True)
    assert f'href="/titles/criteria/{VILLAGE_SET}"' in index
    assert client.get("/titles/criteria/no-such-set").status_code == 404


def test_the_explanation_names_the_provisional_indicators_and_links_the_criteria(client, village_world):
    login(client, village_world["leader"])
    row = village_world["row"]
    page = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    assert 'id="provisional-basis"' in page
    for code in ("v1", "v2", "v3", "v4"):
        assert f'class="provisional-indicator" data-code="{code}"' in page
    assert "4 tiêu chí tạm thời" in page  # a count, not the bare codes "v1, v2, v3, v4"
    assert "v1, v2" not in page
    assert _v1_source() not in page  # the basis is for the criteria page
    assert f'href="/titles/criteria/{VILLAGE_SET}?version=' in page
    assert "QĐ 448/QĐ-KHVN, phần C, tiêu chí 1" in page  # each indicator's clause


def test_the_eligibility_list_says_its_results_rest_on_provisional_indicators(client, village_world):
    login(client, village_world["leader"])
    url = f"/titles/eligibility?unit_id={village_world['commune'].id}&title=village_community&year={YEAR}"
    page = client.get(url).get_data(as_text=True)
    assert 'id="provisional-basis"' in page
    assert f'data-code="{VILLAGE_SET}"' in page
    assert _v1_name() in page
    assert _v1_source() not in page
    assert f'href="/titles/criteria/{VILLAGE_SET}"' in page


def test_the_recognition_page_and_certificate_carry_the_provisional_criteria(client, village_world):
    leader = village_world["leader"]
    village = village_world["village"]
    ids = recognition.propose(title="village_community", year=YEAR, subject_ids=[village.id], user=leader)
    (row,) = recognition.decide(ids, decision_number="9/QĐ-UBND", decision_date=date(2026, 1, 20), user=leader)
    db.session.commit()
    login(client, leader)
    page = client.get(f"/titles/recognitions/{row.id}").get_data(as_text=True)
    assert 'id="provisional-basis"' in page
    assert _v1_name() in page
    assert _v1_source() not in page
    content = client.get(f"/titles/recognitions/{row.id}/certificate.pdf").get_data()
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(content)).pages]
    assert len(pages) >= 2
    assert "tiêu chí tạm thời" in pages[0]
    rest = " ".join(" ".join(pages[1:]).split())
    assert "TIÊU CHÍ TẠM THỜI" in rest
    assert "1. " + _v1_name() in rest
    assert "QĐ 448/QĐ-KHVN, phần C, tiêu chí 1 — tiêu chí tạm thời" in rest  # each criterion's clause and mark
    assert " ".join(_v1_source().split())[:30] not in rest  # no internal note on a document handed out
    assert "Nguồn" not in rest
    # The public page the QR code opens says it too (no link: the criteria pages need a login).
    public = client.get(f"/titles/verify/{row.certificate_code}").get_data(as_text=True)
    assert 'id="provisional-basis"' in public
    assert _v1_name() in public
    assert _v1_source() not in public
    assert "/titles/criteria/" not in public


def test_the_targets_dashboard_and_reports_name_the_provisional_criteria_of_a_title(client, app_ctx):
    criteria.load_shipped_criteria()
    from lms.registry.services import country

    province = make_unit(country(), "PP99", "Tỉnh Tạm Thời", "province")
    commune = make_unit(province, "PPC1", "Xã Tạm Thời", "commune")
    village = make_village(commune, "PPC1-V", "Thôn 1")
    make_household(village, "PPC1-H1", "Người Một")
    load_text(
        plan_text(
            "province",
            "PP99",
            """
[[indicators]]
code = "family"
name = "Gia đình học tập"
denominator_text = "all households"
denominator = { subject = "household" }
numerator = { title = "family" }
targets = [{ year = 2025, share = 80 }]

[[indicators]]
code = "unit"
name = "Đơn vị học tập"
denominator_text = "all organisations"
denominator = { subject = "organisation" }
numerator = { title = "unit" }
targets = [{ year = 2025, share = 80 }]
""",
        )
    )
    compute.recompute([commune.id], 2025, today=date(2026, 1, 10))
    leader = make_user(Role.COMMUNE_LEADER, commune, "pp-targets@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/targets/units/{commune.id}?period=2025-12-31").get_data(as_text=True)
    assert 'id="provisional-family"' in page
    family = criteria.definition_of(_set_row("qd-448-2015-a-family"))
    assert family.indicators[0].name in page
    assert family.indicators[0].source not in page
    assert "a1, a2" not in page  # the count and the names, not the bare codes
    # The unit title: Decision 448 part D (commune-managed units) is provisional, Circular 24 is not.
    assert 'id="provisional-unit"' in page
    assert 'data-code="qd-448-2015-d-unit"' in page
    assert 'data-code="tt-24-2023-unit"' not in page

    pdf = client.get(f"/targets/units/{commune.id}/report.pdf").get_data()
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Tiêu chí tạm thời" in text
    a5 = family.indicators[4]
    # One row per criteria set: the part of the text every criterion comes from named once, each criterion by name
    # and the rest of its clause.
    source, clause = a5.source_ref.split(", ", 2)[:2], a5.source_ref.split(", ", 2)[2]
    assert text.count(f"Căn cứ: {', '.join(source)}") == 1
    assert f"{a5.name} ({clause})" in text
    assert " ".join(a5.source.split())[:30] not in text
    assert "DOMAIN" not in text
    workbook = load_workbook(io.BytesIO(client.get(f"/targets/units/{commune.id}/report.xlsx").get_data()))
    sheet = workbook["Tiêu chí tạm thời"]
    assert [c.value for c in sheet[2]] == ["Chỉ tiêu", "Bộ tiêu chí", "Tiêu chí", "Căn cứ", "Ghi chú"]
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    # The plan indicator by its row number and name, not its code ("family"); each criterion by name and clause.
    assert ("(1) Gia đình học tập", a5.name, a5.source_ref, "Tiêu chí tạm thời") in {
        (r[0], r[2], r[3], r[4]) for r in rows
    }
    assert not {r[0] for r in rows} & {"family", "unit"}
    # The criteria set's version in words, as on the pages ("phiên bản 1"), not "(v1)".
    sets = {r[1] for r in rows if r[0] == "(1) Gia đình học tập"}
    assert len(sets) == 1
    assert re.fullmatch(r".+, phiên bản \d+", sets.pop())
    assert all(a5.source not in r for r in rows)


def test_the_criteria_page_says_at_which_level_and_of_which_organisations_an_indicator_is_asked(client, village_world):
    """Circular 24, Art. 7.3.c: the level-2 award is asked of "Đơn vị cấp huyện là cơ quan, đơn vị sự nghiệp công
    lập" (and of every province-level unit, Art. 13.3.c); Art. 6.1.b: public kindergartens also support private
    pre-schools' teachers. The evaluator reads it on the criteria page, in Vietnamese: the level, the organisations,
    the others "not applicable", and the criteria file's note."""
    login(client, village_world["leader"])
    page = client.get("/titles/criteria/tt-24-2023-unit").get_data(as_text=True)
    t33b = page.split('data-code="t3.3b"', 1)[1].split("</li>", 1)[0]
    assert "Áp dụng ở" in t33b
    assert "mức độ 2" in t33b.lower()
    assert "Áp dụng cho" in t33b
    assert "Tỉnh" in t33b
    assert "Cơ quan nhà nước" in t33b
    assert "Doanh nghiệp" not in t33b.split("Áp dụng cho", 1)[1].split("Ghi chú", 1)[0]
    assert "không áp dụng, tính là đạt" in t33b
    t12 = page.split('data-code="t1.2"', 1)[1].split("</li>", 1)[0]
    assert "mầm non dân lập, tư thục" in t12
    t21 = page.split('data-code="t2.1"', 1)[1].split("</li>", 1)[0]
    assert "Áp dụng ở" not in t21  # every level …
    assert "Áp dụng cho" not in t21  # … every organisation


def test_two_indicators_counting_one_title_share_its_provisional_criteria_in_the_report(client, app_ctx):
    """Households recognised of all and of those registered both rest on the family set: each of its provisional
    criteria is one row naming both indicators, not the set's criteria twice (a commune's annual report ran to
    eleven pages, eight of them this list)."""
    criteria.load_shipped_criteria()
    from lms.registry.services import country

    province = make_unit(country(), "PP98", "Tỉnh Hai Chỉ Tiêu", "province")
    commune = make_unit(province, "PPC2", "Xã Hai Chỉ Tiêu", "commune")
    village = make_village(commune, "PPC2-V", "Thôn 1")
    make_household(village, "PPC2-H1", "Người Một")
    load_text(
        plan_text(
            "province",
            "PP98",
            """
[[indicators]]
code = "family"
name = "Gia đình học tập"
denominator_text = "all households"
denominator = { subject = "household" }
numerator = { title = "family" }
targets = [{ year = 2025, share = 80 }]

[[indicators]]
code = "family_registered"
name = "Gia đình học tập trên số hộ đăng ký"
denominator_text = "registered households"
denominator = { subject = "household" }
numerator = { title = "family" }
targets = [{ year = 2025, share = 80 }]
""",
        )
    )
    compute.recompute([commune.id], 2025, today=date(2026, 1, 10))
    leader = make_user(Role.COMMUNE_LEADER, commune, "pp-two@example.vn")
    db.session.commit()
    login(client, leader)
    family = criteria.definition_of(_set_row("qd-448-2015-a-family"))
    a5 = family.indicators[4]
    workbook = load_workbook(io.BytesIO(client.get(f"/targets/units/{commune.id}/report.xlsx").get_data()))
    rows = list(workbook["Tiêu chí tạm thời"].iter_rows(min_row=3, values_only=True))
    assert [r[0] for r in rows if r[2] == a5.name] == ["(1) Gia đình học tập; (2) Gia đình học tập trên số hộ đăng ký"]
    assert len({r[2] for r in rows}) == len(rows)  # each criterion once
    pdf = client.get(f"/targets/units/{commune.id}/report.pdf").get_data()
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    clause = a5.source_ref.split(", ", 2)[2]  # after "QĐ 448/QĐ-KHVN, phần A", named once for the set
    assert text.count(f"{a5.name} ({clause})") == 1
    assert text.count("Căn cứ: QĐ 448/QĐ-KHVN, phần A") == 1
    assert "(1), (2)" in text  # both indicators, by their numbers in the table above
