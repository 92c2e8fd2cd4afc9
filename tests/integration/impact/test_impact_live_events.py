"""The situation map recolours sections live: a proposal and a decision on a section's impact level, own or
received, each publish ``impact.changed`` to every reader of the border (ids only)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from sarhad.core.node import Node
from sarhad.live.models import LiveEvent
from support.inprocess import deliver


def _announced(node: Node) -> list[str | None]:
    with node.sessions() as session:
        rows = session.scalars(select(LiveEvent).where(LiveEvent.topic == "impact.changed")).all()
        return [row.permission for row in rows]


def test_proposals_and_decisions_are_announced_on_both_nodes(
    pk: Node,
    ir: Node,
    pk_client: TestClient,
    ir_client: TestClient,
    pk_commander: dict[str, str],
    ir_commander: dict[str, str],
) -> None:
    assert _announced(pk) == [] and _announced(ir) == []
    proposed = pk_client.post(
        "/api/v1/impact/proposals",
        json={"section": "S5", "level": "high", "reason": "x"},
        headers=pk_commander,
    )
    assert proposed.status_code == 201, proposed.text
    assert _announced(pk) == ["border.read"]
    deliver(pk, ir)
    assert _announced(ir) == ["border.read"]  # the received proposal
    levels = ir_client.get("/api/v1/impact/levels", headers=ir_commander).json()
    content_hash = next(s for s in levels["sections"] if s["section"] == "S5")["pending"]["content_hash"]
    accepted = ir_client.post(
        "/api/v1/impact/decisions",
        json={"section": "S5", "content_hash": content_hash, "decision": "accept"},
        headers=ir_commander,
    )
    assert accepted.status_code == 200, accepted.text
    assert len(_announced(ir)) == 2
    deliver(ir, pk)
    assert len(_announced(pk)) == 2  # the received acceptance: the level is agreed here too
