"""Who files a unit's reports: configuration, not code (``lms/registry/data/report_issuers.toml``).

A filed report (Decree 30/2020/NĐ-CP, Appendix I) names its issuing body at the top left with the document's number
and symbol under it ("Số:      /BC-UBND"), and the recipients ("Nơi nhận:") at the bottom left beside the head's
signature. The app knows the unit a report is about, not who files it nor the number the clerk gives it: the file
says, per level of the unit (and for a Community Learning Centre), the lines to print; the number stays blank for the
clerk to write unless the user typed it. An administrator replaces the file through ``LMS_REPORT_ISSUERS_FILE``, as
``lms/titles/approvals.py`` configures who decides a title.

A unit of the map before 1 July 2025 no longer files anything: its report is filed by the current unit that took it
over (its successor, or the smallest current unit holding all of its successors).
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import abort, current_app, request
from flask_babel import gettext as _
from sqlalchemy import select

from lms.core.configfile import ConfigFileError, modified, read_toml, where
from lms.extensions import db
from lms.registry.models import AdminUnit, UnitLevel, UnitLineage

DEFAULT_FILE = Path(__file__).resolve().parent / "data" / "report_issuers.toml"
CENTRE = "centre"
SECTIONS = (*(level.value for level in UnitLevel), CENTRE)
KEYS = ("superior", "issuer", "symbol", "signer", "recipients", "place")
NUMBER_BLANK = "\u00a0" * 8  # the room a clerk writes the number in by hand
PLACEHOLDERS = ("place", "province", "commune", "centre")


NUMBER_DIGITS = 8


class IssuersConfigError(ConfigFileError):
    """The issuers file is missing or malformed: the message names the file, the entry and its line."""


@dataclass(frozen=True)
class Issuer:
    """A report's heading, number line, signature and recipients as printed (capitals where the form has them)."""

    superior: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    symbol: str = ""
    signer: tuple[str, ...] = ()
    recipients: tuple[str, ...] = ()
    place: str = ""  # where it is filed, for "Đăk Hà, ngày … tháng … năm …": the file's ``place``, else the unit's name

    @property
    def heading_text(self) -> str:
        """The heading on one line, for a page: "ỦY BAN NHÂN DÂN XÃ ĐĂK HÀ – TRUNG TÂM HỌC TẬP CỘNG ĐỒNG"."""
        return " – ".join(part for part in (" ".join(self.superior), " ".join(self.body)) if part)

    def number_line(self, number: str = "") -> str:
        """ "Số: 12/BC-UBND", or "Số:         /BC-UBND" with room for the clerk's pen; empty without a symbol."""
        if not self.symbol:
            return ""
        return f"Số: {number or NUMBER_BLANK}/{self.symbol}"


def _fields(pattern: str) -> set[str]:
    """The placeholders a line names ("{place}" → place)."""
    return {name for _text, name, _spec, _conversion in string.Formatter().parse(pattern) if name is not None}


def _lines(value: Any, where: str, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(line, str) for line in value):
        raise IssuersConfigError(f"{where}: {key} must be a list of lines")
    for line in value:
        try:
            unknown = _fields(line) - set(PLACEHOLDERS)
        except ValueError as exc:  # an unmatched brace
            raise IssuersConfigError(f"{where}: {key}: {line!r}: {exc}") from exc
        if unknown:
            # Found here, with the file and the line, rather than as a failed page at the first report.
            raise IssuersConfigError(
                f"{where}: {key}: {line!r} names {', '.join(sorted(unknown))}; "
                f"only {', '.join('{' + p + '}' for p in PLACEHOLDERS)} are filled"
            )
    return tuple(value)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> dict[str, dict[str, Any]]:
    try:
        data, text = read_toml(path, "LMS_REPORT_ISSUERS_FILE")
    except ConfigFileError as exc:
        raise IssuersConfigError(str(exc)) from exc
    table: dict[str, dict[str, Any]] = {}
    for section, entry in data.items():
        at = where(path, text, section)
        if section not in SECTIONS:
            raise IssuersConfigError(f"{at}: not a level ({', '.join(SECTIONS)})")
        if not isinstance(entry, dict) or set(entry) - set(KEYS):
            unknown = ", ".join(sorted(set(entry) - set(KEYS))) if isinstance(entry, dict) else ""
            said = f"{unknown} unknown; " if unknown else ""
            raise IssuersConfigError(f"{at}: {said}only {', '.join(KEYS)} may be set")
        for key in ("symbol", "place"):
            if not isinstance(entry.get(key, ""), str):
                example = '"BC-UBND"' if key == "symbol" else '"Hà Nội"'
                raise IssuersConfigError(f"{where(path, text, section, key)}: {key} must be a text such as {example}")
        if not entry.get("issuer"):
            raise IssuersConfigError(f"{at}: needs the issuing body (issuer = [...])")
        table[section] = {
            "symbol": entry.get("symbol", "").strip(),
            "place": " ".join(entry.get("place", "").split()),
            **{
                key: _lines(entry.get(key, []), where(path, text, section, key), key)
                for key in ("superior", "issuer", "signer", "recipients")
            },
        }
    return table


def check(path: str | Path) -> None:
    """Read and validate the file at ``path`` (once per version of it: the result is cached): raises
    :class:`IssuersConfigError` naming the file, the entry and the line."""
    _load(str(path), modified(path))


def config_file() -> Path:
    return Path(current_app.config.get("REPORT_ISSUERS_FILE") or DEFAULT_FILE)


def config_stamp() -> str:
    """What a cached page showing an issuer depends on: the file and when it last changed."""
    path = config_file()
    return f"{path}:{path.stat().st_mtime}"


def _table() -> dict[str, dict[str, Any]]:
    path = config_file()
    return _load(str(path), modified(path))


def _in_sentence(unit: AdminUnit | None) -> str:
    return unit.name_in_sentence if unit is not None else ""


def filing_unit(unit: AdminUnit) -> AdminUnit:
    """The unit that files ``unit``'s report: itself while it exists; for an ended unit, its successor, or the
    smallest current unit holding all its successors (a district of 2024 → the province that took its communes)."""
    if unit.valid_to is None:
        return unit
    paths = list(
        db.session.scalars(
            select(AdminUnit.path)
            .join(UnitLineage, UnitLineage.new_unit_id == AdminUnit.id)
            .where(UnitLineage.old_unit_id == unit.id, AdminUnit.valid_to.is_(None))
        )
    )
    if not paths:
        return unit
    parts = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for segment in zip(*parts, strict=False):
        if len(set(segment)) > 1:
            break
        common.append(segment[0])
    found = (
        db.session.scalar(select(AdminUnit).where(AdminUnit.path == "/" + "/".join(common) + "/")) if common else None
    )
    return found or unit


def _ancestor(unit: AdminUnit, level: UnitLevel) -> AdminUnit | None:
    if unit.level == level.value:
        return unit
    ids = [int(part) for part in unit.path.strip("/").split("/") if part.isdigit()]
    return db.session.scalar(select(AdminUnit).where(AdminUnit.id.in_(ids), AdminUnit.level == level.value))


def _issuer(section: str, place: AdminUnit, **extra: str) -> Issuer:
    entry = _table().get(section)
    if entry is None:  # a level the file leaves out: the unit's name heads the report, as before
        return Issuer(body=(place.full_name.upper(),), place=place.name)
    names = {
        "place": _in_sentence(place),
        "province": _in_sentence(_ancestor(place, UnitLevel.PROVINCE)),
        "commune": _in_sentence(_ancestor(place, UnitLevel.COMMUNE)),
        "centre": "",
        **extra,
    }

    def lines(patterns: tuple[str, ...], capitals: bool) -> tuple[str, ...]:
        # A line naming a place the unit has none of (a unit without a province) is left out, not printed headless
        # ("Ủy ban nhân dân (để báo cáo)").
        kept = (p for p in patterns if all(names[field] for field in _fields(p)))
        texts = (" ".join(p.format(**names).split()) for p in kept)
        return tuple(t.upper() if capitals else _capitalised(t) for t in texts if t)

    return Issuer(
        superior=lines(entry["superior"], True),
        body=lines(entry["issuer"], True),
        symbol=entry["symbol"],
        signer=lines(entry["signer"], True),
        recipients=lines(entry["recipients"], False),
        place=entry["place"] or place.name,
    )


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def report_issuer(unit: AdminUnit) -> Issuer:
    """Who files the targets report of ``unit`` (by the level of the unit that files it)."""
    place = filing_unit(unit)
    return _issuer(place.level, place)


def centre_issuer(commune: AdminUnit, centre_name: str) -> Issuer:
    """Who files a Community Learning Centre's report (``{centre}``: its name, as its certificates print it). A centre
    still attached to a commune the 2025 map ended is headed by the commune that took that commune over (a People's
    Committee that no longer exists signs nothing); a commune split among several keeps its own name, there being no
    one successor to name."""
    successor = filing_unit(commune)
    return _issuer(CENTRE, successor if successor.level == UnitLevel.COMMUNE.value else commune, centre=centre_name)


def requested_number() -> str:
    """The document's number the user typed before printing (``?number=``), for every report filed with an issuer
    (the targets reports, the centre report); blank: printed "Số:      /BC-…", written by hand when the clerk
    registers it. Anything but digits is a 400 saying what to type."""
    raw = (request.args.get("number") or "").strip()
    if raw and not (raw.isdigit() and raw.isascii() and len(raw) <= NUMBER_DIGITS):
        abort(
            400,
            description=_(
                "The document number is written in digits only, such as 125 (at most %(digits)d); "
                "leave it blank for the clerk to write it by hand.",
                digits=NUMBER_DIGITS,
            ),
        )
    return raw
