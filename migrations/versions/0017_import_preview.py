"""import jobs: preview before apply (dry run, stored preview and its digest, status "previewed")

Revision ID: 0017
Revises: 0021
Create Date: 2026-12-06 10:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0021'
branch_labels = None
depends_on = None

OLD = "status IN ('pending', 'running', 'succeeded', 'failed')"
NEW = "status IN ('pending', 'running', 'previewed', 'succeeded', 'failed')"


def upgrade():
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dry_run', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('preview', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('preview_digest', sa.String(length=64), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_import_job_status_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_import_job_status_valid'), sa.text(NEW))


def downgrade():
    op.execute("UPDATE import_job SET status = 'failed' WHERE status = 'previewed'")
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_import_job_status_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_import_job_status_valid'), sa.text(OLD))
        batch_op.drop_column('preview_digest')
        batch_op.drop_column('preview')
        batch_op.drop_column('dry_run')
