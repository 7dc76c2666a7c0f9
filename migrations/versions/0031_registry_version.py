"""registry versions per commune; what a commune's last full evaluation read; communes a run left unchanged (ADR 41)

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-06 19:10:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "registry_version",
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["commune_id"],
            ["admin_unit.id"],
            name=op.f("fk_registry_version_commune_id_admin_unit"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("commune_id", name=op.f("pk_registry_version")),
    )
    with op.batch_alter_table("evaluation_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("inputs_key", sa.String(length=32), nullable=True))
    with op.batch_alter_table("evaluation_run_commune", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unchanged", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("evaluation_run_commune", schema=None) as batch_op:
        batch_op.drop_column("unchanged")
    with op.batch_alter_table("evaluation_state", schema=None) as batch_op:
        batch_op.drop_column("inputs_key")
    op.drop_table("registry_version")
