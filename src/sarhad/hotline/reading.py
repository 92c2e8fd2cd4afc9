"""Reading the hotline: one message (audited), the filtered list of a viewer's messages, a message's
timeline and thread, the receiver's signed acknowledgement as the sender holds it, and the FLASH alerts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core.errors import Conflict, ErrorCode, NotFound, PermissionDenied
from sarhad.core.formats import iso_utc, like_pattern
from sarhad.core.node import Node
from sarhad.exchange.models import ReceivedRecord
from sarhad.hotline import domain
from sarhad.hotline.access import Actor, audience, held_positions, may_read, sees_everything
from sarhad.hotline.domain import ACK_KIND, MESSAGE_KIND
from sarhad.hotline.models import HotlineEvent, HotlineMessage

MAX_LIST = 1000


def find_message(session: Session, message_id: str, origin: str | None = None) -> HotlineMessage:
    """The message held here with this id (and origin, if given); no permission check."""
    query = select(HotlineMessage).where(HotlineMessage.id == message_id)
    if origin:
        query = query.where(HotlineMessage.origin == origin)
    rows = session.scalars(query).all()
    if not rows:
        raise NotFound(f"no hotline message {message_id} is held here (never delivered to this node)")
    if len(rows) > 1:
        raise Conflict(f"message id {message_id} is ambiguous; name its origin", code=ErrorCode.AMBIGUOUS)
    return rows[0]


def get_message(
    session: Session, node: Node, actor: Actor, message_id: str, *, client_ip: str = "", audit: bool = True
) -> HotlineMessage:
    """A message the actor may read (a holder of the position it concerns); reading is audited (``audit``
    False only for a page's own live refresh of a message it has already shown, and audited)."""
    require(actor, Permission.HOTLINE_READ, "reading the hotline")
    message = find_message(session, message_id)
    held = held_positions(session, node, actor)
    if not may_read(node, actor, message, held):
        raise PermissionDenied(
            f"message {message_id} concerns {', '.join(audience(message, node.party))}; you hold none of them",
            code=ErrorCode.NOT_HOLDER,
        )
    if not audit:
        return message
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.read",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        client_ip=client_ip,
    )
    return message


@dataclass(frozen=True)
class MessageFilter:
    """What the message list is narrowed to (every field optional but ``limit``)."""

    position: str | None = None
    direction: str | None = None  # "in" or "out"
    state: str | None = None
    precedence: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    limit: int = 200


def list_messages(session: Session, node: Node, actor: Actor, flt: MessageFilter) -> Sequence[HotlineMessage]:
    """Messages of the positions the actor holds now (all of them for hotline admins and auditors), newest
    first, at most ``flt.limit``.

    The database narrows by the columns; whether a received message was escalated to one of the viewer's
    positions (a JSON list) is decided here, row by row, the same on every database. Rows are read in pages
    (keyset, so a message written meanwhile is never counted twice) until the limit is reached or none are
    left: a page is full whenever more matching messages exist.
    """
    require(actor, Permission.HOTLINE_READ, "reading the hotline")
    held = held_positions(session, node, actor)
    everything = sees_everything(actor, held)
    query = select(HotlineMessage)
    if not everything:
        positions = sorted(held or ())
        if not positions:
            return []
        query = query.where(
            or_(
                (HotlineMessage.origin == node.party) & HotlineMessage.from_position_id.in_(positions),
                (HotlineMessage.origin != node.party) & HotlineMessage.to_position_id.in_(positions),
                # escalated to one of them? (the JSON list is checked below, the same on every database)
                (HotlineMessage.origin != node.party) & (HotlineMessage.escalations > 0),
            )
        )
    if flt.position:
        query = query.where(
            or_(
                (HotlineMessage.origin == node.party) & (HotlineMessage.from_position_id == flt.position),
                (HotlineMessage.origin != node.party) & (HotlineMessage.to_position_id == flt.position),
                (HotlineMessage.origin != node.party) & (HotlineMessage.escalations > 0),
            )
        )
    if flt.direction == "in":
        query = query.where(HotlineMessage.origin != node.party)
    elif flt.direction == "out":
        query = query.where(HotlineMessage.origin == node.party)
    if flt.state:
        query = query.where(HotlineMessage.state == flt.state)
    if flt.precedence:
        query = query.where(HotlineMessage.precedence == flt.precedence)
    if flt.since:
        query = query.where(HotlineMessage.created_at >= flt.since)
    if flt.until:
        query = query.where(HotlineMessage.created_at < flt.until)
    if flt.text:
        pattern = like_pattern(flt.text)  # "50%" and "a_b" are searched for literally
        query = query.where(
            or_(
                HotlineMessage.subject.ilike(pattern, escape="\\"),
                HotlineMessage.body.ilike(pattern, escape="\\"),
            )
        )
    query = query.order_by(HotlineMessage.created_at.desc(), HotlineMessage.origin, HotlineMessage.id)
    limit = min(flt.limit, MAX_LIST)
    batch = limit * 4
    out: list[HotlineMessage] = []
    page = query
    while True:
        rows = session.scalars(page.limit(batch)).all()
        for row in rows:
            if not everything and not may_read(node, actor, row, held):
                continue  # an escalated message reaches only the positions it was escalated to
            if flt.position and flt.position not in audience(row, node.party):
                continue
            out.append(row)
            if len(out) >= limit:
                return out
        if len(rows) < batch:
            return out
        page = query.where(_after(rows[-1]))


def _after(last: HotlineMessage) -> ColumnElement[bool]:
    """The rows after ``last`` in the list's order (newest first, then origin and id)."""
    return or_(
        HotlineMessage.created_at < last.created_at,
        (HotlineMessage.created_at == last.created_at)
        & or_(
            HotlineMessage.origin > last.origin,
            (HotlineMessage.origin == last.origin) & (HotlineMessage.id > last.id),
        ),
    )


def timeline(session: Session, message: HotlineMessage) -> Sequence[HotlineEvent]:
    """The message's timeline on this node, in the order it was recorded."""
    return session.scalars(
        select(HotlineEvent)
        .where(HotlineEvent.message_origin == message.origin, HotlineEvent.message_id == message.id)
        .order_by(HotlineEvent.id)
    ).all()


def thread_of(session: Session, message: HotlineMessage) -> Sequence[HotlineMessage]:
    """Every message of the message's thread held here, oldest first."""
    return session.scalars(
        select(HotlineMessage)
        .where(
            HotlineMessage.thread_origin == message.thread_origin,
            HotlineMessage.thread_id == message.thread_id,
        )
        .order_by(HotlineMessage.created_at)
    ).all()


def signed_ack(session: Session, node: Node, message: HotlineMessage) -> dict[str, Any] | None:
    """The receiver's acknowledgement as this node received it (its content hash and where it is on the link)."""
    if message.origin != node.party or message.ack_record_id is None:
        return None
    row = session.get(ReceivedRecord, (message.to_party, ACK_KIND, message.ack_record_id))
    if row is None:
        return None
    return {
        "record_id": row.record_id,
        "origin": row.origin,
        "content": row.content,
        "content_hash": row.content_hash,
        "link": row.link,
        "seq": row.seq,
        "received_at": iso_utc(row.received_at),
    }


def is_link_down(message: HotlineMessage, now: datetime) -> bool:
    """Our FLASH/IMMEDIATE message still not delivered after LINK_DOWN_SECONDS."""
    return (
        message.delivered_at is None
        and message.precedence in domain.URGENT
        and now - message.created_at >= timedelta(seconds=domain.LINK_DOWN_SECONDS)
    )


def unacknowledged_flash(session: Session, node: Node, actor: Actor) -> list[HotlineMessage]:
    """FLASH messages addressed (or escalated) to a position the actor holds, not yet acknowledged."""
    held = held_positions(session, node, actor) or set()
    if not held:
        return []
    rows = session.scalars(
        select(HotlineMessage).where(
            HotlineMessage.origin != node.party,
            HotlineMessage.precedence == domain.Precedence.FLASH.value,
            HotlineMessage.acknowledged_at.is_(None),
        )
    ).all()
    return [r for r in rows if set(audience(r, node.party)) & held]
