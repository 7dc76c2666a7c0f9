"""it_certificate.modules: the advanced modules an advanced IT certificate attests (Joint Circular 17/2016, Art. 16.2)

Revision ID: 0035
Revises: 0032
Create Date: 2026-12-07 00:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0035"
down_revision = "0032"
branch_labels = None
depends_on = None


def upgrade():
    # Every certificate recorded so far is a basic one (the form had no other): an empty list.
    with op.batch_alter_table("it_certificate", schema=None) as batch_op:
        batch_op.add_column(sa.Column("modules", sa.JSON(), server_default="[]", nullable=False))


def downgrade():
    with op.batch_alter_table("it_certificate", schema=None) as batch_op:
        batch_op.drop_column("modules")
