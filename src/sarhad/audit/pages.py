"""The audit log page: filter, page back, export CSV."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.api import audit_filter
from sarhad.audit.services import AuditFilter, list_entries
from sarhad.web.deps import NodeDep, requires
from sarhad.web.templating import add_nav_item, render

router = APIRouter(include_in_schema=False)
add_nav_item("/audit", "Audit log", Permission.AUDIT_READ.value)
PAGE_SIZE = 100


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    node: NodeDep,
    flt: AuditFilter = Depends(audit_filter),
    principal: Principal = requires(Permission.AUDIT_READ),
) -> HTMLResponse:
    with node.sessions() as session:
        entries = list_entries(session, principal, replace(flt, limit=PAGE_SIZE))
    query = {k: v for k, v in request.query_params.items() if k not in ("before_id", "limit") and v}
    return render(
        request,
        "audit.html",
        {"entries": entries, "filters": query, "page_size": PAGE_SIZE},
        principal=principal,
    )
