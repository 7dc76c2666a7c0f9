"""Configuration files an administrator may replace (``LMS_REPORT_ISSUERS_FILE``, ``LMS_TITLES_APPROVALS_FILE``):
read, and their mistakes reported with the file, the section and the line, so that the app refuses to start rather
than failing with a 500 on the first page that reads the file (``create_app`` checks them; ``flask check-config``
checks a file before an administrator points the setting at it)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any


class ConfigFileError(ValueError):
    """A configuration file is missing or malformed: the message names the file, the section, the line and what is
    wrong."""


def modified(path: str | Path) -> float:
    """When the file was last changed, the key under which its parsed content is cached (a replaced file is read
    again); 0 for a missing file, whose reader then says which setting names it."""
    try:
        return Path(path).stat().st_mtime
    except OSError:
        return 0.0


def read_toml(path: str | Path, setting: str) -> tuple[dict[str, Any], str]:
    """The parsed file and its text. ``setting`` is the environment variable that names the file, quoted when the file
    is missing so the administrator knows what to correct."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigFileError(f"{path}: no such file (set by {setting}, or the shipped default)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: cannot be read ({exc})") from exc
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message carries "(at line N, column M)".
        raise ConfigFileError(f"{path}: not valid TOML: {exc}") from exc


def section_line(text: str, section: str, key: str | None = None) -> int | None:
    """The line (from 1) of ``[section]``'s header in ``text`` or, with ``key``, of ``key = …`` inside that section;
    None where the file does not write it so (an inline table, a dotted key)."""
    header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(re.escape(p) for p in section.split(".")) + r"\s*\]\s*(#.*)?$")
    lines = text.splitlines()
    start = next((number for number, line in enumerate(lines, 1) if header.match(line)), None)
    if start is None or key is None:
        return start
    assignment = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for number, line in enumerate(lines[start:], start + 1):
        if re.match(r"^\s*\[", line):
            break
        if assignment.match(line):
            return number
    return start


def where(path: str | Path, text: str, section: str, key: str | None = None) -> str:
    """ "…/issuers.toml, line 12 [commune]": where a mistake is, for its message."""
    line = section_line(text, section, key)
    return f"{path}{f', line {line}' if line else ''} [{section}]"
