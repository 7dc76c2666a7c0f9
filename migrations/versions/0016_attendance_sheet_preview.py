"""attendance sheet previews: what an uploaded paper sheet would write, until the user confirms it

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-06 10:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('attendance_sheet_preview',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('cells', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['course_class.id'], name=op.f('fk_attendance_sheet_preview_class_id_course_class'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_attendance_sheet_preview_user_id_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_attendance_sheet_preview'))
    )
    with op.batch_alter_table('attendance_sheet_preview', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attendance_sheet_preview_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attendance_sheet_preview_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('attendance_sheet_preview', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attendance_sheet_preview_created_at'))
        batch_op.drop_index(batch_op.f('ix_attendance_sheet_preview_class_id'))

    op.drop_table('attendance_sheet_preview')
