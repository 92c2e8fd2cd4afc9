"""The one write path of live events: publish (in the caller's transaction), replay, prune.

``publish`` inserts the event in the caller's transaction and, after that transaction commits, hands it
to this process's hub (``sarhad.live.hub``) so connected clients get it at once. Other processes on the
same database see it through the hub's poller. A rolled-back transaction publishes nothing, and neither does a
rolled-back savepoint; the events published around it are handed over.

``publish_revocation`` records that a session (sign-out) or all of a user's sessions (disabled, new password)
ended. It is a control event with no audience, never sent to a client: each process's hub ends the open
streams of that session or user when it sees it (at once in the process that committed it, within a poll in
the others), so an open stream delivers nothing after its session ends.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sarhad.core.clock import Clock
from sarhad.core.node import Node, after_commit
from sarhad.live.domain import MAX_POSITIONS, Audience, Event, check_topic
from sarhad.live.models import LiveEvent

PENDING = "sarhad.live.pending"
REVOKED_TOPIC = "auth.revoked"
RETENTION = timedelta(days=2)
REPLAY_LIMIT = 2000


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

    Delivered to live clients only after the caller's transaction commits.
    """
    check_topic(topic)
    audience = sorted(set(p for p in positions if p))
    if not audience and permission is None:
        raise ValueError("a live event needs an audience: positions or a permission")
    if len(audience) > MAX_POSITIONS:
        raise ValueError(f"a live event names at most {MAX_POSITIONS} positions")
    row = LiveEvent(topic=topic, at=node.clock.now(), positions=audience, permission=permission, data=data)
    session.add(row)
    session.flush()
    _hand_over_after_commit(session, row, node)
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
    session.add(row)
    session.flush()
    _hand_over_after_commit(session, row)
    return row


def _hand_over_after_commit(session: Session, row: LiveEvent, node: Node | None = None) -> None:
    pending = session.info.get(PENDING)
    if pending is None:
        pending = session.info[PENDING] = _Pending(session)
    pending.node = pending.node or node
    pending.rows.append(row)
    # Every time, not only the first: a hook added inside a savepoint that rolls back is dropped with it, and
    # this adds it again in the transaction now open (the same hook is added only once).
    after_commit(session, pending)


class _Pending:
    """The events a session published, handed to this process's hub after its transaction commits."""

    def __init__(self, session: Session) -> None:
        # A weak reference: this object lives in ``session.info``, and a strong one would make the session a
        # reference cycle that only the cyclic garbage collector frees. A served node then kept every
        # request's session (identity map and all) until a full collection, which paused requests for about
        # 100 ms (the hotline benchmark's maximum went from about 50 to about 120 ms).
        self.session = weakref.ref(session)
        self.engine = session.get_bind()
        self.node: Node | None = None  # known when an event was published with it; else found by engine
        self.rows: list[LiveEvent] = []

    def __call__(self) -> None:
        """The after-commit hook: hand the committed events to the hub."""
        rows, self.rows = self.rows, []
        session = self.session()
        if session is None:
            return
        # A row inserted in a savepoint that rolled back (or in a transaction that did) is no longer in the
        # session: SQLAlchemy expunges what such a rollback un-inserted. Only committed events go out.
        committed = [row for row in rows if row in session]
        from sarhad.live.hub import Hub, hub_for  # the hub imports this module

        hub = self.node.components.get(Hub) if self.node is not None else hub_for(self.engine)
        if hub is not None and committed:
            hub.publish_committed([as_event(row) for row in committed])


def events_after(session: Session, after: int, limit: int = REPLAY_LIMIT) -> Sequence[LiveEvent]:
    return session.scalars(
        select(LiveEvent).where(LiveEvent.id > after).order_by(LiveEvent.id).limit(limit)
    ).all()


def last_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(LiveEvent.id))) or 0)


def prune(session: Session, node: Node, *, older_than: timedelta = RETENTION) -> int:
    """Delete events older than the retention (a client away longer reloads its page instead)."""
    cutoff: datetime = node.clock.now() - older_than
    result = session.execute(delete(LiveEvent).where(LiveEvent.at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
