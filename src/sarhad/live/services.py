"""The one write path of live events: publish (in the caller's transaction), replay, prune.

``publish`` inserts the event in the caller's transaction and, after that transaction commits, hands it
to this process's hub (``sarhad.live.hub``) so connected clients get it at once. Other processes on the
same database see it through the hub's poller. A rolled-back transaction publishes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from sarhad.core.node import Node, after_commit
from sarhad.live.domain import MAX_POSITIONS, Audience, Event, check_topic
from sarhad.live.models import LiveEvent

PENDING = "sarhad.live.pending"
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
    pending: list[LiveEvent] | None = session.info.get(PENDING)
    if pending is None:
        pending = []
        session.info[PENDING] = pending

        def hand_over() -> None:
            rows = session.info.pop(PENDING, [])
            from sarhad.live.hub import Hub  # the hub imports this module

            hub = node.components.get(Hub)
            if hub is not None and rows:
                hub.publish_committed([as_event(r) for r in rows])

        after_commit(session, hand_over)
    pending.append(row)
    return row


def forget_pending(session: Session) -> None:
    """Drop events of a rolled-back transaction (their rows are gone)."""
    session.info.pop(PENDING, None)


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
