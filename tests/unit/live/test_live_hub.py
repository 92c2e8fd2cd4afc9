"""Live events without a server: audience rules, the SSE wire format, and the hub's exactly-once dispatch."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime
from typing import Any

from sarhad.live import hub as hub_module
from sarhad.live.domain import Audience, Event, parse_last_event_id, sse_frame, visible_to
from sarhad.live.hub import Hub

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def event(n: int, positions: tuple[str, ...] = ("PK-S1-CDR",), permission: str | None = None) -> Event:
    return Event(n, "test.x", AT, Audience.of(positions, permission), {"n": n})


def test_visible_to_holders_or_permission_only() -> None:
    assert visible_to(event(1), ["PK-S1-CDR"], [])
    assert not visible_to(event(1), ["PK-MOI"], ["hotline.read"])
    assert visible_to(event(1, (), "audit.read"), [], ["audit.read"])
    assert not visible_to(event(1, (), None), ["PK-S1-CDR"], ["audit.read"])


def test_sse_frame_and_last_event_id() -> None:
    frame = sse_frame(event(7))
    lines = frame.split("\n")
    assert lines[0] == "id: 7" and lines[1] == "event: test.x" and frame.endswith("\n\n")
    assert json.loads(lines[2].removeprefix("data: "))["data"] == {"n": 7}
    assert parse_last_event_id("42") == 42
    assert parse_last_event_id("x") is None and parse_last_event_id(None) is None


def run(coro: Any) -> Any:
    """Run a scenario on a fresh event loop in its own thread: other tests (Playwright's sync API) may leave
    an event loop running in the main thread for the rest of the session."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coro)
        except BaseException as exc:  # handed to the test's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def drain(queue: asyncio.Queue[Event | None]) -> list[int | None]:
    got: list[int | None] = []
    while not queue.empty():
        item = queue.get_nowait()
        got.append(None if item is None else item.id)
    return got


def test_the_hub_hands_events_out_in_id_order_once_each_whichever_way_they_come() -> None:
    async def scenario() -> tuple[list[int | None], int, bool]:
        hub = Hub(node=None, loop=asyncio.get_running_loop(), start_after=10)  # type: ignore[arg-type]
        sub = hub.subscribe()
        hub.arrived([event(11)])  # the next one: at once
        hub.arrived([event(11)])  # again (the fetcher read it too): dropped
        hub.arrived([event(9)])  # older than the hub's start: dropped
        hub.arrived([event(13)])  # above a gap: held, and the table is to be read
        woken = hub.woken.is_set()
        hub.fetched([event(12), event(13)], horizon=13)  # the read found 12, committed before 13
        hub.fetched([event(12)], horizon=13)  # a late copy of 12: dropped
        return drain(sub.queue), hub.low_water, woken

    got, low_water, woken = run(scenario())
    assert got == [11, 12, 13] and low_water == 13 and woken


def test_an_id_the_read_does_not_find_below_a_committed_one_never_comes() -> None:
    async def scenario() -> tuple[list[int | None], int, dict[int, Event]]:
        hub = Hub(node=None, loop=asyncio.get_running_loop(), start_after=0)  # type: ignore[arg-type]
        sub = hub.subscribe()
        hub.arrived([event(3)])  # 1 and 2 not seen yet
        hub.arrived([event(6)])
        hub.fetched([event(2)], horizon=3)  # read after 3 committed: 1 never will; 4, 5 not settled yet
        held = dict(hub.held)
        hub.arrived([event(4), event(5)])
        return drain(sub.queue), hub.low_water, held

    got, low_water, held = run(scenario())
    assert got == [2, 3, 4, 5, 6] and low_water == 6 and list(held) == [6]


def test_a_notification_wakes_the_fetcher_only_for_ids_not_handed_out_yet() -> None:
    async def scenario() -> tuple[bool, bool, int]:
        hub = Hub(node=None, loop=asyncio.get_running_loop(), start_after=0)  # type: ignore[arg-type]
        hub.arrived([event(1), event(2)])
        hub.notified(2)  # this process's own commit, already handed out
        quiet = not hub.woken.is_set()
        hub.notified(5)
        return quiet, hub.woken.is_set(), hub.wanted

    quiet, woken, wanted = run(scenario())
    assert quiet and woken and wanted == 5


def test_a_stalled_subscriber_is_cut_off_with_nothing_after_a_hole(monkeypatch: Any) -> None:
    monkeypatch.setattr(hub_module, "QUEUE_SIZE", 3)

    async def scenario() -> tuple[bool, list[int | None], int]:
        hub = Hub(node=None, loop=asyncio.get_running_loop(), start_after=0)  # type: ignore[arg-type]
        slow, fast = hub.subscribe(), hub.subscribe()
        for n in range(1, 6):
            hub.arrived([event(n)])
            if n <= 3:
                await fast.queue.get()
        # the slow one is closed with nothing queued: what it was sent (nothing after the last frame it
        # wrote) stays a prefix, so it resumes after its last id without a hole
        return slow.overflowed, drain(slow.queue), fast.queue.qsize()

    overflowed, slow_items, pending = run(scenario())
    assert overflowed and slow_items == [None] and pending == 2


def test_an_outbox_notification_wakes_the_delivery_worker_unless_this_process_sent_it() -> None:
    from sarhad.core.components import Components
    from sarhad.core.notify import OUTBOX_CHANNEL, sender_of
    from sarhad.exchange.domain import DeliveryWake
    from sarhad.live.listener import dispatch

    class FakeNode:  # what ``dispatch`` reads of a node: its engine (who sent it) and its components
        engine = object()
        components = Components()

    woken: list[str | None] = []

    async def scenario() -> None:
        node = FakeNode()
        node.components.put(DeliveryWake(lambda party=None, fresh=(): woken.append(party)))
        hub = Hub(node=node, loop=asyncio.get_running_loop(), start_after=0)  # type: ignore[arg-type]
        dispatch(hub, OUTBOX_CHANNEL, f"{sender_of(node.engine)} IR")  # its own release: woken already
        dispatch(hub, OUTBOX_CHANNEL, "123.abc IR")  # another process's
        dispatch(hub, "sarhad_live", "7")
        assert hub.woken.is_set() and hub.wanted == 7

    run(scenario())
    assert woken == ["IR"]
