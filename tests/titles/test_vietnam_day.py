"""Vietnam's day, not the server's: at 00:30 on 1 January in Vietnam it is still 31 December in UTC (the servers'
zone), yet the pages' default year, a "not in the future" check and a registration's date are Vietnam's
(lms.core.clock.local_today, the one definition)."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from courses import it_skills
from lms.auth.models import Role
from lms.extensions import db
from lms.registry import importer
from lms.titles import cli, recognition
from tests.conftest import freeze_clock, login, make_user, unit_by_code

NEW_YEARS_NIGHT = datetime(2026, 12, 31, 17, 30)  # UTC: 00:30 on 1/1/2027 in Vietnam
NEW_DAY = date(2027, 1, 1)


@pytest.fixture
def new_years_night(app_ctx, monkeypatch):
    freeze_clock(monkeypatch, NEW_YEARS_NIGHT)


def _year_field(page: str) -> str:
    return re.search(r'name="year"[^>]*value="(\d+)"|value="(\d+)"[^>]*name="year"', page).group(0)


def test_the_titles_pages_default_to_the_new_year_at_half_past_midnight_on_1_january(client, new_years_night):
    commune = unit_by_code("23293")
    manager = make_user(Role.CENTRE_MANAGER, commune, "vd-manager@example.vn")
    db.session.commit()
    login(client, manager)
    for url in (f"/titles/registrations?commune_id={commune.id}", f"/titles/registrations/new?commune_id={commune.id}"):
        page = client.get(url).get_data(as_text=True)
        assert 'value="2027"' in _year_field(page), url


def test_the_seed_demo_command_defaults_to_vietnams_year(new_years_night):
    (year,) = [p for p in cli.seed_demo_command.params if p.name == "year"]
    assert callable(year.default)
    assert year.default() == 2027


def test_a_certificate_issued_today_in_vietnam_is_not_refused_as_future(new_years_night):
    from tests.courses.test_it_skills import people, scan

    (holder,) = people(unit_by_code("23293"), "VD", "Trần Văn Đêm")
    certificate = it_skills.record_certificate(
        person=holder,
        number="CNTT-2027-1",
        issuer="Trường ĐH Đà Nẵng",
        issued_on=NEW_DAY,
        upload=scan(),
        recorded_by_id=None,
    )
    assert certificate.issued_on == NEW_DAY
    with pytest.raises(it_skills.ItSkillsError) as refused:
        it_skills.record_certificate(
            person=holder,
            number="CNTT-2027-2",
            issuer="Trường ĐH Đà Nẵng",
            issued_on=date(2027, 1, 2),
            upload=scan(),
            recorded_by_id=None,
        )
    assert refused.value.field == "issued_on"


def test_a_decision_dated_today_in_vietnam_is_not_refused_as_future(new_years_night):
    leader = make_user(Role.COMMUNE_LEADER, unit_by_code("23293"), "vd-leader@example.vn")

    def refused_field(day: date) -> str | None:
        try:
            recognition.check_decision([], decision_number="1/QĐ-UBND", decision_date=day, user=leader)
        except recognition.RecognitionError as exc:
            return exc.field
        return None

    assert refused_field(NEW_DAY) != "decision_date"
    assert refused_field(date(2027, 1, 2)) == "decision_date"


def test_a_birth_date_of_today_in_vietnam_is_imported(new_years_night):
    assert importer._birth_date("01/01/2027") == NEW_DAY
    with pytest.raises(importer._Invalid):
        importer._birth_date("02/01/2027")
