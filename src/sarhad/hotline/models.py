"""Tables of the hotline: channels, the deployment's configuration, escalation policies, messages and their
timelines.

A message is identified by ``(origin, id)`` like every shared record; one table holds the messages this node
sent (``origin`` = this party) and the ones it received. The counterpart's positions are not in this node's
``positions`` table, so a channel stores the counterpart position's id and names as text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.database import Base, UtcDateTime


class HotlineChannel(Base):
    """A configured pairing: one of our positions with its counterpart position on another party."""

    __tablename__ = "hotline_channels"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    own_position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"), index=True)
    counterpart_party: Mapped[str] = mapped_column(String(2))
    counterpart_position_id: Mapped[str] = mapped_column(String(64))
    counterpart_names: Mapped[dict[str, str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint(
            "own_position_id",
            "counterpart_party",
            "counterpart_position_id",
            name="uq_hotline_channels_own_position_id",
        ),
    )


class HotlineSetting(Base):
    """The hotline's own configuration (e.g. ``ack_deadlines``), editable by a hotline administrator."""

    __tablename__ = "hotline_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))


class EscalationPolicy(Base):
    """Ordered escalation steps for messages addressed to a position (frozen into each arriving message)."""

    __tablename__ = "hotline_escalation_policies"

    position_id: Mapped[str] = mapped_column(ForeignKey("positions.id"), primary_key=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    max_repeats: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(100))


class HotlineMessage(Base):
    """A hotline message, sent (origin = this party) or received, with its state and both sides' times.

    Times named ``*_at`` are this node's clock when it learned of the step; ``*_remote_at`` the other node's
    clock as stated in its signed record (e.g. on the sender, ``acknowledged_remote_at`` is when the receiver
    says the officer acknowledged, ``acknowledged_at`` when the acknowledgement reached the sender).
    """

    __tablename__ = "hotline_messages"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    from_party: Mapped[str] = mapped_column(String(2))
    from_position_id: Mapped[str] = mapped_column(String(64), index=True)
    from_position_names: Mapped[dict[str, str]] = mapped_column(JSON)
    to_party: Mapped[str] = mapped_column(String(2))
    to_position_id: Mapped[str] = mapped_column(String(64), index=True)
    to_position_names: Mapped[dict[str, str]] = mapped_column(JSON)
    precedence: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    incident: Mapped[str | None] = mapped_column(String(100), nullable=True)
    reply_to_origin: Mapped[str | None] = mapped_column(String(2), nullable=True)
    reply_to_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    thread_origin: Mapped[str] = mapped_column(String(2))
    thread_id: Mapped[str] = mapped_column(String(64), index=True)
    sent_by: Mapped[str] = mapped_column(String(100))
    sent_by_name: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    # the sender's clock
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    # both sides: *_at = this node's clock, *_remote_at = the other node's clock (from its signed record)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    delivered_remote_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    seen_remote_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    seen_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    acknowledged_remote_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    acknowledged_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    acknowledged_position_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ack_reply: Mapped[str | None] = mapped_column(Text, nullable=True)
    ack_record_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_remote_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    link_down_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # the receiving side's escalation (frozen policy, deadline, the next step's due time and a CAS counter)
    ack_deadline_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ack_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    escalation_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)
    next_escalation_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True, index=True)
    escalated_positions: Mapped[list[str]] = mapped_column(JSON, default=list)
    escalations: Mapped[int] = mapped_column(Integer, default=0)


class HotlineEvent(Base):
    """One step of a message's timeline, on this node: what happened, on whose clock, and who did it."""

    __tablename__ = "hotline_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_origin: Mapped[str] = mapped_column(String(2))
    message_id: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    party: Mapped[str] = mapped_column(String(2))  # whose act (and whose clock ``at`` is)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)  # this node's clock when it learned
    actor: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
