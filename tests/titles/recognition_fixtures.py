"""Builders for the recognition tests: hand-made eligibility rows (known answers, no engine needed)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from lms.extensions import db
from lms.titles.models import TITLE_SUBJECT, CriteriaSet, Eligibility, Title


def criteria_set(title: Title = Title.FAMILY, validity_years: int = 1, code: str | None = None) -> CriteriaSet:
    subject = TITLE_SUBJECT[title]
    row = CriteriaSet(
        code=code or f"test-{title.value}",
        version=1,
        title=title.value,
        subject_type=subject.value,
        scoring="points",
        status="provisional",
        validity_years=validity_years,
        name=f"Test {title.value}",
        source="test",
        definition={},
        content_sha256="0" * 64,
        # Inactive: the engine (run after every commit that marks the commune) leaves these
        # hand-made rows alone, so the tests keep their known answers.
        active=False,
    )
    db.session.add(row)
    db.session.flush()
    return row


def eligibility(
    criteria: CriteriaSet,
    subject_id: int,
    commune_id: int,
    year: int,
    *,
    eligible: bool = True,
    village_id: int | None = None,
    score: str = "85",
) -> Eligibility:
    breakdown = [
        {
            "indicator": "A1",
            "value": 3,
            "points": 30,
            "max": 30,
            "source": {"kind": "records", "measure": "activities"},
            "missing": None,
        },
        {
            "indicator": "A2",
            "value": 1,
            "points": 10 if eligible else 0,
            "max": 10,
            "source": {"kind": "assessment", "id": 3, "by": "evaluator", "evidence": "ref"},
            "missing": None if eligible else {"code": "more_activities", "need": 1, "points": 10},
        },
    ]
    row = Eligibility(
        subject_type=criteria.subject_type,
        subject_id=subject_id,
        title=criteria.title,
        year=year,
        commune_id=commune_id,
        village_id=village_id,
        criteria_set_id=criteria.id,
        eligible=eligible,
        score=Decimal(score),
        level=None,
        missing="" if eligible else "|A2|",
        breakdown=breakdown,
    )
    db.session.add(row)
    db.session.flush()
    return row


def confirm_value(page: str) -> str:
    """What the confirmation button of a page posts (a digest of what the page showed)."""
    found = re.search(r'name="confirmed" value="([0-9a-f]+)"', page)
    assert found is not None
    return found.group(1)


def confirmation(page: str) -> dict[str, str]:
    """What a confirmation posts: its button (a digest of what was asked) and the preview's own digest — and, for a
    proposal, each subject's evaluation as shown."""
    found = re.search(r'name="preview_digest" value="([0-9a-f]+)"', page)
    assert found is not None
    posted = {"confirmed": confirm_value(page), "preview_digest": found.group(1)}
    shown = re.search(r'name="proposal_shown" value="([0-9a-f:,]*)"', page)
    if shown is not None:
        posted["proposal_shown"] = shown.group(1)
    return posted


def lock_conflict(pgcode: str) -> Any:
    """A stand-in for a statement PostgreSQL aborts with ``pgcode`` (40P01 deadlock_detected, 40001
    serialization_failure), as SQLAlchemy raises it."""
    from sqlalchemy.exc import OperationalError

    class Aborted(Exception):
        pass

    orig = Aborted("deadlock detected" if pgcode == "40P01" else "could not serialize access")
    orig.pgcode = pgcode  # type: ignore[attr-defined]

    def aborted(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("INSERT INTO recognition …", {}, orig)

    return aborted
