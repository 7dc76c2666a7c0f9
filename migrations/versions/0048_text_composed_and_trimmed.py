"""text stored before ADR 58's amendment: composed (NFC) and trimmed, with the keys derived from names recomputed

Revision ID: 0048
Revises: 0047
Create Date: 2026-12-07 18:00:00

Since ADR 58's amendment every form, API body and spreadsheet cell stores text composed and trimmed. What was stored
before stays as it was typed: a name typed with combining marks (NFD) was not found by an exact match nor by a
duplicate check; "Chủ hộ" in NFD was no head of household; an address kept its trailing spaces. This revision
rewrites the user-entered text columns as the boundary would have stored them, and each name's search and sort keys
with it.

Only rows that change are written (a province holds 600 000 persons, few of them in NFD):
- PostgreSQL (13 or later, for ``normalize`` and ``IS NFC NORMALIZED``) finds them in SQL. Plain text columns are
  rewritten by one UPDATE per table; names, whose keys only Python computes, are read (only the rows found) and
  written back in batches.
- SQLite has no Unicode normalisation: the rows are read in batches of ids, and only those whose text changes are
  written back. So is a PostgreSQL older than 13 or whose server encoding is not UTF8 (both refuse ``normalize``).

Names and keys are computed with the project's own functions (``lms.registry.text.name_keys`` as the ``_Named``
validator and the importer compute them, ``lms.core.forms.plain_text`` as every form stores text), not copies: the
keys must be those the application compares with. A name unique within its scope (a clan in its commune, a room in
its centre) that would become another row's name is left as it is and named in the log: the two are one, typed twice,
and someone merges them. A People's Committee's credential issuer is named as it signs from now on ("Ủy ban nhân dân
xã Ea Tu", ADR 32's amendment).

Codes (households', organisations', courses'), e-mail addresses, decision numbers and the IT certificates' issuers are
left as they are: each is unique or matched exactly elsewhere (an index, a printed decision, a login), so trimming one
could make two rows one (ADR 58, amended).
"""

import logging

import sqlalchemy as sa
from alembic import op

from lms.core.forms import plain_text
from lms.registry.text import fold, name_keys

# revision identifiers, used by Alembic.
revision = "0048"
down_revision = "0047"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

BATCH = 5000
#: What Python's str.strip() and str.split() take for a space: the characters PostgreSQL must trim the same way.
WHITESPACE = "".join(ch for ch in map(chr, range(0x110000)) if ch.isspace())

# Names with their derived keys: table, column, a person's name (sort key from the given name), unique scope.
NAMES: list[tuple[str, str, bool, tuple[str, ...]]] = [
    ("admin_unit", "name", False, ()),
    ("clan", "name", False, ("commune_id",)),
    ("person", "full_name", True, ()),
    ("organisation", "name", False, ()),
    ("clc", "name", False, ()),
    ("course", "name", False, ()),
    ("room", "name", False, ("clc_id",)),
    ("course_class", "name", False, ()),
]

# Text typed by someone, with nothing derived from it: table → columns.
PLAIN: dict[str, tuple[str, ...]] = {
    "user": ("name",),  # its search key (name_folded) is recomputed with it, below
    "api_token": ("name",),
    "admin_unit": ("kind",),
    "household": ("address",),
    "person": ("ethnicity", "relation_to_head", "phone"),
    "organisation": ("address",),
    "organisation_member": ("position",),
    "clc": ("address",),
    "course": ("description",),
    "class_session": ("place", "note"),
    "holiday": ("name",),
    "learning_record": ("evidence",),
    "it_certificate": ("note",),
    "certificate": ("revoked_reason",),
    "assessment": ("evidence_ref", "note"),
    "recognition": ("authority", "reason"),
    # Issuers' names are copied from a centre's or an authority's (their slug folds, so it does not change).
    "credential_issuer": ("name",),
}


def _postgresql() -> bool:
    """Whether the rows to rewrite can be found in SQL: a PostgreSQL that has ``normalize`` and ``IS NFC NORMALIZED``
    (13 or later; UTF8, the only encoding they accept). Any other database is read in batches."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or (bind.dialect.server_version_info or (0,)) < (13,):
        return False
    return bind.execute(sa.text("SHOW server_encoding")).scalar() == "UTF8"


def _quoted(name: str) -> str:
    return op.get_bind().dialect.identifier_preparer.quote(name)


def _may_change(column: str, name: bool) -> str:
    """PostgreSQL: a predicate true of every row whose ``column`` the rewrite changes (and of few others)."""
    c = _quoted(column)
    spaces = "[" + WHITESPACE + "]"
    # A name also loses a run of spaces or any space other than " " between its words.
    inner = "|" + "[" + WHITESPACE.replace(" ", "") + "]|  " if name else ""
    return f"({c} IS NOT NULL AND (NOT ({c} IS NFC NORMALIZED) OR {c} ~ '^{spaces}|{spaces}${inner}'))"


def _batches(table: sa.TableClause, columns: list[str], where: str | None):
    """The rows of ``table`` (id and ``columns``), in batches of ids; only those matching ``where`` if given."""
    bind = op.get_bind()
    last = 0
    while True:
        query = sa.select(table.c.id, *(table.c[c] for c in columns)).where(table.c.id > last)
        if where:
            query = query.where(sa.text(where))
        rows = bind.execute(query.order_by(table.c.id).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _write(table: sa.TableClause, changes: list[dict]) -> None:
    if changes:
        columns = [k for k in changes[0] if k != "_id"]
        op.get_bind().execute(
            table.update().where(table.c.id == sa.bindparam("_id")).values({c: sa.bindparam(c) for c in columns}),
            changes,
        )


def _names(table_name: str, column: str, person: bool, scope: tuple[str, ...]) -> int:
    table = sa.table(table_name, sa.column("id"), sa.column(column), *(sa.column(c) for c in scope))
    keys = sa.table(table_name, sa.column("id"), sa.column(column), sa.column("name_folded"), sa.column("sort_key"))
    bind = op.get_bind()
    taken: set[tuple] = set()
    changed = 0
    where = _may_change(column, name=True) if _postgresql() else None
    for rows in _batches(table, [column, *scope], where):
        changes = []
        for row in rows:
            old = row[1]
            if old is None:
                continue
            new, folded, sort_key = name_keys(old, person=person)
            if new == old:
                continue
            if scope:
                place = tuple(row[2:])
                clash = bind.execute(
                    sa.select(table.c.id)
                    .where(
                        table.c[column] == new,
                        table.c.id != row[0],
                        *(table.c[c] == v for c, v in zip(scope, place, strict=True)),
                    )
                    .limit(1)
                ).first()
                if clash is not None or (place, new) in taken:
                    log.warning(
                        "%s %s: %r left as it is, %r is another's name (merge them)", table_name, row[0], old, new
                    )
                    continue
                taken.add((place, new))
            changes.append({"_id": row[0], column: new, "name_folded": folded, "sort_key": sort_key})
        _write(keys, changes)
        changed += len(changes)
    return changed


def _plain(table_name: str, columns: tuple[str, ...]) -> int:
    table = sa.table(table_name, sa.column("id"), *(sa.column(c) for c in columns))
    if _postgresql():
        # One statement: every column set to itself composed and trimmed, only on rows where one of them changes.
        fixed = {c: f"btrim(normalize({_quoted(c)}, NFC), :spaces)" for c in columns}
        result = op.get_bind().execute(
            sa.text(
                f"UPDATE {_quoted(table_name)} SET "
                + ", ".join(f"{_quoted(c)} = {fixed[c]}" for c in columns)
                + " WHERE "
                + " OR ".join(f"{_quoted(c)} IS DISTINCT FROM {fixed[c]}" for c in columns)
            ),
            {"spaces": WHITESPACE},
        )
        return result.rowcount
    changed = 0
    for rows in _batches(table, list(columns), None):
        changes = []
        for row in rows:
            values = dict(zip(columns, row[1:], strict=True))
            new = {c: plain_text(v) for c, v in values.items()}
            if new != values:
                changes.append({"_id": row[0], **new})
        _write(table, changes)
        changed += len(changes)
    return changed


def _user_keys() -> int:
    """Accounts whose name was rewritten (or never folded as it is now): their search key again. A few thousand
    rows at most, read whole."""
    user = sa.table("user", sa.column("id"), sa.column("name"), sa.column("name_folded"))
    changed = 0
    for rows in _batches(user, ["name", "name_folded"], None):
        changes = [{"_id": uid, "name_folded": fold(name)} for uid, name, folded in rows if fold(name) != folded]
        _write(user, changes)
        changed += len(changes)
    return changed


def _committees_in_a_sentence() -> int:
    """A People's Committee vouching for IT certificates was named "Ủy ban nhân dân Xã Ea Tu" (ADR 32's amendment):
    named as it now signs, "… xã Ea Tu", so the verification pages call it so for what it signed before too. The
    issuers are few (one per commune at most): read whole."""
    issuer = sa.table("credential_issuer", sa.column("id"), sa.column("kind"), sa.column("name"), sa.column("unit_id"))
    unit = sa.table("admin_unit", sa.column("id"), sa.column("kind"), sa.column("name"))
    rows = op.get_bind().execute(
        sa.select(issuer.c.id, issuer.c.name, unit.c.kind, unit.c.name)
        .join(unit, unit.c.id == issuer.c.unit_id)
        .where(issuer.c.kind == "authority")
    )
    changes = [
        {"_id": iid, "name": f"Ủy ban nhân dân {kind.lower()} {name}".strip()}
        for iid, current, kind, name in rows
        if kind and current == f"Ủy ban nhân dân {kind} {name}".strip() and kind != kind.lower()
    ]
    _write(issuer, changes)
    return len(changes)


def upgrade():
    for table_name, column, person, scope in NAMES:
        count = _names(table_name, column, person, scope)
        if count:
            log.info("%s.%s: %d names composed and trimmed, their keys recomputed", table_name, column, count)
    for table_name, columns in PLAIN.items():
        count = _plain(table_name, columns)
        if count:
            log.info("%s: %d rows composed and trimmed (%s)", table_name, count, ", ".join(columns))
    _user_keys()
    _committees_in_a_sentence()


def downgrade():
    # Nothing to undo: the text composed and trimmed is the text as typed, in the form every boundary now stores; the
    # decomposed and padded spellings were never meant and cannot be told apart afterwards.
    pass
