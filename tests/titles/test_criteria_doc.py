"""docs/criteria.md lists every indicator of every shipped criteria set, with its clause or why it is provisional,
and is exactly what the files say today (``make criteria-doc`` rewrites it)."""

from __future__ import annotations

from pathlib import Path

from lms.titles import criteria, criteria_doc

DOC = Path(__file__).parents[2] / "docs" / "criteria.md"


def test_the_document_is_what_the_criteria_files_say():
    assert DOC.read_text(encoding="utf-8") == criteria_doc.render(), (
        "docs/criteria.md is out of date: run `make criteria-doc`"
    )


def test_every_indicator_of_every_shipped_set_has_a_row_with_its_clause_or_why_it_is_provisional():
    text = DOC.read_text(encoding="utf-8")
    paths = sorted(criteria.SHIPPED_DIR.glob("*.toml"))
    assert len(paths) >= 7
    for path in paths:
        definition = criteria.parse(criteria.read_toml(path))
        section = text.split(f"`{definition.code}`", 1)[1].split("\n## ", 1)[0]
        for indicator in definition.indicators:
            row = next(line for line in section.splitlines() if line.startswith(f"| {indicator.code} |"))
            assert " ".join(indicator.source_ref.split()) in row
            if indicator.provisional:
                assert "**provisional**: " in row
                assert " ".join(indicator.source_en.split()) in row.replace("\\|", "|")
            else:
                assert row.endswith("| from the text |")


def test_the_document_says_at_which_level_and_of_whom_an_indicator_is_asked() -> None:
    """Circular 24, Art. 6.3.c / 7.3.c: the award is asked of every unit at level 1, of district public bodies (and
    every province-level unit) at level 2; the table says so, not just "met / not met"."""
    from lms.titles.criteria_doc import render

    unit = render().split("`tt-24-2023-unit`", 1)[1].split("\n## ", 1)[0]
    rows = {line.split(" | ")[0]: line for line in unit.splitlines() if line.startswith("| t3.3")}
    assert "level 1 only" in rows["| t3.3"]
    assert "level 2 only" in rows["| t3.3b"]
    assert "asked of managed at province or agency/commune_committee" in rows["| t3.3b"]
    assert "met when t3.3 is met" in rows["| t3.3b"]
