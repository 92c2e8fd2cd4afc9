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


def test_hub_dispatches_each_event_once_whichever_way_it_comes() -> None:
    async def scenario() -> list[int]:
        hub = Hub(node=None, loop=asyncio.get_running_loop(), start_after=10)  # type: ignore[arg-type]
        sub = hub.subscribe()
        assert hub.dispatch(event(11))
        assert not hub.dispatch(event(11))  # the poller sees it again
        assert not hub.dispatch(event(9))  # older than the hub's start
        assert hub.dispatch(event(13))
        hub._advance()
        assert 12 in hub.gaps  # 12 not seen yet: may still commit
        assert hub.dispatch(event(12))  # it came late: still delivered, once
        hub._advance()
        assert hub.low_water == 13 and not hub.gaps
        hub.close()
        got = []
        while True:
            item = await sub.queue.get()
            if item is None:
                break
            got.append(item.id)
        return got

    assert run(scenario()) == [11, 13, 12]


def test_a_gap_that_never_fills_is_given_up(monkeypatch: Any) -> None:
    async def scenario() -> Hub:
        hub = Hub(node=None, loop=asyncio.get_running_loop(), start_after=0)  # type: ignore[arg-type]
        hub.dispatch(event(2))
        hub._advance()
        monkeypatch.setattr(hub_module, "GAP_GRACE_SECONDS", -1.0)
        hub._advance()
        return hub

    hub = run(scenario())
    assert hub.low_water == 2 and not hub.gaps


def test_a_stalled_subscriber_is_cut_off_not_the_others(monkeypatch: Any) -> None:
    monkeypatch.setattr(hub_module, "QUEUE_SIZE", 3)

    async def scenario() -> tuple[bool, int]:
        hub = Hub(node=None, loop=asyncio.get_running_loop(), start_after=0)  # type: ignore[arg-type]
        slow, fast = hub.subscribe(), hub.subscribe()
        for n in range(1, 6):
            hub.dispatch(event(n))
            if n <= 3:
                await fast.queue.get()
        return slow.overflowed, fast.queue.qsize()

    overflowed, pending = run(scenario())
    assert overflowed and pending == 2
