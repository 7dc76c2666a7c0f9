"""The draft of a recognition decision, printed from the decide page before it is signed (ADR 61).

Circular 24/2023, Art. 10.2.đ (16.2.đ) and Circular 25/2023, Art. 9.2.đ: the dossier that goes up for signature holds
a "dự thảo Quyết định công nhận". Decree 30/2020/NĐ-CP, Appendix I: an individual decision carries the deciding
body and its number, the national name and motto, the place and day, "QUYẾT ĐỊNH" and its summary, the grounds, the
articles, "Nơi nhận" and the signature.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import Person
from lms.titles import approvals, drafts, recognition
from lms.titles.models import Recognition, RecognitionStatus, Title
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code
from tests.courses.test_documents import _pdf_text
from tests.titles.recognition_fixtures import criteria_set, eligibility

YEAR = 2025


@pytest.fixture
def world(app_ctx):
    commune = unit_by_code("23293")
    village = make_village(commune, "DD-V1", "Dự Thảo")  # its kind, "Thôn", is printed before it
    households = [make_household(village, f"DD-H{i}", f"Trần Văn Thảo{i}") for i in range(3)]
    # Named as the shipped sets are (the draft names the instrument by the set's code), inactive as every hand-made one.
    family = criteria_set(code="qd-448-2015-a-family-test")
    for household in households:
        eligibility(family, household.id, commune.id, YEAR, village_id=village.id)
    person = Person(full_name="Y Công Dân", unit_id=village.id)
    db.session.add(person)
    db.session.flush()
    eligibility(
        criteria_set(Title.CITIZEN, code="qd-324-2023-citizen-test"), person.id, commune.id, YEAR, village_id=village.id
    )
    leader = make_user(Role.COMMUNE_LEADER, commune, "dd-leader@example.vn")
    officer = make_user(Role.ASSOCIATION_OFFICER, commune, "dd-officer@example.vn")
    db.session.commit()
    return {
        "commune": commune,
        "households": households,
        "person": person,
        "leader": leader,
        "officer": officer,
    }


def _decide_url(world, title: str = "family") -> str:
    return f"/titles/recognitions/decide?commune_id={world['commune'].id}&year={YEAR}&title={title}"


def _propose(world, count: int = 2) -> list[int]:
    ids = recognition.propose(
        title="family",
        year=YEAR,
        subject_ids=[h.id for h in world["households"][:count]],
        user=world["leader"],
    )
    db.session.commit()
    return ids


def _draft_url(page: str) -> str:
    """The draft button's own address, as the decide page gives it (the form's ``formaction``)."""
    button = re.search(r'<button[^>]*id="draft-decision"[^>]*>', page)
    assert button is not None, "the decide page has no draft button"
    return re.search(r'formaction="([^"]+)"', button.group(0)).group(1).replace("&amp;", "&")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_the_draft_decision_from_the_decide_page_records_nothing(client, world):
    ids = _propose(world)
    login(client, world["leader"])
    page = client.get(_decide_url(world)).get_data(as_text=True)
    url = _draft_url(page)
    token = csrf_token(client, _decide_url(world))
    response = client.post(url, data={"csrf_token": token, "ids": ids, "decision_number": "", "authority": ""})
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = _one_line(_pdf_text(response.data))
    commune = world["commune"]
    assert "DỰ THẢO" in text
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "QUYẾT ĐỊNH Về việc công nhận “Gia đình học tập” năm 2025" in text
    assert f"CHỦ TỊCH ỦY BAN NHÂN DÂN {commune.kind.upper()} {commune.name.upper()}" in text
    assert "Căn cứ Luật Tổ chức chính quyền địa phương ngày 16 tháng 6 năm 2025;" in text
    assert "Căn cứ Quyết định số 448/QĐ-KHVN ngày 01 tháng 12 năm 2015 của Trung ương Hội Khuyến học Việt Nam;" in text
    assert "Xét đề nghị của ……." in text  # a blank for the clerk: the texts do not say who proposes a family
    assert "Điều 1. Công nhận danh hiệu “Gia đình học tập” năm 2025 cho 2 gia đình" in text
    assert "Điều 2. Quyết định này có hiệu lực kể từ ngày ký." in text
    assert "và các gia đình có tên tại Điều 1 chịu trách nhiệm thi hành Quyết định này./." in text
    assert "Số: ……/……" in text  # no number typed: blank
    assert f"{commune.name}, ngày …… tháng …… năm ……" in text
    assert "- Như Điều 3;" in text
    assert "- Các gia đình có tên" not in text  # "Như Điều 3" names them, and the office Article 3 names
    assert "- Văn phòng HĐND và UBND" not in text
    assert "- Lưu: VT." in text
    # The chair decides in their own name: the chair signs, not "for the committee".
    assert "TM. ỦY BAN NHÂN DÂN" not in text
    # The list: the two ticked, not the third; counted.
    assert "DANH SÁCH GIA ĐÌNH HỌC TẬP NĂM 2025" in text
    assert "Tổng số: 2" in text
    assert "Trần Văn Thảo0" in text
    assert "Trần Văn Thảo1" in text
    assert "Trần Văn Thảo2" not in text
    # Each one's address as its certificate will print it: the village by its full name, then the commune and province.
    province = commune.parent
    while province.level != "province":
        province = province.parent
    address = f"Thôn Dự Thảo, {commune.kind.lower()} {commune.name}, {province.kind.lower()} {province.name}"
    assert text.count(address) == 2
    assert "Thôn Thôn" not in text
    # Nothing recorded: both proposals still wait.
    db.session.expire_all()
    statuses = db.session.scalars(select(Recognition.status).where(Recognition.id.in_(ids))).all()
    assert statuses == [RecognitionStatus.PROPOSED.value] * 2


def test_the_draft_carries_what_was_typed(client, world):
    ids = _propose(world, 1)
    login(client, world["leader"])
    page = client.get(_decide_url(world)).get_data(as_text=True)
    token = csrf_token(client, _decide_url(world))
    response = client.post(
        _draft_url(page),
        data={"csrf_token": token, "ids": ids, "decision_number": "15/QĐ-UBND", "decision_date": "2026-01-20"},
    )
    text = _one_line(_pdf_text(response.data))
    assert "Số: 15/QĐ-UBND" in text
    assert "ngày 20 tháng 01 năm 2026" in text
    commune = world["commune"]
    place = f"{commune.kind[:1].lower()}{commune.kind[1:]} {commune.name}"
    assert f"(Kèm theo Quyết định số 15/QĐ-UBND ngày 20/01/2026 của Chủ tịch UBND {place})" in text
    assert "cho 1 gia đình" in text
    assert "và gia đình có tên tại Điều 1 chịu trách nhiệm" in text


def test_nothing_ticked_says_what_to_do_and_a_proposal_not_yours_is_left_out(client, app, world):
    ids = _propose(world, 1)
    login(client, world["leader"])
    page = client.get(_decide_url(world)).get_data(as_text=True)
    url = _draft_url(page)
    token = csrf_token(client, _decide_url(world))
    response = client.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "Hãy chọn các đề nghị mà quyết định công nhận, rồi bấm in dự thảo." in response.get_data(as_text=True)
    # The association officer decides citizens, not families: the family's proposal is not theirs to draft.
    other = app.test_client()
    login(other, world["officer"])
    token = csrf_token(other, _decide_url(world, "citizen"))
    response = other.post(url, data={"csrf_token": token, "ids": ids}, follow_redirects=True)
    assert response.mimetype != "application/pdf"
    assert "Hãy chọn các đề nghị" in response.get_data(as_text=True)
    assert (
        db.session.scalar(select(func.count()).select_from(Recognition).where(Recognition.status == "recognised")) == 0
    )


def test_the_association_decides_as_its_executive_committee(client, world):
    ids = recognition.propose(title="citizen", year=YEAR, subject_ids=[world["person"].id], user=world["officer"])
    db.session.commit()
    login(client, world["officer"])
    page = client.get(_decide_url(world, "citizen")).get_data(as_text=True)
    token = csrf_token(client, _decide_url(world, "citizen"))
    response = client.post(_draft_url(page), data={"csrf_token": token, "ids": ids})
    text = _one_line(_pdf_text(response.data))
    commune = world["commune"]
    assert f"BAN CHẤP HÀNH HỘI KHUYẾN HỌC {commune.kind.upper()} {commune.name.upper()}" in text
    assert "Căn cứ Điều lệ Hội Khuyến học Việt Nam;" in text
    # The decision by its own name, as Circular 25/2023 (Art. 3) cites it: "… công nhận danh hiệu “Công dân học tập” …".
    assert (
        "Căn cứ Quyết định số 324/QĐ-KHVN ngày 25 tháng 10 năm 2023 của Ban Chấp hành Trung ương Hội Khuyến học Việt "
        "Nam ban hành Bộ tiêu chí và hướng dẫn đánh giá, công nhận danh hiệu “Công dân học tập” giai đoạn 2021-2030;"
    ) in text
    assert "TM. BAN CHẤP HÀNH" in text  # a body's decision is signed for it
    assert "Y Công Dân" in text


def test_an_approvals_file_words_the_draft(client, world, tmp_path, app):
    """grounds, proposer and executors from the approvals file, placeholders filled; a misspelt one refused when
    the file is read."""
    ids = _propose(world, 1)
    custom = tmp_path / "approvals.toml"
    text = approvals.DEFAULT_FILE.read_text(encoding="utf-8")
    own = (
        '[family]\nlevel = "commune"\nauthority = "Chủ tịch UBND {commune}"\n'
        'grounds = ["Căn cứ Nghị quyết của Hội đồng nhân dân {commune};"]\n'
        'proposer = ["Xét đề nghị của Chủ tịch Hội Khuyến học {commune}"]\n'
        'executors = ["Chánh Văn phòng HĐND và UBND {commune}", "Chủ tịch Hội Khuyến học {commune}"]\n'
    )
    custom.write_text(
        text.replace('[family]\nlevel = "commune"\nauthority = "Chủ tịch UBND {commune}"\n', own, 1), encoding="utf-8"
    )
    app.config["TITLES_APPROVALS_FILE"] = str(custom)
    try:
        login(client, world["leader"])
        page = client.get(_decide_url(world)).get_data(as_text=True)
        token = csrf_token(client, _decide_url(world))
        response = client.post(_draft_url(page), data={"csrf_token": token, "ids": ids})
        pdf = _one_line(_pdf_text(response.data))
        commune = world["commune"]
        place = f"{commune.kind[:1].lower()}{commune.kind[1:]} {commune.name}"
        assert f"Căn cứ Nghị quyết của Hội đồng nhân dân {place};" in pdf
        assert "Căn cứ Luật Tổ chức chính quyền địa phương" not in pdf
        assert f"Xét đề nghị của Chủ tịch Hội Khuyến học {place}." in pdf
        assert f"Chánh Văn phòng HĐND và UBND {place} và Chủ tịch Hội Khuyến học {place} và gia đình" in pdf
        custom.write_text(
            text.replace('[family]\nlevel = "commune"\n', '[family]\nproposer = ["{xa}"]\nlevel = "commune"\n', 1)
        )
        with pytest.raises(approvals.ApprovalsConfigError, match=r"\[family\]: proposer: .*names xa"):
            approvals.rule_for("family")
    finally:
        app.config.pop("TITLES_APPROVALS_FILE")


def test_the_deciding_office_is_the_executive_committee_only_for_the_association_itself() -> None:
    """The association decides as its executive committee; an authority typed as its chairman is the chairman, not
    "BAN CHẤP HÀNH CHỦ TỊCH …"."""
    assert drafts.office_of("Hội Khuyến học xã Ea Tu", "association") == "BAN CHẤP HÀNH HỘI KHUYẾN HỌC XÃ EA TU"
    assert drafts.office_of("Chủ tịch Hội Khuyến học xã Ea Tu", "association") == "CHỦ TỊCH HỘI KHUYẾN HỌC XÃ EA TU"
    assert drafts.office_of("Ban Chấp hành Hội Khuyến học xã Ea Tu", "association") == (
        "BAN CHẤP HÀNH HỘI KHUYẾN HỌC XÃ EA TU"
    )
    assert drafts.office_of("Chủ tịch UBND xã Ea Tu", "committee") == "CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ EA TU"


def test_a_proposal_of_another_commune_is_not_drafted_by_its_id(client, world):
    """An approver of one commune who posts the id of another commune's proposal gets no draft of it: not under their
    own commune (it is not among its proposals), and not under the other's (not in their scope: not found)."""
    other = unit_by_code("23302")
    village = make_village(other, "DD-V9", "Chín")
    household = make_household(village, "DD-H9", "Lê Văn Khác")
    eligibility(criteria_set(code="qd-448-2015-a-family-other"), household.id, other.id, YEAR, village_id=village.id)
    their_leader = make_user(Role.COMMUNE_LEADER, other, "dd-other@example.vn")
    db.session.commit()
    theirs = recognition.propose(title="family", year=YEAR, subject_ids=[household.id], user=their_leader)
    mine = _propose(world, 1)
    login(client, world["leader"])
    page = client.get(_decide_url(world)).get_data(as_text=True)
    url = _draft_url(page)
    token = csrf_token(client, _decide_url(world))
    response = client.post(url, data={"csrf_token": token, "ids": [*theirs, *mine]})
    assert response.mimetype == "application/pdf"
    text = _one_line(_pdf_text(response.data))
    assert "Trần Văn Thảo0" in text
    assert "Lê Văn Khác" not in text
    assert "Tổng số: 1" in text
    alone = client.post(url, data={"csrf_token": token, "ids": theirs}, follow_redirects=True)
    assert alone.mimetype != "application/pdf"
    foreign = url.replace(f"commune_id={world['commune'].id}", f"commune_id={other.id}")
    assert client.post(foreign, data={"csrf_token": token, "ids": theirs}).status_code == 404


def test_a_province_decision_is_executed_by_the_province_committees_office(app_ctx) -> None:
    """A commune's People's Committee has one office for its council and itself ("Văn phòng HĐND và UBND xã"); a
    province's committee has its own ("Văn phòng UBND tỉnh"), apart from the council's: Article 3 names it."""
    commune = unit_by_code("23293")
    province = approvals.places([commune.id])[commune.id][1]
    assert province is not None
    words = approvals.decision_words(approvals.rule_for("commune_community"), commune, province)
    assert words.executors == ("Chánh Văn phòng Sở Giáo dục và Đào tạo",)  # configured in the shipped file
    unit_rule = approvals.Rule(level="province", authority="Chủ tịch UBND {province}", body="committee")
    words = approvals.decision_words(unit_rule, commune, province)
    assert words.executors == (f"Chánh Văn phòng UBND {province.name_in_sentence}",)
    commune_rule = approvals.Rule(level="commune", authority="Chủ tịch UBND {commune}", body="committee")
    words = approvals.decision_words(commune_rule, commune, province)
    assert words.executors == (f"Chánh Văn phòng HĐND và UBND {commune.name_in_sentence}",)
