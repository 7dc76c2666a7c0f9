"""user.must_change_password: an account created or reset by an administrator leads to the password change (ADR 52)

Revision ID: 0041
Revises: 0036
Create Date: 2026-12-07 07:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0041"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade():
    # Accounts so far chose their passwords (the command line, or the change page): none must change it.
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
