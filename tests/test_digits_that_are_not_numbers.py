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
