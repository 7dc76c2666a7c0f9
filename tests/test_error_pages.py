"""Error pages: in Vietnamese by default, in the site's layout (the menu), with a way back; a view's own sentence
is kept; English after the user chose English; the API keeps its problem+json."""

from __future__ import annotations

import pytest
from flask import abort

from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import choose_language, csrf_token, login, make_user, unit_by_code


@pytest.fixture
def leader(app):
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"), "errors@example.vn")
    db.session.commit()
    return user


def test_not_found_and_forbidden_pages_speak_vietnamese_with_a_way_back(client, leader):
    login(client, leader)
    response = client.get("/no-such-page", headers={"Accept-Language": "en", "Referer": "http://localhost/"})
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Không tìm thấy trang" in html
    assert "Not Found" not in html
    assert "The requested URL" not in html
    assert 'class="navbar' in html  # the site's layout, menu included
    assert "Về trang đầu" in html
    assert 'href="/"' in html
    assert "Quay lại trang trước" in html  # the page the user came from
    forbidden = client.get("/registry/imports/new")  # the import is not a commune leader's
    assert forbidden.status_code == 403
    assert "Bạn không có quyền xem trang này" in forbidden.get_data(as_text=True)


def test_method_not_allowed(client, leader):
    login(client, leader)
    response = client.post("/", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 405
    assert "Không thể thực hiện thao tác này ở đây" in response.get_data(as_text=True)


def test_a_server_error_is_a_page_in_the_layout(app, client, monkeypatch):
    def boom():
        raise RuntimeError("deliberate")

    monkeypatch.setitem(app.view_functions, "core.healthz", boom)  # any page that fails unexpectedly
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production
    response = client.get("/healthz", headers={"Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Hệ thống gặp sự cố" in html
    assert "Internal Server Error" not in html
    assert "deliberate" not in html
    assert 'class="navbar' in html
    assert 'href="/"' in html


def test_english_after_choosing_it_and_the_api_keeps_problem_json(client, leader):
    login(client, leader)
    choose_language(client, "en", "/")
    html = client.get("/no-such-page").get_data(as_text=True)
    assert "Page not found" in html
    assert "Back to the start page" in html
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404
    assert api.mimetype == "application/problem+json"


def test_abort_keeps_a_custom_description(app):
    with app.test_request_context("/x"):
        from lms.core.errors import error_page

        try:
            abort(400, description="Năm phải nằm trong khoảng 2000–2100.")
        except Exception as exc:  # noqa: BLE001 - the HTTPException abort raises
            page, code = error_page(exc)  # type: ignore[arg-type]
    assert code == 400
    assert "Năm phải nằm trong khoảng 2000–2100." in page
