"""QRF units through the API: own units, the status transitions, refusals that write nothing, and a shared
unit's readiness reaching the other side (without its strength) over the exchange's own code path."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sarhad.audit.models import AuditEntry
from sarhad.core.node import Node
from sarhad.exchange.models import OutboundEnvelope
from sarhad.live.models import LiveEvent
from sarhad.qrf.models import QrfStatusChange, QrfUnit
from support.inprocess import deliver
from support.pairs import bearer

UNIT: dict[str, Any] = {
    "call_sign": "Tiger-1",
    "unit_type": "mobile_infantry",
    "station": "pk-taftan-post",
    "strength": 42,
}


def create(client: TestClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/qrf/units", json={**UNIT, **changes}, headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def status(client: TestClient, headers: dict[str, str], unit_id: str, **body: Any) -> Any:
    return client.post(f"/api/v1/qrf/units/{unit_id}/status", json=body, headers=headers)


def keys_of(value: Any) -> set[str]:
    """Every key at any depth of a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def leaves_of(value: Any) -> list[Any]:
    """Every scalar at any depth of a JSON value."""
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in leaves_of(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in leaves_of(v)]
    return [value]


def counts(node: Node) -> tuple[int, ...]:
    with node.sessions() as session:
        return tuple(
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (QrfUnit, QrfStatusChange, AuditEntry, OutboundEnvelope, LiveEvent)
        )


def test_a_unit_is_stationed_at_an_own_post_and_moves_through_a_dispatch(
    client: TestClient, pk: Node
) -> None:
    commander = bearer(client, "commander")
    unit = create(client, commander)
    assert unit["station"]["post"] == "pk-taftan-post" and unit["station"]["section"]
    assert unit["station"]["lat"] is not None and unit["strength"] == 42 and unit["status"] == "available"
    assert unit["own"] and unit["origin"] == "PK" and not unit["stale"] and unit["shared_with"] == []
    for step in ("responding", "on_scene", "returning", "available"):
        answer = status(client, commander, unit["id"], status=step)
        assert answer.status_code == 200, answer.text
    standby = status(client, commander, unit["id"], status="standby", notice_minutes=30).json()
    assert standby["status"] == "standby" and standby["notice_minutes"] == 30 and standby["version"] == 6
    assert [(h["from_status"], h["status"]) for h in standby["history"]] == [
        (None, "available"),
        ("available", "responding"),
        ("responding", "on_scene"),
        ("on_scene", "returning"),
        ("returning", "available"),
        ("available", "standby"),
    ]
    with pk.sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("qrf_unit.%"))).all()
    assert actions.count("qrf_unit.status") == 5 and actions.count("qrf_unit.create") == 1


def test_illegal_transitions_and_bad_input_are_refused_and_write_nothing(
    client: TestClient, pk: Node
) -> None:
    commander = bearer(client, "commander")
    unit = create(client, commander, status="unavailable")
    before = counts(pk)
    refused = status(client, commander, unit["id"], status="responding")  # dispatching an unavailable unit
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "qrf_illegal_transition"
    assert "cannot be dispatched" in refused.json()["error"]["message"]
    status(client, commander, unit["id"], status="available")
    for step in ("responding", "on_scene", "returning"):
        status(client, commander, unit["id"], status=step)
    before = counts(pk)
    refused = status(
        client, commander, unit["id"], status="on_scene"
    )  # returning → on scene, no new dispatch
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "qrf_illegal_transition"
    refused = status(client, commander, unit["id"], status="returning", notice_minutes=5)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "qrf_notice_required"
    missing = status(client, commander, unit["id"], status="available")  # legal, for contrast below
    assert missing.status_code == 200
    before = counts(pk)
    refused = status(client, commander, unit["id"], status="standby")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "qrf_notice_required"
    bad_post = client.post("/api/v1/qrf/units", json={**UNIT, "station": "ir-rimdan-post"}, headers=commander)
    assert bad_post.status_code == 422 and bad_post.json()["error"]["code"] == "qrf_unknown_post"
    assert counts(pk) == before


def test_who_may_manage_share_and_read_units(client: TestClient, pk: Node, ir: Node) -> None:
    operator, analyst, trader = (bearer(client, name) for name in ("operator", "analyst", "trader"))
    unit = create(client, operator)  # a duty officer adds and dispatches units ...
    assert status(client, operator, unit["id"], status="responding").status_code == 200
    shared = client.post("/api/v1/qrf/units", json={**UNIT, "share_with": ["IR"]}, headers=operator)
    assert shared.status_code == 403  # ... but sharing a unit's readiness is a release
    assert client.get("/api/v1/qrf/units", headers=analyst).status_code == 200
    assert status(client, analyst, unit["id"], status="on_scene").status_code == 403
    assert client.get("/api/v1/qrf/units", headers=trader).status_code == 403


def test_a_shared_units_status_reaches_the_other_side_without_its_strength(
    client: TestClient, ir_client: TestClient, pk: Node, ir: Node
) -> None:
    commander, operator = bearer(client, "commander"), bearer(client, "operator")
    unit = create(client, commander, share_with=["IR"], strength=731)
    kept = create(client, commander, call_sign="Hidden-2")  # not shared: never leaves PK
    assert unit["shared_with"] == ["IR"]
    # the duty officer sets the shared unit's status: its readiness follows the release
    assert status(client, operator, unit["id"], status="standby", notice_minutes=15).status_code == 200
    assert status(client, operator, unit["id"], status="responding").status_code == 200
    deliver(pk, ir)

    with pk.sessions() as session:
        bodies = session.scalars(select(OutboundEnvelope.body)).all()
    assert len(bodies) == 3
    for body in bodies:
        record = json.loads(body)["record"]
        assert record["kind"] == "qrf.unit" and record["id"] == unit["id"]
        assert "strength" not in keys_of(record) and 731 not in leaves_of(record["content"])
        assert set(record["content"]) == {
            "call_sign", "unit_type", "station", "status", "notice_minutes", "status_since", "confirmed_at"
        }  # fmt: skip

    liaison = bearer(ir_client, "liaison")
    board = ir_client.get("/api/v1/qrf/units", headers=liaison).json()
    assert [(u["origin"], u["call_sign"]) for u in board] == [("PK", "Tiger-1")]
    seen = board[0]
    assert seen["status"] == "responding" and seen["strength"] is None and not seen["own"]
    assert seen["version"] == 3 and seen["received_at"] is not None and kept["id"] != seen["id"]
    detail = ir_client.get(f"/api/v1/qrf/units/PK/{unit['id']}", headers=liaison).json()
    assert detail["strength"] is None and 731 not in leaves_of(detail)
    assert [h["status"] for h in detail["history"]] == ["available", "standby", "responding"]
    with ir.sessions() as session:
        events = session.scalars(select(LiveEvent.data).where(LiveEvent.topic == "qrf.changed")).all()
    assert [e["status"] for e in events] == ["available", "standby", "responding"]

    # a received unit is the other side's: IR cannot change it
    ir_commander = bearer(ir_client, "commander")
    refused = status(ir_client, ir_commander, unit["id"], status="on_scene")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_originator"
