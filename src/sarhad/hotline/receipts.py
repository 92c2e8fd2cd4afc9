"""What comes back to the sender: the receiver's signed receipt (delivered), and its ``hotline.seen``,
``hotline.ack`` and ``hotline.escalation`` records for a message this node sent.

Such a record must refer to a message this node sent to the record's origin (and ``seen``/``ack`` must bind
the content hash of exactly that message); otherwise it raises :class:`RecordRefused` and the exchange
quarantines it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from sarhad.audit.services import record_event
from sarhad.core.errors import RecordRefused
from sarhad.core.formats import iso_utc
from sarhad.core.node import Node
from sarhad.exchange.registry import IncomingRecord, ReceiptedRecord
from sarhad.hotline import domain
from sarhad.hotline.domain import MESSAGE_KIND, State
from sarhad.hotline.models import HotlineMessage
from sarhad.hotline.schemas import AckContent, EscalationContent, RecordRef, SeenContent
from sarhad.hotline.trail import add_event, publish


def on_message_receipted(session: Session, node: Node, party: str, records: list[ReceiptedRecord]) -> None:
    """The receiver's signed receipt now covers these messages: they are delivered."""
    now = node.clock.now()
    for rec in records:
        message = session.get(HotlineMessage, (node.party, rec.record_id))
        if message is None or message.delivered_at is not None:
            continue
        message.delivered_at = now
        message.state = domain.advance(message.state, State.DELIVERED.value)
        add_event(
            session,
            node,
            message,
            "delivered",
            party=node.party,
            at=now,
            actor=f"receipt:{party}",
            details={"link": rec.link, "seq": rec.seq},
        )
        publish(session, node, message, "delivered")


def _own_message(
    session: Session, node: Node, record: IncomingRecord, ref: RecordRef, content_hash: str | None
) -> HotlineMessage:
    if ref.origin != node.party:
        raise RecordRefused(f"{record.kind} from {record.origin} refers to {ref.origin}'s message {ref.id}")
    message = session.get(HotlineMessage, (node.party, ref.id))
    if message is None:
        raise RecordRefused(
            f"{record.kind} from {record.origin} for message {ref.id}, which this node never sent"
        )
    if message.to_party != record.origin:
        raise RecordRefused(
            f"{record.kind} from {record.origin} for message {ref.id}, which went to {message.to_party}"
        )
    if content_hash is not None and content_hash != message.content_hash:
        raise RecordRefused(f"{record.kind} for message {ref.id} names content we never sent")
    return message


def _delivered_by_evidence(
    session: Session, node: Node, message: HotlineMessage, remote_at: datetime, who: str
) -> None:
    message.delivered_remote_at = message.delivered_remote_at or remote_at
    if message.delivered_at is None:  # the receipt is still on its way; the record itself proves delivery
        message.delivered_at = node.clock.now()
        message.state = domain.advance(message.state, State.DELIVERED.value)
        add_event(session, node, message, "delivered", party=message.to_party, at=remote_at, actor=who)


def apply_seen(session: Session, node: Node, record: IncomingRecord) -> None:
    """The receiver opened our message: record its time (the record also proves delivery)."""
    content = SeenContent.model_validate(record.content)
    message = _own_message(session, node, record, content.message, content.message_content_hash)
    if message.seen_remote_at is not None:
        return
    _delivered_by_evidence(session, node, message, content.delivered_at, f"peer:{record.origin}")
    message.seen_remote_at, message.seen_at, message.seen_by = content.seen_at, node.clock.now(), content.by
    message.state = domain.advance(message.state, State.SEEN.value)
    add_event(
        session,
        node,
        message,
        "seen",
        party=record.origin,
        at=content.seen_at,
        actor=content.by,
        details={"position": content.position, "link": record.link, "seq": record.seq},
    )
    publish(session, node, message, "seen")


def apply_ack(session: Session, node: Node, record: IncomingRecord) -> None:
    """The receiver's signed acknowledgement of our message; the first one counts, a later one changes nothing."""
    content = AckContent.model_validate(record.content)
    message = _own_message(session, node, record, content.message, content.message_content_hash)
    if message.acknowledged_at is not None:
        return  # one acknowledgement counts; a later one changes nothing
    _delivered_by_evidence(session, node, message, content.delivered_at, f"peer:{record.origin}")
    now = node.clock.now()
    message.seen_remote_at = message.seen_remote_at or content.seen_at
    message.seen_at = message.seen_at or now
    message.acknowledged_at, message.acknowledged_remote_at = now, content.acknowledged_at
    message.acknowledged_by, message.acknowledged_by_name = content.by, content.by_name
    message.acknowledged_position_id, message.ack_reply = content.position, content.reply
    message.ack_record_id = record.record_id
    message.state = domain.advance(message.state, State.ACKNOWLEDGED.value)
    add_event(
        session,
        node,
        message,
        "acknowledged",
        party=record.origin,
        at=content.acknowledged_at,
        actor=content.by,
        details={
            "position": content.position,
            "by_name": content.by_name,
            "reply": content.reply,
            "link": record.link,
            "seq": record.seq,
            "content_hash": record.content_hash,
        },
    )
    record_event(
        session,
        node.clock,
        actor=f"peer:{record.origin}",
        action="hotline.ack.received",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        details={"by": content.by, "envelope": f"{record.link}#{record.seq}"},
    )
    publish(session, node, message, "acknowledged")


def apply_escalation(session: Session, node: Node, record: IncomingRecord) -> None:
    """The receiver escalated our unacknowledged message: the sender's page shows to whom."""
    content = EscalationContent.model_validate(record.content)
    message = _own_message(session, node, record, content.message, None)
    _delivered_by_evidence(session, node, message, content.delivered_at, f"peer:{record.origin}")
    message.escalations += 1
    add_event(
        session,
        node,
        message,
        "escalated",
        party=record.origin,
        at=content.at,
        actor="system",
        details={
            "step": content.step,
            "of_steps": content.of_steps,
            "due_at": iso_utc(content.due_at),
            "target": content.target_position,
            "target_names": content.target_names,
            "notified": content.notified,
            "link": record.link,
            "seq": record.seq,
        },
    )
    publish(
        session,
        node,
        message,
        "escalated",
        target=content.target_position,
        target_names=content.target_names,
        step=content.step,
    )
