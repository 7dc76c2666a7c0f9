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


def test_the_certificate_page_names_its_advanced_modules(app_ctx, client):
    """Walked on a phone: the certificate's page listed "IU07, IU08, IU09" — codes the manager checking the scan
    against the paper had to look up."""
    from datetime import date

    from courses import it_skills
    from lms.auth.models import Role
    from tests.conftest import make_user
    from tests.courses.test_it_skills import scan

    commune = unit_by_code("23293")
    (holder,) = people(commune, "MOD", "A Nâng Cao")
    certificate = it_skills.record_certificate(
        person=holder,
        number="CNTT-MOD-1",
        issuer="Trường ĐH Đà Nẵng",
        issued_on=date(2025, 6, 1),
        upload=scan(),
        recorded_by_id=None,
        modules="IU07, IU08, IU09",
    )
    manager = make_user(Role.CENTRE_MANAGER, commune, "it-modules-manager@example.vn")
    db.session.commit()
    login(client, manager)
    page = client.get(f"/courses/it/certificates/{certificate.id}").get_data(as_text=True)
    modules = page.split('id="certificate-modules">')[1].split("</dd>")[0]
    assert "IU07 Xử lý văn bản nâng cao" in modules
    assert "IU09 Sử dụng trình chiếu nâng cao" in modules


def test_an_advanced_certificates_modules_are_ticked_by_name(app_ctx, client):
    """Walk 3: the advanced modules were typed as codes ("ví dụ IU07, IU08, IU10"). They are ticked from IU07–IU15
    by name; too few is refused with the ticks kept, and the ticked ones are recorded."""
    import re

    (holder,) = people(unit_by_code("23293"), "ADV", "Y Hoa Nâng Cao")
    own = create_user("it-form-advanced@example.vn", holder.full_name, PASSWORD)
    own.person_id = holder.id
    db.session.commit()
    login(client, own)
    form = client.get("/courses/it/me/certificates/new").get_data(as_text=True)
    offered = re.findall(r'name="modules" value="(IU\d\d)"', form)
    assert offered == [f"IU{n:02d}" for n in range(7, 16)]  # advanced modules only, in the standard's order
    assert "IU10 Sử dụng hệ quản trị cơ sở dữ liệu</label>" in form
    assert "ví dụ IU07" not in form
    too_few = client.post(
        "/courses/it/me/certificates/new",
        data={
            "csrf_token": csrf_token(client, "/courses/it/me/certificates/new"),
            "number": "CNTT-ADV-1",
            "issuer": "Trường ĐH Đà Nẵng",
            "issued_on": "2025-06-01",
            "modules": ["IU10", "IU07"],
            "file": (io.BytesIO(PDF), "chung-chi.pdf"),
        },
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "ít nhất 3" in too_few
    assert re.findall(r'name="modules" value="(IU\d\d)"[^>]*\bchecked\b', too_few) == ["IU07", "IU10"]
    saved = _post(client, number="CNTT-ADV-1", modules=["IU14", "IU07", "IU10"], file=(io.BytesIO(PDF), "c.pdf"))
    assert saved.status_code == 302
    certificate = db.session.scalar(select(ItCertificate).where(ItCertificate.number == "CNTT-ADV-1"))
    assert certificate is not None
    assert certificate.modules == ["IU07", "IU10", "IU14"]


def test_the_issue_date_is_named_with_the_modules_and_the_scan_is_asked_again(app_ctx, client):
    """Walked on a phone (walk5): an advanced certificate of 2099 with one module ticked was told of the modules only;
    ticked right, the next try refused the date — and the scan, chosen each time, was gone without a word."""
    (holder,) = people(unit_by_code("23293"), "FR5", "Y Hoa Năm")
    own = create_user("it-form-errors-5@example.vn", holder.full_name, PASSWORD)
    own.person_id = holder.id
    db.session.commit()
    login(client, own)
    refused = _post(client, issued_on="2099-01-01", modules="IU07", file=(io.BytesIO(PDF), "chung-chi.pdf"))
    body = refused.get_data(as_text=True)
    assert "ít nhất 3 mô đun nâng cao" in body
    assert "ngày cấp sau hôm nay" in body
    assert "Hãy chọn lại bản quét" in body
    no_number = _post(client, number="", issued_on="0999-01-01", file=(io.BytesIO(PDF), "chung-chi.pdf"))
    assert "kiểm tra lại năm" in no_number.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ItCertificate)) == 0
