"""Bulletins across nodes: received copies, versions, withdrawal and onward release, over the real exchange code.

PK writes; its envelopes go through IR's ``receive_batch`` (signature, chain and handler), and IR's signed
receipt comes back to PK. AF is the third party of the trilateral cases.
"""

from __future__ import annotations

from typing import Any

import pytest
from bulletin_helpers import audit_actions, bulletin_row, deliver, envelope_record, outbox, pair
from fastapi.testclient import TestClient
from sqlalchemy import select

from sarhad.audit.models import AuditEntry
from sarhad.bulletins import services
from sarhad.bulletins.handlers import apply_bulletin
from sarhad.bulletins.models import BulletinVersion
from sarhad.bulletins.schemas import BulletinContentIn
from sarhad.core.errors import PermissionDenied
from sarhad.core.node import Node
from sarhad.exchange import release
from sarhad.exchange.models import InboundEnvelope
from sarhad.exchange.outbox import enqueue_record
from sarhad.exchange.registry import IncomingRecord

BULLETIN: dict[str, Any] = {
    "title": "Joint patrol postponed",
    "body": "The joint patrol near Mirjaveh is postponed by 24 hours because of a sandstorm.",
    "tlp": "amber",
    "place": {"name": "Mirjaveh", "lat": 29.0167, "lon": 61.45},
}


def create(client: TestClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/bulletins", json={**BULLETIN, **changes}, headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_a_released_bulletin_arrives_with_its_origin_and_receipt(
    client: TestClient,
    liaison: dict[str, str],
    pk: Node,
    ir: Node,
    ir_client: TestClient,
    ir_liaison: dict[str, str],
) -> None:
    created = create(client, liaison, release_to=["IR"])
    result = deliver(pk, ir)
    assert (result.applied, result.quarantined) == (1, 0)

    listed = ir_client.get("/api/v1/bulletins", headers=ir_liaison).json()
    assert [(b["origin"], b["id"], b["own"], b["version"]) for b in listed] == [
        ("PK", created["id"], False, 1)
    ]
    received = listed[0]
    assert received["received_at"] is not None and received["title"] == BULLETIN["title"]
    assert received["content_hash"] == created["content_hash"]
    assert received["tlp"] == "amber" and received["handling"] == "no_onward"
    assert received["created_by"] == "peer:PK"

    detail = ir_client.get(f"/api/v1/bulletins/PK/{created['id']}", headers=ir_liaison)
    assert detail.status_code == 200
    with ir.sessions() as session:
        reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "bulletin.read")).all()
    assert [(r.actor, r.record_id, r.details["origin"]) for r in reads] == [("liaison", created["id"], "PK")]

    states = client.get(f"/api/v1/bulletins/PK/{created['id']}", headers=liaison).json()["deliveries"]
    assert [(d["party"], d["state"]) for d in states] == [("IR", "receipted")]
    assert audit_actions(pk, "bulletin.read") == []  # reading one's own bulletin is not a sensitive read


def test_later_versions_follow_and_an_older_one_never_overwrites_a_newer(
    client: TestClient, liaison: dict[str, str], pk: Node, ir: Node
) -> None:
    created = create(client, liaison, release_to=["IR"])
    client.put(
        f"/api/v1/bulletins/{created['id']}",
        json={"title": "Patrol resumes", "body": "Tomorrow 06:00"},
        headers=liaison,
    )
    assert deliver(pk, ir).applied == 2
    row = bulletin_row(ir, "PK", created["id"])
    assert row is not None and (row.version, row.title, row.place_name) == (2, "Patrol resumes", None)

    # Version 1 arriving late (e.g. relayed by a third party) joins the history but does not win.
    first = envelope_record(outbox(pk, "PK>IR")[0])
    late = IncomingRecord(
        kind="bulletin",
        origin="PK",
        record_id=created["id"],
        version=1,
        op="upsert",
        handling=first["handling"],
        tlp=first["tlp"],
        content=first["content"],
        content_hash=first["content_hash"],
        link="AF>IR",
        seq=9,
        sent_at="2026-11-23T00:00:00+00:00",
    )
    with ir.transaction() as session:
        apply_bulletin(session, ir, late)
    row = bulletin_row(ir, "PK", created["id"])
    assert row is not None and (row.version, row.title) == (2, "Patrol resumes")
    with ir.sessions() as session:
        versions = session.scalars(select(BulletinVersion.version).order_by(BulletinVersion.version)).all()
    assert list(versions) == [1, 2]


def test_a_received_bulletin_is_never_editable(
    client: TestClient,
    liaison: dict[str, str],
    pk: Node,
    ir: Node,
    ir_client: TestClient,
    ir_liaison: dict[str, str],
) -> None:
    created = create(client, liaison, release_to=["IR"])
    deliver(pk, ir)

    answer = ir_client.put(
        f"/api/v1/bulletins/{created['id']}", json={"title": "mine now", "body": "x"}, headers=ir_liaison
    )
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "not_originator" and "received from PK" in error["message"]
    withdraw = ir_client.post(
        f"/api/v1/bulletins/{created['id']}/withdraw", json={"reason": "no"}, headers=ir_liaison
    )
    assert withdraw.status_code == 403 and withdraw.json()["error"]["code"] == "not_originator"
    page = ir_client.get(f"/bulletins/PK/{created['id']}/edit", headers=ir_liaison)
    assert page.status_code == 403
    with ir.transaction() as session, pytest.raises(PermissionDenied, match="never edited"):
        services.update_bulletin(
            session,
            ir,
            services.SystemActor("cli"),
            created["id"],
            BulletinContentIn(title="t", body="b"),
            origin="PK",
        )
    row = bulletin_row(ir, "PK", created["id"])
    assert row is not None and row.title == BULLETIN["title"] and row.version == 1
    assert outbox(ir) == []


def test_withdrawal_hides_the_bulletin_at_the_receiver(
    client: TestClient,
    liaison: dict[str, str],
    pk: Node,
    ir: Node,
    ir_client: TestClient,
    ir_liaison: dict[str, str],
) -> None:
    created = create(client, liaison, release_to=["IR"])
    deliver(pk, ir)
    assert len(ir_client.get("/api/v1/bulletins", headers=ir_liaison).json()) == 1

    client.post(
        f"/api/v1/bulletins/{created['id']}/withdraw", json={"reason": "patrol cancelled"}, headers=liaison
    )
    assert deliver(pk, ir).applied == 1

    assert ir_client.get("/api/v1/bulletins", headers=ir_liaison).json() == []
    assert ir_client.get("/api/v1/bulletins?include_withdrawn=true", headers=ir_liaison).json() == []
    gone = ir_client.get(f"/api/v1/bulletins/PK/{created['id']}", headers=ir_liaison)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "withdrawn"
    row = bulletin_row(ir, "PK", created["id"])
    assert row is not None and row.withdrawn_at is not None and row.withdraw_reason == "patrol cancelled"
    assert "bulletin.withdrawn_by_origin" in audit_actions(ir, "bulletin.")


def test_no_onward_release_is_refused_with_the_exchange_reason(
    client: TestClient,
    liaison: dict[str, str],
    pk: Node,
    ir: Node,
    af: Node,
    ir_client: TestClient,
    ir_liaison: dict[str, str],
) -> None:
    pair(ir, af)
    created = create(client, liaison, release_to=["IR"])  # handling defaults to no onward release
    deliver(pk, ir)

    answer = ir_client.post(
        f"/api/v1/bulletins/PK/{created['id']}/release", json={"to": ["AF"]}, headers=ir_liaison
    )
    assert answer.status_code == 403
    error = answer.json()["error"]
    assert error["code"] == "no_onward_release"
    assert "Ask PK" in error["message"]
    back = ir_client.post(
        f"/api/v1/bulletins/PK/{created['id']}/release", json={"to": ["PK"]}, headers=ir_liaison
    )
    assert back.status_code == 422
    assert outbox(ir) == []
    assert audit_actions(ir, "bulletin.release") == []


def test_onward_release_when_allowed_carries_later_versions_and_the_withdrawal(
    client: TestClient,
    liaison: dict[str, str],
    pk: Node,
    ir: Node,
    af: Node,
    ir_client: TestClient,
    ir_liaison: dict[str, str],
) -> None:
    pair(ir, af)
    created = create(client, liaison, release_to=["IR"], handling="onward_allowed")
    deliver(pk, ir)

    # The relayed copy keeps the originator's handling: the protocol quarantines a relayed record marked
    # no_onward at the third party, so narrowing it is refused up front rather than lost silently.
    narrowed = ir_client.post(
        f"/api/v1/bulletins/PK/{created['id']}/release",
        json={"to": ["AF"], "handling": "no_onward"},
        headers=ir_liaison,
    )
    assert narrowed.status_code == 422 and "handling" in narrowed.json()["error"]["message"]
    answer = ir_client.post(
        f"/api/v1/bulletins/PK/{created['id']}/release", json={"to": ["AF"]}, headers=ir_liaison
    )
    assert answer.status_code == 200, answer.text
    assert [(r["party"], r["handling"]) for r in answer.json()["releases"]] == [("AF", "onward_allowed")]
    record = envelope_record(outbox(ir, "IR>AF")[0])
    assert (record["origin"], record["content_hash"]) == ("PK", created["content_hash"])
    assert deliver(ir, af).applied == 1
    at_af = bulletin_row(af, "PK", created["id"])
    assert at_af is not None and at_af.version == 1 and at_af.content_hash == created["content_hash"]
    assert at_af.received_at is not None and at_af.handling == "onward_allowed"

    client.put(
        f"/api/v1/bulletins/{created['id']}",
        json={"title": "Patrol resumes", "body": "06:00"},
        headers=liaison,
    )
    deliver(pk, ir)
    assert [r.record_version for r in outbox(ir, "IR>AF")] == [1, 2]
    deliver(ir, af)
    at_af = bulletin_row(af, "PK", created["id"])
    assert at_af is not None and (at_af.version, at_af.title) == (2, "Patrol resumes")

    client.post(f"/api/v1/bulletins/{created['id']}/withdraw", json={"reason": "done"}, headers=liaison)
    deliver(pk, ir)
    deliver(ir, af)
    at_af = bulletin_row(af, "PK", created["id"])
    assert at_af is not None and at_af.withdrawn_at is not None


def test_a_peer_cannot_overwrite_our_own_bulletin(
    client: TestClient, liaison: dict[str, str], pk: Node, ir: Node
) -> None:
    """A record claiming PK as its origin, relayed by IR, is quarantined at PK and changes nothing."""
    created = create(client, liaison)
    forged_content = {**envelope_record_content(created), "title": "forged"}
    record = {
        "kind": "bulletin",
        "origin": "PK",
        "id": created["id"],
        "version": 7,
        "op": "upsert",
        "handling": "onward_allowed",
        "tlp": "clear",
        "content": forged_content,
        "content_hash": release.content_hash(forged_content),
    }
    with ir.transaction() as session:
        enqueue_record(session, ir, "PK", record)
    result = deliver(ir, pk)
    assert (result.applied, result.quarantined) == (0, 1)
    row = bulletin_row(pk, "PK", created["id"])
    assert row is not None and (row.title, row.version) == (BULLETIN["title"], 1)
    with pk.sessions() as session:
        inbound = session.scalars(select(InboundEnvelope)).one()
    assert inbound.status == "quarantined" and "this node" in inbound.reason


def envelope_record_content(created: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = created["versions"][0]["content"]
    return content


def test_a_peer_bulletin_reusing_our_id_cannot_touch_our_releases(
    client: TestClient, liaison: dict[str, str], pk: Node, ir: Node, af: Node
) -> None:
    """IR knows the id of PK's bulletin (it received it). Its own bulletin with that id, and a withdrawal of
    it, must not act on PK's releases (the exchange finds releases by kind and id only)."""
    created = create(client, liaison, release_to=["IR", "AF"])
    content = envelope_record_content(created)
    for op, body in (("upsert", content), ("withdraw", {"reason": "gone"})):
        record = {
            "kind": "bulletin",
            "origin": "IR",
            "id": created["id"],
            "version": 1,
            "op": op,
            "handling": "no_onward",
            "tlp": "amber",
            "content": body,
            "content_hash": release.content_hash(body),
        }
        with ir.transaction() as session:
            enqueue_record(session, ir, "PK", record)
    result = deliver(ir, pk)
    assert (result.applied, result.quarantined) == (0, 2)
    assert bulletin_row(pk, "IR", created["id"]) is None
    assert [r.op for r in outbox(pk)] == ["upsert", "upsert"]  # no tombstone went to IR or AF
    detail = client.get(f"/api/v1/bulletins/PK/{created['id']}", headers=liaison).json()
    assert {r["party"] for r in detail["releases"] if r["withdrawn_at"] is None} == {"AF", "IR"}
