"""The demo population: reproducible, plausible, loaded in bulk; and the commands that load it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from statistics import mean
from typing import Any

from flask import Flask
from sqlalchemy import case, func, select

from lms.auth.models import RoleAssignment, User
from lms.auth.services import authenticate
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry import demo
from lms.registry.demo_cli import DEMO_LOGINS, DEMO_PASSWORD
from lms.registry.models import (
    AdminUnit,
    AssociationMembership,
    AssociationRole,
    BoardRole,
    Clan,
    Clc,
    Household,
    Organisation,
    Person,
    UnitLevel,
)
from lms.registry.pii import decrypt_id_number
from lms.registry.text import collation_key, fold, person_sort_key
from tests.conftest import unit_by_code

SEED = 11


def _load(seed: int = SEED, scale: str = "demo") -> demo.LoadStats:
    return demo.load_demo_data(demo.plan_demo(seed, scale))


def _id_range(table: str) -> tuple[int, int]:
    marker = demo.demo_marker()
    assert marker is not None
    first, last = marker.details["id_ranges"][table]
    return first, last


@dataclass
class _Snapshot:
    counts: dict[str, int]
    persons: list[tuple[Any, ...]]
    villages: list[tuple[Any, ...]]


def _snapshot(seed: int) -> _Snapshot:
    """Load in a savepoint, read back what was written (ID numbers decrypted: their ciphertext is randomised),
    and roll back, so the next load starts from the same database."""
    savepoint = db.session.begin_nested()
    stats = _load(seed)
    persons = [
        (*row[:-1], decrypt_id_number(row[-1]) if row[-1] else None)
        for row in db.session.execute(
            select(
                Person.id,
                Person.full_name,
                Person.birth_date,
                Person.sex,
                Person.ethnicity,
                Person.occupation_group,
                Person.relation_to_head,
                Person.household_id,
                Person.unit_id,
                Person.id_number_encrypted,
            )
            .where(Person.id.between(*_id_range("person")))
            .order_by(Person.id)
        )
    ]
    villages = list(
        db.session.execute(
            select(AdminUnit.id, AdminUnit.code, AdminUnit.kind, AdminUnit.name, AdminUnit.path)
            .where(AdminUnit.id.between(*_id_range("admin_unit")))
            .order_by(AdminUnit.id)
        ).tuples()
    )
    savepoint.rollback()
    return _Snapshot(dict(stats.rows), persons, villages)


def test_the_same_seed_gives_the_same_population_and_another_seed_another(app_ctx):
    first, again, other = _snapshot(SEED), _snapshot(SEED), _snapshot(SEED + 1)
    assert first.counts["person"] > 900
    assert first == again
    assert [p[1] for p in other.persons] != [p[1] for p in first.persons]


def test_the_scales_plan_one_three_or_forty_communes(app_ctx):
    province = demo.plan_demo(SEED, "province")
    assert len(province.communes) == 40
    assert province.households == demo.PROVINCE_HOUSEHOLDS
    assert all(c.households > 500 for c in province.communes)
    commune = demo.plan_demo(SEED, "commune")
    assert [c.code for c in commune.communes] == [demo.DEMO_COMMUNES[0]]
    assert 2_000 <= commune.households <= 8_000
    small = demo.plan_demo(SEED, "demo")
    assert [c.code for c in small.communes] == list(demo.DEMO_COMMUNES)
    assert small.households == 300


def test_households_have_one_head_and_live_in_their_village(app_ctx):
    stats = _load()
    is_head = case((Person.relation_to_head == "Chủ hộ", 1), else_=0)
    sizes = db.session.execute(
        select(func.count(Person.id), func.sum(is_head))
        .select_from(Household)
        .join(Person, Person.household_id == Household.id)
        .where(Household.id.between(*_id_range("household")))
        .group_by(Household.id)
    ).all()
    assert len(sizes) == stats.rows["household"] == 300
    assert all(1 <= size <= 8 and heads == 1 for size, heads in sizes)
    assert 3.5 <= mean(size for size, _ in sizes) <= 4.6
    elsewhere = db.session.scalar(
        select(func.count())
        .select_from(Person)
        .join(Household, Person.household_id == Household.id)
        .where(Person.unit_id != Household.village_id)
    )
    assert elsewhere == 0


def test_villages_sit_under_the_demo_communes_with_paths_and_keys(app_ctx):
    _load()
    for code in demo.DEMO_COMMUNES:
        commune = unit_by_code(code)
        villages = db.session.scalars(
            select(AdminUnit).where(AdminUnit.parent_id == commune.id, AdminUnit.level == UnitLevel.VILLAGE)
        ).all()
        assert 8 <= len(villages) <= 20
        assert len({v.name for v in villages}) == len(villages)
        for village in villages:
            assert village.code.startswith(f"{code}-")
            assert village.path == f"{commune.path}{village.id}/"
            assert (village.name_folded, village.sort_key) == (fold(village.name), collation_key(village.name))
            assert village.valid_to is None
    person = db.session.get(Person, _id_range("person")[0])
    assert person is not None
    assert (person.name_folded, person.sort_key) == (fold(person.full_name), person_sort_key(person.full_name))


def test_about_half_are_ethnic_minorities_with_their_own_names(app_ctx):
    _load()
    persons = db.session.execute(
        select(Person.full_name, Person.ethnicity).where(Person.id.between(*_id_range("person")))
    ).all()
    minority = [name for name, ethnicity in persons if ethnicity != "Kinh"]
    assert 0.4 <= len(minority) / len(persons) <= 0.65
    # Highland names such as "A Thịnh" and "Y Blơng" are there, and Vietnamese diacritics are kept.
    assert any(re.fullmatch(r"[AY] \w+", name) for name in minority)
    assert any(fold(name) != name.lower() for name, _ in persons)


def test_about_half_of_adults_have_a_unique_well_formed_id_number(app_ctx):
    _load()
    adults = db.session.execute(
        select(Person.birth_date, Person.sex, Person.id_number_encrypted, Person.id_number_hint).where(
            Person.id.between(*_id_range("person")), Person.birth_date <= demo.REFERENCE_DAY.replace(year=2007)
        )
    ).all()
    numbered = [(birth, sex, decrypt_id_number(token), hint) for birth, sex, token, hint in adults if token]
    assert 0.35 <= len(numbered) / len(adults) <= 0.65
    numbers = [number for _, _, number, _ in numbered]
    assert len(set(numbers)) == len(numbers)
    for birth, sex, number, hint in numbered:
        assert re.fullmatch(r"\d{12}", number)
        century_sex = (0 if birth.year < 2000 else 2) + (sex == "F")
        assert number[3:6] == f"{century_sex}{birth.year % 100:02d}"
        assert hint == number[-3:]


def test_each_commune_has_one_centre_with_a_board_tied_to_the_association(app_ctx):
    stats = _load()
    assert stats.rows["clan"] > 0
    assert stats.rows["clan_household"] > 0
    for code in demo.DEMO_COMMUNES:
        commune = unit_by_code(code)
        centres = db.session.scalars(select(Clc).where(Clc.commune_id == commune.id)).all()
        assert [c.name for c in centres] == [f"Trung tâm học tập cộng đồng {commune.kind.lower()} {commune.name}"]
        roles = [m.role for m in centres[0].board]
        assert roles.count(BoardRole.DIRECTOR) == 1
        assert 1 <= roles.count(BoardRole.DEPUTY_DIRECTOR) <= 2
        leaders = set(
            db.session.scalars(
                select(AssociationMembership.person_id).where(
                    AssociationMembership.unit_id == commune.id,
                    AssociationMembership.role.in_([AssociationRole.CHAIR, AssociationRole.VICE_CHAIR]),
                )
            )
        )
        assert len(leaders) == 3
        assert any(m.person_id in leaders for m in centres[0].board if m.role == BoardRole.DEPUTY_DIRECTOR)
        assert (
            db.session.scalar(
                select(func.count()).select_from(Organisation).where(Organisation.commune_id == commune.id)
            )
            >= 6
        )
        assert db.session.scalar(select(func.count()).select_from(Clan).where(Clan.commune_id == commune.id)) > 0


def test_the_load_is_a_few_bulk_statements(app_ctx, count_queries):
    plan = demo.plan_demo(SEED, "demo")
    with count_queries() as counter:
        stats = demo.load_demo_data(plan)
    assert stats.total_rows > 1_500
    assert counter.count <= 40, counter.statements
    assert counter.count * 50 < stats.total_rows


def test_records_added_after_a_load_get_fresh_ids(app_ctx):
    """The explicit ids of a bulk load must not collide with what the database hands out next (PostgreSQL's
    sequences have to be moved past them)."""
    _load()
    village_id = _id_range("admin_unit")[0]
    household = Household(village_id=village_id, code="NEW-0001")
    db.session.add(household)
    db.session.flush()
    person = Person(full_name="Người Mới Đến", unit_id=village_id, household_id=household.id)
    db.session.add(person)
    db.session.flush()
    assert household.id > _id_range("household")[1]
    assert person.id > _id_range("person")[1]


def test_removing_demo_data_takes_out_exactly_what_was_loaded(app_ctx):
    before = _counts()
    stats = _load()
    deleted = demo.remove_demo_data()
    assert deleted["person"] == stats.rows["person"]
    assert {k: v for k, v in _counts().items() if k != "audit_event"} == {
        k: v for k, v in before.items() if k != "audit_event"
    }
    assert demo.demo_marker() is None


def _counts() -> dict[str, int]:
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (AdminUnit, Household, Person, Clan, Clc, User, RoleAssignment, AuditEvent)
    }


def test_setup_demo_is_idempotent_and_always_prints_the_logins(app: Flask):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["setup-demo"])
    assert first.exit_code == 0, first.output
    assert "6 created now" in first.output
    after_first = _counts()
    second = runner.invoke(args=["setup-demo"])
    assert second.exit_code == 0, second.output
    assert _counts() == after_first
    for login in DEMO_LOGINS:
        assert login.email in second.output
        user = authenticate(login.email, DEMO_PASSWORD)
        assert user is not None
        assert [r.role for r in user.roles] == [login.role.value]
    assert DEMO_PASSWORD in second.output
    commune = unit_by_code(demo.DEMO_COMMUNES[0])
    leader = db.session.scalar(select(User).where(User.email == "xa@demo.example.vn"))
    assert leader is not None
    assert leader.roles[0].unit_id == commune.id
    assert leader.person_id is not None  # the commune's People's Committee chair in the demo data
    # The demo's association officer proposes and decides what the commune association recognises (ADR 45).
    from lms.titles import approvals

    officer = db.session.scalar(select(User).where(User.email == "khuyenhoc@demo.example.vn"))
    assert officer is not None
    assert officer.roles[0].unit_id == commune.id
    assert approvals.proposed_titles(officer) == approvals.decided_titles(officer) == ["citizen"]
    assert "citizen" not in approvals.decided_titles(leader)


def test_seed_demo_refuses_existing_demo_data_unless_forced(app: Flask):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["seed-demo", "--seed", "3"]).exit_code == 0
    refused = runner.invoke(args=["seed-demo", "--seed", "4"])
    assert refused.exit_code != 0
    assert "already exists" in refused.output
    forced = runner.invoke(args=["seed-demo", "--seed", "4", "--force"])
    assert forced.exit_code == 0, forced.output
    marker = demo.demo_marker()
    assert marker is not None
    assert marker.details["seed"] == 4
    assert db.session.scalar(select(func.count()).select_from(Household)) == 300


def test_setup_and_seed_refuse_to_run_in_production(app: Flask):
    app.config["ENV_NAME"] = "production"
    try:
        for command in ("setup-demo", "seed-demo"):
            result = app.test_cli_runner().invoke(args=[command])
            assert result.exit_code != 0
            assert "production" in result.output
    finally:
        app.config["ENV_NAME"] = "testing"
    assert demo.demo_marker() is None


def test_bench_generate_measures_on_a_database_of_its_own(app: Flask, tmp_path):
    target = tmp_path / "bench.sqlite"
    result = app.test_cli_runner().invoke(
        args=["bench", "generate", "--scale", "demo", "--database-url", f"sqlite:///{target}"]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"\| demo \| SQLite [\d.]+ \| 300 \| [\d,]+ \|", result.output)
    assert "| person |" in result.output
    assert not target.exists()  # discarded afterwards
    assert demo.demo_marker() is None  # and the app's own database was not touched


def test_bench_refuses_the_apps_own_database(app: Flask):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    result = app.test_cli_runner().invoke(args=["bench", "generate", "--scale", "demo", "--database-url", url, "--yes"])
    assert result.exit_code != 0
    assert "database of their own" in result.output


def test_demo_logins_are_printed_again_once_the_web_server_answers(app: Flask):
    """make run's Procfile entry: wait for /healthz (a 503 counts: the server is up), then print the logins."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    runner = app.test_cli_runner()
    nothing = runner.invoke(args=["demo-logins"])
    assert nothing.exit_code != 0
    assert "setup-demo" in nothing.output
    assert runner.invoke(args=["setup-demo"]).exit_code == 0

    class Healthz(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Healthz)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/healthz"
        printed = runner.invoke(args=["demo-logins", "--wait-for", url, "--timeout", "20"])
    finally:
        server.shutdown()
    assert printed.exit_code == 0, printed.output
    for login in DEMO_LOGINS:
        assert login.email in printed.output
    assert DEMO_PASSWORD in printed.output
    assert f"Open http://127.0.0.1:{server.server_port} and log in" in printed.output
