"""Where each value of a criteria set comes from (issue 10, item 6; ADR 18): every indicator of Decision 324/2023
and Decision 448/2015 parts A–D is provisional and says why, the loader validates and stores that, and an
indicator counts what its name says."""

from __future__ import annotations

import re
from typing import Any

import pytest

from courses.models import LearningKind
from lms.titles import criteria, engine
from lms.titles.models import CriteriaSet
from tests.conftest import make_household, make_village
from tests.titles.test_engine import YEAR, assess, eligibility, item, person, records
from tests.titles.test_engine import commune as commune  # the fixture, shared

ASSOCIATION_SETS = [
    "qd-324-2023-citizen.toml",
    "qd-448-2015-a-family.toml",
    "qd-448-2015-b-clan.toml",
    "qd-448-2015-c-village.toml",
    "qd-448-2015-d-unit.toml",
]

MINIMAL = """
code = "test-sources"
title = "family"
subject = "household"
name = "Thử"
source = "test"
status = "provisional"
validity_years = 1
scoring = "points"
pass_total = 10
[[indicators]]
code = "x1"
name = "Chỉ tiêu thử"
source_ref = "không có"
kind = "assessment"
scale = "met"
max_points = 10
"""


@pytest.mark.parametrize("filename", ASSOCIATION_SETS)
def test_no_threshold_of_the_association_sets_passes_for_official(filename):
    # No text in the sources holds Decision 324/2023 or Decision 448/2015: each indicator is marked and sourced.
    definition = criteria.parse(criteria.read_toml(criteria.SHIPPED_DIR / filename))
    for indicator in definition.indicators:
        assert indicator.provisional, indicator.code
        assert len(indicator.source) > 20, indicator.code
        assert indicator.source_en, indicator.code
        assert indicator.source_en != indicator.source, indicator.code


FILE_NAME = re.compile(r"\b[\w-]+\.(md|toml|py|txt|json)\b|\bsources/", re.IGNORECASE)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("filename", sorted(p.name for p in criteria.SHIPPED_DIR.glob("*.toml")))
def test_no_text_a_page_shows_names_a_repository_file(filename):
    # Sources are shown to staff on the criteria pages (ADR 18): "(DOMAIN.md §4)" or "sources/" mean nothing there.
    data = criteria.read_toml(criteria.SHIPPED_DIR / filename)
    assert [s for s in _strings(data) if FILE_NAME.search(s)] == []


def test_the_village_learning_family_share_does_not_claim_plan_1514s_household_target():
    # Plan 1514: "80% gia đình … Gia đình học tập; … 70% cộng đồng (thôn …) … Cộng đồng học tập" (2025 targets).
    definition = criteria.parse(criteria.read_toml(criteria.SHIPPED_DIR / "qd-448-2015-c-village.toml"))
    v1 = definition.indicator("v1")
    assert v1 is not None
    assert v1.thresholds[0][0] == 70
    assert "80 %" in v1.source
    assert "thôn" in v1.source
    header = (criteria.SHIPPED_DIR / "qd-448-2015-c-village.toml").read_text().split("code =")[0]
    assert "NOT Kon Tum plan 1514's household target" in header


def test_a_provisional_indicator_without_a_source_is_refused_with_its_place():
    text = MINIMAL.replace('kind = "assessment"', 'provisional = true\nkind = "assessment"')
    with pytest.raises(criteria.CriteriaError) as caught:
        criteria.parse(criteria.read_toml(text.encode()))
    assert any(
        e.startswith("indicators[0].source: is required for a provisional indicator") for e in caught.value.errors
    )
    blank = text.replace("provisional = true", 'provisional = true\nsource = ""')
    with pytest.raises(criteria.CriteriaError, match=r"indicators\[0\]\.source"):
        criteria.parse(criteria.read_toml(blank.encode()))
    wrong = text.replace("provisional = true", "provisional = true\nsource = 3")
    with pytest.raises(criteria.CriteriaError, match=r"indicators\[0\]\.source: must be a non-empty text"):
        criteria.parse(criteria.read_toml(wrong.encode()))
    with pytest.raises(criteria.CriteriaError, match=r"indicators\[0\]\.provisional: must be true or false"):
        criteria.parse(
            criteria.read_toml(
                MINIMAL.replace('kind = "assessment"', 'provisional = "yes"\nkind = "assessment"').encode()
            )
        )


def test_the_stored_version_keeps_each_indicators_flag_and_source(app_ctx):
    text = MINIMAL.replace(
        'kind = "assessment"',
        'provisional = true\nsource = "chọn cho bản trình diễn"\n'
        'source_en = "chosen for the demo"\nkind = "assessment"',
    )
    row: CriteriaSet = criteria.load_criteria(text.encode())
    stored = criteria.definition_of(row).indicator("x1")
    assert stored is not None
    assert (stored.provisional, stored.source, stored.source_en) == (
        True,
        "chọn cho bản trình diễn",
        "chosen for the demo",
    )
    assert row.definition["indicators"][0]["source"] == "chọn cho bản trình diễn"
    official = criteria.definition_of(
        criteria.load_criteria(MINIMAL.replace("test-sources", "test-sources-2").encode())
    )
    assert official.indicators[0].provisional is False
    assert official.indicators[0].source == ""


def _village(commune: Any, kinds: list[str]) -> Any:
    """A village of one adult per household, each with one learning record of the given kind."""
    village = make_village(commune, f"VS{len(kinds)}", "Thôn Nguồn")
    for n, kind in enumerate(kinds):
        household = make_household(village, f"VS-H{n}")
        adult = person(village, f"Người {n}", household=household)
        records(
            [adult.id], commune, kind=kind, category=None if kind != LearningKind.CLASS_COMPLETION else "needs_based"
        )
    assess("village", village.id, "v2", 1, commune)
    assess("village", village.id, "v3", 1, commune)
    return village


def test_qd_448_part_c_v4_counts_the_clcs_activities_not_self_study(commune):
    # "Người dân … tham gia hoạt động của trung tâm học tập cộng đồng": a CLC class, a policy-study session or an
    # activity organised at the centre counts; self-study and an outside certificate do not.
    kinds = [
        LearningKind.CLASS_COMPLETION,
        LearningKind.POLICY_STUDY,
        LearningKind.ACTIVITY_ORGANISED,
        LearningKind.SELF_STUDY,
        LearningKind.SELF_STUDY,
        LearningKind.EXTERNAL_CERTIFICATE,
    ]
    village = _village(commune, [k.value for k in kinds])
    engine.evaluate_commune(commune.id, YEAR)
    row = eligibility("village", village.id, "village_community")
    assert row is not None
    assert item(row, "v4")["value"] == 50  # 3 of the 6 residents aged 15+
