"""A received version that came without its originator's signature is not released onward (§11.2).

In one process, through the exchange's own receive path: PK's node sends IR, on PK's own link (where the
envelope signature is PK's, so no ``origin_sig`` is needed), a bulletin marked ``onward_allowed`` but without
``origin_sig`` (as a node of an older version would). IR applies it; releasing it on to AF is refused with
``409 origin_unsigned``, because AF would quarantine it. A bulletin PK released the current way (signed) goes on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from sarhad.accounts.actors import SystemActor
from sarhad.bulletins.schemas import BulletinContentIn
from sarhad.bulletins.services import create_bulletin, release_bulletin
from sarhad.core.errors import Conflict, ErrorCode
from sarhad.core.node import Node
from sarhad.exchange import protocol
from sarhad.exchange.identity import identity
from sarhad.exchange.models import LinkHead, OutboundEnvelope
from sarhad.exchange.receive import receive_batch
from support.inprocess import deliver, pair
from support.pairs import MakeNode

ACTOR = SystemActor("test")


def _released_to_af(pk: Node, title: str) -> dict[str, object]:
    """A bulletin PK releases to AF (onward allowed), and the record PK's envelope carries."""
    with pk.transaction() as session:
        bulletin = create_bulletin(
            session,
            pk,
            ACTOR,
            BulletinContentIn(title=title, body="text"),
            tlp="amber",
            handling="onward_allowed",
            release_to=["AF"],
        )
        bulletin_id = bulletin.id
    with pk.sessions() as session:
        body = session.scalars(
            select(OutboundEnvelope.body).where(
                OutboundEnvelope.link == "PK>AF", OutboundEnvelope.record_id == bulletin_id
            )
        ).one()
    record: dict[str, object] = json.loads(body)["record"]
    return record


def test_a_version_received_without_origin_signature_is_not_released_onward(
    node: Node, make_node: MakeNode
) -> None:
    pk, ir, af = node, make_node("IR", "Iran"), make_node("AF", "Afghanistan")
    pair(pk, ir)
    pair(pk, af)
    pair(ir, af)

    # released by PK the current way, a bulletin carries PK's signature, goes on, and AF applies it
    with pk.transaction() as session:
        signed = create_bulletin(
            session,
            pk,
            ACTOR,
            BulletinContentIn(title="signed", body="text"),
            tlp="amber",
            handling="onward_allowed",
            release_to=["IR"],
        )
        signed_id = signed.id
    deliver(pk, ir)
    with ir.transaction() as session:
        release_bulletin(session, ir, ACTOR, signed_id, ["AF"], origin="PK")
    result = deliver(ir, af)
    assert (result.applied, result.quarantined) == (1, 0)

    # a version PK sent on its own link without one (as an older node would) is applied, but stays here
    unsigned = _released_to_af(pk, "unsigned")
    assert "origin_sig" in unsigned
    del unsigned["origin_sig"]
    with ir.sessions() as session:
        head = session.get(LinkHead, "PK>IR")
        assert head is not None
        seq, prev = head.seq, head.hash
    env = protocol.make_envelope(
        identity(pk).private_key, "PK>IR", seq + 1, prev, datetime.now(UTC), unsigned
    )
    assert receive_batch(ir, "PK>IR", [env]).applied == 1

    with pytest.raises(Conflict) as refused, ir.transaction() as session:
        release_bulletin(session, ir, ACTOR, str(unsigned["id"]), ["AF"], origin="PK")
    assert refused.value.code == ErrorCode.ORIGIN_UNSIGNED
    assert "Ask PK" in refused.value.message
