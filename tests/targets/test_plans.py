"""Plans as data: the shipped files load, validation names the place of every problem, versions follow content."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lms.extensions import db
from lms.targets.models import Indicator, Plan
from lms.targets.plans import PLANS_DIR, PlanError, load_plan, load_plans, parse_plan
from tests.targets.conftest import FAMILY, plan_text


def test_the_shipped_plans_load_with_every_indicator_and_milestone(app_ctx):
    results = load_plans()
    plans = {r.plan.code: r.plan for r in results}
    assert set(plans) == {"kon-tum-1514-2022", "qd-387-2022", "qd-677-2022"}
    kon_tum = plans["kon-tum-1514-2022"]
    targets = {i.code: {t.year: int(t.share) for t in i.targets} for i in kon_tum.indicators}
    assert targets == {
        "policy_study": {2025: 100, 2030: 100},
        "family": {2025: 80, 2030: 85},
        "family_registered": {2025: 80, 2030: 85},
        "clan": {2025: 65, 2030: 75},
        "village_community": {2025: 70, 2030: 75},
        "unit": {2025: 80, 2030: 90},
        "citizen_workers": {2025: 40, 2030: 60},
        "citizen_staff": {2025: 60, 2030: 80},
        "chair_in_clc": {2025: 100, 2030: 100},
        "it_trained_officers": {2025: 40, 2030: 70},
    }
    by_code = {i.code: i for i in kon_tum.indicators}
    # Two denominators for households, said in words; the conditional one is data.
    assert "đăng ký" in by_code["family_registered"].denominator_text
    # Definitions are filed in Vietnamese only: no English gloss in parentheses.
    assert all(not re.search(r"\([a-z ,;:'’]+\)", i.denominator_text) for i in by_code.values())
    assert by_code["family_registered"].denominator == {"subject": "household", "registered_for": "family"}
    assert by_code["citizen_workers"].denominator["member_of"][0] == {"subject": "household", "title": "family"}
    assert by_code["citizen_workers"].numerator["title"] == "citizen"
    # Only what was not read from a source is provisional: Kon Tum's unstated 2030 chair target, all of 387/677.
    assert [(i.code, t.year) for i in kon_tum.indicators for t in i.targets if t.provisional] == [
        ("chair_in_clc", 2030)
    ]
    assert all(t.provisional for i in plans["qd-387-2022"].indicators for t in i.targets)
    assert {i.code: int(i.targets[0].share) for i in plans["qd-387-2022"].indicators}["family"] == 70
    assert all(i.provisional for i in plans["qd-677-2022"].indicators)
    # Kon Tum's plan belongs to the pre-2025 province; the national ones to the country.
    assert kon_tum.unit_id != plans["qd-387-2022"].unit_id


def test_loading_the_same_content_twice_keeps_one_version(app_ctx):
    first = load_plans()
    again = load_plans()
    assert all(r.created for r in first)
    assert not any(r.created for r in again)
    assert [r.plan.id for r in first] == [r.plan.id for r in again]
    assert db.session.scalar(db.select(db.func.count()).select_from(Plan)) == 3


def test_new_content_becomes_the_active_version_and_old_versions_stay(app_ctx):
    v1 = load_plan(plan_text("country", "VN", FAMILY), "a.toml").plan
    v2 = load_plan(plan_text("country", "VN", FAMILY.replace("share = 85", "share = 88")), "a.toml").plan
    assert (v1.version, v2.version) == (1, 2)
    db.session.refresh(v1)
    assert not v1.active
    assert v2.active
    # Going back to the first content makes version 1 active again rather than writing a third copy.
    back = load_plan(plan_text("country", "VN", FAMILY), "a.toml")
    assert not back.created
    assert back.plan.id == v1.id
    db.session.refresh(v2)
    assert v1.active
    assert not v2.active
    assert (
        db.session.scalar(
            db.select(db.func.count()).select_from(Indicator).where(Indicator.plan_id.in_([v1.id, v2.id]))
        )
        == 2
    )


BAD = """
code = "bad"
name = "Bad"
source = "nowhere"
unit = { level = "country", code = "VN" }

[[indicators]]
code = "workers"
name = "Workers"
denominator_text = "workers in families"
denominator = { subject = "person", occupation_groups = ["farmer"], member_of = [
    { subject = "household", title = "famly" }] }
numerator = { title = "citizen" }
targets = [{ year = 2025, share = 140 }, { year = 2025, share = 50, area_class = "remote" }]

[[indicators]]
code = "workers"
name = "Clans"
denominator_text = ""
denominator = { subject = "clan", age = [19, 60] }
numerator = { title = "family" }
targets = []
"""


def test_every_problem_is_reported_with_its_place():
    with pytest.raises(PlanError) as caught:
        parse_plan(BAD, "bad.toml")
    errors = caught.value.errors
    assert str(caught.value).startswith("bad.toml: ")
    expected = [
        "indicators[0] (workers).denominator.occupation_groups[0]: 'farmer' is not one of worker, official, pupil, "
        "other",
        "indicators[0] (workers).denominator.member_of[0].title: 'famly' is not a title a household holds "
        "(expected 'family')",
        "indicators[0] (workers).targets[0].share: a percentage from 0 to 100",
        "indicators[0] (workers).targets[1].area_class: 'remote' is not one of standard, mountainous, difficult, "
        "especially_difficult, border",
        "indicators[1] (workers).code: 'workers' is used by an earlier indicator",
        "indicators[1] (workers).denominator_text: required text",
        "indicators[1] (workers).denominator.age: only persons can be filtered this way",
        "indicators[1] (workers).targets: a non-empty list of { year = 2025, share = 80 } (area_class and "
        "provisional optional)",
    ]
    for message in expected:
        assert message in errors, (message, errors)


def test_the_unit_must_exist(app_ctx):
    with pytest.raises(PlanError, match="unit: no province with code '99999' today"):
        load_plan(plan_text("province", "99999", FAMILY), "x.toml")


def test_one_bad_file_loads_nothing(app_ctx, tmp_path: Path):
    (tmp_path / "a.toml").write_text((PLANS_DIR / "qd-387-2022.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b.toml").write_text("code = 'b'\n", encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        load_plans(tmp_path)
    assert "b.toml: name: required text" in str(caught.value)
    assert db.session.scalar(db.select(db.func.count()).select_from(Plan)) == 0


def test_load_plans_command(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["targets", "load-plans"])
    assert result.exit_code == 0, result.output
    assert "kon-tum-1514-2022 v1: 10 indicators, loaded as a new version" in result.output
    again = runner.invoke(args=["targets", "load-plans"])
    assert "kon-tum-1514-2022 v1: 10 indicators, unchanged" in again.output


def test_load_plans_command_fails_with_the_places(app, tmp_path: Path):
    (tmp_path / "b.toml").write_text(BAD, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["targets", "load-plans", "--dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "famly" in result.output


def test_an_it_skills_figure_stands_alone():
    text = plan_text(
        "country",
        "VN",
        """
[[indicators]]
code = "it"
name = "IT"
denominator_text = "officers"
denominator = { subject = "person", it_skills = "officers", occupation_groups = ["worker"] }
numerator = { it_skills = "organised_and_trained" }
targets = [{ year = 2025, share = 40 }]

[[indicators]]
code = "assoc"
name = "Associations"
denominator_text = "branches"
denominator = { subject = "association", it_skills = "trained" }
numerator = { it_skills = "associations_led_in_clc" }
targets = [{ year = 2025, share = 100 }]
""",
    )
    with pytest.raises(PlanError) as caught:
        parse_plan(text, "it.toml")
    assert caught.value.errors == [
        "indicators[0] (it).denominator.occupation_groups: cannot be combined with it_skills (the figure is defined "
        "in courses/data/it_skills.toml)",
        "indicators[1] (assoc).denominator.it_skills: 'trained' is not an IT-skills figure for associations; "
        "expected one of associations, associations_led_in_clc",
    ]
