"""Stored geometry of border rows: bounding-box columns, points, upserts, and placing sections and fence on a line.

Shared by the two writers of geometry, seeding the reference scenario (:mod:`sarhad.border.seeding`) and
importing an official line (:mod:`sarhad.border.line_import`), so both store exactly the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.border import domain
from sarhad.border.models import BorderLine, BorderSection, FenceSegment

T = TypeVar("T")


def bbox_values(geometry: dict[str, Any] | None) -> dict[str, float | None]:
    """The bounding-box columns of a geometry row (all None without geometry); ``?bbox=`` filters on them."""
    if geometry is None:
        return {"min_lon": None, "min_lat": None, "max_lon": None, "max_lat": None}
    min_lon, min_lat, max_lon, max_lat = domain.bbox(domain.from_geojson(geometry))
    return {"min_lon": min_lon, "min_lat": min_lat, "max_lon": max_lon, "max_lat": max_lat}


def point_geometry(location: Any) -> dict[str, Any] | None:
    """A scenario's point as a stored GeoJSON Point, rounded like every stored coordinate."""
    if location is None:
        return None
    return {
        "type": "Point",
        "coordinates": [round(float(c), domain.COORDINATE_DECIMALS) for c in location.coordinates[:2]],
    }


@dataclass
class ChangeCount:
    """How many rows of one kind a seeding run created, updated and left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, outcome: str) -> None:
        """Count one row's outcome: ``created``, ``updated`` or ``unchanged``."""
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def upsert(
    session: Session,
    model: type[T],
    key: Any,
    values: dict[str, Any],
    *,
    on_create: dict[str, Any] | None = None,
) -> tuple[T, str]:
    """Create the row, or set the values that differ; ``on_create`` values are only set on a new row."""
    row = session.get(model, key)
    if row is None:
        row = model(**values, **(on_create or {}))
        session.add(row)
        return row, "created"
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return row, "updated" if changed else "unchanged"


def line_of(row: BorderLine) -> domain.Line:
    """The stored line as shapely geometry."""
    return domain.as_line(row.geometry)


def sections_of(session: Session, line_id: str) -> list[BorderSection]:
    """The sections of a line, in order along it."""
    return list(
        session.scalars(
            select(BorderSection).where(BorderSection.line_id == line_id).order_by(BorderSection.seq)
        )
    )


def place_sections(
    line: domain.Line, sections: Sequence[BorderSection], bounds_m: Sequence[float]
) -> set[str]:
    """Set each section's stretch and geometry from the bounds; returns the ids of sections that changed."""
    changed: set[str] = set()
    for section, start, end in zip(sections, bounds_m[:-1], bounds_m[1:], strict=True):
        geometry = domain.to_geojson(domain.substring_by_chainage(line, start, end))
        values: dict[str, Any] = {
            "start_m": round(start, 3),
            "end_m": round(end, 3),
            "length_m": round(end - start, 3),
            "geometry": geometry,
            **bbox_values(geometry),
        }
        for name, value in values.items():
            if getattr(section, name) != value:
                setattr(section, name, value)
                changed.add(section.id)
    return changed


def fence_geometry(
    line: domain.Line, section: BorderSection, start_fraction: float, end_fraction: float
) -> dict[str, Any]:
    """The stretch of the line a fence segment covers, given as fractions of its section."""
    start, end = domain.fence_stretch_m(section.start_m, section.end_m, start_fraction, end_fraction)
    return domain.to_geojson(domain.substring_by_chainage(line, start, min(end, section.end_m)))


def place_fence(session: Session, line: domain.Line, sections: Sequence[BorderSection]) -> None:
    """Recompute geometry and geodesic length of every fence segment of the given sections."""
    by_id = {s.id: s for s in sections}
    for segment in session.scalars(select(FenceSegment).where(FenceSegment.section_id.in_(list(by_id)))):
        geometry = fence_geometry(
            line, by_id[segment.section_id], segment.start_fraction, segment.end_fraction
        )
        length = round(domain.line_length_m(domain.as_line(geometry)), 3)
        if segment.geometry != geometry:
            segment.geometry = geometry
            for name, value in bbox_values(geometry).items():
                setattr(segment, name, value)
        if segment.length_m != length:
            segment.length_m = length
