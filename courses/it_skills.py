"""The IT-skills programme for association officers (Circular 03/2014/TT-BTTTT): the framework and its rules as
data, a person's progress, national certificates and their verification, and the leaders' figures.

Modules are learning records of kind ``it_module`` whatever their origin: a completed class of a course that
covers them (``class:{id}:person:{pid}:module:{code}``, written by completion) or a verified national certificate
(``itcert:{id}:module:{code}``, written here). Every rule reads those records only, so the titles engine and these
figures agree.

The figures are set-based: a handful of statements for a commune or a whole province, whatever the number of
officers (``tests/courses/test_it_skills.py`` counts them).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import Select, and_, case, delete, distinct, exists, func, insert, literal, or_, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload
from werkzeug.datastructures import FileStorage

from courses.models import (
    Attendance,
    AttendanceStatus,
    ClassSession,
    Course,
    CourseCategory,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    ItCertificate,
    ItCertificateStatus,
    LearningKind,
    LearningRecord,
    SessionStatus,
    TargetGroup,
    class_instructor,
)
from lms.core.clock import local_today
from lms.core.evidence import EvidenceError, store_evidence
from lms.core.formatting import in_request_language as _
from lms.core.formatting import moment
from lms.core.models import EvidenceFile
from lms.core.services import audit
from lms.core.signals import learning_records_changed
from lms.extensions import db, utcnow
from lms.registry.models import (
    AdminUnit,
    AssociationMembership,
    BoardMembership,
    Clc,
    Person,
    UnitLevel,
    subtree,
)

DATA_FILE = Path(__file__).parent / "data" / "it_skills.toml"
# Joint Circular 17/2016/TTLT-BGDĐT-BTTTT takes effect: the national basic and advanced IT certificates (Art. 16) exist
# from this day; earlier A, B, C certificates count as the basic one (Art. 23.2).
ADVANCED_CERTIFICATES_SINCE = date(2016, 8, 10)
# The earliest issue date recorded: the A, B and C IT certificates (chứng chỉ tin học A, B, C) that Art. 23.2
# counts as the basic one were issued in the 1990s and after; a certificate held from before 1990 would teach
# skills no module of the 2014 standard asks. A choice, not a legal date (ADR 58): it refuses a year mistyped as
# 0001 or 1019 without refusing any A/B/C certificate a learner may still hold.
FIRST_CERTIFICATE_DAY = date(1990, 1, 1)


class ItSkillsError(ValueError):
    """A refused operation; ``field`` names the input at fault; ``certificate_id`` the other record it clashes with,
    when the user may open it."""

    def __init__(self, message: str, field: str = "", certificate_id: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.certificate_id = certificate_id


# --- the framework -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Module:
    code: str
    level: str  # basic | advanced
    name_vi: str
    name_en: str

    def name(self, locale: str = "vi") -> str:
        return self.name_vi if locale == "vi" else self.name_en


@dataclass(frozen=True)
class Standard:
    """A standard is met with all of ``requires_all``, every standard of ``requires_standards`` and at least
    ``at_least`` of ``choose_from``."""

    code: str
    name_vi: str
    name_en: str
    requires_all: tuple[str, ...] = ()
    requires_standards: tuple[str, ...] = ()
    choose_from: tuple[str, ...] = ()
    at_least: int = 0

    def name(self, locale: str = "vi") -> str:
        return self.name_vi if locale == "vi" else self.name_en


@dataclass(frozen=True)
class Framework:
    source: str
    modules: tuple[Module, ...]
    standards: dict[str, Standard]
    certificate_standard: str
    definitions: dict[str, Any]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(m.code for m in self.modules)

    def module(self, code: str) -> Module | None:
        return next((m for m in self.modules if m.code == code), None)

    def all_required(self, standard: str) -> set[str]:
        """Modules every holder of ``standard`` has (its own and those of the standards it requires)."""
        std = self.standards[standard]
        needed = set(std.requires_all)
        for other in std.requires_standards:
            needed |= self.all_required(other)
        return needed

    def meets(self, standard: str, held: Iterable[str]) -> bool:
        std = self.standards[standard]
        held = set(held)
        return (
            set(std.requires_all) <= held
            and all(self.meets(s, held) for s in std.requires_standards)
            and len(held & set(std.choose_from)) >= std.at_least
        )


def _load(path: Path) -> Framework:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    modules = tuple(Module(m["code"], m["level"], m["name_vi"], m["name_en"]) for m in data["modules"])
    codes = {m.code for m in modules}
    standards = {}
    for code, s in data["standards"].items():
        standards[code] = Standard(
            code,
            s["name_vi"],
            s["name_en"],
            tuple(s.get("requires_all", ())),
            tuple(s.get("requires_standards", ())),
            tuple(s.get("choose_from", ())),
            int(s.get("at_least", 0)),
        )
        unknown = (set(standards[code].requires_all) | set(standards[code].choose_from)) - codes
        if unknown:
            raise ValueError(f"{path}: standard {code} names unknown modules {sorted(unknown)}")
    return Framework(
        data.get("source", ""), modules, standards, data["certificates"]["grants_standard"], dict(data["definitions"])
    )


@cache
def framework() -> Framework:
    return _load(DATA_FILE)


def module_labels(codes: Iterable[str] | None, locale: str = "vi") -> list[str]:
    """ "IU03 Xử lý văn bản cơ bản" for each of ``codes`` in the standard's order (IU01 … IU15): a code alone is
    what a manager had to look up."""
    held = set(codes or ())
    return [f"{module.code} {module.name(locale)}" for module in framework().modules if module.code in held]


def unknown_modules(codes: Iterable[str]) -> list[str]:
    known = set(framework().codes)
    return [c for c in codes if c not in known]


@dataclass(frozen=True)
class TrainedDefinition:
    """What "trained in IT" means for the plan indicator: a standard, or a set of modules all needed."""

    standard: str | None
    modules: tuple[str, ...]

    def describe(self, locale: str = "vi") -> str:
        if self.standard:
            return framework().standards[self.standard].name(locale)
        return ", ".join(self.modules)


def trained_definition() -> TrainedDefinition:
    """From ``IT_TRAINED_DEFINITION`` when the app sets it, else the data file's ``definitions.trained_in_it``."""
    fw = framework()
    value: Any = current_app.config.get("IT_TRAINED_DEFINITION") if has_app_context() else None
    value = value or fw.definitions["trained_in_it"]
    if isinstance(value, str) and value.strip() in fw.standards:
        return TrainedDefinition(value.strip(), ())
    codes = value.split(",") if isinstance(value, str) else list(value)
    codes = [c.strip().upper() for c in codes if c.strip()]
    if not codes or unknown_modules(codes):
        raise ValueError(f"IT_TRAINED_DEFINITION: {value!r} is neither a standard nor a list of module codes")
    return TrainedDefinition(None, tuple(codes))


def is_trained(held: Iterable[str], definition: TrainedDefinition | None = None) -> bool:
    definition = definition or trained_definition()
    if definition.standard:
        return framework().meets(definition.standard, held)
    return set(definition.modules) <= set(held)


# --- one person ----------------------------------------------------------------------------------------------


@dataclass
class ModuleLine:
    module: Module
    done_on: date | None = None
    sources: list[str] = field(default_factory=list)  # "class:12", "itcert:3"


@dataclass
class Progress:
    person_id: int
    modules: list[ModuleLine]
    standards: dict[str, bool]
    trained: bool
    # The standards met by the modules of verified national certificates alone: only a test centre's certificate
    # attests a standard (Joint Circular 17/2016, Art. 16-17); a class attests training in its modules.
    certified: dict[str, bool] = field(default_factory=dict)

    @property
    def held(self) -> set[str]:
        return {line.module.code for line in self.modules if line.done_on is not None}

    @property
    def missing_basic(self) -> list[Module]:
        return [line.module for line in self.modules if line.done_on is None and line.module.level == "basic"]


def _source(source_key: str) -> str:
    parts = source_key.split(":")
    return f"{parts[0]}:{parts[1]}" if len(parts) > 1 else source_key


def progress(person_id: int, *, as_of: date | None = None) -> Progress:
    """Modules done (earliest day, and where from) and missing, and the standards met, from learning records."""
    fw = framework()
    stmt = select(LearningRecord.module_code, LearningRecord.completed_on, LearningRecord.source_key).where(
        LearningRecord.person_id == person_id, LearningRecord.kind == LearningKind.IT_MODULE
    )
    if as_of is not None:
        stmt = stmt.where(LearningRecord.completed_on <= as_of)
    lines = {m.code: ModuleLine(m) for m in fw.modules}
    for code, day, key in db.session.execute(stmt.order_by(LearningRecord.completed_on, LearningRecord.id)):
        line = lines.get(code)
        if line is None:
            continue
        line.done_on = line.done_on or day
        line.sources.append(_source(key))
    held = {code for code, line in lines.items() if line.done_on is not None}
    by_certificate = {
        code for code, line in lines.items() if any(source.startswith("itcert:") for source in line.sources)
    }
    return Progress(
        person_id,
        list(lines.values()),
        {code: fw.meets(code, held) for code in fw.standards},
        is_trained(held),
        {code: fw.meets(code, by_certificate) for code in fw.standards},
    )


def commune_of(person: Person) -> AdminUnit:
    """The commune a person lives in (``Person.unit_id`` is a village or a commune)."""
    unit = person.unit
    if unit.level == UnitLevel.VILLAGE and unit.parent is not None:
        return unit.parent
    return unit


# --- national certificates -----------------------------------------------------------------------------------


def certificate_modules(raw: str | Iterable[str] | None) -> list[str]:
    """The advanced modules an advanced certificate names ("IU07, IU08 iu10" or a list), checked against Joint
    Circular 17/2016, Art. 16.2 and Circular 03/2014, Art. 2.2-2.3: advanced modules only, at least the standard's
    number (3); none for a basic certificate. Raises :class:`ItSkillsError` on the ``modules`` field."""
    items = raw.replace(",", " ").split() if isinstance(raw, str) else list(raw or ())
    codes = sorted({c.strip().upper() for c in items if c and c.strip()})
    if not codes:
        return []
    fw = framework()
    advanced = fw.standards.get("advanced")
    allowed = set(advanced.choose_from) if advanced else set()
    wrong = [c for c in codes if c not in allowed]
    if wrong:
        raise ItSkillsError(
            _(
                "%(codes)s: an advanced certificate names advanced modules only (%(first)s to %(last)s)",
                codes=", ".join(wrong),
                first=min(allowed) if allowed else "",
                last=max(allowed) if allowed else "",
            ),
            "modules",
        )
    if advanced is not None and len(codes) < advanced.at_least:
        raise ItSkillsError(
            _(
                "an advanced certificate attests the exams of at least %(n)s advanced modules: name them all",
                n=advanced.at_least,
            ),
            "modules",
        )
    return codes


def issue_date_problem(issued_on: date) -> str | None:
    """What is wrong with a certificate's issue date on its own, or None: the form says it beside another field's
    refusal, which :func:`record_certificate` stops at."""
    if issued_on > local_today():
        return _("the issue date is in the future")
    if issued_on < FIRST_CERTIFICATE_DAY:
        # 01/01/0001 made a learning record of year 1 (ADR 58).
        return _("the issue date is before %(date)s: check its year", date=FIRST_CERTIFICATE_DAY.strftime("%d/%m/%Y"))
    return None


def record_certificate(
    *,
    person: Person,
    number: str,
    issuer: str,
    issued_on: date,
    upload: FileStorage | None,
    recorded_by_id: int | None,
    modules: str | Iterable[str] | None = None,
    viewer: Any = None,
) -> ItCertificate:
    """Record a national certificate with its scan, pending verification (it grants nothing yet). ``modules``: the
    advanced modules of an advanced certificate (Joint Circular 17/2016, Art. 16.2); none for a basic one. A
    certificate the same centre issued under the same number recorded for another person is refused
    (:func:`held_by_another`), naming that record only if ``viewer`` (the user recording) may open it."""
    advanced_modules = certificate_modules(modules)
    number, issuer = " ".join(number.split()), " ".join(issuer.split())
    if not number:
        raise ItSkillsError(_("give the certificate's number"), "number")
    if not issuer:
        raise ItSkillsError(_("give the accredited centre that issued it"), "issuer")
    for name, given in (("number", number), ("issuer", issuer)):
        longest = getattr(ItCertificate.__table__.c[name].type, "length", None)  # String(60), String(300)
        if longest is not None and len(given) > longest:
            raise ItSkillsError(
                _("the number has %(n)s characters: at most %(most)s", n=len(given), most=longest)
                if name == "number"
                else _("the issuer has %(n)s characters: at most %(most)s", n=len(given), most=longest),
                name,
            )
    date_problem = issue_date_problem(issued_on)
    if date_problem is not None:
        raise ItSkillsError(date_problem, "issued_on")
    if advanced_modules and issued_on < ADVANCED_CERTIFICATES_SINCE:
        # Joint Circular 17/2016 (in force 10/08/2016) created the advanced certificate (Art. 16.2); what was issued
        # before is an A, B or C certificate, "tương đương với chứng chỉ ứng dụng CNTT cơ bản" (Art. 23.2).
        raise ItSkillsError(
            _(
                "an advanced IT certificate exists only since %(date)s (Joint Circular 17/2016); one issued before is "
                "an A, B or C certificate, which counts as the basic one (Art. 23.2): record it without modules",
                date=ADVANCED_CERTIFICATES_SINCE.strftime("%d/%m/%Y"),
            ),
            "modules",
        )
    # Typed another way ("cc-1" or "CC 1" for "CC-1") it is the same certificate, as :func:`held_by_another` compares
    # it: a second live record of the holder's own would grant its modules twice.
    if (
        db.session.scalar(
            select(ItCertificate.id).where(ItCertificate.person_id == person.id, _squeezed() == _squeeze(number))
        )
        is not None
    ):
        raise ItSkillsError(_("certificate %(number)s is already recorded for this person", number=number), "number")
    _refuse_held_by_another(number, issuer, person.id, viewer)
    try:
        scan = store_evidence(upload, uploaded_by_id=recorded_by_id)
    except EvidenceError as exc:
        raise ItSkillsError(str(exc), "file") from exc
    certificate = ItCertificate(
        person_id=person.id,
        number=number,
        issuer=issuer,
        issued_on=issued_on,
        modules=advanced_modules,
        evidence_file_id=scan.id,
        recorded_by_id=recorded_by_id,
    )
    try:
        with db.session.begin_nested():  # (which flushes what is pending first: the certificate is added inside)
            db.session.add(certificate)
            db.session.flush()
    except IntegrityError:
        # Recorded meanwhile (a second tab, another officer, whose transaction committed after the looks above): the
        # database's index refuses it; the officer gets the service's words, not a server error.
        if (
            db.session.scalar(
                select(ItCertificate.id).where(ItCertificate.person_id == person.id, ItCertificate.number == number)
            )
            is not None
        ):
            raise ItSkillsError(
                _("certificate %(number)s is already recorded for this person", number=number), "number"
            ) from None
        _refuse_held_by_another(number, issuer, person.id, viewer)
        raise _held_by_someone_else(number, issuer) from None
    audit("it_certificate.record", certificate, person_id=person.id)
    return certificate


def held_by_another(number: str, issuer: str, person_id: int) -> ItCertificate | None:
    """The record of the same certificate for another person, not rejected: a certificate is its issuing test
    centre's number (Joint Circular 17/2016, Art. 17.2: each test centre issues and numbers its own), so the same
    number of the same centre — the number compared without case or spacing, the centre's name without case, spacing
    or diacritics, as people type them (:func:`certificate_key`) — is the same certificate. A rejected record (a
    mistyped number, a claim that was not theirs) holds nothing."""
    wanted = certificate_key(number, issuer)
    candidates = db.session.scalars(
        select(ItCertificate)
        .where(
            _squeezed() == _squeeze(number),
            ItCertificate.person_id != person_id,
            ItCertificate.status != ItCertificateStatus.REJECTED.value,
        )
        .order_by(ItCertificate.id)
    )
    return next((c for c in candidates if certificate_key(c.number, c.issuer) == wanted), None)


def _squeeze(number: str) -> str:
    """A certificate's number without case or spaces, as :func:`certificate_key` and :func:`_squeezed` read it."""
    return "".join(number.casefold().split())


def _squeezed() -> Any:
    """``it_certificate.number`` without case or spaces, in SQL (a number is stored with single spaces)."""
    return func.replace(func.lower(ItCertificate.number), " ", "")


def certificate_key(number: str, issuer: str) -> tuple[str, str]:
    """One certificate however it was typed: the number without case or spacing, the centre without case, spacing
    or diacritics ("tt sát hạch cntt" and "TT Sát Hạch  CNTT" are one test centre)."""
    from lms.registry.text import fold

    return _squeeze(number), fold(issuer)


# The records the duplicates list reads at most, oldest first (a page and a command, not a report).
DUPLICATES_READ = 500


class DuplicateGroups(list[list[ItCertificate]]):
    """The groups of :func:`typed_duplicates`; ``cut``: more records were there than ``read`` (the list says so)."""

    def __init__(self, groups: Iterable[list[ItCertificate]], *, cut: bool, read: int) -> None:
        super().__init__(groups)
        self.cut, self.read = cut, read


def typed_duplicates(in_scope: Select, *, limit: int | None = None) -> DuplicateGroups:
    """Live records (not rejected) of ``in_scope`` (:func:`certificates_in_scope`) that are one certificate typed
    differently — the number's case or spacing, the centre's case, spacing or diacritics (:func:`certificate_key`) —
    grouped, oldest record first. Migration 0047's index holds one live record per exact (number, issuer), so these
    records made before the rule stay live beside each other: an administrator or a centre manager keeps the right
    one and rejects the others. Two statements; at most ``limit`` records read (:data:`DUPLICATES_READ`), and the
    answer says when there were more (``cut``): what is not read is not listed, never silently."""
    limit = limit or DUPLICATES_READ
    live = ItCertificate.status != ItCertificateStatus.REJECTED.value
    squeezed = _squeezed()
    # Numbers shared within the scope: a record whose number only a record outside it shares (another centre's, or
    # one the reader cannot see) can never be listed here, and must not take the place of one that can (``limit``).
    shared = in_scope.with_only_columns(squeezed).where(live).group_by(squeezed).having(func.count() > 1)
    candidates = list(
        db.session.scalars(
            in_scope.where(live, squeezed.in_(shared))
            .options(selectinload(ItCertificate.person))
            .order_by(ItCertificate.recorded_at, ItCertificate.id)
            .limit(limit + 1)
        )
    )
    groups: dict[tuple[str, str], list[ItCertificate]] = {}
    for certificate in candidates[:limit]:
        groups.setdefault(certificate_key(certificate.number, certificate.issuer), []).append(certificate)
    listed = (group for _key, group in sorted(groups.items()) if len(group) > 1)
    return DuplicateGroups(listed, cut=len(candidates) > limit, read=limit)


def _refuse_held_by_another(number: str, issuer: str, person_id: int, viewer: Any) -> None:
    other = held_by_another(number, issuer, person_id)
    if other is None:
        return
    from lms.auth.permissions import Permission

    if viewer is not None and may_see_certificate(
        viewer, other, (Permission.IT_TRAINING_VIEW, Permission.IT_CERTIFICATE_VERIFY)
    ):
        person = other.person
        born = f", {_('born %(year)s', year=person.birth_date.year)}" if person.birth_date else ""
        raise ItSkillsError(
            _(
                "certificate %(number)s of %(issuer)s has already been recorded for %(who)s%(born)s (record of "
                "%(date)s): one certificate belongs to one person. Check the number and the centre; if that record "
                "is the wrong one, open it and reject it first",
                number=other.number,
                issuer=other.issuer,
                who=person.full_name,
                born=born,
                date=moment(other.recorded_at),  # in Vietnam's time, in the reader's language
            ),
            "number",
            certificate_id=other.id,
        )
    raise _held_by_someone_else(number, issuer)


def _held_by_someone_else(number: str, issuer: str) -> ItSkillsError:
    return ItSkillsError(
        _(
            "certificate %(number)s of %(issuer)s has already been recorded for another person: one certificate "
            "belongs to one person. Check the number and the centre; if they are right, ask the centre manager to "
            "check the other record",
            number=number,
            issuer=issuer,
        ),
        "number",
    )


def _grant_key(certificate_id: int) -> str:
    return f"itcert:{certificate_id}:module:"


def may_verify(certificate: ItCertificate, user_id: int | None) -> bool:
    """Separation of duties: whoever recorded a certificate, or holds it, is not the one who verifies it.

    ``user_id`` None is the system (imports, demo data), which records nothing as a person."""
    if user_id is None:
        return True
    from lms.auth.models import User

    user = db.session.get(User, user_id)
    holder = user is not None and user.person_id is not None and user.person_id == certificate.person_id
    return certificate.recorded_by_id != user_id and not holder


def verify_certificate(certificate: ItCertificate, *, user_id: int | None) -> int:
    """Verify: the person gets the modules of the certificate's standard (basic, Joint Circular 17/2016 Art. 16.1)
    and, for an advanced certificate, the advanced modules it names (Art. 16.2). Returns the records written."""
    if certificate.status == ItCertificateStatus.VERIFIED:
        return 0
    if certificate.status == ItCertificateStatus.REVOKED:  # Joint Circular 17/2016, Art. 17.2 (ADR 60)
        raise ItSkillsError(_("this certificate was revoked by its test centre: it cannot be verified again"))
    if not may_verify(certificate, user_id):
        raise ItSkillsError(_("you recorded or hold this certificate: another verifier must verify it"))
    # Rejected, it held nothing: the same certificate may since have been recorded for its genuine holder. Pending,
    # it may be a record made before the rule that holds another's certificate typed another way (migration 0047
    # compared exactly): either way, not a second verified record of one certificate.
    from lms.auth.models import User

    viewer = db.session.get(User, user_id) if user_id is not None else None
    _refuse_held_by_another(certificate.number, certificate.issuer, certificate.person_id, viewer)
    if certificate.status == ItCertificateStatus.REJECTED:
        try:
            # Live again first, in a savepoint: the same certificate recorded meanwhile for another person (a
            # transaction that committed after the look) is refused by the index, in the service's words.
            with db.session.begin_nested():
                certificate.status = ItCertificateStatus.VERIFIED.value
                db.session.flush()
        except IntegrityError:
            _refuse_held_by_another(certificate.number, certificate.issuer, certificate.person_id, viewer)
            raise _held_by_someone_else(certificate.number, certificate.issuer) from None
    commune = commune_of(certificate.person)
    modules = sorted(framework().all_required(framework().certificate_standard) | set(certificate.modules or ()))
    now = utcnow()
    rows = [
        {
            "person_id": certificate.person_id,
            "year": certificate.issued_on.year,
            "kind": LearningKind.IT_MODULE.value,
            "category": CourseCategory.IT_SKILLS.value,
            "module_code": code,
            "hours": 0,
            "completed_on": certificate.issued_on,
            "commune_id": commune.id,
            "class_id": None,
            "source_key": _grant_key(certificate.id) + code,
            "evidence": f"IT certificate {certificate.number}"[:300],
            "created_at": now,
        }
        for code in modules
    ]
    db.session.execute(delete(LearningRecord).where(LearningRecord.source_key.startswith(_grant_key(certificate.id))))
    db.session.execute(insert(LearningRecord), rows)
    certificate.status, certificate.note = ItCertificateStatus.VERIFIED.value, ""
    certificate.decided_by_id, certificate.decided_at = user_id, now
    learning_records_changed.send(
        None,
        pairs={(commune.id, certificate.issued_on.year)},
        persons={(certificate.person_id, certificate.issued_on.year)},
    )
    audit("it_certificate.verify", certificate, person_id=certificate.person_id)
    db.session.flush()
    return len(rows)


def reject_certificate(certificate: ItCertificate, *, reason: str, user_id: int | None) -> int:
    """Reject (or withdraw a verification): the modules it granted are removed. Returns the records removed."""
    reason = " ".join(reason.split())
    if not reason:
        raise ItSkillsError(_("say why the certificate is rejected"), "reason")
    if certificate.status == ItCertificateStatus.REVOKED:
        raise ItSkillsError(_("this certificate was revoked by its test centre: it stays recorded as revoked"))
    return _withdraw(certificate, ItCertificateStatus.REJECTED, reason, user_id, "it_certificate.reject")


def revoke_certificate(certificate: ItCertificate, *, reason: str, user_id: int | None) -> int:
    """Record that the test centre revoked a verified certificate (Joint Circular 17/2016, Art. 17.2: its head "có
    thẩm quyền cấp và thu hồi chứng chỉ"): the modules it granted are removed, as on a rejection, but the record keeps
    its centre and number, so the same certificate is not recorded again for anyone (ADR 60). ``reason``: the
    centre's decision (its number and date). Returns the records removed."""
    reason = " ".join(reason.split())
    if not reason:
        raise ItSkillsError(_("give the test centre's decision that revoked it (its number and date)"), "reason")
    if certificate.status != ItCertificateStatus.VERIFIED:
        raise ItSkillsError(_("only a verified certificate can be recorded as revoked by its test centre"))
    return _withdraw(certificate, ItCertificateStatus.REVOKED, reason, user_id, "it_certificate.revoke")


def _withdraw(
    certificate: ItCertificate, status: ItCertificateStatus, reason: str, user_id: int | None, action: str
) -> int:
    """Remove the modules ``certificate`` granted and give it ``status`` with ``reason``; one audit event."""
    gone = db.session.execute(
        select(LearningRecord.commune_id, LearningRecord.year).where(
            LearningRecord.source_key.startswith(_grant_key(certificate.id))
        )
    ).all()
    if gone:
        db.session.execute(
            delete(LearningRecord).where(LearningRecord.source_key.startswith(_grant_key(certificate.id)))
        )
        learning_records_changed.send(
            None, pairs={(c, y) for c, y in gone}, persons={(certificate.person_id, y) for _, y in gone}
        )
    certificate.status, certificate.note = status.value, reason[:300]
    certificate.decided_by_id, certificate.decided_at = user_id, utcnow()
    audit(action, certificate, person_id=certificate.person_id, removed=len(gone))
    db.session.flush()
    return len(gone)


# --- the leaders' figures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    first: date
    last: date

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31))

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min)

    @property
    def end(self) -> datetime:  # exclusive
        return datetime.combine(self.last + timedelta(days=1), time.min)


def _active(started: Any, ended: Any, period: Period) -> Any:
    return and_(or_(started.is_(None), started <= period.last), or_(ended.is_(None), ended >= period.first))


def _communes(scope: AdminUnit, only: Sequence[int] | None = None) -> Select:
    """The communes of ``scope``'s subtree (the scope itself when it is a commune); ``only``: those of them."""
    stmt = select(AdminUnit.id).where(AdminUnit.level == UnitLevel.COMMUNE, subtree(AdminUnit.path, scope.path))
    return stmt.where(AdminUnit.id.in_(only)) if only is not None else stmt


def _officers(scope: AdminUnit, period: Period, only: Sequence[int] | None = None) -> Any:
    """(person_id, commune_id) of the commune branches' officers active in the period."""
    roles = framework().definitions["officer_roles"]
    return (
        select(AssociationMembership.person_id, AssociationMembership.unit_id.label("commune_id"))
        .where(
            AssociationMembership.unit_id.in_(_communes(scope, only)),
            AssociationMembership.role.in_(roles),
            _active(AssociationMembership.started_on, AssociationMembership.ended_on, period),
        )
        .distinct()
        .subquery("officers")
    )


def _module_counts(person_ids: Any, period: Period, definition: TrainedDefinition) -> Any:
    """Per person: the distinct basic, advanced and definition modules held by the end of the period, and the basic
    ones held by a verified national certificate (``itcert:`` records)."""
    fw = framework()
    basic = sorted(fw.standards["basic"].requires_all)
    advanced = sorted(fw.standards["advanced"].choose_from) if "advanced" in fw.standards else []
    wanted = sorted(fw.all_required(definition.standard)) if definition.standard else list(definition.modules)
    code = LearningRecord.module_code
    return (
        select(
            LearningRecord.person_id,
            func.count(distinct(case((code.in_(basic), code)))).label("basic"),
            func.count(distinct(case((code.in_(advanced), code)))).label("advanced"),
            func.count(distinct(case((code.in_(wanted), code)))).label("wanted"),
            func.count(
                distinct(case((and_(code.in_(basic), LearningRecord.source_key.startswith("itcert:")), code)))
            ).label("certified_basic"),
        )
        .where(
            LearningRecord.kind == LearningKind.IT_MODULE,
            LearningRecord.completed_on <= period.last,
            LearningRecord.person_id.in_(person_ids),
        )
        .group_by(LearningRecord.person_id)
        .subquery("modules")
    )


def _organisers(person_ids: Any, period: Period) -> Any:
    """Those of ``person_ids`` who organised CLC activities in the period (instructor, assistant or organiser of a
    class with a held session in it, or a learning record of kind activity_organised), once each (UNION)."""
    from lms.core.clock import local_now  # not from courses.services, which imports this module

    roles = framework().definitions["organising_roles"]
    by_class = (
        select(class_instructor.c.person_id)
        .join(ClassSession, ClassSession.class_id == class_instructor.c.class_id)
        .where(
            class_instructor.c.person_id.in_(person_ids),
            class_instructor.c.role.in_(roles),
            ClassSession.status == SessionStatus.SCHEDULED,
            ClassSession.starts_at >= period.start,
            ClassSession.starts_at < period.end,
            # Held: begun by now (as ``services.held_sessions``), not only planned for later in the year — Plan
            # 1514 counts officers who "tham gia tổ chức các hoạt động" of the CLC, not who are down to.
            ClassSession.starts_at <= local_now(),
        )
    )
    by_record = select(LearningRecord.person_id).where(
        LearningRecord.person_id.in_(person_ids),
        LearningRecord.kind == LearningKind.ACTIVITY_ORGANISED,
        LearningRecord.completed_on >= period.first,
        LearningRecord.completed_on <= period.last,
    )
    return union(by_class, by_record).subquery("organisers")


def _flags(scope: AdminUnit, period: Period, only: Sequence[int] | None = None) -> tuple[Any, Any, Any]:
    """Columns per officer: trained in the basic modules, certified (the basic modules by a verified national
    certificate: only a test centre's certificate attests the standard, Joint Circular 17/2016 Art. 16.1, 17.2),
    trained (by the definition), organised."""
    fw = framework()
    definition = trained_definition()
    officers = _officers(scope, period, only)
    modules = _module_counts(select(officers.c.person_id), period, definition)
    organisers = _organisers(select(officers.c.person_id), period)
    basic_n = len(fw.standards["basic"].requires_all)
    meets_basic = func.coalesce(modules.c.basic, 0) >= basic_n
    certified_basic = func.coalesce(modules.c.certified_basic, 0) >= basic_n
    if definition.standard == "basic":
        trained = meets_basic
    elif definition.standard:
        std = fw.standards[definition.standard]
        trained = and_(
            func.coalesce(modules.c.wanted, 0) >= len(fw.all_required(definition.standard)),
            func.coalesce(modules.c.advanced, 0) >= std.at_least,
        )
    else:
        trained = func.coalesce(modules.c.wanted, 0) >= len(set(definition.modules))
    # Joined, not a correlated EXISTS: each subquery is computed once for the scope's officers.
    organised = organisers.c.person_id.is_not(None)
    stmt = (
        select(
            officers.c.person_id,
            officers.c.commune_id,
            meets_basic.label("meets_basic"),
            certified_basic.label("certified_basic"),
            trained.label("trained"),
            organised.label("organised"),
        )
        .select_from(officers)
        .outerjoin(modules, modules.c.person_id == officers.c.person_id)
        .outerjoin(organisers, organisers.c.person_id == officers.c.person_id)
    )
    return stmt, officers, modules


@dataclass
class CommuneFigures:
    commune_id: int
    commune_name: str
    officers: int = 0
    meets_basic: int = 0  # trained in the six basic modules, by class or certificate
    certified_basic: int = 0  # of them, with a national basic certificate (Joint Circular 17/2016, Art. 16.1)
    trained: int = 0
    organised: int = 0
    organised_and_trained: int = 0  # the plan's numerator; the denominator is ``officers``
    has_association: bool = False
    leader_on_board: bool = False
    members: int = 0  # policy study: association members and officers of the commune's branches
    studied_policy: int = 0  # of them, who studied in the period, or in the plan's phase so far (``policy_phase``)
    # (first, last, measured year) when the commune's plan counts the policy study over a phase (ADR 54).
    policy_phase: tuple[int, int, int] | None = None
    # The old communes whose figures this current commune carries (the 2025 map change), by name: a period before the
    # commune was created is theirs, as on the targets dashboard.
    carried_from: list[str] = field(default_factory=list)


# The counts a current commune carries from the communes merged into it (``share ×`` each, as the dashboard).
CARRIED_COUNTS = (
    "officers",
    "meets_basic",
    "certified_basic",
    "trained",
    "organised",
    "organised_and_trained",
    "members",
    "studied_policy",
)


@dataclass
class Figures:
    scope: AdminUnit
    period: Period
    definition: TrainedDefinition
    communes: list[CommuneFigures]

    def total(self, name: str) -> int:
        return sum(int(getattr(c, name)) for c in self.communes)

    @property
    def associations(self) -> int:
        return self.total("has_association")

    @property
    def policy_phase(self) -> tuple[int, int, int] | None:
        """The phase the policy study is counted over, when every commune here counts it over the same one."""
        phases = {c.policy_phase for c in self.communes}
        return phases.pop() if len(phases) == 1 else None

    @property
    def policy_phases_differ(self) -> bool:
        """Some communes here count the policy study over their plan's phase, others over the period."""
        return len({c.policy_phase for c in self.communes}) > 1

    @property
    def associations_led_in_clc(self) -> int:
        return sum(1 for c in self.communes if c.has_association and c.leader_on_board)


def _leaders_on_board(scope: AdminUnit, period: Period, only: Sequence[int] | None = None) -> Select:
    """(commune_id, has an association, chair or vice-chair on a board of the commune's CLC) per commune."""
    d = framework().definitions
    branch_active = _active(AssociationMembership.started_on, AssociationMembership.ended_on, period)
    has_association = exists(select(literal(1)).where(AssociationMembership.unit_id == AdminUnit.id, branch_active))
    leader = aliased(AssociationMembership)
    on_board = exists(
        select(literal(1))
        .select_from(leader)
        .join(BoardMembership, BoardMembership.person_id == leader.person_id)
        .join(Clc, Clc.id == BoardMembership.clc_id)
        .where(
            leader.unit_id == AdminUnit.id,
            leader.role.in_(d["leader_roles"]),
            _active(leader.started_on, leader.ended_on, period),
            Clc.commune_id == AdminUnit.id,
            BoardMembership.role.in_(d["board_roles"]),
            _active(BoardMembership.started_on, BoardMembership.ended_on, period),
        )
    )
    return select(
        AdminUnit.id,
        AdminUnit.kind,
        AdminUnit.name,
        AdminUnit.sort_key,
        AdminUnit.path,
        AdminUnit.level,
        AdminUnit.valid_to,
        _has_predecessors(AdminUnit, period).label("merged"),
        has_association.label("assoc"),
        on_board.label("on_board"),
    ).where(
        AdminUnit.level == UnitLevel.COMMUNE,
        subtree(AdminUnit.path, scope.path),
        or_(AdminUnit.valid_from.is_(None), AdminUnit.valid_from <= period.last, _has_predecessors(AdminUnit, period)),
        or_(AdminUnit.valid_to.is_(None), AdminUnit.valid_to >= period.first),
        *([AdminUnit.id.in_(only)] if only is not None else []),
    )


def _has_predecessors(unit: Any, period: Period) -> Any:
    """A current commune that old communes of the period went into: it has figures before its creation (theirs,
    carried)."""
    from lms.targets.services import commune_lineage

    links = commune_lineage().subquery()
    old = aliased(AdminUnit, name="predecessor")
    of_period = (
        select(links.c.new_unit_id)
        .join(old, old.id == links.c.old_unit_id)
        .where(_active(old.valid_from, old.valid_to, period))
    )
    return and_(unit.valid_to.is_(None), unit.id.in_(of_period))


def policy_students(first: date, last: date, persons: Any = None) -> Select:
    """Who studied the programme's directives from ``first`` to ``last`` (both included): attended a held session of
    a policy-study class, or hold a policy-study learning record of that time. The one definition, read by these
    pages and by the plan indicator (``lms.targets.compute``) alike. ``persons``: only those (a subquery)."""
    start, end = datetime.combine(first, time.min), datetime.combine(last + timedelta(days=1), time.min)
    attended = (
        select(Attendance.person_id)
        .join(ClassSession, ClassSession.id == Attendance.session_id)
        .join(CourseClass, CourseClass.id == ClassSession.class_id)
        .join(Course, Course.id == CourseClass.course_id)
        .join(AttendanceStatus, AttendanceStatus.code == Attendance.status)
        .where(
            Course.category == CourseCategory.POLICY_STUDY.value,
            AttendanceStatus.counts_as_attended,
            ClassSession.status == SessionStatus.SCHEDULED.value,
            ClassSession.starts_at >= start,
            ClassSession.starts_at < end,
        )
    )
    recorded = select(LearningRecord.person_id).where(
        LearningRecord.kind == LearningKind.POLICY_STUDY.value,
        LearningRecord.completed_on >= first,
        LearningRecord.completed_on <= last,
    )
    if persons is not None:
        attended = attended.where(Attendance.person_id.in_(persons))
        recorded = recorded.where(LearningRecord.person_id.in_(persons))
    return union(attended, recorded)  # type: ignore[return-value]


def policy_study_window(metric: dict[str, Any] | None, period: Period) -> tuple[Period, tuple[int, int] | None]:
    """The time the policy study is counted over when ``period`` is measured, and the plan's phase it follows: the
    period itself (and None), or — when the plan's figure counts it over phases ("trong giai đoạn", Plan 1514, ADR
    54) — from the first day of the phase holding the period's last year to the period's last day. The targets
    dashboard (a year) and these pages (any period) both ask this, so a commune shows one figure for a year on both."""
    from lms.targets.plans import phase_of

    phase = phase_of(metric or {}, period.last.year)
    return (Period(date(phase[0], 1, 1), period.last), phase) if phase else (period, None)


def _policy_study(scope: AdminUnit, period: Period, window: Period, communes: Sequence[int] | None = None) -> Select:
    """Per commune: association members and officers active in ``period`` (every branch in the commune) and those of
    them who studied the programme's directives in ``window`` (:func:`policy_students`); ``communes``: only those."""
    commune = aliased(AdminUnit, name="commune")
    branch = aliased(AdminUnit, name="branch")
    members = (
        select(AssociationMembership.person_id, commune.id.label("commune_id"))
        .join(branch, branch.id == AssociationMembership.unit_id)
        # A branch is the commune's own or a village's (villages are the communes' children).
        .join(commune, commune.id == case((branch.level == UnitLevel.VILLAGE, branch.parent_id), else_=branch.id))
        .where(
            commune.level == UnitLevel.COMMUNE,
            subtree(commune.path, scope.path),
            _active(AssociationMembership.started_on, AssociationMembership.ended_on, period),
            *([commune.id.in_(communes)] if communes is not None else []),
        )
        .distinct()
        .subquery("members")
    )
    studied = policy_students(window.first, window.last, select(members.c.person_id)).subquery("studied")
    return (
        select(members.c.commune_id, func.count().label("members"), func.count(studied.c.person_id).label("studied"))
        .select_from(members)
        .outerjoin(studied, studied.c.person_id == members.c.person_id)
        .group_by(members.c.commune_id)
    )


def _policy_windows(period: Period, units: Sequence[Any]) -> dict[int, tuple[Period, tuple[int, int] | None]]:
    """Per commune of ``units`` (id, level, path), :func:`policy_study_window` of the plan that applies to it (as the
    targets dashboard and the officers' target read it): one query when no plan counts the figure."""
    from lms.targets.services import indicators_for_figure

    indicators = indicators_for_figure(units, "studied_policy")
    return {u.id: policy_study_window(i.numerator if (i := indicators.get(u.id)) else None, period) for u in units}


def figures(scope: AdminUnit, period: Period, *, carry: bool = True, only: Sequence[int] | None = None) -> Figures:
    """The plan figures for a commune or a province: five statements whatever the number of officers (and a few more
    per plan that counts the policy study, one more per other way a plan counts it). ``carry``: a current commune
    carries the figures of the old communes that went into it (:func:`_carry_predecessors`), as the dashboard does;
    ``only``: those communes of the scope alone."""
    lines: dict[int, CommuneFigures] = {}
    units = db.session.execute(_leaders_on_board(scope, period, only).order_by(AdminUnit.sort_key, AdminUnit.id)).all()
    for row in units:
        lines[row.id] = CommuneFigures(
            row.id,
            f"{row.kind} {row.name}".strip(),
            has_association=bool(row.assoc),
            leader_on_board=bool(row.on_board),
        )
    flags, _, _ = _flags(scope, period, only)
    per_officer = flags.subquery("flags")
    as_int = lambda column: func.sum(case((column, 1), else_=0))  # noqa: E731 - a local shorthand
    for row in db.session.execute(
        select(
            per_officer.c.commune_id,
            func.count().label("officers"),
            as_int(per_officer.c.meets_basic).label("meets_basic"),
            as_int(per_officer.c.certified_basic).label("certified_basic"),
            as_int(per_officer.c.trained).label("trained"),
            as_int(per_officer.c.organised).label("organised"),
            as_int(and_(per_officer.c.organised, per_officer.c.trained)).label("both"),
        ).group_by(per_officer.c.commune_id)
    ):
        line = lines.get(row.commune_id)
        if line is None:
            continue
        line.officers, line.meets_basic, line.trained = row.officers, row.meets_basic or 0, row.trained or 0
        line.certified_basic = row.certified_basic or 0
        line.organised, line.organised_and_trained = row.organised or 0, row.both or 0
    windows = _policy_windows(period, units)
    by_window: dict[Period, list[int]] = {}
    for commune_id, (window, phase) in windows.items():
        by_window.setdefault(window, []).append(commune_id)
        if phase:
            lines[commune_id].policy_phase = (phase[0], phase[1], period.last.year)
    # One statement per distinct window: one, unless the scope holds communes under plans that count it differently.
    for window, ids in by_window.items():
        for row in db.session.execute(
            _policy_study(scope, period, window, ids if len(by_window) > 1 or only is not None else None)
        ):
            line = lines.get(row.commune_id)
            if line is not None:
                line.members, line.studied_policy = row.members, row.studied or 0
    if carry:
        _carry_predecessors(lines, units, period)
    return Figures(scope, period, trained_definition(), list(lines.values()))


def _carry_predecessors(lines: dict[int, CommuneFigures], units: Sequence[Any], period: Period) -> None:
    """Each current commune here gets ``share ×`` the figures of every old commune that went into it (the dashboard's
    rule, :func:`lms.targets.services.commune_lineage_shares`): a commune created on 1 July 2025 shows for 2024 what
    its predecessors counted, as the targets dashboard does for the same indicator. The old communes are counted
    once, together, under their closest common unit (a few statements more, whatever their number); a part of a
    split commune is rounded to whole persons. Old communes that are lines of this page are not carried again."""
    from lms.targets.services import commune_lineage_shares

    current = [u.id for u in units if u.merged]
    if not current:
        return  # no commune here that old communes went into: not one statement more
    links = commune_lineage_shares().subquery()
    parts = [
        row
        for row in db.session.execute(
            select(links.c.old_unit_id, links.c.new_unit_id, links.c.share).where(links.c.new_unit_id.in_(current))
        )
        if row.old_unit_id not in lines and row.new_unit_id in lines
    ]
    if not parts:
        return
    olds = {
        u.id: u for u in db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_({p.old_unit_id for p in parts})))
    }
    # The closest unit holding every old commune: its figures are computed once, whatever the number of links.
    common = _common_path([u.path for u in olds.values()])
    holder = db.session.scalar(select(AdminUnit).where(AdminUnit.path == common)) if common else None
    if holder is None:
        return
    theirs = {c.commune_id: c for c in figures(holder, period, carry=False, only=sorted(olds)).communes}
    for part in parts:
        old, line = theirs.get(part.old_unit_id), lines[part.new_unit_id]
        if old is None:
            continue  # the old commune did not exist in the period either
        share = Decimal(part.share)
        for name in CARRIED_COUNTS:
            carried = (Decimal(getattr(old, name)) * share).to_integral_value(ROUND_HALF_UP)
            setattr(line, name, getattr(line, name) + int(carried))
        line.has_association = line.has_association or old.has_association
        line.leader_on_board = line.leader_on_board or old.leader_on_board
        line.carried_from.append(old.commune_name)


def _common_path(paths: Sequence[str]) -> str:
    """The longest common ancestor path of materialised paths ("/1/3357/3358/3368/", …) — "" for none."""
    split = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for parts in zip(*split, strict=False):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    return f"/{'/'.join(common)}/" if common else ""


@dataclass
class OfficerLine:
    person_id: int
    full_name: str
    commune_id: int
    meets_basic: bool
    meets_advanced: bool
    trained: bool
    organised: bool
    modules: set[str]
    # The basic modules by a verified national certificate (Joint Circular 17/2016, Art. 16.1): the standard attested,
    # not only trained for.
    certified_basic: bool = False


def officers_matrix(scope: AdminUnit, period: Period, *, limit: int = 5000) -> list[OfficerLine]:
    """Officers × modules for the scope: two statements (the officers with their flags, their modules)."""
    fw = framework()
    flags, officers, _ = _flags(scope, period)
    stmt = (
        flags.add_columns(Person.full_name)
        .join(Person, Person.id == officers.c.person_id)
        .order_by(officers.c.commune_id, Person.sort_key, Person.id)
        .limit(limit)
    )
    lines = [
        OfficerLine(
            row.person_id,
            row.full_name,
            row.commune_id,
            bool(row.meets_basic),
            False,
            bool(row.trained),
            bool(row.organised),
            set(),
            bool(row.certified_basic),
        )
        for row in db.session.execute(stmt)
    ]
    by_person: dict[int, list[OfficerLine]] = {}
    for line in lines:
        by_person.setdefault(line.person_id, []).append(line)
    if by_person:
        held = db.session.execute(
            select(LearningRecord.person_id, LearningRecord.module_code)
            .distinct()
            .where(
                LearningRecord.kind == LearningKind.IT_MODULE,
                LearningRecord.completed_on <= period.last,
                LearningRecord.person_id.in_(select(officers.c.person_id)),
            )
        )
        for person_id, code in held:
            for line in by_person.get(person_id, []):
                line.modules.add(code)
    for line in lines:
        line.meets_advanced = fw.meets("advanced", line.modules) if "advanced" in fw.standards else False
    return lines


def certificates_in_scope(user: Any, permission: Any) -> Select:
    """Certificates of persons living in the units where ``user`` holds ``permission``."""
    from lms.auth.permissions import scoped

    return scoped(
        select(ItCertificate).join(Person, Person.id == ItCertificate.person_id), Person.unit_id, user, permission
    )


def may_see_certificate(user: Any, certificate: ItCertificate, permissions: Sequence[Any]) -> bool:
    """The person themself, or a holder of one of ``permissions`` over the person's unit."""
    from lms.auth.permissions import can

    if getattr(user, "person_id", None) is not None and user.person_id == certificate.person_id:
        return True
    return any(can(user, p, certificate.person.unit) for p in permissions)


def scan_for(certificate: ItCertificate, *, viewer_person_id: int | None) -> EvidenceFile | None:
    """The certificate's scan, for a caller already allowed to see the certificate. Someone else's scan being
    viewed is an audit event (personal data); the caller commits it."""
    scan = db.session.get(EvidenceFile, certificate.evidence_file_id)
    if scan is not None and viewer_person_id != certificate.person_id:
        audit("it_certificate.scan_viewed", certificate, person_id=certificate.person_id)
    return scan


# --- enrolling oneself ---------------------------------------------------------------------------------------


def is_officer(person: Person) -> bool:
    """An association officer now: the people the IT-skills plan (Plan 1514) is about."""
    return (
        db.session.scalar(
            select(AssociationMembership.id)
            .where(
                AssociationMembership.person_id == person.id,
                AssociationMembership.role.in_(framework().definitions["officer_roles"]),
                AssociationMembership.ended_on.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def open_classes(person: Person, commune: AdminUnit, *, today: date, class_id: int | None = None) -> list[CourseClass]:
    """IT-skills classes of the person's commune not yet over, whose target group admits them, not yet joined: those
    a person may enrol in themselves (My training, and ``POST /api/v1/it/me/classes/<id>/enrol``). ``class_id``: only
    that one, if it is open to them."""
    officer = is_officer(person)
    is_member = officer or db.session.scalar(
        select(AssociationMembership.id)
        .where(AssociationMembership.person_id == person.id, AssociationMembership.ended_on.is_(None))
        .limit(1)
    )
    groups = [TargetGroup.EVERYONE.value]
    if officer:
        groups.append(TargetGroup.ASSOCIATION_OFFICERS.value)
    if is_member:
        groups.append(TargetGroup.ASSOCIATION_MEMBERS.value)
    joined = select(Enrolment.class_id).where(
        Enrolment.person_id == person.id, Enrolment.status != EnrolmentStatus.WITHDRAWN
    )
    return list(
        db.session.scalars(
            select(CourseClass)
            .join(Course, Course.id == CourseClass.course_id)
            .where(
                CourseClass.commune_id == commune.id,
                Course.category == CourseCategory.IT_SKILLS,
                CourseClass.ends_on >= today,
                CourseClass.target_group.in_(groups),
                CourseClass.id.not_in(joined),
                *([CourseClass.id == class_id] if class_id is not None else []),
            )
            .options(selectinload(CourseClass.clc))
            .order_by(CourseClass.starts_on, CourseClass.id)
            .limit(20)
        )
    )
