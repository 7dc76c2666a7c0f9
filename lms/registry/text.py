"""Vietnamese text: diacritic-insensitive search keys and Vietnamese collation keys.

Neither SQLite nor a default PostgreSQL install collates Vietnamese correctly, and neither folds diacritics in
an indexable way, so both keys are computed here, stored next to the name, and indexed.
"""

from __future__ import annotations

import unicodedata

# Vietnamese alphabet order; letters with a vowel-quality mark (ă â đ ê ô ơ ư) are letters of their own.
_ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_RANK = {letter: index for index, letter in enumerate(_ALPHABET)}
# The five tone marks as combining characters, in the order dictionaries use: ngang (none), huyền, hỏi, ngã,
# sắc, nặng.
_TONES = {"\u0300": "1", "\u0309": "2", "\u0303": "3", "\u0301": "4", "\u0323": "5"}
# Combining marks that make a new letter (breve, circumflex, horn) rather than a tone.
_QUALITY = {"\u0306", "\u0302", "\u031b"}


def fold(text: str) -> str:
    """Lower case without any diacritics, đ → d: ``fold("Nguyễn Thị Đào") == "nguyen thi dao"``."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    # Neither the marks nor control characters (a NUL in a search was a 500 on PostgreSQL); spaces are split below.
    stripped = "".join(
        ch for ch in decomposed if not unicodedata.combining(ch) and (ch.isspace() or unicodedata.category(ch) != "Cc")
    )
    return " ".join(stripped.split())


def stored_name(text: str) -> str:
    """A name as it is stored: composed (NFC), one space between its words and none around (ADR 58)."""
    return unicodedata.normalize("NFC", " ".join(text.split()))


def name_keys(name: str, *, person: bool = False) -> tuple[str, str, str]:
    """``(stored name, search key, sort key)`` of a name: what an ORM write keeps (``registry.models._Named``), what a
    bulk write and a data migration compute. A person's sort key starts at the given name (:func:`person_sort_key`)."""
    name = stored_name(name)
    return name, fold(name), person_sort_key(name) if person else collation_key(name)


def _split_letter(ch: str) -> tuple[str, str]:
    """One precomposed character → (base letter with its quality mark, tone digit)."""
    decomposed = unicodedata.normalize("NFD", ch)
    base = decomposed[0]
    tone = "0"
    quality = ""
    for mark in decomposed[1:]:
        if mark in _TONES:
            tone = _TONES[mark]
        elif mark in _QUALITY:
            quality += mark
    return unicodedata.normalize("NFC", base + quality), tone


def collation_key(text: str) -> str:
    """A key whose plain binary order is Vietnamese dictionary order.

    Primary: letters in the Vietnamese alphabet (a < ă < â < b … d < đ …), case-insensitive; secondary (only
    when the letters tie): tones in dictionary order. Spaces sort before every letter, so "An" < "Anh".
    """
    primary: list[str] = []
    secondary: list[str] = []
    for ch in unicodedata.normalize("NFC", text.casefold().strip()):
        if ch.isspace():
            if primary and primary[-1] != "!":
                primary.append("!")
            continue
        letter, tone = _split_letter(ch)
        if letter in _RANK:
            primary.append(chr(0x41 + _RANK[letter]))
            secondary.append(tone)
        elif letter.isdigit():
            primary.append(letter)
        else:
            primary.append('"')
    return "".join(primary) + " " + "".join(secondary)


def person_sort_key(full_name: str) -> str:
    """Vietnamese lists sort people by given name (the last word), then by family and middle names."""
    words = full_name.split()
    reordered = words[-1:] + words[:-1]
    return collation_key(" ".join(reordered))


#: The name an erased person is stored under (ADR 57): stored text, so every list of every part shows it as it is.
ERASED_NAME = "[Đã xóa dữ liệu cá nhân]"


def initials_name(full_name: str) -> str:
    """Family and middle names reduced to initials: ``"Nguyễn Văn An"`` → ``"N. V. An"``. Enough for someone who
    knows the holder to recognise them (public verification pages); not enough to find them in a register. An erased
    person's placeholder is given whole (not "[. X. D. L. C. nhân]")."""
    words = full_name.split()
    if len(words) <= 1 or full_name == ERASED_NAME:
        return full_name.strip()
    return " ".join([*(f"{w[0].upper()}." for w in words[:-1]), words[-1]])
