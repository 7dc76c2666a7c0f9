"""pending work: when its task was last sent, so a change to work already sent sends no second message; marked_at no longer indexed (ADR 28)

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 19:00:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    # Rows already pending get no time: the sweep sends them at its next run, as it did before.
    with op.batch_alter_table("pending_work", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sent_at", sa.DateTime(), nullable=True))
        # The sweep no longer orders by it; every change rewrites it, and an unindexed column is updated in place.
        batch_op.drop_index(batch_op.f("ix_pending_work_marked_at"))


def downgrade():
    with op.batch_alter_table("pending_work", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_work_marked_at"), ["marked_at"], unique=False)
        batch_op.drop_column("sent_at")
