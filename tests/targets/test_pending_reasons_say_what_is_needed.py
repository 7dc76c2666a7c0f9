"""The village's "not yet eligible" list says, for every reason, what is needed. A points-style criterion below
its maximum but above its minimum (8/10 points) is listed only because the total is short; it read "được đánh giá
8/10 điểm" alone, while a criterion under its minimum said "(dưới mức tối thiểu 5 điểm)". It now says the total
and the pass mark; a row without a breakdown leads with them."""

from __future__ import annotations

import re
from decimal import Decimal

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import Person
from lms.titles.models import Eligibility, SubjectType, Title
from tests.conftest import login, make_user
from tests.targets.dashboard_data import build_province, criteria_set


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _pending_person(data, name: str, score: int, breakdown: list, missing: str) -> Person:
    village = data.villages[0]
    person = Person(full_name=name, unit_id=village.id)
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
            score=Decimal(score),
            missing=missing,
            breakdown=breakdown,
        )
    )
    return person


def _item(code: str, points: int, missing: dict) -> dict:
    return {
        "indicator": code,
        "value": points,
        "points": points,
        "max": 10,
        "source": {"kind": "assessment", "by": "evaluator", "evidence": "ref"},
        "missing": missing,
    }


def test_a_criterion_at_8_of_10_says_the_total_and_the_pass_mark(app, client):
    data = build_province(1, households_per_village=0)
    _pending_person(
        data,
        "Y Hằng",
        72,
        [
            _item("c3", 8, {"code": "assessed_below", "value": 8, "at_least": 10}),
            _item("c6", 4, {"code": "below_minimum", "value": 4, "minimum": 5}),
        ],
        "|c3|c6|",
    )
    _pending_person(data, "A Lực", 70, [], "|c1|")
    # Enough points in all, one criterion under its minimum: the minimum is what is needed, not the total.
    _pending_person(
        data,
        "Y Nghĩa",
        82,
        [_item("c4", 4, {"code": "assessed_below", "value": 4, "at_least": 10, "minimum": 5})],
        "|c4|",
    )
    leader = make_user(Role.PROVINCE_LEADER, data.province, "leader-reasons@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/targets/units/{data.villages[0].id}?title=citizen").get_data(as_text=True)
    rows = {
        _text(row).split(" ", 2)[0] + " " + _text(row).split(" ", 2)[1]: _text(row)
        for row in re.findall(r"<tr>(.*?)</tr>", html[html.index('id="pending-table"') :], re.S)[1:]
    }
    hang = rows["Y Hằng"]
    assert "được đánh giá 8/10 điểm; tổng điểm là 72, cần ít nhất 80 điểm" in hang
    # Each listed reason says what is needed: a total or a minimum.
    reasons = re.findall(r"<li>(.*?)</li>", html[html.index("Y Hằng") :].split("</tr>")[0])
    assert len(reasons) == 2
    assert all("cần ít nhất" in r or "tối thiểu" in r for r in reasons), reasons
    assert "8/10 điểm</li>" not in html
    # No breakdown: the indicator's name alone, led by the total against the pass mark.
    assert "Tổng điểm: 70, cần ít nhất 80 điểm" in rows["A Lực"]
    assert "Tham gia các hoạt động học tập trong năm" in rows["A Lực"]
    assert "được đánh giá 4/10 điểm (dưới mức tối thiểu 5 điểm)" in rows["Y Nghĩa"]
    assert "tổng điểm" not in rows["Y Nghĩa"].lower()
