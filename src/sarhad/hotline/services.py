"""The one write path of the hotline. The API, the pages, the CLI, the workers and the exchange handlers call
these; each change writes the message state, its timeline, the audit entry, the outbound record (released to
the counterpart in the same transaction: the exchange's transactional outbox) and a live event together.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from sarhad.accounts import actors
from sarhad.accounts.actors import SystemActor as SystemActor
from sarhad.accounts.actors import require as _require
from sarhad.accounts.domain import Permission
from sarhad.accounts.models import Position
from sarhad.accounts.services import current_holders, positions_held
from sarhad.audit.services import record_event
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, NotFound, PermissionDenied
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import release
from sarhad.exchange.domain import Handling, Tlp
from sarhad.exchange.models import Peer, ReceivedRecord
from sarhad.exchange.registry import IncomingRecord, ReceiptedRecord
from sarhad.hotline import domain
from sarhad.hotline.domain import (
    ACK_KIND,
    CLOSE_KIND,
    ESCALATION_KIND,
    MESSAGE_KIND,
    SEEN_KIND,
    HotlineRuleError,
    State,
    iso,
)
from sarhad.hotline.models import (
    EscalationPolicy,
    HotlineChannel,
    HotlineEvent,
    HotlineMessage,
    HotlineSetting,
)
from sarhad.hotline.schemas import (
    AckContent,
    CloseContent,
    EscalationContent,
    MessageContent,
    MessageIn,
    SeenContent,
)
from sarhad.live import services as live

DEADLINES_KEY = "ack_deadlines"


@dataclass(frozen=True)
class EscalationWake:
    """Runs the escalation worker's next pass at once (registered by the worker in ``node.components``)."""

    wake: Callable[[], None]


MAX_LIST = 1000
TLP = Tlp.AMBER.value
HANDLING = Handling.NO_ONWARD.value


class Actor(actors.Actor, Protocol):
    """A signed-in ``Principal``, or ``SystemActor`` (CLI, demo, jobs): the hotline also shows who acted."""

    @property
    def display_name(self) -> str: ...


class HotlineRecordError(ValueError):
    """A received hotline record that cannot be applied (the exchange quarantines it and raises an alert)."""


def _user_id(actor: Actor) -> str | None:
    value = getattr(actor, "user_id", None)
    return value if isinstance(value, str) else None


def _invalid(exc: HotlineRuleError) -> InvalidInput:
    return InvalidInput(f"{exc.field}: {exc.message}", details={"field": exc.field})


def held_positions(session: Session, node: Node, actor: Actor) -> set[str] | None:
    """Positions the actor holds now; None for a system actor (acts for any position)."""
    user_id = _user_id(actor)
    if user_id is None:
        return None
    return set(positions_held(session, user_id, node.clock.now()))


# --- configuration -----------------------------------------------------------------------------------------


def deadlines(session: Session) -> dict[str, int]:
    """Acknowledgement deadline per precedence, in seconds (this deployment's table, else the defaults)."""
    row = session.get(HotlineSetting, DEADLINES_KEY)
    if row is None or not isinstance(row.value, dict):
        return dict(domain.DEFAULT_DEADLINES)
    try:
        return domain.check_deadlines(row.value)
    except HotlineRuleError:
        return dict(domain.DEFAULT_DEADLINES)


def set_deadlines(session: Session, node: Node, actor: Actor, values: dict[str, int]) -> dict[str, int]:
    _require(actor, Permission.HOTLINE_ADMIN, "configuring the hotline")
    try:
        table = domain.check_deadlines(values)
    except HotlineRuleError as exc:
        raise _invalid(exc) from exc
    row = session.get(HotlineSetting, DEADLINES_KEY)
    now = node.clock.now()
    if row is None:
        session.add(HotlineSetting(key=DEADLINES_KEY, value=table, updated_at=now, updated_by=actor.username))
    else:
        row.value, row.updated_at, row.updated_by = table, now, actor.username
    record_event(
        session, node.clock, actor=actor.username, action="hotline.deadlines", details={"deadlines": table}
    )
    return table


def policy_of(session: Session, position_id: str) -> tuple[list[domain.PolicyStep], int]:
    row = session.get(EscalationPolicy, position_id)
    if row is None:
        return list(domain.DEFAULT_POLICY_STEPS), domain.DEFAULT_MAX_REPEATS
    return domain.check_policy(row.steps, row.max_repeats), row.max_repeats


def set_policy(
    session: Session,
    node: Node,
    actor: Actor,
    position_id: str,
    steps: Sequence[dict[str, Any]],
    max_repeats: int,
) -> EscalationPolicy:
    """Set a position's escalation policy. Messages already received keep the policy frozen into them."""
    _require(actor, Permission.HOTLINE_ADMIN, "configuring escalation policies")
    position = session.get(Position, position_id)
    if position is None or position.party != node.party:
        raise NotFound(f"no position {position_id!r} of {node.party}", code=ErrorCode.UNKNOWN_POSITION)
    try:
        checked = domain.check_policy(steps, max_repeats)
    except HotlineRuleError as exc:
        raise _invalid(exc) from exc
    for step in checked:
        if step.notify != "parent" and session.get(Position, step.notify) is None:
            raise InvalidInput(f"steps: no position {step.notify!r} to notify", details={"field": "steps"})
    stored = [{"wait_seconds": s.wait_seconds, "notify": s.notify} for s in checked]
    row = session.get(EscalationPolicy, position_id)
    now = node.clock.now()
    if row is None:
        row = EscalationPolicy(
            position_id=position_id,
            steps=stored,
            max_repeats=max_repeats,
            updated_at=now,
            updated_by=actor.username,
        )
        session.add(row)
    else:
        row.steps, row.max_repeats, row.updated_at, row.updated_by = stored, max_repeats, now, actor.username
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.policy",
        record_kind="position",
        record_id=position_id,
        details={"steps": stored, "max_repeats": max_repeats},
    )
    return row


def upsert_channel(
    session: Session,
    node: Node,
    actor: Actor,
    *,
    own_position: str,
    counterpart_party: str,
    counterpart_position: str,
    counterpart_names: dict[str, str],
) -> HotlineChannel:
    _require(actor, Permission.HOTLINE_ADMIN, "configuring hotline channels")
    position = session.get(Position, own_position)
    if position is None or position.party != node.party:
        raise NotFound(f"no position {own_position!r} of {node.party}", code=ErrorCode.UNKNOWN_POSITION)
    if counterpart_party == node.party:
        raise InvalidInput(
            "counterpart_party: a channel joins two parties", details={"field": "counterpart_party"}
        )
    if session.get(Peer, counterpart_party) is None:
        raise InvalidInput(
            f"counterpart_party: {counterpart_party} is not a peer of this node (pair first)",
            details={"field": "counterpart_party"},
        )
    if not domain.POSITION_PATTERN.fullmatch(counterpart_position):
        raise InvalidInput(
            "counterpart_position: not a position id", details={"field": "counterpart_position"}
        )
    if not counterpart_names.get("en"):
        raise InvalidInput(
            "counterpart_names: an English name is needed", details={"field": "counterpart_names"}
        )
    row = session.scalar(
        select(HotlineChannel).where(
            HotlineChannel.own_position_id == own_position,
            HotlineChannel.counterpart_party == counterpart_party,
            HotlineChannel.counterpart_position_id == counterpart_position,
        )
    )
    if row is None:
        row = HotlineChannel(
            id=new_id(),
            own_position_id=own_position,
            counterpart_party=counterpart_party,
            counterpart_position_id=counterpart_position,
            counterpart_names=counterpart_names,
            active=True,
            created_at=node.clock.now(),
            created_by=actor.username,
        )
        session.add(row)
    else:
        row.counterpart_names, row.active = counterpart_names, True
    session.flush()
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.channel",
        record_kind="hotline.channel",
        record_id=row.id,
        details={"own": own_position, "counterpart": f"{counterpart_party}:{counterpart_position}"},
    )
    return row


def list_channels(session: Session) -> Sequence[HotlineChannel]:
    return session.scalars(
        select(HotlineChannel)
        .where(HotlineChannel.active.is_(True))
        .order_by(HotlineChannel.own_position_id, HotlineChannel.counterpart_position_id)
    ).all()


def _compose(
    head: dict[str, str], *parts: dict[str, str], bracket: dict[str, str] | None = None
) -> dict[str, str]:
    out: dict[str, str] = {}
    for lang, text in head.items():
        separator = "، " if lang in ("ur", "fa") else ", "
        for part in parts:
            text += separator + (part.get(lang) or part.get("en", ""))
        if bracket:
            text += f" ({bracket.get(lang) or bracket.get('en', '')})"
        out[lang] = text
    return out


def seed_reference_channels(
    session: Session, node: Node, actor: Actor, counterpart: str
) -> list[HotlineChannel]:
    """The reference scenario's counterpart pairs: each section's commanders, and the two ministries."""
    from sarhad.border.services import COMMANDER_NAMES, MINISTRY_NAMES, reference_data

    ref = reference_data()
    parties = {p["code"]: p.get("names", {"en": p["code"]}) for p in ref.get("parties", [])}
    other = parties.get(counterpart, {"en": counterpart})
    pairs: list[tuple[str, str, dict[str, str]]] = [
        (f"{node.party}-MOI", f"{counterpart}-MOI", _compose(dict(MINISTRY_NAMES), bracket=other))
    ]
    for section in sorted(ref.get("sections", []), key=lambda s: s.get("order", 0)):
        sid = section["id"]
        pairs.append(
            (
                f"{node.party}-{sid}-CDR",
                f"{counterpart}-{sid}-CDR",
                _compose(
                    {lang: f"{head} {sid}" for lang, head in COMMANDER_NAMES.items()},
                    section.get("names", {}),
                    bracket=other,
                ),
            )
        )
    out = []
    for own, theirs, names in pairs:
        if session.get(Position, own) is None:
            continue
        out.append(
            upsert_channel(
                session,
                node,
                actor,
                own_position=own,
                counterpart_party=counterpart,
                counterpart_position=theirs,
                counterpart_names=names,
            )
        )
    return out


# --- timeline and live events ------------------------------------------------------------------------------


def _event(
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


def audience(message: HotlineMessage, party: str) -> list[str]:
    """The positions on this node that follow a message: the sender's, or the addressed and escalated ones."""
    if message.origin == party:
        return [message.from_position_id]
    return [message.to_position_id, *message.escalated_positions]


def _publish(session: Session, node: Node, message: HotlineMessage, change: str, **extra: Any) -> None:
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


def _release(
    session: Session,
    node: Node,
    actor: actors.Actor,
    kind: str,
    record_id: str,
    content: dict[str, Any],
    to: str,
) -> None:
    item = release.ReleaseItem(
        kind=kind, record_id=record_id, version=1, content=content, to=[to], handling=HANDLING, tlp=TLP
    )
    release.release_records(session, node, [item], actor=actor)


# --- sending -----------------------------------------------------------------------------------------------


def find_message(session: Session, message_id: str, origin: str | None = None) -> HotlineMessage:
    query = select(HotlineMessage).where(HotlineMessage.id == message_id)
    if origin:
        query = query.where(HotlineMessage.origin == origin)
    rows = session.scalars(query).all()
    if not rows:
        raise NotFound(f"no hotline message {message_id} is held here (never delivered to this node)")
    if len(rows) > 1:
        raise Conflict(f"message id {message_id} is ambiguous; name its origin", code=ErrorCode.AMBIGUOUS)
    return rows[0]


def _route(
    session: Session, node: Node, actor: Actor, data: MessageIn, reply_to: HotlineMessage | None
) -> tuple[str, str, dict[str, str], str, dict[str, str], HotlineChannel | None]:
    """(from position, to party, to names, to position, from names, channel) for a new message."""
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
        return mine, their_party, their_names, theirs, position.names if position else {"en": mine}, channel
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
    return (
        channel.own_position_id,
        channel.counterpart_party,
        channel.counterpart_names,
        channel.counterpart_position_id,
        position.names if position else {"en": channel.own_position_id},
        channel,
    )


def send_message(
    session: Session, node: Node, actor: Actor, data: MessageIn, *, client_ip: str = ""
) -> HotlineMessage:
    """Write a message from a position the actor holds and release it to the counterpart at once."""
    _require(actor, Permission.HOTLINE_SEND, "sending hotline messages")
    try:
        fields = domain.check_message(
            precedence=data.precedence.value,
            subject=data.subject,
            body=data.body,
            lat=data.lat,
            lon=data.lon,
            incident=data.incident,
        )
    except HotlineRuleError as exc:
        raise _invalid(exc) from exc
    reply_to = find_message(session, data.reply_to) if data.reply_to else None
    if reply_to is not None:
        held = held_positions(session, node, actor)
        if not _may_read(session, node, actor, reply_to, held):
            raise NotFound(f"no hotline message {data.reply_to} is held here")
    mine, their_party, their_names, theirs, my_names, channel = _route(session, node, actor, data, reply_to)
    now = node.clock.now()
    message_id = new_id()
    thread = (reply_to.thread_origin, reply_to.thread_id) if reply_to else (node.party, message_id)
    content = MessageContent(
        from_position=mine,
        from_position_names=my_names,
        to_position=theirs,
        to_position_names=their_names,
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
    content["created_at"] = iso(now)
    message = HotlineMessage(
        origin=node.party,
        id=message_id,
        channel_id=channel.id if channel else None,
        from_party=node.party,
        from_position_id=mine,
        from_position_names=my_names,
        to_party=their_party,
        to_position_id=theirs,
        to_position_names=their_names,
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
        content_hash=release.content_hash(content),
        state=State.QUEUED.value,
        created_at=now,
        escalation_step=0,
        escalated_positions=[],
        escalations=0,
    )
    session.add(message)
    session.flush()
    _event(session, node, message, "queued", party=node.party, at=now, actor=actor.username)
    _release(session, node, actor, MESSAGE_KIND, message.id, content, their_party)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.send",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        client_ip=client_ip,
        details={
            "from": mine,
            "to": f"{their_party}:{theirs}",
            "precedence": fields.precedence,
            "content_hash": message.content_hash,
        },
    )
    _publish(session, node, message, "message")
    return message


# --- reading -----------------------------------------------------------------------------------------------


def _may_read(
    session: Session, node: Node, actor: Actor, message: HotlineMessage, held: set[str] | None
) -> bool:
    if held is None or actor.can(Permission.HOTLINE_ADMIN) or actor.can(Permission.AUDIT_READ):
        return True
    return bool(set(audience(message, node.party)) & held)


def get_message(
    session: Session, node: Node, actor: Actor, message_id: str, *, client_ip: str = "", audit: bool = True
) -> HotlineMessage:
    """A message the actor may read (a holder of the position it concerns); reading is audited (``audit``
    False only for a page's own live refresh of a message it has already shown, and audited)."""
    _require(actor, Permission.HOTLINE_READ, "reading the hotline")
    message = find_message(session, message_id)
    held = held_positions(session, node, actor)
    if not _may_read(session, node, actor, message, held):
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
    position: str | None = None
    direction: str | None = None  # "in" or "out"
    state: str | None = None
    precedence: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    limit: int = 200


def list_messages(session: Session, node: Node, actor: Actor, flt: MessageFilter) -> Sequence[HotlineMessage]:
    """Messages of the positions the actor holds now (all of them for hotline admins and auditors)."""
    _require(actor, Permission.HOTLINE_READ, "reading the hotline")
    held = held_positions(session, node, actor)
    query = select(HotlineMessage)
    if not (held is None or actor.can(Permission.HOTLINE_ADMIN) or actor.can(Permission.AUDIT_READ)):
        positions = sorted(held)
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
        like = f"%{flt.text}%"
        query = query.where(or_(HotlineMessage.subject.ilike(like), HotlineMessage.body.ilike(like)))
    rows = session.scalars(
        query.order_by(HotlineMessage.created_at.desc()).limit(min(flt.limit, MAX_LIST) * 4)
    ).all()
    out = []
    for row in rows:
        if held is not None and not _may_read(session, node, actor, row, held):
            continue  # an escalated message reaches only the positions it was escalated to
        if flt.position and flt.position not in audience(row, node.party):
            continue
        out.append(row)
        if len(out) >= min(flt.limit, MAX_LIST):
            break
    return out


def timeline(session: Session, message: HotlineMessage) -> Sequence[HotlineEvent]:
    return session.scalars(
        select(HotlineEvent)
        .where(HotlineEvent.message_origin == message.origin, HotlineEvent.message_id == message.id)
        .order_by(HotlineEvent.id)
    ).all()


def thread_of(session: Session, message: HotlineMessage) -> Sequence[HotlineMessage]:
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
        "received_at": iso(row.received_at),
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


# --- the receiving side ------------------------------------------------------------------------------------


def apply_message(session: Session, node: Node, record: IncomingRecord) -> None:
    """A message arrives: store it as delivered, freeze its escalation plan, alert the addressed holders."""
    if session.get(HotlineMessage, (record.origin, record.record_id)) is not None:
        return
    content = MessageContent.model_validate(record.content)
    position = session.get(Position, content.to_position)
    if position is None or position.party != node.party:
        raise HotlineRecordError(
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
    _event(
        session, node, message, "queued", party=record.origin, at=content.created_at, actor=content.sent_by
    )
    _event(
        session,
        node,
        message,
        "delivered",
        party=node.party,
        at=now,
        actor=f"peer:{record.origin}",
        details={"link": record.link, "seq": record.seq, "ack_due_at": iso(message.ack_due_at)},
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
    _publish(session, node, message, "message", from_names=message.from_position_names)


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
    _require(actor, Permission.HOTLINE_READ, "reading the hotline")
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
    _event(
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
    _release(session, node, actor, SEEN_KIND, f"{message.id}.seen", content, message.origin)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.seen",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        client_ip=client_ip,
    )
    _publish(session, node, message, "seen")


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
    _require(actor, Permission.HOTLINE_SEND, "acknowledging hotline messages")
    try:
        reply_text = domain.check_reply(reply)
    except HotlineRuleError as exc:
        raise _invalid(exc) from exc
    message = _received(session, node, message_id, "acknowledge")
    by_position = _addressed_holder(session, node, actor, message, position)
    if message.acknowledged_at is not None:
        raise Conflict(
            f"message {message_id} was already acknowledged by {message.acknowledged_by} at "
            f"{iso(message.acknowledged_at)}; an acknowledgement is given once",
            code=ErrorCode.ALREADY_ACKNOWLEDGED,
            details={
                "acknowledged_by": message.acknowledged_by,
                "acknowledged_at": iso(message.acknowledged_at),
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
    _event(
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
    _release(session, node, actor, ACK_KIND, message.ack_record_id, content, message.origin)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.ack",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        client_ip=client_ip,
        details={"position": by_position, "content_hash": release.content_hash(content)},
    )
    _publish(session, node, message, "acknowledged")
    return message


def close_message(
    session: Session, node: Node, actor: Actor, message_id: str, *, client_ip: str = ""
) -> HotlineMessage:
    """The sender closes an acknowledged message; the receiver is told (``hotline.close``)."""
    _require(actor, Permission.HOTLINE_SEND, "closing hotline messages")
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
    _event(session, node, message, "closed", party=node.party, at=now, actor=actor.username)
    content = CloseContent(
        message={"origin": message.origin, "id": message.id},
        closed_at=now,
        by=actor.username,
    ).model_dump(mode="json")
    _release(session, node, actor, CLOSE_KIND, f"{message.id}.close", content, message.to_party)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.close",
        record_kind=MESSAGE_KIND,
        record_id=message.id,
        client_ip=client_ip,
    )
    _publish(session, node, message, "closed")
    return message


# --- escalation (receiving side) and link-down notices (sending side): run by the worker -------------------


def due_escalations(session: Session, now: datetime, limit: int = 100) -> list[tuple[str, str, int]]:
    rows = session.execute(
        select(HotlineMessage.origin, HotlineMessage.id, HotlineMessage.escalation_step)
        .where(HotlineMessage.next_escalation_at.is_not(None), HotlineMessage.next_escalation_at <= now)
        .where(HotlineMessage.acknowledged_at.is_(None))
        .order_by(HotlineMessage.next_escalation_at)
        .limit(limit)
    ).all()
    return [(o, i, s) for o, i, s in rows]


def next_due(session: Session) -> datetime | None:
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
    _event(
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
            "due_at": iso(due),
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
    _release(
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
    _publish(
        session, node, message, "escalated", target=step.target, target_names=target_names, step=step.number
    )
    return True


def overdue_undelivered(session: Session, node: Node) -> list[tuple[str, str]]:
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
    _event(
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
    _publish(session, node, message, "link_down")
    return True


# --- the sending side: what comes back ---------------------------------------------------------------------


def on_message_receipted(session: Session, node: Node, party: str, records: list[ReceiptedRecord]) -> None:
    """The receiver's signed receipt now covers these messages: they are delivered."""
    now = node.clock.now()
    for rec in records:
        message = session.get(HotlineMessage, (node.party, rec.record_id))
        if message is None or message.delivered_at is not None:
            continue
        message.delivered_at = now
        message.state = domain.advance(message.state, State.DELIVERED.value)
        _event(
            session,
            node,
            message,
            "delivered",
            party=node.party,
            at=now,
            actor=f"receipt:{party}",
            details={"link": rec.link, "seq": rec.seq},
        )
        _publish(session, node, message, "delivered")


def _own_message(
    session: Session, node: Node, record: IncomingRecord, ref: Any, content_hash: str | None
) -> HotlineMessage:
    if ref.origin != node.party:
        raise HotlineRecordError(
            f"{record.kind} from {record.origin} refers to {ref.origin}'s message {ref.id}"
        )
    message = session.get(HotlineMessage, (node.party, ref.id))
    if message is None:
        raise HotlineRecordError(
            f"{record.kind} from {record.origin} for message {ref.id}, which this node never sent"
        )
    if message.to_party != record.origin:
        raise HotlineRecordError(
            f"{record.kind} from {record.origin} for message {ref.id}, which went to {message.to_party}"
        )
    if content_hash is not None and content_hash != message.content_hash:
        raise HotlineRecordError(f"{record.kind} for message {ref.id} names content we never sent")
    return message


def _delivered_by_evidence(
    session: Session, node: Node, message: HotlineMessage, remote_at: datetime, who: str
) -> None:
    message.delivered_remote_at = message.delivered_remote_at or remote_at
    if message.delivered_at is None:  # the receipt is still on its way; the record itself proves delivery
        message.delivered_at = node.clock.now()
        message.state = domain.advance(message.state, State.DELIVERED.value)
        _event(session, node, message, "delivered", party=message.to_party, at=remote_at, actor=who)


def apply_seen(session: Session, node: Node, record: IncomingRecord) -> None:
    content = SeenContent.model_validate(record.content)
    message = _own_message(session, node, record, content.message, content.message_content_hash)
    if message.seen_remote_at is not None:
        return
    _delivered_by_evidence(session, node, message, content.delivered_at, f"peer:{record.origin}")
    message.seen_remote_at, message.seen_at, message.seen_by = content.seen_at, node.clock.now(), content.by
    message.state = domain.advance(message.state, State.SEEN.value)
    _event(
        session,
        node,
        message,
        "seen",
        party=record.origin,
        at=content.seen_at,
        actor=content.by,
        details={"position": content.position, "link": record.link, "seq": record.seq},
    )
    _publish(session, node, message, "seen")


def apply_ack(session: Session, node: Node, record: IncomingRecord) -> None:
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
    _event(
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
    _publish(session, node, message, "acknowledged")


def apply_escalation(session: Session, node: Node, record: IncomingRecord) -> None:
    content = EscalationContent.model_validate(record.content)
    message = _own_message(session, node, record, content.message, None)
    _delivered_by_evidence(session, node, message, content.delivered_at, f"peer:{record.origin}")
    message.escalations += 1
    _event(
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
            "due_at": iso(content.due_at),
            "target": content.target_position,
            "target_names": content.target_names,
            "notified": content.notified,
            "link": record.link,
            "seq": record.seq,
        },
    )
    _publish(
        session,
        node,
        message,
        "escalated",
        target=content.target_position,
        target_names=content.target_names,
        step=content.step,
    )


def apply_close(session: Session, node: Node, record: IncomingRecord) -> None:
    content = CloseContent.model_validate(record.content)
    ref = content.message
    message = session.get(HotlineMessage, (ref.origin, ref.id))
    if message is None or ref.origin != record.origin:
        raise HotlineRecordError(
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
    _event(session, node, message, "closed", party=record.origin, at=content.closed_at, actor=content.by)
    _publish(session, node, message, "closed")


# --- report ------------------------------------------------------------------------------------------------


@dataclass
class ReportRow:
    direction: str
    channel: str
    precedence: str
    count: int
    delivery_p50: float | None
    delivery_p90: float | None
    ack_p50: float | None
    ack_p90: float | None
    escalations: int
    escalated_messages: int
    unacknowledged: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def report(session: Session, node: Node, start: datetime, end: datetime) -> list[ReportRow]:
    """Per direction, channel and precedence, for messages created in ``[start, end)``.

    Sent messages: time to delivery = queued → the receiver's receipt; time to acknowledgement = queued → the
    acknowledgement reaching us (both on this node's clock). Received messages: delivery is 0 by definition
    here; acknowledgement = arrival → the officer's act (this node's clock).
    """
    rows = session.scalars(
        select(HotlineMessage).where(HotlineMessage.created_at >= start, HotlineMessage.created_at < end)
    ).all()
    groups: dict[tuple[str, str, str], list[HotlineMessage]] = {}
    for m in rows:
        direction = "out" if m.origin == node.party else "in"
        channel = (
            f"{m.from_position_id} → {m.to_party}:{m.to_position_id}"
            if direction == "out"
            else f"{m.from_party}:{m.from_position_id} → {m.to_position_id}"
        )
        groups.setdefault((direction, channel, m.precedence), []).append(m)
    order = {p: i for i, p in enumerate(domain.PRECEDENCES)}
    out: list[ReportRow] = []
    for (direction, channel, precedence), messages in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], order.get(kv[0][2], 9))
    ):
        if direction == "out":
            delivery = [domain.seconds_between(m.created_at, m.delivered_at) for m in messages]
            ack = [domain.seconds_between(m.created_at, m.acknowledged_at) for m in messages]
        else:
            delivery = []
            ack = [domain.seconds_between(m.delivered_at, m.acknowledged_at) for m in messages]
        d = [v for v in delivery if v is not None]
        a = [v for v in ack if v is not None]
        out.append(
            ReportRow(
                direction=direction,
                channel=channel,
                precedence=precedence,
                count=len(messages),
                delivery_p50=domain.percentile(d, 50),
                delivery_p90=domain.percentile(d, 90),
                ack_p50=domain.percentile(a, 50),
                ack_p90=domain.percentile(a, 90),
                escalations=sum(m.escalations for m in messages),
                escalated_messages=sum(1 for m in messages if m.escalations),
                unacknowledged=sum(1 for m in messages if m.acknowledged_at is None),
            )
        )
    return out


REPORT_COLUMNS = (
    "direction",
    "channel",
    "precedence",
    "count",
    "delivery_p50",
    "delivery_p90",
    "ack_p50",
    "ack_p90",
    "escalations",
    "escalated_messages",
    "unacknowledged",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def report_csv(rows: Iterable[ReportRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            *REPORT_COLUMNS[:4],
            "delivery_p50_s",
            "delivery_p90_s",
            "ack_p50_s",
            "ack_p90_s",
            *REPORT_COLUMNS[8:],
        ]
    )
    for row in rows:
        writer.writerow([_cell(getattr(row, c)) for c in REPORT_COLUMNS])
    return buffer.getvalue()


MESSAGE_COLUMNS = (
    "origin",
    "id",
    "direction",
    "precedence",
    "state",
    "from_party",
    "from_position",
    "to_party",
    "to_position",
    "subject",
    "sent_by",
    "created_at",
    "delivered_at",
    "seen_at",
    "acknowledged_at",
    "acknowledged_by",
    "escalations",
    "incident",
    "thread",
)


def messages_csv(node: Node, rows: Iterable[HotlineMessage]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MESSAGE_COLUMNS)
    for m in rows:
        writer.writerow(
            [
                _cell(v)
                for v in (
                    m.origin,
                    m.id,
                    "out" if m.origin == node.party else "in",
                    m.precedence,
                    m.state,
                    m.from_party,
                    m.from_position_id,
                    m.to_party,
                    m.to_position_id,
                    m.subject,
                    m.sent_by,
                    iso(m.created_at),
                    iso(m.delivered_at),
                    iso(m.seen_at),
                    iso(m.acknowledged_at),
                    m.acknowledged_by,
                    m.escalations,
                    m.incident,
                    m.thread_id,
                )
            ]
        )
    return buffer.getvalue()


def messages_geojson(node: Node, rows: Iterable[HotlineMessage]) -> dict[str, Any]:
    """The messages that carry a location, as a GeoJSON FeatureCollection (lon, lat order)."""
    features = []
    for m in rows:
        if m.lat is None or m.lon is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": f"{m.origin}/{m.id}",
                "geometry": {"type": "Point", "coordinates": [m.lon, m.lat]},
                "properties": {
                    "origin": m.origin,
                    "id": m.id,
                    "direction": "out" if m.origin == node.party else "in",
                    "precedence": m.precedence,
                    "state": m.state,
                    "subject": m.subject,
                    "from_position": m.from_position_id,
                    "to_position": m.to_position_id,
                    "created_at": iso(m.created_at),
                    "incident": m.incident,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
