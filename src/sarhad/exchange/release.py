"""Releases: the originator's decision that a record goes to a party, and everything that follows from it.

A first release (:func:`release_record`, many at once :func:`release_records`), each later version
(:func:`publish_version`) and the withdrawal (:func:`withdraw_record`) go into the outbox in the caller's
transaction. Domain services call these after checking their own permission; the actor they pass is who
the audit names. :func:`deliveries` tells a domain page how far each envelope of its records has got.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor
from sarhad.audit.services import AuditEvent, record_event, record_events
from sarhad.core.database import insert_rows, table_of
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, NotFound, PermissionDenied
from sarhad.core.node import Node
from sarhad.exchange import outbox, protocol
from sarhad.exchange.domain import Handling, Op, Tlp, chunked, delivery_state, split_link
from sarhad.exchange.identity import signing_identity
from sarhad.exchange.models import InboundEnvelope, OutboundEnvelope, ReceivedRecord, Release
from sarhad.exchange.peers import peer_parties
from sarhad.exchange.registry import get_kind


def content_hash(content: dict[str, Any]) -> str:
    """SHA-256 of a record's content as canonical JSON: the ``content_hash`` every record carries."""
    return protocol.sha256_hex(protocol.canonical_json(content))


def canonical_content(content: dict[str, Any]) -> tuple[bytes, str]:
    """A record's content as canonical JSON bytes, and their SHA-256: the bytes a service can store (a JSON
    column given them as text), hash and hand to the release (``ReleaseItem.content_json``), made once."""
    canonical = protocol.canonical_json(content)
    return canonical, protocol.sha256_hex(canonical)


def make_record(
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
    digest: str | None = None,
    origin_sig: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The record an envelope carries; ``digest`` is the content's hash if the caller has already made it;
    ``origin_sig`` the originator's signature a relayed record carries on (docs/exchange-protocol.md §11.2)."""
    record = {
        "kind": kind,
        "origin": origin or node.party,
        "id": record_id,
        "version": version,
        "op": op.value,
        "handling": handling,
        "tlp": tlp,
        "content": content,
        "content_hash": digest or content_hash(content),
    }
    if origin_sig is not None:
        record["origin_sig"] = dict(origin_sig)
    return record


class OriginSigner:
    """Adds this node's origin signature to its own records released with onward release allowed (§11.2).

    Only such a record may be relayed to a third party, which needs the originator's own signature to accept
    it; a ``no_onward`` record never leaves its receiver, so it is not signed twice. The key is the one the
    envelopes are signed with, read once, and one signature serves every release of the same version and
    terms.
    """

    def __init__(self, session: Session, node: Node) -> None:
        self.session, self.node = session, node
        self._key: Ed25519PrivateKey | None = None
        self._made: dict[tuple[str, ...], dict[str, Any]] = {}

    def sign(self, record: dict[str, Any]) -> dict[str, Any]:
        if record["origin"] != self.node.party or record["handling"] != Handling.ONWARD_ALLOWED.value:
            return record
        terms = tuple(
            str(record[n]) for n in ("kind", "id", "version", "op", "content_hash", "handling", "tlp")
        )
        sig = self._made.get(terms)
        if sig is None:
            if self._key is None:
                self._key = signing_identity(self.session, self.node).private_key
            sig = self._made[terms] = protocol.sign_origin(self._key, record)
        record["origin_sig"] = sig
        return record


def held_origin_sig(
    session: Session, origin: str, kind: str, record_id: str, version: int
) -> dict[str, Any] | None:
    """The originator's signature held for a received record's ``version`` (None if it came without one):
    from the envelope that brought that version, which the receiver verified (``inbox``)."""
    received = session.get(ReceivedRecord, (origin, kind, record_id))
    if received is None or received.version != version:
        return None
    held = session.get(InboundEnvelope, (received.link, received.seq))
    if held is None:
        return None
    sig = json.loads(held.body).get("record", {}).get("origin_sig")
    return sig if isinstance(sig, dict) else None


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
    # a relayed record: its originator's signature (default: the one held with the received version)
    origin_sig: Mapping[str, Any] | None = None
    lane: str | None = None  # a precedence lane other than the kind's own (bulk imports: "bulk")


def release_records(
    session: Session,
    node: Node,
    items: Sequence[ReleaseItem],
    *,
    actor: Actor,
    client_ip: str = "",
) -> int:
    """Release many record versions at once; the same checks, rows, envelopes and audit as one by one.

    Every item is checked before anything is written, so one bad item refuses the whole call. The
    releases, the envelopes (per link, in the order given) and the audit entries are each written with one
    statement. Returns the number of envelopes written. The caller has checked ``actor``'s permission to
    release; ``actor`` is who the releases and the audit name.
    """
    if not items:
        return 0
    handlings = {h.value for h in Handling}
    labels = {t.value for t in Tlp}
    peers = peer_parties(session)
    planned: list[tuple[ReleaseItem, str, list[str], Mapping[str, Any] | None]] = []
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
        origin_sig = item.origin_sig
        if origin != node.party:
            _check_onward(session, origin, item.kind, item.record_id, targets)
            if origin_sig is None:
                origin_sig = held_origin_sig(session, origin, item.kind, item.record_id, item.version)
            if origin_sig is None:
                raise Conflict(
                    f"{item.kind} {item.record_id} version {item.version} came without {origin}'s own "
                    f"signature, so a third party would not accept it from {node.party}. Ask {origin}, its "
                    f"originator, to release it to {', '.join(targets)}.",
                    code=ErrorCode.ORIGIN_UNSIGNED,
                )
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
        planned.append((item, origin, targets, origin_sig))
    ended: list[int] = []
    record_ids = sorted({key[2] for key in keys})
    for chunk in chunked(record_ids):
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
                raise Conflict(
                    f"{kind} {record_id} is already released to {party}", code=ErrorCode.ALREADY_RELEASED
                )
            ended.append(rel_id)  # withdrawn earlier: this release takes its place
    if ended:
        session.execute(delete(Release).where(Release.id.in_(ended)))
    now = node.clock.now()
    release_rows: list[dict[str, Any]] = []
    per_party: dict[str, list[dict[str, Any]]] = {}
    per_party_json: dict[str, list[bytes | None]] = {}
    signer = OriginSigner(session, node)
    per_party_lanes: dict[str, list[str | None]] = {}
    for item, origin, targets, origin_sig in planned:
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
                    "released_by": actor.username,
                    "released_at": now,
                    "first_version": item.version,
                    "withdrawn_at": None,
                }
            )
            per_party.setdefault(party, []).append(
                signer.sign(
                    make_record(
                        node,
                        kind=item.kind,
                        record_id=item.record_id,
                        version=item.version,
                        op=Op.UPSERT,
                        handling=item.handling,
                        tlp=item.tlp,
                        content=item.content,
                        origin=origin,
                        digest=digest,
                        origin_sig=origin_sig,
                    )
                )
            )
            per_party_json.setdefault(party, []).append(canonical)
            per_party_lanes.setdefault(party, []).append(item.lane)
    insert_rows(session, table_of(Release), release_rows)
    events: list[AuditEvent] = []
    for party in sorted(per_party):  # link heads always locked in the same order: no deadlock
        records = per_party[party]
        enqueued = outbox.enqueue_records(
            session, node, party, records, per_party_json[party], lanes=per_party_lanes[party]
        )
        for record, envelope in zip(records, enqueued, strict=True):
            events.append(
                AuditEvent(
                    actor=actor.username,
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
    actor: Actor,
    client_ip: str = "",
    origin: str | None = None,
) -> list[Release]:
    """The originator's decision that this record (this version and all later ones) goes to ``to``.

    The caller has checked ``actor``'s permission to release; ``actor`` is who the release and audit name.
    """
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
    """A received record goes on to a third party only if its originator allowed it, never back to it."""
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


def _follow_releases(
    session: Session,
    node: Node,
    *,
    kind: str,
    record_id: str,
    version: int,
    op: Op,
    content: dict[str, Any],
    origin: str | None,
    origin_sig: Mapping[str, Any] | None = None,
) -> list[tuple[Release, dict[str, Any]]]:
    """Enqueue this version (or tombstone) of a record to every party it is released to, each with the
    handling and TLP of its release; returns each release with the record sent under it. An own record
    released onward-allowed is origin-signed; a relayed one carries ``origin_sig``, its originator's."""
    sent: list[tuple[Release, dict[str, Any]]] = []
    signer = OriginSigner(session, node)
    for rel in active_releases(session, kind, record_id, origin or node.party):
        record = signer.sign(
            make_record(
                node,
                kind=kind,
                record_id=record_id,
                version=version,
                op=op,
                handling=rel.handling,
                tlp=rel.tlp,
                content=content,
                origin=rel.origin,
                origin_sig=None if rel.origin == node.party else origin_sig,
            )
        )
        outbox.enqueue_record(session, node, rel.to_party, record)
        sent.append((rel, record))
    return sent


def publish_version(
    session: Session,
    node: Node,
    *,
    kind: str,
    record_id: str,
    version: int,
    content: dict[str, Any],
    actor: Actor,
    origin: str | None = None,
    origin_sig: Mapping[str, Any] | None = None,
) -> int:
    """A new version of a record: it follows every active release automatically. Returns envelopes written.

    ``origin`` is the record's originator (default: this node; a relayed record passes its origin). The
    caller has checked ``actor``'s permission to change the record; ``actor`` is who the audit names.
    """
    sent = _follow_releases(
        session,
        node,
        kind=kind,
        record_id=record_id,
        version=version,
        op=Op.UPSERT,
        content=content,
        origin=origin,
        origin_sig=origin_sig,
    )
    for rel, record in sent:
        record_event(
            session,
            node.clock,
            actor=actor.username,
            action="exchange.release.version",
            record_kind=kind,
            record_id=record_id,
            details={"to": rel.to_party, "version": version, "content_hash": record["content_hash"]},
        )
    return len(sent)


def withdraw_record(
    session: Session,
    node: Node,
    *,
    kind: str,
    record_id: str,
    version: int,
    actor: Actor,
    reason: str = "",
    origin: str | None = None,
    origin_sig: Mapping[str, Any] | None = None,
) -> int:
    """Send a signed tombstone to every party the record was released to; the releases end.

    The caller has checked ``actor``'s permission to withdraw the record; ``actor`` is who the audit names.
    """
    now = node.clock.now()
    sent = _follow_releases(
        session,
        node,
        kind=kind,
        record_id=record_id,
        version=version,
        op=Op.WITHDRAW,
        content={"reason": reason},
        origin=origin,
        origin_sig=origin_sig,
    )
    for rel, _record in sent:
        rel.withdrawn_at = now
        record_event(
            session,
            node.clock,
            actor=actor.username,
            action="exchange.withdraw",
            record_kind=kind,
            record_id=record_id,
            details={"to": rel.to_party, "version": version, "reason": reason},
        )
    return len(sent)


@dataclass(frozen=True)
class Delivery:
    """One envelope of a record on its way to a party: queued, sent or receipted."""

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
