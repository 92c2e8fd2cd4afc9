"""Tables of the border model.

Geometry is stored as GeoJSON (WGS84 lon/lat) in JSON columns, so the same schema works on SQLite and
PostgreSQL without PostGIS; every geometry row also carries its bounding box in four indexed columns
(``min_lon``, ``min_lat``, ``max_lon``, ``max_lat``) for "what is in this view" queries. Names are
multi-script dicts (``{"en": …, "ur": …, "fa": …}``). Facts that only travel with a row (sources, notes,
``estimate`` flags, published figures) live in its ``extra`` JSON.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from sarhad.core.database import Base, UtcDateTime


class _BoundingBox:
    """GeoJSON geometry plus its bounding box, indexed."""

    min_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    min_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_lat: Mapped[float | None] = mapped_column(Float, nullable=True)

    @declared_attr.directive
    @classmethod
    def __table_args__(cls) -> tuple[Any, ...]:
        table = cls.__tablename__  # type: ignore[attr-defined]
        extra: tuple[Any, ...] = getattr(cls, "__constraints__", ())
        return (Index(f"ix_{table}_bbox", "min_lon", "min_lat", "max_lon", "max_lat"), *extra)


class BorderParty(Base):
    """A state taking part, with the time zone, calendar and languages it uses officially."""

    __tablename__ = "border_parties"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    time_zone: Mapped[str] = mapped_column(String(64))
    calendar: Mapped[str] = mapped_column(String(16))
    languages: Mapped[list[str]] = mapped_column(JSON)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CountryOutline(_BoundingBox, Base):
    """A country polygon, for the map's base layer only (never used to decide sides)."""

    __tablename__ = "border_country_outlines"

    iso2: Mapped[str] = mapped_column(String(2), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class BorderLine(_BoundingBox, Base):
    """A border line between two parties, directed: ``left_party`` is on the left walking first to last."""

    __tablename__ = "border_lines"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    left_party: Mapped[str] = mapped_column(String(2))
    right_party: Mapped[str] = mapped_column(String(2))
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    length_m: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(200))  # "reference:<scenario id>" or "import:<file name>"
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class BorderSection(_BoundingBox, Base):
    """A consecutive stretch of a border line, from ``start_m`` to ``end_m`` chainage (geodesic metres)."""

    __tablename__ = "border_sections"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("border_lines.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    start_m: Mapped[float] = mapped_column(Float)
    end_m: Mapped[float] = mapped_column(Float)
    length_m: Mapped[float] = mapped_column(Float)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class BorderPost(_BoundingBox, Base):
    """A post or headquarters of one party, responsible for a section on its side."""

    __tablename__ = "border_posts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    party: Mapped[str] = mapped_column(String(2), index=True)
    section_id: Mapped[str | None] = mapped_column(
        ForeignKey("border_sections.id"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Crossing(Base):
    """A crossing point: a pair of sides facing each other across the line."""

    __tablename__ = "border_crossings"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'restricted', 'closed', 'unknown')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    section_id: Mapped[str | None] = mapped_column(
        ForeignKey("border_sections.id"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    modes: Mapped[list[str]] = mapped_column(JSON)
    hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    opened: Mapped[date | None] = mapped_column(Date, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CrossingSide(_BoundingBox, Base):
    """One party's side of a crossing point: its own name and coordinates."""

    __tablename__ = "border_crossing_sides"

    crossing_id: Mapped[str] = mapped_column(ForeignKey("border_crossings.id"), primary_key=True)
    party: Mapped[str] = mapped_column(String(2), primary_key=True)
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Market(_BoundingBox, Base):
    """A border (sustenance) market with its status and market days."""

    __tablename__ = "border_markets"
    __constraints__ = (
        CheckConstraint("status IN ('planned', 'operating', 'suspended', 'closed')", name="status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    crossing_id: Mapped[str | None] = mapped_column(ForeignKey("border_crossings.id"), nullable=True)
    section_id: Mapped[str | None] = mapped_column(
        ForeignKey("border_sections.id"), nullable=True, index=True
    )
    host_party: Mapped[str] = mapped_column(String(2))
    names: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    schedule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    inaugurated: Mapped[date | None] = mapped_column(Date, nullable=True)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class FenceSegment(_BoundingBox, Base):
    """A stretch of one party's fence along a section, given as fractions of the section's length."""

    __tablename__ = "border_fence_segments"
    __constraints__ = (
        CheckConstraint("status IN ('planned', 'under_construction', 'complete')", name="status"),
        CheckConstraint(
            "start_fraction >= 0 AND start_fraction < end_fraction AND end_fraction <= 1", name="fractions"
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    party: Mapped[str] = mapped_column(String(2), index=True)
    section_id: Mapped[str] = mapped_column(ForeignKey("border_sections.id"), index=True)
    start_fraction: Mapped[float] = mapped_column(Float)
    end_fraction: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(24))
    length_m: Mapped[float] = mapped_column(Float)  # geodesic, computed from the geometry
    reported_length_km: Mapped[float | None] = mapped_column(Float, nullable=True)  # as the source gives it
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
