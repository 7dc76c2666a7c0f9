"""The registration and recognition pages, the certificate of recognition and its public verification page."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select, update

from lms.auth.models import Role
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.titles import approvals, recognition
from lms.titles.models import CriteriaSet, Recognition, Registration, Title
from tests.conftest import csrf_token, freeze_clock, login, make_household, make_user, make_village, unit_by_code
from tests.courses.test_documents import _decode_qr, _pdf_text
from tests.titles.recognition_fixtures import confirm_value, confirmation, criteria_set, eligibility

YEAR = 2025


@pytest.fixture
def world(app_ctx):
    commune = unit_by_code("23293")
    village = make_village(commune, "RV-V1", "Thôn Kon Hra")
    households = [make_household(village, f"RV-H{i}", f"Nguyễn Văn Hộ{i}") for i in range(3)]
    family = criteria_set()
    for i, household in enumerate(households):
        eligibility(family, household.id, commune.id, YEAR, village_id=village.id, eligible=i < 2)
    leader = make_user(Role.COMMUNE_LEADER, commune, "rv-leader@example.vn")
    manager = make_user(Role.CENTRE_MANAGER, commune, "rv-manager@example.vn")
    db.session.commit()
    return {"commune": commune, "village": village, "households": households, "leader": leader, "manager": manager}


def _context(world, **extra) -> str:
    query = {"commune_id": world["commune"].id, "year": YEAR, "title": "family", **extra}
    return "&".join(f"{k}={v}" for k, v in query.items())


def test_register_from_the_checklist(client, world):
    login(client, world["manager"])
    url = f"/titles/registrations/new?{_context(world)}"
    page = client.get(url).get_data(as_text=True)
    assert all(f'value="{h.id}"' in page for h in world["households"])
    token = csrf_token(client, url)
    response = client.post(url, data={"csrf_token": token, "ids": [world["households"][0].id]})
    assert response.status_code == 302
    listing = client.get(f"/titles/registrations?{_context(world)}").get_data(as_text=True)
    assert "Nguyễn Văn Hộ0" in listing
    assert f'value="{world["households"][0].id}"' not in client.get(url).get_data(as_text=True)


def test_import_page_shows_every_error_and_registers_nothing(client, world):
    login(client, world["manager"])
    url = f"/titles/registrations/import?{_context(world)}"
    token = csrf_token(client, url)
    content = b"household_code,village_code\nRV-H0,RV-V1\nNOPE,RV-V1\n"
    response = client.post(
        url, data={"csrf_token": token, "file": (io.BytesIO(content), "ds.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "không có hộ NOPE ở thôn RV-V1" in page  # the page is Vietnamese, so is what to fix
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    good = b"household_code,village_code\nRV-H0,RV-V1\nRV-H1,RV-V1\n"
    response = client.post(
        url, data={"csrf_token": token, "file": (io.BytesIO(good), "ds.csv")}, content_type="multipart/form-data"
    )
    # A preview: who would be registered, and nothing written until confirmed.
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "chưa có dữ liệu nào được ghi" in page
    assert "Hộ Nguyễn Văn Hộ0 (Thôn Kon Hra)" in page
    assert "được đánh giá lại" in page  # what follows: the commune-year is evaluated again
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    plan = re.search(r'name="plan" type="hidden" value="([^"]+)"', page).group(1)
    confirm = f"/titles/registrations/import/confirm?{_context(world)}"
    assert client.post(confirm, data={"csrf_token": token, "plan": plan}).status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 2
    # The same confirmation for another year is refused: a preview applies only where it was made.
    other_year = f"/titles/registrations/import/confirm?{_context(world, year=YEAR + 1)}"
    client.post(other_year, data={"csrf_token": token, "plan": plan})
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 2


def test_a_confirmed_registration_preview_is_shown_again_if_registrations_changed(client, world):
    h0, h1, _ = world["households"]
    result = recognition.import_registrations(
        b"household_code,village_code\nRV-H0,RV-V1\nRV-H1,RV-V1\n",
        "ds.csv",
        commune=world["commune"],
        title="family",
        year=YEAR,
        user=world["manager"],
        dry_run=True,
    )
    assert result.preview["counts"] == {"registrations": {"created": 2, "updated": 0, "unchanged": 0}}
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0
    recognition.register(title="family", year=YEAR, subject_ids=[h1.id], user=world["manager"])  # meanwhile

    again = recognition.apply_registration_rows(
        result.rows,
        commune=world["commune"],
        title="family",
        year=YEAR,
        user=world["manager"],
        expected_digest=result.digest,
    )
    assert again.outdated
    assert again.preview["counts"]["registrations"] == {"created": 1, "updated": 0, "unchanged": 1}
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 1
    done = recognition.apply_registration_rows(
        again.rows,
        commune=world["commune"],
        title="family",
        year=YEAR,
        user=world["manager"],
        expected_digest=again.digest,
    )
    assert (done.outdated, done.created, done.already) == (False, [h0.id], [h1.id])


def test_a_csv_cell_over_128_kib_is_refused_with_what_to_fix(client, world):
    login(client, world["manager"])
    url = f"/titles/registrations/import?{_context(world)}"
    token = csrf_token(client, url)
    content = b'household_code,village_code\nRV-H0,"RV-V1\n' + b"x" * (130 * 1024) + b"\n"  # a quote never closed
    response = client.post(
        url, data={"csrf_token": token, "file": (io.BytesIO(content), "ds.csv")}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "hãy đóng mọi dấu ngoặc kép" in response.get_data(as_text=True)  # what to fix, in Vietnamese
    assert db.session.scalar(select(func.count()).select_from(Registration)) == 0


def test_a_long_workbook_is_read_only_to_the_row_limit(world, monkeypatch):
    from openpyxl import Workbook

    monkeypatch.setattr(recognition, "MAX_ITEMS", 10)
    book = Workbook()
    sheet = book.active
    sheet.append(["household_code", "village_code"])
    for i in range(200):
        sheet.append([f"RV-X{i}", "RV-V1"])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(recognition.ImportRejected) as refused:
        recognition.import_registrations(
            buffer.getvalue(), "ds.xlsx", commune=world["commune"], title="family", year=YEAR, user=world["manager"]
        )
    # Refused at the first row past the limit (row 12: the header and ten rows before it), not after all 200.
    assert refused.value.errors[0]["row"] == 12
    assert "more than 10 data rows" in refused.value.errors[0]["message"]


def test_another_communes_context_is_a_404(client, world):
    login(client, world["leader"])
    other = unit_by_code("23302")
    for path in (
        "/titles/registrations",
        "/titles/registrations/new",
        "/titles/recognitions/propose",
        "/titles/recognitions/decide",
    ):
        assert client.get(f"{path}?commune_id={other.id}&year={YEAR}").status_code == 404, path


def test_role_by_action(client, world):
    """Centre managers register but neither propose nor decide; commune leaders do all three; province leaders
    only look (and decide what the province decides)."""
    _, kon_tum = approvals.places([world["commune"].id])[world["commune"].id]
    province = make_user(Role.PROVINCE_LEADER, kon_tum, "rv-province@example.vn")
    db.session.commit()
    world = {**world, "province": province}
    expect = {"manager": (200, 403, 403), "leader": (200, 200, 200), "province": (403, 403, 200)}
    for who, (register, propose, decide) in expect.items():
        login(client, world[who])
        assert client.get(f"/titles/registrations?{_context(world)}").status_code == 200
        assert client.get(f"/titles/registrations/new?{_context(world)}").status_code == register
        assert client.get(f"/titles/recognitions/propose?{_context(world)}").status_code == propose
        assert client.get(f"/titles/recognitions/decide?{_context(world)}").status_code == decide
        client.post("/logout", data={"csrf_token": csrf_token(client, "/titles/recognitions")})


def _propose_and_decide(client, world) -> Recognition:
    login(client, world["leader"])
    url = f"/titles/recognitions/propose?{_context(world)}"
    page = client.get(url).get_data(as_text=True)
    eligible, _, _not_eligible = world["households"]
    assert "Nguyễn Văn Hộ0" in page
    assert "Nguyễn Văn Hộ2" not in page
    token = csrf_token(client, url)
    # The selection is shown for confirmation first, and nothing is written until it is confirmed.
    preview = client.post(url, data={"csrf_token": token, "ids": [eligible.id]})
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    assert 'id="confirm-proposal"' in text
    assert "Nguyễn Văn Hộ0" in text[text.index('id="confirm-list"') :]
    assert "không rút lại được" in text
    assert _checked(text, eligible.id)
    assert db.session.scalar(select(func.count()).select_from(Recognition)) == 0
    confirmed = client.post(url, data={"csrf_token": token, "ids": [eligible.id], **confirmation(text)})
    assert confirmed.status_code == 302
    assert "Nguyễn Văn Hộ0" not in client.get(url).get_data(as_text=True)  # proposed: off the checklist
    row = db.session.scalar(select(Recognition).where(Recognition.subject_id == eligible.id))
    decide = f"/titles/recognitions/decide?{_context(world)}"
    page = client.get(decide).get_data(as_text=True)
    assert "Chủ tịch UBND" in page  # the authority is prefilled from the approvals configuration
    decision = {
        "csrf_token": token,
        "ids": [row.id],
        "action": "recognise",
        "decision_number": " 12/QĐ-UBND ",
        "decision_date": "2026-01-15",
        "authority": "Chủ tịch UBND xã Thử",
    }
    # The decision is shown for confirmation (number, date, who), and nothing is recorded until it is confirmed.
    preview = client.post(decide, data=decision)
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    confirm = text[text.index('id="confirm-decision"') :]
    assert "Ghi nhận Quyết định số 12/QĐ-UBND ngày 15/01/2026 công nhận 1 đối tượng sau?" in confirm
    assert "Nguyễn Văn Hộ0" in confirm[confirm.index('id="confirm-list"') :]
    assert "Quyết định đứng tên (in trên mọi giấy công nhận): Chủ tịch UBND xã Thử</p>" in confirm
    assert _checked(text, row.id)
    db.session.expire_all()
    assert db.session.get(Recognition, row.id).status == "proposed"
    response = client.post(decide, data={**decision, **confirmation(text)})
    assert response.status_code == 302
    db.session.expire_all()
    return db.session.get(Recognition, row.id)


def test_a_confirmation_writes_only_what_it_showed(client, world):
    """The confirmation button sits under a form still open to change: a selection or a decision number changed after
    the confirmation was shown is shown again, not written unseen."""
    login(client, world["leader"])
    url = f"/titles/recognitions/propose?{_context(world)}"
    eligible, other, _not_eligible = world["households"]
    token = csrf_token(client, url)
    shown = client.post(url, data={"csrf_token": token, "ids": [eligible.id]}).get_data(as_text=True)
    # A second box ticked after the confirmation of one: nothing is written, the two are shown for confirmation.
    again = client.post(
        url, data={"csrf_token": token, "ids": [eligible.id, other.id], "confirmed": confirm_value(shown)}
    )
    assert again.status_code == 200
    assert 'id="confirm-proposal"' in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Recognition)) == 0
    client.post(url, data={"csrf_token": token, "ids": [eligible.id], **confirmation(shown)})
    row = db.session.scalar(select(Recognition).where(Recognition.subject_id == eligible.id))
    assert row is not None
    decide = f"/titles/recognitions/decide?{_context(world)}"
    decision = {
        "csrf_token": token,
        "ids": [row.id],
        "action": "recognise",
        "decision_number": "12/QĐ-UBND",
        "decision_date": "2026-01-15",
        "authority": "Chủ tịch UBND xã Thử",
    }
    shown = client.post(decide, data=decision).get_data(as_text=True)
    # The number corrected after "Record decision 12/QĐ-UBND …?" was shown: shown again with 13, not recorded.
    again = client.post(decide, data={**decision, "decision_number": "13/QĐ-UBND", "confirmed": confirm_value(shown)})
    assert again.status_code == 200
    assert "13/QĐ-UBND" in again.get_data(as_text=True)[again.get_data(as_text=True).index('id="confirm-decision"') :]
    db.session.expire_all()
    assert db.session.get(Recognition, row.id).status == "proposed"


def test_propose_decide_and_the_recognition_page(client, world):
    row = _propose_and_decide(client, world)
    assert row.status == "recognised"
    assert row.decision_number == "12/QĐ-UBND"
    page = client.get(f"/titles/recognitions/{row.id}").get_data(as_text=True)
    assert 'data-status="recognised"' in page
    assert "12/QĐ-UBND" in page
    # The snapshot of why, in words (English until the engine's phrases are translated).
    assert "3 learning activities" in page or "3 hoạt động học tập" in page
    assert row.certificate_code in page
    # A one-year title: what it counts for (2025), and that its certificate, decided in 2026, does not lapse.
    assert "Chỉ năm 2025 (danh hiệu một năm); giấy công nhận không có thời hạn." in page
    assert "đã hết hạn" not in page
    listing = client.get(f"/titles/recognitions?unit_id={world['commune'].id}&status=recognised")
    assert "Nguyễn Văn Hộ0" in listing.get_data(as_text=True)


def test_deciding_again_is_a_flash_not_an_error(client, world):
    row = _propose_and_decide(client, world)
    decide = f"/titles/recognitions/decide?{_context(world)}"
    token = csrf_token(client, decide)
    response = client.post(
        decide,
        data={
            "csrf_token": token,
            "ids": [row.id],
            "action": "recognise",
            "decision_number": "13/QĐ",
            "decision_date": "2026-01-16",
        },
    )
    assert response.status_code == 409  # the page again, with the message (no longer a redirect)
    assert "không thể chuyển sang “đã công nhận”" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Recognition, row.id).decision_number == "12/QĐ-UBND"


def _checked(page: str, value: int) -> bool:
    tag = re.search(rf'<input[^>]*name="ids" value="{value}"[^>]*>', page)
    assert tag is not None, f"no checkbox for {value}"
    return " checked" in tag.group(0)


def test_a_decision_refused_keeps_the_ticks_and_what_was_typed(client, world):
    """Without a date the decision is refused: the page comes back with the same boxes ticked and the number kept,
    so pressing again after typing the date records it (it used to come back with nothing ticked)."""
    login(client, world["leader"])
    ids = recognition.propose(
        title="family", year=YEAR, subject_ids=[h.id for h in world["households"][:2]], user=world["leader"]
    )
    db.session.commit()
    decide = f"/titles/recognitions/decide?{_context(world)}"
    token = csrf_token(client, decide)
    data = {"csrf_token": token, "ids": ids, "action": "recognise", "decision_number": "7/QĐ-UBND"}
    response = client.post(decide, data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Cần có ngày quyết định để công nhận." in page
    assert all(_checked(page, rid) for rid in ids)
    assert 'value="7/QĐ-UBND"' in page
    assert not _checked(client.get(decide).get_data(as_text=True), ids[0])  # a fresh page ticks nothing

    # A refusal of the service (one of the two decided meanwhile): the one still waiting stays ticked.
    recognition.reject([ids[0]], reason="Thiếu hồ sơ", user=world["leader"])
    db.session.commit()
    response = client.post(decide, data={**data, "decision_date": "2026-01-20"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert f'value="{ids[0]}"' not in page
    assert _checked(page, ids[1])
    assert 'value="7/QĐ-UBND"' in page
    assert 'value="2026-01-20"' in page
    db.session.expire_all()
    assert db.session.get(Recognition, ids[1]).status == "proposed"


def _decision_previewed(client, world, **changed):
    """Two proposals, and the leader's preview of one decision recognising both: (ids, the form, the page)."""
    login(client, world["leader"])
    ids = recognition.propose(
        title="family", year=YEAR, subject_ids=[h.id for h in world["households"][:2]], user=world["leader"]
    )
    db.session.commit()
    decide = f"/titles/recognitions/decide?{_context(world)}"
    decision = {
        "csrf_token": csrf_token(client, decide),
        "ids": ids,
        "action": "recognise",
        "decision_number": "8/QĐ-UBND",
        "decision_date": "2026-01-20",
        "authority": "Chủ tịch UBND xã Thử",
        **changed,
    }
    preview = client.post(decide, data=decision)
    assert preview.status_code == 200
    assert "công nhận 2 đối tượng sau?" in preview.get_data(as_text=True)
    return ids, decision, preview.get_data(as_text=True)


def test_a_decision_confirmed_after_one_of_its_proposals_was_decided_elsewhere_is_shown_again(client, world):
    """The preview showed two proposals; another approver rejected one before the confirmation: nothing is recorded,
    the page says why in Vietnamese (409) and shows the new preview, of the one still waiting, to confirm anew."""
    ids, decision, shown = _decision_previewed(client, world)
    decide = f"/titles/recognitions/decide?{_context(world)}"
    recognition.reject([ids[0]], reason="Thiếu hồ sơ", user=world["leader"])
    db.session.commit()
    stale = client.post(decide, data={**decision, **confirmation(shown)})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "có thể người khác vừa quyết định" in page
    box = page[page.index('id="confirm-decision"') : page.index('id="proposals"')]
    assert "công nhận 1 đối tượng sau?" in box
    assert "Nguyễn Văn Hộ1" in box
    assert "Nguyễn Văn Hộ0" not in box
    db.session.expire_all()
    assert db.session.get(Recognition, ids[1]).status == "proposed"  # nothing recorded unseen
    done = client.post(decide, data={**decision, "ids": [ids[1]], **confirmation(page)})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(Recognition, ids[1]).decision_number == "8/QĐ-UBND"


def test_a_decision_that_would_record_another_authority_than_its_preview_is_shown_again(client, world):
    """The authority left empty is the approvals' own, which names the commune: renamed between the preview and the
    confirmation, the decision would print another name than the one previewed. The confirmation carries the
    preview's digest (the API's ``preview_digest``), compared under the locks: a 409 with the new preview."""
    ids, decision, shown = _decision_previewed(client, world, authority="")
    assert 'name="authority" type="text" value=""' in shown  # not filled in behind the approver's back
    decide = f"/titles/recognitions/decide?{_context(world)}"
    before = world["commune"].name
    world["commune"].name = "Thử Mới"
    db.session.commit()
    stale = client.post(decide, data={**decision, **confirmation(shown)})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "Quyết định này nay sẽ ghi khác với những gì đã xem trước" in page
    assert "công nhận 2 đối tượng sau?" in page[page.index('id="confirm-decision"') :]
    # Who it is decided in the name of is shown in the box before it is confirmed, then and now (fold's finding).
    printed = "Quyết định đứng tên (in trên mọi giấy công nhận): "
    assert printed + f"Chủ tịch UBND phường {before}</p>" in shown[shown.index('id="confirm-authority"') :]
    assert printed + "Chủ tịch UBND phường Thử Mới</p>" in page[page.index('id="confirm-authority"') :]
    db.session.expire_all()
    assert {db.session.get(Recognition, i).status for i in ids} == {"proposed"}
    assert confirmation(page)["preview_digest"] != confirmation(shown)["preview_digest"]
    done = client.post(decide, data={**decision, **confirmation(page)})
    assert done.status_code == 302
    db.session.expire_all()
    assert {db.session.get(Recognition, i).authority for i in ids} == {"Chủ tịch UBND phường Thử Mới"}


def test_a_proposal_confirmed_after_the_engine_changed_a_score_is_shown_again_with_what_changed(client, world):
    """The proposal copies each subject's evaluation (score, level, breakdown): the engine run again between the
    preview and the confirmation would copy another one than was shown. The confirmation carries the digest of
    the evaluations shown, as a decision's does: a change in between is refused (409), saying whose evaluation
    changed and how, with the new preview to confirm."""
    from lms.titles.models import Eligibility

    login(client, world["leader"])
    url = f"/titles/recognitions/propose?{_context(world)}"
    token = csrf_token(client, url)
    eligible, other, _not_eligible = world["households"]
    shown = client.post(url, data={"csrf_token": token, "ids": [eligible.id, other.id]}).get_data(as_text=True)
    assert 'name="preview_digest"' in shown[shown.index('id="confirm-proposal"') :]
    # The engine runs again: Nguyễn Văn Hộ1's score changes (and what it was computed from).
    db.session.execute(
        update(Eligibility)
        .where(Eligibility.subject_id == other.id, Eligibility.title == "family")
        .values(score=78, inputs_digest="recomputed")
    )
    db.session.commit()
    stale = client.post(url, data={"csrf_token": token, "ids": [eligible.id, other.id], **confirmation(shown)})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Recognition)) == 0
    assert "Đánh giá đã thay đổi kể từ khi danh sách được hiển thị" in page
    warning = page[page.index("Đánh giá đã thay đổi") :].split("</div>")[0]
    assert "Nguyễn Văn Hộ1" in warning
    assert "nay đạt 78 điểm" in warning
    assert "Nguyễn Văn Hộ0" not in warning
    assert 'id="confirm-proposal"' in page  # the new preview, to look at and confirm
    assert confirmation(page)["preview_digest"] != confirmation(shown)["preview_digest"]
    done = client.post(url, data={"csrf_token": token, "ids": [eligible.id, other.id], **confirmation(page)})
    assert done.status_code == 302
    copied = db.session.scalar(select(Recognition.score).where(Recognition.subject_id == other.id))
    assert copied == 78


def test_a_proposal_refused_keeps_the_ticks(client, world):
    login(client, world["leader"])
    url = f"/titles/recognitions/propose?{_context(world)}"
    token = csrf_token(client, url)
    eligible, other, not_eligible = world["households"]
    response = client.post(url, data={"csrf_token": token, "ids": [eligible.id, other.id, not_eligible.id]})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _checked(page, eligible.id)
    assert _checked(page, other.id)
    assert db.session.scalar(select(func.count()).select_from(Recognition)) == 0


def test_a_province_leader_is_shown_what_they_decide_and_where_proposals_wait(client, world):
    """The reviewer's case: "Quyết định công nhận" opened on Learning Family (which a commune decides) with 198
    communes, 102 of them dissolved, and nothing saying where proposals waited. The leader now sees the titles
    they decide, the communes with proposals waiting (counted), lands on the one that has some, and is offered no
    dissolved commune where nothing waits."""
    from lms.registry.models import Organisation
    from lms.titles.models import Title

    commune, leader = world["commune"], world["leader"]
    unit_set = criteria_set(Title.UNIT, validity_years=3)
    school = Organisation(
        commune_id=commune.id, code="RV-THPT", name="Trường THPT Thử", kind="school", managing_level="province"
    )
    shop = Organisation(commune_id=commune.id, code="RV-HTX", name="Hợp tác xã Thử", kind="enterprise")
    db.session.add_all([school, shop])
    db.session.flush()
    for organisation in (school, shop):
        eligibility(unit_set, organisation.id, commune.id, YEAR)
    recognition.propose(title="unit", year=YEAR, subject_ids=[school.id, shop.id], user=leader)
    recognition.propose(title="family", year=YEAR, subject_ids=[world["households"][0].id], user=leader)
    _, province = approvals.places([commune.id])[commune.id]
    province_leader = make_user(Role.PROVINCE_LEADER, province, "rv-province@example.vn")
    db.session.commit()

    login(client, province_leader)
    response = client.get("/titles/recognitions/decide")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Bạn quyết định: Đơn vị học tập, Cộng đồng học tập cấp xã" in page
    assert "Đơn vị học tập năm 2025: 1 hồ sơ chờ quyết định" in page  # the school; the cooperative is the commune's
    titles = page.split('name="title"')[1].split("</select>")[0]
    assert 'value="family"' not in titles
    assert re.search(r'value="unit"\s*selected', titles)
    communes = page.split('name="commune_id"')[1].split("</select>")[0]
    selected = re.search(r'<option value="(\d+)" selected>([^<]*)</option>', communes)
    assert selected is not None
    assert int(selected.group(1)) == commune.id
    assert "1 hồ sơ chờ" in selected.group(2)
    dissolved = [o for o in re.findall(r"<option[^>]*>([^<]*)</option>", communes) if "(đến " in o]
    assert dissolved in ([], [selected.group(2)])  # only where something waits
    listed = page.split('id="proposals"')[1]
    assert "Trường THPT Thử" in listed
    assert "Hợp tác xã Thử" not in listed
    assert "1 hồ sơ khác ở đây do cấp khác quyết định." in listed
    assert "Nguyễn Văn Hộ0" not in listed

    # The commune leader lands on what they decide: the family and the cooperative, not the school.
    client.post("/logout", data={"csrf_token": csrf_token(client, "/titles/recognitions")})
    login(client, leader)
    page = client.get("/titles/recognitions/decide").get_data(as_text=True)
    assert "Cộng đồng học tập cấp xã" not in page.split('name="title"')[1].split("</select>")[0]
    assert "Gia đình học tập năm 2025: 1 hồ sơ chờ quyết định" in page
    assert "Đơn vị học tập năm 2025: 1 hồ sơ chờ quyết định" in page


def test_reject_needs_a_reason(client, world):
    login(client, world["leader"])
    (rid,) = recognition.propose(
        title="family", year=YEAR, subject_ids=[world["households"][1].id], user=world["leader"]
    )
    db.session.commit()
    decide = f"/titles/recognitions/decide?{_context(world)}"
    token = csrf_token(client, decide)
    assert client.post(decide, data={"csrf_token": token, "ids": [rid], "action": "reject"}).status_code == 422
    # A rejection is final for the year: whom and why are shown for confirmation, and nothing is written before.
    rejection = {"csrf_token": token, "ids": [rid], "action": "reject", "reason": "Thiếu hồ sơ <b>minh chứng</b>"}
    preview = client.post(decide, data=rejection)
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    confirm = text[text.index('id="confirm-rejection"') :]
    confirm = confirm[: confirm.index("</div>")]
    assert "Không công nhận 1 hồ sơ đề nghị sau?" in confirm
    assert "không được đề nghị lại trong năm nay" in confirm
    assert "“Thiếu hồ sơ &lt;b&gt;minh chứng&lt;/b&gt;”" in confirm  # the reason as typed, escaped
    assert "Nguyễn Văn Hộ1" in confirm[confirm.index('id="confirm-list"') :]
    db.session.expire_all()
    assert db.session.get(Recognition, rid).status == "proposed"
    # A reason changed after the confirmation was shown is shown again, not written unseen.
    changed = client.post(decide, data={**rejection, "reason": "Khác", "confirmed": confirm_value(text)})
    assert changed.status_code == 200
    assert 'id="confirm-rejection"' in changed.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Recognition, rid).status == "proposed"
    response = client.post(decide, data={**rejection, "confirmed": confirm_value(text)})
    assert response.status_code == 302
    db.session.expire_all()
    row = db.session.get(Recognition, rid)
    assert (row.status, row.reason) == ("rejected", "Thiếu hồ sơ <b>minh chứng</b>")


def test_a_certificate_is_drawn_after_its_writes_are_committed(client, world, monkeypatch):
    """The certificate's credential and audit event are committed before the page is drawn (the drawing holds no
    write lock), as a decision's print does."""
    from lms.titles import documents

    row = _propose_and_decide(client, world)
    drawn_in_transaction = []
    draw = documents.certificate_pdf

    def spy(data):
        drawn_in_transaction.append(db.session().in_transaction())
        return draw(data)

    monkeypatch.setattr(documents, "certificate_pdf", spy)
    response = client.get(f"/titles/recognitions/{row.id}/certificate.pdf")
    assert response.status_code == 200
    assert drawn_in_transaction == [False]


def test_certificate_pdf_and_the_public_page(client, world):
    row = _propose_and_decide(client, world)
    response = client.get(f"/titles/recognitions/{row.id}/certificate.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    content = response.get_data()
    text = _pdf_text(content)
    assert "GIẤY CÔNG NHẬN" in text
    assert "GIA ĐÌNH HỌC TẬP” NĂM 2025" in text
    assert "Nguyễn Văn Hộ0" in text
    assert "12/QĐ-UBND" in text
    assert "31/12/2025" not in text  # a one-year title's certificate does not lapse (ADR 17)
    assert "không thời hạn" in text
    assert row.certificate_code in text
    url = _decode_qr(content)
    assert url.endswith(f"/titles/verify/{row.certificate_code}")
    assert (
        db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "recognition.certificate")
        )
        == 1
    )

    client.post("/logout", data={"csrf_token": csrf_token(client, "/titles/recognitions")})
    public = client.get(f"/titles/verify/{row.certificate_code.lower().replace('-', '')}")
    assert public.status_code == 200
    page = public.get_data(as_text=True)
    assert "Hộ N. V. Hộ0" in page  # initials only
    assert "Nguyễn Văn" not in page
    assert "RV-H0" not in page  # not even the household code
    assert "Gia đình học tập" in page
    assert "2025" in page
    assert world["commune"].name in page
    assert public.headers["X-Robots-Tag"] == "noindex"
    # A one-year title of 2025 is still a title of 2025 today: the page says it is valid and does not expire.
    assert 'data-status="valid"' in page
    assert "Không thời hạn: ghi nhận danh hiệu đạt được trong năm 2025." in page
    assert client.get("/titles/verify/ABCD-EFGH-JKLM").status_code == 404
    assert client.get(f"/titles/verify?code={row.certificate_code}").status_code == 302


def test_revoke_from_the_recognition_page(client, world):
    row = _propose_and_decide(client, world)
    page_url = f"/titles/recognitions/{row.id}"
    token = csrf_token(client, page_url)
    assert client.post(f"{page_url}/revoke", data={"csrf_token": token, "reason": ""}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Recognition, row.id).status == "recognised"  # no reason, no revocation
    client.post(f"{page_url}/revoke", data={"csrf_token": token, "reason": "Quyết định bị hủy"})
    db.session.expire_all()
    assert db.session.get(Recognition, row.id).status == "revoked"
    gone = client.get(f"{page_url}/certificate.pdf")
    assert gone.status_code == 410
    text = gone.get_data(as_text=True)
    assert "trạng thái đã thu hồi" in text  # the status in words, never its code
    assert "revoked" not in text
    public = client.get(f"/titles/verify/{row.certificate_code}").get_data(as_text=True)
    assert 'data-status="revoked"' in public
    history = client.get(page_url).get_data(as_text=True)
    assert "Quyết định bị hủy" in history
    # The history speaks Vietnamese, not the audit trail's action names.
    listed = history[history.index('id="history"') :]
    listed = listed[: listed.index("</ul>")]
    for said in ("Đề nghị công nhận", "Đã công nhận", "Thu hồi công nhận"):
        assert said in listed
    for code in ("propose", "recognise", "revoke", "certificate"):
        assert f"· {code}" not in listed


def test_pages_are_vietnamese(client, world):
    login(client, world["leader"])
    page = client.get(f"/titles/recognitions/propose?{_context(world)}").get_data(as_text=True)
    assert "Đề nghị công nhận" in page  # the legal term (Circulars 24 and 25/2023), never "đề xuất"
    assert "Đề xuất" not in page


def test_the_proposal_page_opens_on_the_leaders_commune_and_the_evaluation_year(client, world):
    """No query string, as from the menu: the commune the role is held on (not the communes it replaced in 2025)
    and the latest evaluated year are chosen, so the eligible households are listed at once."""
    latest = YEAR + 1
    family = db.session.scalar(select(CriteriaSet).where(CriteriaSet.code == "test-family"))
    eligibility(family, world["households"][2].id, world["commune"].id, latest, village_id=world["village"].id)
    db.session.commit()
    login(client, world["leader"])
    page = client.get("/titles/recognitions/propose").get_data(as_text=True)
    assert f'<option value="{world["commune"].id}" selected>' in page
    assert f'name="year" min="2000" max="2100" value="{latest}"' in page
    assert "Nguyễn Văn Hộ2" in page
    decide = client.get("/titles/recognitions/decide").get_data(as_text=True)
    assert f'<option value="{world["commune"].id}" selected>' in decide


def test_the_proposal_list_tells_apart_two_citizens_of_the_same_name(client, world):
    """Two "Nguyễn Thị Tuyết" of one commune: the list shows each one's birth date and village, as the eligibility
    list does, so the leader proposes the right one."""
    from datetime import date

    from tests.titles.test_engine import person

    other_village = make_village(world["commune"], "RV-V2", "Thôn Plei Đông")
    citizen = criteria_set(Title.CITIZEN)
    first = person(world["village"], "Nguyễn Thị Tuyết", born=date(1994, 3, 2))
    second = person(other_village, "Nguyễn Thị Tuyết", born=date(1991, 11, 20))
    for row, village in ((first, world["village"]), (second, other_village)):
        eligibility(citizen, row.id, world["commune"].id, YEAR, village_id=village.id)
    db.session.commit()
    login(client, world["leader"])
    page = client.get(f"/titles/recognitions/propose?{_context(world, title='citizen')}").get_data(as_text=True)
    assert page.count("Nguyễn Thị Tuyết") == 2
    details = re.findall(r'<span class="d-block small text-muted fw-normal subject-detail">([^<]*)</span>', page)
    assert any("02/03/1994" in d and "Kon Hra" in d for d in details), details
    assert any("20/11/1991" in d and "Plei Đông" in d for d in details), details


def test_the_proposal_list_names_a_household_by_its_head_never_its_code(client, world):
    """A leader knows a household by its head and village: the registry's code is neither in its name nor on the
    line below it (the village is)."""
    db.session.commit()
    login(client, world["leader"])
    page = client.get(f"/titles/recognitions/propose?{_context(world)}").get_data(as_text=True)
    for household in world["households"][:2]:
        assert page.count(household.code) == 0, household.code
    assert "Hộ Nguyễn Văn Hộ0" in page
    assert "Kon Hra" in page


def test_the_decision_preview_locks_no_row_only_the_write_does(client, world):
    """The confirmation step reads the proposals without locking them (F6): a lock taken there would be held while
    the page renders, and until the request ends, blocking the commune's other approvers. The write locks them."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    login(client, world["leader"])
    url = f"/titles/recognitions/propose?{_context(world)}"
    token = csrf_token(client, url)
    eligible = world["households"][0]
    shown = client.post(url, data={"csrf_token": token, "ids": [eligible.id]}).get_data(as_text=True)
    client.post(url, data={"csrf_token": token, "ids": [eligible.id], **confirmation(shown)})
    row = db.session.scalar(select(Recognition).where(Recognition.subject_id == eligible.id))
    locking: list[str] = []

    def spy(state) -> None:
        if getattr(state.statement, "_for_update_arg", None) is not None:
            locking.append(str(state.statement))

    decide = f"/titles/recognitions/decide?{_context(world)}"
    decision = {
        "csrf_token": token,
        "ids": [row.id],
        "action": "recognise",
        "decision_number": "12/QĐ-UBND",
        "decision_date": "2026-01-15",
        "authority": "Chủ tịch UBND xã Thử",
    }
    event.listen(Session, "do_orm_execute", spy)
    try:
        preview = client.post(decide, data=decision)
        assert preview.status_code == 200
        assert 'id="confirm-decision"' in preview.get_data(as_text=True)
        assert locking == []
        response = client.post(decide, data={**decision, **confirmation(preview.get_data(as_text=True))})
        assert response.status_code == 302
        assert any("recognition" in statement for statement in locking)  # the write itself locks
    finally:
        event.remove(Session, "do_orm_execute", spy)


def test_the_decisions_list_heads_each_decision_with_its_level(client, world):
    """A decision is known by who took it: "Quyết định cấp xã số … ngày …" (a family: the commune People's
    Committee), with the authority written on it below."""
    _propose_and_decide(client, world)
    page = client.get("/titles/recognitions").get_data(as_text=True)
    decisions = page[page.index('id="decisions"') : page.index("</section>", page.index('id="decisions"'))]
    headings = re.findall(r'<span class="decision-heading">([^<]*)</span>', decisions)
    assert headings == ["Quyết định cấp xã số 12/QĐ-UBND ngày 15/01/2026"]
    assert "Chủ tịch UBND xã Thử" in decisions


def test_printing_a_decision_takes_as_many_statements_for_20_certificates_as_for_2(
    app, client, world, count_queries, monkeypatch
):
    """The decision's list and every certificate it gives are read set-wise: subjects, places, criteria, title names
    and the signed credentials (issued at the first print, together) in a fixed number of statements. (Printed in
    the request here, to count its statements: a decision of more than TITLES_PRINT_INLINE_MAX is a task, ADR 47.)"""
    from datetime import date

    monkeypatch.setitem(app.config, "TITLES_PRINT_INLINE_MAX", 100)
    from lms.credentials.models import IssuedCredential

    family = db.session.get(CriteriaSet, db.session.scalar(select(func.min(CriteriaSet.id))))
    leader = world["leader"]
    firsts = {}
    # A first decision printed before: the authority's issuer, its key and the status list then exist (made once).
    for size, number in ((1, "1/QĐ-UBND"), (2, "2/QĐ-UBND"), (20, "20/QĐ-UBND")):
        households = [make_household(world["village"], f"PR{size}-{i}", f"Trần Văn In{size}x{i}") for i in range(size)]
        for household in households:
            eligibility(family, household.id, world["commune"].id, YEAR, village_id=world["village"].id)
        proposed = recognition.propose(title="family", year=YEAR, subject_ids=[h.id for h in households], user=leader)
        rows = recognition.decide(
            proposed, decision_number=number, decision_date=date(2026, 1, 20), user=leader, authority=""
        )
        firsts[size] = rows[0].id
    db.session.commit()
    login(client, leader)
    counts: dict[tuple[int, str], int] = {}
    for size, first in firsts.items():
        for when in ("first print", "again"):
            with count_queries() as counter:
                response = client.get(f"/titles/recognitions/{first}/decision.pdf")
            assert response.status_code == 200
            assert response.mimetype == "application/pdf"
            counts[(size, when)] = counter.count
    assert counts[(2, "first print")] == counts[(20, "first print")], counts
    assert counts[(2, "again")] == counts[(20, "again")], counts
    # Every certificate got its credential at the first print, and the second print reused them.
    issued = db.session.scalar(select(func.count()).select_from(IssuedCredential))
    assert issued == 23
    assert len(_pdf_text(response.data).split("GIẤY CÔNG NHẬN")) - 1 == 20


def _decided(world, size: int, number: str = "12/QĐ-UBND") -> list[Recognition]:
    from datetime import date

    family = db.session.get(CriteriaSet, db.session.scalar(select(func.min(CriteriaSet.id))))
    households = [make_household(world["village"], f"CD-{i}", f"Lê Văn Sửa{i}") for i in range(size)]
    for household in households:
        eligibility(family, household.id, world["commune"].id, YEAR, village_id=world["village"].id)
    proposed = recognition.propose(
        title="family", year=YEAR, subject_ids=[h.id for h in households], user=world["leader"]
    )
    rows = recognition.decide(proposed, decision_number=number, decision_date=date(2026, 1, 15), user=world["leader"])
    db.session.commit()
    return rows


def test_a_mistyped_decision_number_is_corrected_on_all_it_gave_after_a_confirmation(client, world):
    """The number typed 12 for 21: the approver corrects it from the recognition's page; the change (old → new, on
    how many recognitions) is shown first, then written on every recognition of the decision, each audited with who,
    the old and new values and the reason; the credentials naming the old number are revoked."""
    from datetime import date

    from lms.credentials.models import IssuedCredential

    rows = _decided(world, 2)
    login(client, world["leader"])
    assert client.get(f"/titles/recognitions/{rows[0].id}/certificate.pdf").status_code == 200  # issues a credential
    page = client.get(f"/titles/recognitions/{rows[0].id}").get_data(as_text=True)
    assert 'id="correct-decision-link"' in page
    url = f"/titles/recognitions/{rows[0].id}/decision/correct"
    form = client.get(url).get_data(as_text=True)
    assert 'value="12/QĐ-UBND"' in form
    token = csrf_token(client, url)
    asked = {
        "csrf_token": token,
        "decision_number": "21/QĐ-UBND",
        "decision_date": "2026-01-15",
        "reason": "Gõ nhầm số khi ghi nhận",
    }
    preview = client.post(url, data=asked)
    assert preview.status_code == 200
    text = preview.get_data(as_text=True)
    confirm = text[text.index('id="confirm-correction"') :]
    assert "Sửa quyết định cho 2 trường hợp công nhận?" in confirm
    change = re.sub(r"<[^>]*>", " ", confirm[confirm.index('id="correction-change"') : confirm.index("</dl>")])
    assert "Quyết định số 12/QĐ-UBND ngày 15/01/2026" in " ".join(change.split())
    assert "Quyết định số 21/QĐ-UBND ngày 15/01/2026" in " ".join(change.split())
    db.session.expire_all()
    assert {db.session.get(Recognition, r.id).decision_number for r in rows} == {"12/QĐ-UBND"}  # nothing written yet
    done = client.post(url, data={**asked, "confirmed": confirm_value(text)})
    assert done.status_code == 302
    db.session.expire_all()
    assert {db.session.get(Recognition, r.id).decision_number for r in rows} == {"21/QĐ-UBND"}
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "recognition.correct_decision")).all()
    assert sorted(int(e.object_id) for e in events) == sorted(r.id for r in rows)
    assert all(e.user_id == world["leader"].id for e in events)
    assert events[0].details == {
        "old_number": "12/QĐ-UBND",
        "old_date": "2026-01-15",
        "decision_number": "21/QĐ-UBND",
        "decision_date": "2026-01-15",
        "reason": "Gõ nhầm số khi ghi nhận",
    }
    credentials = db.session.scalars(select(IssuedCredential)).all()
    assert credentials
    assert all(c.revoked_at is not None for c in credentials)
    history = client.get(f"/titles/recognitions/{rows[0].id}").get_data(as_text=True)
    assert "Đã sửa số hoặc ngày quyết định" in history
    # The date is checked as a decision's: not before the year evaluated.
    early = client.post(url, data={**asked, "decision_number": "22/QĐ-UBND", "decision_date": "2024-12-31"})
    assert early.status_code == 422
    db.session.expire_all()
    assert db.session.get(Recognition, rows[0].id).decision_date == date(2026, 1, 15)


def test_a_recognition_decided_under_the_decision_after_the_preview_is_not_corrected_unseen(client, world):
    """The page's confirmation binds the recognitions the correction reaches, as the API's does: a household decided
    under the same decision after the preview was shown makes the confirmation out of date (409, the new preview
    with its three recognitions), and nothing is written."""
    from datetime import date

    rows = _decided(world, 2)
    login(client, world["leader"])
    url = f"/titles/recognitions/{rows[0].id}/decision/correct"
    asked = {
        "csrf_token": csrf_token(client, url),
        "decision_number": "21/QĐ-UBND",
        "decision_date": "2026-01-15",
        "reason": "Gõ nhầm số khi ghi nhận",
    }
    shown = confirm_value(client.post(url, data=asked).get_data(as_text=True))
    # Meanwhile a third household is decided under the same decision.
    family = db.session.get(CriteriaSet, db.session.scalar(select(func.min(CriteriaSet.id))))
    late = make_household(world["village"], "CD-LATE", "Lê Văn Muộn")
    eligibility(family, late.id, world["commune"].id, YEAR, village_id=world["village"].id)
    proposed = recognition.propose(title="family", year=YEAR, subject_ids=[late.id], user=world["leader"])
    recognition.decide(proposed, decision_number="12/QĐ-UBND", decision_date=date(2026, 1, 15), user=world["leader"])
    db.session.commit()
    stale = client.post(url, data={**asked, "confirmed": shown})
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert "Việc sửa này nay thay đổi khác với những gì đã xem trước" in text
    assert "Sửa quyết định cho 3 trường hợp công nhận?" in text
    assert "Lê Văn Muộn" in text
    db.session.expire_all()
    numbers = set(db.session.scalars(select(Recognition.decision_number).where(Recognition.status == "recognised")))
    assert numbers == {"12/QĐ-UBND"}  # nothing written
    # Confirmed for what is shown now, it reaches all three.
    done = client.post(url, data={**asked, "confirmed": confirm_value(text)})
    assert done.status_code == 302
    db.session.expire_all()
    numbers = set(db.session.scalars(select(Recognition.decision_number).where(Recognition.status == "recognised")))
    assert numbers == {"21/QĐ-UBND"}


def test_who_may_correct_a_decision(client, world):
    """Only an approver of the body that decided, in the commune's scope: a centre manager may not, a leader of
    another commune does not see it."""
    rows = _decided(world, 1)
    other = make_user(Role.COMMUNE_LEADER, unit_by_code("23302"), "cd-other@example.vn")
    db.session.commit()
    url = f"/titles/recognitions/{rows[0].id}/decision/correct"
    login(client, world["manager"])
    assert client.get(url).status_code == 403
    assert 'id="correct-decision-link"' not in client.get(f"/titles/recognitions/{rows[0].id}").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/titles/recognitions")})
    login(client, other)
    assert client.get(url).status_code == 404


def test_a_decision_line_names_the_level_the_approvals_give_its_title(app_ctx, world):
    """A family is decided at commune level, the commune learning community at province level (approvals.toml): the
    decisions list reads it from the configuration, not from the title."""
    from datetime import date

    from lms.titles import documents

    commune = world["commune"]
    for title, subject_type, subject_id, number in (
        ("family", "household", world["households"][0].id, "5/QĐ-UBND"),
        ("commune_community", "commune", commune.id, "6/QĐ-SGDĐT"),
    ):
        db.session.add(
            Recognition(
                subject_type=subject_type,
                subject_id=subject_id,
                title=title,
                year=YEAR,
                commune_id=commune.id,
                status="recognised",
                decision_number=number,
                decision_date=date(2026, 2, 1),
                authority="Cơ quan thử",
                certificate_code=f"LV-{number[:1]}",
            )
        )
    db.session.flush()
    lines = {d.decision_number: d for d in documents.decisions_in(select(Recognition))}
    assert lines["5/QĐ-UBND"].level == "commune"
    assert lines["6/QĐ-SGDĐT"].level == "province"
    assert lines["6/QĐ-SGDĐT"].count == 1


def test_a_recorded_decision_offers_its_list_and_certificates_to_print(client, world):
    """The approver's next step after recording a decision is printing what goes with it: the message links the
    decision's list and certificates (not two menus away on the recognitions page)."""
    row = _propose_and_decide(client, world)
    page = client.get(f"/titles/recognitions/decide?{_context(world)}").get_data(as_text=True)
    message = page[page.index("alert-success") :]
    message = message[: message.index("</div>")]
    assert "Đã công nhận 1 đối tượng theo quyết định số 12/QĐ-UBND." in message
    link = re.search(r'<a class="alert-link" id="print-decision" href="([^"]+)">([^<]+)</a>', message)
    assert link is not None, message
    assert link.group(1) == f"/titles/recognitions/{row.id}/decision.pdf"
    assert link.group(2) == "In danh sách kèm theo quyết định và các giấy công nhận (PDF)"
    pdf = client.get(link.group(1))
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"


def test_the_decision_list_is_headed_and_closed_as_decree_30_has_it_and_its_certificates_are_unchanged(client, world):
    """The list printed with a decision (Decree 30/2020, Appendix I) is headed by the deciding body as the approvals
    configuration names it (the commune's People's Committee for a family), beside the national name and motto with
    the place and day of the decision; it ends with "Nơi nhận:" — the recognised, the committee's office, "Lưu: VT."
    — beside the signature "TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH". The certificates printed after it say word for word what
    the certificate printed alone says (their verification code and signed credential included)."""
    import subprocess

    def pages_of(pdf: bytes) -> list[str]:
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, check=True, capture_output=True).stdout
        return text.decode().split("\f")

    row = _propose_and_decide(client, world)
    content = client.get(f"/titles/recognitions/{row.id}/decision.pdf").data
    pages = pages_of(content)
    commune = world["commune"]
    place = f"{commune.kind[:1].lower()}{commune.kind[1:]} {commune.name}"
    listed = [" ".join(line.split()) for line in pages[0].splitlines() if line.strip()]
    assert listed[0] == "ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert listed[1] == f"{place.upper()} Độc lập - Tự do - Hạnh phúc"
    day = row.decision_date
    assert listed[2] == f"{commune.name}, ngày {day:%d} tháng {day:%m} năm {day.year}"
    assert listed[3].startswith("DANH SÁCH GIA ĐÌNH HỌC TẬP NĂM")
    assert listed[4].startswith("(Kèm theo Quyết định số 12/QĐ-UBND ngày")
    closing = listed.index("Nơi nhận: TM. ỦY BAN NHÂN DÂN")
    assert listed[closing + 1 : closing + 4] == [
        "- Gia đình có tên trong Danh sách; CHỦ TỊCH",
        f"- Văn phòng HĐND và UBND {place};",
        "- Lưu: VT.",
    ]
    single = client.get(f"/titles/recognitions/{row.id}/certificate.pdf").data
    assert pages[1] == pages_of(single)[0]
    # Drawn alike, the QR codes (the verification address and the signed credential) included: the same drawing
    # once the text is left out (compared above; its glyph codes are each file's font subset's own).
    from pypdf import PdfReader

    def drawing(pdf: bytes, index: int) -> bytes:
        return re.sub(rb"BT.*?ET", b"", PdfReader(io.BytesIO(pdf)).pages[index].get_contents().get_data(), flags=re.S)

    assert drawing(content, 1) == drawing(single, 0)


def test_a_recorded_decision_above_the_inline_limit_offers_to_print_not_a_pdf(app, client, world, monkeypatch):
    """Above TITLES_PRINT_INLINE_MAX the link leads to the print page (ADR 47): the message no longer says PDF."""
    monkeypatch.setitem(app.config, "TITLES_PRINT_INLINE_MAX", 0)
    row = _propose_and_decide(client, world)
    page = client.get(f"/titles/recognitions/decide?{_context(world)}").get_data(as_text=True)
    message = page[page.index("alert-success") :]
    link = re.search(r'<a class="alert-link" id="print-decision" href="([^"]+)">([^<]+)</a>', message)
    assert link is not None, message
    assert link.group(2) == "In danh sách kèm theo quyết định và các giấy công nhận"
    assert client.get(link.group(1)).headers["Location"].endswith(f"/titles/recognitions/{row.id}/decision/print")


def test_the_recognitions_filter_marks_the_communes_merged_in_2025(client, world):
    """The new Xã Đăk Hà's leader also sees the three communes merged into it: each is marked with its end date."""
    from tests.conftest import make_user, unit_by_code

    leader = make_user(Role.COMMUNE_LEADER, unit_by_code("23500"), "leader-dak-ha@example.vn")
    db.session.commit()
    login(client, leader)
    html = client.get("/titles/recognitions").get_data(as_text=True)
    options = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', html)
    assert options[0] == "Xã Đăk Hà"
    assert "Thị trấn Đăk Hà (đến 30/06/2025)" in options
    assert all(o == "Xã Đăk Hà" or "(đến 30/06/2025)" in o for o in options), options


def test_a_clan_is_printed_dong_ho_once(client, world):
    """Clans are registered as "Dòng họ Nguyễn thôn …" (the demo's, most imports') or "Họ Lê" or "Trần": each is
    listed "Dòng họ …" once, never "Dòng họ Dòng họ …" (the checklist, the lists, the decision and certificate)."""
    from lms.registry.models import Clan

    commune = world["commune"]
    for name in ("Dòng họ Nguyễn thôn Kon Hra", "Họ Lê", "Trần"):
        db.session.add(Clan(commune_id=commune.id, name=name))
    db.session.commit()
    login(client, world["leader"])
    page = client.get(f"/titles/registrations/new?{_context(world, title='clan')}").get_data(as_text=True)
    names = re.findall(
        r'<input class="form-check-input" type="checkbox" name="ids" value="\d+"> <span>([^<]+)</span></label>', page
    )
    assert sorted(names) == ["Dòng họ Lê", "Dòng họ Nguyễn thôn Kon Hra", "Dòng họ Trần"]
    assert recognition.clan_name("  dòng  họ Đinh ") == "dòng họ Đinh"


def test_a_corrected_decision_date_has_the_later_years_evaluated_again(client, world):
    """The engine reads a decision's date (a level-1 title's upgrade waits so many months from it, Circular 24 Art.
    5.3): a corrected date marks the commune's later years for evaluation; a corrected number alone marks nothing."""
    from datetime import date

    from lms.titles.models import EvaluationState

    rows = _decided(world, 1)
    commune_id = world["commune"].id
    db.session.query(EvaluationState).delete()
    db.session.commit()
    # Marked, then evaluated (the task runs at the commit in tests): the commune-years have their state row.
    marked = lambda: {(s.commune_id, s.year) for s in db.session.scalars(select(EvaluationState))}  # noqa: E731
    today = date(2027, 3, 1)
    common = {"reason": "Gõ nhầm", "user": world["leader"], "apply": True, "today": today}
    recognition.correct_decision(rows[0], decision_number="21/QĐ-UBND", decision_date=rows[0].decision_date, **common)
    db.session.commit()
    assert marked() == set()
    recognition.correct_decision(rows[0], decision_number="21/QĐ-UBND", decision_date=date(2026, 2, 3), **common)
    db.session.commit()
    assert marked() == {(commune_id, YEAR + 1), (commune_id, YEAR + 2)}
    # Written on the session without the service (a script, a shell), the date still makes the later years'
    # stored results stale for the next run (ADR 41): their inputs key is dropped at the commit.
    db.session.execute(
        update(EvaluationState).where(EvaluationState.commune_id == commune_id).values(inputs_key="as-evaluated")
    )
    db.session.commit()
    row = db.session.get(Recognition, rows[0].id)
    row.decision_date = date(2026, 2, 4)
    db.session.commit()
    keys = dict(
        db.session.execute(
            select(EvaluationState.year, EvaluationState.inputs_key).where(EvaluationState.commune_id == commune_id)
        ).all()
    )
    assert keys == {YEAR + 1: None, YEAR + 2: None}


def test_a_decision_corrected_by_someone_else_meanwhile_is_not_overwritten(world, monkeypatch):
    """Two approvers correct the same mistyped number: the second, whose rows were chosen by the old number before the
    first committed, finds them carrying the first's correction once locked — refused, not overwritten."""
    rows = _decided(world, 2)
    lock = recognition._lock

    def first_commits_meanwhile(ids, user, **kwargs):
        db.session.execute(
            update(Recognition)
            .where(Recognition.id.in_(ids))
            .values(decision_number="21/QĐ-UBND")
            .execution_options(synchronize_session=False)
        )
        return lock(ids, user, **kwargs)

    monkeypatch.setattr(recognition, "_lock", first_commits_meanwhile)
    with pytest.raises(recognition.TransitionConflict):
        recognition.correct_decision(
            rows[0],
            decision_number="31/QĐ-UBND",
            decision_date=rows[0].decision_date,
            reason="Gõ nhầm",
            user=world["leader"],
            apply=True,
        )


def test_a_rejection_confirmed_for_another_selection_is_shown_again(client, world):
    """The rejection's confirmation is for the proposals it listed: a box ticked after it was shown is listed and
    confirmed again, nothing rejected unseen."""
    login(client, world["leader"])
    first, second = recognition.propose(
        title="family", year=YEAR, subject_ids=[h.id for h in world["households"][:2]], user=world["leader"]
    )
    db.session.commit()
    decide = f"/titles/recognitions/decide?{_context(world)}"
    rejection = {"csrf_token": csrf_token(client, decide), "ids": [first], "action": "reject", "reason": "Thiếu"}
    text = client.post(decide, data=rejection).get_data(as_text=True)
    widened = client.post(decide, data={**rejection, "ids": [first, second], "confirmed": confirm_value(text)})
    assert widened.status_code == 200
    again = widened.get_data(as_text=True)
    assert "Không công nhận 2 hồ sơ đề nghị sau?" in again
    db.session.expire_all()
    assert {db.session.get(Recognition, i).status for i in (first, second)} == {"proposed"}
    assert (
        client.post(decide, data={**rejection, "ids": [first, second], "confirmed": confirm_value(again)}).status_code
        == 302
    )
    db.session.expire_all()
    assert {db.session.get(Recognition, i).status for i in (first, second)} == {"rejected"}


def test_a_clan_name_typed_decomposed_is_printed_whole():
    """ "Họ" typed with a combining dot (NFD, as some keyboards send it) is three code points: cut as the composed
    form is, it left a stray space and mark behind "Dòng họ"."""
    import unicodedata

    assert recognition.clan_name(unicodedata.normalize("NFD", "Họ Nguyễn")) == "Dòng họ Nguyễn"
    assert recognition.clan_name(unicodedata.normalize("NFD", "Dòng họ Lê thôn 2")) == "Dòng họ Lê thôn 2"
    assert recognition.clan_name("Trần") == "Dòng họ Trần"


def test_the_decision_list_tells_apart_namesakes_by_birth_date_village_and_household(client, world):
    """The approver ticks whom the signed decision names: two "Nguyễn Thị Tuyết" of one commune showed as the same
    bare name on the decide list (and in its confirmation), while the proposal list told them apart. Now each line
    carries the birth date and village, and a member's household by its head — even with no birth date recorded."""
    from datetime import date

    from tests.titles.test_engine import person

    citizen = criteria_set(Title.CITIZEN)
    first = person(world["village"], "Nguyễn Thị Tuyết", born=date(1994, 3, 2))
    second = person(world["village"], "Nguyễn Thị Tuyết", born=None, household=world["households"][1])
    for row in (first, second):
        eligibility(citizen, row.id, world["commune"].id, YEAR, village_id=world["village"].id)
    officer = make_user(Role.ASSOCIATION_OFFICER, world["commune"], "rv-officer@example.vn")  # decides citizens
    db.session.flush()
    recognition.propose(title="citizen", year=YEAR, subject_ids=[first.id, second.id], user=officer)
    db.session.commit()
    login(client, officer)
    url = f"/titles/recognitions/decide?{_context(world, title='citizen')}"
    page = client.get(url).get_data(as_text=True)
    proposals = page[page.index('id="proposals"') :]
    assert proposals.count("Nguyễn Thị Tuyết") == 2
    details = re.findall(r'<span class="d-block small text-muted fw-normal subject-detail">([^<]*)</span>', proposals)
    assert any("02/03/1994" in d and "Kon Hra" in d for d in details), details
    assert any("hộ Nguyễn Văn Hộ1" in d and "Kon Hra" in d for d in details), details
    ids = [int(v) for v in re.findall(r'name="ids" value="(\d+)"', proposals)]
    preview = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "ids": ids,
            "action": "recognise",
            "decision_number": "31/QĐ-UBND",
            "decision_date": "2026-01-15",
            "authority": "Chủ tịch UBND xã Thử",
        },
    ).get_data(as_text=True)
    listed = preview[preview.index('id="confirm-list"') : preview.index("</ol>", preview.index('id="confirm-list"'))]
    assert "02/03/1994" in listed
    assert "hộ Nguyễn Văn Hộ1" in listed
    # The recognitions list and the registrations list say the same.
    listing = client.get(f"/titles/recognitions?unit_id={world['commune'].id}&title=citizen").get_data(as_text=True)
    assert "02/03/1994" in listing[listing.index('id="recognitions"') :]


def test_a_decision_is_offered_for_correction_and_revocation_only_to_the_body_that_made_it(client, world):
    """The commune People's Committee decides families, the commune association citizens (ADR 45). Both hold the
    approval right on the commune, and each was offered "Correct the number or date" and "Revoke" on the other's
    decisions — whose form then refused with "recognition 7 is decided by …". Now each is offered its own only."""
    family = _decided(world, 1)[0]
    officer = make_user(Role.ASSOCIATION_OFFICER, world["commune"], "cd-officer@example.vn")
    db.session.commit()
    login(client, officer)
    listing = client.get(f"/titles/recognitions?unit_id={world['commune'].id}").get_data(as_text=True)
    assert "12/QĐ-UBND" in listing  # the officer sees the decision …
    assert "decision-correct" not in listing  # … and is not offered to correct it
    page = client.get(f"/titles/recognitions/{family.id}").get_data(as_text=True)
    assert 'id="correct-decision-link"' not in page
    assert "/revoke" not in page
    refused = client.get(f"/titles/recognitions/{family.id}/decision/correct")
    assert refused.status_code == 403
    assert "Chủ tịch UBND" in refused.get_data(as_text=True)  # who made it, so who to ask
    client.post("/logout", data={"csrf_token": csrf_token(client, "/titles/recognitions")})
    login(client, world["leader"])  # the committee's leader: its own decision
    listing = client.get(f"/titles/recognitions?unit_id={world['commune'].id}").get_data(as_text=True)
    assert "decision-correct" in listing
    page = client.get(f"/titles/recognitions/{family.id}").get_data(as_text=True)
    assert 'id="correct-decision-link"' in page
    assert "/revoke" in page
    # Revoking cannot be undone: the reason it asks for, required, is the deliberate step — no dialog on top of it
    # (a reason typed and a tap is how the officer and a journey revoke).
    revoke = page.split("/revoke", 1)[1].split("</form>", 1)[0]
    assert 'name="reason"' in revoke
    assert "data-confirm" not in revoke


def test_an_approver_who_decides_no_title_is_told_who_decides_each(client, world):
    """A province association's officer holds the approval right but the approvals give it no title (the commune
    association recognises the Learning Citizen): the decide page said "You decide: —" over an empty family list."""
    province = db.session.get(type(world["commune"]), world["commune"].parent_id)
    officer = make_user(Role.ASSOCIATION_OFFICER, province, "cd-province-officer@example.vn")
    db.session.commit()
    login(client, officer)
    page = client.get("/titles/recognitions/decide").get_data(as_text=True)
    who = " ".join(re.sub(r"<[^>]+>", " ", page[page.index('id="who-decides"') :]).split())
    assert "Công dân học tập: Hội Khuyến học cấp xã" in who
    assert "Gia đình học tập: chính quyền cấp xã" in who
    assert "Bạn quyết định: —" not in page


def test_two_households_whose_heads_share_a_name_are_told_apart_by_the_heads_birth_year(client, world):
    """Two "Hộ Nguyễn Văn Nam" of one village: the lists gave each the same name and village. The head's birth year
    tells them apart (the registry's code stays off the lists)."""
    from datetime import date

    family = db.session.get(CriteriaSet, db.session.scalar(select(func.min(CriteriaSet.id))))
    first = make_household(world["village"], "NN-1", "Nguyễn Văn Nam")
    second = make_household(world["village"], "NN-2", "Nguyễn Văn Nam")
    first.members[0].birth_date, second.members[0].birth_date = date(1961, 5, 1), date(1979, 8, 9)
    for household in (first, second):
        eligibility(family, household.id, world["commune"].id, YEAR, village_id=world["village"].id)
    db.session.flush()
    recognition.propose(title="family", year=YEAR, subject_ids=[first.id, second.id], user=world["leader"])
    db.session.commit()
    login(client, world["leader"])
    page = client.get(f"/titles/recognitions/decide?{_context(world)}").get_data(as_text=True)
    proposals = page[page.index('id="proposals"') :]
    details = re.findall(r'<span class="d-block small text-muted fw-normal subject-detail">([^<]*)</span>', proposals)
    assert any("chủ hộ sinh năm 1961" in d and "Kon Hra" in d for d in details), details
    assert any("chủ hộ sinh năm 1979" in d for d in details), details
    assert "NN-1" not in proposals


def test_an_engine_commit_between_the_proposals_check_and_its_copy_shows_the_list_again(client, world, monkeypatch):
    """The confirmation's digest holds when checked, but the engine commits before the copy: nothing is proposed,
    the page says the list is out of date and shows the new one (as a change before the check does)."""
    from lms.titles.models import Eligibility

    login(client, world["leader"])
    url = f"/titles/recognitions/propose?{_context(world)}"
    token = csrf_token(client, url)
    eligible, other, _not_eligible = world["households"]
    shown = client.post(url, data={"csrf_token": token, "ids": [eligible.id, other.id]}).get_data(as_text=True)
    copy = recognition._insert_proposals

    def engine_slips_in(*args, **kwargs):
        db.session.execute(
            update(Eligibility)
            .where(Eligibility.subject_id == other.id, Eligibility.title == "family")
            .values(score=61, inputs_digest="slipped-in")
        )  # as an engine run's commit, seen by the copy's statement
        return copy(*args, **kwargs)

    monkeypatch.setattr(recognition, "_insert_proposals", engine_slips_in)
    stale = client.post(url, data={"csrf_token": token, "ids": [eligible.id, other.id], **confirmation(shown)})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "Đánh giá đã thay đổi kể từ khi danh sách được hiển thị" in page
    assert "nay đạt 61 điểm" in page
    assert db.session.scalar(select(func.count()).select_from(Recognition)) == 0
    assert confirmation(page)["preview_digest"] != confirmation(shown)["preview_digest"]


def test_a_deadlock_on_confirming_a_proposal_shows_the_list_again_not_a_server_error(client, world, monkeypatch):
    """PostgreSQL may abort the confirmation as a deadlock (40P01) when an engine run writes the same evaluations:
    the page answers as for an evaluation changed since the list was shown (409, the warning, the list to confirm
    again), nothing is proposed, and confirming again proposes."""
    from tests.titles.recognition_fixtures import lock_conflict

    login(client, world["leader"])
    url = f"/titles/recognitions/propose?{_context(world)}"
    token = csrf_token(client, url)
    eligible, other, _not_eligible = world["households"]
    asked = {"csrf_token": token, "ids": [eligible.id, other.id]}
    shown = client.post(url, data=asked).get_data(as_text=True)
    monkeypatch.setattr(recognition, "_insert_proposals", lock_conflict("40P01"))
    refused = client.post(url, data={**asked, **confirmation(shown)})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "Các kết quả đánh giá mà đề nghị này sao chép đã thay đổi" in page
    assert db.session.scalar(select(func.count()).select_from(Recognition)) == 0
    monkeypatch.undo()
    done = client.post(url, data={**asked, **confirmation(page)})
    assert done.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Recognition)) == 2


def test_a_confirmation_locks_the_evaluations_in_id_order():
    """The confirmation's ``FOR UPDATE`` takes its row locks in id order, the order the engine writes them
    (engine._evaluate_title): in scan order they could cross an engine run's and deadlock (PostgreSQL 40P01)."""
    from sqlalchemy.dialects import postgresql

    locking = str(
        recognition._evaluations_select("household", "family", YEAR, [3, 1, 2], lock=True).compile(
            dialect=postgresql.dialect()
        )
    )
    assert "ORDER BY eligibility.id" in locking
    assert locking.rstrip().endswith("FOR UPDATE OF eligibility")


# --- the circulars' dates (ADR 44, amendment of 7/12/2026) -----------------------------------------------------


def _on(monkeypatch, moment) -> None:
    """The pages run at ``moment`` (UTC, naive, as utcnow gives it)."""
    freeze_clock(monkeypatch, moment)


def _deadline(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.split('id="deadline"')[1].split("</div>")[0]))


def test_the_proposal_page_shows_circular_25s_dossier_date_and_warns_once_it_has_passed(client, world, monkeypatch):
    """Circular 25 Art. 9.1.d: the commune's dossier goes "trước ngày 28 tháng 02" of the year after the year
    evaluated. Shown for that year in Vietnamese; past from 28/02 at Vietnam's midnight, with a warning that does
    not block (a late dossier is the authority's call); the association titles have no date."""
    from datetime import datetime

    login(client, world["leader"])
    url = f"/titles/recognitions/propose?{_context(world, title='commune_community')}"
    _on(monkeypatch, datetime(2026, 2, 27, 16, 59))  # 23:59 on 27/02/2026 in Vietnam
    page = client.get(url).get_data(as_text=True)
    notice = _deadline(page)
    assert "Cấp xã (Thông tư 25/2023/TT-BGDĐT): hồ sơ đề nghị công nhận Cộng đồng học tập cấp xã năm 2025" in notice
    assert "gửi trước ngày 28/02/2026 (Thông tư 25/2023/TT-BGDĐT, Điều 9 khoản 1 điểm d)." in notice
    assert 'id="deadline-passed"' not in page

    _on(monkeypatch, datetime(2026, 2, 27, 17, 0))  # 00:00 on 28/02/2026 in Vietnam
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Hạn này đã qua. Hồ sơ muộn vẫn đề nghị được ở đây" in _deadline(page)
    assert "alert-warning" in page.split('id="deadline"')[0].rsplit("<div", 1)[1]

    assert 'id="deadline"' not in client.get(f"/titles/recognitions/propose?{_context(world)}").get_data(as_text=True)


def test_the_decision_page_shows_circular_24s_date_and_a_late_decision_is_still_recorded(client, world, monkeypatch):
    """Circular 24 Art. 10.3 / 16.3: a unit's recognition is completed "trước ngày 15 tháng 2" of the year after the
    year evaluated. On 15/02 the page warns, and the proposal can still be decided."""
    from datetime import datetime

    from lms.registry.models import Organisation

    commune, leader = world["commune"], world["leader"]
    shop = Organisation(commune_id=commune.id, code="RV-DL", name="Hợp tác xã Hạn", kind="enterprise")
    db.session.add(shop)
    db.session.flush()
    eligibility(criteria_set(Title.UNIT, validity_years=3, code="tt-24-2023-unit"), shop.id, commune.id, YEAR)
    (rid,) = recognition.propose(title="unit", year=YEAR, subject_ids=[shop.id], user=leader)
    db.session.commit()
    login(client, leader)
    url = f"/titles/recognitions/decide?{_context(world, title='unit')}"

    _on(monkeypatch, datetime(2026, 2, 14, 12, 0))
    page = client.get(url).get_data(as_text=True)
    notice = _deadline(page)
    assert "Đơn vị học tập đánh giá theo Thông tư 24/2023/TT-BGDĐT: hoàn thành việc đánh giá, công nhận" in notice
    assert "Đơn vị học tập năm 2025 trước ngày 15/02/2026 (Thông tư 24/2023/TT-BGDĐT, Điều 10 khoản 3;" in notice
    assert 'id="deadline-passed"' not in page

    _on(monkeypatch, datetime(2026, 2, 15, 1, 0))
    page = client.get(url).get_data(as_text=True)
    assert "Hạn này đã qua. Quyết định muộn vẫn ghi nhận được ở đây" in _deadline(page)
    decision = {"decision_number": "12/QĐ-UBND", "decision_date": "2026-02-15", "authority": "", "ids": [rid]}
    decision["csrf_token"] = csrf_token(client, url)
    shown = client.post(url, data=decision)
    assert shown.status_code == 200
    assert client.post(url, data={**decision, **confirmation(shown.get_data(as_text=True))}).status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Recognition, rid).status == "recognised"


def test_circular_24s_dates_show_only_for_a_list_holding_a_unit_assessed_under_circular_24(client, world, monkeypatch):
    """Circular 24's dates (Art. 10.1.c, 10.3) are for the units assessed under it; the commune-managed units of
    Decision 448 part D have none: a list of those alone shows no date and no "this date has passed" warning, on the
    proposal page as on the decision page; one Circular 24 unit on the list brings the dates back."""
    from datetime import datetime

    from lms.registry.models import Organisation

    commune, leader = world["commune"], world["leader"]
    coop, school = (
        Organisation(commune_id=commune.id, code=code, name=name, kind=kind)
        for code, name, kind in (("RV-D1", "Hợp tác xã Xã", "enterprise"), ("RV-D2", "Trường Tiểu học", "school"))
    )
    db.session.add_all([coop, school])
    db.session.flush()
    part_d = criteria_set(Title.UNIT, validity_years=1, code="qd-448-2015-d-unit")
    eligibility(part_d, coop.id, commune.id, YEAR)
    db.session.commit()
    login(client, leader)
    propose = f"/titles/recognitions/propose?{_context(world, title='unit')}"
    decide = f"/titles/recognitions/decide?{_context(world, title='unit')}"
    _on(monkeypatch, datetime(2026, 3, 1, 3, 0))  # both of Circular 24's dates have passed
    page = client.get(propose).get_data(as_text=True)
    assert "Hợp tác xã Xã" in page
    assert 'id="deadline"' not in page
    assert "Thông tư 24/2023" not in page
    recognition.propose(title="unit", year=YEAR, subject_ids=[coop.id], user=leader)
    db.session.commit()
    page = client.get(decide).get_data(as_text=True)
    assert "Hợp tác xã Xã" in page
    assert 'id="deadline"' not in page
    assert 'id="deadline-passed"' not in page

    eligibility(criteria_set(Title.UNIT, validity_years=3, code="tt-24-2023-unit"), school.id, commune.id, YEAR)
    db.session.commit()
    assert "Thông tư 24/2023/TT-BGDĐT, Điều 10 khoản 1 điểm c" in _deadline(client.get(propose).get_data(as_text=True))
    recognition.propose(title="unit", year=YEAR, subject_ids=[school.id], user=leader)
    db.session.commit()
    page = client.get(decide).get_data(as_text=True)
    assert "Thông tư 24/2023/TT-BGDĐT, Điều 10 khoản 3" in _deadline(page)
    assert 'id="deadline-passed"' in page


def test_a_deadlock_on_confirming_a_decision_shows_it_again_not_a_server_error(client, world, monkeypatch):
    """PostgreSQL may abort a decision's confirmation as a deadlock (40P01) when another approver or an engine run
    writes the same recognitions: the page answers as for a preview out of date (409, the warning, the decision to
    confirm again), nothing is recorded, and confirming again records it."""
    from tests.titles.recognition_fixtures import lock_conflict

    ids, decision, shown = _decision_previewed(client, world)
    decide = f"/titles/recognitions/decide?{_context(world)}"
    monkeypatch.setattr(recognition, "_audit_many", lock_conflict("40P01"))
    refused = client.post(decide, data={**decision, **confirmation(shown)})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "Các công nhận này đang được người khác thay đổi cùng lúc" in page
    assert "công nhận 2 đối tượng sau?" in page[page.index('id="confirm-decision"') :]
    db.session.expire_all()
    assert {db.session.get(Recognition, i).status for i in ids} == {"proposed"}
    monkeypatch.undo()
    done = client.post(decide, data={**decision, **confirmation(page)})
    assert done.status_code == 302
    db.session.expire_all()
    assert {db.session.get(Recognition, i).status for i in ids} == {"recognised"}


def test_a_deadlock_on_revoking_is_a_warning_not_a_server_error(client, world, monkeypatch):
    from tests.titles.recognition_fixtures import lock_conflict

    row = _propose_and_decide(client, world)
    page_url = f"/titles/recognitions/{row.id}"
    token = csrf_token(client, page_url)
    monkeypatch.setattr(recognition, "_audit_many", lock_conflict("40001"))
    refused = client.post(f"{page_url}/revoke", data={"csrf_token": token, "reason": "Quyết định bị hủy"})
    assert refused.status_code == 302
    assert "Các công nhận này đang được người khác thay đổi cùng lúc" in client.get(page_url).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Recognition, row.id).status == "recognised"
    monkeypatch.undo()
    client.post(f"{page_url}/revoke", data={"csrf_token": token, "reason": "Quyết định bị hủy"})
    db.session.expire_all()
    assert db.session.get(Recognition, row.id).status == "revoked"


def test_the_proposals_score_has_a_line_of_its_own_and_why_is_not_cut_in_two(client, world):
    """On a phone the confirmation listed '· 86 điểm' at the start of a line (after the name's detail line), and the
    decision's list broke its 'Căn cứ' link into 'Căn' and 'cứ' on two lines beside a long name (walk4's findings)."""
    login(client, world["leader"])
    eligible = world["households"][0]
    url = f"/titles/recognitions/propose?{_context(world)}"
    token = csrf_token(client, url)
    text = client.post(url, data={"csrf_token": token, "ids": [eligible.id]}).get_data(as_text=True)
    item = text[text.index('id="confirm-list"') :]
    item = item[: item.index("</ol>")]
    assert re.search(r'<span class="d-block confirm-score">[0-9,]+ điểm</span></li>', item), item
    assert " · " not in item
    recognition.propose(title="family", year=YEAR, subject_ids=[eligible.id], user=world["leader"])
    db.session.commit()
    page = client.get(f"/titles/recognitions/decide?{_context(world)}").get_data(as_text=True)
    assert '<a class="small text-nowrap" href="/titles/recognitions/' in page
    assert ">Căn cứ</a>" in page
