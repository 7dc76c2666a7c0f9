"""The one legend of attendance codes: what the attendance book prints, what the blank sheet offers and what the
paper-sheet importer accepts (ADR 19).

Every code is written with the letter printed in the legend; a cell may also hold one of the other spellings the
legend names or the status's Vietnamese name, in upper or lower case, with or without diacritics. Nothing else is
accepted: a cell the legend does not explain is refused, never guessed.

"P" means present because the books printed until now said "P = Có mặt" and paper sheets were filled from them;
an importer that read it as "có phép" turned a class's attendance into excused absences.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lms.registry.text import fold


@dataclass(frozen=True)
class Code:
    status: str  # the attendance_status code
    letter: str  # printed in the book and offered by the blank sheet's drop-down
    name_vi: str
    also: tuple[str, ...] = ()  # other spellings the legend names

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.letter, *self.also)


# Letters of the default statuses; a status added to the table later is written with its own code.
LETTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "present": ("P", ("x",)),
    "late": ("M", ()),  # muộn
    "excused": ("CP", ()),  # có phép
    "absent": ("V", ("K",)),  # vắng, không phép
}


def legend(statuses: Iterable) -> list[Code]:
    """The codes of the configured statuses (``AttendanceStatus`` rows, in their order)."""
    return [
        Code(s.code, LETTERS.get(s.code, (s.code, ()))[0], s.name_vi, LETTERS.get(s.code, (s.code, ()))[1])
        for s in statuses
    ]


def legend_text(codes: list[Code]) -> str:
    """The legend as printed: "P hoặc x = Có mặt; M = Đi muộn; …"."""
    return "; ".join(f"{' hoặc '.join(code.spellings)} = {code.name_vi}" for code in codes)


def letters(codes: list[Code]) -> dict[str, str]:
    """Status → the letter printed for it."""
    return {code.status: code.letter for code in codes}


def reader(codes: list[Code]) -> dict[str, str]:
    """Folded spelling (lower case, no diacritics) → status: exactly what the legend says, nothing more."""
    lookup: dict[str, str] = {}
    for code in codes:
        for spelling in (*code.spellings, code.name_vi):
            lookup.setdefault(fold(spelling), code.status)
    return lookup
