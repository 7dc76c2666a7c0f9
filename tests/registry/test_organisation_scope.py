"""An organisation's page shows the members the viewer's scope covers, and only a count of the others."""

from __future__ import annotations

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import Organisation, OrganisationMember
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code


def test_members_from_another_commune_are_counted_not_named(app_ctx, client):
    home, other = unit_by_code("23293"), unit_by_code("23302")
    local = make_household(make_village(home, "ORG-A", "Thôn A"), "A1", "Y Địa Phương").members[0]
    outsider = make_household(make_village(other, "ORG-B", "Thôn B"), "B1", "Y Nơi Khác").members[0]
    school = Organisation(commune_id=home.id, code="ORG-S", name="Trường Tiểu học")
    db.session.add(school)
    db.session.flush()
    db.session.add_all(
        [
            OrganisationMember(organisation_id=school.id, person_id=local.id, position="Giáo viên"),
            OrganisationMember(organisation_id=school.id, person_id=outsider.id, position="Hiệu trưởng"),
        ]
    )
    leader = make_user(Role.COMMUNE_LEADER, home, "org-leader@example.vn")
    province = make_user(Role.PROVINCE_LEADER, home.parent, "org-province@example.vn")
    db.session.commit()

    login(client, leader)
    page = client.get(f"/registry/organisations/{school.id}").get_data(as_text=True)
    assert "Y Địa Phương" in page
    assert "Y Nơi Khác" not in page
    assert f"/registry/persons/{outsider.id}" not in page
    assert "không hiển thị: 1." in page

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, province)  # the province covers both communes
    page = client.get(f"/registry/organisations/{school.id}").get_data(as_text=True)
    assert "Y Địa Phương" in page
    assert "Y Nơi Khác" in page
    assert "không hiển thị" not in page
