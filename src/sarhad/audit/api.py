"""Reading the audit log over HTTP (auditors only). There is no write endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.heads import head_content, list_heads
from sarhad.audit.services import AuditFilter, entries_as_csv, entry_as_dict, list_entries
from sarhad.core.formats import csv_response, iso_utc
from sarhad.core.params import BigRowId
from sarhad.web.deps import NodeDep, requires
from sarhad.web.openapi import CSV, answers

router = APIRouter(prefix="/api/v1", tags=["audit"])


def audit_filter(
    actor: str | None = Query(None, max_length=100),
    action: str | None = Query(None, max_length=64),
    outcome: str | None = Query(None, pattern="^(|ok|denied|failed)$"),
    record_id: str | None = Query(None, max_length=128),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(200, ge=1, le=10_000),
    before_id: BigRowId | None = Query(None),
) -> AuditFilter:
    """The filter from query parameters, shared by the API and the page (an empty field means any)."""
    return AuditFilter(
        actor=actor or None,
        action=action or None,
        outcome=outcome or None,
        record_id=record_id or None,
        since=since,
        until=until,
        limit=limit,
        before_id=before_id,
    )


@router.get("/audit", responses=answers(CSV))
def read_audit_log(
    node: NodeDep,
    flt: AuditFilter = Depends(audit_filter),
    format: str = Query("json", pattern="^(json|csv)$"),
    principal: Principal = requires(Permission.AUDIT_READ),
) -> Any:
    with node.sessions() as session:
        entries = list_entries(session, principal, flt)
    if format == "csv":
        return csv_response(entries_as_csv(entries), "audit.csv")
    return {"entries": [entry_as_dict(e) for e in entries]}


@router.get("/audit/heads")
def read_audit_heads(
    node: NodeDep,
    party: str | None = Query(None, pattern=r"^[A-Z]{2}$", description="Only this party's log"),
    limit: int = Query(1000, ge=1, le=10_000),
    principal: Principal = requires(Permission.AUDIT_READ),
) -> dict[str, Any]:
    """The signed heads of audit logs held here, newest first: this node's own, and the peers' heads it
    witnesses (``received_at`` set). Each is exactly the signed head (docs/audit.md)."""
    with node.sessions() as session:
        heads = list_heads(session, principal, party, limit)
    return {"heads": [{**head_content(h), "received_at": iso_utc(h.received_at)} for h in heads]}
