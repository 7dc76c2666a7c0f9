"""The signed-in user from the cache (ADR 27, ``lms.auth.usercache``): no statement for the log-in once the snapshot
is stored, and every change made through the application — a deactivation, a role withdrawn or moved, a log-out
elsewhere, a bulk update — is honoured at the very next request, cached page or not."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from lms.auth import generations, usercache
from lms.auth.models import Role, RoleAssignment, User
from lms.auth.services import assign_role, end_sessions
from lms.extensions import cache, db
from lms.registry.models import AdminUnit, UnitLineage
from tests.conftest import choose_language, login, make_user
from tests.targets.dashboard_data import build_province

pytestmark = pytest.mark.usefixtures("client")  # app.test_client() is an IsolatedClient: a request per context


def _leader(data, unit=None):
    leader = make_user(Role.COMMUNE_LEADER, unit or data.communes[0], "leader@example.vn")
    db.session.commit()
    return leader


def _reload(user_id: int) -> User:
    db.session.expire_all()
    user = db.session.get(User, user_id)
    assert user is not None
    return user


def test_a_cached_page_costs_no_statement_and_the_snapshot_holds_no_password(app, count_queries):
    data = build_province(2)
    leader = _leader(data)
    client = app.test_client()
    login(client, leader)
    url = f"/targets/units/{data.communes[0].id}"
    assert client.get(url).status_code == 200  # stores the user's snapshot and the page
    with count_queries() as hit:
        assert client.get(url).status_code == 200
    assert hit.statements == []
    entry = cache.get(usercache._user_key(leader.id))
    assert entry is not None
    assert "password_hash" not in entry[1]["user"]
    assert entry[1]["scopes"]["targets.view"] == [data.communes[0].path]


def test_a_deactivated_user_is_refused_at_the_next_request(app):
    data = build_province(2)
    leader = _leader(data)
    client = app.test_client()
    login(client, leader)
    page, api = f"/targets/units/{data.communes[0].id}", "/api/v1/targets/values?period=2025"
    assert client.get(page).status_code == 200
    assert client.get(api).status_code == 200
    _reload(leader.id).active = False
    db.session.commit()
    assert client.get(page).status_code == 302  # to the log-in page
    assert client.get(api).status_code == 401


def test_a_bulk_update_through_the_orm_is_honoured_at_the_next_request(app):
    data = build_province(2)
    leader = _leader(data)
    client = app.test_client()
    login(client, leader)
    page = f"/targets/units/{data.communes[0].id}"
    assert client.get(page).status_code == 200
    db.session.execute(db.update(User).where(User.id == leader.id).values(active=False))
    db.session.commit()
    assert client.get(page).status_code == 302


def test_a_withdrawn_role_loses_the_cached_page_at_the_next_request(app):
    """A leader of two communes: both pages cached; the role on the first withdrawn, its page is not found while
    the other is still served; withdrawing the last role leaves no dashboard at all."""
    data = build_province(2)
    leader = _leader(data)
    assign_role(leader, Role.COMMUNE_LEADER, data.communes[1])
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    first, second = (f"/targets/units/{c.id}" for c in data.communes)
    assert client.get(first).status_code == 200
    assert client.get(second).status_code == 200
    user = _reload(leader.id)
    db.session.delete(next(a for a in user.roles if a.unit_id == data.communes[0].id))
    db.session.commit()
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200
    db.session.execute(db.delete(RoleAssignment).where(RoleAssignment.user_id == leader.id))  # bulk, through the ORM
    db.session.commit()
    assert client.get(second).status_code == 403


def test_a_role_moved_to_another_commune_never_shows_the_former_communes_cached_page(app):
    data = build_province(2)
    leader = _leader(data)
    client = app.test_client()
    login(client, leader)
    first, second = (f"/targets/units/{c.id}" for c in data.communes)
    assert client.get(first).status_code == 200
    assert client.get(second).status_code == 404
    assignment = _reload(leader.id).roles[0]
    assignment.unit_id = data.communes[1].id
    db.session.commit()
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_sessions_ended_elsewhere_are_refused_at_the_next_request(app):
    data = build_province(2)
    leader = _leader(data)
    client = app.test_client()
    login(client, leader)
    page = f"/targets/units/{data.communes[0].id}"
    assert client.get(page).status_code == 200
    end_sessions(_reload(leader.id), reason="administrator")
    db.session.commit()
    assert client.get(page).status_code == 302


def test_a_change_rolled_back_keeps_the_snapshot(app, count_queries):
    data = build_province(2)
    leader = _leader(data)
    client = app.test_client()
    login(client, leader)
    page = f"/targets/units/{data.communes[0].id}"
    assert client.get(page).status_code == 200
    _reload(leader.id).active = False
    db.session.flush()
    db.session.rollback()
    with count_queries() as hit:
        assert client.get(page).status_code == 200
    assert hit.statements == []


def test_sql_typed_by_hand_waits_for_the_snapshots_lifetime(app, monkeypatch):
    """What bypasses the ORM is not seen until the snapshot expires (``USER_CACHE_SECONDS``, 30 s by default); with
    the snapshot off, at once."""
    data = build_province(2)
    leader = _leader(data)
    client = app.test_client()
    login(client, leader)
    page = f"/targets/units/{data.communes[0].id}"
    assert client.get(page).status_code == 200
    db.session.execute(text('UPDATE "user" SET active = false WHERE id = :id'), {"id": leader.id})
    db.session.commit()
    assert client.get(page).status_code == 200  # the snapshot, until it expires
    cache.delete(usercache._user_key(leader.id))  # as at its expiry
    assert client.get(page).status_code == 302
    monkeypatch.setitem(app.config, "USER_CACHE_SECONDS", 0)
    db.session.execute(text('UPDATE "user" SET active = true WHERE id = :id'), {"id": leader.id})
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    assert client.get(page).status_code == 200
    db.session.execute(text('UPDATE "user" SET active = false WHERE id = :id'), {"id": leader.id})
    db.session.commit()
    assert client.get(page).status_code == 302


def test_a_view_that_changes_the_cached_user_writes_it(app):
    """The request's user is a persistent object of the request's session even when rebuilt from the cache: the
    language chosen in the menu is saved on the user (and the next page is in that language)."""
    data = build_province(2)
    leader = _leader(data)
    client = app.test_client()
    login(client, leader)
    page = f"/targets/units/{data.communes[0].id}"
    assert client.get(page).status_code == 200
    assert client.get(page).status_code == 200  # the user from the cache
    choose_language(client, "en", page)
    assert _reload(leader.id).locale == "en"
    assert 'lang="en"' in client.get(page).get_data(as_text=True)


def test_a_new_process_rebuilds_a_cached_user_before_its_first_query():
    """A gunicorn worker may serve its first request from the cache: the snapshot must not need configured mappers
    (a query configures them; a rebuilt user was missing their attribute machinery before)."""
    import subprocess
    import sys
    from pathlib import Path

    script = """
from lms import create_app
from lms.auth import generations, usercache
app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
columns = {"id": 7, "email": "a@example.vn", "name": "A", "active": True, "locale": None, "person_id": None,
           "created_at": None, "last_login_at": None, "session_version": 0}
with app.test_request_context():
    user = usercache._rebuild({"user": columns, "roles": [], "scopes": None})
    print(user.name, user.active, user.roles)
"""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "A True []"


# --- a change of the map: units renamed, moved, merged (the 2025 map change) ----------------------------------


def _generations(user_id: int) -> tuple[str, str]:
    return cache.get(generations.EVERYONE_KEY), cache.get(generations.gen_key(user_id))


def _snapshot(user_id: int) -> dict:
    entry = cache.get(usercache._user_key(user_id))
    assert entry is not None
    return entry[1]


def test_a_unit_renamed_or_merged_is_seen_at_the_next_request_with_one_bump_for_everyone(app):
    """The snapshot keeps the units of the user's roles and the scopes resolved through the lineage: a commune
    renamed, or another commune merged into it (its lineage link), is honoured at the very next request. One
    generation is replaced — every user's — not one per user."""
    data = build_province(2)
    leader = _leader(data)
    client = app.test_client()
    login(client, leader)
    own, merged = data.communes
    page = f"/targets/units/{own.id}"
    assert client.get(page).status_code == 200
    everyone, mine = _generations(leader.id)

    db.session.get(AdminUnit, own.id).name = "Xã Đổi Tên"
    db.session.commit()
    assert _generations(leader.id)[0] != everyone
    assert _generations(leader.id)[1] == mine  # no bump per user
    assert client.get(page).status_code == 200
    ((_, unit),) = _snapshot(leader.id)["roles"]
    assert unit["name"] == "Xã Đổi Tên"

    # The 2025 map change: the other commune ends and is merged into the leader's; its past is theirs now.
    assert merged.path not in _snapshot(leader.id)["scopes"]["targets.view"]
    db.session.get(AdminUnit, merged.id).valid_to = date(2025, 6, 30)
    db.session.add(UnitLineage(old_unit_id=merged.id, new_unit_id=own.id, effective_on=date(2025, 7, 1)))
    db.session.commit()
    assert client.get(page).status_code == 200
    assert merged.path in _snapshot(leader.id)["scopes"]["targets.view"]


def test_a_bulk_change_of_units_through_the_orm_is_seen_at_the_next_request(app):
    data = build_province(2)
    leader = _leader(data)
    client = app.test_client()
    login(client, leader)
    page = f"/targets/units/{data.communes[0].id}"
    assert client.get(page).status_code == 200
    everyone, mine = _generations(leader.id)
    db.session.execute(db.update(AdminUnit).where(AdminUnit.id == data.communes[0].id).values(name="Xã Hàng Loạt"))
    db.session.commit()
    assert _generations(leader.id) != (everyone, mine)
    assert _generations(leader.id)[1] == mine
    assert client.get(page).status_code == 200
    assert _snapshot(leader.id)["roles"][0][1]["name"] == "Xã Hàng Loạt"


def test_a_merge_reaches_the_scopes_kept_apart_from_the_snapshot(app, monkeypatch):
    """With the user's snapshot off, the scopes are still kept (``SCOPE_CACHE_SECONDS``) under every user's
    generation: a lineage link is honoured at the next request, not after their expiry."""
    monkeypatch.setitem(app.config, "USER_CACHE_SECONDS", 0)
    data = build_province(2)
    leader = _leader(data)
    client = app.test_client()
    login(client, leader)
    own, merged = data.communes
    assert client.get(f"/targets/units/{merged.id}").status_code == 404  # not theirs
    db.session.get(AdminUnit, merged.id).valid_to = date(2025, 6, 30)
    db.session.add(UnitLineage(old_unit_id=merged.id, new_unit_id=own.id, effective_on=date(2025, 7, 1)))
    db.session.commit()
    assert client.get(f"/targets/units/{merged.id}").status_code == 200  # its past is the leader's commune's now
