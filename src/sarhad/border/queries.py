"""Reading the border model: lists with filters, single rows, fence progress, locating a point, chainage.

Every public read takes the actor and checks ``border.read`` (every role holds it); the ``*_row`` fetches
without a check are for services that checked their own permission (the edits check ``border.edit``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from shapely.geometry import Point
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.border import domain, geo
from sarhad.border.models import (
    BorderLine,
    BorderParty,
    BorderPost,
    BorderSection,
    CountryOutline,
    Crossing,
    CrossingSide,
    FenceSegment,
    Market,
)
from sarhad.border.placement import line_of, sections_of
from sarhad.core.errors import ErrorCode, InvalidInput, NotFound

T = TypeVar("T")


def _read(actor: Actor) -> None:
    require(actor, Permission.BORDER_READ, "reading the border model")


@dataclass(frozen=True)
class ListFilter:
    """The filters of the list endpoints and pages; None means any."""

    section: str | None = None
    party: str | None = None
    status: str | None = None
    kind: str | None = None
    bbox: tuple[float, float, float, float] | None = None


def _in_bbox(query: Select[Any], model: Any, box: tuple[float, float, float, float] | None) -> Select[Any]:
    if box is None:
        return query
    min_lon, min_lat, max_lon, max_lat = box
    return query.where(
        model.max_lon >= min_lon, model.min_lon <= max_lon, model.max_lat >= min_lat, model.min_lat <= max_lat
    )


def list_parties(session: Session, actor: Actor) -> list[BorderParty]:
    """The parties, by code."""
    _read(actor)
    return list(session.scalars(select(BorderParty).order_by(BorderParty.code)))


def list_outlines(session: Session, actor: Actor, flt: ListFilter | None = None) -> list[CountryOutline]:
    """Country outlines (display only), by ISO code."""
    _read(actor)
    flt = flt or ListFilter()
    query = _in_bbox(select(CountryOutline), CountryOutline, flt.bbox)
    if flt.party:
        query = query.where(CountryOutline.iso2 == flt.party)
    return list(session.scalars(query.order_by(CountryOutline.iso2)))


def list_lines(session: Session, actor: Actor, flt: ListFilter | None = None) -> list[BorderLine]:
    """Border lines, by id; ``party`` keeps the lines it is on either side of."""
    _read(actor)
    flt = flt or ListFilter()
    query = _in_bbox(select(BorderLine), BorderLine, flt.bbox)
    if flt.party:
        query = query.where((BorderLine.left_party == flt.party) | (BorderLine.right_party == flt.party))
    return list(session.scalars(query.order_by(BorderLine.id)))


def list_sections(session: Session, actor: Actor, flt: ListFilter | None = None) -> list[BorderSection]:
    """Sections, by line and order along it."""
    _read(actor)
    flt = flt or ListFilter()
    query = _in_bbox(select(BorderSection), BorderSection, flt.bbox)
    if flt.section:
        query = query.where(BorderSection.id == flt.section)
    return list(session.scalars(query.order_by(BorderSection.line_id, BorderSection.seq)))


def list_posts(session: Session, actor: Actor, flt: ListFilter | None = None) -> list[BorderPost]:
    """Posts and headquarters, by section, party and id."""
    _read(actor)
    flt = flt or ListFilter()
    query = _in_bbox(select(BorderPost), BorderPost, flt.bbox)
    if flt.section:
        query = query.where(BorderPost.section_id == flt.section)
    if flt.party:
        query = query.where(BorderPost.party == flt.party)
    if flt.kind:
        query = query.where(BorderPost.kind == flt.kind)
    return list(session.scalars(query.order_by(BorderPost.section_id, BorderPost.party, BorderPost.id)))


def list_crossings(
    session: Session, actor: Actor, flt: ListFilter | None = None
) -> list[tuple[Crossing, list[CrossingSide]]]:
    """Crossings with their sides (ordered by party); a bbox keeps crossings with a side in it."""
    _read(actor)
    flt = flt or ListFilter()
    query = select(Crossing)
    if flt.section:
        query = query.where(Crossing.section_id == flt.section)
    if flt.status:
        query = query.where(Crossing.status == flt.status)
    if flt.kind:
        query = query.where(Crossing.kind == flt.kind)
    crossings = list(session.scalars(query.order_by(Crossing.kind.desc(), Crossing.section_id, Crossing.id)))
    sides: dict[str, list[CrossingSide]] = {}
    for side in session.scalars(select(CrossingSide).order_by(CrossingSide.crossing_id, CrossingSide.party)):
        sides.setdefault(side.crossing_id, []).append(side)
    out = []
    for crossing in crossings:
        mine = sides.get(crossing.id, [])
        if flt.party and not any(s.party == flt.party for s in mine):
            continue
        if flt.bbox is not None:
            lo_lon, lo_lat, hi_lon, hi_lat = flt.bbox
            if not any(
                s.min_lon is not None
                and s.max_lon is not None
                and s.min_lat is not None
                and s.max_lat is not None
                and s.max_lon >= lo_lon
                and s.min_lon <= hi_lon
                and s.max_lat >= lo_lat
                and s.min_lat <= hi_lat
                for s in mine
            ):
                continue
        out.append((crossing, mine))
    return out


def list_markets(session: Session, actor: Actor, flt: ListFilter | None = None) -> list[Market]:
    """Border markets, by section and id; ``party`` is the host."""
    _read(actor)
    flt = flt or ListFilter()
    query = _in_bbox(select(Market), Market, flt.bbox)
    if flt.section:
        query = query.where(Market.section_id == flt.section)
    if flt.status:
        query = query.where(Market.status == flt.status)
    if flt.party:
        query = query.where(Market.host_party == flt.party)
    return list(session.scalars(query.order_by(Market.section_id, Market.id)))


def list_fence_segments(session: Session, actor: Actor, flt: ListFilter | None = None) -> list[FenceSegment]:
    """Fence segments, in order along the line, then by party and position in the section."""
    _read(actor)
    flt = flt or ListFilter()
    query = _in_bbox(select(FenceSegment), FenceSegment, flt.bbox)
    if flt.section:
        query = query.where(FenceSegment.section_id == flt.section)
    if flt.party:
        query = query.where(FenceSegment.party == flt.party)
    if flt.status:
        query = query.where(FenceSegment.status == flt.status)
    segments = list(session.scalars(query))
    order = {s.id: s.seq for s in session.scalars(select(BorderSection))}
    return sorted(segments, key=lambda f: (order.get(f.section_id, 0), f.party, f.start_fraction))


def _one(session: Session, model: type[T], key: str, what: str) -> T:
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"no {what} {key!r}")
    return row


def crossing_row(session: Session, crossing_id: str) -> Crossing:
    """The crossing, or NotFound; no permission check: only for services that made their own."""
    return _one(session, Crossing, crossing_id, "crossing point")


def market_row(session: Session, market_id: str) -> Market:
    """The market, or NotFound; no permission check: only for services that made their own."""
    return _one(session, Market, market_id, "border market")


def fence_segment_row(session: Session, segment_id: str) -> FenceSegment:
    """The fence segment, or NotFound; no permission check: only for services that made their own."""
    return _one(session, FenceSegment, segment_id, "fence segment")


def access_crossing(session: Session, actor: Actor, crossing_id: str) -> Crossing:
    """A crossing point, for an actor allowed to read the border model."""
    _read(actor)
    return crossing_row(session, crossing_id)


def access_market(session: Session, actor: Actor, market_id: str) -> Market:
    """A border market, for an actor allowed to read the border model."""
    _read(actor)
    return market_row(session, market_id)


def access_fence_segment(session: Session, actor: Actor, segment_id: str) -> FenceSegment:
    """A fence segment, for an actor allowed to read the border model."""
    _read(actor)
    return fence_segment_row(session, segment_id)


def line_parties(session: Session, actor: Actor) -> list[str]:
    """Parties along the border lines, in line order (left, right), without repeats."""
    seen: dict[str, None] = {}
    for row in list_lines(session, actor):
        seen.setdefault(row.left_party, None)
        seen.setdefault(row.right_party, None)
    return list(seen)


@dataclass
class ProgressReport:
    """Fence progress per section and party, per party in total, and the published figures per line."""

    rows: list[domain.FenceProgress]
    totals: list[domain.FenceProgress]
    published: dict[str, Any]

    def for_section(self, section_id: str) -> dict[str, dict[str, Any]]:
        return {row.party: row.as_dict() for row in self.rows if row.section_id == section_id}

    def as_dict(self) -> dict[str, Any]:
        return {
            "sections": [row.as_dict() for row in self.rows],
            "totals": [row.as_dict() for row in self.totals],
            "published": self.published,
        }


def fence_progress(session: Session, actor: Actor) -> ProgressReport:
    """Fence km by status per section and side, and per side in total (geodesic, from the geometry)."""
    sections = list_sections(session, actor)
    segments = [
        domain.FenceSegmentFacts(s.section_id, s.party, s.status, s.length_m, s.reported_length_km)
        for s in session.scalars(select(FenceSegment))
    ]
    rows, totals = domain.fence_progress(
        segments, {s.id: s.length_m for s in sections}, line_parties(session, actor)
    )
    published: dict[str, Any] = {}
    for line in list_lines(session, actor):
        fence = (line.extra or {}).get("fence_published")
        if fence:
            published[line.id] = fence
    return ProgressReport(rows=rows, totals=totals, published=published)


@dataclass(frozen=True)
class Location:
    """Where a point is relative to the border: side, nearest section, distance and chainage."""

    lon: float
    lat: float
    side: str  # a party code, or geo.ON_LINE
    line_id: str
    section_id: str | None
    distance_to_border_m: float
    chainage_km: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "lon": self.lon,
            "lat": self.lat,
            "side": self.side,
            "on_line": self.side == geo.ON_LINE,
            "line": self.line_id,
            "section": self.section_id,
            "distance_to_border_m": round(self.distance_to_border_m, 1),
            "chainage_km": round(self.chainage_km, 3),
        }


def locate(session: Session, actor: Actor, lon: float, lat: float) -> Location:
    """Which side of the (nearest) border line a point is on, its nearest section and distance to the line."""
    _read(actor)
    return place_of_point(session, lon, lat)


def place_of_point(session: Session, lon: float, lat: float) -> Location:
    """:func:`locate` without a permission check, for services that attribute a place to the border (an
    incident's side and section) after checking their own permission; it answers only geometric facts."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput("lat must be within [-90, 90] and lon within [-180, 180]")
    lines = _all_lines(session)
    if not lines:
        raise NotFound(
            "no border line is loaded yet; seed the reference scenario or import a line",
            code=ErrorCode.NO_BORDER,
        )
    point = Point(lon, lat)
    shapes = {row.id: line_of(row) for row in lines}
    distances = {line_id: geo.distance_to_line_m(point, shape) for line_id, shape in shapes.items()}
    line_id = min(distances, key=lambda k: distances[k])
    row = next(r for r in lines if r.id == line_id)
    line = shapes[line_id]
    side = geo.side_of_line(point, line, row.left_party, row.right_party)
    sections = {
        s.id: domain.as_line(s.geometry)
        for s in sections_of(session, line_id)
        if s.geometry.get("coordinates")
    }
    section_id = geo.nearest_section(point, sections)[0] if sections else None
    return Location(
        lon=lon,
        lat=lat,
        side=side,
        line_id=line_id,
        section_id=section_id,
        distance_to_border_m=distances[line_id],
        chainage_km=domain.chainage_of_point(line, point) / 1000,
    )


def _all_lines(session: Session) -> list[BorderLine]:
    return list(session.scalars(select(BorderLine).order_by(BorderLine.id)))


def crossing_chainages(
    session: Session, actor: Actor, rows: Iterable[tuple[Crossing, list[CrossingSide]]]
) -> dict[str, float | None]:
    """Chainage (km along the nearest line) of each crossing: of the mean of its sides' positions."""
    lines = [line_of(r) for r in list_lines(session, actor)]
    out: dict[str, float | None] = {}
    for crossing, sides in rows:
        points = [s.geometry["coordinates"] for s in sides if s.geometry]
        if not points or not lines:
            out[crossing.id] = None
            continue
        point = Point(sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
        line = min(lines, key=lambda ln: geo.distance_to_line_m(point, ln))
        out[crossing.id] = round(domain.chainage_of_point(line, point) / 1000, 3)
    return out
