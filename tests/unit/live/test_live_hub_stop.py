"""The hub when the process stops (issue 17 item 4): every stream ends at once, whatever it had queued, and a
stream that starts after the signal ends at once too."""

from __future__ import annotations

import asyncio
from typing import Any

from test_live_hub import drain, event, run

from sarhad.core.components import Components
from sarhad.live import hub as hub_module
from sarhad.live.hub import Hub, ensure_hub


def test_closing_ends_every_stream_at_once_dropping_what_it_had_queued(monkeypatch: Any) -> None:
    monkeypatch.setattr(hub_module, "QUEUE_SIZE", 3)

    async def scenario() -> tuple[list[int | None], list[int | None], bool]:
        hub = Hub(node=None, loop=asyncio.get_running_loop(), start_after=0)  # type: ignore[arg-type]
        full, behind = hub.subscribe(), hub.subscribe()
        hub.arrived([event(1), event(2), event(3)])  # ``full``'s queue is full, not overflowed
        await behind.queue.get()
        hub.close()  # what the stop signal's ``hub.stop`` and the lifespan's end do
        return drain(full.queue), drain(behind.queue), full.revoked and behind.revoked

    full_items, behind_items, ended = run(scenario())
    # what a client was sent stays a prefix in id order: it resumes after its last id, missing nothing
    assert full_items == [None] and behind_items == [None] and ended


def test_a_stream_that_starts_after_the_stop_signal_ends_at_once() -> None:
    class FakeNode:  # what ``ensure_hub`` reads of a node when its hub exists: its components
        components = Components()

    async def scenario() -> tuple[bool, list[int | None], bool]:
        node = FakeNode()
        hub = Hub(node=node, loop=asyncio.get_running_loop(), start_after=0)  # type: ignore[arg-type]
        node.components.put(hub)
        hub.stop()
        again = await ensure_hub(node)  # type: ignore[arg-type]
        sub = again.subscribe()
        return again is hub, drain(sub.queue), sub.revoked

    same, items, revoked = run(scenario())
    assert same and items == [None] and revoked
