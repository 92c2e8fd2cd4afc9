"""Building blocks for the request tests: border seeding, users, tokens, incidents and counting rows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.audit.models import AuditEntry
from sarhad.border import seeding as border
from sarhad.core.node import Node
from sarhad.exchange.models import OutboundEnvelope
from sarhad.incidents import writing as incidents
from sarhad.incidents.schemas import IncidentContentIn
from sarhad.requests.models import PartyRequest, RequestEvent

PASSWORD = "correct horse battery"
TAFTAN = (28.96, 61.59)  # near the Taftan crossing, on the border


def seed_border(node: Node) -> None:
    with node.transaction() as session:
        border.seed_reference_scenario(session, node, SystemActor("seed"), border.reference_data())


def add_users(node: Node) -> None:
    with node.transaction() as session:
        for username, role in (("liaison", "liaison_officer"), ("analyst", "analyst")):
            accounts.create_user(
                session, node.clock, SystemActor(), username=username, password=PASSWORD, roles=[role]
            )


def token(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def create_incident(
    node: Node,
    *,
    release_to: tuple[str, ...] = (),
    impact_level: str = "medium",
    ago: timedelta = timedelta(hours=2),
    lat: float = TAFTAN[0],
    lon: float = TAFTAN[1],
) -> str:
    """An incident written through the incidents package's own service; returns its id."""
    data = IncidentContentIn(
        type="drug_smuggling",
        occurred_at=node.clock.now() - ago,
        lat=lat,
        lon=lon,
        description="Vehicle with concealed narcotics stopped near the crossing.",
        impact_level=impact_level,
    )
    with node.transaction() as session:
        written = incidents.create_incident(session, node, SystemActor(), data, release_to=list(release_to))
        return written.incident.id


def count(node: Node, model: Any) -> int:
    with node.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def audit_actions(node: Node, prefix: str) -> list[str]:
    with node.sessions() as session:
        return list(
            session.scalars(
                select(AuditEntry.action).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
            ).all()
        )


def snapshot(node: Node) -> tuple[int, int, int, int]:
    """What a refused write must leave untouched: requests, their events, envelopes, request audit entries
    (other than audited reads: a refused page shows the request again, and that read is audited)."""
    return (
        count(node, PartyRequest),
        count(node, RequestEvent),
        count(node, OutboundEnvelope),
        len([a for a in audit_actions(node, "request.") if a != "request.read"]),
    )
