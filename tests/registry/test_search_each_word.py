"""Searching people as officials name them: the words of a name in any order, a middle name left out, and a page
that says what to try when no one is found."""

from __future__ import annotations

from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import login, make_household, make_user, make_village, unit_by_code


def _arrange(client) -> None:
    commune = unit_by_code("23293")
    village = make_village(commune, "SW-1", "Thôn Tìm Kiếm")
    make_household(village, "SW1", "Nguyễn Văn An", "Nguyễn Thị Bình", "Lê An")
    user = make_user(Role.COMMUNE_LEADER, commune, "search-words@example.vn")
    db.session.commit()
    login(client, user)


def test_each_word_of_the_query_in_any_order(app_ctx, client):
    _arrange(client)
    for query in ("Nguyễn An", "nguyen an", "an nguyen", "Văn An", "nguyen van an"):
        page = client.get("/registry/search", query_string={"q": query}).get_data(as_text=True)
        assert "Nguyễn Văn An" in page, query
        assert "Nguyễn Thị Bình" not in page, query  # every word must be there: "an" is not in "Bình"
    page = client.get("/registry/search", query_string={"q": "an"}).get_data(as_text=True)
    assert "Nguyễn Văn An" in page
    assert "Lê An" in page
    api = client.get("/api/v1/persons", query_string={"q": "an nguyen"}).get_json()["items"]
    assert [p["full_name"] for p in api if "An" in p["full_name"]] == ["Nguyễn Văn An"]


def test_no_one_found_says_what_to_try(app_ctx, client):
    _arrange(client)
    page = client.get("/registry/search", query_string={"q": "Trần <b>Khôi</b>"}).get_data(as_text=True)
    assert 'id="no-results"' in page
    assert "Không có ai tên “Trần &lt;b&gt;Khôi&lt;/b&gt;” trong sổ đăng ký của địa bàn bạn." in page
    assert "“An” tìm được Nguyễn Văn An" in page
    found = client.get("/registry/search", query_string={"q": "Lê An"}).get_data(as_text=True)
    assert 'id="no-results"' not in found
