"""incremental titles: per-person yearly metrics, dirty subjects, partial marks (ADR 29)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 13:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('title_person_metric',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Numeric(precision=12, scale=1), nullable=False),
    sa.PrimaryKeyConstraint('person_id', 'year', 'metric', name=op.f('pk_title_person_metric'))
    )
    op.create_table('evaluation_dirty_subject',
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('subject_id', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('commune_id', 'year', 'subject_type', 'subject_id', name=op.f('pk_evaluation_dirty_subject'))
    )
    with op.batch_alter_table('evaluation_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('partial', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('metrics_key', sa.String(length=32), nullable=True))
    # The subject implies its commune and village: no foreign key checked per eligibility row written.
    with op.batch_alter_table('eligibility', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_eligibility_commune_id_admin_unit'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_eligibility_village_id_admin_unit'), type_='foreignkey')


def downgrade():
    with op.batch_alter_table('eligibility', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_eligibility_village_id_admin_unit'), 'admin_unit', ['village_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_eligibility_commune_id_admin_unit'), 'admin_unit', ['commune_id'], ['id'])
    with op.batch_alter_table('evaluation_state', schema=None) as batch_op:
        batch_op.drop_column('metrics_key')
        batch_op.drop_column('partial')
    op.drop_table('evaluation_dirty_subject')
    op.drop_table('title_person_metric')
