"""No export of ours hands a spreadsheet program a formula (CSV/formula injection, OWASP's rule).

A learner and an association officer are named ``=HYPERLINK(…)``; every CSV and xlsx download that lists them
must carry the name as text with a leading quote, and no xlsx cell may be a formula.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook

from courses import services
from courses.services import Mark
from lms.auth.models import Role
from lms.core.exports import safe_cell, save_workbook
from lms.extensions import db
from tests.conftest import login, make_user
from tests.courses.conftest import make_centre, make_class
from tests.courses.test_it_skills import hand_made_commune

EVIL = '=HYPERLINK("http://x","y")'
ROOT = Path(__file__).resolve().parent.parent


def _xlsx_cells(content: bytes) -> list:
    workbook = load_workbook(io.BytesIO(content))
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]


def test_safe_cell_follows_owasp():
    for value in (EVIL, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(value) == "'" + value
    for value in ("Nguyễn Văn A", "", 12, -3, None, "a=b"):
        assert safe_cell(value) == value


def test_saved_workbooks_hold_such_values_as_text():
    workbook = Workbook()
    workbook.active.append([EVIL, "-5", -5, "Y Hiên"])
    buffer = io.BytesIO()
    save_workbook(workbook, buffer)
    a, b, c, d = next(load_workbook(io.BytesIO(buffer.getvalue())).active.iter_rows())
    assert (a.value, a.data_type) == ("'" + EVIL, "s")
    assert (b.value, c.value, d.value) == ("'-5", -5, "Y Hiên")


def test_every_export_that_lists_the_person_neutralises_the_name(app_ctx, client):
    centre = make_centre(label="X")
    learner = centre.learners[0]
    learner.full_name = EVIL
    course_class = make_class(centre)
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 2, 8), datetime(2026, 3, 2, 10))])
    services.enrol(course_class, [learner.id])
    services.record_attendance(session, [Mark(learner.id, "present", datetime(2026, 3, 2, 9))], user_id=None)
    officers = hand_made_commune()
    officers.five_modules.full_name = EVIL
    admin = make_user(Role.ADMINISTRATOR, centre.commune, "exports@example.vn")
    db.session.commit()
    login(client, admin)

    response = client.get(f"/registry/units/{centre.commune.id}/persons.csv")
    assert response.status_code == 200
    fields = [field for row in csv.reader(io.StringIO(response.get_data(as_text=True))) for field in row]
    assert "'" + EVIL in fields
    assert not [f for f in fields if f.startswith(("=", "+", "-", "@", "\t", "\r"))]

    year = date.today().year
    downloads = {
        "attendance book": f"/courses/classes/{course_class.id}/attendance-book.xlsx",
        "blank sheet": f"/courses/classes/{course_class.id}/attendance-sheet.xlsx",
        "IT figures": f"/courses/it/units/{officers.unit.id}.xlsx?from=2026-01-01&to=2026-12-31",
    }
    for what, url in downloads.items():
        response = client.get(url)
        assert response.status_code == 200, (what, response.status_code)
        cells = _xlsx_cells(response.data)
        assert "'" + EVIL in [cell.value for cell in cells], what
        assert not [cell.coordinate for cell in cells if cell.data_type == "f"], what
    # The centre report lists no person, but goes through the same writer.
    response = client.get(f"/courses/clcs/{centre.clc.id}/report.xlsx?from={year}-01-01&to={year}-12-31")
    assert response.status_code == 200
    assert not [cell for cell in _xlsx_cells(response.data) if cell.data_type == "f"]


def test_every_csv_and_xlsx_writer_goes_through_the_helper():
    """A new writer that forgets lms.core.exports fails here; the two exceptions feed no spreadsheet program."""
    not_exports = {
        "lms/core/bulk.py",  # COPY … FROM STDIN into PostgreSQL (the titles engine, the registry import)
        "lms/registry/data/generate.py",  # the reference data files of the repository
    }
    writers = re.compile(r"csv\.writer\(|csv\.DictWriter\(|Workbook\(\)")
    offenders = []
    for path in [*ROOT.joinpath("lms").rglob("*.py"), *ROOT.joinpath("courses").rglob("*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        if relative in not_exports or relative == "lms/core/exports.py" or not writers.search(text):
            continue
        if "lms.core.exports" not in text or re.search(r"workbook\.save\(", text):
            offenders.append(relative)
    assert not offenders
