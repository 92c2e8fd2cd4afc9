"""Building blocks for the bulletin integration tests: users, tokens, paired nodes and in-process delivery.

Delivery here is the exchange's own code path without the network: the sender's outbox batch goes through
``receive_batch`` on the receiver, and the receiver's signed receipt through ``accept_receipt`` on the sender,
exactly as the delivery worker and the link endpoint do it.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.audit.models import AuditEntry
from sarhad.bulletins.models import Bulletin, BulletinVersion
from sarhad.core.node import Node
from sarhad.exchange.models import OutboundEnvelope
from support.inprocess import deliver, pair

__all__ = ["deliver", "pair"]

PASSWORD = "correct horse battery"


def add_user(node: Node, username: str, *roles: str) -> None:
    with node.transaction() as session:
        accounts.create_user(
            session, node.clock, SystemActor(), username=username, password=PASSWORD, roles=list(roles)
        )


def token(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def outbox(node: Node, link: str | None = None) -> list[OutboundEnvelope]:
    with node.sessions() as session:
        query = select(OutboundEnvelope).order_by(OutboundEnvelope.link, OutboundEnvelope.seq)
        if link is not None:
            query = query.where(OutboundEnvelope.link == link)
        return list(session.scalars(query).all())


def envelope_record(row: OutboundEnvelope) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(row.body)["record"]
    return record


def count(node: Node, model: Any) -> int:
    with node.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def audit_actions(node: Node, prefix: str = "") -> list[str]:
    with node.sessions() as session:
        rows = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
        ).all()
    return list(rows)


def bulletin_row(node: Node, origin: str, bulletin_id: str) -> Bulletin | None:
    with node.sessions() as session:
        return session.get(Bulletin, (origin, bulletin_id))


def nothing_written(node: Node) -> None:
    """No bulletin, version, envelope or bulletin audit entry exists on the node."""
    assert count(node, Bulletin) == 0
    assert count(node, BulletinVersion) == 0
    assert count(node, OutboundEnvelope) == 0
    assert audit_actions(node, "bulletin.") == []
    assert audit_actions(node, "exchange.release") == []
