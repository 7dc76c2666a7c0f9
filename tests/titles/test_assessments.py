"""Assessments: entry with evidence, verification, changes and deletion (each audited and marking its commune and
year for evaluation), scope, and the all-or-nothing spreadsheet import."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from lms.auth.models import Role
from lms.core.models import AuditEvent, EvidenceFile
from lms.extensions import db
from lms.titles import services
from lms.titles.models import Assessment, EvaluationState
from tests.conftest import choose_language, csrf_token, login, make_household, make_user, make_village, unit_by_code
from tests.titles.elig_helpers import citizen_criteria, eligibility

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def world(app_ctx):
    commune, other = unit_by_code("23293"), unit_by_code("23302")
    village = make_village(commune, "ASV-1", "Thôn Đánh Giá")
    village_b = make_village(other, "ASV-B", "Thôn Khác")
    people = make_household(village, "A1", "Y Lan", "A Tú", "Y Mai").members
    stranger = make_household(village_b, "B1", "A Bê").members[0]
    criteria = citizen_criteria()
    user = make_user(Role.CENTRE_MANAGER, commune)
    db.session.flush()
    return {
        "commune": commune,
        "other": other,
        "village": village,
        "people": people,
        "stranger": stranger,
        "criteria": criteria,
        "user": user,
    }


def _input(person, indicator="C_2", value="7", **kw):
    return services.AssessmentInput("person", person.id, 2026, indicator, value, **kw)


def _marked(commune_id: int, year: int) -> bool:
    state = db.session.get(EvaluationState, (commune_id, year))
    return state is not None and state.marked_at is not None


def _audits(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_evaluator_value_counts_at_once_and_marks_the_commune_year(world):
    person = world["people"][0]
    assessment = services.create_assessment(_input(person), user=world["user"])
    assert assessment.value == Decimal(7)
    assert assessment.commune_id == world["commune"].id
    assert assessment.counts
    assert _marked(world["commune"].id, 2026)
    assert _audits("assessment.create") == 1


def test_a_self_assessment_counts_once_verified(world):
    person = world["people"][0]
    assessment = services.create_assessment(_input(person, source="self"), user=world["user"])
    assert not assessment.counts
    db.session.execute(EvaluationState.__table__.update().values(marked_at=None))
    services.verify_assessment(assessment, user=world["user"])
    assert assessment.counts
    assert assessment.verified_by_id == world["user"].id
    assert _marked(world["commune"].id, 2026)
    # A new value needs verifying again.
    services.update_assessment(assessment, user=world["user"], value="9")
    assert assessment.value == Decimal(9)
    assert not assessment.counts
    assert _audits("assessment.verify") == 1
    assert _audits("assessment.update") == 1


def test_verification_needs_evidence_where_the_indicator_asks_for_it(world):
    person = world["people"][0]
    assessment = services.create_assessment(_input(person, "C3", "1", source="self"), user=world["user"])
    with pytest.raises(services.TitlesError) as refused:
        services.verify_assessment(assessment, user=world["user"])
    assert refused.value.field == "evidence"
    services.update_assessment(assessment, user=world["user"], evidence_ref="Biên bản họp thôn 12/3/2026")
    services.verify_assessment(assessment, user=world["user"])
    assert assessment.counts


@pytest.mark.parametrize(
    ("indicator", "value", "ok"),
    [
        ("C_2", "10", True),
        ("C_2", "10.5", False),
        ("C_2", "-1", False),
        ("C_2", "7,5", True),
        ("C3", "1", True),
        ("C3", "đạt", True),
        ("C3", "0.5", False),
        ("CX2", "97.5", True),
        ("CX2", "101", False),
        ("C1", "5", False),  # a computed indicator is never assessed
        ("ZZ", "5", False),
    ],
)
def test_values_are_read_as_the_indicator_says(world, indicator, value, ok):
    person = world["people"][0]
    if ok:
        services.create_assessment(_input(person, indicator, value), user=world["user"])
    else:
        with pytest.raises(services.TitlesError) as refused:
            services.create_assessment(_input(person, indicator, value), user=world["user"])
        assert refused.value.field in ("value", "indicator")


def test_a_subject_outside_the_scope_cannot_be_assessed(world):
    with pytest.raises(services.TitlesError) as refused:
        services.create_assessment(_input(world["stranger"]), user=world["user"])
    assert refused.value.field == "subject_id"
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0


def test_one_assessment_per_subject_year_and_indicator(world):
    person = world["people"][0]
    services.create_assessment(_input(person), user=world["user"])
    with pytest.raises(services.TitlesError):
        services.create_assessment(_input(person, value="3"), user=world["user"])


def test_delete_is_audited_and_marks(world):
    assessment = services.create_assessment(_input(world["people"][0]), user=world["user"])
    db.session.execute(EvaluationState.__table__.update().values(marked_at=None))
    services.delete_assessment(assessment, user=world["user"])
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0
    assert _marked(world["commune"].id, 2026)
    assert _audits("assessment.delete") == 1


# --- pages ---------------------------------------------------------------------------------------------------


def test_entry_page_with_an_evidence_file_then_verify(world, client):
    person = world["people"][1]
    row = eligibility(person, world["criteria"], eligible=False, score=40, missing=("C3",))
    db.session.commit()
    login(client, world["user"])
    url = f"/titles/assessments/new?subject_type=person&subject_id={person.id}&year=2026&indicator=C3"
    token = csrf_token(client, url)
    response = client.post(
        url,
        data={
            "csrf_token": token,
            "subject_type": "person",
            "subject_id": str(person.id),
            "year": "2026",
            "indicator": "C3",
            "value": "1",
            "source": "self",
            "evidence_ref": "",
            "evidence_file": (io.BytesIO(PNG), "tu-sach.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith(f"/titles/eligibility/{row.id}")
    assessment = db.session.scalar(select(Assessment).where(Assessment.subject_id == person.id))
    assert assessment.source == "self"
    assert assessment.evidence_file_id is not None
    assert db.session.get(EvidenceFile, assessment.evidence_file_id).filename == "tu-sach.png"
    evidence = client.get(f"/titles/assessments/{assessment.id}/evidence")
    assert evidence.status_code == 200
    assert evidence.data == PNG
    assert evidence.headers["Cache-Control"] == "private, no-store"
    page = client.get(f"/titles/assessments/{assessment.id}").get_data(as_text=True)
    assert "verify" in page
    token = csrf_token(client, f"/titles/assessments/{assessment.id}")
    assert client.post(f"/titles/assessments/{assessment.id}/verify", data={"csrf_token": token}).status_code == 302
    db.session.refresh(assessment)
    assert assessment.verified_at is not None
    # The commit queued the evaluation of the commune and year (eager here): it ran.
    assert db.session.get(EvaluationState, (world["commune"].id, 2026)).evaluated_at is not None


def test_entry_page_shows_what_to_fix(world, client):
    person = world["people"][0]
    db.session.commit()
    login(client, world["user"])
    url = f"/titles/assessments/new?subject_type=person&subject_id={person.id}&year=2026"
    token = csrf_token(client, url)
    html = client.post(
        url,
        data={
            "csrf_token": token,
            "subject_type": "person",
            "subject_id": str(person.id),
            "year": "2026",
            "indicator": "C_2",
            "value": "12",
            "source": "evaluator",
        },
    ).get_data(as_text=True)
    assert "0 đến 10" in html or "from 0 to 10" in html
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0


def test_other_communes_subjects_and_evidence_are_out_of_reach(world, client):
    stranger = world["stranger"]
    theirs = services.create_assessment(_input(stranger), user=make_user(Role.COMMUNE_LEADER, world["other"]))
    file = EvidenceFile(sha256="3" * 64, media_type="image/png", size=len(PNG), filename="x.png", content=PNG)
    db.session.add(file)
    db.session.flush()
    theirs.evidence_file_id = file.id
    db.session.commit()
    login(client, world["user"])
    assert (
        client.get(f"/titles/assessments/new?subject_type=person&subject_id={stranger.id}&year=2026").status_code == 404
    )
    assert client.get(f"/titles/assessments/{theirs.id}/evidence").status_code == 404
    assert client.get(f"/api/v1/titles/assessments/{theirs.id}/evidence").status_code == 404


def test_an_instructor_cannot_enter_assessments(world, client):
    instructor = make_user(Role.INSTRUCTOR, world["commune"])
    db.session.commit()
    login(client, instructor)
    person = world["people"][0]
    assert client.get(f"/titles/assessments/new?subject_type=person&subject_id={person.id}").status_code == 403
    assert client.get("/titles/assessments/import").status_code == 403


# --- import --------------------------------------------------------------------------------------------------


def _csv(rows: list[list[object]]) -> bytes:
    header = "Loại đối tượng,Mã đối tượng,Năm,Tiêu chí,Giá trị,Nguồn,Minh chứng\n"
    return (header + "".join(",".join(str(c) for c in row) + "\n" for row in rows)).encode()


def test_import_applies_every_row_and_updates_existing(world):
    a, b, c = world["people"]
    services.create_assessment(_input(a, "C_2", "2"), user=world["user"])
    result = services.import_assessments(
        "a.csv",
        _csv(
            [
                ["person", a.id, 2026, "C_2", 8, "evaluator", "Sổ 1"],
                ["person", b.id, 2026, "C3", "đạt", "tự đánh giá", "Ảnh tủ sách"],
                ["người", c.id, 2026, "CX2", '"95,5"', "", ""],
            ]
        ),
        user=world["user"],
    )
    assert result.errors == []
    assert (result.created, result.updated) == (2, 1)
    values = dict(db.session.execute(select(Assessment.subject_id, Assessment.value)).tuples().all())
    assert values == {a.id: Decimal(8), b.id: Decimal(1), c.id: Decimal("95.5")}
    assert db.session.scalar(select(Assessment.source).where(Assessment.subject_id == b.id)) == "self"
    assert _marked(world["commune"].id, 2026)


def test_import_reports_every_error_with_row_and_column_and_writes_nothing(world):
    a, b, _ = world["people"]
    result = services.import_assessments(
        "a.csv",
        _csv(
            [
                ["person", a.id, 2026, "C_2", 8, "evaluator", ""],  # fine
                ["robot", b.id, 2026, "C_2", 8, "", ""],  # row 3: subject type
                ["person", world["stranger"].id, 2026, "C_2", 8, "", ""],  # row 4: out of scope
                ["person", b.id, 1990, "C_2", 11, "", ""],  # row 5: year
                ["person", b.id, 2026, "C_2", 11, "", ""],  # row 6: value
                ["person", b.id, 2026, "C1", 5, "", ""],  # row 7: computed indicator
                ["person", a.id, 2026, "C_2", 7, "", ""],  # row 8: repeats row 2
            ]
        ),
        user=world["user"],
    )
    found = {(e["row"], e["column"]) for e in result.errors}
    assert found == {
        (3, "Loại đối tượng"),
        (4, "Mã đối tượng"),
        (5, "Năm"),
        (6, "Giá trị"),
        (7, "Tiêu chí"),
        (8, "Tiêu chí"),
    }
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0


def test_import_refuses_a_file_without_the_required_columns(world):
    result = services.import_assessments("a.csv", "Năm,Giá trị\n2026,5\n".encode(), user=world["user"])
    assert {e["column"] for e in result.errors} == {"Loại đối tượng", "Mã đối tượng", "Tiêu chí"}


def test_import_from_xlsx_through_the_page(world, client):
    a, b, _ = world["people"]
    book = Workbook()
    sheet = book.active
    sheet.append(["Loại đối tượng", "Mã đối tượng", "Năm", "Tiêu chí", "Giá trị"])
    sheet.append(["person", a.id, 2026, "C_2", 6])
    sheet.append(["person", b.id, 2026, "C_2", 99])
    content = io.BytesIO()
    book.save(content)
    db.session.commit()
    login(client, world["user"])
    token = csrf_token(client, "/titles/assessments/import")
    html = client.post(
        "/titles/assessments/import",
        data={"csrf_token": token, "file": (io.BytesIO(content.getvalue()), "danh-gia.xlsx")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert 'id="import-errors"' in html
    assert "<td>3</td>" in html
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0
    sheet.delete_rows(3)
    content = io.BytesIO()
    book.save(content)
    response = client.post(
        "/titles/assessments/import",
        data={"csrf_token": token, "file": (io.BytesIO(content.getvalue()), "danh-gia.xlsx")},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "chưa có dữ liệu nào được ghi" in html  # a preview, in Vietnamese
    assert "Y Lan — C_2 (2026)" in html
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0
    plan = re.search(r'name="plan" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/titles/assessments/import/confirm", data={"csrf_token": token, "plan": plan})
    assert response.status_code == 302
    assert db.session.scalar(select(Assessment.value).where(Assessment.subject_id == a.id)) == Decimal(6)
    tampered = client.post("/titles/assessments/import/confirm", data={"csrf_token": token, "plan": plan[:-2] + "xx"})
    assert tampered.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 1


def test_a_dry_run_writes_nothing_and_shows_what_follows(world):
    a, b, c = world["people"]
    kept = services.create_assessment(_input(a, "C_2", "2", source="self", evidence_ref="Sổ"), user=world["user"])
    services.verify_assessment(kept, user=world["user"])
    services.create_assessment(_input(c, "C_2", "5"), user=world["user"])
    eligibility(a, world["criteria"], eligible=False)
    db.session.execute(EvaluationState.__table__.update().values(marked_at=None))
    before = _audits("assessment.import")
    result = services.import_assessments(
        "a.csv",
        _csv(
            [
                ["person", a.id, 2026, "C_2", 8, "self", ""],  # changed, verification withdrawn
                ["person", b.id, 2026, "C3", "đạt", "", ""],  # new
                ["person", c.id, 2026, "C_2", 5, "", ""],  # unchanged
            ]
        ),
        user=world["user"],
        dry_run=True,
    )
    assert result.errors == []
    assert result.preview["counts"] == {"assessments": {"created": 1, "updated": 1, "unchanged": 1}}
    samples = result.preview["samples"]["assessments"]
    assert [(r["row"], r["label"]) for r in samples["new"]] == [(3, f"{b.full_name} — C3 (2026)")]
    assert samples["changed"][0]["changes"] == [{"field": "value", "old": "2", "new": "8"}]
    assert [r["label"] for r in samples["unchanged"]] == [f"{c.full_name} — C_2 (2026)"]
    assert result.preview["consequences"] == [
        f"{a.full_name}, 2026: eligibility computed as not yet eligible will be evaluated again",
        f"{a.full_name}: the self-assessment of C_2 was verified; it must be verified again",
    ]
    # Nothing written: values, verification, audit and evaluation marks as before.
    db.session.refresh(kept)
    assert (kept.value, kept.verified_at is not None) == (Decimal(2), True)
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 2
    assert _audits("assessment.import") == before
    assert not _marked(world["commune"].id, 2026)

    confirmed = services.apply_assessment_rows(
        result.rows, user=world["user"], filename="a.csv", expected_digest=result.digest
    )
    assert (confirmed.created, confirmed.updated, confirmed.unchanged, confirmed.outdated) == (1, 1, 1, False)
    assert (kept.value, kept.verified_at) == (Decimal(8), None)
    assert db.session.scalar(select(Assessment.value).where(Assessment.subject_id == b.id)) == Decimal(1)
    assert _marked(world["commune"].id, 2026)


def test_a_confirmation_writes_nothing_if_the_assessments_changed_since_the_preview(world):
    a, _b, _ = world["people"]
    result = services.import_assessments(
        "a.csv", _csv([["person", a.id, 2026, "C_2", 8, "", ""]]), user=world["user"], dry_run=True
    )
    assert result.preview["counts"]["assessments"]["created"] == 1
    services.create_assessment(_input(a, "C_2", "3"), user=world["user"])  # someone else, meanwhile

    again = services.apply_assessment_rows(
        result.rows, user=world["user"], filename="a.csv", expected_digest=result.digest
    )
    assert again.outdated
    assert again.preview["counts"]["assessments"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert db.session.scalar(select(Assessment.value).where(Assessment.subject_id == a.id)) == Decimal(3)


def test_import_queries_do_not_grow_with_rows(world, count_queries):
    village = world["village"]
    people = make_household(village, "A9", *(f"Người Nhập {i}" for i in range(40))).members
    rows = [["person", p.id, 2026, "C_2", 5, "", ""] for p in people]
    with count_queries() as small:
        assert services.import_assessments("a.csv", _csv(rows[:4]), user=world["user"]).created == 4
    db.session.execute(Assessment.__table__.delete())
    with count_queries() as large:
        assert services.import_assessments("a.csv", _csv(rows), user=world["user"]).created == 40
    assert large.count == small.count


def test_an_assessment_flows_through_the_engine_to_the_explanation(app_ctx, client):
    """The shipped citizen criteria and the real engine: an evaluator's points for c3 are in the person's result
    (and its explanation) as soon as the request that entered them has committed."""
    from lms.titles import criteria
    from lms.titles.models import Eligibility

    criteria.load_shipped_criteria()
    commune = unit_by_code("23293")
    person = make_household(make_village(commune, "ASV-E", "Thôn Máy"), "E1", "Y Hoa").members[0]
    user = make_user(Role.COMMUNE_LEADER, commune)
    db.session.commit()
    login(client, user)
    url = f"/titles/assessments/new?subject_type=person&subject_id={person.id}&year=2026"
    form = client.get(url).get_data(as_text=True)
    assert 'value="c3"' in form
    assert 'value="c1"' in form
    response = client.post(
        url,
        data={
            "csrf_token": csrf_token(client, url),
            "subject_type": "person",
            "subject_id": str(person.id),
            "year": "2026",
            "indicator": "c3",
            "value": "10",
            "source": "evaluator",
        },
    )
    assert response.status_code == 302
    row = db.session.scalar(
        select(Eligibility).where(
            Eligibility.subject_type == "person",
            Eligibility.subject_id == person.id,
            Eligibility.title == "citizen",
            Eligibility.year == 2026,
        )
    )
    assert row is not None
    item = next(i for i in row.breakdown if i["indicator"] == "c3")
    assert item["points"] == 10
    assert item["source"]["kind"] == "assessment"
    choose_language(client, "en", "/")
    english = client.get(f"/titles/eligibility/{row.id}").get_data(as_text=True)
    assert "assessment by an evaluator" in english
    assert "|c3|" not in row.missing  # full points: nothing lacking for c3 …
    assert "|c1|" in row.missing  # … while the learning indicators still say what is


def test_a_change_posted_without_a_value_is_refused_not_a_500(world, client):
    person = world["people"][0]
    assessment = services.create_assessment(_input(person, value="7"), user=world["user"])
    db.session.commit()
    login(client, world["user"])
    url = f"/titles/assessments/{assessment.id}"
    token = csrf_token(client, url)
    response = client.post(
        url, data={"csrf_token": token, "year": "2026", "source": "evaluator", "note": "thiếu giá trị"}
    )
    assert response.status_code == 200  # the form again, with the error on the value
    assert 'name="value"' in response.get_data(as_text=True)
    db.session.refresh(assessment)
    assert assessment.value == Decimal(7)
    assert assessment.note != "thiếu giá trị"


def test_new_evidence_for_a_self_assessment_needs_verifying_again(world):
    person = world["people"][0]
    assessment = services.create_assessment(_input(person, source="self", evidence_ref="Sổ 1"), user=world["user"])
    services.verify_assessment(assessment, user=world["user"])
    services.update_assessment(assessment, user=world["user"], evidence_ref="Sổ 1", note="chỉ ghi chú")
    assert assessment.counts  # a note is not evidence
    services.update_assessment(assessment, user=world["user"], evidence_ref="Ảnh khác")
    assert not assessment.counts
    services.verify_assessment(assessment, user=world["user"])
    scan = EvidenceFile(filename="a.png", media_type="image/png", size=len(PNG), sha256="0" * 64, content=PNG)
    db.session.add(scan)
    db.session.flush()
    services.update_assessment(assessment, user=world["user"], evidence=scan)
    assert not assessment.counts


def _recognised(person, commune, year=2026):
    from lms.titles.models import Recognition

    row = Recognition(
        subject_type="person",
        subject_id=person.id,
        title="citizen",
        year=year,
        commune_id=commune.id,
        status="recognised",
        decision_number="9/QĐ",
    )
    db.session.add(row)
    db.session.flush()
    return row


def test_a_recognised_subject_years_assessments_are_frozen(world):
    a, b, _ = world["people"]
    kept = services.create_assessment(_input(a, "C_2", "7", source="self"), user=world["user"])
    _recognised(a, world["commune"])
    with pytest.raises(services.RecognisedYear):
        services.create_assessment(_input(a, "C3", "1"), user=world["user"])
    with pytest.raises(services.RecognisedYear):
        services.update_assessment(kept, user=world["user"], value="8")
    with pytest.raises(services.RecognisedYear):
        services.verify_assessment(kept, user=world["user"])
    with pytest.raises(services.RecognisedYear):
        services.delete_assessment(kept, user=world["user"])
    assert kept.value == Decimal(7)
    result = services.import_assessments(
        "a.csv",
        _csv([["person", a.id, 2026, "C_2", 9, "", ""], ["person", b.id, 2026, "C_2", 9, "", ""]]),
        user=world["user"],
    )
    assert [(e["row"], e["column"]) for e in result.errors] == [(2, "Năm")]
    other_year = services.AssessmentInput("person", a.id, 2025, "C3", "1")
    assert services.create_assessment(other_year, user=world["user"])  # another year is open


def test_the_page_flashes_why_a_recognised_years_assessment_cannot_change(world, client):
    person = world["people"][0]
    assessment = services.create_assessment(_input(person, value="7"), user=world["user"])
    _recognised(person, world["commune"])
    db.session.commit()
    login(client, world["user"])
    url = f"/titles/assessments/{assessment.id}"
    token = csrf_token(client, url)
    response = client.post(url, data={"csrf_token": token, "year": "2026", "value": "8", "source": "evaluator"})
    assert response.status_code == 200
    assert "hãy thu hồi công nhận trước" in response.get_data(as_text=True)  # flashed, in Vietnamese
    db.session.refresh(assessment)
    assert assessment.value == Decimal(7)


def test_the_assessment_page_shows_its_value_as_a_number_not_in_scientific_notation(world, client):
    """A value of 10 was shown as "1E+1" (``Decimal.normalize()``); 7.5 reads "7,5" in Vietnamese."""
    person = world["people"][1]
    login(client, world["user"])
    for value, shown in ((Decimal(10), "10"), (Decimal("7.5"), "7,5")):
        assessment = Assessment(
            subject_type="person",
            subject_id=person.id,
            year=2026,
            indicator="C3",
            value=value,
            commune_id=world["commune"].id,
        )
        db.session.add(assessment)
        db.session.commit()
        page = client.get(f"/titles/assessments/{assessment.id}").get_data(as_text=True)
        assert f'id="assessment-value">{shown}</dd>' in page
        db.session.delete(assessment)
        db.session.commit()


def test_the_import_page_names_subject_types_in_vietnamese_not_by_their_codes(world, client):
    """Walked on a phone: the import's refusals read "không có household 999999 trong phạm vi của bạn" and
    "“KHONG-CO” không phải là tiêu chí đánh giá cho person" — the subject types' codes, English in a Vietnamese
    sentence — and a year of 1990 was told only "năm, ví dụ 2026"."""
    a, _b, _c = world["people"]
    db.session.commit()
    login(client, world["user"])
    token = csrf_token(client, "/titles/assessments/import")
    rows = [
        ["robot", a.id, 2026, "C_2", 8, "", ""],
        ["hộ", 999_999, 2026, "C_2", 8, "", ""],
        ["người", a.id, 2026, "KHONG-CO", 8, "", ""],
        ["người", a.id, 1990, "C_2", 8, "", ""],
    ]
    html = client.post(
        "/titles/assessments/import",
        data={"csrf_token": token, "file": (io.BytesIO(_csv(rows)), "danh-gia.csv")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "một trong: người, hộ, dòng họ, thôn, đơn vị, xã" in html
    assert "không có hộ 999999 trong phạm vi của bạn" in html
    assert "“KHONG-CO” không phải là tiêu chí đánh giá cho người" in html
    assert "năm từ 2000 đến 2100, ví dụ 2026" in html
    for code in ("household", "person", "clan", "village", "organisation", "commune"):
        assert code not in html.split('id="import-errors"')[1].split("</table>")[0]
