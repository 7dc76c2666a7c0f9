"""A person's requests about their own data (Decree 13/2023/NĐ-CP, Art. 9, 14 and 16; ADR 57): to see everything the
system holds about them, and to have what identifies them erased.

**Seeing.** :func:`person_data` gathers the registry's own sections (identity, memberships, organisations, the log of
who saw or changed the data) and every other part's through :data:`lms.core.signals.personal_data` — classes and
marks, certificates, learning records, titles. An officer who holds ``registry.personal_data`` on the person's place
hands the person a copy (a page, a JSON file); a user linked to the person sees their own. Each copy is an audit
event.

**Erasing.** What identifies the person is cleared — the name (a fixed placeholder instead), the ID number, the phone,
the ethnicity (sensitive data), the day and month of birth (the year stays, as a register that knows only "1948") —
and the person stays, anonymous, in the counts: their classes, marks, learning records and titles remain, without a
name, so a village's or a household's figures do not change behind the leaders' backs. What was issued under the name
— certificates, decisions, signed credentials — stays as issued: they are records of an act of the centre or of a
committee, and the preview says so. A person with an active user account is refused: the account is the person's
way in and is closed first (User accounts); a locked one is unlinked, as it still holds the person's name and
e-mail. The erasure is shown first, and confirmed with the preview's digest and a reason; it is logged without the
values it cleared.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, select

from lms.auth.models import User
from lms.core.models import AuditEvent
from lms.core.personal_data import PROCESSING, DataSection, plain, processing_rows
from lms.core.services import audit
from lms.core.signals import personal_data
from lms.extensions import db, utcnow
from lms.registry import labels
from lms.registry.models import AssociationMembership, BoardMembership, OrganisationMember, Person
from lms.registry.services import set_id_number
from lms.registry.text import ERASED_NAME

#: The audit actions on a person, as the person reads them in their copy; others are shown as recorded.
ACTION_NAMES = {
    "person.create": _l("Recorded in the register"),
    "person.update": _l("Changed"),
    "person.reveal_id_number": _l("Identification number shown in full"),
    "person.id_number_refused": _l("An identification number refused (held by another person)"),
    "person.data_provided": _l("A copy of the personal data given"),
    "person.erase": _l("Personal data erased on request"),
    "learner_record.export": _l("Learner record exported"),
}


class ErasureRefused(Exception):
    """The erasure cannot be done: the message says why and what to do first."""


class ErasureOutdated(Exception):
    """The preview the user confirmed is no longer what the erasure would do (the person changed meanwhile)."""


def _household(person: Person) -> str:
    household = person.household
    if household is None:
        return ""
    head = household.head
    name = _("Household of %(name)s", name=head.full_name) if head is not None else _("Household without members")
    return f"{household.code} — {name}"


def _identity(person: Person) -> DataSection:
    columns = [
        ("full_name", _("Full name")),
        ("born", _("Date of birth")),
        ("sex", _("Sex")),
        ("ethnicity", _("Ethnicity")),
        ("occupation_group", _("Occupation group")),
        ("household", _("Household")),
        ("relation_to_head", _("Relation to the head of household")),
        ("place", _("Place")),
        ("id_number", _("Identification number")),
        ("phone", _("Phone")),
        ("recorded_at", _("Recorded on")),
        ("erased_at", _("Erased on")),
    ]
    row = {
        "full_name": person.full_name,
        "born": person.born,
        "sex": str(labels.SEX_NAMES.get(person.sex or "", "")),
        "ethnicity": person.ethnicity or "",
        "occupation_group": str(labels.OCCUPATION_NAMES.get(person.occupation_group, person.occupation_group)),
        "household": _household(person),
        "relation_to_head": person.relation_to_head or "",
        "place": person.unit.full_name,
        "id_number": person.masked_id_number,
        "phone": person.phone or "",
        "recorded_at": person.created_at,
        "erased_at": person.erased_at,
    }
    return DataSection("identity", _("Identity"), columns, [row])


def _registry_sections(person: Person) -> list[DataSection]:
    memberships = db.session.scalars(
        select(AssociationMembership)
        .where(AssociationMembership.person_id == person.id)
        .order_by(AssociationMembership.started_on, AssociationMembership.id)
    ).all()
    organisations = db.session.scalars(
        select(OrganisationMember).where(OrganisationMember.person_id == person.id).order_by(OrganisationMember.id)
    ).all()
    board = db.session.scalars(
        select(BoardMembership)
        .where(BoardMembership.person_id == person.id)
        .order_by(BoardMembership.started_on, BoardMembership.id)
    ).all()
    accounts = db.session.scalars(select(User).where(User.person_id == person.id).order_by(User.id)).all()
    kept = _("Kept without the name: the association's and the organisations' member counts.")
    return [
        DataSection(
            "association_memberships",
            _("Association for Promoting Education"),
            [("role", _("Role")), ("unit", _("Branch")), ("started_on", _("From")), ("ended_on", _("Until"))],
            [
                {
                    "role": str(labels.ASSOCIATION_ROLE_NAMES.get(m.role, m.role)),
                    "unit": m.unit.full_name,
                    "started_on": m.started_on,
                    "ended_on": m.ended_on,
                }
                for m in memberships
            ],
            kept,
        ),
        DataSection(
            "organisations",
            _("Organisations"),
            [("organisation", _("Organisation")), ("position", _("Position")), ("started_on", _("From"))],
            [
                {"organisation": m.organisation.name, "position": m.position, "started_on": m.started_on}
                for m in organisations
            ],
            kept,
        ),
        DataSection(
            "clc_board",
            _("Board of a community learning centre"),
            [("centre", _("Centre")), ("role", _("Role")), ("started_on", _("From")), ("ended_on", _("Until"))],
            [
                {
                    "centre": m.clc.name,
                    "role": str(labels.BOARD_ROLE_NAMES.get(m.role, m.role)),
                    "started_on": m.started_on,
                    "ended_on": m.ended_on,
                }
                for m in board
            ],
            _("Kept without the name: the centre's board as it was."),
        ),
        # The account is the person's way in: its name and e-mail are theirs. Not a section an erasure keeps: the
        # erasure unlinks it (a locked account; an active one refuses the erasure).
        DataSection(
            "user_accounts",
            _("User accounts"),
            [
                ("email", _("E-mail")),
                ("name", _("Name")),
                ("active", _("Can log in")),
                ("created_at", _("Created")),
                ("last_login_at", _("Last log-in")),
            ],
            [
                {
                    "email": u.email,
                    "name": u.name,
                    "active": u.active,
                    "created_at": u.created_at,
                    "last_login_at": u.last_login_at,
                }
                for u in accounts
            ],
        ),
    ]


def _processing(person: Person, others: list[dict[str, Any]]) -> DataSection:
    """Who saw, exported or changed the person's data, as the audit log recorded it (newest first): the events on the
    person, and ``others``, those the other parts found on their records of the person."""
    own = processing_rows(
        and_(AuditEvent.object_type == "person", AuditEvent.object_id == str(person.id)), ACTION_NAMES
    )
    return DataSection(
        PROCESSING,
        _("Who saw or changed this data"),
        [("at", _("When")), ("action", _("What")), ("by", _("By"))],
        sorted([*own, *others], key=lambda row: row["at"], reverse=True),
        _("Kept: the record of who processed the data."),
    )


def person_data(person: Person) -> list[DataSection]:
    """Everything the system holds about ``person``, section by section: the registry's, then every other part's,
    then the log of who processed it (the other parts' events in it)."""
    sections = [_identity(person), *_registry_sections(person)]
    events: list[dict[str, Any]] = []
    for _receiver, answer in personal_data.send("person", person_id=person.id):
        for section in answer or []:
            if section.key == PROCESSING:
                events.extend(section.rows)
            else:
                sections.append(section)
    sections.append(_processing(person, events))
    return sections


def provided(person: Person, *, format: str, own: bool = False) -> None:
    """Log that a copy of the person's data was given (by an officer, or seen by the person themself)."""
    audit("person.data_provided", person, format=format, own=own)


# --- erasure -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class ErasurePreview:
    changes: list[Change]
    kept: list[DataSection]  # the sections that stay (without the name), with rows
    refusal: str  # why it cannot be done now ("" when it can)
    digest: str


def _changes(person: Person) -> list[Change]:
    changes = [Change("full_name", _("Full name"), person.full_name, ERASED_NAME)]
    if person.birth_date is not None and not person.birth_year_only:
        changes.append(
            Change(
                "birth_date",
                _("Date of birth"),
                person.born,
                _("%(year)s (the year only)", year=person.birth_date.year),
            )
        )
    if person.id_number_hint or person.id_number_hash:
        changes.append(Change("id_number", _("Identification number"), person.masked_id_number, _("(erased)")))
    if person.phone:
        changes.append(Change("phone", _("Phone"), person.phone, _("(erased)")))
    if person.ethnicity:
        changes.append(Change("ethnicity", _("Ethnicity"), person.ethnicity, _("(erased)")))
    # A locked account still holds its holder's name and e-mail: linked to the anonymous person, it would name them.
    accounts = _linked_accounts(person)
    if accounts:
        changes.append(
            Change("accounts", _("Linked user account"), ", ".join(u.email for u in accounts), _("(unlinked)"))
        )
    return changes


def _linked_accounts(person: Person) -> list[User]:
    return list(db.session.scalars(select(User).where(User.person_id == person.id).order_by(User.id)))


def _refusal(person: Person) -> str:
    if person.erased_at is not None:
        return _("This person's data was already erased.")
    accounts = db.session.scalars(select(User.email).where(User.person_id == person.id, User.active.is_(True))).all()
    if accounts:
        return _(
            "This person has an active user account (%(accounts)s): lock it first on the User accounts page, then "
            "erase the data.",
            accounts=", ".join(accounts),
        )
    return ""


def erasure_preview(person: Person) -> ErasurePreview:
    """What erasing ``person`` would clear, what would stay and why, and the digest a confirmation must carry."""
    changes = _changes(person)
    kept = [s for s in person_data(person) if s.kept and s.rows]
    refusal = _refusal(person)
    fingerprint = {
        "person": person.id,
        "changes": [c.field for c in changes],
        "updated_at": plain(person.updated_at),
        "kept": {s.key: len(s.rows) for s in kept if s.key != PROCESSING},
        "refusal": bool(refusal),
    }
    digest = hashlib.sha256(json.dumps(fingerprint, sort_keys=True).encode()).hexdigest()[:32]
    return ErasurePreview(changes, kept, refusal, digest)


def erase_person(person: Person, *, reason: str, digest: str) -> ErasurePreview:
    """Erase what identifies ``person`` if the preview confirmed (``digest``) is still what it would do. The
    caller commits."""
    # The person's row locked first (PostgreSQL): two officers confirming the same erasure at once would both pass
    # the digest; the second now waits, reads the erased row and is refused.
    db.session.refresh(person, with_for_update=True)
    preview = erasure_preview(person)
    if preview.refusal:
        raise ErasureRefused(preview.refusal)
    if digest != preview.digest:
        raise ErasureOutdated
    person.full_name = ERASED_NAME
    if person.birth_date is not None and not person.birth_year_only:
        person.birth_date = date(person.birth_date.year, 1, 1)
        person.birth_year_only = True
    set_id_number(person, None)
    person.phone = None
    person.ethnicity = None
    person.erased_at = utcnow()
    for account in _linked_accounts(person):  # locked ones only: an active one refused the erasure above
        account.person_id = None
    audit("person.erase", person, reason=reason, fields=[c.field for c in preview.changes])
    db.session.flush()
    return preview


def as_text(value: Any) -> str:
    """A value as the page shows it."""
    from lms.core import formatting

    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return formatting.moment(value)
    if isinstance(value, date):
        return formatting.day(value)
    if isinstance(value, Decimal):
        return formatting.number(value, 1)
    return str(value)
