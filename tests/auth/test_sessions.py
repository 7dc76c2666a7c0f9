"""Sessions that really end (ADR 24): log-out, a password change and an administrator end every copy of a
session or remember-me cookie; a login is renewed; CSRF tokens and remember-me cookies expire on the server."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from flask_wtf.csrf import generate_csrf, validate_csrf
from wtforms.validators import ValidationError

from lms.auth.models import RememberToken, Role
from lms.auth.services import change_password
from lms.core.models import AuditEvent
from lms.extensions import db, utcnow
from tests.conftest import PASSWORD, csrf_token, make_user, unit_by_code


def _user():
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"))
    db.session.commit()
    return user


def _login(client, user, *, remember=False):
    token = csrf_token(client, "/login")
    data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302
    return response


def _cookie(client, name):
    cookie = client.get_cookie(name)
    assert cookie is not None, name
    return cookie.value


def _replay(app, **cookies):
    """A stranger's client that holds only copies of the cookies."""
    thief = app.test_client()
    for name, value in cookies.items():
        thief.set_cookie(name, value)
    return thief


def _is_logged_in(client) -> bool:
    return client.get("/").status_code == 200


def _logout(client):
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/")}).status_code == 302


def test_a_captured_session_cookie_is_refused_after_log_out(app, client, app_ctx):
    _login(client, _user())
    captured = _cookie(client, "session")
    assert _is_logged_in(_replay(app, session=captured))
    _logout(client)
    assert not _is_logged_in(_replay(app, session=captured))


def test_a_captured_remember_cookie_is_refused_after_log_out(app, client, app_ctx):
    _login(client, _user(), remember=True)
    captured = _cookie(client, "lms_remember")
    assert _is_logged_in(_replay(app, lms_remember=captured))
    _logout(client)
    assert not _is_logged_in(_replay(app, lms_remember=captured))


def test_a_password_change_ends_the_other_sessions(app, client, app_ctx):
    user = _user()
    _login(client, user)
    change_password(user, "a brand new password")
    db.session.commit()
    assert not _is_logged_in(client)
    assert db.session.scalar(db.select(AuditEvent.id).where(AuditEvent.action == "user.sessions_end")) is not None


def test_an_administrator_ends_a_users_sessions(app, client, app_ctx):
    user = _user()
    _login(client, user, remember=True)
    remember = _cookie(client, "lms_remember")
    result = app.test_cli_runner().invoke(args=["end-sessions", "--email", user.email])
    assert result.exit_code == 0, result.output
    assert not _is_logged_in(client)
    assert not _is_logged_in(_replay(app, lms_remember=remember))


def _age(user, **ago):
    """Move the user's remember-me series back in time (its log-in, its last use)."""
    values = {name: utcnow() - delta for name, delta in ago.items()}
    db.session.execute(db.update(RememberToken).where(RememberToken.user_id == user.id).values(**values))
    db.session.commit()


def test_the_remember_cookie_is_lax_and_ends_on_the_server_after_its_lifetime(app, client, app_ctx):
    user = _user()
    response = _login(client, user, remember=True)
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("lms_remember=")]
    assert "SameSite=Lax" in header
    assert "HttpOnly" in header
    lifetime = app.config["REMEMBER_COOKIE_DURATION"]
    assert lifetime <= timedelta(days=14)
    assert f"Max-Age={int(lifetime.total_seconds())}" in header
    _age(user, logged_in_at=lifetime - timedelta(hours=1))
    browser = _replay(app, lms_remember=_cookie(client, "lms_remember"))
    assert _is_logged_in(browser)
    # A captured copy ignores the cookie's expiry date; the server does not, however often the series was used.
    _age(user, logged_in_at=lifetime + timedelta(hours=1))
    assert not _is_logged_in(_replay(app, lms_remember=_cookie(browser, "lms_remember")))


def test_a_remember_cookie_works_once_and_is_replaced(app, client, app_ctx):
    user = _user()
    _login(client, user, remember=True)
    first = _cookie(client, "lms_remember")
    browser = _replay(app, lms_remember=first)  # the session has ended; the cookie logs in again
    assert _is_logged_in(browser)
    second = _cookie(browser, "lms_remember")
    assert second != first
    assert second.split(".")[0] == first.split(".")[0]  # the same series, a new secret
    assert db.session.scalar(db.select(RememberToken.token_hash)) not in (first, second)  # only a hash is kept
    assert _is_logged_in(browser)  # its new session carries on
    assert _cookie(browser, "lms_remember") == second  # without another rotation
    # The same page's parallel requests, a few seconds later, still get in with the replaced secret.
    assert _is_logged_in(_replay(app, lms_remember=first))
    # Later, the replaced secret is a copy used twice: refused, and every session of the account ends.
    _age(user, used_at=timedelta(minutes=5))
    thief = _replay(app, lms_remember=first)
    assert not _is_logged_in(thief)
    assert thief.get_cookie("lms_remember") is None
    assert not _is_logged_in(browser)
    assert not _is_logged_in(_replay(app, lms_remember=second))
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "user.sessions_end")).one()
    assert event.details == {"reason": "remember_reuse"}


def test_an_unknown_or_forged_remember_cookie_logs_nobody_in(app, client, app_ctx):
    user = _user()
    _login(client, user, remember=True)
    series = _cookie(client, "lms_remember").split(".")[0]
    # Flask-Login's former signed user id, a series of nobody, a series without its secret.
    for forged in (f"{user.id}:0:{int(time.time())}|abcdef", "x" * 43 + ".guess", series, ""):
        assert not _is_logged_in(_replay(app, lms_remember=forged)), forged
        assert not _is_logged_in(_replay(app, remember_token=forged)), forged
    # None of these named a live series with a wrong secret: the real browser is still remembered.
    assert _is_logged_in(_replay(app, lms_remember=_cookie(client, "lms_remember")))


def test_login_renews_the_session_and_its_csrf_secret(app, client, app_ctx):
    before = csrf_token(client, "/login")
    _login(client, _user())
    # A token from before the login (which an attacker could have planted or read) no longer validates.
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400
    assert _is_logged_in(client)


def test_csrf_tokens_expire(app, monkeypatch):
    limit = app.config["WTF_CSRF_TIME_LIMIT"]
    assert limit
    assert limit <= 24 * 3600
    with app.test_request_context("/"):
        now = time.time()
        monkeypatch.setattr(time, "time", lambda: now - limit - 60)
        token = generate_csrf()
        monkeypatch.setattr(time, "time", lambda: now)
        with pytest.raises(ValidationError):
            validate_csrf(token)


def test_changing_ones_password_ends_the_other_devices_but_not_this_one(app, client, app_ctx):
    user = _user()
    _login(client, user)
    phone = app.test_client()
    _login(phone, user, remember=True)
    phone_remember = _cookie(phone, "lms_remember")
    url = "/account/password"
    new = "a brand new password"
    wrong = client.post(
        url, data={"csrf_token": csrf_token(client, url), "current": "nope", "new": new, "confirm": new}
    )
    assert "Đây không phải là mật khẩu hiện tại" in wrong.get_data(as_text=True)
    data = {"csrf_token": csrf_token(client, url), "current": PASSWORD, "new": new, "confirm": new}
    assert client.post(url, data=data).status_code == 302
    assert _is_logged_in(client)
    assert not _is_logged_in(phone)
    assert not _is_logged_in(_replay(app, lms_remember=phone_remember))
    db.session.expire_all()
    assert db.session.get(type(user), user.id).check_password(new)
