"""A person's page says 'chưa ghi' for what the registry does not hold, instead of a label over nothing."""

from __future__ import annotations

from lms.auth.models import Role
from lms.extensions import db
from tests.conftest import choose_language, login, make_household, make_user, make_village, unit_by_code


def test_a_value_the_registry_does_not_hold_says_not_recorded(app_ctx, client):
    """A commune leader opening a person imported without an ID number or an ethnicity read 'Số định danh' over a
    blank, as if the page had failed to load (walk4's finding)."""
    commune = unit_by_code("23293")
    person = make_household(make_village(commune, "UNR-1", "Thôn Chưa Ghi"), "UNR-1", "Y Chưa Ghi").members[0]
    person.ethnicity = None
    user = make_user(Role.CENTRE_MANAGER, commune, "unrecorded@example.vn")
    db.session.commit()
    login(client, user)
    choose_language(client, "vi", "/")
    html = client.get(f"/registry/persons/{person.id}").get_data(as_text=True)
    cell = html[html.index("Số định danh</dt>") :]
    cell = cell[: cell.index("</dd>")]
    assert '<span class="text-muted unrecorded">chưa ghi</span>' in cell
    ethnicity = html[html.index("Dân tộc</dt>") :]
    assert '<span class="text-muted unrecorded">chưa ghi</span>' in ethnicity[: ethnicity.index("</dd>")]
