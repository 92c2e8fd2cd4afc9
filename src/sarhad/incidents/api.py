"""HTTP API for incidents: parse, check access, call a service, answer with the stored state."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.services import record_export, record_list_read
from sarhad.border.domain import parse_bbox
from sarhad.core.errors import InvalidInput, PayloadTooLarge
from sarhad.core.formats import csv_response, geojson_response, iso_utc
from sarhad.core.node import Node
from sarhad.exchange.release import Delivery
from sarhad.incidents import (
    attachments,
    domain,
    exports,
    reading,
    report_pdf,
    reports,
    sharing,
    versions,
    writing,
)
from sarhad.incidents.models import Incident
from sarhad.incidents.schemas import (
    DeliveryOut,
    IncidentCreateIn,
    IncidentDetailOut,
    IncidentOut,
    IncidentUpdateIn,
    ReleaseIn,
    TransitionIn,
    VersionOut,
    WithdrawIn,
)
from sarhad.incidents.taxonomy import taxonomy, type_name
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.openapi import ATTACHMENT, CSV, GEOJSON, PDF, answers

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])

OriginPath = Annotated[str, Path(pattern=r"^[A-Z]{2}$", description="The originating party, e.g. PK")]
IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="The incident's id")]


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
        party=d.party,
        version=d.version,
        op=d.op,
        state=d.state,
        queued_at=d.created_at,
        sent_at=d.sent_at,
        receipted_at=d.receipted_at,
    )


def incident_out(
    node: Node,
    i: Incident,
    deliveries: list[Delivery] | None = None,
    warnings: list[str] | None = None,
    language: str = "en",
) -> IncidentOut:
    return IncidentOut(
        id=i.id,
        origin=i.origin,
        own=i.origin == node.party,
        version=i.version,
        type=i.type,
        type_name=type_name(node, i.type, language),
        status=i.status,
        status_reason=i.status_reason,
        occurred_at=i.occurred_at,
        reported_at=i.reported_at,
        lat=i.lat,
        lon=i.lon,
        side=i.side,
        section=i.section_id,
        distance_to_border_m=None if i.distance_to_border_m is None else round(i.distance_to_border_m, 1),
        description=i.description,
        casualties=dict(i.casualties),
        seizures=list(i.seizures),
        persons_apprehended=i.persons_apprehended,
        impact_level=i.impact_level,
        source_reliability=i.source_reliability,
        info_credibility=i.info_credibility,
        exercise=i.exercise,
        follow_up_of=(
            {"origin": i.follow_up_of_origin, "id": i.follow_up_of_id} if i.follow_up_of_id else None
        ),
        attachments=list(i.attachments),
        tlp=i.tlp,
        handling=i.handling,
        content_hash=i.content_hash,
        created_by=i.created_by,
        created_at=i.created_at,
        updated_at=i.updated_at,
        received_at=i.received_at,
        withdrawn_at=i.withdrawn_at,
        draft_overdue=domain.draft_overdue(i.status, i.created_at, node.clock.now()),
        warnings=warnings or [],
        deliveries=[delivery_out(d) for d in deliveries or []],
    )


def detail_out(
    session: Session, node: Node, i: Incident, warnings: list[str] | None = None, language: str = "en"
) -> IncidentDetailOut:
    session.flush()
    summary = sharing.delivery_summary(session, [i], node.party)
    base = incident_out(node, i, summary.get(i.id, []), warnings, language)
    return IncidentDetailOut(
        **base.model_dump(),
        follow_ups=[
            {"origin": f.origin, "id": f.id, "status": f.status, "occurred_at": iso_utc(f.occurred_at)}
            for f in reading.follow_ups_of(session, i)
        ],
        releases=[
            {
                "party": r.to_party,
                "tlp": r.tlp,
                "handling": r.handling,
                "released_by": r.released_by,
                "released_at": iso_utc(r.released_at),
                "withdrawn_at": iso_utc(r.withdrawn_at),
            }
            for r in sharing.releases_of(session, i)
        ],
    )


@router.post("", status_code=201, response_model=IncidentDetailOut)
def create_incident(
    body: IncidentCreateIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> IncidentDetailOut:
    """Report an incident (or save a draft with ``draft: true``); with ``release_to`` it is released to those
    parties in the same transaction (needs ``records.release``).

    The side of the border, the nearest section and the distance to the border are computed from the point.
    A point more than 50 km from the border is refused (422 ``far_from_border``) unless ``confirm_far`` is true.
    """
    with node.transaction() as session:
        written = writing.create_incident(
            session,
            node,
            principal,
            body,
            draft=body.draft,
            follow_up_of=(body.follow_up_of.origin, body.follow_up_of.id) if body.follow_up_of else None,
            tlp=body.tlp.value,
            handling=body.handling.value,
            release_to=body.release_to,
            client_ip=client_ip(request),
        )
        return detail_out(session, node, written.incident, written.warnings, principal.language)


def parse_filter(
    node: Node,
    *,
    bbox: str | None,
    since: datetime | None,
    until: datetime | None,
    days: int | None,
    types: list[str] | None,
    statuses: list[str] | None,
    side: str | None,
    origin: str | None,
    section: str | None,
    exercise: bool | None,
    include_withdrawn: bool,
    limit: int,
) -> reading.IncidentFilter:
    box = None
    if bbox:
        try:
            box = parse_bbox(bbox)
        except ValueError as exc:
            raise InvalidInput(f"bbox: {exc}", details={"field": "bbox"}) from exc
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(
                f"{name}: give a time zone (e.g. 2026-11-23T00:00:00+05:00)", details={"field": name}
            )
    if days is not None and since is None:
        since = (until or node.clock.now()) - timedelta(days=days)
    known = taxonomy(node)
    for code in types or []:
        if code not in known:
            raise InvalidInput(f"type: unknown incident type {code!r}", details={"field": "type"})
    for status in statuses or []:
        if status not in {s.value for s in domain.Status}:
            raise InvalidInput(f"status: unknown status {status!r}", details={"field": "status"})
    return reading.IncidentFilter(
        bbox=box,
        since=since,
        until=until,
        types=tuple(types or ()),
        statuses=tuple(statuses or ()),
        side=side,
        origin=origin,
        section=section,
        exercise=exercise,
        include_withdrawn=include_withdrawn,
        limit=limit,
    )


@router.get("", response_model=list[IncidentOut], responses=answers(CSV, GEOJSON))
def list_incidents(
    request: Request,
    node: NodeDep,
    bbox: Annotated[str | None, Query(description="min_lon,min_lat,max_lon,max_lat")] = None,
    since: Annotated[datetime | None, Query(description="Occurred at or after (ISO 8601 with zone)")] = None,
    until: Annotated[datetime | None, Query(description="Occurred before")] = None,
    days: Annotated[
        int | None, Query(ge=1, le=3660, description="The last N days (if since is not given)")
    ] = None,
    type: Annotated[list[str] | None, Query(description="Type code(s)")] = None,
    status: Annotated[list[str] | None, Query(description="Status(es)")] = None,
    side: Annotated[str | None, Query(pattern=r"^([A-Z]{2}|ON_LINE)$")] = None,
    origin: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$")] = None,
    section: Annotated[str | None, Query(max_length=32)] = None,
    exercise: bool | None = None,
    include_withdrawn: bool = False,
    limit: Annotated[int, Query(ge=1, le=reading.MAX_LIST)] = 1000,
    format: Literal["json", "csv", "geojson"] = "json",
    principal: Principal = requires(Permission.INCIDENTS_READ),
) -> Response | list[IncidentOut]:
    """Own and received incidents, most recent occurrence first; ``format=csv`` or ``geojson`` exports
    (audited)."""
    flt = parse_filter(
        node,
        bbox=bbox,
        since=since,
        until=until,
        days=days,
        types=type,
        statuses=status,
        side=side,
        origin=origin,
        section=section,
        exercise=exercise,
        include_withdrawn=include_withdrawn,
        limit=limit,
    )
    if format == "json":
        with node.sessions() as session:
            rows = reading.list_incidents(session, node, principal, flt)
            summary = sharing.delivery_summary(session, rows, node.party)
        record_list_read(node, principal.username, "incident", "incident", rows, client_ip=client_ip(request))
        return [incident_out(node, i, summary.get(i.id, []), language=principal.language) for i in rows]
    with node.transaction() as session:
        if format == "geojson":
            collection = exports.map_features(
                session,
                node,
                principal,
                flt,
                principal.language,
                zone=principal.time_zone,
                calendar=principal.calendar,
            )
            record_export(
                session,
                node.clock,
                principal.username,
                "incident",
                len(collection["features"]),
                format,
                client_ip(request),
            )
            stamp = (iso_utc(node.clock.now()) or "")[:10]
            return geojson_response(collection, f"incidents-{node.party}-{stamp}.geojson")
        rows = reading.list_incidents(session, node, principal, flt)
        record_export(
            session, node.clock, principal.username, "incident", len(rows), format, client_ip(request)
        )
    stamp = (iso_utc(node.clock.now()) or "")[:10]
    return csv_response(exports.incidents_csv(rows), f"incidents-{node.party}-{stamp}.csv")


@router.get("/types")
def incident_types(
    node: NodeDep, principal: Principal = requires(Permission.INCIDENTS_READ)
) -> list[dict[str, Any]]:
    """The taxonomy of incident types (built-in plus this node's additions)."""
    return [
        {"code": t.code, "name": t.name(principal.language), "names": t.names, "group": t.group}
        for t in taxonomy(node).values()
    ]


@router.get("/reports/daily", response_model=None, responses=answers(PDF))
def daily_report(
    node: NodeDep,
    request: Request,
    day: Annotated[date | None, Query(description="The day in the node's zone (default: today)")] = None,
    format: Literal["json", "pdf"] = "json",
    language: Annotated[
        Literal["en", "ur", "fa"] | None,
        Query(description="The PDF's language (default: the caller's); calendar and zone are the caller's"),
    ] = None,
    principal: Principal = requires(Permission.INCIDENTS_READ),
) -> Response | dict[str, Any]:
    """The daily situation report for 00:00–24:00 of ``day`` in the node's time zone; ``format=pdf`` writes
    it for the caller (language, calendar, time zone) as a download."""
    with node.transaction() as session:
        report = reports.daily_report(session, node, principal, day)
        record_export(
            session,
            node.clock,
            principal.username,
            "incident",
            report.total,
            f"daily-report-{format}",
            client_ip(request),
        )
    if format == "pdf":
        return Response(
            report_pdf.daily_report_pdf(
                node,
                report,
                report_pdf.Viewer(language or principal.language, principal.time_zone, principal.calendar),
            ),
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="sitrep-{node.party}-{report.day}'
                f'-{language or principal.language}.pdf"'
            },
        )
    return report.as_dict()


@router.get("/reports/statistics")
def statistics(
    node: NodeDep,
    weeks: Annotated[int, Query(ge=1, le=104)] = 12,
    principal: Principal = requires(Permission.INCIDENTS_READ),
) -> dict[str, Any]:
    """Incidents per section per week, seizures by substance per month, response to requests."""
    with node.sessions() as session:
        return reports.statistics(session, node, principal, weeks=weeks).as_dict()


@router.get("/{origin}/{incident_id}", response_model=IncidentDetailOut)
def get_incident(
    origin: OriginPath,
    incident_id: IdPath,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INCIDENTS_READ),
) -> IncidentDetailOut:
    """One incident with its releases and follow-ups. Reading a received one is audited."""
    with node.transaction() as session:
        incident = reading.access_incident(
            session, node, principal, origin, incident_id, client_ip=client_ip(request)
        )
        return detail_out(session, node, incident, language=principal.language)


@router.get("/{origin}/{incident_id}/history", response_model=list[VersionOut])
def incident_history(
    origin: OriginPath,
    incident_id: IdPath,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INCIDENTS_READ),
) -> list[VersionOut]:
    """Every version, newest first, with the fields each one changed."""
    with node.transaction() as session:
        incident = reading.access_incident(
            session, node, principal, origin, incident_id, client_ip=client_ip(request)
        )
        return [VersionOut(**row) for row in versions.history(session, incident)]


@router.put("/{incident_id}", response_model=IncidentDetailOut)
def update_incident(
    incident_id: IdPath,
    body: IncidentUpdateIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> IncidentDetailOut:
    """A new version of one of this node's incidents (content replaced as a whole); it follows every release.
    Received incidents are never editable (403 ``not_originator``)."""
    return _update(node, principal, request, None, incident_id, body)


@router.put("/{origin}/{incident_id}", response_model=IncidentDetailOut)
def update_incident_of(
    origin: OriginPath,
    incident_id: IdPath,
    body: IncidentUpdateIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> IncidentDetailOut:
    """As ``PUT /{incident_id}``, naming the origin; another party's incident is refused (403)."""
    return _update(node, principal, request, origin, incident_id, body)


def _update(
    node: Node,
    principal: Principal,
    request: Request,
    origin: str | None,
    incident_id: str,
    body: IncidentUpdateIn,
) -> IncidentDetailOut:
    with node.transaction() as session:
        written = writing.update_incident(
            session,
            node,
            principal,
            incident_id,
            body,
            origin=origin,
            expected_version=body.version,
            client_ip=client_ip(request),
        )
        return detail_out(session, node, written.incident, written.warnings, principal.language)


@router.post("/{incident_id}/transition", response_model=IncidentDetailOut)
def transition(
    incident_id: IdPath,
    body: TransitionIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> IncidentDetailOut:
    """``report`` (draft → reported), ``validate``, ``close`` or ``dismiss`` (with ``reason``); the last
    three need ``incidents.validate``."""
    with node.transaction() as session:
        incident = writing.transition_incident(
            session, node, principal, incident_id, body.action, body.reason, client_ip=client_ip(request)
        )
        return detail_out(session, node, incident, language=principal.language)


@router.post("/{incident_id}/release", response_model=IncidentDetailOut)
def release_incident(
    incident_id: IdPath,
    body: ReleaseIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.RECORDS_RELEASE),
) -> IncidentDetailOut:
    """Release one of this node's incidents to more parties (this and all later versions)."""
    with node.transaction() as session:
        incident = sharing.release_incident(
            session,
            node,
            principal,
            incident_id,
            body.to,
            tlp=body.tlp.value if body.tlp else None,
            handling=body.handling.value if body.handling else None,
            client_ip=client_ip(request),
        )
        return detail_out(session, node, incident, language=principal.language)


@router.post("/{incident_id}/withdraw", response_model=IncidentDetailOut)
def withdraw_incident(
    incident_id: IdPath,
    body: WithdrawIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.RECORDS_RELEASE),
) -> IncidentDetailOut:
    """Withdraw one of this node's incidents: every receiver gets a signed tombstone and stops showing it."""
    with node.transaction() as session:
        incident = sharing.withdraw_incident(
            session, node, principal, incident_id, body.reason, client_ip=client_ip(request)
        )
        return detail_out(session, node, incident, language=principal.language)


async def read_upload(file: UploadFile) -> bytes:
    """The upload's bytes, refusing (413) as soon as it exceeds the limit (never reads more than limit + 1)."""
    data = await file.read(domain.ATTACHMENT_MAX_BYTES + 1)
    if len(data) > domain.ATTACHMENT_MAX_BYTES:
        raise PayloadTooLarge(
            f"file: the attachment is larger than {domain.ATTACHMENT_MAX_BYTES} bytes",
            details={"field": "file", "max_bytes": domain.ATTACHMENT_MAX_BYTES},
        )
    return data


@router.post("/{incident_id}/attachments", status_code=201, response_model=IncidentDetailOut)
async def upload_attachment(
    incident_id: IdPath,
    request: Request,
    node: NodeDep,
    file: Annotated[UploadFile, File(description="A JPEG, PNG or WebP photo, or a PDF document (≤ 5 MB)")],
    principal: Principal = requires(Permission.INCIDENTS_WRITE),
) -> IncidentDetailOut:
    """Attach a file to one of this node's incidents; its type is decided by its content (magic bytes)."""
    data = await read_upload(file)
    with node.transaction() as session:
        attachments.add_attachment(
            session, node, principal, incident_id, file.filename or "", data, client_ip=client_ip(request)
        )
        incident = session.get(Incident, (node.party, incident_id))
        assert incident is not None
        return detail_out(session, node, incident, language=principal.language)


@router.get(
    "/{origin}/{incident_id}/attachments/{attachment_id}",
    response_model=None,
    responses=answers(ATTACHMENT, json=False),
)
def download_attachment(
    origin: OriginPath,
    incident_id: IdPath,
    attachment_id: IdPath,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.INCIDENTS_READ),
) -> Response:
    """The attachment's bytes (audited). Attachments of received incidents stay with their originator."""
    with node.transaction() as session:
        row = attachments.access_attachment(
            session, node, principal, origin, incident_id, attachment_id, client_ip=client_ip(request)
        )
        data, media_type, name = row.data, row.media_type, row.filename
    safe = "".join(ch for ch in name if ch.isalnum() or ch in "._-") or "attachment"
    return Response(
        data,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{safe}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
