"""``docs/criteria.md``, written from the shipped criteria files: every indicator of every set with the clause it
comes from, or — where no text in hand supports it — "provisional" and where its values came from (ADR 18).

``python -m lms.titles.criteria_doc > docs/criteria.md`` (``make criteria-doc``) rewrites it; a test fails when the
file and the criteria files disagree, so the table cannot drift from what the engine evaluates.
"""

from __future__ import annotations

from lms.titles.criteria import SHIPPED_DIR, CriteriaDefinition, Indicator, parse, read_toml

HEADER = """# Criteria sets: every indicator and where it comes from

Generated from `lms/titles/criteria/*.toml` by `make criteria-doc` (`python -m lms.titles.criteria_doc`); do not
edit by hand — `tests/titles/test_criteria_doc.py` fails when this file and the criteria files disagree.

An indicator is **from the text** when an article and clause of a text in hand (`/work/shared/sources/`: Circulars
24/2023 and 25/2023, Plan 1514) sets it; it is **provisional** when no such text does, and then its `source` says
where its values came from (a choice made for the demo, a Plan 1514 target, a clause borrowed from another text).
Provisional results say so on every page that shows them (ADR 18); the criteria-set page `/titles/criteria/<code>`
shows the same table in Vietnamese.
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _rule(indicator: Indicator) -> str:
    if indicator.thresholds:
        return "; ".join(f"≥ {value:g} → {points} pt" for value, points in indicator.thresholds)
    if indicator.at_least:
        return "; ".join(
            f"level {level}: ≥ {value:g}" for level, value in zip(indicator.for_levels, indicator.at_least, strict=True)
        )
    if indicator.scale == "met":
        return "met / not met" + (f" ({indicator.max_points} pt)" if indicator.max_points else "")
    if indicator.scale == "points":
        return f"assessed, 0–{indicator.max_points} pt"
    return ""


def _scope(definition: CriteriaDefinition, indicator: Indicator) -> str:
    """At which levels (when not all) and of which organisations (when not all) the indicator is asked."""
    parts = []
    levels = tuple(level.level for level in definition.levels)
    if levels and indicator.for_levels != levels and not indicator.at_least:
        parts.append("level " + ", ".join(str(lv) for lv in indicator.for_levels) + " only")
    if indicator.applies_to:
        alternatives = [
            ": ".join(
                filter(
                    None, ("managed at " + "/".join(a.managing_levels) if a.managing_levels else "", "/".join(a.kinds))
                )
            )
            for a in indicator.applies_to
        ]
        parts.append("asked of " + " or ".join(alternatives) + "; others not applicable (met)")
    if indicator.implied_by and indicator.scale == "percent":
        # A percentage is implied by one counting fewer members whose share reaches its bar (ADR 53).
        parts.append("met when the share of " + " or ".join(indicator.implied_by) + " reaches its bar")
    elif indicator.implied_by:
        parts.append("met when " + " or ".join(indicator.implied_by) + " is met")
    share = indicator.share
    if share is not None and share.title is not None and share.count == "recognised":
        counted = "counts members recognised for the year"
        if share.projection == "eligible":
            counted += " (this year's eligible shown apart as a projection, ADR 51)"
        parts.append(counted)
    return "".join(f"; {part}" for part in parts)


def _basis(indicator: Indicator) -> str:
    if indicator.provisional:
        return f"**provisional**: {_cell(indicator.source_en or indicator.source)}"
    return "from the text"


def _pass_rule(definition: CriteriaDefinition) -> str:
    if definition.scoring == "points":
        return (
            f"points: pass with at least {definition.pass_total:g} and no indicator below its minimum "
            f"(default {definition.min_per_indicator or 0})"
        )
    levels = ", ".join(level.name for level in definition.levels)
    return f"met / not met: a level is reached when every indicator of that level is met ({levels})"


def _upgrade(definition: CriteriaDefinition) -> str:
    """The wait before the next level may be asked for (Circular 24, Art. 5.3 / 11.3), as the engine applies it."""
    upgrade = definition.upgrade
    if upgrade is None:
        return ""
    month, day = upgrade.request_by
    return (
        f"Level {upgrade.to_level} may be asked for only from the day after {upgrade.after_months} months counted from "
        f"the level-{upgrade.to_level - 1} decision have run out (the decision's day not counted, Civil Code 2015 "
        f"Art. 147–148, ADR 59: decided 15/01/2025 → from 16/01/2026); a year's request goes in by "
        f"{day:02d}/{month:02d} of the next year at the latest ({upgrade.source_ref}). "
    )


def render() -> str:
    """The whole document, from the shipped files in name order."""
    parts = [HEADER]
    for path in sorted(SHIPPED_DIR.glob("*.toml")):
        definition = parse(read_toml(path))
        provisional = sum(1 for i in definition.indicators if i.provisional)
        validity = (
            "the year recognised and the three years after it (ADR 17)"
            if definition.validity_years > 1
            else "the year recognised"
        )
        parts.append(
            f"\n## {definition.name} — `{definition.code}`\n\n"
            f"{definition.name_en}. Source: {definition.source}. Status: {definition.status}. "
            f"Recognition holds for {validity}. Scoring: {_pass_rule(definition)}. "
            f"{_upgrade(definition)}"
            f"{provisional} of {len(definition.indicators)} indicators provisional.\n\n"
            "| Code | Indicator | Clause | Rule | Basis |\n|---|---|---|---|---|\n"
        )
        parts.extend(
            f"| {i.code} | {_cell(i.name)}<br>*{_cell(i.name_en)}* | {_cell(i.source_ref)} "
            f"| {_cell(_rule(i) + _scope(definition, i))} "
            f"| {_basis(i)} |\n"
            for i in definition.indicators
        )
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
