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
