"""Numbers typed in a query, a form or a spreadsheet cell are ASCII digits of a size the database keeps: "²" passes
str.isdigit() and int() refuses it (a 500), and an id of twenty digits overflows PostgreSQL's bigint (a 500 there).
Such a value is treated as not given (a page's filter), or refused by row and column (an import)."""

from __future__ import annotations

import pytest

from lms.auth.models import Role
from lms.extensions import db
from lms.titles import services
from tests.conftest import login, make_user, unit_by_code
from tests.titles.test_assessments import _csv, world  # noqa: F401 - the fixture

ODD = ["²", "1²", "99999999999999999999"]


@pytest.mark.parametrize("raw", ODD)
@pytest.mark.parametrize(
    "page",
    [
        "/titles/eligibility?year={raw}",
        "/titles/eligibility?unit_id={raw}",
        "/titles/eligibility?household_id={raw}",
        "/titles/registrations?year={raw}&commune_id={raw}",
        "/titles/recognitions?year={raw}&unit_id={raw}",
        "/titles/assessments/new?subject_type=person&subject_id={raw}",
    ],
)
def test_a_page_takes_such_a_number_as_not_given(app_ctx, client, page, raw):
    user = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"), "digits@example.vn")
    db.session.commit()
    login(client, user)
    response = client.get(page.format(raw=raw))
    assert response.status_code in (200, 302, 404), response.get_data(as_text=True)[:300]


@pytest.mark.parametrize("raw", ODD)
def test_an_import_names_the_row_and_column(world, raw):  # noqa: F811
    person = world["people"][0]
    result = services.import_assessments(
        "a.csv",
        _csv([["person", raw, 2026, "C_2", 8, "", ""], ["person", person.id, raw, "C_2", 8, "", ""]]),
        user=world["user"],
    )
    assert {(e["row"], e["column"]) for e in result.errors} == {(2, "Mã đối tượng"), (3, "Năm")}


@pytest.fixture
def manager(app_ctx, client):
    from tests.courses.conftest import make_centre

    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune, "pages@example.vn")
    db.session.commit()
    login(client, user)
    return centre


@pytest.mark.parametrize(
    ("page", "status"),
    [
        ("/registry/search?q=hoc&page=99999999999999999999", 404),  # a page the database cannot count to
        ("/courses/?page=99999999999999999999", 404),
        ("/courses/clcs/{clc}/people?class_id=99999999999999999999&q=hoc", 200),
        ("/courses/clcs/{clc}/timetable?week=9999-12-31", 200),  # this week instead
        ("/courses/clcs/{clc}/report?from=2026-01-01&to=9999-12-31", 400),  # named, as a reversed period is
        ("/courses/it/units/{unit}?from=0001-01-01&to=0001-12-31", 400),
    ],
)
def test_a_page_number_a_limit_or_a_day_out_of_range_is_no_500(client, manager, page, status):
    response = client.get(page.format(clc=manager.clc.id, unit=manager.commune.id, village=manager.village.id))
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    if status == 400:
        assert "hãy nhập một ngày từ 01/01/2000 đến 31/12/2100" in response.get_data(as_text=True)
