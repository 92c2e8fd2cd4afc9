"""HTTP API of the border model: GeoJSON (default) or CSV lists, fence progress, locate, and edits.

Reading needs ``border.read`` (every role has it); editing needs ``border.edit``. Lists answer
``application/geo+json`` FeatureCollections; ``?format=csv`` gives the same features as CSV.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.types import DecoratedCallable
from shapely.geometry import shape

from sarhad.accounts.actors import Actor
from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.border import basemap, domain, edits, exports, queries
from sarhad.border.models import Crossing, FenceSegment, Market
from sarhad.border.schemas import (
    CrossingOut,
    CrossingPatch,
    FeatureCollectionOut,
    FencePatch,
    FenceProgressReportOut,
    FenceSegmentOut,
    LocationOut,
    MarketOut,
    MarketPatch,
    PartyOut,
)
from sarhad.core.errors import InvalidInput, RuleError
from sarhad.core.formats import csv_response, csv_text
from sarhad.core.node import Node
from sarhad.web.deps import NodeDep, client_ip, requires

router = APIRouter(prefix="/api/v1/border", tags=["border"])

Format = Literal["geojson", "csv"]
PARTY = "^[A-Z]{2}$"
SECTION = Query(None, max_length=32, description="Only this border section (id).")
PARTY_Q = Query(None, pattern=PARTY, description="Only this party (ISO 3166-1 alpha-2).")
BBOX = Query(
    None, max_length=100, description="min_lon,min_lat,max_lon,max_lat (WGS84): only what intersects it."
)
FORMAT = Query("geojson", description="geojson (default) or csv.")
PROGRESS_COLUMNS = (
    "section",
    "party",
    "section_km",
    "fence_km",
    "planned_km",
    "under_construction_km",
    "complete_km",
    "complete_pct",
    "coverage_pct",
)


class GeoJSONResponse(JSONResponse):
    """JSON served as ``application/geo+json`` (RFC 7946)."""

    media_type = "application/geo+json"


def geojson_list(path: str, summary: str) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """The route decorator of a list endpoint: a typed FeatureCollection, or CSV with ``?format=csv``."""
    return router.get(
        path,
        summary=summary,
        response_model=FeatureCollectionOut,
        response_class=GeoJSONResponse,
        responses={200: {"content": {"text/csv": {}}}},
    )


def list_filter(
    section: str | None = None,
    party: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    bbox: str | None = None,
) -> queries.ListFilter:
    """The list filter from query parameters, shared with the pages (an empty field means any)."""
    box = None
    if bbox:
        try:
            box = domain.parse_bbox(bbox)
        except RuleError as exc:
            raise InvalidInput.from_rule(exc) from exc
    return queries.ListFilter(
        section=section or None, party=party or None, status=status or None, kind=kind or None, bbox=box
    )


def answer(fc: exports.FeatureCollection, fmt: str, name: str) -> Any:
    """The collection as GeoJSON (validated against the response model), or its CSV download."""
    if fmt == "csv":
        return csv_response(exports.to_csv(fc), f"border-{name}.csv")
    return fc


# --- reading ---------------------------------------------------------------------------------------------


def sections_collection(node: Node, actor: Actor, flt: queries.ListFilter) -> exports.FeatureCollection:
    """Sections with their posts per party and fence progress per party (API and pages)."""
    with node.sessions() as session:
        rows = queries.list_sections(session, actor, flt)
        posts = queries.list_posts(session, actor)
        progress = queries.fence_progress(session, actor)
        return exports.sections(rows, posts, progress)


def crossings_collection(node: Node, actor: Actor, flt: queries.ListFilter) -> exports.FeatureCollection:
    """One feature per crossing side, with opening state now and chainage (API and pages)."""
    with node.sessions() as session:
        rows = queries.list_crossings(session, actor, flt)
        chainage = queries.crossing_chainages(session, actor, rows)
    return exports.crossings(rows, node.clock.now(), node.settings.default_time_zone, chainage)


def markets_collection(node: Node, actor: Actor, flt: queries.ListFilter) -> exports.FeatureCollection:
    """Border markets with status, market days and whether they are open now (API and pages)."""
    with node.sessions() as session:
        rows = queries.list_markets(session, actor, flt)
    return exports.markets(rows, node.clock.now(), node.settings.default_time_zone)


@geojson_list("/sections", "Border sections with responsible posts and fence progress per side")
def get_sections(
    node: NodeDep,
    section: str | None = SECTION,
    bbox: str | None = BBOX,
    format: Format = FORMAT,
    principal: Principal = requires(Permission.BORDER_READ),
) -> Any:
    flt = list_filter(section=section, bbox=bbox)
    return answer(sections_collection(node, principal, flt), format, "sections")


@geojson_list("/crossings", "Crossing points: one feature per side, paired by 'crossing'")
def get_crossings(
    node: NodeDep,
    section: str | None = SECTION,
    party: str | None = PARTY_Q,
    status: str | None = Query(None, pattern="^(open|restricted|closed|unknown)$"),
    kind: str | None = Query(None, pattern="^(official_crossing|local_corridor)$"),
    bbox: str | None = BBOX,
    format: Format = FORMAT,
    principal: Principal = requires(Permission.BORDER_READ),
) -> Any:
    flt = list_filter(section=section, party=party, status=status, kind=kind, bbox=bbox)
    return answer(crossings_collection(node, principal, flt), format, "crossings")


@geojson_list("/markets", "Border markets with status and market days")
def get_markets(
    node: NodeDep,
    section: str | None = SECTION,
    party: str | None = Query(None, pattern=PARTY, description="Only markets hosted by this party."),
    status: str | None = Query(None, pattern="^(planned|operating|suspended|closed)$"),
    bbox: str | None = BBOX,
    format: Format = FORMAT,
    principal: Principal = requires(Permission.BORDER_READ),
) -> Any:
    flt = list_filter(section=section, party=party, status=status, bbox=bbox)
    return answer(markets_collection(node, principal, flt), format, "markets")


@geojson_list("/posts", "Posts and headquarters of each party")
def get_posts(
    node: NodeDep,
    section: str | None = SECTION,
    party: str | None = PARTY_Q,
    kind: str | None = Query(None, max_length=32),
    bbox: str | None = BBOX,
    format: Format = FORMAT,
    principal: Principal = requires(Permission.BORDER_READ),
) -> Any:
    flt = list_filter(section=section, party=party, kind=kind, bbox=bbox)
    with node.sessions() as session:
        fc = exports.posts(queries.list_posts(session, principal, flt))
    return answer(fc, format, "posts")


@geojson_list("/fence", "Fence segments per side with status and geodesic length")
def get_fence(
    node: NodeDep,
    section: str | None = SECTION,
    party: str | None = PARTY_Q,
    status: str | None = Query(None, pattern="^(planned|under_construction|complete)$"),
    bbox: str | None = BBOX,
    format: Format = FORMAT,
    principal: Principal = requires(Permission.BORDER_READ),
) -> Any:
    flt = list_filter(section=section, party=party, status=status, bbox=bbox)
    with node.sessions() as session:
        fc = exports.fence(queries.list_fence_segments(session, principal, flt))
    return answer(fc, format, "fence")


@router.get(
    "/fence/progress",
    summary="Fence km by status, per section and side, and per side in total",
    response_model=FenceProgressReportOut,
    responses={200: {"content": {"text/csv": {}}}},
)
def get_fence_progress(
    node: NodeDep, format: Format = FORMAT, principal: Principal = requires(Permission.BORDER_READ)
) -> Any:
    with node.sessions() as session:
        report = queries.fence_progress(session, principal).as_dict()
    if format == "csv":
        rows = [
            {**row, "section": row["section"] or "TOTAL"} for row in report["sections"] + report["totals"]
        ]
        return csv_response(csv_text(PROGRESS_COLUMNS, rows), "border-fence-progress.csv")
    return report


@geojson_list("/line", "The border line(s), directed, with left and right party")
def get_line(
    node: NodeDep, format: Format = FORMAT, principal: Principal = requires(Permission.BORDER_READ)
) -> Any:
    with node.sessions() as session:
        fc = exports.lines(queries.list_lines(session, principal))
    return answer(fc, format, "line")


@geojson_list("/countries", "Country outlines (display only; sides are decided by the line)")
def get_countries(
    node: NodeDep, format: Format = FORMAT, principal: Principal = requires(Permission.BORDER_READ)
) -> Any:
    with node.sessions() as session:
        fc = exports.countries(queries.list_outlines(session, principal))
    return answer(fc, format, "countries")


@router.get(
    "/parties", summary="Parties with time zone, calendar and languages", response_model=list[PartyOut]
)
def get_parties(node: NodeDep, principal: Principal = requires(Permission.BORDER_READ)) -> list[PartyOut]:
    with node.sessions() as session:
        return [
            PartyOut(
                code=p.code, names=p.names, time_zone=p.time_zone, calendar=p.calendar, languages=p.languages
            )
            for p in queries.list_parties(session, principal)
        ]


@router.get(
    "/locate",
    summary="Side of the border, nearest section and distance to the line for a point",
    response_model=LocationOut,
)
def get_locate(
    node: NodeDep,
    lat: float = Query(..., ge=-90, le=90),
    lon: float = Query(..., ge=-180, le=180),
    principal: Principal = requires(Permission.BORDER_READ),
) -> LocationOut:
    with node.sessions() as session:
        return LocationOut(**queries.locate(session, principal, lon, lat).as_dict())


# --- editing -----------------------------------------------------------------------------------------------


def crossing_out(row: Crossing) -> CrossingOut:
    """A crossing as the edit endpoint answers it."""
    return CrossingOut(
        id=row.id, status=row.status, hours=row.hours, updated_at=row.updated_at, updated_by=row.updated_by
    )


def fence_segment_out(row: FenceSegment) -> FenceSegmentOut:
    """A fence segment as the edit endpoint answers it."""
    return FenceSegmentOut(
        id=row.id,
        party=row.party,
        section=row.section_id,
        status=row.status,
        length_km=round(row.length_m / 1000, 3),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def market_out(row: Market) -> MarketOut:
    """A market as the edit endpoint answers it."""
    return MarketOut(
        id=row.id,
        status=row.status,
        schedule=row.schedule,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


@router.patch(
    "/crossings/{crossing_id}",
    summary="Change a crossing's status and/or opening hours",
    response_model=CrossingOut,
)
def patch_crossing(
    request: Request,
    node: NodeDep,
    crossing_id: str,
    patch: CrossingPatch,
    principal: Principal = requires(Permission.BORDER_EDIT),
) -> CrossingOut:
    with node.transaction() as session:
        row = edits.update_crossing(
            session, node, principal, crossing_id, patch, client_ip=client_ip(request)
        )
        return crossing_out(row)


@router.patch(
    "/fence/{segment_id}",
    summary="Change the status of one of this party's fence segments",
    response_model=FenceSegmentOut,
)
def patch_fence(
    request: Request,
    node: NodeDep,
    segment_id: str,
    patch: FencePatch,
    principal: Principal = requires(Permission.BORDER_EDIT),
) -> FenceSegmentOut:
    with node.transaction() as session:
        row = edits.update_fence_segment(
            session, node, principal, segment_id, patch, client_ip=client_ip(request)
        )
        return fence_segment_out(row)


@router.patch(
    "/markets/{market_id}",
    summary="Change a market's status and/or market days (host party only)",
    response_model=MarketOut,
)
def patch_market(
    request: Request,
    node: NodeDep,
    market_id: str,
    patch: MarketPatch,
    principal: Principal = requires(Permission.BORDER_EDIT),
) -> MarketOut:
    with node.transaction() as session:
        row = edits.update_market(session, node, principal, market_id, patch, client_ip=client_ip(request))
        return market_out(row)


@router.get(
    "/basemap",
    summary="The offline basemap around the border: countries, boundaries and towns (display only)",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "the basemap document"}},
)
def get_basemap(node: NodeDep, principal: Principal = requires(Permission.BORDER_READ)) -> Response:
    """The layers derived at install from public high-resolution datasets (``sarhad.border.basemap``), cut to
    the box of this node's border line(s) grown by 3 degrees, with each source's licence and attribution.
    Not built yet (``make install`` builds it): ``{"layers": {}, "missing": true}``."""
    with node.sessions() as session:
        lines = queries.list_lines(session, principal)
    boxes = [shape(line.geometry).bounds for line in lines if line.geometry]
    region = None
    if boxes:
        bounds = (
            min(b[0] for b in boxes),
            min(b[1] for b in boxes),
            max(b[2] for b in boxes),
            max(b[3] for b in boxes),
        )
        region = basemap.region_around(bounds)
    body = basemap.served(region)
    if body is None:
        body = json.dumps({"schema": basemap.SCHEMA, "sources": [], "layers": {}, "missing": True}).encode()
    return Response(body, media_type="application/json", headers={"Cache-Control": "private, max-age=3600"})
