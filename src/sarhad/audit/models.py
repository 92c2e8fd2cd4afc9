"""The audit table and the signed heads of audit logs (own and witnessed).

Database triggers (see the migrations) refuse UPDATE and DELETE on ``audit_log``, and an INSERT that would
replace an entry; the hash chain (``seq``, ``prev_hash``, ``entry_hash``; ``audit.chain``) makes any change
that gets past them visible to ``sarhad audit verify``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.database import Base, UtcDateTime


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(64))  # not indexed: see migration 0008
    outcome: Mapped[str] = mapped_column(String(16))  # ok | denied | failed
    record_kind: Mapped[str | None] = mapped_column(String(64), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The hash chain (docs/audit.md): the entry's place in the log, its predecessor's hash and its own.
    # Null only for a row written past the node's code (``verify`` names it).
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True, unique=True, index=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    entry_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditHead(Base):
    """A signed head of an audit log: this node's own (``origin`` = this party), released to every peer, or a
    peer's, received and kept here as its witness. A shared record kind (``audit.head``, ``audit.heads``)."""

    __tablename__ = "audit_heads"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    log_seq: Mapped[int] = mapped_column(BigInteger)
    log_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    key: Mapped[str] = mapped_column(String(64))
    sig: Mapped[str] = mapped_column(String(100))
    tlp: Mapped[str] = mapped_column(String(16))
    handling: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_audit_heads_origin_seq", "origin", "log_seq"),)
