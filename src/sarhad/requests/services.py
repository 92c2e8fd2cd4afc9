"""The one write path for requests to the other side. The API, the pages, the demo and the handlers call these.

A request is a record of the requesting party (kind ``request``), released to the addressed party in the same
transaction as it is written (the exchange's transactional outbox). The answer is a record of the addressed
party (kind ``request.answer``), released back the same way. Each side applies the other's record through
``handlers.py``; a received request can be answered here but never edited.
"""

from __future__ import annotations

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
from sarhad.core.errors import (
    Conflict,
    ErrorCode,
    InvalidInput,
    NotFound,
    PermissionDenied,
    RecordRefused,
    RuleError,
)
from sarhad.core.formats import csv_text, iso_utc
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import peers, records
from sarhad.exchange import record_rules as rules
from sarhad.exchange import release as exchange_release
from sarhad.exchange.domain import Handling, Tlp
from sarhad.exchange.registry import IncomingRecord
from sarhad.exchange.release import (
    Delivery,
    deliveries,
    release_record,
)
from sarhad.requests import domain
from sarhad.requests.domain import (
    ANSWER_KIND,
    REQUEST_KIND,
    Direction,
    OpenRequest,
    ResponseStatsRow,
    Status,
)
from sarhad.requests.models import PartyRequest, RequestEvent
from sarhad.requests.schemas import AnswerContent, AnswerIn, RequestContent, RequestCreateIn, RequestUpdateIn

__all__ = ["OpenRequest", "ResponseStatsRow", "open_requests", "response_stats"]


def _check_open(request: PartyRequest, verb: str) -> None:
    """Only an open request is edited or withdrawn (an answered or withdrawn one: 409 request_<status>)."""
    if request.status != Status.OPEN:
        raise Conflict(
            f"request {request.id} is {request.status}; only an open request can be {verb}",
            code=ErrorCode(f"request_{request.status}"),
        )


# Requests share the lifecycle of every shared record; their row keeps no TLP or handling (always amber, no
# onward release) and no history table (each side keeps a timeline of events instead).
REQUESTS = records.SharedKind(
    REQUEST_KIND,
    PartyRequest,
    "request",
    labelled=False,
    hint=" You can answer it.",
    check_changeable=_check_open,
    purge=(("text", ""),),  # a withdrawal by the requester purges its text here (the hash stays)
)


def incident_exists(session: Session, origin: str, incident_id: str) -> bool:
    """Whether this node holds the incident (own or received), through the incidents package's service."""
    from sarhad.incidents import reading as incidents  # lazy: the incidents package is optional here

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
    # A request crosses the border as it is written (its release), and so does every new version of it.
    _require(actor, Permission.RECORDS_RELEASE, "releasing records to other parties")
    now = node.clock.now()
    try:
        rules.check_release_targets(node.party, [data.to], peers.peer_parties(session), field="to")
        request_type, action = domain.check_type_and_action(data.kind, data.action)
        choice, deadline = domain.resolve_deadline(data.deadline, data.deadline_at, now)
        text = domain.check_text(data.text)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
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
    session.add(request)
    content = _content(request)
    records.add_version(session, node, REQUESTS, request, content, actor.username)
    session.flush()
    _event(session, node, request, "created", actor.username, version=1, deadline=iso_utc(deadline))
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
            "deadline": iso_utc(deadline),
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
    request = records.access_own(
        session,
        node,
        actor,
        REQUESTS,
        request_id,
        permission=Permission.REQUESTS_WRITE,
        doing="changing requests",
        verb="edited",
        origin=origin,
    )
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
            raise RuleError("deadline", "give deadline=set with deadline_at")
        else:
            choice, deadline = domain.DeadlineChoice(request.deadline_choice), request.deadline
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    if text == request.text and deadline == request.deadline:
        return request
    request.text, request.deadline_choice, request.deadline = text, choice.value, deadline
    request.version += 1
    request.updated_at = now
    _event(
        session, node, request, "updated", actor.username, version=request.version, deadline=iso_utc(deadline)
    )
    records.publish_version(
        session,
        node,
        actor,
        REQUESTS,
        request,
        _content(request),
        client_ip=client_ip,
        details={"deadline": iso_utc(deadline)},
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
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
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
            "answered_at": rules.content_time(now),
            "answered_by": actor.username,
        }
    ).model_dump(mode="json")
    content["answered_at"] = rules.content_time(now)  # one spelling of the instant on both sides
    exchange_release.release_record(
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
    request = records.withdraw_own(
        session,
        node,
        actor,
        REQUESTS,
        request_id,
        reason,
        permission=Permission.REQUESTS_WRITE,
        doing="withdrawing requests",
        origin=origin,
        client_ip=client_ip,
    )
    request.status = Status.WITHDRAWN.value
    _event(session, node, request, "withdrawn", actor.username, reason=request.withdraw_reason)
    return request


# --- receiving (called by the exchange through handlers.py) ---------------------------------------------------


def apply_received_request(session: Session, node: Node, record: IncomingRecord) -> None:
    """Store a request received from the requesting party. Never overwrites a newer version."""
    content = RequestContent.model_validate(record.content)
    if content.addressee != node.party:
        raise RecordRefused(
            f"request {record.record_id} is addressed to {content.addressee}, not {node.party}",
            code=ErrorCode.NOT_ADDRESSEE,
        )
    try:  # the same rules as for our own users
        request_type, action = domain.check_type_and_action(content.kind, content.action)
        choice = domain.DeadlineChoice(content.deadline_choice)
        text = domain.check_text(content.text)
    except ValueError as exc:  # a RuleError, or an unknown deadline choice
        raise RecordRefused(f"request {record.record_id}: {exc}") from exc

    def fill(request: PartyRequest) -> None:
        request.addressee = content.addressee
        request.incident_origin, request.incident_id = content.incident.origin, content.incident.id
        request.kind, request.action = request_type.value, action.value if action else None
        request.deadline_choice, request.deadline = choice.value, content.deadline
        request.text = text
        request.created_by = f"{record.origin}:{content.created_by}"[:100]
        request.created_at, request.updated_at = content.created_at, content.updated_at
        if (
            request.status == Status.WITHDRAWN
        ):  # a newer version lifts a withdrawal, as for every shared record
            request.status = Status.OPEN.value

    first = {
        "status": Status.OPEN.value,
        "answer": "",
        "late_reason": "",
        "answered_at": None,
        "answered_by": "",
        "withdrawn_at": None,
        "withdraw_reason": "",
    }
    stored = records.store_received(session, node, REQUESTS, record, fill, new_row=first)
    if stored.newer:
        _event(
            session,
            node,
            stored.row,
            "received" if stored.is_new else "received_update",
            records.peer_actor(record),
            version=record.version,
            link=record.link,
            seq=record.seq,
        )


def withdraw_received_request(session: Session, node: Node, record: IncomingRecord) -> None:
    """The requesting party withdrew its request: it is no longer open here."""
    request = records.apply_received_withdrawal(session, node, REQUESTS, record)
    if request is None:
        return
    if request.status == Status.OPEN:
        request.status = Status.WITHDRAWN.value
    _event(
        session,
        node,
        request,
        "withdrawn_by_origin",
        records.peer_actor(record),
        reason=request.withdraw_reason,
    )


def apply_received_answer(session: Session, node: Node, record: IncomingRecord) -> None:
    """The addressed party answered one of our requests. A late answer without a reason is refused."""
    content = AnswerContent.model_validate(record.content)
    key = content.request
    if key.origin != node.party:
        raise RecordRefused(f"answer to request {key.id} of {key.origin}, which is not this node's request")
    if record.record_id != domain.answer_record_id(key.origin, key.id):
        raise RecordRefused(
            f"answer record id {record.record_id} does not name request {key.origin}:{key.id}"
        )
    request = session.get(PartyRequest, (key.origin, key.id))
    if request is None:
        raise RecordRefused(f"answer to unknown request {key.id}", code=ErrorCode.NOT_FOUND)
    if request.addressee != record.origin:
        raise RecordRefused(
            f"request {key.id} was addressed to {request.addressee}; {record.origin} cannot answer it",
            code=ErrorCode.NOT_ADDRESSEE,
        )
    if request.answered_at is not None:
        return  # one answer per request; a repeat changes nothing
    try:  # the same rule as for our own users: a late answer says why
        answer, reason = domain.check_answer(
            content.answer, content.late_reason, request.deadline, content.answered_at
        )
    except RuleError as exc:
        raise RecordRefused.from_rule(exc) from exc
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
    """One request. Reading a received one is a sensitive read and is audited (in the caller's transaction).
    A withdrawn request stays readable: withdrawn is one of its states."""
    return records.access_readable(
        session,
        node,
        actor,
        REQUESTS,
        request_id,
        origin,
        permission=Permission.REQUESTS_READ,
        doing="reading requests",
        client_ip=client_ip,
        hide_withdrawn=False,
    )


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
    """The list as CSV (times in UTC; text from the other side cannot smuggle a spreadsheet formula)."""
    now = node.clock.now()
    return csv_text(
        CSV_COLUMNS,
        (
            {
                "origin": r.origin,
                "id": r.id,
                "direction": direction_of(node, r).value,
                "addressee": r.addressee,
                "incident_origin": r.incident_origin,
                "incident_id": r.incident_id,
                "kind": r.kind,
                "action": r.action,
                "deadline_choice": r.deadline_choice,
                "deadline": iso_utc(r.deadline),
                "status": r.status,
                "overdue": "yes" if domain.is_overdue(r.status, r.deadline, now) else "no",
                "late": "yes"
                if r.answered_at is not None and domain.is_late(r.deadline, r.answered_at)
                else "no",
                "text": r.text,
                "answer": r.answer,
                "late_reason": r.late_reason,
                "answered_at": iso_utc(r.answered_at),
                "created_at": iso_utc(r.created_at),
                "withdrawn_at": iso_utc(r.withdrawn_at),
            }
            for r in rows
        ),
    )


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
