"""Bad input is refused with a precise message and writes nothing: unknown incident, deadline in the past,
unknown action, answering one's own request, editing a received request, unknown party, reader roles."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from request_helpers import create_incident, snapshot, token

from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from support.inprocess import deliver


def _body(incident_id: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "to": "IR",
        "incident": {"origin": "PK", "id": incident_id},
        "kind": "information",
        "deadline": "7d",
        "text": "Who owns the vehicle?",
    }
    body.update(changes)
    return body


@pytest.fixture
def incident_id(pk: Node) -> str:
    return create_incident(pk)


BAD_REQUESTS: list[tuple[dict[str, Any], int, str]] = [
    ({"incident": {"origin": "PK", "id": "01900000-0000-7000-8000-000000000000"}}, 404, "no incident"),
    ({"incident": {"origin": "IR", "id": "01900000-0000-7000-8000-000000000000"}}, 404, "no incident"),
    ({"kind": "action", "action": "bombard"}, 422, "action 'bombard' is unknown"),
    ({"kind": "action"}, 422, "names the action"),
    ({"kind": "information", "action": "search"}, 422, "names no action"),
    ({"kind": "rumour"}, 422, "request kind 'rumour' is unknown"),
    ({"deadline": "set", "deadline_at": "2020-01-01T00:00:00+00:00"}, 422, "not in the future"),
    ({"deadline": "set"}, 422, "needs deadline_at"),
    ({"deadline": "tomorrow"}, 422, "deadline 'tomorrow' is unknown"),
    ({"to": "AF"}, 422, "not a configured peer"),
    ({"to": "PK"}, 422, "own party"),
    ({"text": "   "}, 422, "text must not be empty"),
]


def test_each_bad_request_is_refused_with_its_reason_and_nothing_is_written(
    pk: Node, ir: Node, pk_client: TestClient, pk_liaison: dict[str, str], incident_id: str
) -> None:
    before = snapshot(pk)
    for changes, status, needle in BAD_REQUESTS:  # one node pair for all cases keeps the suite fast
        answer = pk_client.post("/api/v1/requests", json=_body(incident_id, **changes), headers=pk_liaison)
        assert answer.status_code == status, (changes, answer.text)
        assert needle in answer.json()["error"]["message"], (changes, answer.text)
        assert snapshot(pk) == before, changes
    assert pk_client.post("/api/v1/requests", json=_body(incident_id), headers=pk_liaison).status_code == 201


def test_a_deadline_set_in_the_past_by_the_node_clock_is_refused(
    pk: Node, ir: Node, clock: FixedClock, pk_client: TestClient, pk_liaison: dict[str, str], incident_id: str
) -> None:
    before = snapshot(pk)
    just_past = (clock.now() - timedelta(seconds=1)).isoformat()
    answer = pk_client.post(
        "/api/v1/requests", json=_body(incident_id, deadline="set", deadline_at=just_past), headers=pk_liaison
    )
    assert answer.status_code == 422 and answer.json()["error"]["details"]["field"] == "deadline_at"
    assert snapshot(pk) == before


def test_a_reader_cannot_send_or_answer_requests(
    pk: Node, ir: Node, pk_client: TestClient, incident_id: str
) -> None:
    before = snapshot(pk)
    analyst = token(pk_client, "analyst")
    assert pk_client.post("/api/v1/requests", json=_body(incident_id), headers=analyst).status_code == 403
    assert pk_client.get("/api/v1/requests", headers=analyst).status_code == 200
    assert snapshot(pk) == before


def test_answering_ones_own_request_is_refused_and_writes_nothing(
    pk: Node, ir: Node, pk_client: TestClient, pk_liaison: dict[str, str], incident_id: str
) -> None:
    created = pk_client.post("/api/v1/requests", json=_body(incident_id), headers=pk_liaison).json()
    before = snapshot(pk)
    answer = pk_client.post(
        f"/api/v1/requests/PK/{created['id']}/answer",
        json={"answer": "We did it ourselves."},
        headers=pk_liaison,
    )
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "own_request"
    assert "only IR answers it" in answer.json()["error"]["message"]
    assert snapshot(pk) == before


def test_editing_or_withdrawing_a_received_request_is_refused_and_writes_nothing(
    pk: Node,
    ir: Node,
    pk_client: TestClient,
    ir_client: TestClient,
    pk_liaison: dict[str, str],
    incident_id: str,
) -> None:
    created = pk_client.post("/api/v1/requests", json=_body(incident_id), headers=pk_liaison).json()
    deliver(pk, ir)
    ir_token = token(ir_client, "liaison")
    before = snapshot(ir)
    edit = ir_client.put(
        f"/api/v1/requests/PK/{created['id']}", json={"text": "Changed by IR"}, headers=ir_token
    )
    assert edit.status_code == 403 and edit.json()["error"]["code"] == "not_originator"
    assert "received requests are never edited here" in edit.json()["error"]["message"]
    withdraw = ir_client.post(
        f"/api/v1/requests/PK/{created['id']}/withdraw", json={"reason": "no"}, headers=ir_token
    )
    assert withdraw.status_code == 403
    assert snapshot(ir) == before
    assert ir_client.get(f"/api/v1/requests/PK/{created['id']}", headers=ir_token).json()["text"] == (
        "Who owns the vehicle?"
    )


def test_a_request_about_a_received_incident_can_be_sent_back_to_its_originator(
    pk: Node, ir: Node, ir_client: TestClient
) -> None:
    incident_id = create_incident(pk, release_to=("IR",))
    deliver(pk, ir)
    ir_token = token(ir_client, "liaison")
    answer = ir_client.post(
        "/api/v1/requests",
        json={
            "to": "PK",
            "incident": {"origin": "PK", "id": incident_id},
            "kind": "information",
            "deadline": "14d",
            "text": "How many persons were in the vehicle?",
        },
        headers=ir_token,
    )
    assert answer.status_code == 201, answer.text
    listed = ir_client.get(f"/api/v1/requests?incident=PK/{incident_id}", headers=ir_token).json()
    assert [r["id"] for r in listed] == [answer.json()["id"]]
    assert ir_client.get("/api/v1/requests?incident=PK/other", headers=ir_token).json() == []
