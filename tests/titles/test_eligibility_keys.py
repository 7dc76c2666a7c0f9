"""``eligibility.criteria_set_id`` and ``breakdown_id`` have no foreign key (ADR 40, amended): only the engine writes
them, from rows it read or wrote in the same transaction, and neither a criteria set nor a breakdown is ever
deleted. These tests keep both true: the application and its migrations hold no delete of either table, and the
engine's rows name existing ones."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from lms.extensions import db
from lms.titles import criteria, engine
from lms.titles.models import CriteriaSet, Eligibility, EligibilityBreakdown
from tests.conftest import make_household, make_village, unit_by_code
from tests.titles.test_engine import YEAR, organisation, person, records

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("CriteriaSet", "EligibilityBreakdown")
TABLES = ("criteria_set", "eligibility_breakdown")


def deletes_of_sets_or_breakdowns(text: str) -> list[str]:
    """Statements in ``text`` that delete criteria sets or breakdowns: a Core ``delete()`` of the model, of its
    table or of a name bound to its table (``B = _table(EligibilityBreakdown)``), an ORM ``session.delete`` of a
    variable named after one, raw SQL ``DELETE FROM`` / ``TRUNCATE``."""
    names = set(MODELS) | {f"{m}.__table__" for m in MODELS}
    models = "|".join(MODELS)
    names |= set(re.findall(rf"^\s*(\w+)\s*=\s*(?:_table\((?:{models})\)|(?:{models})\.__table__)", text, re.M))
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    patterns = [
        rf"\bdelete\(\s*(?:{alternatives})\b",
        rf"(?:{alternatives})\.delete\(",
        r"session\.delete\(\s*\w*(?:criteria|breakdown)\w*",
        rf"(?i)(?:delete\s+from|truncate(?:\s+table)?)\s+\"?(?:{'|'.join(TABLES)})\b",
    ]
    return [m.group(0) for p in patterns for m in re.finditer(p, text)]


def test_the_detector_finds_each_kind_of_delete() -> None:
    found = deletes_of_sets_or_breakdowns(
        "B = _table(EligibilityBreakdown)\n"
        "db.session.execute(delete(B).where(B.c.id == 1))\n"
        "db.session.execute(delete(CriteriaSet))\n"
        "CriteriaSet.__table__.delete()\n"
        "db.session.delete(criteria_set)\n"
        'op.execute("DELETE FROM eligibility_breakdown WHERE id = 1")\n'
        'op.execute("truncate table criteria_set")\n'
        "db.session.execute(delete(Eligibility))\n"  # not a parent: fine
    )
    assert len(found) == 6, found


def test_no_criteria_set_or_breakdown_is_ever_deleted() -> None:
    """The application and its migrations never delete a criteria set or a breakdown, so an eligibility row can
    never be left naming a missing one. If this fails, either give the delete a way to keep eligibility whole (the
    rows that name it go first) or bring the foreign keys back (a migration re-adding them: 0032's downgrade)."""
    found = {
        str(path.relative_to(ROOT)): hits
        for folder in ("lms", "migrations", "courses")
        if (ROOT / folder).exists()
        for path in sorted((ROOT / folder).rglob("*.py"))
        if (hits := deletes_of_sets_or_breakdowns(path.read_text(encoding="utf-8")))
    }
    assert found == {}


def test_the_engine_names_existing_sets_and_breakdowns(app_ctx: Any) -> None:
    criteria.load_shipped_criteria()
    commune = unit_by_code("23293")
    village = make_village(commune, "T01", "Thôn 1")
    household = make_household(village, "H1", "Nguyễn Văn A", "Trần Thị B")
    resident = person(village, "Lê Văn C", household=household)
    records([resident.id], commune)
    organisation(commune, "UB", "commune", [resident])
    engine.evaluate_commune(commune.id, YEAR)
    rows = db.session.scalar(select(func.count()).select_from(Eligibility).where(Eligibility.year == YEAR))
    assert rows >= 6
    dangling = db.session.scalar(
        select(func.count())
        .select_from(Eligibility)
        .outerjoin(CriteriaSet, CriteriaSet.id == Eligibility.criteria_set_id)
        .outerjoin(EligibilityBreakdown, EligibilityBreakdown.id == Eligibility.breakdown_id)
        .where(Eligibility.year == YEAR, (CriteriaSet.id.is_(None)) | (EligibilityBreakdown.id.is_(None)))
    )
    assert dangling == 0
    # The relationships still load without the keys.
    row = db.session.scalar(select(Eligibility).where(Eligibility.year == YEAR, Eligibility.subject_type == "person"))
    assert row is not None
    assert row.criteria_set.title == "citizen"
    assert row.breakdown
