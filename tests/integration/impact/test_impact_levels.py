"""Impact levels are joint records: PK proposes, IR's level stays until IR accepts, then both show the level."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from impact_helpers import joint_rows, level_of

from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from support.inprocess import deliver


def _propose(client: TestClient, headers: dict[str, str], **body: object) -> dict:  # type: ignore[type-arg]
    answer = client.post("/api/v1/impact/proposals", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict = answer.json()  # type: ignore[type-arg]
    return result


def test_pk_proposes_high_and_ir_keeps_its_level_until_ir_accepts_then_both_show_high(
    pk: Node,
    ir: Node,
    pk_client: TestClient,
    ir_client: TestClient,
    pk_commander: dict[str, str],
    ir_commander: dict[str, str],
) -> None:
    assert level_of(pk_client, pk_commander, "S5")["level"] == "low"
    assert level_of(ir_client, ir_commander, "S5")["level"] == "low"

    proposed = _propose(
        pk_client, pk_commander, section="S5", level="high", reason="Three attacks this month."
    )
    assert proposed["level"] == "low"  # a proposal changes nothing by itself
    assert proposed["pending"]["level"] == "high"
    assert proposed["pending"]["positions"] == {"IR": "pending", "PK": "accept"}
    deliver(pk, ir)

    at_ir = level_of(ir_client, ir_commander, "S5")
    assert at_ir["level"] == "low" and at_ir["agreed_at"] is None  # unchanged until IR accepts
    assert at_ir["pending"]["level"] == "high" and at_ir["pending"]["proposer"] == "PK"
    assert level_of(pk_client, pk_commander, "S5")["level"] == "low"

    accepted = ir_client.post(
        "/api/v1/impact/decisions",
        json={"section": "S5", "content_hash": at_ir["pending"]["content_hash"], "decision": "accept"},
        headers=ir_commander,
    )
    assert accepted.status_code == 200, accepted.text
    assert level_of(ir_client, ir_commander, "S5")["level"] == "high"
    assert level_of(pk_client, pk_commander, "S5")["level"] == "low"  # PK has not heard yet
    deliver(ir, pk)
    at_pk, at_ir = level_of(pk_client, pk_commander, "S5"), level_of(ir_client, ir_commander, "S5")
    assert at_pk["level"] == at_ir["level"] == "high"
    assert at_pk["pending"] is None and at_ir["pending"] is None
    assert at_pk["agreed_at"] is not None
    assert level_of(pk_client, pk_commander, "S4")["level"] == "low"  # other sections untouched

    history = pk_client.get("/api/v1/impact/sections/S5", headers=pk_commander).json()
    assert [(i["act"], i["party"], i["level"]) for i in history["items"]] == [
        ("propose", "PK", "high"),
        ("accept", "IR", "high"),
    ]


def test_a_rejected_proposal_leaves_the_agreed_level_on_both_sides(
    pk: Node,
    ir: Node,
    pk_client: TestClient,
    ir_client: TestClient,
    pk_commander: dict[str, str],
    ir_commander: dict[str, str],
) -> None:
    _propose(pk_client, pk_commander, section="S2", level="medium")
    deliver(pk, ir)
    pending = level_of(ir_client, ir_commander, "S2")["pending"]
    refused = ir_client.post(
        "/api/v1/impact/decisions",
        headers=ir_commander,
        json={"section": "S2", "content_hash": pending["content_hash"], "decision": "reject"},
    )
    assert refused.status_code == 422  # a rejection needs a reason
    rejected = ir_client.post(
        "/api/v1/impact/decisions",
        headers=ir_commander,
        json={
            "section": "S2",
            "content_hash": pending["content_hash"],
            "decision": "reject",
            "reason": "No incidents reported on our side.",
        },
    )
    assert rejected.status_code == 200, rejected.text
    deliver(ir, pk)
    for client, headers in ((pk_client, pk_commander), (ir_client, ir_commander)):
        view = level_of(client, headers, "S2")
        assert view["level"] == "low" and view["pending"] is None


def test_a_counter_proposal_is_agreed_when_the_first_proposer_accepts_it(
    pk: Node,
    ir: Node,
    pk_client: TestClient,
    ir_client: TestClient,
    pk_commander: dict[str, str],
    ir_commander: dict[str, str],
) -> None:
    _propose(pk_client, pk_commander, section="S3", level="high")
    deliver(pk, ir)
    counter = _propose(ir_client, ir_commander, section="S3", level="medium", reason="Medium is enough.")
    assert counter["pending"]["level"] == "medium" and counter["pending"]["proposer"] == "IR"
    deliver(ir, pk)
    pending = level_of(pk_client, pk_commander, "S3")["pending"]
    assert pending["level"] == "medium"
    accepted = pk_client.post(
        "/api/v1/impact/decisions",
        headers=pk_commander,
        json={"section": "S3", "content_hash": pending["content_hash"], "decision": "accept"},
    )
    assert accepted.status_code == 200, accepted.text
    deliver(pk, ir)
    assert level_of(pk_client, pk_commander, "S3")["level"] == "medium"
    assert level_of(ir_client, ir_commander, "S3")["level"] == "medium"


def test_an_agreed_critical_level_reverts_on_both_sides_when_it_expires(
    pk: Node,
    ir: Node,
    clock: FixedClock,
    pk_client: TestClient,
    ir_client: TestClient,
    pk_commander: dict[str, str],
    ir_commander: dict[str, str],
) -> None:
    # First agree on medium, then on critical for 24 hours.
    for level, extra in (
        ("medium", {}),
        (
            "critical",
            {
                "expires_at": (clock.now() + timedelta(hours=24)).isoformat(),
                "reason": "Armed attack on a post.",
            },
        ),
    ):
        _propose(pk_client, pk_commander, section="S5", level=level, **extra)
        deliver(pk, ir)
        pending = level_of(ir_client, ir_commander, "S5")["pending"]
        ir_client.post(
            "/api/v1/impact/decisions",
            headers=ir_commander,
            json={"section": "S5", "content_hash": pending["content_hash"], "decision": "accept"},
        )
        deliver(ir, pk)
    for client, headers in ((pk_client, pk_commander), (ir_client, ir_commander)):
        view = level_of(client, headers, "S5")
        assert view["level"] == "critical" and view["expires_at"] is not None
    clock.advance(timedelta(hours=24, seconds=1))
    from impact_helpers import PASSWORD

    for client in (pk_client, ir_client):
        token = client.post("/api/v1/auth/token", data={"username": "commander", "password": PASSWORD}).json()
        view = level_of(client, {"Authorization": f"Bearer {token['access_token']}"}, "S5")
        assert view["level"] == "medium" and view["reverted_from_critical"] is True


def test_bad_proposals_are_refused_and_write_nothing(
    pk: Node,
    ir: Node,
    clock: FixedClock,
    pk_client: TestClient,
    pk_commander: dict[str, str],
    pk_analyst: dict[str, str],
) -> None:
    before = joint_rows(pk)
    cases = [
        ({"section": "S9", "level": "high"}, 404, "unknown_section"),
        ({"section": "S5", "level": "extreme"}, 422, "invalid"),
        ({"section": "S5", "level": "critical", "reason": "attack"}, 422, "invalid"),  # no expiry
        (
            {
                "section": "S5",
                "level": "critical",
                "reason": "attack",
                "expires_at": (clock.now() + timedelta(hours=73)).isoformat(),
            },
            422,
            "invalid",
        ),  # beyond 72 h
        (
            {"section": "S5", "level": "high", "expires_at": (clock.now() + timedelta(hours=3)).isoformat()},
            422,
            "invalid",
        ),
        ({"section": "S5", "level": "low"}, 409, "unchanged"),
    ]
    for body, status, code in cases:
        answer = pk_client.post("/api/v1/impact/proposals", json=body, headers=pk_commander)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]["code"] == code, (body, answer.text)
    analyst = pk_client.post(
        "/api/v1/impact/proposals", json={"section": "S5", "level": "high"}, headers=pk_analyst
    )
    assert analyst.status_code == 403
    assert pk_client.get("/api/v1/impact/levels", headers=pk_analyst).status_code == 200
    assert joint_rows(pk) == before


def test_a_party_cannot_accept_its_own_proposal(
    pk: Node, ir: Node, pk_client: TestClient, pk_commander: dict[str, str]
) -> None:
    proposed = _propose(pk_client, pk_commander, section="S1", level="medium")
    before = joint_rows(pk)
    answer = pk_client.post(
        "/api/v1/impact/decisions",
        headers=pk_commander,
        json={"section": "S1", "content_hash": proposed["pending"]["content_hash"], "decision": "accept"},
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "already_accepted"
    assert joint_rows(pk) == before


def test_a_counter_proposal_supersedes_the_first_and_once_rejected_nothing_is_pending(
    pk: Node,
    ir: Node,
    pk_client: TestClient,
    ir_client: TestClient,
    pk_commander: dict[str, str],
    ir_commander: dict[str, str],
) -> None:
    first = _propose(pk_client, pk_commander, section="S6", level="high")["pending"]
    deliver(pk, ir)
    counter = _propose(ir_client, ir_commander, section="S6", level="medium")["pending"]
    deliver(ir, pk)
    stale = ir_client.post(
        "/api/v1/impact/decisions",
        headers=ir_commander,
        json={"section": "S6", "content_hash": first["content_hash"], "decision": "accept"},
    )
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "not_pending"
    rejected = pk_client.post(
        "/api/v1/impact/decisions",
        headers=pk_commander,
        json={
            "section": "S6",
            "content_hash": counter["content_hash"],
            "decision": "reject",
            "reason": "We see high activity.",
        },
    )
    assert rejected.status_code == 200 and rejected.json()["pending"] is None
    deliver(pk, ir)
    view = level_of(ir_client, ir_commander, "S6")
    assert view["level"] == "low" and view["pending"] is None
