"""The attendance page without a signal, server side (issue 16, ADR 26): the service worker and its scope, the
manifest, the offline page that holds no personal data, and the document the phone keeps (the user's sessions of
the coming two weeks, rosters with names and birth years only, the server's marks), scoped like every look-up."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from courses import services
from courses.models import ClassSession, class_instructor
from courses.services import Mark
from lms.auth.models import Role
from lms.extensions import db, utcnow
from tests.conftest import login, make_user
from tests.courses.conftest import make_centre, make_class


@pytest.fixture(autouse=True)
def _english(client):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def _at(days: int, hour: int = 8) -> datetime:
    day = services.local_now().date() + timedelta(days=days)
    return datetime.combine(day, datetime.min.time()).replace(hour=hour)


@pytest.fixture
def upcoming(app_ctx):
    """A class with sessions last week, tomorrow, in ten days and in three weeks; a centre in another commune."""
    centre = make_centre()
    course_class = make_class(
        centre, starts_on=date.today() - timedelta(days=10), ends_on=date.today() + timedelta(days=30)
    )
    learners = centre.learners[:4]
    learners[0].birth_date = date(1980, 5, 1)
    services.enrol(course_class, [p.id for p in learners])
    sessions = services.schedule(
        course_class, [(_at(days), _at(days, 10)) for days in (-7, 1, 10, 21)], room=centre.room
    )
    other = make_centre("23302", learners=2, label="B")
    other_class = make_class(
        other, starts_on=date.today() - timedelta(days=10), ends_on=date.today() + timedelta(days=30)
    )
    services.enrol(other_class, [p.id for p in other.learners])
    (other_session,) = services.schedule(other_class, [(_at(2), _at(2, 10))])
    instructor = make_user(Role.INSTRUCTOR, centre.commune, "instructor-offline@example.vn")
    db.session.commit()
    return centre, instructor, sessions, learners, other_session


def _data(client, *session_ids: int) -> dict:
    query = "&".join(f"session={i}" for i in session_ids)
    response = client.get(f"/courses/offline/data.json?{query}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def test_the_phone_keeps_the_coming_two_weeks_with_names_and_birth_years_only(client, upcoming):
    centre, instructor, sessions, learners, other_session = upcoming
    past, tomorrow, in_ten_days, in_three_weeks = sessions
    services.record_attendance(
        tomorrow, [Mark(learners[1].id, "late", utcnow(), "m-1", "phone-x")], user_id=instructor.id
    )
    db.session.commit()
    login(client, instructor)
    data = _data(client)
    assert data["user_id"] == instructor.id
    assert [s["id"] for s in data["sessions"]] == [tomorrow.id, in_ten_days.id]
    (klass,) = data["classes"].values()
    assert {tuple(sorted(p)) for p in klass["learners"]} == {("born", "id", "name")}
    assert {p["id"]: p["born"] for p in klass["learners"]}[learners[0].id] == 1980
    assert {p["name"] for p in klass["learners"]} == {p.full_name for p in learners}
    first = data["sessions"][0]
    assert first["place"] == centre.room.name
    assert first["marks"] == {
        str(learners[1].id): {
            "status": "late",
            "recorded_at": first["marks"][str(learners[1].id)]["recorded_at"],
            "by": instructor.name,
            "device": "phone-x",
            "client_mark_id": "m-1",
        }
    }
    assert [code for code, _name in data["statuses"]][:2] == ["present", "late"]

    # A session outside the window is added when the phone asks for it (marks wait for it); another commune's never.
    asked = _data(client, past.id, other_session.id)
    assert [s["id"] for s in asked["sessions"]] == [tomorrow.id, in_ten_days.id, past.id]
    assert in_three_weeks.id not in [s["id"] for s in asked["sessions"]]


def test_an_instructor_who_teaches_gets_only_the_classes_they_teach(client, upcoming):
    centre, _instructor, _sessions, _learners, _other = upcoming
    teacher_person = centre.learners[5]
    second = make_class(
        centre,
        name="Lớp thứ hai",
        starts_on=date.today() - timedelta(days=10),
        ends_on=date.today() + timedelta(days=30),
    )
    (second_session,) = services.schedule(second, [(_at(3, 14), _at(3, 16))], room=centre.hall)
    db.session.execute(class_instructor.insert().values(class_id=second.id, person_id=teacher_person.id))
    teacher = make_user(Role.INSTRUCTOR, centre.commune, "teacher-offline@example.vn")
    teacher.person_id = teacher_person.id
    db.session.commit()
    login(client, teacher)
    assert [s["id"] for s in _data(client)["sessions"]] == [second_session.id]


def test_nobody_logged_in_or_without_the_right_gets_nothing(client, upcoming):
    centre, *_ = upcoming
    response = client.get("/courses/offline/data.json")
    assert response.status_code == 401
    assert response.get_json() == {"error": "login"}
    viewer = make_user(Role.PROVINCE_LEADER, centre.commune.parent, "leader-offline@example.vn")
    db.session.commit()
    login(client, viewer)
    assert client.get("/courses/offline/data.json").status_code == 403


def test_the_document_takes_a_constant_number_of_statements(client, upcoming, count_queries):
    centre, instructor, sessions, _learners, _other = upcoming
    login(client, instructor)
    _data(client)  # the user's scopes are then cached for a while (ADR 27): count like for like
    with count_queries() as counter:
        _data(client)
    small = counter.count
    course_class = sessions[0].course_class
    services.schedule(course_class, [(_at(days, 14), _at(days, 16)) for days in (2, 3, 4)], room=centre.hall)
    services.enrol(course_class, [p.id for p in centre.learners[4:]])
    db.session.commit()
    with count_queries() as counter:
        data = _data(client)
    assert len(data["sessions"]) == 5
    assert counter.count == small


def test_the_worker_is_served_with_a_scope_over_the_attendance_pages(client, upcoming):
    response = client.get("/courses/sw.js")
    assert response.status_code == 200
    assert "javascript" in response.mimetype
    assert response.headers["Service-Worker-Allowed"] == "/courses/"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "lms-attendance" in response.get_data(as_text=True)  # its Background Sync tag


def test_the_manifest_makes_the_page_installable_with_vendored_icons(client, upcoming):
    response = client.get("/courses/offline/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    assert manifest["start_url"].startswith(manifest["scope"])
    assert manifest["scope"] == "/courses/"
    assert manifest["display"] == "standalone"
    for icon in manifest["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200
        assert image.data.startswith(b"\x89PNG")
        assert {"192x192", "512x512"} >= {icon["sizes"]}


def test_the_offline_page_holds_no_personal_data(client, upcoming):
    _centre, instructor, _sessions, learners, _other = upcoming
    login(client, instructor)
    page = client.get("/courses/offline/").get_data(as_text=True)
    assert 'id="offline-root"' in page
    assert all(p.full_name not in page for p in learners)
    assert instructor.name not in page
    assert "offline/attendance.js" in page


def test_the_attendance_page_is_installable_and_loads_its_scripts_from_files(client, upcoming):
    _centre, instructor, sessions, _learners, _other = upcoming
    login(client, instructor)
    page = client.get(f"/courses/sessions/{sessions[1].id}/attendance").get_data(as_text=True)
    assert 'rel="manifest"' in page
    assert "offline/attendance.js" in page
    assert f'data-user="{instructor.id}"' in page
    config = page.split('<script type="application/json" id="offline-text">')[1].split("</script>")[0]
    assert json.loads(config)["texts"]["waiting"] == "Đang chờ gửi trên điện thoại này"  # Vietnamese by default


def test_a_session_of_another_commune_is_not_in_the_document(client, upcoming):
    _centre, instructor, _sessions, _learners, other_session = upcoming
    login(client, instructor)
    data = _data(client, other_session.id)
    assert other_session.id not in [s["id"] for s in data["sessions"]]
    assert db.session.get(ClassSession, other_session.id) is not None


def test_a_fortnight_of_a_forty_learner_class_is_light_over_the_wire(client, upcoming):
    import gzip

    from tests.conftest import make_household

    centre, instructor, sessions, _learners, _other = upcoming
    course_class = sessions[0].course_class
    course_class.capacity = 60
    many = make_household(centre.village, "40", *(f"Nguyễn Thị Học Viên {i:02d}" for i in range(40))).members
    services.enrol(course_class, [p.id for p in many])
    more = services.schedule(course_class, [(_at(d, 14), _at(d, 16)) for d in range(2, 14, 2)], room=centre.hall)
    for session in [sessions[1], *more]:
        marks = [Mark(p.id, "present", utcnow(), f"m-{session.id}-{p.id}", "phone-abcdef12") for p in many]
        services.record_attendance(session, marks, user_id=instructor.id)
    db.session.commit()
    login(client, instructor)
    response = client.get("/courses/offline/data.json")
    data = response.get_json()
    assert len(data["sessions"]) == 8
    assert sum(len(s["marks"]) for s in data["sessions"]) == 7 * 40
    # Eight sessions, 44 learners, 280 marks with who and when: a few kilobytes once compressed.
    assert len(gzip.compress(response.data)) < 12_000


def test_every_file_the_worker_keeps_exists(client, upcoming):
    """One missing file fails the worker's installation, and with it the whole offline page."""
    import re

    worker = client.get("/courses/sw.js").get_data(as_text=True)
    listed = worker.split("var ASSETS = [")[1].split("];")[0]
    assert "SHELL," in listed
    assert 'var SHELL = "/courses/offline/";' in worker
    assets = ["/courses/offline/", *re.findall(r'^\s+"(/[^"]+)",$', listed, re.MULTILINE)]
    assert len(assets) >= 10
    for url in assets:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    ("language", "words"),
    [("vi", ["không có tên trong lớp này", "chưa ghi lượt điểm danh nào"]), ("en", ["is not enrolled", "no mark"])],
)
def test_the_bulk_endpoint_words_a_refusal_in_the_language_the_page_asks_for(client, upcoming, language, words):
    """The phone page sends the page's language with its marks: a Vietnamese page shows the server's reasons in
    Vietnamese, whatever the phone's own Accept-Language (often English)."""
    centre, instructor, sessions, _learners, _other = upcoming
    outsider = centre.learners[5].id  # of the commune, not of the class
    login(client, instructor)
    token = _data(client, sessions[1].id)["csrf_token"]
    response = client.post(
        f"/api/v1/sessions/{sessions[1].id}/attendance",
        json={
            "device": "phone-1234abcd",
            "marks": [{"person_id": outsider, "status": "present", "recorded_at": utcnow().isoformat() + "Z"}],
        },
        headers={"Accept-Language": language, "X-CSRFToken": token, "Idempotency-Key": f"lang-{language}"},
    )
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"][0]["field"] == "marks[0].person_id"
    assert words[0] in problem["errors"][0]["message"]
    assert words[1] in json.dumps(problem, ensure_ascii=False)


def test_the_attendance_page_has_no_inline_script_style_or_handler(client, upcoming):
    """A Content-Security-Policy without 'unsafe-inline' (and without a nonce) runs the page: every script is a file
    but the JSON block of words, no <style> block, no style attribute, no on…= handler."""
    import re

    _centre, instructor, sessions, _learners, _other = upcoming
    login(client, instructor)
    for url in (f"/courses/sessions/{sessions[1].id}/attendance", "/courses/offline/"):
        page = client.get(url).get_data(as_text=True)
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.DOTALL)
        assert scripts
        for attributes, body in scripts:
            assert 'src="' in attributes or 'type="application/json"' in attributes, attributes
            assert 'src="' not in attributes or not body.strip()
        assert "<style" not in page
        assert not re.search(r"\sstyle=", page)
        assert not re.search(r"\son[a-z]+=", page)
    sheet = client.get(f"/courses/sessions/{sessions[1].id}/attendance").get_data(as_text=True)
    assert "offline/sheet.js" in sheet
    assert 'class="roll-choices cols-4"' in sheet


def test_the_offline_page_has_the_sites_menu_and_everything_it_needs_is_kept_on_the_phone(client, upcoming):
    """Shown with no signal, the offline page is not a dead end: the menu of the other pages (folded behind the
    "Trình đơn" button on a phone, as theirs is) leads home, to the attendance sheets kept on the phone and to the
    classes; every script and stylesheet it loads — the menu's too — is one the worker keeps."""
    import re

    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "vi"
    page = client.get("/courses/offline/").get_data(as_text=True)
    nav = page.split('<nav class="navbar')[1].split("</nav>")[0]
    assert 'class="navbar-toggler"' in nav
    assert 'data-bs-target="#nav"' in nav
    assert 'aria-label="Trình đơn"' in nav
    menu = nav.split('id="nav"')[1]
    links = {
        text.strip(): href
        for href, text in re.findall(r'<a class="nav-link[^"]*" href="([^"]+)"[^>]*>([^<]+)</a>', menu)
    }
    assert links == {
        "Trang đầu (cần có mạng)": "/",
        "Các buổi học của bạn": "/courses/offline/",
        "Lớp học": "/courses/classes",
    }
    worker = client.get("/courses/sw.js").get_data(as_text=True)
    kept = set(re.findall(r'^\s+"(/[^"]+)",$', worker.split("var ASSETS = [")[1].split("];")[0], re.MULTILINE))
    loaded = set(re.findall(r'<(?:script|link rel="stylesheet")[^>]+(?:src|href)="(/static/[^"]+)"', page))
    assert "/static/vendor/bootstrap/bootstrap.bundle.min.js" in loaded  # what opens the menu
    assert loaded <= kept, loaded - kept


def test_the_offline_menu_leads_only_where_the_worker_answers_or_says_a_connection_is_needed(client, upcoming):
    """With no signal, a link outside the worker's scope (/courses/) opens the browser's own error: the offline page's
    brand and menu lead to pages the worker answers (this page, the classes list it answers with this page), and the
    start page, outside its scope, says plainly that it needs a connection. The navbar's shell (brand, menu button)
    is base.html's, drawn by one macro."""
    import re

    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "vi"
    page = client.get("/courses/offline/").get_data(as_text=True)
    worker = client.get("/courses/sw.js").get_data(as_text=True)
    shell = re.search(r'var SHELL = "([^"]+)";', worker).group(1)
    menu = re.findall(r'"(/[^"]+)"', re.search(r"var MENU = \[([^\]]*)\];", worker).group(1))
    scope = "/courses/"
    nav = page.split('<nav class="navbar')[1].split("</nav>")[0]
    for tag in re.findall(r"<a [^>]+>[^<]*</a>", nav):
        href = re.search(r'href="([^"]+)"', tag).group(1)
        answered = href.startswith(scope) and (href == shell or href in menu)
        assert answered or ("data-needs-connection" in tag and "cần có mạng" in tag), tag
    assert re.search(r'<a class="navbar-brand" href="/courses/offline/">', nav)
    # The same shell as every other page (the login page: base.html), up to the menu itself.
    other = client.get("/login").get_data(as_text=True)

    def shell_of(html: str) -> str:
        head = html.split('<nav class="navbar')[1].split('id="nav">')[0]
        return re.sub(r'class="navbar-brand" href="[^"]+"', 'class="navbar-brand"', head)

    assert shell_of(page) == shell_of(other)
