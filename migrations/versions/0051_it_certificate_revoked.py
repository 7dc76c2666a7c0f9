"""it_certificate: a certificate revoked by its test centre (status "revoked")

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-07 20:40:00

Joint Circular 17/2016, Art. 17.2: the head of the test centre "có thẩm quyền cấp và thu hồi chứng chỉ". A revoked
certificate grants nothing, and keeps its centre and number (the one-live-record index of 0047 counts every status
but "rejected"), ADR 60.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0051"
down_revision = "0050"
branch_labels = None
depends_on = None

WITH = "status IN ('pending', 'verified', 'rejected', 'revoked')"
WITHOUT = "status IN ('pending', 'verified', 'rejected')"


def upgrade():
    with op.batch_alter_table("it_certificate") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_it_certificate_status_valid"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_it_certificate_status_valid"), sa.text(WITH))


def downgrade():
    # A revoked certificate was verified, then withdrawn: without the status it is a rejected record (grants nothing).
    op.execute("UPDATE it_certificate SET status = 'rejected' WHERE status = 'revoked'")
    with op.batch_alter_table("it_certificate") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_it_certificate_status_valid"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_it_certificate_status_valid"), sa.text(WITHOUT))
