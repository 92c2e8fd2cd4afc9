"""Issue 14 defect 4: data a node stored before it enforced the JSON domain must never break the ledger.

A node that accepted a validly signed record nested 500 levels deep, or a number equal to 2^53, could no longer
export its ledger (a recursion error; the export refusing its own data). Such envelopes are written straight
into the inbox here, as the older node stored them; ``sarhad ledger export`` must still write the file and
``sarhad ledger verify`` must give a clear verdict on exactly those envelopes, not a traceback.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from exchange_nodes import cli_process

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node
from sarhad.exchange import ledger, protocol
from sarhad.exchange.models import InboundEnvelope, LinkHead
from sarhad.exchange.peers import add_peer

IR_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x21, 0x41)))


def _stored_envelope(seq: int, prev: str, content: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """An envelope as an older node stored it: hashed and signed over the bytes the sender wrote."""
    rec = {
        "kind": "bulletin", "origin": "IR", "id": f"old-{seq}", "version": 1, "op": "upsert",
        "handling": "no_onward", "tlp": "amber", "content": content,
        "content_hash": protocol.sha256_hex(protocol.canonical_json_lenient(content)),
    }  # fmt: skip
    env: dict[str, Any] = {
        "v": 1, "link": "IR>PK", "seq": seq, "prev": prev, "sent_at": "2026-01-01T00:00:00Z",
        "key": protocol.fingerprint(IR_KEY.public_key()), "record": rec,
    }  # fmt: skip
    digest = protocol.sha256_hex(protocol.canonical_json_lenient(env))
    env["hash"] = digest
    env["sig"] = base64.b64encode(IR_KEY.sign(f"sarhad-envelope-v1:{digest}".encode())).decode()
    return env, protocol.canonical_json_lenient(env).decode()


def test_envelopes_stored_before_the_json_domain_still_export_and_verify_with_a_clear_verdict(
    node: Node, tmp_path: Path
) -> None:
    with node.transaction() as session:
        add_peer(
            session, node, party="IR", url="http://127.0.0.1:9", public_key_b64=protocol.public_key_b64(IR_KEY.public_key()),
            actor=SystemActor("test"),
        )  # fmt: skip
    deep: Any = "bottom"
    for _ in range(500):
        deep = {"d": deep}
    contents = [
        {"title": "fine", "body": "b"},
        {"title": "deep", "body": deep},
        {"n": 2**53},
        {"title": "after"},
    ]
    prev = protocol.GENESIS_HASH
    now = datetime.now(UTC)
    with node.transaction() as session:
        for seq, content in enumerate(contents, start=1):
            env, body = _stored_envelope(seq, prev, content)
            session.add(
                InboundEnvelope(
                    link="IR>PK", seq=seq, hash=env["hash"], body=body, record_kind="bulletin",
                    record_id=f"old-{seq}", record_version=1, op="upsert", sent_at=now, received_at=now,
                    status="quarantined", reason="stored by an older node",
                )
            )  # fmt: skip
            prev = env["hash"]
        head = session.get(LinkHead, "IR>PK")
        assert head is not None
        head.seq, head.hash = len(contents), prev

    out = tmp_path / "ledger.json"
    exported = cli_process("ledger", "export", "-d", str(node.settings.data_dir), "--peer", "IR", str(out))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    doc = ledger.load_ledger(out)
    assert ledger.ledger_digest(doc) == doc["digest"]
    report = ledger.verify_ledger(doc)
    verdict = [(p.link, p.seq, p.code) for p in report.problems]
    assert verdict == [("IR>PK", 2, "too_deep"), ("IR>PK", 3, "unsafe_number")]
    assert report.links["IR>PK"].last_seq == 4  # the chain goes on past them, envelope 4 verified
    verified = cli_process("ledger", "verify", str(out))
    assert verified.returncode == 2 and "too_deep" in " ".join((verified.stdout + verified.stderr).split())
    assert "Traceback" not in verified.stderr
    assert json.loads(out.read_text())["links"][1]["envelopes"][2]["record"]["content"]["n"] == 2**53
