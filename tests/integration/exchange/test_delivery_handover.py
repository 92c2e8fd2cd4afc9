"""The delivery worker takes the envelopes a commit in its own process has just written straight from the
after-commit hook, and falls back to the database whenever they do not follow on from what the peer holds.

Two in-process nodes (PK on the parametrised database, IR on SQLite); the worker is built but never run, so
each step can be looked at. The scenarios run in an event loop of their own thread (``run_coroutine``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange import registry
from sarhad.exchange.delivery import DeliveryWorker
from sarhad.exchange.domain import DeliveryWake
from sarhad.exchange.models import OutboundEnvelope
from sarhad.exchange.release import ReleaseItem, release_records
from support.inprocess import pair, run_coroutine

KIND = "test.note"
L = "PK>IR"  # the link's base chain: the routine lane, where this kind's records go


@pytest.fixture(autouse=True)
def note_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    registry.load_handlers()
    monkeypatch.setitem(registry._KINDS, KIND, registry.RecordKind(KIND, schema=None))


@pytest.fixture
def nodes(node: Node, make_node_dir: Callable[..., Path]) -> Iterator[tuple[Node, Node]]:
    ir = build_node(load_settings(make_node_dir("IR", "Iran")))
    pair(node, ir)
    yield node, ir
    ir.dispose()


def release(pk: Node, numbers: range) -> None:
    items = [
        ReleaseItem(kind=KIND, record_id=f"r{n}", version=1, content={"n": n}, to=["IR"]) for n in numbers
    ]
    with pk.transaction() as session:
        release_records(session, pk, items, actor=SystemActor("liaison"))


def stored_bodies(pk: Node) -> dict[int, str]:
    with pk.sessions() as session:
        rows = session.execute(select(OutboundEnvelope.seq, OutboundEnvelope.body)).all()
        return {seq: body for seq, body in rows}


def test_a_commit_hands_its_envelopes_to_the_worker_exactly_as_stored(nodes: tuple[Node, Node]) -> None:
    pk, _ = nodes

    async def scenario() -> None:
        worker = DeliveryWorker(pk)
        pk.components.put(DeliveryWake(worker.wake))
        try:
            release(pk, range(3))
            await asyncio.sleep(0)  # the hook's call_soon_threadsafe runs on the loop
            assert worker.woken == {"IR"}
            assert worker.fresh[L] == stored_bodies(pk)
            assert worker._take_fresh(L) is None  # nothing known of what IR holds yet: ask the database
            worker.cursor[L] = 0
            assert worker._take_fresh(L) == (0, [stored_bodies(pk)[seq] for seq in (1, 2, 3)])
            assert worker.fresh[L] == {}
        finally:
            pk.components.pop(DeliveryWake)

    run_coroutine(scenario)


def test_a_rolled_back_release_hands_nothing_over(nodes: tuple[Node, Node]) -> None:
    pk, _ = nodes

    async def scenario() -> None:
        worker = DeliveryWorker(pk)
        pk.components.put(DeliveryWake(worker.wake))
        try:
            with pytest.raises(RuntimeError), pk.transaction() as session:
                release_records(
                    session,
                    pk,
                    [ReleaseItem(kind=KIND, record_id="gone", version=1, content={}, to=["IR"])],
                    actor=SystemActor("liaison"),
                )
                raise RuntimeError("the caller fails after releasing")
            await asyncio.sleep(0)
            assert worker.woken == set() and worker.fresh == {}
        finally:
            pk.components.pop(DeliveryWake)

    run_coroutine(scenario)


def test_handed_over_envelopes_are_used_only_where_they_follow_on(nodes: tuple[Node, Node]) -> None:
    """Already receipted ones are dropped; a gap (another process released in between) means the database."""
    pk, _ = nodes

    async def scenario() -> None:
        worker = DeliveryWorker(pk)
        worker.cursor[L] = 5
        worker._woken("IR", [(L, 4, "old"), (L, 6, "six"), (L, 7, "seven"), (L, 9, "nine")])
        assert worker._take_fresh(L) == (5, ["six", "seven"])
        assert worker._take_fresh(L) is None  # seq 8 was not handed over
        worker.cursor[L] = 8
        assert worker._take_fresh(L) == (8, ["nine"])
        assert worker.fresh[L] == {}

    run_coroutine(scenario)


def test_handed_over_batches_keep_the_count_and_byte_limits(nodes: tuple[Node, Node]) -> None:
    pk, _ = nodes

    async def scenario() -> None:
        worker = DeliveryWorker(pk)
        worker.cursor[L] = 0
        worker.batch_limit["IR"] = 2  # the peer refused larger batches earlier
        worker._woken("IR", [(L, 1, "a"), (L, 2, "b"), (L, 3, "c")])
        assert worker._take_fresh(L) == (0, ["a", "b"])
        worker.cursor[L] = 2
        del worker.batch_limit["IR"]
        big = "x" * pk.settings.exchange_batch_max_bytes
        worker._woken("IR", [(L, 4, big), (L, 5, "e")])
        assert worker._take_fresh(L) == (2, ["c"])  # "c" fits; the big one would go over the budget
        worker.cursor[L] = 3
        assert worker._take_fresh(L) == (3, [big])  # alone, a batch may hold one record at the limit

    run_coroutine(scenario)


def test_a_peer_that_is_not_keeping_up_is_served_from_the_database(
    nodes: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    pk, _ = nodes
    monkeypatch.setattr("sarhad.exchange.delivery.FRESH_MAX", 3)

    async def scenario() -> None:
        worker = DeliveryWorker(pk)
        worker.cursor[L] = 0
        worker._woken("IR", [(L, 1, "a"), (L, 2, "b")])
        worker._woken("IR", [(L, 3, "c"), (L, 4, "d")])  # over the cap: nothing is held
        assert worker.fresh[L] == {}
        assert worker._take_fresh(L) is None

    run_coroutine(scenario)
