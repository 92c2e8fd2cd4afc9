"""Border pages: the full-window map, the data tables with filters and CSV links, and the edit forms.

Forms are checked with the API's pydantic models and call the same services, so a page refuses exactly
what the API refuses; a refused form is shown again with the reason and what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.border import domain, edits, exports, queries
from sarhad.border.api import crossings_collection, list_filter, markets_collection, sections_collection
from sarhad.border.schemas import CrossingPatch, FencePatch, MarketPatch
from sarhad.core.errors import NotFound, RuleError, SarhadError
from sarhad.core.formats import iso_utc
from sarhad.core.i18n import gettext as _
from sarhad.core.i18n import pick_name
from sarhad.core.node import Node
from sarhad.web.deps import NodeDep, client_ip, public, requires
from sarhad.web.forms import FormErrors, form_errors, rule_message
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/map", "Map", Permission.BORDER_READ.value)
add_nav_item("/border", "Border data", Permission.BORDER_READ.value, more=True)

STATIC_FILES = {
    "border-map.js": "text/javascript; charset=utf-8",
    "sarhad-map.js": "text/javascript; charset=utf-8",
    "border.css": "text/css; charset=utf-8",
}
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
MapOverlay = Callable[[Node, Principal], "dict[str, Any] | None"]
MAP_OVERLAYS: list[MapOverlay] = []
"""Layers other packages add to the one map (/map): each gives, for the viewer, ``{"kind", "script",
"styles", ...config}`` or None (e.g. no permission). The script registers ``SarhadMap.overlay(kind, fn)``."""


def add_map_overlay(provider: MapOverlay) -> None:
    """Let a package put its layer on the map (incidents today; patrols and positions later)."""
    MAP_OVERLAYS.append(provider)


def map_digits(language: str) -> str:
    """The digits the maps write numbers in for the viewer: Persian digits in Persian, Latin otherwise (Urdu
    in Pakistan writes numbers in Latin digits)."""
    return PERSIAN_DIGITS if language == "fa" else ""


def map_labels() -> dict[str, Any]:
    """The texts of the shared map core (sarhad-map.js): base layers, towns, "my location"."""
    return {
        "layers": {
            "offline": _("Offline map"),
            "tiles": _("Tile server"),
            "towns": _("Towns"),
        },
        "myLocation": _("Show my location"),
        "youAreHere": _("You are here"),
        "locationUnavailable": _(
            "Your location is not available (the browser needs permission and a secure connection)."
        ),
    }


SECTION_Q = Query(None, max_length=32)
PARTY_Q = Query(None, pattern="^(|[A-Z]{2})$")


@router.get("/border/static/{name}")
def static_asset(
    name: str, _access: None = public("static asset (map script and style), no data")
) -> Response:
    """The package's own static files; a fixed list, so no path from the request reaches the file system."""
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise NotFound(f"no static file {name!r}")
    body = files("sarhad.border").joinpath("static", name).read_bytes()
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=300"})


# --- shared context ---------------------------------------------------------------------------------------


def map_texts() -> dict[str, Any]:
    """Every text the map script shows, translated for the viewer (the script itself has no catalogue)."""
    core = map_labels()
    return {
        **core,
        "modes": {"road": _("road"), "rail": _("rail")},
        "layers": {
            **core["layers"],
            "countries": _("Country outlines"),
            "sections": _("Sections"),
            "fence": _("Fence segments"),
            "line": _("Border line"),
            "crossings": _("Crossing points"),
            "markets": _("Border markets"),
            "posts": _("Posts"),
        },
        "fields": {
            "status": _("Status"),
            "section": _("Section"),
            "party": _("Party"),
            "side": _("Side"),
            "hours": _("Hours"),
            "open_now": _("Open now"),
            "modes": _("Modes"),
            "length_km": _("Length (km)"),
            "start_km": _("From km"),
            "end_km": _("To km"),
            "market_days": _("Market days"),
            "host_party": _("Host"),
            "counterpart": _("Facing"),
            "formation": _("Formation"),
            "kind": _("Kind"),
            "left_party": _("Left side"),
            "right_party": _("Right side"),
            "source": _("Source"),
            "district": _("District"),
            "reported_length_km": _("Reported length (km)"),
            "note": _("Note"),
        },
        "status": {
            "open": _("open"),
            "restricted": _("restricted"),
            "closed": _("closed"),
            "unknown": _("unknown"),
            "planned": _("planned"),
            "under_construction": _("under construction"),
            "complete": _("complete"),
            "operating": _("operating"),
            "suspended": _("suspended"),
        },
        "kinds": {
            "post": _("Post"),
            "headquarters": _("Headquarters"),
            "market": _("Market"),
            "crossing": _("Crossing point"),
        },
        "yes": _("yes"),
        "no": _("no"),
        "estimate": _("estimate"),
        "legend": _("Legend"),
        "fence_outer": _("Fence, outer band"),
        "fence_inner": _("Fence, inner line"),
        "error": _("The map data could not be loaded."),
        "details": _("Details"),
    }


def _parties(node: Node, principal: Principal) -> dict[str, str]:
    with node.sessions() as session:
        return {p.code: pick_name(p.names, p.code) for p in queries.list_parties(session, principal)}


def _sections_choice(node: Node, principal: Principal) -> list[tuple[str, str]]:
    with node.sessions() as session:
        return [(s.id, pick_name(s.names, s.id)) for s in queries.list_sections(session, principal)]


def _progress_rows(
    node: Node, principal: Principal
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], list[str]]:
    """Sections with their per-side progress rows, the per-side totals, the published figures, the parties."""
    with node.sessions() as session:
        sections = queries.list_sections(session, principal)
        report = queries.fence_progress(session, principal)
        parties = queries.line_parties(session, principal)
    rows = [
        {
            "id": s.id,
            "name": pick_name(s.names, s.id),
            "length_km": round(s.length_m / 1000, 1),
            "start_km": round(s.start_m / 1000, 1),
            "end_km": round(s.end_m / 1000, 1),
            "estimate": bool((s.extra or {}).get("estimate")),
            "progress": [report.for_section(s.id).get(p) for p in parties],
        }
        for s in sections
    ]
    return rows, [t.as_dict() for t in report.totals], report.published, parties


def _base(node: Node, principal: Principal) -> dict[str, Any]:
    return {
        "parties": _parties(node, principal),
        "can_edit": principal.can(Permission.BORDER_EDIT),
        "node_party": node.party,
        "statuses": map_texts()["status"],
    }


def _csv_link(kind: str, filters: dict[str, Any]) -> str:
    query = {k: v for k, v in filters.items() if v}
    query["format"] = "csv"
    return f"/api/v1/border/{kind}?{urlencode(query)}"


# --- the map ---------------------------------------------------------------------------------------------


@router.get("/map", response_class=HTMLResponse)
def map_page(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.BORDER_READ)
) -> HTMLResponse:
    rows, totals, published, parties = _progress_rows(node, principal)
    overlays = [o for provider in MAP_OVERLAYS if (o := provider(node, principal)) is not None]
    config = {
        "api": "/api/v1/border",
        "basemapUrl": "/api/v1/border/basemap",
        "tileUrl": node.settings.tile_url,
        "digits": map_digits(principal.language),
        "labels": map_texts(),
        "parties": _parties(node, principal),
        "partyOrder": parties,
        "overlays": overlays,
    }
    context = {
        "sections": rows,
        "totals": totals,
        "published": published,
        "line_parties": parties,
        "map_config": config,
        "overlays": overlays,
    }
    return render(request, "border/map.html", {**_base(node, principal), **context}, principal=principal)


# --- data tables -----------------------------------------------------------------------------------------


@router.get("/border", response_class=HTMLResponse)
def border_index(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.BORDER_READ)
) -> HTMLResponse:
    rows, totals, published, parties = _progress_rows(node, principal)
    fc = sections_collection(node, principal, list_filter())
    posts = {f["id"]: f["properties"]["posts"] for f in fc["features"]}
    with node.sessions() as session:
        lines = exports.lines(queries.list_lines(session, principal))["features"]
    context = {
        "tab": "sections",
        "sections": rows,
        "section_posts": posts,
        "totals": totals,
        "published": published,
        "line_parties": parties,
        "lines": lines,
        "csv": {"sections": _csv_link("sections", {}), "progress": _csv_link("fence/progress", {})},
    }
    return render(request, "border/index.html", {**_base(node, principal), **context}, principal=principal)


@router.get("/border/crossings", response_class=HTMLResponse)
def crossings_page(
    request: Request,
    node: NodeDep,
    section: str | None = SECTION_Q,
    party: str | None = PARTY_Q,
    status: str | None = Query(None, pattern="^(|open|restricted|closed|unknown)$"),
    kind: str | None = Query(None, pattern="^(|official_crossing|local_corridor)$"),
    updated: str | None = Query(None, max_length=64),
    principal: Principal = requires(Permission.BORDER_READ),
) -> HTMLResponse:
    filters = {"section": section, "party": party, "status": status, "kind": kind}
    fc = crossings_collection(node, principal, list_filter(**filters))
    grouped: dict[str, dict[str, Any]] = {}
    for item in fc["features"]:
        props = item["properties"]
        entry = grouped.setdefault(props["crossing"], {"props": props, "sides": []})
        if props["side"]:
            entry["sides"].append({**props, "coordinates": (item["geometry"] or {}).get("coordinates")})
    context = {
        "tab": "crossings",
        "crossings": list(grouped.values()),
        "filters": filters,
        "sections": _sections_choice(node, principal),
        "status_choices": [*domain.CROSSING_STATUSES, domain.CROSSING_STATUS_UNKNOWN],
        "csv": _csv_link("crossings", filters),
        "updated": updated,
    }
    return render(
        request, "border/crossings.html", {**_base(node, principal), **context}, principal=principal
    )


@router.get("/border/markets", response_class=HTMLResponse)
def markets_page(
    request: Request,
    node: NodeDep,
    section: str | None = SECTION_Q,
    party: str | None = PARTY_Q,
    status: str | None = Query(None, pattern="^(|planned|operating|suspended|closed)$"),
    updated: str | None = Query(None, max_length=64),
    principal: Principal = requires(Permission.BORDER_READ),
) -> HTMLResponse:
    filters = {"section": section, "party": party, "status": status}
    fc = markets_collection(node, principal, list_filter(**filters))
    context = {
        "tab": "markets",
        "markets": fc["features"],
        "filters": filters,
        "sections": _sections_choice(node, principal),
        "status_choices": domain.MARKET_STATUSES,
        "csv": _csv_link("markets", filters),
        "updated": updated,
    }
    return render(request, "border/markets.html", {**_base(node, principal), **context}, principal=principal)


@router.get("/border/posts", response_class=HTMLResponse)
def posts_page(
    request: Request,
    node: NodeDep,
    section: str | None = SECTION_Q,
    party: str | None = PARTY_Q,
    kind: str | None = Query(None, max_length=32),
    principal: Principal = requires(Permission.BORDER_READ),
) -> HTMLResponse:
    filters = {"section": section, "party": party, "kind": kind}
    with node.sessions() as session:
        fc = exports.posts(queries.list_posts(session, principal, list_filter(**filters)))
    context = {
        "tab": "posts",
        "posts": fc["features"],
        "filters": filters,
        "sections": _sections_choice(node, principal),
        "csv": _csv_link("posts", filters),
    }
    return render(request, "border/posts.html", {**_base(node, principal), **context}, principal=principal)


@router.get("/border/fence", response_class=HTMLResponse)
def fence_page(
    request: Request,
    node: NodeDep,
    section: str | None = SECTION_Q,
    party: str | None = PARTY_Q,
    status: str | None = Query(None, pattern="^(|planned|under_construction|complete)$"),
    updated: str | None = Query(None, max_length=64),
    principal: Principal = requires(Permission.BORDER_READ),
) -> HTMLResponse:
    filters = {"section": section, "party": party, "status": status}
    with node.sessions() as session:
        fc = exports.fence(queries.list_fence_segments(session, principal, list_filter(**filters)))
    context = {
        "tab": "fence",
        "segments": fc["features"],
        "filters": filters,
        "sections": _sections_choice(node, principal),
        "status_choices": domain.FENCE_STATUSES,
        "csv": _csv_link("fence", filters),
        "updated": updated,
    }
    return render(request, "border/fence.html", {**_base(node, principal), **context}, principal=principal)


# --- edit forms --------------------------------------------------------------------------------------------


def _edit_labels() -> dict[str, str]:
    """The inputs of the edit forms (crossing, market, fence segment), with their labels."""
    return {
        "status": _("Status"),
        "always_open": _("Open day and night, every day"),
        "weekly": _("Weekly hours"),
        "time_zone": _("Time zone of the hours"),
        "note": _("Note"),
        "reason": _("Reason for the change (kept in the audit log)"),
    }


PATHS = {
    "hours.weekly": "weekly",
    "hours.time_zone": "time_zone",
    "hours.note": "note",
    "hours.always_open": "always_open",
    "schedule.weekly": "weekly",
    "schedule.time_zone": "time_zone",
    "schedule.note": "note",
    "weekly": "weekly",
}


def _problems(principal: Principal, exc: ValidationError | ValueError | SarhadError) -> FormErrors:
    errors = form_errors(principal, _edit_labels(), PATHS)
    if isinstance(exc, ValidationError | SarhadError | RuleError):
        return errors.add_exception(exc)
    errors.add("weekly", rule_message(str(exc)))  # the weekly slots as typed (domain.parse_weekly_text)
    return errors


def _form_page(
    request: Request,
    node: Node,
    principal: Principal,
    template: str,
    form: dict[str, Any],
    choices: Any,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
) -> HTMLResponse:
    """An edit form: the item, the values (as stored, or as typed when refused) and the status choices."""
    context = {**_base(node, principal), **form, "status_choices": choices}
    context["errors"] = errors or form_errors(principal, _edit_labels(), PATHS)
    if errors:
        context["values"] = values
    return render(request, template, context, principal=principal, status_code=422 if errors else 200)


def _save_form(
    request: Request,
    node: Node,
    principal: Principal,
    *,
    template: str,
    form: Callable[[], dict[str, Any]],
    choices: Any,
    values: dict[str, Any],
    patch: Callable[[], BaseModel],
    save: Callable[[Session, Any], object],
    done: str,
) -> Response:
    """Check the typed values with the API's model, save through the service and go back to the list; a
    refusal (422) shows the form again with the reason and what was typed, any other refusal is raised."""
    try:
        checked = patch()
        with node.transaction() as session:
            save(session, checked)
    except (ValidationError, ValueError, SarhadError) as exc:
        if isinstance(exc, SarhadError) and exc.status_code != 422:
            raise
        return _form_page(
            request,
            node,
            principal,
            template,
            form(),
            choices,
            values=values,
            errors=_problems(principal, exc),
        )
    return RedirectResponse(done, status_code=303)


StatusField = Annotated[str, Form(max_length=32)]
ZoneField = Annotated[str, Form(max_length=64)]
WeeklyField = Annotated[str, Form(max_length=2000)]  # one slot per line: "sat sun mon 08:00-16:00"
TextField = Annotated[str, Form(max_length=1000)]


def _schedule_values(schedule: dict[str, Any]) -> dict[str, Any]:
    """The form fields of stored hours or market days: zone, slots one per line, note."""
    return {
        "time_zone": schedule.get("time_zone", ""),
        "weekly": domain.weekly_text(schedule),
        "note": schedule.get("note", ""),
    }


def _schedule_typed(time_zone: str, weekly: str, note: str) -> dict[str, Any]:
    """Hours or market days as typed into the form, for the API's model to check (ValueError on bad slots)."""
    return {"time_zone": time_zone or None, "weekly": domain.parse_weekly_text(weekly), "note": note}


def _crossing_form(node: Node, principal: Principal, crossing_id: str) -> dict[str, Any]:
    with node.sessions() as session:
        row = queries.access_crossing(session, principal, crossing_id)
    return {
        "item": {
            "id": row.id,
            "name": pick_name(row.names, row.id),
            "status": row.status,
            "updated_at": iso_utc(row.updated_at),
            "updated_by": row.updated_by,
        },
        "values": {
            "status": row.status if row.status in domain.CROSSING_STATUSES else "",
            "always_open": bool(row.hours.get("always_open")),
            **_schedule_values(row.hours),
            "reason": "",
        },
    }


@router.get("/border/crossings/{crossing_id}/edit", response_class=HTMLResponse)
def edit_crossing_form(
    request: Request, node: NodeDep, crossing_id: str, principal: Principal = requires(Permission.BORDER_EDIT)
) -> HTMLResponse:
    form = _crossing_form(node, principal, crossing_id)
    return _form_page(request, node, principal, "border/edit_crossing.html", form, domain.CROSSING_STATUSES)


@router.post("/border/crossings/{crossing_id}", response_class=HTMLResponse)
def edit_crossing(
    request: Request,
    node: NodeDep,
    crossing_id: str,
    status: StatusField = "",
    always_open: Annotated[str, Form(max_length=8)] = "",
    time_zone: ZoneField = "",
    weekly: WeeklyField = "",
    note: TextField = "",
    reason: TextField = "",
    principal: Principal = requires(Permission.BORDER_EDIT),
) -> Response:
    values = {
        "status": status,
        "always_open": bool(always_open),
        "time_zone": time_zone,
        "weekly": weekly,
        "note": note,
        "reason": reason,
    }

    def patch() -> CrossingPatch:
        hours = {"always_open": bool(always_open), **_schedule_typed(time_zone, weekly, note)}
        return CrossingPatch.model_validate({"status": status or None, "hours": hours, "reason": reason})

    return _save_form(
        request,
        node,
        principal,
        template="border/edit_crossing.html",
        form=lambda: _crossing_form(node, principal, crossing_id),
        choices=domain.CROSSING_STATUSES,
        values=values,
        patch=patch,
        save=lambda session, checked: edits.update_crossing(
            session, node, principal, crossing_id, checked, client_ip=client_ip(request)
        ),
        done=f"/border/crossings?updated={crossing_id}",
    )


def _market_form(node: Node, principal: Principal, market_id: str) -> dict[str, Any]:
    with node.sessions() as session:
        row = queries.access_market(session, principal, market_id)
    return {
        "item": {
            "id": row.id,
            "name": pick_name(row.names, row.id),
            "status": row.status,
            "host_party": row.host_party,
            "updated_at": iso_utc(row.updated_at),
            "updated_by": row.updated_by,
        },
        "values": {
            "status": row.status,
            **_schedule_values(row.schedule),
            "reason": "",
        },
    }


@router.get("/border/markets/{market_id}/edit", response_class=HTMLResponse)
def edit_market_form(
    request: Request, node: NodeDep, market_id: str, principal: Principal = requires(Permission.BORDER_EDIT)
) -> HTMLResponse:
    form = _market_form(node, principal, market_id)
    return _form_page(request, node, principal, "border/edit_market.html", form, domain.MARKET_STATUSES)


@router.post("/border/markets/{market_id}", response_class=HTMLResponse)
def edit_market(
    request: Request,
    node: NodeDep,
    market_id: str,
    status: StatusField = "",
    time_zone: ZoneField = "",
    weekly: WeeklyField = "",
    note: TextField = "",
    reason: TextField = "",
    principal: Principal = requires(Permission.BORDER_EDIT),
) -> Response:
    values = {"status": status, "time_zone": time_zone, "weekly": weekly, "note": note, "reason": reason}

    def patch() -> MarketPatch:
        schedule = _schedule_typed(time_zone, weekly, note)
        return MarketPatch.model_validate({"status": status or None, "schedule": schedule, "reason": reason})

    return _save_form(
        request,
        node,
        principal,
        template="border/edit_market.html",
        form=lambda: _market_form(node, principal, market_id),
        choices=domain.MARKET_STATUSES,
        values=values,
        patch=patch,
        save=lambda session, checked: edits.update_market(
            session, node, principal, market_id, checked, client_ip=client_ip(request)
        ),
        done=f"/border/markets?updated={market_id}",
    )


def _fence_form(node: Node, principal: Principal, segment_id: str) -> dict[str, Any]:
    with node.sessions() as session:
        row = queries.access_fence_segment(session, principal, segment_id)
    return {
        "item": {
            "id": row.id,
            "party": row.party,
            "section": row.section_id,
            "status": row.status,
            "length_km": round(row.length_m / 1000, 3),
            "updated_at": iso_utc(row.updated_at),
            "updated_by": row.updated_by,
        },
        "values": {"status": row.status, "reason": ""},
    }


@router.get("/border/fence/{segment_id}/edit", response_class=HTMLResponse)
def edit_fence_form(
    request: Request, node: NodeDep, segment_id: str, principal: Principal = requires(Permission.BORDER_EDIT)
) -> HTMLResponse:
    form = _fence_form(node, principal, segment_id)
    return _form_page(request, node, principal, "border/edit_fence.html", form, domain.FENCE_STATUSES)


@router.post("/border/fence/{segment_id}", response_class=HTMLResponse)
def edit_fence(
    request: Request,
    node: NodeDep,
    segment_id: str,
    status: StatusField = "",
    reason: TextField = "",
    principal: Principal = requires(Permission.BORDER_EDIT),
) -> Response:
    return _save_form(
        request,
        node,
        principal,
        template="border/edit_fence.html",
        form=lambda: _fence_form(node, principal, segment_id),
        choices=domain.FENCE_STATUSES,
        values={"status": status, "reason": reason},
        patch=lambda: FencePatch.model_validate({"status": status, "reason": reason}),
        save=lambda session, checked: edits.update_fence_segment(
            session, node, principal, segment_id, checked, client_ip=client_ip(request)
        ),
        done=f"/border/fence?updated={segment_id}",
    )
