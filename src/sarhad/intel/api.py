"""HTTP API of intelligence reports: parse, check access, call a service, answer with the stored state.

A received report's answer never holds more than crossed the tearline: its ``body``, ``summary``,
``incidents`` and ``source_note`` are empty on every node but the originator's.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.services import record_export, record_list_read
from sarhad.core.formats import csv_response, iso_utc
from sarhad.core.node import Node
from sarhad.exchange.models import Peer
from sarhad.intel import domain, entities, misp, services, stix, stix_import
from sarhad.intel.domain import ReportType, Status
from sarhad.intel.models import IntelEntity, IntelReport
from sarhad.intel.schemas import (
    GradingOut,
    PersonIn,
    PersonOut,
    ReleaseIn,
    ReleaseOut,
    ReportDetailOut,
    ReportIn,
    ReportOut,
    WithdrawIn,
)
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.openapi import CSV, answers

router = APIRouter(prefix="/api/v1/intel", tags=["intel"])

IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="The report's id")]
OriginQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Z]{2}$", description="The originating party; default: the report held here with this id"
    ),
]


def grading_out(report: IntelReport) -> GradingOut:
    return GradingOut(
        reliability=report.reliability,
        credibility=report.credibility,
        code=report.reliability + report.credibility,
        words=domain.grading_words(report.reliability, report.credibility),
    )


def report_out(node: Node, r: IntelReport) -> ReportOut:
    return ReportOut(
        id=r.id,
        origin=r.origin,
        own=r.origin == node.party,
        version=r.version,
        status=r.status,
        title=r.title,
        report_type=r.report_type,
        grading=grading_out(r),
        releasable=r.releasable,
        period_start=r.period_start,
        period_end=r.period_end,
        sections=list(r.sections),
        tlp=r.tlp,
        handling=r.handling,
        created_by=r.created_by,
        created_at=r.created_at,
        updated_at=r.updated_at,
        approved_by=r.approved_by,
        approved_at=r.approved_at,
        withdrawn_at=r.withdrawn_at,
        received_at=r.received_at,
    )


def detail_out(session: Session, node: Node, r: IntelReport) -> ReportDetailOut:
    session.flush()
    own = r.origin == node.party
    return ReportDetailOut(
        **report_out(node, r).model_dump(),
        summary=r.summary if own else "",
        body=r.body if own else "",
        incidents=list(r.incidents) if own else [],
        source_note=r.source_note if own else "",
        release_to=list(r.release_to) if own else [],
        withdraw_reason=r.withdraw_reason,
        content_hash=r.content_hash,
        releases=[
            ReleaseOut(
                party=rel.to_party,
                tlp=rel.tlp,
                handling=rel.handling,
                released_by=rel.released_by,
                released_at=rel.released_at,
                first_version=rel.first_version,
                withdrawn_at=rel.withdrawn_at,
            )
            for rel in services.releases_of(session, r)
        ],
    )


@router.post("/reports", status_code=201, response_model=ReportDetailOut)
def create_report(
    body: ReportIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INTEL_WRITE),
) -> ReportDetailOut:
    """Write a draft report. It is released to ``release_to`` only when a second person approves it
    (``POST …/approve``). Grading outside the Admiralty scales is refused (422 ``bad_grading``)."""
    with node.transaction() as session:
        report = services.create_report(session, node, principal, body, client_ip=client_ip(request))
        return detail_out(session, node, report)


@router.get("/reports", response_model=list[ReportOut], responses=answers(CSV))
def list_reports(
    request: Request,
    node: NodeDep,
    origin: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$", description="Only from this party")] = None,
    report_type: ReportType | None = None,
    reliability: Annotated[str | None, Query(pattern=r"^[A-F]$", description="Source reliability")] = None,
    credibility: Annotated[
        str | None, Query(pattern=r"^[1-6]$", description="Information credibility")
    ] = None,
    status: Status | None = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Text in the title or releasable part")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=services.MAX_LIST)] = 200,
    format: Literal["json", "csv"] = "json",
    principal: Principal = requires(Permission.INTEL_READ),
) -> Response | list[ReportOut]:
    """Own and received reports, newest change first. ``format=csv`` exports the list (the releasable part
    only); exports and lists holding received reports are audited."""
    flt = services.ReportFilter(
        origin=origin,
        report_type=report_type.value if report_type else None,
        reliability=reliability,
        credibility=credibility,
        status=status.value if status else None,
        text=q,
        limit=limit,
    )
    if format == "json":
        with node.sessions() as session:
            rows = services.list_reports(session, node, principal, flt)
        record_list_read(
            node, principal.username, "intel_report", domain.KIND, rows, client_ip=client_ip(request)
        )
        return [report_out(node, r) for r in rows]
    with node.transaction() as session:
        rows = services.list_reports(session, node, principal, flt)
        record_export(
            session, node.clock, principal.username, "intel_report", len(rows), format, client_ip(request)
        )
    stamp = (iso_utc(node.clock.now()) or "")[:10]
    return csv_response(services.reports_as_csv(rows), f"intel-reports-{node.party}-{stamp}.csv")


@router.get("/reports/{report_id}", response_model=ReportDetailOut)
def get_report(
    report_id: IdPath,
    request: Request,
    node: NodeDep,
    origin: OriginQuery = None,
    principal: Principal = requires(Permission.INTEL_READ),
) -> ReportDetailOut:
    """One report. Every read is audited (``intel_report.read``)."""
    with node.transaction() as session:
        report = services.get_report(
            session, node, principal, report_id, origin=origin, client_ip=client_ip(request)
        )
        return detail_out(session, node, report)


@router.post("/reports/{report_id}/approve", response_model=ReportDetailOut)
def approve_report(
    report_id: IdPath,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INTEL_APPROVE),
) -> ReportDetailOut:
    """Approve a draft written by someone else (four eyes: its author is refused, 403 ``own_approval``); it
    is then released to the parties its author named (which needs ``records.release`` too). A report that is
    no longer a draft: 409 ``not_draft``."""
    with node.transaction() as session:
        report = services.approve_report(session, node, principal, report_id, client_ip=client_ip(request))
        return detail_out(session, node, report)


@router.post("/reports/{report_id}/release", response_model=ReportDetailOut)
def release_report(
    report_id: IdPath,
    body: ReleaseIn,
    request: Request,
    node: NodeDep,
    origin: OriginQuery = None,
    principal: Principal = requires(Permission.RECORDS_RELEASE),
) -> ReportDetailOut:
    """Release an approved report to more parties (a draft: 409 ``not_approved``); a received one onward
    only if its originator allowed that. Only the part below the tearline and the grading are released."""
    with node.transaction() as session:
        held = origin or services.find_origin(session, node, report_id)
        services.release_report(
            session,
            node,
            principal,
            report_id,
            body.to,
            origin=held,
            tlp=body.tlp.value if body.tlp else None,
            handling=body.handling.value if body.handling else None,
            client_ip=client_ip(request),
        )
        report = session.get(IntelReport, (held, report_id))
        assert report is not None  # release_report found it
        return detail_out(session, node, report)


@router.post("/reports/{report_id}/withdraw", response_model=ReportDetailOut)
def withdraw_report(
    report_id: IdPath,
    body: WithdrawIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.RECORDS_RELEASE),
) -> ReportDetailOut:
    """Withdraw one of this node's reports: every receiver gets a signed tombstone and stops showing it."""
    with node.transaction() as session:
        report = services.withdraw_report(
            session, node, principal, report_id, body.reason, client_ip=client_ip(request)
        )
        return detail_out(session, node, report)


@router.get(
    "/reports/{report_id}/stix",
    response_model=dict[str, Any],
    responses={200: {"description": "A STIX 2.1 bundle (type, id, objects)"}},
)
def report_stix(
    report_id: IdPath,
    request: Request,
    node: NodeDep,
    origin: OriginQuery = None,
    principal: Principal = requires(Permission.INTEL_READ),
) -> dict[str, Any]:
    """The report as a STIX 2.1 bundle with the TLP 2.0 marking definition of its label: the releasable
    part (never the full text or the source note) and the grading. Audited as a read and an export."""
    with node.transaction() as session:
        report = services.get_report(
            session, node, principal, report_id, origin=origin, client_ip=client_ip(request)
        )
        record_export(session, node.clock, principal.username, "intel_report", 1, "stix", client_ip(request))
        names = {p.party: p.name for p in session.scalars(select(Peer))}
        names[node.party] = node.settings.name
        return stix.report_bundle_json(report, names)


@router.get(
    "/reports/{report_id}/misp",
    response_model=dict[str, Any],
    responses={200: {"description": 'A MISP event in the MISP core format: {"Event": {...}}'}},
)
def report_misp(
    report_id: IdPath,
    request: Request,
    node: NodeDep,
    origin: OriginQuery = None,
    principal: Principal = requires(Permission.INTEL_READ),
) -> dict[str, Any]:
    """The report as a MISP event (what a partner running MISP loads): the releasable part (never the full
    text or the source note), the TLP and Admiralty grading as MISP taxonomy tags. Audited as a read and an
    export."""
    with node.transaction() as session:
        report = services.get_report(
            session, node, principal, report_id, origin=origin, client_ip=client_ip(request)
        )
        record_export(session, node.clock, principal.username, "intel_report", 1, "misp", client_ip(request))
        names = {p.party: p.name for p in session.scalars(select(Peer))}
        names[node.party] = node.settings.name
        return misp.report_event(report, names)


async def _raw_bundle(request: Request) -> bytes:
    """The request body as sent (the import checks its size and parses it itself)."""
    return await request.body()


@router.post(
    "/import/stix",
    status_code=201,
    response_model=ReportDetailOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object", "description": "A STIX 2.1 bundle"}}
            },
        }
    },
)
def import_stix(
    request: Request,
    node: NodeDep,
    raw: Annotated[bytes, Depends(_raw_bundle)],
    principal: Principal = requires(Permission.INTEL_WRITE),
) -> ReportDetailOut:
    """A STIX 2.1 bundle (report, identity, threat-actor, intrusion-set, indicator, location, relationship)
    into a DRAFT report; nothing is released. Over 1 MiB or 1,000 objects: 413 ``too_large``; not a valid
    STIX 2.1 bundle: 422 ``bad_stix``; not exactly one report: 422 ``no_stix_report``. Audited as
    ``intel_report.import``."""
    with node.transaction() as session:
        report = stix_import.import_bundle(session, node, principal, raw, client_ip=client_ip(request))
        return detail_out(session, node, report)


# --- entities: persons ----------------------------------------------------------------------------------------


def person_out(p: IntelEntity) -> PersonOut:
    return PersonOut(
        id=p.id,
        origin=p.origin,
        kind=p.kind,
        names=dict(p.names),
        aliases=list(p.aliases),
        birth_year=p.birth_year,
        nationality=p.nationality,
        cnic=p.cnic,
        national_code=p.national_code,
        passport=p.passport,
        note=p.note,
        created_by=p.created_by,
        created_at=p.created_at,
        updated_at=p.updated_at,
    )


@router.post("/entities", status_code=201, response_model=PersonOut)
def create_entity(
    body: PersonIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INTEL_WRITE),
) -> PersonOut:
    """Record a person. A CNIC or national code that fails its check: 422 ``bad_identifier``; one already
    recorded: 409 naming the person who holds it. Persons stay on this node."""
    with node.transaction() as session:
        return person_out(
            entities.create_person(session, node, principal, body, client_ip=client_ip(request))
        )


@router.get("/entities", response_model=list[PersonOut])
def list_entities(
    node: NodeDep,
    q: Annotated[str | None, Query(max_length=200, description="A name, alias or identifier")] = None,
    limit: Annotated[int, Query(ge=1, le=entities.MAX_LIST)] = 200,
    principal: Principal = requires(Permission.INTEL_READ),
) -> list[PersonOut]:
    """Persons recorded here, newest first."""
    with node.sessions() as session:
        return [person_out(p) for p in entities.list_persons(session, node, principal, q, limit)]


@router.get("/entities/{entity_id}", response_model=PersonOut)
def get_entity(
    entity_id: IdPath,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INTEL_READ),
) -> PersonOut:
    """One person; the read is audited."""
    with node.transaction() as session:
        return person_out(
            entities.get_person(session, node, principal, entity_id, client_ip=client_ip(request))
        )
