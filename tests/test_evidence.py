import io

import pytest
from werkzeug.datastructures import FileStorage

from lms.core.evidence import EvidenceError, evidence_response, store_evidence
from lms.core.models import EvidenceFile
from lms.extensions import db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(content: bytes, name: str = "scan.png") -> FileStorage:
    return FileStorage(stream=io.BytesIO(content), filename=name, content_type="image/png")


def test_a_png_is_kept_with_its_type_read_from_its_bytes(app_ctx):
    file = store_evidence(upload(PNG, "../../Bằng tin học.PDF"), uploaded_by_id=None)
    db.session.expire_all()
    kept = db.session.get(EvidenceFile, file.id)
    assert (kept.media_type, kept.size, kept.content) == ("image/png", len(PNG), PNG)
    assert kept.filename.endswith(".png")
    assert "/" not in kept.filename


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"MZ\x90\x00 an executable", "Only PDF, JPEG or PNG"),
        (b"<svg onload=alert(1)>", "Only PDF, JPEG or PNG"),
    ],
)
def test_other_files_are_refused_with_what_to_do(app_ctx, content, message):
    with pytest.raises(EvidenceError, match=message):
        store_evidence(upload(content), uploaded_by_id=None)


def test_a_file_over_the_limit_is_refused(app_ctx):
    app_ctx.config["MAX_EVIDENCE_BYTES"] = 1024
    try:
        with pytest.raises(EvidenceError, match="larger than"):
            store_evidence(upload(b"%PDF-" + b"x" * 1100, "big.pdf"), uploaded_by_id=None)
        assert store_evidence(upload(b"%PDF-" + b"x" * 1000, "ok.pdf"), uploaded_by_id=None).size == 1005
    finally:
        app_ctx.config["MAX_EVIDENCE_BYTES"] = 5 * 1024 * 1024


def test_served_as_a_private_download_that_browsers_do_not_reinterpret(app_ctx):
    response = evidence_response(store_evidence(upload(PNG), uploaded_by_id=None))
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.get_data() == PNG


def test_evidence_inputs_offer_the_phone_camera(app):
    """Both evidence forms: the picker offers the camera and narrows to photos and PDFs."""
    from courses.forms import ItCertificateForm
    from lms.titles.forms import AssessmentForm

    with app.test_request_context():
        for html in (
            str(ItCertificateForm(meta={"csrf": False}).file()),
            str(AssessmentForm(meta={"csrf": False}).evidence_file()),
        ):
            assert 'accept="image/*,application/pdf"' in html
            assert 'capture="environment"' in html
