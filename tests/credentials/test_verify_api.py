"""POST /api/v1/credentials/verify: what the verification page says of a presented credential, as JSON — valid,
revoked, unknown, the name typed matched or not — with no more of the holder than the page shows, and the page's rate
limit (one budget with every verification)."""

from __future__ import annotations

import json
from datetime import datetime

from lms.credentials import services
from tests.conftest import csrf_token
from tests.credentials.test_credentials import certificate  # noqa: F401 - the fixture

URL = "/api/v1/credentials/verify"


def _check(client, credential: str, name: str | None = None) -> dict:
    body = {"credential": credential} if name is None else {"credential": credential, "name": name}
    response = client.post(URL, json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def _page(client, credential: str, name: str = "") -> str:
    token = csrf_token(client, "/credentials/verify")
    data = {"token": credential, "name": name, "csrf_token": token}
    return client.post("/credentials/verify", data=data).get_data(as_text=True)


def test_a_valid_credential_says_what_the_page_says_and_no_more(certificate, client):  # noqa: F811
    issued = services.credential_for_certificate(certificate["certificate"])
    learner = certificate["learner"]

    answer = _check(client, issued.jwt, learner.full_name)

    assert (answer["valid"], answer["status"], answer["reason"]) == (True, "valid", "ok")
    assert answer["name_match"] is True
    assert answer["name_message"] == services.NAME_MESSAGES["match"]
    assert "Kỹ thuật trồng cà phê" in answer["message"]
    page = _page(client, issued.jwt, learner.full_name)
    assert answer["message"] in page
    for check in answer["checks"]:
        assert check in page
    # The page's privacy: the holder's name (hashed in the credential) is never answered, nor the credential itself.
    text = json.dumps(answer, ensure_ascii=False)
    assert learner.full_name not in text
    assert "credentialSubject" not in text
    assert set(answer) == {"valid", "status", "reason", "message", "issuer", "checks", "name_match", "name_message"}


def test_the_file_and_the_qr_code_are_presented_as_on_the_page(certificate, client):  # noqa: F811
    code = certificate["certificate"].code
    downloaded = client.get(f"/credentials/certificates/{code}.json").get_data(as_text=True)
    jwt = json.loads(downloaded)["jwt"]
    scanned = f"http://localhost/credentials/verify#{services.qr_fragment(jwt)}"
    assert _check(client, downloaded)["status"] == "valid"
    assert _check(client, scanned)["status"] == "valid"


def test_a_revoked_credential_is_revoked(certificate, client):  # noqa: F811
    from courses import services as course_services
    from courses.services import Mark
    from tests.credentials.test_credentials import AFTER

    issued = services.credential_for_certificate(certificate["certificate"])
    learner = certificate["learner"]
    course_services.record_attendance(
        certificate["session"], [Mark(learner.id, "absent", datetime(2026, 3, 2, 13))], user_id=None
    )
    course_services.recompute_class(certificate["class"].id, as_of=AFTER)

    answer = _check(client, issued.jwt)

    assert (answer["valid"], answer["status"], answer["reason"]) == (False, "revoked", "revoked")
    assert answer["message"] == services.MESSAGES["revoked"]
    assert answer["name_match"] is None  # no name sent


def test_what_is_none_of_ours_is_unknown_and_an_altered_one_invalid(certificate, client):  # noqa: F811
    issued = services.credential_for_certificate(certificate["certificate"])
    for presented in ("not a credential", "a.b.c", '{"jwt": "x"}'):
        answer = _check(client, presented, "Nguyễn Văn A")
        assert (answer["valid"], answer["status"], answer["reason"]) == (False, "unknown", "malformed")
        assert answer["name_match"] is None  # nothing read: no name compared
    altered = _check(client, issued.jwt[:-6] + "AAAAAA")
    assert (altered["status"], altered["reason"]) == ("invalid", "bad_signature")


def test_a_wrong_name_is_said_to_differ(certificate, client):  # noqa: F811
    issued = services.credential_for_certificate(certificate["certificate"])

    answer = _check(client, issued.jwt, "Trần Văn Người Khác")

    assert answer["status"] == "valid"  # the credential is genuine; it is not this person's
    assert answer["name_match"] is False
    assert answer["name_message"] == services.NAME_MESSAGES["mismatch"]


def test_a_body_that_is_not_a_presentation_is_refused_by_field(app_ctx, client):
    for body, field in (({}, "credential"), ({"credential": ""}, "credential"), ({"credential": "x", "id": 1}, "id")):
        response = client.post(URL, json=body)
        assert response.status_code == 422
        assert response.mimetype == "application/problem+json"
        assert field in {error["field"] for error in response.get_json()["errors"]}
    too_long = client.post(URL, json={"credential": "x", "name": "A" * 301})
    assert too_long.status_code == 422


def test_the_api_draws_on_the_verification_pages_budget(rate_limited_app):
    client = rate_limited_app().test_client()
    statuses = [client.post(URL, json={"credential": f"x{i}"}).status_code for i in range(31)]
    assert statuses == [200] * 30 + [429]
    assert client.post(URL, json={"credential": "x"}).mimetype == "application/problem+json"
    assert client.get("/courses/verify/AAAA-BBBB-CCCC").status_code == 429  # the pages count in the same budget
