"""breakdowns: each distinct eligibility breakdown stored once (ADR 8)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 10:07:51.770491

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('eligibility_breakdown',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=32), nullable=False),
    sa.Column('content', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eligibility_breakdown'))
    )
    with op.batch_alter_table('eligibility_breakdown', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eligibility_breakdown_digest'), ['digest'], unique=False)

    with op.batch_alter_table('eligibility', schema=None) as batch_op:
        batch_op.add_column(sa.Column('breakdown_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_eligibility_breakdown_id_eligibility_breakdown'), 'eligibility_breakdown', ['breakdown_id'], ['id'])

    # Existing breakdowns move as they are, one row each, under a digest the engine never computes ("migrated:<id>"
    # is not hexadecimal): their content is right, and the engine replaces them by shared rows as it rewrites rows.
    op.execute("INSERT INTO eligibility_breakdown (digest, content) "
               "SELECT 'migrated:' || CAST(id AS VARCHAR(12)), breakdown FROM eligibility")
    op.execute("UPDATE eligibility SET breakdown_id = (SELECT b.id FROM eligibility_breakdown b "
               "WHERE b.digest = 'migrated:' || CAST(eligibility.id AS VARCHAR(12)))")

    with op.batch_alter_table('eligibility', schema=None) as batch_op:
        batch_op.drop_column('breakdown')


def downgrade():
    with op.batch_alter_table('eligibility', schema=None) as batch_op:
        batch_op.add_column(sa.Column('breakdown', sa.JSON(), nullable=True))
    op.execute("UPDATE eligibility SET breakdown = (SELECT b.content FROM eligibility_breakdown b "
               "WHERE b.id = eligibility.breakdown_id)")
    op.execute("UPDATE eligibility SET breakdown = '[]' WHERE breakdown IS NULL")
    with op.batch_alter_table('eligibility', schema=None) as batch_op:
        batch_op.alter_column('breakdown', existing_type=sa.JSON(), nullable=False)
        batch_op.drop_constraint(batch_op.f('fk_eligibility_breakdown_id_eligibility_breakdown'), type_='foreignkey')
        batch_op.drop_column('breakdown_id')

    with op.batch_alter_table('eligibility_breakdown', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eligibility_breakdown_digest'))

    op.drop_table('eligibility_breakdown')
