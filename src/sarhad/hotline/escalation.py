"""Run by the worker: escalation of received messages not acknowledged in time (the receiving side), and the
loud notice that an urgent message of ours was not delivered (the sending side).

Each step is claimed with a compare-and-set UPDATE, so several processes never take it twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sarhad.accounts.actors import SystemActor
from sarhad.accounts.models import Position
from sarhad.accounts.services import current_holders
from sarhad.audit.services import record_event
from sarhad.core.formats import iso_utc
from sarhad.core.node import Node
from sarhad.hotline import domain
from sarhad.hotline.domain import ESCALATION_KIND, MESSAGE_KIND
from sarhad.hotline.models import HotlineMessage
from sarhad.hotline.schemas import EscalationContent
from sarhad.hotline.trail import add_event, publish, release


def due_escalations(session: Session, now: datetime, limit: int = 100) -> list[tuple[str, str, int]]:
    """(origin, id, steps taken) of received messages whose next escalation step is due, oldest due first."""
    rows = session.execute(
        select(HotlineMessage.origin, HotlineMessage.id, HotlineMessage.escalation_step)
        .where(HotlineMessage.next_escalation_at.is_not(None), HotlineMessage.next_escalation_at <= now)
        .where(HotlineMessage.acknowledged_at.is_(None))
        .order_by(HotlineMessage.next_escalation_at)
        .limit(limit)
    ).all()
    return [(o, i, s) for o, i, s in rows]


def next_due(session: Session) -> datetime | None:
    """When the next escalation step falls due (None: none is pending)."""
    return session.scalar(
        select(HotlineMessage.next_escalation_at)
        .where(HotlineMessage.next_escalation_at.is_not(None), HotlineMessage.acknowledged_at.is_(None))
        .order_by(HotlineMessage.next_escalation_at)
        .limit(1)
    )


def escalate(session: Session, node: Node, origin: str, message_id: str, step_done: int) -> bool:
    """Take one due escalation step, if no other process took it first (compare-and-set on the step).

    Returns True if this call escalated. The step is recorded, published live and reported to the sender.
    """
    message = session.get(HotlineMessage, (origin, message_id))
    if message is None or message.escalation_policy is None or message.delivered_at is None:
        return False
    plan = [domain.PlannedStep(**p) for p in message.escalation_policy.get("plan", [])]
    if step_done >= len(plan):
        return False
    following = plan[step_done + 1] if step_done + 1 < len(plan) else None
    next_at = message.delivered_at + timedelta(seconds=following.offset_seconds) if following else None
    claimed = session.execute(
        update(HotlineMessage)
        .where(
            HotlineMessage.origin == origin,
            HotlineMessage.id == message_id,
            HotlineMessage.escalation_step == step_done,
            HotlineMessage.acknowledged_at.is_(None),
        )
        .values(escalation_step=step_done + 1, next_escalation_at=next_at)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return False
    session.refresh(message)
    step = plan[step_done]
    now = node.clock.now()
    due = message.delivered_at + timedelta(seconds=step.offset_seconds)
    target = session.get(Position, step.target)
    target_names = target.names if target else {"en": step.target}
    notified = [u.username for u in current_holders(session, step.target, now)]
    if step.target not in message.escalated_positions and step.target != message.to_position_id:
        message.escalated_positions = [*message.escalated_positions, step.target]
    message.escalations += 1
    add_event(
        session,
        node,
        message,
        "escalated",
        party=node.party,
        at=now,
        actor="system",
        details={
            "step": step.number,
            "of_steps": len(plan),
            "due_at": iso_utc(due),
            "target": step.target,
            "target_names": target_names,
            "notified": notified,
            "late_ms": round((now - due).total_seconds() * 1000),
        },
    )
    content = EscalationContent(
        message={"origin": message.origin, "id": message.id},
        step=step.number,
        of_steps=len(plan),
        delivered_at=message.delivered_at,
        due_at=due,
        at=now,
        target_position=step.target,
        target_names=target_names,
        notified=notified,
    ).model_dump(mode="json")
    release(
        session,
        node,
        SystemActor("system"),
        ESCALATION_KIND,
        f"{message.id}.esc.{step.number}",
        content,
        message.origin,
    )
    record_event(
        session,
        node.clock,
        actor="system",
        action="hotline.escalate",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        details={"step": step.number, "target": step.target, "notified": notified},
    )
    publish(
        session, node, message, "escalated", target=step.target, target_names=target_names, step=step.number
    )
    return True


def overdue_undelivered(session: Session, node: Node) -> list[tuple[str, str]]:
    """Our urgent messages still undelivered ``LINK_DOWN_SECONDS`` after queueing, not yet noted."""
    cutoff = node.clock.now() - timedelta(seconds=domain.LINK_DOWN_SECONDS)
    rows = session.execute(
        select(HotlineMessage.origin, HotlineMessage.id).where(
            HotlineMessage.origin == node.party,
            HotlineMessage.delivered_at.is_(None),
            HotlineMessage.link_down_at.is_(None),
            HotlineMessage.precedence.in_(sorted(domain.URGENT)),
            HotlineMessage.created_at <= cutoff,
        )
    ).all()
    return [(o, i) for o, i in rows]


def next_link_check(session: Session, node: Node) -> datetime | None:
    """When the oldest urgent message of ours still undelivered reaches ``LINK_DOWN_SECONDS``."""
    first = session.scalar(
        select(HotlineMessage.created_at)
        .where(
            HotlineMessage.origin == node.party,
            HotlineMessage.delivered_at.is_(None),
            HotlineMessage.link_down_at.is_(None),
            HotlineMessage.precedence.in_(sorted(domain.URGENT)),
        )
        .order_by(HotlineMessage.created_at)
        .limit(1)
    )
    return first + timedelta(seconds=domain.LINK_DOWN_SECONDS) if first is not None else None


def note_link_down(session: Session, node: Node, origin: str, message_id: str) -> bool:
    """Record (once, compare-and-set) that an urgent message is still undelivered: the sender is told loudly."""
    now = node.clock.now()
    claimed = session.execute(
        update(HotlineMessage)
        .where(
            HotlineMessage.origin == origin,
            HotlineMessage.id == message_id,
            HotlineMessage.link_down_at.is_(None),
            HotlineMessage.delivered_at.is_(None),
        )
        .values(link_down_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        return False
    message = session.get(HotlineMessage, (origin, message_id))
    assert message is not None
    session.refresh(message)
    add_event(
        session,
        node,
        message,
        "link_down",
        party=node.party,
        at=now,
        actor="system",
        details={"after_seconds": domain.LINK_DOWN_SECONDS},
    )
    record_event(
        session,
        node.clock,
        actor="system",
        action="hotline.link_down",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
    )
    publish(session, node, message, "link_down")
    return True
