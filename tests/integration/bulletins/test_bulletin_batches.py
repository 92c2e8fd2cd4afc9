"""Many bulletins at once: the bulk release and receive paths give exactly what one-by-one would.

The bulk paths write each table with one statement; these tests prove they keep the rules of the single
paths: order on the link, one audit entry per record, all-or-nothing on a bad item, and a received batch
that mixes new bulletins, later versions, withdrawals and a bad record applies like the records one by one.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from bulletin_helpers import audit_actions, bulletin_row, deliver, nothing_written, outbox
from sqlalchemy import select

from sarhad.bulletins import bulk, services
from sarhad.bulletins.handlers import BULLETIN
from sarhad.bulletins.models import Bulletin, BulletinVersion
from sarhad.bulletins.schemas import BulletinContentIn
from sarhad.bulletins.services import SystemActor
from sarhad.core.errors import Conflict, InvalidInput
from sarhad.core.node import Node
from sarhad.exchange import registry
from sarhad.exchange.identity import identity
from sarhad.exchange.models import InboundEnvelope, ReceivedRecord
from sarhad.exchange.outbox import enqueue_record
from sarhad.exchange.peers import add_peer
from sarhad.exchange.receive import receive_batch
from sarhad.exchange.release import ReleaseItem, content_hash, release_records

ACTOR = SystemActor("liaison")


def content(n: int) -> BulletinContentIn:
    return BulletinContentIn(title=f"Bulletin {n}", body=f"Body of bulletin {n}: movement near post {n}.")


def create_many(node: Node, count: int, release_to: tuple[str, ...] = ("IR",)) -> list[str]:
    with node.transaction() as session:
        return bulk.create_bulletins(
            session, node, ACTOR, [content(n) for n in range(count)], tlp="amber", release_to=release_to
        )


def test_a_batch_is_released_in_the_order_given_with_an_audit_entry_per_record(pk: Node, ir: Node) -> None:
    ids = create_many(pk, 5)
    sent = outbox(pk, "PK>IR")
    assert [row.seq for row in sent] == [1, 2, 3, 4, 5]
    assert [row.record_id for row in sent] == ids
    chain = [json.loads(row.body) for row in sent]
    assert all(env["prev"] == before["hash"] for before, env in itertools.pairwise(chain))
    assert audit_actions(pk, "bulletin.create") == ["bulletin.create"] * 5
    assert audit_actions(pk, "exchange.release") == ["exchange.release"] * 5

    result = deliver(pk, ir)
    assert (result.applied, result.quarantined) == (5, 0)
    for n, bulletin_id in enumerate(ids):
        row = bulletin_row(ir, "PK", bulletin_id)
        assert row is not None and row.title == f"Bulletin {n}" and row.created_by == "peer:PK"
    assert audit_actions(ir, "bulletin.receive") == ["bulletin.receive"] * 5


def test_one_bad_bulletin_refuses_the_whole_batch_and_writes_nothing(pk: Node, ir: Node) -> None:
    backwards = BulletinContentIn(
        title="ok",
        body="A validity period that ends before it starts.",
        valid_from=datetime(2026, 11, 24, tzinfo=UTC),
        valid_until=datetime(2026, 11, 23, tzinfo=UTC),
    )
    items = [content(0), backwards, content(2)]
    with pytest.raises(InvalidInput, match="bulletin 2: valid_until"), pk.transaction() as session:
        bulk.create_bulletins(session, pk, ACTOR, items, tlp="amber", release_to=["IR"])
    nothing_written(pk)


def test_a_record_named_twice_or_already_released_refuses_the_whole_release(pk: Node, ir: Node) -> None:
    (first,) = create_many(pk, 1, release_to=())
    item = ReleaseItem(kind="bulletin", record_id=first, version=1, content={"title": "t"}, to=["IR"])
    with pytest.raises(Conflict, match="named twice"), pk.transaction() as session:
        release_records(session, pk, [item, item], actor=SystemActor("liaison"))
    assert outbox(pk) == [] and audit_actions(pk, "exchange.release") == []

    with pk.transaction() as session:
        release_records(session, pk, [item], actor=SystemActor("liaison"))
    (second,) = create_many(pk, 1, release_to=())
    other = ReleaseItem(kind="bulletin", record_id=second, version=1, content={"title": "u"}, to=["IR"])
    with pytest.raises(Conflict, match="already released"), pk.transaction() as session:
        release_records(session, pk, [other, item], actor=SystemActor("liaison"))
    assert [row.record_id for row in outbox(pk)] == [first]


def _bulletin_state(node: Node) -> list[tuple[Any, ...]]:
    with node.sessions() as session:
        rows = session.scalars(select(Bulletin).order_by(Bulletin.id)).all()
        versions = session.scalars(
            select(BulletinVersion).order_by(BulletinVersion.bulletin_id, BulletinVersion.version)
        ).all()
        received = session.scalars(select(ReceivedRecord).order_by(ReceivedRecord.record_id)).all()
        return (
            [(b.id, b.version, b.title, b.withdrawn_at is not None) for b in rows]
            + [(v.bulletin_id, v.version, v.content_hash) for v in versions]
            + [(r.record_id, r.version, r.withdrawn_at is not None) for r in received]
        )


def _forged_record(bulletin_id: str) -> dict[str, Any]:
    bad = {"title": "", "body": "an empty title breaks the bulletin rules"}
    return {
        "kind": "bulletin",
        "origin": "PK",
        "id": bulletin_id,
        "version": 1,
        "op": "upsert",
        "handling": "no_onward",
        "tlp": "amber",
        "content": bad,
        "content_hash": content_hash(bad),
    }


def _mixed_history(pk: Node) -> tuple[str, str]:
    """New bulletins, a later version of one, a withdrawal of another and an invalid record, undelivered."""
    a, b, _ = create_many(pk, 3)
    with pk.transaction() as session:
        services.update_bulletin(
            session, pk, ACTOR, a, BulletinContentIn(title="A v2", body="Second version.")
        )
    with pk.transaction() as session:
        services.withdraw_bulletin(session, pk, ACTOR, b, "sent in error")
    with pk.transaction() as session:
        enqueue_record(session, pk, "IR", _forged_record("0193f000-0000-7000-8000-00000000bad1"))
    create_many(pk, 2)
    return a, b


def test_a_mixed_batch_applies_exactly_as_the_records_one_by_one(
    pk: Node, ir: Node, make_node: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    updated, withdrawn = _mixed_history(pk)
    in_one_batch = deliver(pk, ir)
    assert (in_one_batch.applied, in_one_batch.quarantined) == (7, 1)

    # The same envelopes again, to a second IR node whose bulletin kind has no batch handler: one by one.
    one_by_one = make_node("IR", "Iran again")
    with one_by_one.transaction() as session:  # it only receives, so only it needs to know PK's key
        add_peer(
            session,
            one_by_one,
            party="PK",
            url="http://127.0.0.1:1/pk",
            public_key_b64=identity(pk).public_key_b64,
            name="Pakistan",
            actor=SystemActor("test"),
        )
    monkeypatch.setitem(registry._KINDS, "bulletin", dataclasses.replace(BULLETIN, apply_batch=None))
    link = "PK>IR"
    envelopes = [json.loads(row.body) for row in outbox(pk, link)]
    for env in envelopes:
        receive_batch(one_by_one, link, [env])

    assert _bulletin_state(ir) == _bulletin_state(one_by_one)
    assert audit_actions(ir, "bulletin.") == audit_actions(one_by_one, "bulletin.")
    with ir.sessions() as session:
        quarantined = session.scalars(
            select(InboundEnvelope).where(InboundEnvelope.status == "quarantined")
        ).all()
    assert [q.seq for q in quarantined] == [6] and "title" in quarantined[0].reason
    current = bulletin_row(ir, "PK", updated)
    assert current is not None and (current.version, current.title) == (2, "A v2")
    gone = bulletin_row(ir, "PK", withdrawn)
    assert gone is not None and gone.withdrawn_at is not None and gone.withdraw_reason == "sent in error"
