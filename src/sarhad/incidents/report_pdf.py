"""The daily situation report as a PDF, in the viewer's language, calendar and time zone.

English, Urdu and Persian, drawn by fpdf2 with text shaping through HarfBuzz (``uharfbuzz``): Arabic-script
letters are joined and ordered right to left by the Unicode bidi algorithm, and right-to-left pages are laid
out from the right. Fonts are Debian's ``fonts-noto-core`` (Noto Sans; Noto Naskh Arabic for Persian; Noto
Nastaliq Urdu for Urdu), looked up in ``SARHAD_FONT_DIR`` or ``/usr/share/fonts/truetype/noto``; Noto Sans is
the fallback for Latin text inside Urdu or Persian lines. Without those fonts (or without ``uharfbuzz``) the
report falls back to English in a core font, any Arabic-script text replaced by a pointer to the page.

Every page carries the report's TLP label in its header and footer. A map of the day's incidents is drawn as
vector paths from the node's own border lines and the incidents' points (no tiles, no network).
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from sqlalchemy import select

from sarhad.border import domain as border_domain
from sarhad.border.models import BorderLine
from sarhad.core.calendars import PERSIAN_DIGITS, format_datetime
from sarhad.core.i18n import LANGUAGES, current_language
from sarhad.core.i18n import gettext as _
from sarhad.core.node import Node
from sarhad.core.text import strip_bidi_overrides
from sarhad.incidents.reports import DailyReport
from sarhad.web.chartdata import digits

DEFAULT_FONT_DIR = Path("/usr/share/fonts/truetype/noto")
FONT_FILES: dict[str, tuple[str, str]] = {
    "sans": ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"),
    "naskh": ("NotoNaskhArabic-Regular.ttf", "NotoNaskhArabic-Bold.ttf"),
    "nastaliq": ("NotoNastaliqUrdu-Regular.ttf", "NotoNastaliqUrdu-Bold.ttf"),
}
LANGUAGE_FONT = {"en": "sans", "fa": "naskh", "ur": "nastaliq"}
LINE_HEIGHT = {"sans": 1.0, "naskh": 1.25, "nastaliq": 1.9}  # Nastaliq's letters climb and fall far
# TLP 2.0 colours: the label in its colour on black
TLP_COLOURS: dict[str, tuple[int, int, int]] = {
    "clear": (255, 255, 255),
    "green": (51, 255, 0),
    "amber": (255, 192, 0),
    "amber+strict": (255, 192, 0),
    "red": (255, 43, 43),
}
IMPACT_COLOURS: dict[str, tuple[int, int, int]] = {
    "low": (37, 99, 235),
    "medium": (217, 119, 6),
    "high": (220, 38, 38),
    "very_high": (127, 29, 29),
}
INK = (29, 39, 51)
MUTED = (91, 103, 117)
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_LATIN_RUN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./+-]*")
RLM = "\u200f"


@dataclass(frozen=True)
class Viewer:
    """Whose report: the language, time zone and calendar it is written in."""

    language: str = "en"
    time_zone: str = "UTC"
    calendar: str = "gregorian"


def font_dir() -> Path:
    return Path(os.environ.get("SARHAD_FONT_DIR") or DEFAULT_FONT_DIR)


def shaping_available() -> bool:
    """True when the fonts and HarfBuzz that the Urdu and Persian reports need are installed."""
    folder = font_dir()
    fonts = all((folder / name).is_file() for pair in FONT_FILES.values() for name in pair)
    return fonts and importlib.util.find_spec("uharfbuzz") is not None


def pdf_text(text: str) -> str:
    """Text the core-font fallback can show without mangling it: a text in Urdu or Persian is replaced by a
    pointer to the page rather than printed as disconnected or reversed letters; other characters outside
    Latin-1 become '?'."""
    if _ARABIC_SCRIPT.search(text):
        return "[text in Urdu/Persian: see the report page]"
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u2019", "'").replace("\u2018", "'")
    text = text.replace("\u00b7", "-")
    return text.encode("latin-1", "replace").decode("latin-1")


def bidi_text(value: str, *, rtl: bool) -> str:
    """In a right-to-left line, each Latin run (party code, section, unit, number) ends with a right-to-left
    mark, so the separators and numbers after it stay in the line's right-to-left order."""
    return _LATIN_RUN.sub(lambda m: m.group(0) + RLM, value) if rtl else value


@contextmanager
def _language(code: str) -> Iterator[None]:
    token = current_language.set(code)
    try:
        yield
    finally:
        current_language.reset(token)


class _ReportPdf(FPDF):
    """A4 portrait with the TLP label and the report's name in the header and the footer of every page."""

    def __init__(
        self, *, tlp: str, title: str, rtl: bool, font: str | None, page_label: Callable[[int], str]
    ):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.tlp, self.report_title, self.rtl, self.font_name = tlp, title, rtl, font
        self.page_label = page_label
        self.set_auto_page_break(auto=True, margin=18)

    def _font(self, style: str, size: float) -> None:
        if self.font_name is None:
            self.set_font("Helvetica", style, size)
        else:
            self.set_font(self.font_name, style, size)

    def _text(self, text: str) -> str:
        # no bidi embeddings or overrides from stored or received text: they cannot reorder the line
        text = strip_bidi_overrides(text)
        return pdf_text(text) if self.font_name is None else bidi_text(text, rtl=self.rtl)

    def tlp_mark(self, y: float) -> None:
        label = f"TLP:{self.tlp.upper()}"
        self.set_font("Helvetica", "B", 9)  # the marking is Latin by definition (TLP 2.0)
        width = self.get_string_width(label) + 4
        x = self.l_margin if self.rtl else self.w - self.r_margin - width
        self.set_xy(x, y)
        self.set_fill_color(0, 0, 0)
        self.set_text_color(*TLP_COLOURS.get(self.tlp, TLP_COLOURS["red"]))
        self.cell(width, 5, label, fill=True, align="C")
        self.set_text_color(*INK)

    def header(self) -> None:
        self.tlp_mark(7)
        self.set_text_color(*MUTED)
        self._font("", 8)
        width = self.w - self.l_margin - self.r_margin - 30
        x = self.w - self.r_margin - width if self.rtl else self.l_margin
        self.set_xy(x, 6 if self.font_name != "nastaliq" else 4)
        self.cell(width, 7, self._text(self.report_title), align="R" if self.rtl else "L")
        self.set_text_color(*INK)
        self.set_xy(self.l_margin, 15)

    def footer(self) -> None:
        self.tlp_mark(self.h - 12)
        self.set_text_color(*MUTED)
        self._font("", 8)
        width = self.w - self.l_margin - self.r_margin - 30
        x = self.w - self.r_margin - width if self.rtl else self.l_margin
        self.set_xy(x, self.h - 13 if self.font_name != "nastaliq" else self.h - 15)
        self.cell(width, 7, self._text(self.page_label(self.page_no())), align="R" if self.rtl else "L")
        self.set_text_color(*INK)


class _Writer:
    """Paragraphs, headings and two-column tables that follow the page's direction."""

    def __init__(self, pdf: _ReportPdf, *, digits: bool) -> None:
        self.pdf, self.digits = pdf, digits
        self.scale = LINE_HEIGHT.get(pdf.font_name or "sans", 1.0)

    def text(self, value: str) -> str:
        return self.pdf._text(value)

    def number(self, value: float) -> str:
        text = f"{value:,.3f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value):,}"
        return text.translate(PERSIAN_DIGITS) if self.digits else text

    def line(self, value: str, size: float = 10, style: str = "", colour: tuple[int, int, int] = INK) -> None:
        pdf = self.pdf
        pdf._font(style, size)
        pdf.set_text_color(*colour)
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(
            0,
            size * 0.5 * self.scale,
            self.text(value),
            align="R" if pdf.rtl else "L",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_text_color(*INK)

    def heading(self, value: str) -> None:
        self.pdf.ln(2)
        self.line(value, 12, "B")

    def pairs(self, rows: list[tuple[str, str]]) -> None:
        """A two-column table (label, figure); in right-to-left pages the label is on the right."""
        pdf = self.pdf
        pdf._font("", 10)
        height = 6.5 * self.scale
        width = pdf.w - pdf.l_margin - pdf.r_margin
        label_w, figure_w = width * 0.75, width * 0.25
        pdf.set_draw_color(213, 219, 226)
        for label, figure in rows:
            if pdf.will_page_break(height):
                pdf.add_page()
            pdf.set_x(pdf.l_margin)
            cells = [(label_w, self.text(label), "R" if pdf.rtl else "L"), (figure_w, figure, "C")]
            for w, text, align in reversed(cells) if pdf.rtl else cells:
                pdf.cell(w, height, text, border="B", align=align)
            pdf.ln(height)


def _border_paths(node: Node) -> list[list[tuple[float, float]]]:
    paths: list[list[tuple[float, float]]] = []
    with node.sessions() as session:
        for row in session.scalars(select(BorderLine).order_by(BorderLine.id)):
            for part in border_domain.parts_of(border_domain.as_line(row.geometry)):
                paths.append([(float(c[0]), float(c[1])) for c in part.coords])
    return paths


def _draw_map(
    pdf: _ReportPdf, writer: _Writer, lines: list[list[tuple[float, float]]], report: DailyReport
) -> None:
    """The border lines and the day's incidents in a plate carrée box scaled by the cosine of the latitude."""
    points = [(lon, lat) for lon, lat, _impact in report.points]
    everything = [p for path in lines for p in path] + points
    if not everything:
        return
    west, east = min(p[0] for p in everything), max(p[0] for p in everything)
    south, north = min(p[1] for p in everything), max(p[1] for p in everything)
    pad_x, pad_y = max((east - west) * 0.04, 0.05), max((north - south) * 0.04, 0.05)
    west, east, south, north = west - pad_x, east + pad_x, south - pad_y, north + pad_y
    k = math.cos(math.radians((south + north) / 2))
    box_w = pdf.w - pdf.l_margin - pdf.r_margin
    box_h = min(110.0, box_w * (north - south) / ((east - west) * k))
    scale = min(box_w / ((east - west) * k), box_h / (north - south))
    if pdf.will_page_break(box_h + 12):
        pdf.add_page()
    top, left = pdf.get_y() + 1, pdf.l_margin + (box_w - (east - west) * k * scale) / 2

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return left + (lon - west) * k * scale, top + (north - lat) * scale

    pdf.set_draw_color(213, 219, 226)
    pdf.set_line_width(0.2)
    pdf.rect(pdf.l_margin, top, box_w, box_h)
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.6)
    for path in lines:
        if len(path) >= 2:
            pdf.polyline([xy(lon, lat) for lon, lat in path])
    pdf.set_line_width(0.15)
    pdf.set_draw_color(255, 255, 255)
    for lon, lat, impact in report.points:
        pdf.set_fill_color(*IMPACT_COLOURS.get(impact, MUTED))
        x, y = xy(lon, lat)
        pdf.circle(x, y, 1.2, style="FD")
    pdf.set_y(top + box_h + 1)
    pdf.set_line_width(0.2)
    items = [(INK, _("Border line"), False)]
    items += [(IMPACT_COLOURS[impact], label, True) for impact, label in _impact_labels(report)]
    _legend(pdf, writer, items)


def _legend(pdf: _ReportPdf, writer: _Writer, items: list[tuple[tuple[int, int, int], str, bool]]) -> None:
    """Swatches (a dash for a line, a dot for points) and their labels, from the reading start side."""
    pdf._font("", 8)
    height = 5 * writer.scale
    y = pdf.get_y() + 1
    x = pdf.w - pdf.r_margin if pdf.rtl else pdf.l_margin
    for colour, label, dot in items:
        text = writer.text(label)
        width = pdf.get_string_width(text) + 2
        swatch_x = x - 4 if pdf.rtl else x
        pdf.set_fill_color(*colour)
        pdf.set_draw_color(*colour)
        if dot:
            pdf.circle(swatch_x + 2, y + height / 2, 1.2, style="F")
        else:
            pdf.set_line_width(0.6)
            pdf.line(swatch_x, y + height / 2, swatch_x + 4, y + height / 2)
            pdf.set_line_width(0.2)
        text_x = swatch_x - width - 1 if pdf.rtl else swatch_x + 5
        pdf.set_xy(text_x, y)
        pdf.cell(width, height, text, align="R" if pdf.rtl else "L")
        x = text_x - 4 if pdf.rtl else text_x + width + 4
    pdf.set_xy(pdf.l_margin, y + height + 1)


def _impact_labels(report: DailyReport) -> list[tuple[str, str]]:
    from sarhad.incidents.pages import codes

    names = codes()
    seen = {impact for _lon, _lat, impact in report.points}
    return [(impact, names.get(impact, impact)) for impact in IMPACT_COLOURS if impact in seen]


def _add_fonts(pdf: _ReportPdf) -> None:
    folder = font_dir()
    for family, (regular, bold) in FONT_FILES.items():
        pdf.add_font(family, "", str(folder / regular))
        pdf.add_font(family, "B", str(folder / bold))


def daily_report_pdf(node: Node, report: DailyReport, viewer: Viewer | None = None) -> bytes:
    """The report as PDF bytes, written for ``viewer`` (default: English, the node's zone, Gregorian)."""
    from sarhad.incidents.pages import codes
    from sarhad.incidents.taxonomy import type_name

    viewer = viewer or Viewer("en", report.zone, "gregorian")
    shaped = shaping_available()
    language = viewer.language if shaped and viewer.language in LANGUAGES else "en"
    calendar: Any = viewer.calendar if viewer.calendar in ("gregorian", "solar_hijri") else "gregorian"
    zone = viewer.time_zone
    try:
        ZoneInfo(zone)
    except (KeyError, ValueError):
        zone = report.zone
    with _language(language):
        names = codes()

        def when(instant: datetime, with_time: bool = True) -> str:
            return format_datetime(instant, zone, calendar, language, with_time=with_time)

        noon = datetime.combine(report.day, time(12), tzinfo=ZoneInfo(report.zone))
        day_text = format_datetime(noon, report.zone, calendar, language, with_time=False)
        title = f"{_('Daily situation report')} · {report.party} · {day_text}"
        rtl = LANGUAGES[language].direction == "rtl"
        font = LANGUAGE_FONT[language] if shaped else None
        pdf = _ReportPdf(
            tlp=report.tlp,
            title=pdf_text(title) if font is None else title,
            rtl=rtl,
            font=font,
            page_label=lambda n: _("Page %(number)s") % {"number": digits(str(n), language)},
        )
        pdf.set_title(pdf_text(f"Daily situation report {report.party} {report.day.isoformat()}"))
        pdf.set_lang(language)
        if font is not None:
            _add_fonts(pdf)
            pdf.set_text_shaping(True)
            pdf.set_fallback_fonts(["sans"] if font != "sans" else ["naskh"])
        writer = _Writer(pdf, digits=language == "fa")
        pdf.add_page()
        writer.line(title, 15, "B")
        writer.line(
            f"{_('00:00–24:00 in')} {report.zone} ({when(report.since)} – {when(report.until)}, {zone}) · "
            f"{_('generated')} {when(report.generated_at)}",
            9,
            colour=MUTED,
        )
        origins = " · ".join(f"{o} {writer.number(n)}" for o, n in report.by_origin.items())
        writer.line(f"{_('Incidents')}: {writer.number(report.total)}  {origins}", 12, "B")
        writer.heading(_("Map of the day's incidents"))
        _draw_map(pdf, writer, _border_paths(node), report)
        writer.heading(_("Incidents by type"))
        writer.pairs([(type_name(node, k, language), writer.number(v)) for k, v in report.by_type.items()])
        if not report.by_type:
            writer.line(_("No incidents"), colour=MUTED)
        writer.heading(_("Incidents by section"))
        writer.pairs([(f"{_('Section')} {k}", writer.number(v)) for k, v in report.by_section.items()])
        if report.seizures:
            writer.heading(_("Seizures"))
            writer.pairs(
                [(f"{s['item']} ({s['unit']})", writer.number(float(s["quantity"]))) for s in report.seizures]
            )
        writer.heading(_("Notable incidents"))
        if not report.notable:
            writer.line(_("None"), colour=MUTED)
        for i in report.notable:
            casualties = " · ".join(
                f"{names.get(k, k)} {writer.number(v)}" for k, v in i.casualties.items() if v
            )
            parts = [
                when(i.occurred_at),
                i.origin,
                type_name(node, i.type, language),
                f"{_('Section')} {i.section_id or '—'}",
                names.get(i.impact_level, i.impact_level),
            ]
            if casualties:
                parts.append(casualties)
            if i.exercise:
                parts.append(_("EXERCISE"))
            writer.line(" · ".join(parts), 10, "B")
            description = i.description[:400]
            writer.line(description if font is not None else pdf_text(description), 9)
        writer.heading(_("Open requests"))
        if not report.requests_available:
            writer.line(_("Requests are not available on this node."), colour=MUTED)
        elif not report.open_requests:
            writer.line(_("None"), colour=MUTED)
        for r in report.open_requests:
            deadline = r["deadline"]
            due = when(deadline) if isinstance(deadline, datetime) else str(deadline or "—")
            overdue = f" · {_('overdue')}" if r["overdue"] else ""
            writer.line(
                f"{names.get(r['direction'], r['direction'])} · {r['kind']} · {r['incident_origin']} · "
                f"{_('deadline')} {due}{overdue}",
                10,
                "B",
            )
            if r["summary"]:
                writer.line(str(r["summary"]), 9)
        return bytes(pdf.output())
