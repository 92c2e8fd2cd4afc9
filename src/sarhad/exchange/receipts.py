"""Receipts: the receiver signs how far it holds a link; the sender checks and stores what it is given.

A receipt is cumulative: "I hold everything on this link up to seq N, whose hash is H". The receiver issues
one with every answer to a push (and on request: :func:`current_receipt`); the sender checks it against what
it signed (:func:`accept_receipt`), marks the envelopes receipted and tells the record kinds that asked.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from sarhad.core.errors import ErrorCode
from sarhad.core.node import Node
from sarhad.exchange import protocol
from sarhad.exchange.alerts import raise_alert
from sarhad.exchange.domain import link_id, split_lane_link
from sarhad.exchange.identity import identity
from sarhad.exchange.models import LinkHead, OutboundEnvelope, Peer, Receipt
from sarhad.exchange.outbox import mark_sent
from sarhad.exchange.peers import peer_keys
from sarhad.exchange.refusals import ExchangeNotFound, ExchangeRefusal
from sarhad.exchange.registry import ReceiptedRecord, kinds_with_receipt_hooks

log = logging.getLogger("sarhad.exchange")


def issue_receipt(session: Session, node: Node, head: LinkHead) -> dict[str, Any]:
    """Our signed receipt for an inbound link at its head; the first one for a seq is kept for the ledger."""
    me = identity(node)
    receipt = protocol.make_receipt(
        me.private_key, head.link, head.seq, head.hash, node.clock.now(), node.party
    )
    exists = session.scalar(
        select(Receipt.id).where(
            Receipt.link == head.link, Receipt.seq == head.seq, Receipt.direction == "issued"
        )
    )
    if exists is None and head.seq > 0:
        session.add(
            Receipt(
                link=head.link,
                seq=head.seq,
                hash=head.hash,
                body=protocol.canonical_json(receipt).decode(),
                direction="issued",
                at=node.clock.now(),
            )
        )
    return receipt


def current_receipt(node: Node, link: str) -> dict[str, Any]:
    """Our receipt for what we hold on an inbound link or lane (a sender asks, to learn where to resume).
    A lane the sender has not opened yet is answered with the receipt for seq 0, if this node speaks lanes."""
    with node.transaction() as session:
        head = session.get(LinkHead, link)
        if head is None:
            sender, receiver, _ = split_lane_link(link)
            base = session.get(LinkHead, link_id(sender, receiver))
            if base is None or not node.settings.exchange_lanes or base.direction != "in":
                raise ExchangeNotFound.at(ErrorCode.UNKNOWN_LINK, f"this node has no link {link}")
            head = LinkHead(link=link, seq=0, hash=protocol.GENESIS_HASH)  # not stored: nothing held yet
        return issue_receipt(session, node, head)


class ReceiptMismatch(ExchangeRefusal):
    """A validly signed receipt that does not match our log: the receiver claims to hold what we never sent.

    Refused like any bad receipt, and alerted: :func:`receive_receipt` records the alert in a transaction of
    its own, so the refusal's rollback does not take it away.
    """


def receive_receipt(node: Node, peer_party: str, receipt: Any, sent_up_to: int | None = None) -> int:
    """:func:`accept_receipt` in a transaction of its own; a mismatch is alerted (and then refused)."""
    try:
        with node.transaction() as session:
            return accept_receipt(session, node, peer_party, receipt, sent_up_to)
    except ReceiptMismatch as exc:
        with node.transaction() as session:
            raise_alert(
                session,
                node,
                kind="receipt_mismatch",
                severity="critical",
                link=str(exc.details.get("link", "")),
                seq=exc.details.get("seq"),
                message=f"{peer_party}'s validly signed receipt does not match our log: {exc.message}",
            )
        raise


def accept_receipt(
    session: Session, node: Node, peer_party: str, receipt: Any, sent_up_to: int | None = None
) -> int:
    """Verify and store a peer's receipt for one of our outbound chains; return the seq it acknowledges.

    The receipt's ``link`` names the chain: the link to the peer or one of its precedence lanes.
    ``sent_up_to`` is the last seq of the batch the receipt answers (the pusher passes it), so the envelopes
    it sent are marked sent in the same transaction. A validly signed receipt that names a seq we never
    wrote or a hash we never signed raises :class:`ReceiptMismatch` (use :func:`receive_receipt` to have
    it alerted).
    """
    try:
        receipt = protocol.check_receipt_shape(receipt)
        protocol.verify_receipt(receipt, peer_keys(session, peer_party))
    except protocol.ProtocolError as exc:
        raise ExchangeRefusal.at(ErrorCode(exc.code), f"receipt: {exc.message}") from exc
    link = receipt["link"]
    sender, receiver, lane = split_lane_link(link)
    if sender != node.party or receiver != peer_party or receipt["by"] != peer_party:
        raise ExchangeRefusal.at(
            ErrorCode.BAD_LINK,
            f"receipt is for {link} by {receipt['by']}, expected {link_id(node.party, peer_party)} "
            f"(or one of its lanes) by {peer_party}",
        )
    head = session.scalar(select(LinkHead).where(LinkHead.link == link).with_for_update())
    seq = receipt["seq"]
    if head is None:
        if seq == 0:
            return 0  # a lane we have not opened: nothing to acknowledge
        raise ReceiptMismatch(
            f"receipt acknowledges seq {seq} on {link}, a chain we never wrote",
            code=ErrorCode.BAD_RECEIPT,
            details={"seq": seq, "link": link},
        )
    if seq > head.seq:
        raise ReceiptMismatch(
            f"receipt acknowledges seq {seq} on {link} but we only wrote {head.seq}",
            code=ErrorCode.BAD_RECEIPT,
            details={"seq": seq, "link": link},
        )
    if seq > 0:
        ours = session.get(OutboundEnvelope, (link, seq))
        if ours is None or ours.hash != receipt["hash"]:
            raise ReceiptMismatch(
                f"receipt for {link} seq {seq} names hash {receipt['hash']}, not our envelope's",
                code=ErrorCode.BAD_RECEIPT,
                details={"seq": seq, "link": link},
            )
    now = node.clock.now()
    if seq > head.receipted_seq:
        session.execute(  # one rewrite of each newly receipted row
            update(OutboundEnvelope)
            .where(
                OutboundEnvelope.link == link,
                OutboundEnvelope.seq > head.receipted_seq,
                OutboundEnvelope.seq <= seq,
            )
            .values(receipted_at=now, sent_at=func.coalesce(OutboundEnvelope.sent_at, now))
        )
        _notify_receipted(session, node, peer_party, link, head.receipted_seq, seq)
        head.receipted_seq, head.receipted_hash, head.receipted_at = seq, receipt["hash"], now
        head.sent_seq = max(head.sent_seq, seq)
        session.add(
            Receipt(
                link=link,
                seq=seq,
                hash=receipt["hash"],
                body=protocol.canonical_json(receipt).decode(),
                direction="received",
                at=now,
            )
        )
    if sent_up_to is not None and sent_up_to > seq:
        mark_sent(session, node, peer_party, min(sent_up_to, head.seq), lane)
    peer = session.get(Peer, peer_party)
    if peer is not None:
        peer.last_contact_at = now
    return int(seq)


def _notify_receipted(session: Session, node: Node, party: str, link: str, after: int, up_to: int) -> None:
    """Tell the kinds that asked which of their records a receipt has just covered."""
    hooks = kinds_with_receipt_hooks()
    if not hooks:
        return
    rows = session.execute(
        select(
            OutboundEnvelope.record_kind,
            OutboundEnvelope.record_id,
            OutboundEnvelope.record_version,
            OutboundEnvelope.op,
            OutboundEnvelope.seq,
        )
        .where(
            OutboundEnvelope.link == link,
            OutboundEnvelope.seq > after,
            OutboundEnvelope.seq <= up_to,
            OutboundEnvelope.record_kind.in_(list(hooks)),
        )
        .order_by(OutboundEnvelope.seq)
    ).all()
    grouped: dict[str, list[ReceiptedRecord]] = {}
    for kind, record_id, version, op, seq in rows:
        grouped.setdefault(kind, []).append(
            ReceiptedRecord(kind=kind, record_id=record_id, version=version, op=op, link=link, seq=seq)
        )
    for kind, records in grouped.items():
        try:
            with session.begin_nested():
                hooks[kind](session, node, party, records)
        except Exception as exc:  # a kind's bug must not block the receipt (and with it the whole link)
            log.exception("receipt hook of kind %s failed", kind)
            raise_alert(
                session,
                node,
                kind="receipt_hook",
                severity="warning",
                link=link,
                seq=records[-1].seq,
                message=f"{kind}: what happens when {party} receipts a record failed "
                f"({type(exc).__name__}: {exc}); the receipt itself is stored",
            )
