"""Registry operations: reference-data loading, look-ups, search, and edits. They flush; callers commit."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, func, select, update
from sqlalchemy.orm import aliased

from lms.core.clock import local_now, local_today
from lms.core.exports import safe_row
from lms.extensions import db, utcnow
from lms.registry import changes
from lms.registry.models import (
    AdminUnit,
    AreaClass,
    Clc,
    Household,
    OccupationGroup,
    Organisation,
    Person,
    Sex,
    UnitLevel,
    UnitLineage,
    subtree,
)
from lms.registry.pii import id_number_hash, normalise_id_number, protected_fields
from lms.registry.text import collation_key, fold

DATA_DIR = Path(__file__).parent / "data"
COUNTRY_CODE = "VN"
REFORM_DATE = date(2025, 7, 1)  # Resolution 202/2025/QH15: two-level local government
LAST_DAY_BEFORE_REFORM = date(2025, 6, 30)
KON_TUM_CODE = "62"


class RegistryError(ValueError):
    """A registry operation was refused; ``field`` names the input at fault when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class IdNumberRefused(RegistryError):
    """An ID number that another person holds. The message does not say so, nor where: the holder may live
    outside the caller's scope, and "someone has it" would tell that this citizen is registered elsewhere."""

    def __init__(self, holder_id: int) -> None:
        super().__init__(
            "this identification number cannot be recorded for this person: check it against the person's card; "
            "if it is right, ask your administrator",
            field="id_number",
        )
        self.holder_id = holder_id


class IdNumberAttemptsExceeded(RegistryError):
    pass


# Refused ID numbers a user may meet in an hour before any further ID number is refused: each refusal tells one bit.
ID_NUMBER_REFUSALS_PER_HOUR = 10


# --- the hierarchy -------------------------------------------------------------------------------------------


def find_unit(code: str, level: str | None = None, on: date | None = None) -> AdminUnit | None:
    """The unit with official ``code`` valid on ``on`` (default: a current unit)."""
    stmt = select(AdminUnit).where(AdminUnit.code == code)
    if level:
        stmt = stmt.where(AdminUnit.level == level)
    if on is None:
        stmt = stmt.where(AdminUnit.valid_to.is_(None))
    else:
        stmt = stmt.where(
            (AdminUnit.valid_from.is_(None)) | (AdminUnit.valid_from <= on),
            (AdminUnit.valid_to.is_(None)) | (AdminUnit.valid_to >= on),
        )
    return db.session.scalars(stmt.order_by(AdminUnit.level)).first()


def country() -> AdminUnit:
    unit = find_unit(COUNTRY_CODE, UnitLevel.COUNTRY)
    if unit is None:
        unit = AdminUnit(
            code=COUNTRY_CODE, name="Việt Nam", kind="", level=UnitLevel.COUNTRY.value, path=f"tmp:{COUNTRY_CODE}"
        )
        db.session.add(unit)
        db.session.flush()
        unit.path = f"/{unit.id}/"
        db.session.flush()
    return unit


@dataclass
class UnitRow:
    code: str
    name: str
    kind: str
    level: str
    parent_code: str


def _read_units(filename: str) -> list[UnitRow]:
    with (DATA_DIR / filename).open(encoding="utf-8", newline="") as fh:
        return [UnitRow(r["code"], r["name"], r["kind"], r["level"], r["parent_code"]) for r in csv.DictReader(fh)]


def _upsert_units(
    rows: list[UnitRow], *, valid_from: date | None, valid_to: date | None, root: AdminUnit, area_class: dict[str, str]
) -> dict[tuple[str, str], AdminUnit]:
    """Insert the missing units level by level (parents first), refresh names; returns them by (level, code)."""
    by_key: dict[tuple[str, str], AdminUnit] = {}
    existing = db.session.scalars(
        select(AdminUnit).where(
            AdminUnit.valid_to.is_(None) if valid_to is None else AdminUnit.valid_to == valid_to,
            AdminUnit.level.in_({r.level for r in rows}),
        )
    ).all()
    by_key.update({(u.level, u.code): u for u in existing})
    parent_level = {
        UnitLevel.PROVINCE: None,
        UnitLevel.DISTRICT: UnitLevel.PROVINCE,
        UnitLevel.COMMUNE: UnitLevel.DISTRICT,
    }
    for level in (UnitLevel.PROVINCE, UnitLevel.DISTRICT, UnitLevel.COMMUNE):
        level_rows = [r for r in rows if r.level == level]
        new_rows = []
        for row in level_rows:
            unit = by_key.get((row.level, row.code))
            if unit is not None:
                if (unit.name, unit.kind) != (row.name, row.kind):
                    unit.name, unit.kind = row.name, row.kind
                continue
            if row.parent_code:
                parent = by_key.get((UnitLevel.DISTRICT.value, row.parent_code)) if level == UnitLevel.COMMUNE else None
                parent = parent or by_key.get((UnitLevel.PROVINCE.value, row.parent_code))
                if parent is None or (parent_level[level] is None):
                    raise RegistryError(f"unit {row.code}: parent {row.parent_code} not found")
            else:
                parent = root
            new_rows.append(
                {
                    "code": row.code,
                    "name": row.name,
                    "kind": row.kind,
                    "level": row.level,
                    "parent_id": parent.id,
                    "path": f"tmp:{row.level}:{row.code}:{valid_to}",
                    "valid_from": valid_from,
                    "valid_to": valid_to,
                    "area_class": area_class.get(row.code, AreaClass.STANDARD.value),
                    "name_folded": fold(row.name),
                    "sort_key": collation_key(row.name),
                    "_parent_path": parent.path,
                }
            )
        if not new_rows:
            continue
        db.session.execute(
            db.insert(AdminUnit), [{k: v for k, v in r.items() if k != "_parent_path"} for r in new_rows]
        )
        inserted = {
            u.code: u
            for u in db.session.scalars(select(AdminUnit).where(AdminUnit.path.in_([r["path"] for r in new_rows])))
        }
        parent_paths = {r["code"]: r["_parent_path"] for r in new_rows}
        db.session.execute(
            update(AdminUnit), [{"id": u.id, "path": f"{parent_paths[code]}{u.id}/"} for code, u in inserted.items()]
        )
        changes.announce(units=[u.id for u in inserted.values()], bulk=True)  # new communes: no result to redo
        db.session.expire_all()
        for code, u in inserted.items():
            by_key[(level.value, code)] = db.session.get(AdminUnit, u.id)  # type: ignore[assignment]
    return by_key


def load_reference_units() -> dict[str, int]:
    """Load the official units: all current ones and the pre-2025 units of Kon Tum with their lineage.

    Idempotent: existing units keep their ids (and so their records); names are refreshed.
    """
    root = country()
    current = _read_units("units_2025.csv")
    old = _read_units("units_kontum_pre2025.csv")
    with (DATA_DIR / "lineage_kontum.csv").open(encoding="utf-8", newline="") as fh:
        lineage_rows = list(csv.DictReader(fh))
    # Kon Tum is a mountainous province in its entirety (provisional default; editable per commune).
    kontum_successors = {r["new_code"] for r in lineage_rows}
    old_area = {r.code: AreaClass.MOUNTAINOUS.value for r in old if r.level == UnitLevel.COMMUNE}
    new_area = dict.fromkeys(kontum_successors, AreaClass.MOUNTAINOUS.value)
    new_units = _upsert_units(current, valid_from=REFORM_DATE, valid_to=None, root=root, area_class=new_area)
    old_units = _upsert_units(old, valid_from=None, valid_to=LAST_DAY_BEFORE_REFORM, root=root, area_class=old_area)

    pairs: dict[tuple[int, int], Decimal] = {}
    new_province_of_old: dict[int, set[int]] = defaultdict(set)
    for r in lineage_rows:
        old_unit = old_units[(UnitLevel.COMMUNE.value, r["old_code"])]
        new_unit = new_units[(UnitLevel.COMMUNE.value, r["new_code"])]
        pairs[(old_unit.id, new_unit.id)] = Decimal(r["share"])
        assert new_unit.parent_id is not None
        new_province_of_old[old_unit.parent_id or 0].add(new_unit.parent_id)
    # Districts and the province map to the new province(s) their communes went to, so a province leader's
    # scope covers the whole former area with one subtree each.
    for old_unit in old_units.values():
        if old_unit.level == UnitLevel.DISTRICT:
            for province_id in new_province_of_old[old_unit.id]:
                pairs[(old_unit.id, province_id)] = Decimal(1) / len(new_province_of_old[old_unit.id])
    old_province = old_units[(UnitLevel.PROVINCE.value, KON_TUM_CODE)]
    successor_provinces = set().union(
        *(new_province_of_old[u.id] for u in old_units.values() if u.level == UnitLevel.DISTRICT)
    )
    for province_id in successor_provinces:
        pairs[(old_province.id, province_id)] = Decimal(1) / len(successor_provinces)
    have = set(db.session.execute(select(UnitLineage.old_unit_id, UnitLineage.new_unit_id)).tuples())
    missing = [
        {
            "old_unit_id": o,
            "new_unit_id": n,
            "share": s.quantize(Decimal("0.0001")),
            "effective_on": REFORM_DATE,
            "source": "Resolution 202/2025/QH15; vietnamadminunits",
        }
        for (o, n), s in pairs.items()
        if (o, n) not in have
    ]
    if missing:
        db.session.execute(db.insert(UnitLineage), missing)
    db.session.flush()
    return {"current_units": len(new_units), "pre2025_units": len(old_units), "lineage_links": len(pairs)}


def children(unit: AdminUnit) -> list[AdminUnit]:
    return list(
        db.session.scalars(select(AdminUnit).where(AdminUnit.parent_id == unit.id).order_by(AdminUnit.sort_key))
    )


def subtree_counts(units: list[AdminUnit]) -> dict[int, dict[str, int]]:
    """Households and persons under each unit (one grouped query each)."""
    if not units:
        return {}
    root, leaf = aliased(AdminUnit), aliased(AdminUnit)
    result: dict[int, dict[str, int]] = {u.id: {"households": 0, "persons": 0} for u in units}
    ids = [u.id for u in units]
    for key, model, column in (("households", Household, Household.village_id), ("persons", Person, Person.unit_id)):
        stmt = (
            select(root.id, func.count(model.id))
            .join(
                leaf,
                (leaf.path >= root.path) & (leaf.path < func.substr(root.path, 1, func.length(root.path) - 1) + "0"),
            )
            .join(model, column == leaf.id)
            .where(root.id.in_(ids))
            .group_by(root.id)
        )
        for unit_id, count in db.session.execute(stmt):
            result[unit_id][key] = count
    return result


def lineage_of(unit: AdminUnit) -> dict[str, list[UnitLineage]]:
    return {
        "successors": list(db.session.scalars(select(UnitLineage).where(UnitLineage.old_unit_id == unit.id))),
        "predecessors": list(db.session.scalars(select(UnitLineage).where(UnitLineage.new_unit_id == unit.id))),
    }


def units_under(unit: AdminUnit) -> Select:
    """Every unit in ``unit``'s subtree, ``unit`` included: one indexed range predicate."""
    return select(AdminUnit).where(subtree(AdminUnit.path, unit.path))


# --- people --------------------------------------------------------------------------------------------------


def search_condition(query: str, column: Any) -> Any:
    """Diacritic- and case-insensitive match on a folded-name column: each word of the query somewhere in it, in any
    order. "Nguyễn An" finds Nguyễn Văn An (and "An Nguyễn" does too): the whole query as one substring found no one
    when the middle name was left out, as people name each other."""
    return and_(*(column.like(f"%{_like_escaped(word)}%", escape="\\") for word in fold(query).split() or [""]))


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_person_by_id_number(raw: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.id_number_hash == id_number_hash(normalise_id_number(raw))))


def id_number_refusals(actor_id: int) -> int:
    from lms.core.models import AuditEvent

    since = utcnow() - timedelta(hours=1)
    return (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(
                AuditEvent.action == "person.id_number_refused", AuditEvent.user_id == actor_id, AuditEvent.at >= since
            )
        )
        or 0
    )


def audit_id_number_refusal(person: Person, refusal: IdNumberRefused) -> None:
    """Record a refused ID number (after the caller's rollback; the caller commits): it counts towards the limit,
    and tells an administrator which record holds the number."""
    from lms.core.services import audit

    audit("person.id_number_refused", object_type="person", object_id=person.id, holder_id=refusal.holder_id)


def set_id_number(person: Person, raw: str | None) -> None:
    """Set, change or clear a person's ID number; refuses a number another person already has."""
    if not raw:
        person.id_number_hash = person.id_number_encrypted = person.id_number_hint = None
        return
    try:
        fields = protected_fields(raw)
    except ValueError as exc:
        raise RegistryError(str(exc), field="id_number") from exc
    other = db.session.scalar(
        select(Person.id).where(Person.id_number_hash == fields["id_number_hash"], Person.id != person.id)
    )
    if other is not None:
        raise IdNumberRefused(other)
    for key, value in fields.items():
        setattr(person, key, value)


def update_household(household: Household, *, code: str, address: str) -> Household:
    """Correct a household's number and address (the edit page and the API): a number another household of the
    village holds is refused on ``code``. The number is kept without spaces, as the spreadsheet import reads it ("H 1"
    is "H1"): a file naming the household finds it. Audited."""
    from lms.core.formatting import in_request_language as _
    from lms.core.services import audit

    code = "".join(code.split())
    clash = db.session.scalar(
        select(Household.id).where(
            Household.village_id == household.village_id, Household.code == code, Household.id != household.id
        )
    )
    if clash is not None:
        raise RegistryError(_("Another household of this village has this number."), field="code")
    household.code, household.address = code, address
    audit("household.update", household)
    db.session.flush()
    return household


def update_organisation(
    organisation: Organisation, *, name: str, kind: str, managing_level: str, address: str
) -> Organisation:
    """Correct an organisation's name, type, managing level and address (the edit page and the API). Audited."""
    from lms.core.services import audit

    organisation.name, organisation.kind = name, kind
    organisation.managing_level, organisation.address = managing_level, address
    audit("organisation.update", organisation)
    db.session.flush()
    return organisation


def update_clc(clc: Clc, *, name: str, address: str, established_on: date | None) -> Clc:
    """Correct a Community Learning Centre's name, address and founding day (the edit page and the API). Audited."""
    from lms.core.services import audit

    if (
        established_on is not None
        and established_on != clc.established_on
        and not FIRST_CLC_DAY <= established_on <= local_today()
    ):
        # 31/12/9999 and 01/01/0001 were kept: a year mistyped in the form or sent to PATCH /clcs (ADR 58).
        from lms.core.formatting import in_request_language as _

        raise RegistryError(
            _("Enter a founding date from %(first)s to today.", first=f"{FIRST_CLC_DAY:%d/%m/%Y}"),
            field="established_on",
        )
    clc.name, clc.address, clc.established_on = name, address, established_on
    audit("clc.update", clc)
    db.session.flush()
    return clc


#: The first day a centre's founding date may be: 2 September 1945, the day the Democratic Republic of Vietnam was
#: founded, taken as 1 January 1945 — the first popular-education classes (Bình dân học vụ, Decree 17/SL of 8
#: September 1945) are the earliest forerunners of a CLC; the centres themselves date from 1998. The last is today
#: in Vietnam.
FIRST_CLC_DAY = date(1945, 1, 1)


#: The first day a date of birth may be (the import reads years from 1800); the last is today in Vietnam.
FIRST_BIRTH_DAY = date(1800, 1, 1)


def update_person(person: Person, data: dict[str, Any], *, actor_id: int | None = None) -> Person:
    """Apply edits to ``person``. ``data`` holds plain values; ``id_number`` is write-only.

    An actor who met too many refused ID numbers in the last hour may set none (see :class:`IdNumberRefused`). A
    person whose data was erased at their request (ADR 57) is not edited: an edit would bring back what identified
    them under a record that says it was erased.
    """
    if person.erased_at is not None:
        from lms.core.formatting import in_request_language as _

        raise RegistryError(_("This person's data was erased at their request: the record is not edited."))
    id_number = data.pop("id_number", None)
    if id_number and actor_id is not None and id_number_refusals(actor_id) >= ID_NUMBER_REFUSALS_PER_HOUR:
        raise IdNumberAttemptsExceeded(
            "too many refused identification numbers in the last hour: try again later", field="id_number"
        )
    if "birth_date" in data or "birth_year_only" in data:
        # A birth date sent alone is a whole date; with ``birth_year_only`` only its year is known (1 January kept).
        if "birth_date" not in data and not data.get("birth_year_only") and person.birth_year_only:
            # "Not only the year" without the day: 1 January would become a real birthday nobody gave (ADR 49).
            from lms.core.formatting import in_request_language as _

            raise RegistryError(_("Give the whole date of birth: only its year is recorded."), field="birth_date")
        born = data.pop("birth_date", person.birth_date)
        if born is not None and born != person.birth_date and not FIRST_BIRTH_DAY <= born <= local_now().date():
            # As the import reads a date of birth: not in the future, not before 1800 (a year typed 0026, 2099).
            from lms.core.formatting import in_request_language as _

            raise RegistryError(
                _("Enter a date of birth from %(first)s to today.", first=f"{FIRST_BIRTH_DAY:%d/%m/%Y}"),
                field="birth_date",
            )
        year_only = bool(data.pop("birth_year_only", False)) and born is not None
        person.birth_date = date(born.year, 1, 1) if year_only and born is not None else born
        person.birth_year_only = year_only
    for key, value in data.items():
        setattr(person, key, value)
    if id_number is not None:
        set_id_number(person, id_number)
    if person.household is not None:
        person.unit_id = person.household.village_id
    db.session.flush()
    return person


PERSON_EXPORT_COLUMNS = (
    "id",
    "full_name",
    "birth_date",
    "sex",
    "ethnicity",
    "occupation_group",
    "household_code",
    "relation_to_head",
    "id_number_masked",
    "unit_code",
)


# For a user in Vietnamese, the export speaks the register's language: the import's Vietnamese headers where the
# column is the same, Vietnamese values the import reads back (Nam/Nữ, the occupation groups' names) and dates as
# dd/mm/yyyy. In English it keeps the machine form (the keys above, codes, ISO dates), which the import reads too.
PERSON_EXPORT_HEADERS_VI = (
    "Mã người",
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    "Dân tộc",
    "Nhóm nghề nghiệp",
    "Mã hộ",
    "Quan hệ với chủ hộ",
    "Số định danh cá nhân (đã che)",
    "Mã xã/thôn",
)
SEX_VI = {Sex.MALE.value: "Nam", Sex.FEMALE.value: "Nữ"}
OCCUPATION_VI = {
    OccupationGroup.WORKER.value: "Người lao động",
    OccupationGroup.OFFICIAL.value: "Cán bộ, công chức, viên chức",
    OccupationGroup.PUPIL.value: "Học sinh, sinh viên",
    OccupationGroup.OTHER.value: "Khác",
}


def person_export_select(scoped_ids: Select, unit: AdminUnit) -> Select:
    """Plain columns (no ORM objects, so it can stream) of the persons in ``scoped_ids`` under ``unit``."""
    home = aliased(AdminUnit)
    return (
        select(
            Person.id,
            Person.full_name,
            Person.birth_date,
            Person.sex,
            Person.ethnicity,
            Person.occupation_group,
            Household.code,
            Person.relation_to_head,
            Person.id_number_hint,
            home.code,
            Person.birth_year_only,
        )
        .join(home, home.id == Person.unit_id)
        .outerjoin(Household, Household.id == Person.household_id)
        .where(subtree(home.path, unit.path), Person.id.in_(scoped_ids))
        .order_by(Person.sort_key, Person.id)
        .execution_options(yield_per=2000)
    )


def persons_csv(stmt: Select, locale: str = "vi") -> Iterator[str]:
    """Run ``stmt`` (from :func:`person_export_select`) and yield CSV chunks: UTF-8 with a BOM, so spreadsheet
    programs read the diacritics, and ID numbers masked. Vietnamese headers and values unless ``locale`` is "en"."""
    vi = locale != "en"
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(PERSON_EXPORT_HEADERS_VI if vi else PERSON_EXPORT_COLUMNS)
    for row in db.session.execute(stmt):
        *cells, year_only = row
        (person_id, name, birth, sex, ethnicity, occupation, household, relation, hint, unit_code) = safe_row(cells)
        if vi:
            born = birth.strftime("%d/%m/%Y") if birth else ""
            sex, occupation = SEX_VI.get(sex, sex), OCCUPATION_VI.get(occupation, occupation)
        else:
            born = birth.isoformat() if birth else ""
        if birth and year_only:  # only the year is known: the year, not 1 January
            born = str(birth.year)
        writer.writerow(
            [
                person_id,
                name,
                born,
                sex or "",
                ethnicity or "",
                occupation,
                household or "",
                relation or "",
                f"*********{hint}" if hint else "",
                unit_code,
            ]
        )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


# --- scoped look-ups -----------------------------------------------------------------------------------------


def scope_column(model: Any) -> Any:
    """The column that attaches each scoped registry record to a unit of the hierarchy."""
    from lms.registry.models import Clc, ImportJob, Organisation

    return {
        AdminUnit: AdminUnit.id,
        Household: Household.village_id,
        Person: Person.unit_id,
        Organisation: Organisation.commune_id,
        Clc: Clc.commune_id,
        ImportJob: ImportJob.unit_id,
    }[model]


def scoped_select(model: Any, user: Any, permission: Any) -> Select:
    from lms.auth.permissions import scoped

    return scoped(select(model), scope_column(model), user, permission)


def get_in_scope(model: Any, object_id: int, user: Any, permission: Any) -> Any:
    """The record if it exists *and* is in the user's scope, else None (callers answer 404 either way, so a
    guessed id reveals nothing)."""
    return db.session.scalar(scoped_select(model, user, permission).where(model.id == object_id))
