"""The issue's "what it must show" on two real node processes over loopback HTTP: PK proposes raising a section
to high; IR's level stays unchanged until IR accepts; then both show high."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from impact_helpers import PASSWORD, seed

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
            seed(node)
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


def section(node: NodeProcess, headers: dict[str, str], section_id: str) -> dict[str, Any]:
    answer = httpx.get(f"{node.url}/api/v1/impact/levels", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = next(s for s in answer.json()["sections"] if s["section"] == section_id)
    return found


def wait_for(what: str, probe: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.2)
    raise AssertionError(f"waited {WAIT_SECONDS} s for {what}")


def test_pk_raises_s5_to_high_and_ir_shows_it_only_after_accepting_then_both_show_high(
    make_node_dir: Callable[..., Path],
) -> None:
    pk_dir, ir_dir = live_pair(make_node_dir)
    with (
        NodeProcess(pk_dir, port=load_settings(pk_dir).port) as pk,
        NodeProcess(ir_dir, port=load_settings(ir_dir).port) as ir,
    ):
        pk_auth = {"Authorization": f"Bearer {get_token(pk.url, 'commander', PASSWORD)}"}
        ir_auth = {"Authorization": f"Bearer {get_token(ir.url, 'commander', PASSWORD)}"}
        proposed = httpx.post(
            f"{pk.url}/api/v1/impact/proposals",
            headers=pk_auth,
            timeout=10,
            json={"section": "S5", "level": "high", "reason": "Three armed incidents."},
        )
        assert proposed.status_code == 201, proposed.text
        wait_for("the proposal at IR", lambda: section(ir, ir_auth, "S5")["pending"] is not None)
        at_ir = section(ir, ir_auth, "S5")
        assert at_ir["level"] == "low" and at_ir["pending"]["level"] == "high"
        time.sleep(1.0)  # and it stays so: nothing changes IR's level without IR's acceptance
        assert section(ir, ir_auth, "S5")["level"] == "low"
        assert section(pk, pk_auth, "S5")["level"] == "low"
        accepted = httpx.post(
            f"{ir.url}/api/v1/impact/decisions",
            headers=ir_auth,
            timeout=10,
            json={"section": "S5", "content_hash": at_ir["pending"]["content_hash"], "decision": "accept"},
        )
        assert accepted.status_code == 200, accepted.text
        assert section(ir, ir_auth, "S5")["level"] == "high"
        wait_for("the agreement at PK", lambda: section(pk, pk_auth, "S5")["level"] == "high")
        assert section(pk, pk_auth, "S5")["pending"] is None and section(ir, ir_auth, "S5")["pending"] is None
