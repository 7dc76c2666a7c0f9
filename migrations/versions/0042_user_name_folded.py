"""user.name_folded: the accounts page searches names as the registry searches people, whatever the case and the
diacritics, on SQLite as on PostgreSQL (ADR 52's amendment)

Revision ID: 0042
Revises: 0038
Create Date: 2026-12-07 10:20:00

"""

import unicodedata

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0042"
down_revision = "0038"
branch_labels = None
depends_on = None


def _fold(text: str) -> str:
    """lms.registry.text.fold as it is when this revision is written (a migration does not follow later changes)."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return " ".join("".join(ch for ch in decomposed if not unicodedata.combining(ch)).split())


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_folded", sa.String(length=200), server_default="", nullable=False))
    # The accounts so far (a few thousand at most): read once, written as one executemany UPDATE.
    bind = op.get_bind()
    user = sa.table("user", sa.column("id", sa.Integer), sa.column("name", sa.String), sa.column("name_folded"))
    rows = [{"uid": uid, "folded": _fold(name or "")} for uid, name in bind.execute(sa.select(user.c.id, user.c.name))]
    if rows:
        bind.execute(
            user.update().where(user.c.id == sa.bindparam("uid")).values(name_folded=sa.bindparam("folded")), rows
        )


def downgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("name_folded")
