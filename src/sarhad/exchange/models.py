"""Tables of the exchange: peers and their keys, link heads, envelopes, receipts, releases, evidence.

Envelope bodies are stored as the exact canonical JSON text that was signed, so the ledger can be exported
and verified byte for byte without re-serialising anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.database import Base, UtcDateTime
from sarhad.exchange.protocol.canonical import GENESIS_HASH

LINK_ID_MAX = 16  # "PK>IR:immediate" (15): a link, or one precedence lane's chain of it


class Peer(Base):
    """Another party's node this node exchanges with."""

    __tablename__ = "exchange_peers"

    party: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(500))
    push: Mapped[bool] = mapped_column(Boolean, default=True)  # we push to it
    pull: Mapped[bool] = mapped_column(Boolean, default=False)  # we pull from it
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_contact_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Precedence lanes this peer speaks (0: none, one chain per link; 1: the lanes of the protocol's
    # "Precedence lanes" section), as its last hello said. Records go onto lane chains only when it is 1.
    lanes: Mapped[int] = mapped_column(Integer, default=0)
    # Lease: with several app processes, one delivery worker at a time pushes to a peer.
    lease_owner: Mapped[str] = mapped_column(String(64), default="")
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class PeerKey(Base):
    """A pinned public key of a peer. ``valid_from_seq``/``valid_until_seq`` bound it on the peer's link to us."""

    __tablename__ = "exchange_peer_keys"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    party: Mapped[str] = mapped_column(String(2), index=True)
    public_key: Mapped[str] = mapped_column(String(64))
    valid_from_seq: Mapped[int] = mapped_column(Integer, default=1)
    valid_until_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # "pinned" (out of band) or "rotation" (announced)
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)


class LaneKey(Base):
    """Which key of a peer signs which seqs on one of its lane chains to us (not the base chain, whose
    windows are on :class:`PeerKey`). The first row of a lane is the key of its seq 1; each key rotation on
    the lane closes one window and opens the next."""

    __tablename__ = "exchange_lane_keys"

    link: Mapped[str] = mapped_column(String(LINK_ID_MAX), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    party: Mapped[str] = mapped_column(String(2))
    public_key: Mapped[str] = mapped_column(String(64))
    valid_from_seq: Mapped[int] = mapped_column(Integer)
    valid_until_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)


class OwnKey(Base):
    """History of this node's signing keys (private keys live in files in the data directory)."""

    __tablename__ = "exchange_own_keys"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    valid_from_seq: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)  # link -> first seq signed


class LinkHead(Base):
    """The head of one directed link as this node knows it.

    Outbound (``PK>IR`` on PK): ``seq``/``hash`` of the last envelope written; ``receipted_*`` from the peer's
    last receipt. Inbound (``IR>PK`` on PK): ``seq``/``hash`` of the last envelope accepted.
    """

    __tablename__ = "exchange_links"

    link: Mapped[str] = mapped_column(String(LINK_ID_MAX), primary_key=True)
    direction: Mapped[str] = mapped_column(String(3))  # "out" or "in"
    peer: Mapped[str] = mapped_column(String(2), index=True)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(64))
    receipted_seq: Mapped[int] = mapped_column(Integer, default=0)
    receipted_hash: Mapped[str] = mapped_column(String(64))
    receipted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sent_seq: Mapped[int] = mapped_column(Integer, default=0)  # highest seq handed to the transport
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    @classmethod
    def opened(cls, link: str, direction: str, peer: str, now: datetime) -> LinkHead:
        """The head of a chain that holds nothing yet: seq 0, the genesis hash, nothing sent or receipted."""
        return cls(
            link=link,
            direction=direction,
            peer=peer,
            seq=0,
            hash=GENESIS_HASH,
            receipted_seq=0,
            receipted_hash=GENESIS_HASH,
            sent_seq=0,
            updated_at=now,
        )


class OutboundEnvelope(Base):
    """The transactional outbox: one signed envelope, written with the change that released it."""

    __tablename__ = "exchange_outbox"

    link: Mapped[str] = mapped_column(String(LINK_ID_MAX), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # canonical JSON of the whole envelope
    size: Mapped[int] = mapped_column(Integer)
    record_kind: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64), index=True)
    record_version: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    receipted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class InboundEnvelope(Base):
    """An envelope accepted from a peer: applied, or quarantined with the reason."""

    __tablename__ = "exchange_inbox"

    link: Mapped[str] = mapped_column(String(LINK_ID_MAX), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    record_kind: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64), index=True)
    record_version: Mapped[int] = mapped_column(Integer)
    op: Mapped[str] = mapped_column(String(16))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))  # "applied" or "quarantined"
    reason: Mapped[str] = mapped_column(Text, default="")


class Receipt(Base):
    """A signed cumulative receipt: issued by us (inbound links) or received from a peer (outbound links)."""

    __tablename__ = "exchange_receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    link: Mapped[str] = mapped_column(String(LINK_ID_MAX), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    direction: Mapped[str] = mapped_column(String(8))  # "issued" or "received"
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("link", "seq", "direction", name="uq_exchange_receipts_link_seq_dir"),)


class Release(Base):
    """The originator's audited decision that a record goes to a party; later versions follow it."""

    __tablename__ = "exchange_releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_kind: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[str] = mapped_column(String(64), index=True)
    origin: Mapped[str] = mapped_column(String(2))
    to_party: Mapped[str] = mapped_column(String(2))
    handling: Mapped[str] = mapped_column(String(16))
    tlp: Mapped[str] = mapped_column(String(16))
    released_by: Mapped[str] = mapped_column(String(64))
    released_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_version: Mapped[int] = mapped_column(Integer)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (
        UniqueConstraint(
            "origin", "record_kind", "record_id", "to_party", name="uq_exchange_releases_rec_to"
        ),
    )


class ReceivedRecord(Base):
    """The latest state of a record received from a peer, as its originator released it."""

    __tablename__ = "exchange_received_records"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)
    record_kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    handling: Mapped[str] = mapped_column(String(16))
    tlp: Mapped[str] = mapped_column(String(16))
    link: Mapped[str] = mapped_column(String(LINK_ID_MAX))
    seq: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    # Each received batch asks which of its records were withdrawn already (an older version passed on after
    # a withdrawal is purged too). Few records are ever withdrawn: a partial index holds just those, so the
    # question costs an index probe instead of a scan of every record held (the primary key leads with origin).
    __table_args__ = (
        Index(
            "ix_exchange_received_withdrawn",
            "record_id",
            sqlite_where=text("withdrawn_at IS NOT NULL"),
            postgresql_where=text("withdrawn_at IS NOT NULL"),
        ),
    )


class Evidence(Base):
    """Proof of a fault, e.g. two different envelopes validly signed for one (link, seq)."""

    __tablename__ = "exchange_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    link: Mapped[str] = mapped_column(String(LINK_ID_MAX))
    seq: Mapped[int] = mapped_column(Integer)
    first_body: Mapped[str] = mapped_column(Text)
    second_body: Mapped[str] = mapped_column(Text)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Alert(Base):
    """Something an administrator must look at (equivocation, quarantined records, key problems)."""

    __tablename__ = "exchange_alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(LINK_ID_MAX), default="")
    seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    acknowledged_by: Mapped[str] = mapped_column(String(64), default="")


class JointRecord(Base):
    """An object all signatories must agree on. Until they all accept one content hash, the last agreed stands."""

    __tablename__ = "exchange_joint_records"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)  # e.g. "test", "border.section_impact"
    title: Mapped[str] = mapped_column(String(300))
    signatories: Mapped[list[str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    agreed_content: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    agreed_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    agreed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class JointProposal(Base):
    __tablename__ = "exchange_joint_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    joint_id: Mapped[str] = mapped_column(String(64), index=True)
    proposer: Mapped[str] = mapped_column(String(2))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    based_on_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    proposed_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)

    __table_args__ = (UniqueConstraint("joint_id", "content_hash", name="uq_exchange_joint_proposals_hash"),)


class JointDecision(Base):
    __tablename__ = "exchange_joint_decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    joint_id: Mapped[str] = mapped_column(String(64), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    party: Mapped[str] = mapped_column(String(2))
    decision: Mapped[str] = mapped_column(String(8))  # accept | reject
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
