"""HTTP API of the hotline under ``/api/v1/hotline``: send, list, read, mark seen, acknowledge, close; positions,
channels, deadlines and escalation policies; the report. Live events are at ``/api/v1/events`` (``sarhad.live``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.domain import Permission
from sarhad.accounts.models import Position
from sarhad.accounts.services import Principal, current_holders, list_positions
from sarhad.audit.services import record_export, record_list_read
from sarhad.core.errors import InvalidInput
from sarhad.core.formats import csv_response, geojson_response
from sarhad.core.node import Node
from sarhad.hotline import access, configuration, domain, reading, reports, sending
from sarhad.hotline.models import HotlineMessage
from sarhad.hotline.schemas import (
    AckIn,
    ChannelIn,
    ChannelOut,
    DeadlinesIn,
    MessageDetailOut,
    MessageIn,
    MessageOut,
    PolicyIn,
    PositionOut,
    TimelineOut,
)
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.openapi import CSV, GEOJSON, answers

router = APIRouter(prefix="/api/v1/hotline", tags=["hotline"])
IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="The message id")]


def message_out(node: Node, m: HotlineMessage) -> MessageOut:
    """A message as the API shows it (``link_down`` only for our own messages)."""
    now = node.clock.now()
    return MessageOut(
        id=m.id,
        origin=m.origin,
        direction="out" if m.origin == node.party else "in",
        channel=m.channel_id,
        from_party=m.from_party,
        from_position=m.from_position_id,
        from_position_names=m.from_position_names,
        to_party=m.to_party,
        to_position=m.to_position_id,
        to_position_names=m.to_position_names,
        precedence=m.precedence,
        subject=m.subject,
        body=m.body,
        lat=m.lat,
        lon=m.lon,
        incident=m.incident,
        reply_to=m.reply_to_id,
        thread=m.thread_id,
        sent_by=m.sent_by,
        sent_by_name=m.sent_by_name,
        state=m.state,
        created_at=m.created_at,
        delivered_at=m.delivered_at,
        delivered_remote_at=m.delivered_remote_at,
        seen_at=m.seen_at,
        seen_remote_at=m.seen_remote_at,
        acknowledged_at=m.acknowledged_at,
        acknowledged_remote_at=m.acknowledged_remote_at,
        acknowledged_by=m.acknowledged_by,
        acknowledged_by_name=m.acknowledged_by_name,
        ack_reply=m.ack_reply,
        closed_at=m.closed_at,
        ack_due_at=m.ack_due_at,
        escalations=m.escalations,
        escalated_positions=list(m.escalated_positions),
        link_down=m.origin == node.party and reading.is_link_down(m, now),
        content_hash=m.content_hash,
    )


def detail_out(session: Session, node: Node, m: HotlineMessage) -> MessageDetailOut:
    """A message with its timeline, thread and, on the sender, the signed acknowledgement."""
    session.flush()
    return MessageDetailOut(
        **message_out(node, m).model_dump(),
        timeline=[
            TimelineOut(
                kind=e.kind,
                party=e.party,
                at=e.at,
                recorded_at=e.recorded_at,
                actor=e.actor,
                details=e.details,
            )
            for e in reading.timeline(session, m)
        ],
        thread_messages=[message_out(node, t) for t in reading.thread_of(session, m)],
        signed_ack=reading.signed_ack(session, node, m),
    )


def _fresh_detail(node: Node, message_id: str) -> MessageDetailOut:
    with node.sessions() as session:
        return detail_out(session, node, reading.find_message(session, message_id))


@router.post("/messages", status_code=201, response_model=MessageDetailOut)
def send_message(
    body: MessageIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.HOTLINE_SEND),
) -> MessageDetailOut:
    """Send a message from a position you hold to its counterpart (``channel`` or ``to_position``).

    ``from_position`` may be left out when you hold exactly one position with a channel to ``to_position``.
    ``reply_to`` (a message id) threads the reply and routes it back. The message is released to the
    counterpart's node in the same transaction and starts ``queued``.
    """
    with node.transaction() as session:
        message_id = sending.send_message(session, node, principal, body, client_ip=client_ip(request)).id
    return _fresh_detail(node, message_id)  # after the commit, so the delivery worker is already on its way


@router.get("/messages", response_model=list[MessageOut], responses=answers(CSV, GEOJSON))
def list_messages(
    request: Request,
    node: NodeDep,
    position: Annotated[str | None, Query(max_length=64, description="Only this position's messages")] = None,
    direction: Annotated[Literal["in", "out"] | None, Query(description="in (inbox) or out (sent)")] = None,
    state: Annotated[Literal["queued", "delivered", "seen", "acknowledged", "closed"] | None, Query()] = None,
    precedence: domain.Precedence | None = None,
    since: Annotated[datetime | None, Query(description="Created at or after (ISO 8601)")] = None,
    until: Annotated[datetime | None, Query(description="Created before (ISO 8601)")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in subject or body")] = None,
    limit: Annotated[int, Query(ge=1, le=reading.MAX_LIST)] = 200,
    format: Literal["json", "csv", "geojson"] = "json",
    principal: Principal = requires(Permission.HOTLINE_READ),
) -> Response | list[MessageOut]:
    """Messages of the positions you hold now, newest first; ``format=csv`` exports them, ``format=geojson``
    the ones with a location (exports are audited)."""
    for value, name in ((since, "since"), (until, "until")):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                f"{name}: give a time zone (e.g. 2026-11-23T10:00:00Z)", details={"field": name}
            )
    flt = reading.MessageFilter(
        position=position,
        direction=direction,
        state=state,
        precedence=precedence.value if precedence else None,
        since=since,
        until=until,
        text=q,
        limit=limit,
    )
    if format == "json":
        with node.sessions() as session:
            rows = reading.list_messages(session, node, principal, flt)
            listed = [message_out(node, m) for m in rows]
        record_list_read(
            node, principal.username, "hotline", "hotline.message", rows, client_ip=client_ip(request)
        )
        return listed
    with node.transaction() as session:
        rows = reading.list_messages(session, node, principal, flt)
        record_export(
            session, node.clock, principal.username, "hotline", len(rows), format, client_ip(request)
        )
    stamp = node.clock.now().strftime("%Y-%m-%d")
    if format == "geojson":
        return geojson_response(reports.messages_geojson(node, rows), f"hotline-{node.party}-{stamp}.geojson")
    return csv_response(reports.messages_csv(node, rows), f"hotline-{node.party}-{stamp}.csv")


@router.get("/messages/{message_id}", response_model=MessageDetailOut)
def get_message(
    message_id: IdPath,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.HOTLINE_READ),
) -> MessageDetailOut:
    """One message with its state, its timeline (both sides' times), its thread and, on the sender, the
    receiver's signed acknowledgement (where it sits on the link). Reading is audited."""
    with node.transaction() as session:
        message = reading.get_message(session, node, principal, message_id, client_ip=client_ip(request))
        return detail_out(session, node, message)


@router.post("/messages/{message_id}/seen", response_model=MessageDetailOut)
def mark_seen(
    message_id: IdPath,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.HOTLINE_READ),
) -> MessageDetailOut:
    """Mark a received message seen by you (a holder of the addressed or escalated-to position)."""
    with node.transaction() as session:
        message = sending.mark_seen(session, node, principal, message_id, client_ip=client_ip(request))
        return detail_out(session, node, message)


@router.post("/messages/{message_id}/ack", response_model=MessageDetailOut)
def acknowledge(
    message_id: IdPath,
    body: AckIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.HOTLINE_SEND),
) -> MessageDetailOut:
    """Acknowledge a received message (optionally with a short reply); signed back to the sender.

    Refused: a message never delivered here (404), one this node sent (422 ``own_message``), one you do not
    hold the position for (403 ``not_holder``), one already acknowledged (409 ``already_acknowledged``).
    """
    with node.transaction() as session:
        sending.acknowledge(
            session,
            node,
            principal,
            message_id,
            reply=body.reply,
            position=body.position,
            client_ip=client_ip(request),
        )
    return _fresh_detail(node, message_id)  # after the commit: the acknowledgement is already on its way


@router.post("/messages/{message_id}/close", response_model=MessageDetailOut)
def close_message(
    message_id: IdPath,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.HOTLINE_SEND),
) -> MessageDetailOut:
    """Close one of our acknowledged messages (the receiver is told)."""
    with node.transaction() as session:
        message = sending.close_message(session, node, principal, message_id, client_ip=client_ip(request))
        return detail_out(session, node, message)


@router.get("/positions", response_model=list[PositionOut])
def positions(node: NodeDep, principal: Principal = requires(Permission.HOTLINE_READ)) -> list[PositionOut]:
    """This node's positions (with who holds them now and whether you do) and the counterpart positions
    reachable through channels."""
    now = node.clock.now()
    out: list[PositionOut] = []
    with node.sessions() as session:
        for p in list_positions(session, node.party):
            holders = [u.username for u in current_holders(session, p.id, now)]
            out.append(
                PositionOut(
                    id=p.id,
                    party=p.party,
                    names=p.names,
                    own=True,
                    held_by_me=principal.username in holders,
                    holders=holders,
                    parent_id=p.parent_id,
                )
            )
        seen: set[tuple[str, str]] = set()
        for c in configuration.list_channels(session):
            key = (c.counterpart_party, c.counterpart_position_id)
            if key in seen:
                continue
            seen.add(key)
            out.append(
                PositionOut(
                    id=c.counterpart_position_id,
                    party=c.counterpart_party,
                    names=c.counterpart_names,
                    own=False,
                    held_by_me=False,
                    holders=[],
                    parent_id=None,
                )
            )
    return out


def channel_out(session: Session, c: Any, held: set[str] | None) -> ChannelOut:
    """A channel as the API shows it, with our position's names."""
    own = session.get(Position, c.own_position_id)
    return ChannelOut(
        id=c.id,
        own_position=c.own_position_id,
        own_position_names=own.names if own else {"en": c.own_position_id},
        counterpart_party=c.counterpart_party,
        counterpart_position=c.counterpart_position_id,
        counterpart_names=c.counterpart_names,
        active=c.active,
        held_by_me=held is not None and c.own_position_id in held,
    )


@router.get("/channels", response_model=list[ChannelOut])
def channels(node: NodeDep, principal: Principal = requires(Permission.HOTLINE_READ)) -> list[ChannelOut]:
    """Configured counterpart pairs: our position ↔ the counterpart's position on the other party."""
    with node.sessions() as session:
        held = access.held_positions(session, node, principal)
        return [channel_out(session, c, held) for c in configuration.list_channels(session)]


@router.post("/channels", status_code=201, response_model=ChannelOut)
def add_channel(
    body: ChannelIn, node: NodeDep, principal: Principal = requires(Permission.HOTLINE_ADMIN)
) -> ChannelOut:
    """Add (or re-activate) a channel between one of our positions and a counterpart position."""
    with node.transaction() as session:
        row = configuration.upsert_channel(
            session,
            node,
            principal,
            own_position=body.own_position,
            counterpart_party=body.counterpart_party,
            counterpart_position=body.counterpart_position,
            counterpart_names=body.counterpart_names,
        )
        return channel_out(session, row, access.held_positions(session, node, principal))


@router.get("/config")
def get_config(node: NodeDep, _principal: Principal = requires(Permission.HOTLINE_READ)) -> dict[str, Any]:
    """Acknowledgement deadlines (seconds per precedence) and escalation policies of this deployment."""
    with node.sessions() as session:
        policies = {}
        for p in session.scalars(select(Position).where(Position.party == node.party)).all():
            steps, repeats = configuration.policy_of(session, p.id)
            policies[p.id] = {
                "steps": [{"wait_seconds": s.wait_seconds, "notify": s.notify} for s in steps],
                "max_repeats": repeats,
            }
        return {
            "deadlines": configuration.deadlines(session),
            "link_down_seconds": domain.LINK_DOWN_SECONDS,
            "policies": policies,
        }


@router.put("/config/deadlines")
def put_deadlines(
    body: DeadlinesIn, node: NodeDep, principal: Principal = requires(Permission.HOTLINE_ADMIN)
) -> dict[str, int]:
    """Set acknowledgement deadlines; messages already received keep the deadline frozen into them."""
    with node.transaction() as session:
        return configuration.set_deadlines(session, node, principal, body.deadlines)


@router.put("/config/policies/{position_id}")
def put_policy(
    position_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$")],
    body: PolicyIn,
    node: NodeDep,
    principal: Principal = requires(Permission.HOTLINE_ADMIN),
) -> dict[str, Any]:
    """Set a position's escalation policy: ``steps`` = [{"wait_seconds": int | null, "notify": "parent" |
    position id}], ``max_repeats`` = how often the last step repeats."""
    with node.transaction() as session:
        row = configuration.set_policy(session, node, principal, position_id, body.steps, body.max_repeats)
        return {"position": row.position_id, "steps": row.steps, "max_repeats": row.max_repeats}


@router.get("/report", response_model=None, responses=answers(CSV))
def report(
    request: Request,
    node: NodeDep,
    start: Annotated[datetime, Query(alias="from", description="From (ISO 8601, with zone)")],
    end: Annotated[datetime, Query(alias="to", description="To, exclusive (ISO 8601, with zone)")],
    format: Literal["json", "csv"] = "json",
    principal: Principal = requires(Permission.HOTLINE_READ),
) -> Response | list[dict[str, Any]]:
    """Per direction, channel and precedence: count, median and p90 time to delivery and acknowledgement
    (seconds), escalations and unacknowledged messages."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("from/to: give a time zone (e.g. 2026-11-23T00:00:00Z)", details={"field": "from"})
    if end <= start:
        raise InvalidInput("to: must be after from", details={"field": "to"})
    with node.sessions() as session:
        rows = reports.report(session, node, start, end)
    if format == "csv":
        name = f"hotline-report-{node.party}-{start:%Y-%m-%d}-{end:%Y-%m-%d}.csv"
        return csv_response(reports.report_csv(rows), name)
    return [r.as_dict() for r in rows]
