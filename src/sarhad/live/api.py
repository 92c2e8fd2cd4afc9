"""``GET /api/v1/events``: the live-event stream of the signed-in user, as Server-Sent Events.

The stream sends ``retry: 2000`` first, then one frame per event the user may see (``id``, ``event`` = topic,
``data`` = JSON ``{"id", "topic", "at", "data"}``), and a comment line (``: ping``) every ``HEARTBEAT_SECONDS``
so proxies keep it open and the client notices a dead link. A client that reconnects with ``Last-Event-ID``
(browsers do so by themselves; or ``?last_event_id=``) first gets the events it missed that are still held.

Resumption is exact, also across the processes of one node: event ids become visible in id order
(``services``), every stream sends them in increasing id order, so a client that saw id ``n`` has been
given every event up to ``n`` it may see, and resuming after ``n`` repeats none and misses none, whichever
process it reconnects to. A client need not de-duplicate.

A stream lives no longer than its session: it ends at once when the session is signed out or the user is
disabled or given a new password (``services.publish_revocation``, acted on by the hub), when the session
expires, and after ``MAX_STREAM_SECONDS`` at the latest; the reconnecting client must authenticate again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from sarhad.accounts.services import Principal, positions_held, session_is_current
from sarhad.core.node import Node
from sarhad.core.params import Cursor
from sarhad.live import services
from sarhad.live.domain import (
    Event,
    parse_last_event_id,
    sse_comment,
    sse_frame,
    sse_position,
    visible_to,
)
from sarhad.live.hub import ensure_hub
from sarhad.web.deps import NodeDep, requires
from sarhad.web.openapi import EVENT_STREAM, answers

router = APIRouter(prefix="/api/v1", tags=["live"])
HEARTBEAT_SECONDS = 15.0
POSITIONS_TTL_SECONDS = 1.0  # positions held are re-read at most this often (duty roster changes)
MAX_STREAM_SECONDS = 900.0  # then the stream ends; the client reconnects (and re-authenticates) at once


class Viewer:
    """Who is listening, with the positions they hold now (re-read when stale)."""

    def __init__(self, node: Node, principal: Principal) -> None:
        self.node = node
        self.principal = principal
        self.permissions = {p.value for p in principal.permissions}
        self.positions: set[str] = set()
        self.read_at = 0.0

    def _read(self) -> set[str]:
        with self.node.sessions() as session:
            return set(positions_held(session, self.principal.user_id, self.node.clock.now()))

    def _still_signed_in(self) -> bool:
        with self.node.sessions() as session:
            return session_is_current(session, self.node.clock, self.principal.session_id)

    async def still_signed_in(self) -> bool:
        return await asyncio.to_thread(self._still_signed_in)

    async def refresh(self, force: bool = False) -> None:
        if force or time.monotonic() - self.read_at > POSITIONS_TTL_SECONDS:
            self.positions = await asyncio.to_thread(self._read)
            self.read_at = time.monotonic()

    async def sees(self, event: Event) -> bool:
        if event.audience.positions:
            await self.refresh()  # the duty roster may have changed since we last looked (at most 1/s)
        return visible_to(event, self.positions, self.permissions)


def _replay(node: Node, after: int) -> list[Event]:
    with node.sessions() as session:
        return [services.as_event(row) for row in services.events_after(session, after)]


def _lifetime(node: Node, principal: Principal) -> float:
    """Seconds the stream may run: to the session's expiry, and ``MAX_STREAM_SECONDS`` at most."""
    if principal.expires_at is None:
        return MAX_STREAM_SECONDS
    return min(MAX_STREAM_SECONDS, (principal.expires_at - node.clock.now()).total_seconds())


async def stream(node: Node, principal: Principal, last_id: int | None) -> AsyncIterator[str]:
    hub = await ensure_hub(node)
    # Subscribe first, then check the session: a revocation committed after the check reaches the subscriber.
    sub = hub.subscribe(principal.session_id, principal.user_id)
    # Every event above the hub's ``low_water`` now reaches ``sub``; those at or below it were handed out before.
    start = hub.low_water
    viewer = Viewer(node, principal)
    ends = time.monotonic() + _lifetime(node, principal)
    try:
        if not await viewer.still_signed_in():
            return
        await viewer.refresh(force=True)
        # A first connection (no ``Last-Event-ID``) starts at ``start``, and says so: a block with an ``id`` and
        # no data sets an EventSource's ``lastEventId`` without an event. A client whose connection breaks before
        # its first event then resumes from there and misses nothing; without it, it would reconnect without
        # ``Last-Event-ID`` and miss everything committed while it was away.
        yield "retry: 2000\n" + (sse_position(start) if last_id is None else "") + sse_comment("connected")
        # ``covered``: every event id up to it has been considered (sent, or not the viewer's). Events come in
        # id order from the table and then from the hub; the table is read after subscribing, so it holds
        # everything the hub handed out before, and what the hub queues at or below ``covered`` is skipped.
        covered = start if last_id is None else last_id
        while True:
            page = await asyncio.to_thread(_replay, node, covered)
            for event in page:
                covered = event.id
                if sub.revoked:
                    return
                if await viewer.sees(event):
                    yield sse_frame(event)
            if len(page) < services.REPLAY_LIMIT:
                break
        while not sub.revoked and (left := ends - time.monotonic()) > 0:
            try:
                item = await asyncio.wait_for(sub.queue.get(), timeout=min(HEARTBEAT_SECONDS, left))
            except TimeoutError:
                if time.monotonic() < ends:
                    yield sse_comment("ping")
                continue
            if item is None or sub.revoked:
                break  # signed out, shutdown, or this client fell too far behind (it reconnects and replays)
            if item.id <= covered:
                continue
            covered = item.id
            if await viewer.sees(item) and not sub.revoked:
                yield sse_frame(item)
    finally:
        hub.unsubscribe(sub)


@router.get("/events", responses=answers(EVENT_STREAM, json=False))
async def events(
    request: Request,
    node: NodeDep,
    last_event_id: Annotated[Cursor | None, Query(description="Resume after this event id")] = None,
    principal: Principal = requires(),
) -> StreamingResponse:
    """Live events for the signed-in user (cookie or bearer token), as ``text/event-stream``.

    Only events whose audience includes a position the user holds now, or a permission they have, are sent.
    """
    header = parse_last_event_id(request.headers.get("last-event-id"))
    last_id = header if header is not None else last_event_id
    return StreamingResponse(
        stream(node, principal, last_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
