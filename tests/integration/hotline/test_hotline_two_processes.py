"""Two real node processes over loopback HTTP (what issue 4 says the hotline must show):

a PK commander's FLASH reaches the IR holder's live stream within a second; PK sees it delivered, then
acknowledged with IR's signed acknowledgement, which the exported ledger verifies; an unacknowledged FLASH
escalates at its deadline to the next position up and PK sees it; a restart during the escalation wait resumes
it; with the link down messages queue, then deliver (FLASH in its own lane), and escalation clocks start at delivery.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hotline_helpers import seed_channels, seed_node
from live_helpers import SseClient

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.identity import identity
from sarhad.exchange.peers import add_peer
from sarhad.hotline import configuration
from support.processes import NodeProcess, free_port, get_token

PASSWORD = "correct horse battery"
FLASH_DEADLINE = 4


def run_cli(*args: str) -> str:
    """``sarhad …`` as its own process, as an operator or auditor runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "sarhad", *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _prepare(make_node_dir: Callable[..., Path]) -> tuple[Path, Path]:
    ports = {"PK": free_port(), "IR": free_port()}
    dirs = {
        party: make_node_dir(party, name, port=ports[party])
        for party, name in (("PK", "Pakistan"), ("IR", "Iran"))
    }
    nodes = {party: build_node(load_settings(d)) for party, d in dirs.items()}
    try:
        for party, node in nodes.items():
            seed_node(node, "IR" if party == "PK" else "PK")
        for party, node in nodes.items():
            other = "IR" if party == "PK" else "PK"
            with node.transaction() as session:
                add_peer(
                    session,
                    node,
                    party=other,
                    url=f"http://127.0.0.1:{ports[other]}",
                    public_key_b64=identity(nodes[other]).public_key_b64,
                    name=other,
                    actor=SystemActor("test"),
                )
        for party, node in nodes.items():
            seed_channels(node, "IR" if party == "PK" else "PK")
        with nodes["IR"].transaction() as session:
            configuration.set_deadlines(session, nodes["IR"], SystemActor(), {"FLASH": FLASH_DEADLINE})
    finally:
        for node in nodes.values():
            node.dispose()
    return dirs["PK"], dirs["IR"]


@pytest.fixture
def processes(make_node_dir: Callable[..., Path]) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    pk_dir, ir_dir = _prepare(make_node_dir)
    pk_port = load_settings(pk_dir).port
    ir_port = load_settings(ir_dir).port
    with (
        NodeProcess(pk_dir, port=pk_port, name="pk") as pk,
        NodeProcess(ir_dir, port=ir_port, name="ir") as ir,
    ):
        yield pk, ir


def bearer(process: NodeProcess, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {get_token(process.url, username, PASSWORD)}"}


def get(process: NodeProcess, headers: dict[str, str], mid: str) -> dict[str, Any]:
    answer = httpx.get(f"{process.url}/api/v1/hotline/messages/{mid}", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def get_once_held(process: NodeProcess, headers: dict[str, str], mid: str) -> dict[str, Any]:
    """The message as this node holds it, or {} while it has not arrived (the receiver answers 404 until then)."""
    answer = httpx.get(f"{process.url}/api/v1/hotline/messages/{mid}", headers=headers, timeout=10)
    if answer.status_code == 404 and answer.json()["error"]["code"] == "not_found":
        return {}
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def wait_for(
    fetch: Callable[[], dict[str, Any]], check: Callable[[dict[str, Any]], bool], timeout: float = 15
) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while True:
        value = fetch()
        if check(value):
            return value
        if time.monotonic() > end:
            raise AssertionError(
                f"condition not met within {timeout} s; last: {json.dumps(value, default=str)[:2000]}"
            )
        time.sleep(0.1)


def send(
    process: NodeProcess, headers: dict[str, str], precedence: str = "FLASH", subject: str = "Crossing"
) -> str:
    answer = httpx.post(
        f"{process.url}/api/v1/hotline/messages",
        json={
            "to_position": "IR-S1-CDR",
            "precedence": precedence,
            "subject": subject,
            "body": "At pillar 12.",
        },
        headers=headers,
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def kinds(detail: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in detail["timeline"]]


def test_flash_ack_escalation_restart_and_link_down_between_two_processes(
    processes: tuple[NodeProcess, NodeProcess], tmp_path: Path
) -> None:
    pk, ir = processes
    pk_cmd, ir_cmd = bearer(pk, "commander"), bearer(ir, "commander")

    # 1. FLASH → IR holder's live stream within a second → delivered → acknowledged, with the signed ack
    stream = SseClient(f"{ir.url}/api/v1/events", ir_cmd).start()
    started = time.monotonic()
    mid = send(pk, pk_cmd)
    received_at, frame = stream.events.get(timeout=5)
    assert frame["event"] == "hotline.message" and frame["json"]["data"]["message"] == mid
    assert frame["json"]["data"]["precedence"] == "FLASH" and frame["json"]["data"]["needs_ack"] is True
    assert received_at - started < 1.0, f"live event after {received_at - started:.3f} s"
    wait_for(lambda: get(pk, pk_cmd, mid), lambda d: d["state"] == "delivered")
    answer = httpx.post(
        f"{ir.url}/api/v1/hotline/messages/{mid}/ack", json={"reply": "Patrol out"}, headers=ir_cmd
    )
    assert answer.status_code == 200, answer.text
    acked = wait_for(lambda: get(pk, pk_cmd, mid), lambda d: d["state"] == "acknowledged")
    assert acked["acknowledged_by"] == "commander" and acked["ack_reply"] == "Patrol out"
    # acknowledgements travel in the immediate precedence lane (docs/exchange-protocol.md §16.2)
    assert acked["signed_ack"] is not None and acked["signed_ack"]["link"] == "IR>PK:immediate"
    stream.stop = True

    # 2. a FLASH left unacknowledged escalates at its deadline to IR-MOI, live to its holder; PK sees it
    moi_stream = SseClient(f"{ir.url}/api/v1/events", bearer(ir, "secretariat")).start()
    late = send(pk, pk_cmd, subject="Unanswered")
    escalated = wait_for(
        lambda: get_once_held(ir, ir_cmd, late),
        lambda d: d.get("escalations", 0) >= 1,
        timeout=FLASH_DEADLINE + 10,
    )
    step = next(e for e in escalated["timeline"] if e["kind"] == "escalated")
    assert step["details"]["target"] == "IR-MOI" and step["details"]["notified"] == ["secretariat"]
    assert 0 <= step["details"]["late_ms"] < 1000, step
    assert moi_stream.next(topic="hotline.escalated")["json"]["data"]["message"] == late
    seen_by_pk = wait_for(lambda: get(pk, pk_cmd, late), lambda d: "escalated" in kinds(d))
    assert seen_by_pk["escalations"] == 1
    moi_stream.stop = True

    # 3. a restart during the escalation wait resumes it (the due time is in the database)
    waiting = send(pk, pk_cmd, subject="Across a restart")
    delivered = wait_for(lambda: get_once_held(ir, ir_cmd, waiting), lambda d: d.get("state") == "delivered")
    ir.kill()
    ir.start()
    ir_cmd = bearer(ir, "commander")
    resumed = wait_for(
        lambda: get(ir, ir_cmd, waiting), lambda d: d["escalations"] >= 1, timeout=FLASH_DEADLINE + 15
    )
    step = next(e for e in resumed["timeline"] if e["kind"] == "escalated")
    due = datetime.fromisoformat(step["details"]["due_at"].replace("Z", "+00:00"))
    assert due == datetime.fromisoformat(delivered["ack_due_at"])
    wait_for(lambda: get(pk, pk_cmd, waiting), lambda d: "escalated" in kinds(d))

    # 4. link down: messages queue, then deliver; escalation clocks start at delivery
    ir.stop()
    queued = [
        send(pk, pk_cmd, precedence=p, subject=f"queued {i}")
        for i, p in enumerate(("ROUTINE", "FLASH", "IMMEDIATE"))
    ]
    time.sleep(1.0)
    assert [get(pk, pk_cmd, m)["state"] for m in queued] == ["queued"] * 3
    ir.start()
    ir_cmd = bearer(ir, "commander")
    # Until PK's delivery worker reaches the restarted IR, IR does not hold the messages at all (404).
    arrived = [
        wait_for(lambda m=m: get_once_held(ir, ir_cmd, m), lambda d: d.get("state", "queued") != "queued")
        for m in queued
    ]
    # Each precedence travels in its own lane, and lanes have no order between them (exchange protocol §16.1):
    # the three are delivered, each with its escalation clock started at its own delivery.
    assert all(a["delivered_at"] for a in arrived)
    flash = arrived[1]
    assert datetime.fromisoformat(flash["ack_due_at"]) - datetime.fromisoformat(flash["delivered_at"]) == (
        datetime.fromisoformat("2000-01-01T00:00:04") - datetime.fromisoformat("2000-01-01T00:00:00")
    )
    for m in queued:
        wait_for(
            lambda m=m: get(pk, pk_cmd, m), lambda d: d["state"] in ("delivered", "seen", "acknowledged")
        )

    # 5. the exported PK<->IR ledger verifies and holds IR's signed acknowledgement
    ledger_file = tmp_path / "pk-ir.ledger"
    run_cli("ledger", "export", str(ledger_file), "--data-dir", str(pk.data_dir), "--peer", "IR")
    assert f"{mid}.ack" in ledger_file.read_text(encoding="utf-8")
    assert "ledger verified" in run_cli("ledger", "verify", str(ledger_file))
