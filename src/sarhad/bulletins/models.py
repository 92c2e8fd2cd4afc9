"""Tables for liaison bulletins: own and received in one table, and every version's content.

A bulletin is identified by ``(origin, id)``: ids are UUIDv7 made by their originator, and a peer's id can
never collide with (or overwrite) one of ours because the origin is part of the key.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKeyConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.database import Base, UtcDateTime


class Bulletin(Base):
    """The current version of a bulletin. ``received_at`` is null for this node's own bulletins."""

    __tablename__ = "bulletins"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    place_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    tlp: Mapped[str] = mapped_column(String(16))
    handling: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    def is_own(self, party: str) -> bool:
        return self.origin == party


class BulletinVersion(Base):
    """The content of one version exactly as released (own) or received (peer's), with its hash."""

    __tablename__ = "bulletin_versions"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)
    bulletin_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[str] = mapped_column(String(100))  # a username, or "peer:IR" for received versions

    __table_args__ = (
        ForeignKeyConstraint(
            ["origin", "bulletin_id"],
            ["bulletins.origin", "bulletins.id"],
            name="fk_bulletin_versions_origin_bulletins",
        ),
    )
