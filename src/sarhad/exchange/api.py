"""HTTP endpoints of the link protocol (``/exchange/v1``) and the exchange's admin API.

Link endpoints are not for users: pushes are authenticated by the envelopes' own signatures (each checked
against the pinned key of the sending party); pulls, receipts and hellos by a signed request.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta
from typing import Any, Final

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.core.errors import ErrorCode, PayloadTooLarge
from sarhad.core.node import Node
from sarhad.core.params import RowId
from sarhad.exchange import alerts, joint, peers, protocol
from sarhad.exchange.domain import LANES_VERSION, DeliveryWake, Lane, link_id, parse_lane
from sarhad.exchange.identity import identity
from sarhad.exchange.models import LinkHead, PeerKey
from sarhad.exchange.outbox import outbound_batch
from sarhad.exchange.receipts import current_receipt, receive_receipt
from sarhad.exchange.receive import receive_batch
from sarhad.exchange.refusals import ExchangeNotFound, ExchangeRefusal
from sarhad.exchange.schemas import (
    AcknowledgedOut,
    AlertOut,
    DecisionIn,
    IdentityOut,
    JointRecordOut,
    LinkStatusOut,
    ProposalIn,
    QuarantinedOut,
)
from sarhad.exchange.tls import require_tls_party
from sarhad.web.deps import NodeDep, client_ip, public, requires

router = APIRouter(tags=["exchange"])
SIGNED = "peer node; authenticated by Ed25519 signatures checked against the peer's pinned key"


async def _read_body(request: Request, limit: int) -> bytes:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"batch over {limit} bytes; send smaller batches", code=ErrorCode.TOO_LARGE)
    return body


def _refusal(exc: ExchangeRefusal) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status_code)


def _strict_body(body: bytes, member: str, what: str) -> Any:
    """The one member of a small request body ``{member: ...}``, parsed exactly (duplicate member names,
    unsafe numbers and deep nesting refused with their codes)."""
    try:
        payload = protocol.parse_json_strict(body, protocol.MAX_DEPTH + 2, what)
    except protocol.ProtocolError as exc:
        raise ExchangeRefusal(exc.message, code=ErrorCode(exc.code)) from exc
    if not isinstance(payload, dict) or set(payload) != {member}:
        raise ExchangeRefusal(f'{what} must be a JSON object {{"{member}": ...}}', code=ErrorCode.MALFORMED)
    return payload[member]


def _hello_body(body: bytes) -> dict[str, Any]:
    """A hello body, parsed exactly: ``party`` (required) and ``lanes`` (optional, an integer >= 0, §16.4).
    Other members are ignored, so that a later negotiation member does not make a node refuse the hello."""
    try:
        payload = protocol.parse_json_strict(body, protocol.MAX_DEPTH + 2, "hello body")
    except protocol.ProtocolError as exc:
        raise ExchangeRefusal(exc.message, code=ErrorCode(exc.code)) from exc
    if not isinstance(payload, dict) or "party" not in payload:
        raise ExchangeRefusal('hello body must be a JSON object {"party": ...}', code=ErrorCode.MALFORMED)
    lanes = payload.get("lanes", 0)
    if not isinstance(lanes, int) or isinstance(lanes, bool) or lanes < 0:
        raise ExchangeRefusal("hello 'lanes' must be an integer >= 0", code=ErrorCode.MALFORMED)
    return payload


_DECIMAL_RE: Final = re.compile(r"(0|-?[1-9][0-9]*)")


def _count_param(request: Request, name: str, default: int | None, minimum: int) -> int | None:
    """An integer query parameter: decimal digits (``malformed`` otherwise), within ``minimum`` and
    2^53 − 1 (``out_of_range`` otherwise), given at most once. Checked before anything reaches the database."""
    values = request.query_params.getlist(name)
    if not values:
        return default
    if len(values) > 1:
        raise ExchangeRefusal(f"query parameter {name!r} is given more than once", code=ErrorCode.MALFORMED)
    text = values[0]
    if _DECIMAL_RE.fullmatch(text) is None:
        raise ExchangeRefusal(
            f"query parameter {name!r} must be a decimal integer, not {text[:24]!r}", code=ErrorCode.MALFORMED
        )
    if len(text.lstrip("-")) > 16 or not minimum <= int(text) <= protocol.MAX_SAFE_INTEGER:
        raise ExchangeRefusal(
            f"query parameter {name!r} is {text[:24]}, outside {minimum}..{protocol.MAX_SAFE_INTEGER}",
            code=ErrorCode.OUT_OF_RANGE,
        )
    return int(text)


def _not_our_link(message: str) -> ExchangeNotFound:
    return ExchangeNotFound(message, code=ErrorCode.UNKNOWN_LINK)


async def _verify_signed(request: Request, body: bytes) -> str:
    node = request.app.state.node
    target = request.scope.get("raw_path", request.url.path.encode()).decode("ascii", "replace")
    if request.url.query:
        target += "?" + request.url.query

    def keys() -> tuple[dict[str, Any], dict[str, str]]:
        # Requests are signed with a party's current key only: a key rotated away (``valid_until_seq`` set)
        # is refused (``wrong_key``), so a retired or stolen old key cannot pull the link.
        with node.sessions() as session:
            rows = session.scalars(select(PeerKey)).all()
            return (
                {
                    r.fingerprint: protocol.public_key_from_b64(r.public_key)
                    for r in rows
                    if r.valid_until_seq is None
                },
                {r.fingerprint: r.party for r in rows},
            )

    public_keys, owners = await asyncio.to_thread(keys)
    try:
        party = protocol.verify_request(
            dict(request.headers),
            request.method,
            target,
            body,
            public_keys,
            node.clock.now(),
            timedelta(minutes=node.settings.exchange_request_max_skew_minutes),
            key_owners=owners,
        )
    except protocol.ProtocolError as exc:
        raise ExchangeRefusal(f"request signature: {exc.message}", code=ErrorCode(exc.code)) from exc
    require_tls_party(request.scope, node, party)  # mutual TLS: the certificate must be that party's
    return party


def _lane(value: str | None) -> Lane:
    """The precedence lane a link endpoint's ``?lane=`` names (absent: the link's base chain)."""
    try:
        return parse_lane(value)
    except ValueError as exc:
        raise ExchangeRefusal(str(exc), code=ErrorCode.MALFORMED) from exc


@router.post("/exchange/v1/links/{sender}/{receiver}/envelopes")
async def receive_envelopes(
    request: Request,
    sender: str,
    receiver: str,
    node: NodeDep,
    lane: str | None = Query(None, description="precedence lane; absent: the link's base chain"),
    _: None = public(SIGNED),
) -> Response:
    """Push: a batch of envelopes for link sender>receiver (or one of its lanes). Answers with a signed
    cumulative receipt."""
    limit = node.settings.exchange_batch_max_bytes * 2 + 65536
    try:
        require_tls_party(request.scope, node, sender)  # mutual TLS: only the sender's certificate pushes
        link = link_id(sender, receiver, _lane(lane))
        body = await _read_body(request, limit)
        try:
            # orjson: under half the standard parser's time per envelope, and stricter (it refuses
            # NaN, Infinity and lone surrogates, which no envelope may hold). It keeps the last of two
            # members of one name: receive_batch proves the body free of them before applying anything.
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            try:  # why: a number or depth out of the domain has its own code
                protocol.parse_json_strict(body, protocol.MAX_DEPTH + 2, "push body")
            except protocol.ProtocolError as strict:
                raise ExchangeRefusal(strict.message, code=ErrorCode(strict.code)) from exc
            raise ExchangeRefusal(f"body is not valid JSON: {exc}", code=ErrorCode.MALFORMED) from exc
        if (
            not isinstance(payload, dict)
            or set(payload) != {"envelopes"}
            or not isinstance(payload["envelopes"], list)
        ):
            try:
                protocol.parse_json_strict(body, protocol.MAX_DEPTH + 2, "push body")
            except protocol.ProtocolError as strict:
                raise ExchangeRefusal(strict.message, code=ErrorCode(strict.code)) from None
            raise ExchangeRefusal('body must be a JSON object {"envelopes": [...]}', code=ErrorCode.MALFORMED)
        result = await asyncio.to_thread(receive_batch, node, link, payload["envelopes"], body)
    except ExchangeRefusal as exc:
        return _refusal(exc)
    return JSONResponse(
        {
            "receipt": result.receipt,
            "applied": result.applied,
            "duplicates": result.duplicates,
            "quarantined": result.quarantined,
        }
    )


@router.get("/exchange/v1/links/{sender}/{receiver}/envelopes")
async def serve_envelopes(
    request: Request,
    sender: str,
    receiver: str,
    node: NodeDep,
    lane: str | None = Query(None, description="precedence lane; absent: the link's base chain"),
    _: None = public(SIGNED),
) -> Response:
    """Pull: the receiving peer fetches what we hold for it after seq ``after`` (a capped batch).

    Query: ``after`` (0 to 2^53 − 1, default 0) and ``limit`` (1 to 2^53 − 1, capped by this node's batch
    limits; default that cap)."""
    try:
        chosen = _lane(lane)
        caller = await _verify_signed(request, b"")
        if sender != node.party or caller != receiver:
            raise _not_our_link(f"{caller} may only pull link {node.party}>{caller}")
        after = _count_param(request, "after", 0, 0)
        limit = _count_param(request, "limit", None, 1)
        assert after is not None

        def batch() -> tuple[list[str], int]:
            with node.sessions() as session:
                head = session.get(LinkHead, link_id(node.party, caller, chosen))
                return outbound_batch(session, node, caller, after, limit, chosen), head.seq if head else 0

        bodies, last = await asyncio.to_thread(batch)
    except ExchangeRefusal as exc:
        return _refusal(exc)
    text = '{"envelopes":[' + ",".join(bodies) + '],"last_seq":' + str(last) + "}"
    return Response(text, media_type="application/json")


@router.post("/exchange/v1/links/{sender}/{receiver}/receipts")
async def take_receipt(
    request: Request, sender: str, receiver: str, node: NodeDep, _: None = public(SIGNED)
) -> Response:
    """The puller returns its signed receipt for what it pulled."""
    try:
        body = await _read_body(request, 65536)
        caller = await _verify_signed(request, body)
        if sender != node.party or caller != receiver:
            raise _not_our_link(f"{caller} may only receipt link {node.party}>{caller}")
        receipt = _strict_body(body, "receipt", "receipt body")
        seq = await asyncio.to_thread(receive_receipt, node, caller, receipt)
    except ExchangeRefusal as exc:
        return _refusal(exc)
    return JSONResponse({"receipted_seq": seq})


@router.get("/exchange/v1/links/{sender}/{receiver}/receipt")
async def latest_receipt(
    request: Request,
    sender: str,
    receiver: str,
    node: NodeDep,
    lane: str | None = Query(None, description="precedence lane; absent: the link's base chain"),
    _: None = public(SIGNED),
) -> Response:
    """Our signed receipt for what we hold on an inbound link (lets a sender learn where to resume)."""
    try:
        chosen = _lane(lane)
        caller = await _verify_signed(request, b"")
        if receiver != node.party or caller != sender:
            raise _not_our_link(f"{caller} may only ask for the receipt of {caller}>{node.party}")
        receipt = await asyncio.to_thread(current_receipt, node, link_id(sender, receiver, chosen))
    except ExchangeRefusal as exc:
        return _refusal(exc)
    return JSONResponse({"receipt": receipt})


@router.post("/exchange/v1/hello")
async def hello(request: Request, node: NodeDep, _: None = public(SIGNED)) -> Response:
    """A peer announces it is up: end our back-off towards it and push at once.

    Body ``{"party": caller}`` (the caller's own code, as in ``X-Sarhad-Party``); answer ``{"party": ours}``."""
    try:
        body = await _read_body(request, 4096)
        caller = await _verify_signed(request, body)
        hello_body = _hello_body(body)
        named = hello_body["party"]
        if named != caller:
            raise ExchangeRefusal(
                f"hello body names {str(named)[:8]!r}, but the request is signed by {caller}",
                code=ErrorCode.MALFORMED,
            )
    except ExchangeRefusal as exc:
        return _refusal(exc)

    offered = min(hello_body.get("lanes", 0), LANES_VERSION) if node.settings.exchange_lanes else 0

    def reset() -> None:
        with node.transaction() as session:
            peers.note_contact(session, node, caller, None, None)
            if node.settings.exchange_lanes:
                peers.note_lanes(session, caller, offered)

    await asyncio.to_thread(reset)
    wake = node.components.get(DeliveryWake)
    if wake is not None:
        wake.wake()
    if not node.settings.exchange_lanes:
        return JSONResponse({"party": node.party})  # as a node before lanes answers
    return JSONResponse({"party": node.party, "lanes": LANES_VERSION})


# --- admin API --------------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@router.get("/api/v1/exchange/peers", response_model=list[LinkStatusOut])
def list_peers(
    node: NodeDep, principal: Principal = requires(Permission.EXCHANGE_READ)
) -> list[LinkStatusOut]:
    """Per link: last seq written, sent and receipted, backlog and its age, last contact and error."""
    with node.sessions() as session:
        rows = peers.peer_status(session, node, principal)
    now = node.clock.now()
    return [
        LinkStatusOut(
            **{k: (_iso(v) if isinstance(v, datetime) else v) for k, v in vars(r).items()},
            backlog_age_seconds=(now - r.oldest_unreceipted_at).total_seconds()
            if r.oldest_unreceipted_at
            else 0,
        )
        for r in rows
    ]


@router.get("/api/v1/exchange/identity", response_model=IdentityOut)
def node_identity(node: NodeDep, _: Principal = requires(Permission.EXCHANGE_READ)) -> IdentityOut:
    """This node's party, public key and fingerprint (give them to peers out of band)."""
    me = identity(node)
    return IdentityOut(
        party=node.party,
        public_key=me.public_key_b64,
        fingerprint=me.fingerprint,
        short_fingerprint=protocol.short_fingerprint(me.fingerprint),
    )


@router.get("/api/v1/exchange/alerts", response_model=list[AlertOut])
def list_alerts(
    node: NodeDep, all: bool = False, principal: Principal = requires(Permission.EXCHANGE_READ)
) -> list[AlertOut]:
    """The newest alerts; acknowledged ones too with ``all=true``."""
    with node.sessions() as session:
        return [
            AlertOut(
                id=a.id,
                kind=a.kind,
                severity=a.severity,
                message=a.message,
                link=a.link,
                seq=a.seq,
                at=a.at.isoformat(),
                acknowledged_at=_iso(a.acknowledged_at),
                acknowledged_by=a.acknowledged_by,
            )
            for a in alerts.list_alerts(session, principal, include_acknowledged=all)
        ]


@router.post("/api/v1/exchange/alerts/{alert_id}/ack", response_model=AcknowledgedOut)
def acknowledge_alert(
    alert_id: RowId, node: NodeDep, principal: Principal = requires(Permission.EXCHANGE_ADMIN)
) -> AcknowledgedOut:
    """Mark an alert as dealt with."""
    with node.transaction() as session:
        alert = alerts.acknowledge_alert(session, node, alert_id, actor=principal)
        return AcknowledgedOut(id=alert.id, acknowledged_by=alert.acknowledged_by)


@router.get("/api/v1/exchange/quarantine", response_model=list[QuarantinedOut])
def list_quarantine(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.EXCHANGE_ADMIN)
) -> list[QuarantinedOut]:
    """Envelopes whose record could not be applied (unknown kind, invalid content), with the reason."""
    with node.transaction() as session:
        rows = alerts.access_quarantine(session, node, principal, client_ip=client_ip(request))
        return [
            QuarantinedOut(
                link=r.link,
                seq=r.seq,
                kind=r.record_kind,
                record_id=r.record_id,
                reason=r.reason,
                received_at=r.received_at.isoformat(),
                envelope=json.loads(r.body),
            )
            for r in rows
        ]


# --- joint records ----------------------------------------------------------------------------------------


@router.get("/api/v1/joint", response_model=list[JointRecordOut])
def list_joint_records(
    node: NodeDep, subject: str | None = None, principal: Principal = requires(Permission.JOINT_DECIDE)
) -> list[dict[str, Any]]:
    """Every joint record (about ``subject``, if given), newest first."""
    with node.sessions() as session:
        return joint.access_joint_records(session, principal, subject)


@router.post("/api/v1/joint", status_code=201, response_model=JointRecordOut)
def propose_joint_record(
    body: ProposalIn, node: NodeDep, principal: Principal = requires(Permission.JOINT_DECIDE)
) -> dict[str, Any]:
    """Propose a new joint record to the other signatories (this party's proposal counts as its acceptance)."""
    return _propose(node, principal, body, None)


@router.get("/api/v1/joint/{joint_id}", response_model=JointRecordOut)
def get_joint_record(
    joint_id: str, node: NodeDep, principal: Principal = requires(Permission.JOINT_DECIDE)
) -> dict[str, Any]:
    """One joint record: agreed content, pending proposals with every signatory's position, its history."""
    with node.sessions() as session:
        return joint.access_joint_record(session, principal, joint_id)


@router.post("/api/v1/joint/{joint_id}/proposals", status_code=201, response_model=JointRecordOut)
def counter_propose(
    joint_id: str, body: ProposalIn, node: NodeDep, principal: Principal = requires(Permission.JOINT_DECIDE)
) -> dict[str, Any]:
    """Counter-propose new content; the last agreed content stands until all accept the new one."""
    return _propose(node, principal, body, joint_id)


def _propose(node: Node, principal: Principal, body: ProposalIn, joint_id: str | None) -> dict[str, Any]:
    """A new joint record (``joint_id`` None) or a counter-proposal on one; answers with the record."""
    with node.transaction() as session:
        proposal = joint.propose(
            session,
            node,
            subject=body.subject,
            title=body.title,
            signatories=body.signatories,
            content=body.content,
            actor=principal,
            joint_id=joint_id,
        )
        return joint.access_joint_record(session, principal, proposal.joint_id)


@router.post("/api/v1/joint/{joint_id}/decisions", status_code=201, response_model=JointRecordOut)
def decide_joint_record(
    joint_id: str, body: DecisionIn, node: NodeDep, principal: Principal = requires(Permission.JOINT_DECIDE)
) -> dict[str, Any]:
    """Accept or reject one proposed content hash."""
    with node.transaction() as session:
        joint.decide(
            session,
            node,
            joint_id=joint_id,
            content_hash=body.content_hash,
            decision=body.decision,
            reason=body.reason,
            actor=principal,
        )
        return joint.access_joint_record(session, principal, joint_id)
