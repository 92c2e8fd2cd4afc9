"""Building blocks for the incident integration tests: users, tokens, counts and a valid incident body."""

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
from sarhad.incidents.models import Incident, IncidentAttachment, IncidentVersion
from support.inprocess import deliver, pair

__all__ = ["deliver", "pair"]

PASSWORD = "correct horse battery"
TAFTAN_PK = (28.95, 61.70)  # lat, lon: a few km east of the Taftan crossing, on Pakistan's side (section S5)
TAFTAN_BBOX = "61.0,28.5,62.5,29.5"


def seed_border(node: Node) -> None:
    with node.transaction() as session:
        border.seed_reference_scenario(session, node, SystemActor("seed"), border.reference_data())


def add_user(node: Node, username: str, *roles: str) -> None:
    with node.transaction() as session:
        accounts.create_user(
            session, node.clock, SystemActor(), username=username, password=PASSWORD, roles=list(roles)
        )


def token(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def body(node: Node, **changes: Any) -> dict[str, Any]:
    occurred = (node.clock.now() - timedelta(hours=2)).isoformat()
    return {
        "type": "drug_smuggling",
        "occurred_at": occurred,
        "lat": TAFTAN_PK[0],
        "lon": TAFTAN_PK[1],
        "description": "Vehicle intercepted 6 km east of Taftan carrying hashish; two persons apprehended.",
        "impact_level": "medium",
        "seizures": [{"item": "hashish", "quantity": 120, "unit": "kg"}],
        "persons_apprehended": 2,
        "source_reliability": "B",
        "info_credibility": "2",
        **changes,
    }


def count(node: Node, model: Any) -> int:
    with node.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def audit_actions(node: Node, prefix: str = "") -> list[str]:
    with node.sessions() as session:
        rows = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
        ).all()
    return list(rows)


def snapshot_counts(node: Node) -> tuple[int, int, int, int, int]:
    return (
        count(node, Incident),
        count(node, IncidentVersion),
        count(node, IncidentAttachment),
        count(node, OutboundEnvelope),
        len(audit_actions(node, "incident.")),
    )
