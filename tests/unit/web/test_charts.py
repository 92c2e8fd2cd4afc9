"""The SVG chart helpers: well-formed, escaped, proportional, mirrored in RTL, localised digits."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from sarhad.core.i18n import current_language
from sarhad.web.charts import (
    bar_chart,
    format_number,
    grouped_bar_chart,
    histogram,
    histogram_bins,
    line_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: Markup) -> ET.Element:
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))  # noqa: S314 - our own generated markup


def rects(root: ET.Element) -> list[ET.Element]:
    return [r for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]


def test_bar_chart_is_valid_svg_with_bars_proportional_to_values() -> None:
    root = parse(bar_chart([("FLASH", 10), ("ROUTINE", 5), ("PRIORITY", 0)], title="Messages", unit="msgs"))
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("aria-label") == "Messages"
    bars = rects(root)
    widths = [float(b.get("width", "0")) for b in bars]
    assert widths[0] == pytest.approx(2 * widths[1])
    assert widths[2] == 0
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "FLASH" in texts and "10 msgs" in texts


def test_labels_and_title_are_escaped() -> None:
    markup = bar_chart([("<script>alert(1)</script>", 1)], title='a "b" & <c>')
    assert "<script>" not in str(markup)
    root = parse(markup)
    assert root.get("aria-label") == 'a "b" & <c>'
    assert any(t.text == "<script>alert(1)</script>" for t in root.iter(f"{SVG}text"))


def test_bar_chart_mirrors_in_rtl() -> None:
    series = [("a", 4.0), ("b", 2.0)]
    ltr = rects(parse(bar_chart(series, title="t", direction="ltr", width=600)))
    rtl_root = parse(bar_chart(series, title="t", direction="rtl", width=600))
    rtl = rects(rtl_root)
    assert rtl_root.get("direction") == "rtl"
    for left_bar, right_bar in zip(ltr, rtl, strict=True):
        width = float(left_bar.get("width", "0"))
        assert float(right_bar.get("width", "0")) == pytest.approx(width)
        # the LTR bar starts at x; the RTL bar ends at 600 - x
        assert float(right_bar.get("x", "0")) + width == pytest.approx(600 - float(left_bar.get("x", "0")))


def test_direction_follows_current_language_by_default() -> None:
    token = current_language.set("ur")
    try:
        assert parse(bar_chart([("x", 1)], title="t")).get("direction") == "rtl"
    finally:
        current_language.reset(token)
    assert parse(bar_chart([("x", 1)], title="t")).get("direction") == "ltr"


def test_persian_uses_persian_digits() -> None:
    token = current_language.set("fa")
    try:
        texts = [t.text or "" for t in parse(bar_chart([("x", 1234)], title="t")).iter(f"{SVG}text")]
    finally:
        current_language.reset(token)
    assert "۱,۲۳۴" in texts


def test_empty_series_says_no_data() -> None:
    root = parse(bar_chart([], title="t", empty_text="No data"))
    assert any(t.text == "No data" for t in root.iter(f"{SVG}text"))
    assert parse(line_chart([], {}, title="t"))
    assert parse(grouped_bar_chart([], {}, title="t"))


def test_grouped_bar_chart_has_one_bar_per_category_and_series_and_a_legend() -> None:
    root = parse(
        grouped_bar_chart(["S1", "S2", "S3"], {"delivered": [1, 2, 3], "acknowledged": [0, 1, 2]}, title="t")
    )
    bars = rects(root)
    assert len(bars) == 6
    heights = [float(b.get("height", "0")) for b in bars]
    # bars in category order, series inside: S1 delivered, S1 acknowledged, S2 delivered ...
    assert heights[4] == pytest.approx(heights[0] * 3)
    assert heights[1] == 0
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "delivered" in texts and "acknowledged" in texts


def test_grouped_bar_chart_rtl_puts_first_category_at_the_right() -> None:
    ltr = rects(parse(grouped_bar_chart(["a", "b"], {"s": [1, 2]}, title="t", direction="ltr")))
    rtl = rects(parse(grouped_bar_chart(["a", "b"], {"s": [1, 2]}, title="t", direction="rtl")))
    assert float(ltr[0].get("x", "0")) < float(ltr[1].get("x", "0"))
    assert float(rtl[0].get("x", "0")) > float(rtl[1].get("x", "0"))


def test_series_length_must_match_categories() -> None:
    with pytest.raises(ValueError, match="2 values for 3"):
        grouped_bar_chart(["a", "b", "c"], {"s": [1, 2]}, title="t")
    with pytest.raises(ValueError, match="finite"):
        bar_chart([("a", float("nan"))], title="t")


def test_line_chart_breaks_lines_at_missing_values() -> None:
    root = parse(line_chart(["1", "2", "3", "4", "5"], {"p50": [1, 2, None, 3, 4]}, title="t"))
    lines = list(root.iter(f"{SVG}polyline"))
    assert len(lines) == 2
    assert len(list(root.iter(f"{SVG}circle"))) == 4
    # higher values are drawn higher (smaller y)
    ys = [float(c.get("cy", "0")) for c in root.iter(f"{SVG}circle")]
    assert ys[0] > ys[1] > ys[3]


def test_histogram_counts_values_into_bins() -> None:
    bins = histogram_bins([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], bins=5)
    assert [count for _, _, count in bins] == [2, 2, 2, 2, 3]
    assert bins[0][0] == 0 and bins[-1][1] == 10
    assert [c for _, _, c in histogram_bins([5, 5], bins=2)] == [2, 0]
    assert histogram_bins([], bins=3) == []
    root = parse(histogram([0.5, 0.7, 1.5, 9.0], title="Delivery", bins=3, unit="s"))
    assert len(rects(root)) == 3


def test_format_number() -> None:
    assert format_number(1234) == "1,234"
    assert format_number(12.345) == "12.3"
    assert format_number(0.012345) == "0.0123"
    assert re.fullmatch(r"1,235", format_number(1234.6))
