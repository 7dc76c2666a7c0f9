"""recognitions of a three-year title hold through the three years after the year recognised

Circular 24/2023 Art. 5.4 and 11.4 and Circular 25/2023 Art. 5.4: "bảo lưu trong thời hạn 03 năm (36 tháng) tiếp
theo năm được công nhận". Recognitions decided before this revision end on 31/12 of Y+2; they now end on 31/12 of
Y+3 (ADR 17). One set-based UPDATE; only rows still on the old end date move, so running it twice changes nothing.
The target values of the year each recognition gains are marked for recomputation (computed_at cleared).

Revision ID: 0015
Revises: 0016
Create Date: 2026-12-06 10:30:00

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0016'
branch_labels = None
depends_on = None


def _end_of_year(years: str) -> str:
    """SQL for 31 December of the year ``years`` (an integer expression), as the Date column stores it."""
    if op.get_bind().dialect.name == 'postgresql':
        return f"make_date(CAST({years} AS integer), 12, 31)"
    return f"printf('%04d-12-31', {years})"  # SQLite keeps a Date as ISO text


def _move(old_offset: str, new_offset: str) -> None:
    """Move the end of every three-year recognition still ending on the ``old_offset`` year to ``new_offset``."""
    old_end = _end_of_year(f"recognition.year + criteria_set.validity_years{old_offset}")
    new_end = _end_of_year(f"recognition.year + criteria_set.validity_years{new_offset}")
    matching = (
        "FROM criteria_set WHERE criteria_set.id = recognition.criteria_set_id "
        "AND criteria_set.validity_years > 1 AND recognition.valid_until IS NOT NULL "
        f"AND recognition.valid_until = {old_end}"
    )
    # The year that changes hands (Y+3) has stale target values: clear computed_at so the sweep recomputes it.
    op.execute(
        f"UPDATE target_state SET computed_at = NULL WHERE EXISTS (SELECT 1 FROM recognition, criteria_set "
        f"WHERE {matching.removeprefix('FROM criteria_set WHERE ')} "
        "AND target_state.commune_id = recognition.commune_id "
        "AND target_state.year = recognition.year + criteria_set.validity_years)"
    )
    op.execute(
        f"UPDATE recognition SET valid_until = (SELECT {new_end} {matching}) WHERE EXISTS (SELECT 1 {matching})"
    )


def upgrade():
    _move(" - 1", "")


def downgrade():
    _move("", " - 1")
