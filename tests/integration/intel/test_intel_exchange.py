"""Intelligence reports across the border: PK writes, a second person approves, IR receives the part below the
tearline and the grading, and nothing above the tearline ever reaches IR.

PK and IR are two nodes made by ``sarhad init`` (support.pairs), paired; PK's envelopes go through IR's real
receiving pipeline (signatures, chain, handler) and IR's signed receipt comes back (support.inprocess).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from intel_helpers import BODY_SECRET, NOTE_SECRET, RELEASABLE, SUMMARY_SECRET, actions, create
from sqlalchemy import select

from sarhad.audit.models import AuditEntry
from sarhad.core.node import Node
from sarhad.exchange.models import InboundEnvelope, OutboundEnvelope, ReceivedRecord
from support.inprocess import deliver
from support.pairs import bearer

SECRETS = (BODY_SECRET, NOTE_SECRET, SUMMARY_SECRET, "HAWK-7")


def ledger_export(node: Node, peer: str, out: Path) -> bytes:
    """``sarhad ledger export`` of the node's link with ``peer``, run as an operator would (its own process)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SARHAD_")}
    command = ["ledger", "export", "--peer", peer, str(out), "-d", str(node.settings.data_dir)]
    done = subprocess.run(
        [str(Path(sys.executable).with_name("sarhad")), *command],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out.read_bytes()


def assert_no_secret(where: str, data: bytes) -> None:
    for secret in SECRETS:
        for encoded in (secret.encode(), json.dumps(secret).encode(), secret.encode("utf-16-le")):
            assert encoded not in data, f"{secret!r} found in {where}"


def test_an_approved_report_reaches_ir_with_its_grading_and_releasable_text_only(
    pk: Node,
    ir: Node,
    client: TestClient,
    ir_client: TestClient,
    analyst: dict[str, str],
    commander: dict[str, str],
    tmp_path: Path,
) -> None:
    created = create(client, analyst)
    assert created["status"] == "draft" and created["body"].startswith(BODY_SECRET)
    assert created["source_note"] == NOTE_SECRET and created["release_to"] == ["IR"]
    assert deliver(pk, ir).applied == 0  # a draft goes nowhere

    approved = client.post(f"/api/v1/intel/reports/{created['id']}/approve", headers=commander)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "released" and approved.json()["approved_by"] == "commander"
    assert [r["party"] for r in approved.json()["releases"]] == ["IR"]
    result = deliver(pk, ir)
    assert (result.applied, result.quarantined) == (1, 0)

    ir_liaison = bearer(ir_client, "liaison")
    listed = ir_client.get("/api/v1/intel/reports", headers=ir_liaison)
    assert [(r["origin"], r["id"], r["own"]) for r in listed.json()] == [("PK", created["id"], False)]
    received = ir_client.get(f"/api/v1/intel/reports/{created['id']}", headers=ir_liaison)
    assert received.status_code == 200, received.text
    got = received.json()
    assert got["grading"] == {
        "reliability": "B",
        "credibility": "2",
        "code": "B2",
        "words": "B2: usually reliable, probably true",
    }
    assert got["releasable"] == RELEASABLE and got["report_type"] == "threat_warning"
    assert (got["body"], got["summary"], got["source_note"]) == ("", "", "")
    assert got["tlp"] == "amber" and got["created_by"] == "peer:PK" and got["status"] == "released"
    assert got["content_hash"] == created["content_hash"]

    # Nothing above the tearline anywhere: envelopes on both sides, IR's copies, its API and the ledgers.
    with pk.sessions() as session:
        for body in session.scalars(select(OutboundEnvelope.body)):
            assert_no_secret("an envelope PK sent", body.encode())
    with ir.sessions() as session:
        for body in session.scalars(select(InboundEnvelope.body)):
            assert_no_secret("an envelope IR received", body.encode())
        for content in session.scalars(select(ReceivedRecord.content)):
            assert_no_secret("IR's generic copy", json.dumps(content).encode())
    answers: list[tuple[str, bytes]] = [
        (path, ir_client.get(path, headers=ir_liaison).content)
        for path in (
            "/api/v1/intel/reports",
            "/api/v1/intel/reports?format=csv",
            f"/api/v1/intel/reports/{created['id']}",
            f"/api/v1/intel/reports/{created['id']}?origin=PK",
            f"/api/v1/intel/reports/{created['id']}/stix",
            "/api/v1/exchange/received",
        )
    ]
    for path, data in answers:
        assert_no_secret(f"IR's answer to {path}", data)
    assert RELEASABLE.encode() in answers[2][1]  # the check above would see the text if it were there
    assert_no_secret("IR's ledger export", ledger_export(ir, "PK", tmp_path / "ir.ledger"))
    assert_no_secret("PK's ledger export", ledger_export(pk, "IR", tmp_path / "pk.ledger"))
    for path in sorted(ir.settings.data_dir.glob("sarhad.db*")):  # IR's whole database, WAL included
        assert_no_secret(str(path), path.read_bytes())


def test_every_read_of_a_report_is_audited_on_both_sides(
    pk: Node,
    ir: Node,
    client: TestClient,
    ir_client: TestClient,
    analyst: dict[str, str],
    commander: dict[str, str],
) -> None:
    created = create(client, analyst)
    client.post(f"/api/v1/intel/reports/{created['id']}/approve", headers=commander)
    deliver(pk, ir)
    client.get(f"/api/v1/intel/reports/{created['id']}", headers=analyst)  # an own report, read here
    ir_client.get(f"/api/v1/intel/reports/{created['id']}", headers=bearer(ir_client, "analyst"))
    for node, reader in ((pk, "analyst"), (ir, "analyst")):
        with node.sessions() as session:
            reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "intel_report.read")).all()
        assert [(r.actor, r.record_id, r.details["origin"]) for r in reads] == [(reader, created["id"], "PK")]
    assert actions(pk, "intel_report.") == [
        "intel_report.create",
        "intel_report.approve",
        "intel_report.release",
        "intel_report.read",
    ]


def test_a_withdrawn_report_is_purged_on_ir(
    pk: Node,
    ir: Node,
    client: TestClient,
    ir_client: TestClient,
    analyst: dict[str, str],
    commander: dict[str, str],
) -> None:
    created = create(client, analyst)
    client.post(f"/api/v1/intel/reports/{created['id']}/approve", headers=commander)
    deliver(pk, ir)
    withdrawn = client.post(
        f"/api/v1/intel/reports/{created['id']}/withdraw", json={"reason": "source burnt"}, headers=commander
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert deliver(pk, ir).applied == 1
    ir_liaison = bearer(ir_client, "liaison")
    assert ir_client.get("/api/v1/intel/reports", headers=ir_liaison).json() == []
    gone = ir_client.get(f"/api/v1/intel/reports/{created['id']}", headers=ir_liaison)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "withdrawn"
    assert actions(ir, "intel_report.withdrawn_by_origin") == ["intel_report.withdrawn_by_origin"]


def test_a_received_report_is_never_approved_or_edited_here(
    pk: Node,
    ir: Node,
    client: TestClient,
    ir_client: TestClient,
    analyst: dict[str, str],
    commander: dict[str, str],
) -> None:
    created = create(client, analyst)
    client.post(f"/api/v1/intel/reports/{created['id']}/approve", headers=commander)
    deliver(pk, ir)
    from sarhad.accounts import services as accounts
    from sarhad.accounts.actors import SystemActor

    with ir.transaction() as session:
        accounts.create_user(
            session,
            ir.clock,
            SystemActor(),
            username="boss",
            password="correct horse battery",
            roles=["commander"],
        )
    answer: Any = ir_client.post(
        f"/api/v1/intel/reports/{created['id']}/approve", headers=bearer(ir_client, "boss")
    )
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "not_originator"
