"""Jinja2 environment: one loader over every feature package's ``templates`` folder, gettext, dates."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from sarhad.accounts.services import Principal
from sarhad.core.calendars import format_datetime, format_iso_date
from sarhad.core.i18n import LANGUAGES, current_language, gettext, ngettext, pick_name
from sarhad.core.text import strip_bidi_overrides
from sarhad.web.chrome import add_nav_item, layout_context, navigation
from sarhad.web.deps import get_node

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

    def fmt_dt(instant: datetime | None, with_time: bool = True) -> Markup:
        if instant is None:
            return Markup("")
        text = format_datetime(instant, zone, calendar, language, with_time=with_time)  # type: ignore[arg-type]
        return Markup('<time datetime="{}" data-calendar="{}">{}</time>').format(
            instant.isoformat(), calendar, text
        )

    def fmt_date(instant: datetime) -> str:
        return format_iso_date(instant, zone, calendar)  # type: ignore[arg-type]

    full: dict[str, Any] = {
        "request": request,
        "principal": principal,
        "node": node,
        "party": settings.party,
        "node_name": settings.name,
        "lang": LANGUAGES[language],
        "languages": LANGUAGES,
        "time_zone": zone,
        "calendar": calendar,
        "dt": fmt_dt,
        "date": fmt_date,
        "now": node.clock.now(),
        "csrf_token": principal.csrf_token if principal else "",
        "nav": navigation(principal),
    }
    full.update(layout_context(request, principal))
    full.update(context or {})
    html = environment().get_template(template).render(full)
    return HTMLResponse(html, status_code=status_code)
