"""Tables of requests to the other side: outgoing and incoming in one table, and each request's timeline.

A request is identified by ``(origin, id)``: ``origin`` is the requesting party. Its answer (written by the
addressed party) is stored on the same row, so a request and how it was answered are read together.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.database import Base, UtcDateTime


class PartyRequest(Base):
    """The current version of a request, with its answer once given. ``received_at`` is null for own ones."""

    __tablename__ = "party_requests"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)  # the requesting party
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    addressee: Mapped[str] = mapped_column(String(2))  # the party asked to act or inform
    version: Mapped[int] = mapped_column(Integer)
    incident_origin: Mapped[str] = mapped_column(String(2))
    incident_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))  # information | action
    action: Mapped[str | None] = mapped_column(String(16), nullable=True)
    deadline_choice: Mapped[str] = mapped_column(String(8))
    deadline: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | answered | withdrawn
    content_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    answer: Mapped[str] = mapped_column(Text, default="")
    late_reason: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    answered_by: Mapped[str] = mapped_column(String(100), default="")
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_party_requests_incident", "incident_origin", "incident_id"),)


class RequestEvent(Base):
    """One step of a request's timeline: created, edited, received, answered, answer received, withdrawn."""

    __tablename__ = "party_request_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_origin: Mapped[str] = mapped_column(String(2))
    request_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    event: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(100))  # a username, or "peer:IR"
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        ForeignKeyConstraint(
            ["request_origin", "request_id"],
            ["party_requests.origin", "party_requests.id"],
            name="fk_party_request_events_request_origin_party_requests",
        ),
        Index("ix_party_request_events_request", "request_origin", "request_id"),
    )
