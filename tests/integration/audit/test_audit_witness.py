"""Signed heads travel to the peer, which keeps them as their witness and refuses one that contradicts them.

PK runs on the parametrised database (SQLite and PostgreSQL), IR on SQLite; delivery is the exchange's own
code path in-process (signed envelopes, receipts), as in the record-kind tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from sarhad.audit import chain, heads
from sarhad.audit.models import AuditHead
from sarhad.audit.services import record_event
from sarhad.audit.verify import load_evidence, verify
from sarhad.core.ids import new_id
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange import records
from sarhad.exchange.identity import identity
from sarhad.exchange.models import Alert, InboundEnvelope
from support.inprocess import deliver, pair


@pytest.fixture
def pk(node: Node) -> Node:
    return node


@pytest.fixture
def ir(make_node_dir: Callable[..., Path], pk: Node) -> Iterator[Node]:
    other = build_node(load_settings(make_node_dir("IR", "Iran")))
    pair(pk, other)
    yield other
    other.dispose()


def _activity(node: Node, n: int = 3) -> None:
    for i in range(n):
        with node.transaction() as session:
            record_event(session, node.clock, actor="liaison", action="bulletin.read", details={"i": i})


def _held(ir: Node, party: str = "PK") -> list[AuditHead]:
    with ir.sessions() as session:
        return list(session.scalars(select(AuditHead).where(AuditHead.origin == party)).all())


def _forge_head(pk: Node, seq: int, digest: str, at_offset: timedelta = timedelta()) -> None:
    """PK's node signs and releases a head of its choosing, as a node whose log was rewritten would."""
    me = identity(pk)
    at = pk.clock.now() + at_offset
    head = chain.make_head(
        me.private_key, party="PK", seq=seq, hash_hex=digest, at=at, key_fingerprint=me.fingerprint
    )
    with pk.transaction() as session:
        row = AuditHead(origin="PK", id=new_id(), version=1, log_seq=seq, log_hash=digest, signed_at=at,
                        key=me.fingerprint, sig=head["sig"], tlp="clear", handling="no_onward", created_at=at,
                        withdraw_reason="", received_at=None)  # fmt: skip
        session.add(row)
        records.add_version(session, pk, heads.HEADS, row, head, "system")
        records.release(session, pk, heads.SIGNER, heads.HEADS, row, ["IR"], content=head)


def test_a_signed_head_is_witnessed_by_the_peer_and_verify_sees_its_receipt(pk: Node, ir: Node) -> None:
    _activity(pk)
    head = heads.sign_head(pk)
    assert head is not None
    deliver(pk, ir)

    held = _held(ir)
    assert [(h.log_seq, h.log_hash, h.sig) for h in held] == [(head.log_seq, head.log_hash, head.sig)]
    assert held[0].received_at is not None
    with pk.sessions() as session:
        report = verify(load_evidence(session, "PK"))
    assert report.ok, report.problems
    assert (report.heads, report.witnessed, report.unwitnessed) == (1, {"IR": 1}, 0)


def test_a_head_is_signed_again_only_when_the_log_grew_by_more_than_heads(pk: Node, ir: Node) -> None:
    _activity(pk)
    assert heads.sign_head(pk) is not None
    deliver(pk, ir)
    assert heads.sign_head(pk) is None  # only the release of the head itself since: nothing to sign
    _activity(pk, 1)
    assert heads.sign_head(pk) is not None
    deliver(pk, ir)
    assert len(_held(ir)) == 2


def _quarantined(ir: Node) -> list[tuple[str, str]]:
    with ir.sessions() as session:
        return [
            (row.reason, alert.message)
            for row in session.scalars(select(InboundEnvelope).where(InboundEnvelope.status == "quarantined"))
            for alert in session.scalars(
                select(Alert).where(Alert.seq == row.seq, Alert.kind == "quarantine")
            )
        ]


def test_the_peer_refuses_a_head_of_the_same_size_with_another_hash(pk: Node, ir: Node) -> None:
    _activity(pk)
    head = heads.sign_head(pk)
    assert head is not None
    deliver(pk, ir)
    _forge_head(pk, head.log_seq, "ab" * 32, timedelta(seconds=1))
    deliver(pk, ir)

    assert [(h.log_seq, h.log_hash) for h in _held(ir)] == [(head.log_seq, head.log_hash)]
    [(reason, alert)] = _quarantined(ir)
    assert "audit_head_conflict" in reason
    assert f"two different logs of {head.log_seq} entries" in reason
    assert "its audit log was rewritten" in alert


def test_the_peer_refuses_a_later_head_of_a_shorter_log(pk: Node, ir: Node) -> None:
    _activity(pk, 5)
    head = heads.sign_head(pk)
    assert head is not None
    deliver(pk, ir)
    _forge_head(pk, head.log_seq - 2, "cd" * 32, timedelta(seconds=1))
    deliver(pk, ir)

    assert len(_held(ir)) == 1
    [(reason, _)] = _quarantined(ir)
    assert "the log shrank" in reason


def test_the_peer_refuses_a_head_with_a_bad_signature(pk: Node, ir: Node) -> None:
    _activity(pk)
    me = identity(pk)
    at = pk.clock.now()
    head = chain.make_head(
        me.private_key, party="PK", seq=3, hash_hex="ef" * 32, at=at, key_fingerprint=me.fingerprint
    )
    head["hash"] = "ee" * 32  # changed after signing
    with pk.transaction() as session:
        row = AuditHead(origin="PK", id=new_id(), version=1, log_seq=3, log_hash=head["hash"], signed_at=at,
                        key=me.fingerprint, sig=head["sig"], tlp="clear", handling="no_onward", created_at=at,
                        withdraw_reason="", received_at=None)  # fmt: skip
        session.add(row)
        records.add_version(session, pk, heads.HEADS, row, head, "system")
        records.release(session, pk, heads.SIGNER, heads.HEADS, row, ["IR"], content=head)
    deliver(pk, ir)
    assert _held(ir) == []
    [(reason, _)] = _quarantined(ir)
    assert "bad_audit_head" in reason and "signature does not verify" in reason
