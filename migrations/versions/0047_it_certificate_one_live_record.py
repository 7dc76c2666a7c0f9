"""it_certificate: one live record per certificate (issuer and number), a rejected one holding nothing

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-07 12:00:00

A national IT certificate is its test centre's number (Joint Circular 17/2016, Art. 17.2): the same number of the
same centre recorded for two persons is one of them wrongly. The index refuses a second live record; the service
refuses it first with a message naming the other record (courses.it_skills.held_by_another).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0047"
down_revision = "0046"
branch_labels = None
depends_on = None

LIVE = "status <> 'rejected'"


def upgrade():
    # Records made before the rule may already hold the same certificate twice: say which, rather than fail on the
    # index with a bare duplicate-key error. A centre manager rejects the wrong one, then the upgrade is run again.
    clashes = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT number, issuer, COUNT(*) FROM it_certificate WHERE status <> 'rejected' "
                "GROUP BY number, issuer HAVING COUNT(*) > 1 ORDER BY number, issuer"
            )
        )
        .all()
    )
    if clashes:
        listed = "; ".join(f"{number} ({issuer}): {count} records" for number, issuer, count in clashes[:20])
        raise RuntimeError(
            "it_certificate: the same certificate is recorded for several persons; reject the wrong records "
            f"(IT certificates page) and upgrade again: {listed}"
        )
    op.create_index(
        "uq_it_certificate_number_issuer",
        "it_certificate",
        ["number", "issuer"],
        unique=True,
        postgresql_where=sa.text(LIVE),
        sqlite_where=sa.text(LIVE),
    )


def downgrade():
    op.drop_index("uq_it_certificate_number_issuer", table_name="it_certificate")
