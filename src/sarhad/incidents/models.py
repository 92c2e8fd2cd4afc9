"""Tables for incidents: own and received in one table, every version's content, and attachment files.

An incident is identified by ``(origin, id)``: ids are UUIDv7 made by their originator, so a peer's id can
never overwrite one of ours. The map query (bounding box + time window + type) is served by two composite
indexes that hold the coordinates, so the box is checked inside the index on SQLite and PostgreSQL alike:
``(type, occurred_at, lon, lat)`` when a type is chosen and ``(occurred_at, lon, lat)`` otherwise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.database import Base, UtcDateTime


class Incident(Base):
    """The current version of an incident. ``received_at`` is null for this node's own incidents."""

    __tablename__ = "incidents"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    side: Mapped[str | None] = mapped_column(String(8), nullable=True)
    section_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    distance_to_border_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    description: Mapped[str] = mapped_column(Text)
    casualties: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    seizures: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    persons_apprehended: Mapped[int] = mapped_column(Integer, default=0)
    impact_level: Mapped[str] = mapped_column(String(16))
    source_reliability: Mapped[str] = mapped_column(String(1))
    info_credibility: Mapped[str] = mapped_column(String(1))
    exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    follow_up_of_origin: Mapped[str | None] = mapped_column(String(2), nullable=True)
    follow_up_of_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    tlp: Mapped[str] = mapped_column(String(16))
    handling: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        Index("ix_incidents_type_occurred", "type", "occurred_at", "lon", "lat"),
        Index("ix_incidents_occurred", "occurred_at", "lon", "lat"),
        Index("ix_incidents_section_occurred", "section_id", "occurred_at"),
        Index("ix_incidents_follow_up", "follow_up_of_origin", "follow_up_of_id"),
        Index("ix_incidents_status_created", "status", "created_at"),
    )

    def is_own(self, party: str) -> bool:
        return self.origin == party


class IncidentVersion(Base):
    """The content of one version exactly as written (own) or received (peer's), with its hash."""

    __tablename__ = "incident_versions"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)
    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    change: Mapped[str] = mapped_column(String(32))  # create, update, report, validate, close, dismiss, ...
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[str] = mapped_column(String(100))  # a username, or "peer:IR" for received versions

    __table_args__ = (
        ForeignKeyConstraint(
            ["origin", "incident_id"],
            ["incidents.origin", "incidents.id"],
            name="fk_incident_versions_origin_incidents",
        ),
    )


class IncidentAttachment(Base):
    """A photo or document attached to one of this node's incidents; the bytes are kept in the database."""

    __tablename__ = "incident_attachments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    origin: Mapped[str] = mapped_column(String(2))
    incident_id: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        ForeignKeyConstraint(
            ["origin", "incident_id"],
            ["incidents.origin", "incidents.id"],
            name="fk_incident_attachments_origin_incidents",
        ),
        Index("ix_incident_attachments_incident", "origin", "incident_id"),
    )
