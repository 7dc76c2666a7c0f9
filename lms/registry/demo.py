"""A deterministic, realistic population for the former Kon Tum communes, for demos and benchmarks.

Since 1 July 2025 the 102 communes of Kon Tum form 40 communes of Quảng Ngãi (province 51). The generated data
lives under those 40 current communes: villages, households and their members, clans, organisations with their
staff, the Hội Khuyến học branches of the commune and its villages, and one Community Learning Centre per commune
with its board.

The same seed and scale give the same rows: names, dates, relations, ID numbers, and ids counted from the first
free id of each table. Only the ciphertext of the ID numbers differs between runs (Fernet draws a fresh IV); the
numbers it decrypts to do not. Ages are computed on ``REFERENCE_DAY``, never on today, for the same reason.

Rows are written with bulk INSERTs in batches, never as ORM objects, and one commune is generated at a time, so
the province scale (~150,000 households, ~600,000 persons) loads in one to two minutes in bounded memory
(docs/benchmarks.md). Ids are
assigned here, above each table's current maximum, so children can name their parents without a round trip;
that assumes nobody else inserts into these tables during the load (a setup or benchmark command, not a live
site). Functions flush, never commit.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from time import perf_counter
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, func, insert, select
from sqlalchemy.orm import aliased

from lms.core.models import AuditEvent
from lms.core.services import audit
from lms.extensions import Base, db, utcnow
from lms.registry.models import (
    AdminUnit,
    AssociationMembership,
    AssociationRole,
    BoardMembership,
    BoardRole,
    Clan,
    Clc,
    Household,
    ManagingLevel,
    OccupationGroup,
    Organisation,
    OrganisationKind,
    OrganisationMember,
    Person,
    Sex,
    UnitLevel,
    UnitLineage,
    clan_household,
)
from lms.registry.pii import protected_fields
from lms.registry.services import KON_TUM_CODE
from lms.registry.text import collation_key, fold, person_sort_key

Row = dict[str, Any]
Target = type[Base] | Table
ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(households_loaded, households_planned)`` while a load runs."""

DEFAULT_SEED = 2025
BATCH_SIZE = 5_000
REFERENCE_DAY = date(2025, 9, 1)
PROVINCE_HOUSEHOLDS = 150_000  # Kon Tum had 143,561 households in 2022
# A mixed commune of the former Đắk Hà district comes first: the demo logins are scoped to it.
DEMO_COMMUNES = ("23500", "23293", "23425")  # Xã Đăk Hà, Phường Kon Tum, Xã Tu Mơ Rông
GENERATE_ACTION = "registry.demo.generate"
REMOVE_ACTION = "registry.demo.remove"

# Parents before children: the order rows must reach the database in, given the foreign keys.
_TARGETS: tuple[Target, ...] = (
    AdminUnit,
    Household,
    Clan,
    clan_household,
    Person,
    Organisation,
    OrganisationMember,
    AssociationMembership,
    Clc,
    BoardMembership,
)


class DemoError(RuntimeError):
    """Demo data cannot be generated or removed here; the message says why."""


# --- scales and per-commune plans ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    name: str
    description: str
    communes: tuple[str, ...] | None  # official codes; None: every current successor of a Kon Tum commune
    households_per_commune: int | None  # None: the commune's realistic share of PROVINCE_HOUSEHOLDS


SCALES: dict[str, Scale] = {
    s.name: s
    for s in (
        Scale("demo", "3 communes, 100 households each", DEMO_COMMUNES, 100),
        Scale("commune", "1 commune of realistic size", DEMO_COMMUNES[:1], None),
        Scale("province", f"the 40 communes, ~{PROVINCE_HOUSEHOLDS:,} households", None, None),
    )
}


@dataclass(frozen=True)
class _District:
    """A pre-2025 district: the minority share of rural households, and its peoples by weight."""

    minority_share: float
    peoples: dict[str, int]


# Shares and mixes are rounded from the 2019 census by district, and tuned so the whole province comes out near
# its 53 % of ethnic-minority residents; they only have to look plausible.
_DISTRICTS: dict[str, _District] = {
    "608": _District(0.55, {"Ba Na": 85, "Xơ Đăng": 6, "Gia Rai": 4, "Mường": 3, "Tày": 2}),  # Kon Tum city
    "610": _District(0.85, {"Giẻ Triêng": 62, "Xơ Đăng": 35, "Mường": 3}),  # Đắk Glei
    "611": _District(0.45, {"Giẻ Triêng": 55, "Xơ Đăng": 25, "Tày": 8, "Nùng": 7, "Thái": 5}),  # Ngọc Hồi
    "612": _District(0.50, {"Xơ Đăng": 85, "Giẻ Triêng": 8, "Mường": 4, "Thái": 3}),  # Đắk Tô
    "613": _District(0.85, {"Xơ Đăng": 95, "Ba Na": 3, "Mường": 2}),  # Kon Plông
    "614": _District(0.60, {"Ba Na": 52, "Xơ Đăng": 45, "Mường": 3}),  # Kon Rẫy
    "615": _District(0.45, {"Xơ Đăng": 48, "Ba Na": 32, "Mường": 8, "Thái": 6, "Tày": 6}),  # Đắk Hà
    "616": _District(0.50, {"Gia Rai": 65, "Ba Na": 15, "Xơ Đăng": 10, "Mường": 5, "Thái": 5}),  # Sa Thầy
    "617": _District(0.95, {"Xơ Đăng": 98, "Giẻ Triêng": 2}),  # Tu Mơ Rông
    "618": _District(0.25, {"Gia Rai": 30, "Mường": 25, "Thái": 20, "Tày": 15, "Nùng": 10}),  # Ia H'Drai
}
# Two of the smallest peoples of Viet Nam live in one commune each: the Brâu in Bờ Y, the Rơ Măm in Mô Rai.
_LOCAL_PEOPLES: dict[str, dict[str, int]] = {"23377": {"Brâu": 6}, "23536": {"Rơ Măm": 12}}
# Towns are denser and more Kinh than the countryside around them (relative to a rural commune).
_DENSITY = {"Phường": 2.5, "Thị trấn": 2.0}
_URBAN_MINORITY_FACTOR = {"Phường": 0.3, "Thị trấn": 0.6}


@dataclass(frozen=True)
class CommunePlan:
    """What to generate for one current commune."""

    id: int
    code: str
    name: str
    kind: str
    path: str
    valid_from: date | None
    area_class: str
    address_suffix: str  # "xã Đăk Hà, tỉnh Quảng Ngãi"
    households: int
    minority_share: float
    peoples: tuple[tuple[str, int], ...]
    urban: bool


@dataclass(frozen=True)
class DemoPlan:
    seed: int
    scale: Scale
    communes: tuple[CommunePlan, ...]

    @property
    def households(self) -> int:
        return sum(c.households for c in self.communes)


@dataclass(frozen=True)
class _Predecessor:
    kind: str
    district: str


def plan_demo(seed: int = DEFAULT_SEED, scale: Scale | str = "demo") -> DemoPlan:
    """Which communes get how many households; reads the reference units (load them first)."""
    scale = SCALES[scale] if isinstance(scale, str) else scale
    successors = _kontum_successors()
    if not successors:
        raise DemoError("the reference units are not loaded: run 'flask load-units' first")
    weights = {code: sum(_DENSITY.get(p.kind, 1.0) for p in preds) for code, (_, preds) in successors.items()}
    shares = _apportion(PROVINCE_HOUSEHOLDS, list(weights.values()))
    realistic = dict(zip(weights, shares, strict=True))
    codes = scale.communes if scale.communes is not None else tuple(sorted(successors))
    unknown = [c for c in codes if c not in successors]
    if unknown:
        raise DemoError(f"not a successor of a Kon Tum commune: {', '.join(unknown)}")
    communes = tuple(
        _commune_plan(successors[code][0], successors[code][1], scale.households_per_commune or realistic[code])
        for code in codes
    )
    return DemoPlan(seed, scale, communes)


def _kontum_successors() -> dict[str, tuple[Row, list[_Predecessor]]]:
    """Current communes that succeed a Kon Tum commune, with their predecessors' kind and district."""
    new, old, district, old_province, province = (aliased(AdminUnit) for _ in range(5))
    stmt = (
        select(
            new.id,
            new.code,
            new.name,
            new.kind,
            new.path,
            new.valid_from,
            new.area_class,
            province.name.label("province_name"),
            province.kind.label("province_kind"),
            old.kind.label("old_kind"),
            district.code.label("district_code"),
        )
        .select_from(UnitLineage)
        .join(new, new.id == UnitLineage.new_unit_id)
        .join(province, province.id == new.parent_id)
        .join(old, old.id == UnitLineage.old_unit_id)
        .join(district, district.id == old.parent_id)
        .join(old_province, old_province.id == district.parent_id)
        .where(
            new.level == UnitLevel.COMMUNE,
            new.valid_to.is_(None),
            old.level == UnitLevel.COMMUNE,
            old_province.code == KON_TUM_CODE,
        )
        .order_by(new.code, old.code)
    )
    result: dict[str, tuple[Row, list[_Predecessor]]] = {}
    for row in db.session.execute(stmt).mappings():
        result.setdefault(row["code"], (dict(row), []))[1].append(_Predecessor(row["old_kind"], row["district_code"]))
    return result


def _commune_plan(unit: Row, predecessors: list[_Predecessor], households: int) -> CommunePlan:
    districts = [_DISTRICTS[p.district] for p in predecessors]
    weights = [_DENSITY.get(p.kind, 1.0) for p in predecessors]
    minority = sum(
        w * d.minority_share * _URBAN_MINORITY_FACTOR.get(p.kind, 1.0)
        for w, d, p in zip(weights, districts, predecessors, strict=True)
    ) / sum(weights)
    peoples: Counter[str] = Counter()
    for district in districts:
        peoples.update(district.peoples)
    peoples.update(_LOCAL_PEOPLES.get(unit["code"], {}))
    return CommunePlan(
        id=unit["id"],
        code=unit["code"],
        name=unit["name"],
        kind=unit["kind"],
        path=unit["path"],
        valid_from=unit["valid_from"],
        area_class=unit["area_class"],
        address_suffix=f"{unit['kind'].lower()} {unit['name']}, {unit['province_kind'].lower()} "
        f"{unit['province_name']}",
        households=households,
        minority_share=round(minority, 3),
        peoples=tuple(sorted(peoples.items())),
        urban=unit["kind"] == "Phường",
    )


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` into integers that add up to it (largest remainders)."""
    scale = total / sum(weights)
    exact = [w * scale for w in weights]
    parts = [int(x) for x in exact]
    by_remainder = sorted(range(len(weights)), key=lambda i: (parts[i] - exact[i], i))
    for i in by_remainder[: total - sum(parts)]:
        parts[i] += 1
    return parts


# --- names -------------------------------------------------------------------------------------------------------

_M, _F = Sex.MALE.value, Sex.FEMALE.value
KINH = "Kinh"

_KINH_FAMILY = {
    "Nguyễn": 38,
    "Trần": 11,
    "Lê": 9,
    "Phạm": 7,
    "Hoàng": 4,
    "Huỳnh": 3,
    "Phan": 4,
    "Vũ": 2,
    "Võ": 4,
    "Đặng": 2,
    "Bùi": 2,
    "Đỗ": 2,
    "Hồ": 2,
    "Ngô": 1,
    "Dương": 1,
    "Lý": 1,
}
_OTHER_FAMILY = {
    "Mường": ("Bùi", "Đinh", "Quách", "Hà", "Phạm"),
    "Tày": ("Nông", "Hoàng", "Lường", "Ma", "Hà"),
    "Nùng": ("Nông", "Hoàng", "Lục", "Chu", "Mã"),
    "Thái": ("Lò", "Lường", "Quàng", "Vi", "Cầm"),
}
_KINH_MIDDLE = {
    _M: ("Văn", "Văn", "Đức", "Minh", "Quang", "Hữu", "Công", "Thành", "Ngọc", "Đình", "Xuân"),
    _F: ("Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Hồng", "Minh", "Mỹ"),
}
_KINH_GIVEN = {
    _M: (
        "An",
        "Bình",
        "Cường",
        "Dũng",
        "Đạt",
        "Hải",
        "Hùng",
        "Huy",
        "Khoa",
        "Long",
        "Minh",
        "Nam",
        "Phong",
        "Phúc",
        "Quân",
        "Sơn",
        "Tài",
        "Thắng",
        "Thành",
        "Trung",
        "Tuấn",
        "Việt",
        "Vinh",
        "Hoàng",
        "Hiếu",
        "Khánh",
        "Lâm",
        "Lộc",
        "Nghĩa",
        "Tâm",
        "Toàn",
        "Bảo",
        "Đông",
        "Kiên",
        "Tú",
    ),
    _F: (
        "Anh",
        "Chi",
        "Dung",
        "Giang",
        "Hà",
        "Hạnh",
        "Hằng",
        "Hoa",
        "Hương",
        "Lan",
        "Linh",
        "Loan",
        "Mai",
        "My",
        "Ngân",
        "Ngọc",
        "Nhung",
        "Oanh",
        "Phương",
        "Quỳnh",
        "Thảo",
        "Thu",
        "Trang",
        "Tuyết",
        "Vân",
        "Yến",
        "Hiền",
        "Huyền",
        "Nga",
        "Xuân",
        "Lụa",
        "Thủy",
        "Diệp",
        "Ánh",
    ),
}
# Xơ Đăng, Ba Na, Giẻ Triêng and Rơ Măm names: often only "A" (men) or "Y" (women) and a given name, as in
# "A Thịnh", "Y Blơng"; otherwise a family name such as Đinh or Hồ with Văn / Thị.
_HIGHLAND_FAMILY = {"Đinh": 5, "Hồ": 3, "Lê": 1, "Nguyễn": 1, "Võ": 1}
_HIGHLAND_GIVEN = {
    _M: (
        "Thịnh",
        "Blông",
        "Brưl",
        "Dút",
        "Đum",
        "Gai",
        "Hiêng",
        "Hmưn",
        "Jơ",
        "Jrăng",
        "Khoa",
        "Kiêm",
        "Kông",
        "Krêm",
        "Lơi",
        "Lưu",
        "Mlô",
        "Ngái",
        "Nhót",
        "Pao",
        "Pêng",
        "Phiên",
        "Pớt",
        "Quyn",
        "Rin",
        "Rưn",
        "Sang",
        "Sơn",
        "Tít",
        "Tru",
        "Tuyn",
        "Vang",
        "Vương",
        "Xíu",
        "Bloanh",
        "Hyên",
        "Rết",
        "Điều",
        "Thư",
    ),
    _F: (
        "Blơng",
        "Hiên",
        "Nhung",
        "Hlinh",
        "Khiên",
        "Mai",
        "Phương",
        "Rơm",
        "Thơm",
        "Xuân",
        "Yên",
        "Bông",
        "Dít",
        "Lia",
        "Hnu",
        "Pren",
        "Ngọc",
        "Huyền",
        "Nghi",
        "Lé",
        "Thuy",
        "Đeo",
        "Hmơ",
        "Jen",
        "Klâu",
        "Nhíp",
        "Rinh",
        "Sương",
        "Tuyết",
        "Vân",
        "Hơ",
        "Bích",
        "Diễm",
        "Krih",
        "Mlen",
        "Ngân",
        "Rông",
        "Sen",
    ),
}
# Gia Rai family names are the names of matrilineal clans; children take their mother's.
_JARAI_FAMILY = ("Siu", "Rơ Châm", "Ksor", "Rơ Mah", "Kpă", "Puih", "Nay", "Rah Lan")
_JARAI_GIVEN = {
    _M: (
        "Thơm",
        "Nhiên",
        "Blik",
        "Dơk",
        "Hyuk",
        "Jek",
        "Kơn",
        "Lôk",
        "Nhă",
        "Phun",
        "Tih",
        "Yung",
        "Đin",
        "Hlơ",
        "Luă",
        "Mơn",
        "Nglăh",
        "Pil",
        "Rơh",
        "Thoan",
    ),
    _F: (
        "Bia",
        "Lan",
        "Ly",
        "Nhung",
        "Hlin",
        "Juê",
        "Kim",
        "Blum",
        "Dung",
        "Hyơn",
        "Lê",
        "Mlô",
        "Nhôn",
        "Phơ",
        "Thuyên",
        "Yơ",
        "Hơn",
        "Grơm",
        "Jing",
        "Loan",
    ),
}


@dataclass(frozen=True)
class _Naming:
    """How a people names its members: family names drawn from ``families``; ``None`` means none at all."""

    families: dict[str, int] | None
    matrilineal: bool = False

    def family(self, rng: random.Random) -> str:
        if self.families is None:
            return ""
        return rng.choices(list(self.families), weights=list(self.families.values()))[0]

    def full_name(self, rng: random.Random, ethnicity: str, sex: str, family: str) -> str:
        if ethnicity == KINH or ethnicity in _OTHER_FAMILY:
            return f"{family} {rng.choice(_KINH_MIDDLE[sex])} {rng.choice(_KINH_GIVEN[sex])}"
        if ethnicity == "Gia Rai":
            given = rng.choice(_JARAI_GIVEN[sex])
            return f"{family} H'{given}" if sex == _F and rng.random() < 0.5 else f"{family} {given}"
        given = rng.choice(_HIGHLAND_GIVEN[sex])
        if not family:
            return f"{'A' if sex == _M else 'Y'} {given}"
        if ethnicity == "Brâu":  # "Thao" names a Brâu lineage, as in "Thao Lăng"
            return f"{family} {given}"
        return f"{family} {'Văn' if sex == _M else 'Thị'} {given}"


def _naming(rng: random.Random, ethnicity: str) -> _Naming:
    if ethnicity == KINH:
        return _Naming(_KINH_FAMILY)
    if ethnicity in _OTHER_FAMILY:
        return _Naming(dict.fromkeys(_OTHER_FAMILY[ethnicity], 1))
    if ethnicity == "Gia Rai":
        return _Naming(dict.fromkeys(_JARAI_FAMILY, 1), matrilineal=True)
    if ethnicity == "Brâu" and rng.random() < 0.8:
        return _Naming({"Thao": 1})
    return _Naming(None) if rng.random() < 0.65 else _Naming(_HIGHLAND_FAMILY)


# --- villages ---------------------------------------------------------------------------------------------------

_KINH_VILLAGES = (
    "Tân Lập",
    "Tân Hương",
    "Thanh Xuân",
    "Đông Thành",
    "Bình Minh",
    "Quyết Thắng",
    "Thống Nhất",
    "Hòa Bình",
    "Đoàn Kết",
    "Tiến Thành",
    "Thắng Lợi",
    "Tân An",
    "Tân Bình",
    "Tân Phú",
    "Trung Thành",
    "Hải Hà",
    "Kim Thành",
    "Phú Thịnh",
    "Đồng Tâm",
    "Nghĩa Long",
    "Xuân Thái",
    "Ninh Khánh",
    "Thạnh Mỹ",
    "Hà Mòn",
)
_HIGHLAND_VILLAGE_HEAD = ("Kon", "Plei", "Đăk", "Ngọk", "Tê", "Vi", "Măng", "Tu", "Kạch", "Ia")
_HIGHLAND_VILLAGE_TAIL = (
    "Rơ Wang",
    "Klor",
    "Jri",
    "Đôn",
    "Tơ Nglong",
    "Hra",
    "Rbàng",
    "Mơ Nú",
    "Lấp",
    "Kơ Nâm",
    "Chờ",
    "Tum",
    "Năng",
    "Pơ Rang",
    "Xiêm",
    "Rế",
    "Drei",
    "Brông",
    "Sơ Tiêu",
    "Gung",
    "Rơ Hai",
    "Kơ Jên",
)
_LANG_SHARE, _THON_SHARE = 0.92, 0.10  # minority households in a "làng" and in a mixed "thôn" / "tổ dân phố"


@dataclass
class _Village:
    id: int
    code: str
    kind: str
    name: str
    minority_share: float
    households: int


def _village_count(plan: CommunePlan) -> int:
    return min(20, max(8, round(plan.households / 190)))


def _village_codes(plan: CommunePlan) -> list[str]:
    """Codes unique among current villages: the commune's official code and a number."""
    return [f"{plan.code}-{number:02d}" for number in range(1, _village_count(plan) + 1)]


def _villages(rng: random.Random, plan: CommunePlan, ids: IdAllocator) -> list[_Village]:
    """8–20 villages; enough of them ethnic-minority "làng" that the commune's minority share comes out right."""
    count = _village_count(plan)
    langs = round(count * min(1.0, max(0.0, (plan.minority_share - _THON_SHARE) / (_LANG_SHARE - _THON_SHARE))))
    is_lang = [True] * langs + [False] * (count - langs)
    rng.shuffle(is_lang)
    sizes = _apportion(plan.households, [rng.uniform(0.6, 1.4) for _ in range(count)])
    used: set[str] = set()
    kinh_names = list(_KINH_VILLAGES)
    rng.shuffle(kinh_names)
    villages = []
    for number, code, lang, households in zip(range(1, count + 1), _village_codes(plan), is_lang, sizes, strict=True):
        if lang:
            kind, name = "Làng", _highland_village_name(rng, used)
        elif plan.urban:
            kind, name = "Tổ dân phố", str(number)
        else:
            kind, name = "Thôn", kinh_names.pop() if kinh_names else str(number)
        used.add(name)
        villages.append(
            _Village(ids.take(AdminUnit), code, kind, name, _LANG_SHARE if lang else _THON_SHARE, households)
        )
    return villages


def _highland_village_name(rng: random.Random, used: set[str]) -> str:
    while True:
        name = f"{rng.choice(_HIGHLAND_VILLAGE_HEAD)} {rng.choice(_HIGHLAND_VILLAGE_TAIL)}"
        if name not in used:
            return name


def _village_row(village: _Village, plan: CommunePlan) -> Row:
    return {
        "id": village.id,
        "code": village.code,
        "name": village.name,
        "kind": village.kind,
        "level": UnitLevel.VILLAGE.value,
        "parent_id": plan.id,
        "path": f"{plan.path}{village.id}/",
        "valid_from": plan.valid_from,
        "valid_to": None,
        "area_class": plan.area_class,
        "name_folded": fold(village.name),
        "sort_key": collation_key(village.name),
    }


# --- households and persons -------------------------------------------------------------------------------------

HEAD, WIFE, HUSBAND, CHILD, GRANDCHILD, FATHER, MOTHER = "Chủ hộ", "Vợ", "Chồng", "Con", "Cháu", "Bố", "Mẹ"
# Household sizes 1..8: Kinh households are smaller than highland ones (mean ≈ 3.7 and ≈ 4.4).
_SIZE_WEIGHTS = {False: (7, 15, 23, 28, 15, 7, 3, 2), True: (3, 10, 18, 26, 19, 12, 7, 5)}
_SIZES = range(1, 9)
_CUM_SIZE_WEIGHTS = {k: list(accumulate(v)) for k, v in _SIZE_WEIGHTS.items()}
# Province-of-birth codes of ID numbers: most were born in Kon Tum (062); Kinh adults often came from the coast
# or the north (Quảng Ngãi, Bình Định, Quảng Nam, Nghệ An, Hà Tĩnh, Thanh Hóa, Thái Bình).
_BIRTH_PROVINCES = ("051", "052", "049", "040", "042", "038", "034")
_PHONE_PREFIXES = (
    "032",
    "033",
    "034",
    "035",
    "036",
    "037",
    "038",
    "039",
    "086",
    "096",
    "097",
    "098",
    "070",
    "076",
    "077",
    "078",
    "079",
    "081",
    "082",
    "083",
    "084",
    "085",
    "088",
    "091",
    "094",
)


@dataclass(slots=True)
class _Slot:
    relation: str
    sex: str
    age: int


@dataclass(slots=True)
class _Resident:
    id: int
    household_id: int
    village_id: int
    relation: str
    sex: str
    age: int
    birth_date: date
    full_name: str
    ethnicity: str
    occupation: str
    id_number: str | None
    phone: str | None


@dataclass
class _Household:
    id: int
    village: _Village
    number: int
    members: list[_Resident]
    clans: list[str]  # family names whose clan the household belongs to: its own line first, then the spouse's


def _compose(rng: random.Random, size: int) -> list[_Slot]:
    """Relation, sex and age of each member of a household of ``size`` people."""
    if size == 1:
        return [_Slot(HEAD, rng.choice((_M, _F)), rng.randint(20, 85))]
    head_sex = _M if rng.random() < 0.82 else _F
    head_age = int(rng.triangular(21, 80, 38))
    slots = [_Slot(HEAD, head_sex, head_age)]
    mother_age = head_age  # a parent alone: the children's ages follow that parent's
    if rng.random() < 0.9:
        spouse_sex = _F if head_sex == _M else _M
        gap = rng.randint(-7, 1) if head_sex == _M else rng.randint(-1, 7)
        slots.append(_Slot(WIFE if head_sex == _M else HUSBAND, spouse_sex, max(18, head_age + gap)))
        mother_age = slots[-1].age if spouse_sex == _F else head_age
    if len(slots) < size and head_age < 50 and rng.random() < 0.2:
        for relation, sex in ((FATHER, _M), (MOTHER, _F))[rng.randrange(2) :]:
            if len(slots) < size:
                slots.append(_Slot(relation, sex, min(95, head_age + rng.randint(22, 32))))
    if head_age >= 55 and size - len(slots) >= 2 and rng.random() < 0.6:
        # Three generations: a grown-up child lives with the head, and so do the grandchildren.
        adult_child = max(18, mother_age - rng.randint(20, 32))
        slots.append(_Slot(CHILD, rng.choice((_M, _F)), adult_child))
        while len(slots) < size:
            slots.append(_Slot(GRANDCHILD, rng.choice((_M, _F)), rng.randint(0, max(0, adult_child - 19))))
    while len(slots) < size:
        gap = rng.randint(18, min(42, max(18, mother_age)))
        slots.append(_Slot(CHILD, rng.choice((_M, _F)), max(0, mother_age - gap)))
    return slots


def _birth_date(rng: random.Random, age: int) -> date:
    return REFERENCE_DAY.replace(year=REFERENCE_DAY.year - age) - timedelta(days=rng.randrange(1, 365))


def _occupation(rng: random.Random, age: int) -> str:
    """Pupils of school age, workers for most adults; officials are appointed later, with their organisation."""
    if 6 <= age <= 17:
        return OccupationGroup.PUPIL.value if rng.random() < 0.95 else OccupationGroup.OTHER.value
    if age < 6:
        return OccupationGroup.OTHER.value
    if age <= 22 and rng.random() < 0.2:
        return OccupationGroup.PUPIL.value  # vocational school, college, university
    if age <= 60:
        return OccupationGroup.WORKER.value if rng.random() < 0.9 else OccupationGroup.OTHER.value
    return OccupationGroup.WORKER.value if rng.random() < 0.25 else OccupationGroup.OTHER.value


class _IdNumbers:
    """Realistic, unique 12-digit personal ID numbers: province of birth, sex and century, year, 6 digits."""

    def __init__(self) -> None:
        self._used: set[int] = set()

    def issue(self, rng: random.Random, birth: date, sex: str, ethnicity: str) -> str:
        migrant = ethnicity == KINH and birth.year < 1990 and rng.random() < 0.5
        province = rng.choice(_BIRTH_PROVINCES) if migrant else "062"
        century_sex = (0 if birth.year < 2000 else 2) + (sex == _F)
        while True:
            number = f"{province}{century_sex}{birth.year % 100:02d}{rng.randrange(1_000_000):06d}"
            if int(number) not in self._used:
                self._used.add(int(number))
                return number


def _population(
    rng: random.Random, plan: CommunePlan, villages: list[_Village], ids: IdAllocator, id_numbers: _IdNumbers
) -> list[_Household]:
    peoples, weights = zip(*plan.peoples, strict=True)
    households = []
    for village in villages:
        for number in range(1, village.households + 1):
            minority = rng.random() < village.minority_share
            ethnicity = rng.choices(peoples, weights=weights)[0] if minority else KINH
            size = rng.choices(_SIZES, cum_weights=_CUM_SIZE_WEIGHTS[minority])[0]
            households.append(_household(rng, village, number, ethnicity, _compose(rng, size), ids, id_numbers))
    return households


def _household(
    rng: random.Random,
    village: _Village,
    number: int,
    ethnicity: str,
    slots: list[_Slot],
    ids: IdAllocator,
    id_numbers: _IdNumbers,
) -> _Household:
    naming = _naming(rng, ethnicity)
    head_family = naming.family(rng)
    has_spouse = len(slots) > 1 and slots[1].relation in (WIFE, HUSBAND)
    spouse_family = naming.family(rng) if has_spouse else ""
    # Children carry the father's family name, or the mother's among the matrilineal Gia Rai.
    head_passes_name = not has_spouse or (slots[0].sex == _F) == naming.matrilineal
    line, other = (head_family, spouse_family) if head_passes_name else (spouse_family, head_family)
    family_of = {
        HEAD: head_family,
        WIFE: spouse_family,
        HUSBAND: spouse_family,
        CHILD: line,
        GRANDCHILD: line,
        FATHER: head_family,
    }
    clans = list(dict.fromkeys(f for f in (line, other) if f))
    household = _Household(ids.take(Household), village, number, [], clans)
    for slot in slots:
        family = family_of.get(slot.relation) or naming.family(rng)
        birth = _birth_date(rng, slot.age)
        adult = slot.age >= 18
        household.members.append(
            _Resident(
                id=ids.take(Person),
                household_id=household.id,
                village_id=village.id,
                relation=slot.relation,
                sex=slot.sex,
                age=slot.age,
                birth_date=birth,
                full_name=naming.full_name(rng, ethnicity, slot.sex, family),
                ethnicity=ethnicity,
                occupation=_occupation(rng, slot.age),
                id_number=id_numbers.issue(rng, birth, slot.sex, ethnicity) if adult and rng.random() < 0.5 else None,
                phone=_phone(rng) if adult and slot.age <= 65 and rng.random() < 0.55 else None,
            )
        )
    return household


def _phone(rng: random.Random) -> str:
    return f"{rng.choice(_PHONE_PREFIXES)}{rng.randrange(10_000_000):07d}"


def _household_row(household: _Household, plan: CommunePlan, made_at: datetime) -> Row:
    village = household.village
    return {
        "id": household.id,
        "village_id": village.id,
        "code": f"{village.code}-{household.number:04d}",
        "address": f"{village.kind} {village.name}, {plan.address_suffix}",
        "created_at": made_at,
        "updated_at": made_at,
    }


_NO_ID_NUMBER: Row = {"id_number_hash": None, "id_number_encrypted": None, "id_number_hint": None}


@lru_cache(maxsize=65_536)
def _person_name_keys(full_name: str) -> tuple[str, str]:
    """Search and sort keys of a name. Cached because names repeat a lot ("A Thịnh" across the province) and the
    collation key is the costliest part of a person row."""
    return fold(full_name), person_sort_key(full_name)


def _person_row(resident: _Resident, made_at: datetime) -> Row:
    name_folded, sort_key = _person_name_keys(resident.full_name)
    return {
        "id": resident.id,
        "full_name": resident.full_name,
        "name_folded": name_folded,
        "sort_key": sort_key,
        "birth_date": resident.birth_date,
        "sex": resident.sex,
        "ethnicity": resident.ethnicity,
        "occupation_group": resident.occupation,
        "household_id": resident.household_id,
        "relation_to_head": resident.relation,
        "unit_id": resident.village_id,
        "phone": resident.phone,
        "created_at": made_at,
        "updated_at": made_at,
        **(protected_fields(resident.id_number) if resident.id_number else _NO_ID_NUMBER),
    }


# --- clans ------------------------------------------------------------------------------------------------------

_CLAN_MIN_HOUSEHOLDS = 3


def _clans(
    rng: random.Random, plan: CommunePlan, households: list[_Household], ids: IdAllocator
) -> tuple[list[Row], list[Row]]:
    """A clan ("dòng họ") per family name with a few households in a village; many households join their own
    line's clan, some also the spouse's."""
    by_key: dict[tuple[int, str], list[_Household]] = defaultdict(list)
    for household in households:
        if household.clans:
            by_key[(household.village.id, household.clans[0])].append(household)
    clan_ids: dict[tuple[int, str], int] = {}
    clans = []
    for (village_id, family), members in by_key.items():
        if len(members) < _CLAN_MIN_HOUSEHOLDS:
            continue
        village = members[0].village
        name = f"Dòng họ {family} {village.kind.lower()} {village.name}"
        clan_ids[(village_id, family)] = ids.take(Clan)
        clans.append(
            {
                "id": clan_ids[(village_id, family)],
                "commune_id": plan.id,
                "name": name,
                "name_folded": fold(name),
                "sort_key": collation_key(name),
            }
        )
    links = []
    for household in households:
        for rank, family in enumerate(household.clans):
            joined = clan_ids.get((household.village.id, family))
            if joined is not None and rng.random() < (0.7 if rank == 0 else 0.15):
                links.append({"clan_id": joined, "household_id": household.id})
    return clans, links


# --- organisations, the association, the centre ----------------------------------------------------------------


@dataclass(frozen=True)
class _OrgSpec:
    code: str
    name: str
    kind: str
    managing_level: str
    staff: int
    positions: tuple[str, ...]  # the leader, the deputy, then everybody else
    officials: bool  # staff are public officials (agencies, public services, schools)


def _clamp(value: float, low: int, high: int) -> int:
    return int(min(high, max(low, round(value))))


_SCHOOL_PATRONS = (
    "Lê Lợi",
    "Nguyễn Huệ",
    "Trần Phú",
    "Võ Thị Sáu",
    "Kim Đồng",
    "Phan Chu Trinh",
    "Lý Tự Trọng",
    "Nguyễn Du",
    "Hùng Vương",
    "Quang Trung",
    "Chu Văn An",
    "Nguyễn Bỉnh Khiêm",
    "Hoa Mai",
    "Họa Mi",
    "Anh Đào",
    "Sơn Ca",
    "Ngô Mây",
    "Nguyễn Trãi",
    "Lê Quý Đôn",
    "Trần Quốc Toản",
)
_TRADES = ("Cà phê", "Cao su", "Sâm Ngọc Linh", "Chế biến nông sản", "Xây dựng", "Vận tải", "Dược liệu", "Gỗ")
_BRANDS = (
    "Tây Nguyên",
    "Ngọc Linh",
    "Đăk Bla",
    "Hưng Thịnh",
    "Phú An",
    "Kon Tum Xanh",
    "Măng Đen",
    "Sao Mai",
    "Trường Thành",
    "An Phát",
)
_SCHOOL_LEVELS = (("MN", "Trường Mầm non", 1500), ("TH", "Trường Tiểu học", 1300), ("THCS", "Trường THCS", 3000))


def _organisation_specs(rng: random.Random, plan: CommunePlan) -> list[_OrgSpec]:
    """The People's Committee, the police, the health station, schools, a cooperative and a few enterprises,
    staffed in proportion to the commune's size."""
    hh, place = plan.households, f"{plan.kind.lower()} {plan.name}"
    agency, public, school, enterprise = (
        OrganisationKind.AGENCY.value,
        OrganisationKind.PUBLIC_SERVICE.value,
        OrganisationKind.SCHOOL.value,
        OrganisationKind.ENTERPRISE.value,
    )
    commune_level, province_level = ManagingLevel.COMMUNE.value, ManagingLevel.PROVINCE.value
    specs = [
        _OrgSpec(
            "UBND",
            f"Ủy ban nhân dân {place}",
            agency,
            commune_level,
            _clamp(hh / 150, 5, 35),
            ("Chủ tịch", "Phó Chủ tịch", "Phó Chủ tịch", "Công chức"),
            officials=True,
        ),
        _OrgSpec(
            "CA",
            f"Công an {place}",
            agency,
            province_level,
            _clamp(hh / 300, 3, 15),
            ("Trưởng Công an", "Phó Trưởng Công an", "Cán bộ"),
            officials=True,
        ),
        _OrgSpec(
            "TYT",
            f"Trạm Y tế {place}",
            public,
            commune_level,
            _clamp(hh / 500, 3, 10),
            ("Trạm trưởng", "Y sĩ", "Nhân viên y tế"),
            officials=True,
        ),
    ]
    schools = [(prefix, label, max(1, round(hh / per))) for prefix, label, per in _SCHOOL_LEVELS]
    teachers = max(3, round(hh / 20 / sum(n for *_, n in schools)))
    patrons = rng.sample(_SCHOOL_PATRONS, len(_SCHOOL_PATRONS))
    for prefix, label, count in schools:
        for number in range(1, count + 1):
            patron = patrons.pop() if patrons else f"số {number} {plan.name}"
            specs.append(
                _OrgSpec(
                    f"{prefix}-{number}",
                    f"{label} {patron}",
                    school,
                    commune_level,
                    teachers,
                    ("Hiệu trưởng", "Phó Hiệu trưởng", "Giáo viên"),
                    officials=True,
                )
            )
    specs.append(
        _OrgSpec(
            "HTX-1",
            f"Hợp tác xã Nông nghiệp {plan.name}",
            enterprise,
            commune_level,
            _clamp(hh / 60, 5, 80),
            ("Giám đốc", "Phó Giám đốc", "Thành viên"),
            officials=False,
        )
    )
    names = {f"Công ty TNHH {trade} {brand}" for trade in _TRADES for brand in _BRANDS}
    for number, name in enumerate(rng.sample(sorted(names), max(1, hh // 1200)), start=1):
        specs.append(
            _OrgSpec(
                f"DN-{number}",
                name,
                enterprise,
                province_level,
                _clamp(hh / 120, 4, 40),
                ("Giám đốc", "Phó Giám đốc", "Người lao động"),
                officials=False,
            )
        )
    return specs


def _pick(rng: random.Random, pool: Sequence[_Resident], count: int, taken: set[int]) -> list[_Resident]:
    """``count`` residents of ``pool`` not yet ``taken`` (fewer if the pool runs out); marks them taken."""
    free = [r for r in pool if r.id not in taken]
    chosen = rng.sample(free, min(count, len(free)))
    taken.update(r.id for r in chosen)
    return chosen


@dataclass
class _KeyPeople:
    """Who holds the posts that the association, the centre's board and the demo logins refer to."""

    committee: list[_Resident] = field(default_factory=list)  # chair, vice-chairs
    principals: list[_Resident] = field(default_factory=list)
    teachers: list[_Resident] = field(default_factory=list)
    association_chair: _Resident | None = None
    association_vice_chairs: list[_Resident] = field(default_factory=list)
    village_chairs: list[_Resident] = field(default_factory=list)


def _organisations(
    rng: random.Random, plan: CommunePlan, residents: list[_Resident], ids: IdAllocator, key: _KeyPeople
) -> Iterator[tuple[Target, list[Row]]]:
    """Organisations and their staff. Staff of agencies, public services and schools become officials."""
    working_age = [r for r in residents if 23 <= r.age <= 58]
    taken: set[int] = set()
    for spec in _organisation_specs(rng, plan):
        org_id = ids.take(Organisation)
        yield (
            Organisation,
            [
                {
                    "id": org_id,
                    "commune_id": plan.id,
                    "code": spec.code,
                    "name": spec.name,
                    "name_folded": fold(spec.name),
                    "sort_key": collation_key(spec.name),
                    "kind": spec.kind,
                    "managing_level": spec.managing_level,
                    "address": plan.address_suffix,
                }
            ],
        )
        staff = _pick(rng, working_age, spec.staff, taken)
        members = []
        for rank, person in enumerate(staff):
            person.occupation = (OccupationGroup.OFFICIAL if spec.officials else OccupationGroup.WORKER).value
            position = spec.positions[min(rank, len(spec.positions) - 1)]
            # The People's Committee of a merged commune took office with the commune itself.
            started = plan.valid_from if spec.code == "UBND" else date(rng.randint(2000, 2024), rng.randint(1, 12), 1)
            members.append(
                {
                    "id": ids.take(OrganisationMember),
                    "organisation_id": org_id,
                    "person_id": person.id,
                    "position": position,
                    "started_on": started,
                    "ended_on": None,
                }
            )
        yield OrganisationMember, members
        if spec.code == "UBND":
            key.committee = staff[:3]
        elif spec.kind == OrganisationKind.SCHOOL:
            key.principals.extend(staff[:1])
            key.teachers.extend(staff[2:3])


def _association(
    rng: random.Random,
    plan: CommunePlan,
    villages: list[_Village],
    residents: list[_Resident],
    ids: IdAllocator,
    key: _KeyPeople,
) -> list[Row]:
    """The commune branch of the Hội Khuyến học (chair, two vice-chairs, officers), formed anew after the July
    2025 merger, and a branch per village (a chair and about a third of the adults as members)."""
    adults = [r for r in residents if r.age >= 18]
    officials = [r for r in adults if r.occupation == OccupationGroup.OFFICIAL]
    taken: set[int] = set()
    key.association_chair = next(iter(_pick(rng, [r for r in adults if 50 <= r.age <= 70], 1, taken)), None)
    key.association_vice_chairs = _pick(rng, officials, 1, taken) + _pick(
        rng, [r for r in adults if 35 <= r.age <= 65], 1, taken
    )
    officers = _pick(rng, officials, rng.randint(1, 3), taken) + _pick(
        rng, [r for r in adults if 25 <= r.age <= 60], rng.randint(2, 4), taken
    )
    formed = date(2025, 8, rng.randint(1, 28))
    rows = [
        _membership(ids, person, plan.id, role, formed)
        for person, role in ([(key.association_chair, AssociationRole.CHAIR)] if key.association_chair else [])
        + [(p, AssociationRole.VICE_CHAIR) for p in key.association_vice_chairs]
        + [(p, AssociationRole.OFFICER) for p in officers]
    ]
    by_village: dict[int, list[_Resident]] = defaultdict(list)
    for person in adults:
        by_village[person.village_id].append(person)
    for village in villages:
        villagers = by_village[village.id]
        chairs = _pick(rng, [r for r in villagers if 35 <= r.age <= 70], 1, set())
        key.village_chairs.extend(chairs)
        rows.extend(
            _membership(
                ids, person, village.id, AssociationRole.CHAIR, date(rng.randint(2020, 2024), rng.randint(1, 12), 1)
            )
            for person in chairs
        )
        rows.extend(
            _membership(
                ids, person, village.id, AssociationRole.MEMBER, date(rng.randint(2008, 2025), rng.randint(1, 8), 1)
            )
            for person in villagers
            if person not in chairs and rng.random() < 0.3
        )
    return rows


def _membership(ids: IdAllocator, person: _Resident, unit_id: int, role: AssociationRole, started: date) -> Row:
    return {
        "id": ids.take(AssociationMembership),
        "person_id": person.id,
        "unit_id": unit_id,
        "role": role.value,
        "started_on": started,
        "ended_on": None,
    }


@dataclass
class _Board:
    director: _Resident | None
    deputies: list[_Resident]
    members: list[_Resident]


def _board(rng: random.Random, key: _KeyPeople) -> _Board:
    """A vice-chair of the People's Committee directs the centre; one deputy is the association's chair or a
    vice-chair, often joined by a school principal; two village branch chairs sit on the board."""
    director = key.committee[1] if len(key.committee) > 1 else next(iter(key.committee), None)
    association = [p for p in (key.association_chair, *key.association_vice_chairs) if p is not None]
    deputies = [association[0] if rng.random() < 0.6 else rng.choice(association)] if association else []
    principal = next(iter(key.principals), None)
    if principal is not None and principal not in deputies and principal is not director and rng.random() < 0.6:
        deputies.append(principal)
    seated = {p.id for p in (director, *deputies) if p is not None}
    candidates = [p for p in key.village_chairs if p.id not in seated]
    return _Board(director, deputies, rng.sample(candidates, min(2, len(candidates))))


def _centre(rng: random.Random, plan: CommunePlan, ids: IdAllocator, board: _Board) -> tuple[Row, list[Row]]:
    """The commune's CLC, re-established after the merger (Decree 142/2025), and its board."""
    name = f"Trung tâm học tập cộng đồng {plan.kind.lower()} {plan.name}"
    established = date(2025, rng.randint(7, 9), rng.randint(1, 28))
    centre = {
        "id": ids.take(Clc),
        "commune_id": plan.id,
        "name": name,
        "name_folded": fold(name),
        "sort_key": collation_key(name),
        "address": plan.address_suffix,
        "established_on": established,
    }
    seats = (
        [(board.director, BoardRole.DIRECTOR)]
        + [(p, BoardRole.DEPUTY_DIRECTOR) for p in board.deputies]
        + [(p, BoardRole.MEMBER) for p in board.members]
    )
    return centre, [
        {
            "id": ids.take(BoardMembership),
            "clc_id": centre["id"],
            "person_id": person.id,
            "role": role.value,
            "started_on": established,
            "ended_on": None,
        }
        for person, role in seats
        if person is not None
    ]


def _login_people(key: _KeyPeople, board: _Board) -> dict[str, int]:
    """The persons the demo users of a commune stand for, by role value (see ``lms.registry.demo_cli``): the
    centre manager is the deputy director who runs it day to day, else its director."""
    manager = board.deputies[-1] if board.deputies else board.director
    people = {
        "commune_leader": next(iter(key.committee), None),
        "centre_manager": manager,
        "instructor": next(iter(key.teachers), None),
        "association_officer": key.association_chair,
    }
    return {role: person.id for role, person in people.items() if person is not None}


# --- one commune, then the whole plan ---------------------------------------------------------------------------


@dataclass
class GenerationContext:
    """State shared by the communes of one run: the ids, the ID numbers issued so far, the load's timestamp;
    and what the run found out: the persons behind each commune's demo logins."""

    ids: IdAllocator
    id_numbers: _IdNumbers = field(default_factory=_IdNumbers)
    made_at: datetime = field(default_factory=utcnow)
    login_people: dict[str, dict[str, int]] = field(default_factory=dict)


def _commune_rows(seed: int, plan: CommunePlan, ctx: GenerationContext) -> Iterator[tuple[Target, Iterable[Row]]]:
    """Every row of one commune, parents first. Each commune draws from its own random stream, so a commune's
    population does not depend on which other communes are generated with it."""
    rng = random.Random(f"lms-demo/{seed}/{plan.code}")  # noqa: S311 - reproducible on purpose, never secret
    villages = _villages(rng, plan, ctx.ids)
    yield AdminUnit, [_village_row(v, plan) for v in villages]
    households = _population(rng, plan, villages, ctx.ids, ctx.id_numbers)
    yield Household, [_household_row(h, plan, ctx.made_at) for h in households]
    clans, links = _clans(rng, plan, households, ctx.ids)
    yield Clan, clans
    yield clan_household, links
    residents = [person for household in households for person in household.members]
    key = _KeyPeople()
    organisations = list(_organisations(rng, plan, residents, ctx.ids, key))  # appoints the officials, so it
    memberships = _association(rng, plan, villages, residents, ctx.ids, key)  # runs before persons are written
    board = _board(rng, key)
    centre, seats = _centre(rng, plan, ctx.ids, board)
    ctx.login_people[plan.code] = _login_people(key, board)
    yield Person, (_person_row(r, ctx.made_at) for r in residents)  # built lazily: the ID numbers' encryption
    yield from organisations
    yield AssociationMembership, memberships
    yield Clc, [centre]
    yield BoardMembership, seats


def generate_rows(plan: DemoPlan, ctx: GenerationContext) -> Iterator[tuple[Target, Iterable[Row]]]:
    """The rows of ``plan``, commune by commune, with ids from ``ctx``. Touches no database; needs an app
    context for the ID-number keys."""
    for commune in plan.communes:
        yield from _commune_rows(plan.seed, commune, ctx)


# --- ids, batches, the load -------------------------------------------------------------------------------------


def _table(target: Target) -> Table:
    return target if isinstance(target, Table) else target.__table__  # type: ignore[return-value]


class IdAllocator:
    """Explicit primary keys, handed out above each table's maximum; remembers the range each table got."""

    def __init__(self, start_after: dict[str, int]) -> None:
        self._first = {name: last + 1 for name, last in start_after.items()}
        self._next = dict(self._first)

    @classmethod
    def from_database(cls) -> IdAllocator:
        """One statement reads the maximum id of every table the load writes."""
        tables = [_table(t) for t in _TARGETS if "id" in _table(t).c]
        maxima = db.session.execute(
            select(*(select(func.coalesce(func.max(t.c.id), 0)).scalar_subquery() for t in tables))
        ).one()
        return cls(dict(zip((t.name for t in tables), maxima, strict=True)))

    def take(self, target: Target) -> int:
        name = _table(target).name
        value = self._next[name]
        self._next[name] = value + 1
        return value

    def ranges(self) -> dict[str, list[int]]:
        """``{table: [first, last]}`` for every table that got ids."""
        return {name: [first, self._next[name] - 1] for name, first in self._first.items() if self._next[name] > first}


@dataclass
class LoadStats:
    """What a load wrote, and where the time went (seconds spent in each table's INSERTs)."""

    rows: Counter[str] = field(default_factory=Counter)
    insert_seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


class _BatchWriter:
    """Buffers rows per table and sends them as multi-row INSERTs of ``batch_size`` rows. A full buffer is
    flushed together with the buffers of every table before it, so a row never reaches the database before the
    row it refers to."""

    def __init__(self, batch_size: int, stats: LoadStats, on_households: Callable[[int], None]) -> None:
        self._batch_size = batch_size
        self._stats = stats
        self._on_households = on_households
        self._buffers: dict[Target, list[Row]] = {target: [] for target in _TARGETS}

    def add(self, target: Target, rows: Iterable[Row]) -> None:
        buffer = self._buffers[target]
        for row in rows:
            buffer.append(row)
            if len(buffer) >= self._batch_size:
                self.flush(through=target)
                buffer = self._buffers[target]

    def flush(self, through: Target | None = None) -> None:
        for target in _TARGETS:
            self._insert(target)
            if target is through:
                return

    def _insert(self, target: Target) -> None:
        rows = self._buffers[target]
        if not rows:
            return
        self._buffers[target] = []
        # A Core INSERT of the table, not the ORM's bulk INSERT of the model: the rows are complete already, and
        # the ORM's per-row bookkeeping costs ~40 % more client time (it also leaves NULL columns out, splitting
        # rows with and without, say, an ID number into separate statements).
        table = _table(target)
        started = perf_counter()
        db.session.execute(insert(table), rows)
        name = table.name
        self._stats.insert_seconds[name] += perf_counter() - started
        self._stats.rows[name] += len(rows)
        if target is Household:
            self._on_households(self._stats.rows[name])


def load_demo_data(
    plan: DemoPlan, *, progress: ProgressCallback | None = None, batch_size: int = BATCH_SIZE
) -> LoadStats:
    """Generate ``plan`` and insert it in batches; an audit event marks the data as demo data (and records the
    id ranges, so ``remove_demo_data`` can take it out again).

    Refuses when demo data already exists. Flushes; the caller commits.
    """
    if demo_marker() is not None:
        raise DemoError("demo data already exists in this database")
    _refuse_village_code_clash(plan)
    started = perf_counter()
    stats = LoadStats()
    report = progress or (lambda done, total: None)
    writer = _BatchWriter(batch_size, stats, lambda done: report(done, plan.households))
    ctx = GenerationContext(IdAllocator.from_database())
    for target, rows in generate_rows(plan, ctx):
        writer.add(target, rows)
    writer.flush()
    id_ranges = ctx.ids.ranges()
    _sync_sequences(_table(t) for t in _TARGETS if _table(t).name in id_ranges)
    audit(
        GENERATE_ACTION,
        object_type="demo_data",
        object_id=str(plan.seed),
        seed=plan.seed,
        scale=plan.scale.name,
        communes=[c.code for c in plan.communes],
        rows=dict(stats.rows),
        id_ranges=id_ranges,
        login_people=ctx.login_people,
    )
    db.session.flush()
    report(plan.households, plan.households)
    stats.seconds = perf_counter() - started
    return stats


def _refuse_village_code_clash(plan: DemoPlan) -> None:
    codes = [code for commune in plan.communes for code in _village_codes(commune)]
    clash = db.session.scalar(
        select(AdminUnit.code)
        .where(AdminUnit.level == UnitLevel.VILLAGE, AdminUnit.valid_to.is_(None), AdminUnit.code.in_(codes))
        .limit(1)
    )
    if clash is not None:
        raise DemoError(f"a current village already has the code {clash} that the demo data would use")


def _sync_sequences(tables: Iterable[Table]) -> None:
    """Move PostgreSQL's id sequences past the ids assigned here, so later ORM inserts get fresh ones.

    SQLite needs nothing: a rowid table takes max(rowid) + 1 by itself.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(
            select(
                func.setval(
                    func.pg_get_serial_sequence(table.name, "id"), select(func.max(table.c.id)).scalar_subquery()
                )
            )
        )


# --- finding and removing demo data -----------------------------------------------------------------------------


def demo_marker() -> AuditEvent | None:
    """The audit event of the demo data in this database, or None when there is none (or it was removed)."""
    latest = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action.in_((GENERATE_ACTION, REMOVE_ACTION)))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    return latest if latest is not None and latest.action == GENERATE_ACTION else None


def remove_demo_data() -> dict[str, int]:
    """Delete the rows the last demo load wrote (by the id ranges it recorded), children first.

    Rows added since under demo villages or referring to demo persons make it fail with an IntegrityError
    rather than leave orphans. Flushes; the caller commits.
    """
    marker = demo_marker()
    if marker is None:
        raise DemoError("there is no demo data to remove")
    ranges: dict[str, list[int]] = marker.details["id_ranges"]
    deleted: dict[str, int] = {}
    for target in reversed(_TARGETS):
        table = _table(target)
        key = "clan" if table is clan_household else table.name
        if key not in ranges:
            continue
        column = table.c.clan_id if table is clan_household else table.c.id
        first, last = ranges[key]
        result = db.session.execute(delete(table).where(column.between(first, last)))
        deleted[table.name] = cast(CursorResult[Any], result).rowcount
    audit(REMOVE_ACTION, object_type="demo_data", object_id=marker.object_id, rows=deleted)
    db.session.flush()
    return deleted
