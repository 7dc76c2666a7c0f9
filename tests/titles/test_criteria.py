"""Criteria sets as data: the shipped files, validation that names the place of every error, versions."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lms.extensions import db
from lms.registry.models import Person
from lms.titles import criteria, engine, explain
from lms.titles.criteria import CriteriaError
from lms.titles.models import CriteriaSet, Eligibility, Recognition, RecognitionStatus
from tests.conftest import make_village, unit_by_code

MINIMAL = """
code = "test-citizen"
title = "citizen"
subject = "person"
name = "Công dân (thử)"
source = "test"
status = "provisional"
validity_years = 1
scoring = "points"
pass_total = 10
[[indicators]]
code = "c1"
name = "Hoạt động"
source_ref = "test"
kind = "metric"
metric = {measure = "activities"}
max_points = 10
thresholds = [[1, 5], [2, 10]]
"""


def shipped() -> dict[str, criteria.CriteriaDefinition]:
    return {path.stem: criteria.parse(criteria.read_toml(path)) for path in criteria.SHIPPED_DIR.glob("*.toml")}


def errors_of(text: str) -> list[str]:
    with pytest.raises(CriteriaError) as caught:
        criteria.parse(tomllib.loads(text))
    return caught.value.errors


# --- the shipped sets -----------------------------------------------------------------------------------------


def test_the_shipped_sets_cover_every_title_and_cite_their_source() -> None:
    sets = shipped()
    assert sorted(sets) == [
        "qd-324-2023-citizen",
        "qd-448-2015-a-family",
        "qd-448-2015-b-clan",
        "qd-448-2015-c-village",
        "qd-448-2015-d-unit",
        "tt-24-2023-unit",
        "tt-25-2023-commune",
    ]
    for name, definition in sets.items():
        assert definition.code == name
        for indicator in definition.indicators:
            assert indicator.source_ref.strip(), f"{name} {indicator.code} has no source reference"
            assert indicator.name
            assert indicator.name_en


def test_decision_324_is_ten_indicators_of_ten_points_pass_80_none_below_5() -> None:
    citizen = shipped()["qd-324-2023-citizen"]
    assert citizen.scoring == "points"
    assert citizen.pass_total == 80
    assert [i.max_points for i in citizen.indicators] == [10] * 10
    assert {i.min_points for i in citizen.indicators} == {5}
    assert {i.group for i in citizen.indicators} == {
        "Năng lực tự học",
        "Năng lực sử dụng công cụ học tập, làm việc",
        "Năng lực xã hội",
    }


def test_decision_448_and_324_are_marked_provisional_circulars_official() -> None:
    for name, definition in shipped().items():
        if name.startswith("qd-"):
            assert definition.status == "provisional"
            assert definition.validity_years == 1
            assert all(i.provisional for i in definition.indicators), name
        else:
            assert definition.status == "official"
            assert definition.validity_years == 3
            assert definition.scoring == "levels"
            assert definition.max_level == 2


def test_circular_25_asks_60_then_80_per_cent_learning_citizens() -> None:
    t51 = shipped()["tt-25-2023-commune"].indicator("t5.1")
    assert t51 is not None
    assert t51.share is not None
    assert t51.share.title == "citizen"
    assert [int(v) for v in t51.at_least] == [60, 80]
    assert "Điều 6 khoản 5 điểm a" in t51.source_ref


def test_circular_24_thresholds_per_level() -> None:
    unit = shipped()["tt-24-2023-unit"]
    assert unit.managing_levels == ("district", "province")
    assert [int(v) for v in unit.indicator("t3.1").at_least] == [90, 95]  # type: ignore[union-attr]
    # Art. 6.2.d (certificates, level 1) and Art. 7.2.d (the language level, level 2) are two indicators (ADR 53).
    assert [int(v) for v in unit.indicator("t2.4").at_least] == [50]  # type: ignore[union-attr]
    assert [int(v) for v in unit.indicator("t2.4b").at_least] == [70]  # type: ignore[union-attr]
    assert all(i.requires_evidence for i in unit.indicators if i.kind == "assessment")


# --- validation -----------------------------------------------------------------------------------------------


def test_a_valid_file_parses() -> None:
    definition = criteria.parse(tomllib.loads(MINIMAL))
    assert definition.indicators[0].thresholds[1][1] == 10


def test_every_error_is_reported_with_its_place() -> None:
    text = (
        MINIMAL.replace('subject = "person"', 'subject = "household"')
        .replace("thresholds = [[1, 5], [2, 10]]", "thresholds = [[2, 5], [1, 10]]")
        .replace('kind = "metric"', 'kind = "metric"\ncolour = "red"')
    )
    errors = errors_of(text)
    assert "subject: the title 'citizen' is about a person, not a household" in errors
    assert "indicators[0].thresholds: must rise: each value and its points above the previous" in errors
    assert "indicators[0].colour: is not a known field" in errors
    assert any(e.startswith("indicators[0].kind: a metric over learning records is for persons") for e in errors)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("pass_total = 10\n", ""), "pass_total: is required for the points scoring style"),
        (("pass_total = 10", "pass_total = 30"), "pass_total: is above the most points the indicators can give (10)"),
        (("validity_years = 1", "validity_years = 2"), "validity_years: must be 1 or 3"),
        (('status = "provisional"', 'status = "draft"'), "status: must be one of official, provisional, not 'draft'"),
        (
            ('measure = "activities"', 'measure = "minutes"'),
            "indicators[0].metric.measure: must be one of activities, courses, hours, modules, not 'minutes'",
        ),
        (("[2, 10]]", "[2, 12]]"), "indicators[0].thresholds[1][1]: must not be above max_points (10)"),
        (('source_ref = "test"\n', ""), "indicators[0].source_ref: is required"),
    ],
)
def test_single_errors(change: tuple[str, str], expected: str) -> None:
    assert expected in errors_of(MINIMAL.replace(*change))


def test_levels_need_one_threshold_per_level_and_must_not_fall() -> None:
    text = """
code = "x"
title = "commune_community"
subject = "commune"
name = "x"
source = "x"
status = "official"
validity_years = 3
scoring = "levels"
levels = [{level = 1, name = "1"}, {level = 2, name = "2"}]
[[indicators]]
code = "s"
name = "share"
source_ref = "x"
kind = "share"
share = {of = "households", title = "citizen", age = [15, -1]}
at_least = [80, 60]
[[indicators]]
code = "a"
name = "a"
source_ref = "x"
kind = "assessment"
scale = "percent"
at_least = [50]
"""
    errors = errors_of(text)
    assert "indicators[0].at_least: must not fall from one level to the next" in errors
    assert "indicators[0].share.title: households hold the title 'family' (or give a metric)" in errors
    assert "indicators[0].share.age: only persons have an age" in errors
    assert "indicators[1].at_least: is required: one threshold for each of the levels [1, 2]" in errors


def test_a_metric_is_one_metric_whatever_order_its_kinds_categories_and_modules_are_listed_in() -> None:
    """Two sets asking for the same measure of the same kinds, listed in another order, must ask for one metric:
    two unequal Metric objects with one key would have the engine write the same metric rows twice."""

    def metric_of(definition: str) -> criteria.Metric:
        (indicator,) = criteria.parse(tomllib.loads(definition)).indicators
        assert indicator.metric is not None
        return indicator.metric

    listed = 'metric = {measure = "activities", kinds = [%s], categories = [%s], modules = [%s]}'
    one = metric_of(
        MINIMAL.replace(
            'metric = {measure = "activities"}',
            listed % ('"class_completion", "policy_study"', '"it", "foreign_language"', '"m1", "m2"'),
        )
    )
    other = metric_of(
        MINIMAL.replace(
            'metric = {measure = "activities"}',
            listed % ('"policy_study", "class_completion", "policy_study"', '"foreign_language", "it"', '"m2", "m1"'),
        )
    )
    assert one == other
    assert len({one, other}) == 1
    assert engine.metric_key(one) == engine.metric_key(other)
    assert engine.used_metrics([criteria.parse(tomllib.loads(MINIMAL))]) == [criteria.Metric("activities")]
    assert one.kinds == ("class_completion", "policy_study")
    assert criteria.Metric("modules", kinds=("b", "a")) == criteria.Metric("modules", kinds=("a", "b"))


def test_the_shipped_metrics_keep_their_keys() -> None:
    """The metric rows already stored are found again: normalising a metric changes no shipped key."""
    keys = {
        (name, indicator.code): engine.metric_key(metric)
        for name, definition in shipped().items()
        for indicator in definition.indicators
        if (metric := indicator.metric or (indicator.share.metric if indicator.share else None)) is not None
    }
    assert keys == {
        ("qd-324-2023-citizen", "c1"): "5918bd95ac09eafd",
        ("qd-324-2023-citizen", "c2"): "a1b403c2b7043b0e",
        ("qd-324-2023-citizen", "c4"): "a198b74137bbc368",
        ("qd-324-2023-citizen", "c5"): "ab9be24f3ffc9585",
        ("qd-324-2023-citizen", "c7"): "efcd8805b22cae0e",
        ("qd-448-2015-a-family", "a5"): "5918bd95ac09eafd",
        ("qd-448-2015-b-clan", "b4"): "5918bd95ac09eafd",
        ("qd-448-2015-c-village", "v4"): "04d0631da330e73f",
    }


def test_a_file_that_is_not_toml_says_so() -> None:
    with pytest.raises(CriteriaError) as caught:
        criteria.load_criteria(b"code = ", filename="broken.toml")
    assert caught.value.errors[0].startswith("broken.toml: not valid TOML")


# --- versions -------------------------------------------------------------------------------------------------


def test_loading_is_idempotent_and_a_change_makes_a_new_active_version(app_ctx: Any) -> None:
    first = criteria.load_criteria(MINIMAL.encode())
    assert (first.version, first.active) == (1, True)
    assert criteria.load_criteria(("# a comment only\n" + MINIMAL).encode()).id == first.id
    second = criteria.load_criteria(MINIMAL.replace("pass_total = 10", "pass_total = 5").encode())
    db.session.refresh(first)
    assert (second.version, second.active, first.active) == (2, True, False)
    # Loading the first content again returns the first version and leaves the newer one active.
    again = criteria.load_criteria(MINIMAL.encode())
    db.session.refresh(second)
    assert again.id == first.id
    assert not again.active
    assert second.active
    assert criteria.active_set("citizen").id == second.id  # type: ignore[union-attr]


def test_shipped_sets_load_and_the_unit_title_picks_by_managing_level(app_ctx: Any) -> None:
    rows = criteria.load_shipped_criteria()
    assert len(rows) == 7
    assert [r.id for r in criteria.load_shipped_criteria()] == [r.id for r in rows]
    assert criteria.active_set("unit", managing_level="commune").code == "qd-448-2015-d-unit"  # type: ignore[union-attr]
    assert criteria.active_set("unit", managing_level="district").code == "tt-24-2023-unit"  # type: ignore[union-attr]
    assert criteria.active_set("unit", managing_level="central") is None
    assert criteria.active_set("commune_community").code == "tt-25-2023-commune"  # type: ignore[union-attr]


def test_a_new_version_applies_to_new_evaluations_and_a_recognised_year_keeps_its_own(app_ctx: Any) -> None:
    criteria.load_shipped_criteria()
    commune = unit_by_code("23293")
    village = make_village(commune, "T01", "Thôn 1")
    kept, moved = (Person(full_name=n, unit_id=village.id, birth_date=date(1990, 1, 1)) for n in ("An", "Bình"))
    db.session.add_all([kept, moved])
    db.session.flush()
    engine.evaluate_commune(commune.id, 2025)
    v1 = criteria.active_set("citizen")
    assert v1 is not None
    db.session.add(
        Recognition(
            subject_type="person",
            subject_id=kept.id,
            title="citizen",
            year=2025,
            commune_id=commune.id,
            status=RecognitionStatus.RECOGNISED.value,
        )
    )
    text = (criteria.SHIPPED_DIR / "qd-324-2023-citizen.toml").read_text().replace("pass_total = 80", "pass_total = 75")
    v2 = criteria.load_criteria(text.encode())
    assert v2.version == v1.version + 1
    assert criteria.active_set("citizen").id == v2.id

    engine.evaluate_commune(commune.id, 2025)

    db.session.expire_all()
    used = dict(
        db.session.execute(
            select(Eligibility.subject_id, Eligibility.criteria_set_id).where(Eligibility.title == "citizen")
        )
        .tuples()
        .all()
    )
    assert used == {kept.id: v1.id, moved.id: v2.id}
    assert db.session.get(CriteriaSet, v1.id).definition["pass_total"] == 80  # type: ignore[union-attr]


# --- explanations ---------------------------------------------------------------------------------------------


def test_missing_and_source_in_words(app_ctx: Any) -> None:
    from flask_babel import force_locale

    need_one = {
        "indicator": "c1",
        "value": 0,
        "points": 0,
        "source": {"kind": "records", "measure": "activities"},
        "missing": {"code": "more_activities", "need": 1, "points": 5, "minimum": 5},
    }
    no_evidence = {
        "indicator": "t1.3",
        "value": 1,
        "met": False,
        "levels": [],
        "source": {"kind": "assessment", "id": 3, "by": "evaluator", "evidence": None},
        "missing": {"code": "no_evidence", "level": 1},
    }
    share = {
        "indicator": "t5.1",
        "value": 59.9,
        "met": False,
        "levels": [],
        "source": {
            "kind": "share",
            "of": "persons",
            "title": "citizen",
            "numerator": 599,
            "denominator": 1000,
            "unknown_age": 2,
        },
        "missing": {
            "code": "share_below",
            "numerator": 599,
            "denominator": 1000,
            "at_least": 60,
            "need": 1,
            "level": 1,
        },
    }
    # A page's words: the request's language decides the numbers' convention too (outside a request, documents
    # are Vietnamese).
    with app_ctx.test_request_context(), force_locale("en"):
        assert explain.describe_missing(need_one) == (
            "needs 1 more learning activity for 5 points (below the minimum of 5 points)"
        )
        assert explain.describe_missing(no_evidence) == "has no evidence"
        assert explain.describe_missing(share) == (
            "599 of 1,000 people count (59.9\u00a0%); at least 60\u00a0% is required: 1 more person for level 1"
        )
        assert explain.describe_source(need_one) == "learning records of the year: 0 learning activities"
        assert explain.describe_source(no_evidence) == "assessment by an evaluator"
        assert explain.describe_source(share) == "share of members: 599 of 1000 (2 without a birth date not counted)"
        assert explain.describe_missing({"indicator": "x", "missing": None}) == ""
        # A points-style indicator below its maximum is points still to gain, not a bar to clear; a levels-style
        # one names the bar of the level.
        points = {
            "indicator": "c3",
            "points": 8,
            "max": 10,
            "missing": {"code": "assessed_below", "value": 8, "at_least": 10},
        }
        bar = {"indicator": "t2.1", "missing": {"code": "assessed_below", "value": 92.5, "at_least": 95, "level": 2}}
        assert explain.describe_missing(points) == (
            "assessed at 8 of 10 points; the total is below the pass mark and up to 2 more points can count here"
        )
        assert explain.describe_missing(points, (72, 80)) == (
            "assessed at 8 of 10 points; the total is 72 points, at least 80 are needed"
        )
        # Under the indicator's minimum (the total may be enough): the minimum is what is needed, said once.
        under = {**points, "missing": {"code": "assessed_below", "value": 4, "at_least": 10, "minimum": 5}}
        assert explain.describe_missing(under) == "assessed at 4 of 10 points (below the minimum of 5 points)"
        assert explain.describe_missing(bar) == "assessed at 92.5\u00a0%, at least 95\u00a0% is required for level 2"
        # A percentage (d4: 70 % → 10 points, 90 % → 20) and a met/not met below their bars are not points.
        percent = {
            "indicator": "d4",
            "points": 10,
            "max": 20,
            "missing": {"code": "assessed_below", "value": 75, "at_least": 90, "points": 20},
        }
        met = {
            "indicator": "d2",
            "points": 0,
            "max": 20,
            "missing": {"code": "assessed_below", "value": 0, "at_least": 1},
        }
        assert (
            explain.describe_missing(percent) == "assessed at 75\u00a0%, at least 90\u00a0% is required for 20 points"
        )
        # A met / not met said as such, not "assessed at 0, at least 1 is required" (a leader read that as nothing).
        assert explain.describe_missing(met) == "assessed as not met"
        met_points = {**met, "missing": {**met["missing"], "points": 20}}
        assert explain.describe_missing(met_points) == "assessed as not met, so its 20 points are not counted"
        met_level = {"indicator": "t1.1", "missing": {"code": "assessed_below", "value": 0, "at_least": 1, "level": 1}}
        assert explain.describe_missing(met_level) == "assessed as not met; it must be met for level 1"
        # A share says what it counts and what is missing: households of a clan, villages of a commune.
        clan_share = {
            "indicator": "b1",
            "value": 50,
            "source": {"kind": "share", "of": "households", "numerator": 2, "denominator": 4},
            "missing": {
                "code": "share_below",
                "numerator": 2,
                "denominator": 4,
                "at_least": 65,
                "need": 1,
                "points": 30,
            },
        }
        assert explain.describe_missing(clan_share) == (
            "2 of 4 households count (50\u00a0%); at least 65\u00a0% is required: 1 more household for 30 points"
        )
    with force_locale("vi"):
        assert (
            explain.describe_missing(points, (72, 80))
            == "được đánh giá 8/10 điểm; tổng điểm là 72, cần ít nhất 80 điểm"
        )
        assert explain.describe_missing(no_evidence) == "chưa có minh chứng"
        assert explain.describe_missing(need_one).startswith("cần thêm 1 hoạt động học tập")
        # The village page's "why not yet" in Vietnamese convention: decimal comma and the % sign, never "66.67 phần
        # trăm"; a date the engine stores as ISO text as dd/mm/yyyy.
        family_share = {
            "indicator": "a2.2",
            "value": 66.6667,
            "points": 0,
            "max": 10,
            "missing": {"code": "share_below", "numerator": 2, "denominator": 3, "at_least": 100, "need": 1},
        }
        # Each sentence says what is missing — never a bare "còn thiếu 1 để được 10 điểm".
        assert explain.describe_missing(family_share) == (
            "mới có 2/3 người đạt (66,67\u00a0%), cần ít nhất 100\u00a0%: còn thiếu 1 người"
        )
        assert explain.describe_missing(clan_share) == (
            "mới có 2/4 hộ đạt (50\u00a0%), cần ít nhất 65\u00a0%: còn thiếu 1 hộ để được 30 điểm"
        )
        assert explain.describe_missing(met_level) == (
            "được đánh giá là chưa đạt; phải đạt tiêu chí này mới được công nhận mức 1"
        )
        assert explain.describe_missing(met_points) == "được đánh giá là chưa đạt nên chưa được tính 20 điểm"
        wait = {"indicator": "upgrade", "missing": {"code": "upgrade_wait", "level": 2, "until": "2026-02-10"}}
        assert "10/02/2026" in explain.describe_missing(wait)
        assert "2026-02-10" not in explain.describe_missing(wait)
        assert explain.describe_missing(bar) == "được đánh giá 92,5\u00a0%, cần ít nhất 95\u00a0% để đạt mức 2"


def test_applies_to_may_list_alternatives_and_each_is_checked() -> None:
    """Circular 24, Art. 7.3.c / 13.3.c: the level-2 award is asked of a district-level public body *or* any
    province-level unit — ``applies_to`` is one table or a list of them (any of them); a wrong kind in one of them is
    reported at its place."""
    t33b = shipped()["tt-24-2023-unit"].indicator("t3.3b")
    assert t33b is not None
    assert t33b.applies("district", "agency")
    assert t33b.applies("province", "enterprise")
    assert not t33b.applies("district", "enterprise")
    text = (Path(criteria.SHIPPED_DIR) / "tt-24-2023-unit.toml").read_text(encoding="utf-8")
    broken = text.replace('"province"]}, {kinds = ["agency"', '"province"]}, {kinds = ["factory"')
    assert broken != text
    assert any(e.startswith("indicators[14].applies_to[1].kinds: 'factory' is not one of") for e in errors_of(broken))
