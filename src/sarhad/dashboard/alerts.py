"""The alert banner on every page: FLASH and IMMEDIATE hotline messages waiting for the viewer's positions.

A received FLASH or IMMEDIATE message, addressed (or escalated) to a position the viewer holds now on the duty
roster, and not yet acknowledged, is "waiting". ``layout.html`` renders the banner from the database on every
page (so it survives a reload); ``static/alerts.js`` re-reads it (``GET /alerts/banner``) on each hotline live
event, and turns it into the tab title, the favicon badge, a desktop notification and the alarm.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.core.node import Node
from sarhad.hotline import domain as hotline_domain
from sarhad.hotline.access import Actor, audience, held_positions
from sarhad.hotline.models import HotlineMessage
from sarhad.live import services as live

PRECEDENCE_RANK = {hotline_domain.Precedence.FLASH.value: 0, hotline_domain.Precedence.IMMEDIATE.value: 1}


def waiting_urgent(session: Session, node: Node, actor: Actor) -> list[HotlineMessage]:
    """Received FLASH/IMMEDIATE messages not yet acknowledged for a position the actor holds now: FLASH
    first, then the oldest first. Empty for an actor who may not read the hotline or holds no position."""
    if not actor.can(Permission.HOTLINE_READ):
        return []
    held = held_positions(session, node, actor)
    if not held:
        return []
    rows = session.scalars(
        select(HotlineMessage).where(
            HotlineMessage.origin != node.party,
            HotlineMessage.precedence.in_(sorted(hotline_domain.URGENT)),
            HotlineMessage.acknowledged_at.is_(None),
        )
    ).all()
    mine = [m for m in rows if set(audience(m, node.party)) & held]
    return sorted(mine, key=lambda m: (PRECEDENCE_RANK.get(m.precedence, 9), m.created_at, m.id))


def banner_context(request: Request, principal: Principal | None) -> dict[str, Any]:
    """The layout's alert banner: the waiting messages, whether the viewer may acknowledge them, and the
    live-event mark the page's stream resumes after (read before the messages, so nothing is lost)."""
    if principal is None or not principal.can(Permission.HOTLINE_READ):
        return {"urgent": [], "urgent_live_after": None, "urgent_can_ack": False}
    node: Node = request.app.state.node
    with node.sessions() as session:
        mark = live.last_event_id(session)
        urgent = waiting_urgent(session, node, principal)
    return {
        "urgent": urgent,
        "urgent_live_after": mark,
        "urgent_can_ack": principal.can(Permission.HOTLINE_SEND),
    }
