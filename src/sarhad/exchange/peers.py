"""Peers: pairing (pinning a peer's key and opening both links), the keys a peer signs with, and the state
of each link for the people who run the node."""

from __future__ import annotations

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
from sarhad.exchange.domain import link_id
from sarhad.exchange.identity import ensure_own_key_recorded, identity
from sarhad.exchange.models import LinkHead, OutboundEnvelope, OwnKey, Peer, PeerKey


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
            session.add(
                LinkHead(
                    link=link,
                    direction=direction,
                    peer=party,
                    seq=0,
                    hash=protocol.GENESIS_HASH,
                    receipted_seq=0,
                    receipted_hash=protocol.GENESIS_HASH,
                    sent_seq=0,
                    updated_at=now,
                )
            )
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
    """A peer's keys with the seqs each may sign, loaded once per batch (and again after a rotation)."""

    def __init__(self, session: Session, party: str) -> None:
        self.session, self.party = session, party
        self.reload()

    def reload(self) -> None:
        """Read the windows again (after a key rotation in the batch being received)."""
        rows = self.session.scalars(select(PeerKey).where(PeerKey.party == self.party)).all()
        self.windows: list[protocol.KeyWindow] = [
            (row.fingerprint, row.public_key, row.valid_from_seq, row.valid_until_seq) for row in rows
        ]


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
    """Per peer: what was written, sent and receipted on our link, the backlog and its age, what we received
    on theirs, and the last contact and error."""
    require(actor, Permission.EXCHANGE_READ, "seeing the state of the links")
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
