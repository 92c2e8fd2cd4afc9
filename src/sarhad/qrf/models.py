"""Tables of QRF units: own and received units in one table (keyed by origin), and every status change.

A received unit holds only what its originator released (no strength: ``strength`` is null for it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.database import Base, UtcDateTime


class QrfUnit(Base):
    """The current state of a QRF unit. ``received_at`` is null for this node's own units."""

    __tablename__ = "qrf_units"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    call_sign: Mapped[str] = mapped_column(String(40))
    unit_type: Mapped[str] = mapped_column(String(32))
    station_post: Mapped[str | None] = mapped_column(String(64), nullable=True)  # border_posts.id
    station_name: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    section_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    strength: Mapped[int | None] = mapped_column(Integer, nullable=True)  # own units only; never released
    status: Mapped[str] = mapped_column(String(16))
    notice_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status_since: Mapped[datetime] = mapped_column(UtcDateTime)
    confirmed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    tlp: Mapped[str] = mapped_column(String(16))
    handling: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class QrfStatusChange(Base):
    """One status change (or confirmation) of a unit, own or received, in the order it was recorded."""

    __tablename__ = "qrf_status_changes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    origin: Mapped[str] = mapped_column(String(2))
    unit_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    notice_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    by: Mapped[str] = mapped_column(String(100))  # a username, or "peer:IR" for a received version

    __table_args__ = (
        ForeignKeyConstraint(
            ["origin", "unit_id"], ["qrf_units.origin", "qrf_units.id"], name="fk_qrf_status_changes_unit"
        ),
        Index("ix_qrf_status_changes_unit", "origin", "unit_id", "id"),
    )
