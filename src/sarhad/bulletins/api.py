"""HTTP API for liaison bulletins: parse, check access, call a service, answer with the stored state."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.services import record_export, record_list_read
from sarhad.bulletins import services
from sarhad.bulletins.models import Bulletin
from sarhad.bulletins.schemas import (
    BulletinCreateIn,
    BulletinDetailOut,
    BulletinOut,
    BulletinUpdateIn,
    DeliveryOut,
    PlaceOut,
    ReleaseIn,
    ReleaseOut,
    VersionOut,
    WithdrawIn,
)
from sarhad.core.formats import csv_response, geojson_response, iso_utc
from sarhad.core.node import Node
from sarhad.exchange.domain import Tlp
from sarhad.exchange.release import Delivery
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.openapi import CSV, GEOJSON, answers

router = APIRouter(prefix="/api/v1/bulletins", tags=["bulletins"])

OriginPath = Annotated[str, Path(pattern=r"^[A-Z]{2}$", description="The originating party, e.g. PK")]
IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="The bulletin's id")]


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut(
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


def bulletin_out(node: Node, b: Bulletin, deliveries: list[Delivery]) -> BulletinOut:
    place = None
    if b.place_name is not None or b.lat is not None:
        place = PlaceOut(name=b.place_name or "", lat=b.lat, lon=b.lon)
    return BulletinOut(
        id=b.id,
        origin=b.origin,
        own=b.origin == node.party,
        version=b.version,
        title=b.title,
        body=b.body,
        place=place,
        valid_from=b.valid_from,
        valid_until=b.valid_until,
        tlp=b.tlp,
        handling=b.handling,
        content_hash=b.content_hash,
        created_by=b.created_by,
        created_at=b.created_at,
        updated_at=b.updated_at,
        withdrawn_at=b.withdrawn_at,
        withdraw_reason=b.withdraw_reason,
        received_at=b.received_at,
        deliveries=[delivery_out(d) for d in deliveries],
    )


def detail_out(session: Session, node: Node, b: Bulletin) -> BulletinDetailOut:
    session.flush()
    events = services.timeline(session, b)
    summary = bulletin_out(node, b, services.latest_per_party(events))
    return BulletinDetailOut(
        **summary.model_dump(),
        releases=[
            ReleaseOut(
                party=r.to_party,
                tlp=r.tlp,
                handling=r.handling,
                released_by=r.released_by,
                released_at=r.released_at,
                first_version=r.first_version,
                withdrawn_at=r.withdrawn_at,
            )
            for r in services.releases_of(session, b)
        ],
        timeline=[delivery_out(d) for d in events],
        versions=[
            VersionOut(
                version=v.version,
                content=v.content,
                content_hash=v.content_hash,
                recorded_at=v.recorded_at,
                recorded_by=v.recorded_by,
            )
            for v in services.versions_of(session, b)
        ],
    )


@router.post("", status_code=201, response_model=BulletinDetailOut)
def create_bulletin(
    body: BulletinCreateIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.BULLETINS_WRITE),
) -> BulletinDetailOut:
    """Write a bulletin and, with ``release_to``, release it to those parties in the same transaction.

    Releasing also needs ``records.release``. The answer holds the delivery state per party (``queued`` until
    the delivery worker has sent it, then ``sent``, then ``receipted`` when the peer's receipt arrives).
    """
    with node.transaction() as session:
        bulletin = services.create_bulletin(
            session,
            node,
            principal,
            body,
            tlp=body.tlp.value,
            handling=body.handling.value,
            release_to=body.release_to,
            client_ip=client_ip(request),
        )
        return detail_out(session, node, bulletin)


@router.get("", response_model=list[BulletinOut], responses=answers(CSV, GEOJSON))
def list_bulletins(
    request: Request,
    node: NodeDep,
    origin: Annotated[str | None, Query(pattern=r"^[A-Z]{2}$", description="Only from this party")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in title or body")] = None,
    tlp: Tlp | None = None,
    include_withdrawn: Annotated[bool, Query(description="Also this node's own withdrawn bulletins")] = False,
    limit: Annotated[int, Query(ge=1, le=services.MAX_LIST)] = 200,
    format: Literal["json", "csv", "geojson"] = "json",
    principal: Principal = requires(Permission.BULLETINS_READ),
) -> Response | list[BulletinOut]:
    """Own and received bulletins, newest change first, each with its origin and delivery state per party.

    ``format=csv`` exports the same list (spreadsheet formulas neutralised); ``format=geojson`` the bulletins
    that have a point. Exports are audited.
    """
    flt = services.BulletinFilter(
        origin=origin,
        text=q,
        tlp=tlp.value if tlp else None,
        include_withdrawn=include_withdrawn,
        limit=limit,
    )
    if format == "json":
        with node.sessions() as session:
            rows = services.list_bulletins(session, node, flt)
            summary = services.delivery_summary(session, rows)
        record_list_read(node, principal.username, "bulletin", "bulletin", rows, client_ip=client_ip(request))
        return [bulletin_out(node, b, summary.get(b.id, [])) for b in rows]
    with node.transaction() as session:  # exports are audited, so this read writes
        rows = services.list_bulletins(session, node, flt)
        summary = services.delivery_summary(session, rows)
        record_export(
            session, node.clock, principal.username, "bulletin", len(rows), format, client_ip(request)
        )
    if format == "csv":
        stamp = iso_utc(node.clock.now()) or ""
        return csv_response(
            services.bulletins_as_csv(rows, summary), f"bulletins-{node.party}-{stamp[:10]}.csv"
        )
    stamp = (iso_utc(node.clock.now()) or "")[:10]
    return geojson_response(services.bulletins_as_geojson(rows), f"bulletins-{node.party}-{stamp}.geojson")


@router.get("/{origin}/{bulletin_id}", response_model=BulletinDetailOut)
def get_bulletin(
    origin: OriginPath,
    bulletin_id: IdPath,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.BULLETINS_READ),
) -> BulletinDetailOut:
    """One bulletin with its releases, delivery timeline and versions. Reading a received one is audited."""
    with node.transaction() as session:
        bulletin = services.get_bulletin(
            session, node, principal, origin, bulletin_id, client_ip=client_ip(request)
        )
        return detail_out(session, node, bulletin)


@router.put("/{bulletin_id}", response_model=BulletinDetailOut)
def update_bulletin(
    bulletin_id: IdPath,
    body: BulletinUpdateIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.BULLETINS_WRITE),
) -> BulletinDetailOut:
    """A new version of one of this node's bulletins; it goes to every party it was released to.

    The content is replaced as a whole: a place or validity left out is cleared.

    Received bulletins are never editable (403). With ``version``, the edit is refused (409) if someone else
    changed the bulletin meanwhile.
    """
    with node.transaction() as session:
        bulletin = services.update_bulletin(
            session,
            node,
            principal,
            bulletin_id,
            body,
            tlp=body.tlp.value if body.tlp else None,
            expected_version=body.version,
            client_ip=client_ip(request),
        )
        return detail_out(session, node, bulletin)


@router.post("/{bulletin_id}/release", response_model=BulletinDetailOut)
def release_bulletin(
    bulletin_id: IdPath,
    body: ReleaseIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.RECORDS_RELEASE),
) -> BulletinDetailOut:
    """Release one of this node's bulletins to more parties (this and all later versions)."""
    return _release(node, principal, request, node.party, bulletin_id, body)


@router.post("/{origin}/{bulletin_id}/release", response_model=BulletinDetailOut)
def release_bulletin_onward(
    origin: OriginPath,
    bulletin_id: IdPath,
    body: ReleaseIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.RECORDS_RELEASE),
) -> BulletinDetailOut:
    """Release a bulletin received from ``origin`` onward to a third party — only if its originator allowed
    onward release (else 403 ``no_onward_release``: ask the originator)."""
    return _release(node, principal, request, origin, bulletin_id, body)


def _release(
    node: Node, principal: Principal, request: Request, origin: str, bulletin_id: str, body: ReleaseIn
) -> BulletinDetailOut:
    with node.transaction() as session:
        services.release_bulletin(
            session,
            node,
            principal,
            bulletin_id,
            body.to,
            origin=origin,
            tlp=body.tlp.value if body.tlp else None,
            handling=body.handling.value if body.handling else None,
            client_ip=client_ip(request),
        )
        bulletin = session.get(Bulletin, (origin, bulletin_id))
        assert bulletin is not None  # release_bulletin found it
        return detail_out(session, node, bulletin)


@router.post("/{bulletin_id}/withdraw", response_model=BulletinDetailOut)
def withdraw_bulletin(
    bulletin_id: IdPath,
    body: WithdrawIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.RECORDS_RELEASE),
) -> BulletinDetailOut:
    """Withdraw one of this node's bulletins: every receiver gets a signed tombstone and stops showing it."""
    with node.transaction() as session:
        bulletin = services.withdraw_bulletin(
            session, node, principal, bulletin_id, body.reason, client_ip=client_ip(request)
        )
        return detail_out(session, node, bulletin)
