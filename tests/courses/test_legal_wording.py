"""The pages name what the legal texts name in the texts' own Vietnamese words (audit of the rules other than the
titles' criteria against /work/shared/sources, ADR 60).

- Circular 03/2014/TT-BTTTT, Art. 2: the IT-skills standard's fifteen "mô đun kỹ năng", IU01–IU15, with their names.
- Joint Circular 17/2016/TTLT-BGDĐT-BTTTT, Art. 16, 17.2: the "chứng chỉ ứng dụng CNTT" is issued by the head of the
  "trung tâm sát hạch" where the candidate sat the exams.
- Education Law 2019 (Law 43/2019/QH14), Art. 43.1.a–b and 44.3.b: a CLC runs the "Chương trình xóa mù chữ" and the
  "Chương trình giáo dục đáp ứng yêu cầu của người học; cập nhật kiến thức, kỹ năng, chuyển giao công nghệ".
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import pytest
from flask import current_app

from courses import it_skills, reports
from lms.auth.models import Role
from lms.auth.services import create_user
from lms.extensions import db
from tests.conftest import PASSWORD, login, make_user, unit_by_code
from tests.courses.test_it_skills import people, scan

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "lms" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"

# Circular 03/2014/TT-BTTTT, Art. 2.1 (basic) and 2.2 (advanced), word for word.
CIRCULAR_03_MODULES = {
    "IU01": "Hiểu biết về CNTT cơ bản",
    "IU02": "Sử dụng máy tính cơ bản",
    "IU03": "Xử lý văn bản cơ bản",
    "IU04": "Sử dụng bảng tính cơ bản",
    "IU05": "Sử dụng trình chiếu cơ bản",
    "IU06": "Sử dụng Internet cơ bản",
    "IU07": "Xử lý văn bản nâng cao",
    "IU08": "Sử dụng bảng tính nâng cao",
    "IU09": "Sử dụng trình chiếu nâng cao",
    "IU10": "Sử dụng hệ quản trị cơ sở dữ liệu",
    "IU11": "Thiết kế đồ họa hai chiều",
    "IU12": "Biên tập ảnh",
    "IU13": "Biên tập trang thông tin điện tử",
    "IU14": "An toàn, bảo mật thông tin",
    "IU15": "Sử dụng phần mềm kế hoạch dự án",
}


def _msgstrs() -> str:
    text = CATALOGUE.read_text(encoding="utf-8")
    return "\n".join(re.findall(r'^(?:msgstr(?:\[\d\])? |)"(.*)"$', text, flags=re.MULTILINE))


def test_the_modules_are_the_circulars_and_spelt_as_it_spells_them():
    """Circular 03/2014/TT-BTTTT, Art. 2.1–2.2: "Mô đun kỹ năng 01 (Mã IU01): Hiểu biết về CNTT cơ bản" … The
    catalogue wrote "mô-đun" in some places and "mô đun" in others; it now writes the Circular's "mô đun" throughout,
    and the modules carry the Circular's names and levels."""
    framework = it_skills.framework()
    assert {module.code: module.name_vi for module in framework.modules} == CIRCULAR_03_MODULES
    basic = [module.code for module in framework.modules if module.level == "basic"]
    assert basic == ["IU01", "IU02", "IU03", "IU04", "IU05", "IU06"]
    assert "mô-đun" not in _msgstrs().lower()
    assert "mô đun" in _msgstrs()


def test_the_certificate_form_names_the_test_centre(app_ctx, client):
    """Joint Circular 17/2016, Art. 17.2: "Thủ trưởng các trung tâm sát hạch nơi thí sinh dự thi có thẩm quyền cấp
    và thu hồi chứng chỉ". The form asked for the "Đơn vị sát hạch" and, left empty, for the "đơn vị được công nhận":
    names the Joint Circular does not use."""
    (holder,) = people(unit_by_code("23293"), "LAW", "Y Luật Mẫu")
    own = create_user("law-wording@example.vn", holder.full_name, PASSWORD)
    own.person_id = holder.id
    db.session.commit()
    login(client, own)
    form = client.get("/courses/it/me/certificates/new").get_data(as_text=True)
    assert "Trung tâm sát hạch cấp chứng chỉ" in form
    assert "Đơn vị sát hạch" not in form
    # The service's refusal, in the default language.
    with current_app.test_request_context("/"), pytest.raises(it_skills.ItSkillsError) as refused:
        it_skills.record_certificate(
            person=holder,
            number="CNTT-LAW-1",
            issuer=" ",
            issued_on=date(2025, 6, 1),
            upload=scan(),
            recorded_by_id=None,
        )
    assert str(refused.value) == "hãy nhập trung tâm sát hạch đã cấp chứng chỉ"


def test_the_menu_names_the_certificate_as_the_joint_circular_does(app_ctx, client):
    """Joint Circular 17/2016, Art. 16: "Chứng chỉ ứng dụng CNTT" (basic and advanced). The menu said "Chứng chỉ
    CNTT", the page it opens "Chứng chỉ ứng dụng CNTT"."""
    manager = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "law-menu@example.vn")
    db.session.commit()
    login(client, manager)
    page = client.get("/").get_data(as_text=True)
    assert ">Chứng chỉ ứng dụng CNTT</a>" in page
    assert ">Chứng chỉ CNTT<" not in page


def test_the_class_programme_uses_the_education_laws_names(app_ctx, client):
    """Education Law 2019, Art. 43.1.b (a CLC runs it, Art. 44.3.b): "Chương trình giáo dục đáp ứng yêu cầu của người
    học; cập nhật kiến thức, kỹ năng, chuyển giao công nghệ". The course form and the centre report said "Chuyển
    giao khoa học kỹ thuật" and "Kiến thức, kỹ năng theo nhu cầu"."""
    assert reports.category_label("technology_transfer") == "Chuyển giao công nghệ"
    assert reports.category_label("needs_based") == "Đáp ứng yêu cầu của người học; cập nhật kiến thức, kỹ năng"
    assert reports.category_label("literacy") == "Xóa mù chữ"
    manager = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"), "law-programme@example.vn")
    db.session.commit()
    login(client, manager)
    form = client.get("/courses/new").get_data(as_text=True)
    assert "Chuyển giao công nghệ</option>" in form
    assert "Đáp ứng yêu cầu của người học; cập nhật kiến thức, kỹ năng</option>" in form
    assert "khoa học kỹ thuật" not in form


def test_the_it_figures_name_the_plans_targets_in_its_words(app_ctx, client):
    """Plan 1514/KH-UBND of Kon Tum, mục tiêu đến năm 2025, ý 1 and 4 (and 2030, ý 4): "cán bộ làm công tác Khuyến
    học cấp xã tham gia tổ chức các hoạt động của Trung tâm học tập cộng đồng và được bồi dưỡng, tập huấn về ứng
    dụng công nghệ thông tin"; "Chủ tịch hoặc Phó Chủ tịch Hội Khuyến học cấp xã tham gia quản lý Trung tâm học tập
    cộng đồng"; "cán bộ và hội viên … được học tập quán triệt các chủ trương … về … khuyến học, khuyến tài, xây dựng
    xã hội học tập". The leaders' IT page and its workbook shortened them to "cán bộ Hội cấp xã … hoạt động TTHTCĐ và
    được bồi dưỡng CNTT", "… tham gia quản lý TTHTCĐ" and "học tập chủ trương, chính sách"."""
    from openpyxl import load_workbook

    commune = unit_by_code("23293")
    leader = make_user(Role.COMMUNE_LEADER, commune, "law-plan-words@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/courses/it/units/{commune.id}?from=2026-01-01&to=2026-12-31").get_data(as_text=True)
    sheet = client.get(f"/courses/it/units/{commune.id}.xlsx?from=2026-01-01&to=2026-12-31")
    labels = [row[0] for row in load_workbook(io.BytesIO(sheet.data))["Chỉ tiêu"].iter_rows(values_only=True)]
    for words in (reports.PLAN_IT_TRAINED_OFFICERS, reports.PLAN_CHAIR_IN_CLC, reports.PLAN_POLICY_STUDY):
        assert words in page
        assert any(str(label).startswith(words) for label in labels)
    assert reports.PLAN_IT_TRAINED_OFFICERS == (
        "Cán bộ làm công tác Khuyến học cấp xã tham gia tổ chức các hoạt động của Trung tâm học tập cộng đồng và được "
        "bồi dưỡng, tập huấn về ứng dụng công nghệ thông tin"
    )


def test_an_organisations_members_are_called_as_circular_24_calls_them(app_ctx, client):
    """Circular 24/2023/TT-BGDĐT, Art. 2.7: "Thành viên trong đơn vị là Cán bộ công nhân viên trong đơn vị, Người lao
    động trong đơn vị" (Art. 2.5, 2.6). An organisation's page headed its people "Hội viên" — the word for members of
    the Hội Khuyến học, which a school's teachers or an enterprise's workers are not."""
    from lms.registry.models import Organisation, OrganisationMember
    from tests.conftest import make_household, make_village

    commune = unit_by_code("23293")
    teacher = make_household(make_village(commune, "LAW-ORG", "Thôn Luật"), "LAW-ORG-1", "Y Giáo Viên").members[0]
    school = Organisation(commune_id=commune.id, code="LAW-ORG-S", name="Trường Tiểu học Luật")
    db.session.add(school)
    db.session.flush()
    db.session.add(OrganisationMember(organisation_id=school.id, person_id=teacher.id, position="Giáo viên"))
    leader = make_user(Role.COMMUNE_LEADER, commune, "law-org@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/registry/organisations/{school.id}").get_data(as_text=True)
    table = page[page.index("<table") : page.index("</table>")]
    assert "<th>Thành viên trong đơn vị</th>" in table
    assert "cán bộ công nhân viên và người lao động của đơn vị (Điều 2 khoản 5–7 Thông tư 24/2023/TT-BGDĐT)" in table
    assert "Hội viên" not in table


def test_a_clc_boards_member_is_not_called_an_association_member(app_ctx, client):
    """Plan 1514, mục tiêu đến năm 2025, ý 4 counts the association's chair or vice-chair "tham gia quản lý Trung tâm
    học tập cộng đồng" — on the centre's board (courses/data/it_skills.toml: director, deputy director, member). The
    centre's page listed a board member as "Hội viên", the association's word, under "Ban Giám đốc"."""
    from lms.registry.models import BoardMembership, Clc
    from tests.conftest import make_household, make_village

    commune = unit_by_code("23293")
    person = make_household(make_village(commune, "LAW-CLC", "Thôn Ban"), "LAW-CLC-1", "Y Ban Giám Đốc").members[0]
    clc = Clc(commune_id=commune.id, name="Trung tâm học tập cộng đồng Luật")
    db.session.add(clc)
    db.session.flush()
    db.session.add(BoardMembership(clc_id=clc.id, person_id=person.id, role="member", started_on=date(2025, 7, 1)))
    leader = make_user(Role.COMMUNE_LEADER, commune, "law-clc@example.vn")
    db.session.commit()
    login(client, leader)
    page = client.get(f"/registry/clcs/{clc.id}").get_data(as_text=True)
    board = page[page.index("Ban Giám đốc") : page.index("</ul>", page.index("Ban Giám đốc"))]
    assert "Y Ban Giám Đốc</a> — Thành viên Ban Giám đốc" in board
    assert "Hội viên" not in board
