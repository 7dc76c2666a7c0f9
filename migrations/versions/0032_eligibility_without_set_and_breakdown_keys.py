"""eligibility: no foreign key to its criteria set and breakdown (ADR 40, amended: a commune's fixed cost and the last two foreign keys)

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-06 21:45:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    # Only the engine writes these columns, from the criteria set and the breakdown it read or wrote in the same
    # transaction, and neither parent is ever deleted (versions and breakdowns are immutable history): the keys
    # only made every row the engine writes check two parents (a COPY of a large commune 1.35 s against 0.79 s).
    with op.batch_alter_table("eligibility", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_eligibility_criteria_set_id_criteria_set"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_eligibility_breakdown_id_eligibility_breakdown"), type_="foreignkey"
        )


def downgrade():
    with op.batch_alter_table("eligibility", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_eligibility_breakdown_id_eligibility_breakdown"),
            "eligibility_breakdown",
            ["breakdown_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_eligibility_criteria_set_id_criteria_set"), "criteria_set", ["criteria_set_id"], ["id"]
        )
