"""Which e-mail addresses a new account may have. WTForms' Email() was checked against addresses communes use: the
official .gov.vn ones, Gmail and Yahoo (dots, dashes, "+"), capitals and spaces pasted around — all accepted, and
an account made with one can log in with it. It also accepted Vietnamese letters before the @ (internationalised
mail), which no mailbox a commune uses has: such an address is refused with a Vietnamese message that says why and
what to type."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from lms.auth.models import Role, User
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user, unit_by_code

pytestmark = pytest.mark.usefixtures("client")

ACCEPTED = [
    ("ubnd.xaeatieu@daklak.gov.vn", "ubnd.xaeatieu@daklak.gov.vn"),
    ("hoi-khuyen-hoc_01@kontum.gov.vn", "hoi-khuyen-hoc_01@kontum.gov.vn"),
    ("NguyenVanAn@Gmail.com", "nguyenvanan@gmail.com"),
    ("  tt.htcd+lop1@yahoo.com.vn ", "tt.htcd+lop1@yahoo.com.vn"),
    ("vanphong@xã.vn", "vanphong@xã.vn"),  # a registered .vn IDN domain
]


def _create(client, email: str, commune_id: int):
    data = {"name": "Nguyễn Văn An", "email": email, "role": "instructor", "unit": str(commune_id)}
    return client.post("/users/new", data={"csrf_token": csrf_token(client, "/users/new"), **data})


@pytest.fixture
def admin_client(app_ctx, app):
    admin = make_user(Role.ADMINISTRATOR, unit_by_code("51", "province"), "admin-mail@example.vn")
    db.session.commit()
    client = app.test_client()
    login(client, admin)
    return client


@pytest.mark.parametrize(("typed", "stored"), ACCEPTED)
def test_addresses_communes_use_are_accepted(admin_client, typed, stored):
    response = _create(admin_client, typed, unit_by_code("23293").id)
    assert response.status_code == 200
    assert 'id="temporary-password"' in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == stored)) is not None


@pytest.mark.parametrize(
    ("typed", "letters", "suggestion"),
    [
        ("nguyễn.văn.an@gmail.com", "ễă", "nguyen.van.an@gmail.com"),
        ("đào.thị@kontum.gov.vn", "đàị", "dao.thi@kontum.gov.vn"),
    ],
)
def test_vietnamese_letters_before_the_at_are_refused_saying_why(admin_client, typed, letters, suggestion):
    response = _create(admin_client, typed, unit_by_code("23293").id)
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert 'id="temporary-password"' not in body
    assert f"Phần trước dấu @ có chữ có dấu ({letters})" in body
    assert f"ví dụ {suggestion}" in body
    assert "Địa chỉ thư điện tử không hợp lệ" not in body  # the reason, not the bare refusal
    assert db.session.scalar(select(User).where(User.name == "Nguyễn Văn An")) is None
