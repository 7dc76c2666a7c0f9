"""Registration for a year's title: one by one, in bulk, and by spreadsheet (every error with its row and column;
all or nothing)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from lms.auth.models import Role
from lms.extensions import db
from lms.registry.models import Clan, Organisation, Person
from lms.registry.services import set_id_number
from lms.titles import recognition
from lms.titles.models import EvaluationState, Registration
from tests.conftest import make_household, make_user, make_village, unit_by_code

YEAR = 2026


@pytest.fixture
def commune(app_ctx):
    commune = unit_by_code("23293")
    village = make_village(commune, "REG-V1", "Thôn Một")
    other_village = make_village(commune, "REG-V2", "Thôn Hai")
    households = [make_household(village, f"H{i}", f"Nguyễn Văn Hộ{i}") for i in range(3)]
    namesake = make_household(other_village, "H9", "Nguyễn Văn Hộ0")
    manager = make_user(Role.CENTRE_MANAGER, commune, "reg-manager@example.vn")
    return {
        "commune": commune,
        "village": village,
        "other_village": other_village,
        "households": households,
        "namesake": namesake,
        "manager": manager,
    }


def _registered(subject_type: str = "household") -> set[int]:
    return set(
        db.session.scalars(
            select(Registration.subject_id).where(Registration.subject_type == subject_type, Registration.year == YEAR)
        )
    )


def test_register_in_bulk_is_idempotent_and_marks_the_commune(commune):
    ids = [h.id for h in commune["households"]]
    result = recognition.register(title="family", year=YEAR, subject_ids=ids[:2], user=commune["manager"])
    assert result.created == ids[:2]
    assert result.already == []
    result = recognition.register(
        title="family", year=YEAR, subject_ids=ids, user=commune["manager"], registered_on=date(2026, 1, 5)
    )
    assert result.created == ids[2:]
    assert result.already == ids[:2]
    assert _registered() == set(ids)
    row = db.session.scalar(select(Registration).where(Registration.subject_id == ids[2]))
    assert row.commune_id == commune["commune"].id
    assert row.registered_on == date(2026, 1, 5)
    assert db.session.get(EvaluationState, (commune["commune"].id, YEAR)).marked_at is not None


def test_register_refuses_unknown_and_out_of_scope_subjects_whole(commune):
    other = make_household(make_village(unit_by_code("23302"), "REG-B", "Thôn B"), "HB", "Lê Thị B")
    with pytest.raises(recognition.RecognitionError) as caught:
        recognition.register(
            title="family",
            year=YEAR,
            subject_ids=[commune["households"][0].id, other.id, 999999],
            user=commune["manager"],
        )
    assert [d["index"] for d in caught.value.details] == [1, 2]
    assert _registered() == set()


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_import_households_from_xlsx(commune):
    content = _xlsx([["Mã hộ", "Mã thôn"], ["H0", "REG-V1"], ["H2", "REG-V1"], [None, None], ["H9", "REG-V2"]])
    result = recognition.import_registrations(
        content, "dang-ky.xlsx", commune=commune["commune"], title="family", year=YEAR, user=commune["manager"]
    )
    expected = {commune["households"][0].id, commune["households"][2].id, commune["namesake"].id}
    assert set(result.created) == expected == _registered()


def test_import_reports_every_error_with_row_and_column_and_applies_nothing(commune):
    content = b"household_code;village_code\nH0;REG-V1\nH7;REG-V1\n;REG-V1\nH1;NOPE\n"
    with pytest.raises(recognition.ImportRejected) as caught:
        recognition.import_registrations(
            content, "x.csv", commune=commune["commune"], title="family", year=YEAR, user=commune["manager"]
        )
    errors = [(e["row"], e["column"], e["message"]) for e in caught.value.errors]
    assert errors == [
        (3, "household_code", "no household H7 in village REG-V1"),
        (4, "household_code", "a value is required"),
        (5, "village_code", f"no village with code NOPE in {commune['commune'].full_name}"),
    ]
    assert _registered() == set()


def test_import_missing_column_is_named(commune):
    with pytest.raises(recognition.ImportRejected) as caught:
        recognition.import_registrations(
            b"household_code\nH0\n",
            "x.csv",
            commune=commune["commune"],
            title="family",
            year=YEAR,
            user=commune["manager"],
        )
    assert caught.value.errors[0]["row"] == 1
    assert caught.value.errors[0]["column"] == "village_code"


def test_import_persons_by_id_number_or_name_and_birth_date(commune):
    people = [h.members[0] for h in commune["households"]]
    set_id_number(people[0], "012345678901")
    people[1].birth_date = date(1980, 5, 1)
    namesake = commune["namesake"].members[0]  # same name as people[0], other village
    namesake.birth_date = date(1990, 2, 2)
    people[0].birth_date = date(1990, 2, 2)
    db.session.flush()
    content = _xlsx(
        [
            ["Số định danh", "Họ và tên", "Ngày sinh", "Mã thôn"],
            ["0123 4567 8901", None, None, None],
            [None, "nguyen van ho1", "01/05/1980", None],
            [None, "Nguyễn Văn Hộ0", date(1990, 2, 2), "REG-V2"],
        ]
    )
    result = recognition.import_registrations(
        content, "p.xlsx", commune=commune["commune"], title="citizen", year=YEAR, user=commune["manager"]
    )
    assert set(result.created) == {people[0].id, people[1].id, namesake.id}

    ambiguous = _xlsx(
        [["Họ và tên", "Ngày sinh"], ["Nguyễn Văn Hộ0", "02/02/1990"], ["Ai Đó", "31/02/1990"], ["Trần B", None]]
    )
    with pytest.raises(recognition.ImportRejected) as caught:
        recognition.import_registrations(
            ambiguous, "p.xlsx", commune=commune["commune"], title="citizen", year=YEAR + 1, user=commune["manager"]
        )
    assert [(e["row"], e["column"]) for e in caught.value.errors] == [
        (2, "Họ và tên"),
        (3, "Ngày sinh"),
        (4, "Ngày sinh"),
    ]
    assert "2 persons named" in caught.value.errors[0]["message"]


def test_import_organisations_clans_and_villages(commune):
    c = commune["commune"]
    org = Organisation(commune_id=c.id, code="UB-1", name="UBND xã")
    clan = Clan(commune_id=c.id, name="Họ Nguyễn")
    db.session.add_all([org, clan])
    db.session.flush()
    args = {"commune": c, "year": YEAR, "user": commune["manager"]}
    assert recognition.import_registrations(b"organisation_code\nUB-1\n", "o.csv", title="unit", **args).created == [
        org.id
    ]
    assert recognition.import_registrations(
        "Tên dòng họ\nho nguyen\n".encode(), "c.csv", title="clan", **args
    ).created == [clan.id]
    assert recognition.import_registrations(
        b"village_code\nREG-V2\n", "v.csv", title="village_community", **args
    ).created == [commune["other_village"].id]
    with pytest.raises(recognition.ImportRejected):
        recognition.import_registrations(b"x\n1\n", "c.csv", title="commune_community", **args)
    with pytest.raises(recognition.ImportRejected, match="error"):
        recognition.import_registrations(b"PK\x03\x04garbage", "c.xlsx", title="unit", **args)


def test_persons_of_the_village_register_with_their_commune(commune):
    person = commune["households"][0].members[0]
    assert isinstance(person, Person)
    recognition.register(title="citizen", year=YEAR, subject_ids=[person.id], user=commune["manager"])
    row = db.session.scalar(select(Registration).where(Registration.subject_type == "person"))
    assert row.commune_id == commune["commune"].id


def test_import_errors_are_given_in_both_languages_from_the_catalogue(commune, app):
    def errors(content: bytes) -> list[dict]:
        with app.test_request_context(), pytest.raises(recognition.ImportRejected) as caught:
            recognition.import_registrations(
                content, "x.csv", commune=commune["commune"], title="family", year=YEAR, user=commune["manager"]
            )
        return caught.value.errors

    assert errors("Mã hộ;Mã thôn;mã hộ gia đình\nH0;REG-V1;H0\n".encode()) == [
        {
            "row": 1,
            "column": "mã hộ gia đình",
            "message": "the column mã hộ gia đình appears twice in the first row",
            "message_vi": "cột mã hộ gia đình xuất hiện hai lần ở dòng đầu tiên",
        }
    ]
    where = commune["commune"].full_name
    assert errors("Mã hộ;Mã thôn\nH0;NOPE\n".encode()) == [
        {
            "row": 2,
            "column": "Mã thôn",
            "message": f"no village with code NOPE in {where}",
            "message_vi": f"không có thôn mã NOPE ở {where}",
        }
    ]


def test_import_persons_by_name_and_the_year_of_birth_alone(commune):
    """A commune register gives older people's year of birth alone ("1948", ADR 49), on either side: a year typed
    finds the person born that year; a whole date finds one stored with the year alone; two whole dates must agree."""
    people = [h.members[0] for h in commune["households"]]
    people[0].birth_date, people[0].birth_year_only = date(1948, 1, 1), True  # the registry knows the year alone
    people[1].birth_date = date(1952, 7, 9)
    db.session.flush()
    content = _xlsx(
        [
            ["Họ và tên", "Ngày sinh"],
            ["Nguyễn Văn Hộ0", "12/03/1948"],  # a whole date: the stored year alone matches it
            ["Nguyễn Văn Hộ1", 1952],  # the year typed as a number: the stored whole date of 1952 matches
        ]
    )
    result = recognition.import_registrations(
        content, "p.xlsx", commune=commune["commune"], title="citizen", year=YEAR, user=commune["manager"]
    )
    assert set(result.created) == {people[0].id, people[1].id}

    wrong_day = _xlsx([["Họ và tên", "Ngày sinh"], ["Nguyễn Văn Hộ1", "10/07/1952"], ["Nguyễn Văn Hộ1", "1953"]])
    with pytest.raises(recognition.ImportRejected) as caught:
        recognition.import_registrations(
            wrong_day, "p.xlsx", commune=commune["commune"], title="citizen", year=YEAR + 1, user=commune["manager"]
        )
    assert [(e["row"], e["column"]) for e in caught.value.errors] == [(2, "Họ và tên"), (3, "Họ và tên")]
    assert "1953" in caught.value.errors[1]["message"]
