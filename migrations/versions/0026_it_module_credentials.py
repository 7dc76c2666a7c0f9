"""credentials for verified IT module sets

Revision ID: 0026
Revises: 0022
Create Date: 2026-12-06 14:05:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("issued_credential", schema=None) as batch_op:
        batch_op.add_column(sa.Column("it_certificate_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_issued_credential_it_certificate_id"), ["it_certificate_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_issued_credential_it_certificate_id_it_certificate"),
            "it_certificate",
            ["it_certificate_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("issued_credential", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_issued_credential_it_certificate_id_it_certificate"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_issued_credential_it_certificate_id"))
        batch_op.drop_column("it_certificate_id")
