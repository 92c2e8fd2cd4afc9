"""Exchange pages: links and their backlog (each link's state in words; the page refreshes itself every few
seconds, ``alerts.js``), alerts, quarantine, joint records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.core.params import RowId
from sarhad.dashboard.links import link_state
from sarhad.exchange import alerts, joint, peers, protocol
from sarhad.exchange.identity import identity
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/exchange", "Exchange", Permission.EXCHANGE_READ.value)
add_nav_item("/joint", "Joint records", Permission.JOINT_DECIDE.value)


@router.get("/exchange", response_class=HTMLResponse)
def exchange_page(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.EXCHANGE_READ)
) -> HTMLResponse:
    me = identity(node)
    with node.sessions() as session:
        links = peers.peer_status(session, node, principal)
        open_alerts = alerts.list_alerts(session, principal)
    states = {link.peer: link_state(link) for link in links}
    return render(
        request,
        "exchange.html",
        {
            "links": links,
            "states": states,
            "alerts": open_alerts,
            "fingerprint": me.fingerprint,
            "public_key": me.public_key_b64,
            "short_fingerprint": protocol.short_fingerprint(me.fingerprint),
        },
        principal=principal,
    )


@router.post("/exchange/alerts/{alert_id}/ack")
def acknowledge_alert(
    alert_id: RowId, node: NodeDep, principal: Principal = requires(Permission.EXCHANGE_ADMIN)
) -> RedirectResponse:
    with node.transaction() as session:
        alerts.acknowledge_alert(session, node, alert_id, actor=principal)
    return RedirectResponse("/exchange", status_code=303)


@router.get("/exchange/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.EXCHANGE_ADMIN)
) -> HTMLResponse:
    with node.transaction() as session:
        rows = alerts.access_quarantine(session, node, principal, client_ip=client_ip(request))
    return render(request, "quarantine.html", {"rows": rows}, principal=principal)


@router.get("/joint", response_class=HTMLResponse)
def joint_list_page(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.JOINT_DECIDE)
) -> HTMLResponse:
    with node.sessions() as session:
        records = joint.access_joint_records(session, principal)
    return render(request, "joint_list.html", {"records": records}, principal=principal)


@router.get("/joint/{joint_id}", response_class=HTMLResponse)
def joint_page(
    joint_id: str, request: Request, node: NodeDep, principal: Principal = requires(Permission.JOINT_DECIDE)
) -> HTMLResponse:
    with node.sessions() as session:
        view = joint.access_joint_record(session, principal, joint_id)
    return render(request, "joint.html", {"j": view}, principal=principal)


@router.post("/joint/{joint_id}/decide")
def joint_decide(
    joint_id: str,
    node: NodeDep,
    content_hash: Annotated[str, Form(pattern=r"^[0-9a-f]{64}$")],
    decision: Annotated[str, Form(pattern=r"^(accept|reject)$")],
    reason: Annotated[str, Form(max_length=2000)] = "",
    principal: Principal = requires(Permission.JOINT_DECIDE),
) -> RedirectResponse:
    with node.transaction() as session:
        joint.decide(
            session,
            node,
            joint_id=joint_id,
            content_hash=content_hash,
            decision=decision,
            reason=reason,
            actor=principal,
        )
    return RedirectResponse(f"/joint/{joint_id}", status_code=303)
