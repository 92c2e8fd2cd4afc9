"""Charts for pages, drawn in the browser by Chart.js (served locally from ``/static/vendor/chart.js``).

The server decides everything a reader sees — titles, series names, the unit of the value axis, and the axis
labels written in the viewer's calendar and digits (``day_label``, ``week_label``, ``month_label``) — and puts
it in a ``<script type="application/json">`` element; ``/static/charts.js`` only draws it (the node's CSP is
``script-src 'self'``: no inline script, no eval). A chart has ONE unit: figures in different units (litres
and kilograms) go in separate charts (``by_unit``). Without JavaScript the same figures are shown as a table.

Use in a template: ``{% import "_chart.html" as ch %}{{ ch.chart(c) }}`` and in the page's head
``{{ ch.assets() }}``; in Python build ``Chart(...)`` with already translated text (the helpers never
translate).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from markupsafe import Markup

from sarhad.core.calendars import GREGORIAN_MONTHS, PERSIAN_DIGITS, SOLAR_HIJRI_MONTHS, calendar_date
from sarhad.core.i18n import LANGUAGES

Kind = Literal["bar", "line"]
PALETTE: tuple[str, ...] = (
    "#0b6e4f",
    "#c2410c",
    "#1d4ed8",
    "#a21caf",
    "#b45309",
    "#0f766e",
    "#be123c",
    "#4d7c0f",
)


def digits(text: str, language: str) -> str:
    """Persian digits on Persian pages; Latin digits otherwise (Urdu pages write Latin digits)."""
    return text.translate(PERSIAN_DIGITS) if language == "fa" else text


def _parts(day: date, calendar: str) -> tuple[int, int, int]:
    noon = datetime.combine(day, time(12), tzinfo=ZoneInfo("UTC"))
    return calendar_date(noon, "UTC", "solar_hijri" if calendar == "solar_hijri" else "gregorian")


def _month_names(calendar: str, language: str) -> tuple[str, ...]:
    table = SOLAR_HIJRI_MONTHS if calendar == "solar_hijri" else GREGORIAN_MONTHS
    return tuple(table.get(language, table["en"]))


def day_label(day: date, calendar: str, language: str, *, year: bool = False) -> str:
    """A day on an axis: ``16 Azar`` (``۱۶ آذر`` in Persian), with the year when asked."""
    y, m, d = _parts(day, calendar)
    text = f"{d} {_month_names(calendar, language)[m - 1]}" + (f" {y}" if year else "")
    return digits(text, language)


def week_label(monday: str | date, calendar: str, language: str) -> str:
    """A week on an axis, by the day it starts (``YYYY-MM-DD`` or a date)."""
    start = date.fromisoformat(monday) if isinstance(monday, str) else monday
    return day_label(start, calendar, language)


def month_label(month: str, calendar: str, language: str) -> str:
    """A Gregorian month (``YYYY-MM``, how the statistics count) on an axis. In the Solar Hijri calendar a
    Gregorian month straddles two Solar Hijri months; it is named by its middle (the 15th)."""
    year, number = (int(p) for p in month.split("-"))
    if calendar != "solar_hijri":
        return digits(f"{_month_names(calendar, language)[number - 1]} {year}", language)
    y, m, _d = _parts(date(year, number, 15), calendar)
    return digits(f"{_month_names(calendar, language)[m - 1]} {y}", language)


def format_value(value: float | None, language: str) -> str:
    """A figure for the table: up to three decimals, thousands grouped, the viewer's digits."""
    if value is None or not math.isfinite(value):
        return "—"
    text = f"{int(value):,}" if value == int(value) else f"{value:,.3f}".rstrip("0").rstrip(".")
    return digits(text, language)


@dataclass
class Series:
    name: str
    values: list[float | None]


@dataclass
class Chart:
    """One chart: categories along one axis, one or more series, values in one ``unit``."""

    id: str  # unique on the page: [a-z0-9-]
    title: str
    labels: list[str]
    series: list[Series]
    unit: str  # the value axis title, e.g. "incidents" or "kg" (already translated)
    kind: Kind = "bar"
    language: str = "en"
    horizontal: bool = False
    stacked: bool = False
    empty_text: str = ""
    category_title: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9-]{1,40}", self.id):
            raise ValueError(f"chart id {self.id!r}: use 1-40 of a-z, 0-9 and '-'")
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(
                    f"series {s.name!r} has {len(s.values)} values for {len(self.labels)} labels"
                )

    @property
    def empty(self) -> bool:
        return not self.labels or not any(v for s in self.series for v in s.values)

    @property
    def rtl(self) -> bool:
        language = LANGUAGES.get(self.language)
        return bool(language and language.direction == "rtl")

    def rows(self) -> list[tuple[str, list[str]]]:
        """The figures as table rows: a category and its formatted value in each series."""
        return [
            (label, [format_value(s.values[k], self.language) for s in self.series])
            for k, label in enumerate(self.labels)
        ]

    def config(self) -> dict[str, Any]:
        """What ``charts.js`` draws: plain data, no functions."""
        return {
            "kind": self.kind,
            "title": self.title,
            "labels": self.labels,
            "series": [
                {"name": s.name, "values": s.values, "colour": PALETTE[k % len(PALETTE)]}
                for k, s in enumerate(self.series)
            ],
            "unit": self.unit,
            "categoryTitle": self.category_title,
            "horizontal": self.horizontal,
            "stacked": self.stacked,
            "rtl": self.rtl,
            "locale": {"fa": "fa-IR", "ur": "ur-PK"}.get(self.language, "en-GB"),
            **self.extra,
        }

    def config_json(self) -> Markup:
        """The config as JSON safe inside ``<script type="application/json">`` (no ``<``, ``>`` or ``&``)."""
        text = json.dumps(self.config(), ensure_ascii=False, separators=(",", ":"))
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        return Markup(text)  # noqa: S704 - JSON with the characters that could end the element escaped


def by_unit(
    values: Mapping[str, Sequence[float]],
) -> dict[str, dict[str, list[float | None]]]:
    """``{"hashish (kg)": [...], "diesel (l)": [...]}`` → ``{"kg": {"hashish": [...]}, "l": {"diesel": [...]}}``:
    one chart per unit, so litres and kilograms never share an axis."""
    grouped: dict[str, dict[str, list[float | None]]] = {}
    for key, series in values.items():
        match = re.fullmatch(r"(.*) \(([^()]+)\)", key)
        item, unit = (match.group(1), match.group(2)) if match else (key, "")
        grouped.setdefault(unit, {})[item] = list(series)
    return dict(sorted(grouped.items()))
