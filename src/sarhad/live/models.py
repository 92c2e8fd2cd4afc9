"""The live event log: one row per event, with a monotonic id that clients resume from (``Last-Event-ID``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.database import Base, UtcDateTime


class LiveEvent(Base):
    """An event some signed-in users may see: those holding one of ``positions`` now, or ``permission``."""

    __tablename__ = "live_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    positions: Mapped[list[str]] = mapped_column(JSON)
    permission: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
