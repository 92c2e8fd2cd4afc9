"""Building blocks for the impact-level tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.border import seeding as border
from sarhad.core.node import Node
from sarhad.exchange.models import JointDecision, JointProposal, JointRecord, OutboundEnvelope

PASSWORD = "correct horse battery"


def seed(node: Node) -> None:
    with node.transaction() as session:
        border.seed_reference_scenario(session, node, SystemActor("seed"), border.reference_data())
    with node.transaction() as session:
        for username, role in (("commander", "commander"), ("analyst", "analyst")):
            accounts.create_user(
                session, node.clock, SystemActor(), username=username, password=PASSWORD, roles=[role]
            )


def level_of(client: TestClient, headers: dict[str, str], section: str) -> dict[str, Any]:
    answer = client.get("/api/v1/impact/levels", headers=headers)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = next(s for s in answer.json()["sections"] if s["section"] == section)
    return found


def joint_rows(node: Node) -> tuple[int, int, int, int]:
    with node.sessions() as session:
        return tuple(  # type: ignore[return-value]
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (JointRecord, JointProposal, JointDecision, OutboundEnvelope)
        )
