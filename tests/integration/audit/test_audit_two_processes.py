"""Two real node processes over loopback HTTP: IR holds PK's signed audit heads, and they expose a rewrite.

PK signs its head (``sarhad audit sign``, as the minute's task does) and again when it stops; the delivery
worker carries each head to IR, which keeps it and receipts it. ``sarhad audit verify`` on PK counts IR's
receipts. Then someone with PK's database and key rewrites PK's log, recomputes every hash, deletes PK's own
heads and signs a fresh one: PK's database alone verifies, but the heads IR holds (``sarhad audit heads
--party PK`` on IR) do not match, and ``verify --heads`` names the rewrite.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import text

from sarhad.accounts.actors import SystemActor
from sarhad.audit import chain
from sarhad.audit.heads import head_content, list_heads
from sarhad.audit.models import AuditEntry
from sarhad.audit.verify import load_evidence, verify
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.identity import identity
from sarhad.exchange.peers import add_peer
from support.processes import NodeProcess, free_port


def sarhad(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``sarhad …`` as its own process, as an operator or auditor runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "sarhad", *args], capture_output=True, text=True, timeout=120, check=False
    )
    if check:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def _flat(done: subprocess.CompletedProcess[str]) -> str:
    return " ".join((done.stdout + done.stderr).split())


def _pair(make_node_dir: Callable[..., Path]) -> dict[str, Path]:
    ports = {"PK": free_port(), "IR": free_port()}
    dirs = {p: make_node_dir(p, n, port=ports[p]) for p, n in (("PK", "Pakistan"), ("IR", "Iran"))}
    nodes = {party: build_node(load_settings(d)) for party, d in dirs.items()}
    try:
        for party, node in nodes.items():
            other = "IR" if party == "PK" else "PK"
            with node.transaction() as session:
                add_peer(session, node, party=other, url=f"http://127.0.0.1:{ports[other]}",
                         public_key_b64=identity(nodes[other]).public_key_b64, name=other,
                         actor=SystemActor("test"))  # fmt: skip
    finally:
        for node in nodes.values():
            node.dispose()
    return dirs


def _heads_held(ir_dir: Path) -> list[dict[str, object]]:
    node = build_node(load_settings(ir_dir))
    try:
        with node.sessions() as session:
            return [head_content(h) for h in list_heads(session, SystemActor("test"), "PK")]
    finally:
        node.dispose()


def _wait_for_heads(ir_dir: Path, count: int, timeout: float = 30) -> list[dict[str, object]]:
    end = time.monotonic() + timeout
    while True:
        heads = _heads_held(ir_dir)
        if len(heads) >= count:
            return heads
        if time.monotonic() > end:
            raise AssertionError(f"IR holds {len(heads)} of PK's heads after {timeout} s, not {count}")
        time.sleep(0.2)


def _wait_until_witnessed(pk_dir: Path, count: int, timeout: float = 30) -> None:
    end = time.monotonic() + timeout
    node = build_node(load_settings(pk_dir))
    try:
        while True:
            with node.sessions() as session:
                report = verify(load_evidence(session, "PK"))
            if report.witnessed.get("IR", 0) >= count:
                return
            if time.monotonic() > end:
                raise AssertionError(f"PK holds IR's receipts for {report.witnessed} heads after {timeout} s")
            time.sleep(0.2)
    finally:
        node.dispose()


def _rewrite_and_resign(pk_dir: Path) -> None:
    """Change entry 2's actor, recompute every hash after it, delete PK's heads and sign a new one."""
    node = build_node(load_settings(pk_dir))
    try:
        with node.engine.begin() as connection:
            for trigger in ("audit_log_no_update", "audit_log_no_delete", "audit_heads_no_delete"):
                connection.execute(text(f"DROP TRIGGER {trigger}"))
            connection.execute(text("DELETE FROM audit_heads WHERE origin = 'PK'"))
        with node.sessions() as session:
            entries = (
                session.query(AuditEntry).filter(AuditEntry.seq.is_not(None)).order_by(AuditEntry.seq).all()
            )
            prev = chain.GENESIS_HASH
            for entry in entries:
                if entry.seq == 2:
                    entry.actor = "nobody"
                entry.prev_hash = prev
                entry.entry_hash = chain.entry_hash(
                    seq=entry.seq, prev=prev, at=entry.at, actor=entry.actor, action=entry.action,
                    outcome=entry.outcome, record_kind=entry.record_kind, record_id=entry.record_id,
                    client_ip=entry.client_ip, details=entry.details,
                )  # fmt: skip
                prev = entry.entry_hash
            session.commit()
    finally:
        node.dispose()
    sarhad("audit", "sign", "-d", str(pk_dir))  # with PK's own key: the forger has the key file too


def test_the_peer_holds_the_witnessed_heads_and_they_expose_a_rewritten_log(
    make_node_dir: Callable[..., Path], tmp_path: Path
) -> None:
    dirs = _pair(make_node_dir)
    pk_dir, ir_dir = dirs["PK"], dirs["IR"]
    pk = NodeProcess(pk_dir, port=load_settings(pk_dir).port, name="pk")
    with pk, NodeProcess(ir_dir, port=load_settings(ir_dir).port, name="ir"):
        for name in ("=HYPERLINK(1)", "mallory", "eve"):
            answer = httpx.post(f"{pk.url}/api/v1/auth/token", data={"username": name, "password": "wrong"})
            assert answer.status_code == 401
        sarhad("audit", "sign", "-d", str(pk_dir))
        [first] = _wait_for_heads(ir_dir, 1)
        pk.stop()  # a graceful stop signs the head once more
        pk.start()
        heads = _wait_for_heads(ir_dir, 2)
        assert max(int(str(h["seq"])) for h in heads) > int(str(first["seq"]))
        _wait_until_witnessed(pk_dir, 2)  # IR's receipt for the second head is back at PK

    verified = sarhad("audit", "verify", "-d", str(pk_dir))
    assert "witnessed by IR: 2" in _flat(verified)
    assert "verified" in _flat(verified)

    held = tmp_path / "ir-holds.json"
    held.write_text(sarhad("audit", "heads", "-d", str(ir_dir), "--party", "PK").stdout, encoding="utf-8")
    assert "2 heads held by IR match the log" in _flat(
        sarhad("audit", "verify", "-d", str(pk_dir), "--heads", str(held))
    )

    _rewrite_and_resign(pk_dir)
    alone = sarhad("audit", "verify", "-d", str(pk_dir))
    assert "verified" in _flat(alone)  # the forger's own evidence is consistent
    caught = sarhad("audit", "verify", "-d", str(pk_dir), "--heads", str(held), check=False)
    assert caught.returncode == 1
    assert "the first bad entry is entry" in _flat(caught)
    assert "does not match the head IR holds" in _flat(caught)
