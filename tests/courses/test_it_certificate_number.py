"""One national IT certificate belongs to one person. A certificate is identified by the accredited test centre that
issued it and its number (Joint Circular 17/2016, Art. 17.2: each test centre issues its own certificates): the
same number of the same centre recorded for a second person is refused — on the page and in the API — naming the
other person's record when the officer may see it, saying only that it is recorded when they may not. A rejected
record (a number mistyped, a claim that was not theirs) does not keep the genuine holder from recording it; the
database holds the rule too (migration 0047)."""

from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from courses import it_skills
from courses.it_skills import ItSkillsError
from courses.models import ItCertificate
from lms.auth.models import ApiToken, Role
from lms.extensions import db
from tests.conftest import csrf_token, login, make_user
from tests.courses.test_it_skills import PDF, hand_made_commune, scan

ISSUER = "Trung tâm sát hạch"  # what hand_made_commune's certificates name; CC-H-1 is Trần Văn Chứng's


def _post_form(client, url: str, number: str, issuer: str = ISSUER):
    return client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "number": number,
            "issuer": issuer,
            "issued_on": "2025-03-01",
            "file": (io.BytesIO(PDF), "scan.pdf"),
        },
        content_type="multipart/form-data",
    )


def _certificates(number: str) -> list[int]:
    return list(db.session.scalars(select(ItCertificate.person_id).where(ItCertificate.number == number)))


def test_a_manager_is_told_whose_record_holds_the_number_and_may_open_it(app_ctx, client):
    c = hand_made_commune()
    manager = make_user(Role.CENTRE_MANAGER, c.unit, "manager@example.vn")
    db.session.commit()
    login(client, manager)
    holder = db.session.scalar(select(ItCertificate).where(ItCertificate.number == "CC-H-1"))

    # The same certificate typed another way (case, spaces, no diacritics) is the same certificate.
    response = _post_form(client, f"/courses/it/persons/{c.vice.id}/certificates/new", " cc-h-1", "TRUNG TAM  sat hach")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "đã được ghi cho Trần Văn Chứng" in page
    assert f'href="/courses/it/certificates/{holder.id}"' in page
    assert _certificates("CC-H-1") == [c.by_certificate.id]
    # Another centre's certificate with the same number is another certificate.
    other = _post_form(client, f"/courses/it/persons/{c.vice.id}/certificates/new", "CC-H-1", "Trường Đại học Kon Tum")
    assert other.status_code == 302
    assert sorted(_certificates("CC-H-1")) == sorted([c.by_certificate.id, c.vice.id])


def test_a_learner_recording_their_own_is_told_only_that_it_is_recorded_for_someone_else(app_ctx, client):
    c = hand_made_commune()
    user = make_user(Role.INSTRUCTOR, c.unit, "instructor@example.vn")  # no right over other persons' certificates
    user.person_id = c.five_modules.id
    db.session.commit()
    login(client, user)
    response = _post_form(client, "/courses/it/me/certificates/new", "CC-H-1")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "đã được ghi cho một người khác" in page
    assert "Trần Văn Chứng" not in page
    assert _certificates("CC-H-1") == [c.by_certificate.id]


def _bearer(user) -> dict[str, str]:
    _, secret = ApiToken.issue(user, "phone")
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def _post_api(client, headers, person_id: int, number: str):
    return client.post(
        "/api/v1/it/certificates",
        data={
            "number": number,
            "issuer": ISSUER,
            "issued_on": "2025-03-01",
            "person_id": str(person_id),
            "file": (io.BytesIO(PDF), "scan.pdf"),
        },
        content_type="multipart/form-data",
        headers=headers,
    )


def test_the_api_refuses_it_naming_the_record_only_to_who_may_see_it(app_ctx, client):
    c = hand_made_commune()
    elsewhere = hand_made_commune("23302", label="K")
    here = _bearer(make_user(Role.CENTRE_MANAGER, c.unit, "here@example.vn"))
    there = _bearer(make_user(Role.CENTRE_MANAGER, elsewhere.unit, "there@example.vn"))
    holder = db.session.scalar(select(ItCertificate).where(ItCertificate.number == "CC-H-1"))

    named = _post_api(client, here, c.vice.id, "CC-H-1")
    assert named.status_code == 422
    (error,) = named.get_json()["errors"]
    assert error["field"] == "number"
    assert "Trần Văn Chứng" in error["message"]
    assert error["it_certificate_id"] == holder.id

    unnamed = _post_api(client, there, elsewhere.vice.id, "CC-H-1")
    assert unnamed.status_code == 422
    (error,) = unnamed.get_json()["errors"]
    assert error["field"] == "number"
    assert "một người khác" in error["message"]
    assert "Trần Văn Chứng" not in unnamed.get_data(as_text=True)
    assert "it_certificate_id" not in error
    assert _certificates("CC-H-1") == [c.by_certificate.id]


def test_a_rejected_record_does_not_keep_the_genuine_holder_from_recording_it(app_ctx):
    c = hand_made_commune()
    wrong = db.session.scalar(select(ItCertificate).where(ItCertificate.number == "CC-H-2"))
    it_skills.reject_certificate(wrong, user_id=None, reason="Số hiệu không có trong sổ của trung tâm")
    genuine = it_skills.record_certificate(
        person=c.vice, number="CC-H-2", issuer=ISSUER, issued_on=date(2025, 5, 1), upload=scan(), recorded_by_id=None
    )
    assert genuine.person_id == c.vice.id
    # The rejected record cannot then be verified behind the genuine one's back.
    with pytest.raises(ItSkillsError, match="CC-H-2"):
        it_skills.verify_certificate(wrong, user_id=None)


def test_the_database_holds_one_live_record_per_issuer_and_number(app_ctx):
    c = hand_made_commune()
    holder = db.session.scalar(select(ItCertificate).where(ItCertificate.number == "CC-H-1"))
    db.session.add(
        ItCertificate(
            person_id=c.vice.id,
            number=holder.number,
            issuer=holder.issuer,
            issued_on=holder.issued_on,
            evidence_file_id=holder.evidence_file_id,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def _recorded_meanwhile(person_id: int, number: str):
    """A listener that writes ``number`` for ``person_id`` just before the application's own INSERT of a
    certificate, as a second tab or another officer whose transaction committed first would have: the service's
    look found nothing, the database's index refuses the second record."""
    written: list[str] = []

    def meanwhile(conn, cursor, statement: str, *_) -> None:
        if statement.upper().startswith("INSERT INTO IT_CERTIFICATE") and not written:
            written.append(statement)
            marks = "%s" if conn.dialect.name == "postgresql" else "?"
            holder = db.session.scalar(select(ItCertificate).where(ItCertificate.number == "CC-H-1"))
            cursor.execute(
                "INSERT INTO it_certificate (person_id, number, issuer, issued_on, status, evidence_file_id, modules,"  # noqa: S608
                f" note, recorded_at) VALUES ({marks}, {marks}, {marks}, {marks}, 'pending', {marks}, '[]', '',"
                f" {marks})",
                (person_id, number, ISSUER, date(2025, 3, 1), holder.evidence_file_id, holder.recorded_at),
            )

    return meanwhile, written


def test_the_same_certificate_recorded_meanwhile_by_another_tab_is_a_refusal_not_an_error(app_ctx, client):
    """Two officers (or two tabs) record one certificate for two persons at once: both looks find nothing, the
    index refuses the second INSERT. The second is refused with the service's words (422, field ``number``), as
    when the first had been committed before its look — not a server error."""
    from sqlalchemy import event

    c = hand_made_commune()
    here = _bearer(make_user(Role.CENTRE_MANAGER, c.unit, "race@example.vn"))
    meanwhile, written = _recorded_meanwhile(c.five_modules.id, "CC-RACE-1")
    event.listen(db.engine, "before_cursor_execute", meanwhile)
    try:
        response = _post_api(client, here, c.vice.id, "CC-RACE-1")
    finally:
        event.remove(db.engine, "before_cursor_execute", meanwhile)
    assert written, "the other record was written between the look and the INSERT"
    assert response.status_code == 422, response.get_data(as_text=True)
    (error,) = response.get_json()["errors"]
    assert error["field"] == "number"
    assert c.vice.id not in _certificates("CC-RACE-1")


def test_a_rejected_record_verified_while_the_genuine_one_is_recorded_is_a_refusal_not_an_error(app_ctx):
    """Verifying a rejected record again while another officer records the same certificate for its genuine holder:
    the look finds nothing, the index refuses the record coming back to life. A refusal in the service's words, the
    record stays rejected — not an IntegrityError."""
    from sqlalchemy import event

    c = hand_made_commune()
    wrong = db.session.scalar(select(ItCertificate).where(ItCertificate.number == "CC-H-2"))
    it_skills.reject_certificate(wrong, user_id=None, reason="Số hiệu không có trong sổ của trung tâm")
    db.session.flush()
    written: list[str] = []

    def meanwhile(conn, cursor, statement: str, *_) -> None:
        if statement.upper().startswith("UPDATE IT_CERTIFICATE SET STATUS") and not written:
            written.append(statement)
            marks = "%s" if conn.dialect.name == "postgresql" else "?"
            cursor.execute(
                "INSERT INTO it_certificate (person_id, number, issuer, issued_on, status, evidence_file_id, modules,"  # noqa: S608
                f" note, recorded_at) VALUES ({marks}, {marks}, {marks}, {marks}, 'pending', {marks}, '[]', '',"
                f" {marks})",
                (c.vice.id, wrong.number, wrong.issuer, wrong.issued_on, wrong.evidence_file_id, wrong.recorded_at),
            )

    event.listen(db.engine, "before_cursor_execute", meanwhile)
    try:
        with pytest.raises(ItSkillsError, match="CC-H-2"):
            it_skills.verify_certificate(wrong, user_id=None)
    finally:
        event.remove(db.engine, "before_cursor_execute", meanwhile)
    assert written, "the genuine record was written between the look and the update"
    db.session.refresh(wrong)
    assert wrong.status == "rejected"


def test_the_holder_cannot_record_their_certificate_twice_typed_another_way(app_ctx):
    """The same certificate typed another way ("cc-h-1" for "CC-H-1") is the same certificate for its own holder too:
    a second live record of it would grant its modules twice once both are verified."""
    c = hand_made_commune()
    with pytest.raises(ItSkillsError, match="already recorded for this person"):
        it_skills.record_certificate(
            person=c.by_certificate,
            number="cc-h-1",
            issuer="TRUNG TAM sat hach",
            issued_on=date(2025, 3, 1),
            upload=scan(),
            recorded_by_id=None,
        )
    assert _certificates("cc-h-1") == []


def test_a_number_typed_with_other_spaces_is_the_same_certificate_for_anyone_recording_it(app_ctx):
    """ "CC - H - 1" is "CC-H-1" as the duplicates list reads it (:func:`it_skills.certificate_key`): neither another
    person nor the holder can start a second live record of it by typing its spaces differently."""
    c = hand_made_commune()
    for person, refusal in ((c.vice, "recorded for"), (c.by_certificate, "already recorded for this person")):
        with pytest.raises(ItSkillsError, match=refusal):
            it_skills.record_certificate(
                person=person,
                number="CC - H - 1",
                issuer=ISSUER,
                issued_on=date(2025, 3, 1),
                upload=scan(),
                recorded_by_id=None,
            )
    assert _certificates("CC - H - 1") == []


def test_a_record_made_before_the_rule_is_not_verified_next_to_the_live_one(app_ctx):
    """Records made before the rule (migration 0047) may hold one certificate twice, typed another way: the index
    compares exactly, so the migration let "cc-h-1" of "TRUNG TAM SAT HACH" stand next to "CC-H-1". Verifying it would
    make two verified records of one certificate; it is refused, naming the other, as recording it is."""
    c = hand_made_commune()
    holder = db.session.scalar(select(ItCertificate).where(ItCertificate.number == "CC-H-1"))
    earlier = ItCertificate(
        person_id=c.vice.id,
        number="cc-h-1",
        issuer="TRUNG TAM SAT HACH",
        issued_on=holder.issued_on,
        evidence_file_id=holder.evidence_file_id,
    )
    db.session.add(earlier)
    db.session.flush()
    with pytest.raises(ItSkillsError, match="another person"):
        it_skills.verify_certificate(earlier, user_id=None)
    assert earlier.status == "pending"


def test_the_openapi_document_declares_the_other_records_id_in_the_error(app_ctx, client):
    """The 422 of a certificate already recorded for someone else carries ``it_certificate_id``: the error entry the
    OpenAPI document declares for the operation says so, with every key the answer has."""
    c = hand_made_commune()
    here = _bearer(make_user(Role.CENTRE_MANAGER, c.unit, "doc@example.vn"))
    (error,) = _post_api(client, here, c.vice.id, "CC-H-1").get_json()["errors"]
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    def resolve(schema: dict) -> dict:
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    answer = document["paths"]["/api/v1/it/certificates"]["post"]["responses"]["422"]
    problem = resolve(answer["content"]["application/problem+json"]["schema"])
    entries = problem["properties"]["errors"]
    entry = resolve(next(s for s in entries.get("anyOf", [entries]) if s.get("type") == "array")["items"])
    assert set(error) <= set(entry["properties"]), set(error) - set(entry["properties"])
    assert entry["properties"]["it_certificate_id"]["description"]


def _typed_otherwise(c):
    """Records made before the rule: CC-H-1 of the test centre typed again another way for the vice-chair (case,
    spacing and diacritics of the centre, case and spacing of the number) — the exact index lets both stay live —
    and a third person's record of another number."""
    holder = db.session.scalar(select(ItCertificate).where(ItCertificate.number == "CC-H-1"))
    twice = ItCertificate(
        person_id=c.vice.id,
        number="cc-h-1 ",
        issuer="TRUNG TAM  SAT HACH",
        issued_on=holder.issued_on,
        evidence_file_id=holder.evidence_file_id,
    )
    db.session.add(twice)
    db.session.flush()
    return holder, twice


def test_the_certificates_page_lists_the_certificates_recorded_twice_typed_differently(client, app_ctx):
    """Migration 0047 holds one live record per exact issuer and number: a certificate typed otherwise before it
    stays live beside the first one. The IT certificates page (in the menu) lists them under "Ghi trùng", each
    record linked, to keep one and reject the others."""
    c = hand_made_commune()
    holder, twice = _typed_otherwise(c)
    from lms.registry.services import country

    admin = make_user(Role.ADMINISTRATOR, country(), "admin-dup@example.vn")
    db.session.commit()
    login(client, admin)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "vi"
    listing = client.get("/courses/it/certificates").get_data(as_text=True)
    assert 'href="/courses/it/certificates?status=duplicates"' in listing
    page = client.get("/courses/it/certificates?status=duplicates").get_data(as_text=True)
    (group,) = page.split('class="mb-3 it-duplicate"')[1:]
    assert "2 bản ghi" in group
    assert f"/courses/it/certificates/{holder.id}" in group
    assert f"/courses/it/certificates/{twice.id}" in group
    assert c.vice.full_name in group
    # A rejected record holds nothing: the certificate is no longer listed.
    twice.status = "rejected"
    db.session.commit()
    page = client.get("/courses/it/certificates?status=duplicates").get_data(as_text=True)
    assert "it-duplicate" not in page.split('id="it-duplicates"')[1]
    assert "Không có chứng chỉ nào bị ghi trùng" in page


def test_the_duplicates_command_lists_them_in_vietnamese(app, app_ctx):
    c = hand_made_commune()
    holder, twice = _typed_otherwise(c)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["it-skills", "duplicates"])
    assert result.exit_code == 0, result.output
    assert "1 chứng chỉ được ghi nhận nhiều lần" in result.output
    assert f"bản ghi {holder.id}:" in result.output
    assert f"bản ghi {twice.id}:" in result.output
    assert c.vice.full_name in result.output


def test_the_duplicates_say_the_day_each_record_was_made_in_vietnam_not_utc(client, app, app_ctx):
    """``recorded_at`` is stored in UTC: a record made at 03:00 on 8 December in Vietnam (20:00 UTC on the 7th) was
    made on 08/12/2026 — on the page's "Ghi trùng" tab and in ``flask it-skills duplicates`` alike."""
    from datetime import datetime

    from lms.registry.services import country

    c = hand_made_commune()
    holder, twice = _typed_otherwise(c)
    holder.recorded_at = datetime(2026, 11, 30, 9, 0)
    twice.recorded_at = datetime(2026, 12, 7, 20, 0)
    admin = make_user(Role.ADMINISTRATOR, country(), "admin-dup-day@example.vn")
    db.session.commit()
    login(client, admin)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "vi"
    page = client.get("/courses/it/certificates?status=duplicates").get_data(as_text=True)
    (group,) = page.split('class="mb-3 it-duplicate"')[1:]
    assert "08/12/2026" in group
    assert "07/12/2026" not in group
    output = app.test_cli_runner().invoke(args=["it-skills", "duplicates"]).output
    line = next(line for line in output.splitlines() if f"bản ghi {twice.id}:" in line)
    assert "08/12/2026" in line, line


def test_a_number_shared_only_with_another_scopes_record_does_not_crowd_out_the_readers_duplicates(app_ctx):
    """The list reads at most ``limit`` records: the records it reads are the reader's whose number another record
    of the reader's scope shares — a number the reader's record shares only with a record of another commune (another
    centre's certificate, or one the reader cannot see) can never be listed, and must not take the place of the
    reader's own duplicates."""
    from datetime import datetime

    from lms.auth.permissions import Permission

    c = hand_made_commune()
    elsewhere = hand_made_commune("23302", label="K")
    holder, twice = _typed_otherwise(c)
    own = ItCertificate(
        person_id=c.five_modules.id,
        number="Z-9",
        issuer=ISSUER,
        issued_on=holder.issued_on,
        evidence_file_id=holder.evidence_file_id,
        recorded_at=datetime(2020, 1, 1),
    )
    theirs = ItCertificate(
        person_id=elsewhere.five_modules.id,
        number="Z-9",
        issuer="Trung tâm khác",
        issued_on=holder.issued_on,
        evidence_file_id=holder.evidence_file_id,
        recorded_at=datetime(2020, 1, 1),
    )
    db.session.add_all([own, theirs])
    db.session.flush()
    verifier = make_user(Role.CENTRE_MANAGER, c.unit, "verifier-dup-scope@example.vn")
    db.session.flush()
    in_scope = it_skills.certificates_in_scope(verifier, Permission.IT_CERTIFICATE_VERIFY)
    groups = it_skills.typed_duplicates(in_scope, limit=2)
    assert [[record.id for record in group] for group in groups] == [[holder.id, twice.id]]


def test_the_duplicates_list_says_when_it_read_only_the_oldest_records(client, app, app_ctx, monkeypatch):
    """The list reads at most ``DUPLICATES_READ`` records, oldest first: when there are more, the tab and the command
    say that only the oldest were read and to come back once those are dealt with — never a silent cut, and never
    "no certificate is recorded twice" while some were not read."""
    from datetime import datetime

    from lms.registry.services import country

    c = hand_made_commune()
    holder, twice = _typed_otherwise(c)
    holder.recorded_at, twice.recorded_at = datetime(2024, 1, 1), datetime(2024, 1, 2)
    admin = make_user(Role.ADMINISTRATOR, country(), "admin-dup-cut@example.vn")
    db.session.commit()
    login(client, admin)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "vi"
    url = "/courses/it/certificates?status=duplicates"
    assert 'id="duplicates-cut"' not in client.get(url).get_data(as_text=True)

    monkeypatch.setattr(it_skills, "DUPLICATES_READ", 1)
    page = client.get(url).get_data(as_text=True)
    assert 'id="duplicates-cut"' in page
    assert "Mới đọc 1 bản ghi cũ nhất có thể bị ghi trùng" in page
    assert "Không có chứng chỉ nào bị ghi trùng" not in page
    output = app.test_cli_runner().invoke(args=["it-skills", "duplicates"]).output
    assert "Mới đọc 1 bản ghi cũ nhất" in output
    assert "chạy lại lệnh này" in output
    assert "Không có chứng chỉ nào bị ghi trùng" not in output


def test_the_duplicates_command_counts_its_certificates_in_the_singular_and_the_plural(app_ctx, monkeypatch):
    """The command's first line is a plural form (ngettext), not "certificate(s)": "1 certificate recorded more than
    once" in English; Vietnamese, which has one form, reads "1 chứng chỉ được ghi nhận nhiều lần"."""
    from contextlib import contextmanager

    from courses.cli import duplicates_report
    from lms.core import formatting

    _typed_otherwise(hand_made_commune())
    vietnamese = duplicates_report().splitlines()[0]
    assert vietnamese == "1 chứng chỉ được ghi nhận nhiều lần, gõ khác nhau:"
    speaking = formatting.speaking

    @contextmanager
    def in_english(_locale):
        with speaking("en") as chosen:
            yield chosen

    monkeypatch.setattr(formatting, "speaking", in_english)
    assert duplicates_report().splitlines()[0] == "1 certificate recorded more than once, typed differently:"
