"""work attempts: failed attempts, last error, next try and parking on the outbox marks (ADR 23)

Revision ID: 0020
Revises: 0014
Create Date: 2026-12-06 10:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0014'
branch_labels = None
depends_on = None

TABLES = ('evaluation_state', 'pending_work', 'target_state')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
            batch_op.add_column(sa.Column('last_error', sa.Text(), server_default='', nullable=False))
            batch_op.add_column(sa.Column('next_try_at', sa.DateTime(), nullable=True))
            batch_op.add_column(sa.Column('parked_at', sa.DateTime(), nullable=True))
            batch_op.create_index(batch_op.f(f'ix_{table}_parked_at'), ['parked_at'], unique=False)


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_parked_at'))
            batch_op.drop_column('parked_at')
            batch_op.drop_column('next_try_at')
            batch_op.drop_column('last_error')
            batch_op.drop_column('attempts')
