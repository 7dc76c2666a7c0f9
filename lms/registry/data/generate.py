"""Generate the administrative-unit reference CSVs in this folder from two PyPI packages.

Sources (pinned; the script refuses to run against other versions so that the
files and SOURCES.md never silently drift):

* ``vietnam-provinces`` 2025.10.1 -- the current units (34 provinces and 3,321
  commune-level units since 1 July 2025), with the GSO codes.
* ``vietnamadminunits`` 1.0.4 -- the pre-2025 (63-province) units and the
  old-commune -> new-commune mapping used by its ``convert_address``.

Files written (UTF-8, ``\\n`` line endings, header row, sorted, byte-identical
on every run):

* ``units_2025.csv`` -- every current province and commune-level unit.
* ``units_kontum_pre2025.csv`` -- pre-2025 Kon Tum (62): province, 10 districts,
  102 communes.
* ``lineage_kontum.csv`` -- each of the 102 old Kon Tum communes -> the current
  commune(s) (all in Quảng Ngãi, 51) that took over its territory.

Conventions:

* ``code`` is the official GSO code, zero-padded (province 2 digits, district 3,
  commune 5). The 2025 reform often re-used the code of one of the merged old
  communes, so the same code can name different units in the two structures.
* ``name`` is the bare name ("Kon Tum") and ``kind`` the Vietnamese unit type
  ("Phường"), so the full official name is ``kind + " " + name``. Province-level
  cities are ``kind = "Thành phố"``.
* ``share`` in the lineage file: neither package gives the fraction of an old
  commune that went to each successor, so an old commune with n successors gets
  1/n on each row, written with 4 decimals.
* Units are sorted by level (province, district, commune), then parent code,
  then code; lineage rows by old code, then new code.

Run from the repository root with either of::

    .venv/bin/python -m lms.registry.data.generate
    .venv/bin/python lms/registry/data/generate.py
"""

from __future__ import annotations

import csv
import io
import re
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import astuple, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Final

from vietnam_provinces import Province, VietNamDivisionType, Ward
from vietnamadminunits.converter import converter_2025  # type: ignore[import-untyped]
from vietnamadminunits.database import query as _query  # type: ignore[import-untyped]

OUT_DIR: Final = Path(__file__).resolve().parent

PINNED_VERSIONS: Final = {
    "vietnam-provinces": "2025.10.1",
    "vietnamadminunits": "1.0.4",
}

KONTUM_CODE: Final = "62"
SUCCESSOR_PROVINCE_CODE: Final = "51"  # Quảng Ngãi, which absorbed Kon Tum

CODE_WIDTH: Final = {"province": 2, "district": 3, "commune": 5}

EXPECTED_2025: Final = {"province": 34, "commune": 3321}
EXPECTED_KONTUM: Final = {"province": 1, "district": 10, "commune": 102}

LEVEL_RANK: Final = {"province": 0, "district": 1, "commune": 2}

KIND_2025: Final = {
    VietNamDivisionType.TINH: "Tỉnh",
    VietNamDivisionType.THANH_PHO_TRUNG_UONG: "Thành phố",
    VietNamDivisionType.XA: "Xã",
    VietNamDivisionType.PHUONG: "Phường",
    VietNamDivisionType.DAC_KHU: "Đặc khu",
}

UNIT_HEADER: Final = ("code", "name", "level", "parent_code", "kind")
LINEAGE_HEADER: Final = ("old_code", "new_code", "share")


class DataCheckError(RuntimeError):
    """The package data does not match what this generator expects."""


@dataclass(frozen=True)
class Unit:
    """One row of a units CSV."""

    code: str
    name: str
    level: str
    parent_code: str
    kind: str

    def sort_key(self) -> tuple[int, str, str]:
        return (LEVEL_RANK[self.level], self.parent_code, self.code)


@dataclass(frozen=True)
class Lineage:
    """One row of the lineage CSV: old commune -> one successor."""

    old_code: str
    new_code: str
    share: str


# --------------------------------------------------------------------------- helpers


def check_versions() -> None:
    for dist, pinned in PINNED_VERSIONS.items():
        installed = version(dist)
        if installed != pinned:
            raise DataCheckError(
                f"{dist} {installed} is installed but this generator is pinned to {pinned}; "
                "review the output, then update PINNED_VERSIONS, the docstring and SOURCES.md."
            )


def split_name(full_name: str, kind: str) -> str:
    """Return the bare name: ``full_name`` without its leading ``kind`` word(s), if present."""
    prefix = f"{kind} "
    return full_name.removeprefix(prefix)


def kind_from_names(full_name: str, short_name: str) -> str:
    """Derive the type word from a full name and its bare form ("Tỉnh Kon Tum", "Kon Tum")."""
    suffix = f" {short_name}"
    if not full_name.endswith(suffix):
        raise DataCheckError(f"{full_name!r} does not end with its short name {short_name!r}")
    return full_name[: -len(suffix)]


def compact_key(text: str) -> str:
    """vietnamadminunits-style key from a vietnam-provinces codename ("xa_dak_to" -> "xadakto")."""
    return re.sub(r"[^a-z0-9]", "", text.lower())


def query(sql: str) -> list[dict[str, Any]]:
    """Typed wrapper around ``vietnamadminunits.database.query`` (its bundled SQLite)."""
    rows: list[dict[str, Any]] = _query(sql)
    return rows


def check_code_format(units: Iterable[Unit]) -> None:
    for unit in units:
        if not (unit.code.isdigit() and len(unit.code) == CODE_WIDTH[unit.level]):
            raise DataCheckError(f"{unit.level} code {unit.code!r} is not {CODE_WIDTH[unit.level]} digits")


def check_counts(units: Iterable[Unit], expected: Mapping[str, int], label: str) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for unit in units:
        counts[unit.level] += 1
    if dict(counts) != dict(expected):
        raise DataCheckError(f"{label}: expected {dict(expected)}, got {dict(counts)}")
    return dict(counts)


def render_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(filename: str, header: Sequence[str], rows: Iterable[Sequence[str]]) -> Path:
    path = OUT_DIR / filename
    path.write_bytes(render_csv(header, rows).encode("utf-8"))
    return path


# --------------------------------------------------------------------------- 2025 units


def province_2025(province: Province) -> Unit:
    kind = KIND_2025[province.division_type]
    return Unit(
        f"{int(province.code):02d}",
        split_name(province.name, kind),
        "province",
        "",
        kind,
    )


def commune_2025(ward: Ward) -> Unit:
    kind = KIND_2025[ward.division_type]
    if not ward.name.startswith(f"{kind} "):
        raise DataCheckError(f"ward {int(ward.code)} {ward.name!r} does not start with {kind!r}")
    return Unit(
        f"{int(ward.code):05d}",
        split_name(ward.name, kind),
        "commune",
        f"{int(ward.province_code):02d}",
        kind,
    )


def build_units_2025() -> list[Unit]:
    units = [province_2025(p) for p in Province.iter_all()]
    units += [commune_2025(w) for w in Ward.iter_all()]
    return sorted(units, key=Unit.sort_key)


# --------------------------------------------------------------------------- pre-2025 Kon Tum


def legacy_rows(province_code: str) -> list[dict[str, str]]:
    """Pre-2025 ward rows (with their district and province) from vietnamadminunits."""
    if not province_code.isdigit():
        raise ValueError(f"bad province code {province_code!r}")
    # The only interpolated value is checked to be digits above.
    return query(
        "SELECT province, provinceShort, provinceCode, provinceKey,"  # noqa: S608
        " district, districtShort, districtCode, districtKey,"
        " ward, wardShort, wardCode, wardKey"
        f" FROM admin_units_legacy WHERE provinceCode = '{province_code}'"
    )


def legacy_units(rows: Iterable[Mapping[str, str]]) -> list[Unit]:
    units: set[Unit] = set()
    for r in rows:
        p_code, d_code = r["provinceCode"], r["districtCode"]
        units.add(
            Unit(
                p_code,
                r["provinceShort"],
                "province",
                "",
                kind_from_names(r["province"], r["provinceShort"]),
            )
        )
        units.add(
            Unit(
                d_code,
                r["districtShort"],
                "district",
                p_code,
                kind_from_names(r["district"], r["districtShort"]),
            )
        )
        units.add(
            Unit(
                r["wardCode"],
                r["wardShort"],
                "commune",
                d_code,
                kind_from_names(r["ward"], r["wardShort"]),
            )
        )
    codes = [u.code for u in units]
    if len(codes) != len(set(codes)):
        raise DataCheckError("the same legacy code appears with different attributes")
    return sorted(units, key=Unit.sort_key)


def legacy_key(row: Mapping[str, str]) -> str:
    """The key convert_address uses for an old commune: province_district_ward."""
    return f"{row['provinceKey']}_{row['districtKey']}_{row['wardKey']}"


# --------------------------------------------------------------------------- lineage


def successor_keys(old_prefix: str) -> dict[str, set[tuple[str, str]]]:
    """Old commune key -> {(new province key, new ward key)} from the converter tables."""
    successors: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for new_province, wards in converter_2025.DICT_PROVINCE_WARD_NO_DIVIDED.items():
        for new_ward, old_keys in wards.items():
            for old_key in old_keys:
                if old_key.startswith(old_prefix):
                    successors[old_key].add((new_province, new_ward))
    for new_province, divided in converter_2025.DICT_PROVINCE_WARD_DIVIDED.items():
        for old_key, targets in divided.items():
            if old_key.startswith(old_prefix):
                successors[old_key].update((new_province, t["newWardKey"]) for t in targets)
    return successors


def new_ward_resolver() -> dict[tuple[str, str], str]:
    """(new province key, new ward key) -> official 5-digit code per vietnam-provinces.

    vietnamadminunits names new wards by key; the key is matched against
    vietnam-provinces' codename within the same province. Its own ward code is
    used only to break ties between homonyms (the two packages disagree on some
    current codes, and vietnam-provinces is the authority for them).
    """
    by_key: dict[tuple[int, str], list[Ward]] = defaultdict(list)
    for ward in Ward.iter_all():
        by_key[(int(ward.province_code), compact_key(ward.codename))].append(ward)
    resolved: dict[tuple[str, str], str] = {}
    for row in query("SELECT provinceKey, provinceCode, wardKey, wardCode FROM admin_units"):
        candidates = by_key.get((int(row["provinceCode"]), row["wardKey"]), [])
        if len(candidates) > 1:
            candidates = [w for w in candidates if int(w.code) == int(row["wardCode"])]
        if len(candidates) == 1:
            resolved[(row["provinceKey"], row["wardKey"])] = f"{int(candidates[0].code):05d}"
    return resolved


def equal_share(n: int) -> str:
    return f"{1 / n:.4f}"


def build_lineage(old_rows: Sequence[Mapping[str, str]]) -> list[Lineage]:
    """One row per (old commune, successor), all old rows being from one old province."""
    (province_key,) = {r["provinceKey"] for r in old_rows}
    old_code_by_key = {legacy_key(r): r["wardCode"] for r in old_rows}
    successors = successor_keys(f"{province_key}_")
    unknown = set(successors) - set(old_code_by_key)
    missing = set(old_code_by_key) - set(successors)
    if unknown or missing:
        raise DataCheckError(f"lineage keys mismatch: unknown={sorted(unknown)} missing={sorted(missing)}")
    resolve = new_ward_resolver()
    rows: list[Lineage] = []
    for old_key, targets in successors.items():
        unresolved = [t for t in targets if t not in resolve]
        if unresolved:
            raise DataCheckError(f"{old_key}: cannot resolve successor(s) {sorted(unresolved)}")
        new_codes = sorted({resolve[t] for t in targets})
        rows += [Lineage(old_code_by_key[old_key], c, equal_share(len(new_codes))) for c in new_codes]
    return sorted(rows, key=lambda r: (r.old_code, r.new_code))


def check_lineage(lineage: Sequence[Lineage], old_units: Sequence[Unit], new_units: Sequence[Unit]) -> None:
    old_codes = {u.code for u in old_units if u.level == "commune"}
    new_codes = {u.code for u in new_units if u.level == "commune" and u.parent_code == SUCCESSOR_PROVINCE_CODE}
    if bad := sorted({r.old_code for r in lineage} ^ old_codes):
        raise DataCheckError(f"old codes not matching units_kontum_pre2025: {bad}")
    if bad := sorted({r.new_code for r in lineage} - new_codes):
        raise DataCheckError(f"new codes not communes of {SUCCESSOR_PROVINCE_CODE} in units_2025: {bad}")


# --------------------------------------------------------------------------- main


def report_lineage(lineage: Sequence[Lineage], new_units: Sequence[Unit]) -> None:
    per_old: dict[str, int] = defaultdict(int)
    for r in lineage:
        per_old[r.old_code] += 1
    new_codes = sorted({r.new_code for r in lineage})
    provinces = sorted({u.parent_code for u in new_units if u.code in new_codes and u.level == "commune"})
    split = sum(1 for n in per_old.values() if n > 1)
    print(
        f"lineage_kontum.csv: {len(lineage)} rows; {len(per_old)} old communes, {split} split, "
        f"mapping to {len(new_codes)} new communes in province(s) {', '.join(provinces)}"
    )


def main() -> int:
    check_versions()

    units_2025 = build_units_2025()
    check_code_format(units_2025)
    counts = check_counts(units_2025, EXPECTED_2025, "units_2025")
    write_csv("units_2025.csv", UNIT_HEADER, (astuple(u) for u in units_2025))
    print(f"units_2025.csv: {counts['province']} provinces, {counts['commune']} communes")

    old_rows = legacy_rows(KONTUM_CODE)
    kontum = legacy_units(old_rows)
    check_code_format(kontum)
    counts = check_counts(kontum, EXPECTED_KONTUM, "units_kontum_pre2025")
    write_csv("units_kontum_pre2025.csv", UNIT_HEADER, (astuple(u) for u in kontum))
    print(
        f"units_kontum_pre2025.csv: {counts['province']} province, {counts['district']} districts, "
        f"{counts['commune']} communes"
    )

    lineage = build_lineage(old_rows)
    check_lineage(lineage, kontum, units_2025)
    write_csv("lineage_kontum.csv", LINEAGE_HEADER, (astuple(r) for r in lineage))
    report_lineage(lineage, units_2025)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except DataCheckError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
