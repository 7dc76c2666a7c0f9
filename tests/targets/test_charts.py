"""The SVG charts: what they draw for known values, their words for screen readers, their fit on a phone."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from decimal import Decimal

from lms.targets import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))  # noqa: S314 - our own output, parsed to check it is well-formed


def _rects(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{SVG}rect")


def test_bullet_draws_the_value_and_each_target_on_a_0_to_100_scale():
    markers = [charts.Marker("2025", Decimal(80)), charts.Marker("2030", Decimal(85), dashed=True)]
    root = _parse(charts.bullet(Decimal(40), markers, title="GD", no_data="Chưa có số liệu"))
    assert root.get("role") == "img"
    assert root.get("width") == "100%"
    assert root.get("viewBox") == "0 0 360 78"  # fits a 390 px phone at about 1:1, so 11 px text stays readable
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == "GD; 40.0 %; 2025: 80.0 %; 2030: 85.0 %"
    value_bar = _rects(root)[-1]
    assert float(value_bar.get("width", 0)) == 136.0  # 40 % of a 340-wide scale
    assert value_bar.get("fill") == charts.BAR  # behind the first target
    ticks = root.findall(f"{SVG}line")
    assert [float(t.get("x1", 0)) for t in ticks] == [282.0, 299.0]  # 10 + 340 × 0.80 and × 0.85
    assert ticks[1].get("stroke-dasharray")
    texts = [t.text for t in root.findall(f"{SVG}text")]
    assert "40.0" in texts  # the value, written at the end of its bar
    assert "2025 · 80.0" in texts


def test_bullet_labels_never_overlap():
    """Close targets: labels go above, then below; one with no room left is left to the title and the table."""
    markers = [charts.Marker("2025 (area)", 60), charts.Marker("2025", 80), charts.Marker("2030", 85)]
    root = _parse(charts.bullet(50, markers, title="GD", no_data="-"))
    labels = [t for t in root.findall(f"{SVG}text") if "·" in (t.text or "")]
    assert len(root.findall(f"{SVG}line")) == 3  # every target keeps its tick
    rows: dict[str, list[tuple[float, float]]] = {}
    for label in labels:
        half = len(label.text or "") * 6.2 / 2
        x = float(label.get("x", 0))
        for start, end in rows.get(label.get("y", ""), []):
            assert x + half <= start or x - half >= end, "two labels overlap"
        rows.setdefault(label.get("y", ""), []).append((x - half, x + half))
    assert "2025 (area) · 60.0" in {t.text for t in labels}  # the first (applicable) target is always labelled
    title = root.find(f"{SVG}title")
    assert title is not None
    assert "2030: 85.0 %" in (title.text or "")


def test_bullet_turns_green_at_the_target_and_clamps_over_100():
    root = _parse(charts.bullet(Decimal(120), [charts.Marker("2025", 80)], title="x", no_data="-"))
    bar = _rects(root)[-1]
    assert bar.get("fill") == charts.REACHED
    assert float(bar.get("width", 0)) == 340.0


def test_bullet_without_data_says_so_instead_of_drawing_zero():
    root = _parse(charts.bullet(None, [charts.Marker("2025", 80)], title="GD", no_data="Chưa có số liệu"))
    texts = [t.text for t in root.findall(f"{SVG}text")]
    assert "Chưa có số liệu" in texts
    assert all(r.get("fill") != charts.BAR for r in _rects(root))


def test_text_is_escaped():
    markup = str(charts.bullet(10, [], title='<script>alert("x")</script>', no_data="-"))
    assert "<script>" not in markup
    _parse(markup)


def test_sparkline_breaks_at_missing_periods_and_marks_the_last_point():
    points = [("2022", Decimal(10)), ("2023", Decimal(20)), ("2024", None), ("2025", Decimal(50))]
    root = _parse(charts.sparkline(points, title="GD", target=Decimal(80)))
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 1  # 2022–2023; 2025 stands alone after the gap
    assert len(lines[0].get("points", "").split()) == 2
    circle = root.find(f"{SVG}circle")
    assert circle is not None
    assert float(circle.get("cx", 0)) == 196.0  # the last period, at the right edge
    assert float(circle.get("cy", 0)) == 24.0  # 50 % of the 4–44 height
    target = root.find(f"{SVG}line")
    assert target is not None
    assert float(target.get("y1", 0)) == 12.0
    title = root.find(f"{SVG}title")
    assert title is not None
    assert title.text == "GD; 2022: 10.0 %; 2023: 20.0 %; 2025: 50.0 %"


def test_ranked_bars_keep_the_given_order_and_shorten_long_names():
    rows = [
        charts.RankedBar("Xã Có Tên Rất Dài Hơn Mười Tám Chữ", Decimal(20), Decimal(80)),
        charts.RankedBar("Xã B", Decimal(90), Decimal(80)),
        charts.RankedBar("Xã C", None, Decimal(80)),
    ]
    markup = charts.ranked_bars(rows, title="GD", no_data="Chưa có số liệu", fmt=lambda v: f"{v:.0f}")
    root = _parse(markup)
    names = [t.text for t in root.findall(f"{SVG}text") if t.get("text-anchor") == "end" and "%" not in (t.text or "")]
    assert names == ["Xã Có Tên Rất Dài…", "Xã B", "Xã C"]
    bars = [r for r in _rects(root) if r.get("fill") in (charts.BAR, charts.REACHED)]
    assert [b.get("fill") for b in bars] == [charts.BAR, charts.REACHED]
    assert re.search(r"Xã C: Chưa có số liệu", root.find(f"{SVG}title").text or "")  # type: ignore[union-attr]
    assert root.get("viewBox") == f"0 0 360 {3 * 24 + 20}"
