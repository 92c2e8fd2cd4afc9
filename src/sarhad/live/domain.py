"""Pure rules of live events: who may see an event, and how an event is written on the wire (SSE)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sarhad.core.params import INT32_MAX

TOPIC_MAX = 64
MAX_POSITIONS = 64


@dataclass(frozen=True)
class Audience:
    """Who may see an event: holders (now) of any of ``positions``, or anyone with ``permission``.

    Both empty means nobody: an event must name its audience; there is no broadcast by accident.
    """

    positions: frozenset[str] = field(default_factory=frozenset)
    permission: str | None = None

    @classmethod
    def of(cls, positions: Iterable[str] = (), permission: str | None = None) -> Audience:
        return cls(frozenset(p for p in positions if p), permission)


@dataclass(frozen=True)
class Event:
    id: int
    topic: str
    at: datetime
    audience: Audience
    data: dict[str, Any]


def visible_to(event: Event, held_positions: Iterable[str], permissions: Iterable[str]) -> bool:
    """May a user who holds ``held_positions`` now and has ``permissions`` see the event?"""
    if event.audience.permission is not None and event.audience.permission in set(permissions):
        return True
    return bool(event.audience.positions & set(held_positions))


def check_topic(topic: str) -> str:
    if not topic or len(topic) > TOPIC_MAX or not all(c.isalnum() or c in "._-" for c in topic):
        raise ValueError(f"topic must be 1-{TOPIC_MAX} characters: letters, digits, '.', '_' or '-'")
    return topic


def sse_frame(event: Event) -> str:
    """One Server-Sent Events frame: ``id``, ``event`` (the topic) and one ``data`` line of JSON."""
    payload = {"id": event.id, "topic": event.topic, "at": event.at.isoformat(), "data": event.data}
    return f"id: {event.id}\nevent: {event.topic}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n"


def sse_position(event_id: int) -> str:
    """The ``id`` of a block with no data: it sets the client's last event id (``Last-Event-ID`` when it
    reconnects) and dispatches no event."""
    return f"id: {event_id}\n\n"


def sse_comment(text: str) -> str:
    return f": {text}\n\n"


def parse_last_event_id(value: str | None) -> int | None:
    """The ``Last-Event-ID`` header (or ``last_event_id`` query) as an event id; junk is ignored."""
    if value is None:
        return None
    value = value.strip()
    if not value.isascii() or not value.isdigit() or len(value) > 10:
        return None
    number = int(value)
    return number if number <= INT32_MAX else None  # the event table's ids are 32-bit (PostgreSQL INTEGER)
