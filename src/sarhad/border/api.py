"""HTTP API of the border model: GeoJSON (default) or CSV lists, fence progress, locate, and edits.

Reading needs ``border.read`` (every role has it); editing needs ``border.edit``. Lists answer
``application/geo+json`` FeatureCollections; ``?format=csv`` gives the same features as CSV.
"""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.border import domain, exports, services
from sarhad.border.schemas import CrossingPatch, FencePatch, MarketPatch
from sarhad.core.errors import ErrorCode, InvalidInput
from sarhad.core.node import Node
from sarhad.web.deps import NodeDep, client_ip, requires

router = APIRouter(prefix="/api/v1/border", tags=["border"])

Format = Literal["geojson", "csv"]
GEOJSON = "application/geo+json"
PARTY = "^[A-Z]{2}$"
SECTION = Query(None, max_length=32, description="Only this border section (id).")
PARTY_Q = Query(None, pattern=PARTY, description="Only this party (ISO 3166-1 alpha-2).")
BBOX = Query(
    None, max_length=100, description="min_lon,min_lat,max_lon,max_lat (WGS84): only what intersects it."
)
FORMAT = Query("geojson", description="geojson (default) or csv.")


def list_filter(
    section: str | None = None,
    party: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    bbox: str | None = None,
) -> services.ListFilter:
    box = None
    if bbox:
        try:
            box = domain.parse_bbox(bbox)
        except ValueError as exc:
            raise InvalidInput(str(exc), code=ErrorCode.BAD_BBOX) from exc
    return services.ListFilter(
        section=section or None, party=party or None, status=status or None, kind=kind or None, bbox=box
    )


def answer(fc: exports.FeatureCollection, fmt: str, name: str) -> Response:
    if fmt == "csv":
        return PlainTextResponse(
            exports.to_csv(fc),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="border-{name}.csv"'},
        )
    return JSONResponse(fc, media_type=GEOJSON)


# --- reading ---------------------------------------------------------------------------------------------


def sections_collection(node: Node, flt: services.ListFilter) -> exports.FeatureCollection:
    with node.sessions() as session:
        rows = services.list_sections(session, flt)
        posts = services.list_posts(session)
        progress = services.fence_progress(session)
        return exports.sections(rows, posts, progress)


def crossings_collection(node: Node, flt: services.ListFilter) -> exports.FeatureCollection:
    with node.sessions() as session:
        rows = services.list_crossings(session, flt)
        chainage = exports.crossing_chainages(session, rows)
    return exports.crossings(rows, node.clock.now(), node.settings.default_time_zone, chainage)


@router.get("/sections", summary="Border sections with responsible posts and fence progress per side")
def get_sections(
    node: NodeDep,
    section: str | None = SECTION,
    bbox: str | None = BBOX,
    format: Format = FORMAT,
    _: Principal = requires(Permission.BORDER_READ),
) -> Response:
    return answer(sections_collection(node, list_filter(section=section, bbox=bbox)), format, "sections")


@router.get("/crossings", summary="Crossing points: one feature per side, paired by 'crossing'")
def get_crossings(
    node: NodeDep,
    section: str | None = SECTION,
    party: str | None = PARTY_Q,
    status: str | None = Query(None, pattern="^(open|restricted|closed|unknown)$"),
    kind: str | None = Query(None, pattern="^(official_crossing|local_corridor)$"),
    bbox: str | None = BBOX,
    format: Format = FORMAT,
    _: Principal = requires(Permission.BORDER_READ),
) -> Response:
    flt = list_filter(section=section, party=party, status=status, kind=kind, bbox=bbox)
    return answer(crossings_collection(node, flt), format, "crossings")


@router.get("/markets", summary="Border markets with status and market days")
def get_markets(
    node: NodeDep,
    section: str | None = SECTION,
    party: str | None = Query(None, pattern=PARTY, description="Only markets hosted by this party."),
    status: str | None = Query(None, pattern="^(planned|operating|suspended|closed)$"),
    bbox: str | None = BBOX,
    format: Format = FORMAT,
    _: Principal = requires(Permission.BORDER_READ),
) -> Response:
    flt = list_filter(section=section, party=party, status=status, bbox=bbox)
    with node.sessions() as session:
        fc = exports.markets(
            services.list_markets(session, flt), node.clock.now(), node.settings.default_time_zone
        )
    return answer(fc, format, "markets")


@router.get("/posts", summary="Posts and headquarters of each party")
def get_posts(
    node: NodeDep,
    section: str | None = SECTION,
    party: str | None = PARTY_Q,
    kind: str | None = Query(None, max_length=32),
    bbox: str | None = BBOX,
    format: Format = FORMAT,
    _: Principal = requires(Permission.BORDER_READ),
) -> Response:
    with node.sessions() as session:
        fc = exports.posts(
            services.list_posts(session, list_filter(section=section, party=party, kind=kind, bbox=bbox))
        )
    return answer(fc, format, "posts")


@router.get("/fence", summary="Fence segments per side with status and geodesic length")
def get_fence(
    node: NodeDep,
    section: str | None = SECTION,
    party: str | None = PARTY_Q,
    status: str | None = Query(None, pattern="^(planned|under_construction|complete)$"),
    bbox: str | None = BBOX,
    format: Format = FORMAT,
    _: Principal = requires(Permission.BORDER_READ),
) -> Response:
    flt = list_filter(section=section, party=party, status=status, bbox=bbox)
    with node.sessions() as session:
        fc = exports.fence(services.list_fence_segments(session, flt))
    return answer(fc, format, "fence")


@router.get("/fence/progress", summary="Fence km by status, per section and side, and per side in total")
def get_fence_progress(
    node: NodeDep, format: Format = FORMAT, _: Principal = requires(Permission.BORDER_READ)
) -> Response:
    with node.sessions() as session:
        report = services.fence_progress(session).as_dict()
    if format == "csv":
        buffer = io.StringIO()
        rows = report["sections"] + report["totals"]
        columns = [
            "section",
            "party",
            "section_km",
            "fence_km",
            "planned_km",
            "under_construction_km",
            "complete_km",
            "complete_pct",
            "coverage_pct",
        ]
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "section": row["section"] or "TOTAL"})
        return PlainTextResponse(
            buffer.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="border-fence-progress.csv"'},
        )
    return JSONResponse(report)


@router.get("/line", summary="The border line(s), directed, with left and right party")
def get_line(
    node: NodeDep, format: Format = FORMAT, _: Principal = requires(Permission.BORDER_READ)
) -> Response:
    with node.sessions() as session:
        fc = exports.lines(services.list_lines(session))
    return answer(fc, format, "line")


@router.get("/countries", summary="Country outlines (display only; sides are decided by the line)")
def get_countries(
    node: NodeDep, format: Format = FORMAT, _: Principal = requires(Permission.BORDER_READ)
) -> Response:
    with node.sessions() as session:
        fc = exports.countries(services.list_outlines(session))
    return answer(fc, format, "countries")


@router.get("/parties", summary="Parties with time zone, calendar and languages")
def get_parties(node: NodeDep, _: Principal = requires(Permission.BORDER_READ)) -> list[dict[str, Any]]:
    with node.sessions() as session:
        return [
            {
                "code": p.code,
                "names": p.names,
                "time_zone": p.time_zone,
                "calendar": p.calendar,
                "languages": p.languages,
            }
            for p in services.list_parties(session)
        ]


@router.get("/locate", summary="Side of the border, nearest section and distance to the line for a point")
def get_locate(
    node: NodeDep,
    lat: float = Query(..., ge=-90, le=90),
    lon: float = Query(..., ge=-180, le=180),
    _: Principal = requires(Permission.BORDER_READ),
) -> dict[str, Any]:
    with node.sessions() as session:
        return services.locate(session, lon, lat).as_dict()


# --- editing -----------------------------------------------------------------------------------------------


def crossing_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "status": row.status,
        "hours": row.hours,
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
        "updated_by": row.updated_by,
    }


@router.patch("/crossings/{crossing_id}", summary="Change a crossing's status and/or opening hours")
def patch_crossing(
    request: Request,
    node: NodeDep,
    crossing_id: str,
    patch: CrossingPatch,
    principal: Principal = requires(Permission.BORDER_EDIT),
) -> dict[str, Any]:
    with node.transaction() as session:
        row = services.update_crossing(
            session,
            node,
            crossing_id,
            patch,
            actor=principal.username,
            scope_sections=principal.scope_sections,
            client_ip=client_ip(request),
        )
        return crossing_out(row)


@router.patch("/fence/{segment_id}", summary="Change the status of one of this party's fence segments")
def patch_fence(
    request: Request,
    node: NodeDep,
    segment_id: str,
    patch: FencePatch,
    principal: Principal = requires(Permission.BORDER_EDIT),
) -> dict[str, Any]:
    with node.transaction() as session:
        row = services.update_fence_segment(
            session,
            node,
            segment_id,
            patch,
            actor=principal.username,
            scope_sections=principal.scope_sections,
            client_ip=client_ip(request),
        )
        return {
            "id": row.id,
            "party": row.party,
            "section": row.section_id,
            "status": row.status,
            "length_km": round(row.length_m / 1000, 3),
            "updated_at": row.updated_at.isoformat() if row.updated_at else None,
            "updated_by": row.updated_by,
        }


@router.patch("/markets/{market_id}", summary="Change a market's status and/or market days (host party only)")
def patch_market(
    request: Request,
    node: NodeDep,
    market_id: str,
    patch: MarketPatch,
    principal: Principal = requires(Permission.BORDER_EDIT),
) -> dict[str, Any]:
    with node.transaction() as session:
        row = services.update_market(
            session,
            node,
            market_id,
            patch,
            actor=principal.username,
            scope_sections=principal.scope_sections,
            client_ip=client_ip(request),
        )
        return {
            "id": row.id,
            "status": row.status,
            "schedule": row.schedule,
            "updated_at": row.updated_at.isoformat() if row.updated_at else None,
            "updated_by": row.updated_by,
        }
