"""This process's live-event hub: fans committed events out to connected streams, once each and in id order.

Event ids become visible in id order (``sarhad.live.services``: they are taken under the commit-order lock), so
the hub keeps one number, ``low_water``: every event up to it has been handed to the subscribers, or never
existed. It hands out an event only when it is the next one (``low_water + 1``); every stream therefore sees
ids in increasing order, and a client that resumes after the last id it saw misses and repeats nothing.

Events reach the hub three ways:

- at once from ``services.publish``'s after-commit hook (same process). The next id is handed out straight
  away; one further up (another process committed the ones between) is held, and the table is read: the
  events between are visible by then (they committed first), and any id the read does not find never will be;
- from the fetcher, which reads the events above ``low_water`` when woken: by that hold, by a PostgreSQL
  notification from another process (``sarhad.live.listener``), or by its timer, every ``POLL_SECONDS`` while no
  listener is connected (SQLite, or the listener's connection is down) and every ``FALLBACK_POLL_SECONDS``
  while one is (a safety net: a notification is not expected to go missing);
- never twice: an id at or below ``low_water`` is dropped.

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
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from sqlalchemy import Connection, Engine

from sarhad.core.node import Node
from sarhad.live import services
from sarhad.live.domain import Event

log = logging.getLogger("sarhad.live")
POLL_SECONDS = 0.5  # no notifications (SQLite, or the listener is down): look this often
FALLBACK_POLL_SECONDS = 5.0  # with a listener connected: a safety net only
QUEUE_SIZE = 2000
CLOSE: None = None
_HUBS: weakref.WeakSet[Hub] = weakref.WeakSet()  # every hub of this process, to find one by its database


@dataclass(eq=False)
class Subscriber:
    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    overflowed: bool = False
    session_id: str = ""
    user_id: str = ""
    revoked: bool = False  # its session ended, or the process is stopping: deliver nothing more


class Hub:
    def __init__(self, node: Node, loop: asyncio.AbstractEventLoop, start_after: int) -> None:
        self.node = node
        self.loop = loop
        self.subscribers: set[Subscriber] = set()
        self.low_water = start_after  # every id <= low_water has been handed out, or never existed
        self.held: dict[int, Event] = {}  # committed events above a gap, waiting for the events below
        self.wanted = 0  # the highest id known to be committed (held, or notified by another process)
        self.closed = False
        self.stopping = False  # the process is stopping (a signal): new streams end at once, on this hub
        self.listening = False  # a PostgreSQL listener is connected (``sarhad.live.listener``)
        self.woken = asyncio.Event()  # the fetcher should read the table now
        self.poller: asyncio.Task[None] | None = None
        self.listener: asyncio.Task[None] | None = None
        self.listener_connects = 0  # how many times the listener has connected (and listened)
        self.dispatched = 0
        _HUBS.add(self)

    # -- publishing ---------------------------------------------------------------------------------------

    def publish_committed(self, events: list[Event]) -> None:
        """Thread-safe: called by after-commit hooks from whichever thread committed."""
        if self.closed:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed (shutting down)
            self.loop.call_soon_threadsafe(self.arrived, events)

    def arrived(self, events: Iterable[Event]) -> None:
        """Committed events (of this process): hand out what is next, hold the rest and read the gap."""
        for event in events:
            if event.id > self.low_water:
                self.held[event.id] = event
                self.wanted = max(self.wanted, event.id)
        self._release_held()
        if self.held:
            self.woken.set()  # the events below were committed by another process: read them now

    def notified(self, top: int) -> None:
        """Another process committed events up to ``top`` (a notification): read them now."""
        if top > self.low_water:
            self.wanted = max(self.wanted, top)
            self.woken.set()

    def fetched(self, events: list[Event], horizon: int) -> None:
        """Events read from the table above ``low_water``; every id up to ``horizon`` is now settled: an id
        not among them (nor held) was never committed and never will be."""
        for event in events:
            if event.id > self.low_water:
                self.held[event.id] = event
        horizon = max(horizon, self.low_water)
        for event_id in sorted(i for i in self.held if i <= horizon):
            self._hand_out(self.held.pop(event_id))
        self.low_water = horizon
        self._release_held()

    def _release_held(self) -> None:
        while (event := self.held.pop(self.low_water + 1, None)) is not None:
            self._hand_out(event)
            self.low_water = event.id

    def _hand_out(self, event: Event) -> None:
        self.dispatched += 1
        if event.topic == services.REVOKED_TOPIC:
            self.revoke(event.data.get("session_id"), event.data.get("user_id"))
            return
        for sub in list(self.subscribers):
            if sub.overflowed:
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                # A stalled client: end its stream, dropping everything queued (not just the oldest: what it
                # was sent stays a prefix in id order). It reconnects with Last-Event-ID and replays the rest.
                sub.overflowed = True
                _empty(sub.queue)
                sub.queue.put_nowait(CLOSE)

    def revoke(self, session_id: str | None, user_id: str | None) -> int:
        """End the streams of ``session_id`` or of ``user_id`` now, dropping what they had queued."""
        ended = 0
        for sub in list(self.subscribers):
            if (session_id and sub.session_id == session_id) or (user_id and sub.user_id == user_id):
                sub.revoked = True
                _empty(sub.queue)
                sub.queue.put_nowait(CLOSE)
                ended += 1
        return ended

    # -- subscribers --------------------------------------------------------------------------------------

    def subscribe(self, session_id: str = "", user_id: str = "") -> Subscriber:
        """A new subscriber gets every event above ``low_water`` (now), in id order."""
        sub = Subscriber(session_id=session_id, user_id=user_id)
        if self.closed:
            sub.revoked = True
            sub.queue.put_nowait(CLOSE)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def close(self) -> None:
        """End every stream now (shutdown), dropping what they had queued: a stream with a backlog (a slow
        client, a burst of events) must not hold up the stop, nor one whose queue is full miss the end. What a
        client was sent stays a prefix in id order, so it resumes with ``Last-Event-ID`` elsewhere or later,
        missing nothing. Safe to call more than once, from the loop's thread."""
        self.closed = True
        self.woken.set()
        for sub in list(self.subscribers):
            sub.revoked = True
            _empty(sub.queue)
            sub.queue.put_nowait(CLOSE)

    def stop(self) -> None:
        """The process is stopping (SIGTERM/SIGINT): end every stream, and any stream that starts from now on
        (a request accepted before the server stopped listening) ends at once too, instead of on a new hub."""
        self.stopping = True
        self.close()

    # -- reading the table --------------------------------------------------------------------------------

    def _fetch(self, after: int) -> list[Event]:
        with self.node.sessions() as session:
            return [services.as_event(r) for r in services.events_after(session, after)]

    async def poll_once(self) -> int:
        """Read the events above ``low_water`` and hand them out; returns how many there were."""
        wanted = self.wanted  # committed before this read began, so the read sees everything up to it
        events = await asyncio.to_thread(self._fetch, self.low_water)
        full = len(events) >= services.REPLAY_LIMIT
        horizon = events[-1].id if events else self.low_water
        if not full:
            horizon = max(horizon, wanted)
        self.fetched(events, horizon)
        if full or self.held:
            self.woken.set()  # more to read
        return len(events)

    async def run_poller(self) -> None:
        while not self.closed:
            interval = FALLBACK_POLL_SECONDS if self.listening else POLL_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.woken.wait(), timeout=interval)
            self.woken.clear()
            if self.closed:
                break
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("live event poll failed")
                await asyncio.sleep(POLL_SECONDS)


def _empty(queue: asyncio.Queue[Event | None]) -> None:
    while not queue.empty():
        queue.get_nowait()


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
    if hub is not None and hub.loop is loop and (not hub.closed or hub.stopping):
        return hub  # a stopping hub too: its ``subscribe`` ends the new stream at once
    start = await asyncio.to_thread(_current_top, node)
    with _LOCK:
        hub = node.components.get(Hub)
        if hub is not None and hub.loop is loop and hub.stopping:
            return hub
        if hub is None or hub.loop is not loop or hub.closed:
            hub = Hub(node, loop, start)
            hub.poller = loop.create_task(hub.run_poller(), name="live.poller")
            if node.engine.dialect.name == "postgresql":
                from sarhad.live.listener import listen

                hub.listener = loop.create_task(listen(hub), name="live.listener")
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
        with contextlib.suppress(RuntimeError):  # the loop is closed already
            hub.loop.call_soon_threadsafe(hub.stop)
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
