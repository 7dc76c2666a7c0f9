"""Every page a role works in is reachable by clicking from the home page, and no link leads to a refusal.

The crawler is a user who only clicks: it starts at ``/``, follows every ``<a href>`` of every page it opens (a
few URLs per endpoint, so filters and pagers do not explode the walk) and records the endpoints it reached and any
link that answered 403, 404 or 500. A page added without a way to it, or a link a role may not follow, fails here.
"""

from __future__ import annotations

import re
from collections import deque
from html import unescape
from urllib.parse import urlsplit

import pytest
from werkzeug.exceptions import HTTPException

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.services import find_unit
from tests.conftest import login, make_user
from tests.test_permissions import two_communes  # noqa: F401 - the shared data set of the permissions table

HREF = re.compile(r'<a\b[^>]*\bhref="([^"#]*)')
PER_ENDPOINT = 2  # URLs opened per endpoint: enough to go one level deeper, few enough to stay quick
SKIPPED = ("/static/", "/api/", "/login", "/account/")


def crawl(app, client) -> tuple[set[str], list[tuple[str, str, int]]]:
    """(endpoints reached, [(from page, link, status)] of the links that led to an error)."""
    adapter = app.url_map.bind("localhost")
    seen_urls: set[str] = set()
    per_endpoint: dict[str, int] = {}
    reached: set[str] = set()
    broken: list[tuple[str, str, int]] = []
    queue: deque[tuple[str, str]] = deque([("", "/")])
    while queue:
        origin, url = queue.popleft()
        if url in seen_urls:
            continue
        seen_urls.add(url)
        try:
            endpoint, _ = adapter.match(urlsplit(url).path, method="GET")
        except HTTPException:
            broken.append((origin, url, 404))
            continue
        if per_endpoint.get(endpoint, 0) >= PER_ENDPOINT:
            continue
        per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
        response = client.get(url)
        if response.status_code in (301, 302, 303):
            queue.appendleft((url, urlsplit(response.headers["Location"]).path or "/"))
            continue
        if response.status_code >= 400:
            broken.append((origin, url, response.status_code))
            continue
        reached.add(endpoint)
        if response.mimetype != "text/html":
            continue
        for href in HREF.findall(response.get_data(as_text=True)):
            link = unescape(href)
            if link.startswith("/") and not link.startswith(SKIPPED) and link not in seen_urls:
                queue.append((url, link))
    return reached, broken


ATTENDANCE_DOCUMENTS = {
    "courses.attendance_sheet",
    "courses.attendance_sheet_template",
    "courses.attendance_book_xlsx",
    "courses.attendance_book_pdf",
}
EXPECTED = {
    Role.CENTRE_MANAGER: {
        "courses.classes",
        "courses.catalogue",
        "courses.course",
        "courses.course_class",
        "courses.new_class",
        "courses.session",
        "courses.attendance",
        "courses.clc_timetable",
        "courses.centre_report",
        # The centre report's PDF and workbook are the buttons of its GET form (the number typed first), as the
        # targets reports' are: tests/courses/test_documents.py submits the form the page shows.
        "courses.certificate_pdf",
        "courses.it_certificates",
        "titles.eligibility_list",
        "titles.criteria_sets",
        "titles.explanation",
        "titles.registrations",
        "titles.recognitions",
        "registry.unit",
        "registry.household",
        "registry.person",
        *ATTENDANCE_DOCUMENTS,
    },
    Role.COMMUNE_LEADER: {
        "targets.unit",
        "titles.eligibility_list",
        "titles.criteria_sets",
        "titles.explanation",
        "titles.registrations",
        "titles.recognition_propose",
        "titles.recognition_decide",
        "titles.recognitions",
        "titles.recognition_page",
        "registry.unit",
        "registry.household",
        "courses.it_figures",
        "courses.course_class",
        "courses.attendance_book_pdf",
    },
    Role.PROVINCE_LEADER: {
        "targets.unit",
        "titles.eligibility_list",
        "titles.criteria_sets",
        "titles.recognition_decide",
        "titles.recognitions",
        "titles.runs_page",
        "courses.it_figures",
    },
    Role.INSTRUCTOR: {"courses.classes", "courses.course_class", "courses.attendance", "courses.attendance_sheet"},
    # The commune association recognises the Learning Citizen (Decision 324/QĐ-KHVN; ADR 45): its officer sees the
    # commune's titles, proposes and decides; no registry page (the explanation does not link to one). Its officers'
    # IT-skills training is the association's own target: the figures too (ADR 7).
    Role.ASSOCIATION_OFFICER: {
        "titles.eligibility_list",
        "titles.criteria_sets",
        "titles.explanation",
        "titles.registrations",
        "titles.recognition_propose",
        "titles.recognition_decide",
        "titles.recognitions",
        "titles.recognition_page",
        "courses.it_figures",
    },
}


@pytest.mark.parametrize("role", list(EXPECTED), ids=lambda role: role.value)
def test_every_page_of_a_role_is_reached_by_clicking(app, client, two_communes, role):  # noqa: F811
    own = two_communes["a"]
    unit = own["commune"] if role != Role.PROVINCE_LEADER else find_unit("51", "province")
    user = make_user(role, unit, f"nav-{role.value}@example.vn")
    db.session.commit()
    login(client, user)
    reached, broken = crawl(app, client)
    assert broken == [], "links that lead to an error page"
    assert EXPECTED[role] - reached == set(), "pages no click reaches"


def test_an_officer_reaches_their_training_and_nothing_refuses_them(app, client, two_communes):  # noqa: F811
    own = two_communes["a"]
    user = make_user(Role.ASSOCIATION_OFFICER, own["commune"], "nav-officer@example.vn")
    user.person_id = own["person_id"]
    db.session.commit()
    login(client, user)
    reached, broken = crawl(app, client)
    assert broken == []
    assert {"courses.my_training", "courses.my_new_certificate"} <= reached


def test_an_officer_without_a_linked_person_is_told_what_to_do(app, client, two_communes):  # noqa: F811
    user = make_user(Role.ASSOCIATION_OFFICER, two_communes["a"]["commune"], "nav-officer2@example.vn")
    db.session.commit()
    login(client, user)
    reached, broken = crawl(app, client)
    assert broken == []
    assert EXPECTED[Role.ASSOCIATION_OFFICER] <= reached  # the titles (ADR 45) …
    # … and the officers' IT-skills figures (ADR 7), not My training, nor the registry
    assert not {e for e in reached if e.startswith(("courses.", "registry."))} - {
        "courses.it_figures",
        "courses.it_unit",
        "courses.it_unit_xlsx",
    }
    assert 'id="unlinked-login"' in client.get("/").get_data(as_text=True)


def test_a_learner_without_a_role_is_not_told_to_ask_for_one(app, client, two_communes):  # noqa: F811
    """A learner's login — linked to their person, no role — is what it should be: the home page leads to their
    learning and does not tell them to ask an administrator for a role they do not need. A login with neither is."""
    from lms.auth.services import create_user
    from tests.conftest import PASSWORD

    learner = create_user("hoc-vien@example.vn", "Hồ Thị Học", PASSWORD)
    learner.person_id = two_communes["a"]["person_id"]
    nobody = create_user("chua-gan@example.vn", "Chưa Gắn", PASSWORD)
    db.session.commit()
    login(client, learner)
    html = client.get("/").get_data(as_text=True)
    assert 'href="/courses/it/me"' in html
    assert 'id="learner-home"' in html
    assert "chưa được phân quyền" not in html
    reached, broken = crawl(app, client)
    assert broken == []
    assert "courses.my_training" in reached
    other = app.test_client()
    login(other, nobody)
    assert "chưa được phân quyền" in other.get("/").get_data(as_text=True)
