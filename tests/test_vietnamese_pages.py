"""Every page of the route map, walked in Vietnamese (the default) with demo data, as an administrator and as a
commune leader: no English word and no internal code may show.

"English" is measured, not guessed: the vocabulary of the interface's English source strings (the catalogue's
msgids) less every word its Vietnamese translations use (so "PDF", "QR", "CNTT" and Vietnamese syllables written
without marks are never flagged), plus a few function words; and snake_case codes (``policy_study``). What the
reader may legitimately see in Latin letters — names, codes, units — is the allow-list below, kept short.
"""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from courses.models import Certificate, ClassSession, Course, CourseClass, ItCertificate
from lms.auth.models import User
from lms.extensions import db
from lms.registry.demo_cli import DEMO_PASSWORD
from lms.registry.models import AdminUnit, Clc, Household, ImportJob, Organisation, Person
from lms.titles import recognition
from lms.titles.models import Assessment, Eligibility, EvaluationRun, Recognition, RecognitionStatus, Title
from tests.conftest import login

CATALOGUE = Path(__file__).resolve().parents[1] / "lms" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
FUNCTION_WORDS = {"the", "and", "for", "with", "not", "yet", "this", "that", "from", "your", "none", "true", "false"}
# Seen in Latin letters on purpose: the product's name, file formats, standards, units and codes.
ALLOWED = {"lms", "xlsx", "csv", "pdf", "api", "iu", "url", "email", "mail", "example", "demo", "dd", "mm", "yyyy"}
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


def _words(text: str) -> set[str]:
    return {w.lower() for w in WORD.findall(text) if w.isascii() and len(w) >= 3}


def _english_vocabulary() -> set[str]:
    catalogue = read_po(CATALOGUE.open("rb"))
    english: set[str] = set()
    vietnamese: set[str] = set()
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in ids:
            english |= _words(re.sub(r"%\(\w+\)[sd]", " ", text))
        for text in strings:
            vietnamese |= _words(re.sub(r"%\(\w+\)[sd]", " ", text or ""))
    return (english | FUNCTION_WORDS) - vietnamese - ALLOWED


class _Visible(HTMLParser):
    """The text a reader sees or hears: text outside scripts and styles, and aria-label / placeholder / value of
    buttons (a title= tooltip may keep an internal code)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "svg"):
            self._skip += 1
        found = dict(attrs)
        for name in ("aria-label", "placeholder"):
            if found.get(name):
                self.parts.append(found[name] or "")
        if tag == "input" and found.get("type") in ("submit", "button") and found.get("value"):
            self.parts.append(found["value"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "svg") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


#: A code made by the app (a certificate's "K7TAP9QX2M4N8R", a household's "H12"): capitals and digits, which the
#: reader copies, never reads — its letters are not words ("TAP" made "tap" an English word on a class page once).
GENERATED_CODE = re.compile(r"\b(?=[A-Z0-9]*\d)[A-Z0-9]{4,}\b")


def english_in(text: str, vocabulary: set[str], names: set[str]) -> set[str]:
    text = GENERATED_CODE.sub(" ", text)
    found = {w for w in _words(text) if w in vocabulary and w not in names}
    return found | set(CODE.findall(text))


def _cli(app: Flask, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, (args, result.output, result.exception)


@pytest.fixture
def demo(app: Flask) -> dict:
    """The demo data set of ``make run``: units, population, logins, IT demo, criteria, plans, a year of learning,
    evaluated and computed (tasks run eagerly in tests)."""
    year = date.today().year
    for args in (
        ("setup-demo",),
        ("load-holidays",),
        ("seed-it-demo",),
        ("titles", "load-criteria"),
        ("targets", "load-plans"),
        ("titles", "seed-demo", "--year", str(year)),
    ):
        _cli(app, *args)
    leader = db.session.scalar(select(User).where(User.email == "xa@demo.example.vn"))
    assert leader is not None
    commune = leader.roles[0].unit
    _cli(app, "titles", "evaluate", "--unit", commune.code, "--year", str(year), "--inline")
    # A recognised household, with its history and certificate, as the commune leader would decide it.
    eligible = db.session.scalar(
        select(Eligibility).where(
            Eligibility.commune_id == commune.id,
            Eligibility.title == Title.FAMILY.value,
            Eligibility.year == year,
            Eligibility.eligible.is_(True),
        )
    )
    assert eligible is not None, "the demo has no eligible household to recognise"
    ids = recognition.propose(title=Title.FAMILY.value, year=year, subject_ids=[eligible.subject_id], user=leader)
    recognition.decide(ids, decision_number="12/QĐ-UBND", decision_date=date(year, 1, 15), user=leader)
    db.session.commit()
    _cli(app, "targets", "recompute", "--unit", commune.code, "--level", "commune", "--year", str(year))
    return {"commune": commune, "year": year}


def _first(stmt) -> int | None:
    return db.session.scalar(stmt.limit(1))


def _values(commune: AdminUnit) -> dict[str, list]:
    """For each route parameter, the demo commune's objects to open (first of each kind)."""
    village = _first(select(AdminUnit.id).where(AdminUnit.parent_id == commune.id).order_by(AdminUnit.sort_key))
    households = select(Household.id).join(AdminUnit, AdminUnit.id == Household.village_id)
    in_commune = AdminUnit.parent_id == commune.id
    values: dict[str, list] = {
        "unit_id": [commune.id, village],
        "household_id": [_first(households.where(in_commune).order_by(Household.id))],
        "person_id": [
            _first(
                select(Person.id)
                .join(Household, Household.id == Person.household_id)
                .join(AdminUnit, AdminUnit.id == Household.village_id)
                .where(in_commune)
                .order_by(Person.id)
            )
        ],
        "organisation_id": [_first(select(Organisation.id).where(Organisation.commune_id == commune.id))],
        "clc_id": [_first(select(Clc.id).where(Clc.commune_id == commune.id))],
        "job_id": [_first(select(ImportJob.id))],
        "course_id": [_first(select(Course.id).where(Course.unit_id == commune.id))],
        "class_id": [_first(select(CourseClass.id).order_by(CourseClass.id))],
        "session_id": [_first(select(ClassSession.id).order_by(ClassSession.id))],
        "it_certificate_id": [_first(select(ItCertificate.id))],
        "recognition_id": [
            _first(select(Recognition.id).where(Recognition.status == RecognitionStatus.RECOGNISED.value))
        ],
        "run_id": [_first(select(EvaluationRun.id))],
        "eligibility_id": [
            _first(select(Eligibility.id).where(Eligibility.eligible.is_(False)).order_by(Eligibility.id)),
            _first(select(Eligibility.id).where(Eligibility.eligible.is_(True)).order_by(Eligibility.id)),
        ],
        "assessment_id": [_first(select(Assessment.id))],
        "user_id": [_first(select(User.id).where(User.email == "xa@demo.example.vn"))],  # the account pages (ADR 52)
    }
    codes = [
        _first(select(Certificate.code)),
        _first(select(Recognition.certificate_code).where(Recognition.certificate_code.is_not(None))),
    ]
    values["code"] = [c for c in codes if c]
    return {name: [v for v in found if v is not None] for name, found in values.items()}


def _urls(app: Flask, values: dict[str, list]) -> tuple[list[str], set[str]]:
    """Every GET page (not the API, not static files) with each value of its parameters; the endpoints that could
    not be filled."""
    urls: list[str] = []
    unfilled: set[str] = set()
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.rule.startswith("/api/") or rule.endpoint == "static":
                continue
            names = sorted(rule.arguments)
            if not names:
                urls.append(url_for(rule.endpoint))
                continue
            options = [values.get(name, []) for name in names]
            if not all(options):
                unfilled.add(rule.endpoint)
                continue
            for index in range(max(len(o) for o in options)):
                args = {name: option[min(index, len(option) - 1)] for name, option in zip(names, options, strict=True)}
                try:
                    urls.append(url_for(rule.endpoint, **args))
                except Exception:  # noqa: BLE001 - a code of the other document kind does not fit this route
                    unfilled.add(rule.endpoint)
    return sorted(set(urls)), unfilled


def _names() -> set[str]:
    """Words of the places' and people's names ("Mường Than", "Can Lộc"): names are never translated."""
    words: set[str] = set()
    for name in db.session.scalars(select(AdminUnit.name).distinct()):
        words |= _words(name)
    for name in db.session.scalars(select(Person.full_name)):
        words |= _words(name)
    return words


def _context(text: str, word: str) -> str:
    match = re.search(r"\b" + re.escape(word) + r"\b", text, re.IGNORECASE)
    return text[max(0, match.start() - 50) : match.end() + 30] if match else ""


def _walk(
    client: FlaskClient, urls: list[str], vocabulary: set[str], names: set[str]
) -> tuple[dict[str, dict[str, str]], int]:
    problems: dict[str, dict[str, str]] = {}
    pages = 0
    for url in urls:
        response = client.get(url, headers={"Accept-Language": "en-US,en;q=0.9"})  # a phone set to English
        if response.status_code in (301, 302, 303) or response.mimetype != "text/html":
            continue
        pages += 1
        html = response.get_data(as_text=True)
        assert '<html lang="vi">' in html, url
        text = visible_text(html)
        found = english_in(text, vocabulary, names)
        if found:  # each with where it stands, to find the string to translate
            problems[url] = {word: _context(text, word) for word in sorted(found)}
    return problems, pages


def test_every_page_speaks_vietnamese(app: Flask, client: FlaskClient, demo: dict) -> None:
    vocabulary = _english_vocabulary()
    assert {"eligible", "recognition", "certificate", "learners"} <= vocabulary  # the measure is not empty
    urls, unfilled = _urls(app, _values(demo["commune"]))
    names = _names()
    assert len(urls) >= 50, urls
    walked = 0
    for email in ("admin@demo.example.vn", "xa@demo.example.vn"):
        user = db.session.scalar(select(User).where(User.email == email))
        fresh = app.test_client()
        login(fresh, user, DEMO_PASSWORD)
        problems, pages = _walk(fresh, urls, vocabulary, names)
        assert not problems, f"English or internal codes on {email}'s pages: {problems}"
        walked += pages
    assert walked >= 80, walked
    # Parameters the demo has no object for are named, so a gap in the walk is a decision, not an accident.
    # Credentials' DID documents, status lists and vendored files are JSON or scripts, not pages.
    assert unfilled <= {
        "registry.import_job",
        "courses.it_certificate",
        "courses.it_certificate_scan",
        "credentials.issuer_did",
        "credentials.status_list",
        "credentials.static",
        "credentials.it_certificate_credential",  # JSON, and the demo has no IT certificate
        "titles.decision_print_file",  # a PDF, and the demo has printed no decision
    }, unfilled


def test_the_measure_flags_english_and_codes() -> None:
    vocabulary = _english_vocabulary()
    assert english_in("Hộ gia đình — Not yet eligible", vocabulary, set()) == {"not", "yet", "eligible"}
    assert "policy_study" in english_in("Thiếu: policy_study", vocabulary, set())
    assert not english_in("Tỷ lệ 24,6 % · Tải xuống PDF · Xã Đăk Hà", vocabulary, set())
    assert not english_in("Mã xác thực: K7TAP9QX2M4N8R", vocabulary, set())  # a random code's letters are no words
    assert english_in("Mã: TAP the learner", vocabulary, set()) == {"the", "learner"} | ({"tap"} & vocabulary)


def test_the_catalogue_writes_khoa_and_xoa_with_the_mark_on_the_o() -> None:
    """The project writes "khóa", "xóa"; walked on a phone, the account page offered "Khoá tài khoản" (lock) while
    every page spells "khóa học" (course) so. No translation spells them the other way."""
    old_style = re.compile(r"\b(?:kho|xo)á", re.IGNORECASE)
    found = [
        text
        for message in read_po(CATALOGUE.open("rb"))
        if message.id
        for text in (message.string if isinstance(message.string, tuple) else (message.string,))
        if text and old_style.search(text)
    ]
    assert found == []


def test_the_catalogue_writes_mo_dun_as_circular_03_2014_does() -> None:
    """Circular 03/2014/TT-BTTTT writes "mô đun"; the IT certificate form said "sáu mô đun cơ bản … các mô-đun nâng
    cao" in one sentence, and My training "mô-đun" under a heading "Mô đun" (walk5's finding)."""
    found = [
        text
        for message in read_po(CATALOGUE.open("rb"))
        if message.id
        for text in (message.string if isinstance(message.string, tuple) else (message.string,))
        if text and "mô-đun" in text.lower()
    ]
    assert found == []
