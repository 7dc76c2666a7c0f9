"""The course, class and session services' refusals in the reader's language: on the pages (Vietnamese unless
English was chosen) and in the API's error bodies (the request's Accept-Language, as the rest of the API). They
were raised as raw English and shown as they were.

And a guard over the source: no refusal of these features is raised with a bare English literal, so a new one
cannot bring English back unnoticed.
"""

from __future__ import annotations

import ast
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest

from courses import services
from lms.auth.models import ApiToken, Role
from lms.extensions import db
from tests.conftest import choose_language, csrf_token, login, make_user
from tests.courses.conftest import make_centre, make_class

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def manager(app_ctx):
    centre = make_centre()
    user = make_user(Role.CENTRE_MANAGER, centre.commune, f"refusals-{uuid.uuid4().hex[:8]}@example.vn")
    db.session.commit()
    return centre, user


def _new_course(client, centre, **data: str) -> str:
    fields = {
        "csrf_token": csrf_token(client, "/courses/new"),
        "unit": str(centre.commune.id),
        "code": "TH-01",
        "name": "Tin học",
        "category": "digital_skills",
        "planned_hours": "24",
        "min_attendance_percent": "80",
    }
    response = client.post("/courses/new", data={**fields, **data})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_course_refusals_on_the_page_are_vietnamese(client, manager):
    centre, user = manager
    login(client, user)
    body = _new_course(client, centre, code=centre.course.code)
    assert f"đã có khóa học mã {centre.course.code}" in body
    assert "already exists" not in body
    body = _new_course(client, centre, module_codes="IU01, IU99")
    assert "không có mô đun kỹ năng CNTT IU99 (từ IU01 đến IU15)" in body
    assert "unknown IT-skills modules" not in body


def test_course_refusals_stay_english_for_whom_chose_english(client, manager):
    centre, user = manager
    login(client, user)
    choose_language(client, "en", "/")
    body = _new_course(client, centre, code=centre.course.code)
    assert f"a course with code {centre.course.code} already exists" in body


def test_a_session_outside_the_class_dates_is_refused_in_vietnamese_with_its_dates(client, manager):
    centre, user = manager
    course_class = make_class(centre)
    db.session.commit()
    login(client, user)
    response = client.post(
        f"/courses/classes/{course_class.id}/sessions",
        data={
            "csrf_token": csrf_token(client, "/courses/classes"),
            "single-day": "2026-04-02",
            "single-start": "08:00",
            "single-end": "09:00",
            "single-room": centre.room.id,
        },
    )
    body = response.get_data(as_text=True)
    assert "ngày 02/04/2026 nằm ngoài thời gian của lớp (02/03/2026–31/03/2026)" in body
    assert "outside the class" not in body


def _bearer(unit) -> dict[str, str]:
    user = make_user(Role.CENTRE_MANAGER, unit, f"refusals-api-{uuid.uuid4().hex[:8]}@example.vn")
    _, secret = ApiToken.issue(user, "phone")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("vi", "đã có khóa học mã {code}"),
        ("en", "a course with code {code} already exists"),
    ],
)
def test_api_refusals_follow_the_request_language(client, manager, language, expected):
    centre, _user = manager
    headers = {**_bearer(centre.commune), "Accept-Language": language}
    body = {
        "unit_id": centre.commune.id,
        "code": centre.course.code,
        "name": "Khác",
        "category": "literacy",
        "planned_hours": 2,
    }
    response = client.post("/api/v1/courses", json=body, headers=headers)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["errors"] == [{"field": "code", "message": expected.format(code=centre.course.code)}]
    assert problem["detail"] == expected.format(code=centre.course.code)


def test_api_conflicts_and_schedule_refusals_are_vietnamese(client, manager):
    centre, _user = manager
    course_class = make_class(centre)
    services.schedule(course_class, [(datetime(2026, 3, 3, 8), datetime(2026, 3, 3, 10))])
    headers = {**_bearer(centre.commune), "Accept-Language": "vi"}
    url = f"/api/v1/classes/{course_class.id}/sessions"
    clash = client.post(url, json={"starts_at": "2026-03-03T09:00", "ends_at": "2026-03-03T11:00"}, headers=headers)
    assert clash.status_code == 409
    assert clash.get_json()["detail"].endswith("lịch bị trùng (phòng học, giảng viên hoặc học viên)")
    outside = client.post(url, json={"starts_at": "2026-04-02T08:00", "ends_at": "2026-04-02T09:00"}, headers=headers)
    assert outside.status_code == 422
    assert outside.get_json()["detail"] == "ngày 02/04/2026 nằm ngoài thời gian của lớp (02/03/2026–31/03/2026)"


def test_outside_a_request_the_refusal_is_english(app_ctx):
    """A task or the shell has no reader to choose a language for: the message stays the English source."""
    centre = make_centre()
    services.add_holiday(centre.commune, date(2027, 5, 1), "Quốc tế Lao động")
    with pytest.raises(services.CourseError, match=r"^01/05/2027 is already a holiday of "):
        services.add_holiday(centre.commune, date(2027, 5, 1), "Quốc tế Lao động")


REFUSALS = {"CourseError", "ScheduleError", "ItSkillsError", "ReportPeriodError", "EvidenceError"}
SOURCES = [*sorted((ROOT / "courses").glob("*.py")), ROOT / "lms" / "core" / "evidence.py"]


def test_no_refusal_is_raised_in_bare_english():
    """Each refusal's message is a ``_(…)`` call (the request's language) or passes one on (``str(exc)``); a
    string literal or an f-string would reach the reader in English."""
    bare = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in REFUSALS):
                continue
            if node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr | ast.BinOp):
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert len(SOURCES) > 10
    assert bare == []


def test_certificate_report_and_upload_refusals_are_vietnamese(app, app_ctx):
    from courses import reports
    from courses.it_skills import ItSkillsError, record_certificate
    from lms.core.evidence import EvidenceError, store_evidence

    person = make_centre().learners[0]
    with app.test_request_context("/"):  # a page: Vietnamese unless English was chosen
        with pytest.raises(ItSkillsError, match=r"^hãy nhập số hiệu chứng chỉ$"):
            record_certificate(
                person=person, number=" ", issuer="x", issued_on=date(2026, 1, 1), upload=None, recorded_by_id=None
            )
        with pytest.raises(
            reports.ReportPeriodError,
            match=r"^ngày phải viết theo dạng năm-tháng-ngày \(YYYY-MM-DD\), ví dụ 2026-01-31$",
        ):
            reports.parse_period("01/01/2026", None, today=date(2026, 6, 1))
        with pytest.raises(EvidenceError, match=r"^Hãy chọn tệp để tải lên \(PDF, JPEG hoặc PNG\)\.$"):
            store_evidence(None, uploaded_by_id=None)


def test_a_course_code_with_vietnamese_letters_is_told_which_letters_to_use(client, manager):
    """Walked on a phone: 'KH-ĐĂK-01' was refused with 'Only letters, digits, dots, dashes and underscores' — Đ and
    Ă are letters, so the manager could not tell what to change. The message names the letters and gives an
    example."""
    centre, user = manager
    login(client, user)
    body = _new_course(client, centre, code="KH-ĐĂK-01")
    assert "Chỉ dùng chữ không dấu (A–Z)" in body
    assert "ví dụ: KH-DAK-01" in body
