"""People: diacritic-insensitive search, Vietnamese order, protected ID numbers, edits."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from lms.auth.models import Role
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry import services
from lms.registry.models import Person
from lms.registry.pii import decrypt_id_number
from lms.registry.text import collation_key, fold, person_sort_key
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Nguyễn Thị Đào", "nguyen thi dao"),
        ("ĐINH VĂN ĐỨC", "dinh van duc"),
        ("Y Blơng", "y blong"),
        ("  Rơ  Châm   Thưởng ", "ro cham thuong"),
    ],
)
def test_fold(text, folded):
    assert fold(text) == folded


def test_vietnamese_alphabet_order():
    words = ["Đào", "Dung", "Ân", "Ăn", "An", "Anh", "Bình", "Ơn", "Ôn", "On", "Ưng", "Uyên"]
    assert sorted(words, key=collation_key) == [
        "An",
        "Anh",
        "Ăn",
        "Ân",
        "Bình",
        "Dung",
        "Đào",
        "On",
        "Ôn",
        "Ơn",
        "Uyên",
        "Ưng",
    ]


def test_tones_only_break_ties_in_dictionary_order():
    # ngang < huyền < hỏi < ngã < sắc < nặng, and letters decide before tones ("Má" < "Man").
    assert sorted(["mạ", "má", "mã", "mả", "mà", "ma", "man"], key=collation_key) == [
        "ma",
        "mà",
        "mả",
        "mã",
        "má",
        "mạ",
        "man",
    ]


def test_people_sort_by_given_name_first():
    names = ["Trần Văn Bình", "Lê Thị An", "Nguyễn Văn An", "Y Ánh"]
    assert sorted(names, key=person_sort_key) == ["Lê Thị An", "Nguyễn Văn An", "Y Ánh", "Trần Văn Bình"]


@pytest.fixture
def people(app_ctx):
    village = make_village(unit_by_code("23293"), "PPL-1", "Thôn Người")
    make_household(village, "1", "Nguyễn Văn Đức", "Trần Thị Ánh", "Đinh Văn Dũng", "Lê Văn An")
    db.session.commit()
    return village


def test_search_matches_with_or_without_diacritics(app_ctx, client, people):
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    for query in ("Nguyen Van Duc", "nguyễn văn đức", "NGUYEN", "duc"):
        names = [p["full_name"] for p in client.get(f"/api/v1/persons?q={query}").get_json()["items"]]
        assert "Nguyễn Văn Đức" in names, query
    # Đ folds to D: "dung" finds Đinh Văn Dũng, "dinh" too.
    assert [p["full_name"] for p in client.get("/api/v1/persons?q=dinh").get_json()["items"]] == ["Đinh Văn Dũng"]
    page = client.get("/registry/search?q=anh").get_data(as_text=True)
    assert "Trần Thị Ánh" in page
    assert "Nguyễn Văn Đức" not in page


def test_search_treats_wildcards_literally(app_ctx, client, people):
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    assert client.get("/api/v1/persons?q=%25").get_json()["items"] == []
    assert client.get("/api/v1/persons?q=_").get_json()["items"] == []


def test_lists_come_in_vietnamese_order(app_ctx, client, people):
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    names = [p["full_name"] for p in client.get(f"/api/v1/persons?unit_id={people.id}").get_json()["items"]]
    assert names == ["Lê Văn An", "Trần Thị Ánh", "Đinh Văn Dũng", "Nguyễn Văn Đức"]


def test_id_numbers_are_encrypted_unique_and_masked(app_ctx, people):
    first, second = db.session.scalars(select(Person).where(Person.unit_id == people.id).limit(2)).all()
    services.set_id_number(first, "062 090 001 234")
    db.session.flush()
    assert first.id_number_hint == "234"
    assert first.masked_id_number == "*********234"
    assert b"062090001234" not in first.id_number_encrypted
    assert decrypt_id_number(first.id_number_encrypted) == "062090001234"
    assert services.find_person_by_id_number("062090001234") == first
    with pytest.raises(services.IdNumberRefused, match="cannot be recorded"):
        services.set_id_number(second, "062090001234")
    with pytest.raises(services.RegistryError, match="12 digits"):
        services.set_id_number(second, "12345")


def test_person_page_masks_the_id_and_revealing_is_audited(app_ctx, client, people):
    person = db.session.scalars(select(Person).where(Person.unit_id == people.id)).first()
    services.set_id_number(person, "062090001234")
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    page = client.get(f"/registry/persons/{person.id}").get_data(as_text=True)
    assert "*********234" in page
    assert "062090001234" not in page
    assert client.get(f"/api/v1/persons/{person.id}").get_json()["id_number_masked"] == "*********234"
    token = csrf_token(client, f"/registry/persons/{person.id}")
    revealed = client.post(f"/registry/persons/{person.id}/reveal-id", data={"csrf_token": token})
    assert "062090001234" in revealed.get_data(as_text=True)
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "person.reveal_id_number", AuditEvent.object_id == str(person.id))
    )


def test_instructor_sees_no_sensitive_fields(app_ctx, client, people):
    person = db.session.scalars(select(Person).where(Person.unit_id == people.id)).first()
    person.ethnicity = "Xơ Đăng"
    user = make_user(Role.INSTRUCTOR, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    assert "Xơ Đăng" not in client.get(f"/registry/persons/{person.id}").get_data(as_text=True)
    assert "ethnicity" not in client.get(f"/api/v1/persons/{person.id}").get_json()


def test_editing_a_person_through_the_form(app_ctx, client, people):
    person = db.session.scalars(select(Person).where(Person.unit_id == people.id)).first()
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    url = f"/registry/persons/{person.id}/edit"
    token = csrf_token(client, url)
    form = {
        "csrf_token": token,
        "full_name": "Nguyễn  Văn   Đức ",
        "birth_date": "1980-02-03",
        "sex": "M",
        "occupation_group": "worker",
        "relation_to_head": "Chủ hộ",
        "phone": "",
        "ethnicity": "Kinh",
        "id_number": "062080009876",
    }
    response = client.post(url, data=form)
    assert response.status_code == 302
    db.session.expire_all()
    person = db.session.get(Person, person.id)
    assert person.full_name == "Nguyễn Văn Đức"
    assert person.name_folded == "nguyen van duc"
    assert person.birth_date.isoformat() == "1980-02-03"
    assert person.id_number_hint == "876"
    bad = client.post(url, data={**form, "id_number": "12ab", "birth_date": "31/02/1980"})
    assert bad.status_code == 200
    body = bad.get_data(as_text=True)
    assert "12" in body
    assert "is-invalid" in body


def test_the_person_form_offers_farmers_under_worker(app_ctx, client, people):
    """Plan 1514 counts farmers among its "người lao động" (ADR 12): the form says where a farmer goes, and a
    farmer filed there is a worker."""
    person = db.session.scalars(select(Person).where(Person.unit_id == people.id)).first()
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    url = f"/registry/persons/{person.id}/edit"
    body = client.get(url).get_data(as_text=True)
    assert '<option value="worker">Người lao động (nông dân, công nhân…)</option>' in body
    form = {"csrf_token": csrf_token(client, url), "full_name": "A Nông", "occupation_group": "worker"}
    assert client.post(url, data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get_one(Person, person.id).occupation_group == "worker"


def test_exporting_the_register_is_audited_and_scoped(app_ctx, client, people):
    other_village = make_village(unit_by_code("23302"), "PPL-2", "Thôn Khác")
    make_household(other_village, "9", "Người Ngoài Phạm Vi")
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    response = client.get(f"/registry/units/{unit_by_code('23293').id}/persons.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Mã người,Họ và tên,Ngày sinh")
    assert sorted(line.split(",")[1] for line in lines[1:]) == sorted(
        ["Nguyễn Văn Đức", "Trần Thị Ánh", "Đinh Văn Dũng", "Lê Văn An"]
    )
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export.persons"))
    assert event is not None
    assert event.user_id == user.id
    assert client.get(f"/registry/units/{other_village.id}/persons.csv").status_code == 404


def test_the_export_is_in_vietnamese_and_the_import_reads_its_columns_back(app_ctx, client, people):
    """Headers, sex, occupation group and dates in Vietnamese for a user in Vietnamese, in the import's own
    words (so a column copied into an import file is read back); the machine form for a user in English."""
    import csv as csv_module
    from datetime import date

    from lms.registry import importer

    person = db.session.scalar(select(Person).where(Person.full_name == "Trần Thị Ánh"))
    person.sex, person.birth_date, person.occupation_group = "F", date(1991, 11, 20), "official"
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    url = f"/registry/units/{people.id}/persons.csv"
    rows = list(csv_module.DictReader(io.StringIO(client.get(url).get_data(as_text=True).lstrip("\ufeff"))))
    row = next(r for r in rows if r["Họ và tên"] == "Trần Thị Ánh")
    assert (row["Ngày sinh"], row["Giới tính"], row["Nhóm nghề nghiệp"]) == (
        "20/11/1991",
        "Nữ",
        "Cán bộ, công chức, viên chức",
    )
    columns = {c.key: c for c in importer._Households.columns}
    for key, header in (("full_name", "Họ và tên"), ("birth_date", "Ngày sinh"), ("sex", "Giới tính")):
        assert columns[key].vi == header
    assert columns["birth_date"].parse(row["Ngày sinh"]) == date(1991, 11, 20)
    assert columns["sex"].parse(row["Giới tính"]) == "F"
    assert columns["occupation_group"].parse(row["Nhóm nghề nghiệp"]) == "official"
    for code, label in services.OCCUPATION_VI.items():
        assert columns["occupation_group"].parse(label) == code

    user.locale = "en"
    db.session.commit()
    english = client.get(url).get_data(as_text=True).lstrip("\ufeff")
    row = next(r for r in csv_module.DictReader(io.StringIO(english)) if r["full_name"] == "Trần Thị Ánh")
    assert (row["birth_date"], row["sex"], row["occupation_group"]) == ("1991-11-20", "F", "official")


def test_export_issues_a_constant_number_of_queries(app_ctx, client, people, count_queries):
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    url = f"/registry/units/{people.id}/persons.csv"
    client.get(url).get_data()  # the user's scopes are then cached for a while (ADR 27): count like for like
    with count_queries() as few:
        client.get(url).get_data()
    make_household(people, "2", *(f"Thêm Người {i}" for i in range(20)))
    db.session.commit()
    with count_queries() as many:
        client.get(url).get_data()
    assert many.count == few.count


def test_editing_a_household_refuses_a_duplicate_number(app_ctx, client, people):
    from lms.registry.models import Clan, Household

    second = make_household(people, "2", "Hồ Văn Hai")
    first = db.session.scalar(select(Household).where(Household.village_id == people.id, Household.code == "1"))
    clan = Clan(commune_id=people.parent_id, name="Họ Hồ")
    clan.households.append(second)
    db.session.add(clan)
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    assert "Họ Hồ" in client.get(f"/registry/households/{second.id}").get_data(as_text=True)
    url = f"/registry/households/{first.id}/edit"
    token = csrf_token(client, url)
    refused = client.post(url, data={"csrf_token": token, "code": "2", "address": ""})
    assert refused.status_code == 200
    assert "is-invalid" in refused.get_data(as_text=True)
    assert client.post(url, data={"csrf_token": token, "code": "1A", "address": "Tổ 3"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Household, first.id).code == "1A"


def test_a_household_is_named_by_its_head_its_code_only_a_field_of_its_own_page(app, app_ctx, client):
    """People know a household by its head (chủ hộ) and village, not by the registry's code: the village's list,
    a member's page and the titles' names say "Hộ Nguyễn Văn Hộ"; the code is a labelled field of the household's
    own page, for the clerk."""
    from lms.titles import recognition
    from lms.titles import services as title_services
    from lms.titles.models import SubjectType

    village = make_village(unit_by_code("23293"), "HN-V1", "Thôn Hà Nam")
    household = make_household(village, "ZX-0042", "Nguyễn Văn Hộ", "Trần Thị Vợ")
    empty = make_household(village, "ZX-0043")
    leader = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"))
    db.session.commit()
    login(client, leader)
    listing = client.get(f"/registry/units/{village.id}").get_data(as_text=True)
    listed = listing[listing.index('id="households"') :]
    assert "Hộ Nguyễn Văn Hộ" in listed
    assert "ZX-0042" not in listed
    assert "ZX-0043" not in listed
    assert "Hộ chưa có thành viên" in listed
    member = household.members[1]
    page = client.get(f"/registry/persons/{member.id}").get_data(as_text=True)
    assert "Hộ Nguyễn Văn Hộ" in page
    assert "ZX-0042" not in page
    own = client.get(f"/registry/households/{household.id}").get_data(as_text=True)
    assert "<h1" in own
    assert "Hộ Nguyễn Văn Hộ" in own[own.index("<h1") : own.index("</h1>")]
    assert "ZX-0042" not in own[: own.index('id="household-fields"')]  # not in the page's title or heading
    assert 'id="household-code">ZX-0042<' in own
    # The titles' names of a household: by its head and village; a household with no member by its labelled number.
    subjects = recognition.subjects(SubjectType.HOUSEHOLD, [household.id, empty.id])
    assert subjects[household.id].name == "Hộ Nguyễn Văn Hộ (Thôn Hà Nam)"
    assert subjects[empty.id].name == "Hộ số ZX-0043 (Thôn Hà Nam)"
    with app.test_request_context():  # the page's language (Vietnamese by default)
        labels = title_services.subject_labels([(SubjectType.HOUSEHOLD, household.id)])
    label = labels[(SubjectType.HOUSEHOLD, household.id)]
    assert "ZX-0042" not in f"{label.name} {label.detail}"
    assert label.name == "Hộ Nguyễn Văn Hộ"


def test_the_person_form_refuses_a_birth_in_the_future_and_says_how_to_write_a_phone(app_ctx, client, people):
    """Walked on a phone: the form saved a person born on 01/01/2099 (the registry import refuses it), and a phone
    number with letters got WTForms' 'Invalid input.', which says nothing of what to change."""
    person = db.session.scalars(select(Person).where(Person.unit_id == people.id)).first()
    born = person.birth_date
    user = make_user(Role.CENTRE_MANAGER, unit_by_code("23293"))
    db.session.commit()
    login(client, user)
    url = f"/registry/persons/{person.id}/edit"
    form = {
        "csrf_token": csrf_token(client, url),
        "full_name": person.full_name,
        "birth_date": "2099-01-01",
        "sex": "F",
        "occupation_group": "worker",
        "phone": "",
    }
    refused = client.post(url, data=form)
    assert refused.status_code == 200
    assert "Hãy nhập ngày sinh từ 01/01/1800 đến hôm nay." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Person, person.id).birth_date == born
    refused = client.post(url, data={**form, "birth_date": "1985-05-12", "phone": "số nhà 12"})
    assert refused.status_code == 200
    assert "Chỉ nhập chữ số (được dùng dấu cách, dấu chấm và dấu +), ví dụ: 0905 123 456." in refused.get_data(
        as_text=True
    )
    saved = client.post(url, data={**form, "birth_date": "1985-05-12", "phone": "0905 123 456"})
    assert saved.status_code == 302
