"""Signed heads of the audit log: this node signs its head and releases it to every peer, which keeps it and
answers with its signed receipt (the witness); a peer's heads are kept here the same way.

A head is a shared record kind (``audit.head``) on the exchange's lifecycle (``exchange.records``): each head
is a record of its own (version 1, TLP:CLEAR, no onward release), so the peer's receipt for the envelope that
carries it is the witness's signature. The peer refuses a head that contradicts one it holds
(``audit.chain.contradiction``): the record is quarantined with the reason and an alert is raised there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, SystemActor, require
from sarhad.accounts.domain import Permission
from sarhad.audit import chain
from sarhad.audit.appender import chain_head
from sarhad.audit.models import AuditEntry, AuditHead
from sarhad.core.errors import ErrorCode, RecordRefused
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import records
from sarhad.exchange.identity import ensure_own_key_recorded, signing_identity
from sarhad.exchange.peers import peer_keys, peer_parties
from sarhad.exchange.protocol import format_time, parse_time
from sarhad.exchange.registry import IncomingRecord

KIND = "audit.head"
HEADS = records.SharedKind(KIND, AuditHead, "audit_head")
SIGNER = SystemActor("system")


def head_content(row: AuditHead) -> dict[str, Any]:
    """The signed head a row holds, as it travels (``audit.chain.HEAD_FIELDS``)."""
    return {
        "v": chain.CHAIN_VERSION,
        "party": row.origin,
        "seq": row.log_seq,
        "hash": row.log_hash,
        "at": format_time(row.signed_at),
        "key": row.key,
        "sig": row.sig,
    }


def list_heads(
    session: Session, actor: Actor, party: str | None = None, limit: int = 10_000
) -> Sequence[AuditHead]:
    """The signed heads held here (this node's own and the peers' it witnesses), newest first; ``party``:
    only that party's. Needs ``audit.read``."""
    require(actor, Permission.AUDIT_READ, "reading the audit log")
    query = select(AuditHead).order_by(AuditHead.log_seq.desc(), AuditHead.signed_at.desc()).limit(limit)
    if party:
        query = query.where(AuditHead.origin == party)
    return session.scalars(query).all()


def latest_head(session: Session, party: str) -> AuditHead | None:
    """The longest signed head held of ``party``'s log (this node's own when ``party`` is its party)."""
    return session.scalars(
        select(AuditHead).where(AuditHead.origin == party).order_by(AuditHead.log_seq.desc()).limit(1)
    ).first()


def _moved(session: Session, since_seq: int) -> bool:
    """Whether the log has entries after ``since_seq`` other than those of signing and witnessing heads
    (without this, two nodes would sign a head a minute forever, each witnessing the other's)."""
    found = session.scalar(
        select(AuditEntry.seq)
        .where(AuditEntry.seq > since_seq)
        .where((AuditEntry.record_kind.is_(None)) | (AuditEntry.record_kind != KIND))
        .limit(1)
    )
    return found is not None


def sign_head(node: Node, *, force: bool = False) -> AuditHead | None:
    """Sign the log's head with the node's key and release it to every peer, if the log has grown.

    Without ``force`` (the minute's signing) a log that grew only by the entries of signing and witnessing
    heads is not signed again; ``force`` (shutdown, ``sarhad audit sign``) signs whenever the head moved.
    Returns the new head, or None.
    """
    with node.transaction() as session:
        seq, digest = chain_head(session)
        last = latest_head(session, node.party)
        if seq == 0 or (last is not None and last.log_seq >= seq):
            return None
        if not force and last is not None and not _moved(session, last.log_seq):
            return None
        ensure_own_key_recorded(session, node)  # verify finds the public key among the node's own keys
        me = signing_identity(session, node)
        now = node.clock.now()
        head = chain.make_head(
            me.private_key, party=node.party, seq=seq, hash_hex=digest, at=now, key_fingerprint=me.fingerprint
        )
        row = AuditHead(
            origin=node.party,
            id=new_id(),
            version=1,
            log_seq=seq,
            log_hash=digest,
            signed_at=now,
            key=me.fingerprint,
            sig=head["sig"],
            tlp="clear",
            handling="no_onward",
            created_at=now,
            withdraw_reason="",
            received_at=None,
        )
        session.add(row)
        records.add_version(session, node, HEADS, row, head, SIGNER.username)
        targets = sorted(peer_parties(session))
        if targets:
            records.release(session, node, SIGNER, HEADS, row, targets, content=head)
        return row


def conflicting_head(session: Session, party: str, seq: int, digest: str, at: Any) -> AuditHead | None:
    """A held head of ``party`` that a head ``(seq, digest, at)`` contradicts, if any."""
    same = AuditHead.origin == party
    candidates = [
        select(AuditHead).where(same, AuditHead.log_seq == seq, AuditHead.log_hash != digest),
        select(AuditHead).where(same, AuditHead.log_seq > seq, AuditHead.signed_at <= at),
        select(AuditHead).where(same, AuditHead.log_seq < seq, AuditHead.signed_at >= at),
    ]
    for query in candidates:
        held = session.scalars(query.limit(1)).first()
        if held is not None:
            return held
    return None


def apply_head(session: Session, node: Node, record: IncomingRecord) -> None:
    """A peer's signed head: checked (shape, signature with the peer's key, party) and kept as its witness,
    unless it contradicts a head of the same party held here (refused: quarantined, with an alert)."""
    try:
        head = chain.verify_head(record.content, peer_keys(session, record.origin))
    except chain.HeadError as exc:
        raise RecordRefused(f"audit head: {exc}", code=ErrorCode.BAD_AUDIT_HEAD) from exc
    if head["party"] != record.origin:
        raise RecordRefused(
            f"audit head of {head['party']} sent as a record of {record.origin}",
            code=ErrorCode.BAD_AUDIT_HEAD,
        )
    at = parse_time(head["at"])
    held = conflicting_head(session, record.origin, head["seq"], head["hash"], at)
    if held is not None:
        why = chain.contradiction(
            (held.log_seq, held.log_hash, held.signed_at), (head["seq"], head["hash"], at)
        )
        raise RecordRefused(
            f"audit head of {record.origin} contradicts one held here: {why}; its audit log was rewritten",
            code=ErrorCode.AUDIT_HEAD_CONFLICT,
        )

    def fill(row: AuditHead) -> None:
        row.log_seq, row.log_hash, row.signed_at = head["seq"], head["hash"], at
        row.key, row.sig = head["key"], head["sig"]

    records.store_received(
        session, node, HEADS, record, fill, new_row={"created_at": node.clock.now(), "withdraw_reason": ""}
    )


def withdraw_head(session: Session, node: Node, record: IncomingRecord) -> None:
    """A signed head is never withdrawn: what was witnessed stays witnessed."""
    raise RecordRefused("a signed audit head cannot be withdrawn", code=ErrorCode.BAD_AUDIT_HEAD)
