"""User accounts managed in the application (ADR 52): scoped as everything else, a temporary password shown once
and changed at the first log-in, roles given and taken away, an account locked, a forgotten password replaced."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from lms.auth.models import ApiToken, Role, User
from lms.core.models import AuditEvent
from lms.extensions import db
from tests.conftest import PASSWORD, csrf_token, login, make_user, unit_by_code

pytestmark = pytest.mark.usefixtures("client")


def _province(code: str):
    return unit_by_code(code, "province")


def _admin(code: str = "51", email: str = "admin51@example.vn") -> User:
    user = make_user(Role.ADMINISTRATOR, _province(code), email)
    db.session.commit()
    return user


def _post(client, page: str, url: str, **data):
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data})


def _create(client, name: str, email: str, role: str, unit_id: int):
    return _post(client, "/users/new", "/users/new", name=name, email=email, role=role, unit=str(unit_id))


def _password_on(response) -> str:
    match = re.search(r'id="temporary-password">([^<]+)<', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:2000]
    return match.group(1)


def _log_in_fresh(app, email: str, password: str):
    client = app.test_client()
    token = csrf_token(client, "/login")
    return client, client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def test_an_administrator_creates_an_account_whose_temporary_password_must_be_changed_first(app_ctx, app):
    admin = _admin()
    client = app.test_client()
    login(client, admin)
    commune = unit_by_code("23293")
    page = client.get("/users/new").get_data(as_text=True)
    assert "Kon Tum" in page
    assert "Ba Đình" not in page
    response = _create(client, "Nguyễn Thị Mới", "Moi@Example.vn", "association_officer", commune.id)
    assert response.status_code == 200
    password = _password_on(response)
    user = db.session.scalar(select(User).where(User.email == "moi@example.vn"))
    assert user is not None
    assert user.must_change_password
    assert [(a.role, a.unit_id) for a in user.roles] == [("association_officer", commune.id)]
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))))
    assert {"user.create", "role.assign"} <= actions

    # The new user logs in with it and is led to the password change until they choose their own.
    new, answer = _log_in_fresh(app, "moi@example.vn", password)
    assert answer.status_code == 302
    home = new.get("/")
    assert home.status_code == 302
    assert home.headers["Location"].endswith("/account/password")
    token = csrf_token(new, "/account/password")
    changed = new.post(
        "/account/password",
        data={"current": password, "new": "mat-khau-rieng-1", "confirm": "mat-khau-rieng-1", "csrf_token": token},
    )
    assert changed.status_code == 302
    assert new.get("/").status_code == 200
    db.session.expire_all()
    assert not db.session.get(User, user.id).must_change_password


def test_another_provinces_accounts_and_places_are_out_of_reach(app_ctx, app):
    admin = _admin()
    theirs = make_user(Role.COMMUNE_LEADER, unit_by_code("00004"), "hanoi@example.vn")
    ours = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"), "kontum@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    listing = client.get("/users").get_data(as_text=True)
    assert "kontum@example.vn" in listing
    assert "hanoi@example.vn" not in listing
    assert client.get(f"/users/{theirs.id}").status_code == 404
    page = f"/users/{ours.id}"
    assert _post(client, page, f"/users/{theirs.id}/active", active="0").status_code == 404
    assert _post(client, page, f"/users/{theirs.id}/password").status_code == 404
    # A role on a place outside the province is refused, for a new account as for an existing one.
    assert _create(client, "X", "x@example.vn", "instructor", unit_by_code("00004").id).status_code == 200
    assert db.session.scalar(select(User).where(User.email == "x@example.vn")) is None
    refused = _post(client, page, f"/users/{ours.id}/roles", role="instructor", unit=str(unit_by_code("00004").id))
    assert refused.status_code == 422
    db.session.expire_all()
    assert [a.unit_id for a in db.session.get(User, ours.id).roles] == [unit_by_code("23293").id]


def test_roles_are_given_and_taken_away_and_seen_at_the_next_request(app_ctx, app):
    admin = _admin()
    officer = make_user(Role.INSTRUCTOR, unit_by_code("23293"), "officer@example.vn")
    db.session.commit()
    officer_client = app.test_client()
    login(officer_client, officer)
    assert officer_client.get("/courses/it/figures").status_code == 403  # an instructor has no IT figures
    client = app.test_client()
    login(client, admin)
    page = f"/users/{officer.id}"
    given = _post(client, page, f"/users/{officer.id}/roles", role="centre_manager", unit=str(unit_by_code("23293").id))
    assert given.status_code == 302
    assert officer_client.get("/courses/it/figures").status_code == 200
    db.session.expire_all()
    assignment = next(a for a in db.session.get(User, officer.id).roles if a.role == "centre_manager")
    taken = _post(client, page, f"/users/{officer.id}/roles/{assignment.id}/withdraw")
    assert taken.status_code == 302
    assert officer_client.get("/courses/it/figures").status_code == 403
    assert "role.withdraw" in set(db.session.scalars(select(AuditEvent.action)))


def test_a_locked_account_is_logged_out_everywhere_and_its_tokens_stop(app_ctx, app):
    admin = _admin()
    officer = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "locked@example.vn")
    _token, secret = ApiToken.issue(officer, "phone")
    db.session.commit()
    officer_client = app.test_client()
    login(officer_client, officer)
    headers = {"Authorization": f"Bearer {secret}"}
    assert officer_client.get("/api/v1/persons", headers=headers).status_code == 200
    client = app.test_client()
    login(client, admin)
    page = f"/users/{officer.id}"
    assert _post(client, page, f"/users/{officer.id}/active", active="0").status_code == 302
    assert officer_client.get("/").status_code == 302  # logged out
    assert officer_client.get("/api/v1/persons", headers=headers).status_code == 401
    _again, answer = _log_in_fresh(app, "locked@example.vn", PASSWORD)
    assert answer.status_code == 200  # the log-in form again: refused
    assert _post(client, page, f"/users/{officer.id}/active", active="1").status_code == 302
    _again, answer = _log_in_fresh(app, "locked@example.vn", PASSWORD)
    assert answer.status_code == 302


def test_a_forgotten_password_is_replaced_by_a_temporary_one(app_ctx, app):
    admin = _admin()
    officer = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "forgot@example.vn")
    db.session.commit()
    officer_client = app.test_client()
    login(officer_client, officer)
    client = app.test_client()
    login(client, admin)
    response = _post(client, f"/users/{officer.id}", f"/users/{officer.id}/password")
    password = _password_on(response)
    assert officer_client.get("/").status_code == 302  # every session of theirs ended
    _old, answer = _log_in_fresh(app, "forgot@example.vn", PASSWORD)
    assert answer.status_code == 200  # the old password no longer works
    new, answer = _log_in_fresh(app, "forgot@example.vn", password)
    assert answer.status_code == 302
    assert new.get("/").headers["Location"].endswith("/account/password")


def test_an_account_with_a_role_elsewhere_and_ones_own_are_not_locked_from_here(app_ctx, app):
    from lms.auth.services import assign_role

    admin = _admin()
    shared = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "shared@example.vn")
    assign_role(shared, Role.CENTRE_MANAGER, unit_by_code("00004"))
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    page = client.get(f"/users/{shared.id}").get_data(as_text=True)
    assert "Khóa tài khoản" not in page
    assert "ngoài địa bàn" in page
    assert _post(client, f"/users/{shared.id}", f"/users/{shared.id}/active", active="0").status_code == 403
    assert _post(client, f"/users/{admin.id}", f"/users/{admin.id}/active", active="0").status_code == 403
    assert _post(client, f"/users/{admin.id}", f"/users/{admin.id}/password").status_code == 403
    db.session.expire_all()
    assert db.session.get(User, shared.id).active
    assert db.session.get(User, admin.id).active


def test_only_administrators_reach_the_accounts(app_ctx, app):
    leader = make_user(Role.PROVINCE_LEADER, _province("51"), "leader51@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, leader)
    assert client.get("/users").status_code == 403
    assert "Tài khoản người dùng" not in client.get("/").get_data(as_text=True)


def test_a_temporary_password_is_not_kept_nor_used_through_the_api_nor_cached(app_ctx, app):
    """Review findings R1–R3: the temporary password cannot be "changed" into itself, the API refuses the session
    cookie of an account that has not chosen its password (else the temporary one works there for ever), and the page
    that shows it is kept by no cache."""
    admin = _admin()
    client = app.test_client()
    login(client, admin)
    response = _create(client, "Trần Văn Tạm", "tam@example.vn", "centre_manager", unit_by_code("23293").id)
    assert "no-store" in response.headers.get("Cache-Control", "")
    password = _password_on(response)
    new, answer = _log_in_fresh(app, "tam@example.vn", password)
    assert answer.status_code == 302
    refused = new.get("/api/v1/persons")
    assert refused.status_code == 403
    assert refused.mimetype == "application/problem+json"
    token = csrf_token(new, "/account/password")
    kept = new.post(
        "/account/password", data={"current": password, "new": password, "confirm": password, "csrf_token": token}
    )
    assert kept.status_code == 200  # the form again, with the error
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.email == "tam@example.vn"))
    assert user is not None
    assert user.must_change_password
    changed = new.post(
        "/account/password",
        data={"current": password, "new": "mat-khau-rieng-2", "confirm": "mat-khau-rieng-2", "csrf_token": token},
    )
    assert changed.status_code == 302
    assert new.get("/api/v1/persons").status_code == 200
    reset = _post(client, f"/users/{user.id}", f"/users/{user.id}/password")
    assert "no-store" in reset.headers.get("Cache-Control", "")


def test_a_role_given_twice_at_once_is_said_to_be_there_not_a_server_error(app_ctx, app, monkeypatch):
    """Review finding N3: two clicks (or two administrators) raced past the "already has it" look into the unique
    (user, role, unit) constraint: a 500 for the second. The insert that loses is now answered as already there."""
    from sqlalchemy import insert

    from lms.auth import accounts
    from lms.auth.models import RoleAssignment
    from lms.extensions import utcnow

    admin = _admin()
    officer = make_user(Role.INSTRUCTOR, unit_by_code("23293"), "twice@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    page = f"/users/{officer.id}"
    token = csrf_token(client, page)
    real = accounts.assign_role

    def the_other_click_first(user, role, unit, **kwargs):
        db.session.execute(
            insert(RoleAssignment).values(user_id=user.id, role=role.value, unit_id=unit.id, created_at=utcnow())
        )
        return real(user, role, unit, **kwargs)

    monkeypatch.setattr(accounts, "assign_role", the_other_click_first)
    unit = unit_by_code("23293")
    answer = client.post(
        f"/users/{officer.id}/roles", data={"csrf_token": token, "role": "centre_manager", "unit": str(unit.id)}
    )
    assert answer.status_code == 302
    assert "đã có vai trò này" in client.get(page).get_data(as_text=True)


def test_a_role_is_given_at_the_level_it_is_held(app_ctx, app):
    """A commune's roles in a commune, a province leader's in a province: a role at another level is a slip the form
    names (a "commune leader" of a whole province would decide for every commune)."""
    admin = _admin()
    officer = make_user(Role.INSTRUCTOR, unit_by_code("23293"), "level@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    page = f"/users/{officer.id}"
    province, commune = _province("51"), unit_by_code("23302")
    wrong = _post(client, page, f"/users/{officer.id}/roles", role="commune_leader", unit=str(province.id))
    assert wrong.status_code == 422
    assert "Vai trò này do xã, phường đảm nhận" in wrong.get_data(as_text=True)
    wrong = _post(client, page, f"/users/{officer.id}/roles", role="province_leader", unit=str(commune.id))
    assert wrong.status_code == 422
    created = _create(client, "Z", "z@example.vn", "centre_manager", province.id)
    assert created.status_code == 422
    assert db.session.scalar(select(User).where(User.email == "z@example.vn")) is None
    right = _post(client, page, f"/users/{officer.id}/roles", role="association_officer", unit=str(province.id))
    assert right.status_code == 302
    db.session.expire_all()
    assert {(a.role, a.unit_id) for a in db.session.get(User, officer.id).roles} == {
        ("instructor", unit_by_code("23293").id),
        ("association_officer", province.id),
    }


def test_the_accounts_are_found_by_name_whatever_the_case_and_the_diacritics(app_ctx, app):
    """SQLite's lower() knows only ASCII letters: "ĐÀO" did not find "Đặng Thị Đào" there, nor "NGUYỄN" "Nguyễn". The
    names are searched folded, as the registry searches people, on both engines; the e-mail as before."""
    from lms.auth.services import assign_role, create_user

    admin = _admin()
    commune = unit_by_code("23293")
    for name, email in (
        ("Đặng Thị Đào", "dtd@example.vn"),
        ("Nguyễn Văn Bình", "nvb@example.vn"),
        ("Trần Hữu Lộc", "thl_1@example.vn"),
    ):
        assign_role(create_user(email, name, PASSWORD), Role.ASSOCIATION_OFFICER, commune)
    db.session.commit()
    client = app.test_client()
    login(client, admin)

    def found(query: str) -> set[str]:
        page = client.get("/users", query_string={"q": query}).get_data(as_text=True)
        return {name for name in ("Đặng Thị Đào", "Nguyễn Văn Bình", "Trần Hữu Lộc") if name in page}

    for query in ("ĐÀO", "đào", "dao", "Đặng", "ĐẶNG THỊ"):
        assert found(query) == {"Đặng Thị Đào"}, query
    for query in ("NGUYỄN", "nguyễn văn", "NGUYEN  VAN", "bình"):
        assert found(query) == {"Nguyễn Văn Bình"}, query
    assert found("NVB@Example") == {"Nguyễn Văn Bình"}  # the e-mail, whatever its case
    assert found("thl_") == {"Trần Hữu Lộc"}
    assert found("t_l") == set()  # "_" and "%" are letters of the query, not wildcards
    assert found("%") == set()
    assert db.session.scalar(select(User.name_folded).where(User.email == "dtd@example.vn")) == "dang thi dao"


def test_a_name_or_e_mail_typed_wrong_is_corrected_on_the_account(app_ctx, app):
    """A typo in the e-mail when the account was made: the administrator had to lock it and make another, giving its
    roles again (walk5's finding). Corrected from the account's page; the person logs in with the new address, their
    password unchanged; another account's address is refused, saying so; another province's account is out of reach."""
    admin = _admin()
    officer = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "y.blok@exmaple.vn")
    make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "taken@example.vn")
    elsewhere = make_user(Role.CENTRE_MANAGER, unit_by_code("00004"), "elsewhere@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    page = client.get(f"/users/{officer.id}").get_data(as_text=True)
    assert f'id="edit-account" href="/users/{officer.id}/edit"' in page
    edit = f"/users/{officer.id}/edit"
    form = client.get(edit)
    assert form.status_code == 200
    assert 'value="y.blok@exmaple.vn"' in form.get_data(as_text=True)
    refused = _post(client, edit, edit, name="Y Blốk", email="TAKEN@example.vn")
    assert refused.status_code == 200
    assert "Đã có một tài khoản khác dùng thư điện tử này." in refused.get_data(as_text=True)
    saved = _post(client, edit, edit, name="  Y Blốk Niê ", email="Y.Blok@Example.vn")
    assert saved.status_code == 302
    db.session.expire_all()
    corrected = db.session.get(User, officer.id)
    assert corrected.email == "y.blok@example.vn"
    assert corrected.name == "Y Blốk Niê"
    assert corrected.name_folded == "y blok nie"
    assert db.session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "user.update", AuditEvent.object_id == str(officer.id))
    ).one() == {"fields": ["name", "email"]}
    _client, answer = _log_in_fresh(app, "y.blok@example.vn", PASSWORD)
    assert answer.status_code == 302
    assert client.get(f"/users/{elsewhere.id}/edit").status_code in (403, 404)
