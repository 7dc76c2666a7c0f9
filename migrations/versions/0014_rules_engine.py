"""rules: a plain "difficult" area class (Circular 25, Art. 6.5.b); the commune People's Committee as a kind of organisation (Circular 24, Art. 2.3); eligibility rows of subjects a title does not apply to

Revision ID: 0014
Revises: 0017
Create Date: 2026-12-06 10:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0017'
branch_labels = None
depends_on = None

OLD_AREAS = "area_class IN ('standard', 'mountainous', 'especially_difficult', 'border')"
NEW_AREAS = "area_class IN ('standard', 'mountainous', 'difficult', 'especially_difficult', 'border')"
OLD_KINDS = "kind IN ('agency', 'public_service', 'school', 'enterprise', 'association', 'other')"
NEW_KINDS = "kind IN ('agency', 'commune_committee', 'public_service', 'school', 'enterprise', 'association', 'other')"


def upgrade():
    with op.batch_alter_table('admin_unit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_admin_unit_area_class_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_admin_unit_area_class_valid'), sa.text(NEW_AREAS))
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_organisation_kind_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_organisation_kind_valid'), sa.text(NEW_KINDS))
    with op.batch_alter_table('eligibility', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applicable', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('eligibility', schema=None) as batch_op:
        batch_op.drop_column('applicable')
    op.execute("UPDATE organisation SET kind = 'agency' WHERE kind = 'commune_committee'")
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_organisation_kind_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_organisation_kind_valid'), sa.text(OLD_KINDS))
    # Communes of the new class go back to the closest old one (the lower bars no longer exist without it).
    op.execute("UPDATE admin_unit SET area_class = 'mountainous' WHERE area_class = 'difficult'")
    with op.batch_alter_table('admin_unit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_admin_unit_area_class_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_admin_unit_area_class_valid'), sa.text(OLD_AREAS))
