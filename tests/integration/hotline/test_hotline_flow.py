"""A message's life across two in-process nodes: queued, delivered, seen, acknowledged with a signed record,
closed; escalation at the deadline; refusals that write nothing."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from hotline_helpers import deliver, message, snapshot, timeline_kinds, token

from sarhad.accounts.actors import SystemActor
from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from sarhad.exchange.models import ReceivedRecord
from sarhad.hotline import configuration
from sarhad.hotline.workers import run_due


def send_flash(client: TestClient, headers: dict[str, str], **extra: object) -> dict[str, object]:
    body = {
        "to_position": "IR-S1-CDR",
        "precedence": "FLASH",
        "subject": "Armed group crossing",
        "body": "At pillar 12.",
    }
    body.update(extra)
    answer = client.post("/api/v1/hotline/messages", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, object] = answer.json()
    return result


def test_flash_is_delivered_seen_acknowledged_and_pk_holds_the_signed_ack(
    pk: Node, ir: Node, pk_client: TestClient, ir_client: TestClient
) -> None:
    pk_cmd = token(pk_client, "commander")
    ir_cmd = token(ir_client, "commander")
    sent = send_flash(pk_client, pk_cmd)
    mid = str(sent["id"])
    assert sent["state"] == "queued" and sent["from_position"] == "PK-S1-CDR"

    deliver(pk, ir)
    assert message(pk, "PK", mid).state == "delivered"
    received = ir_client.get(f"/api/v1/hotline/messages/{mid}", headers=ir_cmd).json()
    assert received["state"] == "delivered" and received["direction"] == "in"
    assert received["ack_due_at"] is not None

    answer = ir_client.post(
        f"/api/v1/hotline/messages/{mid}/ack", json={"reply": "Patrol sent"}, headers=ir_cmd
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "acknowledged"
    deliver(ir, pk)

    detail = pk_client.get(f"/api/v1/hotline/messages/{mid}", headers=pk_cmd).json()
    assert detail["state"] == "acknowledged"
    assert detail["acknowledged_by"] == "commander" and detail["ack_reply"] == "Patrol sent"
    assert detail["signed_ack"]["link"] == "IR>PK"
    kinds = [event["kind"] for event in detail["timeline"]]
    assert kinds[:2] == ["queued", "delivered"] and "seen" in kinds and kinds[-1] == "acknowledged"
    sent_hash = message(pk, "PK", mid).content_hash
    with pk.sessions() as session:
        ack = session.get(ReceivedRecord, ("IR", "hotline.ack", f"{mid}.ack"))
        assert ack is not None and ack.content["message_content_hash"] == sent_hash

    # a second acknowledgement is refused clearly and writes nothing
    before = snapshot(ir)
    again = ir_client.post(f"/api/v1/hotline/messages/{mid}/ack", json={}, headers=ir_cmd)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_acknowledged"
    assert snapshot(ir) == before

    closed = pk_client.post(f"/api/v1/hotline/messages/{mid}/close", headers=pk_cmd)
    assert closed.status_code == 200, closed.text
    deliver(pk, ir)
    assert message(ir, "PK", mid).state == "closed"


def test_unacknowledged_flash_escalates_to_the_parent_and_the_sender_sees_it(
    pk: Node, ir: Node, pk_client: TestClient
) -> None:
    with ir.transaction() as session:
        configuration.set_deadlines(session, ir, SystemActor(), {"FLASH": 1})
    sent = send_flash(pk_client, token(pk_client, "commander"))
    mid = str(sent["id"])
    clock = FixedClock(ir.clock.now())  # IR's time moves only when the test says (the repeat is 1 s later)
    ir.clock = clock
    deliver(pk, ir)
    received = message(ir, "PK", mid)
    assert received.next_escalation_at is not None
    assert received.next_escalation_at - received.delivered_at == timedelta(seconds=1)  # type: ignore[operator]

    taken, _ = run_due(ir)
    assert taken == 0  # not due yet
    clock.advance(timedelta(seconds=1.2))
    taken, _ = run_due(ir)
    assert taken == 1
    escalated = message(ir, "PK", mid)
    assert escalated.escalated_positions == ["IR-MOI"] and escalated.escalations == 1
    assert run_due(ir)[0] == 0  # the same step is never taken twice

    deliver(ir, pk)
    assert "escalated" in timeline_kinds(pk, "PK", mid)
    assert message(pk, "PK", mid).escalations == 1


def test_refusals_write_nothing(pk: Node, ir: Node, pk_client: TestClient) -> None:
    headers = token(pk_client, "commander")
    before = snapshot(pk)
    cases = [
        ({"to_position": "IR-NOWHERE-CDR"}, 404, "unknown_position"),
        ({"body": "x" * 4001}, 422, "invalid"),
        ({"subject": "  "}, 422, "invalid"),
        ({"lat": 27.1}, 422, "invalid"),
        ({"to_position": "IR-MOI"}, 403, "not_holder"),  # the commander does not hold PK-MOI
    ]
    for extra, status, code in cases:
        body = {"to_position": "IR-S1-CDR", "precedence": "FLASH", "subject": "s", "body": "b", **extra}
        answer = pk_client.post("/api/v1/hotline/messages", json=body, headers=headers)
        assert answer.status_code == status, (extra, answer.text)
        assert answer.json()["error"]["code"] == code, (extra, answer.text)
    operator = token(pk_client, "operator")
    answer = pk_client.post(
        "/api/v1/hotline/messages",
        json={"to_position": "IR-S1-CDR", "precedence": "ROUTINE", "subject": "s", "body": "b"},
        headers=operator,
    )
    assert answer.status_code == 403
    # an ack for a message never delivered here, and for our own message
    assert (
        pk_client.post("/api/v1/hotline/messages/0190-none/ack", json={}, headers=headers).status_code == 404
    )
    assert snapshot(pk) == before
    mid = send_flash(pk_client, headers)["id"]
    before = snapshot(pk)
    own = pk_client.post(f"/api/v1/hotline/messages/{mid}/ack", json={}, headers=headers)
    assert own.status_code == 422 and own.json()["error"]["code"] == "own_message"
    assert snapshot(pk) == before
