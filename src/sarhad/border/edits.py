"""Edits of operational border state: a crossing's status and hours, a market's status and days, a fence
segment's status.

Each edit takes the actor, checks ``border.edit``, the actor's section scope and — for a party's own
record — that this node's party owns it, and is audited in the caller's transaction with the values
before and after and the reason given.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.audit.services import record_event
from sarhad.border.models import Crossing, FenceSegment, Market
from sarhad.border.queries import crossing_row, fence_segment_row, market_row
from sarhad.border.schemas import CrossingPatch, FencePatch, MarketPatch
from sarhad.core.errors import ErrorCode, PermissionDenied
from sarhad.core.node import Node


def _may_edit(owner_party: str, node_party: str, what: str) -> None:
    """Only the owner's node writes a party's own record (the other side's copy is theirs to change)."""
    if owner_party != node_party:
        raise PermissionDenied(
            f"{what} belongs to {owner_party}; it is changed on {owner_party}'s node, not on this {node_party} node",
            code=ErrorCode.NOT_OWNER,
        )


def _in_scope(actor: Actor, section_id: str | None, what: str) -> None:
    """A user with section scopes edits only within them; a system actor and an unscoped user edit anywhere."""
    scope: Sequence[str] = actor.scope_sections if isinstance(actor, Principal) else ()
    if scope and section_id not in scope:
        raise PermissionDenied(
            f"{what} is in section {section_id or '(none)'}, outside your sections ({', '.join(scope)})",
            code=ErrorCode.OUT_OF_SCOPE,
        )


def _record_change(
    session: Session,
    node: Node,
    actor: Actor,
    row: Crossing | Market | FenceSegment,
    *,
    kind: str,
    before: dict[str, Any],
    after: dict[str, Any],
    reason: str | None,
    client_ip: str,
) -> None:
    """Stamp the row with who changed it when, and audit ``border.<kind>.update`` with before and after."""
    row.updated_at, row.updated_by = node.clock.now(), actor.username
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action=f"border.{kind}.update",
        record_kind="border.fence_segment" if kind == "fence" else f"border.{kind}",
        record_id=row.id,
        client_ip=client_ip,
        details={"before": before, "after": after, "reason": reason},
    )


def update_crossing(
    session: Session, node: Node, actor: Actor, crossing_id: str, patch: CrossingPatch, *, client_ip: str = ""
) -> Crossing:
    """Set a crossing's status and/or opening hours. Both sides run a crossing, so either node may."""
    require(actor, Permission.BORDER_EDIT, "editing the border model")
    row = crossing_row(session, crossing_id)
    _in_scope(actor, row.section_id, f"crossing {crossing_id}")
    before = {"status": row.status, "hours": row.hours}
    if patch.status is not None:
        row.status = patch.status
    if patch.hours is not None:
        row.hours = patch.hours.stored()
    after = {"status": row.status, "hours": row.hours}
    _record_change(
        session,
        node,
        actor,
        row,
        kind="crossing",
        before=before,
        after=after,
        reason=patch.reason,
        client_ip=client_ip,
    )
    return row


def update_fence_segment(
    session: Session, node: Node, actor: Actor, segment_id: str, patch: FencePatch, *, client_ip: str = ""
) -> FenceSegment:
    """Set the status of one of this node's party's fence segments."""
    require(actor, Permission.BORDER_EDIT, "editing the border model")
    row = fence_segment_row(session, segment_id)
    _may_edit(row.party, node.party, f"fence segment {segment_id}")
    _in_scope(actor, row.section_id, f"fence segment {segment_id}")
    before = {"status": row.status}
    row.status = patch.status
    _record_change(
        session,
        node,
        actor,
        row,
        kind="fence",
        before=before,
        after={"status": row.status},
        reason=patch.reason,
        client_ip=client_ip,
    )
    return row


def update_market(
    session: Session, node: Node, actor: Actor, market_id: str, patch: MarketPatch, *, client_ip: str = ""
) -> Market:
    """Set a market's status and/or market days; only the host party's node may."""
    require(actor, Permission.BORDER_EDIT, "editing the border model")
    row = market_row(session, market_id)
    _may_edit(row.host_party, node.party, f"market {market_id}")
    _in_scope(actor, row.section_id, f"market {market_id}")
    before = {"status": row.status, "schedule": row.schedule}
    if patch.status is not None:
        row.status = patch.status
    if patch.schedule is not None:
        row.schedule = patch.schedule.stored()
    after = {"status": row.status, "schedule": row.schedule}
    _record_change(
        session,
        node,
        actor,
        row,
        kind="market",
        before=before,
        after=after,
        reason=patch.reason,
        client_ip=client_ip,
    )
    return row
