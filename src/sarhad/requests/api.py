"""HTTP API of requests to the other side: parse, check access, call a service, answer with the stored state."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime
from sqlalchemy.orm import Session

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.services import record_export, record_list_read
from sarhad.core.errors import InvalidInput
from sarhad.core.formats import csv_response, iso_utc
from sarhad.core.node import Node
from sarhad.requests import domain, services
from sarhad.requests.models import PartyRequest
from sarhad.requests.schemas import (
    AnswerIn,
    DeliveryOut,
    IncidentRef,
    OpenRequestOut,
    RequestCreateIn,
    RequestDetailOut,
    RequestOut,
    RequestUpdateIn,
    ResponseStatsOut,
    TimelineItem,
    WithdrawIn,
)
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.openapi import CSV, answers

router = APIRouter(prefix="/api/v1/requests", tags=["requests"])

OriginPath = Annotated[str, Path(pattern=r"^[A-Z]{2}$", description="The requesting party, e.g. IR")]
IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="The request's id")]


def request_out(node: Node, r: PartyRequest) -> RequestOut:
    now = node.clock.now()
    return RequestOut(
        id=r.id,
        origin=r.origin,
        addressee=r.addressee,
        direction=services.direction_of(node, r).value,
        version=r.version,
        incident=IncidentRef(origin=r.incident_origin, id=r.incident_id),
        kind=r.kind,
        action=r.action,
        deadline_choice=r.deadline_choice,
        deadline=r.deadline,
        text=r.text,
        status=r.status,
        overdue=domain.is_overdue(r.status, r.deadline, now),
        late=r.answered_at is not None and domain.is_late(r.deadline, r.answered_at),
        answer=r.answer,
        late_reason=r.late_reason,
        answered_at=r.answered_at,
        answered_by=r.answered_by,
        withdrawn_at=r.withdrawn_at,
        withdraw_reason=r.withdraw_reason,
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
        received_at=r.received_at,
        content_hash=r.content_hash,
    )


def detail_out(session: Session, node: Node, r: PartyRequest) -> RequestDetailOut:
    session.flush()
    return RequestDetailOut(
        **request_out(node, r).model_dump(),
        timeline=[
            TimelineItem(at=e.at, event=e.event, by=e.by, details=e.details)
            for e in services.timeline(session, r)
        ],
        deliveries=[
            DeliveryOut(
                record=which,
                party=d.party,
                version=d.version,
                op=d.op,
                state=d.state,
                link=d.link,
                seq=d.seq,
                queued_at=d.created_at,
                sent_at=d.sent_at,
                receipted_at=d.receipted_at,
            )
            for which, d in services.deliveries_of(session, r)
        ],
    )


def parse_incident(value: str | None) -> tuple[str | None, str | None]:
    """``PK/0193…`` (origin and id) or ``PK`` (any incident of that origin)."""
    if not value:
        return None, None
    origin, _, incident_id = value.partition("/")
    if len(origin) != 2 or not origin.isupper() or not origin.isalpha():
        raise InvalidInput("incident: give ORIGIN/ID, e.g. PK/0193a1b2-…", details={"field": "incident"})
    return origin, incident_id or None


@router.post("", status_code=201, response_model=RequestDetailOut)
def create_request(
    body: RequestCreateIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.REQUESTS_WRITE),
) -> RequestDetailOut:
    """Ask another party for information or for action on an incident, with a deadline (urgent = 8 h, 7d,
    14d, or set with ``deadline_at``). The request is released to that party in the same transaction."""
    with node.transaction() as session:
        created = services.create_request(session, node, principal, body, client_ip=client_ip(request))
        return detail_out(session, node, created)


@router.get("", response_model=list[RequestOut], responses=answers(CSV))
def list_requests(
    request: Request,
    node: NodeDep,
    direction: Literal["outgoing", "incoming"] | None = None,
    status: Literal["open", "answered", "withdrawn"] | None = None,
    overdue: Annotated[
        bool | None, Query(description="Only overdue (true) or only not overdue (false)")
    ] = None,
    incident: Annotated[
        str | None, Query(max_length=70, description="ORIGIN/ID of an incident, or ORIGIN")
    ] = None,
    party: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$", description="The other party")] = None,
    limit: Annotated[int, Query(ge=1, le=services.MAX_LIST)] = 200,
    format: Literal["json", "csv"] = "json",
    principal: Principal = requires(Permission.REQUESTS_READ),
) -> Response | list[RequestOut]:
    """Outgoing and incoming requests: overdue first, then open, then the rest, newest first.

    ``overdue`` is computed from this node's clock against the deadline carried in the request, so both sides
    agree. ``format=csv`` exports the list (audited).
    """
    incident_origin, incident_id = parse_incident(incident)
    flt = services.RequestFilter(
        direction=direction,
        status=status,
        overdue=overdue,
        incident_origin=incident_origin,
        incident_id=incident_id,
        party=party,
        limit=limit,
    )
    if format == "json":
        with node.sessions() as session:
            rows = services.list_requests(session, node, flt)
        record_list_read(node, principal.username, "request", "request", rows, client_ip=client_ip(request))
        return [request_out(node, r) for r in rows]
    with node.transaction() as session:
        rows = services.list_requests(session, node, flt)
        record_export(
            session, node.clock, principal.username, "request", len(rows), format, client_ip(request)
        )
    stamp = iso_utc(node.clock.now()) or ""
    return csv_response(services.requests_as_csv(node, rows), f"requests-{node.party}-{stamp[:10]}.csv")


@router.get("/stats", response_model=list[ResponseStatsOut])
def request_stats(
    node: NodeDep,
    since: AwareDatetime,
    until: AwareDatetime,
    direction: Literal["outgoing", "incoming"] | None = None,
    _: Principal = requires(Permission.REQUESTS_READ),
) -> list[ResponseStatsOut]:
    """Per month (UTC) of creation in [since, until): answered on time, answered late, open and overdue, as
    the requests stood at ``until`` (withdrawn ones are not counted)."""
    if until <= since:
        raise InvalidInput("until: must be after since", details={"field": "until"})
    with node.sessions() as session:
        rows = services.response_stats(session, since, until, direction=direction, party=node.party)
    return [ResponseStatsOut(**dataclasses.asdict(r)) for r in rows]


@router.get("/open", response_model=list[OpenRequestOut])
def open_at(
    node: NodeDep,
    at: AwareDatetime | None = None,
    _: Principal = requires(Permission.REQUESTS_READ),
) -> list[OpenRequestOut]:
    """The requests (both directions) open at ``at`` (default: now by the node clock), overdue first."""
    with node.sessions() as session:
        rows = services.open_requests(session, node, at or node.clock.now())
    return [OpenRequestOut(**dataclasses.asdict(r)) for r in rows]


@router.get("/{origin}/{request_id}", response_model=RequestDetailOut)
def get_request(
    origin: OriginPath,
    request_id: IdPath,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.REQUESTS_READ),
) -> RequestDetailOut:
    """One request with its answer, timeline and deliveries. Reading a received one is audited."""
    with node.transaction() as session:
        found = services.get_request(
            session, node, principal, origin, request_id, client_ip=client_ip(request)
        )
        return detail_out(session, node, found)


@router.put("/{origin}/{request_id}", response_model=RequestDetailOut)
def update_request(
    origin: OriginPath,
    request_id: IdPath,
    body: RequestUpdateIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.REQUESTS_WRITE),
) -> RequestDetailOut:
    """A new version of one of this node's open requests (text or deadline). Received requests are never
    editable (403 ``not_originator``)."""
    with node.transaction() as session:
        updated = services.update_request(
            session, node, principal, origin, request_id, body, client_ip=client_ip(request)
        )
        return detail_out(session, node, updated)


@router.post("/{origin}/{request_id}/answer", response_model=RequestDetailOut)
def answer_request(
    origin: OriginPath,
    request_id: IdPath,
    body: AnswerIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.REQUESTS_WRITE),
) -> RequestDetailOut:
    """Answer a request received from ``origin`` with what was done. After the deadline ``late_reason`` is
    required (422 without it). One's own requests are answered by the other side only (403 ``own_request``)."""
    with node.transaction() as session:
        answered = services.answer_request(
            session, node, principal, origin, request_id, body, client_ip=client_ip(request)
        )
        return detail_out(session, node, answered)


@router.post("/{origin}/{request_id}/withdraw", response_model=RequestDetailOut)
def withdraw_request(
    origin: OriginPath,
    request_id: IdPath,
    body: WithdrawIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.REQUESTS_WRITE),
) -> RequestDetailOut:
    """Cancel one of this node's open requests; the addressed party receives a signed withdrawal."""
    with node.transaction() as session:
        withdrawn = services.withdraw_request(
            session, node, principal, origin, request_id, body.reason, client_ip=client_ip(request)
        )
        return detail_out(session, node, withdrawn)
