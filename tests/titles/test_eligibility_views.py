"""Eligibility lists and the explanation page: scope, filters, counts, names in a few queries, explanations."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest

from courses.models import LearningRecord
from lms.auth.models import Role
from lms.core.models import EvidenceFile
from lms.extensions import db
from lms.registry.models import Organisation, OrganisationMember
from lms.titles import criteria, services
from lms.titles.models import Assessment
from tests.conftest import choose_language, login, make_household, make_user, make_village, unit_by_code
from tests.titles.elig_helpers import CITIZEN_TOML, citizen_criteria, eligibility, family_criteria


@pytest.fixture
def world(app_ctx):
    """Commune A with two villages and commune B, each person with a hand-written eligibility row."""
    commune_a, commune_b = unit_by_code("23293"), unit_by_code("23302")
    village_1 = make_village(commune_a, "ELV-1", "Thôn Một")
    village_2 = make_village(commune_a, "ELV-2", "Thôn Hai")
    village_b = make_village(commune_b, "ELV-B", "Thôn Bê")
    h1 = make_household(village_1, "H1", "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường")
    h2 = make_household(village_2, "H2", "Phạm Thị Dung")
    hb = make_household(village_b, "HB", "Võ Văn Bê")
    criteria = citizen_criteria()
    by_name = {p.full_name: p for p in h1.members}
    an, binh, cuong = by_name["Nguyễn Văn An"], by_name["Trần Thị Bình"], by_name["Lê Văn Cường"]
    dung, be = h2.members[0], hb.members[0]
    rows = {
        "an": eligibility(an, criteria, eligible=True, score=90),
        "binh": eligibility(binh, criteria, eligible=False, score=60, missing=("C_2",)),
        "cuong": eligibility(cuong, criteria, eligible=False, score=70, missing=("CX2", "C3")),
        "dung": eligibility(dung, criteria, eligible=False, score=50, missing=("C1",)),
        "be": eligibility(be, criteria, eligible=True, score=95),
    }
    db.session.commit()
    return {
        "commune_a": commune_a,
        "commune_b": commune_b,
        "village_1": village_1,
        "village_2": village_2,
        "h1": h1,
        "rows": rows,
        "criteria": criteria,
        "people": {"an": an, "binh": binh, "cuong": cuong, "dung": dung, "be": be},
    }


def _leader(world, client, role=Role.COMMUNE_LEADER):
    user = make_user(role, world["commune_a"])
    db.session.commit()
    login(client, user)
    return user


def _names(html: str, world) -> set[str]:
    """The subjects listed, by their own line: not a member's "household of Nguyễn Văn An" under it."""
    html = re.sub(r'<div class="small text-muted">[^<]*</div>', "", html)
    return {
        name
        for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Võ Văn Bê")
        if name in html
    }


def test_commune_list_shows_only_the_callers_commune_with_counts(world, client):
    _leader(world, client)
    html = client.get("/titles/eligibility").get_data(as_text=True)
    assert _names(html, world) == {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"}
    counts = html[html.index('id="status-counts"') : html.index("</div>", html.index('id="status-counts"'))]
    assert ">1</span>" in counts
    assert ">3</span>" in counts


def test_filters_status_missing_village(world, client):
    _leader(world, client)
    village_1 = world["village_1"].id
    eligible = client.get(f"/titles/eligibility?status=eligible&unit_id={village_1}").get_data(as_text=True)
    assert _names(eligible, world) == {"Nguyễn Văn An"}
    # "C_2" must not match "CX2": the underscore of a code is not a LIKE wildcard.
    missing = client.get("/titles/eligibility?missing=C_2").get_data(as_text=True)
    assert _names(missing, world) == {"Trần Thị Bình"}
    missing = client.get("/titles/eligibility?missing=CX2").get_data(as_text=True)
    assert _names(missing, world) == {"Lê Văn Cường"}
    village = client.get(f"/titles/eligibility?unit_id={world['village_2'].id}").get_data(as_text=True)
    assert _names(village, world) == {"Phạm Thị Dung"}
    assert client.get(f"/titles/eligibility?unit_id={world['commune_b'].id}").status_code == 404
    other_year = client.get("/titles/eligibility?year=2025").get_data(as_text=True)
    assert _names(other_year, world) == set()


def test_sort_by_name_and_by_score(world, client):
    _leader(world, client)
    by_name = client.get("/titles/eligibility").get_data(as_text=True)
    # Vietnamese lists sort by given name: An, Bình, Cường, Dung.
    positions = [by_name.index(n) for n in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung")]
    assert positions == sorted(positions)
    by_score = client.get("/titles/eligibility?sort=score").get_data(as_text=True)
    positions = [by_score.index(n) for n in ("Nguyễn Văn An", "Lê Văn Cường", "Trần Thị Bình", "Phạm Thị Dung")]
    assert positions == sorted(positions)


def test_organisation_list_is_its_members(world, client):
    organisation = Organisation(commune_id=world["commune_a"].id, code="ORG-EL", name="Trường Tiểu học Một")
    db.session.add(organisation)
    db.session.flush()
    db.session.add_all(
        [
            OrganisationMember(organisation_id=organisation.id, person_id=world["people"]["an"].id),
            OrganisationMember(
                organisation_id=organisation.id, person_id=world["people"]["dung"].id, ended_on=date(2025, 1, 1)
            ),
        ]
    )
    db.session.commit()
    _leader(world, client)
    html = client.get(f"/titles/eligibility?organisation_id={organisation.id}").get_data(as_text=True)
    assert "Trường Tiểu học Một" in html
    assert _names(html, world) == {"Nguyễn Văn An"}


def test_names_of_a_page_take_one_query_per_subject_type(world, app_ctx, count_queries):
    pairs = [(r.subject_type, r.subject_id) for r in world["rows"].values()]
    with count_queries() as few:
        services.subject_labels(pairs[:1])
    with count_queries() as many:
        labels = services.subject_labels(pairs)
    assert few.count == many.count == 1
    assert labels[("person", world["people"]["an"].id)].name == "Nguyễn Văn An"
    assert "Thôn Một" in labels[("person", world["people"]["an"].id)].detail


def test_list_page_queries_do_not_grow_with_rows(world, client, count_queries):
    _leader(world, client)
    client.get("/titles/eligibility")  # warm the caches of the login
    with count_queries() as four:
        client.get("/titles/eligibility")
    people = make_household(world["village_1"], "H9", *(f"Người Thêm {i}" for i in range(12))).members
    for person in people:
        eligibility(person, world["criteria"], eligible=False, score=10, missing=("C1",))
    db.session.commit()
    with count_queries() as sixteen:
        html = client.get("/titles/eligibility").get_data(as_text=True)
    assert "Người Thêm 11" in html
    assert sixteen.count == four.count


def test_explanation_page(world, client):
    user = _leader(world, client)
    binh = world["people"]["binh"]
    row = world["rows"]["binh"]
    row.breakdown = [
        {
            "indicator": "C1",
            "value": 2,
            "points": 10,
            "max": 10,
            "source": {"kind": "records", "measure": "activities"},
            "missing": None,
        },
        {
            "indicator": "C_2",
            "value": 3,
            "points": 3,
            "max": 10,
            "missing": {"code": "below_minimum", "value": 3, "minimum": 5},
            "source": {"kind": "assessment", "id": 0, "by": "evaluator", "evidence": "file"},
        },
    ]
    evidence = EvidenceFile(
        sha256="2" * 64, media_type="image/png", size=8, filename="so-tay.png", content=b"\x89PNG\r\n\x1a\n"
    )
    db.session.add(evidence)
    db.session.flush()
    assessment = Assessment(
        subject_type="person",
        subject_id=binh.id,
        year=2026,
        indicator="C_2",
        value=Decimal(3),
        source="evaluator",
        commune_id=world["commune_a"].id,
        assessed_by_id=user.id,
        evidence_file_id=evidence.id,
        evidence_ref="Sổ tay số 7",
    )
    db.session.add_all(
        [
            assessment,
            LearningRecord(
                person_id=binh.id,
                year=2026,
                kind="class_completion",
                category="literacy",
                hours=Decimal(12),
                completed_on=date(2026, 3, 31),
                commune_id=world["commune_a"].id,
                source_key="elv-binh-1",
            ),
        ]
    )
    db.session.commit()
    html = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    choose_language(client, "en", "/")
    english = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    assert "learning records of the year: 2 learning activities" in english
    assert "assessed at 3 points, at least 5 are required" in english
    assert "assessment by an evaluator, with an evidence file" in english
    assert "Trần Thị Bình" in html
    assert "Công dân học tập (thử)" in html
    assert "Quyết định 324/QĐ-KHVN" in html
    assert 'id="provisional"' not in html
    assert "Tham gia hoạt động học tập" in html
    assert "Tự học" in html
    assert f"/titles/assessments/{assessment.id}/evidence" in html
    assert "Sổ tay số 7" in html
    assert user.name in html  # who entered the assessment
    assert "31/03/2026" in html  # the learning record of the year
    assert f"/registry/persons/{binh.id}" in html
    assert client.get(f"/titles/eligibility/{world['rows']['be'].id}").status_code == 404


def test_provisional_criteria_are_shown_as_such(world, client):
    _leader(world, client)
    family = family_criteria()
    row = eligibility(
        world["h1"],
        family,
        eligible=False,
        score=60,
        missing=("F1",),
        subject_type="household",
        commune=world["commune_a"],
        village=world["village_1"],
    )
    db.session.commit()
    html = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    assert 'id="provisional"' in html
    # A household's result links to its members' rows.
    assert f"household_id={world['h1'].id}" in html
    members = client.get(f"/titles/eligibility?household_id={world['h1'].id}&title=citizen").get_data(as_text=True)
    assert _names(members, world) == {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"}


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.COMMUNE_LEADER, 200),
        (Role.CENTRE_MANAGER, 200),
        (Role.INSTRUCTOR, 403),
        (Role.ASSOCIATION_OFFICER, 200),  # the association decides the Learning Citizen (ADR 45): it sees the titles
    ],
)
def test_who_sees_eligibility(world, client, role, status):
    _leader(world, client, role)
    assert client.get(f"/titles/eligibility/{world['rows']['an'].id}").status_code == status
    assert client.get("/titles/eligibility").status_code == status


def test_the_explanation_reads_the_score_against_the_pass_mark(world, client):
    """The score alone ("Điểm: 15") does not say why a subject is not yet eligible: the page gives the most points,
    the pass mark of the criteria set and what is short."""
    _leader(world, client)
    row = world["rows"]["cuong"]
    row.score = Decimal(15)
    db.session.commit()
    html = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    result = " ".join(re.sub(r"<[^>]+>", " ", html[html.index('id="result"') :]).split())
    assert "Điểm: 15 / 40 · cần đạt 20 điểm (còn thiếu 5 điểm)" in result
    eligible = client.get(f"/titles/eligibility/{world['rows']['an'].id}").get_data(as_text=True)
    assert "cần đạt 20 điểm" in eligible
    assert "còn thiếu" not in eligible[eligible.index('id="result"') : eligible.index('id="indicators"')]


def test_indicators_are_named_never_by_their_code(world, client):
    """A leader reads what is lacking by the indicators' names, never "C3" or "CX2": on the explanation (its
    headings, and an indicator met because a stricter one is), and on the list's "Missing" even for an indicator
    the row's own version had and the active version dropped."""
    _leader(world, client)
    row = world["rows"]["cuong"]
    row.breakdown = [
        {
            "indicator": "C3",
            "value": 1,
            "points": 10,
            "max": 10,
            "source": {"kind": "implied", "by": "C_2", "was": {"kind": "none"}},
            "missing": None,
        },
        {
            "indicator": "CX2",
            "value": 10,
            "points": 0,
            "max": 10,
            "source": {"kind": "assessment", "by": "evaluator", "evidence": None},
            "missing": {"code": "assessed_below", "value": 10, "at_least": 50},
        },
    ]
    # A new version of the criteria that drops "CX2": the row was judged under the first.
    dropped = CITIZEN_TOML.format(status="official").split('[[indicators]]\ncode = "CX2"')[0]
    criteria.load_criteria(dropped.encode(), filename="test-citizen.toml")
    db.session.commit()
    html = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    headings = re.findall(r'<span class="fw-semibold">([^<]*)</span>', html)
    assert {"Có minh chứng", "Tỉ lệ"} <= set(headings), headings
    assert not [h for h in headings if re.search(r"\b(C3|CX2|C_2)\b", h)], headings
    choose_language(client, "en", "/")
    english = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    assert "implied by “Self-learning”" in english
    assert "C_2" not in english.split('id="indicators"')[1].replace('data-code="C_2"', "").split("</ul>")[0]
    choose_language(client, "vi", "/")
    listing = client.get(f"/titles/eligibility?unit_id={world['commune_a'].id}&title=citizen&year=2026")
    missing = [
        re.sub(r"<[^>]*>", "", line) for line in listing.get_data(as_text=True).splitlines() if "Còn thiếu:" in line
    ]
    text = " ".join(missing)
    assert "Tỉ lệ" in text, missing
    assert "Có minh chứng" in text, missing
    assert not re.search(r"\b(C3|CX2|C_2)\b", text), missing


def test_the_explanation_gives_values_and_points_in_the_vietnamese_convention(world, client):
    """A share stored as 37.5 read "Giá trị: 37.5" (the English decimal point, no per cent sign) and 7.5 points
    "7.5 / 10": values and points are written "37,5 %" and "7,5"."""
    _leader(world, client)
    row = world["rows"]["cuong"]
    row.breakdown = [
        {
            "indicator": "C1",
            "value": 37.5,
            "points": 7.5,
            "max": 10,
            "source": {"kind": "share", "of": "persons", "numerator": 3, "denominator": 8},
            "missing": None,
        }
    ]
    db.session.commit()
    html = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    indicators = " ".join(re.sub(r"<[^>]+>", " ", html[html.index('id="indicators"') :]).split())
    assert "Giá trị: 37,5 %" in indicators  # (the non-breaking space before % is split as a space here)
    assert "7,5 / 10 điểm" in indicators
    assert "37.5" not in indicators
    assert "7.5" not in indicators
