"""Property: the engine's scoring never raises, whatever value any indicator of any shipped criteria set gets.

Every indicator of every shipped set is fed values of every kind and range — integers, Decimals with two decimals,
percentages between two levels, booleans, floats (NaN and infinity too), numeric text, missing values, huge numbers
— as measured inputs (metrics, member counts) and as assessed values, for every area class, organisation and
population the rules read. Scoring must give a result, a breakdown that is valid JSON, and a level or a total
consistent with the set. (The statements that fetch the inputs are covered by the worked examples.)
"""

from __future__ import annotations

import json
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from lms.registry.models import AreaClass, ManagingLevel, OrganisationKind
from lms.titles import criteria, engine
from lms.titles.models import Scoring

SETS = {path.stem: criteria.parse(criteria.read_toml(path)) for path in sorted(criteria.SHIPPED_DIR.glob("*.toml"))}

numbers = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(min_value=-1000, max_value=100000, places=2, allow_nan=False),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=0, max_value=100).map(lambda v: round(v, 2)),  # percentages between the levels
    st.sampled_from(["92.5", "59.99", "", "abc", "1e400", "-0"]),
)
counts = st.one_of(st.none(), st.integers(min_value=0, max_value=10**12), st.sampled_from([0, 1, 59, 60, 100]))


def _plan(definition: criteria.CriteriaDefinition) -> engine._Plan:
    """The columns the wide statement gives each indicator (as ``engine._plan`` names them)."""
    plan = engine._Plan(stmt=select())
    metrics = [i for i in definition.indicators if i.kind == "metric"]
    for n, indicator in enumerate(metrics):
        plan.columns[indicator.code] = (f"m{n}",)
    for indicator in definition.indicators:
        if indicator.kind == "share":
            plan.columns[indicator.code] = tuple(
                f"{indicator.code}_{part}" for part in ("num", "den", "unk", "na", "nob")
            )
    return plan


@st.composite
def subjects(draw: Any, definition: criteria.CriteriaDefinition) -> tuple[Any, dict[str, engine._Assessed], str]:
    plan = _plan(definition)
    row: dict[str, Any] = {
        "subject_id": 1,
        "village_id": None,
        "in_population": draw(st.sampled_from([0, 1, None])),
        "managing_level": draw(st.sampled_from([m.value for m in ManagingLevel] + [None])),
        "organisation_kind": draw(st.sampled_from([k.value for k in OrganisationKind] + [None])),
    }
    for code, names in plan.columns.items():
        indicator = definition.indicator(code)
        assert indicator is not None
        for name in names:
            row[name] = draw(numbers if indicator.kind == "metric" else st.one_of(counts, numbers))
    assessed: dict[str, engine._Assessed] = {}
    for indicator in definition.indicators:
        if indicator.reads_assessment and draw(st.booleans()):
            assessed[indicator.code] = engine._Assessed(
                id=1,
                value=draw(numbers),
                counts=draw(st.booleans()),
                by=draw(st.sampled_from(["evaluator", "self"])),
                evidence=draw(st.sampled_from(["file", "ref", None])),
            )
    area = draw(st.sampled_from([a.value for a in AreaClass] + [None]))
    return SimpleNamespace(**row), assessed, area


@pytest.mark.parametrize("name", sorted(SETS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_scoring_never_raises(name: str, data: Any) -> None:
    definition = SETS[name]
    row, assessed, area = data.draw(subjects(definition))
    eligible, score, level, missing, items = engine._Scorer(definition, area).score(row, _plan(definition), assessed)
    json.dumps(items, allow_nan=False)  # stored as JSON on PostgreSQL and SQLite alike: no NaN, no Infinity
    assert [i["indicator"] for i in items] == [i.code for i in definition.indicators]
    assert len(missing) <= 400 or missing.startswith("|")
    if definition.scoring == Scoring.LEVELS:
        assert level is not None
        assert 0 <= level <= definition.max_level
        assert eligible == (level >= 1)
    else:
        assert score is not None
        assert Decimal(0) <= score <= sum(i.max_points or 0 for i in definition.indicators)
        assert not eligible or score >= (definition.pass_total or 0)


@pytest.mark.parametrize("name", sorted(SETS))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_scorer_that_kept_items_scores_as_a_new_one(name: str, data: Any) -> None:
    """A scorer keeps each indicator's items from one subject to the next (points-style sets): whatever subjects it
    scored before, a subject's outcome and breakdown text are a new scorer's, and the text is the items' JSON."""
    definition = SETS[name]
    plan = _plan(definition)
    earlier = data.draw(st.lists(subjects(definition), max_size=6))
    row, assessed, area = data.draw(subjects(definition))
    kept = engine._Scorer(definition, area)
    for other, other_assessed, _ in earlier:
        kept.score_content(other, plan, other_assessed)
    outcome, content = kept.score_content(row, plan, assessed)
    new_outcome, new_content = engine._Scorer(definition, area).score_content(row, plan, assessed)
    assert content == new_content
    assert outcome[:4] == new_outcome[:4]
    assert content == json.dumps(outcome[4], separators=(",", ":"))


@pytest.mark.parametrize("value", ["0", "0.01", "59.99", "92.5", "1", "100", "99999.99"])
def test_every_assessed_value_through_the_database_leaves_no_failed_subject(app_ctx: Any, value: str) -> None:
    """End to end (the statements too): every assessed indicator of the shipped unit and commune sets holds
    ``value`` (any value the forms accept, Numeric(7, 2)); the commune's evaluation records no failure."""
    from lms.extensions import db
    from lms.registry.models import Organisation
    from tests.conftest import unit_by_code
    from tests.titles.test_engine import assess

    criteria.load_shipped_criteria()
    commune = unit_by_code("23293")
    commune.area_class = "difficult"
    org = Organisation(commune_id=commune.id, code="TH", name="Trường", managing_level="province", kind="school")
    db.session.add(org)
    db.session.flush()
    for subject_type, subject_id, name in (
        ("commune", commune.id, "tt-25-2023-commune"),
        ("organisation", org.id, "tt-24-2023-unit"),
    ):
        for indicator in SETS[name].indicators:
            if indicator.reads_assessment:
                assess(subject_type, subject_id, indicator.code, value, commune)
    summary = engine.evaluate_commune(commune.id, 2025)
    assert all("failed" not in counts for counts in summary.values()), summary
    assert summary["commune_community"]["subjects"] == 1
    assert summary["unit"]["subjects"] == 1
