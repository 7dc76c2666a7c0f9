"""The credential where people meet it (ADR 32): a download link on the logged-in certificate and recognition pages,
the credential itself in the printed certificate's second QR code (read back from the rendered page, as a phone's
camera would), and a verification page that carries the issuers' keys and the status lists it needs."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import zxingcpp
from joserfc import jws
from joserfc.jwk import OKPKey
from PIL import Image

from lms.auth.models import Role
from lms.credentials import services
from tests.conftest import csrf_token, login, make_user, unit_by_code
from tests.credentials.test_credentials import _recognised, _unb64, certificate  # noqa: F401 - the fixture

TRUST_RE = re.compile(r'<script type="application/json" id="verify-trust">(.*?)</script>', re.S)


def _qr_codes(pdf: bytes, tmp_path: Path) -> list[str]:
    """Every QR code on the first page, as a phone would read it off the paper: rendered at 200 dpi, decoded."""
    (tmp_path / "doc.pdf").write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-f", "1", "-l", "1", "-png", str(tmp_path / "doc.pdf"), str(tmp_path / "page")],
        check=True,
    )
    (image,) = tmp_path.glob("page*.png")
    return [result.text for result in zxingcpp.read_barcodes(Image.open(image))]


def _independent(token: str, document: dict) -> dict:
    header = json.loads(_unb64(token.split(".")[0]))
    (method,) = [m for m in document["verificationMethod"] if m["id"] == header["kid"]]
    return json.loads(
        jws.deserialize_compact(token, OKPKey.import_key(method["publicKeyJwk"]), algorithms=["EdDSA"]).payload
    )


def test_the_packed_credential_unpacks_to_the_very_jws_that_was_signed(certificate, client):  # noqa: F811
    token = services.credential_for_certificate(certificate["certificate"]).jwt
    packed = services.qr_fragment(token)
    assert packed.startswith("vc1.")
    assert len(packed) < len(token) * 0.6  # what makes it fit a printable QR code
    assert services.from_qr_fragment(packed) == token
    url = f"https://lms.example.vn/credentials/verify#{packed}"
    assert services.presented_token(url) == token
    assert services.presented_token(packed) == token
    assert services.presented_token("https://x/credentials/verify#vc1.AAAA") == ""
    assert services.verify(services.presented_token(url)).valid


def test_a_centre_manager_downloads_a_learners_credential_from_the_class_page(certificate, client):  # noqa: F811
    manager = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "vc-manager@example.vn")
    login(client, manager)
    page = client.get(f"/courses/classes/{certificate['class'].id}").get_data(as_text=True)
    link = re.search(r'class="btn btn-sm btn-outline-secondary credential-link" download href="([^"]+)"', page)
    assert link, "no credential link on the class page"
    assert "Chứng chỉ số" in page
    document = client.get(link.group(1)).get_json()
    assert document["credential"]["credentialSubject"]["achievement"]["achievementType"] == "CertificateOfCompletion"
    assert services.verify(document["jwt"]).valid


def test_the_printed_certificate_carries_its_credential_in_a_second_qr_code(
    certificate,  # noqa: F811
    client,
    tmp_path,
):
    code = certificate["certificate"].code
    login(client, make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "vc-print@example.vn"))
    pdf = client.get(f"/courses/certificates/{code}.pdf")
    assert pdf.status_code == 200
    codes = _qr_codes(pdf.data, tmp_path)
    assert f"http://localhost/courses/verify/{code}" in codes  # the page's QR code, as before
    (scanned,) = [text for text in codes if "#vc1." in text]
    assert scanned.startswith("http://localhost/credentials/verify#vc1.")
    token = services.presented_token(scanned)
    # The same credential as the download, whole: an outside JOSE library verifies what was scanned.
    downloaded = client.get(f"/credentials/certificates/{code}.json").get_json()
    assert token == downloaded["jwt"]
    issuer = downloaded["credential"]["issuer"]["id"]
    document = client.get("/" + "/".join(issuer.split(":")[3:]) + "/did.json").get_json()
    assert _independent(token, document) == downloaded["credential"]
    assert services.verify(token).valid


def test_the_recognition_page_and_certificate_carry_the_credential(app_ctx, client, tmp_path):
    row, leader = _recognised()
    login(client, leader)
    page = client.get(f"/titles/recognitions/{row.id}").get_data(as_text=True)
    assert f'id="credential-link" download href="/credentials/recognitions/{row.certificate_code}.json"' in page
    assert "Tải chứng chỉ số (Open Badges 3.0)" in page
    pdf = client.get(f"/titles/recognitions/{row.id}/certificate.pdf")
    assert pdf.status_code == 200
    (scanned,) = [text for text in _qr_codes(pdf.data, tmp_path) if "#vc1." in text]
    result = services.verify(services.presented_token(scanned))
    assert (result.valid, result.credential["credentialSubject"]["achievement"]["name"]) == (True, "Gia đình học tập")


def test_the_verification_page_carries_the_keys_and_status_lists_it_needs(certificate, client):  # noqa: F811
    code = certificate["certificate"].code
    issued = client.get(f"/credentials/certificates/{code}.json").get_json()  # issued for this host
    credential = issued["credential"]
    html = client.get("/credentials/verify").get_data(as_text=True)
    trust = json.loads(TRUST_RE.search(html).group(1))
    document = trust["dids"][credential["issuer"]["id"]]
    assert _independent(issued["jwt"], document) == credential  # the page's key verifies the credential
    status_url = credential["credentialStatus"]["statusListCredential"]
    status_token = trust["status"][status_url]
    instance = trust["dids"][services.did_for(services.instance_issuer())]
    status = _independent(status_token, instance)
    assert status["credentialSubject"]["statusPurpose"] == "revocation"
    assert all("d" not in m["publicKeyJwk"] for d in trust["dids"].values() for m in d["verificationMethod"])
    # The server's check takes the scanned address too.
    token = csrf_token(client, "/credentials/verify")
    scanned = f"http://localhost/credentials/verify#{services.qr_fragment(issued['jwt'])}"
    html = client.post("/credentials/verify", data={"token": scanned, "csrf_token": token}).get_data(as_text=True)
    assert 'data-reason="ok"' in html
