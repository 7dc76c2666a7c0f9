"""Server-rendered SVG charts for the dashboards: a bullet chart, a sparkline and ranked bars.

No JavaScript and no chart library: the page works on a slow connection and an old phone, prints, and the numbers
are also in a table beside each chart. Each chart is an ``<svg role="img">`` with a ``<title>`` that says in words
what it shows (what a screen reader reads), a ``viewBox`` and ``width="100%"`` so it fits a 390 px phone screen
and grows on a desktop, and text sizes chosen to stay readable at that width.

The functions take plain values (shares in per cent, already computed from stored numerators and denominators) and
the words to print, so they know nothing about the database or the request's language.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup, escape

Number = Decimal | float | int
Formatter = Callable[[Number], str]

BAR = "#1f5fa8"  # the value, behind target
REACHED = "#1a7f37"  # the value, at or above target
TRACK = "#e9ecef"
BAND = "#cfd8e3"  # from 0 to the last milestone's target
INK = "#212529"
MUTED = "#6c757d"


def one_decimal(value: Number) -> str:
    return f"{Decimal(value):.1f}"


def _x(share: Number, left: float, width: float) -> float:
    """Per cent → x: clamped to the 0–100 scale so a value over 100 % (a stale denominator) stays on the chart."""
    clamped = min(max(float(share), 0.0), 100.0)
    return round(left + width * clamped / 100.0, 2)


def _svg(width: int, height: int, title: str, body: list[str], css_class: str) -> Markup:
    # Safe: every piece of text that reaches ``body`` went through ``escape`` where it was drawn.
    return Markup(  # noqa: S704
        f'<svg class="{css_class}" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


@dataclass(frozen=True)
class Marker:
    """A target drawn on a bullet chart: ``label`` printed above the tick ("2025"), ``dashed`` for later ones."""

    label: str
    share: Number
    dashed: bool = False
    note: str = ""  # said in the title only, e.g. "target for especially difficult communes"


def bullet(
    share: Number | None, markers: Sequence[Marker], *, title: str, no_data: str, fmt: Formatter = one_decimal
) -> Markup:
    """A horizontal bullet chart on a 0–100 % scale: the value as a bar, each target as a tick with its label.

    The bar is green once it reaches the first (nearest) target. ``share`` None (a denominator of zero) draws
    the scale and the targets with ``no_data`` written where the bar would be.
    """
    width, left, scale = 360, 10, 340
    body = [f'<rect x="{left}" y="22" width="{scale}" height="22" fill="{TRACK}"/>']
    if markers:
        far = max(float(m.share) for m in markers)
        body.append(f'<rect x="{left}" y="22" width="{_x(far, 0, scale)}" height="22" fill="{BAND}"/>')
    words = [title]
    if share is None:
        body.append(f'<text x="{left + 6}" y="37" font-size="12" fill="{MUTED}">{escape(no_data)}</text>')
        words.append(no_data)
    else:
        reached = bool(markers) and float(share) >= float(markers[0].share)
        colour = REACHED if reached else BAR
        end = _x(share, left, scale)
        body.append(f'<rect x="{left}" y="27" width="{_x(share, 0, scale)}" height="12" fill="{colour}"/>')
        # The value written at the end of its bar: inside it in white when there is no room after it.
        inside = end > width - 50
        body.append(
            f'<text x="{end - 3 if inside else end + 3}" y="37" font-size="11" font-weight="bold" '
            f'text-anchor="{"end" if inside else "start"}" fill="{"#fff" if inside else INK}">'
            f"{escape(fmt(share))}</text>"
        )
        words.append(f"{fmt(share)} %")
    taken: dict[int, list[tuple[float, float]]] = {13: [], 60: []}  # label rows above and below the scale
    for index, marker in enumerate(markers):
        x = _x(marker.share, left, scale)
        dash = ' stroke-dasharray="3 2"' if marker.dashed else ""
        body.append(f'<line x1="{x}" y1="18" x2="{x}" y2="48" stroke="{INK}" stroke-width="2.5"{dash}/>')
        words.append(f"{marker.label}{' ' + marker.note if marker.note else ''}: {fmt(marker.share)} %")
        label = f"{marker.label} · {fmt(marker.share)}"
        span = len(label) * 6.2 + 6  # about 6 px a character at 11 px
        start = min(max(x - span / 2, 0), width - span)
        # The first free row, above first (the applicable target), else below; no room: the title and the table
        # beside the chart still say it.
        rows = (13, 60) if index % 2 == 0 else (60, 13)
        row = next((r for r in rows if all(start + span <= a or start >= b for a, b in taken[r])), None)
        if row is None:
            continue
        taken[row].append((start, start + span))
        body.append(
            f'<text x="{round(start + span / 2, 2)}" y="{row}" font-size="11" text-anchor="middle" '
            f'fill="{INK}">{escape(label)}</text>'
        )
    for tick in (0, 50, 100):
        x = _x(tick, left, scale)
        anchor = {0: "start", 50: "middle", 100: "end"}[tick]
        body.append(f'<text x="{x}" y="74" font-size="10" text-anchor="{anchor}" fill="{MUTED}">{tick} %</text>')
    return _svg(width, 78, "; ".join(words), body, "chart-bullet")


def sparkline(
    points: Sequence[tuple[str, Number | None]],
    *,
    title: str,
    target: Number | None = None,
    fmt: Formatter = one_decimal,
) -> Markup:
    """The share over the stored periods, oldest first, on a fixed 0–100 % scale (so two lines compare).

    A period without data (None) breaks the line rather than being drawn as zero; ``target`` is a dashed line.
    """
    width, height, top, bottom, left, right = 200, 48, 4, 44, 4, 196
    known = [(label, value) for label, value in points if value is not None]
    body = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f8f9fa"/>']

    def y(value: Number) -> float:
        clamped = min(max(float(value), 0.0), 100.0)
        return round(bottom - (bottom - top) * clamped / 100.0, 2)

    if target is not None:
        body.append(
            f'<line x1="{left}" y1="{y(target)}" x2="{right}" y2="{y(target)}" stroke="{MUTED}" '
            f'stroke-width="1" stroke-dasharray="4 3"/>'
        )
    step = (right - left) / max(len(points) - 1, 1)
    segment: list[str] = []
    segments: list[list[str]] = []
    last: tuple[float, float] | None = None
    for index, (_, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        point = (round(left + step * index if len(points) > 1 else (left + right) / 2, 2), y(value))
        segment.append(f"{point[0]},{point[1]}")
        last = point
    if segment:
        segments.append(segment)
    for part in segments:
        if len(part) > 1:
            body.append(f'<polyline points="{" ".join(part)}" fill="none" stroke="{BAR}" stroke-width="2"/>')
    if last is not None:
        body.append(f'<circle cx="{last[0]}" cy="{last[1]}" r="3" fill="{BAR}"/>')
    words = [title] + [f"{label}: {fmt(value)} %" for label, value in known]
    return _svg(width, height, "; ".join(words), body, "chart-sparkline")


@dataclass(frozen=True)
class RankedBar:
    name: str
    share: Number | None
    target: Number | None


def ranked_bars(rows: Sequence[RankedBar], *, title: str, no_data: str, fmt: Formatter = one_decimal) -> Markup:
    """One bar per sub-unit, in the order given (the caller ranks them), each with its target as a tick.

    Names longer than the label column are shortened with "…" (the table beside the chart has them in full).
    """
    width, row_height, name_width, left, scale = 360, 24, 118, 122, 190
    height = max(len(rows), 1) * row_height + 20
    body: list[str] = []
    words = [title]
    for index, row in enumerate(rows):
        top = index * row_height + 2
        name = row.name if len(row.name) <= 18 else row.name[:17] + "…"
        body.append(
            f'<text x="{name_width}" y="{top + 15}" font-size="11" text-anchor="end" fill="{INK}">{escape(name)}</text>'
        )
        body.append(f'<rect x="{left}" y="{top + 3}" width="{scale}" height="16" fill="{TRACK}"/>')
        if row.share is None:
            body.append(f'<text x="{left + 4}" y="{top + 15}" font-size="10" fill="{MUTED}">{escape(no_data)}</text>')
            words.append(f"{row.name}: {no_data}")
        else:
            reached = row.target is not None and float(row.share) >= float(row.target)
            colour = REACHED if reached else BAR
            body.append(
                f'<rect x="{left}" y="{top + 5}" width="{_x(row.share, 0, scale)}" height="12" fill="{colour}"/>'
            )
            body.append(
                f'<text x="{left + scale + 4}" y="{top + 15}" font-size="11" fill="{INK}">{fmt(row.share)}</text>'
            )
            words.append(f"{row.name}: {fmt(row.share)} %")
        if row.target is not None:
            x = _x(row.target, left, scale)
            body.append(f'<line x1="{x}" y1="{top}" x2="{x}" y2="{top + 22}" stroke="{INK}" stroke-width="2"/>')
    axis = len(rows) * row_height + 14
    for tick in (0, 50, 100):
        x = _x(tick, left, scale)
        anchor = {0: "start", 50: "middle", 100: "end"}[tick]
        body.append(f'<text x="{x}" y="{axis}" font-size="10" text-anchor="{anchor}" fill="{MUTED}">{tick} %</text>')
    return _svg(width, height, "; ".join(words), body, "chart-ranked")
