"""Jinja2 environment: one loader over every feature package's ``templates`` folder, gettext, dates."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from sarhad.accounts.services import Principal
from sarhad.core.calendars import CalendarName, format_datetime, format_iso_date, intl_locale
from sarhad.core.i18n import LANGUAGES, current_language, gettext, ngettext, pick_name
from sarhad.core.text import strip_bidi_overrides
from sarhad.web.chrome import add_nav_item, layout_context, navigation, navigation_more
from sarhad.web.deps import get_node
from sarhad.web.localize import (
    format_number,
    joint_title,
    label,
    localize_digits_in_html,
    node_display_name,
    weekly,
)

__all__ = ["add_nav_item", "environment", "isolate", "navigation", "render"]

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


@cache
def environment() -> Environment:
    folders = [str(PACKAGE_ROOT / "web" / "templates")]
    folders += sorted(str(p) for p in PACKAGE_ROOT.glob("*/templates") if p.parent.name != "web")
    env = Environment(
        loader=FileSystemLoader(folders),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=without_bidi_overrides,
    )
    env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals["pick_name"] = pick_name
    env.filters["bdi"] = isolate
    env.filters["label"] = label
    env.filters["joint_title"] = joint_title
    env.filters["weekly"] = weekly
    env.filters["num"] = number
    env.globals["arrow"] = arrow
    env.globals["dt"] = viewer_datetime
    env.filters["dt"] = viewer_datetime
    return env


def without_bidi_overrides(value: Any) -> Any:
    """Every value a template prints, without bidi embeddings, overrides and isolates (``sarhad.core.text``):
    text stored before the input rule, or received from a peer, cannot reorder the page around it."""
    if isinstance(value, Markup):
        cleaned = strip_bidi_overrides(str(value))
        return value if cleaned == value else Markup(cleaned)  # noqa: S704 - fewer characters, still safe
    if isinstance(value, str):
        return strip_bidi_overrides(value)
    return value


def isolate(value: Any) -> Markup:
    """``{{ text|bdi }}``: user text inside a line of other text, bidi-isolated (``<bdi>``), so a name or
    subject in another script does not reorder the words and numbers around it."""
    if value is None or value == "":
        return Markup("")
    return Markup("<bdi>{}</bdi>").format(strip_bidi_overrides(str(value)))


@dataclass(frozen=True)
class Viewer:
    language: str
    zone: str
    calendar: CalendarName


ANONYMOUS_VIEWER = Viewer("en", "UTC", "gregorian")
viewer: ContextVar[Viewer | None] = ContextVar("viewer", default=None)
"""Who the page is rendered for (set by ``render``), so filters and macros imported without context format
times for the viewer too."""


def viewer_datetime(
    instant: datetime | date | str | None, with_time: bool = True, seconds: bool = False
) -> Markup:
    """``{{ dt(x) }}`` or ``{{ x|dt }}``: an instant (or a stored ISO string) in the viewer's calendar, zone and
    digits, in a ``<time>`` element; ``dt(x, seconds=True)`` with seconds, ``dt(x, False)`` the date alone."""
    if instant is None or instant == "":
        return Markup("")
    who = viewer.get() or ANONYMOUS_VIEWER
    if _is_day(instant):  # a calendar day (``date`` or ``YYYY-MM-DD``): named in the calendar, no zone shift
        day = instant if isinstance(instant, date) else date.fromisoformat(str(instant))
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
        text = format_datetime(noon, "UTC", who.calendar, who.language, with_time=False)
        return Markup('<time datetime="{}" data-calendar="{}">{}</time>').format(
            day.isoformat(), who.calendar, text
        )
    moment = parse_instant(instant)
    text = format_datetime(moment, who.zone, who.calendar, who.language, with_time=with_time, seconds=seconds)
    return Markup('<time datetime="{}" data-calendar="{}">{}</time>').format(
        moment.isoformat(), who.calendar, text
    )


def _is_day(value: object) -> bool:
    if isinstance(value, datetime):
        return False
    return isinstance(value, date) or (isinstance(value, str) and len(value.strip()) == 10)


def number(value: Any, decimals: int | None = None) -> str:
    """``{{ n|num }}`` or ``{{ km|num(1) }}``: grouped, with the viewer's digits and separators."""
    if value is None or value == "":
        return ""
    return format_number(value, current_language.get(), decimals)


def arrow(direction: str = "forward") -> Markup:
    """``{{ arrow() }}``: the arrow from the first named thing to the second (PK → IR), mirrored on
    right-to-left pages (PK ← IR reads right to left); ``arrow("back")`` points the other way."""
    rtl = LANGUAGES.get(current_language.get(), LANGUAGES["en"]).direction == "rtl"
    forward = "←" if rtl else "→"
    backward = "→" if rtl else "←"
    return Markup('<span class="arrow" aria-hidden="true">{}</span>').format(
        forward if direction == "forward" else backward
    )


def parse_instant(value: datetime | date | str) -> datetime:
    """An aware instant from a stored value: a datetime, or an ISO 8601 string (``Z`` or an offset; a naive
    string is UTC, as sarhad stores it)."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, date):
        instant = datetime(value.year, value.month, value.day)
    else:
        instant = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant


def i18n_head(language: str, calendar: CalendarName, zone: str) -> Markup:
    """What every page's ``<head>`` needs for its language and calendar: the script face (Nastaliq for Urdu,
    Vazirmatn for Persian, only on those pages), the locale for scripts (``sarhad-i18n.js``: times and numbers
    in the viewer's calendar, zone and digits), and on Solar Hijri the date-time picker for date inputs."""
    picker = Markup("")
    if (
        calendar == "solar_hijri"
    ):  # the picker's buttons in the page's language (sarhad-i18n.js relabels them)
        token = current_language.set(language)
        try:
            picker = Markup(
                ' data-picker-today="{}" data-picker-choose="{}" data-picker-empty="{}" data-picker-close="{}"'
            ).format(gettext("Today"), gettext("Choose"), gettext("Clear"), gettext("Close"))
        finally:
            current_language.reset(token)
    parts = [
        Markup(
            '<meta name="sarhad-locale" content="{}" data-language="{}" data-calendar="{}" data-zone="{}"{}>'
        ).format(
            intl_locale(language, calendar),
            language,
            calendar,
            zone,
            picker,
        ),
        Markup('<link rel="stylesheet" href="/static/i18n.css">'),
    ]
    if language in ("ur", "fa"):
        parts.append(Markup('<link rel="stylesheet" href="/static/fonts-{}.css">').format(language))
    if calendar == "solar_hijri":
        parts.append(
            Markup(
                '<link rel="stylesheet" href="/static/vendor/@majidh1/jalalidatepicker/dist/jalalidatepicker.min.css">'
                '<script src="/static/vendor/@majidh1/jalalidatepicker/dist/jalalidatepicker.min.js" defer></script>'
            )
        )
    parts.append(Markup('<script src="/static/sarhad-i18n.js" defer></script>'))
    return Markup("\n").join(parts)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    principal: Principal | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page for the viewer: their language, direction, time zone and calendar."""
    node = get_node(request)
    settings = node.settings
    if principal is not None:
        language, zone, calendar = principal.language, principal.time_zone, principal.calendar
    else:
        language = request.cookies.get("sarhad_lang", settings.default_language)
        zone, calendar = settings.default_time_zone, settings.default_calendar
    if language not in LANGUAGES:
        language = "en"
    current_language.set(language)

    calendar_name: CalendarName = "solar_hijri" if calendar == "solar_hijri" else "gregorian"
    viewer.set(Viewer(language, zone, calendar_name))

    def fmt_date(instant: datetime) -> str:
        return format_iso_date(instant, zone, calendar_name)

    full: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "node": node,
        "party": settings.party,
        "node_name": node_display_name(settings.party, settings.name, language),
        "lang": LANGUAGES[language],
        "languages": LANGUAGES,
        "time_zone": zone,
        "calendar": calendar,
        "dt": viewer_datetime,
        "date": fmt_date,
        "now": node.clock.now(),
        "csrf_token": principal.csrf_token if principal else "",
        "nav": navigation(principal),
        "nav_more": navigation_more(principal),
        "i18n_head": i18n_head(language, calendar_name, zone),
    }
    full.update(layout_context(request, principal))
    full.update(context or {})
    html = environment().get_template(template).render(full)
    return HTMLResponse(localize_digits_in_html(html, language), status_code=status_code)
