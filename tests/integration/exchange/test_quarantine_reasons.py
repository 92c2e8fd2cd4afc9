"""The reason a received record is quarantined with: its kind's refusal, told apart from a handler's bug."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from sarhad.accounts.actors import SystemActor
from sarhad.core.errors import ErrorCode, RecordRefused
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange import registry
from sarhad.exchange.models import Alert, InboundEnvelope
from sarhad.exchange.release import ReleaseItem, release_records
from support.inprocess import deliver, pair

KIND = "test.note"


@pytest.fixture
def nodes(node: Node, make_node_dir: Callable[..., Path]) -> Iterator[tuple[Node, Node]]:
    ir = build_node(load_settings(make_node_dir("IR", "Iran")))
    pair(node, ir)
    yield node, ir
    ir.dispose()


def _receive_one_with(pk: Node, ir: Node, monkeypatch: pytest.MonkeyPatch, apply: Any) -> InboundEnvelope:
    """Release one record of a kind whose handler is ``apply`` and deliver it; IR's inbox row for it."""
    registry.load_handlers()
    monkeypatch.setitem(registry._KINDS, KIND, registry.RecordKind(KIND, schema=None, apply=apply))
    item = ReleaseItem(kind=KIND, record_id="n1", version=1, content={"text": "x"}, to=["IR"])
    with pk.transaction() as session:
        release_records(session, pk, [item], actor=SystemActor("liaison"))
    result = deliver(pk, ir)
    assert (result.applied, result.quarantined) == (0, 1)
    with ir.sessions() as session:
        row = session.get(InboundEnvelope, ("PK>IR", 1))
        assert row is not None and row.status == "quarantined"
        alerts = session.scalars(select(Alert).where(Alert.kind == "quarantine")).all()
        assert len(alerts) == 1 and row.reason in alerts[0].message
        return row


def test_a_record_its_kind_refuses_is_quarantined_with_the_refusal_as_its_reason(
    nodes: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    pk, ir = nodes

    def refuse(session: Any, node: Node, record: registry.IncomingRecord) -> None:
        raise RecordRefused("the note names a post that does not exist", code=ErrorCode.BAD_REFERENCE)

    row = _receive_one_with(pk, ir, monkeypatch, refuse)
    assert row.reason == "refused (bad_reference): the note names a post that does not exist"


def test_a_handler_that_fails_unexpectedly_is_named_as_a_failure_not_a_refusal(
    nodes: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    pk, ir = nodes

    def broken(session: Any, node: Node, record: registry.IncomingRecord) -> None:
        raise KeyError("position")

    row = _receive_one_with(pk, ir, monkeypatch, broken)
    assert row.reason == "handler failed: KeyError: 'position'"
