"""Waking the node's other processes when a transaction commits: PostgreSQL ``NOTIFY``, sent in the transaction
(PostgreSQL delivers it on commit, and drops it on rollback). Nothing on SQLite, which has no notifications.

Channels (each app process listens to both: ``sarhad.live.listener``):

- ``sarhad_live``: live events were committed; the payload is the highest new event id (``sarhad.live``).
- ``sarhad_outbox``: envelopes to a peer were written; the payload is ``<sender> <party>``, and the delivery
  workers of the other processes wake for ``party`` (the sender's own worker was woken by its after-commit hook).
"""

from __future__ import annotations

import os
from typing import Final

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

LIVE_CHANNEL: Final = "sarhad_live"
OUTBOX_CHANNEL: Final = "sarhad_outbox"
_SENT: Final = "sarhad.notify.sent"


def sender_of(engine: Engine | Connection) -> str:
    """Who sent a notification: this process and this engine (a process may hold two nodes' engines)."""
    return f"{os.getpid()}.{id(engine):x}"


def notify(session: Session, channel: str, payload: str) -> None:
    """``NOTIFY channel, payload`` in the session's transaction (PostgreSQL; once per transaction each)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    sent: tuple[object, set[tuple[str, str]]] | None = session.info.get(_SENT)
    if sent is None or sent[0] is not transaction:
        sent = session.info[_SENT] = (transaction, set())
    if (channel, payload) in sent[1]:
        return
    sent[1].add((channel, payload))
    connection.exec_driver_sql("SELECT pg_notify(%s, %s)", (channel, payload))
