"""The lists of a village read ``eligibility`` through its one list index (ADR 40, amended; migration 0049).

``eligibility`` keeps one index for the lists, ``(commune_id, year, title, village_id)``: the index led by the
village went, because every row the engine writes paid an insert into it. A village's readers name the village's
commune too, so they still read one index range; a reader that named the village alone would scan the table (114 ms
instead of 1.8 ms for a village of the largest generated commune, ``docs/benchmarks.md``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy import text as sql

from lms.auth.models import Role
from lms.extensions import db
from lms.targets.views import pending_select
from lms.titles import services
from tests.conftest import make_user, make_village, unit_by_code
from tests.titles.elig_helpers import citizen_criteria

YEAR = 2026


def _plans(run: Any) -> list[str]:
    """The PostgreSQL plans of the statements ``run`` sends that read ``eligibility`` by its village."""
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "eligibility.village_id" in statement and not statement.lstrip().upper().startswith("EXPLAIN"):
            cursor.execute("EXPLAIN " + statement, parameters)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))

    event.listen(db.engine, "before_cursor_execute", explain)
    try:
        run()
    finally:
        event.remove(db.engine, "before_cursor_execute", explain)
    return plans


@pytest.mark.postgresql  # the plan is PostgreSQL's
def test_a_villages_lists_read_one_range_of_the_list_index(app_ctx: Any) -> None:
    commune = unit_by_code("23293")
    village = make_village(commune, "IX-1", "Thôn Một")
    other = make_village(commune, "IX-2", "Thôn Hai")
    criteria = citizen_criteria()
    db.session.flush()
    # A commune of 40,000 citizens' rows, one in twenty in the village: enough for the planner to prefer an index.
    db.session.execute(
        sql(
            "INSERT INTO eligibility (subject_type, subject_id, title, year, commune_id, village_id, criteria_set_id,"
            " eligible, missing, computed_at, inputs_digest, applicable)"
            " SELECT 'person', 1000000 + n, 'citizen', :year, :commune,"
            " CASE WHEN n % 20 = 0 THEN :village ELSE :other END, :set, n % 3 = 0, '', now(), '', true"
            " FROM generate_series(1, 40000) AS n"
        ),
        {"year": YEAR, "commune": commune.id, "village": village.id, "other": other.id, "set": criteria.id},
    )
    db.session.execute(sql("ANALYZE eligibility"))
    user = make_user(Role.COMMUNE_LEADER, commune)
    db.session.flush()
    wanted = services.EligibilityFilter(title="citizen", year=YEAR, unit=village, status="not_eligible")
    found: dict[str, Any] = {}

    def read() -> None:
        found["list"] = db.session.scalars(services.eligibility_select(user, wanted, sort="score").limit(25)).all()
        found["counts"] = services.status_counts(user, wanted)
        found["pending"] = db.session.scalars(pending_select(village, "citizen", YEAR, user).limit(25)).all()

    plans = _plans(read)
    assert len(plans) == 3, plans
    for plan in plans:
        assert "ix_eligibility_commune_year_title_village" in plan, plan
        assert "Seq Scan on eligibility" not in plan, plan
        # One range: the village is a condition of the index, not a filter of the commune's rows read.
        conditions = [line for line in plan.splitlines() if "Index Cond" in line and "village_id" in line]
        assert conditions, plan
    # The answers are the village's, not the commune's.
    assert {row.village_id for row in found["list"]} == {village.id}
    assert {row.village_id for row in found["pending"]} == {village.id}
    assert found["counts"]["eligible"] + found["counts"]["not_eligible"] == 2000
