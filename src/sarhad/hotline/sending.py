"""Sending and the states of a message: send (or reply), mark seen and acknowledge on the receiving side,
close on the sending side. Each act writes the message's state, its timeline entry, the audit entry, the
record released to the counterpart and a live event, in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import require
from sarhad.accounts.domain import Permission
from sarhad.accounts.models import Position
from sarhad.audit.services import record_event
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, NotFound, PermissionDenied, RuleError
from sarhad.core.formats import iso_utc
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import release as exchange_release
from sarhad.hotline import domain
from sarhad.hotline.access import Actor, audience, held_positions, may_read
from sarhad.hotline.domain import ACK_KIND, CLOSE_KIND, MESSAGE_KIND, SEEN_KIND, State
from sarhad.hotline.models import HotlineChannel, HotlineMessage
from sarhad.hotline.reading import find_message
from sarhad.hotline.schemas import AckContent, CloseContent, MessageContent, MessageIn, SeenContent
from sarhad.hotline.trail import add_event, publish, release


@dataclass(frozen=True)
class Route:
    """Where a new message goes: from one of our positions to the counterpart's position on another party."""

    from_position: str
    from_names: dict[str, str]
    to_party: str
    to_position: str
    to_names: dict[str, str]
    channel: HotlineChannel | None  # None for a reply in a thread whose channel was removed since


def route_for(
    session: Session, node: Node, actor: Actor, data: MessageIn, reply_to: HotlineMessage | None
) -> Route:
    """The route of a new message: back along the thread for a reply, else the channel named or the one
    channel to the counterpart position named from a position the actor holds."""
    held = held_positions(session, node, actor)
    if reply_to is not None:
        if reply_to.origin == node.party:
            mine, their_party, theirs, their_names = (
                reply_to.from_position_id,
                reply_to.to_party,
                reply_to.to_position_id,
                reply_to.to_position_names,
            )
            candidates = [mine]
        else:
            their_party, theirs, their_names = (
                reply_to.from_party,
                reply_to.from_position_id,
                reply_to.from_position_names,
            )
            candidates = [reply_to.to_position_id, *reply_to.escalated_positions]
        if data.from_position:
            if data.from_position not in candidates:
                raise InvalidInput(
                    f"from_position: a reply in this thread goes from {', '.join(candidates)}",
                    details={"field": "from_position"},
                )
            candidates = [data.from_position]
        usable = [c for c in candidates if held is None or c in held]
        if not usable:
            raise PermissionDenied(
                f"you do not hold {' or '.join(candidates)}, the position this thread is with",
                code=ErrorCode.NOT_HOLDER,
            )
        mine = usable[0]
        position = session.get(Position, mine)
        channel = session.scalar(
            select(HotlineChannel).where(
                HotlineChannel.own_position_id == mine,
                HotlineChannel.counterpart_party == their_party,
                HotlineChannel.counterpart_position_id == theirs,
            )
        )
        return Route(
            from_position=mine,
            from_names=position.names if position else {"en": mine},
            to_party=their_party,
            to_position=theirs,
            to_names=their_names,
            channel=channel,
        )
    if data.channel:
        channel = session.get(HotlineChannel, data.channel)
        if channel is None or not channel.active:
            raise NotFound(f"no hotline channel {data.channel}", code=ErrorCode.UNKNOWN_CHANNEL)
        if data.from_position and data.from_position != channel.own_position_id:
            raise InvalidInput(
                f"from_position: channel {channel.id} is from {channel.own_position_id}",
                details={"field": "from_position"},
            )
        if data.to_position and data.to_position != channel.counterpart_position_id:
            raise InvalidInput(
                f"to_position: channel {channel.id} goes to {channel.counterpart_position_id}",
                details={"field": "to_position"},
            )
        channels = [channel]
    elif data.to_position:
        channels = list(
            session.scalars(
                select(HotlineChannel).where(
                    HotlineChannel.counterpart_position_id == data.to_position,
                    HotlineChannel.active.is_(True),
                )
            ).all()
        )
        if not channels:
            raise NotFound(
                f"unknown position {data.to_position!r}: no hotline channel goes to it (GET /api/v1/hotline/channels)",
                code=ErrorCode.UNKNOWN_POSITION,
            )
        if data.from_position:
            channels = [c for c in channels if c.own_position_id == data.from_position]
            if not channels:
                raise NotFound(
                    f"no hotline channel from {data.from_position!r} to {data.to_position!r}",
                    code=ErrorCode.UNKNOWN_POSITION,
                )
    else:
        raise InvalidInput(
            "to_position: name the channel or the counterpart position", details={"field": "to_position"}
        )
    if held is not None:
        mine_ok = [c for c in channels if c.own_position_id in held]
        if not mine_ok:
            names = ", ".join(sorted({c.own_position_id for c in channels}))
            raise PermissionDenied(
                f"you do not hold {names}, the position this channel sends from", code=ErrorCode.NOT_HOLDER
            )
        channels = mine_ok
    if len(channels) > 1:
        raise InvalidInput(
            "from_position: you hold several positions with a channel to "
            f"{channels[0].counterpart_position_id} ({', '.join(c.own_position_id for c in channels)}); name one",
            details={"field": "from_position"},
        )
    channel = channels[0]
    position = session.get(Position, channel.own_position_id)
    return Route(
        from_position=channel.own_position_id,
        from_names=position.names if position else {"en": channel.own_position_id},
        to_party=channel.counterpart_party,
        to_position=channel.counterpart_position_id,
        to_names=channel.counterpart_names,
        channel=channel,
    )


def send_message(
    session: Session, node: Node, actor: Actor, data: MessageIn, *, client_ip: str = ""
) -> HotlineMessage:
    """Write a message from a position the actor holds and release it to the counterpart at once."""
    require(actor, Permission.HOTLINE_SEND, "sending hotline messages")
    try:
        fields = domain.check_message(
            precedence=data.precedence.value,
            subject=data.subject,
            body=data.body,
            lat=data.lat,
            lon=data.lon,
            incident=data.incident,
        )
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    reply_to = find_message(session, data.reply_to) if data.reply_to else None
    if reply_to is not None:
        held = held_positions(session, node, actor)
        if not may_read(node, actor, reply_to, held):
            raise NotFound(f"no hotline message {data.reply_to} is held here")
    route = route_for(session, node, actor, data, reply_to)
    now = node.clock.now()
    message_id = new_id()
    thread = (reply_to.thread_origin, reply_to.thread_id) if reply_to else (node.party, message_id)
    content = MessageContent(
        from_position=route.from_position,
        from_position_names=route.from_names,
        to_position=route.to_position,
        to_position_names=route.to_names,
        precedence=domain.Precedence(fields.precedence),
        subject=fields.subject,
        body=fields.body,
        lat=fields.lat,
        lon=fields.lon,
        incident=fields.incident,
        reply_to={"origin": reply_to.origin, "id": reply_to.id} if reply_to else None,
        thread={"origin": thread[0], "id": thread[1]},
        sent_by=actor.username,
        sent_by_name=actor.display_name,
        created_at=now,
    ).model_dump(mode="json")
    content["created_at"] = iso_utc(now)
    message = HotlineMessage(
        origin=node.party,
        id=message_id,
        channel_id=route.channel.id if route.channel else None,
        from_party=node.party,
        from_position_id=route.from_position,
        from_position_names=route.from_names,
        to_party=route.to_party,
        to_position_id=route.to_position,
        to_position_names=route.to_names,
        precedence=fields.precedence,
        subject=fields.subject,
        body=fields.body,
        lat=fields.lat,
        lon=fields.lon,
        incident=fields.incident,
        reply_to_origin=reply_to.origin if reply_to else None,
        reply_to_id=reply_to.id if reply_to else None,
        thread_origin=thread[0],
        thread_id=thread[1],
        sent_by=actor.username,
        sent_by_name=actor.display_name,
        content_hash=exchange_release.content_hash(content),
        state=State.QUEUED.value,
        created_at=now,
        escalation_step=0,
        escalated_positions=[],
        escalations=0,
    )
    session.add(message)
    session.flush()
    add_event(session, node, message, "queued", party=node.party, at=now, actor=actor.username)
    release(session, node, actor, MESSAGE_KIND, message.id, content, route.to_party)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.send",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        client_ip=client_ip,
        details={
            "from": route.from_position,
            "to": f"{route.to_party}:{route.to_position}",
            "precedence": fields.precedence,
            "content_hash": message.content_hash,
        },
    )
    publish(session, node, message, "message")
    return message


def _addressed_holder(
    session: Session, node: Node, actor: Actor, message: HotlineMessage, position: str | None
) -> str:
    """The position (addressed or escalated-to) the actor acts for on a received message."""
    positions = audience(message, node.party)
    held = held_positions(session, node, actor)
    usable = [p for p in positions if held is None or p in held]
    if position is not None:
        if position not in positions:
            raise InvalidInput(
                f"position: message {message.id} is for {', '.join(positions)}", details={"field": "position"}
            )
        usable = [p for p in usable if p == position]
    if not usable:
        raise PermissionDenied(
            f"message {message.id} is for {', '.join(positions)}; you hold none of them now",
            code=ErrorCode.NOT_HOLDER,
        )
    return usable[0]


def _received(session: Session, node: Node, message_id: str, verb: str) -> HotlineMessage:
    message = find_message(session, message_id)
    if message.origin == node.party:
        raise InvalidInput(
            f"message {message_id} was sent from this node; only the receiving side {verb}s it",
            code=ErrorCode.OWN_MESSAGE,
        )
    return message


def mark_seen(
    session: Session,
    node: Node,
    actor: Actor,
    message_id: str,
    *,
    position: str | None = None,
    client_ip: str = "",
) -> HotlineMessage:
    """A holder of the addressed position has opened the message; the sender is told (``hotline.seen``)."""
    require(actor, Permission.HOTLINE_READ, "reading the hotline")
    message = _received(session, node, message_id, "mark")
    by_position = _addressed_holder(session, node, actor, message, position)
    if message.seen_at is not None:
        return message
    _seen(session, node, message, actor, by_position, client_ip)
    return message


def _seen(
    session: Session, node: Node, message: HotlineMessage, actor: Actor, position: str, client_ip: str
) -> None:
    now = node.clock.now()
    assert message.delivered_at is not None
    message.seen_at, message.seen_by = now, actor.username
    message.state = domain.advance(message.state, State.SEEN.value)
    add_event(
        session,
        node,
        message,
        "seen",
        party=node.party,
        at=now,
        actor=actor.username,
        details={"position": position},
    )
    content = SeenContent(
        message={"origin": message.origin, "id": message.id},
        message_content_hash=message.content_hash,
        delivered_at=message.delivered_at,
        seen_at=now,
        by=actor.username,
        position=position,
    ).model_dump(mode="json")
    release(session, node, actor, SEEN_KIND, f"{message.id}.seen", content, message.origin)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.seen",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        client_ip=client_ip,
    )
    publish(session, node, message, "seen")


def acknowledge(
    session: Session,
    node: Node,
    actor: Actor,
    message_id: str,
    *,
    reply: str | None = None,
    position: str | None = None,
    client_ip: str = "",
) -> HotlineMessage:
    """The named officer's acknowledgement, signed back to the sender (``hotline.ack``); stops escalation.

    A second acknowledgement is refused (409 ``already_acknowledged``) and changes nothing.
    """
    require(actor, Permission.HOTLINE_SEND, "acknowledging hotline messages")
    try:
        reply_text = domain.check_reply(reply)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    message = _received(session, node, message_id, "acknowledge")
    by_position = _addressed_holder(session, node, actor, message, position)
    if message.acknowledged_at is not None:
        raise Conflict(
            f"message {message_id} was already acknowledged by {message.acknowledged_by} at "
            f"{iso_utc(message.acknowledged_at)}; an acknowledgement is given once",
            code=ErrorCode.ALREADY_ACKNOWLEDGED,
            details={
                "acknowledged_by": message.acknowledged_by,
                "acknowledged_at": iso_utc(message.acknowledged_at),
            },
        )
    if message.seen_at is None:
        _seen(session, node, message, actor, by_position, client_ip)
    now = node.clock.now()
    assert message.delivered_at is not None and message.seen_at is not None
    message.acknowledged_at, message.acknowledged_by = now, actor.username
    message.acknowledged_by_name, message.acknowledged_position_id = actor.display_name, by_position
    message.ack_reply = reply_text
    message.ack_record_id = f"{message.id}.ack"
    message.state = domain.advance(message.state, State.ACKNOWLEDGED.value)
    message.next_escalation_at = None
    add_event(
        session,
        node,
        message,
        "acknowledged",
        party=node.party,
        at=now,
        actor=actor.username,
        details={"position": by_position, "by_name": actor.display_name, "reply": reply_text},
    )
    content = AckContent(
        message={"origin": message.origin, "id": message.id},
        message_content_hash=message.content_hash,
        delivered_at=message.delivered_at,
        seen_at=message.seen_at,
        acknowledged_at=now,
        by=actor.username,
        by_name=actor.display_name,
        position=by_position,
        reply=reply_text,
    ).model_dump(mode="json")
    release(session, node, actor, ACK_KIND, message.ack_record_id, content, message.origin)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.ack",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        client_ip=client_ip,
        details={"position": by_position, "content_hash": exchange_release.content_hash(content)},
    )
    publish(session, node, message, "acknowledged")
    return message


def close_message(
    session: Session, node: Node, actor: Actor, message_id: str, *, client_ip: str = ""
) -> HotlineMessage:
    """The sender closes an acknowledged message; the receiver is told (``hotline.close``)."""
    require(actor, Permission.HOTLINE_SEND, "closing hotline messages")
    message = find_message(session, message_id)
    if message.origin != node.party:
        raise InvalidInput(
            f"message {message_id} was received; only its sender closes it", code=ErrorCode.NOT_SENDER
        )
    held = held_positions(session, node, actor)
    if held is not None and message.from_position_id not in held:
        raise PermissionDenied(f"you do not hold {message.from_position_id}", code=ErrorCode.NOT_HOLDER)
    if message.acknowledged_at is None:
        raise Conflict(
            f"message {message_id} is not acknowledged yet; it is closed after that",
            code=ErrorCode.NOT_ACKNOWLEDGED,
        )
    if message.closed_at is not None:
        return message
    now = node.clock.now()
    message.closed_at, message.closed_by = now, actor.username
    message.state = domain.advance(message.state, State.CLOSED.value)
    add_event(session, node, message, "closed", party=node.party, at=now, actor=actor.username)
    content = CloseContent(
        message={"origin": message.origin, "id": message.id},
        closed_at=now,
        by=actor.username,
    ).model_dump(mode="json")
    release(session, node, actor, CLOSE_KIND, f"{message.id}.close", content, message.to_party)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.close",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        client_ip=client_ip,
    )
    publish(session, node, message, "closed")
    return message
