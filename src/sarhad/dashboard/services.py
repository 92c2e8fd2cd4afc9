"""The home dashboard: what needs the viewer's attention now, gathered per panel for the viewer's role.

``gather(session, node, actor, zone)`` returns one ``Dashboard``; a panel the actor's permissions do not allow
is ``None`` (the page leaves it out), never an empty list that would look like "nothing to do":

| panel | permission | what |
|---|---|---|
| ``messages`` | ``hotline.read`` | received messages not yet acknowledged, for the positions the actor holds now |
| ``requests`` | ``requests.read`` | open requests past their deadline, both ways (ours to them, theirs to us) |
| ``incidents`` | ``incidents.read`` | incidents that occurred since midnight in the viewer's zone, in the sections of the positions the actor holds (every section when those positions have none) |
| ``links`` | ``exchange.read`` | each peer's link in words (``links.link_state``) |
| ``alerts`` | ``exchange.read`` | the exchange's alerts not yet acknowledged |
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.domain import Permission
from sarhad.accounts.models import Position
from sarhad.core.node import Node
from sarhad.dashboard.alerts import PRECEDENCE_RANK
from sarhad.dashboard.links import LinkState, link_state
from sarhad.exchange import alerts as exchange_alerts
from sarhad.exchange import peers
from sarhad.exchange.models import Alert
from sarhad.hotline.access import Actor, audience, held_positions
from sarhad.hotline.models import HotlineMessage
from sarhad.incidents import reading as incidents
from sarhad.incidents.models import Incident
from sarhad.requests import services as requests
from sarhad.requests.models import PartyRequest

PANEL_LIMIT = 50  # rows per panel; the panel links to its full list


@dataclass(frozen=True)
class Dashboard:
    held: list[str]  # positions the actor holds now
    messages: list[HotlineMessage] | None
    requests: list[PartyRequest] | None
    incidents: list[Incident] | None
    sections: list[str]  # the sections the incidents panel covers ([] = every section)
    links: list[LinkState] | None
    alerts: Sequence[Alert] | None


def start_of_day(now: datetime, zone: str) -> datetime:
    """Midnight of ``now``'s day in the viewer's time zone (UTC if the zone is unknown)."""
    try:
        tz = ZoneInfo(zone)
    except (KeyError, ValueError):
        tz = ZoneInfo("UTC")
    local = now.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _messages(session: Session, node: Node, held: set[str]) -> list[HotlineMessage]:
    if not held:
        return []
    rows = session.scalars(
        select(HotlineMessage).where(
            HotlineMessage.origin != node.party, HotlineMessage.acknowledged_at.is_(None)
        )
    ).all()
    mine = [m for m in rows if set(audience(m, node.party)) & held]
    mine.sort(key=lambda m: (PRECEDENCE_RANK.get(m.precedence, 9), m.created_at, m.id))
    return mine[:PANEL_LIMIT]


def _sections(session: Session, held: set[str]) -> list[str]:
    if not held:
        return []
    found = session.scalars(select(Position.section_id).where(Position.id.in_(sorted(held)))).all()
    return sorted({s for s in found if s})


def _incidents(
    session: Session, node: Node, actor: Actor, since: datetime, sections: list[str]
) -> list[Incident]:
    rows = incidents.list_incidents(
        session, node, actor, incidents.IncidentFilter(since=since, limit=incidents.MAX_LIST)
    )
    chosen = [i for i in rows if not sections or i.section_id in sections]
    return chosen[:PANEL_LIMIT]


def gather(session: Session, node: Node, actor: Actor, zone: str) -> Dashboard:
    """Every panel the actor may see (see the module's table); the others are None."""
    held = held_positions(session, node, actor) or set()
    sections = _sections(session, held)
    messages = _messages(session, node, held) if actor.can(Permission.HOTLINE_READ) else None
    overdue: list[PartyRequest] | None = None
    if actor.can(Permission.REQUESTS_READ):
        overdue = list(
            requests.list_requests(session, node, requests.RequestFilter(overdue=True, limit=PANEL_LIMIT))
        )
    today: list[Incident] | None = None
    if actor.can(Permission.INCIDENTS_READ):
        today = _incidents(session, node, actor, start_of_day(node.clock.now(), zone), sections)
    links: list[LinkState] | None = None
    open_alerts: Sequence[Alert] | None = None
    if actor.can(Permission.EXCHANGE_READ):
        links = [link_state(s) for s in peers.peer_status(session, node, actor)]
        open_alerts = exchange_alerts.list_alerts(session, actor, limit=PANEL_LIMIT)
    return Dashboard(
        held=sorted(held),
        messages=messages,
        requests=overdue,
        incidents=today,
        sections=sections,
        links=links,
        alerts=open_alerts,
    )
