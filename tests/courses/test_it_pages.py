"""The IT-skills pages and API: "My training", certificates recorded with their scan and verified, the leaders'
figures on the page, in the xlsx and in the API."""

from __future__ import annotations

import io
from datetime import date, datetime, time

from openpyxl import load_workbook
from sqlalchemy import select, update

from courses import it_skills, reports
from courses.models import ItCertificate
from lms.auth.models import ApiToken, Role
from lms.extensions import db
from lms.registry.models import Clc
from tests.conftest import csrf_token, login, make_user
from tests.courses.test_it_skills import BASIC, PDF, hand_made_commune, modules_of, people


def _officer_login(client, person, commune, email="officer@example.vn"):
    user = make_user(Role.ASSOCIATION_OFFICER, commune, email)
    user.person_id = person.id
    db.session.commit()
    login(client, user)
    return user


def test_my_training_shows_modules_done_and_missing(app_ctx, client):
    c = hand_made_commune()
    _officer_login(client, c.five_modules, c.unit)
    html = client.get("/courses/it/me").get_data(as_text=True)
    for code in BASIC[:5]:
        assert f'data-module="{code}" data-done="yes"' in html
    assert 'data-module="IU06" data-done="no"' in html
    assert 'data-standard="basic" data-met="no"' in html
    assert "Sử dụng Internet cơ bản" in html  # the module's official name (pages are Vietnamese by default)


def test_a_login_without_a_person_gets_a_clear_page(app_ctx, client):
    from tests.conftest import unit_by_code

    user = make_user(Role.ASSOCIATION_OFFICER, unit_by_code("23293"), "nobody@example.vn")
    db.session.commit()
    login(client, user)
    response = client.get("/courses/it/me")
    assert response.status_code == 200
    assert 'id="no-person"' in response.get_data(as_text=True)
    assert client.get("/api/v1/it/me/progress").status_code == 404


def test_an_officer_records_a_certificate_and_a_manager_verifies_it(app_ctx, client):
    c = hand_made_commune()
    _officer_login(client, c.vice, c.unit)
    token = csrf_token(client, "/courses/it/me/certificates/new")
    bad = client.post(
        "/courses/it/me/certificates/new",
        data={
            "csrf_token": token,
            "number": "CC-9",
            "issuer": "Trung tâm sát hạch",
            "issued_on": "2025-03-01",
            "file": (io.BytesIO(b"<html>not a scan</html>"), "scan.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert bad.status_code == 200
    assert db.session.scalar(select(ItCertificate).where(ItCertificate.person_id == c.vice.id)) is None
    response = client.post(
        "/courses/it/me/certificates/new",
        data={
            "csrf_token": token,
            "number": "CC-9",
            "issuer": "Trung tâm sát hạch",
            "issued_on": "2025-03-01",
            "file": (io.BytesIO(PDF), "scan.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    certificate = db.session.scalar(select(ItCertificate).where(ItCertificate.person_id == c.vice.id))
    assert certificate is not None
    assert certificate.status == "pending"
    assert modules_of(c.vice) == set()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/courses/it/me")})

    manager = make_user(Role.CENTRE_MANAGER, c.unit, "manager@example.vn")
    db.session.commit()
    login(client, manager)
    assert "CC-9" in client.get("/courses/it/certificates").get_data(as_text=True)
    token = csrf_token(client, f"/courses/it/certificates/{certificate.id}")
    assert (
        client.post(f"/courses/it/certificates/{certificate.id}/verify", data={"csrf_token": token}).status_code == 302
    )
    assert modules_of(c.vice) == set(BASIC)
    assert (
        client.post(
            f"/courses/it/certificates/{certificate.id}/reject", data={"csrf_token": token, "reason": ""}
        ).status_code
        == 400
    )
    assert modules_of(c.vice) == set(BASIC)
    assert (
        client.post(
            f"/courses/it/certificates/{certificate.id}/reject", data={"csrf_token": token, "reason": "Ảnh chụp mờ"}
        ).status_code
        == 302
    )
    assert modules_of(c.vice) == set()
    # A status that is not one (a typo, an old link) lists them all, and so says which is which.
    listed = client.get("/courses/it/certificates?status=rejectd").get_data(as_text=True)
    assert "CC-9" in listed
    assert 'data-status="rejected"' in listed


def test_an_officer_enrols_in_an_open_it_class(app_ctx, client):
    from datetime import timedelta

    from courses import services
    from tests.courses.test_it_skills import it_course

    c = hand_made_commune()
    clc = db.session.scalar(select(Clc).where(Clc.commune_id == c.unit.id))
    today = services.local_now().date()
    open_class = services.create_class(
        course=it_course(c.unit, "IT-OPEN", ["IU06"]),
        clc=clc,
        name="Internet",
        capacity=5,
        starts_on=today,
        ends_on=today + timedelta(days=30),
        target_group="association_officers",
    )
    tomorrow = today + timedelta(days=1)
    services.schedule(open_class, [(datetime.combine(tomorrow, time(19)), datetime.combine(tomorrow, time(21)))])
    db.session.commit()
    _officer_login(client, c.five_modules, c.unit)
    html = client.get("/courses/it/me").get_data(as_text=True)
    assert "Internet" in html
    token = csrf_token(client, "/courses/it/me")
    assert client.post(f"/courses/it/me/classes/{open_class.id}/enrol", data={"csrf_token": token}).status_code == 302
    assert c.five_modules.id in services._enrolled_ids(open_class)
    page = client.get("/courses/it/me")
    assert page.status_code == 200
    assert "Internet" in page.get_data(as_text=True).split('id="upcoming"')[1]
    # The class they joined is named where classes are offered, and no "no class is open" follows "enrolled".
    offered = page.get_data(as_text=True).split('id="open-classes"')[1].split("</section>")[0]
    assert "Internet" in offered.split("joined-class")[1]
    assert "No IT-skills class is open" not in offered
    assert "Hiện chưa có lớp kỹ năng CNTT nào mở ở xã của bạn." not in offered
    # Enrolled now: no longer offered, and a second try is refused.
    assert client.post(f"/courses/it/me/classes/{open_class.id}/enrol", data={"csrf_token": token}).status_code == 404


def test_the_leaders_page_and_xlsx_show_the_known_figures(app_ctx, client):
    c = hand_made_commune()
    leader = make_user(Role.COMMUNE_LEADER, c.unit, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/courses/it/units/{c.unit.id}?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    assert 'data-figure="officers"' in html
    assert '<span data-part="numerator">2</span> / <span data-part="denominator">5</span>' in html
    assert '<span data-part="numerator">1</span> / <span data-part="denominator">1</span>' in html
    assert f'data-person="{c.five_modules.id}"' in html
    assert f'data-person="{c.former.id}"' not in html
    response = client.get(f"/courses/it/units/{c.unit.id}.xlsx?from=2026-01-01&to=2026-12-31")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.data))
    summary = workbook["Chỉ tiêu"]
    rows = {row[0]: row[1:3] for row in summary.iter_rows(min_row=7, values_only=True) if row[0]}
    assert rows[reports.PLAN_IT_TRAINED_OFFICERS] == (2, 5)
    assert rows[reports.PLAN_CHAIR_IN_CLC] == (1, 1)
    officers = workbook["Cán bộ × mô đun"]
    assert officers.max_row == 6  # a header and five officers
    assert client.get(f"/courses/it/units/{c.unit.id}?from=2026-12-31&to=2026-01-01").status_code == 400


def test_ttlt_17_art_16_the_leaders_page_and_xlsx_do_not_call_classes_the_standard(app_ctx, client):
    """Joint Circular 17/2016, Art. 16.1 and 17.2: the basic IT certificate, issued by a test centre, attests the
    basic standard; CLC classes attest training in its modules. The leaders' page and xlsx say "đã học đủ 6 mô đun
    cơ bản" for the officers trained, and count apart those "có chứng chỉ ứng dụng CNTT cơ bản" — no longer "đạt
    chuẩn" for both."""
    c = hand_made_commune()
    leader = make_user(Role.COMMUNE_LEADER, c.unit, "leader-cert@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/courses/it/units/{c.unit.id}?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    assert "Đã học đủ 6 mô đun cơ bản" in html
    assert "Có chứng chỉ ứng dụng CNTT cơ bản" in html
    assert "Chuẩn cơ bản" not in html
    assert '<td class="text-end d-none d-md-table-cell" data-col="certified">1</td>' in html
    matrix = html[html.index('id="it-matrix"') :]
    chair_row = matrix[matrix.index(f'data-person="{c.chair.id}"') :]
    assert chair_row[chair_row.index('data-col="basic"') :].startswith('data-col="basic">đã học, chưa có chứng chỉ<')
    holder_row = matrix[matrix.index(f'data-person="{c.by_certificate.id}"') :]
    assert holder_row[holder_row.index('data-col="basic"') :].startswith('data-col="basic">có, có chứng chỉ<')
    response = client.get(f"/courses/it/units/{c.unit.id}.xlsx?from=2026-01-01&to=2026-12-31")
    workbook = load_workbook(io.BytesIO(response.data))
    by_commune = list(workbook["Theo xã"].iter_rows(values_only=True))
    head = next(row for row in by_commune if row and row[0] == "Xã")
    assert "Đạt chuẩn CNTT cơ bản" not in head
    line = by_commune[by_commune.index(head) + 1]
    assert line[head.index("Đã học đủ 6 mô đun cơ bản")] == 2
    assert line[head.index("Có chứng chỉ ứng dụng CNTT cơ bản")] == 1
    officers = list(workbook["Cán bộ × mô đun"].iter_rows(values_only=True))
    columns = officers[0]
    assert "Đạt chuẩn cơ bản" not in columns
    certified = {row[1]: row[columns.index("Có chứng chỉ ứng dụng CNTT cơ bản")] for row in officers[1:]}
    assert certified[c.by_certificate.full_name] == "có"
    assert not certified[c.chair.full_name]


def test_the_api_records_verifies_and_counts(app_ctx, client):
    c = hand_made_commune()
    (newcomer,) = people(c.unit, "API", "Phan Văn Mới")
    manager = make_user(Role.CENTRE_MANAGER, c.unit, "api-manager@example.vn")
    db.session.commit()
    login(client, manager)
    token = csrf_token(client, "/courses/it/certificates")
    headers = {"X-CSRFToken": token}
    modules = client.get("/api/v1/it/modules").get_json()
    assert [m["code"] for m in modules["modules"]][:2] == ["IU01", "IU02"]
    assert {s["code"]: s["at_least"] for s in modules["standards"]}["advanced"] == 3

    refused = client.post(
        "/api/v1/it/certificates",
        headers=headers,
        content_type="multipart/form-data",
        data={"person_id": str(newcomer.id), "number": "", "issuer": "Trung tâm", "issued_on": "2025-13-01"},
    )
    assert refused.status_code == 422
    assert {e["field"] for e in refused.get_json()["errors"]} == {"number", "issued_on"}
    created = client.post(
        "/api/v1/it/certificates",
        headers=headers,
        content_type="multipart/form-data",
        data={
            "person_id": str(newcomer.id),
            "number": "API-1",
            "issuer": "Trung tâm",
            "issued_on": "2025-04-01",
            "file": (io.BytesIO(PDF), "scan.pdf"),
        },
    )
    assert created.status_code == 201
    certificate_id = created.get_json()["id"]
    assert client.get(f"/api/v1/it/persons/{newcomer.id}/progress").get_json()["standards"]["basic"] is False
    # Whoever recorded it does not verify it (separation of duties); a second manager does.
    assert client.post(f"/api/v1/it/certificates/{certificate_id}/verify", headers=headers, json={}).status_code == 403
    second = make_user(Role.CENTRE_MANAGER, c.unit, "api-manager-2@example.vn")
    _, secret = ApiToken.issue(second, "second manager's phone")
    db.session.commit()
    bearer = {"Authorization": f"Bearer {secret}"}
    verified = client.post(f"/api/v1/it/certificates/{certificate_id}/verify", headers=bearer, json={})
    assert verified.get_json()["status"] == "verified"
    progress = client.get(f"/api/v1/it/persons/{newcomer.id}/progress").get_json()
    assert progress["standards"]["basic"] is True
    assert progress["modules"][0]["sources"] == [f"itcert:{certificate_id}"]
    assert client.post(f"/api/v1/it/certificates/{certificate_id}/reject", headers=headers, json={}).status_code == 422

    figures = client.get(f"/api/v1/it/figures?unit_id={c.unit.id}&from=2026-01-01&to=2026-12-31").get_json()
    assert figures["officers_organising_and_trained"]["numerator"] == 2
    assert figures["officers_organising_and_trained"]["denominator"] == 5
    chairs = figures["associations_leader_manages_clc"]
    assert (chairs["numerator"], chairs["denominator"]) == (1, 1)
    assert figures["policy_study"]["numerator"] == 2
    assert client.get(f"/api/v1/it/figures?unit_id={c.unit.id}&from=x").status_code == 422


def test_a_scan_over_the_size_limit_is_refused(app_ctx, client):
    c = hand_made_commune()
    _officer_login(client, c.vice, c.unit)
    app_ctx.config["MAX_EVIDENCE_BYTES"] = 1000
    try:
        response = client.post(
            "/api/v1/it/certificates",
            headers={"X-CSRFToken": csrf_token(client, "/courses/it/me")},
            content_type="multipart/form-data",
            data={
                "number": "BIG",
                "issuer": "Trung tâm",
                "issued_on": date(2025, 1, 1).isoformat(),
                "file": (io.BytesIO(PDF + b"0" * 2000), "big.pdf"),
            },
        )
    finally:
        app_ctx.config["MAX_EVIDENCE_BYTES"] = 5 * 1024 * 1024
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "file"


def test_an_over_long_number_or_issuer_is_refused_by_field(app_ctx, client):
    """The columns hold 60 and 300 characters: longer is a 422 naming the field (it was a 500 on PostgreSQL)."""
    c = hand_made_commune()
    _officer_login(client, c.vice, c.unit)
    headers = {"X-CSRFToken": csrf_token(client, "/courses/it/me")}
    for field, given in (("number", "N" * 61), ("issuer", "T" * 301)):
        data = {
            "number": "LONG-1",
            "issuer": "Trung tâm",
            "issued_on": "2025-01-01",
            "file": (io.BytesIO(PDF), "scan.pdf"),
            field: given,
        }
        response = client.post(
            "/api/v1/it/certificates", headers=headers, content_type="multipart/form-data", data=data
        )
        assert response.status_code == 422, field
        assert response.get_json()["errors"][0]["field"] == field
    exact = client.post(
        "/api/v1/it/certificates",
        headers=headers,
        content_type="multipart/form-data",
        data={
            "number": "N" * 60,
            "issuer": "T" * 300,
            "issued_on": "2025-01-01",
            "file": (io.BytesIO(PDF), "scan.pdf"),
        },
    )
    assert exact.status_code == 201


def test_a_future_date_of_issue_says_what_to_enter_in_vietnamese(app_ctx, client):
    c = hand_made_commune()
    _officer_login(client, c.vice, c.unit)
    client.environ_base.pop("HTTP_ACCEPT_LANGUAGE", None)
    page = client.post(
        "/courses/it/me/certificates/new",
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf_token(client, "/courses/it/me/certificates/new"),
            "number": "CC-TL-1",
            "issuer": "Trung tâm sát hạch",
            "issued_on": "2099-01-05",
            "file": (io.BytesIO(PDF), "scan.pdf"),
        },
    ).get_data(as_text=True)
    assert "ngày cấp sau hôm nay: hãy nhập đúng ngày ghi trên chứng chỉ" in page
    assert db.session.scalar(select(ItCertificate.id).where(ItCertificate.number == "CC-TL-1")) is None


def test_an_officers_only_class_refuses_a_member_naming_the_association(app_ctx, client):
    from tests.courses.conftest import make_centre, make_class

    centre = make_centre()
    course_class = make_class(centre)
    course_class.target_group = "association_officers"
    manager = make_user(Role.CENTRE_MANAGER, centre.commune)
    db.session.commit()
    login(client, manager)
    page = client.post(
        f"/courses/classes/{course_class.id}/enrol",
        data={
            "csrf_token": csrf_token(client, f"/courses/classes/{course_class.id}"),
            "enrol-person_ids": [str(centre.learners[0].id)],
        },
    ).get_data(as_text=True)
    assert "1 người không phải cán bộ Hội: lớp chỉ dành cho cán bộ Hội" in page


def test_a_class_attests_training_and_only_a_certificate_the_standard(app_ctx, client):
    """TTLT 17/2016 Art. 16-17: the basic standard is attested by an accredited test centre's certificate; a CLC
    class that covered the six basic modules attests training in them. The page says which the person has (the
    plan's "trained in IT" still counts both, ADR 7)."""
    c = hand_made_commune()
    _officer_login(client, c.chair, c.unit)
    html = client.get("/courses/it/me").get_data(as_text=True)
    assert 'data-standard="basic" data-met="yes" data-attested="training"' in html
    assert "đã học đủ 6 mô đun, chưa có chứng chỉ" in html
    assert "Chuẩn kỹ năng sử dụng CNTT cơ bản: đạt" not in " ".join(html.split())
    assert 'id="standard-note"' in html
    assert it_skills.progress(c.chair.id).trained  # the plan figure's definition is unchanged

    other = client.application.test_client()
    _officer_login(other, c.by_certificate, c.unit, "certified@example.vn")
    html = other.get("/courses/it/me").get_data(as_text=True)
    assert 'data-standard="basic" data-met="yes" data-attested="certificate"' in html
    assert "đạt, có chứng chỉ ứng dụng CNTT" in html
    assert 'id="standard-note"' not in html


def test_the_leaders_page_shows_the_plans_target_beside_the_measured_share(app_ctx, client):
    """Plan 1514 (as loaded from its data): 40 % of the commune association officers by 2025, 70 % by 2030. The
    commune has 2 of 5 officers who organise CLC activities and are trained in IT: 40 %, short of 2030's 70 % by two
    officers (ceil(0.7 × 5) = 4)."""
    from lms.targets.models import Indicator, Target
    from lms.targets.plans import load_plans

    load_plans()
    c = hand_made_commune()
    leader = make_user(Role.COMMUNE_LEADER, c.unit, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/courses/it/units/{c.unit.id}?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    card = html.split('data-figure="officers"', 1)[1].split('data-figure="chairs"', 1)[0]
    assert "Mục tiêu đến năm 2030: 70\u00a0%" in card
    assert "chưa đạt: cần thêm 2 cán bộ" in card
    assert "1514/KH-UBND" in card  # Kon Tum's plan, not only the national programme
    row = html.split(f'data-commune="{c.unit.id}"', 1)[1].split("</tr>", 1)[0]
    assert "chưa đạt: cần thêm 2 cán bộ" in row.split('data-col="target"', 1)[1]
    # One colon in the cell: "70 % (hiện đạt 40,0 %) — chưa đạt: …", not "…): chưa đạt: …" (walk4's finding).
    cell = " ".join(row.split('data-col="target"', 1)[1].split("</td>", 1)[0].split())
    assert "%) — <span" in cell
    assert "): " not in cell
    # The workbook the leaders file says the same.
    workbook = load_workbook(
        io.BytesIO(client.get(f"/courses/it/units/{c.unit.id}.xlsx?from=2026-01-01&to=2026-12-31").data)
    )
    summary = {row[0]: row[1:] for row in workbook["Chỉ tiêu"].iter_rows(values_only=True) if row[0]}
    (target_row,) = [v for k, v in summary.items() if k.startswith("Mục tiêu đến năm 2030")]
    assert target_row[0] == "chưa đạt: cần thêm 2 cán bộ"
    assert target_row[2] == 0.7
    assert "1514/KH-UBND" in target_row[3]
    by_commune = list(workbook["Theo xã"].iter_rows(values_only=True))
    assert by_commune[0][-2:] == ("Mục tiêu", "So với mục tiêu")
    assert by_commune[1][-2:] == (0.7, "chưa đạt: cần thêm 2 cán bộ")
    # The target is the plan's data: a plan lowered to 40 % for 2030 is met by these two officers.
    db.session.execute(
        update(Target)
        .where(Target.indicator_id.in_(select(Indicator.id).where(Indicator.code == "it_trained_officers")))
        .where(Target.year == 2030)
        .values(share=40)
    )
    db.session.commit()
    html = client.get(f"/courses/it/units/{c.unit.id}?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    card = html.split('data-figure="officers"', 1)[1].split('data-figure="chairs"', 1)[0]
    assert "Mục tiêu đến năm 2030: 40\u00a0%" in card
    assert '<span class="text-success" data-part="verdict">đạt</span>' in card


def test_the_figures_chooser_puts_the_current_commune_first_and_marks_the_merged_ones(app_ctx, client):
    """A new commune's leader also holds (or is given) the communes merged into it in 2025: the chooser lists the
    current commune first and marks each old one with its end date, not four look-alike names."""
    from lms.auth.services import assign_role
    from lms.registry.models import AdminUnit, UnitLevel

    old = db.session.scalar(
        select(AdminUnit)
        .where(AdminUnit.level == UnitLevel.COMMUNE, AdminUnit.valid_to.is_not(None))
        .order_by(AdminUnit.id)
        .limit(1)
    )
    current = db.session.scalar(
        select(AdminUnit)
        .where(AdminUnit.level == UnitLevel.COMMUNE, AdminUnit.valid_to.is_(None))
        .order_by(AdminUnit.id.desc())
        .limit(1)
    )
    leader = make_user(Role.COMMUNE_LEADER, old, "leader-merged@example.vn")
    assign_role(leader, Role.COMMUNE_LEADER, current)
    db.session.commit()
    login(client, leader)
    html = client.get("/courses/it/figures").get_data(as_text=True)
    assert html.index(current.full_name) < html.index(old.full_name)
    item = html[html.index(old.full_name) :]
    item = item[: item.index("</li>")]
    assert f"đến {old.valid_to:%d/%m/%Y}" in item
    item = html[html.index(current.full_name) :]
    assert "unit-ended" not in item[: item.index("</li>")]


def test_a_learner_whose_class_is_over_is_not_told_they_never_joined_one(app_ctx, client):
    """The "My classes" list holds the classes not yet over. Empty, it said "Hiện bạn chưa tham gia lớp học nào"
    (you have not joined any class yet) to a learner who had just finished one — and whose certificate is lower on
    the same page. It now says there is no class going on."""
    from courses import services
    from tests.courses.conftest import make_centre, make_class

    centre = make_centre()
    learner = centre.learners[0]
    services.enrol(make_class(centre), [learner.id])  # March 2026: over by the tests' clock
    user = make_user(Role.INSTRUCTOR, centre.commune, "learner-over@example.vn")
    user.person_id = learner.id
    db.session.commit()
    login(client, user)
    html = client.get("/courses/it/me").get_data(as_text=True)
    assert "chưa tham gia lớp học nào" not in html
    assert "Hiện bạn không có lớp học nào đang diễn ra." in html


def test_a_province_association_officer_sees_the_communes_that_lag_first(app_ctx, client):
    """The association's own target (Plan 1514: its commune officers trained in IT): a province association officer
    opens the figures from the home page, and reads the communes furthest below the target first — not a hundred
    communes in alphabetical order, most of them with nothing entered, which are named in one sentence instead."""
    from lms.targets.plans import load_plans
    from tests.conftest import unit_by_code
    from tests.courses.test_it_skills import member

    load_plans()
    ahead = hand_made_commune("23293", label="PA")  # Phường Kon Tum: 2 of 5 officers organise and are trained
    behind = unit_by_code("23425")  # Xã Tu Mơ Rông: 0 of 2 — after Kon Tum by name, before it by need
    for person in people(behind, "PB", "Hồ Văn Chưa", "Y Chưa"):
        member(person, behind, "officer")
    province = unit_by_code("51", "province")
    officer = make_user(Role.ASSOCIATION_OFFICER, province, "hoi-tinh@example.vn")
    db.session.commit()
    login(client, officer)

    assert 'href="/courses/it/figures"' in client.get("/").get_data(as_text=True)
    response = client.get(f"/courses/it/units/{province.id}?from=2026-01-01&to=2026-12-31")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    table = html.split('id="it-communes"', 1)[1].split("</table>", 1)[0]
    rows = [part.split('"', 1)[0] for part in table.split('data-commune="')[1:]]
    assert rows[:2] == [str(behind.id), str(ahead.unit.id)]
    assert "Xã còn thiếu nhiều nhất so với mục tiêu ở trên cùng." in html  # the order is said
    assert str(unit_by_code("23500").id) not in rows  # Xã Đăk Hà: nothing recorded, not a row …
    unrecorded = html.split('id="it-communes-unrecorded"', 1)[1].split("</p>", 1)[0]
    assert "Xã Đăk Hà" in unrecorded  # … but named
    assert "Phường Kon Tum" not in unrecorded
    # The lagging commune's page lists its officers, each with their modules — but an association officer opens no
    # one else's training page (their certificates and scans are for the leaders and the centre: ADR 7).
    commune_page = client.get(f"/courses/it/units/{behind.id}?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    assert "Hồ Văn Chưa" in commune_page
    assert "/courses/it/persons/" not in commune_page


def test_a_province_workbook_names_the_communes_with_nothing_recorded_once(app_ctx, client):
    """The province's "Theo xã" sheet listed every commune, most of them rows of zeros (96 for the demo): the communes
    with nothing recorded (no officer, no association member) are named in one sentence under the table, as on the
    page and as the targets reports name their sub-units without figures; those with officers keep their rows."""
    from tests.conftest import unit_by_code
    from tests.courses.test_it_skills import member

    ahead = hand_made_commune("23293", label="PA")
    behind = unit_by_code("23425")
    for person in people(behind, "PB", "Hồ Văn Chưa", "Y Chưa"):
        member(person, behind, "officer")
    province = unit_by_code("51", "province")
    leader = make_user(Role.PROVINCE_LEADER, province, "lanh-dao-tinh@example.vn")
    db.session.commit()
    login(client, leader)
    response = client.get(f"/courses/it/units/{province.id}.xlsx?from=2026-01-01&to=2026-12-31")
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.data))["Theo xã"].iter_rows(values_only=True))
    names = [row[0] for row in rows if row and row[0]]
    assert ahead.unit.full_name in names  # with officers: a row each
    assert behind.full_name in names
    assert "Xã Đăk Hà" not in names  # nothing recorded: no row of zeros …
    sentences = [n for n in names if n.startswith("Chưa ghi nhận cán bộ, hội viên Hội Khuyến học nào ở ")]
    assert len(sentences) == 1  # … but named once
    assert "Xã Đăk Hà" in sentences[0]
    assert ahead.unit.full_name not in sentences[0]
    assert len(names) < 10  # the header, the communes recorded and the sentence: not the province's hundred


def test_an_open_class_says_which_of_its_modules_the_officer_has_not_done(app_ctx, client):
    """An officer who already did IU01–IU05 is offered two basic classes: the one that brings IU06 says it is new to
    them, the one of IU01–IU03 says they did all of it — not two look-alike offers, one of which teaches them
    nothing."""
    from datetime import timedelta

    from courses import services
    from tests.courses.test_it_skills import it_course

    c = hand_made_commune()
    clc = db.session.scalar(select(Clc).where(Clc.commune_id == c.unit.id))
    today = services.local_now().date()
    offered = {}
    for code, modules in (("IT-ALL", BASIC), ("IT-OLD", BASIC[:3])):
        offered[code] = services.create_class(
            course=it_course(c.unit, code, modules),
            clc=clc,
            name=f"Lớp {code}",
            capacity=5,
            starts_on=today + timedelta(days=3),
            ends_on=today + timedelta(days=30),
        )
    db.session.commit()
    _officer_login(client, c.five_modules, c.unit)
    html = client.get("/courses/it/me").get_data(as_text=True)
    whole = html.split(f'data-class-modules="{offered["IT-ALL"].id}">', 1)[1].split("</div>", 1)[0]
    assert "mô đun bạn chưa học: IU06 Sử dụng Internet cơ bản<" in whole
    assert "all-done" not in whole
    # Each module by name, in the standard's order — not "IU01, IU02, …" to look up (walk4's finding).
    assert "Mô đun: IU01 Hiểu biết về CNTT cơ bản; IU02 Sử dụng máy tính cơ bản; IU03 Xử lý văn bản cơ bản;" in whole
    assert "IU01, IU02" not in whole
    old = html.split(f'data-class-modules="{offered["IT-OLD"].id}">', 1)[1].split("</div>", 1)[0]
    assert "bạn đã học tất cả các mô đun này" in old


def test_a_unit_that_ended_before_the_period_leads_to_its_successor(app_ctx, client):
    """Kon Tum's province ended on 30 June 2025: asked for 2026, its page said "No commune here." under 0 / 0 — a
    province officer following Kon Tum's Plan 1514 was left there. It says why, and leads to Quảng Ngãi."""
    from lms.registry.models import AdminUnit
    from tests.conftest import unit_by_code

    kon_tum = db.session.scalar(select(AdminUnit).where(AdminUnit.code == "62", AdminUnit.level == "province"))
    quang_ngai = unit_by_code("51", "province")
    officer = make_user(Role.ASSOCIATION_OFFICER, quang_ngai, "hoi-tinh-kt@example.vn")
    db.session.commit()
    login(client, officer)
    html = client.get(f"/courses/it/units/{kon_tum.id}?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    notice = html.split('id="unit-ended"', 1)[1].split("</div>", 1)[0]
    assert "đã kết thúc ngày 30/06/2025" in notice
    assert f'href="/courses/it/units/{quang_ngai.id}?from=2026-01-01&amp;to=2026-12-31"' in notice
    # Within its lifetime the page is as before.
    html = client.get(f"/courses/it/units/{kon_tum.id}?from=2025-01-01&to=2025-06-30").get_data(as_text=True)
    assert 'id="unit-ended"' not in html


def test_a_class_completed_before_its_planned_end_says_so_under_my_classes(app_ctx, client):
    """A class whose sessions are all held, and the learner's certificate issued, before its planned end stays under
    "My classes" until that end: it says the learner completed it, not as if it were still to follow."""
    from datetime import timedelta

    from courses import services
    from courses.services import Mark
    from tests.courses.test_it_skills import it_course

    c = hand_made_commune()
    clc = db.session.scalar(select(Clc).where(Clc.commune_id == c.unit.id))
    now = services.local_now().replace(microsecond=0)
    today = now.date()
    finished = services.create_class(
        course=it_course(c.unit, "IT-EARLY", ["IU06"]),
        clc=clc,
        name="Lớp Internet xong sớm",
        capacity=5,
        starts_on=today - timedelta(days=2),
        ends_on=today + timedelta(days=30),
    )
    yesterday = today - timedelta(days=1)
    (session,) = services.schedule(
        finished, [(datetime.combine(yesterday, time(8)), datetime.combine(yesterday, time(10)))]
    )
    services.enrol(finished, [c.five_modules.id])
    services.record_attendance(session, [Mark(c.five_modules.id, "present", datetime(2026, 1, 1))], user_id=None)
    services.recompute_class(finished.id, as_of=now)
    db.session.commit()
    _officer_login(client, c.five_modules, c.unit)
    mine = client.get("/courses/it/me").get_data(as_text=True).split('id="my-classes"', 1)[1].split("</section>", 1)[0]
    row = mine.split("Lớp Internet xong sớm", 1)[1].split("</li>", 1)[0]
    assert 'data-part="completed"' in row
    assert "Đã hoàn thành" in row


def test_a_province_page_checks_each_commune_against_the_plan_that_applies_to_it(app_ctx, client):
    """uxc's finding: Quảng Ngãi's page checked every commune against the national programme (Decision 387), also the
    communes that succeeded Kon Tum's, whose own page — and the targets dashboard — use Kon Tum's Plan 1514. Now each
    row is checked against its own plan: made to differ here (Plan 1514 lowered to 40 % for 2030), the former Kon Tum
    commune meets 40 % with 2 of 5 officers, and a commune of the old Quảng Ngãi is held to the programme's 70 %."""
    from lms.targets.models import Indicator, Plan, Target
    from lms.targets.plans import load_plans
    from tests.conftest import unit_by_code
    from tests.courses.test_it_skills import member

    load_plans()
    kon_tum = hand_made_commune("23293", label="PK")  # Phường Kon Tum: 2 of 5 officers organise and are trained
    coast = unit_by_code("21025")  # Phường Cẩm Thành, Quảng Ngãi before 2025: 0 of 2
    for person in people(coast, "PC", "Lê Văn Biển", "Trần Thị Cát"):
        member(person, coast, "officer")
    db.session.execute(
        update(Target)
        .where(
            Target.indicator_id.in_(
                select(Indicator.id)
                .join(Plan, Plan.id == Indicator.plan_id)
                .where(Indicator.code == "it_trained_officers", Plan.code.like("%1514%"))
            )
        )
        .where(Target.year == 2030)
        .values(share=40)
    )
    province = unit_by_code("51", "province")
    leader = make_user(Role.PROVINCE_LEADER, province, "tinh-it@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/courses/it/units/{province.id}?from=2026-01-01&to=2026-12-31").get_data(as_text=True)

    def target(commune_id: int) -> str:
        row = html.split(f'data-commune="{commune_id}"', 1)[1].split("</tr>", 1)[0]
        return row.split('data-col="target"', 1)[1]

    assert target(kon_tum.unit.id).lstrip(">").startswith("40\u00a0%")
    assert "đạt" in target(kon_tum.unit.id)
    assert target(coast.id).lstrip(">").startswith("70\u00a0%")


def test_a_commune_page_says_on_a_phone_that_the_officers_table_scrolls_sideways(app_ctx, client):
    """The officers × modules table keeps each name whole, so on a 390-pixel phone it is 446–480 pixels wide and its
    last columns (advanced modules, organised activities) start off screen: the page says to swipe it (walk's
    finding), on a phone only, and only when there is a table to swipe."""
    c = hand_made_commune()
    leader = make_user(Role.COMMUNE_LEADER, c.unit, "leader-scroll@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/courses/it/units/{c.unit.id}?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    hint = html[html.index('id="it-matrix-scrolls"') :]
    assert hint.index("vuốt bảng sang ngang") < hint.index('id="it-matrix"')
    assert '<p class="small text-muted d-md-none mb-1" id="it-matrix-scrolls">' in html


def test_the_leaders_xlsx_prints_its_header_on_every_page_and_says_who_made_it_and_when(app_ctx, client):
    """A province's hundred communes and its officers fill pages: each repeats the table's header and says whose
    figures they are; the first sheet says when the workbook was made and by whom."""
    from courses.services import local_now
    from tests.courses.test_documents import _prints_as_a_filed_table

    c = hand_made_commune()
    leader = make_user(Role.COMMUNE_LEADER, c.unit, "leader@example.vn")
    leader.name = "Lê Thị Lãnh Đạo"
    db.session.commit()
    login(client, leader)
    workbook = load_workbook(
        io.BytesIO(client.get(f"/courses/it/units/{c.unit.id}.xlsx?from=2026-01-01&to=2026-12-31").data)
    )
    summary = workbook["Chỉ tiêu"]
    lines = [row[0] for row in summary.iter_rows(values_only=True) if row and row[0]]
    assert f"Ngày lập: {local_now().date():%d/%m/%Y}; người lập: Lê Thị Lãnh Đạo" in lines
    header_row = next(row[0].row for row in summary.iter_rows() if row[0].value == "Chỉ tiêu")
    for sheet, row in ((summary, header_row), (workbook["Theo xã"], 1), (workbook["Cán bộ × mô đun"], 1)):
        _prints_as_a_filed_table(sheet, row, c.unit.full_name, "từ 01/01/2026 đến 31/12/2026")


def test_the_officers_sheet_names_each_module_not_only_its_code(app_ctx, client):
    """A leader reads "IU01 Hiểu biết về CNTT cơ bản" over the column, not a bare "IU01" to look up elsewhere."""
    from courses.it_skills import framework

    c = hand_made_commune()
    leader = make_user(Role.COMMUNE_LEADER, c.unit, "leader@example.vn")
    db.session.commit()
    login(client, leader)
    response = client.get(f"/courses/it/units/{c.unit.id}.xlsx?from=2026-01-01&to=2026-12-31")
    columns = next(load_workbook(io.BytesIO(response.data))["Cán bộ × mô đun"].iter_rows(values_only=True))
    modules = framework().modules
    assert [column for column in columns if str(column).startswith("IU")] == [f"{m.code} {m.name_vi}" for m in modules]
    assert "IU01" not in columns


def test_the_leaders_xlsx_is_filed_as_the_targets_report(app_ctx, client):
    """Its first sheet is headed and closed as the targets report's workbook, from the same configuration
    (lms/registry/data/report_issuers.toml, the unit's level): the issuing body with the number under it, the national
    name and motto with the place and day, "BÁO CÁO" and its summary; Nơi nhận, the maker's and the head's
    signatures. The number typed on the page is printed; anything but digits is refused."""
    from courses.services import local_now
    from lms.core.pdf import vi_long_date
    from lms.registry.issuers import report_issuer

    c = hand_made_commune()
    leader = make_user(Role.COMMUNE_LEADER, c.unit, "leader@example.vn")
    leader.name = "Lê Thị Lãnh Đạo"
    db.session.commit()
    login(client, leader)
    url = f"/courses/it/units/{c.unit.id}.xlsx?from=2026-01-01&to=2026-12-31"
    page = client.get(f"/courses/it/units/{c.unit.id}?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    block = page.split('id="report-file"', 1)[1].split("</form>", 1)[0]
    assert 'name="number"' in block
    assert "/BC-UBND" in block

    summary = load_workbook(io.BytesIO(client.get(f"{url}&number=125").data))["Chỉ tiêu"]

    issuer = report_issuer(c.unit)
    cells = [[cell for cell in row if cell is not None] for row in summary.iter_rows(values_only=True)]
    assert issuer.body == ("ỦY BAN NHÂN DÂN", c.unit.full_name.upper())
    assert cells[0] == [issuer.body[0], "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"]
    assert cells[1] == [issuer.body[1], "Độc lập - Tự do - Hạnh phúc"]
    assert cells[2] == ["Số: 125/BC-UBND", f"{issuer.place}, {vi_long_date(local_now().date())}"]
    assert cells[4] == ["BÁO CÁO"]
    # The unit in the sentence as Decree 30 (Appendix II) writes a place: "xã Ea Tu", its kind in lower case.
    assert cells[5] == [
        "Kết quả bồi dưỡng kỹ năng công nghệ thông tin cho cán bộ Hội Khuyến học "
        f"{c.unit.kind.lower()} {c.unit.name} từ 01/01/2026 đến 31/12/2026"
    ]
    assert ["Chỉ tiêu", "Tử số", "Mẫu số", "Tỷ lệ", "Mẫu số là"] in cells  # the table follows the heading
    closing = next(i for i, row in enumerate(cells) if row and str(row[0]).startswith("Nơi nhận:"))
    assert cells[closing][1:] == ["NGƯỜI LẬP BIỂU", "TM. ỦY BAN NHÂN DÂN"]
    recipients = str(cells[closing][0])
    for recipient in issuer.recipients:
        assert recipient in recipients
    after = [value for row in cells[closing:] for value in row]
    assert "CHỦ TỊCH" in after
    assert "(Ký, ghi rõ họ tên, đóng dấu)" in after
    assert "Lê Thị Lãnh Đạo" in after

    unnumbered = load_workbook(io.BytesIO(client.get(url).data))["Chỉ tiêu"]
    assert unnumbered.cell(row=3, column=1).value == issuer.number_line()
    assert client.get(f"{url}&number=12a").status_code == 400


def test_the_officers_tables_numbered_columns_are_named_under_it(app_ctx, client):
    """The officers × modules table heads its columns 01…15, each name in a title a phone cannot show (no pointer to
    hover): a commune leader read "01 02 03" with nothing to say what they were (walk4's finding). The names are
    written under the table — the six basic ones on a phone, where only they have a column, all fifteen wider."""
    from courses.it_skills import framework

    c = hand_made_commune()
    leader = make_user(Role.COMMUNE_LEADER, c.unit, "leader-legend@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get(f"/courses/it/units/{c.unit.id}?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    legend = html[html.index('id="it-matrix-modules"') :]
    legend = legend[: legend.index("</div>")]
    assert html.index('id="it-matrix"') < html.index('id="it-matrix-modules"')
    for module in framework().modules:
        line = f"<strong>{module.code[2:]}</strong> {module.code} {module.name_vi}</li>"
        assert line in legend, module.code
    assert '<li class="d-none d-md-block"><strong>07</strong>' in legend
    assert "<li><strong>06</strong>" in legend


def test_an_empty_certificates_list_says_where_certificates_come_from(app_ctx, client):
    """A centre manager opening 'Chứng chỉ CNTT' before any officer had added one read 'Không có chứng chỉ nào.' and
    nothing else (walk4's finding): the page now says officers add theirs on 'Việc học của tôi' and leads to the IT
    skills page, where a tap on an officer's name opens the page to record one for them."""
    from tests.conftest import unit_by_code

    manager = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "manager-empty@example.vn")
    db.session.commit()
    login(client, manager)
    html = client.get("/courses/it/certificates").get_data(as_text=True)
    assert "Không có chứng chỉ nào chờ xác nhận." in html
    nxt = html[html.index('id="it-certificates-next"') :]
    nxt = " ".join(nxt[: nxt.index("</p>")].split())
    assert "“Việc học của tôi”" in nxt
    assert '<a href="/courses/it/figures">Kỹ năng CNTT</a> (chọn xã nếu được hỏi) rồi bấm vào tên cán bộ đó.' in nxt


def test_the_manager_verifying_a_certificate_reads_the_modules_it_grants_by_name(app_ctx, client):
    """Above 'Xác nhận chứng chỉ' a basic certificate said it grants 'IU01, IU02, IU03, IU04, IU05, IU06' — codes a
    centre manager checking the scan had to look up (walk4's finding; the advanced ones above were already named).
    Each module is named, in the standard's order."""
    from courses.it_skills import framework

    c = hand_made_commune()
    manager = make_user(Role.CENTRE_MANAGER, c.unit, "manager-grants@example.vn")
    db.session.commit()
    pending = db.session.scalar(select(ItCertificate).where(ItCertificate.status == "pending"))
    login(client, manager)
    html = client.get(f"/courses/it/certificates/{pending.id}").get_data(as_text=True)
    grants = html[html.index('id="certificate-grants"') :]
    grants = grants[: grants.index("</ul>")]
    basic = [m for m in framework().modules if m.code in BASIC]
    assert grants.count("<li>") == len(basic)
    for module in basic:
        assert f"<li>{module.code} {module.name_vi}</li>" in grants
    assert "IU01, IU02" not in html


def test_the_person_page_leads_to_their_it_skills_page_where_a_certificate_is_recorded(app_ctx, client):
    """A resident brings a national IT certificate to the office: the manager finds them by name and opens their page;
    the IT skills page with 'Thêm chứng chỉ' was reached only from a commune's officers table or a certificate already
    recorded (walk5's finding). An instructor, who may not see IT certificates, gets no link."""
    from tests.conftest import unit_by_code

    commune = unit_by_code("23293")
    (resident,) = people(commune, "P5", "Đinh Văn Mang")
    manager = make_user(Role.CENTRE_MANAGER, commune, "it-person-link@example.vn")
    instructor = make_user(Role.INSTRUCTOR, commune, "it-person-nolink@example.vn")
    db.session.commit()
    login(client, manager)
    page = client.get(f"/registry/persons/{resident.id}").get_data(as_text=True)
    assert f'id="person-it-skills" href="/courses/it/persons/{resident.id}"' in page
    assert "Kỹ năng CNTT và chứng chỉ ứng dụng CNTT" in page
    it_page = client.get(f"/courses/it/persons/{resident.id}").get_data(as_text=True)
    assert f"/courses/it/persons/{resident.id}/certificates/new" in it_page
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, instructor)
    assert "person-it-skills" not in client.get(f"/registry/persons/{resident.id}").get_data(as_text=True)
