"""Requests between two nodes: IR asks PK to act on an incident; overdue on both sides; a late answer's reason.

The exchange is the real one (signed envelopes, receipts) delivered in-process; both nodes share one clock
that the test moves, so "after the 8-hour deadline" is exact on both sides.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from request_helpers import create_incident, snapshot, token

from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from support.inprocess import deliver


def _ask_pk_to_interdict(pk: Node, ir: Node, ir_client: TestClient, ir_liaison: dict[str, str]) -> dict:  # type: ignore[type-arg]
    incident_id = create_incident(pk, release_to=("IR",))
    deliver(pk, ir)
    answer = ir_client.post(
        "/api/v1/requests",
        json={
            "to": "PK",
            "incident": {"origin": "PK", "id": incident_id},
            "kind": "action",
            "action": "interdict",
            "deadline": "urgent",
            "text": "Interdict the vehicle reported in this incident on your side of Taftan.",
        },
        headers=ir_liaison,
    )
    assert answer.status_code == 201, answer.text
    created: dict = answer.json()  # type: ignore[type-arg]
    deliver(ir, pk)
    return created


def test_request_for_action_is_overdue_on_both_sides_after_its_8_hour_deadline_and_the_late_answer_carries_its_reason(
    pk: Node,
    ir: Node,
    clock: FixedClock,
    pk_client: TestClient,
    ir_client: TestClient,
    ir_liaison: dict[str, str],
) -> None:
    created = _ask_pk_to_interdict(pk, ir, ir_client, ir_liaison)
    rid = created["id"]
    assert created["origin"] == "IR" and created["direction"] == "outgoing"
    assert created["deadline"] == (clock.now() + timedelta(hours=8)).isoformat().replace("+00:00", "Z")
    pk_token = token(pk_client, "liaison")
    seen = pk_client.get(f"/api/v1/requests/IR/{rid}", headers=pk_token).json()
    assert seen["direction"] == "incoming" and seen["action"] == "interdict" and seen["overdue"] is False
    assert seen["deadline"] == created["deadline"]

    clock.advance(timedelta(hours=7, minutes=59))
    pk_token, ir_token = token(pk_client, "liaison"), token(ir_client, "liaison")
    assert pk_client.get("/api/v1/requests?overdue=true", headers=pk_token).json() == []
    assert ir_client.get("/api/v1/requests?overdue=true", headers=ir_token).json() == []

    clock.advance(timedelta(minutes=2))  # 8 h 1 min after the request: past its deadline on both sides
    pk_overdue = pk_client.get("/api/v1/requests?overdue=true", headers=pk_token).json()
    ir_overdue = ir_client.get("/api/v1/requests?overdue=true", headers=ir_token).json()
    assert [(r["origin"], r["id"], r["overdue"]) for r in pk_overdue] == [("IR", rid, True)]
    assert [(r["origin"], r["id"], r["overdue"]) for r in ir_overdue] == [("IR", rid, True)]

    before = snapshot(pk)
    refused = pk_client.post(
        f"/api/v1/requests/IR/{rid}/answer", json={"answer": "Vehicle stopped at Taftan."}, headers=pk_token
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "late_reason"
    assert "deadline passed" in refused.json()["error"]["message"]
    assert snapshot(pk) == before  # nothing written: no answer, no event, no envelope, no audit entry

    answered = pk_client.post(
        f"/api/v1/requests/IR/{rid}/answer",
        json={
            "answer": "Vehicle stopped at Taftan; two persons detained.",
            "late_reason": "The patrol was deployed to a fire at the fence until morning.",
        },
        headers=pk_token,
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["status"] == "answered" and answered.json()["late"] is True
    assert answered.json()["overdue"] is False

    deliver(pk, ir)
    at_ir = ir_client.get(f"/api/v1/requests/IR/{rid}", headers=ir_token).json()
    assert at_ir["status"] == "answered" and at_ir["late"] is True and at_ir["overdue"] is False
    assert at_ir["answer"] == "Vehicle stopped at Taftan; two persons detained."
    assert at_ir["late_reason"] == "The patrol was deployed to a fire at the fence until morning."
    assert at_ir["answered_by"] == "PK:liaison"
    assert [e["event"] for e in at_ir["timeline"]] == ["created", "answer_received"]
    assert ir_client.get("/api/v1/requests?overdue=true", headers=ir_token).json() == []


def test_an_answer_before_the_deadline_needs_no_reason_and_is_on_time_on_both_sides(
    pk: Node, ir: Node, pk_client: TestClient, ir_client: TestClient, ir_liaison: dict[str, str]
) -> None:
    rid = _ask_pk_to_interdict(pk, ir, ir_client, ir_liaison)["id"]
    pk_token = token(pk_client, "liaison")
    answered = pk_client.post(f"/api/v1/requests/IR/{rid}/answer", json={"answer": "Done."}, headers=pk_token)
    assert answered.status_code == 200 and answered.json()["late"] is False
    deliver(pk, ir)
    at_ir = ir_client.get(f"/api/v1/requests/IR/{rid}", headers=ir_liaison).json()
    assert (at_ir["status"], at_ir["late"], at_ir["late_reason"]) == ("answered", False, "")


def test_a_withdrawn_request_is_no_longer_open_at_the_addressed_party_and_cannot_be_answered(
    pk: Node, ir: Node, pk_client: TestClient, ir_client: TestClient, ir_liaison: dict[str, str]
) -> None:
    rid = _ask_pk_to_interdict(pk, ir, ir_client, ir_liaison)["id"]
    withdrawn = ir_client.post(
        f"/api/v1/requests/IR/{rid}/withdraw",
        json={"reason": "Vehicle found on our side."},
        headers=ir_liaison,
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    deliver(ir, pk)
    pk_token = token(pk_client, "liaison")
    at_pk = pk_client.get(f"/api/v1/requests/IR/{rid}", headers=pk_token).json()
    assert at_pk["status"] == "withdrawn" and at_pk["withdraw_reason"] == "Vehicle found on our side."
    refused = pk_client.post(f"/api/v1/requests/IR/{rid}/answer", json={"answer": "x"}, headers=pk_token)
    assert refused.status_code == 409


def test_an_edit_of_an_open_request_reaches_the_addressed_party_as_a_new_version(
    pk: Node, ir: Node, pk_client: TestClient, ir_client: TestClient, ir_liaison: dict[str, str]
) -> None:
    rid = _ask_pk_to_interdict(pk, ir, ir_client, ir_liaison)["id"]
    edited = ir_client.put(
        f"/api/v1/requests/IR/{rid}",
        json={"text": "Interdict and search the vehicle.", "deadline": "7d", "version": 1},
        headers=ir_liaison,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    deliver(ir, pk)
    at_pk = pk_client.get(f"/api/v1/requests/IR/{rid}", headers=token(pk_client, "liaison")).json()
    assert (at_pk["version"], at_pk["text"], at_pk["deadline_choice"]) == (
        2,
        "Interdict and search the vehicle.",
        "7d",
    )
    assert at_pk["deadline"] == edited.json()["deadline"]


def test_a_late_answer_without_a_reason_from_a_misbehaving_peer_is_quarantined_and_the_request_stays_overdue(
    pk: Node, ir: Node, clock: FixedClock, ir_client: TestClient, ir_liaison: dict[str, str]
) -> None:
    from sarhad.accounts.actors import SystemActor
    from sarhad.exchange.release import release_record

    rid = _ask_pk_to_interdict(pk, ir, ir_client, ir_liaison)["id"]
    clock.advance(timedelta(hours=9))
    # PK's node bypasses its own rules (as a faulty or hostile implementation might) and sends a late answer
    # with no reason; IR checks the same rule on receipt.
    with pk.transaction() as session:
        release_record(
            session,
            pk,
            kind="request.answer",
            record_id=f"IR:{rid}",
            version=1,
            to=["IR"],
            actor=SystemActor("rogue"),
            content={
                "request": {"origin": "IR", "id": rid},
                "answer": "Done.",
                "late_reason": "",
                "answered_at": clock.now().isoformat(),
                "answered_by": "rogue",
            },
        )
    result = deliver(pk, ir)
    assert result.quarantined == 1
    at_ir = ir_client.get(f"/api/v1/requests/IR/{rid}", headers=token(ir_client, "liaison")).json()
    assert (at_ir["status"], at_ir["overdue"], at_ir["answer"]) == ("open", True, "")
