"""A birth date of which only the year is known ("1948" in a commune register, common for older people): the import
takes it — as text, as a number cell, beside whole dates —, the register keeps that only the year is known, and
every page, export and certificate shows the year, never an invented 1 January. A year alone in a later file names
the same person and never wipes a day already recorded."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from lms.auth.models import Role
from lms.core import spreadsheet
from lms.extensions import db
from lms.registry.models import Person
from tests.conftest import login, make_user
from tests.registry.test_import import HOUSEHOLD_HEADER, commune, csv_bytes, errors_of, run, villages, xlsx_bytes

__all__ = ["commune", "villages"]  # fixtures


def _row(code: str, name: str, born: object) -> list[object]:
    return ["IMP-1", code, "", name, born, "M", "", "", "", ""]


def _people() -> dict[str, tuple[date | None, bool]]:
    return {p.full_name: (p.birth_date, p.birth_year_only) for p in db.session.scalars(select(Person))}


def test_a_year_alone_is_taken_from_text_and_number_cells_and_kept_as_a_year(villages):
    rows = [
        HOUSEHOLD_HEADER,
        _row("H1", "Nguyễn Văn Lão", "1948"),
        _row("H1", "Trần Thị Bà", 1950),  # a number cell
        _row("H1", "Nguyễn Văn Con", "03/04/1975"),
        _row("H1", "Nguyễn Thị Cháu", "2001-02-03"),
    ]
    job = run("households", xlsx_bytes(rows), villages[0].parent, "ho.xlsx")

    assert job.status == "succeeded", job.errors
    assert _people() == {
        "Nguyễn Văn Lão": (date(1948, 1, 1), True),
        "Trần Thị Bà": (date(1950, 1, 1), True),
        "Nguyễn Văn Con": (date(1975, 4, 3), False),
        "Nguyễn Thị Cháu": (date(2001, 2, 3), False),
    }
    lao = db.session.scalars(select(Person).where(Person.full_name == "Nguyễn Văn Lão")).one()
    # Age rules read the age reached in a year: 78 in 2026, whatever the day.
    assert (lao.born, lao.age_on(date(2026, 1, 1)), lao.age_on(date(2026, 12, 31))) == ("1948", 78, 78)


def test_importing_the_year_again_changes_nothing_and_a_whole_date_completes_it(villages):
    run("households", csv_bytes([HOUSEHOLD_HEADER, _row("H1", "Nguyễn Văn Lão", "1948")]), villages[0].parent)
    again = run("households", csv_bytes([HOUSEHOLD_HEADER, _row("H1", "Nguyen Van Lao", "1948")]), villages[0].parent)
    assert again.summary["persons"] == {"created": 0, "updated": 1, "unchanged": 0}  # the name's spelling only
    assert _people() == {"Nguyen Van Lao": (date(1948, 1, 1), True)}

    whole = run(
        "households", csv_bytes([HOUSEHOLD_HEADER, _row("H1", "Nguyen Van Lao", "12/05/1948")]), villages[0].parent
    )
    assert whole.summary["persons"] == {"created": 0, "updated": 1, "unchanged": 0}  # the same person, completed
    assert _people() == {"Nguyen Van Lao": (date(1948, 5, 12), False)}


def test_a_year_alone_keeps_a_day_already_recorded_and_names_the_same_person(villages):
    run("households", csv_bytes([HOUSEHOLD_HEADER, _row("H1", "Nguyễn Văn Lão", "12/05/1948")]), villages[0].parent)
    job = run("households", csv_bytes([HOUSEHOLD_HEADER, _row("H1", "Nguyễn Văn Lão", "1948")]), villages[0].parent)

    assert job.status == "succeeded", job.errors
    assert job.summary["persons"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert _people() == {"Nguyễn Văn Lão": (date(1948, 5, 12), False)}


def test_a_year_to_come_or_not_a_year_is_refused_with_what_to_write(villages):
    rows = [HOUSEHOLD_HEADER, _row("H1", "A", "2999"), _row("H1", "B", "48"), _row("H1", "C", "năm 1948")]
    job = run("households", csv_bytes(rows), villages[0].parent)

    assert job.status == "failed"
    assert errors_of(job) == [
        (2, "birth_date", "the date 2999 is in the future"),
        (3, "birth_date", "“48” is not a date of birth; write dd/mm/yyyy, or the year alone (1948)"),
        (4, "birth_date", "“năm 1948” is not a date of birth; write dd/mm/yyyy, or the year alone (1948)"),
    ]
    assert job.errors[1]["message_vi"] == "“48” không phải ngày sinh; hãy ghi ngày/tháng/năm, hoặc chỉ năm (1948)"


def test_the_year_is_what_the_household_page_and_the_export_show(client, villages):
    run("households", csv_bytes([HOUSEHOLD_HEADER, _row("H1", "Nguyễn Văn Lão", "1948")]), villages[0].parent)
    lao = db.session.scalars(select(Person).where(Person.full_name == "Nguyễn Văn Lão")).one()
    user = make_user(Role.COMMUNE_LEADER, villages[0].parent, "clerk-year@example.vn")
    db.session.commit()
    login(client, user)

    page = client.get(f"/registry/households/{lao.household_id}").get_data(as_text=True)
    assert "<td>1948</td>" in page
    assert "01/01/1948" not in page
    person_page = client.get(f"/registry/persons/{lao.id}").get_data(as_text=True)
    assert "Năm sinh</dt>" in person_page
    assert ">1948</dd>" in person_page
    export = client.get(f"/registry/units/{villages[0].parent.id}/persons.csv").get_data(as_text=True)
    assert ",1948," in export
    assert "01/01/1948" not in export


def test_the_edit_form_keeps_a_year_alone_as_a_year(client, villages):
    run("households", csv_bytes([HOUSEHOLD_HEADER, _row("H1", "Nguyễn Văn Lão", "1948")]), villages[0].parent)
    lao = db.session.scalars(select(Person).where(Person.full_name == "Nguyễn Văn Lão")).one()
    user = make_user(Role.COMMUNE_LEADER, villages[0].parent, "clerk-edit-year@example.vn")
    db.session.commit()
    login(client, user)
    edit = f"/registry/persons/{lao.id}/edit"
    form = client.get(edit).get_data(as_text=True)
    box = next(tag for tag in form.split("<input")[1:] if 'name="birth_year_only"' in tag.split(">")[0])
    assert "checked" in box.split(">")[0]  # opens saying only the year is known
    from tests.conftest import csrf_token

    data = {"csrf_token": csrf_token(client, edit), "full_name": lao.full_name, "birth_date": "1948-01-01"}
    data.update(occupation_group="other", birth_year_only="y")
    assert client.post(edit, data=data).status_code == 302
    db.session.expire_all()
    assert _people()["Nguyễn Văn Lão"] == (date(1948, 1, 1), True)
    data.pop("birth_year_only")
    data["birth_date"] = "1948-05-12"
    assert client.post(edit, data=data).status_code == 302
    db.session.expire_all()
    assert _people()["Nguyễn Văn Lão"] == (date(1948, 5, 12), False)


def test_the_reader_tells_a_year_from_a_date():
    assert isinstance(spreadsheet.as_birth_date("1948"), spreadsheet.BirthYear)
    assert isinstance(spreadsheet.as_birth_date(1948.0), spreadsheet.BirthYear)
    assert not isinstance(spreadsheet.as_birth_date("01/01/1948"), spreadsheet.BirthYear)
    assert spreadsheet.as_birth_date("1948") == date(1948, 1, 1)


def test_an_officers_file_names_a_person_by_the_year_or_by_a_whole_date_of_it(villages):
    """The officers' (and organisations') files name a registered person by name, birth date, village and
    household: a person recorded with the year alone is named by that year or by a whole date in it, and a year
    alone names a person recorded with a whole date of that year."""
    from lms.registry.models import AssociationMembership

    people = [HOUSEHOLD_HEADER, _row("H1", "Nguyễn Văn Lão", "1948"), _row("H1", "Trần Văn Trẻ", "12/05/1990")]
    run("households", csv_bytes(people), villages[0].parent)
    header = ["unit_code", "full_name", "birth_date", "village_code", "household_code", "role"]
    rows = [
        header,
        ["IMP-1", "Nguyễn Văn Lão", "1948", "IMP-1", "H1", "Hội viên"],
        ["IMP-1", "Nguyễn Văn Lão", "03/04/1948", "IMP-1", "H1", "Cán bộ"],
        ["IMP-1", "Trần Văn Trẻ", "1990", "IMP-1", "H1", "Hội viên"],
    ]
    job = run("officers", csv_bytes(rows), villages[0].parent)

    assert job.status == "succeeded", job.errors
    held = {(m.person.full_name, m.role) for m in db.session.scalars(select(AssociationMembership))}
    assert held == {("Nguyễn Văn Lão", "member"), ("Nguyễn Văn Lão", "officer"), ("Trần Văn Trẻ", "member")}
    wrong = run(
        "officers",
        csv_bytes([header, ["IMP-1", "Trần Văn Trẻ", "1991", "IMP-1", "H1", "Hội viên"]]),
        villages[0].parent,
    )
    assert job.status == "succeeded"
    assert wrong.status == "failed"
    assert "born 1991" in errors_of(wrong)[0][2]


def test_the_titles_lists_name_a_person_by_the_year_alone(villages):
    """The leaders' lists (eligibility, registrations) show a person with their birth date and village: the year
    alone for a person whose register gives no more."""
    from lms.titles import services as titles

    run("households", csv_bytes([HOUSEHOLD_HEADER, _row("H1", "Nguyễn Văn Lão", "1948")]), villages[0].parent)
    lao = db.session.scalars(select(Person).where(Person.full_name == "Nguyễn Văn Lão")).one()
    detail = titles.subject_labels([("person", lao.id)])[("person", lao.id)].detail
    assert detail.startswith("1948 · ")
    assert "01/01/1948" not in detail


def test_a_register_completed_with_birth_dates_names_the_people_it_holds(villages):
    """People first registered without a birth date, the dates (or years) added by a later file: the same people,
    completed — before, each became a second person of the household. And a later list without the dates names the
    people recorded with them, keeping the dates."""
    people = [HOUSEHOLD_HEADER, _row("H1", "Nguyễn Văn Lão", ""), _row("H1", "Trần Văn Trẻ", "")]
    run("households", csv_bytes(people), villages[0].parent)
    dated = [HOUSEHOLD_HEADER, _row("H1", "Nguyễn Văn Lão", "1948"), _row("H1", "Trần Văn Trẻ", "12/05/1990")]
    job = run("households", csv_bytes(dated), villages[0].parent)

    assert job.summary["persons"] == {"created": 0, "updated": 2, "unchanged": 0}
    assert _people() == {"Nguyễn Văn Lão": (date(1948, 1, 1), True), "Trần Văn Trẻ": (date(1990, 5, 12), False)}
    undated = run("households", csv_bytes(people), villages[0].parent)
    assert undated.summary["persons"] == {"created": 0, "updated": 0, "unchanged": 2}
    assert len(_people()) == 2


def test_the_api_does_not_make_1_january_a_birthday_nobody_gave(client, villages):
    """Review finding R8: PATCH {"birth_year_only": false} alone turned a year alone into 1 January of it, shown from
    then on as a real day of birth (what ADR 49 exists to prevent)."""
    from lms.auth.models import ApiToken

    run("households", csv_bytes([HOUSEHOLD_HEADER, _row("H1", "Nguyễn Văn Lão", "1948")]), villages[0].parent)
    lao = db.session.scalars(select(Person).where(Person.full_name == "Nguyễn Văn Lão")).one()
    user = make_user(Role.COMMUNE_LEADER, villages[0].parent, "clerk-api-year@example.vn")
    _token, secret = ApiToken.issue(user, "phone")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    refused = client.patch(f"/api/v1/persons/{lao.id}", json={"birth_year_only": False}, headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["errors"][0]["field"] == "birth_date"
    db.session.expire_all()
    assert _people()["Nguyễn Văn Lão"] == (date(1948, 1, 1), True)
    whole = client.patch(
        f"/api/v1/persons/{lao.id}", json={"birth_date": "1948-05-12", "birth_year_only": False}, headers=headers
    )
    assert whole.status_code == 200
    db.session.expire_all()
    assert _people()["Nguyễn Văn Lão"] == (date(1948, 5, 12), False)


def test_the_api_refuses_a_birth_in_the_future_as_the_form_and_the_import_do(client, villages):
    from lms.auth.models import ApiToken

    run("households", csv_bytes([HOUSEHOLD_HEADER, _row("H1", "Y Sinh Sau", "1990")]), villages[0].parent)
    person = db.session.scalars(select(Person).where(Person.full_name == "Y Sinh Sau")).one()
    user = make_user(Role.COMMUNE_LEADER, villages[0].parent, "clerk-api-future@example.vn")
    _token, secret = ApiToken.issue(user, "phone")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "vi"}
    refused = client.patch(f"/api/v1/persons/{person.id}", json={"birth_date": "2099-01-01"}, headers=headers)
    assert refused.status_code == 422
    error = refused.get_json()["errors"][0]
    assert error["field"] == "birth_date"
    assert error["message"] == "Hãy nhập ngày sinh từ 01/01/1800 đến hôm nay."
    db.session.expire_all()
    assert _people()["Y Sinh Sau"] == (date(1990, 1, 1), True)
