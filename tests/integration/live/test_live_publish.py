"""``publish`` hands an event to this process's hub once its transaction commits, and only if the event's row
was committed: events of a rolled-back savepoint are dropped, the others of the transaction still go."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from sarhad.core.node import Node
from sarhad.live.domain import Event
from sarhad.live.hub import Hub
from sarhad.live.models import LiveEvent
from sarhad.live.services import publish


class Boom(Exception):
    pass


class RecordingHub(Hub):
    """A hub that records what after-commit hooks hand it, instead of fanning it out."""

    def __init__(self, node: Node) -> None:
        self._own_loop = asyncio.new_event_loop()
        super().__init__(node, self._own_loop, start_after=0)
        self.handed: list[list[int]] = []

    def publish_committed(self, events: list[Event]) -> None:
        self.handed.append([event.id for event in events])


@pytest.fixture
def hub(node: Node) -> Iterator[RecordingHub]:
    recording = node.components.put(RecordingHub(node), Hub)
    yield recording
    node.components.pop(Hub)
    recording._own_loop.close()


def event(session: object, node: Node, n: int) -> LiveEvent:
    return publish(session, node, "test.event", {"n": n}, permission="live.test")  # type: ignore[arg-type]


def test_events_published_after_a_rolled_back_savepoint_reach_the_hub_at_commit(
    node: Node, hub: RecordingHub
) -> None:
    with node.transaction() as session:
        with pytest.raises(Boom), session.begin_nested():
            event(session, node, 1)
            raise Boom
        later = event(session, node, 2)
        last = event(session, node, 3)
        assert hub.handed == []
    assert hub.handed == [[later.id, last.id]]


def test_events_before_and_around_a_rolled_back_savepoint_reach_the_hub_in_order(
    node: Node, hub: RecordingHub
) -> None:
    with node.transaction() as session:
        first = event(session, node, 1)
        with session.begin_nested():
            released = event(session, node, 2)
        with pytest.raises(Boom), session.begin_nested():
            event(session, node, 3)
            raise Boom
        last = event(session, node, 4)
    assert hub.handed == [[first.id, released.id, last.id]]


def test_no_event_reaches_the_hub_when_the_transaction_rolls_back(node: Node, hub: RecordingHub) -> None:
    with pytest.raises(Boom), node.transaction() as session:
        event(session, node, 1)
        raise Boom
    with node.transaction() as session:  # a later transaction hands over only its own events
        kept = event(session, node, 2)
    assert hub.handed == [[kept.id]]
