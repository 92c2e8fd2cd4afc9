"""Pydantic models: the content of the hotline's record kinds (what goes over the exchange) and the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sarhad.core.params import Int32
from sarhad.hotline.domain import BODY_MAX, REPLY_MAX, SUBJECT_MAX, Precedence

PositionId = str
Names = dict[str, str]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecordRef(Strict):
    origin: str = Field(pattern=r"^[A-Z]{2}$")
    id: str = Field(min_length=1, max_length=64)


# --- record contents (exchange) ----------------------------------------------------------------------------


class MessageContent(Strict):
    """``hotline.message``, sender → receiver. Record id = the message id; version 1, never edited."""

    from_position: PositionId = Field(min_length=1, max_length=64)
    from_position_names: Names
    to_position: PositionId = Field(min_length=1, max_length=64)
    to_position_names: Names
    precedence: Precedence
    subject: str = Field(min_length=1, max_length=SUBJECT_MAX)
    body: str = Field(min_length=1, max_length=BODY_MAX)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    incident: str | None = Field(default=None, max_length=100)
    reply_to: RecordRef | None = None
    thread: RecordRef
    sent_by: str = Field(max_length=100)
    sent_by_name: str = Field(max_length=200)
    created_at: datetime


class SeenContent(Strict):
    """``hotline.seen``, receiver → sender. Record id = ``<message id>.seen``."""

    message: RecordRef
    message_content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    delivered_at: datetime
    seen_at: datetime
    by: str = Field(max_length=100)
    position: PositionId = Field(max_length=64)


class AckContent(Strict):
    """``hotline.ack``, receiver → sender: the named officer's acknowledgement. Id = ``<message id>.ack``."""

    message: RecordRef
    message_content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    delivered_at: datetime
    seen_at: datetime
    acknowledged_at: datetime
    by: str = Field(max_length=100)
    by_name: str = Field(max_length=200)
    position: PositionId = Field(max_length=64)
    reply: str | None = Field(default=None, max_length=REPLY_MAX)


class EscalationContent(Strict):
    """``hotline.escalation``, receiver → sender: one escalation step. Id = ``<message id>.esc.<step>``."""

    message: RecordRef
    step: int = Field(ge=1)
    of_steps: int = Field(ge=1)
    delivered_at: datetime
    due_at: datetime
    at: datetime
    target_position: PositionId = Field(max_length=64)
    target_names: Names
    notified: list[str]


class CloseContent(Strict):
    """``hotline.close``, sender → receiver: the sender closes an acknowledged message. Id = ``<id>.close``."""

    message: RecordRef
    closed_at: datetime
    by: str = Field(max_length=100)


# --- API ---------------------------------------------------------------------------------------------------


class MessageIn(BaseModel):
    channel: str | None = Field(default=None, max_length=36)
    to_position: str | None = Field(default=None, max_length=64)
    from_position: str | None = Field(default=None, max_length=64)
    precedence: Precedence
    subject: str = Field(max_length=SUBJECT_MAX * 4)
    body: str = Field(max_length=BODY_MAX * 4)  # the exact limit is checked with a precise message
    reply_to: str | None = Field(default=None, max_length=64)
    lat: float | None = None
    lon: float | None = None
    incident: str | None = Field(default=None, max_length=400)


class AckIn(BaseModel):
    reply: str | None = Field(default=None, max_length=REPLY_MAX * 4)
    position: str | None = Field(default=None, max_length=64)


class DeadlinesIn(BaseModel):
    deadlines: dict[str, Int32]


class PolicyIn(BaseModel):
    steps: list[dict[str, Any]]
    max_repeats: Int32 = 2


class ChannelIn(BaseModel):
    own_position: str = Field(max_length=64)
    counterpart_party: str = Field(pattern=r"^[A-Z]{2}$")
    counterpart_position: str = Field(max_length=64)
    counterpart_names: Names


class ChannelOut(BaseModel):
    id: str
    own_position: str
    own_position_names: Names
    counterpart_party: str
    counterpart_position: str
    counterpart_names: Names
    active: bool
    held_by_me: bool


class PositionOut(BaseModel):
    id: str
    party: str
    names: Names
    own: bool
    held_by_me: bool
    holders: list[str]
    parent_id: str | None


class TimelineOut(BaseModel):
    kind: str
    party: str
    at: datetime
    recorded_at: datetime
    actor: str
    details: dict[str, Any]


class MessageOut(BaseModel):
    id: str
    origin: str
    direction: str
    channel: str | None
    from_party: str
    from_position: str
    from_position_names: Names
    to_party: str
    to_position: str
    to_position_names: Names
    precedence: str
    subject: str
    body: str
    lat: float | None
    lon: float | None
    incident: str | None
    reply_to: str | None
    thread: str
    sent_by: str
    sent_by_name: str
    state: str
    created_at: datetime
    delivered_at: datetime | None
    delivered_remote_at: datetime | None
    seen_at: datetime | None
    seen_remote_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_remote_at: datetime | None
    acknowledged_by: str | None
    acknowledged_by_name: str | None
    ack_reply: str | None
    closed_at: datetime | None
    ack_due_at: datetime | None
    escalations: int
    escalated_positions: list[str]
    link_down: bool
    content_hash: str


class MessageDetailOut(MessageOut):
    timeline: list[TimelineOut]
    thread_messages: list[MessageOut]
    signed_ack: dict[str, Any] | None = None
