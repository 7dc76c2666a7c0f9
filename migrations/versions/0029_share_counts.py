"""incremental titles: maintained member counts of the shares of villages and the commune, and the metric values they hold (ADR 29)

Revision ID: 0029
Revises: 0023
Create Date: 2026-12-06 16:30:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "title_share_count",
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("share", sa.String(length=32), nullable=False),
        sa.Column("num", sa.Integer(), nullable=False),
        sa.Column("den", sa.Integer(), nullable=False),
        sa.Column("unk", sa.Integer(), nullable=False),
        sa.Column("na", sa.Integer(), nullable=False),
        sa.Column("nob", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "commune_id", "year", "subject_type", "subject_id", "share", name=op.f("pk_title_share_count")
        ),
    )
    with op.batch_alter_table("title_person_metric", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counted", sa.Numeric(precision=12, scale=1), nullable=True))
        batch_op.alter_column("value", existing_type=sa.Numeric(precision=12, scale=1), nullable=True)


def downgrade():
    op.execute("DELETE FROM title_person_metric WHERE value IS NULL")
    with op.batch_alter_table("title_person_metric", schema=None) as batch_op:
        batch_op.alter_column("value", existing_type=sa.Numeric(precision=12, scale=1), nullable=False)
        batch_op.drop_column("counted")
    op.drop_table("title_share_count")
