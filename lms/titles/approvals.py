"""Who decides which title: configuration, not code (the post-2025 authorities differ from those in the circulars).

``lms/titles/data/approvals.toml`` says, for each title (and, for a Learning Unit, the level that manages the
organisation, or its kind where a text names the kind), which level of the hierarchy decides — commune or province —
and the authority's name as written on the decision. An administrator replaces the file through
``LMS_TITLES_APPROVALS_FILE``.

A user may decide a recognition only if they hold ``titles.approve`` on a unit **of that level** whose subtree
contains the subject's commune (or a pre-2025 commune that a unit of theirs replaced): a province leader does not
sign a family's recognition, and a commune leader does not sign their own commune's learning-community title.

Each rule also names the **body** that decides (``body``, default ``"committee"``): a People's Committee or an
education office (``committee``), or the Association for Promoting Education (``association``; Decision
324/QĐ-KHVN: the commune association recognises the Learning Citizen). A role decides only in the name of the bodies
``ROLE_BODIES`` gives it (ADR 45): the association's officer decides citizens and no family, the People's Committee
leader families and no citizen.
"""

from __future__ import annotations

import string
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from lms.auth.models import Role
from lms.auth.permissions import ROLE_BODIES, ROLE_PERMISSIONS, ROLE_PROPOSES_FOR, Body, Permission
from lms.core.configfile import ConfigFileError, modified, read_toml, where
from lms.extensions import db
from lms.registry.models import AdminUnit, Organisation, UnitLevel, UnitLineage, subtree
from lms.titles.models import Title

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "approvals.toml"
LEVELS = (UnitLevel.COMMUNE.value, UnitLevel.PROVINCE.value)


class ApprovalsConfigError(ConfigFileError):
    """The approvals file is missing or malformed: the message names the file, the entry and its line."""


BODIES = tuple(body.value for body in Body)


@dataclass(frozen=True)
class Rule:
    level: str  # the level whose approvers decide: "commune" or "province"
    authority: str  # a pattern with {commune} and {province}
    body: str = Body.COMMITTEE.value  # who decides at that level: "committee" or "association"
    # The certificate's heading and signature (Decree 30/2020/NĐ-CP, Appendix I), patterns as ``authority``; empty:
    # the body's defaults (:data:`ISSUERS`).
    superior: tuple[str, ...] = ()
    issuer: tuple[str, ...] = ()
    signer: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()  # the decision's "Nơi nhận", patterns; empty: the body's defaults
    # The draft decision's words (lms/titles/drafts.py, ADR 61), patterns; empty: the body's defaults (DECISIONS).
    grounds: tuple[str, ...] = ()  # "Căn cứ …" lines before the criteria's own
    proposer: tuple[str, ...] = ()  # one line: "Xét đề nghị của …"
    executors: tuple[str, ...] = ()  # Article 3: who executes the decision


@dataclass(frozen=True)
class Issuer:
    """Who issues a certificate, as printed: the superior body (regular capitals, first), the issuing body (bold
    capitals, a short rule under it) at the top left; the signature block (bold capitals) at the bottom right; and
    to whom the decision goes ("Nơi nhận", sentence case, printed on the decision's list, not on a certificate)."""

    superior: tuple[str, ...]
    body: tuple[str, ...]
    signer: tuple[str, ...]
    recipients: tuple[str, ...] = ()


# The defaults of each body, for a rule of the commune or the province level ({place}: the deciding level's unit).
# A People's Committee names no superior body: its name, on two lines, is the heading ("ỦY BAN NHÂN DÂN" / "XÃ EA
# TU"), and its chair signs on the committee's behalf ("TM. ỦY BAN NHÂN DÂN" / "CHỦ TỊCH"). The commune association
# names the province association above it (no district after 2025) and signs for its executive committee.
# The decision goes to those it recognises ({recognised}: "Các gia đình có tên trong Danh sách"), the deciding body's
# office, and the archive ("Lưu: VT", Decree 30/2020, Appendix I).
ISSUERS: dict[str, Issuer] = {
    Body.COMMITTEE.value: Issuer(
        superior=(),
        body=("Ủy ban nhân dân", "{place}"),
        signer=("TM. Ủy ban nhân dân", "Chủ tịch"),
        recipients=("{recognised}", "Văn phòng HĐND và UBND {place}", "Lưu: VT"),
    ),
    Body.ASSOCIATION.value: Issuer(
        superior=("Hội Khuyến học {province}",),
        body=("Hội Khuyến học {place}",),
        signer=("TM. Ban Chấp hành", "Chủ tịch"),
        recipients=("{recognised}", "Văn phòng Hội Khuyến học {place}", "Lưu: VT"),
    ),
}
PLACEHOLDERS = ("commune", "province", "place", "recognised")


@dataclass(frozen=True)
class DecisionWords:
    """What a draft decision says besides its list (ADR 61): the grounds of the deciding body's power, who proposed
    it, who executes it. Filled in, without the closing punctuation."""

    grounds: tuple[str, ...]
    proposer: str
    executors: tuple[str, ...]


# Each body's defaults. A People's Committee decides under the Law on the Organisation of Local Government (2025);
# the association under its charter. Who proposed it is left for the clerk to write (a blank) unless the file says:
# the texts name the proposer only for Circular 24 and 25 (the education office, its council), and practice varies.
# The People's Committee's office executes its decisions (Decree 30/2020, Appendix I, model 1.4: "Chánh Văn phòng …"):
# a commune's committee shares one office with its council ("Văn phòng HĐND và UBND xã"); a province's has its own,
# apart from the council's (PROVINCE_EXECUTORS).
DECISIONS: dict[str, DecisionWords] = {
    Body.COMMITTEE.value: DecisionWords(
        grounds=("Căn cứ Luật Tổ chức chính quyền địa phương ngày 16 tháng 6 năm 2025",),
        proposer="",
        executors=("Chánh Văn phòng HĐND và UBND {place}",),
    ),
    Body.ASSOCIATION.value: DecisionWords(
        grounds=("Căn cứ Điều lệ Hội Khuyến học Việt Nam",),
        proposer="",
        executors=("Văn phòng Hội Khuyến học {place}",),
    ),
}


# Article 3 of a province's decision, by body, where it differs from the commune's (DECISIONS).
PROVINCE_EXECUTORS: dict[str, tuple[str, ...]] = {Body.COMMITTEE.value: ("Chánh Văn phòng UBND {place}",)}
# The decision's recipients ("Nơi nhận") of a province's decision, by body, where they differ likewise (ISSUERS).
PROVINCE_RECIPIENTS: dict[str, tuple[str, ...]] = {
    Body.COMMITTEE.value: ("{recognised}", "Văn phòng UBND {place}", "Lưu: VT")
}


def _rule(entry: Any, at: str) -> Rule:
    if not isinstance(entry, dict) or entry.get("level") not in LEVELS or not isinstance(entry.get("authority"), str):
        raise ApprovalsConfigError(f'{at}: needs level = "commune" or "province" and an authority text')
    body = entry.get("body", Body.COMMITTEE.value)
    if body not in BODIES:
        raise ApprovalsConfigError(f"{at}: body must be one of {', '.join(BODIES)}, not {body!r}")
    lines = {}
    for key in ("superior", "issuer", "signer", "recipients", "grounds", "proposer", "executors"):
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
            raise ApprovalsConfigError(f"{at}: {key} must be a list of lines")
        for line in value:
            # A misspelt placeholder is found when the file is read, not as a failed print of a signed decision.
            try:
                unknown = {name for _t, name, _s, _c in string.Formatter().parse(line) if name} - set(PLACEHOLDERS)
            except ValueError as exc:
                raise ApprovalsConfigError(f"{at}: {key}: {line!r}: {exc}") from exc
            if unknown:
                raise ApprovalsConfigError(
                    f"{at}: {key}: {line!r} names {', '.join(sorted(unknown))}; "
                    f"only {', '.join('{' + p + '}' for p in PLACEHOLDERS)} are filled"
                )
        lines[key] = tuple(value)
    return Rule(level=entry["level"], authority=entry["authority"], body=body, **lines)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, Any]:
    try:
        data, text = read_toml(path, "LMS_TITLES_APPROVALS_FILE")
    except ConfigFileError as exc:
        raise ApprovalsConfigError(str(exc)) from exc
    table: dict[str, Any] = {}
    known = {title.value for title in Title}
    for section in data:
        if section not in known:
            raise ApprovalsConfigError(f"{where(path, text, section)}: not a title ({', '.join(sorted(known))})")
    for title in Title:
        if title.value not in data:
            raise ApprovalsConfigError(f"{path}: no entry for the title {title.value!r} (a [{title.value}] section)")
        entry = data[title.value]
        nested = {}
        for group in ("managing_level", "kind"):
            value = entry.get(group) or {} if isinstance(entry, dict) else {}
            if not isinstance(value, dict):
                raise ApprovalsConfigError(f"{where(path, text, title.value, group)}: {group} must be a table")
            nested[group] = {
                name: _rule(sub, where(path, text, f"{title.value}.{group}.{name}")) for name, sub in value.items()
            }
        table[title.value] = (_rule(entry, where(path, text, title.value)), nested["managing_level"], nested["kind"])
    return table


def check(path: str | Path) -> None:
    """Read and validate the file at ``path`` (once per version of it: the result is cached): raises
    :class:`ApprovalsConfigError` naming the file, the entry and the line."""
    _load(str(path), modified(path))


def config_file() -> Path:
    return Path(current_app.config.get("TITLES_APPROVALS_FILE") or DEFAULT_FILE)


def _table() -> dict[str, Any]:
    path = config_file()
    return _load(str(path), modified(path))


def rule_for(title: str, managing_level: str | None = None, kind: str | None = None) -> Rule:
    """The rule of ``title``; for a Learning Unit, the one of the organisation's kind where the file names it, else
    the one of the level that manages the organisation. Circular 24/2023, Art. 2.3 and 5.1: the commune People's
    Committee is a district-level unit, recognised by the chairman of the district (not of the commune it is the
    committee of), whatever managing level the registry gives it."""
    default, by_level, by_kind = _table()[title]
    if kind and kind in by_kind:
        return by_kind[kind]
    return by_level.get(managing_level or "", default)


def rules_for(rows: Iterable[tuple[int, str, str, int]]) -> dict[int, Rule]:
    """Rules of many recognitions at once: ``rows`` are ``(key, title, subject_type, subject_id)``; one query for
    the organisations' managing levels and kinds."""
    rows = list(rows)
    organisation_ids = {subject_id for _, title, _, subject_id in rows if title == Title.UNIT}
    organisations = (
        {
            oid: (level, kind)
            for oid, level, kind in db.session.execute(
                select(Organisation.id, Organisation.managing_level, Organisation.kind).where(
                    Organisation.id.in_(organisation_ids)
                )
            ).tuples()
        }
        if organisation_ids
        else {}
    )
    return {
        key: rule_for(title, *organisations.get(subject_id, (None, None))) if title == Title.UNIT else rule_for(title)
        for key, title, _, subject_id in rows
    }


def _place(unit: AdminUnit | None) -> str:
    """ "xã Ea Tu", "tỉnh Quảng Ngãi": the kind in lower case, as written inside a sentence."""
    if unit is None:
        return ""
    return f"{unit.kind[:1].lower()}{unit.kind[1:]} {unit.name}".strip()


def places(commune_ids: Iterable[int]) -> dict[int, tuple[AdminUnit, AdminUnit | None]]:
    """Each commune with its province (two queries whatever the number)."""
    communes = list(db.session.scalars(select(AdminUnit).where(AdminUnit.id.in_(set(commune_ids)))))
    ancestor_ids = {int(part) for c in communes for part in c.path.strip("/").split("/") if part.isdigit()}
    provinces = {
        u.id: u
        for u in db.session.scalars(
            select(AdminUnit).where(AdminUnit.id.in_(ancestor_ids), AdminUnit.level == UnitLevel.PROVINCE.value)
        )
    }
    result = {}
    for commune in communes:
        ids = [int(p) for p in commune.path.strip("/").split("/") if p.isdigit()]
        province = next((provinces[i] for i in ids if i in provinces), None)
        result[commune.id] = (commune, province)
    return result


def authority_name(rule: Rule, commune: AdminUnit, province: AdminUnit | None) -> str:
    return rule.authority.format(commune=_place(commune), province=_place(province))


def _names(rule: Rule, commune: AdminUnit, province: AdminUnit | None, recognised: str = "") -> dict[str, str]:
    """What the placeholders of a rule's lines stand for ({place}: the deciding level's unit)."""
    return {
        "commune": _place(commune),
        "province": _place(province),
        "place": _place(commune if rule.level == UnitLevel.COMMUNE.value else province),
        "recognised": recognised,
    }


def issuer(rule: Rule, commune: AdminUnit, province: AdminUnit | None, *, recognised: str = "") -> Issuer:
    """The heading and signature a certificate of ``rule`` carries, in capitals, for a subject of ``commune``; and the
    decision's recipients, ``recognised`` standing for those it recognises."""
    default = ISSUERS[rule.body]
    names = _names(rule, commune, province, recognised)

    def texts(patterns: tuple[str, ...]) -> list[str]:
        return [text for text in (p.format(**names).strip() for p in patterns) if text]

    def lines(patterns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(text.upper() for text in texts(patterns))

    return Issuer(
        superior=lines(rule.superior or (default.superior if not rule.issuer else ())),
        body=lines(rule.issuer or default.body),
        signer=lines(rule.signer or default.signer),
        recipients=tuple(
            t[:1].upper() + t[1:]
            for t in texts(
                rule.recipients
                or (PROVINCE_RECIPIENTS.get(rule.body) if rule.level == UnitLevel.PROVINCE.value else None)
                or default.recipients
            )
        ),
    )


def decision_words(rule: Rule, commune: AdminUnit, province: AdminUnit | None) -> DecisionWords:
    """The draft decision's grounds, proposer and executors for ``rule``, filled in for a subject of ``commune``."""
    default = DECISIONS[rule.body]
    names = _names(rule, commune, province)

    def texts(patterns: tuple[str, ...]) -> tuple[str, ...]:
        filled = (p.format(**names).strip().rstrip(";.").strip() for p in patterns)
        return tuple(text for text in filled if text)

    proposer = texts(rule.proposer) or texts((default.proposer,))
    return DecisionWords(
        grounds=texts(rule.grounds or default.grounds),
        proposer=proposer[0] if proposer else "",
        executors=texts(
            rule.executors
            or (PROVINCE_EXECUTORS.get(rule.body) if rule.level == UnitLevel.PROVINCE.value else None)
            or default.executors
        ),
    )


def deciding_paths(user: Any, level: str, body: str) -> list[str]:
    """Subtree roots where ``user`` holds ``titles.approve`` on a unit of ``level`` through a role that decides for
    ``body`` (``ROLE_BODIES``), with the pre-2025 units those replaced (one query for the lineage)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    assigned = sorted(
        {
            a.unit.path
            for a in user.roles
            if a.unit.level == level
            and Permission.TITLES_APPROVE in ROLE_PERMISSIONS[Role(a.role)]
            and body in ROLE_BODIES[Role(a.role)]
        }
    )
    return _with_predecessors(assigned)


def proposing_paths(user: Any, title: str) -> list[str]:
    """Subtree roots where ``user`` may propose ``title``: where they hold ``titles.propose`` through a role that
    proposes for the body deciding some recognition of the title (``ROLE_PROPOSES_FOR``): the association's officer
    proposes citizens, not families. With the pre-2025 units those replaced."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    bodies = {body for _level, body in deciders_of(title)}
    assigned = sorted(
        {
            a.unit.path
            for a in user.roles
            if Permission.TITLES_PROPOSE in ROLE_PERMISSIONS[Role(a.role)] and bodies & ROLE_PROPOSES_FOR[Role(a.role)]
        }
    )
    return _with_predecessors(assigned)


def _with_predecessors(assigned: list[str]) -> list[str]:
    if not assigned:
        return []
    old, new = aliased(AdminUnit), aliased(AdminUnit)
    predecessors = db.session.scalars(
        select(old.path)
        .join(UnitLineage, UnitLineage.old_unit_id == old.id)
        .join(new, UnitLineage.new_unit_id == new.id)
        .where(or_(*(subtree(new.path, p) for p in assigned)))
        .distinct()
    )
    return [*assigned, *predecessors]


def refused(user: Any, rules: dict[int, Rule], commune_paths: dict[int, str]) -> set[int]:
    """Keys (of ``rules``) the user may not decide; ``commune_paths`` maps the same keys to the commune's path."""
    wanted = {(rule.level, rule.body) for rule in rules.values()}
    paths = {key: deciding_paths(user, *key) for key in wanted}
    return {
        key
        for key, rule in rules.items()
        if not any(commune_paths[key].startswith(p) for p in paths[(rule.level, rule.body)])
    }


def deciders_of(title: str) -> set[tuple[str, str]]:
    """Every (level, body) that decides some recognition of ``title`` (a Learning Unit: commune or province, by
    manager; a Learning Citizen: the commune association)."""
    default, by_level, by_kind = _table()[title]
    return {(rule.level, rule.body) for rule in (default, *by_level.values(), *by_kind.values())}


def levels_of(title: str) -> set[str]:
    """Every level that decides some recognition of ``title``."""
    return {level for level, _body in deciders_of(title)}


def decided_titles(user: Any) -> list[str]:
    """The titles of which ``user`` decides at least some recognitions, in the titles' order: a province leader
    decides the commune learning community and the units the province (or a former district) manages; a commune
    People's Committee leader the families, clans, villages and commune-managed units; the commune association's
    officer the citizens."""
    held = {(level, body) for level in LEVELS for body in BODIES if deciding_paths(user, level, body)}
    return [title.value for title in Title if deciders_of(title.value) & held]


def proposed_titles(user: Any) -> list[str]:
    """The titles ``user`` may propose somewhere, in the titles' order (the association's officer: the citizen)."""
    return [title.value for title in Title if proposing_paths(user, title.value)]
