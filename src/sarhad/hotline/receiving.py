"""The receiving side's handlers of records from the sender: a message arrives (stored as delivered, its
escalation plan frozen, the addressed holders alerted), and the sender closes a message.

A record that does not fit raises :class:`RecordRefused`; the exchange quarantines it, raises an alert, and
nothing of it is applied.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.models import Position
from sarhad.audit.services import record_event
from sarhad.core.errors import RecordRefused
from sarhad.core.formats import iso_utc
from sarhad.core.node import Node
from sarhad.exchange.registry import IncomingRecord
from sarhad.hotline import domain
from sarhad.hotline.configuration import deadlines, policy_of
from sarhad.hotline.domain import MESSAGE_KIND, State
from sarhad.hotline.models import HotlineChannel, HotlineMessage
from sarhad.hotline.schemas import CloseContent, MessageContent
from sarhad.hotline.trail import add_event, publish


def apply_message(session: Session, node: Node, record: IncomingRecord) -> None:
    """A message arrives: store it as delivered, freeze its escalation plan, alert the addressed holders."""
    if session.get(HotlineMessage, (record.origin, record.record_id)) is not None:
        return
    content = MessageContent.model_validate(record.content)
    position = session.get(Position, content.to_position)
    if position is None or position.party != node.party:
        raise RecordRefused(
            f"message addressed to {content.to_position!r}, which is not a position of {node.party}"
        )
    now = node.clock.now()
    deadline = deadlines(session)[content.precedence.value]
    steps, repeats = policy_of(session, position.id)
    parents = {
        pid: parent
        for pid, parent in session.execute(
            select(Position.id, Position.parent_id).where(Position.party == node.party)
        )
    }
    plan = domain.plan_escalation(steps, repeats, deadline, position.id, parents)
    frozen = {
        "steps": [{"wait_seconds": s.wait_seconds, "notify": s.notify} for s in steps],
        "max_repeats": repeats,
        "deadline_seconds": deadline,
        "plan": [p.as_dict() for p in plan],
    }
    message = HotlineMessage(
        origin=record.origin,
        id=record.record_id,
        channel_id=session.scalar(
            select(HotlineChannel.id).where(
                HotlineChannel.own_position_id == position.id,
                HotlineChannel.counterpart_party == record.origin,
                HotlineChannel.counterpart_position_id == content.from_position,
            )
        ),
        from_party=record.origin,
        from_position_id=content.from_position,
        from_position_names=content.from_position_names,
        to_party=node.party,
        to_position_id=position.id,
        to_position_names=content.to_position_names or position.names,
        precedence=content.precedence.value,
        subject=content.subject,
        body=content.body,
        lat=content.lat,
        lon=content.lon,
        incident=content.incident,
        reply_to_origin=content.reply_to.origin if content.reply_to else None,
        reply_to_id=content.reply_to.id if content.reply_to else None,
        thread_origin=content.thread.origin,
        thread_id=content.thread.id,
        sent_by=content.sent_by,
        sent_by_name=content.sent_by_name,
        content_hash=record.content_hash,
        state=State.DELIVERED.value,
        created_at=content.created_at,
        delivered_at=now,
        ack_deadline_seconds=deadline,
        ack_due_at=now + timedelta(seconds=deadline),
        escalation_policy=frozen,
        escalation_step=0,
        next_escalation_at=now + timedelta(seconds=plan[0].offset_seconds) if plan else None,
        escalated_positions=[],
        escalations=0,
    )
    session.add(message)
    session.flush()
    add_event(
        session, node, message, "queued", party=record.origin, at=content.created_at, actor=content.sent_by
    )
    add_event(
        session,
        node,
        message,
        "delivered",
        party=node.party,
        at=now,
        actor=f"peer:{record.origin}",
        details={"link": record.link, "seq": record.seq, "ack_due_at": iso_utc(message.ack_due_at)},
    )
    record_event(
        session,
        node.clock,
        actor=f"peer:{record.origin}",
        action="hotline.receive",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        details={"to": position.id, "precedence": message.precedence, "content_hash": record.content_hash},
    )
    publish(session, node, message, "message", from_names=message.from_position_names)


def apply_close(session: Session, node: Node, record: IncomingRecord) -> None:
    """The sender closed its message: close it here too and stop escalating it."""
    content = CloseContent.model_validate(record.content)
    ref = content.message
    message = session.get(HotlineMessage, (ref.origin, ref.id))
    if message is None or ref.origin != record.origin:
        raise RecordRefused(
            f"hotline.close from {record.origin} for message {ref.id}, which it did not send here"
        )
    if message.closed_at is not None:
        return
    message.closed_at, message.closed_remote_at, message.closed_by = (
        node.clock.now(),
        content.closed_at,
        content.by,
    )
    message.state = domain.advance(message.state, State.CLOSED.value)
    message.next_escalation_at = None
    add_event(session, node, message, "closed", party=record.origin, at=content.closed_at, actor=content.by)
    publish(session, node, message, "closed")
