"""The one write path of live events: publish (in the caller's transaction), replay, prune.

``publish`` queues the event on the caller's session; just before that transaction commits (the
``before_commit`` event) the queued events are inserted under the commit-order lock, and after the commit they
are handed to this process's hub (``sarhad.live.hub``) so connected clients get them at once. A rolled-back
transaction publishes nothing, and neither does a rolled-back savepoint.

**Event ids are visible in id order.** The ids come from the table's sequence, taken while the transaction holds
the commit-order lock until it commits (PostgreSQL: the transaction-scoped advisory lock that also orders the
audit chain, :func:`sarhad.audit.appender.lock_chain`; SQLite: the database's write lock, which every writer
holds from its first write to its commit). So once event ``n`` is visible, every event below ``n`` is visible
too or will never exist (its transaction failed). A client that has seen every event up to ``n`` (the stream
sends them in id order) resumes exactly with ``Last-Event-ID: n``: nothing below can still turn up, nothing
above was sent. Two transactions that publish events take turns from their first event insert to their commit
(the lock is taken at the very end of the transaction, after its other writes, so it is held for the insert
and the commit only).

On PostgreSQL the same transaction sends ``NOTIFY sarhad_live, '<highest id>'``, which PostgreSQL delivers on
commit: the hubs of the other processes of the node (``sarhad.live.listener``) fetch the new events at once.

``publish_revocation`` records that a session (sign-out) or all of a user's sessions (disabled, new password)
ended. It is a control event with no audience, never sent to a client: each process's hub ends the open
streams of that session or user when it sees it (at once in the process that committed it, on the
notification in the others), so an open stream delivers nothing after its session ends.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from sarhad.audit.appender import lock_chain, within
from sarhad.core.clock import Clock
from sarhad.core.node import Node, after_commit
from sarhad.core.notify import LIVE_CHANNEL, notify
from sarhad.live.domain import MAX_POSITIONS, Audience, Event, check_topic
from sarhad.live.models import LiveEvent

PENDING = "sarhad.live.pending"
REVOKED_TOPIC = "auth.revoked"
RETENTION = timedelta(days=2)
REPLAY_LIMIT = 2000
CHANNEL: Final = LIVE_CHANNEL  # the PostgreSQL notification channel (payload: the highest new event id)


def as_event(row: LiveEvent) -> Event:
    return Event(
        id=row.id,
        topic=row.topic,
        at=row.at,
        audience=Audience.of(row.positions, row.permission),
        data=dict(row.data),
    )


def publish(
    session: Session,
    node: Node,
    topic: str,
    data: dict[str, Any],
    *,
    positions: Iterable[str] = (),
    permission: str | None = None,
) -> LiveEvent:
    """Record an event for the holders of ``positions`` (now) and/or users with ``permission``.

    The row is inserted when the caller's transaction commits (its ``id`` is set then: read it after the
    commit), and delivered to live clients after the commit.
    """
    check_topic(topic)
    audience = sorted(set(p for p in positions if p))
    if not audience and permission is None:
        raise ValueError("a live event needs an audience: positions or a permission")
    if len(audience) > MAX_POSITIONS:
        raise ValueError(f"a live event names at most {MAX_POSITIONS} positions")
    row = LiveEvent(topic=topic, at=node.clock.now(), positions=audience, permission=permission, data=data)
    _queue(session, row, node)
    return row


def publish_revocation(
    session: Session, clock: Clock, *, session_id: str | None = None, user_id: str | None = None
) -> LiveEvent:
    """Record that ``session_id`` ended, or every session of ``user_id``: open streams of it end.

    In the caller's transaction; the hubs act on it after the commit (see the module's text).
    """
    if not session_id and not user_id:
        raise ValueError("a revocation names a session or a user")
    data = {"session_id": session_id, "user_id": user_id}
    row = LiveEvent(topic=REVOKED_TOPIC, at=clock.now(), positions=[], permission=None, data=data)
    _queue(session, row)
    return row


@dataclass
class _Queued:
    transaction: SessionTransaction  # where it was published: a savepoint that rolls back takes it along
    row: LiveEvent


def _queue(session: Session, row: LiveEvent, node: Node | None = None) -> None:
    pending = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = _Pending(session)
    pending.node = pending.node or node
    current = session.get_nested_transaction() or session.get_transaction() or session.begin()
    pending.queued.append(_Queued(current, row))
    # Every time, not only the first: a hook added inside a savepoint that rolls back is dropped with it, and
    # this adds it again in the transaction now open (the same hook is added only once).
    after_commit(session, pending)


class _Pending:
    """The events a session published: inserted just before its commit, handed to the hub just after."""

    def __init__(self, session: Session) -> None:
        # A weak reference: this object lives in ``session.info``, and a strong one would make the session a
        # reference cycle that only the cyclic garbage collector frees. A served node then kept every
        # request's session (identity map and all) until a full collection, which paused requests for about
        # 100 ms (the hotline benchmark's maximum went from about 50 to about 120 ms).
        self.session = weakref.ref(session)
        self.engine = session.get_bind()
        self.node: Node | None = None  # known when an event was published with it; else found by engine
        self.queued: list[_Queued] = []
        self.inserted: list[LiveEvent] = []

    def insert(self, session: Session) -> None:
        """Insert the queued events under the commit-order lock (called just before the commit)."""
        rows = [queued.row for queued in self.queued]
        self.queued = []
        if not rows:
            return
        session.flush()  # the transaction's other writes first: the lock is held only from here to the commit
        lock_chain(session)
        session.add_all(rows)
        session.flush()
        self.inserted.extend(rows)
        notify(session, CHANNEL, str(max(row.id for row in rows)))  # to the other processes, on commit

    def __call__(self) -> None:
        """The after-commit hook: hand the committed events to the hub."""
        rows, self.inserted = self.inserted, []
        if not rows:
            return
        from sarhad.live.hub import Hub, hub_for  # the hub imports this module

        hub = self.node.components.get(Hub) if self.node is not None else hub_for(self.engine)
        if hub is not None:
            hub.publish_committed([as_event(row) for row in rows])


def _before_commit(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint is released: its events wait for the outermost commit
    pending: _Pending | None = session.info.get(PENDING)
    if pending is not None and pending.queued:
        pending.insert(session)


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    pending: _Pending | None = session.info.get(PENDING)
    if pending is None:
        return
    if previous.parent is None:
        pending.queued, pending.inserted = [], []
    else:  # a savepoint rolled back: its events never happened
        pending.queued = [q for q in pending.queued if not within(q.transaction, previous)]


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(PENDING, None)


# Every session of every node: an event queued on a session is inserted when (and only if) it commits.
event.listen(Session, "before_commit", _before_commit)
event.listen(Session, "after_soft_rollback", _after_soft_rollback)
event.listen(Session, "after_transaction_end", _after_transaction_end)


def events_after(session: Session, after: int, limit: int = REPLAY_LIMIT) -> Sequence[LiveEvent]:
    return session.scalars(
        select(LiveEvent).where(LiveEvent.id > after).order_by(LiveEvent.id).limit(limit)
    ).all()


def last_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(LiveEvent.id))) or 0)


def prune(session: Session, node: Node, *, older_than: timedelta = RETENTION) -> int:
    """Delete events older than the retention (a client away longer reloads its page instead).

    The newest event is always kept: on SQLite a new row's id is the highest id + 1, so an emptied table would
    hand out ids from 1 again, below what clients resume from."""
    cutoff: datetime = node.clock.now() - older_than
    newest = select(func.max(LiveEvent.id)).scalar_subquery()
    result = session.execute(delete(LiveEvent).where(LiveEvent.at < cutoff, LiveEvent.id < newest))
    return int(getattr(result, "rowcount", 0) or 0)
