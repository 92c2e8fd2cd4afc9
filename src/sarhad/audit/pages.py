"""The audit log page: filter, page back, export CSV."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.api import audit_filter
from sarhad.audit.services import list_entries
from sarhad.web.deps import NodeDep, requires
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/audit", "Audit log", Permission.AUDIT_READ.value)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    node: NodeDep,
    actor: str | None = Query(None, max_length=100),
    action: str | None = Query(None, max_length=64),
    outcome: str | None = Query(None, pattern="^(|ok|denied|failed)$"),
    record_id: str | None = Query(None, max_length=128),
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = Query(None, ge=1),
    principal: Principal = requires(Permission.AUDIT_READ),
) -> HTMLResponse:
    flt = audit_filter(
        actor or None, action or None, outcome or None, record_id or None, since, until, 100, before_id
    )
    with node.sessions() as session:
        entries = list_entries(session, flt)
    query = {k: v for k, v in request.query_params.items() if k != "before_id" and v}
    return render(request, "audit.html", {"entries": entries, "filters": query}, principal=principal)
