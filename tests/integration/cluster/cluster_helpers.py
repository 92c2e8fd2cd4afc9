"""One node (PK) served by several ``sarhad serve`` processes on one database, with IR, its peer, running too.

``prepare`` makes the two nodes (PK on ``database_url``, IR on SQLite), seeds the hotline's positions and users
on both and pairs them; ``send_flash`` sends a FLASH message through one PK process; ``held_by_ir`` says whether
IR holds it (it was delivered); ``lease_holder`` is the pid of the PK process that holds the delivery lease of
the link to IR, from the database.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.identity import identity
from sarhad.exchange.models import Peer
from sarhad.exchange.peers import add_peer
from support.processes import NodeProcess, free_port

sys.path.append(str(Path(__file__).resolve().parent.parent / "hotline"))
from hotline_helpers import PASSWORD, seed_channels, seed_node

__all__ = ["PASSWORD", "held_by_ir", "lease_holder", "prepare", "send_flash"]


def prepare(
    make_node_dir: Callable[..., Path], database_url: str | None, ir_database_url: str | None = None
) -> tuple[Path, Path]:
    """PK's and IR's data directories (on these databases; None: SQLite), seeded and paired (IR's address for
    PK is PK's configured port)."""
    ports = {"PK": free_port(), "IR": free_port()}
    dirs = {
        "PK": make_node_dir("PK", "Pakistan", port=ports["PK"], database_url=database_url),
        "IR": make_node_dir("IR", "Iran", port=ports["IR"], database_url=ir_database_url),
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
    finally:
        for node in nodes.values():
            node.dispose()
    return dirs["PK"], dirs["IR"]


def send_flash(process: NodeProcess, headers: dict[str, str], subject: str) -> str:
    answer = httpx.post(
        f"{process.url}/api/v1/hotline/messages",
        json={"to_position": "IR-S1-CDR", "precedence": "FLASH", "subject": subject, "body": "At pillar 12."},
        headers=headers,
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def held_by_ir(ir: NodeProcess, headers: dict[str, str], message_id: str) -> bool:
    answer = httpx.get(f"{ir.url}/api/v1/hotline/messages/{message_id}", headers=headers, timeout=10)
    if answer.status_code == 404:
        return False
    assert answer.status_code == 200, answer.text
    return True


def lease_holder(pk_dir: Path) -> int | None:
    """The pid in the lease of PK's link to IR (``host:pid:worker``), or None while nobody holds it."""
    node = build_node(load_settings(pk_dir))
    try:
        with node.sessions() as session:
            peer = session.get(Peer, "IR")
            owner = peer.lease_owner if peer is not None else ""
    finally:
        node.dispose()
    return int(owner.split(":")[1]) if owner else None
