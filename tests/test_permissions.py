"""The permissions table over every route of the app.

For every rule in the URL map: anonymous callers are refused (a login redirect for pages, 401 for the API) unless
the route is declared public below; and a user scoped to commune A gets 403 or 404 — never the data — for
commune B's objects, by page, by API and by guessed ids. A new route with a new kind of id fails
``test_every_route_parameter_is_covered`` until this table learns how to fill it.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from flask import Flask
from werkzeug.datastructures import FileStorage

from courses import it_skills, services
from courses.models import Certificate
from lms.auth.models import ApiToken, Role
from lms.core.models import EvidenceFile
from lms.extensions import db
from lms.registry.models import AdminUnit, Clc, ImportJob, Organisation, Person
from lms.titles.models import Assessment, CriteriaSet, DecisionPrint, Eligibility, EvaluationRun, Recognition
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code
from tests.targets.dashboard_data import make_plan

SCAN = b"%PDF-1.4\n%%EOF\n"
PUBLIC = {
    "static",
    "core.healthz",
    "auth.login",
    "api.openapi_json",
    "api.docs",
    "auth.set_locale",
    "courses.verify",
    "courses.verify_form",
    "api.verify_certificate",
    "titles.recognition_verify",
    "titles.recognition_verify_form",
    "api.verify_recognition",
    # Credentials (ADR 25): keys and status lists are public by design; a credential is reached with its code.
    "credentials.static",
    "credentials.instance_did",
    "credentials.issuer_did",
    "credentials.jwks",
    "credentials.status_list",
    "credentials.certificate_credential",
    "credentials.recognition_credential",
    "credentials.verify",
    # The offline attendance page's service worker (ADR 26): a script with no data, fetched by the browser itself.
    "courses.service_worker",
    "courses.manifest",
    "courses.offline_shell",  # the offline page's shell: no data until a logged-in script fills it from the phone
    "api.certificate_credential",
    "api.recognition_credential",
    "api.verify_credential",  # what the public page /credentials/verify says, for apps
}
# Public but only a redirect to the login page for anonymous users.
REDIRECTS_ANONYMOUS = {"core.home"}


def _rules(app: Flask):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


@pytest.fixture
def two_communes(app_ctx):
    """Commune A and commune B, each with a village, a household, a person, an organisation, a CLC, an import."""
    objects = {}
    for label, code in (("a", "23293"), ("b", "23302")):
        commune = unit_by_code(code)
        village = make_village(commune, f"PERM-{label}", f"Thôn {label.upper()}")
        household = make_household(village, f"H-{label}", f"Nguyễn Văn {label.upper()}")
        organisation = Organisation(commune_id=commune.id, code=f"ORG-{label}", name=f"Trường {label.upper()}")
        clc = Clc(
            commune_id=commune.id, name=f"Trung tâm học tập cộng đồng {label.upper()}", established_on=date(2010, 1, 1)
        )
        job = ImportJob(kind="villages", filename="x.csv", content=b"x", unit_id=commune.id, status="failed")
        run = EvaluationRun(unit_id=commune.id, year=2026, status="done", summary={})
        db.session.add_all([organisation, clc, job, run])
        db.session.flush()
        course = services.create_course(
            unit=commune, code=f"PERM-{label}", name=f"Khóa {label}", category="literacy", planned_hours=Decimal(10)
        )
        course_class = services.create_class(
            course=course,
            clc=clc,
            name=f"Lớp {label}",
            capacity=10,
            starts_on=date(2026, 3, 1),
            ends_on=date(2026, 3, 31),
        )
        person = household.members[0]
        services.enrol(course_class, [person.id])
        (session,) = services.schedule(course_class, [(datetime(2026, 3, 2, 8), datetime(2026, 3, 2, 10))])
        certificate = Certificate(
            class_id=course_class.id,
            person_id=person.id,
            issued_on=date(2026, 3, 31),
            code=f"PERM-{label.upper()}-0001",
        )
        db.session.add(certificate)
        recognition = Recognition(
            subject_type="household",
            subject_id=household.id,
            title="family",
            year=2025,
            commune_id=commune.id,
            village_id=village.id,
            status="recognised",
            decision_number="1/QĐ",
            decision_date=date(2026, 1, 10),
            authority="UBND",
            valid_until=date(2025, 12, 31),
            certificate_code=f"PERM-R-{label.upper()}",
        )
        db.session.add(recognition)
        db.session.flush()
        # A finished print of the recognition's decision (ADR 47): its progress and its file are the commune's.
        decision_print = DecisionPrint(
            recognition_id=recognition.id,
            commune_id=commune.id,
            title="family",
            year=2025,
            decision_number="1/QĐ",
            decision_date=date(2026, 1, 10),
            base_url="http://localhost/",
            status="done",
            total=1,
            done=1,
            message="",
            content=b"%PDF-1.4 print",
            size=14,
        )
        db.session.add(decision_print)
        db.session.flush()
        it_certificate = it_skills.record_certificate(
            person=person,
            number=f"CNTT-{label}",
            issuer="Trung tâm sát hạch",
            issued_on=date(2025, 5, 1),
            upload=FileStorage(io.BytesIO(SCAN), filename="scan.pdf"),
            recorded_by_id=None,
        )
        eligibility, assessment = _titles_objects(commune, village, person)
        objects[label] = {
            "unit_id": village.id,
            "household_id": household.id,
            "person_id": person.id,
            "organisation_id": organisation.id,
            "clc_id": clc.id,
            "job_id": job.id,
            "commune": commune,
            "course_id": course.id,
            "class_id": course_class.id,
            "session_id": session.id,
            "code": certificate.code,
            "it_certificate_id": it_certificate.id,
            "eligibility_id": eligibility.id,
            "assessment_id": assessment.id,
            "recognition_id": recognition.id,
            "slug": f"clc-{clc.id}",  # a credential issuer (public: its DID document)
            "list_id": 1,  # a credential status list (public)
            "run_id": run.id,
            "print_id": decision_print.id,
        }
    other = make_user(Role.CENTRE_MANAGER, objects["b"]["commune"], "other@example.vn")
    token, _ = ApiToken.issue(other, "b's phone")
    db.session.flush()
    objects["b"]["token_id"] = token.id
    # An account working in each commune, and its role there (the account pages, ADR 52).
    objects["b"]["user_id"], objects["b"]["assignment_id"] = other.id, other.roles[0].id
    mine = make_user(Role.INSTRUCTOR, objects["a"]["commune"], "mine@example.vn")
    objects["a"]["user_id"], objects["a"]["assignment_id"] = mine.id, mine.roles[0].id
    db.session.commit()
    return objects


def _titles_objects(commune, village, person):
    """A person's eligibility and an assessment with an evidence file, in the person's commune."""
    criteria = db.session.scalar(db.select(CriteriaSet).where(CriteriaSet.code == "perm-citizen"))
    if criteria is None:
        criteria = CriteriaSet(
            code="perm-citizen",
            version=1,
            title="citizen",
            subject_type="person",
            scoring="points",
            status="official",
            validity_years=1,
            name="Perm",
            source="-",
            definition={},
            content_sha256="0" * 64,
            active=False,
        )
        db.session.add(criteria)
        db.session.flush()
    evidence = EvidenceFile(
        sha256="1" * 64, media_type="application/pdf", size=8, filename="e.pdf", content=b"%PDF-1.4"
    )
    db.session.add(evidence)
    db.session.flush()
    eligibility = Eligibility(
        subject_type="person",
        subject_id=person.id,
        title="citizen",
        year=2026,
        commune_id=commune.id,
        village_id=village.id,
        criteria_set_id=criteria.id,
        eligible=False,
        score=Decimal(40),
        missing="|C1|",
        breakdown=[],
    )
    assessment = Assessment(
        subject_type="person",
        subject_id=person.id,
        year=2026,
        indicator="C1",
        value=Decimal(5),
        source="self",
        commune_id=commune.id,
        evidence_file_id=evidence.id,
    )
    db.session.add_all([eligibility, assessment])
    db.session.flush()
    return eligibility, assessment


def _url(app: Flask, rule, values: dict) -> str:
    args = {}
    for name in rule.arguments:
        if name == "filename":
            args[name] = "lms.css"
        elif name == "code" and rule.endpoint == "auth.set_locale":
            args[name] = "en"
        else:
            args[name] = values.get(name, 0)
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **args)


def test_every_route_parameter_is_covered(app, two_communes):
    known = set(two_communes["b"]) | {"filename"}
    unknown = {(rule.rule, arg) for rule, _ in _rules(app) for arg in rule.arguments if arg not in known}
    assert not unknown, f"teach the permissions table these route parameters: {unknown}"


def test_anonymous_users_are_refused_everywhere_but_public_routes(app, client, two_communes):
    checked = 0
    for rule, method in _rules(app):
        if rule.endpoint in PUBLIC:
            continue
        url = _url(app, rule, two_communes["a"])
        response = client.open(url, method=method)
        if rule.rule.startswith("/api/"):
            assert response.status_code == 401, (method, url, response.status_code)
            assert response.mimetype == "application/problem+json"
        elif rule.endpoint == "courses.offline_data":  # read by the offline page's script: 401, not a login page
            assert response.status_code == 401, (method, url, response.status_code)
        else:
            assert response.status_code in (302, 400), (method, url, response.status_code)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"], (method, url)
        checked += 1
    assert checked >= 30


def test_a_commune_a_user_never_reaches_commune_b_objects(app, client, two_communes):
    """Pages, API and guessed ids: every route that names an object of commune B answers 403 or 404."""
    user = make_user(Role.CENTRE_MANAGER, two_communes["a"]["commune"], "a-manager@example.vn")
    db.session.commit()
    login(client, user)
    token = csrf_token(client, "/registry/search")
    checked = 0
    for rule, method in _rules(app):
        if rule.endpoint in PUBLIC or not rule.arguments - {"filename"}:
            continue
        url = _url(app, rule, two_communes["b"])
        data = {"csrf_token": token} if method in ("POST", "PATCH", "PUT", "DELETE") else None
        headers = {"X-CSRFToken": token} if rule.rule.startswith("/api/") else {}
        kwargs = {"json": {}} if rule.rule.startswith("/api/") and method != "GET" else {"data": data}
        response = client.open(url, method=method, headers=headers, **kwargs)
        if response.status_code == 422 and rule.rule.startswith("/api/"):
            # The empty body was refused before any look-up: the same answer as for an id that exists nowhere, so
            # it says nothing about commune B's object.
            nowhere = _url(app, rule, dict.fromkeys(rule.arguments, 2**62))
            blind = client.open(nowhere, method=method, headers=headers, **kwargs)
            assert (blind.status_code, blind.get_json()) == (422, response.get_json()), (method, url)
        else:
            assert response.status_code in (403, 404), (method, url, response.status_code)
        checked += 1
    assert checked >= 15


def test_the_same_user_reaches_their_own_objects(app, client, two_communes):
    """The mirror image, so the refusals above are about scope and not a broken route."""
    user = make_user(Role.CENTRE_MANAGER, two_communes["a"]["commune"], "a-manager@example.vn")
    db.session.commit()
    login(client, user)
    own = two_communes["a"]
    for url in (
        f"/registry/units/{own['unit_id']}",
        f"/registry/households/{own['household_id']}",
        f"/registry/persons/{own['person_id']}",
        f"/registry/organisations/{own['organisation_id']}",
        f"/registry/clcs/{own['clc_id']}",
        f"/registry/imports/{own['job_id']}",
        f"/titles/runs/{own['run_id']}",
        f"/api/v1/titles/runs/{own['run_id']}",
        f"/api/v1/titles/decision-prints/{own['print_id']}",
        f"/titles/decision-prints/{own['print_id']}/file.pdf",
        f"/api/v1/units/{own['unit_id']}",
        f"/api/v1/persons/{own['person_id']}",
        f"/api/v1/households/{own['household_id']}",
        f"/api/v1/organisations/{own['organisation_id']}",
        f"/api/v1/clcs/{own['clc_id']}",
        f"/api/v1/imports/{own['job_id']}",
        f"/titles/eligibility/{own['eligibility_id']}",
        f"/api/v1/titles/eligibility/{own['eligibility_id']}",
        f"/titles/assessments/{own['assessment_id']}",
        f"/api/v1/titles/assessments/{own['assessment_id']}",
        f"/titles/assessments/{own['assessment_id']}/evidence",
        f"/api/v1/titles/assessments/{own['assessment_id']}/evidence",
    ):
        assert client.get(url).status_code == 200, url


def test_lists_contain_only_the_callers_scope(app, client, two_communes):
    user = make_user(Role.CENTRE_MANAGER, two_communes["a"]["commune"], "a-manager@example.vn")
    db.session.commit()
    login(client, user)
    names = {p["full_name"] for p in client.get("/api/v1/persons?per_page=500").get_json()["items"]}
    assert "Nguyễn Văn A" in names
    assert "Nguyễn Văn B" not in names
    assert "Nguyễn Văn B" not in client.get("/registry/search?q=nguyen").get_data(as_text=True)
    runs = {r["id"] for r in client.get("/api/v1/titles/runs").get_json()["items"]}
    assert two_communes["a"]["run_id"] in runs
    assert two_communes["b"]["run_id"] not in runs
    assert f'/titles/runs/{two_communes["b"]["run_id"]}"' not in client.get("/titles/runs").get_data(as_text=True)


ROLE_TABLE = [
    # role, can view the registry, can edit, can import
    (Role.ADMINISTRATOR, True, True, True),
    (Role.PROVINCE_LEADER, True, False, False),
    (Role.COMMUNE_LEADER, True, True, False),
    (Role.CENTRE_MANAGER, True, True, True),
    (Role.INSTRUCTOR, True, False, False),
    (Role.ASSOCIATION_OFFICER, False, False, False),
]


@pytest.mark.parametrize(("role", "view", "edit", "import_"), ROLE_TABLE)
def test_role_by_action(app, client, two_communes, role, view, edit, import_):
    unit = two_communes["a"]["commune"]
    if role == Role.PROVINCE_LEADER:
        unit = unit.parent
    user = make_user(role, unit, f"{role.value}@example.vn")
    db.session.commit()
    login(client, user)
    own = two_communes["a"]
    expect = {True: 200, False: 403}
    assert client.get(f"/registry/persons/{own['person_id']}").status_code == expect[view]
    assert client.get(f"/registry/persons/{own['person_id']}/edit").status_code == expect[edit]
    assert client.get("/registry/imports/new").status_code == expect[import_]
    assert client.get(f"/api/v1/persons/{own['person_id']}").status_code == expect[view]


TARGET_ROUTES = (
    "/targets/units/{unit_id}",
    "/targets/units/{unit_id}/report.xlsx",
    "/targets/units/{unit_id}/report.pdf",
)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.ADMINISTRATOR, True),
        (Role.PROVINCE_LEADER, True),
        (Role.COMMUNE_LEADER, True),
        (Role.CENTRE_MANAGER, False),
        (Role.INSTRUCTOR, False),
        (Role.ASSOCIATION_OFFICER, False),
    ],
)
def test_targets_dashboard_and_reports_by_role(app, client, two_communes, role, allowed):
    """Leaders see the dashboard and its reports for their own commune; other roles are refused (403)."""
    from lms.registry import services as registry

    unit = two_communes["a"]["commune"]
    if role == Role.PROVINCE_LEADER:
        unit = unit.parent
    elif role == Role.ADMINISTRATOR:
        unit = registry.country()
    make_plan(two_communes["a"]["commune"].parent)  # reports need a plan; figures may be missing
    user = make_user(role, unit, f"{role.value}@example.vn")
    db.session.commit()
    login(client, user)
    commune_id = two_communes["a"]["commune"].id
    for route in TARGET_ROUTES:
        url = route.format(unit_id=commune_id)
        assert client.get(url).status_code == (200 if allowed else 403), (role, url)
    assert client.get("/targets/").status_code == (302 if allowed else 403)


def test_a_commune_leader_never_reaches_another_communes_dashboard(app, client, two_communes):
    """Commune B's unit, its village (the drill-down's household list) and its reports: 404 for A's leader."""
    make_plan(two_communes["a"]["commune"].parent)
    user = make_user(Role.COMMUNE_LEADER, two_communes["a"]["commune"], "a-leader@example.vn")
    db.session.commit()
    login(client, user)
    b = two_communes["b"]
    for unit_id in (b["commune"].id, b["unit_id"]):
        for route in TARGET_ROUTES:
            assert client.get(route.format(unit_id=unit_id)).status_code == 404, route
    assert client.get(f"/targets/units/{two_communes['a']['unit_id']}").status_code == 200


# --- plan targets: TARGETS_VIEW reads values in scope, TARGETS_ADMIN asks for recomputation ----------------------

TARGETS_TABLE = [
    # role, can view plans and values, can ask for a recomputation
    (Role.ADMINISTRATOR, True, True),
    (Role.PROVINCE_LEADER, True, True),
    (Role.COMMUNE_LEADER, True, False),
    (Role.CENTRE_MANAGER, False, False),
    (Role.INSTRUCTOR, False, False),
    (Role.ASSOCIATION_OFFICER, False, False),
]


@pytest.fixture
def target_values(two_communes):
    """A small national plan with values computed for communes A and B (and rolled up)."""
    from lms.targets import compute
    from tests.targets.conftest import FAMILY, TODAY, load_text, plan_text

    load_text(plan_text("country", "VN", FAMILY))
    communes = [two_communes[label]["commune"].id for label in ("a", "b")]
    compute.recompute(communes, 2025, today=TODAY)
    compute.rollup(2025)
    db.session.commit()
    return two_communes


@pytest.mark.parametrize(("role", "view", "admin"), TARGETS_TABLE)
def test_targets_role_by_action(app, client, target_values, role, view, admin):
    unit = target_values["a"]["commune"]
    if role in (Role.PROVINCE_LEADER, Role.ADMINISTRATOR):
        unit = unit.parent
    user = make_user(role, unit, f"{role.value}@example.vn")
    _, secret = ApiToken.issue(user, "phone")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    expect = {True: 200, False: 403}
    assert client.get("/api/v1/targets/plans", headers=headers).status_code == expect[view]
    assert client.get("/api/v1/targets/plans/test-plan", headers=headers).status_code == expect[view]
    assert client.get(f"/api/v1/targets/values?unit={unit.id}&period=2025", headers=headers).status_code == expect[view]
    response = client.post("/api/v1/targets/recompute", json={"unit_id": unit.id, "year": 2025}, headers=headers)
    assert response.status_code == (202 if admin else 403)


def test_a_commune_a_leader_never_sees_commune_b_values(app, client, target_values):
    a, b = target_values["a"]["commune"], target_values["b"]["commune"]
    user = make_user(Role.COMMUNE_LEADER, a, "a-leader@example.vn")
    db.session.commit()
    login(client, user)
    rows = client.get("/api/v1/targets/values?period=2025&per_page=500").get_json()["items"]
    assert rows
    villages = set(db.session.scalars(db.select(AdminUnit.id).where(AdminUnit.parent_id == a.id)))  # own figures
    assert {r["unit"]["id"] for r in rows} <= {a.id} | set(_predecessors(a)) | villages
    assert b.id not in {r["unit"]["id"] for r in rows}
    assert client.get(f"/api/v1/targets/values?unit={b.id}&period=2025").status_code == 422
    assert client.get(f"/api/v1/targets/values?unit={a.parent_id}&period=2025").status_code == 422
    token = csrf_token(client, "/registry/search")
    assert (
        client.post(
            "/api/v1/targets/recompute", json={"unit_id": b.id, "year": 2025}, headers={"X-CSRFToken": token}
        ).status_code
        == 403
    )


def _predecessors(unit):
    from lms.registry.models import UnitLineage

    return set(db.session.scalars(db.select(UnitLineage.old_unit_id).where(UnitLineage.new_unit_id == unit.id)))


IT_TABLE = [
    # role, sees the IT figures of commune A, may verify A's certificates, sees the scans of A's certificates
    # (the association's officer: its officers' figures, nobody else's scans — ADR 7)
    (Role.ADMINISTRATOR, True, True, True),
    (Role.PROVINCE_LEADER, True, False, True),
    (Role.COMMUNE_LEADER, True, False, True),
    (Role.CENTRE_MANAGER, True, True, True),
    (Role.INSTRUCTOR, False, False, False),
    (Role.ASSOCIATION_OFFICER, True, False, False),
]


@pytest.mark.parametrize(("role", "figures", "verify", "scan"), IT_TABLE)
def test_it_skills_role_by_action(app, client, two_communes, role, figures, verify, scan):
    own = two_communes["a"]
    unit = own["commune"].parent if role == Role.PROVINCE_LEADER else own["commune"]
    user = make_user(role, unit, f"it-{role.value}@example.vn")
    db.session.commit()
    login(client, user)
    assert client.get(f"/courses/it/units/{own['commune'].id}").status_code == (200 if figures else 403)
    assert client.get(f"/api/v1/it/figures?unit_id={own['commune'].id}").status_code == (200 if figures else 403)
    token = csrf_token(client, "/courses/it/me")
    response = client.post(f"/courses/it/certificates/{own['it_certificate_id']}/verify", data={"csrf_token": token})
    assert response.status_code == (302 if verify else 403)
    response = client.get(f"/courses/it/certificates/{own['it_certificate_id']}/scan")
    assert response.status_code == (200 if scan else 404)
    if scan:
        assert response.data == SCAN
        assert response.headers["Cache-Control"] == "private, no-store"


def test_an_officer_sees_only_their_own_certificate_and_scan(app, client, two_communes):
    own = two_communes["a"]
    officer_person = db.session.get(Person, own["person_id"])
    neighbour = Person(full_name="Trần Thị Bên", unit_id=officer_person.unit_id)
    db.session.add(neighbour)
    db.session.flush()
    theirs = it_skills.record_certificate(
        person=neighbour,
        number="CNTT-N",
        issuer="Trung tâm",
        issued_on=date(2025, 1, 1),
        upload=FileStorage(io.BytesIO(SCAN), filename="n.pdf"),
        recorded_by_id=None,
    )
    officer = make_user(Role.ASSOCIATION_OFFICER, own["commune"], "officer-a@example.vn")
    officer.person_id = officer_person.id
    db.session.commit()
    login(client, officer)
    mine = own["it_certificate_id"]
    assert client.get(f"/courses/it/certificates/{mine}/scan").status_code == 200
    assert client.get(f"/api/v1/it/certificates/{mine}/scan").status_code == 200
    for url in (
        f"/courses/it/certificates/{theirs.id}/scan",
        f"/courses/it/certificates/{theirs.id}",
        f"/api/v1/it/certificates/{theirs.id}/scan",
        f"/api/v1/it/certificates/{theirs.id}",
        f"/api/v1/it/persons/{neighbour.id}/progress",
        f"/courses/it/certificates/{two_communes['b']['it_certificate_id']}/scan",
    ):
        assert client.get(url).status_code == 404, url
    listed = client.get("/api/v1/it/certificates").get_json()["items"]
    assert [c["id"] for c in listed] == [mine]
    # Nor can an officer verify their own certificate.
    token = csrf_token(client, "/courses/it/me")
    assert client.post(f"/courses/it/certificates/{mine}/verify", data={"csrf_token": token}).status_code == 403
    assert client.get("/api/v1/it/me/progress").get_json()["person_id"] == officer_person.id


def test_a_commune_leader_sees_only_their_commune(app, client, two_communes):
    a, b = two_communes["a"], two_communes["b"]
    leader = make_user(Role.COMMUNE_LEADER, a["commune"], "leader-a@example.vn")
    db.session.commit()
    login(client, leader)
    assert client.get(f"/courses/it/certificates/{a['it_certificate_id']}/scan").status_code == 200
    assert client.get(f"/api/v1/it/persons/{a['person_id']}/progress").status_code == 200
    for url in (
        f"/courses/it/certificates/{b['it_certificate_id']}/scan",
        f"/api/v1/it/certificates/{b['it_certificate_id']}/scan",
        f"/courses/it/units/{b['commune'].id}",
        f"/courses/it/units/{b['commune'].id}.xlsx",
        f"/api/v1/it/figures?unit_id={b['commune'].id}",
        f"/courses/it/persons/{b['person_id']}",
        f"/api/v1/it/persons/{b['person_id']}/progress",
    ):
        assert client.get(url).status_code == 404, url
    listed = {c["id"] for c in client.get("/api/v1/it/certificates").get_json()["items"]}
    assert listed == {a["it_certificate_id"]}


def test_a_commune_leader_never_reaches_commune_b_objects(app, client, two_communes):
    """The centre manager above is refused some routes by permission alone (revoking and rejecting recognitions, the
    targets pages, plans), which proves nothing about scope there. A commune leader holds those permissions: every
    route naming a commune-B object still answers 403 or 404, and the routes the role permits answer their own
    objects with something other than 403."""
    make_plan(two_communes["a"]["commune"].parent, code="perm-plan")  # the province's plan, public to its leaders
    leader = make_user(Role.COMMUNE_LEADER, two_communes["a"]["commune"], "a-leader@example.vn")
    db.session.commit()
    login(client, leader)
    token = csrf_token(client, "/registry/search")
    checked = 0
    for rule, method in _rules(app):
        if rule.endpoint in PUBLIC or not rule.arguments - {"filename"}:
            continue
        url = _url(app, rule, two_communes["b"])
        data = {"csrf_token": token} if method in ("POST", "PATCH", "PUT", "DELETE") else None
        headers = {"X-CSRFToken": token} if rule.rule.startswith("/api/") else {}
        kwargs = {"json": {}} if rule.rule.startswith("/api/") and method != "GET" else {"data": data}
        response = client.open(url, method=method, headers=headers, **kwargs)
        if response.status_code == 422 and rule.rule.startswith("/api/"):
            # The empty body was refused before any look-up: the same answer as for an id that exists nowhere, so
            # it says nothing about commune B's object.
            nowhere = _url(app, rule, dict.fromkeys(rule.arguments, 2**62))
            blind = client.open(nowhere, method=method, headers=headers, **kwargs)
            assert (blind.status_code, blind.get_json()) == (422, response.get_json()), (method, url)
        else:
            assert response.status_code in (403, 404), (method, url, response.status_code)
        checked += 1
    assert checked >= 15

    own = two_communes["a"]
    recognition, unit = own["recognition_id"], own["unit_id"]
    gets = [
        f"/targets/units/{unit}",
        f"/targets/units/{unit}/report.xlsx",
        f"/targets/units/{unit}/report.pdf",
        f"/targets/units/{own['commune'].id}",
        "/api/v1/targets/plans/perm-plan",
        f"/titles/recognitions/{recognition}/certificate.pdf",
        f"/api/v1/titles/recognitions/{recognition}",
    ]
    for url in gets:
        assert client.get(url).status_code == 200, url
    assert client.get("/api/v1/targets/plans/no-such-plan").status_code == 404
    api = {"X-CSRFToken": token}
    posts = [
        client.post(f"/api/v1/titles/recognitions/{recognition}/reject", headers=api, json={}),
        client.post(f"/titles/recognitions/{recognition}/revoke", data={"csrf_token": token}),
        client.post(f"/api/v1/titles/recognitions/{recognition}/revoke", headers=api, json={}),
    ]
    assert [r.status_code for r in posts if r.status_code in (401, 403, 404)] == []
