"""Permissions: what each role may do, and the one scoping helper every query of a scoped resource goes through.

A role is held on a unit of the administrative hierarchy and covers that unit's subtree, plus the pre-2025
units whose successors lie in that subtree (a commune leader of a merged commune sees the records made under
the communes it replaced).  Deny by default: no assignment, no rows.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Iterable
from typing import Any

from flask import current_app, g, has_request_context
from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from lms.auth import generations
from lms.auth.models import Role
from lms.extensions import cache, db
from lms.registry.models import AdminUnit, UnitLineage, subtree


class Permission(enum.StrEnum):
    REGISTRY_VIEW = "registry.view"
    REGISTRY_EDIT = "registry.edit"
    REGISTRY_IMPORT = "registry.import"
    PERSONAL_DATA = "registry.personal_data"  # sensitive fields (ethnicity) and personal-data exports
    USERS_MANAGE = "users.manage"
    COURSES_VIEW = "courses.view"
    COURSES_MANAGE = "courses.manage"  # catalogue, classes, schedules, enrolment
    ATTENDANCE_RECORD = "courses.attendance"
    IT_TRAINING_VIEW = "courses.it_training_view"  # a person's IT-skills progress, certificates and their scans
    IT_FIGURES_VIEW = "courses.it_figures_view"  # the officers' IT-skills figures per commune, who lags (no scans)
    IT_CERTIFICATE_VERIFY = "courses.it_certificate_verify"  # record and verify national IT certificates
    TITLES_VIEW = "titles.view"  # eligibility lists, explanations, recognitions, evaluation runs
    TITLES_ASSESS = "titles.assess"  # enter and verify assessments and their evidence; register subjects
    TITLES_PROPOSE = "titles.propose"  # put eligible subjects on the list for recognition
    TITLES_APPROVE = "titles.approve"  # record a decision (number and date), reject, revoke
    TITLES_ADMIN = "titles.admin"  # load criteria-set versions, start evaluations of a whole scope
    TARGETS_VIEW = "targets.view"  # plan indicators, dashboards, periodic reports
    TARGETS_ADMIN = "targets.admin"  # load plan versions, recompute indicator values


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMINISTRATOR: frozenset(Permission),
    Role.PROVINCE_LEADER: frozenset(
        {
            Permission.REGISTRY_VIEW,
            Permission.PERSONAL_DATA,
            Permission.COURSES_VIEW,
            Permission.IT_TRAINING_VIEW,
            Permission.IT_FIGURES_VIEW,
            Permission.TITLES_VIEW,
            Permission.TITLES_APPROVE,
            Permission.TITLES_ADMIN,
            Permission.TARGETS_VIEW,
            Permission.TARGETS_ADMIN,
        }
    ),
    Role.COMMUNE_LEADER: frozenset(
        {
            Permission.REGISTRY_VIEW,
            Permission.REGISTRY_EDIT,
            Permission.PERSONAL_DATA,
            Permission.COURSES_VIEW,
            Permission.IT_TRAINING_VIEW,
            Permission.IT_FIGURES_VIEW,
            Permission.TITLES_VIEW,
            Permission.TITLES_ASSESS,
            Permission.TITLES_PROPOSE,
            Permission.TITLES_APPROVE,
            Permission.TARGETS_VIEW,
        }
    ),
    Role.CENTRE_MANAGER: frozenset(
        {
            Permission.REGISTRY_VIEW,
            Permission.REGISTRY_EDIT,
            Permission.REGISTRY_IMPORT,
            Permission.PERSONAL_DATA,
            Permission.COURSES_VIEW,
            Permission.COURSES_MANAGE,
            Permission.ATTENDANCE_RECORD,
            Permission.TITLES_VIEW,
            Permission.TITLES_ASSESS,
            Permission.IT_TRAINING_VIEW,
            Permission.IT_FIGURES_VIEW,
            Permission.IT_CERTIFICATE_VERIFY,
        }
    ),
    Role.INSTRUCTOR: frozenset({Permission.REGISTRY_VIEW, Permission.COURSES_VIEW, Permission.ATTENDANCE_RECORD}),
    # The commune Association for Promoting Education: it recognises the Learning Citizen (Decision 324/QĐ-KHVN,
    # lms/titles/data/approvals.toml) — sees its commune's titles, proposes and decides; which titles it proposes
    # and decides is ROLE_BODIES / ROLE_PROPOSES_FOR below (ADR 45). Its officers' IT-skills training is the
    # association's own target (Plan 1514: 40 % by 2025, 70 % by 2030): a commune's or a province's association
    # officer sees the figures and who lags — not another person's certificates or scans (ADR 7, amended).
    Role.ASSOCIATION_OFFICER: frozenset(
        {
            Permission.TITLES_VIEW,
            Permission.TITLES_PROPOSE,
            Permission.TITLES_APPROVE,
            Permission.IT_FIGURES_VIEW,
        }
    ),
}


class Body(enum.StrEnum):
    """Who signs a recognition at a level (``body`` in lms/titles/data/approvals.toml)."""

    COMMITTEE = "committee"  # a People's Committee, or the education office / department standing for it
    ASSOCIATION = "association"  # the Association for Promoting Education (Hội Khuyến học)


# In whose name a role's ``titles.approve`` decides (ADR 45): the association's officer decides what the
# association recognises (the Learning Citizen, Decision 324/QĐ-KHVN) and nothing a People's Committee decides; the
# People's Committee leaders no longer decide what the association recognises. The administrator keeps both.
ROLE_BODIES: dict[Role, frozenset[str]] = {
    Role.ADMINISTRATOR: frozenset(Body),
    Role.PROVINCE_LEADER: frozenset({Body.COMMITTEE}),
    Role.COMMUNE_LEADER: frozenset({Body.COMMITTEE}),
    Role.CENTRE_MANAGER: frozenset(),
    Role.INSTRUCTOR: frozenset(),
    Role.ASSOCIATION_OFFICER: frozenset({Body.ASSOCIATION}),
}

# For whose decision a role's ``titles.propose`` puts subjects forward: the commune People's Committee leader keeps
# proposing every commune title (nothing read forbids it, and the association still decides); the association's
# officer proposes only what the association decides.
ROLE_PROPOSES_FOR: dict[Role, frozenset[str]] = {
    Role.ADMINISTRATOR: frozenset(Body),
    Role.PROVINCE_LEADER: frozenset(Body),
    Role.COMMUNE_LEADER: frozenset(Body),
    Role.CENTRE_MANAGER: frozenset(Body),
    Role.INSTRUCTOR: frozenset(),
    Role.ASSOCIATION_OFFICER: frozenset({Body.ASSOCIATION}),
}


# Part of the cached scopes' key: a release that changes what a role may do reaches every signed-in user at their
# next request, not when their cached scope expires (the home card, read from ROLE_PERMISSIONS, would otherwise
# offer a page that still answers 403 for minutes).
_ROLE_PERMISSIONS_DIGEST = hashlib.sha256(
    repr(sorted((role.value, sorted(p.value for p in held)) for role, held in ROLE_PERMISSIONS.items())).encode()
).hexdigest()[:16]


def _predecessor_pairs(paths: Iterable[str]) -> list[tuple[str, str]]:
    """(old path, successor path) of ended units whose successor lies under one of ``paths`` (one query)."""
    paths = list(paths)
    if not paths:
        return []
    old, new = aliased(AdminUnit), aliased(AdminUnit)
    stmt = (
        select(old.path, new.path)
        .join(UnitLineage, UnitLineage.old_unit_id == old.id)
        .join(new, UnitLineage.new_unit_id == new.id)
        .where(or_(*(subtree(new.path, p) for p in paths)))
        .distinct()
    )
    return [(row[0], row[1]) for row in db.session.execute(stmt)]


def _minimal(paths: Iterable[str]) -> list[str]:
    """Drop every path that lies under another one in the list."""
    result: list[str] = []
    for path in sorted(set(paths)):
        if not any(path.startswith(kept) for kept in result):
            result.append(path)
    return result


def _resolve(assignments: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Every permission's subtree roots for these (role, unit path) assignments: one lineage query for them all."""
    pairs = _predecessor_pairs(sorted({path for _role, path in assignments}))
    scopes: dict[str, list[str]] = {}
    for permission in Permission:
        assigned = sorted({path for role, path in assignments if permission in ROLE_PERMISSIONS[Role(role)]})
        predecessors = [old for old, new in pairs if any(new.startswith(p) for p in assigned)]
        scopes[permission.value] = _minimal(assigned + predecessors)
    return scopes


def _scopes(user: Any) -> dict[str, list[str]]:
    """The user's scopes, resolved once per request (flask.g) and reused across requests for
    ``SCOPE_CACHE_SECONDS`` in the shared cache. The key holds the user's assignments, so a role granted or
    withdrawn takes effect at the next request; the entry is kept under every user's generation
    (``lms.auth.usercache``), which a change of the map (a unit, a lineage link) replaces, so a merge or a move of
    a unit takes effect at the next request too (ADR 27)."""
    if has_request_context():
        held = g.get("_scopes")
        if held is not None and held[0] == user.id:
            return held[1]
    assignments = sorted({(assignment.role, assignment.unit.path) for assignment in user.roles})
    seconds = current_app.config.get("SCOPE_CACHE_SECONDS", 0) if has_request_context() else 0
    key = "scope:v2:" + hashlib.sha256(repr((user.id, assignments, _ROLE_PERMISSIONS_DIGEST)).encode()).hexdigest()
    scopes = None
    generation = ""
    if seconds:
        everyone, entry = cache.get_many(generations.EVERYONE_KEY, key)
        generation = generations.token(generations.EVERYONE, everyone)
        if entry is not None and entry[0] == generation:
            scopes = entry[1]
    if scopes is None:
        scopes = _resolve(assignments)
        if seconds:
            cache.set(key, (generation, scopes), timeout=seconds)
    if has_request_context():
        g._scopes = (user.id, scopes)
    return scopes


def resolved_scopes(user: Any) -> dict[str, list[str]]:
    """Every permission's subtree roots for ``user`` (what the cached user snapshot keeps, ``lms.auth.usercache``)."""
    return _scopes(user)


def scope_paths(user: Any, permission: Permission) -> list[str]:
    """The subtree roots (materialised paths) in which ``user`` holds ``permission``; [] means nothing."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(_scopes(user)[permission.value])


def in_scope(path_column: Any, user: Any, permission: Permission) -> ColumnElement[bool]:
    """A predicate on a unit path column: true for units in the user's scope for ``permission``."""
    paths = scope_paths(user, permission)
    if not paths:
        return false()
    return or_(*(subtree(path_column, p) for p in paths))


# One alias for every scoped query, made once: a fresh alias per query costs more Python than the rest of the
# statement's building (each of its columns is adapted anew on first use).
_SCOPE_UNIT = aliased(AdminUnit, name="scope_unit")


def scoped(stmt: Select, unit_id_column: Any, user: Any, permission: Permission) -> Select:
    """Restrict ``stmt`` to rows whose ``unit_id_column`` names a unit in the user's scope.

    This is the one scoping helper: every list, lookup, export and API query of a scoped resource calls it.
    """
    return scoped_to(stmt, unit_id_column, scope_paths(user, permission))


def scoped_to(stmt: Select, unit_id_column: Any, paths: Iterable[str]) -> Select:
    """:func:`scoped` for scope roots already resolved (``scope_paths``): what a statement built once per scope,
    and reused, is restricted with."""
    unit = _SCOPE_UNIT
    paths = list(paths)
    where = or_(*(subtree(unit.path, p) for p in paths)) if paths else false()
    return stmt.join(unit, unit.id == unit_id_column).where(where)


def can(user: Any, permission: Permission, unit: AdminUnit | None) -> bool:
    """May ``user`` exercise ``permission`` on records attached to ``unit``?"""
    if unit is None:
        return False
    return any(unit.path.startswith(p) for p in scope_paths(user, permission))


def has_permission_anywhere(user: Any, permission: Permission) -> bool:
    return bool(scope_paths(user, permission))
