"""This process's live-event hub: fans committed events out to connected streams, without duplicates.

Events reach the hub two ways: at once from ``services.publish`` after the commit (same process), and from a
poller that reads the event table every ``POLL_SECONDS`` (events committed by other processes on the same
database). Each event id is dispatched once. Because ids can become visible out of order on PostgreSQL
(sequences are not transactional), the poller keeps looking at ids it skipped for ``GAP_GRACE_SECONDS``.

A revocation (``services.REVOKED_TOPIC``: a session signed out, a user disabled or given a new password) is
not handed to anyone: it ends the streams of that session or user at once, dropping what they had queued.
This costs nothing per event; a stream also re-checks its session once when it starts (after subscribing, so
no revocation falls between the check and the subscription) and ends when its session expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from sqlalchemy import Connection, Engine

from sarhad.core.node import Node
from sarhad.live import services
from sarhad.live.domain import Event

log = logging.getLogger("sarhad.live")
POLL_SECONDS = 0.5
GAP_GRACE_SECONDS = 5.0
QUEUE_SIZE = 2000
CLOSE: None = None
_HUBS: weakref.WeakSet[Hub] = weakref.WeakSet()  # every hub of this process, to find one by its database


@dataclass(eq=False)
class Subscriber:
    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False
    session_id: str = ""
    user_id: str = ""
    revoked: bool = False  # its session ended: deliver nothing more


class Hub:
    def __init__(self, node: Node, loop: asyncio.AbstractEventLoop, start_after: int) -> None:
        self.node = node
        self.loop = loop
        self.subscribers: set[Subscriber] = set()
        self.low_water = start_after  # every id <= low_water has been dispatched or given up on
        self.seen_above: set[int] = set()
        self.gaps: dict[int, float] = {}
        self.closed = False
        self.poller: asyncio.Task[None] | None = None
        self.dispatched = 0
        _HUBS.add(self)

    # -- publishing ---------------------------------------------------------------------------------------

    def publish_committed(self, events: list[Event]) -> None:
        """Thread-safe: called by after-commit hooks from whichever thread committed."""
        if self.closed:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed (shutting down)
            self.loop.call_soon_threadsafe(self._dispatch_many, events)

    def _dispatch_many(self, events: list[Event]) -> None:
        for event in events:
            self.dispatch(event)

    def dispatch(self, event: Event) -> bool:
        """Hand an event to every subscriber unless it was dispatched before; True if it was new."""
        if event.id <= self.low_water and event.id not in self.gaps:
            return False
        if event.id in self.seen_above:
            return False
        self.gaps.pop(event.id, None)
        self.seen_above.add(event.id)
        self.dispatched += 1
        if event.topic == services.REVOKED_TOPIC:
            self.revoke(event.data.get("session_id"), event.data.get("user_id"))
            return True
        for sub in list(self.subscribers):
            if sub.overflowed:
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                # a stalled client: end its stream; it reconnects with Last-Event-ID and replays from the table
                sub.overflowed = True
                with contextlib.suppress(asyncio.QueueEmpty):
                    sub.queue.get_nowait()
                sub.queue.put_nowait(CLOSE)
        return True

    def revoke(self, session_id: str | None, user_id: str | None) -> int:
        """End the streams of ``session_id`` or of ``user_id`` now, dropping what they had queued."""
        ended = 0
        for sub in list(self.subscribers):
            if (session_id and sub.session_id == session_id) or (user_id and sub.user_id == user_id):
                sub.revoked = True
                while not sub.queue.empty():
                    sub.queue.get_nowait()
                sub.queue.put_nowait(CLOSE)
                ended += 1
        return ended

    # -- subscribers --------------------------------------------------------------------------------------

    def subscribe(self, session_id: str = "", user_id: str = "") -> Subscriber:
        sub = Subscriber(session_id=session_id, user_id=user_id)
        if self.closed:
            sub.queue.put_nowait(CLOSE)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def close(self) -> None:
        """End every stream (shutdown). Safe to call more than once, from the loop's thread."""
        self.closed = True
        for sub in list(self.subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                sub.queue.put_nowait(CLOSE)

    # -- polling ------------------------------------------------------------------------------------------

    def _fetch(self) -> list[Event]:
        with self.node.sessions() as session:
            after = min([self.low_water, *self.gaps]) if self.gaps else self.low_water
            return [services.as_event(r) for r in services.events_after(session, after)]

    def _advance(self) -> None:
        now = time.monotonic()
        top = max(self.seen_above, default=self.low_water)
        for missing in range(self.low_water + 1, top):
            if missing not in self.seen_above and missing not in self.gaps:
                self.gaps[missing] = now
        for missing, since in list(self.gaps.items()):
            if now - since > GAP_GRACE_SECONDS:
                del self.gaps[missing]  # a rolled-back insert, most likely: never coming
                self.seen_above.add(missing)
        while self.low_water + 1 in self.seen_above:
            self.low_water += 1
            self.seen_above.discard(self.low_water)

    async def poll_once(self) -> int:
        events = await asyncio.to_thread(self._fetch)
        new = sum(1 for event in events if self.dispatch(event))
        self._advance()
        return new

    async def run_poller(self) -> None:
        while not self.closed:
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live event poll failed")
            await asyncio.sleep(POLL_SECONDS)


_LOCK = threading.Lock()


def hub_for(engine: Engine | Connection) -> Hub | None:
    """This process's open hub on ``engine`` (the database a session committed to), if there is one."""
    for hub in list(_HUBS):
        if hub.node.engine is engine and not hub.closed:
            return hub
    return None


async def ensure_hub(node: Node) -> Hub:
    """The hub of this process for ``node``, created (with its poller) on first use in the running loop."""
    loop = asyncio.get_running_loop()
    hub = node.components.get(Hub)
    if hub is not None and hub.loop is loop and not hub.closed:
        return hub
    start = await asyncio.to_thread(_current_top, node)
    with _LOCK:
        hub = node.components.get(Hub)
        if hub is None or hub.loop is not loop or hub.closed:
            hub = Hub(node, loop, start)
            hub.poller = loop.create_task(hub.run_poller(), name="live.poller")
            node.components.put(hub)
    return hub


def _current_top(node: Node) -> int:
    with node.sessions() as session:
        return services.last_event_id(session)


def close_on_termination(hub: Hub) -> Callable[[], None]:
    """End the streams as soon as SIGTERM/SIGINT arrives, so the server's graceful shutdown is not held
    up by open event streams. Returns a function that restores the previous handlers."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous: dict[int, Any] = {}

    def handler(signum: int, frame: FrameType | None) -> None:
        hub.loop.call_soon_threadsafe(hub.close)
        before = previous.get(signum)
        if callable(before):
            before(signum, frame)
        elif before != signal.SIG_IGN:  # the default action: put it back and deliver the signal again
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            previous[sig] = signal.getsignal(sig)
            signal.signal(sig, handler)
        except (ValueError, OSError):
            previous.pop(sig, None)

    def restore() -> None:
        for sig, before in previous.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                if signal.getsignal(sig) is handler:
                    signal.signal(sig, before)

    return restore
