"""Migration 0048: text stored before the boundaries composed and trimmed it (ADR 58) is composed and trimmed, and the
keys derived from names recomputed, on SQLite (rows read in batches) as on PostgreSQL (rows found in SQL). Rows that
need nothing are not written: a stale key left on one of them stays stale."""

from __future__ import annotations

import importlib.util
import unicodedata
from pathlib import Path

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, update

from lms.auth.models import Role, User
from lms.extensions import db
from lms.registry.models import Clan, Household, Person
from lms.registry.text import fold, person_sort_key
from tests.conftest import make_household, make_user, make_village, unit_by_code

NAME = "Nguyễn Thị Hường"
NFD = unicodedata.normalize("NFD", NAME)
HEAD = unicodedata.normalize("NFD", "Chủ hộ")


def _run(step: str) -> None:
    path = Path(__file__).parents[1] / "migrations" / "versions" / "0048_text_composed_and_trimmed.py"
    spec = importlib.util.spec_from_file_location("migration_0048", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with Operations.context(MigrationContext.configure(db.session.connection())):
        getattr(module, step)()
    db.session.expire_all()


def _as_typed_before(model, row_id: int, **values) -> None:
    """Write as the boundaries did before: a Core UPDATE, past the ORM's validator."""
    db.session.execute(update(model).where(model.id == row_id).values(**values))


def test_names_stored_decomposed_are_composed_and_found(app_ctx):
    commune = unit_by_code("23293")
    village = make_village(commune, "NFD-1", "Thôn Dấu")
    household = make_household(village, "1", "Lê Văn Chủ", "Trần Văn Khách")
    head, other = sorted(household.members, key=lambda p: p.id)
    _as_typed_before(
        Person, other.id, full_name=f"  {NFD} ", relation_to_head=HEAD, ethnicity=" Kinh ", name_folded="stale"
    )
    _as_typed_before(Person, head.id, relation_to_head="Con", name_folded="stale and untouched")
    _as_typed_before(Household, household.id, address=f" {unicodedata.normalize('NFD', 'Thôn Dấu, xã Ea Tu')}  ")
    user = make_user(Role.COMMUNE_LEADER, commune, "nfd.user@example.vn")
    _as_typed_before(User, user.id, name=f"{NFD} ", name_folded="")
    db.session.flush()
    assert db.session.scalar(select(Person).where(Person.full_name == NAME)) is None

    _run("upgrade")

    person = db.session.get(Person, other.id)
    assert person.full_name == NAME
    assert person.name_folded == fold(NAME) == "nguyen thi huong"
    assert person.sort_key == person_sort_key(NAME)
    assert person.ethnicity == "Kinh"
    assert db.session.scalar(select(Person).where(Person.full_name == NAME)).id == other.id  # an exact match finds her
    assert db.session.get(Household, household.id).head.id == other.id  # "Chủ hộ" in NFD was no head
    assert db.session.get(Household, household.id).address == "Thôn Dấu, xã Ea Tu"
    # A row with nothing to compose was not written: its stale key is still there.
    assert db.session.get(Person, head.id).name_folded == "stale and untouched"
    account = db.session.get(User, user.id)
    assert (account.name, account.name_folded) == (NAME, "nguyen thi huong")

    _run("upgrade")  # twice: nothing moves further
    assert db.session.get(Person, other.id).full_name == NAME
    _run("downgrade")  # nothing to undo
    assert db.session.get(Person, other.id).full_name == NAME


def test_a_name_that_would_become_anothers_is_left_for_someone_to_merge(app_ctx):
    commune = unit_by_code("23293")
    kept = Clan(commune_id=commune.id, name="Họ Lê Đình")
    twice = Clan(commune_id=commune.id, name="Họ Lê Đình typed twice")
    alone = Clan(commune_id=commune.id, name="Họ Trần Văn")
    spaced = Clan(commune_id=commune.id, name="Họ Phạm")
    db.session.add_all([kept, twice, alone, spaced])
    db.session.flush()
    _as_typed_before(Clan, spaced.id, name="Họ  Phạm\u00a0")  # composed already: only the spaces are wrong
    _as_typed_before(Clan, twice.id, name=unicodedata.normalize("NFD", "Họ Lê Đình"))
    _as_typed_before(Clan, alone.id, name=unicodedata.normalize("NFD", " Họ Trần  Văn"))
    db.session.flush()

    _run("upgrade")  # no unique violation: the clan typed twice keeps its spelling

    assert db.session.get(Clan, kept.id).name == "Họ Lê Đình"
    assert db.session.get(Clan, twice.id).name == unicodedata.normalize("NFD", "Họ Lê Đình")
    assert db.session.get(Clan, alone.id).name == "Họ Trần Văn"
    assert db.session.get(Clan, alone.id).name_folded == "ho tran van"
    assert db.session.get(Clan, spaced.id).name == "Họ Phạm"


def test_a_committee_issuer_is_named_as_it_now_signs(app_ctx):
    """ADR 32's amendment: "Ủy ban nhân dân Xã …" becomes "Ủy ban nhân dân xã …" on the verification pages too; an
    issuer named otherwise (a centre, an authority from the approvals file) keeps its name."""
    from lms.credentials.models import Issuer

    commune = unit_by_code("23302")
    committee = Issuer(
        slug="commune-test-committee",
        kind="authority",
        name=f"Ủy ban nhân dân {commune.kind} {commune.name}",
        unit_id=commune.id,
    )
    other = Issuer(
        slug="commune-test-association", kind="authority", name="Hội Khuyến học Xã Ea Tu", unit_id=commune.id
    )
    db.session.add_all([committee, other])
    db.session.flush()
    assert commune.kind != commune.kind.lower()

    _run("upgrade")

    assert db.session.get(Issuer, committee.id).name == f"Ủy ban nhân dân {commune.kind.lower()} {commune.name}"
    assert db.session.get(Issuer, other.id).name == "Hội Khuyến học Xã Ea Tu"


def test_a_postgresql_older_than_13_is_read_in_batches(app_ctx, monkeypatch):
    """``normalize`` and ``IS NFC NORMALIZED`` came with PostgreSQL 13 (and need a UTF8 server): an older server (12 is
    Ubuntu 20.04's) is rewritten as SQLite is, by reading the rows — the migration never sends either to it."""
    from sqlalchemy import event

    commune = unit_by_code("23293")
    village = make_village(commune, "NFD-12", "Thôn Mười Hai")
    household = make_household(village, "12", "Lê Văn Mười")
    (person,) = household.members
    _as_typed_before(Person, person.id, full_name=f"{NFD}  ", ethnicity=" Kinh")
    _as_typed_before(Household, household.id, address=" Thôn Mười Hai ")
    db.session.flush()
    connection = db.session.connection()
    monkeypatch.setattr(connection.dialect, "server_version_info", (12, 17), raising=False)
    sent: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(connection.engine, "before_cursor_execute", record)
    try:
        _run("upgrade")
    finally:
        event.remove(connection.engine, "before_cursor_execute", record)

    assert sent  # the migration ran its statements through this connection
    assert not [s for s in sent if "normalize" in s.lower()]
    person = db.session.get(Person, person.id)
    assert (person.full_name, person.name_folded, person.ethnicity) == (NAME, "nguyen thi huong", "Kinh")
    assert db.session.get(Household, household.id).address == "Thôn Mười Hai"
