"""decision_print: a decision's certificates drawn by a task, its progress and the PDF kept until the next print (ADR 47)

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07 07:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "decision_print",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recognition_id", sa.Integer(), nullable=False),
        sa.Column("commune_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=24), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("decision_number", sa.String(length=60), nullable=False),
        sa.Column("decision_date", sa.Date(), nullable=False),
        sa.Column("running_key", sa.String(length=160), nullable=True),
        sa.Column("base_url", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name=op.f("ck_decision_print_status_valid")
        ),
        sa.ForeignKeyConstraint(
            ["commune_id"], ["admin_unit.id"], name=op.f("fk_decision_print_commune_id_admin_unit")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_decision_print_created_by_id_user"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["recognition_id"],
            ["recognition.id"],
            name=op.f("fk_decision_print_recognition_id_recognition"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_print")),
        sa.UniqueConstraint("running_key", name=op.f("uq_decision_print_running_key")),
    )
    with op.batch_alter_table("decision_print", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decision_print_commune_id"), ["commune_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_print_recognition_id"), ["recognition_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decision_print_status"), ["status"], unique=False)


def downgrade():
    with op.batch_alter_table("decision_print", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decision_print_status"))
        batch_op.drop_index(batch_op.f("ix_decision_print_recognition_id"))
        batch_op.drop_index(batch_op.f("ix_decision_print_commune_id"))
    op.drop_table("decision_print")
