"""Who may open a learner's certificate of completion, and that the links shown answer.

A learner of one commune may complete a class held by another commune's centre (an IT class for the association's
officers at the neighbouring centre). Their commune's leader sees the learner's IT-training page, with the
certificate's link; the PDF answered 404 to them, as it checked only the class's commune."""

from __future__ import annotations

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import Person
from tests.conftest import csrf_token, login, make_user, make_village, unit_by_code
from tests.courses.test_documents import LEARNER, _pdf_text, certified  # noqa: F401 - the fixture


def test_the_leader_of_the_learners_commune_opens_the_certificate_the_page_links(client, certified):  # noqa: F811
    _centre, _course_class, certificate, _manager = certified
    home = unit_by_code("23302")  # another commune than the class's (23293)
    village = make_village(home, "CS-V1", "Thôn Đăk Rơ")
    learner = db.session.get(Person, certificate.person_id)
    learner.unit_id = village.id
    leader = make_user(Role.COMMUNE_LEADER, home, "cs-leader@example.vn")
    stranger = make_user(Role.COMMUNE_LEADER, unit_by_code("23317"), "cs-stranger@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/courses/it/persons/{learner.id}").get_data(as_text=True)
    link = f"/courses/certificates/{certificate.code}.pdf"
    assert f'href="{link}"' in page
    response = client.get(link)
    assert response.status_code == 200
    assert LEARNER in _pdf_text(response.get_data())
    # A leader of neither the learner's nor the class's commune: no page, no certificate.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, stranger)
    assert client.get(f"/courses/it/persons/{learner.id}").status_code == 404
    assert client.get(link).status_code == 404
