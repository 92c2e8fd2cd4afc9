"""Chart data for Chart.js (``sarhad.web.chartdata``): one unit per chart, axis labels in the viewer's calendar
and digits, JSON that cannot end its ``<script>`` element, and the figures for the no-JavaScript table."""

from __future__ import annotations

import json
from datetime import date

import pytest

from sarhad.web.chartdata import Chart, Series, by_unit, day_label, format_value, month_label, week_label


def test_seizures_in_different_units_never_share_a_chart() -> None:
    grouped = by_unit({"hashish (kg)": [1.0, 2.0], "diesel (l)": [800.0, 0.0], "opium (kg)": [0.0, 5.0]})
    assert grouped == {"kg": {"hashish": [1.0, 2.0], "opium": [0.0, 5.0]}, "l": {"diesel": [800.0, 0.0]}}


def test_week_and_month_labels_follow_the_viewers_calendar_and_digits() -> None:
    # 7 December 2026 is 16 Azar 1405
    assert week_label("2026-12-07", "gregorian", "en") == "7 December"
    assert week_label(date(2026, 12, 7), "solar_hijri", "fa") == "۱۶ آذر"
    assert day_label(date(2026, 12, 7), "solar_hijri", "en", year=True) == "16 Azar 1405"
    assert month_label("2026-12", "gregorian", "en") == "December 2026"
    assert month_label("2026-12", "solar_hijri", "fa") == "آذر ۱۴۰۵"
    assert month_label("2026-03", "solar_hijri", "en") == "Esfand 1404"  # 15 March 2026 is 24 Esfand 1404
    assert format_value(1234.5, "fa") == "۱,۲۳۴.۵" and format_value(None, "en") == "—"
    assert format_value(12.0, "ur") == "12"


def test_config_is_json_safe_inside_a_script_element() -> None:
    chart = Chart(
        id="x",
        title="</script><script>alert(1)</script>",
        labels=["a & b"],
        series=[Series("<b>", [1.0])],
        unit="kg",
        language="fa",
    )
    text = str(chart.config_json())
    assert "<" not in text and ">" not in text and "&" not in text
    config = json.loads(text)
    assert config["title"] == "</script><script>alert(1)</script>" and config["rtl"] is True
    assert config["locale"] == "fa-IR" and config["series"][0]["values"] == [1.0]
    assert chart.rows() == [("a & b", ["۱"])]


def test_a_chart_without_figures_is_empty_and_mismatched_series_are_refused() -> None:
    assert Chart(id="e", title="t", labels=["a"], series=[Series("s", [0.0])], unit="").empty
    assert not Chart(id="f", title="t", labels=["a"], series=[Series("s", [2.0])], unit="").empty
    with pytest.raises(ValueError, match="values for"):
        Chart(id="g", title="t", labels=["a", "b"], series=[Series("s", [1.0])], unit="")
    with pytest.raises(ValueError, match="chart id"):
        Chart(id="Bad id", title="t", labels=[], series=[], unit="")
