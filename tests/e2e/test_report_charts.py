"""The statistics charts in a real browser: Chart.js (served by the node) draws each chart from the page's JSON,
the chart fills its card, one unit per chart (kilograms and litres apart), and hovering a bar shows its value —
in English and in Persian (Solar Hijri axis labels, Persian digits). One real node process, headless Chromium."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.border import seeding as border
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from support.processes import NodeProcess, free_port, get_token

PASSWORD = "correct horse battery"
SOLAR_HIJRI_MONTHS = "فروردین|اردیبهشت|خرداد|تیر|مرداد|شهریور|مهر|آبان|آذر|دی|بهمن|اسفند"


@pytest.fixture
def pk(make_node_dir: Callable[..., Path]) -> Iterator[NodeProcess]:
    folder = make_node_dir("PK", "Pakistan", port=free_port())
    node = build_node(load_settings(folder))
    with node.transaction() as session:
        border.seed_reference_scenario(session, node, SystemActor("seed"), border.reference_data())
        for username, language, calendar in (("liaison", "en", "gregorian"), ("tahlil", "fa", "solar_hijri")):
            accounts.create_user(
                session,
                node.clock,
                SystemActor(),
                username=username,
                password=PASSWORD,
                roles=["liaison_officer"],
                language=language,
                calendar=calendar,
                time_zone="Asia/Tehran",
            )
    node.dispose()
    with NodeProcess(folder, port=load_settings(folder).port) as process:
        token = get_token(process.url, "liaison", PASSWORD)
        for kind, seizure, hours in (
            ("drug_smuggling", {"item": "hashish", "quantity": 120, "unit": "kg"}, 3),
            ("drug_smuggling", {"item": "opium", "quantity": 35.5, "unit": "kg"}, 30),
            ("fuel_smuggling", {"item": "diesel", "quantity": 800, "unit": "l"}, 4),
        ):
            answer = httpx.post(
                f"{process.url}/api/v1/incidents",
                json={
                    "type": kind,
                    "occurred_at": (datetime.now(UTC) - timedelta(hours=hours)).isoformat(),
                    "lat": 28.95,
                    "lon": 61.70,
                    "description": "Exercise: seizure near Taftan",
                    "impact_level": "medium",
                    "seizures": [seizure],
                },
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert answer.status_code == 201, answer.text
        yield process


def _sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login?next=/incidents/reports/statistics")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).not_to_have_url(re.compile(r"/login"))


def _hover_first_value(page: Page, chart_id: str) -> dict[str, Any]:
    """Move the mouse onto the first non-zero bar or point of the chart; what its tooltip then shows."""
    figure = page.locator(f"#chart-{chart_id}")
    expect(figure).to_have_attribute("data-drawn", "1", timeout=20_000)
    canvas = figure.locator("canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    point = page.evaluate(
        """id => {
            const chart = document.getElementById("chart-" + id).chart;
            for (let d = 0; d < chart.data.datasets.length; d++) {
                const values = chart.data.datasets[d].data;
                for (let i = 0; i < values.length; i++) {
                    if (values[i]) {
                        const el = chart.getDatasetMeta(d).data[i];
                        const c = el.getCenterPoint ? el.getCenterPoint() : el;
                        return {x: c.x, y: c.y, value: values[i]};
                    }
                }
            }
            return null;
        }""",
        chart_id,
    )
    assert point is not None, f"chart {chart_id} has no value to hover"
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_function(
        "id => document.getElementById('chart-' + id).chart.tooltip.opacity > 0", arg=chart_id
    )
    shown: dict[str, Any] = page.evaluate(
        """id => {
            const t = document.getElementById("chart-" + id).chart.tooltip;
            return {title: t.title, lines: t.body.flatMap(b => b.lines)};
        }""",
        chart_id,
    )
    return shown


def test_statistics_charts_fill_their_cards_one_unit_each_with_values_on_hover(
    page: Page, pk: NodeProcess
) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1366, "height": 768})
    _sign_in(page, pk.url, "liaison")
    figure = page.locator("#chart-per-section-week")
    expect(figure).to_have_attribute("data-drawn", "1", timeout=20_000)
    card = page.locator("section.chart-card").first
    canvas = figure.locator("canvas")
    card_box, canvas_box = card.bounding_box(), canvas.bounding_box()
    assert card_box is not None and canvas_box is not None
    assert canvas_box["width"] >= 0.85 * card_box["width"], (canvas_box, card_box)
    assert canvas_box["height"] >= 250
    # the figures table stays in the page (closed once the chart is drawn)
    expect(figure.locator("details.chart-figures")).not_to_have_attribute("open", "")
    # one unit per chart: kilograms and litres apart, each axis titled with its unit
    expect(page.locator("#chart-seizures-kg")).to_have_attribute("data-drawn", "1")
    expect(page.locator("#chart-seizures-l")).to_have_attribute("data-drawn", "1")
    units = page.evaluate(
        """() => ["seizures-kg", "seizures-l"].map(id => {
            const chart = document.getElementById("chart-" + id).chart;
            return [chart.options.scales.y.title.text, chart.data.datasets.map(d => d.label)];
        })"""
    )
    assert units == [["kilograms", ["hashish", "opium"]], ["litres", ["diesel"]]]
    shown = _hover_first_value(page, "seizures-l")
    assert any(line == "diesel: 800 litres" for line in shown["lines"]), shown
    shown = _hover_first_value(page, "per-section-week")
    assert any(re.fullmatch(r"Section S\d: [1-3] incidents", line) for line in shown["lines"]), shown
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_persian_charts_label_axes_in_solar_hijri_with_persian_digits(page: Page, pk: NodeProcess) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    _sign_in(page, pk.url, "tahlil")
    figure = page.locator("#chart-seizures-kg")
    expect(figure).to_have_attribute("data-drawn", "1", timeout=20_000)
    labels = page.evaluate("() => document.getElementById('chart-per-section-week').chart.data.labels")
    assert all(re.fullmatch(rf"[۰-۹]+ ({SOLAR_HIJRI_MONTHS})", label) for label in labels), labels
    card_box = page.locator("section.chart-card").nth(1).bounding_box()
    canvas_box = figure.locator("canvas").bounding_box()
    assert card_box is not None and canvas_box is not None
    assert canvas_box["width"] >= 0.85 * card_box["width"]
    shown = _hover_first_value(page, "seizures-kg")
    assert any(re.search(r"[۰-۹]", line) and "hashish" in line for line in shown["lines"]), shown
    assert re.fullmatch(rf"({SOLAR_HIJRI_MONTHS}) ۱۴[۰-۹]{{2}}", shown["title"][0]), shown
