"""The scan of a national IT certificate is shown with its size as a person reads it. Walked on a phone: a centre
manager checking a small scan read "scan.png (0 KB)" — an empty file, by the look of it."""

from __future__ import annotations

from datetime import date

from courses import it_skills
from lms.auth.models import Role
from lms.core import formatting
from lms.extensions import db
from lms.registry.models import Clc
from tests.conftest import login, make_user, unit_by_code
from tests.courses.test_it_skills import people, scan


def test_a_small_scan_is_not_shown_as_zero_kilobytes(app_ctx, client):
    commune = unit_by_code("23293")
    db.session.add(Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng Quét Nhỏ"))
    (holder,) = people(commune, "SCAN", "Đinh Thị Quét")
    upload = scan()
    size = len(upload.stream.getvalue())
    assert size < 512  # rounds to 0 KB
    certificate = it_skills.record_certificate(
        person=holder,
        number="CNTT-SCAN-1",
        issuer="Trường ĐH Đà Nẵng",
        issued_on=date(2025, 6, 1),
        upload=upload,
        recorded_by_id=None,
    )
    manager = make_user(Role.CENTRE_MANAGER, commune, "scan-size-manager@example.vn")
    db.session.commit()
    login(client, manager)
    page = client.get(f"/courses/it/certificates/{certificate.id}").get_data(as_text=True)
    assert "(1 KB)" in page
    assert "(0 KB)" not in page


def test_file_sizes_read_in_vietnamese():
    assert formatting.file_size(0, locale="vi") == "1 KB"
    assert formatting.file_size(1024, locale="vi") == "1 KB"
    assert formatting.file_size(1025, locale="vi") == "2 KB"
    assert formatting.file_size(250_000, locale="vi") == "245 KB"
    assert formatting.file_size(3_565_158, locale="vi") == "3,4 MB"
    assert formatting.file_size(3_565_158, locale="en") == "3.4 MB"
