"""person.birth_year_only: only the year of birth is known ("1948" in a commune register); birth_date holds 1 January

Revision ID: 0038
Revises: 0041
Create Date: 2026-12-07 07:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0038"
down_revision = "0041"
branch_labels = None
depends_on = None


def upgrade():
    # Every birth date recorded so far came as a whole date (the import refused a year alone): all known days.
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_year_only", sa.Boolean(), server_default=sa.text("false"), nullable=False))


def downgrade():
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("birth_year_only")
