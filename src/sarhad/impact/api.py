"""HTTP API of border-section impact levels: the levels in force, proposals and decisions, history."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.core.formats import csv_response, csv_text, iso_utc
from sarhad.impact import services
from sarhad.impact.schemas import DecideIn, HistoryItem, HistoryOut, LevelsOut, ProposeIn, SectionLevelOut
from sarhad.web.deps import NodeDep, client_ip, requires
from sarhad.web.openapi import CSV, answers

router = APIRouter(prefix="/api/v1/impact", tags=["impact levels"])

SectionPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9._-]{1,32}$", description="A border section id, e.g. S5")
]


CSV_COLUMNS = (
    "section",
    "level",
    "agreed_at",
    "expires_at",
    "pending_level",
    "pending_proposer",
    "suggested",
    "suggestion_reason",
)


def _out(view: dict[str, Any]) -> SectionLevelOut:
    return SectionLevelOut.model_validate(view)


@router.get("/levels", response_model=LevelsOut, responses=answers(CSV))
def list_levels(
    node: NodeDep,
    format: Literal["json", "csv"] = "json",
    principal: Principal = requires(Permission.BORDER_READ),
) -> Response | LevelsOut:
    """Every section's agreed level in force (critical only until it expires), the pending proposal if any,
    and the level suggested by the last 30 days of incidents (see docs/impact-levels.md for the rule)."""
    now = node.clock.now()
    with node.sessions() as session:
        views = services.section_levels(session, node, principal, now)
    if format == "csv":
        rows = [
            {
                "section": v["section"],
                "level": v["level"],
                "agreed_at": iso_utc(v["agreed_at"]),
                "expires_at": iso_utc(v["expires_at"]),
                "pending_level": (v["pending"] or {}).get("level"),
                "pending_proposer": (v["pending"] or {}).get("proposer"),
                "suggested": v["suggested"],
                "suggestion_reason": v["suggestion_reason"],
            }
            for v in views
        ]
        return csv_response(csv_text(CSV_COLUMNS, rows), f"impact-levels-{node.party}.csv")
    return LevelsOut(at=now, sections=[_out(v) for v in views])


@router.get("/sections/{section}", response_model=HistoryOut)
def section_history(
    section: SectionPath, node: NodeDep, principal: Principal = requires(Permission.BORDER_READ)
) -> HistoryOut:
    """One section's level in force and every proposal and decision on it, oldest first."""
    with node.sessions() as session:
        current = services.section_level(session, node, principal, section)
        items = services.history(session, node, principal, section)
    return HistoryOut(
        section=section, current=_out(current), items=[HistoryItem.model_validate(i) for i in items]
    )


@router.post("/proposals", status_code=201, response_model=SectionLevelOut)
def propose(
    body: ProposeIn, request: Request, node: NodeDep, principal: Principal = requires(Permission.JOINT_DECIDE)
) -> SectionLevelOut:
    """Propose a level for a section to the other party (a joint-record proposal). The level in force does not
    change until the other party accepts; critical needs ``expires_at`` at most 72 hours ahead."""
    with node.transaction() as session:
        view = services.propose_level(
            session,
            node,
            principal,
            body.section,
            body.level,
            expires_at=body.expires_at,
            reason=body.reason,
            client_ip=client_ip(request),
        )
        return _out(view)


@router.post("/decisions", response_model=SectionLevelOut)
def decide(
    body: DecideIn, request: Request, node: NodeDep, principal: Principal = requires(Permission.JOINT_DECIDE)
) -> SectionLevelOut:
    """Accept or reject the pending proposal for a section (by its content hash; a rejection needs a reason)."""
    with node.transaction() as session:
        view = services.decide_level(
            session,
            node,
            principal,
            body.section,
            body.content_hash,
            body.decision,
            reason=body.reason,
            client_ip=client_ip(request),
        )
        return _out(view)
