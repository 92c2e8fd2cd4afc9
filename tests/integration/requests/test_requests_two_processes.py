"""The issue's "what it must show" on two real node processes over loopback HTTP (delivery worker, signed
envelopes, receipts): a request for action from IR to PK with an 8-hour deadline is overdue on both sides once
the deadline passes, and the late answer carries its reason.

"Once the deadline passes" is made true by restarting both nodes with their clocks set 8 h 1 min ahead
(``clock_offset_seconds``, the same for both, as two well-synchronised nodes would be).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from request_helpers import PASSWORD, add_users, seed_border

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.identity import identity
from sarhad.exchange.peers import add_peer
from support.processes import NodeProcess, free_port, get_token

WAIT_SECONDS = 20.0


def live_pair(make_node_dir: Callable[..., Path]) -> tuple[Path, Path]:
    dirs = {
        "PK": make_node_dir("PK", "Pakistan", port=free_port()),
        "IR": make_node_dir("IR", "Iran", port=free_port()),
    }
    nodes: dict[str, Node] = {code: build_node(load_settings(d)) for code, d in dirs.items()}
    try:
        for node in nodes.values():
            seed_border(node)
            add_users(node)
        for code, node in nodes.items():
            for other_code, other in nodes.items():
                if other_code != code:
                    with node.transaction() as session:
                        add_peer(
                            session,
                            node,
                            party=other_code,
                            url=other.settings.base_url,
                            public_key_b64=identity(other).public_key_b64,
                            name=other.settings.name,
                            actor=SystemActor("test"),
                        )
    finally:
        for node in nodes.values():
            node.dispose()
    return dirs["PK"], dirs["IR"]


def auth(node: NodeProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {get_token(node.url, 'liaison', PASSWORD)}"}


def wait_for(what: str, probe: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"waited {WAIT_SECONDS} s for {what}")


def get_request(node: NodeProcess, headers: dict[str, str], rid: str) -> dict[str, Any]:
    answer = httpx.get(f"{node.url}/api/v1/requests/IR/{rid}", headers=headers, timeout=10)
    return answer.json() if answer.status_code == 200 else {}


def test_request_from_ir_to_pk_is_overdue_on_both_real_nodes_and_the_late_answer_carries_its_reason(
    make_node_dir: Callable[..., Path],
) -> None:
    pk_dir, ir_dir = live_pair(make_node_dir)
    pk_port, ir_port = load_settings(pk_dir).port, load_settings(ir_dir).port
    with NodeProcess(pk_dir, port=pk_port) as pk, NodeProcess(ir_dir, port=ir_port) as ir:
        pk_auth, ir_auth = auth(pk), auth(ir)
        incident = httpx.post(
            f"{pk.url}/api/v1/incidents",
            headers=pk_auth,
            timeout=10,
            json={
                "type": "human_smuggling",
                "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                "lat": 28.95,
                "lon": 61.70,
                "description": "Group of twelve crossed east of Taftan at night.",
                "impact_level": "high",
                "release_to": ["IR"],
            },
        )
        assert incident.status_code == 201, incident.text
        incident_id = incident.json()["id"]
        wait_for(
            "the incident at IR",
            lambda: (
                httpx.get(
                    f"{ir.url}/api/v1/incidents/PK/{incident_id}", headers=ir_auth, timeout=10
                ).status_code
                == 200
            ),
        )
        created = httpx.post(
            f"{ir.url}/api/v1/requests",
            headers=ir_auth,
            timeout=10,
            json={
                "to": "PK",
                "incident": {"origin": "PK", "id": incident_id},
                "kind": "action",
                "action": "interdict",
                "deadline": "urgent",
                "text": "Interdict the group's guides on your side.",
            },
        )
        assert created.status_code == 201, created.text
        rid = created.json()["id"]
        at_pk = wait_for("the request at PK", lambda: get_request(pk, pk_auth, rid))
        assert (at_pk["direction"], at_pk["overdue"], at_pk["deadline"]) == (
            "incoming",
            False,
            created.json()["deadline"],
        )

    offset = {"SARHAD_CLOCK_OFFSET_SECONDS": str(8 * 3600 + 60)}
    with (
        NodeProcess(pk_dir, port=pk_port, env=offset) as pk,
        NodeProcess(ir_dir, port=ir_port, env=offset) as ir,
    ):
        pk_auth, ir_auth = auth(pk), auth(ir)
        for node, headers in ((pk, pk_auth), (ir, ir_auth)):
            listed = httpx.get(f"{node.url}/api/v1/requests?overdue=true", headers=headers, timeout=10).json()
            assert [(r["id"], r["overdue"]) for r in listed] == [(rid, True)]
        refused = httpx.post(
            f"{pk.url}/api/v1/requests/IR/{rid}/answer",
            headers=pk_auth,
            timeout=10,
            json={"answer": "Two guides detained."},
        )
        assert refused.status_code == 422 and refused.json()["error"]["details"]["field"] == "late_reason"
        answered = httpx.post(
            f"{pk.url}/api/v1/requests/IR/{rid}/answer",
            headers=pk_auth,
            timeout=10,
            json={
                "answer": "Two guides detained.",
                "late_reason": "The group was tracked through the night before the arrest.",
            },
        )
        assert answered.status_code == 200 and answered.json()["late"] is True
        at_ir = wait_for(
            "the answer at IR",
            lambda: get_request(ir, ir_auth, rid).get("answered_at") and get_request(ir, ir_auth, rid),
        )
        assert (at_ir["status"], at_ir["late"], at_ir["overdue"]) == ("answered", True, False)
        assert at_ir["late_reason"] == "The group was tracked through the night before the arrest."
