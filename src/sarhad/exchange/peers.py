"""Peers: pairing (pinning a peer's key and opening both links), the keys a peer signs with, and the state
of each link for the people who run the node."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, NotFound
from sarhad.core.node import Node
from sarhad.exchange import protocol
from sarhad.exchange.domain import BASE_LANE, LANES_VERSION, RecordShapeError, lane_of_link, link_id
from sarhad.exchange.identity import ensure_own_key_recorded, identity
from sarhad.exchange.models import LaneKey, LinkHead, OutboundEnvelope, OwnKey, Peer, PeerKey


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
    actor: Actor,
) -> Peer:
    """Pair with a peer: pin its key (checked against the out-of-band fingerprint) and open both links."""
    require(actor, Permission.EXCHANGE_ADMIN, "pairing with a peer")
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
        raise Conflict(
            f"peer {party} is already configured; remove it first to re-pair", code=ErrorCode.PEER_EXISTS
        )
    _refuse_key_of_another_party(session, node, party, actual)
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
            session.add(LinkHead.opened(link, direction, party, now))
    ensure_own_key_recorded(session, node)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="exchange.peer.add",
        record_kind="peer",
        record_id=party,
        details={"url": url, "fingerprint": actual},
    )
    return session.get(Peer, party) or Peer()


def _refuse_key_of_another_party(session: Session, node: Node, party: str, fp: str) -> None:
    """A key belongs to one party, ever (docs/exchange-protocol.md §6): refuse pinning a key for ``party``
    that this node holds as its own or as another party's (a removed peer's keys are kept, so they count)."""
    owner = node.party if session.get(OwnKey, fp) is not None or fp == identity(node).fingerprint else None
    if owner is None:
        known = session.get(PeerKey, fp)
        owner = known.party if known is not None and known.party != party else None
    if owner is not None:
        raise Conflict(
            f"the key {protocol.short_fingerprint(fp)} is a key of {owner}; a key belongs to one party only",
            code=ErrorCode.KEY_IN_USE,
        )


def remove_peer(session: Session, node: Node, party: str, *, actor: Actor) -> None:
    """Stop exchanging with a peer. Its links, keys and ledger stay for the record."""
    require(actor, Permission.EXCHANGE_ADMIN, "removing a peer")
    peer = session.get(Peer, party)
    if peer is None:
        raise NotFound(f"no peer {party}")
    session.delete(peer)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="exchange.peer.remove",
        record_kind="peer",
        record_id=party,
    )


def configured_peers(session: Session) -> Sequence[Peer]:
    """The parties this node is paired with, in order: the ones it can release to."""
    return session.scalars(select(Peer).order_by(Peer.party)).all()


def peer_parties(session: Session) -> set[str]:
    """The party codes this node is paired with."""
    return set(session.scalars(select(Peer.party)).all())


def peer_keys(session: Session, party: str) -> dict[str, Ed25519PublicKey]:
    """Every key pinned or announced for ``party``, by fingerprint (its receipts are checked against these)."""
    rows = session.scalars(select(PeerKey).where(PeerKey.party == party)).all()
    return {row.fingerprint: protocol.public_key_from_b64(row.public_key) for row in rows}


class PeerKeyRing:
    """A peer's keys with the seqs each may sign on one chain, loaded once per batch (and again after a
    rotation). The base chain's windows are on :class:`PeerKey`; a lane chain's on :class:`LaneKey`."""

    def __init__(self, session: Session, party: str, link: str | None = None) -> None:
        self.session, self.party = session, party
        self.lane = link is not None and lane_of_link(link) != BASE_LANE
        self.link = link
        self.reload()

    def reload(self) -> None:
        """Read the windows again (after a key rotation in the batch being received)."""
        if self.lane:
            lane_rows = self.session.scalars(select(LaneKey).where(LaneKey.link == self.link)).all()
            if lane_rows:
                self.windows: list[protocol.KeyWindow] = [
                    (row.fingerprint, row.public_key, row.valid_from_seq, row.valid_until_seq)
                    for row in lane_rows
                ]
                return
            # A lane chain not opened yet: its seq 1 may be signed by any key accepted for the peer (its
            # first envelope may have been signed before a rotation the base chain has already brought).
            rows = self.session.scalars(select(PeerKey).where(PeerKey.party == self.party)).all()
            self.windows = [(row.fingerprint, row.public_key, 1, 1) for row in rows]
            return
        rows = self.session.scalars(select(PeerKey).where(PeerKey.party == self.party)).all()
        self.windows = [
            (row.fingerprint, row.public_key, row.valid_from_seq, row.valid_until_seq) for row in rows
        ]


def open_lane_chain(session: Session, link: str, party: str, fingerprint: str) -> None:
    """A peer's lane chain got its seq 1, signed by ``fingerprint``: that key signs the lane from now on,
    until a rotation on the lane."""
    key = session.get(PeerKey, fingerprint)
    if key is None or key.party != party or session.get(LaneKey, (link, fingerprint)) is not None:
        return
    session.add(
        LaneKey(
            link=link,
            fingerprint=fingerprint,
            party=party,
            public_key=key.public_key,
            valid_from_seq=1,
            valid_until_seq=None,
        )
    )
    session.flush()


def apply_lane_rotation(
    session: Session, party: str, link: str, old_fingerprint: str, new_key: Ed25519PublicKey, seq: int
) -> str:
    """A key rotation on one of ``party``'s lane chains: the old key signs it up to ``seq``, the new one
    after. The new key must not be any other party's (nor this node's). Returns the new fingerprint.

    The lane's windows only: the base chain's (and receipts') keys change with the rotation on the base
    chain, which the sender writes in the same transaction.
    """
    fp = protocol.fingerprint(new_key)
    known = session.get(PeerKey, fp)
    if (known is not None and known.party != party) or session.get(OwnKey, fp) is not None:
        raise RecordShapeError("key rotation: the new key belongs to another party")
    if known is not None and known.valid_until_seq is not None:  # the party rotated away from it (§6)
        raise RecordShapeError("key rotation: the new key is one the party has used before")
    lane_owner = session.scalar(
        select(LaneKey.party).where(LaneKey.fingerprint == fp, LaneKey.party != party)
    )
    if lane_owner is not None:
        raise RecordShapeError("key rotation: the new key belongs to another party")
    if session.get(LaneKey, (link, fp)) is not None:
        raise RecordShapeError("key rotation: the new key has signed this lane before")
    old = session.get(LaneKey, (link, old_fingerprint))
    if old is not None:
        old.valid_until_seq = seq
    session.add(
        LaneKey(
            link=link,
            fingerprint=fp,
            party=party,
            public_key=protocol.public_key_b64(new_key),
            valid_from_seq=seq + 1,
            valid_until_seq=None,
        )
    )
    session.flush()
    return fp


@dataclass(frozen=True)
class LinkStatus:
    """One peer's two links as the people who run the node see them."""

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


def peer_status(session: Session, node: Node, actor: Actor) -> list[LinkStatus]:
    """Per peer: what was written, sent and receipted on our link's base chain, the backlog and its age over
    all its chains (precedence lanes included), what we received on theirs, and the last contact and error."""
    require(actor, Permission.EXCHANGE_READ, "seeing the state of the links")
    out: list[LinkStatus] = []
    for peer in session.scalars(select(Peer).order_by(Peer.party)).all():
        head_out = session.get(LinkHead, link_id(node.party, peer.party))
        head_in = session.get(LinkHead, link_id(peer.party, node.party))
        assert head_out is not None and head_in is not None
        chains = session.scalars(
            select(LinkHead).where(LinkHead.peer == peer.party, LinkHead.direction == "out")
        ).all()
        oldest = min(
            (
                at
                for chain in chains
                if (
                    at := session.scalar(
                        select(func.min(OutboundEnvelope.created_at)).where(
                            OutboundEnvelope.link == chain.link, OutboundEnvelope.seq > chain.receipted_seq
                        )
                    )
                )
                is not None
            ),
            default=None,
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
                backlog=sum(chain.seq - chain.receipted_seq for chain in chains),  # every lane's chain
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


def offered_lanes(body: bytes) -> int:
    """The lanes version a hello (request or answer) offers: ``"lanes": 1``; 0 if absent or not understood
    (a node before lanes sends no such member)."""
    try:
        value = json.loads(body)
    except ValueError:
        return 0
    lanes = value.get("lanes") if isinstance(value, dict) else None
    if not isinstance(lanes, int) or isinstance(lanes, bool) or lanes < 1:
        return 0
    return min(lanes, LANES_VERSION)  # the highest version both speak


def note_lanes(session: Session, party: str, version: int) -> None:
    """What ``party``'s hello said about lanes. From then on, records to it go onto lane chains (1) or the
    link's one chain (0); envelopes already on a lane chain wait there until it speaks lanes again."""
    peer = session.get(Peer, party)
    if peer is not None and peer.lanes != version:
        peer.lanes = version


def note_contact(
    session: Session, node: Node, party: str, error: str | None, next_attempt: datetime | None
) -> None:
    """A push, pull or hello with ``party`` ended: its error (None: it worked) and when to try again."""
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
