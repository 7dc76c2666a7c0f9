"""Registration and the recognition workflow: register → (the engine evaluates) → propose → decide → (revoke).

Statuses move forward only::

    proposed ──► recognised ──► revoked
        └──────► rejected

A proposal copies the eligibility row it stands on (score, level, breakdown, criteria-set version), so the record
of why survives later changes. A decision is recorded for many proposals at once (one decision number, date and
authority). Two approvers deciding the same proposal: the rows are read ``FOR UPDATE`` (PostgreSQL; SQLite write
transactions are serialised, ADR 3) and only ``proposed`` rows move, so the second one gets a
:class:`TransitionConflict` naming the rows that are no longer proposals.

Services flush and never commit; every operation is all or nothing (one refused item refuses the call) and over
many rows costs a few statements, not one per row. Registrations and decisions mark the commune-year for
evaluation (``mark_dirty``): group titles may count recognised members.
"""

from __future__ import annotations

import functools
import hashlib
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, ParamSpec, TypeVar

from flask import has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    Select,
    case,
    cast,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased

from lms.auth.permissions import Body, Permission, in_scope, scoped, scoped_to
from lms.core import formatting, spreadsheet
from lms.core.clock import local_today
from lms.core.models import AuditEvent
from lms.core.pdf import new_code, normalise_code
from lms.core.signals import revoked
from lms.extensions import db, utcnow
from lms.registry.models import (
    HEAD_RELATIONS,
    AdminUnit,
    Clan,
    Household,
    Organisation,
    Person,
    UnitLevel,
    subtree,
)
from lms.registry.pii import InvalidIdNumber, id_number_hash, normalise_id_number
from lms.registry.text import fold, initials_name
from lms.titles import approvals, deadlines, explain
from lms.titles import criteria as crit
from lms.titles.dirty import home_pairs, household_pairs, mark_dirty
from lms.titles.explain import word as _word
from lms.titles.models import (
    TITLE_SUBJECT,
    Assessment,
    CriteriaSet,
    Eligibility,
    EligibilityBreakdown,
    Recognition,
    RecognitionStatus,
    Registration,
    SubjectType,
    Title,
    with_assessment_ids,
)

MAX_ITEMS = 5000  # one commune's households fit; a province does not belong in one request
MAX_IMPORT_BYTES = 5 * 1024 * 1024

# Allowed moves: from → to.
TRANSITIONS: dict[str, frozenset[str]] = {
    RecognitionStatus.PROPOSED: frozenset({RecognitionStatus.RECOGNISED, RecognitionStatus.REJECTED}),
    RecognitionStatus.RECOGNISED: frozenset({RecognitionStatus.REVOKED}),
    RecognitionStatus.REJECTED: frozenset(),
    RecognitionStatus.REVOKED: frozenset(),
}

# The titles as printed on certificates and shown on the public page (Vietnamese, whatever the reader's language).
TITLE_NAMES_VI = {
    Title.CITIZEN: "Công dân học tập",
    Title.FAMILY: "Gia đình học tập",
    Title.CLAN: "Dòng họ học tập",
    Title.VILLAGE_COMMUNITY: "Cộng đồng học tập cấp thôn",
    Title.UNIT: "Đơn vị học tập",
    Title.COMMUNE_COMMUNITY: "Cộng đồng học tập cấp xã",
}


def title_name_vi(row: Recognition) -> str:
    """The title as the decision and the certificate name it. A Learning Unit recognised under Circular 24/2023 is an
    "'Đơn vị học tập' cấp huyện" (Art. 5.1: a district-level unit, Art. 2.3, the commune People's Committee among
    them) or "cấp tỉnh" (Art. 11.1: a province-level unit, Art. 2.4); a commune-managed one (Decision 448) has no
    level in its name."""
    return title_names_vi([row])[row.id]


def title_names_vi(rows: Sequence[Recognition]) -> dict[int, str]:
    """:func:`title_name_vi` of many recognitions (a decision's): two statements at most whatever their number."""
    names = {row.id: TITLE_NAMES_VI[Title(row.title)] for row in rows}
    units = [row for row in rows if row.title == Title.UNIT.value and row.criteria_set_id is not None]
    if not units:
        return names
    circular = {
        set_id
        for set_id, definition in db.session.execute(
            select(CriteriaSet.id, CriteriaSet.definition).where(
                CriteriaSet.id.in_({row.criteria_set_id for row in units})
            )
        ).tuples()
        if {"district", "province"} & set((definition or {}).get("managing_levels") or ())
    }
    units = [row for row in units if row.criteria_set_id in circular]
    if not units:
        return names
    organisations = {
        oid: (level, kind)
        for oid, level, kind in db.session.execute(
            select(Organisation.id, Organisation.managing_level, Organisation.kind).where(
                Organisation.id.in_({row.subject_id for row in units})
            )
        ).tuples()
    }
    for row in units:
        if row.subject_id not in organisations:
            continue
        level, kind = organisations[row.subject_id]
        province = level in ("province", "central") and kind != "commune_committee"
        names[row.id] = f"{names[row.id]} cấp {'tỉnh' if province else 'huyện'}"
    return names


class RecognitionError(ValueError):
    """A refused operation. ``field`` names the input at fault; ``details`` lists per-item problems as
    ``{"index", "subject_id" | "recognition_id", "message"}``."""

    def __init__(self, message: str, field: str = "", details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.details = details or []


class TransitionConflict(RecognitionError):
    """A status change the record's current status does not allow (decided twice, revoking a proposal…): a 409."""


# --- subjects --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    id: int
    name: str  # as shown to people who may see the registry
    commune_id: int
    village_id: int | None
    public_name: str  # as shown on the public verification page: initials for persons and households
    # As printed on the paper handed to the subject (a family's certificate): without the registry's internal
    # household code; empty where it is the name.
    paper_name: str = ""

    @property
    def printed_name(self) -> str:
        return self.paper_name or self.name


def clan_name(name: str) -> str:
    """A clan as printed: "Dòng họ Nguyễn" from the registry's "Nguyễn" or "Họ Nguyễn", and a name already written
    "Dòng họ …" (as most are: "Dòng họ Nguyễn thôn Bình Minh") left as it is — not "Dòng họ Dòng họ …"."""
    name = unicodedata.normalize("NFC", " ".join(name.split()))  # sliced below as matched: "Họ" is 2 or 3 code points
    folded = name.casefold()
    if folded.startswith("dòng họ "):
        return name
    if folded.startswith("họ "):
        return f"Dòng họ {name[3:]}"
    return f"Dòng họ {name}"


def subjects(subject_type: str, ids: Iterable[int]) -> dict[int, Subject]:
    """The named subjects of one type with their commune and village (one or two queries whatever the number)."""
    ids = set(ids)
    if not ids:
        return {}
    result: dict[int, Subject] = {}
    if subject_type == SubjectType.PERSON:
        home = aliased(AdminUnit)
        is_village = home.level == UnitLevel.VILLAGE.value
        rows = db.session.execute(
            select(
                Person.id,
                Person.full_name,
                case((is_village, home.parent_id), else_=home.id),
                case((is_village, home.id), else_=null()),
            )
            .join(home, home.id == Person.unit_id)
            .where(Person.id.in_(ids))
        )
        for pid, name, commune_id, village_id in rows:
            result[pid] = Subject(pid, name, commune_id, village_id, initials_name(name))
    elif subject_type == SubjectType.HOUSEHOLD:
        village = aliased(AdminUnit)
        rows = db.session.execute(
            select(Household.id, Household.code, village.parent_id, village.id, village.name)
            .join(village, village.id == Household.village_id)
            .where(Household.id.in_(ids))
        )
        heads: dict[int, str] = {}
        with_head: set[int] = set()
        for household_id, name, relation in db.session.execute(
            select(Person.household_id, Person.full_name, Person.relation_to_head)
            .where(Person.household_id.in_(ids))
            .order_by(Person.household_id, Person.sort_key)
        ):
            # The recorded head (chủ hộ) wins; otherwise the first member in name order.
            if household_id not in heads or (relation in HEAD_RELATIONS and household_id not in with_head):
                heads[household_id] = name
                if relation in HEAD_RELATIONS:
                    with_head.add(household_id)
        for hid, code, commune_id, village_id, village_name in rows:
            head = heads.get(hid, "")
            # By its head and village, as people know it; the registry's code only for a household with no member
            # (labelled: it is then all there is to tell it by).
            name = f"Hộ {head} ({village_name})" if head else f"Hộ số {code} ({village_name})"
            public = f"Hộ {initials_name(head)}" if head else "Hộ gia đình"
            result[hid] = Subject(hid, name, commune_id, village_id, public, f"Hộ {head}" if head else "")
    elif subject_type == SubjectType.CLAN:
        for cid, name, commune_id in db.session.execute(
            select(Clan.id, Clan.name, Clan.commune_id).where(Clan.id.in_(ids))
        ):
            printed = clan_name(name)
            result[cid] = Subject(cid, printed, commune_id, None, printed)
    elif subject_type == SubjectType.ORGANISATION:
        for oid, name, commune_id in db.session.execute(
            select(Organisation.id, Organisation.name, Organisation.commune_id).where(Organisation.id.in_(ids))
        ):
            result[oid] = Subject(oid, name, commune_id, None, name)
    else:
        level = UnitLevel.VILLAGE if subject_type == SubjectType.VILLAGE else UnitLevel.COMMUNE
        for unit in db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(ids), AdminUnit.level == level.value)):
            commune_id = unit.parent_id if level == UnitLevel.VILLAGE else unit.id
            assert commune_id is not None
            result[unit.id] = Subject(
                unit.id, unit.full_name, commune_id, unit.id if level == UnitLevel.VILLAGE else None, unit.full_name
            )
    return result


def _communes_in_scope(commune_ids: Iterable[int], user: Any, permission: Permission) -> set[int]:
    ids = set(commune_ids)
    if not ids:
        return set()
    return set(
        db.session.scalars(
            select(AdminUnit.id).where(AdminUnit.id.in_(ids), in_scope(AdminUnit.path, user, permission))
        )
    )


def _communes_under(commune_ids: Iterable[int], paths: Sequence[str]) -> set[int]:
    """Those of ``commune_ids`` lying under one of ``paths`` (roots already resolved)."""
    ids = set(commune_ids)
    if not ids or not paths:
        return set()
    return set(
        db.session.scalars(
            select(AdminUnit.id).where(AdminUnit.id.in_(ids), or_(*(subtree(AdminUnit.path, p) for p in paths)))
        )
    )


def _check_year(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise RecognitionError(_("The year must be between 2000 and 2100."), "year")


def _audit_many(action: str, ids: Sequence[int], user: Any, **details: Any) -> None:
    """One audit event per recognition, written in one statement."""
    if ids:
        db.session.execute(
            insert(AuditEvent),
            [
                {
                    "action": action,
                    "object_type": "recognition",
                    "object_id": str(rid),
                    "user_id": getattr(user, "id", None),
                    "details": details,
                    "at": utcnow(),
                }
                for rid in ids
            ],
        )


# --- registration ----------------------------------------------------------------------------------------------


@dataclass
class RegistrationResult:
    created: list[int] = field(default_factory=list)  # subject ids newly registered (or to be, in a preview)
    already: list[int] = field(default_factory=list)  # subject ids registered before
    preview: dict[str, Any] | None = None  # an import's preview (lms.core.imports): nothing written yet
    digest: str = ""
    outdated: bool = False  # a confirmation whose preview no longer holds: nothing was written
    rows: list[list[int]] = field(default_factory=list)  # [row number, subject id] of an import, to confirm


def register(
    *, title: str, year: int, subject_ids: Sequence[int], user: Any, registered_on: date | None = None
) -> RegistrationResult:
    """Register subjects for ``title`` in ``year`` (idempotent: a subject registered before is reported, not
    doubled). Every subject must exist and lie in the user's scope for ``titles.assess``."""
    if title not in Title.__members__.values():
        raise RecognitionError(_("Unknown title “%(title)s”.", title=title), "title")
    _check_year(year)
    if not subject_ids:
        raise RecognitionError(_("Name at least one subject."), "subject_ids")
    if len(subject_ids) > MAX_ITEMS:
        raise RecognitionError(_("At most %(count)s subjects at once.", count=MAX_ITEMS), "subject_ids")
    subject_type = TITLE_SUBJECT[Title(title)]
    found = subjects(subject_type, subject_ids)
    allowed = _communes_in_scope({s.commune_id for s in found.values()}, user, Permission.TITLES_ASSESS)
    details = [
        {
            "index": i,
            "subject_id": sid,
            "message": _("no %(kind)s with id %(id)s in your scope", kind=_word(subject_type), id=sid),
        }
        for i, sid in enumerate(subject_ids)
        if sid not in found or found[sid].commune_id not in allowed
    ]
    if details:
        raise RecognitionError(
            _("%(count)s subject(s) cannot be registered.", count=len(details)), "subject_ids", details
        )
    wanted = list(dict.fromkeys(subject_ids))
    existing = set(
        db.session.scalars(
            select(Registration.subject_id).where(
                Registration.subject_type == subject_type,
                Registration.title == title,
                Registration.year == year,
                Registration.subject_id.in_(wanted),
            )
        )
    )
    new = [sid for sid in wanted if sid not in existing]
    if new:
        day = registered_on or local_today()
        db.session.execute(
            insert(Registration),
            [
                {
                    "subject_type": subject_type,
                    "subject_id": sid,
                    "title": title,
                    "year": year,
                    "commune_id": found[sid].commune_id,
                    "registered_on": day,
                    "registered_by_id": getattr(user, "id", None),
                }
                for sid in new
            ],
        )
        db.session.add(
            AuditEvent(
                action="titles.register",
                object_type="title_registration",
                object_id=None,
                user_id=getattr(user, "id", None),
                details={"title": title, "year": year, "subject_type": subject_type, "count": len(new)},
            )
        )
        mark_dirty({(found[sid].commune_id, year) for sid in new})
    return RegistrationResult(created=new, already=[sid for sid in wanted if sid in existing])


# --- registration import ---------------------------------------------------------------------------------------

# Header names a file may use for each column (compared folded: "Mã hộ" = "ma ho" = "household_code").
COLUMNS: dict[str, tuple[str, ...]] = {
    "household_code": ("household_code", "mã hộ", "ma ho gia dinh", "mã hộ gia đình"),
    "village_code": ("village_code", "mã thôn", "ma thon to dan pho"),
    "id_number": ("id_number", "số định danh", "so dinh danh ca nhan", "cccd", "số cccd"),
    "full_name": ("full_name", "họ và tên", "ho ten"),
    "birth_date": ("birth_date", "ngày sinh"),
    "organisation_code": ("organisation_code", "mã đơn vị", "ma to chuc", "mã cơ quan"),
    "clan_name": ("clan_name", "tên dòng họ", "dòng họ", "dong ho"),
}
LAYOUTS: dict[str, tuple[str, ...]] = {  # the columns each subject type reads (the first ones identify)
    SubjectType.HOUSEHOLD: ("household_code", "village_code"),
    SubjectType.PERSON: ("id_number", "full_name", "birth_date", "village_code"),
    SubjectType.ORGANISATION: ("organisation_code",),
    SubjectType.CLAN: ("clan_name",),
    SubjectType.VILLAGE: ("village_code",),
}


# The import's messages: English ids, translated through Flask-Babel; each error carries both languages.
SELF_REGISTERED = _l("a commune registers itself on the registration page, not by import")
NO_VILLAGE = _l("no village with code %(code)s in %(commune)s")
NO_HOUSEHOLD = _l("no household %(code)s in village %(village)s")
NO_ORGANISATION = _l("no organisation with code %(code)s in %(commune)s")
NO_CLAN = _l("no clan named %(name)s in %(commune)s")
BAD_ID_NUMBER = _l("a personal ID number has exactly 12 digits")
NO_PERSON_BY_ID = _l("no person with this ID number in %(commune)s")
REQUIRED_WITHOUT_ID = _l("required when there is no ID number")
NO_PERSON = _l("no person %(name)s born %(born)s in %(commune)s")
NAMESAKES = _l("%(count)s persons named %(name)s born %(born)s: give the ID number or the village code")


class ImportRejected(RecognitionError):
    """The file was refused as a whole; ``errors`` lists every problem as ``{"row", "column", "message",
    "message_vi"}`` (:meth:`lms.core.spreadsheet.SpreadsheetError.as_dict`)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(
            _n(
                "%(num)d error in the file: nothing was registered.",
                "%(num)d errors in the file: nothing was registered.",
                len(errors),
            ),
            "file",
        )
        self.errors = errors


_text = spreadsheet.as_text


def _read(content: bytes, filename: str) -> spreadsheet.Table:
    """The file's header and data rows, through the shared reader (with its limits: ADR 0020)."""
    try:
        limits = spreadsheet.Limits.from_config(MAX_ITEMS)
        return spreadsheet.read_table(filename, content, replace(limits, max_bytes=MAX_IMPORT_BYTES))
    except spreadsheet.SpreadsheetError as exc:
        raise ImportRejected([exc.as_dict()]) from None


def import_registrations(
    content: bytes, filename: str, *, commune: AdminUnit, title: str, year: int, user: Any, dry_run: bool = False
) -> RegistrationResult:
    """Register the subjects a spreadsheet lists (xlsx or csv; first row = headers), all in ``commune``.

    Columns by title — family: household code + village code; citizen: personal ID number, or full name + birth
    date (village code optional, to tell namesakes apart); unit: organisation code; clan: clan name; village
    community: village code. Every row is checked first and every error reported with its row and column; if any
    row is wrong nothing is registered. A ``dry_run`` registers nothing and returns the preview
    (:func:`apply_registration_rows`).
    """
    subject_type = TITLE_SUBJECT[Title(title)]
    if subject_type not in LAYOUTS:
        raise ImportRejected([spreadsheet.SpreadsheetError(SELF_REGISTERED).as_dict()])
    table = _read(content, filename)
    # Which layouts' columns are required depends on the others present: checked below, not by match_header.
    found = spreadsheet.match_header(
        table.header, [spreadsheet.Column(column, aliases, required=False) for column, aliases in COLUMNS.items()]
    )
    position, labels = found.index, found.labels
    layout = LAYOUTS[subject_type]
    errors: list[dict[str, Any]] = [error.as_dict() for error in found.errors]
    required = [layout[0]] if subject_type != SubjectType.PERSON else []
    if subject_type == SubjectType.HOUSEHOLD:
        required.append("village_code")
    if (
        subject_type == SubjectType.PERSON
        and "id_number" not in position
        and not {"full_name", "birth_date"} <= set(position)
    ):
        required = ["id_number"]
    for column in required:
        if column not in position:
            name = f"{column} ({COLUMNS[column][1]})"
            errors.append(
                spreadsheet.SpreadsheetError(spreadsheet.MISSING_COLUMN, row=1, column=column, name=name).as_dict()
            )
    if errors:
        raise ImportRejected(errors)

    def raw(row: list[Any], column: str) -> Any:
        index = position.get(column)
        return row[index] if index is not None and index < len(row) else None

    def cell(row: list[Any], column: str) -> str:
        return _text(raw(row, column))

    data = table.rows
    villages = dict(
        db.session.execute(
            select(AdminUnit.code, AdminUnit.id).where(
                AdminUnit.parent_id == commune.id, AdminUnit.level == UnitLevel.VILLAGE.value
            )
        )
        .tuples()
        .all()
    )
    chosen: list[tuple[int, int]] = []  # (row number, subject id)

    def fail(number: int, column: str, message: Any, **params: Any) -> None:
        label = labels.get(column, column)
        errors.append(spreadsheet.SpreadsheetError(message, row=number, column=label, **params).as_dict())

    where = commune.full_name

    if subject_type == SubjectType.HOUSEHOLD:
        households = {
            (vid, code): hid
            for hid, vid, code in db.session.execute(
                select(Household.id, Household.village_id, Household.code).where(
                    Household.village_id.in_(villages.values())
                )
            )
        }
        for number, row in data:
            code, village_code = cell(row, "household_code"), cell(row, "village_code")
            if not village_code:
                fail(number, "village_code", spreadsheet.REQUIRED)
            elif village_code not in villages:
                fail(number, "village_code", NO_VILLAGE, code=village_code, commune=where)
            if not code:
                fail(number, "household_code", spreadsheet.REQUIRED)
            elif village_code in villages:
                if (hid := households.get((villages[village_code], code))) is None:
                    fail(number, "household_code", NO_HOUSEHOLD, code=code, village=village_code)
                else:
                    chosen.append((number, hid))
    elif subject_type == SubjectType.VILLAGE:
        for number, row in data:
            code = cell(row, "village_code")
            if not code:
                fail(number, "village_code", spreadsheet.REQUIRED)
            elif code not in villages:
                fail(number, "village_code", NO_VILLAGE, code=code, commune=where)
            else:
                chosen.append((number, villages[code]))
    elif subject_type == SubjectType.ORGANISATION:
        organisations = dict(
            db.session.execute(select(Organisation.code, Organisation.id).where(Organisation.commune_id == commune.id))
            .tuples()
            .all()
        )
        for number, row in data:
            code = cell(row, "organisation_code")
            if not code:
                fail(number, "organisation_code", spreadsheet.REQUIRED)
            elif code not in organisations:
                fail(number, "organisation_code", NO_ORGANISATION, code=code, commune=where)
            else:
                chosen.append((number, organisations[code]))
    elif subject_type == SubjectType.CLAN:
        clans = dict(
            db.session.execute(select(Clan.name_folded, Clan.id).where(Clan.commune_id == commune.id)).tuples().all()
        )
        for number, row in data:
            name = cell(row, "clan_name")
            if not name:
                fail(number, "clan_name", spreadsheet.REQUIRED)
            elif fold(name) not in clans:
                fail(number, "clan_name", NO_CLAN, name=name, commune=where)
            else:
                chosen.append((number, clans[fold(name)]))
    else:
        chosen = _resolve_persons(data, raw, fail, commune, villages)
    if errors:
        raise ImportRejected(errors)
    return apply_registration_rows(chosen, commune=commune, title=title, year=year, user=user, dry_run=dry_run)


def apply_registration_rows(
    rows: Sequence[Sequence[int]],
    *,
    commune: AdminUnit,
    title: str,
    year: int,
    user: Any,
    dry_run: bool = False,
    expected_digest: str | None = None,
) -> RegistrationResult:
    """Register the subjects of an import's checked ``rows`` (``[row number, subject id]``), or with ``dry_run``
    only preview it: who would be registered, who already is, and what follows (the commune-year is evaluated
    again). With ``expected_digest`` (a confirmation) nothing is written unless the preview still holds; the result
    then says ``outdated``, with the new preview."""
    from lms.core.imports import Preview

    if title not in Title.__members__.values():
        raise RecognitionError(_("Unknown title “%(title)s”.", title=title), "title")
    subject_type = TITLE_SUBJECT[Title(title)]
    first_rows: dict[int, int] = {}
    for number, subject_id in rows:
        first_rows.setdefault(subject_id, number)
    found = subjects(subject_type, first_rows)
    existing = set(
        db.session.scalars(
            select(Registration.subject_id).where(
                Registration.subject_type == subject_type,
                Registration.title == title,
                Registration.year == year,
                Registration.subject_id.in_(list(first_rows)),
            )
        )
    )
    preview = Preview(("registrations",))
    for subject_id, number in first_rows.items():
        name = found[subject_id].name if subject_id in found else f"{subject_type} {subject_id}"
        kind = "unchanged" if subject_id in existing else "new"
        preview.add("registrations", kind, number, name, [subject_type, subject_id, title, year])
    created = preview.counts["registrations"]["created"]
    if created:
        preview.consequences.append(
            _(
                "%(commune)s, %(year)s: titles are evaluated again with the %(n)s new registrations",
                commune=commune.full_name,
                year=year,
                n=created,
            )
        )
    result = RegistrationResult(
        created=[sid for sid in first_rows if sid not in existing],
        already=[sid for sid in first_rows if sid in existing],
        preview=preview.as_dict(),
        digest=preview.digest,
        rows=[list(row) for row in rows],
    )
    if dry_run:
        return result
    if expected_digest is not None and expected_digest != preview.digest:
        result.outdated = True
        return result
    done = register(title=title, year=year, subject_ids=[subject_id for _row, subject_id in rows], user=user)
    result.created, result.already = done.created, done.already
    return result


def _(message: str, **params: Any) -> str:
    """A message in the request's language (English outside a request)."""
    if has_request_context():
        from flask_babel import gettext

        return gettext(message, **params)
    return message % params


def _n(singular: str, plural: str, num: int) -> str:
    """A counted message in the request's language (English outside a request)."""
    if has_request_context():
        from flask_babel import ngettext

        return ngettext(singular, plural, num)
    return (singular if num == 1 else plural) % {"num": num}


def _resolve_persons(
    data: list[tuple[int, list[Any]]], raw: Any, fail: Any, commune: AdminUnit, villages: dict[str, int]
) -> list[tuple[int, int]]:
    """Persons of the commune by ID number (keyed hash), else by folded name and birth date: two queries."""

    def cell(row: list[Any], column: str) -> str:
        return _text(raw(row, column))

    unit_ids = [commune.id, *villages.values()]
    hashes: dict[int, str] = {}
    for number, row in data:
        typed = cell(row, "id_number")
        if typed:
            try:
                hashes[number] = id_number_hash(normalise_id_number(typed))
            except InvalidIdNumber:
                fail(number, "id_number", BAD_ID_NUMBER)
    by_hash = (
        dict(
            db.session.execute(
                select(Person.id_number_hash, Person.id).where(
                    Person.id_number_hash.in_(set(hashes.values())), Person.unit_id.in_(unit_ids)
                )
            )
            .tuples()
            .all()
        )
        if hashes
        else {}
    )
    wanted_names = {fold(cell(row, "full_name")) for number, row in data if number not in hashes}
    # By name and year of birth; the day is compared below, where both sides know it (ADR 49: a register may give
    # the year alone, "1948", on either side).
    namesakes: dict[tuple[str, int], list[tuple[int, int, date, bool]]] = {}
    if wanted_names:
        for pid, folded, birth, unit_id, year_only in db.session.execute(
            select(Person.id, Person.name_folded, Person.birth_date, Person.unit_id, Person.birth_year_only).where(
                Person.name_folded.in_(wanted_names), Person.unit_id.in_(unit_ids), Person.birth_date.is_not(None)
            )
        ):
            namesakes.setdefault((folded, birth.year), []).append((pid, unit_id, birth, year_only))
    chosen: list[tuple[int, int]] = []
    for number, row in data:
        if number in hashes:
            if hashes[number] not in by_hash:
                fail(number, "id_number", NO_PERSON_BY_ID, commune=commune.full_name)
            else:
                chosen.append((number, by_hash[hashes[number]]))
            continue
        if cell(row, "id_number"):
            continue  # already reported as malformed
        name, raw_born = cell(row, "full_name"), cell(row, "birth_date")
        born: date | None = None
        if not name:
            fail(number, "full_name", REQUIRED_WITHOUT_ID)
        if not raw_born:
            fail(number, "birth_date", REQUIRED_WITHOUT_ID)
        else:
            try:
                born = spreadsheet.as_birth_date(raw(row, "birth_date"))
            except spreadsheet.SpreadsheetError as exc:
                fail(number, "birth_date", exc.msgid, **exc.params)
        if not name or born is None:
            continue
        year_typed = isinstance(born, spreadsheet.BirthYear)
        candidates = [
            c
            for c in namesakes.get((fold(name), born.year), [])
            if year_typed or c[3] or c[2] == born  # the day compared only where both know it
        ]
        village_code = cell(row, "village_code")
        if village_code:
            if village_code not in villages:
                fail(number, "village_code", NO_VILLAGE, code=village_code, commune=commune.full_name)
                continue
            candidates = [c for c in candidates if c[1] == villages[village_code]]
        shown = str(born.year) if year_typed else f"{born:%d/%m/%Y}"
        if not candidates:
            fail(number, "full_name", NO_PERSON, name=name, born=shown, commune=commune.full_name)
        elif len(candidates) > 1:
            fail(number, "full_name", NAMESAKES, count=len(candidates), name=name, born=shown)
        else:
            chosen.append((number, candidates[0][0]))
    return chosen


# --- proposals -------------------------------------------------------------------------------------------------


def proposable(title: str, year: int) -> Select:
    """Eligible rows of ``title`` and ``year`` that have no recognition row yet, nor hold the title at their level by
    an earlier recognition still in force (scope it with ``scoped``)."""
    taken = (
        select(Recognition.id)
        .where(
            Recognition.subject_type == Eligibility.subject_type,
            Recognition.subject_id == Eligibility.subject_id,
            Recognition.title == Eligibility.title,
            Recognition.year == Eligibility.year,
        )
        .exists()
    )
    # Held by an earlier recognition still in force at this level or higher: not proposable (see :func:`_kept`).
    earlier = aliased(Recognition)
    kept = (
        select(earlier.id)
        .where(
            earlier.subject_type == Eligibility.subject_type,
            earlier.subject_id == Eligibility.subject_id,
            earlier.title == Eligibility.title,
            earlier.status == RecognitionStatus.RECOGNISED.value,
            earlier.year < Eligibility.year,
            earlier.valid_until >= date(year, 12, 31),
            func.coalesce(earlier.level, 0) >= func.coalesce(Eligibility.level, 0),
        )
        .exists()
    )
    return select(Eligibility).where(
        Eligibility.title == title, Eligibility.year == year, Eligibility.eligible.is_(True), ~taken, ~kept
    )


def _who(subject_type: str, ids: Sequence[int]) -> dict[int, str]:
    """Subjects as a refusal names them, in the reader's language, with what tells namesakes apart: "Nguyễn Thị
    Tuyết (02/03/1994 · Thôn Kon Hra)", "Household of Y Blang (Thôn Kon Hra · head born in 1961)" — never "person
    17" (one query per call; none for no ids)."""
    if not ids:
        return {}
    from lms.titles.services import subject_labels

    labels = subject_labels((subject_type, i) for i in ids)
    return {i: f"{label.name} ({label.detail})" if label.detail else label.name for (_kind, i), label in labels.items()}


def _missing_words(item: dict[str, Any]) -> str:
    """What an indicator lacks, in the reader's language inside a request; its code outside one (CLI, tests)."""
    if has_request_context():
        return explain.describe_missing(item)
    missing = item.get("missing")
    return str(missing.get("code") if isinstance(missing, dict) else missing)


def _kept(subject_type: str, title: str, year: int, subject_ids: Sequence[int]) -> dict[int, Any]:
    """Subjects that hold ``title`` in ``year`` by a recognition of an earlier year still in force (a circular title
    kept for three years), with that recognition's year, level and end; one statement.

    Circular 24/2023, Art. 2.10: "Công nhận lại là việc thực hiện lại quy trình đánh giá, công nhận … sau khi quyết
    định công nhận lần trước đó hết thời hạn hiệu lực"; Art. 2.11: "Công nhận nâng mức độ" (level 1 → level 2);
    Circular 25/2023, Art. 5.4 and 9.4 the same for the commune. While a recognition is kept, a new one at the same or
    a lower level is neither: only the upgrade may be proposed."""
    rows = db.session.execute(
        select(Recognition.subject_id, Recognition.year, Recognition.level, Recognition.valid_until)
        .where(
            Recognition.subject_type == subject_type,
            Recognition.title == title,
            Recognition.status == RecognitionStatus.RECOGNISED.value,
            Recognition.year < year,
            Recognition.valid_until >= date(year, 12, 31),
            Recognition.subject_id.in_(subject_ids),
        )
        .order_by(Recognition.subject_id, func.coalesce(Recognition.level, 0), Recognition.year)
    )
    return {row.subject_id: row for row in rows}  # ordered: the highest level held (its latest year) wins


def propose(
    *, title: str, year: int, subject_ids: Sequence[int], user: Any, expected_digest: str | None = None
) -> list[int]:
    """Put eligible subjects on the list for recognition; returns the new recognitions' ids.

    Refuses, all or nothing and with one message per subject: a subject not evaluated, not eligible (with what it
    lacks), already proposed or decided, holding the title by an earlier recognition still in force at the same or a
    higher level (:func:`_kept`), or outside the user's scope for ``titles.propose``. The eligibility
    snapshot is copied by one ``INSERT … SELECT``. ``expected_digest``: the :func:`proposal_digest` of the preview
    being confirmed; an evaluation changed since (the engine ran again) is :class:`StaleProposal`.

    The check and the copy are two statements, and an engine run may commit between them: so a confirmation reads
    the evaluations it checks ``FOR UPDATE`` (PostgreSQL: the engine waits for this proposal's commit), and the copy
    is read back under a savepoint — evaluations that no longer match the preview (SQLite takes no row lock) undo
    the copy and are :class:`StaleProposal`, as a change before the check is. What is proposed is what was shown.
    The locks are taken in the order the engine writes (ids); should PostgreSQL still abort the confirmation as a
    deadlock or a serialization failure, the transaction is rolled back and the preview shown again with the
    evaluations as they are now (:class:`StaleProposal`), never a server error.
    """
    if expected_digest is None:
        wanted, rows = check_proposal(title=title, year=year, subject_ids=subject_ids, user=user)
        return _insert_proposals(title, year, wanted, rows, user)
    try:
        return _confirm_proposal(title, year, subject_ids, user, expected_digest)
    except DBAPIError as exc:
        if not lock_conflict(exc):
            raise
        db.session.rollback()  # the transaction is aborted: nothing of it was written
        now = _evaluations(TITLE_SUBJECT[Title(title)], title, year, list(dict.fromkeys(subject_ids)))
        raise StaleProposal(now, proposal_digest(title, year, now)) from exc


LOCK_CONFLICTS = frozenset({"40P01", "40001"})  # PostgreSQL: deadlock_detected, serialization_failure


def lock_conflict(exc: DBAPIError) -> bool:
    """Whether PostgreSQL aborted the statement's transaction as a deadlock or a serialization failure: the work
    can be asked again, unlike any other database error."""
    return getattr(exc.orig, "pgcode", None) in LOCK_CONFLICTS


class LockConflict(TransitionConflict):
    """PostgreSQL aborted a decision, a rejection, a revocation or a correction as a deadlock or a serialization
    failure (another approver, or an engine run, writing the same rows at the same moment): the transaction was
    rolled back and nothing was recorded; the approver looks again and confirms again. A 409, never a 500."""

    def __init__(self, field_name: str = "recognition_ids") -> None:
        super().__init__(
            _(
                "These recognitions were being changed by someone else at the same moment: nothing was recorded. "
                "Look at them again, then confirm."
            ),
            field_name,
        )


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _lock_conflicts_refused(field_name: str) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]:
    """The write, with a deadlock or serialization failure that aborts it (:func:`lock_conflict`) rolled back and
    raised as :class:`LockConflict` on ``field_name`` — as a proposal's confirmation answers one (a stale preview)."""

    def decorator(write: Callable[_P, _R]) -> Callable[_P, _R]:
        @functools.wraps(write)
        def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            try:
                return write(*args, **kwargs)
            except DBAPIError as exc:
                if not lock_conflict(exc):
                    raise
                db.session.rollback()  # the transaction is aborted: nothing of it was written
                raise LockConflict(field_name) from exc

        return guarded

    return decorator


def _confirm_proposal(title: str, year: int, subject_ids: Sequence[int], user: Any, expected_digest: str) -> list[int]:
    """:func:`propose` confirming the preview whose digest is ``expected_digest``."""
    wanted, rows = check_proposal(title=title, year=year, subject_ids=subject_ids, user=user, lock=True)
    current = proposal_digest(title, year, rows)
    if current != expected_digest:
        raise StaleProposal(rows, current)
    savepoint = db.session.begin_nested()
    ids = _insert_proposals(title, year, wanted, rows, user)
    now = _evaluations(TITLE_SUBJECT[Title(title)], title, year, wanted)
    if proposal_digest(title, year, now) != expected_digest:
        savepoint.rollback()
        raise StaleProposal(now, proposal_digest(title, year, now))
    savepoint.commit()
    return ids


def proposal_fingerprints(rows: dict[int, Any]) -> dict[int, str]:
    """Each subject's evaluation as a proposal copies it (the engine's row, its criteria set, level, score and the
    digest of what it was computed from), as a short fingerprint: what a preview showed, subject by subject."""
    return {
        sid: hashlib.sha256(
            repr((row.id, row.criteria_set_id, row.level, str(row.score), row.inputs_digest)).encode()
        ).hexdigest()[:12]
        for sid, row in rows.items()
    }


def proposal_digest(title: str, year: int, rows: dict[int, Any]) -> str:
    """What a proposal's preview showed: the title, the year, and each subject's evaluation that it copies."""
    shown = (title, year, sorted(proposal_fingerprints(rows).items()))
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:32]


class StaleProposal(TransitionConflict):
    """A proposal confirmed for a preview whose evaluations changed since (the engine ran again); ``rows`` (the
    subjects' evaluations now) and ``digest`` are the preview now."""

    def __init__(self, rows: dict[int, Any], digest: str) -> None:
        super().__init__(
            _(
                "The evaluations this proposal copies changed since they were shown: look at the list again, then "
                "confirm."
            ),
            "preview_digest",
        )
        self.rows = rows
        self.digest = digest


def _evaluations(
    subject_type: str, title: str, year: int, wanted: Sequence[int], *, lock: bool = False
) -> dict[int, Any]:
    """The engine's rows of ``wanted`` as a proposal copies them, by subject id (``lock``: ``FOR UPDATE`` of the
    evaluations, PostgreSQL)."""
    return {
        row.subject_id: row
        for row in db.session.execute(_evaluations_select(subject_type, title, year, wanted, lock=lock))
    }


def _evaluations_select(
    subject_type: str, title: str, year: int, wanted: Sequence[int], *, lock: bool = False
) -> Select:
    stmt = (
        select(
            Eligibility.id,
            Eligibility.subject_id,
            Eligibility.eligible,
            Eligibility.commune_id,
            Eligibility.level,
            Eligibility.score,
            Eligibility.inputs_digest,
            Eligibility.criteria_set_id,
            EligibilityBreakdown.content.label("breakdown"),
        )
        .outerjoin(EligibilityBreakdown, EligibilityBreakdown.id == Eligibility.breakdown_id)
        .where(
            Eligibility.subject_type == subject_type,
            Eligibility.title == title,
            Eligibility.year == year,
            Eligibility.subject_id.in_(wanted),
        )
    )
    if lock:
        # The row locks in id order, as the engine writes the evaluations (engine._evaluate_title): taken in scan
        # order, they could cross an engine run's and deadlock (PostgreSQL 40P01).
        stmt = stmt.with_for_update(of=Eligibility).order_by(Eligibility.id)
    return stmt


def check_proposal(
    *, title: str, year: int, subject_ids: Sequence[int], user: Any, lock: bool = False
) -> tuple[list[int], dict[int, Any]]:
    """What :func:`propose` would refuse, raised the same way, without writing anything (the page's confirmation
    step asks before a list is put forward: a proposal cannot be withdrawn). Returns the subjects and their rows
    (``lock``: the evaluations read ``FOR UPDATE``, for the copy that follows)."""
    if title not in Title.__members__.values():
        raise RecognitionError(_("Unknown title “%(title)s”.", title=title), "title")
    _check_year(year)
    if not subject_ids:
        raise RecognitionError(_("Choose at least one subject."), "subject_ids")
    if len(subject_ids) > MAX_ITEMS:
        raise RecognitionError(_("At most %(count)s subjects at once.", count=MAX_ITEMS), "subject_ids")
    subject_type = TITLE_SUBJECT[Title(title)]
    wanted = list(dict.fromkeys(subject_ids))
    rows = _evaluations(subject_type, title, year, wanted, lock=lock)
    existing = dict(
        db.session.execute(
            select(Recognition.subject_id, Recognition.status).where(
                Recognition.subject_type == subject_type,
                Recognition.title == title,
                Recognition.year == year,
                Recognition.subject_id.in_(wanted),
            )
        )
        .tuples()
        .all()
    )
    kept = _kept(subject_type, title, year, wanted)
    allowed = _communes_under({r.commune_id for r in rows.values()}, approvals.proposing_paths(user, title))
    refused = [
        sid
        for sid in subject_ids
        if rows.get(sid) is None
        or rows[sid].commune_id not in allowed
        or sid in existing
        or (kept.get(sid) is not None and (rows[sid].level or 0) <= (kept[sid].level or 0))
        or not rows[sid].eligible
    ]
    # A refusal names the subject as the lists do ("Hộ Nguyễn Văn A (Thôn …)"), never "household 123", and what it
    # lacks by the indicators' names: the page shows these to the leader (one query each, only when refusing).
    named = _who(subject_type, refused)
    indicator_words: dict[str, str] = {}
    if refused and has_request_context():
        from lms.titles.services import indicator_names

        indicator_words = indicator_names(
            title, formatting.current_locale(), [r.criteria_set_id for r in rows.values()]
        )
    details = []
    for index, sid in enumerate(subject_ids):
        row = rows.get(sid)
        held = kept.get(sid)
        who = named.get(sid) or f"{_word(subject_type)} {sid}"
        if row is None or row.commune_id not in allowed:
            message = _("%(who)s has no evaluation for %(year)s in your scope", who=who, year=year)
        elif sid in existing:
            message = _("%(who)s is already %(status)s for %(year)s", who=who, status=_word(existing[sid]), year=year)
        elif held is not None and (row.level or 0) <= (held.level or 0):
            message = _(
                "%(who)s holds the title by the recognition for %(held_year)s (level %(level)s), kept until "
                "%(until)s: it is recognised again only after that lapses; before, only a higher level may be "
                "proposed",
                who=who,
                held_year=held.year,
                level=held.level or "",
                until=f"{held.valid_until:%d/%m/%Y}",
            )
        elif not row.eligible:
            lacking = "; ".join(
                f"{indicator_words.get(str(item.get('indicator')), item.get('indicator'))}: {_missing_words(item)}"
                for item in row.breakdown or []
                if item.get("missing")
            )
            message = _("%(who)s is not eligible", who=who) + (f": {lacking}" if lacking else "")
        else:
            continue
        details.append({"index": index, "subject_id": sid, "message": message})
    if details:
        raise RecognitionError(
            _("%(count)s subject(s) cannot be proposed.", count=len(details)), "subject_ids", details
        )
    return wanted, rows


def _insert_proposals(title: str, year: int, wanted: list[int], rows: dict[int, Any], user: Any) -> list[int]:
    subject_type = TITLE_SUBJECT[Title(title)]
    now = utcnow()
    user_id = getattr(user, "id", None)
    columns = [
        "subject_type",
        "subject_id",
        "title",
        "year",
        "level",
        "commune_id",
        "village_id",
        "status",
        "criteria_set_id",
        "score",
        "breakdown",
        "proposed_at",
        "proposed_by_id",
        "decision_number",
        "authority",
        "reason",
    ]
    source = (
        select(
            Eligibility.subject_type,
            Eligibility.subject_id,
            Eligibility.title,
            Eligibility.year,
            Eligibility.level,
            Eligibility.commune_id,
            Eligibility.village_id,
            literal(RecognitionStatus.PROPOSED.value),
            Eligibility.criteria_set_id,
            Eligibility.score,
            func.coalesce(EligibilityBreakdown.content, literal([], JSON)),
            literal(now, DateTime),
            cast(literal(user_id), Integer),
            literal(""),
            literal(""),
            literal(""),
        )
        .select_from(Eligibility)
        .outerjoin(EligibilityBreakdown, EligibilityBreakdown.id == Eligibility.breakdown_id)
        .where(Eligibility.id.in_([rows[sid].id for sid in wanted]))
    )
    db.session.execute(insert(Recognition).from_select(columns, source))
    ids = list(
        db.session.scalars(
            select(Recognition.id)
            .where(
                Recognition.subject_type == subject_type,
                Recognition.title == title,
                Recognition.year == year,
                Recognition.subject_id.in_(wanted),
            )
            .order_by(Recognition.id)
        )
    )
    _name_assessments(ids, subject_type, year)
    _audit_many("recognition.propose", ids, user, title=title, year=year)
    return ids


def _name_assessments(ids: Sequence[int], subject_type: str, year: int) -> None:
    """The copied breakdowns name the assessments they were scored on (the engine's shared breakdowns do not,
    ADR 40): a recognition keeps them as they were when proposed. At most ``MAX_ITEMS`` rows, two statements and an
    update of the rows assessed."""
    copies = db.session.execute(
        select(Recognition.id, Recognition.subject_id, Recognition.breakdown).where(Recognition.id.in_(ids))
    ).all()
    assessed = [row for row in copies if any(_unnamed(item) for item in row.breakdown or [])]
    if not assessed:
        return
    found: dict[int, dict[str, int]] = {}
    for assessment_id, subject_id, indicator in db.session.execute(
        select(Assessment.id, Assessment.subject_id, Assessment.indicator).where(
            Assessment.subject_type == subject_type,
            Assessment.year == year,
            Assessment.subject_id.in_([row.subject_id for row in assessed]),
        )
    ):
        found.setdefault(subject_id, {})[indicator] = assessment_id
    db.session.execute(  # an ORM bulk UPDATE by primary key: one executemany
        update(Recognition),
        [
            {"id": row.id, "breakdown": with_assessment_ids(row.breakdown, found.get(row.subject_id, {}))}
            for row in assessed
        ],
    )


def _unnamed(item: dict[str, Any]) -> bool:
    source = item.get("source")
    return isinstance(source, dict) and source.get("kind") == "assessment" and "id" not in source


# --- decisions -------------------------------------------------------------------------------------------------


def valid_until(year: int, validity_years: int) -> date:
    """31 December of the last year the recognition holds (ADR 17).

    A one-year association title holds for the year it was awarded for: 2025 → 31/12/2025. A circular title
    (``validity_years`` 3) "được bảo lưu trong thời hạn 03 năm (36 tháng) tiếp theo năm được công nhận" (Circular 24
    Art. 5.4 and 11.4, Circular 25 Art. 5.4): the three years *after* the year recognised, so 2025 → 31/12/2028.
    """
    if validity_years <= 1:
        return date(year, 12, 31)
    return date(year + validity_years, 12, 31)


def valid_years(year: int, valid_to: date | None) -> range:
    """The calendar years a recognition of ``year`` counts in: the year itself and, for a circular title, the
    years it is kept for (through ``valid_to``)."""
    return range(year, max(year, valid_to.year if valid_to else year) + 1)


@dataclass(frozen=True)
class UpgradeWindow:
    """When a recognition's subject may ask for the next level (Circular 24, Art. 5.3 / 11.3; ADR 59)."""

    level: int  # the level that may be asked for
    months: int
    allowed_from: date  # the first day the request may be made
    first_year: int  # the first evaluated year whose dossier may ask for it
    before: date  # that dossier goes in before this day
    source_ref: str


def upgrade_window(row: Recognition) -> UpgradeWindow | None:
    """For a recognised title one level below its criteria set's upgrade (a Learning Unit at level 1 under Circular
    24): from when, and in which year's dossier, the next level may be asked for — the same reading the engine applies
    (``deadlines.first_day_after``: "sau ít nhất 1 năm (12 tháng) kể từ ngày ra quyết định công nhận", counted as the
    Civil Code 2015 counts a period, Art. 147-148). None for any other recognition."""
    if row.status != RecognitionStatus.RECOGNISED or row.decision_date is None or row.criteria_set_id is None:
        return None
    criteria_set = db.session.get(CriteriaSet, row.criteria_set_id)
    if criteria_set is None or "upgrade" not in (criteria_set.definition or {}):
        return None  # most sets have no upgrade: not parsed
    upgrade = crit.definition_of(criteria_set).upgrade
    if upgrade is None or (row.level or 0) != upgrade.to_level - 1:
        return None
    if db.session.scalar(
        select(Recognition.id)
        .where(
            Recognition.subject_type == row.subject_type,
            Recognition.subject_id == row.subject_id,
            Recognition.title == row.title,
            Recognition.status == RecognitionStatus.RECOGNISED.value,
            Recognition.level >= upgrade.to_level,
            Recognition.year > row.year,
        )
        .limit(1)
    ):
        return None  # raised already
    allowed = deadlines.first_day_after(row.decision_date, upgrade.after_months)
    first_year = max(deadlines.first_request_year(allowed, upgrade.request_by), row.year + 1)
    month, day = upgrade.request_by
    before = date(first_year + 1, month, day) + timedelta(days=1)
    return UpgradeWindow(upgrade.to_level, upgrade.after_months, allowed, first_year, before, upgrade.source_ref)


def early_upgrades(rows: Sequence[Recognition], decision_date: date) -> dict[int, tuple[date, date]]:
    """Proposals at a level their criteria set lets a subject reach only ``after_months`` after its decision at the
    level below (Circular 24, Art. 5.3 / 11.3), that a decision dated ``decision_date`` would record before that
    period has run out (``deadlines.first_day_after``, ADR 59): proposal id → (the level-below decision's date, the
    first day the upgrade could be asked for). Shown to the approver, never refused (as the late dates of ADR 44);
    two queries, none without such a proposal."""
    sets = {r.criteria_set_id for r in rows if r.criteria_set_id and (r.level or 0) >= 2}
    upgrades: dict[int, crit.Upgrade] = {}
    for criteria_set in db.session.scalars(select(CriteriaSet).where(CriteriaSet.id.in_(sets))) if sets else ():
        if "upgrade" in (criteria_set.definition or {}):
            upgrade = crit.definition_of(criteria_set).upgrade
            if upgrade is not None:
                upgrades[criteria_set.id] = upgrade
    asked = [r for r in rows if r.criteria_set_id in upgrades and r.level == upgrades[r.criteria_set_id].to_level]
    if not asked:
        return {}
    earlier = db.session.execute(
        select(
            Recognition.subject_type,
            Recognition.subject_id,
            Recognition.title,
            Recognition.level,
            Recognition.year,
            Recognition.decision_date,
        )
        .where(
            Recognition.status == RecognitionStatus.RECOGNISED.value,
            Recognition.decision_date.is_not(None),
            Recognition.subject_id.in_({r.subject_id for r in asked}),
            Recognition.subject_type.in_({r.subject_type for r in asked}),
            Recognition.title.in_({r.title for r in asked}),
        )
        .order_by(Recognition.decision_date, Recognition.id)
    ).all()
    early: dict[int, tuple[date, date]] = {}
    for row in asked:
        upgrade = upgrades[row.criteria_set_id or 0]
        mine = [
            e
            for e in earlier
            if (e.subject_type, e.subject_id, e.title) == (row.subject_type, row.subject_id, row.title)
            and e.year < row.year
        ]
        if not mine or mine[-1].level != upgrade.to_level - 1:
            continue  # the last earlier decision is not at the level below: nothing to wait for
        allowed = deadlines.first_day_after(mine[-1].decision_date, upgrade.after_months)
        if decision_date < allowed:
            early[row.id] = (mine[-1].decision_date, allowed)
    return early


def certificate_valid_until(row: Recognition) -> date | None:
    """The last day the certificate says it holds (the PDF, the public page, the signed credential; ADR 17): the end
    of a kept circular title (31/12/Y+3), and none for a one-year association title. A title "năm Y" of Decisions
    324/2023 and 448/2015 records that the subject earned it in Y, a fact that does not lapse, and its decision is
    taken early in Y+1: an end of 31/12/Y would precede the decision (a credential whose ``validUntil`` is before its
    ``validFrom`` is invalid under VC 2.0) and show the family a certificate expired the day it is given. What Y
    counts for (plan targets, a village's share of learning families) still reads ``valid_until``."""
    if row.valid_until is None or row.valid_until.year <= row.year:
        return None
    return row.valid_until


def holding(subject_type: str, subject_id: int, title: str, year: int) -> Recognition | None:
    """The recognition by which the subject holds ``title`` in ``year``: of that year, or of an earlier year whose
    validity covers it (a three-year title, ADR 17); None if there is none."""
    return db.session.scalar(
        select(Recognition)
        .where(
            Recognition.subject_type == subject_type,
            Recognition.subject_id == subject_id,
            Recognition.title == title,
            Recognition.status == RecognitionStatus.RECOGNISED.value,
            Recognition.year <= year,
            Recognition.valid_until >= date(year, 12, 31),
        )
        .order_by(Recognition.year.desc())
        .limit(1)
    )


def _lock(
    recognition_ids: Sequence[int], user: Any, *, field_name: str = "recognition_ids", lock: bool = True
) -> list[Recognition]:
    """The recognitions, locked (unless ``lock`` is false: a preview that writes nothing) and read fresh; an id
    unknown or outside the user's view scope is refused."""
    if not recognition_ids:
        raise RecognitionError(_("Choose at least one recognition."), field_name)
    if len(recognition_ids) > MAX_ITEMS:
        raise RecognitionError(_("At most %(count)s recognitions at once.", count=MAX_ITEMS), field_name)
    wanted = list(dict.fromkeys(recognition_ids))
    unit = aliased(AdminUnit)
    stmt = (
        select(Recognition)
        .join(unit, unit.id == Recognition.commune_id)
        .where(Recognition.id.in_(wanted), in_scope(unit.path, user, Permission.TITLES_VIEW))
        .order_by(Recognition.id)
        .execution_options(populate_existing=True)
    )
    found = {r.id: r for r in db.session.scalars(stmt.with_for_update(of=Recognition) if lock else stmt)}
    missing = [
        {"index": i, "recognition_id": rid, "message": _("no recognition %(id)s in your scope", id=rid)}
        for i, rid in enumerate(recognition_ids)
        if rid not in found
    ]
    if missing:
        raise RecognitionError(_("%(count)s recognition(s) not found.", count=len(missing)), field_name, missing)
    return [found[rid] for rid in wanted]


def _check_transition(rows: list[Recognition], target: str, ids: Sequence[int]) -> None:
    index = {rid: i for i, rid in reversed(list(enumerate(ids)))}
    stuck = [r for r in rows if target not in TRANSITIONS[r.status]]
    # Named as the lists name them (decided by someone else meanwhile, on the decide page), never "recognition 7".
    named = {
        kind: _who(kind, [r.subject_id for r in stuck if r.subject_type == kind])
        for kind in {r.subject_type for r in stuck}
    }
    wrong = [
        {
            "index": index[r.id],
            "recognition_id": r.id,
            "message": _(
                "%(who)s is %(status)s: it cannot become %(target)s",
                who=named[r.subject_type].get(r.subject_id) or f"{_word(r.subject_type)} {r.subject_id}",
                status=_word(r.status),
                target=_word(target),
            ),
        }
        for r in stuck
    ]
    if wrong:
        raise TransitionConflict(
            _(
                "%(count)s recognition(s) cannot become %(target)s (someone may have decided them meanwhile: "
                "reload the list).",
                count=len(wrong),
                target=_word(target),
            ),
            "recognition_ids",
            wrong,
        )


def _check_decider(rows: list[Recognition], user: Any, ids: Sequence[int]) -> dict[int, approvals.Rule]:
    rules = approvals.rules_for((r.id, r.title, r.subject_type, r.subject_id) for r in rows)
    paths = dict(
        db.session.execute(select(AdminUnit.id, AdminUnit.path).where(AdminUnit.id.in_({r.commune_id for r in rows})))
        .tuples()
        .all()
    )
    refused = approvals.refused(user, rules, {r.id: paths[r.commune_id] for r in rows})
    if refused:
        index = {rid: i for i, rid in reversed(list(enumerate(ids)))}
        association = Body.ASSOCIATION.value
        details = [
            {
                "index": index[r.id],
                "recognition_id": r.id,
                "message": _(
                    "recognition %(id)s is decided by the %(level)s Association for Promoting Education; you do not "
                    "decide for it",
                    id=r.id,
                    level=_word(rules[r.id].level),
                )
                if rules[r.id].body == association
                else _(
                    "recognition %(id)s is decided at %(level)s level; you hold no approval right on that %(level)s",
                    id=r.id,
                    level=_word(rules[r.id].level),
                ),
            }
            for r in rows
            if r.id in refused
        ]
        levels = " / ".join(_word(level) for level in sorted({rules[rid].level for rid in refused}))
        if all(rules[rid].body == association for rid in refused):
            message = _(
                "You may not decide %(count)s of these recognition(s): the %(levels)s Association for Promoting "
                "Education decides them.",
                count=len(details),
                levels=levels,
            )
        else:
            message = _(
                "You may not decide %(count)s of these recognition(s): they are decided at %(levels)s level.",
                count=len(details),
                levels=levels,
            )
        raise RecognitionError(message, "recognition_ids", details)
    return rules


def default_authorities(rows: Sequence[Recognition]) -> dict[int, str]:
    """The authority each recognition's decision is written in the name of, from the approvals configuration."""
    rules = approvals.rules_for((r.id, r.title, r.subject_type, r.subject_id) for r in rows)
    places = approvals.places({r.commune_id for r in rows})
    return {r.id: approvals.authority_name(rules[r.id], *places[r.commune_id]) for r in rows}


@_lock_conflicts_refused("recognition_ids")
def decide(
    recognition_ids: Sequence[int],
    *,
    decision_number: str,
    decision_date: date,
    user: Any,
    authority: str = "",
    today: date | None = None,
    expected_digest: str | None = None,
) -> list[Recognition]:
    """Recognise proposals under one decision (number, date, authority; an empty authority is taken from the
    approvals configuration). Sets the validity and the certificate code; freezes the year. ``expected_digest``: the
    :func:`decision_digest` of the preview being confirmed, compared under the locks (:class:`StaleDecision`)."""
    decision_number, rows, today = check_decision(
        recognition_ids,
        decision_number=decision_number,
        decision_date=decision_date,
        user=user,
        authority=authority,
        today=today,
        lock=True,
    )
    if expected_digest is not None:
        current = decision_digest(rows, decision_number, decision_date, authority)
        if current != expected_digest:
            raise StaleDecision(rows, current)
    return _record_decision(rows, decision_number, decision_date, authority, user, today)


def decision_digest(rows: Sequence[Recognition], decision_number: str, decision_date: date, authority: str) -> str:
    """What a decision's preview showed: the proposals, the number and date as they will be written, and the
    authority each certificate will name (an empty one is the approvals configuration's, which may change)."""
    named = " ".join(authority.split())
    defaults = default_authorities(rows) if not named else {}
    shown = (
        sorted(r.id for r in rows),
        " ".join(decision_number.split()),
        decision_date.isoformat(),
        sorted((r.id, named or defaults[r.id]) for r in rows),
    )
    return hashlib.sha256(repr(shown).encode()).hexdigest()[:32]


class StaleDecision(TransitionConflict):
    """A decision confirmed for a preview that no longer matches what it would record; ``rows`` and ``digest`` are
    the preview now."""

    def __init__(self, rows: list[Recognition], digest: str) -> None:
        super().__init__(
            _("What this decision records is no longer what was shown: check it again, then confirm."),
            "preview_digest",
        )
        self.rows = rows
        self.digest = digest


def check_decision(
    recognition_ids: Sequence[int],
    *,
    decision_number: str,
    decision_date: date,
    user: Any,
    authority: str = "",
    today: date | None = None,
    lock: bool = False,
) -> tuple[str, list[Recognition], date]:
    """What :func:`decide` would refuse, raised the same way, without changing anything (the page shows the decision
    for confirmation first: its number and date go on every certificate, and a recognition is undone only by
    revoking it). Returns the decision number as it will be written, the proposals and today. The proposals are
    locked only with ``lock`` (the write's own check): a preview holding row locks while its page renders would
    block the commune's other approvers for nothing, and the write checks again under its locks anyway."""
    decision_number = " ".join(decision_number.split())
    if not decision_number:
        raise RecognitionError(
            _("The decision number is required (as written on the decision: 12/QĐ-UBND)."), "decision_number"
        )
    if len(decision_number) > 60:
        raise RecognitionError(_("The decision number has at most 60 characters."), "decision_number")
    if len(authority) > 200:
        raise RecognitionError(_("The authority has at most 200 characters."), "authority")
    today = today or local_today()
    if decision_date > today:
        raise RecognitionError(_("The decision date cannot be in the future."), "decision_date")
    rows = _lock(recognition_ids, user, lock=lock)
    _check_transition(rows, RecognitionStatus.RECOGNISED, recognition_ids)
    _check_decider(rows, user, recognition_ids)
    early = [r for r in rows if decision_date < date(r.year, 1, 1)]
    if early:
        raise RecognitionError(
            _("The decision date is before the year evaluated (%(year)s).", year=early[0].year), "decision_date"
        )
    _check_one_authority(rows)
    validity = _validity_years(rows)
    # A circular title (kept three years) is judged on figures from 1 January to 31 December of the year evaluated,
    # and its dossier is sent in the next year (Circular 24, Art. 10.1.b-c, 16.1.b-c: before 15 January; Circular
    # 25, Art. 9.1.b, d: before 28 February): its decision cannot be dated inside the year it judges.
    inside = [r for r in rows if validity.get(r.criteria_set_id or 0, 1) > 1 and decision_date <= date(r.year, 12, 31)]
    if inside:
        raise RecognitionError(
            _(
                "The decision date is inside the year evaluated (%(year)s): a Learning Unit or a commune learning "
                "community is judged on the whole year and decided in the next one.",
                year=inside[0].year,
            ),
            "decision_date",
        )
    return decision_number, rows, today


def _authority_key(name: str) -> str:
    """An authority compared as written by hand: case, spacing and the composed form of its letters do not count."""
    return " ".join(unicodedata.normalize("NFC", name).casefold().split())


def _check_one_authority(rows: Sequence[Recognition]) -> None:
    """A decision is one body's document. Refused: proposals the approvals configuration gives to two bodies (the
    commune's association decides the Learning Citizen, its People's Committee the Learning Family: two decisions,
    each under its own number), even when the authority is typed."""
    defaults = default_authorities(rows)
    distinct = sorted({_authority_key(a): a for a in defaults.values()}.values())
    if len(distinct) > 1:
        raise RecognitionError(
            _(
                "The proposals chosen are decided by different bodies (%(bodies)s): each body signs its own "
                "decision. Choose the proposals of one body and record its decision, then the other's.",
                bodies="; ".join(distinct),
            ),
            "authority",
        )


def numbered_by_another_body(
    rows: Sequence[Recognition], decision_number: str, decision_date: date, authority: str = ""
) -> list[str]:
    """The other bodies whose decision this commune already recorded under the same number and date — most often a
    number typed wrong, since a decision is one body's document. Warned of, never refused (ADR 44: a signed decision
    is recorded): a commune's and a province's People's Committee number their decisions apart, and both may sign a
    "12/QĐ-UBND" on one day. ``authority``: the one typed, else each proposal's from the approvals configuration;
    a recognition's own when it is already decided (a correction)."""
    if not rows:
        return []
    named = " ".join(authority.split())
    decided = all(r.authority for r in rows)
    defaults = {} if named or decided else default_authorities(rows)
    mine = {(r.commune_id, _authority_key(named or (r.authority if decided else defaults[r.id]))) for r in rows}
    communes = {commune for commune, _ in mine}
    recorded = db.session.execute(
        select(Recognition.commune_id, Recognition.authority)
        .where(
            Recognition.commune_id.in_(communes),
            Recognition.decision_number == " ".join(decision_number.split()),
            Recognition.decision_date == decision_date,
            Recognition.id.notin_([r.id for r in rows]),
        )
        .distinct()
    ).tuples()
    # A decision recorded without its body (an empty authority) says nothing of who signed it.
    others = {_authority_key(o): o for c, o in recorded if o and (c, _authority_key(o)) not in mine}
    return sorted(others.values())


def _validity_years(rows: Sequence[Recognition]) -> dict[int, int]:
    """The years each proposal's criteria set keeps a title (criteria set id → years)."""
    return dict(
        db.session.execute(
            select(CriteriaSet.id, CriteriaSet.validity_years).where(
                CriteriaSet.id.in_({r.criteria_set_id for r in rows if r.criteria_set_id})
            )
        )
        .tuples()
        .all()
    )


def _record_decision(
    rows: list[Recognition], decision_number: str, decision_date: date, authority: str, user: Any, today: date
) -> list[Recognition]:
    validity = _validity_years(rows)
    authorities = default_authorities(rows) if not authority.strip() else {}
    user_id = getattr(user, "id", None)
    for row in rows:  # attributes only: the flush sends them as one executemany UPDATE
        row.status = RecognitionStatus.RECOGNISED.value
        row.decision_number = decision_number
        row.decision_date = decision_date
        row.authority = " ".join(authority.split()) or authorities[row.id]
        row.decided_by_id = user_id
        row.valid_until = valid_until(row.year, validity.get(row.criteria_set_id or 0, 1))
        row.certificate_code = new_code()
    db.session.flush()
    _audit_many(
        "recognition.recognise",
        [r.id for r in rows],
        user,
        decision_number=decision_number,
        decision_date=decision_date.isoformat(),
    )
    # A three-year title also counts in the years after the one recognised. The targets sweep sees a proposal or a
    # revocation in every year it is valid (compute.stale_pairs), but not a decision: marking those years makes the
    # targets of each (which follow evaluations) take the decision in now, not at the next monthly run.
    mark_dirty(
        {(r.commune_id, y) for r in rows for y in valid_years(r.year, r.valid_until) if y <= today.year}
        | _member_pairs(rows)
    )
    return rows


def _member_pairs(rows: Sequence[Recognition]) -> set[tuple[int, int]]:
    """The commune-years whose group results count these recognitions as held (ADR 51): a Learning Citizen's units,
    whose organisations may lie in another commune than the association that decided; a Learning Family's village
    and clans — a clan of another commune may count the household (Decision 448, parts B and C)."""
    return home_pairs(
        {(r.subject_id, r.year) for r in rows if r.subject_type == SubjectType.PERSON.value}
    ) | household_pairs({(r.subject_id, r.year) for r in rows if r.subject_type == SubjectType.HOUSEHOLD.value})


@dataclass(frozen=True)
class DecisionCorrection:
    """A decision's number or date corrected (a typing mistake found after it was recorded): what changes, and the
    recognitions it changes — all those the decision gave in that commune, title and year, revoked ones included
    (their history names the decision too)."""

    old_number: str
    old_date: date
    new_number: str
    new_date: date
    rows: list[Recognition]
    reason: str = ""

    @property
    def other_bodies(self) -> list[str]:
        """Other bodies whose decision the commune recorded under the corrected number and date (warned of)."""
        return numbered_by_another_body(self.rows, self.new_number, self.new_date)

    @property
    def digest(self) -> str:
        """What a preview of the correction showed (the change, the recognitions it reaches, the reason), for its
        confirmation to carry back: another recognition decided under the decision, or the reason edited, since the
        preview gives another digest."""
        shown = (
            self.old_number,
            self.old_date.isoformat(),
            self.new_number,
            self.new_date.isoformat(),
            sorted(r.id for r in self.rows),
            self.reason,
        )
        return hashlib.sha256(repr(shown).encode()).hexdigest()[:32]


class StaleCorrection(TransitionConflict):
    """A correction confirmed for a preview that is no longer what it would do; ``correction`` is what it would do
    now."""

    def __init__(self, correction: DecisionCorrection) -> None:
        super().__init__(
            _("What this correction changes is no longer what was shown: check it again, then confirm."),
            "preview_digest",
        )
        self.correction = correction


@_lock_conflicts_refused("recognition_id")
def correct_decision(
    recognition: Recognition,
    *,
    decision_number: str,
    decision_date: date,
    reason: str,
    user: Any,
    apply: bool = False,
    today: date | None = None,
    expected_digest: str | None = None,
) -> DecisionCorrection:
    """Correct the number or the date of the decision that recognised ``recognition``, on every recognition it gave:
    checked as a decision is (the number as written, a date neither in the future nor before the year evaluated, nor
    inside it for a title judged on the whole year — ADR 44), by an approver of the body that decided. Without
    ``apply`` nothing is written (the page shows what changes first); with it, the rows are locked, changed, each
    audited with the old and new values and the reason, and their signed credentials (which carry the decision)
    revoked, so the next print issues them again. ``expected_digest``: the digest of the preview being confirmed —
    checked under the locks, before anything is written (:class:`StaleCorrection` if it differs)."""
    if recognition.status not in (RecognitionStatus.RECOGNISED, RecognitionStatus.REVOKED) or not (
        recognition.decision_number and recognition.decision_date
    ):
        raise TransitionConflict(_("Only a recorded decision can be corrected."), "recognition_id")
    reason = " ".join(reason.split())
    if not reason:
        raise RecognitionError(_("Say why the decision is corrected."), "reason")
    if len(reason) > 2000:
        raise RecognitionError(_("The reason has at most 2000 characters."), "reason")
    decision_number = " ".join(decision_number.split())
    if not decision_number:
        raise RecognitionError(
            _("The decision number is required (as written on the decision: 12/QĐ-UBND)."), "decision_number"
        )
    if len(decision_number) > 60:
        raise RecognitionError(_("The decision number has at most 60 characters."), "decision_number")
    today = today or local_today()
    if decision_date > today:
        raise RecognitionError(_("The decision date cannot be in the future."), "decision_date")
    old_number, old_date = recognition.decision_number, recognition.decision_date
    if (decision_number, decision_date) == (old_number, old_date):
        raise RecognitionError(_("Nothing to correct: the number and the date are those recorded."), "decision_number")
    same = select(Recognition.id).where(
        Recognition.commune_id == recognition.commune_id,
        Recognition.title == recognition.title,
        Recognition.year == recognition.year,
        Recognition.status.in_([RecognitionStatus.RECOGNISED.value, RecognitionStatus.REVOKED.value]),
    )
    ids = list(
        db.session.scalars(
            same.where(Recognition.decision_number == old_number, Recognition.decision_date == old_date).order_by(
                Recognition.id
            )
        )
    )
    rows = _lock(ids, user, lock=apply)
    if any((r.decision_number, r.decision_date) != (old_number, old_date) for r in rows):
        # Corrected by someone else between the read above and the locks: what was shown is no longer what is there.
        raise TransitionConflict(
            _("The decision was corrected by someone else meanwhile: check it again."), "decision_number"
        )
    _check_decider(rows, user, ids)
    if decision_date < date(recognition.year, 1, 1):
        raise RecognitionError(
            _("The decision date is before the year evaluated (%(year)s).", year=recognition.year), "decision_date"
        )
    validity = _validity_years(rows)
    if any(validity.get(r.criteria_set_id or 0, 1) > 1 for r in rows) and decision_date <= date(
        recognition.year, 12, 31
    ):
        raise RecognitionError(
            _(
                "The decision date is inside the year evaluated (%(year)s): a Learning Unit or a commune learning "
                "community is judged on the whole year and decided in the next one.",
                year=recognition.year,
            ),
            "decision_date",
        )
    # Another decision already recorded under the new number and date: correcting into it would merge two decisions.
    if db.session.scalar(
        same.where(Recognition.decision_number == decision_number, Recognition.decision_date == decision_date).limit(1)
    ):
        raise RecognitionError(
            _(
                "Another decision of this commune, title and year is recorded as %(number)s of %(date)s: check the "
                "number and the date.",
                number=decision_number,
                date=formatting.day(decision_date),
            ),
            "decision_number",
        )
    correction = DecisionCorrection(old_number, old_date, decision_number, decision_date, rows, reason)
    if not apply:
        return correction
    if expected_digest is not None and expected_digest != correction.digest:
        raise StaleCorrection(correction)
    for row in rows:
        row.decision_number = decision_number
        row.decision_date = decision_date
    db.session.flush()
    _audit_many(
        "recognition.correct_decision",
        [r.id for r in rows],
        user,
        old_number=old_number,
        old_date=old_date.isoformat(),
        decision_number=decision_number,
        decision_date=decision_date.isoformat(),
        reason=reason,
    )
    # The signed credentials name the decision (its number, and its date as validFrom): revoked, issued anew.
    revoked.send(None, recognition_ids={r.id for r in rows})
    if decision_date != old_date:
        # The engine reads the date: a level-1 title's upgrade waits so many months from its decision (Circular 24,
        # Art. 5.3; engine._upgrade_waits). The later years' evaluations of the commune are redone with the date
        # corrected (no run would: nothing else they read changed, ADR 41).
        mark_dirty({(r.commune_id, y) for r in rows for y in range(r.year + 1, today.year + 1)})
    return correction


def check_reject(recognition_ids: Sequence[int], *, reason: str, user: Any, lock: bool = False) -> list[Recognition]:
    """What :func:`reject` would refuse, raised the same way, without changing anything (the page shows a rejection
    for confirmation first: a subject not recognised is not proposed again that year). Returns the proposals, read
    without locking them unless ``lock`` (the write takes its locks and checks again under them, as a decision's
    confirmation does)."""
    if not reason.strip():
        raise RecognitionError(_("Say why the proposal is rejected."), "reason")
    rows = _lock(recognition_ids, user, lock=lock)
    _check_transition(rows, RecognitionStatus.REJECTED, recognition_ids)
    _check_decider(rows, user, recognition_ids)
    return rows


@_lock_conflicts_refused("recognition_ids")
def reject(recognition_ids: Sequence[int], *, reason: str, user: Any) -> list[Recognition]:
    """Refuse proposals, with the reason (shown to the commune that proposed them)."""
    reason = reason.strip()
    rows = check_reject(recognition_ids, reason=reason, user=user, lock=True)
    for row in rows:
        row.status = RecognitionStatus.REJECTED.value
        row.reason = reason
        row.decided_by_id = getattr(user, "id", None)
    db.session.flush()
    _audit_many("recognition.reject", [r.id for r in rows], user, reason=reason)
    return rows


@_lock_conflicts_refused("recognition_ids")
def revoke(recognition_ids: Sequence[int], *, reason: str, user: Any) -> list[Recognition]:
    """Withdraw recognitions (a decision annulled, a fraud found), with the reason; the certificate then verifies
    as revoked. Only an approver of the deciding level may revoke."""
    reason = reason.strip()
    if not reason:
        raise RecognitionError(_("Say why the recognition is revoked."), "reason")
    rows = _lock(recognition_ids, user)
    _check_transition(rows, RecognitionStatus.REVOKED, recognition_ids)
    _check_decider(rows, user, recognition_ids)
    now = utcnow()
    for row in rows:
        row.status = RecognitionStatus.REVOKED.value
        row.reason = reason
        row.revoked_at = now
        row.revoked_by_id = getattr(user, "id", None)
    db.session.flush()
    _audit_many("recognition.revoke", [r.id for r in rows], user, reason=reason)
    revoked.send(None, recognition_ids={r.id for r in rows})
    mark_dirty({(r.commune_id, r.year) for r in rows} | _member_pairs(rows))
    return rows


# --- reading ---------------------------------------------------------------------------------------------------


def history(recognition: Recognition) -> list[AuditEvent]:
    """The recognition's status changes, oldest first (from the audit trail)."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "recognition", AuditEvent.object_id == str(recognition.id))
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    )


def verification_status(recognition: Recognition, today: date | None = None) -> str:
    """What the public page says: valid, expired or revoked."""
    if recognition.status == RecognitionStatus.REVOKED:
        return "revoked"
    end = certificate_valid_until(recognition)
    if end is not None and end < (today or local_today()):
        return "expired"
    return "valid"


def find_by_code(raw: str) -> Recognition | None:
    """A recognised or revoked recognition by its certificate code (proposals have none)."""
    code = normalise_code(raw)
    if not code or len(code) > 20:
        return None
    return db.session.scalar(select(Recognition).where(Recognition.certificate_code == code))


def public_view(row: Recognition, today: date | None = None) -> dict[str, Any]:
    """What anyone holding the code may see: never an ID number, a birth date or a full personal name."""
    subject = subjects(row.subject_type, [row.subject_id]).get(row.subject_id)
    commune = db.session.get(AdminUnit, row.commune_id)
    status = verification_status(row, today)
    end = certificate_valid_until(row)
    return {
        "code": row.certificate_code,
        "title": row.title,
        "title_name": title_name_vi(row),
        "year": row.year,
        "level": row.level,
        "status": status,
        "valid": status == "valid",
        "valid_until": end.isoformat() if end else None,
        "decision_number": row.decision_number,
        "authority": row.authority,
        "decision_date": row.decision_date.isoformat() if row.decision_date else None,
        "revoked_on": row.revoked_at.date().isoformat() if row.revoked_at else None,
        "holder": subject.public_name if subject else "",
        "commune": commune.full_name if commune else "",
    }


@dataclass(frozen=True)
class Waiting:
    """Proposals of one commune, year and title that wait for a decision ``user`` may take."""

    commune_id: int
    year: int
    title: str
    count: int


def waiting_for(user: Any) -> list[Waiting]:
    """The proposals waiting for the user's decision, counted per commune, year and title, most first. One query:
    grouped by the organisation's managing level and kind too, so a province leader is not shown the commune-managed
    units (nor a commune leader the province's, or the commune People's Committee), as :func:`decide` would refuse
    them."""
    titles = approvals.decided_titles(user)
    if not titles:
        return []
    place = aliased(AdminUnit)
    managing = case((Recognition.title == Title.UNIT.value, Organisation.managing_level), else_=None)
    kind = case((Recognition.title == Title.UNIT.value, Organisation.kind), else_=None)
    stmt = (
        scoped(
            select(place.id, place.path, Recognition.year, Recognition.title, managing, kind, func.count()),
            Recognition.commune_id,
            user,
            Permission.TITLES_APPROVE,
        )
        .join(place, place.id == Recognition.commune_id)
        .outerjoin(
            Organisation,
            (Recognition.title == Title.UNIT.value) & (Organisation.id == Recognition.subject_id),
        )
        .where(Recognition.status == RecognitionStatus.PROPOSED.value, Recognition.title.in_(titles))
        .group_by(place.id, place.path, Recognition.year, Recognition.title, managing, kind)
    )
    paths = {
        (level, body): approvals.deciding_paths(user, level, body)
        for level in approvals.LEVELS
        for body in approvals.BODIES
    }
    counts: dict[tuple[int, int, str], int] = {}
    for commune_id, path, year, title, level, organisation_kind, count in db.session.execute(stmt).tuples():
        rule = approvals.rule_for(title, level, organisation_kind)
        if any(path.startswith(p) for p in paths[(rule.level, rule.body)]):
            key = (commune_id, year, title)
            counts[key] = counts.get(key, 0) + count
    waiting = [Waiting(c, y, t, n) for (c, y, t), n in counts.items()]
    return sorted(waiting, key=lambda w: (-w.count, -w.year, w.title, w.commune_id))


def recognitions_select(
    user: Any,
    *,
    unit_id: int | None = None,
    year: int | None = None,
    title: str | None = None,
    status: str | None = None,
) -> Select:
    """Recognitions in the user's view scope, newest year first, filtered (``unit_id``: a commune, a village or any
    unit above them)."""
    stmt = scoped(select(Recognition), Recognition.commune_id, user, Permission.TITLES_VIEW)
    if unit_id is not None:
        unit = db.session.get(AdminUnit, unit_id)
        if unit is None:
            return stmt.where(false())
        if unit.level == UnitLevel.VILLAGE:
            stmt = stmt.where(Recognition.village_id == unit.id)
        else:
            place = aliased(AdminUnit)
            stmt = stmt.join(place, place.id == Recognition.commune_id).where(subtree(place.path, unit.path))
    if year is not None:
        stmt = stmt.where(Recognition.year == year)
    if title:
        stmt = stmt.where(Recognition.title == title)
    if status:
        stmt = stmt.where(Recognition.status == status)
    return stmt.order_by(Recognition.year.desc(), Recognition.title, Recognition.id)


def registrations_select(
    user: Any, *, unit_id: int | None = None, year: int | None = None, title: str | None = None
) -> Select:
    stmt = scoped(select(Registration), Registration.commune_id, user, Permission.TITLES_VIEW)
    if unit_id is not None:
        unit = db.session.get(AdminUnit, unit_id)
        if unit is None:
            return stmt.where(false())
        place = aliased(AdminUnit)
        stmt = stmt.join(place, place.id == Registration.commune_id).where(subtree(place.path, unit.path))
    if year is not None:
        stmt = stmt.where(Registration.year == year)
    if title:
        stmt = stmt.where(Registration.title == title)
    return stmt.order_by(Registration.year.desc(), Registration.title, Registration.id)


def proposable_select(user: Any, *, commune_id: int, year: int, title: str, village_id: int | None = None) -> Select:
    """Eligible subjects of one commune not yet on any list, in the user's scope for ``titles.propose``."""
    stmt = scoped_to(proposable(title, year), Eligibility.commune_id, approvals.proposing_paths(user, title)).where(
        Eligibility.commune_id == commune_id
    )
    if village_id is not None:
        stmt = stmt.where(Eligibility.village_id == village_id)
    return stmt.order_by(Eligibility.village_id, Eligibility.subject_id)


def names(rows: Sequence[Recognition | Registration | Eligibility]) -> dict[tuple[str, int], Subject]:
    """The subjects of ``rows``, one or two queries per subject type."""
    by_type: dict[str, set[int]] = {}
    for row in rows:
        by_type.setdefault(row.subject_type, set()).add(row.subject_id)
    return {(kind, sid): subject for kind, ids in by_type.items() for sid, subject in subjects(kind, ids).items()}


def unregistered(
    title: str, year: int, commune: AdminUnit, *, village_id: int | None = None, limit: int = 500
) -> list[Subject]:
    """Subjects of ``commune`` (optionally one village) not yet registered for ``title`` in ``year``: the
    registration screen's checklist. Two or three queries."""
    subject_type = TITLE_SUBJECT[Title(title)]
    villages = select(AdminUnit.id).where(AdminUnit.parent_id == commune.id, AdminUnit.level == UnitLevel.VILLAGE.value)
    if village_id is not None:
        villages = villages.where(AdminUnit.id == village_id)
    column: Any
    if subject_type == SubjectType.HOUSEHOLD:
        column, stmt = Household.id, select(Household.id).where(Household.village_id.in_(villages))
        stmt = stmt.order_by(Household.code)
    elif subject_type == SubjectType.PERSON:
        units = villages if village_id is not None else villages.union(select(literal(commune.id)))
        column, stmt = Person.id, select(Person.id).where(Person.unit_id.in_(units)).order_by(Person.sort_key)
    elif subject_type == SubjectType.CLAN:
        column, stmt = Clan.id, select(Clan.id).where(Clan.commune_id == commune.id).order_by(Clan.sort_key)
    elif subject_type == SubjectType.ORGANISATION:
        column = Organisation.id
        stmt = select(Organisation.id).where(Organisation.commune_id == commune.id).order_by(Organisation.sort_key)
    elif subject_type == SubjectType.VILLAGE:
        column, stmt = AdminUnit.id, villages.order_by(AdminUnit.sort_key)
    else:
        column, stmt = AdminUnit.id, select(AdminUnit.id).where(AdminUnit.id == commune.id)
    taken = (
        select(Registration.id)
        .where(
            Registration.subject_type == subject_type,
            Registration.subject_id == column,
            Registration.title == title,
            Registration.year == year,
        )
        .exists()
    )
    ids = list(db.session.scalars(stmt.where(~taken).limit(limit)))
    found = subjects(subject_type, ids)
    return [found[i] for i in ids if i in found]
