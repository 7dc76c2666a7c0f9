"""The national IT certificate form lists the scan's type with the other fields' errors. Walked on a phone: an issue
date in the future and a .txt scan showed only the date; corrected, the form then refused the scan — and the file
input is empty again after each try, so the person picked the wrong file twice."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from courses.models import ItCertificate
from lms.auth.services import create_user
from lms.extensions import db
from tests.conftest import PASSWORD, csrf_token, login, unit_by_code
from tests.courses.test_it_skills import PDF, people


def _post(client, **fields):
    data = {
        "csrf_token": csrf_token(client, "/courses/it/me/certificates/new"),
        "number": "CNTT-FORM-1",
        "issuer": "Trường ĐH Đà Nẵng",
        "issued_on": "2025-06-01",
        "modules": "",
        **fields,
    }
    return client.post("/courses/it/me/certificates/new", data=data, content_type="multipart/form-data")


def test_a_wrong_scan_is_named_with_the_other_errors_of_the_form(app_ctx, client):
    (holder,) = people(unit_by_code("23293"), "FRM", "Y Hoa Mẫu")
    own = create_user("it-form-errors@example.vn", holder.full_name, PASSWORD)
    own.person_id = holder.id
    db.session.commit()
    login(client, own)
    refused = _post(client, issued_on="2099-01-01", file=(io.BytesIO(b"hello"), "chung-chi.txt"))
    body = refused.get_data(as_text=True)
    assert refused.status_code == 200
    assert "ngày cấp sau hôm nay" in body
    assert "Chỉ nhận tệp PDF, JPEG hoặc PNG." in body
    refused = _post(client, number="", file=(io.BytesIO(b"hello"), "chung-chi.txt"))  # the form's own check
    assert "Chỉ nhận tệp PDF, JPEG hoặc PNG." in refused.get_data(as_text=True)
    only_the_date = _post(client, issued_on="2099-01-01", file=(io.BytesIO(PDF), "chung-chi.pdf"))
    assert "Chỉ nhận tệp PDF, JPEG hoặc PNG." not in only_the_date.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ItCertificate)) == 0
    assert _post(client, file=(io.BytesIO(PDF), "chung-chi.pdf")).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ItCertificate)) == 1
