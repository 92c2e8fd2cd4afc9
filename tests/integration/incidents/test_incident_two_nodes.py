"""The issue's "what it must show", on two real node processes over loopback HTTP: an incident created on PK
near Taftan gets section S5 and side PK, is released, and appears in IR's ``GET /api/v1/incidents?bbox=…``
with origin PK. The time from PK's answer to IR showing it is printed (the issue asks for "within a second";
tests never assert on time here, see docs/incidents.md for the measured figure)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from incident_helpers import PASSWORD, TAFTAN_BBOX, add_user, seed_border

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.identity import identity
from sarhad.exchange.peers import add_peer
from support.processes import NodeProcess, free_port, get_token


def live_pair(make_node_dir: Callable[..., Path]) -> tuple[Path, Path]:
    """Two data directories (PK, IR) with the border, a liaison officer each, paired with their real URLs."""
    dirs = {
        "PK": make_node_dir("PK", "Pakistan", port=free_port()),
        "IR": make_node_dir("IR", "Iran", port=free_port()),
    }
    nodes: dict[str, Node] = {code: build_node(load_settings(d)) for code, d in dirs.items()}
    try:
        for node in nodes.values():
            seed_border(node)
            add_user(node, "liaison", "liaison_officer")
        for code, node in nodes.items():
            for other_code, other in nodes.items():
                if other_code == code:
                    continue
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


@pytest.fixture
def processes(make_node_dir: Callable[..., Path]) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    pk_dir, ir_dir = live_pair(make_node_dir)
    pk_port = load_settings(pk_dir).port
    ir_port = load_settings(ir_dir).port
    with NodeProcess(pk_dir, port=pk_port) as pk, NodeProcess(ir_dir, port=ir_port) as ir:
        yield pk, ir


def test_incident_near_taftan_reaches_ir_with_origin_pk(processes: tuple[NodeProcess, NodeProcess]) -> None:
    pk, ir = processes
    pk_auth = {"Authorization": f"Bearer {get_token(pk.url, 'liaison', PASSWORD)}"}
    ir_auth = {"Authorization": f"Bearer {get_token(ir.url, 'liaison', PASSWORD)}"}
    body = {
        "type": "drug_smuggling",
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "lat": 28.95,
        "lon": 61.70,
        "description": "Hashish intercepted east of Taftan",
        "impact_level": "high",
        "release_to": ["IR"],
    }
    answer = httpx.post(f"{pk.url}/api/v1/incidents", json=body, headers=pk_auth, timeout=10)
    created_at = time.monotonic()
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert (created["section"], created["side"], created["origin"]) == ("S5", "PK", "PK")

    url = f"{ir.url}/api/v1/incidents?bbox={TAFTAN_BBOX}&days=30&type=drug_smuggling"
    rows: list[dict[str, object]] = []
    while time.monotonic() - created_at < 30:
        rows = httpx.get(url, headers=ir_auth, timeout=10).json()
        if rows:
            break
        time.sleep(0.02)
    elapsed = time.monotonic() - created_at
    print(f"incident visible at IR {elapsed:.3f} s after PK answered")
    assert [(r["origin"], r["id"], r["section"], r["side"], r["own"]) for r in rows] == [
        ("PK", created["id"], "S5", "PK", False)
    ], pk.logs() + ir.logs()
