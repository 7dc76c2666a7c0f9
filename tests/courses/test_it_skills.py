"""The IT-skills programme: modules from classes and certificates, the standards' rules, and the plan figures on a
small hand-made commune whose right answers are known."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from courses import it_skills, services
from courses.it_skills import Period
from courses.models import ItCertificate, LearningRecord
from courses.services import Mark
from lms.extensions import db
from lms.registry.models import AdminUnit, AssociationMembership, BoardMembership, Clc, Person
from tests.conftest import make_household, make_village, unit_by_code

BASIC = ["IU01", "IU02", "IU03", "IU04", "IU05", "IU06"]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
YEAR = Period.year(2026)


def scan(content: bytes = PDF, name: str = "chung-chi.pdf") -> FileStorage:
    return FileStorage(io.BytesIO(content), filename=name, content_type="application/pdf")


def people(commune: AdminUnit, label: str, *names: str) -> list[Person]:
    village = make_village(commune, f"IT-{label}", f"Thôn {label}")
    return list(make_household(village, f"IT-{label}", *names).members)


def member(
    person: Person, unit: AdminUnit, role: str, started: date | None = date(2024, 1, 1), ended: date | None = None
) -> None:
    db.session.add(
        AssociationMembership(person_id=person.id, unit_id=unit.id, role=role, started_on=started, ended_on=ended)
    )


def it_course(unit: AdminUnit, code: str, modules: list[str]):
    return services.create_course(
        unit=unit,
        code=code,
        name=f"Tin học {code}",
        category="it_skills",
        planned_hours=Decimal(24),
        module_codes=modules,
    )


def completed_class(clc: Clc, course, learners: list[Person], *, instructors=(), day=date(2026, 3, 2)):
    """A class of one held session that every learner attended, completed."""
    course_class = services.create_class(
        course=course, clc=clc, name=f"Lớp {course.code}", capacity=30, starts_on=day, ends_on=day
    )
    if instructors:
        services.set_instructors(course_class, list(instructors))
    (session,) = services.schedule(course_class, [(datetime.combine(day, time(8)), datetime.combine(day, time(10)))])
    if learners:
        services.enrol(course_class, [p.id for p in learners])
        services.record_attendance(
            session, [Mark(p.id, "present", datetime(2026, 1, 1)) for p in learners], user_id=None
        )
    services.recompute_class(course_class.id, as_of=datetime.combine(day, time(12)))
    return course_class


def modules_of(person: Person) -> set[str]:
    return set(
        db.session.scalars(
            select(LearningRecord.module_code).where(
                LearningRecord.person_id == person.id, LearningRecord.kind == "it_module"
            )
        )
    )


# --- the framework -------------------------------------------------------------------------------------------


def test_framework_has_fifteen_modules_with_the_circulars_names():
    fw = it_skills.framework()
    assert fw.codes == tuple(f"IU{i:02d}" for i in range(1, 16))
    assert [m.code for m in fw.modules if m.level == "basic"] == BASIC
    iu03 = fw.module("IU03")
    assert iu03 is not None
    assert iu03.name_vi == "Xử lý văn bản cơ bản"
    assert fw.module("IU14").name_vi == "An toàn, bảo mật thông tin"  # type: ignore[union-attr]


def test_basic_standard_needs_all_six_modules():
    fw = it_skills.framework()
    assert fw.meets("basic", BASIC)
    assert not fw.meets("basic", BASIC[:5])
    assert not fw.meets("basic", [*BASIC[:5], "IU07", "IU08", "IU09"])


def test_advanced_standard_is_basic_plus_any_three_advanced_modules():
    fw = it_skills.framework()
    assert fw.meets("advanced", [*BASIC, "IU07", "IU10", "IU15"])
    assert fw.meets("advanced", [*BASIC, "IU11", "IU12", "IU13", "IU14"])
    assert not fw.meets("advanced", [*BASIC, "IU07", "IU10"])  # two are not enough
    assert not fw.meets("advanced", [*BASIC[1:], "IU07", "IU08", "IU09", "IU10"])  # basic incomplete


def test_a_course_refuses_modules_the_framework_does_not_know(app_ctx):
    with pytest.raises(services.CourseError) as refused:
        it_course(unit_by_code("23293"), "IT-BAD", ["IU01", "IU99"])
    assert refused.value.field == "module_codes"
    assert "IU99" in str(refused.value)


def test_the_trained_definition_is_configuration(app_ctx):
    assert it_skills.trained_definition().standard == "basic"
    app_ctx.config["IT_TRAINED_DEFINITION"] = "IU01,IU02,IU06"
    try:
        definition = it_skills.trained_definition()
        assert definition.modules == ("IU01", "IU02", "IU06")
        assert it_skills.is_trained(["IU01", "IU02", "IU06"], definition)
        app_ctx.config["IT_TRAINED_DEFINITION"] = "advanced"
        assert not it_skills.is_trained(BASIC)
        assert it_skills.is_trained([*BASIC, "IU07", "IU08", "IU09"])
    finally:
        app_ctx.config["IT_TRAINED_DEFINITION"] = ""


# --- granting modules ----------------------------------------------------------------------------------------


def test_a_completed_class_grants_its_modules(app_ctx):
    commune = unit_by_code("23293")
    clc = Clc(commune_id=commune.id, name="TTHTCĐ")
    db.session.add(clc)
    learner, absent = people(commune, "G", "Trần Thị Học", "Lê Văn Vắng")
    course = it_course(commune, "IT-G", ["IU01", "IU02", "IU03"])
    course_class = services.create_class(
        course=course, clc=clc, name="Tin học cơ bản", capacity=10, starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 2)
    )
    (session,) = services.schedule(course_class, [(datetime(2026, 3, 2, 8), datetime(2026, 3, 2, 10))])
    services.enrol(course_class, [learner.id, absent.id])
    services.record_attendance(session, [Mark(learner.id, "present", datetime(2026, 3, 2))], user_id=None)
    services.recompute_class(course_class.id, as_of=datetime(2026, 3, 3))
    assert modules_of(learner) == {"IU01", "IU02", "IU03"}
    assert modules_of(absent) == set()
    progress = it_skills.progress(learner.id)
    assert progress.held == {"IU01", "IU02", "IU03"}
    assert [m.code for m in progress.missing_basic] == ["IU04", "IU05", "IU06"]
    assert not progress.standards["basic"]
    # The class covering the rest makes the basic standard.
    completed_class(clc, it_course(commune, "IT-G2", ["IU04", "IU05", "IU06"]), [learner], day=date(2026, 4, 6))
    assert it_skills.progress(learner.id).standards["basic"]


def test_a_verified_certificate_grants_the_basic_standard_an_unverified_one_does_not(app_ctx):
    commune = unit_by_code("23293")
    (holder,) = people(commune, "C", "Phạm Văn Chứng")
    certificate = it_skills.record_certificate(
        person=holder,
        number="CNTT-0001",
        issuer="Trường ĐH Đà Nẵng",
        issued_on=date(2025, 6, 1),
        upload=scan(),
        recorded_by_id=None,
    )
    assert certificate.status == "pending"
    assert modules_of(holder) == set()
    assert not it_skills.progress(holder.id).standards["basic"]

    assert it_skills.verify_certificate(certificate, user_id=None) == 6
    assert modules_of(holder) == set(BASIC)
    assert it_skills.progress(holder.id).standards["basic"]
    key = f"itcert:{certificate.id}:module:IU04"
    record = db.session.scalar(select(LearningRecord).where(LearningRecord.source_key == key))
    assert record is not None
    assert (record.kind, record.category, record.year) == ("it_module", "it_skills", 2025)
    assert record.commune_id == commune.id
    assert it_skills.verify_certificate(certificate, user_id=None) == 0  # twice is once

    assert it_skills.reject_certificate(certificate, reason="Số hiệu không khớp", user_id=None) == 6
    assert certificate.status == "rejected"
    assert modules_of(holder) == set()
    assert not it_skills.progress(holder.id).standards["basic"]


def test_ttlt17_art16_2_an_advanced_certificate_grants_its_three_advanced_modules(app_ctx):
    """Joint Circular 17/2016, Art. 16.2: "Chứng chỉ ứng dụng CNTT nâng cao được cấp cho cá nhân có chứng chỉ ứng dụng
    CNTT cơ bản, đồng thời đạt yêu cầu của các bài thi tương ứng với 03 mô đun" (Circular 03/2014, Art. 2.2-2.3):
    verified, an advanced certificate grants the six basic modules and the advanced modules it names, so its holder
    meets the advanced standard; it names advanced modules only, at least three."""
    commune = unit_by_code("23293")
    (holder,) = people(commune, "A", "Lê Văn Nâng")

    def record(number: str, modules: str) -> ItCertificate:
        return it_skills.record_certificate(
            person=holder,
            number=number,
            issuer="Trường ĐH Đà Nẵng",
            issued_on=date(2025, 6, 1),
            upload=scan(),
            recorded_by_id=None,
            modules=modules,
        )

    for wrong in ("IU03, IU07, IU08", "IU07 IU08", "IU07, IU99, IU08"):
        with pytest.raises(it_skills.ItSkillsError) as caught:
            record("CNTT-NC-0", wrong)
        assert caught.value.field == "modules"
    certificate = record("CNTT-NC-1", "iu10, IU07 IU08")
    assert certificate.modules == ["IU07", "IU08", "IU10"]
    assert it_skills.verify_certificate(certificate, user_id=None) == 9
    assert modules_of(holder) == {*BASIC, "IU07", "IU08", "IU10"}
    assert it_skills.progress(holder.id).standards["advanced"]


def test_a_certificate_scan_must_be_a_pdf_jpeg_or_png(app_ctx):
    (holder,) = people(unit_by_code("23293"), "S", "Đỗ Văn Quét")
    with pytest.raises(it_skills.ItSkillsError) as refused:
        it_skills.record_certificate(
            person=holder,
            number="X1",
            issuer="Trung tâm",
            issued_on=date(2025, 1, 1),
            upload=scan(b"MZ\x90\x00 not a scan", "scan.pdf"),
            recorded_by_id=None,
        )
    assert refused.value.field == "file"
    assert db.session.scalar(select(ItCertificate.id).where(ItCertificate.person_id == holder.id)) is None


# --- the plan figures on a hand-made commune -----------------------------------------------------------------


@dataclass
class Commune:
    unit: AdminUnit
    chair: Person
    vice: Person
    by_certificate: Person
    unverified: Person
    five_modules: Person
    former: Person
    members: list[Person]


def hand_made_commune(code: str = "23293", *, leader_on_board: bool = True, label: str = "H") -> Commune:
    """Five officers in 2026 (a former one left in 2025): the chair (basic by class, instructor), the vice-chair
    (nothing; deputy director of the CLC), an officer with a verified certificate (organiser), one with an
    unverified certificate (assistant), one with five modules only (organises nothing); two members, one of whom
    attended a policy-study session."""
    unit = unit_by_code(code)
    chair, vice, cert, unverified, five, former, m1, m2 = people(
        unit,
        label,
        "Nguyễn Văn Chủ",
        "Lê Thị Phó",
        "Trần Văn Chứng",
        "Hoàng Văn Chờ",
        "Vũ Thị Năm",
        "Đinh Văn Cũ",
        "Mai Văn Hội",
        "Lý Thị Viên",
    )
    clc = Clc(commune_id=unit.id, name=f"TTHTCĐ {unit.name}")
    db.session.add(clc)
    db.session.flush()
    member(chair, unit, "chair")
    member(vice, unit, "vice_chair")
    for officer in (cert, unverified, five):
        member(officer, unit, "officer")
    member(former, unit, "officer", ended=date(2025, 12, 31))
    village = db.session.get(AdminUnit, m1.unit_id)
    member(m1, village, "member")
    member(m2, village, "member")
    db.session.add(
        BoardMembership(
            clc_id=clc.id,
            person_id=vice.id,
            role="deputy_director",
            started_on=date(2024, 1, 1),
            ended_on=None if leader_on_board else date(2025, 6, 30),
        )
    )
    db.session.flush()
    # The chair completes a basic class, and teaches a literacy class in 2026.
    completed_class(clc, it_course(unit, f"IT-B-{label}", BASIC), [chair], day=date(2026, 2, 2))
    literacy = services.create_course(
        unit=unit, code=f"XMC-{label}", name="Xóa mù chữ", category="literacy", planned_hours=Decimal(40)
    )
    completed_class(
        clc,
        literacy,
        [],
        instructors=[(chair.id, "instructor"), (cert.id, "organiser"), (unverified.id, "assistant")],
        day=date(2026, 5, 4),
    )
    # Five modules only, from a 2025 class; the former officer has the basic standard, but left.
    completed_class(clc, it_course(unit, f"IT-5-{label}", BASIC[:5]), [five, former], day=date(2025, 9, 1))
    completed_class(clc, it_course(unit, f"IT-6-{label}", ["IU06"]), [former], day=date(2025, 10, 1))
    verified = it_skills.record_certificate(
        person=cert,
        number=f"CC-{label}-1",
        issuer="Trung tâm sát hạch",
        issued_on=date(2024, 5, 1),
        upload=scan(),
        recorded_by_id=None,
    )
    it_skills.verify_certificate(verified, user_id=None)
    it_skills.record_certificate(
        person=unverified,
        number=f"CC-{label}-2",
        issuer="Trung tâm sát hạch",
        issued_on=date(2025, 5, 1),
        upload=scan(),
        recorded_by_id=None,
    )
    policy = services.create_course(
        unit=unit, code=f"NQ-{label}", name="Học tập nghị quyết", category="policy_study", planned_hours=Decimal(2)
    )
    completed_class(clc, policy, [m1, chair], day=date(2026, 6, 1))
    return Commune(unit, chair, vice, cert, unverified, five, former, [m1, m2])


def test_officers_trained_and_chair_figures_on_a_hand_made_commune(app_ctx):
    c = hand_made_commune()
    result = it_skills.figures(c.unit, YEAR)
    (line,) = result.communes
    # Officers in 2026: chair, vice-chair and three officers (the former one left in 2025).
    assert line.officers == 5
    assert line.meets_basic == 2  # the chair (classes) and the verified certificate
    assert line.trained == 2
    assert line.organised == 3  # instructor, organiser, assistant of a class held in 2026
    assert line.organised_and_trained == 2  # the plan's numerator: 2 of 5
    assert line.has_association
    assert line.leader_on_board
    assert (result.associations_led_in_clc, result.associations) == (1, 1)
    # Policy study: seven members and officers in 2026, two of whom attended.
    assert (line.studied_policy, line.members) == (2, 7)

    matrix = {o.person_id: o for o in it_skills.officers_matrix(c.unit, YEAR)}
    assert set(matrix) == {c.chair.id, c.vice.id, c.by_certificate.id, c.unverified.id, c.five_modules.id}
    assert matrix[c.five_modules.id].modules == set(BASIC[:5])
    assert not matrix[c.five_modules.id].meets_basic
    assert matrix[c.by_certificate.id].meets_basic
    assert matrix[c.by_certificate.id].organised
    assert matrix[c.unverified.id].organised
    assert not matrix[c.unverified.id].trained

    # In 2025 nobody organised anything and the vice-chair was already on the board.
    earlier = it_skills.figures(c.unit, Period.year(2025)).communes[0]
    assert (earlier.officers, earlier.organised, earlier.organised_and_trained) == (6, 0, 0)
    assert earlier.meets_basic == 2  # the former officer (October 2025) and the certificate (2024)


def test_ttlt_17_art_16_the_figures_tell_officers_certified_from_officers_trained(app_ctx):
    """Joint Circular 17/2016, Art. 16.1: "Chứng chỉ ứng dụng CNTT cơ bản được cấp cho cá nhân đạt yêu cầu của bài
    thi theo Chuẩn kỹ năng sử dụng CNTT cơ bản (gồm đủ 6 mô đun cơ bản)", and Art. 17.2: the test centre issues it. The
    chair who did the six modules in CLC classes is trained in them, not certified; the officer with the verified
    national certificate is both; the unverified certificate counts for neither (ADR 7, amended)."""
    c = hand_made_commune()
    (line,) = it_skills.figures(c.unit, YEAR).communes
    assert line.meets_basic == 2
    assert line.certified_basic == 1
    matrix = {o.person_id: o for o in it_skills.officers_matrix(c.unit, YEAR)}
    assert matrix[c.chair.id].meets_basic
    assert not matrix[c.chair.id].certified_basic
    assert matrix[c.by_certificate.id].certified_basic
    assert not matrix[c.unverified.id].certified_basic
    assert not matrix[c.five_modules.id].certified_basic


def test_plan_1514_a_class_not_yet_held_is_not_an_activity_organised(app_ctx):
    """Kon Tum Plan 1514 (mục tiêu 2025, ý 4; 2030): officers "tham gia tổ chức các hoạt động của Trung tâm học tập
    cộng đồng": the instructor of a class whose only session lies ahead has organised nothing yet, so the figure of
    that year does not count them (before, any scheduled session of the year counted, held or not)."""
    c = hand_made_commune()
    later = services.local_now().year + 1
    clc = db.session.scalar(select(Clc).where(Clc.commune_id == c.unit.id))
    course_class = services.create_class(
        course=it_course(c.unit, "IT-LATER", ["IU01"]),
        clc=clc,
        name="Lớp năm sau",
        capacity=30,
        starts_on=date(later, 3, 2),
        ends_on=date(later, 3, 2),
    )
    services.set_instructors(course_class, [(c.vice.id, "instructor")])
    services.schedule(course_class, [(datetime(later, 3, 2, 8), datetime(later, 3, 2, 10))])
    (line,) = it_skills.figures(c.unit, Period.year(later)).communes
    assert line.officers >= 1
    assert line.organised == 0


def test_a_province_sums_its_communes_and_counts_associations_without_a_leader_on_the_board(app_ctx):
    a = hand_made_commune("23293", label="PA")
    hand_made_commune("23302", leader_on_board=False, label="PB")
    province = a.unit.parent
    assert province is not None
    assert province.level == "province"
    result = it_skills.figures(province, YEAR)
    ours = [c for c in result.communes if c.officers]
    assert len(ours) == 2
    assert result.total("officers") == 10
    assert result.total("organised_and_trained") == 4
    assert result.associations == 2
    assert result.associations_led_in_clc == 1


def test_the_leaders_figures_do_not_grow_with_the_number_of_officers(app_ctx, count_queries):
    c = hand_made_commune()
    with count_queries() as few:
        it_skills.figures(c.unit, YEAR)
        it_skills.officers_matrix(c.unit, YEAR)
    extra = people(c.unit, "X", *(f"Cán Bộ {i:02d}" for i in range(15)))
    for person in extra:
        member(person, c.unit, "officer")
    db.session.flush()
    with count_queries() as many:
        result = it_skills.figures(c.unit, YEAR)
        matrix = it_skills.officers_matrix(c.unit, YEAR)
    assert result.communes[0].officers == 20
    assert len(matrix) == 20
    assert many.count == few.count
    assert many.count <= 6


def test_ttlt17_art23_2_a_certificate_before_the_joint_circular_is_basic_only(app_ctx):
    """Joint Circular 17/2016 (in force 10/08/2016), Art. 16.2 created the advanced IT certificate; Art. 23.2: "Các
    chứng chỉ tin học ứng dụng A, B, C đã cấp có giá trị sử dụng tương đương với chứng chỉ ứng dụng CNTT cơ bản". A
    certificate dated before 10/08/2016 that names advanced modules is refused; recorded without modules it is the
    basic one and, verified, grants the six basic modules."""
    (holder,) = people(unit_by_code("23293"), "B", "Trần Văn Cũ")

    def record(number: str, issued_on: date, modules: str = "") -> ItCertificate:
        return it_skills.record_certificate(
            person=holder,
            number=number,
            issuer="Trung tâm Tin học tỉnh",
            issued_on=issued_on,
            upload=scan(),
            recorded_by_id=None,
            modules=modules,
        )

    with pytest.raises(it_skills.ItSkillsError) as refused:
        record("B-2012", date(2016, 8, 9), "IU07, IU08, IU10")
    assert refused.value.field == "modules"
    assert "10/08/2016" in str(refused.value)
    old = record("B-2012", date(2012, 5, 4))
    assert it_skills.verify_certificate(old, user_id=None) == 6
    assert modules_of(holder) == set(BASIC)
    advanced = record("NC-2016", date(2016, 8, 10), "IU07, IU08, IU10")  # from the day it takes effect
    assert advanced.modules == ["IU07", "IU08", "IU10"]
