"""Appending to the hash-chained audit log: one writer at a time, at the very end of each transaction.

``record_event`` and ``record_events`` queue their entries on the session; just before the outermost commit
(the ``before_commit`` event) the queued entries are chained and inserted:

1. the session is flushed, so every other write of the transaction is done (and holds its row locks) first;
2. the chain is locked: on PostgreSQL a transaction-scoped advisory lock (:data:`CHAIN_LOCK`), on SQLite the
   database's write lock that the transaction already holds (``BEGIN IMMEDIATE``) or takes now;
3. the head (the entry with the highest ``seq``) is read, and each queued entry gets ``seq = head + 1, …``,
   ``prev_hash`` and ``entry_hash`` (``audit.chain``), and ``at`` = now;
4. the rows are inserted (one statement) and the transaction commits, which releases the lock.

So the chain is in commit order and cannot fork: the lock is held only from the audit insert to the commit
(never while the transaction waits for another row lock, so it cannot deadlock), and ``seq`` is unique in
the database as a last guard. ``at`` is the time the entry joined the log, so it never decreases along the
chain (``verify`` checks that: a back-dated entry shows). Entries queued in a savepoint that rolls back are
dropped with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from sarhad.audit import chain
from sarhad.audit.models import AuditEntry
from sarhad.core.clock import Clock
from sarhad.core.database import insert_rows, table_of
from sarhad.exchange.protocol import format_time

_QUEUE: Final = "sarhad.audit.queue"
# The key of the PostgreSQL advisory lock that serialises appends (any fixed number; docs/audit.md names it).
CHAIN_LOCK: Final = 0x5A_52_48_41_44_41


@dataclass
class _Queued:
    transaction: SessionTransaction
    clock: Clock
    rows: list[dict[str, Any]] = field(default_factory=list)


def enqueue(session: Session, clock: Clock, rows: list[dict[str, Any]]) -> None:
    """Queue entries (``actor``, ``action``, ``outcome``, ``record_kind``, ``record_id``, ``client_ip``,
    ``details``) to be chained and inserted when the session's transaction commits."""
    if not rows:
        return
    current = session.get_nested_transaction() or session.get_transaction() or session.begin()
    queue: list[_Queued] = session.info.setdefault(_QUEUE, [])
    if queue and queue[-1].transaction is current:
        queue[-1].rows.extend(rows)
        queue[-1].clock = clock
    else:
        queue.append(_Queued(current, clock, list(rows)))


_HEAD_SQL: Final = "SELECT seq, entry_hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"


def lock_chain(session: Session) -> None:
    """Take the append lock for the rest of the transaction (PostgreSQL; SQLite's write lock serves)."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CHAIN_LOCK})")


def chain_head(session: Session) -> tuple[int, str]:
    """``(seq, hash)`` of the last chained entry; ``(0, GENESIS_HASH)`` for an empty log.

    Plain SQL on the session's connection: this runs in every audited commit, and the ORM's statement
    handling cost more than the indexed lookup itself."""
    row = session.connection().exec_driver_sql(_HEAD_SQL).first()
    if row is None or row[0] is None:
        return 0, chain.GENESIS_HASH
    return int(row[0]), str(row[1])


def append_now(session: Session, clock: Clock, rows: list[dict[str, Any]]) -> None:
    """Chain and insert entries at once (the queue's last step; the caller commits right after)."""
    if not rows:
        return
    lock_chain(session)
    seq, prev = chain_head(session)
    at = clock.now()
    at_text = format_time(at)
    chained = []
    for row in rows:
        seq += 1
        details, plain = chain.safe_and_plain(row.get("details") or {})
        values = {
            "at": at,
            "actor": row["actor"],
            "action": row["action"],
            "outcome": row.get("outcome", "ok"),
            "record_kind": row.get("record_kind"),
            "record_id": row.get("record_id"),
            "client_ip": row.get("client_ip", ""),
            "details": details,
        }
        digest = chain.entry_hash_of_safe(plain=plain, seq=seq, prev=prev, **{**values, "at": at_text})
        chained.append({**values, "seq": seq, "prev_hash": prev, "entry_hash": digest})
        prev = digest
    insert_rows(session, table_of(AuditEntry), chained)


def _before_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint is released: its entries wait for the outermost commit
    queue: list[_Queued] = session.info.pop(_QUEUE, [])
    if not queue:
        return
    session.flush()  # the transaction's other writes first: the chain lock is held only from here to commit
    rows = [row for queued in queue for row in queued.rows]
    append_now(session, queue[-1].clock, rows)


def within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    """Whether ``transaction`` is ``ancestor`` or nested in it (a savepoint that rolls back drops what its
    descendants queued)."""
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    queue: list[_Queued] | None = session.info.get(_QUEUE)
    if not queue:
        return
    if previous.parent is None:
        session.info.pop(_QUEUE, None)
    else:  # a savepoint rolled back: its entries never happened
        session.info[_QUEUE] = [q for q in queue if not within(q.transaction, previous)]


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_QUEUE, None)


# Every session of every node: an entry queued on a session is appended when (and only if) it commits.
event.listen(Session, "before_commit", _before_commit)
event.listen(Session, "after_soft_rollback", _after_soft_rollback)
event.listen(Session, "after_transaction_end", _after_transaction_end)
