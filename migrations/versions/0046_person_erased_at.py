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


def downgrade():
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("erased_at")
