"""What every act on a message leaves besides the message's own columns: the timeline entry, the live event
for the positions that follow it, and the record released to the counterpart (in the same transaction: the
exchange's transactional outbox).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor
from sarhad.core.node import Node
from sarhad.exchange import release as exchange_release
from sarhad.exchange.domain import Handling, Tlp
from sarhad.hotline.access import audience
from sarhad.hotline.models import HotlineEvent, HotlineMessage
from sarhad.live import services as live

TLP = Tlp.AMBER.value
HANDLING = Handling.NO_ONWARD.value


def add_event(
    session: Session,
    node: Node,
    message: HotlineMessage,
    kind: str,
    *,
    party: str,
    at: datetime,
    actor: str,
    details: dict[str, Any] | None = None,
) -> HotlineEvent:
    """A timeline entry: ``party``'s act at ``at`` (that party's clock), recorded now on this node's clock."""
    row = HotlineEvent(
        message_origin=message.origin,
        message_id=message.id,
        kind=kind,
        party=party,
        at=at,
        recorded_at=node.clock.now(),
        actor=actor,
        details=details or {},
    )
    session.add(row)
    return row


def publish(session: Session, node: Node, message: HotlineMessage, change: str, **extra: Any) -> None:
    """The live event ``hotline.<change>`` for the positions on this node that follow the message."""
    direction = "out" if message.origin == node.party else "in"
    data = {
        "change": change,
        "message": message.id,
        "origin": message.origin,
        "thread": message.thread_id,
        "direction": direction,
        "state": message.state,
        "precedence": message.precedence,
        "subject": message.subject,
        "from_position": message.from_position_id,
        "to_position": message.to_position_id,
        "needs_ack": direction == "in" and message.acknowledged_at is None,
        "link_down": message.link_down_at is not None and message.delivered_at is None,
        **extra,
    }
    live.publish(session, node, f"hotline.{change}", data, positions=audience(message, node.party))


def release(
    session: Session, node: Node, actor: Actor, kind: str, record_id: str, content: dict[str, Any], to: str
) -> None:
    """Release one hotline record to the counterpart party, in the caller's transaction."""
    item = exchange_release.ReleaseItem(
        kind=kind, record_id=record_id, version=1, content=content, to=[to], handling=HANDLING, tlp=TLP
    )
    exchange_release.release_records(session, node, [item], actor=actor)
