"""The maps update live: every change an incident goes through, here and from the peer, and every proposal or
decision on a section's impact level is published as a live event (ids only) in the writing transaction."""

from __future__ import annotations

from fastapi.testclient import TestClient
from incident_helpers import body
from sqlalchemy import select

from sarhad.core.node import Node
from sarhad.live.models import LiveEvent
from support.inprocess import deliver


def _events(node: Node, topic: str) -> list[tuple[dict[str, object], str | None]]:
    with node.sessions() as session:
        rows = session.scalars(select(LiveEvent).where(LiveEvent.topic == topic).order_by(LiveEvent.id)).all()
        return [(dict(row.data), row.permission) for row in rows]


def test_created_changed_received_and_withdrawn_incidents_are_announced_to_readers(
    pk: Node, ir: Node, client: TestClient, liaison: dict[str, str]
) -> None:
    created = client.post("/api/v1/incidents", json=body(pk, release_to=["IR"]), headers=liaison)
    assert created.status_code == 201, created.text
    incident = created.json()
    changed = client.post(
        f"/api/v1/incidents/{incident['id']}/transition", json={"action": "validate"}, headers=liaison
    )
    assert changed.status_code == 200, changed.text
    deliver(pk, ir)
    withdrawn = client.post(
        f"/api/v1/incidents/{incident['id']}/withdraw", json={"reason": "entered twice"}, headers=liaison
    )
    assert withdrawn.status_code == 200, withdrawn.text
    deliver(pk, ir)

    key = {"origin": "PK", "id": incident["id"]}
    assert _events(pk, "incident.changed") == [
        ({**key, "change": "create"}, "incidents.read"),
        ({**key, "change": "validate"}, "incidents.read"),
        ({**key, "change": "withdraw"}, "incidents.read"),
    ]
    at_ir = _events(ir, "incident.changed")
    assert at_ir[0] == ({**key, "change": "received"}, "incidents.read")
    assert at_ir[-1] == ({**key, "change": "withdrawn"}, "incidents.read")
