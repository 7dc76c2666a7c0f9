from config import CONFIGS
from lms.auth.models import Role
from lms.core.models import AuditEvent
from lms.extensions import db
from tests.conftest import PASSWORD, csrf_token, login, make_user, unit_by_code


def test_login_and_logout(client, app_ctx):
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"))
    response = login(client, user)
    assert response.headers["Location"] == "/"
    assert user.name in client.get("/").get_data(as_text=True)
    assert (
        db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "user.login", AuditEvent.user_id == user.id))
        is not None
    )
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").headers["Location"].startswith("/login")


def test_wrong_password_and_unknown_email_look_the_same(client, app_ctx):
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"))
    bodies = []
    for email, password in ((user.email, "wrong password!"), ("nobody@example.vn", PASSWORD)):
        token = csrf_token(client, "/login")
        response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        bodies.append(body.replace(email, "EMAIL").replace(token, "TOKEN"))
    assert "Wrong e-mail or password" in bodies[0] or "Sai" in bodies[0]
    assert bodies[0] == bodies[1]


def test_login_form_without_csrf_token_is_refused(client, app_ctx):
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400


def test_open_redirect_through_next_is_refused(client, app_ctx):
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"))
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=https://evil.example/x", data={"email": user.email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.headers["Location"] == "/"


def test_passwords_are_hashed_with_scrypt(app_ctx):
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"))
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash


def test_new_passwords_follow_the_configured_cost_and_old_ones_still_work(app, app_ctx, monkeypatch):
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"))
    assert user.password_hash.startswith("scrypt:1024:8:1$")  # the suite's cheaper cost (config.TestingConfig)
    monkeypatch.setitem(app.config, "PASSWORD_HASH", "scrypt")
    user.set_password("a new password, full cost")
    assert user.password_hash.startswith("scrypt:32768:8:1$")  # werkzeug's parameters, as in production
    monkeypatch.setitem(app.config, "PASSWORD_HASH", "scrypt:1024:8:1")
    assert user.check_password("a new password, full cost")  # the hash names its own cost
    assert not user.check_password(PASSWORD)


def test_only_the_test_suite_hashes_passwords_at_a_lower_cost():
    assert {name: config.PASSWORD_HASH for name, config in CONFIGS.items()} == {
        "development": "scrypt",
        "testing": "scrypt:1024:8:1",
        "production": "scrypt",
    }
