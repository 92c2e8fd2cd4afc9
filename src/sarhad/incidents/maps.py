"""What the incident pages give their maps: the settings shared with the border map (APIs, tile server,
digits, parties), the incidents layer of the one map (/map), and the place map of the form (picker) and of
the detail page (mini-map). The scripts are static/incidents-layer.js, incidents-map.js, incident-place.js."""

from __future__ import annotations

from typing import Any

from sarhad.accounts.services import Principal
from sarhad.border.pages import map_digits, map_texts
from sarhad.border.queries import line_parties
from sarhad.core.i18n import gettext as _
from sarhad.core.node import Node

CLUSTER_SCRIPTS = ("/static/leaflet-markercluster/leaflet.markercluster.js",)
CLUSTER_STYLES = (
    "/static/leaflet-markercluster/MarkerCluster.css",
    "/static/leaflet-markercluster/MarkerCluster.Default.css",
)
OVERLAY_DAYS = 30


def map_config(node: Node, principal: Principal) -> dict[str, Any]:
    """What every map of these pages shares with the border map: the APIs, tile server, digits, parties."""
    with node.sessions() as session:
        parties = line_parties(session, principal)
    return {
        "api": "/api/v1/border",
        "basemapUrl": "/api/v1/border/basemap",
        "tileUrl": node.settings.tile_url,
        "digits": map_digits(principal.language),
        "partyOrder": parties,
    }


def incidents_overlay(labels: dict[str, Any]) -> dict[str, Any]:
    """The incidents of the last 30 days as a layer of the one map (/map), updated live."""
    return {
        "kind": "incidents",
        "scripts": [*CLUSTER_SCRIPTS, "/incidents/static/incidents-layer.js"],
        "styles": [*CLUSTER_STYLES, "/incidents/static/incidents.css"],
        "url": f"/api/v1/incidents?format=geojson&days={OVERLAY_DAYS}&limit=2000",
        "labels": labels,
        "live": True,
    }


def place_config(
    node: Node,
    principal: Principal,
    *,
    picker: bool = False,
    point: tuple[float, float] | None = None,
    impact: str = "high",
) -> dict[str, Any]:
    """The form's map picker (``picker``) or the detail page's mini-map of ``point``."""
    core = map_texts()
    return {
        **map_config(node, principal),
        "picker": picker,
        "point": list(point) if point else None,
        "impact": impact,
        "labels": {
            **core,
            "region": _("Map: the incident's place")
            if not picker
            else _("Map: tap to set the incident's place"),
            "hint": _(
                "Tap or click the map to set the place, or drag the marker; typed coordinates move it."
            ),
            "point": _("The incident's place"),
        },
    }
