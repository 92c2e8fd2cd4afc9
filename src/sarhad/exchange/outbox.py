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
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sarhad.core.database import insert_rows, table_of
from sarhad.core.errors import ErrorCode, InvalidInput, NotFound, PayloadTooLarge
from sarhad.core.node import Node, after_commit
from sarhad.core.notify import OUTBOX_CHANNEL, notify, sender_of
from sarhad.exchange import protocol
from sarhad.exchange.domain import BASE_LANE, LANES, LANES_VERSION, DeliveryWake, Lane, link_id, parse_lane
from sarhad.exchange.identity import signing_identity
from sarhad.exchange.keys import Identity
from sarhad.exchange.models import LinkHead, OutboundEnvelope, OwnKey, Peer
from sarhad.exchange.registry import get_kind


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
    lanes: Sequence[str | None] = (),
) -> list[Enqueued]:
    """Sign each record into the next envelope of its lane's chain to ``to_party``, in the caller's transaction.

    Each record goes to the lane its kind declares (``lanes`` may name another one per record, e.g. bulk for
    an import), or to the link's one chain if the peer does not speak lanes. The records of one lane take
    consecutive seqs in the order given, under one lock of that chain's head, and are written with one
    statement; the lanes' heads are always locked in the same order (highest first), so two releases never
    deadlock. A record too large for the link is refused before any of them takes a seq, so one oversized
    record can never jam the link. ``content_json``, if given, holds the canonical bytes of each record's
    content (or None), which the caller had already made for its hash. Returns where each record went, in
    the order given.
    """
    if not records:
        return []
    contents = content_json or [None] * len(records)
    wanted = lanes or [None] * len(records)
    use_lanes = lanes_on(session, node, to_party)
    by_lane: dict[Lane, list[int]] = {}
    for index, (record, lane) in enumerate(zip(records, wanted, strict=True)):
        chosen = BASE_LANE
        if use_lanes:
            earlier = _earlier_lane(session, node, to_party, record)
            chosen = earlier if earlier is not None else record_lane(record, lane)
        by_lane.setdefault(chosen, []).append(index)
    me = signing_identity(session, node)
    now = node.clock.now()
    written: list[Enqueued | None] = [None] * len(records)
    fresh: list[tuple[str, int, str]] = []
    for lane in LANES:
        if lane not in by_lane:
            continue
        indices = by_lane[lane]
        head = _lock_head(session, node, to_party, lane, me.fingerprint)
        rows = _seal(node, me, head, [records[i] for i in indices], [contents[i] for i in indices], now)
        insert_rows(session, table_of(OutboundEnvelope), rows)
        head.seq, head.hash, head.updated_at = rows[-1]["seq"], rows[-1]["hash"], now
        for index, row in zip(indices, rows, strict=True):
            written[index] = Enqueued(link=head.link, seq=row["seq"], hash=row["hash"])
            fresh.append((head.link, row["seq"], row["body"]))
    wake = node.components.get(DeliveryWake)
    if wake is not None:  # after the commit, hand the envelopes to this process's delivery worker
        after_commit(session, functools.partial(wake.wake, to_party, fresh))
    notify(session, OUTBOX_CHANNEL, f"{sender_of(session.get_bind())} {to_party}")  # and the other processes'
    return [w for w in written if w is not None]


def enqueue_record(session: Session, node: Node, to_party: str, record: dict[str, Any]) -> Enqueued:
    """One record into the next envelope of its lane's chain to ``to_party`` (see :func:`enqueue_records`)."""
    return enqueue_records(session, node, to_party, [record])[0]


def enqueue_on_every_chain(
    session: Session, node: Node, to_party: str, record: dict[str, Any]
) -> list[Enqueued]:
    """A control record (a key rotation) on every chain of the link to ``to_party`` that has been opened:
    each chain verifies its own envelopes, so each must carry the announcement at its own place."""
    me = signing_identity(session, node)
    now = node.clock.now()
    links = set(
        session.scalars(select(LinkHead.link).where(LinkHead.peer == to_party, LinkHead.direction == "out"))
    )
    written: list[Enqueued] = []
    fresh: list[tuple[str, int, str]] = []
    for lane in LANES:
        if link_id(node.party, to_party, lane) not in links and lane != BASE_LANE:
            continue
        head = _lock_head(session, node, to_party, lane, me.fingerprint)
        rows = _seal(node, me, head, [record], [None], now)
        insert_rows(session, table_of(OutboundEnvelope), rows)
        head.seq, head.hash, head.updated_at = rows[-1]["seq"], rows[-1]["hash"], now
        written.append(Enqueued(link=head.link, seq=rows[0]["seq"], hash=rows[0]["hash"]))
        fresh.append((head.link, rows[0]["seq"], rows[0]["body"]))
    wake = node.components.get(DeliveryWake)
    if wake is not None:
        after_commit(session, functools.partial(wake.wake, to_party, fresh))
    notify(session, OUTBOX_CHANNEL, f"{sender_of(session.get_bind())} {to_party}")
    return written


def lanes_on(session: Session, node: Node, party: str) -> bool:
    """Whether records to ``party`` go onto lane chains: this node has lanes on and the peer said it has."""
    if not node.settings.exchange_lanes:
        return False
    peer = session.get(Peer, party)
    return peer is not None and peer.lanes >= LANES_VERSION


def record_lane(record: dict[str, Any], wanted: str | None = None) -> Lane:
    """The lane a record travels in: the one asked for, else the one its kind declares (default routine)."""
    if wanted is None:
        kind = get_kind(str(record.get("kind", "")))
        declared = kind.lane if kind is not None else BASE_LANE
        wanted = declared(record) if callable(declared) else declared
    try:
        return parse_lane(wanted)
    except ValueError:
        return BASE_LANE


def _earlier_lane(session: Session, node: Node, to_party: str, record: dict[str, Any]) -> Lane | None:
    """A record keeps its lane: a later version or the withdrawal goes in the chain its earlier versions
    went in, so it can never overtake them (None: the record's first envelope to this party)."""
    if record.get("version", 1) == 1 and record.get("op") != "withdraw":
        return None
    prefix = link_id(node.party, to_party)
    link = session.scalar(
        select(OutboundEnvelope.link)
        .where(
            OutboundEnvelope.record_id == record["id"],
            OutboundEnvelope.record_kind == record["kind"],
            OutboundEnvelope.link.in_([link_id(node.party, to_party, lane) for lane in LANES]),
        )
        .order_by(OutboundEnvelope.created_at.desc())
        .limit(1)
    )
    if link is None:
        return None
    return BASE_LANE if link == prefix else parse_lane(link.partition(":")[2])


def _lock_head(session: Session, node: Node, to_party: str, lane: Lane, fingerprint: str) -> LinkHead:
    """The head of the chain of ``lane`` to ``to_party``, locked; a lane's chain is opened on first use."""
    link = link_id(node.party, to_party, lane)
    head = session.scalar(select(LinkHead).where(LinkHead.link == link).with_for_update())
    if head is not None:
        return head
    base = session.get(LinkHead, link_id(node.party, to_party))
    if base is None or lane == BASE_LANE:
        raise NotFound(
            f"no link to {to_party}; pair with it first (sarhad peer add)", code=ErrorCode.UNKNOWN_PEER
        )
    head = LinkHead.opened(link, "out", to_party, node.clock.now())
    session.add(head)
    own = session.get(OwnKey, fingerprint)
    if own is not None:  # the ledger declares the key that signs the new chain's seq 1
        own.valid_from_seq = {**own.valid_from_seq, link: 1}
    session.flush()
    locked = session.scalar(select(LinkHead).where(LinkHead.link == link).with_for_update())
    assert locked is not None
    return locked


def _seal(
    node: Node,
    me: Identity,
    head: LinkHead,
    records: Sequence[dict[str, Any]],
    contents: Sequence[bytes | None],
    now: datetime,
) -> list[dict[str, Any]]:
    """The outbox rows of ``records``, signed as the next envelopes of ``head``'s chain."""
    limit = node.settings.exchange_batch_max_bytes
    seq, prev = head.seq, head.hash
    rows: list[dict[str, Any]] = []
    for record, content in zip(records, contents, strict=True):
        try:
            digest, raw = protocol.seal_envelope(
                me.private_key, me.fingerprint, head.link, seq + 1, prev, now, record, content
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
                "link": head.link,
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
    return rows


SEQ_COLUMN_MAX: Final = 2**31 - 1  # the largest value the seq columns hold on every database


def outbound_batch(
    session: Session,
    node: Node,
    peer_party: str,
    after: int,
    max_count: int | None = None,
    lane: Lane = BASE_LANE,
) -> list[str]:
    """Bodies of the envelopes after ``after`` on our chain of ``lane`` to the peer, capped by count and bytes."""
    link = link_id(node.party, peer_party, lane)
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


def mark_sent(session: Session, node: Node, peer_party: str, up_to: int, lane: Lane = BASE_LANE) -> None:
    """Record that the envelopes up to ``up_to`` of a chain went out (every one up to ``sent_seq`` already is)."""
    link = link_id(node.party, peer_party, lane)
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
