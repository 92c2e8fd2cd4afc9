"""PostgreSQL ``LISTEN`` for the hub: what the node's other processes commit wakes this one at once.

A transaction that publishes live events sends ``NOTIFY sarhad_live, '<highest id>'`` (``services``), one that
writes envelopes to a peer ``NOTIFY sarhad_outbox, '<sender> <party>'`` (``exchange.outbox``); PostgreSQL
delivers them when it commits (``sarhad.core.notify``). Each app process keeps one connection of its own
(psycopg 3, autocommit, outside the engine's pool: a listening connection must stay open) that listens on both
channels: a live-event notification wakes the hub's fetcher, which reads the new events from the table; an
outbox notification from another process wakes this process's delivery worker for that peer (its 0.2 s poll
would have found the envelopes too, later).

While the connection is down (the database restarted, a network cut, the connection killed) the hub polls
every ``hub.POLL_SECONDS`` instead; the listener reconnects with a back-off up to ``RECONNECT_MAX_SECONDS``,
and once it listens again the hub reads the table once more, for whatever was committed in between. TCP
keepalives make a silently dead connection fail within about ``KEEPALIVE_IDLE + 3 × KEEPALIVE_INTERVAL`` s.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import psycopg

from sarhad.core.notify import LIVE_CHANNEL, OUTBOX_CHANNEL, sender_of
from sarhad.exchange.domain import DeliveryWake

if TYPE_CHECKING:
    from sarhad.live.hub import Hub

log = logging.getLogger("sarhad.live")
APPLICATION_NAME = "sarhad-live-listener"  # as pg_stat_activity shows it
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 5.0
KEEPALIVE_IDLE = 10
KEEPALIVE_INTERVAL = 3


def conninfo(hub: Hub) -> str:
    """The node's database URL as psycopg takes it (SQLAlchemy's ``postgresql+psycopg://`` without the driver)."""
    url = hub.node.engine.url.set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def listen_once(hub: Hub) -> None:
    """Listen until the connection fails (raises) or the hub closes (returns)."""
    async with await psycopg.AsyncConnection.connect(
        conninfo(hub),
        autocommit=True,
        application_name=APPLICATION_NAME,
        keepalives=1,
        keepalives_idle=KEEPALIVE_IDLE,
        keepalives_interval=KEEPALIVE_INTERVAL,
        keepalives_count=3,
    ) as connection:
        await connection.execute(f"LISTEN {LIVE_CHANNEL}")
        await connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
        hub.listening = True
        hub.listener_connects += 1
        hub.woken.set()  # read what was committed while nobody listened
        try:
            async for note in connection.notifies():
                if hub.closed:
                    return
                dispatch(hub, note.channel, note.payload)
        finally:
            hub.listening = False


def dispatch(hub: Hub, channel: str, payload: str) -> None:
    """Act on one notification: wake the hub's fetcher, or this process's delivery worker."""
    if channel == LIVE_CHANNEL:
        if payload.isdigit():
            hub.notified(int(payload))
        else:
            hub.woken.set()
    elif channel == OUTBOX_CHANNEL:
        sender, _, party = payload.partition(" ")
        wake = hub.node.components.get(DeliveryWake)
        if wake is not None and sender != sender_of(hub.node.engine):  # its own: woken after the commit
            wake.wake(party or None)


async def listen(hub: Hub) -> None:
    """The hub's listener task: listen, and after a failure poll while reconnecting."""
    delay = RECONNECT_FIRST_SECONDS
    while not hub.closed:
        connects = hub.listener_connects
        try:
            await listen_once(hub)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("live-event listener lost its connection (%s); polling until it is back", exc)
        if hub.closed:
            return
        if hub.listener_connects != connects:  # it had connected: start the back-off afresh
            delay = RECONNECT_FIRST_SECONDS
        await asyncio.sleep(delay)
        delay = min(delay * 2, RECONNECT_MAX_SECONDS)
