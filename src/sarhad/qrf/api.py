"""HTTP API of QRF units: the board's list, own units, their status and sharing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from sqlalchemy.orm import Session

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.core.node import Node
from sarhad.qrf import domain, services
from sarhad.qrf.domain import Status, UnitType
from sarhad.qrf.models import QrfUnit
from sarhad.qrf.schemas import (
    ShareIn,
    StationOut,
    StatusChangeOut,
    StatusIn,
    UnitDetailOut,
    UnitIn,
    UnitOut,
)
from sarhad.web.deps import NodeDep, client_ip, requires

router = APIRouter(prefix="/api/v1/qrf", tags=["qrf"])

OriginPath = Annotated[str, Path(pattern=r"^[A-Z]{2}$", description="The originating party, e.g. PK")]
IdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:-]{1,64}$", description="The unit's id")]


def unit_out(session: Session, node: Node, unit: QrfUnit) -> UnitOut:
    own = unit.origin == node.party
    return UnitOut(
        id=unit.id,
        origin=unit.origin,
        own=own,
        version=unit.version,
        call_sign=unit.call_sign,
        unit_type=UnitType(unit.unit_type),
        station=StationOut(
            post=unit.station_post,
            name=unit.station_name,
            lat=unit.lat,
            lon=unit.lon,
            section=unit.section_id,
        ),
        strength=unit.strength if own else None,
        status=Status(unit.status),
        notice_minutes=unit.notice_minutes,
        status_since=unit.status_since,
        confirmed_at=unit.confirmed_at,
        stale=domain.is_stale(unit.confirmed_at, node.clock.now()),
        shared_with=services.shared_with(session, node, unit),
        received_at=unit.received_at,
    )


def detail_out(session: Session, node: Node, unit: QrfUnit) -> UnitDetailOut:
    session.flush()
    return UnitDetailOut(
        **unit_out(session, node, unit).model_dump(),
        history=[
            StatusChangeOut(
                version=h.version,
                from_status=Status(h.from_status) if h.from_status else None,
                status=Status(h.status),
                notice_minutes=h.notice_minutes,
                at=h.at,
                by=h.by,
            )
            for h in services.history_of(session, unit)
        ],
    )


@router.get("/units", response_model=list[UnitOut])
def list_units(node: NodeDep, principal: Principal = requires(Permission.QRF_READ)) -> list[UnitOut]:
    """The board: own units and the other side's shared ones (marked by ``origin``; no strength), by section."""
    with node.transaction() as session:
        return [unit_out(session, node, u) for u in services.list_units(session, principal)]


@router.post("/units", status_code=201, response_model=UnitDetailOut)
def create_unit(
    body: UnitIn, request: Request, node: NodeDep, principal: Principal = requires(Permission.QRF_MANAGE)
) -> UnitDetailOut:
    """Add an own unit at one of this party's posts; ``share_with`` shares its readiness at once (needs
    ``records.release``). The strength stays on this node."""
    with node.transaction() as session:
        unit = services.create_unit(session, node, principal, body, client_ip=client_ip(request))
        return detail_out(session, node, unit)


@router.get("/units/{origin}/{unit_id}", response_model=UnitDetailOut)
def get_unit(
    origin: OriginPath, unit_id: IdPath, node: NodeDep, principal: Principal = requires(Permission.QRF_READ)
) -> UnitDetailOut:
    """One unit with its status history (a received unit's history is the versions this node received)."""
    with node.transaction() as session:
        return detail_out(session, node, services.get_unit(session, node, principal, origin, unit_id))


@router.post("/units/{unit_id}/status", response_model=UnitDetailOut)
def set_status(
    unit_id: IdPath,
    body: StatusIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.QRF_MANAGE),
) -> UnitDetailOut:
    """Set an own unit's status by the transition table (the same status again confirms it). A shared
    unit's new status goes to every party it is shared with. Illegal transitions: 422
    ``qrf_illegal_transition``; standby without notice: 422 ``qrf_notice_required``; nothing written."""
    with node.transaction() as session:
        unit = services.set_status(
            session,
            node,
            principal,
            unit_id,
            body.status.value,
            body.notice_minutes,
            client_ip=client_ip(request),
        )
        return detail_out(session, node, unit)


@router.post("/units/{unit_id}/share", response_model=UnitDetailOut)
def share_unit(
    unit_id: IdPath,
    body: ShareIn,
    request: Request,
    node: NodeDep,
    principal: Principal = requires(Permission.QRF_MANAGE),
) -> UnitDetailOut:
    """Share an own unit's readiness with more parties (also needs ``records.release``)."""
    with node.transaction() as session:
        unit = services.share_unit(session, node, principal, unit_id, body.to, client_ip=client_ip(request))
        return detail_out(session, node, unit)
