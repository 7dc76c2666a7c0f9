"""Read-only queries for the pages of the class programme: the lists, counts and look-ups a page needs, each in a
fixed number of statements whatever the size of the class. Writes go through :mod:`courses.services`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, literal, or_, select
from sqlalchemy.orm import selectinload

from courses.models import (
    Attendance,
    Certificate,
    ClassSession,
    CourseClass,
    Enrolment,
    EnrolmentStatus,
    Room,
    SessionStatus,
    class_instructor,
)
from lms.core.models import AuditEvent
from lms.extensions import db
from lms.registry.models import (
    HEAD_RELATIONS,
    AdminUnit,
    AssociationMembership,
    AssociationRole,
    Clc,
    Household,
    Organisation,
    OrganisationMember,
    Person,
    UnitLevel,
    subtree,
)
from lms.registry.services import search_condition

# --- centres, rooms, villages --------------------------------------------------------------------------------


def clcs_in_scope(user: Any, permission: Any) -> Select:
    """The centres of the communes where ``user`` holds ``permission``, in Vietnamese order."""
    from lms.auth.permissions import scoped

    return scoped(select(Clc), Clc.commune_id, user, permission).order_by(Clc.sort_key, Clc.id)


def get_clc(clc_id: int, user: Any, permission: Any) -> Clc | None:
    return db.session.scalar(clcs_in_scope(user, permission).where(Clc.id == clc_id))


def get_commune(unit_id: int, user: Any, permission: Any) -> AdminUnit | None:
    """A commune in the user's scope (None for any other unit, so a guessed id answers 404)."""
    from lms.auth.permissions import scoped

    return db.session.scalar(
        scoped(select(AdminUnit), AdminUnit.id, user, permission).where(
            AdminUnit.id == unit_id, AdminUnit.level == UnitLevel.COMMUNE
        )
    )


def scope_units(user: Any, permission: Any) -> list[AdminUnit]:
    """The units at the top of the user's scope for ``permission`` (a commune, a province…)."""
    from lms.auth.permissions import scope_paths

    paths = scope_paths(user, permission)
    if not paths:
        return []
    return list(
        db.session.scalars(
            select(AdminUnit).where(AdminUnit.path.in_(paths)).order_by(AdminUnit.level, AdminUnit.sort_key)
        )
    )


def rooms_of(clc_id: int) -> list[Room]:
    return list(db.session.scalars(select(Room).where(Room.clc_id == clc_id).order_by(Room.sort_key, Room.id)))


def villages_of(commune: AdminUnit) -> list[AdminUnit]:
    return list(
        db.session.scalars(
            select(AdminUnit)
            .where(
                AdminUnit.parent_id == commune.id, AdminUnit.level == UnitLevel.VILLAGE, AdminUnit.valid_to.is_(None)
            )
            .order_by(AdminUnit.sort_key)
        )
    )


def find_households(commune: AdminUnit, village_id: int | None, text: str, limit: int = 6) -> list[Household]:
    """Households of ``commune`` (or of one of its villages) that ``text`` names: the full code, the short number
    (the last part of the code, zeros or not: "42" finds 23500-01-0042), or the head's name (any member's when no
    head is recorded), diacritics and case ignored. Two statements at most."""
    text = text.strip()
    if not text:
        return []
    home = AdminUnit.__table__.alias("home")
    base = (
        select(Household)
        .join(home, home.c.id == Household.village_id)
        .where(subtree(home.c.path, commune.path))
        .options(selectinload(Household.members))
        .order_by(Household.code)
        .limit(limit)
    )
    if village_id:
        base = base.where(Household.village_id == village_id)
    by_code = [Household.code == text]
    if text.isdigit():
        number = text.lstrip("0") or "0"
        by_code += [Household.code.like(f"%-{number.zfill(width)}") for width in range(len(number), 7)]
    heads = select(Person.household_id).where(
        Person.household_id.is_not(None), search_condition(text, Person.name_folded)
    )
    found = list(
        db.session.scalars(
            base.where(or_(*by_code, Household.id.in_(heads.where(Person.relation_to_head.in_(HEAD_RELATIONS)))))
        )
    )
    if not found and not text.isdigit():
        found = list(db.session.scalars(base.where(Household.id.in_(heads))))
    return found


# --- people of a commune -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonChoice:
    id: int
    name: str
    birth_date: date | None
    village: str
    role: str | None  # association role, the most senior one
    organisation: str | None

    def as_json(self, role_names: dict) -> dict[str, Any]:
        detail = [
            part
            for part in (
                self.birth_date.strftime("%Y") if self.birth_date else "",
                self.village,
                str(role_names.get(self.role, self.role)) if self.role else "",
                self.organisation or "",
            )
            if part
        ]
        return {"id": self.id, "name": self.name, "detail": " · ".join(detail)}


_ROLE_RANK = {
    AssociationRole.CHAIR.value: 1,
    AssociationRole.VICE_CHAIR.value: 2,
    AssociationRole.OFFICER.value: 3,
    AssociationRole.MEMBER.value: 4,
}


def people_choices(
    commune: AdminUnit,
    *,
    query: str = "",
    exclude_class_id: int | None = None,
    only_ids: Iterable[int] | None = None,
    limit: int = 20,
) -> list[PersonChoice]:
    """People living in ``commune`` for a picker: association officers and members first, then members of the
    commune's organisations, then everyone else; Vietnamese order within each group. One statement."""
    rank = (
        select(func.min(case(_ROLE_RANK, value=AssociationMembership.role, else_=9)))
        .where(AssociationMembership.person_id == Person.id, AssociationMembership.ended_on.is_(None))
        .correlate(Person)
        .scalar_subquery()
    )
    role = (
        select(AssociationMembership.role)
        .where(AssociationMembership.person_id == Person.id, AssociationMembership.ended_on.is_(None))
        .order_by(case(_ROLE_RANK, value=AssociationMembership.role, else_=9))
        .limit(1)
        .correlate(Person)
        .scalar_subquery()
    )
    organisation = (
        select(Organisation.name)
        .join(OrganisationMember, OrganisationMember.organisation_id == Organisation.id)
        .where(
            OrganisationMember.person_id == Person.id,
            OrganisationMember.ended_on.is_(None),
            Organisation.commune_id == commune.id,
        )
        .order_by(Organisation.sort_key)
        .limit(1)
        .correlate(Person)
        .scalar_subquery()
    )
    home = AdminUnit.__table__.alias("home")
    stmt = (
        select(
            Person.id,
            Person.full_name,
            Person.birth_date,
            home.c.name,
            role.label("role"),
            organisation.label("organisation"),
        )
        .join(home, home.c.id == Person.unit_id)
        .where(subtree(home.c.path, commune.path))
        .order_by(func.coalesce(rank, literal(9)), organisation.is_(None), Person.sort_key, Person.id)
        .limit(limit)
    )
    if query.strip():
        stmt = stmt.where(search_condition(query, Person.name_folded))
    if exclude_class_id is not None:
        stmt = stmt.where(
            Person.id.not_in(
                select(Enrolment.person_id).where(
                    Enrolment.class_id == exclude_class_id, Enrolment.status != EnrolmentStatus.WITHDRAWN
                )
            )
        )
    if only_ids is not None:
        stmt = stmt.where(Person.id.in_(list(only_ids)))
    return [PersonChoice(*row) for row in db.session.execute(stmt)]


def people_in_commune(commune: AdminUnit, person_ids: Sequence[int]) -> list[Person]:
    """The persons among ``person_ids`` who live in ``commune``, in the order given."""
    if not person_ids:
        return []
    home = AdminUnit.__table__.alias("home")
    rows = {
        p.id: p
        for p in db.session.scalars(
            select(Person)
            .join(home, home.c.id == Person.unit_id)
            .where(Person.id.in_(list(person_ids)), subtree(home.c.path, commune.path))
        )
    }
    return [rows[i] for i in person_ids if i in rows]


def names_of(person_ids: Iterable[int]) -> dict[int, str]:
    ids = list(set(person_ids))
    if not ids:
        return {}
    return dict(iter(db.session.execute(select(Person.id, Person.full_name).where(Person.id.in_(ids))).tuples()))


# --- classes -------------------------------------------------------------------------------------------------


def seat_counts(class_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Enrolled and waiting learners per class (one grouped query)."""
    counts: dict[int, dict[str, int]] = {i: {"enrolled": 0, "waitlisted": 0} for i in class_ids}
    if class_ids:
        for class_id, status, n in db.session.execute(
            select(Enrolment.class_id, Enrolment.status, func.count())
            .where(Enrolment.class_id.in_(list(class_ids)), Enrolment.status != EnrolmentStatus.WITHDRAWN)
            .group_by(Enrolment.class_id, Enrolment.status)
        ):
            counts[class_id][status] = n
    return counts


def sessions_on_day(classes: Select, day: date, *, person_id: int | None = None, limit: int = 50) -> list[ClassSession]:
    """The scheduled sessions of a day among ``classes`` (a select of classes, already scoped), by time; those the
    person teaches first — what a teacher or a centre manager opens to take the day's attendance."""
    class_ids = classes.with_only_columns(CourseClass.id).order_by(None).scalar_subquery()
    start = datetime.combine(day, datetime.min.time())
    order: list[Any] = [ClassSession.starts_at, ClassSession.id]
    if person_id:  # PostgreSQL refuses a constant in ORDER BY: the teacher's sort key only when there is a teacher
        teaches = (
            select(class_instructor.c.class_id)
            .where(class_instructor.c.class_id == ClassSession.class_id, class_instructor.c.person_id == person_id)
            .exists()
        )
        order.insert(0, teaches.desc())
    return list(
        db.session.scalars(
            select(ClassSession)
            .where(
                ClassSession.class_id.in_(class_ids),
                ClassSession.status == SessionStatus.SCHEDULED,
                ClassSession.starts_at >= start,
                ClassSession.starts_at < start + timedelta(days=1),
            )
            .options(selectinload(ClassSession.course_class), selectinload(ClassSession.room))
            .order_by(*order)
            .limit(limit)
        )
    )


def class_sessions(class_id: int) -> list[ClassSession]:
    return list(
        db.session.scalars(
            select(ClassSession)
            .where(ClassSession.class_id == class_id)
            .options(selectinload(ClassSession.room))
            .order_by(ClassSession.starts_at)
        )
    )


def marks_per_session(session_ids: Sequence[int]) -> dict[int, int]:
    if not session_ids:
        return {}
    return dict(
        iter(
            db.session.execute(
                select(Attendance.session_id, func.count())
                .where(Attendance.session_id.in_(list(session_ids)))
                .group_by(Attendance.session_id)
            ).tuples()
        )
    )


def enrolments(class_id: int) -> dict[str, list[Enrolment]]:
    """The class's learners by status: seats in Vietnamese order, the waiting list in its order of arrival."""
    rows = db.session.scalars(
        select(Enrolment)
        .join(Person, Person.id == Enrolment.person_id)
        .where(Enrolment.class_id == class_id)
        .options(selectinload(Enrolment.person).selectinload(Person.unit))
        .order_by(Person.sort_key, Person.id)
    ).all()
    result: dict[str, list[Enrolment]] = {s.value: [] for s in EnrolmentStatus}
    for row in rows:
        result[row.status].append(row)
    result[EnrolmentStatus.WAITLISTED.value].sort(key=lambda e: (e.enrolled_at, e.id))
    return result


def certificates(class_id: int) -> list[Certificate]:
    return list(
        db.session.scalars(
            select(Certificate)
            .join(Person, Person.id == Certificate.person_id)
            .where(Certificate.class_id == class_id)
            .options(selectinload(Certificate.person))
            .order_by(Certificate.revoked_at.is_not(None), Person.sort_key)
        )
    )


# --- sessions ------------------------------------------------------------------------------------------------


def mark_conflicts(session: ClassSession, limit: int = 100) -> list[dict[str, Any]]:
    """Where two devices disagreed on a learner's mark in this session, newest first: who, the value kept and the
    value that lost, with their devices and times (from the audit trail; one query, names included)."""
    from courses.services import ATTENDANCE_CONFLICT, ATTENDANCE_OVERWRITE

    events = db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == "class_session",
            AuditEvent.object_id == str(session.id),
            AuditEvent.action.in_([ATTENDANCE_CONFLICT, ATTENDANCE_OVERWRITE]),
        )
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    ).all()
    if not events:
        return []
    person_ids = [e.details.get("person_id") for e in events]
    names = {p.id: p.full_name for p in db.session.scalars(select(Person).where(Person.id.in_(person_ids)))}
    result = []
    for event in events:
        d = event.details
        if event.action == ATTENDANCE_CONFLICT:
            kept = (d.get("kept_status"), d.get("kept_device"), d.get("kept_recorded_at"))
            lost = (d.get("lost_status"), d.get("lost_device"), d.get("lost_recorded_at"))
        else:  # a newer mark replaced the stored one: a conflict only between two devices, not a correction
            if d.get("old_device") == d.get("new_device"):
                continue
            kept = (d.get("new_status"), d.get("new_device"), d.get("new_recorded_at"))
            lost = (d.get("old_status"), d.get("old_device"), d.get("old_recorded_at"))
        person = names.get(int(d.get("person_id") or 0), "?")
        result.append({"person": person, "kept": kept, "lost": lost, "at": event.at})
    return result


def roll_call(session: ClassSession) -> list[tuple[Person, Attendance | None]]:
    """The enrolled learners of the session's class with their current mark, in Vietnamese order (one query)."""
    rows = db.session.execute(
        select(Person, Attendance)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .outerjoin(Attendance, (Attendance.person_id == Person.id) & (Attendance.session_id == session.id))
        .where(Enrolment.class_id == session.class_id, Enrolment.status == EnrolmentStatus.ENROLLED)
        .order_by(Person.sort_key, Person.id)
    ).all()
    return [(person, mark) for person, mark in rows]


def neighbours(session: ClassSession) -> tuple[ClassSession | None, ClassSession | None]:
    """The class's previous and next sessions that take attendance, for walking the sheet session by session."""
    base = select(ClassSession).where(
        ClassSession.class_id == session.class_id,
        ClassSession.status == SessionStatus.SCHEDULED,
        ClassSession.id != session.id,
    )
    before = db.session.scalar(
        base.where(ClassSession.starts_at <= session.starts_at)
        .order_by(ClassSession.starts_at.desc(), ClassSession.id.desc())
        .limit(1)
    )
    after = db.session.scalar(
        base.where(ClassSession.starts_at > session.starts_at)
        .order_by(ClassSession.starts_at, ClassSession.id)
        .limit(1)
    )
    return before, after


def week_sessions(sessions: Sequence[ClassSession]) -> None:
    """Load the classes and rooms of ``sessions`` in two queries so a timetable does not query per row."""
    class_ids = {s.class_id for s in sessions}
    room_ids = {s.room_id for s in sessions if s.room_id is not None}
    if class_ids:
        db.session.scalars(
            select(CourseClass).where(CourseClass.id.in_(class_ids)).options(selectinload(CourseClass.clc))
        ).all()
    if room_ids:
        db.session.scalars(select(Room).where(Room.id.in_(room_ids))).all()


def by_day(sessions: Iterable[ClassSession]) -> dict[date, list[ClassSession]]:
    days: dict[date, list[ClassSession]] = defaultdict(list)
    for s in sessions:
        days[s.starts_at.date()].append(s)
    return days


# --- conflicts -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConflictView:
    resource: str
    resource_name: str
    class_id: int | None  # None when the other class lies outside the user's scope
    class_name: str
    starts_at: datetime
    ends_at: datetime


def describe_conflicts(details: Sequence[dict[str, Any]], user: Any, permission: Any) -> list[ConflictView]:
    """Name the room, person and class of each conflict a service reported (three queries). A class outside the
    user's scope is not named: a clash with another commune's class must not reveal it."""
    from courses.services import classes_in_scope

    rooms = {
        r.id: r.name
        for r in db.session.scalars(
            select(Room).where(Room.id.in_([d["resource_id"] for d in details if d.get("resource") == "room"]))
        )
    }
    people = names_of(d["resource_id"] for d in details if d.get("resource") in ("instructor", "learner"))
    class_ids = {d["class_id"] for d in details if d.get("class_id") is not None}
    classes = (
        {
            c.id: c.name
            for c in db.session.scalars(classes_in_scope(user, permission).where(CourseClass.id.in_(class_ids)))
        }
        if class_ids
        else {}
    )
    result = []
    for d in details:
        if "resource" not in d:
            continue
        names = rooms if d["resource"] == "room" else people
        result.append(
            ConflictView(
                resource=d["resource"],
                resource_name=names.get(d["resource_id"], f"#{d['resource_id']}"),
                class_id=d["class_id"] if d["class_id"] in classes else None,
                class_name=classes.get(d["class_id"], ""),
                starts_at=datetime.fromisoformat(d["starts_at"]),
                ends_at=datetime.fromisoformat(d["ends_at"]),
            )
        )
    return result


@dataclass(frozen=True)
class WaitingClass:
    """A class with held sessions nobody took the roll call of (ADR 54): how many, and the oldest one's."""

    class_id: int
    class_name: str
    sessions: int
    oldest_session_id: int
    oldest_starts_at: datetime


def classes_waiting_on_roll_call(class_ids: Select, as_of: datetime, *, limit: int) -> tuple[list[WaitingClass], int]:
    """The classes among ``class_ids`` (a select of class ids, already scoped) with held sessions (scheduled, begun by
    ``as_of``) that have no attendance mark at all, the longest waiting first, at most ``limit`` of them; and how
    many classes wait in all. One statement: the sessions numbered per class by a window, the first of each kept,
    and the classes counted by a window over those."""
    waiting = (
        select(
            ClassSession.id.label("session_id"),
            ClassSession.class_id,
            ClassSession.starts_at,
            func.count().over(partition_by=ClassSession.class_id).label("sessions"),
            func.row_number()
            .over(partition_by=ClassSession.class_id, order_by=(ClassSession.starts_at, ClassSession.id))
            .label("rank"),
        )
        .where(
            ClassSession.class_id.in_(class_ids),
            ClassSession.status == SessionStatus.SCHEDULED,
            ClassSession.starts_at <= as_of,
            ~select(Attendance.id).where(Attendance.session_id == ClassSession.id).exists(),
        )
        .subquery("waiting")
    )
    rows = db.session.execute(
        select(
            waiting.c.class_id,
            CourseClass.name,
            waiting.c.sessions,
            waiting.c.session_id,
            waiting.c.starts_at,
            func.count().over().label("classes"),
        )
        .join(CourseClass, CourseClass.id == waiting.c.class_id)
        .where(waiting.c.rank == 1)
        .order_by(waiting.c.starts_at, waiting.c.class_id)
        .limit(limit)
    ).all()
    total = int(rows[0].classes) if rows else 0
    return [WaitingClass(r[0], r[1], int(r[2]), r[3], r[4]) for r in rows], total
