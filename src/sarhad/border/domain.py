"""Pure rules of the border model: statuses, chainage along a line, sections, fence progress, hours.

No I/O and no database. Geometry is shapely (lon/lat, WGS84) in, GeoJSON dicts out; every length and
distance is geodesic and comes from :mod:`sarhad.border.geo`.

*Chainage* is the geodesic distance along a border line from its first position, in metres. For a
MultiLineString (an official line delivered in several pieces) the parts count in the order given, gaps
excluded, so a section can be addressed by ``start_m``/``end_m`` on any line.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeAlias
from zoneinfo import ZoneInfo

from shapely.geometry import LineString, MultiLineString, Point, shape
from shapely.geometry.base import BaseGeometry

from sarhad.border import geo
from sarhad.core.errors import ErrorCode, RuleError

CROSSING_STATUSES: Final = ("open", "restricted", "closed")
"""Statuses a user may set on a crossing point."""
CROSSING_STATUS_UNKNOWN: Final = "unknown"
"""Status of a crossing whose state is not published (local corridors of the reference scenario)."""
CROSSING_MODES: Final = ("road", "rail")
CROSSING_KINDS: Final = ("official_crossing", "local_corridor")
MARKET_STATUSES: Final = ("planned", "operating", "suspended", "closed")
FENCE_STATUSES: Final = ("planned", "under_construction", "complete")
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COORDINATE_DECIMALS: Final = 7  # ~1 cm; stored GeoJSON is rounded to this so re-computation is stable

_HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$")

Line: TypeAlias = LineString | MultiLineString


# ----------------------------------------------------------------------------------------------------
# GeoJSON and bounding boxes


def _round_coords(value: Any) -> Any:
    if isinstance(value, float | int) and not isinstance(value, bool):
        return round(float(value), COORDINATE_DECIMALS)
    return [_round_coords(v) for v in value]


def to_geojson(geometry: BaseGeometry) -> dict[str, Any]:
    """A GeoJSON geometry dict (lists, not tuples; coordinates rounded to ~1 cm), 2-D."""
    kind = geometry.geom_type
    if kind == "Point":
        return {"type": "Point", "coordinates": _round_coords([geometry.x, geometry.y])}
    if kind == "LineString":
        return {"type": "LineString", "coordinates": [_round_coords(c[:2]) for c in geometry.coords]}
    if kind == "MultiLineString":
        return {
            "type": "MultiLineString",
            "coordinates": [[_round_coords(c[:2]) for c in part.coords] for part in geometry.geoms],
        }
    if kind == "Polygon":
        rings = [geometry.exterior, *geometry.interiors]
        return {"type": "Polygon", "coordinates": [[_round_coords(c[:2]) for c in r.coords] for r in rings]}
    if kind == "MultiPolygon":
        return {
            "type": "MultiPolygon",
            "coordinates": [
                [[_round_coords(c[:2]) for c in r.coords] for r in [poly.exterior, *poly.interiors]]
                for poly in geometry.geoms
            ],
        }
    raise ValueError(f"unsupported geometry type {kind}")


def from_geojson(geometry: Mapping[str, Any]) -> BaseGeometry:
    return shape(geometry)


def as_line(geometry: Mapping[str, Any]) -> Line:
    line = shape(geometry)
    if not isinstance(line, LineString | MultiLineString):
        raise ValueError(f"expected a LineString or MultiLineString, got {line.geom_type}")
    return line


def bbox(geometry: BaseGeometry) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat)."""
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    return float(min_lon), float(min_lat), float(max_lon), float(max_lat)


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``min_lon,min_lat,max_lon,max_lat`` (as in RFC 7946 and OGC API) into numbers, or a RuleError on ``bbox``."""
    four = "must be four numbers: min_lon,min_lat,max_lon,max_lat"
    parts = text.split(",")
    if len(parts) != 4:
        raise RuleError("bbox", four, code=ErrorCode.BAD_BBOX)
    try:
        min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
    except ValueError as exc:
        raise RuleError("bbox", four, code=ErrorCode.BAD_BBOX) from exc
    if not all(math.isfinite(v) for v in (min_lon, min_lat, max_lon, max_lat)):
        raise RuleError("bbox", "values must be finite numbers", code=ErrorCode.BAD_BBOX)
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise RuleError(
            "bbox",
            "must satisfy -180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90",
            code=ErrorCode.BAD_BBOX,
        )
    return min_lon, min_lat, max_lon, max_lat


# ----------------------------------------------------------------------------------------------------
# chainage along a (multi)line


def parts_of(line: Line) -> list[LineString]:
    return [line] if isinstance(line, LineString) else list(line.geoms)


def part_lengths_m(line: Line) -> list[float]:
    return [geo.geodesic_length_m(part) for part in parts_of(line)]


def line_length_m(line: Line) -> float:
    return sum(part_lengths_m(line))


def chainage_of_point(line: Line, point: Point) -> float:
    """Chainage (m) of the line's point nearest to ``point``."""
    parts = parts_of(line)
    lengths = part_lengths_m(line)
    best = min(range(len(parts)), key=lambda k: geo.distance_to_line_m(point, parts[k]))
    offset = sum(lengths[:best])
    return offset + min(geo.distance_along_line_m(point, parts[best]), lengths[best])


def point_at_chainage(line: Line, chainage_m: float) -> Point:
    parts = parts_of(line)
    lengths = part_lengths_m(line)
    total = sum(lengths)
    if not -1e-6 <= chainage_m <= total + 1e-6:
        raise geo.BorderGeometryError(
            f"chainage {chainage_m / 1000:.3f} km is outside the line (0 – {total / 1000:.3f} km)"
        )
    start = 0.0
    for part, length in zip(parts, lengths, strict=True):
        if chainage_m <= start + length or part is parts[-1]:
            return geo.point_at_distance_m(part, min(max(chainage_m - start, 0.0), length))
        start += length
    raise AssertionError("unreachable")  # pragma: no cover


def substring_by_chainage(line: Line, start_m: float, end_m: float) -> Line:
    """The stretch of the line between two chainages; several parts give a MultiLineString."""
    total = line_length_m(line)
    if not 0.0 <= start_m < end_m <= total + 1e-6:
        raise geo.BorderGeometryError(
            f"need 0 <= start < end <= {total / 1000:.3f} km, got {start_m / 1000:.3f} – {end_m / 1000:.3f} km"
        )
    pieces: list[LineString] = []
    offset = 0.0
    for part, length in zip(parts_of(line), part_lengths_m(line), strict=True):
        lo, hi = max(start_m, offset) - offset, min(end_m, offset + length) - offset
        if hi - lo > 1e-6:
            pieces.append(geo.substring_by_distance_m(part, lo, min(hi, length)))
        offset += length
    if not pieces:
        raise geo.BorderGeometryError("the requested stretch is empty")
    return pieces[0] if len(pieces) == 1 else MultiLineString(pieces)


def check_bounds(bounds_m: Sequence[float], total_m: float) -> None:
    """Section bounds: start at 0, end at the line's length, strictly increasing."""
    if len(bounds_m) < 2:
        raise geo.BorderGeometryError("a line needs at least one section")
    if abs(bounds_m[0]) > 1e-3 or abs(bounds_m[-1] - total_m) > 1e-3:
        raise geo.BorderGeometryError("sections must cover the whole line, from its start to its end")
    for a, b in itertools.pairwise(bounds_m):
        if b <= a:
            raise geo.BorderGeometryError(
                f"section limits must be strictly increasing: {b / 1000:.3f} km follows {a / 1000:.3f} km"
            )


def bounds_from_cut_points(cut_points_km: Sequence[float], total_m: float) -> list[float]:
    bounds = [0.0, *(km * 1000.0 for km in cut_points_km), total_m]
    for km in cut_points_km:
        if not 0.0 < km * 1000.0 < total_m:
            raise geo.BorderGeometryError(
                f"cut point {km:g} km is not inside the line (0 – {total_m / 1000:.3f} km)"
            )
    check_bounds(bounds, total_m)
    return bounds


def map_bounds(old_line: Line, old_bounds_m: Sequence[float], new_line: Line) -> list[float]:
    """Carry section limits over to a new line: each inner limit keeps its place on the ground.

    The point at each inner limit on the old line is projected onto the new line (nearest point); the
    ends map to the new line's ends. Refuses if the limits come out of order (a reversed or very
    different line), so that no section silently changes its stretch.
    """
    total = line_length_m(new_line)
    inner = [chainage_of_point(new_line, point_at_chainage(old_line, b)) for b in old_bounds_m[1:-1]]
    bounds = [0.0, *inner, total]
    try:
        check_bounds(bounds, total)
    except geo.BorderGeometryError as exc:
        raise geo.BorderGeometryError(
            "the existing section limits do not fall in order on the new line "
            f"({exc}); give the cut points explicitly"
        ) from exc
    return bounds


def runs_reversed(old_line: Line, new_line: Line) -> bool:
    """True when the new line starts near where the old one ends (and not near where it starts)."""
    old_parts, new_parts = parts_of(old_line), parts_of(new_line)
    old_start, old_end = Point(old_parts[0].coords[0]), Point(old_parts[-1].coords[-1])
    new_start = Point(new_parts[0].coords[0])
    _, _, to_start = geo.GEOD.inv(new_start.x, new_start.y, old_start.x, old_start.y)
    _, _, to_end = geo.GEOD.inv(new_start.x, new_start.y, old_end.x, old_end.y)
    return float(to_end) < float(to_start)


def reverse_line(line: Line) -> Line:
    if isinstance(line, LineString):
        return LineString(list(line.coords)[::-1])
    return MultiLineString([LineString(list(p.coords)[::-1]) for p in reversed(line.geoms)])


def fence_stretch_m(
    section_start_m: float, section_end_m: float, start_fraction: float, end_fraction: float
) -> tuple[float, float]:
    """Chainage (m) of a fence segment given as fractions of its section."""
    check_fractions(start_fraction, end_fraction)
    length = section_end_m - section_start_m
    return section_start_m + start_fraction * length, section_start_m + end_fraction * length


def check_fractions(start_fraction: float, end_fraction: float) -> None:
    if not 0.0 <= start_fraction < end_fraction <= 1.0:
        raise ValueError(
            f"need 0 <= start_fraction < end_fraction <= 1, got {start_fraction} – {end_fraction}"
        )


# ----------------------------------------------------------------------------------------------------
# fence progress


@dataclass(frozen=True)
class FenceSegmentFacts:
    section_id: str
    party: str
    status: str
    length_m: float
    reported_length_km: float | None = None


@dataclass
class FenceProgress:
    """Fence lengths of one party in one section (or a total), by status, in metres."""

    section_id: str | None
    party: str
    section_length_m: float = 0.0
    by_status_m: dict[str, float] = field(default_factory=lambda: dict.fromkeys(FENCE_STATUSES, 0.0))
    reported_by_status_km: dict[str, float] | None = field(
        default_factory=lambda: dict.fromkeys(FENCE_STATUSES, 0.0)
    )

    @property
    def fence_length_m(self) -> float:
        return sum(self.by_status_m.values())

    @property
    def complete_share(self) -> float:
        """Share of this party's fence (all statuses) that is complete, 0–1 (0 when no fence is planned)."""
        total = self.fence_length_m
        return self.by_status_m["complete"] / total if total > 0 else 0.0

    @property
    def coverage_share(self) -> float:
        """Share of the section's length that this party plans to fence or has fenced, 0–1."""
        return min(self.fence_length_m / self.section_length_m, 1.0) if self.section_length_m > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "section": self.section_id,
            "party": self.party,
            "section_km": round(self.section_length_m / 1000, 3),
            "fence_km": round(self.fence_length_m / 1000, 3),
            "complete_pct": round(self.complete_share * 100, 1),
            "coverage_pct": round(self.coverage_share * 100, 1),
            "reported_km": (
                {k: round(v, 3) for k, v in self.reported_by_status_km.items()}
                if self.reported_by_status_km is not None
                else None
            ),
        }
        for status in FENCE_STATUSES:
            body[f"{status}_km"] = round(self.by_status_m[status] / 1000, 3)
        return body


def fence_progress(
    segments: Iterable[FenceSegmentFacts],
    section_lengths_m: Mapping[str, float],
    parties: Sequence[str],
) -> tuple[list[FenceProgress], list[FenceProgress]]:
    """Per section and party, and per party over all sections: fence km by status.

    Every (section, party) pair appears, also with no fence at all, so "no fence here" is visible rather
    than missing. Reported (source) km are summed only while every segment has one; else ``None``.
    """
    rows: dict[tuple[str, str], FenceProgress] = {}
    totals: dict[str, FenceProgress] = {}
    all_parties = list(dict.fromkeys(parties))
    seg_list = list(segments)
    for seg in seg_list:
        if seg.party not in all_parties:
            all_parties.append(seg.party)
    for party in all_parties:
        totals[party] = FenceProgress(None, party, section_length_m=sum(section_lengths_m.values()))
        for section_id, length in section_lengths_m.items():
            rows[(section_id, party)] = FenceProgress(section_id, party, section_length_m=length)
    for seg in seg_list:
        if seg.status not in FENCE_STATUSES:
            raise ValueError(f"unknown fence status {seg.status!r}")
        row = rows.setdefault(
            (seg.section_id, seg.party), FenceProgress(seg.section_id, seg.party, section_length_m=0.0)
        )
        for target in (row, totals[seg.party]):
            target.by_status_m[seg.status] += seg.length_m
            if target.reported_by_status_km is not None:
                if seg.reported_length_km is None:
                    target.reported_by_status_km = None
                else:
                    target.reported_by_status_km[seg.status] += seg.reported_length_km
    ordered = [
        rows[key]
        for key in sorted(
            rows, key=lambda k: (_section_order(k[0], section_lengths_m), all_parties.index(k[1]))
        )
    ]
    return ordered, [totals[p] for p in all_parties]


def _section_order(section_id: str, sections: Mapping[str, float]) -> int:
    keys = list(sections)
    return keys.index(section_id) if section_id in keys else len(keys)


# ----------------------------------------------------------------------------------------------------
# opening hours and market days


def check_hhmm(value: str) -> str:
    if not _HHMM.fullmatch(value):
        raise ValueError(f"{value!r} is not a time of day HH:MM (00:00–24:00)")
    return value


def check_weekly(slots: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate weekly opening slots ``[{days: [...], open: "HH:MM", close: "HH:MM"}]``; return them normalised."""
    out: list[dict[str, Any]] = []
    for k, slot in enumerate(slots):
        days = list(slot.get("days") or [])
        if not days:
            raise ValueError(f"weekly[{k}]: give at least one day")
        unknown = [d for d in days if d not in WEEKDAYS]
        if unknown:
            raise ValueError(
                f"weekly[{k}]: unknown day(s) {', '.join(map(str, unknown))}; use {', '.join(WEEKDAYS)}"
            )
        if len(set(days)) != len(days):
            raise ValueError(f"weekly[{k}]: a day is listed twice")
        opens, closes = check_hhmm(str(slot.get("open", ""))), check_hhmm(str(slot.get("close", "")))
        if opens == "24:00" or closes <= opens:
            raise ValueError(f"weekly[{k}]: closing time {closes} must be after opening time {opens}")
        out.append({"days": sorted(days, key=WEEKDAYS.index), "open": opens, "close": closes})
    return out


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def open_at(schedule: Mapping[str, Any] | None, instant: datetime, default_zone: str = "UTC") -> bool | None:
    """Whether a schedule (crossing hours or market days) is open at an instant; None if not known.

    ``always_open`` wins; otherwise the weekly slots are read in the schedule's time zone (or
    ``default_zone``). A schedule with neither is unknown.
    """
    if not schedule:
        return None
    if schedule.get("always_open"):
        return True
    weekly = schedule.get("weekly")
    if weekly is None:
        return None
    local = instant.astimezone(ZoneInfo(str(schedule.get("time_zone") or default_zone)))
    day = WEEKDAYS[local.weekday()]
    now = local.hour * 60 + local.minute
    return any(
        day in slot.get("days", ()) and _minutes(slot["open"]) <= now < _minutes(slot["close"])
        for slot in weekly
    )


def describe_weekly(schedule: Mapping[str, Any] | None) -> str:
    """Short, language-neutral text such as ``mon thu 09:00–15:00`` or ``24/7``."""
    if not schedule:
        return ""
    if schedule.get("always_open"):
        return "24/7"
    return "; ".join(
        f"{' '.join(slot.get('days', ()))} {slot.get('open', '')}–{slot.get('close', '')}"
        for slot in schedule.get("weekly") or ()
    )


def parse_weekly_text(text: str) -> list[dict[str, Any]]:
    """Weekly slots typed one per line as ``mon tue wed 08:00-16:00`` (days, then open–close)."""
    slots: list[dict[str, Any]] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip().replace("–", "-").replace(",", " ")
        if not line:
            continue
        words = line.split()
        span = words[-1] if words else ""
        if "-" not in span or len(words) < 2:
            raise ValueError(f"line {number}: write the days, then the hours, e.g. 'mon tue 08:00-16:00'")
        opens, _, closes = span.partition("-")
        slot = {"days": [w.lower() for w in words[:-1]], "open": opens, "close": closes}
        try:
            slots += check_weekly([slot])
        except ValueError as exc:
            raise ValueError(f"line {number}: {str(exc).removeprefix('weekly[0]: ')}") from exc
    return slots


def weekly_text(schedule: Mapping[str, Any] | None) -> str:
    """The inverse of :func:`parse_weekly_text`, for filling in a form."""
    return "\n".join(
        f"{' '.join(slot.get('days', ()))} {slot.get('open', '')}-{slot.get('close', '')}"
        for slot in (schedule or {}).get("weekly") or ()
    )


def position_id_for_post(party: str, post_id: str) -> str:
    """The id of the duty position of one of ``party``'s posts (``PK-TAFTAN-POST`` for post ``taftan-post``)."""
    upper = post_id.upper()
    return upper if upper.startswith(f"{party}-") else f"{party}-{upper}"
