"""Pure geography rules for a border line: lengths, distances, sides, sections and GeoJSON input.

Conventions used throughout (no I/O, no database, no global state besides one ``Geod``):

* Coordinates are longitude/latitude on WGS84, in GeoJSON order ``(lon, lat)``.
* A line's *direction* is the order of its positions, first to last. "Left" and "right" are as seen by
  someone walking along the line in that direction.
* As in RFC 7946 §3.1.1, the edge between two consecutive positions is straight in longitude/latitude;
  side-of-line and nearest-point decisions use that edge. Lengths and positions *along* a line are geodesic
  between consecutive positions on the WGS84 ellipsoid. For the 100–150 km edges of a generalised line the two
  readings differ by at most a few hundred metres; for an official line with dense vertices the difference
  vanishes.
* Lines that cross the antimeridian are not supported.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Geod, Proj
from shapely.geometry import LineString, MultiLineString, MultiPolygon, Point, Polygon

__all__ = [
    "GEOD",
    "ON_LINE",
    "BorderGeometryError",
    "distance_along_line_m",
    "distance_to_line_m",
    "geodesic_length_m",
    "nearest_point_on_line",
    "nearest_section",
    "parse_border_geojson",
    "point_at_distance_m",
    "side_by_territory",
    "side_of_line",
    "split_into_sections",
    "substring_by_distance_m",
    "substring_by_fraction",
]

GEOD: Final = Geod(ellps="WGS84")
"""The one geodesic calculator of this module (WGS84 ellipsoid)."""

ON_LINE: Final = "ON_LINE"
"""Returned by the side functions for a point that lies on the line itself."""

Line: TypeAlias = LineString | MultiLineString
Area: TypeAlias = Polygon | MultiPolygon
Coords: TypeAlias = NDArray[np.float64]

_DENSIFY_DEG: Final = 0.005  # ~500 m: densification step before projecting for nearest-point search
_ON_LINE_DEG: Final = 1e-9  # ~0.1 mm: "exactly on the line" in lon/lat
_SNAP_M: Final = 1e-6  # a cut within a micrometre of a vertex is that vertex
_LINE_TYPES: Final = ("LineString", "MultiLineString")
_GEOMETRY_TYPES: Final = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)


class BorderGeometryError(ValueError):
    """A border geometry (or an argument about one) is unusable; the message says what and where."""


# ----------------------------------------------------------------------------------------------------
# small internals


def _parts(line: Line) -> list[LineString]:
    """The LineString parts of a LineString or MultiLineString."""
    if isinstance(line, LineString):
        return [line]
    if isinstance(line, MultiLineString):
        return list(line.geoms)
    raise TypeError(f"expected a LineString or MultiLineString, got {type(line).__name__}")


def _lonlat(point: Point) -> tuple[float, float]:
    if not isinstance(point, Point) or point.is_empty:
        raise TypeError(f"expected a non-empty Point, got {type(point).__name__}")
    return float(point.x), float(point.y)


def _coords(part: LineString) -> Coords:
    """2-D coordinates of a part without consecutive duplicates."""
    xy = np.asarray(part.coords, dtype=np.float64)[:, :2]
    if len(xy) > 1:
        keep = np.ones(len(xy), dtype=bool)
        keep[1:] = np.any(xy[1:] != xy[:-1], axis=1)
        xy = xy[keep]
    return xy


def _single_line_coords(line: LineString) -> Coords:
    if not isinstance(line, LineString):
        raise TypeError(f"expected a LineString, got {type(line).__name__}")
    xy = _coords(line)
    if len(xy) < 2:
        raise BorderGeometryError("the line has fewer than 2 distinct positions")
    return xy


def _cumulative_m(xy: Coords) -> Coords:
    """Geodesic distance from the first position to each position, in metres."""
    _, _, dist = GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
    return np.concatenate([[0.0], np.cumsum(np.asarray(dist, dtype=np.float64))])


def _point_at(xy: Coords, cum: Coords, distance_m: float) -> tuple[float, float]:
    """Position at ``distance_m`` along the line, on the geodesic between the neighbouring vertices."""
    i = int(np.searchsorted(cum, distance_m, side="right")) - 1
    i = min(max(i, 0), len(xy) - 2)
    along = distance_m - float(cum[i])
    if along <= _SNAP_M:
        return float(xy[i, 0]), float(xy[i, 1])
    if float(cum[i + 1]) - distance_m <= _SNAP_M:
        return float(xy[i + 1, 0]), float(xy[i + 1, 1])
    lon1, lat1, lon2, lat2 = float(xy[i, 0]), float(xy[i, 1]), float(xy[i + 1, 0]), float(xy[i + 1, 1])
    azimuth, _, _ = GEOD.inv(lon1, lat1, lon2, lat2)
    lon, lat, _ = GEOD.fwd(lon1, lat1, azimuth, along)
    return float(lon), float(lat)


def _pieces(xy: Coords, cum: Coords, bounds_m: Sequence[float]) -> list[LineString]:
    """Consecutive pieces between the given distances; neighbouring pieces share the same cut point."""
    cut_points = [_point_at(xy, cum, d) for d in bounds_m]
    pieces = []
    for k in range(len(bounds_m) - 1):
        start, end = bounds_m[k], bounds_m[k + 1]
        inner = [
            (float(xy[j, 0]), float(xy[j, 1]))
            for j in range(len(xy))
            if start + _SNAP_M < float(cum[j]) < end - _SNAP_M
        ]
        pieces.append(LineString([cut_points[k], *inner, cut_points[k + 1]]))
    return pieces


def _local_xy(xy: Coords, lon0: float, lat0: float) -> Coords:
    """Affine local plane centred on (lon0, lat0): keeps lon/lat edges straight and their orientation."""
    k = math.cos(math.radians(lat0))
    return np.column_stack([(xy[:, 0] - lon0) * k, xy[:, 1] - lat0])


def _nearest_segment(local: Coords) -> tuple[int, float, float]:
    """Index, parameter and squared distance of the segment nearest to the origin of the local plane."""
    a = local[:-1]
    ab = local[1:] - a
    length2 = np.einsum("ij,ij->i", ab, ab)
    t = np.clip(np.einsum("ij,ij->i", -a, ab) / length2, 0.0, 1.0)
    nearest = a + t[:, None] * ab
    d2 = np.einsum("ij,ij->i", nearest, nearest)
    i = int(np.argmin(d2))
    return i, float(t[i]), float(d2[i])


def _cross(u: Coords, v: Coords) -> float:
    return float(u[0] * v[1] - u[1] * v[0])


def _vertex_side(incoming: Coords, outgoing: Coords, rel: Coords) -> float:
    """Side (+ left, - right, 0 on) of a point nearest to the vertex joining two segments."""
    left_in, left_out, turn = _cross(incoming, rel), _cross(outgoing, rel), _cross(incoming, outgoing)
    if turn > 0:  # left turn: the left side is the inner wedge
        if left_in > 0 and left_out > 0:
            return 1.0
        return -1.0 if (left_in < 0 or left_out < 0) else 0.0
    if turn < 0:  # right turn: the right side is the inner wedge
        if left_in < 0 and left_out < 0:
            return -1.0
        return 1.0 if (left_in > 0 or left_out > 0) else 0.0
    return left_out if left_out != 0 else left_in


def _side_sign(local: Coords, i: int, t: float) -> float:
    """Side of the origin relative to a local polyline whose nearest segment is ``i`` at parameter ``t``."""
    last = len(local) - 2
    a, b = local[i], local[i + 1]
    if t <= 0.0 and i > 0:
        return _vertex_side(a - local[i - 1], b - a, -a)
    if t >= 1.0 and i < last:
        return _vertex_side(b - a, local[i + 2] - b, -b)
    return _cross(b - a, -a)


# ----------------------------------------------------------------------------------------------------
# lengths and distances


def geodesic_length_m(line: Line) -> float:
    """Geodesic length in metres on WGS84 (sum over the parts of a MultiLineString)."""
    total = 0.0
    for part in _parts(line):
        xy = _coords(part)
        if len(xy) >= 2:
            total += float(GEOD.line_length(xy[:, 0], xy[:, 1]))
    return total


def nearest_point_on_line(point: Point, line: Line) -> Point:
    """The point of ``line`` nearest (geodesically) to ``point``, as lon/lat."""
    lon0, lat0 = _lonlat(point)
    proj = Proj(proj="aeqd", lat_0=lat0, lon_0=lon0, ellps="WGS84")
    origin = Point(0.0, 0.0)
    best: tuple[float, float, float] | None = None
    for part in _parts(line):
        dense = _coords(shapely.segmentize(part, _DENSIFY_DEG))
        if len(dense) == 0:
            continue
        xs, ys = proj(dense[:, 0], dense[:, 1])
        projected = LineString(np.column_stack([xs, ys])) if len(dense) > 1 else Point(xs[0], ys[0])
        d = float(projected.distance(origin))
        if best is None or d < best[0]:
            near = projected.interpolate(projected.project(origin)) if len(dense) > 1 else projected
            best = (d, float(near.x), float(near.y))
    if best is None:
        raise BorderGeometryError("the line is empty")
    lon, lat = proj(best[1], best[2], inverse=True)
    return Point(float(lon), float(lat))


def distance_to_line_m(point: Point, line: Line) -> float:
    """Geodesic distance in metres from a lon/lat point to the nearest point of the line.

    The nearest point is found on the line densified to ~500 m and projected to an azimuthal equidistant
    plane centred on the point (where distances from the centre are true); the distance to it is then
    computed on the ellipsoid. Accurate to centimetres within a few hundred kilometres.
    """
    lon0, lat0 = _lonlat(point)
    near = nearest_point_on_line(point, line)
    _, _, dist = GEOD.inv(lon0, lat0, float(near.x), float(near.y))
    return float(dist)


def distance_along_line_m(point: Point, line: LineString) -> float:
    """Geodesic distance in metres from the start of the line to the line's point nearest ``point``."""
    lon0, lat0 = _lonlat(point)
    xy = _single_line_coords(line)
    i, t, _ = _nearest_segment(_local_xy(xy, lon0, lat0))
    lon = float(xy[i, 0] + t * (xy[i + 1, 0] - xy[i, 0]))
    lat = float(xy[i, 1] + t * (xy[i + 1, 1] - xy[i, 1]))
    _, _, extra = GEOD.inv(float(xy[i, 0]), float(xy[i, 1]), lon, lat)
    return float(_cumulative_m(xy)[i]) + float(extra)


def point_at_distance_m(line: LineString, distance_m: float) -> Point:
    """The point ``distance_m`` metres (geodesic) along the line from its first position."""
    xy = _single_line_coords(line)
    cum = _cumulative_m(xy)
    if not 0.0 <= distance_m <= float(cum[-1]):
        raise BorderGeometryError(
            f"distance {distance_m / 1000:.3f} km is outside the line (0 – {cum[-1] / 1000:.3f} km)"
        )
    return Point(*_point_at(xy, cum, distance_m))


# ----------------------------------------------------------------------------------------------------
# sides


def side_of_line(
    point: Point, line: Line, left_party: str, right_party: str, *, tolerance_m: float = 0.0
) -> str:
    """The party whose side of the directed line the point is on, or ``ON_LINE``.

    Left/right are taken at the nearest segment, seen walking from the line's first to its last position;
    a point nearest to a vertex is decided by the wedge the two segments form, and a point beyond an end by
    the end segment extended. A point on the line (or within ``tolerance_m`` metres) gives ``ON_LINE``.
    """
    lon0, lat0 = _lonlat(point)
    if float(line.distance(point)) <= _ON_LINE_DEG:
        return ON_LINE
    if tolerance_m > 0.0 and distance_to_line_m(point, line) <= tolerance_m:
        return ON_LINE
    best: tuple[float, float] | None = None  # (squared local distance, side sign)
    for part in _parts(line):
        xy = _coords(part)
        if len(xy) < 2:
            continue
        local = _local_xy(xy, lon0, lat0)
        i, t, d2 = _nearest_segment(local)
        if best is None or d2 < best[0]:
            best = (d2, _side_sign(local, i, t))
    if best is None:
        raise BorderGeometryError("the line has no segment")
    if best[1] > 0:
        return left_party
    if best[1] < 0:
        return right_party
    return ON_LINE


def side_by_territory(point: Point, territories: Mapping[str, Area]) -> str | None:
    """The code of the territory containing the point, decided by polygons instead of a line.

    A point on the boundary shared by two or more territories gives ``ON_LINE``; a point on the outer
    boundary of exactly one (a coast) belongs to it. ``None`` when the point is in no territory, or inside
    more than one (overlapping outlines: ambiguous).
    """
    _lonlat(point)
    inside = [code for code, area in territories.items() if area.contains(point)]
    if len(inside) == 1:
        return inside[0]
    if inside:
        return None
    on_boundary = [code for code, area in territories.items() if area.covers(point)]
    if len(on_boundary) >= 2:
        return ON_LINE
    return on_boundary[0] if on_boundary else None


# ----------------------------------------------------------------------------------------------------
# sections


def substring_by_distance_m(line: LineString, start_m: float, end_m: float) -> LineString:
    """The part of the line between two geodesic distances (metres) from its first position."""
    xy = _single_line_coords(line)
    cum = _cumulative_m(xy)
    total = float(cum[-1])
    if not 0.0 <= start_m < end_m <= total + _SNAP_M:
        raise BorderGeometryError(
            f"need 0 <= start < end <= {total / 1000:.3f} km, "
            f"got {start_m / 1000:.3f} – {end_m / 1000:.3f} km"
        )
    return _pieces(xy, cum, [start_m, min(end_m, total)])[0]


def substring_by_fraction(line: LineString, start: float, end: float) -> LineString:
    """The part of the line between two fractions (0–1) of its geodesic length."""
    if not 0.0 <= start < end <= 1.0:
        raise BorderGeometryError(f"need 0 <= start < end <= 1, got {start} – {end}")
    total = geodesic_length_m(line)
    return substring_by_distance_m(line, start * total, end * total)


def split_into_sections(line: LineString, cut_points_km: Sequence[float]) -> list[LineString]:
    """Split the line at geodesic distances (km from its first position) into consecutive sections.

    ``n`` cut points give ``n + 1`` sections; each section ends exactly where the next one starts, and the
    sections' geodesic lengths add up to the line's. A cut point inside an edge lies on the geodesic between
    the edge's ends (so lengths add up), which for a long edge can be a little off the straight lon/lat edge.
    """
    xy = _single_line_coords(line)
    cum = _cumulative_m(xy)
    total = float(cum[-1])
    previous = 0.0
    for km in cut_points_km:
        if not 0.0 < km * 1000.0 < total:
            raise BorderGeometryError(f"cut point {km} km is not inside the line (0 – {total / 1000:.3f} km)")
        if km * 1000.0 <= previous:
            raise BorderGeometryError(
                f"cut points must be strictly increasing: {km} km follows {previous / 1000:g} km"
            )
        previous = km * 1000.0
    bounds = [0.0, *(km * 1000.0 for km in cut_points_km), total]
    return _pieces(xy, cum, bounds)


def nearest_section(point: Point, sections: Mapping[str, Line]) -> tuple[str, float]:
    """The id of the section nearest to the point and the geodesic distance to it in metres."""
    if not sections:
        raise BorderGeometryError("no sections given")
    best_id, best_m = "", math.inf
    for section_id, geometry in sections.items():
        d = distance_to_line_m(point, geometry)
        if d < best_m:
            best_id, best_m = section_id, d
    return best_id, best_m


# ----------------------------------------------------------------------------------------------------
# GeoJSON input


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _reject_constant(name: str) -> Any:
    raise BorderGeometryError(f"invalid JSON: {name} is not a JSON number")


def _position(value: Any, path: str) -> tuple[float, float]:
    if not isinstance(value, list):
        raise BorderGeometryError(f"{path} must be a position [longitude, latitude], got {_json_type(value)}")
    if len(value) < 2:
        raise BorderGeometryError(
            f"{path} has {len(value)} number(s); a position needs longitude and latitude"
        )
    numbers: list[float] = []
    for k, name in ((0, "longitude"), (1, "latitude")):
        item = value[k]
        if isinstance(item, bool) or not isinstance(item, int | float) or not math.isfinite(item):
            raise BorderGeometryError(f"{path}[{k}] ({name}) is not a number: {json.dumps(item)}")
        numbers.append(float(item))
    lon, lat = numbers
    if not -180.0 <= lon <= 180.0:
        raise BorderGeometryError(f"{path}: longitude {lon:g} is outside [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise BorderGeometryError(f"{path}: latitude {lat:g} is outside [-90, 90]")
    return lon, lat


def _line_positions(value: Any, path: str) -> list[tuple[float, float]]:
    if not isinstance(value, list):
        raise BorderGeometryError(f"{path} must be an array of positions, got {_json_type(value)}")
    positions = [_position(item, f"{path}[{k}]") for k, item in enumerate(value)]
    distinct = [p for k, p in enumerate(positions) if k == 0 or p != positions[k - 1]]
    if len(distinct) < 2:
        raise BorderGeometryError(f"{path} has {len(distinct)} distinct position(s); a line needs at least 2")
    return positions


def _geometry_lines(geometry: Any, path: str) -> list[tuple[str, list[tuple[float, float]]]] | str:
    """Line parts of a geometry as (path, positions), or the name of a non-line type found."""
    if not isinstance(geometry, dict):
        raise BorderGeometryError(f"{path} must be a GeoJSON geometry object, got {_json_type(geometry)}")
    kind = geometry.get("type")
    if kind not in _GEOMETRY_TYPES:
        raise BorderGeometryError(f"{path} has unknown geometry type {json.dumps(kind)}")
    if kind == "GeometryCollection":
        members = geometry.get("geometries")
        if not isinstance(members, list):
            raise BorderGeometryError(f"{path}.geometries must be an array, got {_json_type(members)}")
        found: list[tuple[str, list[tuple[float, float]]]] = []
        for k, member in enumerate(members):
            lines = _geometry_lines(member, f"{path}.geometries[{k}]")
            if not isinstance(lines, str):
                found.extend(lines)
        return found if found else "GeometryCollection without lines"
    if kind not in _LINE_TYPES:
        return str(kind)
    coordinates = geometry.get("coordinates")
    if kind == "LineString":
        return [(f"{path}.coordinates", _line_positions(coordinates, f"{path}.coordinates"))]
    if not isinstance(coordinates, list):
        raise BorderGeometryError(
            f"{path}.coordinates must be an array of lines, got {_json_type(coordinates)}"
        )
    if not coordinates:
        raise BorderGeometryError(f"{path}.coordinates is an empty MultiLineString")
    return [
        (f"{path}.coordinates[{k}]", _line_positions(part, f"{path}.coordinates[{k}]"))
        for k, part in enumerate(coordinates)
    ]


def _collect_lines(doc: Any) -> list[tuple[str, list[tuple[float, float]]]]:
    if not isinstance(doc, dict):
        raise BorderGeometryError(f"GeoJSON must be a JSON object, got {_json_type(doc)}")
    kind = doc.get("type")
    if not isinstance(kind, str):
        raise BorderGeometryError("GeoJSON object has no string 'type' member")
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise BorderGeometryError(
                f"FeatureCollection 'features' must be an array, got {_json_type(features)}"
            )
        if not features:
            raise BorderGeometryError("FeatureCollection has no features")
        for k, feature in enumerate(features):
            if not isinstance(feature, dict) or feature.get("type") != "Feature":
                raise BorderGeometryError(f"features[{k}] is not a GeoJSON Feature")
        borders = [
            k
            for k, feature in enumerate(features)
            if isinstance(feature.get("properties"), dict) and feature["properties"].get("kind") == "border"
        ]
        found: list[tuple[str, list[tuple[float, float]]]] = []
        others: list[str] = []
        for k in borders or range(len(features)):
            path = f"features[{k}].geometry"
            geometry = features[k].get("geometry")
            if geometry is None:
                if borders:
                    raise BorderGeometryError(f"features[{k}] has kind 'border' but no geometry")
                others.append("null")
                continue
            lines = _geometry_lines(geometry, path)
            if isinstance(lines, str):
                if borders:
                    raise BorderGeometryError(
                        f"features[{k}] has kind 'border' but its geometry is {lines}; "
                        "expected LineString or MultiLineString"
                    )
                others.append(lines)
            else:
                found.extend(lines)
        if not found:
            raise BorderGeometryError(
                "no line geometry: the FeatureCollection has no LineString or MultiLineString "
                f"(found {', '.join(sorted(set(others)))})"
            )
        return found
    if kind == "Feature":
        if "geometry" not in doc or doc["geometry"] is None:
            raise BorderGeometryError("no line geometry: the Feature's geometry is missing or null")
        lines = _geometry_lines(doc["geometry"], "geometry")
        if isinstance(lines, str):
            raise BorderGeometryError(
                f"no line geometry: the Feature's geometry is {lines}; expected LineString or MultiLineString"
            )
        return lines
    if kind in _GEOMETRY_TYPES:
        lines = _geometry_lines(doc, "geometry")
        if isinstance(lines, str):
            raise BorderGeometryError(
                f"no line geometry: got {lines}; expected LineString or MultiLineString"
            )
        return lines
    raise BorderGeometryError(
        f"unsupported GeoJSON type {json.dumps(kind)}; expected a Geometry, Feature or FeatureCollection"
    )


def _check_no_crossings(parts: Sequence[tuple[str, list[tuple[float, float]]]]) -> None:
    """Refuse lines whose segments cross or overlap themselves or each other; say where."""
    segments: list[LineString] = []
    owners: list[tuple[int, int, int, int]] = []  # (part, segment number, first position, last position)
    for p, (_, positions) in enumerate(parts):
        kept = [k for k in range(len(positions)) if k == 0 or positions[k] != positions[k - 1]]
        for n in range(len(kept) - 1):
            segments.append(LineString([positions[kept[n]], positions[kept[n + 1]]]))
            owners.append((p, n, kept[n], kept[n + 1]))
    tree = shapely.STRtree(segments)
    hits = np.asarray(tree.query(segments, predicate="intersects"))
    order = np.lexsort((hits[1], hits[0]))
    for a, b in zip(hits[0][order], hits[1][order], strict=True):
        if a >= b:
            continue
        (pa, na, ka, ka_end), (pb, nb, kb, kb_end) = owners[int(a)], owners[int(b)]
        meeting = segments[int(a)].intersection(segments[int(b)])
        if meeting.geom_type == "Point":
            shared = (float(meeting.x), float(meeting.y))
            line_a, line_b = parts[pa][1], parts[pb][1]
            if pa == pb:
                if nb == na + 1 and shared == line_a[ka_end]:
                    continue  # consecutive segments meet at their common position
                closed = line_a[0] == line_a[-1]
                if closed and na == 0 and kb_end == len(line_a) - 1 and shared == line_a[0]:
                    continue  # a closed line meets itself at its first/last position
            elif shared in (line_a[0], line_a[-1]) and shared in (line_b[0], line_b[-1]):
                continue  # two parts joined end to end
        where = meeting.representative_point()
        verb = "crosses" if meeting.geom_type == "Point" else "overlaps"
        raise BorderGeometryError(
            f"the line {verb} itself at longitude {float(where.x):.6f}, latitude {float(where.y):.6f}: "
            f"segment {parts[pa][0]}[{ka}]–[{ka_end}] {verb} segment {parts[pb][0]}[{kb}]–[{kb_end}]"
        )


def parse_border_geojson(text: str) -> Line:
    """Read a border line from GeoJSON text (a Geometry, Feature or FeatureCollection).

    In a FeatureCollection the features whose ``properties.kind`` is ``"border"`` are taken if there are any,
    otherwise every line feature; several lines are joined end to end where they meet (keeping their
    direction), else returned as a MultiLineString. Elevations are dropped. Raises ``BorderGeometryError``
    naming the offending member for invalid JSON, a non-line geometry, fewer than 2 positions, a non-numeric
    or out-of-range coordinate, or a line that crosses or overlaps itself.
    """
    try:
        doc = json.loads(text, parse_constant=_reject_constant)
        parts = _collect_lines(doc)
    except json.JSONDecodeError as exc:
        raise BorderGeometryError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except RecursionError as exc:  # a document nested thousands deep: no border line looks like that
        raise BorderGeometryError("the GeoJSON is nested too deeply to be a border line") from exc
    _check_no_crossings(parts)
    lines = [LineString(positions) for _, positions in parts]
    if len(lines) == 1:
        return lines[0]
    merged = shapely.line_merge(MultiLineString(lines), directed=True)
    if isinstance(merged, LineString):
        return merged
    return MultiLineString(list(merged.geoms))
