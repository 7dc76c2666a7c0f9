"""eligibility: one index for the commune's and the village's lists (ADR 40, amended: what is stored, the indexes)

Revision ID: 0049
Revises: 0048
Create Date: 2026-12-07 18:00:00

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0049"
down_revision = "0048"
branch_labels = None
depends_on = None


def upgrade():
    # The village's lists (who lags in a village, the village filter of the lists and the API, the proposable
    # subjects of a village) now name the village's commune too, so the commune's index with the village as its
    # last column serves them; the index led by the village cost every row the engine writes one more index insert.
    # Built before the old ones are dropped: the lists are never without an index.
    with op.batch_alter_table("eligibility", schema=None) as batch_op:
        batch_op.create_index(
            "ix_eligibility_commune_year_title_village", ["commune_id", "year", "title", "village_id"], unique=False
        )
        batch_op.drop_index("ix_eligibility_village_year_title")
        batch_op.drop_index("ix_eligibility_commune_year_title")


def downgrade():
    with op.batch_alter_table("eligibility", schema=None) as batch_op:
        batch_op.create_index("ix_eligibility_commune_year_title", ["commune_id", "year", "title"], unique=False)
        batch_op.create_index("ix_eligibility_village_year_title", ["village_id", "year", "title"], unique=False)
        batch_op.drop_index("ix_eligibility_commune_year_title_village")
