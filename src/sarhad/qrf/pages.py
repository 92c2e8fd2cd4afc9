"""The QRF board (/qrf): own units and the other side's shared ones by section, as a list and on the map,
updated live (``qrf.changed`` events), stale statuses flagged; and the ``qrf`` layer of the one map (/map)."""

from __future__ import annotations

from importlib.resources import files
from itertools import groupby
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.border.pages import add_map_overlay, map_texts
from sarhad.core.errors import NotFound
from sarhad.core.i18n import gettext as _
from sarhad.core.node import Node
from sarhad.incidents.maps import map_config
from sarhad.live import services as live
from sarhad.qrf import domain, services
from sarhad.qrf.models import QrfUnit
from sarhad.web.deps import NodeDep, public, requires
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/qrf", "QRF", Permission.QRF_READ.value)  # short: the liaison officer's nav fits one line

STATIC_FILES = {
    "qrf-layer.js": "text/javascript; charset=utf-8",
    "qrf-board.js": "text/javascript; charset=utf-8",
    "qrf.css": "text/css; charset=utf-8",
}


@router.get("/qrf/static/{name}")
def static_asset(
    name: str, _access: None = public("static asset (board script and style), no data")
) -> Response:
    """The package's own static files; a fixed list, so no path from the request reaches the file system."""
    media_type = STATIC_FILES.get(name)
    if media_type is None:
        raise NotFound(f"no static file {name!r}")
    body = files("sarhad.qrf").joinpath("static", name).read_bytes()
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=300"})


def labels() -> dict[str, Any]:
    """Every text the board's scripts show, translated for the viewer."""
    return {
        "status": {
            "available": _("available"),
            "standby": _("standby"),
            "responding": _("responding"),
            "on_scene": _("on scene"),
            "returning": _("returning"),
            "unavailable": _("unavailable"),
            "out_of_service": _("out of service"),
        },
        "types": {
            "mobile_infantry": _("mobile infantry"),
            "mounted": _("mounted"),
            "armoured": _("armoured"),
            "air": _("air"),
            "medical": _("medical"),
            "eod": _("explosive ordnance disposal"),
            "k9": _("dog unit"),
        },
        "own": _("own"),
        "received": _("received from"),
        "stale": _("stale"),
        "notice": _("%(n)s min notice"),
        "since": _("since"),
        "station": _("Station"),
        "type": _("Type"),
        "section": _("Section"),
        "strength": _("Strength"),
        "layer": _("QRF units"),
        "noSection": _("No section"),
        "none": _("No QRF units yet."),
        "loadFailed": _("The board could not be updated."),
    }


def overlay(node: Node, principal: Principal) -> dict[str, Any] | None:
    """The QRF units as a layer of the one map (/map), for those who may read the board."""
    if not principal.can(Permission.QRF_READ):
        return None
    return {
        "kind": "qrf",
        "scripts": ["/qrf/static/qrf-layer.js"],
        "styles": ["/qrf/static/qrf.css"],
        "url": "/api/v1/qrf/units",
        "labels": labels(),
        "live": True,
    }


add_map_overlay(overlay)


def _sections(units: list[QrfUnit]) -> list[tuple[str, list[QrfUnit]]]:
    return [(section or "", list(rows)) for section, rows in groupby(units, key=lambda u: u.section_id)]


@router.get("/qrf", response_class=HTMLResponse)
def board_page(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.QRF_READ)
) -> HTMLResponse:
    with node.sessions() as session:
        mark = live.last_event_id(session)  # read before the units: the stream resumes after it
        units = services.list_units(session, principal)
        shared = {u.id: services.shared_with(session, node, u) for u in units if u.origin == node.party}
    now = node.clock.now()
    texts = labels()
    border_texts = map_texts()
    config = {
        **map_config(node, principal),
        "party": node.party,
        "labels": {**border_texts, **texts, "status": {**border_texts["status"], **texts["status"]}},
        "qrf": {"url": "/api/v1/qrf/units", "labels": texts, "live": True},
    }
    return render(
        request,
        "qrf/board.html",
        {
            "sections": _sections(units),
            "count": len(units),
            "stale": {u.id: domain.is_stale(u.confirmed_at, now) for u in units},
            "shared": shared,
            "T": texts,
            "stale_hours": int(domain.STALE_AFTER.total_seconds() // 3600),
            "live_after": mark,
            "board_config": config,
        },
        principal=principal,
    )
