"""Assembling a ledger file from this node's database (both directions of a link, every precedence lane's
chain, with receipts)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sarhad.core.node import Node
from sarhad.exchange import ledger, protocol
from sarhad.exchange.domain import link_id, link_lanes
from sarhad.exchange.models import (
    InboundEnvelope,
    LaneKey,
    LinkHead,
    OutboundEnvelope,
    OwnKey,
    PeerKey,
    Receipt,
)


def _chains(session: Session, node: Node, peer: str) -> tuple[list[str], list[str]]:
    """Our chains to ``peer`` and its chains to us: the link's base chain and every precedence lane opened
    on it, highest precedence first (the ledger has a section per chain)."""
    opened = set(session.scalars(select(LinkHead.link).where(LinkHead.peer == peer)))
    out_chains = [c for c in link_lanes(node.party, peer) if c in opened or c == link_id(node.party, peer)]
    in_chains = [c for c in link_lanes(peer, node.party) if c in opened or c == link_id(peer, node.party)]
    return out_chains, in_chains


def count_entries(session: Session, node: Node, peer: str) -> int:
    out_chains, in_chains = _chains(session, node, peer)
    n_out = session.scalar(
        select(func.count()).select_from(OutboundEnvelope).where(OutboundEnvelope.link.in_(out_chains))
    )
    n_in = session.scalar(
        select(func.count()).select_from(InboundEnvelope).where(InboundEnvelope.link.in_(in_chains))
    )
    return int(n_out or 0) + int(n_in or 0)


def export_link(
    session: Session, node: Node, peer: str, progress: Callable[[int], None] | None = None
) -> dict[str, Any]:
    """The ledger document for both directions between this node and ``peer``, sealed with its digest: a
    section per chain (the link, and each of its precedence lanes), each verifiable on its own."""
    out_link = link_id(node.party, peer)
    out_chains, in_chains = _chains(session, node, peer)
    own_keys = session.scalars(select(OwnKey).order_by(OwnKey.created_at)).all()
    own_entries = []
    for index, key in enumerate(own_keys):
        valid = {k: v for k, v in key.valid_from_seq.items() if k in out_chains}
        if index == 0:
            valid.setdefault(out_link, 1)
        if not valid:
            continue
        own_entries.append(ledger.key_entry(protocol.public_key_from_b64(key.public_key), valid))
    peer_valid: dict[str, dict[str, int]] = {}
    peer_public: dict[str, str] = {}
    for k in session.scalars(select(PeerKey).where(PeerKey.party == peer).order_by(PeerKey.valid_from_seq)):
        peer_valid.setdefault(k.fingerprint, {})[link_id(peer, node.party)] = k.valid_from_seq
        peer_public[k.fingerprint] = k.public_key
    for lk in session.scalars(
        select(LaneKey).where(LaneKey.link.in_(in_chains)).order_by(LaneKey.link, LaneKey.valid_from_seq)
    ):
        peer_valid.setdefault(lk.fingerprint, {})[lk.link] = lk.valid_from_seq
        peer_public[lk.fingerprint] = lk.public_key
    peer_entries = [
        ledger.key_entry(protocol.public_key_from_b64(peer_public[fp]), valid)
        for fp, valid in peer_valid.items()
    ]

    def bodies(model: type[OutboundEnvelope] | type[InboundEnvelope], link: str) -> list[Any]:
        result = []
        for (body,) in session.execute(
            select(model.body).where(model.link == link).order_by(model.seq)
        ).yield_per(2000):
            result.append(json.loads(body))
            if progress is not None:
                progress(1)
        return result

    def receipts(link: str, direction: str) -> list[Any]:
        rows = session.scalars(
            select(Receipt.body)
            .where(Receipt.link == link, Receipt.direction == direction)
            .order_by(Receipt.seq)
        ).all()
        return [json.loads(body) for body in rows]

    parties: dict[str, Any] = {node.party: {"keys": own_entries}, peer: {"keys": peer_entries}}
    parties.update(_refused_rotation_keys(session, in_chains, {node.party, peer}))
    links = [
        {"link": chain, "envelopes": bodies(OutboundEnvelope, chain), "receipts": receipts(chain, "received")}
        for chain in out_chains
    ] + [
        {"link": chain, "envelopes": bodies(InboundEnvelope, chain), "receipts": receipts(chain, "issued")}
        for chain in in_chains
    ]
    return ledger.build_ledger(
        node.party,
        parties,
        links,
        exported_at=node.clock.now(),
    )


def _refused_rotation_keys(session: Session, in_chains: list[str], listed: set[str]) -> dict[str, Any]:
    """The keys of third parties that a refused rotation on the inbound chains tried to take over (docs §6, §12).

    A receiver quarantines a rotation to a key it knows for another party; the verifier can tell such a
    rotation apart only if the file lists that key with its owner, so those keys (and only those: the file
    does not otherwise disclose this node's other peers) are listed, with no link they sign on.
    """
    found: dict[str, list[dict[str, Any]]] = {}
    rows = session.execute(
        select(InboundEnvelope.body).where(
            InboundEnvelope.link.in_(in_chains),
            InboundEnvelope.record_kind == protocol.KIND_KEY_ROTATION,
            InboundEnvelope.status == "quarantined",
        )
    ).all()
    for (body,) in rows:
        record = json.loads(body).get("record", {})
        fp = record.get("new_fingerprint") if isinstance(record, dict) else None
        key = session.get(PeerKey, fp) if isinstance(fp, str) else None
        if key is None or key.party in listed:
            continue
        entries = found.setdefault(key.party, [])
        entry = ledger.key_entry(protocol.public_key_from_b64(key.public_key), {})
        if entry not in entries:
            entries.append(entry)
    return {party: {"keys": entries} for party, entries in sorted(found.items())}
