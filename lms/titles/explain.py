"""Breakdown items in words, in the reader's language.

The engine stores each indicator's result as codes and numbers (``Eligibility.breakdown``), never prose, so a page
can say it in Vietnamese or English. One breakdown item::

    {"indicator": "c1", "value": 3,                      # the measured value (None: nothing to measure)
     "points": 8, "max": 10,                             # points style …
     "met": true, "levels": [1],                         # … or levels style: met at its first level; levels met
     "source": {"kind": "records", "measure": "activities"}
             | {"kind": "assessment", "by": "evaluator" | "self", "evidence": "file" | "ref" | null}
               # stored without the assessment's id (shared, ADR 40); the explanation and a proposal's copy add
               # "id": 17 after "kind" (``models.with_assessment_ids``)
             | {"kind": "share", "of": "persons", "title": "citizen" | null, "measure": "activities" | null,
                "numerator": 3, "denominator": 4, "unknown_age": 0,
                "projected": 4}   # only with a projection (ADR 51): recognised or eligible this year
     "projected_levels": [1],                            # … and the levels the projection would meet
     "projected_points": 40,                             # … or, points-style (Decision 448), the points it would give
             | {"kind": "none"},
     "missing": null | {"code": …, numbers…}}

Missing codes: ``more_activities`` / ``more_courses`` / ``more_hours`` / ``more_modules`` (``need``: how many
more, ``points`` or ``level``: what they would give), ``share_below`` (``numerator``, ``denominator``,
``at_least`` per cent, ``need`` members more), ``no_members``, ``not_assessed``, ``not_verified``, ``no_evidence``,
``assessed_below`` (``value``, ``at_least``), ``below_minimum`` (an assessed number of points under the minimum).
Points-style items below their indicator's minimum also carry ``minimum``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from flask import has_request_context
from flask_babel import gettext as _
from flask_babel import ngettext

from lms.core import formatting


def _number(value: Any) -> str:
    """In the reader's convention, up to two decimals: 12 → "12", 12.5 → "12,5" (Vietnamese), 66.6667 → "66,67",
    Decimal("60.00") → "60"."""
    if value is None:
        return "–"
    return formatting.number(Decimal(str(value)), 2)


def _percent(value: Any) -> str:
    """A share stored in per cent, with its sign: "66,67 %" ("–" for none)."""
    return "–" if value is None else f"{_number(value)}{formatting.PERCENT_GAP}%"


def _day(value: Any) -> str:
    """A date the engine stores as ISO text ("2026-02-10") in the reader's convention: "10/02/2026"."""
    if not value:
        return ""
    try:
        return formatting.day(date.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def _target(missing: dict[str, Any]) -> str:
    if "level" in missing:
        return _("for level %(level)s", level=missing["level"])
    if "points" in missing:
        return ngettext("for %(num)s point", "for %(num)s points", int(missing["points"]))
    return ""


def describe_missing(item: dict[str, Any], total: tuple[Any, Any] | None = None) -> str:
    """What is lacking for one indicator ("" when nothing is), e.g. "needs 1 more learning activity for 7 points".

    ``total`` (the subject's points and the pass mark, for a points-style row short of it) lets an indicator that
    is below its maximum but above any minimum say what is needed: the total, not the indicator, falls short.
    """
    missing = item.get("missing")
    if not missing:
        return ""
    code = missing.get("code")
    need = missing.get("need")
    target = _target(missing)
    if code == "more_activities":
        text = ngettext(
            "needs %(num)s more learning activity", "needs %(num)s more learning activities", int(need or 1)
        )
    elif code == "more_courses":
        text = ngettext("needs %(num)s more completed course", "needs %(num)s more completed courses", int(need or 1))
    elif code == "more_modules":
        text = ngettext("needs %(num)s more IT module", "needs %(num)s more IT modules", int(need or 1))
    elif code == "more_hours":
        text = _("needs %(hours)s more hours of learning", hours=_number(need))
    elif code == "share_below":
        text = _share_below(item, missing)
    elif code == "no_members":
        text = _("no members to count")
    elif code == "not_assessed":
        text = _("not assessed yet")
    elif code == "not_verified":
        text = _("self-assessment awaiting verification")
    elif code == "no_evidence":
        text = _("has no evidence")
    elif (
        code == "assessed_below"
        and "points" not in missing
        and "level" not in missing
        and missing.get("at_least") is not None
        and missing.get("at_least") == item.get("max")
    ):
        # Points given on a points scale, below the indicator's maximum: not a bar to clear, points the subject
        # could still gain (the engine lists it only while the total is short). A percentage or a met/not met
        # below its bar keeps the sentence below.
        # Listed only because the total is short: say so, with the total and the pass mark when the caller knows
        # them, else the points still to gain here — "8/10 điểm" alone did not say what was needed.
        if _below(missing.get("value"), missing.get("minimum")):
            # Under the indicator's own minimum: that is what is needed, and the suffix below names it (the total
            # may well be enough).
            text = _(
                "assessed at %(value)s of %(max)s points",
                value=_number(missing.get("value")),
                max=_number(item.get("max")),
            )
        elif total is not None and total[0] is not None and total[1] is not None:
            text = _(
                "assessed at %(value)s of %(max)s points; the total is %(score)s points, at least %(pass_total)s "
                "are needed",
                value=_number(missing.get("value")),
                max=_number(item.get("max")),
                score=_number(total[0]),
                pass_total=_number(total[1]),
            )
        else:
            text = _(
                "assessed at %(value)s of %(max)s points; the total is below the pass mark and up to %(more)s more "
                "points can count here",
                value=_number(missing.get("value")),
                max=_number(item.get("max")),
                more=_number(Decimal(str(item.get("max"))) - Decimal(str(missing.get("value") or 0))),
            )
    elif code == "assessed_below" and _met_scale(missing):
        # A met / not met assessment (stored as 1 / 0): "assessed at 0, at least 1 is required" said nothing.
        if "level" in missing:
            return _("assessed as not met; it must be met for level %(level)s", level=missing["level"])
        if "points" in missing:
            return ngettext(
                "assessed as not met, so its %(num)s point is not counted",
                "assessed as not met, so its %(num)s points are not counted",
                int(missing["points"]),
            )
        text = _("assessed as not met")
    elif code == "assessed_below":
        # Every other bar an assessment is held to is a percentage (the criteria's "percent" scale).
        text = _(
            "assessed at %(value)s, at least %(at_least)s is required",
            value=_percent(missing.get("value")),
            at_least=_percent(missing.get("at_least")),
        )
    elif code == "upgrade_wait" and missing.get("first_year"):
        # ADR 59: the months are counted as the Civil Code counts them, and the date may fall after the last day of
        # the year's request (Circular 24, Art. 10.1.c: "trước ngày 15 tháng 1"): say for which year it can be asked.
        source = item.get("source")
        held: Mapping[str, Any] = source if isinstance(source, Mapping) else {}
        text = _(
            "level %(level)s can be asked for only from %(until)s, once %(months)s months have passed since the "
            "level %(from_level)s decision of %(decided)s (Civil Code 2015, Art. 147–148): that is after this "
            "year's dossier is due (before %(before)s), so level %(level)s can be asked for at the earliest in the "
            "dossier for %(first_year)s (%(ref)s)",
            level=missing.get("level"),
            until=_day(missing.get("until")),
            months=missing.get("months"),
            from_level=held.get("level"),
            decided=_day(held.get("decision_date")),
            before=_day(missing.get("before")),
            first_year=missing.get("first_year"),
            ref=missing.get("source_ref"),
        )
    elif code == "upgrade_wait":
        text = _(
            "level %(level)s can be asked for from %(until)s, %(months)s months after the last decision (%(ref)s)",
            level=missing.get("level"),
            until=_day(missing.get("until")),
            months=missing.get("months"),
            ref=missing.get("source_ref"),
        )
    elif code == "below_minimum":
        text = _(
            "assessed at %(value)s points, at least %(minimum)s are required",
            value=_number(missing.get("value")),
            minimum=_number(missing.get("minimum")),
        )
    else:
        text = _("not satisfied")
    if target and code not in (
        "not_assessed",
        "not_verified",
        "no_evidence",
        "no_members",
        "below_minimum",
        "upgrade_wait",
    ):
        text = f"{text} {target}"
    if "minimum" in missing and code != "below_minimum":
        text = f"{text} " + _("(below the minimum of %(minimum)s points)", minimum=_number(missing["minimum"]))
    return text


def describe_total(score: Any, pass_total: Any) -> str:
    """A points-style subject's total against the pass mark: "Total: 72 points, at least 80 are needed"."""
    return _(
        "Total: %(score)s points, at least %(pass_total)s are needed",
        score=_number(score),
        pass_total=_number(pass_total),
    )


def _below(value: Any, minimum: Any) -> bool:
    try:
        return minimum is not None and Decimal(str(value or 0)) < Decimal(str(minimum))
    except ArithmeticError:
        return False


def _met_scale(missing: dict[str, Any]) -> bool:
    """Whether an assessment below its bar was a met / not met one: its bar is 1 and its value under it (a percentage
    bar is never 1 %; a points scale's bar is its maximum, handled before)."""
    try:
        return Decimal(str(missing.get("at_least"))) == 1 and Decimal(str(missing.get("value") or 0)) < 1
    except ArithmeticError:
        return False


def _share_below(item: dict[str, Any], missing: dict[str, Any]) -> str:
    """A share under its bar, with the noun of what is counted and missing: "2 of 4 households count (50 %); at least
    65 % is required: 1 more household" — never a bare "1 more"."""
    of = (item.get("source") or {}).get("of")
    need = int(missing.get("need") or 0)
    values = {
        "numerator": _number(missing.get("numerator")),
        "denominator": _number(missing.get("denominator")),
        "share": _percent(item.get("value")),
        "at_least": _percent(missing.get("at_least")),
    }
    if of == "households":
        return ngettext(
            "%(numerator)s of %(denominator)s households count (%(share)s); at least %(at_least)s is required: "
            "%(num)s more household",
            "%(numerator)s of %(denominator)s households count (%(share)s); at least %(at_least)s is required: "
            "%(num)s more households",
            need,
            **values,
        )
    if of == "villages":
        return ngettext(
            "%(numerator)s of %(denominator)s villages count (%(share)s); at least %(at_least)s is required: "
            "%(num)s more village",
            "%(numerator)s of %(denominator)s villages count (%(share)s); at least %(at_least)s is required: "
            "%(num)s more villages",
            need,
            **values,
        )
    return ngettext(
        "%(numerator)s of %(denominator)s people count (%(share)s); at least %(at_least)s is required: "
        "%(num)s more person",
        "%(numerator)s of %(denominator)s people count (%(share)s); at least %(at_least)s is required: "
        "%(num)s more people",
        need,
        **values,
    )


_MEASURES = {
    "activities": "learning activities",
    "courses": "completed courses",
    "hours": "hours of learning",
    "modules": "IT modules",
}


def describe_source(item: dict[str, Any], names: Mapping[str, str] | None = None) -> str:
    """Where the value came from, e.g. "learning records: 3 learning activities", "assessment by an evaluator",
    and which bar applied where the commune's area class picks it. ``names``: the indicators' names by code
    (``services.indicator_names``), for a sentence that names another indicator — by its name, never its code."""
    return _describe_source(item, names or {}) + describe_bar(item)


def _describe_source(item: dict[str, Any], names: Mapping[str, str]) -> str:
    source = item.get("source") or {}
    kind = source.get("kind")
    if kind == "records":
        measure = source.get("measure")
        if measure == "hours":
            what = _("%(num)s hours of learning", num=_number(item.get("value") or 0))
        elif measure == "courses":
            what = ngettext("%(num)s completed course", "%(num)s completed courses", int(item.get("value") or 0))
        elif measure == "modules":
            what = ngettext("%(num)s IT module", "%(num)s IT modules", int(item.get("value") or 0))
        else:
            what = ngettext("%(num)s learning activity", "%(num)s learning activities", int(item.get("value") or 0))
        return _("learning records of the year: %(what)s", what=what)
    if kind == "assessment":
        who = _("self-assessment, verified") if source.get("by") == "self" else _("assessment by an evaluator")
        evidence = source.get("evidence")
        if evidence == "file":
            return _("%(who)s, with an evidence file", who=who)
        if evidence == "ref":
            return _("%(who)s, with an evidence reference", who=who)
        return who
    if kind == "share":
        of = source.get("of")
        if of == "households":
            members = _("households")
        elif of == "villages":
            members = _("villages")
        else:
            members = _("members")
        if "projected" in source and of == "households":
            # Decision 448's clans and villages: households holding the Learning Family recognition (ADR 51).
            text = _(
                "share of households recognised as Learning Families for the year: %(numerator)s of %(denominator)s · "
                "projection, with this year's eligible households not yet recognised: %(projected)s of "
                "%(denominator)s",
                numerator=source.get("numerator", 0),
                denominator=source.get("denominator", 0),
                projected=source.get("projected", 0),
            )
        elif "projected" in source:
            # Official count: recognitions for the year; the projection beside it (ADR 51).
            text = _(
                "share of %(members)s recognised for the year: %(numerator)s of %(denominator)s · projection, with "
                "this year's eligible not yet recognised: %(projected)s of %(denominator)s",
                members=members,
                numerator=source.get("numerator", 0),
                denominator=source.get("denominator", 0),
                projected=source.get("projected", 0),
            )
        else:
            text = _(
                "share of %(members)s: %(numerator)s of %(denominator)s",
                members=members,
                numerator=source.get("numerator", 0),
                denominator=source.get("denominator", 0),
            )
        if source.get("none_counted_as_met"):
            text = f"{text} " + _("(nobody to count: met)")
        if source.get("not_applicable"):
            text = f"{text} " + ngettext(
                "(%(num)s of them not subjects of the title, counted as the text says)",
                "(%(num)s of them not subjects of the title, counted as the text says)",
                int(source["not_applicable"]),
            )
        if source.get("no_birth_date"):
            text = f"{text} " + ngettext(
                "(%(num)s without a birth date, counted)",
                "(%(num)s without a birth date, counted)",
                int(source["no_birth_date"]),
            )
        if source.get("unknown_age"):
            text = f"{text} " + ngettext(
                "(%(num)s without a birth date not counted)",
                "(%(num)s without a birth date not counted)",
                int(source["unknown_age"]),
            )
        return text
    if kind == "recognition":
        return _(
            "recognised at level %(level)s by the decision of %(date)s",
            level=source.get("level"),
            date=_day(source.get("decision_date")),
        )
    if kind == "not_applicable":
        return _("not applicable to this organisation: met")
    if kind == "implied":
        by = names.get(str(source.get("by", ""))) or _("another indicator")
        if source.get("same"):
            return _("met: “%(name)s”, the same requirement at the level below, is met", name=by)
        if source.get("subset"):
            # A percentage counting fewer members whose share reaches this bar (Circular 24, Art. 6.2.d → 7.2.d).
            return _(
                "met: “%(name)s” reaches %(value)s, and everyone counted there is counted here",
                name=by,
                value=_percent(item.get("value")),
            )
        return _("met: implied by “%(name)s”, a stricter standard that is met", name=by)
    return _("no data")


def describe_bar(item: dict[str, Any]) -> str:
    """Which bar applied and why, for an indicator whose bars depend on the commune's area class ("" otherwise)."""
    bar = item.get("bar")
    if not bar:
        return ""
    bars = " / ".join(f"{_number(v)} %" for v in bar.get("at_least", []))
    if bar.get("lower"):
        return " · " + _(
            "lower bar for a commune in a difficult area: %(bars)s (%(reason)s)", bars=bars, reason=bar.get("reason")
        )
    return " · " + _("standard bar: %(bars)s (the commune is not in a difficult area)", bars=bars)


def describe_value(item: dict[str, Any], scale: str | None = None) -> str:
    """The measured value of one indicator in the reader's convention: a share or a percentage assessment "37,5 %",
    a met / not met assessment "met" or "not met", a count or points "7,5" — never the stored "37.5" ("" for none).
    ``scale``: the assessment's scale from the criteria, when known."""
    value = item.get("value")
    if value is None:
        return ""
    source = item.get("source") or {}
    if source.get("kind") == "share" or (source.get("kind") == "assessment" and scale == "percent"):
        return _percent(value)
    if source.get("kind") == "assessment" and scale == "met":
        return _("Met") if Decimal(str(value)) >= 1 else _("Not met")
    return _number(value)


def describe_result(eligibility: Any) -> str:
    """One line for an Eligibility row: "82 points" or "level 1" (the eligible flag is shown separately)."""
    if eligibility.level is not None:
        return _("level %(level)s", level=eligibility.level) if eligibility.level else _("no level reached")
    return _("%(score)s points", score=_number(eligibility.score))


def describe_projection(level: int | None) -> str:
    """The projected level beside the official one (ADR 51), "" when the result carries no projection."""
    if level is None:
        return ""
    reached = _("level %(level)s", level=level) if level else _("no level reached")
    return _(
        "Projection, were this year's eligible Learning Citizens recognised by the association: %(reached)s. The "
        "result above, the dossier and the decision count only the citizens recognised for the year.",
        reached=reached,
    )


def describe_points_projection(score: Any, eligible: bool, title: str | None) -> str:
    """The projected outcome of a points-style result beside the official one (ADR 51): Decision 448's clans and
    villages count Learning Families, decided by the commune People's Committee chairman; its commune-managed units
    count Learning Citizens, decided by the commune association."""
    outcome = _("eligible") if eligible else _("not eligible")
    if title == "family":
        return _(
            "Projection, were this year's eligible Learning Families recognised by the commune People's Committee "
            "chairman: %(score)s points, %(outcome)s. The result above, the dossier and the decision count only the "
            "families recognised for the year.",
            score=_number(score),
            outcome=outcome,
        )
    return _(
        "Projection, were this year's eligible Learning Citizens recognised by the association: %(score)s points, "
        "%(outcome)s. The result above, the dossier and the decision count only the citizens recognised for the year.",
        score=_number(score),
        outcome=outcome,
    )


def word(code: str) -> str:
    """A subject type, a level or a status as a word of the message it goes in (the code outside a request): "hộ",
    not "household". Shared by the recognition workflow's messages and the assessments import's."""
    if not has_request_context():  # English outside a request, as the workflow's messages: each word is its code
        return str(code)
    words = {
        "person": _("person"),
        "household": _("household"),
        "clan": _("clan"),
        "village": _("village"),
        "organisation": _("organisation"),
        "commune": _("commune"),
        "province": _("province"),
        "proposed": _("proposed"),
        "recognised": _("recognised"),
        "rejected": _("rejected"),
        "revoked": _("revoked"),
    }
    return words.get(str(code), str(code))
