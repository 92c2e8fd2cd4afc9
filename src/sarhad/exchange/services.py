"""The one write path of the exchange: peers, releases, the outbox, receiving batches, receipts.

Everything that leaves this node leaves through ``enqueue_records``, which is only reached from a release
(``release_record``), a later version of a released record (``publish_version``), a withdrawal, or a
protocol control record (key rotation). Envelopes are written in the caller's transaction (transactional
outbox): a release is never lost and never sent without its change.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from sarhad.audit.services import AuditEvent, record_event, record_events
from sarhad.core.database import insert_rows, table_of
from sarhad.core.errors import (
    Conflict,
    ErrorCode,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    SarhadError,
)
from sarhad.core.node import Node, after_commit
from sarhad.exchange import protocol, verifiers
from sarhad.exchange.domain import (
    KEY_ROTATION_KIND,
    DeliveryWake,
    Handling,
    Op,
    RecordShapeError,
    Tlp,
    check_record,
    link_id,
    split_link,
)
from sarhad.exchange.keys import Identity, IdentityStore
from sarhad.exchange.models import (
    Alert,
    Evidence,
    InboundEnvelope,
    LinkHead,
    OutboundEnvelope,
    OwnKey,
    Peer,
    PeerKey,
    Receipt,
    ReceivedRecord,
    Release,
)
from sarhad.exchange.registry import (
    IncomingRecord,
    ReceiptedRecord,
    RecordKind,
    get_kind,
    kinds_with_receipt_hooks,
)

log = logging.getLogger("sarhad.exchange")
GENESIS = "0" * 64


class ExchangeRefusal(SarhadError):
    """A peer's request that the protocol refuses; ``code`` is the protocol error code."""

    status_code = 400


class ExchangeForbidden(ExchangeRefusal):
    status_code = 403


class ExchangeNotFound(ExchangeRefusal):
    status_code = 404


class ExchangeConflict(ExchangeRefusal):
    status_code = 409


class ExchangeTooLarge(ExchangeRefusal):
    status_code = 413


_REFUSAL_BY_STATUS: dict[int, type[ExchangeRefusal]] = {
    400: ExchangeRefusal,
    403: ExchangeForbidden,
    404: ExchangeNotFound,
    409: ExchangeConflict,
    413: ExchangeTooLarge,
}


def identity(node: Node) -> Identity:
    store = node.components.get(IdentityStore)
    if store is None:
        complete_rotation(node)  # once per process: finish or discard a rotation a crash interrupted
        store = node.components.put(IdentityStore(node.settings))
    return store.current()


def pending_key_path(node: Node) -> Path:
    return node.settings.key_path.with_name(node.settings.key_path.name + ".next")


def complete_rotation(node: Node) -> None:
    """Switch to a pending rotated key if its announcement committed, else discard it."""

    pending = pending_key_path(node)
    if not pending.exists():
        return
    new_fp = protocol.fingerprint(protocol.private_key_from_pem(pending.read_bytes()).public_key())
    with node.sessions() as session:
        committed = session.get(OwnKey, new_fp) is not None
    if committed:
        os.replace(pending, node.settings.key_path)
    else:
        pending.unlink()


def ensure_own_key_recorded(session: Session, node: Node) -> Identity:
    me = identity(node)
    if session.get(OwnKey, me.fingerprint) is None:
        session.add(
            OwnKey(
                fingerprint=me.fingerprint,
                public_key=me.public_key_b64,
                created_at=node.clock.now(),
                retired_at=None,
                valid_from_seq={},
            )
        )
    return me


# --- peers ----------------------------------------------------------------------------------------------


def add_peer(
    session: Session,
    node: Node,
    *,
    party: str,
    url: str,
    public_key_b64: str,
    fingerprint: str | None = None,
    name: str = "",
    push: bool = True,
    pull: bool = False,
    actor: str = "system",
) -> Peer:
    """Pair with a peer: pin its key (checked against the out-of-band fingerprint) and open both links."""
    if party == node.party:
        raise InvalidInput("a node cannot be its own peer")
    if not party.isalpha() or len(party) != 2 or not party.isupper():
        raise InvalidInput(f"{party!r} is not an ISO 3166-1 alpha-2 party code")
    if not url.startswith(("http://", "https://")):
        raise InvalidInput("peer URL must start with http:// or https://")
    try:
        key = protocol.public_key_from_b64(public_key_b64)
    except protocol.ProtocolError as exc:
        raise InvalidInput(f"peer key: {exc.message}") from exc
    actual = protocol.fingerprint(key)
    if fingerprint and fingerprint.replace("-", "").replace(":", "").lower() not in (actual, actual[:16]):
        raise InvalidInput(
            f"the key's fingerprint is {actual}, not {fingerprint}; check it with the peer out of band"
        )
    if session.get(Peer, party) is not None:
        raise Conflict(f"peer {party} is already configured; remove it first to re-pair", code=ErrorCode.PEER_EXISTS)
    now = node.clock.now()
    session.add(
        Peer(
            party=party,
            name=name or party,
            url=url.rstrip("/"),
            push=push,
            pull=pull,
            added_at=now,
            last_error="",
            failures=0,
        )
    )
    existing = session.get(PeerKey, actual)
    if existing is None:
        session.add(
            PeerKey(
                fingerprint=actual,
                party=party,
                public_key=public_key_b64,
                valid_from_seq=1,
                valid_until_seq=None,
                source="pinned",
                added_at=now,
            )
        )
    for link, direction in ((link_id(node.party, party), "out"), (link_id(party, node.party), "in")):
        if session.get(LinkHead, link) is None:
            session.add(
                LinkHead(
                    link=link,
                    direction=direction,
                    peer=party,
                    seq=0,
                    hash=GENESIS,
                    receipted_seq=0,
                    receipted_hash=GENESIS,
                    sent_seq=0,
                    updated_at=now,
                )
            )
    ensure_own_key_recorded(session, node)
    record_event(
        session,
        node.clock,
        actor=actor,
        action="exchange.peer.add",
        record_kind="peer",
        record_id=party,
        details={"url": url, "fingerprint": actual},
    )
    return session.get(Peer, party) or Peer()


def remove_peer(session: Session, node: Node, party: str, actor: str = "system") -> None:
    """Stop exchanging with a peer. Its links, keys and ledger stay for the record."""
    peer = session.get(Peer, party)
    if peer is None:
        raise NotFound(f"no peer {party}")
    session.delete(peer)
    record_event(
        session, node.clock, actor=actor, action="exchange.peer.remove", record_kind="peer", record_id=party
    )


def configured_peers(session: Session) -> Sequence[Peer]:
    """The parties this node is paired with, in order: the ones it can release to."""
    return session.scalars(select(Peer).order_by(Peer.party)).all()


def peer_parties(session: Session) -> set[str]:
    return set(session.scalars(select(Peer.party)).all())


def get_peer(session: Session, party: str) -> Peer:
    peer = session.get(Peer, party)
    if peer is None:
        raise NotFound(f"no peer {party} is configured", code=ErrorCode.UNKNOWN_PEER)
    return peer


def peer_keys(session: Session, party: str) -> dict[str, Ed25519PublicKey]:
    rows = session.scalars(select(PeerKey).where(PeerKey.party == party)).all()
    return {row.fingerprint: protocol.public_key_from_b64(row.public_key) for row in rows}


class _PeerKeyRing:
    """A peer's keys with the seqs each may sign, loaded once per batch (and again after a rotation)."""

    def __init__(self, session: Session, party: str) -> None:
        self.session, self.party = session, party
        self.reload()

    def reload(self) -> None:
        rows = self.session.scalars(select(PeerKey).where(PeerKey.party == self.party)).all()
        self.windows: list[protocol.KeyWindow] = [
            (row.fingerprint, row.public_key, row.valid_from_seq, row.valid_until_seq) for row in rows
        ]


_turnstiles_lock = threading.Lock()


@dataclass(frozen=True)
class LinkStatus:
    peer: str
    url: str
    link_out: str
    last_seq: int
    sent_seq: int
    receipted_seq: int
    receipted_at: datetime | None
    backlog: int
    oldest_unreceipted_at: datetime | None
    link_in: str
    received_seq: int
    last_contact_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    next_attempt_at: datetime | None


def peer_status(session: Session, node: Node) -> list[LinkStatus]:
    out: list[LinkStatus] = []
    for peer in session.scalars(select(Peer).order_by(Peer.party)).all():
        head_out = session.get(LinkHead, link_id(node.party, peer.party))
        head_in = session.get(LinkHead, link_id(peer.party, node.party))
        assert head_out is not None and head_in is not None
        oldest = session.scalar(
            select(func.min(OutboundEnvelope.created_at)).where(
                OutboundEnvelope.link == head_out.link, OutboundEnvelope.seq > head_out.receipted_seq
            )
        )
        out.append(
            LinkStatus(
                peer=peer.party,
                url=peer.url,
                link_out=head_out.link,
                last_seq=head_out.seq,
                sent_seq=head_out.sent_seq,
                receipted_seq=head_out.receipted_seq,
                receipted_at=head_out.receipted_at,
                backlog=head_out.seq - head_out.receipted_seq,
                oldest_unreceipted_at=oldest,
                link_in=head_in.link,
                received_seq=head_in.seq,
                last_contact_at=peer.last_contact_at,
                # An error is news only until the next successful contact.
                last_error=peer.last_error if _newer(peer.last_error_at, peer.last_contact_at) else "",
                last_error_at=peer.last_error_at,
                next_attempt_at=peer.next_attempt_at,
            )
        )
    return out


def _newer(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and (b is None or a > b)


# --- releasing ------------------------------------------------------------------------------------------


def content_hash(content: dict[str, Any]) -> str:
    return protocol.sha256_hex(protocol.canonical_json(content))


def canonical_content(content: dict[str, Any]) -> tuple[bytes, str]:
    """A record's content as canonical JSON bytes, and their SHA-256: the bytes a service can store (a JSON
    column given them as text), hash and hand to the release (``ReleaseItem.content_json``), made once."""
    canonical = protocol.canonical_json(content)
    return canonical, protocol.sha256_hex(canonical)


def _record(
    node: Node,
    *,
    kind: str,
    record_id: str,
    version: int,
    op: Op,
    handling: str,
    tlp: str,
    content: dict[str, Any],
    origin: str | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "origin": origin or node.party,
        "id": record_id,
        "version": version,
        "op": op.value,
        "handling": handling,
        "tlp": tlp,
        "content": content,
        "content_hash": content_hash(content),
    }


@dataclass(frozen=True)
class Enqueued:
    """Where a record went: its envelope's link, seq and hash."""

    link: str
    seq: int
    hash: str


def _signing_identity(session: Session, node: Node) -> Identity:
    me = identity(node)
    current = session.scalar(select(OwnKey.fingerprint).where(OwnKey.retired_at.is_(None)))
    if current is not None and current != me.fingerprint:
        # A rotation committed (we hold the link lock it took) but this process still has the old key:
        # sign with the announced key, never the retired one, or the peer would refuse the envelope.
        complete_rotation(node)
        me = identity(node)
        if me.fingerprint != current:
            raise RuntimeError(f"signing key {current[:16]} was announced but its key file is missing")
    return me


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
        raise NotFound(f"no link to {to_party}; pair with it first (sarhad peer add)", code=ErrorCode.UNKNOWN_PEER)
    me = _signing_identity(session, node)
    now = node.clock.now()
    limit = node.settings.exchange_batch_max_bytes
    seq, prev = head.seq, head.hash
    rows: list[dict[str, Any]] = []
    written: list[Enqueued] = []
    contents = content_json or [None] * len(records)
    for record, content in zip(records, contents, strict=True):
        digest, raw = protocol.seal_envelope(
            me.private_key, me.fingerprint, link, seq + 1, prev, now, record, content
        )
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


@dataclass(frozen=True)
class ReleaseItem:
    """One record version to release: what ``release_record`` takes, for :func:`release_records`."""

    kind: str
    record_id: str
    version: int
    content: dict[str, Any]
    to: Sequence[str]
    handling: str = Handling.NO_ONWARD.value
    tlp: str = Tlp.AMBER.value
    origin: str | None = None  # default: this node; a relayed record names its originator
    content_json: bytes | None = None  # the content's canonical bytes, if the caller already made them


_CHUNK = 500  # ids per IN (...) query


def _chunks(values: Sequence[str]) -> list[Sequence[str]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def release_records(
    session: Session,
    node: Node,
    items: Sequence[ReleaseItem],
    *,
    actor: str,
    client_ip: str = "",
) -> int:
    """Release many record versions at once; the same checks, rows, envelopes and audit as one by one.

    Every item is checked before anything is written, so one bad item refuses the whole call. The
    releases, the envelopes (per link, in the order given) and the audit entries are each written with one
    statement. Returns the number of envelopes written.
    """
    if not items:
        return 0
    handlings = {h.value for h in Handling}
    labels = {t.value for t in Tlp}
    peers = peer_parties(session)
    planned: list[tuple[ReleaseItem, str, list[str]]] = []
    keys: set[tuple[str, str, str, str]] = set()
    for item in items:
        if get_kind(item.kind) is None:
            raise InvalidInput(f"record kind {item.kind!r} is not registered")
        if item.handling not in handlings:
            raise InvalidInput(f"handling must be one of {', '.join(sorted(handlings))}")
        if item.tlp not in labels:
            raise InvalidInput(f"tlp must be one of {', '.join(t.value for t in Tlp)}")
        targets = sorted(set(item.to))
        if not targets:
            raise InvalidInput("name at least one party to release to")
        origin = item.origin or node.party
        if origin != node.party:
            _check_onward(session, origin, item.kind, item.record_id, targets)
        for party in targets:
            if party == node.party:
                raise InvalidInput("a record is not released to its own party")
            if party not in peers:
                raise NotFound(f"no peer {party} is configured", code=ErrorCode.UNKNOWN_PEER)
            key = (origin, item.kind, item.record_id, party)
            if key in keys:
                raise Conflict(
                    f"{item.kind} {item.record_id} is named twice for {party} in one release",
                    code=ErrorCode.ALREADY_RELEASED,
                )
            keys.add(key)
        planned.append((item, origin, targets))
    ended: list[int] = []
    record_ids = sorted({key[2] for key in keys})
    for chunk in _chunks(record_ids):
        for rel_id, origin, kind, record_id, party, withdrawn in session.execute(
            select(
                Release.id,
                Release.origin,
                Release.record_kind,
                Release.record_id,
                Release.to_party,
                Release.withdrawn_at,
            ).where(Release.record_id.in_(chunk))
        ):
            if (origin, kind, record_id, party) not in keys:
                continue
            if withdrawn is None:
                raise Conflict(f"{kind} {record_id} is already released to {party}", code=ErrorCode.ALREADY_RELEASED)
            ended.append(rel_id)  # withdrawn earlier: this release takes its place
    if ended:
        session.execute(delete(Release).where(Release.id.in_(ended)))
    now = node.clock.now()
    release_rows: list[dict[str, Any]] = []
    per_party: dict[str, list[dict[str, Any]]] = {}
    per_party_json: dict[str, list[bytes | None]] = {}
    for item, origin, targets in planned:
        canonical = item.content_json or protocol.canonical_json(item.content)
        digest = protocol.sha256_hex(canonical)
        for party in targets:
            release_rows.append(
                {
                    "record_kind": item.kind,
                    "record_id": item.record_id,
                    "origin": origin,
                    "to_party": party,
                    "handling": item.handling,
                    "tlp": item.tlp,
                    "released_by": actor,
                    "released_at": now,
                    "first_version": item.version,
                    "withdrawn_at": None,
                }
            )
            per_party.setdefault(party, []).append(
                {
                    "kind": item.kind,
                    "origin": origin,
                    "id": item.record_id,
                    "version": item.version,
                    "op": Op.UPSERT.value,
                    "handling": item.handling,
                    "tlp": item.tlp,
                    "content": item.content,
                    "content_hash": digest,
                }
            )
            per_party_json.setdefault(party, []).append(canonical)
    insert_rows(session, table_of(Release), release_rows)
    events: list[AuditEvent] = []
    for party in sorted(per_party):  # link heads always locked in the same order: no deadlock
        records = per_party[party]
        enqueued = enqueue_records(session, node, party, records, per_party_json[party])
        for record, envelope in zip(records, enqueued, strict=True):
            events.append(
                AuditEvent(
                    actor=actor,
                    action="exchange.release",
                    record_kind=record["kind"],
                    record_id=record["id"],
                    client_ip=client_ip,
                    details={
                        "to": party,
                        "version": record["version"],
                        "content_hash": record["content_hash"],
                        "envelope": f"{envelope.link}#{envelope.seq}",
                        "handling": record["handling"],
                        "tlp": record["tlp"],
                    },
                )
            )
    record_events(session, node.clock, events)
    return len(events)


def release_record(
    session: Session,
    node: Node,
    *,
    kind: str,
    record_id: str,
    version: int,
    content: dict[str, Any],
    to: Sequence[str],
    handling: str = Handling.NO_ONWARD.value,
    tlp: str = Tlp.AMBER.value,
    actor: str,
    client_ip: str = "",
    origin: str | None = None,
) -> list[Release]:
    """The originator's decision that this record (this version and all later ones) goes to ``to``."""
    item = ReleaseItem(
        kind=kind,
        record_id=record_id,
        version=version,
        content=content,
        to=to,
        handling=handling,
        tlp=tlp,
        origin=origin,
    )
    release_records(session, node, [item], actor=actor, client_ip=client_ip)
    return list(
        session.scalars(
            select(Release)
            .where(
                Release.origin == (origin or node.party),
                Release.record_kind == kind,
                Release.record_id == record_id,
                Release.to_party.in_(sorted(set(to))),
            )
            .order_by(Release.to_party)
        ).all()
    )


def _check_onward(session: Session, origin: str, kind: str, record_id: str, targets: list[str]) -> None:
    received = session.get(ReceivedRecord, (origin, kind, record_id))
    if received is None:
        raise NotFound(f"no record {kind} {record_id} from {origin} is held here")
    if origin in targets:
        raise InvalidInput(f"the record came from {origin}; it is not released back to its originator")
    if received.handling != Handling.ONWARD_ALLOWED.value:
        raise PermissionDenied(
            f"{kind} {record_id} was received from {origin} with handling 'no onward release'; it cannot be "
            f"released to {', '.join(targets)}. Ask {origin}, its originator, to release it to them.",
            code=ErrorCode.NO_ONWARD_RELEASE,
        )


def active_releases(
    session: Session, kind: str, record_id: str, origin: str | None = None
) -> Sequence[Release]:
    """The releases in force for a record; ``origin`` defaults to any (own records: pass ``node.party``)."""
    query = select(Release).where(
        Release.record_kind == kind, Release.record_id == record_id, Release.withdrawn_at.is_(None)
    )
    if origin is not None:
        query = query.where(Release.origin == origin)
    return session.scalars(query).all()


def publish_version(
    session: Session,
    node: Node,
    *,
    kind: str,
    record_id: str,
    version: int,
    content: dict[str, Any],
    actor: str,
    origin: str | None = None,
) -> int:
    """A new version of a record: it follows every active release automatically. Returns envelopes written.

    ``origin`` is the record's originator (default: this node; a relayed record passes its origin).
    """
    count = 0
    for rel in active_releases(session, kind, record_id, origin or node.party):
        record = _record(
            node,
            kind=kind,
            record_id=record_id,
            version=version,
            op=Op.UPSERT,
            handling=rel.handling,
            tlp=rel.tlp,
            content=content,
            origin=rel.origin,
        )
        enqueue_record(session, node, rel.to_party, record)
        record_event(
            session,
            node.clock,
            actor=actor,
            action="exchange.release.version",
            record_kind=kind,
            record_id=record_id,
            details={"to": rel.to_party, "version": version, "content_hash": record["content_hash"]},
        )
        count += 1
    return count


def withdraw_record(
    session: Session,
    node: Node,
    *,
    kind: str,
    record_id: str,
    version: int,
    actor: str,
    reason: str = "",
    origin: str | None = None,
) -> int:
    """Send a signed tombstone to every party the record was released to; the releases end."""
    count = 0
    now = node.clock.now()
    for rel in active_releases(session, kind, record_id, origin or node.party):
        record = _record(
            node,
            kind=kind,
            record_id=record_id,
            version=version,
            op=Op.WITHDRAW,
            handling=rel.handling,
            tlp=rel.tlp,
            content={"reason": reason},
            origin=rel.origin,
        )
        enqueue_record(session, node, rel.to_party, record)
        rel.withdrawn_at = now
        record_event(
            session,
            node.clock,
            actor=actor,
            action="exchange.withdraw",
            record_kind=kind,
            record_id=record_id,
            details={"to": rel.to_party, "version": version, "reason": reason},
        )
        count += 1
    return count


@dataclass(frozen=True)
class Delivery:
    party: str
    version: int
    op: str
    link: str
    seq: int
    state: str
    created_at: datetime
    sent_at: datetime | None
    receipted_at: datetime | None


def deliveries(session: Session, kind: str, record_ids: Sequence[str]) -> dict[str, list[Delivery]]:
    """Delivery state of every envelope written for these records, grouped by record id."""
    from sarhad.exchange.domain import delivery_state

    result: dict[str, list[Delivery]] = {rid: [] for rid in record_ids}
    if not record_ids:
        return result
    rows = session.execute(
        select(
            OutboundEnvelope.record_id,
            OutboundEnvelope.link,
            OutboundEnvelope.seq,
            OutboundEnvelope.record_version,
            OutboundEnvelope.op,
            OutboundEnvelope.created_at,
            OutboundEnvelope.sent_at,
            OutboundEnvelope.receipted_at,
        )
        .where(OutboundEnvelope.record_kind == kind, OutboundEnvelope.record_id.in_(list(record_ids)))
        .order_by(OutboundEnvelope.seq)
    ).all()
    for rid, link, seq, version, op, created, sent, receipted in rows:
        result[rid].append(
            Delivery(
                party=split_link(link)[1],
                version=version,
                op=op,
                link=link,
                seq=seq,
                state=delivery_state(sent is not None, receipted is not None),
                created_at=created,
                sent_at=sent,
                receipted_at=receipted,
            )
        )
    return result


# --- receiving ------------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    receipt: dict[str, Any]
    applied: int
    duplicates: int
    quarantined: int


def _refuse(code: str, message: str, seq: int | None = None, status: int = 400) -> ExchangeRefusal:
    refusal = _REFUSAL_BY_STATUS[status]
    return refusal(message, code=ErrorCode(code), details={"seq": seq} if seq is not None else {})


def issue_receipt(session: Session, node: Node, head: LinkHead) -> dict[str, Any]:
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
    with node.transaction() as session:
        head = session.get(LinkHead, link)
        if head is None:
            raise _refuse("unknown_link", f"this node has no link {link}", status=404)
        return issue_receipt(session, node, head)


class _Turnstile:
    """Batches of one link that this process is receiving at the same time are applied in seq order.

    A sender may have a second batch on its way while the first is applied; the second is verified at once
    but waits here for its turn (at most ``TURN_SECONDS``; after that it goes ahead, and at worst meets a gap
    and is sent again).
    """

    TURN_SECONDS = 10.0

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.waiting: list[int] = []  # first seqs of the batches registered and not yet done

    def register(self, first: int) -> _Ticket:
        with self.condition:
            self.waiting.append(first)
        return _Ticket(self, first)


@dataclass
class _Ticket:
    turnstile: _Turnstile
    first: int
    active: bool = True

    def wait(self) -> None:
        turnstile = self.turnstile
        with turnstile.condition:
            turnstile.condition.wait_for(
                lambda: min(turnstile.waiting) >= self.first, timeout=turnstile.TURN_SECONDS
            )

    def done(self) -> None:
        if not self.active:
            return
        self.active = False
        turnstile = self.turnstile
        with turnstile.condition:
            turnstile.waiting.remove(self.first)
            turnstile.condition.notify_all()


class _Turnstiles(dict[str, _Turnstile]):
    """The turnstile of each link, one set per node (in ``node.components``)."""


def _turnstile(node: Node, link: str) -> _Turnstile:
    with _turnstiles_lock:
        return node.components.setdefault(_Turnstiles, _Turnstiles).setdefault(link, _Turnstile())


def receive_batch(node: Node, link: str, envelopes: list[Any]) -> BatchResult:
    """Verify and apply a batch from a peer in one transaction; answer with a signed cumulative receipt.

    Raises ExchangeRefusal (nothing written) for anything malformed, forged or out of order. On a gap
    (the batch starts after our last seq + 1) the refusal carries our receipt so the sender resumes.
    Equivocation is recorded as evidence and an alert in its own transaction, then refused.
    """
    try:
        sender, receiver = split_link(link)
    except ValueError as exc:
        raise _refuse("bad_link", str(exc)) from exc
    if receiver != node.party:
        raise _refuse(
            "bad_link", f"this node is {node.party}; link {link} is not addressed to it", status=404
        )
    max_count = node.settings.exchange_batch_max_envelopes
    if len(envelopes) > max_count:
        raise _refuse(
            "too_large", f"batch of {len(envelopes)} envelopes exceeds the limit of {max_count}", status=413
        )
    checked: list[dict[str, Any]] = []
    for index, raw in enumerate(envelopes):
        try:
            checked.append(protocol.check_envelope_shape(raw))
        except protocol.ProtocolError as exc:
            raise _refuse("malformed", f"envelope {index} in the batch: {exc.message}") from exc
    for index, env in enumerate(checked):
        if env["link"] != link:
            raise _refuse("bad_link", f"envelope {index} is for link {env['link']}, not {link}", env["seq"])
        if index and env["seq"] != checked[index - 1]["seq"] + 1:
            raise _refuse(
                "malformed",
                f"batch is not in sequence: seq {env['seq']} follows {checked[index - 1]['seq']}",
                env["seq"],
            )
    ticket = _turnstile(node, link).register(checked[0]["seq"] if checked else 0)
    try:
        early_windows: list[protocol.KeyWindow] = []
        early: list[verifiers.Verdict] | None = None
        if len(checked) >= verifiers.PARALLEL_FROM:  # a backlog: check it while the batch before is applied
            with node.sessions() as session:
                early_windows = _PeerKeyRing(session, sender).windows
            early = verifiers.verify_all(checked, early_windows)
        ticket.wait()  # batches of this link that came in together are applied in the order of their seqs
        equivocation: tuple[dict[str, Any], str] | None = None
        with node.transaction() as session:
            if session.get(Peer, sender) is None:
                raise _refuse(
                    "unknown_peer", f"{sender} is not a configured peer of {node.party}", status=403
                )
            head = session.scalar(select(LinkHead).where(LinkHead.link == link).with_for_update())
            if head is None:
                raise _refuse("unknown_link", f"no link {link}", status=404)
            applied = duplicates = quarantined = 0
            now = node.clock.now()  # the batch's time of receipt
            ring = _PeerKeyRing(session, sender)
            # A large batch was verified before the write transaction; again here if the keys changed meanwhile
            # (a rotation in the batch before). A small one (a live link) is verified here: no extra read.
            verdicts = (
                early
                if early is not None and ring.windows == early_windows
                else verifiers.verify_all(checked, ring.windows)
            )
            batch: list[_Pending] = []
            for index, env in enumerate(checked):
                seq = env["seq"]
                verdict = verdicts[index]
                if isinstance(verdict, protocol.ProtocolError):
                    raise _refuse(verdict.code, f"envelope seq {seq}: {verdict.message}", seq) from verdict
                if seq <= head.seq:
                    stored = session.get(InboundEnvelope, (link, seq))
                    if stored is not None and stored.hash == env["hash"]:
                        duplicates += 1
                        continue
                    if stored is not None:
                        equivocation = (env, stored.body)
                        break
                    raise _refuse(
                        "bad_prev", f"envelope seq {seq} is at or below our head {head.seq} but unknown", seq
                    )
                if seq > head.seq + 1:
                    if batch:
                        break  # keep what was applied; the receipt tells the sender where we are
                    err = _refuse(
                        "seq_gap",
                        f"expected seq {head.seq + 1}, got {seq}; resend from {head.seq + 1}",
                        seq,
                        status=409,
                    )
                    err.details["receipt"] = issue_receipt(session, node, head)
                    err.details["last_seq"] = head.seq
                    raise err
                if env["prev"] != head.hash:
                    raise _refuse(
                        "bad_prev", f"envelope seq {seq} does not chain to our envelope {head.seq}", seq
                    )
                pending = _prepare_record(session, node, link, env, verdict, now)
                batch.append(pending)
                if pending.row["record_kind"] == KEY_ROTATION_KIND and pending.row["status"] == "applied":
                    # The keys changed from here on: verify the rest of the batch again with the new ring.
                    ring.reload()
                    verdicts[index + 1 :] = verifiers.verify_all(checked[index + 1 :], ring.windows)
                head.seq, head.hash, head.updated_at = seq, env["hash"], now
            if equivocation is None:
                _apply_pending(session, node, batch)
                if batch:  # one statement for the whole batch
                    insert_rows(session, table_of(InboundEnvelope), [p.row for p in batch])
                quarantined = sum(p.row["status"] == "quarantined" for p in batch)
                applied = len(batch) - quarantined
                receipt = issue_receipt(session, node, head)
                peer = session.get(Peer, sender)
                if peer is not None:
                    peer.last_contact_at = now
                return BatchResult(
                    receipt=receipt, applied=applied, duplicates=duplicates, quarantined=quarantined
                )
            session.rollback()
    finally:
        ticket.done()
    env, first_body = equivocation
    _record_equivocation(node, link, env, first_body)
    raise _refuse(
        "equivocation",
        f"envelope seq {env['seq']} differs from the one already accepted for that seq; "
        "both are kept as evidence and an alert was raised",
        env["seq"],
        status=409,
    )


def _record_equivocation(node: Node, link: str, env: dict[str, Any], first_body: str) -> None:
    second = protocol.canonical_json(env).decode()
    with node.transaction() as session:
        session.add(
            Evidence(
                kind="equivocation",
                link=link,
                seq=env["seq"],
                first_body=first_body,
                second_body=second,
                detected_at=node.clock.now(),
            )
        )
        raise_alert(
            session,
            node,
            kind="equivocation",
            severity="critical",
            link=link,
            seq=env["seq"],
            message=f"two different envelopes validly signed for {link} seq {env['seq']}: a fault at "
            "the sender or a stolen key. The second was refused; both are kept as evidence.",
        )


def raise_alert(
    session: Session,
    node: Node,
    *,
    kind: str,
    severity: str,
    message: str,
    link: str = "",
    seq: int | None = None,
) -> Alert:
    alert = Alert(
        kind=kind,
        severity=severity,
        message=message,
        link=link,
        seq=seq,
        at=node.clock.now(),
        acknowledged_at=None,
        acknowledged_by="",
    )
    session.add(alert)
    record_event(
        session,
        node.clock,
        actor="system",
        action=f"exchange.alert.{kind}",
        record_kind="link",
        record_id=f"{link}#{seq}" if seq else link,
        details={"message": message},
    )
    return alert


@dataclass
class _Pending:
    """One accepted envelope on its way into the inbox: its row, and the record to apply if it is usable."""

    row: dict[str, Any]
    incoming: IncomingRecord | None = None
    kind: RecordKind | None = None


def _prepare_record(
    session: Session, node: Node, link: str, env: dict[str, Any], verified: protocol.Checked, now: datetime
) -> _Pending:
    """Check one verified envelope's record and make its inbox row; an unusable record is quarantined.

    A key rotation is applied at once, because it decides which key verifies the envelopes after it.
    """
    record = env["record"]
    sender = split_link(link)[0]
    status, reason = "applied", ""
    meta = (str(record.get("kind", "?"))[:64], str(record.get("id", "?"))[:64], record.get("version", 0), "?")
    incoming: IncomingRecord | None = None
    kind: RecordKind | None = None
    try:
        check_record(record)
        meta = (record["kind"], record["id"], record["version"], record["op"])
        if record["kind"] == KEY_ROTATION_KIND:
            _apply_key_rotation(session, node, sender, env)
        else:
            if record["origin"] == node.party:
                # Only this node writes records of its own party; a peer sending one is refused.
                raise RecordShapeError(f"record claims to originate from {node.party}, this node")
            if verified.content_hash != record["content_hash"]:  # computed while verifying the envelope
                raise RecordShapeError("content_hash does not match the content")
            kind = get_kind(record["kind"])
            if kind is None:
                raise RecordShapeError(f"unknown record kind {record['kind']!r}")
            validated = None
            if record["op"] == Op.UPSERT.value and kind.schema is not None:
                validated = kind.schema.model_validate(record["content"])
            incoming = IncomingRecord(
                kind=record["kind"],
                origin=record["origin"],
                record_id=record["id"],
                version=record["version"],
                op=record["op"],
                handling=record["handling"],
                tlp=record["tlp"],
                content=record["content"],
                content_hash=record["content_hash"],
                link=link,
                seq=env["seq"],
                sent_at=env["sent_at"],
                content_json=verified.content_json,
                validated=validated,
            )
    except (RecordShapeError, ValidationError) as exc:
        status, reason, incoming = "quarantined", _reason(exc), None
    row = {
        "link": link,
        "seq": env["seq"],
        "hash": env["hash"],
        "body": verified.text,
        "record_kind": meta[0],
        "record_id": meta[1],
        "record_version": meta[2] if isinstance(meta[2], int) and not isinstance(meta[2], bool) else 0,
        "op": str(meta[3])[:16],
        "sent_at": protocol.parse_time(env["sent_at"]),
        "received_at": now,
        "status": status,
        "reason": reason,
    }
    return _Pending(row=row, incoming=incoming, kind=kind)


def _apply_one(session: Session, node: Node, pending: _Pending) -> None:
    assert pending.incoming is not None and pending.kind is not None
    _store_received(session, node, [pending.incoming])
    fn = pending.kind.withdraw if pending.incoming.op == Op.WITHDRAW.value else pending.kind.apply
    if fn is not None:
        fn(session, node, pending.incoming)


def _runs(batch: list[_Pending]) -> list[list[_Pending]]:
    """Consecutive records of the same kind, in order."""
    runs: list[list[_Pending]] = []
    for pending in batch:
        if runs and runs[-1][0].kind is pending.kind:
            runs[-1].append(pending)
        else:
            runs.append([pending])
    return runs


def _apply_run(session: Session, node: Node, run: list[_Pending]) -> None:
    kind = run[0].kind
    records = [p.incoming for p in run if p.incoming is not None]
    assert kind is not None and len(records) == len(run)
    _store_received(session, node, records)
    if kind.apply_batch is not None:
        kind.apply_batch(session, node, records)
        return
    for record in records:
        fn = kind.withdraw if record.op == Op.WITHDRAW.value else kind.apply
        if fn is not None:
            fn(session, node, record)


def _apply_pending(session: Session, node: Node, batch: list[_Pending]) -> None:
    """Apply the usable records of a batch; a handler failure quarantines only its own record.

    The whole batch is tried inside one savepoint, run by run (consecutive records of one kind go to the
    kind's batch handler if it has one); only if something fails is it redone record by record, each in
    its own savepoint, so the common case costs one savepoint and a few statements per batch.
    """
    usable = [p for p in batch if p.incoming is not None]
    if usable:
        try:
            with session.begin_nested():
                for run in _runs(usable):
                    _apply_run(session, node, run)
            usable = []
        except Exception:  # noqa: S110 - redone one by one just below, where the culprit is named
            pass
    for pending in usable:
        try:
            with session.begin_nested():
                _apply_one(session, node, pending)
        except Exception as exc:  # a handler bug must not break the link; the envelope is kept for the admin
            reason = (
                _reason(exc)
                if isinstance(exc, RecordShapeError | ValidationError)
                else (f"handler failed: {type(exc).__name__}: {exc}")
            )
            pending.row.update(status="quarantined", reason=reason)
    for pending in batch:
        row = pending.row
        if row["status"] == "quarantined":
            raise_alert(
                session,
                node,
                kind="quarantine",
                severity="warning",
                link=row["link"],
                seq=row["seq"],
                message=f"record in {row['link']} seq {row['seq']} quarantined: {row['reason']}",
            )


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "invalid content: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
    return str(exc)


_CONTENT = frozenset({"content"})  # given to insert_rows as canonical JSON text

_RECEIVED_COLUMNS = (
    "origin",
    "record_kind",
    "record_id",
    "version",
    "content",
    "content_hash",
    "handling",
    "tlp",
    "link",
    "seq",
    "received_at",
    "withdrawn_at",
)


def _store_received(session: Session, node: Node, records: Sequence[IncomingRecord]) -> None:
    """Keep the generic copy of each received record, in order: one read, one insert, one update at most.

    A withdrawal marks the copy withdrawn; an older version arriving late (relayed) never overwrites a
    newer one.
    """
    now = node.clock.now()
    wanted = {(r.origin, r.kind, r.record_id) for r in records}
    held: dict[tuple[str, str, str], dict[str, Any]] = {}
    columns = [getattr(ReceivedRecord, name) for name in _RECEIVED_COLUMNS]
    origins = sorted({r.origin for r in records})
    kinds = sorted({r.kind for r in records})
    for chunk in _chunks(sorted({r.record_id for r in records})):
        query = select(*columns).where(  # in the order of the primary key, so it answers from the index
            ReceivedRecord.origin.in_(origins),
            ReceivedRecord.record_kind.in_(kinds),
            ReceivedRecord.record_id.in_(chunk),
        )
        for row in session.execute(query):
            values = dict(zip(_RECEIVED_COLUMNS, row, strict=True))
            key = (values["origin"], values["record_kind"], values["record_id"])
            if key in wanted:
                held[key] = values
    new: dict[tuple[str, str, str], dict[str, Any]] = {}
    changed: set[tuple[str, str, str]] = set()
    for rec in records:
        key = (rec.origin, rec.kind, rec.record_id)
        current = new.get(key) or held.get(key)
        if current is None:
            if rec.op != Op.WITHDRAW.value:
                new[key] = {
                    "origin": rec.origin,
                    "record_kind": rec.kind,
                    "record_id": rec.record_id,
                    "version": rec.version,
                    "content": rec.content_text(),
                    "content_hash": rec.content_hash,
                    "handling": rec.handling,
                    "tlp": rec.tlp,
                    "link": rec.link,
                    "seq": rec.seq,
                    "received_at": now,
                    "withdrawn_at": None,
                }
            continue
        if rec.op == Op.WITHDRAW.value:
            current.update(withdrawn_at=now, link=rec.link, seq=rec.seq)
        elif rec.version < current["version"]:
            continue
        else:
            current.update(
                version=rec.version,
                content=rec.content_text() if key in new else rec.content,  # a new row's content is text
                content_hash=rec.content_hash,
                handling=rec.handling,
                tlp=rec.tlp,
                link=rec.link,
                seq=rec.seq,
                received_at=now,
                withdrawn_at=None,
            )
        if key not in new:
            changed.add(key)
    if new:
        insert_rows(session, table_of(ReceivedRecord), list(new.values()), encoded=_CONTENT)
    if changed:
        session.execute(update(ReceivedRecord), [held[key] for key in sorted(changed)])


def _apply_key_rotation(session: Session, node: Node, sender: str, env: dict[str, Any]) -> None:
    try:
        new_key = protocol.parse_key_rotation(env["record"])
    except protocol.ProtocolError as exc:
        raise RecordShapeError(f"key rotation: {exc.message}") from exc
    if new_key is None:
        raise RecordShapeError("key rotation record without a new key")
    fp = protocol.fingerprint(new_key)
    seq = env["seq"]
    old = session.get(PeerKey, env["key"])
    if old is not None:
        old.valid_until_seq = seq
    if session.get(PeerKey, fp) is None:
        session.add(
            PeerKey(
                fingerprint=fp,
                party=sender,
                public_key=protocol.public_key_b64(new_key),
                valid_from_seq=seq + 1,
                valid_until_seq=None,
                source="rotation",
                added_at=node.clock.now(),
            )
        )
    record_event(
        session,
        node.clock,
        actor=f"peer:{sender}",
        action="exchange.key.rotated",
        record_kind="peer",
        record_id=sender,
        details={"new_fingerprint": fp, "from_seq": seq + 1},
    )


# --- receipts on the sender's side -------------------------------------------------------------------------


def accept_receipt(
    session: Session, node: Node, peer_party: str, receipt: Any, sent_up_to: int | None = None
) -> int:
    """Verify and store a peer's receipt for our outbound link; return the seq it acknowledges.

    ``sent_up_to`` is the last seq of the batch the receipt answers (the pusher passes it), so the envelopes
    it sent are marked sent in the same transaction.
    """
    try:
        receipt = protocol.check_receipt_shape(receipt)
        protocol.verify_receipt(receipt, peer_keys(session, peer_party))
    except protocol.ProtocolError as exc:
        raise _refuse(exc.code, f"receipt: {exc.message}") from exc
    link = link_id(node.party, peer_party)
    if receipt["link"] != link or receipt["by"] != peer_party:
        raise _refuse("bad_link", f"receipt is for {receipt['link']} by {receipt['by']}, expected {link}")
    head = session.scalar(select(LinkHead).where(LinkHead.link == link).with_for_update())
    assert head is not None
    seq = receipt["seq"]
    if seq > head.seq:
        raise _refuse("bad_receipt", f"receipt acknowledges seq {seq} but we only wrote {head.seq}", seq)
    if seq > 0:
        ours = session.get(OutboundEnvelope, (link, seq))
        if ours is None or ours.hash != receipt["hash"]:
            raise_alert(
                session,
                node,
                kind="receipt_mismatch",
                severity="critical",
                link=link,
                seq=seq,
                message=f"{peer_party}'s receipt for {link} seq {seq} names a hash we never signed",
            )
            raise _refuse("bad_receipt", f"receipt hash for seq {seq} does not match our envelope", seq)
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
        mark_sent(session, node, peer_party, min(sent_up_to, head.seq))
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


def outbound_batch(
    session: Session, node: Node, peer_party: str, after: int, max_count: int | None = None
) -> list[str]:
    """Bodies of the envelopes after ``after`` on our link to the peer, capped by count and bytes."""
    link = link_id(node.party, peer_party)
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


def note_contact(
    session: Session, node: Node, party: str, error: str | None, next_attempt: datetime | None
) -> None:
    peer = session.get(Peer, party)
    if peer is None:
        return
    now = node.clock.now()
    if error is None:
        peer.last_contact_at, peer.failures, peer.next_attempt_at = now, 0, None
    else:
        peer.last_error, peer.last_error_at = error[:2000], now
        peer.failures += 1
        peer.next_attempt_at = next_attempt


# --- key rotation -------------------------------------------------------------------------------------------


def rotate_key(session: Session, node: Node, actor: str = "cli") -> tuple[str, str]:
    """Announce a new key to every peer in envelopes signed by the old one, then switch to it.

    The announcements and the switch happen together: the new key file replaces the old only after the
    announcing envelopes are committed, and the old key is kept (retired) so history stays verifiable.
    """
    from sarhad.exchange.keys import write_key_file

    old = ensure_own_key_recorded(session, node)
    new_key = protocol.generate_private_key()
    new_public = new_key.public_key()
    new_fp = protocol.fingerprint(new_public)
    valid_from: dict[str, int] = {}
    for peer in session.scalars(select(Peer)).all():
        announcement = protocol.key_rotation_record(new_public)
        record = _record(
            node,
            kind=KEY_ROTATION_KIND,
            record_id=new_fp,
            version=1,
            op=Op.UPSERT,
            handling=Handling.NO_ONWARD.value,
            tlp=Tlp.CLEAR.value,
            content=dict(announcement),
        )
        record.update(announcement)  # the ledger verifier reads new_key at the record's top level
        envelope = enqueue_record(session, node, peer.party, record)
        valid_from[envelope.link] = envelope.seq + 1
    own_old = session.get(OwnKey, old.fingerprint)
    if own_old is not None:
        own_old.retired_at = node.clock.now()
    session.add(
        OwnKey(
            fingerprint=new_fp,
            public_key=protocol.public_key_b64(new_public),
            created_at=node.clock.now(),
            retired_at=None,
            valid_from_seq=valid_from,
        )
    )
    record_event(
        session,
        node.clock,
        actor=actor,
        action="exchange.key.rotate",
        record_kind="key",
        record_id=new_fp,
        details={"old": old.fingerprint, "valid_from": valid_from},
    )
    session.flush()
    store = node.components.get(IdentityStore)
    archive = IdentityStore(node.settings).archive_dir() if store is None else store.archive_dir()
    write_key_file(archive / f"{old.fingerprint}.pem", old.private_key)
    # The new key goes into a pending file now and replaces the current key only after the announcement has
    # committed. If the transaction rolls back, the pending file is discarded; if the process dies between the
    # commit and the switch, ``identity`` completes the switch at the next start (see complete_rotation).
    write_key_file(pending_key_path(node), new_key)
    after_commit(session, lambda: complete_rotation(node))
    return old.fingerprint, new_fp


# --- administration ---------------------------------------------------------------------------------------


def list_alerts(session: Session, *, include_acknowledged: bool = False, limit: int = 200) -> Sequence[Alert]:
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if not include_acknowledged:
        query = query.where(Alert.acknowledged_at.is_(None))
    return session.scalars(query).all()


def acknowledge_alert(session: Session, node: Node, alert_id: int, actor: str) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    alert.acknowledged_at, alert.acknowledged_by = node.clock.now(), actor
    record_event(
        session,
        node.clock,
        actor=actor,
        action="exchange.alert.acknowledge",
        record_kind="alert",
        record_id=str(alert_id),
    )
    return alert


def list_quarantine(session: Session, limit: int = 200) -> Sequence[InboundEnvelope]:
    return session.scalars(
        select(InboundEnvelope)
        .where(InboundEnvelope.status == "quarantined")
        .order_by(InboundEnvelope.received_at.desc())
        .limit(limit)
    ).all()


def envelope_json(body: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(body)
    return value
