"""Printing a decision with more than a handful of certificates: a task draws them into a kept PDF, its page shows
the progress, a second request joins the print under way, and another commune's leader sees nothing (ADR 47)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import zxingcpp
from PIL import Image
from sqlalchemy import event, func, select

from lms.auth.models import Role
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.titles import documents, printing, recognition
from lms.titles.models import DecisionPrint, Recognition
from tests.conftest import csrf_token, login, make_household, make_user, unit_by_code
from tests.courses.test_documents import _pdf_text
from tests.titles.test_recognition_views import YEAR, world  # noqa: F401 - the fixture

SIZE = 7  # more than TITLES_PRINT_INLINE_MAX (5): printed by the task


def _decision(world, size: int = SIZE) -> list[Recognition]:  # noqa: F811
    from datetime import date

    from lms.titles.models import CriteriaSet
    from tests.titles.recognition_fixtures import eligibility

    family = db.session.get(CriteriaSet, db.session.scalar(select(func.min(CriteriaSet.id))))
    households = [make_household(world["village"], f"DP-{i}", f"Phạm Thị In{i:02d}") for i in range(size)]
    for household in households:
        eligibility(family, household.id, world["commune"].id, YEAR, village_id=world["village"].id)
    proposed = recognition.propose(
        title="family", year=YEAR, subject_ids=[h.id for h in households], user=world["leader"]
    )
    rows = recognition.decide(
        proposed, decision_number="31/QĐ-UBND", decision_date=date(2026, 1, 22), user=world["leader"], authority=""
    )
    db.session.commit()
    return rows


def _qr_codes(pdf: bytes, page: int, tmp_path: Path) -> list[str]:
    """The QR codes of one page, as a phone would read them off the paper: rendered at 200 dpi, decoded."""
    (tmp_path / "doc.pdf").write_bytes(pdf)
    for old in tmp_path.glob("page*.png"):
        old.unlink()
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "200",
            "-f",
            str(page),
            "-l",
            str(page),
            "-png",
            str(tmp_path / "doc.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    (image,) = tmp_path.glob("page*.png")
    return sorted(result.text for result in zxingcpp.read_barcodes(Image.open(image)))


def _print(client, first: Recognition) -> str:
    """Open the decision's print from its PDF link (redirected to its page) and prepare the PDF; the page after."""
    response = client.get(f"/titles/recognitions/{first.id}/decision.pdf")
    assert response.status_code == 303
    page_url = response.headers["Location"]
    assert page_url.endswith(f"/titles/recognitions/{first.id}/decision/print")
    token = csrf_token(client, page_url)
    response = client.post(page_url, data={"csrf_token": token})
    assert response.status_code == 303
    return client.get(page_url).get_data(as_text=True)


def test_the_task_prints_the_certificates_the_request_printed(app, client, world, tmp_path, monkeypatch):  # noqa: F811
    rows = _decision(world)
    login(client, world["leader"])
    page = _print(client, rows[0])
    assert '<span id="print-state">Sẵn sàng</span>' in page  # ready
    assert f"{SIZE} / {SIZE}" in page
    link = re.search(r'id="print-download" href="([^"]+)"', page)
    assert link is not None, page
    response = client.get(link.group(1))
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]
    by_task = response.data
    # The same decision printed in the request, as a small one is.
    monkeypatch.setitem(app.config, "TITLES_PRINT_INLINE_MAX", 100)
    in_request = client.get(f"/titles/recognitions/{rows[0].id}/decision.pdf").data
    for content in (by_task, in_request):
        text = _pdf_text(content)
        assert text.count("GIẤY CÔNG NHẬN") == SIZE
        assert all(f"Phạm Thị In{i:02d}" in text for i in range(SIZE))
        assert "31/QĐ-UBND" in text
    assert _pdf_text(by_task) == _pdf_text(in_request)
    # Decree 30's layout: the issuing body at the top left, the signer's block at the bottom right, never the
    # signer's title where the body goes (as "CHỦ TỊCH UBND XÃ …" was).
    text = _pdf_text(by_task)
    commune = f"{world['commune'].kind} {world['commune'].name}".upper()  # "PHƯỜNG KON TUM"
    assert len(re.findall(rf"(?<!TM\. )ỦY BAN NHÂN DÂN\s+{commune}", text)) == SIZE + 1  # and the list's heading
    assert len(re.findall(r"TM\. ỦY BAN NHÂN DÂN\s+CHỦ TỊCH", text)) == SIZE + 1  # and the list's
    assert "CHỦ TỊCH UBND" not in text
    # The first certificate (page 2, after the list): its verification address and its signed credential, the same
    # credential the request printed, read off the rendered page.
    codes = _qr_codes(by_task, 2, tmp_path)
    assert codes == _qr_codes(in_request, 2, tmp_path)
    assert any(code.endswith(f"/titles/verify/{rows[0].certificate_code}") for code in codes)
    (credential,) = [code for code in codes if "/credentials/verify#vc1." in code]
    from lms.credentials import services

    assert services.verify(services.presented_token(credential)).valid
    # One audit event per certificate printed, by the leader who asked.
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "recognition.certificate")).all()
    printed = [e for e in events if e.details.get("print")]
    assert sorted(int(e.object_id) for e in printed) == sorted(r.id for r in rows)
    assert {e.user_id for e in printed} == {world["leader"].id}


def test_the_print_reports_its_progress_while_it_draws(client, world, monkeypatch):  # noqa: F811
    rows = _decision(world, 12)
    monkeypatch.setattr(printing, "PROGRESS_EVERY", 5)
    published: list[tuple[str, int, int]] = []

    def seen(mapper, connection, target):
        published.append((target.status, target.done, target.total))

    event.listen(DecisionPrint, "before_update", seen)
    try:
        login(client, world["leader"])
        _print(client, rows[0])
    finally:
        event.remove(DecisionPrint, "before_update", seen)
    assert ("running", 5, 12) in published
    assert ("running", 10, 12) in published
    assert published[-1] == ("done", 12, 12)
    # What the page polls.
    job = db.session.scalar(select(DecisionPrint))
    answer = client.get(f"/api/v1/titles/decision-prints/{job.id}").get_json()
    assert answer["status"] == "done"
    assert (answer["done"], answer["total"], answer["progress"]) == (12, 12, 100)
    assert answer["download_url"] == f"/titles/decision-prints/{job.id}/file.pdf"


def test_a_second_request_while_a_print_runs_joins_it(client, world):  # noqa: F811
    rows = _decision(world)
    running, started = printing.start(
        rows[0], user=world["leader"], base_url="http://localhost/", total=SIZE, enqueue=False
    )
    assert started
    db.session.commit()
    login(client, world["leader"])
    url = f"/titles/recognitions/{rows[0].id}/decision/print"
    page = client.get(url).get_data(as_text=True)
    # A print under way: its progress, refreshed by the API, or by the page itself without JavaScript.
    assert f'data-poll-url="/api/v1/titles/decision-prints/{running.id}"' in page
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert 'id="print-start"' not in page  # no button to start another
    response = client.post(url, data={"csrf_token": csrf_token(client, "/titles/recognitions")})
    assert response.status_code == 303
    assert "đang được in" in client.get(url).get_data(as_text=True)  # "already being printed"
    assert db.session.scalar(select(func.count()).select_from(DecisionPrint)) == 1
    # From another recognition of the same decision too: one decision, one print.
    again, started = printing.start(rows[3], user=world["leader"], base_url="http://localhost/", total=SIZE)
    assert (again.id, started) == (running.id, False)


def test_another_communes_leader_gets_404(client, world):  # noqa: F811
    rows = _decision(world)
    login(client, world["leader"])
    _print(client, rows[0])
    job = db.session.scalar(select(DecisionPrint))
    other = make_user(Role.COMMUNE_LEADER, unit_by_code("23500"), "dp-other@example.vn")
    db.session.commit()
    client.post("/logout", data={"csrf_token": csrf_token(client, "/titles/recognitions")})
    login(client, other)
    token = csrf_token(client, "/titles/recognitions")
    assert client.get(f"/titles/recognitions/{rows[0].id}/decision/print").status_code == 404
    assert (
        client.post(f"/titles/recognitions/{rows[0].id}/decision/print", data={"csrf_token": token}).status_code == 404
    )
    assert client.get(f"/titles/decision-prints/{job.id}/file.pdf").status_code == 404
    assert client.get(f"/api/v1/titles/decision-prints/{job.id}").status_code == 404
    assert db.session.scalar(select(func.count()).select_from(DecisionPrint)) == 1


def test_a_failed_print_says_why_and_keeps_nothing_while_the_last_file_stays(client, world, monkeypatch):  # noqa: F811
    rows = _decision(world)
    login(client, world["leader"])
    _print(client, rows[0])
    first = db.session.scalar(select(DecisionPrint))
    drawn = []
    real = documents._draw_certificate

    def breaks_on_the_third(canvas, data, width, height):
        drawn.append(data.code)
        if len(drawn) == 3:
            raise ValueError("a glyph the font lacks")
        real(canvas, data, width, height)

    monkeypatch.setattr(documents, "_draw_certificate", breaks_on_the_third)
    url = f"/titles/recognitions/{rows[0].id}/decision/print"
    client.post(url, data={"csrf_token": csrf_token(client, url)})
    page = client.get(url).get_data(as_text=True)
    failed = db.session.scalar(select(DecisionPrint).order_by(DecisionPrint.id.desc()))
    assert failed.id != first.id
    assert (failed.status, failed.content, failed.size, failed.running_key) == ("failed", None, 0, None)
    assert 'id="print-failed"' in page
    assert "Không vẽ được các giấy công nhận vì một lỗi trên máy chủ" in page
    assert "glyph" not in page  # no internal detail for the leader
    # The last good print is still there, and a new print may be started.
    assert client.get(f"/titles/decision-prints/{first.id}/file.pdf").status_code == 200
    assert 'id="print-start"' in page
    # Revoked meanwhile: nobody left to print.
    monkeypatch.setattr(documents, "_draw_certificate", real)
    recognition.revoke([r.id for r in rows], reason="Quyết định bị hủy", user=world["leader"])
    db.session.commit()
    job, _ = printing.start(rows[0], user=world["leader"], base_url="http://localhost/", total=SIZE, enqueue=False)
    db.session.commit()
    printing.execute(job.id)
    assert job.status == "failed"
    assert "không còn công nhận ai" in job.message


def test_a_newer_print_replaces_the_file_of_the_older(client, world):  # noqa: F811
    rows = _decision(world)
    login(client, world["leader"])
    _print(client, rows[0])
    page = _print(client, rows[0])
    older, newer = db.session.scalars(select(DecisionPrint).order_by(DecisionPrint.id)).all()
    assert (older.size, older.content) == (0, None)
    assert newer.size > 0
    assert client.get(f"/titles/decision-prints/{older.id}/file.pdf").status_code == 410
    assert f"/titles/decision-prints/{newer.id}/file.pdf" in page


def test_each_body_heads_and_signs_its_certificates(app_ctx):
    """The commune People's Committee (families), the commune association (citizens, Decision 324/QĐ-KHVN) and the
    province's Department of Education (the commune learning community), as Decree 30/2020 lays them out."""
    from lms.registry.models import AdminUnit
    from lms.titles import approvals

    commune, province = AdminUnit(kind="Xã", name="Ea Tu"), AdminUnit(kind="Tỉnh", name="Đắk Lắk")
    family = approvals.issuer(approvals.rule_for("family"), commune, province)
    assert (family.superior, family.body, family.signer) == (
        (),
        ("ỦY BAN NHÂN DÂN", "XÃ EA TU"),
        ("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"),
    )
    citizen = approvals.issuer(approvals.rule_for("citizen"), commune, province)
    assert (citizen.superior, citizen.body, citizen.signer) == (
        ("HỘI KHUYẾN HỌC TỈNH ĐẮK LẮK",),
        ("HỘI KHUYẾN HỌC XÃ EA TU",),
        ("TM. BAN CHẤP HÀNH", "CHỦ TỊCH"),
    )
    unit = approvals.issuer(approvals.rule_for("unit", "province"), commune, province)
    assert unit.body == ("ỦY BAN NHÂN DÂN", "TỈNH ĐẮK LẮK")
    community = approvals.issuer(approvals.rule_for("commune_community"), commune, province)
    assert (community.superior, community.body, community.signer) == (
        ("ỦY BAN NHÂN DÂN TỈNH ĐẮK LẮK",),
        ("SỞ GIÁO DỤC VÀ ĐÀO TẠO",),
        ("GIÁM ĐỐC",),
    )


def test_a_print_whose_worker_died_is_failed_and_a_new_one_starts(world):  # noqa: F811
    from datetime import timedelta

    from lms.extensions import utcnow

    rows = _decision(world)
    stuck, _ = printing.start(rows[0], user=world["leader"], base_url="http://localhost/", total=SIZE, enqueue=False)
    stuck.status, stuck.created_at = "running", utcnow() - printing.STALE_AFTER - timedelta(minutes=1)
    db.session.commit()
    fresh, started = printing.start(
        rows[0], user=world["leader"], base_url="http://localhost/", total=SIZE, enqueue=False
    )
    db.session.commit()
    assert started
    assert fresh.id != stuck.id
    assert (stuck.status, stuck.running_key) == ("failed", None)
    assert "máy chủ đã khởi động lại" in stuck.message


def test_the_sweep_sends_a_lost_print_again_fails_a_dead_one_and_deletes_long_replaced_rows(world):  # noqa: F811
    """Nobody asks for the decision again: the titles sweep (beat, every 15 s) fails a print whose worker died,
    sends a queued print whose message was lost again (once a minute of its age, not every sweep), and deletes the
    row of a print a newer one replaced more than KEEP_REPLACED ago — never the last file."""
    from datetime import timedelta

    from lms.extensions import utcnow
    from lms.titles import tasks

    rows = _decision(world)

    def queued(age: timedelta, status: str = "queued") -> int:
        job, _ = printing.start(rows[0], user=world["leader"], base_url="http://localhost/", total=SIZE, enqueue=False)
        job.status, job.created_at = status, utcnow() - age
        db.session.commit()
        return job.id

    def state(print_id: int) -> str | None:
        db.session.expire_all()
        job = db.session.get(DecisionPrint, print_id)
        return job.status if job else None

    # Queued for a long while behind a busy queue, then started a minute ago: drawing, not dead.
    dead = queued(printing.STALE_AFTER + timedelta(minutes=1), "running")
    db.session.get(DecisionPrint, dead).started_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    tasks.sweep.apply()
    assert state(dead) == "running"
    db.session.get(DecisionPrint, dead).started_at = utcnow() - printing.STALE_AFTER - timedelta(seconds=1)
    db.session.commit()
    tasks.sweep.apply()
    assert state(dead) == "failed"
    assert "máy chủ đã khởi động lại" in db.session.get(DecisionPrint, dead).message
    # Lost 40 s into a minute of its age: not this sweep (it may only be waiting in a busy queue)…
    lost = queued(timedelta(seconds=100))
    tasks.sweep.apply()
    assert state(lost) == "queued"
    # …but the first sweep past the next whole minute sends it again, and the worker draws it.
    db.session.get(DecisionPrint, lost).created_at = utcnow() - timedelta(seconds=122)
    db.session.commit()
    tasks.sweep.apply()
    assert state(lost) == "done"
    assert db.session.get(DecisionPrint, lost).size > 0
    # The failed print, replaced by the newer one: its row goes once KEEP_REPLACED has passed, the file stays.
    db.session.get(DecisionPrint, dead).finished_at = utcnow() - printing.KEEP_REPLACED + timedelta(hours=1)
    db.session.commit()
    tasks.sweep.apply()
    assert state(dead) == "failed"
    db.session.get(DecisionPrint, dead).finished_at = utcnow() - printing.KEEP_REPLACED - timedelta(hours=1)
    db.session.get(DecisionPrint, lost).finished_at = utcnow() - printing.KEEP_REPLACED - timedelta(days=1)
    db.session.commit()
    tasks.sweep.apply()
    assert state(dead) is None
    assert state(lost) == "done"  # the last file of its decision, however old
    # A newer print that failed replaced nothing: the old file is still the decision's last, its row stays.
    newest = queued(printing.STALE_AFTER + timedelta(minutes=1), "running")
    tasks.sweep.apply()
    assert state(newest) == "failed"
    assert state(lost) == "done"
    assert db.session.get(DecisionPrint, lost).size > 0


def test_the_links_to_a_large_decision_say_they_print_not_that_they_are_a_pdf(client, world):  # noqa: F811
    """Above TITLES_PRINT_INLINE_MAX the links lead to the print page (ADR 47): they no longer promise a PDF."""
    rows = _decision(world)
    login(client, world["leader"])
    listing = client.get(f"/titles/recognitions?unit_id={world['commune'].id}").get_data(as_text=True)
    decisions = listing[listing.index('id="decisions"') : listing.index('id="recognitions"')]
    assert f">In danh sách và {SIZE} giấy công nhận</a>" in decisions
    assert "(PDF)" not in decisions
    page = client.get(f"/titles/recognitions/{rows[0].id}").get_data(as_text=True)
    link = re.search(r'id="decision-link" href="[^"]+">([^<]+)</a>', page)
    assert link is not None
    assert link.group(1) == f"In quyết định 31/QĐ-UBND: danh sách và cả {SIZE} giấy công nhận"


def test_a_print_that_waited_its_turn_is_joined_not_failed_and_one_failed_meanwhile_stays_failed(world, monkeypatch):  # noqa: F811
    """Review finding R4: staleness was measured from the request, so a print queued behind other tasks and then
    drawing was failed by the next request while its worker lived; that worker then marked it done over the failure
    (and two workers drew the same decision)."""
    from datetime import timedelta

    from sqlalchemy import update

    from lms.extensions import utcnow

    rows = _decision(world)
    waited, _ = printing.start(rows[0], user=world["leader"], base_url="http://localhost/", total=SIZE, enqueue=False)
    waited.status, waited.created_at = "running", utcnow() - printing.STALE_AFTER - timedelta(minutes=5)
    waited.started_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    joined, started = printing.start(
        rows[0], user=world["leader"], base_url="http://localhost/", total=SIZE, enqueue=False
    )
    assert (joined.id, started) == (waited.id, False)

    # A print failed as stale while its worker still draws keeps its failure and no file.
    db.session.execute(update(DecisionPrint).values(status="queued", started_at=None))
    db.session.commit()
    drawing = documents.decision_pdf

    def failed_meanwhile(document, on_certificate=None):
        db.session.execute(
            update(DecisionPrint).where(DecisionPrint.id == waited.id).values(status="failed", running_key=None)
        )
        db.session.commit()
        return drawing(document, on_certificate=on_certificate)

    monkeypatch.setattr(printing.documents, "decision_pdf", failed_meanwhile)
    printing.execute(waited.id)
    db.session.expire_all()
    job = db.session.get(DecisionPrint, waited.id)
    assert (job.status, job.size) == ("failed", 0)
    assert db.session.scalar(select(DecisionPrint.content).where(DecisionPrint.id == waited.id)) is None


def test_a_kept_print_leads_to_the_configured_host_not_the_requests(app):
    """Review finding R7: the print kept for everyone was drawn under the request's Host header, so a forged Host put
    another site's address in the QR codes of every certificate of the decision."""
    from lms.titles.print_views import _print_base_url

    app.config["CREDENTIALS_DOMAIN"] = "lms.example.vn"
    try:
        with app.test_request_context("/", base_url="http://evil.example/"):
            assert _print_base_url() == "https://lms.example.vn/"
    finally:
        app.config["CREDENTIALS_DOMAIN"] = None
    with app.test_request_context("/", base_url="http://localhost:5000/"):
        assert _print_base_url() == "http://localhost:5000/"  # development: the request's own host


def test_a_certificates_address_names_every_place_above_the_subject_in_lower_case_after_the_first(
    client,
    world,  # noqa: F811
):
    """A household whose id happened to be its province's lost the province from its address (the subject's own
    unit is left out only when the subject is a village or a commune), and the places after the first are written
    as inside a sentence: "Thôn Kon Hra, phường Kon Tum, tỉnh Quảng Ngãi", on the certificate and the decision's
    list alike."""
    from datetime import date

    from lms.registry.models import AdminUnit, Household, Person
    from lms.titles.models import CriteriaSet
    from tests.titles.recognition_fixtures import eligibility

    commune, village = world["commune"], world["village"]
    province = db.session.get(AdminUnit, commune.parent_id)
    assert db.session.get(Household, province.id) is None
    household = Household(id=province.id, village_id=village.id, code="DP-TINH")
    db.session.add(household)
    db.session.flush()
    db.session.add(
        Person(full_name="Lê Thị Địa Chỉ", unit_id=village.id, household_id=household.id, relation_to_head="Chủ hộ")
    )
    family = db.session.get(CriteriaSet, db.session.scalar(select(func.min(CriteriaSet.id))))
    eligibility(family, household.id, commune.id, YEAR, village_id=village.id)
    proposed = recognition.propose(title="family", year=YEAR, subject_ids=[household.id], user=world["leader"])
    (row,) = recognition.decide(
        proposed, decision_number="32/QĐ-UBND", decision_date=date(2026, 1, 22), user=world["leader"], authority=""
    )
    db.session.commit()
    login(client, world["leader"])
    expected = f"Thôn Kon Hra, {commune.kind.lower()} {commune.name}, tỉnh {province.name}"
    for url in (f"/titles/recognitions/{row.id}/certificate.pdf", f"/titles/recognitions/{row.id}/decision.pdf"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert expected in " ".join(_pdf_text(response.data).split()), url


def test_the_decisions_list_prints_a_long_address_whole_and_numbers_its_pages(
    client,
    world,  # noqa: F811
):
    """A village named at length gave an address of three lines: the list printed two and dropped the province
    without a mark. Each list page says which decision it belongs to and its number."""
    import io
    from datetime import date

    from pypdf import PdfReader

    from lms.titles.models import CriteriaSet
    from tests.conftest import make_village
    from tests.titles.recognition_fixtures import eligibility

    commune = world["commune"]
    village = make_village(commune, "DP-LONG", "Thôn Làng Mới Định Cư Vùng Lòng Hồ Thủy Điện Thượng Kon Tum Số Hai")
    household = make_household(village, "DP-LONG-1", "Y Địa Chỉ Dài")
    family = db.session.get(CriteriaSet, db.session.scalar(select(func.min(CriteriaSet.id))))
    eligibility(family, household.id, commune.id, YEAR, village_id=village.id)
    proposed = recognition.propose(title="family", year=YEAR, subject_ids=[household.id], user=world["leader"])
    (row,) = recognition.decide(
        proposed, decision_number="33/QĐ-UBND", decision_date=date(2026, 1, 22), user=world["leader"], authority=""
    )
    db.session.commit()
    login(client, world["leader"])
    pdf = client.get(f"/titles/recognitions/{row.id}/decision.pdf").data
    first = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert "tỉnh Quảng Ngãi" in first  # the address's last part, on the list's page
    assert "Danh sách kèm theo Quyết định số 33/QĐ-UBND" in first
    assert "Trang 1" in first


def test_the_decisions_signature_never_stands_alone_on_a_page(app_ctx):
    """A list of 42 households filled two pages to the last line and the signature block went to a third page of its
    own, without a row of the list, its heading or its page number (walk4's finding): a signature on a blank page
    signs nothing a reader can see. Whatever the list's length, the page that signs holds its last row."""
    import io
    from datetime import date

    from pypdf import PdfReader

    for size in range(1, 60):
        address = "Thôn Một, xã Đăk Hà, tỉnh Quảng Ngãi"
        rows = tuple((f"Hộ Thử Ký{i:02d}", address, f"CODE-{i:02d}") for i in range(size))
        document = documents.DecisionDocument(
            title_name="Gia đình học tập",
            year=YEAR,
            decision_number="12/QĐ-UBND",
            decision_date=date(2026, 12, 5),
            authority="Chủ tịch UBND xã Đăk Hà",
            place="Đăk Hà",
            rows=rows,
            certificates=(),
            signer=("TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"),
            recipients=("Các gia đình có tên trong Danh sách", "Văn phòng HĐND và UBND xã Đăk Hà", "Lưu: VT"),
        )
        pages = [page.extract_text() for page in PdfReader(io.BytesIO(documents.decision_pdf(document))).pages]
        (signing,) = [text for text in pages if "Nơi nhận" in text]
        assert f"Hộ Thử Ký{size - 1:02d}" in signing, size
        assert f"Trang {len(pages)}" in pages[-1], size


def test_the_print_page_leads_back_to_the_decisions_list_not_to_one_household(client, world):  # noqa: F811
    """The print page said 'Quay lại bản công nhận' and led to the page of the household the decision's link was made
    from — the first of 42, named nowhere (walk4's finding). It leads back to the list of the decision's commune,
    year and title, which it names."""
    rows = _decision(world, 2)
    login(client, world["leader"])
    page = client.get(f"/titles/recognitions/{rows[0].id}/decision/print").get_data(as_text=True)
    back = page[page.index('id="print-back"') :]
    back = back[: back.index("</a>")]
    assert f'href="/titles/recognitions?unit_id={world["commune"].id}&amp;year={YEAR}&amp;title=family"' in back
    assert f"Quay lại danh sách công nhận: Gia đình học tập năm {YEAR}" in back
    assert f'href="/titles/recognitions/{rows[0].id}"' not in page
