"""What the intelligence tests share: a report to write, and counting what a refusal must not have written."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.audit.models import AuditEntry
from sarhad.core.node import Node
from sarhad.exchange.models import OutboundEnvelope, Release
from sarhad.intel.models import IntelReport, IntelReportVersion
from support.pairs import PASSWORD

BODY_SECRET = "Source HAWK-7 met the courier at the Panjgur safe house"
NOTE_SECRET = "HAWK-7 is the cousin of the fuel dealer; paid monthly"
SUMMARY_SECRET = "Summary for our own commanders only"
RELEASABLE = "Armed group of about 12 expected to cross near pillar 180 within 72 hours."

REPORT: dict[str, Any] = {
    "title": "Expected crossing near pillar 180",
    "summary": SUMMARY_SECRET,
    "body": BODY_SECRET + ". " + RELEASABLE,
    "releasable": RELEASABLE,
    "report_type": "threat_warning",
    "reliability": "B",
    "credibility": "2",
    "source_note": NOTE_SECRET,
    "release_to": ["IR"],
    "tlp": "amber",
}


def create(client: TestClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/intel/reports", json={**REPORT, **changes}, headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def count(node: Node, model: Any) -> int:
    with node.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def actions(node: Node, prefix: str) -> list[str]:
    with node.sessions() as session:
        rows = session.scalars(
            select(AuditEntry.action).where(AuditEntry.action.startswith(prefix)).order_by(AuditEntry.id)
        ).all()
    return list(rows)


def counts(node: Node) -> tuple[int, int, int, int]:
    """Reports, versions, envelopes and releases held: what a refusal must leave unchanged."""
    return (
        count(node, IntelReport),
        count(node, IntelReportVersion),
        count(node, OutboundEnvelope),
        count(node, Release),
    )


def add_user(node: Node, username: str, *roles: str) -> None:
    with node.transaction() as session:
        accounts.create_user(
            session, node.clock, SystemActor(), username=username, password=PASSWORD, roles=list(roles)
        )
