"""Spreadsheet import: every layout, every refusal, all-or-nothing, re-import without changes, progress, faces."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import current_app, has_request_context
from openpyxl import Workbook
from sqlalchemy import func, insert, select

from lms.auth.models import ApiToken, Role
from lms.extensions import db, utcnow
from lms.registry import importer
from lms.registry.importer import ImportRefused, create_job, execute_job
from lms.registry.models import (
    AdminUnit,
    AssociationMembership,
    Household,
    ImportJob,
    Organisation,
    OrganisationMember,
    Person,
)
from lms.registry.pii import decrypt_id_number, id_number_hash, protected_fields
from lms.registry.text import collation_key, person_sort_key
from tests.conftest import csrf_token, login, make_household, make_user, make_village, unit_by_code

HOUSEHOLD_HEADER = [
    "village_code",
    "household_code",
    "address",
    "full_name",
    "birth_date",
    "sex",
    "relation_to_head",
    "id_number",
    "ethnicity",
    "occupation_group",
]
NOTHING_IMPORTED = "; chưa nhập gì"  # a job's summary is in its owner's language, Vietnamese by default


# --- helpers -------------------------------------------------------------------------------------------------


def csv_bytes(rows: list[list[Any]], *, delimiter: str = ",", bom: bool = False) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode()


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def run(kind: str, content: bytes, unit: AdminUnit, filename: str | None = None) -> ImportJob:
    """Upload as the views do; the commit runs the (eager) Celery task."""
    job = create_job(kind=kind, filename=filename or f"{kind}.csv", content=content, unit=unit, user=None)
    db.session.commit()
    db.session.expire_all()
    return db.session.get_one(ImportJob, job.id)


def counts() -> dict[str, int]:
    models = (AdminUnit, Household, Person, Organisation, OrganisationMember, AssociationMembership, ImportJob)
    return {m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) or 0 for m in models}


def errors_of(job: ImportJob) -> list[tuple[int | None, str | None, str]]:
    return [(e["row"], e["column"], e["message"]) for e in job.errors]


def person(name: str) -> Person:
    return db.session.scalars(select(Person).where(Person.full_name == name)).one()


def give_id_number(someone: Person, number: str) -> None:
    for key, value in protected_fields(number).items():
        setattr(someone, key, value)


@pytest.fixture
def commune(app_ctx) -> AdminUnit:
    return unit_by_code("23293")


@pytest.fixture
def villages(commune) -> tuple[AdminUnit, AdminUnit]:
    first, second = make_village(commune, "IMP-1", "Thôn Một"), make_village(commune, "IMP-2", "Thôn Hai")
    db.session.commit()
    return first, second


GOOD_HOUSEHOLDS = [
    HOUSEHOLD_HEADER,
    [
        "IMP-1",
        "H1",
        "12 Trần Phú",
        "Nguyễn  Văn Đức",
        "01/02/1980",
        "Nam",
        "Chủ hộ",
        "062 080 000 001",
        "Kinh",
        "Cán bộ",
    ],
    ["IMP-1", "H1", "", "Trần Thị Ánh", "1982-03-04", "Nữ", "Vợ", "", "Kinh", "worker"],
    ["IMP-2", "H7", "", "Y Hiên", "", "F", "", "", "Ba Na", ""],
]


# --- households ----------------------------------------------------------------------------------------------


def test_households_file_creates_households_and_persons(villages):
    first, second = villages
    job = run("households", csv_bytes(GOOD_HOUSEHOLDS), first.parent)

    assert job.status == "succeeded", job.errors
    assert job.summary == {
        "households": {"created": 2, "updated": 0, "unchanged": 0},
        "persons": {"created": 3, "updated": 0, "unchanged": 0},
    }
    assert (job.total_rows, job.processed_rows, job.progress) == (3, 3, 100)
    head = person("Nguyễn Văn Đức")  # spaces collapsed, as the ORM validator does
    assert (head.name_folded, head.sort_key) == ("nguyen van duc", person_sort_key("Nguyễn Văn Đức"))
    assert (head.birth_date, head.sex, head.relation_to_head, head.occupation_group) == (
        date(1980, 2, 1),
        "M",
        "Chủ hộ",
        "official",
    )
    assert head.id_number_hash == id_number_hash("062080000001")
    assert decrypt_id_number(head.id_number_encrypted) == "062080000001"
    assert head.id_number_hint == "001"
    assert (head.household.code, head.household.address, head.unit_id) == ("H1", "12 Trần Phú", first.id)
    assert [p.full_name for p in head.household.members] == ["Trần Thị Ánh", "Nguyễn Văn Đức"]  # Vietnamese order
    hien = person("Y Hiên")
    assert (hien.household.village_id, hien.birth_date, hien.sex, hien.occupation_group, hien.id_number_hash) == (
        second.id,
        None,
        "F",
        "other",
        None,
    )


def test_importing_the_same_file_again_changes_nothing(villages):
    content = xlsx_bytes(GOOD_HOUSEHOLDS)
    first = run("households", content, villages[0].parent, "h.xlsx")
    assert first.status == "succeeded", first.errors
    before = counts()
    stamps = {p.id: (p.updated_at, p.id_number_encrypted) for p in db.session.scalars(select(Person))}
    household_stamps = {h.id: h.updated_at for h in db.session.scalars(select(Household))}

    again = run("households", content, villages[0].parent, "h.xlsx")

    assert again.status == "succeeded", again.errors
    assert again.summary == {
        "households": {"created": 0, "updated": 0, "unchanged": 2},
        "persons": {"created": 0, "updated": 0, "unchanged": 3},
    }
    assert counts() == {**before, "import_job": before["import_job"] + 1}
    assert {p.id: (p.updated_at, p.id_number_encrypted) for p in db.session.scalars(select(Person))} == stamps
    assert {h.id: h.updated_at for h in db.session.scalars(select(Household))} == household_stamps


def test_a_changed_file_updates_in_place_and_empty_cells_keep_stored_values(villages):
    run("households", csv_bytes(GOOD_HOUSEHOLDS), villages[0].parent)
    hien_id = person("Y Hiên").id
    changed = [
        ["village_code", "household_code", "full_name", "birth_date", "occupation_group", "address"],
        ["IMP-1", "H1", "Nguyen Van Duc", "01/02/1980", "", "14 Trần Phú"],  # matched by name without marks
        ["IMP-2", "H7", "Y Hiên", "", "Học sinh", ""],
    ]
    job = run("households", csv_bytes(changed), villages[0].parent)

    assert job.status == "succeeded", job.errors
    assert job.summary == {
        "households": {"created": 0, "updated": 1, "unchanged": 1},
        "persons": {"created": 0, "updated": 2, "unchanged": 0},
    }
    head = person("Nguyen Van Duc")
    assert (head.sex, head.occupation_group, head.name_folded) == ("M", "official", "nguyen van duc")
    assert head.id_number_hash == id_number_hash("062080000001")  # no id_number column: the number stays
    assert head.household.address == "14 Trần Phú"
    assert db.session.get_one(Person, hien_id).occupation_group == "pupil"
    assert counts()["person"] == 3


def test_vietnamese_headers_semicolons_and_a_byte_order_mark(villages):
    rows = [
        ["Mã thôn", "ma ho", "HỌ VÀ TÊN", "Ngày sinh", "Giới tính", "Số CCCD", "Ghi chú"],
        ["IMP-1", "H2", "Lê Văn An", "5/6/1990", "nam", "062090000002", "không cần"],
    ]
    job = run("households", csv_bytes(rows, delimiter=";", bom=True), villages[0].parent)

    assert job.status == "succeeded", job.errors
    an = person("Lê Văn An")
    assert (an.birth_date, an.sex, an.id_number_hint) == (date(1990, 6, 5), "M", "002")
    assert job.summary["ignored_columns"] == ["Ghi chú"]
    assert "các cột không được đọc: Ghi chú" in job.message


def test_xlsx_cells_typed_as_numbers_and_dates(villages):
    rows = [
        HOUSEHOLD_HEADER,
        ["IMP-1", 15, None, "Đinh Văn Dũng", datetime(1975, 12, 31), "M", None, 62075000003, None, None],
        [None] * 10,  # blank rows are skipped
        ["IMP-1", 15.0, None, "Rơ Châm Thưởng", date(2001, 1, 2), "F", None, None, None, None],
    ]
    job = run("households", xlsx_bytes(rows), villages[0].parent, "people.xlsx")

    assert job.status == "succeeded", job.errors
    dung = person("Đinh Văn Dũng")
    # A number cell loses the leading zero of an ID number and shows a code as 15.0; both are restored.
    assert dung.id_number_hash == id_number_hash("062075000003")
    assert (dung.household.code, dung.birth_date) == ("15", date(1975, 12, 31))
    assert person("Rơ Châm Thưởng").household_id == dung.household_id


# --- bad files -----------------------------------------------------------------------------------------------


def test_missing_headers_are_each_reported_and_nothing_is_imported(villages):
    before = counts()
    rows = [["Mã thôn", "address", "sex"], ["IMP-1", "x", "M"]]
    job = run("households", csv_bytes(rows), villages[0].parent)

    assert job.status == "failed"
    assert errors_of(job) == [
        (1, "household_code", "the column household_code (Mã hộ) is missing from the first row"),
        (1, "full_name", "the column full_name (Họ và tên) is missing from the first row"),
    ]
    assert job.errors[0]["message_vi"] == "dòng đầu tiên thiếu cột Mã hộ (household_code)"
    assert job.message == "2 lỗi ở 1 dòng" + NOTHING_IMPORTED
    assert counts() == {**before, "import_job": before["import_job"] + 1}


def test_wrong_types_and_dates_are_reported_with_row_column_and_reason(villages):
    before = counts()
    rows = [
        HOUSEHOLD_HEADER,
        ["IMP-1", "H1", "", "Hà Văn Bốn", "31/02/1990", "X", "", "12345", "", "sailor"],
        ["IMP-1", "H1", "", "", "2999-01-01", "", "", "", "", ""],
        ["IMP-1", "H1", "", "Hà Văn Năm", "năm 1990", "", "", "", "", ""],
    ]
    job = run("households", csv_bytes(rows), villages[0].parent)

    assert job.status == "failed"
    assert errors_of(job) == [
        (2, "birth_date", "“31/02/1990” is not a date of birth; write dd/mm/yyyy, or the year alone (1948)"),
        (2, "sex", "“X” is not one of: M, F"),
        (2, "id_number", "a personal ID number has exactly 12 digits"),
        (2, "occupation_group", "“sailor” is not one of: worker, official, pupil, other"),
        (3, "full_name", "a value is required"),
        (3, "birth_date", "the date 01/01/2999 is in the future"),
        (4, "birth_date", "“năm 1990” is not a date of birth; write dd/mm/yyyy, or the year alone (1948)"),
    ]
    assert job.errors[1]["message_vi"] == "“X” không phải một trong các giá trị: Nam, Nữ"
    assert job.message == "7 lỗi ở 3 dòng" + NOTHING_IMPORTED
    assert counts() == {**before, "import_job": before["import_job"] + 1}


def test_farmers_are_workers_however_the_register_spells_it(villages):
    """Plan 1514's "người lao động" includes farmers (ADR 12): a register's "Nông dân", with or without marks, in
    any case, or its upland forms, is read as a worker — not refused, and not to be typed "Khác"."""
    spellings = ["Nông dân", "nong dan", "NÔNG DÂN", "Nong Dan", "Làm rẫy", "lam nuong", "Làm ruộng", "farmer"]
    rows = [
        HOUSEHOLD_HEADER,
        *[["IMP-1", "HN", "", f"Hồ Văn Nông {n}", "", "", "", "", "Xơ Đăng", s] for n, s in enumerate(spellings)],
    ]
    job = run("households", csv_bytes(rows), villages[0].parent)

    assert job.status == "succeeded", job.errors
    assert [person(f"Hồ Văn Nông {n}").occupation_group for n in range(len(spellings))] == ["worker"] * len(spellings)


def test_every_bad_row_is_reported_not_only_the_first(villages):
    rows = [HOUSEHOLD_HEADER] + [
        ["IMP-1", f"H{n}", "", f"Người {n}", "1/1/1990" if n % 3 else "1/13/1990", "", "", "", "", ""]
        for n in range(1, 10)
    ]
    job = run("households", xlsx_bytes(rows), villages[0].parent, "many.xlsx")

    assert job.status == "failed"
    assert [(row, column) for row, column, _ in errors_of(job)] == [
        (4, "birth_date"),
        (7, "birth_date"),
        (10, "birth_date"),
    ]
    assert job.message == "3 lỗi ở 3 dòng" + NOTHING_IMPORTED
    assert counts()["person"] == 0


def test_duplicate_id_numbers_in_the_file_and_in_the_database(villages):
    first, second = villages
    elsewhere = make_household(second, "OLD", "Phạm Văn Cũ").members[0]
    give_id_number(elsewhere, "062070000009")
    db.session.commit()
    before = counts()
    rows = [
        HOUSEHOLD_HEADER,
        ["IMP-1", "H1", "", "Ksor Ba", "", "", "", "062080000001", "", ""],
        ["IMP-1", "H2", "", "Ksor Bảy", "", "", "", "062.080.000.001", "", ""],
        ["IMP-1", "H3", "", "Phạm Văn Mới", "", "", "", "062070000009", "", ""],
        ["IMP-1", "H4", "", "Siu Hoa", "", "", "", "", "", ""],
        ["IMP-1", "H4", "", "siu hoa", "", "", "", "", "", ""],
    ]
    job = run("households", csv_bytes(rows), first.parent)

    assert job.status == "failed"
    assert errors_of(job) == [
        (3, "id_number", "the same ID number is on row 2"),
        (
            4,
            "id_number",
            "This ID number cannot be recorded for this person. Check it against the person's card; "
            "if it is right, ask your administrator.",
        ),
        (6, "full_name", "the same person is on row 5"),
    ]
    assert counts() == {**before, "import_job": before["import_job"] + 1}


def test_unknown_villages_and_villages_outside_the_importers_commune(villages, commune):
    outside = make_village(unit_by_code("23302"), "OUT-1", "Thôn Ngoài")
    db.session.commit()
    before = counts()
    rows = [
        HOUSEHOLD_HEADER,
        ["OUT-1", "H1", "", "A Lưu", "", "", "", "", "", ""],
        ["NOPE-9", "H1", "", "A Lư", "", "", "", "", "", ""],
        ["IMP-1", "H1", "", "A Lứ", "", "", "", "", "", ""],
    ]
    job = run("households", csv_bytes(rows), commune)

    assert job.status == "failed"
    assert errors_of(job) == [
        (2, "village_code", f"village OUT-1 is not in {commune.full_name}"),
        (3, "village_code", "there is no village with code NOPE-9"),
    ]
    assert job.errors[0]["message_vi"] == f"thôn OUT-1 không thuộc {commune.full_name}"
    assert counts() == {**before, "import_job": before["import_job"] + 1}
    # The same file is fine for the province, which holds both communes.
    assert run("households", csv_bytes(rows[:2]), unit_by_code("51", "province")).status == "succeeded"
    assert person("A Lưu").unit_id == outside.id


@pytest.mark.parametrize(
    ("kind", "filename", "content", "field", "message"),
    [
        ("people", "a.csv", b"x", "kind", "unknown import kind 'people'"),
        ("households", "a.csv", b"", "file", "the file is empty"),
        ("households", "a.txt", b"x", "file", "only .xlsx and .csv files can be imported"),
        ("households", "a.xls", b"\xd0\xcf\x11\xe0", "file", "old .xls workbooks cannot be read"),
        ("households", "photo.xlsx", b"\x89PNG\r\n\x1a\n....", "file", "the file is not a readable .xlsx workbook"),
        (
            "households",
            "book.xlsx",
            b"PK\x03\x04 not really a zip",
            "file",
            "the file is not a readable .xlsx workbook",
        ),
    ],
)
def test_uploads_refused_at_once(commune, kind, filename, content, field, message):
    before = counts()
    with pytest.raises(ImportRefused, match=message) as refused:
        create_job(kind=kind, filename=filename, content=content, unit=commune, user=None)
    assert refused.value.field == field
    assert counts() == before


def test_a_file_over_the_size_limit_is_refused(app, commune, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2_000_000)
    with pytest.raises(ImportRefused, match=r"the file is too large \(2.1 MB\); the limit is 2.0 MB"):
        create_job(kind="households", filename="a.csv", content=b"x" * 2_100_000, unit=commune, user=None)
    assert create_job(kind="households", filename="a.csv", content=b"x" * 2_000_000, unit=commune, user=None)


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("book.xlsx", "zip", "the file is not a readable .xlsx workbook; save it again as .xlsx or as CSV UTF-8"),
        ("list.csv", "Mã thôn;Tên thôn\n".encode("latin-1"), "the CSV file is not UTF-8 text; save it as “CSV UTF-8”"),
        ("list.csv", b"village_code,full_name\x00\x00", "the file is not readable CSV text"),
        ("list.csv", b"\n\n", "the file is empty"),
        ("list.csv", b"village_code,household_code,full_name\n", "the file has a header row but no data rows"),
        ("book.xlsx", "empty workbook", "the file is empty"),
    ],
)
def test_unreadable_and_empty_files_fail_the_job(villages, filename, content, message):
    if content == "zip":  # a zip archive, but not a workbook (a .docx renamed, say)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("word/document.xml", "<w/>")
        content = buffer.getvalue()
    elif content == "empty workbook":
        content = xlsx_bytes([])
    before = counts()
    job = run("households", content, villages[0].parent, filename)

    assert job.status == "failed"
    assert errors_of(job) == [(None, None, message)]
    assert job.errors[0]["message_vi"]
    assert job.message == job.errors[0]["message_vi"] + NOTHING_IMPORTED
    assert counts() == {**before, "import_job": before["import_job"] + 1}


def test_too_many_rows(app, villages, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 3)
    rows = [HOUSEHOLD_HEADER] + [["IMP-1", "H1", "", f"Người {n}"] + [""] * 6 for n in range(4)]
    job = run("households", csv_bytes(rows), villages[0].parent)

    assert job.status == "failed"
    assert errors_of(job) == [(5, None, "the file has more than 3 data rows; split it into smaller files")]
    assert counts()["person"] == 0
    assert run("households", csv_bytes(rows[:4]), villages[0].parent).status == "succeeded"


def test_an_unexpected_error_while_applying_rolls_everything_back(villages, monkeypatch):
    def broken(raw: str) -> dict[str, object]:
        raise RuntimeError("key store unavailable")

    monkeypatch.setattr(importer, "protected_fields", broken)
    before = counts()
    job = create_job(
        kind="households", filename="h.csv", content=csv_bytes(GOOD_HOUSEHOLDS), unit=villages[0].parent, user=None
    )
    with pytest.raises(RuntimeError, match="key store unavailable"):
        db.session.commit()  # the eager task re-raises after recording the failure
    db.session.remove()  # the exception left this session inside its commit

    job = db.session.get_one(ImportJob, job.id)
    assert job.status == "failed"
    assert job.message == "việc nhập dừng lại do một lỗi không lường trước; chưa có dữ liệu nào được nhập"
    assert counts() == {**before, "import_job": before["import_job"] + 1}  # no household either


def test_a_job_runs_once_and_a_lost_worker_fails_it(villages):
    from lms.registry.tasks import sweep_imports

    job = create_job(
        kind="households",
        filename="h.csv",
        content=csv_bytes(GOOD_HOUSEHOLDS),
        unit=villages[0].parent,
        user=None,
        enqueue=False,
    )
    job.status, job.started_at = "running", utcnow() - timedelta(minutes=5)  # another worker is on it
    db.session.commit()

    execute_job(job.id)
    db.session.expire_all()
    assert (job.status, counts()["person"]) == ("running", 0)

    # That worker died (perhaps the file killed it): the sweep fails the job instead of running it again.
    job.started_at = utcnow() - timedelta(hours=1)
    db.session.commit()
    sweep_imports.delay()
    db.session.expire_all()
    job = db.session.get_one(ImportJob, job.id)
    assert job.status == "failed"
    assert job.message.startswith("tiến trình xử lý đã dừng khi đang nhập tệp này")
    assert job.content == b""
    execute_job(job.id)
    assert counts()["person"] == 0


def test_a_new_household_whose_people_live_in_another_household_of_the_village_is_pointed_out(villages, commune):
    """The register numbers a household "H1"; a village's list calls it "0001": its people would be created a second
    time in a new household. The preview says so, row by row, before anything is written (not refused: namesakes
    born the same day exist); a household the file names by its stored number raises nothing."""
    leader = make_user(Role.COMMUNE_LEADER, commune, "dup-vi@example.vn")
    applied = _run_as(leader, csv_bytes(GOOD_HOUSEHOLDS), commune)
    assert applied.status == "succeeded", applied.errors
    # Without the ID number (a village's list rarely has them; with it, the row is refused: the number is another
    # household's member's).
    renumbered = [HOUSEHOLD_HEADER, ["IMP-1", "0001", *GOOD_HOUSEHOLDS[1][2:7], "", *GOOD_HOUSEHOLDS[1][8:]]]
    job = create_job(
        kind="households", filename="h.csv", content=csv_bytes(renumbered), unit=commune, user=leader, dry_run=True
    )
    db.session.commit()
    db.session.expire_all()
    job = db.session.get_one(ImportJob, job.id)
    assert job.status == "previewed", (job.message, job.errors)
    assert job.preview["counts"]["households"]["created"] == 1
    (warning,) = job.preview["warnings"]
    assert warning.startswith("Dòng 2: Nguyễn Văn Đức của hộ mới IMP-1/0001 đã có trong hộ H1 của thôn này.")
    same = create_job(
        kind="households", filename="h.csv", content=csv_bytes(GOOD_HOUSEHOLDS), unit=commune, user=leader, dry_run=True
    )
    db.session.commit()
    db.session.expire_all()
    assert db.session.get_one(ImportJob, same.id).preview["warnings"] == []


def test_a_person_whose_data_was_erased_is_pointed_out_when_the_register_names_them_again(villages, commune):
    """ADR 57: an erased person keeps no name and no ID number, so next year's register, which still lists them,
    matches nobody and would record them again, named, counted twice in the household. The preview says so (not
    refused: a child born the same year does exist); the other rows raise nothing."""
    from lms.registry import privacy

    leader = make_user(Role.COMMUNE_LEADER, commune, "erased-again@example.vn")
    assert _run_as(leader, csv_bytes(GOOD_HOUSEHOLDS), commune).status == "succeeded"
    wife = person("Trần Thị Ánh")
    with current_app.test_request_context():  # the erasure's preview speaks the reader's language
        privacy.erase_person(wife, reason="Đơn ngày 01/12/2026", digest=privacy.erasure_preview(wife).digest)
    db.session.commit()
    job = create_job(
        kind="households", filename="h.csv", content=csv_bytes(GOOD_HOUSEHOLDS), unit=commune, user=leader, dry_run=True
    )
    db.session.commit()
    db.session.expire_all()
    job = db.session.get_one(ImportJob, job.id)
    assert job.status == "previewed", (job.message, job.errors)
    assert job.preview["counts"]["persons"]["created"] == 1
    (warning,) = job.preview["warnings"]
    assert warning.startswith("Dòng 3: Trần Thị Ánh sẽ là người mới của hộ IMP-1/H1, nơi có một người sinh năm 1982")


# --- the messages a job stores, written in a worker (no request) ---------------------------------------------


def _run_as(user: Any, content: bytes, unit: AdminUnit) -> ImportJob:
    """Upload as ``user``; the commit runs the task as a worker does: in an app context, with no request."""
    assert not has_request_context()
    job = create_job(kind="households", filename="h.csv", content=content, unit=unit, user=user)
    db.session.commit()
    db.session.expire_all()
    return db.session.get_one(ImportJob, job.id)


def test_a_jobs_summary_is_in_its_owners_language_vietnamese_by_default(villages, commune):
    """A worker has no request to choose a language: the job speaks its owner's (ADR 22), Vietnamese unless they
    chose English. Errors per row keep both languages (they are shown in the reader's)."""
    nobody_chose = make_user(Role.COMMUNE_LEADER, commune, "import-vi@example.vn")
    chose_english = make_user(Role.COMMUNE_LEADER, commune, "import-en@example.vn")
    chose_english.locale = "en"
    bad = csv_bytes([["village_code", "full_name"], ["IMP-1", "An"]])

    job = _run_as(nobody_chose, csv_bytes(GOOD_HOUSEHOLDS), commune)
    assert job.status == "succeeded", job.errors
    assert job.message == "Số hộ: 2 mới, 0 thay đổi, 0 không đổi; Số người: 3 mới, 0 thay đổi, 0 không đổi"
    failed = _run_as(nobody_chose, bad, commune)
    assert failed.message == "1 lỗi ở 1 dòng; chưa nhập gì"
    assert failed.errors[0]["message_vi"].startswith("dòng đầu tiên thiếu cột")

    again = _run_as(chose_english, csv_bytes(GOOD_HOUSEHOLDS), commune)
    assert again.message == "Households: 0 created, 0 updated, 2 unchanged; Persons: 0 created, 0 updated, 3 unchanged"
    assert _run_as(chose_english, bad, commune).message == "1 error in 1 row; nothing was imported"


def test_the_sweep_fails_each_lost_job_in_its_owners_language_in_one_statement(villages, commune, count_queries):
    from lms.registry.tasks import sweep_imports

    owners = [make_user(Role.COMMUNE_LEADER, commune, f"sweep-{n}@example.vn") for n in range(3)]
    owners[1].locale = "en"
    jobs = []
    for owner in [*owners, None]:
        job = create_job(
            kind="households",
            filename="h.csv",
            content=csv_bytes(GOOD_HOUSEHOLDS),
            unit=commune,
            user=owner,
            enqueue=False,
        )
        job.status, job.started_at = "running", utcnow() - timedelta(hours=1)
        jobs.append(job)
    db.session.commit()
    with count_queries() as statements:
        sweep_imports.delay()
    db.session.expire_all()
    messages = [db.session.get_one(ImportJob, job.id).message for job in jobs]
    vietnamese = "tiến trình xử lý đã dừng khi đang nhập tệp này; hãy tải tệp lên lại, hoặc chia nhỏ tệp"
    english = "the worker stopped while importing this file; upload it again, or split it"
    assert messages == [vietnamese, english, vietnamese, vietnamese]
    assert (
        len([s for s in statements.statements if s.lstrip().upper().startswith("UPDATE")]) == 4
    )  # one per kind of loss, and one clearing what old finished jobs showed


def test_what_a_finished_job_showed_is_cleared_after_its_retention_and_the_counts_stay(villages, commune):
    """The preview's rows and the refused cells name people: cleared IMPORT_DETAILS_KEPT after the job finished
    (Decree 13/2023's storage limitation, ADR 57), the summary's counts kept; a recent job keeps them."""
    from lms.registry.tasks import sweep_imports

    old, recent = (
        create_job(
            kind="households",
            filename=f"{n}.csv",
            content=csv_bytes(GOOD_HOUSEHOLDS),
            unit=commune,
            user=None,
            enqueue=False,
        )
        for n in ("old", "recent")
    )
    for job, days in ((old, 91), (recent, 10)):
        job.status, job.finished_at = "succeeded", utcnow() - timedelta(days=days)
        job.preview = {"rows": [{"full_name": "Y Hờ Lít"}]}
        job.errors = [{"row": 3, "column": "id_number", "message": "062086001234: sai"}]
        job.summary = {"persons": {"created": 3}}
    db.session.commit()
    sweep_imports.delay()
    db.session.expire_all()
    cleared, kept = db.session.get_one(ImportJob, old.id), db.session.get_one(ImportJob, recent.id)
    assert (cleared.preview, cleared.errors, cleared.summary) == (None, [], {"persons": {"created": 3}})
    assert kept.preview == {"rows": [{"full_name": "Y Hờ Lít"}]}
    assert kept.errors[0]["row"] == 3


def test_a_finished_job_forgets_its_file(villages):
    job = run("households", csv_bytes(GOOD_HOUSEHOLDS), villages[0].parent)
    db.session.expire_all()
    assert db.session.get_one(ImportJob, job.id).content == b""  # it held ID numbers in clear


def test_a_stray_cell_far_to_the_right_is_ignored(villages):
    rows = [list(r) for r in GOOD_HOUSEHOLDS]
    rows[1] = rows[1] + [None] * 200 + ["stray"]
    job = run("households", xlsx_bytes(rows), villages[0].parent, "h.xlsx")
    assert job.status == "succeeded", job.errors
    assert counts()["person"] == 3


def test_full_width_digits_are_the_same_id_number(villages):
    rows = [list(r) for r in GOOD_HOUSEHOLDS]
    rows[3][7] = "０６２０８００００００１"  # the head's number again, typed in full-width digits
    job = run("households", csv_bytes(rows), villages[0].parent)
    assert job.status == "failed"
    assert {(e["row"], e["column"]) for e in job.errors} >= {(4, rows[0][7])}
    assert counts()["person"] == 0


def test_one_person_written_with_and_without_the_id_number_is_a_duplicate(villages):
    rows = [list(r) for r in GOOD_HOUSEHOLDS]
    rows.append(["IMP-1", "H1", "", "Nguyen Van Duc", "01/02/1980", "Nam", "", "", "", ""])
    job = run("households", csv_bytes(rows), villages[0].parent)
    assert job.status == "failed"
    assert any(e["row"] == 5 and e["column"] == rows[0][3] for e in job.errors), job.errors


def test_error_messages_never_quote_an_id_number_in_clear(villages):
    rows = [list(r) for r in GOOD_HOUSEHOLDS]
    rows[2][4] = "062080000777"  # an ID number in the birth-date column
    job = run("households", csv_bytes(rows), villages[0].parent)
    assert job.status == "failed"
    text = repr(job.errors) + job.message
    assert "062080000777" not in text
    assert "777" in text


def test_a_finished_job_is_not_run_again(villages):
    job = run("households", csv_bytes(GOOD_HOUSEHOLDS), villages[0].parent)
    finished_at = job.finished_at
    db.session.execute(Person.__table__.delete())
    db.session.commit()

    execute_job(job.id)
    db.session.expire_all()

    assert counts()["person"] == 0
    assert db.session.get_one(ImportJob, job.id).finished_at == finished_at


# --- ten thousand rows ---------------------------------------------------------------------------------------


def households_file(village_codes: list[str], rows: int, start: int = 0) -> bytes:
    """``rows`` persons, four to a household, half of them with an ID number."""
    lines = [HOUSEHOLD_HEADER]
    for n in range(start, start + rows):
        lines.append(
            [
                village_codes[n // 4 % len(village_codes)],
                f"H{n // 4}",
                f"{n // 4} Đường Lê Lợi",
                f"Nguyễn Văn Thứ {n}",
                "15/08/1985",
                "M" if n % 2 else "F",
                "",
                f"0620{n:08d}" if n % 2 else "",
                "Kinh",
                "worker",
            ]
        )
    return csv_bytes(lines)


def job_statements(counter: Any) -> list[str]:
    """The statements of an import other than its own progress reports, which grow with rows by design."""
    return [s for s in counter.statements if "import_job" not in s]


def test_ten_thousand_rows_import_with_a_fixed_number_of_statements(commune, count_queries):
    codes = [f"BIG-{n}" for n in range(8)]
    for code in codes:
        make_village(commune, code, f"Thôn {code}")
    db.session.commit()

    with count_queries() as small:
        assert run("households", households_file(codes, 1_000), commune).status == "succeeded"
    with count_queries() as large:
        job = run("households", households_file(codes, 10_000, start=1_000), commune)

    assert job.status == "succeeded", job.errors[:5]
    assert job.summary == {
        "households": {"created": 2_500, "updated": 0, "unchanged": 0},
        "persons": {"created": 10_000, "updated": 0, "unchanged": 0},
    }
    assert counts()["person"] == 11_000
    assert db.session.scalar(select(func.count()).where(Person.id_number_hash.is_not(None))) == 5_500
    assert (job.total_rows, job.processed_rows) == (10_000, 10_000)
    progress_reports = [s for s in large.statements if s.startswith("UPDATE import_job SET processed_rows")]
    assert len(progress_reports) == 10_000 // importer.PROGRESS_EVERY  # the page's progress bar moved
    # A row-by-row import would send ≥ 10,000 statements. PostgreSQL's driver splits a bulk INSERT into pages
    # of 1,000 rows, so allow one more statement per page there.
    pages = 10 + 3
    assert len(job_statements(large)) <= len(job_statements(small)) + pages
    assert len(job_statements(large)) < 40


# --- villages ------------------------------------------------------------------------------------------------


def test_villages_are_created_under_their_commune_and_renamed_on_reimport(villages, commune):
    existing = villages[0]
    rows = [
        ["commune_code", "village_code", "village_name"],
        ["23293", "NEW-1", "Thôn Hòa Bình"],
        [23293, "NEW-2", "Làng Kon Klor"],
        ["23293", "IMP-1", "Thôn Một Mới"],
    ]
    job = run("villages", xlsx_bytes(rows), commune, "villages.xlsx")

    assert job.status == "succeeded", job.errors
    assert job.summary == {"villages": {"created": 2, "updated": 1, "unchanged": 0}}
    new = db.session.scalars(select(AdminUnit).where(AdminUnit.code == "NEW-1")).one()
    assert (new.kind, new.name, new.level, new.parent_id, new.valid_to) == (
        "Thôn",
        "Hòa Bình",
        "village",
        commune.id,
        None,
    )
    assert new.path == f"{commune.path}{new.id}/"  # as make_village builds it
    assert (new.name_folded, new.sort_key, new.area_class) == (
        "hoa binh",
        collation_key("Hòa Bình"),
        commune.area_class,
    )
    db.session.refresh(existing)
    assert (existing.kind, existing.name) == ("Thôn", "Một Mới")

    again = run("villages", xlsx_bytes(rows), commune, "villages.xlsx")
    assert again.summary == {"villages": {"created": 0, "updated": 0, "unchanged": 3}}


def test_village_rows_outside_scope_or_clashing_are_refused(villages, commune):
    make_village(unit_by_code("23302"), "TAKEN-1", "Thôn Khác")
    db.session.commit()
    before = counts()
    rows = [
        ["Mã xã", "Mã thôn", "Tên thôn"],
        ["23302", "V-1", "Thôn Một"],
        ["23281", "V-2", "Thôn Hai"],  # a commune that ended in 2025
        ["2329", "V-3", "Thôn Ba"],
        ["23293", "V-4", "Thôn Bốn"],
        ["23293", "V-4", "Thôn Bốn B"],
        ["23293", "TAKEN-1", "Thôn Khác"],
    ]
    job = run("villages", csv_bytes(rows), commune)

    assert job.status == "failed"
    assert errors_of(job) == [
        (2, "Mã xã", f"commune 23302 is not in {commune.full_name}"),
        (3, "Mã xã", "there is no current commune with code 23281"),
        (4, "Mã xã", "must be exactly 5 digits"),
        (6, "Mã thôn", "village V-4 is also on row 5"),
        (7, "Mã thôn", "village code TAKEN-1 already belongs to Phường Đăk BLa"),
    ]
    assert counts() == {**before, "import_job": before["import_job"] + 1}


# --- organisations and officers ------------------------------------------------------------------------------


@pytest.fixture
def residents(villages) -> dict[str, Person]:
    make_household(villages[0], "H1", "Nguyễn Văn Đức", "Trần Thị Ánh")
    duc, anh = person("Nguyễn Văn Đức"), person("Trần Thị Ánh")
    give_id_number(duc, "062080000001")
    anh.birth_date = date(1982, 3, 4)
    db.session.commit()
    return {"duc": duc, "anh": anh}


ORGANISATION_HEADER = [
    "commune_code",
    "organisation_code",
    "organisation_name",
    "kind",
    "managing_level",
    "member_id_number",
    "member_full_name",
    "member_birth_date",
    "member_village_code",
    "member_household_code",
    "position",
]


def test_organisations_with_their_members(residents, commune):
    rows = [
        ORGANISATION_HEADER,
        ["23293", "TH-1", "Trường Tiểu học Lê Lợi", "Trường học", "Xã", "062080000001", "", "", "", "", "Hiệu trưởng"],
        [
            "23293",
            "TH-1",
            "Trường Tiểu học Lê Lợi",
            "school",
            "commune",
            "",
            "tran thi anh",
            "04/03/1982",
            "IMP-1",
            "H1",
            "",
        ],
        ["23293", "UB-1", "Ủy ban nhân dân phường", "agency", "commune", "", "", "", "", "", ""],
    ]
    job = run("organisations", csv_bytes(rows), commune)

    assert job.status == "succeeded", job.errors
    assert job.summary == {
        "organisations": {"created": 2, "updated": 0, "unchanged": 0},
        "members": {"created": 2, "updated": 0, "unchanged": 0},
    }
    school = db.session.scalars(select(Organisation).where(Organisation.code == "TH-1")).one()
    assert (school.kind, school.managing_level, school.commune_id, school.name_folded) == (
        "school",
        "commune",
        commune.id,
        "truong tieu hoc le loi",
    )
    members = {m.person_id: m.position for m in db.session.scalars(select(OrganisationMember))}
    assert members == {residents["duc"].id: "Hiệu trưởng", residents["anh"].id: ""}

    again = run("organisations", csv_bytes(rows), commune)
    assert again.summary == {
        "organisations": {"created": 0, "updated": 0, "unchanged": 2},
        "members": {"created": 0, "updated": 0, "unchanged": 2},
    }


def test_organisation_rows_that_name_nobody_or_disagree(residents, commune):
    rows = [
        ORGANISATION_HEADER,
        ["23293", "TH-1", "Trường Lê Lợi", "school", "commune", "062099999999", "", "", "", "", ""],
        ["23293", "TH-1", "Trường Lê Lợi", "agency", "commune", "", "Trần Thị Ánh", "", "IMP-1", "H1", ""],
        ["23293", "TH-1", "Trường Lê Lợi", "school", "commune", "", "Trần Thị Ánh", "", "IMP-1", "", ""],
    ]
    job = run("organisations", csv_bytes(rows), commune)

    assert job.status == "failed"
    assert errors_of(job) == [
        (2, "member_id_number", f"no person with this ID number lives in {commune.full_name}"),
        (3, "kind", "differs from row 2 for the same organisation"),
        (3, "member_full_name", "no person named Trần Thị Ánh, born (no date), in household H1 of village IMP-1"),
        (
            4,
            "member_id_number",
            "give member_id_number, or member_full_name, member_village_code and member_household_code",
        ),
    ]
    assert counts()["organisation"] == 0


def test_association_officers(residents, commune, villages):
    rows = [
        [
            "unit_code",
            "id_number",
            "full_name",
            "birth_date",
            "village_code",
            "household_code",
            "role",
            "started_on",
            "ended_on",
        ],
        ["23293", "062080000001", "", "", "", "", "Chủ tịch", "01/01/2023", ""],
        ["IMP-1", "", "Trần Thị Ánh", "1982-03-04", "IMP-1", "H1", "hoi vien", "", ""],
    ]
    job = run("officers", csv_bytes(rows), commune)

    assert job.status == "succeeded", job.errors
    assert job.summary == {"officers": {"created": 2, "updated": 0, "unchanged": 0}}
    held = {(m.person_id, m.unit_id, m.role, m.started_on) for m in db.session.scalars(select(AssociationMembership))}
    assert held == {
        (residents["duc"].id, commune.id, "chair", date(2023, 1, 1)),
        (residents["anh"].id, villages[0].id, "member", None),
    }

    rows[1][-1] = "31/12/2025"  # the chair's term ends: same membership, updated
    again = run("officers", csv_bytes(rows), commune)
    assert again.summary == {"officers": {"created": 0, "updated": 1, "unchanged": 1}}
    chair = db.session.scalars(select(AssociationMembership).where(AssociationMembership.role == "chair")).one()
    assert chair.ended_on == date(2025, 12, 31)


def test_officer_rows_are_checked(residents, commune):
    make_village(unit_by_code("23302"), "OUT-1", "Thôn Ngoài")
    db.session.commit()
    rows = [
        ["Mã xã/thôn", "Số định danh cá nhân", "Vai trò", "Ngày bắt đầu", "Ngày kết thúc"],
        ["OUT-1", "062080000001", "Hội viên", "", ""],
        ["23293", "062080000001", "Chủ tịch", "01/01/2024", "01/01/2023"],
        ["23293", "062080000001", "Thủ quỹ", "", ""],
    ]
    job = run("officers", csv_bytes(rows), commune)

    assert job.status == "failed"
    assert errors_of(job) == [
        (2, "Mã xã/thôn", f"OUT-1 is not in {commune.full_name}"),
        (3, "Ngày kết thúc", "ends before it starts"),
        (4, "Vai trò", "“Thủ quỹ” is not one of: chair, vice_chair, officer, member"),
    ]
    no_identity = run("officers", csv_bytes([["unit_code", "role"], ["23293", "member"]]), commune)
    assert errors_of(no_identity) == [
        (
            1,
            None,
            "add the column id_number, or the columns full_name, village_code and household_code, "
            "to say who each row is about",
        ),
    ]
    assert counts()["association_membership"] == 0


# --- the example files --------------------------------------------------------------------------------------

TEMPLATES = Path(importer.__file__).parents[1] / "static" / "import-templates"


def test_the_example_files_import_in_order(commune):
    for kind in importer.KINDS:
        job = run(kind, (TEMPLATES / f"{kind}.csv").read_bytes(), commune, f"{kind}.csv")
        assert job.status == "succeeded", (kind, job.errors)
        assert all(counts["created"] for counts in job.summary.values()), (kind, job.summary)
    chair = db.session.scalars(select(AssociationMembership).where(AssociationMembership.role == "chair")).one()
    assert chair.person.full_name == "Nguyễn Văn Đức"


def test_the_example_files_are_in_vietnamese_and_open_in_excel():
    """A commune clerk opens the example in Excel and fills it in: Vietnamese headers and values, and a UTF-8 BOM
    without which Excel shows "Nguyá»…n" for "Nguyễn"."""
    for kind, layout in importer.LAYOUTS.items():
        raw = (TEMPLATES / f"{kind}.csv").read_bytes()
        assert raw.startswith(codecs.BOM_UTF8), kind
        header, *rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert header == [column.vi for column in layout.columns], kind
        english = {"M", "F", "worker", "official", "pupil", "other", "agency", "commune", "school", "enterprise"}
        assert not english & {value for row in rows for value in row}, kind


def test_the_readme_documents_every_column():
    readme = (TEMPLATES / "README.txt").read_text(encoding="utf-8")
    for layout in importer.LAYOUTS.values():
        for column in layout.columns:
            assert column.key in readme, column.key
            assert column.vi in readme, column.vi


def test_the_readme_lists_every_farmer_spelling_the_importer_accepts():
    """The README tells a clerk how a register's farmers may be written: its Vietnamese list and its English column
    name exactly the spellings the importer takes for a worker (importer.FARMER_SPELLINGS), no fewer, no other."""
    import re

    readme = (TEMPLATES / "README.txt").read_text(encoding="utf-8")
    flat = " ".join(readme.split())
    vietnamese = re.search(r"nông dân — ghi (.+?) — là người lao động", flat)
    assert vietnamese is not None
    assert re.findall(r'"([^"]+)"', vietnamese.group(1)) == list(importer.FARMER_SPELLINGS)
    english = re.search(r"and for farmers (.+?)\)", flat)
    assert english is not None
    assert [s.strip() for s in english.group(1).split(",")] == list(importer.FARMER_SPELLINGS)
    assert {importer.OCCUPATION(s) for s in importer.FARMER_SPELLINGS} == {"worker"}


# --- through the page, the API and the CLI -------------------------------------------------------------------


def _upload_page(client, token: str, commune: AdminUnit, rows: list[list[Any]], name: str = "ho-gia-dinh.csv"):
    return client.post(
        "/registry/imports/new",
        data={
            "csrf_token": token,
            "kind": "households",
            "unit": str(commune.id),
            "file": (io.BytesIO(csv_bytes(rows)), name),
        },
        content_type="multipart/form-data",
    )


def test_the_page_previews_and_writes_nothing_until_confirmed(client, villages, commune):
    manager = make_user(Role.CENTRE_MANAGER, commune)
    db.session.commit()
    login(client, manager)
    token = csrf_token(client, "/registry/imports/new")
    before = counts()
    response = _upload_page(client, token, commune, GOOD_HOUSEHOLDS)

    assert response.status_code == 302
    job = db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc())).first()
    assert response.headers["Location"].endswith(f"/registry/imports/{job.id}")
    assert (job.status, job.created_by_id, job.unit_id) == ("previewed", manager.id, commune.id)
    assert {k: v for k, v in counts().items() if k != "import_job"} == {
        k: v for k, v in before.items() if k != "import_job"
    }
    assert job.preview["counts"] == {
        "households": {"created": 2, "updated": 0, "unchanged": 0},
        "persons": {"created": 3, "updated": 0, "unchanged": 0},
    }
    assert [r["label"] for r in job.preview["samples"]["persons"]["new"]] == [
        "Nguyễn Văn Đức (IMP-1/H1)",
        "Trần Thị Ánh (IMP-1/H1)",
        "Y Hiên (IMP-2/H7)",
    ]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Chưa có dữ liệu nào được ghi" in page  # Vietnamese by default
    assert "Nguyễn Văn Đức (IMP-1/H1)" in page
    # The upload page lists it by its state in words, and offers the sample files to start from.
    upload = client.get("/registry/imports/new").get_data(as_text=True)
    recent = upload[upload.index(f'/registry/imports/{job.id}">ho-gia-dinh.csv</a>') :]
    # What the file held and for which unit (two "ho.csv" of two communes told apart), then its state in words.
    line = " ".join(recent[: recent.index("</li>")].split())
    assert f"(Hộ gia đình và nhân khẩu · {job.unit.full_name})</span> — Đã kiểm tra: chờ bạn xác nhận (" in line
    assert f"#{job.id}" not in upload
    for sample in ("villages", "households", "organisations", "officers"):
        href = f"/static/import-templates/{sample}.csv"
        assert f'href="{href}"' in upload
        assert client.get(href).status_code == 200
    assert "062080000001" not in page
    assert "062 080 000 001" not in page

    # Confirming applies exactly the preview.
    confirm = client.post(
        f"/registry/imports/{job.id}/confirm", data={"csrf_token": token, "digest": job.preview_digest}
    )
    assert confirm.status_code == 302
    db.session.expire_all()
    job = db.session.get_one(ImportJob, job.id)
    assert job.status == "succeeded"
    assert job.summary["persons"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert counts()["person"] == before["person"] + 3
    assert job.content == b""  # the file with ID numbers is dropped once applied

    bad = _upload_page(client, token, commune, [["Mã thôn"], ["IMP-1"]], "thieu-cot.csv")
    page = client.get(bad.headers["Location"]).get_data(as_text=True)
    assert "dòng đầu tiên thiếu cột Mã hộ (household_code)" in page  # Vietnamese by default


def test_a_preview_shows_changes_and_unchanged_rows(client, villages, commune):
    run("households", csv_bytes(GOOD_HOUSEHOLDS), commune)
    changed = [row[:] for row in GOOD_HOUSEHOLDS]
    changed[3][8] = "Xơ Đăng"  # Y Hiên's ethnicity is corrected
    job = create_job(
        kind="households", filename="h.csv", content=csv_bytes(changed), unit=commune, user=None, dry_run=True
    )
    db.session.commit()
    db.session.expire_all()
    job = db.session.get_one(ImportJob, job.id)

    assert job.status == "previewed"
    assert job.preview["counts"]["persons"] == {"created": 0, "updated": 1, "unchanged": 2}
    [row] = job.preview["samples"]["persons"]["changed"]
    assert (row["row"], row["label"]) == (4, "Y Hiên (IMP-2/H7)")
    assert row["changes"] == [{"field": "ethnicity", "old": "Ba Na", "new": "Xơ Đăng"}]
    assert person("Y Hiên").ethnicity == "Ba Na"  # nothing written


def test_confirm_previews_again_when_the_register_changed_in_between(client, villages, commune):
    manager = make_user(Role.CENTRE_MANAGER, commune)
    db.session.commit()
    login(client, manager)
    token = csrf_token(client, "/registry/imports/new")
    _upload_page(client, token, commune, GOOD_HOUSEHOLDS)
    job = db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc())).first()
    first_digest = job.preview_digest
    # Meanwhile someone else records one of the file's households and persons.
    make_household(villages[1], "H7", "Y Hiên")
    db.session.commit()

    client.post(f"/registry/imports/{job.id}/confirm", data={"csrf_token": token, "digest": first_digest})
    db.session.expire_all()
    job = db.session.get_one(ImportJob, job.id)
    assert job.status == "previewed"
    assert job.preview["outdated"] is True
    assert job.preview_digest != first_digest
    assert job.preview["counts"]["persons"] == {"created": 2, "updated": 1, "unchanged": 0}
    assert db.session.scalar(select(func.count()).select_from(Person).where(Person.full_name == "Trần Thị Ánh")) == 0
    page = client.get(f"/registry/imports/{job.id}").get_data(as_text=True)
    assert "Sổ đăng ký đã thay đổi" in page

    # The old digest is refused; the new one applies.
    client.post(f"/registry/imports/{job.id}/confirm", data={"csrf_token": token, "digest": first_digest})
    db.session.expire_all()
    assert db.session.get_one(ImportJob, job.id).status == "previewed"
    client.post(f"/registry/imports/{job.id}/confirm", data={"csrf_token": token, "digest": job.preview_digest})
    db.session.expire_all()
    job = db.session.get_one(ImportJob, job.id)
    assert job.status == "succeeded"
    assert job.summary["persons"] == {"created": 2, "updated": 1, "unchanged": 0}


def test_an_unconfirmed_preview_is_dropped_with_its_file(villages, commune):
    from lms.registry.tasks import sweep_imports

    job = create_job(
        kind="households", filename="h.csv", content=csv_bytes(GOOD_HOUSEHOLDS), unit=commune, user=None, dry_run=True
    )
    db.session.commit()
    job.finished_at = utcnow() - importer.PREVIEW_TIMEOUT - timedelta(minutes=1)
    db.session.commit()
    sweep_imports()
    db.session.expire_all()
    job = db.session.get_one(ImportJob, job.id)
    assert (job.status, job.content) == ("failed", b"")
    assert counts()["person"] == 0


def test_upload_through_the_api(client, villages, commune):
    user = make_user(Role.CENTRE_MANAGER, commune)
    _, secret = ApiToken.issue(user, "x")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    response = client.post(
        "/api/v1/imports",
        headers=headers,
        content_type="multipart/form-data",
        data={
            "kind": "households",
            "unit_id": str(commune.id),
            "file": (io.BytesIO(csv_bytes(GOOD_HOUSEHOLDS)), "h.csv"),
        },
    )

    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["id"]
    assert response.headers["Location"] == f"/api/v1/imports/{job_id}"
    body = client.get(f"/api/v1/imports/{job_id}", headers=headers).get_json()
    assert (body["status"], body["progress"], body["summary"]["persons"]["created"]) == ("succeeded", 100, 3)

    dry = client.post(
        "/api/v1/imports?dry_run=1",
        headers=headers,
        content_type="multipart/form-data",
        data={
            "kind": "households",
            "unit_id": str(commune.id),
            "file": (io.BytesIO(csv_bytes(GOOD_HOUSEHOLDS)), "h.csv"),
        },
    )
    assert dry.status_code == 202
    body = client.get(f"/api/v1/imports/{dry.get_json()['id']}", headers=headers).get_json()
    assert (body["status"], body["preview"]["counts"]["persons"]) == (
        "previewed",
        {"created": 0, "updated": 0, "unchanged": 3},
    )
    wrong = client.post(f"/api/v1/imports/{body['id']}/confirm", headers=headers, json={"preview_digest": "x"})
    # "Preview out of date" is a 409 across the API (lms.api.errors.stale_preview), with the preview as it is now.
    assert (wrong.status_code, wrong.get_json()["errors"][0]["field"]) == (409, "preview_digest")
    assert wrong.mimetype == "application/problem+json"
    assert wrong.get_json()["preview"]["preview_digest"] == body["preview_digest"]
    confirmed = client.post(
        f"/api/v1/imports/{body['id']}/confirm", headers=headers, json={"preview_digest": body["preview_digest"]}
    )
    assert confirmed.status_code == 202
    body = client.get(f"/api/v1/imports/{body['id']}", headers=headers).get_json()
    assert (body["status"], body["summary"]["persons"]["unchanged"]) == ("succeeded", 3)

    refused = client.post(
        "/api/v1/imports",
        headers=headers,
        content_type="multipart/form-data",
        data={
            "kind": "pets",
            "unit_id": str(commune.id),
            "file": (io.BytesIO(b"x"), "h.csv"),
        },
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "kind"


def test_cli_imports_a_file_and_fails_on_errors(app, villages, commune, tmp_path):
    good = tmp_path / "h.csv"
    good.write_bytes(csv_bytes(GOOD_HOUSEHOLDS))
    result = app.test_cli_runner().invoke(
        args=["import-file", str(good), "--kind", "households", "--unit", "23293", "--inline", "--dry-run"]
    )
    # In Vietnamese, as the pages (an administrator reads it): the preview's counts and rows, then that nothing was
    # written.
    assert result.exit_code == 0, result.output
    assert "Số người: 3 mới, 0 thay đổi, 0 không đổi" in result.output
    assert "mới (dòng 2): Nguyễn Văn Đức (IMP-1/H1)" in result.output
    assert "chạy thử: chưa ghi gì" in result.output
    assert counts()["person"] == 0
    result = app.test_cli_runner().invoke(
        args=["import-file", str(good), "--kind", "households", "--unit", "23293", "--inline"]
    )
    assert result.exit_code == 0, result.output
    assert counts()["person"] == 3
    job = db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc())).first()
    assert job is not None
    assert job.message
    assert job.message in result.output

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([HOUSEHOLD_HEADER, ["NOPE", "H1", "", "A", "", "", "", "", "", ""]]))
    result = app.test_cli_runner().invoke(
        args=["import-file", str(bad), "--kind", "households", "--unit", "23293", "--inline"]
    )
    assert result.exit_code == 1
    assert "dòng 2, cột village_code: " in result.output
    assert "there is no village" not in result.output


def test_the_check_loads_only_what_the_file_names(villages, commune):
    """Memory follows the file: the households it names are loaded, and its rows are matched with persons in the
    database (the rows in a temporary table, joined), not by loading the persons of the villages it touches."""
    make_household(villages[0], "H1", "Nguyễn Văn Đức").members[0].birth_date = date(1980, 2, 1)
    bystanders = make_household(villages[0], "OTHER", *(f"Người Khác {n}" for n in range(30)))
    db.session.commit()
    job = create_job(
        kind="households",
        filename="h.csv",
        content=csv_bytes(GOOD_HOUSEHOLDS),
        unit=commune,
        user=None,
        enqueue=False,
        dry_run=True,
    )
    db.session.commit()
    report = importer._Report()
    layout, _ = importer._check(job, report, publish_progress=False)

    assert not report
    assert set(layout.households) == {(villages[0].id, "H1")}
    head = person("Nguyễn Văn Đức")
    assert db.session.execute(select(importer.MATCHES)).all() == [(2, head.id)]  # row 2 names the head, in SQL
    assert not {m.id for m in bystanders.members} & set(db.session.scalars(select(importer.MATCHES.c.person_id)))
    assert not hasattr(layout, "persons")


def _crowd(village: AdminUnit, households: int, per_household: int) -> None:
    """``households`` stored households of ``per_household`` persons in ``village`` (bulk, as the demo loads)."""
    if not households:
        return
    db.session.execute(insert(Household), [{"village_id": village.id, "code": f"CROWD-{n}"} for n in range(households)])
    ids = db.session.scalars(
        select(Household.id).where(Household.village_id == village.id, Household.code.like("CROWD-%"))
    ).all()
    db.session.execute(
        insert(Person),
        [
            {
                **importer._name_columns(f"Người Đông {h}-{n}", person=True),
                "household_id": household_id,
                "unit_id": village.id,
                "occupation_group": "other",
            }
            for h, household_id in enumerate(ids)
            for n in range(per_household)
        ],
    )


def test_statements_do_not_grow_with_the_persons_already_in_the_villages(commune, count_queries):
    """The file's rows are matched in the database: the same file sends the same statements whether its villages
    hold a few persons or thousands (in other households and in the very households it names)."""
    statements, summaries = [], []
    for tag, crowd, start in (("FEW", 0, 0), ("MANY", 600, 1_000)):
        codes = [f"{tag}-{n}" for n in range(2)]
        places = [make_village(commune, code, f"Thôn {code}") for code in codes]
        for place in places:
            _crowd(place, crowd, 5)  # 3,000 bystanders per village, or none
        # Rows 1 and 3 of the file update these two; the next household it names holds bystanders, or nobody.
        named = make_household(places[0], f"H{start // 4}", f"Nguyễn Văn Thứ {start}", f"Nguyễn Văn Thứ {start + 2}")
        for member in named.members:
            member.birth_date = date(1985, 8, 15)
        make_household(places[1], f"H{start // 4 + 1}", *(f"Người Khác {n}" for n in range(crowd // 20)))
        db.session.commit()
        with count_queries() as counter:
            job = run("households", households_file(codes, 200, start=start), commune)
        assert job.status == "succeeded", job.errors[:5]
        statements.append(job_statements(counter))
        summaries.append(job.summary)

    assert (
        summaries[0]
        == summaries[1]
        == {
            "households": {"created": 48, "updated": 2, "unchanged": 0},
            "persons": {"created": 198, "updated": 2, "unchanged": 0},
        }
    )
    assert len(statements[1]) == len(statements[0]), "\n".join(statements[1])


def test_the_importers_own_refusals_are_in_the_users_language(client, villages, commune):
    """What ``confirm_job`` and ``create_job`` refuse with reaches users as it is (the CLI, the API's 422 for an
    unknown kind): Vietnamese first, through the catalogue, not English written in the code."""
    from flask_babel import force_locale

    from lms.registry.importer import PreviewOutdated, confirm_job

    job = create_job(
        kind="households", filename="h.csv", content=csv_bytes(GOOD_HOUSEHOLDS), unit=commune, user=None, dry_run=True
    )
    db.session.commit()
    db.session.expire_all()
    job = db.session.get_one(ImportJob, job.id)
    with current_app.test_request_context(), force_locale("vi"):
        with pytest.raises(PreviewOutdated) as outdated:
            confirm_job(job, digest="not-the-preview", user=None)
        assert str(outdated.value) == "Bản xem trước này không còn đúng nữa: hãy xem lại lượt nhập trước khi xác nhận."
        with pytest.raises(ImportRefused) as unknown:
            create_job(kind="pets", filename="h.csv", content=b"x", unit=commune, user=None)
        assert str(unknown.value).startswith("không có loại dữ liệu nhập 'pets'; chỉ nhận một trong: ")
    user = make_user(Role.CENTRE_MANAGER, commune)
    _, secret = ApiToken.issue(user, "x")
    db.session.commit()
    refused = client.post(
        "/api/v1/imports",
        headers={"Authorization": f"Bearer {secret}", "Accept-Language": "vi"},
        content_type="multipart/form-data",
        data={"kind": "pets", "unit_id": str(commune.id), "file": (io.BytesIO(b"x"), "h.csv")},
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["message"].startswith("không có loại dữ liệu nhập 'pets'")


def test_a_preview_confirmed_in_two_tabs_at_once_is_confirmed_once(villages, commune):
    """The other tab's confirmation landed between this one's read of the job and its own: refused as out of date
    (the page's and the API's 409), not confirmed and queued a second time."""
    from sqlalchemy import update

    from lms.registry.importer import PreviewOutdated, confirm_job

    job = create_job(
        kind="households", filename="h.csv", content=csv_bytes(GOOD_HOUSEHOLDS), unit=commune, user=None, dry_run=True
    )
    db.session.commit()
    job = db.session.get_one(ImportJob, job.id)
    assert job.status == "previewed"
    digest = job.preview_digest
    db.session.execute(  # the other tab, behind this session's copy of the job
        update(ImportJob)
        .where(ImportJob.id == job.id)
        .values(status="pending", dry_run=False)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(PreviewOutdated):
        confirm_job(job, digest=digest, user=None, enqueue=False)
    assert job.status == "pending"


def test_a_row_with_an_unreadable_birth_date_has_its_village_checked_in_the_same_upload(villages, commune):
    """Walked on a phone: a file whose row had a birth date in the future and an unknown village code listed only the
    date; fixed and uploaded again, it was refused for the village. One upload lists both."""
    rows = [
        HOUSEHOLD_HEADER,
        ["IMP-1", "H1", "", "A Lưu", "", "", "", "", "", ""],
        ["NOPE-8", "H2", "", "Y Hoa", "01/01/2099", "", "", "", "", ""],
        ["NOPE-8", "H3", "", "Y Lan", "", "", "", "0620", "", ""],
    ]
    job = run("households", csv_bytes(rows), commune)

    assert job.status == "failed"
    found = {(row, column) for row, column, _message in errors_of(job)}
    assert found == {(3, "birth_date"), (3, "village_code"), (4, "id_number"), (4, "village_code")}
    assert (3, "village_code", "there is no village with code NOPE-8") in errors_of(job)
