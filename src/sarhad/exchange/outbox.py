"""The outbox: every envelope that leaves this node is signed into it, and read from it to be sent.

Everything that leaves this node leaves through :func:`enqueue_records`, which is only reached from a release
(``release``: a first release, a later version, a withdrawal) or a protocol control record (``rotation``: key
rotation). Envelopes are written in the caller's transaction (transactional outbox): a release is never lost
and never sent without its change.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sarhad.core.database import insert_rows, table_of
from sarhad.core.errors import ErrorCode, InvalidInput, NotFound, PayloadTooLarge
from sarhad.core.node import Node, after_commit
from sarhad.exchange import protocol
from sarhad.exchange.domain import DeliveryWake, link_id
from sarhad.exchange.identity import signing_identity
from sarhad.exchange.models import LinkHead, OutboundEnvelope


@dataclass(frozen=True)
class Enqueued:
    """Where a record went: its envelope's link, seq and hash."""

    link: str
    seq: int
    hash: str


def enqueue_records(
    session: Session,
    node: Node,
    to_party: str,
    records: Sequence[dict[str, Any]],
    content_json: Sequence[bytes | None] = (),
) -> list[Enqueued]:
    """Sign each record into the next envelope of the link to ``to_party``, in the caller's transaction.

    The records take consecutive seqs in the order given, under one lock of the link head, and their
    envelopes are written with one statement. A record too large for the link is refused before any of
    them takes a seq, so one oversized record can never jam the link. ``content_json``, if given, holds the
    canonical bytes of each record's content (or None), which the caller had already made for its hash.
    """
    if not records:
        return []
    link = link_id(node.party, to_party)
    head = session.scalar(select(LinkHead).where(LinkHead.link == link).with_for_update())
    if head is None:
        raise NotFound(
            f"no link to {to_party}; pair with it first (sarhad peer add)", code=ErrorCode.UNKNOWN_PEER
        )
    me = signing_identity(session, node)
    now = node.clock.now()
    limit = node.settings.exchange_batch_max_bytes
    seq, prev = head.seq, head.hash
    rows: list[dict[str, Any]] = []
    written: list[Enqueued] = []
    contents = content_json or [None] * len(records)
    for record, content in zip(records, contents, strict=True):
        try:
            digest, raw = protocol.seal_envelope(
                me.private_key, me.fingerprint, link, seq + 1, prev, now, record, content
            )
        except protocol.ProtocolError as exc:  # outside the JSON domain receivers accept (too_deep, …)
            raise InvalidInput(
                f"this record cannot be sent: {exc.message}", code=ErrorCode(exc.code)
            ) from exc
        body = raw.decode()
        if len(body) > limit:
            raise PayloadTooLarge(
                f"this record is {len(body)} bytes as an envelope; the exchange carries at most "
                f"{limit} bytes per record",
                code=ErrorCode.RECORD_TOO_LARGE,
            )
        seq, prev = seq + 1, digest
        rows.append(
            {
                "link": link,
                "seq": seq,
                "hash": prev,
                "body": body,
                "size": len(body),
                "record_kind": record["kind"],
                "record_id": record["id"],
                "record_version": record["version"],
                "op": record["op"],
                "created_at": now,
                "sent_at": None,
                "receipted_at": None,
            }
        )
        written.append(Enqueued(link=link, seq=seq, hash=prev))
    insert_rows(session, table_of(OutboundEnvelope), rows)
    head.seq, head.hash, head.updated_at = seq, prev, now
    wake = node.components.get(DeliveryWake)
    if wake is not None:  # after the commit, hand the envelopes to this process's delivery worker
        after_commit(session, functools.partial(wake.wake, to_party, [(r["seq"], r["body"]) for r in rows]))
    return written


def enqueue_record(session: Session, node: Node, to_party: str, record: dict[str, Any]) -> Enqueued:
    """One record into the next envelope of the link to ``to_party`` (see :func:`enqueue_records`)."""
    return enqueue_records(session, node, to_party, [record])[0]


SEQ_COLUMN_MAX: Final = 2**31 - 1  # the largest value the seq columns hold on every database


def outbound_batch(
    session: Session, node: Node, peer_party: str, after: int, max_count: int | None = None
) -> list[str]:
    """Bodies of the envelopes after ``after`` on our link to the peer, capped by count and bytes."""
    link = link_id(node.party, peer_party)
    # The seq columns are 32-bit on PostgreSQL (INTEGER), where a larger bound overflows the comparison; no
    # stored seq can exceed it, so a cursor beyond it means "nothing after" (the API allows up to 2^53 - 1).
    after = min(after, SEQ_COLUMN_MAX)
    max_count = min(
        max_count or node.settings.exchange_batch_max_envelopes, node.settings.exchange_batch_max_envelopes
    )
    max_bytes = node.settings.exchange_batch_max_bytes
    rows = session.execute(
        select(OutboundEnvelope.body, OutboundEnvelope.size)
        .where(OutboundEnvelope.link == link, OutboundEnvelope.seq > after)
        .order_by(OutboundEnvelope.seq)
        .limit(max_count)
    ).all()
    bodies: list[str] = []
    total = 0
    for body, size in rows:
        if bodies and total + size > max_bytes:
            break
        bodies.append(body)
        total += size
    return bodies


def mark_sent(session: Session, node: Node, peer_party: str, up_to: int) -> None:
    """Record that the envelopes up to ``up_to`` went out (every one up to ``sent_seq`` already is)."""
    link = link_id(node.party, peer_party)
    head = session.get(LinkHead, link)
    if head is None or up_to <= head.sent_seq:
        return
    session.execute(
        update(OutboundEnvelope)
        .where(
            OutboundEnvelope.link == link,
            OutboundEnvelope.seq > head.sent_seq,
            OutboundEnvelope.seq <= up_to,
            OutboundEnvelope.sent_at.is_(None),
        )
        .values(sent_at=node.clock.now())
    )
    head.sent_seq = up_to
