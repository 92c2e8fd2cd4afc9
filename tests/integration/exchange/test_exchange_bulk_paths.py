"""The exchange's batch paths keep the one-by-one rules: key rotation inside a large batch, receipt hooks,
re-releasing a withdrawn record, and several parties in one bulk release.

Two in-process nodes (PK on the parametrised database, IR on SQLite) talk through the exchange's own code
(``support.inprocess``), so each test can look at both databases directly.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sarhad.accounts.actors import SystemActor
from sarhad.core.errors import Conflict
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange import protocol, registry
from sarhad.exchange.identity import identity
from sarhad.exchange.models import Alert, InboundEnvelope, LinkHead, OutboundEnvelope, Release
from sarhad.exchange.receive import receive_batch
from sarhad.exchange.refusals import ExchangeRefusal
from sarhad.exchange.registry import ReceiptedRecord
from sarhad.exchange.release import ReleaseItem, release_records, withdraw_record
from sarhad.exchange.rotation import rotate_key
from support.inprocess import deliver, pair

CONTENT = {"title": "Patrol report", "body": "Movement seen near the crossing."}
KIND = "test.note"


@pytest.fixture(autouse=True)
def note_kind(monkeypatch: pytest.MonkeyPatch) -> registry.RecordKind:
    """A record kind of the tests' own: no schema, no handler; the exchange keeps its generic copy."""
    registry.load_handlers()
    kind = registry.RecordKind(KIND, schema=None)
    monkeypatch.setitem(registry._KINDS, KIND, kind)
    return kind


@pytest.fixture
def nodes(node: Node, make_node_dir: Callable[..., Path]) -> Iterator[tuple[Node, Node]]:
    ir = build_node(load_settings(make_node_dir("IR", "Iran")))
    pair(node, ir)
    yield node, ir
    ir.dispose()


def release(pk: Node, count: int, start: int = 0, to: tuple[str, ...] = ("IR",)) -> None:
    items = [
        ReleaseItem(kind=KIND, record_id=f"r{n}", version=1, content={**CONTENT, "n": n}, to=to)
        for n in range(start, start + count)
    ]
    with pk.transaction() as session:
        release_records(session, pk, items, actor=SystemActor("liaison"))


def outbox_bodies(pk: Node, link: str = "PK>IR") -> list[dict[str, Any]]:
    with pk.sessions() as session:
        rows = session.scalars(
            select(OutboundEnvelope).where(OutboundEnvelope.link == link).order_by(OutboundEnvelope.seq)
        ).all()
        return [json.loads(r.body) for r in rows]


def test_a_key_rotated_inside_a_large_batch_governs_the_envelopes_after_it(nodes: tuple[Node, Node]) -> None:
    """40 envelopes, then the rotation, then 40 more: verified on all CPUs, the keys switch at the rotation."""
    pk, ir = nodes
    release(pk, 40)
    old = identity(pk)
    with pk.transaction() as session:
        rotate_key(session, pk, actor=SystemActor("cli"))
    release(pk, 40, start=40)
    envelopes = outbox_bodies(pk)
    assert len(envelopes) == 81 and envelopes[40]["record"]["kind"] == "key_rotation"
    assert {e["key"] for e in envelopes[41:]} == {identity(pk).fingerprint}

    # A forged tail: envelope 42 re-signed with the retired key must be refused, and nothing written.
    forged = protocol.make_envelope(
        old.private_key,
        "PK>IR",
        42,
        envelopes[40]["hash"],
        protocol.parse_time(envelopes[41]["sent_at"]),
        envelopes[41]["record"],
    )
    with pytest.raises(ExchangeRefusal) as refused:
        receive_batch(ir, "PK>IR", [*envelopes[:41], forged, *envelopes[42:]])
    assert refused.value.code == "unknown_key" and "seq 42" in refused.value.message
    with ir.sessions() as session:
        assert session.scalars(select(InboundEnvelope)).all() == []

    result = receive_batch(ir, "PK>IR", envelopes)
    assert (result.applied, result.quarantined) == (81, 0)
    assert result.receipt["seq"] == 81


def test_receipt_hooks_see_the_newly_receipted_records_once(
    nodes: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch, note_kind: registry.RecordKind
) -> None:
    pk, ir = nodes
    seen: list[tuple[str, list[tuple[str, int]]]] = []

    def on_receipted(session: Any, node: Node, party: str, records: list[ReceiptedRecord]) -> None:
        seen.append((party, [(r.record_id, r.seq) for r in records]))

    monkeypatch.setitem(registry._KINDS, KIND, dataclasses.replace(note_kind, on_receipted=on_receipted))
    release(pk, 3)
    deliver(pk, ir)
    release(pk, 2, start=3)
    deliver(pk, ir)
    deliver(pk, ir)  # nothing new: the hook is not called again
    assert seen == [("IR", [("r0", 1), ("r1", 2), ("r2", 3)]), ("IR", [("r3", 4), ("r4", 5)])]


def test_a_failing_receipt_hook_raises_an_alert_but_the_receipt_is_stored(
    nodes: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch, note_kind: registry.RecordKind
) -> None:
    pk, ir = nodes

    def broken(session: Any, node: Node, party: str, records: list[ReceiptedRecord]) -> None:
        raise RuntimeError("bug in a kind")

    monkeypatch.setitem(registry._KINDS, KIND, dataclasses.replace(note_kind, on_receipted=broken))
    release(pk, 2)
    deliver(pk, ir)
    with pk.sessions() as session:
        head = session.get(LinkHead, "PK>IR")
        assert head is not None and (head.receipted_seq, head.sent_seq) == (2, 2)
        alerts = session.scalars(select(Alert).where(Alert.kind == "receipt_hook")).all()
    assert len(alerts) == 1 and "bug in a kind" in alerts[0].message


def test_a_withdrawn_record_can_be_released_again_and_a_live_release_cannot(nodes: tuple[Node, Node]) -> None:
    pk, _ = nodes
    release(pk, 1)
    with pk.transaction() as session:
        withdraw_record(session, pk, kind=KIND, record_id="r0", version=1, actor=SystemActor("liaison"))
    release(pk, 1)  # the withdrawn release is replaced
    with pk.sessions() as session:
        releases = session.scalars(select(Release).where(Release.record_id == "r0")).all()
    assert [(r.to_party, r.withdrawn_at) for r in releases] == [("IR", None)]
    assert [e["record"]["op"] for e in outbox_bodies(pk)] == ["upsert", "withdraw", "upsert"]
    with pytest.raises(Conflict, match="already released"):
        release(pk, 1)
    assert len(outbox_bodies(pk)) == 3


def test_a_bulk_release_to_several_parties_keeps_each_link_in_order(
    nodes: tuple[Node, Node], make_node_dir: Callable[..., Path]
) -> None:
    pk, ir = nodes
    af = build_node(load_settings(make_node_dir("AF", "Afghanistan")))
    try:
        pair(pk, af)
        items = [
            ReleaseItem(kind=KIND, record_id=f"m{n}", version=1, content=CONTENT, to=to)
            for n, to in enumerate([("IR",), ("AF", "IR"), ("AF",), ("IR", "AF")])
        ]
        with pk.transaction() as session:
            assert release_records(session, pk, items, actor=SystemActor("liaison")) == 6
        assert [e["record"]["id"] for e in outbox_bodies(pk, "PK>IR")] == ["m0", "m1", "m3"]
        assert [e["record"]["id"] for e in outbox_bodies(pk, "PK>AF")] == ["m1", "m2", "m3"]
        for receiver in (ir, af):
            result = deliver(pk, receiver)
            assert (result.applied, result.quarantined) == (3, 0)
    finally:
        af.dispose()
