"""What a commune leader reads on the titles pages, in words: the assessment page names its criterion (the
explanation page that links to it names criteria only by their names), and a proposal's scores say "điểm"."""

from __future__ import annotations

import re

from lms.auth.models import Role
from lms.extensions import db
from lms.titles import services
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code
from tests.titles import recognition_fixtures
from tests.titles.elig_helpers import citizen_criteria


def _heading(html: str) -> str:
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert found is not None
    return re.sub(r"\s+", " ", found.group(1)).strip()


def test_the_assessment_page_is_headed_by_the_criterions_name_not_its_code(app_ctx, client):
    commune = unit_by_code("23293")
    person = make_household(make_village(commune, "NW-1", "Thôn Tên Tiêu Chí"), "NW1", "Y Hoa").members[0]
    citizen_criteria()
    user = make_user(Role.COMMUNE_LEADER, commune, "nw-leader@example.vn")
    assessment = services.create_assessment(services.AssessmentInput("person", person.id, 2026, "C_2", "7"), user=user)
    db.session.commit()
    login(client, user)
    html = client.get(f"/titles/assessments/{assessment.id}").get_data(as_text=True)
    assert _heading(html) == "Đánh giá · Tự học"
    # Deleting it changes the eligibility: the button asks first, naming whose.
    assert 'data-confirm="Xóa giá trị đánh giá này? Kết quả xét danh hiệu của Y Hoa sẽ được tính lại' in html


def test_the_proposal_checklist_and_its_confirmation_say_points(app_ctx, client):
    commune = unit_by_code("23293")
    village = make_village(commune, "NW-2", "Thôn Điểm Số")
    household = make_household(village, "NW2", "Nguyễn Văn Điểm")
    family = recognition_fixtures.criteria_set()
    recognition_fixtures.eligibility(family, household.id, commune.id, 2025, village_id=village.id, score="86")
    leader = make_user(Role.COMMUNE_LEADER, commune, "nw-points@example.vn")
    db.session.commit()
    login(client, leader)
    url = f"/titles/recognitions/propose?commune_id={commune.id}&year=2025&title=family"
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<span class="badge text-bg-success[^"]*">\s*86 điểm\s*</span>', page)
    preview = client.post(url, data={"csrf_token": csrf_token(client, url), "ids": [household.id]})
    text = preview.get_data(as_text=True)
    confirm = text[text.index('id="confirm-list"') :]
    assert "Nguyễn Văn Điểm" in confirm
    assert re.search(r'<span class="d-block confirm-score">\s*86 điểm\s*</span>', confirm)  # on a line of its own


def test_the_titles_list_links_the_criteria_sets(client, app_ctx):
    """The criteria sets were reached only through one set's breadcrumb: the list a leader opens links them."""
    leader = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"), "criteria-link@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get("/titles/eligibility").get_data(as_text=True)
    link = re.search(r'<a[^>]*id="criteria-sets-link"[^>]*href="([^"]+)"', html)
    assert link is not None
    assert link.group(1) == "/titles/criteria"
    assert client.get(link.group(1)).status_code == 200
