"""Small server-side SVG charts for pages: no JavaScript, no assets, safe to embed, RTL-aware.

Every function returns :class:`markupsafe.Markup` holding one ``<svg>`` element; put it in a template with
``{{ chart }}``. All text (title, labels, series names, unit) is escaped, so user data may be passed as is.
Translate labels before passing them (``_("Delivered")``): the helpers never translate.

API (all keyword arguments after ``*`` are optional except ``title``):

``bar_chart(series, *, title, unit="", width=640, value_format=None, direction=None) -> Markup``
    Horizontal bars, one per ``(label, value)`` pair in ``series`` (order kept). Labels sit on the reading
    start side: left in LTR, right in RTL, and bars grow toward the reading end.

``grouped_bar_chart(categories, series, *, title, unit="", width=640, height=280, ...) -> Markup``
    Vertical bars: for each category, one bar per series. ``series`` maps a series name to one value per
    category (``len(values) == len(categories)``). A legend lists the series. In RTL the first category is
    drawn at the right.

``line_chart(x_labels, series, *, title, unit="", width=640, height=280, ...) -> Markup``
    One polyline per series (``None`` values break the line), points marked, x labels along the bottom
    (thinned when there are many). In RTL the x axis runs right to left.

``histogram(values, *, title, bins=10, unit="", low=None, high=None, ...) -> Markup``
    Counts of ``values`` in ``bins`` equal-width bins between ``low`` and ``high`` (default: the data's min
    and max), drawn as a grouped bar chart with one series; bin labels are ``"a–b"`` in ``unit``.

``direction`` is ``"ltr"`` or ``"rtl"``; by default it follows the current request language
(:data:`sarhad.core.i18n.current_language`). In Persian, numbers are written with Persian digits.
``value_format`` turns a number into text (default: up to 3 significant digits, thousands grouped).
Negative values are drawn from zero. Empty input yields a chart that says "no data" (caller-translated
text can be passed as ``empty_text``).

Colours come from a fixed palette and are also exposed as CSS classes (``chart-s0`` …) for styling; the
``<svg>`` has ``role="img"``, an ``aria-label`` and a ``<title>`` with the chart title, and each bar or point
carries a ``<title>`` tooltip with its label and value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from markupsafe import Markup, escape

from sarhad.core.calendars import PERSIAN_DIGITS
from sarhad.core.i18n import LANGUAGES, current_language

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
INK = "#1d2733"
MUTED = "#5b6775"
GRID = "#d5dbe2"
FONT = "Noto Sans, Noto Naskh Arabic, system-ui, sans-serif"

ValueFormat = Callable[[float], str]


def _direction(direction: str | None) -> str:
    if direction in ("ltr", "rtl"):
        return direction
    if direction is not None:
        raise ValueError(f"direction must be 'ltr' or 'rtl', not {direction!r}")
    language = LANGUAGES.get(current_language.get())
    return language.direction if language else "ltr"


def format_number(value: float) -> str:
    """Up to 3 significant digits, thousands grouped: 1234.5 → ``1,235``, 0.1234 → ``0.123``."""
    if not math.isfinite(value):
        return "–"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}"
    if magnitude >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def _localise_digits(text: str) -> str:
    return text.translate(PERSIAN_DIGITS) if current_language.get() == "fa" else text


def _fmt(value: float, value_format: ValueFormat | None, unit: str) -> str:
    text = _localise_digits((value_format or format_number)(value))
    return f"{text} {unit}".strip() if unit else text


def _anchor(physical: str, direction: str) -> str:
    """SVG text-anchor for a physical side ('left' or 'right' edge of the text at x) in a direction."""
    if physical == "middle":
        return "middle"
    if direction == "ltr":
        return "start" if physical == "left" else "end"
    return "end" if physical == "left" else "start"


def _text(
    x: float,
    y: float,
    content: str,
    *,
    physical: str,
    direction: str,
    size: int = 12,
    fill: str = INK,
    weight: str | None = None,
) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{_anchor(physical, direction)}" '
        f'font-size="{size}" fill="{fill}"{bold}>{escape(content)}</text>'
    )


def _open(width: int, height: int, title: str, direction: str, kind: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" direction="{direction}" '
        f'font-family="{FONT}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        _text(width / 2, 18, title, physical="middle", direction=direction, size=14, weight="600"),
    ]


def _empty(width: int, title: str, direction: str, kind: str, empty_text: str) -> Markup:
    parts = _open(width, 60, title, direction, kind)
    parts.append(_text(width / 2, 44, empty_text, physical="middle", direction=direction, fill=MUTED))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text piece was escaped by _text/escape


def _nice_max(value: float) -> float:
    """A round axis maximum ≥ value (1, 2, 2.5, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10**exponent
        if candidate >= value * (1 - 1e-12):
            return float(candidate)
    return float(10.0 ** (exponent + 1))


def _check_finite(values: Sequence[float | None], what: str) -> None:
    for value in values:
        if value is not None and not math.isfinite(value):
            raise ValueError(f"{what}: values must be finite numbers, got {value!r}")


def bar_chart(
    series: Sequence[tuple[str, float]],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    bar_height: int = 22,
    value_format: ValueFormat | None = None,
    direction: str | None = None,
    empty_text: str = "—",
) -> Markup:
    """Horizontal bar chart of ``(label, value)`` pairs; see the module docstring."""
    direction = _direction(direction)
    if not series:
        return _empty(width, title, direction, "bar", empty_text)
    _check_finite([value for _, value in series], "bar_chart")
    label_width = min(220, max(60, 7 * max(len(label) for label, _ in series) + 10))
    value_width = 90
    plot = max(40, width - label_width - value_width - 20)
    top = 32
    gap = 6
    height = top + len(series) * (bar_height + gap) + 10
    top_value = max(abs(value) for _, value in series) or 1.0
    parts = _open(width, height, title, direction, "bar")
    for index, (label, value) in enumerate(series):
        y = top + index * (bar_height + gap)
        length = plot * abs(value) / top_value
        middle = y + bar_height / 2 + 4
        shown = _fmt(value, value_format, unit)
        if direction == "ltr":
            label_x, label_side = label_width - 6, "right"
            bar_x = float(label_width)
            value_x, value_side = bar_x + length + 4, "left"
        else:
            label_x, label_side = width - label_width + 6, "left"
            bar_x = width - label_width - length
            value_x, value_side = bar_x - 4, "right"
        colour = PALETTE[0] if value >= 0 else PALETTE[1]
        parts.append(_text(label_x, middle, label, physical=label_side, direction=direction))
        parts.append(
            f'<rect class="chart-s0" x="{bar_x:.1f}" y="{y:.1f}" width="{length:.1f}" '
            f'height="{bar_height}" fill="{colour}"><title>{escape(label)}: {escape(shown)}</title></rect>'
        )
        parts.append(_text(value_x, middle, shown, physical=value_side, direction=direction, fill=MUTED))
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text piece was escaped by _text/escape


def _axes(
    parts: list[str],
    *,
    left: float,
    right: float,
    top: float,
    bottom: float,
    low: float,
    high: float,
    unit: str,
    value_format: ValueFormat | None,
    direction: str,
) -> Callable[[float], float]:
    """Horizontal grid lines with value labels (on the reading-start side); returns value → y."""

    def y_of(value: float) -> float:
        return bottom - (value - low) / (high - low) * (bottom - top)

    for tick in range(5):
        value = low + (high - low) * tick / 4
        y = y_of(value)
        parts.append(
            f'<line x1="{left:.1f}" x2="{right:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}" '
            'stroke-width="1"/>'
        )
        if direction == "ltr":
            parts.append(
                _text(
                    left - 4,
                    y + 4,
                    _fmt(value, value_format, unit),
                    physical="right",
                    direction=direction,
                    size=11,
                    fill=MUTED,
                )
            )
        else:
            parts.append(
                _text(
                    right + 4,
                    y + 4,
                    _fmt(value, value_format, unit),
                    physical="left",
                    direction=direction,
                    size=11,
                    fill=MUTED,
                )
            )
    return y_of


def _legend(parts: list[str], names: Sequence[str], *, y: float, width: int, direction: str) -> None:
    x = 10.0 if direction == "ltr" else width - 10.0
    for index, name in enumerate(names):
        colour = PALETTE[index % len(PALETTE)]
        step = 14 + 7 * len(name) + 16
        if direction == "ltr":
            parts.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="10" height="10" fill="{colour}"/>')
            parts.append(_text(x + 14, y, name, physical="left", direction=direction, size=11))
            x += step
        else:
            parts.append(f'<rect x="{x - 10:.1f}" y="{y - 10:.1f}" width="10" height="10" fill="{colour}"/>')
            parts.append(_text(x - 14, y, name, physical="right", direction=direction, size=11))
            x -= step


def _frame(width: int, height: int, direction: str, with_legend: bool) -> tuple[float, float, float, float]:
    axis_width = 70.0
    if direction == "ltr":
        left, right = axis_width, width - 10.0
    else:
        left, right = 10.0, width - axis_width
    top = 32.0
    bottom = height - (48.0 if with_legend else 30.0)
    return left, right, top, bottom


def grouped_bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 280,
    value_format: ValueFormat | None = None,
    direction: str | None = None,
    empty_text: str = "—",
) -> Markup:
    """Vertical bars, one group per category and one bar per series; see the module docstring."""
    direction = _direction(direction)
    for name, values in series.items():
        if len(values) != len(categories):
            raise ValueError(
                f"grouped_bar_chart: series {name!r} has {len(values)} values for {len(categories)} categories"
            )
        _check_finite(values, "grouped_bar_chart")
    if not categories or not series:
        return _empty(width, title, direction, "grouped-bar", empty_text)
    names = list(series)
    all_values = [value for values in series.values() for value in values]
    high = _nice_max(max(max(all_values), 0.0))
    low = -_nice_max(-min(all_values)) if min(all_values) < 0 else 0.0
    with_legend = len(names) > 1
    left, right, top, bottom = _frame(width, height, direction, with_legend)
    parts = _open(width, height, title, direction, "grouped-bar")
    y_of = _axes(
        parts,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        low=low,
        high=high,
        unit=unit,
        value_format=value_format,
        direction=direction,
    )
    group = (right - left) / len(categories)
    bar = max(1.0, group * 0.8 / len(names))
    zero = y_of(0.0)
    thin = max(1, math.ceil(len(categories) * 60 / (right - left)))
    for c_index, category in enumerate(categories):
        slot = c_index if direction == "ltr" else len(categories) - 1 - c_index
        group_x = left + slot * group + group * 0.1
        for s_index, name in enumerate(names):
            value = series[name][c_index]
            position = s_index if direction == "ltr" else len(names) - 1 - s_index
            x = group_x + position * bar
            y = min(y_of(value), zero)
            h = abs(zero - y_of(value))
            shown = _fmt(value, value_format, unit)
            tooltip = f"{category} · {name}: {shown}" if with_legend else f"{category}: {shown}"
            parts.append(
                f'<rect class="chart-s{s_index % len(PALETTE)}" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[s_index % len(PALETTE)]}"><title>{escape(tooltip)}</title></rect>'
            )
        if c_index % thin == 0:
            parts.append(
                _text(
                    left + slot * group + group / 2,
                    bottom + 16,
                    category,
                    physical="middle",
                    direction=direction,
                    size=11,
                )
            )
    if with_legend:
        _legend(parts, names, y=height - 10, width=width, direction=direction)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text piece was escaped by _text/escape


def line_chart(
    x_labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    *,
    title: str,
    unit: str = "",
    width: int = 640,
    height: int = 280,
    value_format: ValueFormat | None = None,
    direction: str | None = None,
    empty_text: str = "—",
) -> Markup:
    """One line per series over the x labels (``None`` breaks a line); see the module docstring."""
    direction = _direction(direction)
    for name, values in series.items():
        if len(values) != len(x_labels):
            raise ValueError(
                f"line_chart: series {name!r} has {len(values)} values for {len(x_labels)} x labels"
            )
        _check_finite(values, "line_chart")
    present = [value for values in series.values() for value in values if value is not None]
    if not x_labels or not present:
        return _empty(width, title, direction, "line", empty_text)
    names = list(series)
    high = _nice_max(max(max(present), 0.0))
    low = -_nice_max(-min(present)) if min(present) < 0 else 0.0
    with_legend = len(names) > 1
    left, right, top, bottom = _frame(width, height, direction, with_legend)
    parts = _open(width, height, title, direction, "line")
    y_of = _axes(
        parts,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        low=low,
        high=high,
        unit=unit,
        value_format=value_format,
        direction=direction,
    )
    count = len(x_labels)

    def x_of(index: int) -> float:
        fraction = 0.5 if count == 1 else index / (count - 1)
        if direction == "rtl":
            fraction = 1 - fraction
        return left + 10 + fraction * (right - left - 20)

    thin = max(1, math.ceil(count * 60 / (right - left)))
    for index, label in enumerate(x_labels):
        if index % thin == 0:
            parts.append(
                _text(x_of(index), bottom + 16, label, physical="middle", direction=direction, size=11)
            )
    for s_index, name in enumerate(names):
        colour = PALETTE[s_index % len(PALETTE)]
        segment: list[str] = []
        segments: list[list[str]] = [segment]
        for index, value in enumerate(series[name]):
            if value is None:
                segment = []
                segments.append(segment)
                continue
            segment.append(f"{x_of(index):.1f},{y_of(value):.1f}")
        for points in segments:
            if len(points) > 1:
                parts.append(
                    f'<polyline class="chart-s{s_index % len(PALETTE)}" fill="none" stroke="{colour}" '
                    f'stroke-width="2" points="{" ".join(points)}"/>'
                )
        for index, value in enumerate(series[name]):
            if value is None:
                continue
            shown = _fmt(value, value_format, unit)
            tooltip = f"{x_labels[index]} · {name}: {shown}" if with_legend else f"{x_labels[index]}: {shown}"
            parts.append(
                f'<circle cx="{x_of(index):.1f}" cy="{y_of(value):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(tooltip)}</title></circle>"
            )
    if with_legend:
        _legend(parts, names, y=height - 10, width=width, direction=direction)
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text piece was escaped by _text/escape


def histogram_bins(
    values: Sequence[float], *, bins: int = 10, low: float | None = None, high: float | None = None
) -> list[tuple[float, float, int]]:
    """``(start, end, count)`` for ``bins`` equal-width bins; the last bin includes its end; values outside
    ``[low, high]`` are not counted."""
    if bins < 1:
        raise ValueError("histogram: bins must be at least 1")
    _check_finite(values, "histogram")
    if not values and (low is None or high is None):
        return []
    start = min(values) if low is None else low
    end = max(values) if high is None else high
    if end < start:
        raise ValueError("histogram: high must not be below low")
    if end == start:
        end = start + 1.0
    step = (end - start) / bins
    counts = [0] * bins
    for value in values:
        if value < start or value > end:
            continue
        index = min(bins - 1, int((value - start) / step))
        counts[index] += 1
    return [(start + i * step, start + (i + 1) * step, counts[i]) for i in range(bins)]


def histogram(
    values: Sequence[float],
    *,
    title: str,
    bins: int = 10,
    unit: str = "",
    low: float | None = None,
    high: float | None = None,
    width: int = 640,
    height: int = 280,
    value_format: ValueFormat | None = None,
    direction: str | None = None,
    empty_text: str = "—",
) -> Markup:
    """Counts of values in equal-width bins, as vertical bars; see the module docstring."""
    counted = histogram_bins(values, bins=bins, low=low, high=high)
    if not counted:
        return _empty(width, title, _direction(direction), "grouped-bar", empty_text)
    categories = [
        f"{_fmt(start, value_format, '')}–{_fmt(end, value_format, unit)}" for start, end, _ in counted
    ]
    return grouped_bar_chart(
        categories,
        {title: [float(count) for _, _, count in counted]},
        title=title,
        width=width,
        height=height,
        direction=direction,
        empty_text=empty_text,
    )
