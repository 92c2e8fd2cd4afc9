"""The one write path for requests to the other side. The API, the pages, the demo and the handlers call these.

A request is a record of the requesting party (kind ``request``), released to the addressed party in the same
transaction as it is written (the exchange's transactional outbox). The answer is a record of the addressed
party (kind ``request.answer``), released back the same way. Each side applies the other's record through
``handlers.py``; a received request can be answered here but never edited.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, or_, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor as Actor
from sarhad.accounts.actors import SystemActor as SystemActor
from sarhad.accounts.actors import require as _require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, NotFound, PermissionDenied
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange.domain import Handling, Tlp
from sarhad.exchange.peers import peer_parties
from sarhad.exchange.registry import IncomingRecord
from sarhad.exchange.release import (
    Delivery,
    content_hash,
    deliveries,
    publish_version,
    release_record,
    withdraw_record,
)
from sarhad.requests import domain
from sarhad.requests.domain import (
    ANSWER_KIND,
    REQUEST_KIND,
    Direction,
    OpenRequest,
    RequestRuleError,
    ResponseStatsRow,
    Status,
)
from sarhad.requests.models import PartyRequest, RequestEvent
from sarhad.requests.schemas import AnswerContent, AnswerIn, RequestContent, RequestCreateIn, RequestUpdateIn

__all__ = ["OpenRequest", "ResponseStatsRow", "open_requests", "response_stats"]


def _invalid(exc: RequestRuleError) -> InvalidInput:
    return InvalidInput(f"{exc.field}: {exc.message}", details={"field": exc.field})


def incident_exists(session: Session, origin: str, incident_id: str) -> bool:
    """Whether this node holds the incident (own or received), through the incidents package's service."""
    from sarhad.incidents import services as incidents  # lazy: the incidents package is optional here

    return bool(incidents.incident_exists(session, origin, incident_id))


def direction_of(node: Node, request: PartyRequest) -> Direction:
    return Direction.OUTGOING if request.origin == node.party else Direction.INCOMING


def _event(session: Session, node: Node, request: PartyRequest, event: str, by: str, **details: Any) -> None:
    session.add(
        RequestEvent(
            request_origin=request.origin,
            request_id=request.id,
            at=node.clock.now(),
            event=event,
            by=by,
            details=details,
        )
    )


def _content(request: PartyRequest) -> dict[str, Any]:
    return domain.request_content(
        addressee=request.addressee,
        incident_origin=request.incident_origin,
        incident_id=request.incident_id,
        kind=request.kind,
        action=request.action,
        deadline_choice=request.deadline_choice,
        deadline=request.deadline,
        text=request.text,
        created_by=request.created_by,
        created_at=request.created_at,
        updated_at=request.updated_at,
    )


def _find(session: Session, origin: str, request_id: str) -> PartyRequest:
    request = session.get(PartyRequest, (origin, request_id))
    if request is None:
        raise NotFound(f"no request {request_id} from {origin} is held here")
    return request


# --- writing -----------------------------------------------------------------------------------------------


def create_request(
    session: Session, node: Node, actor: Actor, data: RequestCreateIn, *, client_ip: str = ""
) -> PartyRequest:
    """Write a request to another party about an incident and release it to that party at once."""
    _require(actor, Permission.REQUESTS_WRITE, "sending requests to the other side")
    now = node.clock.now()
    try:
        if data.to == node.party:
            raise RequestRuleError(
                "to", f"{node.party} is this node's own party; a request goes to another party"
            )
        peers = peer_parties(session)
        if data.to not in peers:
            known = ", ".join(sorted(peers)) or "none"
            raise RequestRuleError("to", f"{data.to} is not a configured peer (configured peers: {known})")
        request_type, action = domain.check_type_and_action(data.kind, data.action)
        choice, deadline = domain.resolve_deadline(data.deadline, data.deadline_at, now)
        text = domain.check_text(data.text)
    except RequestRuleError as exc:
        raise _invalid(exc) from exc
    if not incident_exists(session, data.incident.origin, data.incident.id):
        raise NotFound(
            f"incident: no incident {data.incident.id} from {data.incident.origin} is held on this node; "
            "a request refers to an incident this node holds (own or received)",
            code=ErrorCode.UNKNOWN_INCIDENT,
            details={"field": "incident"},
        )
    request = PartyRequest(
        origin=node.party,
        id=new_id(),
        addressee=data.to,
        version=1,
        incident_origin=data.incident.origin,
        incident_id=data.incident.id,
        kind=request_type.value,
        action=action.value if action else None,
        deadline_choice=choice.value,
        deadline=deadline,
        text=text,
        status=Status.OPEN.value,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
        received_at=None,
        answer="",
        late_reason="",
        answered_at=None,
        answered_by="",
        withdrawn_at=None,
        withdraw_reason="",
    )
    content = _content(request)
    request.content_hash = content_hash(content)
    session.add(request)
    session.flush()
    _event(session, node, request, "created", actor.username, version=1, deadline=domain.iso(deadline))
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="request.create",
        record_kind=REQUEST_KIND,
        record_id=request.id,
        client_ip=client_ip,
        details={
            "to": request.addressee,
            "incident": f"{request.incident_origin}/{request.incident_id}",
            "kind": request.kind,
            "action": request.action,
            "deadline": domain.iso(deadline),
        },
    )
    release_record(
        session,
        node,
        kind=REQUEST_KIND,
        record_id=request.id,
        version=1,
        content=content,
        to=[request.addressee],
        handling=Handling.NO_ONWARD.value,
        tlp=Tlp.AMBER.value,
        actor=actor,
        client_ip=client_ip,
    )
    return request


def _own_open(session: Session, node: Node, origin: str, request_id: str, verb: str) -> PartyRequest:
    request = _find(session, origin, request_id)
    if request.origin != node.party:
        raise PermissionDenied(
            f"request {request_id} was received from {request.origin}; received requests are never {verb} here "
            f"(only {request.origin}, which made it, can do that). You can answer it.",
            code=ErrorCode.NOT_ORIGINATOR,
        )
    if request.status != Status.OPEN:
        raise Conflict(
            f"request {request_id} is {request.status}; only an open request can be {verb}",
            code=ErrorCode(f"request_{request.status}"),
        )
    return request


def update_request(
    session: Session,
    node: Node,
    actor: Actor,
    origin: str,
    request_id: str,
    data: RequestUpdateIn,
    *,
    client_ip: str = "",
) -> PartyRequest:
    """A new version of one of this node's open requests (text, deadline); it follows the release."""
    _require(actor, Permission.REQUESTS_WRITE, "changing requests")
    request = _own_open(session, node, origin, request_id, "edited")
    if data.version is not None and data.version != request.version:
        raise Conflict(
            f"request {request_id} is at version {request.version} now, not {data.version}; reload and edit again",
            code=ErrorCode.STALE_VERSION,
        )
    now = node.clock.now()
    try:
        text = domain.check_text(data.text) if data.text is not None else request.text
        if data.deadline is not None:
            choice, deadline = domain.resolve_deadline(data.deadline, data.deadline_at, now)
        elif data.deadline_at is not None:
            raise RequestRuleError("deadline", "give deadline=set with deadline_at")
        else:
            choice, deadline = domain.DeadlineChoice(request.deadline_choice), request.deadline
    except RequestRuleError as exc:
        raise _invalid(exc) from exc
    if text == request.text and deadline == request.deadline:
        return request
    request.text, request.deadline_choice, request.deadline = text, choice.value, deadline
    request.version += 1
    request.updated_at = now
    content = _content(request)
    request.content_hash = content_hash(content)
    _event(
        session,
        node,
        request,
        "updated",
        actor.username,
        version=request.version,
        deadline=domain.iso(deadline),
    )
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="request.update",
        record_kind=REQUEST_KIND,
        record_id=request.id,
        client_ip=client_ip,
        details={"version": request.version, "deadline": domain.iso(deadline)},
    )
    publish_version(
        session,
        node,
        kind=REQUEST_KIND,
        record_id=request.id,
        version=request.version,
        content=content,
        actor=actor,
    )
    return request


def answer_request(
    session: Session,
    node: Node,
    actor: Actor,
    origin: str,
    request_id: str,
    data: AnswerIn,
    *,
    client_ip: str = "",
) -> PartyRequest:
    """The addressed party answers a received request; after the deadline the answer must say why it is late."""
    _require(actor, Permission.REQUESTS_WRITE, "answering requests")
    request = _find(session, origin, request_id)
    if request.origin == node.party:
        raise PermissionDenied(
            f"request {request_id} is {node.party}'s own request to {request.addressee}; "
            f"only {request.addressee} answers it",
            code=ErrorCode.OWN_REQUEST,
        )
    if request.addressee != node.party:
        raise PermissionDenied(
            f"request {request_id} is addressed to {request.addressee}, not {node.party}",
            code=ErrorCode.NOT_ADDRESSEE,
        )
    if request.status != Status.OPEN:
        raise Conflict(
            f"request {request_id} is {request.status}; it can no longer be answered",
            code=ErrorCode(f"request_{request.status}"),
        )
    now = node.clock.now()
    try:
        answer, reason = domain.check_answer(data.answer, data.late_reason, request.deadline, now)
    except RequestRuleError as exc:
        raise _invalid(exc) from exc
    request.status = Status.ANSWERED.value
    request.answer, request.late_reason = answer, reason
    request.answered_at, request.answered_by = now, actor.username
    late = domain.is_late(request.deadline, now)
    _event(session, node, request, "answered", actor.username, late=late)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="request.answer",
        record_kind=REQUEST_KIND,
        record_id=request.id,
        client_ip=client_ip,
        details={"origin": request.origin, "late": late, "late_reason": reason},
    )
    content = AnswerContent.model_validate(
        {
            "request": {"origin": request.origin, "id": request.id},
            "answer": answer,
            "late_reason": reason,
            "answered_at": domain.iso(now),
            "answered_by": actor.username,
        }
    ).model_dump(mode="json")
    content["answered_at"] = domain.iso(now)  # one spelling of the instant on both sides
    release_record(
        session,
        node,
        kind=ANSWER_KIND,
        record_id=domain.answer_record_id(request.origin, request.id),
        version=1,
        content=content,
        to=[request.origin],
        handling=Handling.NO_ONWARD.value,
        tlp=Tlp.AMBER.value,
        actor=actor,
        client_ip=client_ip,
    )
    return request


def withdraw_request(
    session: Session,
    node: Node,
    actor: Actor,
    origin: str,
    request_id: str,
    reason: str,
    *,
    client_ip: str = "",
) -> PartyRequest:
    """Cancel one of this node's open requests: the addressed party gets a signed withdrawal."""
    _require(actor, Permission.REQUESTS_WRITE, "withdrawing requests")
    reason = reason.strip()
    if not reason or len(reason) > domain.REASON_MAX:
        raise InvalidInput(
            f"reason: say why the request is withdrawn (1 to {domain.REASON_MAX} characters)",
            details={"field": "reason"},
        )
    request = _own_open(session, node, origin, request_id, "withdrawn")
    withdraw_record(
        session,
        node,
        kind=REQUEST_KIND,
        record_id=request.id,
        version=request.version,
        actor=actor,
        reason=reason,
    )
    request.status = Status.WITHDRAWN.value
    request.withdrawn_at, request.withdraw_reason = node.clock.now(), reason
    _event(session, node, request, "withdrawn", actor.username, reason=reason)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="request.withdraw",
        record_kind=REQUEST_KIND,
        record_id=request.id,
        client_ip=client_ip,
        details={"reason": reason},
    )
    return request


# --- receiving (called by the exchange through handlers.py) ---------------------------------------------------


def apply_received_request(session: Session, node: Node, record: IncomingRecord) -> None:
    """Store a request received from the requesting party. Never overwrites a newer version."""
    if record.origin == node.party:
        raise ValueError(f"request {record.record_id} claims to originate from {node.party}, this node")
    content = RequestContent.model_validate(record.content)
    if content.addressee != node.party:
        raise ValueError(f"request {record.record_id} is addressed to {content.addressee}, not {node.party}")
    try:  # the same rules as for our own users (a RequestRuleError quarantines the record)
        request_type, action = domain.check_type_and_action(content.kind, content.action)
        choice = domain.DeadlineChoice(content.deadline_choice)
        text = domain.check_text(content.text)
    except ValueError as exc:
        raise ValueError(f"request {record.record_id}: {exc}") from exc
    by = f"peer:{record.origin}"
    request = session.get(PartyRequest, (record.origin, record.record_id))
    if request is not None and record.version <= request.version:
        return  # an older or repeated version never overwrites a newer one
    is_new = request is None
    if request is None:
        request = PartyRequest(
            origin=record.origin,
            id=record.record_id,
            status=Status.OPEN.value,
            answer="",
            late_reason="",
            answered_at=None,
            answered_by="",
            withdrawn_at=None,
            withdraw_reason="",
        )
        session.add(request)
    request.addressee = content.addressee
    request.version = record.version
    request.incident_origin, request.incident_id = content.incident.origin, content.incident.id
    request.kind, request.action = request_type.value, action.value if action else None
    request.deadline_choice, request.deadline = choice.value, content.deadline
    request.text = text
    request.content_hash = record.content_hash
    request.created_by = f"{record.origin}:{content.created_by}"[:100]
    request.created_at, request.updated_at = content.created_at, content.updated_at
    request.received_at = node.clock.now()
    session.flush()
    _event(
        session,
        node,
        request,
        "received" if is_new else "received_update",
        by,
        version=record.version,
        link=record.link,
        seq=record.seq,
    )
    record_event(
        session,
        node.clock,
        actor=by,
        action="request.receive",
        record_kind=REQUEST_KIND,
        record_id=record.record_id,
        details={"origin": record.origin, "version": record.version, "link": record.link, "seq": record.seq},
    )


def withdraw_received_request(session: Session, node: Node, record: IncomingRecord) -> None:
    """The requesting party withdrew its request: it is no longer open here."""
    if record.origin == node.party:
        raise ValueError(f"request {record.record_id} claims to originate from {node.party}, this node")
    request = session.get(PartyRequest, (record.origin, record.record_id))
    if request is None:
        return
    reason = str(record.content.get("reason", ""))[: domain.REASON_MAX]
    if request.status == Status.OPEN:
        request.status = Status.WITHDRAWN.value
    if request.withdrawn_at is None:
        request.withdrawn_at, request.withdraw_reason = node.clock.now(), reason
    by = f"peer:{record.origin}"
    _event(session, node, request, "withdrawn_by_origin", by, reason=reason)
    record_event(
        session,
        node.clock,
        actor=by,
        action="request.withdrawn_by_origin",
        record_kind=REQUEST_KIND,
        record_id=record.record_id,
        details={"origin": record.origin, "reason": reason},
    )


def apply_received_answer(session: Session, node: Node, record: IncomingRecord) -> None:
    """The addressed party answered one of our requests. A late answer without a reason is refused."""
    content = AnswerContent.model_validate(record.content)
    key = content.request
    if key.origin != node.party:
        raise ValueError(f"answer to request {key.id} of {key.origin}, which is not this node's request")
    if record.record_id != domain.answer_record_id(key.origin, key.id):
        raise ValueError(f"answer record id {record.record_id} does not name request {key.origin}:{key.id}")
    request = session.get(PartyRequest, (key.origin, key.id))
    if request is None:
        raise ValueError(f"answer to unknown request {key.id}")
    if request.addressee != record.origin:
        raise ValueError(
            f"request {key.id} was addressed to {request.addressee}; {record.origin} cannot answer it"
        )
    if request.answered_at is not None:
        return  # one answer per request; a repeat changes nothing
    answer, reason = domain.check_answer(
        content.answer, content.late_reason, request.deadline, content.answered_at
    )
    if request.status == Status.OPEN:
        request.status = Status.ANSWERED.value
    request.answer, request.late_reason = answer, reason
    request.answered_at = content.answered_at
    request.answered_by = f"{record.origin}:{content.answered_by}"[:100]
    by = f"peer:{record.origin}"
    late = domain.is_late(request.deadline, content.answered_at)
    _event(session, node, request, "answer_received", by, late=late, link=record.link, seq=record.seq)
    record_event(
        session,
        node.clock,
        actor=by,
        action="request.answer_receive",
        record_kind=REQUEST_KIND,
        record_id=key.id,
        details={"late": late, "link": record.link, "seq": record.seq},
    )


# --- reading -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestFilter:
    direction: str | None = None  # outgoing | incoming
    status: str | None = None  # open | answered | withdrawn
    overdue: bool | None = None
    incident_origin: str | None = None
    incident_id: str | None = None
    party: str | None = None  # the other party (addressee of outgoing, origin of incoming)
    limit: int = 200


MAX_LIST = 1000


def list_requests(session: Session, node: Node, flt: RequestFilter) -> Sequence[PartyRequest]:
    """Outgoing and incoming requests; overdue ones first, then by deadline."""
    now = node.clock.now()
    query = select(PartyRequest)
    if flt.direction == Direction.OUTGOING:
        query = query.where(PartyRequest.origin == node.party)
    elif flt.direction == Direction.INCOMING:
        query = query.where(PartyRequest.origin != node.party)
    if flt.status:
        query = query.where(PartyRequest.status == flt.status)
    overdue_clause = and_(PartyRequest.status == Status.OPEN.value, PartyRequest.deadline <= now)
    if flt.overdue is True:
        query = query.where(overdue_clause)
    elif flt.overdue is False:
        query = query.where(~overdue_clause)
    if flt.incident_origin:
        query = query.where(PartyRequest.incident_origin == flt.incident_origin)
    if flt.incident_id:
        query = query.where(PartyRequest.incident_id == flt.incident_id)
    if flt.party:
        query = query.where(
            or_(
                and_(PartyRequest.origin == node.party, PartyRequest.addressee == flt.party),
                PartyRequest.origin == flt.party,
            )
        )
    # Overdue first, then the other open ones, then answered and withdrawn; newest first within each.
    rank = case((overdue_clause, 0), (PartyRequest.status == Status.OPEN.value, 1), else_=2)
    query = query.order_by(rank, PartyRequest.created_at.desc(), PartyRequest.id.desc()).limit(
        max(1, min(flt.limit, MAX_LIST))
    )
    return session.scalars(query).all()


def get_request(
    session: Session, node: Node, actor: Actor, origin: str, request_id: str, *, client_ip: str = ""
) -> PartyRequest:
    """One request. Reading a received one is a sensitive read and is audited (in the caller's transaction)."""
    _require(actor, Permission.REQUESTS_READ, "reading requests")
    request = _find(session, origin, request_id)
    if origin != node.party:
        record_event(
            session,
            node.clock,
            actor=actor.username,
            action="request.read",
            record_kind=REQUEST_KIND,
            record_id=request.id,
            client_ip=client_ip,
            details={"origin": origin, "version": request.version},
        )
    return request


def timeline(session: Session, request: PartyRequest) -> Sequence[RequestEvent]:
    return session.scalars(
        select(RequestEvent)
        .where(RequestEvent.request_origin == request.origin, RequestEvent.request_id == request.id)
        .order_by(RequestEvent.id)
    ).all()


def deliveries_of(session: Session, request: PartyRequest) -> list[tuple[str, Delivery]]:
    """Envelopes written on this node for the request (outgoing) or for its answer (incoming)."""
    items = [("request", d) for d in deliveries(session, REQUEST_KIND, [request.id])[request.id]]
    answer_id = domain.answer_record_id(request.origin, request.id)
    items += [("answer", d) for d in deliveries(session, ANSWER_KIND, [answer_id])[answer_id]]
    return sorted(items, key=lambda item: item[1].created_at)


CSV_COLUMNS = (
    "origin",
    "id",
    "direction",
    "addressee",
    "incident_origin",
    "incident_id",
    "kind",
    "action",
    "deadline_choice",
    "deadline",
    "status",
    "overdue",
    "late",
    "text",
    "answer",
    "late_reason",
    "answered_at",
    "created_at",
    "withdrawn_at",
)


def requests_as_csv(node: Node, rows: Sequence[PartyRequest]) -> str:
    now = node.clock.now()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.origin,
                r.id,
                direction_of(node, r).value,
                r.addressee,
                r.incident_origin,
                r.incident_id,
                r.kind,
                r.action or "",
                r.deadline_choice,
                domain.iso(r.deadline),
                r.status,
                "yes" if domain.is_overdue(r.status, r.deadline, now) else "no",
                "yes" if r.answered_at is not None and domain.is_late(r.deadline, r.answered_at) else "no",
                domain.csv_safe(r.text),
                domain.csv_safe(r.answer),
                domain.csv_safe(r.late_reason),
                domain.iso(r.answered_at) or "",
                domain.iso(r.created_at),
                domain.iso(r.withdrawn_at) or "",
            ]
        )
    return buffer.getvalue()


# --- for reports and statistics (called by the incidents package) -----------------------------------------


def _status_at(request: PartyRequest, at: datetime) -> str | None:
    """The status a request had at ``at`` (None: it did not exist yet)."""
    if request.created_at > at:
        return None
    if request.answered_at is not None and request.answered_at <= at:
        return Status.ANSWERED.value
    if request.withdrawn_at is not None and request.withdrawn_at <= at:
        return Status.WITHDRAWN.value
    return Status.OPEN.value


def open_requests(session: Session, node: Node, at: datetime) -> list[OpenRequest]:
    """Requests (both directions) open at ``at``: made by then, neither answered nor withdrawn by then.

    ``overdue`` is whether the deadline had passed at ``at``. Overdue first, then by deadline.
    """
    rows = session.scalars(
        select(PartyRequest).where(
            PartyRequest.created_at <= at,
            or_(PartyRequest.answered_at.is_(None), PartyRequest.answered_at > at),
            or_(PartyRequest.withdrawn_at.is_(None), PartyRequest.withdrawn_at > at),
        )
    ).all()
    result = [
        OpenRequest(
            id=r.id,
            direction=direction_of(node, r).value,
            kind=r.kind,
            action=r.action,
            incident_origin=r.incident_origin,
            incident_id=r.incident_id,
            deadline=r.deadline,
            overdue=at >= r.deadline,
            summary=domain.summary(r.kind, r.action, r.text),
        )
        for r in rows
    ]
    result.sort(key=lambda o: (not o.overdue, o.deadline, o.id))
    return result


def response_stats(
    session: Session,
    since: datetime,
    until: datetime,
    *,
    direction: str | None = None,
    party: str | None = None,
) -> list[ResponseStatsRow]:
    """Per month (UTC) of creation in [since, until): how the requests made then stood at ``until``.

    answered_on_time / answered_late: answered by ``until`` (late = after the deadline); open: not answered by
    ``until`` and the deadline not yet passed then; overdue: not answered and the deadline passed. Withdrawn
    requests are not counted. ``direction`` (with ``party``, this node's party) limits to outgoing or incoming.
    """
    query = select(PartyRequest).where(PartyRequest.created_at >= since, PartyRequest.created_at < until)
    if direction is not None and party is not None:
        query = query.where(
            PartyRequest.origin == party if direction == Direction.OUTGOING else PartyRequest.origin != party
        )
    counts: dict[str, dict[str, int]] = {}
    for r in session.scalars(query).all():
        status = _status_at(r, until)
        if status is None:
            continue
        bucket = domain.stats_bucket(status, r.deadline, r.answered_at, until)
        month = counts.setdefault(
            domain.month_of(r.created_at),
            {"answered_on_time": 0, "answered_late": 0, "open": 0, "overdue": 0},
        )
        if bucket is not None:
            month[bucket] += 1
    return [ResponseStatsRow(month=m, **counts[m]) for m in sorted(counts)]
