"""The home page (a dashboard for the viewer's role) and the alert banner's fragment for live refresh.

Importing this module registers the banner with every page's layout (``web.chrome.add_layout_context``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.services import record_list_read
from sarhad.dashboard import services
from sarhad.dashboard.alerts import banner_context
from sarhad.incidents.taxonomy import taxonomy
from sarhad.web.chrome import add_layout_context
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.templating import render

router = APIRouter(include_in_schema=False)
add_layout_context(banner_context)


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, node: NodeDep, principal: Principal = requires(Permission.PROFILE)
) -> HTMLResponse:
    """What needs the viewer now: each panel their role may see (``services.gather``); lists of received
    records on it are audited like the feature pages' lists."""
    with node.sessions() as session:
        board = services.gather(session, node, principal, principal.time_zone)
    ip = client_ip(request)
    if board.messages:
        record_list_read(node, principal.username, "hotline", "hotline.message", board.messages, client_ip=ip)
    if board.incidents:
        record_list_read(node, principal.username, "incident", "incident", board.incidents, client_ip=ip)
    if board.requests:
        record_list_read(node, principal.username, "request", "request", board.requests, client_ip=ip)
    types = {code: t.name(principal.language) for code, t in taxonomy(node).items()}
    return render(request, "home.html", {"board": board, "type_names": types}, principal=principal)


@router.get("/alerts/banner", response_class=HTMLResponse)
def banner(request: Request, principal: Principal = requires(Permission.PROFILE)) -> HTMLResponse:
    """The alert banner alone (the layout's ``#alerts``), for ``alerts.js`` to swap in after a live event."""
    return render(request, "_alerts_fragment.html", principal=principal)
