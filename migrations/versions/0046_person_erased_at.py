"""person.erased_at: when what identified the person was erased at their request (ADR 57)

Revision ID: 0046
Revises: 0042
Create Date: 2026-12-07 10:05:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0046"
down_revision = "0042"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(), nullable=True))
    # The few erased persons by household, for an import's preview (ADR 57): a partial index, empty until an erasure.
    op.create_index(
        "ix_person_erased_household",
        "person",
        ["household_id"],
        postgresql_where=sa.text("erased_at IS NOT NULL"),
        sqlite_where=sa.text("erased_at IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_person_erased_household", table_name="person")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
